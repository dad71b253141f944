//! A mock Binance Spot venue (docs/venues/binance.md): the WebSocket API at
//! `/ws-api/v3` and the market streams at `/ws` and `/stream`, over real TLS
//! (rcgen) and real WebSocket (tungstenite), on loopback.
//!
//! It checks HMAC and Ed25519 signatures (-1022), timestamps against
//! recvWindow (-1021) and the API key (-2015); counts REQUEST_WEIGHT per
//! rolling minute and ORDERS per rolling 10 s and day, reports the counts in
//! every reply's `rateLimits`, refuses over-limit requests with 429 and a
//! `retryAfter`, and bans (418) a client that keeps sending after a 429.
//! It pings every 20 s and drops a client whose pong does not come, and it
//! injects faults, a `serverShutdown` among them. Its matching engine is
//! the Kraken mock's, with integer order ids.

pub mod api;
mod conn;
mod limits;
mod streams;

pub use streams::StreamsSession;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::Sender;
use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use parking_lot::Mutex;

use orderwire_engine::gateway::{GatewayConfig, GatewayCore};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::binance::{BinanceApi, BinanceStreams};

use super::listener::Listening;
use super::matching::{Matching, Resting};
use super::pair::{Pair, WALL_ORIGIN_MS};
use super::session::MockVenue;
use limits::Limits;

/// What the mock serves.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// How the mock's answers are timed: delay, jitter, stalls
    /// (docs/bench.md). Default: at once.
    pub timing: super::MockTiming,
    /// Other accounts' seeded order flow (super::flow). Default: none.
    pub flow: super::FlowConfig,
    /// The one pair it trades (`BTCUSDT`).
    pub symbol: String,
    /// The middle of the house book.
    pub mid: Decimal,
    /// Distance between house levels.
    pub tick: Decimal,
    /// House levels per side.
    pub levels: usize,
    /// The account's API key.
    pub api_key: String,
    /// The HMAC secret, if the key is an HMAC key.
    pub hmac_secret: Option<String>,
    /// The Ed25519 public key, if the key is an Ed25519 key.
    pub ed25519_public: Option<[u8; 32]>,
    /// REQUEST_WEIGHT per rolling minute (Binance: 6000).
    pub weight_per_minute: u32,
    /// ORDERS per rolling 10 s (Binance: 50).
    pub orders_per_10s: u32,
    /// ORDERS per rolling day (Binance: 160000).
    pub orders_per_day: u32,
    /// Ping frames this often (Binance: 20 s).
    pub ping_every: Duration,
    /// Drop a client whose pong has not come this long after a ping
    /// (Binance: a minute).
    pub pong_timeout: Duration,
    /// After a `serverShutdown` notice, close this much later.
    pub shutdown_grace: Duration,
}

impl Default for MockConfig {
    fn default() -> MockConfig {
        MockConfig {
            timing: super::MockTiming::default(),
            flow: super::FlowConfig::default(),
            symbol: "BTCUSDT".to_owned(),
            // A realistic BTCUSDT price (late 2026).
            mid: Decimal::new(900_000, 1).unwrap_or(Decimal::ZERO),
            tick: Decimal::new(1, 1).unwrap_or(Decimal::ZERO),
            levels: 25,
            api_key: "mock-api-key".to_owned(),
            hmac_secret: Some("mock-hmac-secret".to_owned()),
            ed25519_public: None,
            weight_per_minute: 6_000,
            orders_per_10s: 50,
            orders_per_day: 160_000,
            ping_every: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// A fault to inject; each is used once, by the next message it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Hold the next response this long.
    Delay(Duration),
    /// Never send the next response.
    DropResponse,
    /// Drop the TCP connection (no close frame) on the next request.
    Disconnect,
    /// Send every open API connection `serverShutdown`, then close each
    /// after `shutdown_grace`.
    ServerShutdown,
    /// Another session on the same IP spends this much request weight now.
    ForeignWeight(u32),
    /// Another session on the same account places this many orders now.
    ForeignOrders(u32),
}

/// What the mock has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Connections accepted.
    pub connections: u64,
    /// API requests received.
    pub requests: u64,
    /// Orders accepted.
    pub orders_placed: u64,
    /// Cancels accepted.
    pub cancels: u64,
    /// Fills.
    pub fills: u64,
    /// Requests refused with 429.
    pub throttled: u64,
    /// Requests refused with 418 (sent during a back-off).
    pub banned: u64,
    /// Requests refused for a bad signature (-1022).
    pub bad_signatures: u64,
    /// Requests refused for their timestamp (-1021).
    pub bad_timestamps: u64,
    /// Pings sent.
    pub pings: u64,
    /// Pongs received.
    pub pongs: u64,
    /// Connections dropped for a missing pong.
    pub pong_timeouts: u64,
    /// `serverShutdown` notices sent.
    pub shutdown_notices: u64,
    /// Responses dropped by a fault.
    pub dropped_responses: u64,
    /// Connections dropped by a fault.
    pub disconnects: u64,
}

/// An order the venue knows, open or done (for `order.status`).
#[derive(Clone, Debug)]
pub(crate) struct Known {
    pub(crate) order: Resting,
    pub(crate) status: &'static str,
    pub(crate) time_ms: u64,
}

/// The book's change log, for diff-depth streams: update ids and the
/// levels each changed.
#[derive(Debug, Default)]
pub(crate) struct BookLog {
    pub(crate) last_id: u64,
    pub(crate) changes: VecDeque<(u64, Side, Decimal)>,
    /// Public trades: (id, price, qty, buyer is maker, ms).
    pub(crate) trades: VecDeque<(u64, Decimal, Decimal, bool, u64)>,
}

impl BookLog {
    /// A new update id for the levels an operation touched, and the trades
    /// it made (`taker` the aggressor's side), at `now_ms`.
    pub(crate) fn log(
        &mut self,
        touched: &[(Side, Decimal)],
        executions: &[super::matching::Execution],
        taker: Option<Side>,
        now_ms: u64,
    ) {
        self.last_id += 1;
        let id = self.last_id;
        for (side, price) in touched {
            self.changes.push_back((id, *side, *price));
        }
        while self.changes.len() > 100_000 {
            self.changes.pop_front();
        }
        for execution in executions {
            self.trades.push_back((
                execution.trade_id,
                execution.price,
                execution.qty,
                taker == Some(Side::Sell),
                now_ms,
            ));
        }
        while self.trades.len() > 10_000 {
            self.trades.pop_front();
        }
    }
}

pub(crate) struct Shared {
    /// Its timing, and the connections asleep in their readiness wait.
    pub(crate) live: Arc<super::live::Live>,
    pub(crate) config: MockConfig,
    pub(crate) matching: Mutex<Matching>,
    pub(crate) known: Mutex<HashMap<String, Known>>,
    pub(crate) book: Mutex<BookLog>,
    pub(crate) limits: Mutex<Limits>,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    /// User data streams of the account, by connection.
    pub(crate) user_streams: Mutex<HashMap<u64, Sender<String>>>,
    pub(crate) shutdown_epoch: AtomicU64,
    pub(crate) stop: AtomicBool,
    pub(crate) stats: Mutex<MockStats>,
    /// The socket driver's clock origin.
    origin: std::time::Instant,
    /// The wall clock (ms since the epoch) at the sessions' clock zero.
    wall_origin_ms: u64,
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
        let mut matching = self.matching.lock();
        let applied = super::flow::apply(
            &mut matching,
            &self.config.symbol,
            self.config.tick,
            flow_unit(),
            action,
            now.0,
            false,
        );
        if applied.changed {
            let mut book = self.book.lock();
            book.log(
                &applied.touched,
                &applied.executions,
                applied.taker,
                self.wall_ms(now),
            );
        }
    }

    fn live(&self) -> &super::live::Live {
        &self.live
    }
}

impl Shared {
    /// Shared state for a mock serving `config`, whose clock's zero is the
    /// wall time `wall_origin_ms`.
    fn new(config: MockConfig, wall_origin_ms: u64) -> Shared {
        let mut matching = Matching::new(
            &config.symbol,
            config.mid,
            config.tick,
            config.levels,
            (u64::MAX / 4, 0),
        );
        matching.numeric_ids = true;
        let limits = Limits::new(&config);
        Shared {
            live: super::live::Live::new(&config.timing),
            config,
            matching: Mutex::new(matching),
            known: Mutex::new(HashMap::new()),
            book: Mutex::new(BookLog {
                last_id: 1_000,
                ..BookLog::default()
            }),
            limits: Mutex::new(limits),
            faults: Mutex::new(VecDeque::new()),
            user_streams: Mutex::new(HashMap::new()),
            shutdown_epoch: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            stats: Mutex::new(MockStats::default()),
            origin: std::time::Instant::now(),
            wall_origin_ms,
        }
    }

    /// The socket drivers' clock: time since the mock started.
    pub(crate) fn now(&self) -> Instant {
        Instant(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// The venue's wall clock (ms since the epoch) at session time `now`.
    pub(crate) fn wall_ms(&self, now: Instant) -> u64 {
        self.wall_origin_ms + now.as_nanos() / 1_000_000
    }

    /// Applies `fault` at `now`: `ServerShutdown`, `ForeignWeight` and
    /// `ForeignOrders` act at once, the others wait for their message.
    fn inject_at(&self, now: Instant, fault: Fault) {
        match fault {
            Fault::ServerShutdown => {
                self.shutdown_epoch.fetch_add(1, Ordering::AcqRel);
            }
            Fault::ForeignWeight(weight) => self.limits.lock().spend_weight(now, weight),
            Fault::ForeignOrders(orders) => self.limits.lock().spend_orders(now, orders),
            other => self.faults.lock().push_back(other),
        }
    }

    pub(crate) fn take_fault(&self, which: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let mut faults = self.faults.lock();
        let index = faults.iter().position(which)?;
        faults.remove(index)
    }

    /// Pushes an event to every user data stream of the account.
    pub(crate) fn push_user_event(&self, event: &str) {
        let text = format!(r#"{{"subscriptionId":0,"event":{event}}}"#);
        for sender in self.user_streams.lock().values() {
            let _ = sender.send(text.clone());
        }
    }
}

/// The mock's state without a listener: what a [`BinancePair`] runs API
/// sessions against, with the same faults and counters as
/// [`MockBinance`].
pub struct BinanceMock {
    shared: Arc<Shared>,
}

impl BinanceMock {
    /// A mock serving `config`, whose clock's zero is the wall time
    /// `wall_origin_ms`.
    pub fn new(config: MockConfig, wall_origin_ms: u64) -> BinanceMock {
        BinanceMock {
            shared: Arc::new(Shared::new(config, wall_origin_ms)),
        }
    }

    /// Applies a fault at virtual time `now` (see [`MockBinance::inject`]).
    pub fn inject_at(&self, now: Instant, fault: Fault) {
        self.shared.inject_at(now, fault);
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }

    /// How many orders with this client id the venue accepted.
    pub fn orders_with_client_id(&self, client_order_id: &str) -> usize {
        orders_with_client_id(&self.shared, client_order_id)
    }

    /// The venue's status of an order by client id.
    pub fn order_status(&self, client_order_id: &str) -> Option<&'static str> {
        order_status(&self.shared, client_order_id)
    }
}

impl MockVenue for BinanceMock {
    type Session = api::ApiSession;

    fn open(&self, id: u64, now: Instant) -> api::ApiSession {
        self.shared.stats.lock().connections += 1;
        api::ApiSession::open(self.shared.clone(), id, now)
    }
}

impl BinanceMock {
    /// The same venue's market streams, for a [`BinanceStreamsPair`]: its
    /// sessions connect to `path` (`/ws`, `/ws/<stream>` or
    /// `/stream?streams=...`) and see what this mock's orders do to the
    /// book.
    pub fn streams(&self, path: &str) -> BinanceStreamsMock {
        BinanceStreamsMock {
            shared: self.shared.clone(),
            path: path.to_owned(),
        }
    }
}

/// The mock's market streams without a listener.
pub struct BinanceStreamsMock {
    shared: Arc<Shared>,
    path: String,
}

impl BinanceStreamsMock {
    /// An API session on the same venue, opened at `now`: a test places
    /// orders through it to move the book the streams publish.
    pub fn api_session(&self, now: Instant) -> api::ApiSession {
        api::ApiSession::open(self.shared.clone(), u64::MAX, now)
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }
}

impl MockVenue for BinanceStreamsMock {
    type Session = StreamsSession;

    fn open(&self, _id: u64, now: Instant) -> StreamsSession {
        self.shared.stats.lock().connections += 1;
        StreamsSession::open(self.shared.clone(), &self.path, now)
    }
}

/// The gateway core over Binance's market streams and the mock in
/// virtual time.
pub type BinanceStreamsPair = Pair<BinanceStreams, BinanceStreamsMock>;

impl BinanceStreamsPair {
    /// The streams of a fresh mock serving `mock` at `path`, and a gateway
    /// over [`BinanceStreams`] with `gateway`, connected at time zero.
    pub fn new(mock: MockConfig, path: &str, gateway: GatewayConfig) -> BinanceStreamsPair {
        let core = GatewayCore::new(BinanceStreams::new(), gateway);
        Pair::with(core, BinanceMock::new(mock, WALL_ORIGIN_MS).streams(path))
    }
}

/// The gateway core over the Binance WebSocket API and the mock in
/// virtual time.
pub type BinancePair = Pair<BinanceApi, BinanceMock>;

impl BinancePair {
    /// A mock serving `mock`, and a gateway over `venue` with `gateway`,
    /// connected at time zero (see [`Pair::with`]).
    pub fn new(mock: MockConfig, venue: BinanceApi, gateway: GatewayConfig) -> BinancePair {
        let core = GatewayCore::new(venue, gateway);
        Pair::with(core, BinanceMock::new(mock, WALL_ORIGIN_MS))
    }

    /// Applies a fault now.
    pub fn inject(&self, fault: Fault) {
        self.mock.inject_at(self.now(), fault);
    }
}

fn orders_with_client_id(shared: &Shared, client_order_id: &str) -> usize {
    shared
        .known
        .lock()
        .values()
        .filter(|k| k.order.cl_ord_id == client_order_id)
        .count()
}

fn order_status(shared: &Shared, client_order_id: &str) -> Option<&'static str> {
    shared
        .known
        .lock()
        .values()
        .find(|k| k.order.cl_ord_id == client_order_id)
        .map(|k| k.status)
}

/// A running mock venue. Dropping it stops it.
pub struct MockBinance {
    listening: Listening,
    shared: Arc<Shared>,
}

impl super::MockSettings for MockConfig {
    type Mock = MockBinance;

    fn start_mock(self) -> std::io::Result<MockBinance> {
        MockBinance::start(self)
    }

    fn set_mid(&mut self, mid: Decimal) {
        self.mid = mid;
    }

    fn set_live(&mut self, timing: super::MockTiming, flow: super::FlowConfig) {
        self.timing = timing;
        self.flow = flow;
    }
}

impl MockBinance {
    /// The defaults (BTCUSDT around 90,000.0), to change and start.
    pub fn builder() -> super::MockBuilder<MockConfig> {
        super::MockBuilder::new(MockConfig::default())
    }

    /// A ready exchange config for the WebSocket API: the mock's URL, its
    /// CA trusted (TLS verification stays on).
    pub fn exchange_config(&self) -> orderwire_engine::gateway::ExchangeConfig {
        super::builder::exchange_config(self.api_url(), &self.ca_file())
    }

    /// A WebSocket API codec with the mock's key, signing with its HMAC
    /// secret (none when the mock takes Ed25519 only: give the codec your
    /// key then).
    pub fn venue(&self) -> BinanceApi {
        use orderwire_protocol::secret::Secret;
        use orderwire_protocol::venue::binance::{BinanceApi, Credentials, Signer};
        let config = &self.shared.config;
        BinanceApi::new(config.hmac_secret.as_ref().map(|secret| Credentials {
            api_key: Secret::new(config.api_key.clone()),
            signer: Signer::Hmac(Secret::new(secret.clone())),
        }))
    }

    /// Listens on a free loopback port.
    pub fn start(config: MockConfig) -> std::io::Result<MockBinance> {
        let wall_origin_ms = u64::try_from(super::listener::wall_now_ns() / 1_000_000).unwrap_or(0);
        let shared = Arc::new(Shared::new(config, wall_origin_ms));
        let running = shared.clone();
        let counting = shared.clone();
        let serving = shared.clone();
        let listening = Listening::start(
            "mock-binance",
            &shared.live,
            move || !running.stop.load(Ordering::Relaxed),
            move || counting.stats.lock().connections += 1,
            move |stream, id| {
                let shared = serving.clone();
                conn::serve(stream, shared, id);
            },
        )?;
        super::flow::spawn("mock-binance-flow", shared.config.flow, shared.clone())?;
        Ok(MockBinance { listening, shared })
    }

    /// `wss://localhost:<port>/ws-api/v3`.
    pub fn api_url(&self) -> String {
        self.listening.url("/ws-api/v3")
    }

    /// `wss://localhost:<port>/ws` (raw streams; subscribe with SUBSCRIBE).
    pub fn streams_url(&self) -> String {
        self.listening.url("/ws")
    }

    /// The CA that signed the mock's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.listening.ca_file()
    }

    /// Queues a fault (`ServerShutdown`, `ForeignWeight` and
    /// `ForeignOrders` act at once).
    pub fn inject(&self, fault: Fault) {
        self.shared.inject_at(self.shared.now(), fault);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }

    /// The venue's status of an order by client id (`NEW`, `FILLED`, ...).
    pub fn order_status(&self, client_order_id: &str) -> Option<&'static str> {
        order_status(&self.shared, client_order_id)
    }

    /// How many orders with this client id the venue accepted (a duplicate
    /// would count twice).
    pub fn orders_with_client_id(&self, client_order_id: &str) -> usize {
        orders_with_client_id(&self.shared, client_order_id)
    }
}

impl Drop for MockBinance {
    fn drop(&mut self) {
        self.listening.stop(&self.shared.stop);
    }
}
