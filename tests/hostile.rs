//! Hostile input, kept honest: whatever a student's file holds, kafkasim ends as the
//! command line says it does (exit 2 with located diagnostics, or a run that exits 0 or
//! 1), never with a panic, and prints no control character it was given.
//!
//! proptest feeds the loader and the simulator
//! - arbitrary bytes (as `run` reads a file: not UTF-8 is exit 2 before the loader),
//!   arbitrary Unicode text, and a soup of YAML tokens and scenario field names;
//! - near-valid scenarios: every lesson with one thing changed where it is written (a
//!   value replaced by another type, a huge, negative or zero number, a string with control
//!   or invisible characters, a key removed, duplicated or misspelt, a list emptied or
//!   grown, an anchor and alias, a very long string).
//!
//! Each input runs in `catch_unwind`; a panic fails the test with the input printed. A file
//! that loads is run to its end (its text report and JSON are built too) with its event
//! budget capped, so a case stays short in a debug build; the run must end within that
//! budget. What a run costs within the documented limits uncapped is measured with the
//! release binary, not here (README, Hostile input). Then the built binary itself runs a
//! few dozen such files: each exits 0, 1 or 2 and writes no raw control byte.

use kafkasim::{diag, lessons, report, scenario, simulate_with};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{FileFailurePersistence, RngSeed, TestRunner};
use serde_saphyr::granit_parser::{Event, Parser, Span, StructureStyle};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Events a hostile run may take here: the documented `run.max_events` bounds a real run;
/// this keeps a debug-build case to a fraction of a second.
const EVENTS_CAP: u64 = 100_000;

fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/hostile.txt",
        ))),
        ..ProptestConfig::default()
    };
    if c.rng_seed == RngSeed::Random {
        c.rng_seed = RngSeed::Fixed(20261202);
    }
    c
}

/// How an input ended, as the command line would end it.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// Refused: the exit code is 2.
    Refused,
    /// Ran: exit 0 if every expectation held (`pass`), else 1.
    Ran { pass: bool },
}

/// `true` when `s` holds a character a terminal could act on (line breaks and tabs are
/// layout, not control).
fn has_raw_control(s: &str) -> bool {
    s.chars()
        .any(|c| c != '\n' && c != '\t' && !diag::terminal_safe(c))
}

/// Loads `text` as `kafkasim run` does and, if it loads, runs it and builds its text report
/// and JSON. `Err` says what went wrong (a panic, a control character printed, a run past
/// its budget), with the input.
fn judge(text: &str) -> Result<Ending, String> {
    let shown = || format!("--- input ({} bytes) ---\n{text:?}", text.len());
    let outcome = catch_unwind(AssertUnwindSafe(|| match scenario::parse(text) {
        Err(problems) => {
            assert!(!problems.is_empty(), "refused with no diagnostic");
            let rendered = diag::render("hostile.yaml", text, &problems);
            assert!(
                !has_raw_control(&rendered),
                "a control character reached the diagnostics: {rendered:?}"
            );
            Ending::Refused
        }
        Ok(mut sc) => {
            sc.run.max_events = sc.run.max_events.min(EVENTS_CAP);
            let mut rows = report::Timeline::new(Some(200));
            let (run, verdict) = simulate_with(&sc, sc.seed, &mut rows);
            assert!(
                run.events <= sc.run.max_events,
                "{} events, over the budget of {}",
                run.events,
                sc.run.max_events
            );
            let opts = report::TextOptions {
                reproduce: "kafkasim run hostile.yaml",
                timeline_limit: Some(200),
            };
            let out = report::text(&sc, sc.seed, &run, &verdict, &rows, &opts);
            assert!(
                !has_raw_control(&out),
                "a control character reached the report"
            );
            let json = report::json(&sc, sc.seed, &run, &verdict);
            serde_json::from_str::<serde_json::Value>(&json).expect("the JSON parses");
            Ending::Ran { pass: verdict.pass }
        }
    }));
    match outcome {
        Ok(ending) => Ok(ending),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("panicked: {why}\n{}", shown()))
        }
    }
}

/// Bytes as `run` reads a file: more than 1 MiB or not UTF-8 is refused (exit 2) before
/// the loader sees it; the rest is text.
fn judge_bytes(bytes: &[u8]) -> Result<Ending, String> {
    if bytes.len() > scenario::limits::FILE_BYTES {
        return Ok(Ending::Refused);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => judge(text),
        Err(_) => Ok(Ending::Refused),
    }
}

// ---------------------------------------------------------------------------------------
// Where things are written: the YAML's nodes with their byte spans.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Scalar,
    List,
    Map,
    Alias,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Root,
    Key,
    Value,
    Item,
}

/// One node of a scenario's YAML: its bytes are `text[start..end]`.
#[derive(Clone, Copy, Debug)]
struct Node {
    start: usize,
    end: usize,
    /// Its 0-based column.
    col: usize,
    shape: Shape,
    role: Role,
    /// Written inside `[ ]` or `{ }`.
    in_flow: bool,
    /// For a key: its value's end, so `text[start..value_end]` is the whole entry.
    value_end: usize,
}

/// Every node of `text`, in document order, or None if it is not one YAML document.
fn nodes(text: &str) -> Option<Vec<Node>> {
    let mut events = Parser::new_from_str(text).filter_map(|e| match e {
        Ok((Event::Comment(..) | Event::Anchor(..), _)) => None,
        other => Some(other.ok()),
    });
    let mut out = Vec::new();
    loop {
        let (event, span) = events.next()??;
        match event {
            Event::StreamStart | Event::DocumentStart(..) => {}
            Event::StreamEnd | Event::DocumentEnd => break,
            event => {
                walk(event, span, &mut events, &mut out, Role::Root, false, 0)?;
            }
        }
    }
    Some(out)
}

/// Adds the node starting with `event` (and its children) to `out`; returns its end.
fn walk<'a>(
    event: Event<'a>,
    span: Span,
    events: &mut impl Iterator<Item = Option<(Event<'a>, Span)>>,
    out: &mut Vec<Node>,
    role: Role,
    in_flow: bool,
    depth: usize,
) -> Option<usize> {
    if depth > 40 {
        return None;
    }
    let start = span.start.byte_offset()?;
    let col = span.start.col();
    let me = out.len();
    let mut node = Node {
        start,
        end: span.end.byte_offset()?,
        col,
        shape: Shape::Scalar,
        role,
        in_flow,
        value_end: 0,
    };
    match event {
        Event::Scalar(..) => {}
        Event::Alias(_) | Event::UnresolvedAlias(_) => node.shape = Shape::Alias,
        Event::SequenceStart(style, ..) | Event::MappingStart(style, ..) => {
            let map = matches!(event, Event::MappingStart(..));
            node.shape = if map { Shape::Map } else { Shape::List };
            let flow = matches!(style, StructureStyle::Flow);
            out.push(node);
            let mut last_end = None;
            let mut key_at = None;
            let mut i = 0;
            let end_span = loop {
                let (e, s) = events.next()??;
                if matches!(e, Event::SequenceEnd | Event::MappingEnd) {
                    break s;
                }
                let child_role = match (map, i % 2) {
                    (false, _) => Role::Item,
                    (true, 0) => Role::Key,
                    (true, _) => Role::Value,
                };
                let at = out.len();
                let end = walk(e, s, events, out, child_role, in_flow || flow, depth + 1)?;
                if child_role == Role::Key {
                    key_at = Some(at);
                } else if let (Role::Value, Some(k)) = (child_role, key_at.take()) {
                    out[k].value_end = end;
                }
                last_end = Some(end);
                i += 1;
            };
            out[me].end = match (flow, last_end) {
                (true, _) => end_span.end.byte_offset()?,
                (false, Some(e)) => e,
                (false, None) => end_span.start.byte_offset()?,
            };
            return Some(out[me].end);
        }
        _ => return None,
    }
    out.push(node);
    Some(node.end)
}

// ---------------------------------------------------------------------------------------
// One change to a lesson.

/// Values of another type than the field expects.
const OTHER_TYPES: &[&str] = &[
    "[1, 2]",
    "{ x: 1 }",
    "true",
    "\"text\"",
    "~",
    "1.5",
    "''",
    "[]",
    "{}",
    "-",
    "!!binary aGk=",
];
/// Numbers at and past the edges: zero, negative, the limits, the integer widths.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "100",
    "1000",
    "65536",
    "1000000",
    "10000000",
    "10000001",
    "100000000",
    "1000000000",
    "1000000001",
    "2147483647",
    "2147483648",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "-9223372036854775808",
    "1e9",
    "0x10",
    "0o7",
    "1_000",
    "+5",
    "-0",
    ".inf",
    ".nan",
];
/// Strings with characters a terminal would act on or that hide text.
const NASTY_STRINGS: &[&str] = &[
    "\"bell\\a\"",
    "\"\\e[2J\\e[31mred\"",
    "\"\\e]0;title\\a\"",
    "\"right\\u202Eleft\"",
    "\"zero\\u200Bwidth\"",
    "\"nul\\0byte\"",
    "\"line\\nbreak\"",
    "\"cr\\rreturn\"",
    "\"tab\\there\"",
    "\"\\u2028sep\"",
    "\"\\uFEFFbom\"",
    "\"\\x7f del\"",
    "\"\\u0085next\"",
    "\"{n}{n}{n}\"",
    "\"ünï-cödé\"",
    "\"a b\"",
    "\"\"",
    "\"..\"",
];

#[derive(Clone, Debug)]
enum Change {
    OtherType {
        at: usize,
        value: usize,
    },
    Number {
        at: usize,
        value: usize,
    },
    Nasty {
        at: usize,
        value: usize,
    },
    Long {
        at: usize,
        len: usize,
    },
    RemoveEntry {
        at: usize,
    },
    DuplicateEntry {
        at: usize,
    },
    MisspellKey {
        at: usize,
        how: usize,
    },
    EmptyList {
        at: usize,
    },
    GrowList {
        at: usize,
        times: usize,
    },
    /// An anchor on one node and an alias to it in place of another.
    Alias {
        from: usize,
        to: usize,
    },
    UnknownAlias {
        at: usize,
    },
}

fn change() -> impl Strategy<Value = Change> {
    let at = any::<usize>();
    prop_oneof![
        1 => (at, 0..OTHER_TYPES.len()).prop_map(|(at, value)| Change::OtherType { at, value }),
        3 => (at, 0..NUMBERS.len()).prop_map(|(at, value)| Change::Number { at, value }),
        2 => (at, 0..NASTY_STRINGS.len()).prop_map(|(at, value)| Change::Nasty { at, value }),
        1 => (at, prop_oneof![Just(65), Just(201), Just(5000), Just(200_000)]).prop_map(|(at, len)| Change::Long { at, len }),
        1 => at.prop_map(|at| Change::RemoveEntry { at }),
        1 => at.prop_map(|at| Change::DuplicateEntry { at }),
        1 => (at, 0..4usize).prop_map(|(at, how)| Change::MisspellKey { at, how }),
        1 => at.prop_map(|at| Change::EmptyList { at }),
        1 => (at, 1..=50usize).prop_map(|(at, times)| Change::GrowList { at, times }),
        1 => (at, any::<usize>()).prop_map(|(from, to)| Change::Alias { from, to }),
        1 => at.prop_map(|at| Change::UnknownAlias { at }),
    ]
}

/// The `i`-th (wrapped) node that `keep` accepts.
fn pick(nodes: &[Node], i: usize, keep: impl Fn(&Node) -> bool) -> Option<Node> {
    let found: Vec<&Node> = nodes.iter().filter(|n| keep(n)).collect();
    (!found.is_empty()).then(|| *found[i % found.len()])
}

fn replace(text: &str, n: &Node, with: &str) -> String {
    format!("{}{with}{}", &text[..n.start], &text[n.end..])
}

/// `text` with one change, or None when the lesson has nowhere to make it.
fn apply(text: &str, change: &Change) -> Option<String> {
    let nodes = nodes(text)?;
    let scalar_value =
        |n: &Node| n.shape == Shape::Scalar && matches!(n.role, Role::Value | Role::Item);
    let key = |n: &Node| n.role == Role::Key && n.shape == Shape::Scalar && n.value_end > 0;
    Some(match *change {
        Change::OtherType { at, value } => {
            replace(text, &pick(&nodes, at, scalar_value)?, OTHER_TYPES[value])
        }
        Change::Number { at, value } => {
            replace(text, &pick(&nodes, at, scalar_value)?, NUMBERS[value])
        }
        Change::Nasty { at, value } => {
            replace(text, &pick(&nodes, at, scalar_value)?, NASTY_STRINGS[value])
        }
        Change::Long { at, len } => {
            replace(text, &pick(&nodes, at, scalar_value)?, &"x".repeat(len))
        }
        Change::RemoveEntry { at } => {
            let k = pick(&nodes, at, key)?;
            let mut end = k.value_end;
            // In a flow map, take the comma after the entry too.
            if k.in_flow {
                let rest = &text[end..];
                let skip = rest.len() - rest.trim_start_matches([' ', ',']).len();
                end += skip;
            }
            format!("{}{}", &text[..k.start], &text[end..])
        }
        Change::DuplicateEntry { at } => {
            let k = pick(&nodes, at, key)?;
            let entry = &text[k.start..k.value_end];
            let sep = if k.in_flow {
                ", ".to_string()
            } else {
                format!("\n{}", " ".repeat(k.col))
            };
            format!(
                "{}{sep}{entry}{}",
                &text[..k.value_end],
                &text[k.value_end..]
            )
        }
        Change::MisspellKey { at, how } => {
            let k = pick(&nodes, at, key)?;
            let name = &text[k.start..k.end];
            let spelt = match how {
                0 => name.chars().rev().collect(),
                1 => format!("{name}s"),
                2 => name.replace(['.', '_'], "-"),
                _ => name.to_uppercase(),
            };
            replace(text, &k, &spelt)
        }
        Change::EmptyList { at } => {
            replace(text, &pick(&nodes, at, |n| n.shape == Shape::List)?, "[]")
        }
        Change::GrowList { at, times } => {
            // An item of a list, written again `times` times after itself.
            let item = pick(&nodes, at, |n| n.role == Role::Item)?;
            let body = &text[item.start..item.end];
            let sep = if item.in_flow {
                ", ".to_string()
            } else {
                format!("\n{}- ", " ".repeat(item.col.saturating_sub(2)))
            };
            let copies: String = (0..times).map(|_| format!("{sep}{body}")).collect();
            format!("{}{copies}{}", &text[..item.end], &text[item.end..])
        }
        Change::Alias { from, to } => {
            let anchored = pick(&nodes, from, |n| matches!(n.role, Role::Value | Role::Item))?;
            let target = pick(&nodes, to, |n| scalar_value(n) && n.start > anchored.end)?;
            format!(
                "{}&x {}*x{}",
                &text[..anchored.start],
                &text[anchored.start..target.start],
                &text[target.end..]
            )
        }
        Change::UnknownAlias { at } => replace(text, &pick(&nodes, at, scalar_value)?, "*nowhere"),
    })
}

/// A lesson, by index into the embedded list.
fn lesson(i: usize) -> &'static str {
    lessons::LESSONS[i % lessons::LESSONS.len()].source
}

/// Tokens from which a generated text is strung together: YAML's structure and the
/// scenario's field names, so a soup reaches the shape and meaning stages, not only the
/// YAML parser.
const TOKENS: &[&str] = &[
    "\n",
    "\n  ",
    "\n    ",
    "  ",
    " ",
    "- ",
    ": ",
    ", ",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "!!str ",
    "!!int ",
    "? ",
    "|\n  ",
    ">\n  ",
    "'",
    "\"",
    "#",
    "---\n",
    "...\n",
    "\t",
    "name",
    "title",
    "topics",
    "producers",
    "consumer_groups",
    "services",
    "faults",
    "run",
    "expect",
    "cluster",
    "brokers",
    "partitions",
    "send",
    "count",
    "every_ms",
    "keys",
    "pattern",
    "distinct",
    "members",
    "at_ms",
    "crash",
    "restart",
    "join",
    "until_ms",
    "max_events",
    "topic",
    "t",
    "p",
    "g",
    "g-1",
    "0",
    "1",
    "-1",
    "3",
    "99999999999",
    "true",
    "null",
    "~",
    "\u{202E}",
    "\u{7}",
    "\u{0}",
    "é",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(0..TOKENS.len(), 0..200)
        .prop_map(|ix| ix.into_iter().map(|i| TOKENS[i]).collect())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_end_in_an_exit_code_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        judge_bytes(&bytes).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn arbitrary_text_ends_in_an_exit_code_never_a_panic(text in any::<String>()) {
        judge(&text).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn a_soup_of_yaml_and_field_names_ends_in_an_exit_code_never_a_panic(text in soup()) {
        judge(&text).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(config(192))]

    /// Each lesson with one thing changed: refused with a located message, or run to its
    /// end within its event budget.
    #[test]
    fn a_lesson_with_one_field_changed_ends_in_an_exit_code_never_a_panic(i in any::<usize>(), change in change()) {
        let original = lesson(i);
        let Some(text) = apply(original, &change) else {
            return Err(TestCaseError::reject("the lesson has nowhere to make that change"));
        };
        judge(&text).map_err(TestCaseError::fail)?;
    }
}

/// The mutation engine really does make near-valid files: on the lessons, most changes
/// are refused by stage one or two with a located message, and some still load and run.
/// (If it only ever broke the YAML, the test above would test the parser alone.)
#[test]
fn the_changes_reach_every_stage_of_the_loader() {
    let mut runner = TestRunner::deterministic();
    let (mut refused, mut ran, mut not_yaml) = (0, 0, 0);
    for _ in 0..300 {
        let i = any::<usize>().new_tree(&mut runner).unwrap().current();
        let c = change().new_tree(&mut runner).unwrap().current();
        let Some(text) = apply(lesson(i), &c) else {
            continue;
        };
        if nodes(&text).is_none() {
            not_yaml += 1;
        }
        match judge(&text).unwrap_or_else(|e| panic!("{e}")) {
            Ending::Refused => refused += 1,
            Ending::Ran { .. } => ran += 1,
        }
    }
    assert!(ran >= 30, "only {ran} changed lessons loaded");
    assert!(
        refused >= 100,
        "only {refused} changed lessons were refused"
    );
    assert!(
        not_yaml < refused,
        "most refusals are not YAML errors: {not_yaml} of {refused}"
    );
}

/// Every lesson, unchanged, loads and is judged: the engine's starting point is valid.
#[test]
fn every_lesson_unchanged_runs() {
    for l in lessons::LESSONS {
        assert!(nodes(l.source).is_some(), "{} parses as YAML", l.file);
        match judge(l.source) {
            Ok(Ending::Ran { .. }) => {}
            other => panic!("{}: {other:?}", l.file),
        }
    }
}

/// Spans are where the text is: a changed value replaces exactly its bytes.
#[test]
fn a_change_replaces_exactly_the_bytes_of_its_node() {
    let text = "a: 1\nb:\n  - { name: x, c: [1, 2] }\n  - name: y\n    d: |\n      t\ne: \"q\"\n";
    let all = nodes(text).unwrap();
    let slices: Vec<&str> = all.iter().map(|n| &text[n.start..n.end]).collect();
    assert!(slices.contains(&"{ name: x, c: [1, 2] }"), "{slices:?}");
    assert!(slices.contains(&"[1, 2]"), "{slices:?}");
    assert!(slices.contains(&"\"q\""), "{slices:?}");
    let removed = apply(text, &Change::RemoveEntry { at: 2 }).unwrap();
    assert_eq!(
        removed,
        "a: 1\nb:\n  - { c: [1, 2] }\n  - name: y\n    d: |\n      t\ne: \"q\"\n"
    );
    let grown = apply(text, &Change::GrowList { at: 3, times: 1 }).unwrap();
    assert!(
        grown.contains("  - name: y\n    d: |\n      t\n\n  - name: y"),
        "{grown}"
    );
}

// ---------------------------------------------------------------------------------------
// The binary itself.

/// A few dozen changed lessons (a fixed sample), written to files and run by the built
/// binary: each exits 0, 1 or 2, within a generous time, and neither stdout nor stderr
/// holds a raw control byte (stdout is a pipe, so the report has no colour either).
#[test]
fn the_binary_on_hostile_files_exits_0_1_or_2_and_prints_no_control_bytes() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::deterministic();
    let mut files = Vec::new();
    // Changes that keep the numbers as written: a debug build runs every file to its end.
    while files.len() < 36 {
        let i = any::<usize>().new_tree(&mut runner).unwrap().current();
        let c = change().new_tree(&mut runner).unwrap().current();
        if matches!(c, Change::Number { .. } | Change::GrowList { .. }) {
            continue;
        }
        if let Some(text) = apply(lesson(i), &c) {
            let path = dir.path().join(format!("hostile-{}.yaml", files.len()));
            std::fs::write(&path, text).unwrap();
            files.push(path);
        }
    }
    // And bytes no file should hold: not UTF-8, a NUL, an escape sequence in a comment.
    for (n, bytes) in [
        b"name: x\ntitle: \xff\xfe\n".to_vec(),
        b"name: x\x00\ntitle: t\ntopics: [ { name: t } ]\n".to_vec(),
        b"# \x1b[2J\x1b]0;pwned\x07\nname: \x1b[31m\n".to_vec(),
        b"\xef\xbb\xbfname: bom\ntitle: t\ntopics: [ { name: t } ]\n".to_vec(),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.path().join(format!("bytes-{n}.yaml"));
        std::fs::write(&path, bytes).unwrap();
        files.push(path);
    }
    let mut codes = std::collections::BTreeMap::new();
    for path in &files {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
            .arg("run")
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        // Read both pipes on threads, so a long report cannot block the child.
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let read = |mut p: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = p.read_to_end(&mut v);
                v
            })
        };
        let (out, err) = (read(Box::new(out)), read(Box::new(err)));
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                panic!(
                    "{}: still running after 120 s\n{}",
                    path.display(),
                    std::fs::read_to_string(path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let (out, err) = (out.join().unwrap(), err.join().unwrap());
        let code = status.code();
        let source = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        assert!(
            matches!(code, Some(0..=2)),
            "{}: exit {status}\n{}\n{source}",
            path.display(),
            String::from_utf8_lossy(&err)
        );
        for (what, bytes) in [("stdout", &out), ("stderr", &err)] {
            let text = String::from_utf8(bytes.clone())
                .unwrap_or_else(|_| panic!("{}: {what} is not UTF-8", path.display()));
            assert!(
                !has_raw_control(&text),
                "{}: a control character on {what}: {text:?}\n{source}",
                path.display()
            );
        }
        if code == Some(2) {
            assert!(
                out.is_empty(),
                "{}: exit 2 prints nothing on stdout",
                path.display()
            );
        }
        *codes.entry(code).or_insert(0) += 1;
    }
    assert!(codes.get(&Some(2)).is_some_and(|&n| n >= 10), "{codes:?}");
    assert!(
        codes.contains_key(&Some(0)) || codes.contains_key(&Some(1)),
        "some ran: {codes:?}"
    );
}

/// Not a test: writes every lesson with one integer changed to a large value that still
/// loads, one file each, into the folder `HOSTILE_DUMP` names, for measuring what each
/// costs with the release binary (README, Hostile input):
/// `HOSTILE_DUMP=/tmp/h cargo test --test hostile -- --ignored dump`.
#[test]
#[ignore]
fn dump_large_value_mutations() {
    let Ok(dir) = std::env::var("HOSTILE_DUMP") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let mut written = 0;
    for l in lessons::LESSONS {
        let all = nodes(l.source).unwrap();
        for (i, n) in all.iter().enumerate() {
            let numeric = n.shape == Shape::Scalar
                && matches!(n.role, Role::Value | Role::Item)
                && l.source[n.start..n.end].parse::<u64>().is_ok();
            if !numeric {
                continue;
            }
            for value in ["0", "1", "1000000", "10000000", "100000000", "1000000000"] {
                let text = replace(l.source, n, value);
                if scenario::parse(&text).is_ok() {
                    let name = format!("{}-{i}-{value}.yaml", l.file.trim_end_matches(".yaml"));
                    std::fs::write(Path::new(&dir).join(name), text).unwrap();
                    written += 1;
                }
            }
        }
    }
    eprintln!("{written} files in {dir}");
}
