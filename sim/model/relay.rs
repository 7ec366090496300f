//! An outbox relay: polls its service's outbox for PENDING rows (SKIP LOCKED), publishes
//! them through its own producer client, and marks them PUBLISHED once every send of the
//! batch is acknowledged or given up.
//!
//! Inputs: `RelayPoll` and `RelayMarkDone` timers, its client's messages and timers, and
//! `Control` (crash now or at `after-publish-before-mark`, restart). Outputs: the client's
//! sends, timers, trace records. A crash between publish and mark publishes the batch
//! again after restart: at-least-once, which the consumer must absorb.

use crate::model::armed::Armed;
use crate::model::io::{Control, Msg, Out, Timer, TimerKey};
use crate::model::producer::{ProducerClient, SendOutcome};
use crate::model::producer_app::Partitioner;
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
    partitioner: Partitioner,
    up: bool,
    /// Rows of the batch being published, and how many still await their answer.
    batch: Vec<EventIx>,
    waiting: usize,
    /// A crash waiting for after-publish-before-mark; it counts acknowledged batches.
    armed: Option<Armed>,
    poll_interval_ms: u64,
    batch_size: u64,
    commit_ms: u64,
    claimed: Vec<(EventIx, Option<PartId>)>,
    outcomes: Vec<SendOutcome>,
}

impl Relay {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: ProducerClient,
        actor: ActorId,
        index: u32,
        partitioner: Partitioner,
        poll_interval_ms: u64,
        batch_size: u64,
        commit_ms: u64,
    ) -> Relay {
        Relay {
            client,
            actor,
            index,
            partitioner,
            up: true,
            batch: Vec::new(),
            waiting: 0,
            armed: None,
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
            Timer::RequestTimeout => {
                let mut outcomes = std::mem::take(&mut self.outcomes);
                self.client.on_request_timeout(out, &mut outcomes);
                for o in outcomes.drain(..) {
                    self.outcome(o, db, out);
                }
                self.outcomes = outcomes;
            }
            Timer::Resend { event } => self.client.on_resend(event, out),
            other => unreachable!("a relay sets no {other:?} timer"),
        }
    }

    pub fn on_message(&mut self, msg: Msg, db: &mut Database, out: &mut Out) {
        if let Msg::ProduceResponse {
            producer_id,
            event,
            result,
            ..
        } = msg
        {
            if !self.up {
                return;
            }
            if let Some(o) = self.client.on_response(producer_id, event, result, out) {
                self.outcome(o, db, out);
            }
        }
    }

    pub fn on_control(&mut self, control: Control, db: &mut Database, out: &mut Out) {
        match control {
            Control::Crash { point: None, .. } if self.up => self.crash(None, db, out),
            Control::Crash {
                point: Some(point),
                on_record,
            } if self.up => self.armed = Some(Armed::new(point, on_record)),
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
        for &(event, key_part) in &claimed {
            out.trace(Kind::RelayPublish {
                actor: self.actor,
                event,
            });
            let part = self.partitioner.partition(key_part);
            if let Some(o) = self.client.send(event, part, out) {
                self.outcome(o, db, out);
            }
        }
        self.claimed = claimed;
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
        if let Some(a) = self.armed.as_mut() {
            a.count();
            if a.fires_at(CrashPoint::AfterPublishBeforeMark) {
                return self.crash(Some(CrashPoint::AfterPublishBeforeMark), db, out);
            }
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
        self.armed = None;
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
