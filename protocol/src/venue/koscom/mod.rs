//! Koscom Open API market data, JSON-RPC 2.0 over WebSocket
//! (../shared/venues/koscom.md; docs/venues/koscom.md says what was chosen
//! where the page is thin). `init` with the API key is the login of every
//! connection, and subscriptions wait for its result. `subscribe` and
//! `unsubscribe` per preset and code, `query`, `heartbeat` (the keepalive).
//! Responses are a `result` or an `error {code, message}`, matched by id,
//! or, for an error with no id, in order (`Correlation::ByIdThenInOrder`).
//! Pushes (`"method":"push"`) become trades, books and tickers; the
//! whole-market feed (`/ws_ksp`, `/ws_kdq`) sends arrays of trade records.
//!
//! Lenient JSON, as chosen: numbers with leading zeros (`005930`,
//! `09450155`, in the service's own examples) are read as their text, so
//! a code keeps its zeros; anything else that is not JSON (a missing comma
//! or colon, a trailing comma) is a decode error.

use std::time::Duration;

use arrayvec::ArrayString;

use crate::json::{Kind, Scanner};
use crate::model::{
    BookEvent, Event, Events, Level, Method, Request, Response, Side, Subscription, Symbol, Ticker,
    Trade, TradeId, inline, write_json_string,
};
use crate::num::Decimal;
use crate::secret::Secret;
use crate::venue::fields::field;
use crate::venue::kst::{TradingDay, digits};
use crate::venue::{
    BookKind, Capabilities, Correlation, Ctx, DecodeError, EncodeError, Expect, FrameKind, Frames,
    Keepalive, RatePolicy, Reconcile, Venue,
};

/// Registrations a production session may hold.
pub const MAX_REGISTRATIONS: u32 = 200;
/// Registrations a sandbox session may hold.
pub const SANDBOX_REGISTRATIONS: u32 = 20;
/// The sandbox's per-symbol endpoint (the only address the docs give).
pub const SANDBOX_URL: &str = "ws://sandbox-apigw.koscom.co.kr:9887/ws/";

/// The Koscom codec for one connection.
#[derive(Debug)]
pub struct Koscom {
    api_key: Secret,
    member: String,
    cap: u32,
    /// Ticker subscriptions use the `change` preset with these items
    /// (empty: `tick10`).
    change_items: Vec<String>,
    day: TradingDay,
}

impl Koscom {
    /// A production session with this API key and member name.
    pub fn new(api_key: Secret, member: &str) -> Koscom {
        Koscom {
            api_key,
            member: member.to_owned(),
            cap: MAX_REGISTRATIONS,
            change_items: Vec::new(),
            day: TradingDay::default(),
        }
    }

    /// The codec a capture's header describes ([`Venue::capture_config`]),
    /// for a replay, with a placeholder API key (redacted like the
    /// recorded one).
    pub fn from_capture(header: &crate::capture::Header) -> Result<Koscom, String> {
        use crate::capture::{REPLAY_SECRET, venue_setting, venue_setting_or};
        let items: Vec<&str> = venue_setting(header, "change_items")
            .unwrap_or("")
            .split(',')
            .filter(|item| !item.is_empty())
            .collect();
        Ok(Koscom::new(
            Secret::new(REPLAY_SECRET),
            venue_setting(header, "member").unwrap_or(""),
        )
        .with_cap(venue_setting_or(header, "cap", MAX_REGISTRATIONS)?)
        .with_change_items(&items))
    }

    /// For decoding captures.
    pub fn offline() -> Koscom {
        Koscom::new(Secret::new(""), "")
    }

    /// The sandbox: 20 registrations.
    pub fn with_sandbox(mut self, sandbox: bool) -> Koscom {
        self.cap = if sandbox {
            SANDBOX_REGISTRATIONS
        } else {
            MAX_REGISTRATIONS
        };
        self
    }

    /// Another registration cap (a contract's own).
    pub fn with_cap(mut self, cap: u32) -> Koscom {
        self.cap = cap;
        self
    }

    /// Ticker subscriptions as the `change` preset, pushing only these
    /// fields when they change.
    pub fn with_change_items(mut self, items: &[&str]) -> Koscom {
        self.change_items = items.iter().map(|i| (*i).to_owned()).collect();
        self
    }

    fn open(out: &mut Vec<u8>, req_id: u64, method: &str) {
        out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
        out.extend_from_slice(req_id.to_string().as_bytes());
        out.extend_from_slice(b",\"method\":\"");
        out.extend_from_slice(method.as_bytes());
        out.push(b'"');
    }

    fn write_subscription(
        &self,
        out: &mut Vec<u8>,
        req_id: u64,
        method: &str,
        preset: &str,
        code: &str,
    ) {
        Koscom::open(out, req_id, method);
        out.extend_from_slice(b",\"params\":{\"preset\":\"");
        out.extend_from_slice(preset.as_bytes());
        out.extend_from_slice(b"\",\"isuSrtCd\":");
        write_json_string(code, out);
        if preset == "change" {
            out.extend_from_slice(b",\"items\":[");
            for (n, item) in self.change_items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_json_string(item, out);
            }
            out.push(b']');
        }
        out.extend_from_slice(b"}}");
    }
}

/// The market signals trdTm carries in place of a time (koscom.md).
fn signal(code: u64) -> Option<&'static str> {
    Some(match code {
        31_000_000 => "regular close",
        41_000_000 => "after-hours close",
        81_000_000 => "single-price close",
        51_000_000 => "block trades, pre-market",
        61_000_000 => "block trades, intra-day",
        71_000_000 => "block trades, post-market",
        91_000_007 | 91_000_008 => "buy-in close",
        _ => return None,
    })
}

/// A value as its text: a string's raw text, or a number's (leading zeros
/// allowed: `005930`).
fn value<'a>(scanner: &mut Scanner<'a>) -> Result<&'a [u8], DecodeError> {
    match scanner.kind()? {
        Kind::String => Ok(scanner.string()?.raw),
        Kind::Number => {
            let input = scanner.input();
            let mut at = scanner.position();
            while input.get(at).is_some_and(u8::is_ascii_whitespace) {
                at += 1;
            }
            let start = at;
            while input.get(at).is_some_and(|b| {
                b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'e' | b'E' | b'+')
            }) {
                at += 1;
            }
            scanner.rewind(at);
            Ok(&input[start..at])
        }
        _ => Ok(scanner.skip_value()?),
    }
}

fn decimal(text: &[u8], name: &'static str) -> Result<Decimal, DecodeError> {
    if let Some(value) = digits(text) {
        return Decimal::new(i128::from(value), 0).ok_or(field(name, "not a decimal"));
    }
    Decimal::parse(text).map_err(|_| field(name, "not a decimal"))
}

fn symbol(text: &[u8]) -> Result<Symbol, DecodeError> {
    let text = std::str::from_utf8(text).map_err(|_| field("isuSrtCd", "not text"))?;
    inline(text).ok_or(field("isuSrtCd", "too long"))
}

/// One book step's price and quantity, as their text.
type Step<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// The fields of one push (or snapshot, or market-feed record).
#[derive(Default)]
struct Fields<'a> {
    preset: &'a [u8],
    code: &'a [u8],
    price: Option<&'a [u8]>,
    qty: Option<&'a [u8]>,
    acc_qty: Option<&'a [u8]>,
    time: Option<&'a [u8]>,
    side: Option<&'a [u8]>,
    ask1: Option<&'a [u8]>,
    bid1: Option<&'a [u8]>,
    asks: [Step<'a>; 10],
    bids: [Step<'a>; 10],
}

impl<'a> Fields<'a> {
    fn read(scanner: &mut Scanner<'a>) -> Result<Fields<'a>, DecodeError> {
        let mut fields = Fields::default();
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            let key = key.raw;
            let text = value(scanner)?;
            match key {
                b"preset" => fields.preset = text,
                b"isuSrtCd" => fields.code = text,
                b"trdPrc" => fields.price = Some(text),
                b"trdvol" | b"trdVol" => fields.qty = Some(text),
                b"accTrdvol" => fields.acc_qty = Some(text),
                b"trdTm" => fields.time = Some(text),
                b"lstAskbidTpCd" => fields.side = Some(text),
                b"askordPrc_1" => fields.ask1 = Some(text),
                b"bidordPrc_1" => fields.bid1 = Some(text),
                _ => {
                    // askStep{n}BstordPrc / Rqty, bidStep{n}..
                    let (side, rest) = if let Some(rest) = key.strip_prefix(b"askStep") {
                        (&mut fields.asks, rest)
                    } else if let Some(rest) = key.strip_prefix(b"bidStep") {
                        (&mut fields.bids, rest)
                    } else {
                        continue;
                    };
                    let (number, is_price) = if let Some(n) = rest.strip_suffix(b"BstordPrc") {
                        (n, true)
                    } else if let Some(n) = rest.strip_suffix(b"BstordRqty") {
                        (n, false)
                    } else {
                        continue;
                    };
                    let Some(index) = digits(number).and_then(|n| usize::try_from(n).ok()) else {
                        continue;
                    };
                    if let Some(slot) = index.checked_sub(1).and_then(|i| side.get_mut(i)) {
                        if is_price {
                            slot.0 = Some(text);
                        } else {
                            slot.1 = Some(text);
                        }
                    }
                }
            }
        }
        Ok(fields)
    }

    /// `trdTm`, `HHMMSShh` KST (a number is left-padded to 8 digits): the
    /// timestamp, or a market signal.
    fn time(&self, day: &TradingDay, wall_ns: i64) -> Result<Time, DecodeError> {
        let Some(text) = self.time else {
            return Ok(Time::None);
        };
        let value = digits(text).ok_or(field("trdTm", "not HHMMSShh"))?;
        if let Some(meaning) = signal(value) {
            return Ok(Time::Signal(value, meaning));
        }
        if value == 0 {
            // Before the first trade.
            return Ok(Time::None);
        }
        let (h, m, s, hundredths) = (
            value / 1_000_000,
            value / 10_000 % 100,
            value / 100 % 100,
            value % 100,
        );
        if h >= 24 || m >= 60 || s >= 60 {
            return Err(field("trdTm", "not HHMMSShh"));
        }
        let seconds = i64::try_from(h * 3600 + m * 60 + s).unwrap_or(0);
        let hundredths = i64::try_from(hundredths).unwrap_or(0);
        Ok(Time::At(day.ts(seconds, wall_ns) + hundredths * 10_000_000))
    }

    fn trade(&self, ts: Option<i64>, out: &mut Events) -> Result<(), DecodeError> {
        let (Some(price), Some(qty)) = (self.price, self.qty) else {
            return Err(field("trdPrc/trdvol", "missing"));
        };
        // No trade id at Koscom: the time and the cumulative volume (or,
        // in the whole-market feed, the time alone) tell trades apart.
        let mut trade_id: TradeId = ArrayString::new();
        for part in [
            self.time.unwrap_or_default(),
            b"-",
            self.acc_qty.unwrap_or_default(),
        ] {
            let part = std::str::from_utf8(part).map_err(|_| field("trdTm", "not text"))?;
            trade_id
                .try_push_str(part)
                .map_err(|_| field("trdTm", "too long"))?;
        }
        out.list.push(Event::Trade(Trade {
            symbol: symbol(self.code)?,
            price: decimal(price, "trdPrc")?,
            qty: decimal(qty, "trdvol")?,
            side: match self.side {
                Some(b"1") => Some(Side::Sell),
                Some(b"2") => Some(Side::Buy),
                _ => None,
            },
            trade_id,
            ts,
            from_snapshot: false,
        }));
        Ok(())
    }

    fn ticker(&self, ts: Option<i64>, out: &mut Events) -> Result<(), DecodeError> {
        let opt = |text: Option<&[u8]>, name| text.map(|t| decimal(t, name)).transpose();
        out.list.push(Event::Ticker(Ticker {
            symbol: symbol(self.code)?,
            last: opt(self.price, "trdPrc")?,
            bid: opt(self.bid1, "bidordPrc_1")?,
            ask: opt(self.ask1, "askordPrc_1")?,
            bid_qty: None,
            ask_qty: None,
            volume: opt(self.acc_qty, "accTrdvol")?,
            ts,
        }));
        Ok(())
    }

    fn book(&self, out: &mut Events) -> Result<(), DecodeError> {
        let before = out.levels.len();
        let side = |levels: &[Step<'_>; 10], out: &mut Events| {
            let start = out.levels.len();
            for (price, qty) in levels {
                let (Some(price), Some(qty)) = (price, qty) else {
                    continue;
                };
                let price = decimal(price, "BstordPrc")?;
                if !price.is_zero() {
                    out.levels.push(Level {
                        price,
                        qty: decimal(qty, "BstordRqty")?,
                    });
                }
            }
            Ok::<_, DecodeError>(start..out.levels.len())
        };
        let ranges = side(&self.bids, out).and_then(|bids| Ok((bids, side(&self.asks, out)?)));
        let (bids, asks) = match ranges {
            Ok(ranges) => ranges,
            Err(error) => {
                out.levels.truncate(before);
                return Err(error);
            }
        };
        out.list.push(Event::Book(BookEvent {
            symbol: symbol(self.code)?,
            snapshot: true,
            bids,
            asks,
            checksum: None,
            sequence: None,
            ts: None,
            from_snapshot: false,
            grouping: None,
        }));
        Ok(())
    }

    /// A push (or a subscribe's snapshot) to its events, by preset or,
    /// without one, by what it holds.
    fn events(&self, day: &TradingDay, wall_ns: i64, out: &mut Events) -> Result<(), DecodeError> {
        let ts = match self.time(day, wall_ns)? {
            Time::Signal(code, meaning) => {
                out.list.push(Event::MarketSignal {
                    symbol: symbol(self.code).ok(),
                    code: u32::try_from(code).unwrap_or(0),
                    meaning,
                });
                return Ok(());
            }
            Time::At(ts) => Some(ts),
            Time::None => None,
        };
        let quotes = self.asks[0].0.is_some() || self.bids[0].0.is_some();
        match self.preset {
            b"tick" => self.trade(ts, out),
            b"tick10" => {
                self.trade(ts, out)?;
                self.ticker(ts, out)
            }
            b"quote" | b"quote10" => self.book(out),
            b"index" | b"change" => self.ticker(ts, out),
            _ if quotes => self.book(out),
            _ if self.qty.is_some() && self.price.is_some() => self.trade(ts, out),
            _ => self.ticker(ts, out),
        }
    }
}

enum Time {
    None,
    At(i64),
    Signal(u64, &'static str),
}

impl Koscom {
    fn decode_object(
        &mut self,
        wall_ns: i64,
        message: &[u8],
        out: &mut Events,
        reply: &mut Frames,
    ) -> Result<(), DecodeError> {
        let mut scanner = Scanner::new(message);
        let (mut id, mut method, mut params, mut result, mut error) =
            (None, None, None, None, None);
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            match key.raw {
                b"id" => {
                    id = match scanner.kind()? {
                        Kind::Null => {
                            scanner.null()?;
                            None
                        }
                        Kind::String => digits(scanner.string()?.raw),
                        _ => digits(value(&mut scanner)?),
                    }
                }
                b"method" => method = Some(scanner.string()?.raw),
                // Read where they stand, leniently (leading-zero numbers).
                b"params" => params = Some(Fields::read(&mut scanner)?),
                b"result" => result = Some(Fields::read(&mut scanner)?),
                b"error" => {
                    let (mut code, mut text) = (None, None);
                    scanner.begin_object()?;
                    while let Some(key) = scanner.next_key()? {
                        match key.raw {
                            b"code" => code = Some(value(&mut scanner)?),
                            b"message" => text = Some(scanner.string()?.unescape()),
                            _ => drop(scanner.skip_value()?),
                        }
                    }
                    error = Some((code, text));
                }
                _ => drop(scanner.skip_value()?),
            }
        }
        match (method, error, result) {
            (Some(b"push"), _, _) => params
                .ok_or(field("params", "missing"))?
                .events(&self.day, wall_ns, out),
            (Some(b"heartbeat"), _, _) => {
                // The server's own heartbeat: answered with its id. One
                // that carries an id may also be the echo of ours: it
                // answers that request too.
                if id.is_some() {
                    out.list.push(Event::Response(Response {
                        req_id: id,
                        method: Method::Ping,
                        ok: true,
                        message: None,
                        ts_in: None,
                        ts_out: None,
                    }));
                }
                let frame = reply.frame(FrameKind::Text);
                frame.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
                match id {
                    Some(id) => frame.extend_from_slice(id.to_string().as_bytes()),
                    None => frame.extend_from_slice(b"null"),
                }
                frame.extend_from_slice(b",\"result\":{\"message\":\"ok\"}}");
                out.list.push(Event::Heartbeat);
                Ok(())
            }
            (_, Some((code, text)), _) => {
                let code = code
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .unwrap_or_default();
                out.list.push(Event::Response(Response {
                    req_id: id,
                    method: Method::Other,
                    ok: false,
                    message: Some(format!("{code}: {}", text.unwrap_or_default())),
                    ts_in: None,
                    ts_out: None,
                }));
                Ok(())
            }
            (_, None, Some(fields)) => {
                out.list.push(Event::Response(Response {
                    req_id: id,
                    method: Method::Other,
                    ok: true,
                    message: None,
                    ts_in: None,
                    ts_out: None,
                }));
                // A subscribe's (or a query's) snapshot: the subscription's
                // first event, the state as it stands: a book if it holds
                // quotes, else a ticker (its last trade is not a new one).
                if !fields.code.is_empty() {
                    // A bad snapshot is reported, and the response stands.
                    let mark = out.mark();
                    let snapshot = if fields.asks[0].0.is_some() || fields.bids[0].0.is_some() {
                        fields.book(out)
                    } else {
                        fields.time(&self.day, wall_ns).and_then(|time| {
                            let ts = match time {
                                Time::At(ts) => Some(ts),
                                _ => None,
                            };
                            fields.ticker(ts, out)
                        })
                    };
                    if let Err(error) = snapshot {
                        out.roll_back(mark);
                        out.list
                            .push(Event::Error(format!("the subscribe's snapshot: {error}")));
                    }
                }
                Ok(())
            }
            _ => Err(field("message", "neither a push, a result nor an error")),
        }
    }

    /// The whole-market feed: an array of trade records.
    fn decode_feed(
        &mut self,
        wall_ns: i64,
        message: &[u8],
        out: &mut Events,
    ) -> Result<(), DecodeError> {
        let mut scanner = Scanner::new(message);
        scanner.begin_array()?;
        while scanner.next_element()? {
            let fields = Fields::read(&mut scanner)?;
            match fields.time(&self.day, wall_ns)? {
                Time::Signal(code, meaning) => out.list.push(Event::MarketSignal {
                    symbol: symbol(fields.code).ok(),
                    code: u32::try_from(code).unwrap_or(0),
                    meaning,
                }),
                Time::At(ts) => fields.trade(Some(ts), out)?,
                Time::None => fields.trade(None, out)?,
            }
        }
        Ok(())
    }
}

impl Venue for Koscom {
    fn name(&self) -> &'static str {
        "koscom"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // Errors may come with no id: they answer the oldest request.
            correlation: Correlation::ByIdThenInOrder,
            reconcile: Reconcile::NotApplicable,
            // Every quote push holds its whole depth.
            book: BookKind::Whole,
            secret_fields: &["key"],
            max_subscriptions: Some(self.cap),
            // Subscriptions wait for init's result.
            subscribe_after_login: true,
            // No order entry: market data only.
            ..Capabilities::default()
        }
    }

    /// `init` with the API key and member name, on every connection.
    fn login(
        &mut self,
        _ctx: &mut Ctx<'_>,
        req_id: u64,
        out: &mut Frames,
    ) -> Result<(), EncodeError> {
        let frame = out.frame(FrameKind::Text);
        Koscom::open(frame, req_id, "init");
        frame.extend_from_slice(b",\"params\":{\"key\":");
        write_json_string(self.api_key.expose(), frame);
        frame.extend_from_slice(b",\"membername\":");
        write_json_string(&self.member, frame);
        frame.extend_from_slice(b"}}");
        Ok(())
    }

    fn encode(
        &mut self,
        _ctx: &mut Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Frames,
    ) -> Result<Expect, EncodeError> {
        let (method, subscription) = match request {
            Request::Subscribe(s) => ("subscribe", s),
            Request::Unsubscribe(s) => ("unsubscribe", s),
            Request::Ping => {
                let frame = out.frame(FrameKind::Text);
                Koscom::open(frame, req_id, "heartbeat");
                frame.push(b'}');
                return Ok(Expect::Replies(1));
            }
            Request::BookSnapshot { symbol, .. } => {
                // The WS query's params are not documented: the mock's
                // choice, the quote10 preset of one code.
                self.write_subscription(
                    out.frame(FrameKind::Text),
                    req_id,
                    "query",
                    "quote10",
                    symbol.as_str(),
                );
                return Ok(Expect::Replies(1));
            }
            _ => {
                return Err(EncodeError::Unsupported(
                    "anything but market data at Koscom",
                ));
            }
        };
        let (preset, codes): (&str, &[Symbol]) = match subscription {
            Subscription::Trades { symbols } => ("tick", symbols),
            Subscription::Book { symbols, depth } => {
                (if *depth <= 1 { "quote" } else { "quote10" }, symbols)
            }
            Subscription::Ticker { symbols } if self.change_items.is_empty() => ("tick10", symbols),
            Subscription::Ticker { symbols } => ("change", symbols),
            _ => return Err(EncodeError::Unsupported("this channel at Koscom")),
        };
        if codes.is_empty() {
            return Err(EncodeError::Invalid("no code"));
        }
        for code in codes {
            self.write_subscription(
                out.frame(FrameKind::Text),
                req_id,
                method,
                preset,
                code.as_str(),
            );
        }
        Ok(Expect::Replies(
            u32::try_from(codes.len()).unwrap_or(u32::MAX),
        ))
    }

    fn decode(
        &mut self,
        ctx: &mut Ctx<'_>,
        _kind: FrameKind,
        message: &mut [u8],
        out: &mut Events,
        reply: &mut Frames,
    ) -> Result<(), DecodeError> {
        let message = message.trim_ascii();
        let mark = out.mark();
        let decoded = match message.first() {
            Some(b'[') => self.decode_feed(ctx.wall_ns, message, out),
            _ => self.decode_object(ctx.wall_ns, message, out, reply),
        };
        if decoded.is_err() {
            // A message gives all its events or none.
            out.roll_back(mark);
        }
        decoded
    }

    fn reset(&mut self) {
        self.day = TradingDay::default();
    }

    /// `heartbeat` every 30 s (the interval is not documented: the mock's
    /// idle drop is 60 s); an unanswered one means a dead link, and the
    /// core reconnects.
    fn keepalive(&self) -> Keepalive {
        Keepalive {
            idle_close_after: None,
            app_ping_every: Some(Duration::from_secs(30)),
            heartbeat_every: None,
            max_connection_age: None,
        }
    }

    /// Rate limits are documented for REST only.
    fn capture_config(&self) -> String {
        format!(
            "member={}\ncap={}\nchange_items={}",
            self.member,
            self.cap,
            self.change_items.join(",")
        )
    }

    fn rate_policy(&self) -> RatePolicy {
        RatePolicy::default()
    }
}

/// A codec for captured messages.
pub fn offline_codec(_book_depth: u32) -> Box<dyn Venue> {
    Box::new(Koscom::offline())
}
