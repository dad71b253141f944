//! A mock KIS (../shared/venues/kis.md; docs/venues/kis.md lists where it
//! had to choose): plain `ws://` on loopback, one sans-IO session per
//! connection (`session.rs`), driven over a socket or, in virtual time, by
//! the [`KisPair`].
//!
//! - It checks the approval key and refuses a second session on the same
//!   key with OPSP8996, whose header `tr_id` reads `(null)`.
//! - It holds at most 41 registrations a session (OPSP0008 past that) and
//!   answers a repeated one with ALREADY IN SUBSCRIBE.
//! - Trades and quotes come from the shared matching engine as caret
//!   records, several records per message.
//! - Execution notices follow orders placed through the test hooks (KIS
//!   takes orders over REST), encrypted with the key and iv the mock made
//!   for the subscription and sent in its ack.
//! - It sends PINGPONG every `pingpong_every` and drops a session that
//!   answers with neither a pong frame nor an echo within `pong_timeout`.

mod session;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::kis::Kis;
use parking_lot::Mutex;

use self::session::Session;
use super::listener::Listening;
use super::market::{ACCOUNT, Market};
use super::pair::Pair;
use super::session::MockVenue;

/// What the mock serves.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// How the mock's answers are timed: delay, jitter, stalls
    /// (docs/bench.md). Default: at once.
    pub timing: super::MockTiming,
    /// Other accounts' seeded order flow (super::flow). Default: none.
    pub flow: super::FlowConfig,
    /// The approval key every subscribe must carry.
    pub approval_key: String,
    /// The REST app key and secret that `POST /oauth2/Approval` takes.
    pub app_key: String,
    /// See `app_key`.
    pub app_secret: String,
    /// The HTS user id whose notices H0STCNI0 subscribes.
    pub hts_id: String,
    /// The account number in notices.
    pub account: String,
    /// Stock codes, with their mid price and tick (KRW).
    pub codes: Vec<(String, Decimal, Decimal)>,
    /// House levels each side of each code.
    pub levels: usize,
    /// Registrations one session may hold.
    pub max_registrations: usize,
    /// How often the mock sends PINGPONG.
    pub pingpong_every: Duration,
    /// A session that has not answered a PINGPONG this long is dropped.
    pub pong_timeout: Duration,
    /// Records per realtime message at most.
    pub records_per_message: usize,
}

impl Default for MockConfig {
    fn default() -> MockConfig {
        let dec = |text: &str| text.parse().unwrap_or(Decimal::ZERO);
        MockConfig {
            timing: super::MockTiming::default(),
            flow: super::FlowConfig::default(),
            approval_key: "mock-approval-key-0123456789abcdef".to_owned(),
            app_key: "mock-app-key".to_owned(),
            app_secret: "mock-app-secret".to_owned(),
            hts_id: "mockuser".to_owned(),
            account: "5012345601".to_owned(),
            codes: vec![
                // Samsung Electronics and SK hynix at realistic prices.
                ("005930".into(), dec("73100"), dec("100")),
                ("000660".into(), dec("121500"), dec("500")),
            ],
            levels: 10,
            max_registrations: 41,
            pingpong_every: Duration::from_secs(10),
            pong_timeout: Duration::from_secs(30),
            records_per_message: 4,
        }
    }
}

/// What the mock has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Connections accepted.
    pub connections: u64,
    /// Registrations accepted.
    pub subscribes: u64,
    /// Releases accepted.
    pub releases: u64,
    /// Registrations refused past the cap (OPSP0008).
    pub over_cap: u64,
    /// Repeated registrations (ALREADY IN SUBSCRIBE).
    pub repeats: u64,
    /// Second sessions refused (OPSP8996).
    pub refused_sessions: u64,
    /// Subscribes with a wrong approval key.
    pub bad_keys: u64,
    /// PINGPONGs sent.
    pub pingpongs: u64,
    /// PINGPONGs answered (pong frame or echo).
    pub answered: u64,
    /// Sessions dropped for not answering.
    pub silent_drops: u64,
    /// Realtime messages sent (plain records).
    pub record_messages: u64,
    /// Encrypted notices sent.
    pub notices: u64,
}

/// One execution notice, before encryption (kis.md's 26 fields).
#[derive(Clone, Debug)]
pub(crate) struct Notice {
    pub(crate) fields: Vec<String>,
}

/// What every session of one mock shares.
pub(crate) struct Shared {
    /// Its timing, and the connections asleep in their readiness wait.
    pub(crate) live: Arc<super::live::Live>,
    pub(crate) config: MockConfig,
    pub(crate) market: Mutex<Market>,
    /// The account's notices, in order: sessions send what they have not.
    pub(crate) notices: Mutex<Vec<Notice>>,
    /// Live sessions on the approval key.
    pub(crate) open_sessions: Mutex<u64>,
    pub(crate) stats: Mutex<MockStats>,
    pub(crate) stop: AtomicBool,
    /// Bumped to drop every session open now (a fault for reconnect tests).
    pub(crate) drops: AtomicU64,
    next_order: AtomicU64,
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
        // Whole shares: 100 at each house level.
        let market = Market::with_level_qty(
            &config.codes,
            config.levels,
            Decimal::new(100, 0).unwrap_or(Decimal::ZERO),
        );
        Shared {
            live: super::live::Live::new(&config.timing),
            config,
            market: Mutex::new(market),
            notices: Mutex::new(Vec::new()),
            open_sessions: Mutex::new(0),
            stats: Mutex::new(MockStats::default()),
            stop: AtomicBool::new(false),
            drops: AtomicU64::new(0),
            next_order: AtomicU64::new(12_345),
            origin: std::time::Instant::now(),
            wall_origin_ms,
        }
    }

    pub(crate) fn now(&self) -> Instant {
        Instant(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    pub(crate) fn wall_ms(&self, now: Instant) -> u64 {
        self.wall_origin_ms + now.as_nanos() / 1_000_000
    }

    /// `YYYYMMDD` and `HHMMSS`, KST, of wall-clock `ms`.
    pub(crate) fn kst(ms: u64) -> (String, String) {
        let ns = i64::try_from(ms).unwrap_or(0).saturating_mul(1_000_000) + 9 * 3_600_000_000_000;
        let mut text = Vec::new();
        orderwire_protocol::wallclock::write_rfc3339(ns, 0, &mut text);
        let text = String::from_utf8_lossy(&text).into_owned();
        let digits = |range: std::ops::Range<usize>| text.get(range).unwrap_or("").to_owned();
        (
            format!("{}{}{}", digits(0..4), digits(5..7), digits(8..10)),
            format!("{}{}{}", digits(11..13), digits(14..16), digits(17..19)),
        )
    }

    /// A notice record: `cntg_yn` 1 (an acknowledgement: `qty` and `price`
    /// the order's) or 2 (a fill: the fill's).
    #[allow(clippy::too_many_arguments)]
    fn notice(
        &self,
        now: Instant,
        order: &str,
        original: &str,
        code: &str,
        side: Side,
        rctf: &str,
        cntg_yn: &str,
        qty: Decimal,
        price: Decimal,
        ordered: Decimal,
    ) -> Notice {
        let (_, time) = Shared::kst(self.wall_ms(now));
        let side = match side {
            Side::Sell => "01",
            Side::Buy => "02",
        };
        let fields = vec![
            self.config.hts_id.clone(),
            self.config.account.clone(),
            order.to_owned(),
            original.to_owned(),
            side.to_owned(),
            rctf.to_owned(),
            "00".to_owned(),
            "0".to_owned(),
            code.to_owned(),
            qty.to_string(),
            price.to_string(),
            time,
            "0".to_owned(),
            cntg_yn.to_owned(),
            "2".to_owned(),
            "01234".to_owned(),
            ordered.to_string(),
            "MOCK".to_owned(),
            "0".to_owned(),
            "1".to_owned(),
            "N".to_owned(),
            String::new(),
            "10".to_owned(),
            String::new(),
            code.to_owned(),
            price.to_string(),
        ];
        Notice { fields }
    }

    /// The account's limit order over REST: its acknowledgement, then a
    /// fill notice per execution. Returns its order number.
    pub(crate) fn place(
        &self,
        now: Instant,
        code: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
    ) -> Result<String, &'static str> {
        let order = format!("{:010}", self.next_order.fetch_add(1, Ordering::Relaxed));
        let outcome = self
            .market
            .lock()
            .place(
                now.as_nanos(),
                self.wall_ms(now),
                code,
                side,
                price,
                qty,
                &order,
            )
            .map_err(|_| "refused")?;
        let mut notices = self.notices.lock();
        notices.push(self.notice(now, &order, "", code, side, "0", "1", qty, price, qty));
        for execution in &outcome.executions {
            notices.push(self.notice(
                now,
                &order,
                "",
                code,
                side,
                "0",
                "2",
                execution.qty,
                execution.price,
                qty,
            ));
        }
        Ok(order)
    }

    /// Another account trades `qty` against the house book: public trades,
    /// a book change, and fill notices where it takes the account's order.
    pub(crate) fn house_trade(&self, now: Instant, code: &str, side: Side, qty: Decimal) {
        let executions =
            self.market
                .lock()
                .house_trade(now.as_nanos(), self.wall_ms(now), code, side, qty);
        let mut notices = self.notices.lock();
        for execution in executions.iter().filter(|e| e.maker.owner == Some(ACCOUNT)) {
            notices.push(self.notice(
                now,
                &execution.maker.cl_ord_id,
                "",
                code,
                execution.maker.side,
                "0",
                "2",
                execution.qty,
                execution.price,
                execution.maker.qty,
            ));
        }
    }

    /// Cancels the account's resting order `order`: a cancel notice (a new
    /// order number naming the original).
    pub(crate) fn cancel(&self, now: Instant, code: &str, order: &str) -> Result<(), &'static str> {
        let canceled = self
            .market
            .lock()
            .cancel(code, order)
            .ok_or("no such open order")?;
        let number = format!("{:010}", self.next_order.fetch_add(1, Ordering::Relaxed));
        let left = canceled
            .qty
            .checked_sub(canceled.filled)
            .unwrap_or(Decimal::ZERO);
        let notice = self.notice(
            now,
            &number,
            order,
            code,
            canceled.side,
            "2",
            "1",
            left,
            canceled.price,
            left,
        );
        self.notices.lock().push(notice);
        Ok(())
    }
}

/// The mock in virtual time, for the [`KisPair`].
pub struct KisMock {
    shared: Arc<Shared>,
}

impl KisMock {
    /// A mock serving `config`, whose clock's zero is the wall time
    /// `wall_origin_ms`.
    pub fn new(config: MockConfig, wall_origin_ms: u64) -> KisMock {
        KisMock {
            shared: Arc::new(Shared::new(config, wall_origin_ms)),
        }
    }

    /// Places an order for the account at `now` (the REST call): its
    /// order number.
    pub fn place(
        &self,
        now: Instant,
        code: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
    ) -> Result<String, &'static str> {
        self.shared.place(now, code, side, price, qty)
    }

    /// Another account trades against the house book.
    pub fn house_trade(&self, now: Instant, code: &str, side: Side, qty: Decimal) {
        self.shared.house_trade(now, code, side, qty);
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }

    /// Drops every connection open now, without a close frame (at each
    /// session's next timer).
    pub fn drop_connections(&self) {
        self.shared.drops.fetch_add(1, Ordering::Relaxed);
    }

    /// A session of the mock outside any pair (a second client on the
    /// same key, say).
    pub fn session(&self, id: u64, now: Instant) -> Session {
        self.open(id, now)
    }
}

impl MockVenue for KisMock {
    type Session = Session;

    fn open(&self, id: u64, now: Instant) -> Session {
        self.shared.stats.lock().connections += 1;
        Session::open(self.shared.clone(), id, now)
    }
}

/// The gateway core over KIS and the mock in virtual time.
pub type KisPair = Pair<Kis, KisMock>;

impl KisPair {
    /// A pair connected at time zero.
    pub fn new(
        mock: MockConfig,
        venue: Kis,
        gateway: orderwire_engine::gateway::GatewayConfig,
    ) -> KisPair {
        let core = orderwire_engine::gateway::GatewayCore::new(venue, gateway);
        Pair::with(
            core,
            KisMock::new(
                mock,
                u64::try_from(super::pair::WALL_ORIGIN_NS / 1_000_000).unwrap_or(0),
            ),
        )
    }
}

/// A running mock KIS on a loopback port. Dropping it stops it.
pub struct MockKis {
    listening: Listening,
    shared: Arc<Shared>,
    rest_port: u16,
    rest: Option<std::thread::JoinHandle<()>>,
}

impl super::MockSettings for MockConfig {
    type Mock = MockKis;

    fn start_mock(self) -> std::io::Result<MockKis> {
        MockKis::start(self)
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

impl MockKis {
    /// The defaults, to change and start.
    pub fn builder() -> super::MockBuilder<MockConfig> {
        super::MockBuilder::new(MockConfig::default())
    }

    /// Listens on a free loopback port (plain ws, as KIS serves it).
    pub fn start(config: MockConfig) -> std::io::Result<MockKis> {
        let wall_origin_ms = u64::try_from(super::listener::wall_now_ns() / 1_000_000).unwrap_or(0);
        let shared = Arc::new(Shared::new(config, wall_origin_ms));
        let (running, counting, serving) = (shared.clone(), shared.clone(), shared.clone());
        let listening = Listening::start_plain(
            "mock-kis",
            &shared.live,
            move || !running.stop.load(Ordering::Relaxed),
            move || counting.stats.lock().connections += 1,
            move |stream, id| {
                let shared = serving.clone();
                super::socket::serve_plain(
                    stream,
                    &serving.stop,
                    &serving.live,
                    || shared.now(),
                    |now| Session::open(shared.clone(), id, now),
                );
            },
        )?;
        super::flow::spawn("mock-kis-flow", shared.config.flow, shared.clone())?;
        let answering = shared.clone();
        let stopping = shared.clone();
        let (rest_port, rest) = super::rest::serve(
            "mock-kis-rest",
            move || !stopping.stop.load(Ordering::Relaxed),
            move |request| answer_approval(request, &answering.config),
        )?;
        Ok(MockKis {
            listening,
            shared,
            rest_port,
            rest: Some(rest),
        })
    }

    /// `http://127.0.0.1:<port>`: the REST endpoint that issues approval
    /// keys (`POST /oauth2/Approval`).
    pub fn rest_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rest_port)
    }

    /// `ws://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.listening.plain_url("")
    }

    /// Unused: the mock serves plain ws (kept so every mock answers the
    /// same questions).
    pub fn ca_file(&self) -> PathBuf {
        self.listening.ca_file()
    }

    /// The approval key the mock takes.
    pub fn approval_key(&self) -> &str {
        &self.shared.config.approval_key
    }

    /// The HTS id notices are for.
    pub fn hts_id(&self) -> &str {
        &self.shared.config.hts_id
    }

    /// A ready exchange config (the mock's URL).
    pub fn exchange_config(&self) -> orderwire_engine::gateway::ExchangeConfig {
        orderwire_engine::gateway::ExchangeConfig::new(self.url())
    }

    /// A KIS codec with the mock's approval key and HTS id.
    pub fn venue(&self) -> Kis {
        Kis::new(orderwire_protocol::secret::Secret::new(self.approval_key()))
            .with_hts_id(self.hts_id())
    }

    /// Places an order for the account now (the REST call): its order
    /// number.
    pub fn place(
        &self,
        code: &str,
        side: Side,
        price: Decimal,
        qty: Decimal,
    ) -> Result<String, &'static str> {
        let result = self.shared.place(self.shared.now(), code, side, price, qty);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
        result
    }

    /// Cancels the account's resting order now.
    pub fn cancel(&self, code: &str, order: &str) -> Result<(), &'static str> {
        let result = self.shared.cancel(self.shared.now(), code, order);
        // Connections asleep in their readiness wait look again.
        self.shared.live.wake_all();
        result
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

impl Drop for MockKis {
    fn drop(&mut self) {
        self.listening.stop(&self.shared.stop);
        if let Some(rest) = self.rest.take() {
            let _ = rest.join();
        }
    }
}

/// One `POST /oauth2/Approval`: the key for the right app key and secret,
/// else 403 (the mock's words; docs/venues/kis.md).
fn answer_approval(
    request: &super::rest::HttpRequest,
    config: &MockConfig,
) -> (&'static str, String) {
    let value: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    if !request.is_post("/oauth2/Approval") {
        (
            "404 Not Found",
            r#"{"error_description":"no such path"}"#.to_owned(),
        )
    } else if value["grant_type"] == "client_credentials"
        && value["appkey"] == config.app_key.as_str()
        && value["secretkey"] == config.app_secret.as_str()
    {
        (
            "200 OK",
            format!(r#"{{"approval_key":"{}"}}"#, config.approval_key),
        )
    } else {
        (
            "403 Forbidden",
            r#"{"error_code":"EGW00103","error_description":"유효하지 않은 AppKey입니다."}"#
                .to_owned(),
        )
    }
}
