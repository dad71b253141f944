//! The transport under a mock connection, plain or TLS, closable from the
//! outside, and the one socket driver of every mock's sans-IO session,
//! woken by readiness (super::live).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use orderwire_protocol::time::Instant;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

use super::live::{Live, Readiness, Shaper, blocking};
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
    live: &Arc<Live>,
    now: impl Fn() -> Instant,
    open: impl FnOnce(Instant) -> M,
) {
    let _ = socket.tcp().set_nodelay(true);
    let Ok(mut ws) = tungstenite::accept(socket) else {
        return;
    };
    let mut session = open(now());
    drive(&mut ws, &mut session, stop, live, now);
}

/// As [`serve_plain`], telling `path` the request's path before the session
/// opens (a venue whose paths serve different feeds: Koscom's `/ws_ksp`).
pub(crate) fn serve_plain_with_path<S: Socket, M: MockSession>(
    socket: S,
    stop: &AtomicBool,
    live: &Arc<Live>,
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
    let mut session = open(now());
    drive(&mut ws, &mut session, stop, live, now);
}

/// The longest a connection sleeps without a reason to wake: a wake some
/// hook forgot costs at most this.
pub(crate) const WAKE_CAP: Duration = Duration::from_millis(100);

/// Drives `session` on `ws` until either side ends it or `stop` is set.
/// The connection's thread sleeps until its socket is readable, its
/// session's next timer or held (shaped) message is due, or the mock
/// wakes it ([`Live`]); it then reads everything there is, hands the
/// session each message at `now` (the mock's clock), and writes what the
/// session answers once the mock's timing lets it go.
pub(crate) fn drive<S: Socket>(
    ws: &mut WebSocket<S>,
    session: &mut impl MockSession,
    stop: &AtomicBool,
    live: &Arc<Live>,
    now: impl Fn() -> Instant,
) {
    let (Ok(mut ready), Ok(tcp)) = (
        Readiness::new(ws.get_ref().tcp(), live),
        ws.get_ref().tcp().try_clone(),
    ) else {
        return;
    };
    let mut shaper = Shaper::new(&live.timing, ready.id());
    loop {
        if stop.load(Ordering::Relaxed) {
            blocking(&tcp, || {
                let _ = ws.close(Some(CloseFrame {
                    code: CloseCode::Away,
                    reason: "mock stopping".into(),
                }));
                let _ = ws.flush();
            });
            return;
        }
        session.handle_timeout(now());
        if !write_outputs(ws, &tcp, session, &mut shaper, now()) {
            return;
        }
        let mut handled = false;
        loop {
            match ws.read() {
                Ok(Message::Text(text)) => {
                    session.handle_text(now(), text.as_str());
                    handled = true;
                }
                Ok(Message::Pong(payload)) => session.handle_pong(now(), &payload),
                Ok(Message::Close(_)) => {
                    // tungstenite queued the reply; flush it and stop.
                    blocking(&tcp, || ws.flush().ok());
                    return;
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    break;
                }
                Err(_) => return,
            }
            if !write_outputs(ws, &tcp, session, &mut shaper, now()) {
                return;
            }
        }
        if handled {
            // What this connection did may concern the others (a trade,
            // a book change): they look again now, not at their next timer.
            live.wake_others(ready.id());
        }
        ready.pause(
            now(),
            session.poll_timeout(),
            shaper.next_release(),
            WAKE_CAP,
        );
    }
}

/// Carries out what a session asked, each output once the mock's timing
/// lets it go; false when the connection ends.
fn write_outputs<S: Socket>(
    ws: &mut WebSocket<S>,
    tcp: &TcpStream,
    session: &mut impl MockSession,
    shaper: &mut Shaper,
    now: Instant,
) -> bool {
    let shaped = shaper.shapes();
    let mut due: Vec<Output> = Vec::new();
    while let Some(output) = session.poll_output() {
        if shaped {
            shaper.hold(now, output);
        } else {
            due.push(output);
        }
    }
    while let Some(output) = shaper.release(now) {
        due.push(output);
    }
    if !due.is_empty() {
        let open = blocking(tcp, || {
            for output in due {
                let written = match output {
                    Output::Text(text) => ws.write(Message::text(text)),
                    Output::Binary(bytes) => ws.write(Message::binary(bytes)),
                    Output::Ping(payload) => ws.write(Message::Ping(payload.into())),
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
                if written.is_err() {
                    return false;
                }
            }
            ws.flush().is_ok()
        });
        if !open {
            return false;
        }
    }
    !session.is_ended() || shaper.next_release().is_some()
}
