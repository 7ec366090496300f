//! A producer application: sends `count` keyed or null-keyed events, one every `every_ms`,
//! through its own producer client (which places them, `partitioning.rs`). Also `Source`,
//! the send pattern that producers and services share.
//!
//! Inputs: its `Tick` timer, and the client's messages and timers. Outputs: new events,
//! the client's sends, trace records. Plain producers cannot crash; they can be isolated
//! (a link rule, `world.rs`).

use crate::engine::Time;
use crate::model::io::{Msg, Out, Timer, TimerKey};
use crate::model::producer::ProducerClient;
use crate::trace::{ActorId, Envelope, NO_KEY};

const TICK: TimerKey = 0;

/// What an application sends: how many, how often, with which keys and event type.
#[derive(Clone, Debug)]
pub struct Source {
    pub actor: ActorId,
    pub topic: u16,
    pub count: u64,
    pub every_ms: u64,
    pub start_ms: u64,
    /// (key id, key hash) of each distinct key, cycled in send order; empty for null keys.
    /// The hash is the sending client's (`PartitionerKind::key_hash`): the client places the
    /// key at `hash % partitions` as it knows them. `None` where the client sends the key
    /// the null-key way (librdkafka's `consistent_random` with an empty key).
    pub keys: Vec<(u32, Option<u32>)>,
    pub event_type: u16,
    /// Every N-th event is a tombstone (`SendSpec::tombstone_every`).
    pub tombstone_every: Option<u64>,
}

impl Source {
    /// The `i`-th event's key (id and hash), if keyed.
    pub fn key(&self, i: u64) -> Option<(u32, Option<u32>)> {
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
            tombstone: self
                .tombstone_every
                .is_some_and(|n| (i + 1).is_multiple_of(n)),
        }
    }
}

pub struct ProducerApp {
    pub client: ProducerClient,
    source: Source,
    next: u64,
}

impl ProducerApp {
    pub fn new(client: ProducerClient, source: Source) -> ProducerApp {
        ProducerApp {
            client,
            source,
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
        let keyed = self.source.key(i).and_then(|k| k.1);
        self.client.send(event, keyed, out);
    }
}
