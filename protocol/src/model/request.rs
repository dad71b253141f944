//! What a user asks a venue to do.

use super::{ClientOrderId, OrderId, Side, Symbol};
use crate::num::Decimal;

/// The kind of request, for correlation, rate limits and latency histograms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Method {
    /// Place one order.
    Place,
    /// Change a resting order.
    Amend,
    /// Cancel orders by id.
    Cancel,
    /// Cancel every open order.
    CancelAll,
    /// Arm or refresh the dead-man switch.
    CancelAllAfter,
    /// Place several orders in one request.
    BatchPlace,
    /// Subscribe to a channel.
    Subscribe,
    /// Unsubscribe from a channel.
    Unsubscribe,
    /// Application-level ping.
    Ping,
    /// Cancel one order and place another in one request (Binance).
    CancelReplace,
    /// Ask for one order's state (reconciliation of `unknown` orders).
    QueryOrder,
    /// Ask for a book snapshot (Binance's `depth`, for diff-depth sync).
    BookSnapshot,
    /// Anything else the venue answers.
    Other,
}

impl Method {
    /// Every method, for per-method tables.
    pub const ALL: [Method; 13] = [
        Method::Place,
        Method::Amend,
        Method::Cancel,
        Method::CancelAll,
        Method::CancelAllAfter,
        Method::BatchPlace,
        Method::Subscribe,
        Method::Unsubscribe,
        Method::Ping,
        Method::CancelReplace,
        Method::QueryOrder,
        Method::BookSnapshot,
        Method::Other,
    ];

    /// A stable lower-case name (`place`, `cancel_all_after`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Place => "place",
            Method::Amend => "amend",
            Method::Cancel => "cancel",
            Method::CancelAll => "cancel_all",
            Method::CancelAllAfter => "cancel_all_after",
            Method::BatchPlace => "batch_place",
            Method::Subscribe => "subscribe",
            Method::Unsubscribe => "unsubscribe",
            Method::Ping => "ping",
            Method::CancelReplace => "cancel_replace",
            Method::QueryOrder => "query_order",
            Method::BookSnapshot => "book_snapshot",
            Method::Other => "other",
        }
    }

    /// Position in [`Method::ALL`].
    pub fn index(self) -> usize {
        Method::ALL
            .iter()
            .position(|m| *m == self)
            .unwrap_or(Method::ALL.len() - 1)
    }
}

/// Limit or market; stop and post-only kinds will join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrderKind {
    /// Rests at `price`.
    Limit,
    /// Takes what the book has.
    Market,
}

/// How long an order may rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeInForce {
    /// Until canceled.
    #[default]
    GoodTillCanceled,
    /// Fill what crosses now, cancel the rest.
    ImmediateOrCancel,
    /// Fill all of it now, or none.
    FillOrKill,
}

impl TimeInForce {
    /// `gtc`, `ioc` or `fok`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::GoodTillCanceled => "gtc",
            TimeInForce::ImmediateOrCancel => "ioc",
            TimeInForce::FillOrKill => "fok",
        }
    }
}

/// A new order. The client order id is the key of the order's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// The client's id for this order.
    pub client_order_id: ClientOrderId,
    /// The pair.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    pub kind: OrderKind,
    /// Limit price (required for limit orders).
    pub price: Option<Decimal>,
    /// Quantity in the base asset.
    pub qty: Decimal,
    /// Time in force.
    pub time_in_force: TimeInForce,
    /// Reject instead of taking liquidity.
    pub post_only: bool,
}

/// Names an existing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderRef {
    /// By the venue's id.
    OrderId(OrderId),
    /// By the client's id.
    ClientOrderId(ClientOrderId),
}

/// A change to a resting order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmendOrder {
    /// Which order.
    pub order: OrderRef,
    /// The pair, for venues that address orders per pair (Binance). Kraken
    /// ignores it.
    pub symbol: Option<Symbol>,
    /// New limit price, if it changes.
    pub price: Option<Decimal>,
    /// New quantity, if it changes.
    pub qty: Option<Decimal>,
}

/// Orders to cancel (one request; some venues answer once per order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelOrders {
    /// The orders; one kind of reference per request.
    pub orders: Vec<OrderRef>,
    /// The pair, for venues that cancel per pair (Binance). Kraken ignores
    /// it.
    pub symbol: Option<Symbol>,
}

/// What a cancel-replace does when its cancel fails (Binance's
/// `cancelReplaceMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceMode {
    /// No new order unless the cancel succeeded.
    StopOnFailure,
    /// Place the new order whatever became of the cancel.
    AllowFailure,
}

/// Cancel one order and place another, in one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelReplace {
    /// The order to cancel.
    pub cancel: OrderRef,
    /// What to do if the cancel fails.
    pub mode: ReplaceMode,
    /// The order to place (its symbol is the canceled order's too).
    pub new_order: NewOrder,
}

/// A market-data or private channel.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subscription {
    /// Order book to `depth` levels.
    Book {
        /// Pairs.
        symbols: Vec<Symbol>,
        /// Levels per side.
        depth: u32,
    },
    /// Best bid and ask and the day's figures.
    Ticker {
        /// Pairs.
        symbols: Vec<Symbol>,
    },
    /// Public trades.
    Trades {
        /// Pairs.
        symbols: Vec<Symbol>,
    },
    /// The account's order and fill stream, with a snapshot of open orders.
    Executions {
        /// Ask for open orders first.
        snapshot_orders: bool,
        /// Ask for recent fills first.
        snapshot_trades: bool,
    },
    /// The account's order updates for these pairs, on venues whose private
    /// order feed is subscribed pair by pair (DigiFinex `order.subscribe`).
    /// Venues with one account-wide feed refuse it: take `Executions`.
    Orders {
        /// Pairs.
        symbols: Vec<Symbol>,
    },
    /// The account's trigger (stop) orders of these pairs, on venues that
    /// report them on their own feed (DigiFinex `order_algo.subscribe`):
    /// each comes as an order update of type `StopLimit` with its trigger
    /// price. Venues that report triggers with other orders refuse it.
    TriggerOrders {
        /// Pairs.
        symbols: Vec<Symbol>,
    },
    /// The account's balances of these assets, on venues that subscribe
    /// them asset by asset (DigiFinex `balance.subscribe`).
    Balances {
        /// Assets (`USDT`, `BTC`).
        assets: Vec<Symbol>,
    },
    /// Candles (OHLC bars) of one interval.
    Candles {
        /// Pairs.
        symbols: Vec<Symbol>,
        /// The bar's length as Binance writes it (`1m`, `1h`, `1d`); each
        /// venue refuses the intervals it does not serve.
        interval: super::Interval,
    },
    /// An order book whose levels the venue groups by a price unit (Upbit
    /// `level`, KRW markets): another stream than the ungrouped book of the
    /// same pair, told apart by [`super::BookEvent::grouping`].
    GroupedBook {
        /// Pairs.
        symbols: Vec<Symbol>,
        /// Levels per side.
        depth: u32,
        /// The price unit (`10000`, `0.0001`).
        grouping: Decimal,
    },
}

/// One request, borrowed from the caller.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Request<'a> {
    /// Place an order.
    Place(&'a NewOrder),
    /// Amend an order.
    Amend(&'a AmendOrder),
    /// Cancel orders.
    Cancel(&'a CancelOrders),
    /// Cancel every open order (of one pair, on venues that need it).
    CancelAll {
        /// The pair (Binance cancels per pair; Kraken ignores it).
        symbol: Option<Symbol>,
    },
    /// Cancel one order and place another.
    CancelReplace(&'a CancelReplace),
    /// One order's state, by reference.
    QueryOrder {
        /// Which order.
        order: OrderRef,
        /// Its pair.
        symbol: Symbol,
    },
    /// A book snapshot of `limit` levels a side.
    BookSnapshot {
        /// The pair.
        symbol: Symbol,
        /// Levels a side.
        limit: u32,
    },
    /// Arm (or with 0 disarm) the dead-man switch for `timeout_secs`.
    CancelAllAfter {
        /// Seconds until the venue cancels everything.
        timeout_secs: u32,
    },
    /// Place several orders at once.
    BatchPlace(&'a [NewOrder]),
    /// Subscribe.
    Subscribe(&'a Subscription),
    /// Unsubscribe.
    Unsubscribe(&'a Subscription),
    /// Application-level ping.
    Ping,
    /// The venue's clock (DigiFinex `server.time`, Binance `time`): to
    /// measure the offset an auth timestamp must stay within.
    ServerTime,
}

impl Request<'_> {
    /// Whether the request places, changes, cancels or asks after orders:
    /// what a connection without order entry refuses.
    pub fn is_order_entry(&self) -> bool {
        matches!(
            self,
            Request::Place(_)
                | Request::Amend(_)
                | Request::Cancel(_)
                | Request::CancelAll { .. }
                | Request::CancelReplace(_)
                | Request::QueryOrder { .. }
                | Request::CancelAllAfter { .. }
                | Request::BatchPlace(_)
        )
    }

    /// The request's method.
    pub fn method(&self) -> Method {
        match self {
            Request::Place(_) => Method::Place,
            Request::Amend(_) => Method::Amend,
            Request::Cancel(_) => Method::Cancel,
            Request::CancelAll { .. } => Method::CancelAll,
            Request::CancelReplace(_) => Method::CancelReplace,
            Request::QueryOrder { .. } => Method::QueryOrder,
            Request::BookSnapshot { .. } => Method::BookSnapshot,
            Request::CancelAllAfter { .. } => Method::CancelAllAfter,
            Request::BatchPlace(_) => Method::BatchPlace,
            Request::Subscribe(_) => Method::Subscribe,
            Request::Unsubscribe(_) => Method::Unsubscribe,
            Request::Ping => Method::Ping,
            Request::ServerTime => Method::Other,
        }
    }
}

/// An owned request: what waits in the gateway's rate-limit queue.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnedRequest {
    /// Place an order.
    Place(NewOrder),
    /// Amend an order.
    Amend(AmendOrder),
    /// Cancel orders.
    Cancel(CancelOrders),
    /// Cancel every open order.
    CancelAll {
        /// The pair, where the venue needs one.
        symbol: Option<Symbol>,
    },
    /// Cancel one order and place another.
    CancelReplace(CancelReplace),
    /// One order's state.
    QueryOrder {
        /// Which order.
        order: OrderRef,
        /// Its pair.
        symbol: Symbol,
    },
    /// A book snapshot.
    BookSnapshot {
        /// The pair.
        symbol: Symbol,
        /// Levels a side.
        limit: u32,
    },
    /// Arm or refresh the dead-man switch.
    CancelAllAfter {
        /// Seconds.
        timeout_secs: u32,
    },
    /// Place several orders.
    BatchPlace(Vec<NewOrder>),
    /// Subscribe.
    Subscribe(Subscription),
    /// Unsubscribe.
    Unsubscribe(Subscription),
    /// Application ping.
    Ping,
    /// The venue's clock.
    ServerTime,
}

impl OwnedRequest {
    /// Borrows it as a [`Request`].
    pub fn as_request(&self) -> Request<'_> {
        match self {
            OwnedRequest::Place(order) => Request::Place(order),
            OwnedRequest::Amend(amend) => Request::Amend(amend),
            OwnedRequest::Cancel(cancel) => Request::Cancel(cancel),
            OwnedRequest::CancelAll { symbol } => Request::CancelAll { symbol: *symbol },
            OwnedRequest::CancelReplace(replace) => Request::CancelReplace(replace),
            OwnedRequest::QueryOrder { order, symbol } => Request::QueryOrder {
                order: *order,
                symbol: *symbol,
            },
            OwnedRequest::BookSnapshot { symbol, limit } => Request::BookSnapshot {
                symbol: *symbol,
                limit: *limit,
            },
            OwnedRequest::CancelAllAfter { timeout_secs } => Request::CancelAllAfter {
                timeout_secs: *timeout_secs,
            },
            OwnedRequest::BatchPlace(orders) => Request::BatchPlace(orders),
            OwnedRequest::Subscribe(sub) => Request::Subscribe(sub),
            OwnedRequest::Unsubscribe(sub) => Request::Unsubscribe(sub),
            OwnedRequest::Ping => Request::Ping,
            OwnedRequest::ServerTime => Request::ServerTime,
        }
    }
}

impl Request<'_> {
    /// An owned copy (for queueing).
    pub fn to_owned_request(&self) -> OwnedRequest {
        match *self {
            Request::Place(order) => OwnedRequest::Place(order.clone()),
            Request::Amend(amend) => OwnedRequest::Amend(amend.clone()),
            Request::Cancel(cancel) => OwnedRequest::Cancel(cancel.clone()),
            Request::CancelAll { symbol } => OwnedRequest::CancelAll { symbol },
            Request::CancelReplace(replace) => OwnedRequest::CancelReplace(replace.clone()),
            Request::QueryOrder { order, symbol } => OwnedRequest::QueryOrder { order, symbol },
            Request::BookSnapshot { symbol, limit } => OwnedRequest::BookSnapshot { symbol, limit },
            Request::CancelAllAfter { timeout_secs } => {
                OwnedRequest::CancelAllAfter { timeout_secs }
            }
            Request::BatchPlace(orders) => OwnedRequest::BatchPlace(orders.to_vec()),
            Request::Subscribe(sub) => OwnedRequest::Subscribe(sub.clone()),
            Request::Unsubscribe(sub) => OwnedRequest::Unsubscribe(sub.clone()),
            Request::Ping => OwnedRequest::Ping,
            Request::ServerTime => OwnedRequest::ServerTime,
        }
    }
}
