//! Why a connection went down: the reasons a driver reports to the core
//! (`GatewayCore::on_disconnected`) and the core hands on in
//! `ConnectionEvent::Disconnected`. Data only: the driver that owns the
//! socket (engine/) makes them.

use std::io;
use std::time::Duration;

use orderwire_protocol::ws::WsError;

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
    /// A failure read back from a capture: its text as it was recorded
    /// (an I/O error cannot be rebuilt).
    #[error("{0}")]
    Replayed(String),
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
    /// The user asked for it (a driver's disconnect command).
    Requested,
}

impl Disconnect {
    /// Whether the connection ended because this side asked it to: a close
    /// handshake we started, or [`Disconnect::Requested`].
    pub fn by_us(&self) -> bool {
        matches!(
            self,
            Disconnect::Requested | Disconnect::Closed { by_peer: false, .. }
        )
    }
}
