//! Keepalive rules and rate limits as data: the venue states them, the
//! gateway enforces them.

use std::time::Duration;

use crate::model::Method;

/// What keeps a connection open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// The venue closes a connection after this long without a request.
    pub idle_close_after: Option<Duration>,
    /// Send an application ping this often (well inside `idle_close_after`).
    pub app_ping_every: Option<Duration>,
    /// The venue sends heartbeats at least this often while subscribed.
    pub heartbeat_every: Option<Duration>,
    /// The venue ends a connection this old (Binance: 24 h); the gateway
    /// reconnects on its own terms before that.
    pub max_connection_age: Option<Duration>,
}

/// What one counter counts over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitScope {
    /// One counter per connection/account.
    Global,
    /// One counter per trading pair (Kraken's trading counter).
    PerSymbol,
}

/// What one request costs, in milli-units of the counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// The request's method.
    pub method: Method,
    /// Cost regardless of the order's age.
    pub base: u32,
    /// Extra cost if the order had rested for less than the duration; the
    /// first matching row applies (rows sorted by duration).
    pub by_rest: &'static [(Duration, u32)],
}

/// One limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateLimit {
    /// At most `max` units of cost in any rolling `window`.
    Window {
        /// The venue's name for the counter (`REQUEST_WEIGHT`), which its
        /// usage reports ([`crate::model::RateUsage`]) are matched by.
        name: &'static str,
        /// Counter scope.
        scope: LimitScope,
        /// Window length.
        window: Duration,
        /// Units allowed in the window.
        max: u32,
        /// Cost per method in units; methods not listed cost 1.
        costs: &'static [(Method, u32)],
    },
    /// A bucket of `capacity` tokens refilled at `refill_per_sec`.
    TokenBucket {
        /// Counter scope.
        scope: LimitScope,
        /// Burst size.
        capacity: u32,
        /// Tokens per second.
        refill_per_sec: u32,
    },
    /// A counter in milli-units that decays continuously at
    /// `decay_milli_per_sec` and may not exceed `threshold_milli`
    /// (Kraken's per-pair trading counter).
    DecayingCounter {
        /// Counter scope.
        scope: LimitScope,
        /// The ceiling.
        threshold_milli: u64,
        /// Decay per second.
        decay_milli_per_sec: u64,
        /// What each method costs; methods not listed cost nothing.
        costs: &'static [Cost],
    },
}

/// All of a venue's limits; a request must fit every one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RatePolicy {
    /// The limits.
    pub limits: Vec<RateLimit>,
}

impl Cost {
    /// The cost in milli-units of a request on an order that has rested for
    /// `rested` (None: a new order, or its age is not known).
    pub fn milli(&self, rested: Option<Duration>) -> u64 {
        let extra = rested
            .and_then(|age| self.by_rest.iter().find(|(under, _)| age < *under))
            .map_or(0, |(_, extra)| *extra);
        u64::from(self.base) + u64::from(extra)
    }
}
