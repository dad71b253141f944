//! Correlation: which request a reply answers, what it does to the order it
//! names, and the latency it took.

use arrayvec::ArrayVec;
use orderwire_protocol::model::{
    ClientOrderId, Event, Fill, Method, OrderId, OrderStatus, OrderUpdate, RejectReason, Side,
    Symbol,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{Correlation, Reconcile, Venue};

use super::GatewayCore;
use super::events::{ConnectionEvent, GatewayEvent, RecycleCause};
use super::reconcile::Reconciliation;
use super::timers::TimerKind;
use crate::callback::{Completed, Completion, RequestTag};
use crate::latency::{Latency, RequestSummary};
use crate::orders::{Cause, OrderState};

/// Orders one request may concern (a batch holds at most 15).
pub(super) const MAX_ORDERS_PER_REQUEST: usize = 16;

pub(super) type OrderList = ArrayVec<ClientOrderId, MAX_ORDERS_PER_REQUEST>;

/// Request-text buffers kept for reuse; more are dropped.
pub(super) const TEXT_POOL: usize = 256;

/// Ranks below this belong to an open sequence (a login and the
/// subscriptions: far fewer).
const OPEN_SEQUENCE_RANKS: u64 = 1 << 32;

/// A request sent and not yet (fully) answered. (Not `Debug`: the text is
/// unredacted.)
pub(super) struct Pending {
    pub(super) summary: RequestSummary,
    pub(super) deadline: Instant,
    pub(super) replies_left: u32,
    /// The orders the request concerns (a batch's in request order).
    pub(super) orders: OrderList,
    /// For batches: how many per-order replies arrived.
    pub(super) answered: usize,
    /// The connection the request is written on (see `send_epoch`).
    pub(super) epoch: u64,
    /// For a subscribe: the key of the remembered subscription, so its
    /// acknowledgement arms its watch (and a refusal forgets it).
    pub(super) subscription: Option<u32>,
    /// The open sequence's login: its reply or its deadline decides
    /// whether the connection goes on.
    pub(super) login: bool,
    /// Its place on the wire within its connection (set by
    /// `insert_pending`): an id-less error answers the lowest.
    pub(super) wire_rank: u64,
    /// The driver's tag: report the request's end.
    pub(super) tag: Option<RequestTag>,
    /// The frame as written, when its end is reported (else empty).
    pub(super) text: Vec<u8>,
}

impl<V: Venue> GatewayCore<V> {
    /// Adds a pending request and its deadline.
    pub(super) fn insert_pending(&mut self, req_id: u64, mut pending: Pending) {
        // The open sequence goes out ahead of frames left from the last
        // connection (the backlog), whose ids are lower: ranks, not ids,
        // say what went first.
        pending.wire_rank = match &mut self.open_rank {
            Some(rank) => {
                *rank += 1;
                *rank
            }
            None => {
                self.back_rank += 1;
                OPEN_SEQUENCE_RANKS + self.back_rank
            }
        };
        self.deadlines.push(pending.deadline, req_id);
        if pending.epoch == self.epoch {
            self.in_flight.current += 1;
        } else {
            self.in_flight.next += 1;
        }
        self.pending.insert(req_id, pending);
        self.rearm(TimerKind::Request);
        self.rearm(TimerKind::Drain);
    }

    /// Takes a request out of the pending table; its deadline entry goes
    /// stale and is dropped when it reaches the front of the deadlines.
    pub(super) fn remove_pending(&mut self, req_id: u64) -> Option<Pending> {
        let pending = self.pending.remove(&req_id)?;
        if pending.epoch == self.epoch {
            self.in_flight.current = self.in_flight.current.saturating_sub(1);
        } else {
            self.in_flight.next = self.in_flight.next.saturating_sub(1);
        }
        self.rearm(TimerKind::Request);
        self.rearm(TimerKind::Drain);
        Some(pending)
    }

    /// A request ended: reported as an output when the driver tagged it
    /// (or every request is reported); its text buffer is kept
    /// for the next request otherwise.
    pub(super) fn complete(
        &mut self,
        pending: Pending,
        completion: Completion,
        event: Option<&Event>,
        latency: Option<Latency>,
    ) {
        if pending.tag.is_none() && !self.config.report_all_requests {
            self.reuse_text(pending.text);
            return;
        }
        self.out.completed.push(Completed {
            summary: pending.summary,
            completion,
            event: event.cloned(),
            latency,
            request_text: pending.text,
            tag: pending.tag,
        });
    }

    /// The request an error without an id answers, on a venue that answers
    /// in order (`Correlation::ByIdThenInOrder`): the oldest one still
    /// waiting on the current connection. A scan, but only for id-less
    /// errors, which are rare.
    fn answered_in_order(&self, event: &Event) -> Option<u64> {
        if self.capabilities.correlation != Correlation::ByIdThenInOrder {
            return None;
        }
        let is_error = match event {
            Event::Response(response) => !response.ok,
            Event::OrderReject(_) => true,
            _ => false,
        };
        if !is_error {
            return None;
        }
        self.pending
            .iter()
            .filter(|(_, pending)| pending.epoch == self.epoch && pending.replies_left > 0)
            .min_by_key(|(_, pending)| pending.wire_rank)
            .map(|(&req_id, _)| req_id)
    }

    /// A request-text buffer back into the pool.
    pub(super) fn reuse_text(&mut self, mut text: Vec<u8>) {
        if text.capacity() > 0 && self.text_pool.len() < TEXT_POOL {
            text.clear();
            self.text_pool.push(text);
        }
    }

    /// A reply: latency, pending bookkeeping and the order's status.
    pub(super) fn correlate(&mut self, received_at: Instant, req_id: Option<u64>, event: &Event) {
        let req_id = req_id.or_else(|| self.answered_in_order(event));
        let Some(pending) = req_id.and_then(|id| self.pending.get_mut(&id)) else {
            self.out.events.push(GatewayEvent::Reply(event.clone()));
            self.late_reply(received_at, event);
            return;
        };
        let summary = pending.summary;
        // A late reply to an earlier connection's login says nothing about
        // this one's.
        let login = pending.login && pending.epoch == self.epoch;
        let (acknowledged, refused) = match (pending.subscription, event) {
            (Some(key), Event::Response(response)) if response.ok => (Some(key), None),
            // Forgotten only when the refusal is the whole answer: a venue
            // that answers symbol by symbol (Kraken) may have taken the
            // others, which stay live and remembered.
            (Some(key), Event::Response(_) | Event::VenueError { .. })
                if pending.answered == 0 && pending.replies_left <= 1 =>
            {
                (None, Some(key))
            }
            _ => (None, None),
        };
        let batch_index = pending.answered;
        pending.answered += 1;
        pending.replies_left = pending.replies_left.saturating_sub(1);
        let done = pending.replies_left == 0;
        if let Some(key) = refused.filter(|&key| !self.subscriptions.is_configured(key)) {
            // The venue refused a runtime subscribe: not replayed at the
            // next connect. A configured one stays: the configuration
            // asks for it.
            self.subscriptions.forget_key(key);
            self.watchdog.rebuild(&self.subscriptions);
        }
        if let Some(key) = acknowledged {
            self.watchdog.arm(key, received_at);
            // `rearm(Watchdog)`, on the fields alone (`pending` is borrowed).
            let up = matches!(self.link, super::Link::Up { .. });
            let next = self.watchdog.next_sweep().filter(|_| up);
            self.timers.set(TimerKind::Watchdog, next);
        }
        // A cancel-replace answers once for each half; the event's method
        // says which.
        let method = match (summary.method, event) {
            (Method::CancelReplace, Event::OrderAck(a)) => a.method,
            (Method::CancelReplace, Event::OrderReject(r)) => r.method,
            (method, _) => method,
        };
        // The one order a reply can be about, without copying the list: a
        // batch's reply goes to its next order, a cancel-replace's to the
        // new order (first) or the canceled one, any other to its only one.
        let listed = match (summary.method, method) {
            (Method::BatchPlace, _) => pending.orders.get(batch_index).copied(),
            (Method::CancelReplace, Method::Cancel) => pending.orders.get(1).copied(),
            (Method::CancelReplace, _) => pending.orders.first().copied(),
            _ if pending.orders.len() == 1 => pending.orders.first().copied(),
            _ => None,
        };
        let finished = if done {
            self.remove_pending(summary.req_id)
        } else {
            None
        };
        let (ts_in, ts_out) = match event {
            Event::OrderAck(a) => (a.ts_in, a.ts_out),
            Event::OrderReject(r) => (r.ts_in, r.ts_out),
            Event::Response(r) => (r.ts_in, r.ts_out),
            _ => (None, None),
        };
        let latency = Latency {
            nanos: received_at.as_nanos().saturating_sub(summary.sent_at_ns),
            venue_time_in: ts_in,
            venue_time_out: ts_out,
        };
        // A batch answers once for all its orders: one sample, not one per order.
        let several = matches!(summary.method, Method::BatchPlace | Method::CancelReplace);
        if !several || batch_index == 0 {
            self.latency.record(summary.method, latency.nanos);
            self.out
                .events
                .push(GatewayEvent::Answered { summary, latency });
        }
        if let Some(pending) = finished {
            self.complete(pending, Completion::Answered, Some(event), Some(latency));
        }
        self.out.events.push(GatewayEvent::Reply(event.clone()));
        if login {
            return self.login_answered(received_at, event);
        }
        // Which order the reply is about.
        let named = match event {
            Event::OrderAck(a) => a
                .client_order_id
                .filter(|id| self.orders.contains(id))
                .or_else(|| a.order_id.and_then(|o| self.orders.client_id_of(&o))),
            Event::OrderReject(r) => r.order_id.and_then(|o| self.orders.client_id_of(&o)),
            _ => None,
        };
        let order = match summary.method {
            Method::BatchPlace | Method::CancelReplace => listed,
            _ => named.or(listed),
        };
        let Some(order) = order else { return };
        self.reply_settles(method, &order, received_at, event);
    }

    /// The login's reply: on success the held subscriptions go out; a
    /// refusal closes the connection, to reconnect under the policy or, if
    /// the venue calls it permanent, to stay closed.
    fn login_answered(&mut self, now: Instant, event: &Event) {
        // Only an accepted reply logs in: anything else the venue answers
        // the login with (an error, a rate refusal) is a refusal.
        let refusal = match event {
            Event::Response(response) if response.ok => None,
            Event::Response(response) => Some(response.message.clone().unwrap_or_default()),
            Event::VenueError { message, .. } => Some(message.clone()),
            other => Some(format!("{other:?}")),
        };
        let Some(message) = refusal else {
            self.out
                .events
                .push(GatewayEvent::Connection(ConnectionEvent::LoggedIn));
            if std::mem::take(&mut self.subscriptions_held) {
                let mut frames = std::mem::take(&mut self.frames);
                frames.clear();
                self.open_subscriptions(now, &mut frames);
                Self::queue_frames(
                    &mut frames,
                    &mut self.transmits,
                    &mut self.spare_buffers,
                    None,
                    (&mut self.tap, now),
                );
                self.frames = frames;
                self.rearm_all();
            }
            return;
        };
        let permanent = self.venue.login_refusal_is_permanent(&message);
        tracing::warn!(
            venue = self.venue.name(),
            permanent,
            message = message.as_str(),
            "login refused"
        );
        self.subscriptions_held = false;
        self.out
            .events
            .push(GatewayEvent::Connection(ConnectionEvent::LoginRefused {
                message: message.into(),
                permanent,
            }));
        let cause = if permanent {
            RecycleCause::LoginRefusedForGood
        } else {
            RecycleCause::LoginRefused
        };
        self.end_connection_for(cause);
    }

    /// What a reply does to the order it concerns: an accepted place makes
    /// it `new` (and records the venue's id and when it started resting), a
    /// refused place `rejected`, an accepted cancel `canceled`; an accepted
    /// amend restarts the rest time (Kraken's rate costs count from it).
    pub(super) fn reply_settles(
        &mut self,
        method: Method,
        order: &ClientOrderId,
        received_at: Instant,
        event: &Event,
    ) {
        match (method, event) {
            (Method::Place | Method::BatchPlace, Event::OrderAck(ack)) => {
                if let Some(order_id) = ack.order_id {
                    self.orders.set_order_id(order, order_id);
                }
                if let Some(state) = self.orders.get_mut(order) {
                    state.acknowledged = true;
                    state.accepted_at.get_or_insert(received_at);
                }
                self.apply(order, OrderStatus::New, Cause::Ack);
            }
            (Method::Place | Method::BatchPlace, Event::OrderReject(reject))
                if reject.reason == RejectReason::StatusUnknown =>
            {
                // The venue does not know whether it acted: ask it.
                self.apply(order, OrderStatus::Unknown, Cause::Timeout);
                if self.capabilities.reconcile == Reconcile::QueryEach {
                    self.reconciliation = Reconciliation::QueryDue;
                    self.rearm(TimerKind::Reconcile);
                }
            }
            (
                Method::Place | Method::BatchPlace,
                Event::OrderReject(_) | Event::Throttled { .. },
            ) => {
                if let Event::OrderReject(reject) = event {
                    tracing::info!(
                        venue = self.venue.name(),
                        client_order_id = order.as_str(),
                        code = ?reject.code,
                        reason = ?reject.reason,
                        "order rejected"
                    );
                }
                self.apply(order, OrderStatus::Rejected, Cause::Reject);
            }
            (Method::QueryOrder, Event::OrderReject(reject))
                if reject.reason == RejectReason::UnknownOrder =>
            {
                self.settle_absent(order);
            }
            (Method::Cancel, Event::OrderAck(_)) => {
                self.apply(order, OrderStatus::Canceled, Cause::Ack);
            }
            (Method::Amend, Event::OrderAck(_)) => {
                if let Some(state) = self.orders.get_mut(order) {
                    state.accepted_at = Some(received_at);
                }
            }
            _ => {}
        }
    }

    /// A reply whose request is no longer pending (it timed out, or came on
    /// a connection we gave up on) still settles the order it names.
    pub(super) fn late_reply(&mut self, received_at: Instant, event: &Event) {
        let (method, order) = match event {
            Event::OrderAck(a) => (
                a.method,
                a.client_order_id
                    .filter(|id| self.orders.contains(id))
                    .or_else(|| a.order_id.and_then(|o| self.orders.client_id_of(&o))),
            ),
            Event::OrderReject(r) => (
                r.method,
                r.order_id.and_then(|o| self.orders.client_id_of(&o)),
            ),
            _ => return,
        };
        let Some(order) = order else { return };
        self.reply_settles(method, &order, received_at, event);
    }

    /// Moves an order and reports the change.
    pub(super) fn apply(&mut self, id: &ClientOrderId, status: OrderStatus, cause: Cause) {
        // An ack never downgrades what the order stream already said (an
        // executions update can arrive before the ack).
        if cause == Cause::Ack {
            if let Some(state) = self.orders.get(id) {
                let later = matches!(
                    (state.status, status),
                    (
                        OrderStatus::PartiallyFilled | OrderStatus::Filled,
                        OrderStatus::New
                    )
                ) || state.status.is_terminal();
                if later {
                    return;
                }
            }
        }
        if let Some(event) = self.orders.transition(id, status, cause) {
            self.out.events.push(GatewayEvent::Order(event));
        }
    }

    pub(super) fn on_order_update(&mut self, now: Instant, update: OrderUpdate) {
        let known = update
            .client_order_id
            .filter(|id| self.orders.contains(id))
            .or_else(|| self.orders.client_id_of(&update.order_id));
        let id = match known {
            Some(id) => id,
            // An order the gateway did not place (REST, another session):
            // tracked from its first update, with the same states and
            // events as the gateway's own.
            None => self.track_external(
                update.client_order_id,
                update.order_id,
                update.symbol,
                update.side,
                update.qty,
            ),
        };
        if let Some(state) = self.orders.get_mut(&id) {
            if state.order_id.is_none() {
                state.order_id = Some(update.order_id);
            }
            if state.external {
                // What the first update did not say, a later one may.
                state.symbol = update
                    .symbol
                    .filter(|s| !s.is_empty())
                    .unwrap_or(state.symbol);
                state.side = update.side.unwrap_or(state.side);
                state.qty = update.qty.filter(|q| !q.is_zero()).unwrap_or(state.qty);
            }
            if let Some(filled) = update.filled_qty {
                state.filled_qty = filled;
            }
            if matches!(
                update.status,
                OrderStatus::New | OrderStatus::PartiallyFilled
            ) {
                state.acknowledged = true;
                state.accepted_at.get_or_insert(now);
            }
        }
        self.orders.set_order_id(&id, update.order_id);
        if update.from_snapshot {
            self.seen_in_snapshot.insert(id);
        }
        let cause = if update.from_snapshot {
            Cause::Reconciled
        } else {
            Cause::Venue
        };
        if update.status == OrderStatus::PendingNew {
            return;
        }
        let reported = self.out.events.len();
        self.apply(&id, update.status, cause);
        let lag = update.ts.and_then(|ts| {
            let nanos = self.wall_ns(now).checked_sub(ts)?;
            Some(std::time::Duration::from_nanos(u64::try_from(nanos).ok()?))
        });
        if let Some(GatewayEvent::Order(event)) = self.out.events.get_mut(reported) {
            event.venue_to_gateway = lag;
            event.detail = update.detail;
        }
    }

    /// Starts tracking an order the gateway did not place, keyed by the
    /// venue's client id, else its order id (both 48-byte ids; `ext:` and
    /// the order id where that would name one of our own orders).
    fn track_external(
        &mut self,
        client_order_id: Option<ClientOrderId>,
        order_id: OrderId,
        symbol: Option<Symbol>,
        side: Option<Side>,
        qty: Option<Decimal>,
    ) -> ClientOrderId {
        let mut id = client_order_id
            .or_else(|| ClientOrderId::from(order_id.as_str()).ok())
            .unwrap_or_default();
        if self.orders.get(&id).is_some_and(|state| !state.external) {
            // The venue's id reads like one of our client ids: never alias
            // our order; the external one gets a prefixed key.
            let mut prefixed = ClientOrderId::new();
            let _ = prefixed.try_push_str("ext:");
            for c in order_id.chars() {
                if prefixed.try_push(c).is_err() {
                    break;
                }
            }
            id = prefixed;
        }
        if !self.orders.contains(&id) {
            self.orders.insert(
                id,
                OrderState {
                    order_id: Some(order_id),
                    symbol: symbol.unwrap_or_default(),
                    side: side.unwrap_or(Side::Buy),
                    qty: qty.unwrap_or(Decimal::ZERO),
                    filled_qty: Decimal::ZERO,
                    status: OrderStatus::PendingNew,
                    accepted_at: None,
                    epoch: self.epoch,
                    acknowledged: false,
                    external: true,
                },
            );
        }
        self.orders.set_order_id(&id, order_id);
        id
    }

    /// A fill: dropped if seen before, else settled onto its order.
    pub(super) fn on_fill(&mut self, fill: Fill) {
        if !self.fills.first_time(fill.dedup_key()) {
            return;
        }
        let known = fill
            .client_order_id
            .filter(|id| self.orders.contains(id))
            .or_else(|| self.orders.client_id_of(&fill.order_id));
        let Some(id) = known else {
            // A fill of an order nobody told us of (its update, which
            // would start tracking it, has not come): passed on, once.
            self.out.events.push(GatewayEvent::Fill(fill));
            return;
        };
        if let Some(state) = self.orders.get_mut(&id) {
            if state.order_id.is_none() {
                state.order_id = Some(fill.order_id);
            }
            // The order stream's cum_qty overrides this when it comes; an
            // external order's updates always carry it (Upbit's myOrder
            // reports the cumulative volume before the trade's own).
            if !state.external
                && let Some(total) = state.filled_qty.checked_add(fill.qty)
            {
                state.filled_qty = total;
            }
        }
        let mut fill = fill;
        fill.client_order_id = Some(id);
        self.out.events.push(GatewayEvent::Fill(fill));
    }
}
