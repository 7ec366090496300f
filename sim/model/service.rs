//! A service with a database: it takes commands (place order N), commits rows in a
//! transaction, and publishes the event either by a dual write or through an outbox table
//! that relays (`relay.rs`) read.
//!
//! Inputs: the command `Tick`, `DbCommitDone` timers, its producer client's messages and
//! timers, and `Control` (crash now or at `after-db-commit`, restart). Outputs: new events,
//! the client's sends, timers, trace records. The database is atomic: a transaction's rows
//! appear at its commit, all together, and a crash before the commit loses them. A dual
//! write sends to Kafka after the commit, so a crash or an outage in between loses the
//! event; an outbox row commits with the order and a relay publishes it later, at least
//! once. The `Database` is shared with the service's relays and called synchronously, as
//! a local database client would be.

use crate::engine::Time;
use crate::model::armed::Crashes;
use crate::model::io::{Control, Msg, Out, Timer, TimerKey};
use crate::model::producer::ProducerClient;
use crate::model::producer_app::Source;
use crate::scenario::CrashPoint;
use crate::trace::{EventIx, Kind};

const TICK: TimerKey = 0;
/// A command's database transaction: `DB_COMMIT + command`.
const DB_COMMIT: TimerKey = 1 << 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStatus {
    Pending,
    Published,
}

#[derive(Clone, Copy, Debug)]
pub struct OutboxRow {
    pub event: EventIx,
    /// The partition of the row's key, or None for a null key.
    /// The key's hash for the relay's client to place (`PartitionerKind::key_hash`).
    pub key_hash: Option<u32>,
    pub status: RowStatus,
    /// The relay whose in-flight batch holds this row (SELECT … FOR UPDATE SKIP LOCKED).
    pub locked_by: Option<u32>,
}

#[derive(Default)]
pub struct Database {
    /// Committed orders, as the event each one carries.
    pub orders: Vec<EventIx>,
    pub outbox: Vec<OutboxRow>,
    /// Index of the first row that may still be pending, so a poll does not rescan
    /// everything already published.
    first_pending: usize,
}

impl Database {
    pub fn commit_order(&mut self, event: EventIx, outbox: Option<Option<u32>>) {
        self.orders.push(event);
        if let Some(key_hash) = outbox {
            self.outbox.push(OutboxRow {
                event,
                key_hash,
                status: RowStatus::Pending,
                locked_by: None,
            });
        }
    }

    /// Locks up to `n` pending, unlocked rows for `relay`, oldest first.
    pub fn claim(&mut self, relay: u32, n: u64, out: &mut Vec<(EventIx, Option<u32>)>) {
        out.clear();
        while self
            .outbox
            .get(self.first_pending)
            .is_some_and(|r| r.status == RowStatus::Published)
        {
            self.first_pending += 1;
        }
        for row in &mut self.outbox[self.first_pending..] {
            if out.len() as u64 >= n {
                break;
            }
            if row.status == RowStatus::Pending && row.locked_by.is_none() {
                row.locked_by = Some(relay);
                out.push((row.event, row.key_hash));
            }
        }
    }

    fn row(&mut self, event: EventIx) -> Option<&mut OutboxRow> {
        // Rows are in event order per service, so a binary search finds them.
        let i = self.outbox.binary_search_by_key(&event, |r| r.event).ok()?;
        self.outbox.get_mut(i)
    }

    pub fn mark_published(&mut self, event: EventIx) {
        if let Some(r) = self.row(event) {
            r.status = RowStatus::Published;
            r.locked_by = None;
        }
    }

    pub fn unlock(&mut self, event: EventIx) {
        if let Some(r) = self.row(event) {
            r.locked_by = None;
        }
    }

    /// A crashed relay's locks are released (its transaction rolled back).
    pub fn release(&mut self, relay: u32) {
        for r in &mut self.outbox[self.first_pending..] {
            if r.locked_by == Some(relay) {
                r.locked_by = None;
            }
        }
    }
}

pub struct Service {
    pub client: ProducerClient,
    source: Source,
    outbox: bool,
    commit_ms: u64,
    up: bool,
    /// A crash waiting for after-db-commit; it counts orders committed.
    crashes: Crashes,
    commands_issued: u64,
    /// Commands whose transaction is under way.
    pending: Vec<u64>,
}

impl Service {
    pub fn new(client: ProducerClient, source: Source, outbox: bool, commit_ms: u64) -> Service {
        Service {
            client,
            source,
            outbox,
            commit_ms,
            up: true,
            crashes: Crashes::default(),
            commands_issued: 0,
            pending: Vec::new(),
        }
    }

    pub fn start(&mut self, out: &mut Out) {
        if self.source.count > 0 {
            out.set_timer_at(TICK, Time(self.source.start_ms), Timer::Tick);
        }
    }

    pub fn on_timer(&mut self, timer: Timer, db: &mut Database, out: &mut Out) {
        match timer {
            Timer::Tick => self.command(out),
            Timer::DbCommitDone { command } => self.db_commit_done(command, db, out),
            // A dual write does nothing more with its outcomes.
            other => self.client.on_timer(other, out, &mut Vec::new()),
        }
    }

    pub fn on_message(&mut self, msg: Msg, out: &mut Out) {
        if self.up {
            // A dual write does nothing more with its outcomes.
            self.client.on_message(msg, out, &mut Vec::new());
        }
    }

    pub fn on_control(&mut self, control: Control, out: &mut Out) {
        match control {
            Control::Crash { point: None, .. } if self.up => self.crash(None, out),
            Control::Crash {
                point: Some(point),
                on_record,
            } if self.up => {
                self.crashes
                    .arm_traced(self.source.actor, point, on_record, out);
            }
            Control::Restart if !self.up => {
                self.up = true;
                out.trace(Kind::Restart {
                    actor: self.source.actor,
                });
                self.client.reset(out);
            }
            _ => {}
        }
    }

    /// A command arrives: the service runs a database transaction (if it is up). The
    /// commands keep coming while it is down; they are refused.
    fn command(&mut self, out: &mut Out) {
        let command = self.commands_issued;
        self.commands_issued += 1;
        if self.commands_issued < self.source.count {
            out.set_timer(TICK, self.source.every_ms, Timer::Tick);
        }
        if !self.up {
            out.trace(Kind::CommandRefused {
                actor: self.source.actor,
                command,
            });
            return;
        }
        self.pending.push(command);
        out.set_timer(
            DB_COMMIT + command,
            self.commit_ms,
            Timer::DbCommitDone { command },
        );
    }

    fn db_commit_done(&mut self, command: u64, db: &mut Database, out: &mut Out) {
        self.pending.retain(|&c| c != command);
        let key = self.source.key(command);
        let event = out.new_event(self.source.envelope(command, out.now));
        db.commit_order(event, self.outbox.then_some(key.and_then(|k| k.1)));
        out.trace(Kind::DbCommit {
            actor: self.source.actor,
            event,
            outbox: self.outbox,
        });
        self.crashes.count();
        if self.crashes.fires_at(CrashPoint::AfterDbCommit) {
            return self.crash(Some(CrashPoint::AfterDbCommit), out);
        }
        if !self.outbox {
            self.client.send(event, key.and_then(|k| k.1), out);
        }
    }

    /// The process dies with its open transactions and its producer's buffer.
    fn crash(&mut self, point: Option<CrashPoint>, out: &mut Out) {
        self.up = false;
        self.crashes.clear();
        for c in self.pending.drain(..) {
            out.cancel_timer(DB_COMMIT + c);
        }
        self.client.reset(out);
        out.trace(Kind::Crash {
            actor: self.source.actor,
            point,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::io::{Endpoint, TimerOp};
    use crate::model::partitioning::Partitioner;
    use crate::model::producer::ProducerClient;
    use crate::partitioner::PartitionerKind;
    use crate::rng::SimRng;
    use crate::scenario::ProducerConfig;
    use crate::trace::ActorId;
    use crate::trace::PartId;

    const ACTOR: u32 = 5;

    /// A database holding three committed orders, each with its PENDING outbox row.
    fn database() -> Database {
        let mut db = Database::default();
        for e in 0..3 {
            db.commit_order(EventIx(e), Some(None));
        }
        db
    }

    fn claim(db: &mut Database, relay: u32, n: u64) -> Vec<EventIx> {
        let mut rows = Vec::new();
        db.claim(relay, n, &mut rows);
        rows.into_iter().map(|r| r.0).collect()
    }

    /// `count` commands, one every 10 ms from t=100, keyed to partition 1 of 2; database
    /// transactions take 20 ms.
    fn service(outbox: bool, count: u64) -> Service {
        let partitioner = Partitioner::new(
            PartitionerKind::Kafkajs,
            PartId(0),
            2,
            0,
            SimRng::substream(0, 1 << 62),
        );
        let client = ProducerClient::new(
            ActorId(ACTOR),
            1,
            ProducerConfig::default(),
            &[0, 0],
            partitioner,
        );
        let source = Source {
            actor: ActorId(ACTOR),
            topic: 0,
            count,
            every_ms: 10,
            start_ms: 100,
            keys: vec![(0, Some(1))],
            event_type: 0,
            tombstone_every: None,
        };
        Service::new(client, source, outbox, 20)
    }

    fn ticks(out: &Out) -> Vec<Time> {
        out.timers
            .iter()
            .filter_map(|t| match *t {
                TimerOp::Set {
                    key: TICK,
                    at,
                    timer: Timer::Tick,
                } => Some(at),
                _ => None,
            })
            .collect()
    }

    fn transactions(out: &Out) -> Vec<(Time, u64)> {
        out.timers
            .iter()
            .filter_map(|t| match *t {
                TimerOp::Set {
                    at,
                    timer: Timer::DbCommitDone { command },
                    ..
                } => Some((at, command)),
                _ => None,
            })
            .collect()
    }

    fn crash_now() -> Control {
        Control::Crash {
            point: None,
            on_record: None,
        }
    }

    #[test]
    fn a_claim_locks_its_rows_so_a_second_relay_skips_them() {
        let mut db = database();
        assert_eq!(claim(&mut db, 0, 2), [0, 1].map(EventIx).to_vec());
        assert_eq!(claim(&mut db, 1, 5), [2].map(EventIx).to_vec());
        assert_eq!(claim(&mut db, 1, 5), Vec::<EventIx>::new());
        assert_eq!(db.outbox[0].locked_by, Some(0));
        assert_eq!(db.outbox[2].locked_by, Some(1));
    }

    #[test]
    fn releasing_a_crashed_relays_locks_lets_another_claim_its_rows() {
        let mut db = database();
        assert_eq!(claim(&mut db, 0, 2), [0, 1].map(EventIx).to_vec());
        assert_eq!(claim(&mut db, 1, 1), [2].map(EventIx).to_vec());
        db.release(0);
        assert_eq!(
            claim(&mut db, 2, 5),
            [0, 1].map(EventIx).to_vec(),
            "relay 1 still holds row 2"
        );
    }

    #[test]
    fn published_rows_are_never_claimed_again() {
        let mut db = database();
        assert_eq!(claim(&mut db, 0, 3), [0, 1, 2].map(EventIx).to_vec());
        db.mark_published(EventIx(0));
        db.mark_published(EventIx(2));
        db.release(0);
        assert_eq!(claim(&mut db, 1, 5), [1].map(EventIx).to_vec());
        db.mark_published(EventIx(1));
        assert_eq!(claim(&mut db, 0, 5), Vec::<EventIx>::new());
        assert!(db.outbox.iter().all(|r| r.status == RowStatus::Published));
    }

    #[test]
    fn an_unlocked_row_can_be_claimed_by_any_relay() {
        let mut db = database();
        assert_eq!(claim(&mut db, 0, 3), [0, 1, 2].map(EventIx).to_vec());
        db.unlock(EventIx(1));
        assert_eq!(claim(&mut db, 1, 5), [1].map(EventIx).to_vec());
    }

    #[test]
    fn start_sets_the_first_command_at_its_start_time() {
        let mut s = service(false, 3);
        let mut out = Out::at(Time::ZERO);
        s.start(&mut out);
        assert_eq!(ticks(&out), vec![Time(100)]);
        let mut out = Out::at(Time::ZERO);
        service(false, 0).start(&mut out);
        assert!(out.timers.is_empty(), "no commands, no tick");
    }

    #[test]
    fn a_command_starts_a_transaction_and_the_next_command() {
        let mut s = service(false, 3);
        let mut db = Database::default();
        let mut out = Out::at(Time(100));
        s.on_timer(Timer::Tick, &mut db, &mut out);
        assert_eq!(ticks(&out), vec![Time(110)]);
        assert_eq!(transactions(&out), vec![(Time(120), 0)]);
        assert!(out.trace.is_empty() && out.sends.is_empty());
        assert!(
            db.orders.is_empty(),
            "nothing is committed before the commit"
        );
    }

    #[test]
    fn a_dual_write_commits_the_order_then_sends_the_event() {
        let mut s = service(false, 1);
        let mut db = Database::default();
        s.on_timer(Timer::Tick, &mut db, &mut Out::at(Time(100)));
        let mut out = Out::at(Time(120));
        out.next_event = 42;
        s.on_timer(Timer::DbCommitDone { command: 0 }, &mut db, &mut out);
        assert_eq!(out.new_events.len(), 1);
        assert_eq!(out.new_events[0].source, ActorId(ACTOR));
        assert_eq!(db.orders, vec![EventIx(42)]);
        assert!(db.outbox.is_empty());
        assert_eq!(
            out.trace,
            vec![
                Kind::DbCommit {
                    actor: ActorId(ACTOR),
                    event: EventIx(42),
                    outbox: false
                },
                Kind::Send {
                    actor: ActorId(ACTOR),
                    event: EventIx(42),
                    part: PartId(1)
                },
            ]
        );
        match &out.sends[..] {
            [(Endpoint::Cluster, Msg::Produce(p))] => assert_eq!(
                (p.batches[0].events.to_vec(), p.batches[0].part),
                (vec![EventIx(42)], PartId(1))
            ),
            other => panic!("expected one produce request, got {other:?}"),
        }
    }

    #[test]
    fn a_crash_armed_after_db_commit_strikes_after_the_commit_before_the_send() {
        let mut s = service(false, 1);
        let mut db = Database::default();
        s.on_control(
            Control::Crash {
                point: Some(CrashPoint::AfterDbCommit),
                on_record: None,
            },
            &mut Out::at(Time(50)),
        );
        s.on_timer(Timer::Tick, &mut db, &mut Out::at(Time(100)));
        let mut out = Out::at(Time(120));
        s.on_timer(Timer::DbCommitDone { command: 0 }, &mut db, &mut out);
        assert_eq!(db.orders, vec![EventIx(0)], "the order is committed");
        assert_eq!(
            out.trace,
            vec![
                Kind::DbCommit {
                    actor: ActorId(ACTOR),
                    event: EventIx(0),
                    outbox: false
                },
                Kind::Crash {
                    actor: ActorId(ACTOR),
                    point: Some(CrashPoint::AfterDbCommit)
                },
            ]
        );
        assert!(out.sends.is_empty(), "the event is never sent");
    }

    #[test]
    fn a_crash_loses_the_transactions_under_way() {
        let mut s = service(false, 2);
        let mut db = Database::default();
        s.on_timer(Timer::Tick, &mut db, &mut Out::at(Time(100)));
        let mut out = Out::at(Time(105));
        s.on_control(crash_now(), &mut out);
        assert_eq!(
            out.trace,
            vec![Kind::Crash {
                actor: ActorId(ACTOR),
                point: None
            }]
        );
        assert!(out
            .timers
            .iter()
            .any(|t| matches!(t, TimerOp::Cancel { key } if *key == DB_COMMIT)));
        assert!(
            !out.timers.iter().any(|t| matches!(t, TimerOp::CancelAll)),
            "the commands keep coming"
        );
    }

    #[test]
    fn commands_keep_ticking_while_the_service_is_down_and_are_refused_with_a_record() {
        let mut s = service(false, 3);
        let mut db = Database::default();
        s.on_control(crash_now(), &mut Out::at(Time(50)));
        let mut out = Out::at(Time(100));
        s.on_timer(Timer::Tick, &mut db, &mut out);
        assert_eq!(ticks(&out), vec![Time(110)]);
        assert!(transactions(&out).is_empty());
        assert!(out.sends.is_empty());
        assert_eq!(
            out.trace,
            vec![Kind::CommandRefused {
                actor: ActorId(ACTOR),
                command: 0
            }],
            "the refused command is traced"
        );

        let mut out = Out::at(Time(105));
        s.on_control(Control::Restart, &mut out);
        assert_eq!(
            out.trace,
            vec![Kind::Restart {
                actor: ActorId(ACTOR)
            }]
        );
        let mut out = Out::at(Time(110));
        s.on_timer(Timer::Tick, &mut db, &mut out);
        assert_eq!(transactions(&out), vec![(Time(130), 1)]);
        let mut out = Out::at(Time(120));
        s.on_timer(Timer::Tick, &mut db, &mut out);
        assert!(ticks(&out).is_empty(), "the third command is the last");
    }

    #[test]
    fn an_outbox_service_writes_the_outbox_row_and_sends_nothing() {
        let mut s = service(true, 1);
        let mut db = Database::default();
        s.on_timer(Timer::Tick, &mut db, &mut Out::at(Time(100)));
        let mut out = Out::at(Time(120));
        s.on_timer(Timer::DbCommitDone { command: 0 }, &mut db, &mut out);
        assert_eq!(
            out.trace,
            vec![Kind::DbCommit {
                actor: ActorId(ACTOR),
                event: EventIx(0),
                outbox: true
            }]
        );
        assert!(out.sends.is_empty());
        assert_eq!(db.orders, vec![EventIx(0)]);
        assert_eq!(db.outbox.len(), 1);
        let row = db.outbox[0];
        assert_eq!(
            (row.event, row.key_hash, row.status, row.locked_by),
            (EventIx(0), Some(1), RowStatus::Pending, None)
        );
    }
}
