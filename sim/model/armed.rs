//! Crashes waiting for their named point: the one trigger members, services and relays
//! share.
//!
//! With `on_record: N`, a crash fires the first time its target reaches the point on or
//! after its Nth unit of work, counted from the moment the fault is armed: a member counts
//! records started, a service orders committed, a relay acknowledged batches. "On or
//! after" matters where a point is not reached for every unit: `after-commit` with
//! `commit: after-batch` is reached once per batch, so `on_record: 3` fires at the end of
//! the batch that holds the third record. Without `on_record` a crash fires the first time
//! the point is reached. Several crashes can be armed at once on one target; the first to
//! fire takes the process down, and a process that dies forgets every crash armed in it.

use crate::model::io::Out;
use crate::scenario::CrashPoint;
use crate::trace::{ActorId, Kind};

#[derive(Clone, Copy, Debug)]
struct Armed {
    point: CrashPoint,
    on_record: Option<u64>,
    /// Units of work counted since this crash was armed.
    counted: u64,
}

/// The crashes armed in one process, in the order they were armed.
#[derive(Clone, Debug, Default)]
pub struct Crashes {
    armed: Vec<Armed>,
}

impl Crashes {
    /// Arms a crash in `actor` and records the `crash_armed` trace row that says so: every
    /// target arms the same way.
    pub fn arm_traced(
        &mut self,
        actor: ActorId,
        point: CrashPoint,
        on_record: Option<u64>,
        out: &mut Out,
    ) {
        self.arm(point, on_record);
        out.trace(Kind::CrashArmed {
            actor,
            point,
            on_record,
        });
    }

    fn arm(&mut self, point: CrashPoint, on_record: Option<u64>) {
        self.armed.push(Armed {
            point,
            on_record,
            counted: 0,
        });
    }

    /// One more record, order or batch toward each `on_record`.
    pub fn count(&mut self) {
        for a in &mut self.armed {
            a.counted += 1;
        }
    }

    /// Whether an armed crash fires now, at `point`.
    pub fn fires_at(&self, point: CrashPoint) -> bool {
        self.armed
            .iter()
            .any(|a| a.point == point && a.on_record.is_none_or(|n| a.counted >= n))
    }

    /// The process died: nothing armed in it survives.
    pub fn clear(&mut self) {
        self.armed.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_record_fires_at_the_nth_unit() {
        let mut c = Crashes::default();
        c.arm(CrashPoint::BeforeProcess, Some(2));
        c.count();
        assert!(!c.fires_at(CrashPoint::BeforeProcess));
        c.count();
        assert!(c.fires_at(CrashPoint::BeforeProcess));
        assert!(!c.fires_at(CrashPoint::AfterCommit));
    }

    #[test]
    fn a_point_reached_only_after_the_nth_unit_still_fires_there() {
        let mut c = Crashes::default();
        c.arm(CrashPoint::AfterCommit, Some(1));
        // A batch of ten records, then its commit: the point comes after the 10th.
        for _ in 0..10 {
            c.count();
        }
        assert!(c.fires_at(CrashPoint::AfterCommit));
    }

    #[test]
    fn a_second_armed_crash_does_not_replace_the_first() {
        let mut c = Crashes::default();
        c.arm(CrashPoint::BeforeProcess, Some(2));
        c.arm(CrashPoint::AfterProcessBeforeCommit, Some(5));
        c.count();
        c.count();
        assert!(c.fires_at(CrashPoint::BeforeProcess));
        c.clear();
        assert!(!c.fires_at(CrashPoint::BeforeProcess));
    }
}
