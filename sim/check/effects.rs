//! Duplicate effects: an eventId's effect applied again by the same group, with the cause
//! taken from the group's processed-id store history (no store, an expired mark, an
//! unreachable store, a crash between effect and mark). Also the side-effect ledger.
//! State: the marks and store failures seen per eventId, and every application of the
//! few eventIds applied more than once.

use super::{AnomalyKind, Context, Findings, Link, Property, Reapplied};
use crate::check::facts::{Crash, Facts, Update};
use crate::counters::Counter;
use crate::engine::Time;
use crate::model::log::Offset;
use crate::scenario::StoreUnavailable;
use crate::trace::{ActorId, EventIx, Kind, PartId, TraceEvent};
use std::collections::BTreeMap;

#[derive(Default, Clone)]
struct GroupState {
    /// eventId → (marked at, expires at).
    marks: BTreeMap<EventIx, (Time, Option<Time>)>,
    /// eventId → when the store was last unreachable as a member tried to mark it.
    unmarked: BTreeMap<EventIx, Time>,
    /// eventId → when, and by whom, the store was last unreachable at the processed-id
    /// check under `on_store_unavailable: apply-anyway` (the effect went ahead unchecked).
    unchecked: BTreeMap<EventIx, (Time, ActorId)>,
    /// Per member: the event whose effect it applied last and has not yet marked. A store
    /// failure for that event is the mark's; any other is the check's.
    applied: BTreeMap<ActorId, EventIx>,
    /// eventId → every application, for eventIds applied more than once.
    reapplied: BTreeMap<EventIx, Vec<(Time, ActorId)>>,
}

pub struct DuplicateEffects {
    groups: Vec<GroupState>,
}

impl DuplicateEffects {
    pub fn new(groups: usize) -> Self {
        DuplicateEffects {
            groups: vec![GroupState::default(); groups],
        }
    }

    /// Group `g`'s ledger: applications in all, distinct eventIds applied, and the
    /// eventIds applied more than once with each application.
    pub fn ledger(&self, g: usize, f: &Facts) -> (u64, u64, Vec<Reapplied>) {
        let effects = &f.groups[g].effects;
        let applied = effects.iter().map(|&n| u64::from(n)).sum();
        let distinct = effects.iter().filter(|&&n| n > 0).count() as u64;
        let reapplied = self.groups[g]
            .reapplied
            .iter()
            .map(|(&event, apps)| Reapplied {
                event,
                applications: apps.clone(),
            })
            .collect();
        (applied, distinct, reapplied)
    }
}

impl Property for DuplicateEffects {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, u: Update, found: &mut Findings) {
        match ev.kind {
            Kind::Mark {
                actor,
                event,
                expires_at,
            } => {
                let g = cx.t.member_group(actor);
                self.groups[g].marks.insert(event, (ev.at, expires_at));
                self.groups[g].applied.remove(&actor);
            }
            Kind::StoreUnavailable { actor, event } => {
                let g = cx.t.member_group(actor);
                let st = &mut self.groups[g];
                if st.applied.get(&actor) == Some(&event) {
                    st.applied.remove(&actor);
                    st.unmarked.insert(event, ev.at);
                } else if cx.sc.groups[g]
                    .idempotency
                    .as_ref()
                    .is_some_and(|i| i.on_unavailable == StoreUnavailable::ApplyAnyway)
                {
                    st.unchecked.insert(event, (ev.at, actor));
                }
            }
            Kind::Effect {
                actor,
                part,
                offset,
                event,
            } => {
                let g = cx.t.member_group(actor);
                self.groups[g].applied.insert(actor, event);
                let n = cx.f.groups[g].effects[event.ix()];
                if n < 2 {
                    return;
                }
                let apps = self.groups[g].reapplied.entry(event).or_insert_with(|| {
                    let (first, at) = cx.f.groups[g].first_done[event.ix()];
                    vec![(at, first)]
                });
                apps.push((ev.at, actor));
                found.count_group(g, Counter::DuplicateEffects, 1);
                let cause = self.cause(cx, g, ev.at, actor, event, (part, offset, u.reprocessed));
                found.group_anomaly(
                    AnomalyKind::DuplicateEffect,
                    g,
                    ev.at,
                    Some(part),
                    Some(offset),
                    Some(event),
                    cause,
                );
            }
            _ => {}
        }
    }
}

impl DuplicateEffects {
    #[allow(clippy::too_many_arguments)]
    fn cause(
        &self,
        cx: &Context,
        g: usize,
        at: Time,
        actor: ActorId,
        event: EventIx,
        (part, offset, reprocessed): (PartId, Offset, bool),
    ) -> (String, Vec<Link>) {
        let st = &self.groups[g];
        let (first, first_at) = cx.f.groups[g].first_done[event.ix()];
        let id = cx.t.event_id(event);
        let key =
            cx.t.key_of(event)
                .map_or(String::new(), |k| format!(" ({k})"));
        let group = &cx.sc.groups[g];
        let times = match cx.f.groups[g].effects[event.ix()] {
            2 => "twice".to_string(),
            n => format!("{n} times"),
        };
        let pn = cx.t.part_name(part);
        // The first application, then what the store did (its links go first, so that at
        // one ms a mark comes before the crash that followed it), then how the record came
        // back (`back`), and the effect, which says how it was delivered.
        let mut chain = vec![Link::new(
            first_at,
            format!("{} applied eventId {id}{key}", cx.name(first)),
        )];
        let mut back = Vec::new();
        let head = format!(
            "eventId {id}{key} applied {times} by {}: first by {} at t={first_at}ms, again by {} at t={at}ms ({pn}@{offset})",
            group.name,
            cx.name(first),
            cx.name(actor),
        );
        // How the eventId came back: the same log record delivered again, or another copy.
        let came_back = if reprocessed {
            // Why it came back: a seek back over it (a replay), or the first member's
            // crash, when one followed its effect.
            let replay = cx.f.groups[g].replay(part, actor, offset, (first_at, at));
            let why = match (replay, cx.f.fates[first.ix()].crash_since(first_at)) {
                (Some((t, from, to, _, how)), _) => {
                    let sought = format!(
                        "{} sought {pn} back from {from} to {to} (to: {})",
                        cx.name(actor),
                        how.spelled()
                    );
                    back.push(Link::new(t, format!("{sought}: a replay")));
                    format!(" in a replay: {sought} at t={t}ms")
                }
                (None, Some(c @ Crash { at: t, point, .. })) => {
                    back.push(cx.crash_link(first, &c));
                    format!(
                        " after {} crashed at t={t}ms{}, before committing past it",
                        cx.name(first),
                        point.map_or(String::new(), |p| format!(" (at {})", p.name()))
                    )
                }
                _ => String::new(),
            };
            back.push(Link::effect(
                at,
                format!(
                    "{} applied eventId {id} again, from {pn}@{offset}, which was delivered again{}: a duplicate effect",
                    cx.name(actor),
                    if why.starts_with(" in a replay") { " in the replay" } else if why.is_empty() { "" } else { " after the crash, before a commit past it" }
                ),
            ));
            format!("{pn}@{offset} was delivered again{why}")
        } else {
            let why = cx.f.why_copy(cx.t, event, part, offset);
            back.push(Link::effect(
                at,
                format!(
                    "{} applied eventId {id} again, from {pn}@{offset}, another copy of it in the log ({why}): a duplicate effect",
                    cx.name(actor)
                ),
            ));
            if cx.f.first_append[event.ix()] == (part, offset) {
                format!(
                    "{pn}@{offset}, the first of its copies in the log, was processed after a later copy ({why}), not a redelivery"
                )
            } else {
                format!("{pn}@{offset} is another copy of it in the log ({why}), not a redelivery")
            }
        };
        let Some(idem) = &group.idempotency else {
            chain.push(Link::new(
                at,
                format!(
                    "{} keeps no processed-id store, so nothing recognised eventId {id}",
                    group.name
                ),
            ));
            let cause = format!(
                "{head}: {came_back}, and the group keeps no processed-id store to recognise it"
            );
            chain.append(&mut back);
            return (cause, chain);
        };
        if let Some(&(t, _)) = st
            .unchecked
            .get(&event)
            .filter(|&&(t, who)| who == actor && t > first_at && t <= at)
        {
            chain.push(Link::new(
                t,
                format!(
                    "the processed-id store was unreachable when {} checked eventId {id}, and on_store_unavailable=apply-anyway applied it without the check",
                    cx.name(actor)
                ),
            ));
            let cause = format!(
                "{head}: {came_back}; the processed-id store was unreachable when {} checked it at t={t}ms, and on_store_unavailable=apply-anyway applied it without the check",
                cx.name(actor)
            );
            chain.append(&mut back);
            return (cause, chain);
        }
        if let Some(&(marked, expires)) = st.marks.get(&event) {
            if let Some(expires) = expires.filter(|&e| e <= at) {
                let ttl = idem.ttl_ms.unwrap_or(0);
                chain.push(Link::new(
                    marked,
                    format!("eventId {id} was marked processed, for {ttl} ms (its TTL)"),
                ));
                chain.push(Link::new(
                    expires,
                    format!("the processed-id of eventId {id} expired"),
                ));
                let cause = format!(
                    "{head}: {came_back}; its processed-id had expired at t={expires}ms ({ttl} ms TTL), before it was processed again at t={at}ms"
                );
                chain.append(&mut back);
                return (cause, chain);
            }
            chain.push(Link::new(
                marked,
                format!("eventId {id} was marked processed, but the mark was not seen"),
            ));
            let cause = format!("{head}: {came_back}; it was marked, but the mark was not seen");
            chain.append(&mut back);
            return (cause, chain);
        }
        if let Some(&t) = st.unmarked.get(&event) {
            chain.push(Link::new(
                t,
                format!(
                    "the processed-id store was unreachable when the mark of eventId {id} was written, so the id was never marked"
                ),
            ));
            let cause = format!(
                "{head}: {came_back}; the processed-id store was unreachable when the mark was written at t={t}ms, so the id was never marked"
            );
            chain.append(&mut back);
            return (cause, chain);
        }
        let cause = match cx.f.fates[first.ix()].crash_since(first_at) {
            Some(
                c @ Crash {
                    at: t,
                    point: Some(p),
                    ..
                },
            ) => {
                chain.push(cx.crash_link(first, &c));
                chain.push(Link::new(
                    t,
                    format!("the crash came after the effect and before the mark, so eventId {id} was never marked"),
                ));
                format!(
                    "{head}: the id was never marked: {} crashed at t={t}ms at {}, after the effect and before the mark",
                    cx.name(first),
                    p.name()
                )
            }
            _ => {
                chain.push(Link::new(
                    at,
                    format!("eventId {id} was never marked processed"),
                ));
                format!("{head}: the id was never marked processed")
            }
        };
        chain.append(&mut back);
        (cause, chain)
    }
}
