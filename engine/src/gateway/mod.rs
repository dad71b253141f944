//! The per-exchange gateway: request ordering, rate limits, correlation,
//! deadlines, order states and latency, over any [`Venue`].
//!
//! [`Gateway`] is the thread-safe form of [`GatewayCore`] over any
//! [`Transport`]; [`Exchange`] is a gateway on the engine's reactor, and
//! [`Registry`] makes it a create-once, get-anywhere singleton.
//! docs/gateway.md has the guarantees.

mod core;
mod exchange;
pub mod latency;
pub mod orders;
pub mod ratelimit;
mod registry;

pub use self::core::{
    DeadManSwitch, GatewayConfig, GatewayCore, GatewayEvent, Outbound, Outputs, Submission,
    SubmitError, WhenLimited,
};
pub use exchange::{ConnectionEvent, Exchange, ExchangeConfig, TokenFetch};
pub use latency::{Latency, LatencyBook, LatencyCallback, RequestSummary, to_hgrm};
pub use orders::{Cause, OrderEvent, OrderState};
pub use registry::{Registry, RegistryError};

use orderwire_protocol::model::{AmendOrder, CancelOrders, NewOrder, Request};
use orderwire_protocol::venue::{FrameKind, Venue};
use parking_lot::Mutex;

/// Where a gateway's frames go, shared by every submitting thread; the
/// thread-safe form of [`Outbound`], called with the gateway's lock held.
pub trait Transport: Send + Sync {
    /// See [`Outbound::has_room`].
    fn has_room(&self, frames: usize) -> bool;
    /// See [`Outbound::send`].
    fn send(&self, kind: FrameKind, frame: &mut Vec<u8>) -> bool;
}

struct Through<'a, T: Transport>(&'a T);

impl<T: Transport> Outbound for Through<'_, T> {
    fn has_room(&mut self, frames: usize) -> bool {
        self.0.has_room(frames)
    }
    fn send(&mut self, kind: FrameKind, frame: &mut Vec<u8>) -> bool {
        self.0.send(kind, frame)
    }
}

/// A [`GatewayCore`] behind a lock, for any number of submitting threads.
///
/// Ordering: the lock is held from taking the request id to handing the
/// frame to the transport's FIFO, so frames reach the transport in the order
/// their ids were taken, and ids strictly increase on the wire.
pub struct Gateway<V: Venue, T: Transport> {
    core: std::sync::Arc<Mutex<GatewayCore<V>>>,
    transport: T,
}

impl<V: Venue, T: Transport> Gateway<V, T> {
    /// A gateway for `venue` writing to `transport`.
    pub fn new(venue: V, config: GatewayConfig, transport: T) -> Gateway<V, T> {
        Gateway {
            core: std::sync::Arc::new(Mutex::new(GatewayCore::new(venue, config))),
            transport,
        }
    }

    /// The shared core (for the engine's open-sequence hook and getters).
    pub fn core(&self) -> &std::sync::Arc<Mutex<GatewayCore<V>>> {
        &self.core
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Submits any request at `now` (engine clock, ns).
    pub fn submit(&self, now: u64, request: Request<'_>) -> Result<Submission, SubmitError> {
        self.core
            .lock()
            .submit(now, request, &mut Through(&self.transport))
    }

    /// Places an order.
    pub fn place_order(&self, now: u64, order: &NewOrder) -> Result<Submission, SubmitError> {
        self.submit(now, Request::Place(order))
    }

    /// Amends an order.
    pub fn amend_order(&self, now: u64, amend: &AmendOrder) -> Result<Submission, SubmitError> {
        self.submit(now, Request::Amend(amend))
    }

    /// Cancels orders.
    pub fn cancel_orders(
        &self,
        now: u64,
        cancel: &CancelOrders,
    ) -> Result<Submission, SubmitError> {
        self.submit(now, Request::Cancel(cancel))
    }

    /// Feeds one inbound message of `kind`.
    pub fn handle_message(&self, now: u64, received_at: u64, kind: FrameKind, message: &mut [u8]) {
        self.core.lock().handle_message(
            now,
            received_at,
            kind,
            message,
            &mut Through(&self.transport),
        );
    }

    /// Feeds a book snapshot taken on another connection.
    pub fn feed_book_snapshot(
        &self,
        now: u64,
        book: &orderwire_protocol::model::BookEvent,
        levels: &[orderwire_protocol::model::Level],
    ) {
        self.core
            .lock()
            .feed_book_snapshot(now, book, levels, &mut Through(&self.transport));
    }

    /// Runs the core's timers.
    pub fn handle_timeout(&self, now: u64) {
        self.core
            .lock()
            .handle_timeout(now, &mut Through(&self.transport));
    }

    /// Takes the outputs (swapped with `spare`, which must be empty).
    pub fn take_outputs(&self, spare: &mut Outputs) {
        self.core.lock().take_outputs(spare);
    }
}
