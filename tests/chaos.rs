//! The `chaos:` section run end to end: what a seed draws is what the run does, a chaos
//! section that draws nothing leaves the run exactly as it was, network chaos loses and
//! delays what it says, and the chaos lesson keeps its promise on every seed of a range.
//! (The draw itself is unit-tested in sim/chaos.rs; bad chaos sections are in tests/bad/.)

use kafkasim::counters::Counter;
use kafkasim::scenario::{self, FaultAction, Scenario, Target};
use kafkasim::trace::{Actor, Kind, Recorder, TraceEvent};
use kafkasim::{chaos, lessons, report, simulate, simulate_with};

fn load(text: &str) -> Scenario {
    scenario::parse(text).unwrap_or_else(|e| panic!("{e:?}\n{text}"))
}

fn lesson(stem: &str) -> String {
    let file = format!("{stem}.yaml");
    lessons::LESSONS
        .iter()
        .find(|l| l.file == file)
        .unwrap_or_else(|| panic!("{stem} is a lesson"))
        .source
        .to_string()
}

/// Every trace record of a run, as the JSONL trace writes them: two runs are the same run
/// when these are equal.
fn trace_lines(sc: &Scenario, seed: u64) -> Vec<String> {
    let mut rec = Recorder::default();
    let (run, _) = simulate_with(sc, seed, &mut rec);
    rec.events
        .iter()
        .map(|e| report::jsonl_line(sc, &run.tables, e))
        .collect()
}

/// The crash-before-commit lesson with `chaos` appended (its scripted faults kept).
fn crash_before_commit_with(chaos: &str) -> String {
    format!("{}chaos:\n{chaos}\n", lesson("crash-before-commit"))
}

#[test]
fn a_chaos_section_that_draws_nothing_leaves_the_run_as_it_was() {
    let plain = load(&lesson("crash-before-commit"));
    // A fault that never comes up, and network chaos that draws (a drop ratio of 0 and no
    // jitter) from its own streams: the latency draws must not move.
    let quiet = load(&crash_before_commit_with(
        "  faults:\n    - { probability: 0, at_ms: [0, 5000], kafka_outage: true, for_ms: 100 }\n  network: { drop: { produce: 0/1, replica_fetch_response: 0 } }",
    ));
    assert!(quiet.chaos.is_active());
    for seed in [1, 42, 7777] {
        assert!(chaos::draw(&quiet, seed).is_empty());
        assert_eq!(trace_lines(&plain, seed), trace_lines(&quiet, seed));
    }
}

#[test]
fn the_run_carries_out_what_the_seed_drew() {
    let sc = load(&lesson("chaos-crash-point"));
    let mut struck = 0;
    for seed in 1..=40 {
        let drawn = chaos::draw(&sc, seed);
        let mut rec = Recorder::default();
        let (run, _) = simulate_with(&sc, seed, &mut rec);
        let actor = |e: &TraceEvent| match e.kind {
            Kind::CrashArmed { actor, .. }
            | Kind::Crash { actor, .. }
            | Kind::Restart { actor } => Some((run.tables.actors[actor.ix()].0, e.at.ms(), e.kind)),
            _ => None,
        };
        let rows: Vec<_> = rec.events.iter().filter_map(actor).collect();
        let Some(d) = drawn.first() else {
            assert!(rows.is_empty(), "seed {seed} drew nothing, yet {rows:?}");
            continue;
        };
        let FaultAction::Crash {
            target: Target::Member { group, index },
            point,
            on_record,
        } = d.action
        else {
            panic!("the lesson draws member crashes: {d:?}");
        };
        let member = Actor::Member {
            group: group as u16,
            index,
        };
        // Armed when drawn, at the drawn point and record.
        let armed = rows.iter().any(|r| {
            r.0 == member
                && r.1 == d.at_ms
                && matches!(r.2, Kind::CrashArmed { point: p, on_record: n, .. }
                    if Some(p) == point && n == on_record)
        });
        assert!(armed, "seed {seed}: {d:?} was not armed as drawn: {rows:?}");
        // Restarted exactly `restart_after_ms` after the crash, if it crashed.
        let crashed = rows
            .iter()
            .find(|r| r.0 == member && matches!(r.2, Kind::Crash { .. }));
        let restarted = rows
            .iter()
            .find(|r| r.0 == member && matches!(r.2, Kind::Restart { .. }));
        if let Some(c) = crashed {
            struck += 1;
            let after = d.restart_after_ms.expect("the lesson restarts");
            assert_eq!(restarted.map(|r| r.1), Some(c.1 + after), "seed {seed}");
        } else {
            assert!(
                restarted.is_none(),
                "seed {seed}: a restart without a crash"
            );
        }
    }
    assert!(struck > 5, "the crashes drawn fire ({struck} of 40 seeds)");
}

#[test]
fn a_restart_waits_for_its_target_to_go_down() {
    // The crash is armed at t=0 for the member's 11th record, which comes long after
    // restart_after_ms: a restart scheduled from the draw's time would find it running
    // and do nothing; it must follow the crash itself.
    let sc = load(
        r#"
name: late-crash
title: a crash that comes late
topics: [ { name: t } ]
producers: [ { name: p, topic: t, send: { count: 12, every_ms: 100 } } ]
consumer_groups:
  - { name: g, topics: [t], config: { enable.auto.commit: false, auto.offset.reset: earliest }, processing: { commit: after-each-record } }
chaos:
  faults:
    - { at_ms: 0, crash: g-1, point: before-process, on_record: 11, restart_after_ms: 50 }
run: { until_ms: 5000 }
"#,
    );
    let mut rec = Recorder::default();
    simulate_with(&sc, 1, &mut rec);
    let at = |want: fn(&Kind) -> bool| {
        rec.events
            .iter()
            .filter(|e| want(&e.kind))
            .map(|e| e.at.ms())
            .collect::<Vec<_>>()
    };
    let crashes = at(|k| matches!(k, Kind::Crash { .. }));
    let restarts = at(|k| matches!(k, Kind::Restart { .. }));
    assert_eq!(crashes.len(), 1);
    assert!(crashes[0] > 1000, "the 11th record comes after t=1000");
    assert_eq!(restarts, vec![crashes[0] + 50]);
}

#[test]
fn a_drop_ratio_of_one_loses_every_produce_request() {
    let text = r#"
name: all-lost
title: every produce request lost
topics: [ { name: t } ]
producers: [ { name: p, topic: t, config: { acks: 0 }, send: { count: 5 } } ]
chaos:
  network: { drop: { produce: 1 } }
run: { until_ms: 2000 }
"#;
    let sc = load(text);
    let mut rec = Recorder::default();
    let (_, v) = simulate_with(&sc, 1, &mut rec);
    let dropped = rec
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::RequestDropped { .. }))
        .count();
    assert_eq!(dropped, 5);
    assert_eq!(v.totals.get(Counter::Appended), 0);
    assert_eq!(v.totals.get(Counter::UnackedLost), 5);
}

#[test]
fn jitter_delays_messages_without_reordering_a_path() {
    let base = r#"
name: jitter
title: jitter
topics: [ { name: t } ]
producers: [ { name: p, topic: t, config: { max.in.flight.requests.per.connection: 1 }, send: { count: 50, every_ms: 1, keys: { pattern: "k" } } } ]
consumer_groups: [ { name: g, topics: [t], config: { auto.offset.reset: earliest } } ]
run: { until_ms: 3000 }
"#;
    let calm = load(base);
    let shaky = load(&format!("{base}chaos:\n  network: {{ jitter_ms: 40 }}\n"));
    let acks = |sc: &Scenario| -> Vec<u64> {
        let mut rec = Recorder::default();
        simulate_with(sc, 3, &mut rec);
        rec.events
            .iter()
            .filter(|e| matches!(e.kind, Kind::Ack { .. }))
            .map(|e| e.at.ms())
            .collect()
    };
    let (a, b) = (acks(&calm), acks(&shaky));
    assert_eq!(a.len(), 50);
    assert_eq!(b.len(), 50, "jitter loses nothing");
    assert!(
        b.last() > a.last(),
        "40 ms of jitter per message slows the run"
    );
    let (_, v) = simulate(&shaky, 3);
    assert_eq!(v.totals.get(Counter::KeyOrderViolations), 0);
    assert_eq!(v.totals.get(Counter::LogReorders), 0);
    assert_eq!(trace_lines(&shaky, 3), trace_lines(&shaky, 3));
}

/// The lesson's `expect:` holds on every seed of a range, not only its own, and the
/// outcome it teaches really depends on the seed: about half the runs redeliver and about
/// a quarter charge twice (a fixed range of seeds, so the counts are fixed too).
#[test]
fn the_chaos_lesson_keeps_its_promise_on_every_seed() {
    let sc = load(&lesson("chaos-crash-point"));
    let (mut redelivered, mut charged_twice) = (0, 0);
    for seed in 1..=400 {
        let (_, v) = simulate(&sc, seed);
        assert!(v.pass, "seed {seed}: {:?}", v.expectations);
        redelivered += usize::from(v.totals.get(Counter::DuplicateDeliveries) > 0);
        charged_twice += usize::from(v.totals.get(Counter::DuplicateEffects) > 0);
    }
    assert!((160..=240).contains(&redelivered), "{redelivered} of 400");
    assert!(
        (60..=140).contains(&charged_twice),
        "{charged_twice} of 400"
    );
    // Its own seed shows the lesson's point.
    let (_, v) = simulate(&sc, sc.seed);
    assert_eq!(v.totals.get(Counter::DuplicateEffects), 1);
}

#[test]
fn the_resolved_chaos_section_loads_back_to_the_same_draws() {
    let sc = load(&crash_before_commit_with(
        r#"  faults:
    - { probability: 2/8, at_ms: [10, 90], crash: [payment-service-1, payment-service-2], point: before-process, on_record: [1, 2], restart_after_ms: 700 }
    - { probability: 1/3, at_ms: 100, kafka_outage: true, for_ms: [50, 400] }
    - { at_ms: [0, 9000], shutdown: [broker-1, broker-3], restart_after_ms: [10, 20] }
    - { probability: 1/2, at_ms: [0, 9000], isolate_broker: broker-2, for_ms: 300 }
    - { probability: 1/2, at_ms: [0, 9000], isolate: order-service, for_ms: [1, 9], refused: true }
  network: { jitter_ms: 3, drop: { produce_response: 1/50 } }"#,
    ));
    let again = load(&report::resolved(&sc));
    for seed in 0..30 {
        assert_eq!(chaos::draw(&sc, seed), chaos::draw(&again, seed));
    }
    assert_eq!(trace_lines(&sc, 5), trace_lines(&again, 5));
}
