//! `kafkasim report`: one self-contained, interactive HTML page of a run, for a projector.
//!
//! The page is built from the same trace records, `Tables` and `Verdict` as every other
//! output: a `Capture` sink keeps the first `TRACE_KEPT` records, and `html` turns them into
//! one JSON document (the topology, the timeline rows in `rows()`'s own words, each
//! partition's appends, high watermarks and log changes, each group's commits and
//! ownership, the anomalies with their causes, the summary and the verdict) which the
//! template (`report.html.j2`) embeds in a `<script type="application/json">` element. The
//! page's script draws everything from that document with DOM APIs and `textContent`, so
//! no string from a scenario is ever parsed as HTML; the template escapes the rest
//! (minijinja's HTML auto-escaping, and `tojson`, which escapes `<`, `>`, `&` and `'`).
//!
//! Nothing here runs the model or judges anything, and the page loads nothing: no CDN, no
//! font, no network. What is left out to keep the page bounded is counted in the page.

use super::{continues_row, is_group_counter, is_service_counter, rows};
use crate::check::{AnomalyKind, Verdict};
use crate::counters::Counter;
use crate::engine::Time;
use crate::model::log::Offset;
use crate::model::RunResult;
use crate::scenario::Scenario;
use crate::trace::{Actor, ActorId, EventIx, Kind, PartId, Tables, TraceEvent, TraceSink, NO_KEY};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Trace records a `Capture` keeps (the first ones; about 40 bytes each, so at most about
/// 8 MB); later records are counted, and the page says how many.
pub const TRACE_KEPT: usize = 200_000;

/// Timeline rows the page embeds from the start of the run; past them, only the rows that
/// anomalies point at.
pub const ROWS_EMBEDDED: usize = 20_000;

/// Anomalies the page embeds with their causes (the earliest, as the verdict orders them);
/// the rest are counted by kind.
pub const ANOMALIES_EMBEDDED: usize = 1_000;

/// The page's template: HTML with its CSS and script inline. Its name ends in `.html.j2`,
/// so minijinja escapes every value for HTML.
const TEMPLATE: &str = include_str!("report.html.j2");
const TEMPLATE_NAME: &str = "report.html.j2";

/// Characters of the scenario's title the page shows in its header and tab (the rest is
/// cut, ending in `…`).
pub const TITLE_SHOWN: usize = 200;

/// A trace sink that keeps the first `TRACE_KEPT` records of a run for `html`, counts the
/// rest, and counts every timeline row of the run (kept or not), as the text timeline's
/// `Timeline` sink does.
#[derive(Debug, Default)]
pub struct Capture {
    events: Vec<TraceEvent>,
    left_out: u64,
    rows: u64,
    /// The last record that is a row's, kept or not.
    last: Option<TraceEvent>,
}

impl Capture {
    pub fn new() -> Capture {
        Capture::default()
    }

    /// The records kept, in order.
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }

    /// Records past the first `TRACE_KEPT`, counted but not kept.
    pub fn left_out(&self) -> u64 {
        self.left_out
    }

    /// Timeline rows of the whole run, kept or not.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

impl TraceSink for Capture {
    fn record(&mut self, _: &Tables, ev: &TraceEvent) {
        if super::shown(ev.kind) {
            let continues = matches!(
                (self.last, ev.kind),
                (Some(prev), Kind::Deliver { .. }) if continues_row(&prev, ev)
            );
            self.last = Some(*ev);
            if !continues {
                self.rows += 1;
            }
        }
        if self.events.len() < TRACE_KEPT {
            self.events.push(*ev);
        } else {
            self.left_out += 1;
        }
    }
}

/// How the page presents the run.
pub struct HtmlOptions<'a> {
    /// The command that reproduces this run (`kafkasim run NAME --seed N`), shown in the
    /// header.
    pub reproduce: &'a str,
}

/// The HTML page of a run: a complete document, deterministic for a scenario and seed.
///
/// Errors: a template error (a bug in the template, never caused by the scenario), as
/// text.
pub fn html(
    sc: &Scenario,
    seed: u64,
    run: &RunResult,
    v: &Verdict,
    capture: &Capture,
    opts: &HtmlOptions,
) -> Result<String, String> {
    let page = page(sc, seed, run, v, capture, opts);
    let mut env = minijinja::Environment::new();
    env.add_template(TEMPLATE_NAME, TEMPLATE)
        .map_err(|e| format!("the report template: {e}"))?;
    let tmpl = env
        .get_template(TEMPLATE_NAME)
        .map_err(|e| format!("the report template: {e}"))?;
    let mut out = tmpl
        .render(
            minijinja::context! { page => minijinja::Value::from(minijinja::value::Serde(&page)) },
        )
        .map_err(|e| format!("the report template: {e}"))?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// Everything the page shows, as the JSON document it embeds (README, "The HTML report").
#[derive(Serialize)]
struct Page {
    scenario: Head,
    notes: Vec<String>,
    run: RunHead,
    topology: Topology,
    /// Keys by colour index, in order of first appearance.
    keys: Vec<String>,
    rows: Vec<Row>,
    lanes: Vec<Lane>,
    groups: Vec<GroupData>,
    anomalies: Vec<AnomalyData>,
    summary: Summary,
    verdict: VerdictData,
    limits: Limits,
}

#[derive(Serialize)]
struct Head {
    name: String,
    title: String,
    /// The title as the header shows it: at most `TITLE_SHOWN` characters.
    title_shown: String,
    /// The `lesson:` text in paragraphs (split at blank lines, lines joined with spaces).
    lesson: Vec<String>,
    seed: u64,
    reproduce: String,
}

#[derive(Serialize)]
struct RunHead {
    outcome: &'static str,
    end_ms: u64,
    events: u64,
}

#[derive(Serialize)]
struct Topology {
    brokers: Vec<String>,
    topics: Vec<TopicData>,
    producers: Vec<ClientData>,
    services: Vec<ServiceData>,
}

#[derive(Serialize)]
struct TopicData {
    name: String,
    /// Partitions at the start; `add_partitions` may add more (see `Lane::added_at_ms`).
    partitions: u32,
    replication_factor: u32,
    min_insync_replicas: u32,
    /// `cleanup.policy`, `retention.ms` and the like, in Kafka's words; empty when default.
    settings: Vec<String>,
}

#[derive(Serialize)]
struct ClientData {
    name: String,
    topic: String,
    settings: Vec<String>,
}

#[derive(Serialize)]
struct ServiceData {
    name: String,
    topic: String,
    publish: &'static str,
    relays: Vec<String>,
}

/// One timeline row, exactly as the text timeline words it.
#[derive(Serialize)]
struct Row {
    t: u64,
    actor: String,
    verb: &'static str,
    detail: String,
    /// Lane index of the partition the row concerns, if any.
    lane: Option<u32>,
    /// The offset it concerns, if any (the first, for a poll of several records).
    offset: Option<u64>,
    /// Colour index of the record's key (`Page::keys`), if it has one.
    key: Option<u32>,
    /// Indices into `Page::anomalies` of the anomalies this row shows.
    anomalies: Vec<u32>,
    /// Rows of the run left out just before this one (past `ROWS_EMBEDDED`).
    gap_before: u64,
}

/// One partition: what was appended to it and its offsets, each tagged with the row
/// index `r` from which the page shows it.
#[derive(Serialize)]
struct Lane {
    name: String,
    topic: String,
    replication_factor: u32,
    /// The preferred leader, `broker-N`.
    leader: String,
    /// When `add_partitions` created it (None: there from the start).
    added_at_ms: Option<u64>,
    /// `[r, t, offset, key colour or null, eventId]`.
    appends: Vec<(u32, u64, u64, Option<u32>, String)>,
    /// `[r, high watermark]`: from `high_watermark` records, or one past each append for a
    /// topic with one replica.
    hw: Vec<(u32, u64)>,
    /// `[r, offset]`: the log now ends there (`log_truncated`).
    truncated: Vec<(u32, u64)>,
    /// `[r, log start offset]` after retention deleted segments.
    log_start: Vec<(u32, u64)>,
    /// `[r, offset]` of each record the log cleaner removed.
    compacted: Vec<(u32, u64)>,
    /// `[r, broker-N or null]` at each leader change.
    leaders: Vec<(u32, Option<String>)>,
}

#[derive(Serialize)]
struct GroupData {
    name: String,
    strategy: &'static str,
    commit: &'static str,
    members: Vec<String>,
    /// Lane indices of the partitions of the topics it reads.
    lanes: Vec<u32>,
    /// `[r, lane, committed offset, member]`.
    commits: Vec<(u32, u32, u64, String)>,
    /// `[r, t, lane, owner or null]`: each change of who consumes a partition, from the
    /// members' `assigned`, `revoke`, `revoke_moved`, crash, leave and timeout records.
    owners: Vec<(u32, u64, u32, Option<String>)>,
    /// `[r, t]` of each rebalance start.
    rebalances: Vec<(u32, u64)>,
    /// `[r, t, generation]` of each completed rebalance.
    generations: Vec<(u32, u64, u32)>,
}

#[derive(Serialize)]
struct AnomalyData {
    kind: &'static str,
    /// `duplicate`, `loss`, `order` or `other`: the page's colour for it.
    category: &'static str,
    scope: String,
    t: u64,
    partition: Option<String>,
    offset: Option<u64>,
    event: Option<String>,
    key: Option<String>,
    cause: String,
    /// Its causal chain, from the first cause to the effect (`Anomaly::chain`): what
    /// `kafkasim explain` tells.
    chain: Vec<LinkData>,
    /// The index of the timeline row it points at, if that row is embedded.
    row: Option<u32>,
    /// It has no row here because it happens past the rows the page holds (at or after
    /// the last one, on a page that does not hold the whole run).
    past: bool,
}

/// One link of an anomaly's causal chain: when (ms), what, and whether it is the effect.
#[derive(Serialize)]
struct LinkData {
    t: u64,
    text: String,
    effect: bool,
}

#[derive(Serialize)]
struct Summary {
    /// `total`, then each group, then each service.
    columns: Vec<String>,
    /// A counter's name and its cells (null: not a counter of that column).
    counters: Vec<(&'static str, Vec<Option<u64>>)>,
    /// Each group's committed offsets: `[group, [[partition, committed or null, lag or null]]]`.
    committed: Vec<(String, Vec<PartCommitted>)>,
}

/// `[partition, committed offset or null, lag or null]`.
type PartCommitted = (String, Option<u64>, Option<u64>);

#[derive(Serialize)]
struct VerdictData {
    pass: bool,
    expectations: Vec<ExpectationData>,
}

#[derive(Serialize)]
struct ExpectationData {
    name: String,
    expected: String,
    actual: u64,
    holds: bool,
}

#[derive(Serialize)]
struct Limits {
    trace_kept: usize,
    rows_embedded_max: usize,
    anomalies_embedded_max: usize,
    /// Trace records past `TRACE_KEPT`, not in the page at all.
    trace_left_out: u64,
    /// Timeline rows of the whole run (those of records past `TRACE_KEPT` too), and how
    /// many of them the page leaves out.
    rows_total: u64,
    rows_left_out: u64,
    /// Of those, the rows after the last row the page embeds (the others are counted by
    /// `Row::gap_before`).
    rows_left_out_at_end: u64,
    /// Whether the page holds every row of the run.
    whole: bool,
    /// The time of the last row the page holds (ms): the span it shows is t=0 to this.
    span_end_ms: u64,
    /// Anomalies in the verdict (kept with causes or counted), and how many the page lists.
    anomalies_total: u64,
    anomalies_embedded: usize,
    /// Anomalies `run --format json` lists with their causes (`check::ANOMALIES_KEPT`).
    anomalies_json_max: usize,
    /// Of the listed anomalies, those past the rows the page holds (`AnomalyData::past`).
    anomalies_past: usize,
}

/// The part, offset and event a record concerns, where it has them.
fn concerns(k: &Kind) -> (Option<PartId>, Option<Offset>) {
    match *k {
        Kind::Append { part, offset, .. }
        | Kind::DuplicateIgnored { part, offset, .. }
        | Kind::OffsetReset { part, offset, .. }
        | Kind::Seek { part, offset, .. }
        | Kind::Resume { part, offset, .. }
        | Kind::Deliver { part, offset, .. }
        | Kind::ProcessStart { part, offset, .. }
        | Kind::Effect { part, offset, .. }
        | Kind::Absorbed { part, offset, .. }
        | Kind::CommitSent { part, offset, .. }
        | Kind::Committed { part, offset, .. }
        | Kind::CommitRejected { part, offset, .. }
        | Kind::CommitFailed { part, offset, .. }
        | Kind::HighWatermark { part, offset }
        | Kind::RecordCompacted { part, offset, .. } => (Some(part), Some(offset)),
        Kind::Ack { part, offset, .. } => (Some(part), offset),
        Kind::LogTruncated { part, to } | Kind::ReplicaTruncated { part, to, .. } => {
            (Some(part), Some(to))
        }
        Kind::SegmentsDeleted {
            part, log_start, ..
        } => (Some(part), Some(log_start)),
        Kind::Send { part, .. }
        | Kind::RequestDropped { part, .. }
        | Kind::Rejected { part, .. }
        | Kind::NoOffset { part, .. }
        | Kind::LeaderChange { part, .. }
        | Kind::IsrChange { part, .. }
        | Kind::LogCleaned { part, .. }
        | Kind::EpochBump { part, .. } => (Some(part), None),
        _ => (None, None),
    }
}

/// Which colour the page gives an anomaly: duplicates, losses and order violations are
/// the three the lessons are about.
fn category(k: AnomalyKind) -> &'static str {
    use AnomalyKind::*;
    match k {
        DuplicateDelivery | DuplicateEffect | PublishedDuplicate | LogDuplicate => "duplicate",
        Lost
        | AckedLost
        | UnackedLost
        | CommittedWithoutEvent
        | NotApplied
        | SendFailed
        | NoOffset => "loss",
        KeyOrderViolation | LogReorder | KeySplit | SkippedOffset => "order",
        SkippedByReset | SkippedByRetention | SkippedBySeek | Compacted | InFlightAtEnd => "other",
    }
}

/// The records the page's rows are made of: the shown records (as the text timeline keeps
/// them), grouped into rows exactly as `rows()` groups them.
struct RowPlan {
    /// Shown records, and where each sits in the capture.
    shown: Vec<TraceEvent>,
    source: Vec<usize>,
    /// Each row's range in `shown`.
    groups: Vec<std::ops::Range<usize>>,
}

impl RowPlan {
    fn new(evs: &[TraceEvent]) -> RowPlan {
        let mut shown = Vec::new();
        let mut source = Vec::new();
        for (i, ev) in evs.iter().enumerate() {
            if super::shown(ev.kind) {
                shown.push(*ev);
                source.push(i);
            }
        }
        let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
        for i in 0..shown.len() {
            match groups.last_mut() {
                Some(g) if continues_row(&shown[i - 1], &shown[i]) && g.end == i => g.end = i + 1,
                _ => groups.push(i..i + 1),
            }
        }
        RowPlan {
            shown,
            source,
            groups,
        }
    }
}

/// Where each anomaly's row is: the first row at the anomaly's time whose record is its
/// event (on its partition, then on any), else its partition and offset, else its
/// partition; failing those (an anomaly judged when the run ended, such as `lost`), the
/// row that appended its record.
fn anomaly_rows(plan: &RowPlan, anomalies: &[&crate::check::Anomaly]) -> Vec<Option<usize>> {
    let mut by_event: BTreeMap<(Time, EventIx), usize> = BTreeMap::new();
    let mut by_offset: BTreeMap<(Time, PartId, Offset), usize> = BTreeMap::new();
    let mut by_part: BTreeMap<(Time, PartId), usize> = BTreeMap::new();
    let mut by_event_part: BTreeMap<(Time, EventIx, PartId), usize> = BTreeMap::new();
    let mut appended: BTreeMap<(PartId, Offset, EventIx), usize> = BTreeMap::new();
    let mut by_kind: BTreeMap<(Time, PartId, &'static str), usize> = BTreeMap::new();
    for (g, range) in plan.groups.iter().enumerate() {
        for ev in &plan.shown[range.clone()] {
            let (part, offset) = concerns(&ev.kind);
            if let Kind::Append {
                event,
                part,
                offset,
                ..
            } = ev.kind
            {
                appended.entry((part, offset, event)).or_insert(g);
            }
            if let Some(e) = ev.kind.event() {
                by_event.entry((ev.at, e)).or_insert(g);
                if let Some(p) = part {
                    by_event_part.entry((ev.at, e, p)).or_insert(g);
                }
            }
            if let Some(p) = part {
                by_part.entry((ev.at, p)).or_insert(g);
                by_kind.entry((ev.at, p, ev.kind.name())).or_insert(g);
                if let Some(o) = offset {
                    by_offset.entry((ev.at, p, o)).or_insert(g);
                }
            }
        }
    }
    anomalies
        .iter()
        .map(|a| {
            // The record that did it, where the anomaly's kind names one.
            let preferred = match a.kind {
                AnomalyKind::AckedLost => &["log_truncated", "leader_change"][..],
                AnomalyKind::Lost => &["committed"][..],
                _ => &[][..],
            };
            let by_preferred = a.part.and_then(|p| {
                preferred
                    .iter()
                    .find_map(|k| by_kind.get(&(a.at, p, *k)).copied())
            });
            let on_part = a
                .event
                .zip(a.part)
                .and_then(|(e, p)| by_event_part.get(&(a.at, e, p)).copied());
            by_preferred
                .or(on_part)
                .or_else(|| a.event.and_then(|e| by_event.get(&(a.at, e)).copied()))
                .or_else(|| {
                    a.part
                        .zip(a.offset)
                        .and_then(|(p, o)| by_offset.get(&(a.at, p, o)).copied())
                })
                .or_else(|| a.part.and_then(|p| by_part.get(&(a.at, p)).copied()))
                .or_else(|| match (a.part, a.offset, a.event) {
                    (Some(p), Some(o), Some(e)) => appended.get(&(p, o, e)).copied(),
                    _ => None,
                })
        })
        .collect()
}

/// Assigns key colour indices in order of first appearance.
#[derive(Default)]
struct KeyColours {
    index: BTreeMap<u32, u32>,
    keys: Vec<String>,
}

impl KeyColours {
    fn of(&mut self, t: &Tables, e: EventIx) -> Option<u32> {
        let k = t.envelopes[e.ix()].key;
        if k == NO_KEY {
            return None;
        }
        let next = self.keys.len() as u32;
        let ix = *self.index.entry(k).or_insert(next);
        if ix == next {
            self.keys.push(t.keys[k as usize].clone());
        }
        Some(ix)
    }
}

fn page(
    sc: &Scenario,
    seed: u64,
    run: &RunResult,
    v: &Verdict,
    capture: &Capture,
    opts: &HtmlOptions,
) -> Page {
    let t = &run.tables;
    let evs = capture.events();
    let plan = RowPlan::new(evs);
    let embedded: Vec<&crate::check::Anomaly> =
        v.anomalies.iter().take(ANOMALIES_EMBEDDED).collect();
    let anomaly_groups = anomaly_rows(&plan, &embedded);

    // The rows kept: the first ROWS_EMBEDDED, and past them those anomalies point at.
    let mut kept: BTreeSet<usize> = (0..plan.groups.len().min(ROWS_EMBEDDED)).collect();
    kept.extend(anomaly_groups.iter().flatten().copied());
    let kept: Vec<usize> = kept.into_iter().collect();

    let lanes_ix = lane_index(sc, t, evs);
    let mut colours = KeyColours::default();
    let mut rows_out = Vec::with_capacity(kept.len());
    let mut previous: Option<usize> = None;
    let mut shown_groups: Vec<usize> = Vec::with_capacity(kept.len());
    for &g in &kept {
        let range = plan.groups[g].clone();
        let first = plan.shown[range.start];
        // `rows()` makes exactly one row of a group; should it make none, the group is
        // left out, and `shown_groups` keeps the rows and their groups in step.
        let rendered = rows(sc, t, &plan.shown[range]);
        let Some((at, actor, verb, detail)) = rendered.into_iter().next() else {
            continue;
        };
        shown_groups.push(g);
        let (part, offset) = concerns(&first.kind);
        let gap = match previous {
            None => g,
            Some(p) => g - p - 1,
        };
        previous = Some(g);
        rows_out.push(Row {
            t: at.ms(),
            actor,
            verb,
            detail,
            lane: part.and_then(|p| lanes_ix.get(&p).copied()),
            offset: offset.map(Offset::value),
            key: first.kind.event().and_then(|e| colours.of(t, e)),
            anomalies: Vec::new(),
            gap_before: gap as u64,
        });
    }

    // Rows of the run the page does not hold: those of the kept records it leaves out,
    // and those of the records past `TRACE_KEPT`.
    let rows_total = capture.rows().max(plan.groups.len() as u64);
    let rows_beyond = rows_total - plan.groups.len() as u64;
    let whole = kept.len() == plan.groups.len() && rows_beyond == 0;
    let span_end_ms = rows_out.last().map_or(0, |r| r.t);
    let row_of_group: BTreeMap<usize, u32> = shown_groups
        .iter()
        .enumerate()
        .map(|(r, &g)| (g, r as u32))
        .collect();
    let mut anomalies = Vec::with_capacity(embedded.len());
    for (i, (a, g)) in embedded.iter().zip(&anomaly_groups).enumerate() {
        let row = g.and_then(|g| row_of_group.get(&g).copied());
        if let Some(r) = row {
            rows_out[r as usize].anomalies.push(i as u32);
        }
        anomalies.push(AnomalyData {
            kind: a.kind.name(),
            category: category(a.kind),
            scope: a.scope.clone(),
            t: a.at.ms(),
            partition: a.part.map(|p| t.part_name(p)),
            offset: a.offset.map(Offset::value),
            event: a.event.map(|e| t.event_id(e)),
            key: a.event.and_then(|e| t.key_of(e).map(str::to_string)),
            cause: a.cause.clone(),
            chain: a
                .chain
                .iter()
                .map(|l| LinkData {
                    t: l.at.ms(),
                    text: l.text.clone(),
                    effect: l.effect,
                })
                .collect(),
            row,
            past: row.is_none() && !whole && a.at.ms() >= span_end_ms,
        });
    }

    // For each kept record, the row from which the page shows what it did: the row it is
    // part of, or the next kept row (so a change never shows before its time). Records
    // after the last kept row show with it when every row was kept, else not at all.
    let all_kept = kept.len() == plan.groups.len();
    let row_ends: Vec<usize> = shown_groups
        .iter()
        .map(|&g| plan.source[plan.groups[g].end - 1])
        .collect();
    let last_row = rows_out.len().checked_sub(1).map(|r| r as u32);
    let mut next = 0usize;
    let row_at = |i: usize, next: &mut usize| -> Option<u32> {
        while *next < row_ends.len() && row_ends[*next] < i {
            *next += 1;
        }
        if *next < row_ends.len() {
            Some(*next as u32)
        } else if all_kept {
            last_row
        } else {
            None
        }
    };

    let mut lanes = lanes_out(sc, t, evs, &lanes_ix);
    let mut groups = groups_out(sc, t, &lanes_ix);
    let mut owners = Owners::new(sc, t, &lanes_ix);
    for (i, ev) in evs.iter().enumerate() {
        let Some(r) = row_at(i, &mut next) else {
            break;
        };
        lane_record(
            sc,
            t,
            ev,
            r,
            &lanes_ix,
            &mut lanes,
            &mut groups,
            &mut colours,
        );
        owners.record(t, ev, r, &mut groups);
    }

    let rows_left_out = rows_total - rows_out.len() as u64;
    let rows_left_out_at_end =
        (plan.groups.len() - kept.last().map_or(0, |&g| g + 1)) as u64 + rows_beyond;
    let left_out: u64 = v.anomalies_left_out.iter().map(|k| k.1).sum();
    let anomalies_past = anomalies.iter().filter(|a| a.past).count();
    Page {
        scenario: Head {
            name: sc.name.clone(),
            title: sc.title.clone(),
            title_shown: shortened(&sc.title, TITLE_SHOWN),
            lesson: paragraphs(&sc.lesson),
            seed,
            reproduce: opts.reproduce.to_string(),
        },
        notes: super::notes(sc)
            .into_iter()
            .chain(crate::chaos::notes(sc, seed))
            .collect(),
        run: RunHead {
            outcome: run.outcome.name(),
            end_ms: run.end_ms.ms(),
            events: run.events,
        },
        topology: topology(sc, t),
        keys: colours.keys,
        rows: rows_out,
        lanes,
        groups,
        anomalies,
        summary: summary(t, v),
        verdict: VerdictData {
            pass: v.pass,
            expectations: v
                .expectations
                .iter()
                .map(|e| ExpectationData {
                    name: e.expectation.name.clone(),
                    expected: e.expectation.condition.to_string(),
                    actual: e.actual,
                    holds: e.holds,
                })
                .collect(),
        },
        limits: Limits {
            trace_kept: TRACE_KEPT,
            rows_embedded_max: ROWS_EMBEDDED,
            anomalies_embedded_max: ANOMALIES_EMBEDDED,
            trace_left_out: capture.left_out(),
            rows_total,
            rows_left_out,
            rows_left_out_at_end,
            whole,
            span_end_ms,
            anomalies_total: v.anomalies.len() as u64 + left_out,
            anomalies_embedded: embedded.len(),
            anomalies_json_max: crate::check::ANOMALIES_KEPT,
            anomalies_past,
        },
    }
}

/// `text` cut to at most `max` characters, ending in `…` when it was cut.
fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` split into paragraphs at blank lines, each paragraph's lines joined by a space.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            if !current.is_empty() {
                out.push(current.join(" "));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out
}

/// Lane index of each partition that exists in the run: those a topic starts with, and
/// those an `add_partitions` record created.
fn lane_index(sc: &Scenario, t: &Tables, evs: &[TraceEvent]) -> BTreeMap<PartId, u32> {
    let mut count: Vec<u32> = sc.topics.iter().map(|x| x.partitions).collect();
    for ev in evs {
        if let Kind::PartitionsAdded { topic, partitions } = ev.kind {
            let c = &mut count[topic as usize];
            *c = (*c).max(partitions);
        }
    }
    let mut out = BTreeMap::new();
    for (p, &(topic, n)) in t.partitions.iter().enumerate() {
        if n < count[topic as usize] {
            let next = out.len() as u32;
            out.insert(PartId(p as u32), next);
        }
    }
    out
}

fn lanes_out(
    sc: &Scenario,
    t: &Tables,
    evs: &[TraceEvent],
    lanes_ix: &BTreeMap<PartId, u32>,
) -> Vec<Lane> {
    let mut added: BTreeMap<(u16, u32), u64> = BTreeMap::new();
    for ev in evs {
        if let Kind::PartitionsAdded { topic, partitions } = ev.kind {
            for n in 0..partitions {
                added.entry((topic, n)).or_insert(ev.at.ms());
            }
        }
    }
    lanes_ix
        .keys()
        .map(|&p| {
            let (topic, n) = t.partitions[p.ix()];
            let spec = &sc.topics[topic as usize];
            Lane {
                name: t.part_name(p),
                topic: spec.name.clone(),
                replication_factor: spec.replication_factor,
                leader: format!("broker-{}", t.leaders[p.ix()] + 1),
                added_at_ms: (n >= spec.partitions)
                    .then(|| added.get(&(topic, n)).copied())
                    .flatten(),
                appends: Vec::new(),
                hw: Vec::new(),
                truncated: Vec::new(),
                log_start: Vec::new(),
                compacted: Vec::new(),
                leaders: Vec::new(),
            }
        })
        .collect()
}

fn groups_out(sc: &Scenario, t: &Tables, lanes_ix: &BTreeMap<PartId, u32>) -> Vec<GroupData> {
    sc.groups
        .iter()
        .enumerate()
        .map(|(g, spec)| GroupData {
            name: spec.name.clone(),
            strategy: spec.config.assignor.name(),
            commit: if spec.config.enable_auto_commit {
                "auto-commit"
            } else {
                spec.processing.commit.name()
            },
            members: t
                .actors
                .iter()
                .filter(|(a, _)| matches!(a, Actor::Member { group, .. } if *group as usize == g))
                .map(|(_, name)| name.clone())
                .collect(),
            lanes: lanes_ix
                .iter()
                .filter(|(p, _)| spec.topics.contains(&(t.partitions[p.ix()].0 as usize)))
                .map(|(_, &l)| l)
                .collect(),
            commits: Vec::new(),
            owners: Vec::new(),
            rebalances: Vec::new(),
            generations: Vec::new(),
        })
        .collect()
}

/// Adds what one record does to a partition's lane or a group's commits.
#[allow(clippy::too_many_arguments)]
fn lane_record(
    sc: &Scenario,
    t: &Tables,
    ev: &TraceEvent,
    r: u32,
    lanes_ix: &BTreeMap<PartId, u32>,
    lanes: &mut [Lane],
    groups: &mut [GroupData],
    colours: &mut KeyColours,
) {
    let lane = |p: PartId| lanes_ix.get(&p).map(|&l| l as usize);
    match ev.kind {
        Kind::Append {
            event,
            part,
            offset,
            ..
        } => {
            if let Some(l) = lane(part) {
                let key = colours.of(t, event);
                lanes[l]
                    .appends
                    .push((r, ev.at.ms(), offset.value(), key, t.event_id(event)));
                // With one replica the high watermark follows every append (README, `hw`).
                let topic = t.partitions[part.ix()].0 as usize;
                if sc.topics[topic].replication_factor == 1 {
                    lanes[l].hw.push((r, offset.value() + 1));
                }
            }
        }
        Kind::HighWatermark { part, offset } => {
            if let Some(l) = lane(part) {
                lanes[l].hw.push((r, offset.value()));
            }
        }
        Kind::LogTruncated { part, to } => {
            if let Some(l) = lane(part) {
                lanes[l].truncated.push((r, to.value()));
            }
        }
        Kind::SegmentsDeleted {
            part, log_start, ..
        } => {
            if let Some(l) = lane(part) {
                lanes[l].log_start.push((r, log_start.value()));
            }
        }
        Kind::RecordCompacted { part, offset, .. } => {
            if let Some(l) = lane(part) {
                lanes[l].compacted.push((r, offset.value()));
            }
        }
        Kind::LeaderChange { part, leader, .. } => {
            if let Some(l) = lane(part) {
                lanes[l]
                    .leaders
                    .push((r, leader.map(|b| format!("broker-{}", b + 1))));
            }
        }
        Kind::Committed {
            group,
            part,
            offset,
            actor,
        } => {
            if let Some(l) = lane(part) {
                groups[group as usize].commits.push((
                    r,
                    l as u32,
                    offset.value(),
                    t.actor_name(actor).to_string(),
                ));
            }
        }
        Kind::RebalanceStart { group, .. } => {
            groups[group as usize].rebalances.push((r, ev.at.ms()));
        }
        Kind::Generation {
            group, generation, ..
        } => {
            groups[group as usize]
                .generations
                .push((r, ev.at.ms(), generation));
        }
        _ => {}
    }
}

/// Who consumes each partition, from the members' own records, as `tests/cooperative.rs`
/// follows it: `assigned` gives a member its share, `revoke_moved` takes the moved
/// partitions away, and a revoke, crash, leave, close, poll timeout, expired session or
/// `no_offset` takes everything.
struct Owners {
    owned: BTreeMap<ActorId, BTreeSet<PartId>>,
    /// The owner shown now for each (group, partition).
    current: BTreeMap<(usize, PartId), Option<String>>,
    groups_of_lanes: Vec<Vec<PartId>>,
}

impl Owners {
    fn new(sc: &Scenario, t: &Tables, lanes_ix: &BTreeMap<PartId, u32>) -> Owners {
        let groups_of_lanes = sc
            .groups
            .iter()
            .map(|spec| {
                lanes_ix
                    .keys()
                    .copied()
                    .filter(|p| spec.topics.contains(&(t.partitions[p.ix()].0 as usize)))
                    .collect()
            })
            .collect();
        Owners {
            owned: BTreeMap::new(),
            current: BTreeMap::new(),
            groups_of_lanes,
        }
    }

    fn record(&mut self, t: &Tables, ev: &TraceEvent, r: u32, groups: &mut [GroupData]) {
        let actor = match ev.kind {
            Kind::Assigned {
                actor, assignment, ..
            } => {
                let parts = t.assignments[assignment as usize]
                    .iter()
                    .flat_map(|s| s.parts.iter().copied())
                    .collect();
                self.owned.insert(actor, parts);
                actor
            }
            Kind::RevokeMoved { actor, assignment } => {
                if let Some(mine) = self.owned.get_mut(&actor) {
                    for s in &t.assignments[assignment as usize] {
                        for p in &s.parts {
                            mine.remove(p);
                        }
                    }
                }
                actor
            }
            Kind::Revoke { actor, .. }
            | Kind::PollTimeout { actor, .. }
            | Kind::SessionExpired { actor }
            | Kind::Crash { actor, .. }
            | Kind::Leave { actor }
            | Kind::CloseInterrupted { actor, .. }
            | Kind::NoOffset { actor, .. } => {
                if self.owned.remove(&actor).is_none() {
                    return;
                }
                actor
            }
            _ => return,
        };
        let Actor::Member { group, .. } = t.actors[actor.ix()].0 else {
            return;
        };
        let g = group as usize;
        for (l_ix, &p) in self.groups_of_lanes[g].iter().enumerate() {
            let holders: Vec<&str> = self
                .owned
                .iter()
                .filter(|(a, parts)| {
                    matches!(t.actors[a.ix()].0, Actor::Member { group: h, .. } if h == group)
                        && parts.contains(&p)
                })
                .map(|(a, _)| t.actor_name(*a))
                .collect();
            let now = (!holders.is_empty()).then(|| holders.join(" + "));
            let before = self.current.entry((g, p)).or_insert(None);
            if *before != now {
                *before = now.clone();
                // `groups_of_lanes[g]` and `groups[g].lanes` list the same partitions in
                // the same order.
                let lane = groups[g].lanes[l_ix];
                groups[g].owners.push((r, ev.at.ms(), lane, now));
            }
        }
    }
}

fn topology(sc: &Scenario, t: &Tables) -> Topology {
    let topics = sc
        .topics
        .iter()
        .map(|x| {
            let mut settings = Vec::new();
            // Kafka's default retention (7 days) says nothing about the lesson.
            if let Some(ms) = x.log.retention_ms.filter(|&ms| ms != 604_800_000) {
                settings.push(format!("retention.ms={ms}"));
            }
            if x.log.compact {
                settings.push("cleanup.policy=compact".to_string());
            }
            TopicData {
                name: x.name.clone(),
                partitions: x.partitions,
                replication_factor: x.replication_factor,
                min_insync_replicas: x.min_insync_replicas,
                settings,
            }
        })
        .collect();
    let client = |c: &crate::scenario::ProducerConfig| {
        vec![
            format!("acks={}", c.acks.kafka_name()),
            format!("enable.idempotence={}", c.enable_idempotence),
        ]
    };
    Topology {
        brokers: (1..=sc.cluster.brokers)
            .map(|b| format!("broker-{b}"))
            .collect(),
        topics,
        producers: sc
            .producers
            .iter()
            .map(|p| ClientData {
                name: p.name.clone(),
                topic: sc.topics[p.topic].name.clone(),
                settings: client(&p.config),
            })
            .collect(),
        services: sc
            .services
            .iter()
            .enumerate()
            .map(|(s, spec)| ServiceData {
                name: spec.name.clone(),
                topic: sc.topics[spec.topic].name.clone(),
                publish: spec.publish.name(),
                relays: t
                    .actors
                    .iter()
                    .filter(|(a, _)| matches!(a, Actor::Relay { service, .. } if *service as usize == s))
                    .map(|(_, n)| n.clone())
                    .collect(),
            })
            .collect(),
    }
}

/// The text summary's rows and cells: a counter appears when it is non-zero somewhere,
/// and `duplicate_deliveries`, `duplicate_effects` and `lost` always.
fn summary(t: &Tables, v: &Verdict) -> Summary {
    let mut columns = vec!["total".to_string()];
    columns.extend(v.groups.iter().map(|g| g.name.clone()));
    columns.extend(v.services.iter().map(|s| s.name.clone()));
    let mut counters = Vec::new();
    for &c in Counter::ALL {
        let total = v.totals.get(c);
        let any = total > 0 || v.groups.iter().any(|g| g.counts.get(c) > 0);
        let always = matches!(
            c,
            Counter::Lost | Counter::DuplicateEffects | Counter::DuplicateDeliveries
        );
        if !any && !always {
            continue;
        }
        let mut cells = vec![Some(total)];
        cells.extend(
            v.groups
                .iter()
                .map(|g| is_group_counter(c).then(|| g.counts.get(c))),
        );
        cells.extend(
            v.services
                .iter()
                .map(|s| is_service_counter(c).then(|| s.counts.get(c))),
        );
        counters.push((c.name(), cells));
    }
    let committed = v
        .groups
        .iter()
        .map(|g| {
            let parts = g
                .committed
                .iter()
                .zip(&g.lag)
                .map(|(&(p, c), &(_, lag))| (t.part_name(p), c.map(Offset::value), lag))
                .collect();
            (g.name.clone(), parts)
        })
        .collect();
    Summary {
        columns,
        counters,
        committed,
    }
}
