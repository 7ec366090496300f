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
use crate::model::armed::Armed;
use crate::model::io::{Control, Msg, Out, Timer, TimerKey};
use crate::model::producer::ProducerClient;
use crate::model::producer_app::{Partitioner, Source};
use crate::scenario::CrashPoint;
use crate::trace::{EventIx, Kind, PartId};

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
    pub key_part: Option<PartId>,
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
    pub fn commit_order(&mut self, event: EventIx, outbox: Option<Option<PartId>>) {
        self.orders.push(event);
        if let Some(key_part) = outbox {
            self.outbox.push(OutboxRow {
                event,
                key_part,
                status: RowStatus::Pending,
                locked_by: None,
            });
        }
    }

    /// Locks up to `n` pending, unlocked rows for `relay`, oldest first.
    pub fn claim(&mut self, relay: u32, n: u64, out: &mut Vec<(EventIx, Option<PartId>)>) {
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
                out.push((row.event, row.key_part));
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
    partitioner: Partitioner,
    outbox: bool,
    commit_ms: u64,
    up: bool,
    /// A crash waiting for after-db-commit; it counts orders committed.
    armed: Option<Armed>,
    commands_issued: u64,
    /// Commands whose transaction is under way.
    pending: Vec<u64>,
}

impl Service {
    pub fn new(
        client: ProducerClient,
        source: Source,
        partitioner: Partitioner,
        outbox: bool,
        commit_ms: u64,
    ) -> Service {
        Service {
            client,
            source,
            partitioner,
            outbox,
            commit_ms,
            up: true,
            armed: None,
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
            Timer::RequestTimeout => self.client.on_request_timeout(out, &mut Vec::new()),
            Timer::Resend { event } => self.client.on_resend(event, out),
            other => unreachable!("a service sets no {other:?} timer"),
        }
    }

    pub fn on_message(&mut self, msg: Msg, out: &mut Out) {
        if let Msg::ProduceResponse {
            producer_id,
            event,
            result,
            ..
        } = msg
        {
            if self.up {
                self.client.on_response(producer_id, event, result, out);
            }
        }
    }

    pub fn on_control(&mut self, control: Control, out: &mut Out) {
        match control {
            Control::Crash { point: None, .. } if self.up => self.crash(None, out),
            Control::Crash {
                point: Some(point),
                on_record,
            } if self.up => self.armed = Some(Armed::new(point, on_record)),
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
        db.commit_order(event, self.outbox.then_some(key.map(|k| k.1)));
        out.trace(Kind::DbCommit {
            actor: self.source.actor,
            event,
            outbox: self.outbox,
        });
        if let Some(a) = self.armed.as_mut() {
            a.count();
            if a.fires_at(CrashPoint::AfterDbCommit) {
                return self.crash(Some(CrashPoint::AfterDbCommit), out);
            }
        }
        if !self.outbox {
            let part = self.partitioner.partition(key.map(|k| k.1));
            self.client.send(event, part, out);
        }
    }

    /// The process dies with its open transactions and its producer's buffer.
    fn crash(&mut self, point: Option<CrashPoint>, out: &mut Out) {
        self.up = false;
        self.armed = None;
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
