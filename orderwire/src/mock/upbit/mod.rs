//! A mock Upbit (docs/venues/upbit.md): the public and private WebSocket
//! endpoints over real TLS (rcgen) and real WebSocket (tungstenite) on
//! loopback, or in virtual time through [`UpbitPair`].
//!
//! - permessage-deflate offered (accepted when the client asks, without
//!   context takeover).
//! - Data in binary frames of UTF-8 JSON, in the four formats; SNAPSHOT then
//!   REALTIME; a new request replaces the connection's subscriptions.
//! - `PING` answered with `{"status":"UP"}`, repeated every 10 s; a
//!   connection idle for 120 s is closed.
//! - The request errors of the page (WRONG_FORMAT, NO_TICKET, NO_TYPE,
//!   NO_CODES, INVALID_PARAM, INVALID_AUTH).
//! - 5 connections a second (HTTP 429, then 418 for a client that keeps
//!   connecting), 5 messages a second and 100 a minute per connection.
//! - The private endpoint checks the JWT (HS512 or HS256, the access key)
//!   and refuses a nonce it has seen (HTTP 401).
//! - Market data comes from the shared matching engine; myOrder and myAsset
//!   follow orders placed through [`UpbitMock::place`] (Upbit takes orders
//!   over REST).

mod deflate_ws;
mod session;
mod wire;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use orderwire_engine::gateway::{GatewayConfig, GatewayCore};
use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::upbit::Upbit;
use parking_lot::Mutex;

pub use self::session::Session;

use super::listener::Listening;
use super::market::Market;
use super::pair::{Pair, WALL_ORIGIN_MS};
use super::session::{MockVenue, Refusal};

/// What the mock serves.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// How the mock's answers are timed: delay, jitter, stalls
    /// (docs/bench.md). Default: at once.
    pub timing: super::MockTiming,
    /// Other accounts' seeded order flow (super::flow). Default: none.
    pub flow: super::FlowConfig,
    /// Markets, with their mid price and tick.
    pub markets: Vec<(String, Decimal, Decimal)>,
    /// The account's access key.
    pub access_key: String,
    /// The account's secret key.
    pub secret_key: String,
    /// Close a connection that has sent nothing this long (Upbit: 120 s).
    pub idle_close: Duration,
    /// After a `PING`, `{"status":"UP"}` this often (Upbit: 10 s).
    pub up_every: Duration,
    /// Requests a second per connection (Upbit: 5).
    pub messages_per_second: usize,
    /// Requests a minute per connection (Upbit: 100).
    pub messages_per_minute: usize,
    /// New connections a second (Upbit: 5).
    pub connections_per_second: usize,
    /// How long a client that kept connecting after a 429 is refused (418).
    pub ban: Duration,
}

impl Default for MockConfig {
    fn default() -> MockConfig {
        let dec = |text: &str| text.parse().unwrap_or(Decimal::ZERO);
        MockConfig {
            timing: super::MockTiming::default(),
            flow: super::FlowConfig::default(),
            markets: vec![
                ("KRW-BTC".into(), dec("100473000"), dec("1000")),
                ("KRW-ETH".into(), dec("3600000"), dec("1000")),
            ],
            access_key: "mock-access-key".into(),
            secret_key: "mock-secret-key".into(),
            idle_close: Duration::from_secs(120),
            up_every: Duration::from_secs(10),
            messages_per_second: 5,
            messages_per_minute: 100,
            connections_per_second: 5,
            ban: Duration::from_secs(60),
        }
    }
}

/// What the mock has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Connections opened.
    pub connections: u64,
    /// Blocks imposed (each one twice as long as the last).
    pub bans: u64,
    /// Handshakes refused (401, 429, 418).
    pub refused: u64,
    /// Of which for a reused nonce.
    pub nonce_reused: u64,
    /// Subscription requests accepted.
    pub requests: u64,
    /// Error frames sent.
    pub errors: u64,
    /// Connections closed for idleness.
    pub idle_closes: u64,
    /// `{"status":"UP"}` sent.
    pub ups: u64,
    /// Requests refused for the message rate.
    pub rate_refusals: u64,
    /// Connections that negotiated permessage-deflate.
    pub deflate: u64,
}

/// A myOrder push, before its format.
#[derive(Clone, Debug)]
pub(crate) struct OrderRecord {
    pub(crate) market: String,
    pub(crate) uuid: String,
    pub(crate) identifier: String,
    pub(crate) ask_bid: &'static str,
    pub(crate) state: &'static str,
    pub(crate) price: Decimal,
    pub(crate) volume: Decimal,
    pub(crate) remaining: Decimal,
    pub(crate) executed: Decimal,
    /// The order's limit price (a trade record's `price` is the fill's).
    pub(crate) limit: Decimal,
    /// The order's quantity (a trade record's `volume` is the fill's).
    pub(crate) ordered: Decimal,
    /// Executed value so far (`executed_funds`).
    pub(crate) funds: Decimal,
    /// Trades so far.
    pub(crate) trades: u32,
    pub(crate) trade: Option<(String, Decimal, bool)>,
    pub(crate) ts_ms: u64,
}

pub(crate) struct Shared {
    /// Its timing, and the connections asleep in their readiness wait.
    pub(crate) live: Arc<super::live::Live>,
    pub(crate) config: MockConfig,
    pub(crate) market: Mutex<Market>,
    pub(crate) orders: Mutex<Vec<OrderRecord>>,
    /// Balance changes: (seq, currency, balance, locked).
    pub(crate) assets: Mutex<Vec<(String, Decimal, Decimal)>>,
    balances: Mutex<HashMap<String, Decimal>>,
    nonces: Mutex<HashSet<String>>,
    /// Recent handshakes per rate-limit scope: `ip` (public), `account`
    /// (authenticated; Upbit now says "pocket", one per account here) and
    /// `origin` (any handshake with an `Origin` header).
    connects: Mutex<HashMap<&'static str, VecDeque<Instant>>>,
    throttled_at: Mutex<Option<Instant>>,
    banned_until: Mutex<Option<Instant>>,
    /// Whether a 418 has told the client how long the current block lasts.
    block_told: Mutex<bool>,
    /// Markets the mock has gone silent on (a fault for watchdog tests).
    pub(crate) silent: Mutex<HashSet<String>>,
    pub(crate) stats: Mutex<MockStats>,
    pub(crate) stop: AtomicBool,
    origin: std::time::Instant,
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
        let market = Market::new(&config.markets, 30);
        let mut balances = HashMap::new();
        balances.insert(
            "KRW".to_owned(),
            Decimal::new(1_000_000_000, 0).unwrap_or(Decimal::ZERO),
        );
        Shared {
            live: super::live::Live::new(&config.timing),
            config,
            market: Mutex::new(market),
            orders: Mutex::new(Vec::new()),
            assets: Mutex::new(Vec::new()),
            balances: Mutex::new(balances),
            nonces: Mutex::new(HashSet::new()),
            connects: Mutex::new(HashMap::new()),
            throttled_at: Mutex::new(None),
            banned_until: Mutex::new(None),
            block_told: Mutex::new(false),
            silent: Mutex::new(HashSet::new()),
            stats: Mutex::new(MockStats::default()),
            stop: AtomicBool::new(false),
            origin: std::time::Instant::now(),
            wall_origin_ms,
        }
    }

    /// The socket driver's clock.
    pub(crate) fn now(&self) -> Instant {
        Instant(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    pub(crate) fn wall_ms(&self, now: Instant) -> u64 {
        self.wall_origin_ms + now.as_nanos() / 1_000_000
    }

    /// The handshake (see [`MockVenue::accept`]).
    fn accept(
        &self,
        now: Instant,
        path: &str,
        headers: &[(String, String)],
    ) -> Result<(), Refusal> {
        let refuse = |status: u16, name: &str, message: &str| {
            self.stats.lock().refused += 1;
            Err(Refusal {
                status,
                body: format!(r#"{{"error":{{"name":"{name}","message":"{message}"}}}}"#),
                retry_after: None,
            })
        };
        let blocked = *self.banned_until.lock();
        if let Some(until) = blocked.filter(|until| now < *until) {
            // The first knock learns how long is left; knocking again
            // before then earns a longer block, from now.
            let until = if *self.block_told.lock() {
                now + self.ban(now)
            } else {
                until
            };
            *self.block_told.lock() = true;
            self.stats.lock().refused += 1;
            return Err(banned(until.saturating_duration_since(now)));
        }
        {
            // Upbit's rate-limits page: websocket-connect is counted per IP
            // without authentication and per account (now pocket) with it;
            // a request carrying an `Origin` header gets its own limit of
            // one per 10 s.
            let has_origin = headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("origin"));
            let (scope, window, limit) = if has_origin {
                ("origin", Duration::from_secs(10), 1)
            } else if path == "/websocket/v1/private" {
                (
                    "account",
                    Duration::from_secs(1),
                    self.config.connections_per_second,
                )
            } else {
                (
                    "ip",
                    Duration::from_secs(1),
                    self.config.connections_per_second,
                )
            };
            let mut scopes = self.connects.lock();
            let connects = scopes.entry(scope).or_default();
            while connects
                .front()
                .is_some_and(|at| now.saturating_duration_since(*at) >= window)
            {
                connects.pop_front();
            }
            if connects.len() >= limit {
                let mut throttled = self.throttled_at.lock();
                // Connecting again within a second of a 429 earns the ban.
                if throttled
                    .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1))
                {
                    let block = self.ban(now);
                    *self.block_told.lock() = true;
                    self.stats.lock().refused += 1;
                    return Err(banned(block));
                }
                *throttled = Some(now);
                return refuse(429, "Too Many Requests", "too many connections");
            }
            connects.push_back(now);
        }
        match path {
            "/websocket/v1" => Ok(()),
            "/websocket/v1/private" => self.check_jwt(headers).or_else(|reason| {
                if reason == "nonce reused" {
                    self.stats.lock().nonce_reused += 1;
                }
                refuse(401, "INVALID_AUTH", reason)
            }),
            _ => refuse(404, "NOT_FOUND", "no such path"),
        }
    }

    /// Blocks the client from `now`: `config.ban` the first time, twice the
    /// last block each time after (Upbit: "the block time may grow
    /// gradually" for repeated violations). Returns the block's length.
    pub(crate) fn ban(&self, now: Instant) -> Duration {
        let mut stats = self.stats.lock();
        let doublings = u32::try_from(stats.bans).unwrap_or(u32::MAX).min(16);
        let block = self.config.ban.saturating_mul(1 << doublings);
        stats.bans += 1;
        *self.banned_until.lock() = Some(now + block);
        *self.block_told.lock() = false;
        block
    }

    /// `Authorization: Bearer <JWT>`: HS512 or HS256 (both appear in
    /// Upbit's samples) with the account's secret, its access key, and a
    /// nonce never seen before.
    fn check_jwt(&self, headers: &[(String, String)]) -> Result<(), &'static str> {
        let value = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value.as_str())
            .ok_or("no Authorization header")?;
        let token = value.strip_prefix("Bearer ").ok_or("not a Bearer token")?;
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a JWT");
        };
        let decode = |part: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| "not base64url")
        };
        let header: serde_json::Value =
            serde_json::from_slice(&decode(header)?).map_err(|_| "bad JWT header")?;
        let signed = &token[..token.len() - signature.len() - 1];
        let secret = self.config.secret_key.as_bytes();
        let expected = match header["alg"].as_str() {
            Some("HS512") => {
                let mut mac = Hmac::<sha2::Sha512>::new_from_slice(secret).map_err(|_| "key")?;
                mac.update(signed.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            Some("HS256") => {
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).map_err(|_| "key")?;
                mac.update(signed.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            _ => return Err("unsupported JWT algorithm"),
        };
        if decode(signature)? != expected {
            return Err("bad JWT signature");
        }
        let payload: serde_json::Value =
            serde_json::from_slice(&decode(payload)?).map_err(|_| "bad JWT payload")?;
        if payload["access_key"].as_str() != Some(self.config.access_key.as_str()) {
            return Err("unknown access key");
        }
        let nonce = payload["nonce"].as_str().ok_or("no nonce")?;
        if !self.nonces.lock().insert(nonce.to_owned()) {
            return Err("nonce reused");
        }
        Ok(())
    }

    /// An order of the account, as Upbit's REST would take it: matched,
    /// its myOrder pushes and the balance change recorded.
    fn place(
        &self,
        now: Instant,
        market: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
        identifier: &str,
    ) -> Result<String, &'static str> {
        let ts_ms = self.wall_ms(now);
        let (outcome, next_print) = {
            let mut book = self.market.lock();
            let next_print = book.next_print();
            let outcome =
                book.place(now.as_nanos(), ts_ms, market, side, price, qty, identifier)?;
            (outcome, next_print)
        };
        let Some(order) = outcome.order.clone() else {
            return Err("no order");
        };
        let ask_bid = wire::ask_bid(side);
        let uuid = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            now.as_nanos() & 0xffff_ffff,
            next_print
        );
        let mut records = Vec::new();
        let base = |state, remaining, executed, funds, trades, trade| OrderRecord {
            market: market.to_owned(),
            uuid: uuid.clone(),
            identifier: identifier.to_owned(),
            ask_bid,
            state,
            price,
            volume: qty,
            remaining,
            executed,
            limit: price,
            ordered: qty,
            funds,
            trades,
            trade,
            ts_ms,
        };
        records.push(base("wait", qty, Decimal::ZERO, Decimal::ZERO, 0, None));
        let (mut executed, mut funds, mut trades) = (Decimal::ZERO, Decimal::ZERO, 0);
        for execution in &outcome.executions {
            executed = executed.checked_add(execution.qty).unwrap_or(executed);
            funds = execution
                .price
                .checked_mul(execution.qty)
                .and_then(|value| funds.checked_add(value))
                .unwrap_or(funds);
            trades += 1;
            let remaining = qty.checked_sub(executed).unwrap_or(Decimal::ZERO);
            let trade_uuid = format!(
                "{:08x}-1111-4000-8000-{:012x}",
                execution.trade_id, execution.trade_id
            );
            let mut record = base(
                "trade",
                remaining,
                executed,
                funds,
                trades,
                Some((trade_uuid, execution.qty, false)),
            );
            record.price = execution.price;
            record.volume = execution.qty;
            records.push(record);
        }
        if order.open().is_zero() {
            records.push(base("done", Decimal::ZERO, executed, funds, trades, None));
        }
        self.orders.lock().extend(records);
        // The quote currency moves by the executed value (a mock's account).
        let spent = outcome.executions.iter().fold(Decimal::ZERO, |sum, e| {
            e.price
                .checked_mul(e.qty)
                .and_then(|v| sum.checked_add(v))
                .unwrap_or(sum)
        });
        if !spent.is_zero() {
            let mut balances = self.balances.lock();
            let krw = balances.entry("KRW".into()).or_insert(Decimal::ZERO);
            *krw = match side {
                Side::Buy => krw.checked_sub(spent),
                Side::Sell => krw.checked_add(spent),
            }
            .unwrap_or(*krw);
            let value = *krw;
            self.assets
                .lock()
                .push(("KRW".into(), value, Decimal::ZERO));
        }
        Ok(uuid)
    }

    /// Another account's order taking `qty` from the house book.
    fn house_trade(&self, now: Instant, market: &str, side: Side, qty: Decimal) {
        let ts_ms = self.wall_ms(now);
        // Maker fills of the account's resting orders are not reported:
        // the Upbit mock's private feed follows the orders it places.
        let _ = self
            .market
            .lock()
            .house_trade(now.as_nanos(), ts_ms, market, side, qty);
    }
}

/// The mock's state without a listener: what an [`UpbitPair`] runs
/// sessions against.
pub struct UpbitMock {
    shared: Arc<Shared>,
    /// The path the last accepted handshake asked for (public or private).
    accepted: Mutex<String>,
}

/// A 418 for a block of `block`: the time in the body and in
/// `Retry-After`. Upbit documents that a 418 comes "with the block time";
/// its exact field is not documented (docs/venues/upbit.md), so the mock
/// puts it where any HTTP client reads it.
fn banned(block: Duration) -> Refusal {
    // Rounded up: a client that waits what it is told is never early.
    let seconds = block.as_secs() + u64::from(block.subsec_nanos() > 0);
    Refusal {
        status: 418,
        body: format!(
            r#"{{"error":{{"name":"I'm a teapot","message":"blocked for {seconds} seconds"}}}}"#
        ),
        retry_after: Some(Duration::from_secs(seconds)),
    }
}

impl UpbitMock {
    /// Blocks the client's address from `now`, as Upbit does to a client
    /// caught over the limit (here or on another connection from the same
    /// address): the next handshakes get 418 until the block ends, and
    /// each block is twice the last. Returns the block's length.
    pub fn block(&self, now: Instant) -> Duration {
        self.shared.ban(now)
    }

    /// A mock serving `config`, whose clock's zero is the wall time
    /// `wall_origin_ms`.
    pub fn new(config: MockConfig, wall_origin_ms: u64) -> UpbitMock {
        UpbitMock {
            shared: Arc::new(Shared::new(config, wall_origin_ms)),
            accepted: Mutex::new(String::new()),
        }
    }

    /// Places an order for the account at `now` (the REST call a service
    /// makes): returns its uuid, or the refusal.
    pub fn place(
        &self,
        now: Instant,
        market: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
        identifier: &str,
    ) -> Result<String, &'static str> {
        self.shared.place(now, market, side, price, qty, identifier)
    }

    /// Another account trades `qty` against the house book.
    pub fn house_trade(&self, now: Instant, market: &str, side: Side, qty: Decimal) {
        self.shared.house_trade(now, market, side, qty);
    }

    /// Stops (or resumes) sending anything for `market`.
    pub fn set_silent(&self, market: &str, silent: bool) {
        let mut set = self.shared.silent.lock();
        if silent {
            set.insert(market.to_owned());
        } else {
            set.remove(market);
        }
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }
}

impl MockVenue for UpbitMock {
    type Session = Session;

    fn accept(
        &self,
        now: Instant,
        path: &str,
        headers: &[(String, String)],
    ) -> Result<(), Refusal> {
        self.shared.accept(now, path, headers)?;
        *self.accepted.lock() = path.to_owned();
        Ok(())
    }

    fn open(&self, _id: u64, now: Instant) -> Session {
        self.shared.stats.lock().connections += 1;
        let mut session = Session::open(self.shared.clone(), now);
        if self.accepted.lock().ends_with("/private") {
            session.set_private();
        }
        session
    }
}

/// The gateway core over Upbit and the mock in virtual time.
pub type UpbitPair = Pair<Upbit, UpbitMock>;

impl UpbitPair {
    /// A mock serving `mock`, and a gateway over `venue` with `gateway`,
    /// connected at time zero to the public or private path (by whether
    /// the venue has keys: pass `private`).
    pub fn new(mock: MockConfig, venue: Upbit, gateway: GatewayConfig, private: bool) -> UpbitPair {
        let core = GatewayCore::new(venue, gateway);
        let path = if private {
            "/websocket/v1/private"
        } else {
            "/websocket/v1"
        };
        Pair::with_path(core, UpbitMock::new(mock, WALL_ORIGIN_MS), path)
    }
}

/// A running mock Upbit. Dropping it stops it.
pub struct MockUpbit {
    listening: Listening,
    shared: Arc<Shared>,
}

impl super::MockSettings for MockConfig {
    type Mock = MockUpbit;

    fn start_mock(self) -> std::io::Result<MockUpbit> {
        MockUpbit::start(self)
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

impl MockUpbit {
    /// The defaults, to change and start.
    pub fn builder() -> super::MockBuilder<MockConfig> {
        super::MockBuilder::new(MockConfig::default())
    }

    /// A ready exchange config: the mock's URL, its CA trusted (TLS
    /// verification stays on).
    pub fn exchange_config(&self) -> orderwire_engine::gateway::ExchangeConfig {
        super::builder::exchange_config(self.private_url(), &self.ca_file())
    }

    /// An Upbit codec for the private feed, with the mock's keys.
    pub fn venue(&self) -> Upbit {
        use orderwire_protocol::secret::Secret;
        let (access_key, secret_key) = self.keys();
        Upbit::private(orderwire_protocol::venue::upbit::Credentials {
            access_key: Secret::new(access_key),
            secret_key: Secret::new(secret_key),
        })
    }

    /// Listens on a free loopback port.
    pub fn start(config: MockConfig) -> std::io::Result<MockUpbit> {
        let wall_origin_ms = u64::try_from(super::listener::wall_now_ns() / 1_000_000).unwrap_or(0);
        let shared = Arc::new(Shared::new(config, wall_origin_ms));
        let running = shared.clone();
        let serving = shared.clone();
        let listening = Listening::start(
            "mock-upbit",
            &shared.live,
            move || !running.stop.load(Ordering::Relaxed),
            || {},
            move |stream, _id| session::serve(stream, serving.clone()),
        )?;
        super::flow::spawn("mock-upbit-flow", shared.config.flow, shared.clone())?;
        Ok(MockUpbit { listening, shared })
    }

    /// `wss://localhost:<port>/websocket/v1`.
    pub fn public_url(&self) -> String {
        self.listening.url("/websocket/v1")
    }

    /// `wss://localhost:<port>/websocket/v1/private`.
    pub fn private_url(&self) -> String {
        self.listening.url("/websocket/v1/private")
    }

    /// The CA that signed the mock's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.listening.ca_file()
    }

    /// The account's keys.
    pub fn keys(&self) -> (String, String) {
        (
            self.shared.config.access_key.clone(),
            self.shared.config.secret_key.clone(),
        )
    }

    /// Places an order for the account now.
    pub fn place(
        &self,
        market: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
        identifier: &str,
    ) -> Result<String, &'static str> {
        let result = self
            .shared
            .place(self.shared.now(), market, side, price, qty, identifier);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
        result
    }

    /// Another account trades against the house book now.
    pub fn house_trade(&self, market: &str, side: Side, qty: Decimal) {
        self.shared
            .house_trade(self.shared.now(), market, side, qty);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }
}

impl Drop for MockUpbit {
    fn drop(&mut self) {
        self.listening.stop(&self.shared.stop);
    }
}
