//! One client connection to the mock, as a sans-IO session: requests in,
//! responses, executions, book updates and heartbeats out, faults applied.
//! [`Session`] reads no clock and touches no socket: the TLS socket driver
//! (`serve`) and the virtual-time test pair (`crate::mock::pair`) feed
//! it text and time and carry out what it asks.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, unbounded};
use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;

use super::wire::{self, Req};
use super::{Fault, Shared};
use crate::mock::matching::{Outcome, Resting, rest_cost};
use crate::mock::session::{MockSession, Output};
use crate::mock::socket::{Socket, serve_plain};

/// Aggregated levels, best first.
type Levels = Vec<(Decimal, Decimal)>;

/// The mock's one account.
const ACCOUNT: u64 = 1;

/// The mock's side of one connection.
pub struct Session {
    shared: Arc<Shared>,
    id: u64,
    inbox: Receiver<String>,
    book_depth: Option<usize>,
    book_view: Option<(Levels, Levels)>,
    book_version: u64,
    executions: bool,
    sequence: u64,
    now: Instant,
    last_request: Instant,
    last_sent: Instant,
    delayed: VecDeque<(Instant, String)>,
    dead_man: Option<Instant>,
    subscribed: bool,
    out: VecDeque<Output>,
    ended: bool,
}

impl Session {
    /// A session for connection `id`, opened at `now`: it greets with the
    /// status message, as Kraken does.
    pub(crate) fn open(shared: Arc<Shared>, id: u64, now: Instant) -> Session {
        let (sender, inbox) = unbounded();
        shared.outboxes.lock().insert(id, sender);
        let mut session = Session {
            shared,
            id,
            inbox,
            book_depth: None,
            book_view: None,
            book_version: 0,
            executions: false,
            sequence: 0,
            now,
            last_request: now,
            last_sent: now,
            delayed: VecDeque::new(),
            dead_man: None,
            subscribed: false,
            out: VecDeque::new(),
            ended: false,
        };
        let status = r#"{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":1,"system":"online","version":"2.0.0"}]}"#;
        session.send(status.to_owned());
        session
    }

    fn wall_ns(&self) -> i64 {
        self.shared
            .wall_origin_ns
            .saturating_add(i64::try_from(self.now.as_nanos()).unwrap_or(i64::MAX))
    }

    fn time_text(&self) -> String {
        wire::time_text(self.wall_ns())
    }
}

impl MockSession for Session {
    /// One text message from the client at `now`.
    fn handle_text(&mut self, now: Instant, text: &str) {
        if self.ended {
            return;
        }
        self.now = now;
        self.last_request = now;
        if !self.handle(text) {
            self.ended = true;
        }
    }

    /// Timers and pushes due at `now` (delayed responses, executions for
    /// this account, book updates, heartbeats, the dead-man switch, the
    /// idle close). A spurious call is a no-op.
    fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        self.now = now;
        if !self.tick() {
            self.ended = true;
        }
    }

    /// The next thing to do on the connection.
    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When `handle_timeout` should next run: the next delayed response,
    /// heartbeat, dead-man expiry or idle close. Pushes from other
    /// connections and book changes are picked up at every call, so a
    /// driver also calls it after any input anywhere.
    fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let mut next = self.last_request + self.shared.config.idle_close;
        if self.subscribed {
            next = next.min(self.last_sent + self.shared.config.heartbeat);
        }
        if let Some((due, _)) = self.delayed.front() {
            next = next.min(*due);
        }
        if let Some(at) = self.dead_man {
            next = next.min(at);
        }
        Some(next)
    }

    /// Whether the session has ended (closed, dropped or failed).
    fn is_ended(&self) -> bool {
        self.ended
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.outboxes.lock().remove(&self.id);
    }
}

/// Serves one accepted connection until it closes: the socket driver of a
/// [`Session`], on the mock's clock.
pub(crate) fn serve<S: Socket>(socket: S, shared: Arc<Shared>, id: u64) {
    serve_plain(
        socket,
        &shared.stop,
        &shared.live,
        || shared.now(),
        |now| Session::open(shared.clone(), id, now),
    );
}

impl Session {
    fn now_ns(&self) -> u64 {
        self.now.as_nanos()
    }

    fn send(&mut self, text: String) -> bool {
        self.last_sent = self.now;
        self.shared.stats.lock().messages_sent += 1;
        self.out.push_back(Output::Text(text));
        true
    }

    /// Periodic work; false when the connection must end.
    fn tick(&mut self) -> bool {
        let now = self.now;
        while self.delayed.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, text)) = self.delayed.pop_front() {
                if !self.send(text) {
                    return false;
                }
            }
        }
        let items: Vec<String> = self.inbox.try_iter().collect();
        if !items.is_empty() && self.executions {
            self.sequence += 1;
            let message = wire::executions("update", &items, self.sequence);
            if !self.send(message) {
                return false;
            }
        }
        if self.dead_man.is_some_and(|at| at <= now) {
            self.dead_man = None;
            self.cancel_all_owned();
        }
        if self.book_depth.is_some() {
            let version = self.shared.book_version.load(Ordering::Acquire);
            if version != self.book_version {
                self.book_version = version;
                if !self.send_book_update() {
                    return false;
                }
            }
        }
        if self.subscribed
            && now.saturating_duration_since(self.last_sent) >= self.shared.config.heartbeat
            && !self.send(r#"{"channel":"heartbeat"}"#.to_owned())
        {
            return false;
        }
        if now.saturating_duration_since(self.last_request) >= self.shared.config.idle_close {
            // Kraken closes a connection that sent no request for a minute.
            self.out.push_back(Output::Close {
                code: 1001,
                reason: "idle",
            });
            self.shared.stats.lock().idle_closes += 1;
            return false;
        }
        true
    }

    /// Orders belong to the account (the token), not the connection: a
    /// reconnect sees its orders in the executions snapshot. The mock has
    /// one account.
    fn owner(&self) -> Option<u64> {
        Some(ACCOUNT)
    }

    fn top(&self, depth: usize) -> (Levels, Levels) {
        let matching = self.shared.matching.lock();
        let symbol = &self.shared.config.symbol;
        let bids = matching
            .bids
            .get(symbol)
            .map(|b| b.top(Side::Buy, depth))
            .unwrap_or_default();
        let asks = matching
            .asks
            .get(symbol)
            .map(|b| b.top(Side::Sell, depth))
            .unwrap_or_default();
        (bids, asks)
    }

    fn checksum_for(&self, bids: &[(Decimal, Decimal)], asks: &[(Decimal, Decimal)]) -> u32 {
        let checksum = wire::checksum(asks, bids);
        if self
            .shared
            .take_fault(|f| matches!(f, Fault::CorruptChecksum))
        {
            return checksum.wrapping_add(1);
        }
        checksum
    }

    fn send_book_snapshot(&mut self, depth: usize) -> bool {
        let (bids, asks) = self.top(depth);
        let checksum = self.checksum_for(&bids, &asks);
        let message = wire::book_message(
            "snapshot",
            &self.shared.config.symbol,
            &bids,
            &asks,
            checksum,
            self.wall_ns(),
        );
        self.book_view = Some((bids, asks));
        self.send(message)
    }

    /// The levels that changed since this connection's last view: new or
    /// changed levels with their quantity, deleted ones with 0. Levels that
    /// only fell below the depth get no delete (the client truncates).
    fn send_book_update(&mut self) -> bool {
        let Some(depth) = self.book_depth else {
            return true;
        };
        let (bids, asks) = self.top(depth);
        let Some((old_bids, old_asks)) = self.book_view.take() else {
            return self.send_book_snapshot(depth);
        };
        let matching_view = |old: &[(Decimal, Decimal)], new: &[(Decimal, Decimal)], side: Side| {
            let mut changes = Vec::new();
            for level in new {
                if !old.contains(level) {
                    changes.push(*level);
                }
            }
            for (price, _) in old {
                if !new.iter().any(|(p, _)| p == price) {
                    let still_there = {
                        let matching = self.shared.matching.lock();
                        let book = match side {
                            Side::Buy => matching.bids.get(&self.shared.config.symbol),
                            Side::Sell => matching.asks.get(&self.shared.config.symbol),
                        };
                        book.is_some_and(|b| !b.qty_at(*price).is_zero())
                    };
                    if !still_there {
                        changes.push((*price, Decimal::ZERO));
                    }
                }
            }
            changes
        };
        let bid_changes = matching_view(&old_bids, &bids, Side::Buy);
        let ask_changes = matching_view(&old_asks, &asks, Side::Sell);
        let checksum = self.checksum_for(&bids, &asks);
        self.book_view = Some((bids, asks));
        if bid_changes.is_empty() && ask_changes.is_empty() {
            return true;
        }
        let message = wire::book_message(
            "update",
            &self.shared.config.symbol,
            &bid_changes,
            &ask_changes,
            checksum,
            self.wall_ns(),
        );
        self.send(message)
    }

    fn respond(&mut self, text: String) -> bool {
        if self.shared.take_fault(|f| matches!(f, Fault::DropResponse)) {
            self.shared.stats.lock().dropped_responses += 1;
            return true;
        }
        if let Some(Fault::Delay(delay)) = self
            .shared
            .take_fault_value(|f| matches!(f, Fault::Delay(_)))
        {
            self.delayed.push_back((self.now + delay, text));
            return true;
        }
        self.send(text)
    }

    /// Handles one request; false when the connection must end.
    fn handle(&mut self, text: &str) -> bool {
        let time_in = self.time_text();
        self.shared.stats.lock().requests += 1;
        if self.shared.take_fault(|f| matches!(f, Fault::Disconnect)) {
            // Drop the TCP connection with no close frame.
            self.out.push_back(Output::Drop);
            self.shared.stats.lock().disconnects += 1;
            return false;
        }
        let Some(req) = Req::parse(text) else {
            return self.send(format!(
                r#"{{"error":"EGeneral:Invalid arguments","success":false,"time_in":"{time_in}","time_out":"{}"}}"#,
                self.time_text()
            ));
        };
        let private = !matches!(req.method.as_str(), "ping" | "subscribe" | "unsubscribe")
            || req.str("channel").as_deref() == Some("executions");
        if private && req.str("token").as_deref() != Some(self.shared.config.token.as_str()) {
            return self.respond(wire::failure(
                &req.method,
                req.req_id,
                "ESession:Invalid session",
                &time_in,
                self.wall_ns(),
            ));
        }
        match req.method.as_str() {
            "ping" => {
                let req_part = req
                    .req_id
                    .map_or(String::new(), |id| format!(r#","req_id":{id}"#));
                let pong = format!(
                    r#"{{"method":"pong"{req_part},"time_in":"{time_in}","time_out":"{}"}}"#,
                    self.time_text()
                );
                self.respond(pong)
            }
            "subscribe" => self.subscribe(&req, &time_in),
            "unsubscribe" => {
                let channel = req.str("channel").unwrap_or_default();
                match channel.as_str() {
                    "book" => {
                        self.book_depth = None;
                        self.book_view = None;
                    }
                    "executions" => self.executions = false,
                    _ => {}
                }
                let mut ok = true;
                for symbol in self.symbols_of(&req, &channel) {
                    let result = match &symbol {
                        Some(symbol) => format!(
                            r#"{{"channel":"{channel}","symbol":{}}}"#,
                            wire::quoted(symbol)
                        ),
                        None => format!(r#"{{"channel":"{channel}"}}"#),
                    };
                    ok &= self.respond(wire::success(
                        "unsubscribe",
                        req.req_id,
                        &result,
                        &time_in,
                        self.wall_ns(),
                    ));
                }
                ok
            }
            "add_order" => self.add_order(&req, &time_in),
            "batch_add" => self.batch_add(&req, &time_in),
            "amend_order" => self.amend_order(&req, &time_in),
            "cancel_order" => self.cancel_order(&req, &time_in),
            "cancel_all" => {
                let count = self.cancel_all_owned();
                self.respond(wire::success(
                    "cancel_all",
                    req.req_id,
                    &format!(r#"{{"count":{count}}}"#),
                    &time_in,
                    self.wall_ns(),
                ))
            }
            "cancel_all_orders_after" => {
                let timeout = req.u64("timeout").unwrap_or(0);
                if timeout >= 86_400 {
                    return self.respond(wire::failure(
                        &req.method,
                        req.req_id,
                        "EGeneral:Invalid arguments:timeout",
                        &time_in,
                        self.wall_ns(),
                    ));
                }
                self.dead_man = (timeout > 0).then(|| self.now + Duration::from_secs(timeout));
                let trigger = if timeout > 0 {
                    let secs = self.wall_ns() / 1_000_000_000 + i64::try_from(timeout).unwrap_or(0);
                    let mut out = Vec::new();
                    orderwire_protocol::wallclock::write_rfc3339(
                        secs.saturating_mul(1_000_000_000),
                        0,
                        &mut out,
                    );
                    String::from_utf8(out).unwrap_or_default()
                } else {
                    "0".to_owned()
                };
                let current = time_in.split('.').next().unwrap_or_default().to_owned() + "Z";
                let result = format!(r#"{{"currentTime":"{current}","triggerTime":"{trigger}"}}"#);
                self.respond(wire::success(
                    "cancel_all_orders_after",
                    req.req_id,
                    &result,
                    &time_in,
                    self.wall_ns(),
                ))
            }
            _ => self.respond(wire::failure(
                &req.method,
                req.req_id,
                "EGeneral:Unknown method",
                &time_in,
                self.wall_ns(),
            )),
        }
    }

    /// The symbols a subscribe names (one ack each); `[None]` for channels
    /// without symbols.
    fn symbols_of(&self, req: &Req, channel: &str) -> Vec<Option<String>> {
        if channel == "executions" {
            return vec![None];
        }
        req.strs("symbol")
            .unwrap_or_default()
            .into_iter()
            .map(Some)
            .collect()
    }

    fn subscribe(&mut self, req: &Req, time_in: &str) -> bool {
        let channel = req.str("channel").unwrap_or_default();
        let symbols = self.symbols_of(req, &channel);
        if symbols.is_empty() {
            return self.respond(wire::failure(
                "subscribe",
                req.req_id,
                "EGeneral:Invalid arguments:symbol",
                time_in,
                self.wall_ns(),
            ));
        }
        for symbol in &symbols {
            if let Some(symbol) = symbol {
                if *symbol != self.shared.config.symbol {
                    if !self.respond(wire::failure(
                        "subscribe",
                        req.req_id,
                        "Currency pair not supported",
                        time_in,
                        self.wall_ns(),
                    )) {
                        return false;
                    }
                    continue;
                }
            }
            let result = match channel.as_str() {
                "book" => {
                    let depth = req.u64("depth").unwrap_or(10);
                    if ![10, 25, 100, 500, 1000].contains(&depth) {
                        return self.respond(wire::failure(
                            "subscribe",
                            req.req_id,
                            "EGeneral:Invalid arguments:depth",
                            time_in,
                            self.wall_ns(),
                        ));
                    }
                    format!(
                        r#"{{"channel":"book","depth":{depth},"snapshot":true,"symbol":{}}}"#,
                        wire::quoted(&self.shared.config.symbol)
                    )
                }
                "executions" => format!(
                    r#"{{"channel":"executions","maxratecount":{},"snap_orders":{},"snap_trades":{}}}"#,
                    self.shared.matching.lock().tier.0 / 1000,
                    req.bool("snap_orders").unwrap_or(true),
                    req.bool("snap_trades").unwrap_or(false)
                ),
                "ticker" | "trade" => format!(
                    r#"{{"channel":"{channel}","snapshot":true,"symbol":{}}}"#,
                    wire::quoted(&self.shared.config.symbol)
                ),
                _ => {
                    return self.respond(wire::failure(
                        "subscribe",
                        req.req_id,
                        "EGeneral:Invalid arguments:channel",
                        time_in,
                        self.wall_ns(),
                    ));
                }
            };
            if !self.respond(wire::success(
                "subscribe",
                req.req_id,
                &result,
                time_in,
                self.wall_ns(),
            )) {
                return false;
            }
        }
        self.subscribed = true;
        match channel.as_str() {
            "book" => {
                let depth = usize::try_from(req.u64("depth").unwrap_or(10)).unwrap_or(10);
                self.book_depth = Some(depth);
                self.book_version = self.shared.book_version.load(Ordering::Acquire);
                self.send_book_snapshot(depth)
            }
            "executions" => {
                self.executions = true;
                self.sequence += 1;
                let items: Vec<String> = if req.bool("snap_orders").unwrap_or(true) {
                    let orders = self.shared.matching.lock().open_orders(self.owner());
                    orders
                        .iter()
                        .map(|o| {
                            let status = if o.filled.is_zero() {
                                "new"
                            } else {
                                "partially_filled"
                            };
                            wire::order_fields(o, status, "new", self.wall_ns())
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let message = wire::executions("snapshot", &items, self.sequence);
                self.send(message)
            }
            "ticker" => {
                let (bids, asks) = self.top(1);
                let (Some(bid), Some(ask)) = (bids.first(), asks.first()) else {
                    return true;
                };
                let message = format!(
                    r#"{{"channel":"ticker","type":"snapshot","data":[{{"symbol":{},"bid":{},"bid_qty":{},"ask":{},"ask_qty":{},"last":{},"volume":0.0}}]}}"#,
                    wire::quoted(&self.shared.config.symbol),
                    wire::price_text(bid.0),
                    wire::qty_text(bid.1),
                    wire::price_text(ask.0),
                    wire::qty_text(ask.1),
                    wire::price_text(bid.0)
                );
                self.send(message)
            }
            _ => true,
        }
    }

    /// Queues an executions item for every connection of the order's
    /// account (each sends it if subscribed to executions), after the
    /// response that caused it.
    fn notify(&mut self, item: String, owner: Option<u64>) {
        if owner.is_none() {
            return;
        }
        for sender in self.shared.outboxes.lock().values() {
            let _ = sender.send(item.clone());
        }
    }

    fn add_order(&mut self, req: &Req, time_in: &str) -> bool {
        let outcome = self.place(req);
        match outcome {
            Ok((order, outcome)) => {
                let cl = if order.cl_ord_id.is_empty() {
                    String::new()
                } else {
                    format!(r#","cl_ord_id":{}"#, wire::quoted(&order.cl_ord_id))
                };
                let result = format!(r#"{{"order_id":"{}"{cl}}}"#, order.order_id);
                let ok = self.respond(wire::success(
                    "add_order",
                    req.req_id,
                    &result,
                    time_in,
                    self.wall_ns(),
                ));
                self.report_outcome(&order, &outcome);
                ok
            }
            Err(error) => self.respond(wire::failure(
                "add_order",
                req.req_id,
                error,
                time_in,
                self.wall_ns(),
            )),
        }
    }

    fn place(&mut self, req: &Req) -> Result<(Resting, Outcome), &'static str> {
        let symbol = req
            .str("symbol")
            .unwrap_or_else(|| self.shared.config.symbol.clone());
        self.place_with(req, &symbol)
    }

    fn place_with(&mut self, req: &Req, symbol: &str) -> Result<(Resting, Outcome), &'static str> {
        if symbol != self.shared.config.symbol {
            return Err("EQuery:Unknown asset pair");
        }
        if req.str("order_type").as_deref() != Some("limit") {
            return Err("EGeneral:Invalid arguments:order_type");
        }
        let side = match req.str("side").as_deref() {
            Some("buy") => Side::Buy,
            Some("sell") => Side::Sell,
            _ => return Err("EGeneral:Invalid arguments:side"),
        };
        let price = req
            .dec("limit_price")
            .ok_or("EGeneral:Invalid arguments:limit_price")?;
        let qty = req
            .dec("order_qty")
            .ok_or("EGeneral:Invalid arguments:order_qty")?;
        let cl_ord_id = req.str("cl_ord_id").unwrap_or_default();
        if cl_ord_id.len() > 36 {
            return Err("EGeneral:Invalid arguments:cl_ord_id");
        }
        let now = self.now_ns();
        let mut matching = self.shared.matching.lock();
        matching
            .charge(self.owner(), symbol, 1_000, now)
            .inspect_err(|_| {
                self.shared.stats.lock().rate_limited += 1;
            })?;
        let outcome = matching.place(
            self.owner(),
            symbol,
            side,
            price,
            qty,
            cl_ord_id,
            req.bool("post_only").unwrap_or(false),
            now,
        )?;
        drop(matching);
        self.shared.book_version.fetch_add(1, Ordering::AcqRel);
        self.shared.stats.lock().orders_placed += 1;
        let order = outcome.order.clone().ok_or("EGeneral:Internal error")?;
        Ok((order, outcome))
    }

    /// Executions for a placed order and every order it traded with.
    fn report_outcome(&mut self, order: &Resting, outcome: &Outcome) {
        let mut taker = order.clone();
        taker.filled = Decimal::ZERO;
        self.notify(
            wire::order_fields(&taker, "pending_new", "pending_new", self.wall_ns()),
            self.owner(),
        );
        self.notify(
            wire::status_fields(&taker, "new", "new", self.wall_ns()),
            self.owner(),
        );
        for execution in &outcome.executions {
            taker.filled = taker
                .filled
                .checked_add(execution.qty)
                .unwrap_or(taker.filled);
            let exec_id = format!("TMOCK-{:05}-T", execution.trade_id);
            self.notify(
                wire::trade_fields(
                    &taker,
                    execution.price,
                    execution.qty,
                    execution.trade_id,
                    false,
                    &exec_id,
                    self.wall_ns(),
                ),
                self.owner(),
            );
            if execution.maker.owner.is_some() {
                let exec_id = format!("TMOCK-{:05}-M", execution.trade_id);
                self.notify(
                    wire::trade_fields(
                        &execution.maker,
                        execution.price,
                        execution.qty,
                        execution.trade_id,
                        true,
                        &exec_id,
                        self.wall_ns(),
                    ),
                    execution.maker.owner,
                );
            }
            self.shared.stats.lock().fills += 1;
        }
    }

    fn batch_add(&mut self, req: &Req, time_in: &str) -> bool {
        let Some(orders) = req.objects("orders") else {
            return self.respond(wire::failure(
                "batch_add",
                req.req_id,
                "EGeneral:Invalid arguments:orders",
                time_in,
                self.wall_ns(),
            ));
        };
        if !(2..=15).contains(&orders.len()) {
            return self.respond(wire::failure(
                "batch_add",
                req.req_id,
                "EGeneral:Invalid arguments:orders",
                time_in,
                self.wall_ns(),
            ));
        }
        let symbol = req.str("symbol").unwrap_or_default();
        let mut results = Vec::new();
        let mut outcomes = Vec::new();
        for order in &orders {
            match self.place_with(order, &symbol) {
                Ok((placed, outcome)) => {
                    let cl = if placed.cl_ord_id.is_empty() {
                        String::new()
                    } else {
                        format!(r#","cl_ord_id":{}"#, wire::quoted(&placed.cl_ord_id))
                    };
                    results.push(format!(r#"{{"order_id":"{}"{cl}}}"#, placed.order_id));
                    outcomes.push((placed, outcome));
                }
                Err(error) => {
                    // A validation failure rejects the whole batch.
                    return self.respond(wire::failure(
                        "batch_add",
                        req.req_id,
                        error,
                        time_in,
                        self.wall_ns(),
                    ));
                }
            }
        }
        let ok = self.respond(wire::success(
            "batch_add",
            req.req_id,
            &format!("[{}]", results.join(",")),
            time_in,
            self.wall_ns(),
        ));
        for (placed, outcome) in &outcomes {
            self.report_outcome(placed, outcome);
        }
        ok
    }

    fn amend_order(&mut self, req: &Req, time_in: &str) -> bool {
        let order_id = req.str("order_id");
        let cl_ord_id = req.str("cl_ord_id");
        let now = self.now_ns();
        let mut matching = self.shared.matching.lock();
        let Some(found) = matching.find(self.owner(), order_id.as_deref(), cl_ord_id.as_deref())
        else {
            drop(matching);
            return self.respond(wire::failure(
                "amend_order",
                req.req_id,
                "EOrder:Unknown order",
                time_in,
                self.wall_ns(),
            ));
        };
        let rested = Duration::from_nanos(now.saturating_sub(found.rested_since));
        if let Err(error) =
            matching.charge(self.owner(), &found.symbol, rest_cost(true, rested), now)
        {
            drop(matching);
            self.shared.stats.lock().rate_limited += 1;
            return self.respond(wire::failure(
                "amend_order",
                req.req_id,
                error,
                time_in,
                self.wall_ns(),
            ));
        }
        let amended = matching.amend(&found, req.dec("limit_price"), req.dec("order_qty"), now);
        drop(matching);
        match amended {
            Ok(order) => {
                self.shared.book_version.fetch_add(1, Ordering::AcqRel);
                self.shared.stats.lock().amends += 1;
                let cl = if order.cl_ord_id.is_empty() {
                    String::new()
                } else {
                    format!(r#","cl_ord_id":{}"#, wire::quoted(&order.cl_ord_id))
                };
                let result = format!(
                    r#"{{"amend_id":"TAMEND-{}"{cl},"order_id":"{}"}}"#,
                    order.order_id, order.order_id
                );
                let ok = self.respond(wire::success(
                    "amend_order",
                    req.req_id,
                    &result,
                    time_in,
                    self.wall_ns(),
                ));
                self.notify(
                    wire::order_fields(
                        &order,
                        if order.filled.is_zero() {
                            "new"
                        } else {
                            "partially_filled"
                        },
                        "amended",
                        self.wall_ns(),
                    ),
                    self.owner(),
                );
                ok
            }
            Err(error) => self.respond(wire::failure(
                "amend_order",
                req.req_id,
                error,
                time_in,
                self.wall_ns(),
            )),
        }
    }

    fn cancel_order(&mut self, req: &Req, time_in: &str) -> bool {
        let by_order = req.strs("order_id").unwrap_or_default();
        let by_client = req.strs("cl_ord_id").unwrap_or_default();
        let now = self.now_ns();
        let mut ok = true;
        // One response per order, all with the request's req_id.
        for (order_id, cl_ord_id) in by_order
            .iter()
            .map(|id| (Some(id.as_str()), None))
            .chain(by_client.iter().map(|id| (None, Some(id.as_str()))))
        {
            let mut matching = self.shared.matching.lock();
            let Some(found) = matching.find(self.owner(), order_id, cl_ord_id) else {
                drop(matching);
                ok &= self.respond(wire::failure(
                    "cancel_order",
                    req.req_id,
                    "EOrder:Unknown order",
                    time_in,
                    self.wall_ns(),
                ));
                continue;
            };
            let rested = Duration::from_nanos(now.saturating_sub(found.rested_since));
            if let Err(error) =
                matching.charge(self.owner(), &found.symbol, rest_cost(false, rested), now)
            {
                drop(matching);
                self.shared.stats.lock().rate_limited += 1;
                ok &= self.respond(wire::failure(
                    "cancel_order",
                    req.req_id,
                    error,
                    time_in,
                    self.wall_ns(),
                ));
                continue;
            }
            let canceled = matching.cancel(&found);
            drop(matching);
            if let Some(order) = canceled {
                self.shared.book_version.fetch_add(1, Ordering::AcqRel);
                self.shared.stats.lock().cancels += 1;
                let cl = if order.cl_ord_id.is_empty() {
                    String::new()
                } else {
                    format!(r#","cl_ord_id":{}"#, wire::quoted(&order.cl_ord_id))
                };
                let result = format!(r#"{{"order_id":"{}"{cl}}}"#, order.order_id);
                ok &= self.respond(wire::success(
                    "cancel_order",
                    req.req_id,
                    &result,
                    time_in,
                    self.wall_ns(),
                ));
                self.notify(
                    wire::status_fields(&order, "canceled", "canceled", self.wall_ns()),
                    self.owner(),
                );
            }
        }
        ok
    }

    fn cancel_all_owned(&mut self) -> usize {
        let mut matching = self.shared.matching.lock();
        let orders = matching.open_orders(self.owner());
        let mut canceled = Vec::new();
        for order in &orders {
            if let Some(order) = matching.cancel(order) {
                canceled.push(order);
            }
        }
        drop(matching);
        if !canceled.is_empty() {
            self.shared.book_version.fetch_add(1, Ordering::AcqRel);
        }
        for order in &canceled {
            self.notify(
                wire::status_fields(order, "canceled", "canceled", self.wall_ns()),
                self.owner(),
            );
        }
        canceled.len()
    }
}
