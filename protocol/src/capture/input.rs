//! The bytes of the inputs a capture records that are not frames: a
//! submitted request with its options, a book snapshot fed from another
//! connection, a disconnect's reason. Written by the recording core,
//! read back by a replay, which hands the core the same values.
//!
//! A compact binary form: fixed-width integers little-endian, decimals as
//! their 16-byte mantissa and scale (exact), short strings with a one-byte
//! length. Reading never panics: anything malformed is an error naming
//! what.

use super::record::Cursor;
use crate::model::{
    AmendOrder, BookEvent, CancelOrders, CancelReplace, Interval, Level, NewOrder, OrderKind,
    OrderRef, OwnedRequest, ReplaceMode, Request, Side, Subscription, TimeInForce,
};
use crate::num::Decimal;

/// A submit as recorded: the request and the options it came with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedSubmit {
    /// The request.
    pub request: OwnedRequest,
    /// The request id reserved for it, if one was.
    pub req_id: Option<u64>,
    /// The completion tag it carried, if any.
    pub tag: Option<u32>,
}

/// Appends a submit's bytes (for `RecordBody::Submit`).
pub fn encode_submit(
    request: &Request<'_>,
    req_id: Option<u64>,
    tag: Option<u32>,
    out: &mut Vec<u8>,
) {
    let flags = u8::from(req_id.is_some()) | (u8::from(tag.is_some()) << 1);
    out.push(flags);
    out.extend_from_slice(&req_id.unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&tag.unwrap_or(0).to_le_bytes());
    put_request(request, out);
}

/// Reads back what [`encode_submit`] wrote.
pub fn decode_submit(bytes: &[u8]) -> Result<RecordedSubmit, &'static str> {
    let mut cursor = Cursor { input: bytes };
    let flags = cursor.u8()?;
    let req_id = cursor.u64()?;
    let tag = cursor.u32()?;
    let request = take_request(&mut cursor)?;
    if !cursor.input.is_empty() {
        return Err("bytes after the request");
    }
    Ok(RecordedSubmit {
        request,
        req_id: (flags & 1 != 0).then_some(req_id),
        tag: (flags & 2 != 0).then_some(tag),
    })
}

/// Appends a fed book snapshot's bytes (for `RecordBody::BookSnapshot`).
pub fn encode_snapshot(book: &BookEvent, levels: &[Level], out: &mut Vec<u8>) {
    put_str(book.symbol.as_str(), out);
    out.push(u8::from(book.snapshot) | (u8::from(book.from_snapshot) << 1));
    put_opt_u64(book.checksum.map(u64::from), out);
    put_opt_u64(book.sequence, out);
    put_opt_u64(book.ts.map(|ts| u64::from_le_bytes(ts.to_le_bytes())), out);
    put_opt_decimal(book.grouping, out);
    let bids = levels.get(book.bids.clone()).unwrap_or(&[]);
    let asks = levels.get(book.asks.clone()).unwrap_or(&[]);
    for side in [bids, asks] {
        put_len(side.len(), out);
        for level in side {
            put_decimal(level.price, out);
            put_decimal(level.qty, out);
        }
    }
}

/// Reads back what [`encode_snapshot`] wrote: the event, its levels
/// (bids, then asks, as its ranges say).
pub fn decode_snapshot(bytes: &[u8]) -> Result<(BookEvent, Vec<Level>), &'static str> {
    let mut cursor = Cursor { input: bytes };
    let symbol = take_inline(&mut cursor)?;
    let flags = cursor.u8()?;
    let checksum = take_opt_u64(&mut cursor)?
        .map(|sum| u32::try_from(sum).map_err(|_| "a checksum over 32 bits"))
        .transpose()?;
    let sequence = take_opt_u64(&mut cursor)?;
    let ts = take_opt_u64(&mut cursor)?.map(|ts| i64::from_le_bytes(ts.to_le_bytes()));
    let grouping = take_opt_decimal(&mut cursor)?;
    let mut levels = Vec::new();
    let mut ranges = [0..0, 0..0];
    for range in &mut ranges {
        let count = take_len(&mut cursor)?;
        let start = levels.len();
        for _ in 0..count {
            levels.push(Level {
                price: take_decimal(&mut cursor)?,
                qty: take_decimal(&mut cursor)?,
            });
        }
        *range = start..levels.len();
    }
    if !cursor.input.is_empty() {
        return Err("bytes after the snapshot");
    }
    let [bids, asks] = ranges;
    Ok((
        BookEvent {
            symbol,
            snapshot: flags & 1 != 0,
            bids,
            asks,
            checksum,
            sequence,
            ts,
            from_snapshot: flags & 2 != 0,
            grouping,
        },
        levels,
    ))
}

// Request tags.
const PLACE: u8 = 1;
const AMEND: u8 = 2;
const CANCEL: u8 = 3;
const CANCEL_ALL: u8 = 4;
const CANCEL_REPLACE: u8 = 5;
const QUERY_ORDER: u8 = 6;
const BOOK_SNAPSHOT: u8 = 7;
const CANCEL_ALL_AFTER: u8 = 8;
const BATCH_PLACE: u8 = 9;
const SUBSCRIBE: u8 = 10;
const UNSUBSCRIBE: u8 = 11;
const PING: u8 = 12;
const SERVER_TIME: u8 = 13;

fn put_request(request: &Request<'_>, out: &mut Vec<u8>) {
    match request {
        Request::Place(order) => {
            out.push(PLACE);
            put_order(order, out);
        }
        Request::Amend(amend) => {
            out.push(AMEND);
            put_order_ref(&amend.order, out);
            put_opt_str(amend.symbol.as_ref().map(|s| s.as_str()), out);
            put_opt_decimal(amend.price, out);
            put_opt_decimal(amend.qty, out);
        }
        Request::Cancel(cancel) => {
            out.push(CANCEL);
            put_len(cancel.orders.len(), out);
            for order in &cancel.orders {
                put_order_ref(order, out);
            }
            put_opt_str(cancel.symbol.as_ref().map(|s| s.as_str()), out);
        }
        Request::CancelAll { symbol } => {
            out.push(CANCEL_ALL);
            put_opt_str(symbol.as_ref().map(|s| s.as_str()), out);
        }
        Request::CancelReplace(replace) => {
            out.push(CANCEL_REPLACE);
            put_order_ref(&replace.cancel, out);
            out.push(match replace.mode {
                ReplaceMode::StopOnFailure => 0,
                ReplaceMode::AllowFailure => 1,
            });
            put_order(&replace.new_order, out);
        }
        Request::QueryOrder { order, symbol } => {
            out.push(QUERY_ORDER);
            put_order_ref(order, out);
            put_str(symbol, out);
        }
        Request::BookSnapshot { symbol, limit } => {
            out.push(BOOK_SNAPSHOT);
            put_str(symbol, out);
            out.extend_from_slice(&limit.to_le_bytes());
        }
        Request::CancelAllAfter { timeout_secs } => {
            out.push(CANCEL_ALL_AFTER);
            out.extend_from_slice(&timeout_secs.to_le_bytes());
        }
        Request::BatchPlace(orders) => {
            out.push(BATCH_PLACE);
            put_len(orders.len(), out);
            for order in *orders {
                put_order(order, out);
            }
        }
        Request::Subscribe(subscription) => {
            out.push(SUBSCRIBE);
            put_subscription(subscription, out);
        }
        Request::Unsubscribe(subscription) => {
            out.push(UNSUBSCRIBE);
            put_subscription(subscription, out);
        }
        Request::Ping => out.push(PING),
        Request::ServerTime => out.push(SERVER_TIME),
    }
}

fn take_request(cursor: &mut Cursor<'_>) -> Result<OwnedRequest, &'static str> {
    Ok(match cursor.u8()? {
        PLACE => OwnedRequest::Place(take_order(cursor)?),
        AMEND => OwnedRequest::Amend(AmendOrder {
            order: take_order_ref(cursor)?,
            symbol: take_opt_inline(cursor)?,
            price: take_opt_decimal(cursor)?,
            qty: take_opt_decimal(cursor)?,
        }),
        CANCEL => {
            let count = take_len(cursor)?;
            let mut orders = Vec::with_capacity(count.min(1024));
            for _ in 0..count {
                orders.push(take_order_ref(cursor)?);
            }
            OwnedRequest::Cancel(CancelOrders {
                orders,
                symbol: take_opt_inline(cursor)?,
            })
        }
        CANCEL_ALL => OwnedRequest::CancelAll {
            symbol: take_opt_inline(cursor)?,
        },
        CANCEL_REPLACE => OwnedRequest::CancelReplace(CancelReplace {
            cancel: take_order_ref(cursor)?,
            mode: match cursor.u8()? {
                0 => ReplaceMode::StopOnFailure,
                1 => ReplaceMode::AllowFailure,
                _ => return Err("unknown replace mode"),
            },
            new_order: take_order(cursor)?,
        }),
        QUERY_ORDER => OwnedRequest::QueryOrder {
            order: take_order_ref(cursor)?,
            symbol: take_inline(cursor)?,
        },
        BOOK_SNAPSHOT => OwnedRequest::BookSnapshot {
            symbol: take_inline(cursor)?,
            limit: cursor.u32()?,
        },
        CANCEL_ALL_AFTER => OwnedRequest::CancelAllAfter {
            timeout_secs: cursor.u32()?,
        },
        BATCH_PLACE => {
            let count = take_len(cursor)?;
            let mut orders = Vec::with_capacity(count.min(1024));
            for _ in 0..count {
                orders.push(take_order(cursor)?);
            }
            OwnedRequest::BatchPlace(orders)
        }
        SUBSCRIBE => OwnedRequest::Subscribe(take_subscription(cursor)?),
        UNSUBSCRIBE => OwnedRequest::Unsubscribe(take_subscription(cursor)?),
        PING => OwnedRequest::Ping,
        SERVER_TIME => OwnedRequest::ServerTime,
        _ => return Err("unknown request"),
    })
}

fn put_order(order: &NewOrder, out: &mut Vec<u8>) {
    put_str(&order.client_order_id, out);
    put_str(&order.symbol, out);
    out.push(match order.side {
        Side::Buy => 0,
        Side::Sell => 1,
    });
    out.push(match order.kind {
        OrderKind::Limit => 0,
        OrderKind::Market => 1,
    });
    put_opt_decimal(order.price, out);
    put_decimal(order.qty, out);
    out.push(match order.time_in_force {
        TimeInForce::GoodTillCanceled => 0,
        TimeInForce::ImmediateOrCancel => 1,
        TimeInForce::FillOrKill => 2,
    });
    out.push(u8::from(order.post_only));
}

fn take_order(cursor: &mut Cursor<'_>) -> Result<NewOrder, &'static str> {
    Ok(NewOrder {
        client_order_id: take_inline(cursor)?,
        symbol: take_inline(cursor)?,
        side: match cursor.u8()? {
            0 => Side::Buy,
            1 => Side::Sell,
            _ => return Err("unknown side"),
        },
        kind: match cursor.u8()? {
            0 => OrderKind::Limit,
            1 => OrderKind::Market,
            _ => return Err("unknown order kind"),
        },
        price: take_opt_decimal(cursor)?,
        qty: take_decimal(cursor)?,
        time_in_force: match cursor.u8()? {
            0 => TimeInForce::GoodTillCanceled,
            1 => TimeInForce::ImmediateOrCancel,
            2 => TimeInForce::FillOrKill,
            _ => return Err("unknown time in force"),
        },
        post_only: match cursor.u8()? {
            0 => false,
            1 => true,
            _ => return Err("a flag that is neither 0 nor 1"),
        },
    })
}

fn put_order_ref(order: &OrderRef, out: &mut Vec<u8>) {
    match order {
        OrderRef::OrderId(id) => {
            out.push(0);
            put_str(id, out);
        }
        OrderRef::ClientOrderId(id) => {
            out.push(1);
            put_str(id, out);
        }
    }
}

fn take_order_ref(cursor: &mut Cursor<'_>) -> Result<OrderRef, &'static str> {
    Ok(match cursor.u8()? {
        0 => OrderRef::OrderId(take_inline(cursor)?),
        1 => OrderRef::ClientOrderId(take_inline(cursor)?),
        _ => return Err("unknown order reference"),
    })
}

// Subscription tags.
const SUB_BOOK: u8 = 1;
const SUB_TICKER: u8 = 2;
const SUB_TRADES: u8 = 3;
const SUB_EXECUTIONS: u8 = 4;
const SUB_ORDERS: u8 = 5;
const SUB_TRIGGER_ORDERS: u8 = 6;
const SUB_BALANCES: u8 = 7;
const SUB_CANDLES: u8 = 8;
const SUB_GROUPED_BOOK: u8 = 9;

/// Appends a subscription (also the gateway config's subscriptions in a
/// capture's header).
pub fn encode_subscription(subscription: &Subscription, out: &mut Vec<u8>) {
    put_subscription(subscription, out);
}

/// Reads back what [`encode_subscription`] wrote, whole.
pub fn decode_subscription(bytes: &[u8]) -> Result<Subscription, &'static str> {
    let mut cursor = Cursor { input: bytes };
    let subscription = take_subscription(&mut cursor)?;
    if !cursor.input.is_empty() {
        return Err("bytes after the subscription");
    }
    Ok(subscription)
}

fn put_subscription(subscription: &Subscription, out: &mut Vec<u8>) {
    let symbols = |tag: u8, symbols: &[crate::model::Symbol], out: &mut Vec<u8>| {
        out.push(tag);
        put_len(symbols.len(), out);
        for symbol in symbols {
            put_str(symbol, out);
        }
    };
    match subscription {
        Subscription::Book {
            symbols: list,
            depth,
        } => {
            symbols(SUB_BOOK, list, out);
            out.extend_from_slice(&depth.to_le_bytes());
        }
        Subscription::Ticker { symbols: list } => symbols(SUB_TICKER, list, out),
        Subscription::Trades { symbols: list } => symbols(SUB_TRADES, list, out),
        Subscription::Executions {
            snapshot_orders,
            snapshot_trades,
        } => {
            out.push(SUB_EXECUTIONS);
            out.push(u8::from(*snapshot_orders) | (u8::from(*snapshot_trades) << 1));
        }
        Subscription::Orders { symbols: list } => symbols(SUB_ORDERS, list, out),
        Subscription::TriggerOrders { symbols: list } => symbols(SUB_TRIGGER_ORDERS, list, out),
        Subscription::Balances { assets } => symbols(SUB_BALANCES, assets, out),
        Subscription::Candles {
            symbols: list,
            interval,
        } => {
            symbols(SUB_CANDLES, list, out);
            put_str(interval, out);
        }
        Subscription::GroupedBook {
            symbols: list,
            depth,
            grouping,
        } => {
            symbols(SUB_GROUPED_BOOK, list, out);
            out.extend_from_slice(&depth.to_le_bytes());
            put_decimal(*grouping, out);
        }
    }
}

fn take_subscription(cursor: &mut Cursor<'_>) -> Result<Subscription, &'static str> {
    let tag = cursor.u8()?;
    if tag == SUB_EXECUTIONS {
        let flags = cursor.u8()?;
        return Ok(Subscription::Executions {
            snapshot_orders: flags & 1 != 0,
            snapshot_trades: flags & 2 != 0,
        });
    }
    let count = take_len(cursor)?;
    let mut symbols = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        symbols.push(take_inline(cursor)?);
    }
    Ok(match tag {
        SUB_BOOK => Subscription::Book {
            symbols,
            depth: cursor.u32()?,
        },
        SUB_TICKER => Subscription::Ticker { symbols },
        SUB_TRADES => Subscription::Trades { symbols },
        SUB_ORDERS => Subscription::Orders { symbols },
        SUB_TRIGGER_ORDERS => Subscription::TriggerOrders { symbols },
        SUB_BALANCES => Subscription::Balances {
            assets: symbols
                .iter()
                .map(|s| crate::model::inline(s.as_str()).ok_or("an asset over 16 bytes"))
                .collect::<Result<_, _>>()?,
        },
        SUB_CANDLES => Subscription::Candles {
            symbols,
            interval: take_inline::<8>(cursor)? as Interval,
        },
        SUB_GROUPED_BOOK => Subscription::GroupedBook {
            symbols,
            depth: cursor.u32()?,
            grouping: take_decimal(cursor)?,
        },
        _ => return Err("unknown subscription"),
    })
}

fn put_len(len: usize, out: &mut Vec<u8>) {
    // Lists in a request are short (orders in a batch, symbols); a longer
    // one is written as u32::MAX and fails to read back, never wraps.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

fn take_len(cursor: &mut Cursor<'_>) -> Result<usize, &'static str> {
    let len = cursor.u32()? as usize;
    // Every item takes at least one byte: a count past the bytes left is
    // damage, refused before anything is allocated for it.
    if len > cursor.input.len() {
        return Err("a count past the end");
    }
    Ok(len)
}

fn put_str(text: &str, out: &mut Vec<u8>) {
    // Symbols and ids are ArrayStrings of at most 48 bytes.
    let bytes = &text.as_bytes()[..text.len().min(255)];
    out.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(bytes);
}

fn put_opt_str(text: Option<&str>, out: &mut Vec<u8>) {
    match text {
        Some(text) => {
            out.push(1);
            put_str(text, out);
        }
        None => out.push(0),
    }
}

fn take_inline<const N: usize>(
    cursor: &mut Cursor<'_>,
) -> Result<arrayvec::ArrayString<N>, &'static str> {
    let len = usize::from(cursor.u8()?);
    let bytes = cursor.take(len)?;
    let text = std::str::from_utf8(bytes).map_err(|_| "a string that is not UTF-8")?;
    arrayvec::ArrayString::from(text).map_err(|_| "a string too long for its field")
}

fn take_opt_inline<const N: usize>(
    cursor: &mut Cursor<'_>,
) -> Result<Option<arrayvec::ArrayString<N>>, &'static str> {
    match cursor.u8()? {
        0 => Ok(None),
        1 => take_inline(cursor).map(Some),
        _ => Err("an option flag that is neither 0 nor 1"),
    }
}

fn put_decimal(value: Decimal, out: &mut Vec<u8>) {
    out.extend_from_slice(&value.mantissa().to_le_bytes());
    out.push(value.scale());
}

fn take_decimal(cursor: &mut Cursor<'_>) -> Result<Decimal, &'static str> {
    let mantissa = i128::from_le_bytes(cursor.array()?);
    Decimal::new(mantissa, cursor.u8()?).ok_or("a decimal scale out of range")
}

fn put_opt_decimal(value: Option<Decimal>, out: &mut Vec<u8>) {
    match value {
        Some(value) => {
            out.push(1);
            put_decimal(value, out);
        }
        None => out.push(0),
    }
}

fn take_opt_decimal(cursor: &mut Cursor<'_>) -> Result<Option<Decimal>, &'static str> {
    match cursor.u8()? {
        0 => Ok(None),
        1 => take_decimal(cursor).map(Some),
        _ => Err("an option flag that is neither 0 nor 1"),
    }
}

fn put_opt_u64(value: Option<u64>, out: &mut Vec<u8>) {
    match value {
        Some(value) => {
            out.push(1);
            out.extend_from_slice(&value.to_le_bytes());
        }
        None => out.push(0),
    }
}

fn take_opt_u64(cursor: &mut Cursor<'_>) -> Result<Option<u64>, &'static str> {
    match cursor.u8()? {
        0 => Ok(None),
        1 => cursor.u64().map(Some),
        _ => Err("an option flag that is neither 0 nor 1"),
    }
}
