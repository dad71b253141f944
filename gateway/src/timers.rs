//! The core's timers: one table indexed by timer kind, and the request
//! deadlines that feed its `Request` entry.
//!
//! [`TimerTable`] holds, per [`TimerKind`], when that timer next fires. The
//! core rearms an entry where the state it depends on changes (a send, a
//! pending request added or removed, a link change, the dead-man refresh,
//! the watchdog's sweep), so `poll_timeout` reads the table (a minimum over
//! its few entries) and scans nothing, and `handle_timeout` acts on a kind
//! only when its entry is due.
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

/// The core's timers, one entry each in [`TimerTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerKind {
    /// The earliest request deadline (`Deadlines`): a request unanswered by
    /// then times out, and its orders become unknown.
    Request,
    /// When the first request in the rate-limit FIFO fits the budget.
    RateQueue,
    /// The venue's application ping, when nothing else went out.
    Keepalive,
    /// The subscription watchdog's next sweep.
    Watchdog,
    /// The next dead-man switch refresh.
    DeadMan,
    /// The connection nears the venue's age limit: drain and recycle.
    Age,
    /// The end of a drain (everything answered, or its deadline).
    Drain,
    /// A reconciliation query is due.
    Reconcile,
}

impl TimerKind {
    /// Every kind, in table order.
    pub const ALL: [TimerKind; 8] = [
        TimerKind::Request,
        TimerKind::RateQueue,
        TimerKind::Keepalive,
        TimerKind::Watchdog,
        TimerKind::DeadMan,
        TimerKind::Age,
        TimerKind::Drain,
        TimerKind::Reconcile,
    ];

    /// The name in logs and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::Request => "request",
            TimerKind::RateQueue => "rate_queue",
            TimerKind::Keepalive => "keepalive",
            TimerKind::Watchdog => "watchdog",
            TimerKind::DeadMan => "dead_man",
            TimerKind::Age => "age",
            TimerKind::Drain => "drain",
            TimerKind::Reconcile => "reconcile",
        }
    }
}

/// When each of the core's timers next fires (None: not armed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerTable {
    at: [Option<Instant>; TimerKind::ALL.len()],
}

impl TimerTable {
    /// When `kind` fires.
    pub fn get(&self, kind: TimerKind) -> Option<Instant> {
        self.at[kind as usize]
    }

    pub(super) fn set(&mut self, kind: TimerKind, at: Option<Instant>) {
        self.at[kind as usize] = at;
    }

    /// Whether `kind` is armed and due at `now`.
    pub fn is_due(&self, kind: TimerKind, now: Instant) -> bool {
        self.get(kind).is_some_and(|at| at <= now)
    }

    /// The earliest armed timer and its kind.
    pub fn next(&self) -> Option<(Instant, TimerKind)> {
        TimerKind::ALL
            .iter()
            .filter_map(|&kind| self.get(kind).map(|at| (at, kind)))
            .min_by_key(|&(at, _)| at)
    }
}

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
    fn the_table_answers_the_earliest_armed_timer() {
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(TimerKind::Keepalive, Some(Instant(30)));
        table.set(TimerKind::Request, Some(Instant(20)));
        table.set(TimerKind::Watchdog, None);
        assert_eq!(table.next(), Some((Instant(20), TimerKind::Request)));
        assert!(table.is_due(TimerKind::Request, Instant(20)));
        assert!(!table.is_due(TimerKind::Keepalive, Instant(20)));
        assert!(!table.is_due(TimerKind::Watchdog, Instant(99)), "not armed");
        table.set(TimerKind::Request, None);
        assert_eq!(table.next(), Some((Instant(30), TimerKind::Keepalive)));
    }

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
