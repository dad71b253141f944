//! A mock Koscom market-data service (../shared/venues/koscom.md;
//! docs/venues/koscom.md lists where it chose): JSON-RPC 2.0 over plain ws
//! on loopback, one sans-IO session per connection, driven over a socket
//! or, in virtual time, by the [`KoscomPair`].
//!
//! - `/ws` (any path but the two below) serves per-symbol data; `/ws_ksp`
//!   and `/ws_kdq` the whole-market feed (arrays of up to 50 trade
//!   records with string values).
//! - `init` first: any other request before it gets an error.
//! - Error 47 (no id, as documented) for a message that is not JSON-RPC;
//!   an error for an unknown code or preset, and for the registration past
//!   the cap.
//! - The subscribe result is `{"message":"ok"}` or the snapshot
//!   (`MockConfig::snapshot_result`); then pushes from the shared matching
//!   engine.
//! - `heartbeat` is answered; a session silent for `silence_drop` is
//!   dropped. `set_mute` stops all answers (a dead link, a silent init).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::koscom::Koscom;
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::listener::Listening;
use super::market::Market;
use super::pair::Pair;
use super::session::{MockSession, MockVenue, Output};

/// What the mock serves.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// How the mock's answers are timed: delay, jitter, stalls
    /// (docs/bench.md). Default: at once.
    pub timing: super::MockTiming,
    /// Other accounts' seeded order flow (super::flow). Default: none.
    pub flow: super::FlowConfig,
    /// The API key `init` must carry.
    pub api_key: String,
    /// Codes, with their mid and tick (KRW), all on KOSPI (`/ws_ksp`).
    pub codes: Vec<(String, Decimal, Decimal)>,
    /// House levels a side.
    pub levels: usize,
    /// Registrations a session may hold (the sandbox: 20).
    pub max_registrations: usize,
    /// The subscribe result: the snapshot (true) or `{"message":"ok"}`.
    pub snapshot_result: bool,
    /// A session silent this long is dropped.
    pub silence_drop: Duration,
    /// How often the whole-market feed sends what changed.
    pub feed_every: Duration,
}

impl Default for MockConfig {
    fn default() -> MockConfig {
        let dec = |text: &str| text.parse().unwrap_or(Decimal::ZERO);
        MockConfig {
            timing: super::MockTiming::default(),
            flow: super::FlowConfig::default(),
            api_key: "mock-koscom-key".to_owned(),
            codes: vec![
                ("005930".into(), dec("73100"), dec("100")),
                ("000660".into(), dec("121500"), dec("500")),
                ("035420".into(), dec("185000"), dec("500")),
            ],
            levels: 10,
            max_registrations: 200,
            snapshot_result: false,
            silence_drop: Duration::from_secs(60),
            feed_every: Duration::from_millis(500),
        }
    }
}

/// What the mock has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Connections accepted.
    pub connections: u64,
    /// `init`s accepted.
    pub inits: u64,
    /// Registrations accepted.
    pub subscribes: u64,
    /// Requests refused before `init`.
    pub before_init: u64,
    /// Error 47s sent.
    pub not_json_rpc: u64,
    /// Registrations refused past the cap.
    pub over_cap: u64,
    /// Heartbeats answered.
    pub heartbeats: u64,
    /// Queries answered.
    pub queries: u64,
    /// Sessions dropped for silence.
    pub silent_drops: u64,
    /// Pushes sent.
    pub pushes: u64,
    /// Whole-market messages sent.
    pub feed_messages: u64,
}

pub(crate) struct Shared {
    /// Its timing, and the connections asleep in their readiness wait.
    pub(crate) live: Arc<super::live::Live>,
    config: MockConfig,
    market: Mutex<Market>,
    stats: Mutex<MockStats>,
    mute: AtomicBool,
    drops: AtomicU64,
    stop: AtomicBool,
    origin: std::time::Instant,
    wall_origin_ms: u64,
}

/// The order flow's size unit on this mock.
fn flow_unit() -> Decimal {
    "1".parse().unwrap_or(Decimal::ZERO)
}

impl super::flow::FlowVenue for Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn now(&self) -> Instant {
        Shared::now(self)
    }

    fn act(&self, now: Instant, action: super::flow::FlowAction) {
        if let Some((market, _, _)) = self.config.codes.first() {
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
        let market = Market::with_level_qty(
            &config.codes,
            config.levels,
            Decimal::new(100, 0).unwrap_or(Decimal::ZERO),
        );
        Shared {
            live: super::live::Live::new(&config.timing),
            config,
            market: Mutex::new(market),
            stats: Mutex::new(MockStats::default()),
            mute: AtomicBool::new(false),
            drops: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            origin: std::time::Instant::now(),
            wall_origin_ms,
        }
    }

    fn now(&self) -> Instant {
        Instant(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// `HHMMSShh`, KST, of wall-clock `ms`.
    fn trd_tm(ms: u64) -> String {
        let (_, time) = super::kis::Shared::kst(ms);
        format!("{time}{:02}", ms % 1000 / 10)
    }

    fn house_trade(&self, now: Instant, code: &str, side: Side, qty: Decimal) {
        let ms = self.wall_origin_ms + now.as_nanos() / 1_000_000;
        self.market
            .lock()
            .house_trade(now.as_nanos(), ms, code, side, qty);
    }
}

/// A decimal as a JSON number written with its own digits (`73100`, not
/// `73100.0`).
fn number(value: &Decimal) -> Value {
    serde_json::from_str(&value.to_string()).unwrap_or(Value::Null)
}

/// One Koscom connection, sans-IO.
pub struct Session {
    shared: Arc<Shared>,
    now: Instant,
    out: VecDeque<Output>,
    /// The whole-market feed rather than per-symbol data.
    feed: bool,
    inited: bool,
    /// (preset, code, request id).
    registrations: Vec<(String, String, Value)>,
    tape_sent: usize,
    books_sent: HashMap<String, u64>,
    last_heard: Instant,
    next_feed: Instant,
    drops_seen: u64,
    ended: bool,
}

impl Session {
    fn open(shared: Arc<Shared>, now: Instant, feed: bool) -> Session {
        let tape_sent = shared.market.lock().tape.len();
        let drops_seen = shared.drops.load(Ordering::Relaxed);
        let next_feed = now + shared.config.feed_every;
        Session {
            shared,
            now,
            out: VecDeque::new(),
            feed,
            inited: false,
            registrations: Vec::new(),
            tape_sent,
            books_sent: HashMap::new(),
            last_heard: now,
            next_feed,
            drops_seen,
            ended: false,
        }
    }

    fn send(&mut self, value: &Value) {
        self.out.push_back(Output::Text(value.to_string()));
    }

    fn result(&mut self, id: &Value, result: Value) {
        self.send(&json!({"jsonrpc":"2.0","id":id,"result":result}));
    }

    fn error(&mut self, id: Option<&Value>, code: i64, message: &str) {
        let mut value = json!({"jsonrpc":"2.0","error":{"message":message,"code":code}});
        if let Some(id) = id {
            value["id"] = id.clone();
        }
        self.send(&value);
    }

    fn wall_ms(&self) -> u64 {
        self.shared.wall_origin_ms + self.now.as_nanos() / 1_000_000
    }

    /// A code's current state as a preset's fields.
    fn snapshot(&self, preset: &str, code: &str) -> Value {
        let market = self.shared.market.lock();
        let mut value = json!({"isuSrtCd": code});
        if preset.starts_with("quote") {
            let depth = if preset == "quote10" { 10 } else { 1 };
            for (n, (price, qty)) in market.top(code, Side::Sell, depth).iter().enumerate() {
                value[format!("askStep{}BstordPrc", n + 1)] = number(price);
                value[format!("askStep{}BstordRqty", n + 1)] = number(qty);
            }
            for (n, (price, qty)) in market.top(code, Side::Buy, depth).iter().enumerate() {
                value[format!("bidStep{}BstordPrc", n + 1)] = number(price);
                value[format!("bidStep{}BstordRqty", n + 1)] = number(qty);
            }
        } else {
            let last = market.last_price(code);
            value["trdPrc"] = number(&last);
            value["trdvol"] = json!(0);
            value["trdTm"] = json!(Shared::trd_tm(self.wall_ms()));
            value["mkStatTpCd"] = json!(1);
        }
        value
    }

    fn request(&mut self, message: &Value) {
        let id = message.get("id").cloned();
        let (Some(method), Some("2.0"), Some(id)) = (
            message["method"].as_str(),
            message["jsonrpc"].as_str(),
            id.as_ref(),
        ) else {
            // Not a JSON-RPC request: 47, with no id (as documented).
            self.shared.stats.lock().not_json_rpc += 1;
            self.error(None, 47, "정상적인 JSON-RPC 형식이 아닙니다");
            return;
        };
        let id = id.clone();
        let params = &message["params"];
        if method == "init" {
            if params["key"].as_str() == Some(self.shared.config.api_key.as_str()) {
                self.inited = true;
                self.shared.stats.lock().inits += 1;
                self.result(&id, json!({"message":"ok"}));
            } else {
                self.error(Some(&id), 401, "Invalid authentication credentials");
            }
            return;
        }
        if !self.inited {
            self.shared.stats.lock().before_init += 1;
            self.error(Some(&id), 40, "init first");
            return;
        }
        let preset = params["preset"].as_str().unwrap_or_default().to_owned();
        let code = params["isuSrtCd"].as_str().unwrap_or_default().to_owned();
        let known_code = self.shared.config.codes.iter().any(|(c, _, _)| *c == code);
        match method {
            "heartbeat" => {
                self.shared.stats.lock().heartbeats += 1;
                self.result(&id, json!({"message":"ok"}));
            }
            "subscribe" => {
                let presets = ["tick", "quote", "tick10", "quote10", "index", "change"];
                if !presets.contains(&preset.as_str()) {
                    self.error(Some(&id), 10001, "unknown preset");
                } else if !known_code {
                    self.error(Some(&id), 10040, "종목코드가 존재 하지 않습니다");
                } else if self.registrations.len() >= self.shared.config.max_registrations {
                    self.shared.stats.lock().over_cap += 1;
                    self.error(Some(&id), 20056, "생성 가능한 종목수를 초과하였습니다");
                } else {
                    self.shared.stats.lock().subscribes += 1;
                    let result = if self.shared.config.snapshot_result {
                        self.snapshot(&preset, &code)
                    } else {
                        json!({"message":"ok"})
                    };
                    self.result(&id, result);
                    self.books_sent.remove(&code);
                    self.registrations.push((preset, code, id));
                }
            }
            "unsubscribe" => {
                if preset.is_empty() {
                    self.registrations.retain(|(_, _, by)| *by != id);
                } else {
                    self.registrations
                        .retain(|(p, c, _)| !(*p == preset && *c == code));
                }
                self.result(&id, json!({"message":"ok"}));
            }
            "query" if known_code => {
                self.shared.stats.lock().queries += 1;
                let preset = if preset.is_empty() {
                    "quote10".to_owned()
                } else {
                    preset
                };
                let snapshot = self.snapshot(&preset, &code);
                self.result(&id, snapshot);
            }
            "query" => self.error(Some(&id), 10040, "종목코드가 존재 하지 않습니다"),
            _ => self.error(Some(&id), 47, "정상적인 JSON-RPC 형식이 아닙니다"),
        }
    }

    fn push_data(&mut self) {
        let (prints, total) = {
            let market = self.shared.market.lock();
            (
                market
                    .tape
                    .iter()
                    .skip(self.tape_sent)
                    .cloned()
                    .collect::<Vec<_>>(),
                market.tape.len(),
            )
        };
        self.tape_sent = total;
        for print in prints {
            let presets: Vec<String> = self
                .registrations
                .iter()
                .filter(|(p, c, _)| {
                    *c == print.market && (p == "tick" || p == "tick10" || p == "change")
                })
                .map(|(p, _, _)| p.clone())
                .collect();
            let cumulative = self
                .shared
                .market
                .lock()
                .tape
                .iter()
                .filter(|p| p.market == print.market && p.id <= print.id)
                .fold(Decimal::ZERO, |sum, p| {
                    sum.checked_add(p.qty).unwrap_or(sum)
                });
            for preset in presets {
                let mut params = json!({
                    "preset": preset,
                    "isuSrtCd": print.market,
                    "trdPrc": number(&print.price),
                    "trdvol": number(&print.qty),
                    "accTrdvol": number(&cumulative),
                    "trdTm": Shared::trd_tm(print.ts_ms),
                });
                if preset == "tick10" {
                    params["lstAskbidTpCd"] = json!(if print.taker == Side::Buy { 2 } else { 1 });
                }
                self.shared.stats.lock().pushes += 1;
                self.send(&json!({"jsonrpc":"2.0","method":"push","params":params}));
            }
        }
        let quotes: Vec<(String, String)> = self
            .registrations
            .iter()
            .filter(|(p, _, _)| p.starts_with("quote"))
            .map(|(p, c, _)| (p.clone(), c.clone()))
            .collect();
        for (preset, code) in quotes {
            let version = self.shared.market.lock().version(&code);
            if self.books_sent.get(&code) == Some(&version) {
                continue;
            }
            self.books_sent.insert(code.clone(), version);
            let mut params = self.snapshot(&preset, &code);
            params["preset"] = json!(preset);
            self.shared.stats.lock().pushes += 1;
            self.send(&json!({"jsonrpc":"2.0","method":"push","params":params}));
        }
    }

    fn push_feed(&mut self) {
        let (prints, total) = {
            let market = self.shared.market.lock();
            (
                market
                    .tape
                    .iter()
                    .skip(self.tape_sent)
                    .cloned()
                    .collect::<Vec<_>>(),
                market.tape.len(),
            )
        };
        self.tape_sent = total;
        for chunk in prints.chunks(50) {
            let records: Vec<Value> = chunk
                .iter()
                .map(|p| {
                    json!({
                        "isuSrtCd": p.market,
                        "trdPrc": p.price.to_string(),
                        "trdVol": p.qty.to_string(),
                        "trdTm": Shared::trd_tm(p.ts_ms),
                    })
                })
                .collect();
            self.shared.stats.lock().feed_messages += 1;
            self.send(&Value::Array(records));
        }
    }

    fn end(&mut self) {
        self.ended = true;
        self.out.push_back(Output::Drop);
    }
}

impl MockSession for Session {
    fn handle_text(&mut self, now: Instant, text: &str) {
        self.now = now;
        if self.shared.mute.load(Ordering::Relaxed) {
            return;
        }
        self.last_heard = now;
        match serde_json::from_str::<Value>(text) {
            Ok(message) => self.request(&message),
            Err(_) => {
                self.shared.stats.lock().not_json_rpc += 1;
                self.error(None, 47, "정상적인 JSON-RPC 형식이 아닙니다");
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        self.now = now;
        if self.shared.drops.load(Ordering::Relaxed) != self.drops_seen {
            return self.end();
        }
        if now >= self.last_heard + self.shared.config.silence_drop {
            self.shared.stats.lock().silent_drops += 1;
            return self.end();
        }
        if !self.inited || self.shared.mute.load(Ordering::Relaxed) {
            return;
        }
        if self.feed {
            if now >= self.next_feed {
                self.push_feed();
                self.next_feed = now + self.shared.config.feed_every;
            }
        } else {
            self.push_data();
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let tick = self.now + Duration::from_millis(5);
        Some(tick.min(self.last_heard + self.shared.config.silence_drop))
    }

    fn is_ended(&self) -> bool {
        self.ended
    }
}

/// The mock in virtual time, for the [`KoscomPair`].
pub struct KoscomMock {
    shared: Arc<Shared>,
    path: Mutex<String>,
}

impl KoscomMock {
    /// A mock serving `config`, whose clock's zero is the wall time
    /// `wall_origin_ms`.
    pub fn new(config: MockConfig, wall_origin_ms: u64) -> KoscomMock {
        KoscomMock {
            shared: Arc::new(Shared::new(config, wall_origin_ms)),
            path: Mutex::new(String::new()),
        }
    }

    /// Another account trades against the house book.
    pub fn house_trade(&self, now: Instant, code: &str, side: Side, qty: Decimal) {
        self.shared.house_trade(now, code, side, qty);
    }

    /// Stops (or resumes) answering anything: a dead link, a silent init.
    pub fn set_mute(&self, mute: bool) {
        self.shared.mute.store(mute, Ordering::Relaxed);
    }

    /// Drops every connection open now.
    pub fn drop_connections(&self) {
        self.shared.drops.fetch_add(1, Ordering::Relaxed);
    }

    /// A session of the mock outside any pair.
    pub fn session(&self, now: Instant) -> Session {
        Session::open(self.shared.clone(), now, false)
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }
}

fn is_feed(path: &str) -> bool {
    path.trim_end_matches('/').ends_with("/ws_ksp")
        || path.trim_end_matches('/').ends_with("/ws_kdq")
}

impl MockVenue for KoscomMock {
    type Session = Session;

    fn accept(
        &self,
        _now: Instant,
        path: &str,
        _headers: &[(String, String)],
    ) -> Result<(), super::session::Refusal> {
        *self.path.lock() = path.to_owned();
        Ok(())
    }

    fn open(&self, _id: u64, now: Instant) -> Session {
        self.shared.stats.lock().connections += 1;
        Session::open(self.shared.clone(), now, is_feed(&self.path.lock()))
    }
}

/// The gateway core over Koscom and the mock in virtual time.
pub type KoscomPair = Pair<Koscom, KoscomMock>;

impl KoscomPair {
    /// A pair connected at time zero to `/ws`.
    pub fn new(
        mock: MockConfig,
        venue: Koscom,
        gateway: orderwire_engine::gateway::GatewayConfig,
    ) -> KoscomPair {
        let core = orderwire_engine::gateway::GatewayCore::new(venue, gateway);
        Pair::with_path(
            core,
            KoscomMock::new(
                mock,
                u64::try_from(super::pair::WALL_ORIGIN_NS / 1_000_000).unwrap_or(0),
            ),
            "/ws",
        )
    }
}

/// A running mock Koscom on a loopback port (plain ws). Dropping it stops
/// it.
pub struct MockKoscom {
    listening: Listening,
    shared: Arc<Shared>,
}

impl super::MockSettings for MockConfig {
    type Mock = MockKoscom;

    fn start_mock(self) -> std::io::Result<MockKoscom> {
        MockKoscom::start(self)
    }

    /// The first code's mid.
    fn set_mid(&mut self, mid: Decimal) {
        if let Some(first) = self.codes.first_mut() {
            first.1 = mid;
        }
    }

    fn set_live(&mut self, timing: super::MockTiming, flow: super::FlowConfig) {
        self.timing = timing;
        self.flow = flow;
    }
}

impl MockKoscom {
    /// The defaults, to change and start.
    pub fn builder() -> super::MockBuilder<MockConfig> {
        super::MockBuilder::new(MockConfig::default())
    }

    /// Listens on a free loopback port.
    pub fn start(config: MockConfig) -> std::io::Result<MockKoscom> {
        let wall_origin_ms = u64::try_from(super::listener::wall_now_ns() / 1_000_000).unwrap_or(0);
        let shared = Arc::new(Shared::new(config, wall_origin_ms));
        let (running, counting, serving) = (shared.clone(), shared.clone(), shared.clone());
        let listening = Listening::start_plain(
            "mock-koscom",
            &shared.live,
            move || !running.stop.load(Ordering::Relaxed),
            move || counting.stats.lock().connections += 1,
            move |stream, _id| {
                let shared = serving.clone();
                let path = Arc::new(Mutex::new(String::new()));
                let seen = path.clone();
                super::socket::serve_plain_with_path(
                    stream,
                    &serving.stop,
                    &serving.live,
                    || shared.now(),
                    move |p| *seen.lock() = p.to_owned(),
                    |now| Session::open(shared.clone(), now, is_feed(&path.lock())),
                );
            },
        )?;
        super::flow::spawn("mock-koscom-flow", shared.config.flow, shared.clone())?;
        Ok(MockKoscom { listening, shared })
    }

    /// `ws://127.0.0.1:<port>/ws`: per-symbol data.
    pub fn url(&self) -> String {
        self.listening.plain_url("/ws")
    }

    /// `ws://127.0.0.1:<port>/ws_ksp`: the KOSPI whole-market feed.
    pub fn kospi_feed_url(&self) -> String {
        self.listening.plain_url("/ws_ksp")
    }

    /// Unused: plain ws.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.listening.ca_file()
    }

    /// The API key `init` takes.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// A ready exchange config for `url` (one of the mock's).
    pub fn exchange_config_for(&self, url: String) -> orderwire_engine::gateway::ExchangeConfig {
        orderwire_engine::gateway::ExchangeConfig::new(url)
    }

    /// A ready exchange config for per-symbol data.
    pub fn exchange_config(&self) -> orderwire_engine::gateway::ExchangeConfig {
        self.exchange_config_for(self.url())
    }

    /// A codec with the mock's key.
    pub fn venue(&self) -> Koscom {
        Koscom::new(
            orderwire_protocol::secret::Secret::new(self.api_key()),
            "mock member",
        )
    }

    /// Another account trades against the house book now.
    pub fn house_trade(&self, code: &str, side: Side, qty: Decimal) {
        self.shared.house_trade(self.shared.now(), code, side, qty);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }
}

impl Drop for MockKoscom {
    fn drop(&mut self) {
        self.listening.stop(&self.shared.stop);
    }
}
