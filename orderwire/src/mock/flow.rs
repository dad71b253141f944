//! A mock's seeded order flow: other accounts' orders arriving, canceling
//! and crossing at a set rate, with bursts, so that a feed shows a market
//! that moves (`orderwire run --mock --mock-rate N`, the demos, `orderwire
//! bench --workload subscribe`).
//!
//! The flow is a pure function of its seed and the mock's clock: the same
//! seed gives the same actions at the same virtual times ([`OrderFlow`]),
//! so tests drive it in virtual time; a socket mock runs it on a thread of
//! its own against the wall clock (`spawn`). What an action does to a
//! book is [`apply`], shared by every venue; each venue publishes the
//! change its own way, as it does for any other account's order.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::matching::{Execution, Matching, Owner};

/// The flow's settings. A rate of 0 (the default) is no flow: the mock's
/// market then changes only when a client or a test trades.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowConfig {
    /// Actions per second on average, bursts included.
    pub rate: u32,
    /// The flow's seed.
    pub seed: u64,
}

/// One action of another account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowAction {
    /// A limit order rests on `side`, `level` ticks behind its best (0
    /// joins the touch; 3 improves it by a tick where the spread allows).
    Rest {
        /// The side it rests on.
        side: Side,
        /// Which of the side's levels it joins.
        level: usize,
        /// Its size in the venue's flow units.
        lots: u32,
    },
    /// The `pick`-th (modulo their count) of the flow's resting orders is
    /// withdrawn.
    Cancel {
        /// Which one.
        pick: u32,
    },
    /// An order takes `lots` units from the touch of the other side: it
    /// trades.
    Cross {
        /// The aggressor's side.
        side: Side,
        /// Its size in units.
        lots: u32,
    },
}

/// The flow's clock and dice.
#[derive(Debug)]
pub struct OrderFlow {
    config: FlowConfig,
    rng: ChaCha8Rng,
    next_at: Instant,
    /// Actions left in the current burst.
    burst: u32,
}

/// Mean actions between bursts, and a burst's size and speed-up.
const BURST_EVERY: u64 = 200;
const BURST_ACTIONS: u64 = 20;
const BURST_SPEEDUP: u64 = 10;

impl OrderFlow {
    /// A flow whose first action comes after `start`.
    pub fn new(config: FlowConfig, start: Instant) -> OrderFlow {
        let mut flow = OrderFlow {
            config,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            next_at: start,
            burst: 0,
        };
        flow.next_at = Instant(start.0.saturating_add(flow.gap()));
        flow
    }

    /// When the next action is due; None when the flow is off.
    pub fn next_at(&self) -> Option<Instant> {
        (self.config.rate > 0).then_some(self.next_at)
    }

    /// The next action due at `now`, if one is.
    pub fn poll(&mut self, now: Instant) -> Option<FlowAction> {
        if self.config.rate == 0 || self.next_at > now {
            return None;
        }
        let action = self.draw();
        self.next_at = Instant(self.next_at.0.saturating_add(self.gap()));
        Some(action)
    }

    /// The time to the next action: exponential around the rate (a
    /// Poisson arrival), ten times faster inside a burst; the burst rate is
    /// paid back by a slower base, so the average stays at `rate`.
    fn gap(&mut self) -> u64 {
        if self.burst == 0 && self.rng.next_u64() % BURST_EVERY == 0 {
            self.burst = u32::try_from(BURST_ACTIONS).unwrap_or(u32::MAX);
        }
        let mean_ns = 1_000_000_000 / u64::from(self.config.rate.max(1));
        // Of BURST_EVERY actions, BURST_ACTIONS go at SPEEDUP times the
        // rate; the others share what is left of the period.
        let burst_time = BURST_ACTIONS * mean_ns / BURST_SPEEDUP;
        let base_mean =
            (BURST_EVERY * mean_ns).saturating_sub(burst_time) / (BURST_EVERY - BURST_ACTIONS);
        let mean = if self.burst > 0 {
            self.burst -= 1;
            mean_ns / BURST_SPEEDUP
        } else {
            base_mean
        };
        // -ln(U) * mean, U uniform in (0, 1]: a float here times the
        // schedule only; no price or quantity is ever a float.
        let uniform = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let factor = -(1.0 - uniform).ln();
        let gap = factor * mean as f64;
        if gap.is_finite() && gap > 0.0 {
            // In range: finite, positive, and under 50 mean gaps in practice.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let ns = gap.min(1e18) as u64;
            ns.max(1)
        } else {
            1
        }
    }

    fn draw(&mut self) -> FlowAction {
        let roll = self.rng.next_u64();
        let side = if roll & 1 == 0 { Side::Buy } else { Side::Sell };
        let lots = 1 + u32::try_from((roll >> 8) % 5).unwrap_or(0);
        // Half the actions rest, a quarter cancel, a quarter cross: the
        // book refills about as fast as it is taken.
        match (roll >> 16) % 4 {
            0 | 1 => FlowAction::Rest {
                side,
                level: usize::try_from((roll >> 24) % 4).unwrap_or(0),
                lots,
            },
            2 => FlowAction::Cancel {
                pick: u32::try_from((roll >> 32) & 0xffff).unwrap_or(0),
            },
            _ => FlowAction::Cross { side, lots },
        }
    }
}

/// The owner of the flow's resting orders: an account of its own, so a
/// client's orders are never the flow's.
pub const FLOW_OWNER: Owner = Some(u64::MAX - 7);

/// The owner of the flow's crossing orders: another account again, so a
/// cross is never a self-trade the matching engine would refuse.
pub const FLOW_TAKER: Owner = Some(u64::MAX - 8);

/// What an action did to a book.
#[derive(Debug, Default)]
pub struct Applied {
    /// Whether the book changed.
    pub changed: bool,
    /// Trades it made: each execution's maker may be a client's order,
    /// which the venue reports to that client as a fill.
    pub executions: Vec<Execution>,
    /// The aggressor's side, for the trades.
    pub taker: Option<Side>,
    /// The price levels it changed, by side.
    pub touched: Vec<(Side, Decimal)>,
}

/// `lots` units of `unit` (one unit where that would overflow).
pub fn size(unit: Decimal, lots: u32) -> Decimal {
    Decimal::new(i128::from(lots), 0)
        .and_then(|lots| unit.checked_mul(lots))
        .unwrap_or(unit)
}

/// Carries out `action` on `symbol` of `matching` (whose prices step by
/// `tick`), in units of `unit`, at `now_ns` (the mock's clock). Where the venue's mock does not report a
/// fill to a client from a trade it did not make (`client_fills` false), a
/// cross never takes a level that holds a client's order.
pub fn apply(
    matching: &mut Matching,
    symbol: &str,
    tick: Decimal,
    unit: Decimal,
    action: FlowAction,
    now_ns: u64,
    client_fills: bool,
) -> Applied {
    let size = |lots: u32| size(unit, lots);
    match action {
        FlowAction::Rest { side, level, lots } => {
            let Some(price) = rest_price(matching, symbol, side, level, tick) else {
                return Applied::default();
            };
            let placed = matching.place(
                FLOW_OWNER,
                symbol,
                side,
                price,
                size(lots),
                String::new(),
                true,
                now_ns,
            );
            Applied {
                changed: placed.is_ok(),
                touched: vec![(side, price)],
                ..Applied::default()
            }
        }
        FlowAction::Cancel { pick } => {
            let resting: Vec<_> = matching
                .open_orders(FLOW_OWNER)
                .into_iter()
                .filter(|o| o.symbol == symbol)
                .collect();
            if resting.is_empty() {
                return Applied::default();
            }
            let order = &resting[usize::try_from(pick).unwrap_or(0) % resting.len()];
            Applied {
                changed: matching.cancel(order).is_some(),
                touched: vec![(order.side, order.price)],
                ..Applied::default()
            }
        }
        FlowAction::Cross { side, lots } => {
            let opposite = match side {
                Side::Buy => Side::Sell,
                Side::Sell => Side::Buy,
            };
            // Never take the last level of a side: the book stays two-sided.
            let levels = matching.top(symbol, opposite, 2);
            let (Some((touch, touch_qty)), true) = (levels.first().copied(), levels.len() > 1)
            else {
                return Applied::default();
            };
            if !client_fills && matching.others_at(symbol, opposite, touch, FLOW_OWNER) {
                return Applied::default();
            }
            let qty = size(lots).min(touch_qty);
            let Ok(outcome) = matching.place(
                FLOW_TAKER,
                symbol,
                side,
                touch,
                qty,
                String::new(),
                false,
                now_ns,
            ) else {
                return Applied::default();
            };
            if let Some(order) = outcome.order.as_ref().filter(|_| outcome.rests) {
                let _ = matching.cancel(order);
            }
            Applied {
                changed: true,
                taker: Some(side),
                touched: vec![(opposite, touch)],
                executions: outcome.executions,
            }
        }
    }
}

/// Where a resting order of the flow goes on `side`: `level` ticks behind
/// the side's best (level 0 joins it), or, for the level the flow draws as
/// 3, one tick inside the spread where that does not cross, so the touch
/// moves. A side with no order starts a tick outside the other's best.
fn rest_price(
    matching: &Matching,
    symbol: &str,
    side: Side,
    level: usize,
    tick: Decimal,
) -> Option<Decimal> {
    let opposite = match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    };
    let best = matching.top(symbol, side, 1).first().map(|l| l.0);
    let other = matching.top(symbol, opposite, 1).first().map(|l| l.0);
    let away = |from: Decimal, ticks: usize| {
        let step = Decimal::new(i128::try_from(ticks).ok()?, 0)?.checked_mul(tick)?;
        match side {
            Side::Buy => from.checked_sub(step),
            Side::Sell => from.checked_add(step),
        }
    };
    let toward = |from: Decimal| match side {
        Side::Buy => from.checked_add(tick),
        Side::Sell => from.checked_sub(tick),
    };
    let price = match (best, other) {
        (Some(best), Some(other)) if level >= 3 => {
            let inside = toward(best)?;
            let crosses = match side {
                Side::Buy => inside >= other,
                Side::Sell => inside <= other,
            };
            if crosses { best } else { inside }
        }
        (Some(best), _) => away(best, level)?,
        (None, Some(other)) => away(other, 1)?,
        (None, None) => return None,
    };
    (!price.is_negative() && !price.is_zero()).then_some(price)
}

/// A socket mock, as its order flow thread sees it.
pub(crate) trait FlowVenue: Send + Sync + 'static {
    /// Whether the mock has stopped.
    fn stopped(&self) -> bool;
    /// The mock's clock.
    fn now(&self) -> Instant;
    /// Carries out one action at `now` and publishes it the venue's way.
    fn act(&self, now: Instant, action: FlowAction);
    /// Its connections, to wake once an action is done.
    fn live(&self) -> &super::live::Live;
}

/// Runs `config`'s flow against the wall clock on a thread named `name`
/// until the mock stops: each action at its time on the mock's clock, then
/// every connection is woken to publish it. Nothing runs at rate 0.
pub(crate) fn spawn<V: FlowVenue>(
    name: &str,
    config: FlowConfig,
    venue: Arc<V>,
) -> std::io::Result<Option<JoinHandle<()>>> {
    if config.rate == 0 {
        return Ok(None);
    }
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let mut flow = OrderFlow::new(config, venue.now());
            while !venue.stopped() {
                let Some(next) = flow.next_at() else { return };
                let at = venue.now();
                if next > at {
                    // The flow's own pace, at most 50 ms, so a stop is seen.
                    std::thread::sleep(
                        Duration::from_nanos(next.0 - at.0).min(Duration::from_millis(50)),
                    );
                    continue;
                }
                let mut acted = false;
                while let Some(action) = flow.poll(venue.now()) {
                    venue.act(venue.now(), action);
                    acted = true;
                }
                if acted {
                    venue.live().wake_all();
                }
            }
        })
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().expect("a decimal")
    }

    #[test]
    fn the_same_seed_gives_the_same_flow_in_virtual_time() {
        let run = |seed| {
            let mut flow = OrderFlow::new(FlowConfig { rate: 1_000, seed }, Instant(0));
            let mut seen = Vec::new();
            let mut now = Instant(0);
            while now.0 < 2_000_000_000 {
                now = Instant(now.0 + 1_000_000);
                while let Some(action) = flow.poll(now) {
                    seen.push((now, action));
                }
            }
            seen
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        // About 1000 a second, over two seconds.
        assert!((1_500..2_500).contains(&first.len()), "{}", first.len());
        for kind in 0..3 {
            assert!(
                first.iter().any(|(_, a)| matches!(
                    (kind, a),
                    (0, FlowAction::Rest { .. })
                        | (1, FlowAction::Cancel { .. })
                        | (2, FlowAction::Cross { .. })
                )),
                "every kind of action appears"
            );
        }
        assert!(
            OrderFlow::new(FlowConfig::default(), Instant(0))
                .poll(Instant(u64::MAX))
                .is_none(),
            "rate 0 is no flow"
        );
    }

    #[test]
    fn applied_flow_trades_and_keeps_the_book_two_sided() {
        let mut matching = Matching::new("BTC/USD", dec("100"), dec("0.1"), 5, (u64::MAX, 0));
        let mut flow = OrderFlow::new(
            FlowConfig {
                rate: 1_000,
                seed: 3,
            },
            Instant(0),
        );
        let (mut trades, mut changes) = (0, 0);
        for ms in 1..=5_000u64 {
            while let Some(action) = flow.poll(Instant(ms * 1_000_000)) {
                let applied = apply(
                    &mut matching,
                    "BTC/USD",
                    dec("0.1"),
                    dec("0.1"),
                    action,
                    ms,
                    true,
                );
                trades += applied.executions.len();
                changes += usize::from(applied.changed);
            }
        }
        assert!(trades > 100, "{trades} trades");
        assert!(changes > 1_000, "{changes} changes");
        assert!(!matching.top("BTC/USD", Side::Buy, 1).is_empty());
        assert!(!matching.top("BTC/USD", Side::Sell, 1).is_empty());
    }
}
