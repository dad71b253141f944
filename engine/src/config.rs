//! What the engine and each connection are told to do.

use std::fmt;
use std::time::Duration;

use orderwire_protocol::secret::Secret;
use orderwire_protocol::ws;

use crate::backoff::ReconnectPolicy;
use crate::tls::TlsConfig;

/// How the reactor waits for readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStrategy {
    /// Sleep in epoll; user commands wake it through a mio `Waker`. Costs a
    /// wake-up (a few microseconds) per burst, but no idle CPU.
    Block,
    /// Poll with a zero timeout and spin: the lowest latency, one core kept
    /// busy. Pair it with pinning to an isolated core.
    BusyPoll,
}

/// The reactor's configuration.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Pin the reactor thread to this core. Pinning that fails is an error.
    pub core: Option<usize>,
    /// How the reactor waits.
    pub wait: WaitStrategy,
    /// In `Block` mode: after a command or a socket event, keep polling
    /// without sleeping for this long before blocking in epoll again. A
    /// reply that arrives within it costs no wake-up, and neither does the
    /// next command; an idle engine still sleeps. Zero turns it off.
    pub spin_before_block: Duration,
    /// Capacity of the command queue (user threads to the reactor).
    pub command_capacity: usize,
    /// Capacity of the event queue (the reactor to user threads).
    pub event_capacity: usize,
    /// Message buffers kept for reuse, and the capacity each starts with.
    pub pooled_buffers: usize,
    /// Initial capacity of a pooled buffer.
    pub pooled_buffer_capacity: usize,
    /// Seeds the WebSocket mask keys and the reconnect jitter. `None`: from
    /// the clock and the process id.
    pub seed: Option<u64>,
    /// The name of the reactor thread.
    pub thread_name: String,
    /// Runs first on the reactor thread, after pinning: set a scheduling
    /// policy or priority, or mark the thread for a profiler or an
    /// allocation counter.
    pub on_reactor_start: Option<fn()>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            core: None,
            wait: WaitStrategy::Block,
            spin_before_block: Duration::from_micros(50),
            command_capacity: 4096,
            event_capacity: 65536,
            pooled_buffers: 1024,
            pooled_buffer_capacity: 4096,
            seed: None,
            thread_name: "orderwire-reactor".into(),
            on_reactor_start: None,
        }
    }
}

/// Queues the open sequence of a connection (authentication,
/// subscriptions): called on every open, before anything else is sent.
/// `Sync` too, so that a config handed back in an error (`ConnectError::
/// QueueFull`) keeps the error `Send + Sync`, as `?` into
/// `Box<dyn Error + Send + Sync>` and `anyhow` need.
pub trait OpenSequence: Send + Sync {
    /// Called before each attempt's WebSocket handshake: headers made fresh
    /// for it (Upbit's JWT with a new nonce), sent after
    /// [`ConnectionConfig::headers`]. The values are secrets, never printed.
    fn handshake_headers(&mut self, attempt: u32, out: &mut Vec<(String, Secret)>) {
        let _ = (attempt, out);
    }

    /// Called each time the WebSocket handshake completes; `attempt` is 0 for
    /// the first open and counts reconnects after it.
    fn on_open(&mut self, attempt: u32, out: &mut OpenSink<'_>);
}

impl<F: FnMut(u32, &mut OpenSink<'_>) + Send + Sync> OpenSequence for F {
    fn on_open(&mut self, attempt: u32, out: &mut OpenSink<'_>) {
        self(attempt, out)
    }
}

/// The per-connect hooks a driver supplies once for every connection of
/// its engine, in place of an [`OpenSequence`] in each connection's config.
/// The inline gateway owns its core without a lock; the engine calls it
/// here, on the same thread, once per (re)connect, with the connection's
/// id. A connection whose config has an `OpenSequence` uses that instead.
pub trait ConnHooks {
    /// As [`OpenSequence::handshake_headers`], for connection `conn`.
    fn handshake_headers(
        &mut self,
        conn: crate::ConnId,
        attempt: u32,
        out: &mut Vec<(String, Secret)>,
    ) {
        let _ = (conn, attempt, out);
    }

    /// As [`OpenSequence::on_open`], for connection `conn`.
    fn on_open(&mut self, conn: crate::ConnId, attempt: u32, out: &mut OpenSink<'_>) {
        let _ = (conn, attempt, out);
    }

    /// When the driver's own timers are next due, on the engine's clock
    /// (ns): the loop wakes for it even when no socket is ready and no
    /// command comes. Read on every turn, so keep it to an atomic load.
    fn deadline_ns(&self) -> Option<u64> {
        None
    }

    /// Called on the loop's thread, once a turn, while `deadline_ns` is at
    /// or before `now_ns`: the threaded gateway runs its core's timers
    /// (request deadlines, keepalive, the watchdog) here, so they do not
    /// wait for a user thread to poll.
    fn on_deadline(&mut self, now_ns: u64) {
        let _ = now_ns;
    }
}

/// No per-connect hooks: the threaded engine, and an inline engine whose
/// connections carry their own `OpenSequence` or need none.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl ConnHooks for NoHooks {}

/// Where an [`OpenSequence`] puts its messages.
pub struct OpenSink<'a> {
    pub(crate) conn: &'a mut ws::Conn,
}

impl OpenSink<'_> {
    /// Queues a text message.
    pub fn text(&mut self, text: &str) {
        // The sink exists only while the connection is open.
        let _ = self.conn.send_text(text);
    }

    /// Queues a binary message.
    pub fn binary(&mut self, data: &[u8]) {
        let _ = self.conn.send_binary(data);
    }

    /// Queues an unsolicited pong (at most 125 bytes; longer is dropped).
    pub fn pong(&mut self, data: &[u8]) {
        let _ = self.conn.pong(data);
    }
}

/// One WebSocket connection: where to, and how to keep it up.
pub struct ConnectionConfig {
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// Extra handshake headers (such as `Authorization`), the same at every
    /// attempt; headers made per attempt come from
    /// [`OpenSequence::handshake_headers`]. The values are secrets.
    pub headers: Vec<(String, Secret)>,
    /// Trust for `wss://`; `None` means Mozilla's roots.
    pub tls: Option<TlsConfig>,
    /// The codec: limits, handshake and close timeouts, keepalive ping and
    /// pong deadline, permessage-deflate.
    pub ws: ws::Config,
    /// TCP connect must finish within this.
    pub connect_timeout: Duration,
    /// The TLS handshake must finish within this.
    pub tls_timeout: Duration,
    /// A data message must arrive at least this often while open; pongs do
    /// not count. Catches a server that answers pings but sends nothing.
    pub data_timeout: Option<Duration>,
    /// Reconnecting after a drop.
    pub reconnect: ReconnectPolicy,
    /// `SO_SNDBUF` / `SO_RCVBUF`, when set.
    pub socket_send_buffer: Option<usize>,
    /// See `socket_send_buffer`.
    pub socket_recv_buffer: Option<usize>,
    /// Replayed on every open.
    pub open_sequence: Option<Box<dyn OpenSequence>>,
    /// Called on the reactor thread right after each frame is handed to the
    /// socket (or to rustls), with its length: a hook for latency
    /// benchmarks (`benches/order_to_wire`). A plain `fn`, so it costs one
    /// branch when unset.
    pub write_probe: Option<fn(usize)>,
}

impl ConnectionConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> ConnectionConfig {
        ConnectionConfig {
            url: url.into(),
            headers: Vec::new(),
            tls: None,
            ws: ws::Config::default(),
            connect_timeout: Duration::from_secs(5),
            tls_timeout: Duration::from_secs(5),
            data_timeout: None,
            reconnect: ReconnectPolicy::default(),
            socket_send_buffer: None,
            socket_recv_buffer: None,
            open_sequence: None,
            write_probe: None,
        }
    }
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ConnectionConfig")
            .field("url", &self.url)
            .field("header_names", &header_names)
            .field("tls", &self.tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("tls_timeout", &self.tls_timeout)
            .field("data_timeout", &self.data_timeout)
            .field("reconnect", &self.reconnect)
            .field("open_sequence", &self.open_sequence.is_some())
            .finish_non_exhaustive()
    }
}
