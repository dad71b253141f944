//! The normalised model every venue codec speaks: requests going out and the
//! events of docs/events.md coming in.
//!
//! Identifiers are fixed-capacity inline strings ([`arrayvec::ArrayString`]) so
//! that decoding an ack or an execution allocates nothing; only error texts
//! (rare, and worth keeping whole) are `String`s.

mod builder;
mod event;
mod json_out;
mod order;
mod request;

pub use builder::{
    BuildError, IntoAmount, OrderBuilder, next_client_order_id, set_client_order_id_prefix,
};
pub use event::{
    Balance, BookEvent, Candle, Event, Events, Fill, Interval, Level, OrderAck, OrderDetail,
    OrderReject, OrderType, OrderUpdate, Prevented, RateCounter, RateUsage, RejectReason, Response,
    SelfTradeMode, Ticker, Trade,
};
pub use json_out::{write_event_json, write_json_string};
pub use order::{OrderStatus, Transition};
pub use request::{
    AmendOrder, CancelOrders, CancelReplace, Method, NewOrder, OrderKind, OrderRef, OwnedRequest,
    ReplaceMode, Request, Subscription, TimeInForce,
};

use arrayvec::ArrayString;

/// A trading pair or instrument as the venue spells it (`BTC/USD`).
pub type Symbol = ArrayString<32>;
/// The venue's order id.
pub type OrderId = ArrayString<48>;
/// The client order id (Kraken `cl_ord_id`: a UUID or up to 18 characters).
pub type ClientOrderId = ArrayString<48>;
/// A trade or execution id, as text (venues use numbers or strings).
pub type TradeId = ArrayString<48>;
/// An asset code (`USD`).
pub type Asset = ArrayString<16>;

/// Copies `text` into an inline string; `None` if it does not fit.
pub fn inline<const N: usize>(text: &str) -> Option<ArrayString<N>> {
    ArrayString::from(text).ok()
}

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl Side {
    /// `buy` or `sell`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// Whether a fill added or took liquidity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liquidity {
    /// Rested on the book.
    Maker,
    /// Crossed the book.
    Taker,
}

impl Liquidity {
    /// `maker` or `taker`.
    pub fn as_str(self) -> &'static str {
        match self {
            Liquidity::Maker => "maker",
            Liquidity::Taker => "taker",
        }
    }
}
