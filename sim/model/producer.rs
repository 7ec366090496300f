//! A Kafka producer client: sequence numbers, acks, request timeouts, retries and the
//! producer epoch bump. It is a part of whichever component owns it (a producer app, a
//! service, a relay), which hands it its messages and timers and receives its outcomes.
//!
//! Inputs: `send`, `ProduceResponse` messages, `RequestTimeout` and `Resend` timers.
//! Outputs: `Produce` messages, `Send`/`Ack`/`Retry`/`SendFailed` trace records, timers,
//! and a `SendOutcome` for the owner. One record per request (no batching, no linger).
//! Requests wait in send order; only the oldest deadline has a timer in the queue, as
//! Kafka's `NetworkClient` checks expired in-flight requests on each poll, so answered
//! requests leave no timer behind. What does not live here: choosing the partition (`producer_app.rs`).

use crate::engine::Time;
use crate::model::io::{Endpoint, Msg, Out, Produce, Timer, TimerKey};
use crate::model::log::Offset;
use crate::scenario::{Acks, ProducerConfig};
use crate::trace::{ActorId, EventIx, GaveUp, Kind, PartId, SendError};
use std::collections::VecDeque;

/// The timer key of the request-timeout timer; resend timers use `RESEND | event`.
pub const REQUEST_TIMEOUT: TimerKey = 1 << 40;
const RESEND: TimerKey = 1 << 41;

#[derive(Clone, Copy, Debug)]
struct InFlight {
    event: EventIx,
    part: PartId,
    sequence: u32,
    attempt: u32,
    first_sent: Time,
    /// False while the record waits out retry.backoff.ms.
    on_the_wire: bool,
    done: bool,
}

/// What became of a send, for the component that owns the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Acked {
        event: EventIx,
        part: PartId,
        offset: Option<Offset>,
    },
    Failed {
        event: EventIx,
    },
}

pub struct ProducerClient {
    pub actor: ActorId,
    /// This client's network endpoint index.
    pub client: u16,
    pub config: ProducerConfig,
    producer_id: u32,
    /// Incarnations and epoch bumps so far; each gets a fresh producer id.
    epochs: u32,
    /// Next sequence number per partition (idempotent producers only use it).
    next_sequence: Vec<u32>,
    /// Sends awaiting an answer, in send order (so by ascending event).
    in_flight: VecDeque<InFlight>,
    /// (deadline, event, attempt) of each transmission, in transmission order: the
    /// deadlines ascend because request.timeout.ms is one constant.
    deadlines: VecDeque<(Time, EventIx, u32)>,
    armed: Option<Time>,
}

impl ProducerClient {
    pub fn new(actor: ActorId, client: u16, config: ProducerConfig, partitions: usize) -> Self {
        let mut c = ProducerClient {
            actor,
            client,
            config,
            producer_id: 0,
            epochs: 0,
            next_sequence: vec![0; partitions],
            in_flight: VecDeque::new(),
            deadlines: VecDeque::new(),
            armed: None,
        };
        c.new_producer_id();
        c
    }

    /// kafkasim hands out producer ids without an InitProducerId round trip: each
    /// incarnation or epoch of a client gets a fresh one, unique in the run.
    fn new_producer_id(&mut self) {
        self.epochs += 1;
        self.producer_id = (u32::from(self.client) << 16) | (self.epochs & 0xffff);
    }

    /// A new incarnation after a crash: a new producer id, nothing in flight, and every
    /// timer this client had is cancelled (they die with the process).
    pub fn reset(&mut self, out: &mut Out) {
        if self.armed.is_some() {
            out.cancel_timer(REQUEST_TIMEOUT);
        }
        for f in self.in_flight.iter().filter(|f| !f.done && !f.on_the_wire) {
            out.cancel_timer(RESEND | TimerKey::from(f.event.0));
        }
        self.new_producer_id();
        self.next_sequence.iter_mut().for_each(|s| *s = 0);
        self.in_flight.clear();
        self.deadlines.clear();
        self.armed = None;
    }

    /// send(): the first attempt. With acks=0 the record counts as acknowledged at once.
    pub fn send(&mut self, event: EventIx, part: PartId, out: &mut Out) -> Option<SendOutcome> {
        out.trace(Kind::Send {
            actor: self.actor,
            event,
            part,
        });
        let sequence = self.next_sequence[part.ix()];
        self.next_sequence[part.ix()] = sequence.wrapping_add(1);
        if self.config.acks == Acks::None {
            self.transmit(event, part, sequence, out);
            out.trace(Kind::Ack {
                actor: self.actor,
                event,
                part,
                offset: None,
            });
            return Some(SendOutcome::Acked {
                event,
                part,
                offset: None,
            });
        }
        self.in_flight.push_back(InFlight {
            event,
            part,
            sequence,
            attempt: 0,
            first_sent: out.now,
            on_the_wire: true,
            done: false,
        });
        self.transmit(event, part, sequence, out);
        self.deadlines
            .push_back((out.now.after(self.config.request_timeout_ms), event, 0));
        self.compact_deadlines();
        self.arm(out);
        None
    }

    fn transmit(&self, event: EventIx, part: PartId, sequence: u32, out: &mut Out) {
        out.send(
            Endpoint::Cluster,
            Msg::Produce(Produce {
                sender: self.actor,
                producer_id: self.producer_id,
                event,
                part,
                sequence,
                idempotent: self.config.enable_idempotence,
                acks: self.config.acks,
            }),
        );
    }

    fn find(&self, event: EventIx) -> Option<usize> {
        let i = self.in_flight.partition_point(|f| f.event < event);
        (self
            .in_flight
            .get(i)
            .is_some_and(|f| f.event == event && !f.done))
        .then_some(i)
    }

    fn complete(&mut self, i: usize) {
        self.in_flight[i].done = true;
        while self.in_flight.front().is_some_and(|f| f.done) {
            self.in_flight.pop_front();
        }
    }

    /// A message for this client: only `ProduceResponse` is one.
    pub fn on_message(&mut self, msg: Msg, out: &mut Out) -> Option<SendOutcome> {
        match msg {
            Msg::ProduceResponse {
                producer_id,
                event,
                result,
                ..
            } => self.on_response(producer_id, event, result, out),
            other => unreachable!("a producer client got {other:?}"),
        }
    }

    /// One of this client's timers; what it decided goes to `outcomes`.
    pub fn on_timer(&mut self, timer: Timer, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        match timer {
            Timer::RequestTimeout => self.on_request_timeout(out, outcomes),
            Timer::Resend { event } => self.on_resend(event, out),
            other => unreachable!("a producer client sets no {other:?} timer"),
        }
    }

    /// The broker's answer: an offset, or an error to retry. Answers to an older producer
    /// id (a previous life of this client) are not for us.
    pub fn on_response(
        &mut self,
        producer_id: u32,
        event: EventIx,
        result: Result<Offset, SendError>,
        out: &mut Out,
    ) -> Option<SendOutcome> {
        if producer_id != self.producer_id {
            return None;
        }
        let i = self.find(event)?;
        let on_the_wire = self.in_flight[i].on_the_wire;
        let outcome = match result {
            Ok(offset) => {
                let part = self.in_flight[i].part;
                if !on_the_wire {
                    // A late answer to an earlier attempt while the retry waits out its
                    // backoff: the record is in the log, so the retry is called off.
                    out.cancel_timer(RESEND | TimerKey::from(event.0));
                }
                self.complete(i);
                out.trace(Kind::Ack {
                    actor: self.actor,
                    event,
                    part,
                    offset: Some(offset),
                });
                Some(SendOutcome::Acked {
                    event,
                    part,
                    offset: Some(offset),
                })
            }
            // An error for an earlier attempt while a retry is already scheduled: that
            // retry answers it.
            Err(_) if !on_the_wire => None,
            Err(error) => self.retry(i, error, out),
        };
        self.arm(out);
        outcome
    }

    /// The oldest deadlines passed: every request still unanswered at its deadline is
    /// retried (or given up). Several outcomes can come out of one timer.
    pub fn on_request_timeout(&mut self, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        self.armed = None;
        while let Some(&(deadline, event, attempt)) = self.deadlines.front() {
            if deadline > out.now {
                break;
            }
            self.deadlines.pop_front();
            if let Some(i) = self.find(event) {
                let f = self.in_flight[i];
                if f.attempt == attempt && f.on_the_wire {
                    outcomes.extend(self.retry(i, SendError::Timeout, out));
                }
            }
        }
        self.arm(out);
    }

    /// Keeps one timer while requests are in flight: set for the oldest live deadline, and
    /// left where it is when that request is answered (it then fires early, finds nothing
    /// due, and moves on to the next deadline), so an acknowledgement costs no timer work.
    /// With nothing in flight the timer is cancelled: none outlives the requests it covers.
    fn arm(&mut self, out: &mut Out) {
        // The common case costs nothing: a timer is set and requests are still waiting, so
        // it will fire no later than the oldest of them needs (a stale front deadline only
        // makes it fire early, and then it moves on).
        if self.armed.is_some() && !self.in_flight.is_empty() {
            return;
        }
        while let Some(&(_, event, attempt)) = self.deadlines.front() {
            let live = self.find(event).is_some_and(|i| {
                self.in_flight[i].attempt == attempt && self.in_flight[i].on_the_wire
            });
            if live {
                break;
            }
            self.deadlines.pop_front();
        }
        match (self.deadlines.front().map(|d| d.0), self.armed) {
            (None, None) => {}
            (None, Some(_)) => {
                out.cancel_timer(REQUEST_TIMEOUT);
                self.armed = None;
            }
            // Armed no later than the oldest deadline: it will fire in time.
            (Some(want), Some(armed)) if armed <= want => {}
            (Some(want), _) => {
                out.set_timer_at(REQUEST_TIMEOUT, want, Timer::RequestTimeout);
                self.armed = Some(want);
            }
        }
    }

    fn retry(&mut self, i: usize, error: SendError, out: &mut Out) -> Option<SendOutcome> {
        let f = &mut self.in_flight[i];
        let event = f.event;
        let elapsed = out.now.since(f.first_sent);
        let retries_exhausted = u64::from(f.attempt) >= self.config.retries;
        // The next attempt could only start after the backoff: if that is past
        // delivery.timeout.ms, the send has run out of time.
        let out_of_time = elapsed + self.config.retry_backoff_ms >= self.config.delivery_timeout_ms;
        if retries_exhausted || out_of_time {
            let attempts = f.attempt + 1;
            self.complete(i);
            out.trace(Kind::SendFailed {
                actor: self.actor,
                event,
                attempts,
                elapsed_ms: u32::try_from(elapsed).unwrap_or(u32::MAX),
                limit: if retries_exhausted {
                    GaveUp::Retries
                } else {
                    GaveUp::DeliveryTimeout
                },
            });
            if self.config.enable_idempotence {
                // The expired sequence number is a hole the broker would wait for forever:
                // move to a new epoch (KIP-360) before sending on.
                self.bump_epoch();
                out.trace(Kind::EpochBump { actor: self.actor });
            }
            return Some(SendOutcome::Failed { event });
        }
        f.attempt += 1;
        f.on_the_wire = false;
        out.trace(Kind::Retry {
            actor: self.actor,
            event,
            attempt: f.attempt,
            error,
        });
        out.set_timer(
            RESEND | TimerKey::from(event.0),
            self.config.retry_backoff_ms,
            Timer::Resend { event },
        );
        None
    }

    /// retry.backoff.ms passed: the record goes out again under its sequence number.
    pub fn on_resend(&mut self, event: EventIx, out: &mut Out) {
        let Some(i) = self.find(event) else { return };
        let f = &mut self.in_flight[i];
        f.on_the_wire = true;
        let (part, sequence, attempt) = (f.part, f.sequence, f.attempt);
        self.transmit(event, part, sequence, out);
        self.deadlines.push_back((
            out.now.after(self.config.request_timeout_ms),
            event,
            attempt,
        ));
        self.compact_deadlines();
        self.arm(out);
    }

    /// Answered and retried requests leave their deadlines behind until they reach the
    /// front; when those outnumber the requests still waiting, they are dropped, so the
    /// deadlines never outgrow the requests in flight (a retry storm included). The armed
    /// timer stays: it is no later than any deadline left, and moves on when it fires.
    fn compact_deadlines(&mut self) {
        if self.deadlines.len() <= 2 * self.in_flight.len() + 16 {
            return;
        }
        let in_flight = &self.in_flight;
        self.deadlines.retain(|&(_, event, attempt)| {
            let i = in_flight.partition_point(|f| f.event < event);
            in_flight.get(i).is_some_and(|f| {
                f.event == event && !f.done && f.on_the_wire && f.attempt == attempt
            })
        });
    }

    /// A new producer epoch (modelled as a new producer id): sequences restart at 0 and
    /// the records still in flight are renumbered in send order, to be resent under it.
    fn bump_epoch(&mut self) {
        self.new_producer_id();
        self.next_sequence.iter_mut().for_each(|s| *s = 0);
        for f in self.in_flight.iter_mut().filter(|f| !f.done) {
            f.sequence = self.next_sequence[f.part.ix()];
            self.next_sequence[f.part.ix()] += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::io::TimerOp;

    fn client(retries: u64) -> ProducerClient {
        let config = ProducerConfig {
            retries,
            request_timeout_ms: 100,
            retry_backoff_ms: 10,
            ..ProducerConfig::default()
        };
        ProducerClient::new(ActorId(0), 0, config, 1)
    }

    #[test]
    fn one_timer_covers_every_request_and_goes_when_the_last_is_answered() {
        let mut c = client(3);
        let mut out = Out::at(Time(0));
        assert_eq!(c.send(EventIx(0), PartId(0), &mut out), None);
        assert!(matches!(
            out.timers[..],
            [TimerOp::Set {
                at: Time(100),
                key: REQUEST_TIMEOUT,
                ..
            }]
        ));
        let mut out = Out::at(Time(5));
        c.send(EventIx(1), PartId(0), &mut out);
        // The second send adds no timer: the one at t=100 fires first.
        assert!(out.timers.is_empty());
        let pid = c.producer_id;
        let mut out = Out::at(Time(7));
        let outcome = c.on_response(pid, EventIx(0), Ok(Offset(0)), &mut out);
        assert!(matches!(
            outcome,
            Some(SendOutcome::Acked {
                event: EventIx(0),
                ..
            })
        ));
        assert!(out.timers.is_empty(), "an ack moves no timer");
        // At t=100 nothing is due yet: the timer moves on to the next deadline, t=105.
        let mut out = Out::at(Time(100));
        let mut outcomes = Vec::new();
        c.on_request_timeout(&mut out, &mut outcomes);
        assert!(outcomes.is_empty() && out.trace.is_empty());
        assert!(matches!(
            out.timers[..],
            [TimerOp::Set {
                at: Time(105),
                key: REQUEST_TIMEOUT,
                ..
            }]
        ));
        let mut out = Out::at(Time(101));
        c.on_response(pid, EventIx(1), Ok(Offset(1)), &mut out);
        assert!(matches!(
            out.timers[..],
            [TimerOp::Cancel {
                key: REQUEST_TIMEOUT
            }]
        ));
    }

    #[test]
    fn a_timeout_retries_after_the_backoff_with_the_same_sequence() {
        let mut c = client(3);
        let mut out = Out::at(Time(0));
        c.send(EventIx(0), PartId(0), &mut out);
        let mut out = Out::at(Time(100));
        let mut outcomes = Vec::new();
        c.on_request_timeout(&mut out, &mut outcomes);
        assert!(outcomes.is_empty());
        assert!(out
            .trace
            .iter()
            .any(|k| matches!(k, Kind::Retry { attempt: 1, .. })));
        let mut out = Out::at(Time(110));
        c.on_resend(EventIx(0), &mut out);
        assert!(matches!(
            out.sends[..],
            [(Endpoint::Cluster, Msg::Produce(Produce { sequence: 0, .. }))]
        ));
    }

    #[test]
    fn retries_exhausted_gives_up_and_moves_to_a_new_producer_id() {
        let mut c = client(0);
        let mut out = Out::at(Time(0));
        c.send(EventIx(0), PartId(0), &mut out);
        let pid = c.producer_id;
        let mut out = Out::at(Time(100));
        let mut outcomes = Vec::new();
        c.on_request_timeout(&mut out, &mut outcomes);
        assert_eq!(outcomes, vec![SendOutcome::Failed { event: EventIx(0) }]);
        assert_ne!(c.producer_id, pid);
        // A late answer to the old producer id is ignored.
        let mut out = Out::at(Time(101));
        assert_eq!(
            c.on_response(pid, EventIx(0), Ok(Offset(0)), &mut out),
            None
        );
    }

    #[test]
    fn acks_zero_counts_as_acknowledged_at_once_without_a_timer() {
        let mut c = ProducerClient::new(
            ActorId(0),
            0,
            ProducerConfig {
                acks: Acks::None,
                enable_idempotence: false,
                ..ProducerConfig::default()
            },
            1,
        );
        let mut out = Out::at(Time(0));
        let outcome = c.send(EventIx(0), PartId(0), &mut out);
        assert!(matches!(
            outcome,
            Some(SendOutcome::Acked { offset: None, .. })
        ));
        assert!(out.timers.is_empty());
    }
}
