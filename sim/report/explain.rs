//! `kafkasim explain`: each anomaly as a short causal story, from its first cause to what
//! the reader sees, told from the causal chain the checker recorded with it
//! (`check::Anomaly::chain`). Nothing here looks at the run again: the chain's links are
//! the facts the checker built the anomaly's cause sentence from, with their times.

use super::wrap;
use crate::check::{Anomaly, Verdict};
use crate::engine::Time;
use crate::json::Json;
use crate::scenario::Scenario;
use crate::trace::Tables;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Stories `explain` tells in text by default; the rest are counted by kind.
pub const STORIES_SHOWN: usize = 20;

/// Columns a story's sentences may take, after their indent.
const STORY_WIDTH: usize = 92;

/// What makes two anomalies one story: their kind, scope, and the causes of their chains
/// (time and text, with each one's own record left out).
type StoryKey<'v> = (&'v str, &'v str, Vec<(Time, String)>);

/// How `explain` presents a run.
pub struct ExplainOptions<'a> {
    /// The command that reproduces this run, printed in the banner.
    pub reproduce: &'a str,
    /// Tell at most this many stories (None: all the verdict kept).
    pub limit: Option<usize>,
}

/// What an anomaly is about: "p1@2 (e-9, key order-1)", or less where it has no
/// partition, offset or event.
fn about(t: &Tables, a: &Anomaly) -> String {
    let mut about = Vec::new();
    if let (Some(p), Some(o)) = (a.part, a.offset) {
        about.push(format!("{}@{o}", t.part_name(p)));
    } else if let Some(p) = a.part {
        about.push(t.part_name(p));
    }
    if let Some(e) = a.event {
        let key = t
            .key_of(e)
            .map_or("a null key".to_string(), |k| format!("key {k}"));
        about.push(format!("({}, {key})", t.event_id(e)));
    }
    about.join(" ")
}

/// "duplicate delivery in payment-service: p1@2 (e-9, key order-1)": what the story is
/// about, in words.
fn headline(t: &Tables, a: &Anomaly) -> String {
    let what = a.kind.name().replace('_', " ");
    match about(t, a) {
        about if about.is_empty() => format!("{what} in {}", a.scope),
        about => format!("{what} in {}: {about}", a.scope),
    }
}

/// The stories as text: a banner, then one numbered story per anomaly, each sentence
/// starting with its time ("At t=…ms, …"), the visible effect last ("So, at t=…ms, …"),
/// and the checker's one-line cause under it.
pub fn explain_text(
    sc: &Scenario,
    seed: u64,
    t: &Tables,
    v: &Verdict,
    o: &ExplainOptions,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "kafkasim · {} — {}", sc.name, sc.title);
    let _ = writeln!(out, "seed {seed} · reproduce: {}", o.reproduce);
    let left_out: u64 = v.anomalies_left_out.iter().map(|k| k.1).sum();
    let total = v.anomalies.len() as u64 + left_out;
    if total == 0 {
        let _ = writeln!(
            out,
            "\nNo anomalies: every record reached its consumers once, in order for its key, and nothing is unaccounted for."
        );
        return out;
    }
    let shown = o.limit.unwrap_or(usize::MAX).min(v.anomalies.len());
    let _ = writeln!(
        out,
        "\n{total} {}, told from {} first cause to what you see.",
        if total == 1 { "anomaly" } else { "anomalies" },
        if total == 1 { "its" } else { "each one's" }
    );
    // Anomalies of one kind and scope whose causes are the very same links (one crash
    // behind five redeliveries) are one story, told once, with the others named under it.
    let mut stories: Vec<(&Anomaly, Vec<&Anomaly>)> = Vec::new();
    // A link may name the anomaly's own record ("before processing p0@3"): that part is
    // left out of the comparison.
    let mut by_causes: BTreeMap<StoryKey, usize> = BTreeMap::new();
    for a in v.anomalies.iter().take(shown) {
        let own = match (a.part, a.offset) {
            (Some(p), Some(o)) => Some(format!("{}@{o}", t.part_name(p))),
            _ => None,
        };
        let causes = a
            .chain
            .iter()
            .filter(|l| !l.effect)
            .map(|l| {
                let text = match &own {
                    Some(own) => l.text.replace(own.as_str(), "\u{0}"),
                    None => l.text.clone(),
                };
                (l.at, text)
            })
            .collect();
        match by_causes.entry((a.kind.name(), a.scope.as_str(), causes)) {
            Entry::Occupied(e) => stories[*e.get()].1.push(a),
            Entry::Vacant(e) => {
                e.insert(stories.len());
                stories.push((a, Vec::new()));
            }
        }
    }
    for (i, (a, same)) in stories.iter().enumerate() {
        let _ = writeln!(out, "\n{}. {}", i + 1, headline(t, a));
        for link in &a.chain {
            let sentence = if link.effect {
                format!("So, at t={}ms, {}.", link.at, link.text)
            } else {
                format!("At t={}ms, {}.", link.at, link.text)
            };
            for (n, line) in wrap(&sentence, STORY_WIDTH).iter().enumerate() {
                let indent = if n == 0 { "   " } else { "     " };
                let _ = writeln!(out, "{indent}{line}");
            }
        }
        if !same.is_empty() {
            let names: Vec<String> = same.iter().map(|a| about(t, a)).collect();
            let sentence = format!(
                "The same story, from the same causes, for {} more: {}.",
                same.len(),
                names.join(", ")
            );
            for (n, line) in wrap(&sentence, STORY_WIDTH).iter().enumerate() {
                let indent = if n == 0 { "   " } else { "     " };
                let _ = writeln!(out, "{indent}{line}");
            }
        }
        // The checker's sentence, unless the story's last line already says it all.
        if a.chain.iter().all(|l| l.text != a.cause) {
            let _ = writeln!(out, "   In one line:");
            for line in wrap(&a.cause, STORY_WIDTH - 2) {
                let _ = writeln!(out, "     {line}");
            }
        }
    }
    let more = (v.anomalies.len() - shown) as u64 + left_out;
    if more > 0 {
        let mut hidden: std::collections::BTreeMap<&str, u64> = Default::default();
        for a in v.anomalies.iter().skip(shown) {
            *hidden.entry(a.kind.name()).or_default() += 1;
        }
        for &(kind, n) in &v.anomalies_left_out {
            *hidden.entry(kind.name()).or_default() += n;
        }
        let kinds: Vec<String> = hidden.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(
            out,
            "\n… {more} more: {} (`--all` tells every one the verdict kept)",
            kinds.join(", ")
        );
    }
    out
}

/// The stories as JSON: `{"scenario", "seed", "anomalies": [...], "anomalies_left_out"}`,
/// every anomaly the verdict kept, in the verdict's order, each with the fields of `run
/// --format json` (`kind`, `scope`, `at_ms`, …, `cause`, `chain`) and a `headline`.
pub fn explain_json(sc: &Scenario, seed: u64, t: &Tables, v: &Verdict) -> String {
    let mut j = Json::new();
    j.open_object();
    j.field_str("scenario", &sc.name);
    j.field_num("seed", seed);
    j.key("anomalies").open_array();
    for a in &v.anomalies {
        j.open_object();
        j.field_str("headline", &headline(t, a));
        super::json::anomaly_fields(&mut j, t, a);
        j.close_object();
    }
    j.close_array();
    j.key("anomalies_left_out").open_object();
    for &(kind, n) in &v.anomalies_left_out {
        j.field_num(kind.name(), n);
    }
    j.close_object();
    j.close_object();
    let mut s = j.finish();
    s.push('\n');
    s
}
