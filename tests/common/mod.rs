//! Checks more than one test binary runs against a finished simulation: which sent events
//! no anomaly names, what the partitions' logs held at the end, and who owned which
//! partition as the run went.
//!
//! Each test binary compiles this module on its own and uses some of it, so the parts one
//! binary leaves unused are not dead code.
#![allow(dead_code)]

use kafkasim::check::{AnomalyKind, Verdict};
use kafkasim::trace::{ActorId, EventIx, Kind, PartId, Tables, TraceEvent, TraceSink};
use std::collections::{BTreeMap, BTreeSet};

/// The events the trace shows were sent (a `send` record) and never appended, each with
/// whether an anomaly that says how (a give-up, an acks=0 drop, in flight at the end, an
/// order never published) names it.
pub fn missing_events(events: &[TraceEvent], v: &Verdict) -> Vec<(EventIx, bool)> {
    let (mut sent, mut appended) = (BTreeSet::new(), BTreeSet::new());
    for e in events {
        match e.kind {
            Kind::Send { event, .. } => {
                sent.insert(event);
            }
            Kind::Append { event, .. } => {
                appended.insert(event);
            }
            _ => {}
        }
    }
    let named: BTreeSet<EventIx> = v
        .anomalies
        .iter()
        .filter(|a| {
            matches!(
                a.kind,
                AnomalyKind::SendFailed
                    | AnomalyKind::UnackedLost
                    | AnomalyKind::InFlightAtEnd
                    | AnomalyKind::CommittedWithoutEvent
            )
        })
        .filter_map(|a| a.event)
        .collect();
    sent.difference(&appended)
        .map(|&e| (e, named.contains(&e)))
        .collect()
}

/// Each partition's log when the run ended, as (offset, event) in offset order, rebuilt
/// from the trace's `append` and `log_truncated` records alone (records retention or the
/// cleaner removed are kept: they were in the log).
pub fn final_logs(events: &[TraceEvent]) -> BTreeMap<PartId, Vec<(u64, EventIx)>> {
    let mut logs: BTreeMap<PartId, Vec<(u64, EventIx)>> = BTreeMap::new();
    for ev in events {
        match ev.kind {
            Kind::Append {
                event,
                part,
                offset,
                ..
            } => logs.entry(part).or_default().push((offset.value(), event)),
            Kind::LogTruncated { part, to } => logs
                .entry(part)
                .or_default()
                .retain(|&(o, _)| o < to.value()),
            _ => {}
        }
    }
    logs
}

/// Follows who owns which partition, group by group, from the trace, and keeps the first
/// time two members of one group own a partition at once.
///
/// A member owns what its last `assigned` record lists, minus what it gave up since under
/// the cooperative protocol (`revoke_moved`), and nothing after an eager revocation
/// (`revoke`), a crash, a close, a poll timeout or an expired session: from then on the
/// protocol no longer protects its claim, and the group may give its partitions to others.
/// The check is stronger than "at most one owner per generation": while the old owner
/// still holds a partition, whatever its generation, nobody else in its group gets it.
#[derive(Default)]
pub struct Owners {
    /// Each current owner: (its group, the generation it was assigned in, its partitions).
    pub owned: BTreeMap<ActorId, (usize, u32, BTreeSet<PartId>)>,
    /// The first double ownership, described.
    pub violation: Option<String>,
    /// Each group's last generation and its shares.
    pub last_generation: BTreeMap<usize, (u32, Vec<Vec<PartId>>)>,
    /// Groups whose last generation withheld partitions (a cooperative move not finished).
    pub withheld_after_last: BTreeSet<usize>,
}

impl TraceSink for Owners {
    fn record(&mut self, t: &Tables, ev: &TraceEvent) {
        match ev.kind {
            Kind::Assigned {
                actor,
                generation,
                assignment,
            } => {
                let group = t.member_group(actor);
                let parts: BTreeSet<PartId> = t.assignments[assignment as usize]
                    .iter()
                    .flat_map(|s| s.parts.iter().copied())
                    .collect();
                for (other, (g, gen, theirs)) in &self.owned {
                    if *other != actor && *g == group && !theirs.is_disjoint(&parts) {
                        self.violation.get_or_insert(format!(
                            "t={}: {} (generation {generation}) and {} (generation {gen}) both own {:?}",
                            ev.at.ms(),
                            t.actor_name(actor),
                            t.actor_name(*other),
                            theirs
                                .intersection(&parts)
                                .map(|&p| t.part_name(p))
                                .collect::<Vec<_>>()
                        ));
                    }
                }
                self.owned.insert(actor, (group, generation, parts));
            }
            Kind::RevokeMoved { actor, assignment } => {
                if let Some((_, _, mine)) = self.owned.get_mut(&actor) {
                    for s in &t.assignments[assignment as usize] {
                        for p in &s.parts {
                            mine.remove(p);
                        }
                    }
                }
            }
            Kind::Revoke { actor, .. }
            | Kind::PollTimeout { actor, .. }
            | Kind::SessionExpired { actor }
            | Kind::Crash { actor, .. }
            | Kind::Leave { actor }
            | Kind::CloseInterrupted { actor, .. } => {
                self.owned.remove(&actor);
            }
            Kind::Generation {
                group,
                generation,
                assignment,
            } => {
                let shares = t.assignments[assignment as usize]
                    .iter()
                    .map(|s| s.parts.clone())
                    .collect();
                self.last_generation
                    .insert(group as usize, (generation, shares));
                self.withheld_after_last.remove(&(group as usize));
            }
            Kind::Withheld { group, .. } => {
                self.withheld_after_last.insert(group as usize);
            }
            _ => {}
        }
    }
}
