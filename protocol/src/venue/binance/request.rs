//! WebSocket API requests: `{"id":..,"method":..,"params":{..}}`, with the
//! parameters written in name order so that the signing payload
//! (`k=v&k=v`, sorted by name) is built in the same pass.

use super::sign::Signer;
use crate::model::{
    AmendOrder, CancelOrders, NewOrder, OrderKind, OrderRef, Request, Side, TimeInForce,
    write_json_string,
};
use crate::num::Decimal;
use crate::secret::Secret;
use crate::venue::EncodeError;

/// API key and signer; after `session.logon`, requests go unsigned.
pub struct Credentials {
    /// The API key.
    pub api_key: Secret,
    /// How to sign.
    pub signer: Signer,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field("signer", &self.signer)
            .finish()
    }
}

/// Encodes WebSocket API requests.
#[derive(Debug)]
pub struct RequestWriter {
    credentials: Option<Credentials>,
    /// `recvWindow` in ms (default 5000, at most 60000).
    pub recv_window_ms: u32,
    /// Set after a successful `session.logon`: no apiKey or signature.
    pub logged_on: bool,
    wall_ms: u64,
    payload: Vec<u8>,
}

/// Appends `name` and `value` to both the JSON params and the payload.
struct Params<'j, 'p> {
    json: &'j mut Vec<u8>,
    payload: &'p mut Vec<u8>,
    first: bool,
}

impl Params<'_, '_> {
    fn raw(&mut self, name: &str, value: &[u8], quoted: bool) {
        if !self.first {
            self.json.push(b',');
            self.payload.push(b'&');
        }
        self.first = false;
        self.json.push(b'"');
        self.json.extend_from_slice(name.as_bytes());
        self.json.extend_from_slice(b"\":");
        if quoted {
            // Values are ids, enums and decimals: plain ASCII, but escape
            // anyway (a client order id is user text).
            write_json_string(std::str::from_utf8(value).unwrap_or(""), self.json);
        } else {
            self.json.extend_from_slice(value);
        }
        self.payload.extend_from_slice(name.as_bytes());
        self.payload.push(b'=');
        self.payload.extend_from_slice(value);
    }

    fn text(&mut self, name: &str, value: &str) {
        self.raw(name, value.as_bytes(), true);
    }

    fn decimal(&mut self, name: &str, value: Decimal) {
        let mut text = Vec::with_capacity(48);
        value.write_to(&mut text);
        self.raw(name, &text, true);
    }

    fn number(&mut self, name: &str, value: u64) {
        let mut text = Vec::with_capacity(20);
        Decimal::new(i128::from(value), 0)
            .unwrap_or(Decimal::ZERO)
            .write_to(&mut text);
        self.raw(name, &text, false);
    }
}

impl RequestWriter {
    /// A writer; without credentials only public requests encode.
    pub fn new(credentials: Option<Credentials>) -> RequestWriter {
        RequestWriter {
            credentials,
            recv_window_ms: 5_000,
            logged_on: false,
            wall_ms: 0,
            payload: Vec::with_capacity(512),
        }
    }

    /// The wall clock for `timestamp` (ns since the epoch).
    pub fn set_wall_clock(&mut self, wall_ns: i64) {
        self.wall_ms = u64::try_from(wall_ns / 1_000_000).unwrap_or(0);
    }

    /// Appends `request` with `id` = `req_id`.
    pub fn encode(
        &mut self,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let start = out.len();
        let result = self.encode_inner(req_id, request, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_inner(
        &mut self,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let method = match request {
            Request::Place(_) => "order.place",
            Request::Cancel(_) => "order.cancel",
            Request::Amend(_) => "order.amend.keepPriority",
            Request::Ping => "ping",
            _ => {
                return Err(EncodeError::Unsupported(
                    "this request on Binance (not yet)",
                ));
            }
        };
        out.extend_from_slice(b"{\"id\":");
        Decimal::new(i128::from(req_id), 0)
            .unwrap_or(Decimal::ZERO)
            .write_to(out);
        out.extend_from_slice(b",\"method\":\"");
        out.extend_from_slice(method.as_bytes());
        out.extend_from_slice(b"\"");
        if matches!(request, Request::Ping) {
            out.push(b'}');
            return Ok(());
        }
        let signed = !self.logged_on;
        let credentials = self
            .credentials
            .as_ref()
            .ok_or(EncodeError::NoCredentials)?;
        out.extend_from_slice(b",\"params\":{");
        let mut payload = std::mem::take(&mut self.payload);
        payload.clear();
        let mut params = Params {
            json: out,
            payload: &mut payload,
            first: true,
        };
        // Every branch writes its parameters in name (byte) order.
        if signed {
            params.text("apiKey", credentials.api_key.expose());
        }
        let recv_window = u64::from(self.recv_window_ms.min(60_000));
        let timestamp = self.wall_ms;
        match request {
            Request::Place(order) => place_params(&mut params, order, recv_window, timestamp)?,
            Request::Cancel(cancel) => cancel_params(&mut params, cancel, recv_window, timestamp)?,
            Request::Amend(amend) => amend_params(&mut params, amend, recv_window, timestamp)?,
            _ => {}
        }
        let json = params.json;
        if signed {
            json.extend_from_slice(b",\"signature\":\"");
            credentials.signer.sign_into(&payload, json);
            json.push(b'"');
        }
        out.extend_from_slice(b"}}");
        self.payload = payload;
        Ok(())
    }
}

/// Binance order ids are integers: written as JSON numbers.
fn numeric(id: &str) -> Result<&[u8], EncodeError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EncodeError::Invalid("Binance order ids are integers"));
    }
    Ok(id.as_bytes())
}

fn symbol_text(symbol: &str) -> Result<&str, EncodeError> {
    if symbol.is_empty() || symbol.contains('/') {
        return Err(EncodeError::Invalid("Binance symbols are like BTCUSDT"));
    }
    Ok(symbol)
}

fn place_params(
    p: &mut Params<'_, '_>,
    order: &NewOrder,
    recv_window: u64,
    timestamp: u64,
) -> Result<(), EncodeError> {
    if !order.client_order_id.is_empty() {
        p.text("newClientOrderId", &order.client_order_id);
    }
    match (order.kind, order.price) {
        (OrderKind::Limit, Some(price)) => p.decimal("price", price),
        (OrderKind::Limit, None) => {
            return Err(EncodeError::Invalid("a limit order needs a price"));
        }
        (OrderKind::Market, _) => {}
    }
    p.decimal("quantity", order.qty);
    p.number("recvWindow", recv_window);
    p.text(
        "side",
        match order.side {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        },
    );
    p.text("symbol", symbol_text(&order.symbol)?);
    if order.kind == OrderKind::Limit {
        let tif = match order.time_in_force {
            TimeInForce::GoodTillCanceled => "GTC",
            TimeInForce::ImmediateOrCancel => "IOC",
        };
        p.text("timeInForce", tif);
    }
    p.number("timestamp", timestamp);
    p.text(
        "type",
        match (order.kind, order.post_only) {
            (OrderKind::Limit, true) => "LIMIT_MAKER",
            (OrderKind::Limit, false) => "LIMIT",
            (OrderKind::Market, _) => "MARKET",
        },
    );
    Ok(())
}

fn cancel_params(
    p: &mut Params<'_, '_>,
    cancel: &CancelOrders,
    recv_window: u64,
    timestamp: u64,
) -> Result<(), EncodeError> {
    let [order] = cancel.orders.as_slice() else {
        return Err(EncodeError::Invalid(
            "Binance cancels one order per request",
        ));
    };
    let symbol = cancel
        .symbol
        .ok_or(EncodeError::Invalid("Binance cancels need the symbol"))?;
    match order {
        OrderRef::OrderId(id) => p.raw("orderId", numeric(id)?, false),
        OrderRef::ClientOrderId(id) => p.text("origClientOrderId", id),
    }
    p.number("recvWindow", recv_window);
    p.text("symbol", symbol_text(&symbol)?);
    p.number("timestamp", timestamp);
    Ok(())
}

fn amend_params(
    p: &mut Params<'_, '_>,
    amend: &AmendOrder,
    recv_window: u64,
    timestamp: u64,
) -> Result<(), EncodeError> {
    let symbol = amend
        .symbol
        .ok_or(EncodeError::Invalid("Binance amends need the symbol"))?;
    if amend.price.is_some() {
        return Err(EncodeError::Invalid(
            "order.amend.keepPriority changes only the quantity",
        ));
    }
    let qty = amend
        .qty
        .ok_or(EncodeError::Invalid("an amend needs newQty"))?;
    p.decimal("newQty", qty);
    match amend.order {
        OrderRef::OrderId(id) => p.raw("orderId", numeric(&id)?, false),
        OrderRef::ClientOrderId(id) => p.text("origClientOrderId", &id),
    }
    p.number("recvWindow", recv_window);
    p.text("symbol", symbol_text(&symbol)?);
    p.number("timestamp", timestamp);
    Ok(())
}
