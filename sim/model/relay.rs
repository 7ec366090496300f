//! An outbox relay: polls its service's outbox for PENDING rows (SKIP LOCKED), publishes
//! them through its own producer client, and marks them PUBLISHED: once every send of the
//! batch is acknowledged or given up (`relay.mark: after-ack`), or at once, without
//! waiting for the delivery reports (`without-waiting`, fire-and-forget).
//!
//! Inputs: `RelayPoll` and `RelayMarkDone` timers, its client's messages and timers, and
//! `Control` (crash now or at `after-publish-before-mark`, restart, marks failing until a
//! time). Outputs: the client's sends, timers, trace records. A crash between publish and
//! mark publishes the batch again after restart, and a mark that fails and rolls back
//! publishes it again on the next poll: at-least-once, which the consumer must absorb. A
//! relay that marks without waiting loses every row whose send then fails, while the
//! outbox says it was sent.

use crate::engine::Time;
use crate::model::armed::Crashes;
use crate::model::io::{Control, Msg, Out, Timer, TimerKey};
use crate::model::producer::{ProducerClient, SendOutcome};
use crate::model::service::Database;
use crate::scenario::{CrashPoint, MarkMode};
use crate::trace::{ActorId, EventIx, Kind};

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
    claimed: Vec<(EventIx, Option<u32>)>,
    outcomes: Vec<SendOutcome>,
    /// When the relay marks its rows PUBLISHED.
    mark: MarkMode,
    /// Mark transactions committing before this time fail and roll back (`mark_fails`).
    /// It outlives a crash: the fault is in the database, not in the relay's process.
    marks_fail_until: Time,
}

impl Relay {
    pub fn new(
        client: ProducerClient,
        actor: ActorId,
        index: u32,
        poll_interval_ms: u64,
        batch_size: u64,
        commit_ms: u64,
        mark: MarkMode,
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
            mark,
            marks_fail_until: Time::ZERO,
        }
    }

    pub fn start(&mut self, out: &mut Out) {
        out.set_timer(POLL, self.poll_interval_ms, Timer::RelayPoll);
    }

    pub fn on_timer(&mut self, timer: Timer, db: &mut Database, out: &mut Out) {
        match timer {
            Timer::RelayPoll => self.poll(db, out),
            Timer::RelayMarkDone => self.mark_done(db, out),
            other => self.through_client(db, out, |c, out, o| c.on_timer(other, out, o)),
        }
    }

    /// Hands an input to the producer client, then takes each send's outcome in turn.
    fn through_client(
        &mut self,
        db: &mut Database,
        out: &mut Out,
        input: impl FnOnce(&mut ProducerClient, &mut Out, &mut Vec<SendOutcome>),
    ) {
        let mut outcomes = std::mem::take(&mut self.outcomes);
        input(&mut self.client, out, &mut outcomes);
        for o in outcomes.drain(..) {
            self.outcome(o, db, out);
        }
        self.outcomes = outcomes;
    }

    pub fn on_message(&mut self, msg: Msg, db: &mut Database, out: &mut Out) {
        if !self.up {
            return;
        }
        self.through_client(db, out, |c, out, o| c.on_message(msg, out, o));
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
            Control::MarkFails { until } => {
                self.marks_fail_until = self.marks_fail_until.max(until);
                out.trace(Kind::MarkFailing {
                    actor: self.actor,
                    until: self.marks_fail_until,
                });
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
        for &(event, key_hash) in &claimed {
            out.trace(Kind::RelayPublish {
                actor: self.actor,
                event,
            });
            records.push((event, key_hash));
        }
        self.claimed = claimed;
        // The rows go to the client together, as a loop of send() calls fills the
        // accumulator before its sender thread drains it.
        let mut outcomes = std::mem::take(&mut self.outcomes);
        self.client.send_many(&records, out, &mut outcomes);
        if self.mark == MarkMode::WithoutWaiting {
            // Fire-and-forget: the delivery reports, now or later, are never looked at.
            outcomes.clear();
            self.outcomes = outcomes;
            self.waiting = 0;
            return self.published(db, out);
        }
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
        self.published(db, out);
    }

    /// The batch is published (every row answered, or handed to `send()` when marking
    /// without waiting): the crash point, then the mark transaction.
    fn published(&mut self, db: &mut Database, out: &mut Out) {
        self.crashes.count();
        if self.crashes.fires_at(CrashPoint::AfterPublishBeforeMark) {
            return self.crash(Some(CrashPoint::AfterPublishBeforeMark), db, out);
        }
        out.set_timer(MARK, self.commit_ms, Timer::RelayMarkDone);
    }

    /// The mark transaction commits, or fails and rolls back during a `mark_fails`
    /// window: then the rows stay PENDING, their locks go, and the next poll takes them.
    fn mark_done(&mut self, db: &mut Database, out: &mut Out) {
        let fails = out.now < self.marks_fail_until;
        let waited = self.mark == MarkMode::AfterAck;
        for &event in &self.batch {
            if fails {
                db.unlock(event);
                out.trace(Kind::RelayMarkFailed {
                    actor: self.actor,
                    event,
                });
            } else {
                db.mark_published(event);
                out.trace(Kind::RelayMark {
                    actor: self.actor,
                    event,
                    waited,
                });
            }
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
    use crate::trace::PartId;

    const ACTOR: ActorId = ActorId(8);

    /// Polls every 50 ms, up to 10 rows a batch; the mark transaction takes 20 ms.
    fn relay(index: u32, config: ProducerConfig) -> Relay {
        relay_marking(index, config, MarkMode::AfterAck)
    }

    fn relay_marking(index: u32, config: ProducerConfig, mark: MarkMode) -> Relay {
        let partitioner = Partitioner::new(
            PartitionerKind::Kafkajs,
            PartId(0),
            2,
            0,
            SimRng::substream(0, 1 << 62),
        );
        let client = ProducerClient::new(ACTOR, 2 + index as u16, config, &[0, 1], partitioner);
        Relay::new(client, ACTOR, index, 50, 10, 20, mark)
    }

    /// Pending outbox rows for events `0..n`, keyed to partition `event % 2`.
    fn database(n: u32) -> Database {
        let mut db = Database::default();
        for e in 0..n {
            db.commit_order(EventIx(e), Some(Some(e % 2)));
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
                    event: EventIx(0),
                    waited: true,
                },
                Kind::RelayMark {
                    actor: ACTOR,
                    event: EventIx(1),
                    waited: true,
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
                event: EventIx(0),
                waited: true,
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

    #[test]
    fn a_relay_marking_without_waiting_marks_before_any_answer_and_ignores_the_answers() {
        let mut r = relay_marking(0, ProducerConfig::default(), MarkMode::WithoutWaiting);
        let mut db = database(2);
        let mut out = Out::at(Time(50));
        r.on_timer(Timer::RelayPoll, &mut db, &mut out);
        let sent = produced(&out);
        assert_eq!(sent.len(), 2);
        assert_eq!(
            timer_set(&out, Timer::RelayMarkDone),
            Some(Time(70)),
            "the mark starts with no answer in"
        );
        let mut out = Out::at(Time(70));
        r.on_timer(Timer::RelayMarkDone, &mut db, &mut out);
        assert_eq!(
            out.trace,
            vec![
                Kind::RelayMark {
                    actor: ACTOR,
                    event: EventIx(0),
                    waited: false,
                },
                Kind::RelayMark {
                    actor: ACTOR,
                    event: EventIx(1),
                    waited: false,
                },
            ]
        );
        assert!(db
            .outbox
            .iter()
            .all(|row| row.status == RowStatus::Published));
        // A late answer starts nothing: no second mark.
        let mut out = Out::at(Time(80));
        r.on_message(ack(&sent[0], 0), &mut db, &mut out);
        assert_eq!(timer_set(&out, Timer::RelayMarkDone), None);
    }

    #[test]
    fn a_mark_that_fails_rolls_back_and_the_next_poll_publishes_the_rows_again() {
        let mut r = relay(0, ProducerConfig::default());
        let mut db = database(2);
        let mut out = Out::at(Time(0));
        r.on_control(Control::MarkFails { until: Time(100) }, &mut db, &mut out);
        assert_eq!(
            out.trace,
            vec![Kind::MarkFailing {
                actor: ACTOR,
                until: Time(100)
            }]
        );
        let mut out = Out::at(Time(50));
        r.on_timer(Timer::RelayPoll, &mut db, &mut out);
        let sent = produced(&out);
        r.on_message(ack(&sent[0], 0), &mut db, &mut Out::at(Time(60)));
        r.on_message(ack(&sent[1], 1), &mut db, &mut Out::at(Time(60)));
        let mut out = Out::at(Time(80));
        r.on_timer(Timer::RelayMarkDone, &mut db, &mut out);
        assert_eq!(
            out.trace,
            [0, 1]
                .map(|e| Kind::RelayMarkFailed {
                    actor: ACTOR,
                    event: EventIx(e)
                })
                .to_vec()
        );
        assert!(db
            .outbox
            .iter()
            .all(|row| row.status == RowStatus::Pending && row.locked_by.is_none()));
        assert_eq!(timer_set(&out, Timer::RelayPoll), Some(Time(130)));
        let mut out = Out::at(Time(130));
        r.on_timer(Timer::RelayPoll, &mut db, &mut out);
        assert_eq!(published(&out), [0, 1].map(EventIx).to_vec());
        let again = produced(&out);
        assert_eq!(
            again[0].producer_id, sent[0].producer_id,
            "the same running relay, not a restarted one"
        );
        r.on_message(ack(&again[0], 2), &mut db, &mut Out::at(Time(140)));
        r.on_message(ack(&again[1], 3), &mut db, &mut Out::at(Time(140)));
        let mut out = Out::at(Time(160));
        r.on_timer(Timer::RelayMarkDone, &mut db, &mut out);
        assert!(
            out.trace
                .iter()
                .all(|k| matches!(k, Kind::RelayMark { waited: true, .. })),
            "past the window the mark commits"
        );
        assert!(db
            .outbox
            .iter()
            .all(|row| row.status == RowStatus::Published));
    }
}
