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
use orderwire_protocol::venue::{Capabilities, Venue};
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
    pub(crate) fn create(
        registry: &Registry,
        mode: Mode,
        name: &str,
        venue: V,
        config: ExchangeConfig,
    ) -> Result<Driver<V>, RegistryError> {
        Ok(match mode {
            Mode::Threaded => {
                Driver::Threaded(registry.create(name, || Exchange::start(name, venue, config))?)
            }
            Mode::Inline => Driver::Inline(registry.create(name, || {
                InlineExchange::start(name, venue, config).map(Mutex::new)
            })?),
        })
    }

    /// The exchange's name (its registry name).
    pub fn name(&self) -> String {
        match self {
            Driver::Threaded(e) => e.name().to_owned(),
            Driver::Inline(e) => e.lock().name().to_owned(),
        }
    }

    /// Takes it out of `registry`.
    pub fn remove_from(&self, registry: &Registry, name: &str) {
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

    /// What the venue offers on this connection.
    pub fn capabilities(&self) -> Capabilities {
        match self {
            Driver::Threaded(e) => *e.gateway().core().lock().capabilities(),
            Driver::Inline(e) => *e.lock().core().capabilities(),
        }
    }

    /// Whether the venue takes orders on this connection.
    pub fn takes_orders(&self) -> bool {
        self.capabilities().order_entry
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

    /// Reads the codec that decodes (the books live there): the decoder's
    /// on a threaded exchange, the one codec of an inline one.
    pub fn with_decoding_venue<R>(&self, read: impl FnOnce(&V) -> R) -> R {
        match self {
            Driver::Threaded(e) => e.gateway().with_decoding_venue(read),
            Driver::Inline(e) => read(e.lock().core().venue()),
        }
    }

    /// Feeds a book snapshot fetched elsewhere (Binance's `depth`) to the
    /// gateway's book.
    pub fn feed_book_snapshot(
        &self,
        book: &orderwire_protocol::model::BookEvent,
        levels: &[orderwire_protocol::model::Level],
    ) {
        match self {
            Driver::Threaded(e) => e.feed_book_snapshot(book, levels),
            Driver::Inline(e) => e.lock().feed_book_snapshot(book, levels),
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

/// An exchange of any venue on either driver: what the service, the demo
/// driver and the CLI use, so that none of them names a venue. The venue's
/// own type is one downcast away ([`AnyExchange::as_any`] to
/// `Driver<V>`) for what only that venue offers.
pub trait AnyExchange: Send + Sync {
    /// The venue's name in events.
    fn venue(&self) -> &'static str;
    /// The exchange's own name.
    fn name(&self) -> String;
    /// What the venue offers on this connection.
    fn capabilities(&self) -> Capabilities;
    /// See [`Driver::poll`].
    fn poll(&self, on_event: &mut dyn FnMut(&GatewayEvent, &Outputs)) -> usize;
    /// See [`Driver::submit`].
    fn submit(&self, request: Request<'_>) -> Result<Submission, SubmitError>;
    /// Its request latencies so far (a copy).
    fn latency(&self) -> LatencyBook;
    /// Its orders in `status`.
    fn count_orders(&self, status: OrderStatus) -> usize;
    /// Closes the connection with a close handshake.
    fn shutdown(&self, grace: Duration);
    /// Takes it out of `registry`, where it is registered as `name`.
    fn remove_from(&self, registry: &Registry, name: &str);
    /// The `Driver<V>` it is.
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<V: Venue> AnyExchange for Driver<V> {
    fn venue(&self) -> &'static str {
        Driver::venue(self)
    }

    fn name(&self) -> String {
        Driver::name(self)
    }

    fn capabilities(&self) -> Capabilities {
        Driver::capabilities(self)
    }

    fn poll(&self, on_event: &mut dyn FnMut(&GatewayEvent, &Outputs)) -> usize {
        Driver::poll(self, on_event)
    }

    fn submit(&self, request: Request<'_>) -> Result<Submission, SubmitError> {
        Driver::submit(self, request)
    }

    fn latency(&self) -> LatencyBook {
        Driver::latency(self)
    }

    fn count_orders(&self, status: OrderStatus) -> usize {
        Driver::count_orders(self, status)
    }

    fn shutdown(&self, grace: Duration) {
        Driver::shutdown(self, grace);
    }

    fn remove_from(&self, registry: &Registry, name: &str) {
        Driver::remove_from(self, registry, name);
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
