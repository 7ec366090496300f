//! Duplicate deliveries: a partition+offset delivered again within a group, with the cause
//! built from what happened to the member that had it before (crash, leave, revoke) and
//! the group's last commit for the partition at that moment. State: per group, partition
//! and offset, the member that last had it delivered (8 bytes an offset).

use super::{AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::{Crash, Update};
use crate::counters::Counter;
use crate::engine::Time;
use crate::model::log::Offset;
use crate::trace::{ActorId, Kind, PartId, TraceEvent};

pub struct DuplicateDeliveries {
    /// Per group, per PartId, per offset: the last member it was delivered to, and how
    /// many times that member had crashed by then (which incarnation had it).
    last: Vec<Vec<Vec<(ActorId, u32)>>>,
}

impl DuplicateDeliveries {
    pub fn new(groups: usize) -> Self {
        DuplicateDeliveries {
            last: vec![Vec::new(); groups],
        }
    }
}

impl Property for DuplicateDeliveries {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, found: &mut Findings) {
        // A new leader's shorter log: the offsets from `to` on will hold other records.
        if let Kind::LogTruncated { part, to } = ev.kind {
            for parts in &mut self.last {
                if let Some(offsets) = parts.get_mut(part.ix()) {
                    offsets.truncate(to.value() as usize);
                }
            }
            return;
        }
        let Kind::Deliver {
            actor,
            part,
            offset,
            event,
        } = ev.kind
        else {
            return;
        };
        let g = cx.t.member_group(actor);
        let parts = &mut self.last[g];
        if parts.len() <= part.ix() {
            parts.resize(part.ix() + 1, Vec::new());
        }
        let offsets = &mut parts[part.ix()];
        let o = offset.value() as usize;
        if offsets.len() <= o {
            offsets.resize(o + 1, (ActorId::NONE, 0));
        }
        let incarnation = cx.f.fates[actor.ix()].crashes.len() as u32;
        let prev = std::mem::replace(&mut offsets[o], (actor, incarnation));
        if prev.0 == ActorId::NONE {
            return;
        }
        found.count_group(g, Counter::DuplicateDeliveries, 1);
        let cause = cause(cx, g, ev.at, actor, prev, part, offset);
        found.group_anomaly(
            AnomalyKind::DuplicateDelivery,
            g,
            ev.at,
            Some(part),
            Some(offset),
            Some(event),
            cause,
        );
    }
}

/// "p0@4 delivered again to payment-service-2 at t=6120ms: payment-service-1 crashed …",
/// with its causal chain.
fn cause(
    cx: &Context,
    g: usize,
    at: Time,
    actor: ActorId,
    (prev, crashes_before): (ActorId, u32),
    part: PartId,
    offset: Offset,
) -> (String, Vec<Link>) {
    let pn = cx.t.part_name(part);
    let mut chain: Vec<Link> = match cx.commit_link(g, part, at) {
        Some(l) => vec![l],
        // No commit: the member's reset chose where it started reading.
        None => cx.f.groups[g].resets[part.ix()]
            .iter()
            .rev()
            .find(|&&(t, _, a, from)| a == actor && t <= at && from.is_none())
            .map(|&(t, r, _, _)| {
                Link::new(
                    t,
                    format!(
                        "{} had no committed offset for {pn}, and reset to {r} (auto.offset.reset={})",
                        cx.name(actor),
                        cx.sc.groups[g].config.auto_offset_reset.name()
                    ),
                )
            })
            .into_iter()
            .collect(),
    };
    chain.push(Link::effect(
        at,
        format!("{pn}@{offset} was delivered again, to {}", cx.name(actor)),
    ));
    let commit = match cx.f.groups[g].committed[part.ix()] {
        Some(c) => format!("last commit for {pn} was {c}"),
        None => format!("{pn} had no committed offset, so auto.offset.reset chose where to start"),
    };
    // A backward seek by this member moved its position back over the record: a replay.
    if let Some((t, from, to, _, how)) =
        cx.f.groups[g].replay(part, actor, offset, (Time::ZERO, at))
    {
        chain.push(Link::new(
            t,
            format!(
                "{} sought {pn} back from {from} to {to} (to: {}): a replay",
                cx.name(actor),
                how.spelled()
            ),
        ));
        let cause = format!(
            "{pn}@{offset} delivered again to {} at t={at}ms: a replay: it sought {pn} back from {from} to {to} (to: {}) at t={t}ms; {}",
            cx.name(actor),
            how.spelled(),
            // The seek chose the position, not auto.offset.reset.
            match cx.f.groups[g].committed[part.ix()] {
                Some(c) => format!("last commit for {pn} was {c}"),
                None => format!("{pn} had no committed offset"),
            }
        );
        return (cause, chain);
    }
    // A reset for a position past the log end (an election truncated the log) moved the
    // member back over records it had read.
    if let Some(&(t, r, _, _)) = cx.f.groups[g].out_of_range_resets[part.ix()]
        .iter()
        .rev()
        .find(|&&(t, r, a, from)| {
            from.is_some_and(|from| from > r) && a == actor && t <= at && r <= offset
        })
    {
        let reset = cx.sc.groups[g].config.auto_offset_reset.name();
        chain.push(Link::new(
            t,
            format!(
                "{}'s position in {pn} was past the log end after a new leader's shorter log (OFFSET_OUT_OF_RANGE); it reset to {r} (auto.offset.reset={reset}), before {pn}@{offset}",
                cx.name(actor)
            ),
        ));
        let cause = format!(
            "{pn}@{offset} delivered again to {} at t={at}ms: its position in {pn} was past the log end after a new leader's shorter log (OFFSET_OUT_OF_RANGE), and it reset to {r} (auto.offset.reset={reset}) at t={t}ms, before it",
            cx.name(actor),
        );
        return (cause, chain);
    }
    let fate = &cx.f.fates[prev.ix()];
    // The crash that ended the incarnation the record was delivered to, not a later one.
    let crash = fate.crashes.get(crashes_before as usize).copied();
    let done = if cx.f.processed(g, part, offset) {
        "after processing it".to_string()
    } else {
        match crash {
            Some(Crash {
                at: t,
                during: Some((p, o, started)),
                ..
            }) if p == part && o == offset => format!(
                "while processing it ({} ms into it, since t={started}ms)",
                t.since(started)
            ),
            _ => "before processing it".to_string(),
        }
    };
    let what = if let Some(c @ Crash { at: t, point, .. }) = crash {
        let point = point.map_or(String::new(), |p| format!(" at {}", p.name()));
        chain.push(Link::new(
            c.at,
            format!(
                "{} crashed{point}, {} and before committing past it",
                cx.name(prev),
                done.replacen("processing it", &format!("processing {pn}@{offset}"), 1)
            ),
        ));
        format!(
            "{} crashed at t={t}ms{point}, {done} and before committing past it",
            cx.name(prev)
        )
    } else if let Some((t, since)) = fate.poll_timeout.filter(|&(t, _)| t <= at) {
        chain.push(Link::new(
            since,
            format!("{} polled, and began handling the records", cx.name(prev)),
        ));
        chain.push(Link::new(
            t,
            format!(
                "{} was still handling them after max.poll.interval.ms ({} ms), so it left the group; its commits now fail (CommitFailedException)",
                cx.name(prev),
                cx.sc.groups[g].config.max_poll_interval_ms
            ),
        ));
        format!(
            "{} left the group at t={t}ms because handling the records of its poll at t={since}ms took longer than max.poll.interval.ms ({} ms), {done}, and could not commit past it (CommitFailedException)",
            cx.name(prev),
            cx.sc.groups[g].config.max_poll_interval_ms
        )
    } else if let Some(t) = fate.left {
        chain.push(Link::new(
            t,
            format!("{} left the group {done}", cx.name(prev)),
        ));
        format!(
            "{} left the group at t={t}ms {done}, before committing past it",
            cx.name(prev)
        )
    } else if let Some(t) = fate.revoked {
        chain.push(Link::new(
            t,
            format!("{} gave {pn} up in a rebalance, {done}", cx.name(prev)),
        ));
        format!(
            "{} gave it up in a rebalance at t={t}ms, {done}, before a commit covered it",
            cx.name(prev)
        )
    } else {
        format!(
            "{} had it delivered before and the committed offset stayed behind it",
            cx.name(prev)
        )
    };
    let cause = format!(
        "{pn}@{offset} delivered again to {} at t={at}ms: {what}; {commit}",
        cx.name(actor)
    );
    (cause, chain)
}
