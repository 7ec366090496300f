//! The lessons in scenarios/ are the regression suite: each one's `expect:` block must hold,
//! then its whole report is compared with a snapshot that reads like a document.

use kafkasim::{lessons, report, scenario, simulate_with};
use std::path::Path;

fn scenario_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the five foundation lessons are present");
    files
}

fn lesson_text(stem: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{stem}.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lesson's snapshot document, its JSON, whether it passed, and what failed.
fn document(stem: &str, seed: Option<u64>) -> (String, String, bool, Vec<String>) {
    let text = lesson_text(stem);
    let text = text.as_str();
    let sc = scenario::parse(text).unwrap_or_else(|e| panic!("{stem} does not load: {e:?}"));
    let seed = seed.unwrap_or(sc.seed);
    let mut rows = report::Timeline::new(None);
    let (run, verdict) = simulate_with(&sc, seed, &mut rows);
    let reproduce = format!("kafkasim run scenarios/{stem}.yaml --seed {seed}");
    let opts = report::TextOptions {
        reproduce: &reproduce,
        timeline_limit: None,
    };
    let failed = verdict
        .expectations
        .iter()
        .filter(|e| !e.holds)
        .map(|e| e.describe())
        .collect();
    let doc = format!(
        "# Scenario, every default filled in\n\n{}\n# Report\n\n{}",
        report::resolved(&sc),
        report::text(&sc, seed, &run, &verdict, &rows, &opts)
    );
    let json = report::json(&sc, seed, &run, &verdict);
    (doc, json, verdict.pass, failed)
}

#[test]
fn every_lesson_meets_its_expectations_and_matches_its_snapshot() {
    for path in scenario_files() {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let (doc, _, pass, failed) = document(&stem, None);
        // The expect: block is judged before the snapshot, so accepting a snapshot can
        // never quietly accept a lesson that stopped teaching what it claims.
        assert!(pass, "{stem}: expectations failed: {}", failed.join("; "));
        insta::with_settings!({
            snapshot_path => "../snapshots/lessons",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(stem, doc);
        });
    }
}

#[test]
fn every_lesson_gives_identical_bytes_when_run_twice() {
    for path in scenario_files() {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let (doc1, json1, _, _) = document(&stem, None);
        let (doc2, json2, _, _) = document(&stem, None);
        assert_eq!(doc1, doc2, "{stem}: text differs between two runs");
        assert_eq!(json1, json2, "{stem}: JSON differs between two runs");
    }
}

#[test]
fn another_seed_changes_a_run_that_draws_latencies() {
    let (a, _, _, _) = document("crash-before-commit", Some(42));
    let (b, _, _, _) = document("crash-before-commit", Some(43));
    let strip = |s: &str| {
        s.replace("--seed 42", "")
            .replace("--seed 43", "")
            .replace("seed 42", "")
            .replace("seed 43", "")
    };
    assert_ne!(
        strip(&a),
        strip(&b),
        "the latency range is drawn from the seed"
    );
}

#[test]
fn a_fixed_latency_scenario_does_not_depend_on_the_seed() {
    let (_, a, _, _) = document("commit-before-processing", Some(1));
    let (_, b, _, _) = document("commit-before-processing", Some(2));
    assert_eq!(a.replace("\"seed\":1", ""), b.replace("\"seed\":2", ""));
}

#[test]
fn the_embedded_lessons_are_exactly_the_files_in_scenarios() {
    let mut files: Vec<String> = scenario_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    let mut embedded: Vec<String> = lessons::LESSONS
        .iter()
        .map(|l| l.file.to_string())
        .collect();
    files.sort();
    embedded.sort();
    assert_eq!(files, embedded);
    for l in lessons::LESSONS {
        let on_disk = lesson_text(l.file.trim_end_matches(".yaml"));
        assert_eq!(on_disk, l.source, "{} is embedded as it is on disk", l.file);
    }
    assert!(lessons::find(lessons::DEFAULT).is_some());
}

/// Cheap insurance, as rust-analyzer's tidy tests do: the simulator's sources never name
/// a hash-ordered collection, the wall clock or an unseeded generator. The one exception is
/// `Instant::now` in sim/bench.rs (see below). The HTML report's template
/// (sim/report/report.html.j2) is grepped too, for the same hazards in its script.
#[test]
fn the_simulator_sources_use_no_determinism_hazards() {
    let hazards = [
        "HashMap",
        "HashSet",
        "RandomState",
        "Instant::now",
        "SystemTime",
        "thread_rng",
        "StdRng",
        "SmallRng",
        "rand::rng()",
        "Math.random",
        "Date.now",
        "new Date",
    ];
    let sim = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim");
    let bench = sim.join("bench.rs");
    let mut saw_bench = false;
    let mut stack = vec![sim];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            seen += 1;
            saw_bench |= p == bench;
            let text = std::fs::read_to_string(&p).unwrap();
            // Every Rust file says what lives in it; the template opens with a comment of
            // its own kind.
            assert!(
                text.starts_with("//!") || p.extension().is_some_and(|x| x != "rs"),
                "{} starts with a //! line",
                p.display()
            );
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for h in hazards {
                    // sim/bench.rs measures the simulator from outside: it reads the wall
                    // clock around a finished `simulate` call and never feeds a time into a
                    // run, so determinism is untouched. It is the one file allowed to.
                    if h == "Instant::now" && p == bench {
                        continue;
                    }
                    assert!(!code.contains(h), "{}:{}: uses {h}", p.display(), n + 1);
                }
            }
        }
    }
    assert!(seen > 10, "the walk found the sources");
    assert!(saw_bench, "the walk found sim/bench.rs, the one exception");
}

/// The JSON document of every lesson, pretty-printed, is a snapshot too: the keys README
/// promises (`totals`, `groups`, `anomalies`, …) cannot drift without a reviewed change.
#[test]
fn every_lessons_json_matches_its_snapshot() {
    for path in scenario_files() {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let (_, json, _, _) = document(&stem, None);
        let value: serde_json::Value =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{stem}: not JSON: {e}"));
        let pretty = serde_json::to_string_pretty(&value).expect("a value prints");
        insta::with_settings!({
            snapshot_path => "../snapshots/lessons-json",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(stem, pretty);
        });
    }
}

/// The resolved scenario a snapshot prints is itself a scenario: it loads again, resolves
/// to the same text, and gives the same run, byte for byte.
#[test]
fn every_resolved_scenario_loads_again_and_gives_the_same_run() {
    for path in scenario_files() {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let sc = scenario::parse(&lesson_text(&stem)).expect("a lesson loads");
        let text = report::resolved(&sc);
        let again = scenario::parse(&text).unwrap_or_else(|e| {
            panic!("{stem}: the resolved scenario does not load: {e:?}\n{text}")
        });
        assert_eq!(report::resolved(&again), text, "{stem}: resolves the same");
        assert_eq!(again.title, sc.title, "{stem}: keeps its title");
        assert_eq!(again.lesson, sc.lesson, "{stem}: keeps its lesson text");
        let (r1, v1) = simulate_with(&sc, sc.seed, &mut report::Timeline::new(Some(0)));
        let (r2, v2) = simulate_with(&again, again.seed, &mut report::Timeline::new(Some(0)));
        assert_eq!(
            report::json(&sc, sc.seed, &r1, &v1),
            report::json(&again, again.seed, &r2, &v2),
            "{stem}: the same run"
        );
    }
}

/// Strings with quotes, backslashes, newlines and braces survive the resolved form.
#[test]
fn awkward_strings_survive_the_resolved_form() {
    let text = "name: odd\ntitle: 'a \"quoted\" title: with {braces} and a \\\\ backslash'\n\
lesson: |\n  two\n  lines\ntopics: [ { name: t, partitions: 1 } ]\n\
producers:\n  - { name: p, topic: t, send: { count: 1, keys: { pattern: \"k-{n}: #x\" }, event_type: Odd.Type-1 } }\n";
    let sc = scenario::parse(text).unwrap_or_else(|e| panic!("{e:?}"));
    let again = scenario::parse(&report::resolved(&sc))
        .unwrap_or_else(|e| panic!("{e:?}\n{}", report::resolved(&sc)));
    assert_eq!(again.title, sc.title);
    assert_eq!(again.lesson, sc.lesson);
    assert_eq!(report::resolved(&again), report::resolved(&sc));
}

/// Kafka's third idempotence rule: more than 5 requests in flight switches the default
/// off (with the reason in the report), and loads back the same from the resolved form.
#[test]
fn more_than_five_in_flight_switches_default_idempotence_off() {
    let text = "name: n\ntitle: t\ntopics: [ { name: t } ]\nproducers:\n  - { name: p, topic: t, config: { max.in.flight.requests.per.connection: 6 }, send: { count: 1 } }\n";
    let sc = scenario::parse(text).unwrap();
    let c = &sc.producers[0].config;
    assert!(!c.enable_idempotence);
    assert_eq!(c.max_in_flight, 6);
    assert_eq!(
        c.idempotence_switched_off,
        Some("max.in.flight.requests.per.connection is above 5")
    );
    let again = scenario::parse(&report::resolved(&sc)).expect("loads");
    assert_eq!(again.producers[0].config.max_in_flight, 6);
    assert_eq!(report::notes(&again), report::notes(&sc));
}

/// Every regression in scenarios/regressions/ (a shrunk failure with its post-mortem at the
/// top of the file) still meets its expectations.
#[test]
fn every_regression_scenario_meets_its_expectations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/regressions/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the regressions are present");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(
            text.starts_with("# postmortem:"),
            "{}: opens with its post-mortem",
            path.display()
        );
        let sc = scenario::parse(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let (_, v) = kafkasim::simulate(&sc, sc.seed);
        let failed: Vec<String> = v
            .expectations
            .iter()
            .filter(|e| !e.holds)
            .map(|e| e.describe())
            .collect();
        assert!(v.pass, "{}: {}", path.display(), failed.join("; "));
    }
}

/// Idempotence that Kafka switched off (acks: 1 with no enable.idempotence) survives the
/// resolved form: it loads back switched off, with the same note.
#[test]
fn a_switched_off_idempotence_survives_the_resolved_form() {
    let text = "name: n\ntitle: t\ntopics: [ { name: t } ]\nproducers:\n  - { name: p, topic: t, config: { acks: 1 }, send: { count: 1 } }\n";
    let sc = scenario::parse(text).unwrap();
    assert!(!sc.producers[0].config.enable_idempotence);
    assert_eq!(report::notes(&sc).len(), 1, "the report says so");
    let again = scenario::parse(&report::resolved(&sc)).expect("loads");
    assert_eq!(report::notes(&again), report::notes(&sc));
    assert_eq!(report::resolved(&again), report::resolved(&sc));
}
