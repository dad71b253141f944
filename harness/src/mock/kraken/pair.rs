//! The gateway and the mock Kraken in one thread, in virtual time: quinn's
//! test `Pair`, for orderwire. The gateway core's frames reach the mock's
//! session, and the session's messages reach the core, each after a fixed
//! one-way latency; time jumps to the next thing either side is waiting
//! for. No socket, no thread, no clock: the same calls give the same
//! events, byte for byte, and a minute of venue time runs in milliseconds.
//!
//! A connection the session closes or drops reaches the core as a
//! disconnect once the messages sent before it have arrived; the pair
//! reconnects after `reconnect_delay`, as the engine does, writing the open
//! sequence first and then what the core handed over while down.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::gateway::{
    DisconnectReason, GatewayConfig, GatewayCore, GatewayEvent, Outputs, Submission, SubmitError,
};
use orderwire_engine::{ConnError, Disconnect};
use orderwire_protocol::model::Request;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::kraken::Kraken;
use orderwire_protocol::venue::{FrameKind, Frames};

use super::conn::{Output, Session};
use super::{Fault, MockConfig, MockStats, Shared};

/// The wall clock at virtual time zero: 2023-09-21T14:15:07Z, the day of
/// kraken.md's examples.
const WALL_ORIGIN_NS: i64 = 1_695_305_707_000_000_000;

/// What travels to the client.
enum ToClient {
    Text(String),
    /// The connection ended after the messages before it.
    Down(DisconnectReason),
}

/// A gateway core and a mock Kraken, wired together in virtual time.
pub struct KrakenPair {
    /// The gateway under test.
    pub core: GatewayCore<Kraken>,
    shared: Arc<Shared>,
    session: Option<Session>,
    now: Instant,
    latency: Duration,
    reconnect_delay: Duration,
    to_venue: VecDeque<(Instant, Vec<u8>)>,
    to_client: VecDeque<(Instant, ToClient)>,
    /// Frames the core handed over while down: written after the next
    /// open sequence, as the engine's backlog is.
    backlog: Vec<Vec<u8>>,
    reconnect_at: Option<Instant>,
    connections: u64,
    events: Vec<GatewayEvent>,
    spare: Outputs,
}

impl KrakenPair {
    /// A mock serving `mock`, and a gateway over `venue` with `gateway`,
    /// connected at time zero. One-way latency 50 µs; reconnects 100 ms
    /// after a drop.
    pub fn new(mock: MockConfig, venue: Kraken, gateway: GatewayConfig) -> KrakenPair {
        let mut core = GatewayCore::new(venue, gateway);
        core.set_wall_offset(WALL_ORIGIN_NS);
        let mut pair = KrakenPair {
            core,
            shared: Arc::new(Shared::new(mock, WALL_ORIGIN_NS)),
            session: None,
            now: Instant::ZERO,
            latency: Duration::from_micros(50),
            reconnect_delay: Duration::from_millis(100),
            to_venue: VecDeque::new(),
            to_client: VecDeque::new(),
            backlog: Vec::new(),
            reconnect_at: None,
            connections: 0,
            events: Vec::new(),
            spare: Outputs::default(),
        };
        pair.connect();
        pair
    }

    /// The token the mock expects.
    pub fn token(&self) -> &str {
        &self.shared.config.token
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Queues a fault in the mock.
    pub fn inject(&self, fault: Fault) {
        self.shared.faults.lock().push_back(fault);
    }

    /// What the mock has seen.
    pub fn stats(&self) -> MockStats {
        *self.shared.stats.lock()
    }

    /// Every gateway event so far, in order.
    pub fn events(&self) -> &[GatewayEvent] {
        &self.events
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
        self.pump();
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
            self.session.as_ref().and_then(Session::poll_timeout),
            self.reconnect_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whatever arrived by now reaches its side.
    fn deliver(&mut self) {
        while self.to_venue.front().is_some_and(|(at, _)| *at <= self.now) {
            let Some((_, frame)) = self.to_venue.pop_front() else {
                break;
            };
            if let (Some(session), Ok(text)) = (self.session.as_mut(), std::str::from_utf8(&frame))
            {
                session.handle_text(self.now, text);
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
                ToClient::Down(reason) => {
                    self.core.on_disconnected(self.now, reason);
                    self.reconnect_at = Some(self.now + self.reconnect_delay);
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
        self.session = Some(Session::open(
            self.shared.clone(),
            self.connections,
            self.now,
        ));
        self.shared.stats.lock().connections += 1;
        let attempt = u32::try_from(self.connections).unwrap_or(u32::MAX);
        self.connections += 1;
        let mut open = Frames::new();
        self.core.on_connected(self.now, attempt, &mut open);
        let at = self.now + self.latency;
        for (_, frame) in open.iter() {
            self.to_venue.push_back((at, frame.to_vec()));
        }
        for frame in self.backlog.drain(..) {
            self.to_venue.push_back((at, frame));
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
                self.to_venue.push_back((at, bytes));
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
                    Output::Close { code, reason } => Disconnect::Closed {
                        code: Some(code),
                        reason: reason.to_owned(),
                        by_peer: true,
                    },
                    Output::Drop => Disconnect::Failed(ConnError::Eof),
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
        self.events.append(&mut self.spare.events);
    }
}
