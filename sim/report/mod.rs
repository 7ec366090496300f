//! Every output of a run, derived from the trace records and the verdict: the text
//! timeline and summary (here), the JSON document and the JSONL stream (`json.rs`), the
//! interactive HTML page (`html.rs`, with its template `report.html.j2`), and the resolved
//! scenario (`resolved.rs`).
//!
//! Nothing here runs the model or judges anything; it only reads and formats. Names are
//! looked up here and nowhere earlier, so the hot path never formats a string.

mod explain;
pub mod graph;
pub mod html;
mod json;
mod resolved;
pub mod sequence;
mod style;
pub mod terminal;

pub use explain::{explain_json, explain_text, ExplainOptions, STORIES_SHOWN};
pub use html::{html, Capture, HtmlOptions};
pub use json::{anomaly_fields, json, jsonl_line, Jsonl};
pub use resolved::resolved;
pub use style::{Paint, Tone};

use crate::check::Verdict;
use crate::counters::{Counter, Scope};
use crate::model::RunResult;
use crate::scenario::Scenario;
use crate::trace::{
    Actor, ActorId, EventIx, GaveUp, Kind, Outage, RebalanceReason, SendError, Tables, TraceEvent,
    TraceSink,
};
use std::fmt::Write;

/// A trace sink that keeps the records of the text timeline's first `limit` rows (all
/// rows when `limit` is None) and counts the rest, so a long run costs no memory for rows
/// nobody reads.
#[derive(Debug, Default)]
pub struct Timeline {
    limit: Option<usize>,
    kept: Vec<TraceEvent>,
    rows: usize,
    /// The last record that is a row's, kept or not: rows are counted alike past the limit.
    last: Option<TraceEvent>,
}

impl Timeline {
    /// Keeps the records of the first `limit` rows (every row when None).
    pub fn new(limit: Option<usize>) -> Timeline {
        Timeline {
            limit,
            kept: Vec::new(),
            rows: 0,
            last: None,
        }
    }

    /// The records kept, in order.
    pub fn events(&self) -> &[TraceEvent] {
        &self.kept
    }

    /// How many rows the whole run has, kept or not.
    pub fn rows(&self) -> usize {
        self.rows
    }
}

impl TraceSink for Timeline {
    fn record(&mut self, _: &Tables, ev: &TraceEvent) {
        // The coordinator's `commit` row says the same as the request once it is stored,
        // and a record's start shows as its effect.
        if !shown(ev.kind) {
            return;
        }
        let continues = matches!(
            (self.last, ev.kind),
            (Some(prev), Kind::Deliver { .. }) if continues_row(&prev, ev)
        );
        self.last = Some(*ev);
        if !continues {
            self.rows += 1;
        }
        if self.rows <= self.limit.unwrap_or(usize::MAX) {
            self.kept.push(*ev);
        }
    }
}

/// Whether a record is a timeline row: a commit request is shown by the coordinator's
/// `commit` row once stored, and a record's processing by its `effect` row.
/// A member's `assigned` record is told by the `generation` row.
pub fn shown(k: Kind) -> bool {
    // A cleaner pass is one row (`LogCleaned`), not one per record it removed.
    !matches!(
        k,
        Kind::CommitSent { .. }
            | Kind::ProcessStart { .. }
            | Kind::RecordCompacted { .. }
            | Kind::Assigned { .. }
    )
}

/// A poll's records on one partition are one row: p0@3..7 (5 records). Offsets may have
/// gaps where the log cleaner removed records.
fn continues_row(prev: &TraceEvent, ev: &TraceEvent) -> bool {
    match (prev.kind, ev.kind) {
        (
            Kind::Deliver {
                actor: a,
                part: p,
                offset: o,
                ..
            },
            Kind::Deliver {
                actor,
                part,
                offset,
                ..
            },
        ) => a == actor && p == part && o < offset && prev.at == ev.at,
        _ => false,
    }
}

/// How a run is presented to the reader in the text report.
pub struct TextOptions<'a> {
    /// The command that reproduces this run, printed in the banner.
    pub reproduce: &'a str,
    /// Print at most this many timeline rows (None: all).
    pub timeline_limit: Option<usize>,
}

/// The whole text report, plain: banner, lesson, notes, the timeline (repeated rows
/// folded, at most `opts.timeline_limit` rows), how the run ended, summary, committed
/// offsets, side-effect ledger, anomalies and verdict (README "Output legend").
pub fn text(
    sc: &Scenario,
    seed: u64,
    run: &RunResult,
    v: &Verdict,
    timeline_rows: &Timeline,
    opts: &TextOptions,
) -> String {
    let input = terminal::Input {
        sc,
        seed,
        run,
        verdict: v,
        kept: timeline_rows,
        opts,
    };
    match terminal::render(&input, &terminal::View::default(), Paint::PLAIN) {
        Ok(screen) => screen.whole(),
        // The default view has no filter or breakpoint to resolve, so it cannot fail.
        Err(e) => unreachable!("the default view failed: {e}"),
    }
}

/// The banner, the lesson and the notes: what every text report opens with.
pub(crate) fn head(o: &mut String, sc: &Scenario, seed: u64, opts: &TextOptions, paint: Paint) {
    banner(o, sc, seed, opts, paint);
    // What this seed's chaos drew: part of what the reader must know before the timeline.
    for line in crate::chaos::report_lines(sc, seed) {
        let _ = writeln!(o, "{line}");
    }
    if !sc.lesson.trim().is_empty() {
        o.push('\n');
        for line in sc.lesson.trim_end().lines() {
            let _ = writeln!(o, "  {line}");
        }
    }
    o.push('\n');
    for note in notes(sc) {
        let _ = writeln!(o, "note: {note}");
    }
    if !notes(sc).is_empty() {
        o.push('\n');
    }
}

/// `kafkasim · name — title` and the seed with the command that reproduces the run.
pub(crate) fn banner(o: &mut String, sc: &Scenario, seed: u64, opts: &TextOptions, paint: Paint) {
    let title = format!("kafkasim · {} — {}", sc.name, sc.title);
    let _ = writeln!(o, "{}", paint.paint(Tone::Heading, &title));
    let _ = writeln!(o, "seed {seed} · reproduce: {}", opts.reproduce);
}

/// Everything after the timeline: how the run ended, summary, committed offsets,
/// side-effect ledger, anomalies, verdict.
pub(crate) fn tail(o: &mut String, sc: &Scenario, run: &RunResult, v: &Verdict, paint: Paint) {
    let _ = writeln!(
        o,
        "\nRun ended: {} at t={}ms after {} events.",
        run.outcome.name(),
        run.end_ms,
        run.events
    );
    summary(o, v, paint);
    committed(o, &run.tables, v);
    ledger(o, sc, &run.tables, v, paint);
    anomalies(o, v, paint);
    verdict(o, v, paint);
}

/// One row of the timeline: time, actor, verb, detail.
pub fn rows(
    sc: &Scenario,
    t: &Tables,
    evs: &[TraceEvent],
) -> Vec<(crate::engine::Time, String, &'static str, String)> {
    timeline_rows(sc, t, evs)
        .into_iter()
        .map(|r| (r.at, r.actor, r.verb, r.detail))
        .collect()
}

/// One row of the text timeline and the trace records it tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Simulated time of its (first) record.
    pub at: crate::engine::Time,
    /// The `actor` column: a producer, member, group, `broker-N`, `kafka`, … (README).
    pub actor: String,
    /// The `event` column: one word (README's table of timeline event words).
    pub verb: &'static str,
    pub detail: String,
    /// The records it tells, as indices into the slice given to `timeline_rows`: one,
    /// or a poll's consecutive deliveries of one partition.
    pub records: std::ops::Range<usize>,
}

/// The timeline rows of `evs`, in order, each with the records it tells. Records with
/// no row of their own (commit requests, processing starts, compacted records,
/// assignments taken) are skipped; a poll's records on one partition in one ms are one
/// row (`p0@3..7 (5 records)`).
pub fn timeline_rows(sc: &Scenario, t: &Tables, evs: &[TraceEvent]) -> Vec<Row> {
    rows_of(sc, t, evs, true)
}

/// `timeline_rows`, where a gap in a poll's offsets is either the log cleaner's
/// (`compacted_gaps`: one row, "the offsets between were compacted away") or a filter's
/// (each run of consecutive offsets its own row).
pub(crate) fn rows_of(
    sc: &Scenario,
    t: &Tables,
    evs: &[TraceEvent],
    compacted_gaps: bool,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < evs.len() {
        let at = evs[i].at;
        // A poll's records are one row: p0@3..7 (5 records).
        if let Kind::Deliver {
            actor,
            part,
            offset,
            event,
        } = evs[i].kind
        {
            let mut j = i + 1;
            let mut last = offset;
            while let Some(Kind::Deliver {
                actor: a,
                part: p,
                offset: o,
                ..
            }) = evs.get(j).map(|e| e.kind)
            {
                let gap = if compacted_gaps {
                    o <= last
                } else {
                    o != last.next()
                };
                if a != actor || p != part || gap || evs[j].at != at {
                    break;
                }
                last = o;
                j += 1;
            }
            let pn = t.part_name(part);
            let detail = if last == offset {
                format!("{pn}@{offset} ({})", t.event_id(event))
            } else if (j - i) as u64 == last.since(offset) + 1 {
                format!("{pn}@{offset}..{last} ({} records)", j - i)
            } else {
                format!(
                    "{pn}@{offset}..{last} ({} records; the offsets between were compacted away)",
                    j - i
                )
            };
            rows.push(Row {
                at,
                actor: t.actor_name(actor).to_string(),
                verb: "poll",
                detail,
                records: i..j,
            });
            i = j;
            continue;
        }
        if shown(evs[i].kind) {
            if let Some((actor, verb, detail)) = row(sc, t, evs[i].kind) {
                rows.push(Row {
                    at,
                    actor,
                    verb,
                    detail,
                    records: i..i + 1,
                });
            }
        }
        i += 1;
    }
    rows
}

/// What the scenario's settings imply that the file did not say, in one sentence each:
/// printed under the banner and listed under `notes` in JSON.
pub fn notes(sc: &Scenario) -> Vec<String> {
    let configs = sc
        .producers
        .iter()
        .map(|p| (&p.name, &p.config))
        .chain(sc.services.iter().map(|s| (&s.name, &s.producer)));
    configs
        .filter_map(|(name, c)| {
            c.idempotence_switched_off.map(|why| {
                format!(
                    "enable.idempotence is off for {name}: Kafka switches its default off when {why} (say enable.idempotence: false to make it explicit)"
                )
            })
        })
        .collect()
}

/// "3rd record", "2nd order", "1st batch": what `on_record` counts for this actor.
fn ordinal_unit(t: &Tables, actor: ActorId, n: u64) -> String {
    let unit = match t.actors[actor.ix()].0 {
        Actor::Member { .. } => "record",
        Actor::Service(_) => "order",
        Actor::Relay { .. } => "acknowledged batch",
        Actor::Producer(_) => "send",
    };
    let suffix = match (n % 10, n % 100) {
        (1, r) if r != 11 => "st",
        (2, r) if r != 12 => "nd",
        (3, r) if r != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix} {unit}")
}

/// The limit that ended a send after `elapsed_ms`, with its configured value: "retries
/// (5) exhausted".
pub fn gave_up(
    sc: &Scenario,
    t: &Tables,
    actor: ActorId,
    limit: GaveUp,
    elapsed_ms: u32,
) -> String {
    let config = match t.actors[actor.ix()].0 {
        Actor::Producer(p) => &sc.producers[p as usize].config,
        Actor::Service(s) | Actor::Relay { service: s, .. } => &sc.services[s as usize].producer,
        Actor::Member { .. } => unreachable!("members do not produce"),
    };
    match limit {
        GaveUp::Retries => format!("retries ({}) exhausted", config.retries),
        GaveUp::DeliveryTimeout if u64::from(elapsed_ms) >= config.delivery_timeout_ms => {
            format!(
                "delivery.timeout.ms ({} ms) had passed",
                config.delivery_timeout_ms
            )
        }
        GaveUp::DeliveryTimeout => format!(
            "delivery.timeout.ms ({} ms) would pass before the next attempt",
            config.delivery_timeout_ms
        ),
        GaveUp::OutOfOrderSequence => {
            "OutOfOrderSequence, and no earlier batch in flight could fill the gap".to_string()
        }
    }
}

/// How many times a send that was given up went out: "after 2 attempts", or, for a
/// record whose batch never left the accumulator, "unsent".
pub fn attempts_text(attempts: u32) -> String {
    match attempts {
        0 => "unsent (its batch waited in the producer's buffer behind earlier ones)".to_string(),
        1 => "after 1 attempt".to_string(),
        n => format!("after {n} attempts"),
    }
}

/// The partitions of the one share at `assignment` in `Trace::assignments`, comma-separated.
fn share_names(t: &Tables, assignment: u32) -> String {
    let names: Vec<String> = t.assignments[assignment as usize]
        .iter()
        .flat_map(|s| s.parts.iter().map(|&p| t.part_name(p)))
        .collect();
    names.join(",")
}

fn key_text(t: &Tables, e: EventIx) -> String {
    match t.key_of(e) {
        None => "null key".to_string(),
        Some("") => "key=\"\" (empty)".to_string(),
        Some(k) => format!("key={k}"),
    }
}

fn row(sc: &Scenario, t: &Tables, k: Kind) -> Option<(String, &'static str, String)> {
    let n = |a: ActorId| t.actor_name(a).to_string();
    let b = |broker: u32| format!("broker-{}", broker + 1);
    Some(match k {
        Kind::Send { actor, event, part } => (
            n(actor),
            "send",
            format!(
                "{} {} → {}",
                t.event_id(event),
                key_text(t, event),
                t.part_name(part)
            ),
        ),
        Kind::Retry {
            actor,
            event,
            attempt,
            error,
        } => (
            n(actor),
            "retry",
            retry_detail(&t.event_id(event), &(attempt + 1).to_string(), error),
        ),
        Kind::SendFailed {
            actor,
            event,
            attempts,
            elapsed_ms,
            limit,
        } => (
            n(actor),
            "send-failed",
            format!(
                "{} given up {} in {elapsed_ms} ms: {}",
                t.event_id(event),
                attempts_text(attempts),
                gave_up(sc, t, actor, limit, elapsed_ms)
            ),
        ),
        Kind::RequestDropped { actor, event, part } => (
            n(actor),
            "dropped",
            dropped_detail(&t.event_id(event), &t.part_name(part), false),
        ),
        Kind::Append {
            event,
            part,
            offset,
            broker,
            ..
        } => (
            format!("broker-{}", broker + 1),
            "append",
            format!("{}@{offset} {}", t.part_name(part), t.event_id(event)),
        ),
        Kind::Rejected { event, part, error } => (
            "kafka".to_string(),
            "refused",
            rejected_detail(&t.event_id(event), &t.part_name(part), error),
        ),
        Kind::BrokerDown { broker, clean } => (
            b(broker),
            if clean { "shutdown" } else { "CRASH" },
            if clean {
                "controlled shutdown: its partitions get new leaders at once".to_string()
            } else {
                format!(
                    "the broker is down; the controller fences it after broker.session.timeout.ms ({} ms)",
                    sc.cluster.broker_session_timeout_ms
                )
            },
        ),
        Kind::BrokerUp { broker } => (
            b(broker),
            "restart",
            "the broker is back: its replicas catch up from their leaders".to_string(),
        ),
        Kind::BrokerFenced { broker } => (
            "controller".to_string(),
            "fenced",
            format!(
                "{} leaves every ISR; the partitions it led get new leaders",
                b(broker)
            ),
        ),
        Kind::LeaderChange {
            part,
            leader,
            epoch,
            unclean,
        } => (
            "controller".to_string(),
            "leader",
            match leader {
                Some(l) if unclean => format!(
                    "{} → {} (leader epoch {epoch}), UNCLEAN: it was not in the ISR, so records it lacks are lost",
                    t.part_name(part),
                    b(l)
                ),
                Some(l) => format!(
                    "{} → {} (leader epoch {epoch})",
                    t.part_name(part),
                    b(l)
                ),
                None => format!(
                    "{} has no leader: no in-sync replica is alive (offline)",
                    t.part_name(part)
                ),
            },
        ),
        Kind::IsrChange {
            part,
            broker,
            joined,
            size,
        } => (
            b(broker),
            if joined { "isr-join" } else { "isr-leave" },
            format!(
                "{} ISR {} {} ({size} in sync)",
                t.part_name(part),
                if joined { "regains" } else { "drops" },
                b(broker)
            ),
        ),
        Kind::HighWatermark { part, offset } => (
            "kafka".to_string(),
            "hw",
            format!(
                "{} high watermark {offset}: every in-sync replica has the records below it",
                t.part_name(part)
            ),
        ),
        Kind::LogTruncated { part, to } => (
            "kafka".to_string(),
            "truncated",
            format!(
                "{} now ends at offset {to}: the new leader lacks the records from {to} on",
                t.part_name(part)
            ),
        ),
        Kind::PartitionsAdded { topic, partitions } => (
            "kafka".to_string(),
            "partitions",
            format!(
                "{} now has {partitions} partitions; clients learn of the new ones at their next metadata refresh",
                t.topic_names[topic as usize]
            ),
        ),
        Kind::MetadataRefresh {
            actor,
            topic,
            partitions,
        } => (
            n(actor),
            "metadata",
            format!(
                "learned that {} has {partitions} partitions (metadata.max.age.ms): keys now go to hash % {partitions}",
                t.topic_names[topic as usize]
            ),
        ),
        Kind::SegmentsDeleted {
            part,
            broker,
            log_start,
            breach,
        } => (
            b(broker),
            "retention",
            format!(
                "{} segments below offset {log_start} deleted ({} breached): the log now starts at {log_start}",
                t.part_name(part),
                breach.name()
            ),
        ),
        Kind::LogCleaned {
            part,
            broker,
            cleaned_to,
            removed,
            tombstones,
        } => (
            b(broker),
            "cleaner",
            format!(
                "{} compacted below offset {cleaned_to}: {} removed{}; the latest record of each key stays",
                t.part_name(part),
                plural(u64::from(removed - tombstones), "record superseded by a later one of its key", "records superseded by later ones of their keys"),
                if tombstones > 0 {
                    format!(", and {} past delete.retention.ms", plural(u64::from(tombstones), "tombstone", "tombstones"))
                } else {
                    String::new()
                }
            ),
        ),
        Kind::RecordCompacted {
            part,
            offset,
            superseded_by,
        } => (
            "kafka".to_string(),
            "compacted",
            match superseded_by {
                Some(by) => format!(
                    "{pn}@{offset} removed: {pn}@{by} has the same key",
                    pn = t.part_name(part)
                ),
                None => format!(
                    "{}@{offset} removed: a tombstone past delete.retention.ms",
                    t.part_name(part)
                ),
            },
        ),
        Kind::ReplicaTruncated { part, broker, to } => (
            b(broker),
            "truncate",
            format!(
                "its {} replica drops its records from offset {to}: its leader's log does not have them",
                t.part_name(part)
            ),
        ),
        Kind::DuplicateIgnored {
            event,
            part,
            offset,
            broker,
        } => (
            format!("broker-{}", broker + 1),
            "dedupe",
            format!(
                "{} is already {}@{offset}: idempotent retry, not appended again",
                t.event_id(event),
                t.part_name(part)
            ),
        ),
        Kind::Ack {
            actor,
            event,
            part,
            offset,
        } => (
            n(actor),
            "ack",
            match offset {
                None => format!(
                    "{} (acks=0: counted as sent, not waited for)",
                    t.event_id(event)
                ),
                Some(offset) => format!("{} {}@{offset}", t.event_id(event), t.part_name(part)),
            },
        ),
        Kind::JoinGroup { actor } => (n(actor), "join", "JoinGroup".to_string()),
        Kind::RebalanceStart {
            group,
            reason,
            cause,
        } => (
            sc.groups[group as usize].name.clone(),
            "rebalance",
            format!(
                "started: {} {}",
                n(cause),
                match reason {
                    RebalanceReason::Join => "joined",
                    RebalanceReason::Leave => "left",
                    RebalanceReason::SessionExpired => "timed out (session.timeout.ms)",
                    RebalanceReason::PartitionsAdded =>
                        "found new partitions in its topics at its metadata refresh (metadata.max.age.ms)",
                }
            ),
        ),
        Kind::Generation {
            group,
            generation,
            assignment,
        } => {
            let shares: Vec<String> = t.assignments[assignment as usize]
                .iter()
                .map(|s| {
                    let parts: Vec<String> = s.parts.iter().map(|&p| t.part_name(p)).collect();
                    if parts.is_empty() {
                        format!("{}=[] idle", t.actor_name(s.actor))
                    } else {
                        format!("{}=[{}]", t.actor_name(s.actor), parts.join(","))
                    }
                })
                .collect();
            let shares = if shares.is_empty() {
                "no members (the group is Empty)".to_string()
            } else {
                shares.join(" ")
            };
            (
                sc.groups[group as usize].name.clone(),
                "generation",
                format!("{generation}: {shares}"),
            )
        }
        Kind::OffsetReset {
            actor,
            part,
            offset,
            out_of_range,
        } => (
            n(actor),
            "reset",
            format!(
                "{} starts at {offset}: {}, auto.offset.reset={}",
                t.part_name(part),
                match out_of_range {
                    Some(at) if at < offset => format!(
                        "its position {at} was below the log start offset (OFFSET_OUT_OF_RANGE: retention deleted it)"
                    ),
                    Some(_) => "its position was past the log end (OFFSET_OUT_OF_RANGE: the new leader's log is shorter)".to_string(),
                    None => "no committed offset".to_string(),
                },
                sc.groups[t.member_group(actor)]
                    .config
                    .auto_offset_reset
                    .name()
            ),
        ),
        Kind::Seek {
            actor,
            part,
            from,
            offset,
            to,
        } => (
            n(actor),
            "seek",
            format!(
                "{} from {from} to {offset} (to: {}){}",
                t.part_name(part),
                to.spelled(),
                if offset > from {
                    format!(": offsets {from}..{} are skipped", offset.value() - 1)
                } else if offset < from {
                    format!(": offsets {offset}..{} are read again", from.value() - 1)
                } else {
                    String::new()
                }
            ),
        ),
        Kind::NoOffset {
            actor,
            part,
            out_of_range,
        } => (
            n(actor),
            "no-offset",
            match out_of_range {
                None => format!(
                    "{}: no committed offset and auto.offset.reset=none: NoOffsetForPartitionException, it stops consuming",
                    t.part_name(part)
                ),
                Some(at) => format!(
                    "{}: position {at} out of range and auto.offset.reset=none: OffsetOutOfRangeException, it stops consuming",
                    t.part_name(part)
                ),
            },
        ),
        Kind::Resume {
            actor,
            part,
            offset,
        } => (
            n(actor),
            "resume",
            format!("{} at committed offset {offset}", t.part_name(part)),
        ),
        Kind::Deliver { .. } => unreachable!("grouped by rows()"),
        Kind::ProcessStart {
            actor,
            part,
            offset,
            event,
        } => (
            n(actor),
            "start",
            format!("{}@{offset} ({})", t.part_name(part), t.event_id(event)),
        ),
        Kind::Effect {
            actor,
            part,
            offset,
            event,
        } => (
            n(actor),
            "effect",
            format!(
                "{} {} ({}, {}@{offset})",
                sc.groups[t.member_group(actor)].processing.effect,
                t.key_of(event).unwrap_or("null key"),
                t.event_id(event),
                t.part_name(part)
            ),
        ),
        Kind::Absorbed { actor, event, .. } => (
            n(actor),
            "skip-dup",
            format!("{} already processed: effect skipped", t.event_id(event)),
        ),
        Kind::Mark {
            actor,
            event,
            expires_at,
        } => (
            n(actor),
            "mark",
            match expires_at {
                None => format!("{} processed", t.event_id(event)),
                Some(at) => format!("{} processed, expires t={at}ms", t.event_id(event)),
            },
        ),
        Kind::CommitSent {
            actor,
            part,
            offset,
            auto,
            stored,
        } => (
            n(actor),
            "commit-req",
            format!(
                "{} → {offset}{}",
                t.part_name(part),
                match (auto, stored) {
                    (true, true) => " (auto-commit of the stored offset)",
                    (true, false) => " (auto-commit)",
                    _ => "",
                }
            ),
        ),
        Kind::Committed {
            group,
            part,
            offset,
            actor,
        } => (
            sc.groups[group as usize].name.clone(),
            "commit",
            format!("{} → {offset} by {}", t.part_name(part), n(actor)),
        ),
        Kind::CommitRejected {
            actor,
            part,
            offset,
        } => (
            n(actor),
            "commit-fail",
            format!(
                "{} → {offset} refused: not a member of the current generation",
                t.part_name(part)
            ),
        ),
        Kind::Revoke { actor, partitions } => (
            n(actor),
            "revoke",
            match partitions {
                0 => "owns no partitions; rejoins".to_string(),
                1 => "gives up its partition to rejoin".to_string(),
                n => format!("gives up its {n} partitions to rejoin"),
            },
        ),
        Kind::CrashArmed {
            actor,
            point,
            on_record,
        } => (
            n(actor),
            "armed",
            match on_record {
                None => format!("a crash at {}, the next time it gets there", point.name()),
                Some(n) => format!(
                    "a crash at {}, from its {} from now",
                    point.name(),
                    ordinal_unit(t, actor, n)
                ),
            },
        ),
        Kind::EpochBump { actor, part, epoch } => (
            n(actor),
            "new-epoch",
            format!(
                "a sent batch for {} was given up and nothing later showed it landed: producer epoch {epoch}, its sequences restart at 0",
                t.part_name(part)
            ),
        ),
        Kind::Crash { actor, point } => (
            n(actor),
            "CRASH",
            point.map_or("now".to_string(), |p| format!("at {}", p.name())),
        ),
        Kind::Restart { actor } => (n(actor), "restart", "a new instance starts".to_string()),
        Kind::Leave { actor } => (
            n(actor),
            "leave",
            "LeaveGroup (graceful shutdown: the batch in hand was finished)".to_string(),
        ),
        Kind::CloseInterrupted { actor, unhandled } => (
            n(actor),
            "close-intr",
            format!(
                "close() interrupted its batch with {unhandled} record{} not handled; LeaveGroup",
                if unhandled == 1 { "" } else { "s" }
            ),
        ),
        Kind::SessionExpired { actor } => (
            n(actor),
            "expired",
            "no heartbeat for session.timeout.ms: removed from the group".to_string(),
        ),
        Kind::RevokeMoved { actor, assignment } => (
            n(actor),
            "revoke",
            format!(
                "gives up {} (moving to another member), keeps consuming the rest; rejoins at once",
                share_names(t, assignment)
            ),
        ),
        Kind::Paused {
            actor,
            partitions,
            since,
            ms,
        } => (
            n(actor),
            "paused",
            format!(
                "{} not consumed for {} ms (since t={}ms) because of the rebalance",
                match partitions {
                    1 => "1 partition".to_string(),
                    n => format!("{n} partitions"),
                },
                ms,
                since.ms()
            ),
        ),
        Kind::Assigned {
            actor,
            generation,
            assignment,
        } => (
            n(actor),
            "assigned",
            format!("generation {generation}: [{}]", share_names(t, assignment)),
        ),
        Kind::Withheld {
            group,
            generation,
            assignment,
        } => {
            let shares: Vec<String> = t.assignments[assignment as usize]
                .iter()
                .map(|s| {
                    let parts: Vec<String> = s.parts.iter().map(|&p| t.part_name(p)).collect();
                    format!("{}→{}", parts.join(","), t.actor_name(s.actor))
                })
                .collect();
            (
                sc.groups[group as usize].name.clone(),
                "withheld",
                format!(
                    "{generation}: {} (cooperative: the old owner revokes first; the next rebalance hands over)",
                    shares.join(" ")
                ),
            )
        }
        Kind::StaticRejoin {
            group,
            actor,
            generation,
        } => (
            sc.groups[group as usize].name.clone(),
            "static",
            format!(
                "{} rejoined as group.instance.id {}: same share, generation {generation} goes on, no rebalance",
                n(actor),
                n(actor)
            ),
        ),
        Kind::PollTimeout { actor, since } => (
            n(actor),
            "poll-late",
            format!(
                "left the group: poll interval exceeded (max.poll.interval.ms {} ms since its poll at t={since}ms); it finishes the records in hand",
                sc.groups[t.member_group(actor)].config.max_poll_interval_ms
            ),
        ),
        Kind::CommitFailed {
            actor,
            part,
            offset,
            auto,
        } => (
            n(actor),
            "commit-fail",
            format!(
                "{} → {offset} failed{}: CommitFailedException, it left the group (max.poll.interval.ms)",
                t.part_name(part),
                if auto { " (auto-commit)" } else { "" }
            ),
        ),
        Kind::OutageStart { what, until } => match what {
            Outage::Isolated(actor) => (
                n(actor),
                "isolated",
                format!("cut off from Kafka until t={until}ms"),
            ),
            Outage::Kafka => (
                "kafka".to_string(),
                "OUTAGE",
                format!("every broker down until t={until}ms"),
            ),
            Outage::Store(group) => (
                sc.groups[group as usize].name.clone(),
                "store-down",
                format!("processed-id store unreachable until t={until}ms"),
            ),
            Outage::BrokerCut(b) => (
                format!("broker-{}", b + 1),
                "cut-off",
                format!(
                    "cut off from the other brokers and the controller until t={until}ms (clients still reach it)"
                ),
            ),
            Outage::Messages { kind, delay_ms } => (
                "network".to_string(),
                "messages",
                match delay_ms {
                    None => format!("{} messages dropped until t={until}ms", kind.name()),
                    Some(ms) => format!(
                        "{} messages delayed by {ms} ms until t={until}ms",
                        kind.name()
                    ),
                },
            ),
        },
        Kind::OutageEnd { what } => match what {
            Outage::Isolated(actor) => (n(actor), "reconnected", "reaches Kafka again".to_string()),
            Outage::Kafka => (
                "kafka".to_string(),
                "recovered",
                "brokers are back".to_string(),
            ),
            Outage::Store(group) => (
                sc.groups[group as usize].name.clone(),
                "store-up",
                "processed-id store reachable again".to_string(),
            ),
            Outage::BrokerCut(b) => (
                format!("broker-{}", b + 1),
                "healed",
                "reaches the other brokers and the controller again".to_string(),
            ),
            Outage::Messages { kind, .. } => (
                "network".to_string(),
                "messages-ok",
                format!("{} messages travel normally again", kind.name()),
            ),
        },
        Kind::CommandRefused { actor, command } => (
            n(actor),
            "refused",
            format!(
                "command {} ({}) refused: the service is down",
                command + 1,
                match t.actors[actor.ix()].0 {
                    Actor::Service(s) => sc.services[s as usize]
                        .commands
                        .keys
                        .key(command)
                        .unwrap_or_else(|| "no key".to_string()),
                    _ => unreachable!("only services take commands"),
                }
            ),
        ),
        Kind::DbCommit {
            actor,
            event,
            outbox,
        } => (
            n(actor),
            "db-commit",
            format!(
                "order {} ({}){}",
                t.key_of(event).unwrap_or("(no key)"),
                t.event_id(event),
                if outbox { " + outbox row PENDING" } else { "" }
            ),
        ),
        Kind::RelayPublish { actor, event } => (
            n(actor),
            "publish",
            publish_detail(&t.event_id(event), false),
        ),
        Kind::RelayMark {
            actor,
            event,
            waited,
        } => (
            n(actor),
            "mark-row",
            format!(
                "outbox row {} PUBLISHED{}",
                t.event_id(event),
                if waited {
                    ""
                } else {
                    " without waiting for its delivery report"
                }
            ),
        ),
        Kind::RelayMarkFailed { actor, event } => (
            n(actor),
            "mark-fail",
            mark_failed_detail(&t.event_id(event), false),
        ),
        Kind::MarkFailing { actor, until } => (
            n(actor),
            "marks-fail",
            format!(
                "its mark transactions fail and roll back until t={}ms",
                until.ms()
            ),
        ),
        Kind::StoreUnavailable { actor, event } => (
            n(actor),
            "store-err",
            store_err_detail(&t.event_id(event)),
        ),
    })
}

// The details of the rows that fold (`terminal.rs`), written once for one eventId and
// for a folded row's list of them (`ids`: "e-4" or "e-4, e-5, e-9"; `many`: more than one).

pub(crate) fn retry_detail(ids: &str, attempt: &str, error: SendError) -> String {
    format!(
        "{ids} attempt {attempt} after {}",
        match error {
            SendError::Timeout => "request.timeout.ms without an answer",
            SendError::OutOfOrderSequence =>
                "OutOfOrderSequence (an earlier batch still in flight is missing)",
            SendError::ConnectionClosed =>
                "the connection closed (another request on it timed out)",
            SendError::InvalidProducerEpoch =>
                "InvalidProducerEpoch (the batch is from an older epoch)",
            SendError::NotLeaderOrFollower =>
                "NotLeaderOrFollower (the partition's leader moved or is down)",
            SendError::NotEnoughReplicas =>
                "NotEnoughReplicas (the ISR is smaller than min.insync.replicas)",
            SendError::ConnectionRefused => "the brokers refused the connection (nothing was sent)",
        }
    )
}

pub(crate) fn dropped_detail(ids: &str, part: &str, many: bool) -> String {
    if many {
        format!("produce requests {ids} → {part} lost on the way: no broker will answer them")
    } else {
        format!("produce request {ids} → {part} lost on the way: no broker will answer it")
    }
}

pub(crate) fn rejected_detail(ids: &str, part: &str, error: SendError) -> String {
    format!(
        "{ids} → {part}: {}",
        match error {
            SendError::NotEnoughReplicas => {
                "NotEnoughReplicas: acks=all, and the ISR is smaller than min.insync.replicas; nothing appended"
            }
            _ => "NotLeaderOrFollower: the partition has no live leader; nothing appended",
        }
    )
}

pub(crate) fn publish_detail(ids: &str, many: bool) -> String {
    format!("outbox row{} {ids} → Kafka", if many { "s" } else { "" })
}

pub(crate) fn mark_failed_detail(ids: &str, many: bool) -> String {
    if many {
        format!("marking outbox rows {ids} PUBLISHED failed and rolled back: the rows stay PENDING")
    } else {
        format!("marking outbox row {ids} PUBLISHED failed and rolled back: the row stays PENDING")
    }
}

pub(crate) fn store_err_detail(ids: &str) -> String {
    format!("processed-id store unreachable while handling {ids}")
}

fn summary(o: &mut String, v: &Verdict, paint: Paint) {
    let _ = writeln!(o, "\n{}", paint.paint(Tone::Heading, "Summary"));
    let mut head = format!("  {:<24} {:>8}", "counter", "total");
    for g in &v.groups {
        let _ = write!(head, "  {:>18}", clip(&g.name, 18));
    }
    for s in &v.services {
        let _ = write!(head, "  {:>18}", clip(&s.name, 18));
    }
    let _ = writeln!(o, "{head}");
    for &c in Counter::ALL {
        let total = v.totals.get(c);
        let per_group = v.groups.iter().map(|g| g.counts.get(c));
        let per_service = v.services.iter().map(|s| s.counts.get(c));
        let any = total > 0 || per_group.clone().any(|n| n > 0);
        if !any
            && !matches!(
                c,
                Counter::Lost | Counter::DuplicateEffects | Counter::DuplicateDeliveries
            )
        {
            continue;
        }
        let mut line = format!("  {:<24} {:>8}", c.name(), total);
        // A group column shows group counters only, a service column service counters only.
        let group_counter = is_group_counter(c);
        for n in per_group {
            let cell = if group_counter {
                n.to_string()
            } else {
                String::new()
            };
            let _ = write!(line, "  {:>18}", cell);
        }
        for n in per_service {
            let cell = if is_service_counter(c) {
                n.to_string()
            } else {
                String::new()
            };
            let _ = write!(line, "  {:>18}", cell);
        }
        let _ = writeln!(o, "{}", line.trim_end());
    }
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn committed(o: &mut String, t: &Tables, v: &Verdict) {
    if v.groups.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\nCommitted offsets (next offset to read; lag: log end offset minus committed)"
    );
    for g in &v.groups {
        let parts: Vec<String> = g
            .committed
            .iter()
            .zip(&g.lag)
            .map(|(&(p, c), &(_, lag))| match (c, lag) {
                (Some(c), Some(lag)) if lag > 0 => format!("{}={c} (lag {lag})", t.part_name(p)),
                (Some(c), _) => format!("{}={c}", t.part_name(p)),
                (None, _) => format!("{}=-", t.part_name(p)),
            })
            .collect();
        let _ = writeln!(o, "  {:<22} {}", g.name, parts.join(" "));
    }
}

/// EventIds applied more than once that the text report's side-effect ledger lists, over
/// all groups (each group's in eventId order); the rest are counted.
pub const LEDGER_SHOWN: usize = 50;

/// Applications of one eventId its ledger line names; the rest are counted.
pub const APPLICATIONS_SHOWN: usize = 10;

/// The side-effect ledger: which eventIds had their effect applied more than once (the
/// first `LEDGER_SHOWN` of them over all groups, then how many more each group has).
fn ledger(o: &mut String, sc: &Scenario, t: &Tables, v: &Verdict, paint: Paint) {
    let mut budget = LEDGER_SHOWN;
    for (spec, g) in sc.groups.iter().zip(&v.groups) {
        let _ = writeln!(
            o,
            "\nSide-effect ledger of {} ({}): {} applied for {} eventIds",
            spec.name, spec.processing.effect, g.applied, g.applied_distinct
        );
        if g.reapplied.is_empty() {
            let _ = writeln!(o, "  every eventId applied at most once");
        }
        let shown = g.reapplied.len().min(budget);
        budget -= shown;
        for r in &g.reapplied[..shown] {
            let mut who: Vec<String> = r
                .applications
                .iter()
                .take(APPLICATIONS_SHOWN)
                .map(|(at, a)| format!("{} t={at}ms", t.actor_name(*a)))
                .collect();
            if r.applications.len() > APPLICATIONS_SHOWN {
                who.push(format!(
                    "… {} more",
                    r.applications.len() - APPLICATIONS_SHOWN
                ));
            }
            // Wrapped as a cause is: a list of many applications runs past a projector.
            let line = format!(
                "{} {} {} ×{}: {}",
                spec.processing.effect,
                t.key_of(r.event).unwrap_or("null key"),
                t.event_id(r.event),
                r.applications.len(),
                who.join(", ")
            );
            for (i, part) in wrap(&line, CAUSE_WIDTH).iter().enumerate() {
                let indent = if i == 0 { "  " } else { "      " };
                let _ = writeln!(o, "{indent}{}", paint.paint(Tone::Loss, part));
            }
        }
        if shown < g.reapplied.len() {
            let more = g.reapplied.len() - shown;
            let what = if shown == 0 {
                format!("  {more} eventIds applied more than once, not listed (the ledger lists {LEDGER_SHOWN} over all groups)")
            } else {
                format!("  … {more} more eventIds applied more than once")
            };
            let _ = writeln!(
                o,
                "{what}: each repeat is a duplicate_effect anomaly (--format json lists the first {} anomalies of a run; --trace FILE.jsonl has every effect)",
                crate::check::ANOMALIES_KEPT
            );
        }
    }
}

const ANOMALIES_SHOWN: usize = 50;

/// Columns a cause line may take, after its 6-space indent.
const CAUSE_WIDTH: usize = 88;

/// `text` broken into lines of at most `width` characters, at spaces (a longer word gets a
/// line of its own).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if !line.is_empty() && needed > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn anomalies(o: &mut String, v: &Verdict, paint: Paint) {
    let left_out: u64 = v.anomalies_left_out.iter().map(|k| k.1).sum();
    let heading = format!("Anomalies ({})", v.anomalies.len() as u64 + left_out);
    let _ = writeln!(o, "\n{}", paint.paint(Tone::Heading, &heading));
    if v.anomalies.is_empty() {
        let _ = writeln!(o, "  none");
    }
    // The kind on its own line and the cause wrapped under it, indented: readable on a
    // projector, where a 260-character line is not.
    for a in v.anomalies.iter().take(ANOMALIES_SHOWN) {
        let _ = writeln!(
            o,
            "  {}",
            paint.paint(terminal::anomaly_tone(a.kind), a.kind.name())
        );
        for line in wrap(&a.cause, CAUSE_WIDTH) {
            let _ = writeln!(o, "      {line}");
        }
    }
    if v.anomalies.len() > ANOMALIES_SHOWN || left_out > 0 {
        // Which kinds are hidden, so a kind that only happens late is not missed.
        let mut hidden: std::collections::BTreeMap<&str, u64> = Default::default();
        for a in v.anomalies.iter().skip(ANOMALIES_SHOWN) {
            *hidden.entry(a.kind.name()).or_default() += 1;
        }
        for &(kind, n) in &v.anomalies_left_out {
            *hidden.entry(kind.name()).or_default() += n;
        }
        let kinds: Vec<String> = hidden.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let more = v.anomalies.len().saturating_sub(ANOMALIES_SHOWN) as u64 + left_out;
        let where_ = if left_out == 0 {
            "every one is in --format json".to_string()
        } else {
            format!(
                "the first {} by time are in --format json, with their causes; the rest are counted",
                crate::check::ANOMALIES_KEPT
            )
        };
        let _ = writeln!(o, "  … {more} more: {} ({where_})", kinds.join(", "));
    }
}

fn verdict(o: &mut String, v: &Verdict, paint: Paint) {
    let (word, tone) = if v.pass {
        ("PASS", Tone::Pass)
    } else {
        ("FAIL", Tone::Fail)
    };
    let _ = writeln!(
        o,
        "\n{} {}",
        paint.paint(Tone::Heading, "Verdict:"),
        paint.paint(tone, word)
    );
    if v.expectations.is_empty() {
        let _ = writeln!(o, "  (the scenario has no expect: block)");
    }
    // At least 24 wide, as the plain counter names need; a GROUP.COUNTER may need more.
    let width = v
        .expectations
        .iter()
        .map(|e| e.expectation.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(24);
    for e in &v.expectations {
        let mark = if e.holds {
            paint.paint(Tone::Pass, "ok  ")
        } else {
            paint.paint(Tone::Fail, "FAIL")
        };
        let _ = writeln!(
            o,
            "  {mark} {:<width$} expected {:<6} actual {}",
            e.expectation.name.as_str(),
            e.expectation.condition.to_string(),
            e.actual
        );
    }
}

/// Counters a consumer group has of its own (producers' counters are totals only).
fn is_group_counter(c: Counter) -> bool {
    c.scope() == Scope::Group
}

fn is_service_counter(c: Counter) -> bool {
    c.scope() == Scope::Service
}

/// "1 record", "3 records".
fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_breaks_at_spaces_within_the_width_and_keeps_every_word() {
        let text =
            "p0@2 delivered again to payment-service-2 at t=6065ms: payment-service-1 crashed";
        let lines = wrap(text, 30);
        assert!(lines.iter().all(|l| l.chars().count() <= 30), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(
            wrap("a-very-long-word-alone", 5),
            vec!["a-very-long-word-alone"]
        );
        assert!(wrap("", 10).is_empty());
    }
}
