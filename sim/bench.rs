//! `kafkasim bench`: the reference throughput workload, and the simulator measured from outside.
//!
//! This is the one file in `sim/` that reads the wall clock (`Instant::now`) and the process's
//! memory figures. It only ever times a finished call to [`simulate`](crate::simulate) and
//! never passes a time, a size or anything else it measures into a run, so a scenario and a
//! seed still give the same bytes; `tests/lessons.rs` allows the clock here and nowhere else.
//!
//! The workload is the one `gen.sh` writes (3 brokers, 12 partitions, one keyed producer,
//! 6 consumers committing after each batch); [`reference_yaml`] gives it byte for byte.

use crate::counters::Counter;
use crate::model::Outcome;
use crate::scenario;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write;
use std::hint::black_box;
use std::time::Instant;

/// Records in the default run (the `reference-1m` workload).
pub const DEFAULT_RECORDS: u64 = 1_000_000;

/// The sizes `--scale` runs, in this order, in records.
pub const SCALE_SIZES: [u64; 4] = [10_000, 100_000, 1_000_000, 10_000_000];

/// Simulated ms the reference workload keeps running after the last send, so consumers can
/// catch up (as in `gen.sh`).
pub const DRAIN_MS: u64 = 40_000;

/// How the producer spreads its records over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sending {
    /// One record every 1 ms, as `gen.sh` writes it.
    Paced,
    /// Every record sent at t=0 (`every_ms: 0`).
    Burst,
}

impl Sending {
    /// `paced` or `burst`.
    pub fn name(self) -> &'static str {
        match self {
            Sending::Paced => "paced",
            Sending::Burst => "burst",
        }
    }
}

/// The reference workload at `records` messages, exactly as
/// `gen.sh reference-<size> <records>` writes it: one record every 1 ms, 1000 distinct keys,
/// `until_ms` = records × 1 ms + 40000 ms, and the same `expect:` block.
pub fn reference_yaml(records: u64) -> String {
    workload(
        &format!("reference-{}", size_name(records)),
        records,
        1,
        "one record every 1 ms",
    )
}

/// The reference workload at `records` messages with every record sent at t=0
/// (`every_ms: 0`). `until_ms` stays records × 1 ms + 40000 ms, as in the paced run: the
/// six consumers handle up to 6 records per simulated ms, so that leaves them several times
/// the time they need, and both variants cover the same simulated span.
pub fn reference_yaml_burst(records: u64) -> String {
    workload(
        &format!("reference-{}-burst", size_name(records)),
        records,
        0,
        "every record at t=0",
    )
}

/// The replicated variant of the paced reference workload: the same records, with every
/// partition on three brokers and `min.insync.replicas` 2, so acks=all waits for the
/// followers (Kafka's production settings).
pub fn replicated_yaml(records: u64) -> String {
    reference_yaml(records)
        .replacen(
            &format!("name: reference-{}", size_name(records)),
            &format!("name: reference-{}-rf3", size_name(records)),
            1,
        )
        .replacen(
            "Replication is not\n  modelled yet, so there is no replication factor (acks=all behaves as acks=1).",
            "Every partition has three\n  replicas and min.insync.replicas 2: acks=all waits for the followers.",
            1,
        )
        .replacen(
            "  - { name: orders, partitions: 12 }",
            "  - { name: orders, partitions: 12, replication_factor: 3, config: { min.insync.replicas: 2 } }",
            1,
        )
}

/// The YAML of the reference workload for `records` and `sending`.
pub fn workload_yaml(records: u64, sending: Sending) -> String {
    match sending {
        Sending::Paced => reference_yaml(records),
        Sending::Burst => reference_yaml_burst(records),
    }
}

/// `1m`, `10k`, or the plain number: the size part of a workload's name.
fn size_name(records: u64) -> String {
    if records >= 1_000_000 && records.is_multiple_of(1_000_000) {
        format!("{}m", records / 1_000_000)
    } else if records >= 1_000 && records.is_multiple_of(1_000) {
        format!("{}k", records / 1_000)
    } else {
        records.to_string()
    }
}

/// gen.sh's template. `every_ms` is the gap between sends; `until_ms` is always
/// records × 1 ms + DRAIN_MS (for `every_ms` 1 that is gen.sh's `count * every + 40000`).
fn workload(name: &str, count: u64, every_ms: u64, sending: &str) -> String {
    let until_ms = count + DRAIN_MS;
    format!(
        "name: {name}
title: Reference throughput workload, {count} keyed messages, acks=all, commit after each batch
lesson: |
  Performance reference: 3 brokers, one topic of 12 partitions, one keyed producer
  (acks=all, idempotent by default) sending {sending}, and a group of
  6 consumers committing synchronously after each poll batch. Replication is not
  modelled yet, so there is no replication factor (acks=all behaves as acks=1).
seed: 1
cluster: {{ brokers: 3, network: {{ latency_ms: {{ min: 1, max: 3 }} }}, config: {{ group.initial.rebalance.delay.ms: 0 }} }}
topics:
  - {{ name: orders, partitions: 12 }}
producers:
  - name: order-service
    topic: orders
    config: {{ acks: all }}
    send: {{ count: {count}, every_ms: {every_ms}, keys: {{ pattern: \"order-{{n}}\", distinct: 1000 }} }}
consumer_groups:
  - name: billing
    topics: [orders]
    members: 6
    config: {{ enable.auto.commit: false, auto.offset.reset: earliest, max.poll.records: 500 }}
    processing: {{ time_ms: 1, effect: charge, commit: after-batch }}
run: {{ until_ms: {until_ms}, max_events: 100000000 }}
expect: {{ produced: {count}, processed: {count}, lost: 0, duplicate_deliveries: 0, key_order_violations: 0 }}
"
    )
}

/// How far the memory figures of a run can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// The peak was reset just before the run (`/proc/self/clear_refs`).
    Measured,
    /// `/proc/self/status` was read, but the peak could not be reset: it includes
    /// everything the process did before the run.
    PeakNotReset,
    /// No `/proc/self/status` (not Linux): the memory figures are 0.
    Unavailable,
}

/// What one measured run gave.
#[derive(Clone, Debug)]
pub struct Figures {
    /// Records the workload sends.
    pub records: u64,
    /// Paced (1 ms apart) or all at t=0.
    pub sending: Sending,
    /// Records processed end to end (the run's `processed` total).
    pub messages: u64,
    /// Simulator events processed (`RunResult::events`).
    pub events: u64,
    /// Simulated time at the end of the run, in ms.
    pub simulated_ms: u64,
    /// The simulator's mean event-queue length, which the baseline loop holds too.
    pub pending: usize,
    /// Wall time of `simulate` (run and judgement; parsing excluded), in ms.
    pub wall_ms: f64,
    /// Messages processed per wall-clock second.
    pub messages_per_second: f64,
    /// Simulator events per wall-clock second.
    pub events_per_second: f64,
    /// Wall time per message processed, in ns.
    pub ns_per_message: f64,
    /// Events per wall-clock second of the bare `BinaryHeap` loop, for as many events.
    pub baseline_events_per_second: f64,
    /// `events_per_second` ÷ `baseline_events_per_second`.
    pub ratio_to_baseline: f64,
    /// Simulated ms per wall-clock ms.
    pub time_compression: f64,
    /// Peak resident set size during the run (`VmHWM`), in bytes; 0 if unavailable.
    pub peak_rss_bytes: u64,
    /// Resident set size just before the run (`VmRSS`), in bytes; 0 if unavailable.
    pub rss_before_bytes: u64,
    /// (peak RSS − RSS before the run) ÷ records, in bytes; 0 if unavailable.
    pub bytes_per_record: f64,
    /// Whether the memory figures were measured, and how well.
    pub memory: Memory,
    /// How the run ended (the reference workload ends at its time limit).
    pub outcome: Outcome,
    /// Whether the workload's `expect:` block held.
    pub pass: bool,
}

/// The machine the figures were measured on.
#[derive(Clone, Debug)]
pub struct Machine {
    /// Cores this process may use (`available_parallelism`); 0 if unknown.
    pub cores: usize,
    /// `std::env::consts::OS`.
    pub os: &'static str,
    /// `std::env::consts::ARCH`.
    pub arch: &'static str,
    /// Built without debug assertions (a release build).
    pub release: bool,
}

/// This machine, and how this code was built.
pub fn machine() -> Machine {
    Machine {
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        release: !cfg!(debug_assertions),
    }
}

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// One run of the workload at `records` messages (1 … `limits::RECORDS`), sent as
    /// `sending` says.
    One { records: u64, sending: Sending },
    /// Every size in [`SCALE_SIZES`], each paced and then burst, in one process.
    Scale,
}

/// Every run of a bench, and the one that heads it.
#[derive(Clone, Debug)]
pub struct Report {
    /// Where the runs were measured.
    pub machine: Machine,
    /// The measured runs, in the order they ran.
    pub runs: Vec<Figures>,
    /// Index in `runs` of the headline run: the one run, or with `Plan::Scale` the paced
    /// 1M run (the reference). Its figures are the JSON top level.
    pub headline: usize,
    /// Runs that were not made, with the reason.
    pub skipped: Vec<String>,
    /// Pending entries in the baseline's heap.
    pub baseline_pending: usize,
    /// The headline run's workload again with three replicas per partition
    /// ([`replicated_yaml`]), reported beside it.
    pub replicated: Option<Figures>,
}

/// Spread of the cost per message across the sizes of one sending pattern.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    /// The cheapest size's ns per message.
    pub min_ns_per_message: f64,
    /// The dearest size's ns per message.
    pub max_ns_per_message: f64,
    /// max ÷ min.
    pub ratio: f64,
    /// Half the range over the midpoint, in percent: every size is within ± this of
    /// (max + min) / 2. The target is ±25%.
    pub plus_minus_percent: f64,
}

/// The spread of ns per message over the runs with `sending`; `None` with fewer than two.
pub fn spread(runs: &[Figures], sending: Sending) -> Option<Spread> {
    let costs: Vec<f64> = runs
        .iter()
        .filter(|f| f.sending == sending)
        .map(|f| f.ns_per_message)
        .collect();
    if costs.len() < 2 {
        return None;
    }
    let min = costs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = costs.iter().copied().fold(0.0, f64::max);
    Some(Spread {
        min_ns_per_message: min,
        max_ns_per_message: max,
        ratio: per(max, min),
        plus_minus_percent: 100.0 * per(max - min, max + min),
    })
}

/// `a / b`, or 0 when `b` is not positive (a run too short to time).
fn per(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Runs `plan`, calling `progress` after each run (the CLI prints a line to stderr).
/// An error is a generated workload that does not load, which is a bug.
pub fn run(plan: Plan, progress: &mut dyn FnMut(&Figures)) -> Result<Report, String> {
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    let headline = match plan {
        Plan::One { records, sending } => {
            runs.push(measure(records, sending)?);
            progress(&runs[0]);
            0
        }
        Plan::Scale => {
            for records in SCALE_SIZES {
                for sending in [Sending::Paced, Sending::Burst] {
                    if let Some(why) = too_big(&runs, records, sending) {
                        skipped.push(why);
                        continue;
                    }
                    let f = measure(records, sending)?;
                    progress(&f);
                    runs.push(f);
                }
            }
            runs.iter()
                .position(|f| f.sending == Sending::Paced && f.records == DEFAULT_RECORDS)
                .unwrap_or(0)
        }
    };
    let baseline_pending = runs.get(headline).map_or(0, |f| f.pending);
    let replicated = match runs.get(headline) {
        Some(f) if f.sending == Sending::Paced => {
            let r = measure_replicated(f.records)?;
            progress(&r);
            Some(r)
        }
        _ => None,
    };
    Ok(Report {
        machine: machine(),
        runs,
        headline,
        skipped,
        baseline_pending,
        replicated,
    })
}

/// Why a run would not fit in memory, judged from the largest run of the same pattern so
/// far (its bytes per record, with a quarter more as margin) and `MemAvailable`. `None`:
/// go ahead, also when nothing can be told.
fn too_big(done: &[Figures], records: u64, sending: Sending) -> Option<String> {
    let last = done
        .iter()
        .filter(|f| f.sending == sending && f.memory != Memory::Unavailable)
        .max_by_key(|f| f.records)?;
    let need = last.bytes_per_record * records as f64 * 1.25;
    let available = proc_kb("/proc/meminfo", "MemAvailable:")? * 1024;
    (need > available as f64).then(|| {
        format!(
            "{} {records} records: skipped, would need about {:.1} GB ({:.0} B/record as at {} records) and {:.1} GB is available",
            sending.name(),
            need / 1e9,
            last.bytes_per_record,
            last.records,
            available as f64 / 1e9
        )
    })
}

/// Generates the workload, loads it (not timed), then times `simulate` on it and measures
/// its peak memory; then times the baseline heap loop for as many events, holding as many
/// pending entries as the simulator's queue held on average.
pub fn measure(records: u64, sending: Sending) -> Result<Figures, String> {
    measure_yaml(workload_yaml(records, sending), records, sending)
}

/// [`measure`] on the replicated variant ([`replicated_yaml`]), paced.
pub fn measure_replicated(records: u64) -> Result<Figures, String> {
    measure_yaml(replicated_yaml(records), records, Sending::Paced)
}

fn measure_yaml(yaml: String, records: u64, sending: Sending) -> Result<Figures, String> {
    let sc = scenario::parse(&yaml).map_err(|problems| {
        crate::diag::render(&format!("reference-{records}"), &yaml, &problems)
    })?;
    drop(yaml);

    let reset = reset_peak();
    let before = proc_kb("/proc/self/status", "VmRSS:");
    let start = Instant::now();
    let (result, verdict) = crate::simulate(&sc, sc.seed);
    let wall = start.elapsed().as_secs_f64();
    let peak = proc_kb("/proc/self/status", "VmHWM:");

    let (memory, peak_rss_bytes, rss_before_bytes) = match (peak, before) {
        (Some(peak), Some(before)) => (
            if reset {
                Memory::Measured
            } else {
                Memory::PeakNotReset
            },
            peak * 1024,
            before * 1024,
        ),
        _ => (Memory::Unavailable, 0, 0),
    };
    let messages = verdict.totals.get(Counter::Processed);
    let events = result.events;
    let pending = result.mean_queue_len.max(1);
    let wall_ms = wall * 1000.0;
    let events_per_second = per(events as f64, wall);
    let baseline_events_per_second = baseline_events_per_second(events, pending);
    Ok(Figures {
        records,
        sending,
        messages,
        events,
        simulated_ms: result.end_ms.ms(),
        pending,
        wall_ms,
        messages_per_second: per(messages as f64, wall),
        events_per_second,
        ns_per_message: per(wall * 1e9, messages as f64),
        baseline_events_per_second,
        ratio_to_baseline: per(events_per_second, baseline_events_per_second),
        time_compression: per(result.end_ms.ms() as f64, wall_ms),
        peak_rss_bytes,
        rss_before_bytes,
        bytes_per_record: per(
            peak_rss_bytes.saturating_sub(rss_before_bytes) as f64,
            records as f64,
        ),
        memory,
        outcome: result.outcome,
        pass: verdict.pass,
    })
}

/// The floor a discrete-event loop cannot beat: a bare `BinaryHeap` of
/// `(Reverse((time ms, sequence)), payload)` holding `pending` entries, popping one and
/// pushing one 1 to 4 ms later, `events` times. Returns events per wall-clock second.
pub fn baseline_events_per_second(events: u64, pending: usize) -> f64 {
    let pending = pending.max(1) as u64;
    let mut heap: BinaryHeap<(Reverse<(u64, u64)>, u64)> =
        BinaryHeap::with_capacity(pending as usize + 1);
    for seq in 0..pending {
        heap.push((Reverse((seq % 4, seq)), seq));
    }
    let start = Instant::now();
    for seq in pending..pending + events {
        let Some((Reverse((time, _)), payload)) = heap.pop() else {
            break;
        };
        let payload = black_box(payload);
        // 1 to 4 ms later, chosen by the payload's top bits, so the order keeps changing.
        let later = time + 1 + (payload.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 62);
        heap.push((Reverse((later, seq)), payload ^ seq));
    }
    let wall = start.elapsed().as_secs_f64();
    black_box(&heap);
    per(events as f64, wall)
}

/// Resets the peak RSS (`VmHWM`) to the current RSS; false if that is not possible
/// (not Linux, or a kernel before 4.0).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `Field:   123 kB` line of a /proc file, in kB.
fn proc_kb(file: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// The figures of one run, as the JSON contract names them.
#[derive(Serialize)]
struct JsonFigures {
    records: u64,
    messages_per_second: f64,
    events_per_second: f64,
    baseline_events_per_second: f64,
    ratio_to_baseline: f64,
    time_compression: f64,
    peak_rss_bytes: u64,
    bytes_per_record: f64,
    wall_ms: f64,
    ns_per_message: f64,
}

impl JsonFigures {
    fn of(f: &Figures) -> JsonFigures {
        JsonFigures {
            records: f.records,
            messages_per_second: f.messages_per_second,
            events_per_second: f.events_per_second,
            baseline_events_per_second: f.baseline_events_per_second,
            ratio_to_baseline: f.ratio_to_baseline,
            time_compression: f.time_compression,
            peak_rss_bytes: f.peak_rss_bytes,
            bytes_per_record: f.bytes_per_record,
            wall_ms: f.wall_ms,
            ns_per_message: f.ns_per_message,
        }
    }
}

#[derive(Serialize)]
struct JsonReport {
    #[serde(flatten)]
    headline: JsonFigures,
    scale: Vec<JsonFigures>,
    /// The headline workload with three replicas per partition, when it was paced.
    #[serde(skip_serializing_if = "Option::is_none")]
    replicated: Option<JsonFigures>,
}

/// The report as one JSON object (a contract): the headline run's `messages_per_second`,
/// `events_per_second`, `baseline_events_per_second`, `ratio_to_baseline`,
/// `time_compression`, `peak_rss_bytes`, `bytes_per_record` (plus `records`, `wall_ms`,
/// `ns_per_message`), and `scale`: the same keys for each paced run, one per size, and
/// `replicated`: the same keys for the headline workload with three replicas per
/// partition. Burst runs are in the text report only. Ends with a newline.
pub fn json(report: &Report) -> String {
    let headline = report
        .runs
        .get(report.headline)
        .map(JsonFigures::of)
        .unwrap_or_else(|| JsonFigures::of(&empty()));
    let scale = report
        .runs
        .iter()
        .filter(|f| f.sending == Sending::Paced || report.runs.len() == 1)
        .map(JsonFigures::of)
        .collect();
    let replicated = report.replicated.as_ref().map(JsonFigures::of);
    let mut out = serde_json::to_string(&JsonReport {
        headline,
        scale,
        replicated,
    })
    .expect("plain numbers always serialise");
    out.push('\n');
    out
}

/// Figures of a bench that measured nothing.
fn empty() -> Figures {
    Figures {
        records: 0,
        sending: Sending::Paced,
        messages: 0,
        events: 0,
        simulated_ms: 0,
        pending: 0,
        wall_ms: 0.0,
        messages_per_second: 0.0,
        events_per_second: 0.0,
        ns_per_message: 0.0,
        baseline_events_per_second: 0.0,
        ratio_to_baseline: 0.0,
        time_compression: 0.0,
        peak_rss_bytes: 0,
        rss_before_bytes: 0,
        bytes_per_record: 0.0,
        memory: Memory::Unavailable,
        outcome: Outcome::Quiescent,
        pass: false,
    }
}

/// The machine line: cores, OS/arch and build profile.
fn machine_line(m: &Machine) -> String {
    format!(
        "machine: {} cores · {}/{} · {}",
        m.cores,
        m.os,
        m.arch,
        if m.release {
            "release build"
        } else {
            "DEBUG BUILD: figures are not representative, use `cargo run --release -- bench`"
        }
    )
}

/// What the memory columns mean for these runs, if anything needs saying.
fn memory_note(runs: &[Figures]) -> Option<&'static str> {
    if runs.iter().any(|f| f.memory == Memory::Unavailable) {
        Some("memory: unavailable (no /proc/self/status); shown as 0")
    } else if runs.iter().any(|f| f.memory == Memory::PeakNotReset) {
        Some("memory: the peak RSS could not be reset (/proc/self/clear_refs), so it includes earlier runs")
    } else {
        None
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn run_line(f: &Figures) -> String {
    format!(
        "{} at t={}ms, {}",
        f.outcome.name(),
        f.simulated_ms,
        if f.pass { "PASS" } else { "FAIL" }
    )
}

/// The report as text: the machine line, then a table of figures (one column of values for
/// one run, one row per run for several), then notes.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kafkasim bench · reference workload: 3 brokers, 12 partitions, 1 keyed producer (acks=all), 6 consumers committing after each batch"
    );
    let _ = writeln!(out, "{}", machine_line(&report.machine));
    let _ = writeln!(out);
    if report.runs.len() == 1 {
        let f = &report.runs[0];
        let rows: [(&str, String); 15] = [
            ("records sent", f.records.to_string()),
            (
                "sending",
                match f.sending {
                    Sending::Paced => "one every 1 ms".to_string(),
                    Sending::Burst => "all at t=0".to_string(),
                },
            ),
            ("messages processed", f.messages.to_string()),
            ("events", f.events.to_string()),
            ("wall time", format!("{:.3} s", f.wall_ms / 1000.0)),
            (
                "messages per second",
                format!("{:.0}", f.messages_per_second),
            ),
            ("events per second", format!("{:.0}", f.events_per_second)),
            ("ns per message", format!("{:.0}", f.ns_per_message)),
            (
                "baseline events per second",
                format!(
                    "{:.0}  (bare BinaryHeap, {} pending)",
                    f.baseline_events_per_second, report.baseline_pending
                ),
            ),
            ("ratio to baseline", format!("{:.4}", f.ratio_to_baseline)),
            (
                "time compression",
                format!("{:.0}×  (simulated ms per wall ms)", f.time_compression),
            ),
            ("peak RSS", mb(f.peak_rss_bytes)),
            ("RSS before the run", mb(f.rss_before_bytes)),
            ("bytes per record", format!("{:.0}", f.bytes_per_record)),
            ("run", run_line(f)),
        ];
        for (name, value) in rows {
            let _ = writeln!(out, "  {name:<28} {value}");
        }
    } else {
        let _ = writeln!(
            out,
            "  {:<7} {:>10} {:>9} {:>11} {:>11} {:>8} {:>8} {:>8} {:>11} {:>8}  run",
            "sending",
            "records",
            "wall s",
            "msg/s",
            "events/s",
            "ns/msg",
            "vs heap",
            "compr.",
            "peak RSS",
            "B/record"
        );
        for f in &report.runs {
            let _ = writeln!(
                out,
                "  {:<7} {:>10} {:>9.3} {:>11.0} {:>11.0} {:>8.0} {:>8.4} {:>7.0}× {:>11} {:>8.0}  {}",
                f.sending.name(),
                f.records,
                f.wall_ms / 1000.0,
                f.messages_per_second,
                f.events_per_second,
                f.ns_per_message,
                f.ratio_to_baseline,
                f.time_compression,
                mb(f.peak_rss_bytes),
                f.bytes_per_record,
                run_line(f)
            );
        }
        let _ = writeln!(out);
        for sending in [Sending::Paced, Sending::Burst] {
            if let Some(s) = spread(&report.runs, sending) {
                let _ = writeln!(
                    out,
                    "  cost per message, {}: {:.0} to {:.0} ns, max/min {:.2} (±{:.0}% around the midpoint; target ±25%)",
                    sending.name(),
                    s.min_ns_per_message,
                    s.max_ns_per_message,
                    s.ratio,
                    s.plus_minus_percent
                );
            }
        }
        let _ = writeln!(
            out,
            "  vs heap: events/s ÷ a bare BinaryHeap loop with {} pending entries",
            report.baseline_pending
        );
    }
    if let (Some(r), Some(h)) = (&report.replicated, report.runs.get(report.headline)) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  replicated (replication factor 3, min.insync.replicas 2), {} records paced:",
            r.records
        );
        let _ = writeln!(
            out,
            "  {:<28} {:.3} s  ({:.2}× the unreplicated {:.3} s)",
            "wall time",
            r.wall_ms / 1000.0,
            per(r.wall_ms, h.wall_ms),
            h.wall_ms / 1000.0
        );
        let _ = writeln!(
            out,
            "  {:<28} {:.0}  (unreplicated {:.0})",
            "messages per second", r.messages_per_second, h.messages_per_second
        );
        let _ = writeln!(
            out,
            "  {:<28} {}  ({} unreplicated)",
            "events", r.events, h.events
        );
        let _ = writeln!(
            out,
            "  {:<28} {}  (unreplicated {})",
            "peak RSS",
            mb(r.peak_rss_bytes),
            mb(h.peak_rss_bytes)
        );
        let _ = writeln!(out, "  {:<28} {}", "run", run_line(r));
    }
    for s in &report.skipped {
        let _ = writeln!(out, "  {s}");
    }
    if let Some(note) = memory_note(&report.runs) {
        let _ = writeln!(out, "  {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_named_like_the_reference_files() {
        assert_eq!(size_name(1_000_000), "1m");
        assert_eq!(size_name(10_000), "10k");
        assert_eq!(size_name(2_500), "2500");
        assert_eq!(size_name(0), "0");
    }

    #[test]
    fn proc_lines_are_read_in_kb() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(proc_kb("/proc/self/status", "VmRSS:").is_some_and(|kb| kb > 0));
        }
        assert_eq!(proc_kb("/no/such/file", "VmRSS:"), None);
    }

    #[test]
    fn the_spread_compares_the_dearest_and_cheapest_size() {
        let at = |records, ns| Figures {
            records,
            ns_per_message: ns,
            ..empty()
        };
        let s = spread(&[at(1, 100.0), at(2, 150.0), at(3, 125.0)], Sending::Paced).unwrap();
        assert_eq!(s.ratio, 1.5);
        assert_eq!(s.plus_minus_percent, 20.0);
        assert!(spread(&[at(1, 100.0)], Sending::Paced).is_none());
    }
}
