//! A Kafka producer client: partitioning, sequence numbers, acks, timeouts and retries.
//!
//! One record per request (no batching, no linger). The client owns no timing: it asks the
//! `Ctx` to send and to wake it, and reports an outcome (acked or failed) to whoever owns
//! it: a plain producer, a service's dual write, or an outbox relay.

use crate::engine::{Ctx, Link};
use crate::model::Ev;
use crate::scenario::{Acks, ProducerConfig};
use crate::trace::{ActorId, EventIx, Kind, PartId, SendError};
use std::collections::BTreeMap;

struct InFlight {
    part: PartId,
    seq: u32,
    attempt: u32,
    first_sent: u64,
}

pub enum SendOutcome {
    Acked {
        event: EventIx,
        part: PartId,
        offset: u64,
    },
    Failed {
        event: EventIx,
    },
}

pub struct KafkaProducer {
    pub actor: ActorId,
    /// This client's index among all producer clients: replies are routed by it.
    pub client: u16,
    pub config: ProducerConfig,
    pub link_out: Link,
    pub link_in: Link,
    pub pid: u32,
    /// Next sequence number per partition (idempotent producers only use it).
    next_seq: Vec<u32>,
    in_flight: BTreeMap<EventIx, InFlight>,
    /// kafkajs's null-key round robin: a per-producer counter with a random start.
    round_robin: u32,
    /// An idempotent send expired: its sequence number is a hole the broker will wait for
    /// forever, so the producer must move to a new epoch (KIP-360) before sending on.
    pub needs_new_epoch: bool,
}

impl KafkaProducer {
    pub fn new(
        ctx: &mut Ctx,
        actor: ActorId,
        client: u16,
        config: ProducerConfig,
        partitions: usize,
        round_robin_start: u32,
    ) -> KafkaProducer {
        KafkaProducer {
            actor,
            client,
            config,
            link_out: ctx.new_link(),
            link_in: ctx.new_link(),
            pid: 0,
            next_seq: vec![0; partitions],
            in_flight: BTreeMap::new(),
            round_robin: round_robin_start,
            needs_new_epoch: false,
        }
    }

    /// A new incarnation after a crash: a new producer id, nothing in flight.
    pub fn reset(&mut self, pid: u32) {
        self.pid = pid;
        self.next_seq.iter_mut().for_each(|s| *s = 0);
        self.in_flight.clear();
    }

    /// A new producer epoch (modelled as a new producer id): sequences restart at 0 and
    /// the records still in flight are renumbered in send order, to be resent under it.
    pub fn bump_epoch(&mut self, pid: u32) {
        self.pid = pid;
        self.needs_new_epoch = false;
        self.next_seq.iter_mut().for_each(|s| *s = 0);
        for f in self.in_flight.values_mut() {
            f.seq = self.next_seq[f.part as usize];
            self.next_seq[f.part as usize] += 1;
        }
    }

    /// kafkajs's partitioner for null keys: `toPositive(++counter) % partitions`. Keyed
    /// records never come here: their partition is Kafka's murmur2, computed once per key.
    pub fn next_round_robin(&mut self, first: PartId, count: u32) -> PartId {
        self.round_robin = self.round_robin.wrapping_add(1);
        first + (self.round_robin & 0x7fff_ffff) % count
    }

    /// send(): the first attempt. With acks=0 the record counts as acknowledged at once.
    pub fn send(&mut self, ctx: &mut Ctx, event: EventIx, part: PartId) -> Option<SendOutcome> {
        ctx.trace(Kind::Send {
            actor: self.actor,
            event,
            part,
        });
        let seq = self.next_seq[part as usize];
        self.next_seq[part as usize] = seq.wrapping_add(1);
        if self.config.acks == Acks::None {
            self.transmit(ctx, event, part, seq, 0);
            ctx.trace(Kind::Ack {
                actor: self.actor,
                event,
                part,
                offset: u64::MAX,
            });
            return Some(SendOutcome::Acked {
                event,
                part,
                offset: u64::MAX,
            });
        }
        self.in_flight.insert(
            event,
            InFlight {
                part,
                seq,
                attempt: 0,
                first_sent: ctx.now(),
            },
        );
        self.transmit(ctx, event, part, seq, 0);
        None
    }

    fn transmit(&mut self, ctx: &mut Ctx, event: EventIx, part: PartId, seq: u32, attempt: u32) {
        ctx.send(
            self.link_out,
            Ev::ProduceArrive {
                client: self.client,
                pid: self.pid,
                event,
                part,
                seq,
                idempotent: self.config.enable_idempotence,
            },
        );
        if self.config.acks != Acks::None {
            ctx.timer(
                self.config.request_timeout_ms,
                Ev::ProduceTimeout {
                    client: self.client,
                    event,
                    attempt,
                },
            );
        }
    }

    /// The broker's answer: an offset, or an error to retry.
    pub fn on_reply(
        &mut self,
        ctx: &mut Ctx,
        event: EventIx,
        result: Result<u64, SendError>,
    ) -> Option<SendOutcome> {
        let f = self.in_flight.get(&event)?;
        let part = f.part;
        match result {
            Ok(offset) => {
                self.in_flight.remove(&event);
                ctx.trace(Kind::Ack {
                    actor: self.actor,
                    event,
                    part,
                    offset,
                });
                Some(SendOutcome::Acked {
                    event,
                    part,
                    offset,
                })
            }
            Err(error) => self.retry(ctx, event, error),
        }
    }

    pub fn on_timeout(
        &mut self,
        ctx: &mut Ctx,
        event: EventIx,
        attempt: u32,
    ) -> Option<SendOutcome> {
        match self.in_flight.get(&event) {
            Some(f) if f.attempt == attempt => self.retry(ctx, event, SendError::Timeout),
            _ => None,
        }
    }

    fn retry(&mut self, ctx: &mut Ctx, event: EventIx, error: SendError) -> Option<SendOutcome> {
        let f = self.in_flight.get_mut(&event).expect("caller checked");
        let elapsed = ctx.now() - f.first_sent + self.config.retry_backoff_ms;
        if u64::from(f.attempt) >= self.config.retries || elapsed >= self.config.delivery_timeout_ms
        {
            self.in_flight.remove(&event);
            self.needs_new_epoch |= self.config.enable_idempotence;
            ctx.trace(Kind::SendFailed {
                actor: self.actor,
                event,
            });
            return Some(SendOutcome::Failed { event });
        }
        f.attempt += 1;
        ctx.trace(Kind::Retry {
            actor: self.actor,
            event,
            attempt: f.attempt,
            error,
        });
        let attempt = f.attempt;
        ctx.timer(
            self.config.retry_backoff_ms,
            Ev::Resend {
                client: self.client,
                event,
                attempt,
            },
        );
        None
    }

    pub fn on_resend(&mut self, ctx: &mut Ctx, event: EventIx, attempt: u32) {
        if let Some(f) = self.in_flight.get(&event) {
            if f.attempt == attempt {
                let (part, seq) = (f.part, f.seq);
                self.transmit(ctx, event, part, seq, attempt);
            }
        }
    }
}
