//! `Time`: a point in virtual time, in whole milliseconds since the run started.
//!
//! Not here: the clock itself (the driver advances it as events pop) and any wall-clock time;
//! nothing in the simulator reads one.

use std::fmt;

/// A point in virtual time: milliseconds since the start of the run. Arithmetic saturates,
/// so `Time::MAX` works as "never" without overflow checks at every call site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Time(pub u64);

impl Time {
    /// The start of the run.
    pub const ZERO: Time = Time(0);
    /// The end of time: later than every reachable instant.
    pub const MAX: Time = Time(u64::MAX);

    /// This instant in ms since the start of the run.
    pub fn ms(self) -> u64 {
        self.0
    }

    /// `ms` milliseconds after this instant, saturating at `Time::MAX`.
    pub fn after(self, ms: u64) -> Time {
        Time(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to this instant; 0 if `earlier` is in fact later.
    pub fn since(self, earlier: Time) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Time {
    /// Just the number of milliseconds, e.g. `56`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_arithmetic_saturates_and_displays_the_number() {
        assert_eq!(Time(50).after(6), Time(56));
        assert_eq!(Time::MAX.after(1), Time::MAX);
        assert_eq!(Time(56).since(Time(50)), 6);
        assert_eq!(Time(50).since(Time(56)), 0);
        assert_eq!(Time(56).ms(), 56);
        assert_eq!(Time::default(), Time::ZERO);
        assert_eq!(Time(56).to_string(), "56");
        assert!(Time::ZERO < Time(1) && Time(1) < Time::MAX);
    }
}
