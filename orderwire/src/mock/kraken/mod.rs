//! A mock Kraken Spot WebSocket v2 venue (docs/venues/kraken.md): real TLS
//! with an rcgen certificate, real WebSocket (tungstenite), on loopback.
//!
//! It keeps a matching engine with house liquidity around a mid price,
//! sends executions and book updates with correct checksums, enforces the
//! per-pair rate counter and the one-minute idle close, and injects faults
//! on request: a delayed response, a dropped response, a disconnect, a
//! corrupt checksum.

pub mod conn;
pub mod wire;

pub use conn::Session;

use crate::mock::pair::Pair;
use crate::mock::session::MockVenue;
use orderwire_engine::gateway::{GatewayConfig, GatewayCore};
use orderwire_protocol::venue::kraken::Kraken;

/// The gateway core over Kraken and the mock in virtual time.
pub type KrakenPair = Pair<Kraken, KrakenMock>;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use orderwire_protocol::num::Decimal;
use parking_lot::Mutex;

use crate::mock::listener::Listening;
use crate::mock::matching::Matching;

/// What the mock serves.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// How the mock's answers are timed: delay, jitter, stalls
    /// (docs/bench.md). Default: at once.
    pub timing: super::MockTiming,
    /// Other accounts' seeded order flow (super::flow). Default: none.
    pub flow: super::FlowConfig,
    /// The one pair it trades.
    pub symbol: String,
    /// The middle of the house book.
    pub mid: Decimal,
    /// Distance between house levels.
    pub tick: Decimal,
    /// House levels per side.
    pub levels: usize,
    /// The token private requests must carry, which the REST endpoint
    /// issues.
    pub token: String,
    /// The API key REST `GetWebSocketsToken` takes.
    pub api_key: String,
    /// The API secret (base64) its `API-Sign` is checked with.
    pub api_secret: String,
    /// (threshold, decay per second) of the per-pair counter, milli-units
    /// (Kraken Starter: 60 at 1/s).
    pub tier: (u64, u64),
    /// Close after this long without a request (Kraken: about a minute).
    pub idle_close: Duration,
    /// Heartbeat when idle while subscribed (Kraken: about 1 s).
    pub heartbeat: Duration,
}

impl Default for MockConfig {
    fn default() -> MockConfig {
        MockConfig {
            timing: super::MockTiming::default(),
            flow: super::FlowConfig::default(),
            symbol: "BTC/USD".to_owned(),
            // A realistic BTC/USD price (late 2026): an example's post-only
            // buy at 80,000 rests instead of crossing.
            mid: Decimal::new(900_000, 1).unwrap_or(Decimal::ZERO),
            tick: Decimal::new(1, 1).unwrap_or(Decimal::ZERO),
            levels: 25,
            token: "mock-token".to_owned(),
            api_key: "mock-api-key".to_owned(),
            // base64 of "mock-api-secret-of-64-bytes", as Kraken's are base64.
            api_secret: "bW9jay1hcGktc2VjcmV0LW9mLTY0LWJ5dGVz".to_owned(),
            tier: (60_000, 1_000),
            idle_close: Duration::from_secs(60),
            heartbeat: Duration::from_secs(1),
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
    /// Send the next book message with a wrong checksum.
    CorruptChecksum,
}

/// What the mock has seen, for tests and the demo's summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Connections accepted.
    pub connections: u64,
    /// Requests received.
    pub requests: u64,
    /// Messages sent.
    pub messages_sent: u64,
    /// Orders accepted.
    pub orders_placed: u64,
    /// Amends accepted.
    pub amends: u64,
    /// Cancels accepted.
    pub cancels: u64,
    /// Fills.
    pub fills: u64,
    /// Requests refused with `EOrder:Rate limit exceeded`.
    pub rate_limited: u64,
    /// Responses dropped by a fault.
    pub dropped_responses: u64,
    /// Connections dropped by a fault.
    pub disconnects: u64,
    /// Connections closed for idleness.
    pub idle_closes: u64,
    /// Tokens issued over REST `GetWebSocketsToken`.
    pub tokens_issued: u64,
    /// REST calls refused (bad key, signature or nonce).
    pub rest_refused: u64,
}

pub(crate) struct Shared {
    /// Its timing, and the connections asleep in their readiness wait.
    pub(crate) live: Arc<super::live::Live>,
    config: MockConfig,
    matching: Mutex<Matching>,
    faults: Mutex<VecDeque<Fault>>,
    outboxes: Mutex<HashMap<u64, Sender<String>>>,
    book_version: AtomicU64,
    stop: AtomicBool,
    stats: Mutex<MockStats>,
    /// The last REST nonce accepted: each must be larger.
    last_nonce: Mutex<u64>,
    /// The socket driver's clock origin.
    origin: Instant,
    /// The wall clock at the session clock's zero (ns since the epoch):
    /// a session's wall time is this plus its `now`.
    wall_origin_ns: i64,
}

/// The order flow's size unit on this mock.
fn flow_unit() -> Decimal {
    "0.05".parse().unwrap_or(Decimal::ZERO)
}

impl super::flow::FlowVenue for Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn now(&self) -> orderwire_protocol::time::Instant {
        Shared::now(self)
    }

    fn act(&self, now: orderwire_protocol::time::Instant, action: super::flow::FlowAction) {
        let applied = super::flow::apply(
            &mut self.matching.lock(),
            &self.config.symbol,
            self.config.tick,
            flow_unit(),
            action,
            now.0,
            false,
        );
        if applied.changed {
            self.book_version.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn live(&self) -> &super::live::Live {
        &self.live
    }
}

impl Shared {
    /// Shared state for a mock serving `config`, whose clock's zero is the
    /// wall time `wall_origin_ns`.
    fn new(config: MockConfig, wall_origin_ns: i64) -> Shared {
        let matching = Matching::new(
            &config.symbol,
            config.mid,
            config.tick,
            config.levels,
            config.tier,
        );
        Shared {
            live: super::live::Live::new(&config.timing),
            config,
            matching: Mutex::new(matching),
            faults: Mutex::new(VecDeque::new()),
            outboxes: Mutex::new(HashMap::new()),
            book_version: AtomicU64::new(1),
            stop: AtomicBool::new(false),
            stats: Mutex::new(MockStats::default()),
            last_nonce: Mutex::new(0),
            origin: Instant::now(),
            wall_origin_ns,
        }
    }

    /// The socket driver's clock: time since the mock started.
    fn now(&self) -> orderwire_protocol::time::Instant {
        orderwire_protocol::time::Instant(
            u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX),
        )
    }

    /// Takes the first queued fault that `which` matches.
    fn take_fault(&self, which: impl Fn(&Fault) -> bool) -> bool {
        self.take_fault_value(which).is_some()
    }

    fn take_fault_value(&self, which: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let mut faults = self.faults.lock();
        let index = faults.iter().position(which)?;
        faults.remove(index)
    }
}

/// The mock's state without a listener: what a [`KrakenPair`] runs
/// sessions against, with the same faults and counters as [`MockKraken`].
pub struct KrakenMock {
    shared: Arc<Shared>,
}

impl KrakenMock {
    /// A mock serving `config`, whose clock's zero is the wall time
    /// `wall_origin_ns`.
    pub fn new(config: MockConfig, wall_origin_ns: i64) -> KrakenMock {
        KrakenMock {
            shared: Arc::new(Shared::new(config, wall_origin_ns)),
        }
    }

    /// Queues a fault.
    pub fn inject(&self, fault: Fault) {
        self.shared.faults.lock().push_back(fault);
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }

    /// The token private requests must carry.
    pub fn token(&self) -> &str {
        &self.shared.config.token
    }
}

impl MockVenue for KrakenMock {
    type Session = Session;

    fn open(&self, id: u64, now: orderwire_protocol::time::Instant) -> Session {
        self.shared.stats.lock().connections += 1;
        Session::open(self.shared.clone(), id, now)
    }
}

impl KrakenPair {
    /// A mock serving `mock`, and a gateway over `venue` with `gateway`,
    /// connected at time zero (see [`Pair::with`]).
    pub fn new(mock: MockConfig, venue: Kraken, gateway: GatewayConfig) -> KrakenPair {
        let core = GatewayCore::new(venue, gateway);
        Pair::with(
            core,
            KrakenMock::new(mock, crate::mock::pair::WALL_ORIGIN_NS),
        )
    }
}

/// A running mock venue. Dropping it stops it.
pub struct MockKraken {
    listening: Listening,
    shared: Arc<Shared>,
    rest_port: u16,
    rest: Option<std::thread::JoinHandle<()>>,
}

impl super::MockSettings for MockConfig {
    type Mock = MockKraken;

    fn start_mock(self) -> std::io::Result<MockKraken> {
        MockKraken::start(self)
    }

    fn set_mid(&mut self, mid: Decimal) {
        self.mid = mid;
    }

    fn set_live(&mut self, timing: super::MockTiming, flow: super::FlowConfig) {
        self.timing = timing;
        self.flow = flow;
    }
}

impl MockKraken {
    /// The defaults (BTC/USD around 90,000.0), to change and start:
    /// `MockKraken::builder().mid("95000").start()`.
    pub fn builder() -> super::MockBuilder<MockConfig> {
        super::MockBuilder::new(MockConfig::default())
    }

    /// A ready exchange config: the mock's URL, its CA trusted (TLS
    /// verification stays on).
    pub fn exchange_config(&self) -> orderwire_engine::gateway::ExchangeConfig {
        super::builder::exchange_config(self.url(), &self.ca_file())
    }

    /// A Kraken codec with the mock's token (the Starter tier the mock
    /// enforces by default).
    pub fn venue(&self) -> Kraken {
        Kraken::new(
            Some(orderwire_protocol::secret::Secret::new(self.token())),
            orderwire_protocol::venue::kraken::Tier::Starter,
        )
    }

    /// Listens on a free loopback port.
    pub fn start(config: MockConfig) -> std::io::Result<MockKraken> {
        let wall_origin_ns = super::listener::wall_now_ns();
        let shared = Arc::new(Shared::new(config, wall_origin_ns));
        let running = shared.clone();
        let counting = shared.clone();
        let serving = shared.clone();
        let listening = Listening::start(
            "mock-kraken",
            &shared.live,
            move || !running.stop.load(Ordering::Relaxed),
            move || counting.stats.lock().connections += 1,
            move |stream, id| {
                let shared = serving.clone();
                conn::serve(stream, shared, id);
            },
        )?;
        super::flow::spawn("mock-kraken-flow", shared.config.flow, shared.clone())?;
        let answering = shared.clone();
        let stopping = shared.clone();
        let (rest_port, rest) = super::rest::serve(
            "mock-kraken-rest",
            move || !stopping.stop.load(Ordering::Relaxed),
            move |request| answering.answer_rest(request),
        )?;
        Ok(MockKraken {
            listening,
            shared,
            rest_port,
            rest: Some(rest),
        })
    }

    /// `http://127.0.0.1:<port>`: the REST endpoint that issues WebSocket
    /// tokens (`POST /0/private/GetWebSocketsToken`).
    pub fn rest_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rest_port)
    }

    /// The API key and secret its REST endpoint takes.
    pub fn api_credentials(&self) -> (&str, &str) {
        (&self.shared.config.api_key, &self.shared.config.api_secret)
    }

    /// `wss://localhost:<port>/v2`.
    pub fn url(&self) -> String {
        self.listening.url("/v2")
    }

    /// The CA that signed the mock's certificate (for
    /// `TlsConfig::with_extra_ca_file`).
    pub fn ca_file(&self) -> PathBuf {
        self.listening.ca_file()
    }

    /// The token private requests must carry.
    pub fn token(&self) -> &str {
        &self.shared.config.token
    }

    /// Queues a fault.
    pub fn inject(&self, fault: Fault) {
        self.shared.faults.lock().push_back(fault);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }
}

impl Drop for MockKraken {
    fn drop(&mut self) {
        self.listening.stop(&self.shared.stop);
        if let Some(rest) = self.rest.take() {
            let _ = rest.join();
        }
    }
}

impl Shared {
    /// One REST call: `GetWebSocketsToken` with the right `API-Key`, an
    /// `API-Sign` that verifies and a nonce larger than the last, answered
    /// as Kraken documents (`{"error":[],"result":{"token","expires":900}}`);
    /// else Kraken's own error strings.
    fn answer_rest(&self, request: &super::rest::HttpRequest) -> (&'static str, String) {
        use orderwire_protocol::venue::kraken::rest::{WS_TOKEN_PATH, api_sign};
        let refuse = |error: &str| {
            self.stats.lock().rest_refused += 1;
            ("200 OK", format!(r#"{{"error":["{error}"]}}"#))
        };
        if !request.is_post(WS_TOKEN_PATH) {
            return (
                "404 Not Found",
                r#"{"error":["EGeneral:Unknown method"]}"#.to_owned(),
            );
        }
        if request.header("api-key") != Some(self.config.api_key.as_str()) {
            return refuse("EAPI:Invalid key");
        }
        let body = String::from_utf8_lossy(&request.body);
        let Some(nonce) = body
            .split('&')
            .find_map(|pair| pair.strip_prefix("nonce="))
            .filter(|n| !n.is_empty())
        else {
            return refuse("EAPI:Invalid nonce");
        };
        let secret = orderwire_protocol::secret::Secret::new(self.config.api_secret.clone());
        let expected = api_sign(&secret, WS_TOKEN_PATH, nonce, &body).ok();
        if expected.is_none() || request.header("api-sign") != expected.as_deref() {
            return refuse("EAPI:Invalid signature");
        }
        let Ok(nonce) = nonce.parse::<u64>() else {
            return refuse("EAPI:Invalid nonce");
        };
        {
            let mut last = self.last_nonce.lock();
            if nonce <= *last {
                drop(last);
                return refuse("EAPI:Invalid nonce");
            }
            *last = nonce;
        }
        self.stats.lock().tokens_issued += 1;
        (
            "200 OK",
            format!(
                r#"{{"error":[],"result":{{"token":"{}","expires":900}}}}"#,
                self.config.token
            ),
        )
    }
}
