//! Request deadlines in one structure.
//!
//! Every request's deadline is its send time plus the one request timeout,
//! and the driver's clock does not go back, so deadlines arrive in order: a
//! FIFO keeps them sorted with a push at the back. A request answered
//! early leaves its entry behind; the entry is dropped when it reaches the
//! front and its request is no longer pending with that deadline (lazy
//! deletion). Nothing scans the pending table, and in steady state the
//! FIFO allocates nothing (its capacity is reserved up front).

use std::collections::VecDeque;

use orderwire_protocol::time::Instant;

/// Deadlines by request id, earliest first.
#[derive(Debug)]
pub(super) struct Deadlines {
    queue: VecDeque<(Instant, u64)>,
}

impl Deadlines {
    pub(super) fn with_capacity(capacity: usize) -> Deadlines {
        Deadlines {
            queue: VecDeque::with_capacity(capacity),
        }
    }

    /// Adds `req_id`'s deadline. Out of order only if the driver's clock
    /// went back (a test may); then it is placed by a search from the back.
    pub(super) fn push(&mut self, at: Instant, req_id: u64) {
        match self.queue.back() {
            Some(&(last, _)) if last > at => {
                let index = self
                    .queue
                    .iter()
                    .rposition(|&(deadline, _)| deadline <= at)
                    .map_or(0, |i| i + 1);
                self.queue.insert(index, (at, req_id));
            }
            _ => self.queue.push_back((at, req_id)),
        }
    }

    /// The earliest deadline still live, dropping stale entries on the way.
    /// `live` says whether a request is still pending with that deadline.
    pub(super) fn next(&mut self, live: impl Fn(u64, Instant) -> bool) -> Option<Instant> {
        while let Some(&(at, req_id)) = self.queue.front() {
            if live(req_id, at) {
                return Some(at);
            }
            self.queue.pop_front();
        }
        None
    }

    /// The next live request whose deadline is at or before `now`, taken
    /// out.
    pub(super) fn pop_expired(
        &mut self,
        now: Instant,
        live: impl Fn(u64, Instant) -> bool,
    ) -> Option<u64> {
        let at = self.next(&live)?;
        if at > now {
            return None;
        }
        self.queue.pop_front().map(|(_, req_id)| req_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_stale_entries_skipped() {
        let mut deadlines = Deadlines::with_capacity(4);
        deadlines.push(Instant(10), 1);
        deadlines.push(Instant(20), 2);
        deadlines.push(Instant(15), 3); // the clock went back
        let pending = [2u64, 3];
        let live = |id: u64, _| pending.contains(&id);
        assert_eq!(deadlines.next(live), Some(Instant(15)), "1 was answered");
        assert_eq!(deadlines.pop_expired(Instant(14), live), None);
        assert_eq!(deadlines.pop_expired(Instant(30), live), Some(3));
        assert_eq!(deadlines.pop_expired(Instant(30), live), Some(2));
        assert_eq!(deadlines.next(live), None);
    }
}
