//! Requests to Kraken WS v2 messages.

use super::{Kraken, MAX_BATCH, MIN_BATCH};
use crate::model::{
    AmendOrder, CancelOrders, NewOrder, OrderKind, OrderRef, Request, Subscription, TimeInForce,
    write_json_string,
};
use crate::num::Decimal;
use crate::venue::{EncodeError, Note};

impl Kraken {
    pub(super) fn encode_request(
        &mut self,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let start = out.len();
        let result = self.encode_body(request, out);
        match result {
            Ok(()) => {
                out.extend_from_slice(b",\"req_id\":");
                push_u64(req_id, out);
                out.push(b'}');
                Ok(())
            }
            Err(error) => {
                out.truncate(start);
                Err(error)
            }
        }
    }

    fn encode_body(&mut self, request: &Request<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match request {
            Request::Place(order) => {
                open(out, "add_order");
                self.order_fields(order, true, out)?;
                self.token_field(out)?;
                out.push(b'}');
            }
            Request::Amend(amend) => {
                open(out, "amend_order");
                amend_fields(amend, out)?;
                self.token_field(out)?;
                out.push(b'}');
            }
            Request::Cancel(cancel) => {
                open(out, "cancel_order");
                cancel_fields(cancel, out)?;
                self.token_field(out)?;
                out.push(b'}');
            }
            Request::CancelAll { .. } => {
                open(out, "cancel_all");
                self.token_only(out)?;
                out.push(b'}');
            }
            Request::CancelAllAfter { timeout_secs } => {
                if *timeout_secs >= 86_400 {
                    return Err(EncodeError::Invalid(
                        "cancel_all_orders_after timeout >= 86400 s",
                    ));
                }
                open(out, "cancel_all_orders_after");
                out.extend_from_slice(b"\"timeout\":");
                push_u64(u64::from(*timeout_secs), out);
                self.token_field(out)?;
                out.push(b'}');
            }
            Request::BatchPlace(orders) => {
                if !(MIN_BATCH..=MAX_BATCH).contains(&orders.len()) {
                    return Err(EncodeError::Invalid("batch_add takes 2 to 15 orders"));
                }
                let symbol = &orders[0].symbol;
                if orders.iter().any(|o| o.symbol != *symbol) {
                    return Err(EncodeError::Invalid("batch_add orders share one symbol"));
                }
                open(out, "batch_add");
                out.extend_from_slice(b"\"symbol\":");
                write_json_string(symbol, out);
                out.extend_from_slice(b",\"orders\":[");
                for (index, order) in orders.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    out.push(b'{');
                    self.order_fields(order, false, out)?;
                    out.push(b'}');
                }
                out.push(b']');
                self.token_field(out)?;
                out.push(b'}');
            }
            Request::Subscribe(subscription) => {
                open(out, "subscribe");
                self.subscription_fields(subscription, true, out)?;
                out.push(b'}');
            }
            Request::Unsubscribe(subscription) => {
                open(out, "unsubscribe");
                self.subscription_fields(subscription, false, out)?;
                out.push(b'}');
            }
            Request::Ping => out.extend_from_slice(b"{\"method\":\"ping\""),
            // Kraken v2 has no such requests: orders reconcile from the
            // executions snapshot, books come whole on subscribe.
            Request::CancelReplace(_) => return Err(EncodeError::Unsupported("cancel_replace")),
            Request::QueryOrder { .. } => return Err(EncodeError::Unsupported("query_order")),
            Request::BookSnapshot { .. } => return Err(EncodeError::Unsupported("book_snapshot")),
            // Anything else (server time, and requests added for other
            // venues) is not a Kraken v2 request.
            _ => return Err(EncodeError::Unsupported(request.method().as_str())),
        }
        Ok(())
    }

    fn order_fields(
        &self,
        order: &NewOrder,
        with_symbol: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let kind = match order.kind {
            OrderKind::Limit => "limit",
            OrderKind::Market => "market",
        };
        out.extend_from_slice(b"\"order_type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\",\"side\":\"");
        out.extend_from_slice(order.side.as_str().as_bytes());
        out.push(b'"');
        match (order.kind, order.price) {
            (OrderKind::Limit, Some(price)) => number_field("limit_price", price, out)?,
            (OrderKind::Limit, None) => {
                return Err(EncodeError::Invalid("a limit order needs a price"));
            }
            (OrderKind::Market, _) => {}
        }
        number_field("order_qty", order.qty, out)?;
        if order.qty.is_negative() || order.qty.is_zero() {
            return Err(EncodeError::Invalid("order_qty must be positive"));
        }
        if with_symbol {
            out.extend_from_slice(b",\"symbol\":");
            write_json_string(&order.symbol, out);
        }
        if !order.client_order_id.is_empty() {
            out.extend_from_slice(b",\"cl_ord_id\":");
            write_json_string(&order.client_order_id, out);
        }
        match order.time_in_force {
            TimeInForce::GoodTillCanceled => {}
            TimeInForce::ImmediateOrCancel => out.extend_from_slice(b",\"time_in_force\":\"ioc\""),
            TimeInForce::FillOrKill => out.extend_from_slice(b",\"time_in_force\":\"fok\""),
        }
        if order.post_only {
            out.extend_from_slice(b",\"post_only\":true");
        }
        Ok(())
    }

    fn subscription_fields(
        &mut self,
        subscription: &Subscription,
        subscribe: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        match subscription {
            Subscription::Book { symbols, depth } => {
                if ![10, 25, 100, 500, 1000].contains(depth) {
                    return Err(EncodeError::Invalid(
                        "book depth is 10, 25, 100, 500 or 1000",
                    ));
                }
                out.extend_from_slice(b"\"channel\":\"book\"");
                symbols_field(symbols, out);
                out.extend_from_slice(b",\"depth\":");
                push_u64(u64::from(*depth), out);
                if subscribe {
                    for symbol in symbols {
                        self.book_depths.insert(*symbol, *depth as usize);
                        self.notes.push(Note::Book {
                            symbol: *symbol,
                            depth: *depth,
                        });
                    }
                }
            }
            Subscription::Ticker { symbols } => {
                out.extend_from_slice(b"\"channel\":\"ticker\"");
                symbols_field(symbols, out);
            }
            Subscription::Trades { symbols } => {
                out.extend_from_slice(b"\"channel\":\"trade\"");
                symbols_field(symbols, out);
            }
            Subscription::Candles { symbols, interval } => {
                let minutes = OHLC_INTERVALS
                    .iter()
                    .find(|(_, text)| *text == interval.as_str())
                    .ok_or(EncodeError::Unsupported(
                        "Kraken's ohlc intervals are 1m 5m 15m 30m 1h 4h 1d 1w 15d",
                    ))?
                    .0;
                out.extend_from_slice(b"\"channel\":\"ohlc\"");
                symbols_field(symbols, out);
                out.extend_from_slice(b",\"interval\":");
                push_u64(minutes, out);
            }
            Subscription::Executions {
                snapshot_orders,
                snapshot_trades,
            } => {
                out.extend_from_slice(b"\"channel\":\"executions\"");
                if subscribe {
                    out.extend_from_slice(b",\"snap_orders\":");
                    out.extend_from_slice(bool_text(*snapshot_orders));
                    out.extend_from_slice(b",\"snap_trades\":");
                    out.extend_from_slice(bool_text(*snapshot_trades));
                }
                self.token_field(out)?;
            }
            // Per-pair order and balance feeds, and channels added for
            // other venues.
            _ => {
                return Err(EncodeError::Unsupported(
                    "Kraken's executions channel covers every pair: subscribe Executions",
                ));
            }
        }
        Ok(())
    }

    fn token_field(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let token = self.token.as_ref().ok_or(EncodeError::NoCredentials)?;
        out.extend_from_slice(b",\"token\":");
        write_json_string(token.expose(), out);
        Ok(())
    }

    /// `"token":"..."` as the only parameter.
    fn token_only(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let token = self.token.as_ref().ok_or(EncodeError::NoCredentials)?;
        out.extend_from_slice(b"\"token\":");
        write_json_string(token.expose(), out);
        Ok(())
    }
}

/// Kraken's `ohlc` intervals in minutes, and the normalised text of each.
const OHLC_INTERVALS: [(u64, &str); 9] = [
    (1, "1m"),
    (5, "5m"),
    (15, "15m"),
    (30, "30m"),
    (60, "1h"),
    (240, "4h"),
    (1440, "1d"),
    (10080, "1w"),
    (21600, "15d"),
];

/// The normalised interval of an `ohlc` interval in minutes.
pub(super) fn interval_text(minutes: u64) -> Option<&'static str> {
    OHLC_INTERVALS
        .iter()
        .find(|(m, _)| *m == minutes)
        .map(|(_, text)| *text)
}

/// `{"method":"<method>","params":{` ; the caller closes `params` with `}`.
fn open(out: &mut Vec<u8>, method: &str) {
    out.extend_from_slice(b"{\"method\":\"");
    out.extend_from_slice(method.as_bytes());
    out.extend_from_slice(b"\",\"params\":{");
}

fn amend_fields(amend: &AmendOrder, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match &amend.order {
        OrderRef::OrderId(id) => {
            out.extend_from_slice(b"\"order_id\":");
            write_json_string(id, out);
        }
        OrderRef::ClientOrderId(id) => {
            out.extend_from_slice(b"\"cl_ord_id\":");
            write_json_string(id, out);
        }
    }
    if amend.price.is_none() && amend.qty.is_none() {
        return Err(EncodeError::Invalid(
            "an amend changes the price or the quantity",
        ));
    }
    if let Some(price) = amend.price {
        number_field("limit_price", price, out)?;
    }
    if let Some(qty) = amend.qty {
        number_field("order_qty", qty, out)?;
    }
    Ok(())
}

fn cancel_fields(cancel: &CancelOrders, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let Some(first) = cancel.orders.first() else {
        return Err(EncodeError::Invalid("cancel names at least one order"));
    };
    let by_order_id = matches!(first, OrderRef::OrderId(_));
    out.extend_from_slice(if by_order_id {
        b"\"order_id\":["
    } else {
        b"\"cl_ord_id\":["
    });
    for (index, order) in cancel.orders.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        match (order, by_order_id) {
            (OrderRef::OrderId(id), true) | (OrderRef::ClientOrderId(id), false) => {
                write_json_string(id, out)
            }
            _ => {
                return Err(EncodeError::Invalid(
                    "one cancel uses one kind of order reference",
                ));
            }
        }
    }
    out.push(b']');
    Ok(())
}

fn symbols_field(symbols: &[crate::model::Symbol], out: &mut Vec<u8>) {
    out.extend_from_slice(b",\"symbol\":[");
    for (index, symbol) in symbols.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_json_string(symbol, out);
    }
    out.push(b']');
}

/// `,"name":<decimal>`: Kraken takes prices and quantities as JSON numbers;
/// the decimal's exact text is a valid JSON number.
fn number_field(name: &str, value: Decimal, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if value.is_negative() {
        return Err(EncodeError::Invalid(
            "prices and quantities are not negative",
        ));
    }
    if !out.ends_with(b"{") {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    value.write_to(out);
    Ok(())
}

fn bool_text(value: bool) -> &'static [u8] {
    if value { b"true" } else { b"false" }
}

/// Appends the decimal digits of `value` (the decimal formatter's digits).
pub(crate) fn push_u64(value: u64, out: &mut Vec<u8>) {
    // A scale of 0 is always valid.
    Decimal::new(i128::from(value), 0)
        .unwrap_or(Decimal::ZERO)
        .write_to(out);
}
