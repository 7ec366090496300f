//! `Network<A, M>`: the network as a place with state. One-way FIFO paths between
//! endpoints, each with its own latency stream and its own queue of messages in flight, and
//! link-state rules (healthy, partitioned, held) that decide at arrival time whether a
//! message is delivered, dropped or kept.
//!
//! Not here: the event queue and the clock. The network never schedules anything itself;
//! each call returns the `(PathId, Time)` deliveries the driver must put in its own queue,
//! and the driver calls `deliver` when one fires. At most one such event is outstanding per
//! path (for its head message), so the driver's queue grows with the number of busy paths,
//! not with the number of messages in flight.

use super::time::Time;
use crate::rng::{SimRng, Uniform};
use std::collections::VecDeque;

/// An endpoint of the network, implemented by the simulator's own endpoint type.
pub trait Address: Copy + Ord + std::fmt::Debug {
    /// The group this endpoint belongs to (e.g. "every consumer member"), which
    /// `Side::Class` rules match on.
    fn class(self) -> u8;
    /// A number fixed by the scenario, unique per endpoint and below 2^31. It derives each
    /// path's random stream (see `Network::send`). Ids below [`DENSE_IDS`] index the
    /// per-source path table directly, so they should be dense (the table is as long as
    /// the largest such source id plus one); larger ids are looked up in an ordered map,
    /// for the few endpoints that cannot share the dense numbering.
    fn stable_id(self) -> u32;
}

/// Source ids below this index `Network`'s path table; larger ones go to an ordered map.
pub const DENSE_IDS: u32 = 1 << 24;

/// What happens to messages on a path when they reach its far end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Delivered, after the path's latency.
    Healthy,
    /// Dropped when it reaches the far end.
    Partitioned,
    /// Kept, with everything behind it on the path, until the path is no longer held;
    /// then delivered in order, each at the later of the release and its own due time.
    Held,
}

/// A one-way path `(source, target)`, numbered densely in order of first use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PathId(pub u32);

/// One end of a link-state rule: which endpoints it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side<A> {
    /// Exactly this endpoint.
    One(A),
    /// Every endpoint whose `Address::class` is this.
    Class(u8),
    /// Every endpoint.
    Any,
}

impl<A: Address> Side<A> {
    /// True when `a` is one of the endpoints this side names.
    pub fn matches(self, a: A) -> bool {
        match self {
            Side::One(x) => x == a,
            Side::Class(c) => a.class() == c,
            Side::Any => true,
        }
    }
}

/// The outcome of one head-of-path event (`Network::deliver`). At most one of `message`
/// and `dropped` is set; each is `(source, target, message)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery<A, M> {
    /// The head message, arrived: the driver hands it to `target`.
    pub message: Option<(A, A, M)>,
    /// The head message, lost to a partition: the driver may trace it.
    pub dropped: Option<(A, A, M)>,
    /// When the driver must schedule this path's next head event; None when the path is now
    /// empty or held (a later `send` or rule change will say when).
    pub next: Option<Time>,
}

struct Rule<A> {
    from: Side<A>,
    to: Side<A>,
    state: LinkState,
}

struct Path<A, M> {
    source: A,
    target: A,
    /// This path's latency draws; None when `min_ms == max_ms`, so nothing is ever drawn.
    rng: Option<SimRng>,
    /// Messages in flight, oldest first, each with its due time (non-decreasing).
    queue: VecDeque<(Time, M)>,
    /// The due time of the last message sent: the next one may not arrive before it.
    last_due: Time,
    /// This path's chaos draws (`Network::disturb`), made on first use.
    chaos: Option<SimRng>,
    /// The state of the most recent rule that matches this path, else Healthy.
    state: LinkState,
    /// True while the driver holds a head event for this path.
    scheduled: bool,
}

/// The network: paths created on first send, link-state rules, and every message in flight.
///
/// Invariant between calls: a path that has messages and is not held has exactly one head
/// event outstanding in the driver's queue; any other path has at most one (a path that
/// became held while its head event was pending keeps it until it fires).
pub struct Network<A, M> {
    seed: u64,
    min_ms: u64,
    max_ms: u64,
    /// `[min_ms, max_ms]`, prepared once for the draws.
    latency: Uniform,
    paths: Vec<Path<A, M>>,
    /// Indexed by the source's `stable_id`: that source's paths as `(target's stable_id,
    /// path)`, scanned linearly. One O(1) index and a scan of a handful of integers per
    /// send; stable ids are unique per endpoint (`Address`), so the ids decide alone.
    by_source: Vec<Vec<(u32, PathId)>>,
    /// The same for source ids of [`DENSE_IDS`] and above.
    by_sparse_source: std::collections::BTreeMap<u32, Vec<(u32, PathId)>>,
    /// In the order they were set; the last match wins.
    rules: Vec<Rule<A>>,
    in_flight: usize,
    /// `0 ..= jitter_ms` of `set_chaos`, prepared once for the draws.
    jitter: Uniform,
}

impl<A: Address, M> Network<A, M> {
    /// A network with no paths and no rules, whose latencies are drawn uniformly in
    /// `[min_ms, max_ms]` from streams of `seed`.
    ///
    /// Panics if `min_ms > max_ms`.
    pub fn new(seed: u64, min_ms: u64, max_ms: u64) -> Network<A, M> {
        assert!(min_ms <= max_ms, "latency bounds {min_ms} > {max_ms}");
        Network {
            seed,
            min_ms,
            max_ms,
            latency: Uniform::new(min_ms, max_ms),
            paths: Vec::new(),
            by_source: Vec::new(),
            by_sparse_source: std::collections::BTreeMap::new(),
            rules: Vec::new(),
            in_flight: 0,
            jitter: Uniform::new(0, 0),
        }
    }

    /// Network chaos: each message `disturb` is asked about is late by a draw in
    /// `0 ..= jitter_ms`. Without it, `disturb` draws only drops.
    pub fn set_chaos(&mut self, jitter_ms: u64) {
        self.jitter = Uniform::new(0, jitter_ms);
    }

    /// Network chaos for one message about to go on the path `source -> target` (created
    /// if new): None when it is lost, drawn with probability `drop = (num, den)` if given;
    /// else the extra latency to add, drawn in `0 ..= jitter_ms` (`set_chaos`). Draws come
    /// from the path's own chaos stream (its latency stream's id with
    /// `rng::CHAOS_PATH_BIT` set), the drop first: the latencies it draws, and every other
    /// path's draws, stay as they were.
    pub fn disturb(&mut self, source: A, target: A, drop: Option<(u64, u64)>) -> Option<u64> {
        let id = match self.path(source, target) {
            Some(id) => id,
            None => self.create(source, target),
        };
        let seed = self.seed;
        let rng = self.paths[id.0 as usize].chaos.get_or_insert_with(|| {
            SimRng::substream(
                seed,
                Self::stream_id(source, target) | crate::rng::CHAOS_PATH_BIT,
            )
        });
        if let Some((num, den)) = drop {
            if rng.chance(num, den) {
                return None;
            }
        }
        Some(rng.sample(&self.jitter))
    }

    /// The random stream of the path `(source, target)`:
    /// `1 << 63 | source.stable_id() << 31 | target.stable_id()`. Injective for ids below
    /// 2^31, and the top bit keeps it clear of the fixed `rng::Stream` ids.
    pub fn stream_id(source: A, target: A) -> u64 {
        (1 << 63) | (u64::from(source.stable_id()) << 31) | u64::from(target.stable_id())
    }

    /// Puts `msg` on the path `source -> target` (created if new), due after one latency
    /// drawn from that path's stream, and never before the previous message on the path.
    /// Returns `Some((path, at))` when the driver must schedule that path's head event at
    /// `at` (the path had none outstanding and is not held), else None.
    ///
    /// Panics if a new path's endpoints have `stable_id` of 2^31 or more.
    #[must_use = "the driver must schedule the returned head event"]
    pub fn send(&mut self, now: Time, source: A, target: A, msg: M) -> Option<(PathId, Time)> {
        self.send_after(now, source, target, msg, 0)
    }

    /// [`send`](Self::send), with `extra_ms` added to the drawn latency (a `messages:`
    /// delay). Still first-in, first-out on the path.
    #[must_use = "the driver must schedule the returned head event"]
    pub fn send_after(
        &mut self,
        now: Time,
        source: A,
        target: A,
        msg: M,
        extra_ms: u64,
    ) -> Option<(PathId, Time)> {
        let id = match self.path(source, target) {
            Some(id) => id,
            None => self.create(source, target),
        };
        let latency = self.latency;
        let path = &mut self.paths[id.0 as usize];
        let latency = match &mut path.rng {
            Some(rng) => rng.sample(&latency),
            None => self.min_ms,
        };
        let due = now.after(latency + extra_ms).max(path.last_due);
        path.last_due = due;
        path.queue.push_back((due, msg));
        self.in_flight += 1;
        if path.scheduled || path.state == LinkState::Held {
            return None;
        }
        debug_assert_eq!(path.queue.len(), 1, "a busy unheld path is scheduled");
        path.scheduled = true;
        Some((id, due))
    }

    /// Fires the head event of `path` at `now`, under the path's state at this moment:
    /// Healthy pops the head into `message`, Partitioned pops it into `dropped`, Held pops
    /// nothing and leaves the path waiting for its release. See `Delivery::next`.
    ///
    /// Panics if `path` was not returned by this network.
    #[must_use = "the delivery carries the message and the next head event"]
    pub fn deliver(&mut self, now: Time, path: PathId) -> Delivery<A, M> {
        let mut out = Delivery {
            message: None,
            dropped: None,
            next: None,
        };
        let p = &mut self.paths[path.0 as usize];
        debug_assert!(p.scheduled, "{path:?} fired without a head event");
        if p.state == LinkState::Held {
            p.scheduled = false;
            return out;
        }
        let Some((due, msg)) = p.queue.pop_front() else {
            p.scheduled = false;
            return out;
        };
        debug_assert!(
            due <= now,
            "{path:?} fired at {now}, before its head is due at {due}"
        );
        let arrived = (p.source, p.target, msg);
        if p.state == LinkState::Partitioned {
            out.dropped = Some(arrived);
        } else {
            out.message = Some(arrived);
        }
        match p.queue.front() {
            Some(&(next_due, _)) => out.next = Some(next_due.max(now)),
            None => p.scheduled = false,
        }
        self.in_flight -= 1;
        out
    }

    /// Sets the rule `from -> to` to `state`, replacing any rule with the same two sides;
    /// it becomes the most recent rule. Returns the head events the driver must schedule
    /// now, in ascending `PathId` order (paths that are no longer held and have messages,
    /// each at the later of `now` and its head's due time).
    #[must_use = "the driver must schedule the returned head events"]
    pub fn set_rule(
        &mut self,
        now: Time,
        from: Side<A>,
        to: Side<A>,
        state: LinkState,
    ) -> Vec<(PathId, Time)> {
        self.rules.retain(|r| (r.from, r.to) != (from, to));
        self.rules.push(Rule { from, to, state });
        self.refresh(now)
    }

    /// Removes the rule `from -> to` (the exact sides given to `set_rule`; other rules that
    /// match the same paths stay). Returns the head events to schedule, as `set_rule` does.
    #[must_use = "the driver must schedule the returned head events"]
    pub fn clear_rule(&mut self, now: Time, from: Side<A>, to: Side<A>) -> Vec<(PathId, Time)> {
        self.rules.retain(|r| (r.from, r.to) != (from, to));
        self.refresh(now)
    }

    /// `set_rule(now, from, to, Partitioned)`: one direction only.
    #[must_use = "the driver must schedule the returned head events"]
    pub fn partition(&mut self, now: Time, from: Side<A>, to: Side<A>) -> Vec<(PathId, Time)> {
        self.set_rule(now, from, to, LinkState::Partitioned)
    }

    /// `set_rule(now, from, to, Held)`: one direction only.
    #[must_use = "the driver must schedule the returned head events"]
    pub fn hold(&mut self, now: Time, from: Side<A>, to: Side<A>) -> Vec<(PathId, Time)> {
        self.set_rule(now, from, to, LinkState::Held)
    }

    /// `clear_rule(now, from, to)`: one direction only.
    #[must_use = "the driver must schedule the returned head events"]
    pub fn repair(&mut self, now: Time, from: Side<A>, to: Side<A>) -> Vec<(PathId, Time)> {
        self.clear_rule(now, from, to)
    }

    /// The current state of `path`. Panics if `path` was not returned by this network.
    pub fn state(&self, path: PathId) -> LinkState {
        self.paths[path.0 as usize].state
    }

    /// The path `source -> target`, if anything was ever sent on it.
    pub fn path(&self, source: A, target: A) -> Option<PathId> {
        let (source, target) = (source.stable_id(), target.stable_id());
        let paths = if source < DENSE_IDS {
            self.by_source.get(source as usize)?
        } else {
            self.by_sparse_source.get(&source)?
        };
        paths.iter().find(|&&(t, _)| t == target).map(|&(_, id)| id)
    }

    /// The `(source, target)` of `path`. Panics if `path` was not returned by this network.
    pub fn ends(&self, path: PathId) -> (A, A) {
        let p = &self.paths[path.0 as usize];
        (p.source, p.target)
    }

    /// Messages sent and neither delivered nor dropped yet, over all paths.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The number of paths created so far.
    pub fn path_count(&self) -> usize {
        self.paths.len()
    }

    fn create(&mut self, source: A, target: A) -> PathId {
        let (s, t) = (source.stable_id(), target.stable_id());
        assert!(
            s < 1 << 31 && t < 1 << 31,
            "stable ids of {source:?} -> {target:?} exceed 2^31"
        );
        let id = PathId(u32::try_from(self.paths.len()).expect("fewer than 2^32 paths"));
        let rng = (self.min_ms < self.max_ms)
            .then(|| SimRng::substream(self.seed, Self::stream_id(source, target)));
        self.paths.push(Path {
            source,
            target,
            rng,
            chaos: None,
            queue: VecDeque::new(),
            last_due: Time::ZERO,
            state: rule_state(&self.rules, source, target),
            scheduled: false,
        });
        if s < DENSE_IDS {
            let slot = s as usize;
            if self.by_source.len() <= slot {
                self.by_source.resize_with(slot + 1, Vec::new);
            }
            self.by_source[slot].push((t, id));
        } else {
            self.by_sparse_source.entry(s).or_default().push((t, id));
        }
        id
    }

    /// Recomputes every path's state from the rules (O(paths x rules); rules change rarely)
    /// and schedules the head of each path that has messages, is not held and has no head
    /// event outstanding, in ascending `PathId` order.
    fn refresh(&mut self, now: Time) -> Vec<(PathId, Time)> {
        let mut due = Vec::new();
        for (i, p) in self.paths.iter_mut().enumerate() {
            p.state = rule_state(&self.rules, p.source, p.target);
            if p.state == LinkState::Held || p.scheduled {
                continue;
            }
            if let Some(&(head_due, _)) = p.queue.front() {
                p.scheduled = true;
                due.push((PathId(i as u32), head_due.max(now)));
            }
        }
        due
    }
}

/// The state of the most recently set rule matching `source -> target`, else Healthy.
fn rule_state<A: Address>(rules: &[Rule<A>], source: A, target: A) -> LinkState {
    rules
        .iter()
        .rev()
        .find(|r| r.from.matches(source) && r.to.matches(target))
        .map_or(LinkState::Healthy, |r| r.state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Queue;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Node {
        Broker(u8),
        Member(u8),
        /// An endpoint numbered above the dense range.
        Far(u8),
    }
    use Node::{Broker, Far, Member};

    const BROKERS: u8 = 0;
    const MEMBERS: u8 = 1;

    impl Address for Node {
        fn class(self) -> u8 {
            match self {
                Broker(_) => BROKERS,
                Member(_) => MEMBERS,
                Far(_) => 2,
            }
        }
        fn stable_id(self) -> u32 {
            match self {
                Broker(i) => u32::from(i),
                Member(i) => 10 + u32::from(i),
                Far(i) => (1 << 30) + u32::from(i),
            }
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Fate {
        Delivered,
        Dropped,
    }

    /// What the driver saw: when, what happened, on which ends, which message.
    type Seen = (Time, Fate, Node, Node, u32);

    /// The smallest driver: a `Queue` of head events, a clock, and a log of outcomes.
    struct Harness {
        net: Network<Node, u32>,
        queue: Queue<PathId>,
        now: Time,
        seen: Vec<Seen>,
    }

    impl Harness {
        fn new(seed: u64, min_ms: u64, max_ms: u64) -> Harness {
            Harness {
                net: Network::new(seed, min_ms, max_ms),
                queue: Queue::new(),
                now: Time::ZERO,
                seen: Vec::new(),
            }
        }

        fn send(&mut self, from: Node, to: Node, msg: u32) {
            if let Some((path, at)) = self.net.send(self.now, from, to, msg) {
                self.queue.push(at, path);
            }
        }

        fn rule(&mut self, from: Side<Node>, to: Side<Node>, state: Option<LinkState>) {
            let due = match state {
                Some(state) => self.net.set_rule(self.now, from, to, state),
                None => self.net.clear_rule(self.now, from, to),
            };
            for (path, at) in due {
                self.queue.push(at, path);
            }
        }

        /// Runs every head event up to and including `until`, then sets the clock to it.
        fn run_to(&mut self, until: Time) {
            while self.queue.peek_time().is_some_and(|t| t <= until) {
                let (at, path) = self.queue.pop().expect("peeked");
                assert!(at >= self.now, "time never runs backwards");
                self.now = at;
                let d = self.net.deliver(at, path);
                assert!(d.message.is_none() || d.dropped.is_none());
                if let Some((s, t, m)) = d.message {
                    self.seen.push((at, Fate::Delivered, s, t, m));
                }
                if let Some((s, t, m)) = d.dropped {
                    self.seen.push((at, Fate::Dropped, s, t, m));
                }
                if let Some(next) = d.next {
                    self.queue.push(next, path);
                }
            }
            self.now = self.now.max(until);
        }

        /// Message ids and times delivered on `from -> to`.
        fn delivered(&self, from: Node, to: Node) -> Vec<(Time, u32)> {
            self.seen
                .iter()
                .filter(|&&(_, f, s, t, _)| f == Fate::Delivered && s == from && t == to)
                .map(|&(at, _, _, _, m)| (at, m))
                .collect()
        }
    }

    #[test]
    fn endpoints_above_the_dense_range_get_their_own_paths_without_growing_the_table() {
        let mut h = Harness::new(3, 1, 4);
        h.send(Far(0), Far(1), 1);
        h.send(Far(1), Far(0), 2);
        h.send(Far(0), Broker(0), 3);
        h.send(Broker(0), Far(0), 4);
        h.send(Far(0), Far(1), 5);
        h.run_to(Time(100));
        assert_eq!(h.net.path_count(), 4);
        assert!(
            h.net.by_source.len() <= 1,
            "only Broker(0) is a dense source"
        );
        let ids = |v: Vec<(Time, u32)>| v.into_iter().map(|(_, m)| m).collect::<Vec<_>>();
        assert_eq!(ids(h.delivered(Far(0), Far(1))), vec![1, 5]);
        assert_eq!(ids(h.delivered(Far(1), Far(0))), vec![2]);
        assert_eq!(ids(h.delivered(Far(0), Broker(0))), vec![3]);
        assert_eq!(ids(h.delivered(Broker(0), Far(0))), vec![4]);
        assert_ne!(h.net.path(Far(0), Far(1)), h.net.path(Far(1), Far(0)));
    }

    #[test]
    fn a_path_is_fifo_even_when_a_later_draw_is_shorter() {
        let (a, b) = (Member(0), Broker(0));
        let mut h = Harness::new(3, 1, 100);
        for i in 0..50 {
            h.send(a, b, i);
            h.run_to(h.now.after(5));
        }
        h.run_to(Time::MAX);
        let got = h.delivered(a, b);
        let order: Vec<u32> = got.iter().map(|&(_, m)| m).collect();
        assert_eq!(order, (0..50).collect::<Vec<_>>());
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
        // The same draws, replayed: at least one message would have overtaken its
        // predecessor without the FIFO floor, so the test exercised it.
        let mut rng = SimRng::substream(3, Network::<Node, u32>::stream_id(a, b));
        let raw: Vec<u64> = (0..50u64).map(|i| i * 5 + rng.between(1, 100)).collect();
        assert!(raw.windows(2).any(|w| w[1] < w[0]));
        let floor: Vec<u64> = raw
            .iter()
            .scan(0, |last, &t| {
                *last = t.max(*last);
                Some(*last)
            })
            .collect();
        assert_eq!(got.iter().map(|&(t, _)| t.ms()).collect::<Vec<_>>(), floor);
        assert_eq!(h.net.in_flight(), 0);
    }

    #[test]
    fn traffic_on_one_path_does_not_shift_another_paths_latencies() {
        let (x, y) = ((Member(1), Broker(0)), (Member(2), Broker(0)));
        let mut quiet = Harness::new(9, 1, 100);
        let mut busy = Harness::new(9, 1, 100);
        for i in 0..20 {
            quiet.send(y.0, y.1, i);
            busy.send(x.0, x.1, 100 + i);
            busy.send(y.0, y.1, i);
            busy.send(x.0, x.1, 200 + i);
            quiet.run_to(quiet.now.after(150));
            busy.run_to(busy.now.after(150));
        }
        assert_eq!(busy.delivered(x.0, x.1).len(), 40);
        assert_eq!(quiet.delivered(y.0, y.1), busy.delivered(y.0, y.1));
        // And the latencies are the path's own stream, drawn in order.
        let mut rng = SimRng::substream(9, Network::<Node, u32>::stream_id(y.0, y.1));
        let want: Vec<(Time, u32)> = (0..20u32)
            .map(|i| (Time(u64::from(i) * 150 + rng.between(1, 100)), i))
            .collect();
        assert_eq!(quiet.delivered(y.0, y.1), want);
    }

    #[test]
    fn a_partition_drops_at_delivery_time_and_a_repair_lets_later_arrivals_through() {
        let (a, b) = (Member(0), Broker(0));
        let mut h = Harness::new(1, 10, 10);
        h.send(a, b, 1); // due 10, sent while healthy
        h.run_to(Time(5));
        h.rule(Side::One(a), Side::One(b), Some(LinkState::Partitioned));
        h.run_to(Time(20));
        h.send(a, b, 2); // due 30, sent while partitioned
        h.run_to(Time(25));
        h.rule(Side::One(a), Side::One(b), None);
        h.run_to(Time::MAX);
        assert_eq!(
            h.seen,
            vec![
                (Time(10), Fate::Dropped, a, b, 1),
                (Time(30), Fate::Delivered, a, b, 2),
            ]
        );
        assert_eq!(h.net.in_flight(), 0);
    }

    #[test]
    fn a_held_path_delivers_in_order_on_release_at_the_later_of_release_and_due() {
        let (a, b) = (Member(0), Broker(0));
        let mut h = Harness::new(1, 10, 10);
        h.rule(Side::One(a), Side::One(b), Some(LinkState::Held));
        h.send(a, b, 1); // due 10
        h.run_to(Time(5));
        h.send(a, b, 2); // due 15
        h.run_to(Time(12));
        h.send(a, b, 3); // due 22
        assert_eq!(h.net.in_flight(), 3);
        h.run_to(Time(20));
        assert!(h.seen.is_empty());
        let path = h.net.path(a, b).expect("created by the sends");
        let due = h.net.clear_rule(h.now, Side::One(a), Side::One(b));
        assert_eq!(due, vec![(path, Time(20))]);
        for (p, at) in due {
            h.queue.push(at, p);
        }
        h.run_to(Time::MAX);
        assert_eq!(
            h.delivered(a, b),
            vec![(Time(20), 1), (Time(20), 2), (Time(22), 3)]
        );
    }

    #[test]
    fn a_hold_that_begins_while_the_head_is_in_flight_keeps_it_once() {
        let (a, b) = (Member(0), Broker(0));
        // Held before the head event fires: the event finds the path held and parks it.
        let mut h = Harness::new(1, 10, 10);
        h.send(a, b, 1); // due 10
        h.run_to(Time(5));
        h.rule(Side::Any, Side::Any, Some(LinkState::Held));
        h.run_to(Time(50));
        assert!(h.seen.is_empty());
        h.rule(Side::Any, Side::Any, None);
        h.run_to(Time::MAX);
        assert_eq!(h.delivered(a, b), vec![(Time(50), 1)]);
        // Held and released before the head event fires: that event still delivers,
        // and the release schedules nothing more.
        let mut h = Harness::new(1, 10, 10);
        h.send(a, b, 1); // due 10
        h.run_to(Time(2));
        h.rule(Side::Any, Side::Any, Some(LinkState::Held));
        h.run_to(Time(4));
        assert!(h.net.clear_rule(h.now, Side::Any, Side::Any).is_empty());
        h.run_to(Time::MAX);
        assert_eq!(h.delivered(a, b), vec![(Time(10), 1)]);
        assert_eq!(h.seen.len(), 1);
    }

    #[test]
    fn a_path_created_under_a_rule_takes_its_state() {
        let (a, b) = (Member(3), Broker(1));
        let mut h = Harness::new(1, 10, 10);
        h.rule(
            Side::Class(MEMBERS),
            Side::Any,
            Some(LinkState::Partitioned),
        );
        assert_eq!(h.net.path_count(), 0);
        h.send(a, b, 7);
        let path = h.net.path(a, b).expect("created by the send");
        assert_eq!(h.net.state(path), LinkState::Partitioned);
        h.send(b, a, 8); // the other direction is not partitioned
        assert_eq!(h.net.state(h.net.path(b, a).unwrap()), LinkState::Healthy);
        h.run_to(Time::MAX);
        assert_eq!(
            h.seen,
            vec![
                (Time(10), Fate::Dropped, a, b, 7),
                (Time(10), Fate::Delivered, b, a, 8),
            ]
        );
    }

    #[test]
    fn rules_match_by_class_and_by_one_and_the_most_recent_wins() {
        let mut net: Network<Node, u32> = Network::new(1, 10, 10);
        let (m0, m1, b0) = (Member(0), Member(1), Broker(0));
        for (s, t) in [(m0, b0), (m1, b0), (b0, m0), (m0, m1)] {
            let _ = net.send(Time::ZERO, s, t, 0);
        }
        let state = |net: &Network<Node, u32>, s, t| net.state(net.path(s, t).unwrap());
        let _ = net.partition(Time::ZERO, Side::Class(MEMBERS), Side::Class(BROKERS));
        assert_eq!(state(&net, m0, b0), LinkState::Partitioned);
        assert_eq!(state(&net, m1, b0), LinkState::Partitioned);
        assert_eq!(state(&net, b0, m0), LinkState::Healthy);
        assert_eq!(state(&net, m0, m1), LinkState::Healthy);
        let _ = net.set_rule(Time::ZERO, Side::One(m1), Side::Any, LinkState::Healthy);
        assert_eq!(
            state(&net, m1, b0),
            LinkState::Healthy,
            "the later rule wins"
        );
        assert_eq!(state(&net, m0, b0), LinkState::Partitioned);
        let _ = net.hold(Time::ZERO, Side::Class(MEMBERS), Side::Class(BROKERS));
        assert_eq!(
            state(&net, m1, b0),
            LinkState::Held,
            "a replaced rule is the latest"
        );
        assert_eq!(net.rules.len(), 2, "same sides replace, not add");
        let _ = net.repair(Time::ZERO, Side::Class(MEMBERS), Side::Class(BROKERS));
        assert_eq!(state(&net, m0, b0), LinkState::Healthy);
        let _ = net.set_rule(Time::ZERO, Side::Any, Side::One(m1), LinkState::Held);
        assert_eq!(state(&net, m0, m1), LinkState::Held);
        assert_eq!(state(&net, b0, m0), LinkState::Healthy);
    }

    #[test]
    fn releases_come_back_in_ascending_path_order() {
        let mut net: Network<Node, u32> = Network::new(1, 10, 10);
        let _ = net.hold(Time::ZERO, Side::Any, Side::Any);
        let ends = [
            (Member(2), Broker(0)),
            (Broker(1), Member(0)),
            (Member(0), Broker(0)),
        ];
        for (s, t) in ends {
            assert_eq!(
                net.send(Time::ZERO, s, t, 0),
                None,
                "held paths schedule nothing"
            );
        }
        let _ = net.send(Time(3), Broker(1), Member(0), 1);
        assert_eq!(net.in_flight(), 4);
        assert_eq!(net.path_count(), 3);
        let due = net.clear_rule(Time(5), Side::Any, Side::Any);
        assert_eq!(
            due,
            vec![
                (PathId(0), Time(10)),
                (PathId(1), Time(10)),
                (PathId(2), Time(10))
            ]
        );
        assert_eq!(net.ends(PathId(1)), (Broker(1), Member(0)));
        let d = net.deliver(Time(10), PathId(1));
        assert_eq!(d.message, Some((Broker(1), Member(0), 0)));
        assert_eq!(d.next, Some(Time(13)));
    }

    #[test]
    fn the_seed_changes_latencies() {
        let run = |seed| {
            let mut h = Harness::new(seed, 1, 100);
            for i in 0..10 {
                h.send(Member(0), Broker(0), i);
                h.run_to(h.now.after(200));
            }
            h.delivered(Member(0), Broker(0))
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn equal_bounds_give_a_fixed_latency_without_drawing() {
        let mut h = Harness::new(5, 7, 7);
        for i in 0..5 {
            h.send(Member(i), Broker(0), u32::from(i));
            h.run_to(h.now.after(3));
        }
        h.run_to(Time::MAX);
        assert!(h.net.paths.iter().all(|p| p.rng.is_none()));
        let times: Vec<u64> = h.seen.iter().map(|s| s.0.ms()).collect();
        assert_eq!(times, vec![7, 10, 13, 16, 19]);
    }

    #[test]
    fn stream_ids_are_distinct_per_direction_and_clear_of_fixed_streams() {
        let id = Network::<Node, u32>::stream_id;
        let ids = [
            id(Member(0), Broker(0)),
            id(Broker(0), Member(0)),
            id(Member(1), Broker(0)),
            id(Member(0), Broker(1)),
        ];
        for (i, a) in ids.iter().enumerate() {
            assert!(a >> 63 == 1);
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
