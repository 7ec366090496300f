//! The producer client's partitioner: where each record goes, as the client named by the
//! producer's `partitioner` setting decides it.
//!
//! A keyed record goes to `hash % partitions`, from the key's hash that the owner computed
//! once per key with `PartitionerKind::key_hash` (`sim/partitioner.rs`) and the partition
//! count this client knows (its metadata). A null key (or, for
//! librdkafka's `consistent_random`, an empty one) takes the client's null-key path:
//! - Java 3.3+ (`BuiltInPartitioner`, KIP-794): stick to one partition until a batch's worth
//!   of records has been produced to it, then draw the next one (see [`Partitioner::appended`]);
//! - librdkafka (`rd_kafka_msg_sticky_partition`): a random partition, kept for
//!   `sticky.partitioning.linger.ms` (10 ms), then a new random one;
//! - kafkajs (`partitioner.js`): round robin, `toPositive(++counter) % partitions`, from a
//!   counter that starts at a random 32-bit value.
//!
//! The partitioner is part of the `ProducerClient`, as Kafka's `BuiltInPartitioner` is part of
//! its `RecordAccumulator`: the client asks it for a partition before it appends a record, and
//! tells it afterwards whether the batch the record joined is full. Its random draws come from
//! its own sub-stream of the seed, which the driver hands it (`world.rs`).
//!
//! Not modelled: unavailable partitions (every partition has a leader in kafkasim, so
//! "available partitions" are all partitions), `partitioner.availability.timeout.ms`,
//! `partitioner.ignore.keys`, and explicit partitions on a record.

use crate::engine::Time;
use crate::partitioner::{adaptive_pick, PartitionerKind};
use crate::rng::SimRng;
use crate::trace::PartId;

/// librdkafka's `sticky.partitioning.linger.ms` default (`CONFIGURATION.md`): how long a
/// null-key partition is kept before a new random one is drawn.
pub const STICKY_LINGER_MS: u64 = 10;

/// What a null-key record does, per client.
#[derive(Clone, Debug)]
enum NullKeys {
    /// Java's KIP-794 uniform sticky partitioner: the partition being filled (drawn at the
    /// next null-key record when `None`) and the records produced to it so far (Kafka counts
    /// bytes; kafkasim counts records against `BATCH_RECORDS`, its stand-in for `batch.size`).
    UniformSticky { current: Option<u32>, produced: u64 },
    /// librdkafka's sticky random partition and when it was drawn.
    StickyRandom { current: Option<(u32, Time)> },
    /// kafkajs's round-robin counter.
    RoundRobin { counter: u32 },
}

/// One producer client's partitioner for its topic.
pub struct Partitioner {
    pub kind: PartitionerKind,
    /// The topic's first partition (PartIds of a topic are consecutive).
    pub first: PartId,
    pub partitions: u32,
    null_keys: NullKeys,
    rng: SimRng,
}

impl Partitioner {
    /// The partitioner `kind` for a topic of `partitions` partitions starting at `first`.
    /// `round_robin_start` is kafkajs's random counter start (`randomBytes(32).readUInt32BE(0)`);
    /// `rng` is this partitioner's own sub-stream for every later draw.
    pub fn new(
        kind: PartitionerKind,
        first: PartId,
        partitions: u32,
        round_robin_start: u32,
        rng: SimRng,
    ) -> Partitioner {
        let null_keys = match kind {
            PartitionerKind::Java => NullKeys::UniformSticky {
                current: None,
                produced: 0,
            },
            PartitionerKind::LibrdkafkaConsistentRandom
            | PartitionerKind::LibrdkafkaMurmur2Random => NullKeys::StickyRandom { current: None },
            PartitionerKind::Kafkajs | PartitionerKind::KafkajsLegacy => NullKeys::RoundRobin {
                counter: round_robin_start,
            },
        };
        Partitioner {
            kind,
            first,
            partitions,
            null_keys,
            rng,
        }
    }

    /// The partition of the next record: `keyed` is its key's hash (`PartitionerKind::key_hash`),
    /// placed at `hash % partitions`; `None` for a record that takes the null-key path. `queue_sizes(p)` is the number of batches waiting in the
    /// accumulator for partition `p`, which Java's adaptive choice weighs.
    pub fn partition(
        &mut self,
        keyed: Option<u32>,
        now: Time,
        queue_sizes: impl Fn(PartId) -> usize,
    ) -> PartId {
        if let Some(hash) = keyed {
            return self.first.plus(hash % self.partitions);
        }
        let n = self.partitions;
        let offset = match &mut self.null_keys {
            NullKeys::UniformSticky { current, .. } => match *current {
                Some(p) => p,
                None => {
                    // BuiltInPartitioner.nextPartition with adaptive partitioning on (the
                    // default): weighted by queue sizes, uniform when they are all equal.
                    let sizes: Vec<u32> = (0..n)
                        .map(|i| queue_sizes(self.first.plus(i)) as u32)
                        .collect();
                    let rng = &mut self.rng;
                    let p = adaptive_pick(&sizes, |total| rng.below(total)) as u32;
                    *current = Some(p);
                    p
                }
            },
            NullKeys::StickyRandom { current } => match *current {
                Some((p, since)) if now.since(since) < STICKY_LINGER_MS => p,
                _ => {
                    let p = self.rng.below(u64::from(n)) as u32;
                    *current = Some((p, now));
                    p
                }
            },
            NullKeys::RoundRobin { counter } => {
                *counter = counter.wrapping_add(1);
                (*counter & 0x7fff_ffff) % n
            }
        };
        self.first.plus(offset)
    }

    /// `BuiltInPartitioner.updatePartitionInfo`, called by the client after it appended a
    /// null-key record to `part`; `batch_full` is `RecordAccumulator.allBatchesFull`: whether
    /// the batch the record joined is now full.
    ///
    /// Java switches once it has produced a batch's worth to the partition *and* the last
    /// batch is full (so batches are not cut short), or regardless once it has produced two
    /// batches' worth. The next partition may be the same one again (KIP-794 does not exclude
    /// it). Other clients decide per record and ignore this.
    pub fn appended(&mut self, part: PartId, batch_full: bool, batch_records: usize) {
        let NullKeys::UniformSticky { current, produced } = &mut self.null_keys else {
            return;
        };
        if *current != Some(part.0 - self.first.0) {
            return;
        }
        *produced += 1;
        let batch = batch_records as u64;
        if (*produced >= batch && batch_full) || *produced >= 2 * batch {
            *current = None;
            *produced = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::producer::BATCH_RECORDS;

    fn partitioner(kind: PartitionerKind, start: u32) -> Partitioner {
        Partitioner::new(kind, PartId(10), 3, start, SimRng::substream(1, 1 << 62))
    }

    #[test]
    fn kafkajs_null_keys_go_round_robin_from_the_seeded_start() {
        let mut p = partitioner(PartitionerKind::Kafkajs, 0);
        let parts: Vec<PartId> = (0..4).map(|_| p.partition(None, Time(0), |_| 0)).collect();
        assert_eq!(parts, [11, 12, 10, 11].map(PartId).to_vec());
        assert_eq!(p.partition(Some(2), Time(0), |_| 0), PartId(12));
        assert_eq!(
            p.partition(Some(7), Time(0), |_| 0),
            PartId(11),
            "7 % 3 partitions"
        );
    }

    #[test]
    fn the_kafkajs_counter_wraps_like_to_positive() {
        let mut p = partitioner(PartitionerKind::KafkajsLegacy, u32::MAX);
        // ++counter wraps to 0; toPositive(0) % 3 = 0.
        assert_eq!(p.partition(None, Time(0), |_| 0), PartId(10));
    }

    #[test]
    fn librdkafka_keeps_a_random_partition_for_the_sticky_linger() {
        let mut p = partitioner(PartitionerKind::LibrdkafkaMurmur2Random, 0);
        let first = p.partition(None, Time(0), |_| 0);
        for t in 1..STICKY_LINGER_MS {
            assert_eq!(p.partition(None, Time(t), |_| 0), first);
        }
        // From 10 ms on each draw is new; over many windows every partition turns up.
        let mut seen = [false; 3];
        for w in 1..40 {
            let part = p.partition(None, Time(w * STICKY_LINGER_MS), |_| 0);
            seen[(part.0 - 10) as usize] = true;
        }
        assert_eq!(seen, [true; 3]);
    }

    #[test]
    fn adaptive_choice_avoids_the_partition_with_the_longest_queue() {
        // Sizes [0, 9, 0]: partition 1 has frequency 1 out of 21, the others 10 each.
        let mut p = partitioner(PartitionerKind::Java, 0);
        let mut counts = [0u32; 3];
        for _ in 0..200 {
            let part = p.partition(None, Time(0), |q| if q == PartId(11) { 9 } else { 0 });
            counts[(part.0 - 10) as usize] += 1;
            // Force a switch: two batches' worth produced.
            for _ in 0..2 * BATCH_RECORDS {
                p.appended(part, false, BATCH_RECORDS);
            }
        }
        assert!(counts[1] < 30, "partition 1 was picked {} times", counts[1]);
        assert!(counts[0] > 60 && counts[2] > 60, "{counts:?}");
    }
}
