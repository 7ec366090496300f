//! Property tests over generated scenarios: a cluster, two consumer groups and a service,
//! with a list of timed operations (produce, crash at a point, restart, join, leave,
//! interrupted close, isolate a client, Kafka and store outages, broker crashes, shutdowns,
//! restarts and network partitions, seeks, delayed or dropped messages, added partitions).
//!
//! Each case is written as YAML text and loaded with `scenario::parse`, like any file, so
//! a failure prints a scenario a student can save, read and run; proptest shrinks it to
//! the fewest, smallest operations that still break the property. Invariants, judged
//! against the raw trace records rather than the checker's own counters where they can be:
//!
//! - determinism: the same scenario and seed twice give the same trace and verdict;
//! - no acknowledged acks=all record is lost (no unclean election is ever enabled);
//! - group `a` is set up for at-least-once (no auto-commit, synchronous commits after
//!   processing, `earliest`): every record in the final log is processed by it, or still
//!   waiting (at or past its committed offset), or jumped over by an explicit forward seek;
//! - a group whose store commits with the effect (`store: same-transaction`) never applies
//!   an eventId's effect twice;
//! - a group's committed offsets never go backwards, except after a seek or an offset
//!   reset on that partition;
//! - no partition is owned by two members of a group at once (eager and cooperative);
//! - the counters add up: every record in the log ends in one fate per group, every
//!   acknowledged record missing from the log is named `acked_lost`, every event sent and
//!   never appended is named by the anomaly that says how.

use common::Owners;
use kafkasim::check::{AnomalyKind, Verdict};
use kafkasim::counters::Counter;
use kafkasim::model::RunResult;
use kafkasim::scenario::{Acks, Scenario};
use kafkasim::trace::{
    Actor, ActorId, EventIx, Kind, PartId, Recorder, Tables, TraceEvent, TraceSink,
};
use kafkasim::{report, scenario, simulate_with};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};
use std::collections::{BTreeMap, BTreeSet};

mod common;

/// When the run stops, and the latest time an operation starts.
const UNTIL_MS: u64 = 15_000;
const LAST_OP_MS: u64 = 8_000;

const STRATEGIES: [&str; 4] = ["range", "roundrobin", "sticky", "cooperative-sticky"];

/// The settings that stay fixed while the operations run.
#[derive(Clone, Debug)]
struct Setup {
    seed: u64,
    brokers: u32,
    replication: u32,
    min_insync: u32,
    partitions: u32,
    latency: (u64, u64),
    broker_session_ms: u64,
    /// The keyed acks=all producer every case has, so that no case is vacuous.
    base: (u64, u64),
    a: GroupA,
    b: GroupB,
    service: Option<Service>,
}

/// The at-least-once group.
#[derive(Clone, Debug)]
struct GroupA {
    members: u32,
    strategy: usize,
    each_record: bool,
    max_poll: u32,
    time_ms: u64,
    same_transaction: bool,
    static_members: bool,
}

/// A group with any settings.
#[derive(Clone, Debug)]
struct GroupB {
    members: u32,
    strategy: usize,
    librdkafka: Option<Option<bool>>,
    auto_commit_ms: u64,
    earliest: bool,
    commit: usize,
    store: Store,
    max_poll: u32,
    time_ms: u64,
    static_members: bool,
}

#[derive(Clone, Debug)]
enum Store {
    None,
    SameTransaction,
    External {
        ttl_ms: Option<u64>,
        apply_anyway: bool,
    },
}

const B_COMMITS: [&str; 4] = [
    "none",
    "before-processing",
    "after-batch",
    "after-each-record",
];

#[derive(Clone, Debug)]
struct Service {
    outbox: bool,
    count: u64,
    every_ms: u64,
    relays: u32,
}

/// A process a fault can crash or restart: a member of `a` (or `b`), the service, or one
/// of its relays. Indexes are wrapped into what exists when the YAML is written, so a
/// shrunk case stays a valid scenario.
#[derive(Clone, Copy, Debug)]
enum Who {
    Member { in_a: bool, n: u32 },
    Service,
    Relay { n: u32 },
}

#[derive(Clone, Debug)]
enum Op {
    /// A producer that starts sending at `at`: keyed or null keys, with some acks.
    Produce {
        at: u64,
        count: u64,
        every_ms: u64,
        distinct: Option<u64>,
        acks: usize,
        partitioner: usize,
    },
    /// A crash, at once or armed at a point (by index into the target's points).
    Crash {
        at: u64,
        who: Who,
        point: usize,
        on_record: Option<u64>,
    },
    Restart {
        at: u64,
        who: Who,
    },
    Join {
        at: u64,
        in_a: bool,
        members: u32,
    },
    Leave {
        at: u64,
        in_a: bool,
        n: u32,
    },
    CloseInterrupted {
        at: u64,
        in_a: bool,
        n: u32,
    },
    /// A producer (by index; past the last one, the service) cut off from the brokers.
    Isolate {
        at: u64,
        for_ms: u64,
        client: usize,
        refused: bool,
    },
    KafkaOutage {
        at: u64,
        for_ms: u64,
    },
    StoreOutage {
        at: u64,
        for_ms: u64,
    },
    BrokerCrash {
        at: u64,
        broker: u32,
    },
    BrokerShutdown {
        at: u64,
        broker: u32,
    },
    BrokerRestart {
        at: u64,
        broker: u32,
    },
    IsolateBroker {
        at: u64,
        broker: u32,
        for_ms: u64,
    },
    Seek {
        at: u64,
        in_a: bool,
        to: usize,
        value: u64,
        partition: Option<u32>,
    },
    Messages {
        at: u64,
        for_ms: u64,
        kind: usize,
        drop: bool,
        delay_ms: u64,
    },
    AddPartitions {
        at: u64,
        more: u32,
    },
}

const MESSAGE_KINDS: [&str; 14] = [
    "produce",
    "produce_response",
    "replica_fetch",
    "replica_fetch_response",
    "fetch",
    "fetch_response",
    "list_offsets",
    "list_offsets_response",
    "join_group",
    "sync_group",
    "heartbeat",
    "leave_group",
    "offset_commit",
    "offset_commit_response",
];
/// The first four kinds can be dropped; the rest only delayed.
const DROPPABLE: usize = 4;

fn setup() -> impl Strategy<Value = Setup> {
    let a = (
        1..=3u32,
        0..4usize,
        any::<bool>(),
        1..=5u32,
        0..=20u64,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                members,
                strategy,
                each_record,
                max_poll,
                time_ms,
                same_transaction,
                static_members,
            )| GroupA {
                members,
                strategy,
                each_record,
                max_poll,
                time_ms,
                same_transaction,
                static_members,
            },
        );
    let store = prop_oneof![
        Just(Store::None),
        Just(Store::SameTransaction),
        (prop::option::of(1..3000u64), any::<bool>()).prop_map(|(ttl_ms, apply_anyway)| {
            Store::External {
                ttl_ms,
                apply_anyway,
            }
        }),
    ];
    let b = (
        (
            0..=3u32,
            0..4usize,
            prop::option::of(prop::option::of(any::<bool>())),
        ),
        (50..=2000u64, any::<bool>(), 0..4usize, store),
        (1..=5u32, 0..=20u64, any::<bool>()),
    )
        .prop_map(
            |(
                (members, strategy, librdkafka),
                (auto_commit_ms, earliest, commit, store),
                (max_poll, time_ms, static_members),
            )| GroupB {
                members,
                strategy,
                librdkafka,
                auto_commit_ms,
                earliest,
                commit,
                store,
                max_poll,
                time_ms,
                static_members,
            },
        );
    let service = prop::option::of((any::<bool>(), 5..=40u64, 20..=200u64, 1..=2u32).prop_map(
        |(outbox, count, every_ms, relays)| Service {
            outbox,
            count,
            every_ms,
            relays,
        },
    ));
    (
        (0..1000u64, 1..=3u32, 0..3u32, 0..3u32, 1..=4u32),
        (0..=5u64, 0..=5u64, 200..=3000u64, 10..=60u64, 10..=100u64),
        a,
        b,
        service,
    )
        .prop_map(
            |(
                (seed, brokers, rf, mir, partitions),
                (lo, spread, broker_session_ms, count, every),
                a,
                b,
                service,
            )| {
                let replication = 1 + rf % brokers;
                Setup {
                    seed,
                    brokers,
                    replication,
                    min_insync: 1 + mir % replication,
                    partitions,
                    latency: (lo, lo + spread),
                    broker_session_ms,
                    base: (count, every),
                    a,
                    b,
                    service,
                }
            },
        )
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => (any::<bool>(), 0..6u32).prop_map(|(in_a, n)| Who::Member { in_a, n }),
        1 => Just(Who::Service),
        1 => (0..2u32).prop_map(|n| Who::Relay { n }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let at = 0..LAST_OP_MS;
    let for_ms = 1..3000u64;
    prop_oneof![
        (
            at.clone(),
            1..=40u64,
            0..=100u64,
            prop::option::of(1..=8u64),
            0..3usize,
            0..3usize
        )
            .prop_map(
                |(at, count, every_ms, distinct, acks, partitioner)| Op::Produce {
                    at,
                    count,
                    every_ms,
                    distinct,
                    acks,
                    partitioner
                }
            ),
        (at.clone(), who(), 0..8usize, prop::option::of(1..=5u64)).prop_map(
            |(at, who, point, on_record)| Op::Crash {
                at,
                who,
                point,
                on_record
            }
        ),
        (at.clone(), who()).prop_map(|(at, who)| Op::Restart { at, who }),
        (at.clone(), any::<bool>(), 1..=2u32).prop_map(|(at, in_a, members)| Op::Join {
            at,
            in_a,
            members
        }),
        (at.clone(), any::<bool>(), 0..6u32).prop_map(|(at, in_a, n)| Op::Leave { at, in_a, n }),
        (at.clone(), any::<bool>(), 0..6u32).prop_map(|(at, in_a, n)| Op::CloseInterrupted {
            at,
            in_a,
            n
        }),
        (at.clone(), for_ms.clone(), 0..4usize, any::<bool>()).prop_map(
            |(at, for_ms, client, refused)| Op::Isolate {
                at,
                for_ms,
                client,
                refused
            }
        ),
        (at.clone(), for_ms.clone()).prop_map(|(at, for_ms)| Op::KafkaOutage { at, for_ms }),
        (at.clone(), for_ms.clone()).prop_map(|(at, for_ms)| Op::StoreOutage { at, for_ms }),
        (at.clone(), 0..3u32).prop_map(|(at, broker)| Op::BrokerCrash { at, broker }),
        (at.clone(), 0..3u32).prop_map(|(at, broker)| Op::BrokerShutdown { at, broker }),
        (at.clone(), 0..3u32).prop_map(|(at, broker)| Op::BrokerRestart { at, broker }),
        (at.clone(), 0..3u32, for_ms.clone()).prop_map(|(at, broker, for_ms)| Op::IsolateBroker {
            at,
            broker,
            for_ms
        }),
        (
            at.clone(),
            any::<bool>(),
            0..4usize,
            0..60u64,
            prop::option::of(0..4u32)
        )
            .prop_map(|(at, in_a, to, value, partition)| Op::Seek {
                at,
                in_a,
                to,
                value,
                partition
            }),
        (
            at.clone(),
            for_ms.clone(),
            0..MESSAGE_KINDS.len(),
            any::<bool>(),
            1..3000u64
        )
            .prop_map(|(at, for_ms, kind, drop, delay_ms)| Op::Messages {
                at,
                for_ms,
                kind,
                drop,
                delay_ms
            }),
        (at, 1..=2u32).prop_map(|(at, more)| Op::AddPartitions { at, more }),
    ]
}

/// A generated scenario: its settings and operations.
#[derive(Clone, Debug)]
struct Case {
    setup: Setup,
    ops: Vec<Op>,
}

fn case() -> impl Strategy<Value = Case> {
    (setup(), prop::collection::vec(op(), 0..10)).prop_map(|(setup, ops)| Case { setup, ops })
}

impl Case {
    /// How many members a group can ever have: its initial members plus every join.
    fn members(&self, in_a: bool) -> u32 {
        let start = if in_a {
            self.setup.a.members
        } else {
            self.setup.b.members
        };
        start
            + self
                .ops
                .iter()
                .map(|op| match *op {
                    Op::Join {
                        in_a: j, members, ..
                    } if j == in_a => members,
                    _ => 0,
                })
                .sum::<u32>()
    }

    fn member(&self, in_a: bool, n: u32) -> Option<String> {
        let total = self.members(in_a);
        (total > 0).then(|| format!("{}-{}", if in_a { "a" } else { "b" }, 1 + n % total))
    }

    fn producers(&self) -> usize {
        1 + self
            .ops
            .iter()
            .filter(|op| matches!(op, Op::Produce { .. }))
            .count()
    }

    /// A process's name and the crash points it can reach, or None if it does not exist.
    fn target(&self, who: Who) -> Option<(String, Vec<&'static str>)> {
        match who {
            Who::Member { in_a, n } => {
                let name = self.member(in_a, n)?;
                let mut points = vec!["before-process", "after-process-before-commit"];
                let synchronous = in_a || self.setup.b.commit != 0;
                if synchronous {
                    points.push("after-commit");
                }
                if !in_a && matches!(self.setup.b.store, Store::External { .. }) {
                    points.extend(["after-effect-before-mark", "after-mark-before-commit"]);
                }
                Some((name, points))
            }
            Who::Service => self
                .setup
                .service
                .as_ref()
                .map(|_| ("orders".to_string(), vec!["after-db-commit"])),
            Who::Relay { n } => match &self.setup.service {
                Some(s) if s.outbox => Some((
                    format!("orders-relay-{}", 1 + n % s.relays),
                    vec!["after-publish-before-mark"],
                )),
                _ => None,
            },
        }
    }

    fn yaml(&self) -> String {
        let s = &self.setup;
        let mut producers = format!(
            "  - {{ name: p, topic: t, send: {{ count: {}, every_ms: {}, keys: {{ pattern: \"k-{{n}}\", distinct: 7 }} }} }}\n",
            s.base.0, s.base.1
        );
        let mut faults = String::new();
        let mut produced = 0;
        // add_partitions must grow the topic each time, in the order the faults run.
        let mut grow: Vec<(u64, usize, u32)> = self
            .ops
            .iter()
            .enumerate()
            .filter_map(|(i, op)| match *op {
                Op::AddPartitions { at, more } => Some((at, i, more)),
                _ => None,
            })
            .collect();
        grow.sort();
        let mut partitions_after = BTreeMap::new();
        let mut count = s.partitions;
        for (_, i, more) in grow {
            count += more;
            partitions_after.insert(i, count);
        }
        for (i, op) in self.ops.iter().enumerate() {
            let line = match *op {
                Op::Produce {
                    at,
                    count,
                    every_ms,
                    distinct,
                    acks,
                    partitioner,
                } => {
                    produced += 1;
                    let keys = distinct.map_or(String::new(), |d| {
                        format!(", keys: {{ pattern: \"k-{{n}}\", distinct: {d} }}")
                    });
                    producers += &format!(
                        "  - {{ name: p-{produced}, topic: t, config: {{ acks: {}, partitioner: {} }}, send: {{ count: {count}, every_ms: {every_ms}, start_ms: {at}{keys} }} }}\n",
                        ["all", "1", "0"][acks],
                        ["java", "kafkajs", "librdkafka-consistent-random"][partitioner],
                    );
                    None
                }
                Op::Crash {
                    at,
                    who,
                    point,
                    on_record,
                } => self.target(who).map(|(name, points)| {
                    // Past the target's points: a crash at once.
                    match points.get(point) {
                        Some(p) => {
                            let n =
                                on_record.map_or(String::new(), |n| format!(", on_record: {n}"));
                            format!("at_ms: {at}, crash: {name}, point: {p}{n}")
                        }
                        None => format!("at_ms: {at}, crash: {name}"),
                    }
                }),
                Op::Restart { at, who } => self
                    .target(who)
                    .map(|(name, _)| format!("at_ms: {at}, restart: {name}")),
                Op::Join { at, in_a, members } => Some(format!(
                    "at_ms: {at}, join: {}, members: {members}",
                    if in_a { "a" } else { "b" }
                )),
                Op::Leave { at, in_a, n } => self
                    .member(in_a, n)
                    .map(|m| format!("at_ms: {at}, leave: {m}")),
                Op::CloseInterrupted { at, in_a, n } => self
                    .member(in_a, n)
                    .map(|m| format!("at_ms: {at}, close_interrupted: {m}")),
                Op::Isolate {
                    at,
                    for_ms,
                    client,
                    refused,
                } => {
                    let producers = self.producers();
                    let name = match client % (producers + 1) {
                        0 => Some("p".to_string()),
                        c if c < producers => Some(format!("p-{c}")),
                        _ => s.service.as_ref().map(|_| "orders".to_string()),
                    };
                    name.map(|n| {
                        let r = if refused { ", refused: true" } else { "" };
                        format!("at_ms: {at}, isolate: {n}, for_ms: {for_ms}{r}")
                    })
                }
                Op::KafkaOutage { at, for_ms } => {
                    Some(format!("at_ms: {at}, kafka_outage: true, for_ms: {for_ms}"))
                }
                Op::StoreOutage { at, for_ms } => matches!(s.b.store, Store::External { .. })
                    .then(|| format!("at_ms: {at}, store_outage: b, for_ms: {for_ms}")),
                Op::BrokerCrash { at, broker } => Some(format!(
                    "at_ms: {at}, crash: broker-{}",
                    1 + broker % s.brokers
                )),
                Op::BrokerShutdown { at, broker } => Some(format!(
                    "at_ms: {at}, shutdown: broker-{}",
                    1 + broker % s.brokers
                )),
                Op::BrokerRestart { at, broker } => Some(format!(
                    "at_ms: {at}, restart: broker-{}",
                    1 + broker % s.brokers
                )),
                Op::IsolateBroker { at, broker, for_ms } => Some(format!(
                    "at_ms: {at}, isolate_broker: broker-{}, for_ms: {for_ms}",
                    1 + broker % s.brokers
                )),
                Op::Seek {
                    at,
                    in_a,
                    to,
                    value,
                    partition,
                } => {
                    let to = match to {
                        0 => "beginning".to_string(),
                        1 => "end".to_string(),
                        2 => value.to_string(),
                        _ => format!("{{ timestamp_ms: {} }}", value * 100),
                    };
                    let p = partition.map_or(String::new(), |p| {
                        format!(", partition: {}", p % s.partitions)
                    });
                    Some(format!(
                        "at_ms: {at}, seek: {}, to: {to}{p}",
                        if in_a { "a" } else { "b" }
                    ))
                }
                Op::Messages {
                    at,
                    for_ms,
                    kind,
                    drop,
                    delay_ms,
                } => {
                    let how = if drop && kind < DROPPABLE {
                        "drop: true".to_string()
                    } else {
                        format!("delay_ms: {delay_ms}")
                    };
                    Some(format!(
                        "at_ms: {at}, messages: {}, {how}, for_ms: {for_ms}",
                        MESSAGE_KINDS[kind]
                    ))
                }
                Op::AddPartitions { at, .. } => Some(format!(
                    "at_ms: {at}, add_partitions: t, partitions: {}",
                    partitions_after[&i]
                )),
            };
            if let Some(line) = line {
                faults += &format!("  - {{ {line} }}\n");
            }
        }
        let faults = if faults.is_empty() {
            String::new()
        } else {
            format!("faults:\n{faults}")
        };
        let services = match &s.service {
            None => String::new(),
            Some(svc) => {
                let relay = if svc.outbox {
                    format!(
                        "    relay: {{ poll_interval_ms: 40, batch_size: 4, count: {} }}\n",
                        svc.relays
                    )
                } else {
                    String::new()
                };
                format!(
                    "services:\n  - name: orders\n    topic: t\n    commands: {{ count: {}, every_ms: {}, keys: {{ pattern: \"order-{{n}}\", distinct: 9 }} }}\n    publish: {}\n    producer: {{ request.timeout.ms: 500, delivery.timeout.ms: 2000 }}\n{relay}",
                    svc.count,
                    svc.every_ms,
                    if svc.outbox { "outbox" } else { "dual-write" }
                )
            }
        };
        format!(
            "name: generated\ntitle: generated by tests/operations.rs\nseed: {}\n\
             cluster: {{ brokers: {}, network: {{ latency_ms: {{ min: {}, max: {} }} }}, config: {{ group.initial.rebalance.delay.ms: 0, broker.session.timeout.ms: {}, min.insync.replicas: {} }} }}\n\
             topics:\n  - {{ name: t, partitions: {}, replication_factor: {} }}\n\
             producers:\n{producers}{services}consumer_groups:\n{}{}{faults}run: {{ until_ms: {UNTIL_MS} }}\n",
            s.seed,
            s.brokers,
            s.latency.0,
            s.latency.1,
            s.broker_session_ms,
            s.min_insync,
            s.partitions,
            s.replication,
            self.group_a(),
            self.group_b(),
        )
    }

    fn group_a(&self) -> String {
        let a = &self.setup.a;
        let store = if a.same_transaction {
            "    idempotency: { store: same-transaction }\n"
        } else {
            ""
        };
        format!(
            "  - name: a\n    topics: [t]\n    members: {}\n    static: {}\n    config: {{ enable.auto.commit: false, auto.offset.reset: earliest, session.timeout.ms: 6000, heartbeat.interval.ms: 1000, max.poll.records: {}, partition.assignment.strategy: {} }}\n    processing: {{ time_ms: {}, effect: charge, commit: {} }}\n{store}",
            a.members,
            a.static_members,
            a.max_poll,
            STRATEGIES[a.strategy],
            a.time_ms,
            if a.each_record { "after-each-record" } else { "after-batch" },
        )
    }

    fn group_b(&self) -> String {
        let b = &self.setup.b;
        let (client, store_offsets) = match b.librdkafka {
            None => ("java", String::new()),
            Some(None) => ("librdkafka", String::new()),
            Some(Some(v)) => ("librdkafka", format!(", enable.auto.offset.store: {v}")),
        };
        let store = match b.store {
            Store::None => String::new(),
            Store::SameTransaction => "    idempotency: { store: same-transaction }\n".to_string(),
            Store::External {
                ttl_ms,
                apply_anyway,
            } => format!(
                "    idempotency: {{ store: external{}, on_store_unavailable: {} }}\n",
                ttl_ms.map_or(String::new(), |t| format!(", ttl_ms: {t}")),
                if apply_anyway {
                    "apply-anyway"
                } else {
                    "retry"
                }
            ),
        };
        format!(
            "  - name: b\n    topics: [t]\n    members: {}\n    client: {client}\n    static: {}\n    config: {{ auto.commit.interval.ms: {}, auto.offset.reset: {}, session.timeout.ms: 6000, heartbeat.interval.ms: 1000, max.poll.records: {}, partition.assignment.strategy: {}{store_offsets} }}\n    processing: {{ time_ms: {}, effect: ship, commit: {} }}\n{store}",
            b.members,
            b.static_members,
            b.auto_commit_ms,
            if b.earliest { "earliest" } else { "latest" },
            b.max_poll,
            STRATEGIES[b.strategy],
            b.time_ms,
            B_COMMITS[b.commit],
        )
    }
}

/// proptest's seed is fixed, so CI judges the same cases every time;
/// `PROPTEST_RNG_SEED=N PROPTEST_CASES=M cargo test --test operations` explores others.
fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/operations.txt",
        ))),
        ..ProptestConfig::default()
    };
    if c.rng_seed == RngSeed::Random {
        c.rng_seed = RngSeed::Fixed(20261201);
    }
    c
}

/// Keeps every record and follows ownership in one pass.
#[derive(Default)]
struct Sinks {
    all: Recorder,
    owners: Owners,
}

impl TraceSink for Sinks {
    fn record(&mut self, t: &Tables, ev: &TraceEvent) {
        self.all.record(t, ev);
        self.owners.record(t, ev);
    }
}

/// One generated run, with what the invariants read.
struct Run {
    text: String,
    sc: Scenario,
    result: RunResult,
    verdict: Verdict,
    sinks: Sinks,
}

fn run(case: &Case) -> Result<Run, TestCaseError> {
    let text = case.yaml();
    // A generated scenario that does not load is a bug in the generator.
    let sc = scenario::parse(&text).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
    let mut sinks = Sinks::default();
    let (result, verdict) = simulate_with(&sc, sc.seed, &mut sinks);
    Ok(Run {
        text,
        sc,
        result,
        verdict,
        sinks,
    })
}

impl Run {
    fn events(&self) -> &[TraceEvent] {
        &self.sinks.all.events
    }

    fn tables(&self) -> &Tables {
        &self.result.tables
    }

    fn group(&self, name: &str) -> usize {
        self.sc
            .groups
            .iter()
            .position(|g| g.name == name)
            .expect("the group exists")
    }

    /// The acks setting of the client that sent as `actor`.
    fn acks(&self, actor: ActorId) -> Acks {
        match self.tables().actors[actor.ix()].0 {
            Actor::Producer(p) => self.sc.producers[p as usize].config.acks,
            Actor::Service(s) | Actor::Relay { service: s, .. } => {
                self.sc.services[s as usize].producer.acks
            }
            Actor::Member { .. } => unreachable!("a member acknowledges nothing"),
        }
    }

    /// Fails with the invariant's name, what broke, and the scenario.
    fn fail(&self, invariant: &str, what: String) -> TestCaseError {
        TestCaseError::fail(format!(
            "{invariant}: {what}\n--- scenario ---\n{}",
            self.text
        ))
    }

    /// Every acknowledged record sent with acks=all is in the final log (no unclean
    /// election is enabled); and every acknowledged record missing from it, whatever its
    /// acks, is named by an `acked_lost` anomaly, and only those.
    fn no_acknowledged_record_lost(&self) -> Result<(), TestCaseError> {
        let in_log: BTreeSet<EventIx> = common::final_logs(self.events())
            .values()
            .flatten()
            .map(|&(_, e)| e)
            .collect();
        let mut missing = BTreeSet::new();
        for ev in self.events() {
            if let Kind::Ack {
                actor,
                event,
                offset: Some(_),
                ..
            } = ev.kind
            {
                if in_log.contains(&event) {
                    continue;
                }
                if self.acks(actor) == Acks::All {
                    return Err(self.fail(
                        "no acknowledged record lost",
                        format!(
                            "e-{} was acknowledged (acks=all) at t={} and is not in the final log",
                            event.0 + 1,
                            ev.at.ms()
                        ),
                    ));
                }
                missing.insert(event);
            }
        }
        let named: BTreeSet<EventIx> = self
            .verdict
            .anomalies
            .iter()
            .filter(|a| a.kind == AnomalyKind::AckedLost)
            .filter_map(|a| a.event)
            .collect();
        if named != missing {
            return Err(self.fail(
                "every lost acknowledged record named",
                format!("acked_lost names {named:?}, the log misses {missing:?}"),
            ));
        }
        Ok(())
    }

    /// Group `a` (no auto-commit, synchronous commits after processing, `earliest`):
    /// every record in the final log was processed by it (its effect applied, or absorbed
    /// as a duplicate), or is still waiting (at or past the group's final committed offset
    /// of its partition: a member that came back would read it), or was jumped over by an
    /// explicit forward seek of the group. Its counters agree.
    fn group_a_processes_every_record_at_least_once(&self) -> Result<(), TestCaseError> {
        let a = self.group("a");
        let t = self.tables();
        let mut processed = BTreeSet::new();
        let mut seeks: Vec<(PartId, u64, u64)> = Vec::new();
        for ev in self.events() {
            match ev.kind {
                Kind::Effect { actor, event, .. } | Kind::Absorbed { actor, event, .. }
                    if t.member_group(actor) == a =>
                {
                    processed.insert(event);
                }
                Kind::Seek {
                    actor,
                    part,
                    from,
                    offset,
                    ..
                } if t.member_group(actor) == a && offset > from => {
                    seeks.push((part, from.value(), offset.value()));
                }
                _ => {}
            }
        }
        let committed = &self.result.committed[a];
        for (&part, log) in &common::final_logs(self.events()) {
            let waiting_from = committed
                .get(part.ix())
                .copied()
                .flatten()
                .map_or(0, |o| o.value());
            for &(offset, event) in log {
                let sought_past = seeks
                    .iter()
                    .any(|&(p, from, to)| p == part && from <= offset && offset < to);
                if !processed.contains(&event) && offset < waiting_from && !sought_past {
                    return Err(self.fail(
                        "at-least-once",
                        format!(
                            "group a never processed {}@{offset} (e-{}), and its committed offset {waiting_from} is past it",
                            t.part_name(part),
                            event.0 + 1
                        ),
                    ));
                }
            }
        }
        let g = &self.verdict.groups[a];
        for counter in [
            Counter::Lost,
            Counter::SkippedByReset,
            Counter::SkippedByRetention,
            Counter::Compacted,
        ] {
            if g.counts.get(counter) != 0 {
                return Err(self.fail(
                    "at-least-once",
                    format!("group a counts {} {:?}", g.counts.get(counter), counter),
                ));
            }
        }
        if seeks.is_empty() && g.counts.get(Counter::SkippedBySeek) != 0 {
            return Err(self.fail(
                "at-least-once",
                "skipped_by_seek without a forward seek".into(),
            ));
        }
        Ok(())
    }

    /// A group whose processed-id store commits with the effect applies no eventId twice,
    /// by the trace's `effect` records and by its counter.
    fn same_transaction_groups_never_apply_twice(&self) -> Result<(), TestCaseError> {
        let t = self.tables();
        let mut applied: BTreeMap<(usize, EventIx), u64> = BTreeMap::new();
        for ev in self.events() {
            if let Kind::Effect { actor, event, .. } = ev.kind {
                *applied.entry((t.member_group(actor), event)).or_default() += 1;
            }
        }
        for (g, spec) in self.sc.groups.iter().enumerate() {
            let same_transaction = matches!(spec.idempotency, Some(ref i) if i.store == kafkasim::scenario::StoreKind::SameTransaction);
            if !same_transaction {
                continue;
            }
            if let Some(((_, e), n)) = applied.iter().find(|((gg, _), &n)| *gg == g && n > 1) {
                return Err(self.fail(
                    "no duplicate effect with a same-transaction store",
                    format!("group {} applied e-{} {n} times", spec.name, e.0 + 1),
                ));
            }
            let counted = self.verdict.groups[g].counts.get(Counter::DuplicateEffects);
            if counted != 0 {
                return Err(self.fail(
                    "no duplicate effect with a same-transaction store",
                    format!("group {} counts {counted} duplicate_effects", spec.name),
                ));
            }
        }
        Ok(())
    }

    /// A group's committed offset of a partition never moves back, unless a member of the
    /// group sought that partition or reset its position between the two commits: between
    /// when the higher one and the lower one were sent (a commit sent before a seek may
    /// arrive after it, when `offset_commit` messages are delayed).
    fn committed_offsets_never_go_backwards(&self) -> Result<(), TestCaseError> {
        let t = self.tables();
        // When each member last sent a commit of (partition, offset).
        let mut sent: BTreeMap<(ActorId, PartId, u64), u64> = BTreeMap::new();
        // Per group and partition: when seeks and resets happened; the commits stored, as
        // (offset, when sent).
        let mut licences: BTreeMap<(usize, PartId), Vec<u64>> = BTreeMap::new();
        let mut stored: BTreeMap<(usize, PartId), Vec<(u64, u64)>> = BTreeMap::new();
        for ev in self.events() {
            let now = ev.at.ms();
            match ev.kind {
                Kind::Seek { actor, part, .. } | Kind::OffsetReset { actor, part, .. } => {
                    licences
                        .entry((t.member_group(actor), part))
                        .or_default()
                        .push(now);
                }
                Kind::CommitSent {
                    actor,
                    part,
                    offset,
                    ..
                } => {
                    sent.insert((actor, part, offset.value()), now);
                }
                Kind::Committed {
                    group,
                    part,
                    offset,
                    actor,
                } => {
                    let key = (group as usize, part);
                    let o2 = offset.value();
                    let s2 = sent.get(&(actor, part, o2)).copied().unwrap_or(now);
                    let licensed = |s1: u64| {
                        let (from, to) = (s1.min(s2), s1.max(s2));
                        licences
                            .get(&key)
                            .is_some_and(|l| l.iter().any(|&at| from <= at && at <= to))
                    };
                    let earlier = stored.entry(key).or_default();
                    if let Some(&(o1, s1)) =
                        earlier.iter().find(|&&(o1, s1)| o1 > o2 && !licensed(s1))
                    {
                        return Err(self.fail(
                            "committed offsets never go backwards",
                            format!(
                                "t={now}: group {} stored {}@{o2} (sent by {} at t={s2}) after {o1} (sent at t={s1}), with no seek or reset between",
                                self.sc.groups[group as usize].name,
                                t.part_name(part),
                                t.actor_name(actor),
                            ),
                        ));
                    }
                    earlier.push((o2, s2));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn no_partition_has_two_owners(&self) -> Result<(), TestCaseError> {
        match &self.sinks.owners.violation {
            Some(v) => Err(self.fail("at most one owner per partition", v.clone())),
            None => Ok(()),
        }
    }

    /// Every record in a group's partitions ends in exactly one fate, and every event sent
    /// and never appended is named by an anomaly that says how.
    fn the_counters_add_up(&self) -> Result<(), TestCaseError> {
        for g in &self.verdict.groups {
            let c = |k| g.counts.get(k);
            let fates: u64 = Counter::RECORD_FATES.iter().map(|&k| c(k)).sum();
            if c(Counter::RecordsInLog) != fates {
                return Err(self.fail(
                    "the counters add up",
                    format!(
                        "group {}: records_in_log {} but its fates sum to {fates}",
                        g.name,
                        c(Counter::RecordsInLog)
                    ),
                ));
            }
        }
        for (e, named) in common::missing_events(self.events(), &self.verdict) {
            if !named {
                return Err(self.fail(
                    "the counters add up",
                    format!("e-{} never reached the log and nothing names it", e.0 + 1),
                ));
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Every invariant in this file's header but determinism, on one run of each case.
    #[test]
    fn generated_operations_keep_every_invariant(case in case()) {
        let r = run(&case)?;
        r.no_acknowledged_record_lost()?;
        r.group_a_processes_every_record_at_least_once()?;
        r.same_transaction_groups_never_apply_twice()?;
        r.committed_offsets_never_go_backwards()?;
        r.no_partition_has_two_owners()?;
        r.the_counters_add_up()?;
    }
}

proptest! {
    #![proptest_config(config(32))]

    /// The same scenario and seed, run twice, give the same trace records in the same
    /// order and the same verdict, byte for byte.
    #[test]
    fn generated_operations_run_identically_twice(case in case()) {
        let one = run(&case)?;
        let two = run(&case)?;
        let (a, b) = (one.events(), two.events());
        if let Some(i) = (0..a.len().min(b.len())).find(|&i| format!("{:?}", a[i]) != format!("{:?}", b[i])) {
            return Err(one.fail("determinism", format!("record {i} differs: {:?} then {:?}", a[i], b[i])));
        }
        prop_assert_eq!(a.len(), b.len(), "{}", one.text);
        prop_assert_eq!(
            report::json(&one.sc, one.sc.seed, &one.result, &one.verdict),
            report::json(&two.sc, two.sc.seed, &two.result, &two.verdict),
            "{}", one.text
        );
    }
}
