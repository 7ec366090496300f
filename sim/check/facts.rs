//! The history every property reads: what became of each actor, event and partition, as
//! far as the trace has told so far. Updated once per record, before the properties see it.
//!
//! Only facts that more than one property needs live here; each property keeps its own
//! state in its own file. Every fact comes from a trace record, never from model state.

use crate::engine::Time;
use crate::model::log::{Breach, Offset};
use crate::scenario::CrashPoint;
use crate::trace::{
    Actor, ActorId, EventIx, GaveUp, Kind, Outage, PartId, SendError, Tables, TraceEvent,
};
use std::collections::{BTreeMap, BTreeSet};

/// One crash of an actor, as its `crash` record told it.
#[derive(Clone, Copy, Debug)]
pub struct Crash {
    pub at: Time,
    /// The named point it crashed at (None: at once).
    pub point: Option<CrashPoint>,
    /// The record it was in the middle of, and when it started it.
    pub during: Option<(PartId, Offset, Time)>,
}

/// What became of an actor: the facts a cause sentence is made of.
#[derive(Clone, Debug, Default)]
pub struct Fate {
    /// Every crash, in order: a cause names the one that ended the incarnation it is
    /// about, never simply the latest (bounded by the scenario's faults).
    pub crashes: Vec<Crash>,
    /// The record the actor is processing now (from its `process_start` to its effect).
    pub processing: Option<(PartId, Offset, Time)>,
    pub revoked: Option<Time>,
    pub left: Option<Time>,
    /// When it left the group because a poll's records outlasted `max.poll.interval.ms`,
    /// and when that poll was: kept through the revoke of the rejoin that follows it, and
    /// cleared by any later revoke, which a later cause must name instead.
    pub poll_timeout: Option<(Time, Time)>,
    /// A poll timeout whose rejoin has not revoked yet.
    rejoin_after_timeout: bool,
    /// When its close() interrupted a batch, and how many records it left unhandled.
    pub interrupted: Option<(Time, u32)>,
}

/// An offset reset: (time, offset, member, the position a fetch found out of range if
/// that is why).
pub type Reset = (Time, Offset, ActorId, Option<Offset>);

/// A seek: (time, the position it moved from, the offset it moved to, member, where the
/// scenario asked it to go).
pub type Seek = (Time, Offset, Offset, ActorId, crate::scenario::SeekTo);

/// One group's view of its partitions and its effects.
#[derive(Clone, Debug, Default)]
pub struct GroupFacts {
    /// Latest committed offset per PartId.
    pub committed: Vec<Option<Offset>>,
    /// Per PartId: (time, offset, committer, whether it was librdkafka's auto-commit of a
    /// stored offset) of each accepted commit that raised the highest committed offset so
    /// far, or moved the committed offset back, in order. The committed offset may move
    /// back (a commit after a backward seek, or after a reset to an earlier offset), and
    /// from such a commit on the history climbs again: so the first commit past an offset
    /// after any moment is one of these (every commit before it since the last backward
    /// one was at or below that offset). A member re-committing the same offset adds
    /// nothing, so the history grows with the offsets and the backward moves, not with the
    /// commits.
    pub commits: Vec<Vec<(Time, Offset, ActorId, bool)>>,
    /// Per PartId: the first offset the group reset to.
    pub start: Vec<Option<Offset>>,
    /// Per PartId: (time, offset, member, the position found out of range if that is
    /// why) of every offset reset, in order.
    pub resets: Vec<Vec<Reset>>,
    /// Per PartId: the resets whose position a fetch found out of range (past the log end
    /// after a truncation, or below the log start after retention), in order: the few
    /// that causes look for, kept apart so that finding one does not read every reset
    /// (a rebalance livelock resets at every assignment).
    pub out_of_range_resets: Vec<Vec<Reset>>,
    /// Per PartId: every seek of a member of the group, in order (bounded by the seek
    /// faults times the members).
    pub seeks: Vec<Vec<Seek>>,
    /// Per PartId, per offset: processed (effect applied or absorbed) at least once.
    pub processed: Vec<Vec<bool>>,
    /// Per event: how many times the effect was applied.
    pub effects: Vec<u32>,
    /// Per event: the first member to process it and when (NONE: not yet).
    pub first_done: Vec<(ActorId, Time)>,
}

/// What a record changed that a property may want to know.
#[derive(Clone, Copy, Debug, Default)]
pub struct Update {
    /// An Effect or Absorbed record that is the group's first processing of its event.
    pub first_processing: bool,
    /// An Effect or Absorbed record for a partition offset the group had processed
    /// before: the same record again, not another copy of its event.
    pub reprocessed: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub fates: Vec<Fate>,
    /// Per event: where it was first appended ((NONE, 0) if never).
    pub first_append: Vec<(PartId, Offset)>,
    /// Per event: how many times it was appended.
    pub appends: Vec<u32>,
    /// The events a truncation took out of the log (a new leader lacked them), with when
    /// and where their last copy was: (time, partition, offset). Few, so a map.
    pub truncated_away: BTreeMap<EventIx, (Time, PartId, Offset)>,
    pub acked: Vec<bool>,
    /// Per event: sent with acks=0 (its `ack` record has no offset: counted as sent, never
    /// answered).
    pub acks0: Vec<bool>,
    /// Per event: why some client retried a send of it, as bits: `RETRIED_TIMEOUT` (its
    /// own request timed out), `RETRIED_CLOSED` (another request on its connection timed
    /// out and the connection closed), `RETRIED_OTHER` (an error answer).
    pub retried: Vec<u8>,
    /// Per event: sends of it still awaiting an answer (a `send` with no `ack`,
    /// `send_failed` or crash of its sender yet). Non-zero at the end: in flight.
    pub sending: Vec<u8>,
    /// The open sends of each service and relay, which a crash of the sender abandons
    /// (plain producers cannot crash, so theirs are not kept here).
    open_by: BTreeMap<ActorId, BTreeSet<EventIx>>,
    /// Events whose send a crash of its sender abandoned: the last such crash and sender.
    pub abandoned: BTreeMap<EventIx, (Time, ActorId)>,
    /// Per outbox event: (time, relay) of every publish, in order.
    pub publishes: BTreeMap<EventIx, Vec<(Time, ActorId)>>,
    /// Per outbox event: (time, relay) of every mark of its row that failed and rolled
    /// back (`mark_fails`), in order.
    pub mark_failures: BTreeMap<EventIx, Vec<(Time, ActorId)>>,
    /// Events a producer gave up on, and when.
    /// Events a client gave up on: the last give-up's time, sender, limit and elapsed ms.
    pub failed: BTreeMap<EventIx, (Time, ActorId, GaveUp, u32)>,
    /// Every give-up per event, in order: (time, sender, whether the record was already
    /// in the log then). A relay's give-up is what lets another relay publish its row.
    pub give_ups: BTreeMap<EventIx, Vec<(Time, ActorId, bool)>>,
    /// Every copy a relay put in the log: (partition, offset, when, relay), so a cause
    /// can name the publish behind one copy (outbox events only; bounded by commands).
    relay_appends: BTreeMap<EventIx, Vec<(PartId, Offset, Time, ActorId)>>,
    /// Per PartId: the event at each offset, as the Append records built it (from offset
    /// 0: records retention deleted stay here, below `log_start`).
    pub logs: Vec<Vec<EventIx>>,
    /// Every outage that cut clients off from the brokers (an isolation or every broker
    /// down), as its records told it: (start, end if it ended, what). Bounded by the faults.
    pub outages: Vec<(Time, Option<Time>, Outage)>,
    /// Per PartId: the log start offset, as `segments_deleted` records moved it.
    pub log_start: Vec<Offset>,
    /// Per PartId: (time, new log start offset, limit) of every retention deletion, in
    /// order (bounded by the retention checks).
    pub deletions: Vec<Vec<(Time, Offset, Breach)>>,
    /// Per PartId: the offsets the log cleaner removed, each with when and the offset of
    /// the later record of its key that superseded it (None: an expired tombstone). The
    /// first removal counts (a new leader's cleaner may remove it again).
    pub compacted: Vec<BTreeMap<Offset, (Time, Option<Offset>)>>,
    pub groups: Vec<GroupFacts>,
    /// The events a `LogTruncated` record just removed from their partition's log (set
    /// while that record is judged; empty otherwise).
    pub truncated: Vec<EventIx>,
    /// Per (member, partition): the last offset the member's librdkafka auto-commit of its
    /// offset store asked for, so the `committed` record that follows can say so
    /// (bounded by members × partitions).
    stored_sent: BTreeMap<(ActorId, PartId), Offset>,
}

impl GroupFacts {
    /// The latest seek by `actor` on `part` within `after..=before` that moved its position
    /// back over `offset` (from past it to at or below it): why it read `offset` again.
    pub fn replay(
        &self,
        part: PartId,
        actor: ActorId,
        offset: Offset,
        (after, before): (Time, Time),
    ) -> Option<Seek> {
        self.seeks[part.ix()]
            .iter()
            .rev()
            .find(|&&(t, from, to, a, _)| {
                a == actor && after <= t && t <= before && to <= offset && offset < from
            })
            .copied()
    }
}

impl Fate {
    /// The first crash at or after `t`: the one that ended the incarnation alive at `t`.
    pub fn crash_since(&self, t: Time) -> Option<Crash> {
        self.crashes.iter().find(|c| c.at >= t).copied()
    }

    /// The first crash within `from..=to`.
    pub fn crash_between(&self, from: Time, to: Time) -> Option<Crash> {
        self.crash_since(from).filter(|c| c.at <= to)
    }
}

impl Facts {
    /// An empty history for `groups` groups over `partitions` partitions: every
    /// per-partition table exists from the start, so a run that records nothing (a group
    /// that never had a member, no record ever appended) is still judged.
    pub fn new(groups: usize, partitions: usize) -> Facts {
        let group = GroupFacts {
            committed: vec![None; partitions],
            commits: vec![Vec::new(); partitions],
            start: vec![None; partitions],
            resets: vec![Vec::new(); partitions],
            out_of_range_resets: vec![Vec::new(); partitions],
            seeks: vec![Vec::new(); partitions],
            processed: vec![Vec::new(); partitions],
            ..GroupFacts::default()
        };
        Facts {
            groups: vec![group; groups],
            logs: vec![Vec::new(); partitions],
            log_start: vec![Offset::ZERO; partitions],
            deletions: vec![Vec::new(); partitions],
            compacted: vec![BTreeMap::new(); partitions],
            ..Facts::default()
        }
    }

    /// Grows the per-actor, per-event and per-partition tables to what `t` holds.
    fn grow(&mut self, t: &Tables) {
        if self.fates.len() < t.actors.len() {
            self.fates.resize(t.actors.len(), Fate::default());
        }
        let events = t.envelopes.len();
        if self.acked.len() < events {
            self.first_append
                .resize(events, (PartId::NONE, Offset::ZERO));
            self.appends.resize(events, 0);
            self.acked.resize(events, false);
            self.acks0.resize(events, false);
            self.retried.resize(events, 0);
            self.sending.resize(events, 0);
            for g in &mut self.groups {
                g.effects.resize(events, 0);
                g.first_done.resize(events, (ActorId::NONE, Time::ZERO));
            }
        }
        let parts = t.partitions.len();
        if self.logs.len() < parts {
            self.logs.resize(parts, Vec::new());
            self.log_start.resize(parts, Offset::ZERO);
            self.deletions.resize(parts, Vec::new());
            self.compacted.resize(parts, BTreeMap::new());
            for g in &mut self.groups {
                g.committed.resize(parts, None);
                g.commits.resize(parts, Vec::new());
                g.start.resize(parts, None);
                g.resets.resize(parts, Vec::new());
                g.out_of_range_resets.resize(parts, Vec::new());
                g.seeks.resize(parts, Vec::new());
                g.processed.resize(parts, Vec::new());
            }
        }
    }

    pub fn update(&mut self, t: &Tables, ev: &TraceEvent) -> Update {
        self.grow(t);
        let at = ev.at;
        let mut u = Update::default();
        match ev.kind {
            Kind::OutageStart {
                what: what @ (Outage::Kafka | Outage::Isolated(_)),
                ..
            } => self.outages.push((at, None, what)),
            Kind::OutageEnd {
                what: what @ (Outage::Kafka | Outage::Isolated(_)),
            } => {
                if let Some(o) = self
                    .outages
                    .iter_mut()
                    .rev()
                    .find(|o| o.2 == what && o.1.is_none())
                {
                    o.1 = Some(at);
                }
            }
            Kind::Send { actor, event, .. } => {
                let open = &mut self.sending[event.ix()];
                *open = open.saturating_add(1);
                if can_crash(t, actor) {
                    self.open_by.entry(actor).or_default().insert(event);
                }
            }
            Kind::Ack {
                actor,
                event,
                offset,
                ..
            } => {
                self.acked[event.ix()] = true;
                if offset.is_none() {
                    self.acks0[event.ix()] = true;
                }
                self.close_send(t, actor, event);
            }
            Kind::Retry { event, error, .. } => {
                self.retried[event.ix()] |= match error {
                    SendError::Timeout => RETRIED_TIMEOUT,
                    SendError::ConnectionClosed => RETRIED_CLOSED,
                    _ => RETRIED_OTHER,
                }
            }
            Kind::RelayPublish { actor, event } => {
                self.publishes.entry(event).or_default().push((at, actor))
            }
            Kind::RelayMarkFailed { actor, event } => self
                .mark_failures
                .entry(event)
                .or_default()
                .push((at, actor)),
            Kind::SendFailed {
                actor,
                event,
                limit,
                elapsed_ms,
                ..
            } => {
                self.failed.insert(event, (at, actor, limit, elapsed_ms));
                let in_log = self.landed_by(t, actor, event);
                self.give_ups
                    .entry(event)
                    .or_default()
                    .push((at, actor, in_log));
                self.close_send(t, actor, event);
            }
            Kind::Append {
                sender,
                event,
                part,
                offset,
                ..
            } => {
                if matches!(t.actors[sender.ix()].0, Actor::Relay { .. }) {
                    self.relay_appends
                        .entry(event)
                        .or_default()
                        .push((part, offset, at, sender));
                }
                let e = event.ix();
                if self.appends[e] == 0 {
                    self.first_append[e] = (part, offset);
                }
                self.appends[e] += 1;
                let log = &mut self.logs[part.ix()];
                assert_eq!(
                    log.len() as u64,
                    offset.value(),
                    "appends arrive in offset order"
                );
                log.push(event);
            }
            Kind::LogTruncated { part, to } => {
                let log = &mut self.logs[part.ix()];
                let keep = (to.value() as usize).min(log.len());
                self.truncated.clear();
                self.truncated.extend(log.drain(keep..));
                for (i, &e) in self.truncated.iter().enumerate() {
                    self.appends[e.ix()] -= 1;
                    if self.appends[e.ix()] == 0 {
                        self.first_append[e.ix()] = (PartId::NONE, Offset::ZERO);
                        self.truncated_away
                            .insert(e, (at, part, Offset((keep + i) as u64)));
                    }
                }
                self.compacted[part.ix()].split_off(&Offset(keep as u64));
                for g in &mut self.groups {
                    g.processed[part.ix()].truncate(keep);
                }
            }
            Kind::RecordCompacted {
                part,
                offset,
                superseded_by,
            } => {
                self.compacted[part.ix()]
                    .entry(offset)
                    .or_insert((at, superseded_by));
            }
            Kind::SegmentsDeleted {
                part,
                log_start,
                breach,
                ..
            } => {
                self.log_start[part.ix()] = log_start;
                self.deletions[part.ix()].push((at, log_start, breach));
            }
            Kind::OffsetReset {
                actor,
                part,
                offset,
                out_of_range,
            } => {
                let g = &mut self.groups[t.member_group(actor)];
                g.start[part.ix()].get_or_insert(offset);
                g.resets[part.ix()].push((at, offset, actor, out_of_range));
                if out_of_range.is_some() {
                    g.out_of_range_resets[part.ix()].push((at, offset, actor, out_of_range));
                }
            }
            Kind::Seek {
                actor,
                part,
                from,
                offset,
                to,
            } => self.groups[t.member_group(actor)].seeks[part.ix()]
                .push((at, from, offset, actor, to)),
            Kind::Revoke { actor, .. } => {
                let fate = &mut self.fates[actor.ix()];
                fate.revoked = Some(at);
                if !std::mem::take(&mut fate.rejoin_after_timeout) {
                    fate.poll_timeout = None;
                }
            }
            Kind::Crash { actor, point } => {
                let fate = &mut self.fates[actor.ix()];
                let during = fate.processing.take();
                fate.crashes.push(Crash { at, point, during });
                // Its sends die with it: the client's buffer is gone.
                for event in self.open_by.remove(&actor).unwrap_or_default() {
                    let open = &mut self.sending[event.ix()];
                    *open = open.saturating_sub(1);
                    self.abandoned.insert(event, (at, actor));
                }
            }
            Kind::ProcessStart {
                actor,
                part,
                offset,
                ..
            } => self.fates[actor.ix()].processing = Some((part, offset, at)),
            Kind::Leave { actor } => self.fates[actor.ix()].left = Some(at),
            Kind::PollTimeout { actor, since } => {
                let fate = &mut self.fates[actor.ix()];
                fate.poll_timeout = Some((at, since));
                fate.rejoin_after_timeout = true;
            }
            Kind::CloseInterrupted { actor, unhandled } => {
                let fate = &mut self.fates[actor.ix()];
                fate.left = Some(at);
                fate.interrupted = Some((at, unhandled));
                // The record it was in the middle of is abandoned, not finished.
                fate.processing = None;
            }
            Kind::Effect {
                actor,
                part,
                offset,
                event,
            }
            | Kind::Absorbed {
                actor,
                part,
                offset,
                event,
            } => {
                self.fates[actor.ix()].processing = None;
                let g = &mut self.groups[t.member_group(actor)];
                let processed = &mut g.processed[part.ix()];
                let o = offset.value() as usize;
                if processed.len() <= o {
                    processed.resize(o + 1, false);
                }
                u.reprocessed = processed[o];
                processed[o] = true;
                if matches!(ev.kind, Kind::Effect { .. }) {
                    g.effects[event.ix()] += 1;
                }
                if g.first_done[event.ix()].0 == ActorId::NONE {
                    g.first_done[event.ix()] = (actor, at);
                    u.first_processing = true;
                }
            }
            Kind::CommitSent {
                actor,
                part,
                offset,
                stored,
                ..
            } => {
                if stored {
                    self.stored_sent.insert((actor, part), offset);
                } else {
                    self.stored_sent.remove(&(actor, part));
                }
            }
            Kind::Committed {
                group,
                part,
                offset,
                actor,
            } => {
                let g = &mut self.groups[group as usize];
                let back = g.committed[part.ix()].is_some_and(|prev| offset < prev);
                g.committed[part.ix()] = Some(offset);
                let stored = self.stored_sent.get(&(actor, part)) == Some(&offset);
                let history = &mut g.commits[part.ix()];
                if back || history.last().is_none_or(|&(_, high, _, _)| offset > high) {
                    history.push((at, offset, actor, stored));
                }
            }
            _ => {}
        }
        u
    }

    /// A send of `event` by `actor` ended (answered or given up).
    /// A send the sender's crash already abandoned is not closed twice.
    fn close_send(&mut self, t: &Tables, actor: ActorId, event: EventIx) {
        if can_crash(t, actor)
            && !self
                .open_by
                .get_mut(&actor)
                .is_some_and(|events| events.remove(&event))
        {
            return;
        }
        let open = &mut self.sending[event.ix()];
        *open = open.saturating_sub(1);
    }

    /// Whether the group had processed `part`@`offset` when asked.
    /// How many offsets in `(after, before)` of `part` the log cleaner had removed by `at`.
    /// Cost: O(log n + the offsets counted).
    pub fn compacted_between(&self, part: PartId, after: Offset, before: Offset, at: Time) -> u64 {
        if before <= after.next() {
            return 0;
        }
        self.compacted[part.ix()]
            .range(after.next()..before)
            .filter(|(_, &(t, _))| t <= at)
            .count() as u64
    }

    pub fn processed(&self, g: usize, part: PartId, offset: Offset) -> bool {
        self.groups[g].processed[part.ix()]
            .get(offset.value() as usize)
            .copied()
            .unwrap_or(false)
    }

    /// Why `event` is in the log more than once, from what happened: a relay that
    /// published its row again (after a crash, or after giving up on a send), two relays
    /// publishing one row, or a producer retry without idempotence. Names every republish
    /// in order; `why_copy` explains one particular copy.
    pub fn why_copies(&self, t: &Tables, event: EventIx) -> String {
        let publishes = self.publishes.get(&event).map_or(&[][..], |v| v.as_slice());
        let reasons: Vec<String> = publishes
            .windows(2)
            .filter_map(|pair| self.why_republished(t, event, pair[0], pair[1]))
            .collect();
        if reasons.is_empty() {
            return self.why_retried(event);
        }
        reasons.join("; then ")
    }

    /// Why the copy of `event` at `part`@`offset` exists: the publish that put it there
    /// (matched by its sender and time) and what happened before it.
    pub fn why_copy(&self, t: &Tables, event: EventIx, part: PartId, offset: Offset) -> String {
        let publishes = self.publishes.get(&event).map_or(&[][..], |v| v.as_slice());
        let copy = self
            .relay_appends
            .get(&event)
            .and_then(|a| a.iter().find(|&&(p, o, ..)| p == part && o == offset));
        let Some(&(_, _, appended_at, sender)) = copy else {
            return self.why_copies(t, event);
        };
        // The sender's last publish of the row before the copy landed.
        let Some(i) = publishes
            .iter()
            .rposition(|&(tp, who)| who == sender && tp <= appended_at)
        else {
            return self.why_copies(t, event);
        };
        if i == 0 {
            // The first publish: the original copy needs no reason of its own, the others
            // do; a second copy from that same publish is a retry appended again.
            if self.first_append[event.ix()] == (part, offset) {
                return self.why_copies(t, event);
            }
            return self.why_retried(event);
        }
        self.why_republished(t, event, publishes[i - 1], publishes[i])
            .unwrap_or_else(|| {
                format!(
                    "{} published it again at t={}ms",
                    t.actor_name(sender),
                    publishes[i].0
                )
            })
    }

    /// Why the publish `(t1, again)` followed `(t0, first)` of the same row, if the trace
    /// says: `first` crashed, its mark failed and rolled back, or it gave up in between,
    /// or they are two relays.
    fn why_republished(
        &self,
        t: &Tables,
        event: EventIx,
        (t0, first): (Time, ActorId),
        (t1, again): (Time, ActorId),
    ) -> Option<String> {
        // Whichever came first after the publish left the row PENDING: a crash before the
        // mark, a mark that failed and rolled back, or a give-up that unlocked the row.
        let crash = self.fates[first.ix()].crash_between(t0, t1);
        let mark_failed = self.mark_failures.get(&event).and_then(|m| {
            m.iter()
                .find(|&&(tm, who)| who == first && t0 <= tm && tm <= t1)
                .copied()
        });
        let gave_up = self.give_ups.get(&event).and_then(|g| {
            g.iter()
                .find(|&&(tf, who, _)| who == first && t0 <= tf && tf <= t1)
                .copied()
        });
        let first_at = [
            crash.map(|c| c.at),
            mark_failed.map(|m| m.0),
            gave_up.map(|g| g.0),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(Crash { at: tc, point, .. }) = crash.filter(|c| Some(c.at) == first_at) {
            let how = match point {
                Some(p) => format!("at {}", p.name()),
                None => "at once".to_string(),
            };
            return Some(format!(
                "{} published its row at t={t0}ms and crashed at t={tc}ms {how}, before marking it PUBLISHED, so {} published it again at t={t1}ms",
                t.actor_name(first),
                t.actor_name(again)
            ));
        }
        if let Some((tm, _)) = mark_failed.filter(|m| Some(m.0) == first_at) {
            let next = if first == again {
                "on its next poll"
            } else {
                "on its poll"
            };
            return Some(format!(
                "{} published its row at t={t0}ms and its mark failed and rolled back at t={tm}ms, so the row stayed PENDING and {} published it again {next} at t={t1}ms",
                t.actor_name(first),
                t.actor_name(again)
            ));
        }
        if let Some((tf, _, in_log)) = gave_up {
            let landed = if in_log {
                " although an attempt had reached the log"
            } else {
                ""
            };
            return Some(format!(
                "{} gave up on its send at t={tf}ms{landed}, unlocked the row, and {} published it again at t={t1}ms",
                t.actor_name(first),
                t.actor_name(again)
            ));
        }
        (first != again).then(|| {
            format!(
                "two relays published the row: {} at t={t0}ms and {} at t={t1}ms",
                t.actor_name(first),
                t.actor_name(again)
            )
        })
    }

    /// Whether `actor`'s current send of `event` has put a copy in the log: for a relay,
    /// a copy it appended since its last publish of the row; for a producer or service,
    /// which send an event once, any copy.
    fn landed_by(&self, t: &Tables, actor: ActorId, event: EventIx) -> bool {
        if !matches!(t.actors[actor.ix()].0, Actor::Relay { .. }) {
            return self.appends[event.ix()] > 0;
        }
        let since = self.publishes.get(&event).and_then(|p| {
            p.iter()
                .rev()
                .find(|&&(_, who)| who == actor)
                .map(|&(tp, _)| tp)
        });
        let Some(since) = since else { return false };
        self.relay_appends
            .get(&event)
            .is_some_and(|a| a.iter().any(|&(_, _, ta, who)| who == actor && ta >= since))
    }

    fn why_retried(&self, event: EventIx) -> String {
        let why = match self.retried[event.ix()] & (RETRIED_TIMEOUT | RETRIED_CLOSED) {
            RETRIED_TIMEOUT => "a send whose answer had not come back in time (lost or late)",
            RETRIED_CLOSED => "a send still unanswered when another request on the same connection timed out: the client closed the connection, so no answer to it was read",
            0 if self.retried[event.ix()] != 0 => "a send after an error answer",
            0 => return "it was sent more than once".to_string(),
            _ => "a send whose request timed out, or whose connection closed when another request timed out, before its answer was read",
        };
        format!("its producer retried {why}, and without enable.idempotence the broker appended the retry again")
    }

    /// The service index of an actor, if it is a service.
    pub fn service_of(t: &Tables, actor: ActorId) -> Option<usize> {
        match t.actors[actor.ix()].0 {
            Actor::Service(s) => Some(s as usize),
            _ => None,
        }
    }
}

/// Bits of `Facts::retried`.
pub const RETRIED_TIMEOUT: u8 = 1;
pub const RETRIED_CLOSED: u8 = 2;
pub const RETRIED_OTHER: u8 = 4;

/// Whether `actor` is a service or a relay: the senders a crash can stop mid-send.
fn can_crash(t: &Tables, actor: ActorId) -> bool {
    matches!(
        t.actors[actor.ix()].0,
        Actor::Service(_) | Actor::Relay { .. }
    )
}
