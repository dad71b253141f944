//! `RateBudget`: the engine's [`SharedLimiter`], a lock around one
//! [`Limiter`] that every gateway on one API key charges. The lock lives
//! here, in the driver, never in the sans-IO core.

use std::sync::Arc;

use orderwire_gateway::ratelimit::{Limiter, SharedBudget, SharedLimiter};
use orderwire_protocol::venue::RatePolicy;
use parking_lot::Mutex;

/// One account's rate limits shared by several gateways: exchanges on the
/// same API key (or the same IP budget) are charged together, so together
/// they never exceed what the venue allows. Clones share the counts; each
/// check-and-charge is one lock acquisition, so two gateways racing for the
/// last unit cannot both take it. Hand it to a gateway with
/// [`RateBudget::shared`].
#[derive(Clone)]
pub struct RateBudget(Arc<LockedLimiter>);

/// The limiter behind its lock.
struct LockedLimiter(Mutex<Limiter>);

impl std::fmt::Debug for LockedLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockedLimiter").finish_non_exhaustive()
    }
}

impl SharedLimiter for LockedLimiter {
    fn with_limiter(&self, f: &mut dyn FnMut(&mut Limiter)) {
        f(&mut self.0.lock());
    }
}

impl RateBudget {
    /// A budget for `policy` (the venue's), keeping `headroom_percent` of
    /// every ceiling unused.
    pub fn new(policy: RatePolicy, headroom_percent: u8) -> RateBudget {
        RateBudget(Arc::new(LockedLimiter(Mutex::new(Limiter::new(
            policy,
            headroom_percent,
        )))))
    }

    /// Whether two handles share one budget.
    pub fn same(&self, other: &RateBudget) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The units counted now (engine clock, ns) in the window `name` of
    /// length `window`: what every sharer has spent (tests, summaries).
    pub fn window_total(
        &self,
        now_ns: u64,
        name: &str,
        window: std::time::Duration,
    ) -> Option<u64> {
        self.0.0.lock().window_total(now_ns, name, window)
    }

    /// The handle a [`GatewayConfig`](orderwire_gateway::GatewayConfig)
    /// takes as `rate_budget`.
    pub fn shared(&self) -> SharedBudget {
        SharedBudget::new(self.0.clone())
    }
}

impl std::fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateBudget")
            .field("sharers", &Arc::strong_count(&self.0))
            .finish_non_exhaustive()
    }
}
