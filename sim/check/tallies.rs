//! Plain counts: produced, acked and appended (run totals); delivered, processed,
//! rebalances, idle members, partitions moved, rebalance pauses and duplicates absorbed
//! (per group). No anomalies. State: each partition's last owner, per group.

use super::{Context, Findings, Property};
use crate::check::facts::Update;
use crate::counters::Counter;
use crate::trace::{ActorId, Kind, PartId, TraceEvent};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Tallies {
    /// The member that last owned each partition, per group (a withheld partition keeps
    /// its old owner until it is handed out).
    owner: BTreeMap<(u16, PartId), ActorId>,
}

impl Property for Tallies {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, found: &mut Findings) {
        match ev.kind {
            Kind::Send { .. } => found.totals.bump(Counter::Produced),
            Kind::Ack { .. } => found.totals.bump(Counter::Acked),
            Kind::Append { .. } => found.totals.bump(Counter::Appended),
            Kind::Generation {
                group, assignment, ..
            } => {
                let g = group as usize;
                found.count_group(g, Counter::Rebalances, 1);
                let idle = cx.t.assignments[assignment as usize]
                    .iter()
                    .filter(|s| s.parts.is_empty())
                    .count();
                found.count_group(g, Counter::IdleMembers, idle as u64);
                let mut moved = 0;
                for share in &cx.t.assignments[assignment as usize] {
                    for &p in &share.parts {
                        let before = self.owner.insert((group, p), share.actor);
                        moved += u64::from(before.is_some_and(|a| a != share.actor));
                    }
                }
                found.count_group(g, Counter::PartitionsMoved, moved);
            }
            Kind::Paused {
                actor,
                partitions,
                ms,
                ..
            } => found.count_group(
                cx.t.member_group(actor),
                Counter::RebalancePauseMs,
                u64::from(partitions) * ms,
            ),
            Kind::PollTimeout { actor, .. } => {
                found.count_group(cx.t.member_group(actor), Counter::PollTimeouts, 1)
            }
            Kind::Deliver { actor, .. } => {
                found.count_group(cx.t.member_group(actor), Counter::Delivered, 1)
            }
            Kind::Effect { actor, .. } => {
                found.count_group(cx.t.member_group(actor), Counter::Processed, 1)
            }
            Kind::CommandRefused { actor, .. } => {
                if let Some(s) = crate::check::facts::Facts::service_of(cx.t, actor) {
                    found.services[s].bump(Counter::CommandsRefused);
                }
            }
            Kind::Absorbed { actor, .. } => {
                let g = cx.t.member_group(actor);
                found.count_group(g, Counter::Processed, 1);
                found.count_group(g, Counter::DuplicatesAbsorbed, 1);
            }
            _ => {}
        }
    }
}
