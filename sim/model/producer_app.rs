//! A producer application: sends `count` keyed or null-keyed events, one every `every_ms`,
//! through its own producer client. Also the partition choice that producers, services and
//! relays share.
//!
//! Inputs: its `Tick` timer, and the client's messages and timers. Outputs: new events,
//! the client's sends, trace records. Plain producers cannot crash; they can be isolated
//! (a link rule, `world.rs`).

use crate::engine::Time;
use crate::model::io::{Msg, Out, Timer, TimerKey};
use crate::model::producer::ProducerClient;
use crate::trace::{ActorId, Envelope, PartId, NO_KEY};

const TICK: TimerKey = 0;

/// Where a record goes: its key's partition (Kafka's murmur2, computed once per key), or
/// for a null key the next partition of kafkajs's round robin, `toPositive(++counter) %
/// partitions`, with a counter that starts at a seeded random value.
#[derive(Clone, Debug)]
pub struct Partitioner {
    pub first: PartId,
    pub partitions: u32,
    round_robin: u32,
}

impl Partitioner {
    pub fn new(first: PartId, partitions: u32, round_robin_start: u32) -> Partitioner {
        Partitioner {
            first,
            partitions,
            round_robin: round_robin_start,
        }
    }

    pub fn partition(&mut self, keyed: Option<PartId>) -> PartId {
        keyed.unwrap_or_else(|| {
            self.round_robin = self.round_robin.wrapping_add(1);
            self.first
                .plus((self.round_robin & 0x7fff_ffff) % self.partitions)
        })
    }
}

/// What an application sends: how many, how often, with which keys and event type.
#[derive(Clone, Debug)]
pub struct Source {
    pub actor: ActorId,
    pub topic: u16,
    pub count: u64,
    pub every_ms: u64,
    pub start_ms: u64,
    /// (key id, partition) of each distinct key, cycled in send order; empty for null keys.
    pub keys: Vec<(u32, PartId)>,
    pub event_type: u16,
}

impl Source {
    /// The `i`-th event's key (id and partition), if keyed.
    pub fn key(&self, i: u64) -> Option<(u32, PartId)> {
        (!self.keys.is_empty()).then(|| self.keys[(i % self.keys.len() as u64) as usize])
    }

    /// The envelope of the `i`-th event, created now.
    pub fn envelope(&self, i: u64, now: Time) -> Envelope {
        Envelope {
            source: self.actor,
            event_type: self.event_type,
            version: 1,
            occurred_at: now,
            key: self.key(i).map_or(NO_KEY, |k| k.0),
            payload: i + 1,
            topic: self.topic,
        }
    }
}

pub struct ProducerApp {
    pub client: ProducerClient,
    source: Source,
    partitioner: Partitioner,
    next: u64,
}

impl ProducerApp {
    pub fn new(client: ProducerClient, source: Source, partitioner: Partitioner) -> ProducerApp {
        ProducerApp {
            client,
            source,
            partitioner,
            next: 0,
        }
    }

    pub fn start(&mut self, out: &mut Out) {
        if self.source.count > 0 {
            out.set_timer_at(TICK, Time(self.source.start_ms), Timer::Tick);
        }
    }

    pub fn on_timer(&mut self, timer: Timer, out: &mut Out) {
        match timer {
            Timer::Tick => self.tick(out),
            // A plain producer does nothing with its outcomes.
            other => self.client.on_timer(other, out, &mut Vec::new()),
        }
    }

    pub fn on_message(&mut self, msg: Msg, out: &mut Out) {
        self.client.on_message(msg, out, &mut Vec::new());
    }

    fn tick(&mut self, out: &mut Out) {
        let i = self.next;
        self.next += 1;
        if self.next < self.source.count {
            out.set_timer(TICK, self.source.every_ms, Timer::Tick);
        }
        let event = out.new_event(self.source.envelope(i, out.now));
        let part = self.partitioner.partition(self.source.key(i).map(|k| k.1));
        self.client.send(event, part, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_keys_go_round_robin_from_the_seeded_start() {
        let mut p = Partitioner::new(PartId(10), 3, 0);
        let parts: Vec<PartId> = (0..4).map(|_| p.partition(None)).collect();
        assert_eq!(parts, [11, 12, 10, 11].map(PartId).to_vec());
        assert_eq!(p.partition(Some(PartId(12))), PartId(12));
    }

    #[test]
    fn the_counter_wraps_like_kafkajs_to_positive() {
        let mut p = Partitioner::new(PartId(0), 3, u32::MAX);
        // ++counter wraps to 0; toPositive(0) % 3 = 0.
        assert_eq!(p.partition(None), PartId(0));
    }
}
