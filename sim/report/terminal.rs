//! The terminal timeline: which rows a reader sees and how. Filters (`--key`,
//! `--partition`, `--actor`, `--around`), repeated rows folded into one (`×N`), breakpoints
//! (`--until`: the timeline up to a moment, then the rest on request), stepping through the
//! rest one row at a time, and the assembly of the text report around them.
//!
//! Everything here reads what a run left behind: the timeline's kept trace records, the
//! tables and the verdict. It never runs the model and never changes a count or a verdict;
//! a breakpoint only decides where the printed text is cut. Memory stays bounded: the
//! `Timeline` sink keeps the records of at most `KEEP_ROWS` rows (`--timeline auto`), and at
//! most `timeline_limit` lines are printed per part.

use super::{banner, head, rows_of, tail, timeline_rows, Paint, Row, TextOptions, Timeline, Tone};
use crate::check::{Anomaly, AnomalyKind, Verdict};
use crate::counters::Counter;
use crate::diag;
use crate::engine::Time;
use crate::model::log::Offset;
use crate::model::RunResult;
use crate::scenario::Scenario;
use crate::trace::{Actor, ActorId, EventIx, Kind, PartId, SendError, Tables, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Rows whose records the `Timeline` sink keeps for the text report under
/// `--timeline auto`: filters, folding and breakpoints look at these; rows past them are
/// counted, not kept (`--timeline full` keeps every row).
pub const KEEP_ROWS: usize = 100_000;

/// Lines of timeline `--timeline auto` prints (before the breakpoint, and again after it).
pub const SHOW_ROWS: usize = 1000;

/// `--context`'s default: rows shown on each side of an `--around` moment.
pub const DEFAULT_CONTEXT: usize = 10;

/// A repeated row folds into the row it repeats only while at most this many other lines
/// have been printed since the last row that folded into it.
pub const FOLD_GAP: usize = 6;

/// A moment of a run, for `--until` and `--around`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    /// The first duplicate: a `duplicate_delivery`, `duplicate_effect` or `log_duplicate`.
    FirstDuplicate,
    /// The first loss: `lost`, `acked_lost`, `unacked_lost`, `committed_without_event`, or
    /// a `send_failed` whose record never reached the log.
    FirstLoss,
    /// The first anomaly of any kind.
    FirstAnomaly,
    /// The first rebalance of a group that already had a generation (not its first join).
    Rebalance,
    /// Simulated time: the last row at or before it.
    At(Time),
}

impl Moment {
    /// Parses `first-duplicate`, `first-loss`, `first-anomaly`, `rebalance`, or a time in ms
    /// (`1500ms` or `1500`). The error says what is accepted.
    pub fn parse(s: &str) -> Result<Moment, String> {
        Ok(match s {
            "first-duplicate" => Moment::FirstDuplicate,
            "first-loss" => Moment::FirstLoss,
            "first-anomaly" => Moment::FirstAnomaly,
            "rebalance" => Moment::Rebalance,
            _ => {
                let digits = s.strip_suffix("ms").unwrap_or(s);
                match digits.parse::<u64>() {
                    Ok(ms) if !digits.starts_with('+') => Moment::At(Time(ms)),
                    _ => {
                        return Err(format!(
                            "expected first-duplicate, first-loss, first-anomaly, rebalance or a time such as 1500ms, got '{}'",
                            diag::one_line(s)
                        ))
                    }
                }
            }
        })
    }

    /// How the command line spells it.
    pub fn spelled(self) -> String {
        match self {
            Moment::FirstDuplicate => "first-duplicate".into(),
            Moment::FirstLoss => "first-loss".into(),
            Moment::FirstAnomaly => "first-anomaly".into(),
            Moment::Rebalance => "rebalance".into(),
            Moment::At(t) => format!("{}ms", t.ms()),
        }
    }

    /// Why a run has no such moment, in plain words: only said when every row of the run
    /// was looked at (or the verdict, which sees every record, says so).
    fn absent(self, run: &RunResult) -> String {
        match self {
            Moment::FirstDuplicate => {
                "no record is delivered, applied or appended twice in this run".into()
            }
            Moment::FirstLoss => "no record is lost in this run".into(),
            Moment::FirstAnomaly => "this run has no anomaly".into(),
            Moment::Rebalance => {
                "no group rebalances after its first generation in this run".into()
            }
            Moment::At(t) => format!("the run ended at t={}ms, before t={}ms", run.end_ms, t.ms()),
        }
    }
}

/// What the reader asked to see of the timeline (the `run` flags), as given: names are
/// resolved against the run by `render`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// `--key K`: rows of records whose key is K.
    pub key: Option<String>,
    /// `--partition P`: rows about partition P (`p0`, `0` or `topic-0`).
    pub partition: Option<String>,
    /// `--actor NAME`: rows whose actor column is NAME (a group also selects its members,
    /// a service its relays).
    pub actor: Option<String>,
    /// `--around WHAT`: only the rows around that moment.
    pub around: Option<Moment>,
    /// `--context N`: rows on each side of the `--around` moment.
    pub context: usize,
    /// Fold repeated rows (off with `--no-fold`).
    pub fold: bool,
    /// `--until WHAT`: cut the timeline after that moment.
    pub until: Option<Moment>,
}

impl Default for View {
    fn default() -> View {
        View {
            key: None,
            partition: None,
            actor: None,
            around: None,
            context: DEFAULT_CONTEXT,
            fold: true,
            until: None,
        }
    }
}

impl View {
    /// The flags that select rows, as a command line would repeat them (values quoted for a
    /// shell where needed, control characters shown as `�`).
    pub fn flags(&self) -> String {
        let mut f = Vec::new();
        if let Some(k) = &self.key {
            f.push(format!("--key {}", quoted(k)));
        }
        if let Some(p) = &self.partition {
            f.push(format!("--partition {}", quoted(p)));
        }
        if let Some(a) = &self.actor {
            f.push(format!("--actor {}", quoted(a)));
        }
        if let Some(m) = self.around {
            f.push(format!("--around {}", m.spelled()));
            if self.context != DEFAULT_CONTEXT {
                f.push(format!("--context {}", self.context));
            }
        }
        if !self.fold {
            f.push("--no-fold".into());
        }
        f.join(" ")
    }

    fn filters(&self) -> bool {
        self.key.is_some() || self.partition.is_some() || self.actor.is_some()
    }
}

/// `s` as one shell word: bare when it is made of safe characters, else single-quoted.
fn quoted(s: &str) -> String {
    let s = diag::one_line(s);
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '@' | ':'))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// What a text report is made from.
pub struct Input<'a> {
    /// The validated scenario that was run.
    pub sc: &'a Scenario,
    /// The seed it ran with (printed in the banner).
    pub seed: u64,
    /// How the run ended, and its tables (names, envelopes, assignments).
    pub run: &'a RunResult,
    /// The checker's verdict: counts, anomalies (where breakpoints stop), expectations.
    pub verdict: &'a Verdict,
    /// The timeline sink the run wrote to.
    pub kept: &'a Timeline,
    pub opts: &'a TextOptions<'a>,
}

/// A text report in parts, so a breakpoint can hold the rest back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screen {
    /// Banner, lesson, notes and the timeline: all of it, or up to the breakpoint.
    pub head: String,
    /// The breakpoint, when `--until` found its moment.
    pub stop: Option<Stop>,
    /// The timeline's lines after the breakpoint, each ending in a line break (none
    /// without a breakpoint).
    pub rest: Vec<String>,
    /// What closes `rest`: rows not shown, folding note (may be empty).
    pub rest_note: String,
    /// From "Run ended" to the verdict.
    pub tail: String,
}

/// Where `--until` stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stop {
    /// `⏸ stopped at t=…ms: …` with its line break.
    pub line: String,
    /// The command that prints the rest (`… --until WHAT --resume`).
    pub reveal: String,
    /// What `--resume` prints before `rest`: the banner, where it resumes, the heading.
    pub resume_head: String,
}

impl Screen {
    /// The whole report as `run` prints it without a breakpoint.
    pub fn whole(&self) -> String {
        let mut o = self.head.clone();
        for l in &self.rest {
            o.push_str(l);
        }
        o.push_str(&self.rest_note);
        o.push_str(&self.tail);
        o
    }

    /// What `--until` prints: the report up to the breakpoint and how to see the rest.
    pub fn stopped(&self, paint: Paint) -> String {
        let mut o = self.head.clone();
        if let Some(s) = &self.stop {
            o.push_str(&s.line);
            let _ = writeln!(
                o,
                "  {}",
                paint.paint(
                    Tone::Stop,
                    &format!("Predict what happens next; reveal it with: {}", s.reveal)
                )
            );
        }
        o
    }

    /// What `--until … --resume` prints: from the breakpoint on, then summary,
    /// anomalies and verdict.
    pub fn resumed(&self) -> String {
        let mut o = match &self.stop {
            Some(s) => s.resume_head.clone(),
            None => self.head.clone(),
        };
        for l in &self.rest {
            o.push_str(l);
        }
        o.push_str(&self.rest_note);
        o.push_str(&self.tail);
        o
    }
}

/// The colour of an anomaly kind and of the rows that carry one: losses and duplicate
/// effects red, the rest yellow.
pub fn anomaly_tone(kind: AnomalyKind) -> Tone {
    match kind {
        AnomalyKind::Lost
        | AnomalyKind::AckedLost
        | AnomalyKind::UnackedLost
        | AnomalyKind::SendFailed
        | AnomalyKind::CommittedWithoutEvent
        | AnomalyKind::NotApplied
        | AnomalyKind::DuplicateEffect => Tone::Loss,
        _ => Tone::Anomaly,
    }
}

/// The colour of a row by what its record is (an anomaly it carries comes first).
fn kind_tone(k: &Kind) -> Tone {
    match k {
        Kind::BrokerDown { .. }
        | Kind::BrokerUp { .. }
        | Kind::Crash { .. }
        | Kind::Restart { .. }
        | Kind::OutageStart { .. }
        | Kind::OutageEnd { .. }
        | Kind::MarkFailing { .. }
        | Kind::CrashArmed { .. }
        | Kind::PartitionsAdded { .. }
        | Kind::Leave { .. }
        | Kind::CloseInterrupted { .. }
        | Kind::Seek { .. } => Tone::Fault,
        Kind::JoinGroup { .. }
        | Kind::RebalanceStart { .. }
        | Kind::Generation { .. }
        | Kind::Revoke { .. }
        | Kind::RevokeMoved { .. }
        | Kind::Withheld { .. }
        | Kind::Paused { .. }
        | Kind::StaticRejoin { .. }
        | Kind::SessionExpired { .. }
        | Kind::PollTimeout { .. } => Tone::Rebalance,
        Kind::Send { .. }
        | Kind::Append { .. }
        | Kind::Ack { .. }
        | Kind::HighWatermark { .. }
        | Kind::Committed { .. }
        | Kind::Mark { .. } => Tone::Routine,
        _ => Tone::Plain,
    }
}

/// The partition a record is about, if it is about one.
fn record_part(k: &Kind) -> Option<PartId> {
    match *k {
        Kind::Send { part, .. }
        | Kind::RequestDropped { part, .. }
        | Kind::Append { part, .. }
        | Kind::Rejected { part, .. }
        | Kind::LeaderChange { part, .. }
        | Kind::IsrChange { part, .. }
        | Kind::HighWatermark { part, .. }
        | Kind::LogTruncated { part, .. }
        | Kind::SegmentsDeleted { part, .. }
        | Kind::LogCleaned { part, .. }
        | Kind::RecordCompacted { part, .. }
        | Kind::ReplicaTruncated { part, .. }
        | Kind::DuplicateIgnored { part, .. }
        | Kind::Ack { part, .. }
        | Kind::OffsetReset { part, .. }
        | Kind::Seek { part, .. }
        | Kind::NoOffset { part, .. }
        | Kind::Resume { part, .. }
        | Kind::Deliver { part, .. }
        | Kind::ProcessStart { part, .. }
        | Kind::Effect { part, .. }
        | Kind::Absorbed { part, .. }
        | Kind::CommitSent { part, .. }
        | Kind::Committed { part, .. }
        | Kind::CommitRejected { part, .. }
        | Kind::EpochBump { part, .. }
        | Kind::CommitFailed { part, .. } => Some(part),
        _ => None,
    }
}

/// The offset a record names, if it names one record of a partition.
fn record_offset(k: &Kind) -> Option<Offset> {
    match *k {
        Kind::Append { offset, .. }
        | Kind::DuplicateIgnored { offset, .. }
        | Kind::Deliver { offset, .. }
        | Kind::ProcessStart { offset, .. }
        | Kind::Effect { offset, .. }
        | Kind::Absorbed { offset, .. } => Some(offset),
        Kind::Ack { offset, .. } => offset,
        _ => None,
    }
}

/// The consumer group of the member a record is about, if it is about a member.
fn record_group(t: &Tables, k: &Kind) -> Option<usize> {
    let actor = match *k {
        Kind::Deliver { actor, .. }
        | Kind::ProcessStart { actor, .. }
        | Kind::Effect { actor, .. }
        | Kind::Absorbed { actor, .. }
        | Kind::OffsetReset { actor, .. }
        | Kind::Seek { actor, .. }
        | Kind::NoOffset { actor, .. }
        | Kind::Resume { actor, .. } => actor,
        _ => return None,
    };
    match t.actors.get(actor.ix()).map(|a| a.0) {
        Some(Actor::Member { group, .. }) => Some(group as usize),
        _ => None,
    }
}

/// Whether a record is about partition `p`: it names it, or it is a generation (or a
/// cooperative revocation or withholding) that hands it to someone.
fn about_part(t: &Tables, k: &Kind, parts: &BTreeSet<PartId>) -> bool {
    if let Some(p) = record_part(k) {
        return parts.contains(&p);
    }
    let assignment = match *k {
        Kind::Generation { assignment, .. }
        | Kind::Withheld { assignment, .. }
        | Kind::RevokeMoved { assignment, .. }
        | Kind::Assigned { assignment, .. } => assignment,
        _ => return false,
    };
    t.assignments
        .get(assignment as usize)
        .is_some_and(|shares| {
            shares
                .iter()
                .any(|s| s.parts.iter().any(|p| parts.contains(p)))
        })
}

/// The filters, resolved against the run.
#[derive(Default)]
struct Filter {
    key: Option<String>,
    parts: Option<BTreeSet<PartId>>,
    actors: Option<BTreeSet<String>>,
}

impl Filter {
    /// Whether a record passes the key and partition filters.
    fn record(&self, t: &Tables, k: &Kind) -> bool {
        if let Some(key) = &self.key {
            match k.event() {
                Some(e) if t.key_of(e) == Some(key.as_str()) => {}
                _ => return false,
            }
        }
        match &self.parts {
            Some(parts) => about_part(t, k, parts),
            None => true,
        }
    }

    /// Whether a row passes the actor filter.
    fn row(&self, r: &Row) -> bool {
        self.actors.as_ref().is_none_or(|a| a.contains(&r.actor))
    }
}

/// "did you mean …?" for a misspelt name, from the names the run has.
fn did_you_mean<'n>(wanted: &str, names: impl Iterator<Item = &'n str>) -> String {
    let best = names
        .map(|n| (strsim::jaro_winkler(wanted, n), n))
        .filter(|(score, _)| *score >= 0.8)
        .fold(None::<(f64, &str)>, |best, (s, n)| match best {
            Some((b, _)) if b >= s => best,
            _ => Some((s, n)),
        });
    match best {
        Some((_, n)) => format!("; did you mean '{n}'?"),
        None => String::new(),
    }
}

/// The first few of `names`, for an error that has no close match to offer.
fn some_of(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
    if names.len() > shown.len() {
        format!("{}, … ({} in all)", shown.join(", "), names.len())
    } else {
        shown.join(", ")
    }
}

fn resolve(input: &Input, view: &View) -> Result<Filter, String> {
    let t = &input.run.tables;
    let mut f = Filter::default();
    if let Some(key) = &view.key {
        if !t.keys.iter().any(|k| k == key) {
            let hint = did_you_mean(key, t.keys.iter().map(String::as_str));
            let known = if t.keys.is_empty() {
                "this run sends no keyed records".to_string()
            } else if hint.is_empty() {
                format!("its keys: {}", some_of(&t.keys))
            } else {
                String::new()
            };
            let sep = if known.is_empty() { "" } else { "; " };
            return Err(format!(
                "--key: no record of this run has the key '{}'{sep}{known}{hint}",
                diag::one_line(key)
            ));
        }
        f.key = Some(key.clone());
    }
    if let Some(p) = &view.partition {
        f.parts = Some(resolve_partition(t, p)?);
    }
    if let Some(a) = &view.actor {
        f.actors = Some(resolve_actor(input, a)?);
    }
    Ok(f)
}

/// `p3` or `3`: partition 3 of every topic; `orders-3`: that one.
fn resolve_partition(t: &Tables, spec: &str) -> Result<BTreeSet<PartId>, String> {
    let all = (0..t.partitions.len()).map(|p| PartId(p as u32));
    let number = spec.strip_prefix('p').unwrap_or(spec);
    let found: BTreeSet<PartId> = match number.parse::<u32>() {
        Ok(n) if !number.starts_with('+') => all.filter(|p| t.partitions[p.ix()].1 == n).collect(),
        _ => all
            .filter(|&p| {
                let (topic, n) = t.partitions[p.ix()];
                format!("{}-{n}", t.topic_names[topic as usize]) == spec
            })
            .collect(),
    };
    if found.is_empty() {
        let names: Vec<String> = (0..t.partitions.len())
            .map(|p| t.part_name(PartId(p as u32)))
            .collect();
        let hint = did_you_mean(spec, names.iter().map(String::as_str));
        return Err(format!(
            "--partition: this run has no partition '{}' (its partitions: {}){hint}",
            diag::one_line(spec),
            some_of(&names)
        ));
    }
    Ok(found)
}

/// Actor column values that name no client, group or broker of the scenario: they are
/// offered and accepted only where a row of the run has them.
const ACTOR_WORDS: [&str; 3] = ["kafka", "controller", "network"];

/// The actor column values `name` selects: itself, and for a group its members, for a
/// service its relays. The scenario's clients, groups, services and brokers are always
/// names; `kafka`, `controller` and `network` are names when a kept row has them as its
/// actor (or when rows were left out, which might).
fn resolve_actor(input: &Input, name: &str) -> Result<BTreeSet<String>, String> {
    let (sc, t) = (input.sc, &input.run.tables);
    let mut names: Vec<String> = t.actors.iter().map(|a| a.1.clone()).collect();
    names.extend(sc.groups.iter().map(|g| g.name.clone()));
    names.extend((1..=sc.cluster.brokers).map(|b| format!("broker-{b}")));
    let rows = timeline_rows(sc, t, input.kept.events());
    let unkept = input.kept.rows() > rows.len();
    let words: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| ACTOR_WORDS.iter().find(|w| **w == r.actor).copied())
        .collect();
    names.extend(
        ACTOR_WORDS
            .iter()
            .filter(|w| unkept || words.contains(*w))
            .map(|w| w.to_string()),
    );
    if !names.iter().any(|n| n == name) {
        if ACTOR_WORDS.contains(&name) {
            return Err(format!(
                "--actor: no row of this run has the actor '{name}' (actors: {})",
                some_of(&names)
            ));
        }
        let hint = did_you_mean(name, names.iter().map(String::as_str));
        return Err(format!(
            "--actor: nothing in this run is called '{}' (actors: {}){hint}",
            diag::one_line(name),
            some_of(&names)
        ));
    }
    let mut chosen: BTreeSet<String> = BTreeSet::from([name.to_string()]);
    for (actor, n) in &t.actors {
        let owner = match *actor {
            Actor::Member { group, .. } => &sc.groups[group as usize].name,
            Actor::Relay { service, .. } => &sc.services[service as usize].name,
            _ => continue,
        };
        if owner == name {
            chosen.insert(n.clone());
        }
    }
    Ok(chosen)
}

/// Rows of one kind whose details differ only in eventIds and attempt numbers, or (for
/// commits) not at all: the rows that fold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FoldKey {
    Retry(ActorId, SendError),
    Dropped(ActorId),
    Refused(SendError),
    /// An unchanged commit: the same group, partition, offset and member.
    Commit(u16, PartId, Offset, ActorId),
    Publish(ActorId),
    MarkFail(ActorId),
    StoreErr(ActorId),
}

fn fold_key(k: &Kind) -> Option<FoldKey> {
    Some(match *k {
        Kind::Retry { actor, error, .. } => FoldKey::Retry(actor, error),
        Kind::RequestDropped { actor, .. } => FoldKey::Dropped(actor),
        Kind::Rejected { error, .. } => FoldKey::Refused(error),
        Kind::Committed {
            group,
            part,
            offset,
            actor,
        } => FoldKey::Commit(group, part, offset, actor),
        Kind::RelayPublish { actor, .. } => FoldKey::Publish(actor),
        Kind::RelayMarkFailed { actor, .. } => FoldKey::MarkFail(actor),
        Kind::StoreUnavailable { actor, .. } => FoldKey::StoreErr(actor),
        _ => return None,
    })
}

/// A printed line of the timeline: one row, or several folded into one.
#[derive(Clone, Debug)]
struct Line {
    at: Time,
    actor: String,
    verb: &'static str,
    detail: String,
    tone: Tone,
    /// The record of its (first) row.
    kind: Kind,
    /// Marks the `--around` moment.
    marker: bool,
    /// Set once a second row folds in.
    folded: Option<Folded>,
}

#[derive(Clone, Debug)]
struct Folded {
    key: FoldKey,
    rows: usize,
    last: Time,
    /// Distinct eventIds in order of first appearance.
    ids: Vec<EventIx>,
    seen: BTreeSet<EventIx>,
    /// Distinct partitions in order of first appearance.
    parts: Vec<PartId>,
    attempts: (u32, u32),
}

impl Folded {
    fn new(key: FoldKey, k: &Kind, at: Time) -> Folded {
        let mut f = Folded {
            key,
            rows: 0,
            last: at,
            ids: Vec::new(),
            seen: BTreeSet::new(),
            parts: Vec::new(),
            attempts: (u32::MAX, 0),
        };
        f.add(k, at);
        f
    }

    fn add(&mut self, k: &Kind, at: Time) {
        self.rows += 1;
        self.last = at;
        if let Some(e) = k.event() {
            if self.seen.insert(e) {
                self.ids.push(e);
            }
        }
        if let Some(p) = record_part(k) {
            if !self.parts.contains(&p) {
                self.parts.push(p);
            }
        }
        if let Kind::Retry { attempt, .. } = *k {
            self.attempts = (
                self.attempts.0.min(attempt + 1),
                self.attempts.1.max(attempt + 1),
            );
        }
    }

    /// The folded row's detail: its eventIds listed (or the unchanged commit), then the
    /// count and the time range.
    fn detail(&self, t: &Tables, first: Time) -> String {
        let ids = self.ids_text(t);
        let many = self.ids.len() > 1;
        let text = match self.key {
            FoldKey::Retry(_, error) => {
                let (lo, hi) = self.attempts;
                let attempt = if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}..{hi}")
                };
                super::retry_detail(&ids, &attempt, error)
            }
            FoldKey::Dropped(_) => super::dropped_detail(&ids, &self.parts_text(t), many),
            FoldKey::Refused(error) => super::rejected_detail(&ids, &self.parts_text(t), error),
            FoldKey::Commit(_, part, offset, actor) => {
                format!(
                    "{} → {offset} by {}",
                    t.part_name(part),
                    t.actor_name(actor)
                )
            }
            FoldKey::Publish(_) => super::publish_detail(&ids, many),
            FoldKey::MarkFail(_) => super::mark_failed_detail(&ids, many),
            FoldKey::StoreErr(_) => super::store_err_detail(&ids),
        };
        if self.last == first {
            format!("{text} ×{}", self.rows)
        } else {
            format!(
                "{text} ×{} (t={}..{}ms)",
                self.rows,
                first.ms(),
                self.last.ms()
            )
        }
    }

    /// "p0", "p0, p2", or "p0, p2, p5, … (7 partitions)".
    fn parts_text(&self, t: &Tables) -> String {
        let names: Vec<String> = self.parts.iter().map(|&p| t.part_name(p)).collect();
        listed(&names, "partitions")
    }

    /// "e-4", "e-4, e-5, e-9", or "e-4, e-5, e-9, … (12 eventIds)".
    fn ids_text(&self, t: &Tables) -> String {
        let names: Vec<String> = self.ids.iter().map(|&e| t.event_id(e)).collect();
        listed(&names, "eventIds")
    }
}

/// Up to four names, or three and how many there are: "e-4, e-5, e-9, … (12 eventIds)".
fn listed(names: &[String], unit: &str) -> String {
    const LISTED: usize = 4;
    if names.len() <= LISTED {
        return names.join(", ");
    }
    format!(
        "{}, … ({} {unit})",
        names[..LISTED - 1].join(", "),
        names.len()
    )
}

/// One part of the timeline: its rows (built from the records that pass the filters) and
/// for each row the indices of its records in the kept trace.
struct Part {
    rows: Vec<Row>,
    /// For each row, the kept-trace index of its last record.
    ends: Vec<usize>,
    /// Kept-trace indices of each row's records.
    records: Vec<Vec<usize>>,
    kinds: Vec<Kind>,
}

/// Everything `render` works from.
struct Prepared<'a> {
    input: &'a Input<'a>,
    events: &'a [TraceEvent],
    /// Every kept row, unfiltered: where moments are looked for.
    rows: Vec<Row>,
    /// Kept-trace records that carry an anomaly, with its colour.
    anomalous: BTreeMap<usize, Tone>,
    index: Index,
}

/// Lookups from the kept rows, built once.
#[derive(Default)]
struct Index {
    /// Rows naming each eventId, in order.
    by_event: BTreeMap<EventIx, Vec<usize>>,
    /// For (what, group or usize::MAX, partition): (row, the largest offset so far) of
    /// commits (0), resets (1), retention deletions (2) and cleaner passes (3), so "the
    /// first that moved past offset O" is a binary search.
    passes: BTreeMap<(u8, usize, PartId), Vec<(usize, Offset)>>,
    /// (row, group, partition, from, to) of every seek.
    seeks: Vec<(usize, usize, PartId, Offset, Offset)>,
    /// The first `leader` or `truncated` row of each (time, partition): where an
    /// election loses acknowledged records.
    elections: BTreeMap<(Time, PartId), usize>,
}

impl Index {
    fn new(t: &Tables, rows: &[Row], events: &[TraceEvent]) -> Index {
        let mut ix = Index::default();
        for (r, row) in rows.iter().enumerate() {
            for ev in &events[row.records.clone()] {
                if let Some(e) = ev.kind.event() {
                    let list = ix.by_event.entry(e).or_default();
                    if list.last() != Some(&r) {
                        list.push(r);
                    }
                }
            }
            let first = events[row.records.start].kind;
            if let Kind::LeaderChange { part, .. } | Kind::LogTruncated { part, .. } = first {
                ix.elections.entry((row.at, part)).or_insert(r);
            }
            let pass = match first {
                Kind::Committed {
                    group,
                    part,
                    offset,
                    ..
                } => Some((0, group as usize, part, offset)),
                Kind::OffsetReset { part, offset, .. } => {
                    record_group(t, &first).map(|g| (1, g, part, offset))
                }
                Kind::SegmentsDeleted {
                    part, log_start, ..
                } => Some((2, usize::MAX, part, log_start)),
                Kind::LogCleaned {
                    part, cleaned_to, ..
                } => Some((3, usize::MAX, part, cleaned_to)),
                Kind::Seek {
                    part, from, offset, ..
                } => {
                    if let Some(g) = record_group(t, &first) {
                        ix.seeks.push((r, g, part, from, offset));
                    }
                    None
                }
                _ => None,
            };
            if let Some((what, g, part, offset)) = pass {
                let list = ix.passes.entry((what, g, part)).or_default();
                let max = list.last().map_or(offset, |&(_, m)| m.max(offset));
                list.push((r, max));
            }
        }
        ix
    }

    /// The first row of `what` for (group, part) that moved past `offset`.
    fn first_past(&self, what: u8, g: usize, part: PartId, offset: Offset) -> Option<usize> {
        let list = self.passes.get(&(what, g, part))?;
        let i = list.partition_point(|&(_, max)| max <= offset);
        list.get(i).map(|&(r, _)| r)
    }
}

impl<'a> Prepared<'a> {
    fn new(input: &'a Input<'a>) -> Prepared<'a> {
        let t = &input.run.tables;
        let events = input.kept.events();
        let rows = timeline_rows(input.sc, t, events);
        let index = Index::new(t, &rows, events);
        let mut p = Prepared {
            input,
            events,
            rows,
            anomalous: BTreeMap::new(),
            index,
        };
        for a in &input.verdict.anomalies {
            if let Some(r) = p.locate(a) {
                let tone = anomaly_tone(a.kind);
                for i in p.rows[r].records.clone() {
                    let slot = p.anomalous.entry(i).or_insert(tone);
                    if tone == Tone::Loss {
                        *slot = Tone::Loss;
                    }
                }
            }
        }
        p
    }

    fn t(&self) -> &Tables {
        &self.input.run.tables
    }

    /// The kept row where an anomaly happens (README "Breakpoints"), if it is kept.
    fn locate(&self, a: &Anomaly) -> Option<usize> {
        let t = self.t();
        let g = self
            .input
            .sc
            .groups
            .iter()
            .position(|spec| spec.name == a.scope);
        let by_event = |e: Option<EventIx>| {
            e.and_then(|e| self.index.by_event.get(&e))
                .map_or(&[][..], Vec::as_slice)
        };
        match (a.kind, a.part, a.offset) {
            (AnomalyKind::Lost, Some(p), Some(o)) => self.index.first_past(0, g?, p, o),
            (AnomalyKind::SkippedByReset, Some(p), Some(o)) => self.index.first_past(1, g?, p, o),
            (AnomalyKind::SkippedByRetention, Some(p), Some(o)) => {
                self.index.first_past(2, usize::MAX, p, o)
            }
            (AnomalyKind::Compacted, Some(p), Some(o)) => {
                self.index.first_past(3, usize::MAX, p, o)
            }
            (AnomalyKind::SkippedBySeek, Some(p), Some(o)) => self
                .index
                .seeks
                .iter()
                .find(|&&(_, sg, sp, from, to)| Some(sg) == g && sp == p && from <= o && o < to)
                .map(|s| s.0),
            (AnomalyKind::AckedLost, Some(p), _) => self.index.elections.get(&(a.at, p)).copied(),
            (AnomalyKind::PublishedDuplicate, ..) => by_event(a.event)
                .iter()
                .filter(|&&r| {
                    matches!(
                        self.events[self.rows[r].records.start].kind,
                        Kind::Append { .. }
                    )
                })
                .nth(1)
                .copied(),
            (
                AnomalyKind::CommittedWithoutEvent
                | AnomalyKind::InFlightAtEnd
                | AnomalyKind::NotApplied,
                ..,
            ) => by_event(a.event).last().copied(),
            _ => {
                // The first row from its time that names its record: the same eventId, and
                // the same partition, offset and group where the record has them.
                let fits = |ev: &TraceEvent| {
                    a.event.is_none_or(|e| ev.kind.event() == Some(e))
                        && (a.part.is_none()
                            || record_part(&ev.kind).is_none_or(|p| Some(p) == a.part))
                        && (a.offset.is_none()
                            || record_offset(&ev.kind).is_none_or(|o| Some(o) == a.offset))
                        && (g.is_none() || record_group(t, &ev.kind).is_none_or(|rg| Some(rg) == g))
                };
                let candidates: Vec<usize> = if a.event.is_some() {
                    by_event(a.event).to_vec()
                } else {
                    let start = self.rows.partition_point(|r| r.at < a.at);
                    // Anomalies without an eventId are few (one per member and partition at
                    // most); the look is bounded all the same.
                    (start..self.rows.len()).take(1000).collect()
                };
                candidates
                    .iter()
                    .copied()
                    .filter(|&r| self.rows[r].at >= a.at)
                    .find(|&r| self.events[self.rows[r].records.clone()].iter().any(fits))
                    .or_else(|| {
                        candidates
                            .iter()
                            .copied()
                            .find(|&r| self.rows[r].at >= a.at)
                    })
            }
        }
    }

    /// Whether the record of a `send_failed` anomaly reached the log in the kept rows.
    fn appended(&self, e: Option<EventIx>) -> bool {
        e.and_then(|e| self.index.by_event.get(&e))
            .is_some_and(|rows| {
                rows.iter().any(|&r| {
                    self.events[self.rows[r].records.clone()]
                        .iter()
                        .any(|ev| matches!(ev.kind, Kind::Append { .. }))
                })
            })
    }

    /// Where a moment is: the kept-trace index the timeline is cut after (exclusive end),
    /// the row (if any), the time to name, and what happened. None: no kept row has it
    /// (`missing` says why).
    fn find(&self, m: Moment) -> Option<Target> {
        let t = self.t();
        let anomaly = |label: &str| {
            self.input
                .verdict
                .anomalies
                .iter()
                .filter(|a| {
                    surely(m, a.kind)
                        || (m == Moment::FirstLoss
                            && a.kind == AnomalyKind::SendFailed
                            && !self.appended(a.event))
                })
                .filter_map(|a| self.locate(a).map(|r| (r, a)))
                .min_by_key(|&(r, a)| (r, a.at != self.rows[r].at, a.kind))
                .map(|(r, a)| Target {
                    cut: self.rows[r].records.end,
                    row: Some(r),
                    at: self.rows[r].at,
                    what: format!("{label} — {}", describe(t, a)),
                })
        };
        match m {
            Moment::FirstDuplicate | Moment::FirstLoss | Moment::FirstAnomaly => {
                anomaly(moment_label(m))
            }
            Moment::Rebalance => {
                let mut started = BTreeSet::new();
                self.rows.iter().enumerate().find_map(|(r, row)| {
                    match self.events[row.records.start].kind {
                        Kind::Generation { group, .. } => {
                            started.insert(group);
                            None
                        }
                        Kind::RebalanceStart { group, .. } if started.contains(&group) => {
                            Some(Target {
                                cut: row.records.end,
                                row: Some(r),
                                at: row.at,
                                what: format!(
                                    "the first rebalance of a group already running — {}'s rebalance {}",
                                    row.actor, row.detail
                                ),
                            })
                        }
                        _ => None,
                    }
                })
            }
            Moment::At(at) => {
                // A time at the end of the run is in it: everything has happened by then.
                if at > self.input.run.end_ms {
                    return None;
                }
                let r = self.rows.partition_point(|row| row.at <= at);
                Some(Target {
                    cut: r
                        .checked_sub(1)
                        .map_or(0, |last| self.rows[last].records.end),
                    row: r.checked_sub(1),
                    at,
                    what: String::new(),
                })
            }
        }
    }

    /// Why no kept row has moment `m`, as a phrase, and whether keeping every row
    /// (`--timeline full`) could find it. It is said never to happen only when every row
    /// was looked at, or the verdict (which sees every record) has no such anomaly; when
    /// the verdict has one past the kept rows, the phrase says when and what it is.
    fn missing(&self, m: Moment) -> (String, bool) {
        let all = self.input.kept.rows();
        let kept = self.rows.len();
        let unkept = all.saturating_sub(kept);
        let keeps = format!("the first {kept} rows of {all} this run keeps");
        let v = self.input.verdict;
        let never = (m.absent(self.input.run), false);
        match m {
            Moment::At(_) => never,
            Moment::Rebalance => {
                let again = v
                    .groups
                    .iter()
                    .map(|g| (g, g.counts.get(Counter::Rebalances)))
                    .find(|&(_, n)| n >= 2);
                match again {
                    Some((g, n)) if unkept > 0 => (
                        format!(
                            "{} rebalances after its first generation ({n} generations in all), past {keeps}",
                            diag::one_line(&g.name)
                        ),
                        true,
                    ),
                    _ if unkept > 0 => (
                        format!("no group rebalances after its first generation in {keeps}"),
                        true,
                    ),
                    _ => never,
                }
            }
            Moment::FirstDuplicate | Moment::FirstLoss | Moment::FirstAnomaly => {
                let label = moment_label(m);
                let first = v
                    .anomalies
                    .iter()
                    .filter(|a| surely(m, a.kind))
                    .min_by_key(|a| (a.at, a.kind));
                let later: u64 = v
                    .anomalies_left_out
                    .iter()
                    .filter(|(k, _)| surely(m, *k))
                    .map(|(_, n)| n)
                    .sum();
                let past_kept = |at: Option<Time>| {
                    unkept > 0
                        && match (at, self.rows.last()) {
                            (Some(at), Some(last)) => at >= last.at,
                            _ => true,
                        }
                };
                match first {
                    Some(a) => {
                        let what = format!(
                            "{label} happens at t={}ms — {}",
                            a.at.ms(),
                            describe(self.t(), a)
                        );
                        if past_kept(Some(a.at)) {
                            (format!("{what}, past {keeps}"), true)
                        } else {
                            (format!("{what}, but no timeline row shows it"), unkept > 0)
                        }
                    }
                    None if later > 0 => {
                        let what = format!(
                            "{label} happens in this run ({later} such anomalies, after the first {} the verdict keeps with their causes)",
                            crate::check::ANOMALIES_KEPT
                        );
                        if past_kept(None) {
                            (format!("{what}, past {keeps}"), true)
                        } else {
                            (format!("{what}, but no timeline row shows it"), false)
                        }
                    }
                    // A send_failed may be a loss or not, depending on rows not kept.
                    None if unkept > 0
                        && m == Moment::FirstLoss
                        && v.anomalies
                            .iter()
                            .any(|a| a.kind == AnomalyKind::SendFailed) =>
                    {
                        (format!("no record is lost in {keeps}"), true)
                    }
                    None => never,
                }
            }
        }
    }

    /// The rows of kept records `range` that pass the filters.
    fn part(&self, filter: &Filter, range: std::ops::Range<usize>) -> Part {
        let t = self.t();
        let mut sub = Vec::new();
        let mut orig = Vec::new();
        for i in range {
            if filter.record(t, &self.events[i].kind) {
                sub.push(self.events[i]);
                orig.push(i);
            }
        }
        let mut part = Part {
            rows: Vec::new(),
            ends: Vec::new(),
            records: Vec::new(),
            kinds: Vec::new(),
        };
        // A key filter leaves gaps in a poll's offsets that are not the cleaner's.
        for row in rows_of(self.input.sc, t, &sub, filter.key.is_none()) {
            if filter.row(&row) {
                part.ends.push(orig[row.records.end - 1]);
                part.records
                    .push(row.records.clone().map(|i| orig[i]).collect());
                part.kinds.push(sub[row.records.start].kind);
                part.rows.push(row);
            }
        }
        part
    }

    /// The lines of a part's rows `range`, folded unless `fold` is off, with the row
    /// holding kept record `marker` marked.
    fn lines(
        &self,
        part: &Part,
        range: std::ops::Range<usize>,
        fold: bool,
        marker: Option<usize>,
    ) -> Vec<Line> {
        let mut lines: Vec<Line> = Vec::new();
        // Open families: (key, line index, lines printed when it last grew).
        let mut open: Vec<(FoldKey, usize, usize)> = Vec::new();
        // The line of each partition's latest commit per group, and the group's generations
        // seen: an unchanged commit folds into it however far back it is, until the group
        // has a new generation.
        let mut commits: BTreeMap<(u16, PartId), (FoldKey, usize, u32)> = BTreeMap::new();
        let mut generations: BTreeMap<u16, u32> = BTreeMap::new();
        for r in range {
            let row = &part.rows[r];
            let kind = &part.kinds[r];
            if let Kind::Generation { group, .. } = *kind {
                *generations.entry(group).or_default() += 1;
            }
            let carried = part.records[r]
                .iter()
                .filter_map(|i| self.anomalous.get(i))
                .fold(None, |acc: Option<Tone>, &tone| match acc {
                    Some(Tone::Loss) => acc,
                    _ => Some(tone),
                });
            let marked = marker.is_some_and(|m| part.records[r].contains(&m));
            let key = if fold && carried.is_none() && !marked {
                fold_key(kind)
            } else {
                None
            };
            if let (Kind::Committed { group, part, .. }, None) = (*kind, key) {
                // A commit that stays its own row still moves the partition's offset.
                commits.remove(&(group, part));
            }
            if let Some(key @ FoldKey::Commit(group, part_id, ..)) = key {
                let generation = generations.get(&group).copied().unwrap_or(0);
                let slot = (group, part_id);
                match commits.get(&slot) {
                    Some(&(k, at, g)) if k == key && g == generation => {
                        let line = &mut lines[at];
                        let folded = line
                            .folded
                            .get_or_insert_with(|| Folded::new(key, &line.kind, line.at));
                        folded.add(kind, row.at);
                        continue;
                    }
                    _ => {
                        commits.insert(slot, (key, lines.len(), generation));
                    }
                }
            } else if let Some(key) = key {
                let printed = lines.len();
                open.retain(|f| printed - f.2 <= FOLD_GAP);
                if let Some(f) = open.iter_mut().find(|f| f.0 == key) {
                    let line = &mut lines[f.1];
                    let folded = line
                        .folded
                        .get_or_insert_with(|| Folded::new(key, &line.kind, line.at));
                    folded.add(kind, row.at);
                    f.2 = lines.len();
                    continue;
                }
                open.push((key, lines.len(), lines.len() + 1));
            }
            lines.push(Line {
                at: row.at,
                actor: row.actor.clone(),
                verb: row.verb,
                detail: row.detail.clone(),
                tone: carried.unwrap_or_else(|| kind_tone(kind)),
                kind: *kind,
                marker: marked,
                folded: None,
            });
        }
        let t = self.t();
        for line in &mut lines {
            if let Some(f) = &line.folded {
                line.detail = f.detail(t, line.at);
            }
        }
        lines
    }
}

/// Whether an anomaly of kind `k` is surely moment `m` (a `send_failed` is a loss only when
/// its record never reached the log, which the rows tell).
fn surely(m: Moment, k: AnomalyKind) -> bool {
    match m {
        Moment::FirstDuplicate => matches!(
            k,
            AnomalyKind::DuplicateDelivery
                | AnomalyKind::DuplicateEffect
                | AnomalyKind::LogDuplicate
        ),
        Moment::FirstLoss => matches!(
            k,
            AnomalyKind::Lost
                | AnomalyKind::AckedLost
                | AnomalyKind::UnackedLost
                | AnomalyKind::CommittedWithoutEvent
        ),
        Moment::FirstAnomaly => true,
        Moment::Rebalance | Moment::At(_) => false,
    }
}

/// "the first duplicate": how a stop line names an anomaly moment.
fn moment_label(m: Moment) -> &'static str {
    match m {
        Moment::FirstDuplicate => "the first duplicate",
        Moment::FirstLoss => "the first loss",
        Moment::FirstAnomaly => "the first anomaly",
        Moment::Rebalance => "the first rebalance",
        Moment::At(_) => "the moment",
    }
}

/// Where the timeline is cut.
struct Target {
    /// Kept records before the cut.
    cut: usize,
    /// The row the moment is in (None: a time before the first row).
    row: Option<usize>,
    at: Time,
    /// What happened there (empty for a plain time).
    what: String,
}

/// "duplicate_delivery in billing, p0@3 (e-4)": an anomaly named without its cause.
fn describe(t: &Tables, a: &Anomaly) -> String {
    let what = match (a.part, a.offset, a.event) {
        (Some(p), Some(o), Some(e)) => format!(", {}@{o} ({})", t.part_name(p), t.event_id(e)),
        (Some(p), None, Some(e)) => format!(", {} ({})", t.event_id(e), t.part_name(p)),
        (None, _, Some(e)) => format!(", {}", t.event_id(e)),
        (Some(p), Some(o), None) => format!(", {}@{o}", t.part_name(p)),
        _ => String::new(),
    };
    format!("{} in {}{what}", a.kind.name(), a.scope)
}

fn format_line(l: &Line, paint: Paint) -> String {
    let time = if l.marker {
        format!("▶{:>7}", l.at.ms())
    } else {
        format!("{:>8}", l.at.ms())
    };
    let text = format!("{time}  {:<22} {:<12} {}", l.actor, l.verb, l.detail);
    format!("{}\n", paint.paint(l.tone, &text))
}

const HEADING: &str = "Timeline (t in ms; see README for the legend)";

fn column_header() -> String {
    format!("{:>8}  {:<22} {:<12} detail\n", "t", "actor", "event")
}

/// Printed lines of `lines` (at most `limit`), and the note that closes them: how many
/// rows were not shown, and that rows were folded.
fn print_lines(
    lines: &[Line],
    limit: Option<usize>,
    rows_beyond: usize,
    filtered: bool,
    paint: Paint,
) -> (Vec<String>, String) {
    let shown = limit.unwrap_or(usize::MAX).min(lines.len());
    let printed: Vec<String> = lines[..shown]
        .iter()
        .map(|l| format_line(l, paint))
        .collect();
    let hidden: usize = lines[shown..]
        .iter()
        .map(|l| l.folded.as_ref().map_or(1, |f| f.rows))
        .sum::<usize>()
        + rows_beyond;
    let mut note = String::new();
    if filtered && lines.is_empty() && rows_beyond == 0 {
        let _ = writeln!(note, "   (no row here passes the filters)");
    }
    if hidden > 0 {
        let _ = writeln!(
            note,
            "   … {hidden} more rows (use --timeline full, or --trace FILE.jsonl for every event)"
        );
    }
    if lines[..shown].iter().any(|l| l.folded.is_some()) {
        let _ = writeln!(
            note,
            "   {}",
            paint.paint(
                Tone::Routine,
                "(×N: N repeated rows folded into one; --no-fold shows every row)"
            )
        );
    }
    (printed, note)
}

/// The command that shows `view` again: the reproduce command, `--timeline full` when this
/// report keeps every row (or `full` asks for it), the filters and `--no-fold`, then
/// `tail` (` --until 1500ms --resume`, …).
fn command(input: &Input, view: &View, full: bool, tail: &str) -> String {
    let mut c = input.opts.reproduce.to_string();
    if full || input.opts.timeline_limit.is_none() {
        c.push_str(" --timeline full");
    }
    let flags = view.flags();
    if !flags.is_empty() {
        c.push(' ');
        c.push_str(&flags);
    }
    c.push_str(tail);
    c
}

/// The text report for `view`, in parts. An error names a filter that matches nothing
/// in this run (a usage error: exit 2).
pub fn render(input: &Input, view: &View, paint: Paint) -> Result<Screen, String> {
    if view.until.is_some() && view.around.is_some() {
        return Err("--until and --around cannot be used together".into());
    }
    let filter = resolve(input, view)?;
    let limit = input.opts.timeline_limit;
    let mut head_text = String::new();
    head(&mut head_text, input.sc, input.seed, input.opts, paint);
    let mut tail_text = String::new();
    tail(&mut tail_text, input.sc, input.run, input.verdict, paint);
    let mut screen = Screen {
        head: head_text,
        stop: None,
        rest: Vec::new(),
        rest_note: String::new(),
        tail: tail_text,
    };
    if limit == Some(0) {
        return Ok(screen);
    }
    let p = Prepared::new(input);
    let kept_records = p.events.len();
    // Rows of the run the sink did not keep: printed as "more rows" when nothing narrows
    // the timeline, and named when something does.
    let unkept = input.kept.rows().saturating_sub(p.rows.len());
    let narrowed = view.filters() || view.around.is_some() || view.until.is_some();
    let mut kept_note = String::new();
    if narrowed && unkept > 0 {
        let _ = writeln!(
            kept_note,
            "(only the first {} rows of {} were kept; filters and breakpoints see those: use --timeline full for all)",
            p.rows.len(),
            input.kept.rows()
        );
    }
    let mut notice = kept_note.clone();
    let until = match view.until {
        Some(m) => match p.find(m) {
            Some(target) => Some((m, target)),
            None => {
                let (why, full) = p.missing(m);
                let mut text = format!(
                    "--until {}: {why}, so there is nothing to stop at{}; here is the whole run.",
                    m.spelled(),
                    if full { " here" } else { "" }
                );
                if full {
                    let _ = write!(
                        text,
                        " --timeline full looks at every row: {}",
                        command(input, view, true, &format!(" --until {}", m.spelled()))
                    );
                }
                let _ = writeln!(notice, "{}", paint.paint(Tone::Stop, &text));
                None
            }
        },
        None => None,
    };
    let whole = p.part(&filter, 0..kept_records);
    let mut heading = String::new();
    let _ = writeln!(heading, "{}", paint.paint(Tone::Heading, HEADING));
    // "showing 23 of 310 rows: --key order-1", counted over the part of the run shown.
    let selection = |shown: usize, of: usize, part: &str| {
        if view.filters() || view.around.is_some() {
            format!("showing {shown} of {of} rows{part}: {}\n", view.flags())
        } else {
            String::new()
        }
    };
    let columns = column_header();
    // Rows not kept are counted with the rows not shown when the timeline shows the rest
    // of the run as it is (no filter, no window).
    let beyond = if view.filters() || view.around.is_some() {
        0
    } else {
        unkept
    };
    match until {
        None => {
            let mut range = 0..whole.rows.len();
            let mut marker = None;
            if let Some(m) = view.around {
                match p.find(m) {
                    Some(target) => {
                        // The window is counted in rows that pass the filters, around the
                        // first of them at or after the moment.
                        let last = target.cut.checked_sub(1);
                        let centre = match last {
                            Some(last) => whole.ends.partition_point(|&e| e < last),
                            None => 0,
                        };
                        let centre = centre.min(whole.rows.len().saturating_sub(1));
                        range = centre.saturating_sub(view.context)
                            ..(centre + view.context + 1).min(whole.rows.len());
                        marker = last.filter(|_| target.row.is_some());
                    }
                    None => {
                        let (why, full) = p.missing(m);
                        let mut text = format!(
                            "--around {}: {why}; the timeline is shown without it.",
                            m.spelled()
                        );
                        if full {
                            let _ = write!(
                                text,
                                " --timeline full looks at every row: {}",
                                command(input, view, true, "")
                            );
                        }
                        let _ = writeln!(notice, "{}", paint.paint(Tone::Stop, &text));
                    }
                }
            }
            let shown_rows = range.len();
            let lines = p.lines(&whole, range, view.fold, marker);
            let (printed, note) = print_lines(&lines, limit, beyond, view.filters(), paint);
            let o = &mut screen.head;
            o.push_str(&notice);
            o.push_str(&heading);
            o.push_str(&selection(shown_rows, input.kept.rows(), ""));
            o.push_str(&columns);
            for l in printed {
                o.push_str(&l);
            }
            o.push_str(&note);
        }
        Some((m, target)) => {
            let before = p.part(&filter, 0..target.cut);
            let after = p.part(&filter, target.cut..kept_records);
            // Unfiltered rows on each side of the cut.
            let rows_before = target.row.map_or(0, |r| r + 1);
            let rows_after = input.kept.rows().saturating_sub(rows_before);
            // A time at or past the last row kept, in a run with rows left out: the rows
            // after the kept ones, up to that time, are in neither part, and both say so.
            let short = unkept > 0
                && matches!(m, Moment::At(_))
                && target
                    .row
                    .map_or(p.rows.is_empty(), |r| r + 1 == p.rows.len());
            let last_kept = p.rows.last().map_or(0, |r| r.at.ms());
            let lines = p.lines(&before, 0..before.rows.len(), view.fold, None);
            let (printed, note) = print_lines(&lines, limit, 0, view.filters(), paint);
            let o = &mut screen.head;
            o.push_str(&notice);
            o.push_str(&heading);
            o.push_str(&selection(
                before.rows.len(),
                rows_before,
                " up to the breakpoint",
            ));
            o.push_str(&columns);
            for l in printed {
                o.push_str(&l);
            }
            o.push_str(&note);
            let lines = p.lines(&after, 0..after.rows.len(), view.fold, None);
            let (printed, note) = print_lines(&lines, limit, beyond, view.filters(), paint);
            screen.rest = printed;
            screen.rest_note = note;
            let what = if target.what.is_empty() {
                String::new()
            } else {
                format!(", at {}", target.what)
            };
            let until = format!(" --until {}", m.spelled());
            let reveal = command(input, view, false, &format!("{until} --resume"));
            let mut resume_head = String::new();
            banner(&mut resume_head, input.sc, input.seed, input.opts, paint);
            let _ = writeln!(
                resume_head,
                "\n{}",
                paint.paint(
                    Tone::Stop,
                    &format!(
                        "▶ resumed after t={}ms{}.",
                        target.at.ms(),
                        what.replacen(", at ", ", ", 1)
                    )
                )
            );
            if short {
                let _ = writeln!(
                    resume_head,
                    "{}",
                    paint.paint(
                        Tone::Stop,
                        &format!(
                            "  The {} rows this run keeps (of {}) all come before it, the last at t={last_kept}ms; the rows after them are not kept: {} shows them.",
                            p.rows.len(),
                            input.kept.rows(),
                            command(input, view, true, &format!("{until} --resume"))
                        )
                    )
                );
            }
            resume_head.push_str(&kept_note);
            resume_head.push_str(&heading);
            resume_head.push_str(&selection(
                after.rows.len(),
                rows_after,
                " after the breakpoint",
            ));
            resume_head.push_str(&columns);
            let line = if short {
                format!(
                    "⏸ stopped at t={}ms, but this run keeps only its first {} rows of {}, which end at t={last_kept}ms: the rows after them, up to t={}ms, are not shown ({} shows them).",
                    target.at.ms(),
                    p.rows.len(),
                    input.kept.rows(),
                    target.at.ms(),
                    command(input, view, true, &until)
                )
            } else {
                format!("⏸ stopped at t={}ms{what}.", target.at.ms())
            };
            screen.stop = Some(Stop {
                line: format!("{}\n", paint.paint(Tone::Stop, &line)),
                reveal,
                resume_head,
            });
        }
    }
    Ok(screen)
}

/// How stepping through the rest ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stepped {
    /// Every line was shown: the caller prints the rest of the report.
    Finished,
    /// The reader quit (`q`, or the input ended).
    Quit,
}

/// The prompt shown once at a breakpoint when stepping.
pub const PROMPT: &str = "Enter: next row · c: continue to the end · q: quit";

/// Reveals `lines` one per line of `input`, after `PROMPT`: an empty line shows the next,
/// `c` shows the rest, `q` (or the end of the input) quits. Each revealed line is written
/// without its line break: on a terminal the reader's Enter (or `c`, `q`) ends it, so the
/// rows stay contiguous. The last line keeps its line break. With no lines there is
/// nothing to ask.
pub fn step(
    lines: &[String],
    input: &mut impl std::io::BufRead,
    out: &mut impl std::io::Write,
    paint: Paint,
) -> std::io::Result<Stepped> {
    if lines.is_empty() {
        return Ok(Stepped::Finished);
    }
    write!(out, "{} ", paint.paint(Tone::Stop, PROMPT))?;
    out.flush()?;
    let mut next = 0;
    while next < lines.len() {
        let mut answer = String::new();
        if input.read_line(&mut answer)? == 0 {
            writeln!(out)?;
            return Ok(Stepped::Quit);
        }
        match answer.trim() {
            "q" | "Q" => return Ok(Stepped::Quit),
            "c" | "C" => {
                for l in &lines[next..] {
                    out.write_all(l.as_bytes())?;
                }
                return Ok(Stepped::Finished);
            }
            _ => {
                let line = &lines[next];
                next += 1;
                if next == lines.len() {
                    out.write_all(line.as_bytes())?;
                } else {
                    out.write_all(line.trim_end_matches('\n').as_bytes())?;
                }
                out.flush()?;
            }
        }
    }
    Ok(Stepped::Finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_parse_as_the_command_line_spells_them() {
        assert_eq!(Moment::parse("first-duplicate"), Ok(Moment::FirstDuplicate));
        assert_eq!(Moment::parse("first-loss"), Ok(Moment::FirstLoss));
        assert_eq!(Moment::parse("first-anomaly"), Ok(Moment::FirstAnomaly));
        assert_eq!(Moment::parse("rebalance"), Ok(Moment::Rebalance));
        assert_eq!(Moment::parse("1500ms"), Ok(Moment::At(Time(1500))));
        assert_eq!(Moment::parse("1500"), Ok(Moment::At(Time(1500))));
        for bad in [
            "",
            "ms",
            "-5ms",
            "+5",
            "1.5s",
            "first",
            "1500 ms",
            "\u{1b}[2J",
        ] {
            let e = Moment::parse(bad).unwrap_err();
            assert!(e.starts_with("expected first-duplicate"), "{e}");
            assert!(!e.contains('\u{1b}'), "no control byte is echoed: {e:?}");
        }
        assert_eq!(Moment::At(Time(7)).spelled(), "7ms");
    }

    #[test]
    fn shell_words_are_quoted_only_when_they_need_it() {
        assert_eq!(quoted("order-1"), "order-1");
        assert_eq!(quoted("a b"), "'a b'");
        assert_eq!(quoted("it's"), "'it'\\''s'");
        assert_eq!(quoted(""), "''");
    }

    fn lines(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("row {i}\n")).collect()
    }

    fn stepped(rows: &[String], typed: &str) -> (Stepped, String) {
        let mut input = std::io::Cursor::new(typed.as_bytes().to_vec());
        let mut out = Vec::new();
        let how = step(rows, &mut input, &mut out, Paint::PLAIN).unwrap();
        (how, String::from_utf8(out).unwrap())
    }

    #[test]
    fn stepping_reveals_one_row_per_enter_and_leaves_the_line_break_to_the_reader() {
        let (how, out) = stepped(&lines(3), "\n\n");
        assert_eq!(how, Stepped::Quit, "the input ended before the last row");
        assert_eq!(out, format!("{PROMPT} row 1row 2\n"));
        let (how, out) = stepped(&lines(2), "\n\n");
        assert_eq!(how, Stepped::Finished);
        assert_eq!(
            out,
            format!("{PROMPT} row 1row 2\n"),
            "the last row ends its line"
        );
    }

    #[test]
    fn stepping_continues_to_the_end_on_c_and_stops_on_q() {
        let (how, out) = stepped(&lines(4), "\nc\n");
        assert_eq!(how, Stepped::Finished);
        assert_eq!(out, format!("{PROMPT} row 1row 2\nrow 3\nrow 4\n"));
        let (how, out) = stepped(&lines(4), "\nq\n\n");
        assert_eq!(how, Stepped::Quit);
        assert_eq!(out, format!("{PROMPT} row 1"));
        let (how, out) = stepped(&[], "");
        assert_eq!(how, Stepped::Finished, "nothing to reveal");
        assert_eq!(out, "", "and nothing to ask");
    }
}
