//! Services: committed orders whose event is not in the log at the end, eventIds published more
//! than once, and orders whose effect a subscribed group never applied or applied twice.
//! State: each service's committed orders (time, event) and the relays that published
//! each event; judged when the run ends.

use super::{Anomaly, AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::{Crash, Facts, Update};
use crate::counters::Counter;
use crate::engine::Time;
use crate::scenario::{Acks, CrashPoint, Publish, ServiceSpec};
use crate::trace::{Actor, ActorId, EventIx, Kind, PartId, TraceEvent};
use std::collections::BTreeMap;

pub struct Services {
    /// Per service: (commit time, event) of each committed order.
    orders: Vec<Vec<(Time, EventIx)>>,
    /// Outbox events: when, and by which relay, the row was first marked PUBLISHED, and
    /// whether the relay had waited for the send's delivery report.
    marked: BTreeMap<EventIx, (Time, ActorId, bool)>,
    /// When each event's latest produce request was dropped by the network.
    dropped: BTreeMap<EventIx, Time>,
    /// When each event's latest produce request was refused by its partition's leader.
    refused: BTreeMap<EventIx, Time>,
}

impl Services {
    pub fn new(services: usize) -> Self {
        Services {
            orders: vec![Vec::new(); services],
            marked: BTreeMap::new(),
            dropped: BTreeMap::new(),
            refused: BTreeMap::new(),
        }
    }
}

impl Property for Services {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, _: &mut Findings) {
        match ev.kind {
            Kind::DbCommit { actor, event, .. } => {
                if let Some(s) = Facts::service_of(cx.t, actor) {
                    self.orders[s].push((ev.at, event));
                }
            }
            Kind::RelayMark {
                actor,
                event,
                waited,
            } => {
                self.marked.entry(event).or_insert((ev.at, actor, waited));
            }
            Kind::RequestDropped { event, .. } => {
                self.dropped.insert(event, ev.at);
            }
            Kind::Rejected { event, .. } => {
                self.refused.insert(event, ev.at);
            }
            _ => {}
        }
    }

    fn finish(&mut self, cx: &Context, end: Time, found: &mut Findings) {
        for (s, spec) in cx.sc.services.iter().enumerate() {
            let consumers: Vec<usize> = (0..cx.sc.groups.len())
                .filter(|&g| cx.sc.groups[g].topics.contains(&spec.topic))
                .collect();
            for &(at, event) in &self.orders[s] {
                found.services[s].bump(Counter::OrdersCommitted);
                let e = event.ix();
                let id = cx.t.event_id(event);
                let key = cx.t.key_of(event).unwrap_or("no key").to_string();
                let appends = cx.f.appends[e];
                if appends == 0 {
                    found.services[s].bump(Counter::CommittedWithoutEvent);
                    let why = self.unpublished_cause(cx, spec, s, event, at);
                    // It may have reached the log and been taken out again.
                    let cause = match cx.f.truncated_away.get(&event) {
                        Some(&(t, p, o)) => format!(
                            "order {key} ({id}) committed by {} at t={at}ms but its event is not in the log: it was at {}@{o} until a new leader that lacked it truncated the log at t={t}ms; {why}",
                            spec.name,
                            cx.t.part_name(p)
                        ),
                        None => format!(
                            "order {key} ({id}) committed by {} at t={at}ms but its event never reached the log: {why}",
                            spec.name
                        ),
                    };
                    push(
                        cx,
                        found,
                        AnomalyKind::CommittedWithoutEvent,
                        &spec.name,
                        at,
                        (event, end),
                        cause,
                    );
                    continue;
                }
                if appends > 1 {
                    found.services[s].add(Counter::PublishedDuplicates, u64::from(appends - 1));
                    let why = cx.f.why_copies(cx.t, event);
                    let (p, o) = cx.f.first_append[e];
                    let cause = format!(
                        "{id} ({key}) is in the log {appends} times (first at {}@{o}): {why}",
                        cx.t.part_name(p)
                    );
                    push(
                        cx,
                        found,
                        AnomalyKind::PublishedDuplicate,
                        &spec.name,
                        at,
                        (event, end),
                        cause,
                    );
                }
                let applied: Vec<u32> = consumers
                    .iter()
                    .map(|&g| cx.f.groups[g].effects[e])
                    .collect();
                if applied.contains(&0) {
                    found.services[s].bump(Counter::OrdersNotApplied);
                    let never: Vec<&str> = consumers
                        .iter()
                        .zip(&applied)
                        .filter(|(_, n)| **n == 0)
                        .map(|(g, _)| cx.sc.groups[*g].name.as_str())
                        .collect();
                    let cause = format!(
                        "order {key} ({id}) was published but its effect was never applied by {}",
                        never.join(", ")
                    );
                    push(
                        cx,
                        found,
                        AnomalyKind::NotApplied,
                        &spec.name,
                        at,
                        (event, end),
                        cause,
                    );
                }
                if applied.iter().any(|&n| n > 1) {
                    found.services[s].bump(Counter::OrdersAppliedTwice);
                }
            }
        }
    }
}

fn push(
    cx: &Context,
    found: &mut Findings,
    kind: AnomalyKind,
    scope: &str,
    at: Time,
    (event, end): (EventIx, Time),
    cause: String,
) {
    let (p, o) = cx.f.first_append[event.ix()];
    // The order's commit, then what the checker found about its event; `at` is the
    // commit itself, so the finding is told at the end of the run.
    let mut chain = vec![cx.origin_link(event), Link::effect(end, cause.clone())];
    // What cut the sender off, when its send was given up: the root of a dual write's loss.
    if kind == AnomalyKind::CommittedWithoutEvent {
        chain.extend(cut_off(cx, event).map(|(l, _)| l));
    }
    found.push(Anomaly {
        kind,
        scope: scope.to_string(),
        at,
        part: (p != PartId::NONE).then_some(p),
        offset: (p != PartId::NONE).then_some(o),
        event: Some(event),
        cause,
        chain,
    });
}

impl Services {
    /// Why a committed order's event never reached the log, from what happened to it.
    fn unpublished_cause(
        &self,
        cx: &Context,
        spec: &ServiceSpec,
        s: usize,
        event: EventIx,
        at: Time,
    ) -> String {
        let actor =
            cx.t.actors
                .iter()
                .position(|(a, _)| *a == Actor::Service(s as u16))
                .expect("every service is an actor");
        if let Some(Crash { at: t, .. }) = cx.f.fates[actor]
            .crash_between(at, at)
            .filter(|c| c.point == Some(CrashPoint::AfterDbCommit))
        {
            return format!(
                "{} crashed at t={t}ms right after the database commit, before sending (a dual write has no second chance)",
                spec.name
            );
        }
        match self.marked.get(&event) {
            Some(&(t, relay, true)) => {
                let dropped = match self.dropped.get(&event) {
                    Some(d) => format!(": its request was dropped at t={d}ms"),
                    None => String::new(),
                };
                format!(
                    "{} marked its outbox row PUBLISHED at t={t}ms without the record reaching the log{dropped}, and acks={} did not wait for the brokers",
                    cx.name(relay),
                    spec.producer.acks.kafka_name()
                )
            }
            Some(&(t, relay, false)) => format!(
                "{} marked its outbox row PUBLISHED at t={t}ms without waiting for the delivery report (relay.mark: without-waiting), so no relay would publish it again, and then {}",
                cx.name(relay),
                self.send_fate(cx, spec, event, true)
            ),
            None => self.send_fate(cx, spec, event, false),
        }
    }

    /// What became of the send of a committed order's event that never reached the log
    /// (`marked`: its outbox row was marked PUBLISHED, so it is not PENDING).
    fn send_fate(&self, cx: &Context, spec: &ServiceSpec, event: EventIx, marked: bool) -> String {
        if let Some(&(t, sender, limit, elapsed_ms)) = cx.f.failed.get(&event) {
            let cut = cut_off(cx, event).map_or(String::new(), |(_, c)| format!("; {c}"));
            return format!(
                "{} gave up on its send at t={t}ms: {}{cut}",
                cx.name(sender),
                crate::report::gave_up(cx.sc, cx.t, sender, limit, elapsed_ms)
            );
        }
        if cx.f.sending[event.ix()] > 0 {
            return if cx.f.retried[event.ix()] != 0 {
                "its send was still being retried, after failed attempts, when the run ended (in_flight_at_end)"
            } else {
                "its send was still in its producer client (waiting to be sent, or for an answer) when the run ended (in_flight_at_end)"
            }
            .to_string();
        }
        let pending = match spec.publish {
            Publish::Outbox if marked => "",
            Publish::Outbox => "; its outbox row was still PENDING when the run ended",
            Publish::DualWrite => "; a dual write has no second chance",
        };
        if let Some(&(t, sender)) = cx.f.abandoned.get(&event) {
            // A request already on its way survives its sender's crash: if the network
            // dropped it afterwards, that drop is what lost the record.
            if let Some(&d) = self.dropped.get(&event).filter(|&&d| d >= t) {
                return format!(
                    "{} crashed at t={t}ms while its send was awaiting an answer, so nothing would retry it, and its request, already on its way, was dropped at t={d}ms{pending}",
                    cx.name(sender)
                );
            }
            return format!(
                "{} crashed at t={t}ms while its send was awaiting an answer, and the send was lost with its process{pending}",
                cx.name(sender)
            );
        }
        if let Some(&d) = self
            .dropped
            .get(&event)
            .filter(|_| spec.producer.acks == Acks::None)
        {
            return format!(
                "its request was dropped at t={d}ms, and acks=0 never resends (unacked_lost)"
            );
        }
        if let Some(&r) = self
            .refused
            .get(&event)
            .filter(|_| spec.producer.acks == Acks::None)
        {
            return format!(
                "its request was refused at t={r}ms (its partition had no live leader, or too small an ISR), and acks=0 never resends (unacked_lost)"
            );
        }
        if cx.f.acks0[event.ix()] {
            return "it was sent with acks=0 and its request was still on its way to the brokers when the run ended (in_flight_at_end)".to_string();
        }
        match spec.publish {
            Publish::Outbox if marked => "no send of it reached the brokers".to_string(),
            Publish::Outbox => "its outbox row was still PENDING when the run ended".to_string(),
            Publish::DualWrite => "no send of it reached the brokers".to_string(),
        }
    }
}

/// The outage that cut off the sender of `event`, a send it gave up, between the event's
/// occurrence and the give-up (`Context::cut_off`).
fn cut_off(cx: &Context, event: EventIx) -> Option<(Link, String)> {
    let &(t, sender, ..) = cx.f.failed.get(&event)?;
    cx.cut_off(sender, cx.t.envelopes[event.ix()].occurred_at, t)
}
