//! The processed-eventId store of one consumer group: Redis-like (external, with a TTL and
//! outages) or a table in the consumer's own database (same transaction as the effect).
//!
//! A passive component: members call `check` and `mark` synchronously, as a local client
//! library would, with no network latency modelled. Inputs: those calls and the outage
//! window set by the fault injector. Outputs: their answers. Shared by all members of the
//! group; what a member does with an answer lives in `member.rs`.

use crate::engine::Time;
use crate::scenario::{StoreKind, StoreUnavailable};
use crate::trace::EventIx;
use std::collections::BTreeMap;

/// What a check of the store found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Seen,
    NotSeen,
    Unavailable,
}

/// What marking an id did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marked {
    /// Marked until the given time (None: never expires).
    Until(Option<Time>),
    Unavailable,
}

pub struct Store {
    pub kind: StoreKind,
    pub ttl_ms: Option<u64>,
    pub on_unavailable: StoreUnavailable,
    down_until: Time,
    processed: BTreeMap<EventIx, Option<Time>>,
}

impl Store {
    pub fn new(kind: StoreKind, ttl_ms: Option<u64>, on_unavailable: StoreUnavailable) -> Store {
        Store {
            kind,
            ttl_ms,
            on_unavailable,
            down_until: Time::ZERO,
            processed: BTreeMap::new(),
        }
    }

    /// An outage of an external store until `until`. A same-transaction store lives in
    /// the consumer's database and is never down on its own.
    pub fn outage(&mut self, until: Time) {
        self.down_until = self.down_until.max(until);
    }

    fn down(&self, now: Time) -> bool {
        self.kind == StoreKind::External && now < self.down_until
    }

    pub fn check(&self, event: EventIx, now: Time) -> Check {
        if self.down(now) {
            return Check::Unavailable;
        }
        match self.processed.get(&event) {
            Some(&exp) if exp.is_none_or(|e| now < e) => Check::Seen,
            _ => Check::NotSeen,
        }
    }

    pub fn mark(&mut self, event: EventIx, now: Time) -> Marked {
        if self.down(now) {
            return Marked::Unavailable;
        }
        let expires = self.ttl_ms.map(|t| now.after(t));
        self.processed.insert(event, expires);
        Marked::Until(expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_seen_until_its_ttl_runs_out() {
        let mut s = Store::new(StoreKind::External, Some(100), StoreUnavailable::Retry);
        assert_eq!(s.check(EventIx(1), Time(0)), Check::NotSeen);
        assert_eq!(s.mark(EventIx(1), Time(10)), Marked::Until(Some(Time(110))));
        assert_eq!(s.check(EventIx(1), Time(109)), Check::Seen);
        assert_eq!(s.check(EventIx(1), Time(110)), Check::NotSeen);
    }

    #[test]
    fn an_external_store_is_unavailable_during_its_outage_only() {
        let mut s = Store::new(StoreKind::External, None, StoreUnavailable::Retry);
        s.outage(Time(50));
        assert_eq!(s.check(EventIx(1), Time(49)), Check::Unavailable);
        assert_eq!(s.mark(EventIx(1), Time(49)), Marked::Unavailable);
        assert_eq!(s.mark(EventIx(1), Time(50)), Marked::Until(None));
    }

    #[test]
    fn a_shorter_outage_inside_a_longer_one_does_not_end_it() {
        let mut s = Store::new(StoreKind::External, None, StoreUnavailable::Retry);
        s.outage(Time(300));
        s.outage(Time(160));
        assert_eq!(s.check(EventIx(1), Time(200)), Check::Unavailable);
    }

    #[test]
    fn a_same_transaction_store_ignores_outages() {
        let mut s = Store::new(StoreKind::SameTransaction, None, StoreUnavailable::Retry);
        s.outage(Time(50));
        assert_eq!(s.mark(EventIx(1), Time(10)), Marked::Until(None));
        assert_eq!(s.check(EventIx(1), Time(10)), Check::Seen);
    }
}
