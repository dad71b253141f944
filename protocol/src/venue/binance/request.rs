//! WebSocket API requests: `{"id":..,"method":..,"params":{..}}`, with the
//! parameters written in name order so that the signing payload
//! (`k=v&k=v`, sorted by name) is built in the same pass.

use super::sign::Signer;
use crate::model::{
    AmendOrder, CancelOrders, CancelReplace, NewOrder, OrderKind, OrderRef, ReplaceMode, Request,
    Side, Subscription, TimeInForce, write_json_string,
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
    /// `newOrderRespType` of places and cancel-replaces; None leaves it to
    /// the venue (FULL for LIMIT and MARKET).
    pub response_type: Option<ResponseType>,
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
    /// The separators and `"name":` in the JSON, `name=` in the payload.
    fn key(&mut self, name: &str) {
        if !self.first {
            self.json.push(b',');
            self.payload.push(b'&');
        }
        self.first = false;
        self.json.push(b'"');
        self.json.extend_from_slice(name.as_bytes());
        self.json.extend_from_slice(b"\":");
        self.payload.extend_from_slice(name.as_bytes());
        self.payload.push(b'=');
    }

    fn raw(&mut self, name: &str, value: &[u8], quoted: bool) {
        self.key(name);
        if quoted {
            // Values are ids, enums and decimals: plain ASCII, but escape
            // anyway (a client order id is user text).
            write_json_string(std::str::from_utf8(value).unwrap_or(""), self.json);
        } else {
            self.json.extend_from_slice(value);
        }
        self.payload.extend_from_slice(value);
    }

    fn text(&mut self, name: &str, value: &str) {
        self.raw(name, value.as_bytes(), true);
    }

    /// Writes the value once, into the JSON, and copies those bytes to the
    /// payload: no scratch buffer, so signing allocates nothing.
    fn written(&mut self, name: &str, quoted: bool, write: impl FnOnce(&mut Vec<u8>)) {
        self.key(name);
        if quoted {
            self.json.push(b'"');
        }
        let start = self.json.len();
        write(self.json);
        let end = self.json.len();
        if quoted {
            self.json.push(b'"');
        }
        self.payload.extend_from_slice(&self.json[start..end]);
    }

    fn decimal(&mut self, name: &str, value: Decimal) {
        // Decimal text is digits, '-' and '.': nothing to escape.
        self.written(name, true, |json| value.write_to(json));
    }

    fn number(&mut self, name: &str, value: u64) {
        self.written(name, false, |json| {
            Decimal::new(i128::from(value), 0)
                .unwrap_or(Decimal::ZERO)
                .write_to(json)
        });
    }
}

impl RequestWriter {
    /// A writer; without credentials only public requests encode.
    pub fn new(credentials: Option<Credentials>) -> RequestWriter {
        RequestWriter {
            credentials,
            recv_window_ms: 5_000,
            logged_on: false,
            response_type: None,
            wall_ms: 0,
            payload: Vec::with_capacity(512),
        }
    }

    /// How requests are signed, for a capture's header: `none`, `hmac` or
    /// `ed25519` (never the key).
    pub fn signer_kind(&self) -> &'static str {
        match &self.credentials {
            None => "none",
            Some(Credentials {
                signer: Signer::Hmac(_),
                ..
            }) => "hmac",
            Some(Credentials {
                signer: Signer::Ed25519(_),
                ..
            }) => "ed25519",
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
        let (method, security) = match request {
            Request::Place(_) => ("order.place", Security::Signed),
            Request::Cancel(_) => ("order.cancel", Security::Signed),
            Request::Amend(_) => ("order.amend.keepPriority", Security::Signed),
            Request::CancelReplace(_) => ("order.cancelReplace", Security::Signed),
            Request::CancelAll { .. } => ("openOrders.cancelAll", Security::Signed),
            Request::QueryOrder { .. } => ("order.status", Security::Signed),
            Request::BookSnapshot { .. } => ("depth", Security::Public),
            Request::Ping => ("ping", Security::Public),
            Request::ServerTime => ("time", Security::Public),
            Request::Subscribe(Subscription::Executions { .. }) if self.logged_on => {
                ("userDataStream.subscribe", Security::Public)
            }
            Request::Subscribe(Subscription::Executions { .. }) => {
                ("userDataStream.subscribe.signature", Security::Signed)
            }
            Request::Subscribe(_) | Request::Unsubscribe(_) => {
                return Err(EncodeError::Unsupported(
                    "market-data subscriptions on the WebSocket API (use the streams)",
                ));
            }
            Request::CancelAllAfter { .. } => {
                return Err(EncodeError::Unsupported("cancel_all_after on Binance Spot"));
            }
            // Batch orders (none on Binance Spot), and requests added for
            // other venues.
            _ => return Err(EncodeError::Unsupported(request.method().as_str())),
        };
        write_id_and_method(req_id, method, out);
        if security == Security::Public {
            return public_params(request, out);
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
        let stamp = Stamp {
            recv_window: u64::from(self.recv_window_ms.min(60_000)),
            timestamp: self.wall_ms,
        };
        let response_type = self.response_type;
        let result = match request {
            Request::Place(order) => place_params(&mut params, order, response_type, stamp, None),
            Request::Cancel(cancel) => cancel_params(&mut params, cancel, stamp),
            Request::Amend(amend) => amend_params(&mut params, amend, stamp),
            Request::CancelReplace(replace) => {
                replace_params(&mut params, replace, response_type, stamp)
            }
            Request::CancelAll { symbol } => symbol
                .ok_or(EncodeError::Invalid(
                    "openOrders.cancelAll needs the symbol",
                ))
                .and_then(|symbol| {
                    params.number("recvWindow", stamp.recv_window);
                    params.text("symbol", symbol_text(&symbol)?);
                    params.number("timestamp", stamp.timestamp);
                    Ok(())
                }),
            Request::QueryOrder { order, symbol } => {
                order_ref(&mut params, "", order).and_then(|()| {
                    params.number("recvWindow", stamp.recv_window);
                    params.text("symbol", symbol_text(symbol)?);
                    params.number("timestamp", stamp.timestamp);
                    Ok(())
                })
            }
            _ => {
                // userDataStream.subscribe.signature: apiKey, timestamp.
                params.number("recvWindow", stamp.recv_window);
                params.number("timestamp", stamp.timestamp);
                Ok(())
            }
        };
        if let Err(error) = result {
            self.payload = payload;
            return Err(error);
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

    /// Appends `session.logon` (Ed25519 keys only): apiKey, timestamp and
    /// the signature. After it, requests go unsigned.
    pub fn encode_logon(&mut self, req_id: u64, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let credentials = self
            .credentials
            .as_ref()
            .ok_or(EncodeError::NoCredentials)?;
        if !credentials.signer.is_ed25519() {
            return Err(EncodeError::Invalid("session.logon needs an Ed25519 key"));
        }
        write_id_and_method(req_id, "session.logon", out);
        out.extend_from_slice(b",\"params\":{");
        let mut payload = std::mem::take(&mut self.payload);
        payload.clear();
        let mut params = Params {
            json: out,
            payload: &mut payload,
            first: true,
        };
        params.text("apiKey", credentials.api_key.expose());
        params.number("timestamp", self.wall_ms);
        let json = params.json;
        json.extend_from_slice(b",\"signature\":\"");
        credentials.signer.sign_into(&payload, json);
        json.extend_from_slice(b"\"}}");
        self.payload = payload;
        Ok(())
    }

    /// Whether `session.logon` can be used (an Ed25519 key).
    pub fn can_log_on(&self) -> bool {
        self.credentials
            .as_ref()
            .is_some_and(|c| c.signer.is_ed25519())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Security {
    /// No apiKey, no signature.
    Public,
    /// apiKey, timestamp and signature (or none of the first and last after
    /// `session.logon`).
    Signed,
}

#[derive(Clone, Copy)]
struct Stamp {
    recv_window: u64,
    timestamp: u64,
}

fn write_id_and_method(req_id: u64, method: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    Decimal::new(i128::from(req_id), 0)
        .unwrap_or(Decimal::ZERO)
        .write_to(out);
    out.extend_from_slice(b",\"method\":\"");
    out.extend_from_slice(method.as_bytes());
    out.push(b'"');
}

/// Unsigned requests: `ping` and `depth` (and the user data stream after
/// `session.logon`).
fn public_params(request: &Request<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match request {
        Request::BookSnapshot { symbol, limit } => {
            let symbol = symbol_text(symbol)?;
            // Weight grows with the limit (5 up to 100, 25 up to 500, 50 up
            // to 1000, 250 beyond). The rate policy charges a depth request
            // 50, so the limit is capped at 1000: the limiter never
            // under-counts.
            let limit = (*limit).clamp(1, 1_000);
            out.extend_from_slice(b",\"params\":{\"limit\":");
            Decimal::new(i128::from(limit), 0)
                .unwrap_or(Decimal::ZERO)
                .write_to(out);
            out.extend_from_slice(b",\"symbol\":");
            write_json_string(symbol, out);
            out.extend_from_slice(b"}}");
        }
        _ => out.push(b'}'),
    }
    Ok(())
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
    response_type: Option<ResponseType>,
    stamp: Stamp,
    cancel: Option<(&OrderRef, ReplaceMode)>,
) -> Result<(), EncodeError> {
    if let Some((target, mode)) = cancel {
        // cancelOrderId | cancelOrigClientOrderId, then cancelReplaceMode.
        order_ref(p, "cancel", target)?;
        p.text(
            "cancelReplaceMode",
            match mode {
                ReplaceMode::StopOnFailure => "STOP_ON_FAILURE",
                ReplaceMode::AllowFailure => "ALLOW_FAILURE",
            },
        );
    }
    if !order.client_order_id.is_empty() {
        p.text("newClientOrderId", &order.client_order_id);
    }
    if let Some(response_type) = response_type {
        p.text("newOrderRespType", response_type.as_str());
    }
    match (order.kind, order.price) {
        (OrderKind::Limit, Some(price)) => p.decimal("price", price),
        (OrderKind::Limit, None) => {
            return Err(EncodeError::Invalid("a limit order needs a price"));
        }
        (OrderKind::Market, _) => {}
    }
    p.decimal("quantity", order.qty);
    p.number("recvWindow", stamp.recv_window);
    p.text(
        "side",
        match order.side {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        },
    );
    p.text("symbol", symbol_text(&order.symbol)?);
    // LIMIT_MAKER takes no timeInForce.
    if order.kind == OrderKind::Limit && !order.post_only {
        let tif = match order.time_in_force {
            TimeInForce::GoodTillCanceled => "GTC",
            TimeInForce::ImmediateOrCancel => "IOC",
            TimeInForce::FillOrKill => "FOK",
        };
        p.text("timeInForce", tif);
    }
    p.number("timestamp", stamp.timestamp);
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

fn replace_params(
    p: &mut Params<'_, '_>,
    replace: &CancelReplace,
    response_type: Option<ResponseType>,
    stamp: Stamp,
) -> Result<(), EncodeError> {
    place_params(
        p,
        &replace.new_order,
        response_type,
        stamp,
        Some((&replace.cancel, replace.mode)),
    )
}

/// `orderId` / `origClientOrderId`, or with `prefix` "cancel",
/// `cancelOrderId` / `cancelOrigClientOrderId`.
fn order_ref(p: &mut Params<'_, '_>, prefix: &str, order: &OrderRef) -> Result<(), EncodeError> {
    let (by_id, by_client) = if prefix.is_empty() {
        ("orderId", "origClientOrderId")
    } else {
        ("cancelOrderId", "cancelOrigClientOrderId")
    };
    match order {
        OrderRef::OrderId(id) => p.raw(by_id, numeric(id)?, false),
        OrderRef::ClientOrderId(id) => p.text(by_client, id),
    }
    Ok(())
}

fn cancel_params(
    p: &mut Params<'_, '_>,
    cancel: &CancelOrders,
    stamp: Stamp,
) -> Result<(), EncodeError> {
    let [order] = cancel.orders.as_slice() else {
        return Err(EncodeError::Invalid(
            "Binance cancels one order per request",
        ));
    };
    let symbol = cancel
        .symbol
        .ok_or(EncodeError::Invalid("Binance cancels need the symbol"))?;
    order_ref(p, "", order)?;
    p.number("recvWindow", stamp.recv_window);
    p.text("symbol", symbol_text(&symbol)?);
    p.number("timestamp", stamp.timestamp);
    Ok(())
}

fn amend_params(
    p: &mut Params<'_, '_>,
    amend: &AmendOrder,
    stamp: Stamp,
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
    order_ref(p, "", &amend.order)?;
    p.number("recvWindow", stamp.recv_window);
    p.text("symbol", symbol_text(&symbol)?);
    p.number("timestamp", stamp.timestamp);
    Ok(())
}

/// `newOrderRespType`: how much the place reply says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseType {
    /// Ids and time only.
    Ack,
    /// The order's state after matching.
    Result,
    /// The state and every fill (the default for LIMIT and MARKET).
    #[default]
    Full,
}

impl ResponseType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Ack => "ACK",
            ResponseType::Result => "RESULT",
            ResponseType::Full => "FULL",
        }
    }
}
