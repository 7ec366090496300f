//! The structured trace: what happened, when, to whom. Every output is derived from it.
//!
//! Events are small `Copy` values holding ids, never strings, so recording them on the hot
//! path costs a push. Names (actors, keys, partitions) live once in the `Trace`'s tables and
//! are looked up only when a report is written. The checker reads the same trace, so what
//! the timeline shows and what the verdict counts can never disagree.

use crate::scenario::CrashPoint;

/// An actor in the run: a producer, consumer member, service or relay. Index into `Trace::actors`.
pub type ActorId = u32;
/// A partition of some topic. Index into `Trace::partitions`.
pub type PartId = u32;
/// An event envelope. Index into `Trace::envelopes`; its eventId is `e-<index+1>`.
pub type EventIx = u32;

/// The envelope every producer and service sends, as in the source lesson.
#[derive(Clone, Copy, Debug)]
pub struct Envelope {
    /// Who produced it (a producer or service actor).
    pub source: ActorId,
    /// Index into `Trace::event_types`.
    pub event_type: u16,
    pub version: u16,
    /// Simulated time the business event happened (the send or database commit), in ms.
    pub occurred_at: u64,
    /// Index into `Trace::keys`, or `NO_KEY` for a null key. The key is the aggregateId.
    pub key: u32,
    /// The producer's running number for this event: the payload, `{"n": payload}`.
    pub payload: u64,
    /// The topic it is sent to.
    pub topic: u16,
}

pub const NO_KEY: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    Producer(u16),
    Member { group: u16, index: u32 },
    Service(u16),
    Relay { service: u16, index: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No response within request.timeout.ms (request or response lost).
    Timeout,
    /// The broker refused a sequence gap (idempotent producer): resend in order.
    OutOfOrderSequence,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebalanceReason {
    Join,
    Leave,
    SessionExpired,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outage {
    Isolated,
    Kafka,
    Store,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A producer handed an event to send() (first attempt only).
    Send {
        actor: ActorId,
        event: EventIx,
        part: PartId,
    },
    /// A send attempt failed and will be retried.
    Retry {
        actor: ActorId,
        event: EventIx,
        attempt: u32,
        error: SendError,
    },
    /// The producer gave up: delivery.timeout.ms or retries exhausted.
    SendFailed {
        actor: ActorId,
        event: EventIx,
    },
    /// The partition leader appended the record.
    Append {
        event: EventIx,
        part: PartId,
        offset: u64,
    },
    /// The broker recognised an idempotent producer's retry and did not append again.
    DuplicateIgnored {
        event: EventIx,
        part: PartId,
        offset: u64,
    },
    /// The producer saw its send acknowledged (`offset` is u64::MAX with acks=0).
    Ack {
        actor: ActorId,
        event: EventIx,
        part: PartId,
        offset: u64,
    },
    /// A member asked to join its group.
    JoinGroup {
        actor: ActorId,
    },
    /// The coordinator started a rebalance.
    RebalanceStart {
        group: u16,
        reason: RebalanceReason,
        cause: ActorId,
    },
    /// A rebalance completed: the new generation and each member's share (`Trace::assignments`).
    Generation {
        group: u16,
        generation: u32,
        assignment: u32,
    },
    /// A member had no committed offset and reset per auto.offset.reset.
    OffsetReset {
        actor: ActorId,
        part: PartId,
        offset: u64,
    },
    /// A member resumed a partition at its committed offset.
    Resume {
        actor: ActorId,
        part: PartId,
        offset: u64,
    },
    /// A poll returned this record.
    Deliver {
        actor: ActorId,
        part: PartId,
        offset: u64,
        event: EventIx,
    },
    /// The handler applied the record's effect.
    Effect {
        actor: ActorId,
        part: PartId,
        offset: u64,
        event: EventIx,
    },
    /// The idempotency store already held this eventId: the effect was skipped.
    Absorbed {
        actor: ActorId,
        part: PartId,
        offset: u64,
        event: EventIx,
    },
    /// The handler marked the eventId processed, until `expires_at` (u64::MAX: never).
    Mark {
        actor: ActorId,
        event: EventIx,
        expires_at: u64,
    },
    /// A commit request carrying `offset` (the next offset to read) for `part`.
    CommitSent {
        actor: ActorId,
        part: PartId,
        offset: u64,
        auto: bool,
    },
    /// The coordinator stored a commit.
    Committed {
        group: u16,
        part: PartId,
        offset: u64,
        actor: ActorId,
    },
    /// The coordinator refused a commit from a stale generation.
    CommitRejected {
        actor: ActorId,
        part: PartId,
        offset: u64,
    },
    /// A member revoked its partitions to rejoin.
    Revoke {
        actor: ActorId,
    },
    /// An actor crashed, at a named point or at once.
    Crash {
        actor: ActorId,
        point: Option<CrashPoint>,
    },
    Restart {
        actor: ActorId,
    },
    /// A member left its group cleanly (LeaveGroup).
    Leave {
        actor: ActorId,
    },
    /// The coordinator gave up on a member after session.timeout.ms of silence.
    SessionExpired {
        actor: ActorId,
    },
    /// An outage began for `actor` (or the whole cluster / store) until `until`.
    OutageStart {
        what: Outage,
        actor: ActorId,
        until: u64,
    },
    OutageEnd {
        what: Outage,
        actor: ActorId,
    },
    /// The service committed an order (and its outbox row) in its database.
    DbCommit {
        actor: ActorId,
        event: EventIx,
        outbox: bool,
    },
    /// A relay read pending outbox rows and is publishing them.
    RelayPublish {
        actor: ActorId,
        event: EventIx,
    },
    /// A relay marked an outbox row PUBLISHED.
    RelayMark {
        actor: ActorId,
        event: EventIx,
    },
    /// The idempotency store was unreachable; the handler waits and retries.
    StoreUnavailable {
        actor: ActorId,
        event: EventIx,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct TraceEvent {
    pub at: u64,
    pub kind: Kind,
}

/// One member's share of a generation.
#[derive(Clone, Debug)]
pub struct Share {
    pub actor: ActorId,
    pub parts: Vec<PartId>,
}

#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub events: Vec<TraceEvent>,
    pub actors: Vec<(Actor, String)>,
    /// (topic index, partition number) for each PartId.
    pub partitions: Vec<(u16, u32)>,
    pub topic_names: Vec<String>,
    /// Leader broker (0-based) of each PartId.
    pub leaders: Vec<u32>,
    pub keys: Vec<String>,
    pub event_types: Vec<String>,
    pub envelopes: Vec<Envelope>,
    pub assignments: Vec<Vec<Share>>,
}

impl Trace {
    pub fn push(&mut self, at: u64, kind: Kind) {
        self.events.push(TraceEvent { at, kind });
    }

    pub fn actor_name(&self, a: ActorId) -> &str {
        &self.actors[a as usize].1
    }

    /// `p2` when the run has one topic, else `topic-2`, as Kafka names a TopicPartition.
    pub fn part_name(&self, p: PartId) -> String {
        let (t, n) = self.partitions[p as usize];
        if self.topic_names.len() == 1 {
            format!("p{n}")
        } else {
            format!("{}-{n}", self.topic_names[t as usize])
        }
    }

    /// The consumer group of a member actor. Only members deliver and process records, so
    /// asking about any other actor is a bug in the caller.
    pub fn member_group(&self, a: ActorId) -> usize {
        match self.actors[a as usize].0 {
            Actor::Member { group, .. } => group as usize,
            other => unreachable!("{other:?} is not a consumer group member"),
        }
    }

    pub fn event_id(&self, e: EventIx) -> String {
        format!("e-{}", e + 1)
    }

    pub fn key_of(&self, e: EventIx) -> Option<&str> {
        let k = self.envelopes[e as usize].key;
        (k != NO_KEY).then(|| self.keys[k as usize].as_str())
    }
}
