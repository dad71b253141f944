//! A mock DigiFinex WebSocket v1 (docs/venues/digifinex.md): wss on
//! loopback over real TLS (rcgen) and real WebSocket (tungstenite), or in
//! virtual time through [`DigiFinexPair`].
//!
//! - Data (trades, depth, tickers, orders, balances) in binary frames of
//!   zlib JSON; replies (acks, errors, pong, time) as text, or zlib too
//!   with [`MockConfig::compress_replies`].
//! - `server.ping`, `server.time`, and `server.auth` with the HMAC checked
//!   (key, signature, a timestamp within [`MockConfig::auth_window`]).
//! - A connection the client has been silent on for 60 s is dropped; every
//!   connection is closed at [`MockConfig::max_age`] (the 2 h rule).
//! - Trades, depth (a clean snapshot, then incremental updates of the
//!   levels that changed, amount 0 for a removed one) and tickers come from
//!   the shared matching engine; order.update and balance.update follow
//!   orders placed and canceled through [`DigiFinexMock::place`] and
//!   [`DigiFinexMock::cancel`] (DigiFinex takes orders over REST).
//! - Faults ([`Fault`]): a corrupt zlib frame, a truncated one, a zip
//!   bomb; and optionally an incremental depth update before the clean
//!   snapshot of a new subscription.

mod session;
mod wire;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use orderwire_engine::gateway::{GatewayConfig, GatewayCore};
use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::digifinex::DigiFinex;
use parking_lot::Mutex;

pub use self::session::Session;

use super::listener::Listening;
use super::market::{ACCOUNT, Market};
use super::matching::Execution;
use super::pair::{Pair, WALL_ORIGIN_MS};
use super::session::MockVenue;

/// What the mock serves.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// How the mock's answers are timed: delay, jitter, stalls
    /// (docs/bench.md). Default: at once.
    pub timing: super::MockTiming,
    /// Other accounts' seeded order flow (super::flow). Default: none.
    pub flow: super::FlowConfig,
    /// Markets (`BTC_USDT`), with their mid price and tick.
    pub markets: Vec<(String, Decimal, Decimal)>,
    /// The account's API key.
    pub api_key: String,
    /// The account's secret (the HMAC key, as UTF-8 bytes).
    pub api_secret: String,
    /// The account's starting balances (free).
    pub balances: Vec<(String, Decimal)>,
    /// Drop a connection the client has sent nothing on for this long
    /// (DigiFinex: about 60 s).
    pub idle_drop: Duration,
    /// Close every connection at this age (DigiFinex: about 2 h).
    pub max_age: Duration,
    /// How far a `server.auth` timestamp may be from the mock's clock.
    pub auth_window: Duration,
    /// Levels per side in a depth snapshot (undocumented: the mock's 30).
    pub depth_levels: usize,
    /// Trades in the clean push that follows trades.subscribe.
    pub recent_trades: usize,
    /// Send replies zlib-compressed in binary frames too (some clients
    /// report compressed acks; the venue sends them as text).
    pub compress_replies: bool,
    /// Before a new depth subscription's clean snapshot, send one
    /// incremental update (a race a client must survive: deltas before
    /// the first clean snapshot have nothing to apply to).
    pub incremental_before_clean: bool,
}

impl Default for MockConfig {
    fn default() -> MockConfig {
        let dec = |text: &str| text.parse().unwrap_or(Decimal::ZERO);
        MockConfig {
            timing: super::MockTiming::default(),
            flow: super::FlowConfig::default(),
            markets: vec![
                // Realistic prices (late 2026).
                ("BTC_USDT".into(), dec("90000.00"), dec("0.01")),
                ("ETH_USDT".into(), dec("3000.00"), dec("0.01")),
            ],
            api_key: "5a8e6b662ddb0".into(),
            api_secret: "mock-digifinex-secret".into(),
            balances: vec![
                ("USDT".into(), dec("1000000")),
                ("BTC".into(), dec("10")),
                ("ETH".into(), dec("100")),
            ],
            idle_drop: Duration::from_secs(60),
            max_age: Duration::from_secs(2 * 3600),
            auth_window: Duration::from_secs(30),
            depth_levels: 30,
            recent_trades: 30,
            compress_replies: false,
            incremental_before_clean: false,
        }
    }
}

/// A fault the mock sends on every open connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// A binary frame whose zlib stream is corrupt (a flipped byte in
    /// its deflate data).
    CorruptZlib,
    /// A binary frame whose zlib stream is cut short.
    TruncatedZlib,
    /// A small binary frame that inflates past any sane bound (8 MiB of
    /// zeros in a few KiB).
    Bomb,
}

/// What the mock has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Connections opened.
    pub connections: u64,
    /// `server.auth` accepted.
    pub auths: u64,
    /// `server.auth` refused (key, signature or timestamp).
    pub auth_failures: u64,
    /// `server.ping` answered.
    pub pings: u64,
    /// Subscribe requests accepted.
    pub subscribes: u64,
    /// Error replies sent.
    pub errors: u64,
    /// Connections dropped for the client's silence.
    pub idle_drops: u64,
    /// Connections closed at the age limit.
    pub age_closes: u64,
    /// Clean depth snapshots sent.
    pub snapshots: u64,
    /// Incremental depth updates sent.
    pub increments: u64,
    /// Fault frames sent.
    pub faults: u64,
}

/// One order.update, before its format.
#[derive(Clone, Debug)]
pub(crate) struct OrderRecord {
    pub(crate) id: String,
    pub(crate) symbol: String,
    pub(crate) side: Side,
    /// 0 unfilled, 1 partially filled, 2 filled, 3 canceled unfilled, 4
    /// canceled partially filled.
    pub(crate) status: u8,
    pub(crate) price: Decimal,
    pub(crate) amount: Decimal,
    pub(crate) filled: Decimal,
    pub(crate) notional: Decimal,
    pub(crate) ts_ms: u64,
}

/// The account's view of one of its orders.
#[derive(Clone, Debug)]
struct OrderState {
    symbol: String,
    side: Side,
    price: Decimal,
    amount: Decimal,
    filled: Decimal,
    notional: Decimal,
}

pub(crate) struct Shared {
    /// Its timing, and the connections asleep in their readiness wait.
    pub(crate) live: Arc<super::live::Live>,
    pub(crate) config: MockConfig,
    pub(crate) market: Mutex<Market>,
    /// order.update records, in order.
    pub(crate) orders: Mutex<Vec<OrderRecord>>,
    /// balance.update pushes: the currencies each change moved.
    pub(crate) balance_log: Mutex<Vec<Vec<(String, Decimal, Decimal)>>>,
    /// Free and used, by currency.
    balances: Mutex<HashMap<String, (Decimal, Decimal)>>,
    open: Mutex<HashMap<String, OrderState>>,
    pub(crate) faults: Mutex<Vec<Fault>>,
    pub(crate) stats: Mutex<MockStats>,
    pub(crate) stop: AtomicBool,
    origin: std::time::Instant,
    wall_origin_ms: u64,
    next_order: Mutex<u64>,
}

/// `BTC_USDT` to `("BTC", "USDT")`.
fn currencies(market: &str) -> (&str, &str) {
    market.split_once('_').unwrap_or((market, ""))
}

/// The order flow's size unit on this mock.
fn flow_unit() -> Decimal {
    "0.05".parse().unwrap_or(Decimal::ZERO)
}

impl super::flow::FlowVenue for Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn now(&self) -> Instant {
        Shared::now(self)
    }

    fn act(&self, now: Instant, action: super::flow::FlowAction) {
        if let Some((market, _, _)) = self.config.markets.first() {
            super::market::flow_act(
                &self.market,
                market,
                flow_unit(),
                now.0,
                action,
                |side, qty| {
                    self.house_trade(now, market, side, qty);
                },
            );
        }
    }

    fn live(&self) -> &super::live::Live {
        &self.live
    }
}

impl Shared {
    fn new(config: MockConfig, wall_origin_ms: u64) -> Shared {
        let market = Market::new(&config.markets, config.depth_levels.max(30));
        let balances = config
            .balances
            .iter()
            .map(|(currency, free)| (currency.clone(), (*free, Decimal::ZERO)))
            .collect();
        Shared {
            live: super::live::Live::new(&config.timing),
            config,
            market: Mutex::new(market),
            orders: Mutex::new(Vec::new()),
            balance_log: Mutex::new(Vec::new()),
            balances: Mutex::new(balances),
            open: Mutex::new(HashMap::new()),
            faults: Mutex::new(Vec::new()),
            stats: Mutex::new(MockStats::default()),
            stop: AtomicBool::new(false),
            origin: std::time::Instant::now(),
            wall_origin_ms,
            next_order: Mutex::new(1),
        }
    }

    /// The socket driver's clock.
    pub(crate) fn now(&self) -> Instant {
        Instant(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    pub(crate) fn wall_ms(&self, now: Instant) -> u64 {
        self.wall_origin_ms + now.as_nanos() / 1_000_000
    }

    pub(crate) fn serves(&self, market: &str) -> bool {
        self.config.markets.iter().any(|(m, _, _)| m == market)
    }

    pub(crate) fn knows_currency(&self, currency: &str) -> bool {
        self.balances.lock().contains_key(currency)
            || self.config.markets.iter().any(|(m, _, _)| {
                let (base, quote) = currencies(m);
                base == currency || quote == currency
            })
    }

    /// Adds `delta` to a currency's free and `locked` to its used part.
    fn move_balance(
        balances: &mut HashMap<String, (Decimal, Decimal)>,
        changed: &mut Vec<String>,
        currency: &str,
        free: Decimal,
        used: Decimal,
    ) {
        let entry = balances
            .entry(currency.to_owned())
            .or_insert((Decimal::ZERO, Decimal::ZERO));
        entry.0 = entry.0.checked_add(free).unwrap_or(entry.0);
        entry.1 = entry.1.checked_add(used).unwrap_or(entry.1);
        if !changed.iter().any(|c| c == currency) {
            changed.push(currency.to_owned());
        }
    }

    fn log_balances(&self, changed: &[String]) {
        if changed.is_empty() {
            return;
        }
        let balances = self.balances.lock();
        let push = changed
            .iter()
            .map(|c| {
                let (free, used) = balances
                    .get(c)
                    .copied()
                    .unwrap_or((Decimal::ZERO, Decimal::ZERO));
                (c.clone(), free, used)
            })
            .collect();
        self.balance_log.lock().push(push);
    }

    fn record(&self, id: &str, state: &OrderState, status: u8, ts_ms: u64) {
        self.orders.lock().push(OrderRecord {
            id: id.to_owned(),
            symbol: state.symbol.clone(),
            side: state.side,
            status,
            price: state.price,
            amount: state.amount,
            filled: state.filled,
            notional: state.notional,
            ts_ms,
        });
    }

    /// One fill of the account's order `id` at `price`: the order's
    /// figures, its update, and the balances it moves (a buy's quote was
    /// locked at its limit; no fees in the mock's account).
    fn fill(&self, id: &str, price: Decimal, qty: Decimal, ts_ms: u64) {
        let mut open = self.open.lock();
        let Some(state) = open.get_mut(id) else {
            return;
        };
        state.filled = state.filled.checked_add(qty).unwrap_or(state.filled);
        let value = price.checked_mul(qty).unwrap_or(Decimal::ZERO);
        state.notional = state.notional.checked_add(value).unwrap_or(state.notional);
        let done = state.filled >= state.amount;
        let snapshot = state.clone();
        if done {
            open.remove(id);
        }
        drop(open);
        self.record(id, &snapshot, if done { 2 } else { 1 }, ts_ms);
        let (base, quote) = currencies(&snapshot.symbol);
        let mut changed = Vec::new();
        {
            let mut balances = self.balances.lock();
            let negative = |d: Decimal| Decimal::ZERO.checked_sub(d).unwrap_or(Decimal::ZERO);
            match snapshot.side {
                Side::Buy => {
                    let locked = snapshot.price.checked_mul(qty).unwrap_or(Decimal::ZERO);
                    let refund = locked.checked_sub(value).unwrap_or(Decimal::ZERO);
                    Self::move_balance(
                        &mut balances,
                        &mut changed,
                        quote,
                        refund,
                        negative(locked),
                    );
                    Self::move_balance(&mut balances, &mut changed, base, qty, Decimal::ZERO);
                }
                Side::Sell => {
                    Self::move_balance(
                        &mut balances,
                        &mut changed,
                        base,
                        Decimal::ZERO,
                        negative(qty),
                    );
                    Self::move_balance(&mut balances, &mut changed, quote, value, Decimal::ZERO);
                }
            }
        }
        self.log_balances(&changed);
    }

    /// Maker fills among `executions` that hit the account's orders.
    fn maker_fills(&self, executions: &[Execution], ts_ms: u64) {
        for execution in executions {
            if execution.maker.owner == Some(ACCOUNT) {
                self.fill(
                    &execution.maker.cl_ord_id,
                    execution.price,
                    execution.qty,
                    ts_ms,
                );
            }
        }
    }

    /// A limit order of the account, as DigiFinex's REST takes it: the
    /// balance locked, matched, its order.update and balance.update
    /// pushes recorded. Returns the order id (32 hex digits, as the
    /// docs' example).
    fn place(
        &self,
        now: Instant,
        market: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
    ) -> Result<String, &'static str> {
        if !self.serves(market) {
            return Err("unknown symbol");
        }
        if qty.is_zero() || qty.is_negative() || price.is_zero() || price.is_negative() {
            return Err("invalid price or amount");
        }
        let ts_ms = self.wall_ms(now);
        let (base, quote) = currencies(market);
        let (currency, lock) = match side {
            Side::Buy => (quote, price.checked_mul(qty).ok_or("amount too large")?),
            Side::Sell => (base, qty),
        };
        let mut changed = Vec::new();
        {
            let mut balances = self.balances.lock();
            let free = balances.get(currency).map_or(Decimal::ZERO, |b| b.0);
            if free < lock {
                return Err("insufficient balance");
            }
            let negative = Decimal::ZERO.checked_sub(lock).unwrap_or(Decimal::ZERO);
            Self::move_balance(&mut balances, &mut changed, currency, negative, lock);
        }
        self.log_balances(&changed);
        let id = {
            let mut next = self.next_order.lock();
            *next += 1;
            format!("{:016x}{:016x}", *next, now.as_nanos())
        };
        let state = OrderState {
            symbol: market.to_owned(),
            side,
            price,
            amount: qty,
            filled: Decimal::ZERO,
            notional: Decimal::ZERO,
        };
        self.open.lock().insert(id.clone(), state.clone());
        let placed = self
            .market
            .lock()
            .place(now.as_nanos(), ts_ms, market, side, price, qty, &id);
        let outcome = match placed {
            Ok(outcome) => outcome,
            Err(refusal) => {
                // Refused: nothing happened, and the lock is released.
                self.open.lock().remove(&id);
                let mut changed = Vec::new();
                {
                    let mut balances = self.balances.lock();
                    let negative = Decimal::ZERO.checked_sub(lock).unwrap_or(Decimal::ZERO);
                    Self::move_balance(&mut balances, &mut changed, currency, lock, negative);
                }
                self.log_balances(&changed);
                return Err(refusal);
            }
        };
        // Status 0, then a record per fill.
        self.record(&id, &state, 0, ts_ms);
        for execution in &outcome.executions {
            self.fill(&id, execution.price, execution.qty, ts_ms);
        }
        self.maker_fills(&outcome.executions, ts_ms);
        Ok(id)
    }

    /// Cancels the account's open order `id`: status 3 or 4, and what it
    /// locked released.
    fn cancel(&self, now: Instant, id: &str) -> Result<(), &'static str> {
        let ts_ms = self.wall_ms(now);
        let state = self.open.lock().remove(id).ok_or("no such open order")?;
        self.market.lock().cancel(&state.symbol, id);
        let status = if state.filled.is_zero() { 3 } else { 4 };
        self.record(id, &state, status, ts_ms);
        let rest = state
            .amount
            .checked_sub(state.filled)
            .unwrap_or(Decimal::ZERO);
        let (base, quote) = currencies(&state.symbol);
        let (currency, release) = match state.side {
            Side::Buy => (
                quote,
                state.price.checked_mul(rest).unwrap_or(Decimal::ZERO),
            ),
            Side::Sell => (base, rest),
        };
        let mut changed = Vec::new();
        {
            let mut balances = self.balances.lock();
            let negative = Decimal::ZERO.checked_sub(release).unwrap_or(Decimal::ZERO);
            Self::move_balance(&mut balances, &mut changed, currency, release, negative);
        }
        self.log_balances(&changed);
        Ok(())
    }

    /// Another account trades `qty` against the book: public trades, and
    /// maker fills if it reaches the account's resting orders.
    fn house_trade(&self, now: Instant, market: &str, side: Side, qty: Decimal) {
        let ts_ms = self.wall_ms(now);
        let executions = self
            .market
            .lock()
            .house_trade(now.as_nanos(), ts_ms, market, side, qty);
        self.maker_fills(&executions, ts_ms);
    }

    fn inject(&self, fault: Fault) {
        self.faults.lock().push(fault);
    }

    /// The best `depth` levels of each side now.
    pub(crate) fn book(&self, market: &str, depth: usize) -> BookView {
        self.book_and_version(market, depth).0
    }

    /// The levels and the version they are at, read together (another
    /// thread may change the book between two looks).
    pub(crate) fn book_and_version(&self, market: &str, depth: usize) -> (BookView, u64) {
        let book = self.market.lock();
        let view = BookView {
            asks: book.top(market, Side::Sell, depth),
            bids: book.top(market, Side::Buy, depth),
        };
        (view, book.version(market))
    }
}

/// A market's top levels: (price, amount), best first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookView {
    /// Asks, lowest first.
    pub asks: Vec<(Decimal, Decimal)>,
    /// Bids, highest first.
    pub bids: Vec<(Decimal, Decimal)>,
}

/// The mock's state without a listener: what a [`DigiFinexPair`] runs
/// sessions against, with the test hooks.
pub struct DigiFinexMock {
    shared: Arc<Shared>,
}

impl DigiFinexMock {
    /// A mock serving `config`, whose clock's zero is the wall time
    /// `wall_origin_ms`.
    pub fn new(config: MockConfig, wall_origin_ms: u64) -> DigiFinexMock {
        DigiFinexMock {
            shared: Arc::new(Shared::new(config, wall_origin_ms)),
        }
    }

    /// Places a limit order for the account at `now` (the REST call a
    /// service makes): its id, or the refusal.
    pub fn place(
        &self,
        now: Instant,
        market: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
    ) -> Result<String, &'static str> {
        self.shared.place(now, market, side, price, qty)
    }

    /// Cancels the account's open order `id` at `now`.
    pub fn cancel(&self, now: Instant, id: &str) -> Result<(), &'static str> {
        self.shared.cancel(now, id)
    }

    /// Another account trades `qty` against the book at `now`.
    pub fn house_trade(&self, now: Instant, market: &str, side: Side, qty: Decimal) {
        self.shared.house_trade(now, market, side, qty);
    }

    /// Sends `fault` on every open connection.
    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault);
    }

    /// The market's best `depth` levels, as the mock's book has them.
    pub fn book(&self, market: &str, depth: usize) -> BookView {
        self.shared.book(market, depth)
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }
}

impl MockVenue for DigiFinexMock {
    type Session = Session;

    fn open(&self, _id: u64, now: Instant) -> Session {
        Session::open(self.shared.clone(), now)
    }
}

/// The gateway core over DigiFinex and the mock in virtual time.
pub type DigiFinexPair = Pair<DigiFinex, DigiFinexMock>;

impl DigiFinexPair {
    /// A mock serving `mock`, and a gateway over `venue` with `gateway`,
    /// connected at time zero.
    pub fn new(mock: MockConfig, venue: DigiFinex, gateway: GatewayConfig) -> DigiFinexPair {
        let core = GatewayCore::new(venue, gateway);
        Pair::with_path(core, DigiFinexMock::new(mock, WALL_ORIGIN_MS), "/ws/v1/")
    }
}

/// A running mock DigiFinex. Dropping it stops it.
pub struct MockDigiFinex {
    listening: Listening,
    shared: Arc<Shared>,
}

impl super::MockSettings for MockConfig {
    type Mock = MockDigiFinex;

    fn start_mock(self) -> std::io::Result<MockDigiFinex> {
        MockDigiFinex::start(self)
    }

    /// The first market's mid.
    fn set_mid(&mut self, mid: Decimal) {
        if let Some(first) = self.markets.first_mut() {
            first.1 = mid;
        }
    }

    fn set_live(&mut self, timing: super::MockTiming, flow: super::FlowConfig) {
        self.timing = timing;
        self.flow = flow;
    }
}

impl MockDigiFinex {
    /// The defaults, to change and start.
    pub fn builder() -> super::MockBuilder<MockConfig> {
        super::MockBuilder::new(MockConfig::default())
    }

    /// A ready exchange config: the mock's URL, its CA trusted (TLS
    /// verification stays on).
    pub fn exchange_config(&self) -> orderwire_engine::gateway::ExchangeConfig {
        super::builder::exchange_config(self.url(), &self.ca_file())
    }

    /// A DigiFinex codec with the mock's keys (`server.auth`).
    pub fn venue(&self) -> DigiFinex {
        use orderwire_protocol::secret::Secret;
        let (api_key, secret) = self.keys();
        DigiFinex::private(orderwire_protocol::venue::digifinex::Credentials {
            api_key: Secret::new(api_key),
            secret: Secret::new(secret),
        })
    }

    /// Listens on a free loopback port.
    pub fn start(config: MockConfig) -> std::io::Result<MockDigiFinex> {
        let wall_origin_ms = u64::try_from(super::listener::wall_now_ns() / 1_000_000).unwrap_or(0);
        let shared = Arc::new(Shared::new(config, wall_origin_ms));
        let running = shared.clone();
        let serving = shared.clone();
        let listening = Listening::start(
            "mock-digifinex",
            &shared.live,
            move || !running.stop.load(Ordering::Relaxed),
            || {},
            move |stream, _id| session::serve(stream, serving.clone()),
        )?;
        super::flow::spawn("mock-digifinex-flow", shared.config.flow, shared.clone())?;
        Ok(MockDigiFinex { listening, shared })
    }

    /// `wss://localhost:<port>/ws/v1/`.
    pub fn url(&self) -> String {
        self.listening.url("/ws/v1/")
    }

    /// The CA that signed the mock's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.listening.ca_file()
    }

    /// The account's key and secret.
    pub fn keys(&self) -> (String, String) {
        (
            self.shared.config.api_key.clone(),
            self.shared.config.api_secret.clone(),
        )
    }

    /// Places a limit order for the account now.
    pub fn place(
        &self,
        market: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
    ) -> Result<String, &'static str> {
        let result = self
            .shared
            .place(self.shared.now(), market, side, price, qty);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
        result
    }

    /// Cancels the account's open order now.
    pub fn cancel(&self, id: &str) -> Result<(), &'static str> {
        let result = self.shared.cancel(self.shared.now(), id);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
        result
    }

    /// Another account trades against the book now.
    pub fn house_trade(&self, market: &str, side: Side, qty: Decimal) {
        self.shared
            .house_trade(self.shared.now(), market, side, qty);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
    }

    /// Sends `fault` on every open connection.
    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
    }

    /// The market's best `depth` levels now.
    pub fn book(&self, market: &str, depth: usize) -> BookView {
        self.shared.book(market, depth)
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }
}

impl Drop for MockDigiFinex {
    fn drop(&mut self) {
        self.listening.stop(&self.shared.stop);
    }
}
