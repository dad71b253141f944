//! Kraken WS v2 messages to normalised events.
//!
//! A message is scanned once for its top-level fields (their order varies:
//! an executions update may start with `timestamp`), keeping the raw slices
//! of `result` and `data`; those are then read by what `method` or `channel`
//! says they are.

use super::{KnownOrder, Kraken};
use crate::json::{Kind, RawStr, Scanner};
use crate::model::{
    BookEvent, Candle, Event, Events, Fill, Level, Liquidity, Method, OrderAck, OrderReject,
    OrderStatus, OrderType, OrderUpdate, RejectReason, Response, Side, Ticker, TimeInForce, Trade,
    inline,
};
use crate::num::Decimal;
use crate::venue::DecodeError;
use crate::wallclock::parse_rfc3339;

/// The top-level fields of any Kraken message.
#[derive(Default)]
struct Envelope<'a> {
    method: Option<&'a [u8]>,
    channel: Option<&'a [u8]>,
    kind: Option<&'a [u8]>,
    req_id: Option<u64>,
    success: Option<bool>,
    error: Option<RawStr<'a>>,
    result: Option<&'a [u8]>,
    data: Option<&'a [u8]>,
    sequence: Option<u64>,
    time_in: Option<i64>,
    time_out: Option<i64>,
    /// `data` was decoded during the envelope scan (one pass).
    data_done: bool,
}

fn field_error(field: &'static str, why: &'static str) -> DecodeError {
    DecodeError::Field { field, why }
}

fn plain<'a>(scanner: &mut Scanner<'a>, field: &'static str) -> Result<&'a str, DecodeError> {
    scanner
        .string()?
        .plain()
        .ok_or(field_error(field, "escaped or not UTF-8"))
}

fn decimal(scanner: &mut Scanner<'_>, field: &'static str) -> Result<Decimal, DecodeError> {
    // The common shape in one pass; anything else by its checked text.
    if let Some((mantissa, scale)) = scanner.plain_decimal() {
        return Decimal::new(mantissa, scale).ok_or(field_error(field, "scale"));
    }
    // Kraken sends numbers; accept quoted decimals too (v1 and some fixtures).
    let text = match scanner.kind()? {
        Kind::String => scanner.string()?.raw,
        _ => scanner.number()?,
    };
    Decimal::parse(text).map_err(|_| field_error(field, "not an exact decimal"))
}

fn unsigned(scanner: &mut Scanner<'_>, field: &'static str) -> Result<u64, DecodeError> {
    let text = scanner.number()?;
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(field_error(field, "not an unsigned integer"))
}

fn timestamp(scanner: &mut Scanner<'_>, field: &'static str) -> Result<i64, DecodeError> {
    parse_rfc3339(scanner.string()?.raw).ok_or(field_error(field, "not an RFC 3339 time"))
}

fn symbol(scanner: &mut Scanner<'_>) -> Result<crate::model::Symbol, DecodeError> {
    inline(plain(scanner, "symbol")?).ok_or(field_error("symbol", "too long"))
}

fn id<const N: usize>(
    scanner: &mut Scanner<'_>,
    field: &'static str,
) -> Result<arrayvec::ArrayString<N>, DecodeError> {
    // Trade ids are numbers, order ids strings: keep either as text.
    let text = match scanner.kind()? {
        Kind::String => plain(scanner, field)?,
        _ => std::str::from_utf8(scanner.number()?).map_err(|_| field_error(field, "not text"))?,
    };
    inline(text).ok_or(field_error(field, "too long"))
}

fn side(scanner: &mut Scanner<'_>) -> Result<Side, DecodeError> {
    match scanner.string()?.raw {
        b"buy" => Ok(Side::Buy),
        b"sell" => Ok(Side::Sell),
        _ => Err(field_error("side", "not buy or sell")),
    }
}

fn method_of(name: &[u8]) -> Method {
    match name {
        b"add_order" => Method::Place,
        b"amend_order" | b"edit_order" => Method::Amend,
        b"cancel_order" => Method::Cancel,
        b"cancel_all" => Method::CancelAll,
        b"cancel_all_orders_after" => Method::CancelAllAfter,
        b"batch_add" => Method::BatchPlace,
        b"subscribe" => Method::Subscribe,
        b"unsubscribe" => Method::Unsubscribe,
        b"pong" | b"ping" => Method::Ping,
        _ => Method::Other,
    }
}

fn status_of(text: &[u8]) -> Option<OrderStatus> {
    Some(match text {
        b"pending_new" => OrderStatus::PendingNew,
        b"new" => OrderStatus::New,
        b"partially_filled" => OrderStatus::PartiallyFilled,
        b"filled" => OrderStatus::Filled,
        b"canceled" => OrderStatus::Canceled,
        b"expired" => OrderStatus::Expired,
        b"rejected" => OrderStatus::Rejected,
        _ => return None,
    })
}

impl Kraken {
    pub(super) fn decode_message(
        &mut self,
        message: &[u8],
        out: &mut Events,
    ) -> Result<(), DecodeError> {
        let first_event = out.list.len();
        let envelope = self.read_envelope(message, out)?;
        if let Some(method) = envelope.method {
            return decode_response(method_of(method), method, &envelope, out);
        }
        match envelope.channel {
            Some(b"heartbeat") => {
                out.list.push(Event::Heartbeat);
                Ok(())
            }
            Some(channel @ (b"book" | b"executions" | b"ohlc" | b"ticker" | b"trade")) => {
                if !envelope.data_done {
                    let data = envelope.data.ok_or(field_error("data", "missing"))?;
                    let mut scanner = Scanner::new(data);
                    self.decode_data(channel, envelope.kind, &mut scanner, out)?;
                }
                if channel == b"executions" {
                    self.check_sequence(&envelope, first_event, out);
                }
                Ok(())
            }
            Some(b"status") => {
                out.list.push(Event::Response(Response {
                    req_id: None,
                    method: Method::Other,
                    ok: true,
                    message: Some("status".to_owned()),
                    ts_in: None,
                    ts_out: None,
                }));
                Ok(())
            }
            Some(_) => Err(DecodeError::Unknown("channel")),
            None => match envelope.error {
                // {"error": "...", "success": false} without a method.
                Some(error) => {
                    out.list.push(Event::Response(Response {
                        req_id: envelope.req_id,
                        method: Method::Other,
                        ok: false,
                        message: Some(error.unescape()),
                        ts_in: envelope.time_in,
                        ts_out: envelope.time_out,
                    }));
                    Ok(())
                }
                None => Err(DecodeError::Unknown("message without method or channel")),
            },
        }
    }

    /// Decodes a channel's `data` array at the scanner.
    fn decode_data(
        &mut self,
        channel: &[u8],
        kind: Option<&[u8]>,
        scanner: &mut Scanner<'_>,
        out: &mut Events,
    ) -> Result<(), DecodeError> {
        let snapshot = kind == Some(b"snapshot");
        match channel {
            b"book" => self.decode_book(snapshot, scanner, out),
            b"executions" => self.decode_executions(snapshot, scanner, out),
            b"ticker" => decode_ticker(scanner, out),
            b"trade" => decode_trades(snapshot, scanner, out),
            b"ohlc" => decode_ohlc(snapshot, scanner, out),
            _ => Err(DecodeError::Unknown("channel")),
        }
    }

    /// A gap in the executions sequence is reported ahead of the message's
    /// events (`sequence` may follow `data` in the message).
    fn check_sequence(&mut self, envelope: &Envelope<'_>, first_event: usize, out: &mut Events) {
        let Some(sequence) = envelope.sequence else {
            return;
        };
        let snapshot = envelope.kind == Some(b"snapshot");
        if let Some(last) = self.exec_sequence {
            let expected = last.wrapping_add(1);
            if !snapshot && sequence != expected {
                let gap = Event::SequenceGap {
                    channel: "executions",
                    expected,
                    got: sequence,
                };
                out.list.insert(first_event.min(out.list.len()), gap);
            }
        }
        self.exec_sequence = Some(sequence);
    }

    /// Scans the top-level fields. When `channel` and `type` come before
    /// `data` (Kraken's order), the data is decoded in the same pass rather
    /// than skipped and scanned again.
    fn read_envelope<'m>(
        &mut self,
        message: &'m [u8],
        out: &mut Events,
    ) -> Result<Envelope<'m>, DecodeError> {
        let mut envelope = Envelope::default();
        let mut scanner = Scanner::new(message);
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            match key.raw {
                b"method" => envelope.method = Some(scanner.string()?.raw),
                b"channel" => envelope.channel = Some(scanner.string()?.raw),
                b"type" => envelope.kind = Some(scanner.string()?.raw),
                b"req_id" => envelope.req_id = Some(unsigned(&mut scanner, "req_id")?),
                b"success" => envelope.success = Some(scanner.boolean()?),
                b"error" | b"Error" => {
                    envelope.error = match scanner.kind()? {
                        Kind::String => Some(scanner.string()?),
                        _ => {
                            // An error that is not a string: keep its JSON text.
                            let raw = scanner.skip_value()?;
                            Some(RawStr {
                                raw,
                                escaped: false,
                            })
                        }
                    }
                }
                b"result" => envelope.result = Some(scanner.skip_value()?),
                b"data" => match (envelope.channel, envelope.kind) {
                    (
                        Some(channel @ (b"book" | b"executions" | b"ohlc" | b"ticker" | b"trade")),
                        Some(kind),
                    ) => {
                        self.decode_data(channel, Some(kind), &mut scanner, out)?;
                        envelope.data_done = true;
                    }
                    _ => envelope.data = Some(scanner.skip_value()?),
                },
                b"sequence" => envelope.sequence = Some(unsigned(&mut scanner, "sequence")?),
                b"time_in" => envelope.time_in = Some(timestamp(&mut scanner, "time_in")?),
                b"time_out" => envelope.time_out = Some(timestamp(&mut scanner, "time_out")?),
                _ => {
                    scanner.skip_value()?;
                }
            }
        }
        scanner.finish()?;
        Ok(envelope)
    }

    fn decode_book(
        &mut self,
        snapshot: bool,
        scanner: &mut Scanner<'_>,
        out: &mut Events,
    ) -> Result<(), DecodeError> {
        scanner.begin_array()?;
        while scanner.next_element()? {
            let mut book_symbol = None;
            let mut checksum = None;
            let mut ts = None;
            let mut bids = out.levels.len()..out.levels.len();
            let mut asks = bids.clone();
            scanner.begin_object()?;
            while let Some(key) = scanner.next_key()? {
                match key.raw {
                    b"symbol" => book_symbol = Some(symbol(scanner)?),
                    b"bids" => bids = read_levels(scanner, out)?,
                    b"asks" => asks = read_levels(scanner, out)?,
                    b"checksum" => {
                        let value = unsigned(scanner, "checksum")?;
                        checksum = Some(
                            u32::try_from(value)
                                .map_err(|_| field_error("checksum", "over u32"))?,
                        );
                    }
                    b"timestamp" => ts = Some(timestamp(scanner, "timestamp")?),
                    _ => {
                        scanner.skip_value()?;
                    }
                }
            }
            let symbol = book_symbol.ok_or(field_error("symbol", "missing"))?;
            let depth = self
                .book_depths
                .get(&symbol)
                .copied()
                .unwrap_or(self.default_depth);
            let book = self
                .books
                .entry(symbol)
                .or_insert_with(|| crate::book::Book::new(depth));
            if snapshot {
                book.clear();
            }
            for level in &out.levels[bids.clone()] {
                book.update_bid(*level);
            }
            for level in &out.levels[asks.clone()] {
                book.update_ask(*level);
            }
            book.truncate();
            out.list.push(Event::Book(BookEvent {
                symbol,
                snapshot,
                bids,
                asks,
                checksum,
                sequence: None,
                ts,
                from_snapshot: snapshot,
                grouping: None,
            }));
            if let Some(expected) = checksum {
                let computed = super::checksum::book_checksum(book);
                if computed != expected {
                    out.list.push(Event::ChecksumMismatch {
                        symbol,
                        expected,
                        computed,
                    });
                }
            }
        }
        Ok(())
    }

    fn decode_executions(
        &mut self,
        snapshot: bool,
        scanner: &mut Scanner<'_>,
        out: &mut Events,
    ) -> Result<(), DecodeError> {
        scanner.begin_array()?;
        while scanner.next_element()? {
            self.decode_execution(scanner, snapshot, out)?;
        }
        if snapshot {
            out.list.push(Event::SnapshotEnd {
                channel: "executions",
            });
        }
        Ok(())
    }

    fn decode_execution(
        &mut self,
        scanner: &mut Scanner<'_>,
        snapshot: bool,
        out: &mut Events,
    ) -> Result<(), DecodeError> {
        let mut order_id = None;
        let mut update = KnownOrder::default();
        let mut status = None;
        let mut exec_type: &[u8] = b"";
        let mut exec_id = None;
        let mut trade_id = None;
        let mut last_qty = None;
        let mut last_price = None;
        let mut liquidity = None;
        let mut fee = None;
        let mut fee_asset = None;
        let mut ts = None;
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            match key.raw {
                b"order_id" => order_id = Some(id(scanner, "order_id")?),
                b"cl_ord_id" => update.client_order_id = Some(id(scanner, "cl_ord_id")?),
                b"symbol" => update.symbol = Some(symbol(scanner)?),
                b"side" => update.side = Some(side(scanner)?),
                b"order_qty" => update.qty = Some(decimal(scanner, "order_qty")?),
                b"limit_price" => update.price = Some(decimal(scanner, "limit_price")?),
                b"cum_qty" => update.filled_qty = Some(decimal(scanner, "cum_qty")?),
                b"cum_cost" => update.filled_notional = Some(decimal(scanner, "cum_cost")?),
                b"avg_price" => {
                    update.avg_price = Some(decimal(scanner, "avg_price")?).filter(|p| !p.is_zero())
                }
                b"order_type" => update.order_type = order_type_of(scanner.string()?.raw),
                b"time_in_force" => update.time_in_force = time_in_force_of(scanner.string()?.raw),
                b"post_only" => update.post_only = Some(scanner.boolean()?),
                b"order_status" => {
                    status = Some(
                        status_of(scanner.string()?.raw)
                            .ok_or(field_error("order_status", "unknown status"))?,
                    )
                }
                b"exec_type" => exec_type = scanner.string()?.raw,
                b"exec_id" => exec_id = Some(id(scanner, "exec_id")?),
                b"trade_id" => trade_id = Some(id(scanner, "trade_id")?),
                b"last_qty" => last_qty = Some(decimal(scanner, "last_qty")?),
                b"last_price" => last_price = Some(decimal(scanner, "last_price")?),
                b"liquidity_ind" => {
                    liquidity = match scanner.string()?.raw {
                        b"m" => Some(Liquidity::Maker),
                        b"t" => Some(Liquidity::Taker),
                        _ => None,
                    }
                }
                b"fees" => (fee, fee_asset) = read_first_fee(scanner)?,
                b"timestamp" => ts = Some(timestamp(scanner, "timestamp")?),
                _ => {
                    scanner.skip_value()?;
                }
            }
        }
        let order_id = order_id.ok_or(field_error("order_id", "missing"))?;
        // Merge what this message carries into what we know of the order.
        let known = self.orders.entry(order_id).or_default();
        known.merge(&update);
        let merged = *known;
        if exec_type == b"trade" {
            let (Some(price), Some(qty)) = (last_price, last_qty) else {
                return Err(field_error("last_qty", "a trade without price or quantity"));
            };
            if exec_id.is_none() && trade_id.is_none() {
                return Err(field_error(
                    "exec_id",
                    "a trade without exec_id or trade_id",
                ));
            }
            let trade_id = trade_id.unwrap_or_default();
            out.push_fill(Fill {
                order_id,
                client_order_id: merged.client_order_id,
                symbol: merged.symbol,
                side: merged.side,
                price,
                qty,
                fee,
                fee_asset,
                trade_id,
                exec_id,
                liquidity,
                ts,
                derived: false,
            });
        }
        if let Some(status) = status {
            out.push_order_update(OrderUpdate {
                order_id,
                client_order_id: merged.client_order_id,
                symbol: merged.symbol,
                side: merged.side,
                status,
                price: merged.price,
                qty: merged.qty,
                filled_qty: merged.filled_qty,
                from_snapshot: snapshot,
                ts,
                detail: merged.detail(),
            });
            if status.is_terminal() {
                self.orders.remove(&order_id);
            }
        }
        Ok(())
    }
}

/// Kraken's `order_type`: an iceberg is a limit order shown in part; the
/// stop and take-profit kinds with a limit are trigger orders. A type the
/// model has no name for (stop-loss, trailing-stop, settle-position) stays
/// None.
fn order_type_of(text: &[u8]) -> Option<OrderType> {
    match text {
        b"limit" | b"iceberg" => Some(OrderType::Limit),
        b"market" => Some(OrderType::Market),
        b"stop-loss-limit" | b"take-profit-limit" | b"trailing-stop-limit" => {
            Some(OrderType::StopLimit)
        }
        _ => None,
    }
}

/// Kraken's `time_in_force`: upper case in executions (`GTC`), lower case
/// in requests; GTD has no name in the model and stays None.
fn time_in_force_of(text: &[u8]) -> Option<TimeInForce> {
    if text.eq_ignore_ascii_case(b"gtc") {
        Some(TimeInForce::GoodTillCanceled)
    } else if text.eq_ignore_ascii_case(b"ioc") {
        Some(TimeInForce::ImmediateOrCancel)
    } else if text.eq_ignore_ascii_case(b"fok") {
        Some(TimeInForce::FillOrKill)
    } else {
        None
    }
}

fn decode_response(
    method: Method,
    name: &[u8],
    envelope: &Envelope<'_>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    // `pong` carries no `success`; everything else says.
    let ok = envelope
        .success
        .unwrap_or(name == b"pong" && envelope.error.is_none());
    let order_method = matches!(
        method,
        Method::Place | Method::Amend | Method::Cancel | Method::BatchPlace
    );
    if !ok && order_method {
        let message = envelope
            .error
            .map_or_else(|| "request failed".to_owned(), RawStr::unescape);
        let code = message.split(':').next().unwrap_or_default().to_owned();
        let order_id = match envelope.result {
            Some(result) => read_ids(result)?.0,
            None => None,
        };
        out.list.push(Event::OrderReject(OrderReject {
            req_id: envelope.req_id,
            method,
            reason: reject_reason(&message),
            code,
            message,
            order_id,
            ts_in: envelope.time_in,
            ts_out: envelope.time_out,
        }));
        return Ok(());
    }
    if order_method {
        let result = envelope.result.unwrap_or(b"{}");
        if method == Method::BatchPlace {
            return decode_batch_result(result, envelope, out);
        }
        let (order_id, client_order_id) = read_ids(result)?;
        out.list.push(Event::OrderAck(OrderAck {
            req_id: envelope.req_id,
            method,
            order_id,
            client_order_id,
            ts_in: envelope.time_in,
            ts_out: envelope.time_out,
        }));
        return Ok(());
    }
    let message = if ok {
        envelope.result.and_then(describe_result)
    } else {
        envelope.error.map(RawStr::unescape)
    };
    out.list.push(Event::Response(Response {
        req_id: envelope.req_id,
        method,
        ok,
        message,
        ts_in: envelope.time_in,
        ts_out: envelope.time_out,
    }));
    Ok(())
}

/// A short text for a non-order result: the channel subscribed, the count
/// canceled, the dead-man switch's trigger time.
fn describe_result(result: &[u8]) -> Option<String> {
    let mut scanner = Scanner::new(result);
    scanner.begin_object().ok()?;
    while let Ok(Some(key)) = scanner.next_key() {
        match key.raw {
            b"channel" => return scanner.string().ok().map(|s| s.unescape()),
            b"count" => {
                return scanner
                    .number()
                    .ok()
                    .map(|n| format!("count {}", String::from_utf8_lossy(n)));
            }
            b"triggerTime" => {
                return scanner
                    .string()
                    .ok()
                    .map(|s| format!("trigger {}", s.unescape()));
            }
            _ => {
                scanner.skip_value().ok()?;
            }
        }
    }
    None
}

type Ids = (
    Option<crate::model::OrderId>,
    Option<crate::model::ClientOrderId>,
);

/// `order_id` and `cl_ord_id` of a result object.
fn read_ids(result: &[u8]) -> Result<Ids, DecodeError> {
    let mut scanner = Scanner::new(result);
    let mut ids = (None, None);
    if scanner.kind()? != Kind::Object {
        scanner.skip_value()?;
        return Ok(ids);
    }
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"order_id" => ids.0 = Some(id(&mut scanner, "order_id")?),
            b"cl_ord_id" => ids.1 = Some(id(&mut scanner, "cl_ord_id")?),
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    Ok(ids)
}

/// batch_add results come as `[{order_id,...}, ...]` or (unconfirmed shape)
/// `{"orders":[{order_id, success, error?}, ...]}`: one ack or reject per
/// order, in request order.
fn decode_batch_result(
    result: &[u8],
    envelope: &Envelope<'_>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    let mut scanner = Scanner::new(result);
    if scanner.kind()? == Kind::Object {
        scanner.begin_object()?;
        let mut found = false;
        while let Some(key) = scanner.next_key()? {
            if key.raw == b"orders" {
                decode_batch_orders(&mut scanner, envelope, out)?;
                found = true;
            } else {
                scanner.skip_value()?;
            }
        }
        return if found {
            Ok(())
        } else {
            Err(field_error("result", "batch_add result without orders"))
        };
    }
    decode_batch_orders(&mut scanner, envelope, out)
}

fn decode_batch_orders(
    scanner: &mut Scanner<'_>,
    envelope: &Envelope<'_>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    scanner.begin_array()?;
    while scanner.next_element()? {
        let mut order_id = None;
        let mut client_order_id = None;
        let mut success = true;
        let mut error = None;
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            match key.raw {
                b"order_id" => order_id = Some(id(scanner, "order_id")?),
                b"cl_ord_id" => client_order_id = Some(id(scanner, "cl_ord_id")?),
                b"success" => success = scanner.boolean()?,
                b"error" => error = Some(scanner.string()?.unescape()),
                _ => {
                    scanner.skip_value()?;
                }
            }
        }
        if success {
            out.list.push(Event::OrderAck(OrderAck {
                req_id: envelope.req_id,
                method: Method::BatchPlace,
                order_id,
                client_order_id,
                ts_in: envelope.time_in,
                ts_out: envelope.time_out,
            }));
        } else {
            let message = error.unwrap_or_else(|| "order failed".to_owned());
            out.list.push(Event::OrderReject(OrderReject {
                req_id: envelope.req_id,
                method: Method::BatchPlace,
                code: message.split(':').next().unwrap_or_default().to_owned(),
                reason: reject_reason(&message),
                message,
                order_id,
                ts_in: envelope.time_in,
                ts_out: envelope.time_out,
            }));
        }
    }
    Ok(())
}

/// Kraken's error text (`EOrder:Insufficient funds`), typed.
fn reject_reason(message: &str) -> RejectReason {
    match message {
        "EOrder:Unknown order" | "EOrder:Unknown order id" => RejectReason::UnknownOrder,
        "EOrder:Insufficient funds" => RejectReason::InsufficientFunds,
        "EOrder:Rate limit exceeded" | "EGeneral:Too many requests" => RejectReason::RateLimited,
        "EOrder:Post only order" => RejectReason::WouldTake,
        "EAPI:Invalid nonce" => RejectReason::BadTimestamp,
        "EAPI:Invalid key" | "EAPI:Invalid signature" | "EGeneral:Permission denied" => {
            RejectReason::Unauthorized
        }
        m if m.starts_with("EGeneral:Invalid") || m.starts_with("EOrder:Invalid") => {
            RejectReason::InvalidRequest
        }
        _ => RejectReason::Other,
    }
}

/// `[{"price":..,"qty":..}, ...]` appended to `out.levels`.
fn read_levels(
    scanner: &mut Scanner<'_>,
    out: &mut Events,
) -> Result<std::ops::Range<usize>, DecodeError> {
    let start = out.levels.len();
    scanner.begin_array()?;
    while scanner.next_element()? {
        let mut price = None;
        let mut qty = None;
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            match key.raw {
                b"price" => price = Some(decimal(scanner, "price")?),
                b"qty" => qty = Some(decimal(scanner, "qty")?),
                _ => {
                    scanner.skip_value()?;
                }
            }
        }
        let (Some(price), Some(qty)) = (price, qty) else {
            return Err(field_error("price", "a level needs price and qty"));
        };
        if price.is_negative() || qty.is_negative() {
            return Err(field_error("qty", "negative"));
        }
        out.levels.push(Level { price, qty });
    }
    Ok(start..out.levels.len())
}

/// The first entry of `fees: [{"asset": "USD", "qty": 0.3458}]`.
fn read_first_fee(
    scanner: &mut Scanner<'_>,
) -> Result<(Option<Decimal>, Option<crate::model::Asset>), DecodeError> {
    let mut fee = (None, None);
    scanner.begin_array()?;
    while scanner.next_element()? {
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            match key.raw {
                b"asset" if fee.1.is_none() => fee.1 = Some(id(scanner, "fees.asset")?),
                b"qty" if fee.0.is_none() => fee.0 = Some(decimal(scanner, "fees.qty")?),
                _ => {
                    scanner.skip_value()?;
                }
            }
        }
    }
    Ok(fee)
}

fn decode_ticker(scanner: &mut Scanner<'_>, out: &mut Events) -> Result<(), DecodeError> {
    scanner.begin_array()?;
    while scanner.next_element()? {
        let mut ticker = Ticker {
            symbol: Default::default(),
            last: None,
            bid: None,
            ask: None,
            bid_qty: None,
            ask_qty: None,
            volume: None,
            ts: None,
        };
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            let slot = match key.raw {
                b"symbol" => {
                    ticker.symbol = symbol(scanner)?;
                    continue;
                }
                b"timestamp" => {
                    ticker.ts = Some(timestamp(scanner, "timestamp")?);
                    continue;
                }
                b"last" => &mut ticker.last,
                b"bid" => &mut ticker.bid,
                b"ask" => &mut ticker.ask,
                b"bid_qty" => &mut ticker.bid_qty,
                b"ask_qty" => &mut ticker.ask_qty,
                b"volume" => &mut ticker.volume,
                _ => {
                    scanner.skip_value()?;
                    continue;
                }
            };
            *slot = Some(decimal(scanner, "ticker")?);
        }
        if ticker.symbol.is_empty() {
            return Err(field_error("symbol", "missing"));
        }
        out.list.push(Event::Ticker(ticker));
    }
    Ok(())
}

/// `trade` data; a `snapshot` message holds recent trades, which may have
/// been seen before a reconnect.
fn decode_trades(
    snapshot: bool,
    scanner: &mut Scanner<'_>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    scanner.begin_array()?;
    while scanner.next_element()? {
        let (mut trade_symbol, mut price, mut qty, mut trade_side, mut trade_id, mut ts) =
            (None, None, None, None, None, None);
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            match key.raw {
                b"symbol" => trade_symbol = Some(symbol(scanner)?),
                b"price" => price = Some(decimal(scanner, "price")?),
                b"qty" => qty = Some(decimal(scanner, "qty")?),
                b"side" => trade_side = Some(side(scanner)?),
                b"trade_id" => trade_id = Some(id(scanner, "trade_id")?),
                b"timestamp" => ts = Some(timestamp(scanner, "timestamp")?),
                _ => {
                    scanner.skip_value()?;
                }
            }
        }
        let (Some(symbol), Some(price), Some(qty)) = (trade_symbol, price, qty) else {
            return Err(field_error("trade", "symbol, price and qty are required"));
        };
        out.list.push(Event::Trade(Trade {
            symbol,
            price,
            qty,
            side: trade_side,
            trade_id: trade_id.unwrap_or_default(),
            ts,
            from_snapshot: snapshot,
        }));
    }
    Ok(())
}

/// `ohlc` data: `{"symbol","open","high","low","close","trades","volume",
/// "vwap","interval_begin","interval","timestamp"}` per candle. Kraken sends
/// an update on each trade and never says a candle closed (a later
/// `interval_begin` means it has), so `closed` is None.
fn decode_ohlc(
    snapshot: bool,
    scanner: &mut Scanner<'_>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    scanner.begin_array()?;
    while scanner.next_element()? {
        let (mut candle_symbol, mut start, mut minutes) = (None, None, None);
        let mut prices: [Option<Decimal>; 5] = [None; 5];
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            let slot = match key.raw {
                b"open" => 0,
                b"high" => 1,
                b"low" => 2,
                b"close" => 3,
                b"volume" => 4,
                b"symbol" => {
                    candle_symbol = Some(symbol(scanner)?);
                    continue;
                }
                b"interval_begin" => {
                    start = Some(timestamp(scanner, "interval_begin")?);
                    continue;
                }
                b"interval" => {
                    minutes = Some(unsigned(scanner, "interval")?);
                    continue;
                }
                _ => {
                    scanner.skip_value()?;
                    continue;
                }
            };
            prices[slot] = Some(decimal(scanner, "ohlc")?);
        }
        let missing = || {
            field_error(
                "ohlc",
                "symbol, open, high, low, close, volume, interval_begin and interval are required",
            )
        };
        let [Some(open), Some(high), Some(low), Some(close), Some(volume)] = prices else {
            return Err(missing());
        };
        let interval = minutes
            .and_then(super::encode::interval_text)
            .ok_or(field_error("interval", "not one Kraken serves"))?;
        out.list.push(Event::Candle(Candle {
            symbol: candle_symbol.ok_or_else(missing)?,
            interval: inline(interval).ok_or_else(missing)?,
            open,
            high,
            low,
            close,
            volume,
            start: start.ok_or_else(missing)?,
            closed: None,
            from_snapshot: snapshot,
            ts: None,
        }));
    }
    Ok(())
}
