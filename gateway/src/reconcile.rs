//! Reconciliation: settling orders whose state is unknown after a drop or a
//! timeout, from the venue's snapshot of open orders or by asking for each.

use std::collections::HashSet;

use orderwire_protocol::model::{
    ClientOrderId, Method, OrderRef, OrderStatus, OwnedRequest, Request, Symbol,
};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::Venue;

use super::GatewayCore;
use super::correlation::Pending;
use super::events::GatewayEvent;
use super::timers::TimerKind;
use crate::callback::Completion;
use crate::orders::Cause;

/// What settles the unknown orders next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reconciliation {
    /// Nothing to settle.
    Idle,
    /// The snapshot of open orders after the reconnect settles every order
    /// sent on an earlier connection (Kraken).
    AwaitingSnapshot,
    /// Every unknown order is asked for at the next timer (Binance).
    QueryDue,
}

impl<V: Venue> GatewayCore<V> {
    /// The connection dropped: the orders of every request written on it,
    /// and every other live order of it, become `unknown`. Orders still in the
    /// rate-limit queue were never sent: they stay pending.
    pub(super) fn mark_lost_orders(&mut self, epoch: u64) {
        // Once per drop: the ids, then the entries (MSRV 1.85 has no
        // `extract_if`).
        let mut ids: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, pending)| pending.epoch <= epoch)
            .map(|(req_id, _)| *req_id)
            .collect();
        ids.sort_unstable();
        let lost: Vec<(u64, Pending)> = ids
            .into_iter()
            .filter_map(|req_id| self.pending.remove(&req_id).map(|p| (req_id, p)))
            .collect();
        if epoch == self.epoch {
            self.in_flight.current = 0;
        }
        // In the order the requests were sent, whatever the table's order.
        for (_, pending) in lost {
            for id in &pending.orders {
                if let Some(event) =
                    self.orders
                        .transition(id, OrderStatus::Unknown, Cause::Disconnect)
                {
                    self.out.events.push(GatewayEvent::Order(event));
                }
            }
            self.complete(pending, Completion::Lost, None, None);
        }
        let queued: HashSet<ClientOrderId> = self
            .queue
            .iter()
            .flat_map(|q| match &q.request {
                OwnedRequest::Place(order) => vec![order.client_order_id],
                OwnedRequest::BatchPlace(orders) => {
                    orders.iter().map(|o| o.client_order_id).collect()
                }
                OwnedRequest::CancelReplace(replace) => vec![replace.new_order.client_order_id],
                _ => Vec::new(),
            })
            .collect();
        let live: Vec<ClientOrderId> = self
            .orders
            .live()
            .filter(|(id, s)| {
                // An external order's state is the venue's: none of our
                // requests is at stake.
                !s.external
                    && s.epoch <= epoch
                    && s.status != OrderStatus::Unknown
                    && !queued.contains(*id)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in live {
            if let Some(event) =
                self.orders
                    .transition(&id, OrderStatus::Unknown, Cause::Disconnect)
            {
                self.out.events.push(GatewayEvent::Order(event));
            }
        }
    }

    /// The venue has no record of an unknown order: it is closed as
    /// reconciliation closes an order missing from a snapshot.
    pub(super) fn settle_absent(&mut self, id: &ClientOrderId) {
        let Some(state) = self.orders.get(id) else {
            return;
        };
        if state.status != OrderStatus::Unknown {
            return;
        }
        let status = if state.filled_qty >= state.qty {
            OrderStatus::Filled
        } else if state.acknowledged {
            OrderStatus::Canceled
        } else {
            OrderStatus::Rejected
        };
        tracing::info!(
            venue = self.venue.name(),
            client_order_id = id.as_str(),
            status = status.as_str(),
            "reconciled: the venue has no such order"
        );
        if let Some(event) = self.orders.transition(id, status, Cause::Reconciled) {
            self.out.events.push(GatewayEvent::Order(event));
        }
    }

    /// Asks the venue for every unknown order's state (venues that
    /// reconcile by query), through the rate limiter like any request.
    pub(super) fn query_unknown_orders(&mut self, now: Instant) {
        self.reconciliation = Reconciliation::Idle;
        self.rearm(TimerKind::Reconcile);
        let unknown: Vec<(ClientOrderId, Symbol)> = self
            .orders
            .live()
            .filter(|(_, s)| s.status == OrderStatus::Unknown)
            .map(|(id, s)| (*id, s.symbol))
            .collect();
        for (id, symbol) in unknown {
            let request = Request::QueryOrder {
                order: OrderRef::ClientOrderId(id),
                symbol,
            };
            tracing::info!(
                venue = self.venue.name(),
                client_order_id = id.as_str(),
                "reconciling an unknown order by query"
            );
            if let Err(error) = self.submit(now, request) {
                self.out.events.push(GatewayEvent::Dropped {
                    method: Method::QueryOrder,
                    error,
                });
            }
        }
    }

    /// After a reconnect's executions snapshot: every order sent on an
    /// earlier connection that is still unknown, and absent from the
    /// snapshot of open orders, is closed. Filled if its fills cover it;
    /// canceled if the venue had accepted it; rejected if it never had.
    pub(super) fn reconcile(&mut self) {
        if self.reconciliation != Reconciliation::AwaitingSnapshot {
            return;
        }
        self.reconciliation = Reconciliation::Idle;
        self.rearm(TimerKind::Reconcile);
        let epoch = self.epoch;
        let settle: Vec<(ClientOrderId, OrderStatus)> = self
            .orders
            .live()
            .filter(|(id, s)| {
                !s.external && s.epoch < epoch && !self.seen_in_snapshot.contains(*id)
            })
            .map(|(id, s)| {
                let status = if s.filled_qty >= s.qty {
                    OrderStatus::Filled
                } else if s.acknowledged {
                    OrderStatus::Canceled
                } else {
                    OrderStatus::Rejected
                };
                (*id, status)
            })
            .collect();
        tracing::info!(
            venue = self.venue.name(),
            settled = settle.len(),
            "reconciled from the snapshot: unknown orders absent from it closed"
        );
        for (id, status) in settle {
            if let Some(event) = self.orders.transition(&id, status, Cause::Reconciled) {
                self.out.events.push(GatewayEvent::Order(event));
            }
        }
    }
}
