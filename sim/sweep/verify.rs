//! `kafkasim sweep --verify`: the determinism self-check. A seed is run twice more, at the
//! same time on two threads, and each run's trace is encoded record by record; the second
//! run compares each of its records with the first run's as they arrive (through a bounded
//! channel, so nothing keeps a whole trace), and names the first record where they part.
//!
//! A record's encoding is its JSONL line, exactly as `run --trace` writes it, a space, and
//! its Rust `Debug` form (every id and field, some of which the line resolves to names or
//! leaves out). A trace's hash is FNV-1a 64 over the encodings, each followed by `\n`.
//! Two runs of one seed that part are a bug in kafkasim, never a user error.

use crate::report::jsonl_line;
use crate::scenario::Scenario;
use crate::trace::{Tables, TraceEvent, TraceSink};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Records the first run may be ahead of the second.
const CHANNEL: usize = 4096;

/// FNV-1a 64's offset basis and prime.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`, continuing from `hash` (start from `FNV_OFFSET` via `fnv1a(…)`).
pub fn fnv1a_continue(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// FNV-1a 64 of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_continue(FNV_OFFSET, bytes)
}

/// A record's encoding (see the module's documentation).
pub fn encode(sc: &Scenario, t: &Tables, ev: &TraceEvent) -> String {
    format!("{} {:?}", jsonl_line(sc, t, ev), ev.kind)
}

/// One trace record as a run wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Simulated time, ms.
    pub at_ms: u64,
    /// Its encoding.
    pub text: String,
}

/// Where two runs of one seed part: the first record (its 1-based number, which is also its
/// line in `run --trace`'s file) that differs, as each run wrote it; `None` for a run whose
/// trace had already ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parting {
    pub record: u64,
    pub first: Option<Record>,
    pub second: Option<Record>,
}

/// One seed run twice: each run's trace hash and record count, and where they part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedCheck {
    pub seed: u64,
    pub hashes: [u64; 2],
    pub records: [u64; 2],
    pub parting: Option<Parting>,
    /// A run that panicked, with its message (the sweep names such seeds too).
    pub panicked: Option<String>,
}

impl SeedCheck {
    /// Whether both runs wrote the same trace.
    pub fn identical(&self) -> bool {
        self.parting.is_none() && self.panicked.is_none() && self.hashes[0] == self.hashes[1]
    }
}

/// How a run is made: the seed, and a sink to send every trace record to. `check_seed`
/// calls it twice at once, from two threads.
pub type Runner<'a> = dyn Fn(u64, &mut dyn TraceSink) + Sync + 'a;

/// The first run's sink: hashes each record and sends it to the second run.
struct Leader<'s> {
    sc: &'s Scenario,
    tx: Option<SyncSender<Record>>,
    hash: u64,
    records: u64,
}

impl TraceSink for Leader<'_> {
    fn record(&mut self, t: &Tables, ev: &TraceEvent) {
        let text = encode(self.sc, t, ev);
        self.hash = fnv1a_continue(fnv1a_continue(self.hash, text.as_bytes()), b"\n");
        self.records += 1;
        if let Some(tx) = &self.tx {
            let record = Record {
                at_ms: ev.at.ms(),
                text,
            };
            // The second run has parted or ended: stop sending.
            if tx.send(record).is_err() {
                self.tx = None;
            }
        }
    }
}

/// The second run's sink: hashes each record and compares it with the first run's.
struct Follower<'s> {
    sc: &'s Scenario,
    rx: Option<Receiver<Record>>,
    hash: u64,
    records: u64,
    parting: Option<Parting>,
}

impl TraceSink for Follower<'_> {
    fn record(&mut self, t: &Tables, ev: &TraceEvent) {
        let text = encode(self.sc, t, ev);
        self.hash = fnv1a_continue(fnv1a_continue(self.hash, text.as_bytes()), b"\n");
        self.records += 1;
        let Some(rx) = &self.rx else {
            return;
        };
        let theirs = rx.recv().ok();
        if theirs.as_ref().is_some_and(|r| r.text == text) {
            return;
        }
        self.parting = Some(Parting {
            record: self.records,
            first: theirs,
            second: Some(Record {
                at_ms: ev.at.ms(),
                text,
            }),
        });
        // Dropping the receiver lets the first run finish without waiting for us.
        self.rx = None;
    }
}

/// Runs `seed` twice with `run`, at once on two threads, and compares the traces.
pub fn check_seed(sc: &Scenario, seed: u64, run: &Runner) -> SeedCheck {
    let (tx, rx) = sync_channel(CHANNEL);
    let catch = |f: &mut dyn FnMut()| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .map_err(|p| super::panic_message(p.as_ref()))
    };
    std::thread::scope(|s| {
        let first = std::thread::Builder::new()
            .name(format!("{}-verify", super::THREAD_NAME))
            .spawn_scoped(s, move || {
                let mut leader = Leader {
                    sc,
                    tx: Some(tx),
                    hash: FNV_OFFSET,
                    records: 0,
                };
                let outcome = catch(&mut || run(seed, &mut leader));
                drop(leader.tx.take());
                (leader.hash, leader.records, outcome)
            })
            .expect("cannot start a verify thread");
        let mut follower = Follower {
            sc,
            rx: Some(rx),
            hash: FNV_OFFSET,
            records: 0,
            parting: None,
        };
        let second = catch(&mut || run(seed, &mut follower));
        // The first run may have gone on past the second's end.
        if let Some(rx) = follower.rx.take() {
            if let Ok(extra) = rx.recv() {
                follower.parting = Some(Parting {
                    record: follower.records + 1,
                    first: Some(extra),
                    second: None,
                });
            }
        }
        let (hash, records, first_outcome) = first
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        SeedCheck {
            seed,
            hashes: [hash, follower.hash],
            records: [records, follower.records],
            parting: follower.parting,
            panicked: first_outcome.err().or(second.err()),
        }
    })
}

/// Checks each of `seeds` on up to `jobs` seeds at a time, in the seeds' order.
pub fn verify(sc: &Scenario, seeds: &[u64], jobs: usize) -> Vec<SeedCheck> {
    let run = |seed: u64, sink: &mut dyn TraceSink| {
        crate::simulate_with(sc, seed, sink);
    };
    super::par_map(seeds, jobs, |&seed| check_seed(sc, seed, &run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
