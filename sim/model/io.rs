//! What components say to the world: network endpoints, the messages between them, timer
//! payloads, fault commands, and the `Out` buffer every handler writes into.
//!
//! A handler takes `(now, input)` and records in `Out` what it wants done: messages to
//! send, timers to set or cancel, trace records, new events. The driver (`world.rs`)
//! carries that out and nothing else (stateright's `Out`, quinn-proto's `poll_*`). What
//! does not live here: any protocol logic.

use crate::engine::{Address, Time};
use crate::model::log::{Offset, Record};
use crate::scenario::{Acks, CrashPoint, OffsetReset};
use crate::trace::{ActorId, Envelope, EventIx, Kind, PartId, SendError, Share};
use smallvec::SmallVec;

/// A place on the network. Clients see the brokers as one endpoint (`Cluster`); the
/// brokers' replication traffic runs between `Broker` endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    /// The brokers as clients reach them: produce, fetch and ListOffsets requests.
    Cluster,
    /// Broker `b` (0-based) as its replicas reach it: follower fetches and their answers.
    Broker(u32),
    /// The group coordinator of consumer group `g`.
    Coordinator(u16),
    /// A producer client: a producer's, a service's or a relay's.
    Client(u16),
    /// A consumer group member, by slot.
    Member(u32),
}

/// Endpoint classes, for link rules such as "every member to the cluster".
pub mod class {
    pub const CLUSTER: u8 = 0;
    pub const COORDINATOR: u8 = 1;
    pub const CLIENT: u8 = 2;
    pub const MEMBER: u8 = 3;
    pub const BROKER: u8 = 4;
}

impl Address for Endpoint {
    fn class(self) -> u8 {
        match self {
            Endpoint::Cluster => class::CLUSTER,
            Endpoint::Coordinator(_) => class::COORDINATOR,
            Endpoint::Client(_) => class::CLIENT,
            Endpoint::Member(_) => class::MEMBER,
            Endpoint::Broker(_) => class::BROKER,
        }
    }

    /// Fixed by the scenario's order of groups, clients and members, so a path's random
    /// stream is the same on every run of the same file. Interleaved by class (residues
    /// mod 3) so the ids stay dense: the network indexes its path table by them. Brokers
    /// sit above the dense range (2^30 + b), so adding them left every other path's
    /// stream as it was.
    fn stable_id(self) -> u32 {
        match self {
            Endpoint::Broker(b) => (1 << 30) + b,
            Endpoint::Cluster => 0,
            Endpoint::Coordinator(g) => 1 + 3 * u32::from(g),
            Endpoint::Client(c) => 2 + 3 * u32::from(c),
            Endpoint::Member(m) => 3 + 3 * m,
        }
    }
}

/// One incarnation of a member slot: what the coordinator and the member agree on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberRef {
    pub slot: u32,
    pub incarnation: u32,
}

/// A produce request to the brokers: one batch per partition (Kafka's `ProduceRequest`
/// carries one `RecordBatch` per partition), all from one producer id.
#[derive(Clone, Debug)]
pub struct Produce {
    /// The sending client's actor, for the `append` trace record (who put this copy there).
    pub sender: ActorId,
    pub producer_id: u32,
    /// Unique per client: the answer names it, like Kafka's correlation id.
    pub request_id: u32,
    pub idempotent: bool,
    pub acks: Acks,
    pub batches: SmallVec<[ProduceBatch; 1]>,
}

/// The records of one produce batch, in order: inline while there are at most two.
pub type Records = SmallVec<[EventIx; 2]>;

/// A produce response's results, per batch of the request, in its order.
pub type ProduceResults = SmallVec<[(PartId, Result<Offset, SendError>); 1]>;

/// One partition's batch in a produce request: records `events`, with sequences
/// `base_sequence ..= base_sequence + len - 1` under `epoch` (idempotent producers only;
/// 0 otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceBatch {
    pub part: PartId,
    pub epoch: u16,
    pub base_sequence: u32,
    pub events: Records,
}

/// A fetch request: positions in the order the broker should read them, at most
/// `max_records` in the answer; parked up to `max_wait_ms` when nothing is there.
#[derive(Clone, Debug)]
pub struct FetchRequest {
    pub fetch_id: u32,
    pub positions: Vec<(PartId, Offset)>,
    pub max_records: usize,
    pub max_wait_ms: u64,
}

/// SyncGroup's answer: the generation, this member's share, and the group's committed
/// offsets for it (kafkasim folds the OffsetFetch round trip into this answer).
#[derive(Clone, Debug)]
pub struct SyncGroup {
    pub member: MemberRef,
    pub generation: u32,
    pub assignment: Vec<(PartId, Option<Offset>)>,
}

/// Everything sent over the network. Large payloads are boxed so the common messages
/// (produce and its answer) stay small in the network's queues.
#[derive(Clone, Debug)]
pub enum Msg {
    Produce(Produce),
    /// Per batch of the request, in its order: the base offset it was written at (or
    /// first written at, for a duplicate), or the error.
    ProduceResponse {
        producer_id: u32,
        request_id: u32,
        results: ProduceResults,
    },
    /// Not carried by the network: the driver hands it to a client's owner when an
    /// `isolate` with `refused: true` starts. The brokers refuse the client's connections
    /// until `until`.
    ConnectionRefused {
        until: Time,
    },
    Fetch(Box<FetchRequest>),
    FetchResponse {
        fetch_id: u32,
        records: Vec<Record>,
        /// Partitions whose fetch position was past the leader's log end
        /// (`OFFSET_OUT_OF_RANGE`): the member resets them per auto.offset.reset.
        out_of_range: Vec<PartId>,
    },
    /// Where to start a partition: per partition, the log start offset, the high
    /// watermark, or the first offset at or after a timestamp (Kafka's `ListOffsets`
    /// request carries a timestamp per partition: -2 earliest, -1 latest, or a time).
    ListOffsets {
        request_id: u32,
        parts: Vec<(PartId, OffsetSpec)>,
    },
    ListOffsetsResponse {
        request_id: u32,
        offsets: Vec<(PartId, Offset)>,
    },
    /// `index` is the member's index in its group (member.id `<group>-<index+1>`).
    /// `owned` and `generation` are Kafka's `Subscription.ownedPartitions` and
    /// `generationId`: what the member held before this join (under the eager protocol, what
    /// it has just revoked, which Kafka's `StickyAssignor` carries in its user data), and
    /// the generation it held them in (`None`: no generation, Kafka's -1).
    JoinGroup {
        member: MemberRef,
        index: u32,
        actor: ActorId,
        owned: Vec<PartId>,
        generation: Option<u32>,
    },
    LeaveGroup {
        member: MemberRef,
    },
    /// A member's heartbeat (Kafka's `HeartbeatRequest`, sent every
    /// `heartbeat.interval.ms` by `AbstractCoordinator.HeartbeatThread`): it keeps the
    /// member's session alive. The coordinator answers only when there is something to
    /// say: `RejoinRequired` during a rebalance the member has not rejoined yet.
    Heartbeat {
        member: MemberRef,
    },
    OffsetCommit {
        member: MemberRef,
        actor: ActorId,
        generation: u32,
        part: PartId,
        offset: Offset,
        /// A manual commit waits for its answer; an auto-commit does not.
        sync: bool,
    },
    OffsetCommitResponse {
        member: MemberRef,
        accepted: bool,
    },
    /// The answer to a heartbeat while the group rebalances (Kafka's REBALANCE_IN_PROGRESS),
    /// or from a coordinator that no longer knows the member (UNKNOWN_MEMBER_ID): rejoin at
    /// the next poll. `unknown`: UNKNOWN_MEMBER_ID, so the member's generation is reset
    /// and what it owned is lost (`ConsumerCoordinator.onJoinPrepare` →
    /// `onPartitionsLost`).
    RejoinRequired {
        member: MemberRef,
        unknown: bool,
    },
    SyncGroupResponse(Box<SyncGroup>),
    /// A follower's fetch from its partition's leader (`FetchRequest` with a replica id).
    ReplicaFetch(Box<ReplicaFetch>),
    /// The leader's answer to a follower's fetch.
    ReplicaFetchResponse(Box<ReplicaFetchResponse>),
}

/// A follower replica's fetch: one partition per request (README, Simplifications), from
/// `fetch_offset` (its log end offset), under the leader epoch it knows.
#[derive(Clone, Debug)]
pub struct ReplicaFetch {
    pub part: PartId,
    /// The follower's index in the partition's replica list.
    pub replica: u32,
    /// Unique per follower replica: its answer names it.
    pub fetch_id: u32,
    pub fetch_offset: Offset,
    pub leader_epoch: u32,
    /// When the follower sent it: its replica.socket.timeout.ms runs from here.
    pub sent_at: Time,
}

/// The leader's answer: the records from the fetch offset (at most
/// `replica.fetch.max.bytes` of them), its high watermark, or where the follower's log
/// stops agreeing with its own (KIP-320's diverging epoch: truncate there, then fetch).
#[derive(Clone, Debug)]
pub struct ReplicaFetchResponse {
    pub part: PartId,
    pub replica: u32,
    pub fetch_id: u32,
    /// The records with their timestamps, which the follower keeps.
    pub records: Vec<crate::model::log::Entry>,
    pub high_watermark: Offset,
    /// The leader's log start offset: the follower's moves up to it
    /// (`FetchResponse.logStartOffset`).
    pub log_start_offset: Offset,
    pub diverging_at: Option<Offset>,
    /// The fetch's `sent_at`.
    pub sent_at: Time,
}

/// What a timer carries back to the component that set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// A producer app's or service's next send or command.
    Tick,
    /// The producer client's oldest request may have reached request.timeout.ms, or its
    /// oldest batch delivery.timeout.ms.
    ClientDeadline,
    /// The producer client's batch `batch` has waited out retry.backoff.ms.
    Resend { batch: u32 },
    /// The initial rebalance delay of a group's coordinator ended.
    InitialDelayDone { generation: u32 },
    /// A member's session ran out.
    SessionExpired { member: MemberRef },
    /// A parked fetch reached fetch.max.wait.ms.
    FetchWait { member: u32, fetch_id: u32 },
    /// A follower replica (index in its partition's replica list) sends its next fetch
    /// (after replica.fetch.backoff.ms, or when it has none outstanding).
    Replicate { part: PartId, replica: u32 },
    /// A follower's fetch went unanswered for replica.socket.timeout.ms.
    ReplicaFetchTimeout {
        part: PartId,
        replica: u32,
        fetch_id: u32,
    },
    /// The oldest follower fetch parked at a leader may have reached
    /// replica.fetch.wait.max.ms.
    ReplicaFetchWaits,
    /// The controller fences a broker that stopped heartbeating.
    Fence { broker: u32 },
    /// Leaders look for followers that have not caught up for replica.lag.time.max.ms
    /// (Kafka's `isr-expiration` task, every half of it).
    IsrExpiration,
    /// Every broker runs retention over its logs (`LogManager`'s `kafka-log-retention`
    /// task, every `log.retention.check.interval.ms`). Housekeeping: it does not keep a
    /// run alive (`Timer::background`).
    RetentionCheck,
    /// Every broker's log cleaner looks for compacted logs to clean (`LogCleaner`'s
    /// cleaner thread, which backs off `log.cleaner.backoff.ms` when it finds nothing).
    /// Housekeeping, like `RetentionCheck`.
    LogCleaner,
    /// A member finished handling its current record.
    ProcessDone,
    /// A member's heartbeat thread sends its next heartbeat (every heartbeat.interval.ms).
    Heartbeat,
    /// A member's handling of one poll's records may have reached max.poll.interval.ms
    /// (set only when that falls before its next heartbeat).
    PollTimeout,
    /// A member retries the processed-id store.
    StoreRetry,
    /// A member's auto-commit timer expired while its fetch waits at the broker.
    AutoCommit,
    /// A service's database transaction for a command finished.
    DbCommitDone { command: u64 },
    /// A relay polls the outbox.
    RelayPoll,
    /// A relay's mark-as-published transaction finished.
    RelayMarkDone,
    /// The fault injector's fault `index` is due.
    Fault { index: u32 },
    /// A timed fault ends.
    FaultEnd { index: u32 },
}

impl Timer {
    /// Housekeeping that does not keep a run alive: when only such timers are left, the
    /// run is quiescent (a broker's scheduler threads are daemons, too).
    pub fn background(&self) -> bool {
        matches!(self, Timer::RetentionCheck | Timer::LogCleaner)
    }
}

/// A timer's name within its component: setting a key that is set moves it.
pub type TimerKey = u64;

/// A timer request.
#[derive(Clone, Copy, Debug)]
pub enum TimerOp {
    Set {
        key: TimerKey,
        at: Time,
        timer: Timer,
    },
    Cancel {
        key: TimerKey,
    },
    /// The component died: every timer it had goes.
    CancelAll,
}

/// What a ListOffsets request asks of a partition (Kafka's `OffsetSpec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark: the end as a consumer sees it.
    Latest,
    /// The earliest offset below the high watermark whose record's timestamp is at or after
    /// this many ms; the high watermark if there is none (`offsetsForTimes` answers null,
    /// and the application seeks to the end).
    ForTimestamp(u64),
}

impl OffsetSpec {
    /// Where `auto.offset.reset` starts a partition.
    pub fn of_reset(reset: OffsetReset) -> OffsetSpec {
        match reset {
            OffsetReset::Earliest => OffsetSpec::Earliest,
            OffsetReset::Latest => OffsetSpec::Latest,
            OffsetReset::None => unreachable!("auto.offset.reset=none sends no ListOffsets"),
        }
    }
}

/// Crash, restart and leave commands from the fault injector to a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Crash at once (`point: None`) or arm a crash at a named point, optionally on the
    /// Nth record, order or batch.
    Crash {
        point: Option<CrashPoint>,
        on_record: Option<u64>,
    },
    Restart,
    /// A graceful shutdown (`wakeup()`, then `close()`): finish the batch in hand, commit
    /// (auto-commit, if enabled), LeaveGroup.
    Leave,
    /// `close()` called mid-batch: auto-commit (if enabled) the positions, past records
    /// never handled, then LeaveGroup.
    CloseInterrupted,
    /// A relay's mark transactions fail and roll back until `until` (`mark_fails`).
    MarkFails {
        until: Time,
    },
    /// A member seeks its assigned partitions among `parts` (`first`, and the `count`
    /// after it; every assigned partition when None) at the top of its next poll.
    Seek {
        to: crate::scenario::SeekTo,
        parts: Option<(PartId, u32)>,
    },
}

/// Everything a handler asks for. The driver clears it before a handler runs and carries
/// it out after, in this order: new events, trace records, timers, sends.
#[derive(Debug, Default)]
pub struct Out {
    pub now: Time,
    pub sends: Vec<(Endpoint, Msg)>,
    /// Sends from an endpoint other than the component's own: the cluster's brokers.
    pub sends_as: Vec<(Endpoint, Endpoint, Msg)>,
    pub timers: Vec<TimerOp>,
    pub trace: Vec<Kind>,
    /// The `EventIx` the next new event gets; the driver sets it before each handler.
    pub next_event: u32,
    pub new_events: Vec<Envelope>,
    /// The index the next assignment table gets; set by the driver like `next_event`.
    pub next_assignment: u32,
    pub new_assignments: Vec<Vec<Share>>,
}

impl Out {
    pub fn send(&mut self, to: Endpoint, msg: Msg) {
        self.sends.push((to, msg));
    }

    /// Sends `msg` from `from`, one of the endpoints the component owns.
    pub fn send_as(&mut self, from: Endpoint, to: Endpoint, msg: Msg) {
        self.sends_as.push((from, to, msg));
    }

    /// Sets (or moves) timer `key` to fire `after_ms` from now.
    pub fn set_timer(&mut self, key: TimerKey, after_ms: u64, timer: Timer) {
        let at = self.now.after(after_ms);
        self.timers.push(TimerOp::Set { key, at, timer });
    }

    pub fn set_timer_at(&mut self, key: TimerKey, at: Time, timer: Timer) {
        self.timers.push(TimerOp::Set { key, at, timer });
    }

    pub fn cancel_timer(&mut self, key: TimerKey) {
        self.timers.push(TimerOp::Cancel { key });
    }

    pub fn cancel_all_timers(&mut self) {
        self.timers.push(TimerOp::CancelAll);
    }

    pub fn trace(&mut self, kind: Kind) {
        self.trace.push(kind);
    }

    /// Registers a new event and returns its index (its eventId is `e-<index+1>`).
    pub fn new_event(&mut self, envelope: Envelope) -> EventIx {
        let e = EventIx(self.next_event);
        self.next_event += 1;
        self.new_events.push(envelope);
        e
    }

    /// Registers a generation's shares and returns the index a `Generation` record names.
    pub fn new_assignment(&mut self, shares: Vec<Share>) -> u32 {
        let a = self.next_assignment;
        self.next_assignment += 1;
        self.new_assignments.push(shares);
        a
    }

    /// A fresh buffer at `now`, for unit tests that drive a component by hand.
    pub fn at(now: Time) -> Out {
        Out {
            now,
            ..Out::default()
        }
    }
}
