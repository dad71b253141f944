//! One Upbit connection, sans-IO: requests and time in, binary data frames
//! out. The socket driver ([`serve`]) and the virtual-time `Pair` run it
//! alike.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use orderwire_protocol::model::Side;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::upbit::{DataType, Format};
use serde_json::Value;

use super::deflate_ws::{Framed, Incoming, NEGOTIATED};
use super::{Shared, wire};
use crate::mock::live::{Readiness, Shaper, blocking};
use crate::mock::session::{MockSession, Output};
use crate::mock::socket::{Socket, WAKE_CAP};

/// One subscribed type.
#[derive(Clone, Debug)]
struct Sub {
    data_type: DataType,
    /// Market and (for orderbooks) depth.
    codes: Vec<(String, usize)>,
    only_snapshot: bool,
}

/// One Upbit connection.
pub struct Session {
    shared: Arc<Shared>,
    private: bool,
    subs: Vec<Sub>,
    format: Format,
    /// The last data in either direction (the idle close counts both).
    last_traffic: Instant,
    up_next: Option<Instant>,
    requests: VecDeque<Instant>,
    tape_seen: usize,
    books_seen: HashMap<String, u64>,
    orders_seen: usize,
    assets_seen: usize,
    now: Instant,
    out: VecDeque<Output>,
    ended: bool,
}

impl Session {
    /// A connection opened at `now` (the handshake has been accepted).
    pub(crate) fn open(shared: Arc<Shared>, now: Instant) -> Session {
        Session::open_at(shared, now, false)
    }

    fn open_at(shared: Arc<Shared>, now: Instant, private: bool) -> Session {
        let tape_seen = shared.market.lock().tape.len();
        let orders_seen = shared.orders.lock().len();
        let assets_seen = shared.assets.lock().len();
        Session {
            shared,
            private,
            subs: Vec::new(),
            format: Format::Default,
            last_traffic: now,
            up_next: None,
            requests: VecDeque::new(),
            tape_seen,
            books_seen: HashMap::new(),
            orders_seen,
            assets_seen,
            now,
            out: VecDeque::new(),
            ended: false,
        }
    }

    /// Marks the session as the private endpoint's.
    pub(crate) fn set_private(&mut self) {
        self.private = true;
    }

    fn send(&mut self, object: String) {
        let bytes = wire::frame(self.format, object);
        self.out.push_back(Output::Binary(bytes));
        // "No data received or sent for 120 s": data out keeps it open too.
        self.last_traffic = self.now;
    }

    fn error(&mut self, name: &str, message: &str) {
        self.shared.stats.lock().errors += 1;
        // Errors are not data: one plain object, whatever the format.
        self.out
            .push_back(Output::Binary(wire::error(name, message).into_bytes()));
    }

    /// Over 5 a second or 100 a minute: refused (the mock's choice for an
    /// open connection, where no HTTP status can be sent: an error frame).
    fn over_rate(&mut self) -> bool {
        let now = self.now;
        while self
            .requests
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= Duration::from_secs(60))
        {
            self.requests.pop_front();
        }
        let last_second = self
            .requests
            .iter()
            .filter(|at| now.saturating_duration_since(**at) < Duration::from_secs(1))
            .count();
        if last_second >= self.shared.config.messages_per_second
            || self.requests.len() >= self.shared.config.messages_per_minute
        {
            self.shared.stats.lock().rate_refusals += 1;
            return true;
        }
        self.requests.push_back(now);
        false
    }

    /// A request: `[{"ticket":..},{"type":..,"codes":[..]},..,{"format":..}]`.
    fn request(&mut self, text: &str) {
        if self.over_rate() {
            return self.error("Too Many Requests", "too many requests");
        }
        let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
            return self.error("WRONG_FORMAT", "a request is a JSON array");
        };
        if !items
            .iter()
            .any(|i| i.get("ticket").is_some_and(Value::is_string))
        {
            return self.error("NO_TICKET", "ticket is required");
        }
        // The format object covers the whole connection, LIST_SUBSCRIPTIONS
        // included; without one, DEFAULT.
        let mut format = Format::Default;
        for item in &items {
            if let Some(name) = item.get("format") {
                format = match name.as_str() {
                    Some("DEFAULT") => Format::Default,
                    Some("SIMPLE") => Format::Simple,
                    Some("JSON_LIST") => Format::JsonList,
                    Some("SIMPLE_LIST") => Format::SimpleList,
                    _ => return self.error("INVALID_PARAM", "unknown format"),
                };
            }
        }
        let ticket = items
            .iter()
            .find_map(|i| i.get("ticket").and_then(Value::as_str))
            .unwrap_or("")
            .to_owned();
        let mut subs = Vec::new();
        for item in &items {
            if item.get("format").is_some() {
                continue;
            }
            if item.get("method").and_then(Value::as_str) == Some("LIST_SUBSCRIPTIONS") {
                self.format = format;
                return self.list_subscriptions(&ticket);
            }
            let Some(kind) = item.get("type") else {
                continue;
            };
            let data_type = match kind.as_str() {
                Some("ticker") => DataType::Ticker,
                Some("trade") => DataType::Trade,
                Some("orderbook") => DataType::Orderbook,
                Some("myOrder") => DataType::MyOrder,
                Some("myAsset") => DataType::MyAsset,
                _ => return self.error("INVALID_PARAM", "unknown type"),
            };
            if data_type.is_private() && !self.private {
                return self.error("INVALID_AUTH", "private types need the private endpoint");
            }
            let codes = item.get("codes");
            if data_type == DataType::MyAsset && codes.is_some() {
                return self.error("WRONG_FORMAT", "myAsset takes no codes");
            }
            let listed: Vec<&str> = codes
                .and_then(Value::as_array)
                .map(|c| c.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if listed.is_empty() && !data_type.is_private() {
                return self.error("NO_CODES", "codes are required");
            }
            let mut parsed = Vec::new();
            for code in listed {
                let (market, depth) = match code.split_once('.') {
                    Some((market, depth)) if data_type == DataType::Orderbook => {
                        // Upbit's changelog (2025-07-02): only 1, 5, 15 and
                        // 30 are served; any other count gets the default 30.
                        match depth.parse::<usize>() {
                            Ok(d @ (1 | 5 | 15 | 30)) => (market, d),
                            _ => (market, 30),
                        }
                    }
                    _ => (code, 30),
                };
                parsed.push((market.to_owned(), depth));
            }
            let flag = |name: &str, camel: &str| {
                item.get(name)
                    .or_else(|| item.get(camel))
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            };
            subs.push((
                Sub {
                    data_type,
                    codes: parsed,
                    only_snapshot: flag("is_only_snapshot", "isOnlySnapshot"),
                },
                flag("is_only_realtime", "isOnlyRealtime"),
            ));
        }
        if subs.is_empty() {
            return self.error("NO_TYPE", "a type is required");
        }
        // A new request replaces the connection's subscriptions.
        self.shared.stats.lock().requests += 1;
        self.format = format;
        self.subs.clear();
        self.books_seen.clear();
        for (sub, only_realtime) in subs {
            if !only_realtime {
                self.snapshot(&sub);
            }
            if let DataType::Orderbook = sub.data_type {
                for (market, _) in &sub.codes {
                    let version = self.shared.market.lock().version(market);
                    self.books_seen.insert(market.clone(), version);
                }
            }
            if !sub.only_snapshot {
                self.subs.push(sub);
            }
        }
    }

    fn list_subscriptions(&mut self, ticket: &str) {
        let text = wire::list_subscriptions(self.format, ticket, &self.listed());
        self.send(text);
    }

    /// The subscriptions as LIST_SUBSCRIPTIONS reports them: type, and
    /// codes (with their depth where one other than 30 was asked).
    fn listed(&self) -> Vec<(&'static str, Vec<String>)> {
        self.subs
            .iter()
            .map(|s| {
                let codes = s
                    .codes
                    .iter()
                    .map(|(code, depth)| match s.data_type {
                        DataType::Orderbook if *depth != 30 => format!("{code}.{depth}"),
                        _ => code.clone(),
                    })
                    .collect();
                (s.data_type.as_str(), codes)
            })
            .collect()
    }

    /// SNAPSHOT data: the state at request time.
    fn snapshot(&mut self, sub: &Sub) {
        let ts = self.shared.wall_ms(self.now);
        for (market, depth) in &sub.codes {
            if self.shared.silent.lock().contains(market) {
                continue;
            }
            match sub.data_type {
                DataType::Orderbook => {
                    let text = self.book_text(market, *depth, ts, true);
                    self.send(text);
                }
                DataType::Trade => {
                    let last = self
                        .shared
                        .market
                        .lock()
                        .tape
                        .iter()
                        .rev()
                        .find(|t| &t.market == market)
                        .cloned();
                    if let Some(trade) = last {
                        self.send(wire::trade(self.format, &trade, true));
                    }
                }
                DataType::Ticker => {
                    let text = self.ticker_text(market, ts, true);
                    self.send(text);
                }
                _ => {}
            }
        }
    }

    fn book_text(&self, market: &str, depth: usize, ts: u64, snapshot: bool) -> String {
        let book = self.shared.market.lock();
        let asks = book.top(market, Side::Sell, depth);
        let bids = book.top(market, Side::Buy, depth);
        wire::orderbook(self.format, market, &asks, &bids, ts, snapshot)
    }

    fn ticker_text(&self, market: &str, ts: u64, snapshot: bool) -> String {
        let (last, volume) = {
            let book = self.shared.market.lock();
            (book.last_price(market), book.volume(market))
        };
        wire::ticker(self.format, market, last, volume, ts, snapshot)
    }

    fn subscribed(&self, data_type: DataType, market: &str) -> Option<usize> {
        self.subs
            .iter()
            .filter(|s| s.data_type == data_type)
            .flat_map(|s| s.codes.iter())
            .find(|(m, _)| m == market)
            .map(|(_, depth)| *depth)
    }

    /// REALTIME data: what happened since the last look.
    fn publish(&mut self) {
        let ts = self.shared.wall_ms(self.now);
        let trades: Vec<_> = self.shared.market.lock().tape[self.tape_seen..].to_vec();
        self.tape_seen += trades.len();
        for trade in trades {
            if self.shared.silent.lock().contains(&trade.market) {
                continue;
            }
            if self.subscribed(DataType::Trade, &trade.market).is_some() {
                self.send(wire::trade(self.format, &trade, false));
            }
            if self.subscribed(DataType::Ticker, &trade.market).is_some() {
                let text = self.ticker_text(&trade.market, ts, false);
                self.send(text);
            }
        }
        let books: Vec<(String, u64)> = self
            .books_seen
            .iter()
            .map(|(m, v)| (m.clone(), *v))
            .collect();
        for (market, seen) in books {
            let version = self.shared.market.lock().version(&market);
            if version == seen || self.shared.silent.lock().contains(&market) {
                continue;
            }
            self.books_seen.insert(market.clone(), version);
            if let Some(depth) = self.subscribed(DataType::Orderbook, &market) {
                let text = self.book_text(&market, depth, ts, false);
                self.send(text);
            }
        }
        if !self.private {
            return;
        }
        let orders: Vec<_> = self.shared.orders.lock()[self.orders_seen..].to_vec();
        self.orders_seen += orders.len();
        for order in orders {
            let all = self
                .subs
                .iter()
                .any(|s| s.data_type == DataType::MyOrder && s.codes.is_empty());
            if all || self.subscribed(DataType::MyOrder, &order.market).is_some() {
                self.send(wire::my_order(self.format, &order));
            }
        }
        let assets: Vec<_> = self.shared.assets.lock()[self.assets_seen..].to_vec();
        self.assets_seen += assets.len();
        if self.subs.iter().any(|s| s.data_type == DataType::MyAsset) {
            for (currency, balance, locked) in assets {
                self.send(wire::my_asset(self.format, &currency, balance, locked, ts));
            }
        }
    }
}

impl MockSession for Session {
    fn handle_text(&mut self, now: Instant, text: &str) {
        if self.ended {
            return;
        }
        self.now = now;
        self.last_traffic = now;
        if text.trim() == "PING" {
            // {"status":"UP"} now and every 10 s from here.
            self.shared.stats.lock().ups += 1;
            self.out
                .push_back(Output::Binary(br#"{"status":"UP"}"#.to_vec()));
            self.up_next = Some(now + self.shared.config.up_every);
            return;
        }
        self.request(text);
    }

    fn handle_pong(&mut self, now: Instant, _payload: &[u8]) {
        self.last_traffic = now;
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        self.now = now;
        if now.saturating_duration_since(self.last_traffic) >= self.shared.config.idle_close {
            self.shared.stats.lock().idle_closes += 1;
            self.out.push_back(Output::Close {
                code: 1000,
                reason: "idle timeout",
            });
            self.ended = true;
            return;
        }
        while let Some(at) = self.up_next.filter(|at| *at <= now) {
            self.shared.stats.lock().ups += 1;
            self.out
                .push_back(Output::Binary(br#"{"status":"UP"}"#.to_vec()));
            self.up_next = Some(at + self.shared.config.up_every);
        }
        self.publish();
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The idle close and the UP heartbeat; data from other connections and
    /// the test hooks is picked up at every call (as for the other mocks).
    fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let idle = self.last_traffic + self.shared.config.idle_close;
        Some(self.up_next.map_or(idle, |up| up.min(idle)))
    }

    fn is_ended(&self) -> bool {
        self.ended
    }
}

/// Serves one accepted connection: the handshake (path, JWT, connection
/// rate, permessage-deflate when offered), then the session over the
/// mock's own framing ([`super::deflate_ws`]).
pub(super) fn serve<S: Socket>(socket: S, shared: Arc<Shared>) {
    let _ = socket.tcp().set_nodelay(true);
    let mut path = String::new();
    let mut deflate = false;
    // tungstenite's callback signature fixes the (large) error type.
    #[allow(clippy::result_large_err)]
    let check = |request: &tungstenite::handshake::server::Request,
                 mut response: tungstenite::handshake::server::Response| {
        path = request.uri().path().to_owned();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        match shared.accept(shared.now(), &path, &headers) {
            Ok(()) => {
                deflate = headers.iter().any(|(name, value)| {
                    name.eq_ignore_ascii_case("sec-websocket-extensions")
                        && value.contains("permessage-deflate")
                });
                if deflate {
                    response.headers_mut().insert(
                        "Sec-WebSocket-Extensions",
                        tungstenite::http::HeaderValue::from_static(NEGOTIATED),
                    );
                }
                Ok(response)
            }
            Err(refused) => {
                let mut refusal =
                    tungstenite::handshake::server::ErrorResponse::new(Some(refused.body));
                *refusal.status_mut() = tungstenite::http::StatusCode::from_u16(refused.status)
                    .unwrap_or(tungstenite::http::StatusCode::BAD_REQUEST);
                if let Some(wait) = refused.retry_after {
                    refusal.headers_mut().insert(
                        "Retry-After",
                        tungstenite::http::HeaderValue::from(wait.as_secs()),
                    );
                }
                Err(refusal)
            }
        }
    };
    let Ok(mut ws) = tungstenite::accept_hdr(socket, check) else {
        return;
    };
    shared.stats.lock().connections += 1;
    if deflate {
        shared.stats.lock().deflate += 1;
    }
    let mut session = Session::open_at(shared.clone(), shared.now(), path.ends_with("/private"));
    let (Ok(mut ready), Ok(tcp)) = (
        Readiness::new(ws.get_ref().tcp(), &shared.live),
        ws.get_ref().tcp().try_clone(),
    ) else {
        return;
    };
    let mut shaper = Shaper::new(&shared.live.timing, ready.id());
    // From here on the mock frames the connection itself (tungstenite has
    // no permessage-deflate); nothing is left in tungstenite's buffer, as
    // the client waits for the 101 before it sends. The loop is the one
    // every mock runs (crate::mock::socket::drive): sleep until readable,
    // a timer, a held message or a wake; read all there is; answer.
    let mut framed = Framed::new(ws.get_mut(), deflate);
    loop {
        if shared.stop.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = blocking(&tcp, || {
                framed.write(0x8, &close_payload(1001, "mock stopping"))
            });
            return;
        }
        session.handle_timeout(shared.now());
        if !write_outputs(&mut framed, &tcp, &mut session, &mut shaper, shared.now()) {
            return;
        }
        let mut handled = false;
        loop {
            match framed.read() {
                Ok(Some(Incoming::Text(text))) => {
                    session.handle_text(shared.now(), &text);
                    handled = true;
                }
                // A binary request is read as its UTF-8 text.
                Ok(Some(Incoming::Binary(bytes))) => {
                    if let Ok(text) = std::str::from_utf8(&bytes) {
                        session.handle_text(shared.now(), text);
                        handled = true;
                    }
                }
                Ok(Some(Incoming::Ping(payload))) => {
                    session.handle_pong(shared.now(), &payload);
                    if blocking(&tcp, || framed.write(0xA, &payload)).is_err() {
                        return;
                    }
                }
                Ok(Some(Incoming::Pong(payload))) => session.handle_pong(shared.now(), &payload),
                Ok(Some(Incoming::Close)) => {
                    let _ = blocking(&tcp, || framed.write(0x8, &close_payload(1000, "")));
                    return;
                }
                Ok(None) => break,
                Err(_) => return,
            }
            if !write_outputs(&mut framed, &tcp, &mut session, &mut shaper, shared.now()) {
                return;
            }
        }
        if handled {
            shared.live.wake_others(ready.id());
        }
        ready.pause(
            shared.now(),
            session.poll_timeout(),
            shaper.next_release(),
            WAKE_CAP,
        );
    }
}

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    payload
}

/// Carries out what the session asked, each output once the mock's timing
/// lets it go; false when the connection ends.
fn write_outputs<S: Socket>(
    framed: &mut Framed<&mut S>,
    tcp: &std::net::TcpStream,
    session: &mut Session,
    shaper: &mut Shaper,
    now: Instant,
) -> bool {
    let shaped = shaper.shapes();
    let mut due = Vec::new();
    while let Some(output) = session.poll_output() {
        if shaped {
            shaper.hold(now, output);
        } else {
            due.push(output);
        }
    }
    while let Some(output) = shaper.release(now) {
        due.push(output);
    }
    if !due.is_empty() {
        let open = blocking(tcp, || {
            for output in due {
                let written = match output {
                    Output::Text(text) => framed.write(0x1, text.as_bytes()),
                    Output::Binary(bytes) => framed.write(0x2, &bytes),
                    Output::Ping(payload) => framed.write(0x9, &payload),
                    Output::Close { code, reason } => {
                        let _ = framed.write(0x8, &close_payload(code, reason));
                        return false;
                    }
                    _ => {
                        let _ = framed.get_ref().tcp().shutdown(std::net::Shutdown::Both);
                        return false;
                    }
                };
                if written.is_err() {
                    return false;
                }
            }
            true
        });
        if !open {
            return false;
        }
    }
    !session.is_ended() || shaper.next_release().is_some()
}
