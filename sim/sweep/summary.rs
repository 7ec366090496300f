//! A sweep's summary: the tally with what names it (scenario, file, range, shards), written
//! as text or JSON, read back from JSON, and merged from shards.
//!
//! The JSON carries the whole tally (`histograms`: every value each counter took, with its
//! seeds), so shards' files merge into exactly the summary one sweep of the whole range
//! would print. Every string printed as text is made terminal-safe, since a merged file is
//! input like any other.

use super::verify::{fnv1a, SeedCheck};
use super::{Failing, SeedRange, Seeds, Shard, Tally, FAILING_KEPT, MAX_SHARDS};
use crate::counters::Counter;
use crate::diag::one_line;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The counters whose being above zero is an anomaly or a loss a lesson is about: the
/// "Outcomes" lines count the seeds where each was.
pub const OUTCOME_COUNTERS: &[Counter] = &[
    Counter::DuplicateDeliveries,
    Counter::DuplicateEffects,
    Counter::Lost,
    Counter::KeyOrderViolations,
    Counter::SkippedOffsets,
    Counter::CommittedWithoutEvent,
    Counter::PublishedDuplicates,
    Counter::OrdersNotApplied,
    Counter::OrdersAppliedTwice,
    Counter::SendFailed,
    Counter::UnackedLost,
    Counter::SkippedByReset,
    Counter::UnprocessedAtEnd,
    Counter::CommandsRefused,
    Counter::InFlightAtEnd,
    Counter::AckedLost,
    Counter::RejectedNotEnoughReplicas,
    Counter::LogDuplicates,
    Counter::LogReorders,
    Counter::KeySplits,
    Counter::SkippedByRetention,
    Counter::PollTimeouts,
    Counter::NoOffsetErrors,
    Counter::SkippedBySeek,
];

/// Which shards of a range a summary covers (`--shard K/N`, or shards merged).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSet {
    /// N: the shards the range was split into.
    pub count: u64,
    /// The K of each shard covered, ascending.
    pub indices: Vec<u64>,
}

/// One `expect:` entry as the summary names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectationLine {
    /// The key as the file spells it: `lost`, `billing.lost`.
    pub name: String,
    /// `>= 1`, `0`, …
    pub condition: String,
}

/// A sweep's tally and what it is a tally of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The kafkasim version that ran the seeds: another may run them differently.
    pub version: String,
    /// The scenario's `name` and `title`.
    pub scenario: String,
    pub title: String,
    /// FILE as given to `sweep`, as one shell word: what the commands name.
    pub file: String,
    /// FNV-1a 64 of the scenario's text, so that shards of different files never merge.
    pub source_fnv1a: u64,
    pub range: SeedRange,
    /// None: every seed of the range.
    pub shard: Option<ShardSet>,
    pub expectations: Vec<ExpectationLine>,
    pub tally: Tally,
}

impl Summary {
    /// The summary of `tally`, a sweep of `sc` (read from `source`, given as `file`, a
    /// shell word) over `range`, or one shard of it.
    pub fn new(
        sc: &Scenario,
        source: &str,
        file: &str,
        range: SeedRange,
        shard: Option<Shard>,
        tally: Tally,
    ) -> Summary {
        Summary {
            version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: sc.name.clone(),
            title: sc.title.clone(),
            file: file.to_string(),
            source_fnv1a: fnv1a(source.as_bytes()),
            range,
            shard: shard.filter(|s| s.count > 1).map(|s| ShardSet {
                count: s.count,
                indices: vec![s.index],
            }),
            expectations: sc
                .expect
                .iter()
                .map(|e| ExpectationLine {
                    name: e.name.clone(),
                    condition: e.condition.to_string(),
                })
                .collect(),
            tally,
        }
    }

    /// The command that runs this sweep again; None for several shards merged but not all.
    pub fn reproduce(&self) -> Option<String> {
        let whole = format!("kafkasim sweep {} --seeds {}", self.file, self.range);
        match &self.shard {
            None => Some(whole),
            Some(s) if s.indices.len() == 1 => {
                Some(format!("{whole} --shard {}/{}", s.indices[0], s.count))
            }
            Some(_) => None,
        }
    }

    /// The command that runs one seed.
    pub fn seed_command(&self, seed: u64) -> String {
        format!("kafkasim run {} --seed {seed}", self.file)
    }

    /// Exit code: 0 every seed passed, 1 some seed failed an expectation, 3 some run
    /// panicked (a bug in kafkasim).
    pub fn exit_code(&self) -> u8 {
        if self.tally.panicked > 0 {
            3
        } else if self.tally.failed > 0 {
            1
        } else {
            0
        }
    }
}

/// `n` of `of` as a percentage with one decimal, rounded down (never 100.0% unless all,
/// and `<0.1%` rather than 0.0% for a few).
pub fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        return "-".to_string();
    }
    let per_mille = u128::from(n) * 1000 / u128::from(of);
    if n > 0 && per_mille == 0 {
        return "<0.1%".to_string();
    }
    format!("{}.{}%", per_mille / 10, per_mille % 10)
}

/// The text summary (README "Sweeps").
pub fn text(s: &Summary) -> String {
    let mut o = String::new();
    let t = &s.tally;
    let shard = match &s.shard {
        None => String::new(),
        Some(set) => format!(" · {}", shards_phrase(set)),
    };
    let _ = writeln!(
        o,
        "kafkasim sweep · {} · seeds {}{shard} · {} seeds",
        one_line(&s.scenario),
        s.range,
        t.seeds
    );
    let _ = writeln!(o, "{}", one_line(&s.title));
    if let Some(r) = s.reproduce() {
        let _ = writeln!(o, "reproduce: {}", one_line(&r));
    }
    outcomes(&mut o, s);
    counters(&mut o, t);
    expectations(&mut o, s);
    failing(&mut o, s);
    o
}

fn shards_phrase(set: &ShardSet) -> String {
    let list: Vec<String> = set.indices.iter().map(u64::to_string).collect();
    if list.len() == 1 {
        format!("shard {}/{}", list[0], set.count)
    } else {
        format!("shards {} of {}", list.join(", "), set.count)
    }
}

fn outcomes(o: &mut String, s: &Summary) {
    let t = &s.tally;
    let _ = writeln!(o, "\nOutcomes");
    if t.panicked > 0 {
        let _ = writeln!(
            o,
            "  kafkasim panicked in {} of {} seeds ({}): a bug in kafkasim; the failing seeds below reproduce it",
            t.panicked,
            t.seeds,
            percent(t.panicked, t.seeds)
        );
    }
    let mut any = false;
    for &c in OUTCOME_COUNTERS {
        let Some(st) = t.stats(c).filter(|st| st.seeds_with > 0) else {
            continue;
        };
        any = true;
        let _ = writeln!(
            o,
            "  {} in {} of {} seeds ({})",
            c.name().replace('_', " "),
            st.seeds_with,
            t.seeds,
            percent(st.seeds_with, t.seeds)
        );
        if let Some(first) = t.first_with[c as usize] {
            let _ = writeln!(o, "    the first: {}", s.seed_command(first));
        }
    }
    let none = if any {
        "  no other anomaly counter was above zero on any seed"
    } else {
        "  no anomaly counter was above zero on any seed"
    };
    let _ = writeln!(o, "{none}");
}

fn counters(o: &mut String, t: &Tally) {
    let ran = t.seeds - t.panicked;
    if t.seeds == 0 {
        let _ = writeln!(
            o,
            "\nCounters: no seeds (this shard of the range holds none)"
        );
        return;
    }
    if ran == 0 {
        let _ = writeln!(o, "\nCounters: no seed ran to the end");
        return;
    }
    let _ = writeln!(
        o,
        "\nCounters over {ran} seeds (median: the lower middle value)"
    );
    let rows: Vec<(Counter, super::Stats)> = Counter::ALL
        .iter()
        .filter_map(|&c| t.stats(c).map(|st| (c, st)))
        .collect();
    let shown: Vec<&(Counter, super::Stats)> = rows.iter().filter(|(_, st)| st.max > 0).collect();
    let name_w = shown
        .iter()
        .map(|(c, _)| c.name().len())
        .max()
        .unwrap_or(0)
        .max("counter".len());
    let num_w = shown
        .iter()
        .map(|(_, st)| st.max.to_string().len())
        .max()
        .unwrap_or(0)
        .max("median".len());
    if !shown.is_empty() {
        let _ = writeln!(
            o,
            "  {:<name_w$} {:>num_w$} {:>num_w$} {:>num_w$} {:>10}",
            "counter", "min", "median", "max", "seeds_with"
        );
    }
    for (c, st) in &shown {
        let _ = writeln!(
            o,
            "  {:<name_w$} {:>num_w$} {:>num_w$} {:>num_w$} {:>10}",
            c.name(),
            st.min,
            st.median,
            st.max,
            st.seeds_with
        );
    }
    let zeros: Vec<&str> = rows
        .iter()
        .filter(|(_, st)| st.max == 0)
        .map(|(c, _)| c.name())
        .collect();
    if !zeros.is_empty() {
        wrapped(o, "0 on every seed: ", &zeros);
    }
}

/// `head` and the words, comma-separated, wrapped at 92 columns with a two-space indent.
fn wrapped(o: &mut String, head: &str, words: &[&str]) {
    let mut line = format!("  {head}");
    for (i, w) in words.iter().enumerate() {
        let piece = if i + 1 < words.len() {
            format!("{w},")
        } else {
            w.to_string()
        };
        if line.len() + 1 + piece.len() > 92 && line.trim_end().len() > 2 {
            let _ = writeln!(o, "{}", line.trim_end());
            line = "    ".to_string();
        } else if !line.ends_with(' ') {
            line.push(' ');
        }
        line.push_str(&piece);
    }
    let _ = writeln!(o, "{line}");
}

fn expectations(o: &mut String, s: &Summary) {
    let t = &s.tally;
    if s.expectations.is_empty() {
        let _ = writeln!(
            o,
            "\nExpectations: none (the scenario has no expect: block)"
        );
        if t.panicked > 0 {
            let _ = writeln!(o, "  every seed passed but those that panicked");
        }
        return;
    }
    let _ = writeln!(
        o,
        "\nExpectations held on {} of {} seeds ({})",
        t.passed(),
        t.seeds,
        percent(t.passed(), t.seeds)
    );
    for (e, held) in s.expectations.iter().zip(&t.held) {
        let _ = writeln!(
            o,
            "  {} expected {}: held on {held} of {} seeds",
            one_line(&e.name),
            one_line(&e.condition),
            t.seeds
        );
    }
}

fn failing(o: &mut String, s: &Summary) {
    let t = &s.tally;
    if t.failed == 0 {
        let _ = writeln!(o, "\nFailing seeds: none");
        return;
    }
    let _ = writeln!(
        o,
        "\nFailing seeds: {} (the first {} by seed)",
        t.failed,
        t.first_failing.len()
    );
    for f in &t.first_failing {
        let _ = writeln!(
            o,
            "  seed {}: {}\n    reproduce: {}",
            f.seed,
            one_line(&f.failed.join("; ")),
            one_line(&s.seed_command(f.seed))
        );
    }
}

/// The `--verify` section of the text output.
pub fn verify_text(checks: &[SeedCheck]) -> String {
    let mut o = String::new();
    let same = checks.iter().filter(|c| c.identical()).count();
    let _ = writeln!(
        o,
        "\nVerify: {} seeds, each run twice more and its traces compared: {} identical, {} differ",
        checks.len(),
        same,
        checks.len() - same
    );
    let _ = writeln!(
        o,
        "  trace hash: FNV-1a 64 over each record's JSONL line and Debug form"
    );
    for c in checks {
        let _ = write!(
            o,
            "  seed {:<20} {:016x}  {} records",
            c.seed, c.hashes[0], c.records[0]
        );
        if c.identical() {
            let _ = writeln!(o, "  identical");
            continue;
        }
        let _ = writeln!(
            o,
            "  DIFFER: second run {:016x}, {} records",
            c.hashes[1], c.records[1]
        );
        if let Some(p) = &c.panicked {
            let _ = writeln!(o, "    a run panicked: {}", one_line(p));
        }
        if let Some(p) = &c.parting {
            let at = p
                .first
                .as_ref()
                .or(p.second.as_ref())
                .map_or(0, |r| r.at_ms);
            let _ = writeln!(o, "    the runs part at record {} (t={at} ms)", p.record);
            for (who, r) in [("first run: ", &p.first), ("second run:", &p.second)] {
                let text = r
                    .as_ref()
                    .map_or("(its trace had ended)".to_string(), |r| one_line(&r.text));
                let _ = writeln!(o, "    {who} {text}");
            }
        }
    }
    o
}

/// `serde` writes a map in the order its entries come: the counters in `Counter::ALL`
/// order, a histogram's values ascending.
struct Ordered<T, K = &'static str>(Vec<(K, T)>);

impl<T: Serialize, K: Serialize> Serialize for Ordered<T, K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[derive(Serialize)]
struct StatsOut {
    min: Option<u64>,
    median: Option<u64>,
    max: Option<u64>,
    seeds_with: u64,
    /// The lowest seed where it was above zero (null: none).
    first_seed: Option<u64>,
}

/// What `--merge` reads back of a counter besides its histogram.
#[derive(Deserialize)]
struct CounterIn {
    first_seed: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct ExpectationOut {
    name: String,
    condition: String,
    /// Seeds it held on.
    held: u64,
}

#[derive(Serialize)]
struct FailingOut<'a> {
    seed: u64,
    failed: &'a [String],
    command: String,
}

#[derive(Deserialize)]
struct FailingIn {
    seed: u64,
    failed: Vec<String>,
}

#[derive(Serialize)]
struct RecordOut<'a> {
    t_ms: u64,
    text: &'a str,
}

#[derive(Serialize)]
struct PartingOut<'a> {
    record: u64,
    first: Option<RecordOut<'a>>,
    second: Option<RecordOut<'a>>,
}

#[derive(Serialize)]
struct VerifyOut<'a> {
    seed: u64,
    identical: bool,
    hashes: [String; 2],
    records: [u64; 2],
    parted_at: Option<PartingOut<'a>>,
    panicked: Option<&'a str>,
}

/// The JSON document, in the order a reader wants: what ran, the outcome, the detail.
#[derive(Serialize)]
struct Out<'a> {
    kafkasim: &'a str,
    scenario: &'a str,
    title: &'a str,
    file: &'a str,
    scenario_fnv1a: String,
    range: String,
    shard: Option<&'a ShardSet>,
    command: Option<String>,
    seeds: u64,
    passed: u64,
    failed: u64,
    panicked: u64,
    expectations: Vec<ExpectationOut>,
    counters: Ordered<StatsOut>,
    failing_seeds: Vec<FailingOut<'a>>,
    histograms: Ordered<Ordered<u64, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<Vec<VerifyOut<'a>>>,
}

/// What `--merge` reads back: every field that the tally cannot be rebuilt without.
#[derive(Deserialize)]
struct In {
    kafkasim: String,
    scenario: String,
    title: String,
    file: String,
    scenario_fnv1a: String,
    range: String,
    shard: Option<ShardSet>,
    seeds: u64,
    failed: u64,
    panicked: u64,
    expectations: Vec<ExpectationOut>,
    failing_seeds: Vec<FailingIn>,
    counters: BTreeMap<String, CounterIn>,
    histograms: BTreeMap<String, BTreeMap<String, u64>>,
}

/// The JSON document (README "Sweeps"), pretty-printed, with `verify`'s results when given.
pub fn json(s: &Summary, verify: Option<&[SeedCheck]>) -> String {
    let t = &s.tally;
    let out = Out {
        kafkasim: &s.version,
        scenario: &s.scenario,
        title: &s.title,
        file: &s.file,
        scenario_fnv1a: format!("{:016x}", s.source_fnv1a),
        range: s.range.to_string(),
        shard: s.shard.as_ref(),
        command: s.reproduce(),
        seeds: t.seeds,
        passed: t.passed(),
        failed: t.failed,
        panicked: t.panicked,
        expectations: s
            .expectations
            .iter()
            .zip(&t.held)
            .map(|(e, &held)| ExpectationOut {
                name: e.name.clone(),
                condition: e.condition.clone(),
                held,
            })
            .collect(),
        counters: Ordered(
            Counter::ALL
                .iter()
                .map(|&c| {
                    let st = t.stats(c);
                    let stats = StatsOut {
                        min: st.map(|s| s.min),
                        median: st.map(|s| s.median),
                        max: st.map(|s| s.max),
                        seeds_with: st.map_or(0, |s| s.seeds_with),
                        first_seed: t.first_with[c as usize],
                    };
                    (c.name(), stats)
                })
                .collect(),
        ),
        failing_seeds: t
            .first_failing
            .iter()
            .map(|f| FailingOut {
                seed: f.seed,
                failed: &f.failed,
                command: s.seed_command(f.seed),
            })
            .collect(),
        histograms: Ordered(
            Counter::ALL
                .iter()
                .map(|&c| {
                    let pairs = t.values[c as usize].iter();
                    let pairs = pairs.map(|(&v, &n)| (v.to_string(), n)).collect();
                    (c.name(), Ordered(pairs))
                })
                .collect(),
        ),
        verify: verify.map(|checks| checks.iter().map(verify_out).collect()),
    };
    let mut text = serde_json::to_string_pretty(&out).expect("a summary always serializes");
    text.push('\n');
    text
}

fn verify_out(c: &SeedCheck) -> VerifyOut<'_> {
    fn record(r: &Option<super::verify::Record>) -> Option<RecordOut<'_>> {
        r.as_ref().map(|r| RecordOut {
            t_ms: r.at_ms,
            text: &r.text,
        })
    }
    VerifyOut {
        seed: c.seed,
        identical: c.identical(),
        hashes: c.hashes.map(|h| format!("{h:016x}")),
        records: c.records,
        parted_at: c.parting.as_ref().map(|p| PartingOut {
            record: p.record,
            first: record(&p.first),
            second: record(&p.second),
        }),
        panicked: c.panicked.as_deref(),
    }
}

/// Reads a sweep's JSON (`name` is the file, for messages). Refuses, with one line, a file
/// that is not JSON, lacks a field, was written by another kafkasim version, or does not
/// add up (histograms against seeds, seeds against range and shards, failing seeds).
pub fn from_json(name: &str, text: &str) -> Result<Summary, String> {
    let shown = one_line(name);
    let bad = |why: String| format!("{shown}: not a sweep summary kafkasim can merge: {why}");
    let i: In = serde_json::from_str(text).map_err(|e| bad(one_line(&e.to_string())))?;
    let version = env!("CARGO_PKG_VERSION");
    if i.kafkasim != version {
        return Err(format!(
            "{shown}: written by kafkasim {}; this is kafkasim {version}, whose runs may differ: sweep again with one version",
            one_line(&i.kafkasim)
        ));
    }
    let range = SeedRange::parse(&i.range).map_err(|e| bad(format!("range: {e}")))?;
    let source_fnv1a = u64::from_str_radix(&i.scenario_fnv1a, 16)
        .ok()
        .filter(|_| i.scenario_fnv1a.len() == 16)
        .ok_or_else(|| bad("scenario_fnv1a is not 16 hex digits".into()))?;
    let shard = check_shard(i.shard).map_err(bad)?;
    let tally = tally_in(
        &i.histograms,
        i.seeds,
        i.failed,
        i.panicked,
        &i.expectations,
    )
    .map_err(bad)?;
    let summary = Summary {
        version: i.kafkasim,
        scenario: i.scenario,
        title: i.title,
        file: i.file,
        source_fnv1a,
        range,
        shard,
        expectations: i
            .expectations
            .iter()
            .map(|e| ExpectationLine {
                name: e.name.clone(),
                condition: e.condition.clone(),
            })
            .collect(),
        tally: Tally {
            first_failing: failing_in(i.failing_seeds, i.failed).map_err(bad)?,
            first_with: Counter::ALL
                .iter()
                .map(|c| i.counters.get(c.name()).and_then(|k| k.first_seed))
                .collect(),
            ..tally
        },
    };
    check_seeds(&summary).map_err(bad)?;
    Ok(summary)
}

fn check_shard(shard: Option<ShardSet>) -> Result<Option<ShardSet>, String> {
    let Some(s) = shard else {
        return Ok(None);
    };
    let ascending = s.indices.windows(2).all(|w| w[0] < w[1]);
    if s.count < 2 || s.count > MAX_SHARDS || s.indices.is_empty() || !ascending {
        return Err(
            "shard: expected a count from 2 to 1000000 and indices in ascending order".into(),
        );
    }
    if s.indices.iter().any(|&k| k >= s.count) {
        return Err(format!(
            "shard: an index is not below the count {}",
            s.count
        ));
    }
    Ok(Some(s))
}

fn tally_in(
    histograms: &BTreeMap<String, BTreeMap<String, u64>>,
    seeds: u64,
    failed: u64,
    panicked: u64,
    expectations: &[ExpectationOut],
) -> Result<Tally, String> {
    if panicked > failed || failed > seeds {
        return Err("expected panicked <= failed <= seeds".into());
    }
    let mut tally = Tally::new(expectations.len());
    (tally.seeds, tally.failed, tally.panicked) = (seeds, failed, panicked);
    for (held, e) in tally.held.iter_mut().zip(expectations) {
        if e.held > seeds {
            return Err(format!(
                "expectation {}: held on more seeds than ran",
                one_line(&e.name)
            ));
        }
        *held = e.held;
    }
    if let Some(unknown) = histograms.keys().find(|k| Counter::from_name(k).is_none()) {
        return Err(format!(
            "histograms: no counter is named {}",
            one_line(unknown)
        ));
    }
    for &c in Counter::ALL {
        let pairs = histograms
            .get(c.name())
            .ok_or_else(|| format!("histograms: {} is missing", c.name()))?;
        let values: Option<BTreeMap<u64, u64>> = pairs
            .iter()
            .map(|(v, &n)| Some((canonical_u64(v)?, n)).filter(|_| n > 0))
            .collect();
        let counted = values
            .as_ref()
            .and_then(|vs| vs.values().try_fold(0u64, |sum, &n| sum.checked_add(n)));
        match values {
            Some(vs) if counted == Some(seeds - panicked) => tally.values[c as usize] = vs,
            _ => {
                return Err(format!(
                    "histograms: {} must map each value (a whole number) to its seeds (above 0), adding up to {}",
                    c.name(),
                    seeds - panicked
                ))
            }
        }
    }
    Ok(tally)
}

/// A whole number written as `u64::to_string` writes it: digits, no leading zero.
fn canonical_u64(s: &str) -> Option<u64> {
    s.parse::<u64>().ok().filter(|v| v.to_string() == s)
}

fn failing_in(list: Vec<FailingIn>, failed: u64) -> Result<Vec<Failing>, String> {
    let expected = (FAILING_KEPT as u64).min(failed) as usize;
    let ascending = list.windows(2).all(|w| w[0].seed < w[1].seed);
    if list.len() != expected || !ascending || list.iter().any(|f| f.failed.is_empty()) {
        return Err(format!(
            "failing_seeds: expected the first {expected} failing seeds, ascending, each with what failed"
        ));
    }
    Ok(list
        .into_iter()
        .map(|f| Failing {
            seed: f.seed,
            failed: f.failed,
        })
        .collect())
}

/// The seeds counted are those of the range in the shards, and the failing seeds are among them.
fn check_seeds(s: &Summary) -> Result<(), String> {
    let shards: Vec<Option<Shard>> = match &s.shard {
        None => vec![None],
        Some(set) => set
            .indices
            .iter()
            .map(|&index| {
                Some(Shard {
                    index,
                    count: set.count,
                })
            })
            .collect(),
    };
    let seeds: u64 = shards.iter().map(|&sh| Seeds::of(s.range, sh).len()).sum();
    if seeds != s.tally.seeds {
        return Err(format!(
            "seeds is {}, but the range and shards hold {seeds}",
            s.tally.seeds
        ));
    }
    let covered = |seed: u64| {
        (s.range.start..=s.range.last()).contains(&seed)
            && s.shard
                .as_ref()
                .is_none_or(|set| set.indices.contains(&(seed % set.count)))
    };
    if let Some(f) = s.tally.first_failing.iter().find(|f| !covered(f.seed)) {
        return Err(format!("failing seed {} is not one this sweep ran", f.seed));
    }
    // A first seed for each counter some seed had above zero, and one this sweep ran.
    for (&c, first) in Counter::ALL.iter().zip(&s.tally.first_with) {
        let above = s.tally.stats(c).is_some_and(|st| st.seeds_with > 0);
        match *first {
            Some(seed) if !above || !covered(seed) => {
                return Err(format!(
                "counters: {}'s first_seed {seed} is not a seed this sweep ran with it above zero",
                c.name()
            ))
            }
            None if above => {
                return Err(format!("counters: {} has no first_seed", c.name()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Merges shards of one sweep: same kafkasim, scenario, file and range, each shard once.
/// `parts` are (file name, summary) in any order; the result is the summary of all their
/// seeds, with no shard when every shard is there (byte for byte the unsharded sweep's).
pub fn merge(parts: Vec<(String, Summary)>) -> Result<Summary, String> {
    let mut parts = parts.into_iter();
    let (first_name, mut total) = parts.next().ok_or("--merge needs at least one file")?;
    let first_name = one_line(&first_name);
    let mut set = total.shard.take().unwrap_or(ShardSet {
        count: 1,
        indices: vec![0],
    });
    for (name, s) in parts {
        let name = one_line(&name);
        let same = [
            (
                "scenario",
                total.scenario == s.scenario && total.title == s.title,
            ),
            ("scenario text", total.source_fnv1a == s.source_fnv1a),
            ("file", total.file == s.file),
            ("range of seeds", total.range == s.range),
            ("expect: block", total.expectations == s.expectations),
        ];
        if let Some((what, _)) = same.iter().find(|(_, ok)| !ok) {
            return Err(format!(
                "{name}: not a shard of the same sweep as {first_name}: the {what} differs"
            ));
        }
        let theirs = s.shard.clone().unwrap_or(ShardSet {
            count: 1,
            indices: vec![0],
        });
        if theirs.count != set.count {
            return Err(format!(
                "{name}: split into {} shards, {first_name} into {}: merge shards of one split",
                theirs.count, set.count
            ));
        }
        if let Some(k) = theirs.indices.iter().find(|k| set.indices.contains(k)) {
            return Err(format!(
                "{name}: shard {k}/{} is merged twice (it is in an earlier file too)",
                set.count
            ));
        }
        set.indices.extend(&theirs.indices);
        set.indices.sort_unstable();
        total.tally.merge(s.tally);
    }
    total.shard = (set.indices.len() as u64 != set.count).then_some(set);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(shard: Option<ShardSet>, seeds: &[u64]) -> Summary {
        let mut tally = Tally::new(1);
        for &seed in seeds {
            if seed % 3 == 0 {
                tally.add(seed, Err(format!("boom {seed}")));
            } else {
                tally.seeds += 1;
                tally.held[0] += seed % 2;
                for (i, values) in tally.values.iter_mut().enumerate() {
                    let value = seed * i as u64 % 7;
                    *values.entry(value).or_default() += 1;
                    if value > 0 && tally.first_with[i].is_none_or(|f| seed < f) {
                        tally.first_with[i] = Some(seed);
                    }
                }
            }
        }
        Summary {
            version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: "s".into(),
            title: "t".into(),
            file: "'my file.yaml'".into(),
            source_fnv1a: 0xfeed,
            range: SeedRange::parse("0..40").unwrap(),
            shard,
            expectations: vec![ExpectationLine {
                name: "lost".into(),
                condition: "0".into(),
            }],
            tally,
        }
    }

    #[test]
    fn a_summary_reads_back_from_its_json_exactly() {
        let whole = summary(None, &(0..40).collect::<Vec<u64>>());
        let back = from_json("w.json", &json(&whole, None)).unwrap();
        assert_eq!(back, whole);
        let odd: Vec<u64> = (0..40).filter(|s| s % 2 == 1).collect();
        let set = ShardSet {
            count: 2,
            indices: vec![1],
        };
        let shard = summary(Some(set), &odd);
        assert_eq!(from_json("s.json", &json(&shard, None)).unwrap(), shard);
    }

    #[test]
    fn the_percentages_never_round_up_to_all_or_down_to_none() {
        assert_eq!(percent(372, 1000), "37.2%");
        assert_eq!(percent(9999, 10000), "99.9%");
        assert_eq!(percent(10000, 10000), "100.0%");
        assert_eq!(percent(1, 10000), "<0.1%");
        assert_eq!(percent(0, 10000), "0.0%");
    }
}
