//! `kafkasim bench`: the generated reference workload is the one `gen.sh` writes and loads,
//! its `expect:` block holds, and a tiny bench reports sane structure with every JSON key of
//! the contract. Never a speed: timings depend on the machine and belong in the README.
//!
//! tests/bench/reference-1m.yaml is a copy of the shared reference workload
//! (`gen.sh reference-1m 1000000`), kept here so the tests do not depend on anything outside
//! the repository.

use kafkasim::bench::{self, Plan, Sending};
use kafkasim::counters::Counter;
use kafkasim::{scenario, simulate};

const CONTRACT: [&str; 8] = [
    "messages_per_second",
    "events_per_second",
    "baseline_events_per_second",
    "ratio_to_baseline",
    "time_compression",
    "peak_rss_bytes",
    "bytes_per_record",
    "scale",
];

/// Keys the contract allows on top of its own.
const EXTRA: [&str; 4] = ["records", "wall_ms", "ns_per_message", "replicated"];

#[test]
fn the_generator_writes_the_reference_file_byte_for_byte() {
    assert_eq!(
        bench::reference_yaml(1_000_000),
        include_str!("bench/reference-1m.yaml")
    );
}

#[test]
fn every_generated_size_loads_up_to_the_record_limit() {
    for records in [1, 999, 2_000, 10_000, 1_000_000, scenario::limits::RECORDS] {
        for (sending, every_ms) in [(Sending::Paced, 1), (Sending::Burst, 0)] {
            let yaml = bench::workload_yaml(records, sending);
            let sc = scenario::parse(&yaml)
                .unwrap_or_else(|e| panic!("{records} {sending:?} does not load: {e:?}"));
            assert_eq!(sc.producers[0].send.count, records);
            assert_eq!(sc.producers[0].send.every_ms, every_ms);
            assert_eq!(sc.run.until_ms, records + bench::DRAIN_MS);
            assert_eq!(sc.expect.len(), 5, "the same expect block");
        }
    }
    assert!(scenario::parse(&bench::reference_yaml(scenario::limits::RECORDS + 1)).is_err());
}

#[test]
fn the_expectations_hold_at_2000_records_paced_and_burst() {
    for sending in [Sending::Paced, Sending::Burst] {
        let sc = scenario::parse(&bench::workload_yaml(2_000, sending)).unwrap();
        let (run, verdict) = simulate(&sc, sc.seed);
        let failed: Vec<String> = verdict
            .expectations
            .iter()
            .filter(|e| !e.holds)
            .map(|e| e.describe())
            .collect();
        assert!(verdict.pass, "{sending:?}: {}", failed.join("; "));
        assert_eq!(verdict.totals.get(Counter::Processed), 2_000);
        assert!(run.events > 0);
    }
}

#[test]
fn a_tiny_bench_reports_sane_figures_and_every_contract_key() {
    let report = bench::run(
        Plan::One {
            records: 2_000,
            sending: Sending::Paced,
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.runs.len(), 1);
    let f = &report.runs[0];
    assert_eq!(f.messages, f.records, "every record sent is processed");
    assert!(f.events > 0 && f.pass);
    assert!(f.simulated_ms >= 2_000);
    assert!(f.messages_per_second > 0.0 && f.events_per_second > 0.0);
    assert!(f.baseline_events_per_second > 0.0 && f.ratio_to_baseline > 0.0);

    let json: serde_json::Value = serde_json::from_str(&bench::json(&report)).unwrap();
    let top = json.as_object().expect("one object");
    for key in CONTRACT {
        assert!(top.contains_key(key), "the JSON has {key}");
    }
    for key in top.keys() {
        assert!(
            CONTRACT.contains(&key.as_str()) || EXTRA.contains(&key.as_str()),
            "{key} is not in the contract"
        );
    }
    let scale = json["scale"].as_array().expect("scale is a list");
    assert_eq!(scale.len(), 1, "without --scale the list holds the one run");
    for key in CONTRACT
        .iter()
        .filter(|&&k| k != "scale")
        .chain(&["records"])
    {
        assert!(scale[0].get(key).is_some(), "scale entries have {key}");
    }
    assert_eq!(scale[0]["records"], 2_000);
    assert!(json["events_per_second"].as_f64().unwrap() > 0.0);

    let replicated = &json["replicated"];
    for key in CONTRACT.iter().filter(|&&k| k != "scale") {
        assert!(replicated.get(key).is_some(), "replicated has {key}");
    }
    let r = report
        .replicated
        .as_ref()
        .expect("a paced headline is also run replicated");
    assert_eq!(
        r.messages, r.records,
        "the replicated run processes every record too"
    );
    assert!(
        r.pass && r.events > f.events,
        "followers copying add events"
    );

    let text = bench::text(&report);
    assert!(text.contains("machine:") && text.contains("messages per second"));
    assert!(text.contains("replicated (replication factor 3"));
}

#[test]
fn the_replicated_variant_differs_from_the_reference_only_in_its_replicas() {
    let plain = bench::reference_yaml(1_000);
    let replicated = bench::replicated_yaml(1_000);
    assert!(replicated.contains("replication_factor: 3, config: { min.insync.replicas: 2 }"));
    assert!(replicated.starts_with("name: reference-1k-rf3\n"));
    let sc = scenario::parse(&replicated).expect("loads");
    assert_eq!(sc.topics[0].replication_factor, 3);
    assert_eq!(
        plain.lines().count(),
        replicated.lines().count(),
        "the same workload, line for line"
    );
}
