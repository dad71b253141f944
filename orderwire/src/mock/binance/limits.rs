//! The mock's rate limits: strict rolling windows, as binance.md states
//! them, counted as requests arrive. A request over a limit is refused
//! (429, with `retryAfter`) and not counted; a request that arrives after
//! the client was told to back off, and before `retryAfter`, is banned
//! (418), the way Binance escalates.

use std::collections::VecDeque;
use std::time::Duration;

use orderwire_protocol::time::Instant;

use super::MockConfig;

/// One rolling window.
#[derive(Debug)]
struct Window {
    length: Duration,
    max: u64,
    entries: VecDeque<(Instant, u64)>,
    total: u64,
}

impl Window {
    fn new(length: Duration, max: u32) -> Window {
        Window {
            length,
            max: u64::from(max),
            entries: VecDeque::new(),
            total: 0,
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(at, n)) = self.entries.front() {
            if now.saturating_duration_since(at) < self.length {
                break;
            }
            self.entries.pop_front();
            self.total -= n;
        }
    }

    /// None if `n` fits now, else when it will.
    fn blocked_until(&mut self, now: Instant, n: u64) -> Option<Instant> {
        self.expire(now);
        if self.total + n <= self.max {
            return None;
        }
        let mut freed = 0;
        for (at, entry) in &self.entries {
            freed += entry;
            if self.total - freed + n <= self.max {
                return Some(*at + self.length);
            }
        }
        Some(now + self.length)
    }

    fn add(&mut self, now: Instant, n: u64) {
        if n > 0 {
            self.entries.push_back((now, n));
            self.total += n;
        }
    }
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// 429: over a limit; retry after this many ms from now.
    Throttled {
        /// -1003 (weight) or -1015 (orders).
        code: i64,
        /// The message.
        msg: String,
        /// Wait.
        retry_after: Duration,
    },
    /// 418: it kept sending during a back-off.
    Banned {
        /// Wait.
        retry_after: Duration,
    },
}

/// Request weight (IP-wide) and order counts (account-wide).
#[derive(Debug)]
pub(crate) struct Limits {
    weight: Window,
    orders_10s: Window,
    orders_day: Window,
    /// A 429 went out: requests arriving from `grace_until` (time for the
    /// client to read it) to `until` are banned.
    back_off: Option<(Instant, Instant)>,
}

/// How long a client has to read a 429 before more requests count as
/// ignoring it (its requests already in flight are not its fault).
const READ_GRACE: Duration = Duration::from_millis(500);

impl Limits {
    pub(crate) fn new(config: &MockConfig) -> Limits {
        Limits {
            weight: Window::new(Duration::from_secs(60), config.weight_per_minute),
            orders_10s: Window::new(Duration::from_secs(10), config.orders_per_10s),
            orders_day: Window::new(Duration::from_secs(86_400), config.orders_per_day),
            back_off: None,
        }
    }

    /// Counts a request of `weight` that places `orders` orders, or
    /// refuses it.
    pub(crate) fn admit(&mut self, now: Instant, weight: u32, orders: u32) -> Result<(), Refused> {
        if let Some((grace_until, until)) = self.back_off {
            if now >= until {
                self.back_off = None;
            } else if now >= grace_until {
                return Err(Refused::Banned {
                    retry_after: until - now,
                });
            }
        }
        let (weight, orders) = (u64::from(weight), u64::from(orders));
        if let Some(at) = self.weight.blocked_until(now, weight) {
            return Err(self.throttle(
                now,
                at,
                -1003,
                format!(
                    "Too much request weight used; current limit is {} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
                    self.weight.max
                ),
            ));
        }
        if orders > 0 {
            let blocked = self
                .orders_10s
                .blocked_until(now, orders)
                .map(|at| (at, 10, "SECOND", self.orders_10s.max))
                .or_else(|| {
                    self.orders_day
                        .blocked_until(now, orders)
                        .map(|at| (at, 1, "DAY", self.orders_day.max))
                });
            if let Some((at, num, unit, max)) = blocked {
                return Err(self.throttle(
                    now,
                    at,
                    -1015,
                    format!("Too many new orders; current limit is {max} orders per {num} {unit}."),
                ));
            }
        }
        self.weight.add(now, weight);
        self.orders_10s.add(now, orders);
        self.orders_day.add(now, orders);
        Ok(())
    }

    fn throttle(&mut self, now: Instant, at: Instant, code: i64, msg: String) -> Refused {
        let grace = match self.back_off {
            Some((grace_until, _)) => grace_until,
            None => now + READ_GRACE,
        };
        self.back_off = Some((grace, at));
        Refused::Throttled {
            code,
            msg,
            retry_after: at - now,
        }
    }

    /// Another session's weight.
    pub(crate) fn spend_weight(&mut self, now: Instant, weight: u32) {
        self.weight.add(now, u64::from(weight));
    }

    /// Another session's orders.
    pub(crate) fn spend_orders(&mut self, now: Instant, orders: u32) {
        self.orders_10s.add(now, u64::from(orders));
        self.orders_day.add(now, u64::from(orders));
    }

    /// The `rateLimits` block with the current counts.
    pub(crate) fn report(&mut self, now: Instant) -> String {
        self.weight.expire(now);
        self.orders_10s.expire(now);
        self.orders_day.expire(now);
        format!(
            r#""rateLimits":[{{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":{},"count":{}}},{{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":{},"count":{}}},{{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":{},"count":{}}}]"#,
            self.weight.max,
            self.weight.total,
            self.orders_10s.max,
            self.orders_10s.total,
            self.orders_day.max,
            self.orders_day.total
        )
    }
}
