//! A crash waiting for its named point: the one trigger members, services and relays share.
//!
//! With `on_record`, it fires the Nth time the target reaches the point: a member counts
//! records started, a service orders committed, a relay acknowledged batches, each counted
//! from the moment the fault is armed.

use crate::scenario::CrashPoint;

#[derive(Clone, Copy, Debug)]
pub struct Armed {
    pub point: CrashPoint,
    pub on_record: Option<u64>,
    pub started: u64,
}

impl Armed {
    pub fn new(point: CrashPoint, on_record: Option<u64>) -> Armed {
        Armed {
            point,
            on_record,
            started: 0,
        }
    }

    /// One more record, order or batch toward `on_record`.
    pub fn count(&mut self) {
        self.started += 1;
    }

    pub fn fires_at(&self, point: CrashPoint) -> bool {
        self.point == point && self.on_record.is_none_or(|n| n == self.started)
    }
}
