//! A partition's log with Kafka's three offsets: log start offset, high watermark and log
//! end offset. An `Offset` is a value, never a `Vec` index that can only grow.
//!
//! Kafka's terms (`kafka.log.UnifiedLog`, `Partition`): records live at offsets
//! `[log_start_offset, log_end_offset)`; consumers read only below the high watermark, the
//! offset that every in-sync replica has. Retention moves the log start offset forward;
//! a truncation (a follower's divergent tail, or a new leader that lacks records) moves
//! the log end offset back. Each replica has its own log; the leader sets the high
//! watermark. What does not live here: who leads the partition, the ISR, idempotent-
//! producer state (`cluster.rs`).

use crate::trace::EventIx;

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

/// One partition's log. Shape: the events at `[log_start_offset, log_end_offset)`, 4 bytes
/// each.
#[derive(Clone, Debug, Default)]
pub struct PartitionLog {
    log_start_offset: Offset,
    high_watermark: Offset,
    records: Vec<EventIx>,
}

impl PartitionLog {
    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }

    /// The offset the next append gets.
    pub fn log_end_offset(&self) -> Offset {
        Offset(self.log_start_offset.0 + self.records.len() as u64)
    }

    /// Consumers read below this offset only.
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// Appends one record at the log end offset and returns its offset. The high
    /// watermark does not move: the partition's leader sets it (`set_high_watermark`) from
    /// what its ISR has.
    pub fn append(&mut self, event: EventIx) -> Offset {
        let offset = self.log_end_offset();
        self.records.push(event);
        offset
    }

    /// Sets the high watermark; never past the log end offset.
    pub fn set_high_watermark(&mut self, offset: Offset) {
        self.high_watermark = offset.min(self.log_end_offset());
    }

    /// Drops the records from `to` on (a follower's divergent tail, or what an unclean
    /// leader lacks); the high watermark follows if it was past `to`.
    pub fn truncate(&mut self, to: Offset) {
        let keep = to.since(self.log_start_offset) as usize;
        self.records.truncate(keep);
        self.high_watermark = self.high_watermark.min(self.log_end_offset());
    }

    /// The first offset at which this log and `other` differ (or where the shorter ends):
    /// a follower keeps its records below it (KIP-101's leader-epoch truncation, judged
    /// here by comparing the records).
    pub fn diverges_from(&self, other: &PartitionLog) -> Offset {
        let same = self
            .records
            .iter()
            .zip(&other.records)
            .take_while(|(a, b)| a == b)
            .count();
        Offset(self.log_start_offset.0 + same as u64)
    }

    /// Up to `max` records from `from` (the log start offset if below it), whatever the
    /// high watermark: what a leader sends a follower's fetch.
    pub fn records_from(&self, from: Offset, max: usize) -> &[EventIx] {
        let start = from
            .since(self.log_start_offset)
            .min(self.records.len() as u64) as usize;
        let end = self.records.len().min(start.saturating_add(max));
        &self.records[start..end]
    }

    /// The event at `offset`, if the log holds it.
    pub fn get(&self, offset: Offset) -> Option<EventIx> {
        let i = offset.0.checked_sub(self.log_start_offset.0)?;
        self.records.get(usize::try_from(i).ok()?).copied()
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
        let mut n = 0;
        let mut o = from;
        while o < self.high_watermark && n < max {
            let event = self.records[(o.0 - self.log_start_offset.0) as usize];
            out.push(Record {
                part,
                offset: o,
                event,
            });
            o = o.next();
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{EventIx, PartId};

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
        assert_eq!(log.append(EventIx(7)), Offset(0));
        assert_eq!(log.append(EventIx(9)), Offset(1));
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
            log.append(EventIx(e));
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
            leader.append(EventIx(e));
        }
        for e in [1, 2, 9, 9] {
            follower.append(EventIx(e));
        }
        let at = follower.diverges_from(&leader);
        assert_eq!(at, Offset(2));
        follower.truncate(at);
        assert_eq!(leader.records_from(at, 10), &[EventIx(3)]);
        for &e in leader.records_from(follower.log_end_offset(), 10) {
            follower.append(e);
        }
        assert_eq!(follower.get(Offset(2)), Some(EventIx(3)));
        assert_eq!(follower.log_end_offset(), Offset(3));
        assert_eq!(leader.records_from(Offset(0), 2), &[EventIx(1), EventIx(2)]);
        assert!(leader.records_from(Offset(7), 2).is_empty());
    }
}
