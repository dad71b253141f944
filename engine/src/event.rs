//! What crosses the queues: commands in, events out.

use std::io;
use std::time::Duration;

use orderwire_protocol::ws::{MessageKind, WsError};

use crate::config::ConnectionConfig;

/// Names a connection for its whole life, across reconnects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u32);

/// A request to the reactor.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    /// Open a connection (resolved addresses in `addrs`).
    Connect {
        /// The id the caller chose.
        conn: ConnId,
        /// Where to and how.
        config: Box<ConnectionConfig>,
        /// Resolved on the caller's thread, so no lookup runs on the reactor.
        addrs: Vec<std::net::SocketAddr>,
    },
    /// Send a message; the buffer returns to the pool once written.
    Send {
        /// Which connection.
        conn: ConnId,
        /// Text or binary.
        kind: MessageKind,
        /// The payload (text must be UTF-8).
        data: Vec<u8>,
    },
    /// Send a ping with this payload (at most 125 bytes).
    Ping {
        /// Which connection.
        conn: ConnId,
        /// The payload.
        data: Vec<u8>,
    },
    /// Send an unsolicited pong with this payload (at most 125 bytes): a
    /// venue that wants its text heartbeat echoed in a pong frame (KIS).
    Pong {
        /// Which connection.
        conn: ConnId,
        /// The payload.
        data: Vec<u8>,
    },
    /// Close with the handshake, and do not reconnect.
    Close {
        /// Which connection.
        conn: ConnId,
        /// The close code.
        code: u16,
        /// The close reason (at most 123 bytes).
        reason: String,
    },
    /// Drop the connection without a close handshake, and do not reconnect.
    Disconnect {
        /// Which connection.
        conn: ConnId,
    },
    /// Close with the handshake (1000) and reconnect at once, through the
    /// usual backoff: a venue's shutdown notice or its age limit.
    Reconnect {
        /// Which connection.
        conn: ConnId,
    },
    /// Close everything and stop the reactor.
    Shutdown {
        /// How long the close handshakes may take.
        grace: Duration,
    },
}

/// Why a connection went down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    /// A socket error.
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
    /// TCP connect did not finish in time.
    #[error("TCP connect timed out")]
    ConnectTimeout,
    /// The TLS handshake did not finish in time.
    #[error("TLS handshake timed out")]
    TlsTimeout,
    /// TLS failed (a certificate from an unknown CA, an alert, a bad record).
    #[error("TLS: {0}")]
    Tls(String),
    /// The WebSocket codec failed the connection (handshake, protocol, limits,
    /// keepalive and close timeouts).
    #[error("WebSocket: {0}")]
    Ws(WsError),
    /// Open, but no data message within the data timeout.
    #[error("no data for {0:?} (data watchdog)")]
    DataTimeout(Duration),
    /// The peer ended the TCP stream without a close handshake.
    #[error("connection closed by the peer without a close frame")]
    Eof,
    /// The URL or the configuration could not be used.
    #[error("configuration: {0}")]
    Config(String),
}

/// Why a connection is down.
#[derive(Debug)]
#[non_exhaustive]
pub enum Disconnect {
    /// The close handshake ran (either side started it).
    Closed {
        /// The code in the close frame, if any.
        code: Option<u16>,
        /// The reason in the close frame.
        reason: String,
        /// Whether the server sent the first close frame.
        by_peer: bool,
    },
    /// Something failed.
    Failed(ConnError),
    /// The user asked for it ([`Command::Disconnect`]).
    Requested,
}

/// A command the reactor did not carry out, handed back.
#[derive(Debug)]
#[non_exhaustive]
pub enum Rejection {
    /// No such connection (never opened, or gone for good).
    UnknownConnection,
    /// The connection is closing or the engine is shutting down.
    Closing,
    /// The codec refused it (a ping over 125 bytes, a bad close code).
    Invalid(String),
}

/// Something that happened, for a user thread.
#[derive(Debug)]
#[non_exhaustive]
pub enum EngineEvent {
    /// The WebSocket handshake completed and the open sequence was queued.
    Connected {
        /// Which connection.
        conn: ConnId,
        /// 0 for the first open; then the reconnect number.
        attempt: u32,
        /// Monotonic nanoseconds (the engine's clock).
        at_ns: u64,
    },
    /// A message arrived. Hand `data` back with `Engine::recycle`.
    Message {
        /// Which connection.
        conn: ConnId,
        /// Text or binary.
        kind: MessageKind,
        /// The payload, in a pooled buffer.
        data: Vec<u8>,
        /// When the read that carried it returned (engine clock, ns).
        received_at_ns: u64,
    },
    /// The connection went down. A `Reconnecting` or `Closed` follows.
    Disconnected {
        /// Which connection.
        conn: ConnId,
        /// Why.
        reason: Disconnect,
    },
    /// The next attempt starts after `delay`.
    Reconnecting {
        /// Which connection.
        conn: ConnId,
        /// 1 for the first retry.
        attempt: u32,
        /// How long until it starts.
        delay: Duration,
    },
    /// The connection is gone for good; its id is free.
    Closed {
        /// Which connection.
        conn: ConnId,
    },
    /// A command came back undone.
    Rejected {
        /// The command, with its buffers.
        command: Command,
        /// Why.
        reason: Rejection,
    },
    /// The reactor stopped; nothing follows.
    Stopped,
}
