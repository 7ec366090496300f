//! The checker: named properties judged over the trace, each anomaly with its cause.
//!
//! It reads only the trace and the run's final offsets, never the model's state, so it
//! judges what happened rather than what the model believes. Per consumer group: duplicate
//! deliveries, duplicate effects, lost records, per-key order violations, skipped offsets.
//! Per service: committed orders never published, eventIds published more than once, and
//! whether every order's effect was applied exactly once downstream.

use crate::counters::{Counter, Counts};
use crate::model::RunResult;
use crate::scenario::{CrashPoint, Expectation, Scenario};
use crate::trace::{Actor, ActorId, EventIx, Kind, PartId, Trace};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AnomalyKind {
    DuplicateDelivery,
    DuplicateEffect,
    Lost,
    KeyOrderViolation,
    SkippedOffset,
    CommittedWithoutEvent,
    PublishedDuplicate,
    NotApplied,
}

impl AnomalyKind {
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::DuplicateDelivery => "duplicate_delivery",
            AnomalyKind::DuplicateEffect => "duplicate_effect",
            AnomalyKind::Lost => "lost",
            AnomalyKind::KeyOrderViolation => "key_order_violation",
            AnomalyKind::SkippedOffset => "skipped_offset",
            AnomalyKind::CommittedWithoutEvent => "committed_without_event",
            AnomalyKind::PublishedDuplicate => "published_duplicate",
            AnomalyKind::NotApplied => "not_applied",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// The consumer group or service it belongs to.
    pub scope: String,
    pub at: u64,
    pub part: Option<PartId>,
    pub offset: Option<u64>,
    pub event: Option<EventIx>,
    pub cause: String,
}

#[derive(Clone, Debug)]
pub struct GroupVerdict {
    pub name: String,
    pub counts: Counts,
    /// (partition, committed offset) for each of the group's partitions.
    pub committed: Vec<(PartId, Option<u64>)>,
}

#[derive(Clone, Debug)]
pub struct ServiceVerdict {
    pub name: String,
    pub counts: Counts,
}

#[derive(Clone, Debug)]
pub struct ExpectationResult {
    pub expectation: Expectation,
    pub actual: u64,
    pub holds: bool,
}

impl ExpectationResult {
    /// `lost expected 0 got 3`: how a failed expectation is reported.
    pub fn describe(&self) -> String {
        format!(
            "{} expected {} got {}",
            self.expectation.counter.name(),
            self.expectation.condition,
            self.actual
        )
    }
}

#[derive(Clone, Debug)]
pub struct Verdict {
    pub totals: Counts,
    pub groups: Vec<GroupVerdict>,
    pub services: Vec<ServiceVerdict>,
    pub anomalies: Vec<Anomaly>,
    pub expectations: Vec<ExpectationResult>,
    pub pass: bool,
}

const NONE: u32 = u32::MAX;

/// What became of an actor: the facts a cause sentence is made of.
#[derive(Clone, Copy, Default)]
struct Fate {
    crash: Option<(u64, Option<CrashPoint>)>,
    revoked: Option<u64>,
    left: Option<u64>,
}

/// One group's running state while the trace is read.
struct GroupState {
    /// Per partition, per offset: the member that last had it delivered (NONE: never).
    last_deliverer: Vec<Vec<u32>>,
    processed: Vec<Vec<bool>>,
    /// Per event: how many times the effect was applied, and the first applier and time.
    effects: Vec<u32>,
    first_done: Vec<(u32, u64)>,
    /// Per key: the highest event index first processed so far.
    key_high: Vec<u32>,
    committed: Vec<Option<u64>>,
    commits: Vec<Vec<(u64, u64, ActorId)>>,
    start: Vec<Option<u64>>,
    marks: BTreeMap<EventIx, (u64, u64)>,
    unmarked: BTreeMap<EventIx, u64>,
    /// (actor, partition) → last delivered offset in the current assignment.
    cursor: BTreeMap<(ActorId, PartId), u64>,
    counts: Counts,
}

struct Checker<'a> {
    sc: &'a Scenario,
    t: &'a Trace,
    run: &'a RunResult,
    groups: Vec<GroupState>,
    fates: Vec<Fate>,
    first_append: Vec<(PartId, u64)>,
    appends: Vec<u32>,
    acked: Vec<bool>,
    failed: Vec<u64>,
    anomalies: Vec<Anomaly>,
    totals: Counts,
    /// Per service: (commit time, event) of each committed order.
    orders: Vec<Vec<(u64, EventIx)>>,
    /// The relays that published each event.
    publishers: BTreeMap<EventIx, Vec<ActorId>>,
}

pub fn check(sc: &Scenario, run: &RunResult) -> Verdict {
    let t = &run.trace;
    let events = t.envelopes.len();
    let parts = t.partitions.len();
    let groups = (0..sc.groups.len())
        .map(|_| GroupState {
            last_deliverer: run.logs.iter().map(|l| vec![NONE; l.len()]).collect(),
            processed: run.logs.iter().map(|l| vec![false; l.len()]).collect(),
            effects: vec![0; events],
            first_done: vec![(NONE, 0); events],
            key_high: vec![NONE; t.keys.len()],
            committed: vec![None; parts],
            commits: vec![Vec::new(); parts],
            start: vec![None; parts],
            marks: BTreeMap::new(),
            unmarked: BTreeMap::new(),
            cursor: BTreeMap::new(),
            counts: Counts::default(),
        })
        .collect();
    let mut c = Checker {
        sc,
        t,
        run,
        groups,
        fates: vec![Fate::default(); t.actors.len()],
        first_append: vec![(NONE, 0); events],
        appends: vec![0; events],
        acked: vec![false; events],
        failed: vec![u64::MAX; events],
        anomalies: Vec::new(),
        totals: Counts::default(),
        orders: vec![Vec::new(); sc.services.len()],
        publishers: BTreeMap::new(),
    };
    for ev in &t.events {
        c.event(ev.at, ev.kind);
    }
    c.finish()
}

impl Checker<'_> {
    fn group_of(&self, actor: ActorId) -> usize {
        self.t.member_group(actor)
    }

    fn name(&self, a: ActorId) -> &str {
        self.t.actor_name(a)
    }

    fn event(&mut self, at: u64, kind: Kind) {
        match kind {
            Kind::Send { .. } => self.totals.bump(Counter::Produced),
            Kind::Ack { event, .. } => {
                self.totals.bump(Counter::Acked);
                self.acked[event as usize] = true;
            }
            Kind::SendFailed { event, .. } => self.failed[event as usize] = at,
            Kind::Append {
                event,
                part,
                offset,
            } => {
                self.totals.bump(Counter::Appended);
                let e = event as usize;
                if self.appends[e] == 0 {
                    self.first_append[e] = (part, offset);
                }
                self.appends[e] += 1;
            }
            Kind::Generation {
                group, assignment, ..
            } => {
                let g = &mut self.groups[group as usize];
                g.counts.bump(Counter::Rebalances);
                let idle = self.t.assignments[assignment as usize]
                    .iter()
                    .filter(|s| s.parts.is_empty())
                    .count();
                g.counts.add(Counter::IdleMembers, idle as u64);
            }
            Kind::OffsetReset {
                actor,
                part,
                offset,
            } => {
                let g = self.group_of(actor);
                let st = &mut self.groups[g];
                st.start[part as usize].get_or_insert(offset);
                st.cursor.remove(&(actor, part));
            }
            Kind::Resume { actor, part, .. } => {
                let g = self.group_of(actor);
                self.groups[g].cursor.remove(&(actor, part));
            }
            Kind::Revoke { actor } => {
                self.fates[actor as usize].revoked = Some(at);
                let g = self.group_of(actor);
                self.groups[g].cursor.retain(|(a, _), _| *a != actor);
            }
            Kind::Crash { actor, point } => self.fates[actor as usize].crash = Some((at, point)),
            Kind::DbCommit { actor, event, .. } => {
                if let Actor::Service(s) = self.t.actors[actor as usize].0 {
                    self.orders[s as usize].push((at, event));
                }
            }
            Kind::RelayPublish { actor, event } => {
                self.publishers.entry(event).or_default().push(actor)
            }
            Kind::Leave { actor } => self.fates[actor as usize].left = Some(at),
            Kind::Deliver {
                actor,
                part,
                offset,
                ..
            } => self.deliver(at, actor, part, offset),
            Kind::Effect {
                actor,
                part,
                offset,
                event,
            } => self.effect(at, actor, part, offset, event, false),
            Kind::Absorbed {
                actor,
                part,
                offset,
                event,
            } => self.effect(at, actor, part, offset, event, true),
            Kind::Mark {
                actor,
                event,
                expires_at,
            } => {
                let g = self.group_of(actor);
                self.groups[g].marks.insert(event, (at, expires_at));
            }
            Kind::StoreUnavailable { actor, event } => {
                let g = self.group_of(actor);
                self.groups[g].unmarked.insert(event, at);
            }
            Kind::Committed {
                group,
                part,
                offset,
                actor,
            } => {
                let st = &mut self.groups[group as usize];
                st.committed[part as usize] = Some(offset);
                st.commits[part as usize].push((at, offset, actor));
            }
            _ => {}
        }
    }

    fn deliver(&mut self, at: u64, actor: ActorId, part: PartId, offset: u64) {
        let g = self.group_of(actor);
        self.groups[g].counts.bump(Counter::Delivered);
        let prev = self.groups[g].last_deliverer[part as usize][offset as usize];
        self.groups[g].last_deliverer[part as usize][offset as usize] = actor;
        if let Some(last) = self.groups[g].cursor.insert((actor, part), offset) {
            if offset > last + 1 {
                self.groups[g]
                    .counts
                    .add(Counter::SkippedOffsets, offset - last - 1);
                let cause = format!(
                    "{} jumped from {}@{} to {}@{} within one assignment",
                    self.name(actor),
                    self.t.part_name(part),
                    last,
                    self.t.part_name(part),
                    offset
                );
                self.anomaly(
                    AnomalyKind::SkippedOffset,
                    g,
                    at,
                    Some(part),
                    Some(offset),
                    None,
                    cause,
                );
            }
        }
        if prev == NONE {
            return;
        }
        self.groups[g].counts.bump(Counter::DuplicateDeliveries);
        let cause = self.redelivery_cause(g, at, actor, prev, part, offset);
        let event = self.run.trace_event_at(part, offset);
        self.anomaly(
            AnomalyKind::DuplicateDelivery,
            g,
            at,
            Some(part),
            Some(offset),
            event,
            cause,
        );
    }

    /// "p0@4 delivered again to payment-service-2 at t=6120ms: payment-service-1 crashed …"
    fn redelivery_cause(
        &self,
        g: usize,
        at: u64,
        actor: ActorId,
        prev: ActorId,
        part: PartId,
        offset: u64,
    ) -> String {
        let st = &self.groups[g];
        let pn = self.t.part_name(part);
        let done = if st.processed[part as usize][offset as usize] {
            "after processing it"
        } else {
            "before processing it"
        };
        let fate = self.fates[prev as usize];
        let what = if let Some((t, point)) = fate.crash {
            let point = point.map_or(String::new(), |p| format!(" at {}", p.name()));
            format!(
                "{} crashed at t={t}ms{point}, {done} and before committing past it",
                self.name(prev)
            )
        } else if let Some(t) = fate.left {
            format!(
                "{} left the group at t={t}ms {done}, before committing past it",
                self.name(prev)
            )
        } else if let Some(t) = fate.revoked {
            format!(
                "{} gave it up in a rebalance at t={t}ms, {done}, before a commit covered it",
                self.name(prev)
            )
        } else {
            format!(
                "{} had it delivered before and the committed offset stayed behind it",
                self.name(prev)
            )
        };
        let commit = match st.committed[part as usize] {
            Some(c) => format!("last commit for {pn} was {c}"),
            None => {
                format!("{pn} had no committed offset, so auto.offset.reset chose where to start")
            }
        };
        format!(
            "{pn}@{offset} delivered again to {} at t={at}ms: {what}; {commit}",
            self.name(actor)
        )
    }

    fn effect(
        &mut self,
        at: u64,
        actor: ActorId,
        part: PartId,
        offset: u64,
        event: EventIx,
        absorbed: bool,
    ) {
        let g = self.group_of(actor);
        self.groups[g].counts.bump(Counter::Processed);
        let e = event as usize;
        let st = &mut self.groups[g];
        st.processed[part as usize][offset as usize] = true;
        if absorbed {
            st.counts.bump(Counter::DuplicatesAbsorbed);
        } else {
            st.effects[e] += 1;
        }
        if st.first_done[e].0 == NONE {
            st.first_done[e] = (actor, at);
            self.first_processing(g, at, actor, event);
        } else if !absorbed && st.effects[e] > 1 {
            st.counts.bump(Counter::DuplicateEffects);
            let cause = self.duplicate_effect_cause(g, at, actor, event, part, offset);
            self.anomaly(
                AnomalyKind::DuplicateEffect,
                g,
                at,
                Some(part),
                Some(offset),
                Some(event),
                cause,
            );
        }
    }

    fn first_processing(&mut self, g: usize, at: u64, actor: ActorId, event: EventIx) {
        let key = self.t.envelopes[event as usize].key;
        if key == crate::trace::NO_KEY {
            return;
        }
        let st = &mut self.groups[g];
        let high = st.key_high[key as usize];
        if high == NONE || event > high {
            st.key_high[key as usize] = event;
            return;
        }
        st.counts.bump(Counter::KeyOrderViolations);
        let (ep, eo) = self.first_append[event as usize];
        let (hp, ho) = self.first_append[high as usize];
        let why = if ep == hp && eo > ho {
            format!(
                "the log holds them out of production order ({}@{eo} after {}@{ho}): a retried or republished send landed later",
                self.t.part_name(ep),
                self.t.part_name(hp)
            )
        } else if ep != hp {
            "they sit on different partitions".to_string()
        } else {
            "it was redelivered after the later event had been processed".to_string()
        };
        let cause = format!(
            "{} ({}) first processed by {} at t={at}ms, after {} of the same key, which was produced later: {why}",
            self.t.event_id(event),
            self.t.keys[key as usize],
            self.name(actor),
            self.t.event_id(high)
        );
        self.anomaly(
            AnomalyKind::KeyOrderViolation,
            g,
            at,
            Some(ep),
            Some(eo),
            Some(event),
            cause,
        );
    }

    fn duplicate_effect_cause(
        &self,
        g: usize,
        at: u64,
        actor: ActorId,
        event: EventIx,
        part: PartId,
        offset: u64,
    ) -> String {
        let st = &self.groups[g];
        let (first, first_at) = st.first_done[event as usize];
        let id = self.t.event_id(event);
        let key = self
            .t
            .key_of(event)
            .map_or(String::new(), |k| format!(" ({k})"));
        let head = format!(
            "eventId {id}{key} applied twice by {}: first by {} at t={first_at}ms, again by {} at t={at}ms ({}@{offset})",
            self.sc.groups[g].name,
            self.name(first),
            self.name(actor),
            self.t.part_name(part)
        );
        let Some(idem) = &self.sc.groups[g].idempotency else {
            return format!("{head}: the group keeps no processed-id store, so a redelivery applies the effect again");
        };
        if let Some(&(_, expires)) = st.marks.get(&event) {
            if expires <= at {
                let ttl = idem.ttl_ms.unwrap_or(0);
                return format!(
                    "{head}: its processed-id expired at t={expires}ms, {ttl} ms TTL, before redelivery at t={at}ms"
                );
            }
            return format!("{head}: it was marked, but the mark was not seen");
        }
        if let Some(&t) = st.unmarked.get(&event) {
            return format!(
                "{head}: the store was unreachable at t={t}ms, so the id was never marked"
            );
        }
        match self.fates[first as usize].crash {
            Some((t, Some(p))) => format!(
                "{head}: the id was never marked: {} crashed at t={t}ms at {}, after the effect and before the mark",
                self.name(first),
                p.name()
            ),
            _ => format!("{head}: the id was never marked processed"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn anomaly(
        &mut self,
        kind: AnomalyKind,
        g: usize,
        at: u64,
        part: Option<PartId>,
        offset: Option<u64>,
        event: Option<EventIx>,
        cause: String,
    ) {
        self.anomalies.push(Anomaly {
            kind,
            scope: self.sc.groups[g].name.clone(),
            at,
            part,
            offset,
            event,
            cause,
        });
    }

    fn lost(&mut self) {
        for g in 0..self.groups.len() {
            let reset_earliest = self.sc.groups[g].config.auto_offset_reset
                == crate::scenario::OffsetReset::Earliest;
            for &part in &self.run.group_parts[g] {
                let st = &self.groups[g];
                let start = match st.start[part as usize] {
                    Some(s) => s,
                    None if reset_earliest => 0,
                    None => continue,
                };
                let log = &self.run.logs[part as usize];
                let mut found = Vec::new();
                for (o, &event) in log.iter().enumerate().skip(start as usize) {
                    let o = o as u64;
                    if self.acked[event as usize] && !st.processed[part as usize][o as usize] {
                        found.push((o, event));
                    }
                }
                for (o, event) in found {
                    self.groups[g].counts.bump(Counter::Lost);
                    let cause = self.lost_cause(g, part, o, event);
                    let at = self.run.end_ms;
                    self.anomaly(
                        AnomalyKind::Lost,
                        g,
                        at,
                        Some(part),
                        Some(o),
                        Some(event),
                        cause,
                    );
                }
            }
        }
    }

    fn lost_cause(&self, g: usize, part: PartId, offset: u64, event: EventIx) -> String {
        let st = &self.groups[g];
        let pn = self.t.part_name(part);
        let head = format!(
            "{pn}@{offset} ({}) was acknowledged but {} never processed it",
            self.t.event_id(event),
            self.sc.groups[g].name
        );
        let past = st.commits[part as usize]
            .iter()
            .find(|(_, c, _)| *c > offset);
        match past {
            Some(&(t, c, a)) => {
                let crash = match self.fates[a as usize].crash {
                    Some((ct, p)) if ct >= t => format!(
                        "; {} then crashed at t={ct}ms{}",
                        self.name(a),
                        p.map_or(String::new(), |p| format!(" at {}", p.name()))
                    ),
                    _ => String::new(),
                };
                format!("{head}: {} committed offset {c} at t={t}ms, past it, before processing it{crash}", self.name(a))
            }
            None => format!(
                "{head}: it was still unprocessed when the run ended at t={}ms",
                self.run.end_ms
            ),
        }
    }

    fn services(&mut self) -> Vec<ServiceVerdict> {
        let mut out = Vec::new();
        let orders = std::mem::take(&mut self.orders);
        let publishers = std::mem::take(&mut self.publishers);
        for (s, spec) in self.sc.services.iter().enumerate() {
            let mut counts = Counts::default();
            let consumers: Vec<usize> = (0..self.sc.groups.len())
                .filter(|&g| self.sc.groups[g].topics.contains(&spec.topic))
                .collect();
            for &(at, event) in &orders[s] {
                counts.bump(Counter::OrdersCommitted);
                let e = event as usize;
                let id = self.t.event_id(event);
                let key = self.t.key_of(event).unwrap_or("no key").to_string();
                if self.appends[e] == 0 {
                    counts.bump(Counter::CommittedWithoutEvent);
                    let why = self.unpublished_cause(spec, s, event, at);
                    let cause = format!(
                        "order {key} ({id}) committed by {} at t={at}ms but its event never reached the log: {why}",
                        spec.name
                    );
                    self.push_service(
                        AnomalyKind::CommittedWithoutEvent,
                        &spec.name,
                        at,
                        event,
                        cause,
                    );
                    continue;
                }
                if self.appends[e] > 1 {
                    let extra = u64::from(self.appends[e] - 1);
                    counts.add(Counter::PublishedDuplicates, extra);
                    let who = publishers.get(&event).map(|v| v.as_slice()).unwrap_or(&[]);
                    let why = self.republish_cause(who);
                    let (p, o) = self.first_append[e];
                    let cause = format!(
                        "{id} ({key}) is in the log {} times (first at {}@{o}): {why}",
                        self.appends[e],
                        self.t.part_name(p)
                    );
                    self.push_service(
                        AnomalyKind::PublishedDuplicate,
                        &spec.name,
                        at,
                        event,
                        cause,
                    );
                }
                let applied: Vec<u32> = consumers
                    .iter()
                    .map(|&g| self.groups[g].effects[e])
                    .collect();
                if applied.contains(&0) {
                    counts.bump(Counter::OrdersNotApplied);
                    let cause = format!(
                        "order {key} ({id}) was published but its effect was never applied by {}",
                        consumers
                            .iter()
                            .zip(&applied)
                            .filter(|(_, n)| **n == 0)
                            .map(|(g, _)| self.sc.groups[*g].name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    self.push_service(AnomalyKind::NotApplied, &spec.name, at, event, cause);
                }
                if applied.iter().any(|&n| n > 1) {
                    counts.bump(Counter::OrdersAppliedTwice);
                }
            }
            for c in [
                Counter::OrdersCommitted,
                Counter::CommittedWithoutEvent,
                Counter::PublishedDuplicates,
                Counter::OrdersNotApplied,
                Counter::OrdersAppliedTwice,
            ] {
                self.totals.add(c, counts.get(c));
            }
            out.push(ServiceVerdict {
                name: spec.name.clone(),
                counts,
            });
        }
        out
    }

    fn unpublished_cause(
        &self,
        spec: &crate::scenario::ServiceSpec,
        s: usize,
        event: EventIx,
        at: u64,
    ) -> String {
        let actor = self
            .t
            .actors
            .iter()
            .position(|(a, _)| *a == Actor::Service(s as u16))
            .expect("every service is an actor");
        if let Some((t, Some(CrashPoint::AfterDbCommit))) = self.fates[actor].crash {
            if t == at {
                return format!(
                    "{} crashed at t={t}ms right after the database commit, before sending (a dual write has no second chance)",
                    spec.name
                );
            }
        }
        let failed = self.failed[event as usize];
        if failed != u64::MAX {
            return format!(
                "the send failed at t={failed}ms after delivery.timeout.ms ({} ms) with Kafka unreachable",
                spec.producer.delivery_timeout_ms
            );
        }
        match spec.publish {
            crate::scenario::Publish::Outbox => {
                "its outbox row was still PENDING when the run ended".to_string()
            }
            crate::scenario::Publish::DualWrite => {
                "the send was lost with the service's process".to_string()
            }
        }
    }

    fn republish_cause(&self, publishers: &[ActorId]) -> String {
        let crashed: Vec<&ActorId> = publishers
            .iter()
            .filter(|a| {
                matches!(
                    self.fates[**a as usize].crash,
                    Some((_, Some(CrashPoint::AfterPublishBeforeMark)))
                )
            })
            .collect();
        if let Some(&&a) = crashed.first() {
            let (t, _) = self.fates[a as usize].crash.expect("filtered");
            return format!(
                "{} crashed at t={t}ms after publishing it and before marking it PUBLISHED, so the row was published again",
                self.name(a)
            );
        }
        if publishers.len() > 1 {
            return "more than one relay read the row while it was PENDING".to_string();
        }
        "the producer retried after a lost acknowledgement (without enable.idempotence the broker appends it again)"
            .to_string()
    }

    fn push_service(
        &mut self,
        kind: AnomalyKind,
        scope: &str,
        at: u64,
        event: EventIx,
        cause: String,
    ) {
        let (p, o) = self.first_append[event as usize];
        self.anomalies.push(Anomaly {
            kind,
            scope: scope.to_string(),
            at,
            part: (p != NONE).then_some(p),
            offset: (p != NONE).then_some(o),
            event: Some(event),
            cause,
        });
    }

    fn finish(mut self) -> Verdict {
        self.lost();
        let services = self.services();
        let mut groups = Vec::new();
        for (g, st) in self.groups.iter().enumerate() {
            let counts = st.counts.clone();
            for c in [
                Counter::Delivered,
                Counter::Processed,
                Counter::DuplicateDeliveries,
                Counter::DuplicateEffects,
                Counter::Lost,
                Counter::KeyOrderViolations,
                Counter::SkippedOffsets,
                Counter::Rebalances,
                Counter::IdleMembers,
                Counter::DuplicatesAbsorbed,
            ] {
                self.totals.add(c, counts.get(c));
            }
            let committed = self.run.group_parts[g]
                .iter()
                .map(|&p| (p, self.run.committed[g][p as usize]))
                .collect();
            groups.push(GroupVerdict {
                name: self.sc.groups[g].name.clone(),
                counts,
                committed,
            });
        }
        let expectations: Vec<ExpectationResult> = self
            .sc
            .expect
            .iter()
            .map(|&e| {
                let actual = self.totals.get(e.counter);
                ExpectationResult {
                    expectation: e,
                    actual,
                    holds: e.condition.holds(actual),
                }
            })
            .collect();
        let pass = expectations.iter().all(|e| e.holds);
        self.anomalies.sort_by_key(|a| (a.at, a.kind));
        Verdict {
            totals: self.totals,
            groups,
            services,
            anomalies: self.anomalies,
            expectations,
            pass,
        }
    }
}

impl RunResult {
    /// The event stored at `part`@`offset`, if the log reaches that far.
    pub fn trace_event_at(&self, part: PartId, offset: u64) -> Option<EventIx> {
        self.logs.get(part as usize)?.get(offset as usize).copied()
    }
}
