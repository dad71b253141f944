//! The handle user threads hold: commands in, events out.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use mio::{Poll, Waker};
use orderwire_protocol::ws::{HandshakeRequest, MessageKind};

use crate::clock::Clock;
use crate::config::{ConnHooks, ConnectionConfig, EngineConfig, WaitStrategy};
use crate::event::{Command, ConnId, EngineEvent};
use crate::pool::BufferPool;
use crate::reactor::{EventSink, Reactor, ReactorParts, WAKER};

/// Why the engine did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// epoll or the waker could not be created.
    #[error("reactor set-up: {0}")]
    Io(#[from] std::io::Error),
    /// Pinning was asked for and did not succeed.
    #[error("could not pin the reactor to core {0}")]
    Pin(usize),
}

/// Why `connect` did not queue the connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a WebSocket URL.
    #[error("{0}")]
    Url(String),
    /// The host name did not resolve.
    #[error("resolving {host}: {error}")]
    Resolve {
        /// The host in the URL.
        host: String,
        /// What the resolver said.
        error: std::io::Error,
    },
    /// The command queue is full; the configuration comes back.
    #[error("command queue full")]
    QueueFull(Box<ConnectionConfig>),
    /// The reactor has stopped.
    #[error("the engine has stopped")]
    Stopped,
}

/// A command that did not fit in the queue (or found the reactor stopped),
/// handed back whole.
#[derive(Debug)]
pub struct QueueFull(pub Command);

/// The sending half of the engine, for any number of threads: cheap to
/// clone, and every clone feeds the same reactor.
#[derive(Clone, Debug)]
pub struct Commander {
    commands: Sender<Command>,
    waker: Arc<Waker>,
    sleeping: Arc<AtomicBool>,
    pool: BufferPool,
    wait: WaitStrategy,
}

/// The engine: a reactor thread and the queues to it. Dropping it shuts the
/// reactor down with a short grace.
pub struct Engine {
    commander: Commander,
    events: Receiver<EngineEvent>,
    next_id: AtomicU32,
    thread: Option<JoinHandle<usize>>,
    clock: Clock,
}

impl Engine {
    /// Starts the reactor thread, pinned when `config.core` says so.
    pub fn start(config: EngineConfig) -> Result<Engine, StartError> {
        Engine::start_with_hooks(config, Clock::new(), crate::config::NoHooks)
    }

    /// As [`Engine::start`], on `clock` (which the driver read before, for
    /// its hooks), with per-connect hooks and driver timers that run on the
    /// reactor thread (the threaded gateway's core timers).
    pub fn start_with_hooks<H: ConnHooks + Send + 'static>(
        config: EngineConfig,
        clock: Clock,
        hooks: H,
    ) -> Result<Engine, StartError> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (command_tx, command_rx) = bounded(config.command_capacity.max(1));
        let (event_tx, event_rx) = bounded(config.event_capacity.max(1));
        let pool = BufferPool::new(config.pooled_buffers, config.pooled_buffer_capacity);
        let sleeping = Arc::new(AtomicBool::new(false));
        let seed = config.seed.unwrap_or_else(|| {
            u64::from(std::process::id()).rotate_left(32) ^ clock.now_ns() ^ 0x5851_F42D_4C95_7F2D
        });
        let reactor = Reactor::new(ReactorParts {
            poll,
            commands: Some(command_rx),
            events: EventSink::Channel(event_tx),
            pool: pool.clone(),
            sleeping: sleeping.clone(),
            clock: clock.clone(),
            wait: config.wait,
            spin_before_block: config.spin_before_block,
            seed,
            hooks,
        });
        let (ready_tx, ready_rx) = bounded::<Result<(), StartError>>(1);
        let core = config.core;
        let on_start = config.on_reactor_start;
        let thread = std::thread::Builder::new()
            .name(config.thread_name.clone())
            .spawn(move || {
                if let Some(id) = core {
                    if let Err(error) = pin(id) {
                        let _ = ready_tx.send(Err(error));
                        return 0;
                    }
                }
                if let Some(hook) = on_start {
                    hook();
                }
                let _ = ready_tx.send(Ok(()));
                reactor.run()
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                let _ = thread.join();
                return Err(error);
            }
            Err(_) => return Err(StartError::Io(std::io::Error::other("reactor thread died"))),
        }
        Ok(Engine {
            commander: Commander {
                commands: command_tx,
                waker,
                sleeping,
                pool,
                wait: config.wait,
            },
            events: event_rx,
            next_id: AtomicU32::new(1),
            thread: Some(thread),
            clock,
        })
    }

    /// A clonable sender of commands, for other threads.
    pub fn commander(&self) -> Commander {
        self.commander.clone()
    }

    /// Queues a new connection. The host is resolved here, on the caller's
    /// thread, so the reactor never waits on DNS; reconnects reuse the
    /// addresses.
    pub fn connect(&self, config: ConnectionConfig) -> Result<ConnId, ConnectError> {
        let addrs = resolve(&config)?;
        let conn = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        match self.commander.submit(Command::Connect {
            conn,
            config: Box::new(config),
            addrs,
        }) {
            Ok(()) => Ok(conn),
            Err(QueueFull(Command::Connect { config, .. }))
                if self.commander.commands.is_full() =>
            {
                Err(ConnectError::QueueFull(config))
            }
            Err(_) => Err(ConnectError::Stopped),
        }
    }

    /// See [`Commander::send_text`].
    pub fn send_text(&self, conn: ConnId, text: &str) -> Result<(), QueueFull> {
        self.commander.send_text(conn, text)
    }

    /// See [`Commander::send`].
    pub fn send(&self, conn: ConnId, kind: MessageKind, data: Vec<u8>) -> Result<(), QueueFull> {
        self.commander.send(conn, kind, data)
    }

    /// See [`Commander::ping`].
    pub fn ping(&self, conn: ConnId, payload: &[u8]) -> Result<(), QueueFull> {
        self.commander.ping(conn, payload)
    }

    /// See [`Commander::close`].
    pub fn close(&self, conn: ConnId, code: u16, reason: &str) -> Result<(), QueueFull> {
        self.commander.close(conn, code, reason)
    }

    /// See [`Commander::disconnect`].
    pub fn disconnect(&self, conn: ConnId) -> Result<(), QueueFull> {
        self.commander.disconnect(conn)
    }

    /// See [`Commander::submit`].
    pub fn submit(&self, command: Command) -> Result<(), QueueFull> {
        self.commander.submit(command)
    }

    /// The event queue.
    pub fn events(&self) -> &Receiver<EngineEvent> {
        &self.events
    }

    /// An empty buffer from the pool, for [`Engine::send`].
    pub fn buffer(&self) -> Vec<u8> {
        self.commander.pool.take()
    }

    /// Gives a message buffer back to the pool.
    pub fn recycle(&self, buffer: Vec<u8>) {
        self.commander.pool.give(buffer);
    }

    /// The engine's clock (the one `received_at_ns` and `at_ns` come from).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Closes every connection (close handshakes within `grace`), answers
    /// every queued command with `Rejected`, and joins the reactor thread.
    /// Events stay readable from [`Engine::events`] afterwards. Returns how
    /// many events could not be delivered because the event queue stayed
    /// full.
    pub fn shutdown(&mut self, grace: Duration) -> usize {
        let Some(thread) = self.thread.take() else {
            return 0;
        };
        let command = Command::Shutdown { grace };
        let queued = self
            .commander
            .commands
            .send_timeout(command, grace + Duration::from_secs(1));
        if queued.is_ok() {
            let _ = self.commander.waker.wake();
        }
        thread.join().unwrap_or(0)
    }
}

impl Commander {
    /// An empty buffer from the pool, for [`Commander::send`].
    pub fn buffer(&self) -> Vec<u8> {
        self.pool.take()
    }

    /// Gives a message buffer back to the pool.
    pub fn recycle(&self, buffer: Vec<u8>) {
        self.pool.give(buffer);
    }

    /// Queues a text message, copied into a pooled buffer.
    pub fn send_text(&self, conn: ConnId, text: &str) -> Result<(), QueueFull> {
        let mut data = self.pool.take();
        data.extend_from_slice(text.as_bytes());
        self.send(conn, MessageKind::Text, data)
    }

    /// Queues a message whose payload is already in a buffer (ideally one
    /// from [`Engine::buffer`]); the buffer goes back to the pool once sent.
    pub fn send(&self, conn: ConnId, kind: MessageKind, data: Vec<u8>) -> Result<(), QueueFull> {
        self.submit(Command::Send { conn, kind, data })
    }

    /// How many more commands the queue takes now. Only the reactor takes
    /// commands out, so the room seen here only grows until this thread
    /// (or another submitter) queues one.
    pub fn room(&self) -> usize {
        self.commands
            .capacity()
            .unwrap_or(usize::MAX)
            .saturating_sub(self.commands.len())
    }

    /// Queues an unsolicited pong (see [`Command::Pong`]).
    pub fn pong(&self, conn: ConnId, payload: Vec<u8>) -> Result<(), QueueFull> {
        self.submit(Command::Pong {
            conn,
            data: payload,
        })
    }

    /// Queues a ping.
    pub fn ping(&self, conn: ConnId, payload: &[u8]) -> Result<(), QueueFull> {
        let mut data = self.pool.take();
        data.extend_from_slice(payload);
        self.submit(Command::Ping { conn, data })
    }

    /// Starts the close handshake; the connection does not reconnect.
    pub fn close(&self, conn: ConnId, code: u16, reason: &str) -> Result<(), QueueFull> {
        self.submit(Command::Close {
            conn,
            code,
            reason: reason.to_owned(),
        })
    }

    /// Drops the connection without a close handshake.
    pub fn disconnect(&self, conn: ConnId) -> Result<(), QueueFull> {
        self.submit(Command::Disconnect { conn })
    }

    /// Closes the connection politely and opens a fresh one.
    pub fn reconnect(&self, conn: ConnId) -> Result<(), QueueFull> {
        self.submit(Command::Reconnect { conn })
    }

    /// Wakes the reactor if it sleeps in epoll: a driver deadline moved
    /// earlier (see [`ConnHooks::deadline_ns`]).
    pub fn wake(&self) {
        if self.wait == WaitStrategy::Block && self.sleeping.load(Ordering::SeqCst) {
            // A failed wake leaves the reactor to its next deadline.
            let _ = self.waker.wake();
        }
    }

    /// Queues any command. A full queue hands the command back; the reactor
    /// is woken only when it sleeps (an eventfd write costs a syscall).
    pub fn submit(&self, command: Command) -> Result<(), QueueFull> {
        match self.commands.try_send(command) {
            Ok(()) => {
                if self.wait == WaitStrategy::Block && self.sleeping.load(Ordering::SeqCst) {
                    // A failed wake leaves the reactor to its next deadline;
                    // the command stays queued either way.
                    let _ = self.waker.wake();
                }
                Ok(())
            }
            Err(TrySendError::Full(command) | TrySendError::Disconnected(command)) => {
                Err(QueueFull(command))
            }
        }
    }
}

/// The addresses of `config.url`'s host, resolved on the caller's thread so
/// that the loop never waits on DNS; reconnects reuse them.
pub(crate) fn resolve(config: &ConnectionConfig) -> Result<Vec<SocketAddr>, ConnectError> {
    let request =
        HandshakeRequest::from_url(&config.url).map_err(|e| ConnectError::Url(e.to_string()))?;
    Ok((request.host.as_str(), request.port)
        .to_socket_addrs()
        .map_err(|error| ConnectError::Resolve {
            host: request.host.clone(),
            error,
        })?
        .collect())
}

/// Pins the calling thread to `core`, as `EngineConfig::core` asks.
pub(crate) fn pin(core: usize) -> Result<(), StartError> {
    // core_affinity indexes a fixed-size CPU set (glibc's CPU_SETSIZE,
    // 1024) with the id and panics past its end; the kernel refuses ids of
    // CPUs that do not exist.
    if core < 1024 && core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        Ok(())
    } else {
        Err(StartError::Pin(core))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown(Duration::from_millis(100));
    }
}
