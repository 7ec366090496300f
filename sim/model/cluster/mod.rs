//! The brokers and their replicas: partition logs on every replica, the ISR, the high
//! watermark, leader election by the controller, broker crashes and restarts, produce
//! (with `acks` and the idempotent producer's sequence check), fetch with
//! `fetch.max.wait.ms` parking, and ListOffsets. One component for all brokers: clients
//! reach them as one endpoint (`Endpoint::Cluster`); followers fetch from their leaders over
//! the network between `Endpoint::Broker`s, one fetch per partition and follower (README,
//! Simplifications).
//!
//! Inputs: `Produce`, `Fetch`, `ListOffsets`, `ReplicaFetch` and `ReplicaFetchResponse`
//! messages, and replica messages the network lost (`on_lost`); `FetchWait`, `Replicate`,
//! `ReplicaFetchTimeout`, `ReplicaFetchWaits`, `IsrExpiration` and `Fence` timers; broker
//! crash, clean shutdown, restart, cut and heal (`on_broker`). Outputs: their answers;
//! `Append`, `DuplicateIgnored`, `Rejected`, `LeaderChange`, `IsrChange`, `HighWatermark`,
//! `LogTruncated`, `ReplicaTruncated` and broker trace records; timers.
//!
//! What it follows (apache/kafka 3.8/4.0, SEMANTICS.md §5): a follower's fetch offset is its
//! log end offset as the leader knows it (`Partition.updateFollowerFetchState`); a record
//! is committed once every ISR member has fetched past it, and the high watermark is the
//! smallest such log end offset in the ISR (`Partition.maybeIncrementLeaderHW`), frozen while the ISR is smaller than
//! `min.insync.replicas` (KAFKA-15583, 3.7+); acks=all is refused with NotEnoughReplicas
//! when the ISR is too small at append (`Partition.appendRecordsToLeader`) and otherwise
//! answered once the high watermark passes the batch (`DelayedProduce`); the KRaft
//! controller fences a silent broker after `broker.session.timeout.ms`, drops it from
//! every ISR (keeping the last member of an ISR, which cannot be empty) and elects the
//! first live ISR replica, or with `unclean.leader.election.enable` any live replica;
//! each election bumps the leader epoch; a follower whose log diverges from its leader's
//! is told where in the fetch answer and truncates there (KIP-320); a follower not caught
//! up for `replica.lag.time.max.ms` leaves the ISR (`Partition.maybeShrinkIsr`) and one
//! that reaches the high watermark rejoins it (`Partition.maybeExpandIsr`).
//! What does not live here: the group coordinator (`coordinator.rs`) and anything a
//! client decides.

use crate::engine::Time;
use crate::model::io::{
    Endpoint, FetchRequest, Msg, OffsetSpec, Out, Produce, ProduceBatch, ProduceResults, Timer,
    TimerKey,
};
use crate::model::log::{Offset, PartitionLog, Record};
use crate::scenario::{Acks, Scenario};
use crate::trace::{Kind, PartId, SendError};
use fetcher::ReplicaState;
use std::collections::BTreeMap;
use std::collections::VecDeque;

mod fetcher;

/// Kafka keeps the last five batches per producer and partition to recognise retries
/// (`ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
const BATCHES_TO_RETAIN: usize = 5;

/// Timer keys: fetch waits use the member index; these sit above any member.
const REPLICATE: TimerKey = 1 << 40;
const FENCE: TimerKey = 1 << 41;
const ISR_EXPIRATION: TimerKey = 1 << 42;
const REPLICA_WAITS: TimerKey = 1 << 43;
const RETENTION: TimerKey = 1 << 44;
const CLEANER: TimerKey = 1 << 45;

/// The broker's state for one producer id on one partition (`ProducerStateEntry`).
#[derive(Default)]
struct SequenceState {
    /// The producer epoch of the last append; None before the first.
    epoch: Option<u16>,
    last_sequence: u32,
    /// (first sequence, last sequence, base offset) of the last appended batches, oldest
    /// first.
    recent: Vec<(u32, u32, Offset)>,
}

enum AppendResult {
    Appended(Offset),
    Duplicate(Offset),
    Refused(SendError),
}

/// A fetch waiting for data or for fetch.max.wait.ms.
struct Parked {
    member: u32,
    request: Box<FetchRequest>,
}

/// What a crash, clean shutdown or restart does to a broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerControl {
    Crash,
    Shutdown,
    Restart,
    /// Cut off from the other brokers and the controller (clients still reach it).
    Cut,
    /// The cut ends.
    Heal,
}

#[derive(Clone, Copy, Debug, Default)]
struct Broker {
    up: bool,
    /// Cut off from the other brokers and the controller: it still serves clients, but
    /// no replica copies across the cut and the controller fences it.
    cut: bool,
    /// Fenced by the controller: out of every ISR, leads nothing, until it comes back.
    fenced: bool,
}

/// One partition's replicas (Kafka's `Partition` on its leader, plus the controller's
/// view of it).
struct Replicas {
    /// Brokers holding a replica, in the assignment's order (the first is the preferred
    /// leader).
    brokers: Vec<u32>,
    /// One log per replica, in `brokers`' order.
    logs: Vec<PartitionLog>,
    leader: Option<usize>,
    /// The replica that led last (the leader, or the one before an offline spell): its log
    /// is the partition's log as consumers and the checker know it.
    last_leader: usize,
    leader_epoch: u32,
    /// Replica indexes in the ISR, in `brokers`' order.
    isr: Vec<usize>,
    min_isr: usize,
    unclean: bool,
    /// The high watermark (the leader's; kept here so a new leader starts from it).
    high_watermark: Offset,
    /// Per replica, in `brokers`' order: its fetch loop, and its leader's view of it.
    replicas: Vec<ReplicaState>,
    /// The partition exists: from the start, or since an `add_partitions` created it.
    /// Until then it has no replicas and no leader, and one empty log for `Cluster::log`.
    created: bool,
    /// Where its replicas go (the leader first), for a partition created later.
    placement: Vec<u32>,
    log_config: crate::scenario::LogConfig,
}

impl Replicas {
    /// A partition with a replica on each of `brokers` (the first leads), every one in
    /// sync and empty.
    fn create(&mut self) {
        let n = self.placement.len();
        self.brokers = self.placement.clone();
        self.logs = (0..n).map(|_| PartitionLog::new(self.log_config)).collect();
        self.leader = Some(0);
        self.last_leader = 0;
        self.isr = (0..n).collect();
        self.replicas = vec![ReplicaState::default(); n];
        self.created = true;
    }

    fn leader_log(&self) -> Option<&PartitionLog> {
        self.leader.map(|l| &self.logs[l])
    }
}

/// An acks=all produce request waiting for its batches to be committed (`DelayedProduce`).
struct Delayed {
    to: Endpoint,
    producer_id: u32,
    request_id: u32,
    results: ProduceResults,
    /// (index in `results`, offset the high watermark must reach), not yet reached.
    waiting: Vec<(usize, Offset)>,
}

pub struct Cluster {
    brokers: Vec<Broker>,
    parts: Vec<Replicas>,
    sequences: BTreeMap<(u32, PartId), SequenceState>,
    parked: Vec<Parked>,
    delayed: Vec<Delayed>,
    scratch: Vec<Record>,
    /// Parked follower fetches in the order they parked, which is the order of their
    /// deadlines (every one waits replica.fetch.wait.max.ms): (deadline, partition,
    /// replica, fetch id). Entries whose fetch was answered meanwhile are skipped.
    replica_waits: VecDeque<(Time, PartId, u32, u32)>,
    /// When the `ReplicaFetchWaits` timer is set for.
    replica_waits_timer: Option<Time>,
    session_timeout_ms: u64,
    replica_lag_ms: u64,
    replica_wait_ms: u64,
    replica_socket_timeout_ms: u64,
    replica_backoff_ms: u64,
    /// Two network latencies and replica.fetch.wait.max.ms can add up to
    /// replica.socket.timeout.ms: every fetch arms its timeout.
    slow_links: bool,
    /// Any partition with more than one replica: only then are high watermark rows traced.
    replicated: bool,
    /// `log.retention.check.interval.ms`, if any topic's retention can delete anything.
    retention_check_ms: Option<u64>,
    /// `log.cleaner.backoff.ms`, if any topic's `cleanup.policy` includes `compact`.
    cleaner_backoff_ms: Option<u64>,
    /// Scratch for one cleaner pass's removed records.
    removed: Vec<crate::model::log::Removed>,
}

impl Cluster {
    /// The brokers of `sc`, every partition's replicas placed as `placement` says, every
    /// broker up and every replica in sync.
    pub fn new(sc: &Scenario) -> Cluster {
        let counts: Vec<u32> = sc.topics.iter().map(|t| t.max_partitions).collect();
        let factors: Vec<u32> = sc.topics.iter().map(|t| t.replication_factor).collect();
        let placement = Cluster::placement(&counts, &factors, sc.cluster.brokers);
        let mut parts = Vec::new();
        for topic in &sc.topics {
            for p in 0..topic.max_partitions {
                let mut r = Replicas {
                    logs: vec![PartitionLog::new(topic.log)],
                    leader: None,
                    last_leader: 0,
                    leader_epoch: 0,
                    isr: Vec::new(),
                    min_isr: topic.min_insync_replicas as usize,
                    unclean: topic.unclean_leader_election,
                    high_watermark: Offset::ZERO,
                    replicas: Vec::new(),
                    created: false,
                    placement: placement[parts.len()].clone(),
                    log_config: topic.log,
                    brokers: Vec::new(),
                };
                if p < topic.partitions {
                    r.create();
                }
                parts.push(r);
            }
        }
        Cluster {
            brokers: vec![
                Broker {
                    up: true,
                    cut: false,
                    fenced: false
                };
                sc.cluster.brokers as usize
            ],
            replicated: parts.iter().any(|p| p.placement.len() > 1),
            parts,
            sequences: BTreeMap::new(),
            parked: Vec::new(),
            delayed: Vec::new(),
            scratch: Vec::new(),
            replica_waits: VecDeque::new(),
            replica_waits_timer: None,
            session_timeout_ms: sc.cluster.broker_session_timeout_ms,
            replica_lag_ms: sc.cluster.replica_lag_time_max_ms,
            replica_wait_ms: sc.cluster.replica_fetch_wait_max_ms,
            replica_socket_timeout_ms: sc.cluster.replica_socket_timeout_ms,
            replica_backoff_ms: sc.cluster.replica_fetch_backoff_ms,
            retention_check_ms: sc
                .topics
                .iter()
                .any(|t| t.log.deletes())
                .then_some(sc.cluster.log_retention_check_interval_ms),
            cleaner_backoff_ms: sc
                .topics
                .iter()
                .any(|t| t.log.compact)
                .then_some(sc.cluster.log_cleaner_backoff_ms),
            removed: Vec::new(),
            slow_links: 2 * sc.cluster.latency_max_ms + sc.cluster.replica_fetch_wait_max_ms
                >= sc.cluster.replica_socket_timeout_ms,
        }
    }

    /// `add_partitions`: partitions `from..to` of the topic whose first partition is
    /// `first` come into being, each led by its first replica with every replica in sync
    /// (`Admin.createPartitions`), and their followers start fetching.
    pub fn create_partitions(&mut self, first: PartId, from: u32, to: u32, out: &mut Out) {
        for p in from..to {
            let part = first.plus(p);
            if self.parts[part.ix()].created {
                continue;
            }
            self.parts[part.ix()].create();
            for r in 0..self.parts[part.ix()].brokers.len() {
                self.fetch_from_leader(part, r, out);
            }
        }
    }

    /// Every follower sends its first fetch, and (with any follower) the leaders' ISR
    /// check starts, every half of replica.lag.time.max.ms (`ReplicaManager`'s
    /// `isr-expiration` task).
    pub fn start(&mut self, out: &mut Out) {
        if let Some(ms) = self.retention_check_ms {
            out.set_timer(RETENTION, ms, Timer::RetentionCheck);
        }
        if let Some(ms) = self.cleaner_backoff_ms {
            out.set_timer(CLEANER, ms, Timer::LogCleaner);
        }
        if !self.replicated {
            return;
        }
        for ix in 0..self.parts.len() {
            for r in 0..self.parts[ix].brokers.len() {
                self.fetch_from_leader(PartId(ix as u32), r, out);
            }
        }
        out.set_timer(
            ISR_EXPIRATION,
            (self.replica_lag_ms / 2).max(1),
            Timer::IsrExpiration,
        );
    }

    /// Replica brokers (0-based) of each partition, the leader first. Leaders are spread
    /// like Kafka's round-robin placement, offset per topic
    /// (`AdminUtils.assignReplicasToBrokers`, rack-unaware, without its random start and
    /// shift); follower `j` sits on the `j`th broker after the leader.
    pub fn placement(partitions_per_topic: &[u32], factors: &[u32], brokers: u32) -> Vec<Vec<u32>> {
        let mut out = Vec::new();
        for (t, &n) in partitions_per_topic.iter().enumerate() {
            let rf = factors.get(t).copied().unwrap_or(1).clamp(1, brokers);
            for i in 0..n {
                let leader = (i + t as u32) % brokers;
                out.push((0..rf).map(|j| (leader + j) % brokers).collect());
            }
        }
        out
    }

    /// The first leader of each partition (the preferred replica).
    pub fn leaders(partitions_per_topic: &[u32], brokers: u32) -> Vec<u32> {
        Cluster::placement(partitions_per_topic, &[], brokers)
            .into_iter()
            .map(|r| r[0])
            .collect()
    }

    /// The partition's log as its leader has it (its first replica's when it has none).
    pub fn log(&self, part: PartId) -> &PartitionLog {
        let p = &self.parts[part.ix()];
        &p.logs[p.leader.unwrap_or(0)]
    }

    /// ListOffsets for one partition, as its leader answers it (`Partition
    /// .fetchOffsetForTimestamp`): the log start offset, the high watermark, or the first
    /// offset below the high watermark whose timestamp is at or after the one asked for
    /// (the high watermark when there is none).
    fn list_offset(&self, p: PartId, spec: OffsetSpec) -> Offset {
        let hw = self.parts[p.ix()].high_watermark;
        let log = self.log(p);
        match spec {
            OffsetSpec::Earliest => log.log_start_offset(),
            OffsetSpec::Latest => hw,
            OffsetSpec::ForTimestamp(ts) => log.offset_for_timestamp(ts, hw).unwrap_or(hw),
        }
    }

    pub fn on_message(&mut self, from: Endpoint, msg: Msg, out: &mut Out) {
        match (from, msg) {
            (Endpoint::Client(_), Msg::Produce(p)) => self.produce(from, p, out),
            (Endpoint::Member(m), Msg::Fetch(request)) => self.fetch(m, request, out),
            (Endpoint::Broker(_), Msg::ReplicaFetch(request)) => {
                self.on_replica_fetch(*request, out)
            }
            (Endpoint::Broker(_), Msg::ReplicaFetchResponse(response)) => {
                self.on_replica_fetch_response(*response, out)
            }
            (Endpoint::Member(_), Msg::ListOffsets { request_id, parts }) => {
                let offsets = parts
                    .iter()
                    .map(|&(p, spec)| (p, self.list_offset(p, spec)))
                    .collect();
                out.send(
                    from,
                    Msg::ListOffsetsResponse {
                        request_id,
                        offsets,
                    },
                );
            }
            (from, msg) => unreachable!("the cluster got {msg:?} from {from:?}"),
        }
    }

    pub fn on_timer(&mut self, timer: Timer, out: &mut Out) {
        match timer {
            Timer::FetchWait { member, fetch_id } => {
                if let Some(i) = self
                    .parked
                    .iter()
                    .position(|p| p.member == member && p.request.fetch_id == fetch_id)
                {
                    self.parked.swap_remove(i);
                    out.send(
                        Endpoint::Member(member),
                        Msg::FetchResponse {
                            fetch_id,
                            records: Vec::new(),
                            out_of_range: Vec::new(),
                        },
                    );
                }
            }
            Timer::Replicate { part, replica } => {
                let state = &mut self.parts[part.ix()].replicas[replica as usize];
                state.timer_set = false;
                self.fetch_from_leader(part, replica as usize, out);
            }
            Timer::ReplicaFetchTimeout {
                part,
                replica,
                fetch_id,
            } => {
                let state = &mut self.parts[part.ix()].replicas[replica as usize];
                state.timer_set = false;
                if state.in_flight == Some(fetch_id) {
                    state.in_flight = None;
                    self.back_off(part, replica as usize, out);
                }
            }
            Timer::ReplicaFetchWaits => self.expire_replica_waits(out),
            Timer::IsrExpiration => {
                self.shrink_isrs(out);
                out.set_timer(
                    ISR_EXPIRATION,
                    (self.replica_lag_ms / 2).max(1),
                    Timer::IsrExpiration,
                );
            }
            Timer::RetentionCheck => {
                self.delete_old_segments(out);
                if let Some(ms) = self.retention_check_ms {
                    out.set_timer(RETENTION, ms, Timer::RetentionCheck);
                }
            }
            Timer::Fence { broker } => {
                let b = self.brokers[broker as usize];
                if (!b.up || b.cut) && !b.fenced {
                    self.fence(broker, out);
                }
            }
            other => unreachable!("the cluster sets no {other:?} timer"),
        }
    }

    /// A broker crashes, shuts down cleanly, or comes back.
    pub fn on_broker(&mut self, broker: u32, control: BrokerControl, out: &mut Out) {
        let b = broker as usize;
        match control {
            BrokerControl::Crash | BrokerControl::Shutdown if self.brokers[b].up => {
                let clean = control == BrokerControl::Shutdown;
                out.trace(Kind::BrokerDown { broker, clean });
                if clean {
                    // Controlled shutdown: leadership moves before the broker stops, so the
                    // acks=all requests it held are answered NOT_LEADER_OR_FOLLOWER.
                    self.fence(broker, out);
                }
                self.brokers[b].up = false;
                // Requests it still held die with it: their clients time out.
                let parts = &self.parts;
                self.delayed.retain(|d| {
                    !d.waiting.iter().any(|&(i, _)| {
                        let part = d.results[i].0;
                        parts[part.ix()].leader.map(|l| parts[part.ix()].brokers[l]) == Some(broker)
                    })
                });
                // Its replicas stop fetching, and the followers whose fetches are parked at
                // it lose them with the connection and back off. Answers it sent before
                // going down are on the wire and still arrive; fetches on their way to it
                // find it down.
                for ix in 0..self.parts.len() {
                    let part = PartId(ix as u32);
                    let p = &mut self.parts[ix];
                    let Some(b) = p.brokers.iter().position(|&x| x == broker) else {
                        continue;
                    };
                    p.replicas[b].in_flight = None;
                    p.replicas[b].parked = None;
                    if std::mem::take(&mut p.replicas[b].timer_set) {
                        out.cancel_timer(replicate_key(part, b));
                    }
                    if p.leader == Some(b) {
                        for r in 0..p.replicas.len() {
                            let p = &mut self.parts[ix];
                            if p.replicas[r].parked.take().is_some() {
                                self.back_off(part, r, out);
                            }
                        }
                    }
                }
                if !clean {
                    out.set_timer(
                        FENCE | u64::from(broker),
                        self.session_timeout_ms,
                        Timer::Fence { broker },
                    );
                }
            }
            BrokerControl::Restart if !self.brokers[b].up => {
                // A broker that comes back cut off cannot register with the controller:
                // it stays fenced, or is fenced when its session runs out.
                let cut = self.brokers[b].cut;
                self.brokers[b] = Broker {
                    up: true,
                    cut,
                    fenced: cut && self.brokers[b].fenced,
                };
                if !cut {
                    out.cancel_timer(FENCE | u64::from(broker));
                }
                out.trace(Kind::BrokerUp { broker });
                for ix in 0..self.parts.len() {
                    let Some(r) = self.parts[ix].brokers.iter().position(|&x| x == broker) else {
                        continue;
                    };
                    let part = PartId(ix as u32);
                    if self.parts[ix].leader.is_none() {
                        self.elect(part, out);
                    }
                    self.refetch(part, r, out);
                }
            }
            // Cut off: the controller stops hearing from it and fences it after the session
            // timeout; meanwhile it leads what it led, and accepts writes its followers
            // cannot copy (acks=1 is answered; acks=all waits).
            BrokerControl::Cut if !self.brokers[b].cut => {
                // The network drops what crosses the cut (the fault injector's link
                // rules): followers on the far side from their leader stop getting
                // answers, and their leaders drop them from the ISR after
                // replica.lag.time.max.ms, if they can still tell the controller.
                self.brokers[b].cut = true;
                if self.brokers[b].up {
                    out.set_timer(
                        FENCE | u64::from(broker),
                        self.session_timeout_ms,
                        Timer::Fence { broker },
                    );
                }
            }
            // Healed: if fenced meanwhile it registers again, and its replicas follow their
            // leaders (dropping what those do not have) as after a restart.
            BrokerControl::Heal if self.brokers[b].cut => {
                self.brokers[b].cut = false;
                if !self.brokers[b].up {
                    return;
                }
                out.cancel_timer(FENCE | u64::from(broker));
                self.brokers[b].fenced = false;
                for ix in 0..self.parts.len() {
                    let part = PartId(ix as u32);
                    if self.parts[ix].leader.is_none() {
                        self.elect(part, out);
                    }
                    // Its replicas, and the followers of what it leads, reconnect at once
                    // rather than wait out the fetches the cut lost.
                    let p = &self.parts[ix];
                    let led = p.leader.map(|l| p.brokers[l]) == Some(broker);
                    for r in 0..p.brokers.len() {
                        if led || self.parts[ix].brokers[r] == broker {
                            self.refetch(part, r, out);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Retention on every replica of a running broker, each by its own log and high
    /// watermark (`UnifiedLog.deleteOldSegments` from `LogManager.cleanupLogs`); the
    /// partition's log (its leader's, or last leader's) is traced. Cost: O(replicas +
    /// segments deleted).
    fn delete_old_segments(&mut self, out: &mut Out) {
        let now = out.now;
        for ix in 0..self.parts.len() {
            let p = &mut self.parts[ix];
            for r in 0..p.brokers.len() {
                let broker = p.brokers[r];
                if !self.brokers[broker as usize].up {
                    continue;
                }
                let Some((log_start, breach)) = p.logs[r].delete_old_segments(now) else {
                    continue;
                };
                if r == p.last_leader {
                    out.trace(Kind::SegmentsDeleted {
                        part: PartId(ix as u32),
                        broker,
                        log_start,
                        breach,
                    });
                }
            }
        }
    }

    /// The log cleaner's pass on every replica of a running broker (`LogCleaner`'s
    /// `CleanerThread.cleanFilthiestLog`, here every compacted log each time), each by its
    /// own segments and high watermark, so followers reach what their leader has; then the
    /// next pass in `log.cleaner.backoff.ms`. `envelopes` gives each event's key and
    /// tombstone flag. The partition's log (its leader's, or last leader's) is traced: one
    /// `RecordCompacted` per removed record, then `LogCleaned`. Cost: O(replicas), plus
    /// O(log keys) for each record that is new in a cleanable part or removed.
    pub fn clean_logs(&mut self, envelopes: &[crate::trace::Envelope], out: &mut Out) {
        let now = out.now;
        let key_of = |e: crate::trace::EventIx| {
            let env = &envelopes[e.ix()];
            crate::model::log::CleanerKey {
                key: (env.key != crate::trace::NO_KEY).then_some(env.key),
                tombstone: env.tombstone,
            }
        };
        let mut removed = std::mem::take(&mut self.removed);
        for ix in 0..self.parts.len() {
            let p = &mut self.parts[ix];
            // A partition not created yet has no replicas (and one empty log).
            for r in 0..p.brokers.len() {
                let broker = p.brokers[r];
                if !self.brokers[broker as usize].up {
                    continue;
                }
                removed.clear();
                let Some(pass) = p.logs[r].clean(now, key_of, &mut removed) else {
                    continue;
                };
                if r != p.last_leader {
                    continue;
                }
                let part = PartId(ix as u32);
                for &(offset, superseded_by) in &removed {
                    out.trace(Kind::RecordCompacted {
                        part,
                        offset,
                        superseded_by,
                    });
                }
                out.trace(Kind::LogCleaned {
                    part,
                    broker,
                    cleaned_to: pass.cleaned_to,
                    removed: pass.removed,
                    tombstones: pass.tombstones,
                });
            }
        }
        self.removed = removed;
        if let Some(ms) = self.cleaner_backoff_ms {
            out.set_timer(CLEANER, ms, Timer::LogCleaner);
        }
    }

    fn live(&self, broker: u32) -> bool {
        let b = self.brokers[broker as usize];
        b.up && !b.fenced
    }

    /// The controller fences `broker`: it leaves every ISR (an ISR keeps its last member),
    /// and the partitions it led get new leaders.
    fn fence(&mut self, broker: u32, out: &mut Out) {
        self.brokers[broker as usize].fenced = true;
        out.trace(Kind::BrokerFenced { broker });
        for ix in 0..self.parts.len() {
            let part = PartId(ix as u32);
            let p = &mut self.parts[ix];
            let Some(r) = p.brokers.iter().position(|&x| x == broker) else {
                continue;
            };
            let led = p.leader == Some(r);
            if p.isr.len() > 1 {
                if let Some(i) = p.isr.iter().position(|&x| x == r) {
                    p.isr.remove(i);
                    out.trace(Kind::IsrChange {
                        part,
                        broker,
                        joined: false,
                        size: p.isr.len() as u32,
                    });
                }
            }
            if led {
                p.leader = None;
                self.elect(part, out);
            } else {
                self.advance_high_watermark(part, out);
            }
        }
    }

    /// Elects a leader for a partition that has none: the first live ISR replica, else
    /// (with unclean election) the first live replica, else none (offline).
    fn elect(&mut self, part: PartId, out: &mut Out) {
        let brokers = &self.brokers;
        let p = &self.parts[part.ix()];
        if !p.created {
            return;
        }
        // The controller elects only brokers it hears from: not one cut off from it.
        let live = |r: &usize| {
            let b = brokers[p.brokers[*r] as usize];
            b.up && !b.fenced && !b.cut
        };
        let clean = p.isr.iter().copied().find(|r| live(r));
        let choice = match clean {
            Some(r) => Some((r, false)),
            None if p.unclean => (0..p.brokers.len()).find(|r| live(r)).map(|r| (r, true)),
            None => None,
        };
        let p = &mut self.parts[part.ix()];
        let Some((r, unclean)) = choice else {
            p.leader = None;
            // Fetches parked at the old leader die with its leadership.
            for state in &mut p.replicas {
                state.parked = None;
            }
            out.trace(Kind::LeaderChange {
                part,
                leader: None,
                epoch: p.leader_epoch,
                unclean: false,
            });
            return;
        };
        // The new leader keeps only what the partition's log (its last leader's) still
        // has: a replica that led before and was passed over drops its old tail first.
        // Kafka would keep that tail as the truth (README, Simplifications).
        let prev = p.last_leader;
        let previous_end = p.logs[prev].log_end_offset();
        if prev != r {
            let at = p.logs[r].diverges_from(&p.logs[prev]);
            if at < p.logs[r].log_end_offset() {
                p.logs[r].truncate(at);
                out.trace(Kind::ReplicaTruncated {
                    part,
                    broker: p.brokers[r],
                    to: at,
                });
            }
        }
        p.leader = Some(r);
        p.last_leader = r;
        p.leader_epoch += 1;
        if unclean {
            p.isr = vec![r];
        }
        out.trace(Kind::LeaderChange {
            part,
            leader: Some(p.brokers[r]),
            epoch: p.leader_epoch,
            unclean,
        });
        // The new leader's log is the partition's now: what it lacks is gone.
        let end = p.logs[r].log_end_offset();
        let before = p.high_watermark;
        if end < before {
            p.high_watermark = end;
        }
        p.logs[r].set_high_watermark(p.high_watermark);
        // The old leader's pending acks=all requests fail (NOT_LEADER_OR_FOLLOWER).
        self.fail_delayed(part, out);
        if end < previous_end {
            out.trace(Kind::LogTruncated { part, to: end });
            self.truncate_sequences(part, end);
        }
        // Fetches parked at positions the new leader's log no longer reaches are answered
        // OFFSET_OUT_OF_RANGE now, as a fetch to the new leader would be.
        self.wake_parked(part, out);
        // The new leader knows nothing yet of its followers' logs (`Partition.makeLeader`
        // resets their state; those in the ISR count as caught up now); every follower
        // drops its fetch to the old leader and fetches from the new one.
        let now = out.now;
        let p = &mut self.parts[part.ix()];
        for (i, state) in p.replicas.iter_mut().enumerate() {
            *state = ReplicaState {
                next_fetch_id: state.next_fetch_id,
                timer_set: state.timer_set,
                in_flight: if i == r { None } else { state.in_flight },
                last_caught_up: now,
                last_fetch: now,
                ..ReplicaState::default()
            };
        }
        for f in 0..self.parts[part.ix()].brokers.len() {
            if f != r {
                self.refetch(part, f, out);
            }
        }
        self.advance_high_watermark(part, out);
    }

    /// The high watermark is the smallest log end offset in the ISR as the leader knows
    /// them (its own, and each follower's as of its last fetch), and does not move
    /// while the ISR is smaller than min.insync.replicas (3.7+). Committed batches'
    /// acks=all requests are answered and parked fetches woken.
    fn advance_high_watermark(&mut self, part: PartId, out: &mut Out) {
        let p = &mut self.parts[part.ix()];
        let Some(l) = p.leader else { return };
        if p.isr.len() < p.min_isr {
            return;
        }
        let hw = p
            .isr
            .iter()
            .map(|&r| match r == l {
                true => p.logs[l].log_end_offset(),
                false => p.replicas[r].known_log_end_offset,
            })
            .min()
            .unwrap_or(Offset::ZERO);
        if hw <= p.high_watermark {
            return;
        }
        p.high_watermark = hw;
        p.logs[l].set_high_watermark(hw);
        if self.replicated {
            out.trace(Kind::HighWatermark { part, offset: hw });
        }
        self.complete_delayed(part, hw, out);
        self.wake_parked(part, out);
    }

    /// A produce request: each batch goes to its partition's leader, which refuses it
    /// (no live leader; acks=all with too small an ISR), recognises it as a retry, or
    /// appends it. acks=1 is answered at once; acks=all once every batch is committed
    /// (the high watermark passes it); acks=0 never.
    fn produce(&mut self, from: Endpoint, p: Produce, out: &mut Out) {
        let mut results = ProduceResults::new();
        let mut waiting = Vec::new();
        for batch in &p.batches {
            let part = batch.part;
            let leader = self.parts[part.ix()]
                .leader
                .map(|l| self.parts[part.ix()].brokers[l]);
            let refused = match leader {
                Some(b) if self.live(b) => {
                    let r = &self.parts[part.ix()];
                    (p.acks == Acks::All && r.isr.len() < r.min_isr)
                        .then_some(SendError::NotEnoughReplicas)
                }
                _ => Some(SendError::NotLeaderOrFollower),
            };
            let result = match refused {
                Some(error) => AppendResult::Refused(error),
                None if p.idempotent => self.append_idempotent(p.producer_id, batch, out.now),
                None => AppendResult::Appended(self.append_all(batch, out.now)),
            };
            let n = batch.events.len() as u64;
            let result = match result {
                AppendResult::Appended(base) => {
                    let broker = leader.expect("appended on a leader");
                    for (i, &event) in batch.events.iter().enumerate() {
                        out.trace(Kind::Append {
                            sender: p.sender,
                            event,
                            part,
                            offset: Offset(base.value() + i as u64),
                            broker,
                        });
                    }
                    self.appended(part, out);
                    Ok(base)
                }
                AppendResult::Duplicate(base) => {
                    let broker = leader.expect("recognised by a leader");
                    for (i, &event) in batch.events.iter().enumerate() {
                        out.trace(Kind::DuplicateIgnored {
                            event,
                            part,
                            offset: Offset(base.value() + i as u64),
                            broker,
                        });
                    }
                    Ok(base)
                }
                AppendResult::Refused(error) => {
                    if matches!(
                        error,
                        SendError::NotLeaderOrFollower | SendError::NotEnoughReplicas
                    ) {
                        for &event in &batch.events {
                            out.trace(Kind::Rejected { event, part, error });
                        }
                    }
                    Err(error)
                }
            };
            if let (Ok(base), Acks::All) = (result, p.acks) {
                let need = Offset(base.value() + n);
                if self.parts[part.ix()].high_watermark < need {
                    waiting.push((results.len(), need));
                }
            }
            results.push((part, result));
        }
        if p.acks == Acks::None {
            return;
        }
        let d = Delayed {
            to: from,
            producer_id: p.producer_id,
            request_id: p.request_id,
            results,
            waiting,
        };
        if d.waiting.is_empty() {
            Cluster::answer(d, out);
        } else {
            self.delayed.push(d);
        }
    }

    fn answer(d: Delayed, out: &mut Out) {
        out.send(
            d.to,
            Msg::ProduceResponse {
                producer_id: d.producer_id,
                request_id: d.request_id,
                results: d.results,
            },
        );
    }

    /// The leader appended to `part`: its followers' parked fetches are answered, and
    /// with only the leader in the ISR the high watermark moves at once.
    fn appended(&mut self, part: PartId, out: &mut Out) {
        self.wake_replicas(part, out);
        self.advance_high_watermark(part, out);
    }

    /// acks=all requests waiting on `part` whose batches are now below the high watermark.
    fn complete_delayed(&mut self, part: PartId, hw: Offset, out: &mut Out) {
        let mut i = 0;
        while i < self.delayed.len() {
            let d = &mut self.delayed[i];
            let results = &d.results;
            d.waiting
                .retain(|&(j, need)| !(results[j].0 == part && need <= hw));
            if d.waiting.is_empty() {
                let d = self.delayed.swap_remove(i);
                Cluster::answer(d, out);
            } else {
                i += 1;
            }
        }
    }

    /// A new leader for `part`: the old leader's waiting acks=all batches fail with
    /// NOT_LEADER_OR_FOLLOWER (their clients retry).
    fn fail_delayed(&mut self, part: PartId, out: &mut Out) {
        let mut i = 0;
        while i < self.delayed.len() {
            let d = &mut self.delayed[i];
            let mut touched = false;
            for &(j, _) in &d.waiting {
                if d.results[j].0 == part {
                    d.results[j].1 = Err(SendError::NotLeaderOrFollower);
                    touched = true;
                }
            }
            if touched {
                let results = &d.results;
                d.waiting.retain(|&(j, _)| results[j].0 != part);
            }
            if d.waiting.is_empty() {
                let d = self.delayed.swap_remove(i);
                Cluster::answer(d, out);
            } else {
                i += 1;
            }
        }
    }

    /// The idempotence state of `part` forgets batches from `to` on: a new leader's
    /// producer state is rebuilt from its own log, which lacks them.
    fn truncate_sequences(&mut self, part: PartId, to: Offset) {
        for ((_, p), state) in self.sequences.iter_mut() {
            if *p != part {
                continue;
            }
            state.recent.retain(|&(_, _, base)| base < to);
            match state.recent.last() {
                Some(&(_, last, _)) => state.last_sequence = last,
                None => state.epoch = None,
            }
        }
    }

    fn leader_log_mut(&mut self, part: PartId) -> &mut PartitionLog {
        let p = &mut self.parts[part.ix()];
        let l = p.leader.expect("appends go to a partition with a leader");
        &mut p.logs[l]
    }

    fn append_all(&mut self, batch: &ProduceBatch, now: Time) -> Offset {
        let log = self.leader_log_mut(batch.part);
        let base = log.log_end_offset();
        for &event in &batch.events {
            log.append(event, now);
        }
        base
    }

    /// An idempotent producer's batch, checked as `ProducerAppendInfo` and
    /// `ProducerStateEntry.findDuplicateBatch` do:
    /// - the same epoch and exactly the (first, last) sequences of one of the last five
    ///   batches: a retry, acknowledged with its original offset and not appended;
    /// - an older epoch than the last append: refused (`INVALID_PRODUCER_EPOCH`);
    /// - a newer epoch must start at sequence 0, the same epoch at the sequence after the
    ///   last, else `OUT_OF_ORDER_SEQUENCE_NUMBER`;
    /// - a producer id this partition has never seen may start anywhere (Kafka accepts
    ///   any sequence when it holds no state for the producer).
    fn append_idempotent(
        &mut self,
        producer_id: u32,
        batch: &ProduceBatch,
        now: Time,
    ) -> AppendResult {
        let first = batch.base_sequence;
        let last = first.wrapping_add(batch.events.len() as u32 - 1);
        let state = self.sequences.entry((producer_id, batch.part)).or_default();
        match state.epoch {
            Some(epoch) if batch.epoch == epoch => {
                if let Some(&(_, _, base)) =
                    state.recent.iter().find(|r| r.0 == first && r.1 == last)
                {
                    return AppendResult::Duplicate(base);
                }
                if first != state.last_sequence.wrapping_add(1) {
                    return AppendResult::Refused(SendError::OutOfOrderSequence);
                }
            }
            Some(epoch) if batch.epoch < epoch => {
                return AppendResult::Refused(SendError::InvalidProducerEpoch);
            }
            Some(_) => {
                if first != 0 {
                    return AppendResult::Refused(SendError::OutOfOrderSequence);
                }
                state.recent.clear();
            }
            None => {}
        }
        state.epoch = Some(batch.epoch);
        state.last_sequence = last;
        if state.recent.len() == BATCHES_TO_RETAIN {
            state.recent.remove(0);
        }
        let p = &mut self.parts[batch.part.ix()];
        let l = p.leader.expect("appends go to a partition with a leader");
        let log = &mut p.logs[l];
        let base = log.log_end_offset();
        for &event in &batch.events {
            log.append(event, now);
        }
        state.recent.push((first, last, base));
        AppendResult::Appended(base)
    }

    /// Up to max_records from the request's positions, in its order, below the high
    /// watermark; or park it until data arrives or fetch.max.wait.ms passes.
    fn fetch(&mut self, member: u32, request: Box<FetchRequest>, out: &mut Out) {
        if !self.answer_if_data(member, &request, out) {
            out.set_timer(
                fetch_wait_key(member),
                request.max_wait_ms,
                Timer::FetchWait {
                    member,
                    fetch_id: request.fetch_id,
                },
            );
            // A member has at most one fetch outstanding: a newer one replaces an older.
            self.parked.retain(|p| p.member != member);
            self.parked.push(Parked { member, request });
        }
    }

    fn answer_if_data(&mut self, member: u32, request: &FetchRequest, out: &mut Out) -> bool {
        let mut records = std::mem::take(&mut self.scratch);
        records.clear();
        let mut out_of_range = Vec::new();
        for &(part, position) in &request.positions {
            let p = &self.parts[part.ix()];
            let Some(log) = p
                .leader_log()
                .filter(|_| self.live(p.brokers[p.leader.unwrap_or(0)]))
            else {
                continue;
            };
            // Past the log end: a new leader's log came out shorter (Kafka's fetch answers
            // OFFSET_OUT_OF_RANGE for the partition).
            // Below the log start offset: retention deleted it (the same answer).
            if position > log.log_end_offset() || position < log.log_start_offset() {
                out_of_range.push(part);
                continue;
            }
            let room = request.max_records - records.len();
            if room > 0 {
                log.read(position, room, part, &mut records);
            }
        }
        if records.is_empty() && out_of_range.is_empty() {
            self.scratch = records;
            return false;
        }
        out.send(
            Endpoint::Member(member),
            Msg::FetchResponse {
                fetch_id: request.fetch_id,
                records,
                out_of_range,
            },
        );
        true
    }

    /// New data on `part`: parked fetches that cover it are answered now and their wait
    /// timers cancelled.
    fn wake_parked(&mut self, part: PartId, out: &mut Out) {
        let mut i = 0;
        let mut still = Vec::new();
        while i < self.parked.len() {
            if self.parked[i]
                .request
                .positions
                .iter()
                .any(|&(p, _)| p == part)
            {
                let parked = self.parked.swap_remove(i);
                if self.answer_if_data(parked.member, &parked.request, out) {
                    out.cancel_timer(fetch_wait_key(parked.member));
                } else {
                    still.push(parked);
                }
            } else {
                i += 1;
            }
        }
        self.parked.extend(still);
    }
}

fn fetch_wait_key(member: u32) -> TimerKey {
    u64::from(member)
}

fn replicate_key(part: PartId, replica: usize) -> TimerKey {
    REPLICATE | (u64::from(part.0) << 8) | replica as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Time;
    use crate::trace::{ActorId, EventIx};

    /// A cluster from a scenario's text (topics, brokers, replication).
    fn cluster(yaml: &str) -> Cluster {
        let sc = crate::scenario::parse(&format!("name: n\ntitle: t\n{yaml}")).expect("loads");
        Cluster::new(&sc)
    }

    fn produce_at(event: EventIx, epoch: u16, sequence: u32, idempotent: bool) -> Msg {
        Msg::Produce(Produce {
            sender: ActorId(0),
            producer_id: 7,
            request_id: event.0,
            idempotent,
            acks: Acks::All,
            batches: vec![ProduceBatch {
                part: PartId(0),
                epoch,
                base_sequence: sequence,
                events: vec![event].into(),
            }]
            .into(),
        })
    }

    fn produce(event: EventIx, sequence: u32, idempotent: bool) -> Msg {
        produce_at(event, 0, sequence, idempotent)
    }

    fn answers(out: &Out) -> Vec<Result<Offset, SendError>> {
        out.sends
            .iter()
            .flat_map(|(_, m)| match m {
                Msg::ProduceResponse { results, .. } => results.iter().map(|r| r.1).collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn an_idempotent_retry_is_acknowledged_with_its_first_offset_and_not_appended() {
        let mut c = cluster("topics: [ { name: t } ]");
        let mut out = Out::at(Time(1));
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, true), &mut out);
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, true), &mut out);
        assert_eq!(answers(&out), vec![Ok(Offset(0)), Ok(Offset(0))]);
        assert_eq!(c.log(PartId(0)).log_end_offset(), Offset(1));
    }

    #[test]
    fn a_sequence_gap_is_refused_as_out_of_order() {
        let mut c = cluster("topics: [ { name: t } ]");
        let mut out = Out::at(Time(1));
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, true), &mut out);
        c.on_message(Endpoint::Client(0), produce(EventIx(2), 2, true), &mut out);
        assert_eq!(
            answers(&out),
            vec![Ok(Offset(0)), Err(SendError::OutOfOrderSequence)]
        );
        assert_eq!(c.log(PartId(0)).log_end_offset(), Offset(1));
    }

    #[test]
    fn a_retry_older_than_the_five_batch_window_is_out_of_order() {
        let mut c = cluster("topics: [ { name: t } ]");
        let mut out = Out::at(Time(1));
        for s in 0..6 {
            c.on_message(Endpoint::Client(0), produce(EventIx(s), s, true), &mut out);
        }
        c.on_message(Endpoint::Client(0), produce(EventIx(1), 1, true), &mut out);
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, true), &mut out);
        assert_eq!(
            answers(&out)[6..],
            [Ok(Offset(1)), Err(SendError::OutOfOrderSequence)]
        );
    }

    #[test]
    fn a_new_epoch_starts_at_zero_and_fences_the_old_one() {
        let mut c = cluster("topics: [ { name: t } ]");
        let mut out = Out::at(Time(1));
        c.on_message(
            Endpoint::Client(0),
            produce_at(EventIx(0), 0, 0, true),
            &mut out,
        );
        c.on_message(
            Endpoint::Client(0),
            produce_at(EventIx(1), 1, 3, true),
            &mut out,
        );
        c.on_message(
            Endpoint::Client(0),
            produce_at(EventIx(2), 1, 0, true),
            &mut out,
        );
        c.on_message(
            Endpoint::Client(0),
            produce_at(EventIx(3), 0, 1, true),
            &mut out,
        );
        assert_eq!(
            answers(&out),
            vec![
                Ok(Offset(0)),
                Err(SendError::OutOfOrderSequence),
                Ok(Offset(1)),
                Err(SendError::InvalidProducerEpoch)
            ]
        );
    }

    #[test]
    fn without_idempotence_a_retry_appends_a_second_copy() {
        let mut c = cluster("topics: [ { name: t } ]");
        let mut out = Out::at(Time(1));
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, false), &mut out);
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, false), &mut out);
        assert_eq!(answers(&out), vec![Ok(Offset(0)), Ok(Offset(1))]);
    }

    #[test]
    fn an_empty_fetch_parks_until_an_append_answers_it_and_cancels_its_timer() {
        let mut c = cluster("topics: [ { name: t } ]");
        let mut out = Out::at(Time(1));
        let request = FetchRequest {
            fetch_id: 3,
            positions: vec![(PartId(0), Offset(0))],
            max_records: 10,
            max_wait_ms: 500,
        };
        c.on_message(Endpoint::Member(4), Msg::Fetch(Box::new(request)), &mut out);
        assert!(out.sends.is_empty());
        assert!(matches!(
            out.timers[..],
            [crate::model::io::TimerOp::Set { .. }]
        ));
        let mut out = Out::at(Time(2));
        c.on_message(Endpoint::Client(0), produce(EventIx(9), 0, true), &mut out);
        assert!(matches!(
            out.timers[..],
            [crate::model::io::TimerOp::Cancel { key: 4 }]
        ));
        let fetched: Vec<&Msg> = out
            .sends
            .iter()
            .filter(|(to, _)| *to == Endpoint::Member(4))
            .map(|(_, m)| m)
            .collect();
        match fetched[..] {
            [Msg::FetchResponse {
                fetch_id: 3,
                records,
                ..
            }] => {
                assert_eq!(
                    records[..],
                    [Record {
                        part: PartId(0),
                        offset: Offset(0),
                        event: EventIx(9)
                    }]
                )
            }
            _ => panic!("expected one fetch answer, got {fetched:?}"),
        }
    }

    /// The replica fetches in `out`, as (from, to, fetch offset).
    fn replica_fetches(out: &Out) -> Vec<(Endpoint, Endpoint, Offset)> {
        out.sends_as
            .iter()
            .filter_map(|(from, to, m)| match m {
                Msg::ReplicaFetch(f) => Some((*from, *to, f.fetch_offset)),
                _ => None,
            })
            .collect()
    }

    /// Delivers every replica message in `out` to `c` at `at`, in order; returns the new
    /// output.
    fn deliver_replica_messages(c: &mut Cluster, out: &mut Out, at: u64) -> Out {
        let mut next = Out::at(Time(at));
        for (from, _, m) in out.sends_as.drain(..) {
            c.on_message(from, m, &mut next);
        }
        next
    }

    #[test]
    fn a_follower_fetch_waits_for_an_append_and_the_high_watermark_moves_on_its_next_fetch() {
        let mut c =
            cluster("cluster: { brokers: 2 }\ntopics: [ { name: t, replication_factor: 2 } ]");
        let mut out = Out::at(Time(0));
        c.start(&mut out);
        assert_eq!(
            replica_fetches(&out),
            vec![(Endpoint::Broker(1), Endpoint::Broker(0), Offset(0))]
        );
        // The leader has nothing: the fetch parks, and only the wait timer is set.
        let mut at_leader = deliver_replica_messages(&mut c, &mut out, 1);
        assert!(at_leader.sends_as.is_empty());
        // An acks=all append wakes it; the producer waits for the high watermark.
        c.on_message(
            Endpoint::Client(0),
            produce(EventIx(0), 0, false),
            &mut at_leader,
        );
        assert!(answers(&at_leader).is_empty());
        assert_eq!(c.parts[0].high_watermark, Offset(0));
        // The follower appends the record and fetches again from offset 1...
        let mut at_follower = deliver_replica_messages(&mut c, &mut at_leader, 2);
        assert_eq!(c.parts[0].logs[1].log_end_offset(), Offset(1));
        assert_eq!(
            replica_fetches(&at_follower),
            vec![(Endpoint::Broker(1), Endpoint::Broker(0), Offset(1))]
        );
        assert_eq!(
            c.parts[0].high_watermark,
            Offset(0),
            "not before the leader hears"
        );
        // ...and only that fetch moves the high watermark and answers the producer.
        let back = deliver_replica_messages(&mut c, &mut at_follower, 3);
        assert_eq!(c.parts[0].high_watermark, Offset(1));
        assert_eq!(answers(&back), vec![Ok(Offset(0))]);
    }

    #[test]
    fn a_follower_whose_log_diverges_is_told_where_and_truncates_there() {
        let mut c =
            cluster("cluster: { brokers: 2 }\ntopics: [ { name: t, replication_factor: 2 } ]");
        let p = &mut c.parts[0];
        for e in [1, 2, 3] {
            p.logs[0].append(EventIx(e), Time::ZERO);
        }
        for e in [1, 9, 9, 9] {
            p.logs[1].append(EventIx(e), Time::ZERO);
        }
        let mut out = Out::at(Time(0));
        c.start(&mut out);
        let mut answer = deliver_replica_messages(&mut c, &mut out, 1);
        let next = deliver_replica_messages(&mut c, &mut answer, 2);
        assert_eq!(c.parts[0].logs[1].log_end_offset(), Offset(1));
        assert!(next.trace.iter().any(|k| matches!(
            k,
            Kind::ReplicaTruncated {
                broker: 1,
                to: Offset(1),
                ..
            }
        )));
        assert_eq!(
            replica_fetches(&next),
            vec![(Endpoint::Broker(1), Endpoint::Broker(0), Offset(1))]
        );
    }

    #[test]
    fn a_lost_fetch_times_out_after_the_socket_timeout_and_the_follower_backs_off() {
        let mut c = cluster(
            "cluster: { brokers: 2, config: { replica.socket.timeout.ms: 700, replica.fetch.backoff.ms: 40 } }\ntopics: [ { name: t, replication_factor: 2 } ]",
        );
        let mut out = Out::at(Time(5));
        c.start(&mut out);
        let (_, _, lost) = out.sends_as.pop().expect("a fetch");
        let mut timers = Out::at(Time(8));
        c.on_lost_or_late(&lost, &mut timers);
        let set: Vec<(Time, Timer)> = timers
            .timers
            .iter()
            .filter_map(|t| match *t {
                crate::model::io::TimerOp::Set { at, timer, .. } => Some((at, timer)),
                _ => None,
            })
            .collect();
        assert!(matches!(
            set[..],
            [(Time(705), Timer::ReplicaFetchTimeout { replica: 1, .. })]
        ));
        let mut out = Out::at(Time(705));
        c.on_timer(set[0].1, &mut out);
        assert!(matches!(
            out.timers[..],
            [crate::model::io::TimerOp::Set {
                at: Time(745),
                timer: Timer::Replicate { replica: 1, .. },
                ..
            }]
        ));
        let mut out = Out::at(Time(745));
        c.on_timer(
            Timer::Replicate {
                part: PartId(0),
                replica: 1,
            },
            &mut out,
        );
        assert_eq!(replica_fetches(&out).len(), 1);
    }
}
