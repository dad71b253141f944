//! The transport under a mock connection, plain or TLS, closable from the
//! outside, and the one socket driver of every mock's sans-IO session.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};

use orderwire_protocol::time::Instant;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

use super::session::{MockSession, Output};

/// A mock connection's stream.
pub(crate) trait Socket: Read + Write {
    /// The TCP socket (to shut it down from another thread, or time out a
    /// read).
    fn tcp(&self) -> &TcpStream;
}

impl Socket for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Socket for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

/// Serves one accepted connection that any path may open: the WebSocket
/// handshake, then the session `open` makes, driven on the mock's clock
/// until either side ends it or `stop` is set.
pub(crate) fn serve_plain<S: Socket, M: MockSession>(
    socket: S,
    stop: &AtomicBool,
    now: impl Fn() -> Instant,
    open: impl FnOnce(Instant) -> M,
) {
    let _ = socket.tcp().set_nodelay(true);
    let Ok(mut ws) = tungstenite::accept(socket) else {
        return;
    };
    // Reads time out so the session's timers run between messages.
    let _ = ws
        .get_ref()
        .tcp()
        .set_read_timeout(Some(std::time::Duration::from_millis(5)));
    let mut session = open(now());
    drive(&mut ws, &mut session, stop, now);
}

/// As [`serve_plain`], telling `path` the request's path before the session
/// opens (a venue whose paths serve different feeds: Koscom's `/ws_ksp`).
pub(crate) fn serve_plain_with_path<S: Socket, M: MockSession>(
    socket: S,
    stop: &AtomicBool,
    now: impl Fn() -> Instant,
    path: impl FnOnce(&str),
    open: impl FnOnce(Instant) -> M,
) {
    let _ = socket.tcp().set_nodelay(true);
    let mut seen = String::new();
    // tungstenite's callback type: its error is an HTTP response.
    #[allow(clippy::result_large_err)]
    let callback = |request: &tungstenite::handshake::server::Request,
                    response: tungstenite::handshake::server::Response| {
        seen = request.uri().path().to_owned();
        Ok(response)
    };
    let Ok(mut ws) = tungstenite::accept_hdr(socket, callback) else {
        return;
    };
    path(&seen);
    let _ = ws
        .get_ref()
        .tcp()
        .set_read_timeout(Some(std::time::Duration::from_millis(5)));
    let mut session = open(now());
    drive(&mut ws, &mut session, stop, now);
}

/// Drives `session` on `ws` until either side ends it or `stop` is set:
/// reads (with the socket's read timeout), pongs and the session's timers
/// in, its outputs out. `now` is the mock's clock.
pub(crate) fn drive<S: Socket>(
    ws: &mut WebSocket<S>,
    session: &mut impl MockSession,
    stop: &AtomicBool,
    now: impl Fn() -> Instant,
) {
    loop {
        if stop.load(Ordering::Relaxed) {
            let _ = ws.close(Some(CloseFrame {
                code: CloseCode::Away,
                reason: "mock stopping".into(),
            }));
            let _ = ws.flush();
            return;
        }
        session.handle_timeout(now());
        if !write_outputs(ws, session) {
            return;
        }
        match ws.read() {
            Ok(Message::Text(text)) => session.handle_text(now(), text.as_str()),
            Ok(Message::Pong(payload)) => session.handle_pong(now(), &payload),
            Ok(Message::Close(_)) => {
                // tungstenite queued the reply; flush it and stop.
                let _ = ws.flush();
                return;
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
        if !write_outputs(ws, session) {
            return;
        }
    }
}

/// Carries out what a session asked; false when the connection ends.
fn write_outputs<S: Socket>(ws: &mut WebSocket<S>, session: &mut impl MockSession) -> bool {
    while let Some(output) = session.poll_output() {
        let sent = match output {
            Output::Text(text) => ws.send(Message::text(text)),
            Output::Binary(bytes) => ws.send(Message::binary(bytes)),
            Output::Ping(payload) => ws.send(Message::Ping(payload.into())),
            Output::Close { code, reason } => {
                let _ = ws.close(Some(CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.into(),
                }));
                let _ = ws.flush();
                return false;
            }
            _ => {
                let _ = ws.get_ref().tcp().shutdown(std::net::Shutdown::Both);
                return false;
            }
        };
        if sent.is_err() {
            return false;
        }
    }
    let _ = ws.flush();
    !session.is_ended()
}
