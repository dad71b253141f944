//! Binance market streams (`wss://stream.binance.com:9443`): raw payloads
//! and combined `{"stream":..,"data":..}` wrappers to normalised events,
//! and the diff-depth U/u synchronisation (binance.md "Market streams").

use crate::book::Book;
use crate::json::{Kind, Scanner};
use crate::model::{
    BookEvent, Candle, Event, Events, Level, Method, Response, Side, Ticker, Trade, inline,
};
use crate::num::Decimal;
use crate::venue::DecodeError;
use crate::venue::fields::{field, read_pairs, text_decimal};

fn integer(scanner: &mut Scanner<'_>, name: &'static str) -> Result<u64, DecodeError> {
    std::str::from_utf8(scanner.number()?)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(field(name, "not an unsigned integer"))
}

/// A kline stream's `k`: `t` start, `s`, `i` interval, `o h l c v`, `x`
/// closed (the rest, trade ids and quote volumes, is not kept).
fn read_kline(scanner: &mut Scanner<'_>) -> Result<Candle, DecodeError> {
    let (mut start, mut symbol, mut interval, mut closed) = (None, None, None, None);
    let (mut open, mut high, mut low, mut close, mut volume) = (None, None, None, None, None);
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"t" => start = Some(integer(scanner, "t")?),
            b"s" => symbol = scanner.string()?.plain().and_then(inline),
            b"i" => interval = scanner.string()?.plain().and_then(inline),
            b"o" => open = Some(text_decimal(scanner, "o")?),
            b"h" => high = Some(text_decimal(scanner, "h")?),
            b"l" => low = Some(text_decimal(scanner, "l")?),
            b"c" => close = Some(text_decimal(scanner, "c")?),
            b"v" => volume = Some(text_decimal(scanner, "v")?),
            b"x" => closed = Some(scanner.boolean()?),
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    let missing = || field("kline", "t, s, i, o, h, l, c, v and x are required");
    Ok(Candle {
        symbol: symbol.ok_or_else(missing)?,
        interval: interval.ok_or_else(missing)?,
        open: open.ok_or_else(missing)?,
        high: high.ok_or_else(missing)?,
        low: low.ok_or_else(missing)?,
        close: close.ok_or_else(missing)?,
        volume: volume.ok_or_else(missing)?,
        start: start.and_then(millis_to_ns).ok_or_else(missing)?,
        closed: Some(closed.ok_or_else(missing)?),
        from_snapshot: false,
        ts: None,
    })
}

fn millis_to_ns(ms: u64) -> Option<i64> {
    i64::try_from(ms).ok()?.checked_mul(1_000_000)
}

/// One diff-depth update, owned (it may wait in the sync buffer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepthUpdate {
    /// Symbol (upper case, as the payload's `s`).
    pub symbol: crate::model::Symbol,
    /// First update id in the event (`U`).
    pub first_id: u64,
    /// Last update id in the event (`u`).
    pub last_id: u64,
    /// Bid changes (qty 0 removes).
    pub bids: Vec<Level>,
    /// Ask changes.
    pub asks: Vec<Level>,
    /// Event time, ns since the epoch.
    pub ts: Option<i64>,
}

/// A diff-depth update whose levels sit in `Events::levels` (the decoding
/// hot path: nothing is copied or allocated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepthRef {
    /// Symbol.
    pub symbol: crate::model::Symbol,
    /// `U`.
    pub first_id: u64,
    /// `u`.
    pub last_id: u64,
    /// Bid changes in `Events::levels`.
    pub bids: std::ops::Range<usize>,
    /// Ask changes in `Events::levels`.
    pub asks: std::ops::Range<usize>,
    /// Event time, ns since the epoch.
    pub ts: Option<i64>,
}

impl DepthRef {
    /// An owned copy (for the sync buffer).
    pub fn to_owned_update(&self, levels: &[Level]) -> DepthUpdate {
        DepthUpdate {
            symbol: self.symbol,
            first_id: self.first_id,
            last_id: self.last_id,
            bids: levels.get(self.bids.clone()).unwrap_or(&[]).to_vec(),
            asks: levels.get(self.asks.clone()).unwrap_or(&[]).to_vec(),
            ts: self.ts,
        }
    }

    /// Where its levels start (they are the last ones appended).
    fn levels_start(&self) -> usize {
        self.bids.start.min(self.asks.start)
    }
}

/// What a stream message was, with depth levels left in `Events::levels`.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamRef {
    /// Events were appended.
    Events,
    /// A diff-depth update.
    Depth(DepthRef),
}

/// What a stream message was.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamMessage {
    /// Events were appended (trade, aggTrade, bookTicker, a subscribe reply).
    Events,
    /// A diff-depth update, for [`DepthSync`].
    Depth(DepthUpdate),
}

/// Decodes one stream message; a depth update comes back owned.
pub fn decode_stream(message: &[u8], out: &mut Events) -> Result<StreamMessage, DecodeError> {
    Ok(match decode_stream_ref(message, out)? {
        StreamRef::Events => StreamMessage::Events,
        StreamRef::Depth(depth) => {
            let owned = depth.to_owned_update(&out.levels);
            out.levels.truncate(depth.levels_start());
            StreamMessage::Depth(owned)
        }
    })
}

/// Decodes one stream message, leaving a depth update's levels in
/// `out.levels` (nothing allocated once `out` has grown).
pub fn decode_stream_ref(message: &[u8], out: &mut Events) -> Result<StreamRef, DecodeError> {
    let levels_at = out.levels.len();
    let result = decode_stream_inner(message, out);
    if result.is_err() {
        out.levels.truncate(levels_at);
    }
    result
}

fn decode_stream_inner(message: &[u8], out: &mut Events) -> Result<StreamRef, DecodeError> {
    let mut scanner = Scanner::new(message);
    scanner.begin_object()?;
    // Fields of every payload shape, read in one pass.
    let mut kind: Option<&[u8]> = None;
    let (mut symbol, mut event_time, mut trade_time) = (None, None, None);
    let (mut price, mut qty, mut maker, mut trade_id) = (None, None, None, None);
    let (mut first_id, mut last_id) = (None, None);
    let (mut bid, mut bid_qty, mut ask, mut ask_qty) = (None, None, None, None);
    let (mut id, mut code, mut msg, mut result_seen) = (None, None, None, false);
    let (mut bids, mut asks) = (None, None);
    let mut kline = None;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"stream" => {
                scanner.string()?;
            }
            b"k" if scanner.kind()? == Kind::Object => kline = Some(read_kline(&mut scanner)?),
            // A combined stream wraps the payload: decode what is inside.
            b"data" => {
                let inner = scanner.skip_value()?;
                return decode_stream_inner(inner, out);
            }
            b"e" => kind = Some(scanner.string()?.raw),
            b"E" => event_time = Some(integer(&mut scanner, "E")?),
            b"T" => trade_time = Some(integer(&mut scanner, "T")?),
            b"s" => {
                symbol = Some(
                    inline(scanner.string()?.plain().ok_or(field("s", "escaped"))?)
                        .ok_or(field("s", "too long"))?,
                )
            }
            b"p" => price = Some(text_decimal(&mut scanner, "p")?),
            b"q" => qty = Some(text_decimal(&mut scanner, "q")?),
            b"m" => maker = Some(scanner.boolean()?),
            b"t" | b"a" if scanner.kind()? == Kind::Number => {
                trade_id = Some(integer(&mut scanner, "t")?)
            }
            b"U" => first_id = Some(integer(&mut scanner, "U")?),
            b"u" => last_id = Some(integer(&mut scanner, "u")?),
            b"b" if scanner.kind()? == Kind::Array => {
                let start = out.levels.len();
                read_pairs(&mut scanner, &mut out.levels)?;
                bids = Some(start..out.levels.len());
            }
            b"a" if scanner.kind()? == Kind::Array => {
                let start = out.levels.len();
                read_pairs(&mut scanner, &mut out.levels)?;
                asks = Some(start..out.levels.len());
            }
            b"b" => bid = Some(text_decimal(&mut scanner, "b")?),
            b"B" => bid_qty = Some(text_decimal(&mut scanner, "B")?),
            b"a" => ask = Some(text_decimal(&mut scanner, "a")?),
            b"A" => ask_qty = Some(text_decimal(&mut scanner, "A")?),
            b"id" => {
                id = match scanner.kind()? {
                    Kind::Number => Some(integer(&mut scanner, "id")?),
                    _ => {
                        scanner.skip_value()?;
                        None
                    }
                }
            }
            b"result" => {
                result_seen = true;
                scanner.skip_value()?;
            }
            b"code" => {
                code = Some(
                    std::str::from_utf8(scanner.number()?)
                        .unwrap_or("")
                        .to_owned(),
                );
            }
            b"msg" => msg = Some(scanner.string()?.unescape()),
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    scanner.finish()?;
    let ts = event_time.and_then(millis_to_ns);
    match kind {
        Some(b"trade" | b"aggTrade") => {
            let (Some(symbol), Some(price), Some(qty)) = (symbol, price, qty) else {
                return Err(field("trade", "s, p and q are required"));
            };
            let mut trade_text = [0u8; 40];
            // An integer's decimal digits, from the decimal formatter.
            let trade_id = trade_id
                .and_then(|t| Decimal::new(i128::from(t), 0))
                .map_or(&[][..], |t| t.checksum_digits(&mut trade_text));
            let trade_id = std::str::from_utf8(trade_id).unwrap_or("");
            out.list.push(Event::Trade(Trade {
                symbol,
                price,
                qty,
                // `m`: the buyer is the maker, so the aggressor sold.
                side: maker.map(|m| if m { Side::Sell } else { Side::Buy }),
                trade_id: inline(trade_id).unwrap_or_default(),
                ts: trade_time.and_then(millis_to_ns).or(ts),
                from_snapshot: false,
            }));
            Ok(StreamRef::Events)
        }
        Some(b"kline") => {
            let mut candle = kline.ok_or(field("kline", "k is required"))?;
            candle.ts = ts;
            out.list.push(Event::Candle(candle));
            Ok(StreamRef::Events)
        }
        Some(b"depthUpdate") => {
            let (Some(symbol), Some(first_id), Some(last_id)) = (symbol, first_id, last_id) else {
                return Err(field("depthUpdate", "s, U and u are required"));
            };
            let end = out.levels.len();
            Ok(StreamRef::Depth(DepthRef {
                symbol,
                first_id,
                last_id,
                bids: bids.unwrap_or(end..end),
                asks: asks.unwrap_or(end..end),
                ts,
            }))
        }
        // bookTicker has no "e": it is recognised by its fields.
        None if bid.is_some() && ask.is_some() && symbol.is_some() => {
            out.list.push(Event::Ticker(Ticker {
                symbol: symbol.unwrap_or_default(),
                last: None,
                bid,
                ask,
                bid_qty,
                ask_qty,
                volume: None,
                ts,
            }));
            Ok(StreamRef::Events)
        }
        None if result_seen || code.is_some() => {
            out.list.push(Event::Response(Response {
                req_id: id,
                method: Method::Subscribe,
                ok: code.is_none(),
                message: code.map(|c| format!("{c}: {}", msg.unwrap_or_default())),
                ts_in: None,
                ts_out: None,
            }));
            Ok(StreamRef::Events)
        }
        _ => Err(DecodeError::Unknown("stream message")),
    }
}

/// What [`DepthSync`] asks of its driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncAction {
    /// Nothing to do.
    None,
    /// Fetch a snapshot (`depth` request) and pass it to `on_snapshot`.
    NeedSnapshot,
}

/// One symbol's book kept in step with diff-depth updates by the U/u rules:
/// buffer updates until a snapshot arrives; a snapshot older than the first
/// buffered update is taken again; updates ending at or before the
/// snapshot's id are dropped; a gap (`U` beyond the local id + 1) resyncs.
#[derive(Debug)]
pub struct DepthSync {
    book: Book,
    last_id: Option<u64>,
    buffer: Vec<DepthUpdate>,
    passive: bool,
    /// A snapshot was asked for and has not come.
    awaiting_snapshot: bool,
}

impl DepthSync {
    /// A book kept to `depth` levels a side, waiting for its first snapshot.
    pub fn new(depth: usize) -> DepthSync {
        DepthSync {
            book: Book::new(depth),
            last_id: None,
            buffer: Vec::new(),
            passive: false,
            awaiting_snapshot: false,
        }
    }

    /// Passive (decoding a capture): without a snapshot, the book starts
    /// from the first update instead of waiting, so deltas and gaps are
    /// still reported.
    pub fn set_passive(&mut self, passive: bool) {
        self.passive = passive;
    }

    /// Forgets the book and the buffer (the connection dropped).
    pub fn reset(&mut self) {
        self.book.clear();
        self.last_id = None;
        self.buffer.clear();
        self.awaiting_snapshot = false;
    }

    /// Asks for a snapshot (right after subscribing) unless one is
    /// already on its way or the book is synced: true if the driver should
    /// fetch one.
    pub fn want_snapshot(&mut self) -> bool {
        if self.passive || self.is_synced() || self.awaiting_snapshot {
            return false;
        }
        self.awaiting_snapshot = true;
        true
    }

    /// The book (valid when `is_synced`).
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// Whether the book follows the stream.
    pub fn is_synced(&self) -> bool {
        self.last_id.is_some()
    }

    /// Takes an owned update (from the buffer, or a caller's): its levels
    /// are appended to `out.levels` and it goes the way of [`Self::on_depth`].
    pub fn on_update(&mut self, update: DepthUpdate, out: &mut Events) -> SyncAction {
        let start = out.levels.len();
        out.levels.extend_from_slice(&update.bids);
        let middle = out.levels.len();
        out.levels.extend_from_slice(&update.asks);
        let depth = DepthRef {
            symbol: update.symbol,
            first_id: update.first_id,
            last_id: update.last_id,
            bids: start..middle,
            asks: middle..out.levels.len(),
            ts: update.ts,
        };
        self.on_depth(depth, out)
    }

    /// Takes an update whose levels are the last ones in `out.levels`:
    /// applied, it becomes a `book_delta` over those very levels; dropped
    /// or buffered, its levels leave `out`; a gap is an `error` event (and
    /// a resync).
    pub fn on_depth(&mut self, depth: DepthRef, out: &mut Events) -> SyncAction {
        let Some(last) = self.last_id else {
            if self.passive {
                self.apply(depth, out);
                return SyncAction::None;
            }
            self.buffer.push(depth.to_owned_update(&out.levels));
            out.levels.truncate(depth.levels_start());
            return if self.want_snapshot() {
                SyncAction::NeedSnapshot
            } else {
                SyncAction::None
            };
        };
        if depth.last_id <= last {
            out.levels.truncate(depth.levels_start());
            return SyncAction::None;
        }
        if depth.first_id > last + 1 {
            out.list.push(Event::SequenceGap {
                channel: "depthUpdate",
                expected: last + 1,
                got: depth.first_id,
            });
            if self.passive {
                // Offline there is no snapshot to wait for: go on from here.
                self.apply(depth, out);
                return SyncAction::None;
            }
            self.last_id = None;
            self.buffer.clear();
            self.buffer.push(depth.to_owned_update(&out.levels));
            out.levels.truncate(depth.levels_start());
            self.awaiting_snapshot = true;
            return SyncAction::NeedSnapshot;
        }
        self.apply(depth, out);
        SyncAction::None
    }

    /// Takes a snapshot (`lastUpdateId` and its levels).
    pub fn on_snapshot(
        &mut self,
        last_update_id: u64,
        bids: &[Level],
        asks: &[Level],
        out: &mut Events,
    ) -> SyncAction {
        if self
            .buffer
            .first()
            .is_some_and(|u| last_update_id < u.first_id)
        {
            // Older than what we hold: the venue says take it again.
            self.awaiting_snapshot = true;
            return SyncAction::NeedSnapshot;
        }
        self.awaiting_snapshot = false;
        self.book.clear();
        for level in bids {
            self.book.update_bid(*level);
        }
        for level in asks {
            self.book.update_ask(*level);
        }
        self.book.truncate();
        self.last_id = Some(last_update_id);
        let buffered = std::mem::take(&mut self.buffer);
        let mut action = SyncAction::None;
        for update in buffered {
            if self.last_id.is_none() {
                self.buffer.push(update);
                continue;
            }
            action = self.on_update(update, out);
        }
        action
    }

    fn apply(&mut self, depth: DepthRef, out: &mut Events) {
        for level in out.levels.get(depth.bids.clone()).unwrap_or(&[]) {
            self.book.update_bid(*level);
        }
        for level in out.levels.get(depth.asks.clone()).unwrap_or(&[]) {
            self.book.update_ask(*level);
        }
        self.book.truncate();
        self.last_id = Some(depth.last_id);
        out.list.push(Event::Book(BookEvent {
            symbol: depth.symbol,
            snapshot: false,
            bids: depth.bids,
            asks: depth.asks,
            checksum: None,
            sequence: Some(depth.last_id),
            ts: depth.ts,
            from_snapshot: false,
            grouping: None,
        }));
    }
}
