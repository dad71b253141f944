//! A gateway on the engine's reactor: one connection, frames through the
//! command queue, the open sequence through the reactor's hook, and replies
//! handled on whichever user thread calls [`Exchange::poll`].

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use orderwire_protocol::model::{AmendOrder, CancelOrders, NewOrder, Request};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::{FrameKind, Frames, Venue};
use orderwire_protocol::ws::MessageKind;
use parking_lot::Mutex;

use super::core::{GatewayConfig, GatewayCore, GatewayEvent, Outputs, Submission, SubmitError};
use super::latency::LatencyCallback;
use super::{Gateway, Transport};
use crate::{
    Clock, Commander, ConnId, ConnectError, ConnectionConfig, Engine, EngineConfig, EngineEvent,
    OpenSequence, OpenSink, StartError,
};

/// Fetches a fresh token (e.g. Kraken's `GetWebSocketsToken` over REST). It
/// runs on the polling thread when the connection drops, never on the
/// reactor.
pub type TokenFetch = Arc<dyn Fn() -> Result<Secret, String> + Send + Sync>;

/// Connection changes, as the polling thread sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// Open (0 for the first time, then the reconnect number); the open
    /// sequence has been written.
    Connected {
        /// Attempt number.
        attempt: u32,
    },
    /// Down, with the reason.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// The next attempt starts after `delay`.
    Reconnecting {
        /// Attempt number.
        attempt: u32,
        /// Delay.
        delay: Duration,
    },
    /// Gone for good.
    Closed,
}

/// How to build an [`Exchange`].
pub struct ExchangeConfig {
    /// The engine (its reactor thread is this exchange's).
    pub engine: EngineConfig,
    /// The connection (URL, TLS, timeouts, reconnect policy).
    pub connection: ConnectionConfig,
    /// The gateway.
    pub gateway: GatewayConfig,
    /// Called with each reply's latency, on the polling thread.
    pub on_latency: Option<LatencyCallback>,
    /// Fetches a fresh token when the connection drops.
    pub token_fetch: Option<TokenFetch>,
}

/// Frames to the engine's command queue.
pub struct EngineTransport {
    commander: Commander,
    conn: ConnId,
}

impl Transport for EngineTransport {
    fn has_room(&self, frames: usize) -> bool {
        self.commander.room() >= frames
    }

    fn send(&self, kind: FrameKind, frame: &mut Vec<u8>) -> bool {
        let data = std::mem::replace(frame, self.commander.buffer());
        let sent = match kind {
            FrameKind::Binary => self.commander.send(self.conn, MessageKind::Binary, data),
            FrameKind::Pong => self.commander.pong(self.conn, data),
            _ => self.commander.send(self.conn, MessageKind::Text, data),
        };
        match sent {
            Ok(()) => true,
            Err(full) => {
                // Put the bytes back; the pooled buffer returns to the pool.
                if let crate::Command::Send { data, .. } | crate::Command::Pong { data, .. } =
                    full.0
                {
                    let pooled = std::mem::replace(frame, data);
                    self.commander.recycle(pooled);
                }
                false
            }
        }
    }
}

struct OpenHook<V: Venue> {
    core: Arc<Mutex<GatewayCore<V>>>,
    clock: Clock,
    frames: Frames,
}

impl<V: Venue> OpenSequence for OpenHook<V> {
    // Both hooks run on the reactor once per (re)connect, never in steady
    // state, and hold the gateway lock for one venue call (docs/ARCHITECTURE.md,
    // "per-connect hooks").
    fn handshake_headers(&mut self, _attempt: u32, out: &mut Vec<(String, Secret)>) {
        let now = self.clock.now_ns();
        self.core.lock().handshake_headers(now, out);
    }

    fn on_open(&mut self, _attempt: u32, out: &mut OpenSink<'_>) {
        let now = self.clock.now_ns();
        self.frames.clear();
        self.core.lock().open_sequence(now, &mut self.frames);
        for (kind, frame) in self.frames.iter() {
            match kind {
                FrameKind::Binary => out.binary(frame),
                FrameKind::Pong => out.pong(frame),
                _ => match std::str::from_utf8(frame) {
                    Ok(text) => out.text(text),
                    Err(_) => out.binary(frame),
                },
            }
        }
    }
}

fn wall_clock_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

struct PollState {
    spare: Outputs,
    on_latency: Option<LatencyCallback>,
}

/// A venue gateway with its own reactor thread and connection.
pub struct Exchange<V: Venue> {
    name: String,
    gateway: Gateway<V, EngineTransport>,
    engine: Mutex<Option<Engine>>,
    events: crossbeam_channel::Receiver<EngineEvent>,
    clock: Clock,
    poll_state: Mutex<PollState>,
    connection: Mutex<Vec<ConnectionEvent>>,
    token_fetch: Option<TokenFetch>,
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
}

impl<V: Venue> Exchange<V> {
    /// Starts a reactor, connects, and returns the exchange. The open
    /// sequence (login, subscriptions) runs on every (re)connect.
    pub fn start(
        name: &str,
        venue: V,
        mut config: ExchangeConfig,
    ) -> Result<Exchange<V>, ExchangeError> {
        let engine = Engine::start(config.engine)?;
        let clock = engine.clock().clone();
        let mut gateway = GatewayCore::new(venue, config.gateway);
        // The venue's wall clock follows the engine clock from here on.
        gateway.set_wall_offset(
            wall_clock_ns().saturating_sub(i64::try_from(clock.now_ns()).unwrap_or(0)),
        );
        let core = Arc::new(Mutex::new(gateway));
        config.connection.open_sequence = Some(Box::new(OpenHook {
            core: core.clone(),
            clock: clock.clone(),
            frames: Frames::new(),
        }));
        let conn = engine.connect(config.connection)?;
        let transport = EngineTransport {
            commander: engine.commander(),
            conn,
        };
        let events = engine.events().clone();
        Ok(Exchange {
            name: name.to_owned(),
            gateway: Gateway { core, transport },
            engine: Mutex::new(Some(engine)),
            events,
            clock,
            poll_state: Mutex::new(PollState {
                spare: Outputs::default(),
                on_latency: config.on_latency,
            }),
            connection: Mutex::new(Vec::new()),
            token_fetch: config.token_fetch,
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

    /// The gateway (its core: order states, latency histograms).
    pub fn gateway(&self) -> &Gateway<V, EngineTransport> {
        &self.gateway
    }

    /// Submits any request.
    pub fn submit(&self, request: Request<'_>) -> Result<Submission, SubmitError> {
        self.gateway.submit(self.clock.now_ns(), request)
    }

    /// Places an order.
    pub fn place_order(&self, order: &NewOrder) -> Result<Submission, SubmitError> {
        self.submit(Request::Place(order))
    }

    /// Amends an order.
    pub fn amend_order(&self, amend: &AmendOrder) -> Result<Submission, SubmitError> {
        self.submit(Request::Amend(amend))
    }

    /// Cancels orders.
    pub fn cancel_orders(&self, cancel: &CancelOrders) -> Result<Submission, SubmitError> {
        self.submit(Request::Cancel(cancel))
    }

    /// Feeds a book snapshot taken on another connection (Binance's `depth`
    /// reply on the API connection, for this streams connection's diff
    /// depth); the synced book comes out of the next [`Exchange::poll`].
    pub fn feed_book_snapshot(
        &self,
        book: &orderwire_protocol::model::BookEvent,
        levels: &[orderwire_protocol::model::Level],
    ) {
        let now = self.clock.now_ns();
        self.gateway.feed_book_snapshot(now, book, levels);
    }

    /// Replaces the venue token (see [`Venue::set_token`]).
    pub fn set_token(&self, token: Secret) {
        self.gateway.core().lock().venue_mut().set_token(token);
    }

    /// Handles what the reactor sent and the gateway's timers, then calls
    /// `on_event` for each gateway event and the latency callback for each
    /// reply, on this thread, with no lock held (callbacks may submit).
    /// Only one thread polls at a time; a concurrent call returns 0.
    /// Returns how many events were delivered.
    pub fn poll(&self, mut on_event: impl FnMut(&GatewayEvent, &Outputs)) -> usize {
        let Some(mut state) = self.poll_state.try_lock() else {
            return 0;
        };
        let mut connection_changes = std::mem::take(&mut *self.connection.lock());
        while let Ok(event) = self.events.try_recv() {
            let now = self.clock.now_ns();
            match event {
                EngineEvent::Message {
                    kind,
                    mut data,
                    received_at_ns,
                    ..
                } => {
                    let kind = match kind {
                        MessageKind::Binary => FrameKind::Binary,
                        _ => FrameKind::Text,
                    };
                    self.gateway
                        .handle_message(now, received_at_ns, kind, &mut data);
                    self.gateway.transport.commander.recycle(data);
                }
                EngineEvent::Connected { attempt, .. } => {
                    connection_changes.push(ConnectionEvent::Connected { attempt });
                }
                EngineEvent::Disconnected { reason, .. } => {
                    self.gateway.core().lock().on_disconnected(now);
                    if let Some(fetch) = &self.token_fetch {
                        match fetch() {
                            Ok(token) => self.set_token(token),
                            Err(error) => connection_changes.push(ConnectionEvent::Disconnected {
                                reason: format!("token fetch failed: {error}"),
                            }),
                        }
                    }
                    connection_changes.push(ConnectionEvent::Disconnected {
                        reason: format!("{reason:?}"),
                    });
                }
                EngineEvent::Reconnecting { attempt, delay, .. } => {
                    connection_changes.push(ConnectionEvent::Reconnecting { attempt, delay });
                }
                EngineEvent::Closed { .. } | EngineEvent::Stopped => {
                    self.gateway.core().lock().on_disconnected(now);
                    connection_changes.push(ConnectionEvent::Closed);
                }
                EngineEvent::Rejected { command, .. } => {
                    if let crate::Command::Send { data, .. } = command {
                        self.gateway.transport.commander.recycle(data);
                    }
                }
            }
        }
        let now = self.clock.now_ns();
        let due = self
            .gateway
            .core()
            .lock()
            .poll_timeout()
            .is_some_and(|at| at <= now);
        if due {
            self.gateway.handle_timeout(now);
        }
        if self.gateway.core().lock().take_recycle_request() {
            // The drain is over (serverShutdown, or the age limit is near).
            if self
                .gateway
                .transport
                .commander
                .reconnect(self.gateway.transport.conn)
                .is_err()
            {
                connection_changes.push(ConnectionEvent::Disconnected {
                    reason: "could not queue the proactive reconnect".into(),
                });
            }
        }
        let PollState { spare, on_latency } = &mut *state;
        spare.clear();
        self.gateway.take_outputs(spare);
        if let Some(callback) = on_latency.as_mut() {
            for (summary, reply, latency) in &spare.latencies {
                callback(summary.req_id, summary.method, summary, reply, *latency);
            }
        }
        let mut delivered = 0;
        for change in connection_changes.drain(..) {
            on_event(&GatewayEvent::Connection(change), spare);
            delivered += 1;
        }
        for event in &spare.events {
            on_event(event, spare);
            delivered += 1;
        }
        delivered
    }

    /// Closes the connection with a close handshake, stops the reactor and
    /// joins it. Idempotent.
    pub fn shutdown(&self, grace: Duration) {
        if let Some(mut engine) = self.engine.lock().take() {
            engine.shutdown(grace);
        }
    }
}

impl<V: Venue> Drop for Exchange<V> {
    fn drop(&mut self) {
        self.shutdown(Duration::from_millis(200));
    }
}
