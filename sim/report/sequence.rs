//! `kafkasim run FILE --format mermaid`: a Mermaid sequence diagram of a run, for slides
//! and Markdown pages.
//!
//! It is drawn from the trace records (`Recording`, a sink that keeps the first
//! `KEPT_RECORDS` timeline records) and the verdict, with the timeline's own wording
//! (`timeline_rows`): each row becomes an arrow (a send to Kafka, an ack or a poll back, a
//! commit to the group's coordinator), a message to itself (an effect, a database commit)
//! or a note (a crash, a rebalance, a broker's append). Anomalies are highlighted notes
//! after the row they happened at. A diagram shows either the first rows of the run or a
//! window of rows around each anomaly, so its size is bounded whatever the run.

use super::graph::{front_matter, mermaid_text};
use super::{shown, timeline_rows, Row};
use crate::check::{Anomaly, Verdict};
use crate::model::RunResult;
use crate::scenario::Scenario;
use crate::trace::{Actor, ActorId, Kind, Outage, Tables, TraceEvent, TraceSink};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Timeline records a `Recording` keeps: a diagram can show rows up to this far into a
/// run; anomalies after it are counted in a closing note. (At most 16 MB, a test checks.)
pub const KEPT_RECORDS: usize = 250_000;
/// Rows shown by default when the diagram shows the start of the run.
pub const DEFAULT_ROWS: usize = 40;
/// Rows shown by default on each side of an anomaly.
pub const DEFAULT_WINDOW: usize = 4;
/// The most rows `--events` may ask for.
pub const MAX_ROWS: usize = 500;
/// The widest `--window`.
pub const MAX_WINDOW: usize = 25;
/// Anomalies drawn with their window; later ones are counted in the closing note.
pub const MAX_ANOMALIES: usize = 10;
/// Characters of an anomaly's cause shown in its note.
const CAUSE_CHARS: usize = 360;
/// Characters per line in a message or note before it wraps.
const WRAP: usize = 48;

/// A trace sink that keeps the first `KEPT_RECORDS` records the timeline shows, and counts
/// the rest.
#[derive(Debug, Default)]
pub struct Recording {
    kept: Vec<TraceEvent>,
    left_out: u64,
}

impl TraceSink for Recording {
    fn record(&mut self, _: &Tables, ev: &TraceEvent) {
        if !shown(ev.kind) {
            return;
        }
        if self.kept.len() < KEPT_RECORDS {
            self.kept.push(*ev);
        } else {
            self.left_out += 1;
        }
    }
}

/// Which rows a diagram shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Windows of `DEFAULT_WINDOW` rows around the anomalies if the run has any, else the
    /// first `DEFAULT_ROWS` rows.
    Auto,
    /// The first N rows (and the anomalies among them).
    First(usize),
    /// N rows before and after each of the first `MAX_ANOMALIES` anomalies (the first
    /// `DEFAULT_ROWS` rows if there are none).
    Windows(usize),
}

/// A participant (a lifeline), in the order they are drawn: producers, services with
/// their relays, Kafka, then each group's coordinator followed by its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Lane {
    Producer(u16),
    Service(u16, Option<u32>),
    Kafka,
    Group(u16, Option<u32>),
}

impl Lane {
    fn of(t: &Tables, a: ActorId) -> Lane {
        match t.actors[a.ix()].0 {
            Actor::Producer(p) => Lane::Producer(p),
            Actor::Service(s) => Lane::Service(s, None),
            Actor::Relay { service, index } => Lane::Service(service, Some(index)),
            Actor::Member { group, index } => Lane::Group(group, Some(index)),
        }
    }

    /// The participant id: generated, never a user string.
    fn id(self) -> String {
        match self {
            Lane::Producer(p) => format!("p{p}"),
            Lane::Service(s, None) => format!("s{s}"),
            Lane::Service(s, Some(r)) => format!("s{s}r{r}"),
            Lane::Kafka => "kafka".to_string(),
            Lane::Group(g, None) => format!("g{g}"),
            Lane::Group(g, Some(m)) => format!("g{g}m{m}"),
        }
    }

    fn label(self, sc: &Scenario) -> String {
        match self {
            Lane::Producer(p) => sc.producers[p as usize].name.clone(),
            Lane::Service(s, None) => sc.services[s as usize].name.clone(),
            Lane::Service(s, Some(r)) => sc.relay_name(s as usize, r),
            Lane::Kafka => match sc.cluster.brokers {
                1 => "Kafka (1 broker)".to_string(),
                n => format!("Kafka ({n} brokers)"),
            },
            Lane::Group(g, None) => format!("{} (coordinator)", sc.groups[g as usize].name),
            Lane::Group(g, Some(m)) => sc.member_name(g as usize, m),
        }
    }
}

/// How one row is drawn.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// An arrow: from, to, Mermaid's arrow.
    Arrow(Lane, Lane, &'static str),
    /// A message to itself.
    Own(Lane),
    /// A note over one lane.
    Note(Lane),
}

fn shape(t: &Tables, k: Kind) -> Shape {
    let lane = |a: ActorId| Lane::of(t, a);
    let coordinator = |a: ActorId| Lane::Group(t.member_group(a) as u16, None);
    match k {
        Kind::Send { actor, .. } => Shape::Arrow(lane(actor), Lane::Kafka, "->>"),
        Kind::RequestDropped { actor, .. } => Shape::Arrow(lane(actor), Lane::Kafka, "-x"),
        Kind::Ack { actor, .. } | Kind::Deliver { actor, .. } => {
            Shape::Arrow(Lane::Kafka, lane(actor), "-->>")
        }
        Kind::Rejected { event, .. } => {
            Shape::Arrow(Lane::Kafka, lane(t.envelopes[event.ix()].source), "--x")
        }
        Kind::JoinGroup { actor } | Kind::Leave { actor } => {
            Shape::Arrow(lane(actor), coordinator(actor), "->>")
        }
        Kind::Committed { actor, .. } => Shape::Arrow(lane(actor), coordinator(actor), "->>"),
        Kind::CommitRejected { actor, .. } | Kind::SessionExpired { actor } => {
            Shape::Arrow(coordinator(actor), lane(actor), "--x")
        }
        Kind::RebalanceStart { group, .. }
        | Kind::Generation { group, .. }
        | Kind::Withheld { group, .. }
        | Kind::StaticRejoin { group, .. } => Shape::Note(Lane::Group(group, None)),
        Kind::Effect { actor, .. }
        | Kind::Absorbed { actor, .. }
        | Kind::Mark { actor, .. }
        | Kind::DbCommit { actor, .. }
        | Kind::RelayPublish { actor, .. }
        | Kind::RelayMark { actor, .. }
        | Kind::RelayMarkFailed { actor, .. } => Shape::Own(lane(actor)),
        Kind::Retry { actor, .. }
        | Kind::SendFailed { actor, .. }
        | Kind::MetadataRefresh { actor, .. }
        | Kind::EpochBump { actor, .. }
        | Kind::OffsetReset { actor, .. }
        | Kind::Seek { actor, .. }
        | Kind::NoOffset { actor, .. }
        | Kind::Resume { actor, .. }
        | Kind::CommitFailed { actor, .. }
        | Kind::Revoke { actor, .. }
        | Kind::RevokeMoved { actor, .. }
        | Kind::Paused { actor, .. }
        | Kind::PollTimeout { actor, .. }
        | Kind::CloseInterrupted { actor, .. }
        | Kind::Crash { actor, .. }
        | Kind::Restart { actor }
        | Kind::CrashArmed { actor, .. }
        | Kind::CommandRefused { actor, .. }
        | Kind::MarkFailing { actor, .. }
        | Kind::StoreUnavailable { actor, .. }
        | Kind::Assigned { actor, .. }
        | Kind::ProcessStart { actor, .. }
        | Kind::CommitSent { actor, .. } => Shape::Note(lane(actor)),
        Kind::OutageStart { what, .. } | Kind::OutageEnd { what } => match what {
            Outage::Isolated(a) => Shape::Note(lane(a)),
            Outage::Store(g) => Shape::Note(Lane::Group(g, None)),
            Outage::Kafka | Outage::BrokerCut(_) | Outage::Messages { .. } => {
                Shape::Note(Lane::Kafka)
            }
        },
        Kind::Append { .. }
        | Kind::DuplicateIgnored { .. }
        | Kind::BrokerDown { .. }
        | Kind::BrokerUp { .. }
        | Kind::BrokerFenced { .. }
        | Kind::LeaderChange { .. }
        | Kind::IsrChange { .. }
        | Kind::HighWatermark { .. }
        | Kind::LogTruncated { .. }
        | Kind::SegmentsDeleted { .. }
        | Kind::PartitionsAdded { .. }
        | Kind::LogCleaned { .. }
        | Kind::RecordCompacted { .. }
        | Kind::ReplicaTruncated { .. } => Shape::Note(Lane::Kafka),
    }
}

/// The lane an anomaly's note goes over: the member of its group that the row it follows
/// concerns (`near`), else its group's coordinator, producer or service; Kafka for a
/// topic's (`key_split`).
fn anomaly_lane(sc: &Scenario, t: &Tables, a: &Anomaly, near: Shape) -> Lane {
    if let Some(g) = sc.groups.iter().position(|g| g.name == a.scope) {
        let member = match near {
            Shape::Arrow(x, y, _) => [Some(x), Some(y)],
            Shape::Own(x) | Shape::Note(x) => [Some(x), None],
        };
        return member
            .into_iter()
            .flatten()
            .find(|l| matches!(l, Lane::Group(n, Some(_)) if *n as usize == g))
            .unwrap_or(Lane::Group(g as u16, None));
    }
    t.actors
        .iter()
        .position(|(actor, name)| {
            matches!(actor, Actor::Producer(_) | Actor::Service(_)) && *name == a.scope
        })
        .map_or(Lane::Kafka, |i| Lane::of(t, ActorId(i as u32)))
}

/// The row an anomaly is drawn after: at its time, the row whose records concern its
/// event (or its partition), else the last row at or before its time. None when its time
/// is past every row kept.
fn anchor(rows: &[Row], evs: &[TraceEvent], a: &Anomaly) -> Option<usize> {
    let last = rows.partition_point(|r| r.at <= a.at);
    if last == 0 {
        return (!rows.is_empty()).then_some(0);
    }
    let first = rows[..last].partition_point(|r| r.at < a.at);
    let concerns = |r: &Row| {
        evs[r.records.clone()]
            .iter()
            .any(|e| a.event.is_some() && e.kind.event() == a.event)
    };
    let at_time = (first..last).rev().find(|&i| concerns(&rows[i]));
    Some(at_time.unwrap_or(last - 1))
}

/// `text` cut into lines of about `WRAP` characters at spaces, each escaped, joined by
/// Mermaid's `<br/>`.
fn wrapped(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > WRAP {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    let escaped: Vec<String> = lines.iter().map(|l| mermaid_text(l)).collect();
    escaped.join("<br/>")
}

/// The note for the anomalies of one kind and scope drawn after one row: `⚠ kind`, the
/// first one's cause (cut to `CAUSE_CHARS`), and where the others are.
fn anomaly_text(t: &Tables, group: &[&Anomaly]) -> String {
    let a = group[0];
    let mut head = format!("⚠ {}", a.kind.name());
    if group.len() > 1 {
        head.push_str(&format!(" ×{}", group.len()));
    }
    let mut cause: String = a.cause.chars().take(CAUSE_CHARS).collect();
    if a.cause.chars().count() > CAUSE_CHARS {
        cause.push_str(" … (the full cause is in `kafkasim run`)");
    }
    if group.len() > 1 {
        let places: Vec<String> = group[1..]
            .iter()
            .take(6)
            .map(|o| match (o.part, o.offset, o.event) {
                (Some(p), Some(off), _) => format!("{}@{off}", t.part_name(p)),
                (_, _, Some(e)) => t.event_id(e),
                _ => format!("t={}", o.at),
            })
            .collect();
        let more = if group.len() > 7 { ", …" } else { "" };
        cause.push_str(&format!(
            " — and {} more like it: {}{more}",
            group.len() - 1,
            places.join(", ")
        ));
    }
    format!("{}<br/>{}", mermaid_text(&head), wrapped(&cause))
}

/// Whether a row is a crash (of a member, service, relay or broker), which a diagram of
/// windows also centres a window on, and draws highlighted.
fn is_crash(k: Kind) -> bool {
    matches!(
        k,
        Kind::Crash { .. } | Kind::BrokerDown { clean: false, .. }
    )
}

/// What the diagram draws, in order.
enum Item {
    Row(usize),
    Gap {
        rows: usize,
    },
    /// Anomalies (indexes into the verdict's) of one kind and scope, after row `row`.
    Anomalies {
        row: usize,
        group: Vec<usize>,
    },
}

/// The rows to draw, the gaps between them and where the anomalies go, with a phrase
/// saying what was drawn. `whole`: `rows` are every row of the run (no record left out).
fn plan(
    rows: &[Row],
    anchors: &[Option<usize>],
    crashes: &[usize],
    group_of: impl Fn(usize) -> (u8, String),
    selection: Selection,
    whole: bool,
) -> (Vec<Item>, String) {
    let windows = match selection {
        Selection::Auto if anchors.iter().any(Option::is_some) => Some(DEFAULT_WINDOW),
        Selection::Windows(w) if anchors.iter().any(Option::is_some) => Some(w.min(MAX_WINDOW)),
        _ => None,
    };
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let note;
    match (windows, selection) {
        (Some(w), _) => {
            let mut centres: Vec<usize> = anchors.iter().flatten().copied().collect();
            centres.extend(crashes.iter().take(MAX_ANOMALIES));
            centres.sort_unstable();
            for a in centres {
                let (lo, hi) = (a.saturating_sub(w), (a + w + 1).min(rows.len()));
                match ranges.last_mut() {
                    Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                    _ => ranges.push((lo, hi)),
                }
            }
            let rows = if w == 1 { "row" } else { "rows" };
            note = format!("{w} {rows} either side of each anomaly and crash");
        }
        (None, sel) => {
            let n = match sel {
                Selection::First(n) => n.min(MAX_ROWS),
                _ => DEFAULT_ROWS,
            };
            // What was drawn, not what was asked: a run may have fewer rows.
            let shown = n.min(rows.len());
            ranges.push((0, shown));
            let unit = if shown == 1 { "row" } else { "rows" };
            let what = if shown == rows.len() && whole {
                format!("all {shown} {unit}")
            } else {
                format!("the first {shown} {unit}")
            };
            note = if matches!(sel, Selection::Windows(_)) {
                format!("no anomalies to show: {what}")
            } else {
                what
            };
        }
    }
    // Per row, the anomalies drawn after it, grouped by kind and scope.
    let mut by_row: BTreeMap<usize, BTreeMap<(u8, String), Vec<usize>>> = BTreeMap::new();
    for (i, a) in anchors.iter().enumerate() {
        if let Some(r) = a {
            by_row
                .entry(*r)
                .or_default()
                .entry(group_of(i))
                .or_default()
                .push(i);
        }
    }
    let mut items = Vec::new();
    let mut next = 0;
    for (lo, hi) in ranges {
        if lo > next {
            items.push(Item::Gap { rows: lo - next });
        }
        for r in lo..hi {
            items.push(Item::Row(r));
            for group in by_row.remove(&r).into_iter().flat_map(|g| g.into_values()) {
                items.push(Item::Anomalies { row: r, group });
            }
        }
        next = hi;
    }
    if next < rows.len() {
        items.push(Item::Gap {
            rows: rows.len() - next,
        });
    }
    (items, note)
}

/// The diagram: Mermaid `sequenceDiagram` text, with a title, a comment saying what is
/// shown and how to reproduce it, and a closing note with the verdict.
pub fn mermaid(
    sc: &Scenario,
    seed: u64,
    run: &RunResult,
    v: &Verdict,
    rec: &Recording,
    selection: Selection,
    reproduce: &str,
) -> String {
    let t = &run.tables;
    let rows = timeline_rows(sc, t, &rec.kept);
    let drawn = &v.anomalies[..v.anomalies.len().min(MAX_ANOMALIES)];
    // An anomaly after the last row kept has no row to follow: only counted.
    let beyond = |a: &Anomaly| rec.left_out > 0 && rows.last().is_some_and(|r| a.at > r.at);
    let anchors: Vec<Option<usize>> = drawn
        .iter()
        .map(|a| {
            if beyond(a) {
                None
            } else {
                anchor(&rows, &rec.kept, a)
            }
        })
        .collect();
    let crashes: Vec<usize> = (0..rows.len())
        .filter(|&r| is_crash(rec.kept[rows[r].records.start].kind))
        .collect();
    let group_of = |i: usize| (drawn[i].kind as u8, drawn[i].scope.clone());
    let (items, note) = plan(
        &rows,
        &anchors,
        &crashes,
        group_of,
        selection,
        rec.left_out == 0,
    );

    // Lanes: those the drawn rows and notes use, in lane order.
    let mut lanes: Vec<Lane> = vec![Lane::Kafka];
    for item in &items {
        match *item {
            Item::Row(r) => match shape(t, rec.kept[rows[r].records.start].kind) {
                Shape::Arrow(a, b, _) => lanes.extend([a, b]),
                Shape::Own(a) | Shape::Note(a) => lanes.push(a),
            },
            Item::Anomalies { row, ref group } => {
                let near = shape(t, rec.kept[rows[row].records.start].kind);
                lanes.push(anomaly_lane(sc, t, &drawn[group[0]], near));
            }
            Item::Gap { .. } => {}
        }
    }
    lanes.sort();
    lanes.dedup();
    let span = format!("{},{}", lanes[0].id(), lanes[lanes.len() - 1].id());

    let mut o = String::new();
    o.push_str(&front_matter(&format!(
        "kafkasim · {} — {}",
        sc.name, sc.title
    )));
    o.push_str("sequenceDiagram\n");
    // Rows, not records: past `KEPT_RECORDS` the rows of the records left out are unknown.
    let in_all = if rec.left_out == 0 {
        format!("{} rows in all", rows.len())
    } else {
        format!(
            "{} rows in the first {KEPT_RECORDS} records, then {} records not kept",
            rows.len(),
            rec.left_out
        )
    };
    let _ = writeln!(
        o,
        "  %% seed {seed} · {note} · {in_all} · reproduce: {}",
        crate::diag::one_line(reproduce)
    );
    for lane in &lanes {
        let _ = writeln!(
            o,
            "  participant {} as {}",
            lane.id(),
            mermaid_text(&lane.label(sc))
        );
    }
    for item in &items {
        match *item {
            Item::Row(r) => draw_row(
                &mut o,
                sc,
                t,
                &rows[r],
                rec.kept[rows[r].records.start].kind,
            ),
            Item::Gap { rows: n } => {
                let _ = writeln!(
                    o,
                    "  Note over {span}: {}",
                    mermaid_text(&format!(
                        "⋯ {n} {} not shown ⋯",
                        if n == 1 { "row" } else { "rows" }
                    ))
                );
            }
            Item::Anomalies { row, ref group } => {
                let near = shape(t, rec.kept[rows[row].records.start].kind);
                let lane = anomaly_lane(sc, t, &drawn[group[0]], near);
                let group: Vec<&Anomaly> = group.iter().map(|&i| &drawn[i]).collect();
                let _ = writeln!(o, "  rect rgb(255, 224, 224)");
                let _ = writeln!(
                    o,
                    "    Note over {}: {}",
                    lane.id(),
                    anomaly_text(t, &group)
                );
                let _ = writeln!(o, "  end");
            }
        }
    }
    let drawn_count: u64 = items
        .iter()
        .map(|i| match i {
            Item::Anomalies { group, .. } => group.len() as u64,
            _ => 0,
        })
        .sum();
    let _ = writeln!(
        o,
        "  Note over {span}: {}",
        closing(v, drawn_count, rec.left_out)
    );
    o
}

fn draw_row(o: &mut String, sc: &Scenario, t: &Tables, row: &Row, kind: Kind) {
    let s = shape(t, kind);
    // A note over Kafka or a coordinator names the row's actor (broker-2, controller, a
    // member) when it is not the lane itself.
    let own = |lane: Lane| match lane {
        Lane::Kafka => row.actor == "kafka",
        Lane::Group(g, None) => sc.groups[g as usize].name == row.actor,
        lane => lane.label(sc) == row.actor,
    };
    let text = match s {
        Shape::Note(lane) if !own(lane) => {
            format!("t={} {} {} {}", row.at, row.actor, row.verb, row.detail)
        }
        _ => format!("t={} {} {}", row.at, row.verb, row.detail),
    };
    let text = wrapped(&text);
    if is_crash(kind) {
        if let Shape::Note(a) = s {
            let _ = writeln!(o, "  rect rgb(255, 240, 200)");
            let _ = writeln!(o, "    Note over {}: {text}", a.id());
            let _ = writeln!(o, "  end");
            return;
        }
    }
    let _ = match s {
        Shape::Arrow(a, b, arrow) => writeln!(o, "  {}{arrow}{}: {text}", a.id(), b.id()),
        Shape::Own(a) => writeln!(o, "  {}->>{}: {text}", a.id(), a.id()),
        Shape::Note(a) => writeln!(o, "  Note over {}: {text}", a.id()),
    };
}

/// The closing note: the verdict, the anomalies by kind, and any not drawn.
fn closing(v: &Verdict, drawn: u64, left_out_rows: u64) -> String {
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    for a in &v.anomalies {
        *by_kind.entry(a.kind.name()).or_default() += 1;
    }
    for (k, n) in &v.anomalies_left_out {
        *by_kind.entry(k.name()).or_default() += n;
    }
    let total: u64 = by_kind.values().sum();
    let mut text = format!("Verdict {}", if v.pass { "PASS" } else { "FAIL" });
    let failed: Vec<String> = v
        .expectations
        .iter()
        .filter(|e| !e.holds)
        .map(|e| e.describe())
        .collect();
    if !failed.is_empty() {
        text.push_str(&format!(" ({})", failed.join("; ")));
    }
    if total == 0 {
        text.push_str(" · no anomalies");
    } else {
        let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let noun = if total == 1 { "anomaly" } else { "anomalies" };
        text.push_str(&format!(" · {total} {noun}: {}", kinds.join(", ")));
        if drawn < total {
            text.push_str(&format!(" · {} not drawn", total - drawn));
        }
    }
    if left_out_rows > 0 {
        text.push_str(&format!(
            " · the diagram keeps the first {KEPT_RECORDS} records; {left_out_rows} later ones are not drawn"
        ));
    }
    wrapped(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_recording_stays_within_the_memory_its_docs_promise() {
        let bytes = std::mem::size_of::<TraceEvent>() * KEPT_RECORDS;
        assert!(bytes <= 16 << 20, "{bytes} bytes");
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_escapes_each_line() {
        let w = wrapped(&format!("{} tail;", "word ".repeat(20).trim_end()));
        let lines: Vec<&str> = w.split("<br/>").collect();
        assert!(lines.len() >= 2, "{w}");
        assert!(lines.iter().all(|l| l.chars().count() <= WRAP + 4), "{w}");
        assert!(w.ends_with("tail#59;"), "{w}");
    }
}
