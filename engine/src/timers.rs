//! The one timer structure of the reactor: each connection's next deadline
//! (its codec's `poll_timeout`, its connect/TLS/reconnect deadline and its
//! data watchdog, already folded into one), by slot.
//!
//! A reactor holds tens of connections, not thousands, so a flat array
//! scanned for the minimum beats a heap with stale entries: no allocation
//! after the slots exist, and no invalidation bookkeeping.

/// Deadlines in engine nanoseconds, by connection slot.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    deadlines: Vec<Option<u64>>,
}

impl Timers {
    /// Sets (or clears) the deadline of `slot`.
    pub(crate) fn set(&mut self, slot: usize, deadline: Option<u64>) {
        if slot >= self.deadlines.len() {
            if deadline.is_none() {
                return;
            }
            self.deadlines.resize(slot + 1, None);
        }
        self.deadlines[slot] = deadline;
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<u64> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// How many slots exist (for iterating by index while firing).
    pub(crate) fn len(&self) -> usize {
        self.deadlines.len()
    }

    /// Whether `slot` is due at `now`.
    pub(crate) fn is_due(&self, slot: usize, now: u64) -> bool {
        self.deadlines
            .get(slot)
            .copied()
            .flatten()
            .is_some_and(|d| d <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_and_due_follow_the_set_deadlines() {
        let mut timers = Timers::default();
        assert_eq!(timers.next(), None);
        timers.set(3, Some(30));
        timers.set(1, Some(10));
        timers.set(2, Some(20));
        assert_eq!(timers.next(), Some(10));
        assert!(timers.is_due(1, 20) && timers.is_due(2, 20) && !timers.is_due(3, 20));
        timers.set(1, None);
        assert_eq!(timers.next(), Some(20));
        assert!(timers.is_due(3, 30) && !timers.is_due(3, 29) && !timers.is_due(9, 99));
    }
}
