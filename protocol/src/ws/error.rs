//! Errors of the WebSocket codec.
//!
//! Faults of the peer (`WsError`: the connection fails, with an RFC 6455 close
//! code) are kept apart from misuse of the API (`SendError`: the call is
//! refused and nothing changes).

use super::frame::ClosePayloadError;

/// The handshake failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The server answered with something other than 101.
    #[error("server refused the upgrade with HTTP {status}: {body:?}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The start of the response body.
        body: String,
        /// The server's `Retry-After`, in seconds (RFC 9110 §10.2.3; the
        /// HTTP-date form needs a wall clock this codec does not read, so
        /// it counts as absent). Binance sends it with 429 and 418; the
        /// reconnect waits at least this long.
        retry_after: Option<std::time::Duration>,
    },
    /// The response is not HTTP.
    #[error("malformed handshake response: {0}")]
    MalformedResponse(String),
    /// The response header exceeds the configured limit.
    #[error("handshake response header larger than {limit} bytes")]
    HeaderTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No `Upgrade: websocket`.
    #[error("handshake response lacks Upgrade: websocket")]
    MissingUpgrade,
    /// No `upgrade` token in `Connection`.
    #[error("handshake response lacks Connection: Upgrade")]
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` is missing, repeated or wrong.
    #[error("wrong or missing Sec-WebSocket-Accept")]
    BadAccept,
    /// The server chose a subprotocol we did not offer.
    #[error("server chose subprotocol {0:?}, which was not offered")]
    UnofferedProtocol(String),
    /// The server accepted an extension we did not offer.
    #[error("server accepted extension {0:?}, which was not offered")]
    UnofferedExtension(String),
    /// The server's permessage-deflate parameters break the offer.
    #[error("bad permessage-deflate response: {0}")]
    BadExtension(String),
}

/// A violation of RFC 6455 framing by the server (close code 1002).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A server must not mask its frames.
    #[error("masked frame from the server")]
    MaskedFrame,
    /// A reserved opcode.
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// RSV bits that no extension gave a meaning.
    #[error("reserved bits {0:#05b} set without a negotiated extension")]
    ReservedBits(u8),
    /// A control frame over 125 bytes.
    #[error("control frame longer than 125 bytes")]
    ControlTooLong,
    /// A control frame without FIN.
    #[error("fragmented control frame")]
    FragmentedControl,
    /// A continuation frame with no message to continue.
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A new data frame while a fragmented message is open.
    #[error("new data frame inside a fragmented message")]
    ExpectedContinuation,
    /// A 64-bit length with the top bit set.
    #[error("frame length has the most significant bit set")]
    LengthOverflow,
    /// A close frame whose payload is invalid.
    #[error("invalid close frame: {0:?}")]
    BadClose(ClosePayloadError),
}

/// Why the connection failed. Every variant is sticky: the connection takes
/// no more input, and a close frame with [`WsError::close_code`] is queued
/// when one may still be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// The opening handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// The server broke the framing rules.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// A text message or close reason is not UTF-8.
    #[error("invalid UTF-8 in a text message")]
    InvalidUtf8,
    /// A compressed message is not valid DEFLATE.
    #[error("invalid compressed payload")]
    InvalidCompressedData,
    /// A frame or message exceeds the configured limit.
    #[error("message larger than the {limit}-byte limit")]
    MessageTooBig {
        /// The limit in bytes.
        limit: usize,
    },
    /// The handshake did not complete in time.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// The server did not answer our close frame in time.
    #[error("close handshake timed out")]
    CloseTimeout,
    /// No pong nor any data arrived before the keepalive deadline.
    #[error("keepalive timed out: nothing received after ping")]
    KeepaliveTimeout,
}

impl WsError {
    /// The RFC 6455 close code we send for this failure, if we send one.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            WsError::Protocol(ProtocolError::BadClose(ClosePayloadError::ReasonNotUtf8)) => {
                Some(1007)
            }
            WsError::Protocol(_) => Some(1002),
            WsError::InvalidUtf8 | WsError::InvalidCompressedData => Some(1007),
            WsError::MessageTooBig { .. } => Some(1009),
            WsError::Handshake(_)
            | WsError::HandshakeTimeout
            | WsError::CloseTimeout
            | WsError::KeepaliveTimeout => None,
        }
    }
}

/// A command the connection cannot carry out in its state. Nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The handshake has not completed yet.
    #[error("the WebSocket handshake has not completed")]
    NotOpen,
    /// A close frame was sent or received, or the connection failed.
    #[error("the connection is closing or closed")]
    Closed,
    /// Control frame payloads are at most 125 bytes (close reasons 123).
    #[error("control frame payload longer than 125 bytes")]
    ControlTooLong,
    /// A close code that may not be sent.
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
}
