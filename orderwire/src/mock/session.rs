//! What every mock venue's sans-IO session looks like, so one socket driver
//! shape and one virtual-time [`super::pair::Pair`] serve them all.

use orderwire_protocol::time::Instant;

/// A refused WebSocket handshake, as the mock answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status (401, 418, 429).
    pub status: u16,
    /// The body.
    pub body: String,
    /// A `Retry-After` header, in whole seconds (a block's length).
    pub retry_after: Option<std::time::Duration>,
}

/// What a session wants done on its connection, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// Send a text message.
    Text(String),
    /// Send a binary message (Upbit's data frames: UTF-8 JSON).
    Binary(Vec<u8>),
    /// Send a ping with this payload (the client must echo it in a pong).
    Ping(Vec<u8>),
    /// Send a close frame with this code and reason, then end.
    Close {
        /// The close code.
        code: u16,
        /// The reason.
        reason: &'static str,
    },
    /// Drop the TCP connection without a close frame.
    Drop,
}

/// The mock's side of one connection: text, pongs and time in; outputs out.
pub trait MockSession {
    /// One text message from the client.
    fn handle_text(&mut self, now: Instant, text: &str);
    /// A pong from the client.
    fn handle_pong(&mut self, now: Instant, payload: &[u8]) {
        let _ = (now, payload);
    }
    /// Timers and pushes due at `now`; a spurious call is a no-op.
    fn handle_timeout(&mut self, now: Instant);
    /// The next thing to do on the connection.
    fn poll_output(&mut self) -> Option<Output>;
    /// When `handle_timeout` should next run.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Whether the session has ended.
    fn is_ended(&self) -> bool;
}

/// A mock venue: it opens sessions, and counts connections.
pub trait MockVenue {
    /// Its session type.
    type Session: MockSession;
    /// The WebSocket handshake of a new connection to `path` with these
    /// headers, at `now`: refused with an HTTP status and a body (Upbit's
    /// 401 for a bad JWT, 429 and 418 for too many connections), or
    /// accepted. Most venues accept everything.
    fn accept(
        &self,
        now: Instant,
        path: &str,
        headers: &[(String, String)],
    ) -> Result<(), Refusal> {
        let _ = (now, path, headers);
        Ok(())
    }
    /// A session for connection `id`, opened at `now`.
    fn open(&self, id: u64, now: Instant) -> Self::Session;
}
