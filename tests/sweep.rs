//! `kafkasim sweep` and `check --seeds`: the summary against a hand computation over
//! `simulate` per seed; byte-identical whatever `--jobs`; shards merged equal the whole
//! sweep; failing seeds with commands that reproduce them; bad ranges, shards and merges
//! exit 2; no progress bar in a pipe; the determinism check finds where two runs part.
//!
//! `auto-commit` is the workhorse: its duplicates depend on the seed (network latencies
//! move the crash against the auto-commit timer), so its seeds both pass and fail.

use kafkasim::counters::Counter;
use kafkasim::scenario::{self, Scenario};
use kafkasim::sweep::{self, verify, SeedRange, Seeds, Shard};
use kafkasim::trace::{Tables, TraceEvent, TraceSink};
use kafkasim::{simulate, simulate_with};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kafkasim");
const AUTO_COMMIT: &str = "scenarios/auto-commit.yaml";
const CRASH: &str = "scenarios/crash-before-commit.yaml";

fn kafkasim(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

fn lesson(path: &str) -> Scenario {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    scenario::parse(&text).unwrap_or_else(|_| panic!("{path} loads"))
}

/// The lower median of `values`, by sorting them.
fn lower_median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[(values.len() - 1) / 2]
}

#[test]
fn the_tally_equals_a_hand_computation_over_simulate_per_seed() {
    let sc = lesson(AUTO_COMMIT);
    let range = SeedRange::parse("100..160").unwrap();
    let tally = sweep::run(&sc, Seeds::of(range, None), 2, &|_| {});
    let verdicts: Vec<(u64, _)> = (100..160).map(|s| (s, simulate(&sc, s).1)).collect();
    assert_eq!(tally.seeds, 60);
    for &c in Counter::ALL {
        let values: Vec<u64> = verdicts.iter().map(|(_, v)| v.totals.get(c)).collect();
        let st = tally.stats(c).unwrap();
        assert_eq!(st.min, *values.iter().min().unwrap(), "{}", c.name());
        assert_eq!(st.max, *values.iter().max().unwrap(), "{}", c.name());
        assert_eq!(st.median, lower_median(values.clone()), "{}", c.name());
        let with = values.iter().filter(|&&v| v > 0).count() as u64;
        assert_eq!(st.seeds_with, with, "{}", c.name());
    }
    let failing: Vec<&(u64, _)> = verdicts.iter().filter(|(_, v)| !v.pass).collect();
    assert!(
        !failing.is_empty() && failing.len() < 60,
        "auto-commit's outcome depends on the seed"
    );
    assert_eq!(tally.failed, failing.len() as u64);
    let kept: Vec<(u64, Vec<String>)> = tally
        .first_failing
        .iter()
        .map(|f| (f.seed, f.failed.clone()))
        .collect();
    let expected: Vec<(u64, Vec<String>)> = failing
        .iter()
        .take(sweep::FAILING_KEPT)
        .map(|(s, v)| {
            let missed = v.expectations.iter().filter(|e| !e.holds);
            (*s, missed.map(|e| e.describe()).collect())
        })
        .collect();
    assert_eq!(kept, expected);
    for (i, held) in tally.held.iter().enumerate() {
        let by_hand = verdicts
            .iter()
            .filter(|(_, v)| v.expectations[i].holds)
            .count() as u64;
        assert_eq!(*held, by_hand);
    }
}

#[test]
fn the_summary_is_byte_identical_whatever_the_jobs() {
    for format in ["text", "json"] {
        let args = |jobs| {
            let seeds = [
                "sweep",
                AUTO_COMMIT,
                "--seeds",
                "0..300",
                "--format",
                format,
            ];
            let mut a: Vec<&str> = seeds.to_vec();
            a.extend(["--jobs", jobs]);
            kafkasim(&a)
        };
        let (one, two, five) = (args("1"), args("2"), args("5"));
        assert_eq!(
            one.status.code(),
            Some(1),
            "auto-commit fails on some seeds"
        );
        assert!(!one.stdout.is_empty());
        assert_eq!(one.stdout, two.stdout, "{format}: --jobs 1 and 2");
        assert_eq!(one.stdout, five.stdout, "{format}: --jobs 1 and 5");
    }
}

#[test]
fn failing_seeds_are_listed_with_commands_that_reproduce_them() {
    let out = kafkasim(&["sweep", AUTO_COMMIT, "--seeds", "0..40", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["seeds"], 40);
    let failing = j["failing_seeds"].as_array().unwrap();
    assert!(!failing.is_empty() && failing.len() <= sweep::FAILING_KEPT);
    assert_eq!(
        j["failed"].as_u64().unwrap() + j["passed"].as_u64().unwrap(),
        40
    );
    for f in failing {
        let seed = f["seed"].as_u64().unwrap();
        let command = f["command"].as_str().unwrap();
        assert_eq!(command, format!("kafkasim run {AUTO_COMMIT} --seed {seed}"));
        // The command fails as the sweep said, with the same counts.
        let words: Vec<&str> = command.split(' ').skip(1).collect();
        let run = kafkasim(&words);
        assert_eq!(run.status.code(), Some(1), "{command}");
        let report = stdout(&run);
        for why in f["failed"].as_array().unwrap() {
            let why = why.as_str().unwrap();
            let (name, _) = why.split_once(" expected ").unwrap();
            assert!(report.contains(name), "{command}: {why}");
        }
    }
    // The text names them too, with the same commands.
    let text = stdout(&kafkasim(&["sweep", AUTO_COMMIT, "--seeds", "0..40"]));
    let first = failing[0]["seed"].as_u64().unwrap();
    assert!(text.contains(&format!(
        "  seed {first}: duplicate_deliveries expected >= 1 got 0"
    )));
    assert!(text.contains(&format!(
        "    reproduce: kafkasim run {AUTO_COMMIT} --seed {first}\n"
    )));
    assert!(text.contains(&format!("Expectations held on {} of 40 seeds", j["passed"])));
    let dup = &j["counters"]["duplicate_deliveries"]["seeds_with"];
    assert!(text.contains(&format!("  duplicate deliveries in {dup} of 40 seeds (")));
}

/// Runs the shards of `range` into JSON files in `dir`, one per shard.
fn shard_files(dir: &Path, range: &str, n: u64) -> Vec<String> {
    (0..n)
        .map(|k| {
            let shard = format!("{k}/{n}");
            let out = kafkasim(&[
                "sweep",
                AUTO_COMMIT,
                "--seeds",
                range,
                "--shard",
                &shard,
                "--format",
                "json",
            ]);
            assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
            let path = dir.join(format!("shard-{k}.json"));
            std::fs::write(&path, &out.stdout).unwrap();
            path.display().to_string()
        })
        .collect()
}

#[test]
fn shards_merged_equal_the_whole_sweep_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let files = shard_files(dir.path(), "10..260", 3);
    for format in ["text", "json"] {
        let whole = kafkasim(&[
            "sweep",
            AUTO_COMMIT,
            "--seeds",
            "10..260",
            "--format",
            format,
        ]);
        let mut args = vec!["sweep", "--format", format, "--merge"];
        // Any order.
        args.extend([&files[2], &files[0], &files[1]].map(String::as_str));
        let merged = kafkasim(&args);
        assert_eq!(
            merged.status.code(),
            whole.status.code(),
            "{}",
            stderr(&merged)
        );
        assert_eq!(stdout(&merged), stdout(&whole), "{format}");
    }
    // Merging in two steps gives the same.
    let partial = kafkasim(&["sweep", "--format", "json", "--merge", &files[0], &files[2]]);
    let j: serde_json::Value = serde_json::from_slice(&partial.stdout).unwrap();
    assert_eq!(j["shard"]["indices"], serde_json::json!([0, 2]));
    assert_eq!(j["command"], serde_json::Value::Null);
    let step = dir.path().join("partial.json");
    std::fs::write(&step, &partial.stdout).unwrap();
    let again = kafkasim(&["sweep", "--merge", &files[1], step.to_str().unwrap()]);
    let whole = kafkasim(&["sweep", AUTO_COMMIT, "--seeds", "10..260"]);
    assert_eq!(stdout(&again), stdout(&whole));
}

#[test]
fn a_shard_says_which_it_is_and_how_to_run_it_again() {
    let out = kafkasim(&["sweep", CRASH, "--seeds", "0..10", "--shard", "1/4"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    // Seeds 1, 5 and 9.
    assert!(text
        .starts_with("kafkasim sweep · crash-before-commit · seeds 0..10 · shard 1/4 · 3 seeds\n"));
    assert!(text.contains(&format!(
        "reproduce: kafkasim sweep {CRASH} --seeds 0..10 --shard 1/4\n"
    )));
}

#[test]
fn merges_that_do_not_fit_together_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = shard_files(dir.path(), "0..30", 2);
    let other = kafkasim(&[
        "sweep",
        AUTO_COMMIT,
        "--seeds",
        "0..31",
        "--shard",
        "1/2",
        "--format",
        "json",
    ]);
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, &other.stdout).unwrap();
    let three = kafkasim(&[
        "sweep",
        AUTO_COMMIT,
        "--seeds",
        "0..30",
        "--shard",
        "1/3",
        "--format",
        "json",
    ]);
    let three_path = dir.path().join("three.json");
    std::fs::write(&three_path, &three.stdout).unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"seeds\": 3}").unwrap();
    // A file whose histograms do not add up to its seeds.
    let mut forged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    forged["histograms"]["produced"] = serde_json::json!({"6": 1});
    let forged_path = dir.path().join("forged.json");
    std::fs::write(&forged_path, forged.to_string()).unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&[&files[0], &files[0]], "shard 0/2 is merged twice"),
        (
            &[&files[0], other_path.to_str().unwrap()],
            "the range of seeds differs",
        ),
        (
            &[&files[0], three_path.to_str().unwrap()],
            "split into 3 shards",
        ),
        (
            &[garbage.to_str().unwrap()],
            "not a sweep summary kafkasim can merge",
        ),
        (&[forged_path.to_str().unwrap()], "histograms: produced"),
    ];
    for (files, message) in cases {
        let mut args = vec!["sweep", "--merge"];
        args.extend(files);
        let out = kafkasim(&args);
        assert_eq!(out.status.code(), Some(2), "{files:?}");
        assert!(out.stdout.is_empty());
        assert!(
            stderr(&out).contains(message),
            "{files:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_merged_file_cannot_put_escape_codes_on_the_terminal() {
    let out = kafkasim(&["sweep", CRASH, "--seeds", "0..4", "--format", "json"]);
    let mut j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    j["title"] = "\u{1b}[2J\u{202e}cleared".into();
    j["expectations"][0]["name"] = "lost\u{7}".into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.json");
    std::fs::write(&path, j.to_string()).unwrap();
    let merged = kafkasim(&["sweep", "--merge", path.to_str().unwrap()]);
    assert_eq!(merged.status.code(), Some(0));
    let text = stdout(&merged);
    assert!(text.contains("\u{fffd}[2J\u{fffd}cleared"), "{text}");
    assert!(!text.contains(['\u{1b}', '\u{7}', '\u{202e}']));
}

#[test]
fn bad_ranges_shards_and_files_exit_2_with_a_message() {
    let cases: [(&[&str], &str); 9] = [
        (&["--seeds", "5..5"], "the range is empty"),
        (&["--seeds", "9..3"], "the range is empty"),
        (&["--seeds", "1000"], "expected a range A..B"),
        (&["--seeds", "a..b"], "whole numbers"),
        (&["--seeds", "0..20000000"], "at most 10000000"),
        (&["--seeds", "0..10", "--shard", "4/4"], "expected K/N"),
        (&["--seeds", "0..10", "--shard", "x"], "expected K/N"),
        (&["--seeds", "0..10", "--jobs", "0"], "--jobs"),
        (&["--seeds", "0..10", "--sample", "3"], "--verify"),
    ];
    for (flags, message) in cases {
        let mut args = vec!["sweep", CRASH];
        args.extend(flags);
        let out = kafkasim(&args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        assert!(out.stdout.is_empty(), "{flags:?}");
        assert!(
            stderr(&out).contains(message),
            "{flags:?}: {}",
            stderr(&out)
        );
    }
    let missing = kafkasim(&["sweep", "no-such-lesson", "--seeds", "0..3"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no such file"));
    let bad = kafkasim(&["sweep", "tests/bad/bad-acks.yaml", "--seeds", "0..3"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).starts_with("tests/bad/bad-acks.yaml:"));
}

#[test]
fn no_progress_bar_is_drawn_when_stderr_is_a_pipe() {
    let out = kafkasim(&["sweep", CRASH, "--seeds", "0..500"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stderr(&out),
        "",
        "a passing sweep in a pipe writes nothing to stderr"
    );
    assert!(!stdout(&out).contains('\r') && !stdout(&out).contains('\u{1b}'));
}

#[test]
fn check_seeds_passes_a_lesson_that_holds_on_every_seed_and_fails_one_that_does_not() {
    let out = kafkasim(&["check", CRASH, "--seeds", "0..50"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        format!("PASS  {CRASH}  (4 expectations on 50 seeds 0..50)\n1 passed, 0 failed\n")
    );
    let out = kafkasim(&[
        "check",
        CRASH,
        AUTO_COMMIT,
        "--seeds",
        "0..50",
        "--jobs",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let sc = lesson(AUTO_COMMIT);
    let failing: Vec<u64> = (0..50).filter(|&s| !simulate(&sc, s).1.pass).collect();
    let first = failing[0];
    let line = text.lines().find(|l| l.starts_with("FAIL")).unwrap();
    assert!(
        line.starts_with(&format!(
            "FAIL  {AUTO_COMMIT}  on {} of 50 seeds 0..50; seed {first}: duplicate_deliveries expected >= 1 got 0",
            failing.len()
        )),
        "{line}"
    );
    assert!(line.contains(&format!(
        "reproduce: kafkasim run {AUTO_COMMIT} --seed {first}"
    )));
    assert!(text.ends_with("1 passed, 1 failed\n"));
    // Without --seeds, check runs each file's own seed, as always.
    let plain = kafkasim(&["check", AUTO_COMMIT]);
    assert_eq!(plain.status.code(), Some(0));
    // --seeds goes with plain check only.
    let golden = kafkasim(&["check", CRASH, "--seeds", "0..5", "--golden", "g"]);
    assert_eq!(golden.status.code(), Some(2));
    let bad = kafkasim(&["check", CRASH, "--seeds", "3..1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("the range is empty"));
}

#[test]
fn verify_reruns_a_sample_and_finds_every_pair_identical() {
    let out = kafkasim(&[
        "sweep", CRASH, "--seeds", "0..100", "--verify", "--sample", "4", "--format", "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = j["verify"].as_array().unwrap();
    let seeds: Vec<u64> = checks.iter().map(|c| c["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds, [0, 25, 50, 75]);
    for c in checks {
        assert_eq!(c["identical"], true);
        assert_eq!(c["hashes"][0], c["hashes"][1]);
        assert_eq!(c["parted_at"], serde_json::Value::Null);
    }
    // Seeds differ, so their traces do.
    assert_ne!(checks[0]["hashes"][0], checks[1]["hashes"][0]);
}

/// Every record's encoding, in order, as `verify` encodes them.
struct Encoded<'s>(&'s Scenario, Vec<String>);

impl TraceSink for Encoded<'_> {
    fn record(&mut self, t: &Tables, ev: &TraceEvent) {
        self.1.push(verify::encode(self.0, t, ev));
    }
}

fn encoded(sc: &Scenario, seed: u64) -> Vec<String> {
    let mut e = Encoded(sc, Vec::new());
    simulate_with(sc, seed, &mut e);
    e.1
}

#[test]
fn verify_names_the_first_record_where_two_runs_part() {
    let sc = lesson(AUTO_COMMIT);
    // A deliberately non-deterministic runner: its second call runs another seed.
    let calls = std::sync::atomic::AtomicU64::new(0);
    let runner = |seed: u64, sink: &mut dyn TraceSink| {
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        simulate_with(&sc, seed + n, sink);
    };
    let check = verify::check_seed(&sc, 3, &runner);
    assert!(!check.identical());
    let (a, b) = (encoded(&sc, 3), encoded(&sc, 4));
    let first_diff = a.iter().zip(&b).position(|(x, y)| x != y).unwrap();
    let p = check.parting.expect("the runs part");
    assert_eq!(p.record, first_diff as u64 + 1);
    let both = [p.first.unwrap().text, p.second.unwrap().text];
    // Which call ran first is up to the threads; the pair is the two seeds' records.
    let mut expected = [a[first_diff].clone(), b[first_diff].clone()];
    let mut got = both.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    let hash = |lines: &[String]| {
        let all: String = lines.iter().map(|l| format!("{l}\n")).collect();
        verify::fnv1a(all.as_bytes())
    };
    let mut hashes = check.hashes;
    hashes.sort();
    let mut by_hand = [hash(&a), hash(&b)];
    by_hand.sort();
    assert_eq!(hashes, by_hand);

    // The same seed twice: identical, and the hash is FNV-1a over every encoding.
    let same = verify::check_seed(&sc, 3, &|seed, sink| {
        simulate_with(&sc, seed, sink);
    });
    assert!(same.identical());
    assert_eq!(same.hashes, [hash(&a), hash(&a)]);
    assert_eq!(same.records, [a.len() as u64; 2]);
}

/// Passes on every record but the last `drop_last` of a run of `total` records.
struct Truncated<'a> {
    inner: &'a mut dyn TraceSink,
    seen: usize,
    keep: usize,
}

impl TraceSink for Truncated<'_> {
    fn record(&mut self, t: &Tables, ev: &TraceEvent) {
        self.seen += 1;
        if self.seen <= self.keep {
            self.inner.record(t, ev);
        }
    }
}

#[test]
fn verify_notices_a_run_that_stops_short() {
    let sc = lesson(CRASH);
    let total = encoded(&sc, 8).len();
    let calls = std::sync::atomic::AtomicU64::new(0);
    let runner = |seed: u64, sink: &mut dyn TraceSink| {
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let keep = if n == 0 { total } else { total - 1 };
        simulate_with(
            &sc,
            seed,
            Truncated {
                inner: sink,
                seen: 0,
                keep,
            },
        );
    };
    let check = verify::check_seed(&sc, 8, &runner);
    let p = check.parting.expect("one trace is a record short");
    assert_eq!(p.record, total as u64);
    assert!(p.first.is_some() != p.second.is_some(), "one run had ended");
    let mut records = check.records;
    records.sort();
    assert_eq!(records, [total as u64 - 1, total as u64]);
}

#[test]
fn shard_and_sample_pick_the_documented_seeds() {
    let range = SeedRange::parse("3..=12").unwrap();
    let s = Seeds::of(range, Some(Shard { index: 1, count: 4 }));
    let got: Vec<u64> = (0..s.len()).map(|i| s.get(i)).collect();
    assert_eq!(got, [5, 9]);
    let all = Seeds::of(SeedRange::parse("0..100").unwrap(), None);
    assert_eq!(all.sample(4), [0, 25, 50, 75]);
    assert_eq!(all.sample(1000).len(), 100);
}

/// "The duplicate shows up in N% of runs; here is the seed of the first": each counter's
/// first seed above zero is the lowest seed whose own run has it, on the chaos lesson
/// whose crash each seed draws, and in the JSON too.
#[test]
fn each_outcome_names_the_first_seed_that_shows_it() {
    let sc = lesson("scenarios/chaos-crash-point.yaml");
    let first = (20..80)
        .find(|&seed| simulate(&sc, seed).1.totals.get(Counter::DuplicateEffects) > 0)
        .expect("some seed of 20..80 charges an order twice");
    let out = kafkasim(&[
        "sweep",
        "scenarios/chaos-crash-point.yaml",
        "--seeds",
        "20..80",
    ]);
    let text = stdout(&out);
    let line = text
        .lines()
        .skip_while(|l| !l.starts_with("  duplicate effects in "))
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        line,
        format!("    the first: kafkasim run scenarios/chaos-crash-point.yaml --seed {first}")
    );
    let json = kafkasim(&[
        "sweep",
        "scenarios/chaos-crash-point.yaml",
        "--seeds",
        "20..80",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["counters"]["duplicate_effects"]["first_seed"], first);
    assert_eq!(
        doc["counters"]["lost"]["first_seed"],
        serde_json::Value::Null
    );
}
