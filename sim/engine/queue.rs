//! `Queue<E>`: the event queue, an indexed 4-ary min-heap on `(Time, seq)` with true
//! cancellation through generation-checked handles (`EntryId`).
//!
//! Not here: the clock (the driver advances it to each popped time) and what an event means.
//!
//! Layout: `heap` holds the entries themselves (time, insertion number, slot, payload);
//! `slots` is a slab indexed by `EntryId::slot` that records where in the heap each live
//! entry sits, so `cancel` finds it in O(1) and removes it in O(log n). Every move inside
//! the heap updates its slot. There is no lazy deletion: the heap holds exactly the live
//! entries, and `len()` is their number.

use super::time::Time;
use std::collections::BinaryHeap;

/// Children per heap node. Four halves the depth of a binary heap, so a pop moves fewer
/// entries; the extra sibling comparisons are on `(u64, u64)` keys that sit side by side.
const ARITY: usize = 2;

/// `SlotInfo::pos` of a slot that holds no live entry.
const VACANT: u32 = u32::MAX;

/// A handle to one pushed entry, good until that entry pops or is cancelled. After that
/// the handle is stale: `cancel` and `reschedule` with it do nothing, even once its slot
/// holds a newer entry (the generation no longer matches).
///
/// Generations are `u32` and wrap: a handle kept across 2^32 reuses of one slot could alias
/// a newer entry. A run holds handles for far shorter than that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryId {
    slot: u32,
    generation: u32,
}

/// An entry of the fixed heap, ordered by its key alone, reversed so `BinaryHeap` (a
/// max-heap) pops the earliest.
struct Fixed<E> {
    key: u128,
    ev: E,
}

impl<E> PartialEq for Fixed<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Fixed<E> {}
impl<E> PartialOrd for Fixed<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Fixed<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.key.cmp(&self.key)
    }
}

#[derive(Clone, Copy)]
struct HeapEntry<E> {
    at: Time,
    seq: u64,
    slot: u32,
    ev: E,
}

impl<E> HeapEntry<E> {
    /// The total order: time first, then insertion order, as one 128-bit number so a
    /// comparison is a single compare. `seq` is unique, so two entries never compare equal
    /// and no heap tie ever decides anything.
    fn key(&self) -> u128 {
        (u128::from(self.at.0) << 64) | u128::from(self.seq)
    }
}

struct SlotInfo {
    /// Index in `heap` of this slot's live entry, or `VACANT`.
    pos: u32,
    /// Bumped every time the slot's entry leaves, which invalidates its handles.
    generation: u32,
}

/// The events still to happen, earliest first; entries at the same `Time` come out in the
/// order they were pushed (or rescheduled).
pub struct Queue<E> {
    heap: Vec<HeapEntry<E>>,
    /// Entries that can never be cancelled (`push_fixed`): a plain min-heap on the same
    /// `(time, seq)` key, with no slot to keep up to date. `pop` takes the earlier head of
    /// the two heaps, so the order is the same as if both lived in one.
    fixed: BinaryHeap<Fixed<E>>,
    slots: Vec<SlotInfo>,
    /// Vacant slots, reused last-in first-out.
    free: Vec<u32>,
    /// The insertion number the next push (or reschedule) gets.
    next_seq: u64,
}

impl<E: Copy> Default for Queue<E> {
    fn default() -> Self {
        Queue::new()
    }
}

impl<E: Copy> Queue<E> {
    /// An empty queue.
    pub fn new() -> Queue<E> {
        Queue::with_capacity(0)
    }

    /// An empty queue with room for `n` live entries before it reallocates.
    pub fn with_capacity(n: usize) -> Queue<E> {
        Queue {
            heap: Vec::with_capacity(n),
            fixed: BinaryHeap::new(),
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            next_seq: 0,
        }
    }

    /// The number of live entries (pushed, and neither popped nor cancelled).
    pub fn len(&self) -> usize {
        self.heap.len() + self.fixed.len()
    }

    /// True when no entry is live.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.fixed.is_empty()
    }

    /// Schedules `ev` at `at` for good: it cannot be cancelled, so it costs no handle.
    /// It takes its place in the one `(time, seq)` order with every other entry. O(log n).
    pub fn push_fixed(&mut self, at: Time, ev: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.fixed.push(Fixed {
            key: (u128::from(at.0) << 64) | u128::from(seq),
            ev,
        });
    }

    /// Schedules `ev` at `at` and returns its handle. O(log n).
    ///
    /// Panics if more than `u32::MAX - 1` entries are live at once.
    pub fn push(&mut self, at: Time, ev: E) -> EntryId {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&s| s != VACANT)
                    .expect("fewer than u32::MAX live entries");
                self.slots.push(SlotInfo {
                    pos: VACANT,
                    generation: 0,
                });
                slot
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let pos = self.heap.len();
        self.heap.push(HeapEntry { at, seq, slot, ev });
        self.sift_up(pos);
        EntryId {
            slot,
            generation: self.slots[slot as usize].generation,
        }
    }

    /// The time of the earliest live entry, if any. O(1).
    pub fn peek_time(&self) -> Option<Time> {
        let a = self.heap.first().map(|e| e.at);
        let b = self.fixed.peek().map(|f| Time((f.key >> 64) as u64));
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Removes and returns the earliest live entry (the first pushed among equal times).
    /// O(log n).
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let fixed_first = match (self.heap.first(), self.fixed.peek()) {
            (None, None) => return None,
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some(h), Some(f)) => f.key < h.key(),
        };
        if fixed_first {
            let f = self.fixed.pop().expect("peeked");
            return Some((Time((f.key >> 64) as u64), f.ev));
        }
        let e = self.remove_at(0);
        Some((e.at, e.ev))
    }

    /// True while the entry behind `id` is live.
    pub fn contains(&self, id: EntryId) -> bool {
        self.live_pos(id).is_some()
    }

    /// Removes the entry behind `id` from the heap and returns its payload. O(log n).
    /// None, and no change, if that entry already popped or was cancelled.
    pub fn cancel(&mut self, id: EntryId) -> Option<E> {
        let pos = self.live_pos(id)?;
        Some(self.remove_at(pos).ev)
    }

    /// Moves the entry behind `id` to `at`, keeping its handle. It is ordered as if pushed
    /// now: among entries at `at`, it comes after those already queued. O(log n). False,
    /// and no change, if that entry already popped or was cancelled.
    pub fn reschedule(&mut self, id: EntryId, at: Time) -> bool {
        let Some(pos) = self.live_pos(id) else {
            return false;
        };
        let e = &mut self.heap[pos];
        e.at = at;
        e.seq = self.next_seq;
        self.next_seq += 1;
        self.restore(pos);
        true
    }

    /// The heap position of the live entry behind `id`.
    fn live_pos(&self, id: EntryId) -> Option<usize> {
        let info = self.slots.get(id.slot as usize)?;
        (info.generation == id.generation && info.pos != VACANT).then_some(info.pos as usize)
    }

    /// Takes the entry at heap position `pos` out, frees its slot and repairs the heap.
    fn remove_at(&mut self, pos: usize) -> HeapEntry<E> {
        let last = self.heap.len() - 1;
        self.heap.swap(pos, last);
        let removed = self.heap.pop().expect("the heap held the entry");
        if pos < last {
            self.restore(pos);
        }
        let info = &mut self.slots[removed.slot as usize];
        info.pos = VACANT;
        info.generation = info.generation.wrapping_add(1);
        self.free.push(removed.slot);
        removed
    }

    /// Moves the entry at `pos`, whose key just changed, up or down to its place.
    fn restore(&mut self, pos: usize) {
        if self.sift_up(pos) == pos {
            self.sift_down(pos);
        }
    }

    /// Records in the slab that the entry now at `pos` lives there.
    fn place(&mut self, pos: usize) {
        let slot = self.heap[pos].slot as usize;
        self.slots[slot].pos = pos as u32;
    }

    /// Moves the entry at `pos` towards the root while it is earlier than its parent;
    /// returns where it ended. The entry is held aside and parents move down into the
    /// hole, so each level costs one copy, not a swap.
    fn sift_up(&mut self, mut pos: usize) -> usize {
        let item = self.heap[pos];
        let key = item.key();
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            if key >= self.heap[parent].key() {
                break;
            }
            self.heap[pos] = self.heap[parent];
            self.place(pos);
            pos = parent;
        }
        self.heap[pos] = item;
        self.place(pos);
        pos
    }

    /// Moves the entry at `pos` towards the leaves while a child is earlier than it, with
    /// the same hole technique as `sift_up`.
    fn sift_down(&mut self, mut pos: usize) {
        let len = self.heap.len();
        let item = self.heap[pos];
        let key = item.key();
        loop {
            let first = pos * ARITY + 1;
            if first >= len {
                break;
            }
            let end = (first + ARITY).min(len);
            let mut best = first;
            let mut best_key = self.heap[first].key();
            for child in first + 1..end {
                let k = self.heap[child].key();
                if k < best_key {
                    best = child;
                    best_key = k;
                }
            }
            if best_key >= key {
                break;
            }
            self.heap[pos] = self.heap[best];
            self.place(pos);
            pos = best;
        }
        self.heap[pos] = item;
        self.place(pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SimRng;

    impl<E: Copy> Queue<E> {
        /// Panics unless the heap is ordered, every live slot points at its entry, and the
        /// vacant slots are exactly the free list.
        fn check(&self) {
            for pos in 1..self.heap.len() {
                let parent = (pos - 1) / ARITY;
                assert!(self.heap[parent].key() < self.heap[pos].key(), "heap order");
            }
            for (pos, e) in self.heap.iter().enumerate() {
                assert_eq!(
                    self.slots[e.slot as usize].pos as usize, pos,
                    "slab position"
                );
            }
            let vacant = self.slots.iter().filter(|s| s.pos == VACANT).count();
            assert_eq!(vacant, self.free.len(), "vacant slots are the free list");
            assert_eq!(
                self.slots.len() - vacant,
                self.len(),
                "len counts live entries"
            );
            for &slot in &self.free {
                assert_eq!(self.slots[slot as usize].pos, VACANT);
            }
        }
    }

    fn drain<E: Copy>(q: &mut Queue<E>) -> Vec<(Time, E)> {
        let mut out = Vec::new();
        while let Some(x) = q.pop() {
            out.push(x);
        }
        out
    }

    #[test]
    fn same_time_entries_pop_in_push_order() {
        let mut q = Queue::new();
        for i in 0..100u32 {
            // Interleave two times so the heap has to reorder around the ties.
            q.push(Time(u64::from(i % 2) * 10), i);
        }
        let got: Vec<u32> = drain(&mut q).into_iter().map(|(_, e)| e).collect();
        let want: Vec<u32> = (0..100).step_by(2).chain((1..100).step_by(2)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn pop_order_matches_a_sorted_reference() {
        let mut rng = SimRng::substream(11, 0);
        let mut q = Queue::with_capacity(5000);
        let mut reference = Vec::new();
        for i in 0..5000u32 {
            let at = Time(rng.below(500));
            q.push(at, i);
            reference.push((at, i));
        }
        q.check();
        // A stable sort by time keeps push order among equal times, as the queue must.
        reference.sort_by_key(|&(at, _)| at);
        assert_eq!(drain(&mut q), reference);
        assert!(q.is_empty());
    }

    #[test]
    fn cancel_the_min_a_middle_entry_and_the_last_entry() {
        let mut q = Queue::new();
        let ids: Vec<EntryId> = (0..10u64).map(|i| q.push(Time(i * 10), i)).collect();
        assert_eq!(q.cancel(ids[0]), Some(0), "the min");
        q.check();
        assert_eq!(q.peek_time(), Some(Time(10)));
        assert_eq!(q.cancel(ids[5]), Some(5), "a middle entry");
        q.check();
        // The last entry of the heap array is the most recently pushed here.
        assert_eq!(q.cancel(ids[9]), Some(9), "the last entry");
        q.check();
        assert_eq!(q.len(), 7);
        let got: Vec<u64> = drain(&mut q).into_iter().map(|(_, e)| e).collect();
        assert_eq!(got, vec![1, 2, 3, 4, 6, 7, 8]);
    }

    #[test]
    fn fixed_and_cancellable_entries_pop_in_one_time_then_push_order() {
        let mut q = Queue::new();
        q.push_fixed(Time(5), 'a');
        let b = q.push(Time(5), 'b');
        q.push_fixed(Time(3), 'c');
        q.push(Time(5), 'd');
        q.push_fixed(Time(5), 'e');
        assert_eq!(q.len(), 5);
        assert_eq!(q.peek_time(), Some(Time(3)));
        q.cancel(b);
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['c', 'a', 'd', 'e']);
        assert!(q.is_empty());
    }

    #[test]
    fn cancelling_twice_returns_none() {
        let mut q = Queue::new();
        let a = q.push(Time(5), 'a');
        q.push(Time(6), 'b');
        assert_eq!(q.cancel(a), Some('a'));
        assert_eq!(q.cancel(a), None);
        assert!(!q.contains(a));
        assert_eq!(q.len(), 1);
        let popped = q.push(Time(1), 'c');
        assert_eq!(q.pop(), Some((Time(1), 'c')));
        assert_eq!(q.cancel(popped), None, "a popped entry cannot be cancelled");
        q.check();
    }

    #[test]
    fn a_stale_handle_does_not_touch_the_entry_that_reused_its_slot() {
        let mut q = Queue::new();
        let old = q.push(Time(5), "old");
        assert_eq!(q.cancel(old), Some("old"));
        let new = q.push(Time(7), "new");
        assert_eq!(old.slot, new.slot, "the slot was reused");
        assert_ne!(old, new);
        assert_eq!(q.cancel(old), None);
        assert!(!q.reschedule(old, Time(1)));
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(), Some((Time(7), "new")));
    }

    #[test]
    fn len_tracks_live_entries_through_push_cancel_and_pop() {
        let mut q = Queue::new();
        let a = q.push(Time(3), 1);
        let b = q.push(Time(1), 2);
        q.push(Time(2), 3);
        assert_eq!(q.len(), 3);
        q.cancel(a);
        assert_eq!(q.len(), 2);
        q.cancel(a);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop(), Some((Time(1), 2)));
        assert_eq!(q.len(), 1);
        q.cancel(b);
        assert_eq!(q.len(), 1);
        q.pop();
        assert_eq!(q.len(), 0);
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
        assert_eq!(q.peek_time(), None);
        q.check();
    }

    #[test]
    fn reschedule_moves_an_entry_behind_those_already_at_its_new_time() {
        let mut q = Queue::new();
        let a = q.push(Time(1), 'a');
        q.push(Time(5), 'b');
        let c = q.push(Time(9), 'c');
        assert!(q.reschedule(a, Time(5)));
        assert!(q.reschedule(c, Time(0)));
        q.check();
        let got: Vec<char> = drain(&mut q).into_iter().map(|(_, e)| e).collect();
        assert_eq!(got, vec!['c', 'b', 'a']);
        assert!(!q.reschedule(a, Time(2)), "a popped entry stays popped");
    }

    /// The queue against the simplest model that is obviously right: a Vec of
    /// `(time, seq, payload)` searched for its minimum.
    #[test]
    fn matches_a_sorted_vec_model_under_a_random_mix_of_operations() {
        let mut rng = SimRng::substream(2024, 1);
        let mut q = Queue::new();
        let mut model: Vec<(Time, u64, u64)> = Vec::new();
        // Every handle ever issued, stale ones included, with its payload.
        let mut handles: Vec<(EntryId, u64)> = Vec::new();
        let mut seq = 0u64;
        let mut payload = 0u64;
        for step in 0..6000 {
            match rng.below(10) {
                0..=4 => {
                    let at = Time(rng.below(200));
                    let id = q.push(at, payload);
                    model.push((at, seq, payload));
                    handles.push((id, payload));
                    seq += 1;
                    payload += 1;
                }
                5 | 6 => {
                    let want = model
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, &(at, s, _))| (at, s))
                        .map(|(i, _)| i);
                    let want = want.map(|i| model.remove(i)).map(|(at, _, p)| (at, p));
                    assert_eq!(q.peek_time(), want.map(|(at, _)| at));
                    assert_eq!(q.pop(), want, "step {step}");
                }
                7 | 8 if !handles.is_empty() => {
                    let (id, p) = handles[rng.below(handles.len() as u64) as usize];
                    let want = model.iter().position(|&(_, _, mp)| mp == p);
                    let want = want.map(|i| model.remove(i).2);
                    assert_eq!(q.cancel(id), want, "step {step}");
                }
                _ if !handles.is_empty() => {
                    let (id, p) = handles[rng.below(handles.len() as u64) as usize];
                    let at = Time(rng.below(200));
                    let live = model.iter_mut().find(|(_, _, mp)| *mp == p);
                    let want = live.is_some();
                    if let Some(entry) = live {
                        *entry = (at, seq, p);
                        seq += 1;
                    }
                    assert_eq!(q.reschedule(id, at), want, "step {step}");
                }
                _ => {}
            }
            assert_eq!(q.len(), model.len(), "step {step}");
            if step % 97 == 0 {
                q.check();
            }
        }
        q.check();
        model.sort();
        let rest: Vec<(Time, u64)> = model.into_iter().map(|(at, _, p)| (at, p)).collect();
        assert_eq!(drain(&mut q), rest);
    }
}
