//! A gateway and a mock venue in one thread, in virtual time: quinn's test
//! `Pair`, for orderwire. The gateway core's frames reach the mock's
//! session, and the session's messages reach the core, each after a fixed
//! one-way latency; time jumps to the next thing either side is waiting
//! for. No socket, no thread, no clock: the same calls give the same
//! events, byte for byte, and a minute of venue time runs in milliseconds.
//!
//! A connection the session closes or drops reaches the core as a
//! disconnect once the messages sent before it have arrived; the pair
//! reconnects after `reconnect_delay`, as the engine does, writing the open
//! sequence first and then what the core handed over while down. A
//! `Recycle` from the core closes the connection from the client's side and
//! reconnects, as the `Exchange` does. A ping
//! from the mock is answered with a pong after the latency, as the
//! engine's WebSocket codec answers it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::gateway::{
    DisconnectReason, GatewayCore, GatewayEvent, Outputs, RecycleCause, Submission, SubmitError,
};
use orderwire_engine::{ConnError, Disconnect};
use orderwire_protocol::model::{Event, Level, Request};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{FrameKind, Venue};

use super::session::{MockSession, MockVenue, Output, Refusal};

/// The wall clock at virtual time zero, for the gateway and the mocks:
/// 2023-09-21T14:15:07Z, the day of kraken.md's examples.
pub const WALL_ORIGIN_NS: i64 = 1_695_305_707_000_000_000;
/// [`WALL_ORIGIN_NS`] in ms, for the mocks that keep ms clocks.
pub const WALL_ORIGIN_MS: u64 = 1_695_305_707_000;

/// What travels to the client.
enum ToClient {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    /// The connection ended after the messages before it.
    Down(DisconnectReason),
}

/// What travels to the venue.
enum ToVenue {
    Text(Vec<u8>),
    Pong(Vec<u8>),
}

/// A gateway core and a mock venue, wired together in virtual time.
pub struct Pair<V: Venue, M: MockVenue> {
    /// The gateway under test.
    pub core: GatewayCore<V>,
    /// The mock venue (its faults and counters).
    pub mock: M,
    session: Option<M::Session>,
    now: Instant,
    latency: Duration,
    reconnect_delay: Duration,
    to_venue: VecDeque<(Instant, ToVenue)>,
    to_client: VecDeque<(Instant, ToClient)>,
    /// Frames the core handed over while down: written after the next
    /// open sequence, as the engine's backlog is.
    backlog: Vec<Vec<u8>>,
    reconnect_at: Option<Instant>,
    /// The gateway asked to close for good (a login refused for good).
    closed_for_good: bool,
    connections: u64,
    events: Vec<GatewayEvent>,
    /// Every book level so far; the book events' ranges index it.
    levels: Vec<Level>,
    spare: Outputs,
    /// The path every connection asks for (`/websocket/v1/private`).
    path: String,
}

impl<V: Venue, M: MockVenue> Pair<V, M> {
    /// `core` and `mock`, connected at time zero. One-way latency 50 µs;
    /// reconnects 100 ms after a drop. The core's wall clock starts at
    /// [`WALL_ORIGIN_NS`].
    pub fn with(mut core: GatewayCore<V>, mock: M) -> Pair<V, M> {
        core.set_wall_offset(WALL_ORIGIN_NS);
        let mut pair = Pair::unconnected(core, mock);
        pair.connect();
        pair
    }

    fn unconnected(core: GatewayCore<V>, mock: M) -> Pair<V, M> {
        Pair {
            core,
            mock,
            session: None,
            now: Instant::ZERO,
            latency: Duration::from_micros(50),
            reconnect_delay: Duration::from_millis(100),
            to_venue: VecDeque::new(),
            to_client: VecDeque::new(),
            backlog: Vec::new(),
            reconnect_at: None,
            closed_for_good: false,
            connections: 0,
            events: Vec::new(),
            levels: Vec::new(),
            spare: Outputs::default(),
            path: "/".to_owned(),
        }
    }

    /// `core` and `mock`, connected at time zero to `path` (what the mock's
    /// handshake sees), as [`Pair::with`].
    pub fn with_path(mut core: GatewayCore<V>, mock: M, path: &str) -> Pair<V, M> {
        core.set_wall_offset(WALL_ORIGIN_NS);
        let mut pair = Pair::unconnected(core, mock);
        pair.path = path.to_owned();
        pair.connect();
        pair
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Every gateway event so far, in order.
    pub fn events(&self) -> &[GatewayEvent] {
        &self.events
    }

    /// Every book level so far: each book event's `bids` and `asks` in
    /// [`Pair::events`] index this.
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// Submits at the current virtual time.
    pub fn submit(&mut self, request: Request<'_>) -> Result<Submission, SubmitError> {
        let submitted = self.core.submit(self.now, request);
        self.pump();
        submitted
    }

    /// Runs until `done` holds for the events so far, or `limit` of
    /// virtual time passes; whether `done` held.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&[GatewayEvent]) -> bool,
    ) -> bool {
        let until = self.now + limit;
        loop {
            if done(&self.events) {
                return true;
            }
            if !self.step(until) {
                return done(&self.events);
            }
        }
    }

    /// Runs `span` of virtual time.
    pub fn run_for(&mut self, span: Duration) {
        let until = self.now + span;
        while self.step(until) {}
    }

    /// Moves time to the next thing due (at most `until`) and handles it;
    /// false once nothing is due before `until` (time is then `until`).
    fn step(&mut self, until: Instant) -> bool {
        // A session also reacts to shared state (another connection's
        // executions, an injected shutdown), which no timer announces:
        // let it look now.
        self.tick();
        let Some(next) = self.next_due().filter(|at| *at <= until) else {
            self.now = self.now.max(until);
            self.tick();
            return false;
        };
        self.now = self.now.max(next);
        self.deliver();
        self.tick();
        true
    }

    fn next_due(&mut self) -> Option<Instant> {
        [
            self.to_venue.front().map(|(at, _)| *at),
            self.to_client.front().map(|(at, _)| *at),
            self.core.poll_timeout(),
            self.session.as_ref().and_then(MockSession::poll_timeout),
            self.reconnect_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whatever arrived by now reaches its side.
    fn deliver(&mut self) {
        while self.to_venue.front().is_some_and(|(at, _)| *at <= self.now) {
            let Some((_, message)) = self.to_venue.pop_front() else {
                break;
            };
            if let Some(session) = self.session.as_mut() {
                match message {
                    ToVenue::Text(frame) => {
                        if let Ok(text) = std::str::from_utf8(&frame) {
                            session.handle_text(self.now, text);
                        }
                    }
                    ToVenue::Pong(payload) => session.handle_pong(self.now, &payload),
                }
            }
            self.pump();
        }
        while self
            .to_client
            .front()
            .is_some_and(|(at, _)| *at <= self.now)
        {
            let Some((_, message)) = self.to_client.pop_front() else {
                break;
            };
            match message {
                ToClient::Text(text) => {
                    let mut bytes = text.into_bytes();
                    self.core
                        .handle_message(self.now, self.now, FrameKind::Text, &mut bytes);
                }
                ToClient::Binary(mut bytes) => {
                    self.core
                        .handle_message(self.now, self.now, FrameKind::Binary, &mut bytes);
                }
                ToClient::Ping(payload) => {
                    // The engine's codec answers pings itself.
                    let at = self.now + self.latency;
                    self.to_venue.push_back((at, ToVenue::Pong(payload)));
                }
                ToClient::Down(reason) => {
                    self.core.on_disconnected(self.now, reason);
                    if self.closed_for_good {
                        // As the engine after `Command::Close`: no reconnect.
                        self.core.on_closed(self.now);
                    } else {
                        self.reconnect_at = Some(self.now + self.reconnect_delay);
                    }
                }
            }
            self.pump();
        }
    }

    /// Timers on both sides, and a due reconnect.
    fn tick(&mut self) {
        if self.core.poll_timeout().is_some_and(|at| at <= self.now) {
            self.core.handle_timeout(self.now);
        }
        if let Some(session) = self.session.as_mut() {
            session.handle_timeout(self.now);
        }
        if self.reconnect_at.is_some_and(|at| at <= self.now) {
            self.reconnect_at = None;
            self.connect();
        }
        self.pump();
    }

    /// A fresh connection: a session, then the open sequence and the
    /// backlog on it.
    fn connect(&mut self) {
        // The handshake: the headers the venue makes for this attempt (a
        // fresh JWT), which the mock may refuse with an HTTP status.
        let headers: Vec<(String, String)> = self
            .core
            .handshake_headers(self.now)
            .iter()
            .map(|(name, value)| (name.clone(), value.expose().to_owned()))
            .collect();
        if let Err(Refusal {
            status,
            body,
            retry_after,
        }) = self.mock.accept(self.now, &self.path, &headers)
        {
            self.connections += 1;
            let refused =
                Disconnect::Failed(ConnError::Ws(orderwire_protocol::ws::WsError::Handshake(
                    orderwire_protocol::ws::HandshakeError::Status {
                        status,
                        body,
                        retry_after,
                    },
                )));
            // As the engine does: at least the wait the refusal asks for.
            let floor = orderwire_engine::refusal_floor(&refused).unwrap_or_default();
            self.core.on_disconnected(self.now, Arc::new(refused));
            self.reconnect_at = Some(self.now + self.reconnect_delay.max(floor));
            self.pump();
            return;
        }
        self.session = Some(self.mock.open(self.connections, self.now));
        let attempt = u32::try_from(self.connections).unwrap_or(u32::MAX);
        self.connections += 1;
        self.core.on_connected(self.now, attempt);
        let at = self.now + self.latency;
        let mut frame = Vec::new();
        while self.core.poll_open_transmit(&mut frame).is_some() {
            self.to_venue
                .push_back((at, ToVenue::Text(std::mem::take(&mut frame))));
        }
        for frame in self.backlog.drain(..) {
            self.to_venue.push_back((at, ToVenue::Text(frame)));
        }
        self.pump();
    }

    /// Moves each side's output onto the wire, and the core's events into
    /// the log.
    fn pump(&mut self) {
        let at = self.now + self.latency;
        let mut frame = Vec::new();
        while self.core.poll_transmit(&mut frame).is_some() {
            let bytes = std::mem::take(&mut frame);
            if self.session.is_some() {
                self.to_venue.push_back((at, ToVenue::Text(bytes)));
            } else {
                self.backlog.push(bytes);
            }
        }
        if let Some(session) = self.session.as_mut() {
            while let Some(output) = session.poll_output() {
                let down = match output {
                    Output::Text(text) => {
                        self.to_client.push_back((at, ToClient::Text(text)));
                        continue;
                    }
                    Output::Binary(bytes) => {
                        self.to_client.push_back((at, ToClient::Binary(bytes)));
                        continue;
                    }
                    Output::Ping(payload) => {
                        self.to_client.push_back((at, ToClient::Ping(payload)));
                        continue;
                    }
                    Output::Close { code, reason } => Disconnect::Closed {
                        code: Some(code),
                        reason: reason.to_owned(),
                        by_peer: true,
                    },
                    _ => Disconnect::Failed(ConnError::Eof),
                };
                self.to_client
                    .push_back((at, ToClient::Down(Arc::new(down))));
            }
            if session.is_ended() {
                self.session = None;
                // Frames in flight to a closed connection are lost.
                self.to_venue.clear();
            }
        }
        self.spare.clear();
        self.core.poll_events(&mut self.spare);
        let recycle = self.core.poll_reconnect();
        let base = self.levels.len();
        for event in &mut self.spare.events {
            if let GatewayEvent::Market(Event::Book(book)) = event {
                book.bids = book.bids.start + base..book.bids.end + base;
                book.asks = book.asks.start + base..book.asks.end + base;
            }
        }
        self.levels.append(&mut self.spare.levels);
        self.events.append(&mut self.spare.events);
        if let Some(cause) = recycle {
            self.recycle(cause);
        }
    }

    /// The gateway asked for a new connection (the age limit is near, or
    /// the venue announced a shutdown): as the engine does, the client
    /// closes this one and connects again. What the venue sent before it
    /// saw the close still arrives; then the connection is down.
    /// A login refused for good closes it for good.
    fn recycle(&mut self, cause: RecycleCause) {
        if self.session.take().is_none() {
            return;
        }
        self.to_venue.clear();
        let at = self.now + self.latency + self.latency;
        self.closed_for_good = !cause.reconnects();
        let closed = Disconnect::Closed {
            code: Some(if self.closed_for_good { 1008 } else { 1000 }),
            reason: "recycle".to_owned(),
            by_peer: false,
        };
        self.to_client
            .push_back((at, ToClient::Down(Arc::new(closed))));
    }
}
