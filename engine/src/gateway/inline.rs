//! A gateway on the caller's own thread: the [`InlineEngine`] and the
//! [`GatewayCore`] it drives, with no reactor thread, no queue and no lock.
//!
//! The core lives inside the engine's per-connect hooks ([`CoreHooks`]), so
//! the engine can run the open sequence (handshake headers, login,
//! subscriptions) on a new connection ahead of anything else, and the
//! caller reaches the same core between turns through `&mut self`. A submit
//! encodes, and the frame is written to the socket before it returns; a
//! turn of [`InlineExchange::poll_once`] reads, decodes, runs the core's
//! timers and hands the events to the caller's handler. Everything happens
//! on the thread that owns the exchange, which the caller pins
//! (`EngineConfig::core`).
//!
//! The contract of inline mode: the core's timers (request deadlines,
//! keepalive pings, the subscription watchdog, the dead-man switch) and the
//! engine's (WebSocket pings, the data watchdog, reconnects) run only while
//! the caller turns `poll_once`. A strategy that stops polling stops them;
//! the threaded [`Exchange`](super::Exchange) does not depend on that.

use std::time::Duration;

use orderwire_protocol::model::{AmendOrder, BookEvent, CancelOrders, Level, NewOrder, Request};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{FrameKind, Frames, Venue};
use orderwire_protocol::ws::MessageKind;

use super::callbacks::{CallbackTable, Dispatcher, RequestCallback, SubmitOptions};
use super::exchange::{
    ExchangeConfig, ExchangeError, TokenFetch, feed_link_event, frame_kind, wall_clock_ns,
    write_open_sequence,
};
use super::{GatewayCore, GatewayEvent, Outputs, Submission, SubmitError, Transmits};
use crate::{Clock, Command, ConnHooks, ConnId, EngineEvent, InlineEngine, OpenSink};

/// The gateway core as the inline engine's per-connect hooks: the engine
/// owns it and calls it once per (re)connect; the exchange reaches it
/// between turns.
pub struct CoreHooks<V: Venue> {
    /// Always here, except inside `InlineExchange::submit_with`, which
    /// takes it out while it writes a staged request's frames through the
    /// engine (the loop does not turn then, so no hook runs).
    core: Option<Box<GatewayCore<V>>>,
    clock: Clock,
    frames: Frames,
}

impl<V: Venue> CoreHooks<V> {
    fn core(&self) -> &GatewayCore<V> {
        // Out only within `submit_with`, which holds `&mut` the exchange.
        self.core
            .as_deref()
            .expect("the core is in its hooks between calls")
    }

    fn core_mut(&mut self) -> &mut GatewayCore<V> {
        // As in `core`.
        self.core
            .as_deref_mut()
            .expect("the core is in its hooks between calls")
    }
}

impl<V: Venue> ConnHooks for CoreHooks<V> {
    fn handshake_headers(&mut self, _conn: ConnId, _attempt: u32, out: &mut Vec<(String, Secret)>) {
        let now = self.clock.now();
        if let Some(core) = self.core.as_deref_mut() {
            core.handshake_headers(now, out);
        }
    }

    fn on_open(&mut self, _conn: ConnId, attempt: u32, out: &mut OpenSink<'_>) {
        let now = self.clock.now();
        self.frames.clear();
        if let Some(core) = self.core.as_deref_mut() {
            core.on_connected(now, attempt, &mut self.frames);
        }
        write_open_sequence(&self.frames, out);
    }
}

/// Writes every frame `source` has to connection `conn`, in order, now.
fn write_frames<H: ConnHooks>(
    engine: &mut InlineEngine<H>,
    conn: ConnId,
    source: &mut impl Transmits,
) {
    loop {
        // Only a frame needs a pooled buffer: with nothing to send, the
        // last call costs no pool round trip.
        let mut frame = if source.transmits_pending() > 0 {
            engine.buffer()
        } else {
            Vec::new()
        };
        let Some(kind) = source.poll_transmit(&mut frame) else {
            return;
        };
        match kind {
            FrameKind::Binary => engine.send(conn, MessageKind::Binary, frame),
            FrameKind::Pong => engine.submit(Command::Pong { conn, data: frame }),
            _ => engine.send(conn, MessageKind::Text, frame),
        }
    }
}

/// A venue gateway driven on the caller's thread (see the module docs).
pub struct InlineExchange<V: Venue> {
    name: String,
    engine: InlineEngine<CoreHooks<V>>,
    conn: ConnId,
    clock: Clock,
    spare: Outputs,
    on_request: Option<RequestCallback>,
    /// The callbacks of requests in flight (no lock: one thread).
    callbacks: CallbackTable,
    dispatcher: Dispatcher,
    token_fetch: Option<TokenFetch>,
    /// The venue's secret keys, for redacting request texts.
    secret_fields: &'static [&'static str],
}

impl<V: Venue> std::fmt::Debug for InlineExchange<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineExchange")
            .field("name", &self.name)
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

impl<V: Venue> InlineExchange<V> {
    /// Makes the engine on this thread (pinned when `config.engine.core`
    /// says so) and starts connecting; the open sequence runs on every
    /// (re)connect inside [`InlineExchange::poll_once`].
    pub fn start(
        name: &str,
        venue: V,
        mut config: ExchangeConfig,
    ) -> Result<InlineExchange<V>, ExchangeError> {
        if config.on_request.is_some() {
            config.gateway.report_all_requests = true;
        }
        let core = Box::new(GatewayCore::new(venue, config.gateway));
        let secret_fields = core.capabilities().secret_fields;
        // The hooks hold the core; a per-connection OpenSequence would be
        // called instead of them.
        config.connection.open_sequence = None;
        let hooks = CoreHooks {
            core: Some(core),
            clock: Clock::new(),
            frames: Frames::new(),
        };
        let mut engine = InlineEngine::with_hooks(config.engine, hooks)?;
        // One clock for the engine's timestamps and the core's `now`.
        let clock = engine.clock().clone();
        let hooks = engine.hooks_mut();
        hooks.clock = clock.clone();
        // The venue's wall clock follows the engine clock from here on.
        hooks.core_mut().set_wall_offset(
            wall_clock_ns().saturating_sub(i64::try_from(clock.now_ns()).unwrap_or(0)),
        );
        let conn = engine.connect(config.connection)?;
        Ok(InlineExchange {
            name: name.to_owned(),
            engine,
            conn,
            clock,
            spare: Outputs::default(),
            on_request: config.on_request,
            callbacks: CallbackTable::default(),
            dispatcher: Dispatcher::default(),
            token_fetch: config.token_fetch,
            secret_fields,
        })
    }

    /// The exchange id.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The engine's clock (the `now` of every latency figure).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The core (order states, latency histograms, the venue).
    pub fn core(&self) -> &GatewayCore<V> {
        self.engine.hooks().core()
    }

    /// The core, to change between turns (a venue token, say).
    pub fn core_mut(&mut self) -> &mut GatewayCore<V> {
        self.engine.hooks_mut().core_mut()
    }

    /// The inline engine (for its clock, buffers, or a second connection
    /// sharing its loop).
    pub fn engine(&mut self) -> &mut InlineEngine<CoreHooks<V>> {
        &mut self.engine
    }

    /// Submits any request: encoded, and its frames written to the socket,
    /// before this returns.
    pub fn submit(&mut self, request: Request<'_>) -> Result<Submission, SubmitError> {
        self.submit_with(request, SubmitOptions::default())
    }

    /// Submits any request with a reserved id or its own callback.
    pub fn submit_with(
        &mut self,
        request: Request<'_>,
        options: SubmitOptions,
    ) -> Result<Submission, SubmitError> {
        let now = self.clock.now();
        // The core leaves its hooks while its frames are written through
        // the engine; the request is recorded after the write, when the
        // staged submit drops (docs/gateway.md, "When a submit is
        // recorded").
        let Some(mut core) = self.engine.hooks_mut().core.take() else {
            // Unreachable: only this method takes it, and puts it back.
            return Err(SubmitError::TransportFull);
        };
        let tagged = self.callbacks.tag(options);
        let mut staged = core.submit_staged(now, request, tagged);
        write_frames(&mut self.engine, self.conn, &mut staged);
        let submitted = staged.finish();
        self.engine.hooks_mut().core = Some(core);
        if let (Err(_), Some(tag)) = (&submitted, tagged.tag) {
            // Refused: nothing will report its end.
            self.callbacks.take(tag);
        }
        submitted
    }

    /// Reserves the next request id (docs/gateway.md, "Reserved request
    /// ids").
    pub fn next_request_id(&mut self) -> u64 {
        self.engine.hooks_mut().core_mut().next_request_id()
    }

    /// Places an order.
    pub fn place_order(&mut self, order: &NewOrder) -> Result<Submission, SubmitError> {
        self.submit(Request::Place(order))
    }

    /// Amends an order.
    pub fn amend_order(&mut self, amend: &AmendOrder) -> Result<Submission, SubmitError> {
        self.submit(Request::Amend(amend))
    }

    /// Cancels orders.
    pub fn cancel_orders(&mut self, cancel: &CancelOrders) -> Result<Submission, SubmitError> {
        self.submit(Request::Cancel(cancel))
    }

    /// Feeds a book snapshot taken on another connection; the synced book
    /// comes out of the next [`InlineExchange::poll_once`].
    pub fn feed_book_snapshot(&mut self, book: &BookEvent, levels: &[Level]) {
        let now = self.clock.now();
        self.engine
            .hooks_mut()
            .core_mut()
            .feed_book_snapshot(now, book, levels);
        self.flush();
    }

    /// Replaces the venue token (see [`Venue::set_token`]).
    pub fn set_token(&mut self, token: Secret) {
        self.engine
            .hooks_mut()
            .core_mut()
            .venue_mut()
            .set_token(token);
    }

    /// Writes every frame the core has for the socket, in order, now.
    fn flush(&mut self) {
        let Some(mut core) = self.engine.hooks_mut().core.take() else {
            return;
        };
        write_frames(&mut self.engine, self.conn, core.as_mut());
        self.engine.hooks_mut().core = Some(core);
    }

    /// One turn on this thread: the engine's loop (waiting at most
    /// `timeout` for readiness: `Some(ZERO)` busy-polls, `None` blocks until
    /// something happens or a deadline is due), every message through the
    /// core, the core's due timers; then `on_event` for each gateway event
    /// and each ended request's callback (its own, or the exchange's). A
    /// reply's callback runs while its message is still in hand. Returns
    /// how many events were delivered.
    pub fn poll_once(
        &mut self,
        timeout: Option<Duration>,
        mut on_event: impl FnMut(&GatewayEvent, &Outputs),
    ) -> usize {
        // The core's own next deadline bounds the wait, so its timers fire
        // on time even when the caller blocks.
        let core_due = self.engine.hooks_mut().core_mut().poll_timeout();
        let timeout = match core_due {
            Some(at) => {
                let left = Duration::from_nanos(at.0.saturating_sub(self.clock.now().0));
                Some(timeout.map_or(left, |t| t.min(left)))
            }
            None => timeout,
        };
        self.engine.poll_once(timeout);
        let mut delivered = 0;
        let mut token_failures = Vec::new();
        while let Some(event) = self.engine.next_event() {
            let now = self.clock.now();
            match event {
                EngineEvent::Message {
                    kind,
                    mut data,
                    received_at_ns,
                    ..
                } => {
                    let kind = frame_kind(kind);
                    self.engine.hooks_mut().core_mut().handle_message(
                        now,
                        Instant(received_at_ns),
                        kind,
                        &mut data,
                    );
                    self.flush();
                    delivered += self.deliver(Some(&data), &mut on_event);
                    self.engine.recycle(data);
                }
                EngineEvent::Rejected { command, .. } => {
                    if let Command::Send { data, .. } | Command::Pong { data, .. } = command {
                        self.engine.recycle(data);
                    }
                }
                link => {
                    let core = self.engine.hooks_mut().core_mut();
                    if let Some(failure) =
                        feed_link_event(core, now, link, self.token_fetch.as_ref())
                    {
                        token_failures.push(failure);
                    }
                }
            }
        }
        // Frames the core queued while handling the connection's events.
        self.flush();
        let now = self.clock.now();
        let core = self.engine.hooks_mut().core_mut();
        if core.poll_timeout().is_some_and(|at| at <= now) {
            core.handle_timeout(now);
            self.flush();
        }
        for failure in token_failures {
            on_event(&GatewayEvent::Connection(failure), &self.spare);
            delivered += 1;
        }
        delivered + self.deliver(None, &mut on_event)
    }

    /// Takes the core's outputs and hands them out: callbacks for the
    /// requests that ended (`response` is the message just handled, if
    /// any), then the events. Asks for a reconnect when a drain is over.
    fn deliver(
        &mut self,
        response: Option<&[u8]>,
        on_event: &mut impl FnMut(&GatewayEvent, &Outputs),
    ) -> usize {
        let core = self.engine.hooks_mut().core_mut();
        core.poll_events(&mut self.spare);
        if core.poll_reconnect().is_some() {
            // The drain is over (serverShutdown, or the age limit is near).
            self.engine.submit(Command::Reconnect { conn: self.conn });
        }
        let callbacks = &mut self.callbacks;
        self.dispatcher.dispatch(
            &self.spare.completed,
            response,
            self.secret_fields,
            |tag| callbacks.take(tag),
            self.on_request.as_ref(),
        );
        for event in &self.spare.events {
            on_event(event, &self.spare);
        }
        self.spare.events.len()
    }

    /// Closes the connection with a close handshake, turning the loop on
    /// this thread until it is done or `grace` has passed. What the
    /// shutdown produced (the close, the end) comes out of the next
    /// [`InlineExchange::poll_once`], which returns at once from then on.
    /// Idempotent.
    pub fn shutdown(&mut self, grace: Duration) {
        self.engine.shutdown(grace);
    }
}

impl<V: Venue> Drop for InlineExchange<V> {
    fn drop(&mut self) {
        self.shutdown(Duration::from_millis(200));
    }
}
