//! A gateway on the engine's reactor: one connection, frames through the
//! command queue, the open sequence through the reactor's per-connect hook,
//! and replies handled on whichever user thread calls [`Exchange::poll`].
//!
//! `Exchange` is a driver: it turns engine events into the core's inputs
//! (messages, a drop, a reconnect, the end) and the core's outputs into
//! engine commands. Every decision is the core's.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use orderwire_protocol::model::{AmendOrder, BookEvent, CancelOrders, Level, NewOrder, Request};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{FrameKind, Venue};
use orderwire_protocol::ws::MessageKind;
use parking_lot::Mutex;

use super::callbacks::{Dispatcher, RequestCallback, SubmitOptions};
use super::waiting::{Ticket, WaitError, Waiter, Waits, drain_held, hold, ticket_callback};
use super::{
    ConnectionEvent, GatewayConfig, GatewayCore, GatewayEvent, Outputs, Submission, SubmitError,
};
use super::{Gateway, Transport};
use crate::capture::{CaptureConfig, CaptureSink, CaptureSinkError};
use crate::{
    Clock, Commander, ConnId, ConnectError, ConnectionConfig, Engine, EngineConfig, EngineEvent,
    OpenSequence, OpenSink, StartError,
};

/// What a token fetch failed with: the user's error, kept whole.
pub type TokenFetchError = Box<dyn std::error::Error + Send + Sync>;

/// Fetches a fresh token (e.g. Kraken's `GetWebSocketsToken` over REST). It
/// runs on the polling thread when the connection drops, never on the
/// reactor.
pub type TokenFetch = Arc<dyn Fn() -> Result<Secret, TokenFetchError> + Send + Sync>;

/// How to build an [`Exchange`].
pub struct ExchangeConfig {
    /// The engine (its reactor thread is this exchange's).
    pub engine: EngineConfig,
    /// The connection (URL, TLS, timeouts, reconnect policy).
    pub connection: ConnectionConfig,
    /// The gateway.
    pub gateway: GatewayConfig,
    /// Called once for every request that has no callback of its own, when
    /// it ends, on the polling thread (see [`RequestCallback`]). Setting it
    /// makes the gateway keep every request's text
    /// (`GatewayConfig::report_all_requests`).
    pub on_request: Option<RequestCallback>,
    /// Fetches a fresh token when the connection drops.
    pub token_fetch: Option<TokenFetch>,
    /// Record every input of the core to a capture file (docs/capture.md).
    pub capture: Option<CaptureConfig>,
}

impl ExchangeConfig {
    /// Defaults for a connection to `url`: a reactor thread with the
    /// engine's defaults, the gateway's defaults, no callback.
    pub fn new(url: impl Into<String>) -> ExchangeConfig {
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection: ConnectionConfig::new(url),
            gateway: GatewayConfig::default(),
            on_request: None,
            token_fetch: None,
            capture: None,
        }
    }

    /// With this callback for every request that ends (see
    /// [`ExchangeConfig::on_request`]).
    pub fn on_request(mut self, callback: RequestCallback) -> ExchangeConfig {
        self.on_request = Some(callback);
        self
    }
}

/// The defaults with no URL: set `connection.url` (or use
/// [`ExchangeConfig::new`]) before starting; an empty URL fails to start
/// with `ConnectError::Url`.
impl Default for ExchangeConfig {
    fn default() -> ExchangeConfig {
        ExchangeConfig::new("")
    }
}

/// Frames to the engine's command queue.
pub struct EngineTransport {
    commander: Commander,
    conn: ConnId,
    /// When the core's timers are next due (engine ns; `u64::MAX`: never),
    /// read by the reactor's timer hook on every turn.
    next_timer_ns: Arc<AtomicU64>,
}

/// The core's next deadline as the reactor's hook reads it.
fn timer_ns(next: Option<Instant>) -> u64 {
    next.map_or(u64::MAX, Instant::as_nanos)
}

impl Transport for EngineTransport {
    fn buffer(&self) -> Vec<u8> {
        self.commander.buffer()
    }

    fn send(&self, kind: FrameKind, frame: Vec<u8>) -> Result<(), Vec<u8>> {
        let sent = match kind {
            FrameKind::Binary => self.commander.send(self.conn, MessageKind::Binary, frame),
            FrameKind::Pong => self.commander.pong(self.conn, frame),
            _ => self.commander.send(self.conn, MessageKind::Text, frame),
        };
        sent.map_err(|full| match full.0 {
            crate::Command::Send { data, .. } | crate::Command::Pong { data, .. } => data,
            _ => Vec::new(),
        })
    }

    fn timers_changed(&self, next: Option<Instant>) {
        let at = timer_ns(next);
        let before = self.next_timer_ns.swap(at, Ordering::AcqRel);
        if at < before {
            // The reactor may sleep until the old deadline.
            self.commander.wake();
        }
    }
}

/// The core's timers on the reactor thread (request deadlines, keepalive
/// pings, the subscription watchdog, the dead-man switch, the end of a
/// drain), so they run when no user thread polls. The reactor reads the
/// deadline the last input published (an atomic load a turn) and, once it
/// is due, runs the timers if no user thread holds the core; otherwise it
/// tries again on its next turn. Frames go through the command queue like
/// a submitter's, so the wire keeps request-id order; events wait in the
/// core for the next [`Exchange::poll`].
struct ReactorHooks<V: Venue> {
    /// Set once the exchange is built (the engine starts first).
    gateway: Arc<OnceLock<Weak<Gateway<V, EngineTransport>>>>,
    next_timer_ns: Arc<AtomicU64>,
    /// The open sequence.
    open: OpenHook<V>,
}

impl<V: Venue> crate::ConnHooks for ReactorHooks<V> {
    fn handshake_headers(&mut self, _conn: ConnId, attempt: u32, out: &mut Vec<(String, Secret)>) {
        self.open.handshake_headers(attempt, out);
    }

    fn on_open(&mut self, _conn: ConnId, attempt: u32, out: &mut OpenSink<'_>) {
        self.open.on_open(attempt, out);
        // The connection's timers (keepalive, age, watchdog) start now.
        let next = self.open.core.lock().poll_timeout();
        self.next_timer_ns.store(timer_ns(next), Ordering::Release);
    }

    fn deadline_ns(&self) -> Option<u64> {
        let at = self.next_timer_ns.load(Ordering::Acquire);
        (at != u64::MAX).then_some(at)
    }

    fn on_deadline(&mut self, now_ns: u64) {
        let Some(gateway) = self.gateway.get().and_then(Weak::upgrade) else {
            // The exchange is gone: nothing to time.
            self.next_timer_ns.store(u64::MAX, Ordering::Release);
            return;
        };
        if let Some(cause) = gateway.try_handle_timeout(Instant(now_ns)) {
            let transport = gateway.transport();
            if carry_out(&transport.commander, transport.conn, cause).is_err() {
                gateway.core().lock().note_reconnect_failed();
            }
        }
    }
}

/// The per-connect hooks: they run on the reactor once per (re)connect,
/// never in steady state, and hold the gateway lock for one venue call
/// (docs/ARCHITECTURE.md, "Per-connect hooks on the reactor").
struct OpenHook<V: Venue> {
    core: Arc<Mutex<GatewayCore<V>>>,
    clock: Clock,
    /// Each open-sequence frame passes through this buffer.
    frame: Vec<u8>,
}

impl<V: Venue> OpenSequence for OpenHook<V> {
    fn handshake_headers(&mut self, _attempt: u32, out: &mut Vec<(String, Secret)>) {
        let now = self.clock.now();
        out.extend_from_slice(self.core.lock().handshake_headers(now));
    }

    fn on_open(&mut self, attempt: u32, out: &mut OpenSink<'_>) {
        let now = self.clock.now();
        let mut core = self.core.lock();
        core.on_connected(now, attempt);
        write_open_sequence(|buf| core.poll_open_transmit(buf), &mut self.frame, out);
    }
}

/// The close and reconnect the core asked for: a reconnect, or, after a
/// login the venue refused for good, a close that stays closed.
pub(super) fn carry_out(
    commander: &Commander,
    conn: ConnId,
    cause: orderwire_gateway::RecycleCause,
) -> Result<(), crate::QueueFull> {
    if cause.reconnects() {
        commander.reconnect(conn)
    } else {
        commander.close(conn, CLOSE_FOR_GOOD.0, CLOSE_FOR_GOOD.1)
    }
}

/// The close code and reason after a login refused for good (1008, policy
/// violation: the venue will not take these credentials).
pub(super) const CLOSE_FOR_GOOD: (u16, &str) = (1008, "login refused for good");

/// Tells the core what became of the connection (both drivers): a drop
/// (then a fresh token, when the exchange fetches one), a reconnect, the
/// end. `Connected` only counts the opens (`opens_seen`, the driver's):
/// the core heard it in the open-sequence hook. Messages and rejected commands are each driver's own. Returns a
/// token fetch that failed, to report.
pub(super) fn feed_link_event<V: Venue>(
    core: &mut GatewayCore<V>,
    now: Instant,
    event: EngineEvent,
    opens_seen: &mut u64,
    token_fetch: Option<&TokenFetch>,
) -> Option<ConnectionEvent> {
    match event {
        // Counted here, in event order, so that a drop names its connection
        // even when the reactor has opened the next one already.
        EngineEvent::Connected { .. } => *opens_seen += 1,
        EngineEvent::Disconnected { reason, .. } => {
            core.on_disconnected_from(now, Arc::new(reason), *opens_seen);
            match token_fetch.map(|fetch| fetch()) {
                Some(Ok(token)) => core.venue_mut().set_token(token),
                Some(Err(error)) => {
                    return Some(ConnectionEvent::TokenFetchFailed {
                        error: Arc::from(error),
                    });
                }
                None => {}
            }
        }
        EngineEvent::Reconnecting { attempt, delay, .. } => core.on_reconnecting(attempt, delay),
        EngineEvent::Closed { .. } | EngineEvent::Stopped => core.on_closed(now),
        _ => {}
    }
    None
}

/// What the core calls a message of `kind` (both drivers).
pub(super) fn frame_kind(kind: MessageKind) -> FrameKind {
    match kind {
        MessageKind::Binary => FrameKind::Binary,
        _ => FrameKind::Text,
    }
}

/// Writes the open sequence the core queued (`poll_open`, the core's
/// `poll_open_transmit`) to a new connection, ahead of anything queued for
/// it. Text that is not UTF-8 goes as binary rather than be lost.
pub(super) fn write_open_sequence(
    mut poll_open: impl FnMut(&mut Vec<u8>) -> Option<FrameKind>,
    frame: &mut Vec<u8>,
    out: &mut OpenSink<'_>,
) {
    frame.clear();
    while let Some(kind) = poll_open(frame) {
        match kind {
            FrameKind::Binary => out.binary(frame),
            FrameKind::Pong => out.pong(frame),
            _ => match std::str::from_utf8(frame) {
                Ok(text) => out.text(text),
                Err(_) => out.binary(frame),
            },
        }
        frame.clear();
    }
}

/// The wall clock, read once when an exchange starts: the core's wall time
/// is the engine clock plus this offset from then on.
#[expect(
    clippy::disallowed_methods,
    reason = "the driver's one wall-clock read; the core takes the offset"
)]
pub(super) fn wall_clock_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

struct PollState {
    spare: Outputs,
    /// `Connected` events seen, in order: which connection a drop is of.
    opens_seen: u64,
    dispatcher: Dispatcher,
    /// Events a waiter's poll took, for the next user poll.
    held: Outputs,
}

/// Events a waiter holds at most for the next user poll: a program that
/// only waits and never polls keeps no more (the rest are dropped, with a
/// warning).
pub(super) const HELD_EVENTS: usize = 65_536;

/// Where a poll's events go: to the caller, or held for the next caller
/// (a thread waiting on a request or the connection polls for everyone).
enum Sink<'a> {
    User(&'a mut dyn FnMut(&GatewayEvent, &Outputs)),
    Hold,
}

/// Everything a poll and a wait need, shared by the exchange, its
/// tickets and its dispatcher thread.
pub(super) struct Poller<V: Venue> {
    gateway: Arc<Gateway<V, EngineTransport>>,
    events: crossbeam_channel::Receiver<EngineEvent>,
    clock: Clock,
    poll_state: Mutex<PollState>,
    token_fetch: Option<TokenFetch>,
    /// The venue's secret keys, for redacting request texts.
    secret_fields: &'static [&'static str],
    /// The exchange's own callback, fixed at start: read without the poll
    /// lock, so a callback may submit (and take a ticket) itself.
    on_request: Option<RequestCallback>,
    waits: Waits,
    /// Set by `shutdown`: waits and the dispatcher thread end.
    closed: AtomicBool,
    /// A dispatcher thread polls: waiters sleep on the condvar instead of
    /// polling themselves, so events keep reaching the dispatcher's
    /// handler in order.
    dispatching: AtomicBool,
}

/// A venue gateway with its own reactor thread and connection.
pub struct Exchange<V: Venue> {
    name: String,
    engine: Mutex<Option<Engine>>,
    poller: Arc<Poller<V>>,
    capture: Option<Arc<CaptureSink>>,
}

/// Why an exchange could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The engine did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The connection could not be queued.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The capture file could not be started.
    #[error(transparent)]
    Capture(#[from] CaptureSinkError),
}

impl<V: Venue> Exchange<V> {
    /// Starts a reactor, connects, and returns the exchange. The open
    /// sequence (login, subscriptions) runs on every (re)connect.
    pub fn start(
        name: &str,
        venue: V,
        mut config: ExchangeConfig,
    ) -> Result<Exchange<V>, ExchangeError> {
        if config.on_request.is_some() {
            config.gateway.report_all_requests = true;
        }
        let mut gateway = GatewayCore::new(venue, config.gateway);
        let secret_fields = gateway.capabilities().secret_fields;
        let clock = Clock::new();
        // The venue's wall clock follows the engine clock from here on.
        gateway.set_wall_offset(
            wall_clock_ns().saturating_sub(i64::try_from(clock.now_ns()).unwrap_or(0)),
        );
        // Recording starts before the split (the decoder keeps each
        // message for it) and before the first connection.
        let capture =
            crate::capture::install(&mut gateway, config.capture.as_ref(), clock.now(), name)?;
        // Split before the reactor can open the connection: the decoder
        // must hear of every frame the open sequence writes.
        let decoder = gateway.split_decoder();
        let core = Arc::new(Mutex::new(gateway));
        let next_timer_ns = Arc::new(AtomicU64::new(u64::MAX));
        let built = Arc::new(OnceLock::new());
        let hooks = ReactorHooks {
            gateway: built.clone(),
            next_timer_ns: next_timer_ns.clone(),
            open: OpenHook {
                core: core.clone(),
                clock: clock.clone(),
                frame: Vec::new(),
            },
        };
        let engine = Engine::start_with_hooks(config.engine, clock.clone(), hooks)?;
        // The gateway's open sequence runs through the engine's hooks.
        config.connection.open_sequence = None;
        let conn = engine.connect(config.connection)?;
        let transport = EngineTransport {
            commander: engine.commander(),
            conn,
            next_timer_ns,
        };
        let events = engine.events().clone();
        let gateway = Arc::new(Gateway::with_core(core, decoder, transport));
        // The reactor opens connections ahead of the messages this poller
        // reads; `poll` moves this on at each `Connected` it reads.
        gateway.set_opens_reached(0);
        // Set once, here; the hooks read nothing before it is.
        let _ = built.set(Arc::downgrade(&gateway));
        Ok(Exchange {
            name: name.to_owned(),
            engine: Mutex::new(Some(engine)),
            poller: Arc::new(Poller {
                gateway,
                events,
                clock,
                poll_state: Mutex::new(PollState {
                    spare: Outputs::default(),
                    opens_seen: 0,
                    dispatcher: Dispatcher::default(),
                    held: Outputs::default(),
                }),
                secret_fields,
                on_request: config.on_request,
                token_fetch: config.token_fetch,
                waits: Waits::default(),
                closed: AtomicBool::new(false),
                dispatching: AtomicBool::new(false),
            }),
            capture,
        })
    }

    /// The exchange id.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The engine's clock (the `now` of every latency figure).
    pub fn clock(&self) -> &Clock {
        &self.poller.clock
    }

    fn now(&self) -> Instant {
        self.poller.clock.now()
    }

    /// The gateway (its core: order states, latency histograms).
    pub fn gateway(&self) -> &Gateway<V, EngineTransport> {
        &self.poller.gateway
    }

    /// Submits any request.
    pub fn submit(&self, request: Request<'_>) -> Result<Submission, SubmitError> {
        self.poller.gateway.submit(self.now(), request)
    }

    /// Submits any request with a reserved id or its own callback.
    pub fn submit_with(
        &self,
        request: Request<'_>,
        options: SubmitOptions,
    ) -> Result<Submission, SubmitError> {
        self.poller
            .gateway
            .submit_with(self.now(), request, options)
    }

    /// Reserves the next request id (docs/gateway.md, "Reserved request
    /// ids"): pass it in `SubmitOptions::req_id`.
    pub fn next_request_id(&self) -> u64 {
        self.poller.gateway.next_request_id()
    }

    /// Places an order.
    pub fn place_order(&self, order: &NewOrder) -> Result<Submission, SubmitError> {
        self.submit(Request::Place(order))
    }

    /// Places an order with a reserved id or its own callback.
    pub fn place_order_with(
        &self,
        order: &NewOrder,
        options: SubmitOptions,
    ) -> Result<Submission, SubmitError> {
        self.submit_with(Request::Place(order), options)
    }

    /// Amends an order.
    pub fn amend_order(&self, amend: &AmendOrder) -> Result<Submission, SubmitError> {
        self.submit(Request::Amend(amend))
    }

    /// Amends an order with a reserved id or its own callback.
    pub fn amend_order_with(
        &self,
        amend: &AmendOrder,
        options: SubmitOptions,
    ) -> Result<Submission, SubmitError> {
        self.submit_with(Request::Amend(amend), options)
    }

    /// Cancels orders.
    pub fn cancel_orders(&self, cancel: &CancelOrders) -> Result<Submission, SubmitError> {
        self.submit(Request::Cancel(cancel))
    }

    /// Cancels orders with a reserved id or its own callback.
    pub fn cancel_orders_with(
        &self,
        cancel: &CancelOrders,
        options: SubmitOptions,
    ) -> Result<Submission, SubmitError> {
        self.submit_with(Request::Cancel(cancel), options)
    }

    /// Feeds a book snapshot taken on another connection (Binance's `depth`
    /// reply on the API connection, for this streams connection's diff
    /// depth); the synced book comes out of the next [`Exchange::poll`].
    pub fn feed_book_snapshot(&self, book: &BookEvent, levels: &[Level]) {
        self.poller
            .gateway
            .feed_book_snapshot(self.now(), book, levels);
    }

    /// Replaces the venue token (see [`Venue::set_token`]).
    pub fn set_token(&self, token: Secret) {
        self.poller
            .gateway
            .core()
            .lock()
            .venue_mut()
            .set_token(token);
    }

    /// Handles what the reactor sent and the gateway's timers, then calls
    /// `on_event` for each gateway event and each ended request's callback
    /// (its own, or the exchange's), on this thread, with no lock held
    /// (callbacks may submit). A reply's callback runs while its message is
    /// still in hand, so the callback borrows the raw text. Events a
    /// waiting thread's poll took come first. Only one thread polls at a
    /// time; a concurrent call returns 0. Never blocks. Returns how many
    /// events were delivered.
    pub fn poll(&self, mut on_event: impl FnMut(&GatewayEvent, &Outputs)) -> usize {
        self.poller.poll(None, &mut on_event)
    }

    /// As [`Exchange::poll`], but blocks on the engine's event queue until
    /// something arrives, a gateway timer is due, or `timeout` passes.
    /// While another thread polls, it waits for that poll to end and
    /// returns 0.
    pub fn poll_timeout(
        &self,
        timeout: Duration,
        mut on_event: impl FnMut(&GatewayEvent, &Outputs),
    ) -> usize {
        self.poller.poll(Some(timeout), &mut on_event)
    }

    /// Blocks until the connection is up and its login (where the venue
    /// has one) accepted, or `timeout` passes.
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), WaitError> {
        let gateway = &self.poller.gateway;
        let ready = || gateway.core().lock().is_ready();
        if self.poller.block_for(timeout, &ready) {
            Ok(())
        } else {
            Err(WaitError::Elapsed)
        }
    }

    /// Submits a request and returns a [`Ticket`] to wait on its end. The
    /// exchange's own callback (`ExchangeConfig::on_request`) still runs.
    pub fn submit_ticket(&self, request: Request<'_>) -> Result<Ticket, SubmitError> {
        let end = Arc::new(Mutex::new(None));
        let then = self.poller.on_request.clone();
        let options = SubmitOptions::callback(ticket_callback(end.clone(), then));
        let submission = self.submit_with(request, options)?;
        Ok(Ticket::new(submission, end, Some(self.poller.clone())))
    }

    /// Places an order; the ticket waits on its ack or reject.
    pub fn place(&self, order: &NewOrder) -> Result<Ticket, SubmitError> {
        self.submit_ticket(Request::Place(order))
    }

    /// Amends an order; the ticket waits on the venue's answer.
    pub fn amend(&self, amend: &AmendOrder) -> Result<Ticket, SubmitError> {
        self.submit_ticket(Request::Amend(amend))
    }

    /// Cancels orders; the ticket waits on the venue's answer.
    pub fn cancel(&self, cancel: &CancelOrders) -> Result<Ticket, SubmitError> {
        self.submit_ticket(Request::Cancel(cancel))
    }

    /// Delivers this exchange's events and callbacks on a thread of its
    /// own, as hftpy's callbacks fire: nobody needs to poll. The thread
    /// blocks on the engine's event queue and ends when the exchange shuts
    /// down. Waits and tickets work beside it.
    pub fn spawn_dispatcher(
        &self,
        mut on_event: impl FnMut(&GatewayEvent, &Outputs) + Send + 'static,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let poller = self.poller.clone();
        self.poller.dispatching.store(true, Ordering::Release);
        std::thread::Builder::new()
            .name(format!("{}-dispatch", self.name))
            .spawn(move || {
                while !poller.closed.load(Ordering::Acquire) {
                    poller.poll(Some(Duration::from_millis(100)), &mut on_event);
                }
                poller.dispatching.store(false, Ordering::Release);
            })
    }

    /// Closes the connection with a close handshake, stops the reactor and
    /// joins it. Idempotent.
    pub fn shutdown(&self, grace: Duration) {
        if let Some(mut engine) = self.engine.lock().take() {
            engine.shutdown(grace);
        }
        self.poller.closed.store(true, Ordering::Release);
        self.poller.waits.signal();
        if let Some(capture) = &self.capture {
            // What the core still holds goes first.
            self.poller.gateway.core().lock().flush_recording();
            // Only the first shutdown ends it.
            match capture.end() {
                Ok(_) | Err(CaptureSinkError::Ended) => {}
                Err(error) => tracing::warn!(exchange = %self.name, %error, "capture end"),
            }
        }
    }

    /// The capture this exchange records to, if one is on (its file and
    /// its count of dropped records).
    pub fn capture(&self) -> Option<&CaptureSink> {
        self.capture.as_deref()
    }
}

impl<V: Venue> Poller<V> {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    /// One poll for a caller (`block`: at most this long for the first
    /// event), then a signal to the waiters.
    fn poll(
        &self,
        block: Option<Duration>,
        on_event: &mut dyn FnMut(&GatewayEvent, &Outputs),
    ) -> usize {
        let seen = self.waits.generation();
        let Some(mut state) = self.poll_state.try_lock() else {
            if let Some(block) = block {
                // Another thread polls: wait for its poll to end.
                self.waits.sleep(seen, block);
            }
            return 0;
        };
        let delivered = self.poll_locked(&mut state, block, &mut Sink::User(on_event));
        drop(state);
        self.waits.signal();
        delivered
    }

    /// The poll itself, under the poll lock.
    fn poll_locked(
        &self,
        state: &mut PollState,
        block: Option<Duration>,
        sink: &mut Sink<'_>,
    ) -> usize {
        let mut delivered = match sink {
            Sink::User(on_event) => drain_held(&mut state.held, *on_event),
            Sink::Hold => 0,
        };
        let mut token_failures = Vec::new();
        if let Some(block) = block.filter(|_| delivered == 0 && self.events.is_empty()) {
            // Not past the gateway's next timer: its events come out then.
            let now = self.now();
            let timer = self
                .gateway
                .core()
                .lock()
                .poll_timeout()
                .map_or(block, |at| {
                    Duration::from_nanos(at.as_nanos().saturating_sub(now.as_nanos()))
                });
            if let Ok(event) = self.events.recv_timeout(block.min(timer)) {
                delivered += self.handle_engine_event(state, event, sink, &mut token_failures);
            }
        }
        while let Ok(event) = self.events.try_recv() {
            delivered += self.handle_engine_event(state, event, sink, &mut token_failures);
        }
        let now = self.now();
        let due = self
            .gateway
            .core()
            .lock()
            .poll_timeout()
            .is_some_and(|at| at <= now);
        if due {
            self.gateway.handle_timeout(now);
        }
        for failure in token_failures {
            let event = GatewayEvent::Connection(failure);
            match sink {
                Sink::User(on_event) => on_event(&event, &state.spare),
                Sink::Hold => hold(&mut state.held, &event, &state.spare, HELD_EVENTS),
            }
            delivered += 1;
        }
        delivered + self.deliver(state, None, sink)
    }

    /// One event from the reactor into the core; returns the gateway
    /// events it delivered.
    fn handle_engine_event(
        &self,
        state: &mut PollState,
        event: EngineEvent,
        sink: &mut Sink<'_>,
        token_failures: &mut Vec<ConnectionEvent>,
    ) -> usize {
        let now = self.now();
        match event {
            EngineEvent::Message {
                kind,
                mut data,
                received_at_ns,
                ..
            } => {
                let kind = frame_kind(kind);
                self.gateway
                    .handle_message(now, Instant(received_at_ns), kind, &mut data);
                let delivered = self.deliver(state, Some(&data), sink);
                self.gateway.transport.commander.recycle(data);
                delivered
            }
            EngineEvent::Rejected { command, .. } => {
                if let crate::Command::Send { data, .. } | crate::Command::Pong { data, .. } =
                    command
                {
                    self.gateway.transport.commander.recycle(data);
                }
                0
            }
            link => {
                let mut core = self.gateway.core().lock();
                if let Some(failure) = feed_link_event(
                    &mut core,
                    now,
                    link,
                    &mut state.opens_seen,
                    self.token_fetch.as_ref(),
                ) {
                    token_failures.push(failure);
                }
                self.gateway.set_opens_reached(state.opens_seen);
                // The link changed the core's timers (a drop stops
                // them); the reactor's hook reads the new deadline.
                let next = core.poll_timeout();
                self.gateway.transport.timers_changed(next);
                0
            }
        }
    }

    /// Takes the core's outputs and hands them out: callbacks for the
    /// requests that ended (`response` is the message just handled, if
    /// any), then the events. Asks for a reconnect when a drain is over.
    fn deliver(
        &self,
        state: &mut PollState,
        response: Option<&[u8]>,
        sink: &mut Sink<'_>,
    ) -> usize {
        let PollState {
            spare,
            dispatcher,
            held,
            ..
        } = state;
        let reconnect = {
            let mut core = self.gateway.core().lock();
            core.poll_events(spare);
            core.poll_reconnect()
        };
        if let Some(cause) = reconnect {
            // The drain is over (serverShutdown, or the age limit is near),
            // or the login failed.
            let queued = carry_out(
                &self.gateway.transport.commander,
                self.gateway.transport.conn,
                cause,
            );
            if queued.is_err() {
                spare
                    .events
                    .push(GatewayEvent::Connection(ConnectionEvent::RecycleFailed));
            }
        }
        dispatcher.dispatch(
            &spare.completed,
            response,
            self.secret_fields,
            |tag| self.gateway.take_callback(tag),
            self.on_request.as_ref(),
        );
        match sink {
            Sink::User(on_event) => {
                for event in &spare.events {
                    on_event(event, spare);
                }
            }
            Sink::Hold => {
                for event in &spare.events {
                    hold(held, event, spare, HELD_EVENTS);
                }
            }
        }
        spare.events.len()
    }
}

impl<V: Venue> Waiter for Poller<V> {
    fn block_for(&self, timeout: Duration, done: &dyn Fn() -> bool) -> bool {
        let deadline = self.now() + timeout;
        loop {
            // Read before `done`: a signal between the two wakes the sleep.
            let seen = self.waits.generation();
            if done() {
                return true;
            }
            let left = deadline.saturating_duration_since(self.now());
            if left.is_zero() || self.closed.load(Ordering::Acquire) {
                return done();
            }
            let polling = if self.dispatching.load(Ordering::Acquire) {
                None
            } else {
                self.poll_state.try_lock()
            };
            match polling {
                Some(mut state) => {
                    self.poll_locked(&mut state, Some(left), &mut Sink::Hold);
                    drop(state);
                    self.waits.signal();
                }
                None => self.waits.sleep(seen, left),
            }
        }
    }
}

impl<V: Venue> Drop for Exchange<V> {
    fn drop(&mut self) {
        self.shutdown(Duration::from_millis(200));
    }
}
