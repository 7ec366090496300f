//! The world: every component of a scenario, and the driver loop that feeds them events.
//!
//! This is the only place that knows how components connect. It pops the next event from
//! the `Ctx`, hands it to the component it is for, and carries out what that component
//! asked for (a reply over a link, a rebalance answer to each member). Components never
//! call each other. Faults are scheduled events like any other.

pub mod cluster;
pub mod group;
pub mod member;
pub mod producer;
pub mod service;

use crate::engine::Ctx;
use crate::rng::{SimRng, Stream};
use crate::scenario::{Acks, CrashPoint, FaultAction, Keys, Publish, Scenario, SendSpec, Target};
use crate::trace::{
    Actor, ActorId, Envelope, EventIx, Kind, Outage, PartId, RebalanceReason, SendError, Trace,
    NO_KEY,
};
use cluster::{AppendResult, Cluster};
use group::{Coordinator, Reply, State};
use member::{Member, Phase, Store};
use producer::{KafkaProducer, SendOutcome};
use service::{Database, Relay, Service, Up};
use std::collections::BTreeMap;

/// Everything that can happen. Small and `Copy`: the queue holds millions of these.
#[derive(Clone, Copy, Debug)]
pub enum Ev {
    ProducerTick {
        producer: u16,
    },
    ProduceArrive {
        client: u16,
        pid: u32,
        event: EventIx,
        part: PartId,
        seq: u32,
        idempotent: bool,
    },
    ProduceReply {
        client: u16,
        event: EventIx,
        result: Result<u64, SendError>,
    },
    ProduceTimeout {
        client: u16,
        event: EventIx,
        attempt: u32,
    },
    Resend {
        client: u16,
        event: EventIx,
        attempt: u32,
    },
    MemberStart {
        slot: u32,
    },
    JoinArrive {
        slot: u32,
        incarnation: u32,
    },
    InitialDelayDone {
        group: u16,
        generation: u32,
    },
    LeaveArrive {
        slot: u32,
        incarnation: u32,
    },
    SessionExpire {
        slot: u32,
        incarnation: u32,
    },
    RejoinNotice {
        slot: u32,
        incarnation: u32,
    },
    SyncReply {
        slot: u32,
        incarnation: u32,
        generation: u32,
    },
    FetchArrive {
        slot: u32,
        incarnation: u32,
        epoch: u32,
    },
    FetchTimeout {
        slot: u32,
        incarnation: u32,
        epoch: u32,
    },
    FetchReply {
        slot: u32,
        incarnation: u32,
    },
    CheckStore {
        slot: u32,
        incarnation: u32,
    },
    ProcessDone {
        slot: u32,
        incarnation: u32,
    },
    CommitArrive {
        slot: u32,
        incarnation: u32,
        generation: u32,
        part: PartId,
        offset: u64,
        sync: bool,
    },
    CommitReply {
        slot: u32,
        incarnation: u32,
        sync: bool,
    },
    Fault {
        index: u32,
    },
    OutageEnd {
        what: Outage,
        actor: ActorId,
    },
    CommandTick {
        service: u16,
    },
    DbCommitDone {
        service: u16,
        incarnation: u32,
        command: u64,
    },
    RelayPoll {
        service: u16,
        relay: u32,
        incarnation: u32,
    },
    RelayMarkDone {
        service: u16,
        relay: u32,
        incarnation: u32,
    },
}

/// A crash fault waiting for its point and, with `on_record`, for the Nth time the target
/// gets there: a member counts records started, a service orders committed, a relay
/// acknowledged batches.
#[derive(Clone, Copy, Debug)]
pub struct Armed {
    pub point: CrashPoint,
    pub on_record: Option<u64>,
    pub started: u64,
}

impl Armed {
    pub fn new(point: CrashPoint, on_record: Option<u64>) -> Armed {
        Armed {
            point,
            on_record,
            started: 0,
        }
    }

    /// One more record, order or batch toward `on_record`.
    pub fn count(&mut self) {
        self.started += 1;
    }

    pub fn fires_at(&self, point: CrashPoint) -> bool {
        self.point == point && self.on_record.is_none_or(|n| n == self.started)
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was left to happen.
    Quiescent,
    /// `run.until_ms` was reached.
    TimeLimit,
    /// `run.max_events` events were processed.
    EventBudget,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Quiescent => "quiescent",
            Outcome::TimeLimit => "time-limit",
            Outcome::EventBudget => "event-budget",
        }
    }
}

pub struct RunResult {
    pub trace: Trace,
    pub outcome: Outcome,
    pub end_ms: u64,
    pub events: u64,
    /// Committed offsets per group, per PartId.
    pub committed: Vec<Vec<Option<u64>>>,
    /// Each group's PartIds.
    pub group_parts: Vec<Vec<PartId>>,
    /// The final partition logs: the event at each offset.
    pub logs: Vec<Vec<EventIx>>,
}

/// Who owns a producer client, so an outcome goes back to the right component.
#[derive(Clone, Copy, Debug)]
enum Owner {
    Producer,
    Service,
    Relay(u16, u32),
}

struct ProducerApp {
    client: u16,
    next: u64,
    /// Precomputed key ids and partitions, one per distinct key: no formatting per send.
    keys: Vec<(u32, PartId)>,
    /// Interned once, so a send looks nothing up by name.
    event_type: u16,
}

pub struct World<'s> {
    sc: &'s Scenario,
    pub ctx: Ctx,
    cluster: Cluster,
    clients: Vec<KafkaProducer>,
    owners: Vec<Owner>,
    isolated_until: Vec<u64>,
    producers: Vec<ProducerApp>,
    coordinators: Vec<Coordinator>,
    stores: Vec<Option<Store>>,
    members: Vec<Member>,
    /// (group, index) of each member slot.
    slots: Vec<(u16, u32)>,
    next_index: Vec<u32>,
    /// Parked fetches: (slot, incarnation, epoch), waiting for data or fetch.max.wait.ms.
    waiting: Vec<(u32, u32, u32)>,
    services: Vec<Service>,
    relays: Vec<Vec<Relay>>,
    first_part: Vec<PartId>,
    key_ids: BTreeMap<String, u32>,
    scratch: Vec<EventIx>,
}

impl<'s> World<'s> {
    pub fn new(sc: &'s Scenario, seed: u64) -> World<'s> {
        let mut ctx = Ctx::new(seed, sc.cluster.latency_min_ms, sc.cluster.latency_max_ms);
        let mut first_part = Vec::new();
        let mut total = 0u32;
        for (t, topic) in sc.topics.iter().enumerate() {
            first_part.push(total);
            ctx.trace.topic_names.push(topic.name.clone());
            for p in 0..topic.partitions {
                ctx.trace.partitions.push((t as u16, p));
            }
            total += topic.partitions;
        }
        let firsts: Vec<usize> = first_part.iter().map(|&p| p as usize).collect();
        let cluster = Cluster::new(total as usize, sc.cluster.brokers, &firsts);
        ctx.trace.leaders = cluster.leaders.clone();
        let mut w = World {
            sc,
            ctx,
            cluster,
            clients: Vec::new(),
            owners: Vec::new(),
            isolated_until: Vec::new(),
            producers: Vec::new(),
            coordinators: Vec::new(),
            stores: Vec::new(),
            members: Vec::new(),
            slots: Vec::new(),
            next_index: Vec::new(),
            waiting: Vec::new(),
            services: Vec::new(),
            relays: Vec::new(),
            first_part,
            key_ids: BTreeMap::new(),
            scratch: Vec::new(),
        };
        w.setup(seed);
        w
    }

    fn actor(&mut self, actor: Actor, name: String) -> ActorId {
        self.ctx.trace.actors.push((actor, name));
        (self.ctx.trace.actors.len() - 1) as ActorId
    }

    fn new_client(
        &mut self,
        actor: ActorId,
        owner: Owner,
        config: &crate::scenario::ProducerConfig,
        rr: u32,
    ) -> u16 {
        let client = self.clients.len() as u16;
        let parts = self.ctx.trace.partitions.len();
        let mut kp = KafkaProducer::new(&mut self.ctx, actor, client, config.clone(), parts, rr);
        kp.reset(self.cluster.init_producer_id());
        self.clients.push(kp);
        self.owners.push(owner);
        self.isolated_until.push(0);
        client
    }

    /// Interns each distinct key once and computes its partition once.
    fn key_table(&mut self, send: &SendSpec, topic: usize) -> Vec<(u32, PartId)> {
        let Keys::Pattern { distinct, .. } = &send.keys else {
            return Vec::new();
        };
        let n = (*distinct).min(send.count.max(1));
        let first = self.first_part[topic];
        let count = self.sc.topics[topic].partitions;
        (0..n)
            .map(|i| {
                let key = send.keys.key(i).expect("pattern keys");
                let part = first + crate::partitioner::partition_for_key(key.as_bytes(), count);
                let next = self.ctx.trace.keys.len() as u32;
                let id = *self.key_ids.entry(key.clone()).or_insert(next);
                if id == next {
                    self.ctx.trace.keys.push(key);
                }
                (id, part)
            })
            .collect()
    }

    fn event_type(&mut self, name: &str) -> u16 {
        match self.ctx.trace.event_types.iter().position(|t| t == name) {
            Some(i) => i as u16,
            None => {
                self.ctx.trace.event_types.push(name.to_string());
                (self.ctx.trace.event_types.len() - 1) as u16
            }
        }
    }

    fn setup(&mut self, seed: u64) {
        let sc = self.sc;
        let mut rng = SimRng::new(seed, Stream::Producers);
        for (i, p) in sc.producers.iter().enumerate() {
            let actor = self.actor(Actor::Producer(i as u16), p.name.clone());
            let rr = rng.next_u64() as u32;
            let client = self.new_client(actor, Owner::Producer, &p.config, rr);
            let keys = self.key_table(&p.send, p.topic);
            let event_type = self.event_type(&p.send.event_type);
            self.producers.push(ProducerApp {
                client,
                next: 0,
                keys,
                event_type,
            });
            if p.send.count > 0 {
                self.ctx
                    .at(p.send.start_ms, Ev::ProducerTick { producer: i as u16 });
            }
        }
        for (g, spec) in sc.groups.iter().enumerate() {
            let mut topics = Vec::new();
            let mut committed_len = 0;
            for &t in &spec.topics {
                topics.push((
                    sc.topics[t].name.clone(),
                    self.first_part[t],
                    sc.topics[t].partitions,
                ));
            }
            committed_len += self.ctx.trace.partitions.len();
            self.coordinators.push(Coordinator {
                group: g as u16,
                state: State::Empty,
                generation: 0,
                view: Vec::new(),
                committed: vec![None; committed_len],
                topics,
                assignor: spec.config.assignor,
                initial_delay_ms: sc.cluster.initial_rebalance_delay_ms,
                shares: Vec::new(),
                out: Vec::new(),
            });
            self.stores.push(
                spec.idempotency
                    .as_ref()
                    .map(|i| Store::new(i.store, i.ttl_ms, i.on_unavailable)),
            );
            self.next_index.push(0);
            for _ in 0..spec.members {
                let slot = self.add_member(g);
                self.ctx.at(0, Ev::MemberStart { slot });
            }
        }
        for (s, spec) in sc.services.iter().enumerate() {
            let actor = self.actor(Actor::Service(s as u16), spec.name.clone());
            let rr = rng.next_u64() as u32;
            let client = self.new_client(actor, Owner::Service, &spec.producer, rr);
            let keys = self.key_table(&spec.commands, spec.topic);
            let event_type = self.event_type(&spec.commands.event_type);
            self.services.push(Service {
                actor,
                client,
                keys,
                event_type,
                state: Up::Up,
                incarnation: 0,
                db: Database::default(),
                armed: None,
                commands_issued: 0,
            });
            let mut relays = Vec::new();
            if spec.publish == Publish::Outbox {
                for r in 0..spec.relay.count {
                    let actor = self.actor(
                        Actor::Relay {
                            service: s as u16,
                            index: r,
                        },
                        sc.relay_name(s, r),
                    );
                    let rr = rng.next_u64() as u32;
                    let client =
                        self.new_client(actor, Owner::Relay(s as u16, r), &spec.producer, rr);
                    relays.push(Relay {
                        actor,
                        client,
                        state: Up::Up,
                        incarnation: 0,
                        batch: Vec::new(),
                        waiting: 0,
                        failed: false,
                        armed: None,
                    });
                    self.ctx.at(
                        spec.relay.poll_interval_ms,
                        Ev::RelayPoll {
                            service: s as u16,
                            relay: r,
                            incarnation: 0,
                        },
                    );
                }
            }
            self.relays.push(relays);
            if spec.commands.count > 0 {
                self.ctx.at(
                    spec.commands.start_ms,
                    Ev::CommandTick { service: s as u16 },
                );
            }
        }
        for (i, f) in sc.faults.iter().enumerate() {
            self.ctx.at(f.at_ms, Ev::Fault { index: i as u32 });
        }
    }

    fn add_member(&mut self, g: usize) -> u32 {
        let index = self.next_index[g];
        self.next_index[g] += 1;
        let actor = self.actor(
            Actor::Member {
                group: g as u16,
                index,
            },
            self.sc.member_name(g, index),
        );
        let slot = self.members.len() as u32;
        let m = Member::new(&mut self.ctx, slot, g as u16, actor, &self.sc.groups[g]);
        self.members.push(m);
        self.slots.push((g as u16, index));
        slot
    }

    /// Runs to the end and hands back the trace and the final state the reports need.
    pub fn run(mut self) -> RunResult {
        let until = self.sc.run.until_ms;
        let budget = self.sc.run.max_events;
        let mut events = 0u64;
        let outcome = loop {
            if events >= budget {
                break Outcome::EventBudget;
            }
            match self.ctx.pop(until) {
                Some(ev) => {
                    events += 1;
                    self.handle(ev);
                }
                None if self.ctx.is_idle() => break Outcome::Quiescent,
                None => break Outcome::TimeLimit,
            }
        };
        if outcome == Outcome::TimeLimit {
            self.ctx.set_now(until);
        }
        let end_ms = self.ctx.now();
        let group_parts = self
            .coordinators
            .iter()
            .map(|c| {
                c.topics
                    .iter()
                    .flat_map(|(_, first, n)| *first..*first + *n)
                    .collect()
            })
            .collect();
        RunResult {
            committed: self
                .coordinators
                .iter()
                .map(|c| c.committed.clone())
                .collect(),
            group_parts,
            logs: std::mem::take(&mut self.cluster.logs),
            trace: self.ctx.trace,
            outcome,
            end_ms,
            events,
        }
    }

    fn live(&self, slot: u32, incarnation: u32) -> bool {
        let m = &self.members[slot as usize];
        m.incarnation == incarnation && !matches!(m.phase, Phase::Down | Phase::Left)
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::ProducerTick { producer } => self.producer_tick(producer),
            Ev::ProduceArrive {
                client,
                pid,
                event,
                part,
                seq,
                idempotent,
            } => self.produce_arrive(client, pid, event, part, seq, idempotent),
            Ev::ProduceReply {
                client,
                event,
                result,
            } => {
                if self.ctx.now() < self.isolated_until[client as usize] {
                    return;
                }
                let out = self.clients[client as usize].on_reply(&mut self.ctx, event, result);
                self.route(client, out);
            }
            Ev::ProduceTimeout {
                client,
                event,
                attempt,
            } => {
                let out = self.clients[client as usize].on_timeout(&mut self.ctx, event, attempt);
                self.route(client, out);
            }
            Ev::Resend {
                client,
                event,
                attempt,
            } => self.clients[client as usize].on_resend(&mut self.ctx, event, attempt),
            Ev::MemberStart { slot } => self.members[slot as usize].start(&mut self.ctx),
            Ev::JoinArrive { slot, incarnation } => {
                if self.defer_while_down(ev) || !self.live(slot, incarnation) {
                    return;
                }
                let (g, _) = self.slots[slot as usize];
                let actor = self.members[slot as usize].actor;
                self.coordinators[g as usize].on_join(&mut self.ctx, slot, incarnation, actor);
                self.flush(g);
            }
            Ev::InitialDelayDone { group, generation } => {
                self.coordinators[group as usize].on_initial_delay_done(&mut self.ctx, generation);
                self.flush(group);
            }
            Ev::LeaveArrive { slot, incarnation } => {
                if self.defer_while_down(ev) {
                    return;
                }
                self.member_gone(slot, incarnation, RebalanceReason::Leave)
            }
            Ev::SessionExpire { slot, incarnation } => {
                self.member_gone(slot, incarnation, RebalanceReason::SessionExpired)
            }
            Ev::RejoinNotice { slot, incarnation } => self.rejoin_notice(slot, incarnation),
            Ev::SyncReply {
                slot,
                incarnation,
                generation,
            } => {
                if !self.live(slot, incarnation) {
                    return;
                }
                let (g, _) = self.slots[slot as usize];
                let coord = &self.coordinators[g as usize];
                let cluster = &self.cluster;
                self.members[slot as usize].on_sync(
                    &mut self.ctx,
                    generation,
                    coord.share_of(slot),
                    &coord.committed,
                    |p| cluster.end_offset(p),
                );
            }
            Ev::FetchArrive {
                slot,
                incarnation,
                epoch,
            } => {
                if self.defer_while_down(ev) || !self.live(slot, incarnation) {
                    return;
                }
                self.fetch(slot, incarnation, epoch);
            }
            Ev::FetchTimeout {
                slot,
                incarnation,
                epoch,
            } => {
                let key = (slot, incarnation, epoch);
                if let Some(i) = self.waiting.iter().position(|w| *w == key) {
                    self.waiting.swap_remove(i);
                    let m = &mut self.members[slot as usize];
                    m.batch.clear();
                    let link = m.link_in;
                    self.ctx.send(link, Ev::FetchReply { slot, incarnation });
                }
            }
            Ev::FetchReply { slot, incarnation } => {
                if self.live(slot, incarnation)
                    && self.members[slot as usize].phase == Phase::Fetching
                {
                    let crashed = self.members[slot as usize].on_fetch_reply(&mut self.ctx);
                    self.after_step(slot, crashed);
                }
            }
            Ev::CheckStore { slot, incarnation } => {
                if self.live(slot, incarnation) {
                    let g = self.slots[slot as usize].0 as usize;
                    self.members[slot as usize].check_store(&mut self.ctx, self.stores[g].as_ref());
                }
            }
            Ev::ProcessDone { slot, incarnation } => {
                if self.live(slot, incarnation) {
                    let g = self.slots[slot as usize].0 as usize;
                    let crashed = self.members[slot as usize]
                        .on_process_done(&mut self.ctx, self.stores[g].as_mut());
                    self.after_step(slot, crashed);
                }
            }
            Ev::CommitArrive {
                slot,
                incarnation,
                generation,
                part,
                offset,
                sync,
            } => {
                if self.defer_while_down(ev) {
                    return;
                }
                let (g, _) = self.slots[slot as usize];
                let actor = self.members[slot as usize].actor;
                self.coordinators[g as usize].on_commit(
                    &mut self.ctx,
                    group::CommitRequest {
                        slot,
                        incarnation,
                        generation,
                        part,
                        offset,
                        actor,
                    },
                );
                if sync {
                    let link = self.members[slot as usize].link_in;
                    self.ctx.send(
                        link,
                        Ev::CommitReply {
                            slot,
                            incarnation,
                            sync,
                        },
                    );
                }
            }
            Ev::CommitReply {
                slot,
                incarnation,
                sync,
            } => {
                if sync && self.live(slot, incarnation) {
                    let crashed = self.members[slot as usize].on_commit_reply(&mut self.ctx);
                    self.after_step(slot, crashed);
                }
            }
            Ev::Fault { index } => self.fault(index as usize),
            Ev::OutageEnd { what, actor } => self.ctx.trace(Kind::OutageEnd { what, actor }),
            Ev::CommandTick { service } => self.command(service),
            Ev::DbCommitDone {
                service,
                incarnation,
                command,
            } => self.db_commit_done(service, incarnation, command),
            Ev::RelayPoll {
                service,
                relay,
                incarnation,
            } => self.relay_poll(service, relay, incarnation),
            Ev::RelayMarkDone {
                service,
                relay,
                incarnation,
            } => self.relay_mark_done(service, relay, incarnation),
        }
    }

    /// Consumer requests wait out a Kafka outage (the client retries until a broker
    /// answers); true when the event was put back for later.
    fn defer_while_down(&mut self, ev: Ev) -> bool {
        if self.cluster.is_up(self.ctx.now()) {
            return false;
        }
        self.ctx.at(self.cluster.down_until, ev);
        true
    }

    /// Sends the coordinator's answers to its members over their links.
    fn flush(&mut self, g: u16) {
        let mut out = std::mem::take(&mut self.coordinators[g as usize].out);
        for r in out.drain(..) {
            let (slot, ev) = match r {
                Reply::Rejoin { slot, incarnation } => {
                    (slot, Ev::RejoinNotice { slot, incarnation })
                }
                Reply::Sync {
                    slot,
                    incarnation,
                    generation,
                } => (
                    slot,
                    Ev::SyncReply {
                        slot,
                        incarnation,
                        generation,
                    },
                ),
            };
            let link = self.members[slot as usize].link_in;
            self.ctx.send(link, ev);
        }
        // Hand the emptied buffer back, so its allocation is reused.
        self.coordinators[g as usize].out = out;
    }

    fn member_gone(&mut self, slot: u32, incarnation: u32, reason: RebalanceReason) {
        let (g, _) = self.slots[slot as usize];
        self.coordinators[g as usize].on_leave(&mut self.ctx, slot, incarnation, reason);
        self.flush(g);
    }

    fn rejoin_notice(&mut self, slot: u32, incarnation: u32) {
        if !self.live(slot, incarnation) {
            return;
        }
        let m = &mut self.members[slot as usize];
        if m.phase == Phase::Joining {
            return;
        }
        m.rejoin = true;
        let parked = self
            .waiting
            .iter()
            .position(|w| w.0 == slot && w.1 == incarnation);
        if let Some(i) = parked {
            self.waiting.swap_remove(i);
        }
        let m = &mut self.members[slot as usize];
        if m.phase == Phase::Idle || parked.is_some() {
            m.batch.clear();
            m.poll(&mut self.ctx);
        }
    }

    /// The broker side of a fetch: up to max.poll.records from the member's positions,
    /// or park the request until data arrives or fetch.max.wait.ms passes.
    fn fetch(&mut self, slot: u32, incarnation: u32, epoch: u32) {
        let m = &mut self.members[slot as usize];
        if m.fetch_epoch != epoch {
            return;
        }
        m.batch.clear();
        let n = m.positions.len();
        let max = m.max_poll_records as usize;
        // Start at a rotating partition so one busy partition cannot starve the others.
        for k in 0..n {
            let (part, pos) = m.positions[(k + epoch as usize) % n];
            let log = &self.cluster.logs[part as usize];
            let mut o = pos as usize;
            while o < log.len() && m.batch.len() < max {
                m.batch.push((part, o as u64, log[o]));
                o += 1;
            }
        }
        if m.batch.is_empty() {
            self.waiting.push((slot, incarnation, epoch));
            let wait = self.sc.groups[self.slots[slot as usize].0 as usize]
                .config
                .fetch_max_wait_ms;
            self.ctx.timer(
                wait,
                Ev::FetchTimeout {
                    slot,
                    incarnation,
                    epoch,
                },
            );
        } else {
            let link = m.link_in;
            self.ctx.send(link, Ev::FetchReply { slot, incarnation });
        }
    }

    /// New data on `part`: parked fetches that cover it are answered now.
    fn wake_fetchers(&mut self, part: PartId) {
        let mut i = 0;
        while i < self.waiting.len() {
            let (slot, incarnation, epoch) = self.waiting[i];
            if self.members[slot as usize].assignment.contains(&part) {
                self.waiting.swap_remove(i);
                self.fetch(slot, incarnation, epoch);
            } else {
                i += 1;
            }
        }
    }

    fn after_step(&mut self, slot: u32, crashed: bool) {
        if crashed {
            self.member_crashed(slot);
        }
    }

    /// A crashed member sends nothing more: the coordinator notices when its session
    /// times out (we place that at exactly session.timeout.ms after the crash).
    fn member_crashed(&mut self, slot: u32) {
        self.waiting.retain(|w| w.0 != slot);
        let m = &self.members[slot as usize];
        let (g, _) = self.slots[slot as usize];
        let timeout = self.sc.groups[g as usize].config.session_timeout_ms;
        self.ctx.timer(
            timeout,
            Ev::SessionExpire {
                slot,
                incarnation: m.incarnation,
            },
        );
    }

    fn producer_tick(&mut self, producer: u16) {
        let spec = &self.sc.producers[producer as usize];
        let app = &mut self.producers[producer as usize];
        let i = app.next;
        app.next += 1;
        let client = app.client;
        let key = (!app.keys.is_empty()).then(|| app.keys[(i % app.keys.len() as u64) as usize]);
        if app.next < spec.send.count {
            self.ctx
                .timer(spec.send.every_ms, Ev::ProducerTick { producer });
        }
        let actor = self.clients[client as usize].actor;
        let topic = spec.topic;
        let event_type = app.event_type;
        let event = self.new_envelope(actor, event_type, key.map(|k| k.0), i, topic);
        let part = self.partition(client, key.map(|k| k.1), topic);
        let out = self.clients[client as usize].send(&mut self.ctx, event, part);
        self.route(client, out);
    }

    /// A keyed record's partition (computed once per key), or the client's next
    /// round-robin partition for a null key.
    fn partition(&mut self, client: u16, keyed: Option<PartId>, topic: usize) -> PartId {
        keyed.unwrap_or_else(|| {
            self.clients[client as usize]
                .next_round_robin(self.first_part[topic], self.sc.topics[topic].partitions)
        })
    }

    fn new_envelope(
        &mut self,
        source: ActorId,
        event_type: u16,
        key: Option<u32>,
        n: u64,
        topic: usize,
    ) -> EventIx {
        let e = self.ctx.trace.envelopes.len() as EventIx;
        self.ctx.trace.envelopes.push(Envelope {
            source,
            event_type,
            version: 1,
            occurred_at: self.ctx.now(),
            key: key.unwrap_or(NO_KEY),
            payload: n + 1,
            topic: topic as u16,
        });
        e
    }

    fn produce_arrive(
        &mut self,
        client: u16,
        pid: u32,
        event: EventIx,
        part: PartId,
        seq: u32,
        idempotent: bool,
    ) {
        let now = self.ctx.now();
        // A request into an outage or from a cut-off client is lost; the client times out.
        if !self.cluster.is_up(now) || now < self.isolated_until[client as usize] {
            return;
        }
        let result = if idempotent {
            match self.cluster.append_idempotent(pid, seq, part, event) {
                AppendResult::Appended(offset) => {
                    self.ctx.trace(Kind::Append {
                        event,
                        part,
                        offset,
                    });
                    self.wake_fetchers(part);
                    Ok(offset)
                }
                AppendResult::Duplicate(offset) => {
                    self.ctx.trace(Kind::DuplicateIgnored {
                        event,
                        part,
                        offset,
                    });
                    Ok(offset)
                }
                AppendResult::OutOfOrderSequence => Err(SendError::OutOfOrderSequence),
            }
        } else {
            let offset = self.cluster.append(part, event);
            self.ctx.trace(Kind::Append {
                event,
                part,
                offset,
            });
            self.wake_fetchers(part);
            Ok(offset)
        };
        let c = &self.clients[client as usize];
        if c.config.acks != Acks::None && c.pid == pid {
            let link = c.link_in;
            self.ctx.send(
                link,
                Ev::ProduceReply {
                    client,
                    event,
                    result,
                },
            );
        }
    }

    /// A producer client's outcome goes to its owner.
    fn route(&mut self, client: u16, out: Option<SendOutcome>) {
        let Some(out) = out else { return };
        if self.clients[client as usize].needs_new_epoch {
            let pid = self.cluster.init_producer_id();
            self.clients[client as usize].bump_epoch(pid);
        }
        if let Owner::Relay(s, r) = self.owners[client as usize] {
            self.relay_outcome(s, r, out);
        }
    }

    fn find_slot(&self, group: usize, index: u32) -> Option<u32> {
        self.slots
            .iter()
            .position(|&(g, i)| g as usize == group && i == index)
            .map(|s| s as u32)
    }

    fn fault(&mut self, index: usize) {
        let f = self.sc.faults[index].clone();
        let now = self.ctx.now();
        match f.action {
            FaultAction::Crash {
                target,
                point,
                on_record,
            } => self.crash(target, point, on_record),
            FaultAction::Restart(target) => self.restart(target),
            FaultAction::Join { group, members } => {
                for _ in 0..members {
                    let slot = self.add_member(group);
                    self.members[slot as usize].start(&mut self.ctx);
                }
            }
            FaultAction::Leave { group, index } => {
                if let Some(slot) = self.find_slot(group, index) {
                    let m = &self.members[slot as usize];
                    if self.live(slot, m.incarnation) {
                        self.waiting.retain(|w| w.0 != slot);
                        self.members[slot as usize].leave(&mut self.ctx);
                    }
                }
            }
            FaultAction::Isolate { client, for_ms } => {
                let until = now.saturating_add(for_ms);
                let (actor, clients) = match client {
                    crate::scenario::Client::Producer(p) => {
                        let c = self.producers[p].client;
                        (self.clients[c as usize].actor, vec![c])
                    }
                    crate::scenario::Client::Service(s) => {
                        let mut cs = vec![self.services[s].client];
                        cs.extend(self.relays[s].iter().map(|r| r.client));
                        (self.services[s].actor, cs)
                    }
                };
                for c in clients {
                    self.isolated_until[c as usize] = until;
                }
                self.outage(Outage::Isolated, actor, until);
            }
            FaultAction::KafkaOutage { for_ms } => {
                let until = now.saturating_add(for_ms);
                self.cluster.down_until = until;
                self.outage(Outage::Kafka, u32::MAX, until);
            }
            FaultAction::StoreOutage { group, for_ms } => {
                let until = now.saturating_add(for_ms);
                if let Some(s) = self.stores[group].as_mut() {
                    s.down_until = until;
                }
                self.outage(Outage::Store, group as u32, until);
            }
        }
    }

    fn outage(&mut self, what: Outage, actor: ActorId, until: u64) {
        self.ctx.trace(Kind::OutageStart { what, actor, until });
        self.ctx.at(until, Ev::OutageEnd { what, actor });
    }

    fn crash(&mut self, target: Target, point: Option<CrashPoint>, on_record: Option<u64>) {
        match target {
            Target::Member { group, index } => {
                let Some(slot) = self.find_slot(group, index) else {
                    return;
                };
                let inc = self.members[slot as usize].incarnation;
                if !self.live(slot, inc) {
                    return;
                }
                match point {
                    None => {
                        self.members[slot as usize].crash(&mut self.ctx, None);
                        self.member_crashed(slot);
                    }
                    Some(point) => {
                        self.members[slot as usize].armed = Some(Armed::new(point, on_record))
                    }
                }
            }
            Target::Service(s) => {
                if self.services[s].state == Up::Down {
                    return;
                }
                match point {
                    None => self.crash_service(s, None),
                    Some(point) => self.services[s].armed = Some(Armed::new(point, on_record)),
                }
            }
            Target::Relay { service, index } => {
                let r = &mut self.relays[service][index as usize];
                if r.state == Up::Down {
                    return;
                }
                match point {
                    None => self.crash_relay(service, index, None),
                    Some(point) => r.armed = Some(Armed::new(point, on_record)),
                }
            }
        }
    }

    fn restart(&mut self, target: Target) {
        match target {
            Target::Member { group, index } => {
                if let Some(slot) = self.find_slot(group, index) {
                    let m = &mut self.members[slot as usize];
                    if m.phase == Phase::Down {
                        self.ctx.trace(Kind::Restart { actor: m.actor });
                        m.start(&mut self.ctx);
                    }
                }
            }
            Target::Service(s) => {
                let pid = self.cluster.init_producer_id();
                let svc = &mut self.services[s];
                if svc.state == Up::Down {
                    svc.state = Up::Up;
                    svc.incarnation += 1;
                    self.ctx.trace(Kind::Restart { actor: svc.actor });
                    self.clients[svc.client as usize].reset(pid);
                }
            }
            Target::Relay { service, index } => {
                let pid = self.cluster.init_producer_id();
                let interval = self.sc.services[service].relay.poll_interval_ms;
                let r = &mut self.relays[service][index as usize];
                if r.state == Up::Down {
                    r.state = Up::Up;
                    r.incarnation += 1;
                    self.ctx.trace(Kind::Restart { actor: r.actor });
                    self.clients[r.client as usize].reset(pid);
                    let incarnation = r.incarnation;
                    self.ctx.timer(
                        interval,
                        Ev::RelayPoll {
                            service: service as u16,
                            relay: index,
                            incarnation,
                        },
                    );
                }
            }
        }
    }

    fn crash_service(&mut self, s: usize, point: Option<CrashPoint>) {
        let svc = &mut self.services[s];
        svc.state = Up::Down;
        svc.armed = None;
        svc.incarnation += 1;
        let (actor, client) = (svc.actor, svc.client);
        // The process's producer buffer dies with it.
        self.clients[client as usize].reset(0);
        self.ctx.trace(Kind::Crash { actor, point });
    }

    fn crash_relay(&mut self, s: usize, r: u32, point: Option<CrashPoint>) {
        let relay = &mut self.relays[s][r as usize];
        relay.state = Up::Down;
        relay.armed = None;
        relay.incarnation += 1;
        relay.batch.clear();
        relay.waiting = 0;
        let (actor, client) = (relay.actor, relay.client);
        self.clients[client as usize].reset(0);
        self.services[s].db.release(r);
        self.ctx.trace(Kind::Crash { actor, point });
    }

    /// A command arrives: the service runs a database transaction (if it is up).
    fn command(&mut self, service: u16) {
        let s = service as usize;
        let spec = &self.sc.services[s];
        let svc = &mut self.services[s];
        let command = svc.commands_issued;
        svc.commands_issued += 1;
        if svc.commands_issued < spec.commands.count {
            self.ctx
                .timer(spec.commands.every_ms, Ev::CommandTick { service });
        }
        // A command reaching a crashed service is refused: no order, nothing to lose.
        if svc.state == Up::Down {
            return;
        }
        let incarnation = svc.incarnation;
        self.ctx.timer(
            spec.commit_ms,
            Ev::DbCommitDone {
                service,
                incarnation,
                command,
            },
        );
    }

    fn db_commit_done(&mut self, service: u16, incarnation: u32, command: u64) {
        let s = service as usize;
        if self.services[s].incarnation != incarnation || self.services[s].state == Up::Down {
            return; // the transaction died with the process: nothing was committed
        }
        let spec = &self.sc.services[s];
        let keys = &self.services[s].keys;
        let key = (!keys.is_empty()).then(|| keys[(command % keys.len() as u64) as usize]);
        let actor = self.services[s].actor;
        let outbox = spec.publish == Publish::Outbox;
        let topic = spec.topic;
        let event = self.new_envelope(
            actor,
            self.services[s].event_type,
            key.map(|k| k.0),
            command,
            topic,
        );
        self.services[s].db.commit_order(event, outbox);
        self.ctx.trace(Kind::DbCommit {
            actor,
            event,
            outbox,
        });
        if let Some(a) = self.services[s].armed.as_mut() {
            a.count();
            if a.fires_at(CrashPoint::AfterDbCommit) {
                self.crash_service(s, Some(CrashPoint::AfterDbCommit));
                return;
            }
        }
        if !outbox {
            let client = self.services[s].client;
            let part = self.partition(client, key.map(|k| k.1), topic);
            let out = self.clients[client as usize].send(&mut self.ctx, event, part);
            self.route(client, out);
        }
    }

    fn relay_poll(&mut self, service: u16, relay: u32, incarnation: u32) {
        let s = service as usize;
        let r = &self.relays[s][relay as usize];
        if r.state == Up::Down || r.incarnation != incarnation {
            return;
        }
        let spec = &self.sc.services[s].relay;
        let mut batch = std::mem::take(&mut self.scratch);
        self.services[s]
            .db
            .claim(relay, spec.batch_size, &mut batch);
        if batch.is_empty() {
            self.scratch = batch;
            self.ctx.timer(
                spec.poll_interval_ms,
                Ev::RelayPoll {
                    service,
                    relay,
                    incarnation,
                },
            );
            return;
        }
        let topic = self.sc.services[s].topic;
        let r = &mut self.relays[s][relay as usize];
        r.batch.clear();
        r.batch.extend_from_slice(&batch);
        r.waiting = batch.len();
        r.failed = false;
        let (actor, client) = (r.actor, r.client);
        for &event in &batch {
            self.ctx.trace(Kind::RelayPublish { actor, event });
            let key = self.ctx.trace.envelopes[event as usize].key;
            let keyed = (key != NO_KEY).then(|| {
                let k = &self.ctx.trace.keys[key as usize];
                self.first_part[topic]
                    + crate::partitioner::partition_for_key(
                        k.as_bytes(),
                        self.sc.topics[topic].partitions,
                    )
            });
            let part = self.partition(client, keyed, topic);
            let out = self.clients[client as usize].send(&mut self.ctx, event, part);
            self.route(client, out);
        }
        self.scratch = batch;
    }

    fn relay_outcome(&mut self, s: u16, r: u32, out: SendOutcome) {
        let relay = &mut self.relays[s as usize][r as usize];
        if relay.state == Up::Down || relay.waiting == 0 {
            return;
        }
        relay.waiting -= 1;
        if let SendOutcome::Failed { event } = out {
            relay.failed = true;
            relay.batch.retain(|e| *e != event);
            self.services[s as usize].db.unlock(event);
        }
        let relay = &mut self.relays[s as usize][r as usize];
        if relay.waiting > 0 {
            return;
        }
        // Every row of the batch is acknowledged (or given up): the crash point, then mark.
        if let Some(a) = relay.armed.as_mut() {
            a.count();
            if a.fires_at(CrashPoint::AfterPublishBeforeMark) {
                self.crash_relay(s as usize, r, Some(CrashPoint::AfterPublishBeforeMark));
                return;
            }
        }
        let incarnation = relay.incarnation;
        let commit_ms = self.sc.services[s as usize].commit_ms;
        self.ctx.timer(
            commit_ms,
            Ev::RelayMarkDone {
                service: s,
                relay: r,
                incarnation,
            },
        );
    }

    fn relay_mark_done(&mut self, service: u16, relay: u32, incarnation: u32) {
        let s = service as usize;
        let r = &mut self.relays[s][relay as usize];
        if r.state == Up::Down || r.incarnation != incarnation {
            return;
        }
        let batch = std::mem::take(&mut r.batch);
        let actor = r.actor;
        for &event in &batch {
            self.services[s].db.mark_published(event);
            self.ctx.trace(Kind::RelayMark { actor, event });
        }
        self.relays[s][relay as usize].batch = batch;
        self.relays[s][relay as usize].batch.clear();
        let interval = self.sc.services[s].relay.poll_interval_ms;
        self.ctx.timer(
            interval,
            Ev::RelayPoll {
                service,
                relay,
                incarnation,
            },
        );
    }
}
