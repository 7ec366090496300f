//! The machine-readable outputs: the JSON document of a run (README §3) and the JSONL
//! trace stream (README §3.4), one object per record. Names and envelopes are resolved
//! from the trace tables; nothing here judges anything.

use super::{is_group_counter, is_service_counter, row};
use crate::check::{Anomaly, Verdict};
use crate::counters::Counter;
use crate::json::Json;
use crate::model::RunResult;
use crate::scenario::Scenario;
use crate::trace::{EventIx, Kind, PartId, Tables, TraceEvent, TraceSink};

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
    j.key("notes").open_array();
    for note in super::notes(sc) {
        j.str(&note);
    }
    j.close_array();
    // Only a scenario with chaos has the key, so every other document stays as it was.
    if sc.chaos.is_active() {
        chaos(&mut j, sc, seed);
    }
    j.key("expectations").open_array();
    for e in &v.expectations {
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
        j.key("lag").open_object();
        for &(p, lag) in &g.lag {
            j.key(&tp(t, p)).opt_num(lag);
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
        anomaly_fields(&mut j, t, a);
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

/// `chaos`: the faults this seed drew, in time order, each with `at_ms`, `chaos_fault`
/// (its template's index in `chaos.faults`), `fault` (as `faults:` would spell it, without
/// `at_ms`), `restart_after_ms` (or null) and `text` (the report's sentence).
fn chaos(j: &mut Json, sc: &Scenario, seed: u64) {
    j.key("chaos").open_array();
    for d in crate::chaos::draw(sc, seed) {
        j.open_object();
        j.field_num("at_ms", d.at_ms);
        j.field_num("chaos_fault", d.template as u64);
        j.field_str("fault", &super::resolved::fault_text(sc, &d.action));
        j.key("restart_after_ms").opt_num(d.restart_after_ms);
        j.field_str("text", &crate::chaos::describe(sc, &d));
        j.close_object();
    }
    j.close_array();
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
    // A tombstone's value is null.
    if env.tombstone {
        j.key("payload").null();
    } else {
        j.key("payload")
            .open_object()
            .field_num("n", env.payload)
            .close_object();
    }
    j.close_object();
}

/// One anomaly's fields, as `run --format json` and `explain --format json` write them:
/// `kind`, `scope`, `at_ms`, `partition`, `offset`, `event_id`, `key`, `cause`, and
/// `chain`, its causal chain in time order: `[{"at_ms", "text", "effect"}]`, the last with
/// `effect: true` being what the reader sees.
pub fn anomaly_fields(j: &mut Json, t: &Tables, a: &Anomaly) {
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
    j.key("chain").open_array();
    for l in &a.chain {
        j.open_object();
        j.field_num("at_ms", l.at.ms());
        j.field_str("text", &l.text);
        j.key("effect").bool(l.effect);
        j.close_object();
    }
    j.close_array();
}
