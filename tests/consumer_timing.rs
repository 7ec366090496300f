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

/// Five members on three partitions, nothing produced, fetches parked at the broker for
/// up to 30 s; `extra` is appended to the group's `config`, and `faults` to the file.
fn parked(extra: &str, faults: &str) -> String {
    format!(
        r#"
name: parked-fetch
title: members blocked in poll with fetch.max.wait.ms 30000
topics: [{{ name: t, partitions: 3 }}]
consumer_groups:
  - name: g
    topics: [t]
    members: 5
    config: {{ fetch.max.wait.ms: 30000{extra} }}
faults: [{faults}]
run: {{ until_ms: 40000 }}
"#
    )
}

#[test]
fn an_idle_member_auto_commits_on_time_while_its_fetch_is_parked() {
    // Generation 1 at 3001 (default initial delay); the SyncGroup answers arrive at 3002
    // and restart each member's auto-commit timer: due at 8002. The members with a
    // partition reset it by ListOffsets (3004) and park a fetch until 33004; Kafka's poll
    // loop still wakes at 8002 and commits (stored at 8003), again at 13003, and so on.
    // Before, the commit waited for the parked fetch to return: first stored at 33007.
    let (_, events) = run(&parked("", ""));
    let first: Vec<(u64, u64)> = commits(&events).into_iter().take(3).collect();
    assert_eq!(first, vec![(8003, 0), (8003, 0), (8003, 0)]);
    let times: Vec<u64> = commits(&events).iter().map(|&(t, _)| t).collect();
    assert!(
        times.contains(&13003) && times.contains(&33003),
        "{times:?}"
    );
}

#[test]
fn a_member_with_a_parked_fetch_rejoins_without_waiting_for_it() {
    // g-2 leaves at 5000 (LeaveGroup reaches the coordinator at 5001); the others are
    // told to rejoin at 5002, with their fetches parked until 33004 or so, and rejoin at
    // once: generation 2 forms at 5003, one latency after the last JoinGroup was sent.
    let (v, events) = run(&parked(
        ", enable.auto.commit: false",
        "{ at_ms: 5000, leave: g-2 }",
    ));
    assert_eq!(generations(&events), vec![(3001, 1), (5003, 2)]);
    assert_eq!(v.totals.get(Counter::Rebalances), 2);
}
