//! The Kafka cluster: partition logs led by brokers, and the idempotent-producer state.
//!
//! A partition is an append-only `Vec` of event indexes; an offset is an index into it.
//! Replication is not modelled yet: each partition lives on its leader only (acks=all is
//! accepted and behaves as acks=1; README says so). What does not live here: the group
//! coordinator (`group.rs`) and anything a client decides.

use crate::trace::{EventIx, PartId};
use std::collections::BTreeMap;

/// Kafka keeps the last five batches per producer and partition to recognise retries.
const BATCHES_TO_RETAIN: usize = 5;

#[derive(Default)]
struct SequenceState {
    next_seq: u32,
    /// (sequence, offset) of the last appends, oldest first.
    recent: Vec<(u32, u64)>,
}

pub enum AppendResult {
    Appended(u64),
    Duplicate(u64),
    OutOfOrderSequence,
}

pub struct Cluster {
    pub logs: Vec<Vec<EventIx>>,
    /// Leader broker (0-based) of each partition.
    pub leaders: Vec<u32>,
    /// While `now < down_until`, every broker is unreachable.
    pub down_until: u64,
    sequences: BTreeMap<(u32, PartId), SequenceState>,
    next_pid: u32,
}

impl Cluster {
    pub fn new(partitions: usize, brokers: u32, first_partition_of_topic: &[usize]) -> Cluster {
        // Leaders are spread like Kafka's round-robin replica placement, offset per topic.
        let mut leaders = vec![0; partitions];
        for (t, &first) in first_partition_of_topic.iter().enumerate() {
            let end = first_partition_of_topic
                .get(t + 1)
                .copied()
                .unwrap_or(partitions);
            for (i, leader) in leaders[first..end].iter_mut().enumerate() {
                *leader = ((i + t) % brokers as usize) as u32;
            }
        }
        Cluster {
            logs: vec![Vec::new(); partitions],
            leaders,
            down_until: 0,
            sequences: BTreeMap::new(),
            next_pid: 1000,
        }
    }

    pub fn is_up(&self, now: u64) -> bool {
        now >= self.down_until
    }

    /// InitProducerId: every producer incarnation gets a fresh id, so a restarted producer's
    /// retries are not recognised as duplicates of its previous life.
    pub fn init_producer_id(&mut self) -> u32 {
        self.next_pid += 1;
        self.next_pid
    }

    pub fn end_offset(&self, part: PartId) -> u64 {
        self.logs[part as usize].len() as u64
    }

    /// A plain append (no idempotence).
    pub fn append(&mut self, part: PartId, event: EventIx) -> u64 {
        let log = &mut self.logs[part as usize];
        log.push(event);
        log.len() as u64 - 1
    }

    /// An idempotent producer's append: exact retries are acknowledged with their original
    /// offset, and a gap in the sequence is refused so the producer resends in order.
    pub fn append_idempotent(
        &mut self,
        pid: u32,
        seq: u32,
        part: PartId,
        event: EventIx,
    ) -> AppendResult {
        let state = self.sequences.entry((pid, part)).or_default();
        if seq < state.next_seq {
            return match state.recent.iter().find(|(s, _)| *s == seq) {
                Some(&(_, offset)) => AppendResult::Duplicate(offset),
                None => AppendResult::OutOfOrderSequence,
            };
        }
        if seq > state.next_seq {
            return AppendResult::OutOfOrderSequence;
        }
        state.next_seq += 1;
        let log = &mut self.logs[part as usize];
        log.push(event);
        let offset = log.len() as u64 - 1;
        if state.recent.len() == BATCHES_TO_RETAIN {
            state.recent.remove(0);
        }
        state.recent.push((seq, offset));
        AppendResult::Appended(offset)
    }
}
