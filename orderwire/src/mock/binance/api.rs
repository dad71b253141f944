//! The WebSocket API side of the mock, as a sans-IO session: requests in,
//! replies with `rateLimits`, user data stream events, pings, and a
//! `serverShutdown` notice when one is injected. It reads no clock and
//! touches no socket: `conn.rs` drives it over TLS, and
//! `crate::mock::pair` in virtual time.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use crossbeam_channel::{Receiver, Sender, unbounded};
use hmac::{Hmac, Mac};
use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;
use serde_json::Value;
use sha2::Sha256;

use super::conn::Keepalive;
use super::limits::Refused;
use super::{Fault, Known, Shared};
use crate::mock::matching::{Outcome, Resting};
use crate::mock::session::{MockSession, Output};

/// The mock's one account owns every order placed through the API.
const ACCOUNT: u64 = 1;

impl MockSession for ApiSession {
    fn handle_text(&mut self, now: Instant, text: &str) {
        if self.ended {
            return;
        }
        self.now = now;
        if !self.handle(text) {
            self.ended = true;
        }
    }

    fn handle_pong(&mut self, now: Instant, payload: &[u8]) {
        self.now = now;
        if self.keepalive.on_pong(payload) {
            self.shared.stats.lock().pongs += 1;
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        self.now = now;
        if !self.tick() {
            self.ended = true;
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let mut next = self.keepalive.next_at(&self.shared.config);
        if let Some((due, _)) = self.delayed.front() {
            next = next.min(*due);
        }
        if let Some(at) = self.close_at {
            next = next.min(at);
        }
        Some(next)
    }

    fn is_ended(&self) -> bool {
        self.ended
    }
}

impl Drop for ApiSession {
    fn drop(&mut self) {
        self.shared.user_streams.lock().remove(&self.id);
    }
}

/// A refusal: HTTP-like status, Binance code, message, optional `data`.
struct ApiError {
    status: u16,
    code: i64,
    msg: String,
    data: Option<String>,
}

fn error(status: u16, code: i64, msg: &str) -> ApiError {
    ApiError {
        status,
        code,
        msg: msg.to_owned(),
        data: None,
    }
}

type Reply = Result<String, ApiError>;

/// The mock's side of one API connection.
pub struct ApiSession {
    shared: Arc<Shared>,
    id: u64,
    logged_on: bool,
    user_stream: bool,
    inbox: Receiver<String>,
    sender: Sender<String>,
    delayed: VecDeque<(Instant, String)>,
    shutdown_seen: u64,
    close_at: Option<Instant>,
    connected_ms: u64,
    now: Instant,
    keepalive: Keepalive,
    out: VecDeque<Output>,
    ended: bool,
}

impl ApiSession {
    /// A session for connection `id`, opened at `now`.
    pub(crate) fn open(shared: Arc<Shared>, id: u64, now: Instant) -> ApiSession {
        let (sender, inbox) = unbounded();
        let shutdown_seen = shared.shutdown_epoch.load(Ordering::Acquire);
        let connected_ms = shared.wall_ms(now);
        ApiSession {
            shared,
            id,
            logged_on: false,
            user_stream: false,
            inbox,
            sender,
            delayed: VecDeque::new(),
            shutdown_seen,
            close_at: None,
            connected_ms,
            now,
            keepalive: Keepalive::new(now),
            out: VecDeque::new(),
            ended: false,
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The venue's wall clock now, in ms.
    fn wall_ms(&self) -> u64 {
        self.shared.wall_ms(self.now)
    }

    fn send(&mut self, text: String) -> bool {
        self.out.push_back(Output::Text(text));
        true
    }

    fn close(&mut self, reason: &'static str) {
        // 1001: going away.
        self.out.push_back(Output::Close { code: 1001, reason });
    }

    /// Delayed replies, user events, the shutdown notice, keepalive.
    fn tick(&mut self) -> bool {
        let now = self.now;
        while self.delayed.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, text)) = self.delayed.pop_front() {
                self.send(text);
            }
        }
        while let Ok(event) = self.inbox.try_recv() {
            if self.user_stream {
                self.send(event);
            }
        }
        let epoch = self.shared().shutdown_epoch.load(Ordering::Acquire);
        if epoch != self.shutdown_seen {
            self.shutdown_seen = epoch;
            let notice = format!(
                r#"{{"event":{{"e":"serverShutdown","E":{}}}}}"#,
                self.wall_ms()
            );
            self.send(notice);
            self.shared().stats.lock().shutdown_notices += 1;
            self.close_at = Some(now + self.shared().config.shutdown_grace);
        }
        if self.close_at.is_some_and(|at| at <= now) {
            self.close("server shutdown");
            return false;
        }
        let shared = self.shared.clone();
        self.keepalive.run(&shared, now, &mut self.out)
    }

    fn respond(&mut self, text: String) -> bool {
        if self
            .shared()
            .take_fault(|f| matches!(f, Fault::DropResponse))
            .is_some()
        {
            self.shared().stats.lock().dropped_responses += 1;
            return true;
        }
        if let Some(Fault::Delay(delay)) =
            self.shared().take_fault(|f| matches!(f, Fault::Delay(_)))
        {
            self.delayed.push_back((self.now + delay, text));
            return true;
        }
        self.send(text)
    }

    /// One request; false when the connection must end.
    fn handle(&mut self, text: &str) -> bool {
        self.shared().stats.lock().requests += 1;
        if self
            .shared()
            .take_fault(|f| matches!(f, Fault::Disconnect))
            .is_some()
        {
            self.out.push_back(Output::Drop);
            self.shared().stats.lock().disconnects += 1;
            return false;
        }
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            let reply = self.envelope("null", Err(error(400, -1013, "Invalid JSON.")));
            return self.respond(reply);
        };
        let id = request
            .get("id")
            .map_or("null".to_owned(), Value::to_string);
        let method = request["method"].as_str().unwrap_or_default().to_owned();
        let params = request
            .get("params")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        let reply = self.dispatch(&method, &params);
        let text = self.envelope(&id, reply);
        self.respond(text)
    }

    /// `{"id","status","result"|"error","rateLimits"}`.
    fn envelope(&self, id: &str, reply: Reply) -> String {
        let limits = self.shared().limits.lock().report(self.now);
        match reply {
            Ok(result) => format!(r#"{{"id":{id},"status":200,"result":{result},{limits}}}"#),
            Err(e) => {
                let data = e.data.map_or(String::new(), |d| format!(r#","data":{d}"#));
                format!(
                    r#"{{"id":{id},"status":{},"error":{{"code":{},"msg":{}{data}}},{limits}}}"#,
                    e.status,
                    e.code,
                    Value::String(e.msg)
                )
            }
        }
    }

    fn dispatch(&mut self, method: &str, params: &Value) -> Reply {
        let (weight, orders, signed) = match method {
            "order.place" | "order.cancelReplace" => (1, 1, true),
            "order.cancel" | "openOrders.cancelAll" => (1, 0, true),
            "order.amend.keepPriority" | "order.status" => (4, 0, true),
            "session.logon" | "userDataStream.subscribe.signature" => (2, 0, true),
            "userDataStream.subscribe" => (2, 0, false),
            "depth" => (
                depth_weight(params["limit"].as_u64().unwrap_or(100)),
                0,
                false,
            ),
            "ping" | "time" => (1, 0, false),
            _ => return Err(error(400, -1013, "Invalid message: unknown method.")),
        };
        match self.shared().limits.lock().admit(self.now, weight, orders) {
            Ok(()) => {}
            Err(Refused::Throttled {
                code,
                msg,
                retry_after,
            }) => {
                self.shared().stats.lock().throttled += 1;
                return Err(ApiError {
                    status: 429,
                    code,
                    msg,
                    data: Some(retry_data(self.wall_ms(), retry_after)),
                });
            }
            Err(Refused::Banned { retry_after }) => {
                self.shared().stats.lock().banned += 1;
                let until = self.wall_ms() + millis(retry_after);
                return Err(ApiError {
                    status: 418,
                    code: -1003,
                    msg: format!("Way too many requests; IP(127.0.0.1) banned until {until}."),
                    data: Some(retry_data(self.wall_ms(), retry_after)),
                });
            }
        }
        if signed {
            self.authenticate(method, params)?;
        }
        match method {
            "order.place" => self.place(params),
            "order.cancel" => self.cancel(params),
            "order.amend.keepPriority" => self.amend(params),
            "order.cancelReplace" => self.cancel_replace(params),
            "openOrders.cancelAll" => self.cancel_all(params),
            "order.status" => self.status(params),
            "depth" => self.depth(params),
            "session.logon" => self.logon(),
            "userDataStream.subscribe" if !self.logged_on => Err(error(
                401,
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            )),
            "userDataStream.subscribe" | "userDataStream.subscribe.signature" => {
                self.user_stream = true;
                let sender = self.sender.clone();
                self.shared().user_streams.lock().insert(self.id, sender);
                Ok(r#"{"subscriptionId":0}"#.to_owned())
            }
            "time" => Ok(format!(r#"{{"serverTime":{}}}"#, self.wall_ms())),
            _ => Ok("{}".to_owned()),
        }
    }

    /// apiKey, timestamp within recvWindow, and the signature; after
    /// `session.logon` only the timestamp.
    fn authenticate(&self, method: &str, params: &Value) -> Result<(), ApiError> {
        let config = &self.shared().config;
        let has_signature = params.get("signature").is_some();
        let logged_on = self.logged_on && method != "session.logon";
        let unsigned_after_logon = logged_on && !has_signature;
        if !unsigned_after_logon && params["apiKey"].as_str() != Some(&config.api_key) {
            return Err(error(
                401,
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            ));
        }
        let Some(timestamp) = params["timestamp"].as_u64() else {
            return Err(error(
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            ));
        };
        let recv_window = params["recvWindow"].as_u64().unwrap_or(5_000);
        if recv_window > 60_000 {
            return Err(error(400, -1131, "recvWindow must be less than 60000"));
        }
        let server = self.wall_ms();
        if timestamp >= server + 1_000 || server.saturating_sub(timestamp) > recv_window {
            self.shared().stats.lock().bad_timestamps += 1;
            return Err(error(
                400,
                -1021,
                "Timestamp for this request is outside of the recvWindow.",
            ));
        }
        if unsigned_after_logon {
            return Ok(());
        }
        if !verify(config, params) {
            self.shared().stats.lock().bad_signatures += 1;
            return Err(error(
                400,
                -1022,
                "Signature for this request is not valid.",
            ));
        }
        Ok(())
    }

    fn logon(&mut self) -> Reply {
        if self.shared().config.ed25519_public.is_none() {
            return Err(error(400, -4056, "HMAC_SHA256 API key is not supported."));
        }
        self.logged_on = true;
        let now = self.wall_ms();
        Ok(format!(
            r#"{{"apiKey":{},"authorizedSince":{now},"connectedSince":{},"returnRateLimits":true,"serverTime":{now},"userDataStream":{}}}"#,
            Value::String(self.shared().config.api_key.clone()),
            self.connected_ms,
            self.user_stream
        ))
    }

    // ---- orders ----

    fn place(&mut self, params: &Value) -> Reply {
        let (order, outcome, kind) = self.place_order(params)?;
        Ok(self.placed_result(&order, &outcome, &kind, params))
    }

    /// Validates and matches a new order (also the second half of a
    /// cancel-replace).
    fn place_order(&mut self, params: &Value) -> Result<(Resting, Outcome, String), ApiError> {
        let config = self.shared().config.clone();
        let symbol = params["symbol"].as_str().unwrap_or_default();
        if symbol != config.symbol {
            return Err(error(400, -1121, "Invalid symbol."));
        }
        let side = match params["side"].as_str() {
            Some("BUY") => Side::Buy,
            Some("SELL") => Side::Sell,
            _ => return Err(missing("side")),
        };
        let kind = params["type"].as_str().unwrap_or_default().to_owned();
        let qty = decimal(&params["quantity"]).ok_or_else(|| missing("quantity"))?;
        let (price, immediate) = match kind.as_str() {
            "LIMIT" => {
                let tif = params["timeInForce"]
                    .as_str()
                    .ok_or_else(|| missing("timeInForce"))?;
                let price = decimal(&params["price"]).ok_or_else(|| missing("price"))?;
                match tif {
                    "GTC" => (price, false),
                    "IOC" => (price, true),
                    _ => return Err(error(400, -1013, "Invalid timeInForce.")),
                }
            }
            "LIMIT_MAKER" => (
                decimal(&params["price"]).ok_or_else(|| missing("price"))?,
                false,
            ),
            "MARKET" => {
                // Take whatever the book has: the worst price allowed.
                let far = match side {
                    Side::Buy => config
                        .mid
                        .checked_mul(Decimal::new(10, 0).unwrap_or(Decimal::ZERO)),
                    Side::Sell => Some(config.tick),
                };
                (far.unwrap_or(config.tick), true)
            }
            _ => return Err(error(400, -1116, "Invalid orderType.")),
        };
        if qty.is_zero() || qty.is_negative() || price.is_zero() || price.is_negative() {
            return Err(error(400, -1013, "Filter failure: LOT_SIZE"));
        }
        let client = match params["newClientOrderId"].as_str() {
            Some(c) if !c.is_empty() => c.to_owned(),
            _ => format!("mock{}", self.wall_ms()),
        };
        let mut matching = self.shared().matching.lock();
        if matching.find(Some(ACCOUNT), None, Some(&client)).is_some() {
            return Err(error(400, -2010, "Duplicate order sent."));
        }
        let mut outcome = matching
            .place(
                Some(ACCOUNT),
                symbol,
                side,
                price,
                qty,
                client,
                kind == "LIMIT_MAKER",
                0,
            )
            .map_err(|refusal| match refusal {
                "EOrder:Post only order" => {
                    error(400, -2010, "Order would immediately match and take.")
                }
                _ => error(400, -2010, "Order was rejected."),
            })?;
        let mut order = outcome
            .order
            .clone()
            .ok_or_else(|| error(500, -1000, "An unknown error occurred."))?;
        let mut touched: Vec<(Side, Decimal)> = outcome
            .executions
            .iter()
            .map(|e| (e.maker.side, e.price))
            .collect();
        if outcome.rests {
            if immediate {
                // IOC and MARKET: the rest expires instead of resting.
                matching.cancel(&order);
                outcome.rests = false;
            } else {
                touched.push((side, price));
            }
        }
        order.price = if kind == "MARKET" {
            Decimal::ZERO
        } else {
            price
        };
        drop(matching);
        let status = status_of(&order, outcome.rests);
        let now = self.wall_ms();
        self.log_book(&touched, &outcome, side, now);
        self.remember(&order, status, now);
        {
            let mut stats = self.shared().stats.lock();
            stats.orders_placed += 1;
            stats.fills += outcome.executions.len() as u64;
        }
        self.report_outcome(&order, &outcome, &kind, now);
        Ok((order, outcome, kind))
    }

    fn placed_result(
        &self,
        order: &Resting,
        outcome: &Outcome,
        kind: &str,
        params: &Value,
    ) -> String {
        let now = self.wall_ms();
        let ack = format!(
            r#""symbol":"{}","orderId":{},"orderListId":-1,"clientOrderId":{},"transactTime":{now}"#,
            order.symbol,
            order.order_id,
            Value::String(order.cl_ord_id.clone())
        );
        let response_type = params["newOrderRespType"].as_str().unwrap_or("FULL");
        if response_type == "ACK" {
            return format!("{{{ack}}}");
        }
        let status = status_of(order, outcome.rests);
        let quote = outcome.executions.iter().fold(Decimal::ZERO, |sum, e| {
            e.price
                .checked_mul(e.qty)
                .and_then(|q| sum.checked_add(q))
                .unwrap_or(sum)
        });
        let tif = params["timeInForce"].as_str().unwrap_or("GTC");
        let result = format!(
            r#"{ack},"price":"{}","origQty":"{}","executedQty":"{}","cummulativeQuoteQty":"{}","status":"{status}","timeInForce":"{tif}","type":"{kind}","side":"{}","workingTime":{now},"selfTradePreventionMode":"NONE""#,
            eight(order.price),
            eight(order.qty),
            eight(order.filled),
            eight(quote),
            side_text(order.side)
        );
        if response_type == "RESULT" {
            return format!("{{{result}}}");
        }
        let fills: Vec<String> = outcome
            .executions
            .iter()
            .map(|e| {
                format!(
                    r#"{{"price":"{}","qty":"{}","commission":"0.00000000","commissionAsset":"BNB","tradeId":{}}}"#,
                    eight(e.price),
                    eight(e.qty),
                    e.trade_id
                )
            })
            .collect();
        format!(r#"{{{result},"fills":[{}]}}"#, fills.join(","))
    }

    fn find_open(&self, params: &Value, prefix: &str) -> Result<Resting, ApiError> {
        let by_id = params[format!("{prefix}orderId").as_str()]
            .as_u64()
            .map(|id| id.to_string());
        let key = if prefix.is_empty() {
            "origClientOrderId"
        } else {
            "cancelOrigClientOrderId"
        };
        let by_client = params[key].as_str();
        if by_id.is_none() && by_client.is_none() {
            return Err(missing("orderId"));
        }
        self.shared()
            .matching
            .lock()
            .find(Some(ACCOUNT), by_id.as_deref(), by_client)
            .ok_or_else(|| error(400, -2011, "Unknown order sent."))
    }

    fn cancel(&mut self, params: &Value) -> Reply {
        self.check_symbol(params)?;
        let found = self.find_open(params, "")?;
        let cancel_id = params["newClientOrderId"]
            .as_str()
            .map_or_else(|| format!("cancel{}", self.wall_ms()), str::to_owned);
        Ok(self.cancel_found(&found, &cancel_id))
    }

    fn cancel_found(&mut self, found: &Resting, cancel_id: &str) -> String {
        let canceled = self
            .shared()
            .matching
            .lock()
            .cancel(found)
            .unwrap_or_else(|| found.clone());
        let now = self.wall_ms();
        self.log_book(
            &[(found.side, found.price)],
            &Outcome::default(),
            found.side,
            now,
        );
        self.remember(&canceled, "CANCELED", now);
        self.shared().stats.lock().cancels += 1;
        self.shared().push_user_event(&execution_report(
            &canceled,
            "CANCELED",
            "CANCELED",
            None,
            Some(cancel_id),
            now,
        ));
        format!(
            r#"{{"symbol":"{}","origClientOrderId":{},"orderId":{},"orderListId":-1,"clientOrderId":{},"transactTime":{now},"price":"{}","origQty":"{}","executedQty":"{}","cummulativeQuoteQty":"0.00000000","status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"{}","selfTradePreventionMode":"NONE"}}"#,
            canceled.symbol,
            Value::String(canceled.cl_ord_id.clone()),
            canceled.order_id,
            Value::String(cancel_id.to_owned()),
            eight(canceled.price),
            eight(canceled.qty),
            eight(canceled.filled),
            side_text(canceled.side)
        )
    }

    fn amend(&mut self, params: &Value) -> Reply {
        self.check_symbol(params)?;
        let found = self.find_open(params, "")?;
        let qty = decimal(&params["newQty"]).ok_or_else(|| missing("newQty"))?;
        if qty >= found.qty {
            return Err(error(
                400,
                -2038,
                "Order amend (quantity increase) is not supported.",
            ));
        }
        let amended = self
            .shared()
            .matching
            .lock()
            .reduce_qty(&found, qty)
            .map_err(|_| {
                error(
                    400,
                    -2038,
                    "Order amend (quantity increase) is not supported.",
                )
            })?;
        let now = self.wall_ms();
        self.log_book(
            &[(found.side, found.price)],
            &Outcome::default(),
            found.side,
            now,
        );
        let status = status_of(&amended, true);
        self.remember(&amended, status, now);
        self.shared().push_user_event(&execution_report(
            &amended, "REPLACED", status, None, None, now,
        ));
        // The mock keeps the client id when no newClientOrderId is sent
        // (Binance generates one): docs/venues/binance.md.
        Ok(format!(
            r#"{{"transactTime":{now},"executionId":{now},"amendedOrder":{{"symbol":"{}","orderId":{},"orderListId":-1,"origClientOrderId":{cl},"clientOrderId":{cl},"price":"{}","qty":"{}","executedQty":"{}","preventedQty":"0.00000000","quoteOrderQty":"0.00000000","cumulativeQuoteQty":"0.00000000","status":"{status}","timeInForce":"GTC","type":"LIMIT","side":"{}","workingTime":{now},"selfTradePreventionMode":"NONE"}}}}"#,
            amended.symbol,
            amended.order_id,
            eight(amended.price),
            eight(amended.qty),
            eight(amended.filled),
            side_text(amended.side),
            cl = Value::String(amended.cl_ord_id.clone()),
        ))
    }

    fn cancel_replace(&mut self, params: &Value) -> Reply {
        self.check_symbol(params)?;
        let allow_failure = match params["cancelReplaceMode"].as_str() {
            Some("STOP_ON_FAILURE") => false,
            Some("ALLOW_FAILURE") => true,
            _ => return Err(missing("cancelReplaceMode")),
        };
        let canceled = match self.find_open(params, "cancel") {
            Ok(found) => {
                let cancel_id = format!("cancel{}", self.wall_ms());
                Ok(self.cancel_found(&found, &cancel_id))
            }
            Err(e) => Err(e),
        };
        let part_error = |e: &ApiError| {
            format!(
                r#"{{"code":{},"msg":{}}}"#,
                e.code,
                Value::String(e.msg.clone())
            )
        };
        let placed =
            match (&canceled, allow_failure) {
                (Err(_), false) => None,
                _ => Some(self.place_order(params).map(|(order, outcome, kind)| {
                    self.placed_result(&order, &outcome, &kind, params)
                })),
            };
        let cancel_text = match &canceled {
            Ok(text) => text.clone(),
            Err(e) => part_error(e),
        };
        let (new_result, new_text) = match &placed {
            None => ("NOT_ATTEMPTED", "null".to_owned()),
            Some(Ok(text)) => ("SUCCESS", text.clone()),
            Some(Err(e)) => ("FAILURE", part_error(e)),
        };
        let cancel_result = if canceled.is_ok() {
            "SUCCESS"
        } else {
            "FAILURE"
        };
        let body = format!(
            r#"{{"cancelResult":"{cancel_result}","newOrderResult":"{new_result}","cancelResponse":{cancel_text},"newOrderResponse":{new_text}}}"#
        );
        match (canceled.is_ok(), new_result) {
            (true, "SUCCESS") => Ok(body),
            (false, "SUCCESS") | (true, _) => Err(ApiError {
                status: 409,
                code: -2021,
                msg: "Order cancel-replace partially failed.".to_owned(),
                data: Some(body),
            }),
            (false, _) => Err(ApiError {
                status: 400,
                code: -2022,
                msg: "Order cancel-replace failed.".to_owned(),
                data: Some(body),
            }),
        }
    }

    fn cancel_all(&mut self, params: &Value) -> Reply {
        self.check_symbol(params)?;
        let open = self.shared().matching.lock().open_orders(Some(ACCOUNT));
        if open.is_empty() {
            return Err(error(400, -2011, "Unknown order sent."));
        }
        let results: Vec<String> = open
            .iter()
            .map(|order| self.cancel_found(order, &format!("cancel{}", self.wall_ms())))
            .collect();
        Ok(format!("[{}]", results.join(",")))
    }

    fn status(&mut self, params: &Value) -> Reply {
        self.check_symbol(params)?;
        let by_id = params["orderId"].as_u64().map(|id| id.to_string());
        let by_client = params["origClientOrderId"].as_str();
        let known = self.shared().known.lock();
        let found = known.values().find(|k| {
            by_id.as_deref() == Some(k.order.order_id.as_str())
                || by_client.is_some_and(|c| c == k.order.cl_ord_id)
        });
        let Some(k) = found else {
            return Err(error(400, -2013, "Order does not exist."));
        };
        let o = &k.order;
        Ok(format!(
            r#"{{"symbol":"{}","orderId":{},"orderListId":-1,"clientOrderId":{},"price":"{}","origQty":"{}","executedQty":"{}","cummulativeQuoteQty":"0.00000000","status":"{}","timeInForce":"GTC","type":"LIMIT","side":"{}","stopPrice":"0.00000000","icebergQty":"0.00000000","time":{},"updateTime":{},"isWorking":true,"workingTime":{},"origQuoteOrderQty":"0.00000000","selfTradePreventionMode":"NONE"}}"#,
            o.symbol,
            o.order_id,
            Value::String(o.cl_ord_id.clone()),
            eight(o.price),
            eight(o.qty),
            eight(o.filled),
            k.status,
            side_text(o.side),
            k.time_ms,
            k.time_ms,
            k.time_ms
        ))
    }

    fn depth(&mut self, params: &Value) -> Reply {
        let symbol = params["symbol"].as_str().unwrap_or_default();
        if symbol != self.shared().config.symbol {
            return Err(error(400, -1121, "Invalid symbol."));
        }
        let limit = params["limit"].as_u64().unwrap_or(100).clamp(1, 5_000) as usize;
        // Matching before the log, as every writer takes them.
        let matching = self.shared().matching.lock();
        let last_id = self.shared().book.lock().last_id;
        let levels = |side| {
            matching
                .top(symbol, side, limit)
                .iter()
                .map(|(p, q)| format!(r#"["{}","{}"]"#, eight(*p), eight(*q)))
                .collect::<Vec<_>>()
                .join(",")
        };
        Ok(format!(
            r#"{{"lastUpdateId":{last_id},"bids":[{}],"asks":[{}]}}"#,
            levels(Side::Buy),
            levels(Side::Sell)
        ))
    }

    // ---- bookkeeping ----

    fn check_symbol(&self, params: &Value) -> Result<(), ApiError> {
        match params["symbol"].as_str() {
            Some(symbol) if symbol == self.shared().config.symbol => Ok(()),
            Some(_) => Err(error(400, -1121, "Invalid symbol.")),
            None => Err(missing("symbol")),
        }
    }

    fn remember(&self, order: &Resting, status: &'static str, now: u64) {
        self.shared().known.lock().insert(
            order.order_id.clone(),
            Known {
                order: order.clone(),
                status,
                time_ms: now,
            },
        );
    }

    /// A new book update id for the levels an operation touched, and the
    /// trades it made.
    fn log_book(&self, touched: &[(Side, Decimal)], outcome: &Outcome, taker: Side, now: u64) {
        let _matching = self.shared().matching.lock();
        let mut book = self.shared().book.lock();
        book.log(touched, &outcome.executions, Some(taker), now);
    }

    /// executionReports for the taker and for any maker of ours.
    fn report_outcome(&self, order: &Resting, outcome: &Outcome, kind: &str, now: u64) {
        let mut taker = order.clone();
        taker.filled = Decimal::ZERO;
        self.shared()
            .push_user_event(&execution_report(&taker, "NEW", "NEW", None, None, now));
        for execution in &outcome.executions {
            taker.filled = taker
                .filled
                .checked_add(execution.qty)
                .unwrap_or(taker.filled);
            let status = if taker.filled >= taker.qty {
                "FILLED"
            } else {
                "PARTIALLY_FILLED"
            };
            self.shared().push_user_event(&execution_report(
                &taker,
                "TRADE",
                status,
                Some((execution.price, execution.qty, execution.trade_id, false)),
                None,
                now,
            ));
            if execution.maker.owner == Some(ACCOUNT) {
                let maker = &execution.maker;
                let status = if maker.open().is_zero() {
                    "FILLED"
                } else {
                    "PARTIALLY_FILLED"
                };
                self.remember(maker, status, now);
                self.shared().push_user_event(&execution_report(
                    maker,
                    "TRADE",
                    status,
                    Some((execution.price, execution.qty, execution.trade_id, true)),
                    None,
                    now,
                ));
            }
        }
        let _ = kind;
        if !outcome.rests && taker.filled < taker.qty {
            // IOC or MARKET: what did not fill expires.
            self.shared().push_user_event(&execution_report(
                &taker, "EXPIRED", "EXPIRED", None, None, now,
            ));
        }
    }
}

fn status_of(order: &Resting, rests: bool) -> &'static str {
    if order.filled >= order.qty {
        "FILLED"
    } else if !rests {
        "EXPIRED"
    } else if order.filled.is_zero() {
        "NEW"
    } else {
        "PARTIALLY_FILLED"
    }
}

/// An `executionReport` event.
fn execution_report(
    order: &Resting,
    exec_type: &str,
    status: &str,
    trade: Option<(Decimal, Decimal, u64, bool)>,
    cancel_id: Option<&str>,
    now: u64,
) -> String {
    let (client, orig) = match cancel_id {
        Some(cancel) => (cancel.to_owned(), order.cl_ord_id.clone()),
        None => (order.cl_ord_id.clone(), String::new()),
    };
    let (last_price, last_qty, trade_id, maker) = match trade {
        Some((price, qty, id, maker)) => (price, qty, i64::try_from(id).unwrap_or(-1), maker),
        None => (Decimal::ZERO, Decimal::ZERO, -1, false),
    };
    format!(
        r#"{{"e":"executionReport","E":{now},"s":"{}","c":{},"S":"{}","o":"LIMIT","f":"GTC","q":"{}","p":"{}","P":"0.00000000","F":"0.00000000","g":-1,"C":{},"x":"{exec_type}","X":"{status}","r":"NONE","i":{},"l":"{}","z":"{}","L":"{}","n":"0","N":null,"T":{now},"t":{trade_id},"I":1,"w":true,"m":{maker},"M":false,"O":{now},"Z":"0","Y":"0","Q":"0","W":{now},"V":"NONE"}}"#,
        order.symbol,
        Value::String(client),
        side_text(order.side),
        eight(order.qty),
        eight(order.price),
        Value::String(orig),
        order.order_id,
        eight(last_qty),
        eight(order.filled),
        eight(last_price),
    )
}

/// Checks the signature the way binance.md describes it: every parameter
/// but `signature`, sorted by name, `k=v` joined with `&`.
fn verify(config: &super::MockConfig, params: &Value) -> bool {
    let Some(object) = params.as_object() else {
        return false;
    };
    let Some(signature) = object.get("signature").and_then(Value::as_str) else {
        return false;
    };
    let mut names: Vec<&String> = object.keys().filter(|k| *k != "signature").collect();
    names.sort();
    let payload = names
        .iter()
        .map(|name| {
            let value = match &object[*name] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join("&");
    if let Some(public) = config.ed25519_public {
        use ed25519_dalek::Verifier;
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&public) else {
            return false;
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature) else {
            return false;
        };
        let Ok(signature) = ed25519_dalek::Signature::from_slice(&bytes) else {
            return false;
        };
        return key.verify(payload.as_bytes(), &signature).is_ok();
    }
    let Some(secret) = &config.hmac_secret else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(payload.as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == signature
}

fn depth_weight(limit: u64) -> u32 {
    match limit {
        0..=100 => 5,
        101..=500 => 25,
        501..=1000 => 50,
        _ => 250,
    }
}

fn retry_data(now: u64, retry_after: Duration) -> String {
    format!(
        r#"{{"serverTime":{now},"retryAfter":{}}}"#,
        now + millis(retry_after).max(1)
    )
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn missing(name: &str) -> ApiError {
    ApiError {
        status: 400,
        code: -1102,
        msg: format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
        data: None,
    }
}

fn decimal(value: &Value) -> Option<Decimal> {
    value.as_str()?.parse().ok()
}

/// Binance prints prices and quantities with 8 decimals.
pub(crate) fn eight(value: Decimal) -> String {
    value.rescaled(8).unwrap_or(value).to_string()
}

fn side_text(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}
