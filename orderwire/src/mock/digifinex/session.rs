//! One DigiFinex connection, sans-IO: requests and time in, text replies
//! and zlib data frames out. The socket driver ([`serve`]) and the
//! virtual-time `Pair` run it alike.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::Arc;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;
use serde_json::Value;

use super::wire::{self, TickerFigures};
use super::{BookView, Fault, Shared};
use crate::mock::session::{MockSession, Output};
use crate::mock::socket::{Socket, serve_plain};

/// A channel a client subscribes to by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Channel {
    Trades,
    Depth,
    Ticker,
    AllTicker,
    Order,
    /// Trigger orders: accepted, and silent (the mock's matching engine
    /// has no trigger orders).
    OrderAlgo,
    Balance,
}

impl Channel {
    fn parse(name: &str) -> Option<Channel> {
        Some(match name {
            "trades" => Channel::Trades,
            "depth" => Channel::Depth,
            "ticker" => Channel::Ticker,
            "all_ticker" => Channel::AllTicker,
            "order" => Channel::Order,
            "order_algo" => Channel::OrderAlgo,
            "balance" => Channel::Balance,
            _ => return None,
        })
    }

    fn private(self) -> bool {
        matches!(self, Channel::Order | Channel::OrderAlgo | Channel::Balance)
    }
}

/// One DigiFinex connection.
pub struct Session {
    shared: Arc<Shared>,
    now: Instant,
    opened: Instant,
    last_heard: Instant,
    authed: bool,
    /// Subscribed symbols (currencies for balance) by channel; a second
    /// subscribe adds to them (the mock's choice).
    subs: HashMap<Channel, Vec<String>>,
    all_ticker: bool,
    /// The depth last sent per market, to send only what changed.
    views: HashMap<String, (BookView, u64)>,
    tape_seen: usize,
    orders_seen: usize,
    balances_seen: usize,
    faults_seen: usize,
    out: VecDeque<Output>,
    ended: bool,
}

impl Session {
    /// A connection opened at `now`.
    pub(crate) fn open(shared: Arc<Shared>, now: Instant) -> Session {
        shared.stats.lock().connections += 1;
        let tape_seen = shared.market.lock().tape.len();
        let orders_seen = shared.orders.lock().len();
        let balances_seen = shared.balance_log.lock().len();
        let faults_seen = shared.faults.lock().len();
        Session {
            shared,
            now,
            opened: now,
            last_heard: now,
            authed: false,
            subs: HashMap::new(),
            all_ticker: false,
            views: HashMap::new(),
            tape_seen,
            orders_seen,
            balances_seen,
            faults_seen,
            out: VecDeque::new(),
            ended: false,
        }
    }

    /// A reply: text, or zlib when the mock is set to compress them.
    fn reply(&mut self, text: String) {
        if self.shared.config.compress_replies {
            self.out.push_back(Output::Binary(wire::zlib(&text)));
        } else {
            self.out.push_back(Output::Text(text));
        }
    }

    fn error(&mut self, id: Option<u64>, message: &str) {
        self.shared.stats.lock().errors += 1;
        self.reply(wire::error(id, message));
    }

    /// A data push: zlib in a binary frame.
    fn push(&mut self, text: &str) {
        self.out.push_back(Output::Binary(wire::zlib(text)));
    }

    fn request(&mut self, text: &str) {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return self.error(None, "request is not JSON");
        };
        let id = value.get("id").and_then(Value::as_u64);
        let Some(method) = value.get("method").and_then(Value::as_str) else {
            return self.error(id, "method is required");
        };
        // params: a list of strings; absent is an empty list (the v3
        // page's all_ticker example omits it).
        let params: Option<Vec<String>> = match value.get("params") {
            None => Some(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(_) => None,
        };
        let Some(params) = params else {
            return self.error(id, "params is a list of strings");
        };
        match method {
            "server.ping" => {
                self.shared.stats.lock().pings += 1;
                self.reply(wire::reply(id, r#""pong""#));
            }
            "server.time" => {
                let seconds = self.shared.wall_ms(self.now) / 1_000;
                self.reply(wire::reply(id, &seconds.to_string()));
            }
            "server.auth" => self.auth(id, &params),
            _ => {
                let channel = method
                    .rsplit_once('.')
                    .and_then(|(channel, verb)| Some((Channel::parse(channel)?, verb)));
                match channel {
                    Some((channel, "subscribe")) => self.subscribe(id, channel, params),
                    Some((channel, "unsubscribe")) => self.unsubscribe(id, channel, &params),
                    _ => self.error(id, "method not found"),
                }
            }
        }
    }

    /// `[apikey, timestamp_ms, base64(HMAC-SHA256(secret, timestamp_ms))]`.
    fn auth(&mut self, id: Option<u64>, params: &[String]) {
        let [key, timestamp, signature] = params else {
            self.shared.stats.lock().auth_failures += 1;
            return self.error(id, "params: apikey, timestamp, sign");
        };
        let config = &self.shared.config;
        let expected = Hmac::<sha2::Sha256>::new_from_slice(config.api_secret.as_bytes())
            .map(|mut mac| {
                mac.update(timestamp.as_bytes());
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            })
            .unwrap_or_default();
        if *key != config.api_key || *signature != expected {
            self.shared.stats.lock().auth_failures += 1;
            return self.error(id, "invalid apikey or signature");
        }
        let now_ms = self.shared.wall_ms(self.now);
        let fresh = timestamp.parse::<u64>().is_ok_and(|ts| {
            ts.abs_diff(now_ms) <= u64::try_from(config.auth_window.as_millis()).unwrap_or(0)
        });
        if !fresh {
            self.shared.stats.lock().auth_failures += 1;
            return self.error(id, "timestamp expired");
        }
        self.shared.stats.lock().auths += 1;
        self.authed = true;
        self.reply(wire::success(id));
    }

    fn subscribe(&mut self, id: Option<u64>, channel: Channel, params: Vec<String>) {
        if channel.private() && !self.authed {
            return self.error(id, "server.auth first");
        }
        if channel == Channel::AllTicker {
            self.shared.stats.lock().subscribes += 1;
            self.all_ticker = true;
            self.reply(wire::success(id));
            let figures: Vec<TickerFigures> = self
                .shared
                .config
                .markets
                .iter()
                .map(|(m, _, _)| self.ticker_figures(m))
                .collect();
            return self.push(&wire::ticker("all_ticker.update", &figures));
        }
        if params.is_empty() {
            return self.error(id, "params: symbols");
        }
        let known = |name: &String| match channel {
            Channel::Balance => self.shared.knows_currency(name),
            _ => self.shared.serves(name),
        };
        if let Some(unknown) = params.iter().find(|p| !known(p)) {
            let message = format!("unknown symbol {unknown}");
            return self.error(id, &message);
        }
        self.shared.stats.lock().subscribes += 1;
        self.reply(wire::success(id));
        let list = self.subs.entry(channel).or_default();
        let added: Vec<String> = params.into_iter().filter(|p| !list.contains(p)).collect();
        list.extend(added.iter().cloned());
        // What a new subscription starts with (order and balance: nothing
        // until something changes).
        for market in &added {
            match channel {
                Channel::Trades => self.recent_trades(market),
                Channel::Depth => self.clean_depth(market),
                Channel::Ticker => {
                    let figures = self.ticker_figures(market);
                    self.push(&wire::ticker("ticker.update", &[figures]));
                }
                _ => {}
            }
        }
    }

    /// A list, or `[]` for every subscription of the channel.
    fn unsubscribe(&mut self, id: Option<u64>, channel: Channel, params: &[String]) {
        if channel == Channel::AllTicker {
            self.all_ticker = false;
        } else if params.is_empty() {
            self.subs.remove(&channel);
        } else if let Some(list) = self.subs.get_mut(&channel) {
            list.retain(|s| !params.contains(s));
        }
        if channel == Channel::Depth {
            let subscribed = self.subs.get(&Channel::Depth).cloned().unwrap_or_default();
            self.views.retain(|market, _| subscribed.contains(market));
        }
        self.reply(wire::success(id));
    }

    fn subscribed(&self, channel: Channel, name: &str) -> bool {
        self.subs
            .get(&channel)
            .is_some_and(|list| list.iter().any(|s| s == name))
    }

    /// The clean trades push: the last trades, newest first.
    fn recent_trades(&mut self, market: &str) {
        let text = {
            let book = self.shared.market.lock();
            let mut mine: Vec<_> = book.tape.iter().filter(|p| p.market == market).collect();
            let skip = mine.len().saturating_sub(self.shared.config.recent_trades);
            mine.drain(..skip);
            wire::trades(true, market, &mine)
        };
        self.push(&text);
    }

    /// The clean snapshot that starts (or restarts) a book.
    fn clean_depth(&mut self, market: &str) {
        let depth = self.shared.config.depth_levels;
        let (view, version) = self.shared.book_and_version(market, depth);
        if self.shared.config.incremental_before_clean {
            // An update racing the snapshot: the best bid's level, as it
            // stood.
            let bids: Vec<_> = view.bids.iter().take(1).copied().collect();
            self.shared.stats.lock().increments += 1;
            self.push(&wire::depth(false, market, &[], &bids));
        }
        self.shared.stats.lock().snapshots += 1;
        self.push(&wire::depth(true, market, &view.asks, &view.bids));
        self.views.insert(market.to_owned(), (view, version));
    }

    fn ticker_figures(&self, market: &str) -> TickerFigures {
        let view = self.shared.book(market, 1);
        let book = self.shared.market.lock();
        let none = (Decimal::ZERO, Decimal::ZERO);
        TickerFigures {
            market: market.to_owned(),
            last: book.last_price(market),
            volume: book.volume(market),
            best_bid: view.bids.first().copied().unwrap_or(none),
            best_ask: view.asks.first().copied().unwrap_or(none),
            ts_ms: self.shared.wall_ms(self.now),
        }
    }

    /// What happened since the last look, to the channels that want it.
    fn publish(&mut self) {
        let prints: Vec<_> = self.shared.market.lock().tape[self.tape_seen..].to_vec();
        self.tape_seen += prints.len();
        let mut traded: Vec<String> = Vec::new();
        for print in &prints {
            if !traded.contains(&print.market) {
                traded.push(print.market.clone());
            }
        }
        for market in &traded {
            if self.subscribed(Channel::Trades, market) {
                let mine: Vec<_> = prints.iter().filter(|p| &p.market == market).collect();
                self.push(&wire::trades(false, market, &mine));
            }
            if self.subscribed(Channel::Ticker, market) {
                let figures = self.ticker_figures(market);
                self.push(&wire::ticker("ticker.update", &[figures]));
            }
        }
        if self.all_ticker && !traded.is_empty() {
            let figures: Vec<_> = traded.iter().map(|m| self.ticker_figures(m)).collect();
            self.push(&wire::ticker("all_ticker.update", &figures));
        }
        self.publish_depth();
        if self.authed {
            self.publish_private();
        }
        let faults: Vec<Fault> = self.shared.faults.lock()[self.faults_seen..].to_vec();
        self.faults_seen += faults.len();
        for fault in faults {
            self.shared.stats.lock().faults += 1;
            self.out.push_back(Output::Binary(fault_frame(fault)));
        }
    }

    /// Incremental depth: the levels whose amount changed, amount `0` for
    /// a level gone from the top `depth_levels`.
    fn publish_depth(&mut self) {
        let markets: Vec<String> = self.views.keys().cloned().collect();
        for market in markets {
            let version = self.shared.market.lock().version(&market);
            let Some((old, seen)) = self.views.get(&market).cloned() else {
                continue;
            };
            if version == seen {
                continue;
            }
            let (new, version) = self
                .shared
                .book_and_version(&market, self.shared.config.depth_levels);
            let asks = changes(&old.asks, &new.asks);
            let bids = changes(&old.bids, &new.bids);
            if !asks.is_empty() || !bids.is_empty() {
                self.shared.stats.lock().increments += 1;
                self.push(&wire::depth(false, &market, &asks, &bids));
            }
            self.views.insert(market, (new, version));
        }
    }

    fn publish_private(&mut self) {
        let orders: Vec<_> = self.shared.orders.lock()[self.orders_seen..].to_vec();
        self.orders_seen += orders.len();
        for order in orders {
            if self.subscribed(Channel::Order, &order.symbol) {
                self.push(&wire::order(&order));
            }
        }
        let pushes: Vec<_> = self.shared.balance_log.lock()[self.balances_seen..].to_vec();
        self.balances_seen += pushes.len();
        for push in pushes {
            let mine: Vec<_> = push
                .into_iter()
                .filter(|(currency, _, _)| self.subscribed(Channel::Balance, currency))
                .collect();
            if !mine.is_empty() {
                self.push(&wire::balance(&mine));
            }
        }
    }
}

/// Levels of `new` that differ from `old`, and `old`'s levels gone (amount
/// zero).
fn changes(old: &[(Decimal, Decimal)], new: &[(Decimal, Decimal)]) -> Vec<(Decimal, Decimal)> {
    let mut out: Vec<_> = new
        .iter()
        .filter(|level| !old.contains(level))
        .copied()
        .collect();
    for (price, _) in old {
        if !new.iter().any(|(p, _)| p == price) {
            out.push((*price, Decimal::ZERO));
        }
    }
    out
}

/// The bytes of a fault frame.
fn fault_frame(fault: Fault) -> Vec<u8> {
    let sample =
        r#"{"method":"depth.update","params":[false,{"asks":[],"bids":[]},"BTC_USDT"],"id":null}"#;
    match fault {
        Fault::CorruptZlib => {
            let mut frame = wire::zlib(sample);
            // Inside the deflate data, past the two header bytes.
            if let Some(byte) = frame.get_mut(4) {
                *byte ^= 0xff;
            }
            frame
        }
        Fault::TruncatedZlib => {
            let frame = wire::zlib(sample);
            frame[..frame.len() / 2].to_vec()
        }
        Fault::Bomb => {
            let zeros = " ".repeat(8 << 20);
            wire::zlib(&zeros)
        }
    }
}

impl MockSession for Session {
    fn handle_text(&mut self, now: Instant, text: &str) {
        if self.ended {
            return;
        }
        self.now = now;
        self.last_heard = now;
        self.request(text);
    }

    fn handle_pong(&mut self, now: Instant, _payload: &[u8]) {
        self.last_heard = now;
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        self.now = now;
        if now.saturating_duration_since(self.opened) >= self.shared.config.max_age {
            self.shared.stats.lock().age_closes += 1;
            self.out.push_back(Output::Close {
                code: 1000,
                reason: "connection lifetime exceeded",
            });
            self.ended = true;
            return;
        }
        if now.saturating_duration_since(self.last_heard) >= self.shared.config.idle_drop {
            self.shared.stats.lock().idle_drops += 1;
            self.out.push_back(Output::Drop);
            self.ended = true;
            return;
        }
        self.publish();
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The silence drop and the age close; data from the test hooks and
    /// other connections is picked up at every call.
    fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let idle = self.last_heard + self.shared.config.idle_drop;
        let age = self.opened + self.shared.config.max_age;
        Some(idle.min(age))
    }

    fn is_ended(&self) -> bool {
        self.ended
    }
}

/// Serves one accepted connection until it closes.
pub(super) fn serve<S: Socket>(socket: S, shared: Arc<Shared>) {
    serve_plain(
        socket,
        &shared.stop,
        &shared.live,
        || shared.now(),
        |now| Session::open(shared.clone(), now),
    );
}
