//! The typeless exchange handle: what `Registry::exchange("kraken")`
//! returns, so that code far from the exchange's creation places, amends,
//! cancels, waits and polls without naming the venue's type (hftpy's
//! `get_exchange_ws_api`). The typed `Registry::get::<Exchange<V>>` stays
//! for what only the venue's own type offers.

use std::sync::Arc;
use std::time::Duration;

use orderwire_protocol::model::{
    AmendOrder, CancelOrders, ClientOrderId, NewOrder, OrderRef, OrderStatus, Request, Symbol,
};
use orderwire_protocol::venue::Venue;
use parking_lot::Mutex;

use super::waiting::{Ticket, WaitError, Waiter};
use super::{Exchange, GatewayEvent, InlineExchange, Outputs, SubmitError};

/// An exchange of any venue, on either driver.
pub trait ExchangeHandle: Send + Sync {
    /// Its id in the registry.
    fn name(&self) -> String;
    /// The venue's name (`kraken`).
    fn venue(&self) -> &'static str;
    /// Submits any request; the ticket waits on its end.
    fn submit(&self, request: Request<'_>) -> Result<Ticket, SubmitError>;
    /// Places an order.
    fn place(&self, order: &NewOrder) -> Result<Ticket, SubmitError> {
        self.submit(Request::Place(order))
    }
    /// Amends an order.
    fn amend(&self, amend: &AmendOrder) -> Result<Ticket, SubmitError> {
        self.submit(Request::Amend(amend))
    }
    /// Cancels one order (`symbol` where the venue needs the pair).
    fn cancel(&self, order: OrderRef, symbol: Option<Symbol>) -> Result<Ticket, SubmitError> {
        let cancel = CancelOrders {
            symbol,
            orders: vec![order],
        };
        self.submit(Request::Cancel(&cancel))
    }
    /// Cancels every open order (of `symbol`, where the venue cancels per
    /// pair).
    fn cancel_all(&self, symbol: Option<Symbol>) -> Result<Ticket, SubmitError> {
        self.submit(Request::CancelAll { symbol })
    }
    /// Blocks until the connection is up and logged in, or `timeout`.
    fn wait_connected(&self, timeout: Duration) -> Result<(), WaitError>;
    /// One poll that never blocks (see `Exchange::poll`).
    fn poll(&self, on_event: &mut dyn FnMut(&GatewayEvent, &Outputs)) -> usize;
    /// One poll that blocks up to `timeout` for something to happen.
    fn poll_timeout(
        &self,
        timeout: Duration,
        on_event: &mut dyn FnMut(&GatewayEvent, &Outputs),
    ) -> usize;
    /// An order's status, as the gateway knows it.
    fn order_status(&self, id: &ClientOrderId) -> Option<OrderStatus>;
    /// Closes the connection with a close handshake. Idempotent.
    fn shutdown(&self, grace: Duration);
}

/// What the registry can hold, and the typeless handle it gives for it.
/// Exchanges of either driver give one; a type of your own needs only
/// `impl Registrable for MyType {}`.
pub trait Registrable: Send + Sync + 'static {
    /// The typeless handle, where this is an exchange.
    fn exchange_handle(self: Arc<Self>) -> Option<Arc<dyn ExchangeHandle>> {
        None
    }
}

impl<V: Venue> Registrable for Exchange<V> {
    fn exchange_handle(self: Arc<Self>) -> Option<Arc<dyn ExchangeHandle>> {
        Some(self)
    }
}

impl<V: Venue> ExchangeHandle for Exchange<V> {
    fn name(&self) -> String {
        Exchange::name(self).to_owned()
    }

    fn venue(&self) -> &'static str {
        self.gateway().core().lock().venue().name()
    }

    fn submit(&self, request: Request<'_>) -> Result<Ticket, SubmitError> {
        self.submit_ticket(request)
    }

    fn wait_connected(&self, timeout: Duration) -> Result<(), WaitError> {
        Exchange::wait_connected(self, timeout)
    }

    fn poll(&self, on_event: &mut dyn FnMut(&GatewayEvent, &Outputs)) -> usize {
        Exchange::poll(self, on_event)
    }

    fn poll_timeout(
        &self,
        timeout: Duration,
        on_event: &mut dyn FnMut(&GatewayEvent, &Outputs),
    ) -> usize {
        Exchange::poll_timeout(self, timeout, on_event)
    }

    fn order_status(&self, id: &ClientOrderId) -> Option<OrderStatus> {
        self.gateway().core().lock().order(id).map(|o| o.status)
    }

    fn shutdown(&self, grace: Duration) {
        Exchange::shutdown(self, grace);
    }
}

/// An inline exchange as the registry holds it (behind a lock: the thread
/// that waits or polls turns its loop).
impl<V: Venue> Registrable for Mutex<InlineExchange<V>> {
    fn exchange_handle(self: Arc<Self>) -> Option<Arc<dyn ExchangeHandle>> {
        Some(Arc::new(InlineHandle(self)))
    }
}

/// The handle of an inline exchange: each call takes its lock, and events
/// and callbacks run under it, so a callback of an inline exchange must
/// not call its handle (it is on the thread turning the loop: use the
/// `InlineExchange` it was given, or submit after the poll returns).
struct InlineHandle<V: Venue>(Arc<Mutex<InlineExchange<V>>>);

impl<V: Venue> Waiter for InlineHandle<V> {
    /// Another thread turning the loop holds the lock: the wait takes it
    /// for at most what is left of its timeout, never longer.
    fn block_for(&self, timeout: Duration, done: &dyn Fn() -> bool) -> bool {
        let Some(clock) = self.0.try_lock_for(timeout).map(|e| e.clock().clone()) else {
            return done();
        };
        let deadline = clock.now() + timeout;
        loop {
            if done() {
                return true;
            }
            let left = deadline.saturating_duration_since(clock.now());
            if left.is_zero() {
                return false;
            }
            // One turn at a time, so `done` is checked between them; the
            // lock is let go between turns for other threads' submits.
            match self.0.try_lock_for(left) {
                Some(mut exchange) => exchange.turn_once(left.min(Duration::from_millis(10))),
                None => return done(),
            }
        }
    }
}

impl<V: Venue> ExchangeHandle for InlineHandle<V> {
    fn name(&self) -> String {
        self.0.lock().name().to_owned()
    }

    fn venue(&self) -> &'static str {
        self.0.lock().core().venue().name()
    }

    fn submit(&self, request: Request<'_>) -> Result<Ticket, SubmitError> {
        let ticket = self.0.lock().submit_ticket(request)?;
        Ok(ticket.driven_by(Arc::new(InlineHandle(self.0.clone()))))
    }

    fn wait_connected(&self, timeout: Duration) -> Result<(), WaitError> {
        let exchange = &self.0;
        if self.block_for(timeout, &|| exchange.lock().core().is_ready()) {
            Ok(())
        } else {
            Err(WaitError::Elapsed)
        }
    }

    fn poll(&self, on_event: &mut dyn FnMut(&GatewayEvent, &Outputs)) -> usize {
        self.0.lock().poll_once(Some(Duration::ZERO), on_event)
    }

    fn poll_timeout(
        &self,
        timeout: Duration,
        on_event: &mut dyn FnMut(&GatewayEvent, &Outputs),
    ) -> usize {
        self.0.lock().poll_once(Some(timeout), on_event)
    }

    fn order_status(&self, id: &ClientOrderId) -> Option<OrderStatus> {
        self.0.lock().core().order(id).map(|o| o.status)
    }

    fn shutdown(&self, grace: Duration) {
        self.0.lock().shutdown(grace);
    }
}

/// A gateway over a transport of your own, registered as it is (no typeless
/// handle: it has no poll of its own).
impl<V: Venue, T: super::Transport + 'static> Registrable for super::Gateway<V, T> {}
