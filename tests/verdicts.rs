//! Every record accounted for: the issue's examples, each asserting the right value, and
//! the identity `records_in_log = records_processed + skipped_by_reset +
//! skipped_by_retention + skipped_by_seek + compacted + lost + unprocessed_at_end` on every
//! lesson and regression
//! scenario.

use kafkasim::check::{AnomalyKind, Verdict};
use kafkasim::counters::Counter;
use kafkasim::{scenario, simulate};
use std::path::Path;

mod common;

fn run(text: &str) -> Verdict {
    let sc = scenario::parse(text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    simulate(&sc, sc.seed).1
}

/// Every scenario file under the given folders of the repository, sorted.
fn scenario_files(dirs: &[&str]) -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = dirs
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(root.join(d))
                .expect("the folder exists")
                .map(|e| e.expect("readable").path())
        })
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// Every lesson, regression and verdict scenario run on its own seed with every trace
/// record kept: (path, run, verdict, records).
fn recorded_runs() -> impl Iterator<
    Item = (
        std::path::PathBuf,
        kafkasim::model::RunResult,
        Verdict,
        Vec<kafkasim::trace::TraceEvent>,
    ),
> {
    scenario_files(&["scenarios", "scenarios/regressions", "tests/verdicts"])
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable");
            let sc = scenario::parse(&text).unwrap_or_else(|e| panic!("{e:?}"));
            let mut all = kafkasim::trace::Recorder::default();
            let (run, v) = kafkasim::simulate_with(&sc, sc.seed, &mut all);
            (path, run, v, all.events)
        })
}

fn causes(v: &Verdict, kind: AnomalyKind) -> Vec<&str> {
    v.anomalies
        .iter()
        .filter(|a| a.kind == kind)
        .map(|a| a.cause.as_str())
        .collect()
}

/// Panics unless each group's records add up.
fn assert_records_add_up(name: &str, v: &Verdict) {
    for g in &v.groups {
        let c = |k| g.counts.get(k);
        assert_eq!(
            c(Counter::RecordsInLog),
            Counter::RECORD_FATES.iter().map(|&k| c(k)).sum::<u64>(),
            "{name}: group {} does not add up",
            g.name
        );
    }
}

#[test]
fn acks_zero_sends_dropped_in_an_outage_are_counted_as_unacked_lost() {
    let v = run(r#"
name: acks0
title: acks=0 during an outage
cluster: { network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0 } }
topics: [ { name: m, partitions: 1 } ]
producers:
  - { name: sensor, topic: m, config: { acks: 0 }, send: { count: 10, every_ms: 100 } }
consumer_groups:
  - { name: dash, topics: [m], config: { auto.offset.reset: earliest } }
faults:
  - { at_ms: 250, kafka_outage: true, for_ms: 300 }
run: { until_ms: 5000 }
"#);
    assert_eq!(v.totals.get(Counter::Acked), 10);
    assert_eq!(v.totals.get(Counter::Appended), 7);
    assert_eq!(
        v.totals.get(Counter::UnackedLost),
        3,
        "the 3 sends the outage ate"
    );
    let why = causes(&v, AnomalyKind::UnackedLost);
    assert_eq!(why.len(), 3);
    assert!(
        why[0].contains("sensor sent e-4") && why[0].contains("every broker was unreachable"),
        "{}",
        why[0]
    );
    assert_records_add_up("acks0", &v);
}

#[test]
fn a_send_that_ran_out_of_retries_names_retries_with_its_attempts_and_time() {
    let v = run(r#"
name: retries
title: retries run out long before delivery.timeout.ms
cluster: { network: { latency_ms: 1 } }
topics: [ { name: m, partitions: 1 } ]
producers:
  - { name: p, topic: m, config: { retries: 5, request.timeout.ms: 100, retry.backoff.ms: 300, enable.idempotence: false }, send: { count: 1 } }
faults:
  - { at_ms: 0, kafka_outage: true, for_ms: 10000 }
run: { until_ms: 20000 }
"#);
    assert_eq!(v.totals.get(Counter::SendFailed), 1);
    let why = causes(&v, AnomalyKind::SendFailed);
    assert_eq!(
        why,
        vec!["p gave up on e-1 at t=2100ms after 6 attempts in 2100 ms: retries (5) exhausted; every broker was unreachable (kafka_outage) from t=0ms to t=10000ms; it never reached the log"]
    );
}

#[test]
fn a_send_that_ran_out_of_time_names_delivery_timeout() {
    let v = run(r#"
name: timeout
title: delivery.timeout.ms ends the send first
cluster: { network: { latency_ms: 1 } }
topics: [ { name: m, partitions: 1 } ]
producers:
  - { name: p, topic: m, config: { request.timeout.ms: 1000, delivery.timeout.ms: 2500 }, send: { count: 1 } }
faults:
  - { at_ms: 0, kafka_outage: true, for_ms: 10000 }
run: { until_ms: 20000 }
"#);
    let why = causes(&v, AnomalyKind::SendFailed);
    assert_eq!(why.len(), 1);
    assert!(
        why[0].contains("delivery.timeout.ms (2500 ms)"),
        "{}",
        why[0]
    );
    assert!(!why[0].contains("retries"), "{}", why[0]);
}

#[test]
fn records_before_a_latest_reset_are_skipped_by_the_reset_not_silently_ignored() {
    let v = run(r#"
name: latest
title: a consumer that starts late with auto.offset.reset=latest
cluster: { network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0 } }
topics: [ { name: m, partitions: 1 } ]
producers:
  - { name: p, topic: m, send: { count: 10, every_ms: 10 } }
consumer_groups:
  - { name: late, topics: [m], members: 0, config: { auto.offset.reset: latest } }
faults:
  - { at_ms: 500, join: late }
run: { until_ms: 5000 }
"#);
    let g = &v.groups[0];
    assert_eq!(g.counts.get(Counter::RecordsInLog), 10);
    assert_eq!(g.counts.get(Counter::SkippedByReset), 10);
    assert_eq!(
        g.counts.get(Counter::Lost),
        0,
        "skipped by a reset is not lost"
    );
    let why = causes(&v, AnomalyKind::SkippedByReset);
    assert_eq!(why.len(), 10);
    assert!(
        why[0].contains("late-1 had no committed offset")
            && why[0].contains("auto.offset.reset=latest"),
        "{}",
        why[0]
    );
    assert_records_add_up("latest", &v);
}

#[test]
fn a_backlog_left_by_a_member_that_never_returns_is_lag_not_loss() {
    let v = run(r#"
name: backlog
title: the only member crashes and never returns
cluster: { network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0 } }
topics: [ { name: m, partitions: 1 } ]
producers:
  - { name: p, topic: m, send: { count: 20, every_ms: 10 } }
consumer_groups:
  - { name: g, topics: [m], config: { auto.offset.reset: earliest, enable.auto.commit: false }, processing: { commit: after-each-record } }
faults:
  - { at_ms: 55, crash: g-1 }
run: { until_ms: 5000 }
"#);
    let g = &v.groups[0];
    assert_eq!(g.counts.get(Counter::Lost), 0);
    assert!(g.counts.get(Counter::UnprocessedAtEnd) > 0);
    assert_eq!(
        g.counts.get(Counter::UnprocessedAtEnd),
        g.lag[0].1.expect("the group committed"),
        "the waiting records are the partition's lag"
    );
    assert_records_add_up("backlog", &v);
}

#[test]
fn the_record_counters_add_up_for_every_lesson_and_regression() {
    let files = scenario_files(&["scenarios", "scenarios/regressions", "tests/verdicts"]);
    assert!(files.len() >= 17, "the lessons and regressions were found");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        assert_records_add_up(&path.display().to_string(), &run(&text));
    }
}

#[test]
fn a_given_up_send_whose_record_a_later_send_published_says_so() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/outbox-survives-outage.yaml"),
    )
    .expect("the lesson exists");
    let v = run(&text);
    let why = causes(&v, AnomalyKind::SendFailed);
    assert_eq!(why.len(), 1);
    // The relay's send gave up at 3320 ms; the row was published again at 3372 ms and
    // that send appended it at 4722 ms: the cause must not credit the failed send.
    assert!(
        why[0].ends_with("a later send put it in the log at t=4722ms, at p2@0"),
        "{}",
        why[0]
    );
}

fn case(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/verdicts/{name}.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn an_outbox_row_marked_published_after_an_acks_zero_drop_is_not_called_pending() {
    let v = run(&case("relay-acks0"));
    let why = causes(&v, AnomalyKind::CommittedWithoutEvent);
    assert!(!why.is_empty());
    for w in &why {
        assert!(
            w.contains("svc-relay-1 marked its outbox row PUBLISHED"),
            "{w}"
        );
        assert!(w.contains("acks=0"), "{w}");
        assert!(!w.contains("PENDING"), "{w}");
    }
}

#[test]
fn a_relay_crashed_at_once_is_named_as_the_cause_of_its_republished_rows() {
    let v = run(&case("relay-plain-crash"));
    let why = causes(&v, AnomalyKind::PublishedDuplicate);
    assert!(!why.is_empty());
    for w in &why {
        assert!(
            w.contains("crashed at t=257ms at once, before marking it PUBLISHED"),
            "{w}"
        );
        assert!(!w.contains("more than one relay"), "{w}");
    }
}

#[test]
fn a_second_copy_from_a_producer_retry_is_not_called_a_redelivery() {
    let v = run(&case("producer-retry-copy"));
    assert_eq!(v.totals.get(Counter::DuplicateDeliveries), 0);
    let why = causes(&v, AnomalyKind::DuplicateEffect);
    // e-3's answer was lost; e-4's answer waited behind it on the connection, so the
    // timeout retried both, and the retries (addFirst: e-4 first) landed at p0@4 and p0@5.
    assert_eq!(why.len(), 2, "{why:#?}");
    let e3 = why.iter().find(|w| w.contains("eventId e-3")).expect("e-3");
    assert!(e3.contains("p0@5 is another copy of it in the log"), "{e3}");
    assert!(
        e3.contains("its producer retried a send whose answer had not come back in time"),
        "{e3}"
    );
    let e4 = why.iter().find(|w| w.contains("eventId e-4")).expect("e-4");
    assert!(e4.contains("p0@4 is another copy of it in the log"), "{e4}");
    assert!(e4.contains("the client closed the connection"), "{e4}");
    assert!(
        why.iter().all(|w| !w.contains("was delivered again")),
        "{why:#?}"
    );
}

/// The documented limits bound a run's cost: a retry storm within every limit stops at
/// the produce budget instead of filling memory with copies.
#[test]
fn a_retry_storm_stops_at_the_produce_budget() {
    // Kept out of tests/verdicts/, which the trace-keeping tests run in full.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/limits/produce-storm.yaml"),
    )
    .expect("readable");
    let sc = scenario::parse(&text).expect("loads");
    let (r, v) = simulate(&sc, sc.seed);
    assert_eq!(r.outcome.name(), "produce-budget");
    let appended = v.totals.get(Counter::Appended);
    assert!(appended > 1_000_000, "a storm of copies: {appended}");
    assert!(appended <= scenario::limits::PRODUCED_COPIES, "{appended}");
}

/// A request already on its way survives its sender's crash: when the network drops it
/// later, the cause names the drop, not the crash alone.
#[test]
fn a_request_dropped_after_its_senders_crash_is_named_as_dropped() {
    let v = run(&case("crash-then-drop"));
    let why = causes(&v, AnomalyKind::CommittedWithoutEvent);
    assert_eq!(why.len(), 1, "{why:#?}");
    assert!(
        why[0].contains("svc crashed at t=10ms while its send was awaiting an answer, so nothing would retry it, and its request, already on its way, was dropped at t=41ms"),
        "{}",
        why[0]
    );
    assert!(!why[0].contains("lost with its process"), "{}", why[0]);
}

/// The first copy of a record processed after a later one is not called a retry appended
/// again by a producer without idempotence: the relay's republish made the other copy.
#[test]
fn a_first_copy_processed_second_names_the_republish() {
    let v = run(&case("first-copy-processed-second"));
    let why = causes(&v, AnomalyKind::DuplicateEffect);
    assert_eq!(why.len(), 1, "{why:#?}");
    assert!(
        why[0].contains("p0@0, the first of its copies in the log, was processed after a later copy (svc-relay-1 gave up on its send at t=2503ms although an attempt had reached the log"),
        "{}",
        why[0]
    );
    assert!(!why[0].contains("without enable.idempotence"), "{}", why[0]);
}

/// One key in two partitions of a topic is named once, with both senders and their
/// partitioners; a third sender that agrees with the first adds nothing.
#[test]
fn a_key_split_by_two_partitioners_is_named_once_with_both_senders() {
    let v = run(&case("key-split"));
    // murmur2 % 3 puts k-1..k-6 on 2,2,1,2,1,1; crc32 % 3 on 1,0,0,1,2,1: all but k-6 split.
    assert_eq!(v.totals.get(Counter::KeySplits), 5);
    let why = causes(&v, AnomalyKind::KeySplit);
    assert_eq!(why.len(), 5, "{why:#?}");
    assert!(
        why[0].contains("key k-1 is in p2 and p1 of topic t: java (partitioner: java) put it in p2, go (partitioner: librdkafka-consistent-random) in p1"),
        "{}",
        why[0]
    );
    assert!(why.iter().all(|w| !w.contains("k-6")), "{why:#?}");
    assert!(why.iter().all(|w| !w.contains("java-2")), "{why:#?}");
}

/// A refused connection fails fast: the producer retries after its backoff instead of
/// waiting out request.timeout.ms (1000 ms here), nothing is dropped on the way, and every
/// record lands once the refusal ends at t=320ms.
#[test]
fn a_refused_connection_fails_fast_and_nothing_waits_for_a_timeout() {
    use kafkasim::trace::{Kind, Recorder, SendError};
    let sc = scenario::parse(&case("refused-connection")).expect("loads");
    let mut rec = Recorder::default();
    let (_, v) = kafkasim::simulate_with(&sc, sc.seed, &mut rec);
    assert_eq!(v.totals.get(Counter::Appended), 10);
    assert_eq!(v.totals.get(Counter::SendFailed), 0);
    let refused = rec
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                Kind::Retry {
                    error: SendError::ConnectionRefused,
                    ..
                }
            )
        })
        .count();
    assert!(refused >= 2, "e-4 was refused twice: {refused}");
    assert!(!rec
        .events
        .iter()
        .any(|e| matches!(e.kind, Kind::RequestDropped { .. })));
    let last_append = rec
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Append { .. }))
        .map(|e| e.at.ms())
        .nth(7)
        .expect("eight appends");
    assert!(
        last_append < 400,
        "e-4..e-8 land right after the refusal: t={last_append}"
    );
}

/// An acknowledgement that arrives after the new leader truncated its record is a loss
/// too, named with the answer's origin and the election. e-2, acknowledged before the
/// election, is the ordinary acks=1 loss: the follower's next fetch had not reached the
/// leader (30 ms links) when it crashed.
#[test]
fn an_acknowledgement_that_arrives_after_the_truncation_is_acked_lost() {
    let v = run(&case("ack-after-truncation"));
    assert_eq!(v.totals.get(Counter::AckedLost), 2);
    let why = causes(&v, AnomalyKind::AckedLost);
    assert!(
        why[0].contains("e-2 was acknowledged to shop at t=80ms (acks=1) after broker-1 appended it, and lost at t=92ms when broker-2 became leader of p0 without it"),
        "{}",
        why[0]
    );
    assert!(
        why[1].contains("e-3 was acknowledged to shop at t=100ms by an answer broker-1 had sent before it went down, but broker-2 had already become leader of p0 at t=92ms without it"),
        "{}",
        why[1]
    );
}

/// A republish is explained by what left the row PENDING first: a mark that failed before
/// the relay crashed is the cause, not the crash.
#[test]
fn a_failed_mark_before_a_crash_is_the_cause_of_the_republish() {
    let v = run(&case("mark-fail-then-crash"));
    let why = causes(&v, AnomalyKind::PublishedDuplicate);
    assert!(!why.is_empty());
    assert!(
        why[0].contains("its mark failed and rolled back at t=61ms, so the row stayed PENDING"),
        "{}",
        why[0]
    );
    assert!(!why[0].contains("crashed"), "{}", why[0]);
}

/// A `messages:` delay slows one kind of message for its window only, and loses nothing.
#[test]
fn delayed_fetch_answers_arrive_late_while_the_window_is_open() {
    use kafkasim::trace::{Kind, Recorder};
    let sc = scenario::parse(&case("delayed-fetch-answers")).expect("loads");
    let mut rec = Recorder::default();
    let (_, v) = kafkasim::simulate_with(&sc, sc.seed, &mut rec);
    assert_eq!(v.totals.get(Counter::Processed), 20);
    let appended: Vec<u64> = rec
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Append { .. }))
        .map(|e| e.at.ms())
        .collect();
    let delivered: Vec<u64> = rec
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Deliver { .. }))
        .map(|e| e.at.ms())
        .collect();
    // The first record (appended at t=51) reaches the consumer no sooner than 500 ms later.
    assert!(delivered[0] >= appended[0] + 500, "{delivered:?}");
    // Records appended well after the window arrive within a few ms.
    let last = appended.len() - 1;
    assert!(
        delivered[last] - appended[last] < 10,
        "{} {}",
        appended[last],
        delivered[last]
    );
}

/// replica.lag.time.max.ms: a follower cut off from its leader is dropped from the ISR by
/// the leader after the lag time, before the controller would fence it, and the acks=all
/// writes waiting on it complete with the two replicas left. The leader checks every half
/// of the lag time (250 ms): last caught up just before the cut at 150, it is out of sync
/// from 650, and the first check after that is at 750. Back after the heal at 2150 once
/// its fetches reach the high watermark again.
#[test]
fn a_lagging_follower_leaves_the_isr_after_replica_lag_time_max_ms() {
    use kafkasim::trace::{Kind, Recorder};
    let sc = scenario::parse(&case("follower-lag")).expect("loads");
    let mut rec = Recorder::default();
    let (_, v) = kafkasim::simulate_with(&sc, sc.seed, &mut rec);
    assert_eq!(v.totals.get(Counter::Acked), 10);
    assert_eq!(v.totals.get(Counter::AckedLost), 0);
    let left: Vec<u64> = rec
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::IsrChange { joined: false, .. }))
        .map(|e| e.at.ms())
        .collect();
    assert_eq!(left, vec![750], "cut at 150, lag 500, checked every 250 ms");
    let joined: Vec<u64> = rec
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::IsrChange { joined: true, .. }))
        .map(|e| e.at.ms())
        .collect();
    assert_eq!(joined.len(), 1);
    assert!((2150..2200).contains(&joined[0]), "{joined:?}");
    assert!(!rec
        .events
        .iter()
        .any(|e| matches!(e.kind, Kind::BrokerFenced { .. })));
}

/// An acks=0 record still on its way when the run ends is counted and named, not silent.
#[test]
fn an_acks0_request_on_the_wire_at_the_end_is_in_flight_at_end() {
    let v = run(&case("acks0-on-the-wire-at-end"));
    assert_eq!(v.totals.get(Counter::InFlightAtEnd), 1);
    assert_eq!(v.totals.get(Counter::UnackedLost), 0);
    let why = causes(&v, AnomalyKind::InFlightAtEnd);
    assert_eq!(why.len(), 1);
    assert!(
        why[0].contains("e-1 from p was sent with acks=0 (counted as sent) and its request was still on its way to the brokers when the run ended at t=50ms"),
        "{}",
        why[0]
    );
}

/// A give-up whose own attempt lands afterwards (the request was still on its way) says
/// so: no "later send" that never happened.
#[test]
fn a_give_up_whose_own_attempt_lands_later_says_so() {
    let v = run(&case("late-own-attempt"));
    let why = causes(&v, AnomalyKind::SendFailed);
    assert_eq!(why.len(), 1, "{why:#?}");
    assert!(
        why[0].contains("an attempt of its own, still on its way when it gave up, reached the log at t=150ms, at p0@0"),
        "{}",
        why[0]
    );
    assert!(!why[0].contains("later send"), "{}", why[0]);
}

/// A request timeout closes the connection and fails every request on it: without
/// idempotence, a record whose own request was answered in time is appended again, and
/// its cause says so rather than "its answer had not come back in time".
#[test]
fn a_copy_from_a_closed_connection_is_named_as_such() {
    let v = run(&case("connection-closed-copy"));
    assert_eq!(
        v.totals.get(Counter::Appended),
        4,
        "e-1 and e-2, twice each"
    );
    let why = causes(&v, AnomalyKind::DuplicateEffect);
    assert_eq!(why.len(), 2, "{why:#?}");
    let e2 = why.iter().find(|w| w.contains("eventId e-2")).expect("e-2");
    assert!(
        e2.contains(
            "another request on the same connection timed out: the client closed the connection"
        ),
        "{e2}"
    );
    assert!(!e2.contains("had not come back in time"), "{e2}");
    let e1 = why.iter().find(|w| w.contains("eventId e-1")).expect("e-1");
    assert!(
        e1.contains("whose answer had not come back in time"),
        "{e1}"
    );
}

/// The same faults with the default idempotent producer: both retries are recognised by
/// the broker's five-batch window, and nothing is appended twice.
#[test]
fn an_idempotent_producer_absorbs_the_closed_connection_retries() {
    let text = std::fs::read_to_string("tests/verdicts/connection-closed-copy.yaml")
        .expect("readable")
        .replace("enable.idempotence: false, ", "");
    let sc = scenario::parse(&text).expect("loads");
    let (_, v) = simulate(&sc, sc.seed);
    assert_eq!(v.totals.get(Counter::Appended), 2);
    assert_eq!(v.totals.get(Counter::DuplicateEffects), 0);
    assert_eq!(v.totals.get(Counter::Acked), 2);
}

/// `NAME crashed at t=Tms` and `NAME gave up on e-N at t=Tms` in a cause must match a
/// record of the trace: the cause and the timeline never disagree.
#[test]
fn every_crash_and_give_up_a_cause_names_is_in_the_trace() {
    let mut checked = 0;
    for (path, run, v, events) in recorded_runs() {
        let t = &run.tables;
        // A record of that kind at that time, by an actor the sentence names.
        let happened = |cause: &str, at: u64, crash: bool| {
            events.iter().any(|e| {
                let actor = match e.kind {
                    kafkasim::trace::Kind::Crash { actor, .. } if crash => actor,
                    kafkasim::trace::Kind::SendFailed { actor, .. } if !crash => actor,
                    _ => return false,
                };
                e.at.ms() == at && cause.contains(t.actor_name(actor))
            })
        };
        for a in &v.anomalies {
            for (marker, crash) in [(" crashed at t=", true), (" gave up on ", false)] {
                for (i, _) in a.cause.match_indices(marker) {
                    let after = &a.cause[i + marker.len()..];
                    let after = if crash {
                        after
                    } else {
                        &after[after.find(" at t=").map_or(0, |j| j + 6)..]
                    };
                    let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
                    let at: u64 = digits.parse().expect("a time follows");
                    assert!(
                        happened(&a.cause, at, crash),
                        "{}: the cause cites{marker}…{at}ms but the trace has no such record by an actor it names: {}",
                        path.display(),
                        a.cause
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 10,
        "the causes named crashes and give-ups ({checked} checked)"
    );
}

#[test]
fn key_order_is_judged_per_producer_and_topic_only() {
    let v = run(r#"
name: two-producers
title: two producers send the same keys to two topics
cluster: { network: { latency_ms: { min: 1, max: 9 } }, config: { group.initial.rebalance.delay.ms: 0 } }
topics: [ { name: a, partitions: 3 }, { name: b, partitions: 3 } ]
producers:
  - { name: pa, topic: a, send: { count: 30, every_ms: 3, keys: { pattern: "order-{n}", distinct: 5 } } }
  - { name: pb, topic: b, send: { count: 30, every_ms: 3, start_ms: 1, keys: { pattern: "order-{n}", distinct: 5 } } }
consumer_groups:
  - { name: g, topics: [a, b], members: 2, config: { auto.offset.reset: earliest } }
run: { until_ms: 5000 }
"#);
    assert_eq!(v.totals.get(Counter::Processed), 60);
    assert_eq!(
        v.totals.get(Counter::KeyOrderViolations),
        0,
        "one key across two producers and two topics has no order to keep: {:?}",
        causes(&v, AnomalyKind::KeyOrderViolation)
    );
}

#[test]
fn commands_that_reach_a_crashed_service_are_counted_and_traced() {
    let text = r#"
name: refused
title: commands reach a crashed service
cluster: { network: { latency_ms: 1 } }
topics: [ { name: orders, partitions: 1 } ]
services:
  - { name: svc, topic: orders, commands: { count: 10, every_ms: 10, keys: { pattern: "o-{n}" } }, publish: dual-write }
faults:
  - { at_ms: 25, crash: svc }
  - { at_ms: 65, restart: svc }
run: { until_ms: 1000 }
"#;
    let sc = scenario::parse(text).unwrap();
    let mut all = kafkasim::trace::Recorder::default();
    let (_, v) = kafkasim::simulate_with(&sc, sc.seed, &mut all);
    // Commands at 30, 40, 50 and 60 ms find the service down.
    assert_eq!(v.totals.get(Counter::CommandsRefused), 4);
    assert_eq!(v.totals.get(Counter::OrdersCommitted), 6);
    let refused: Vec<(u64, u64)> = all
        .events
        .iter()
        .filter_map(|e| match e.kind {
            kafkasim::trace::Kind::CommandRefused { command, .. } => Some((e.at.ms(), command)),
            _ => None,
        })
        .collect();
    assert_eq!(refused, vec![(30, 3), (40, 4), (50, 5), (60, 6)]);
}

/// The lessons that name the record a crash strikes say it right: counted in the trace,
/// the member had handled (effect or skip) exactly N-1 records before its crash.
#[test]
fn lesson_texts_name_the_record_a_crash_strikes_truly() {
    for (lesson, member, nth) in [
        ("commit-before-processing", "fraud-check-1", 6),
        ("effect-and-mark-not-atomic", "billing-1", 3),
        ("effect-and-mark-not-atomic", "ledger-1", 3),
    ] {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{lesson}.yaml")),
        )
        .unwrap();
        let ordinal = match nth {
            3 => "third in all",
            6 => "sixth record in all",
            _ => unreachable!(),
        };
        assert!(text.contains(ordinal), "{lesson} says \"{ordinal}\"");
        let sc = scenario::parse(&text).unwrap();
        let mut all = kafkasim::trace::Recorder::default();
        let (run, _) = kafkasim::simulate_with(&sc, sc.seed, &mut all);
        let name = |a| run.tables.actor_name(a).to_string();
        let mut started = 0;
        for e in &all.events {
            match e.kind {
                kafkasim::trace::Kind::Effect { actor, .. }
                | kafkasim::trace::Kind::Absorbed { actor, .. }
                    if name(actor) == member =>
                {
                    started += 1
                }
                kafkasim::trace::Kind::Crash { actor, point, .. } if name(actor) == member => {
                    // A crash after the effect strikes the record it just handled.
                    let during = matches!(
                        point,
                        Some(kafkasim::scenario::CrashPoint::BeforeProcess) | None
                    );
                    let nth_struck = if during { started + 1 } else { started };
                    assert_eq!(
                        nth_struck, nth,
                        "{lesson}: {member} crashed on record {nth_struck}"
                    );
                    break;
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_crash_in_the_middle_of_a_record_says_how_far_into_it() {
    let v = run(&case("crash-mid-record"));
    let why = causes(&v, AnomalyKind::DuplicateDelivery);
    assert_eq!(why.len(), 1);
    assert!(
        why[0].contains(
            "workers-1 crashed at t=12010ms, while processing it (12004 ms into it, since t=6ms)"
        ),
        "{}",
        why[0]
    );
    assert!(!why[0].contains("before processing it"), "{}", why[0]);
}

#[test]
fn two_relays_racing_on_one_outbox_are_named_not_a_retry() {
    let v = run(&case("two-relays-race"));
    let why = causes(&v, AnomalyKind::KeyOrderViolation);
    assert!(!why.is_empty(), "the race reorders a key");
    for w in &why {
        assert!(w.contains("two relays published them side by side"), "{w}");
        assert!(
            w.contains("svc-relay-1") && w.contains("svc-relay-2"),
            "{w}"
        );
        assert!(!w.contains("retr"), "no retry happened: {w}");
    }
}

#[test]
fn a_loss_names_the_commit_that_ran_past_it_and_the_crash_after() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/commit-before-processing.yaml"),
    )
    .unwrap();
    let v = run(&text);
    let why = causes(&v, AnomalyKind::Lost);
    assert_eq!(why.len(), 3);
    for w in &why {
        assert!(
            w.contains("fraud-check-1 committed offset 8 at t=20ms, past it, before processing it; fraud-check-1 then crashed at t=27ms at before-process"),
            "{w}"
        );
    }
}

#[test]
fn an_order_no_subscribed_group_applied_names_that_group() {
    let v = run(r#"
name: not-applied
title: a group that never gets a member
cluster: { network: { latency_ms: 1 } }
topics: [ { name: orders, partitions: 1 } ]
services:
  - { name: svc, topic: orders, commands: { count: 3, every_ms: 10, keys: { pattern: "o-{n}" } }, publish: dual-write }
consumer_groups:
  - { name: billing, topics: [orders], members: 0, config: { auto.offset.reset: earliest } }
run: { until_ms: 1000 }
"#);
    assert_eq!(v.totals.get(Counter::OrdersNotApplied), 3);
    let why = causes(&v, AnomalyKind::NotApplied);
    assert_eq!(why.len(), 3);
    assert_eq!(
        why[0],
        "order o-1 (e-1) was published but its effect was never applied by billing"
    );
    // Lag, not loss: nothing moved past those records.
    assert_eq!(v.groups[0].counts.get(Counter::UnprocessedAtEnd), 3);
    assert_eq!(v.groups[0].counts.get(Counter::Lost), 0);
}

/// A duplicate effect has two causes: why the record came back (the first applier's crash
/// before its commit) and why the second applier did not recognise it (the TTL ran out).
#[test]
fn a_duplicate_effect_names_why_it_came_back_and_why_it_was_not_recognised() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ttl-too-short.yaml"),
    )
    .expect("lesson");
    let v = run(&text);
    let why = causes(&v, AnomalyKind::DuplicateEffect);
    assert_eq!(why.len(), 1, "{why:?}");
    // Applied first at t=111ms, marked then; a 2000 ms TTL expires the mark at t=2111ms.
    for part in [
        "first by payment-service-1 at t=111ms",
        "after payment-service-1 crashed at t=111ms (at after-process-before-commit), before committing past it",
        "its processed-id had expired at t=2111ms (2000 ms TTL)",
    ] {
        assert!(why[0].contains(part), "missing {part:?} in {}", why[0]);
    }
}

/// Sends still retrying when the run stops are counted, not silently dropped: every
/// record a plain producer sent that is not in the log is a give-up, an acks=0 drop, or
/// in flight at the end.
#[test]
fn sends_the_run_stopped_in_the_middle_of_are_in_flight_at_end() {
    let v = run(&case("in-flight-at-end"));
    let t = |c| v.totals.get(c);
    assert_eq!(t(Counter::Produced), 20);
    assert_eq!(t(Counter::SendFailed), 0);
    // Producer a: e-11, 13, …, 19 are stuck in the outage; z (acks=0): 5 dropped.
    assert_eq!(t(Counter::InFlightAtEnd), 5);
    assert_eq!(t(Counter::UnackedLost), 5);
    let ids: Vec<String> = v
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::InFlightAtEnd)
        .map(|a| {
            let id = a.cause.split(' ').next().unwrap().to_string();
            // e-11's request timed out and closed the connection, failing e-13's and
            // e-15's with it: all three were retried. e-17 and e-19 came later and wait
            // behind e-11's retry at the front of p0's queue, never sent.
            let state = if ["e-11", "e-13", "e-15"].contains(&id.as_str()) {
                "from a was still being retried, after failed attempts,"
            } else {
                "from a was still in its producer client (waiting to be sent, or for an answer)"
            };
            assert!(a.cause.contains(state), "{}", a.cause);
            id
        })
        .collect();
    assert_eq!(ids, ["e-11", "e-13", "e-15", "e-17", "e-19"]);
}

/// A dual write's missing event is explained by what happened to its send, and a service
/// that never crashed is never said to have lost it with its process.
#[test]
fn an_unpublished_order_names_what_happened_to_its_send() {
    let v = run(&case("dual-write-unpublished"));
    let why = causes(&v, AnomalyKind::CommittedWithoutEvent);
    assert_eq!(why.len(), 4, "{why:#?}");
    for w in &why {
        assert!(!w.contains("crashed") && !w.contains("process"), "{w}");
    }
    assert!(
        why[0].contains("(e-3) committed by s0")
            && why[0].contains("its request was dropped at t=23ms, and acks=0 never resends")
    );
    assert!(
        why[1].contains("(e-4) committed by s1")
            && why[1].contains(
                "its send was still being retried, after failed attempts, when the run ended"
            )
    );

    let v = run(&case("dual-write-crashes"));
    let why = causes(&v, AnomalyKind::CommittedWithoutEvent);
    // sa's armed crash fired at t=68ms; its later plain crashes must not hide it.
    assert!(
        why.iter()
            .any(|w| w.contains("(e-8) committed by sa at t=68ms")
                && w.contains("sa crashed at t=68ms right after the database commit")),
        "{why:#?}"
    );
    assert!(
        why.iter().any(|w| w.contains("(e-12) committed by sa")
            && w.contains("sa crashed at t=170ms while its send was awaiting an answer")),
        "{why:#?}"
    );
}

/// A redelivery names the crash that ended the incarnation that had the record, not the
/// member's latest crash.
#[test]
fn a_redelivery_names_the_crash_of_the_incarnation_that_had_it() {
    let v = run(&case("earlier-incarnation"));
    for kind in [AnomalyKind::DuplicateDelivery, AnomalyKind::DuplicateEffect] {
        let why = causes(&v, kind);
        assert_eq!(why.len(), 2, "{why:#?}");
        for w in why {
            assert!(w.contains("g-1 crashed at t=35ms"), "{w}");
            assert!(!w.contains("t=1500ms"), "{w}");
        }
    }
}

/// The producer side adds up too: every event sent that never reached the log is named by
/// an anomaly that says how (a give-up, an acks=0 drop, in flight at the end, or an order
/// whose event a service never published). Checked against the trace's own records.
#[test]
fn every_event_that_never_reached_the_log_is_named() {
    let mut missing_seen = 0;
    for (path, _, v, events) in recorded_runs() {
        for (event, named) in common::missing_events(&events, &v) {
            missing_seen += 1;
            assert!(
                named,
                "{}: e-{} was sent, never reached the log, and no anomaly names it",
                path.display(),
                event.0 + 1
            );
        }
    }
    assert!(missing_seen >= 10, "the cases exercise it: {missing_seen}");
}

/// A key-order violation is judged at the copy that was processed: a retry copy that
/// landed after the later record is named as such, never as a redelivery.
#[test]
fn a_key_order_violation_names_the_copy_it_processed() {
    let v = run(&case("key-order-retry-copy"));
    let why = causes(&v, AnomalyKind::KeyOrderViolation);
    assert_eq!(why.len(), 1, "{why:#?}");
    assert!(
        why[0].contains(
            // The timeout closed the connection, so e-2's request failed too and both were
            // retried; without idempotence Kafka re-enqueues each at the front of the
            // queue (addFirst), so e-2's copy (p0@2) goes before e-1's (p0@3).
            "(p0@3 after p0@1): its send was retried, and the retry landed after the later record"
        ),
        "{}",
        why[0]
    );
    assert!(!why[0].contains("redelivered"), "{}", why[0]);
}

/// Under `apply-anyway`, a redelivery applied while the store was down at the check is
/// explained by the failed check, not by a mark that was "not seen".
#[test]
fn an_unchecked_application_under_apply_anyway_says_so() {
    let v = run(&case("apply-anyway-unchecked"));
    let why = causes(&v, AnomalyKind::DuplicateEffect);
    assert_eq!(why.len(), 1, "{why:#?}");
    assert!(
        why[0].contains("the processed-id store was unreachable when gx-2 checked it at t=9012ms, and on_store_unavailable=apply-anyway applied it without the check"),
        "{}",
        why[0]
    );
    assert!(!why[0].contains("not seen"), "{}", why[0]);
}

/// A relay that gave up on a send that had reached the log, and so unlocked its row for
/// another relay, is named as such, not as two relays racing.
#[test]
fn a_relay_give_up_that_let_another_relay_republish_is_not_a_race() {
    let v = run(&case("relay-gives-up-after-landing"));
    let why = causes(&v, AnomalyKind::PublishedDuplicate);
    let e2 = why
        .iter()
        .find(|w| w.starts_with("e-2 "))
        .expect("e-2 is published twice");
    assert!(
        e2.contains("svc-relay-2 gave up on its send at t=75ms although an attempt had reached the log, unlocked the row, and svc-relay-1 published it again at t=96ms"),
        "{e2}"
    );
    assert!(!e2.contains("two relays published"), "{e2}");
    // An event in the log many times names every republish, in order.
    let e1 = why
        .iter()
        .find(|w| w.starts_with("e-1 "))
        .expect("e-1 is published again");
    assert!(e1.contains("is in the log 7 times"), "{e1}");
    assert_eq!(e1.matches("published it again").count(), 6, "{e1}");
    assert!(
        e1.contains("crashed at t=35ms at once")
            && e1.contains("; then svc-relay-2 gave up on its send at t=75ms"),
        "{e1}"
    );

    // Each copy of e-1 a consumer applied is explained by the publish that made it.
    let effects = causes(&v, AnomalyKind::DuplicateEffect);
    let copy = |at: &str| {
        effects
            .iter()
            .find(|w| {
                w.starts_with("eventId e-1 ")
                    && w.contains(&format!("({at}): {at} is another copy"))
            })
            .unwrap_or_else(|| panic!("no duplicate effect of e-1 at {at}: {effects:#?}"))
    };
    assert!(
        copy("p0@1")
            .contains("svc-relay-1 published its row at t=30ms and crashed at t=35ms at once"),
        "{}",
        copy("p0@1")
    );
    assert!(
        copy("p0@3").contains("svc-relay-2 gave up on its send at t=75ms although an attempt had reached the log, unlocked the row, and svc-relay-1 published it again at t=96ms"),
        "{}",
        copy("p0@3")
    );
}

/// A give-up tells its own copy from another sender's: a relay whose attempt landed but
/// whose answer came after request.timeout.ms says so.
#[test]
fn a_give_up_says_whose_copy_was_in_the_log() {
    let v = run(&case("relay-gives-up-after-landing"));
    let why = causes(&v, AnomalyKind::SendFailed);
    let e1 = why
        .iter()
        .find(|w| w.starts_with("svc-relay-2 gave up on e-1 at t=75ms"))
        .unwrap_or_else(|| panic!("{why:#?}"));
    assert!(
        e1.ends_with("an attempt of its own had already reached the log when it gave up: its answer was late or lost"),
        "{e1}"
    );
}

#[test]
fn a_relay_that_marks_without_waiting_is_named_as_the_cause_of_each_event_it_lost() {
    let v = run(&case("relay-marks-without-waiting"));
    assert_eq!(v.totals.get(Counter::CommittedWithoutEvent), 8);
    assert_eq!(v.totals.get(Counter::SendFailed), 8);
    let why = causes(&v, AnomalyKind::CommittedWithoutEvent);
    assert_eq!(why.len(), 8);
    assert!(
        why[0].starts_with(
            "order o-3 (e-3) committed by svc at t=201ms but its event never reached the log: svc-relay-1 marked its outbox row PUBLISHED at t=303ms without waiting for the delivery report (relay.mark: without-waiting), so no relay would publish it again, and then svc-relay-1 gave up on its send at t=802ms: delivery.timeout.ms (500 ms) had passed"
        ),
        "{}",
        why[0]
    );
    for w in &why {
        assert!(w.contains("without waiting for the delivery report"), "{w}");
        assert!(
            !w.contains("PENDING"),
            "the row was marked, not pending: {w}"
        );
        assert!(
            !w.contains("acks="),
            "acks=all waited; the relay did not: {w}"
        );
    }
}

#[test]
fn the_same_outage_with_a_relay_that_waits_loses_nothing() {
    let text =
        case("relay-marks-without-waiting").replace("mark: without-waiting", "mark: after-ack");
    let v = run(&text);
    assert_eq!(v.totals.get(Counter::CommittedWithoutEvent), 0);
    assert_eq!(v.totals.get(Counter::OrdersCommitted), 10);
    assert!(v.totals.get(Counter::SendFailed) > 0, "sends still fail");
}

#[test]
fn a_failing_mark_is_named_as_the_cause_of_every_republish() {
    let v = run(&case("relay-mark-fails"));
    assert_eq!(v.totals.get(Counter::PublishedDuplicates), 8);
    assert_eq!(v.totals.get(Counter::CommittedWithoutEvent), 0);
    let why = causes(&v, AnomalyKind::PublishedDuplicate);
    assert_eq!(why.len(), 4);
    assert_eq!(
        why[0],
        "e-1 (o-1) is in the log 3 times (first at p0@0): svc-relay-1 published its row at t=100ms and its mark failed and rolled back at t=103ms, so the row stayed PENDING and svc-relay-1 published it again on its next poll at t=203ms; then svc-relay-1 published its row at t=203ms and its mark failed and rolled back at t=206ms, so the row stayed PENDING and svc-relay-1 published it again on its next poll at t=306ms"
    );
    for w in &why {
        assert!(!w.contains("crashed"), "the relay never crashed: {w}");
    }
    let effects = causes(&v, AnomalyKind::DuplicateEffect);
    assert!(effects
        .iter()
        .all(|w| w.contains("its mark failed and rolled back")));
}

fn lesson_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn anomalies_of(v: &Verdict, kind: AnomalyKind) -> Vec<&kafkasim::check::Anomaly> {
    v.anomalies.iter().filter(|a| a.kind == kind).collect()
}

#[test]
fn each_extra_copy_of_an_event_in_the_log_is_a_log_duplicate_whose_cause_names_the_retry() {
    let v = run(&lesson_text("producer-retries"));
    // e-14's answer is lost in the isolation; e-15 and e-18 were appended, but their
    // answers wait behind e-14's on the connection, so the timeout at t=139ms retries all
    // five in flight and the three already in the log are appended again.
    assert_eq!(v.totals.get(Counter::LogDuplicates), 3);
    let dups = anomalies_of(&v, AnomalyKind::LogDuplicate);
    assert_eq!(dups.len(), 3);
    assert_eq!(dups[0].scope, "order-service");
    assert_eq!(dups[0].at.ms(), 244);
    assert_eq!(dups[0].offset.map(|o| o.value()), Some(16));
    assert_eq!(
        dups[0].cause,
        "e-18 (order-2) was appended again at p0@16 by order-service, copy 2 of it in the log (the first is at p0@15): its producer retried a send still unanswered when another request on the same connection timed out: the client closed the connection, so no answer to it was read, and without enable.idempotence the broker appended the retry again"
    );
    assert!(dups[2]
        .cause
        .contains("e-14 (order-2) was appended again at p0@20"));
    assert!(dups[2]
        .cause
        .contains("whose answer had not come back in time"));
}

#[test]
fn a_row_republished_every_cycle_counts_every_extra_copy_as_a_log_duplicate() {
    let v = run(&case("relay-mark-fails"));
    // Four rows, each in the log three times: two extra copies each.
    assert_eq!(v.totals.get(Counter::LogDuplicates), 8);
    assert_eq!(
        v.totals.get(Counter::LogDuplicates),
        v.totals.get(Counter::PublishedDuplicates)
    );
    let dups = anomalies_of(&v, AnomalyKind::LogDuplicate);
    assert!(dups[0].cause.starts_with(
        "e-1 (o-1) was appended again at p0@4 by svc-relay-1, copy 2 of it in the log (the first is at p0@0): svc-relay-1 published its row at t=100ms and its mark failed and rolled back at t=103ms"
    ), "{}", dups[0].cause);
    let third = dups
        .iter()
        .find(|a| a.offset.map(|o| o.value()) == Some(8))
        .expect("copy 3 of e-1");
    assert!(third.cause.contains("copy 3 of it"), "{}", third.cause);
    assert!(
        third
            .cause
            .contains("at t=203ms and its mark failed and rolled back at t=206ms"),
        "{}",
        third.cause
    );
}

#[test]
fn a_retry_that_lands_after_a_later_send_of_its_key_is_a_log_reorder_naming_both_events() {
    let v = run(&lesson_text("producer-retries"));
    // e-16's request was dropped; e-18, sent later with the same key, got through; the
    // retries go back to the front of the queue (addFirst), so e-16 lands after e-18.
    assert_eq!(v.totals.get(Counter::LogReorders), 1);
    let reorders = anomalies_of(&v, AnomalyKind::LogReorder);
    assert_eq!(
        reorders[0].cause,
        "e-16 (order-2), sent by order-service before e-18, was appended at p0@18 after e-18 at p0@15: the attempt that sent e-16 first was failed when another request on its connection timed out and the client closed the connection, and its retry landed after e-18, which was sent later and got through first"
    );
    assert_eq!(reorders[0].offset.map(|o| o.value()), Some(18));
}

#[test]
fn an_idempotent_producer_leaves_no_copies_and_no_reorders_in_the_log() {
    let text = lesson_text("producer-retries").replace("enable.idempotence: false, ", "");
    let v = run(&text);
    assert_eq!(v.totals.get(Counter::LogDuplicates), 0);
    assert_eq!(v.totals.get(Counter::LogReorders), 0);
    assert_eq!(v.totals.get(Counter::Appended), 30);
}

#[test]
fn two_relays_publishing_one_key_reorder_the_log_and_the_cause_says_two_clients() {
    let v = run(&case("two-relays-race"));
    assert_eq!(v.totals.get(Counter::LogReorders), 2);
    let reorders = anomalies_of(&v, AnomalyKind::LogReorder);
    assert_eq!(
        reorders[0].cause,
        "e-20 (customer-2), committed by svc before e-22, was appended at p0@21 after e-22 at p0@19: svc-relay-1 put e-20 in the log and svc-relay-2 put e-22 there: two clients, whose requests Kafka does not order"
    );
    assert_eq!(reorders[0].scope, "svc");
}

#[test]
fn a_late_second_copy_is_a_log_duplicate_not_a_log_reorder() {
    let v = run(&case("key-order-retry-copy"));
    assert_eq!(v.totals.get(Counter::LogDuplicates), 2);
    assert_eq!(v.totals.get(Counter::LogReorders), 0);
    assert!(
        v.totals.get(Counter::KeyOrderViolations) > 0,
        "the consumer still sees it"
    );
}

/// A controlled shutdown moves leadership first: the acks=all writes the old leader held
/// are answered NotLeaderOrFollower and retried after retry.backoff.ms, so all ten are
/// acknowledged within a few round trips instead of after request.timeout.ms (30 s).
#[test]
fn a_controlled_shutdown_answers_the_writes_it_held() {
    use kafkasim::trace::{Kind, Recorder};
    let sc = scenario::parse(&case("controlled-shutdown-answers-held-writes")).expect("loads");
    let mut rec = Recorder::default();
    let (_, v) = kafkasim::simulate_with(&sc, sc.seed, &mut rec);
    assert_eq!(v.totals.get(Counter::Acked), 10);
    let last_ack = rec
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Ack { .. }))
        .map(|e| e.at.ms())
        .max()
        .expect("acks");
    assert!(last_ack < 1_000, "last ack at t={last_ack}");
}

/// A loss's cause names what ended the appender's leadership first: here the crash
/// (t=31), not the cut that began later (t=100) while it was down.
#[test]
fn a_cut_after_the_crash_is_not_the_cause_of_the_loss() {
    let v = run(&case("crash-then-cut"));
    assert_eq!(v.totals.get(Counter::AckedLost), 1);
    let why = causes(&v, AnomalyKind::AckedLost);
    assert!(
        why[0].contains("its followers had not copied it before its leader went down"),
        "{}",
        why[0]
    );
    assert!(!why[0].contains("cut off"), "{}", why[0]);
}

#[test]
fn records_retention_bytes_deletes_under_a_slow_consumer_are_skipped_by_retention() {
    // 40 records at t=0 in segments of 5; retention.bytes keeps at least 10 records, so the
    // check at t=1000 deletes offsets 0..30. The consumer, 400 ms a record and one record
    // a poll, has handled offsets 0..3 by then: its next fetch, at 3, is below the log
    // start; it resets to 30 (earliest) and handles 30..40.
    let v = run(r#"
name: bytes
title: t
cluster: { brokers: 1, network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0, log.retention.check.interval.ms: 1000 } }
topics:
  - { name: t, config: { retention.bytes: 1600, segment.bytes: 800 } }
producers:
  - { name: p, topic: t, send: { count: 40, every_ms: 0 } }
consumer_groups:
  - name: g
    topics: [t]
    config: { auto.offset.reset: earliest, max.poll.records: 1 }
    processing: { time_ms: 400 }
run: { until_ms: 6000 }
"#);
    assert_records_add_up("bytes", &v);
    let g = &v.groups[0];
    assert_eq!(g.counts.get(Counter::SkippedByRetention), 27);
    assert_eq!(g.counts.get(Counter::RecordsProcessed), 13);
    assert_eq!(g.counts.get(Counter::Lost), 0);
    let why = causes(&v, AnomalyKind::SkippedByRetention);
    assert_eq!(
        why[0],
        "e-4 (p0@3) was deleted by retention.bytes (1600) at t=1000ms, with the segments below offset 30, before g processed it; g-1 was at offset 3, below the log start, got OFFSET_OUT_OF_RANGE and reset to 30 (auto.offset.reset=earliest) at t=1214ms"
    );
}

/// A member kicked out by `max.poll.interval.ms` is named as the reason its records came
/// back, at the exact moment: its poll plus the interval.
#[test]
fn a_poll_timeout_is_counted_and_named_as_the_cause_of_the_redelivery() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/max-poll-interval-exceeded.yaml"),
    )
    .expect("lesson");
    let v = run(&text);
    assert_eq!(v.totals.get(Counter::PollTimeouts), 7);
    assert_eq!(v.totals.get(Counter::Lost), 0);
    let why = causes(&v, AnomalyKind::DuplicateDelivery);
    assert!(
        why[0].contains(
            "report-builder-1 left the group at t=10107ms because handling the records of its poll at t=107ms took longer than max.poll.interval.ms (10000 ms), after processing it, and could not commit past it (CommitFailedException)"
        ),
        "{}",
        why[0]
    );
}

/// add_partitions: the topic grows at the fault; the producer learns at its first metadata
/// refresh at or after it (3000, a multiple of its 3000 ms metadata.max.age.ms) and its
/// keys move; the groups learn at theirs (5000) and rebalance; the key split's cause names
/// the refresh, not a second partitioner.
#[test]
fn added_partitions_are_learned_at_metadata_refreshes_and_move_keys() {
    use kafkasim::trace::{Kind, RebalanceReason, Recorder};
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/adding-partitions-moves-keys.yaml"),
    )
    .expect("lesson");
    let sc = scenario::parse(&text).expect("loads");
    let mut rec = Recorder::default();
    let (_, v) = kafkasim::simulate_with(&sc, sc.seed, &mut rec);
    let at = |f: &dyn Fn(&Kind) -> bool| -> Vec<u64> {
        rec.events
            .iter()
            .filter(|e| f(&e.kind))
            .map(|e| e.at.ms())
            .collect()
    };
    assert_eq!(
        at(&|k| matches!(k, Kind::PartitionsAdded { partitions: 4, .. })),
        vec![2000]
    );
    assert_eq!(
        at(&|k| matches!(k, Kind::MetadataRefresh { partitions: 4, .. })),
        vec![3000]
    );
    assert_eq!(
        at(&|k| matches!(
            k,
            Kind::RebalanceStart {
                reason: RebalanceReason::PartitionsAdded,
                ..
            }
        )),
        vec![5000, 5000]
    );
    // No record was placed on p2 or p3 before the producer's refresh.
    let first_new = rec
        .events
        .iter()
        .filter_map(|e| match e.kind {
            Kind::Append { part, .. } if part.0 >= 2 => Some(e.at.ms()),
            _ => None,
        })
        .min()
        .expect("appends to the new partitions");
    assert!(first_new > 3000, "{first_new}");
    assert_eq!(v.totals.get(Counter::KeySplits), 4);
    let why = causes(&v, AnomalyKind::KeySplit);
    assert!(
        why[0].contains("while it knew 2 partitions (hash % 2)")
            && why[0].contains("after partitions were added at t=2000ms, shop's metadata refresh at t=3000ms showed 4 (hash % 4)"),
        "{}",
        why[0]
    );
}

#[test]
fn records_the_cleaner_removed_before_a_late_group_read_them_are_compacted_not_lost() {
    // 12 records at t=0 of keys k-1..k-3, every 3rd a tombstone (all of k-3: offsets 2, 5,
    // 8, 11), in segments of 4. The cleaner at t=1000 cleans 0..8 (8..12 is active): k-1
    // keeps 6, k-2 keeps 7, and k-3's latest there is the tombstone at 5, 1000 ms old, past
    // delete.retention.ms (500): it goes too. g starts at t=3000 and reads 6, 7, 8..12.
    let v = run(r#"
name: compact
title: t
cluster: { brokers: 1, network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0, log.cleaner.backoff.ms: 1000 } }
topics:
  - { name: t, config: { cleanup.policy: "compact,delete", segment.bytes: 640, delete.retention.ms: 500 } }
producers:
  - { name: p, topic: t, send: { count: 12, every_ms: 0, keys: { pattern: "k-{n}", distinct: 3 }, tombstone_every: 3 } }
consumer_groups:
  - { name: g, topics: [t], start_at_ms: 3000, config: { auto.offset.reset: earliest } }
run: { until_ms: 6000 }
"#);
    assert_records_add_up("compact", &v);
    let g = &v.groups[0];
    assert_eq!(g.counts.get(Counter::Lost), 0);
    assert_eq!(g.counts.get(Counter::SkippedOffsets), 0);
    let why = causes(&v, AnomalyKind::Compacted);
    assert_eq!(g.counts.get(Counter::Compacted), 6);
    assert_eq!(g.counts.get(Counter::RecordsProcessed), 6);
    assert_eq!(why.len(), 6);
    assert_eq!(
        why[0],
        "e-1 (p0@0) was compacted away by the log cleaner at t=1000ms before g processed it: p0@6 (e-7), a later record of key k-1, superseded it; g started later, at t=3000ms. Not lost: the key's latest record is still in the log"
    );
    assert_eq!(
        why[5],
        "e-6 (p0@5) was compacted away by the log cleaner at t=1000ms before g processed it: it was a tombstone of key k-3 older than delete.retention.ms (500); g started later, at t=3000ms. Not lost: the tombstone had deleted its key"
    );
}

#[test]
fn a_loss_by_librdkafkas_background_commit_names_the_stored_offset() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/java-vs-librdkafka-commit.yaml"),
    )
    .unwrap();
    let v = run(&text);
    assert_records_add_up("java-vs-librdkafka-commit", &v);
    let why = causes(&v, AnomalyKind::Lost);
    assert_eq!(
        why,
        vec![
            "p0@1 (e-2) is in the log but librdkafka never processed it: librdkafka's background auto-commit (every auto.commit.interval.ms=5000) committed offset 2 for librdkafka-1 at t=5001ms, past it: the offset store (enable.auto.offset.store=true) had taken it when the record was handed to the application, before it was processed; librdkafka-1 was processing it since t=4008ms and crashed at t=6000ms, so nobody will read it again"
        ]
    );
    // The Java group, same crash: nothing lost, the first order charged twice.
    let java = v.groups.iter().find(|g| g.name == "java").unwrap();
    assert_eq!(java.counts.get(Counter::Lost), 0);
    assert_eq!(java.counts.get(Counter::DuplicateEffects), 1);
}

#[test]
fn librdkafka_storing_after_processing_loses_nothing_to_the_same_crash() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/java-vs-librdkafka-commit.yaml"),
    )
    .unwrap()
    .replace(
        "    client: librdkafka\n    topics: [orders]\n    config: { ",
        "    client: librdkafka\n    topics: [orders]\n    config: { enable.auto.offset.store: false, ",
    );
    assert!(text.contains("enable.auto.offset.store: false"));
    let v = run(&text);
    let g = v.groups.iter().find(|g| g.name == "librdkafka").unwrap();
    assert_eq!(g.counts.get(Counter::Lost), 0);
    assert_eq!(g.counts.get(Counter::RecordsProcessed), 5);
    assert_eq!(g.counts.get(Counter::DuplicateEffects), 0);
}

#[test]
fn auto_offset_reset_none_stops_the_member_and_leaves_the_records_unprocessed() {
    let v = run(r#"
name: reset-none
title: a group with no committed offset and auto.offset.reset none
cluster: { network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0 } }
topics: [ { name: orders, partitions: 1 } ]
producers:
  - { name: shop, topic: orders, send: { count: 6, every_ms: 10 } }
consumer_groups:
  - { name: strict, topics: [orders], config: { auto.offset.reset: none } }
run: { until_ms: 2000 }
"#);
    assert_records_add_up("reset-none", &v);
    let g = &v.groups[0];
    assert_eq!(g.counts.get(Counter::NoOffsetErrors), 1);
    assert_eq!(g.counts.get(Counter::Delivered), 0);
    assert_eq!(g.counts.get(Counter::UnprocessedAtEnd), 6);
    assert_eq!(g.counts.get(Counter::Lost), 0);
    assert_eq!(
        causes(&v, AnomalyKind::NoOffset),
        vec![
            "strict-1 had no committed offset for p0 and auto.offset.reset=none, so poll() threw NoOffsetForPartitionException at t=2ms; strict-1 stopped consuming (closed and left the group), and nobody reads p0 until a committed offset or a seek gives it a position (each of its records is counted under what happens to it next)"
        ]
    );
}

/// Members of one group with different subscriptions: only the member subscribed to
/// payments gets its partitions (Kafka's roundrobin skips members not subscribed to a
/// partition's topic), and every record of both topics is processed once.
#[test]
fn a_member_subscribed_to_a_second_topic_alone_reads_it() {
    use kafkasim::trace::{Kind, Recorder};
    let sc = scenario::parse(
        r#"
name: subs
title: members with their own subscriptions
cluster: { brokers: 1, network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0 } }
topics: [ { name: orders, partitions: 3 }, { name: payments, partitions: 2 } ]
producers:
  - { name: shop, topic: orders, send: { count: 9, every_ms: 100, keys: { pattern: "o-{n}" } } }
  - { name: bank, topic: payments, send: { count: 6, every_ms: 100, keys: { pattern: "p-{n}" } } }
consumer_groups:
  - { name: g, topics: [orders], members: 3, subscriptions: [[orders], [orders, payments]], config: { auto.offset.reset: earliest, partition.assignment.strategy: roundrobin } }
run: { until_ms: 3000 }
"#,
    )
    .expect("loads");
    let mut rec = Recorder::default();
    let (t, v) = kafkasim::simulate_with(&sc, sc.seed, &mut rec);
    assert_eq!(v.totals.get(Counter::RecordsProcessed), 15);
    let readers: std::collections::BTreeSet<String> = rec
        .events
        .iter()
        .filter_map(|e| match e.kind {
            Kind::Deliver { actor, part, .. } if t.tables.partitions[part.ix()].0 == 1 => {
                Some(t.tables.actor_name(actor).to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        readers.into_iter().collect::<Vec<_>>(),
        vec!["g-2".to_string()]
    );
}

/// librdkafka with a manual commit of the positions (`before-processing`) and the
/// background auto-commit of stored offsets: the timer commits a stored offset only past
/// what the member already committed (librdkafka skips a stored offset that is not newer),
/// so a partition's committed offset never moves back (it did: 5 -> 1, in a probe).
#[test]
fn librdkafkas_background_commit_never_moves_a_committed_offset_back() {
    use kafkasim::trace::{Kind, Recorder};
    let sc = scenario::parse(
        r#"
name: back
title: manual and background commits
cluster: { brokers: 1, network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0 } }
topics: [ { name: t, partitions: 1 } ]
producers: [ { name: p, topic: t, send: { count: 30, every_ms: 5, keys: { pattern: "k-{n}", distinct: 4 } } } ]
consumer_groups:
  - { name: g, topics: [t], client: librdkafka, config: { auto.offset.reset: earliest, max.poll.records: 5, auto.commit.interval.ms: 7 }, processing: { time_ms: 20, commit: before-processing } }
run: { until_ms: 3000 }
"#,
    )
    .expect("loads");
    let mut rec = Recorder::default();
    let (_, v) = kafkasim::simulate_with(&sc, sc.seed, &mut rec);
    let committed: Vec<u64> = rec
        .events
        .iter()
        .filter_map(|e| match e.kind {
            Kind::Committed { offset, .. } => Some(offset.value()),
            _ => None,
        })
        .collect();
    assert!(committed.len() >= 3, "{committed:?}");
    assert!(
        committed.windows(2).all(|w| w[0] <= w[1]),
        "committed offsets went back: {committed:?}"
    );
    assert_eq!(v.totals.get(Counter::RecordsProcessed), 30);
}

/// A forward seek: records it jumps over are `skipped_by_seek`, each naming the seek, and
/// the records add up.
#[test]
fn records_a_seek_to_the_end_jumps_over_are_skipped_by_seek_with_the_seek_as_cause() {
    // 40 records at t=0; 5 a poll, 100 ms each. The seek at t=1000 waits for the batch in
    // hand (offsets 5..9) to finish: it is carried out at the next poll, t=1014, from 10.
    let v = run(r#"
name: seek-forward
title: t
cluster: { brokers: 1, network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0 } }
topics: [ { name: t, partitions: 1 } ]
producers:
  - { name: p, topic: t, send: { count: 40, every_ms: 0 } }
consumer_groups:
  - name: billing
    topics: [t]
    config: { auto.offset.reset: earliest, max.poll.records: 5 }
    processing: { time_ms: 100, commit: after-batch }
faults:
  - { at_ms: 1000, seek: billing, to: end }
run: { until_ms: 6000 }
"#);
    assert_records_add_up("seek-forward", &v);
    let g = &v.groups[0];
    assert_eq!(g.counts.get(Counter::SkippedBySeek), 30);
    assert_eq!(g.counts.get(Counter::RecordsProcessed), 10);
    assert_eq!(g.counts.get(Counter::Lost), 0, "a seek is not a loss");
    assert_eq!(
        g.counts.get(Counter::SkippedOffsets),
        0,
        "nor a skipped offset"
    );
    let why = causes(&v, AnomalyKind::SkippedBySeek);
    assert_eq!(why.len(), 30);
    assert_eq!(
        why[1],
        "p0@11 (e-12) is in the log but billing never processed it: billing-1 sought p0 from 10 to 40 (to: end) at t=1014ms, past it"
    );
}

/// A backward seek to a timestamp: the records read again are duplicate deliveries and,
/// without a processed-id store, duplicate effects, both naming the seek as a replay.
#[test]
fn a_seek_back_to_a_timestamp_is_named_as_a_replay_in_duplicate_causes() {
    // One record every 100 ms, each appended 1 ms after its send: p0@14 at t=1401, p0@15
    // at t=1501. The earliest record at or after t=1450 is p0@15.
    let v = run(r#"
name: seek-back
title: t
cluster: { brokers: 1, network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0 } }
topics: [ { name: t, partitions: 1 } ]
producers:
  - { name: p, topic: t, send: { count: 20, every_ms: 100 } }
consumer_groups:
  - name: billing
    topics: [t]
    config: { auto.offset.reset: earliest }
    processing: { time_ms: 10 }
faults:
  - { at_ms: 3000, seek: billing, to: { timestamp_ms: 1450 } }
run: { until_ms: 6000 }
"#);
    assert_records_add_up("seek-back", &v);
    let g = &v.groups[0];
    assert_eq!(
        g.counts.get(Counter::DuplicateDeliveries),
        5,
        "p0@15..19 again"
    );
    assert_eq!(g.counts.get(Counter::DuplicateEffects), 5);
    assert_eq!(g.counts.get(Counter::SkippedBySeek), 0);
    assert_eq!(g.counts.get(Counter::RecordsProcessed), 20);
    assert_eq!(
        causes(&v, AnomalyKind::DuplicateDelivery)[0],
        "p0@15 delivered again to billing-1 at t=3004ms: a replay: it sought p0 back from 20 to 15 (to: { timestamp_ms: 1450 }) at t=3002ms; p0 had no committed offset"
    );
    assert_eq!(
        causes(&v, AnomalyKind::DuplicateEffect)[0],
        "eventId e-16 applied twice by billing: first by billing-1 at t=1512ms, again by billing-1 at t=3014ms (p0@15): p0@15 was delivered again in a replay: billing-1 sought p0 back from 20 to 15 (to: { timestamp_ms: 1450 }) at t=3002ms, and the group keeps no processed-id store to recognise it"
    );
}

/// A forward seek undone by a later seek back: the records it had jumped over are read
/// again, so what is left unread at the end is lag, not skipped.
#[test]
fn a_seek_back_undoes_an_earlier_forward_seek_in_the_accounting() {
    let v = run(r#"
name: seek-undo
title: t
cluster: { brokers: 1, network: { latency_ms: 1 }, config: { group.initial.rebalance.delay.ms: 0 } }
topics: [ { name: t, partitions: 1 } ]
producers:
  - { name: p, topic: t, send: { count: 40, every_ms: 0 } }
consumer_groups:
  - name: billing
    topics: [t]
    config: { auto.offset.reset: earliest, max.poll.records: 5 }
    processing: { time_ms: 100, commit: after-batch }
faults:
  - { at_ms: 1000, seek: billing, to: end }
  - { at_ms: 3000, seek: billing, to: 3 }
run: { until_ms: 6000 }
"#);
    assert_records_add_up("seek-undo", &v);
    let g = &v.groups[0];
    assert_eq!(g.counts.get(Counter::SkippedBySeek), 0);
    assert_eq!(g.counts.get(Counter::UnprocessedAtEnd), 8, "p0@32..39: lag");
    assert_eq!(
        g.counts.get(Counter::DuplicateDeliveries),
        7,
        "p0@3..9 again"
    );
}

/// Every anomaly's causal chain (what `kafkasim explain` tells) is in time order, ends
/// in exactly one visible effect, and each link that cites a crash, a commit, a reset, a
/// seek, a send or an application is a record of the trace at that very ms, by the actor
/// the link names: the story is built from what happened, never guessed.
#[test]
fn every_causal_link_is_a_record_of_the_trace() {
    use kafkasim::trace::Kind;
    let mut checked = 0;
    for (path, run, v, events) in recorded_runs() {
        let t = &run.tables;
        for a in &v.anomalies {
            let where_ = format!("{}: {} {:?}", path.display(), a.kind.name(), a.chain);
            assert!(!a.chain.is_empty(), "{where_}: no chain");
            assert!(
                a.chain.windows(2).all(|w| w[0].at <= w[1].at),
                "{where_}: not in time order"
            );
            assert_eq!(
                a.chain.iter().filter(|l| l.effect).count(),
                1,
                "{where_}: one effect"
            );
            for l in a.chain.iter().filter(|l| !l.effect) {
                // The actor a link starts with, and the record kind its verb stands for.
                let is = |k: &Kind| -> bool {
                    let named = |actor| {
                        let name = t.actor_name(actor);
                        l.text.starts_with(&format!("{name} "))
                            || l.text.starts_with(&format!("{name}'s "))
                    };
                    match (*k, l.text.as_str()) {
                        (Kind::Crash { actor, .. }, s) if s.contains(" crashed") => named(actor),
                        (Kind::Committed { actor, offset, .. }, s)
                            if s.contains(&format!(" committed offset {offset} for ")) =>
                        {
                            named(actor) || s.starts_with("the close committed")
                        }
                        (Kind::OffsetReset { actor, offset, .. }, s)
                            if s.contains(&format!("reset to {offset} ")) =>
                        {
                            named(actor)
                        }
                        (Kind::Seek { actor, .. }, s) if s.contains(" sought ") => named(actor),
                        (Kind::Send { actor, event, .. }, s)
                            if s.contains(&format!(" sent {} (", t.event_id(event))) =>
                        {
                            named(actor)
                        }
                        (Kind::DbCommit { actor, event, .. }, s)
                            if s.contains(&format!(" committed {} (", t.event_id(event))) =>
                        {
                            named(actor)
                        }
                        (Kind::Effect { actor, event, .. }, s)
                            if s.contains(&format!(" applied eventId {}", t.event_id(event))) =>
                        {
                            named(actor)
                        }
                        _ => false,
                    }
                };
                let cites = [
                    " crashed",
                    " committed offset ",
                    "reset to ",
                    " sought ",
                    " sent e-",
                    " committed e-",
                    " applied eventId ",
                ]
                .iter()
                .any(|m| l.text.contains(m));
                // A link about an actor starts with its name; others (a summary of the
                // copies in the log, say) are checked by the tests of the cause sentence.
                let about_an_actor = t.actors.iter().any(|(_, name)| {
                    l.text.starts_with(&format!("{name} "))
                        || l.text.starts_with(&format!("{name}'s "))
                });
                if !cites || !(about_an_actor || l.text.starts_with("the close committed")) {
                    continue;
                }
                assert!(
                    events.iter().any(|e| e.at == l.at && is(&e.kind)),
                    "{where_}: no record at t={}ms for the link {:?}",
                    l.at,
                    l.text
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 50,
        "the chains cited records ({checked} checked)"
    );
}

/// A give-up whose record another send had put in the log, which a new leader then
/// truncated: the give-up names where the record was when the client gave up (this once
/// panicked), and the order says its event was in the log until the truncation, not that it
/// never reached it.
#[test]
fn a_record_truncated_after_a_give_up_is_named_where_it_was() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/regressions/give-up-then-truncated.yaml"),
    )
    .expect("the regression exists");
    let v = run(&text);
    let gave_up = causes(&v, AnomalyKind::SendFailed);
    assert!(
        gave_up.iter().any(
            |c| c.starts_with("orders-relay-1 gave up on e-2 at t=4081ms")
                && c.ends_with("another send had already put the record in the log, at p0@4")
        ),
        "{gave_up:#?}"
    );
    let orders = causes(&v, AnomalyKind::CommittedWithoutEvent);
    assert!(
        orders[0].starts_with(
            "order order-1 (e-2) committed by orders at t=1ms but its event is not in the log: it was at p0@4 until a new leader that lacked it truncated the log at t=4082ms; "
        ),
        "{}",
        orders[0]
    );
    assert!(
        orders[1].contains("(e-10)") && orders[1].contains("never reached the log"),
        "{}",
        orders[1]
    );
}
