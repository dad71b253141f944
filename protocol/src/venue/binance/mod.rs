//! Binance Spot WebSocket API and market streams (../shared/venues/binance.md,
//! docs/venues/binance.md).
//!
//! One [`Binance`] codec serves either connection: the WebSocket API
//! (`ws-api/v3`: orders, `depth`, the user data stream) or the market
//! streams (`stream.binance.com`). It decodes both shapes either way, so a
//! capture of both decodes with one codec.

pub mod request;
pub mod response;
pub mod sign;
pub mod stream;

use std::collections::HashMap;
use std::time::Duration;

pub use request::{Credentials, RequestWriter, ResponseType};
pub use response::{ApiMessage, Inflight, decode_api};
pub use sign::Signer;
pub use stream::{
    DepthRef, DepthSync, DepthUpdate, StreamMessage, StreamRef, SyncAction, decode_stream,
    decode_stream_ref,
};

use crate::model::{
    BookEvent, Event, Events, Level, Method, Request, Subscription, Symbol, write_json_string,
};
use crate::venue::{
    BookKind, Capabilities, Correlation, Ctx, DecodeError, EncodeError, Expect, FrameKind, Frames,
    Keepalive, LimitScope, Note, NoteQueue, RateLimit, RatePolicy, Reconcile, Venue,
};

/// The WebSocket API endpoint.
pub const API_URL: &str = "wss://ws-api.binance.com:443/ws-api/v3";
/// The market-streams endpoint (raw streams under `/ws`).
pub const STREAMS_URL: &str = "wss://stream.binance.com:9443/ws";
/// Levels a side kept per book, and asked for in a `depth` snapshot
/// (weight 50 at up to 1000 levels).
pub const DEFAULT_DEPTH: u32 = 1000;

/// Request ids remembered for decoding replies; beyond that many in
/// flight the oldest are forgotten and their replies decoded by shape.
const INFLIGHT_SLOTS: usize = 4096;

/// Weight per method (web-socket-api.md): order.place 1, order.cancel 1,
/// order.cancelReplace 1, order.amend.keepPriority 4, openOrders.cancelAll
/// 1, order.status 4, depth 50 (limit 1000), ping 1,
/// userDataStream.subscribe 2.
pub const REQUEST_WEIGHTS: &[(Method, u32)] = &[
    (Method::Place, 1),
    (Method::Cancel, 1),
    (Method::CancelReplace, 1),
    (Method::Amend, 4),
    (Method::CancelAll, 1),
    (Method::QueryOrder, 4),
    (Method::BookSnapshot, 50),
    (Method::Ping, 1),
    (Method::Subscribe, 2),
    (Method::Unsubscribe, 2),
    (Method::Other, 2),
    (Method::CancelAllAfter, 1),
    (Method::BatchPlace, 1),
];

/// What counts against ORDERS: new orders only (a cancel-replace places
/// one).
pub const ORDER_COUNTS: &[(Method, u32)] = &[
    (Method::Place, 1),
    (Method::CancelReplace, 1),
    (Method::BatchPlace, 1),
    (Method::Cancel, 0),
    (Method::Amend, 0),
    (Method::CancelAll, 0),
    (Method::QueryOrder, 0),
    (Method::BookSnapshot, 0),
    (Method::Ping, 0),
    (Method::Subscribe, 0),
    (Method::Unsubscribe, 0),
    (Method::Other, 0),
    (Method::CancelAllAfter, 0),
];

/// Which connection a codec drives: fixed by the type ([`BinanceApi`],
/// [`BinanceStreams`]), never switched at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    /// `ws-api/v3`.
    Api,
    /// The market streams.
    Streams,
}

/// The Binance codec for reading captures of either connection offline
/// (`orderwire decode`, fuzzing), and the one implementation behind
/// [`BinanceApi`] and [`BinanceStreams`].
#[derive(Debug)]
pub struct Binance {
    endpoint: Endpoint,
    writer: RequestWriter,
    inflight: Vec<Option<(u64, Inflight)>>,
    books: HashMap<Symbol, DepthSync, foldhash::fast::FixedState>,
    depth: u32,
    /// Decoding a capture: books start from the first update when no
    /// snapshot comes, and gaps are still reported.
    passive: bool,
    session_logon: bool,
    /// Once split: requests sent and books subscribed (encoder to
    /// decoder), a refused logon (decoder to encoder).
    notes: NoteQueue,
    /// The id of the current connection's `session.logon`, so a refusal
    /// noted for an older connection is ignored.
    logon_id: Option<u64>,
    /// The account's limits (the API's `rateLimits`).
    limits: AccountLimits,
}

/// An account's request and order limits, as `exchangeInfo` and every
/// response's `rateLimits` state them. The defaults are a default
/// account's; Binance raises them for market makers on request, and the
/// codec paces by what it is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountLimits {
    /// `REQUEST_WEIGHT` per minute.
    pub weight_per_minute: u32,
    /// `ORDERS` per 10 seconds.
    pub orders_per_10s: u32,
    /// `ORDERS` per day.
    pub orders_per_day: u32,
}

impl Default for AccountLimits {
    fn default() -> AccountLimits {
        AccountLimits {
            weight_per_minute: 6_000,
            orders_per_10s: 50,
            orders_per_day: 160_000,
        }
    }
}

/// The kline intervals Binance serves (case-sensitive: `1m` is a minute,
/// `1M` a month).
pub const KLINE_INTERVALS: [&str; 16] = [
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w",
    "1M",
];

impl Binance {
    /// A codec for reading captures of either connection offline.
    pub fn offline() -> Binance {
        let mut codec = Binance::new(Endpoint::Api, None);
        codec.passive = true;
        codec
    }

    fn new(endpoint: Endpoint, credentials: Option<Credentials>) -> Binance {
        Binance {
            endpoint,
            writer: RequestWriter::new(credentials),
            inflight: vec![None; INFLIGHT_SLOTS],
            books: HashMap::default(),
            depth: DEFAULT_DEPTH,
            passive: false,
            session_logon: true,
            notes: NoteQueue::default(),
            logon_id: None,
            limits: AccountLimits::default(),
        }
    }

    /// The request writer (recvWindow, newOrderRespType, logon state).
    pub fn writer_mut(&mut self) -> &mut RequestWriter {
        &mut self.writer
    }

    /// Whether an Ed25519 key logs the session on (the default) so that
    /// requests go unsigned; off, every request is signed.
    pub fn set_session_logon(&mut self, enabled: bool) {
        self.session_logon = enabled;
    }

    /// Levels a side kept per book.
    pub fn set_depth(&mut self, depth: u32) {
        self.depth = depth.clamp(1, 5_000);
    }

    /// The local book of `symbol` (upper case), if kept.
    pub fn book(&self, symbol: &str) -> Option<&DepthSync> {
        crate::model::inline(symbol).and_then(|s: Symbol| self.books.get(&s))
    }

    /// A request sent: its reply's shape is kept here and, once split,
    /// told to the decoding half.
    fn remember(&mut self, req_id: u64, inflight: Inflight) {
        self.notes.push(Note::Sent {
            req_id,
            method: inflight.method,
            symbol: inflight.symbol,
            login: inflight.logon,
        });
        self.store_inflight(req_id, inflight);
    }

    fn store_inflight(&mut self, req_id: u64, inflight: Inflight) {
        let slot = usize::try_from(req_id % INFLIGHT_SLOTS as u64).unwrap_or(0);
        self.inflight[slot] = Some((req_id, inflight));
    }

    fn sync_for(&mut self, symbol: Symbol) -> &mut DepthSync {
        self.sync_at_depth(symbol, self.depth)
    }

    fn sync_at_depth(&mut self, symbol: Symbol, depth: u32) -> &mut DepthSync {
        let (depth, passive) = (depth as usize, self.passive);
        self.books.entry(symbol).or_insert_with(|| {
            let mut sync = DepthSync::new(depth);
            sync.set_passive(passive);
            sync
        })
    }

    /// `SUBSCRIBE`/`UNSUBSCRIBE` on the market streams (`<symbol>@kline_1m`
    /// for candles, with the interval as Binance spells it).
    fn encode_stream_subscription(
        &mut self,
        req_id: u64,
        subscribe: bool,
        subscription: &Subscription,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let kline_suffix;
        let (symbols, suffix) = match subscription {
            Subscription::Book { symbols, .. } => (symbols, "@depth@100ms"),
            Subscription::Trades { symbols } => (symbols, "@trade"),
            Subscription::Ticker { symbols } => (symbols, "@bookTicker"),
            Subscription::Candles { symbols, interval } => {
                if !KLINE_INTERVALS.contains(&interval.as_str()) {
                    return Err(EncodeError::Unsupported(
                        "Binance klines are 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M",
                    ));
                }
                kline_suffix = format!("@kline_{interval}");
                (symbols, kline_suffix.as_str())
            }
            // Private feeds, and channels added for other venues.
            _ => {
                return Err(EncodeError::Unsupported(
                    "executions on the market streams (use the WebSocket API)",
                ));
            }
        };
        if symbols.is_empty() {
            return Err(EncodeError::Invalid("no symbols"));
        }
        out.extend_from_slice(b"{\"method\":\"");
        out.extend_from_slice(if subscribe {
            b"SUBSCRIBE"
        } else {
            b"UNSUBSCRIBE"
        });
        out.extend_from_slice(b"\",\"params\":[");
        let mut name = String::with_capacity(48);
        for (index, symbol) in symbols.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            name.clear();
            // Stream names are lower case.
            name.push_str(&symbol.to_ascii_lowercase());
            name.push_str(suffix);
            write_json_string(&name, out);
        }
        out.extend_from_slice(b"],\"id\":");
        crate::num::Decimal::new(i128::from(req_id), 0)
            .unwrap_or(crate::num::Decimal::ZERO)
            .write_to(out);
        out.push(b'}');
        if subscribe {
            if let Subscription::Book { symbols, .. } = subscription {
                for symbol in symbols {
                    let upper =
                        crate::model::inline::<32>(&symbol.to_ascii_uppercase()).unwrap_or(*symbol);
                    self.sync_for(upper);
                    self.notes.push(Note::Book {
                        symbol: upper,
                        depth: self.depth,
                    });
                }
            }
        }
        Ok(())
    }

    /// After a successful SUBSCRIBE, every book not yet synced asks for its
    /// snapshot at once (the diffs buffer meanwhile), so a quiet book syncs
    /// without waiting for its first update.
    fn snapshots_after_subscribe(&mut self, out: &mut Events) {
        let subscribed = out
            .list
            .iter()
            .any(|e| matches!(e, Event::Response(r) if r.ok && r.method == Method::Subscribe));
        if !subscribed {
            return;
        }
        for (symbol, sync) in self.books.iter_mut() {
            if sync.want_snapshot() {
                out.list.push(Event::NeedBookSnapshot { symbol: *symbol });
            }
        }
    }

    /// A market-stream message, through the books.
    fn decode_stream_message(
        &mut self,
        message: &[u8],
        out: &mut Events,
    ) -> Result<(), DecodeError> {
        if let StreamRef::Depth(depth) = decode_stream_ref(message, out)? {
            let symbol = depth.symbol;
            if self.sync_for(symbol).on_depth(depth, out) == SyncAction::NeedSnapshot {
                out.list.push(Event::NeedBookSnapshot { symbol });
            }
        }
        Ok(())
    }

    /// A `depth` reply decoded on this codec: it syncs the pair's book if
    /// this codec keeps one (the offline decoder; in the engine the reply
    /// comes on the API connection and reaches the streams codec through
    /// [`Venue::feed_book_snapshot`]).
    fn apply_snapshot_here(&mut self, snapshot: response::SnapshotRef, out: &mut Events) {
        let symbol = match snapshot.symbol {
            Some(symbol) => Some(symbol),
            // Offline, the request is not seen: the one book waiting, or
            // else the only book.
            None => {
                let only = |synced: Option<bool>| {
                    let mut books = self
                        .books
                        .iter()
                        .filter(|(_, s)| synced.is_none_or(|want| s.is_synced() == want));
                    match (books.next(), books.next()) {
                        (Some((symbol, _)), None) => Some(*symbol),
                        _ => None,
                    }
                };
                only(Some(false)).or_else(|| only(None))
            }
        };
        let Some(symbol) = symbol else { return };
        let Some(Event::Book(book)) = out.list.get_mut(snapshot.event_index) else {
            return;
        };
        book.symbol = symbol;
        let (bids, asks) = (book.bids.clone(), book.asks.clone());
        let Some(sync) = self.books.get_mut(&symbol) else {
            return;
        };
        let levels = std::mem::take(&mut out.levels);
        let action = sync.on_snapshot(
            snapshot.last_update_id,
            levels.get(bids).unwrap_or(&[]),
            levels.get(asks).unwrap_or(&[]),
            out,
        );
        // on_snapshot appended deltas' levels to the (now empty) vector:
        // put the snapshot's levels back in front and shift those ranges.
        let shift = levels.len();
        let mut merged = levels;
        let appended = std::mem::take(&mut out.levels);
        merged.extend_from_slice(&appended);
        out.levels = merged;
        for event in out.list.iter_mut().skip(snapshot.event_index + 1) {
            if let Event::Book(b) = event {
                b.bids = b.bids.start + shift..b.bids.end + shift;
                b.asks = b.asks.start + shift..b.asks.end + shift;
            }
        }
        if action == SyncAction::NeedSnapshot {
            out.list.push(Event::NeedBookSnapshot { symbol });
        }
    }
}

/// The WebSocket API connection (`ws-api/v3`): orders, queries, the user
/// data stream, `depth` snapshots.
#[derive(Debug)]
pub struct BinanceApi(Binance);

/// A market-streams connection (`/ws`, `/stream`): trades, tickers and
/// diff depth, synced from snapshots fed from the API connection. It takes
/// no orders.
#[derive(Debug)]
pub struct BinanceStreams(Binance);

/// A codec as a capture's header describes it ([`Venue::capture_config`]),
/// for a replay: the API connection or the market streams. Recorded
/// credentials become placeholders of the same kind (a session logon
/// needs an Ed25519 key); their keys and signatures differ only inside the
/// redacted spans.
#[derive(Debug)]
pub enum FromCapture {
    /// The WebSocket API connection.
    Api(BinanceApi),
    /// A market-streams connection.
    Streams(BinanceStreams),
}

/// Reads a capture header's `venue.` settings back into a codec.
pub fn from_capture(header: &crate::capture::Header) -> Result<FromCapture, String> {
    use crate::capture::{REPLAY_SECRET, venue_setting, venue_setting_or};
    let depth = venue_setting_or(header, "depth", DEFAULT_DEPTH)?;
    match venue_setting(header, "endpoint").unwrap_or("api") {
        "streams" => {
            let mut streams = BinanceStreams::new();
            streams.set_depth(depth);
            Ok(FromCapture::Streams(streams))
        }
        "api" => {
            let signer = match venue_setting(header, "signer").unwrap_or("none") {
                "none" => None,
                "hmac" => Some(Signer::Hmac(crate::secret::Secret::new(REPLAY_SECRET))),
                "ed25519" => Some(Signer::ed25519_from_bytes(&[7; 32])),
                other => return Err(format!("capture header: bad Binance signer {other}")),
            };
            let mut api = BinanceApi::new(signer.map(|signer| Credentials {
                api_key: crate::secret::Secret::new(REPLAY_SECRET),
                signer,
            }));
            api.0.set_depth(depth);
            api.set_session_logon(venue_setting_or(header, "session_logon", true)?);
            api.writer_mut().recv_window_ms = venue_setting_or(header, "recv_window_ms", 5_000)?;
            let defaults = AccountLimits::default();
            api.set_limits(AccountLimits {
                weight_per_minute: venue_setting_or(
                    header,
                    "weight_per_minute",
                    defaults.weight_per_minute,
                )?,
                orders_per_10s: venue_setting_or(
                    header,
                    "orders_per_10s",
                    defaults.orders_per_10s,
                )?,
                orders_per_day: venue_setting_or(
                    header,
                    "orders_per_day",
                    defaults.orders_per_day,
                )?,
            });
            Ok(FromCapture::Api(api))
        }
        other => Err(format!("capture header: bad Binance endpoint {other}")),
    }
}

impl BinanceApi {
    /// An API codec; without credentials only `ping` and `depth` encode.
    pub fn new(credentials: Option<Credentials>) -> BinanceApi {
        BinanceApi(Binance::new(Endpoint::Api, credentials))
    }

    /// The request writer (recvWindow, newOrderRespType, logon state).
    pub fn writer_mut(&mut self) -> &mut RequestWriter {
        self.0.writer_mut()
    }

    /// Whether an Ed25519 key logs the session on (the default) so that
    /// requests go unsigned; off, every request is signed.
    pub fn set_session_logon(&mut self, enabled: bool) {
        self.0.set_session_logon(enabled);
    }

    /// The account's limits the requests are paced by (default: a
    /// default account's).
    pub fn set_limits(&mut self, limits: AccountLimits) {
        self.0.limits = limits;
    }
}

impl BinanceStreams {
    /// A market-streams codec.
    pub fn new() -> BinanceStreams {
        BinanceStreams(Binance::new(Endpoint::Streams, None))
    }

    /// Levels a side kept per book.
    pub fn set_depth(&mut self, depth: u32) {
        self.0.set_depth(depth);
    }

    /// The local book of `symbol` (upper case), if kept.
    pub fn book(&self, symbol: &str) -> Option<&DepthSync> {
        self.0.book(symbol)
    }
}

impl Default for BinanceStreams {
    fn default() -> BinanceStreams {
        BinanceStreams::new()
    }
}

/// Both connection types are the shared codec with their endpoint fixed.
macro_rules! delegate_venue {
    ($outer:ty) => {
        impl Venue for $outer {
            fn name(&self) -> &'static str {
                self.0.name()
            }
            fn capabilities(&self) -> Capabilities {
                self.0.capabilities()
            }
            fn login(
                &mut self,
                ctx: &mut Ctx<'_>,
                req_id: u64,
                out: &mut Frames,
            ) -> Result<(), EncodeError> {
                self.0.login(ctx, req_id, out)
            }
            fn encode(
                &mut self,
                ctx: &mut Ctx<'_>,
                req_id: u64,
                request: &Request<'_>,
                out: &mut Frames,
            ) -> Result<Expect, EncodeError> {
                self.0.encode(ctx, req_id, request, out)
            }
            #[inline]
            fn decode(
                &mut self,
                ctx: &mut Ctx<'_>,
                kind: FrameKind,
                message: &mut [u8],
                out: &mut Events,
                reply: &mut Frames,
            ) -> Result<(), DecodeError> {
                self.0.decode(ctx, kind, message, out, reply)
            }
            fn feed_book_snapshot(
                &mut self,
                ctx: &mut Ctx<'_>,
                book: &BookEvent,
                levels: &[Level],
                out: &mut Events,
            ) {
                self.0.feed_book_snapshot(ctx, book, levels, out);
            }
            fn reset(&mut self) {
                self.0.reset();
            }
            fn split(&mut self) -> Option<Self> {
                self.0.split().map(Self)
            }
            fn take_note(&mut self) -> Option<Note> {
                self.0.take_note()
            }
            fn apply_note(&mut self, note: Note) {
                self.0.apply_note(note);
            }
            fn login_refusal_is_permanent(&self, message: &str) -> bool {
                self.0.login_refusal_is_permanent(message)
            }
            fn keepalive(&self) -> Keepalive {
                self.0.keepalive()
            }
            fn rate_policy(&self) -> RatePolicy {
                self.0.rate_policy()
            }
            fn capture_config(&self) -> String {
                self.0.capture_config()
            }
        }
    };
}

delegate_venue!(BinanceApi);
delegate_venue!(BinanceStreams);

impl Venue for Binance {
    fn name(&self) -> &'static str {
        "binance"
    }

    /// `-2015` (invalid API key, IP or permissions) and `-1022` (a
    /// signature the key's secret did not make) come back however often
    /// the logon is sent; `-1021` (timestamp outside recvWindow) and the
    /// rate refusals do not. The decoder writes `session.logon: <code>:
    /// <msg>`.
    fn login_refusal_is_permanent(&self, message: &str) -> bool {
        ["-2015:", "-1022:"]
            .iter()
            .any(|code| message.contains(code))
    }

    fn capabilities(&self) -> Capabilities {
        match self.endpoint {
            Endpoint::Api => Capabilities {
                order_entry: true,
                correlation: Correlation::ById,
                reconcile: Reconcile::QueryEach,
                book: BookKind::None,
                secret_fields: &["apiKey", "signature"],
                ..Capabilities::default()
            },
            Endpoint::Streams => Capabilities {
                order_entry: false,
                correlation: Correlation::ById,
                reconcile: Reconcile::NotApplicable,
                book: BookKind::SequencedWithSnapshot,
                secret_fields: &[],
                ..Capabilities::default()
            },
        }
    }

    fn login(
        &mut self,
        ctx: &mut Ctx<'_>,
        req_id: u64,
        out: &mut Frames,
    ) -> Result<(), EncodeError> {
        // HMAC keys sign every request; Ed25519 keys log the session on.
        if self.endpoint != Endpoint::Api || !self.session_logon || !self.writer.can_log_on() {
            self.writer.logged_on = false;
            return Ok(());
        }
        self.writer.set_wall_clock(ctx.wall_ns);
        self.writer.logged_on = false;
        self.writer
            .encode_logon(req_id, out.frame(FrameKind::Text))?;
        self.logon_id = Some(req_id);
        self.remember(
            req_id,
            Inflight {
                method: Method::Other,
                symbol: None,
                logon: true,
            },
        );
        // Replies come in request order, so what follows the logon may go
        // unsigned at once; a refused logon turns signing back on.
        self.writer.logged_on = true;
        Ok(())
    }

    fn encode(
        &mut self,
        ctx: &mut Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Frames,
    ) -> Result<Expect, EncodeError> {
        self.writer.set_wall_clock(ctx.wall_ns);
        let out = out.frame(FrameKind::Text);
        let result = match (self.endpoint, request) {
            (Endpoint::Streams, Request::Subscribe(s)) => {
                self.encode_stream_subscription(req_id, true, s, out)
            }
            (Endpoint::Streams, Request::Unsubscribe(s)) => {
                self.encode_stream_subscription(req_id, false, s, out)
            }
            (Endpoint::Streams, _) => Err(EncodeError::Unsupported(
                "requests other than SUBSCRIBE on the market streams",
            )),
            (Endpoint::Api, _) => self.writer.encode(req_id, request, out),
        };
        result?;
        let symbol = match request {
            Request::BookSnapshot { symbol, .. } | Request::QueryOrder { symbol, .. } => {
                Some(*symbol)
            }
            _ => None,
        };
        self.remember(
            req_id,
            Inflight {
                method: request.method(),
                symbol,
                logon: false,
            },
        );
        Ok(Expect::Replies(match request {
            // One event for the cancel, one for the new order.
            Request::CancelReplace(_) => 2,
            _ => 1,
        }))
    }

    fn decode(
        &mut self,
        _ctx: &mut Ctx<'_>,
        _kind: FrameKind,
        message: &mut [u8],
        out: &mut Events,
        _reply: &mut Frames,
    ) -> Result<(), DecodeError> {
        // Binance sends JSON text; its pings are WebSocket control frames,
        // which the connection answers.
        if self.endpoint == Endpoint::Streams && message.first() == Some(&b'{') {
            // Stream payloads dominate here; replies take the fallback.
            let looks_like_reply = message.starts_with(b"{\"result\"")
                || message.starts_with(b"{\"id\"")
                || message.starts_with(b"{\"code\"");
            if !looks_like_reply {
                return self.decode_stream_message(message, out);
            }
        }
        let inflight = &mut self.inflight;
        // The logon a reply answers, so a refusal names it.
        let mut logon_answered = None;
        let mut take = |id: u64| {
            let slot = &mut inflight[usize::try_from(id % INFLIGHT_SLOTS as u64).unwrap_or(0)];
            match slot {
                Some((held, _)) if *held == id => slot.take().map(|(_, i)| {
                    if i.logon {
                        logon_answered = Some(id);
                    }
                    i
                }),
                _ => None,
            }
        };
        let decoded = decode_api(message, &mut take, out)?;
        match decoded {
            ApiMessage::NotApi => self.decode_stream_message(message, out),
            ApiMessage::Handled { logon, snapshot } => {
                if logon == Some(false) {
                    self.writer.logged_on = false;
                    if let Some(req_id) = logon_answered {
                        self.notes.push(Note::LoginRefused { req_id });
                    }
                }
                if self.endpoint == Endpoint::Streams {
                    self.snapshots_after_subscribe(out);
                }
                if let Some(snapshot) = snapshot {
                    self.apply_snapshot_here(snapshot, out);
                }
                Ok(())
            }
        }
    }

    fn feed_book_snapshot(
        &mut self,
        _ctx: &mut Ctx<'_>,
        book: &BookEvent,
        levels: &[Level],
        out: &mut Events,
    ) {
        let Some(sync) = self.books.get_mut(&book.symbol) else {
            return;
        };
        let (Some(bids), Some(asks)) =
            (levels.get(book.bids.clone()), levels.get(book.asks.clone()))
        else {
            return;
        };
        let last_update_id = book.sequence.unwrap_or(0);
        let start = out.levels.len();
        out.levels.extend_from_slice(bids);
        let middle = out.levels.len();
        out.levels.extend_from_slice(asks);
        let snapshot_index = out.list.len();
        out.list.push(Event::Book(BookEvent {
            symbol: book.symbol,
            snapshot: true,
            bids: start..middle,
            asks: middle..out.levels.len(),
            checksum: None,
            sequence: Some(last_update_id),
            ts: book.ts,
            from_snapshot: true,
            grouping: None,
        }));
        if sync.on_snapshot(last_update_id, bids, asks, out) == SyncAction::NeedSnapshot {
            // Older than the buffered updates: drop the snapshot event.
            out.list.remove(snapshot_index);
            out.list.push(Event::NeedBookSnapshot {
                symbol: book.symbol,
            });
        }
    }

    fn reset(&mut self) {
        self.books.values_mut().for_each(DepthSync::reset);
        self.inflight.iter_mut().for_each(|slot| *slot = None);
    }

    fn split(&mut self) -> Option<Binance> {
        // The decoder holds no key: it reads replies and streams only.
        let mut decoder = Binance::new(self.endpoint, None);
        decoder.depth = self.depth;
        decoder.passive = self.passive;
        decoder.session_logon = self.session_logon;
        decoder.notes.start();
        self.notes.start();
        Some(decoder)
    }

    fn take_note(&mut self) -> Option<Note> {
        self.notes.pop()
    }

    fn apply_note(&mut self, note: Note) {
        // Applied without writing a note back, so none echoes.
        match note {
            Note::Sent {
                req_id,
                method,
                symbol,
                login,
            } => self.store_inflight(
                req_id,
                Inflight {
                    method,
                    symbol,
                    logon: login,
                },
            ),
            Note::Book { symbol, depth } => {
                self.sync_at_depth(symbol, depth);
            }
            // Only the current connection's logon: a refusal of one the
            // reactor has since replaced leaves the new session alone.
            Note::LoginRefused { req_id } if self.logon_id == Some(req_id) => {
                self.writer.logged_on = false;
            }
            Note::LoginRefused { .. } => {}
        }
    }

    fn keepalive(&self) -> Keepalive {
        Keepalive {
            // The server pings every 20 s; the engine answers those.
            idle_close_after: None,
            app_ping_every: None,
            heartbeat_every: None,
            max_connection_age: Some(Duration::from_secs(24 * 3_600)),
        }
    }

    fn capture_config(&self) -> String {
        let endpoint = match self.endpoint {
            Endpoint::Api => "api",
            Endpoint::Streams => "streams",
        };
        format!(
            "endpoint={endpoint}\ndepth={}\nsession_logon={}\nsigner={}\nrecv_window_ms={}\nweight_per_minute={}\norders_per_10s={}\norders_per_day={}",
            self.depth,
            self.session_logon,
            self.writer.signer_kind(),
            self.writer.recv_window_ms,
            self.limits.weight_per_minute,
            self.limits.orders_per_10s,
            self.limits.orders_per_day,
        )
    }

    fn rate_policy(&self) -> RatePolicy {
        if self.endpoint == Endpoint::Streams {
            // 5 incoming messages a second (pings and pongs count).
            return RatePolicy {
                limits: vec![RateLimit::Window {
                    name: "MESSAGES",
                    scope: LimitScope::Global,
                    window: Duration::from_secs(1),
                    max: 5,
                    costs: &[],
                }],
            };
        }
        RatePolicy {
            limits: vec![
                RateLimit::Window {
                    name: "REQUEST_WEIGHT",
                    scope: LimitScope::Global,
                    window: Duration::from_secs(60),
                    max: self.limits.weight_per_minute,
                    costs: REQUEST_WEIGHTS,
                },
                RateLimit::Window {
                    name: "ORDERS",
                    scope: LimitScope::Global,
                    window: Duration::from_secs(10),
                    max: self.limits.orders_per_10s,
                    costs: ORDER_COUNTS,
                },
                RateLimit::Window {
                    name: "ORDERS",
                    scope: LimitScope::Global,
                    window: Duration::from_secs(86_400),
                    max: self.limits.orders_per_day,
                    costs: ORDER_COUNTS,
                },
            ],
        }
    }
}

/// A codec for captured messages of the WebSocket API and the market
/// streams alike, with diff-depth books of `book_depth` levels.
pub fn offline_codec(book_depth: u32) -> Box<dyn Venue> {
    let mut binance = Binance::offline();
    binance.set_depth(book_depth.max(1));
    Box::new(binance)
}
