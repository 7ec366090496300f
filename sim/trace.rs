//! The structured trace: what happened, when, to whom. Every output is derived from it.
//!
//! Records are small `Copy` values holding ids, never strings, so emitting one on the hot
//! path costs no allocation. Names (actors, keys, partitions) and the per-event envelopes
//! live once in `Tables` and are looked up only when a report is written. Records flow
//! through `TraceSink`s as they happen: the online checkers, the text timeline's first
//! rows, a JSONL stream. Nothing keeps the whole trace unless a sink (`Recorder`) asks to,
//! so the checker and every output read the same records and can never disagree.

use crate::engine::Time;
use crate::model::log::Offset;
use crate::scenario::CrashPoint;

/// A `u32` id newtype: an index into one of the trace's tables, never confused with
/// another kind of id, a count or an offset. `ix()` gives the table index.
macro_rules! id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// A sentinel for "none yet" in dense tables of this id.
            pub const NONE: $name = $name(u32::MAX);

            /// The index into its table.
            pub fn ix(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id! {
    /// An actor in the run: a producer, consumer member, service or relay. Index into
    /// `Tables::actors`.
    ActorId
}
id! {
    /// A partition of some topic, numbered across all topics. Index into `Tables::partitions`.
    PartId
}
id! {
    /// An event envelope. Index into `Tables::envelopes`; its eventId is `e-<index+1>`.
    EventIx
}

impl PartId {
    /// The partition `n` places after this one (within its topic's run of PartIds).
    pub fn plus(self, n: u32) -> PartId {
        PartId(self.0 + n)
    }
}

/// The envelope every producer and service sends, as in the source lesson.
#[derive(Clone, Copy, Debug)]
pub struct Envelope {
    /// Who produced it (a producer or service actor).
    pub source: ActorId,
    /// Index into `Trace::event_types`.
    pub event_type: u16,
    pub version: u16,
    /// Simulated time the business event happened (the send or database commit).
    pub occurred_at: Time,
    /// Index into `Trace::keys`, or `NO_KEY` for a null key. The key is the aggregateId.
    pub key: u32,
    /// The producer's running number for this event: the payload, `{"n": payload}`.
    pub payload: u64,
    /// The topic it is sent to.
    pub topic: u16,
    /// A null value (`send: { tombstone_every: N }`): on a compacted topic it deletes its
    /// key once the log cleaner has removed the key's earlier records.
    pub tombstone: bool,
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
    /// Another request on the same broker connection timed out, and the client closed the
    /// connection, failing every request in flight on it
    /// (`NetworkClient.cancelInFlightRequests`).
    ConnectionClosed,
    /// The broker refused a batch from an older epoch of the producer
    /// (`INVALID_PRODUCER_EPOCH`): a copy that arrived after the client moved on.
    InvalidProducerEpoch,
    /// The partition has no live leader (`NOT_LEADER_OR_FOLLOWER`): the client retries
    /// once metadata names a new one.
    NotLeaderOrFollower,
    /// acks=all, and the ISR is smaller than `min.insync.replicas`
    /// (`NOT_ENOUGH_REPLICAS`): nothing was appended; the client retries.
    NotEnoughReplicas,
    /// The brokers refused the client's connection (an `isolate` with `refused: true`):
    /// nothing was sent; the client retries after its backoff.
    ConnectionRefused,
}

/// The producer setting that ended a send (`ProducerConfig`'s `retries` and
/// `delivery.timeout.ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GaveUp {
    Retries,
    DeliveryTimeout,
    /// OutOfOrderSequence for the very sequence the broker expects next, or while the
    /// partition's sequence was unresolved: no earlier batch can fill the gap
    /// (`TransactionManager.canRetry`).
    OutOfOrderSequence,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebalanceReason {
    Join,
    Leave,
    SessionExpired,
    /// The group's metadata refresh found more partitions in a topic it reads (the
    /// leader's `ConsumerCoordinator` sees the subscribed topics' metadata change and
    /// rejoins).
    PartitionsAdded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outage {
    /// A producer or service (with its relays) cut off from the brokers.
    Isolated(ActorId),
    /// Every broker unreachable.
    Kafka,
    /// The processed-id store of consumer group `g` unreachable.
    Store(u16),
    /// Broker `n` (0-based) cut off from the other brokers and the controller.
    BrokerCut(u32),
    /// Messages of one kind dropped (`drop: true`) or delayed (`delay_ms`).
    Messages {
        kind: crate::scenario::MessageKind,
        delay_ms: Option<u64>,
    },
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
    /// The producer gave up after `attempts` attempts over `elapsed_ms`, because `limit`
    /// was reached.
    SendFailed {
        actor: ActorId,
        event: EventIx,
        attempts: u32,
        elapsed_ms: u32,
        limit: GaveUp,
    },
    /// The network dropped a produce request on its way to the brokers (an outage or an
    /// isolated client): the record never reached the log by this attempt.
    RequestDropped {
        actor: ActorId,
        event: EventIx,
        part: PartId,
    },
    /// The partition leader appended the record.
    Append {
        /// The client whose request put this copy in the log.
        sender: ActorId,
        event: EventIx,
        part: PartId,
        offset: Offset,
        /// The leader broker (0-based) that appended it.
        broker: u32,
    },
    /// The partition's leader refused a record: it has no live leader
    /// (`NotLeaderOrFollower`), or acks=all found the ISR smaller than
    /// `min.insync.replicas` (`NotEnoughReplicas`). One row per record.
    Rejected {
        event: EventIx,
        part: PartId,
        error: SendError,
    },
    /// A broker went down: a crash, or a clean (controlled) shutdown.
    BrokerDown {
        broker: u32,
        clean: bool,
    },
    /// A broker came back; its replicas catch up from their leaders.
    BrokerUp {
        broker: u32,
    },
    /// The controller fenced a broker (`broker.session.timeout.ms` after it went silent,
    /// or at once on a clean shutdown): it leaves every ISR it was in, and its partitions
    /// get new leaders.
    BrokerFenced {
        broker: u32,
    },
    /// A partition's leader changed: `leader` None means no replica can lead it (offline).
    /// `unclean`: the new leader was not in the ISR
    /// (`unclean.leader.election.enable`). `epoch` is the new leader epoch.
    LeaderChange {
        part: PartId,
        leader: Option<u32>,
        epoch: u32,
        unclean: bool,
    },
    /// A replica left (`joined: false`) or rejoined the ISR; `size` is the ISR's size after.
    IsrChange {
        part: PartId,
        broker: u32,
        joined: bool,
        size: u32,
    },
    /// The high watermark moved: consumers may read below `offset`. Traced for
    /// replicated partitions only (with one replica it follows every append).
    HighWatermark {
        part: PartId,
        offset: Offset,
    },
    /// A new leader's log is shorter than its predecessor's: the partition's log now ends
    /// at `to`, and the records from `to` on are gone.
    LogTruncated {
        part: PartId,
        to: Offset,
    },
    /// Retention deleted the oldest segments of a partition's log (on the replica whose
    /// log is the partition's: its leader, or its last leader): the log start offset is
    /// now `log_start`, and `breach` says which limit did it. Followers delete by the same
    /// rule, untraced.
    SegmentsDeleted {
        part: PartId,
        broker: u32,
        log_start: Offset,
        breach: crate::model::log::Breach,
    },
    /// `add_partitions`: topic `topic` now has `partitions` partitions; the new ones are
    /// empty, each led by its first replica.
    PartitionsAdded {
        topic: u16,
        partitions: u32,
    },
    /// A producer client's metadata refresh (`metadata.max.age.ms`) found that `topic` has
    /// `partitions` partitions: from now on it places keys at `hash % partitions`.
    MetadataRefresh {
        actor: ActorId,
        topic: u16,
        partitions: u32,
    },
    /// The log cleaner compacted a partition's log (on the replica whose log is the
    /// partition's, as `SegmentsDeleted`): it is clean below `cleaned_to`, and `removed`
    /// records became holes, `tombstones` of them tombstones past `delete.retention.ms`.
    /// One `RecordCompacted` per removed record comes just before it. Followers clean by
    /// the same rule, untraced.
    LogCleaned {
        part: PartId,
        broker: u32,
        cleaned_to: Offset,
        removed: u32,
        tombstones: u32,
    },
    /// One record the log cleaner removed: `superseded_by` is the offset of the later
    /// record of the same key, or None for a tombstone past `delete.retention.ms`.
    RecordCompacted {
        part: PartId,
        offset: Offset,
        superseded_by: Option<Offset>,
    },
    /// A follower dropped its records from `to` on, which its leader's log does not have.
    ReplicaTruncated {
        part: PartId,
        broker: u32,
        to: Offset,
    },
    /// The broker recognised an idempotent producer's retry and did not append again.
    DuplicateIgnored {
        event: EventIx,
        part: PartId,
        offset: Offset,
        /// The leader broker (0-based) that recognised it.
        broker: u32,
    },
    /// The producer saw its send acknowledged (`offset` is None with acks=0: the producer
    /// does not wait and never learns it).
    Ack {
        actor: ActorId,
        event: EventIx,
        part: PartId,
        offset: Option<Offset>,
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
    /// A member reset its position per auto.offset.reset: it had no committed offset, or
    /// its fetch was answered `OFFSET_OUT_OF_RANGE`.
    OffsetReset {
        actor: ActorId,
        part: PartId,
        offset: Offset,
        /// The position a fetch found out of range, if that is why: past the log end
        /// (a new leader's log came out shorter) when above `offset`, below the log start
        /// offset (retention deleted it) when below. None: no committed offset.
        out_of_range: Option<Offset>,
    },
    /// A member sought a partition (a `seek` fault, carried out at the top of its poll
    /// loop): its position moved from `from` to `offset`, which `to` chose.
    Seek {
        actor: ActorId,
        part: PartId,
        from: Offset,
        offset: Offset,
        to: crate::scenario::SeekTo,
    },
    /// `auto.offset.reset=none` and a partition to reset: `poll()` threw
    /// (`NoOffsetForPartitionException`, or `OffsetOutOfRangeException`) and the member
    /// stopped consuming.
    NoOffset {
        actor: ActorId,
        part: PartId,
        /// The position a fetch found out of range, if that is why; None: no committed
        /// offset.
        out_of_range: Option<Offset>,
    },
    /// A member resumed a partition at its committed offset.
    Resume {
        actor: ActorId,
        part: PartId,
        offset: Offset,
    },
    /// A poll returned this record.
    Deliver {
        actor: ActorId,
        part: PartId,
        offset: Offset,
        event: EventIx,
    },
    /// The handler started on a record (after the processed-id check): what a crash in
    /// the middle of it interrupts. Not a timeline row.
    ProcessStart {
        actor: ActorId,
        part: PartId,
        offset: Offset,
        event: EventIx,
    },
    /// The handler applied the record's effect.
    Effect {
        actor: ActorId,
        part: PartId,
        offset: Offset,
        event: EventIx,
    },
    /// The idempotency store already held this eventId: the effect was skipped.
    Absorbed {
        actor: ActorId,
        part: PartId,
        offset: Offset,
        event: EventIx,
    },
    /// The handler marked the eventId processed, until `expires_at` (None: never).
    Mark {
        actor: ActorId,
        event: EventIx,
        expires_at: Option<Time>,
    },
    /// A commit request carrying `offset` (the next offset to read) for `part`.
    CommitSent {
        actor: ActorId,
        part: PartId,
        offset: Offset,
        auto: bool,
        /// librdkafka's auto-commit of the offset it stored when it handed a record to the
        /// application (`enable.auto.offset.store`), not of a position.
        stored: bool,
    },
    /// The coordinator stored a commit.
    Committed {
        group: u16,
        part: PartId,
        offset: Offset,
        actor: ActorId,
    },
    /// The coordinator refused a commit from a stale generation.
    CommitRejected {
        actor: ActorId,
        part: PartId,
        offset: Offset,
    },
    /// A member gave up the `partitions` it owned to rejoin (eager rebalance).
    Revoke {
        actor: ActorId,
        partitions: u32,
    },
    /// Under the cooperative protocol, a member gave up the partitions its new assignment
    /// no longer has (`owned − assigned`, `ConsumerCoordinator.onJoinComplete`), and
    /// rejoins at once (`requestRejoin`) so that they reach their new owners. `assignment`
    /// indexes `Trace::assignments`: one share, of this member, listing them.
    RevokeMoved {
        actor: ActorId,
        assignment: u32,
    },
    /// A member resumed consuming after a rebalance had stopped `partitions` of its
    /// partitions since `since`: eager, from its revocation before the join to the
    /// assignment; cooperative, from its revocation of the moved partitions to its next
    /// assignment (the generation that hands them to their new owners).
    Paused {
        actor: ActorId,
        partitions: u32,
        since: Time,
        /// From `since` to now.
        ms: u64,
    },
    /// A member took its assignment of `generation`: what it owns and consumes from now
    /// (`assignment` indexes `Trace::assignments`: one share, of this member). Not a
    /// timeline row; the property tests read it.
    Assigned {
        actor: ActorId,
        generation: u32,
        assignment: u32,
    },
    /// A cooperative rebalance withheld partitions from their new owners
    /// (`CooperativeStickyAssignor.adjustAssignment`): `assignment` indexes
    /// `Trace::assignments`, one share per new owner.
    Withheld {
        group: u16,
        generation: u32,
        assignment: u32,
    },
    /// A crash was armed in `actor`: it fires the first time the actor reaches `point` on
    /// or after its `on_record`th unit of work from now (the next time, without it).
    CrashArmed {
        actor: ActorId,
        point: CrashPoint,
        on_record: Option<u64>,
    },
    /// An idempotent producer moved to producer epoch `epoch` because a sent batch of
    /// `part` was given up (expired, out of retries, or an unfillable sequence gap) and
    /// nothing later proved it landed: that partition's sequences restart at 0 (KIP-360,
    /// `TransactionManager.bumpIdempotentProducerEpoch`). Other partitions move to the new
    /// epoch once their batches in flight complete.
    EpochBump {
        actor: ActorId,
        part: PartId,
        epoch: u16,
    },
    /// An actor crashed, at a named point or at once.
    Crash {
        actor: ActorId,
        point: Option<CrashPoint>,
    },
    Restart {
        actor: ActorId,
    },
    /// A member shut down gracefully: it finished the batch in hand, committed (with
    /// auto-commit) and sent LeaveGroup (`KafkaConsumer.close` after `wakeup()`).
    Leave {
        actor: ActorId,
    },
    /// A member's close() interrupted its batch: `unhandled` records it had been handed
    /// were never handled; with auto-commit, close() committed the positions past them
    /// (`ConsumerCoordinator.maybeAutoCommitOffsetsSync`), then LeaveGroup.
    CloseInterrupted {
        actor: ActorId,
        unhandled: u32,
    },
    /// A member's handling of one poll's records outlasted `max.poll.interval.ms` (counted
    /// from its poll at `since`): it left the group on its own (LeaveGroup; a static member
    /// only stops heartbeating), and keeps handling the records in hand, as Kafka's
    /// heartbeat thread does (`AbstractCoordinator.maybeLeaveGroup`, "consumer poll timeout
    /// has expired"). It rejoins at its next poll.
    PollTimeout {
        actor: ActorId,
        since: Time,
    },
    /// A commit the member could not make: it left the group (`PollTimeout`) and has no
    /// generation, so the client fails it without a request (`CommitFailedException`).
    CommitFailed {
        actor: ActorId,
        part: PartId,
        offset: Offset,
        auto: bool,
    },
    /// A static member's new incarnation joined under the `group.instance.id` of one still
    /// in the group (KIP-345): the coordinator swapped the member id and, the group being
    /// stable, handed it the same share at once: no rebalance.
    StaticRejoin {
        group: u16,
        actor: ActorId,
        generation: u32,
    },
    /// The coordinator gave up on a member after session.timeout.ms of silence.
    SessionExpired {
        actor: ActorId,
    },
    /// An outage began, until `until`.
    OutageStart {
        what: Outage,
        until: Time,
    },
    OutageEnd {
        what: Outage,
    },
    /// A command reached a service that was down: no transaction, no order. `command`
    /// counts from 0 in the service's command stream.
    CommandRefused {
        actor: ActorId,
        command: u64,
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
    /// A relay marked an outbox row PUBLISHED. `waited`: after the row's send had its
    /// delivery report (`relay.mark: after-ack`); false: without waiting for it
    /// (`without-waiting`, fire-and-forget), so the event may never have reached Kafka.
    RelayMark {
        actor: ActorId,
        event: EventIx,
        waited: bool,
    },
    /// A relay's mark transaction for this row failed at its commit and rolled back (a
    /// `mark_fails` fault): the row stays PENDING and unlocked, and the relay, still
    /// running, publishes it again on its next poll.
    RelayMarkFailed {
        actor: ActorId,
        event: EventIx,
    },
    /// A `mark_fails` fault began: the relay's mark transactions fail until `until`.
    MarkFailing {
        actor: ActorId,
        until: Time,
    },
    /// The idempotency store was unreachable; the handler waits and retries.
    StoreUnavailable {
        actor: ActorId,
        event: EventIx,
    },
}

/// One trace record: what happened at simulated time `at`.
#[derive(Clone, Copy, Debug)]
pub struct TraceEvent {
    pub at: Time,
    pub kind: Kind,
}

/// One member's share of a generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    pub actor: ActorId,
    pub parts: Vec<PartId>,
}

/// The names and per-event data that trace records point into by id. Filled as the run
/// goes (envelopes and assignments grow with it); read by sinks and reports.
#[derive(Clone, Debug, Default)]
pub struct Tables {
    pub actors: Vec<(Actor, String)>,
    /// (topic index, partition number) for each PartId.
    pub partitions: Vec<(u16, u32)>,
    pub topic_names: Vec<String>,
    /// Leader broker (0-based) of each PartId.
    pub leaders: Vec<u32>,
    pub keys: Vec<String>,
    pub event_types: Vec<String>,
    /// The envelope of each event, by `EventIx`: 32 bytes a record.
    pub envelopes: Vec<Envelope>,
    /// Each generation's shares, by the index a `Generation` record carries.
    pub assignments: Vec<Vec<Share>>,
}

impl Tables {
    pub fn actor_name(&self, a: ActorId) -> &str {
        &self.actors[a.ix()].1
    }

    /// `p2` when the run has one topic, else `topic-2`, as Kafka names a TopicPartition.
    pub fn part_name(&self, p: PartId) -> String {
        let (t, n) = self.partitions[p.ix()];
        if self.topic_names.len() == 1 {
            format!("p{n}")
        } else {
            format!("{}-{n}", self.topic_names[t as usize])
        }
    }

    /// The consumer group of a member actor. Only members deliver and process records, so
    /// asking about any other actor is a bug in the caller.
    pub fn member_group(&self, a: ActorId) -> usize {
        match self.actors[a.ix()].0 {
            Actor::Member { group, .. } => group as usize,
            other => unreachable!("{other:?} is not a consumer group member"),
        }
    }

    pub fn event_id(&self, e: EventIx) -> String {
        format!("e-{}", e.0 + 1)
    }

    pub fn key_of(&self, e: EventIx) -> Option<&str> {
        let k = self.envelopes[e.ix()].key;
        (k != NO_KEY).then(|| self.keys[k as usize].as_str())
    }
}

/// Where trace records go as they happen. The driver calls `record` once per record, in
/// order, with the tables as they stand at that moment (every id in the record resolves).
pub trait TraceSink {
    fn record(&mut self, tables: &Tables, ev: &TraceEvent);
}

/// A sink that keeps every record: for tests and for outputs that need the whole run.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    pub events: Vec<TraceEvent>,
}

impl TraceSink for Recorder {
    fn record(&mut self, _: &Tables, ev: &TraceEvent) {
        self.events.push(*ev);
    }
}

/// A borrowed sink is a sink, so `&mut checker` and `&mut dyn TraceSink` both fit.
impl<T: TraceSink + ?Sized> TraceSink for &mut T {
    fn record(&mut self, tables: &Tables, ev: &TraceEvent) {
        (**self).record(tables, ev);
    }
}

/// Sends each record to two sinks in turn. Generic, so a concrete first sink (the
/// checker) is called without dynamic dispatch on the hot path.
pub struct Pair<A, B>(pub A, pub B);

impl<A: TraceSink, B: TraceSink> TraceSink for Pair<A, B> {
    fn record(&mut self, tables: &Tables, ev: &TraceEvent) {
        self.0.record(tables, ev);
        self.1.record(tables, ev);
    }
}

/// A sink that keeps nothing.
pub struct Discard;

impl TraceSink for Discard {
    fn record(&mut self, _: &Tables, _: &TraceEvent) {}
}

impl Kind {
    /// The record's kind as the JSONL trace names it (README §3.4): the one spelling.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Send { .. } => "send",
            Kind::Retry { .. } => "retry",
            Kind::SendFailed { .. } => "send_failed",
            Kind::RequestDropped { .. } => "request_dropped",
            Kind::Append { .. } => "append",
            Kind::DuplicateIgnored { .. } => "duplicate_ignored",
            Kind::Rejected { .. } => "rejected",
            Kind::BrokerDown { .. } => "broker_down",
            Kind::BrokerUp { .. } => "broker_up",
            Kind::BrokerFenced { .. } => "broker_fenced",
            Kind::LeaderChange { .. } => "leader_change",
            Kind::IsrChange { .. } => "isr_change",
            Kind::HighWatermark { .. } => "high_watermark",
            Kind::LogTruncated { .. } => "log_truncated",
            Kind::SegmentsDeleted { .. } => "segments_deleted",
            Kind::PartitionsAdded { .. } => "partitions_added",
            Kind::MetadataRefresh { .. } => "metadata_refresh",
            Kind::LogCleaned { .. } => "log_cleaned",
            Kind::RecordCompacted { .. } => "record_compacted",
            Kind::ReplicaTruncated { .. } => "replica_truncated",
            Kind::Ack { .. } => "ack",
            Kind::JoinGroup { .. } => "join_group",
            Kind::RebalanceStart { .. } => "rebalance_start",
            Kind::Generation { .. } => "generation",
            Kind::OffsetReset { .. } => "offset_reset",
            Kind::NoOffset { .. } => "no_offset",
            Kind::Seek { .. } => "seek",
            Kind::Resume { .. } => "resume",
            Kind::Deliver { .. } => "deliver",
            Kind::ProcessStart { .. } => "process_start",
            Kind::Effect { .. } => "effect",
            Kind::Absorbed { .. } => "absorbed",
            Kind::Mark { .. } => "mark",
            Kind::CommitSent { .. } => "commit_sent",
            Kind::Committed { .. } => "committed",
            Kind::CommitRejected { .. } => "commit_rejected",
            Kind::Revoke { .. } => "revoke",
            Kind::RevokeMoved { .. } => "revoke_moved",
            Kind::Paused { .. } => "paused",
            Kind::Assigned { .. } => "assigned",
            Kind::Withheld { .. } => "withheld",
            Kind::CrashArmed { .. } => "crash_armed",
            Kind::EpochBump { .. } => "epoch_bump",
            Kind::Crash { .. } => "crash",
            Kind::Restart { .. } => "restart",
            Kind::Leave { .. } => "leave",
            Kind::CloseInterrupted { .. } => "close_interrupted",
            Kind::SessionExpired { .. } => "session_expired",
            Kind::PollTimeout { .. } => "poll_timeout",
            Kind::StaticRejoin { .. } => "static_rejoin",
            Kind::CommitFailed { .. } => "commit_failed",
            Kind::OutageStart { .. } => "outage_start",
            Kind::OutageEnd { .. } => "outage_end",
            Kind::CommandRefused { .. } => "command_refused",
            Kind::DbCommit { .. } => "db_commit",
            Kind::RelayPublish { .. } => "relay_publish",
            Kind::RelayMark { .. } => "relay_mark",
            Kind::RelayMarkFailed { .. } => "relay_mark_failed",
            Kind::MarkFailing { .. } => "mark_failing",
            Kind::StoreUnavailable { .. } => "store_unavailable",
        }
    }

    /// The event the record concerns, if any.
    pub fn event(&self) -> Option<EventIx> {
        match *self {
            Kind::Send { event, .. }
            | Kind::Retry { event, .. }
            | Kind::SendFailed { event, .. }
            | Kind::RequestDropped { event, .. }
            | Kind::Append { event, .. }
            | Kind::DuplicateIgnored { event, .. }
            | Kind::Rejected { event, .. }
            | Kind::Ack { event, .. }
            | Kind::Deliver { event, .. }
            | Kind::ProcessStart { event, .. }
            | Kind::Effect { event, .. }
            | Kind::Absorbed { event, .. }
            | Kind::Mark { event, .. }
            | Kind::DbCommit { event, .. }
            | Kind::RelayPublish { event, .. }
            | Kind::RelayMark { event, .. }
            | Kind::RelayMarkFailed { event, .. }
            | Kind::StoreUnavailable { event, .. } => Some(event),
            _ => None,
        }
    }
}
