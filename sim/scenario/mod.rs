//! Scenario files: loading (stage one, `raw`), validation into a `Scenario` (stage two), and
//! the defaults, which are Kafka's own wherever Kafka has the setting.
//!
//! Stage two reports every problem at once, each at its line. Nothing here panics on any
//! input; a `Scenario` that validation accepted is consistent (all references resolve, all
//! counts are within the bounds below), and the model may rely on that.

mod errors;
pub mod raw;
pub mod schema;

use crate::counters::{Counter, Scope};
use crate::diag::Diagnostic;
use crate::partitioner::PartitionerKind;
use raw::*;
use serde_saphyr::Location;

/// Upper bounds that keep every run bounded in time and memory, whatever a student writes.
pub mod limits {
    pub const FILE_BYTES: usize = 1 << 20;
    pub const BROKERS: u64 = 100;
    pub const PARTITIONS: u64 = 1_000;
    pub const MEMBERS: u64 = 200;
    /// Members a group can ever have, counting every join.
    pub const MEMBERS_TOTAL: u64 = 1_000;
    /// Records a scenario may send in all (every `send.count` and `commands.count`); also the
    /// bound of `keys.distinct` and `on_record`. 10M is the largest `kafkasim bench --scale` size.
    pub const RECORDS: u64 = 10_000_000;
    pub const TIME_MS: u64 = 1_000_000_000;
    pub const EVENTS: u64 = 100_000_000;
    pub const NAMES: usize = 100;
    /// Partitions over all topics.
    pub const PARTITIONS_TOTAL: u64 = 10_000;
    /// Partitions each consumer group subscribes to, summed over groups: every group keeps
    /// its committed offsets, lag and processed records per partition, and the summary
    /// prints a row per group and partition. 2800 groups of 10000 partitions each took
    /// 5.7 GB and printed 249 MB before this bound.
    pub const GROUP_PARTITIONS: u64 = 100_000;
    /// Distinct keys over all producers and services, and the bytes of their text: every
    /// key is built when the run starts.
    pub const KEYS_TOTAL: u64 = 1_000_000;
    pub const KEY_BYTES_TOTAL: u64 = 64 << 20;
    /// Records delivered to consumer groups: each record counts once for every group
    /// subscribed to its topic.
    pub const CONSUMED_RECORDS: u64 = 20_000_000;
    /// Partitions an idle member scans on every poll, times the polls an idle run can
    /// make (`until_ms / fetch.max.wait.ms`), summed over groups.
    pub const IDLE_POLL_WORK: u64 = 2_000_000_000;
    /// Record copies sent in produce requests in one run, every attempt counted: a run
    /// that reaches it stops (outcome `produce-budget`). One produce request can carry a
    /// batch for every partition its broker leads, and every retry sends its records
    /// again (and without idempotence appends them again), so the event budget alone does
    /// not bound the network or the logs. Appended records are at most this many.
    pub const PRODUCED_COPIES: u64 = 20_000_000;
    /// Faults in `chaos.faults`: each draws at most one fault and one restart per run.
    pub const CHAOS_FAULTS: u64 = 100;
    /// Names one chaos fault may choose among (`crash: [a, b, …]`, `point: […]`).
    pub const CHAOS_CHOICES: usize = 1_000;
    /// Records the replicas hold: every record sent to a topic counts once per replica
    /// (`replication_factor`). A replica keeps 8 bytes a record, so 100M are about 0.9 GB
    /// (one partition with 100 replicas and 1M records: 0.88 GB, measured).
    pub const REPLICA_RECORDS: u64 = 100_000_000;
    /// Replicas the brokers' periodic tasks visit over a run: every replica at each
    /// retention check (`log.retention.check.interval.ms`) and, when a topic compacts, at
    /// each cleaner pass (`log.cleaner.backoff.ms`), each one a step even when it has
    /// nothing to do. A million replicas checked every ms took 108 s of CPU in 5 s of
    /// simulated time, within every other limit.
    pub const HOUSEKEEPING_WORK: u64 = 1_000_000_000;
}

pub const DEFAULT_UNTIL_MS: u64 = 60_000;
pub const DEFAULT_MAX_EVENTS: u64 = 20_000_000;

/// An enum whose scenario spelling is written once: `name()` prints it, `ALL` parses it.
macro_rules! spelled {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vm])* $variant,)* }

        impl $name {
            /// Every value, in the order the reference lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The value as a scenario file spells it.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }
    };
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    pub lesson: String,
    pub seed: u64,
    pub cluster: ClusterSpec,
    pub topics: Vec<TopicSpec>,
    pub producers: Vec<ProducerSpec>,
    pub groups: Vec<GroupSpec>,
    pub services: Vec<ServiceSpec>,
    pub faults: Vec<Fault>,
    pub run: RunSpec,
    pub expect: Vec<Expectation>,
    /// Faults each seed draws for itself, and network chaos (`chaos:`); empty without one.
    pub chaos: ChaosSpec,
}

#[derive(Clone, Debug)]
pub struct ClusterSpec {
    pub brokers: u32,
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    /// `group.initial.rebalance.delay.ms`: how long a new group waits for more members.
    pub initial_rebalance_delay_ms: u64,
    /// The brokers' `min.insync.replicas` (`ServerLogConfigs`, default 1): the smallest ISR
    /// an acks=all write is accepted with. A topic's `config` overrides it.
    pub min_insync_replicas: u32,
    /// The brokers' `unclean.leader.election.enable` (default false since 0.11).
    pub unclean_leader_election: bool,
    /// `broker.session.timeout.ms` (KRaft controller, default 9000): how long after a
    /// broker stops heartbeating the controller fences it, drops it from every ISR and
    /// elects new leaders for its partitions.
    pub broker_session_timeout_ms: u64,
    /// `replica.lag.time.max.ms` (default 30000): a follower that has not caught up with
    /// its leader for this long is dropped from the ISR by the leader.
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.wait.max.ms` (default 500): how long a leader holds a follower's
    /// fetch that finds nothing new before answering it empty.
    pub replica_fetch_wait_max_ms: u64,
    /// `replica.socket.timeout.ms` (default 30000): how long a follower waits for the
    /// answer to a fetch (lost on a cut link, say) before giving it up.
    pub replica_socket_timeout_ms: u64,
    /// `replica.fetch.backoff.ms` (default 1000): how long a follower waits after a failed
    /// fetch before the next.
    pub replica_fetch_backoff_ms: u64,
    /// `log.retention.check.interval.ms` (default 300000, `ServerLogConfigs`): how often
    /// every broker runs retention over its logs (`LogManager`'s `kafka-log-retention`
    /// task), at t = 1, 2, 3, … times it.
    pub log_retention_check_interval_ms: u64,
    /// `log.cleaner.backoff.ms` (default 15000, `CleanerConfig`): how often every broker's
    /// log cleaner looks for compacted topics' logs to clean, at t = 1, 2, 3, … times it.
    pub log_cleaner_backoff_ms: u64,
}

impl Default for ClusterSpec {
    /// One broker, 1 ms links, and Kafka's broker default for
    /// `group.initial.rebalance.delay.ms` (3000 ms, `GroupCoordinatorConfig`).
    fn default() -> Self {
        ClusterSpec {
            brokers: 1,
            latency_min_ms: 1,
            latency_max_ms: 1,
            initial_rebalance_delay_ms: 3_000,
            min_insync_replicas: 1,
            unclean_leader_election: false,
            broker_session_timeout_ms: 9_000,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_socket_timeout_ms: 30_000,
            replica_fetch_backoff_ms: 1_000,
            log_retention_check_interval_ms: 300_000,
            log_cleaner_backoff_ms: 15_000,
        }
    }
}

#[derive(Clone, Debug)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
    /// Replicas per partition (`replication.factor` at topic creation; the brokers'
    /// `default.replication.factor` is 1). At most the broker count.
    pub replication_factor: u32,
    /// `min.insync.replicas` for this topic (the brokers' value unless the topic sets it).
    pub min_insync_replicas: u32,
    /// `unclean.leader.election.enable` for this topic.
    pub unclean_leader_election: bool,
    /// Retention and segment settings.
    pub log: LogConfig,
    /// The partition count after every `add_partitions` fault (`partitions` if none): the
    /// partition ids the run sets aside for the topic.
    pub max_partitions: u32,
}

/// A topic's retention and segment settings, as Kafka's `LogConfig` names them. Records
/// count `RECORD_BYTES` (160) each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// `retention.ms` (default 604800000, 7 days; -1, here `None`: no limit): a closed
    /// segment whose newest record is older than this is deleted.
    pub retention_ms: Option<u64>,
    /// `retention.bytes` (default -1, here `None`: no limit): the oldest segments are
    /// deleted while the log would still hold at least this many bytes without them.
    pub retention_bytes: Option<u64>,
    /// `segment.bytes` (default 1073741824): a segment holds at most
    /// `segment.bytes / RECORD_BYTES` records (at least 1); the next append rolls a new one.
    pub segment_bytes: u64,
    /// `segment.ms` (default 604800000): an append whose timestamp is more than this
    /// after the first record of the active segment rolls a new one.
    pub segment_ms: u64,
    /// `cleanup.policy` includes `delete` (default `delete`): retention deletes segments.
    pub delete: bool,
    /// `cleanup.policy` includes `compact`: the log cleaner keeps the latest record per key
    /// in the closed segments (`LogCleaner`).
    pub compact: bool,
    /// `delete.retention.ms` (default 86400000, 1 day): how long a tombstone (a record
    /// with a null value) stays once it is the latest of its key; here counted from the
    /// tombstone's own timestamp.
    pub delete_retention_ms: u64,
}

impl Default for LogConfig {
    /// Kafka's topic defaults (`LogConfig`, `ServerLogConfigs`), `cleanup.policy=delete`.
    fn default() -> Self {
        LogConfig {
            retention_ms: Some(604_800_000),
            retention_bytes: None,
            segment_bytes: 1_073_741_824,
            segment_ms: 604_800_000,
            delete: true,
            compact: false,
            delete_retention_ms: 86_400_000,
        }
    }
}

impl LogConfig {
    /// Records one segment holds: `segment.bytes / RECORD_BYTES`, at least 1.
    pub fn segment_records(&self) -> u64 {
        (self.segment_bytes / RECORD_BYTES).max(1)
    }

    /// Whether retention can ever delete anything.
    pub fn deletes(&self) -> bool {
        self.delete && (self.retention_ms.is_some() || self.retention_bytes.is_some())
    }

    /// `cleanup.policy` as Kafka spells it: `delete`, `compact` or `compact,delete`.
    pub fn cleanup_policy(&self) -> &'static str {
        match (self.compact, self.delete) {
            (true, true) => "compact,delete",
            (true, false) => "compact",
            _ => "delete",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    None,
    Leader,
    All,
}

impl Acks {
    pub fn kafka_name(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProducerConfig {
    pub acks: Acks,
    pub enable_idempotence: bool,
    /// Why idempotence is off although the file did not say so: Kafka switches its
    /// default off when `acks` is not `all` or `retries` is 0. The report says so.
    pub idempotence_switched_off: Option<&'static str>,
    pub retries: u64,
    pub retry_backoff_ms: u64,
    pub request_timeout_ms: u64,
    pub delivery_timeout_ms: u64,
    /// `max.in.flight.requests.per.connection`: produce requests a client keeps
    /// unanswered on one broker connection (`NetworkClient` / `InFlightRequests`); at most 5
    /// with idempotence, so the broker's 5-batch window covers every batch in flight.
    pub max_in_flight: u32,
    /// `linger.ms`: how long a new batch waits for more records before it may be sent,
    /// unless it fills first (`RecordAccumulator.ready`). Kafka 3.x default 0 (4.0 makes
    /// it 5, KIP-1030).
    pub linger_ms: u64,
    /// `batch.size` in bytes (default 16384). Records have no size in kafkasim: a batch
    /// holds `batch.size / RECORD_BYTES` records (at least 1).
    pub batch_size: u64,
    /// Which client's partitioner places the records (`partitioner`; Java's built-in one by
    /// default, as the other properties are Java's).
    pub partitioner: PartitionerKind,
    /// `metadata.max.age.ms` (default 300000): the client refreshes its metadata this often,
    /// and learns of a topic's new partitions at the first refresh after they are added.
    pub metadata_max_age_ms: u64,
}

/// The bytes kafkasim counts for one record against `batch.size`: a small JSON envelope
/// with its key and record overhead. 16384 / 160 = 102 records a batch.
pub const RECORD_BYTES: u64 = 160;

impl ProducerConfig {
    /// Records a batch holds: `batch.size / RECORD_BYTES`, at least 1.
    pub fn batch_records(&self) -> usize {
        (self.batch_size / RECORD_BYTES).max(1) as usize
    }
}

impl Default for ProducerConfig {
    /// Kafka 3.x+ producer defaults (ProducerConfig.java).
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            enable_idempotence: true,
            idempotence_switched_off: None,
            retries: i32::MAX as u64,
            retry_backoff_ms: 100,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: 120_000,
            max_in_flight: 5,
            linger_ms: 0,
            batch_size: 16_384,
            partitioner: PartitionerKind::Java,
            metadata_max_age_ms: 300_000,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Keys {
    /// Null keys: placed by the client's null-key rule (`model/partitioning.rs`).
    Null,
    /// `pattern` with `{n}` replaced by 1..=distinct, cycling in send order.
    Pattern { pattern: String, distinct: u64 },
}

impl Keys {
    /// The key of the `i`-th send (0-based), or None for a null key.
    pub fn key(&self, i: u64) -> Option<String> {
        match self {
            Keys::Null => None,
            Keys::Pattern { pattern, distinct } => {
                Some(pattern.replace("{n}", &(i % distinct + 1).to_string()))
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct SendSpec {
    pub count: u64,
    pub every_ms: u64,
    pub start_ms: u64,
    pub keys: Keys,
    pub event_type: String,
    /// `tombstone_every: N`: the N-th, 2N-th, … send has a null value (a tombstone, which
    /// compaction keeps as the key's latest until `delete.retention.ms`, then removes).
    /// None: every send has a value.
    pub tombstone_every: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct ProducerSpec {
    pub name: String,
    pub topic: usize,
    pub config: ProducerConfig,
    pub send: SendSpec,
}

spelled! {
    /// `auto.offset.reset`.
    pub enum OffsetReset {
        Earliest => "earliest",
        Latest => "latest",
        /// No reset: `poll()` throws (`NoOffsetForPartitionException`, or
        /// `OffsetOutOfRangeException` for a position out of range).
        None => "none",
    }
}

spelled! {
    /// The consumer client library a group's members run (a client profile): where they
    /// differ in ways users trip over, kafkasim follows each one.
    pub enum ClientProfile {
        /// The Java `KafkaConsumer`: auto-commit commits the positions from inside `poll()`
        /// (`ConsumerCoordinator.maybeAutoCommitOffsetsAsync`).
        Java => "java",
        /// librdkafka: the offset of each message handed to the application is stored
        /// (`enable.auto.offset.store`, `rd_kafka_offset_store`), and a background timer
        /// commits the stored offsets every `auto.commit.interval.ms`, whatever the
        /// application is doing (`rd_kafka_cgrp_offset_commit_tmr_cb`).
        Librdkafka => "librdkafka",
    }
}

spelled! {
    /// `partition.assignment.strategy`.
    pub enum Assignor {
        Range => "range",
        RoundRobin => "roundrobin",
        Sticky => "sticky",
        CooperativeSticky => "cooperative-sticky",
    }
}

#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    pub enable_auto_commit: bool,
    pub auto_commit_interval_ms: u64,
    pub auto_offset_reset: OffsetReset,
    pub assignor: Assignor,
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`: how often a live member heartbeats its coordinator.
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms`: a member whose handling of one poll's records takes longer
    /// leaves the group (`AbstractCoordinator.maybeLeaveGroup`, "poll timeout expired").
    pub max_poll_interval_ms: u64,
    pub max_poll_records: u64,
    pub fetch_max_wait_ms: u64,
    /// `metadata.max.age.ms` (default 300000): the group learns of new partitions of the
    /// topics it reads at the first metadata refresh after they are added, and rebalances.
    pub metadata_max_age_ms: u64,
    /// The group's `client:` profile (the YAML sets it on the group, not in `config`).
    pub client: ClientProfile,
    /// librdkafka's `enable.auto.offset.store` (default true): store a message's offset + 1
    /// when it is handed to the application. Meaningless for the Java client, which has
    /// no offset store.
    pub enable_auto_offset_store: bool,
}

impl Default for ConsumerConfig {
    /// Kafka 3.x+ consumer defaults (ConsumerConfig.java).
    fn default() -> Self {
        ConsumerConfig {
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            auto_offset_reset: OffsetReset::Latest,
            assignor: Assignor::Range,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            max_poll_records: 500,
            fetch_max_wait_ms: 500,
            metadata_max_age_ms: 300_000,
            client: ClientProfile::Java,
            enable_auto_offset_store: true,
        }
    }
}

spelled! {
    /// When the handler commits offsets itself (besides any auto-commit).
    pub enum CommitMode {
        None => "none",
        AfterEachRecord => "after-each-record",
        AfterBatch => "after-batch",
        BeforeProcessing => "before-processing",
    }
}

#[derive(Clone, Debug)]
pub struct Processing {
    pub time_ms: u64,
    pub effect: String,
    pub commit: CommitMode,
}

spelled! {
    /// Where a group keeps its processed eventIds.
    pub enum StoreKind {
        /// Redis `SET id 1 EX ttl`: marking is a separate step from the effect.
        External => "external",
        /// A processed-ids table written in the effect's own database transaction.
        SameTransaction => "same-transaction",
    }
}

spelled! {
    /// What a handler does while an external store is down.
    pub enum StoreUnavailable {
        /// Retry the check until the store answers (the record waits; nothing is applied).
        Retry => "retry",
        /// Apply the effect without the check (availability over safety).
        ApplyAnyway => "apply-anyway",
    }
}

#[derive(Clone, Debug)]
pub struct Idempotency {
    pub store: StoreKind,
    pub ttl_ms: Option<u64>,
    pub on_unavailable: StoreUnavailable,
}

#[derive(Clone, Debug)]
pub struct GroupSpec {
    pub name: String,
    /// Every topic a member of the group subscribes to: `default_topics` and every
    /// `subscriptions` entry, in order of first mention.
    pub topics: Vec<usize>,
    /// The group's `topics:`: what a member subscribes to unless `subscriptions` says.
    pub default_topics: Vec<usize>,
    /// `subscriptions:` member `i` (0-based) subscribes to `subscriptions[i]`; members
    /// past the list to `default_topics`. Kafka lets each member of a group subscribe to
    /// its own topics; the assignors give a partition only to a member subscribed to it.
    pub subscriptions: Vec<Vec<usize>>,
    pub members: u32,
    /// When the group's members start (ms; 0 = at once): a service deployed later, which
    /// finds the topic's history already there.
    pub start_at_ms: u64,
    pub config: ConsumerConfig,
    pub processing: Processing,
    pub idempotency: Option<Idempotency>,
    /// Static membership (KIP-345): each member's `group.instance.id` is its name
    /// `<group>-<n>`, so a restart keeps its identity.
    pub static_members: bool,
}

spelled! {
    /// How a service gets its event to Kafka.
    pub enum Publish {
        DualWrite => "dual-write",
        Outbox => "outbox",
    }
}

spelled! {
    /// When an outbox relay marks the rows it published PUBLISHED (`relay.mark`).
    /// `after-ack`: once every send of the batch has its delivery report (acknowledged or
    /// given up; given-up rows stay PENDING), as Debezium's outbox router and a relay that
    /// waits on `producer.send(...).get()` do. `without-waiting`: right after handing the
    /// rows to `send()`, ignoring the delivery reports (fire-and-forget), so a send that
    /// later fails leaves a row PUBLISHED whose event never reached Kafka.
    pub enum MarkMode {
        AfterAck => "after-ack",
        WithoutWaiting => "without-waiting",
    }
}

#[derive(Clone, Debug)]
pub struct RelaySpec {
    pub poll_interval_ms: u64,
    pub batch_size: u64,
    pub count: u32,
    /// When the relay marks its rows PUBLISHED (default `after-ack`).
    pub mark: MarkMode,
}

#[derive(Clone, Debug)]
pub struct ServiceSpec {
    pub name: String,
    pub topic: usize,
    pub commands: SendSpec,
    pub publish: Publish,
    pub commit_ms: u64,
    pub producer: ProducerConfig,
    pub relay: RelaySpec,
}

/// Where a crash strikes: a named boundary in the handler, relay or service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    BeforeProcess,
    AfterProcessBeforeCommit,
    AfterCommit,
    AfterEffectBeforeMark,
    AfterMarkBeforeCommit,
    AfterDbCommit,
    AfterPublishBeforeMark,
}

impl CrashPoint {
    pub const ALL: &'static [CrashPoint] = &[
        CrashPoint::BeforeProcess,
        CrashPoint::AfterProcessBeforeCommit,
        CrashPoint::AfterCommit,
        CrashPoint::AfterEffectBeforeMark,
        CrashPoint::AfterMarkBeforeCommit,
        CrashPoint::AfterDbCommit,
        CrashPoint::AfterPublishBeforeMark,
    ];
    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::BeforeProcess => "before-process",
            CrashPoint::AfterProcessBeforeCommit => "after-process-before-commit",
            CrashPoint::AfterCommit => "after-commit",
            CrashPoint::AfterEffectBeforeMark => "after-effect-before-mark",
            CrashPoint::AfterMarkBeforeCommit => "after-mark-before-commit",
            CrashPoint::AfterDbCommit => "after-db-commit",
            CrashPoint::AfterPublishBeforeMark => "after-publish-before-mark",
        }
    }
    fn from_name(s: &str) -> Option<CrashPoint> {
        CrashPoint::ALL.iter().copied().find(|p| p.name() == s)
    }
    fn target_kind(self) -> TargetKind {
        match self {
            CrashPoint::AfterDbCommit => TargetKind::Service,
            CrashPoint::AfterPublishBeforeMark => TargetKind::Relay,
            _ => TargetKind::Member,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TargetKind {
    Member,
    Service,
    Relay,
}

/// Something a fault can crash or restart. Member and relay indexes are 0-based; their
/// names are `<group>-<index+1>` and `<service>-relay-<index+1>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Member {
        group: usize,
        index: u32,
    },
    Service(usize),
    Relay {
        service: usize,
        index: u32,
    },
    /// `broker-<n>`, 0-based here.
    Broker(u32),
}

/// A kind of message on the network, by its Kafka request name, for a `messages:` fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MessageKind {
    Produce,
    ProduceResponse,
    Fetch,
    FetchResponse,
    ListOffsets,
    ListOffsetsResponse,
    JoinGroup,
    /// The join's answer with the assignment (kafkasim folds SyncGroup into it).
    SyncGroup,
    /// The coordinator's answer that a rebalance is in progress (a Heartbeat response's
    /// REBALANCE_IN_PROGRESS).
    Heartbeat,
    LeaveGroup,
    OffsetCommit,
    OffsetCommitResponse,
    /// A follower replica's fetch from its leader.
    ReplicaFetch,
    ReplicaFetchResponse,
}

impl MessageKind {
    pub const ALL: [MessageKind; 14] = [
        MessageKind::Produce,
        MessageKind::ProduceResponse,
        MessageKind::Fetch,
        MessageKind::FetchResponse,
        MessageKind::ListOffsets,
        MessageKind::ListOffsetsResponse,
        MessageKind::JoinGroup,
        MessageKind::SyncGroup,
        MessageKind::Heartbeat,
        MessageKind::LeaveGroup,
        MessageKind::OffsetCommit,
        MessageKind::OffsetCommitResponse,
        MessageKind::ReplicaFetch,
        MessageKind::ReplicaFetchResponse,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Produce => "produce",
            MessageKind::ProduceResponse => "produce_response",
            MessageKind::Fetch => "fetch",
            MessageKind::FetchResponse => "fetch_response",
            MessageKind::ListOffsets => "list_offsets",
            MessageKind::ListOffsetsResponse => "list_offsets_response",
            MessageKind::JoinGroup => "join_group",
            MessageKind::SyncGroup => "sync_group",
            MessageKind::Heartbeat => "heartbeat",
            MessageKind::LeaveGroup => "leave_group",
            MessageKind::OffsetCommit => "offset_commit",
            MessageKind::OffsetCommitResponse => "offset_commit_response",
            MessageKind::ReplicaFetch => "replica_fetch",
            MessageKind::ReplicaFetchResponse => "replica_fetch_response",
        }
    }

    /// Whether a window may drop this kind: produce traffic, whose clients time out and
    /// retry, and replica fetches, whose followers time out (replica.socket.timeout.ms)
    /// and fetch again (a consumer's requests have no timeout in kafkasim).
    pub fn droppable(self) -> bool {
        matches!(
            self,
            MessageKind::Produce
                | MessageKind::ProduceResponse
                | MessageKind::ReplicaFetch
                | MessageKind::ReplicaFetchResponse
        )
    }
}

/// What a `messages:` fault does to its kind of message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageRule {
    /// Lost at once (a produce request is traced as dropped).
    Drop,
    /// Delivered this many ms later than its latency says.
    Delay(u64),
}

/// A Kafka client that can be cut off from the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    Producer(usize),
    Service(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    Crash {
        target: Target,
        point: Option<CrashPoint>,
        on_record: Option<u64>,
    },
    Restart(Target),
    Join {
        group: usize,
        members: u32,
    },
    /// A graceful shutdown: `wakeup()` from another thread, the loop finishes the batch in
    /// hand, then `close()` commits and sends LeaveGroup (`KafkaConsumer.close`).
    Leave {
        group: usize,
        index: u32,
    },
    /// An interrupted close: the loop breaks mid-batch and `close()` auto-commits the
    /// positions, past records it never handled (`ConsumerCoordinator.close` →
    /// `maybeAutoCommitOffsetsSync`).
    CloseInterrupted {
        group: usize,
        index: u32,
    },
    Isolate {
        client: Client,
        for_ms: u64,
        /// The connection is refused (the client fails fast and retries), not silent.
        refused: bool,
    },
    KafkaOutage {
        for_ms: u64,
    },
    /// A broker's clean (controlled) shutdown: its partitions get new leaders at once.
    Shutdown(u32),
    /// A broker cut off from the other brokers and the controller (not from clients).
    IsolateBroker {
        broker: u32,
        for_ms: u64,
    },
    /// Messages of one kind are dropped or delayed for a window.
    Messages {
        kind: MessageKind,
        rule: MessageRule,
        for_ms: u64,
    },
    StoreOutage {
        group: usize,
        for_ms: u64,
    },
    /// For `for_ms`, every mark transaction of relay `index` of `service` fails and rolls
    /// back at its commit (a post-publish step such as an archive insert that errors): the
    /// rows stay PENDING and unlocked, the relay keeps running, and its next poll
    /// publishes them again.
    MarkFails {
        service: usize,
        index: u32,
        for_ms: u64,
    },
    /// The topic's partition count grows to `partitions` (`Admin.createPartitions`); the
    /// new partitions are empty, and clients learn of them at their next metadata refresh.
    AddPartitions {
        topic: usize,
        partitions: u32,
    },
    /// Not written in scenarios: the driver derives it from `AddPartitions` and each
    /// client's `metadata.max.age.ms`. `who` learns that `topic` has `partitions`.
    LearnPartitions {
        who: Learner,
        topic: usize,
        partitions: u32,
    },
    /// Not written in scenarios: a chaos draw's `restart_after_ms` (`crate::chaos`). From
    /// its time on, the next time `target` goes down (a crash, a broker's crash or
    /// shutdown), a `Restart` of it follows `after_ms` later.
    RestartAfterDown {
        target: Target,
        after_ms: u64,
    },
    /// Each live, assigned member of `group` seeks its partitions (`topic`'s, or only
    /// `partition` of it; every assigned one when both are None) `to` somewhere, from its
    /// poll loop: `KafkaConsumer.seekToBeginning`, `seekToEnd`, `seek`, or
    /// `offsetsForTimes` then `seek`.
    Seek {
        group: usize,
        to: SeekTo,
        topic: Option<usize>,
        partition: Option<u32>,
    },
}

/// Where a `seek` fault moves a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SeekTo {
    /// `seekToBeginning`: the log start offset (ListOffsets, earliest).
    Beginning,
    /// `seekToEnd`: the high watermark (ListOffsets, latest).
    End,
    /// `seek(partition, offset)`: no round trip; a position out of range is found by the
    /// next fetch (OFFSET_OUT_OF_RANGE) and reset per `auto.offset.reset`.
    Offset(u64),
    /// `offsetsForTimes` (ListOffsets with a timestamp), then `seek`: the earliest offset
    /// whose timestamp is at or after `timestamp_ms`, or the end if there is none.
    Timestamp(u64),
}

impl SeekTo {
    /// As the scenario writes it: `beginning`, `end`, `40`, `{ timestamp_ms: 5000 }`.
    pub fn spelled(self) -> String {
        match self {
            SeekTo::Beginning => "beginning".to_string(),
            SeekTo::End => "end".to_string(),
            SeekTo::Offset(o) => o.to_string(),
            SeekTo::Timestamp(ts) => format!("{{ timestamp_ms: {ts} }}"),
        }
    }
}

/// Who refreshes its metadata: a producer client (of a producer, a service, or a service's
/// relay) or a consumer group (its members, for whom the group leader rejoins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learner {
    Producer(usize),
    Service(usize),
    Relay(usize, usize),
    Group(usize),
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub at_ms: u64,
    pub action: FaultAction,
}

#[derive(Clone, Debug)]
pub struct RunSpec {
    pub until_ms: u64,
    pub max_events: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Gt,
    Le,
    Lt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Condition {
    pub op: Op,
    pub value: u64,
}

impl Condition {
    pub fn holds(self, actual: u64) -> bool {
        match self.op {
            Op::Eq => actual == self.value,
            Op::Ne => actual != self.value,
            Op::Ge => actual >= self.value,
            Op::Gt => actual > self.value,
            Op::Le => actual <= self.value,
            Op::Lt => actual < self.value,
        }
    }
    pub fn parse(text: &str) -> Option<Condition> {
        let t = text.trim();
        let (op, rest) = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
        ]
        .iter()
        .find_map(|(p, op)| t.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((Op::Eq, t));
        rest.trim()
            .parse()
            .ok()
            .map(|value| Condition { op, value })
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            Op::Eq => return write!(f, "{}", self.value),
            Op::Ne => "!=",
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
        };
        write!(f, "{op} {}", self.value)
    }
}

/// One `expect:` entry: a counter, where it is counted, and the condition it must meet.
#[derive(Clone, Debug)]
pub struct Expectation {
    pub counter: Counter,
    pub within: Within,
    pub condition: Condition,
    /// The key as the file spells it: `lost`, or `billing.lost` for one group.
    pub name: String,
}

/// Whose count an expectation judges: the run's totals, or one group's or service's
/// (`GROUP.COUNTER`, `SERVICE.COUNTER`), by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Within {
    Run,
    Group(usize),
    Service(usize),
}

impl Scenario {
    pub fn member_name(&self, group: usize, index: u32) -> String {
        format!("{}-{}", self.groups[group].name, index + 1)
    }
    pub fn relay_name(&self, service: usize, index: u32) -> String {
        format!("{}-relay-{}", self.services[service].name, index + 1)
    }
    pub fn target_name(&self, t: Target) -> String {
        match t {
            Target::Member { group, index } => self.member_name(group, index),
            Target::Service(s) => self.services[s].name.clone(),
            Target::Relay { service, index } => self.relay_name(service, index),
            Target::Broker(b) => format!("broker-{}", b + 1),
        }
    }
    pub fn topic_index(&self, name: &str) -> Option<usize> {
        self.topics.iter().position(|t| t.name == name)
    }
}

/// Reads and validates a scenario from its text. `Err` holds every problem found.
pub fn parse(source: &str) -> Result<Scenario, Vec<Diagnostic>> {
    let raw = read_shape(source)?;
    Validator::default().scenario(raw)
}

/// Stage one alone: the text as YAML, deserialized into the file's shape (`raw`) by serde.
/// `Err` holds the one problem that stopped it: a file too large or empty, YAML that does
/// not parse or breaks the budgets (nesting, aliases, size, one document), or a shape
/// error (an unknown field, a wrong type, a missing field). Names, ranges, references and
/// spellings are stage two's (`parse`). `kafkasim schema` describes this shape, and
/// tests/schema.rs holds the two to each other.
pub fn read_shape(source: &str) -> Result<RawScenario, Vec<Diagnostic>> {
    read_with_budgets(source, false)
}

/// The file as plain YAML data (JSON values), read under the same budgets as stage one
/// but into no fixed shape: what a JSON Schema validator, such as an editor's, checks
/// against `kafkasim schema`. `Err` when stage one would refuse the text before looking
/// at its shape (too large, not YAML, over a budget); an empty file is `null`.
///
/// Plain scalars are read as the loader reads them into its fields, not as YAML 1.1 would
/// guess: only `true`/`false` are booleans (`y` and `no` are text, as in YAML 1.2, which
/// editors follow), and a number with a leading zero (`05`) is text, since the loader
/// refuses it as a number.
pub fn read_value(source: &str) -> Result<serde_json::Value, Vec<Diagnostic>> {
    if source.trim().is_empty() && source.len() <= limits::FILE_BYTES {
        return Ok(serde_json::Value::Null);
    }
    read_with_budgets(source, true)
}

/// Deserializes `source` into `T` under the YAML budgets (size, nesting, aliases,
/// documents) that keep a hostile file cheap; `untyped` for a `T` that takes any value.
fn read_with_budgets<T: serde::de::DeserializeOwned>(
    source: &str,
    untyped: bool,
) -> Result<T, Vec<Diagnostic>> {
    if source.len() > limits::FILE_BYTES {
        return Err(vec![Diagnostic::new(
            1,
            1,
            format!(
                "the file is {} bytes; a scenario may be at most {} bytes",
                source.len(),
                limits::FILE_BYTES
            ),
        )]);
    }
    if source.trim().is_empty() {
        return Err(vec![Diagnostic::new(1, 1, errors::EMPTY_FILE)]);
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 200_000,
            max_aliases: 200,
            max_anchors: 200,
            max_depth: 32,
            max_nodes: 50_000,
            max_total_scalar_bytes: 1 << 20,
            max_documents: 1,
        },
        strict_booleans: untyped,
        leading_zero_numbers_as_strings: untyped,
    };
    serde_saphyr::from_str_with_options(source, options)
        .map_err(|e| vec![errors::yaml_diagnostic(&e, source)])
}

fn at(loc: &Location) -> (u64, u64) {
    (loc.line(), loc.column())
}

#[derive(Default)]
struct Validator {
    problems: Vec<Diagnostic>,
    /// Members each group can ever have: its initial members plus every join.
    member_limit: Vec<u32>,
}

/// `expected X, got Y` at the value's location.
/// What to say about a `partitioner` value kafkasim does not know: the client's own name
/// for a modelled partitioner (`consistent_random`, `DefaultPartitioner`), a real one that
/// is not modelled, or the closest name for a typo.
fn partitioner_hint(value: &str) -> Option<String> {
    const SPELLINGS: &[(&str, &str)] = &[
        ("consistent_random", "librdkafka-consistent-random"),
        ("murmur2_random", "librdkafka-murmur2-random"),
        ("BuiltInPartitioner", "java"),
        ("DefaultPartitioner", "java` (Java) or `kafkajs"),
        ("JavaCompatiblePartitioner", "kafkajs"),
        ("LegacyPartitioner", "kafkajs-legacy"),
    ];
    const UNMODELLED: &[&str] = &[
        "consistent",
        "murmur2",
        "random",
        "fnv1a",
        "fnv1a_random",
        "RoundRobinPartitioner",
        "UniformStickyPartitioner",
    ];
    if let Some((_, name)) = SPELLINGS.iter().find(|(s, _)| *s == value) {
        return Some(format!("kafkasim names that one `{name}`"));
    }
    if UNMODELLED.contains(&value) {
        return Some(format!(
            "`{value}` is a real client partitioner that kafkasim does not model yet"
        ));
    }
    PartitionerKind::ALL
        .iter()
        .map(|k| (strsim::jaro_winkler(value, k.name()), k.name()))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| format!("did you mean `{name}`?"))
}

macro_rules! bad {
    ($v:expr, $s:expr, $($fmt:tt)*) => {{
        let (l, c) = at(&$s.referenced);
        $v.problems.push(Diagnostic::new(l, c, format!($($fmt)*)));
    }};
}

// After `bad!`, which it uses.
mod chaos;
pub use chaos::{ChaosAction, ChaosFault, ChaosNetwork, ChaosSpec, Ratio, Span, RATIO_DEN_MAX};

impl Validator {
    fn scenario(mut self, raw: RawScenario) -> Result<Scenario, Vec<Diagnostic>> {
        self.name(&raw.name, "scenario name");
        self.printable(&raw.title, "title", false);
        if let Some(lesson) = &raw.lesson {
            self.printable(lesson, "lesson", true);
        }
        let cluster = self.cluster(raw.cluster.as_ref());
        let topics = self.topics(&raw.topics, &cluster);
        let mut sc = Scenario {
            name: raw.name.value.clone(),
            title: raw.title.value.clone(),
            lesson: raw
                .lesson
                .as_ref()
                .map_or(String::new(), |l| l.value.clone()),
            seed: raw.seed.as_ref().map_or(1, |s| s.value),
            cluster,
            topics,
            producers: Vec::new(),
            groups: Vec::new(),
            services: Vec::new(),
            faults: Vec::new(),
            run: RunSpec {
                until_ms: DEFAULT_UNTIL_MS,
                max_events: DEFAULT_MAX_EVENTS,
            },
            expect: Vec::new(),
            chaos: ChaosSpec::default(),
        };
        // Each producer, group and service is a column of the summary and a set of clients
        // and tables: at most `NAMES` of each, as for topics.
        if let Some(p) = raw.producers.get(limits::NAMES) {
            bad!(self, p.name, "expected at most {} producers", limits::NAMES);
        }
        if let Some(g) = raw.consumer_groups.get(limits::NAMES) {
            bad!(
                self,
                g.name,
                "expected at most {} consumer groups",
                limits::NAMES
            );
        }
        if let Some(v) = raw.services.get(limits::NAMES) {
            bad!(self, v.name, "expected at most {} services", limits::NAMES);
        }
        let mut total_records = 0u64;
        for p in &raw.producers {
            if let Some(spec) = self.producer(&sc, p) {
                total_records = total_records.saturating_add(spec.send.count);
                sc.producers.push(spec);
            }
        }
        for g in &raw.consumer_groups {
            if let Some(spec) = self.group(&sc, g) {
                sc.groups.push(spec);
            }
        }
        for s in &raw.services {
            if let Some(spec) = self.service(&sc, s) {
                total_records = total_records.saturating_add(spec.commands.count);
                sc.services.push(spec);
            }
        }
        if total_records > limits::RECORDS {
            bad!(
                self,
                raw.topics,
                "the scenario sends {total_records} records in all; at most {} are allowed",
                limits::RECORDS
            );
        }
        self.unique_names(&raw);
        sc.run = self.run(raw.run.as_ref());
        // Whether `until_ms` is the file's own (valid) value: an invalid one was reported and
        // replaced, and the checks against the run's end would only repeat that.
        let until_as_written = raw
            .run
            .as_ref()
            .and_then(|r| r.until_ms.as_ref())
            .is_none_or(|u| (1..=limits::TIME_MS).contains(&u.value));
        // A group that would start after the run ends would silently never exist.
        for raw_group in &raw.consumer_groups {
            let g = sc.groups.iter().find(|g| g.name == raw_group.name.value);
            if let (Some(g), Some(start)) = (g, raw_group.start_at_ms.as_ref()) {
                if until_as_written && g.start_at_ms > sc.run.until_ms {
                    bad!(
                        self,
                        start,
                        "group {:?} starts at t={}ms, after the run ends (run.until_ms is {}): it would never run",
                        g.name,
                        g.start_at_ms,
                        sc.run.until_ms
                    );
                }
            }
        }
        self.cost_limits(&sc, &raw);
        self.member_limit = sc.groups.iter().map(|g| g.members).collect();
        for f in &raw.faults {
            let Some(j) = &f.join else { continue };
            if let Some(g) = sc.groups.iter().position(|g| g.name == j.value) {
                let n = f
                    .members
                    .as_ref()
                    .map_or(1, |m| m.value.min(limits::MEMBERS));
                self.member_limit[g] = self.member_limit[g].saturating_add(n as u32);
                if u64::from(self.member_limit[g]) > limits::MEMBERS_TOTAL {
                    bad!(
                        self,
                        j,
                        "group {:?} would have {} members with this join; at most {} in all",
                        j.value,
                        self.member_limit[g],
                        limits::MEMBERS_TOTAL
                    );
                }
            }
        }
        for f in &raw.faults {
            if let Some(fault) = self.fault(&sc, f) {
                // A fault that never happens would silently leave out the lesson's point.
                if until_as_written && fault.at_ms > sc.run.until_ms {
                    bad!(
                        self,
                        f.at_ms,
                        "this fault is at t={}ms, after the run ends (run.until_ms is {}): it would never happen",
                        fault.at_ms,
                        sc.run.until_ms
                    );
                }
                sc.faults.push(fault);
            }
        }
        sc.faults.sort_by_key(|f| f.at_ms);
        self.partition_growth(&mut sc, &raw);
        self.replica_limits(&sc, &raw);
        self.seek_partitions(&sc, &raw);
        sc.chaos = self.chaos(&sc, raw.chaos.as_ref());
        sc.expect = self.expect(raw.expect.as_ref(), &sc.groups, &sc.services);
        if self.problems.is_empty() {
            Ok(sc)
        } else {
            Err(self.problems)
        }
    }

    /// `add_partitions` faults in time order: each must raise its topic's partition count
    /// (Kafka refuses to shrink a topic or to keep its count, `InvalidPartitionsException`),
    /// and the counts reached must fit the partition limits. Sets each topic's
    /// `max_partitions`.
    fn partition_growth(&mut self, sc: &mut Scenario, raw: &RawScenario) {
        let mut adds: Vec<(u64, usize, u32, &S<u64>)> = raw
            .faults
            .iter()
            .filter_map(|f| {
                let t = sc.topic_index(&f.add_partitions.as_ref()?.value)?;
                let n = f.partitions.as_ref()?;
                Some((f.at_ms.value, t, n.value.min(u64::from(u32::MAX)) as u32, n))
            })
            .collect();
        adds.sort_by_key(|a| a.0);
        for (_, t, n, span) in adds {
            let topic = &mut sc.topics[t];
            if n <= topic.max_partitions {
                bad!(
                    self,
                    span,
                    "topic {:?} has {} partitions by then; add_partitions must raise the count (Kafka can neither shrink a topic nor keep its count)",
                    topic.name,
                    topic.max_partitions
                );
                continue;
            }
            topic.max_partitions = n;
        }
        let total: u64 = sc.topics.iter().map(|t| u64::from(t.max_partitions)).sum();
        if total > limits::PARTITIONS_TOTAL {
            bad!(
                self,
                raw.topics,
                "the topics would have {total} partitions in all once every add_partitions is done; at most {} are allowed",
                limits::PARTITIONS_TOTAL
            );
        }
    }

    /// Text that will be printed on a terminal: no control characters (a `lesson` may
    /// hold line breaks and tabs), no bidirectional overrides, no zero-width marks.
    fn printable(&mut self, s: &S<String>, what: &str, multiline: bool) {
        let bad = s
            .value
            .chars()
            .find(|&c| !(crate::diag::terminal_safe(c) || (multiline && matches!(c, '\n' | '\t'))));
        if let Some(c) = bad {
            bad!(
                self,
                s,
                "expected a {what} without control or invisible characters, got {:?} in it (U+{:04X})",
                c,
                c as u32
            );
        }
    }

    fn name(&mut self, s: &S<String>, what: &str) {
        let ok = !s.value.is_empty()
            && s.value.len() <= 64
            && s.value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !ok {
            bad!(
                self,
                s,
                "expected a {what} of 1 to 64 letters, digits, '.', '_' or '-', got {:?}",
                s.value
            );
        }
    }

    fn range(&mut self, s: &S<u64>, lo: u64, hi: u64, what: &str) -> u64 {
        if s.value < lo || s.value > hi {
            bad!(
                self,
                s,
                "expected {what} between {lo} and {hi}, got {}",
                s.value
            );
            return lo;
        }
        s.value
    }

    fn opt(&mut self, s: &Option<S<u64>>, default: u64, lo: u64, hi: u64, what: &str) -> u64 {
        match s {
            Some(s) => self.range(s, lo, hi, what),
            None => default,
        }
    }

    /// One of an enum's spellings (`ALL` and `name` of a `spelled!` enum).
    fn choice<T: Copy>(
        &mut self,
        s: &Option<S<String>>,
        default: T,
        all: &[T],
        name: fn(T) -> &'static str,
    ) -> T {
        let Some(s) = s else { return default };
        match all.iter().find(|&&v| name(v) == s.value) {
            Some(v) => *v,
            None => {
                let names: Vec<&str> = all.iter().map(|&v| name(v)).collect();
                bad!(
                    self,
                    s,
                    "expected one of {}, got {:?}",
                    names.join(", "),
                    s.value
                );
                default
            }
        }
    }

    /// A `partitioner` name: one of [`PartitionerKind::ALL`], with a "did you mean" for a
    /// near miss and a pointer for a client's own spelling of a partitioner.
    fn partitioner(&mut self, s: &S<String>) -> PartitionerKind {
        if let Some(kind) = PartitionerKind::from_name(&s.value) {
            return kind;
        }
        let names: Vec<&str> = PartitionerKind::ALL.iter().map(|k| k.name()).collect();
        let mut msg = format!(
            "expected a partitioner, one of {}, got {:?}",
            names.join(", "),
            s.value
        );
        if let Some(hint) = partitioner_hint(&s.value) {
            msg.push_str("; ");
            msg.push_str(&hint);
        }
        bad!(self, s, "{msg}");
        PartitionerKind::Java
    }

    fn cluster(&mut self, raw: Option<&RawCluster>) -> ClusterSpec {
        let mut spec = ClusterSpec::default();
        let Some(raw) = raw else { return spec };
        spec.brokers = self.opt(
            &raw.brokers,
            u64::from(spec.brokers),
            1,
            limits::BROKERS,
            "a broker count",
        ) as u32;
        if let Some(n) = &raw.network {
            let (lo, hi) = match n.latency_ms.value {
                RawLatency::Fixed(ms) => (ms, ms),
                RawLatency::Range(RawRange { min, max }) => (min, max),
            };
            if lo > hi || hi > 60_000 {
                bad!(
                    self,
                    n.latency_ms,
                    "expected 0 <= min <= max <= 60000 ms, got min {lo} and max {hi}"
                );
            }
            spec.latency_min_ms = lo;
            spec.latency_max_ms = hi.max(lo);
        }
        if let Some(c) = &raw.config {
            spec.initial_rebalance_delay_ms = self.opt(
                &c.group_initial_rebalance_delay_ms,
                spec.initial_rebalance_delay_ms,
                0,
                300_000,
                "group.initial.rebalance.delay.ms",
            );
            spec.min_insync_replicas = self.opt(
                &c.min_insync_replicas,
                u64::from(spec.min_insync_replicas),
                1,
                limits::BROKERS,
                "min.insync.replicas",
            ) as u32;
            if let Some(b) = &c.unclean_leader_election_enable {
                spec.unclean_leader_election = b.value;
            }
            spec.broker_session_timeout_ms = self.opt(
                &c.broker_session_timeout_ms,
                spec.broker_session_timeout_ms,
                1,
                limits::TIME_MS,
                "broker.session.timeout.ms",
            );
            let before = self.problems.len();
            spec.replica_lag_time_max_ms = self.opt(
                &c.replica_lag_time_max_ms,
                spec.replica_lag_time_max_ms,
                1,
                limits::TIME_MS,
                "replica.lag.time.max.ms",
            );
            spec.replica_fetch_wait_max_ms = self.opt(
                &c.replica_fetch_wait_max_ms,
                spec.replica_fetch_wait_max_ms,
                // 0 would let an idle follower and its leader (with latency_ms 0) trade
                // empty fetches at one instant until the event budget ends the run.
                1,
                limits::TIME_MS,
                "replica.fetch.wait.max.ms",
            );
            spec.replica_socket_timeout_ms = self.opt(
                &c.replica_socket_timeout_ms,
                spec.replica_socket_timeout_ms,
                1,
                limits::TIME_MS,
                "replica.socket.timeout.ms",
            );
            spec.replica_fetch_backoff_ms = self.opt(
                &c.replica_fetch_backoff_ms,
                spec.replica_fetch_backoff_ms,
                // 0 with latency_ms 0 would let a follower retry a crashed leader within
                // one instant forever.
                1,
                limits::TIME_MS,
                "replica.fetch.backoff.ms",
            );
            spec.log_retention_check_interval_ms = self.opt(
                &c.log_retention_check_interval_ms,
                spec.log_retention_check_interval_ms,
                1,
                limits::TIME_MS,
                "log.retention.check.interval.ms",
            );
            spec.log_cleaner_backoff_ms = self.opt(
                &c.log_cleaner_backoff_ms,
                spec.log_cleaner_backoff_ms,
                1,
                limits::TIME_MS,
                "log.cleaner.backoff.ms",
            );
            // KafkaConfig.validateValues: both bounds on replica.fetch.wait.max.ms, checked
            // only when the three values are valid themselves.
            let wait = spec.replica_fetch_wait_max_ms;
            let blame = c
                .replica_fetch_wait_max_ms
                .as_ref()
                .map(|s| s.referenced)
                .or(c.replica_socket_timeout_ms.as_ref().map(|s| s.referenced))
                .or(c.replica_lag_time_max_ms.as_ref().map(|s| s.referenced));
            let mut problems = Vec::new();
            if self.problems.len() == before {
                if wait > spec.replica_socket_timeout_ms {
                    problems.push(format!(
                        "replica.socket.timeout.ms ({} ms) should always be at least replica.fetch.wait.max.ms ({wait} ms) to prevent unnecessary socket timeouts, as Kafka requires",
                        spec.replica_socket_timeout_ms
                    ));
                }
                if wait > spec.replica_lag_time_max_ms {
                    problems.push(format!(
                        "replica.fetch.wait.max.ms ({wait} ms) should always be at most replica.lag.time.max.ms ({} ms) to prevent frequent changes in ISR, as Kafka requires",
                        spec.replica_lag_time_max_ms
                    ));
                }
            }
            if let Some(referenced) = blame {
                let (l, c) = at(&referenced);
                for problem in problems {
                    self.problems.push(Diagnostic::new(l, c, problem));
                }
            }
        }
        spec
    }

    fn topics(&mut self, raw: &S<Vec<RawTopic>>, cluster: &ClusterSpec) -> Vec<TopicSpec> {
        if raw.value.is_empty() {
            bad!(self, raw, "expected at least one topic");
        }
        if raw.value.len() > limits::NAMES {
            bad!(self, raw, "expected at most {} topics", limits::NAMES);
        }
        let mut out: Vec<TopicSpec> = Vec::new();
        for t in &raw.value {
            self.name(&t.name, "topic name");
            if out.iter().any(|o| o.name == t.name.value) {
                bad!(self, t.name, "topic {:?} is defined twice", t.name.value);
            }
            let partitions =
                self.opt(&t.partitions, 1, 1, limits::PARTITIONS, "a partition count") as u32;
            let replication_factor = self.opt(
                &t.replication_factor,
                1,
                1,
                limits::BROKERS,
                "a replication factor",
            ) as u32;
            if replication_factor > cluster.brokers {
                let s = t.replication_factor.as_ref().expect("above 1 only if set");
                bad!(
                    self,
                    s,
                    "replication factor {replication_factor} is larger than the {} broker{} of the cluster (Kafka: InvalidReplicationFactorException); raise cluster.brokers",
                    cluster.brokers,
                    if cluster.brokers == 1 { "" } else { "s" }
                );
            }
            let mut min_insync_replicas = cluster.min_insync_replicas;
            let mut unclean_leader_election = cluster.unclean_leader_election;
            let mut log = LogConfig::default();
            if let Some(c) = &t.config {
                log = self.log_config(c);
                min_insync_replicas = self.opt(
                    &c.min_insync_replicas,
                    u64::from(min_insync_replicas),
                    1,
                    limits::BROKERS,
                    "min.insync.replicas",
                ) as u32;
                if let Some(b) = &c.unclean_leader_election_enable {
                    unclean_leader_election = b.value;
                }
            }
            out.push(TopicSpec {
                name: t.name.value.clone(),
                partitions,
                replication_factor,
                min_insync_replicas,
                unclean_leader_election,
                log,
                max_partitions: partitions,
            });
        }
        out
    }

    /// A topic's retention and segment settings, with Kafka's bounds.
    fn log_config(&mut self, c: &RawTopicConfig) -> LogConfig {
        let d = LogConfig::default();
        let (mut delete, mut compact) = (d.delete, d.compact);
        if let Some(p) = &c.cleanup_policy {
            // Kafka takes a list; the order of its two words does not matter.
            match p.value.as_str() {
                "delete" => (delete, compact) = (true, false),
                "compact" => (delete, compact) = (false, true),
                "compact,delete" | "delete,compact" => (delete, compact) = (true, true),
                other => bad!(
                    self,
                    p,
                    "expected cleanup.policy delete, compact or compact,delete, got {other:?}"
                ),
            }
        }
        LogConfig {
            delete,
            compact,
            delete_retention_ms: self.opt(
                &c.delete_retention_ms,
                d.delete_retention_ms,
                0,
                i64::MAX as u64,
                "delete.retention.ms",
            ),
            retention_ms: self.minus_one_or(&c.retention_ms, d.retention_ms, "retention.ms"),
            retention_bytes: self.minus_one_or(
                &c.retention_bytes,
                d.retention_bytes,
                "retention.bytes",
            ),
            // Kafka's smallest segment.bytes is 14 (a record's overhead).
            segment_bytes: self.opt(
                &c.segment_bytes,
                d.segment_bytes,
                14,
                i32::MAX as u64,
                "segment.bytes",
            ),
            segment_ms: self.opt(
                &c.segment_ms,
                d.segment_ms,
                1,
                i64::MAX as u64,
                "segment.ms",
            ),
        }
    }

    /// A `long` setting that takes -1 for "no limit" (`None`), or 0 and up.
    fn minus_one_or(
        &mut self,
        s: &Option<S<i64>>,
        default: Option<u64>,
        what: &str,
    ) -> Option<u64> {
        let Some(s) = s else { return default };
        match s.value {
            -1 => None,
            v if v >= 0 => Some(v as u64),
            v => {
                bad!(
                    self,
                    s,
                    "expected {what} -1 (no limit) or at least 0, got {v}"
                );
                default
            }
        }
    }

    fn topic_ref(&mut self, sc: &Scenario, s: &S<String>) -> Option<usize> {
        let found = sc.topic_index(&s.value);
        if found.is_none() {
            let known: Vec<&str> = sc.topics.iter().map(|t| t.name.as_str()).collect();
            bad!(
                self,
                s,
                "unknown topic {:?}; the topics are: {}",
                s.value,
                known.join(", ")
            );
        }
        found
    }

    fn producer_config(&mut self, raw: Option<&RawProducerConfig>) -> ProducerConfig {
        let mut c = ProducerConfig::default();
        let Some(raw) = raw else { return c };
        if let Some(a) = &raw.acks {
            c.acks = match &a.value {
                RawScalar::Int(0) => Acks::None,
                RawScalar::Int(1) => Acks::Leader,
                RawScalar::Int(-1) => Acks::All,
                RawScalar::Text(t) if t == "all" || t == "-1" => Acks::All,
                RawScalar::Text(t) if t == "1" => Acks::Leader,
                RawScalar::Text(t) if t == "0" => Acks::None,
                other => {
                    bad!(self, a, "expected acks 0, 1 or all, got {}", scalar(other));
                    Acks::All
                }
            };
        }
        let explicit_idempotence = raw.enable_idempotence.as_ref().map(|b| b.value);
        c.retries = self.opt(&raw.retries, c.retries, 0, i32::MAX as u64, "retries");
        c.retry_backoff_ms = self.opt(
            &raw.retry_backoff_ms,
            c.retry_backoff_ms,
            0,
            3_600_000,
            "retry.backoff.ms",
        );
        c.request_timeout_ms = self.opt(
            &raw.request_timeout_ms,
            c.request_timeout_ms,
            1,
            3_600_000,
            "request.timeout.ms",
        );
        c.delivery_timeout_ms = self.opt(
            &raw.delivery_timeout_ms,
            c.delivery_timeout_ms,
            1,
            limits::TIME_MS,
            "delivery.timeout.ms",
        );
        c.max_in_flight = self.opt(
            &raw.max_in_flight_requests_per_connection,
            u64::from(c.max_in_flight),
            1,
            1_000,
            "max.in.flight.requests.per.connection",
        ) as u32;
        if let Some(name) = &raw.partitioner {
            c.partitioner = self.partitioner(name);
        }
        c.linger_ms = self.opt(&raw.linger_ms, c.linger_ms, 0, 3_600_000, "linger.ms");
        c.metadata_max_age_ms = self.opt(
            &raw.metadata_max_age_ms,
            c.metadata_max_age_ms,
            1,
            limits::TIME_MS,
            "metadata.max.age.ms",
        );
        c.batch_size = self.opt(&raw.batch_size, c.batch_size, 0, 16 << 20, "batch.size");
        // Kafka (ProducerConfig.postProcessAndValidateIdempotenceConfigs): idempotence
        // needs acks=all, retries > 0 and at most 5 requests in flight. Set explicitly, a
        // conflict is a ConfigException; left at its default, idempotence is quietly
        // switched off.
        let conflicts = c.acks != Acks::All || c.retries == 0 || c.max_in_flight > 5;
        match (explicit_idempotence, conflicts) {
            (Some(true), true) => {
                let s = raw.enable_idempotence.as_ref().expect("checked above");
                bad!(
                    self,
                    s,
                    "enable.idempotence: true needs acks: all, retries > 0 and max.in.flight.requests.per.connection at most 5 (Kafka refuses this configuration)"
                );
            }
            (Some(v), _) => c.enable_idempotence = v,
            (None, true) => {
                c.enable_idempotence = false;
                c.idempotence_switched_off = Some(if c.acks != Acks::All {
                    "acks is not all"
                } else if c.retries == 0 {
                    "retries is 0"
                } else {
                    "max.in.flight.requests.per.connection is above 5"
                });
            }
            (None, false) => {}
        }
        // Kafka's ProducerConfig refuses a delivery timeout shorter than one request could
        // take, linger.ms + request.timeout.ms (a ConfigException).
        if c.delivery_timeout_ms < c.request_timeout_ms + c.linger_ms {
            if let Some(s) = raw
                .delivery_timeout_ms
                .as_ref()
                .or(raw.request_timeout_ms.as_ref())
                .or(raw.linger_ms.as_ref())
            {
                bad!(
                    self,
                    s,
                    "delivery.timeout.ms ({} ms) should be equal to or larger than linger.ms + request.timeout.ms ({} ms), as Kafka requires",
                    c.delivery_timeout_ms,
                    c.request_timeout_ms + c.linger_ms
                );
            }
        }
        c
    }

    fn send(&mut self, raw: &RawSend, topic_name: &str) -> SendSpec {
        let count = self.range(&raw.count, 0, limits::RECORDS, "a count");
        let every_ms = self.opt(&raw.every_ms, 1, 0, limits::TIME_MS, "every_ms");
        let start_ms = self.opt(&raw.start_ms, 0, 0, limits::TIME_MS, "start_ms");
        let keys = match &raw.keys {
            None => Keys::Null,
            Some(k) => {
                if !k.pattern.value.contains("{n}")
                    && k.distinct.as_ref().is_some_and(|d| d.value > 1)
                {
                    bad!(
                        self,
                        k.pattern,
                        "expected a key pattern containing {{n}} when distinct > 1, got {:?}",
                        k.pattern.value
                    );
                }
                self.printable(&k.pattern, "key pattern", false);
                if k.pattern.value.len() > 200 {
                    bad!(
                        self,
                        k.pattern,
                        "expected a key pattern of at most 200 bytes"
                    );
                }
                let distinct = self.opt(&k.distinct, count.max(1), 1, limits::RECORDS, "distinct");
                Keys::Pattern {
                    pattern: k.pattern.value.clone(),
                    distinct,
                }
            }
        };
        let event_type = match &raw.event_type {
            Some(t) => {
                self.name(t, "event type");
                t.value.clone()
            }
            None => event_type_for(topic_name),
        };
        let tombstone_every = raw.tombstone_every.as_ref().map(|n| {
            if matches!(keys, Keys::Null) {
                bad!(
                    self,
                    n,
                    "expected keys: with tombstone_every: a tombstone deletes a key, and these sends have null keys"
                );
            }
            self.range(n, 1, limits::RECORDS, "tombstone_every")
        });
        SendSpec {
            count,
            every_ms,
            start_ms,
            keys,
            event_type,
            tombstone_every,
        }
    }

    /// Kafka refuses null-key records on a compacted topic (`LogValidator`:
    /// InvalidRecordException, "Compacted topic cannot accept message without key"): here
    /// that is a scenario error, found before the run.
    fn keys_for_compaction(
        &mut self,
        sc: &Scenario,
        topic: Option<usize>,
        send: &SendSpec,
        who: &S<String>,
    ) {
        let Some(t) = topic.map(|t| &sc.topics[t]) else {
            return;
        };
        if t.log.compact && matches!(send.keys, Keys::Null) {
            bad!(
                self,
                who,
                "expected keys: for {:?}, which sends to topic {:?} with cleanup.policy {}: Kafka refuses null-key records on a compacted topic (InvalidRecordException)",
                who.value,
                t.name,
                t.log.cleanup_policy()
            );
        }
    }

    fn producer(&mut self, sc: &Scenario, raw: &RawProducer) -> Option<ProducerSpec> {
        self.name(&raw.name, "producer name");
        let topic = self.topic_ref(sc, &raw.topic);
        let config = self.producer_config(raw.config.as_ref());
        let send = self.send(&raw.send, &raw.topic.value);
        self.keys_for_compaction(sc, topic, &send, &raw.name);
        Some(ProducerSpec {
            name: raw.name.value.clone(),
            topic: topic?,
            config,
            send,
        })
    }

    fn group(&mut self, sc: &Scenario, raw: &RawGroup) -> Option<GroupSpec> {
        self.name(&raw.name, "group name");
        let mut topics = Vec::new();
        for t in &raw.topics {
            if let Some(i) = self.topic_ref(sc, t) {
                if !topics.contains(&i) {
                    topics.push(i);
                }
            }
        }
        if raw.topics.is_empty() {
            bad!(
                self,
                raw.name,
                "group {:?} subscribes to no topic",
                raw.name.value
            );
        }
        let members = self.opt(&raw.members, 1, 0, limits::MEMBERS, "a member count") as u32;
        let default_topics = topics.clone();
        let mut subscriptions = Vec::new();
        if let Some(subs) = &raw.subscriptions {
            if subs.value.len() > members as usize {
                bad!(
                    self,
                    subs,
                    "{} subscriptions for a group of {members} members: one list per member at most",
                    subs.value.len()
                );
            }
            for list in &subs.value {
                if list.is_empty() {
                    bad!(
                        self,
                        subs,
                        "a member's subscription lists no topic; write its topics, or leave it out to use the group's topics"
                    );
                }
                let mut mine = Vec::new();
                for t in list {
                    if let Some(i) = self.topic_ref(sc, t) {
                        if !mine.contains(&i) {
                            mine.push(i);
                        }
                        if !topics.contains(&i) {
                            topics.push(i);
                        }
                    }
                }
                subscriptions.push(mine);
            }
        }
        let start_at_ms = self.opt(&raw.start_at_ms, 0, 0, limits::TIME_MS, "start_at_ms");
        let client = self.choice(
            &raw.client,
            ClientProfile::Java,
            ClientProfile::ALL,
            ClientProfile::name,
        );
        let config = self.consumer_config(raw.config.as_ref(), client);
        let processing = self.processing(raw.processing.as_ref());
        let idempotency = raw.idempotency.as_ref().map(|i| self.idempotency(i));
        Some(GroupSpec {
            name: raw.name.value.clone(),
            topics,
            default_topics,
            subscriptions,
            members,
            start_at_ms,
            config,
            processing,
            idempotency,
            static_members: raw.static_members.as_ref().is_some_and(|b| b.value),
        })
    }

    /// The `config` map of a group whose members run `client`. librdkafka's defaults for
    /// the properties both clients share are Java's (CONFIGURATION.md: 5000, 45000, 3000,
    /// 300000, `largest`); only `enable.auto.offset.store` is its own.
    fn consumer_config(
        &mut self,
        raw: Option<&RawConsumerConfig>,
        client: ClientProfile,
    ) -> ConsumerConfig {
        let d = ConsumerConfig {
            client,
            ..ConsumerConfig::default()
        };
        let Some(raw) = raw else { return d };
        if let Some(s) = raw
            .enable_auto_offset_store
            .as_ref()
            .filter(|_| client == ClientProfile::Java)
        {
            bad!(
                self,
                s,
                "enable.auto.offset.store is a librdkafka property: the Java consumer has no offset store (its auto-commit commits the positions from inside poll()); set `client: librdkafka` on the group, or remove it"
            );
        }
        let config = ConsumerConfig {
            client,
            enable_auto_offset_store: raw
                .enable_auto_offset_store
                .as_ref()
                .map_or(d.enable_auto_offset_store, |b| b.value),
            enable_auto_commit: raw
                .enable_auto_commit
                .as_ref()
                .map_or(d.enable_auto_commit, |b| b.value),
            auto_commit_interval_ms: self.opt(
                &raw.auto_commit_interval_ms,
                d.auto_commit_interval_ms,
                1,
                limits::TIME_MS,
                "auto.commit.interval.ms",
            ),
            auto_offset_reset: self.choice(
                &raw.auto_offset_reset,
                d.auto_offset_reset,
                OffsetReset::ALL,
                OffsetReset::name,
            ),
            assignor: self.choice(
                &raw.partition_assignment_strategy,
                d.assignor,
                Assignor::ALL,
                Assignor::name,
            ),
            // Kafka's broker refuses sessions outside group.min/max.session.timeout.ms.
            session_timeout_ms: self.opt(
                &raw.session_timeout_ms,
                d.session_timeout_ms,
                6_000,
                1_800_000,
                "session.timeout.ms (group.min.session.timeout.ms to group.max.session.timeout.ms)",
            ),
            heartbeat_interval_ms: self.opt(
                &raw.heartbeat_interval_ms,
                d.heartbeat_interval_ms,
                1,
                limits::TIME_MS,
                "heartbeat.interval.ms",
            ),
            max_poll_interval_ms: self.opt(
                &raw.max_poll_interval_ms,
                d.max_poll_interval_ms,
                1,
                limits::TIME_MS,
                "max.poll.interval.ms",
            ),
            max_poll_records: self.opt(
                &raw.max_poll_records,
                d.max_poll_records,
                1,
                100_000,
                "max.poll.records",
            ),
            fetch_max_wait_ms: self.opt(
                &raw.fetch_max_wait_ms,
                d.fetch_max_wait_ms,
                1,
                60_000,
                "fetch.max.wait.ms",
            ),
            metadata_max_age_ms: self.opt(
                &raw.metadata_max_age_ms,
                d.metadata_max_age_ms,
                1,
                limits::TIME_MS,
                "metadata.max.age.ms",
            ),
        };
        // Kafka's consumer refuses to start (Heartbeat's constructor throws).
        if config.heartbeat_interval_ms >= config.session_timeout_ms {
            if let Some(s) = raw
                .heartbeat_interval_ms
                .as_ref()
                .or(raw.session_timeout_ms.as_ref())
            {
                bad!(
                    self,
                    s,
                    "heartbeat.interval.ms ({}) must be lower than session.timeout.ms ({}): Kafka refuses it (\"Heartbeat must be set lower than the session timeout\")",
                    config.heartbeat_interval_ms,
                    config.session_timeout_ms
                );
            }
        }
        config
    }

    fn processing(&mut self, raw: Option<&RawProcessing>) -> Processing {
        let mut p = Processing {
            time_ms: 1,
            effect: "process".to_string(),
            commit: CommitMode::None,
        };
        let Some(raw) = raw else { return p };
        p.time_ms = self.opt(&raw.time_ms, 1, 0, limits::TIME_MS, "time_ms");
        if let Some(e) = &raw.effect {
            self.name(e, "effect name");
            p.effect = e.value.clone();
        }
        p.commit = self.choice(
            &raw.commit,
            CommitMode::None,
            CommitMode::ALL,
            CommitMode::name,
        );
        p
    }

    fn idempotency(&mut self, raw: &RawIdempotency) -> Idempotency {
        let store = self.choice(
            &Some(raw.store.clone()),
            StoreKind::External,
            StoreKind::ALL,
            StoreKind::name,
        );
        let ttl_ms = raw
            .ttl_ms
            .as_ref()
            .map(|t| self.range(t, 1, limits::TIME_MS * 100, "ttl_ms"));
        let on_unavailable = self.choice(
            &raw.on_store_unavailable,
            StoreUnavailable::Retry,
            StoreUnavailable::ALL,
            StoreUnavailable::name,
        );
        Idempotency {
            store,
            ttl_ms,
            on_unavailable,
        }
    }

    fn service(&mut self, sc: &Scenario, raw: &RawService) -> Option<ServiceSpec> {
        self.name(&raw.name, "service name");
        let topic = self.topic_ref(sc, &raw.topic);
        let commands = self.send(&raw.commands, &raw.topic.value);
        self.keys_for_compaction(sc, topic, &commands, &raw.name);
        let publish = self.choice(
            &Some(raw.publish.clone()),
            Publish::Outbox,
            Publish::ALL,
            Publish::name,
        );
        let commit_ms = raw.database.as_ref().map_or(1, |d| {
            self.opt(&d.commit_ms, 1, 0, limits::TIME_MS, "commit_ms")
        });
        let producer = self.producer_config(raw.producer.as_ref());
        let mut relay = RelaySpec {
            poll_interval_ms: 100,
            batch_size: 10,
            count: 1,
            mark: MarkMode::AfterAck,
        };
        if let Some(r) = &raw.relay {
            if publish == Publish::DualWrite {
                bad!(
                    self,
                    raw.publish,
                    "a relay only runs with publish: outbox (a dual write sends directly)"
                );
            }
            relay.poll_interval_ms = self.opt(
                &r.poll_interval_ms,
                100,
                1,
                limits::TIME_MS,
                "poll_interval_ms",
            );
            relay.batch_size = self.opt(&r.batch_size, 10, 1, 100_000, "batch_size");
            relay.count = self.opt(&r.count, 1, 1, 16, "a relay count") as u32;
            relay.mark = self.choice(&r.mark, MarkMode::AfterAck, MarkMode::ALL, MarkMode::name);
        }
        Some(ServiceSpec {
            name: raw.name.value.clone(),
            topic: topic?,
            commands,
            publish,
            commit_ms,
            producer,
            relay,
        })
    }

    /// Producers, groups and services share one namespace: a fault names them by it.
    /// The budgets that bound what a run costs, not only what it counts (README, Limits).
    fn cost_limits(&mut self, sc: &Scenario, raw: &RawScenario) {
        let partitions: u64 = sc.topics.iter().map(|t| u64::from(t.partitions)).sum();
        if partitions > limits::PARTITIONS_TOTAL {
            bad!(
                self,
                raw.topics,
                "the topics have {partitions} partitions in all; at most {} are allowed",
                limits::PARTITIONS_TOTAL
            );
        }
        // Validated and raw sends line up: producers, then services, in file order.
        let sends = sc
            .producers
            .iter()
            .map(|p| (p.topic, &p.send))
            .chain(sc.services.iter().map(|s| (s.topic, &s.commands)));
        let raw_keys = raw
            .producers
            .iter()
            .map(|p| &p.send.keys)
            .chain(raw.services.iter().map(|s| &s.commands.keys));
        let (mut keys, mut key_bytes) = (0u64, 0u64);
        // The key pattern that costs most: where the error points.
        let mut heaviest: (u64, Option<&S<String>>) = (0, None);
        let mut per_topic = vec![0u64; sc.topics.len()];
        for ((topic, send), raw_key) in sends.zip(raw_keys) {
            per_topic[topic] = per_topic[topic].saturating_add(send.count);
            if let Keys::Pattern { pattern, distinct } = &send.keys {
                let n = (*distinct).min(send.count.max(1));
                keys = keys.saturating_add(n);
                // Each key is the pattern with {n} replaced by up to 8 digits.
                let bytes = n.saturating_mul(pattern.len() as u64 + 8);
                key_bytes = key_bytes.saturating_add(bytes);
                if bytes >= heaviest.0 {
                    heaviest = (bytes, raw_key.as_ref().map(|k| &k.pattern));
                }
            }
        }
        if keys > limits::KEYS_TOTAL || key_bytes > limits::KEY_BYTES_TOTAL {
            let (line, column) = heaviest
                .1
                .map_or(at(&raw.topics.referenced), |p| at(&p.referenced));
            self.problems.push(Diagnostic::new(
                line,
                column,
                format!(
                    "the keys would be {keys} distinct keys and about {} MiB of text; at most {} keys and {} MiB are allowed",
                    key_bytes >> 20,
                    limits::KEYS_TOTAL,
                    limits::KEY_BYTES_TOTAL >> 20
                ),
            ));
        }
        let (mut consumed, mut idle_work, mut group_parts) = (0u64, 0u64, 0u64);
        for g in &sc.groups {
            let records: u64 = g.topics.iter().map(|&t| per_topic[t]).sum();
            let parts: u64 = g
                .topics
                .iter()
                .map(|&t| u64::from(sc.topics[t].partitions))
                .sum();
            consumed = consumed.saturating_add(records);
            group_parts = group_parts.saturating_add(parts);
            let polls =
                (sc.run.until_ms / g.config.fetch_max_wait_ms.max(1)).min(sc.run.max_events);
            idle_work = idle_work.saturating_add(parts.saturating_mul(polls));
        }
        if consumed > limits::CONSUMED_RECORDS {
            bad!(
                self,
                raw.topics,
                "the groups would consume {consumed} records in all (each record once per group subscribed to its topic); at most {} are allowed",
                limits::CONSUMED_RECORDS
            );
        }
        if group_parts > limits::GROUP_PARTITIONS {
            bad!(
                self,
                raw.consumer_groups[0].name,
                "the consumer groups subscribe to {group_parts} partitions in all (each group's partitions, summed over groups); at most {} are allowed",
                limits::GROUP_PARTITIONS
            );
        }
        if idle_work > limits::IDLE_POLL_WORK {
            bad!(
                self,
                raw.topics,
                "idle polling would scan partitions {idle_work} times (partitions subscribed × until_ms / fetch.max.wait.ms, over all groups); at most {} are allowed: raise fetch.max.wait.ms, or subscribe to fewer partitions",
                limits::IDLE_POLL_WORK
            );
        }
    }

    /// What the replicas cost (README, Limits): the records they hold, and the replicas
    /// the brokers' retention checks and cleaner passes visit. Counted with each topic's
    /// partitions after every `add_partitions`.
    fn replica_limits(&mut self, sc: &Scenario, raw: &RawScenario) {
        let mut sent = vec![0u64; sc.topics.len()];
        let sends = sc.producers.iter().map(|p| (p.topic, p.send.count));
        for (topic, count) in sends.chain(sc.services.iter().map(|s| (s.topic, s.commands.count))) {
            sent[topic] = sent[topic].saturating_add(count);
        }
        let copies: u64 = (sc.topics.iter().zip(&sent))
            .map(|(t, &n)| n.saturating_mul(u64::from(t.replication_factor)))
            .fold(0, u64::saturating_add);
        if copies > limits::REPLICA_RECORDS {
            bad!(
                self,
                raw.topics,
                "the replicas would hold {copies} records (records sent to each topic × its replication_factor); at most {} are allowed: send fewer records, or lower replication_factor",
                limits::REPLICA_RECORDS
            );
        }
        let replicas: u64 = sc
            .topics
            .iter()
            .map(|t| u64::from(t.max_partitions) * u64::from(t.replication_factor))
            .sum();
        let c = &sc.cluster;
        let ticks = |every_ms: u64| (sc.run.until_ms / every_ms.max(1)).min(sc.run.max_events);
        let mut visits = ticks(c.log_retention_check_interval_ms);
        if sc.topics.iter().any(|t| t.log.compact) {
            visits = visits.saturating_add(ticks(c.log_cleaner_backoff_ms));
        }
        let work = replicas.saturating_mul(visits);
        if work > limits::HOUSEKEEPING_WORK {
            bad!(
                self,
                raw.topics,
                "the brokers' retention checks and cleaner passes would visit replicas {work} times ({replicas} replicas × until_ms / log.retention.check.interval.ms, plus / log.cleaner.backoff.ms when a topic compacts); at most {} are allowed: raise those intervals, or use fewer partitions or replicas",
                limits::HOUSEKEEPING_WORK
            );
        }
    }

    fn unique_names(&mut self, raw: &RawScenario) {
        let mut seen: Vec<&str> = Vec::new();
        let names = raw
            .producers
            .iter()
            .map(|p| &p.name)
            .chain(raw.consumer_groups.iter().map(|g| &g.name))
            .chain(raw.services.iter().map(|s| &s.name));
        for n in names {
            if seen.contains(&n.value.as_str()) {
                bad!(
                    self,
                    n,
                    "the name {:?} is used twice; producers, groups and services need distinct names",
                    n.value
                );
            }
            seen.push(&n.value);
        }
    }

    fn run(&mut self, raw: Option<&RawRun>) -> RunSpec {
        let Some(raw) = raw else {
            return RunSpec {
                until_ms: DEFAULT_UNTIL_MS,
                max_events: DEFAULT_MAX_EVENTS,
            };
        };
        RunSpec {
            until_ms: self.opt(
                &raw.until_ms,
                DEFAULT_UNTIL_MS,
                1,
                limits::TIME_MS,
                "until_ms",
            ),
            max_events: self.opt(
                &raw.max_events,
                DEFAULT_MAX_EVENTS,
                1,
                limits::EVENTS,
                "max_events",
            ),
        }
    }

    /// Resolves a name to what a fault can crash or restart.
    fn target(&mut self, sc: &Scenario, s: &S<String>) -> Option<Target> {
        let name = s.value.as_str();
        if let Some(i) = sc.services.iter().position(|x| x.name == name) {
            return Some(Target::Service(i));
        }
        for (gi, g) in sc.groups.iter().enumerate() {
            if let Some(n) = indexed(name, &g.name) {
                if n < self.member_limit[gi] {
                    return Some(Target::Member {
                        group: gi,
                        index: n,
                    });
                }
                bad!(
                    self,
                    s,
                    "{:?} does not exist: group {:?} has {} members in all (counting joins), named {}-1 to {}-{}",
                    name,
                    g.name,
                    self.member_limit[gi],
                    g.name,
                    g.name,
                    self.member_limit[gi]
                );
                return None;
            }
        }
        for (si, svc) in sc.services.iter().enumerate() {
            if let Some(n) = indexed(name, &format!("{}-relay", svc.name)) {
                if n < svc.relay.count && svc.publish == Publish::Outbox {
                    return Some(Target::Relay {
                        service: si,
                        index: n,
                    });
                }
            }
        }
        if let Some(n) = indexed(name, "broker").or_else(|| {
            // `broker-0`, `broker-01`: a broker name all the same, refused below with the
            // names the cluster has.
            name.strip_prefix("broker-")
                .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
                .map(|_| u32::MAX)
        }) {
            if n < sc.cluster.brokers {
                return Some(Target::Broker(n));
            }
            bad!(
                self,
                s,
                "unknown broker {:?}: the cluster has {} broker{} (broker-1{})",
                name,
                sc.cluster.brokers,
                if sc.cluster.brokers == 1 { "" } else { "s" },
                if sc.cluster.brokers > 1 {
                    format!(" … broker-{}", sc.cluster.brokers)
                } else {
                    String::new()
                }
            );
            return None;
        }
        let mut known: Vec<String> = Vec::new();
        for (gi, g) in sc.groups.iter().enumerate() {
            known.extend((0..g.members.min(3)).map(|i| sc.member_name(gi, i)));
        }
        known.extend(sc.services.iter().map(|s| s.name.clone()));
        if known.is_empty() {
            bad!(
                self,
                s,
                "unknown member, service or relay {:?}: this scenario has no consumer group members, services or relays to name",
                name
            );
        } else {
            bad!(
                self,
                s,
                "unknown member, service or relay {:?}; known names include: {}",
                name,
                known.join(", ")
            );
        }
        None
    }

    /// The target of an action only a consumer group member can take (`leave`,
    /// `close_interrupted`): its group and index.
    fn member_only(
        &mut self,
        sc: &Scenario,
        name: &S<String>,
        action: &str,
    ) -> Option<(usize, u32)> {
        match self.target(sc, name)? {
            Target::Member { group, index } => Some((group, index)),
            _ => {
                bad!(
                    self,
                    name,
                    "only a consumer group member can {}, got {:?}",
                    action,
                    name.value
                );
                None
            }
        }
    }

    fn fault(&mut self, sc: &Scenario, f: &RawFault) -> Option<Fault> {
        let at_ms = self.range(&f.at_ms, 0, limits::TIME_MS, "at_ms");
        let actions = [
            f.crash.is_some(),
            f.restart.is_some(),
            f.join.is_some(),
            f.add_partitions.is_some(),
            f.leave.is_some(),
            f.close_interrupted.is_some(),
            f.shutdown.is_some(),
            f.isolate_broker.is_some(),
            f.messages.is_some(),
            f.isolate.is_some(),
            f.kafka_outage.is_some(),
            f.store_outage.is_some(),
            f.mark_fails.is_some(),
            f.seek.is_some(),
        ];
        if actions.iter().filter(|a| **a).count() != 1 {
            bad!(
                self,
                f.at_ms,
                "expected exactly one of crash, restart, join, add_partitions, leave, close_interrupted, shutdown, isolate_broker, messages, isolate, kafka_outage, store_outage, mark_fails, seek in this fault"
            );
            return None;
        }
        let action = if let Some(c) = &f.crash {
            self.crash(sc, f, c)?
        } else if let Some(r) = &f.restart {
            FaultAction::Restart(self.target(sc, r)?)
        } else if let Some(j) = &f.join {
            let group = self.group_ref(sc, j)?;
            let members = self.opt(&f.members, 1, 1, limits::MEMBERS, "members") as u32;
            let start = sc.groups[group].start_at_ms;
            if f.at_ms.value < start {
                bad!(
                    self,
                    j,
                    "group {:?} starts at t={start}ms (start_at_ms); a join at t={}ms is before it: give the group more members, or join at or after its start",
                    j.value,
                    f.at_ms.value
                );
            }
            FaultAction::Join { group, members }
        } else if let Some(t) = &f.add_partitions {
            let topic = self.topic_ref(sc, t)?;
            let Some(n) = &f.partitions else {
                bad!(
                    self,
                    t,
                    "add_partitions needs partitions: the topic's new partition count"
                );
                return None;
            };
            let partitions = self.range(n, 1, limits::PARTITIONS, "a partition count") as u32;
            FaultAction::AddPartitions { topic, partitions }
        } else if let Some(l) = &f.leave {
            let (group, index) = self.member_only(sc, l, "leave")?;
            FaultAction::Leave { group, index }
        } else if let Some(c) = &f.close_interrupted {
            let (group, index) =
                self.member_only(sc, c, "have its close interrupted (close_interrupted)")?;
            FaultAction::CloseInterrupted { group, index }
        } else if let Some(b) = &f.shutdown {
            match self.target(sc, b)? {
                Target::Broker(n) => FaultAction::Shutdown(n),
                _ => {
                    bad!(
                        self,
                        b,
                        "shutdown applies to brokers (broker-1 …); a member shuts down with leave"
                    );
                    return None;
                }
            }
        } else if let Some(b) = &f.isolate_broker {
            match self.target(sc, b)? {
                Target::Broker(broker) => FaultAction::IsolateBroker {
                    broker,
                    for_ms: self.duration(f)?,
                },
                _ => {
                    bad!(
                        self,
                        b,
                        "isolate_broker applies to brokers (broker-1 …); a producer or service is cut off with isolate"
                    );
                    return None;
                }
            }
        } else if let Some(m) = &f.messages {
            let Some(kind) = MessageKind::ALL
                .iter()
                .copied()
                .find(|k| k.name() == m.value)
            else {
                let names: Vec<&str> = MessageKind::ALL.iter().map(|k| k.name()).collect();
                bad!(
                    self,
                    m,
                    "expected a message kind ({}), got {:?}",
                    names.join(", "),
                    m.value
                );
                return None;
            };
            let rule = match (&f.drop, &f.delay_ms) {
                (Some(d), None) if d.value => MessageRule::Drop,
                (None, Some(ms)) => MessageRule::Delay(self.range(ms, 1, 3_600_000, "delay_ms")),
                _ => {
                    bad!(
                        self,
                        m,
                        "a messages fault needs exactly one of drop: true or delay_ms"
                    );
                    return None;
                }
            };
            if rule == MessageRule::Drop && !kind.droppable() {
                bad!(
                    self,
                    m,
                    "only produce, produce_response, replica_fetch and replica_fetch_response can be dropped (a consumer's requests have no timeout here, so a lost one would stall it for good); delay it with delay_ms"
                );
            }
            FaultAction::Messages {
                kind,
                rule,
                for_ms: self.duration(f)?,
            }
        } else if let Some(i) = &f.isolate {
            let client = if let Some(p) = sc.producers.iter().position(|p| p.name == i.value) {
                Client::Producer(p)
            } else if let Some(s) = sc.services.iter().position(|s| s.name == i.value) {
                Client::Service(s)
            } else {
                bad!(
                    self,
                    i,
                    "unknown producer or service {:?} to isolate",
                    i.value
                );
                return None;
            };
            FaultAction::Isolate {
                client,
                for_ms: self.duration(f)?,
                refused: f.refused.as_ref().is_some_and(|r| r.value),
            }
        } else if let Some(k) = &f.kafka_outage {
            if !k.value {
                bad!(self, k, "expected kafka_outage: true");
            }
            FaultAction::KafkaOutage {
                for_ms: self.duration(f)?,
            }
        } else if let Some(m) = &f.mark_fails {
            let Target::Relay { service, index } = self.target(sc, m)? else {
                bad!(
                    self,
                    m,
                    "only an outbox relay (<service>-relay-<n>) marks rows PUBLISHED, got {:?}",
                    m.value
                );
                return None;
            };
            FaultAction::MarkFails {
                service,
                index,
                for_ms: self.duration(f)?,
            }
        } else if let Some(g) = &f.seek {
            self.seek(sc, f, g)?
        } else {
            let s = f.store_outage.as_ref().expect("one action is present");
            let group = self.group_ref(sc, s)?;
            if sc.groups[group].idempotency.as_ref().map(|i| i.store) != Some(StoreKind::External) {
                bad!(
                    self,
                    s,
                    "group {:?} has no external idempotency store to take down",
                    s.value
                );
            }
            FaultAction::StoreOutage {
                group,
                for_ms: self.duration(f)?,
            }
        };
        self.check_fault_fields(f, &action);
        Some(Fault { at_ms, action })
    }

    fn crash(&mut self, sc: &Scenario, f: &RawFault, c: &S<String>) -> Option<FaultAction> {
        let target = self.target(sc, c)?;
        let point = match &f.point {
            None => None,
            Some(p) => match CrashPoint::from_name(&p.value) {
                None => {
                    let names: Vec<&str> = CrashPoint::ALL.iter().map(|p| p.name()).collect();
                    bad!(
                        self,
                        p,
                        "expected a crash point ({}), got {:?}",
                        names.join(", "),
                        p.value
                    );
                    return None;
                }
                Some(point) => {
                    let kind = match target {
                        Target::Member { .. } => TargetKind::Member,
                        Target::Service(_) => TargetKind::Service,
                        Target::Relay { .. } => TargetKind::Relay,
                        Target::Broker(_) => {
                            bad!(
                                self,
                                p,
                                "{:?} is a broker: brokers crash at once and have no crash points",
                                c.value
                            );
                            return None;
                        }
                    };
                    if let Target::Member { group, .. } = target {
                        if let Some(why) = unreachable_point(&sc.groups[group], point) {
                            bad!(
                                self,
                                p,
                                "{} can never crash at {}: {why}",
                                c.value,
                                point.name()
                            );
                        }
                    }
                    if point.target_kind() != kind {
                        bad!(
                            self,
                            p,
                            "{:?} cannot crash at {}: that point belongs to a {}",
                            c.value,
                            point.name(),
                            match point.target_kind() {
                                TargetKind::Member => "consumer member",
                                TargetKind::Service => "service",
                                TargetKind::Relay => "relay",
                            }
                        );
                    }
                    Some(point)
                }
            },
        };
        let on_record = f
            .on_record
            .as_ref()
            .map(|n| self.range(n, 1, limits::RECORDS, "on_record"));
        if on_record.is_some() && point.is_none() {
            bad!(self, c, "on_record needs a crash point to count records at");
        }
        Some(FaultAction::Crash {
            target,
            point,
            on_record,
        })
    }

    /// `seek: GROUP` with `to:`, and `topic:` / `partition:` to narrow it.
    fn seek(&mut self, sc: &Scenario, f: &RawFault, g: &S<String>) -> Option<FaultAction> {
        let group = self.group_ref(sc, g)?;
        let Some(to) = &f.to else {
            bad!(
                self,
                g,
                "seek needs to: beginning, end, an offset, or {{ timestamp_ms: T }}"
            );
            return None;
        };
        let to = match &to.value {
            RawSeekTo::Word(w) if w == "beginning" => SeekTo::Beginning,
            RawSeekTo::Word(w) if w == "end" => SeekTo::End,
            RawSeekTo::Word(w) => {
                bad!(
                    self,
                    to,
                    "expected beginning, end, an offset (`40`) or a timestamp (`{{ timestamp_ms: 5000 }}`), got {w:?}"
                );
                return None;
            }
            RawSeekTo::Offset(o) => {
                if *o > limits::RECORDS {
                    bad!(
                        self,
                        to,
                        "expected an offset of at most {}, got {o}",
                        limits::RECORDS
                    );
                }
                SeekTo::Offset(*o)
            }
            RawSeekTo::Timestamp(RawTimestamp { timestamp_ms }) => {
                if *timestamp_ms > limits::TIME_MS {
                    bad!(
                        self,
                        to,
                        "expected a timestamp_ms of at most {}, got {timestamp_ms}",
                        limits::TIME_MS
                    );
                }
                SeekTo::Timestamp(*timestamp_ms)
            }
        };
        let reads = &sc.groups[group].topics;
        let topic = match &f.topic {
            Some(t) => {
                let topic = self.topic_ref(sc, t)?;
                if !reads.contains(&topic) {
                    bad!(
                        self,
                        t,
                        "group {:?} does not read topic {:?}: it can seek only the partitions it is assigned",
                        g.value,
                        t.value
                    );
                    return None;
                }
                Some(topic)
            }
            None if f.partition.is_some() && reads.len() > 1 => {
                let names: Vec<&str> = reads.iter().map(|&t| sc.topics[t].name.as_str()).collect();
                bad!(
                    self,
                    g,
                    "group {:?} reads several topics ({}): a seek with partition needs topic: too",
                    g.value,
                    names.join(", ")
                );
                return None;
            }
            None => f.partition.as_ref().and(reads.first().copied()),
        };
        let partition = f
            .partition
            .as_ref()
            .map(|p| p.value.min(u64::from(u32::MAX)) as u32);
        Some(FaultAction::Seek {
            group,
            to,
            topic,
            partition,
        })
    }

    /// A seek's `partition` must exist when the seek happens: the topic's count, raised by
    /// the `add_partitions` faults at or before it.
    fn seek_partitions(&mut self, sc: &Scenario, raw: &RawScenario) {
        for f in &raw.faults {
            let (Some(g), Some(p)) = (&f.seek, &f.partition) else {
                continue;
            };
            let Some(group) = sc.groups.iter().position(|x| x.name == g.value) else {
                continue;
            };
            let topic = match &f.topic {
                Some(t) => sc.topic_index(&t.value),
                None if sc.groups[group].topics.len() == 1 => {
                    sc.groups[group].topics.first().copied()
                }
                None => None,
            };
            let Some(t) = topic else { continue };
            let count = raw
                .faults
                .iter()
                .filter(|a| a.at_ms.value <= f.at_ms.value)
                .filter(|a| {
                    a.add_partitions
                        .as_ref()
                        .is_some_and(|n| n.value == sc.topics[t].name)
                })
                .filter_map(|a| a.partitions.as_ref().map(|n| n.value))
                .fold(u64::from(sc.topics[t].partitions), u64::max);
            if p.value >= count {
                bad!(
                    self,
                    p,
                    "topic {:?} has {count} partition{} (0 … {}) at t={}ms, got partition {}",
                    sc.topics[t].name,
                    if count == 1 { "" } else { "s" },
                    count - 1,
                    f.at_ms.value,
                    p.value
                );
            }
        }
    }

    fn duration(&mut self, f: &RawFault) -> Option<u64> {
        match &f.for_ms {
            Some(d) => Some(self.range(d, 1, limits::TIME_MS, "for_ms")),
            None => {
                bad!(self, f.at_ms, "this fault needs for_ms: how long it lasts");
                None
            }
        }
    }

    fn group_ref(&mut self, sc: &Scenario, s: &S<String>) -> Option<usize> {
        let g = sc.groups.iter().position(|g| g.name == s.value);
        if g.is_none() {
            bad!(self, s, "unknown consumer group {:?}", s.value);
        }
        g
    }

    /// Fields that belong to another action are mistakes worth naming.
    fn check_fault_fields(&mut self, f: &RawFault, action: &FaultAction) {
        let is_crash = matches!(action, FaultAction::Crash { .. });
        if !is_crash {
            if let Some(p) = &f.point {
                bad!(self, p, "point only applies to crash");
            }
            if let Some(n) = &f.on_record {
                bad!(self, n, "on_record only applies to crash");
            }
        }
        if !matches!(action, FaultAction::Join { .. }) {
            if let Some(m) = &f.members {
                bad!(self, m, "members only applies to join");
            }
        }
        if !matches!(action, FaultAction::AddPartitions { .. }) {
            if let Some(p) = &f.partitions {
                bad!(self, p, "partitions only applies to add_partitions");
            }
        }
        if !matches!(action, FaultAction::Seek { .. }) {
            if let Some(t) = &f.to {
                bad!(self, t, "to only applies to seek");
            }
            if let Some(t) = &f.topic {
                bad!(self, t, "topic only applies to seek");
            }
            if let Some(p) = &f.partition {
                bad!(self, p, "partition only applies to seek");
            }
        }
        if !matches!(action, FaultAction::Isolate { .. }) {
            if let Some(r) = &f.refused {
                bad!(self, r, "refused only applies to isolate");
            }
        }
        if !matches!(action, FaultAction::Messages { .. }) {
            if let Some(d) = &f.drop {
                bad!(self, d, "drop only applies to messages");
            }
            if let Some(d) = &f.delay_ms {
                bad!(self, d, "delay_ms only applies to messages");
            }
        }
        let timed = matches!(
            action,
            FaultAction::Isolate { .. }
                | FaultAction::KafkaOutage { .. }
                | FaultAction::StoreOutage { .. }
                | FaultAction::MarkFails { .. }
                | FaultAction::Messages { .. }
                | FaultAction::IsolateBroker { .. }
        );
        if !timed {
            if let Some(d) = &f.for_ms {
                bad!(
                    self,
                    d,
                    "for_ms only applies to isolate, isolate_broker, kafka_outage, store_outage, mark_fails and messages"
                );
            }
        }
    }

    fn expect(
        &mut self,
        raw: Option<&RawExpect>,
        groups: &[GroupSpec],
        services: &[ServiceSpec],
    ) -> Vec<Expectation> {
        let Some(raw) = raw else { return Vec::new() };
        let mut out = Vec::new();
        for (name, value) in &raw.0 {
            let Some((counter, within)) = self.expect_key(name, groups, services) else {
                continue;
            };
            let condition = match &value.value {
                RawScalar::Int(n) if *n >= 0 => Some(Condition {
                    op: Op::Eq,
                    value: *n as u64,
                }),
                RawScalar::Int(_) => None,
                RawScalar::Text(t) => Condition::parse(t),
            };
            match condition {
                Some(condition) => out.push(Expectation {
                    counter,
                    within,
                    condition,
                    name: name.value.clone(),
                }),
                None => bad!(
                    self,
                    value,
                    "expected a count or a condition such as \">= 1\" or \"< 3\", got {}",
                    scalar(&value.value)
                ),
            }
        }
        out
    }

    /// An `expect:` key: a counter name (the run's total), or `GROUP.COUNTER` /
    /// `SERVICE.COUNTER` for a counter of that scope (counter names have no dots, so the
    /// last dot splits).
    fn expect_key(
        &mut self,
        name: &S<String>,
        groups: &[GroupSpec],
        services: &[ServiceSpec],
    ) -> Option<(Counter, Within)> {
        if let Some(counter) = Counter::from_name(&name.value) {
            return Some((counter, Within::Run));
        }
        let Some((owner, counter_name)) = name.value.rsplit_once('.') else {
            let names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
            bad!(
                self,
                name,
                "unknown counter {:?}; expected one of {}, or GROUP.COUNTER / SERVICE.COUNTER for one group's or service's count",
                name.value,
                names.join(", ")
            );
            return None;
        };
        let Some(counter) = Counter::from_name(counter_name) else {
            bad!(
                self,
                name,
                "unknown counter {:?} in {:?}",
                counter_name,
                name.value
            );
            return None;
        };
        let group = groups.iter().position(|g| g.name == owner);
        let service = services.iter().position(|s| s.name == owner);
        match (counter.scope(), group, service) {
            (Scope::Group, Some(g), _) => Some((counter, Within::Group(g))),
            (Scope::Service, _, Some(s)) => Some((counter, Within::Service(s))),
            (scope, _, _) => {
                let what = match scope {
                    Scope::Group => "consumer group",
                    Scope::Service => "service",
                    Scope::Total => "",
                };
                if what.is_empty() {
                    bad!(
                        self,
                        name,
                        "{} is counted only for the whole run; write it without {:?}",
                        counter_name,
                        format!("{owner}.")
                    );
                } else {
                    bad!(
                        self,
                        name,
                        "{} is counted per {what}, and there is no {what} named {:?}",
                        counter_name,
                        owner
                    );
                }
                None
            }
        }
    }
}

/// Why a member of `g` can never reach `point`, if it cannot.
fn unreachable_point(g: &GroupSpec, point: CrashPoint) -> Option<&'static str> {
    let external = g.idempotency.as_ref().map(|i| i.store) == Some(StoreKind::External);
    match point {
        CrashPoint::AfterCommit if g.processing.commit == CommitMode::None => {
            Some("the group never commits by itself (processing.commit: none)")
        }
        CrashPoint::AfterEffectBeforeMark | CrashPoint::AfterMarkBeforeCommit if !external => {
            Some("it only exists with an external idempotency store (idempotency.store: external)")
        }
        _ => None,
    }
}

/// `name-N` → Some(N-1) for N >= 1.
fn indexed(name: &str, base: &str) -> Option<u32> {
    let rest = name.strip_prefix(base)?.strip_prefix('-')?;
    if rest.starts_with('0') {
        return None;
    }
    let n: u32 = rest.parse().ok()?;
    n.checked_sub(1)
}

fn scalar(s: &RawScalar) -> String {
    match s {
        RawScalar::Int(n) => n.to_string(),
        RawScalar::Text(t) => format!("{t:?}"),
    }
}

/// `order.placed` → `OrderPlaced`: the event type a topic's events get unless one is given.
pub fn event_type_for(topic: &str) -> String {
    topic
        .split(['.', '-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_every_operator() {
        let c = |s| Condition::parse(s).unwrap();
        assert!(c(">= 1").holds(1) && !c(">= 1").holds(0));
        assert!(c("> 1").holds(2) && !c("> 1").holds(1));
        assert!(c("<3").holds(2) && !c("<3").holds(3));
        assert!(c("<= 3").holds(3) && c("0").holds(0) && c("!= 2").holds(1));
        assert_eq!(Condition::parse("lots"), None);
    }

    #[test]
    fn topics_name_their_default_event_type() {
        assert_eq!(event_type_for("order.placed"), "OrderPlaced");
        assert_eq!(event_type_for("payments"), "Payments");
    }

    #[test]
    fn member_names_resolve_to_indexes() {
        assert_eq!(indexed("pay-2", "pay"), Some(1));
        assert_eq!(indexed("pay-0", "pay"), None);
        assert_eq!(indexed("pay-02", "pay"), None);
        assert_eq!(indexed("payx-2", "pay"), None);
    }
}
