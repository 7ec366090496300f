//! `kafkasim assign` end to end: the built binary run on upstream vectors (its text and JSON
//! are snapshots in snapshots/assign/, and the JSON is also compared with the vector), and
//! on bad input, which must exit 2 with one line naming the flag and the value.

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kafkasim");

fn kafkasim(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("assign")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
}

fn stdout_of(args: &[&str]) -> String {
    let out = kafkasim(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    assert_eq!(stderr, "", "{args:?}");
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn snapshot(name: &str, args: &[&str], text: &str) {
    let description = format!("kafkasim assign {}", args.join(" "));
    insta::with_settings!({
        snapshot_path => "../snapshots/assign",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => description,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// AbstractStickyAssignorTest#testMaxQuotaConsumerMoreThanNumExpectedMaxCapacityMembers
/// (tests/vectors/sticky.yaml): consumer2 keeps two partitions because of Java's HashMap order.
const MAX_QUOTA: &[&str] = &[
    "--topic",
    "topic1=2",
    "--topic",
    "topic2=2",
    "--member",
    "consumer1=topic1,topic2",
    "--member",
    "consumer2=topic1,topic2",
    "--member",
    "consumer3=topic1,topic2",
    "--owned",
    "consumer1=topic1-0,topic2-0",
    "--owned",
    "consumer2=topic1-1,topic2-1",
];

fn with_strategy<'a>(strategy: &'a str, rest: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--strategy", strategy];
    args.extend_from_slice(rest);
    args.extend_from_slice(extra);
    args
}

fn json_of(args: &[&str]) -> BTreeMap<String, Vec<String>> {
    let text = stdout_of(args);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{args:?}: not the JSON map: {e}\n{text}"))
}

fn expected(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(m, parts)| (m.to_string(), parts.iter().map(|p| p.to_string()).collect()))
        .collect()
}

#[test]
fn sticky_matches_the_max_quota_vector_through_the_cli() {
    let args = with_strategy("sticky", MAX_QUOTA, &[]);
    snapshot("sticky-max-quota", &args, &stdout_of(&args));
    let args = with_strategy("sticky", MAX_QUOTA, &["--format", "json"]);
    let json = stdout_of(&args);
    snapshot("sticky-max-quota-json", &args, &json);
    assert_eq!(
        json_of(&args),
        expected(&[
            ("consumer1", &["topic1-0"]),
            ("consumer2", &["topic1-1", "topic2-1"]),
            ("consumer3", &["topic2-0"]),
        ])
    );
}

#[test]
fn cooperative_sticky_withholds_the_moving_partition_through_the_cli() {
    let args = with_strategy("cooperative-sticky", MAX_QUOTA, &[]);
    let text = stdout_of(&args);
    snapshot("cooperative-sticky-max-quota", &args, &text);
    assert!(
        text.contains("topic2-0 (from consumer1, for consumer3)"),
        "{text}"
    );
    // The JSON is only the member -> partitions map: round 1, cooperative_round1 of the vector.
    let args = with_strategy("cooperative-sticky", MAX_QUOTA, &["--format", "json"]);
    assert_eq!(
        json_of(&args),
        expected(&[
            ("consumer1", &["topic1-0"]),
            ("consumer2", &["topic1-1", "topic2-1"]),
            ("consumer3", &[]),
        ])
    );
    // The next rebalance, after consumer1 has revoked topic2-0, hands it out.
    let next: Vec<&str> = vec![
        "--strategy",
        "cooperative-sticky",
        "--topic",
        "topic1=2",
        "--topic",
        "topic2=2",
        "--member",
        "consumer1=topic1,topic2",
        "--member",
        "consumer2=topic1,topic2",
        "--member",
        "consumer3=topic1,topic2",
        "--owned",
        "consumer1=topic1-0",
        "--owned",
        "consumer2=topic1-1,topic2-1",
        "--generation",
        "consumer1=2",
        "--generation",
        "consumer2=2",
        "--format",
        "json",
    ];
    assert_eq!(json_of(&next)["consumer3"], vec!["topic2-0".to_string()]);
}

#[test]
fn range_orders_static_members_by_instance_through_the_cli() {
    // RangeAssignorTest#testTwoStaticConsumersTwoTopicsSixPartitions.
    let args = [
        "--strategy",
        "range",
        "--topic",
        "topic1=3",
        "--topic",
        "topic2=3",
        "--member",
        "consumer-b=topic1,topic2",
        "--member",
        "consumer-a=topic1,topic2",
        "--instance",
        "consumer-b=instance1",
        "--instance",
        "consumer-a=instance2",
    ];
    snapshot("range-static-members", &args, &stdout_of(&args));
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    assert_eq!(
        json_of(&json_args),
        expected(&[
            (
                "consumer-b",
                &["topic1-0", "topic1-1", "topic2-0", "topic2-1"]
            ),
            ("consumer-a", &["topic1-2", "topic2-2"]),
        ])
    );
}

#[test]
fn partitions_sort_by_topic_then_number_not_as_text() {
    let args = [
        "--strategy",
        "roundrobin",
        "--topic",
        "b=12",
        "--topic",
        "a=1",
        "--member",
        "m=a,b",
        "--format",
        "json",
    ];
    let parts = &json_of(&args)["m"];
    assert_eq!(parts[..4], ["a-0", "b-0", "b-1", "b-2"]);
    assert_eq!(parts.last().map(String::as_str), Some("b-11"));
}

/// Bad input: (flag the message must start with, arguments).
const BAD: &[(&str, &[&str])] = &[
    (
        "--strategy sticky2",
        &["--strategy", "sticky2", "--topic", "t=3", "--member", "a=t"],
    ),
    (
        "--topic t=0",
        &["--strategy", "range", "--topic", "t=0", "--member", "a=t"],
    ),
    (
        "--topic t=1001",
        &[
            "--strategy",
            "range",
            "--topic",
            "t=1001",
            "--member",
            "a=t",
        ],
    ),
    (
        "--topic t",
        &["--strategy", "range", "--topic", "t", "--member", "a=t"],
    ),
    (
        "--topic t=x",
        &["--strategy", "range", "--topic", "t=x", "--member", "a=t"],
    ),
    (
        "--topic t=2",
        &[
            "--strategy",
            "range",
            "--topic",
            "t=1",
            "--topic",
            "t=2",
            "--member",
            "a=t",
        ],
    ),
    (
        "--member a=u",
        &["--strategy", "range", "--topic", "t=3", "--member", "a=u"],
    ),
    (
        "--member a",
        &["--strategy", "range", "--topic", "t=3", "--member", "a"],
    ),
    (
        "--member =t",
        &["--strategy", "range", "--topic", "t=3", "--member", "=t"],
    ),
    (
        "--member a=t",
        &[
            "--strategy",
            "range",
            "--topic",
            "t=3",
            "--member",
            "a=t",
            "--member",
            "a=t",
        ],
    ),
    (
        "--owned b=t-0",
        &[
            "--strategy",
            "sticky",
            "--topic",
            "t=3",
            "--member",
            "a=t",
            "--owned",
            "b=t-0",
        ],
    ),
    (
        "--owned a=t-3",
        &[
            "--strategy",
            "sticky",
            "--topic",
            "t=3",
            "--member",
            "a=t",
            "--owned",
            "a=t-3",
        ],
    ),
    (
        "--owned a=t0",
        &[
            "--strategy",
            "sticky",
            "--topic",
            "t=3",
            "--member",
            "a=t",
            "--owned",
            "a=t0",
        ],
    ),
    (
        "--owned a=u-0",
        &[
            "--strategy",
            "sticky",
            "--topic",
            "t=3",
            "--member",
            "a=t",
            "--owned",
            "a=u-0",
        ],
    ),
    (
        "--generation a=x",
        &[
            "--strategy",
            "sticky",
            "--topic",
            "t=3",
            "--member",
            "a=t",
            "--generation",
            "a=x",
        ],
    ),
    (
        "--generation a=-2",
        &[
            "--strategy",
            "sticky",
            "--topic",
            "t=3",
            "--member",
            "a=t",
            "--generation",
            "a=-2",
        ],
    ),
    (
        "--generation b=1",
        &[
            "--strategy",
            "sticky",
            "--topic",
            "t=3",
            "--member",
            "a=t",
            "--generation",
            "b=1",
        ],
    ),
    (
        "--instance b=i",
        &[
            "--strategy",
            "range",
            "--topic",
            "t=3",
            "--member",
            "a=t",
            "--instance",
            "b=i",
        ],
    ),
    (
        "--instance b=i",
        &[
            "--strategy",
            "range",
            "--topic",
            "t=3",
            "--member",
            "a=t",
            "--member",
            "b=t",
            "--instance",
            "a=i",
            "--instance",
            "b=i",
        ],
    ),
];

#[test]
fn bad_input_exits_2_with_one_line_naming_the_flag_and_value() {
    let mut report = String::new();
    for (prefix, args) in BAD {
        let out = kafkasim(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: something on stdout");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("{prefix}: ")),
            "{args:?}: {stderr}"
        );
        report.push_str(&format!("$ kafkasim assign {}\n{stderr}\n", args.join(" ")));
    }
    snapshot("errors", &["(see each command)"], &report);
}

#[test]
fn limits_are_refused_not_run() {
    let topics: Vec<String> = (0..11).map(|i| format!("t{i}=1000")).collect();
    let mut args = vec!["--strategy", "sticky", "--member", "a=t0"];
    for t in &topics {
        args.extend(["--topic", t.as_str()]);
    }
    let out = kafkasim(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "--topic t10=1000: at most 10000 partitions over all topics\n"
    );
    let members: Vec<String> = (0..201).map(|i| format!("m{i}=t")).collect();
    let mut args = vec!["--strategy", "range", "--topic", "t=1"];
    for m in &members {
        args.extend(["--member", m.as_str()]);
    }
    let out = kafkasim(&args);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "--member m200=t: a group may have at most 200 members\n"
    );
}
