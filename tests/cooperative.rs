//! Property test: under cooperative rebalancing (`cooperative-sticky`), whatever the
//! scale-out, scale-in, crash and restart schedule, no partition is owned by two members of
//! the same generation at any time (checked in a stronger form: by two members of the
//! group at once, whatever their generations), and once the members are stable every
//! partition is assigned to exactly one of them.
//!
//! Ownership is read from the trace by `common::Owners` (shared with tests/operations.rs,
//! which checks eager groups too): a member owns what its last `assigned` record lists,
//! minus what it revoked since (`revoke_moved`), and nothing after an eager-style
//! revocation, a crash or a close.

use common::Owners;
use kafkasim::trace::PartId;
use kafkasim::{scenario, simulate_with};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

mod common;

const PARTITIONS: u32 = 6;

#[derive(Clone, Debug)]
enum Op {
    Join { at: u64 },
    Leave { at: u64, member: u8 },
    Crash { at: u64, member: u8, down_for: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..8_000u64).prop_map(|at| Op::Join { at }),
        (0..8_000u64, 1..=3u8).prop_map(|(at, member)| Op::Leave { at, member }),
        (0..8_000u64, 1..=3u8, 1..6_000u64).prop_map(|(at, member, down_for)| Op::Crash {
            at,
            member,
            down_for
        }),
    ]
}

/// `slow`: each poll's records take longer than max.poll.interval.ms, so members leave by
/// poll timeout and rejoin while joins and assignments are under way.
fn yaml(ops: &[Op], slow: bool) -> String {
    let mut f = String::new();
    for op in ops {
        match *op {
            Op::Join { at } => f += &format!("  - {{ at_ms: {at}, join: g }}\n"),
            Op::Leave { at, member } => f += &format!("  - {{ at_ms: {at}, leave: g-{member} }}\n"),
            Op::Crash {
                at,
                member,
                down_for,
            } => {
                f += &format!("  - {{ at_ms: {at}, crash: g-{member} }}\n");
                f += &format!("  - {{ at_ms: {}, restart: g-{member} }}\n", at + down_for);
            }
        }
    }
    if f.is_empty() {
        return format!("{}faults: []\n", header(slow));
    }
    format!("{}faults:\n{f}", header(slow))
}

fn header(slow: bool) -> String {
    let (poll, time_ms) = match slow {
        true => (
            "heartbeat.interval.ms: 10, max.poll.interval.ms: 150, max.poll.records: 2",
            100,
        ),
        false => ("heartbeat.interval.ms: 1000", 7),
    };
    format!(
        "name: coop\ntitle: generated\nseed: 1\n\
         cluster: {{ brokers: 1, network: {{ latency_ms: {{ min: 1, max: 4 }} }}, config: {{ group.initial.rebalance.delay.ms: 0 }} }}\n\
         topics: [ {{ name: t, partitions: {PARTITIONS} }} ]\n\
         producers: [ {{ name: p, topic: t, send: {{ count: 200, every_ms: 50, keys: {{ pattern: \"k-{{n}}\", distinct: 12 }} }} }} ]\n\
         consumer_groups:\n  - {{ name: g, topics: [t], members: 3, config: {{ auto.offset.reset: earliest, auto.commit.interval.ms: 300, partition.assignment.strategy: cooperative-sticky, session.timeout.ms: 6000, {poll} }}, processing: {{ time_ms: {time_ms}, effect: e }} }}\n\
         run: {{ until_ms: 40000 }}\n"
    )
}

fn config() -> ProptestConfig {
    let mut c = ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(48),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/cooperative.txt",
        ))),
        ..ProptestConfig::default()
    };
    if c.rng_seed == RngSeed::Random {
        c.rng_seed = RngSeed::Fixed(20261127);
    }
    c
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_partition_has_two_owners_in_one_generation_and_all_end_up_assigned(
        ops in proptest::collection::vec(op(), 0..6),
        slow in any::<bool>(),
    ) {
        let text = yaml(&ops, slow);
        let sc = scenario::parse(&text).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
        let mut owners = Owners::default();
        simulate_with(&sc, 1, &mut owners);
        prop_assert!(!owners.owned.is_empty() || !ops.is_empty(), "nothing was assigned\n{text}");
        prop_assert!(owners.violation.is_none(), "{}\n{text}", owners.violation.unwrap());
        let (generation, shares) = owners.last_generation.remove(&0).expect("the group formed");
        prop_assert!(owners.withheld_after_last.is_empty(), "the run ended mid-move\n{text}");
        if !shares.is_empty() {
            let mut all: Vec<PartId> = shares.into_iter().flatten().collect();
            all.sort();
            let expected: Vec<PartId> = (0..PARTITIONS).map(PartId).collect();
            prop_assert_eq!(all, expected, "generation {}\n{}", generation, text);
        }
    }
}
