//! What crosses the queues: commands in, events out.

use std::time::Duration;

use orderwire_protocol::ws::MessageKind;

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

// `ConnError` and `Disconnect` live in the gateway core, which reports
// them in `ConnectionEvent::Disconnected`; the engine produces them.
pub use orderwire_gateway::link::{ConnError, Disconnect};

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
