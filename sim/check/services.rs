//! Services: committed orders whose event never reached the log, eventIds published more
//! than once, and orders whose effect a subscribed group never applied or applied twice.
//! State: each service's committed orders (time, event) and the relays that published
//! each event; judged when the run ends.

use super::{Anomaly, AnomalyKind, Context, Findings, Property};
use crate::check::facts::{Facts, Update};
use crate::counters::Counter;
use crate::engine::Time;
use crate::scenario::{CrashPoint, Publish, ServiceSpec};
use crate::trace::{Actor, ActorId, EventIx, Kind, PartId, TraceEvent};
use std::collections::BTreeMap;

pub struct Services {
    /// Per service: (commit time, event) of each committed order.
    orders: Vec<Vec<(Time, EventIx)>>,
    /// The relays that published each event.
    publishers: BTreeMap<EventIx, Vec<ActorId>>,
}

impl Services {
    pub fn new(services: usize) -> Self {
        Services {
            orders: vec![Vec::new(); services],
            publishers: BTreeMap::new(),
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
            Kind::RelayPublish { actor, event } => {
                self.publishers.entry(event).or_default().push(actor)
            }
            _ => {}
        }
    }

    fn finish(&mut self, cx: &Context, _: Time, found: &mut Findings) {
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
                    let why = unpublished_cause(cx, spec, s, event, at);
                    let cause = format!(
                        "order {key} ({id}) committed by {} at t={at}ms but its event never reached the log: {why}",
                        spec.name
                    );
                    push(
                        cx,
                        found,
                        AnomalyKind::CommittedWithoutEvent,
                        &spec.name,
                        at,
                        event,
                        cause,
                    );
                    continue;
                }
                if appends > 1 {
                    found.services[s].add(Counter::PublishedDuplicates, u64::from(appends - 1));
                    let who = self
                        .publishers
                        .get(&event)
                        .map_or(&[][..], |v| v.as_slice());
                    let why = republish_cause(cx, who);
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
                        event,
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
                        event,
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
    event: EventIx,
    cause: String,
) {
    let (p, o) = cx.f.first_append[event.ix()];
    found.anomalies.push(Anomaly {
        kind,
        scope: scope.to_string(),
        at,
        part: (p != PartId::NONE).then_some(p),
        offset: (p != PartId::NONE).then_some(o),
        event: Some(event),
        cause,
    });
}

fn unpublished_cause(
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
    if let Some((t, Some(CrashPoint::AfterDbCommit))) = cx.f.fates[actor].crash {
        if t == at {
            return format!(
                "{} crashed at t={t}ms right after the database commit, before sending (a dual write has no second chance)",
                spec.name
            );
        }
    }
    if let Some(failed) = cx.f.failed.get(&event) {
        return format!(
            "the send failed at t={failed}ms after delivery.timeout.ms ({} ms) with Kafka unreachable",
            spec.producer.delivery_timeout_ms
        );
    }
    match spec.publish {
        Publish::Outbox => "its outbox row was still PENDING when the run ended".to_string(),
        Publish::DualWrite => "the send was lost with the service's process".to_string(),
    }
}

fn republish_cause(cx: &Context, publishers: &[ActorId]) -> String {
    let crashed = publishers.iter().find(|a| {
        matches!(
            cx.f.fates[a.ix()].crash,
            Some((_, Some(CrashPoint::AfterPublishBeforeMark)))
        )
    });
    if let Some(&a) = crashed {
        let (t, _) = cx.f.fates[a.ix()].crash.expect("found");
        return format!(
            "{} crashed at t={t}ms after publishing it and before marking it PUBLISHED, so the row was published again",
            cx.name(a)
        );
    }
    if publishers.len() > 1 {
        return "more than one relay read the row while it was PENDING".to_string();
    }
    "the producer retried after a lost acknowledgement (without enable.idempotence the broker appends it again)"
        .to_string()
}
