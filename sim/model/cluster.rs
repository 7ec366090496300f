//! The brokers, as one component until replication splits them: partition logs, produce
//! (with the idempotent producer's sequence check), fetch with `fetch.max.wait.ms`
//! parking, and ListOffsets.
//!
//! Inputs: `Produce`, `Fetch` and `ListOffsets` messages, and the `FetchWait` timer.
//! Outputs: their answers, `Append`/`DuplicateIgnored` trace records, and fetch-wait timers
//! (cancelled when a parked fetch is answered early, so none outlives its request).
//! Replication is not modelled yet: each partition lives on its leader only, the high
//! watermark follows every append, and acks=all behaves as acks=1 (README says so). What
//! does not live here: the group coordinator (`coordinator.rs`) and anything a client
//! decides.

use crate::model::io::{
    Endpoint, FetchRequest, Msg, Out, Produce, ProduceBatch, ProduceResults, Timer, TimerKey,
};
use crate::model::log::{Offset, PartitionLog, Record};
use crate::scenario::{Acks, OffsetReset};
use crate::trace::{Kind, PartId, SendError};
use std::collections::BTreeMap;

/// Kafka keeps the last five batches per producer and partition to recognise retries
/// (`ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
const BATCHES_TO_RETAIN: usize = 5;

/// The broker's state for one producer id on one partition (`ProducerStateEntry`).
#[derive(Default)]
struct SequenceState {
    /// The producer epoch of the last append; None before the first.
    epoch: Option<u16>,
    last_sequence: u32,
    /// (first sequence, last sequence, base offset) of the last appended batches, oldest
    /// first.
    recent: Vec<(u32, u32, Offset)>,
}

enum AppendResult {
    Appended(Offset),
    Duplicate(Offset),
    Refused(SendError),
}

/// A fetch waiting for data or for fetch.max.wait.ms.
struct Parked {
    member: u32,
    request: Box<FetchRequest>,
}

pub struct Cluster {
    logs: Vec<PartitionLog>,
    sequences: BTreeMap<(u32, PartId), SequenceState>,
    parked: Vec<Parked>,
    scratch: Vec<Record>,
}

impl Cluster {
    pub fn new(partitions: usize) -> Cluster {
        Cluster {
            logs: (0..partitions).map(|_| PartitionLog::default()).collect(),
            sequences: BTreeMap::new(),
            parked: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Leader broker (0-based) of each partition, spread like Kafka's round-robin replica
    /// placement and offset per topic (`AdminUtils.assignReplicasToBrokers`, rack-unaware).
    pub fn leaders(partitions_per_topic: &[u32], brokers: u32) -> Vec<u32> {
        let mut leaders = Vec::new();
        for (t, &n) in partitions_per_topic.iter().enumerate() {
            for i in 0..n as usize {
                leaders.push(((i + t) % brokers as usize) as u32);
            }
        }
        leaders
    }

    pub fn log(&self, part: PartId) -> &PartitionLog {
        &self.logs[part.ix()]
    }

    pub fn on_message(&mut self, from: Endpoint, msg: Msg, out: &mut Out) {
        match (from, msg) {
            (Endpoint::Client(_), Msg::Produce(p)) => self.produce(from, p, out),
            (Endpoint::Member(m), Msg::Fetch(request)) => self.fetch(m, request, out),
            (
                Endpoint::Member(_),
                Msg::ListOffsets {
                    request_id,
                    parts,
                    reset,
                },
            ) => {
                let offsets = parts
                    .iter()
                    .map(|&p| {
                        let log = &self.logs[p.ix()];
                        let o = match reset {
                            OffsetReset::Earliest => log.log_start_offset(),
                            OffsetReset::Latest => log.high_watermark(),
                        };
                        (p, o)
                    })
                    .collect();
                out.send(
                    from,
                    Msg::ListOffsetsResponse {
                        request_id,
                        offsets,
                    },
                );
            }
            (from, msg) => unreachable!("the cluster got {msg:?} from {from:?}"),
        }
    }

    pub fn on_timer(&mut self, timer: Timer, out: &mut Out) {
        let Timer::FetchWait { member, fetch_id } = timer else {
            unreachable!("the cluster sets no {timer:?} timer");
        };
        if let Some(i) = self
            .parked
            .iter()
            .position(|p| p.member == member && p.request.fetch_id == fetch_id)
        {
            self.parked.swap_remove(i);
            out.send(
                Endpoint::Member(member),
                Msg::FetchResponse {
                    fetch_id,
                    records: Vec::new(),
                },
            );
        }
    }

    /// A produce request: each batch is appended (or recognised as a retry, or refused)
    /// and answered in the request's order.
    fn produce(&mut self, from: Endpoint, p: Produce, out: &mut Out) {
        let mut results = ProduceResults::new();
        for batch in &p.batches {
            let result = if p.idempotent {
                self.append_idempotent(p.producer_id, batch)
            } else {
                AppendResult::Appended(self.append_all(batch))
            };
            let result = match result {
                AppendResult::Appended(base) => {
                    for (i, &event) in batch.events.iter().enumerate() {
                        out.trace(Kind::Append {
                            sender: p.sender,
                            event,
                            part: batch.part,
                            offset: Offset(base.value() + i as u64),
                        });
                    }
                    self.wake_parked(batch.part, out);
                    Ok(base)
                }
                AppendResult::Duplicate(base) => {
                    for (i, &event) in batch.events.iter().enumerate() {
                        out.trace(Kind::DuplicateIgnored {
                            event,
                            part: batch.part,
                            offset: Offset(base.value() + i as u64),
                        });
                    }
                    Ok(base)
                }
                AppendResult::Refused(error) => Err(error),
            };
            results.push((batch.part, result));
        }
        if p.acks != Acks::None {
            out.send(
                from,
                Msg::ProduceResponse {
                    producer_id: p.producer_id,
                    request_id: p.request_id,
                    results,
                },
            );
        }
    }

    fn append_all(&mut self, batch: &ProduceBatch) -> Offset {
        let log = &mut self.logs[batch.part.ix()];
        let base = log.log_end_offset();
        for &event in &batch.events {
            log.append(event);
        }
        base
    }

    /// An idempotent producer's batch, checked as `ProducerAppendInfo` and
    /// `ProducerStateEntry.findDuplicateBatch` do:
    /// - the same epoch and exactly the (first, last) sequences of one of the last five
    ///   batches: a retry, acknowledged with its original offset and not appended;
    /// - an older epoch than the last append: refused (`INVALID_PRODUCER_EPOCH`);
    /// - a newer epoch must start at sequence 0, the same epoch at the sequence after the
    ///   last, else `OUT_OF_ORDER_SEQUENCE_NUMBER`;
    /// - a producer id this partition has never seen may start anywhere (Kafka accepts
    ///   any sequence when it holds no state for the producer).
    fn append_idempotent(&mut self, producer_id: u32, batch: &ProduceBatch) -> AppendResult {
        let first = batch.base_sequence;
        let last = first.wrapping_add(batch.events.len() as u32 - 1);
        let state = self.sequences.entry((producer_id, batch.part)).or_default();
        match state.epoch {
            Some(epoch) if batch.epoch == epoch => {
                if let Some(&(_, _, base)) =
                    state.recent.iter().find(|r| r.0 == first && r.1 == last)
                {
                    return AppendResult::Duplicate(base);
                }
                if first != state.last_sequence.wrapping_add(1) {
                    return AppendResult::Refused(SendError::OutOfOrderSequence);
                }
            }
            Some(epoch) if batch.epoch < epoch => {
                return AppendResult::Refused(SendError::InvalidProducerEpoch);
            }
            Some(_) => {
                if first != 0 {
                    return AppendResult::Refused(SendError::OutOfOrderSequence);
                }
                state.recent.clear();
            }
            None => {}
        }
        state.epoch = Some(batch.epoch);
        state.last_sequence = last;
        if state.recent.len() == BATCHES_TO_RETAIN {
            state.recent.remove(0);
        }
        let log = &mut self.logs[batch.part.ix()];
        let base = log.log_end_offset();
        for &event in &batch.events {
            log.append(event);
        }
        state.recent.push((first, last, base));
        AppendResult::Appended(base)
    }

    /// Up to max_records from the request's positions, in its order, below the high
    /// watermark; or park it until data arrives or fetch.max.wait.ms passes.
    fn fetch(&mut self, member: u32, request: Box<FetchRequest>, out: &mut Out) {
        if !self.answer_if_data(member, &request, out) {
            out.set_timer(
                fetch_wait_key(member),
                request.max_wait_ms,
                Timer::FetchWait {
                    member,
                    fetch_id: request.fetch_id,
                },
            );
            // A member has at most one fetch outstanding: a newer one replaces an older.
            self.parked.retain(|p| p.member != member);
            self.parked.push(Parked { member, request });
        }
    }

    fn answer_if_data(&mut self, member: u32, request: &FetchRequest, out: &mut Out) -> bool {
        let mut records = std::mem::take(&mut self.scratch);
        records.clear();
        for &(part, position) in &request.positions {
            let room = request.max_records - records.len();
            if room == 0 {
                break;
            }
            self.logs[part.ix()].read(position, room, part, &mut records);
        }
        if records.is_empty() {
            self.scratch = records;
            return false;
        }
        out.send(
            Endpoint::Member(member),
            Msg::FetchResponse {
                fetch_id: request.fetch_id,
                records,
            },
        );
        true
    }

    /// New data on `part`: parked fetches that cover it are answered now and their wait
    /// timers cancelled.
    fn wake_parked(&mut self, part: PartId, out: &mut Out) {
        let mut i = 0;
        while i < self.parked.len() {
            if self.parked[i]
                .request
                .positions
                .iter()
                .any(|&(p, _)| p == part)
            {
                let parked = self.parked.swap_remove(i);
                out.cancel_timer(fetch_wait_key(parked.member));
                let answered = self.answer_if_data(parked.member, &parked.request, out);
                debug_assert!(answered, "an append below the high watermark is readable");
            } else {
                i += 1;
            }
        }
    }
}

fn fetch_wait_key(member: u32) -> TimerKey {
    u64::from(member)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Time;
    use crate::trace::{ActorId, EventIx};

    fn produce_at(event: EventIx, epoch: u16, sequence: u32, idempotent: bool) -> Msg {
        Msg::Produce(Produce {
            sender: ActorId(0),
            producer_id: 7,
            request_id: event.0,
            idempotent,
            acks: Acks::All,
            batches: vec![ProduceBatch {
                part: PartId(0),
                epoch,
                base_sequence: sequence,
                events: vec![event].into(),
            }]
            .into(),
        })
    }

    fn produce(event: EventIx, sequence: u32, idempotent: bool) -> Msg {
        produce_at(event, 0, sequence, idempotent)
    }

    fn answers(out: &Out) -> Vec<Result<Offset, SendError>> {
        out.sends
            .iter()
            .flat_map(|(_, m)| match m {
                Msg::ProduceResponse { results, .. } => results.iter().map(|r| r.1).collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn an_idempotent_retry_is_acknowledged_with_its_first_offset_and_not_appended() {
        let mut c = Cluster::new(1);
        let mut out = Out::at(Time(1));
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, true), &mut out);
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, true), &mut out);
        assert_eq!(answers(&out), vec![Ok(Offset(0)), Ok(Offset(0))]);
        assert_eq!(c.log(PartId(0)).log_end_offset(), Offset(1));
    }

    #[test]
    fn a_sequence_gap_is_refused_as_out_of_order() {
        let mut c = Cluster::new(1);
        let mut out = Out::at(Time(1));
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, true), &mut out);
        c.on_message(Endpoint::Client(0), produce(EventIx(2), 2, true), &mut out);
        assert_eq!(
            answers(&out),
            vec![Ok(Offset(0)), Err(SendError::OutOfOrderSequence)]
        );
        assert_eq!(c.log(PartId(0)).log_end_offset(), Offset(1));
    }

    #[test]
    fn a_retry_older_than_the_five_batch_window_is_out_of_order() {
        let mut c = Cluster::new(1);
        let mut out = Out::at(Time(1));
        for s in 0..6 {
            c.on_message(Endpoint::Client(0), produce(EventIx(s), s, true), &mut out);
        }
        c.on_message(Endpoint::Client(0), produce(EventIx(1), 1, true), &mut out);
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, true), &mut out);
        assert_eq!(
            answers(&out)[6..],
            [Ok(Offset(1)), Err(SendError::OutOfOrderSequence)]
        );
    }

    #[test]
    fn a_new_epoch_starts_at_zero_and_fences_the_old_one() {
        let mut c = Cluster::new(1);
        let mut out = Out::at(Time(1));
        c.on_message(
            Endpoint::Client(0),
            produce_at(EventIx(0), 0, 0, true),
            &mut out,
        );
        c.on_message(
            Endpoint::Client(0),
            produce_at(EventIx(1), 1, 3, true),
            &mut out,
        );
        c.on_message(
            Endpoint::Client(0),
            produce_at(EventIx(2), 1, 0, true),
            &mut out,
        );
        c.on_message(
            Endpoint::Client(0),
            produce_at(EventIx(3), 0, 1, true),
            &mut out,
        );
        assert_eq!(
            answers(&out),
            vec![
                Ok(Offset(0)),
                Err(SendError::OutOfOrderSequence),
                Ok(Offset(1)),
                Err(SendError::InvalidProducerEpoch)
            ]
        );
    }

    #[test]
    fn without_idempotence_a_retry_appends_a_second_copy() {
        let mut c = Cluster::new(1);
        let mut out = Out::at(Time(1));
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, false), &mut out);
        c.on_message(Endpoint::Client(0), produce(EventIx(0), 0, false), &mut out);
        assert_eq!(answers(&out), vec![Ok(Offset(0)), Ok(Offset(1))]);
    }

    #[test]
    fn an_empty_fetch_parks_until_an_append_answers_it_and_cancels_its_timer() {
        let mut c = Cluster::new(1);
        let mut out = Out::at(Time(1));
        let request = FetchRequest {
            fetch_id: 3,
            positions: vec![(PartId(0), Offset(0))],
            max_records: 10,
            max_wait_ms: 500,
        };
        c.on_message(Endpoint::Member(4), Msg::Fetch(Box::new(request)), &mut out);
        assert!(out.sends.is_empty());
        assert!(matches!(
            out.timers[..],
            [crate::model::io::TimerOp::Set { .. }]
        ));
        let mut out = Out::at(Time(2));
        c.on_message(Endpoint::Client(0), produce(EventIx(9), 0, true), &mut out);
        assert!(matches!(
            out.timers[..],
            [crate::model::io::TimerOp::Cancel { key: 4 }]
        ));
        let fetched: Vec<&Msg> = out
            .sends
            .iter()
            .filter(|(to, _)| *to == Endpoint::Member(4))
            .map(|(_, m)| m)
            .collect();
        match fetched[..] {
            [Msg::FetchResponse {
                fetch_id: 3,
                records,
            }] => {
                assert_eq!(
                    records[..],
                    [Record {
                        part: PartId(0),
                        offset: Offset(0),
                        event: EventIx(9)
                    }]
                )
            }
            _ => panic!("expected one fetch answer, got {fetched:?}"),
        }
    }
}
