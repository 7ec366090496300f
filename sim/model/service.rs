//! A service with a database: it takes commands (place order N), commits rows in a
//! transaction, and publishes the event either by a dual write or through an outbox table
//! read by one or more relays.
//!
//! The database is atomic: a transaction's rows appear at its commit, all together, and a
//! crash before the commit loses them. A dual write sends to Kafka after the commit, so a
//! crash or an outage in between loses the event; an outbox row commits with the order and
//! a relay publishes it later, at least once.

use crate::model::Armed;
use crate::trace::{EventIx, PartId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStatus {
    Pending,
    Published,
}

#[derive(Clone, Copy, Debug)]
pub struct OutboxRow {
    pub event: EventIx,
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
    pub fn commit_order(&mut self, event: EventIx, outbox: bool) {
        self.orders.push(event);
        if outbox {
            self.outbox.push(OutboxRow {
                event,
                status: RowStatus::Pending,
                locked_by: None,
            });
        }
    }

    /// Locks up to `n` pending, unlocked rows for `relay`, oldest first.
    pub fn claim(&mut self, relay: u32, n: u64, out: &mut Vec<EventIx>) {
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
                out.push(row.event);
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Up {
    Up,
    Down,
}

pub struct Service {
    pub actor: u32,
    pub client: u16,
    /// Precomputed key ids and partitions of the commands' order ids.
    pub keys: Vec<(u32, PartId)>,
    pub event_type: u16,
    pub state: Up,
    pub incarnation: u32,
    pub db: Database,
    /// A crash waiting for after-db-commit; it counts orders committed.
    pub armed: Option<Armed>,
    pub commands_issued: u64,
}

pub struct Relay {
    pub actor: u32,
    pub client: u16,
    pub state: Up,
    pub incarnation: u32,
    /// Rows of the batch being published, and how many still await their ack.
    pub batch: Vec<EventIx>,
    pub waiting: usize,
    pub failed: bool,
    /// A crash waiting for after-publish-before-mark; it counts acknowledged batches.
    pub armed: Option<Armed>,
}
