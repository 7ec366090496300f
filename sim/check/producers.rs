//! Sends that never made it: a producer, service or relay that gave up (`send_failed`,
//! with the limit that ended it), and acks=0 sends whose only request the network dropped
//! (`unacked_lost`: the producer counted them as sent and never learns), and sends the run
//! stopped in the middle of (`in_flight_at_end`). State: which
//! events were sent with acks=0 (a bit per event), and the first drop of each event.

use super::{Anomaly, AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::Update;
use crate::counters::Counter;
use crate::engine::Time;
use crate::trace::{Actor, ActorId, EventIx, GaveUp, Kind, Outage, PartId, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub struct Producers {
    /// Events with acks=0 whose request was dropped: (time, sender, partition, why).
    dropped: BTreeMap<EventIx, (Time, ActorId, PartId, &'static str)>,
    /// Open Kafka outage windows, and the actors cut off by isolation, as the outage
    /// records tell it: what a dropped request's cause names.
    kafka_down: bool,
    /// A `messages: produce, drop: true` window is open.
    produce_dropping: bool,
    isolated: BTreeSet<ActorId>,
    /// Sends given up, in order: judged when the run ends, when the log shows whether
    /// the record got there anyway.
    failed: Vec<Failed>,
    /// Per event, the latest give-up still waiting to see whether the record lands later.
    /// Dense by event (a map costs ten times the memory when millions of sends fail):
    /// 1 + the index in `failed`, or 0.
    watching: Vec<u32>,
    watched: usize,
}

struct Failed {
    /// Where the record already was in the log when the client gave up, as the history
    /// said at that moment (an earlier attempt, or another sender, got it there). Kept
    /// from that moment: a later truncation can take the record out of the log again.
    appended_before: Option<(PartId, crate::model::log::Offset)>,
    /// Whether one of this send's own attempts had put it in the log (its answer was
    /// late or lost), rather than another sender's publish.
    own_landed: bool,
    at: Time,
    actor: ActorId,
    event: EventIx,
    attempts: u32,
    elapsed_ms: u32,
    limit: GaveUp,
    /// The first append of the record after the give-up: when, where, and whether it was
    /// this send's own attempt arriving late (same sender, no new send of it since)
    /// rather than a later send.
    landed_after: Option<(Time, PartId, crate::model::log::Offset, bool)>,
    /// The same sender sent the record again after giving up (a relay's republish).
    resent: bool,
}

impl Producers {
    /// The give-up of `event` waiting to see whether the record lands later.
    fn watched(&self, event: EventIx) -> Option<usize> {
        match self.watching.get(event.ix()) {
            Some(&i) if i > 0 => Some(i as usize - 1),
            _ => None,
        }
    }

    /// Whether a give-up waits to see whether its record reaches the log later (then
    /// this property reads `send` and `append` records too).
    pub fn watching(&self) -> bool {
        self.watched > 0
    }

    /// What cut `actor` off when its request was dropped, from the outages in force.
    fn why_dropped(&self, cx: &Context, actor: ActorId) -> &'static str {
        let service = match cx.t.actors[actor.ix()].0 {
            Actor::Relay { service, .. } => {
                cx.t.actors
                    .iter()
                    .position(|(a, _)| *a == Actor::Service(service))
                    .map(|i| ActorId(i as u32))
            }
            _ => None,
        };
        if self.isolated.contains(&actor) || service.is_some_and(|s| self.isolated.contains(&s)) {
            "it was cut off from the brokers"
        } else if self.kafka_down {
            "every broker was unreachable"
        } else if self.produce_dropping {
            "a messages fault was dropping produce requests"
        } else {
            "the network dropped it"
        }
    }
}

impl Property for Producers {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, found: &mut Findings) {
        match ev.kind {
            Kind::RequestDropped { actor, event, part } if cx.f.acks0[event.ix()] => {
                let why = self.why_dropped(cx, actor);
                self.dropped
                    .entry(event)
                    .or_insert((ev.at, actor, part, why));
            }
            // acks=0 gets no answer: a refusal is as final as a drop.
            Kind::Rejected { event, part, error } if cx.f.acks0[event.ix()] => {
                let why = match error {
                    crate::trace::SendError::NotEnoughReplicas => {
                        "refused: the ISR was smaller than min.insync.replicas"
                    }
                    _ => "refused: the partition had no live leader",
                };
                let source = cx.t.envelopes[event.ix()].source;
                self.dropped
                    .entry(event)
                    .or_insert((ev.at, source, part, why));
            }
            Kind::OutageStart { what, .. } => match what {
                Outage::Kafka => self.kafka_down = true,
                Outage::Isolated(a) => {
                    self.isolated.insert(a);
                }
                Outage::Messages {
                    kind: crate::scenario::MessageKind::Produce,
                    delay_ms: None,
                } => self.produce_dropping = true,
                Outage::Store(_) | Outage::Messages { .. } | Outage::BrokerCut(_) => {}
            },
            Kind::OutageEnd { what } => match what {
                Outage::Kafka => self.kafka_down = false,
                Outage::Isolated(a) => {
                    self.isolated.remove(&a);
                }
                Outage::Messages {
                    kind: crate::scenario::MessageKind::Produce,
                    delay_ms: None,
                } => self.produce_dropping = false,
                Outage::Store(_) | Outage::Messages { .. } | Outage::BrokerCut(_) => {}
            },
            Kind::Send { actor, event, .. } => {
                if let Some(i) = self.watched(event) {
                    if self.failed[i].actor == actor {
                        self.failed[i].resent = true;
                    }
                }
            }
            Kind::Append {
                sender,
                event,
                part,
                offset,
                ..
            } => {
                if let Some(i) = self.watched(event) {
                    self.watching[event.ix()] = 0;
                    self.watched -= 1;
                    let f = &mut self.failed[i];
                    let own = f.actor == sender && !f.resent;
                    f.landed_after = Some((ev.at, part, offset, own));
                }
            }
            Kind::SendFailed {
                actor,
                event,
                attempts,
                elapsed_ms,
                limit,
            } => {
                found.totals.bump(Counter::SendFailed);
                let own = cx.f.give_ups.get(&event).and_then(|g| g.last());
                let appended_before =
                    (cx.f.appends[event.ix()] > 0).then(|| cx.f.first_append[event.ix()]);
                if appended_before.is_none() {
                    if self.watching.len() <= event.ix() {
                        self.watching
                            .resize(cx.t.envelopes.len().max(event.ix() + 1), 0);
                    }
                    if self.watching[event.ix()] == 0 {
                        self.watched += 1;
                    }
                    self.watching[event.ix()] = self.failed.len() as u32 + 1;
                }
                self.failed.push(Failed {
                    appended_before,
                    landed_after: None,
                    resent: false,
                    own_landed: own.is_some_and(|&(_, who, landed)| who == actor && landed),
                    at: ev.at,
                    actor,
                    event,
                    attempts,
                    elapsed_ms,
                    limit,
                });
            }
            _ => {}
        }
    }

    fn finish(&mut self, cx: &Context, end: Time, found: &mut Findings) {
        // Sends the run stopped in the middle of: not failed, not lost, not in the log.
        for (e, _) in
            cx.f.sending
                .iter()
                .enumerate()
                .filter(|(_, &open)| open > 0)
        {
            if cx.f.appends[e] > 0 {
                continue;
            }
            let event = EventIx(e as u32);
            found.totals.bump(Counter::InFlightAtEnd);
            let source = cx.t.envelopes[e].source;
            // The trace does not say whether a record still in the client was sent: it
            // may wait in the accumulator (its connection full, or behind a retry) or for
            // an answer. A retry says it was.
            let state = if cx.f.retried[e] != 0 {
                "was still being retried, after failed attempts,"
            } else {
                "was still in its producer client (waiting to be sent, or for an answer)"
            };
            let cause = format!(
                "{} from {} {state} when the run ended at t={end}ms: it had not reached the log, and the client had neither succeeded nor given up",
                cx.t.event_id(event),
                cx.name(source)
            );
            let chain = vec![
                cx.origin_link(event),
                Link::effect(
                    end,
                    format!("the run ended while {} {state}", cx.t.event_id(event)),
                ),
            ];
            found.push(Anomaly {
                kind: AnomalyKind::InFlightAtEnd,
                scope: cx.name(source).to_string(),
                at: end,
                part: None,
                offset: None,
                event: Some(event),
                cause,
                chain,
            });
        }
        // acks=0 sends whose request was still on its way when the run ended: the client
        // counted them as sent, and neither the log nor a drop has them yet.
        for (e, _) in cx.f.acks0.iter().enumerate().filter(|(_, &a)| a) {
            let event = EventIx(e as u32);
            if cx.f.appends[e] > 0 || self.dropped.contains_key(&event) {
                continue;
            }
            found.totals.bump(Counter::InFlightAtEnd);
            let source = cx.t.envelopes[e].source;
            found.push(Anomaly {
                kind: AnomalyKind::InFlightAtEnd,
                scope: cx.name(source).to_string(),
                at: end,
                part: None,
                offset: None,
                event: Some(event),
                cause: format!(
                    "{} from {} was sent with acks=0 (counted as sent) and its request was still on its way to the brokers when the run ended at t={end}ms: it had not reached the log",
                    cx.t.event_id(event),
                    cx.name(source)
                ),
                chain: vec![
                    cx.origin_link(event),
                    Link::effect(
                        end,
                        format!(
                            "the run ended while the acks=0 request of {} was still on its way to the brokers",
                            cx.t.event_id(event)
                        ),
                    ),
                ],
            });
        }
        for f in &self.failed {
            let why = crate::report::gave_up(cx.sc, cx.t, f.actor, f.limit, f.elapsed_ms);
            let mut landed_link = None;
            let landed = if f.own_landed {
                "; an attempt of its own had already reached the log when it gave up: its answer was late or lost".to_string()
            } else if let Some((p, o)) = f.appended_before {
                format!(
                    "; another send had already put the record in the log, at {}@{o}",
                    cx.t.part_name(p)
                )
            } else if let Some((t, p, o, own)) = f.landed_after {
                let by = if own {
                    "an attempt of its own, still on its way when it gave up,"
                } else {
                    "a later send"
                };
                landed_link = Some(Link::new(
                    t,
                    format!(
                        "{by} put {} in the log after all, at {}@{o}",
                        cx.t.event_id(f.event),
                        cx.t.part_name(p)
                    ),
                ));
                if own {
                    format!(
                        "; an attempt of its own, still on its way when it gave up, reached the log at t={t}ms, at {}@{o} (Kafka reports such a send failed too)",
                        cx.t.part_name(p)
                    )
                } else {
                    format!(
                        "; a later send put it in the log at t={t}ms, at {}@{o}",
                        cx.t.part_name(p)
                    )
                }
            } else {
                "; it never reached the log".to_string()
            };
            // An outage that cut the sender off while it tried: the root of the give-up.
            let cut = cx.cut_off(f.actor, cx.t.envelopes[f.event.ix()].occurred_at, f.at);
            let cut_clause = cut
                .as_ref()
                .map_or(String::new(), |(_, c)| format!("; {c}"));
            let cause = format!(
                "{} gave up on {} at t={}ms {} in {} ms: {why}{cut_clause}{landed}",
                cx.name(f.actor),
                cx.t.event_id(f.event),
                f.at,
                crate::report::attempts_text(f.attempts),
                f.elapsed_ms
            );
            let mut chain = vec![
                cx.origin_link(f.event),
                Link::effect(
                    f.at,
                    format!(
                        "{} gave up on {} {} in {} ms: {why}",
                        cx.name(f.actor),
                        cx.t.event_id(f.event),
                        crate::report::attempts_text(f.attempts),
                        f.elapsed_ms
                    ),
                ),
            ];
            chain.extend(landed_link);
            chain.extend(cut.map(|(l, _)| l));
            found.push(Anomaly {
                kind: AnomalyKind::SendFailed,
                scope: cx.name(f.actor).to_string(),
                at: f.at,
                part: None,
                offset: None,
                event: Some(f.event),
                cause,
                chain,
            });
        }
        for (&event, &(at, actor, part, why)) in &self.dropped {
            if cx.f.appends[event.ix()] > 0 {
                continue;
            }
            found.totals.bump(Counter::UnackedLost);
            let cause = format!(
                "{} sent {} to {} with acks=0 and counted it as sent, but its request was {} at t={at}ms ({why}), and acks=0 never resends",
                cx.name(actor),
                cx.t.event_id(event),
                cx.t.part_name(part),
                if why.starts_with("refused") {
                    "not stored"
                } else {
                    "dropped"
                }
            );
            let chain = vec![
                cx.origin_link(event),
                Link::effect(
                    at,
                    format!(
                        "its acks=0 request to {} was lost ({why}); acks=0 never resends",
                        cx.t.part_name(part)
                    ),
                ),
            ];
            found.push(Anomaly {
                kind: AnomalyKind::UnackedLost,
                scope: cx.name(actor).to_string(),
                at,
                part: Some(part),
                offset: None,
                event: Some(event),
                cause,
                chain,
            });
        }
    }
}
