//! A partition's log with Kafka's three offsets: log start offset, high watermark and log
//! end offset. An `Offset` is a value, never a `Vec` index that can only grow.
//!
//! Kafka's terms (`kafka.log.UnifiedLog`, `Partition`): records live at offsets
//! `[log_start_offset, log_end_offset)`; consumers read only below the high watermark, the
//! offset that every in-sync replica has. Retention moves the log start offset forward;
//! a truncation (a follower's divergent tail, or a new leader that lacks records) moves
//! the log end offset back. Each replica has its own log; the leader sets the high
//! watermark. Records sit in segments (`LogSegment`), which roll by `segment.bytes` and
//! `segment.ms` and which retention deletes whole (`UnifiedLog.deleteOldSegments`). What
//! does not live here: who leads the partition, the ISR, idempotent-producer state, when
//! retention runs (`cluster/`).

use crate::engine::Time;
use crate::scenario::LogConfig;
use crate::trace::EventIx;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A Kafka offset: the position of a record in one partition's log, or (in a commit) the
/// next offset to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset(pub u64);

impl Offset {
    pub const ZERO: Offset = Offset(0);

    /// The offset right after this one.
    pub fn next(self) -> Offset {
        Offset(self.0 + 1)
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// How many offsets lie in `[earlier, self)`; zero when `earlier` is not earlier.
    pub fn since(self, earlier: Offset) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::fmt::Display for Offset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One record of a fetch answer: where it sits and which event it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub part: crate::trace::PartId,
    pub offset: Offset,
    pub event: EventIx,
}

/// One record as a log holds it: its event and its timestamp, the leader's append time in
/// ms (as `message.timestamp.type=LogAppendTime`; followers copy it), and whether the log
/// cleaner removed it. 8 bytes: a run's times are below `limits::TIME_MS` (10^9 < 2^31),
/// so the timestamp's top bit marks a hole.
///
/// A hole is a compacted-away record (`Cleaner.cleanSegments` dropped it): its offset stays
/// taken, so offsets keep their gaps, and its event stays known so that replicas still
/// compare equal where one has cleaned and the other not yet. Reads skip it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub event: EventIx,
    /// ms, with `HOLE` set once the cleaner removed the record.
    stamp: u32,
}

const HOLE: u32 = 1 << 31;

impl Entry {
    /// A live record appended at `timestamp_ms` (saturated to 2^31 - 1).
    pub fn new(event: EventIx, timestamp_ms: u64) -> Entry {
        Entry {
            event,
            stamp: u32::try_from(timestamp_ms)
                .unwrap_or(u32::MAX)
                .min(HOLE - 1),
        }
    }

    /// The leader's append time, ms.
    pub fn timestamp_ms(&self) -> u64 {
        u64::from(self.stamp & !HOLE)
    }

    /// Whether the log cleaner removed this record (its offset is a gap).
    pub fn is_hole(&self) -> bool {
        self.stamp & HOLE != 0
    }
}

/// What the log cleaner needs to know about one record's event: its key (None: a null
/// key, which compaction never removes) and whether it is a tombstone (a null value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanerKey {
    pub key: Option<u32>,
    pub tombstone: bool,
}

/// One record a cleaner pass removed: its offset, and the offset of the later record of the
/// same key that superseded it, or None for a tombstone older than `delete.retention.ms`.
pub type Removed = (Offset, Option<Offset>);

/// What one cleaner pass did (`Cleaner.doClean`): the log is clean below `cleaned_to`
/// (the cleaner checkpoint), and `removed` records became holes, `tombstones` of them
/// tombstones past `delete.retention.ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanerPass {
    pub cleaned_to: Offset,
    pub removed: u32,
    pub tombstones: u32,
}

/// One log segment (`LogSegment`): its base offset and the first and largest record
/// timestamps in it. It ends where the next begins; the last is the active segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    base: Offset,
    first_ms: u64,
    largest_ms: u64,
}

/// Which retention limit deleted segments (`UnifiedLog.deleteRetentionMsBreachedSegments`
/// and `deleteRetentionSizeBreachedSegments`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breach {
    /// `retention.ms`: the segment's newest record was older than it.
    RetentionMs,
    /// `retention.bytes`: the log held more than it without the segment.
    RetentionBytes,
}

impl Breach {
    /// The topic setting's name.
    pub fn name(self) -> &'static str {
        match self {
            Breach::RetentionMs => "retention.ms",
            Breach::RetentionBytes => "retention.bytes",
        }
    }
}

/// One partition's log on one replica. Shape: the records at
/// `[log_start_offset, log_end_offset)`, 8 bytes each, in segments that roll as
/// `segment.bytes` and `segment.ms` say and are deleted whole by retention.
#[derive(Clone, Debug, Default)]
pub struct PartitionLog {
    config: LogConfig,
    log_start_offset: Offset,
    high_watermark: Offset,
    /// `records[front..]` are the live records; the ones before were deleted and are
    /// dropped from the vector once they are half of it (amortized O(1) a record).
    records: Vec<Entry>,
    front: usize,
    /// The segments, oldest first; empty when the log holds no record.
    segments: VecDeque<Segment>,
    /// The cleaner checkpoint (`cleaner-offset-checkpoint`): the log is compacted below
    /// it; records from it on are dirty.
    first_dirty: Offset,
    /// What the cleaner knows of the clean part, so that a pass reads only the dirty part
    /// (`clean`): each key's one live record below the checkpoint as of the last pass.
    /// Entries can go stale (retention, a truncation, a restart); each is checked before use.
    clean_keys: BTreeMap<u32, Offset>,
    /// The tombstones the last cleaner pass kept (younger than `delete.retention.ms`, or the
    /// last record of the part): by offset, with each one's timestamp, and by timestamp,
    /// so a pass finds those past their time without reading the others.
    kept_tombstones: BTreeMap<Offset, u64>,
    tombstones_by_time: BTreeSet<(u64, Offset)>,
    /// How many tombstones the last pass kept: while any, a pass runs even with nothing
    /// dirty, to remove them later.
    tombstones_kept: usize,
}

impl PartitionLog {
    /// An empty log whose segments roll and are deleted as `config` says.
    pub fn new(config: LogConfig) -> PartitionLog {
        PartitionLog {
            config,
            ..PartitionLog::default()
        }
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }

    fn live(&self) -> &[Entry] {
        &self.records[self.front..]
    }

    /// The offset the next append gets.
    pub fn log_end_offset(&self) -> Offset {
        Offset(self.log_start_offset.0 + self.live().len() as u64)
    }

    /// Consumers read below this offset only.
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// How many segments the log has (the last is the active one).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Appends one record with timestamp `at` at the log end offset and returns its
    /// offset. A new segment rolls first when the active one is full
    /// (`segment.bytes / RECORD_BYTES` records) or `at` is more than `segment.ms` after
    /// its first record (`LogSegment.shouldRoll`). The high watermark does not move: the
    /// partition's leader sets it (`set_high_watermark`) from what its ISR has.
    pub fn append(&mut self, event: EventIx, at: Time) -> Offset {
        let offset = self.log_end_offset();
        let ms = at.0;
        let roll = match self.segments.back() {
            None => true,
            Some(s) => {
                offset.since(s.base) >= self.config.segment_records()
                    || ms.saturating_sub(s.first_ms) > self.config.segment_ms
            }
        };
        match self.segments.back_mut() {
            Some(s) if !roll => s.largest_ms = s.largest_ms.max(ms),
            _ => self.segments.push_back(Segment {
                base: offset,
                first_ms: ms,
                largest_ms: ms,
            }),
        }
        self.records.push(Entry::new(event, ms));
        offset
    }

    /// Appends a record a follower fetched from its leader, keeping its timestamp and
    /// whether the leader's cleaner had already removed it (then it stays a hole here).
    pub fn append_entry(&mut self, e: Entry) -> Offset {
        let offset = self.append(e.event, Time(e.timestamp_ms()));
        if e.is_hole() {
            let last = self.records.len() - 1;
            self.records[last].stamp |= HOLE;
        }
        offset
    }

    /// Sets the high watermark; never past the log end offset.
    pub fn set_high_watermark(&mut self, offset: Offset) {
        self.high_watermark = offset.min(self.log_end_offset());
    }

    /// Drops the records from `to` on (a follower's divergent tail, or what an unclean
    /// leader lacks); the high watermark follows if it was past `to`. Never below the log
    /// start offset.
    pub fn truncate(&mut self, to: Offset) {
        let keep = to.since(self.log_start_offset) as usize;
        self.records.truncate(self.front + keep);
        let end = self.log_end_offset();
        while self.segments.back().is_some_and(|s| s.base >= end) {
            self.segments.pop_back();
        }
        // The last segment's largest timestamp may have been in the dropped tail.
        if let Some(s) = self.segments.back_mut() {
            let from = self.front + s.base.since(self.log_start_offset) as usize;
            s.largest_ms = self.records[from..]
                .iter()
                .map(Entry::timestamp_ms)
                .max()
                .unwrap_or(s.first_ms);
        }
        self.high_watermark = self.high_watermark.min(end);
        self.first_dirty = self.first_dirty.min(end);
        self.forget_tombstones(|o| o >= end);
    }

    /// Retention (`UnifiedLog.deleteOldSegments`): deletes the oldest segments, in order,
    /// while each lies wholly below the high watermark and breaches a limit: first
    /// `retention.ms` (`now` minus its largest timestamp is more than it), then
    /// `retention.bytes` (the log would still hold at least that many bytes without it).
    /// As in Kafka, the active segment goes too once it breaches and is wholly below the
    /// high watermark (Kafka rolls a new, empty one first). Returns the new log start
    /// offset and the limit that deleted the last segment, or None if nothing went. Cost:
    /// O(1 + segments deleted).
    pub fn delete_old_segments(&mut self, now: Time) -> Option<(Offset, Breach)> {
        if !self.config.delete {
            return None;
        }
        let mut to = self.log_start_offset;
        let mut breach = None;
        if let Some(ms) = self.config.retention_ms {
            while let Some(&s) = self.segments.front() {
                let upper = self.segment_end(0);
                if self.high_watermark < upper || now.0.saturating_sub(s.largest_ms) <= ms {
                    break;
                }
                self.segments.pop_front();
                (to, breach) = (upper, Some(Breach::RetentionMs));
            }
        }
        if let Some(limit) = self.config.retention_bytes {
            let bytes = |n: u64| n.saturating_mul(crate::scenario::RECORD_BYTES);
            let mut over = i128::from(bytes(self.log_end_offset().since(to))) - i128::from(limit);
            while let Some(&s) = self.segments.front() {
                let upper = self.segment_end(0);
                let size = i128::from(bytes(upper.since(s.base.max(to))));
                if self.high_watermark < upper || over - size < 0 {
                    break;
                }
                over -= size;
                self.segments.pop_front();
                (to, breach) = (upper, Some(Breach::RetentionBytes));
            }
        }
        let breach = breach?;
        self.drop_below(to);
        Some((to, breach))
    }

    /// Moves the log start offset up to `to` (at most the log end offset): a follower
    /// told its leader's log start (`maybeIncrementLogStartOffset`), or retention. The
    /// records below it are gone; a segment it cuts keeps its tail.
    pub fn advance_log_start(&mut self, to: Offset) {
        let to = to.min(self.log_end_offset());
        if to <= self.log_start_offset {
            return;
        }
        while self.segments.len() > 1 && self.segments[1].base <= to {
            self.segments.pop_front();
        }
        self.drop_below(to);
    }

    /// Empties the log and starts it at `to` (`truncateFullyAndStartAt`): a follower whose
    /// log ends below its leader's log start.
    pub fn restart_at(&mut self, to: Offset) {
        self.records.clear();
        self.front = 0;
        self.segments.clear();
        self.log_start_offset = to;
        self.high_watermark = self.high_watermark.max(to);
        self.first_dirty = to;
        self.clean_keys.clear();
        self.kept_tombstones.clear();
        self.tombstones_by_time.clear();
        self.tombstones_kept = 0;
    }

    /// Forgets the kept tombstones at the end (`at_end`: from some offset on) or at the
    /// start (below some offset) of the log that `gone` says are gone. O(log n) each.
    fn forget_tombstones(&mut self, gone: impl Fn(Offset) -> bool) {
        loop {
            let last = self.kept_tombstones.last_key_value().map(|(&o, &t)| (o, t));
            let first = self
                .kept_tombstones
                .first_key_value()
                .map(|(&o, &t)| (o, t));
            let Some((o, t)) = last
                .filter(|&(o, _)| gone(o))
                .or(first.filter(|&(o, _)| gone(o)))
            else {
                return;
            };
            self.kept_tombstones.remove(&o);
            self.tombstones_by_time.remove(&(t, o));
        }
    }

    /// Forgets the records below `to`, whose segments are already gone (or cut at `to`).
    fn drop_below(&mut self, to: Offset) {
        self.front += to.since(self.log_start_offset) as usize;
        self.log_start_offset = to;
        if let Some(s) = self.segments.front_mut() {
            s.base = s.base.max(to);
        }
        if self.front >= 1024 && self.front * 2 >= self.records.len() {
            self.records.drain(..self.front);
            self.front = 0;
        }
    }

    /// Where segment `i` ends: the next segment's base, or the log end offset.
    fn segment_end(&self, i: usize) -> Offset {
        self.segments
            .get(i + 1)
            .map_or(self.log_end_offset(), |s| s.base)
    }

    /// The first offset at which this log and `other` differ (or where the shorter ends),
    /// over the offsets both still hold: a follower keeps its records below it (KIP-101's
    /// leader-epoch truncation, judged here by comparing the records).
    pub fn diverges_from(&self, other: &PartitionLog) -> Offset {
        let start = self.log_start_offset.max(other.log_start_offset);
        let end = self.log_end_offset().min(other.log_end_offset());
        if start >= end {
            return end;
        }
        let mine = &self.live()[start.since(self.log_start_offset) as usize..];
        let theirs = &other.live()[start.since(other.log_start_offset) as usize..];
        let same = mine
            .iter()
            .zip(theirs)
            .take_while(|(a, b)| a.event == b.event)
            .count();
        Offset(start.0 + same as u64)
    }

    /// Up to `max` records from `from` (the log start offset if below it), whatever the
    /// high watermark: what a leader sends a follower's fetch.
    pub fn records_from(&self, from: Offset, max: usize) -> &[Entry] {
        let live = self.live();
        let start = from.since(self.log_start_offset).min(live.len() as u64) as usize;
        let end = live.len().min(start.saturating_add(max));
        &live[start..end]
    }

    /// The first offset below `below` whose record (not a hole) has a timestamp at or
    /// after `timestamp_ms`: `UnifiedLog.fetchOffsetByTimestamp` over append times, which
    /// never decrease along the log, so a binary search finds it. None if no such record.
    pub fn offset_for_timestamp(&self, timestamp_ms: u64, below: Offset) -> Option<Offset> {
        let live = self.live();
        let first = live.partition_point(|e| e.timestamp_ms() < timestamp_ms);
        let i = first + live[first..].iter().position(|e| !e.is_hole())?;
        let offset = Offset(self.log_start_offset.0 + i as u64);
        (offset < below).then_some(offset)
    }

    /// The event at `offset`, if the log holds it.
    pub fn get(&self, offset: Offset) -> Option<EventIx> {
        let i = offset.0.checked_sub(self.log_start_offset.0)?;
        self.live().get(usize::try_from(i).ok()?).map(|e| e.event)
    }

    /// Up to `max` records from `from`, below the high watermark, appended to `out`.
    /// Returns how many were read. Reading below the log start offset starts at it.
    pub fn read(
        &self,
        from: Offset,
        max: usize,
        part: crate::trace::PartId,
        out: &mut Vec<Record>,
    ) -> usize {
        let from = from.max(self.log_start_offset);
        let live = self.live();
        let mut n = 0;
        let mut o = from;
        while o < self.high_watermark && n < max {
            let e = live[(o.0 - self.log_start_offset.0) as usize];
            if !e.is_hole() {
                out.push(Record {
                    part,
                    offset: o,
                    event: e.event,
                });
                n += 1;
            }
            o = o.next();
        }
        n
    }

    /// One log cleaner pass (`LogCleaner`'s `Cleaner.clean` and `cleanSegments`), when
    /// `cleanup.policy` includes `compact`: over the cleanable part, from the log start
    /// offset to the first uncleanable offset (the active segment's base, or the high
    /// watermark if lower), each record whose key has a later record in that part becomes
    /// a hole, and so does a tombstone that is the latest of its key once its timestamp is
    /// more than `delete.retention.ms` before `now`. Null-key records are kept. The last
    /// record of the part is always kept, so a reader's position can move past the holes.
    /// `key_of` tells an event's key and tombstone flag; each removed record is pushed to
    /// `removed`, in offset order. Runs when the part grew past the cleaner checkpoint or
    /// tombstones wait; returns None when it did nothing.
    ///
    /// Cost: O(d log k) for the d dirty records (from the checkpoint on) and k keys, plus
    /// O(log k) for each tombstone removed. Below the checkpoint the last pass left one
    /// live record per key (`clean_keys`), so only the dirty part needs reading, as Kafka's
    /// cleaner builds its offset map from the dirty section alone. (Reading the whole part
    /// every pass made a compacted topic cost passes × records: 40000 records with a pass
    /// every ms took minutes.) The result is what a full pass gives: a test checks the two
    /// against each other on generated logs.
    pub fn clean(
        &mut self,
        now: Time,
        key_of: impl Fn(EventIx) -> CleanerKey,
        removed: &mut Vec<Removed>,
    ) -> Option<CleanerPass> {
        if !self.config.compact || self.segments.len() < 2 {
            return None;
        }
        let end = self.segments.back()?.base.min(self.high_watermark);
        let start = self.log_start_offset;
        let dirty = end > self.first_dirty.max(start);
        if end <= start || !dirty && self.tombstones_kept == 0 {
            return None;
        }
        // The clean part is [start, cut); the dirty part [from, end).
        let cut = self.first_dirty.min(end).max(start);
        let from = cut;
        // Kept tombstones that retention deleted, or that lie past the part (the high
        // watermark moved back): a later pass reads the latter again as dirty.
        self.forget_tombstones(|o| o < start || o >= cut);
        let first = removed.len();
        let mut pass = CleanerPass {
            cleaned_to: end,
            removed: 0,
            tombstones: 0,
        };
        // The latest offset of each key in the dirty part (`buildOffsetMap`).
        let mut latest = BTreeMap::new();
        for o in from.0..end.0 {
            let e = self.entry(Offset(o));
            if let Some(k) = key_of(e.event).key.filter(|_| !e.is_hole()) {
                latest.insert(k, Offset(o));
            }
        }
        // A key written again in the dirty part: its record in the clean part goes.
        for (&k, &newest) in &latest {
            let Some(&o) = self.clean_keys.get(&k) else {
                continue;
            };
            let e = self.entry_at(o);
            let live = o >= start
                && o < cut
                && e.is_some_and(|e| !e.is_hole() && key_of(e.event).key == Some(k));
            if live {
                self.remove(o, Some(newest), removed, &mut pass);
                if let Some(t) = self.kept_tombstones.remove(&o) {
                    self.tombstones_by_time.remove(&(t, o));
                }
            }
        }
        // In the dirty part, each record with a later one of its key goes; each key's
        // latest stays, unless it is a tombstone past its time.
        let horizon = self.config.delete_retention_ms;
        let expired = |e: Entry, o: Offset| {
            o.next() < end && now.0.saturating_sub(e.timestamp_ms()) > horizon
        };
        for o in from.0..end.0 {
            let o = Offset(o);
            let e = self.entry(o);
            let k = key_of(e.event);
            let Some(key) = k.key.filter(|_| !e.is_hole()) else {
                continue;
            };
            let newest = latest[&key];
            if newest > o {
                self.remove(o, Some(newest), removed, &mut pass);
            } else if k.tombstone && expired(e, o) {
                self.remove(o, None, removed, &mut pass);
                self.clean_keys.remove(&key);
            } else {
                self.clean_keys.insert(key, o);
                if k.tombstone {
                    self.keep_tombstone(o, e.timestamp_ms());
                }
            }
        }
        // The tombstones kept before, oldest first: those past their time go, except the
        // last record of the part.
        let due = Time(now.0.saturating_sub(horizon));
        let waiting: Vec<Offset> = self
            .tombstones_by_time
            .range(..(due.0, Offset::ZERO))
            .map(|&(_, o)| o)
            .filter(|&o| o < cut && o.next() < end)
            .collect();
        for o in waiting {
            let e = self.entry(o);
            self.remove(o, None, removed, &mut pass);
            self.tombstones_by_time.remove(&(e.timestamp_ms(), o));
            self.kept_tombstones.remove(&o);
            if let Some(k) = key_of(e.event).key {
                self.clean_keys.remove(&k);
            }
        }
        removed[first..].sort_unstable();
        self.tombstones_kept = self.kept_tombstones.len();
        self.first_dirty = end;
        (dirty || pass.removed > 0).then_some(pass)
    }

    /// Notes a tombstone the pass kept, appended at `timestamp_ms`.
    fn keep_tombstone(&mut self, o: Offset, timestamp_ms: u64) {
        self.kept_tombstones.insert(o, timestamp_ms);
        self.tombstones_by_time.insert((timestamp_ms, o));
    }

    /// The record at `offset`, which the log holds.
    fn entry(&self, offset: Offset) -> Entry {
        self.live()[offset.since(self.log_start_offset) as usize]
    }

    /// The record at `offset`, if the log holds it.
    fn entry_at(&self, offset: Offset) -> Option<Entry> {
        let i = offset.0.checked_sub(self.log_start_offset.0)?;
        self.live().get(usize::try_from(i).ok()?).copied()
    }

    /// Makes the record at `offset` a hole, superseded `by` a later record of its key (None:
    /// a tombstone past `delete.retention.ms`), and counts it in `pass`.
    fn remove(
        &mut self,
        offset: Offset,
        by: Option<Offset>,
        removed: &mut Vec<Removed>,
        pass: &mut CleanerPass,
    ) {
        let i = self.front + offset.since(self.log_start_offset) as usize;
        self.records[i].stamp |= HOLE;
        removed.push((offset, by));
        pass.removed += 1;
        pass.tombstones += u32::from(by.is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{EventIx, PartId};

    fn events(entries: &[Entry]) -> Vec<EventIx> {
        entries.iter().map(|e| e.event).collect()
    }

    /// A log of `segment_records` records a segment, with these retention limits.
    fn log_with(segment_records: u64, ms: Option<u64>, bytes: Option<u64>) -> PartitionLog {
        PartitionLog::new(LogConfig {
            retention_ms: ms,
            retention_bytes: bytes,
            segment_bytes: segment_records * crate::scenario::RECORD_BYTES,
            ..LogConfig::default()
        })
    }

    /// Appends events `range` at t = 10 ms × event, and commits them all.
    fn fill(log: &mut PartitionLog, range: std::ops::Range<u32>) {
        for e in range {
            log.append(EventIx(e), Time(10 * u64::from(e)));
        }
        log.set_high_watermark(log.log_end_offset());
    }

    #[test]
    fn a_timestamp_finds_the_first_record_at_or_after_it_below_the_bound() {
        let mut log = log_with(4, None, None);
        // Records at 0, 10, …, 90 ms, offsets 0..10.
        fill(&mut log, 0..10);
        let hw = log.high_watermark();
        assert_eq!(log.offset_for_timestamp(0, hw), Some(Offset(0)));
        assert_eq!(log.offset_for_timestamp(35, hw), Some(Offset(4)), "40 ms");
        assert_eq!(
            log.offset_for_timestamp(40, hw),
            Some(Offset(4)),
            "at, not after"
        );
        assert_eq!(log.offset_for_timestamp(91, hw), None, "none that late");
        assert_eq!(
            log.offset_for_timestamp(35, Offset(4)),
            None,
            "only offsets below the bound (the high watermark) are answered"
        );
    }

    #[test]
    fn segments_roll_every_segment_bytes_worth_of_records() {
        let mut log = log_with(4, None, None);
        fill(&mut log, 0..10);
        assert_eq!(log.segment_count(), 3, "0..4, 4..8, 8..10");
    }

    #[test]
    fn segments_roll_when_an_append_is_more_than_segment_ms_after_the_first() {
        let mut log = PartitionLog::new(LogConfig {
            segment_ms: 25,
            ..LogConfig::default()
        });
        // Records at 0, 10, 20, 30 ms: 30 - 0 > 25 rolls at the fourth; 25 itself would not.
        fill(&mut log, 0..4);
        assert_eq!(log.segment_count(), 2);
        log.append(EventIx(9), Time(55));
        assert_eq!(log.segment_count(), 2, "55 - 30 is not more than 25");
        log.append(EventIx(9), Time(56));
        assert_eq!(log.segment_count(), 3);
    }

    #[test]
    fn retention_ms_deletes_whole_segments_whose_newest_record_is_older_than_it() {
        let mut log = log_with(4, Some(100), None);
        fill(&mut log, 0..10); // segments 0..4 (newest 30 ms), 4..8 (70 ms), 8..10 (90 ms)
        assert_eq!(
            log.delete_old_segments(Time(130)),
            None,
            "130 - 30 is not more than 100"
        );
        assert_eq!(
            log.delete_old_segments(Time(131)),
            Some((Offset(4), Breach::RetentionMs))
        );
        assert_eq!(log.log_start_offset(), Offset(4));
        assert_eq!(log.get(Offset(3)), None);
        assert_eq!(log.get(Offset(4)), Some(EventIx(4)));
        assert_eq!(log.log_end_offset(), Offset(10));
        let mut out = Vec::new();
        assert_eq!(
            log.read(Offset(0), 100, PartId(0), &mut out),
            6,
            "from the log start"
        );
        assert_eq!(out[0].offset, Offset(4));
    }

    #[test]
    fn retention_never_deletes_a_segment_reaching_the_high_watermark() {
        let mut log = log_with(4, Some(100), None);
        fill(&mut log, 0..10);
        log.set_high_watermark(Offset(7));
        assert_eq!(
            log.delete_old_segments(Time(10_000)),
            Some((Offset(4), Breach::RetentionMs)),
            "4..8 holds offset 7, not yet committed"
        );
        log.set_high_watermark(Offset(10));
        // The active segment goes too once wholly committed (Kafka rolls a new one).
        assert_eq!(
            log.delete_old_segments(Time(10_000)),
            Some((Offset(10), Breach::RetentionMs))
        );
        assert_eq!(log.log_start_offset(), Offset(10));
        assert_eq!(log.log_end_offset(), Offset(10));
        assert_eq!(log.segment_count(), 0);
        assert_eq!(log.append(EventIx(42), Time(10_001)), Offset(10));
        assert_eq!(log.segment_count(), 1);
    }

    #[test]
    fn retention_bytes_keeps_at_least_that_many_bytes() {
        // 10 records of 160 bytes; keep at least 5 × 160: deleting 0..4 leaves 6 records,
        // deleting 4..8 too would leave 2, fewer than 5.
        let mut log = log_with(4, None, Some(5 * 160));
        fill(&mut log, 0..10);
        assert_eq!(
            log.delete_old_segments(Time(0)),
            Some((Offset(4), Breach::RetentionBytes))
        );
        assert_eq!(log.delete_old_segments(Time(0)), None);
        assert_eq!(log.log_start_offset(), Offset(4));
    }

    #[test]
    fn deleting_many_records_keeps_offsets_and_compacts_the_vector() {
        let mut log = log_with(100, None, Some(0));
        fill(&mut log, 0..5000);
        log.set_high_watermark(Offset(4950));
        assert_eq!(
            log.delete_old_segments(Time(0)),
            Some((Offset(4900), Breach::RetentionBytes))
        );
        assert_eq!(log.get(Offset(4900)), Some(EventIx(4900)));
        assert_eq!(log.records.len(), 100, "the deleted front was dropped");
        assert_eq!(log.log_end_offset(), Offset(5000));
    }

    #[test]
    fn a_follower_moves_its_log_start_to_its_leaders_or_restarts_there() {
        let mut log = log_with(4, None, None);
        fill(&mut log, 0..10);
        log.advance_log_start(Offset(6));
        assert_eq!(log.log_start_offset(), Offset(6));
        assert_eq!(log.get(Offset(6)), Some(EventIx(6)));
        assert_eq!(log.segment_count(), 2, "4..8 is cut at 6");
        log.restart_at(Offset(20));
        assert_eq!(log.log_end_offset(), Offset(20));
        assert_eq!(log.append(EventIx(1), Time(0)), Offset(20));
    }

    #[test]
    fn logs_with_different_starts_diverge_only_where_both_hold_records() {
        let mut a = log_with(4, None, None);
        let mut b = log_with(4, None, None);
        fill(&mut a, 0..10);
        fill(&mut b, 0..8);
        b.append(EventIx(99), Time(0));
        a.advance_log_start(Offset(5));
        assert_eq!(b.diverges_from(&a), Offset(8));
        let mut c = log_with(4, None, None);
        fill(&mut c, 0..3);
        assert_eq!(c.diverges_from(&a), Offset(3), "c ends below a's log start");
    }

    /// A compacted log of `segment_records` records a segment, tombstones kept `horizon` ms.
    fn compacted(segment_records: u64, horizon: u64) -> PartitionLog {
        PartitionLog::new(LogConfig {
            delete: false,
            compact: true,
            delete_retention_ms: horizon,
            segment_bytes: segment_records * crate::scenario::RECORD_BYTES,
            ..LogConfig::default()
        })
    }

    /// The cleaner pass as it was first written, reading the whole cleanable part every
    /// time: the reference the incremental pass must agree with. `kept` plays the part of
    /// its count of kept tombstones.
    fn clean_full_scan(
        log: &mut PartitionLog,
        now: Time,
        key_of: impl Fn(EventIx) -> CleanerKey,
        removed: &mut Vec<Removed>,
        kept_before: &mut u32,
    ) -> Option<CleanerPass> {
        if !log.config.compact || log.segments.len() < 2 {
            return None;
        }
        let end = log.segments.back()?.base.min(log.high_watermark);
        let dirty = end > log.first_dirty.max(log.log_start_offset);
        if end <= log.log_start_offset || !dirty && *kept_before == 0 {
            return None;
        }
        let start = log.log_start_offset;
        let n = end.since(start) as usize;
        let (front, horizon) = (log.front, log.config.delete_retention_ms);
        let part = &mut log.records[front..front + n];
        let mut latest = BTreeMap::new();
        for (i, e) in part.iter().enumerate().filter(|(_, e)| !e.is_hole()) {
            if let Some(k) = key_of(e.event).key {
                latest.insert(k, i);
            }
        }
        let mut pass = CleanerPass {
            cleaned_to: end,
            removed: 0,
            tombstones: 0,
        };
        let mut kept = 0;
        for (i, e) in part.iter_mut().enumerate().filter(|(_, e)| !e.is_hole()) {
            let k = key_of(e.event);
            let Some(key) = k.key else { continue };
            let newest = latest[&key];
            let by = if newest > i {
                Some(Some(Offset(start.0 + newest as u64)))
            } else if k.tombstone && i + 1 < n && now.0.saturating_sub(e.timestamp_ms()) > horizon {
                Some(None)
            } else {
                kept += u32::from(k.tombstone);
                None
            };
            if let Some(by) = by {
                e.stamp |= HOLE;
                removed.push((Offset(start.0 + i as u64), by));
                pass.removed += 1;
                pass.tombstones += u32::from(by.is_none());
            }
        }
        log.first_dirty = end;
        *kept_before = kept;
        (dirty || pass.removed > 0).then_some(pass)
    }

    /// Event e has key e % 5 (e % 7 == 0: a null key); e % 4 == 0 is a tombstone.
    fn key5(e: EventIx) -> CleanerKey {
        CleanerKey {
            key: (!e.0.is_multiple_of(7)).then_some(e.0 % 5),
            tombstone: e.0.is_multiple_of(4),
        }
    }

    /// The incremental cleaner against the full scan, on generated histories of one
    /// replica: appends (some copied as holes, as a follower copies its leader's), high
    /// watermark moves, retention, truncations, restarts and cleaner passes at growing
    /// times. Every pass must remove the same records, and the logs must stay equal.
    #[test]
    fn the_incremental_cleaner_removes_what_a_full_pass_would() {
        let mut rng = crate::rng::SimRng::substream(7, 1 << 40);
        // Superseded records removed, tombstones expired, passes that removed nothing.
        let mut seen = [0u64; 3];
        for history in 0..300 {
            let config = LogConfig {
                retention_ms: Some(50 + rng.below(400)),
                retention_bytes: None,
                delete: rng.below(2) == 0,
                compact: true,
                delete_retention_ms: rng.below(300),
                segment_bytes: (1 + rng.below(6)) * crate::scenario::RECORD_BYTES,
                ..LogConfig::default()
            };
            let (mut a, mut b) = (PartitionLog::new(config), PartitionLog::new(config));
            let mut kept = 0;
            let (mut now, mut event) = (0u64, 0u32);
            for step in 0..400 {
                now += rng.below(4);
                match rng.below(20) {
                    0..=9 => {
                        event += 1 + rng.below(3) as u32;
                        let hole = rng.below(10) == 0;
                        let mut e = Entry::new(EventIx(event), now);
                        if hole {
                            e.stamp |= HOLE;
                        }
                        a.append_entry(e);
                        b.append_entry(e);
                    }
                    10..=12 => {
                        let hw = Offset(a.log_end_offset().0.saturating_sub(rng.below(3)));
                        a.set_high_watermark(hw);
                        b.set_high_watermark(hw);
                    }
                    13 => {
                        assert_eq!(
                            a.delete_old_segments(Time(now)),
                            b.delete_old_segments(Time(now))
                        );
                    }
                    14 if rng.below(4) == 0 => {
                        let to = Offset(a.log_end_offset().0.saturating_sub(rng.below(5)));
                        a.truncate(to);
                        b.truncate(to);
                    }
                    15 if rng.below(20) == 0 => {
                        let to = a.log_end_offset().next();
                        a.restart_at(to);
                        b.restart_at(to);
                        kept = 0;
                    }
                    _ => {
                        let (mut ra, mut rb) = (Vec::new(), Vec::new());
                        let pa = a.clean(Time(now), key5, &mut ra);
                        let pb = clean_full_scan(&mut b, Time(now), key5, &mut rb, &mut kept);
                        assert_eq!(
                            (pa, &ra),
                            (pb, &rb),
                            "history {history}, step {step}, t={now}"
                        );
                        if let Some(p) = pa {
                            seen[0] += u64::from(p.removed - p.tombstones);
                            seen[1] += u64::from(p.tombstones);
                            seen[2] += u64::from(p.removed == 0);
                        }
                    }
                }
                assert_eq!(
                    a.records[a.front..],
                    b.records[b.front..],
                    "history {history}, step {step}"
                );
                assert_eq!(a.first_dirty, b.first_dirty);
            }
        }
        assert!(
            seen.iter().all(|&n| n > 100),
            "every kind of pass happened: {seen:?}"
        );
    }

    /// Event e has key e % 3; events 100 and up are tombstones of key e % 3.
    fn key3(e: EventIx) -> CleanerKey {
        CleanerKey {
            key: Some(e.0 % 3),
            tombstone: e.0 >= 100,
        }
    }

    fn readable(log: &PartitionLog) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        log.read(Offset(0), 1000, PartId(0), &mut out);
        out.iter().map(|r| (r.offset.value(), r.event.0)).collect()
    }

    #[test]
    fn the_cleaner_keeps_the_latest_record_per_key_and_offsets_keep_their_gaps() {
        let mut log = compacted(4, 1000);
        fill(&mut log, 0..10); // segments 0..4, 4..8, 8..10 (active)
        let mut removed = Vec::new();
        let pass = log.clean(Time(100), key3, &mut removed);
        // Cleanable: 0..8. Latest per key there: key 0 at 6, key 1 at 7, key 2 at 5.
        assert_eq!(
            pass,
            Some(CleanerPass {
                cleaned_to: Offset(8),
                removed: 5,
                tombstones: 0
            })
        );
        assert_eq!(
            removed,
            vec![
                (Offset(0), Some(Offset(6))),
                (Offset(1), Some(Offset(7))),
                (Offset(2), Some(Offset(5))),
                (Offset(3), Some(Offset(6))),
                (Offset(4), Some(Offset(7))),
            ]
        );
        assert_eq!(
            readable(&log),
            vec![(5, 5), (6, 6), (7, 7), (8, 8), (9, 9)],
            "the active segment is never cleaned"
        );
        assert_eq!(log.log_end_offset(), Offset(10), "offsets are not reused");
        assert_eq!(log.append(EventIx(10), Time(100)), Offset(10));
        assert_eq!(
            log.get(Offset(0)),
            Some(EventIx(0)),
            "a hole keeps its event"
        );
        let mut out = Vec::new();
        assert_eq!(log.read(Offset(2), 2, PartId(0), &mut out), 2);
        assert_eq!(
            out[0].offset,
            Offset(5),
            "a read from a hole starts at the next record"
        );
        removed.clear();
        assert_eq!(
            log.clean(Time(200), key3, &mut removed),
            None,
            "nothing new is cleanable"
        );
    }

    #[test]
    fn the_cleaner_stops_at_the_high_watermark() {
        let mut log = compacted(4, 1000);
        fill(&mut log, 0..10);
        log.set_high_watermark(Offset(3));
        let mut removed = Vec::new();
        let pass = log.clean(Time(100), key3, &mut removed).expect("a pass");
        assert_eq!(pass.cleaned_to, Offset(3));
        assert!(removed.is_empty(), "keys 0, 1, 2 each once below 3");
        log.set_high_watermark(Offset(10));
        let pass = log.clean(Time(100), key3, &mut removed).expect("a pass");
        assert_eq!((pass.cleaned_to, pass.removed), (Offset(8), 5));
    }

    #[test]
    fn a_tombstone_stays_for_delete_retention_ms_then_goes() {
        let mut log = compacted(2, 1000);
        for (e, at) in [(0, 0), (1, 0), (101, 10), (3, 20), (4, 20), (5, 20)] {
            log.append(EventIx(e), Time(at));
        }
        log.set_high_watermark(log.log_end_offset());
        // Segments 0..2, 2..4, 4..6 (active). Cleanable 0..4: key 0 at 0 and 3, key 1 at
        // 1, key 2 a tombstone (101) at 2.
        let mut removed = Vec::new();
        let pass = log.clean(Time(500), key3, &mut removed).expect("a pass");
        assert_eq!(pass.removed, 1, "0 superseded by 3; the tombstone is young");
        assert_eq!(
            readable(&log),
            vec![(1, 1), (2, 101), (3, 3), (4, 4), (5, 5)]
        );
        removed.clear();
        assert_eq!(
            log.clean(Time(1010), key3, &mut removed),
            None,
            "1010 - 10 is not more than 1000"
        );
        let pass = log
            .clean(Time(1011), key3, &mut removed)
            .expect("the tombstone waits");
        assert_eq!((pass.removed, pass.tombstones), (1, 1));
        assert_eq!(removed, vec![(Offset(2), None)]);
        assert_eq!(readable(&log), vec![(1, 1), (3, 3), (4, 4), (5, 5)]);
    }

    #[test]
    fn null_keys_are_never_compacted_and_followers_copy_holes() {
        let mut log = compacted(2, 0);
        fill(&mut log, 0..5);
        let null = |_: EventIx| CleanerKey {
            key: None,
            tombstone: false,
        };
        let mut removed = Vec::new();
        log.clean(Time(100), null, &mut removed);
        assert!(removed.is_empty());
        log.clean(Time(100), key3, &mut removed);
        assert!(removed.is_empty(), "already clean below 4: nothing dirty");
        let mut leader = compacted(2, 0);
        fill(&mut leader, 0..7);
        leader.clean(Time(100), key3, &mut removed);
        assert_eq!(removed.len(), 3, "0, 1, 2 superseded by 3, 4, 5");
        let mut follower = compacted(2, 0);
        for &e in leader.records_from(Offset(0), 10) {
            follower.append_entry(e);
        }
        follower.set_high_watermark(Offset(7));
        assert_eq!(readable(&follower), readable(&leader));
        assert_eq!(follower.diverges_from(&leader), Offset(7));
    }

    #[test]
    fn an_empty_log_starts_and_ends_at_zero() {
        let log = PartitionLog::default();
        assert_eq!(log.log_start_offset(), Offset(0));
        assert_eq!(log.log_end_offset(), Offset(0));
        assert_eq!(log.high_watermark(), Offset(0));
        assert_eq!(log.get(Offset(0)), None);
    }

    #[test]
    fn appends_take_consecutive_offsets_and_the_leader_moves_the_high_watermark() {
        let mut log = PartitionLog::default();
        assert_eq!(log.append(EventIx(7), Time::ZERO), Offset(0));
        assert_eq!(log.append(EventIx(9), Time::ZERO), Offset(1));
        assert_eq!(log.log_end_offset(), Offset(2));
        assert_eq!(log.high_watermark(), Offset(0));
        log.set_high_watermark(Offset(5));
        assert_eq!(log.high_watermark(), Offset(2), "never past the log end");
        assert_eq!(log.get(Offset(1)), Some(EventIx(9)));
        assert_eq!(log.get(Offset(2)), None);
    }

    #[test]
    fn a_read_stops_at_max_and_at_the_high_watermark() {
        let mut log = PartitionLog::default();
        for e in 0..5 {
            log.append(EventIx(e), Time::ZERO);
        }
        log.set_high_watermark(Offset(5));
        let mut out = Vec::new();
        assert_eq!(log.read(Offset(1), 2, PartId(3), &mut out), 2);
        assert_eq!(
            out,
            vec![
                Record {
                    part: PartId(3),
                    offset: Offset(1),
                    event: EventIx(1)
                },
                Record {
                    part: PartId(3),
                    offset: Offset(2),
                    event: EventIx(2)
                }
            ]
        );
        out.clear();
        assert_eq!(log.read(Offset(4), 10, PartId(3), &mut out), 1);
        out.clear();
        assert_eq!(log.read(Offset(5), 10, PartId(3), &mut out), 0);
    }

    #[test]
    fn a_follower_truncates_where_it_diverges_and_catches_up() {
        let mut leader = PartitionLog::default();
        let mut follower = PartitionLog::default();
        for e in [1, 2, 3] {
            leader.append(EventIx(e), Time::ZERO);
        }
        for e in [1, 2, 9, 9] {
            follower.append(EventIx(e), Time::ZERO);
        }
        let at = follower.diverges_from(&leader);
        assert_eq!(at, Offset(2));
        follower.truncate(at);
        assert_eq!(events(leader.records_from(at, 10)), vec![EventIx(3)]);
        for &e in leader.records_from(follower.log_end_offset(), 10) {
            follower.append_entry(e);
        }
        assert_eq!(follower.get(Offset(2)), Some(EventIx(3)));
        assert_eq!(follower.log_end_offset(), Offset(3));
        assert_eq!(
            events(leader.records_from(Offset(0), 2)),
            vec![EventIx(1), EventIx(2)]
        );
        assert!(leader.records_from(Offset(7), 2).is_empty());
    }
}
