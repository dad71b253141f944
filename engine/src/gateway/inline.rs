//! Gateways on the caller's own thread: the [`InlineEngine`] and the
//! [`GatewayCore`]s it drives, with no reactor thread, no queue and no lock.
//!
//! An [`InlineGroup`] is one engine (one mio `Poll`) and any number of
//! exchanges, each with its own core and connection, of any venue: a
//! strategy on one pinned thread trades on Kraken and Binance through one
//! `poll_once`. An [`InlineExchange`] is a group of one, typed.
//!
//! The cores live inside the engine's per-connect hooks ([`GroupHooks`],
//! found by connection), so the engine can run each one's open sequence
//! (handshake headers, login, subscriptions) on a new connection ahead of
//! anything else, and the caller reaches the same core between turns
//! through `&mut self`. A submit encodes, and the frame is written to the
//! socket before it returns; a turn of [`InlineGroup::poll_once`] reads,
//! decodes, runs every core's timers and hands the events to the caller's
//! handler with the exchange they came from. Everything happens on the
//! thread that owns the group, which the caller pins (`EngineConfig::core`).
//!
//! The contract of inline mode: the core's timers (request deadlines,
//! keepalive pings, the subscription watchdog, the dead-man switch) and the
//! engine's (WebSocket pings, the data watchdog, reconnects) run only while
//! the caller turns `poll_once`. A strategy that stops polling stops them;
//! the threaded [`Exchange`](super::Exchange) does not depend on that.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use orderwire_protocol::model::{AmendOrder, BookEvent, CancelOrders, Level, NewOrder, Request};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{FrameKind, Venue};
use orderwire_protocol::ws::MessageKind;

use super::callbacks::{CallbackTable, Dispatcher, RequestCallback, SubmitOptions};
use super::exchange::{
    ExchangeConfig, ExchangeError, HELD_EVENTS, TokenFetch, feed_link_event, frame_kind,
    wall_clock_ns, write_open_sequence,
};
use super::waiting::{RequestEnd, Ticket, WaitError, drain_held, hold, ticket_callback};
use super::{
    ConnectionEvent, GatewayCore, GatewayEvent, Outputs, RecycleCause, RequestOptions, Submission,
    SubmitError, Transmits,
};
use crate::{
    Clock, Command, ConnHooks, ConnId, EngineConfig, EngineEvent, InlineEngine, OpenSink,
    StartError,
};

/// One exchange's core as the group drives it, its venue type erased so
/// that one group holds cores of different venues. Implemented by every
/// [`GatewayCore`].
trait Member: Send {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn handshake_headers(&mut self, now: Instant) -> &[(String, Secret)];
    fn on_connected(&mut self, now: Instant, attempt: u32);
    fn poll_open_transmit(&mut self, buf: &mut Vec<u8>) -> Option<FrameKind>;
    fn handle_message(&mut self, now: Instant, at: Instant, kind: FrameKind, data: &mut [u8]);
    fn link_event(
        &mut self,
        now: Instant,
        event: EngineEvent,
        opens_seen: &mut u64,
        token_fetch: Option<&TokenFetch>,
    ) -> Option<ConnectionEvent>;
    fn poll_timeout(&mut self) -> Option<Instant>;
    fn handle_timeout(&mut self, now: Instant);
    fn poll_reconnect(&mut self) -> Option<RecycleCause>;
    fn poll_events(&mut self, spare: &mut Outputs);
    fn flush_recording(&mut self);
    fn transmits(&mut self) -> &mut dyn Transmits;
    /// Submits staged: `write` takes the frames, then the request is
    /// recorded (docs/gateway.md, "When a submit is recorded").
    fn submit(
        &mut self,
        now: Instant,
        request: Request<'_>,
        options: RequestOptions,
        write: &mut dyn FnMut(&mut dyn Transmits),
    ) -> Result<Submission, SubmitError>;
}

impl<V: Venue + 'static> Member for GatewayCore<V> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn handshake_headers(&mut self, now: Instant) -> &[(String, Secret)] {
        GatewayCore::handshake_headers(self, now)
    }
    fn on_connected(&mut self, now: Instant, attempt: u32) {
        GatewayCore::on_connected(self, now, attempt);
    }
    fn poll_open_transmit(&mut self, buf: &mut Vec<u8>) -> Option<FrameKind> {
        GatewayCore::poll_open_transmit(self, buf)
    }
    fn handle_message(&mut self, now: Instant, at: Instant, kind: FrameKind, data: &mut [u8]) {
        GatewayCore::handle_message(self, now, at, kind, data);
    }
    fn link_event(
        &mut self,
        now: Instant,
        event: EngineEvent,
        opens_seen: &mut u64,
        token_fetch: Option<&TokenFetch>,
    ) -> Option<ConnectionEvent> {
        feed_link_event(self, now, event, opens_seen, token_fetch)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        GatewayCore::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        GatewayCore::handle_timeout(self, now);
    }
    fn poll_reconnect(&mut self) -> Option<RecycleCause> {
        GatewayCore::poll_reconnect(self)
    }
    fn poll_events(&mut self, spare: &mut Outputs) {
        GatewayCore::poll_events(self, spare);
    }
    fn flush_recording(&mut self) {
        GatewayCore::flush_recording(self);
    }
    fn transmits(&mut self) -> &mut dyn Transmits {
        self
    }
    fn submit(
        &mut self,
        now: Instant,
        request: Request<'_>,
        options: RequestOptions,
        write: &mut dyn FnMut(&mut dyn Transmits),
    ) -> Result<Submission, SubmitError> {
        let mut staged = self.submit_staged(now, request, options);
        write(&mut staged);
        staged.finish()
    }
}

/// The group's cores as the inline engine's per-connect hooks: the engine
/// owns them and calls the one whose connection (re)connects; the group
/// reaches them between turns.
pub struct GroupHooks {
    /// By member index. A core is out of its slot only inside a group
    /// method that writes its frames through the engine (the loop does not
    /// turn then, so no hook runs).
    members: Vec<Option<Box<dyn Member>>>,
    /// Each member's connection, by member index.
    conns: Vec<ConnId>,
    clock: Clock,
    /// Each open-sequence frame passes through this buffer.
    frame: Vec<u8>,
}

impl std::fmt::Debug for GroupHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupHooks")
            .field("conns", &self.conns)
            .finish_non_exhaustive()
    }
}

impl GroupHooks {
    /// The member on `conn` (a group holds a few: a scan is the cheapest).
    fn member_on(&mut self, conn: ConnId) -> Option<&mut (dyn Member + 'static)> {
        let index = self.conns.iter().position(|&c| c == conn)?;
        self.members.get_mut(index)?.as_deref_mut()
    }
}

impl ConnHooks for GroupHooks {
    fn handshake_headers(&mut self, conn: ConnId, _attempt: u32, out: &mut Vec<(String, Secret)>) {
        let now = self.clock.now();
        if let Some(member) = self.member_on(conn) {
            out.extend_from_slice(member.handshake_headers(now));
        }
    }

    fn on_open(&mut self, conn: ConnId, attempt: u32, out: &mut OpenSink<'_>) {
        let now = self.clock.now();
        let mut frame = std::mem::take(&mut self.frame);
        if let Some(member) = self.member_on(conn) {
            member.on_connected(now, attempt);
            write_open_sequence(|buf| member.poll_open_transmit(buf), &mut frame, out);
        }
        self.frame = frame;
    }
}

/// Writes every frame `source` has to connection `conn`, in order, now.
fn write_frames<H: ConnHooks>(
    engine: &mut InlineEngine<H>,
    conn: ConnId,
    source: &mut (impl Transmits + ?Sized),
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

/// Numbers the groups, so that a key names its own.
static GROUPS: AtomicU64 = AtomicU64::new(1);

/// A typed handle on one exchange of an [`InlineGroup`]: which group, which
/// member, and its venue, so that [`InlineGroup::core`] gives the venue's
/// core. A group's methods panic on a key of another group (a misuse, like
/// an index out of bounds).
pub struct ExchangeKey<V> {
    group: u64,
    index: usize,
    venue: PhantomData<fn() -> V>,
}

impl<V> Clone for ExchangeKey<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for ExchangeKey<V> {}

impl<V> std::fmt::Debug for ExchangeKey<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExchangeKey({})", self.index)
    }
}

impl<V> ExchangeKey<V> {
    /// The member index, as [`InlineGroup::poll_once`] names the exchange
    /// an event came from.
    pub fn index(self) -> usize {
        self.index
    }
}

/// What the group keeps per exchange outside the engine's hooks.
struct Slot {
    name: String,
    conn: ConnId,
    on_request: Option<RequestCallback>,
    /// The callbacks of requests in flight (no lock: one thread).
    callbacks: CallbackTable,
    token_fetch: Option<TokenFetch>,
    /// `Connected` events seen, in order: which connection a drop is of.
    opens_seen: u64,
    /// The venue's secret keys, for redacting request texts.
    secret_fields: &'static [&'static str],
    /// The capture the core records to, if one is on.
    capture: Option<Arc<crate::capture::CaptureSink>>,
}

/// Several exchanges on one inline engine: one mio `Poll`, one thread (see
/// the module docs).
pub struct InlineGroup {
    /// This group's number (in its keys).
    id: u64,
    engine: InlineEngine<GroupHooks>,
    clock: Clock,
    slots: Vec<Slot>,
    spare: Outputs,
    dispatcher: Dispatcher,
}

impl std::fmt::Debug for InlineGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.slots.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("InlineGroup")
            .field("exchanges", &names)
            .finish_non_exhaustive()
    }
}

impl InlineGroup {
    /// Makes the engine on this thread (pinned when `config.core` says so);
    /// exchanges join with [`InlineGroup::add`].
    pub fn new(config: EngineConfig) -> Result<InlineGroup, StartError> {
        let hooks = GroupHooks {
            members: Vec::new(),
            conns: Vec::new(),
            clock: Clock::new(),
            frame: Vec::new(),
        };
        let mut engine = InlineEngine::with_hooks(config, hooks)?;
        // One clock for the engine's timestamps and every core's `now`.
        let clock = engine.clock().clone();
        engine.hooks_mut().clock = clock.clone();
        Ok(InlineGroup {
            id: GROUPS.fetch_add(1, Ordering::Relaxed),
            engine,
            clock,
            slots: Vec::new(),
            spare: Outputs::default(),
            dispatcher: Dispatcher::default(),
        })
    }

    /// Adds an exchange and starts connecting it; its open sequence runs on
    /// every (re)connect inside [`InlineGroup::poll_once`]. The group's
    /// engine serves it: `config.engine` is not used.
    pub fn add<V: Venue + 'static>(
        &mut self,
        name: &str,
        venue: V,
        mut config: ExchangeConfig,
    ) -> Result<ExchangeKey<V>, ExchangeError> {
        if config.on_request.is_some() {
            config.gateway.report_all_requests = true;
        }
        let mut core = Box::new(GatewayCore::new(venue, config.gateway));
        let secret_fields = core.capabilities().secret_fields;
        // The venue's wall clock follows the engine clock from here on.
        core.set_wall_offset(
            wall_clock_ns().saturating_sub(i64::try_from(self.clock.now_ns()).unwrap_or(0)),
        );
        let capture =
            crate::capture::install(&mut core, config.capture.as_ref(), self.clock.now(), name)?;
        // The hooks hold the core; a per-connection OpenSequence would be
        // called instead of them.
        config.connection.open_sequence = None;
        // Registered under the id the connection will get, before it starts.
        let conn = self.engine.next_conn();
        let hooks = self.engine.hooks_mut();
        hooks.members.push(Some(core));
        hooks.conns.push(conn);
        if let Err(error) = self.engine.connect(config.connection) {
            let hooks = self.engine.hooks_mut();
            hooks.members.pop();
            hooks.conns.pop();
            return Err(error.into());
        }
        self.slots.push(Slot {
            name: name.to_owned(),
            conn,
            on_request: config.on_request,
            callbacks: CallbackTable::default(),
            token_fetch: config.token_fetch,
            opens_seen: 0,
            secret_fields,
            capture,
        });
        Ok(ExchangeKey {
            group: self.id,
            index: self.slots.len() - 1,
            venue: PhantomData,
        })
    }

    /// How many exchanges the group drives.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether it drives none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The name of exchange `index`.
    pub fn name(&self, index: usize) -> Option<&str> {
        self.slots.get(index).map(|slot| slot.name.as_str())
    }

    /// The engine's clock (the `now` of every latency figure).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The inline engine (its clock and buffers). Events of a connection
    /// the group did not make are dropped by `poll_once`.
    pub fn engine(&mut self) -> &mut InlineEngine<GroupHooks> {
        &mut self.engine
    }

    fn member(&self, index: usize) -> &dyn Member {
        // In its slot between calls: only `with_member` takes it out, and
        // puts it back before it returns.
        self.engine.hooks().members[index]
            .as_deref()
            .expect("a core is in its hooks between calls")
    }

    fn member_mut(&mut self, index: usize) -> &mut (dyn Member + 'static) {
        // As in `member`.
        self.engine.hooks_mut().members[index]
            .as_deref_mut()
            .expect("a core is in its hooks between calls")
    }

    /// Runs `f` on member `index` with the engine free to write its frames.
    fn with_member<R>(
        &mut self,
        index: usize,
        f: impl FnOnce(&mut dyn Member, &mut InlineEngine<GroupHooks>, ConnId) -> R,
    ) -> Option<R> {
        let conn = self.slots.get(index)?.conn;
        let mut member = self.engine.hooks_mut().members.get_mut(index)?.take()?;
        let result = f(member.as_mut(), &mut self.engine, conn);
        self.engine.hooks_mut().members[index] = Some(member);
        Some(result)
    }

    /// The member index of `key`, checked to be this group's.
    fn own<V>(&self, key: ExchangeKey<V>) -> usize {
        assert_eq!(key.group, self.id, "an exchange key of another group");
        key.index
    }

    /// Exchange `key`'s own callback for every request
    /// (`ExchangeConfig::on_request`).
    pub fn on_request<V>(&self, key: ExchangeKey<V>) -> Option<RequestCallback> {
        self.slots
            .get(self.own(key))
            .and_then(|slot| slot.on_request.clone())
    }

    /// Exchange `key`'s core (order states, latency histograms, the venue).
    pub fn core<V: Venue + 'static>(&self, key: ExchangeKey<V>) -> &GatewayCore<V> {
        // A key is only made by `add`, with the venue it added.
        self.member(self.own(key))
            .as_any()
            .downcast_ref()
            .expect("an exchange key names its venue")
    }

    /// Exchange `key`'s core, to change between turns (a venue token, say).
    pub fn core_mut<V: Venue + 'static>(&mut self, key: ExchangeKey<V>) -> &mut GatewayCore<V> {
        // As in `core`.
        let index = self.own(key);
        self.member_mut(index)
            .as_any_mut()
            .downcast_mut()
            .expect("an exchange key names its venue")
    }

    /// Submits a request on exchange `key`, with a reserved id or its own
    /// callback: encoded, and its frames written to the socket, before this
    /// returns.
    pub fn submit_with<V>(
        &mut self,
        key: ExchangeKey<V>,
        request: Request<'_>,
        options: SubmitOptions,
    ) -> Result<Submission, SubmitError> {
        let now = self.clock.now();
        let index = self.own(key);
        let tagged = self.slots[index].callbacks.tag(options);
        let submitted = self
            .with_member(index, |member, engine, conn| {
                member.submit(now, request, tagged, &mut |frames| {
                    write_frames(engine, conn, frames);
                })
            })
            // Unreachable: the key came from `add`, and the core is home.
            .unwrap_or(Err(SubmitError::TransportFull));
        if let (Err(_), Some(tag)) = (&submitted, tagged.tag) {
            // Refused: nothing will report its end.
            self.slots[index].callbacks.take(tag);
        }
        submitted
    }

    /// Submits a request on exchange `key`.
    pub fn submit<V>(
        &mut self,
        key: ExchangeKey<V>,
        request: Request<'_>,
    ) -> Result<Submission, SubmitError> {
        self.submit_with(key, request, SubmitOptions::default())
    }

    /// Writes every frame member `index` has for its socket, in order, now.
    fn flush(&mut self, index: usize) {
        self.with_member(index, |member, engine, conn| {
            write_frames(engine, conn, member.transmits());
        });
    }

    /// Feeds exchange `key` a book snapshot taken on another connection;
    /// the synced book comes out of the next [`InlineGroup::poll_once`].
    pub fn feed_book_snapshot<V: Venue + 'static>(
        &mut self,
        key: ExchangeKey<V>,
        book: &BookEvent,
        levels: &[Level],
    ) {
        let now = self.clock.now();
        self.core_mut(key).feed_book_snapshot(now, book, levels);
        self.flush(key.index);
    }

    /// One turn for every exchange: the engine's I/O (waiting up to
    /// `timeout` for readiness, bounded by the earliest core deadline:
    /// `Some(ZERO)` busy-polls, `None` blocks until something happens or a
    /// deadline is due), every message through its exchange's core, every
    /// core's due timers; then `on_event(index, event, outputs)` for each
    /// gateway event (`index` as [`ExchangeKey::index`]) and each ended
    /// request's callback. A reply's callback runs while its message is
    /// still in hand. Returns how many events were delivered.
    pub fn poll_once(
        &mut self,
        timeout: Option<Duration>,
        mut on_event: impl FnMut(usize, &GatewayEvent, &Outputs),
    ) -> usize {
        // The cores' own next deadline bounds the wait, so their timers fire
        // on time even when the caller blocks.
        let core_due = (0..self.slots.len())
            .filter_map(|index| self.member_mut(index).poll_timeout())
            .min();
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
            let conn = match &event {
                EngineEvent::Message { conn, .. }
                | EngineEvent::Connected { conn, .. }
                | EngineEvent::Disconnected { conn, .. }
                | EngineEvent::Reconnecting { conn, .. }
                | EngineEvent::Closed { conn } => Some(*conn),
                _ => None,
            };
            let index = conn.and_then(|c| self.slots.iter().position(|s| s.conn == c));
            match (event, index) {
                (
                    EngineEvent::Message {
                        kind,
                        mut data,
                        received_at_ns,
                        ..
                    },
                    Some(index),
                ) => {
                    let kind = frame_kind(kind);
                    self.member_mut(index).handle_message(
                        now,
                        Instant(received_at_ns),
                        kind,
                        &mut data,
                    );
                    self.flush(index);
                    delivered += self.deliver(index, Some(&data), &mut on_event);
                    self.engine.recycle(data);
                }
                (EngineEvent::Rejected { command, .. }, _) => {
                    if let Command::Send { data, .. } | Command::Pong { data, .. } = command {
                        self.engine.recycle(data);
                    }
                }
                (EngineEvent::Stopped, _) => {
                    for index in 0..self.slots.len() {
                        self.link_event(index, now, EngineEvent::Stopped, &mut token_failures);
                    }
                }
                (link, Some(index)) => self.link_event(index, now, link, &mut token_failures),
                // A connection the group did not make: dropped, its buffer
                // back in the pool.
                (EngineEvent::Message { data, .. }, None) => self.engine.recycle(data),
                (_, None) => {}
            }
        }
        let now = self.clock.now();
        for index in 0..self.slots.len() {
            // Frames the core queued while handling its connection's events.
            self.flush(index);
            let member = self.member_mut(index);
            if member.poll_timeout().is_some_and(|at| at <= now) {
                member.handle_timeout(now);
                self.flush(index);
            }
        }
        for (index, failure) in token_failures {
            on_event(index, &GatewayEvent::Connection(failure), &self.spare);
            delivered += 1;
        }
        for index in 0..self.slots.len() {
            delivered += self.deliver(index, None, &mut on_event);
        }
        delivered
    }

    fn link_event(
        &mut self,
        index: usize,
        now: Instant,
        event: EngineEvent,
        token_failures: &mut Vec<(usize, ConnectionEvent)>,
    ) {
        let token_fetch = self.slots[index].token_fetch.clone();
        let mut opens_seen = self.slots[index].opens_seen;
        let failure =
            self.member_mut(index)
                .link_event(now, event, &mut opens_seen, token_fetch.as_ref());
        self.slots[index].opens_seen = opens_seen;
        if let Some(failure) = failure {
            token_failures.push((index, failure));
        }
    }

    /// Takes member `index`'s outputs and hands them out: callbacks for
    /// the requests that ended (`response` is the message just handled, if
    /// any), then the events. Asks for a reconnect when a drain is over.
    fn deliver(
        &mut self,
        index: usize,
        response: Option<&[u8]>,
        on_event: &mut impl FnMut(usize, &GatewayEvent, &Outputs),
    ) -> usize {
        let mut spare = std::mem::take(&mut self.spare);
        let member = self.member_mut(index);
        member.poll_events(&mut spare);
        let reconnect = member.poll_reconnect();
        if let Some(cause) = reconnect {
            // The drain is over (serverShutdown, or the age limit is near),
            // or the login failed.
            let conn = self.slots[index].conn;
            if cause.reconnects() {
                self.engine.submit(Command::Reconnect { conn });
            } else {
                self.engine.submit(Command::Close {
                    conn,
                    code: super::exchange::CLOSE_FOR_GOOD.0,
                    reason: super::exchange::CLOSE_FOR_GOOD.1.to_owned(),
                });
            }
        }
        let slot = &mut self.slots[index];
        let callbacks = &mut slot.callbacks;
        self.dispatcher.dispatch(
            &spare.completed,
            response,
            slot.secret_fields,
            |tag| callbacks.take(tag),
            slot.on_request.as_ref(),
        );
        for event in &spare.events {
            on_event(index, event, &spare);
        }
        let delivered = spare.events.len();
        self.spare = spare;
        delivered
    }

    /// Closes every connection with a close handshake, turning the loop on
    /// this thread until they are done or `grace` has passed. What the
    /// shutdown produced comes out of the next [`InlineGroup::poll_once`],
    /// which returns at once from then on. Idempotent.
    pub fn shutdown(&mut self, grace: Duration) {
        self.engine.shutdown(grace);
        for member in self.engine.hooks_mut().members.iter_mut().flatten() {
            member.flush_recording();
        }
        for slot in &self.slots {
            if let Some(capture) = &slot.capture {
                // Only the first shutdown ends it (a later one finds it
                // ended, which is no failure).
                match capture.end() {
                    Ok(_) | Err(crate::capture::CaptureSinkError::Ended) => {}
                    Err(error) => tracing::warn!(exchange = %slot.name, %error, "capture end"),
                }
            }
        }
    }

    /// The capture exchange `index` records to, if one is on.
    pub fn capture(&self, index: usize) -> Option<&crate::capture::CaptureSink> {
        self.slots.get(index)?.capture.as_deref()
    }
}

impl Drop for InlineGroup {
    fn drop(&mut self) {
        self.shutdown(Duration::from_millis(200));
    }
}

/// A venue gateway driven on the caller's thread: a group of one, typed
/// (see the module docs).
pub struct InlineExchange<V: Venue + 'static> {
    group: InlineGroup,
    key: ExchangeKey<V>,
    /// Events a wait's turns took, for the next `poll_once`.
    held: Outputs,
}

impl<V: Venue + 'static> std::fmt::Debug for InlineExchange<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineExchange")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl<V: Venue + 'static> InlineExchange<V> {
    /// Makes the engine on this thread (pinned when `config.engine.core`
    /// says so) and starts connecting; the open sequence runs on every
    /// (re)connect inside [`InlineExchange::poll_once`].
    pub fn start(
        name: &str,
        venue: V,
        mut config: ExchangeConfig,
    ) -> Result<InlineExchange<V>, ExchangeError> {
        let engine = std::mem::take(&mut config.engine);
        let mut group = InlineGroup::new(engine)?;
        let key = group.add(name, venue, config)?;
        Ok(InlineExchange {
            group,
            key,
            held: Outputs::default(),
        })
    }

    /// The exchange id.
    pub fn name(&self) -> &str {
        self.group.name(self.key.index).unwrap_or_default()
    }

    /// The engine's clock (the `now` of every latency figure).
    pub fn clock(&self) -> &Clock {
        self.group.clock()
    }

    /// The core (order states, latency histograms, the venue).
    pub fn core(&self) -> &GatewayCore<V> {
        self.group.core(self.key)
    }

    /// The core, to change between turns (a venue token, say).
    pub fn core_mut(&mut self) -> &mut GatewayCore<V> {
        self.group.core_mut(self.key)
    }

    /// The group of one underneath (its engine, or a second exchange
    /// sharing its loop).
    pub fn group(&mut self) -> &mut InlineGroup {
        &mut self.group
    }

    /// Submits any request: encoded, and its frames written to the socket,
    /// before this returns.
    pub fn submit(&mut self, request: Request<'_>) -> Result<Submission, SubmitError> {
        self.group.submit(self.key, request)
    }

    /// Submits any request with a reserved id or its own callback.
    pub fn submit_with(
        &mut self,
        request: Request<'_>,
        options: SubmitOptions,
    ) -> Result<Submission, SubmitError> {
        self.group.submit_with(self.key, request, options)
    }

    /// Reserves the next request id (docs/gateway.md, "Reserved request
    /// ids").
    pub fn next_request_id(&mut self) -> u64 {
        self.core_mut().next_request_id()
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
        self.group.feed_book_snapshot(self.key, book, levels);
    }

    /// Replaces the venue token (see [`Venue::set_token`]).
    pub fn set_token(&mut self, token: Secret) {
        self.core_mut().venue_mut().set_token(token);
    }

    /// One turn (see [`InlineGroup::poll_once`]); `on_event` for each
    /// gateway event and each ended request's callback (its own, or the
    /// exchange's). Returns how many events were delivered.
    /// Events a wait took come first (and then the turn does not block).
    pub fn poll_once(
        &mut self,
        timeout: Option<Duration>,
        mut on_event: impl FnMut(&GatewayEvent, &Outputs),
    ) -> usize {
        let held = drain_held(&mut self.held, &mut on_event);
        let timeout = if held > 0 {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        held + self
            .group
            .poll_once(timeout, |_, event, outputs| on_event(event, outputs))
    }

    /// One turn of at most `timeout`, its events held for the next
    /// [`InlineExchange::poll_once`] (a waiter's turn).
    pub(crate) fn turn_once(&mut self, timeout: Duration) {
        let held = &mut self.held;
        self.group.poll_once(Some(timeout), |_, event, outputs| {
            hold(held, event, outputs, HELD_EVENTS)
        });
    }

    /// Turns the loop until `done` holds or `timeout` passes, holding the
    /// events for the next [`InlineExchange::poll_once`].
    fn turn_for(&mut self, timeout: Duration, done: &dyn Fn(&InlineExchange<V>) -> bool) -> bool {
        let deadline = self.clock().now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            let left = deadline.saturating_duration_since(self.clock().now());
            if left.is_zero() {
                return false;
            }
            self.turn_once(left);
        }
    }

    /// Turns the loop until the connection is up and its login (where the
    /// venue has one) accepted, or `timeout` passes.
    pub fn wait_connected(&mut self, timeout: Duration) -> Result<(), WaitError> {
        if self.turn_for(timeout, &|e| e.core().is_ready()) {
            Ok(())
        } else {
            Err(WaitError::Elapsed)
        }
    }

    /// Submits a request and returns a [`Ticket`] for it; wait on it with
    /// [`InlineExchange::wait_for`] (this thread turns the loop). The
    /// exchange's own callback still runs.
    pub fn submit_ticket(&mut self, request: Request<'_>) -> Result<Ticket, SubmitError> {
        let end = Arc::new(parking_lot::Mutex::new(None));
        let then = self.group.on_request(self.key);
        let options = SubmitOptions::callback(ticket_callback(end.clone(), then));
        let submission = self.submit_with(request, options)?;
        Ok(Ticket::new(submission, end, None))
    }

    /// Turns the loop until `ticket`'s request ends or `timeout` passes.
    pub fn wait_for(
        &mut self,
        ticket: &Ticket,
        timeout: Duration,
    ) -> Result<RequestEnd, WaitError> {
        self.turn_for(timeout, &|_| ticket.end().is_some());
        ticket.end().ok_or(WaitError::Elapsed)
    }

    /// Closes the connection with a close handshake, turning the loop on
    /// this thread until it is done or `grace` has passed. Idempotent.
    pub fn shutdown(&mut self, grace: Duration) {
        self.group.shutdown(grace);
    }
}
