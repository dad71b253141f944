//! When the next request goes, and what its latency is measured from:
//! the one decision that separates a benchmark that sees a stall from one
//! that hides it (coordinated omission).
//!
//! Open loop (`--rate N/s`): request k is *intended* at `start + k/N`,
//! whatever happened to the ones before; if the sender falls behind (the
//! venue stalled, the thread was descheduled), the late requests go at
//! once and each one's latency still counts from its intended time, as
//! wrk2 does. Closed loop (`--closed-loop`): a connection sends its next
//! request when the last one's reply arrives (no sooner than `--rate`
//! allows), and latency counts from the actual send: a stall then delays
//! one request per connection and the requests that were never sent are
//! never measured, which is why its percentiles look better than the
//! service is. Sans-IO: every call carries `now`.

/// How requests are paced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pacing {
    /// Requests on a schedule of this many per second, measured from the
    /// schedule.
    Open {
        /// Requests per second, over every connection.
        rate: f64,
    },
    /// One request in flight per connection, each measured from its send;
    /// at most `rate` per second where given.
    Closed {
        /// A ceiling on requests per second.
        rate: Option<f64>,
    },
}

/// The schedule of one run.
#[derive(Debug)]
pub struct Pacer {
    pacing: Pacing,
    start_ns: u64,
    /// Nanoseconds between intended sends (0: no ceiling).
    interval_ns: u64,
    sent: u64,
    in_flight: usize,
    /// Closed loop: the number of connections.
    window: usize,
}

impl Pacer {
    /// A schedule that starts at `start_ns`; `connections` bounds a closed
    /// loop's requests in flight.
    pub fn new(pacing: Pacing, start_ns: u64, connections: usize) -> Pacer {
        let rate = match pacing {
            Pacing::Open { rate } => Some(rate),
            Pacing::Closed { rate } => rate,
        };
        let interval_ns = match rate {
            Some(rate) if rate.is_finite() && rate > 0.0 => {
                // A float only to read the user's rate; the schedule is in
                // integer nanoseconds from here on.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let ns = (1e9 / rate).round().clamp(1.0, 1e15) as u64;
                ns
            }
            _ => 0,
        };
        Pacer {
            pacing,
            start_ns,
            interval_ns,
            sent: 0,
            in_flight: 0,
            window: connections.max(1),
        }
    }

    /// The intended time of the next request.
    pub fn next_due(&self) -> u64 {
        self.start_ns
            .saturating_add(self.sent.saturating_mul(self.interval_ns))
    }

    /// The next request to send at `now`, if one is due: the time its
    /// latency counts from (the schedule's in open loop, `now` in closed).
    pub fn take(&mut self, now_ns: u64) -> Option<u64> {
        match self.pacing {
            Pacing::Open { .. } => {
                let due = self.next_due();
                (due <= now_ns).then(|| {
                    self.sent += 1;
                    self.in_flight += 1;
                    due
                })
            }
            Pacing::Closed { .. } => {
                if self.in_flight >= self.window || self.next_due() > now_ns {
                    return None;
                }
                // A closed loop that fell behind does not catch up: its
                // schedule restarts from now.
                if let Some(behind) = now_ns
                    .saturating_sub(self.next_due())
                    .checked_div(self.interval_ns)
                {
                    self.sent += behind;
                }
                self.sent += 1;
                self.in_flight += 1;
                Some(now_ns)
            }
        }
    }

    /// A reply (or a timeout) ended one request in flight.
    pub fn ended(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// When to look again after `now` if nothing arrives: the next
    /// intended send, or None when only a reply can free the window.
    pub fn wake_at(&self, now_ns: u64) -> Option<u64> {
        match self.pacing {
            Pacing::Closed { .. } if self.in_flight >= self.window => None,
            _ => Some(self.next_due().max(now_ns)),
        }
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers in 50 us and stalls from 2.5 s to 2.7 s, at
    /// 1000 requests a second for 5 s, in virtual time: the open loop's
    /// p99.9 shows the stall, the closed loop's hides it.
    fn run(pacing: Pacing) -> hdrhistogram::Histogram<u64> {
        let mut histogram = hdrhistogram::Histogram::<u64>::new(3).expect("a histogram");
        let mut pacer = Pacer::new(pacing, 0, 1);
        let service = 50_000;
        let (stall_from, stall_to) = (2_500_000_000, 2_700_000_000);
        let mut now = 0u64;
        let mut server_free = 0u64;
        // (reply time, measured from)
        let mut in_flight: std::collections::VecDeque<(u64, u64)> = Default::default();
        while now < 5_000_000_000 {
            while let Some(from) = pacer.take(now) {
                let mut start = now.max(server_free);
                if (stall_from..stall_to).contains(&start) {
                    start = stall_to;
                }
                server_free = start + service;
                in_flight.push_back((server_free, from));
            }
            let next_reply = in_flight.front().map(|r| r.0);
            let next_send = pacer.wake_at(now);
            now = match (next_reply, next_send) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).expect("something to wait for"),
            };
            while in_flight.front().is_some_and(|r| r.0 <= now) {
                let (at, from) = in_flight.pop_front().expect("just seen");
                histogram.record(at - from).expect("in range");
                pacer.ended();
            }
        }
        histogram
    }

    #[test]
    fn open_loop_sees_a_stall_that_closed_loop_hides() {
        let open = run(Pacing::Open { rate: 1_000.0 });
        let closed = run(Pacing::Closed {
            rate: Some(1_000.0),
        });
        let ms = |h: &hdrhistogram::Histogram<u64>, q| h.value_at_quantile(q) as f64 / 1e6;
        assert!(
            ms(&open, 0.999) >= 100.0,
            "open p99.9 {} ms",
            ms(&open, 0.999)
        );
        assert!(
            ms(&closed, 0.999) < 1.0,
            "closed p99.9 {} ms",
            ms(&closed, 0.999)
        );
        // Both saw the stall's longest wait once.
        assert!(ms(&open, 1.0) >= 199.0 && ms(&closed, 1.0) >= 199.0);
        // The open loop sent on schedule through the stall; the closed
        // loop sent one request during it.
        assert!(open.len() >= 4_990, "{}", open.len());
        assert!(closed.len() < open.len() - 150, "{}", closed.len());
    }

    #[test]
    fn an_open_loop_that_falls_behind_sends_late_requests_with_their_intended_times() {
        let mut pacer = Pacer::new(Pacing::Open { rate: 1_000.0 }, 1_000, 1);
        assert_eq!(pacer.take(999), None);
        assert_eq!(pacer.take(1_000), Some(1_000));
        assert_eq!(pacer.take(1_000), None);
        // 3.5 ms late: three requests are due, each with its own time.
        let late: Vec<u64> = std::iter::from_fn(|| pacer.take(3_501_000)).collect();
        assert_eq!(late, vec![1_001_000, 2_001_000, 3_001_000]);
        assert_eq!(pacer.in_flight(), 4);
        assert_eq!(pacer.wake_at(3_501_000), Some(4_001_000));
    }

    #[test]
    fn a_closed_loop_waits_for_the_reply_and_does_not_catch_up() {
        let mut pacer = Pacer::new(
            Pacing::Closed {
                rate: Some(1_000.0),
            },
            0,
            2,
        );
        assert_eq!(pacer.take(0), Some(0));
        assert_eq!(pacer.take(1_000_000), Some(1_000_000));
        // Two in flight on two connections: nothing more until a reply.
        assert_eq!(pacer.take(5_000_000), None);
        assert_eq!(pacer.wake_at(5_000_000), None);
        pacer.ended();
        // Measured from the send, and the missed slots are skipped.
        assert_eq!(pacer.take(9_000_000), Some(9_000_000));
        assert_eq!(pacer.next_due(), 10_000_000);
        // Without a rate, the next goes as soon as a reply frees the window.
        let mut free = Pacer::new(Pacing::Closed { rate: None }, 0, 1);
        assert_eq!(free.take(5), Some(5));
        assert_eq!(free.take(6), None);
        free.ended();
        assert_eq!(free.take(7), Some(7));
    }
}
