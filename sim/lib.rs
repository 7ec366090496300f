//! kafkasim: a deterministic, seeded discrete-event simulator of Apache Kafka and
//! event-driven architecture, for teaching and for reasoning about failure modes.
//!
//! The path from a file to a verdict: `scenario` loads and validates a YAML scenario;
//! `model` runs it on the `engine` (virtual time, queue, network, RNG sub-streams) and
//! records a `trace`; `check` judges the trace; `report` turns trace and verdict into text
//! or JSON. Nothing in a run reads a clock, iterates a hash map or draws unseeded
//! randomness, so a scenario and a seed always give the same bytes. (`bench` reads the wall
//! clock, but only to time finished runs from outside; nothing it measures enters a run.)

pub mod assignor;
pub mod bench;
pub mod check;
pub mod counters;
pub mod diag;
pub mod engine;
pub mod json;
pub mod lessons;
pub mod model;
pub mod partitioner;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod trace;

use check::Verdict;
use model::{RunResult, World};
use scenario::Scenario;

/// Runs a validated scenario with `seed` and judges it.
pub fn simulate(sc: &Scenario, seed: u64) -> (RunResult, Verdict) {
    let run = World::new(sc, seed).run();
    let verdict = check::check(sc, &run);
    (run, verdict)
}
