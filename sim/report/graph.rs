//! `kafkasim graph`: the scenario's topology as a graph, rendered to Graphviz DOT or to a
//! Mermaid flowchart.
//!
//! The graph is built from the validated `Scenario` alone (nothing runs): the brokers and
//! topics inside one "Kafka cluster" box, then producers, services with their database
//! and relays, and consumer groups with their processed-id store. It is a petgraph
//! `Graph`, whose nodes and edges keep the order they were added in (scenario order), so
//! the output never depends on hashing.
//!
//! Node ids in the output are generated (`n0`, `n1`, …), never user strings; every label
//! is escaped for its format (`dot_text`, `mermaid_text`), so no name, title or key
//! pattern can break the file or inject markup.

use crate::model::cluster::Cluster;
use crate::scenario::{Keys, Publish, Scenario};
use petgraph::graph::{Graph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::fmt::Write;

/// What a node stands for; it picks the node's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Broker,
    Topic,
    Producer,
    Service,
    Database,
    Relay,
    Group,
    Store,
}

/// One node: its kind, and its label as lines of plain text (escaped when rendered).
#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub lines: Vec<String>,
}

/// One edge: its label (plain text), and whether it is a placement (a topic's partitions
/// on a broker, drawn dashed and without an arrow) rather than a flow of records.
#[derive(Clone, Debug)]
pub struct Edge {
    pub label: String,
    pub placement: bool,
}

/// The topology: a petgraph graph and a title (the scenario's name and title).
pub struct Topology {
    pub title: String,
    pub graph: Graph<Node, Edge>,
}

/// Partitions listed by name in a placement label before the rest are counted.
const LISTED_PARTITIONS: usize = 6;

/// Builds the topology of a validated scenario.
pub fn topology(sc: &Scenario) -> Topology {
    let mut g: Graph<Node, Edge> = Graph::new();
    let node =
        |g: &mut Graph<Node, Edge>, kind, lines: Vec<String>| g.add_node(Node { kind, lines });
    let brokers: Vec<NodeIndex> = (0..sc.cluster.brokers)
        .map(|b| node(&mut g, NodeKind::Broker, vec![format!("broker-{}", b + 1)]))
        .collect();
    let topics: Vec<NodeIndex> = sc
        .topics
        .iter()
        .map(|t| {
            let mut second = format!(
                "{} · RF {}",
                plural(t.partitions as usize, "partition"),
                t.replication_factor
            );
            if t.log.compact {
                second.push_str(&format!(" · cleanup.policy={}", t.log.cleanup_policy()));
            }
            node(&mut g, NodeKind::Topic, vec![t.name.clone(), second])
        })
        .collect();
    placements(sc, &mut g, &brokers, &topics);
    for p in &sc.producers {
        let mut second = format!("producer · acks={}", p.config.acks.kafka_name());
        if p.config.enable_idempotence {
            second.push_str(" · idempotent");
        }
        let mut lines = vec![p.name.clone(), second];
        lines.extend(keys_line(&p.send.keys));
        let n = node(&mut g, NodeKind::Producer, lines);
        flow(&mut g, n, topics[p.topic], "produces");
    }
    for (s, svc) in sc.services.iter().enumerate() {
        let n = node(
            &mut g,
            NodeKind::Service,
            vec![
                svc.name.clone(),
                format!("service · {}", svc.publish.name()),
            ],
        );
        let db = node(
            &mut g,
            NodeKind::Database,
            vec![format!("{} database", svc.name)],
        );
        match svc.publish {
            Publish::Outbox => {
                flow(&mut g, n, db, "commits orders + outbox");
                for r in 0..svc.relay.count {
                    let relay = node(
                        &mut g,
                        NodeKind::Relay,
                        vec![
                            sc.relay_name(s, r),
                            format!("outbox relay · mark {}", svc.relay.mark.name()),
                        ],
                    );
                    flow(&mut g, db, relay, "reads outbox");
                    flow(&mut g, relay, topics[svc.topic], "publishes");
                }
            }
            Publish::DualWrite => {
                flow(&mut g, n, db, "commits orders");
                flow(&mut g, n, topics[svc.topic], "publishes (dual write)");
            }
        }
    }
    for grp in &sc.groups {
        let lines = vec![
            grp.name.clone(),
            format!(
                "consumer group · {} · {}",
                plural(grp.members as usize, "member"),
                grp.config.assignor.name()
            ),
        ];
        let mut lines = lines;
        if grp.start_at_ms > 0 {
            lines.push(format!("starts at t={} ms", grp.start_at_ms));
        }
        let n = node(&mut g, NodeKind::Group, lines);
        for &t in &grp.topics {
            flow(&mut g, topics[t], n, "consumes");
        }
        if let Some(idem) = &grp.idempotency {
            let mut second = format!("processed-id store · {}", idem.store.name());
            if let Some(ttl) = idem.ttl_ms {
                second.push_str(&format!(" · ttl {ttl} ms"));
            }
            let store = node(
                &mut g,
                NodeKind::Store,
                vec![format!("{} processed ids", grp.name), second],
            );
            flow(&mut g, n, store, "checks + marks eventIds");
        }
    }
    Topology {
        title: format!("{} — {}", sc.name, sc.title),
        graph: g,
    }
}

fn flow(g: &mut Graph<Node, Edge>, from: NodeIndex, to: NodeIndex, label: &str) {
    g.add_edge(
        from,
        to,
        Edge {
            label: label.to_string(),
            placement: false,
        },
    );
}

/// The key pattern a producer sends with, if it has one.
fn keys_line(keys: &Keys) -> Option<String> {
    match keys {
        Keys::Null => Some("null keys".to_string()),
        Keys::Pattern { pattern, distinct } => Some(format!("keys {pattern} ×{distinct}")),
    }
}

/// An edge from each topic to each broker holding one of its partitions (as placed when
/// the run starts): which partitions it leads and which it follows.
fn placements(
    sc: &Scenario,
    g: &mut Graph<Node, Edge>,
    brokers: &[NodeIndex],
    topics: &[NodeIndex],
) {
    let counts: Vec<u32> = sc.topics.iter().map(|t| t.partitions).collect();
    let factors: Vec<u32> = sc.topics.iter().map(|t| t.replication_factor).collect();
    let replicas = Cluster::placement(&counts, &factors, sc.cluster.brokers);
    let mut first = 0;
    for (t, &n) in counts.iter().enumerate() {
        let parts = &replicas[first..first + n as usize];
        first += n as usize;
        for (b, &broker) in brokers.iter().enumerate() {
            let b = b as u32;
            let leads: Vec<usize> = (0..parts.len()).filter(|&i| parts[i][0] == b).collect();
            let follows: Vec<usize> = (0..parts.len())
                .filter(|&i| parts[i][1..].contains(&b))
                .collect();
            let mut label = Vec::new();
            if !leads.is_empty() {
                label.push(format!("leads {}", part_list(&leads)));
            }
            if !follows.is_empty() {
                label.push(format!("follows {}", part_list(&follows)));
            }
            if !label.is_empty() {
                g.add_edge(
                    topics[t],
                    broker,
                    Edge {
                        label: label.join(" · "),
                        placement: true,
                    },
                );
            }
        }
    }
}

/// `p0,p3`, or `p0,p1,p2,p3,p4,p5 +6 more` past `LISTED_PARTITIONS`.
fn part_list(parts: &[usize]) -> String {
    let shown: Vec<String> = parts
        .iter()
        .take(LISTED_PARTITIONS)
        .map(|p| format!("p{p}"))
        .collect();
    let mut s = shown.join(", ");
    if parts.len() > LISTED_PARTITIONS {
        s.push_str(&format!(" +{} more", parts.len() - LISTED_PARTITIONS));
    }
    s
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Text for a DOT double-quoted string: `\` and `"` escaped, `&` as `&amp;` (Graphviz
/// reads entities in labels, so `&amp;` written by a user would show as `&`), line breaks
/// as DOT's `\n`, and every other control or invisible character shown as U+FFFD.
pub fn dot_text(s: &str) -> String {
    let mut out = String::new();
    for c in crate::diag::visible(s).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '&' => out.push_str("&amp;"),
            '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for a Mermaid label or message: letters, digits, spaces and a few harmless
/// punctuation marks stay; every other ASCII character becomes an entity code (`#35;`,
/// `#quot;`), so nothing can close a quote, start a comment (`%%`), end a statement (`;`)
/// or open markup (`<`); control and invisible characters become U+FFFD.
pub fn mermaid_text(s: &str) -> String {
    let mut out = String::new();
    for c in crate::diag::visible(s).chars() {
        match c {
            c if c.is_ascii_alphanumeric() || " .,_-=+*/()'!?@".contains(c) => out.push(c),
            '"' => out.push_str("#quot;"),
            '\t' => out.push(' '),
            c if c.is_ascii() => {
                let _ = write!(out, "#{};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The topology as Graphviz DOT: a left-to-right digraph, the cluster as a subgraph.
pub fn dot(t: &Topology) -> String {
    let g = &t.graph;
    let mut o = String::new();
    o.push_str("digraph kafkasim {\n");
    let _ = writeln!(o, "  label=\"{}\";", dot_text(&t.title));
    o.push_str("  labelloc=t;\n  rankdir=LR;\n  fontname=\"Helvetica\";\n");
    o.push_str("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    o.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    o.push_str("  subgraph cluster_kafka {\n    label=\"Kafka cluster\";\n    style=rounded;\n");
    for n in g.node_indices() {
        if in_cluster(g[n].kind) {
            let _ = writeln!(o, "    {};", dot_node(g, n));
        }
    }
    o.push_str("  }\n");
    for n in g.node_indices() {
        if !in_cluster(g[n].kind) {
            let _ = writeln!(o, "  {};", dot_node(g, n));
        }
    }
    for e in g.edge_references() {
        let w = e.weight();
        let style = if w.placement {
            ", style=dashed, dir=none, color=gray40, fontcolor=gray30"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "  n{} -> n{} [label=\"{}\"{style}];",
            e.source().index(),
            e.target().index(),
            dot_text(&w.label)
        );
    }
    o.push_str("}\n");
    o
}

fn in_cluster(k: NodeKind) -> bool {
    matches!(k, NodeKind::Broker | NodeKind::Topic)
}

fn dot_node(g: &Graph<Node, Edge>, n: NodeIndex) -> String {
    let node = &g[n];
    let shape = match node.kind {
        NodeKind::Broker => "shape=box3d, style=\"\"",
        NodeKind::Topic => "shape=cds, style=filled, fillcolor=lightyellow",
        NodeKind::Database | NodeKind::Store => "shape=cylinder, style=\"\"",
        NodeKind::Group => "style=\"rounded,filled\", fillcolor=lightblue",
        NodeKind::Producer | NodeKind::Service | NodeKind::Relay => {
            "style=\"rounded,filled\", fillcolor=honeydew"
        }
    };
    let label: Vec<String> = node.lines.iter().map(|l| dot_text(l)).collect();
    format!("n{} [label=\"{}\", {shape}]", n.index(), label.join("\\n"))
}

/// The topology as a Mermaid flowchart (`flowchart LR`), the cluster as a subgraph.
pub fn mermaid(t: &Topology) -> String {
    let g = &t.graph;
    let mut o = String::new();
    o.push_str(&front_matter(&t.title));
    o.push_str("flowchart LR\n");
    o.push_str("  subgraph kafka[\"Kafka cluster\"]\n");
    for n in g.node_indices() {
        if in_cluster(g[n].kind) {
            let _ = writeln!(o, "    {}", mermaid_node(g, n));
        }
    }
    o.push_str("  end\n");
    for n in g.node_indices() {
        if !in_cluster(g[n].kind) {
            let _ = writeln!(o, "  {}", mermaid_node(g, n));
        }
    }
    for e in g.edge_references() {
        let w = e.weight();
        let arrow = if w.placement { "-.-" } else { "-->" };
        let _ = writeln!(
            o,
            "  n{} {arrow}|\"{}\"| n{}",
            e.source().index(),
            mermaid_text(&w.label),
            e.target().index()
        );
    }
    o
}

/// Mermaid's front matter with a title: YAML, whose double-quoted strings JSON's string
/// syntax is a subset of, so the title is one escaped line that cannot end the block.
/// Mermaid shows the title as it is (no entity codes there), so `<` and `>` become `‹`
/// and `›`: no markup can reach the page.
pub fn front_matter(title: &str) -> String {
    let shown: String = crate::diag::visible(title)
        .chars()
        .map(|c| match c {
            '<' => '‹',
            '>' => '›',
            c => c,
        })
        .collect();
    let quoted = serde_json::to_string(&shown).unwrap_or_default();
    format!("---\ntitle: {quoted}\n---\n")
}

fn mermaid_node(g: &Graph<Node, Edge>, n: NodeIndex) -> String {
    let node = &g[n];
    let label: Vec<String> = node.lines.iter().map(|l| mermaid_text(l)).collect();
    let label = label.join("<br/>");
    let (open, close) = match node.kind {
        NodeKind::Broker => ("[[", "]]"),
        NodeKind::Topic => ("[/", "/]"),
        NodeKind::Database | NodeKind::Store => ("[(", ")]"),
        NodeKind::Group => ("([", "])"),
        NodeKind::Producer | NodeKind::Service | NodeKind::Relay => ("(", ")"),
    };
    format!("n{}{open}\"{label}\"{close}", n.index())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Graphviz would read as markup or an escape is escaped: a user's `&amp;` shows
    /// as written, not as `&`.
    #[test]
    fn dot_text_escapes_quotes_backslashes_and_entities() {
        assert_eq!(dot_text(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(dot_text("R&amp;D"), "R&amp;amp;D");
        assert_eq!(dot_text("x\u{1b}y"), "x\u{FFFD}y");
    }
}
