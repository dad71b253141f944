//! What a venue tells us, normalised (docs/events.md).

use std::ops::Range;

use super::{
    Asset, ClientOrderId, Liquidity, Method, OrderId, OrderStatus, Side, Symbol, TimeInForce,
    TradeId,
};
use crate::num::Decimal;

/// One price level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// Price.
    pub price: Decimal,
    /// Quantity; zero deletes the level in a delta.
    pub qty: Decimal,
}

/// A public trade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trade {
    /// Pair.
    pub symbol: Symbol,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// The aggressor's side, if known.
    pub side: Option<Side>,
    /// The venue's trade id.
    pub trade_id: TradeId,
    /// Venue time, ns since the epoch.
    pub ts: Option<i64>,
    /// Sent as part of the venue's snapshot on (re)subscribing, not live:
    /// a trade already seen may come again this way (Upbit re-sends the
    /// last trade of every market whenever the subscription set is sent;
    /// Kraken's `snapshot` type; DigiFinex `clean`). Deduplicate these by
    /// `trade_id`; live trades are new.
    pub from_snapshot: bool,
}

/// Best bid and ask and the day's volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticker {
    /// Pair.
    pub symbol: Symbol,
    /// Last trade price.
    pub last: Option<Decimal>,
    /// Best bid.
    pub bid: Option<Decimal>,
    /// Best ask.
    pub ask: Option<Decimal>,
    /// Quantity at the best bid.
    pub bid_qty: Option<Decimal>,
    /// Quantity at the best ask.
    pub ask_qty: Option<Decimal>,
    /// Volume.
    pub volume: Option<Decimal>,
    /// Venue time, ns since the epoch.
    pub ts: Option<i64>,
}

/// A book snapshot or delta. Its levels live in [`Events::levels`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookEvent {
    /// Pair.
    pub symbol: Symbol,
    /// A full snapshot (true) or a delta.
    pub snapshot: bool,
    /// Indexes of the bid levels in [`Events::levels`].
    pub bids: Range<usize>,
    /// Indexes of the ask levels in [`Events::levels`].
    pub asks: Range<usize>,
    /// The venue's checksum, if it sends one.
    pub checksum: Option<u32>,
    /// The venue's sequence number, if any.
    pub sequence: Option<u64>,
    /// Venue time, ns since the epoch.
    pub ts: Option<i64>,
    /// Sent as the venue's snapshot on (re)subscribing rather than by the
    /// live stream (Upbit `stream_type` SNAPSHOT; Kraken's `snapshot` type;
    /// DigiFinex `clean`; Binance's REST snapshot at depth sync). Upbit
    /// sends whole books either way, so `snapshot` (replace, not apply)
    /// and this flag differ there.
    pub from_snapshot: bool,
    /// The price unit the venue grouped levels by (Upbit's orderbook
    /// `level`, such as `10000` or `0.0000001`); None when ungrouped or
    /// when the venue has no grouping. Two subscriptions to one market at
    /// different groupings give books told apart by this.
    pub grouping: Option<Decimal>,
}

/// A request was accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderAck {
    /// The request's id.
    pub req_id: Option<u64>,
    /// What was asked.
    pub method: Method,
    /// The venue's order id, when the reply names one.
    pub order_id: Option<OrderId>,
    /// The client order id, when the reply names one.
    pub client_order_id: Option<ClientOrderId>,
    /// When the venue received the request (ns since the epoch).
    pub ts_in: Option<i64>,
    /// When the venue answered.
    pub ts_out: Option<i64>,
}

/// Why a request was refused, across venues; the venue's own code and text
/// stay in [`OrderReject`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// Malformed, a missing or bad parameter, a filter failure.
    InvalidRequest,
    /// Not enough balance.
    InsufficientFunds,
    /// No such order (never placed, or already gone).
    UnknownOrder,
    /// Over a rate limit.
    RateLimited,
    /// The signed timestamp is outside the receive window.
    BadTimestamp,
    /// The signature does not verify.
    BadSignature,
    /// The key, IP or permissions do not allow it.
    Unauthorized,
    /// A post-only order would have taken liquidity.
    WouldTake,
    /// The venue does not know whether it acted (Binance -1007): the order
    /// is `unknown`, not rejected.
    StatusUnknown,
    /// A cancel-replace's new order was not attempted.
    NotAttempted,
    /// Any other refusal.
    Other,
}

/// A request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderReject {
    /// The request's id.
    pub req_id: Option<u64>,
    /// What was asked.
    pub method: Method,
    /// The venue's error class (`EOrder`), or the whole error if it has none.
    pub code: String,
    /// The venue's error text, whole.
    pub message: String,
    /// The refusal, typed.
    pub reason: RejectReason,
    /// The order, when the reply names one (Kraken names the order that a
    /// cancel could not cancel).
    pub order_id: Option<OrderId>,
    /// When the venue received the request.
    pub ts_in: Option<i64>,
    /// When the venue answered.
    pub ts_out: Option<i64>,
}

/// An order's state, merged from whatever the venue sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderUpdate {
    /// The venue's id.
    pub order_id: OrderId,
    /// The client's id, if known.
    pub client_order_id: Option<ClientOrderId>,
    /// Pair, if known.
    pub symbol: Option<Symbol>,
    /// Side, if known.
    pub side: Option<Side>,
    /// The new status.
    pub status: OrderStatus,
    /// Limit price, if known.
    pub price: Option<Decimal>,
    /// Order quantity, if known.
    pub qty: Option<Decimal>,
    /// Filled so far, if known.
    pub filled_qty: Option<Decimal>,
    /// Whether this came from a snapshot (reconciliation after a reconnect).
    pub from_snapshot: bool,
    /// Venue time of this update.
    pub ts: Option<i64>,
    /// What else the venue reports of the order: what a market maker
    /// reconciles with (average price, notional, fees, type). Default
    /// (all unknown) where the venue sends none of it.
    pub detail: OrderDetail,
}

/// The parts of an [`OrderUpdate`] that only some venues report; each is
/// None (or false) where the venue is silent (docs/events.md lists who fills
/// what).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderDetail {
    /// Average price of what filled so far (Upbit `avg_price`, DigiFinex
    /// `price_avg`), as the venue computed it.
    pub avg_price: Option<Decimal>,
    /// Cumulative filled notional, in the quote asset (Upbit
    /// `executed_funds`, DigiFinex `notional`).
    pub filled_notional: Option<Decimal>,
    /// Cumulative fee paid on the order (Upbit `paid_fee`).
    pub fee: Option<Decimal>,
    /// The fee's asset.
    pub fee_asset: Option<Asset>,
    /// What the venue says the order is (limit, market, ...).
    pub order_type: Option<OrderType>,
    /// The order's time in force, as the venue reports it.
    pub time_in_force: Option<TimeInForce>,
    /// The order rests only if it adds liquidity (Upbit `post_only`).
    pub post_only: bool,
    /// When the venue created the order (Upbit `order_timestamp`), ns
    /// since the epoch; `ts` is this update's time.
    pub created_ts: Option<i64>,
    /// A trigger order's trigger price (DigiFinex `order_algo.update`
    /// `trigger_price`); the limit price is `price`.
    pub trigger_price: Option<Decimal>,
    /// How many trades the order has had (Upbit `trades_count`).
    pub trades_count: Option<u32>,
    /// What the order holds of the balance (Upbit `locked`: funds and fee
    /// reserved).
    pub locked: Option<Decimal>,
    /// Self-trade prevention acted on the order (Upbit state `prevented`):
    /// how, and by how much. The status says whether it lives on (`reduce`
    /// with volume left) or is canceled.
    pub prevented: Option<Prevented>,
}

/// What the venue says an order is, in an [`OrderUpdate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrderType {
    /// Rests at a price.
    Limit,
    /// Takes what the book has, sized in the base asset.
    Market,
    /// A market buy sized by the quote asset to spend (Upbit `price`).
    MarketByQuote,
    /// Priced at the best opposite quote, with a time in force (Upbit
    /// `best`).
    BestPrice,
    /// A limit order placed when a trigger price trades (DigiFinex's algo
    /// orders).
    StopLimit,
}

impl OrderType {
    /// The name `decode` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "limit",
            OrderType::Market => "market",
            OrderType::MarketByQuote => "market_by_quote",
            OrderType::BestPrice => "best_price",
            OrderType::StopLimit => "stop_limit",
        }
    }
}

/// How self-trade prevention acted (Upbit `smp_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelfTradeMode {
    /// The order was reduced by the matching volume and may live on.
    Reduce,
    /// The resting (maker) order was canceled.
    CancelMaker,
    /// The incoming (taker) order was canceled.
    CancelTaker,
}

impl SelfTradeMode {
    /// The venue's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SelfTradeMode::Reduce => "reduce",
            SelfTradeMode::CancelMaker => "cancel_maker",
            SelfTradeMode::CancelTaker => "cancel_taker",
        }
    }
}

/// Self-trade prevention on an order: not a plain cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prevented {
    /// How it acted, where the venue says.
    pub mode: Option<SelfTradeMode>,
    /// The volume prevented (Upbit `prevented_volume`).
    pub qty: Option<Decimal>,
    /// The funds released (Upbit `prevented_locked`).
    pub locked: Option<Decimal>,
}

/// A candle (OHLC bar) of public trades.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candle {
    /// Pair.
    pub symbol: Symbol,
    /// The bar's length as Binance writes it (`1s`, `1m`, `4h`, `1d`,
    /// `1w`, `1M`), whatever the venue's own notation.
    pub interval: Interval,
    /// Open.
    pub open: Decimal,
    /// High.
    pub high: Decimal,
    /// Low.
    pub low: Decimal,
    /// Close (the last trade so far, while the bar is open).
    pub close: Decimal,
    /// Base-asset volume.
    pub volume: Decimal,
    /// When the bar starts, ns since the epoch.
    pub start: i64,
    /// Whether the bar is final: Some(true) once closed (Binance `x`),
    /// Some(false) while it may change, None where the venue does not say
    /// (Kraken and Upbit re-send a bar until the next one starts).
    pub closed: Option<bool>,
    /// Sent as the venue's snapshot rather than live.
    pub from_snapshot: bool,
    /// Venue time of this message, ns since the epoch.
    pub ts: Option<i64>,
}

/// A candle's interval text (`1m`).
pub type Interval = arrayvec::ArrayString<8>;

/// One execution against an order of ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fill {
    /// The venue's order id.
    pub order_id: OrderId,
    /// The client's id, if known.
    pub client_order_id: Option<ClientOrderId>,
    /// Pair, if known.
    pub symbol: Option<Symbol>,
    /// Side, if known.
    pub side: Option<Side>,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// Fee, if given.
    pub fee: Option<Decimal>,
    /// Fee asset, if given.
    pub fee_asset: Option<Asset>,
    /// The venue's trade id (Kraken's integer `trade_id`, Binance
    /// `tradeId`): both sides of one trade share it.
    pub trade_id: TradeId,
    /// The venue's id of this execution (Kraken `exec_id`), where it has
    /// one apart from the trade id: it tells apart the two sides of a trade
    /// between two of our own orders.
    pub exec_id: Option<TradeId>,
    /// Worked out from cumulative order updates, not sent by the venue as
    /// an execution (DigiFinex pushes only cumulative `filled` and
    /// `price_avg`): the price is the increase in filled value
    /// (`price_avg * filled`) over the quantity's, the trade id is made up
    /// from the order id and the cumulative quantity, and fee and liquidity
    /// are unknown (docs/venues/digifinex.md says why not `notional`).
    pub derived: bool,
    /// Maker or taker, if given.
    pub liquidity: Option<Liquidity>,
    /// Venue time.
    pub ts: Option<i64>,
}

impl Fill {
    /// What a repeated delivery of this fill carries again: the execution
    /// id where the venue gives one, else the trade id.
    pub fn dedup_key(&self) -> &TradeId {
        self.exec_id.as_ref().unwrap_or(&self.trade_id)
    }
}

/// A balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    /// Asset.
    pub asset: Asset,
    /// Available.
    pub free: Decimal,
    /// Held by orders.
    pub locked: Decimal,
    /// Venue time of the balance (Upbit `asset_timestamp`), ns since the
    /// epoch.
    pub ts: Option<i64>,
}

/// Any other reply to a request (subscribed, pong, unsubscribed, errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The request's id, if the reply carries it.
    pub req_id: Option<u64>,
    /// What was asked.
    pub method: Method,
    /// Success.
    pub ok: bool,
    /// The venue's error text or a short description (channel name).
    pub message: Option<String>,
    /// When the venue received the request.
    pub ts_in: Option<i64>,
    /// When the venue answered.
    pub ts_out: Option<i64>,
}

/// Which of the venue's counters a [`RateUsage`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateCounter {
    /// Request weight (Binance's `REQUEST_WEIGHT`).
    RequestWeight,
    /// New orders (Binance's `ORDERS`).
    Orders,
    /// Raw requests (Binance's `RAW_REQUESTS`).
    RawRequests,
}

impl RateCounter {
    /// The name a [`crate::venue::RateLimit::Window`] carries for it.
    pub fn as_str(self) -> &'static str {
        match self {
            RateCounter::RequestWeight => "REQUEST_WEIGHT",
            RateCounter::Orders => "ORDERS",
            RateCounter::RawRequests => "RAW_REQUESTS",
        }
    }
}

/// The venue's own count of one rate limit, as of the reply to `req_id`:
/// the gateway makes its counter agree (the venue's count wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateUsage {
    /// The reply's request id.
    pub req_id: Option<u64>,
    /// Which counter.
    pub counter: RateCounter,
    /// The window, in seconds.
    pub window_secs: u64,
    /// The venue's ceiling.
    pub limit: u32,
    /// The venue's count, this request included.
    pub count: u32,
}

/// One normalised event.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A public trade.
    Trade(Trade),
    /// A ticker.
    Ticker(Ticker),
    /// A book snapshot or delta.
    Book(BookEvent),
    /// A candle.
    Candle(Candle),
    /// A request accepted.
    OrderAck(OrderAck),
    /// A request refused.
    OrderReject(OrderReject),
    /// An order's state: its index in [`Events::order_updates`]
    /// ([`Events::order_update`] reads it).
    OrderUpdate(usize),
    /// An execution: its index in [`Events::fills`] ([`Events::fill`]
    /// reads it).
    Fill(usize),
    /// A balance.
    Balance(Balance),
    /// Another reply.
    Response(Response),
    /// The venue's heartbeat.
    Heartbeat,
    /// Something the codec could not use; decoding goes on.
    Error(String),
    /// An error the venue sent, with its own name for it (Upbit
    /// `{"error":{"name":"NO_TICKET","message":..}}`).
    VenueError {
        /// The venue's name or code (`NO_TICKET`, `INVALID_AUTH`).
        name: String,
        /// Its message.
        message: String,
    },
    /// The local book no longer matches the venue's checksum: resubscribe.
    ChecksumMismatch {
        /// Pair.
        symbol: Symbol,
        /// The venue's checksum.
        expected: u32,
        /// Ours.
        computed: u32,
    },
    /// A snapshot of a private stream ended (after its updates, if any): the
    /// gateway reconciles unsettled orders against it.
    SnapshotEnd {
        /// Which stream (`executions`).
        channel: &'static str,
    },
    /// The venue refused a request for exceeding its rate limits (HTTP 429
    /// or 418): it was not acted on, and nothing may be sent before `until`.
    Throttled {
        /// The request's id.
        req_id: Option<u64>,
        /// What was asked.
        method: Method,
        /// The venue's error code (`-1003`).
        code: String,
        /// The venue's text.
        message: String,
        /// Wall-clock time (ns since the epoch) before which the venue
        /// refuses everything; None if it did not say.
        until: Option<i64>,
    },
    /// The venue's count of a rate limit.
    RateUsage(RateUsage),
    /// The venue will close the connection soon: reconnect proactively.
    ServerShutdown {
        /// Venue time of the notice.
        ts: Option<i64>,
    },
    /// A market-wide signal the venue sends in place of a trade time
    /// (Koscom's trdTm 31000000: the regular session closed); not a trade.
    MarketSignal {
        /// The instrument it came with, if any.
        symbol: Option<Symbol>,
        /// The venue's code.
        code: u32,
        /// What it means (`regular close`).
        meaning: &'static str,
    },
    /// The venue refused the session itself, not one request (KIS OPSP8996,
    /// `ALREADY IN USE appkey`: a second session on one key). The gateway
    /// closes the connection, and reconnects only if not `permanent`.
    SessionRefused {
        /// The venue's code (`OPSP8996`).
        code: String,
        /// The venue's text.
        message: String,
        /// Reconnecting would be refused again: stop.
        permanent: bool,
    },
    /// A book lost its sync (or was never synced) and needs a snapshot
    /// (a [`crate::model::Request::BookSnapshot`]) to continue.
    NeedBookSnapshot {
        /// The pair.
        symbol: Symbol,
    },
    /// A sequence number skipped: messages were lost.
    SequenceGap {
        /// Which stream.
        channel: &'static str,
        /// The number we expected.
        expected: u64,
        /// The number that came.
        got: u64,
    },
}

impl Event {
    /// The event's type as logs, metrics and summaries name it
    /// (`trade`, `book_snapshot`, `order_update`, ...; `other` for control
    /// events).
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::Trade(_) => "trade",
            Event::Ticker(_) => "ticker",
            Event::Candle(_) => "candle",
            Event::Book(b) if b.snapshot => "book_snapshot",
            Event::Book(_) => "book_delta",
            Event::OrderAck(_) => "order_ack",
            Event::OrderReject(_) => "order_reject",
            Event::OrderUpdate(_) => "order_update",
            Event::Fill(_) => "fill",
            Event::Balance(_) => "balance",
            Event::Response(_) => "response",
            Event::Heartbeat => "heartbeat",
            Event::Error(_) | Event::VenueError { .. } => "error",
            Event::SessionRefused { .. } => "session_refused",
            Event::MarketSignal { .. } => "market_signal",
            _ => "other",
        }
    }
}

/// Where a codec puts what one message decoded to. Reused across messages,
/// so steady-state decoding allocates nothing.
///
/// The large private events (an order update is 368 bytes, a fill 376) lie
/// in their own lists, as a book's levels do, and the [`Event`] in `list`
/// holds their index: every push copies a whole `Event`, and a trade or a
/// book event is then copied as a little over its own size, not as the
/// largest variant's (docs/benchmarks.md, "A smaller event").
#[derive(Clone, Debug, Default)]
pub struct Events {
    /// The events, in order.
    pub list: Vec<Event>,
    /// Book levels that [`BookEvent`]s index into.
    pub levels: Vec<Level>,
    /// Order updates that [`Event::OrderUpdate`]s index into.
    pub order_updates: Vec<OrderUpdate>,
    /// Fills that [`Event::Fill`]s index into.
    pub fills: Vec<Fill>,
}

/// How long each of an [`Events`]' lists was, to undo what a message added
/// when the rest of it fails to decode ([`Events::roll_back`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventsMark {
    list: usize,
    levels: usize,
    order_updates: usize,
    fills: usize,
}

impl Events {
    /// Empties every list, keeping their capacity.
    pub fn clear(&mut self) {
        self.list.clear();
        self.levels.clear();
        self.order_updates.clear();
        self.fills.clear();
    }

    /// The levels of a range in a [`BookEvent`].
    pub fn levels(&self, range: &Range<usize>) -> &[Level] {
        self.levels.get(range.clone()).unwrap_or(&[])
    }

    /// Appends an order update and the event that refers to it.
    pub fn push_order_update(&mut self, update: OrderUpdate) {
        self.list.push(Event::OrderUpdate(self.order_updates.len()));
        self.order_updates.push(update);
    }

    /// Appends a fill and the event that refers to it.
    pub fn push_fill(&mut self, fill: Fill) {
        self.list.push(Event::Fill(self.fills.len()));
        self.fills.push(fill);
    }

    /// The order update an [`Event::OrderUpdate`] refers to.
    pub fn order_update(&self, index: usize) -> Option<&OrderUpdate> {
        self.order_updates.get(index)
    }

    /// The fill an [`Event::Fill`] refers to.
    pub fn fill(&self, index: usize) -> Option<&Fill> {
        self.fills.get(index)
    }

    /// Where each list ends now.
    pub fn mark(&self) -> EventsMark {
        EventsMark {
            list: self.list.len(),
            levels: self.levels.len(),
            order_updates: self.order_updates.len(),
            fills: self.fills.len(),
        }
    }

    /// Drops whatever was added since `mark`.
    pub fn roll_back(&mut self, mark: EventsMark) {
        self.list.truncate(mark.list);
        self.levels.truncate(mark.levels);
        self.order_updates.truncate(mark.order_updates);
        self.fills.truncate(mark.fills);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every push copies an `Event`, so its size is watched: the largest
    /// variants are the order update and the fill (docs/benchmarks.md, "A
    /// smaller event").
    #[test]
    fn an_event_stays_within_its_size_budget() {
        let sizes = [
            ("event", size_of::<Event>()),
            ("order_update", size_of::<OrderUpdate>()),
            ("fill", size_of::<Fill>()),
            ("trade", size_of::<Trade>()),
            ("book", size_of::<BookEvent>()),
            ("ticker", size_of::<Ticker>()),
            ("candle", size_of::<Candle>()),
            ("order_ack", size_of::<OrderAck>()),
        ];
        println!("{sizes:?}");
        // 368 before issue 24, 472 with the order update's detail inline;
        // with order updates and fills in their own lists, a ticker or a
        // candle is the largest.
        assert!(size_of::<Event>() <= 208, "{sizes:?}");
    }
}
