//! `kafkasim explain`: every lesson's stories match their snapshot, every anomaly the
//! verdict kept is told (alone or named under a story with the same causes), and the
//! command's JSON and exit codes.

use kafkasim::{report, scenario, simulate};
use std::path::Path;
use std::process::Command;

fn lessons() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            (stem, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

fn kafkasim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

#[test]
fn every_lessons_stories_match_their_snapshot_and_tell_every_anomaly() {
    for (stem, text) in lessons() {
        let sc = scenario::parse(&text).unwrap();
        let (run, v) = simulate(&sc, sc.seed);
        let reproduce = format!("kafkasim explain scenarios/{stem}.yaml --seed {}", sc.seed);
        let out = report::explain_text(
            &sc,
            sc.seed,
            &run.tables,
            &v,
            &report::ExplainOptions {
                reproduce: &reproduce,
                limit: None,
            },
        );
        // Each story is "N. headline", and names the anomalies it stands for too.
        let stories = out
            .lines()
            .filter(|l| {
                let digits = l.chars().take_while(|c| c.is_ascii_digit()).count();
                digits > 0 && l[digits..].starts_with(". ")
            })
            .count();
        let more: usize = out
            .match_indices("from the same causes, for ")
            .map(|(i, m)| {
                let n: String = out[i + m.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                n.parse::<usize>().unwrap()
            })
            .sum();
        assert_eq!(
            stories + more,
            v.anomalies.len(),
            "{stem}: every anomaly is told once"
        );
        for a in &v.anomalies {
            assert!(
                out.contains(&format!("So, at t={}ms, ", a.chain.last().unwrap().at))
                    || a.chain.iter().any(|l| l.effect),
                "{stem}: the effect is told"
            );
        }
        insta::with_settings!({
            snapshot_path => "../snapshots/explain",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(stem, out);
        });
    }
}

#[test]
fn the_command_tells_the_crash_behind_a_duplicate_and_exits_as_run_does() {
    let out = kafkasim(&["explain", "crash-before-commit"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    // The lesson's story: the crash, then the restarted member reading p0 from 0 again.
    let crash = text
        .find("At t=111ms, payment-service-1 crashed at after-process-before-commit, after processing p0@0")
        .expect("the crash is told");
    let again = text
        .find("So, at t=9015ms, p0@0 was delivered again, to payment-service-1.")
        .expect("the redelivery is told");
    assert!(crash < again, "the cause comes before the effect:\n{text}");
    assert!(
        text.contains("reproduce: kafkasim explain scenarios/crash-before-commit.yaml --seed 42")
    );
}

#[test]
fn the_json_has_each_anomaly_with_its_chain_ending_in_the_effect() {
    let out = kafkasim(&["explain", "crash-before-commit", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["seed"], 42);
    let anomalies = doc["anomalies"].as_array().unwrap();
    assert_eq!(anomalies.len(), 6);
    for a in anomalies {
        let chain = a["chain"].as_array().unwrap();
        assert_eq!(chain.last().unwrap()["effect"], true, "{a}");
        assert!(a["headline"]
            .as_str()
            .unwrap()
            .contains(" in payment-service"));
    }
    assert_eq!(anomalies[0]["chain"][0]["at_ms"], 111);
}

#[test]
fn an_unusable_file_exits_2_and_a_failing_expectation_exits_1() {
    let out = kafkasim(&["explain", "no-such-lesson"]);
    assert_eq!(out.status.code(), Some(2));
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explain-fails.yaml");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/crash-before-commit.yaml"),
    )
    .unwrap();
    let (head, _) = text
        .split_once("\nexpect:")
        .expect("the lesson has an expect: block");
    std::fs::write(
        &path,
        format!("{head}\nexpect:\n  duplicate_deliveries: 0\n"),
    )
    .unwrap();
    let out = kafkasim(&["explain", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expectations failed"));
}

/// The root of a dual write's loss, the isolation that cut the service off, is a link of
/// every story it caused (it was missing from the stories and from the cause sentence).
#[test]
fn a_dual_writes_loss_is_told_from_the_isolation_that_caused_it() {
    let out = kafkasim(&["explain", "dual-write-loses-events", "--all"]);
    let text = String::from_utf8(out.stdout).unwrap();
    // Every story here: each order committed without its event, and each give-up.
    let stories = text
        .lines()
        .filter(|l| l.contains(" in order-service: (e-"))
        .count();
    assert!(
        text.matches("committed without event in order-service")
            .count()
            > 0,
        "{text}"
    );
    assert_eq!(
        text.matches(
            "At t=303ms, order-service was cut off from the brokers (isolate), until t=4303ms."
        )
        .count(),
        stories,
        "{text}"
    );
}
