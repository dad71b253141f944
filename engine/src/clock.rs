//! The engine's monotonic clock, in nanoseconds.
//!
//! On the VMs we run on, a pair of `std::time::Instant::now()` calls costs
//! about 70 ns (the vDSO falls back to a slower clock source), which is more
//! than a whole message decode. quanta reads the TSC and scales it with a
//! calibration done once, so a timestamp is a few nanoseconds; where the TSC
//! is not usable quanta falls back to the OS clock by itself.

use orderwire_protocol::Instant;

/// A cheap monotonic clock. Cloning shares the calibration.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: quanta::Clock,
    /// The raw counter value at creation.
    origin: u64,
}

/// A duration in engine-clock nanoseconds, capped at half the range so a
/// deadline added to any reading cannot overflow.
pub(crate) fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).map_or(u64::MAX / 2, |n| n.min(u64::MAX / 2))
}

impl Clock {
    /// Calibrates once (a few milliseconds on first use in the process).
    #[expect(
        clippy::disallowed_methods,
        reason = "the engine clock itself: every other read goes through it"
    )]
    pub fn new() -> Clock {
        let inner = quanta::Clock::new();
        let origin = inner.raw();
        Clock { inner, origin }
    }

    /// Nanoseconds since this clock was made.
    #[inline]
    #[expect(
        clippy::disallowed_methods,
        reason = "the engine clock itself: every other read goes through it"
    )]
    pub fn now_ns(&self) -> u64 {
        // The raw counter scaled once, without building a Duration; u64
        // nanoseconds cover 584 years of uptime.
        self.inner.delta_as_nanos(self.origin, self.inner.raw())
    }

    /// The same reading as the protocol's time type.
    #[inline]
    pub fn now(&self) -> Instant {
        Instant(self.now_ns())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_never_go_backwards() {
        let clock = Clock::new();
        let mut last = clock.now_ns();
        for _ in 0..10_000 {
            let now = clock.now_ns();
            assert!(now >= last, "{now} < {last}");
            last = now;
        }
    }
}
