//! `kafkasim diff FILE --set PATH=VALUE…` end to end: the built binary on the lessons. Each
//! test asserts what the change does to a run (the real counter values, where the timelines
//! part), how paths resolve (greedy dotted keys, names, indexes, fields the file does not
//! write), and that bad input exits 2 with a message naming the `--set`.

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kafkasim");

fn kafkasim(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("diff")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
}

/// stdout of a diff that must succeed (exit 0, nothing on stderr).
fn ok(args: &[&str]) -> String {
    let out = kafkasim(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    assert_eq!(stderr, "", "{args:?}");
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    serde_json::from_str(&ok(&args)).expect("one JSON document")
}

/// stderr of a diff that must be refused (exit 2, nothing on stdout).
fn refused(args: &[&str]) -> String {
    let out = kafkasim(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: nothing is printed on stdout"
    );
    String::from_utf8(out.stderr).expect("UTF-8 stderr")
}

const AUTO_COMMIT_OFF: &[&str] = &[
    "scenarios/auto-commit.yaml",
    "--set",
    "consumer_groups.analytics.config.enable.auto.commit=false",
];

#[test]
fn turning_auto_commit_off_redelivers_everything_below_the_old_committed_offsets() {
    let j = json(AUTO_COMMIT_OFF);
    // As written, analytics-1 auto-commits p0 → 7 and p1 → 4 at t=1005, crashes at 1750,
    // and analytics-2 redelivers the 7 records processed since. With no commits at all
    // (processing.commit is none), analytics-2 finds no committed offset and starts from
    // auto.offset.reset=earliest: those 7 + 4 records are delivered and charged again too.
    assert_eq!(j["before"]["totals"]["duplicate_deliveries"], 7);
    assert_eq!(j["after"]["totals"]["duplicate_deliveries"], 7 + 7 + 4);
    assert_eq!(
        j["counters"]["duplicate_effects"],
        serde_json::json!([7, 18])
    );
    assert_eq!(
        j["counters"]["analytics.delivered"],
        serde_json::json!([47, 58])
    );
    assert_eq!(
        j["counters"]["lost"],
        serde_json::Value::Null,
        "lost is 0 in both"
    );
    assert_eq!(j["before"]["pass"], true);
    assert_eq!(j["after"]["pass"], true);
    // The runs part where the first auto-commit would have been stored.
    let at = &j["parted_at"];
    assert_eq!(at["t_ms"], 1005);
    assert_eq!(at["before"]["event"], "commit");
    assert_eq!(at["before"]["detail"], "p0 → 7 by analytics-1");
    assert_eq!(at["after"]["event"], "send");
    assert_eq!(
        j["set"],
        serde_json::json!([{
            "path": "consumer_groups.analytics.config.enable.auto.commit",
            "before": "true", "default": null, "after": "false"
        }])
    );
}

#[test]
fn the_issues_example_adds_auto_commits_which_do_not_prevent_the_duplicate_charge() {
    let j = json(&[
        "crash-before-commit",
        "--set",
        "consumer_groups.payment-service.config.enable.auto.commit=true",
    ]);
    assert_eq!(j["set"][0]["before"], "false");
    // The crash comes at t=111ms, before any auto-commit is due (auto.commit.interval.ms
    // 5000 from the join): the charge is still applied twice.
    assert_eq!(j["before"]["totals"]["duplicate_effects"], 1);
    assert_eq!(j["after"]["totals"]["duplicate_effects"], 1);
    assert_eq!(j["after"]["pass"], true);
    // The first auto-commit, 5000 ms after the join completed, is where the runs part.
    let at = &j["parted_at"];
    assert_eq!(at["t_ms"], 5103);
    assert_eq!(at["after"]["event"], "commit");
    assert_eq!(at["after"]["detail"], "p2 → 3 by payment-service-2");
    assert_eq!(at["before"]["t_ms"], 6003);
}

#[test]
fn a_dotted_topic_name_and_a_property_the_file_does_not_write_both_resolve() {
    let text = ok(&[
        "crash-before-commit",
        "--set",
        "topics.order.placed.partitions=1",
        "--set",
        "consumer_groups.payment-service.config.heartbeat.interval.ms=1000",
    ]);
    assert!(
        text.contains("  topics.order.placed.partitions: 3 → 1\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  consumer_groups.payment-service.config.heartbeat.interval.ms: (default 3000) → 1000\n"
        ),
        "{text}"
    );
    // One partition for two members: one of them idles in each of the two generations.
    assert!(
        text.contains("≠ payment-service.idle_members              0           2\n"),
        "{text}"
    );
    assert!(text.contains("they differ from the first row"), "{text}");
}

#[test]
fn an_index_chooses_the_same_element_as_its_name() {
    let by_name = json(AUTO_COMMIT_OFF);
    let by_index = json(&[
        "scenarios/auto-commit.yaml",
        "--set",
        "consumer_groups.0.config.enable.auto.commit=false",
    ]);
    assert_eq!(by_index["after"], by_name["after"]);
    assert_eq!(by_index["counters"], by_name["counters"]);
    assert_eq!(by_index["set"][0]["before"], "true");
}

#[test]
fn a_change_that_touches_no_run_gives_timelines_that_never_part_on_one_seed() {
    let text = ok(&[
        "scenarios/auto-commit.yaml",
        "--set",
        "title=The same run under another title",
        "--set",
        "expect.lost=>= 1",
    ]);
    assert!(
        text.contains("\nThe timelines never part: all 215 rows are the same in both runs.\n"),
        "{text}"
    );
    assert!(text.contains("seed 5 (both runs)"), "{text}");
    assert!(
        text.contains("after: The same run under another title\n"),
        "{text}"
    );
    // An unquoted `>= 1` is not YAML on its own; it is written as the string ">= 1".
    assert!(text.contains("  expect.lost: 0 → \">= 1\"\n"), "{text}");
    assert!(
        text.contains("  lost                     0 → >= 1  ok   0        FAIL 0\n"),
        "{text}"
    );
    let j = json(&[
        "scenarios/auto-commit.yaml",
        "--set",
        "title=x",
        "--seed",
        "7",
    ]);
    assert_eq!(j["before"]["seed"], 7);
    assert_eq!(j["after"]["seed"], 7);
    assert_eq!(j["timelines"], "never");
    assert_eq!(j["parted_at"], serde_json::Value::Null);
    assert_eq!(j["counters"], serde_json::json!({}));
}

#[test]
fn runs_that_agree_past_the_bound_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.yaml");
    std::fs::write(
        &file,
        "name: big\ntitle: Many records\ntopics: [{ name: t, partitions: 2 }]\nproducers:\n  - { name: p, topic: t, send: { count: 15000, every_ms: 1, keys: { pattern: \"k-{n}\", distinct: 10 } } }\nconsumer_groups: [{ name: g, topics: [t], processing: { time_ms: 0 } }]\nrun: { until_ms: 100000 }\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let text = ok(&[file, "--set", "run.until_ms=99999"]);
    assert!(
        text.contains("The timelines do not part within the first 50000 rows"),
        "{text}"
    );
    let j = json(&[file, "--set", "run.until_ms=99999"]);
    assert_eq!(j["timelines"], "not-within-bound");
    assert_eq!(j["rows_compared"], 50000);
}

#[test]
fn an_unknown_path_is_one_line_naming_the_set_the_part_and_the_closest_name() {
    let err = refused(&[
        "scenarios/auto-commit.yaml",
        "--set",
        "consumer_groups.analytics.config.enable.auto.comit=false",
    ]);
    assert_eq!(
        err,
        "--set consumer_groups.analytics.config.enable.auto.comit=false: `enable.auto.comit` is not a field of `consumer_groups.analytics.config`; did you mean `enable.auto.commit`?\n"
    );
    let err = refused(&[
        "scenarios/auto-commit.yaml",
        "--set",
        "consumer_groups.analytic.members=3",
    ]);
    assert_eq!(
        err,
        "--set consumer_groups.analytic.members=3: `consumer_groups` has no element named `analytic`, and it is not an index below 1 (its names: analytics); did you mean `analytics`?\n"
    );
    let err = refused(&["scenarios/auto-commit.yaml", "--set", "services.0.name=x"]);
    assert!(err.contains("the file has no list `services`"), "{err}");
    let err = refused(&["scenarios/auto-commit.yaml", "--set", "run.until_ms"]);
    assert!(err.contains("expected PATH=VALUE"), "{err}");
}

#[test]
fn a_bad_value_is_located_in_the_edited_text_and_names_its_set() {
    let err = refused(&[
        "scenarios/auto-commit.yaml",
        "--set",
        "consumer_groups.analytics.config.enable.auto.commit=maybe",
    ]);
    let mut lines = err.lines().skip(1);
    assert_eq!(
        lines.next(),
        Some("scenarios/auto-commit.yaml:23:35: invalid boolean (written by --set consumer_groups.analytics.config.enable.auto.commit=maybe)")
    );
    assert!(
        lines
            .nth(1)
            .unwrap()
            .contains("{ enable.auto.commit: maybe,"),
        "{err}"
    );
    // A value that breaks a rule elsewhere is located where the rule is checked.
    let err = refused(&[
        "scenarios/auto-commit.yaml",
        "--set",
        "consumer_groups.analytics.idempotency.ttl_ms=5",
    ]);
    assert!(
        err.contains(":25:20: missing field `store` (written by --set consumer_groups.analytics.idempotency.ttl_ms=5)"),
        "{err}"
    );
}

#[test]
fn the_text_comparison_reads_like_a_document() {
    let text = ok(AUTO_COMMIT_OFF);
    assert_eq!(text, ok(AUTO_COMMIT_OFF), "the same bytes every time");
    insta::with_settings!({
        snapshot_path => "../snapshots/whatif",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("kafkasim diff {}", AUTO_COMMIT_OFF.join(" ")),
    }, {
        insta::assert_snapshot!("auto-commit-off", text);
    });
}

#[test]
fn a_run_cut_short_parts_where_its_timeline_ends() {
    let args = ["scenarios/auto-commit.yaml", "--set", "run.until_ms=4000"];
    let text = ok(&args);
    assert!(
        text.ends_with("    7011  before  analytics-2            poll         p1@4..15 (12 records)\n          after   (the timeline ends here)\n"),
        "{text}"
    );
    let j = json(&args);
    assert_eq!(j["parted_at"]["after"], serde_json::Value::Null);
    assert_eq!(j["parted_at"]["before"]["event"], "expired");
    assert_eq!(j["parted_at"]["t_ms"], 7005);
    assert_eq!(j["after"]["end_ms"], 4000);
}

/// A value with characters of more than one byte, in a scenario that then fails to load,
/// is located like any other (it panicked on a char boundary once).
#[test]
fn a_multibyte_value_that_breaks_the_scenario_is_located_not_a_panic() {
    for sets in [
        &["name=é"][..],
        &["topics.0.name=é"],
        &["title=日本語", "seed=-1"],
        &["consumer_groups.0.name=ü"],
    ] {
        let mut args = vec!["scenarios/crash-before-commit.yaml"];
        for set in sets {
            args.extend(["--set", set]);
        }
        let err = refused(&args);
        assert!(err.contains("does not load"), "{sets:?}: {err}");
        assert!(err.contains(":") && err.contains(" | "), "located: {err}");
    }
}

/// `--seed` runs both scenarios on one seed, so with a `--set seed=…` the change would be
/// shown and not made: the pair is refused.
#[test]
fn seed_and_a_set_of_seed_together_are_refused() {
    let err = refused(&[
        "scenarios/crash-before-commit.yaml",
        "--seed",
        "3",
        "--set",
        "seed=7",
    ]);
    assert!(err.contains("contradict"), "{err}");
}
