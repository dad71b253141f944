//! The per-exchange gateway: request ordering, rate limits, correlation,
//! deadlines, order states and latency, over any [`Venue`].
//!
//! [`Gateway`] is the thread-safe form of [`GatewayCore`] over any
//! [`Transport`]; [`Exchange`] is a gateway on the engine's reactor, and
//! [`Registry`] makes it a create-once, get-anywhere singleton.
//! docs/gateway.md has the guarantees.

mod budget;
mod callbacks;
mod exchange;
mod handle;
mod inline;
mod registry;
mod waiting;

// The sans-IO core is its own crate (orderwire-gateway); its modules keep
// their paths under `orderwire_engine::gateway` for users.
pub use orderwire_gateway::{
    Blame, ConnectionEvent, DataChannel, DeadManSwitch, Decoder, DisconnectReason, ErrorKind,
    GatewayConfig, GatewayCore, GatewayError, GatewayEvent, Outputs, RecycleCause, StagedSubmit,
    Submission, SubmitError, TimerKind, TimerTable, Transmits, WhenDisconnected, WhenLimited,
    callback, capture, latency, orders, ratelimit, replay,
};

pub use budget::RateBudget;
pub use callback::{Completed, Completion, RequestOptions, RequestOutcome, RequestTag};
pub use callbacks::{CallbackTable, Dispatcher, RequestCallback, SubmitOptions, print_requests};
pub use exchange::{Exchange, ExchangeConfig, ExchangeError, TokenFetch, TokenFetchError};
pub use handle::{ExchangeHandle, Registrable};
pub use inline::{ExchangeKey, GroupHooks, InlineExchange, InlineGroup};
pub use latency::{Latency, LatencyBook, RequestSummary, to_hgrm};
pub use orders::{Cause, OrderEvent, OrderState};
pub use registry::{Registry, RegistryError};
pub use waiting::{RequestEnd, Ticket, WaitError, Waiter};

use orderwire_protocol::model::{AmendOrder, CancelOrders, NewOrder, Request};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{FrameKind, Venue};
use parking_lot::Mutex;

/// Where a gateway's frames go, shared by every submitting thread; called
/// with the gateway's lock held, so frames reach it in request-id order.
pub trait Transport: Send + Sync {
    /// An empty buffer (a pooled one) to swap a frame into.
    fn buffer(&self) -> Vec<u8>;
    /// Queues a frame of `kind`; the frame comes back if the queue is full.
    fn send(&self, kind: FrameKind, frame: Vec<u8>) -> Result<(), Vec<u8>>;
    /// The core's next deadline after an input (`None`: nothing is due):
    /// a transport whose loop runs the core's timers (the threaded
    /// [`Exchange`]'s reactor) wakes for it.
    fn timers_changed(&self, next: Option<Instant>) {
        let _ = next;
    }
}

/// After any input: hands the core's frames to the transport and tells it
/// when the core's timers are next due.
fn settle<V: Venue>(core: &mut GatewayCore<V>, transport: &impl Transport) {
    flush(core, transport);
    transport.timers_changed(core.poll_timeout());
}

/// Hands every frame the core has written to the transport, in order; one
/// the transport cannot take goes back to the core, first in line. Drains
/// until `poll_transmit` says there is nothing left, the call that also
/// records the request the frames belong to (after they are on their way).
pub(crate) fn flush(core: &mut impl Transmits, transport: &impl Transport) {
    loop {
        // Only a frame needs a pooled buffer; the last call gets an empty
        // one, which costs nothing.
        let mut frame = if core.transmits_pending() > 0 {
            transport.buffer()
        } else {
            Vec::new()
        };
        let Some(kind) = core.poll_transmit(&mut frame) else {
            break;
        };
        if let Err(frame) = transport.send(kind, frame) {
            core.return_transmit(kind, frame);
            break;
        }
    }
}

/// A [`GatewayCore`] behind a lock, for any number of submitting threads.
///
/// Ordering: the lock is held from taking the request id to handing the
/// frame to the transport's FIFO, so frames reach the transport in the order
/// their ids were taken, and ids strictly increase on the wire.
///
/// Decoding holds no lock a submitter needs: the venue codec is split
/// ([`GatewayCore::split_decoder`]), and a message is decoded under the
/// decoder's own lock, which only the polling thread takes; the core's
/// lock is taken around it twice, briefly, to pass the encoder's notes and
/// to correlate what was decoded. A codec that cannot split is decoded
/// under the core's lock, as before.
pub struct Gateway<V: Venue, T: Transport> {
    core: std::sync::Arc<Mutex<GatewayCore<V>>>,
    /// The decoding half of the codec. Lock order: decoder, then core.
    decoder: Mutex<Option<Decoder<V>>>,
    /// The last connection the message stream has reached (the driver's
    /// count of `Connected` events): the decoder forgets a connection's
    /// state only once its last message is read. `u64::MAX`: every
    /// connection the core opened (a driver that opens connections in
    /// step with its messages).
    opens_reached: std::sync::atomic::AtomicU64,
    /// The callbacks of requests in flight. Its own lock, never held with
    /// the core's nor while a callback runs; taken only by a submit with a
    /// callback and by the poller for each tagged completion.
    callbacks: Mutex<CallbackTable>,
    transport: T,
}

impl<V: Venue, T: Transport> Gateway<V, T> {
    /// A gateway for `venue` writing to `transport`.
    pub fn new(venue: V, config: GatewayConfig, transport: T) -> Gateway<V, T> {
        let mut core = GatewayCore::new(venue, config);
        let decoder = core.split_decoder();
        Gateway::with_core(std::sync::Arc::new(Mutex::new(core)), decoder, transport)
    }

    /// A gateway around a core already shared (with the reactor's hooks)
    /// and the decoder split from it before it first connected.
    pub(crate) fn with_core(
        core: std::sync::Arc<Mutex<GatewayCore<V>>>,
        decoder: Option<Decoder<V>>,
        transport: T,
    ) -> Self {
        Gateway {
            core,
            decoder: Mutex::new(decoder),
            opens_reached: std::sync::atomic::AtomicU64::new(u64::MAX),
            callbacks: Mutex::new(CallbackTable::default()),
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

    /// Submits any request at `now`. Refused with `TransportFull` while
    /// the transport holds back frames already written.
    pub fn submit(&self, now: Instant, request: Request<'_>) -> Result<Submission, SubmitError> {
        self.submit_with(now, request, SubmitOptions::default())
    }

    /// Submits a request with a reserved id or its own callback.
    pub fn submit_with(
        &self,
        now: Instant,
        request: Request<'_>,
        options: SubmitOptions,
    ) -> Result<Submission, SubmitError> {
        let tagged = match options.callback {
            Some(_) => self.callbacks.lock().tag(options),
            None => RequestOptions {
                req_id: options.req_id,
                tag: None,
            },
        };
        let submitted = self.submit_tagged(now, request, tagged);
        if let (Err(_), Some(tag)) = (&submitted, tagged.tag) {
            // Refused: nothing will report its end.
            self.callbacks.lock().take(tag);
        }
        submitted
    }

    fn submit_tagged(
        &self,
        now: Instant,
        request: Request<'_>,
        options: RequestOptions,
    ) -> Result<Submission, SubmitError> {
        let mut core = self.core.lock();
        flush(&mut *core, &self.transport);
        if core.transmits_pending() > 0 {
            return Err(SubmitError::TransportFull);
        }
        // Recorded when `staged` drops, after its frames are handed over.
        let mut staged = core.submit_staged(now, request, options);
        flush(&mut staged, &self.transport);
        let submitted = staged.finish();
        settle(&mut core, &self.transport);
        submitted
    }

    /// How many callbacks wait for their request's end.
    pub fn callbacks_waiting(&self) -> usize {
        self.callbacks.lock().len()
    }

    /// The callback of a tagged request that ended (the poller's side of
    /// the table).
    pub fn take_callback(&self, tag: RequestTag) -> Option<RequestCallback> {
        self.callbacks.lock().take(tag)
    }

    /// Reserves the next request id (see [`GatewayCore::next_request_id`]).
    pub fn next_request_id(&self) -> u64 {
        self.core.lock().next_request_id()
    }

    /// Places an order.
    pub fn place_order(&self, now: Instant, order: &NewOrder) -> Result<Submission, SubmitError> {
        self.submit(now, Request::Place(order))
    }

    /// Amends an order.
    pub fn amend_order(&self, now: Instant, amend: &AmendOrder) -> Result<Submission, SubmitError> {
        self.submit(now, Request::Amend(amend))
    }

    /// Cancels orders.
    pub fn cancel_orders(
        &self,
        now: Instant,
        cancel: &CancelOrders,
    ) -> Result<Submission, SubmitError> {
        self.submit(now, Request::Cancel(cancel))
    }

    /// Feeds one inbound message of `kind`. With a split codec the decode
    /// runs under the decoder's lock only; submitters wait for the core's
    /// two short holds at most.
    pub fn handle_message(
        &self,
        now: Instant,
        received_at: Instant,
        kind: FrameKind,
        message: &mut [u8],
    ) {
        let mut decoder = self.decoder.lock();
        let Some(decoder) = decoder.as_mut() else {
            let mut core = self.core.lock();
            core.handle_message(now, received_at, kind, message);
            settle(&mut core, &self.transport);
            return;
        };
        self.core.lock().pass_notes(decoder, self.reached());
        decoder.decode(now, kind, message);
        let mut core = self.core.lock();
        core.handle_decoded(now, received_at, decoder);
        settle(&mut core, &self.transport);
    }

    /// Feeds a book snapshot taken on another connection.
    pub fn feed_book_snapshot(
        &self,
        now: Instant,
        book: &orderwire_protocol::model::BookEvent,
        levels: &[orderwire_protocol::model::Level],
    ) {
        let mut decoder = self.decoder.lock();
        let Some(decoder) = decoder.as_mut() else {
            let mut core = self.core.lock();
            core.feed_book_snapshot(now, book, levels);
            settle(&mut core, &self.transport);
            return;
        };
        self.core.lock().pass_notes(decoder, self.reached());
        decoder.feed_book_snapshot(now, book, levels);
        let mut core = self.core.lock();
        core.handle_decoded(now, now, decoder);
        settle(&mut core, &self.transport);
    }

    /// Reads the half of the codec that decodes (its books, for example):
    /// the decoder's when the codec is split, else the core's.
    pub fn with_decoding_venue<R>(&self, read: impl FnOnce(&V) -> R) -> R {
        let decoder = self.decoder.lock();
        match decoder.as_ref() {
            Some(decoder) => read(decoder.venue()),
            None => read(self.core.lock().venue()),
        }
    }

    /// Whether messages are decoded outside the core's lock (the codec
    /// split).
    pub fn decodes_apart(&self) -> bool {
        self.decoder.lock().is_some()
    }

    /// Tells the gateway how many connections its message stream has
    /// reached, for a driver whose reactor opens a connection (and runs its
    /// open sequence) before the poller has read the last one's messages.
    pub fn set_opens_reached(&self, opens: u64) {
        self.opens_reached
            .store(opens, std::sync::atomic::Ordering::Release);
    }

    fn reached(&self) -> Option<u64> {
        match self
            .opens_reached
            .load(std::sync::atomic::Ordering::Acquire)
        {
            u64::MAX => None,
            opens => Some(opens),
        }
    }

    /// Runs the core's timers (a spurious call is a no-op).
    pub fn handle_timeout(&self, now: Instant) {
        let mut core = self.core.lock();
        core.handle_timeout(now);
        settle(&mut core, &self.transport);
    }

    /// Runs the core's timers unless another thread holds the core (then
    /// nothing: the caller tries again); returns the reconnect the core
    /// wants, if the timers ended a drain. The reactor's timer hook.
    pub fn try_handle_timeout(&self, now: Instant) -> Option<RecycleCause> {
        let mut core = self.core.try_lock()?;
        core.handle_timeout(now);
        settle(&mut core, &self.transport);
        core.poll_reconnect()
    }

    /// Takes the events (swapped with `spare`, whose request texts the core
    /// takes back for reuse).
    pub fn poll_events(&self, spare: &mut Outputs) {
        self.core.lock().poll_events(spare);
    }
}
