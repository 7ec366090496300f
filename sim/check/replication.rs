//! What replication did to the records: acknowledged records a new leader did not have
//! (`acked_lost`), acks=all writes refused for too small an ISR
//! (`rejected_not_enough_replicas`), and how long partitions had no live leader
//! (`partition_offline_ms`: from the leader's crash until a new one is elected or it
//! returns, or while no replica can lead).
//!
//! State: the current leader of each partition and when each lost its leader, the
//! latest election per partition, and (only when some topic has more than one replica)
//! when and by whom each event was acknowledged, to name both in a loss's cause.

use super::{Anomaly, AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::Update;
use crate::counters::Counter;
use crate::engine::Time;
use crate::trace::{ActorId, Kind, PartId, TraceEvent};

#[derive(Default)]
pub struct Replication {
    /// Per partition: the leader broker (0-based) as the trace last said, and since when
    /// it has had none.
    leader: Vec<Option<u32>>,
    offline_since: Vec<Option<Time>>,
    /// Per partition: the latest election (time, new leader, unclean).
    elected: Vec<Option<(Time, u32, bool)>>,
    /// Per event: when it was acknowledged and to whom (kept only for replicated topics).
    acked: Vec<Option<(Time, ActorId)>>,
    /// Per event: the broker that appended its latest copy.
    appended_by: Vec<u32>,
    /// Per broker: since when it has been cut off from the other brokers (`isolate_broker`).
    cut_since: std::collections::BTreeMap<u32, Time>,
    /// Per broker: since when it has been down (crashed or shut down).
    down_since: std::collections::BTreeMap<u32, Time>,
    /// Events a truncation removed before they were acknowledged, with the truncation's
    /// (time, partition, new log end): an acknowledgement that arrives later (the old
    /// leader answered before it went down) is a loss too.
    truncated_unacked: std::collections::BTreeMap<
        crate::trace::EventIx,
        (Time, PartId, crate::model::log::Offset),
    >,
    started: bool,
}

impl Replication {
    fn start(&mut self, cx: &Context) {
        if self.started {
            return;
        }
        self.started = true;
        self.leader = cx.t.leaders.iter().map(|&b| Some(b)).collect();
        self.offline_since = vec![None; cx.t.leaders.len()];
        self.elected = vec![None; cx.t.leaders.len()];
    }

    fn grow(&mut self, cx: &Context) {
        let n = cx.t.envelopes.len();
        if self.acked.len() < n {
            self.acked.resize(n, None);
            self.appended_by.resize(n, 0);
        }
    }
}

impl Property for Replication {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, found: &mut Findings) {
        self.start(cx);
        match ev.kind {
            Kind::Ack {
                actor,
                event,
                offset: Some(_),
                ..
            } => {
                self.grow(cx);
                self.acked[event.ix()] = Some((ev.at, actor));
                if let Some((t, part, to)) = self.truncated_unacked.remove(&event) {
                    if cx.f.appends[event.ix()] == 0 {
                        found.totals.bump(Counter::AckedLost);
                        let leader = self.elected[part.ix()]
                            .map_or("a new leader".to_string(), |(_, b, _)| {
                                format!("broker-{}", b + 1)
                            });
                        let cause = format!(
                            "{} was acknowledged to {} at t={}ms by an answer broker-{} had sent before it went down, but {leader} had already become leader of {} at t={t}ms without it: the partition's log ends at offset {to}",
                            cx.t.event_id(event),
                            cx.name(actor),
                            ev.at,
                            self.appended_by[event.ix()] + 1,
                            cx.t.part_name(part)
                        );
                        let id = cx.t.event_id(event);
                        let chain = vec![
                            cx.origin_link(event),
                            Link::new(
                                t,
                                format!(
                                    "{leader} became leader of {} without {id}: the log now ends at offset {to}",
                                    cx.t.part_name(part)
                                ),
                            ),
                            Link::effect(
                                ev.at,
                                format!(
                                    "{} got an acknowledgement of {id}, sent by broker-{} before it went down: an acknowledged record that is not in the log",
                                    cx.name(actor),
                                    self.appended_by[event.ix()] + 1
                                ),
                            ),
                        ];
                        found.push(Anomaly {
                            kind: AnomalyKind::AckedLost,
                            scope: cx.name(actor).to_string(),
                            at: ev.at,
                            part: Some(part),
                            offset: None,
                            event: Some(event),
                            cause,
                            chain,
                        });
                    }
                }
            }
            Kind::Append { event, broker, .. } => {
                self.grow(cx);
                self.appended_by[event.ix()] = broker;
                // Appended again (a retry on the new leader): not lost after all.
                self.truncated_unacked.remove(&event);
            }
            Kind::Rejected {
                error: crate::trace::SendError::NotEnoughReplicas,
                ..
            } => {
                found.totals.bump(Counter::RejectedNotEnoughReplicas);
            }
            // A leader that goes down leaves its partitions without a live leader until the
            // controller elects another, or it comes back before being fenced.
            Kind::BrokerDown { broker, .. } => {
                self.down_since.entry(broker).or_insert(ev.at);
                for (p, l) in self.leader.iter().enumerate() {
                    if *l == Some(broker) {
                        self.offline_since[p].get_or_insert(ev.at);
                    }
                }
            }
            Kind::BrokerUp { broker } => {
                self.down_since.remove(&broker);
                for (p, l) in self.leader.iter().enumerate() {
                    if *l == Some(broker) {
                        if let Some(since) = self.offline_since[p].take() {
                            found
                                .totals
                                .add(Counter::PartitionOfflineMs, ev.at.since(since));
                        }
                    }
                }
            }
            Kind::OutageStart {
                what: crate::trace::Outage::BrokerCut(b),
                ..
            } => {
                self.cut_since.entry(b).or_insert(ev.at);
            }
            Kind::OutageEnd {
                what: crate::trace::Outage::BrokerCut(b),
            } => {
                self.cut_since.remove(&b);
            }
            Kind::LeaderChange {
                part,
                leader,
                unclean,
                ..
            } => {
                let p = part.ix();
                match leader {
                    None => {
                        self.offline_since[p].get_or_insert(ev.at);
                    }
                    Some(b) => {
                        if let Some(since) = self.offline_since[p].take() {
                            found
                                .totals
                                .add(Counter::PartitionOfflineMs, ev.at.since(since));
                        }
                        self.elected[p] = Some((ev.at, b, unclean));
                    }
                }
                self.leader[p] = leader;
            }
            Kind::LogTruncated { part, to } => {
                self.grow(cx);
                for &event in &cx.f.truncated {
                    if cx.f.appends[event.ix()] > 0 {
                        continue;
                    }
                    let Some((acked_at, sender)) = self.acked[event.ix()] else {
                        self.truncated_unacked.insert(event, (ev.at, part, to));
                        continue;
                    };
                    found.totals.bump(Counter::AckedLost);
                    let (cause, chain) =
                        loss_cause(cx, self, part, to, event, acked_at, sender, ev.at);
                    found.push(Anomaly {
                        kind: AnomalyKind::AckedLost,
                        scope: cx.name(sender).to_string(),
                        at: ev.at,
                        part: Some(part),
                        offset: None,
                        event: Some(event),
                        cause,
                        chain,
                    });
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, _: &Context, end: Time, found: &mut Findings) {
        for since in self.offline_since.iter().flatten() {
            found
                .totals
                .add(Counter::PartitionOfflineMs, end.since(*since));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn loss_cause(
    cx: &Context,
    r: &Replication,
    part: PartId,
    to: crate::model::log::Offset,
    event: crate::trace::EventIx,
    acked_at: Time,
    sender: ActorId,
    at: Time,
) -> (String, Vec<Link>) {
    let id = cx.t.event_id(event);
    let pn = cx.t.part_name(part);
    let mut chain = vec![cx.origin_link(event)];
    let acks = match cx.t.actors[sender.ix()].0 {
        crate::trace::Actor::Producer(p) => cx.sc.producers[p as usize].config.acks,
        crate::trace::Actor::Service(s) | crate::trace::Actor::Relay { service: s, .. } => {
            cx.sc.services[s as usize].producer.acks
        }
        crate::trace::Actor::Member { .. } => unreachable!("members do not produce"),
    };
    let appender = r.appended_by[event.ix()];
    chain.push(Link::new(
        acked_at,
        format!(
            "{} got {id} acknowledged (acks={}) after broker-{} appended it",
            cx.name(sender),
            acks.kafka_name(),
            appender + 1
        ),
    ));
    let (leader, why) = match r.elected[part.ix()] {
        Some((_, b, true)) => (
            format!("broker-{}", b + 1),
            "an out-of-sync replica elected because unclean.leader.election.enable allowed it"
                .to_string(),
        ),
        Some((_, b, false)) => {
            // Whichever ended the appender's leadership first: the cut or its going down.
            let down = r.down_since.get(&appender);
            let cut = r
                .cut_since
                .get(&appender)
                .filter(|&&cut| down.is_none_or(|&down| cut < down));
            let why = match cut {
                Some(&t) => {
                    chain.push(Link::new(
                        t,
                        format!(
                            "broker-{} was cut off from its followers and the controller, and went on leading until it was fenced",
                            appender + 1
                        ),
                    ));
                    format!(
                    "broker-{} had been cut off from its followers and the controller since t={t}ms, so they could not copy it, and it went on leading until it was fenced",
                    appender + 1
                )
                }
                None => {
                    if let Some(&t) = down {
                        chain.push(Link::new(t, format!("broker-{} went down", appender + 1)));
                    }
                    "its followers had not copied it before its leader went down".to_string()
                }
            };
            (format!("broker-{}", b + 1), why)
        }
        None => (
            "a new leader".to_string(),
            "the new leader lacked it".to_string(),
        ),
    };
    chain.push(Link::effect(
        at,
        format!(
            "{leader} became leader of {pn} without {id} ({why}): the log now ends at offset {to}, and the acknowledged {id} is lost"
        ),
    ));
    let cause = format!(
        "{id} was acknowledged to {} at t={acked_at}ms (acks={}) after broker-{} appended it, and lost at t={at}ms when {leader} became leader of {pn} without it ({why}): the partition's log now ends at offset {to}",
        cx.name(sender),
        acks.kafka_name(),
        r.appended_by[event.ix()] + 1,
    );
    (cause, chain)
}
