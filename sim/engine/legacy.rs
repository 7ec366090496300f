//! The driver the model runs on today: `Ctx` (virtual time, a `BinaryHeap` event queue, a
//! FIFO latency-only network, the trace sink) and `Link`. Not here: the generic `Time`,
//! `Queue` and `Network` beside it, which are meant to replace it.
//!
//! Components never touch any of this directly: they get a `Ctx` and ask it to send a
//! message over a link, set a timer, or record a trace event. The queue is ordered by
//! `(time, sequence)`, so events at the same millisecond run in the order they were
//! scheduled and a heap tie never decides anything.

use crate::model::Ev;
use crate::rng::{SimRng, Stream};
use crate::trace::{Kind, Trace};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry {
    at: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so the max-heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A one-way network link. Each Kafka client has two (to and from the cluster).
pub type Link = usize;

pub struct Ctx {
    now: u64,
    seq: u64,
    queue: BinaryHeap<Entry>,
    net: SimRng,
    latency_min_ms: u64,
    latency_max_ms: u64,
    /// The last delivery time on each link: links are FIFO, like the TCP connection a
    /// Kafka client holds, so a later message never overtakes an earlier one.
    link_last: Vec<u64>,
    pub trace: Trace,
}

impl Ctx {
    pub fn new(seed: u64, latency_min_ms: u64, latency_max_ms: u64) -> Ctx {
        Ctx {
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            net: SimRng::new(seed, Stream::Network),
            latency_min_ms,
            latency_max_ms,
            link_last: Vec::new(),
            trace: Trace::default(),
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    /// A new FIFO link.
    pub fn new_link(&mut self) -> Link {
        self.link_last.push(0);
        self.link_last.len() - 1
    }

    /// `ev` happens `after` ms from now.
    pub fn timer(&mut self, after: u64, ev: Ev) {
        self.at(self.now.saturating_add(after), ev);
    }

    pub fn at(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Entry {
            at,
            seq: self.seq,
            ev,
        });
    }

    /// `ev` arrives at the far end of `link` after one network latency.
    pub fn send(&mut self, link: Link, ev: Ev) {
        let latency = self.net.between(self.latency_min_ms, self.latency_max_ms);
        let arrive = (self.now + latency).max(self.link_last[link]);
        self.link_last[link] = arrive;
        self.at(arrive, ev);
    }

    pub fn trace(&mut self, kind: Kind) {
        self.trace.push(self.now, kind);
    }

    /// The next event, advancing the clock; None when the queue is empty or `until` is reached.
    pub fn pop(&mut self, until: u64) -> Option<Ev> {
        let next = self.queue.peek()?;
        if next.at > until {
            return None;
        }
        let e = self.queue.pop().expect("peeked");
        debug_assert!(e.at >= self.now, "time never runs backwards");
        self.now = e.at;
        Some(e.ev)
    }

    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn set_now(&mut self, t: u64) {
        self.now = self.now.max(t);
    }
}
