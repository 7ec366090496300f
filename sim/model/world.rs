//! The driver: builds every component of a scenario, owns time, the event queue, the
//! network, the timers and the seed, and carries out what components ask for.
//!
//! It pops the next event, hands it to the one component it is for, and applies that
//! component's `Out`: new events and assignments go into the trace tables, trace records to
//! the sink, timers into the queue (set, moved or cancelled by `(component, key)`), messages
//! onto the network. It holds no protocol logic and never writes a component's fields; a
//! fault is a command from the fault injector, carried out by calling the target's
//! `on_control` or by changing a link rule.

use crate::engine::{EntryId, Network, PathId, Queue, Time};
use crate::model::cluster::Cluster;
use crate::model::coordinator::{Coordinator, GroupTopic};
use crate::model::faults::{FaultCommand, FaultInjector, Isolation};
use crate::model::io::{Control, Endpoint, Msg, Out, Timer, TimerKey, TimerOp};
use crate::model::log::Offset;
use crate::model::member::Member;
use crate::model::partitioning::Partitioner;
use crate::model::producer::ProducerClient;
use crate::model::producer_app::{ProducerApp, Source};
use crate::model::relay::Relay;
use crate::model::service::{Database, Service};
use crate::model::store::Store;
use crate::rng::{SimRng, Stream, PARTITIONER_STREAMS};
use crate::scenario::{
    Client, FaultAction, Keys, Learner, MessageKind, MessageRule, ProducerConfig, Publish,
    Scenario, SendSpec, Target,
};
use crate::trace::{Actor, ActorId, Kind, PartId, Tables, TraceEvent, TraceSink};
use std::collections::BTreeMap;

/// A component, as the driver addresses it for timers and dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    Cluster,
    Coordinator(u16),
    Producer(u16),
    Service(u16),
    Relay(u16, u16),
    Member(u32),
    Faults,
}

/// What the queue holds: the head message of a network path is due, or a component's
/// timer fires (its payload waits in that component's timer table). 16 bytes.
#[derive(Clone, Copy, Debug)]
enum Ev {
    Deliver(PathId),
    Timer { component: u32, key: TimerKey },
}

/// A live timer: its queue entry, and what it carries.
#[derive(Clone, Copy, Debug)]
struct TimerSlot {
    id: EntryId,
    timer: Timer,
}

/// One component's live timers by key: a short list scanned (most components hold a
/// handful), which turns into an ordered map once it grows past `TimerTable::SCAN`, so
/// a component with many (the cluster's followers backing off after a crash) costs a
/// logarithm per timer, not a scan.
#[derive(Clone, Default)]
struct TimerTable {
    few: Vec<(TimerKey, TimerSlot)>,
    many: BTreeMap<TimerKey, TimerSlot>,
}

impl TimerTable {
    const SCAN: usize = 32;

    fn get_mut(&mut self, key: TimerKey) -> Option<&mut TimerSlot> {
        if self.many.is_empty() {
            self.few.iter_mut().find(|t| t.0 == key).map(|t| &mut t.1)
        } else {
            self.many.get_mut(&key)
        }
    }

    fn insert(&mut self, key: TimerKey, slot: TimerSlot) {
        if self.many.is_empty() && self.few.len() < Self::SCAN {
            self.few.push((key, slot));
        } else {
            self.many.extend(self.few.drain(..));
            self.many.insert(key, slot);
        }
    }

    fn remove(&mut self, key: TimerKey) -> Option<TimerSlot> {
        if self.many.is_empty() {
            let i = self.few.iter().position(|t| t.0 == key)?;
            Some(self.few.swap_remove(i).1)
        } else {
            self.many.remove(&key)
        }
    }

    /// Empties the table; returns the slots it had.
    fn take(&mut self) -> Vec<TimerSlot> {
        let mut all: Vec<TimerSlot> = self.few.drain(..).map(|t| t.1).collect();
        all.extend(std::mem::take(&mut self.many).into_values());
        all
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
    /// Produce requests carried `limits::PRODUCED_COPIES` record copies (every attempt).
    ProduceBudget,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Quiescent => "quiescent",
            Outcome::TimeLimit => "time-limit",
            Outcome::EventBudget => "event-budget",
            Outcome::ProduceBudget => "produce-budget",
        }
    }
}

/// What a run leaves behind besides its trace records.
pub struct RunResult {
    pub outcome: Outcome,
    pub end_ms: Time,
    /// Simulator events processed (queue pops).
    pub events: u64,
    /// The names and envelopes trace records point into.
    pub tables: Tables,
    /// The most entries the event queue held when an event was taken from it: live work
    /// only, no dead timers.
    pub peak_queue_len: usize,
    /// The mean number of entries in the queue at each pop (rounded down).
    pub mean_queue_len: usize,
    /// Each group's committed offsets by PartId, as its coordinator holds them at the end.
    pub committed: Vec<Vec<Option<Offset>>>,
    /// Each partition's log end offset at the end.
    pub log_end_offsets: Vec<Offset>,
}

pub struct World<'s, K: TraceSink> {
    sc: &'s Scenario,
    sink: K,
    now: Time,
    queue: Queue<Ev>,
    net: Network<Endpoint, Msg>,
    /// Live timers, per component (see `component`): a few each, so a scan finds one.
    timers: Vec<TimerTable>,
    /// Where each kind of component starts in the component numbering; members come
    /// last so joins can append.
    bases: Bases,
    tables: Tables,
    /// The one `Out` buffer, boxed so lending it to a handler moves a pointer.
    out: Option<Box<Out>>,
    commands: Vec<FaultCommand>,
    cluster: Cluster,
    coordinators: Vec<Coordinator>,
    producers: Vec<ProducerApp>,
    services: Vec<Service>,
    databases: Vec<Database>,
    relays: Vec<Vec<Relay>>,
    members: Vec<Member>,
    /// Each group's member slots, by member index.
    slots: Vec<Vec<u32>>,
    stores: Vec<Option<Store>>,
    faults: FaultInjector,
    /// The component behind each producer client endpoint.
    client_owner: Vec<Who>,
    first_part: Vec<PartId>,
    /// Each topic's partition count now (grown by `add_partitions`).
    topic_partitions: Vec<u32>,
    key_ids: BTreeMap<String, u32>,
    peak_queue_len: usize,
    /// Record copies sent in produce requests so far (every attempt): the run's produce
    /// budget reads it.
    produced_copies: u64,
    /// Open `messages:` windows: (fault index, kind, rule), in the order they opened.
    message_rules: Vec<(usize, MessageKind, MessageRule)>,
    /// Replica fetches and answers lost or delayed since the last handler, for the
    /// cluster (their followers' fetch timeouts).
    lost_replica: Vec<Msg>,
    /// Live timers that do not keep the run alive (`Timer::background`).
    background: usize,
    /// Whether a chaos draw waits for a target to go down (`RestartAfterDown`): only then
    /// does `apply` look for crashes in the trace.
    watch_down: bool,
    /// Targets that went down in the last handler, for the fault injector.
    went_down: Vec<Target>,
    /// Whether `chaos.network` draws jitter or drops for each message.
    chaos_net: bool,
}

impl<'s, K: TraceSink> World<'s, K> {
    /// Builds every component and starts them at t=0; their first records go to `sink`.
    pub fn new(sc: &'s Scenario, seed: u64, sink: K) -> World<'s, K> {
        let mut tables = Tables::default();
        let mut first_part = Vec::new();
        let mut counts = Vec::new();
        // Every partition a topic will ever have gets its id now (a topic's ids are
        // consecutive); those `add_partitions` creates later exist from then on.
        for (t, topic) in sc.topics.iter().enumerate() {
            first_part.push(PartId(tables.partitions.len() as u32));
            tables.topic_names.push(topic.name.clone());
            for p in 0..topic.max_partitions {
                tables.partitions.push((t as u16, p));
            }
            counts.push(topic.max_partitions);
        }
        tables.leaders = Cluster::leaders(&counts, sc.cluster.brokers);
        let mut w = World {
            sc,
            sink,
            now: Time::ZERO,
            queue: Queue::new(),
            net: Network::new(seed, sc.cluster.latency_min_ms, sc.cluster.latency_max_ms),
            timers: Vec::new(),
            bases: Bases::default(),
            tables,
            out: Some(Box::default()),
            commands: Vec::new(),
            cluster: Cluster::new(sc),
            coordinators: Vec::new(),
            producers: Vec::new(),
            services: Vec::new(),
            databases: Vec::new(),
            relays: Vec::new(),
            members: Vec::new(),
            slots: Vec::new(),
            stores: Vec::new(),
            faults: FaultInjector::new(Vec::new(), BTreeMap::new(), 1),
            client_owner: Vec::new(),
            first_part,
            topic_partitions: sc.topics.iter().map(|t| t.partitions).collect(),
            key_ids: BTreeMap::new(),
            peak_queue_len: 0,
            produced_copies: 0,
            message_rules: Vec::new(),
            lost_replica: Vec::new(),
            background: 0,
            watch_down: false,
            went_down: Vec::new(),
            chaos_net: sc.chaos.network.is_active(),
        };
        if w.chaos_net {
            w.net.set_chaos(sc.chaos.network.jitter_ms);
        }
        w.build(seed);
        w
    }

    fn actor(&mut self, actor: Actor, name: String) -> ActorId {
        self.tables.actors.push((actor, name));
        ActorId((self.tables.actors.len() - 1) as u32)
    }

    /// A producer client for `actor` writing to `topic`, with its partitioner. kafkajs's
    /// round-robin start is the next draw of the `Producers` stream (as before partitioners
    /// were configurable, so kafkajs runs are unchanged); every later draw of the
    /// partitioner comes from its own sub-stream, one per client.
    fn client(
        &mut self,
        actor: ActorId,
        owner: Who,
        config: &ProducerConfig,
        topic: usize,
        (rng, seed): (&mut SimRng, u64),
    ) -> ProducerClient {
        let client = self.client_owner.len() as u16;
        self.client_owner.push(owner);
        let partitioner = Partitioner::new(
            config.partitioner,
            self.first_part[topic],
            self.sc.topics[topic].partitions,
            rng.next_u64() as u32,
            SimRng::substream(seed, PARTITIONER_STREAMS | u64::from(client)),
        );
        ProducerClient::new(
            actor,
            client,
            config.clone(),
            &self.tables.leaders,
            partitioner,
        )
    }

    /// Interns each distinct key once and computes its hash once, with the sending client's
    /// partitioner; the client places it at `hash % partitions` as it knows them.
    fn source(
        &mut self,
        actor: ActorId,
        send: &SendSpec,
        topic: usize,
        config: &ProducerConfig,
    ) -> Source {
        let mut keys = Vec::new();
        if let Keys::Pattern { distinct, .. } = &send.keys {
            let n = (*distinct).min(send.count.max(1));
            for i in 0..n {
                let key = send.keys.key(i).expect("pattern keys");
                let hash = config.partitioner.key_hash(key.as_bytes());
                let next = self.tables.keys.len() as u32;
                let id = *self.key_ids.entry(key.clone()).or_insert(next);
                if id == next {
                    self.tables.keys.push(key);
                }
                keys.push((id, hash));
            }
        }
        let event_type = match self
            .tables
            .event_types
            .iter()
            .position(|t| *t == send.event_type)
        {
            Some(i) => i as u16,
            None => {
                self.tables.event_types.push(send.event_type.clone());
                (self.tables.event_types.len() - 1) as u16
            }
        };
        Source {
            actor,
            topic: topic as u16,
            count: send.count,
            every_ms: send.every_ms,
            start_ms: send.start_ms,
            keys,
            event_type,
            tombstone_every: send.tombstone_every,
        }
    }

    fn build(&mut self, seed: u64) {
        let sc = self.sc;
        let mut rng = SimRng::new(seed, Stream::Producers);
        for (i, p) in sc.producers.iter().enumerate() {
            let actor = self.actor(Actor::Producer(i as u16), p.name.clone());
            let client = self.client(
                actor,
                Who::Producer(i as u16),
                &p.config,
                p.topic,
                (&mut rng, seed),
            );
            let source = self.source(actor, &p.send, p.topic, &p.config);
            self.producers.push(ProducerApp::new(client, source));
        }
        for (g, spec) in sc.groups.iter().enumerate() {
            let topics = spec
                .topics
                .iter()
                .map(|&t| GroupTopic {
                    name: sc.topics[t].name.clone(),
                    first: self.first_part[t],
                    partitions: sc.topics[t].partitions,
                })
                .collect();
            self.coordinators.push(Coordinator::new(
                g as u16,
                spec.name.clone(),
                topics,
                self.tables.partitions.len(),
                spec.config.assignor,
                sc.cluster.initial_rebalance_delay_ms,
                spec.config.session_timeout_ms,
                spec.static_members,
            ));
            let names = |ts: &[usize]| -> Vec<String> {
                ts.iter().map(|&t| sc.topics[t].name.clone()).collect()
            };
            let per_member = spec.subscriptions.iter().map(|s| names(s)).collect();
            self.coordinators[g].set_subscriptions(names(&spec.default_topics), per_member);
            self.stores.push(
                spec.idempotency
                    .as_ref()
                    .map(|i| Store::new(i.store, i.ttl_ms, i.on_unavailable)),
            );
            self.slots.push(Vec::new());
            // A group that starts later gets its members then, as a join does.
            if spec.start_at_ms == 0 {
                for _ in 0..spec.members {
                    self.add_member(g);
                }
            }
        }
        for (s, spec) in sc.services.iter().enumerate() {
            let actor = self.actor(Actor::Service(s as u16), spec.name.clone());
            let client = self.client(
                actor,
                Who::Service(s as u16),
                &spec.producer,
                spec.topic,
                (&mut rng, seed),
            );
            let source = self.source(actor, &spec.commands, spec.topic, &spec.producer);
            let outbox = spec.publish == Publish::Outbox;
            self.services
                .push(Service::new(client, source, outbox, spec.commit_ms));
            self.databases.push(Database::default());
            let mut relays = Vec::new();
            if outbox {
                for r in 0..spec.relay.count {
                    let actor = self.actor(
                        Actor::Relay {
                            service: s as u16,
                            index: r,
                        },
                        sc.relay_name(s, r),
                    );
                    let client = self.client(
                        actor,
                        Who::Relay(s as u16, r as u16),
                        &spec.producer,
                        spec.topic,
                        (&mut rng, seed),
                    );
                    relays.push(Relay::new(
                        client,
                        actor,
                        r,
                        spec.relay.poll_interval_ms,
                        spec.relay.batch_size,
                        spec.commit_ms,
                        spec.relay.mark,
                    ));
                }
            }
            self.relays.push(relays);
        }
        // A group that starts later gets its members by a join at its start, put before
        // every scenario fault so that one at the same instant finds them there. The
        // seed's chaos draws come after the scenario's own faults, so at the same instant
        // the file's fault acts first.
        let mut faults: Vec<crate::scenario::Fault> = sc
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.start_at_ms > 0 && g.members > 0)
            .map(|(group, g)| crate::scenario::Fault {
                at_ms: g.start_at_ms,
                action: FaultAction::Join {
                    group,
                    members: g.members,
                },
            })
            .collect();
        faults.extend(sc.faults.iter().cloned());
        faults.extend(crate::chaos::faults(&crate::chaos::draw(sc, seed)));
        let learned = self.metadata_refreshes(sc);
        faults.extend(learned);
        let isolations = faults
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match f.action {
                FaultAction::Isolate { client, .. } => Some((i, self.isolation(client))),
                _ => None,
            })
            .collect();
        self.faults = FaultInjector::new(faults, isolations, sc.cluster.brokers);
        self.watch_down = self.faults.restarts_after_down();
        let mut next = 2;
        let mut base = |n: usize| {
            let b = next;
            next += n;
            b
        };
        self.bases.coordinators = base(self.coordinators.len());
        self.bases.producers = base(self.producers.len());
        self.bases.services = base(self.services.len());
        self.bases.relays = self.relays.iter().map(|r| base(r.len())).collect();
        self.bases.members = base(0);
        self.timers = vec![TimerTable::default(); self.bases.members + self.members.len()];
        // Every component starts at t=0, in the order they were built.
        self.dispatch(Who::Cluster, |w, out| w.cluster.start(out));
        for p in 0..self.producers.len() {
            self.dispatch(Who::Producer(p as u16), |w, out| w.producers[p].start(out));
        }
        for m in 0..self.members.len() {
            self.dispatch(Who::Member(m as u32), |w, out| w.members[m].start(out));
        }
        for s in 0..self.services.len() {
            self.dispatch(Who::Service(s as u16), |w, out| w.services[s].start(out));
            for r in 0..self.relays[s].len() {
                self.dispatch(Who::Relay(s as u16, r as u16), |w, out| {
                    w.relays[s][r].start(out)
                });
            }
        }
        self.dispatch(Who::Faults, |w, out| w.faults.start(out));
    }

    fn isolation(&self, client: Client) -> Isolation {
        let owners: Vec<Who> = match client {
            Client::Producer(p) => vec![Who::Producer(p as u16)],
            Client::Service(s) => std::iter::once(Who::Service(s as u16))
                .chain((0..self.relays[s].len()).map(|r| Who::Relay(s as u16, r as u16)))
                .collect(),
        };
        let actor = match client {
            Client::Producer(p) => self.producers[p].client.actor,
            Client::Service(s) => self.services[s].client.actor,
        };
        Isolation {
            actor,
            endpoints: owners.into_iter().map(|w| self.endpoint(w)).collect(),
        }
    }

    fn add_member(&mut self, g: usize) -> u32 {
        let index = self.slots[g].len() as u32;
        let actor = self.actor(
            Actor::Member {
                group: g as u16,
                index,
            },
            self.sc.member_name(g, index),
        );
        let slot = self.members.len() as u32;
        self.members.push(Member::new(
            slot,
            g as u16,
            index,
            actor,
            &self.sc.groups[g],
        ));
        self.slots[g].push(slot);
        // A member that joins mid-run gets its timer table; at build time `build` sizes
        // the tables once every component exists.
        if !self.timers.is_empty() {
            self.timers.push(TimerTable::default());
        }
        slot
    }

    /// A component's number: its index in `timers`.
    fn component(&self, who: Who) -> usize {
        let b = &self.bases;
        match who {
            Who::Cluster => 0,
            Who::Faults => 1,
            Who::Coordinator(g) => b.coordinators + g as usize,
            Who::Producer(p) => b.producers + p as usize,
            Who::Service(s) => b.services + s as usize,
            Who::Relay(s, r) => b.relays[s as usize] + r as usize,
            Who::Member(m) => b.members + m as usize,
        }
    }

    /// The component with number `c`.
    fn who(&self, c: usize) -> Who {
        let b = &self.bases;
        if c >= b.members {
            return Who::Member((c - b.members) as u32);
        }
        if c >= b.services + self.services.len() {
            let s = b.relays.iter().rposition(|&r| r <= c).expect("a relay");
            return Who::Relay(s as u16, (c - b.relays[s]) as u16);
        }
        match c {
            0 => Who::Cluster,
            1 => Who::Faults,
            c if c >= b.services => Who::Service((c - b.services) as u16),
            c if c >= b.producers => Who::Producer((c - b.producers) as u16),
            c => Who::Coordinator((c - b.coordinators) as u16),
        }
    }

    /// The actor behind producer client `c`.
    fn client_actor(&self, c: u16) -> ActorId {
        match self.client_owner[c as usize] {
            Who::Producer(p) => self.producers[p as usize].client.actor,
            Who::Service(s) => self.services[s as usize].client.actor,
            Who::Relay(s, r) => self.relays[s as usize][r as usize].client.actor,
            other => unreachable!("{other:?} owns no producer client"),
        }
    }

    /// The network endpoint a component sends from.
    fn endpoint(&self, who: Who) -> Endpoint {
        match who {
            Who::Cluster => Endpoint::Cluster,
            Who::Coordinator(g) => Endpoint::Coordinator(g),
            Who::Producer(p) => Endpoint::Client(self.producers[p as usize].client.client),
            Who::Service(s) => Endpoint::Client(self.services[s as usize].client.client),
            Who::Relay(s, r) => Endpoint::Client(self.relays[s as usize][r as usize].client.client),
            Who::Member(m) => Endpoint::Member(m),
            Who::Faults => unreachable!("the fault injector sends nothing"),
        }
    }

    fn owner(&self, e: Endpoint) -> Who {
        match e {
            Endpoint::Cluster => Who::Cluster,
            Endpoint::Coordinator(g) => Who::Coordinator(g),
            Endpoint::Client(c) => self.client_owner[c as usize],
            Endpoint::Member(m) => Who::Member(m),
            Endpoint::Broker(_) => Who::Cluster,
        }
    }

    /// Runs one handler of `who` with a fresh `Out`, then carries the `Out` out.
    fn dispatch(&mut self, who: Who, handler: impl FnOnce(&mut Self, &mut Out)) {
        let mut out = self.out.take().expect("dispatch does not nest");
        out.now = self.now;
        out.next_event = self.tables.envelopes.len() as u32;
        out.next_assignment = self.tables.assignments.len() as u32;
        handler(self, &mut out);
        self.apply(who, &mut out);
        self.out = Some(out);
        self.settle_lost_replica_messages();
        if !self.went_down.is_empty() {
            self.settle_went_down();
        }
    }

    /// Tells the fault injector which targets went down, for the restarts waiting on them.
    fn settle_went_down(&mut self) {
        for t in std::mem::take(&mut self.went_down) {
            self.dispatch(Who::Faults, |w, out| w.faults.went_down(t, out));
        }
    }

    /// The target a trace record says went down: a member, service or relay that crashed,
    /// or a broker that crashed or shut down.
    fn down_target(&self, kind: Kind) -> Option<Target> {
        match kind {
            Kind::Crash { actor, .. } => match self.tables.actors[actor.ix()].0 {
                Actor::Member { group, index } => Some(Target::Member {
                    group: usize::from(group),
                    index,
                }),
                Actor::Service(s) => Some(Target::Service(usize::from(s))),
                Actor::Relay { service, index } => Some(Target::Relay {
                    service: usize::from(service),
                    index,
                }),
                Actor::Producer(_) => None,
            },
            Kind::BrokerDown { broker, .. } => Some(Target::Broker(broker)),
            _ => None,
        }
    }

    /// Hands the replica messages the network lost or delayed to the cluster.
    fn settle_lost_replica_messages(&mut self) {
        while let Some(msg) = self.lost_replica.pop() {
            self.dispatch(Who::Cluster, |w, out| w.cluster.on_lost_or_late(&msg, out));
        }
    }

    fn apply(&mut self, who: Who, out: &mut Out) {
        if !out.new_events.is_empty() {
            self.tables.envelopes.append(&mut out.new_events);
        }
        if !out.new_assignments.is_empty() {
            self.tables.assignments.append(&mut out.new_assignments);
        }
        for &kind in &out.trace {
            if self.watch_down {
                if let Some(t) = self.down_target(kind) {
                    self.went_down.push(t);
                }
            }
            let ev = TraceEvent { at: out.now, kind };
            self.sink.record(&self.tables, &ev);
        }
        out.trace.clear();
        for &op in &out.timers {
            self.timer(who, op);
        }
        out.timers.clear();
        if !out.sends.is_empty() {
            let from = self.endpoint(who);
            for (to, msg) in out.sends.drain(..) {
                self.send(out.now, from, to, msg);
            }
        }
        for (from, to, msg) in out.sends_as.drain(..) {
            self.send(out.now, from, to, msg);
        }
    }

    /// Puts one message on the network, unless an open `messages:` window drops it.
    fn send(&mut self, now: Time, from: Endpoint, to: Endpoint, msg: Msg) {
        if let Msg::Produce(p) = &msg {
            self.produced_copies += p.batches.iter().map(|b| b.events.len() as u64).sum::<u64>();
        }
        // The latest open `messages:` window for this kind of message decides.
        let rule = kind_of(&msg).and_then(|k| {
            self.message_rules
                .iter()
                .rev()
                .find(|r| r.1 == k)
                .map(|r| r.2)
        });
        let replica = matches!(msg, Msg::ReplicaFetch(_) | Msg::ReplicaFetchResponse(_));
        let mut extra_ms = match rule {
            Some(MessageRule::Drop) => {
                self.lost(now, from, msg);
                return;
            }
            Some(MessageRule::Delay(ms)) => {
                if replica {
                    self.lost_replica.push(msg.clone());
                }
                ms
            }
            None => 0,
        };
        if self.chaos_net {
            let drop = kind_of(&msg)
                .and_then(|k| self.sc.chaos.network.drop_ratio(k))
                .map(|r| (r.num, r.den));
            match self.net.disturb(from, to, drop) {
                None => {
                    self.lost(now, from, msg);
                    return;
                }
                Some(jitter_ms) => {
                    // A late replica message, like a delayed one, may outlast its
                    // follower's fetch timeout: the cluster is told, as for a delay.
                    if jitter_ms > 0 && replica && rule.is_none() {
                        self.lost_replica.push(msg.clone());
                    }
                    extra_ms += jitter_ms;
                }
            }
        }
        if let Some((path, at)) = self.net.send_after(now, from, to, msg, extra_ms) {
            self.queue.push_fixed(at, Ev::Deliver(path));
        }
    }

    /// A message the network lost. A produce request is traced, so the checker can account
    /// for a record whose only request was lost (acks=0 never resends); a replica fetch or
    /// its answer goes back to the cluster, whose follower times out.
    fn lost(&mut self, now: Time, from: Endpoint, msg: Msg) {
        match (from, &msg) {
            (Endpoint::Client(c), Msg::Produce(p)) => {
                let actor = self.client_actor(c);
                for b in &p.batches {
                    for &event in &b.events {
                        let kind = Kind::RequestDropped {
                            actor,
                            event,
                            part: b.part,
                        };
                        self.sink
                            .record(&self.tables, &TraceEvent { at: now, kind });
                    }
                }
            }
            (_, Msg::ReplicaFetch(_) | Msg::ReplicaFetchResponse(_)) => self.lost_replica.push(msg),
            _ => {}
        }
    }

    fn timer(&mut self, who: Who, op: TimerOp) {
        let c = self.component(who);
        match op {
            TimerOp::Set { key, at, timer } => match self.timers[c].get_mut(key) {
                Some(t) => {
                    self.background -= usize::from(t.timer.background());
                    self.background += usize::from(timer.background());
                    t.timer = timer;
                    let moved = self.queue.reschedule(t.id, at);
                    debug_assert!(moved, "a live timer is in the queue");
                }
                None => {
                    self.background += usize::from(timer.background());
                    let component = c as u32;
                    let id = self.queue.push(at, Ev::Timer { component, key });
                    self.timers[c].insert(key, TimerSlot { id, timer });
                }
            },
            TimerOp::Cancel { key } => {
                if let Some(t) = self.timers[c].remove(key) {
                    self.background -= usize::from(t.timer.background());
                    self.queue.cancel(t.id);
                }
            }
            TimerOp::CancelAll => {
                for t in self.timers[c].take() {
                    self.background -= usize::from(t.timer.background());
                    self.queue.cancel(t.id);
                }
            }
        }
    }
}

/// Where each kind of component starts in the numbering `World::component` gives.
#[derive(Default)]
struct Bases {
    coordinators: usize,
    producers: usize,
    services: usize,
    relays: Vec<usize>,
    members: usize,
}

impl<K: TraceSink> World<'_, K> {
    /// Runs to the end: quiescence, `run.until_ms`, `run.max_events`, or the produced-copies
    /// budget.
    pub fn run(mut self) -> RunResult {
        let until = Time(self.sc.run.until_ms);
        let budget = self.sc.run.max_events;
        let mut events = 0u64;
        let mut queued = 0u64;
        let outcome = loop {
            if events >= budget {
                break Outcome::EventBudget;
            }
            if self.produced_copies >= crate::scenario::limits::PRODUCED_COPIES {
                break Outcome::ProduceBudget;
            }
            match self.queue.peek_time() {
                None => break Outcome::Quiescent,
                // Only housekeeping is left (retention checks): nothing more can happen
                // that a client or the checker would see.
                Some(_) if self.queue.len() == self.background => break Outcome::Quiescent,
                Some(t) if t > until => break Outcome::TimeLimit,
                Some(_) => {}
            }
            let len = self.queue.len();
            queued += len as u64;
            self.peak_queue_len = self.peak_queue_len.max(len);
            let (at, ev) = self.queue.pop().expect("peeked");
            debug_assert!(at >= self.now, "time never runs backwards");
            self.now = at;
            events += 1;
            self.handle(ev);
        };
        let end_ms = if outcome == Outcome::TimeLimit {
            until
        } else {
            self.now
        };
        RunResult {
            outcome,
            end_ms,
            events,
            peak_queue_len: self.peak_queue_len,
            mean_queue_len: queued.checked_div(events).unwrap_or(0) as usize,
            committed: self
                .coordinators
                .iter()
                .map(|c| c.committed().to_vec())
                .collect(),
            log_end_offsets: (0..self.tables.partitions.len())
                .map(|p| self.cluster.log(PartId(p as u32)).log_end_offset())
                .collect(),
            tables: self.tables,
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver(path) => {
                let d = self.net.deliver(self.now, path);
                if let Some(at) = d.next {
                    self.queue.push_fixed(at, Ev::Deliver(path));
                }
                if let Some((from, to, msg)) = d.message {
                    self.deliver(from, to, msg);
                }
                if let Some((from, _, msg)) = d.dropped {
                    self.lost(self.now, from, msg);
                    self.settle_lost_replica_messages();
                }
            }
            Ev::Timer { component, key } => {
                let c = component as usize;
                let timer = self.timers[c]
                    .remove(key)
                    .expect("a timer in the queue is in its component's table")
                    .timer;
                self.background -= usize::from(timer.background());
                let who = self.who(c);
                self.on_timer(who, timer);
            }
        }
    }

    /// A message reached `to`: the component behind it handles it.
    fn deliver(&mut self, from: Endpoint, to: Endpoint, msg: Msg) {
        let who = self.owner(to);
        self.dispatch(who, |w, out| match who {
            Who::Cluster => w.cluster.on_message(from, msg, out),
            Who::Coordinator(g) => w.coordinators[g as usize].on_message(msg, out),
            Who::Producer(p) => w.producers[p as usize].on_message(msg, out),
            Who::Service(s) => w.services[s as usize].on_message(msg, out),
            Who::Relay(s, r) => {
                let (s, r) = (s as usize, r as usize);
                w.relays[s][r].on_message(msg, &mut w.databases[s], out)
            }
            Who::Member(m) => {
                let g = w.members[m as usize].group() as usize;
                w.members[m as usize].on_message(msg, w.stores[g].as_mut(), out)
            }
            Who::Faults => unreachable!("nothing sends to the fault injector"),
        });
    }

    fn on_timer(&mut self, who: Who, timer: Timer) {
        if who == Who::Faults {
            let mut commands = std::mem::take(&mut self.commands);
            self.dispatch(who, |w, out| w.faults.on_timer(timer, out, &mut commands));
            for c in commands.drain(..) {
                self.command(c);
            }
            self.commands = commands;
            return;
        }
        self.dispatch(who, |w, out| match who {
            // The log cleaner reads keys from the envelope table.
            Who::Cluster if timer == Timer::LogCleaner => {
                w.cluster.clean_logs(&w.tables.envelopes, out)
            }
            Who::Cluster => w.cluster.on_timer(timer, out),
            Who::Coordinator(g) => w.coordinators[g as usize].on_timer(timer, out),
            Who::Producer(p) => w.producers[p as usize].on_timer(timer, out),
            Who::Service(s) => {
                let s = s as usize;
                w.services[s].on_timer(timer, &mut w.databases[s], out)
            }
            Who::Relay(s, r) => {
                let (s, r) = (s as usize, r as usize);
                w.relays[s][r].on_timer(timer, &mut w.databases[s], out)
            }
            Who::Member(m) => {
                let g = w.members[m as usize].group() as usize;
                w.members[m as usize].on_timer(timer, w.stores[g].as_mut(), out)
            }
            Who::Faults => unreachable!("handled above"),
        });
    }

    /// Carries out one fault command.
    fn command(&mut self, c: FaultCommand) {
        match c {
            FaultCommand::Control { target, control } => {
                let who = match target {
                    Target::Member { group, index } => {
                        match self.slots[group].get(index as usize) {
                            Some(&slot) => Who::Member(slot),
                            // A member that has not joined yet: nothing to act on.
                            None => return,
                        }
                    }
                    Target::Service(s) => Who::Service(s as u16),
                    Target::Relay { service, index } => Who::Relay(service as u16, index as u16),
                    Target::Broker(_) => unreachable!("broker faults are Broker commands"),
                };
                self.dispatch(who, |w, out| match who {
                    Who::Member(m) => w.members[m as usize].on_control(control, out),
                    Who::Service(s) => w.services[s as usize].on_control(control, out),
                    Who::Relay(s, r) => {
                        let (s, r) = (s as usize, r as usize);
                        w.relays[s][r].on_control(control, &mut w.databases[s], out)
                    }
                    _ => unreachable!("only processes take controls"),
                });
            }
            FaultCommand::Seek {
                group,
                to,
                topic,
                partition,
            } => {
                let parts = topic.map(|t| {
                    let first = self.first_part[t];
                    match partition {
                        Some(p) => (PartId(first.0 + p), 1),
                        None => (first, self.topic_partitions[t]),
                    }
                });
                let control = Control::Seek { to, parts };
                for i in 0..self.slots[group].len() {
                    let m = self.slots[group][i];
                    self.dispatch(Who::Member(m), |w, out| {
                        w.members[m as usize].on_control(control, out)
                    });
                }
            }
            FaultCommand::Join { group, members } => {
                for _ in 0..members {
                    let m = self.add_member(group) as usize;
                    self.dispatch(Who::Member(m as u32), |w, out| w.members[m].start(out));
                }
            }
            FaultCommand::Link { from, to, state } => {
                let now = self.now;
                let due = match state {
                    Some(state) => self.net.set_rule(now, from, to, state),
                    None => self.net.clear_rule(now, from, to),
                };
                for (path, at) in due {
                    self.queue.push_fixed(at, Ev::Deliver(path));
                }
            }
            FaultCommand::Messages {
                index,
                kind,
                rule,
                on,
            } => {
                self.message_rules.retain(|r| r.0 != index);
                if on {
                    self.message_rules.push((index, kind, rule));
                }
            }
            FaultCommand::Refuse { endpoints, until } => {
                for to in endpoints {
                    self.deliver(Endpoint::Cluster, to, Msg::ConnectionRefused { until });
                }
            }
            FaultCommand::Broker { broker, control } => {
                self.dispatch(Who::Cluster, |w, out| {
                    w.cluster.on_broker(broker, control, out)
                });
            }
            FaultCommand::Brokers { up } => {
                for g in 0..self.coordinators.len() {
                    self.dispatch(Who::Coordinator(g as u16), |w, out| {
                        w.coordinators[g].on_brokers(up, out)
                    });
                }
            }
            FaultCommand::StoreOutage { group, until } => {
                if let Some(store) = self.stores[group].as_mut() {
                    store.outage(until);
                }
            }
            FaultCommand::AddPartitions { topic, partitions } => {
                let from = self.topic_partitions[topic];
                if partitions <= from {
                    return;
                }
                self.topic_partitions[topic] = partitions;
                let first = self.first_part[topic];
                self.dispatch(Who::Cluster, |w, out| {
                    w.cluster.create_partitions(first, from, partitions, out);
                    out.trace(Kind::PartitionsAdded {
                        topic: topic as u16,
                        partitions,
                    });
                });
            }
            FaultCommand::LearnPartitions {
                who,
                topic,
                partitions,
            } => {
                let t = topic as u16;
                match who {
                    Learner::Producer(p) => self.dispatch(Who::Producer(p as u16), |w, out| {
                        w.producers[p].client.learn_partitions(t, partitions, out)
                    }),
                    Learner::Service(s) => self.dispatch(Who::Service(s as u16), |w, out| {
                        w.services[s].client.learn_partitions(t, partitions, out)
                    }),
                    Learner::Relay(s, r) => self
                        .dispatch(Who::Relay(s as u16, r as u16), |w, out| {
                            w.relays[s][r].client.learn_partitions(t, partitions, out)
                        }),
                    Learner::Group(g) => {
                        let first = self.first_part[topic];
                        self.dispatch(Who::Coordinator(g as u16), |w, out| {
                            w.coordinators[g].on_partitions(first, partitions, out)
                        })
                    }
                }
            }
        }
    }

    /// When each client and group learns of each `add_partitions`: at its first metadata
    /// refresh at or after it, refreshes falling every `metadata.max.age.ms` from t=0
    /// (Kafka refreshes metadata once it is that old; kafkasim counts from the start of
    /// the run). Scheduled as faults after the scenario's own, so a refresh at the same
    /// instant as the addition comes after it.
    fn metadata_refreshes(&self, sc: &Scenario) -> Vec<crate::scenario::Fault> {
        let at = |t: u64, every: u64| t.div_ceil(every) * every;
        let mut out = Vec::new();
        for f in &sc.faults {
            let FaultAction::AddPartitions { topic, partitions } = f.action else {
                continue;
            };
            let mut learn = |who: Learner, every: u64| {
                out.push(crate::scenario::Fault {
                    at_ms: at(f.at_ms, every),
                    action: FaultAction::LearnPartitions {
                        who,
                        topic,
                        partitions,
                    },
                })
            };
            for (p, spec) in sc.producers.iter().enumerate() {
                if spec.topic == topic {
                    learn(Learner::Producer(p), spec.config.metadata_max_age_ms);
                }
            }
            for (s, spec) in sc.services.iter().enumerate() {
                if spec.topic == topic {
                    learn(Learner::Service(s), spec.producer.metadata_max_age_ms);
                    for r in 0..self.relays[s].len() {
                        learn(Learner::Relay(s, r), spec.producer.metadata_max_age_ms);
                    }
                }
            }
            for (g, spec) in sc.groups.iter().enumerate() {
                if spec.topics.contains(&topic) {
                    learn(Learner::Group(g), spec.config.metadata_max_age_ms);
                }
            }
        }
        out
    }
}

/// A message's kind for `messages:` faults; None for what is not on the wire as a Kafka
/// request (`ConnectionRefused`).
fn kind_of(msg: &Msg) -> Option<MessageKind> {
    Some(match msg {
        Msg::Produce(_) => MessageKind::Produce,
        Msg::ProduceResponse { .. } => MessageKind::ProduceResponse,
        Msg::Fetch(_) => MessageKind::Fetch,
        Msg::FetchResponse { .. } => MessageKind::FetchResponse,
        Msg::ListOffsets { .. } => MessageKind::ListOffsets,
        Msg::ListOffsetsResponse { .. } => MessageKind::ListOffsetsResponse,
        Msg::JoinGroup { .. } => MessageKind::JoinGroup,
        Msg::SyncGroupResponse(_) => MessageKind::SyncGroup,
        Msg::Heartbeat { .. } | Msg::RejoinRequired { .. } => MessageKind::Heartbeat,
        Msg::LeaveGroup { .. } => MessageKind::LeaveGroup,
        Msg::OffsetCommit { .. } => MessageKind::OffsetCommit,
        Msg::OffsetCommitResponse { .. } => MessageKind::OffsetCommitResponse,
        Msg::ReplicaFetch(_) => MessageKind::ReplicaFetch,
        Msg::ReplicaFetchResponse(_) => MessageKind::ReplicaFetchResponse,
        Msg::ConnectionRefused { .. } => return None,
    })
}
