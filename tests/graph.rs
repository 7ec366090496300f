//! Diagrams: `kafkasim graph` (the topology as Mermaid or DOT) and `kafkasim run --format
//! mermaid` (a sequence diagram of the run). Snapshots of several lessons in each form live
//! in snapshots/graph/ and snapshots/sequence/; the other tests check what a snapshot
//! cannot: hostile text stays inside its label, ids are generated, the output's size is
//! bounded, and `run`'s exit code is unchanged.

use kafkasim::report::graph::{self, Edge, Node, NodeKind, Topology};
use kafkasim::report::sequence::{self, Recording, Selection};
use kafkasim::{scenario, simulate_with};
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kafkasim");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn lesson(stem: &str) -> scenario::Scenario {
    let path = Path::new(ROOT).join(format!("scenarios/{stem}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    scenario::parse(&text).unwrap_or_else(|e| panic!("{stem}: {e:?}"))
}

fn sequence_of(sc: &scenario::Scenario, selection: Selection, reproduce: &str) -> String {
    let mut rec = Recording::default();
    let (run, verdict) = simulate_with(sc, sc.seed, &mut rec);
    sequence::mermaid(sc, sc.seed, &run, &verdict, &rec, selection, reproduce)
}

const GRAPH_LESSONS: &[&str] = &[
    "keys-and-partitions",
    "acks-all-survives",
    "kafka-vs-queue",
    "idempotent-consumer",
    "dual-write-loses-events",
    "relay-crash-duplicates",
    "end-to-end",
];

#[test]
fn the_topology_of_several_lessons_matches_its_snapshots() {
    for stem in GRAPH_LESSONS {
        let topology = graph::topology(&lesson(stem));
        insta::with_settings!({
            snapshot_path => "../snapshots/graph",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{stem}.mmd"), graph::mermaid(&topology));
            insta::assert_snapshot!(format!("{stem}.dot"), graph::dot(&topology));
        });
    }
}

#[test]
fn the_topology_has_a_node_per_entity_and_an_edge_per_flow() {
    let topology = graph::topology(&lesson("end-to-end"));
    let g = &topology.graph;
    let count = |k: NodeKind| g.node_weights().filter(|n| n.kind == k).count();
    // 3 brokers, 1 topic, 1 service with its database and 1 relay, 1 group with a store.
    assert_eq!(count(NodeKind::Broker), 3);
    assert_eq!(count(NodeKind::Topic), 1);
    assert_eq!(count(NodeKind::Service), 1);
    assert_eq!(count(NodeKind::Database), 1);
    assert_eq!(count(NodeKind::Relay), 1);
    assert_eq!(count(NodeKind::Group), 1);
    assert_eq!(count(NodeKind::Store), 1);
    let labels: Vec<&str> = g.edge_weights().map(|e| e.label.as_str()).collect();
    for flow in [
        "commits orders + outbox",
        "reads outbox",
        "publishes",
        "consumes",
        "checks + marks eventIds",
    ] {
        assert!(labels.contains(&flow), "{flow} in {labels:?}");
    }
    // One placement edge per broker: each leads one of the three partitions.
    assert_eq!(g.edge_weights().filter(|e| e.placement).count(), 3);
}

/// Text no label may be allowed to break out of.
const HOSTILE: &str =
    "a \"quote\" \\ back\\slash\nnew line <script>alert(1)</script> --> ; {} # %% ` [x] |y| end";

fn hostile_topology() -> Topology {
    let mut g = petgraph::graph::Graph::new();
    let kinds = [
        NodeKind::Broker,
        NodeKind::Topic,
        NodeKind::Producer,
        NodeKind::Service,
        NodeKind::Database,
        NodeKind::Relay,
        NodeKind::Group,
        NodeKind::Store,
    ];
    let nodes: Vec<_> = kinds
        .iter()
        .map(|&kind| {
            g.add_node(Node {
                kind,
                lines: vec![HOSTILE.to_string(), format!("{HOSTILE} 2")],
            })
        })
        .collect();
    for pair in nodes.windows(2) {
        g.add_edge(
            pair[0],
            pair[1],
            Edge {
                label: HOSTILE.to_string(),
                placement: pair[0].index() == 0,
            },
        );
    }
    Topology {
        title: HOSTILE.to_string(),
        graph: g,
    }
}

/// Whether every `"` in `line` opens or closes a DOT string (escaped ones skipped), and
/// they pair up.
fn dot_quotes_balance(line: &str) -> bool {
    let mut inside = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if inside => {
                chars.next();
            }
            '"' => inside = !inside,
            _ => {}
        }
    }
    !inside
}

/// The identifier a statement line starts with (`n12` in `n12 [label=…]`).
fn leading_id(line: &str) -> &str {
    let t = line.trim_start();
    &t[..t.find([' ', '[', '(', '{', '-']).unwrap_or(t.len())]
}

#[test]
fn hostile_text_stays_inside_its_dot_label() {
    let t = hostile_topology();
    let dot = graph::dot(&t);
    let nodes = t.graph.node_count();
    let edges = t.graph.edge_count();
    let mut node_lines = 0;
    let mut edge_lines = 0;
    for line in dot.lines() {
        assert!(dot_quotes_balance(line), "unbalanced quotes: {line}");
        let id = leading_id(line);
        if id.starts_with('n') && id[1..].chars().all(|c| c.is_ascii_digit()) && id.len() > 1 {
            if line.contains(" -> ") {
                edge_lines += 1;
                let target = line.split(" -> ").nth(1).unwrap();
                assert!(leading_id(target)[1..].chars().all(|c| c.is_ascii_digit()));
            } else {
                node_lines += 1;
            }
        }
    }
    assert_eq!(node_lines, nodes, "one line per node:\n{dot}");
    assert_eq!(edge_lines, edges, "one line per edge:\n{dot}");
    // The line break in the text is DOT's `\n` escape, never a real one.
    assert_eq!(dot.lines().count(), 12 + nodes + edges, "{dot}");
    // Quotes and backslashes escaped; the line break, which no label may hold, shown as
    // U+FFFD.
    assert!(
        dot.contains("a \\\"quote\\\" \\\\ back\\\\slash\u{FFFD}new line"),
        "{dot}"
    );
}

/// Mermaid text that is only ours: entity codes, `<br/>`, and nothing that can close a
/// label, start a comment or end a statement.
fn assert_inert_mermaid(label: &str) {
    // Entity codes (`#quot;`, `#59;`) are how the text is escaped: take them out first.
    let mut without_breaks = String::new();
    let mut rest = label.replace("<br/>", "");
    while let Some(i) = rest.find('#') {
        without_breaks.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let code = after
            .find(';')
            .filter(|&j| j > 0 && after[..j].chars().all(|c| c.is_ascii_alphanumeric()));
        let Some(j) = code else {
            panic!("a bare '#' in a Mermaid label: {label}");
        };
        rest = after[j + 1..].to_string();
    }
    without_breaks.push_str(&rest);
    for bad in [
        '"', '<', '>', ';', '%', '`', '[', ']', '{', '}', '|', '\\', '\n', ':',
    ] {
        assert!(
            !without_breaks.contains(bad),
            "{bad:?} in a Mermaid label: {label}"
        );
    }
}

#[test]
fn hostile_text_stays_inside_its_mermaid_label() {
    let t = hostile_topology();
    let m = graph::mermaid(&t);
    let body: Vec<&str> = m.lines().skip_while(|l| *l != "flowchart LR").collect();
    assert_eq!(
        m.lines().nth(1).map(|l| l.starts_with("title: \"")),
        Some(true)
    );
    assert!(!m.lines().nth(1).unwrap().contains('<'), "{m}");
    let mut node_lines = 0;
    let mut edge_lines = 0;
    for line in &body[1..] {
        let t = line.trim();
        if t == "end" || t.starts_with("subgraph kafka[\"Kafka cluster\"]") {
            continue;
        }
        let id = leading_id(t);
        assert!(
            id.len() > 1 && id.starts_with('n') && id[1..].chars().all(|c| c.is_ascii_digit()),
            "a line starting with {id:?}: {line}"
        );
        // The one quoted label on the line: between its first and last `"`.
        let (open, close) = (t.find('"').unwrap(), t.rfind('"').unwrap());
        assert!(open < close, "{line}");
        assert_inert_mermaid(&t[open + 1..close]);
        if t.contains("-->|") || t.contains("-.-|") {
            edge_lines += 1;
            let target = t.rsplit(' ').next().unwrap();
            assert!(target[1..].chars().all(|c| c.is_ascii_digit()), "{line}");
        } else {
            node_lines += 1;
        }
    }
    assert_eq!(node_lines, t.graph.node_count(), "{m}");
    assert_eq!(edge_lines, t.graph.edge_count(), "{m}");
}

/// A scenario whose title and key pattern (the free text a scenario may hold) are hostile,
/// through the whole path: load, topology, run, sequence diagram.
const HOSTILE_SCENARIO: &str = r#"
name: hostile
title: 'A "quoted" <script>alert(1)</script> title \ with --> arrows; {braces} #35; %% end'
topics:
  - { name: t, partitions: 2 }
producers:
  - name: p
    topic: t
    send: { count: 4, every_ms: 5, keys: { pattern: '"k<b>{n}\;-->#x%%{}:' } }
consumer_groups:
  - { name: g, topics: [t], members: 1 }
faults:
  - { at_ms: 30, crash: g-1 }
"#;

#[test]
fn hostile_titles_and_keys_stay_inside_the_sequence_diagram() {
    let sc = scenario::parse(HOSTILE_SCENARIO).expect("a scenario may hold this text");
    let m = sequence_of(&sc, Selection::Auto, "kafkasim run \"x\ny\".yaml");
    let body: Vec<&str> = m.lines().skip_while(|l| *l != "sequenceDiagram").collect();
    assert!(body.len() > 10, "{m}");
    let mut sends = 0;
    for line in &body[1..] {
        let t = line.trim();
        if t.starts_with("%% ") || t == "end" || t.starts_with("rect rgb(") {
            continue;
        }
        let text = if let Some(rest) = t.strip_prefix("participant ") {
            let (id, label) = rest.split_once(" as ").unwrap();
            assert!(id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
            label
        } else if let Some(rest) = t.strip_prefix("Note over ") {
            let (lanes, text) = rest.split_once(": ").unwrap();
            assert!(lanes
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == ','));
            text
        } else {
            let (arrow, text) = t.split_once(": ").unwrap_or_else(|| panic!("{line}"));
            let ids: Vec<&str> = arrow
                .split(['-', '>', 'x'])
                .filter(|s| !s.is_empty())
                .collect();
            assert!(ids.len() <= 2, "{line}");
            sends += usize::from(text.contains(" send "));
            text
        };
        assert_inert_mermaid(text);
    }
    assert_eq!(sends, 4, "{m}");
    // The comment with the reproduce command is one line.
    assert_eq!(m.lines().filter(|l| l.contains("%% seed")).count(), 1);
}

/// Sequence diagrams of a few lessons: windows around anomalies (the default when there
/// are some), the first rows (the default when there are none), and each flag.
#[test]
fn the_sequence_diagrams_of_several_lessons_match_their_snapshots() {
    let cases: &[(&str, &str, Selection)] = &[
        ("crash-before-commit", "auto", Selection::Auto),
        ("keys-and-partitions", "auto", Selection::Auto),
        ("acks1-leader-crash", "auto", Selection::Auto),
        ("relay-crash-duplicates", "events-25", Selection::First(25)),
        ("idempotent-consumer", "window-2", Selection::Windows(2)),
    ];
    for (stem, how, selection) in cases {
        let reproduce = format!("kafkasim run scenarios/{stem}.yaml");
        let m = sequence_of(&lesson(stem), *selection, &reproduce);
        insta::with_settings!({
            snapshot_path => "../snapshots/sequence",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{stem}.{how}"), m);
        });
    }
}

#[test]
fn a_run_without_anomalies_shows_its_first_rows_and_one_with_them_its_windows() {
    let quiet = sequence_of(&lesson("keys-and-partitions"), Selection::Auto, "r");
    assert!(quiet.contains("· the first 40 rows ·"), "{quiet}");
    assert!(!quiet.contains("⚠"));
    let noisy = sequence_of(&lesson("crash-before-commit"), Selection::Auto, "r");
    assert!(
        noisy.contains("rows either side of each anomaly"),
        "{noisy}"
    );
    assert!(noisy.contains("⚠ duplicate_effect"), "{noisy}");
    assert!(noisy.contains("CRASH"), "the crash has its window: {noisy}");
    // Asking for windows of a run without anomalies falls back to the first rows, and says so.
    let fallback = sequence_of(&lesson("keys-and-partitions"), Selection::Windows(3), "r");
    assert!(
        fallback.contains("no anomalies to show: the first 40 rows"),
        "{fallback}"
    );
}

#[test]
fn the_comment_line_says_what_was_drawn_not_what_was_asked() {
    // crash-before-commit has 87 rows: asking for 500 draws all 87.
    let sc = lesson("crash-before-commit");
    let m = sequence_of(&sc, Selection::First(500), "r");
    let comment = m.lines().find(|l| l.contains("%% seed")).unwrap();
    assert!(
        comment.contains("· all 87 rows · 87 rows in all ·"),
        "{comment}"
    );
    assert!(!comment.contains("first 500"), "{comment}");
    let drawn = m.lines().filter(|l| l.contains(": t=")).count();
    assert_eq!(drawn, 87, "every row is drawn");
    let m = sequence_of(&sc, Selection::First(20), "r");
    let comment = m.lines().find(|l| l.contains("%% seed")).unwrap();
    assert!(
        comment.contains("· the first 20 rows · 87 rows in all ·"),
        "{comment}"
    );
}

#[test]
fn the_diagram_is_bounded_whatever_is_asked() {
    // Every row shown is a line; asking for more than MAX_ROWS gets MAX_ROWS.
    let sc = lesson("every-record-accounted");
    let m = sequence_of(&sc, Selection::First(1_000_000), "r");
    let rows = m
        .lines()
        .filter(|l| l.contains("t=") && !l.contains("%%"))
        .count();
    assert!(rows <= sequence::MAX_ROWS, "{rows} rows");
    let m = sequence_of(&sc, Selection::First(7), "r");
    let shown = m.lines().filter(|l| l.contains(": t=")).count();
    assert_eq!(shown, 7, "{m}");
    // Windows are capped in width and number.
    let m = sequence_of(&sc, Selection::Windows(1_000), "r");
    let shown = m.lines().filter(|l| l.contains(": t=")).count();
    assert!(
        shown <= 2 * sequence::MAX_ANOMALIES * (2 * sequence::MAX_WINDOW + 1),
        "{shown}"
    );
}

fn kafkasim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(ROOT)
        .output()
        .expect("kafkasim runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_format_mermaid_keeps_the_exit_code_of_run() {
    let (code, out, _) = kafkasim(&["run", "crash-before-commit", "--format", "mermaid"]);
    assert_eq!(code, 0);
    assert!(out.contains("sequenceDiagram"));
    // A failed expectation: exit 1, the diagram still printed, its closing note says why.
    let dir = std::env::temp_dir().join(format!("kafkasim-graph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let failing = dir.join("failing.yaml");
    let text = std::fs::read_to_string(Path::new(ROOT).join("scenarios/crash-before-commit.yaml"))
        .unwrap()
        .replace("duplicate_effects: \">= 1\"", "duplicate_effects: 0");
    std::fs::write(&failing, text).unwrap();
    let (code, out, err) = kafkasim(&["run", failing.to_str().unwrap(), "--format", "mermaid"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.replace("<br/>", " ")
            .contains("Verdict FAIL (duplicate_effects expected 0 got 1)"),
        "{out}"
    );
    assert!(err.contains("expectations failed"));
    std::fs::remove_dir_all(&dir).ok();
    // The flags belong to the diagram.
    let (code, _, err) = kafkasim(&["run", "crash-before-commit", "--events", "5"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = kafkasim(&[
        "run",
        "crash-before-commit",
        "--format",
        "mermaid",
        "--events",
        "5",
        "--window",
        "2",
    ]);
    assert_eq!(code, 2);
    let (code, _, _) = kafkasim(&[
        "run",
        "crash-before-commit",
        "--format",
        "mermaid",
        "--events",
        "0",
    ]);
    assert_eq!(code, 2);
}

#[test]
fn kafkasim_graph_prints_both_formats_and_refuses_bad_input_with_exit_2() {
    let (code, out, _) = kafkasim(&["graph", "end-to-end"]);
    assert_eq!(code, 0);
    assert!(out.contains("flowchart LR"), "mermaid is the default");
    let (code, out, _) = kafkasim(&["graph", "scenarios/end-to-end.yaml", "--format", "dot"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("digraph kafkasim {"));
    let (code, out, err) = kafkasim(&["graph", "tests/bad/typo-field.yaml"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("tests/bad/typo-field.yaml:"), "{err}");
    let (code, _, err) = kafkasim(&["graph", "no-such-lesson"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file"), "{err}");
}
