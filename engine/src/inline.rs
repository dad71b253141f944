//! The inline engine: the same loop, connections, TLS and codec as
//! [`Engine`](crate::Engine), driven by the caller on the caller's thread.
//!
//! No reactor thread, no queue hop and no lock: a command (`send`,
//! `connect`, `close`) runs at once, down to the socket write, and
//! [`InlineEngine::poll_once`] runs one turn of the loop (readiness,
//! reads, TLS, the WebSocket codec, timers) and leaves what happened in a
//! local queue that [`InlineEngine::next_event`] drains. The caller picks
//! the wait: `poll_once(Some(Duration::ZERO))` busy-polls,
//! `poll_once(None)` blocks until something happens or a deadline is due.
//! Pinning is the caller's: `EngineConfig::core` pins the calling thread
//! in [`InlineEngine::new`].
//!
//! Timers (keepalive pings, the data watchdog, reconnect backoff) fire only
//! inside `poll_once`: a caller that stops polling stops them, which is the
//! inline contract (docs/engine.md, "Inline").

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mio::{Events, Poll};
use orderwire_protocol::ws::MessageKind;

use crate::clock::Clock;
use crate::config::{ConnHooks, ConnectionConfig, EngineConfig, NoHooks};
use crate::engine::{ConnectError, StartError, pin, resolve};
use crate::event::{Command, ConnId, EngineEvent};
use crate::pool::BufferPool;
use crate::reactor::{EventSink, Reactor, ReactorParts};

/// Events a turn can leave before the local queue grows: a turn reads each
/// ready socket until it would block, so one turn can yield many messages.
const LOCAL_EVENTS: usize = 1024;

/// The engine driven by its caller: one thread owns it and every
/// connection in it (see the module docs).
pub struct InlineEngine<H: ConnHooks = NoHooks> {
    reactor: Reactor<H>,
    events: Events,
    pool: BufferPool,
    clock: Clock,
    next_id: u32,
    stopped: bool,
}

impl<H: ConnHooks> std::fmt::Debug for InlineEngine<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineEngine")
            .field("next_id", &self.next_id)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl InlineEngine {
    /// An engine on this thread, pinned to `config.core` when set
    /// (`config.wait`, the queue capacities and the thread name are the
    /// threaded engine's and are not used here).
    pub fn new(config: EngineConfig) -> Result<InlineEngine, StartError> {
        InlineEngine::with_hooks(config, NoHooks)
    }
}

impl<H: ConnHooks> InlineEngine<H> {
    /// As [`InlineEngine::new`], with per-connect hooks that the engine
    /// owns and calls on this thread for every connection without its own
    /// `OpenSequence`; the caller reaches them with
    /// [`InlineEngine::hooks_mut`] between turns (the inline gateway keeps
    /// its core there, so no lock stands between it and the loop).
    pub fn with_hooks(config: EngineConfig, hooks: H) -> Result<InlineEngine<H>, StartError> {
        if let Some(core) = config.core {
            pin(core)?;
        }
        if let Some(hook) = config.on_reactor_start {
            hook();
        }
        let poll = Poll::new()?;
        let pool = BufferPool::new(config.pooled_buffers, config.pooled_buffer_capacity);
        let clock = Clock::new();
        let seed = config.seed.unwrap_or_else(|| {
            u64::from(std::process::id()).rotate_left(32) ^ clock.now_ns() ^ 0x5851_F42D_4C95_7F2D
        });
        let reactor = Reactor::new(ReactorParts {
            poll,
            commands: None,
            events: EventSink::Local(VecDeque::with_capacity(LOCAL_EVENTS)),
            pool: pool.clone(),
            sleeping: Arc::new(AtomicBool::new(false)),
            clock: clock.clone(),
            // The caller chooses the wait at each `poll_once`; the loop's
            // own spin window does not apply.
            wait: crate::config::WaitStrategy::Block,
            spin_before_block: Duration::ZERO,
            seed,
            hooks,
        });
        Ok(InlineEngine {
            reactor,
            events: Events::with_capacity(1024),
            pool,
            clock,
            next_id: 1,
            stopped: false,
        })
    }

    /// The per-connect hooks.
    pub fn hooks(&self) -> &H {
        self.reactor.hooks()
    }

    /// The per-connect hooks, to change between turns.
    pub fn hooks_mut(&mut self) -> &mut H {
        self.reactor.hooks_mut()
    }

    /// The id the next [`InlineEngine::connect`] will give its connection
    /// (a driver registers the connection's hooks under it first).
    pub fn next_conn(&self) -> ConnId {
        ConnId(self.next_id)
    }

    /// Opens a connection: the host is resolved here, and the first TCP
    /// attempt starts before this returns.
    pub fn connect(&mut self, config: ConnectionConfig) -> Result<ConnId, ConnectError> {
        if self.stopped {
            return Err(ConnectError::Stopped);
        }
        let addrs = resolve(&config)?;
        let conn = ConnId(self.next_id);
        self.next_id += 1;
        self.reactor.command_now(Command::Connect {
            conn,
            config: Box::new(config),
            addrs,
        });
        Ok(conn)
    }

    /// Sends a message now, down to the socket write; the buffer (ideally
    /// one from [`InlineEngine::buffer`]) goes back to the pool once
    /// written. One the connection cannot take comes back as an
    /// `EngineEvent::Rejected`.
    pub fn send(&mut self, conn: ConnId, kind: MessageKind, data: Vec<u8>) {
        self.reactor.command_now(Command::Send { conn, kind, data });
    }

    /// Sends a text message, copied into a pooled buffer.
    pub fn send_text(&mut self, conn: ConnId, text: &str) {
        let mut data = self.pool.take();
        data.extend_from_slice(text.as_bytes());
        self.send(conn, MessageKind::Text, data);
    }

    /// Carries out any command now (ping, pong, close, disconnect,
    /// reconnect, shutdown).
    pub fn submit(&mut self, command: Command) {
        self.reactor.command_now(command);
    }

    /// One turn of the loop on this thread, waiting at most `timeout` for
    /// readiness (`Some(ZERO)`: busy-poll; `None`: until something happens
    /// or the next deadline). Returns how many events wait in
    /// [`InlineEngine::next_event`].
    pub fn poll_once(&mut self, timeout: Option<Duration>) -> usize {
        if !self.stopped && self.reactor.turn(&mut self.events, timeout) {
            self.stopped = true;
            self.reactor.stopped();
        }
        self.pending()
    }

    /// How many events wait.
    pub fn pending(&mut self) -> usize {
        self.reactor.local_events().map_or(0, |events| events.len())
    }

    /// The next event a command or a turn left, oldest first.
    pub fn next_event(&mut self) -> Option<EngineEvent> {
        self.reactor.local_events()?.pop_front()
    }

    /// An empty buffer from the pool, for [`InlineEngine::send`].
    pub fn buffer(&self) -> Vec<u8> {
        self.pool.take()
    }

    /// Gives a message buffer back to the pool.
    pub fn recycle(&self, buffer: Vec<u8>) {
        self.pool.give(buffer);
    }

    /// The engine's clock (the one `received_at_ns` and `at_ns` come from).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Whether the loop has finished (after [`InlineEngine::shutdown`]).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Closes every connection with its close handshake, turning the loop
    /// on this thread until they are done or `grace` has passed; `Stopped`
    /// is the last event. The events stay readable afterwards.
    pub fn shutdown(&mut self, grace: Duration) {
        if self.stopped {
            return;
        }
        self.reactor.shut_down_now(grace);
        while !self.stopped {
            // Blocks in epoll until a close frame arrives or the loop's own
            // shutdown deadline passes; never past `grace`.
            self.poll_once(None);
        }
    }
}
