//! Every output of a run, derived from the trace and the verdict: the text timeline and
//! summary, the JSON document, the JSONL trace, and the resolved scenario.
//!
//! Nothing here runs the model or judges anything; it only reads and formats. Names are
//! looked up here and nowhere earlier, so the hot path never formats a string.

use crate::check::Verdict;
use crate::counters::{Counter, Scope};
use crate::json::Json;
use crate::model::RunResult;
use crate::scenario::{Keys, Publish, Scenario};
use crate::trace::{
    ActorId, EventIx, Kind, Outage, PartId, RebalanceReason, SendError, Tables, TraceEvent,
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
}

impl Timeline {
    pub fn new(limit: Option<usize>) -> Timeline {
        Timeline {
            limit,
            kept: Vec::new(),
            rows: 0,
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
        // The coordinator's `commit` row says the same as the request once it is stored.
        if matches!(ev.kind, Kind::CommitSent { .. }) {
            return;
        }
        let continues = matches!(
            (self.kept.last(), ev.kind, self.rows <= self.limit.unwrap_or(usize::MAX)),
            (Some(prev), Kind::Deliver { .. }, true) if continues_row(prev, ev)
        );
        if !continues {
            self.rows += 1;
        }
        if self.rows <= self.limit.unwrap_or(usize::MAX) {
            self.kept.push(*ev);
        }
    }
}

/// A poll's consecutive records on one partition are one row: p0@3..7 (5 records).
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
        ) => a == actor && p == part && o.next() == offset && prev.at == ev.at,
        _ => false,
    }
}

/// A trace sink that writes each record as one JSON line as it happens (README §3.4).
/// The first write error stops the writing and is kept for the caller.
pub struct Jsonl<'s, W: std::io::Write> {
    sc: &'s Scenario,
    out: W,
    pub error: Option<std::io::Error>,
}

impl<'s, W: std::io::Write> Jsonl<'s, W> {
    pub fn new(sc: &'s Scenario, out: W) -> Self {
        Jsonl {
            sc,
            out,
            error: None,
        }
    }

    /// Flushes and hands back the first error, if any.
    pub fn finish(mut self) -> Result<(), std::io::Error> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

impl<W: std::io::Write> TraceSink for Jsonl<'_, W> {
    fn record(&mut self, t: &Tables, ev: &TraceEvent) {
        if self.error.is_some() {
            return;
        }
        let mut line = jsonl_line(self.sc, t, ev);
        line.push('\n');
        if let Err(e) = self.out.write_all(line.as_bytes()) {
            self.error = Some(e);
        }
    }
}

/// How a run is presented to the reader in the text report.
pub struct TextOptions<'a> {
    /// The command that reproduces this run, printed in the banner.
    pub reproduce: &'a str,
    /// Print at most this many timeline rows (None: all).
    pub timeline_limit: Option<usize>,
}

pub fn text(
    sc: &Scenario,
    seed: u64,
    run: &RunResult,
    v: &Verdict,
    timeline_rows: &Timeline,
    opts: &TextOptions,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "kafkasim · {} — {}", sc.name, sc.title);
    let _ = writeln!(o, "seed {seed} · reproduce: {}", opts.reproduce);
    if !sc.lesson.trim().is_empty() {
        o.push('\n');
        for line in sc.lesson.trim_end().lines() {
            let _ = writeln!(o, "  {line}");
        }
    }
    o.push('\n');
    if opts.timeline_limit != Some(0) {
        timeline(&mut o, sc, &run.tables, timeline_rows);
    }
    let _ = writeln!(
        o,
        "\nRun ended: {} at t={}ms after {} events.",
        run.outcome.name(),
        run.end_ms,
        run.events
    );
    summary(&mut o, v);
    committed(&mut o, &run.tables, v);
    ledger(&mut o, sc, &run.tables, v);
    anomalies(&mut o, v);
    verdict(&mut o, v);
    o
}

/// One row of the timeline: time, actor, verb, detail.
pub fn rows(
    sc: &Scenario,
    t: &Tables,
    evs: &[TraceEvent],
) -> Vec<(crate::engine::Time, String, &'static str, String)> {
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
                if a != actor || p != part || o != last.next() || evs[j].at != at {
                    break;
                }
                last = o;
                j += 1;
            }
            let pn = t.part_name(part);
            let detail = if last == offset {
                format!("{pn}@{offset} ({})", t.event_id(event))
            } else {
                format!("{pn}@{offset}..{last} ({} records)", last.since(offset) + 1)
            };
            rows.push((at, t.actor_name(actor).to_string(), "poll", detail));
            i = j;
            continue;
        }
        // The coordinator's `commit` row says the same once it is stored.
        if !matches!(evs[i].kind, Kind::CommitSent { .. }) {
            if let Some((who, verb, detail)) = row(sc, t, evs[i].kind) {
                rows.push((at, who, verb, detail));
            }
        }
        i += 1;
    }
    rows
}

fn key_text(t: &Tables, e: EventIx) -> String {
    t.key_of(e)
        .map_or("null key".to_string(), |k| format!("key={k}"))
}

fn row(sc: &Scenario, t: &Tables, k: Kind) -> Option<(String, &'static str, String)> {
    let n = |a: ActorId| t.actor_name(a).to_string();
    let broker = |p: PartId| format!("broker-{}", t.leaders[p.ix()] + 1);
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
            format!(
                "{} attempt {} after {}",
                t.event_id(event),
                attempt + 1,
                match error {
                    SendError::Timeout => "request.timeout.ms without an answer",
                    SendError::OutOfOrderSequence =>
                        "OutOfOrderSequence (an earlier send is missing)",
                }
            ),
        ),
        Kind::SendFailed { actor, event } => (
            n(actor),
            "send-failed",
            format!(
                "{} given up (delivery.timeout.ms or retries exhausted)",
                t.event_id(event)
            ),
        ),
        Kind::Append {
            event,
            part,
            offset,
        } => (
            broker(part),
            "append",
            format!("{}@{offset} {}", t.part_name(part), t.event_id(event)),
        ),
        Kind::DuplicateIgnored {
            event,
            part,
            offset,
        } => (
            broker(part),
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
            (
                sc.groups[group as usize].name.clone(),
                "generation",
                format!("{generation}: {}", shares.join(" ")),
            )
        }
        Kind::OffsetReset {
            actor,
            part,
            offset,
        } => (
            n(actor),
            "reset",
            format!(
                "{} starts at {offset}: no committed offset, auto.offset.reset={}",
                t.part_name(part),
                sc.groups[t.member_group(actor)]
                    .config
                    .auto_offset_reset
                    .name()
            ),
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
        } => (
            n(actor),
            "commit-req",
            format!(
                "{} → {offset}{}",
                t.part_name(part),
                if auto { " (auto-commit)" } else { "" }
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
        Kind::Revoke { actor } => (
            n(actor),
            "revoke",
            "gives up its partitions to rejoin".to_string(),
        ),
        Kind::Crash { actor, point } => (
            n(actor),
            "CRASH",
            point.map_or("now".to_string(), |p| format!("at {}", p.name())),
        ),
        Kind::Restart { actor } => (n(actor), "restart", "a new instance starts".to_string()),
        Kind::Leave { actor } => (n(actor), "leave", "LeaveGroup (clean shutdown)".to_string()),
        Kind::SessionExpired { actor } => (
            n(actor),
            "expired",
            "no heartbeat for session.timeout.ms: removed from the group".to_string(),
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
        },
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
            format!("outbox row {} → Kafka", t.event_id(event)),
        ),
        Kind::RelayMark { actor, event } => (
            n(actor),
            "mark-row",
            format!("outbox row {} PUBLISHED", t.event_id(event)),
        ),
        Kind::StoreUnavailable { actor, event } => (
            n(actor),
            "store-err",
            format!(
                "processed-id store unreachable while handling {}",
                t.event_id(event)
            ),
        ),
    })
}

fn timeline(o: &mut String, sc: &Scenario, t: &Tables, kept: &Timeline) {
    let rows = rows(sc, t, kept.events());
    let _ = writeln!(o, "Timeline (t in ms; see README for the legend)");
    let _ = writeln!(o, "{:>8}  {:<22} {:<12} detail", "t", "actor", "event");
    let shown = kept.limit.unwrap_or(usize::MAX).min(rows.len());
    for (at, who, verb, detail) in &rows[..shown] {
        let _ = writeln!(o, "{:>8}  {who:<22} {verb:<12} {detail}", at.ms());
    }
    if shown < kept.rows() {
        let _ = writeln!(
            o,
            "   … {} more rows (use --timeline full, or --trace FILE.jsonl for every event)",
            kept.rows() - shown
        );
    }
}

fn summary(o: &mut String, v: &Verdict) {
    let _ = writeln!(o, "\nSummary");
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
        let group_counter = !is_service_counter(c)
            && !matches!(c, Counter::Produced | Counter::Acked | Counter::Appended);
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
    let _ = writeln!(o, "\nCommitted offsets (next offset to read)");
    for g in &v.groups {
        let parts: Vec<String> = g
            .committed
            .iter()
            .map(|&(p, c)| {
                format!(
                    "{}={}",
                    t.part_name(p),
                    c.map_or("-".to_string(), |c| c.to_string())
                )
            })
            .collect();
        let _ = writeln!(o, "  {:<22} {}", g.name, parts.join(" "));
    }
}

/// The side-effect ledger: which eventIds had their effect applied more than once.
fn ledger(o: &mut String, sc: &Scenario, t: &Tables, v: &Verdict) {
    for (spec, g) in sc.groups.iter().zip(&v.groups) {
        let _ = writeln!(
            o,
            "\nSide-effect ledger of {} ({}): {} applied for {} eventIds",
            spec.name, spec.processing.effect, g.applied, g.applied_distinct
        );
        if g.reapplied.is_empty() {
            let _ = writeln!(o, "  every eventId applied at most once");
        }
        for r in &g.reapplied {
            let who: Vec<String> = r
                .applications
                .iter()
                .map(|(at, a)| format!("{} t={at}ms", t.actor_name(*a)))
                .collect();
            let _ = writeln!(
                o,
                "  {} {} {} ×{}: {}",
                spec.processing.effect,
                t.key_of(r.event).unwrap_or("null key"),
                t.event_id(r.event),
                r.applications.len(),
                who.join(", ")
            );
        }
    }
}

const ANOMALIES_SHOWN: usize = 50;

fn anomalies(o: &mut String, v: &Verdict) {
    let _ = writeln!(o, "\nAnomalies ({})", v.anomalies.len());
    if v.anomalies.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for a in v.anomalies.iter().take(ANOMALIES_SHOWN) {
        let _ = writeln!(o, "  {:<24} {}", a.kind.name(), a.cause);
    }
    if v.anomalies.len() > ANOMALIES_SHOWN {
        let _ = writeln!(
            o,
            "  … {} more (every one is in --format json)",
            v.anomalies.len() - ANOMALIES_SHOWN
        );
    }
}

fn verdict(o: &mut String, v: &Verdict) {
    let _ = writeln!(o, "\nVerdict: {}", if v.pass { "PASS" } else { "FAIL" });
    if v.expectations.is_empty() {
        let _ = writeln!(o, "  (the scenario has no expect: block)");
    }
    for e in &v.expectations {
        let _ = writeln!(
            o,
            "  {} {:<24} expected {:<6} actual {}",
            if e.holds { "ok  " } else { "FAIL" },
            e.expectation.counter.name(),
            e.expectation.condition.to_string(),
            e.actual
        );
    }
}

/// Kafka's TopicPartition string, for machine-readable outputs.
fn tp(t: &Tables, p: PartId) -> String {
    let (topic, n) = t.partitions[p.ix()];
    format!("{}-{n}", t.topic_names[topic as usize])
}

pub fn json(sc: &Scenario, seed: u64, run: &RunResult, v: &Verdict) -> String {
    let t = &run.tables;
    let mut j = Json::new();
    j.open_object();
    j.field_str("scenario", &sc.name);
    j.field_str("title", &sc.title);
    j.field_num("seed", seed);
    j.field_str("outcome", run.outcome.name());
    j.field_num("end_ms", run.end_ms.ms());
    j.field_num("events", run.events);
    j.field_str("verdict", if v.pass { "pass" } else { "fail" });
    j.key("expectations").open_array();
    for e in &v.expectations {
        j.open_object();
        j.field_str("name", e.expectation.counter.name());
        j.field_str("expected", &e.expectation.condition.to_string());
        j.field_num("actual", e.actual);
        j.key("holds").bool(e.holds);
        j.close_object();
    }
    j.close_array();
    j.key("totals").open_object();
    for &c in Counter::ALL {
        j.field_num(c.name(), v.totals.get(c));
    }
    j.close_object();
    j.key("groups").open_array();
    for g in &v.groups {
        j.open_object();
        j.field_str("name", &g.name);
        for &c in Counter::ALL {
            if is_group_counter(c) {
                j.field_num(c.name(), g.counts.get(c));
            }
        }
        j.key("committed").open_object();
        for &(p, c) in &g.committed {
            j.key(&tp(t, p)).opt_num(c.map(|c| c.value()));
        }
        j.close_object();
        j.close_object();
    }
    j.close_array();
    j.key("services").open_array();
    for s in &v.services {
        j.open_object();
        j.field_str("name", &s.name);
        for &c in Counter::ALL {
            if is_service_counter(c) {
                j.field_num(c.name(), s.counts.get(c));
            }
        }
        j.close_object();
    }
    j.close_array();
    j.key("anomalies").open_array();
    for a in &v.anomalies {
        j.open_object();
        j.field_str("kind", a.kind.name());
        j.field_str("scope", &a.scope);
        j.field_num("at_ms", a.at.ms());
        match a.part {
            Some(p) => j.field_str("partition", &tp(t, p)),
            None => j.key("partition").null(),
        };
        j.key("offset").opt_num(a.offset.map(|o| o.value()));
        match a.event {
            Some(e) => {
                j.field_str("event_id", &t.event_id(e));
                match t.key_of(e) {
                    Some(k) => j.field_str("key", k),
                    None => j.key("key").null(),
                };
            }
            None => {
                j.key("event_id").null();
                j.key("key").null();
            }
        }
        j.field_str("cause", &a.cause);
        j.close_object();
    }
    j.close_array();
    j.close_object();
    let mut s = j.finish();
    s.push('\n');
    s
}

fn is_group_counter(c: Counter) -> bool {
    c.scope() == Scope::Group
}

fn is_service_counter(c: Counter) -> bool {
    c.scope() == Scope::Service
}

/// One record as a JSON line (without the newline): names resolved, the envelope
/// included wherever an event is named.
pub fn jsonl_line(sc: &Scenario, t: &Tables, ev: &TraceEvent) -> String {
    let mut j = Json::new();
    j.open_object();
    j.field_num("t", ev.at.ms());
    j.field_str("kind", ev.kind.name());
    let (who, _, detail) = match ev.kind {
        Kind::Deliver {
            actor,
            part,
            offset,
            ..
        } => (
            t.actor_name(actor).to_string(),
            "poll",
            format!("{}@{offset}", t.part_name(part)),
        ),
        k => row(sc, t, k).unwrap_or_default(),
    };
    j.field_str("actor", &who);
    j.field_str("detail", &detail);
    if let Some(e) = ev.kind.event() {
        envelope(&mut j, t, e);
    }
    j.close_object();
    j.finish()
}

/// The event envelope of the source lesson.
fn envelope(j: &mut Json, t: &Tables, e: EventIx) {
    let env = t.envelopes[e.ix()];
    j.key("envelope").open_object();
    j.field_str("eventId", &t.event_id(e));
    j.field_str("eventType", &t.event_types[env.event_type as usize]);
    j.field_num("version", u64::from(env.version));
    j.field_num("occurredAt", env.occurred_at.ms());
    match t.key_of(e) {
        Some(k) => j.field_str("aggregateId", k),
        None => j.key("aggregateId").null(),
    };
    j.key("payload")
        .open_object()
        .field_num("n", env.payload)
        .close_object();
    j.close_object();
}

/// `s` as a YAML scalar that loads back as exactly `s`: plain when it is a simple word
/// that YAML cannot read as anything else, double-quoted (with escapes) otherwise.
fn q(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        return s.to_string();
    }
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(o, "\\u{:04X}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The lesson paragraph: a `|` block when that loads back exactly (one final newline,
/// no leading or trailing blanks a block would lose), else a quoted string.
fn lesson_yaml(lesson: &str) -> String {
    let body = lesson.strip_suffix('\n').unwrap_or("");
    let block = !body.is_empty()
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\n'])
        && body
            .lines()
            .all(|l| !l.ends_with([' ', '\t']) && !l.chars().any(|c| c.is_control()));
    if !block {
        return q(lesson);
    }
    let mut o = String::from("|");
    for line in body.lines() {
        o.push_str("\n  ");
        o.push_str(line);
    }
    o
}

/// The scenario as the simulator understood it, every default filled in. It is itself a
/// scenario file: loading it again gives the same run (a test checks every lesson).
pub fn resolved(sc: &Scenario) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "name: {}", q(&sc.name));
    let _ = writeln!(o, "title: {}", q(&sc.title));
    if !sc.lesson.is_empty() {
        let _ = writeln!(o, "lesson: {}", lesson_yaml(&sc.lesson));
    }
    let _ = writeln!(o, "seed: {}", sc.seed);
    let c = &sc.cluster;
    let _ = writeln!(o, "cluster:");
    let _ = writeln!(o, "  brokers: {}", c.brokers);
    let _ = writeln!(
        o,
        "  network: {{ latency_ms: {{ min: {}, max: {} }} }}",
        c.latency_min_ms, c.latency_max_ms
    );
    let _ = writeln!(
        o,
        "  config: {{ group.initial.rebalance.delay.ms: {} }}",
        c.initial_rebalance_delay_ms
    );
    let _ = writeln!(o, "topics:");
    for t in &sc.topics {
        let _ = writeln!(
            o,
            "  - {{ name: {}, partitions: {} }}",
            q(&t.name),
            t.partitions
        );
    }
    let send = |o: &mut String, label: &str, s: &crate::scenario::SendSpec| {
        let keys = match &s.keys {
            Keys::Null => "null".to_string(),
            Keys::Pattern { pattern, distinct } => {
                format!("{{ pattern: {}, distinct: {distinct} }}", q(pattern))
            }
        };
        let _ = writeln!(
            o,
            "    {label}: {{ count: {}, every_ms: {}, start_ms: {}, keys: {keys}, event_type: {} }}",
            s.count,
            s.every_ms,
            s.start_ms,
            q(&s.event_type)
        );
    };
    let producer = |o: &mut String, label: &str, p: &crate::scenario::ProducerConfig| {
        let _ = writeln!(
            o,
            "    {label}: {{ acks: {}, enable.idempotence: {}, retries: {}, retry.backoff.ms: {}, request.timeout.ms: {}, delivery.timeout.ms: {} }}",
            p.acks.kafka_name(),
            p.enable_idempotence,
            p.retries,
            p.retry_backoff_ms,
            p.request_timeout_ms,
            p.delivery_timeout_ms
        );
    };
    if !sc.producers.is_empty() {
        let _ = writeln!(o, "producers:");
    }
    for p in &sc.producers {
        let _ = writeln!(o, "  - name: {}", q(&p.name));
        let _ = writeln!(o, "    topic: {}", q(&sc.topics[p.topic].name));
        producer(&mut o, "config", &p.config);
        send(&mut o, "send", &p.send);
    }
    if !sc.groups.is_empty() {
        let _ = writeln!(o, "consumer_groups:");
    }
    for g in &sc.groups {
        let topics: Vec<String> = g.topics.iter().map(|&t| q(&sc.topics[t].name)).collect();
        let _ = writeln!(o, "  - name: {}", q(&g.name));
        let _ = writeln!(o, "    topics: [{}]", topics.join(", "));
        let _ = writeln!(o, "    members: {}", g.members);
        let cc = &g.config;
        let _ = writeln!(
            o,
            "    config: {{ enable.auto.commit: {}, auto.commit.interval.ms: {}, auto.offset.reset: {}, partition.assignment.strategy: {}, session.timeout.ms: {}, max.poll.records: {}, fetch.max.wait.ms: {} }}",
            cc.enable_auto_commit,
            cc.auto_commit_interval_ms,
            cc.auto_offset_reset.name(),
            cc.assignor.name(),
            cc.session_timeout_ms,
            cc.max_poll_records,
            cc.fetch_max_wait_ms
        );
        let _ = writeln!(
            o,
            "    processing: {{ time_ms: {}, effect: {}, commit: {} }}",
            g.processing.time_ms,
            q(&g.processing.effect),
            g.processing.commit.name()
        );
        if let Some(i) = &g.idempotency {
            // No ttl_ms: marks never expire.
            let ttl = i.ttl_ms.map_or(String::new(), |t| format!(", ttl_ms: {t}"));
            let _ = writeln!(
                o,
                "    idempotency: {{ store: {}{ttl}, on_store_unavailable: {} }}",
                i.store.name(),
                i.on_unavailable.name()
            );
        }
    }
    if !sc.services.is_empty() {
        let _ = writeln!(o, "services:");
    }
    for s in &sc.services {
        let _ = writeln!(o, "  - name: {}", q(&s.name));
        let _ = writeln!(o, "    topic: {}", q(&sc.topics[s.topic].name));
        send(&mut o, "commands", &s.commands);
        let _ = writeln!(o, "    publish: {}", s.publish.name());
        let _ = writeln!(o, "    database: {{ commit_ms: {} }}", s.commit_ms);
        producer(&mut o, "producer", &s.producer);
        if s.publish == Publish::Outbox {
            let _ = writeln!(
                o,
                "    relay: {{ poll_interval_ms: {}, batch_size: {}, count: {} }}",
                s.relay.poll_interval_ms, s.relay.batch_size, s.relay.count
            );
        }
    }
    if !sc.faults.is_empty() {
        let _ = writeln!(o, "faults:");
    }
    for f in &sc.faults {
        let _ = writeln!(
            o,
            "  - {{ at_ms: {}, {} }}",
            f.at_ms,
            fault_text(sc, &f.action)
        );
    }
    let _ = writeln!(
        o,
        "run: {{ until_ms: {}, max_events: {} }}",
        sc.run.until_ms, sc.run.max_events
    );
    if !sc.expect.is_empty() {
        let items: Vec<String> = sc
            .expect
            .iter()
            .map(|e| format!("{}: \"{}\"", e.counter.name(), e.condition))
            .collect();
        let _ = writeln!(o, "expect: {{ {} }}", items.join(", "));
    }
    o
}

fn fault_text(sc: &Scenario, a: &crate::scenario::FaultAction) -> String {
    use crate::scenario::{Client, FaultAction};
    match a {
        FaultAction::Crash {
            target,
            point,
            on_record,
        } => {
            let mut s = format!("crash: {}", sc.target_name(*target));
            if let Some(p) = point {
                let _ = write!(s, ", point: {}", p.name());
            }
            if let Some(n) = on_record {
                let _ = write!(s, ", on_record: {n}");
            }
            s
        }
        FaultAction::Restart(t) => format!("restart: {}", sc.target_name(*t)),
        FaultAction::Join { group, members } => {
            format!("join: {}, members: {members}", sc.groups[*group].name)
        }
        FaultAction::Leave { group, index } => format!("leave: {}", sc.member_name(*group, *index)),
        FaultAction::Isolate { client, for_ms } => format!(
            "isolate: {}, for_ms: {for_ms}",
            match client {
                Client::Producer(p) => &sc.producers[*p].name,
                Client::Service(s) => &sc.services[*s].name,
            }
        ),
        FaultAction::KafkaOutage { for_ms } => format!("kafka_outage: true, for_ms: {for_ms}"),
        FaultAction::StoreOutage { group, for_ms } => {
            format!("store_outage: {}, for_ms: {for_ms}", sc.groups[*group].name)
        }
    }
}
