//! A Kafka producer client: the record accumulator, batches, requests in flight per broker
//! connection, acks, request and delivery timeouts, retries, and the idempotent producer's
//! sequence numbers and epoch (KIP-360). It is a part of whichever component owns it (a
//! producer app, a service, a relay), which hands it its messages and timers and receives
//! its outcomes.
//!
//! Inputs: `send`/`send_many`, `ProduceResponse` messages, and the `ClientDeadline` and
//! `Resend` timers. Outputs: `Produce` requests, the
//! `Send`/`Ack`/`Retry`/`SendFailed`/`EpochBump` trace records (one row per record), timers,
//! and a `SendOutcome` per record for the owner.
//!
//! What it follows (apache/kafka 4.0 `clients/.../producer/internals`):
//! - **Accumulator** (`RecordAccumulator`): each partition has a queue of batches; a record
//!   joins the last batch if that batch has not been sent and has room, else starts one.
//! - **Drain** (`RecordAccumulator.drain`, `Sender.sendProducerData`): a broker connection
//!   with fewer than `max.in.flight.requests.per.connection` requests outstanding gets one
//!   request holding the first batch of each ready partition it leads, from a rotating start.
//!   With `linger.ms` 0 a record goes as soon as its connection has room, so batches form
//!   only while requests are blocked: by the in-flight limit, a retry's backoff, or an
//!   unresolved sequence.
//! - **A sent batch keeps its producer id, epoch and sequence** on every retry
//!   (`RecordAccumulator` ~920–936). Sequences are assigned when a batch is first drained.
//! - **Request timeout closes the connection** (`NetworkClient.handleTimedOutRequests`,
//!   `cancelInFlightRequests`): every request in flight on it fails and its batches are
//!   retried; answers that arrive later are not read (the connection is gone).
//! - **Delivery timeout** (`Sender.getExpiredInflightBatches`, `RecordAccumulator.expiredBatches`):
//!   a batch fails `delivery.timeout.ms` after it was created, wherever it is.
//! - **Unresolved sequences** (`Sender` ~415–431, `TransactionManager.maybeResolveSequences`
//!   ~749–786): a sent batch that expires marks its partition unresolved; the partition
//!   sends no new batch until nothing of it is in flight. Then, if the last acknowledged
//!   sequence is the last one assigned, later batches proved the expired one landed and
//!   nothing changes; otherwise the producer bumps its epoch and that partition's
//!   sequences restart at 0 (~554–570). Other partitions move to the new epoch only once
//!   their in-flight batches complete (~502–515, `RecordAccumulator` ~843–849).
//! - **Retries in order** (`RecordAccumulator.shouldStopDrainBatchesForPartition`,
//!   `insertInSequenceOrder`): an idempotent retry waits until it is the partition's first
//!   sequence in flight; a non-idempotent retry goes back to the front of its queue
//!   (`addFirst`), which is how retries reorder records.
//!
//! - **Partitioner** (`KafkaProducer.partition`, `RecordAccumulator.append`): the client asks
//!   its partitioner (`partitioning.rs`) where a record goes before appending it, and after
//!   appending a null-key record tells it whether the batch it joined is full, which is when
//!   Java's sticky partitioner may move on.
//!
//! What does not live here: a key's partition, computed once per key by the owner with the
//! partitioner's hash (`sim/partitioner.rs`, `world.rs`).

use crate::engine::Time;
use crate::model::io::{Endpoint, Msg, Out, Produce, ProduceBatch, Records, Timer, TimerKey};
use crate::model::log::Offset;
use crate::model::partitioning::Partitioner;
use crate::scenario::{Acks, ProducerConfig};
use crate::trace::{ActorId, EventIx, GaveUp, Kind, PartId, SendError};
use smallvec::{smallvec, SmallVec};
use std::collections::VecDeque;

/// The key of the client's one deadline timer: its oldest request's request.timeout.ms
/// or its oldest batch's delivery.timeout.ms, whichever comes first.
pub const DEADLINE: TimerKey = 1 << 40;
/// Resend timers use `RESEND | batch`.
const RESEND: TimerKey = 1 << 41;

/// `reconnect.backoff.ms` (Kafka default 50): the least a client waits between attempts
/// to connect to a broker that refused it. kafkasim uses it only for refused connections.
const RECONNECT_BACKOFF_MS: u64 = 50;

/// Records a batch holds with the default `batch.size` (16384 bytes): records have no size
/// in kafkasim, and each counts `scenario::RECORD_BYTES` (160) against it. README says so.
pub const BATCH_RECORDS: usize = (16_384 / crate::scenario::RECORD_BYTES) as usize;

/// Kafka's producer epoch is a Java short: after `Short.MAX_VALUE` bumps the producer
/// takes a new producer id (`TransactionManager.bumpIdempotentProducerEpoch`).
const MAX_EPOCH: u16 = i16::MAX as u16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// In its partition's queue; with a retry, not before `ready_at`.
    Queued { ready_at: Time },
    /// In request `request`, unanswered.
    InFlight { request: u32 },
    /// Acknowledged or failed.
    Done,
}

#[derive(Clone, Debug)]
struct Batch {
    part: PartId,
    events: Records,
    /// When its first record was appended (Kafka's `createdMs`): delivery.timeout.ms
    /// counts from here.
    created: Time,
    /// (producer id, epoch, base sequence), fixed when the batch is first drained
    /// (idempotent producers only); kept on every retry.
    sequence: Option<(u32, u16, u32)>,
    /// Transmissions so far.
    attempts: u32,
    state: State,
}

impl Batch {
    fn last_sequence(&self) -> Option<u32> {
        self.sequence
            .map(|(_, _, base)| base + self.events.len() as u32 - 1)
    }
}

/// One partition's producer state (Kafka's `TxnPartitionEntry` plus its accumulator deque).
#[derive(Clone, Debug, Default)]
struct Partition {
    /// Batches waiting to be drained, front first.
    queue: VecDeque<u32>,
    /// The (producer id, epoch) this partition's sequences belong to.
    producer: (u32, u16),
    next_sequence: u32,
    last_acked_sequence: Option<u32>,
    /// A sent batch expired: its fate is unknown until nothing is in flight.
    unresolved: bool,
    /// Sequenced batches not yet acknowledged or failed, by ascending base sequence (in
    /// a request or waiting to be retried): Kafka's `inflightBatchesBySequence`.
    in_flight: VecDeque<(u32, u32)>,
}

#[derive(Clone, Debug)]
struct Request {
    broker: u32,
    batches: SmallVec<[u32; 1]>,
    /// Its answer, arrived and waiting for older requests on the connection to be read.
    answer: Option<crate::model::io::ProduceResults>,
    deadline: Time,
    /// Answered, or failed with its connection.
    done: bool,
}

#[derive(Clone, Debug, Default)]
struct Connection {
    in_flight: u32,
    /// The partitions this broker leads, in partition order.
    parts: Vec<PartId>,
    /// Where the next drain starts among `parts` (Kafka's per-node `drainIndex`).
    drain_index: usize,
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

/// One producer client. Shape: batches and requests live in deques indexed by id from
/// their first live entry, so memory follows what is unfinished, not what was sent.
pub struct ProducerClient {
    pub actor: ActorId,
    /// This client's network endpoint index.
    pub client: u16,
    pub config: ProducerConfig,
    producer_id: u32,
    epoch: u16,
    /// Producer ids taken so far (one per incarnation, and on epoch overflow).
    ids: u32,
    leader: Vec<u32>,
    parts: Vec<Partition>,
    conns: Vec<Connection>,
    /// Batches from id `first_batch` on, in creation order (so by ascending deadline).
    batches: VecDeque<Batch>,
    first_batch: u32,
    /// Requests from id `first_request` on, in transmission order (ascending deadline).
    requests: VecDeque<Request>,
    first_request: u32,
    /// Partitions whose epoch bump waits for nothing in flight.
    unresolved: usize,
    /// The brokers refuse this client's connections until then (`isolate`, `refused`).
    refused_until: Time,
    /// When the deadline timer is set for, if it is.
    armed: Option<Time>,
    /// Where records go (the client's `partitioner` setting).
    partitioner: Partitioner,
}

impl ProducerClient {
    /// A client for `actor` at endpoint `client`; `leaders[p]` is the broker that leads
    /// partition `p` (its connection); `partitioner` places its records.
    pub fn new(
        actor: ActorId,
        client: u16,
        config: ProducerConfig,
        leaders: &[u32],
        partitioner: Partitioner,
    ) -> Self {
        let brokers = leaders.iter().map(|&b| b as usize + 1).max().unwrap_or(0);
        let mut conns = vec![Connection::default(); brokers];
        for (p, &b) in leaders.iter().enumerate() {
            conns[b as usize].parts.push(PartId(p as u32));
        }
        let mut c = ProducerClient {
            actor,
            client,
            config,
            producer_id: 0,
            epoch: 0,
            ids: 0,
            leader: leaders.to_vec(),
            parts: vec![Partition::default(); leaders.len()],
            conns,
            batches: VecDeque::new(),
            first_batch: 0,
            requests: VecDeque::new(),
            first_request: 0,
            unresolved: 0,
            refused_until: Time::ZERO,
            armed: None,
            partitioner,
        };
        c.new_producer_id();
        c
    }

    /// kafkasim hands out producer ids without an InitProducerId round trip: each
    /// incarnation of a client gets a fresh one, unique in the run, at epoch 0.
    fn new_producer_id(&mut self) {
        self.ids += 1;
        self.producer_id = (u32::from(self.client) << 16) | (self.ids & 0xffff);
        self.epoch = 0;
    }

    /// A new incarnation after a crash: a new producer id, nothing buffered or in flight,
    /// and every timer this client had is cancelled (they die with the process).
    pub fn reset(&mut self, out: &mut Out) {
        if self.armed.take().is_some() {
            out.cancel_timer(DEADLINE);
        }
        for (i, b) in self.batches.iter().enumerate() {
            if matches!(b.state, State::Queued { ready_at } if ready_at > out.now) {
                out.cancel_timer(RESEND | (u64::from(self.first_batch) + i as u64));
            }
        }
        self.new_producer_id();
        self.first_batch += self.batches.len() as u32;
        self.batches.clear();
        self.first_request += self.requests.len() as u32;
        self.requests.clear();
        for p in &mut self.parts {
            *p = Partition::default();
        }
        for c in &mut self.conns {
            c.in_flight = 0;
        }
        self.unresolved = 0;
    }

    /// A metadata refresh (`metadata.max.age.ms`) found that the client's topic (`topic`)
    /// has `partitions` partitions: keyed records go to `hash % partitions` from now on,
    /// and the null-key partitioner draws from them all (`Metadata.update`).
    pub fn learn_partitions(&mut self, topic: u16, partitions: u32, out: &mut Out) {
        if partitions <= self.partitioner.partitions {
            return;
        }
        self.partitioner.partitions = partitions;
        out.trace(Kind::MetadataRefresh {
            actor: self.actor,
            topic,
            partitions,
        });
    }

    /// send(): the partitioner places the record (`keyed` is its key's hash, placed at
    /// `hash % partitions` as this client knows them; `None` for a null key), it joins that partition's accumulator and goes out as soon as its
    /// connection allows. With acks=0 it counts as acknowledged once it is on the wire,
    /// which with kafkasim's drain is at once: the outcome is returned here.
    pub fn send(
        &mut self,
        event: EventIx,
        keyed: Option<u32>,
        out: &mut Out,
    ) -> Option<SendOutcome> {
        let mut outcomes = Vec::new();
        self.send_many(&[(event, keyed)], out, &mut outcomes);
        outcomes.pop()
    }

    /// Several send() calls in one go (a relay's batch of outbox rows): each record is
    /// placed and appended in turn, records of one partition share batches, then the
    /// connections are drained once.
    pub fn send_many(
        &mut self,
        records: &[(EventIx, Option<u32>)],
        out: &mut Out,
        outcomes: &mut Vec<SendOutcome>,
    ) {
        let mut last = None;
        for &(event, keyed) in records {
            last = Some(self.place(event, keyed, out));
        }
        match (records.len(), last) {
            (1, Some(part)) => self.drain(self.leader[part.ix()], out, outcomes),
            _ => self.drain_all(out, outcomes),
        }
        self.arm(out);
    }

    /// KafkaProducer.doSend for one record: partition, append, and for a null key tell the
    /// partitioner whether the batch is now full (`RecordAccumulator.append` passes
    /// `allBatchesFull` to `updatePartitionInfo`). Returns the partition.
    fn place(&mut self, event: EventIx, keyed: Option<u32>, out: &mut Out) -> PartId {
        let parts = &self.parts;
        let part = self
            .partitioner
            .partition(keyed, out.now, |p| parts[p.ix()].queue.len());
        out.trace(Kind::Send {
            actor: self.actor,
            event,
            part,
        });
        let batch_full = self.append(event, part, out);
        if keyed.is_none() {
            self.partitioner
                .appended(part, batch_full, self.config.batch_records());
        }
        part
    }

    /// RecordAccumulator.append: into the last batch if it is still open, else a new one,
    /// which waits `linger.ms` for more records (a timer drains it then). Returns whether
    /// the batch the record joined is now full (`batch.size`).
    fn append(&mut self, event: EventIx, part: PartId, out: &mut Out) -> bool {
        let now = out.now;
        if let Some(&id) = self.parts[part.ix()].queue.back() {
            let b = &mut self.batches[(id - self.first_batch) as usize];
            let limit = self.config.batch_records();
            if b.attempts == 0 && b.events.len() < limit {
                b.events.push(event);
                return b.events.len() >= limit;
            }
        }
        let id = self.first_batch + self.batches.len() as u32;
        let ready_at = now.after(self.config.linger_ms);
        self.batches.push_back(Batch {
            part,
            events: smallvec![event],
            created: now,
            sequence: None,
            attempts: 0,
            state: State::Queued { ready_at },
        });
        self.parts[part.ix()].queue.push_back(id);
        if ready_at > now {
            out.set_timer_at(
                RESEND | u64::from(id),
                ready_at,
                Timer::Resend { batch: id },
            );
        }
        self.config.batch_records() <= 1
    }

    /// Whether batch `id` is in request `request` still (not expired meanwhile: an expired
    /// batch may already be dropped from the deque).
    fn in_request(&self, id: u32, request: u32) -> bool {
        id.checked_sub(self.first_batch)
            .and_then(|i| self.batches.get(i as usize))
            .is_some_and(|b| b.state == State::InFlight { request })
    }

    fn batch(&self, id: u32) -> &Batch {
        &self.batches[(id - self.first_batch) as usize]
    }

    fn batch_mut(&mut self, id: u32) -> &mut Batch {
        &mut self.batches[(id - self.first_batch) as usize]
    }

    fn request_mut(&mut self, id: u32) -> Option<&mut Request> {
        let i = id.checked_sub(self.first_request)? as usize;
        self.requests.get_mut(i)
    }

    fn drain_all(&mut self, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        for b in 0..self.conns.len() as u32 {
            self.drain(b, out, outcomes);
        }
    }

    /// Sender.sendProducerData for one broker: while the connection has room, one request
    /// with the first ready batch of each partition, until no partition has one.
    fn drain(&mut self, broker: u32, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        // Sender.sendProducerData expires what is due before it drains: a batch never
        // goes out at its delivery deadline.
        if self.config.acks != Acks::None
            && self
                .batches
                .front()
                .is_some_and(|b| b.created.after(self.config.delivery_timeout_ms) <= out.now)
        {
            self.expire_due(out, outcomes);
        }
        let acks0 = self.config.acks == Acks::None;
        loop {
            let conn = &self.conns[broker as usize];
            if !acks0 && conn.in_flight >= self.config.max_in_flight {
                return;
            }
            let n = conn.parts.len();
            let start = conn.drain_index;
            let mut taken: SmallVec<[u32; 1]> = SmallVec::new();
            for k in 0..n {
                let part = self.conns[broker as usize].parts[(start + k) % n];
                if let Some(id) = self.drainable(part, out.now) {
                    taken.push(id);
                }
            }
            if taken.is_empty() {
                return;
            }
            let conn = &mut self.conns[broker as usize];
            conn.drain_index = (start + 1) % n.max(1);
            if out.now < self.refused_until {
                // The connection is refused: nothing goes out, each batch is retried
                // after its backoff (once per drain, so a zero backoff cannot spin).
                for id in taken {
                    let b = self.batch_mut(id);
                    if matches!(b.state, State::Queued { ready_at } if ready_at > out.now) {
                        out.cancel_timer(RESEND | u64::from(id));
                    }
                    b.attempts += 1;
                    self.retry(id, SendError::ConnectionRefused, out, outcomes);
                    // The next connection attempt waits reconnect.backoff.ms (Kafka's
                    // default 50 ms) even when retry.backoff.ms is shorter.
                    let reconnect = out.now.after(RECONNECT_BACKOFF_MS);
                    if let Some(b) = id
                        .checked_sub(self.first_batch)
                        .and_then(|i| self.batches.get_mut(i as usize))
                    {
                        if let State::Queued { ready_at } = &mut b.state {
                            if *ready_at < reconnect {
                                *ready_at = reconnect;
                                out.set_timer_at(
                                    RESEND | u64::from(id),
                                    reconnect,
                                    Timer::Resend { batch: id },
                                );
                            }
                        }
                    }
                }
                return;
            }
            self.transmit(broker, taken, out, outcomes);
        }
    }

    /// The first batch of `part` if it may go now, taken off the queue with its sequence
    /// assigned (`shouldStopDrainBatchesForPartition`).
    fn drainable(&mut self, part: PartId, now: Time) -> Option<u32> {
        let &id = self.parts[part.ix()].queue.front()?;
        let (state, sequence, len, attempts) = {
            let b = self.batch(id);
            (b.state, b.sequence, b.events.len() as u32, b.attempts)
        };
        if matches!(state, State::Queued { ready_at } if ready_at > now) {
            // A batch still lingering goes early once it is full or another batch of the
            // partition waits behind it (`RecordAccumulator.ready`); a retry's backoff
            // is never cut short.
            let full = len as usize >= self.config.batch_records()
                || self.parts[part.ix()].queue.len() > 1;
            if attempts > 0 || !full {
                return None;
            }
        }
        let current = (self.producer_id, self.epoch);
        let idempotent = self.config.enable_idempotence;
        let p = &mut self.parts[part.ix()];
        if idempotent {
            match sequence {
                None => {
                    if p.unresolved {
                        return None;
                    }
                    if p.producer != current {
                        // Batches of the old epoch must complete before sequence 0 of the
                        // new one may be written.
                        if !p.in_flight.is_empty() {
                            return None;
                        }
                        p.producer = current;
                        p.next_sequence = 0;
                        p.last_acked_sequence = None;
                    }
                }
                // A retry goes only as the partition's first sequence in flight.
                Some((_, _, base)) => {
                    if p.in_flight.front().map(|f| f.0) != Some(base) {
                        return None;
                    }
                }
            }
        }
        p.queue.pop_front();
        if idempotent && sequence.is_none() {
            let base = p.next_sequence;
            p.next_sequence = base.wrapping_add(len);
            p.in_flight.push_back((base, id));
            let (pid, epoch) = p.producer;
            self.batch_mut(id).sequence = Some((pid, epoch, base));
        }
        Some(id)
    }

    fn transmit(
        &mut self,
        broker: u32,
        taken: SmallVec<[u32; 1]>,
        out: &mut Out,
        outcomes: &mut Vec<SendOutcome>,
    ) {
        let request = self.first_request + self.requests.len() as u32;
        let now = out.now;
        let mut cancel: SmallVec<[u32; 1]> = SmallVec::new();
        let batches = taken
            .iter()
            .map(|&id| {
                let b = self.batch_mut(id);
                if matches!(b.state, State::Queued { ready_at } if ready_at > now) {
                    // Sent before its linger ended (full, or others behind it).
                    cancel.push(id);
                }
                b.attempts += 1;
                b.state = State::InFlight { request };
                let (_, epoch, base_sequence) = b.sequence.unwrap_or_default();
                ProduceBatch {
                    part: b.part,
                    epoch,
                    base_sequence,
                    events: b.events.clone(),
                }
            })
            .collect();
        for id in cancel {
            out.cancel_timer(RESEND | u64::from(id));
        }
        out.send(
            Endpoint::Cluster,
            Msg::Produce(Produce {
                sender: self.actor,
                producer_id: self.producer_id,
                request_id: request,
                idempotent: self.config.enable_idempotence,
                acks: self.config.acks,
                batches,
            }),
        );
        if self.config.acks == Acks::None {
            // No answer comes: the records count as sent.
            for id in taken {
                self.finish(id);
                let b = self.batch(id);
                let part = b.part;
                for &event in &self.batch(id).events {
                    out.trace(Kind::Ack {
                        actor: self.actor,
                        event,
                        part,
                        offset: None,
                    });
                    outcomes.push(SendOutcome::Acked {
                        event,
                        part,
                        offset: None,
                    });
                }
            }
            self.requests.push_back(Request {
                broker,
                answer: None,
                batches: SmallVec::new(),
                deadline: out.now,
                done: true,
            });
            self.pop_done();
            return;
        }
        self.conns[broker as usize].in_flight += 1;
        self.requests.push_back(Request {
            broker,
            answer: None,
            batches: taken,
            deadline: out.now.after(self.config.request_timeout_ms),
            done: false,
        });
    }

    /// A batch is acknowledged or failed: it leaves its partition's in-flight set.
    fn finish(&mut self, id: u32) {
        let b = self.batch_mut(id);
        b.state = State::Done;
        let (part, sequence) = (b.part, b.sequence);
        if let Some((_, _, base)) = sequence {
            let p = &mut self.parts[part.ix()];
            if let Some(i) = p.in_flight.iter().position(|f| f.0 == base && f.1 == id) {
                p.in_flight.remove(i);
            }
        }
    }

    fn pop_done(&mut self) {
        while self.batches.front().is_some_and(|b| b.state == State::Done) {
            self.batches.pop_front();
            self.first_batch += 1;
        }
        while self.requests.front().is_some_and(|r| r.done) {
            self.requests.pop_front();
            self.first_request += 1;
        }
    }

    /// A message for this client: only `ProduceResponse` is one. What it decided goes to
    /// `outcomes`.
    pub fn on_message(&mut self, msg: Msg, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        match msg {
            Msg::ProduceResponse {
                producer_id,
                request_id,
                results,
            } => self.on_response(producer_id, request_id, &results, out, outcomes),
            Msg::ConnectionRefused { until } => self.refuse(until, out, outcomes),
            other => unreachable!("a producer client got {other:?}"),
        }
    }

    /// One of this client's timers; what it decided goes to `outcomes`.
    pub fn on_timer(&mut self, timer: Timer, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        match timer {
            Timer::ClientDeadline => {
                self.armed = None;
                // Sender.runOnce: sendProducerData expires batches before client.poll
                // handles timed-out requests.
                self.on_delivery_timeout(out, outcomes);
                self.on_request_timeout(out, outcomes);
            }
            Timer::Resend { batch } => {
                if let Some(b) = batch
                    .checked_sub(self.first_batch)
                    .and_then(|i| self.batches.get(i as usize))
                {
                    let broker = self.leader[b.part.ix()];
                    self.drain(broker, out, outcomes);
                }
            }
            other => unreachable!("a producer client sets no {other:?} timer"),
        }
        self.after(out, outcomes);
    }

    /// The broker's answer to request `request_id`: per batch, an offset or an error.
    /// Answers to a request that is no longer outstanding (its connection was closed, or
    /// it belongs to an earlier life of this client) are not read.
    fn on_response(
        &mut self,
        producer_id: u32,
        request_id: u32,
        results: &[(PartId, Result<Offset, SendError>)],
        out: &mut Out,
        outcomes: &mut Vec<SendOutcome>,
    ) {
        if producer_id != self.producer_id {
            return;
        }
        let Some(r) = self.request_mut(request_id) else {
            return;
        };
        if r.done {
            return;
        }
        // Answers on one connection are read in request order (TCP; NetworkClient's
        // InFlightRequests.completeNext): this one waits until every older request on the
        // connection is answered. If an older answer was lost, the stream is stuck behind
        // it: this one is never read, its slot stays taken, and the older request's timeout
        // closes the connection. That keeps at most max.in.flight.requests.per.connection
        // batches past a lost one, inside the broker's five-batch window.
        r.answer = Some(results.iter().copied().collect());
        let broker = r.broker;
        while let Some(i) = self
            .requests
            .iter()
            .position(|o| !o.done && o.broker == broker)
        {
            let Some(answer) = self.requests[i].answer.take() else {
                break;
            };
            let request = self.first_request + i as u32;
            self.read_answer(request, &answer, out, outcomes);
        }
        self.drain(broker, out, outcomes);
        self.after(out, outcomes);
    }

    /// One request's answer, read in its turn: per batch, acknowledged, retried or failed.
    fn read_answer(
        &mut self,
        request_id: u32,
        results: &[(PartId, Result<Offset, SendError>)],
        out: &mut Out,
        outcomes: &mut Vec<SendOutcome>,
    ) {
        let r = self
            .request_mut(request_id)
            .expect("an outstanding request");
        r.done = true;
        let (broker, ids) = (r.broker, std::mem::take(&mut r.batches));
        self.conns[broker as usize].in_flight -= 1;
        for (&id, &(_, result)) in ids.iter().zip(results) {
            if !self.in_request(id, request_id) {
                // Expired while in flight: already reported failed.
                continue;
            }
            match result {
                Ok(base) => self.acked(id, base, out, outcomes),
                Err(SendError::OutOfOrderSequence) => {
                    let b = self.batch(id);
                    let p = &self.parts[b.part.ix()];
                    let base = b.sequence.map_or(0, |s| s.2);
                    let next_expected = p.last_acked_sequence.map_or(0, |s| s.wrapping_add(1));
                    // Canonical Kafka (TransactionManager.canRetry): retry while an earlier
                    // batch may still fill the gap; when this is the next sequence the
                    // broker should have taken, nothing will, and the batch fails.
                    if !p.unresolved && base != next_expected {
                        self.retry(id, SendError::OutOfOrderSequence, out, outcomes);
                    } else {
                        self.fail(id, GaveUp::OutOfOrderSequence, out, outcomes);
                    }
                }
                Err(error) => self.retry(id, error, out, outcomes),
            }
        }
    }

    fn acked(&mut self, id: u32, base: Offset, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        let b = self.batch(id);
        let (part, last) = (b.part, b.last_sequence());
        for (i, &event) in b.events.iter().enumerate() {
            let offset = Some(Offset(base.value() + i as u64));
            out.trace(Kind::Ack {
                actor: self.actor,
                event,
                part,
                offset,
            });
            outcomes.push(SendOutcome::Acked {
                event,
                part,
                offset,
            });
        }
        if let Some(last) = last {
            let p = &mut self.parts[part.ix()];
            p.last_acked_sequence = Some(p.last_acked_sequence.map_or(last, |s| s.max(last)));
        }
        self.finish(id);
    }

    /// Retry a batch after retry.backoff.ms, or fail it if `retries` are used up.
    fn retry(&mut self, id: u32, error: SendError, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        let b = self.batch(id);
        if u64::from(b.attempts - 1) >= self.config.retries {
            self.fail(id, GaveUp::Retries, out, outcomes);
            return;
        }
        let (part, attempts, sequence) = (b.part, b.attempts, b.sequence);
        for &event in &b.events {
            out.trace(Kind::Retry {
                actor: self.actor,
                event,
                attempt: attempts,
                error,
            });
        }
        let ready_at = out.now.after(self.config.retry_backoff_ms);
        self.batch_mut(id).state = State::Queued { ready_at };
        let q = &mut self.parts[part.ix()].queue;
        match sequence {
            // insertInSequenceOrder: before the first batch with a later or no sequence.
            Some((_, _, base)) => {
                let batches = &self.batches;
                let first = self.first_batch;
                let at = q
                    .iter()
                    .position(|&other| {
                        batches[(other - first) as usize]
                            .sequence
                            .is_none_or(|s| s.2 > base)
                    })
                    .unwrap_or(q.len());
                q.insert(at, id);
            }
            // reenqueue: addFirst.
            None => q.push_front(id),
        }
        if ready_at > out.now {
            out.set_timer_at(
                RESEND | u64::from(id),
                ready_at,
                Timer::Resend { batch: id },
            );
        }
    }

    /// The batch fails for good: every record in it is reported failed. A batch that was
    /// sent may be in the log, so its partition's sequence becomes unresolved.
    fn fail(&mut self, id: u32, limit: GaveUp, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        let b = self.batch(id);
        let elapsed = out.now.since(b.created);
        let (part, attempts, sent) = (b.part, b.attempts, b.sequence.is_some());
        for &event in &b.events {
            out.trace(Kind::SendFailed {
                actor: self.actor,
                event,
                attempts,
                elapsed_ms: u32::try_from(elapsed).unwrap_or(u32::MAX),
                limit,
            });
            outcomes.push(SendOutcome::Failed { event });
        }
        if let State::Queued { ready_at } = b.state {
            let q = &mut self.parts[part.ix()].queue;
            if let Some(i) = q.iter().position(|&x| x == id) {
                q.remove(i);
            }
            if ready_at > out.now {
                out.cancel_timer(RESEND | u64::from(id));
            }
        }
        self.finish(id);
        let p = &mut self.parts[part.ix()];
        if sent && !p.unresolved {
            p.unresolved = true;
            self.unresolved += 1;
        }
    }

    /// The brokers refuse this client's connections until `until`: every request in flight
    /// fails now (the connections are reset), and every attempt meanwhile fails at once
    /// and is retried after `retry.backoff.ms`.
    fn refuse(&mut self, until: Time, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        self.refused_until = self.refused_until.max(until);
        for broker in 0..self.conns.len() as u32 {
            if self.conns[broker as usize].in_flight > 0 {
                self.close_connection(broker, None, SendError::ConnectionRefused, out, outcomes);
            }
        }
        self.after(out, outcomes);
    }

    /// The oldest deadlines passed: a request unanswered at its deadline closes its
    /// connection, and every request in flight on that connection fails with it.
    fn on_request_timeout(&mut self, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        let mut i = 0;
        while i < self.requests.len() {
            let r = &self.requests[i];
            if r.deadline > out.now {
                break;
            }
            if !r.done {
                let broker = r.broker;
                let timed_out = Some(self.first_request + i as u32);
                self.close_connection(
                    broker,
                    timed_out,
                    SendError::ConnectionClosed,
                    out,
                    outcomes,
                );
                self.drain(broker, out, outcomes);
            }
            i += 1;
        }
    }

    /// `NetworkClient.cancelInFlightRequests`: every request in flight to `broker` fails,
    /// in the order sent; `timed_out` with a timeout, the others as collateral.
    fn close_connection(
        &mut self,
        broker: u32,
        timed_out: Option<u32>,
        others: SendError,
        out: &mut Out,
        outcomes: &mut Vec<SendOutcome>,
    ) {
        for i in 0..self.requests.len() {
            let r = &mut self.requests[i];
            if r.done || r.broker != broker {
                continue;
            }
            r.done = true;
            // An answer waiting behind a lost one is never read.
            r.answer = None;
            let ids = std::mem::take(&mut r.batches);
            let request = self.first_request + i as u32;
            let error = if Some(request) == timed_out {
                SendError::Timeout
            } else {
                others
            };
            for id in ids {
                if self.in_request(id, request) {
                    self.retry(id, error, out, outcomes);
                }
            }
        }
        self.conns[broker as usize].in_flight = 0;
    }

    /// delivery.timeout.ms after their creation, batches fail wherever they are: waiting in
    /// the accumulator, backing off, or in a request whose answer is still to come.
    fn on_delivery_timeout(&mut self, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        if self.expire_due(out, outcomes) {
            self.drain_all(out, outcomes);
        }
    }

    /// Fails every batch whose delivery deadline has come; whether there was one.
    fn expire_due(&mut self, out: &mut Out, outcomes: &mut Vec<SendOutcome>) -> bool {
        let mut i = 0;
        let mut expired = false;
        while i < self.batches.len() {
            let b = &self.batches[i];
            if b.created.after(self.config.delivery_timeout_ms) > out.now {
                break;
            }
            if b.state != State::Done {
                let id = self.first_batch + i as u32;
                self.fail(id, GaveUp::DeliveryTimeout, out, outcomes);
                expired = true;
            }
            i += 1;
        }
        expired
    }

    /// After any completion: resolve what can be resolved, bump the epoch if a partition
    /// needs it, send what may now go, drop finished entries, and re-arm the timers.
    fn after(&mut self, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        if self.unresolved > 0 {
            self.resolve_sequences(out, outcomes);
        }
        self.pop_done();
        self.arm(out);
    }

    /// TransactionManager.maybeResolveSequences and bumpIdempotentProducerEpoch.
    fn resolve_sequences(&mut self, out: &mut Out, outcomes: &mut Vec<SendOutcome>) {
        let mut rewrite = Vec::new();
        for (ix, p) in self.parts.iter_mut().enumerate() {
            if !p.unresolved || !p.in_flight.is_empty() {
                continue;
            }
            p.unresolved = false;
            self.unresolved -= 1;
            let next_expected = p.last_acked_sequence.map_or(0, |s| s.wrapping_add(1));
            // Later batches were acknowledged, so the expired one is in the log: nothing
            // to fix. Otherwise its fate is unknown and the sequence must restart.
            if next_expected != p.next_sequence {
                rewrite.push(PartId(ix as u32));
            }
        }
        if rewrite.is_empty() {
            return;
        }
        if self.epoch == MAX_EPOCH {
            self.new_producer_id();
        } else {
            self.epoch += 1;
        }
        let current = (self.producer_id, self.epoch);
        for part in rewrite {
            let p = &mut self.parts[part.ix()];
            p.producer = current;
            p.next_sequence = 0;
            p.last_acked_sequence = None;
            out.trace(Kind::EpochBump {
                actor: self.actor,
                part,
                epoch: self.epoch,
            });
        }
        self.drain_all(out, outcomes);
    }

    /// Keeps one timer for the earliest of the oldest request deadline and the oldest
    /// delivery deadline. It is left where it is when what it covered completes (it then
    /// fires early, finds nothing due, and moves on), so an acknowledgement costs no timer
    /// work; with nothing left to cover, it is cancelled.
    fn arm(&mut self, out: &mut Out) {
        let request = self.requests.iter().find(|r| !r.done).map(|r| r.deadline);
        let delivery = if self.config.acks == Acks::None {
            None
        } else {
            self.batches
                .iter()
                .find(|b| b.state != State::Done)
                .map(|b| b.created.after(self.config.delivery_timeout_ms))
        };
        let want = match (request, delivery) {
            (Some(r), Some(d)) => Some(r.min(d)),
            (r, d) => r.or(d),
        };
        match (want, self.armed) {
            (None, None) => {}
            (None, Some(_)) => {
                out.cancel_timer(DEADLINE);
                self.armed = None;
            }
            // Armed no later than the oldest deadline: it will fire in time.
            (Some(want), Some(armed)) if armed <= want => {}
            (Some(want), _) => {
                out.set_timer_at(DEADLINE, want, Timer::ClientDeadline);
                self.armed = Some(want);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::io::TimerOp;
    use crate::partitioner::PartitionerKind;
    use crate::rng::SimRng;

    /// A Java partitioner over the one partition of these tests.
    fn one_partition() -> Partitioner {
        partitioner(PartitionerKind::Java, 1)
    }

    fn partitioner(kind: PartitionerKind, partitions: u32) -> Partitioner {
        Partitioner::new(
            kind,
            PartId(0),
            partitions,
            0,
            SimRng::substream(7, 1 << 62),
        )
    }

    fn client(retries: u64) -> ProducerClient {
        let config = ProducerConfig {
            retries,
            request_timeout_ms: 100,
            delivery_timeout_ms: 1_000,
            retry_backoff_ms: 10,
            ..ProducerConfig::default()
        };
        ProducerClient::new(ActorId(0), 0, config, &[0], one_partition())
    }

    /// linger.ms 50 and a batch.size of two records (320 bytes).
    fn lingering() -> ProducerClient {
        let config = ProducerConfig {
            linger_ms: 50,
            batch_size: 2 * crate::scenario::RECORD_BYTES,
            ..ProducerConfig::default()
        };
        ProducerClient::new(ActorId(0), 0, config, &[0], one_partition())
    }

    #[test]
    fn a_batch_lingers_for_more_records_and_goes_when_full_or_when_linger_ends() {
        let mut c = lingering();
        let mut out = Out::at(Time(0));
        c.send(EventIx(0), Some(0), &mut out);
        assert!(requests(&out).is_empty(), "t=0: the batch lingers");
        let mut out = Out::at(Time(10));
        c.send(EventIx(1), Some(0), &mut out);
        let sent = requests(&out);
        assert_eq!(sent.len(), 1, "t=10: full at two records, sent at once");
        assert_eq!(
            sent[0].batches[0].events.to_vec(),
            vec![EventIx(0), EventIx(1)]
        );
        assert!(
            out.timers
                .iter()
                .any(|t| matches!(t, TimerOp::Cancel { key } if *key == RESEND)),
            "its linger timer goes with it"
        );
        let mut out = Out::at(Time(20));
        c.send(EventIx(2), Some(0), &mut out);
        assert!(
            requests(&out).is_empty(),
            "t=20: a new batch lingers until t=70"
        );
        let (out, _) = fire(&mut c, 70, Timer::Resend { batch: 1 });
        let sent = requests(&out);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].batches[0].events.to_vec(), vec![EventIx(2)]);
    }

    fn requests(out: &Out) -> Vec<Produce> {
        out.sends
            .iter()
            .filter_map(|(_, m)| match m {
                Msg::Produce(p) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    fn answer(
        c: &mut ProducerClient,
        at: u64,
        request: u32,
        result: Result<Offset, SendError>,
    ) -> (Out, Vec<SendOutcome>) {
        let mut out = Out::at(Time(at));
        let mut outcomes = Vec::new();
        let msg = Msg::ProduceResponse {
            producer_id: c.producer_id,
            request_id: request,
            results: vec![(PartId(0), result)].into(),
        };
        c.on_message(msg, &mut out, &mut outcomes);
        (out, outcomes)
    }

    fn fire(c: &mut ProducerClient, at: u64, timer: Timer) -> (Out, Vec<SendOutcome>) {
        let mut out = Out::at(Time(at));
        let mut outcomes = Vec::new();
        c.on_timer(timer, &mut out, &mut outcomes);
        (out, outcomes)
    }

    #[test]
    fn one_timer_covers_every_request_and_goes_when_the_last_is_answered() {
        let mut c = client(3);
        let mut out = Out::at(Time(0));
        assert_eq!(c.send(EventIx(0), Some(0), &mut out), None);
        assert!(out.timers.iter().any(|t| matches!(
            t,
            TimerOp::Set {
                at: Time(100),
                key: DEADLINE,
                ..
            }
        )));
        let mut out = Out::at(Time(5));
        c.send(EventIx(1), Some(0), &mut out);
        // The second send adds no timer: the ones at t=100 and t=1000 fire first.
        assert!(out.timers.is_empty());
        let (out, outcomes) = answer(&mut c, 7, 0, Ok(Offset(0)));
        assert!(matches!(
            outcomes[..],
            [SendOutcome::Acked {
                event: EventIx(0),
                ..
            }]
        ));
        assert!(out.timers.is_empty(), "an ack moves no timer");
        // At t=100 nothing is due yet: the timer moves on to the next deadline, t=105.
        let (out, outcomes) = fire(&mut c, 100, Timer::ClientDeadline);
        assert!(outcomes.is_empty() && out.trace.is_empty());
        assert!(out.timers.iter().any(|t| matches!(
            t,
            TimerOp::Set {
                at: Time(105),
                key: DEADLINE,
                ..
            }
        )));
        let (out, _) = answer(&mut c, 101, 1, Ok(Offset(1)));
        assert!(out
            .timers
            .iter()
            .any(|t| matches!(t, TimerOp::Cancel { key: DEADLINE })));
    }

    #[test]
    fn a_timeout_retries_after_the_backoff_with_the_same_sequence() {
        let mut c = client(3);
        let mut out = Out::at(Time(0));
        c.send(EventIx(0), Some(0), &mut out);
        let (out, outcomes) = fire(&mut c, 100, Timer::ClientDeadline);
        assert!(outcomes.is_empty());
        assert!(out
            .trace
            .iter()
            .any(|k| matches!(k, Kind::Retry { attempt: 1, .. })));
        let (out, _) = fire(&mut c, 110, Timer::Resend { batch: 0 });
        let sent = requests(&out);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].batches[0].base_sequence, 0);
        assert_eq!(sent[0].batches[0].epoch, 0);
    }

    #[test]
    fn at_most_max_in_flight_requests_go_and_the_rest_wait_as_one_batch() {
        let mut c = client(3);
        let mut out = Out::at(Time(0));
        for e in 0..8 {
            c.send(EventIx(e), Some(0), &mut out);
        }
        let sent = requests(&out);
        assert_eq!(sent.len(), 5, "max.in.flight.requests.per.connection is 5");
        // The first answer frees a slot: the three records that waited go as one batch
        // with consecutive sequences.
        let (out, _) = answer(&mut c, 3, 0, Ok(Offset(0)));
        let sent = requests(&out);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].batches[0].events.to_vec(),
            vec![EventIx(5), EventIx(6), EventIx(7)]
        );
        assert_eq!(sent[0].batches[0].base_sequence, 5);
    }

    #[test]
    fn a_request_timeout_fails_every_request_on_its_connection() {
        let mut c = client(3);
        let mut out = Out::at(Time(0));
        c.send(EventIx(0), Some(0), &mut out);
        let mut out = Out::at(Time(50));
        c.send(EventIx(1), Some(0), &mut out);
        let (out, _) = fire(&mut c, 100, Timer::ClientDeadline);
        let errors: Vec<(EventIx, SendError)> = out
            .trace
            .iter()
            .filter_map(|k| match *k {
                Kind::Retry { event, error, .. } => Some((event, error)),
                _ => None,
            })
            .collect();
        assert_eq!(
            errors,
            vec![
                (EventIx(0), SendError::Timeout),
                (EventIx(1), SendError::ConnectionClosed)
            ]
        );
        // The answer to the second request, on the closed connection, is not read.
        let (out, outcomes) = answer(&mut c, 101, 1, Ok(Offset(1)));
        assert!(outcomes.is_empty() && out.trace.is_empty());
    }

    #[test]
    fn an_expired_send_keeps_other_batches_numbers_and_bumps_only_when_nothing_is_in_flight() {
        let mut c = ProducerClient::new(
            ActorId(0),
            0,
            ProducerConfig {
                request_timeout_ms: 100,
                delivery_timeout_ms: 150,
                retry_backoff_ms: 10,
                ..ProducerConfig::default()
            },
            &[0],
            one_partition(),
        );
        let mut out = Out::at(Time(0));
        c.send(EventIx(0), Some(0), &mut out);
        let mut out = Out::at(Time(60));
        c.send(EventIx(1), Some(0), &mut out);
        // t=100: the first request times out; both are retried at t=110 (only the first,
        // as the partition's first sequence in flight).
        fire(&mut c, 100, Timer::ClientDeadline);
        let (out, _) = fire(&mut c, 110, Timer::Resend { batch: 0 });
        let sent = requests(&out);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].batches[0].events.to_vec(), vec![EventIx(0)]);
        let retry_of_0 = sent[0].request_id;
        // t=150: event 0 expires while its retry is in flight. Event 1 still holds
        // sequence 1, so no bump: it is now the first sequence in flight and its retry
        // goes at once, with its own sequence and epoch.
        let (out, outcomes) = fire(&mut c, 150, Timer::ClientDeadline);
        assert_eq!(outcomes, vec![SendOutcome::Failed { event: EventIx(0) }]);
        assert!(!out
            .trace
            .iter()
            .any(|k| matches!(k, Kind::EpochBump { .. })));
        let sent = requests(&out);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].batches[0].events.to_vec(), vec![EventIx(1)]);
        assert_eq!(sent[0].batches[0].base_sequence, 1);
        assert_eq!(sent[0].batches[0].epoch, 0);
        // Answers come in request order on the connection: e-1's, read before the
        // answer to e-0's retry, would not be read (the stream is stuck behind it).
        let (out, outcomes) = answer(&mut c, 151, sent[0].request_id, Ok(Offset(1)));
        assert!(outcomes.is_empty() && out.trace.is_empty());
        // The retry's answer (e-0 already reported failed: not read as an ack), then
        // e-1's: its ack proves sequence 0 landed, resolved without a bump.
        answer(&mut c, 152, retry_of_0, Ok(Offset(0)));
        let (out, _) = answer(&mut c, 153, sent[0].request_id, Ok(Offset(1)));
        assert!(!out
            .trace
            .iter()
            .any(|k| matches!(k, Kind::EpochBump { .. })));
        assert!(!c.parts[0].unresolved);
    }

    #[test]
    fn a_partition_whose_sends_all_expired_moves_to_a_new_epoch_at_sequence_zero() {
        let mut c = ProducerClient::new(
            ActorId(0),
            0,
            ProducerConfig {
                request_timeout_ms: 100,
                delivery_timeout_ms: 150,
                retry_backoff_ms: 10,
                ..ProducerConfig::default()
            },
            &[0],
            one_partition(),
        );
        let mut out = Out::at(Time(0));
        c.send(EventIx(0), Some(0), &mut out);
        fire(&mut c, 100, Timer::ClientDeadline);
        fire(&mut c, 110, Timer::Resend { batch: 0 });
        let (out, _) = fire(&mut c, 150, Timer::ClientDeadline);
        assert!(out
            .trace
            .iter()
            .any(|k| matches!(k, Kind::EpochBump { epoch: 1, .. })));
        let pid = c.producer_id;
        let mut out = Out::at(Time(200));
        c.send(EventIx(1), Some(0), &mut out);
        let sent = requests(&out);
        assert_eq!(
            sent[0].producer_id, pid,
            "an epoch bump keeps the producer id"
        );
        assert_eq!(
            (sent[0].batches[0].epoch, sent[0].batches[0].base_sequence),
            (1, 0)
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
            &[0],
            one_partition(),
        );
        let mut out = Out::at(Time(0));
        let outcome = c.send(EventIx(0), Some(0), &mut out);
        assert!(matches!(
            outcome,
            Some(SendOutcome::Acked { offset: None, .. })
        ));
        assert!(out.timers.is_empty());
    }

    /// The partitions of the `Send` records in `out`, in order.
    fn sent_to(out: &Out) -> Vec<u32> {
        out.trace
            .iter()
            .filter_map(|k| match *k {
                Kind::Send { part, .. } => Some(part.0),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn java_null_keys_stick_to_a_partition_until_its_batch_is_full() {
        // Three partitions on one broker. The first five records go out at once (five
        // requests in flight, unanswered); the rest wait and fill a batch. The partition
        // changes only once a batch's worth was produced and the open batch is full.
        let config = ProducerConfig::default();
        let mut c = ProducerClient::new(
            ActorId(0),
            0,
            config,
            &[0, 0, 0],
            partitioner(PartitionerKind::Java, 3),
        );
        let mut out = Out::at(Time(0));
        let sticky = BATCH_RECORDS + 5;
        for e in 0..sticky as u32 {
            c.send(EventIx(e), None, &mut out);
        }
        let parts = sent_to(&out);
        assert!(
            parts.iter().all(|&p| p == parts[0]),
            "the first {sticky} records share a partition: {parts:?}"
        );
        // 5 single-record requests went; one full batch of 100 waits.
        let queue = &c.parts[parts[0] as usize].queue;
        assert_eq!(queue.len(), 1);
        assert_eq!(c.batch(queue[0]).events.len(), BATCH_RECORDS);
        for e in sticky as u32..400 {
            c.send(EventIx(e), None, &mut out);
        }
        let parts = sent_to(&out);
        // Later switches come every full batch (100 records); over 295 more records the
        // partition changes at most at those boundaries.
        for (i, w) in parts[sticky..].windows(2).enumerate() {
            if w[0] != w[1] {
                assert_eq!(
                    (i + 1) % BATCH_RECORDS,
                    0,
                    "switched after record {}",
                    sticky + i
                );
            }
        }
    }

    #[test]
    fn java_null_keys_switch_after_two_batches_when_every_batch_leaves_at_once() {
        // With acks=0 every record is drained as soon as it is appended, so the batch it
        // joined is never full; Kafka still switches after twice batch.size.
        let config = ProducerConfig {
            acks: Acks::None,
            enable_idempotence: false,
            ..ProducerConfig::default()
        };
        let mut c = ProducerClient::new(
            ActorId(0),
            0,
            config,
            &[0, 0, 0],
            partitioner(PartitionerKind::Java, 3),
        );
        let mut out = Out::at(Time(0));
        for e in 0..2 * BATCH_RECORDS as u32 {
            c.send(EventIx(e), None, &mut out);
        }
        let parts = sent_to(&out);
        assert!(parts.iter().all(|&p| p == parts[0]), "{parts:?}");
        // A per-record choice would have used every partition by now; kafkajs does.
        let mut rr = ProducerClient::new(
            ActorId(0),
            0,
            ProducerConfig {
                acks: Acks::None,
                enable_idempotence: false,
                ..ProducerConfig::default()
            },
            &[0, 0, 0],
            partitioner(PartitionerKind::Kafkajs, 3),
        );
        let mut out = Out::at(Time(0));
        for e in 0..6 {
            rr.send(EventIx(e), None, &mut out);
        }
        assert_eq!(sent_to(&out), vec![1, 2, 0, 1, 2, 0]);
    }
}
