//! When the consumer and its group coordinator act, against Kafka's own timing: the
//! auto-commit timer, a member blocked in `poll()`, the two forms of shutdown, the initial
//! rebalance delay, empty generations, and a coordinator that lives on the brokers. Each
//! test is one of the fidelity issue's examples and asserts Kafka's value.

use kafkasim::check::{AnomalyKind, Verdict};
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
    // g-2 leaves at 5000 (LeaveGroup reaches the coordinator at 5001); the others learn
    // of the rebalance from the answer to their next heartbeat (sent at 6000, every
    // heartbeat.interval.ms from their start), which arrives at 6002 while their fetches
    // are parked until 33004 or so. They rejoin at once: generation 2 forms at 6003, one
    // latency after the last JoinGroup was sent.
    let (v, events) = run(&parked(
        ", enable.auto.commit: false",
        "{ at_ms: 5000, leave: g-2 }",
    ));
    assert_eq!(generations(&events), vec![(3001, 1), (6003, 2)]);
    assert_eq!(v.totals.get(Counter::Rebalances), 2);
}

/// Two members on one partition (g-2 idle), 20 records every 10 ms from t=100, 100 ms of
/// handling each, auto-commit on; at 1000 g-1 is 8 records into a batch of 10 (p0@1..10,
/// polled at 204) when `fault` stops it.
fn scale_in(fault: &str) -> String {
    format!(
        r#"
name: scale-in
title: a member shuts down in the middle of a batch
cluster: {{ config: {{ group.initial.rebalance.delay.ms: 0 }} }}
topics: [{{ name: t, partitions: 1 }}]
producers:
  - {{ name: p, topic: t, send: {{ count: 20, every_ms: 10, start_ms: 100, keys: {{ pattern: "k-{{n}}", distinct: 20 }} }} }}
consumer_groups:
  - name: g
    topics: [t]
    members: 2
    config: {{ auto.offset.reset: earliest }}
    processing: {{ time_ms: 100 }}
faults:
  - {{ at_ms: 1000, {fault}: g-1 }}
run: {{ until_ms: 10000 }}
"#
    )
}

#[test]
fn a_graceful_leave_finishes_the_batch_in_hand_and_loses_nothing() {
    // wakeup() at 1000: g-1 finishes p0@8..10 (the last effect at 1204), close() commits
    // offset 11 and sends LeaveGroup; g-2 resumes at 11. Every record is handled once.
    // Before, `leave` closed at once and auto-committed 11 past p0@8..10: 3 lost.
    let (v, events) = run(&scale_in("leave"));
    assert_eq!(v.totals.get(Counter::Lost), 0);
    assert_eq!(v.totals.get(Counter::DuplicateDeliveries), 0);
    assert_eq!(v.totals.get(Counter::Processed), 20);
    let left: Vec<u64> = events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Leave { .. }))
        .map(|e| e.at.0)
        .collect();
    assert_eq!(left, vec![1204], "it leaves once its batch is done");
    assert_eq!(commits(&events)[0], (1205, 11));
}

#[test]
fn a_graceful_leave_without_auto_commit_commits_what_it_processed_by_hand() {
    // commit: after-batch, auto-commit off: the batch in hand ends with its commitSync.
    let text = scale_in("leave").replace(
        "config: { auto.offset.reset: earliest }\n    processing: { time_ms: 100 }",
        "config: { auto.offset.reset: earliest, enable.auto.commit: false }\n    processing: { time_ms: 100, commit: after-batch }",
    );
    let (v, events) = run(&text);
    assert_eq!(v.totals.get(Counter::Lost), 0);
    assert_eq!(v.totals.get(Counter::DuplicateDeliveries), 0);
    assert_eq!(v.totals.get(Counter::Processed), 20);
    // The batch's own commitSync of offset 11 is answered before the member leaves.
    assert!(
        commits(&events).iter().any(|&(t, o)| o == 11 && t < 1300),
        "{:?}",
        commits(&events)
    );
}

#[test]
fn an_interrupted_close_commits_past_the_records_it_never_handled() {
    // The loop breaks at 1000 in the middle of p0@8; close() auto-commits the position
    // 11, past p0@8..10, which nobody ever handles: 3 lost, each saying why.
    let (v, events) = run(&scale_in("close_interrupted"));
    assert_eq!(v.totals.get(Counter::Lost), 3);
    assert_eq!(v.totals.get(Counter::Processed), 17);
    assert!(events
        .iter()
        .any(|e| e.at.0 == 1000 && matches!(e.kind, Kind::CloseInterrupted { unhandled: 3, .. })));
    let causes: Vec<&str> = v
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::Lost)
        .map(|a| a.cause.as_str())
        .collect();
    assert_eq!(
        causes[0],
        "p0@8 (e-9) is in the log but g never processed it: g-1's close() interrupted its \
         batch at t=1000ms, leaving 3 records it had been handed unhandled, and the close \
         committed offset 11 past them (stored at t=1001ms)"
    );
}

#[test]
fn a_group_that_empties_during_its_initial_delay_completes_an_empty_generation_and_waits_again() {
    // g-1 joins at 1 and leaves at 1000, inside the 3000 ms initial delay: Kafka 4.0
    // completes the join phase at once into an empty generation 1 and cancels the delay
    // timer. g-2's join at 2000 (2001 at the coordinator) starts a fresh full delay:
    // generation 2 at 5001. Before: no empty generation, and g-2 got generation 1.
    let (v, events) = run(r#"
name: empty-during-delay
title: the group empties during its initial delay and is joined again
topics: [{ name: t, partitions: 1 }]
consumer_groups: [{ name: g, topics: [t] }]
faults:
  - { at_ms: 1000, leave: g-1 }
  - { at_ms: 2000, join: g }
run: { until_ms: 20000 }
"#);
    assert_eq!(generations(&events), vec![(1001, 1), (5001, 2)]);
    assert_eq!(v.totals.get(Counter::Rebalances), 2);
}

#[test]
fn the_last_member_leaving_bumps_the_generation_and_a_new_join_waits_a_full_delay() {
    // One member; leave at 5000, join at 6000: generation 1 (3001), the empty
    // generation 2 when the LeaveGroup lands (5001), generation 3 a full delay after the
    // new join (9001): 3 rebalances, as in Kafka.
    let (v, events) = run(r#"
name: leave-then-join
title: the last member leaves, then a new one joins
topics: [{ name: t, partitions: 1 }]
consumer_groups: [{ name: g, topics: [t] }]
faults:
  - { at_ms: 5000, leave: g-1 }
  - { at_ms: 6000, join: g }
run: { until_ms: 20000 }
"#);
    assert_eq!(generations(&events), vec![(3001, 1), (5001, 2), (9001, 3)]);
    assert_eq!(v.totals.get(Counter::Rebalances), 3);
}

#[test]
fn no_generation_forms_while_every_broker_is_down() {
    // The initial delay would end at 3001, inside the outage (1000..8000): the coordinator
    // is a broker, so generation 1 forms only when the brokers are back, at 8000. Before,
    // it formed at 3001 and the assignment went out while every broker was down.
    let (_, events) = run(r#"
name: outage-over-the-delay
title: a Kafka outage covers the initial rebalance delay
topics: [{ name: t, partitions: 1 }]
consumer_groups: [{ name: g, topics: [t] }]
faults:
  - { at_ms: 1000, kafka_outage: true, for_ms: 7000 }
run: { until_ms: 20000 }
"#);
    assert_eq!(generations(&events), vec![(8000, 1)]);
}

#[test]
fn no_session_expires_and_no_commit_is_stored_while_every_broker_is_down() {
    // g-2 crashes at 1000 (6000 ms session): its expiry falls at 7000, inside the outage
    // (5000..12000), so the coordinator removes it and rebalances only at 12000. g-1's
    // auto-commits, due every 5000 ms from its join, are held by the outage: none is
    // stored between 5000 and 12000.
    let (_, events) = run(r#"
name: outage-over-an-expiry
title: a Kafka outage covers a session expiry
cluster: { config: { group.initial.rebalance.delay.ms: 0 } }
topics: [{ name: t, partitions: 2 }]
consumer_groups:
  - { name: g, topics: [t], members: 2, config: { session.timeout.ms: 6000 } }
faults:
  - { at_ms: 1000, crash: g-2 }
  - { at_ms: 5000, kafka_outage: true, for_ms: 7000 }
run: { until_ms: 20000 }
"#);
    let expired: Vec<u64> = events
        .iter()
        .filter(|e| matches!(e.kind, Kind::SessionExpired { .. }))
        .map(|e| e.at.0)
        .collect();
    assert_eq!(expired, vec![12000]);
    assert!(generations(&events)
        .iter()
        .all(|&(t, _)| !(5000..12000).contains(&t)));
    assert!(
        commits(&events)
            .iter()
            .all(|&(t, _)| !(5000..12000).contains(&t)),
        "{:?}",
        commits(&events)
    );
}
