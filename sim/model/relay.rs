//! An outbox relay: polls its service's outbox for PENDING rows (SKIP LOCKED), publishes
//! them through its own producer client, and marks them PUBLISHED once every send of the
//! batch is acknowledged or given up.
//!
//! Inputs: `RelayPoll` and `RelayMarkDone` timers, its client's messages and timers, and
//! `Control` (crash now or at `after-publish-before-mark`, restart). Outputs: the client's
//! sends, timers, trace records. A crash between publish and mark publishes the batch
//! again after restart: at-least-once, which the consumer must absorb.

use crate::model::armed::Crashes;
use crate::model::io::{Control, Msg, Out, Timer, TimerKey};
use crate::model::producer::{ProducerClient, SendOutcome};
use crate::model::service::Database;
use crate::scenario::CrashPoint;
use crate::trace::{ActorId, EventIx, Kind, PartId};

const POLL: TimerKey = 0;
const MARK: TimerKey = 1;

pub struct Relay {
    pub client: ProducerClient,
    actor: ActorId,
    /// This relay's index among its service's relays: the lock owner in the outbox.
    index: u32,
    up: bool,
    /// Rows of the batch being published, and how many still await their answer.
    batch: Vec<EventIx>,
    waiting: usize,
    /// A crash waiting for after-publish-before-mark; it counts acknowledged batches.
    crashes: Crashes,
    poll_interval_ms: u64,
    batch_size: u64,
    commit_ms: u64,
    claimed: Vec<(EventIx, Option<PartId>)>,
    outcomes: Vec<SendOutcome>,
}

impl Relay {
    pub fn new(
        client: ProducerClient,
        actor: ActorId,
        index: u32,
        poll_interval_ms: u64,
        batch_size: u64,
        commit_ms: u64,
    ) -> Relay {
        Relay {
            client,
            actor,
            index,
            up: true,
            batch: Vec::new(),
            waiting: 0,
            crashes: Crashes::default(),
            poll_interval_ms,
            batch_size,
            commit_ms,
            claimed: Vec::new(),
            outcomes: Vec::new(),
        }
    }

    pub fn start(&mut self, out: &mut Out) {
        out.set_timer(POLL, self.poll_interval_ms, Timer::RelayPoll);
    }

    pub fn on_timer(&mut self, timer: Timer, db: &mut Database, out: &mut Out) {
        match timer {
            Timer::RelayPoll => self.poll(db, out),
            Timer::RelayMarkDone => self.mark_done(db, out),
            other => {
                let mut outcomes = std::mem::take(&mut self.outcomes);
                self.client.on_timer(other, out, &mut outcomes);
                for o in outcomes.drain(..) {
                    self.outcome(o, db, out);
                }
                self.outcomes = outcomes;
            }
        }
    }

    pub fn on_message(&mut self, msg: Msg, db: &mut Database, out: &mut Out) {
        if !self.up {
            return;
        }
        let mut outcomes = std::mem::take(&mut self.outcomes);
        self.client.on_message(msg, out, &mut outcomes);
        for o in outcomes.drain(..) {
            self.outcome(o, db, out);
        }
        self.outcomes = outcomes;
    }

    pub fn on_control(&mut self, control: Control, db: &mut Database, out: &mut Out) {
        match control {
            Control::Crash { point: None, .. } if self.up => self.crash(None, db, out),
            Control::Crash {
                point: Some(point),
                on_record,
            } if self.up => {
                self.crashes.arm_traced(self.actor, point, on_record, out);
            }
            Control::Restart if !self.up => {
                self.up = true;
                out.trace(Kind::Restart { actor: self.actor });
                self.client.reset(out);
                out.set_timer(POLL, self.poll_interval_ms, Timer::RelayPoll);
            }
            _ => {}
        }
    }

    fn poll(&mut self, db: &mut Database, out: &mut Out) {
        db.claim(self.index, self.batch_size, &mut self.claimed);
        if self.claimed.is_empty() {
            out.set_timer(POLL, self.poll_interval_ms, Timer::RelayPoll);
            return;
        }
        self.batch.clear();
        self.batch.extend(self.claimed.iter().map(|c| c.0));
        self.waiting = self.batch.len();
        let claimed = std::mem::take(&mut self.claimed);
        let mut records = Vec::with_capacity(claimed.len());
        for &(event, key_part) in &claimed {
            out.trace(Kind::RelayPublish {
                actor: self.actor,
                event,
            });
            records.push((event, key_part));
        }
        self.claimed = claimed;
        // The rows go to the client together, as a loop of send() calls fills the
        // accumulator before its sender thread drains it.
        let mut outcomes = std::mem::take(&mut self.outcomes);
        self.client.send_many(&records, out, &mut outcomes);
        for o in outcomes.drain(..) {
            self.outcome(o, db, out);
        }
        self.outcomes = outcomes;
    }

    fn outcome(&mut self, o: SendOutcome, db: &mut Database, out: &mut Out) {
        if !self.up || self.waiting == 0 {
            return;
        }
        self.waiting -= 1;
        if let SendOutcome::Failed { event } = o {
            self.batch.retain(|e| *e != event);
            db.unlock(event);
        }
        if self.waiting > 0 {
            return;
        }
        // Every row of the batch is answered: the crash point, then the mark transaction.
        self.crashes.count();
        if self.crashes.fires_at(CrashPoint::AfterPublishBeforeMark) {
            return self.crash(Some(CrashPoint::AfterPublishBeforeMark), db, out);
        }
        out.set_timer(MARK, self.commit_ms, Timer::RelayMarkDone);
    }

    fn mark_done(&mut self, db: &mut Database, out: &mut Out) {
        for &event in &self.batch {
            db.mark_published(event);
            out.trace(Kind::RelayMark {
                actor: self.actor,
                event,
            });
        }
        self.batch.clear();
        out.set_timer(POLL, self.poll_interval_ms, Timer::RelayPoll);
    }

    fn crash(&mut self, point: Option<CrashPoint>, db: &mut Database, out: &mut Out) {
        self.up = false;
        self.crashes.clear();
        self.batch.clear();
        self.waiting = 0;
        self.client.reset(out);
        out.cancel_all_timers();
        db.release(self.index);
        out.trace(Kind::Crash {
            actor: self.actor,
            point,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Time;
    use crate::model::io::{Endpoint, Produce, TimerOp};
    use crate::model::log::Offset;
    use crate::model::partitioning::Partitioner;
    use crate::model::service::RowStatus;
    use crate::partitioner::PartitionerKind;
    use crate::rng::SimRng;
    use crate::scenario::ProducerConfig;

    const ACTOR: ActorId = ActorId(8);

    /// Polls every 50 ms, up to 10 rows a batch; the mark transaction takes 20 ms.
    fn relay(index: u32, config: ProducerConfig) -> Relay {
        let partitioner = Partitioner::new(
            PartitionerKind::Kafkajs,
            PartId(0),
            2,
            0,
            SimRng::substream(0, 1 << 62),
        );
        let client = ProducerClient::new(ACTOR, 2 + index as u16, config, &[0, 1], partitioner);
        Relay::new(client, ACTOR, index, 50, 10, 20)
    }

    /// Pending outbox rows for events `0..n`, keyed to partition `event % 2`.
    fn database(n: u32) -> Database {
        let mut db = Database::default();
        for e in 0..n {
            db.commit_order(EventIx(e), Some(Some(PartId(e % 2))));
        }
        db
    }

    fn produced(out: &Out) -> Vec<Produce> {
        out.sends
            .iter()
            .map(|(to, m)| match m {
                Msg::Produce(p) if *to == Endpoint::Cluster => p.clone(),
                other => panic!("a relay sent {other:?} to {to:?}"),
            })
            .collect()
    }

    fn published(out: &Out) -> Vec<EventIx> {
        out.trace
            .iter()
            .filter_map(|k| match *k {
                Kind::RelayPublish {
                    actor: ACTOR,
                    event,
                } => Some(event),
                _ => None,
            })
            .collect()
    }

    fn ack(p: &Produce, offset: u64) -> Msg {
        Msg::ProduceResponse {
            producer_id: p.producer_id,
            request_id: p.request_id,
            results: vec![(p.batches[0].part, Ok(Offset(offset)))].into(),
        }
    }

    fn timer_set(out: &Out, want: Timer) -> Option<Time> {
        out.timers.iter().find_map(|t| match *t {
            TimerOp::Set { at, timer, .. } if timer == want => Some(at),
            _ => None,
        })
    }

    #[test]
    fn start_sets_the_first_poll() {
        let mut out = Out::at(Time::ZERO);
        relay(0, ProducerConfig::default()).start(&mut out);
        assert_eq!(timer_set(&out, Timer::RelayPoll), Some(Time(50)));
    }

    #[test]
    fn an_empty_outbox_is_polled_again_later() {
        let mut r = relay(0, ProducerConfig::default());
        let mut db = database(0);
        let mut out = Out::at(Time(50));
        r.on_timer(Timer::RelayPoll, &mut db, &mut out);
        assert!(out.sends.is_empty() && out.trace.is_empty());
        assert_eq!(timer_set(&out, Timer::RelayPoll), Some(Time(100)));
    }

    #[test]
    fn a_poll_publishes_every_claimed_row_and_marks_them_once_all_are_acknowledged() {
        let mut r = relay(0, ProducerConfig::default());
        let mut db = database(2);
        let mut out = Out::at(Time(50));
        r.on_timer(Timer::RelayPoll, &mut db, &mut out);
        assert_eq!(published(&out), [0, 1].map(EventIx).to_vec());
        let sent = produced(&out);
        assert_eq!(
            sent.iter()
                .map(|p| (p.batches[0].events[0], p.batches[0].part))
                .collect::<Vec<_>>(),
            vec![(EventIx(0), PartId(0)), (EventIx(1), PartId(1))]
        );
        assert!(db.outbox.iter().all(|row| row.locked_by == Some(0)));

        let mut out = Out::at(Time(60));
        r.on_message(ack(&sent[0], 0), &mut db, &mut out);
        assert_eq!(timer_set(&out, Timer::RelayMarkDone), None, "one still out");
        let mut out = Out::at(Time(62));
        r.on_message(ack(&sent[1], 0), &mut db, &mut out);
        assert_eq!(timer_set(&out, Timer::RelayMarkDone), Some(Time(82)));
        assert!(
            db.outbox.iter().all(|row| row.status == RowStatus::Pending),
            "marked only when the transaction commits"
        );

        let mut out = Out::at(Time(82));
        r.on_timer(Timer::RelayMarkDone, &mut db, &mut out);
        assert_eq!(
            out.trace,
            vec![
                Kind::RelayMark {
                    actor: ACTOR,
                    event: EventIx(0)
                },
                Kind::RelayMark {
                    actor: ACTOR,
                    event: EventIx(1)
                },
            ]
        );
        assert!(db
            .outbox
            .iter()
            .all(|row| row.status == RowStatus::Published));
        assert_eq!(timer_set(&out, Timer::RelayPoll), Some(Time(132)));
        let mut out = Out::at(Time(132));
        r.on_timer(Timer::RelayPoll, &mut db, &mut out);
        assert!(
            out.sends.is_empty(),
            "published rows are not published again"
        );
    }

    #[test]
    fn a_second_relay_skips_the_rows_the_first_holds() {
        let mut first = relay(0, ProducerConfig::default());
        let mut second = relay(1, ProducerConfig::default());
        let mut db = database(2);
        first.on_timer(Timer::RelayPoll, &mut db, &mut Out::at(Time(50)));
        let mut out = Out::at(Time(51));
        second.on_timer(Timer::RelayPoll, &mut db, &mut out);
        assert!(out.sends.is_empty() && out.trace.is_empty());
        assert_eq!(timer_set(&out, Timer::RelayPoll), Some(Time(101)));
    }

    #[test]
    fn a_row_given_up_is_unlocked_and_not_marked() {
        let config = ProducerConfig {
            retries: 0,
            request_timeout_ms: 100,
            ..ProducerConfig::default()
        };
        let mut r = relay(0, config);
        let mut db = database(2);
        let mut out = Out::at(Time(50));
        r.on_timer(Timer::RelayPoll, &mut db, &mut out);
        let sent = produced(&out);
        r.on_message(ack(&sent[0], 0), &mut db, &mut Out::at(Time(60)));
        let mut out = Out::at(Time(150));
        r.on_timer(Timer::ClientDeadline, &mut db, &mut out);
        assert!(out.trace.iter().any(|k| matches!(
            k,
            Kind::SendFailed {
                actor: ACTOR,
                event: EventIx(1),
                ..
            }
        )));
        assert_eq!(db.outbox[1].locked_by, None, "another poll may take it");
        assert_eq!(timer_set(&out, Timer::RelayMarkDone), Some(Time(170)));

        let mut out = Out::at(Time(170));
        r.on_timer(Timer::RelayMarkDone, &mut db, &mut out);
        assert_eq!(
            out.trace,
            vec![Kind::RelayMark {
                actor: ACTOR,
                event: EventIx(0)
            }]
        );
        assert_eq!(db.outbox[1].status, RowStatus::Pending);
    }

    #[test]
    fn a_crash_armed_after_publish_before_mark_republishes_the_batch_after_restart() {
        let mut r = relay(0, ProducerConfig::default());
        let mut db = database(2);
        r.on_control(
            Control::Crash {
                point: Some(CrashPoint::AfterPublishBeforeMark),
                on_record: None,
            },
            &mut db,
            &mut Out::at(Time(10)),
        );
        let mut out = Out::at(Time(50));
        r.on_timer(Timer::RelayPoll, &mut db, &mut out);
        let sent = produced(&out);
        r.on_message(ack(&sent[0], 0), &mut db, &mut Out::at(Time(60)));
        let mut out = Out::at(Time(62));
        r.on_message(ack(&sent[1], 0), &mut db, &mut out);
        assert!(out.trace.contains(&Kind::Crash {
            actor: ACTOR,
            point: Some(CrashPoint::AfterPublishBeforeMark)
        }));
        assert!(out.timers.iter().any(|t| matches!(t, TimerOp::CancelAll)));
        assert_eq!(timer_set(&out, Timer::RelayMarkDone), None, "no mark");
        assert!(!out
            .trace
            .iter()
            .any(|k| matches!(k, Kind::RelayMark { .. })));
        assert!(db
            .outbox
            .iter()
            .all(|row| row.status == RowStatus::Pending && row.locked_by.is_none()));

        let mut out = Out::at(Time(1_000));
        r.on_control(Control::Restart, &mut db, &mut out);
        assert_eq!(out.trace, vec![Kind::Restart { actor: ACTOR }]);
        assert_eq!(timer_set(&out, Timer::RelayPoll), Some(Time(1_050)));
        let mut out = Out::at(Time(1_050));
        r.on_timer(Timer::RelayPoll, &mut db, &mut out);
        assert_eq!(
            published(&out),
            [0, 1].map(EventIx).to_vec(),
            "the same rows go out again"
        );
        let again = produced(&out);
        assert_ne!(
            again[0].producer_id, sent[0].producer_id,
            "a new incarnation of the client"
        );
    }
}
