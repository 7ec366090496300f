//! Every record accounted for: each record in a group's partitions, when the run ends
//! (those retention deleted included), is exactly one of processed, skipped by a reset,
//! skipped by retention, skipped by a seek, compacted, lost, or still waiting.
//!
//! For a record the group never processed, the history says why, from what happened and
//! in the order it happened: the first of a forward seek that moved a member's position
//! from at or below it to past it (`skipped_by_seek`), an offset reset that moved the
//! group's position past it (`skipped_by_reset`), retention deleting it (`skipped_by_retention`), the log
//! cleaner removing it (`compacted`), and a commit that moved past it before it was
//! processed (`lost`); with none, it is lag (`unprocessed_at_end`), not loss: a consumer
//! that comes back would read it. So `records_in_log = records_processed +
//! skipped_by_reset + skipped_by_retention + skipped_by_seek + compacted + lost +
//! unprocessed_at_end`, per group. No state of its own: it reads the history.

use super::{AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::Crash;
use crate::counters::Counter;
use crate::engine::Time;
use crate::model::log::{Breach, Offset};
use crate::trace::{ActorId, EventIx, PartId};

pub struct Accounting;

/// Why an unprocessed record was never processed: the first thing that moved past it.
enum Past {
    /// A forward seek: (when, from where, to where, by whom, what it asked for).
    Seek(Time, Offset, Offset, ActorId, crate::scenario::SeekTo),
    /// (when, to where, by whom, the position found out of range if that is why).
    Reset(Time, Offset, ActorId, Option<Offset>),
    /// (when, to where, by whom, whether it was librdkafka's auto-commit of a stored
    /// offset).
    Commit(Time, Offset, ActorId, bool),
    /// Retention deleted it: (when, the new log start offset, which limit).
    Deleted(Time, Offset, Breach),
    /// The log cleaner removed it: (when, the offset of the later record of its key, or
    /// None for an expired tombstone).
    Compacted(Time, Option<Offset>),
}

impl Past {
    fn at(&self) -> Time {
        match *self {
            Past::Seek(t, ..)
            | Past::Reset(t, ..)
            | Past::Commit(t, ..)
            | Past::Deleted(t, ..)
            | Past::Compacted(t, _) => t,
        }
    }
}

impl Property for Accounting {
    fn finish(&mut self, cx: &Context, end: Time, found: &mut Findings) {
        for (g, spec) in cx.sc.groups.iter().enumerate() {
            let parts = (0..cx.t.partitions.len())
                .filter(|&p| spec.topics.contains(&(cx.t.partitions[p].0 as usize)))
                .map(|p| PartId(p as u32));
            for part in parts {
                let log = &cx.f.logs[part.ix()];
                found.count_group(g, Counter::RecordsInLog, log.len() as u64);
                for (o, &event) in log.iter().enumerate() {
                    let offset = Offset(o as u64);
                    if cx.f.processed(g, part, offset) {
                        found.count_group(g, Counter::RecordsProcessed, 1);
                        continue;
                    }
                    match moved_past(cx, g, part, offset) {
                        None => found.count_group(g, Counter::UnprocessedAtEnd, 1),
                        Some(past) => {
                            let (kind, counter) = match past {
                                Past::Seek(..) => {
                                    (AnomalyKind::SkippedBySeek, Counter::SkippedBySeek)
                                }
                                Past::Reset(..) => {
                                    (AnomalyKind::SkippedByReset, Counter::SkippedByReset)
                                }
                                Past::Commit(..) => (AnomalyKind::Lost, Counter::Lost),
                                Past::Deleted(..) => {
                                    (AnomalyKind::SkippedByRetention, Counter::SkippedByRetention)
                                }
                                Past::Compacted(..) => (AnomalyKind::Compacted, Counter::Compacted),
                            };
                            found.count_group(g, counter, 1);
                            let cause = cause(cx, g, part, offset, event, past, end);
                            found.group_anomaly(
                                kind,
                                g,
                                end,
                                Some(part),
                                Some(offset),
                                Some(event),
                                cause,
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The earliest of group `g`'s seeks, resets and commits, and retention, that moved past
/// `offset` on `part`. At the same ms a seek comes before a reset, a reset before a
/// commit, and all of them before a deletion: what the group did itself is named first.
fn moved_past(cx: &Context, g: usize, part: PartId, offset: Offset) -> Option<Past> {
    let facts = &cx.f.groups[g];
    // A seek back over the record undoes whatever the group had done past it: from then
    // on a member reads it again. Retention and the cleaner cannot be undone.
    let since = facts.seeks[part.ix()]
        .iter()
        .rev()
        .find(|&&(_, from, to, _, _)| to <= offset && offset < from)
        .map_or(Time::ZERO, |s| s.0);
    let seek = facts.seeks[part.ix()]
        .iter()
        .find(|&&(t, from, to, _, _)| t >= since && from <= offset && offset < to)
        .map(|&(t, from, to, a, how)| Past::Seek(t, from, to, a, how));
    let reset = facts.resets[part.ix()]
        .iter()
        .find(|&&(t, r, _, _)| t >= since && r > offset)
        .map(|&(t, r, a, o)| Past::Reset(t, r, a, o));
    let commit = facts.commits[part.ix()]
        .iter()
        .find(|&&(t, c, _, _)| t >= since && c > offset)
        .map(|&(t, c, a, stored)| Past::Commit(t, c, a, stored));
    let deleted = cx.f.deletions[part.ix()]
        .iter()
        .find(|&&(_, start, _)| start > offset)
        .map(|&(t, start, b)| Past::Deleted(t, start, b));
    let compacted = cx.f.compacted[part.ix()]
        .get(&offset)
        .map(|&(t, by)| Past::Compacted(t, by));
    [seek, reset, commit, deleted, compacted]
        .into_iter()
        .flatten()
        .enumerate()
        .min_by_key(|(rank, p)| (p.at(), *rank))
        .map(|(_, p)| p)
}

fn cause(
    cx: &Context,
    g: usize,
    part: PartId,
    offset: Offset,
    event: EventIx,
    past: Past,
    end: Time,
) -> (String, Vec<Link>) {
    let pn = cx.t.part_name(part);
    let group = &cx.sc.groups[g];
    let id = cx.t.event_id(event);
    let head = format!(
        "{pn}@{offset} ({id}) is in the log but {} never processed it",
        group.name
    );
    let mut chain = vec![Link::effect(
        end,
        format!(
            "the run ended, and {} had never processed {pn}@{offset} ({id})",
            group.name
        ),
    )];
    let reset = group.config.auto_offset_reset.name();
    let cause = match past {
        Past::Seek(t, from, to, a, how) => {
            let sought = format!(
                "{} sought {pn} from {from} to {to} (to: {})",
                cx.name(a),
                how.spelled()
            );
            chain.push(Link::new(t, format!("{sought}, past {pn}@{offset}")));
            format!("{head}: {sought} at t={t}ms, past it")
        }
        Past::Reset(t, r, a, Some(from)) if from < r => {
            let why = format!(
                "{}'s position {from} in {pn} was below the log start offset after retention deleted records (OFFSET_OUT_OF_RANGE), and it reset to {r} (auto.offset.reset={reset})",
                cx.name(a)
            );
            chain.push(Link::new(t, format!("{why}, past {pn}@{offset}")));
            format!("{head}: {why} at t={t}ms, past it")
        }
        Past::Reset(t, r, a, Some(_)) => {
            let why = format!(
                "{}'s position in {pn} was past the log end after a new leader's shorter log (OFFSET_OUT_OF_RANGE), and it reset to {r} (auto.offset.reset={reset})",
                cx.name(a)
            );
            chain.push(Link::new(t, format!("{why}, past {pn}@{offset}")));
            format!("{head}: {why} at t={t}ms, past it")
        }
        Past::Reset(t, r, a, None) => {
            let why = format!(
                "{} had no committed offset for {pn} and reset to {r} (auto.offset.reset={reset})",
                cx.name(a)
            );
            chain.push(Link::new(t, format!("{why}, past {pn}@{offset}")));
            format!("{head}: {why} at t={t}ms, past it")
        }
        Past::Compacted(t, by) => compacted_cause(cx, g, (part, offset, event), t, by, &mut chain),
        Past::Deleted(t, start, breach) => {
            deleted_cause(cx, g, (part, offset, event), (t, start, breach), &mut chain)
        }
        Past::Commit(t, c, a, stored) => {
            if let Some((ti, unhandled)) = cx.f.fates[a.ix()].interrupted.filter(|&(ti, _)| ti <= t)
            {
                let records = if unhandled == 1 { "record" } else { "records" };
                chain.push(Link::new(
                    ti,
                    format!(
                        "{}'s close() interrupted its batch, leaving {unhandled} {records} it had been handed unhandled, {pn}@{offset} among them",
                        cx.name(a)
                    ),
                ));
                chain.push(Link::new(
                    t,
                    format!("the close committed offset {c} for {pn}, past them"),
                ));
                format!(
                    "{head}: {}'s close() interrupted its batch at t={ti}ms, leaving {unhandled} {records} it had been handed unhandled, and the close committed offset {c} past them (stored at t={t}ms)",
                    cx.name(a),
                )
            } else if stored {
                stored_cause(cx, g, (part, offset), &head, (t, c, a), &mut chain)
            } else {
                chain.push(Link::new(
                    t,
                    format!(
                        "{} committed offset {c} for {pn}, past {pn}@{offset}, before processing it",
                        cx.name(a)
                    ),
                ));
                let crash = match cx.f.fates[a.ix()].crash_since(t) {
                    Some(
                        crash @ Crash {
                            at: ct, point: p, ..
                        },
                    ) => {
                        chain.push(cx.crash_link(a, &crash));
                        format!(
                            "; {} then crashed at t={ct}ms{}",
                            cx.name(a),
                            p.map_or(String::new(), |p| format!(" at {}", p.name()))
                        )
                    }
                    _ => String::new(),
                };
                format!(
                    "{head}: {} committed offset {c} at t={t}ms, past it, before processing it{crash}",
                    cx.name(a)
                )
            }
        }
    };
    (cause, chain)
}

/// A record librdkafka's background auto-commit moved past: the offset store took its
/// offset + 1 when the record was handed to the application (`enable.auto.offset.store`),
/// so the timer committed it whatever the handler was doing; what the member did next.
fn stored_cause(
    cx: &Context,
    g: usize,
    (part, offset): (PartId, Offset),
    head: &str,
    (t, c, a): (Time, Offset, ActorId),
    chain: &mut Vec<Link>,
) -> String {
    let config = &cx.sc.groups[g].config;
    chain.push(Link::new(
        t,
        format!(
            "{} committed offset {c} for {pn}, past {pn}@{offset}, by librdkafka's background auto-commit: the offset store had taken it when the record was handed to the application, before it was processed",
            cx.name(a),
            pn = cx.t.part_name(part)
        ),
    ));
    let why = format!(
        "{head}: librdkafka's background auto-commit (every auto.commit.interval.ms={}) committed offset {c} for {} at t={t}ms, past it: the offset store (enable.auto.offset.store={}) had taken it when the record was handed to the application, before it was processed",
        config.auto_commit_interval_ms,
        cx.name(a),
        config.enable_auto_offset_store
    );
    if let Some(crash) = cx.f.fates[a.ix()].crash_since(t) {
        chain.push(cx.crash_link(a, &crash));
    }
    match cx.f.fates[a.ix()].crash_since(t) {
        Some(Crash {
            at,
            during: Some((p, o, started)),
            ..
        }) if p == part && o == offset => format!(
            "{why}; {} was processing it since t={started}ms and crashed at t={at}ms, so nobody will read it again",
            cx.name(a)
        ),
        Some(Crash { at, .. }) => format!("{why}; {} then crashed at t={at}ms", cx.name(a)),
        None => why,
    }
}

/// Why a record retention deleted never reached group `g`: when and by which limit it
/// went, and what the group's member did about the hole: the reset that followed (from
/// which position to which offset), or, if none came, where the group was.
fn deleted_cause(
    cx: &Context,
    g: usize,
    (part, offset, event): (PartId, Offset, EventIx),
    (t, start, breach): (Time, Offset, Breach),
    chain: &mut Vec<Link>,
) -> String {
    let pn = cx.t.part_name(part);
    let group = &cx.sc.groups[g];
    let limit = match breach {
        Breach::RetentionMs => {
            cx.sc.topics[cx.t.partitions[part.ix()].0 as usize]
                .log
                .retention_ms
        }
        Breach::RetentionBytes => {
            cx.sc.topics[cx.t.partitions[part.ix()].0 as usize]
                .log
                .retention_bytes
        }
    };
    let limit = limit.map_or(String::new(), |v| format!(" ({v})"));
    chain.push(Link::new(
        t,
        format!(
            "{} deleted the segments of {pn} below offset {start}{limit}, {pn}@{offset} ({}) with them",
            breach.name(),
            cx.t.event_id(event)
        ),
    ));
    let head = format!(
        "{} ({pn}@{offset}) was deleted by {}{limit} at t={t}ms, with the segments below offset {start}, before {} processed it",
        cx.t.event_id(event),
        breach.name(),
        group.name
    );
    // The group's first reset after the deletion whose position was below the log start.
    let reset = cx.f.groups[g].out_of_range_resets[part.ix()]
        .iter()
        .find(|&&(tr, r, _, from)| tr >= t && from.is_some_and(|f| f < r));
    if let Some(&(tr, r, a, Some(from))) = reset {
        chain.push(Link::new(
            tr,
            format!(
                "{} was at offset {from}, below the log start, got OFFSET_OUT_OF_RANGE and reset to {r} (auto.offset.reset={})",
                cx.name(a),
                group.config.auto_offset_reset.name()
            ),
        ));
        return format!(
            "{head}; {} was at offset {from}, below the log start, got OFFSET_OUT_OF_RANGE and reset to {r} (auto.offset.reset={}) at t={tr}ms",
            cx.name(a),
            group.config.auto_offset_reset.name()
        );
    }
    match cx.f.groups[g].committed[part.ix()] {
        Some(c) => format!("{head}; the group's committed offset was {c}"),
        None => format!("{head}; the group had no committed offset for {pn}"),
    }
}

/// Why a record the log cleaner removed never reached group `g`: which later record of the
/// same key superseded it (or that it was an expired tombstone), when the cleaner ran, and
/// where the group was then.
fn compacted_cause(
    cx: &Context,
    g: usize,
    (part, offset, event): (PartId, Offset, EventIx),
    t: Time,
    by: Option<Offset>,
    chain: &mut Vec<Link>,
) -> String {
    let pn = cx.t.part_name(part);
    let group = &cx.sc.groups[g];
    let key = cx.t.key_of(event).unwrap_or("");
    let why = match by {
        Some(by) => {
            let later = cx.f.logs[part.ix()]
                .get(by.value() as usize)
                .map_or(String::new(), |&e| format!(" ({})", cx.t.event_id(e)));
            format!("{pn}@{by}{later}, a later record of key {key}, superseded it")
        }
        None => format!(
            "it was a tombstone of key {key} older than delete.retention.ms ({})",
            cx.sc.topics[cx.t.partitions[part.ix()].0 as usize]
                .log
                .delete_retention_ms
        ),
    };
    chain.push(Link::new(
        t,
        format!(
            "the log cleaner removed {pn}@{offset} ({}): {why}",
            cx.t.event_id(event)
        ),
    ));
    let start = group.start_at_ms;
    let group_then = if start > t.ms() {
        format!("{} started later, at t={start}ms", group.name)
    } else {
        format!("{} had not read it yet", group.name)
    };
    let not_lost = match by {
        Some(_) => "the key's latest record is still in the log",
        None => "the tombstone had deleted its key",
    };
    format!(
        "{} ({pn}@{offset}) was compacted away by the log cleaner at t={t}ms before {} processed it: {why}; {group_then}. Not lost: {not_lost}",
        cx.t.event_id(event),
        group.name
    )
}
