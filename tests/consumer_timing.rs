//! When the consumer and its group coordinator act, against Kafka's own timing: the
//! auto-commit timer, a member blocked in `poll()`, the two forms of shutdown, the initial
//! rebalance delay, empty generations, and a coordinator that lives on the brokers. Each
//! test is one of the fidelity issue's examples and asserts Kafka's value.

use kafkasim::check::Verdict;
use kafkasim::counters::Counter;
use kafkasim::trace::{Kind, Recorder, TraceEvent};
use kafkasim::{scenario, simulate_with};

/// Runs a scenario given as text with its own seed; the verdict and every trace record.
fn run(text: &str) -> (Verdict, Vec<TraceEvent>) {
    let sc = scenario::parse(text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let mut rec = Recorder::default();
    let (_, v) = simulate_with(&sc, sc.seed, &mut rec);
    (v, rec.events)
}

/// When each generation formed, with its number, in order.
fn generations(events: &[TraceEvent]) -> Vec<(u64, u32)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            Kind::Generation { generation, .. } => Some((e.at.0, generation)),
            _ => None,
        })
        .collect()
}

/// When each commit was stored, and the offset.
fn commits(events: &[TraceEvent]) -> Vec<(u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            Kind::Committed { offset, .. } => Some((e.at.0, offset.value())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_auto_commit_interval_restarts_when_the_join_completes() {
    // Generation 1 forms at 3001 (the default 3000 ms initial delay after the join at 1);
    // the SyncGroup answer reaches the member at 3002, and onJoinComplete restarts the
    // auto-commit timer there: the first auto-commit is due at 8002. The crash at 7000
    // comes first, so nothing was ever committed, and the restarted member (generation 2,
    // once the crashed incarnation's 6000 ms session has run out at 13000) starts again
    // at the earliest offset: every record handled before the crash is handled twice.
    // Records are sent every 100 ms from t=50 and handled about 3 ms later, so by 7000
    // the member had handled offsets 0..=69: 70 duplicates, Kafka's figure. (Counting the
    // interval from the consumer's start instead commits at the first poll after 5001 and
    // redelivers only the 19 records handled after that.)
    let (v, events) = run(r#"
name: auto-commit-timer
title: the auto-commit timer restarts when a join completes
topics: [{ name: t, partitions: 1 }]
producers:
  - name: p
    topic: t
    send: { count: 100, every_ms: 100, start_ms: 50, keys: { pattern: "k-{n}", distinct: 100 } }
consumer_groups:
  - name: g
    topics: [t]
    config: { enable.auto.commit: true, auto.offset.reset: earliest, session.timeout.ms: 6000 }
faults:
  - { at_ms: 7000, crash: g-1 }
  - { at_ms: 7000, restart: g-1 }
run: { until_ms: 30000 }
"#);
    assert_eq!(generations(&events)[0], (3001, 1));
    assert!(
        commits(&events).iter().all(|&(t, _)| t > 7000),
        "no commit before the crash: {:?}",
        commits(&events)
    );
    assert_eq!(v.totals.get(Counter::DuplicateDeliveries), 70);
    assert_eq!(v.totals.get(Counter::Lost), 0);
}
