//! The followers' side of replication, and the leader's view of its followers: each
//! follower's fetch loop (`ReplicaFetcherThread`, one fetch per partition here), the
//! leader's answer or parking of a follower's fetch (`Partition.fetchRecords`,
//! `replica.fetch.wait.max.ms`), the fetch offset as the follower's log end offset
//! (`Partition.updateFollowerFetchState`), truncation where the logs diverge (KIP-320),
//! timeouts and backoff (`replica.socket.timeout.ms`, `replica.fetch.backoff.ms`), and the
//! ISR's shrinking and growing (`isr-expiration`, `Partition.maybeExpandIsr`).

use super::{replicate_key, Cluster, REPLICA_WAITS};
use crate::engine::Time;
use crate::model::io::{Endpoint, Msg, Out, ReplicaFetch, ReplicaFetchResponse, Timer};
use crate::model::log::Offset;
use crate::trace::{Kind, PartId};

/// A follower's fetch answer carries at most `replica.fetch.max.bytes` (1 MiB, Kafka's
/// default) of records.
const REPLICA_FETCH_MAX_RECORDS: usize = (1 << 20) / crate::scenario::RECORD_BYTES as usize;

/// One replica's fetch loop as a follower, and what its leader knows of it (Kafka's
/// `ReplicaFetcherThread` state for the partition, and the leader's `Replica` state).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ReplicaState {
    /// The id of this follower's fetch in flight.
    pub(super) in_flight: Option<u32>,
    pub(super) next_fetch_id: u32,
    /// A follower timer (fetch timeout or backoff) is set.
    pub(super) timer_set: bool,
    /// The leader's view: the follower's log end offset as of its last fetch.
    pub(super) known_log_end_offset: Offset,
    /// When the follower was last caught up with the leader (`lastCaughtUpTimeMs`).
    pub(super) last_caught_up: Time,
    /// The leader's log end offset, and the time, at the follower's previous fetch.
    pub(super) leader_end_at_last_fetch: Offset,
    pub(super) last_fetch: Time,
    /// This follower's fetch parked at the leader: its id and when it was sent.
    pub(super) parked: Option<(u32, Time)>,
    /// Its log was compared with the leader's whole log since its fetch loop last
    /// (re)started. Kafka finds a follower's divergence by leader epoch (KIP-320) on its
    /// first fetch from a leader; kafkasim compares the records then, and afterwards only
    /// the last one, since a follower appends only what its leader sends it.
    pub(super) verified: bool,
}

impl Cluster {
    /// The network lost a replica fetch or its answer (a cut link, a `messages:` drop),
    /// or delays it (a `messages:` delay): the follower gives the fetch up
    /// replica.socket.timeout.ms after sending it, unless the answer comes first.
    pub fn on_lost_or_late(&mut self, msg: &Msg, out: &mut Out) {
        let (part, replica, fetch_id, sent_at) = match msg {
            Msg::ReplicaFetch(f) => (f.part, f.replica, f.fetch_id, f.sent_at),
            Msg::ReplicaFetchResponse(r) => (r.part, r.replica, r.fetch_id, r.sent_at),
            _ => return,
        };
        self.time_out(part, replica, fetch_id, sent_at, out);
    }

    pub(super) fn time_out(
        &mut self,
        part: PartId,
        replica: u32,
        fetch_id: u32,
        sent_at: Time,
        out: &mut Out,
    ) {
        let state = &mut self.parts[part.ix()].replicas[replica as usize];
        if state.in_flight != Some(fetch_id) {
            return;
        }
        state.timer_set = true;
        out.set_timer_at(
            replicate_key(part, replica as usize),
            sent_at.after(self.replica_socket_timeout_ms).max(out.now),
            Timer::ReplicaFetchTimeout {
                part,
                replica,
                fetch_id,
            },
        );
    }

    /// A follower's fetch failed: it tries again after replica.fetch.backoff.ms.
    pub(super) fn back_off(&mut self, part: PartId, r: usize, out: &mut Out) {
        let state = &mut self.parts[part.ix()].replicas[r];
        state.in_flight = None;
        state.timer_set = true;
        out.set_timer(
            replicate_key(part, r),
            self.replica_backoff_ms,
            Timer::Replicate {
                part,
                replica: r as u32,
            },
        );
    }

    /// Follower `r` of `part` sends a fetch to its leader from its log end offset, unless
    /// it is the leader, is down, has none, or has a fetch in flight already.
    pub(super) fn fetch_from_leader(&mut self, part: PartId, r: usize, out: &mut Out) {
        let p = &mut self.parts[part.ix()];
        let Some(l) = p.leader else { return };
        let state = &mut p.replicas[r];
        if r == l || state.in_flight.is_some() || !self.brokers[p.brokers[r] as usize].up {
            return;
        }
        let fetch_id = state.next_fetch_id;
        state.next_fetch_id = fetch_id.wrapping_add(1);
        state.in_flight = Some(fetch_id);
        if std::mem::take(&mut state.timer_set) {
            out.cancel_timer(replicate_key(part, r));
        }
        // With links this slow the answer may come after replica.socket.timeout.ms even on
        // a healthy network: the timeout is armed now, not only when a fault touches it.
        if self.slow_links {
            state.timer_set = true;
            out.set_timer(
                replicate_key(part, r),
                self.replica_socket_timeout_ms,
                Timer::ReplicaFetchTimeout {
                    part,
                    replica: r as u32,
                    fetch_id,
                },
            );
        }
        out.send_as(
            Endpoint::Broker(p.brokers[r]),
            Endpoint::Broker(p.brokers[l]),
            Msg::ReplicaFetch(Box::new(ReplicaFetch {
                part,
                replica: r as u32,
                fetch_id,
                fetch_offset: p.logs[r].log_end_offset(),
                leader_epoch: p.leader_epoch,
                sent_at: out.now,
            })),
        );
    }

    /// Follower `r` drops the fetch it has in flight (its leader changed, or it came back)
    /// and fetches again at once.
    pub(super) fn refetch(&mut self, part: PartId, r: usize, out: &mut Out) {
        let state = &mut self.parts[part.ix()].replicas[r];
        state.in_flight = None;
        state.verified = false;
        self.fetch_from_leader(part, r, out);
    }

    /// A follower's fetch reached its leader (`Partition.fetchRecords` for a replica):
    /// the leader learns the follower's log end offset, moves the ISR and the high
    /// watermark, and answers with what the follower lacks, with where its log diverges,
    /// or parks the fetch up to replica.fetch.wait.max.ms.
    pub(super) fn on_replica_fetch(&mut self, f: ReplicaFetch, out: &mut Out) {
        let (part, r) = (f.part, f.replica as usize);
        let p = &self.parts[part.ix()];
        // Given up by its follower (it fetches from a newer leader, or went down).
        if p.replicas[r].in_flight != Some(f.fetch_id) || !self.brokers[p.brokers[r] as usize].up {
            return;
        }
        // Sent to a leader since replaced (the follower would have refetched, unless it
        // could not): no answer comes, and the follower times out.
        let Some(l) = p.leader.filter(|_| p.leader_epoch == f.leader_epoch) else {
            self.time_out(part, f.replica, f.fetch_id, f.sent_at, out);
            return;
        };
        if !self.brokers[p.brokers[l] as usize].up {
            // The leader's host answers a connection to a dead process with a reset.
            self.back_off(part, r, out);
            return;
        }
        let leader_end = p.logs[l].log_end_offset();
        // The follower's log is a prefix of its leader's except after an election; its
        // last record tells (a full comparison every fetch would cost the whole log).
        let last = Offset(f.fetch_offset.value().saturating_sub(1));
        let at = if p.replicas[r].verified {
            // Below the leader's log start there is nothing left to compare.
            let comparable = f.fetch_offset > Offset::ZERO && last >= p.logs[l].log_start_offset();
            let diverged = f.fetch_offset > leader_end
                || comparable && p.logs[r].get(last) != p.logs[l].get(last);
            diverged.then(|| p.logs[r].diverges_from(&p.logs[l]))
        } else {
            Some(p.logs[r].diverges_from(&p.logs[l])).filter(|&at| at < f.fetch_offset)
        };
        self.parts[part.ix()].replicas[r].verified = true;
        if let Some(at) = at {
            self.answer_replica(part, r, f.fetch_id, f.sent_at, Some(at), out);
            return;
        }
        let p = &self.parts[part.ix()];
        let now = out.now;
        let follower_broker = p.brokers[r];
        let leader_cut = self.brokers[p.brokers[l] as usize].cut;
        let fenced = self.brokers[follower_broker as usize].fenced;
        let p = &mut self.parts[part.ix()];
        let state = &mut p.replicas[r];
        state.known_log_end_offset = f.fetch_offset;
        if f.fetch_offset >= leader_end {
            state.last_caught_up = now;
        } else if f.fetch_offset >= state.leader_end_at_last_fetch {
            state.last_caught_up = state.last_caught_up.max(state.last_fetch);
        }
        state.leader_end_at_last_fetch = leader_end;
        state.last_fetch = now;
        // Back in the ISR once it has what is committed (`Partition.isFollowerInSync`), if
        // the leader can tell the controller and the controller has not fenced it.
        if !p.isr.contains(&r) && f.fetch_offset >= p.high_watermark && !leader_cut && !fenced {
            p.isr.push(r);
            p.isr.sort_unstable();
            out.trace(Kind::IsrChange {
                part,
                broker: follower_broker,
                joined: true,
                size: p.isr.len() as u32,
            });
        }
        self.advance_high_watermark(part, out);
        if f.fetch_offset < leader_end {
            self.answer_replica(part, r, f.fetch_id, f.sent_at, None, out);
        } else {
            let deadline = now.after(self.replica_wait_ms);
            self.parts[part.ix()].replicas[r].parked = Some((f.fetch_id, f.sent_at));
            self.replica_waits
                .push_back((deadline, part, r as u32, f.fetch_id));
            if self.replica_waits_timer.is_none() {
                self.replica_waits_timer = Some(deadline);
                out.set_timer_at(REPLICA_WAITS, deadline, Timer::ReplicaFetchWaits);
            }
        }
    }

    /// The leader answers follower `r`'s fetch `fetch_id`: the records from the follower's
    /// log end offset (none if it diverges, or has them all) and the high watermark.
    pub(super) fn answer_replica(
        &mut self,
        part: PartId,
        r: usize,
        fetch_id: u32,
        sent_at: Time,
        diverging_at: Option<Offset>,
        out: &mut Out,
    ) {
        let p = &mut self.parts[part.ix()];
        p.replicas[r].parked = None;
        let Some(l) = p.leader else {
            unreachable!("a fetch is parked only at a leader, and forgotten when it goes");
        };
        let records = match diverging_at {
            Some(_) => Vec::new(),
            None => p.logs[l]
                .records_from(p.logs[r].log_end_offset(), REPLICA_FETCH_MAX_RECORDS)
                .to_vec(),
        };
        out.send_as(
            Endpoint::Broker(p.brokers[l]),
            Endpoint::Broker(p.brokers[r]),
            Msg::ReplicaFetchResponse(Box::new(ReplicaFetchResponse {
                part,
                replica: r as u32,
                fetch_id,
                records,
                high_watermark: p.high_watermark,
                log_start_offset: p.logs[l].log_start_offset(),
                diverging_at,
                sent_at,
            })),
        );
    }

    /// The leader's answer reached follower `r`: it truncates where told, or appends the
    /// records; then it fetches again at once.
    pub(super) fn on_replica_fetch_response(&mut self, a: ReplicaFetchResponse, out: &mut Out) {
        let (part, r) = (a.part, a.replica as usize);
        let p = &mut self.parts[part.ix()];
        if p.replicas[r].in_flight != Some(a.fetch_id) || !self.brokers[p.brokers[r] as usize].up {
            return;
        }
        p.replicas[r].in_flight = None;
        if std::mem::take(&mut p.replicas[r].timer_set) {
            out.cancel_timer(replicate_key(part, r));
        }
        let log = &mut p.logs[r];
        match a.diverging_at {
            Some(at) => {
                if at < log.log_end_offset() {
                    log.truncate(at);
                    out.trace(Kind::ReplicaTruncated {
                        part,
                        broker: p.brokers[r],
                        to: at,
                    });
                }
            }
            None => {
                // A follower whose log ends below its leader's log start starts again
                // there (`truncateFullyAndStartAt`); one whose log start is below its
                // leader's moves it up (`maybeIncrementLogStartOffset`).
                if log.log_end_offset() < a.log_start_offset {
                    log.restart_at(a.log_start_offset);
                } else {
                    log.advance_log_start(a.log_start_offset);
                }
                for e in &a.records {
                    log.append_entry(*e);
                }
                let hw = a.high_watermark.min(log.log_end_offset());
                if hw > log.high_watermark() {
                    log.set_high_watermark(hw);
                }
            }
        }
        self.fetch_from_leader(part, r, out);
    }

    /// Parked follower fetches whose replica.fetch.wait.max.ms has passed are answered
    /// (empty: nothing new arrived); the timer moves to the next deadline.
    pub(super) fn expire_replica_waits(&mut self, out: &mut Out) {
        self.replica_waits_timer = None;
        while let Some(&(deadline, part, r, fetch_id)) = self.replica_waits.front() {
            if deadline > out.now {
                self.replica_waits_timer = Some(deadline);
                out.set_timer_at(REPLICA_WAITS, deadline, Timer::ReplicaFetchWaits);
                return;
            }
            self.replica_waits.pop_front();
            let p = &self.parts[part.ix()];
            if let Some((id, sent_at)) = p.replicas[r as usize].parked {
                if id == fetch_id {
                    self.answer_replica(part, r as usize, fetch_id, sent_at, None, out);
                }
            }
        }
    }

    /// New records on `part`'s leader: its followers' parked fetches are answered now.
    pub(super) fn wake_replicas(&mut self, part: PartId, out: &mut Out) {
        for r in 0..self.parts[part.ix()].replicas.len() {
            if let Some((fetch_id, sent_at)) = self.parts[part.ix()].replicas[r].parked {
                self.answer_replica(part, r, fetch_id, sent_at, None, out);
            }
        }
    }

    /// The `isr-expiration` task: each live leader that can reach the controller drops
    /// from its ISR every follower not caught up for replica.lag.time.max.ms
    /// (`Partition.getOutOfSyncReplicas`); the ISR keeps its leader.
    pub(super) fn shrink_isrs(&mut self, out: &mut Out) {
        let now = out.now;
        for ix in 0..self.parts.len() {
            let p = &self.parts[ix];
            let Some(l) = p.leader else { continue };
            let leader = p.brokers[l];
            if p.isr.len() < 2 || !self.live(leader) || self.brokers[leader as usize].cut {
                continue;
            }
            let lag = self.replica_lag_ms;
            let out_of_sync: Vec<usize> = p
                .isr
                .iter()
                .copied()
                .filter(|&r| r != l && now.since(p.replicas[r].last_caught_up) > lag)
                .collect();
            if out_of_sync.is_empty() {
                continue;
            }
            let part = PartId(ix as u32);
            let p = &mut self.parts[ix];
            for r in out_of_sync {
                p.isr.retain(|&x| x != r);
                out.trace(Kind::IsrChange {
                    part,
                    broker: p.brokers[r],
                    joined: false,
                    size: p.isr.len() as u32,
                });
            }
            self.advance_high_watermark(part, out);
        }
    }
}
