//! Caller-supplied time.
//!
//! The protocol core never reads a clock. The driver passes a monotonic
//! timestamp with every input; tests pass virtual time. A plain nanosecond
//! count (rather than `std::time::Instant`) makes virtual time trivial to build
//! and keeps replays byte-for-byte identical.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the driver's monotonic clock, in nanoseconds from an arbitrary
/// origin chosen by the driver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub u64);

impl Instant {
    /// The origin of the driver's clock; handy for tests in virtual time.
    pub const ZERO: Instant = Instant(0);

    /// Nanoseconds since the driver's origin.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        // Saturate instead of wrapping: a deadline centuries away is "never".
        let nanos = u64::try_from(rhs.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_saturates_and_sub_never_underflows() {
        assert_eq!(Instant(5) + Duration::from_nanos(7), Instant(12));
        assert_eq!(
            Instant(u64::MAX - 1) + Duration::from_secs(10),
            Instant(u64::MAX)
        );
        assert_eq!(Instant(3) - Instant(10), Duration::ZERO);
        assert_eq!(Instant(10) - Instant(3), Duration::from_nanos(7));
    }
}
