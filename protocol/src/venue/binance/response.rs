//! WebSocket API replies (`{"id","status","result"|"error","rateLimits"}`)
//! and pushed events (`{"event":..}`, `{"subscriptionId":..,"event":..}`)
//! to normalised events (binance.md "Envelopes", "Orders").
//!
//! A reply does not name its method, so the codec remembers what each id
//! asked ([`Inflight`]); without that (a capture decoded offline) the
//! result's shape decides.

use arrayvec::ArrayVec;

use crate::json::{Kind, Scanner};
use crate::model::{
    Balance, BookEvent, ClientOrderId, Event, Events, Fill, Liquidity, Method, OrderAck,
    OrderDetail, OrderId, OrderReject, OrderStatus, OrderType, OrderUpdate, RateCounter, RateUsage,
    RejectReason, Response, Side, Symbol, TimeInForce, inline,
};
use crate::num::Decimal;
use crate::venue::DecodeError;

use crate::venue::fields::{field, read_pairs, text_decimal as decimal};

/// What a request id asked, kept until its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inflight {
    /// The method.
    pub method: Method,
    /// The pair (the `depth` reply does not name it).
    pub symbol: Option<Symbol>,
    /// `session.logon`, which has no [`Method`] of its own.
    pub logon: bool,
}

/// What a message turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum ApiMessage {
    /// A WebSocket API reply or push; its events were appended.
    Handled {
        /// A successful `session.logon` (Some(true)) or a failed one.
        logon: Option<bool>,
        /// A `depth` reply: the snapshot for the pair's diff-depth sync.
        snapshot: Option<SnapshotRef>,
    },
    /// Not the WebSocket API's shape: a market-stream message.
    NotApi,
}

/// Where a `depth` reply's book event sits in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotRef {
    /// The pair, if the request was seen.
    pub symbol: Option<Symbol>,
    /// `lastUpdateId`.
    pub last_update_id: u64,
    /// Index of the book event in `out.list`.
    pub event_index: usize,
}

fn unsigned(scanner: &mut Scanner<'_>, name: &'static str) -> Result<u64, DecodeError> {
    scanner
        .unsigned()
        .map_err(|_| field(name, "not an unsigned integer"))
}

fn signed(scanner: &mut Scanner<'_>, name: &'static str) -> Result<i64, DecodeError> {
    std::str::from_utf8(scanner.number()?)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(field(name, "not an integer"))
}

fn millis_to_ns(ms: u64) -> Option<i64> {
    i64::try_from(ms).ok()?.checked_mul(1_000_000)
}

/// One entry of a place reply's `fills`.
#[derive(Clone, Copy)]
struct FillFields {
    price: Decimal,
    qty: Decimal,
    fee: Option<Decimal>,
    fee_asset: Option<crate::model::Asset>,
    trade_id: crate::model::TradeId,
}

/// Fills read in the same pass as their order; more spill to a rescan.
const INLINE_FILLS: usize = 4;

/// Steps over `bytes` at the cursor, or None (the fast paths' bail-out).
fn expect(scanner: &mut Scanner<'_>, bytes: &[u8]) -> Option<()> {
    scanner.literal(bytes).then_some(())
}

/// A fill in Binance's own key order, read by comparing the keys in place;
/// None (cursor unmoved) if it is not in that shape.
fn read_fill_in_order(scanner: &mut Scanner<'_>) -> Option<FillFields> {
    let start = scanner.position();
    let fill = (|| {
        expect(scanner, br#"{"price":"#)?;
        let price = decimal(scanner, "price").ok()?;
        expect(scanner, br#","qty":"#)?;
        let qty = decimal(scanner, "qty").ok()?;
        expect(scanner, br#","commission":"#)?;
        let fee = decimal(scanner, "commission").ok()?;
        expect(scanner, br#","commissionAsset":"#)?;
        let fee_asset = short(scanner, "commissionAsset").ok()?;
        expect(scanner, br#","tradeId":"#)?;
        let trade_id = short(scanner, "tradeId").ok()??;
        expect(scanner, b"}")?;
        Some(FillFields {
            price,
            qty,
            fee: Some(fee),
            fee_asset,
            trade_id,
        })
    })();
    if fill.is_none() {
        scanner.rewind(start);
    }
    fill
}

fn read_fill(scanner: &mut Scanner<'_>) -> Result<FillFields, DecodeError> {
    if let Some(fill) = read_fill_in_order(scanner) {
        return Ok(fill);
    }
    scanner.begin_object()?;
    let (mut price, mut qty, mut fee, mut fee_asset, mut trade_id) = (None, None, None, None, None);
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"price" => price = Some(decimal(scanner, "price")?),
            b"qty" => qty = Some(decimal(scanner, "qty")?),
            b"commission" => fee = Some(decimal(scanner, "commission")?),
            b"commissionAsset" => fee_asset = short(scanner, "commissionAsset")?,
            b"tradeId" => trade_id = short(scanner, "tradeId")?,
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    let (Some(price), Some(qty), Some(trade_id)) = (price, qty, trade_id) else {
        return Err(field("fills", "price, qty and tradeId are required"));
    };
    Ok(FillFields {
        price,
        qty,
        fee,
        fee_asset,
        trade_id,
    })
}

/// `fills`: up to [`INLINE_FILLS`] kept; the whole array's text if more.
fn read_fills<'a>(
    scanner: &mut Scanner<'a>,
    fields: &mut OrderFields<'a>,
) -> Result<(), DecodeError> {
    let start = scanner.position();
    scanner.begin_array()?;
    while scanner.next_element()? {
        let fill = read_fill(scanner)?;
        if fields.fill_list.try_push(fill).is_err() {
            fields.fills_spilled = true;
        }
    }
    if fields.fills_spilled {
        fields.fill_list.clear();
        fields.fills = Some(scanner.since(start));
    }
    Ok(())
}

/// Short plain text into an inline string; None for null or empty.
fn short<const N: usize>(
    scanner: &mut Scanner<'_>,
    name: &'static str,
) -> Result<Option<arrayvec::ArrayString<N>>, DecodeError> {
    match scanner.kind()? {
        Kind::Null => {
            scanner.null()?;
            Ok(None)
        }
        Kind::Number => {
            let text = std::str::from_utf8(scanner.number()?).map_err(|_| field(name, "utf-8"))?;
            Ok(Some(inline(text).ok_or(field(name, "too long"))?))
        }
        _ => {
            let text = scanner.string()?.plain().ok_or(field(name, "escaped"))?;
            if text.is_empty() {
                return Ok(None);
            }
            Ok(Some(inline(text).ok_or(field(name, "too long"))?))
        }
    }
}

fn status_of(text: &[u8]) -> Option<OrderStatus> {
    Some(match text {
        b"NEW" | b"PENDING_NEW" => OrderStatus::New,
        b"PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
        b"FILLED" => OrderStatus::Filled,
        b"CANCELED" | b"PENDING_CANCEL" => OrderStatus::Canceled,
        b"REJECTED" => OrderStatus::Rejected,
        b"EXPIRED" | b"EXPIRED_IN_MATCH" => OrderStatus::Expired,
        _ => return None,
    })
}

/// Binance's order type (`type`, `o`); LIMIT_MAKER is a post-only limit.
/// A type the model has no name for (STOP_LOSS, TAKE_PROFIT) stays None.
fn order_type_into(text: &[u8], detail: &mut OrderDetail) {
    detail.order_type = match text {
        b"LIMIT" => Some(OrderType::Limit),
        b"LIMIT_MAKER" => {
            detail.post_only = true;
            Some(OrderType::Limit)
        }
        b"MARKET" => Some(OrderType::Market),
        b"STOP_LOSS_LIMIT" | b"TAKE_PROFIT_LIMIT" => Some(OrderType::StopLimit),
        _ => None,
    };
}

/// Binance's time in force (`timeInForce`, `f`).
fn time_in_force_of(text: &[u8]) -> Option<TimeInForce> {
    match text {
        b"GTC" => Some(TimeInForce::GoodTillCanceled),
        b"IOC" => Some(TimeInForce::ImmediateOrCancel),
        b"FOK" => Some(TimeInForce::FillOrKill),
        _ => None,
    }
}

/// A price Binance writes as zero when there is none (`stopPrice`, `P`).
fn nonzero(value: Decimal) -> Option<Decimal> {
    (!value.is_zero()).then_some(value)
}

fn side_of(text: &[u8]) -> Option<Side> {
    match text {
        b"BUY" => Some(Side::Buy),
        b"SELL" => Some(Side::Sell),
        _ => None,
    }
}

/// The fields of one order object (a place, cancel, status or amend
/// result, or one side of a cancel-replace), read in one pass.
#[derive(Default)]
struct OrderFields<'a> {
    symbol: Option<Symbol>,
    order_id: Option<OrderId>,
    client_order_id: Option<ClientOrderId>,
    orig_client_order_id: Option<ClientOrderId>,
    price: Option<Decimal>,
    qty: Option<Decimal>,
    executed: Option<Decimal>,
    status: Option<OrderStatus>,
    side: Option<Side>,
    time: Option<u64>,
    /// What only some replies carry: type, time in force, the cumulative
    /// quote quantity, creation time, stop price.
    detail: OrderDetail,
    /// Fills read in the first pass, or (if there were more than fit) the
    /// array's text in `fills`.
    fill_list: ArrayVec<FillFields, INLINE_FILLS>,
    fills_spilled: bool,
    fills: Option<&'a [u8]>,
    /// An amend's `amendedOrder`.
    amended: Option<&'a [u8]>,
    /// A cancel-replace's parts.
    cancel_response: Option<&'a [u8]>,
    new_order_response: Option<&'a [u8]>,
    cancel_replace: bool,
    /// An error object's code and message (a cancel-replace part).
    code: Option<i64>,
    msg: Option<String>,
    /// `depth`.
    last_update_id: Option<u64>,
    bids: Option<&'a [u8]>,
    asks: Option<&'a [u8]>,
    /// An error's `data`.
    data: Option<&'a [u8]>,
    /// `data.retryAfter` of a 429/418 (ms since the epoch).
    retry_after: Option<u64>,
    /// `session.logon`.
    authorized_since: bool,
    subscription_id: bool,
}

fn read_order<'a>(input: &'a [u8]) -> Result<OrderFields<'a>, DecodeError> {
    let mut scanner = Scanner::new(input);
    let mut fields = OrderFields::default();
    read_order_into(&mut scanner, &mut fields)?;
    scanner.finish()?;
    Ok(fields)
}

/// One order (or error, or other result) object at the cursor, read in
/// place into `f` (which is large: filled where it lies, never moved).
fn read_order_into<'a>(
    scanner: &mut Scanner<'a>,
    f: &mut OrderFields<'a>,
) -> Result<(), DecodeError> {
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"symbol" => f.symbol = short(scanner, "symbol")?,
            b"orderId" => f.order_id = short(scanner, "orderId")?,
            b"clientOrderId" => f.client_order_id = short(scanner, "clientOrderId")?,
            b"origClientOrderId" => f.orig_client_order_id = short(scanner, "origClientOrderId")?,
            b"price" => f.price = Some(decimal(scanner, "price")?),
            b"origQty" | b"qty" => f.qty = Some(decimal(scanner, "origQty")?),
            b"executedQty" => f.executed = Some(decimal(scanner, "executedQty")?),
            b"type" => order_type_into(scanner.string()?.raw, &mut f.detail),
            b"timeInForce" => f.detail.time_in_force = time_in_force_of(scanner.string()?.raw),
            b"cummulativeQuoteQty" => {
                f.detail.filled_notional = Some(decimal(scanner, "cummulativeQuoteQty")?)
            }
            b"stopPrice" => f.detail.trigger_price = nonzero(decimal(scanner, "stopPrice")?),
            b"status" => f.status = status_of(scanner.string()?.raw),
            b"side" => f.side = side_of(scanner.string()?.raw),
            b"transactTime" | b"updateTime" => f.time = Some(unsigned(scanner, "time")?),
            b"fills" => read_fills(scanner, f)?,
            b"amendedOrder" => f.amended = Some(scanner.skip_value()?),
            b"cancelResult" | b"newOrderResult" => {
                f.cancel_replace = true;
                scanner.skip_value()?;
            }
            b"cancelResponse" => f.cancel_response = Some(scanner.skip_value()?),
            b"newOrderResponse" => f.new_order_response = Some(scanner.skip_value()?),
            b"code" => f.code = Some(signed(scanner, "code")?),
            b"msg" => f.msg = Some(scanner.string()?.unescape()),
            b"data" => f.data = Some(scanner.skip_value()?),
            b"retryAfter" => f.retry_after = Some(unsigned(scanner, "retryAfter")?),
            b"lastUpdateId" => f.last_update_id = Some(unsigned(scanner, "lastUpdateId")?),
            b"bids" => f.bids = Some(scanner.skip_value()?),
            b"asks" => f.asks = Some(scanner.skip_value()?),
            b"authorizedSince" => {
                f.authorized_since = true;
                scanner.skip_value()?;
            }
            b"subscriptionId" => {
                f.subscription_id = true;
                scanner.skip_value()?;
            }
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    Ok(())
}

/// Binance's error codes (errors.md), typed.
fn reason_of(code: i64, msg: &str) -> RejectReason {
    match code {
        -1003 | -1015 => RejectReason::RateLimited,
        -1007 | -1006 => RejectReason::StatusUnknown,
        -1021 => RejectReason::BadTimestamp,
        -1022 => RejectReason::BadSignature,
        -2013 => RejectReason::UnknownOrder,
        -2014 | -2015 | -1002 => RejectReason::Unauthorized,
        -2011 if msg.contains("Unknown order") => RejectReason::UnknownOrder,
        -2010 if msg.contains("insufficient balance") => RejectReason::InsufficientFunds,
        -2010 if msg.contains("immediately match") => RejectReason::WouldTake,
        // -1013 filter failures and the -11xx request errors.
        -1013 | -1199..=-1100 => RejectReason::InvalidRequest,
        _ => RejectReason::Other,
    }
}

fn reject(req_id: Option<u64>, method: Method, code: i64, message: String) -> Event {
    Event::OrderReject(OrderReject {
        req_id,
        method,
        reason: reason_of(code, &message),
        code: code.to_string(),
        message,
        order_id: None,
        ts_in: None,
        ts_out: None,
    })
}

/// Decodes a WebSocket API message. `inflight` is consulted and the reply's
/// entry removed.
pub fn decode_api(
    message: &[u8],
    inflight: &mut impl FnMut(u64) -> Option<Inflight>,
    out: &mut Events,
) -> Result<ApiMessage, DecodeError> {
    let mut scanner = Scanner::new(message);
    scanner.begin_object()?;
    let mut id = None;
    let mut status: Option<u64> = None;
    let (mut result, mut event) = (None, None);
    // Filled in place; `parsed`/`failed` say which one holds the reply.
    let mut fields = OrderFields::default();
    let (mut parsed, mut failed) = (false, false);
    let mut usages: ArrayVec<RateUsage, 8> = ArrayVec::new();
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"id" => {
                id = match scanner.kind()? {
                    Kind::Number => Some(unsigned(&mut scanner, "id")?),
                    Kind::String => std::str::from_utf8(scanner.string()?.raw)
                        .ok()
                        .and_then(|t| t.parse().ok()),
                    _ => {
                        scanner.skip_value()?;
                        None
                    }
                }
            }
            b"status" => status = Some(unsigned(&mut scanner, "status")?),
            // Objects are read where they stand: one pass over the reply.
            b"result" if scanner.kind()? == Kind::Object => {
                read_order_into(&mut scanner, &mut fields)?;
                parsed = true;
            }
            b"result" => result = Some(scanner.skip_value()?),
            b"error" => {
                read_order_into(&mut scanner, &mut fields)?;
                failed = true;
            }
            b"rateLimits" => read_rate_limits(&mut scanner, &mut usages)?,
            b"event" => event = Some(scanner.skip_value()?),
            b"subscriptionId" => {
                scanner.skip_value()?;
            }
            // A stream payload (`e`, `stream`, bookTicker's `u`...).
            _ => return Ok(ApiMessage::NotApi),
        }
    }
    scanner.finish()?;
    if let Some(event) = event {
        decode_push(event, out)?;
        return Ok(ApiMessage::Handled {
            logon: None,
            snapshot: None,
        });
    }
    let asked = id.and_then(&mut *inflight);
    for mut usage in usages {
        usage.req_id = id;
        out.list.push(Event::RateUsage(usage));
    }
    let method = asked.map(|a| a.method);
    let symbol = asked.and_then(|a| a.symbol);
    let logon_asked = asked.is_some_and(|a| a.logon);
    let ok = match status {
        Some(status) => status == 200,
        None => !failed,
    };
    if ok {
        let result = if parsed {
            Ok(&fields)
        } else {
            Err(result.unwrap_or(b"null"))
        };
        return decode_result(id, method, symbol, logon_asked, result, out);
    }
    let error = &fields;
    let code = error.code.unwrap_or(0);
    let message = error.msg.clone().unwrap_or_default();
    // Offline (no request seen), a cancel-replace failure shows by its data.
    let method = method
        .or_else(|| {
            let data = read_order(error.data?).ok()?;
            data.cancel_replace.then_some(Method::CancelReplace)
        })
        .unwrap_or(Method::Other);
    if matches!(status, Some(429 | 418)) {
        out.list.push(Event::Throttled {
            req_id: id,
            method,
            code: code.to_string(),
            message,
            until: match error.data {
                Some(data) => read_order(data)?.retry_after.and_then(millis_to_ns),
                None => None,
            },
        });
        return Ok(handled(None));
    }
    if logon_asked {
        out.list.push(Event::Response(Response {
            req_id: id,
            method: Method::Other,
            ok: false,
            message: Some(format!("session.logon: {code}: {message}")),
            ts_in: None,
            ts_out: None,
        }));
        return Ok(handled(Some(false)));
    }
    match method {
        Method::CancelReplace => replace_failure(id, code, message, error, out)?,
        Method::Place
        | Method::Cancel
        | Method::Amend
        | Method::CancelAll
        | Method::QueryOrder
        | Method::Other => out.list.push(reject(id, method, code, message)),
        _ => out.list.push(Event::Response(Response {
            req_id: id,
            method,
            ok: false,
            message: Some(format!("{code}: {message}")),
            ts_in: None,
            ts_out: None,
        })),
    }
    Ok(handled(None))
}

fn handled(logon: Option<bool>) -> ApiMessage {
    ApiMessage::Handled {
        logon,
        snapshot: None,
    }
}

/// `rateLimits: [{"rateLimitType","interval","intervalNum","limit","count"}]`.
fn read_rate_limits(
    scanner: &mut Scanner<'_>,
    usages: &mut ArrayVec<RateUsage, 8>,
) -> Result<(), DecodeError> {
    scanner.begin_array()?;
    while scanner.next_element()? {
        if let Some(usage) = read_rate_limit_in_order(scanner) {
            // More than eight counters is not a shape Binance sends.
            let _ = usages.try_push(usage);
            continue;
        }
        scanner.begin_object()?;
        let (mut counter, mut unit, mut num, mut limit, mut count) = (None, None, 1, None, None);
        while let Some(key) = scanner.next_key()? {
            match key.raw {
                b"rateLimitType" => {
                    counter = match scanner.string()?.raw {
                        b"REQUEST_WEIGHT" => Some(RateCounter::RequestWeight),
                        b"ORDERS" => Some(RateCounter::Orders),
                        b"RAW_REQUESTS" => Some(RateCounter::RawRequests),
                        _ => None,
                    }
                }
                b"interval" => {
                    unit = match scanner.string()?.raw {
                        b"SECOND" => Some(1),
                        b"MINUTE" => Some(60),
                        b"HOUR" => Some(3_600),
                        b"DAY" => Some(86_400),
                        _ => None,
                    }
                }
                b"intervalNum" => num = unsigned(scanner, "intervalNum")?,
                b"limit" => limit = Some(unsigned(scanner, "limit")?),
                b"count" => count = Some(unsigned(scanner, "count")?),
                _ => {
                    scanner.skip_value()?;
                }
            }
        }
        if let (Some(counter), Some(unit), Some(limit), Some(count)) = (counter, unit, limit, count)
        {
            let usage = RateUsage {
                req_id: None,
                counter,
                window_secs: unit * num,
                limit: u32::try_from(limit).unwrap_or(u32::MAX),
                count: u32::try_from(count).unwrap_or(u32::MAX),
            };
            // More than eight counters is not a shape Binance sends.
            let _ = usages.try_push(usage);
        }
    }
    Ok(())
}

fn counter_of(text: &[u8]) -> Option<RateCounter> {
    match text {
        b"REQUEST_WEIGHT" => Some(RateCounter::RequestWeight),
        b"ORDERS" => Some(RateCounter::Orders),
        b"RAW_REQUESTS" => Some(RateCounter::RawRequests),
        _ => None,
    }
}

fn seconds_of(text: &[u8]) -> Option<u64> {
    match text {
        b"SECOND" => Some(1),
        b"MINUTE" => Some(60),
        b"HOUR" => Some(3_600),
        b"DAY" => Some(86_400),
        _ => None,
    }
}

/// One `rateLimits` entry in Binance's key order, keys compared in place;
/// None (cursor unmoved) for any other shape.
fn read_rate_limit_in_order(scanner: &mut Scanner<'_>) -> Option<RateUsage> {
    let start = scanner.position();
    let usage = (|| {
        expect(scanner, br#"{"rateLimitType":"#)?;
        let counter = counter_of(scanner.string().ok()?.raw)?;
        expect(scanner, br#","interval":"#)?;
        let unit = seconds_of(scanner.string().ok()?.raw)?;
        expect(scanner, br#","intervalNum":"#)?;
        let num = scanner.unsigned().ok()?;
        expect(scanner, br#","limit":"#)?;
        let limit = scanner.unsigned().ok()?;
        expect(scanner, br#","count":"#)?;
        let count = scanner.unsigned().ok()?;
        expect(scanner, b"}")?;
        Some(RateUsage {
            req_id: None,
            counter,
            window_secs: unit.checked_mul(num)?,
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            count: u32::try_from(count).unwrap_or(u32::MAX),
        })
    })();
    if usage.is_none() {
        scanner.rewind(start);
    }
    usage
}

/// A successful reply: the method (or, if unknown, the result's shape)
/// decides what it means.
fn decode_result(
    id: Option<u64>,
    method: Option<Method>,
    symbol: Option<Symbol>,
    logon_asked: bool,
    result: Result<&OrderFields<'_>, &[u8]>,
    out: &mut Events,
) -> Result<ApiMessage, DecodeError> {
    let result = match result {
        Ok(order) => return decode_object_result(id, method, symbol, logon_asked, order, out),
        Err(raw) => raw,
    };
    let mut peek = Scanner::new(result);
    match peek.kind()? {
        Kind::Array if is_rows(result) => {
            klines(result, symbol, out)?;
            out.list.push(response(
                id,
                method.unwrap_or(Method::Other),
                Some("klines"),
            ));
            Ok(handled(None))
        }
        Kind::Array => {
            // openOrders.cancelAll: the canceled orders.
            let mut scanner = Scanner::new(result);
            scanner.begin_array()?;
            while scanner.next_element()? {
                let order = read_order(scanner.skip_value()?)?;
                if order.order_id.is_some() {
                    push_update(&order, Some(OrderStatus::Canceled), false, out);
                }
            }
            out.list.push(ack(
                id,
                method.unwrap_or(Method::CancelAll),
                None,
                None,
                None,
            ));
            Ok(handled(None))
        }
        Kind::Object => {
            let order = read_order(result)?;
            decode_object_result(id, method, symbol, logon_asked, &order, out)
        }
        _ => {
            // `null`: a market-stream SUBSCRIBE reply.
            out.list
                .push(response(id, method.unwrap_or(Method::Subscribe), None));
            Ok(handled(None))
        }
    }
}

/// Whether a result array holds arrays (kline rows), not orders.
fn is_rows(result: &[u8]) -> bool {
    let mut scanner = Scanner::new(result);
    scanner.begin_array().is_ok()
        && scanner.next_element().unwrap_or(false)
        && scanner.kind().is_ok_and(|kind| kind == Kind::Array)
}

/// A `klines` / `uiKlines` reply: rows of `[open time, o, h, l, c, volume,
/// close time, quote volume, trades, taker base, taker quote, unused]`. The
/// pair is the request's (None offline: the reply does not name it); the
/// interval follows from open and close time; whether the last row is
/// still open the reply does not say.
fn klines(result: &[u8], symbol: Option<Symbol>, out: &mut Events) -> Result<(), DecodeError> {
    let mut scanner = Scanner::new(result);
    scanner.begin_array()?;
    while scanner.next_element()? {
        scanner.begin_array()?;
        let bad = || {
            field(
                "klines",
                "a row is [open time, o, h, l, c, v, close time, ..]",
            )
        };
        let next = |scanner: &mut Scanner<'_>| -> Result<(), DecodeError> {
            if scanner.next_element()? {
                Ok(())
            } else {
                Err(bad())
            }
        };
        next(&mut scanner)?;
        let start = unsigned(&mut scanner, "open time")?;
        let mut prices = [Decimal::ZERO; 5];
        for price in &mut prices {
            next(&mut scanner)?;
            *price = decimal(&mut scanner, "kline")?;
        }
        next(&mut scanner)?;
        let end = unsigned(&mut scanner, "close time")?;
        while scanner.next_element()? {
            scanner.skip_value()?;
        }
        let [open, high, low, close, volume] = prices;
        out.list.push(Event::Candle(crate::model::Candle {
            symbol: symbol.unwrap_or_default(),
            interval: interval_of(end.saturating_sub(start).saturating_add(1)).ok_or_else(bad)?,
            open,
            high,
            low,
            close,
            volume,
            start: millis_to_ns(start).ok_or_else(bad)?,
            closed: None,
            from_snapshot: true,
            ts: None,
        }));
    }
    Ok(())
}

/// A kline's interval from its length in ms (a month is 28 to 31 days).
fn interval_of(millis: u64) -> Option<crate::model::Interval> {
    const MINUTE: u64 = 60_000;
    const DAY: u64 = 1_440 * MINUTE;
    let text = match millis {
        1_000 => "1s",
        m if m == MINUTE => "1m",
        m if m == 3 * MINUTE => "3m",
        m if m == 5 * MINUTE => "5m",
        m if m == 15 * MINUTE => "15m",
        m if m == 30 * MINUTE => "30m",
        m if m == 60 * MINUTE => "1h",
        m if m == 120 * MINUTE => "2h",
        m if m == 240 * MINUTE => "4h",
        m if m == 360 * MINUTE => "6h",
        m if m == 480 * MINUTE => "8h",
        m if m == 720 * MINUTE => "12h",
        m if m == DAY => "1d",
        m if m == 3 * DAY => "3d",
        m if m == 7 * DAY => "1w",
        m if (28 * DAY..=31 * DAY).contains(&m) => "1M",
        _ => return None,
    };
    inline(text)
}

/// A successful reply whose result is an object.
fn decode_object_result(
    id: Option<u64>,
    method: Option<Method>,
    symbol: Option<Symbol>,
    logon_asked: bool,
    order: &OrderFields<'_>,
    out: &mut Events,
) -> Result<ApiMessage, DecodeError> {
    let method = match method {
        Some(method) => method,
        None if logon_asked || order.authorized_since => Method::Other,
        None if order.last_update_id.is_some() => Method::BookSnapshot,
        None if order.cancel_replace => Method::CancelReplace,
        None if order.amended.is_some() => Method::Amend,
        None if order.subscription_id => Method::Subscribe,
        None if order.status == Some(OrderStatus::Canceled)
            && order.orig_client_order_id.is_some() =>
        {
            Method::Cancel
        }
        None if order.order_id.is_some() => Method::Place,
        None => Method::Ping,
    };
    if logon_asked || (method == Method::Other && order.authorized_since) {
        out.list
            .push(response(id, Method::Other, Some("session.logon")));
        return Ok(handled(Some(true)));
    }
    match method {
        Method::Place => placed(id, order, out)?,
        Method::Cancel => {
            let client = order.orig_client_order_id.or(order.client_order_id);
            out.list
                .push(ack(id, Method::Cancel, order.order_id, client, order.time));
        }
        Method::Amend => {
            let amended = read_order(order.amended.unwrap_or(b"{}"))?;
            let client = amended.orig_client_order_id.or(amended.client_order_id);
            out.list
                .push(ack(id, Method::Amend, amended.order_id, client, order.time));
        }
        Method::CancelReplace => {
            let canceled = read_order(order.cancel_response.unwrap_or(b"{}"))?;
            let client = canceled.orig_client_order_id.or(canceled.client_order_id);
            out.list.push(ack(
                id,
                Method::Cancel,
                canceled.order_id,
                client,
                canceled.time,
            ));
            placed(
                id,
                &read_order(order.new_order_response.unwrap_or(b"{}"))?,
                out,
            )?;
        }
        Method::QueryOrder => {
            push_update(order, order.status, true, out);
            out.list.push(response(id, Method::QueryOrder, None));
        }
        Method::BookSnapshot => {
            let start = out.levels.len();
            if let Some(bids) = order.bids {
                read_pairs(&mut Scanner::new(bids), &mut out.levels)?;
            }
            let middle = out.levels.len();
            if let Some(asks) = order.asks {
                read_pairs(&mut Scanner::new(asks), &mut out.levels)?;
            }
            let last_update_id = order
                .last_update_id
                .ok_or(field("lastUpdateId", "missing"))?;
            let event_index = out.list.len();
            out.list.push(Event::Book(BookEvent {
                symbol: symbol.unwrap_or_default(),
                snapshot: true,
                bids: start..middle,
                asks: middle..out.levels.len(),
                checksum: None,
                sequence: Some(last_update_id),
                ts: None,
                from_snapshot: true,
                grouping: None,
            }));
            out.list.push(response(id, Method::BookSnapshot, None));
            return Ok(ApiMessage::Handled {
                logon: None,
                snapshot: Some(SnapshotRef {
                    symbol,
                    last_update_id,
                    event_index,
                }),
            });
        }
        other => out.list.push(response(id, other, None)),
    }
    Ok(handled(None))
}

fn ack(
    req_id: Option<u64>,
    method: Method,
    order_id: Option<OrderId>,
    client_order_id: Option<ClientOrderId>,
    time_ms: Option<u64>,
) -> Event {
    Event::OrderAck(OrderAck {
        req_id,
        method,
        order_id,
        client_order_id,
        ts_in: None,
        ts_out: time_ms.and_then(millis_to_ns),
    })
}

fn response(req_id: Option<u64>, method: Method, message: Option<&str>) -> Event {
    Event::Response(Response {
        req_id,
        method,
        ok: true,
        message: message.map(str::to_owned),
        ts_in: None,
        ts_out: None,
    })
}

/// An order's state as an update (not for NEW after a place: the ack says
/// that).
fn push_update(
    order: &OrderFields<'_>,
    status: Option<OrderStatus>,
    from_snapshot: bool,
    out: &mut Events,
) {
    let (Some(order_id), Some(status)) = (order.order_id, status) else {
        return;
    };
    out.push_order_update(OrderUpdate {
        order_id,
        client_order_id: order.orig_client_order_id.or(order.client_order_id),
        symbol: order.symbol,
        side: order.side,
        status,
        price: order.price,
        qty: order.qty,
        filled_qty: order.executed,
        from_snapshot,
        ts: order.time.and_then(millis_to_ns),
        detail: order.detail,
    });
}

/// A placed order (ACK, RESULT or FULL): the ack, its state after matching
/// if that is more than NEW, and its fills.
fn placed(id: Option<u64>, order: &OrderFields<'_>, out: &mut Events) -> Result<(), DecodeError> {
    out.list.push(ack(
        id,
        Method::Place,
        order.order_id,
        order.client_order_id,
        order.time,
    ));
    if order.status.is_some_and(|s| s != OrderStatus::New) {
        push_update(order, order.status, false, out);
    }
    let Some(order_id) = order.order_id else {
        return Ok(());
    };
    let fill_of = |fill: FillFields| Fill {
        order_id,
        client_order_id: order.client_order_id,
        symbol: order.symbol,
        side: order.side,
        price: fill.price,
        qty: fill.qty,
        fee: fill.fee,
        fee_asset: fill.fee_asset,
        trade_id: fill.trade_id,
        exec_id: None,
        // Fills in a place reply are the new order's: it took.
        liquidity: Some(Liquidity::Taker),
        ts: order.time.and_then(millis_to_ns),
        derived: false,
    };
    for fill in &order.fill_list {
        out.push_fill(fill_of(*fill));
    }
    if let Some(fills) = order.fills {
        let mut scanner = Scanner::new(fills);
        scanner.begin_array()?;
        while scanner.next_element()? {
            out.push_fill(fill_of(read_fill(&mut scanner)?));
        }
    }
    Ok(())
}

/// A failed cancel-replace: one event for the cancel and one for the new
/// order, from `data` when the venue sent it (-2021, -2022).
fn replace_failure(
    id: Option<u64>,
    code: i64,
    message: String,
    error: &OrderFields<'_>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    let Some(data) = error.data else {
        // Refused as a whole (-1021, -1022, ...): nothing was done.
        out.list
            .push(reject(id, Method::Cancel, code, message.clone()));
        out.list.push(reject(id, Method::Place, code, message));
        return Ok(());
    };
    let data = read_order(data)?;
    fn part(raw: Option<&[u8]>) -> Result<Option<OrderFields<'_>>, DecodeError> {
        match raw {
            Some(b"null") | None => Ok(None),
            Some(raw) => read_order(raw).map(Some),
        }
    }
    match part(data.cancel_response)? {
        Some(canceled) if canceled.code.is_none() => {
            let client = canceled.orig_client_order_id.or(canceled.client_order_id);
            out.list.push(ack(
                id,
                Method::Cancel,
                canceled.order_id,
                client,
                canceled.time,
            ));
        }
        Some(failed) => out.list.push(reject(
            id,
            Method::Cancel,
            failed.code.unwrap_or(code),
            failed.msg.unwrap_or_else(|| message.clone()),
        )),
        None => out
            .list
            .push(reject(id, Method::Cancel, code, message.clone())),
    }
    match part(data.new_order_response)? {
        Some(placed_order) if placed_order.code.is_none() => placed(id, &placed_order, out)?,
        Some(failed) => out.list.push(reject(
            id,
            Method::Place,
            failed.code.unwrap_or(code),
            failed.msg.unwrap_or(message),
        )),
        None => {
            let mut not_attempted = reject(id, Method::Place, code, message);
            if let Event::OrderReject(r) = &mut not_attempted {
                r.reason = RejectReason::NotAttempted;
            }
            out.list.push(not_attempted);
        }
    }
    Ok(())
}

/// `{"e":"serverShutdown"}`, `executionReport`, `outboundAccountPosition`
/// and `eventStreamTerminated`.
fn decode_push(event: &[u8], out: &mut Events) -> Result<(), DecodeError> {
    let mut scanner = Scanner::new(event);
    scanner.begin_object()?;
    let mut kind: Option<&[u8]> = None;
    let mut time = None;
    let mut f = OrderFields::default();
    let (mut exec_type, mut last_qty, mut last_price) = (None, None, None);
    let (mut fee, mut fee_asset, mut trade_id, mut maker, mut orig_client) =
        (None, None, None, None, None);
    let mut balances = None;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"e" => kind = Some(scanner.string()?.raw),
            b"E" => time = Some(unsigned(&mut scanner, "E")?),
            b"s" => f.symbol = short(&mut scanner, "s")?,
            b"c" => f.client_order_id = short(&mut scanner, "c")?,
            b"C" => orig_client = short::<48>(&mut scanner, "C")?,
            b"S" => f.side = side_of(scanner.string()?.raw),
            b"q" => f.qty = Some(decimal(&mut scanner, "q")?),
            b"p" => f.price = Some(decimal(&mut scanner, "p")?),
            b"x" => exec_type = Some(scanner.string()?.raw),
            b"X" => f.status = status_of(scanner.string()?.raw),
            b"i" => f.order_id = short(&mut scanner, "i")?,
            b"l" => last_qty = Some(decimal(&mut scanner, "l")?),
            b"z" => f.executed = Some(decimal(&mut scanner, "z")?),
            b"o" => order_type_into(scanner.string()?.raw, &mut f.detail),
            b"f" => f.detail.time_in_force = time_in_force_of(scanner.string()?.raw),
            b"Z" => f.detail.filled_notional = Some(decimal(&mut scanner, "Z")?),
            b"O" => f.detail.created_ts = millis_to_ns(unsigned(&mut scanner, "O")?),
            b"P" => f.detail.trigger_price = nonzero(decimal(&mut scanner, "P")?),
            b"L" => last_price = Some(decimal(&mut scanner, "L")?),
            b"n" => fee = Some(decimal(&mut scanner, "n")?),
            b"N" => fee_asset = short(&mut scanner, "N")?,
            b"T" => f.time = Some(unsigned(&mut scanner, "T")?),
            b"t" => {
                let id = signed(&mut scanner, "t")?;
                trade_id = (id >= 0).then(|| id.to_string());
            }
            b"m" => maker = Some(scanner.boolean()?),
            b"B" => balances = Some(scanner.skip_value()?),
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    scanner.finish()?;
    match kind {
        Some(b"serverShutdown") => {
            out.list.push(Event::ServerShutdown {
                ts: time.and_then(millis_to_ns),
            });
        }
        Some(b"executionReport") => {
            // A cancel's report names the cancel in `c` and the order in `C`.
            if orig_client.is_some() {
                f.orig_client_order_id = orig_client;
            }
            f.time = f.time.or(time);
            push_update(&f, f.status, false, out);
            if exec_type == Some(b"TRADE".as_slice()) {
                let (Some(order_id), Some(price), Some(qty), Some(trade_id)) =
                    (f.order_id, last_price, last_qty, trade_id)
                else {
                    return Err(field("executionReport", "a trade needs i, L, l and t"));
                };
                out.push_fill(Fill {
                    order_id,
                    client_order_id: f.orig_client_order_id.or(f.client_order_id),
                    symbol: f.symbol,
                    side: f.side,
                    price,
                    qty,
                    fee,
                    fee_asset,
                    trade_id: inline(&trade_id).unwrap_or_default(),
                    exec_id: None,
                    liquidity: maker.map(|m| {
                        if m {
                            Liquidity::Maker
                        } else {
                            Liquidity::Taker
                        }
                    }),
                    ts: f.time.and_then(millis_to_ns),
                    derived: false,
                });
            }
        }
        Some(b"outboundAccountPosition") => {
            let mut scanner = Scanner::new(balances.unwrap_or(b"[]"));
            scanner.begin_array()?;
            while scanner.next_element()? {
                scanner.begin_object()?;
                let (mut asset, mut free, mut locked) = (None, None, None);
                while let Some(key) = scanner.next_key()? {
                    match key.raw {
                        b"a" => asset = short(&mut scanner, "a")?,
                        b"f" => free = Some(decimal(&mut scanner, "f")?),
                        b"l" => locked = Some(decimal(&mut scanner, "l")?),
                        _ => {
                            scanner.skip_value()?;
                        }
                    }
                }
                if let (Some(asset), Some(free), Some(locked)) = (asset, free, locked) {
                    out.list.push(Event::Balance(Balance {
                        asset,
                        free,
                        locked,
                        ts: None,
                    }));
                }
            }
        }
        Some(b"eventStreamTerminated") => out.list.push(Event::Response(Response {
            req_id: None,
            method: Method::Subscribe,
            ok: false,
            message: Some("eventStreamTerminated".to_owned()),
            ts_in: None,
            ts_out: None,
        })),
        // Known pushes the normalised model has no place for.
        Some(b"balanceUpdate" | b"listStatus" | b"externalLockUpdate") => {}
        _ => return Err(DecodeError::Unknown("WebSocket API event")),
    }
    Ok(())
}
