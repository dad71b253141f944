//! The market of a mock venue whose orders go over REST (Upbit,
//! DigiFinex): the shared matching engine seeded for several markets, the
//! public tape, a version per book, and trades by other accounts. Each
//! venue's session turns these into its own messages; what the account's
//! own orders look like stays with the venue.

use std::collections::HashMap;

use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;

use super::matching::{Execution, Matching, Outcome, Refusal, Resting};

/// The account whose orders the test hooks place.
pub(crate) const ACCOUNT: u64 = 1;
/// Another account, trading against the house book.
const OTHERS: u64 = 2;

/// A public trade on the tape.
#[derive(Clone, Debug)]
pub(crate) struct Print {
    pub(crate) market: String,
    pub(crate) price: Decimal,
    pub(crate) qty: Decimal,
    /// The aggressor's side.
    pub(crate) taker: Side,
    /// The tape's own count, from 1.
    pub(crate) id: u64,
    /// Wall-clock ms.
    pub(crate) ts_ms: u64,
}

/// One order-flow action on a mock whose books are a [`Market`]: a rest or
/// a cancel on the book; a cross through the venue's `house_trade` (which
/// prints it and publishes it the venue's way), at most the touch and never
/// on a level holding the account's order ([`Market::flow_cross_qty`]).
pub(crate) fn flow_act(
    market: &parking_lot::Mutex<Market>,
    name: &str,
    unit: Decimal,
    now_ns: u64,
    action: super::flow::FlowAction,
    house_trade: impl FnOnce(Side, Decimal),
) {
    match action {
        super::flow::FlowAction::Cross { side, lots } => {
            let cross = market
                .lock()
                .flow_cross_qty(name, side, super::flow::size(unit, lots));
            if let Some(qty) = cross {
                house_trade(side, qty);
            }
        }
        other => market.lock().flow(now_ns, name, unit, other),
    }
}

/// Books, tape and versions of every market a mock serves.
pub(crate) struct Market {
    pub(crate) matching: Matching,
    pub(crate) tape: Vec<Print>,
    /// Bumped whenever a market's book changes, so sessions see it.
    versions: HashMap<String, u64>,
    mids: HashMap<String, Decimal>,
    /// Each market's price step (the order flow's).
    ticks: HashMap<String, Decimal>,
    next_print: u64,
}

impl Market {
    /// `levels` of house liquidity each side of every market's mid, one
    /// tick apart.
    pub(crate) fn new(markets: &[(String, Decimal, Decimal)], levels: usize) -> Market {
        let qty: Decimal = "1.50000000".parse().unwrap_or(Decimal::ZERO);
        Market::with_level_qty(markets, levels, qty)
    }

    /// As [`Market::new`], `qty` at each house level (whole shares where
    /// the venue trades stocks: KIS).
    pub(crate) fn with_level_qty(
        markets: &[(String, Decimal, Decimal)],
        levels: usize,
        qty: Decimal,
    ) -> Market {
        let mut matching = Matching::new("", Decimal::ZERO, Decimal::ZERO, 0, (u64::MAX / 4, 0));
        let mut versions = HashMap::new();
        let mut mids = HashMap::new();
        let mut ticks = HashMap::new();
        for (market, mid, tick) in markets {
            ticks.insert(market.clone(), *tick);
            matching.seed_with(market, *mid, *tick, levels, qty);
            versions.insert(market.clone(), 1);
            mids.insert(market.clone(), *mid);
        }
        Market {
            matching,
            tape: Vec::new(),
            versions,
            mids,
            ticks,
            next_print: 1,
        }
    }

    /// The book's version (0 for a market the mock does not serve).
    pub(crate) fn version(&self, market: &str) -> u64 {
        self.versions.get(market).copied().unwrap_or(0)
    }

    /// The next print's id (for ids the venue derives from it).
    pub(crate) fn next_print(&self) -> u64 {
        self.next_print
    }

    /// Aggregated levels of one side, best first.
    pub(crate) fn top(&self, market: &str, side: Side, depth: usize) -> Vec<(Decimal, Decimal)> {
        self.matching.top(market, side, depth)
    }

    /// The last trade's price, or the seeded mid before any trade.
    pub(crate) fn last_price(&self, market: &str) -> Decimal {
        self.tape
            .iter()
            .rev()
            .find(|p| p.market == market)
            .map(|p| p.price)
            .or_else(|| self.mids.get(market).copied())
            .unwrap_or(Decimal::ZERO)
    }

    /// The quantity traded in `market` since the mock started.
    pub(crate) fn volume(&self, market: &str) -> Decimal {
        self.tape
            .iter()
            .filter(|p| p.market == market)
            .fold(Decimal::ZERO, |sum, p| {
                sum.checked_add(p.qty).unwrap_or(sum)
            })
    }

    fn print(&mut self, market: &str, price: Decimal, qty: Decimal, taker: Side, ts_ms: u64) {
        let id = self.next_print;
        self.next_print += 1;
        self.tape.push(Print {
            market: market.to_owned(),
            price,
            qty,
            taker,
            id,
            ts_ms,
        });
    }

    fn bump(&mut self, market: &str) {
        *self.versions.entry(market.to_owned()).or_default() += 1;
    }

    /// The account's limit order, as the venue's REST takes it: matched
    /// against the book, each execution printed, the book's version
    /// bumped. The caller turns the outcome into the venue's private
    /// messages.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn place(
        &mut self,
        now_ns: u64,
        ts_ms: u64,
        market: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
        client_id: &str,
    ) -> Result<Outcome, Refusal> {
        let outcome = self.matching.place(
            Some(ACCOUNT),
            market,
            side,
            price,
            qty,
            client_id.to_owned(),
            false,
            now_ns,
        )?;
        for execution in &outcome.executions {
            self.print(market, execution.price, execution.qty, side, ts_ms);
        }
        self.bump(market);
        Ok(outcome)
    }

    /// Another account's order taking `qty` from the house book: public
    /// trades and a book change. What does not fill is withdrawn. The
    /// executions are returned: a maker among them may be the account's
    /// resting order.
    pub(crate) fn house_trade(
        &mut self,
        now_ns: u64,
        ts_ms: u64,
        market: &str,
        side: Side,
        qty: Decimal,
    ) -> Vec<Execution> {
        let far = match side {
            Side::Buy => Decimal::new(i128::from(u32::MAX) * 1_000, 0),
            Side::Sell => Decimal::new(1, 0),
        }
        .unwrap_or(Decimal::ZERO);
        let outcome = self.matching.place(
            Some(OTHERS),
            market,
            side,
            far,
            qty,
            String::new(),
            false,
            now_ns,
        );
        let Ok(outcome) = outcome else {
            return Vec::new();
        };
        for execution in &outcome.executions {
            self.print(market, execution.price, execution.qty, side, ts_ms);
        }
        if let Some(order) = outcome.order.filter(|_| outcome.rests) {
            let _ = self.matching.cancel(&order);
        }
        self.bump(market);
        outcome.executions
    }

    /// An order-flow action that rests or cancels (super::flow): the book's
    /// version bumped when it changed. Crosses go through the venue's
    /// `house_trade`, which reports a client's fills.
    pub(crate) fn flow(
        &mut self,
        now_ns: u64,
        market: &str,
        unit: Decimal,
        action: super::flow::FlowAction,
    ) {
        let Some(tick) = self.ticks.get(market).copied() else {
            return;
        };
        let applied =
            super::flow::apply(&mut self.matching, market, tick, unit, action, now_ns, true);
        if applied.changed {
            self.bump(market);
        }
    }

    /// The size of an order-flow cross by `side` on `market`: `wanted`, at
    /// most the other side's touch; none when the touch is that side's last
    /// level, or holds an order of the account's (a house trade does not
    /// report the account's maker fills on every venue's mock).
    pub(crate) fn flow_cross_qty(
        &self,
        market: &str,
        side: Side,
        wanted: Decimal,
    ) -> Option<Decimal> {
        let opposite = match side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        let levels = self.matching.top(market, opposite, 2);
        let (touch, qty) = *levels.first().filter(|_| levels.len() > 1)?;
        if self
            .matching
            .others_at(market, opposite, touch, super::flow::FLOW_OWNER)
        {
            return None;
        }
        Some(wanted.min(qty))
    }

    /// Withdraws the account's resting order `client_id`: what it had.
    pub(crate) fn cancel(&mut self, market: &str, client_id: &str) -> Option<Resting> {
        let found = self.matching.find(Some(ACCOUNT), None, Some(client_id))?;
        let canceled = self.matching.cancel(&found)?;
        self.bump(market);
        Some(canceled)
    }
}
