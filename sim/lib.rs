//! kafkasim: a deterministic, seeded discrete-event simulator of Apache Kafka and
//! event-driven architecture, for teaching and for reasoning about failure modes.
//!
//! The path from a file to a verdict: `scenario` loads and validates a YAML scenario;
//! `model` runs it (sans-IO components wired by one driver over the `engine`'s queue and
//! network) and emits `trace` records as they happen; `check` judges them online;
//! `report` turns them and the verdict into text, JSON or JSONL. Nothing in a run reads a
//! clock, iterates a hash map or draws unseeded randomness, so a scenario and a seed
//! always give the same bytes. (`bench` reads the wall clock, but only to time finished
//! runs from outside; nothing it measures enters a run.) `sweep` runs one scenario on many
//! seeds, on several threads, and tallies the outcomes so that the tally is the same
//! whatever the threads.

pub mod assignor;
pub mod bench;
pub mod chaos;
pub mod check;
pub mod counters;
pub mod diag;
pub mod engine;
pub mod golden;
pub mod json;
pub mod lessons;
pub mod model;
pub mod partitioner;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sweep;
pub mod trace;
pub mod whatif;

use check::{Checker, Verdict};
use model::{RunResult, World};
use scenario::Scenario;
use trace::{Discard, Pair, TraceSink};

/// Runs a validated scenario with `seed` and judges it online; keeps no trace.
pub fn simulate(sc: &Scenario, seed: u64) -> (RunResult, Verdict) {
    simulate_with(sc, seed, Discard)
}

/// Runs a validated scenario with `seed`, sending every trace record to the online checker
/// and to `sink` (a timeline, a JSONL stream, a recorder) as it happens.
///
/// Panics if the coordinators' committed offsets and the checker's, built from the trace,
/// disagree at the end: that is a bug in the model or the checker, never a user error.
pub fn simulate_with(sc: &Scenario, seed: u64, sink: impl TraceSink) -> (RunResult, Verdict) {
    let mut checker = Checker::new(sc);
    let result = World::new(sc, seed, Pair(&mut checker, sink)).run();
    let seen = checker.committed();
    for (g, committed) in result.committed.iter().enumerate() {
        for (p, &c) in committed.iter().enumerate() {
            let traced = seen[g].get(p).copied().flatten();
            assert_eq!(
                c, traced,
                "bug: group {g} partition {p}: the coordinator holds {c:?}, the trace says {traced:?}"
            );
        }
    }
    let verdict = checker.finish(&result.tables, result.end_ms);
    (result, verdict)
}
