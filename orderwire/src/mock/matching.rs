//! The mock venues' exchange, shared by every mock: a price-time matching
//! engine for one account per connection, house liquidity, and the rest
//! costs of Kraken's per-pair rate counter.
//!
//! It knows nothing of sockets or wire formats; each venue's connection
//! (`mock/kraken/conn.rs`, `mock/binance/api.rs`) drives it and turns its
//! results into that venue's messages.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;

/// Which connection (account) owns an order; house liquidity has none.
pub type Owner = Option<u64>;

/// A resting order.
#[derive(Clone, Debug)]
pub struct Resting {
    /// Venue id.
    pub order_id: String,
    /// Client id (may be empty).
    pub cl_ord_id: String,
    /// Owner.
    pub owner: Owner,
    /// Side.
    pub side: Side,
    /// Limit price.
    pub price: Decimal,
    /// Original quantity.
    pub qty: Decimal,
    /// Filled so far.
    pub filled: Decimal,
    /// When it started resting (ns, the mock's clock), for rate costs.
    pub rested_since: u64,
    /// The symbol.
    pub symbol: String,
}

impl Resting {
    /// What is left to fill.
    pub fn open(&self) -> Decimal {
        self.qty.checked_sub(self.filled).unwrap_or(Decimal::ZERO)
    }
}

/// One execution between an incoming order and a resting one.
#[derive(Clone, Debug)]
pub struct Execution {
    /// The resting (maker) order after the fill.
    pub maker: Resting,
    /// Price (the maker's).
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// Trade id.
    pub trade_id: u64,
}

/// One side of one book: price levels in a map, each a FIFO of orders.
#[derive(Debug, Default)]
pub struct SideBook {
    levels: BTreeMap<Decimal, Vec<Resting>>,
}

impl SideBook {
    /// Aggregated levels, best first, up to `depth`.
    pub fn top(&self, side: Side, depth: usize) -> Vec<(Decimal, Decimal)> {
        let aggregate = |(price, orders): (&Decimal, &Vec<Resting>)| {
            let qty = orders.iter().fold(Decimal::ZERO, |sum, o| {
                sum.checked_add(o.open()).unwrap_or(sum)
            });
            (*price, qty)
        };
        match side {
            Side::Buy => self
                .levels
                .iter()
                .rev()
                .take(depth)
                .map(aggregate)
                .collect(),
            Side::Sell => self.levels.iter().take(depth).map(aggregate).collect(),
        }
    }

    /// The aggregated quantity at a price, zero if none.
    pub fn qty_at(&self, price: Decimal) -> Decimal {
        self.levels.get(&price).map_or(Decimal::ZERO, |orders| {
            orders.iter().fold(Decimal::ZERO, |sum, o| {
                sum.checked_add(o.open()).unwrap_or(sum)
            })
        })
    }

    fn best(&self, side: Side) -> Option<Decimal> {
        match side {
            Side::Buy => self.levels.keys().next_back().copied(),
            Side::Sell => self.levels.keys().next().copied(),
        }
    }
}

/// Why the engine refused a request (Kraken's error text).
pub type Refusal = &'static str;

/// The mock exchange.
#[derive(Debug, Default)]
pub struct Matching {
    /// Bids by symbol.
    pub bids: HashMap<String, SideBook>,
    /// Asks by symbol.
    pub asks: HashMap<String, SideBook>,
    next_order: u64,
    next_trade: u64,
    counters: HashMap<(Owner, String), (u64, u64)>,
    /// (threshold, decay per second), milli-units.
    pub tier: (u64, u64),
    /// Plain integer order ids (Binance) instead of Kraken's `OXXXXX-...`.
    pub numeric_ids: bool,
}

/// The change an order request made.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The taker order, after matching (absent for amend/cancel).
    pub order: Option<Resting>,
    /// Fills, in order.
    pub executions: Vec<Execution>,
    /// Whether the order rests after matching.
    pub rests: bool,
}

impl Matching {
    /// An exchange with Kraken Starter limits and `levels` of house
    /// liquidity each side of `mid` for `symbol`.
    pub fn new(
        symbol: &str,
        mid: Decimal,
        tick: Decimal,
        levels: usize,
        tier: (u64, u64),
    ) -> Matching {
        let mut matching = Matching {
            tier,
            next_order: 1,
            next_trade: 1,
            ..Matching::default()
        };
        matching.seed(symbol, mid, tick, levels);
        matching
    }

    /// Adds `levels` of house liquidity each side of `mid` for `symbol`
    /// (a second market of the same exchange).
    pub fn seed(&mut self, symbol: &str, mid: Decimal, tick: Decimal, levels: usize) {
        let qty: Decimal = "1.50000000".parse().unwrap_or(Decimal::ZERO);
        self.seed_with(symbol, mid, tick, levels, qty);
    }

    /// As [`Matching::seed`], `qty` at each level (whole shares for a
    /// stock exchange).
    pub fn seed_with(
        &mut self,
        symbol: &str,
        mid: Decimal,
        tick: Decimal,
        levels: usize,
        qty: Decimal,
    ) {
        let matching = self;
        for n in 1..=levels {
            let offset = tick
                .checked_mul(Decimal::new(n as i128, 0).unwrap_or(Decimal::ZERO))
                .unwrap_or(Decimal::ZERO);
            for (side, price) in [
                (Side::Buy, mid.checked_sub(offset)),
                (Side::Sell, mid.checked_add(offset)),
            ] {
                let Some(price) = price.and_then(|p| p.rescaled(tick.scale())) else {
                    continue;
                };
                let order = matching.new_order(None, symbol, side, price, qty, String::new(), 0);
                matching.rest(order);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new_order(
        &mut self,
        owner: Owner,
        symbol: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
        cl_ord_id: String,
        now: u64,
    ) -> Resting {
        let n = self.next_order;
        self.next_order += 1;
        let order_id = if self.numeric_ids {
            n.to_string()
        } else {
            format!("O{:05}-MOCK{:01}-{:06}", n % 100_000, n % 10, n)
        };
        Resting {
            order_id,
            cl_ord_id,
            owner,
            side,
            price,
            qty,
            filled: Decimal::ZERO,
            rested_since: now,
            symbol: symbol.to_owned(),
        }
    }

    /// Aggregated levels of one side, best first, up to `depth`.
    pub fn top(&self, symbol: &str, side: Side, depth: usize) -> Vec<(Decimal, Decimal)> {
        let book = match side {
            Side::Buy => self.bids.get(symbol),
            Side::Sell => self.asks.get(symbol),
        };
        book.map_or_else(Vec::new, |b| b.top(side, depth))
    }

    /// The aggregated quantity at a price on one side.
    pub fn qty_at(&self, symbol: &str, side: Side, price: Decimal) -> Decimal {
        let book = match side {
            Side::Buy => self.bids.get(symbol),
            Side::Sell => self.asks.get(symbol),
        };
        book.map_or(Decimal::ZERO, |b| b.qty_at(price))
    }

    fn book(&mut self, symbol: &str, side: Side) -> &mut SideBook {
        match side {
            Side::Buy => self.bids.entry(symbol.to_owned()).or_default(),
            Side::Sell => self.asks.entry(symbol.to_owned()).or_default(),
        }
    }

    fn rest(&mut self, order: Resting) {
        let (side, price) = (order.side, order.price);
        self.book(&order.symbol.clone(), side)
            .levels
            .entry(price)
            .or_default()
            .push(order);
    }

    /// Charges the per-pair counter; refuses if over the tier's threshold.
    pub fn charge(
        &mut self,
        owner: Owner,
        symbol: &str,
        cost_milli: u64,
        now: u64,
    ) -> Result<(), Refusal> {
        let (threshold, decay) = self.tier;
        let entry = self
            .counters
            .entry((owner, symbol.to_owned()))
            .or_insert((0, now));
        let decayed = u128::from(now.saturating_sub(entry.1)) * u128::from(decay) / 1_000_000_000;
        entry.0 = entry
            .0
            .saturating_sub(u64::try_from(decayed).unwrap_or(u64::MAX));
        entry.1 = now;
        if entry.0 + cost_milli > threshold {
            return Err("EOrder:Rate limit exceeded");
        }
        entry.0 += cost_milli;
        Ok(())
    }

    /// Places a limit order: matches what crosses, rests the rest.
    #[allow(clippy::too_many_arguments)]
    pub fn place(
        &mut self,
        owner: Owner,
        symbol: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
        cl_ord_id: String,
        post_only: bool,
        now: u64,
    ) -> Result<Outcome, Refusal> {
        if qty.is_zero() || qty.is_negative() || price.is_negative() || price.is_zero() {
            return Err("EOrder:Invalid order");
        }
        let opposite = match side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        let crosses = |best: Decimal| match side {
            Side::Buy => price >= best,
            Side::Sell => price <= best,
        };
        if post_only
            && self
                .book(symbol, opposite)
                .best(opposite)
                .is_some_and(crosses)
        {
            return Err("EOrder:Post only order");
        }
        let mut order = self.new_order(owner, symbol, side, price, qty, cl_ord_id, now);
        let mut outcome = Outcome::default();
        while !order.open().is_zero() {
            let Some(best) = self.book(symbol, opposite).best(opposite) else {
                break;
            };
            if !crosses(best) {
                break;
            }
            let trade_id = self.next_trade;
            let book = self.book(symbol, opposite);
            let Some(queue) = book.levels.get_mut(&best) else {
                break;
            };
            let maker = &mut queue[0];
            let qty = order.open().min(maker.open());
            maker.filled = maker.filled.checked_add(qty).unwrap_or(maker.filled);
            let maker_copy = maker.clone();
            if maker.open().is_zero() {
                queue.remove(0);
                if queue.is_empty() {
                    book.levels.remove(&best);
                }
            }
            order.filled = order.filled.checked_add(qty).unwrap_or(order.filled);
            self.next_trade += 1;
            outcome.executions.push(Execution {
                maker: maker_copy,
                price: best,
                qty,
                trade_id,
            });
        }
        outcome.rests = !order.open().is_zero();
        if outcome.rests {
            self.rest(order.clone());
        }
        outcome.order = Some(order);
        Ok(outcome)
    }

    /// Finds an open order of `owner` by venue or client id.
    pub fn find(
        &self,
        owner: Owner,
        order_id: Option<&str>,
        cl_ord_id: Option<&str>,
    ) -> Option<Resting> {
        self.bids
            .values()
            .chain(self.asks.values())
            .flat_map(|book| book.levels.values().flatten())
            .find(|o| {
                o.owner == owner
                    && (order_id.is_some_and(|id| id == o.order_id)
                        || cl_ord_id.is_some_and(|id| !id.is_empty() && id == o.cl_ord_id))
            })
            .cloned()
    }

    /// Removes an open order; returns it.
    pub fn cancel(&mut self, found: &Resting) -> Option<Resting> {
        let book = self.book(&found.symbol.clone(), found.side);
        let queue = book.levels.get_mut(&found.price)?;
        let index = queue.iter().position(|o| o.order_id == found.order_id)?;
        let order = queue.remove(index);
        if queue.is_empty() {
            book.levels.remove(&found.price);
        }
        Some(order)
    }

    /// Changes price and/or quantity. A new price loses time priority (the
    /// order moves to the back of its new level) and restarts its rest time.
    pub fn amend(
        &mut self,
        found: &Resting,
        price: Option<Decimal>,
        qty: Option<Decimal>,
        now: u64,
    ) -> Result<Resting, Refusal> {
        if let Some(qty) = qty {
            if qty <= found.filled {
                return Err("EOrder:Invalid order quantity");
            }
        }
        let mut order = self.cancel(found).ok_or("EOrder:Unknown order")?;
        if let Some(qty) = qty {
            order.qty = qty;
        }
        if let Some(price) = price {
            if price != order.price {
                order.rested_since = now;
            }
            order.price = price;
        }
        self.rest(order.clone());
        Ok(order)
    }

    /// Lowers an open order's quantity where it stands (Binance's
    /// `order.amend.keepPriority`): it keeps its place in the queue.
    pub fn reduce_qty(&mut self, found: &Resting, qty: Decimal) -> Result<Resting, Refusal> {
        if qty <= found.filled || qty >= found.qty {
            return Err("EOrder:Invalid order quantity");
        }
        let book = self.book(&found.symbol.clone(), found.side);
        let queue = book
            .levels
            .get_mut(&found.price)
            .ok_or("EOrder:Unknown order")?;
        let order = queue
            .iter_mut()
            .find(|o| o.order_id == found.order_id)
            .ok_or("EOrder:Unknown order")?;
        order.qty = qty;
        Ok(order.clone())
    }

    /// Whether any order at `price` on `side` belongs to an owner other
    /// than the house (None) and `except`.
    pub fn others_at(&self, symbol: &str, side: Side, price: Decimal, except: Owner) -> bool {
        let book = match side {
            Side::Buy => self.bids.get(symbol),
            Side::Sell => self.asks.get(symbol),
        };
        book.and_then(|b| b.levels.get(&price))
            .is_some_and(|orders| {
                orders
                    .iter()
                    .any(|o| o.owner.is_some() && o.owner != except)
            })
    }

    /// Every open order of `owner`.
    pub fn open_orders(&self, owner: Owner) -> Vec<Resting> {
        self.bids
            .values()
            .chain(self.asks.values())
            .flat_map(|book| book.levels.values().flatten())
            .filter(|o| o.owner == owner)
            .cloned()
            .collect()
    }
}

/// Kraken's trading-counter cost, in milli-units, of an amend or cancel of
/// an order that has rested for `rested`.
pub fn rest_cost(amend: bool, rested: Duration) -> u64 {
    let table: &[(u64, u64)] = if amend {
        &[(5, 4_000), (10, 3_000), (15, 2_000)]
    } else {
        &[
            (5, 8_000),
            (10, 6_000),
            (15, 5_000),
            (45, 4_000),
            (90, 2_000),
            (300, 1_000),
        ]
    };
    let base = if amend { 1_000 } else { 0 };
    table
        .iter()
        .find(|(secs, _)| rested < Duration::from_secs(*secs))
        .map_or(base, |(_, cost)| *cost)
}
