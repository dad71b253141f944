//! The driver a service exchange runs on, as `[engine] mode` chose:
//! threaded (an `Exchange` with its reactor thread, shared as is) or inline
//! (an `InlineExchange` behind a lock: the thread that polls the service
//! drives its socket, TLS, codec, core and timers; another thread that
//! submits takes the lock for one encode and write).

use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::gateway::{
    Exchange, ExchangeConfig, GatewayEvent, InlineExchange, LatencyBook, Outputs, Registry,
    RegistryError, Submission, SubmitError,
};
use orderwire_protocol::model::{OrderStatus, Request};
use orderwire_protocol::venue::Venue;
use parking_lot::Mutex;

use super::config::Mode;

/// One exchange on either driver; cloning shares it.
pub enum Driver<V: Venue> {
    /// Its own reactor thread (registered as `Exchange<V>`).
    Threaded(Arc<Exchange<V>>),
    /// Driven by the polling thread (registered as
    /// `Mutex<InlineExchange<V>>`, parking_lot's).
    Inline(Arc<Mutex<InlineExchange<V>>>),
}

impl<V: Venue> Clone for Driver<V> {
    fn clone(&self) -> Self {
        match self {
            Driver::Threaded(e) => Driver::Threaded(e.clone()),
            Driver::Inline(e) => Driver::Inline(e.clone()),
        }
    }
}

impl<V: Venue> Driver<V> {
    /// Starts `venue` on the driver `mode` names and registers it as `name`.
    pub(super) fn create(
        registry: &Registry,
        mode: Mode,
        name: &str,
        venue: V,
        config: ExchangeConfig,
    ) -> Result<Driver<V>, RegistryError> {
        Ok(match mode {
            Mode::Threaded => Driver::Threaded(registry.create(name, || {
                Exchange::start(name, venue, config).map_err(super::text)
            })?),
            Mode::Inline => Driver::Inline(registry.create(name, || {
                InlineExchange::start(name, venue, config)
                    .map(Mutex::new)
                    .map_err(super::text)
            })?),
        })
    }

    /// Takes it out of `registry`.
    pub(super) fn remove_from(&self, registry: &Registry, name: &str) {
        match self {
            Driver::Threaded(_) => drop(registry.remove::<Exchange<V>>(name)),
            Driver::Inline(_) => drop(registry.remove::<Mutex<InlineExchange<V>>>(name)),
        }
    }

    /// The venue's name in events.
    pub fn venue(&self) -> &'static str {
        match self {
            Driver::Threaded(e) => e.gateway().core().lock().venue().name(),
            Driver::Inline(e) => e.lock().core().venue().name(),
        }
    }

    /// Handles what arrived and the timers; `on_event` for each event.
    /// Inline: one turn that does not wait (`poll_once(Some(ZERO))`).
    pub fn poll(&self, on_event: impl FnMut(&GatewayEvent, &Outputs)) -> usize {
        match self {
            Driver::Threaded(e) => e.poll(on_event),
            Driver::Inline(e) => e.lock().poll_once(Some(Duration::ZERO), on_event),
        }
    }

    /// Submits a request.
    pub fn submit(&self, request: Request<'_>) -> Result<Submission, SubmitError> {
        match self {
            Driver::Threaded(e) => e.submit(request),
            Driver::Inline(e) => e.lock().submit(request),
        }
    }

    /// Whether the venue takes orders on this connection.
    pub fn takes_orders(&self) -> bool {
        match self {
            Driver::Threaded(e) => e.gateway().core().lock().capabilities().order_entry,
            Driver::Inline(e) => e.lock().core().capabilities().order_entry,
        }
    }

    /// Its request latencies so far (a copy).
    pub fn latency(&self) -> LatencyBook {
        match self {
            Driver::Threaded(e) => e.gateway().core().lock().latency().clone(),
            Driver::Inline(e) => e.lock().core().latency().clone(),
        }
    }

    /// Its orders in `status`.
    pub fn count_orders(&self, status: OrderStatus) -> usize {
        match self {
            Driver::Threaded(e) => e.gateway().core().lock().count_orders(status),
            Driver::Inline(e) => e.lock().core().count_orders(status),
        }
    }

    /// Closes the connection with a close handshake.
    pub fn shutdown(&self, grace: Duration) {
        match self {
            Driver::Threaded(e) => e.shutdown(grace),
            Driver::Inline(e) => e.lock().shutdown(grace),
        }
    }
}
