//! Enforces a venue's [`RatePolicy`] before a request leaves: a request that
//! would breach any limit is held back (or refused) here, never sent only to
//! be refused by the venue.
//!
//! Time is an argument (nanoseconds on the engine's monotonic clock), so the
//! limiter runs in virtual time in tests.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use orderwire_protocol::model::{Method, Symbol};
use orderwire_protocol::venue::{LimitScope, RateLimit, RatePolicy};

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// What one request asks of the limits.
#[derive(Clone, Copy, Debug)]
pub struct Charge {
    /// Its method.
    pub method: Method,
    /// The pair it trades, for per-pair counters (None: global only).
    pub symbol: Option<Symbol>,
    /// How long the order it touches has rested (amend and cancel costs).
    pub rested: Option<Duration>,
    /// How many orders it carries (a batch counts each).
    pub orders: u32,
}

#[derive(Debug, Default)]
struct WindowState {
    /// (time, cost) of each charge still inside the window.
    sent: VecDeque<(u64, u64)>,
    total: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    /// Tokens in milli-units.
    tokens_milli: u64,
    at: u64,
    started: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counter {
    value_milli: u64,
    at: u64,
}

/// The state of every limit of a policy.
#[derive(Debug)]
pub struct Limiter {
    policy: RatePolicy,
    windows: Vec<HashMap<Option<Symbol>, WindowState>>,
    buckets: Vec<HashMap<Option<Symbol>, Bucket>>,
    counters: Vec<HashMap<Option<Symbol>, Counter>>,
    /// The latest time seen: state is never rolled back to an earlier `now`.
    latest: u64,
    /// The venue refuses everything before this (a 429's `retryAfter`).
    blocked_until: u64,
    /// Percent of each ceiling used (100 minus the headroom).
    keep_percent: u64,
}

impl Limiter {
    /// A limiter for `policy`, with nothing charged yet. `headroom_percent`
    /// lowers every ceiling: the venue counts from when a request arrives,
    /// we from when it leaves, and network jitter can bring two requests
    /// closer together on arrival than they were on departure.
    pub fn new(mut policy: RatePolicy, headroom_percent: u8) -> Limiter {
        let keep = u64::from(100 - headroom_percent.min(99));
        for limit in &mut policy.limits {
            match limit {
                RateLimit::Window { max, .. } => {
                    *max = u32::try_from(u64::from(*max) * keep / 100)
                        .unwrap_or(*max)
                        .max(1)
                }
                RateLimit::TokenBucket { capacity, .. } => {
                    *capacity = u32::try_from(u64::from(*capacity) * keep / 100)
                        .unwrap_or(*capacity)
                        .max(1)
                }
                RateLimit::DecayingCounter {
                    threshold_milli, ..
                } => {
                    *threshold_milli =
                        u64::try_from(u128::from(*threshold_milli) * u128::from(keep) / 100)
                            .unwrap_or(u64::MAX)
                            .max(1)
                }
            }
        }
        let n = policy.limits.len();
        // Global windows get their whole log up front (Binance's daily
        // ORDERS: 144,000 entries, 2.3 MB), so charging never allocates.
        let windows = policy
            .limits
            .iter()
            .map(|limit| {
                let mut states = HashMap::new();
                if let RateLimit::Window {
                    scope: LimitScope::Global,
                    max,
                    ..
                } = limit
                {
                    let capacity = (*max as usize).min(1 << 18);
                    states.insert(
                        None,
                        WindowState {
                            sent: VecDeque::with_capacity(capacity + 1),
                            total: 0,
                        },
                    );
                }
                states
            })
            .collect();
        Limiter {
            policy,
            windows,
            buckets: (0..n).map(|_| HashMap::new()).collect(),
            counters: (0..n).map(|_| HashMap::new()).collect(),
            latest: 0,
            blocked_until: 0,
            keep_percent: keep,
        }
    }

    /// The policy enforced.
    pub fn policy(&self) -> &RatePolicy {
        &self.policy
    }

    /// Ok if `charge` fits every limit at `now`; otherwise the earliest time
    /// at which it will (assuming nothing else is charged meanwhile).
    /// A `now` earlier than a previous call's is taken as that call's time.
    pub fn check(&mut self, now: u64, charge: &Charge) -> Result<(), u64> {
        let now = now.max(self.latest);
        self.latest = now;
        let mut ready_at = now.max(self.blocked_until);
        for index in 0..self.policy.limits.len() {
            let limit = self.policy.limits[index];
            ready_at = ready_at.max(self.ready_at(index, &limit, now, charge));
        }
        if ready_at <= now {
            Ok(())
        } else {
            Err(ready_at)
        }
    }

    /// Records that `charge` was sent at `now` (call after `check` said Ok).
    pub fn charge(&mut self, now: u64, charge: &Charge) {
        let now = now.max(self.latest);
        self.latest = now;
        for index in 0..self.policy.limits.len() {
            let limit = self.policy.limits[index];
            let key = key(&limit, charge);
            match limit {
                RateLimit::Window { window, costs, .. } => {
                    let state = self.windows[index].entry(key).or_default();
                    expire(state, now, window);
                    let cost = window_cost(costs, charge);
                    if cost > 0 {
                        state.sent.push_back((now, cost));
                        state.total += cost;
                    }
                }
                RateLimit::TokenBucket {
                    capacity,
                    refill_per_sec,
                    ..
                } => {
                    let bucket = self.buckets[index].entry(key).or_default();
                    refill(bucket, now, capacity, refill_per_sec);
                    bucket.tokens_milli = bucket
                        .tokens_milli
                        .saturating_sub(1_000 * u64::from(charge.orders.max(1)));
                }
                RateLimit::DecayingCounter {
                    decay_milli_per_sec,
                    costs,
                    ..
                } => {
                    let cost = counter_cost(costs, charge);
                    if cost == 0 {
                        continue;
                    }
                    let counter = self.counters[index].entry(key).or_default();
                    decay(counter, now, decay_milli_per_sec);
                    counter.value_milli = counter.value_milli.saturating_add(cost);
                }
            }
        }
    }

    /// Nothing fits before `until` (engine clock): the venue refused a
    /// request for its rate and said when to come back.
    pub fn block_until(&mut self, until: u64) {
        self.blocked_until = self.blocked_until.max(until);
    }

    /// Until when everything is blocked (0: not blocked).
    pub fn blocked_until(&self) -> u64 {
        self.blocked_until
    }

    /// Makes every global window named `name` of length `window` agree
    /// with the venue's `count`, which covers the requests sent up to
    /// `as_of` (later ones are still on their way). The venue's count wins:
    /// units it counts that we did not (other sessions on the same key or
    /// IP) are added as of now; units we count that it does not are taken
    /// off the oldest entries. A lower venue `limit` lowers the ceiling.
    pub fn reconcile(
        &mut self,
        now: u64,
        name: &str,
        window: Duration,
        limit: u32,
        count: u64,
        as_of: u64,
    ) {
        let now = now.max(self.latest);
        self.latest = now;
        let keep = self.keep_percent;
        for index in 0..self.policy.limits.len() {
            let RateLimit::Window {
                name: limit_name,
                scope: LimitScope::Global,
                window: limit_window,
                max,
                ..
            } = &mut self.policy.limits[index]
            else {
                continue;
            };
            if *limit_name != name || *limit_window != window {
                continue;
            }
            let venue_max = u32::try_from(u64::from(limit) * keep / 100)
                .unwrap_or(u32::MAX)
                .max(1);
            if venue_max < *max {
                *max = venue_max;
            }
            let state = self.windows[index].entry(None).or_default();
            expire(state, now, window);
            let ours: u64 = state
                .sent
                .iter()
                .take_while(|(at, _)| *at <= as_of)
                .map(|(_, cost)| cost)
                .sum();
            if count > ours {
                let extra = count - ours;
                state.sent.push_back((now, extra));
                state.total += extra;
            } else {
                let mut surplus = ours - count;
                while surplus > 0 {
                    let Some(front) = state.sent.front_mut() else {
                        break;
                    };
                    let taken = front.1.min(surplus);
                    front.1 -= taken;
                    state.total -= taken;
                    surplus -= taken;
                    if front.1 == 0 {
                        state.sent.pop_front();
                    }
                }
            }
        }
    }

    /// The units counted now in the first global window named `name` of
    /// length `window` (for tests and the demo's summary).
    pub fn window_total(&mut self, now: u64, name: &str, window: Duration) -> Option<u64> {
        let index = self.policy.limits.iter().position(|l| {
            matches!(l, RateLimit::Window { name: n, window: w, .. } if *n == name && *w == window)
        })?;
        let state = self.windows[index].entry(None).or_default();
        expire(state, now.max(self.latest), window);
        Some(state.total)
    }

    fn ready_at(&mut self, index: usize, limit: &RateLimit, now: u64, charge: &Charge) -> u64 {
        let key = key(limit, charge);
        match *limit {
            RateLimit::Window {
                window, max, costs, ..
            } => {
                let cost = window_cost(costs, charge);
                let state = self.windows[index].entry(key).or_default();
                expire(state, now, window);
                let limit = u64::from(max);
                if state.total.saturating_add(cost) <= limit {
                    return now;
                }
                if cost > limit {
                    return u64::MAX;
                }
                // Free enough of the window: the entry whose expiry brings the
                // total down to `max - cost`.
                let mut freed = 0;
                for (at, entry_cost) in &state.sent {
                    freed += entry_cost;
                    if state.total - freed + cost <= limit {
                        return at + duration_nanos(window);
                    }
                }
                u64::MAX
            }
            RateLimit::TokenBucket {
                capacity,
                refill_per_sec,
                ..
            } => {
                let bucket = self.buckets[index].entry(key).or_default();
                refill(bucket, now, capacity, refill_per_sec);
                let need = 1_000 * u64::from(charge.orders.max(1));
                if bucket.tokens_milli >= need {
                    return now;
                }
                if refill_per_sec == 0 || need > 1_000 * u64::from(capacity) {
                    return u64::MAX;
                }
                let missing = need - bucket.tokens_milli;
                now.saturating_add(wait_nanos(missing, 1_000 * u64::from(refill_per_sec)))
            }
            RateLimit::DecayingCounter {
                threshold_milli,
                decay_milli_per_sec,
                costs,
                ..
            } => {
                let cost = counter_cost(costs, charge);
                if cost == 0 {
                    return now;
                }
                let counter = self.counters[index].entry(key).or_default();
                decay(counter, now, decay_milli_per_sec);
                if counter.value_milli.saturating_add(cost) <= threshold_milli {
                    return now;
                }
                if cost > threshold_milli || decay_milli_per_sec == 0 {
                    return u64::MAX;
                }
                let excess = counter.value_milli.saturating_add(cost) - threshold_milli;
                now.saturating_add(wait_nanos(excess, decay_milli_per_sec))
            }
        }
    }
}

fn key(limit: &RateLimit, charge: &Charge) -> Option<Symbol> {
    let scope = match limit {
        RateLimit::Window { scope, .. }
        | RateLimit::TokenBucket { scope, .. }
        | RateLimit::DecayingCounter { scope, .. } => scope,
    };
    match scope {
        LimitScope::Global => None,
        LimitScope::PerSymbol => charge.symbol,
    }
}

/// Units a window counts for this request: the listed weight or 1, per order.
pub fn window_cost(costs: &[(Method, u32)], charge: &Charge) -> u64 {
    let weight = costs
        .iter()
        .find(|(method, _)| *method == charge.method)
        .map_or(1, |(_, weight)| *weight);
    u64::from(weight)
}

/// Milli-units a decaying counter adds for this request (0 if not listed).
pub fn counter_cost(costs: &[orderwire_protocol::venue::Cost], charge: &Charge) -> u64 {
    costs
        .iter()
        .find(|cost| cost.method == charge.method)
        .map_or(0, |cost| {
            cost.milli(charge.rested) * u64::from(charge.orders.max(1))
        })
}

fn expire(state: &mut WindowState, now: u64, window: Duration) {
    let window = duration_nanos(window);
    while let Some(&(at, cost)) = state.sent.front() {
        if at + window > now {
            break;
        }
        state.sent.pop_front();
        state.total -= cost;
    }
}

fn refill(bucket: &mut Bucket, now: u64, capacity: u32, refill_per_sec: u32) {
    let capacity_milli = 1_000 * u64::from(capacity);
    if !bucket.started {
        *bucket = Bucket {
            tokens_milli: capacity_milli,
            at: now,
            started: true,
        };
        return;
    }
    let elapsed = now.saturating_sub(bucket.at);
    let added =
        u128::from(elapsed) * u128::from(refill_per_sec) * 1_000 / u128::from(NANOS_PER_SEC);
    let added = u64::try_from(added).unwrap_or(u64::MAX);
    if added > 0 {
        bucket.tokens_milli = bucket
            .tokens_milli
            .saturating_add(added)
            .min(capacity_milli);
        // Advance only by the time the added tokens account for, so that
        // fractions are not lost between calls.
        let used =
            u128::from(added) * u128::from(NANOS_PER_SEC) / (u128::from(refill_per_sec) * 1_000);
        bucket.at += u64::try_from(used).unwrap_or(elapsed).min(elapsed);
        if bucket.tokens_milli == capacity_milli {
            bucket.at = now;
        }
    }
}

/// Decays the counter to `now`, rounding the decay down: the counter never
/// looks emptier than it is.
fn decay(counter: &mut Counter, now: u64, decay_milli_per_sec: u64) {
    let elapsed = now.saturating_sub(counter.at);
    let decayed = u128::from(elapsed) * u128::from(decay_milli_per_sec) / u128::from(NANOS_PER_SEC);
    let decayed = u64::try_from(decayed).unwrap_or(u64::MAX);
    if decayed >= counter.value_milli {
        counter.value_milli = 0;
        counter.at = now;
    } else if decayed > 0 {
        counter.value_milli -= decayed;
        // Keep the remainder of the elapsed time that did not yet decay a unit.
        let used =
            u128::from(decayed) * u128::from(NANOS_PER_SEC) / u128::from(decay_milli_per_sec);
        counter.at += u64::try_from(used).unwrap_or(elapsed).min(elapsed);
    }
}

fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Nanoseconds until `units` drain at `per_sec` units a second (rounded up).
fn wait_nanos(units: u64, per_sec: u64) -> u64 {
    let nanos =
        (u128::from(units) * u128::from(NANOS_PER_SEC)).div_ceil(u128::from(per_sec.max(1)));
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = NANOS_PER_SEC;

    fn charge(method: Method) -> Charge {
        Charge {
            method,
            symbol: None,
            rested: None,
            orders: 1,
        }
    }

    fn limiter(limit: RateLimit) -> Limiter {
        Limiter::new(
            RatePolicy {
                limits: vec![limit],
            },
            0,
        )
    }

    /// Sends whenever allowed, jumping to the time `check` names; returns
    /// the send times.
    fn drive(limiter: &mut Limiter, charge: &Charge, sends: usize) -> Vec<u64> {
        let mut now = 0;
        let mut times = Vec::new();
        while times.len() < sends {
            match limiter.check(now, charge) {
                Ok(()) => {
                    limiter.charge(now, charge);
                    times.push(now);
                }
                Err(at) => {
                    assert!(at > now && at != u64::MAX);
                    now = at;
                }
            }
        }
        times
    }

    #[test]
    fn a_rolling_window_with_weights_never_holds_more_than_its_max() {
        // Binance-style: 10 units per second, an order weighs 2.
        let mut limiter = limiter(RateLimit::Window {
            name: "TEST",
            scope: LimitScope::Global,
            window: Duration::from_secs(1),
            max: 10,
            costs: &[(Method::Place, 2)],
        });
        let times = drive(&mut limiter, &charge(Method::Place), 23);
        for (i, t) in times.iter().enumerate() {
            let in_window = times[..=i].iter().filter(|s| **s + SEC > *t).count();
            assert!(
                in_window * 2 <= 10,
                "at {t}: {in_window} orders in the window"
            );
        }
        assert_eq!(&times[..5], &[0, 0, 0, 0, 0]);
        assert_eq!(
            times[5], SEC,
            "the sixth waits for the first to leave the window"
        );
        // A ping weighs 1 (not listed) and fits beside four orders.
        let mut mixed = limiter_with_four_orders();
        assert!(mixed.check(0, &charge(Method::Ping)).is_ok());
    }

    fn limiter_with_four_orders() -> Limiter {
        let mut limiter = limiter(RateLimit::Window {
            name: "TEST",
            scope: LimitScope::Global,
            window: Duration::from_secs(1),
            max: 10,
            costs: &[(Method::Place, 2)],
        });
        for _ in 0..4 {
            limiter.charge(0, &charge(Method::Place));
        }
        limiter
    }

    #[test]
    fn a_token_bucket_bursts_to_capacity_then_refills_at_its_rate() {
        let mut limiter = limiter(RateLimit::TokenBucket {
            scope: LimitScope::Global,
            capacity: 5,
            refill_per_sec: 10,
        });
        let times = drive(&mut limiter, &charge(Method::Place), 25);
        assert_eq!(&times[..5], &[0; 5]);
        // Then one every 100 ms.
        for pair in times[5..].windows(2) {
            assert_eq!(pair[1] - pair[0], SEC / 10);
        }
        assert_eq!(times[5], SEC / 10);
    }

    #[test]
    fn per_symbol_counters_are_independent_and_headroom_lowers_ceilings() {
        let limit = RateLimit::DecayingCounter {
            scope: LimitScope::PerSymbol,
            threshold_milli: 10_000,
            decay_milli_per_sec: 1_000,
            costs: &[orderwire_protocol::venue::Cost {
                method: Method::Place,
                base: 1_000,
                by_rest: &[],
            }],
        };
        let mut with_headroom = Limiter::new(
            RatePolicy {
                limits: vec![limit],
            },
            20,
        );
        let btc = Charge {
            symbol: orderwire_protocol::model::inline("BTC/USD"),
            ..charge(Method::Place)
        };
        let eth = Charge {
            symbol: orderwire_protocol::model::inline("ETH/USD"),
            ..charge(Method::Place)
        };
        for _ in 0..8 {
            assert!(with_headroom.check(0, &btc).is_ok());
            with_headroom.charge(0, &btc);
        }
        assert_eq!(
            with_headroom.check(0, &btc),
            Err(SEC),
            "8 of 10 units with 20 % headroom"
        );
        assert!(
            with_headroom.check(0, &eth).is_ok(),
            "another pair has its own counter"
        );
    }
}

/// The one point where gateways share state: one account's rate limits
/// charged by several gateways on the same API key (or the same IP
/// budget), so that together they never exceed what the venue allows.
///
/// The driver supplies it; the core never takes a lock of its own. The
/// engine's `RateBudget` is a mutex around a [`Limiter`]; a single-threaded
/// driver (the inline engine, a test Pair, the replayer) can hand every
/// gateway the same `RefCell`-free implementation it likes. Each call is
/// one check-and-charge, so two gateways racing for the last unit cannot
/// both take it. docs/gateway.md names this as the one shared point.
pub trait SharedLimiter: Send + Sync + std::fmt::Debug {
    /// Runs `f` on the shared limiter, exclusively, and returns at once.
    fn with_limiter(&self, f: &mut dyn FnMut(&mut Limiter));
}

/// A handle to a [`SharedLimiter`], as [`GatewayConfig::rate_budget`]
/// holds it; clones share the counts.
///
/// [`GatewayConfig::rate_budget`]: crate::GatewayConfig::rate_budget
#[derive(Clone, Debug)]
pub struct SharedBudget(std::sync::Arc<dyn SharedLimiter>);

impl SharedBudget {
    /// Wraps the driver's shared limiter.
    pub fn new(limiter: std::sync::Arc<dyn SharedLimiter>) -> SharedBudget {
        SharedBudget(limiter)
    }

    /// Whether two handles share one budget.
    pub fn same(&self, other: &SharedBudget) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Limiter) -> R) -> R {
        let mut f = Some(f);
        let mut result = None;
        self.0.with_limiter(&mut |limiter| {
            if let Some(f) = f.take() {
                result = Some(f(limiter));
            }
        });
        // A `SharedLimiter` runs the closure exactly once (its contract);
        // one that did not would be a bug in the driver, not input.
        result.expect("SharedLimiter::with_limiter runs its closure once")
    }
}

/// The limits a gateway answers to: its own, or a budget it shares.
#[derive(Debug)]
pub(crate) enum Budget {
    /// This gateway's alone (no lock).
    Own(Limiter),
    /// Shared with other gateways on the same key.
    Shared(SharedBudget),
}

impl Budget {
    /// Runs `f` on the limiter, under the shared lock if there is one.
    pub(crate) fn with<R>(&mut self, f: impl FnOnce(&mut Limiter) -> R) -> R {
        match self {
            Budget::Own(limiter) => f(limiter),
            Budget::Shared(budget) => budget.with(f),
        }
    }

    /// Checks `charge` at `now` and, if it fits, charges it, in one step.
    pub(crate) fn take(&mut self, now: u64, charge: &Charge) -> Result<(), u64> {
        self.with(|limiter| {
            limiter.check(now, charge)?;
            limiter.charge(now, charge);
            Ok(())
        })
    }
}
