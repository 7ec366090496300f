//! `kafkasim diff FILE --set PATH=VALUE…`: "what if". The scenario runs as written and again
//! with the settings changed (`set.rs` edits the YAML text), on the same seed, and the two
//! runs are compared: both verdicts, the counters side by side, and the first timeline row
//! where they part, with a few rows of shared context before it and of each run after it.
//!
//! Everything shown comes from each run's trace records and verdict, as `run` shows them;
//! nothing here judges anything or changes a verdict. Memory is bounded: each run keeps the
//! records of its first `ROWS_COMPARED` timeline rows and no more.

mod schema;
mod set;
mod tree;

pub use set::{apply, render_problems, Change, Edited};

use crate::check::Verdict;
use crate::counters::{Counter, Counts, Scope};
use crate::diag;
use crate::engine::Time;
use crate::json::Json;
use crate::scenario::Scenario;
use crate::{report, simulate_with};
use std::fmt::Write;

/// Timeline rows each run keeps to compare; past them the runs are not compared.
pub const ROWS_COMPARED: usize = 50_000;
/// Shared rows shown before the row where the timelines part.
pub const ROWS_BEFORE: usize = 3;
/// Rows of each run shown from the row where they part.
pub const ROWS_AFTER: usize = 5;

/// One timeline row: time, actor, event word, detail (`report::rows`).
pub type Row = (Time, String, &'static str, String);

/// One of the two runs, reduced to what the comparison shows.
pub struct Side {
    pub title: String,
    pub seed: u64,
    /// `quiescent`, `time-limit`, … (`Outcome::name`).
    pub outcome: &'static str,
    pub end_ms: u64,
    /// Simulator events processed.
    pub events: u64,
    pub verdict: Verdict,
    /// The first `ROWS_COMPARED` timeline rows at most.
    rows: Vec<Row>,
    /// Timeline rows in the whole run, kept or not.
    rows_total: usize,
}

/// Runs `sc` with `seed`, keeping the records of its first `ROWS_COMPARED` timeline rows.
pub fn run(sc: &Scenario, seed: u64) -> Side {
    let mut timeline = report::Timeline::new(Some(ROWS_COMPARED));
    let (result, verdict) = simulate_with(sc, seed, &mut timeline);
    let mut rows = report::rows(sc, &result.tables, timeline.events());
    rows.truncate(ROWS_COMPARED);
    Side {
        title: sc.title.clone(),
        seed,
        outcome: result.outcome.name(),
        end_ms: result.end_ms.ms(),
        events: result.events,
        verdict,
        rows,
        rows_total: timeline.rows(),
    }
}

/// The two runs and what was changed between them.
pub struct WhatIf<'a> {
    /// The scenario's `name`.
    pub name: &'a str,
    /// The command line that gives this comparison again.
    pub reproduce: &'a str,
    pub changes: &'a [Change],
    pub before: Side,
    pub after: Side,
}

/// How the two timelines compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parting {
    /// Every row is the same, and there are this many.
    Never(usize),
    /// The first `ROWS_COMPARED` rows are the same; the rest were not compared.
    NotWithin,
    /// The rows first differ at this 0-based index (one run may have ended there).
    At(usize),
}

impl WhatIf<'_> {
    /// When the timelines part at row `i`: the earlier of the two runs' rows there.
    fn parted_ms(&self, i: usize) -> u64 {
        let t = |s: &Side| s.rows.get(i).map(|r| r.0.ms());
        match (t(&self.before), t(&self.after)) {
            (Some(x), Some(y)) => x.min(y),
            (x, y) => x.or(y).unwrap_or(0),
        }
    }

    /// Where the timelines part.
    pub fn parting(&self) -> Parting {
        let (b, a) = (&self.before, &self.after);
        let shared = b
            .rows
            .iter()
            .zip(&a.rows)
            .take_while(|(x, y)| x == y)
            .count();
        // Every row of the run was kept.
        let complete = |s: &Side| s.rows_total <= ROWS_COMPARED;
        if shared < b.rows.len().min(a.rows.len()) {
            Parting::At(shared)
        } else if complete(b) && complete(a) {
            if b.rows.len() == a.rows.len() {
                Parting::Never(shared)
            } else {
                Parting::At(shared)
            }
        } else if b.rows.len() != a.rows.len() && (complete(b) || complete(a)) {
            // One timeline ended within the bound and the other went on.
            Parting::At(shared)
        } else {
            Parting::NotWithin
        }
    }
}

/// The comparison for a reader (a terminal, a projector).
pub fn text(w: &WhatIf) -> String {
    let mut o = String::new();
    let (b, a) = (&w.before, &w.after);
    let _ = writeln!(o, "kafkasim diff · {} — {}", w.name, b.title);
    if a.title != b.title {
        let _ = writeln!(o, "after: {}", a.title);
    }
    let seed = if a.seed == b.seed {
        format!("seed {} (both runs)", b.seed)
    } else {
        format!("seed {} → {}", b.seed, a.seed)
    };
    let _ = writeln!(o, "{seed} · reproduce: {}", w.reproduce);
    let _ = writeln!(o, "\nWhat if");
    for c in w.changes {
        let after = set::clip(&diag::one_line(&c.after), 60);
        let _ = writeln!(o, "  {}: {} → {after}", c.path, c.before_text());
    }
    verdicts(&mut o, b, a);
    counters(&mut o, b, a);
    let _ = writeln!(o, "\nRuns ended");
    for (label, s) in [("before", b), ("after", a)] {
        let _ = writeln!(
            o,
            "  {label:<7} {} at t={}ms after {} events",
            s.outcome, s.end_ms, s.events
        );
    }
    timelines(&mut o, w);
    o
}

/// Each expectation's actual value in both runs, by name (an `expect:` the --set values
/// changed may have entries in one run only).
fn verdicts(o: &mut String, b: &Side, a: &Side) {
    let names = expectation_names(b, a);
    let find = |s: &Side, name: &str| {
        s.verdict
            .expectations
            .iter()
            .find(|e| e.expectation.name == name)
            .cloned()
    };
    let rows: Vec<(String, String, String, String)> = names
        .iter()
        .map(|name| {
            let (x, y) = (find(b, name), find(a, name));
            let cond = |e: &Option<crate::check::ExpectationResult>| {
                e.as_ref().map(|e| e.expectation.condition.to_string())
            };
            let cond = match (cond(&x), cond(&y)) {
                (Some(p), Some(q)) if p != q => format!("{p} → {q}"),
                (Some(p), _) | (None, Some(p)) => p,
                (None, None) => String::new(),
            };
            let cell = |e: Option<crate::check::ExpectationResult>| {
                e.map_or("—".to_string(), |e| {
                    format!("{} {}", if e.holds { "ok  " } else { "FAIL" }, e.actual)
                })
            };
            (name.clone(), cond, cell(x), cell(y))
        })
        .collect();
    let width = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(24);
    let cw = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let _ = writeln!(
        o,
        "\n{:<lead$}{:<14}after",
        "Verdicts",
        "before",
        lead = width + cw + 5
    );
    for (name, cond, x, y) in &rows {
        let _ = writeln!(o, "  {name:<width$} {cond:<cw$}  {x:<13} {y}");
    }
    if rows.is_empty() {
        let _ = writeln!(o, "  (no expect: block in either run)");
    }
    let word = |s: &Side| if s.verdict.pass { "PASS" } else { "FAIL" };
    let _ = writeln!(
        o,
        "  {:<width$} {:<cw$}  {:<13} {}",
        "verdict",
        "",
        word(b),
        word(a)
    );
}

fn expectation_names(b: &Side, a: &Side) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for e in b.verdict.expectations.iter().chain(&a.verdict.expectations) {
        if !names.contains(&e.expectation.name) {
            names.push(e.expectation.name.clone());
        }
    }
    names
}

/// Counter rows: (name, before, after). Run totals where either run counted something
/// (and the three a lesson always shows); per group and service only where they differ,
/// named `GROUP.COUNTER` / `SERVICE.COUNTER` as in `expect:`.
fn counter_rows(b: &Side, a: &Side) -> Vec<(String, Option<u64>, Option<u64>)> {
    let mut rows = Vec::new();
    for &c in Counter::ALL {
        let (x, y) = (b.verdict.totals.get(c), a.verdict.totals.get(c));
        let always = matches!(
            c,
            Counter::Lost | Counter::DuplicateEffects | Counter::DuplicateDeliveries
        );
        if x > 0 || y > 0 || always {
            rows.push((c.name().to_string(), Some(x), Some(y)));
        }
    }
    let groups = |s: &Side| -> Vec<(String, Counts)> {
        s.verdict
            .groups
            .iter()
            .map(|g| (g.name.clone(), g.counts.clone()))
            .collect()
    };
    let services = |s: &Side| -> Vec<(String, Counts)> {
        s.verdict
            .services
            .iter()
            .map(|g| (g.name.clone(), g.counts.clone()))
            .collect()
    };
    for (scope, of_b, of_a) in [
        (Scope::Group, groups(b), groups(a)),
        (Scope::Service, services(b), services(a)),
    ] {
        let mut names: Vec<&String> = of_b.iter().map(|(n, _)| n).collect();
        names.extend(
            of_a.iter()
                .map(|(n, _)| n)
                .filter(|n| !of_b.iter().any(|(m, _)| m == *n)),
        );
        for name in names {
            let find = |list: &[(String, Counts)]| {
                list.iter().find(|(n, _)| n == name).map(|(_, c)| c.clone())
            };
            let (cb, ca) = (find(&of_b), find(&of_a));
            for &c in Counter::ALL.iter().filter(|c| c.scope() == scope) {
                let (x, y) = (cb.as_ref().map(|k| k.get(c)), ca.as_ref().map(|k| k.get(c)));
                if x != y {
                    rows.push((format!("{name}.{}", c.name()), x, y));
                }
            }
        }
    }
    rows
}

fn counters(o: &mut String, b: &Side, a: &Side) {
    let rows = counter_rows(b, a);
    let width = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(28);
    let _ = writeln!(
        o,
        "\n{:<lead$}{:>8} {:>11}",
        "Counters (≠ marks a difference)",
        "before",
        "after",
        lead = width + 3
    );
    let n = |v: Option<u64>| v.map_or("—".to_string(), |v| v.to_string());
    for (name, x, y) in rows {
        let mark = if x != y { '≠' } else { ' ' };
        let _ = writeln!(o, "{mark} {name:<width$} {:>8} {:>11}", n(x), n(y));
    }
}

fn timelines(o: &mut String, w: &WhatIf) {
    let (b, a) = (&w.before, &w.after);
    let at = match w.parting() {
        Parting::Never(rows) => {
            let _ = writeln!(
                o,
                "\nThe timelines never part: all {rows} rows are the same in both runs."
            );
            return;
        }
        Parting::NotWithin => {
            let _ = writeln!(
                o,
                "\nThe timelines do not part within the first {ROWS_COMPARED} rows (kafkasim diff compares no further)."
            );
            return;
        }
        Parting::At(i) => i,
    };
    let t = w.parted_ms(at);
    let same = match at {
        0 => "they differ from the first row".to_string(),
        1 => "the row before it is the same in both runs".to_string(),
        n => format!("the {n} rows before it are the same in both runs"),
    };
    let _ = writeln!(
        o,
        "\nWhere the timelines part: row {}, t={t}ms ({same})",
        at + 1
    );
    let _ = writeln!(
        o,
        "{:>8}  {:<7} {:<22} {:<12} detail",
        "t", "run", "actor", "event"
    );
    let line = |o: &mut String, run: &str, r: &Row| {
        let _ = writeln!(
            o,
            "{:>8}  {run:<7} {:<22} {:<12} {}",
            r.0.ms(),
            r.1,
            r.2,
            r.3
        );
    };
    for r in &b.rows[at.saturating_sub(ROWS_BEFORE)..at] {
        line(o, "both", r);
    }
    for (label, s) in [("before", b), ("after", a)] {
        let next = s.rows.iter().skip(at).take(ROWS_AFTER);
        if s.rows.len() <= at {
            let _ = writeln!(o, "{:>8}  {label:<7} (the timeline ends here)", "");
        }
        for r in next {
            line(o, label, r);
        }
    }
}

/// The comparison as one JSON object (README, "What if").
pub fn json(w: &WhatIf) -> String {
    let (b, a) = (&w.before, &w.after);
    let mut j = Json::new();
    j.open_object();
    j.field_str("scenario", w.name);
    j.field_num("seed", b.seed);
    j.field_str("reproduce", w.reproduce);
    j.key("set").open_array();
    for c in w.changes {
        j.open_object();
        j.field_str("path", &c.path);
        j.key("before");
        opt_str(&mut j, c.before.as_deref());
        j.key("default");
        opt_str(&mut j, c.default.as_deref());
        j.field_str("after", &c.after);
        j.close_object();
    }
    j.close_array();
    for (label, s) in [("before", b), ("after", a)] {
        j.key(label).open_object();
        side_json(&mut j, s);
        j.close_object();
    }
    j.key("counters").open_object();
    for (name, x, y) in counter_rows(b, a).into_iter().filter(|r| r.1 != r.2) {
        j.key(&name).open_array();
        j.opt_num(x);
        j.opt_num(y);
        j.close_array();
    }
    j.close_object();
    let parting = w.parting();
    let (word, rows) = match parting {
        Parting::Never(n) => ("never", n),
        Parting::NotWithin => ("not-within-bound", ROWS_COMPARED),
        Parting::At(i) => ("parted", i),
    };
    j.field_str("timelines", word);
    j.field_num("rows_compared", rows as u64);
    j.key("parted_at");
    match parting {
        Parting::At(i) => {
            j.open_object();
            j.field_num("row", i as u64 + 1);
            j.field_num("t_ms", w.parted_ms(i));
            j.key("before");
            row_json(&mut j, b.rows.get(i));
            j.key("after");
            row_json(&mut j, a.rows.get(i));
            j.close_object();
        }
        _ => {
            j.null();
        }
    }
    j.close_object();
    let mut out = j.finish();
    out.push('\n');
    out
}

fn opt_str(j: &mut Json, s: Option<&str>) {
    match s {
        Some(s) => j.str(s),
        None => j.null(),
    };
}

fn side_json(j: &mut Json, s: &Side) {
    j.field_str("title", &s.title);
    j.field_num("seed", s.seed);
    j.key("pass").bool(s.verdict.pass);
    j.field_str("outcome", s.outcome);
    j.field_num("end_ms", s.end_ms);
    j.field_num("events", s.events);
    j.key("expectations").open_array();
    for e in &s.verdict.expectations {
        j.open_object();
        j.field_str("name", &e.expectation.name);
        j.field_str("expected", &e.expectation.condition.to_string());
        j.field_num("actual", e.actual);
        j.key("holds").bool(e.holds);
        j.close_object();
    }
    j.close_array();
    j.key("totals").open_object();
    for &c in Counter::ALL {
        j.field_num(c.name(), s.verdict.totals.get(c));
    }
    j.close_object();
}

fn row_json(j: &mut Json, r: Option<&Row>) {
    match r {
        Some((t, actor, event, detail)) => {
            j.open_object();
            j.field_num("t_ms", t.ms());
            j.field_str("actor", actor);
            j.field_str("event", event);
            j.field_str("detail", detail);
            j.close_object();
        }
        None => {
            j.null();
        }
    }
}
