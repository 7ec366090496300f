//! `kafkasim sweep`: one scenario run on many seeds in-process, its outcomes tallied into a
//! distribution (`Tally`). `summary.rs` turns a tally into text and JSON, reads a sweep's
//! JSON back and merges shards; `verify.rs` re-runs seeds and compares their traces.
//!
//! The scenario is parsed once; each seed runs with `simulate` on one thread, and the seeds
//! are handed out to `jobs` threads in blocks. Each thread tallies its own seeds, and the
//! tallies are merged at the end. Merging is commutative and exact (counts per value, the
//! lowest failing seeds), so the tally, and every byte printed from it, is the same whatever
//! the number of threads and whichever thread ran which seed. Nothing here reads a clock.
//!
//! Memory: a tally keeps, for each counter, how many seeds ended with each value it took
//! (one entry per distinct value, not per seed), and the first `FAILING_KEPT` failing seeds.

pub mod summary;
pub mod verify;

use crate::check::Verdict;
use crate::counters::Counter;
use crate::scenario::Scenario;
use crate::simulate;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Seeds one range may hold (`--seeds`): 10 million. It bounds a sweep's time and its
/// memory (at worst one tally entry per seed for a counter that differs on every seed).
pub const MAX_SEEDS: u64 = 10_000_000;
/// Threads a sweep may use (`--jobs`).
pub const MAX_JOBS: usize = 256;
/// Shards a range may be split into (`--shard K/N`).
pub const MAX_SHARDS: u64 = 1_000_000;
/// Failing seeds a tally keeps with what failed: the lowest, in seed order.
pub const FAILING_KEPT: usize = 10;
/// Seeds a thread takes at a time: small enough that threads finish together, large
/// enough that taking them costs nothing.
const BLOCK: u64 = 64;
/// The name every sweep thread's name starts with, so that a panic hook can tell a
/// seed's panic (reported with its seed) from any other.
pub const THREAD_NAME: &str = "kafkasim-sweep";

/// A range of seeds: `count` seeds from `start`. Spelled `A..B` (A to B−1, as Rust's
/// `..`) or `A..=B` (A to B).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    pub start: u64,
    /// 1 to `MAX_SEEDS`.
    pub count: u64,
}

impl SeedRange {
    /// Parses `A..B` or `A..=B`. Errors name the flag's value and say what is expected: not
    /// a range, an empty range, or more than `MAX_SEEDS` seeds.
    pub fn parse(text: &str) -> Result<SeedRange, String> {
        let shown = crate::diag::one_line(text);
        let (a, b, inclusive) = if let Some((a, b)) = text.split_once("..=") {
            (a, b, true)
        } else if let Some((a, b)) = text.split_once("..") {
            (a, b, false)
        } else {
            return Err(format!(
                "--seeds {shown}: expected a range A..B (the seeds A to B-1, e.g. 0..1000) or A..=B"
            ));
        };
        let number = |s: &str| -> Result<u64, String> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "--seeds {shown}: expected a range A..B of seeds, whole numbers from 0 to {}",
                    u64::MAX
                ));
            }
            s.parse::<u64>()
                .map_err(|_| format!("--seeds {shown}: a seed is at most {}", u64::MAX))
        };
        let (a, b) = (number(a)?, number(b)?);
        let count = if inclusive {
            (b >= a).then(|| u128::from(b - a) + 1)
        } else {
            (b > a).then(|| u128::from(b - a))
        };
        let Some(count) = count else {
            return Err(format!(
                "--seeds {shown}: the range is empty (A..B runs the seeds A to B-1; one seed is {a}..{} or {a}..={a})",
                a.saturating_add(1)
            ));
        };
        if count > u128::from(MAX_SEEDS) {
            return Err(format!(
                "--seeds {shown}: {count} seeds; a range may hold at most {MAX_SEEDS}"
            ));
        }
        Ok(SeedRange {
            start: a,
            count: count as u64,
        })
    }

    /// The last seed in the range.
    pub fn last(&self) -> u64 {
        self.start + (self.count - 1)
    }
}

/// `A..B`, or `A..=B` when B would not fit in a u64.
impl std::fmt::Display for SeedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.last().checked_add(1) {
            Some(end) => write!(f, "{}..{end}", self.start),
            None => write!(f, "{}..={}", self.start, self.last()),
        }
    }
}

/// `--shard K/N`: the seeds of the range whose remainder divided by N is K (0 ≤ K < N).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `K/N`, with 1 ≤ N ≤ `MAX_SHARDS` and 0 ≤ K < N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let shown = crate::diag::one_line(text);
        let usage = || {
            format!(
                "--shard {shown}: expected K/N, shard K of N (0 <= K < N, N at most {MAX_SHARDS}), e.g. 0/4"
            )
        };
        let (k, n) = text.split_once('/').ok_or_else(usage)?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 7 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(k) || !digits(n) {
            return Err(usage());
        }
        let (index, count) = (
            k.parse::<u64>().map_err(|_| usage())?,
            n.parse::<u64>().map_err(|_| usage())?,
        );
        if count == 0 || count > MAX_SHARDS || index >= count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

/// The seeds a sweep runs: `first`, `first + step`, … (`len` of them), in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeds {
    first: u64,
    step: u64,
    len: u64,
}

impl Seeds {
    /// The seeds of `range` in `shard` (all of them without one).
    pub fn of(range: SeedRange, shard: Option<Shard>) -> Seeds {
        let Shard { index, count } = shard.unwrap_or(Shard { index: 0, count: 1 });
        let to_first = (index + count - range.start % count) % count;
        let len = match range.start.checked_add(to_first) {
            Some(first) if first <= range.last() => (range.last() - first) / count + 1,
            _ => 0,
        };
        Seeds {
            first: range.start.wrapping_add(to_first),
            step: count,
            len,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `i`-th seed (`i < len`).
    pub fn get(&self, i: u64) -> u64 {
        debug_assert!(i < self.len);
        self.first + i * self.step
    }

    /// Up to `m` of the seeds, spread evenly from the first: the seeds at positions
    /// `j * len / m` for j in 0..m.
    pub fn sample(&self, m: u64) -> Vec<u64> {
        let m = m.min(self.len);
        (0..m)
            .map(|j| self.get((u128::from(j) * u128::from(self.len) / u128::from(m)) as u64))
            .collect()
    }
}

/// A seed whose expectations did not all hold, or whose run panicked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failing {
    pub seed: u64,
    /// Each expectation that failed (`lost expected 0 got 3`), or one
    /// `kafkasim panicked: …` line.
    pub failed: Vec<String>,
}

/// What a sweep found over its seeds: counts only, so that tallies of any split of the
/// seeds merge into exactly the tally of them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// Seeds that ran.
    pub seeds: u64,
    /// Seeds where an expectation failed or the run panicked.
    pub failed: u64,
    /// Seeds whose run panicked (a bug in kafkasim): they have no counters.
    pub panicked: u64,
    /// For each expectation of the scenario, in `expect:` order: the seeds it held on.
    pub held: Vec<u64>,
    /// For each counter (`Counter::ALL` order): value → seeds whose run's total ended there.
    pub values: Vec<BTreeMap<u64, u64>>,
    /// The lowest `FAILING_KEPT` failing seeds, in seed order.
    pub first_failing: Vec<Failing>,
    /// For each counter (`Counter::ALL` order): the lowest seed whose run ended with it
    /// above zero ("the duplicate shows up in 23% of runs; here is the first").
    pub first_with: Vec<Option<u64>>,
}

/// A counter's distribution over the seeds that ran to the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    pub min: u64,
    /// The lower median: with n values sorted, the one at position (n−1)/2 from 0, so that
    /// it is always a value some seed had.
    pub median: u64,
    pub max: u64,
    /// Seeds where the counter was above zero.
    pub seeds_with: u64,
}

impl Tally {
    /// An empty tally for a scenario with `expectations` expectations.
    pub fn new(expectations: usize) -> Tally {
        Tally {
            seeds: 0,
            failed: 0,
            panicked: 0,
            held: vec![0; expectations],
            values: vec![BTreeMap::new(); Counter::ALL.len()],
            first_failing: Vec::new(),
            first_with: vec![None; Counter::ALL.len()],
        }
    }

    /// Adds one seed's verdict, or the message of its panic.
    pub fn add(&mut self, seed: u64, run: Result<&Verdict, String>) {
        self.seeds += 1;
        let failed = match run {
            Ok(v) => {
                for (i, &c) in Counter::ALL.iter().enumerate() {
                    let value = v.totals.get(c);
                    *self.values[i].entry(value).or_default() += 1;
                    if value > 0 {
                        let first = &mut self.first_with[i];
                        *first = Some(first.map_or(seed, |f| f.min(seed)));
                    }
                }
                for (held, e) in self.held.iter_mut().zip(&v.expectations) {
                    *held += u64::from(e.holds);
                }
                let missed: Vec<String> = v
                    .expectations
                    .iter()
                    .filter(|e| !e.holds)
                    .map(|e| e.describe())
                    .collect();
                if v.pass {
                    return;
                }
                missed
            }
            Err(message) => {
                self.panicked += 1;
                vec![format!("kafkasim panicked: {message}")]
            }
        };
        self.failed += 1;
        self.keep_failing(Failing { seed, failed });
    }

    fn keep_failing(&mut self, f: Failing) {
        if self.first_failing.len() == FAILING_KEPT
            && self.first_failing.last().is_some_and(|l| l.seed < f.seed)
        {
            return;
        }
        let at = self.first_failing.partition_point(|x| x.seed < f.seed);
        self.first_failing.insert(at, f);
        self.first_failing.truncate(FAILING_KEPT);
    }

    /// Adds another tally of other seeds of the same scenario.
    pub fn merge(&mut self, other: Tally) {
        self.seeds += other.seeds;
        self.failed += other.failed;
        self.panicked += other.panicked;
        for (a, b) in self.held.iter_mut().zip(&other.held) {
            *a += b;
        }
        for (mine, theirs) in self.values.iter_mut().zip(other.values) {
            for (value, seeds) in theirs {
                *mine.entry(value).or_default() += seeds;
            }
        }
        for f in other.first_failing {
            self.keep_failing(f);
        }
        for (mine, theirs) in self.first_with.iter_mut().zip(other.first_with) {
            *mine = match (*mine, theirs) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }

    /// Seeds whose every expectation held.
    pub fn passed(&self) -> u64 {
        self.seeds - self.failed
    }

    /// `c`'s distribution, or None when no seed ran to the end.
    pub fn stats(&self, c: Counter) -> Option<Stats> {
        let values = &self.values[c as usize];
        let n: u64 = values.values().sum();
        let (&min, &max) = (values.keys().next()?, values.keys().next_back()?);
        let middle = (n - 1) / 2;
        let mut below = 0;
        let mut median = max;
        for (&v, &seeds) in values {
            below += seeds;
            if below > middle {
                median = v;
                break;
            }
        }
        Some(Stats {
            min,
            median,
            max,
            seeds_with: n - values.get(&0).copied().unwrap_or(0),
        })
    }
}

/// Runs `sc` once on `seed` with the checker alone, catching a panic (a bug in kafkasim) so
/// that the sweep can name its seed.
pub fn run_seed(sc: &Scenario, seed: u64) -> Result<Verdict, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| simulate(sc, seed).1))
        .map_err(|payload| panic_message(payload.as_ref()))
}

/// The text of a panic's payload, on one line.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "(no message)"
    };
    crate::diag::one_line(text)
}

/// Runs every seed of `seeds` on `jobs` threads (1 to `MAX_JOBS`) and tallies them.
/// `progress` is told how many more seeds have finished, from any thread; it cannot change
/// the tally.
pub fn run(sc: &Scenario, seeds: Seeds, jobs: usize, progress: &(dyn Fn(u64) + Sync)) -> Tally {
    let jobs = jobs.clamp(1, MAX_JOBS);
    let next = AtomicU64::new(0);
    let work = || {
        let mut tally = Tally::new(sc.expect.len());
        loop {
            let from = next.fetch_add(BLOCK, Ordering::Relaxed);
            if from >= seeds.len() {
                return tally;
            }
            let to = (from + BLOCK).min(seeds.len());
            for i in from..to {
                let seed = seeds.get(i);
                tally.add(seed, run_seed(sc, seed).as_ref().map_err(String::clone));
            }
            progress(to - from);
        }
    };
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..jobs)
            .map(|j| {
                std::thread::Builder::new()
                    .name(format!("{THREAD_NAME}-{j}"))
                    .spawn_scoped(s, work)
                    .expect("cannot start a sweep thread")
            })
            .collect();
        let mut total = Tally::new(sc.expect.len());
        for t in threads {
            // A panic outside a seed's run is a bug in the sweep itself: pass it on.
            match t.join() {
                Ok(tally) => total.merge(tally),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        total
    })
}

/// Runs `f` on each item on up to `jobs` threads, the results in the items' order.
pub fn par_map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicU64::new(0);
    let jobs = jobs.clamp(1, MAX_JOBS).min(items.len().max(1));
    let work = || {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed) as usize;
            let Some(item) = items.get(i) else {
                return out;
            };
            out.push((i, f(item)));
        }
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..jobs)
            .map(|j| {
                std::thread::Builder::new()
                    .name(format!("{THREAD_NAME}-{j}"))
                    .spawn_scoped(s, work)
                    .expect("cannot start a sweep thread")
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_exclusive_with_two_dots_and_inclusive_with_an_equals_sign() {
        assert_eq!(
            SeedRange::parse("0..1000"),
            Ok(SeedRange {
                start: 0,
                count: 1000
            })
        );
        assert_eq!(
            SeedRange::parse("5..=5"),
            Ok(SeedRange { start: 5, count: 1 })
        );
        let top = SeedRange::parse(&format!("{0}..={0}", u64::MAX)).unwrap();
        assert_eq!(top.to_string(), format!("{0}..={0}", u64::MAX));
        assert_eq!(SeedRange::parse("3..=9").unwrap().to_string(), "3..10");
        for bad in [
            "",
            "5",
            "5..5",
            "9..3",
            "-1..3",
            "0..20000000",
            "a..b",
            "0..1e3",
            "0.. 9",
        ] {
            assert!(SeedRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_split_a_range_into_disjoint_parts_that_cover_it() {
        let range = SeedRange::parse("7..30").unwrap();
        let mut all = Vec::new();
        for k in 0..4 {
            let seeds = Seeds::of(range, Some(Shard { index: k, count: 4 }));
            for i in 0..seeds.len() {
                assert_eq!(seeds.get(i) % 4, k);
                all.push(seeds.get(i));
            }
        }
        all.sort();
        assert_eq!(all, (7..30).collect::<Vec<u64>>());
        // More shards than seeds: some shards are empty.
        let small = SeedRange::parse("0..2").unwrap();
        assert!(Seeds::of(small, Some(Shard { index: 5, count: 8 })).is_empty());
        for bad in ["4/4", "0/0", "1", "a/3", "-1/3", "0/2000000"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_median_is_the_lower_middle_value() {
        let mut t = Tally::new(0);
        for v in [5, 1, 9, 3] {
            *t.values[0].entry(v).or_default() += 1;
        }
        let s = t.stats(Counter::ALL[0]).unwrap();
        assert_eq!((s.min, s.median, s.max, s.seeds_with), (1, 3, 9, 4));
        *t.values[0].entry(0).or_default() += 1;
        let s = t.stats(Counter::ALL[0]).unwrap();
        assert_eq!((s.min, s.median, s.max, s.seeds_with), (0, 3, 9, 4));
        assert_eq!(Tally::new(0).stats(Counter::ALL[0]), None);
    }

    #[test]
    fn merging_keeps_the_lowest_failing_seeds() {
        let (mut a, mut b) = (Tally::new(0), Tally::new(0));
        for s in (0..40).step_by(2) {
            a.add(s, Err("x".into()));
        }
        for s in (1..40).step_by(2) {
            b.add(s, Err("x".into()));
        }
        a.merge(b);
        let seeds: Vec<u64> = a.first_failing.iter().map(|f| f.seed).collect();
        assert_eq!(seeds, (0..10).collect::<Vec<u64>>());
        assert_eq!((a.seeds, a.failed, a.panicked), (40, 40, 40));
    }
}
