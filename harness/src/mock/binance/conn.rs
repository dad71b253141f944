//! One accepted connection: the WebSocket handshake routes it by path to
//! the API (a sans-IO [`api::ApiSession`] under a socket driver) or the
//! streams; both keep the venue's ping/pong rule with [`Keepalive`].

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use orderwire_protocol::time::Instant;
use tungstenite::handshake::server::{Request, Response};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

use super::{MockConfig, Shared, api, streams};
use crate::mock::socket::{Socket, drive};

/// Binance's keepalive, sans-IO: a ping every `ping_every`, and a client
/// whose pong is more than `pong_timeout` late is dropped.
#[derive(Debug)]
pub(crate) struct Keepalive {
    last_ping: Instant,
    /// The payload of the ping waiting for its pong, and when it went.
    awaiting_pong: Option<(Vec<u8>, Instant)>,
}

/// What the keepalive wants at a moment.
pub(crate) enum KeepaliveDue {
    /// Nothing.
    Nothing,
    /// Send a ping with this payload.
    Ping(Vec<u8>),
    /// The pong is late: close the connection.
    PongLate,
}

impl Keepalive {
    pub(crate) fn new(now: Instant) -> Keepalive {
        Keepalive {
            last_ping: now,
            awaiting_pong: None,
        }
    }

    /// What is due at `now`; `wall_ms` is the ping's payload.
    pub(crate) fn due(&mut self, config: &MockConfig, now: Instant, wall_ms: u64) -> KeepaliveDue {
        if let Some((_, sent)) = &self.awaiting_pong {
            if now.saturating_duration_since(*sent) >= config.pong_timeout {
                return KeepaliveDue::PongLate;
            }
        }
        if now.saturating_duration_since(self.last_ping) >= config.ping_every {
            self.last_ping = now;
            let payload = wall_ms.to_string().into_bytes();
            if self.awaiting_pong.is_none() {
                self.awaiting_pong = Some((payload.clone(), now));
            }
            return KeepaliveDue::Ping(payload);
        }
        KeepaliveDue::Nothing
    }

    /// A pong arrived; whether it answers the ping waiting (it must copy
    /// its payload).
    pub(crate) fn on_pong(&mut self, payload: &[u8]) -> bool {
        let answers = self
            .awaiting_pong
            .as_ref()
            .is_some_and(|(sent, _)| sent.as_slice() == payload);
        if answers {
            self.awaiting_pong = None;
        }
        answers
    }

    /// When `due` next has something to do.
    pub(crate) fn next_at(&self, config: &MockConfig) -> Instant {
        let ping = self.last_ping + config.ping_every;
        match &self.awaiting_pong {
            Some((_, sent)) => ping.min(*sent + config.pong_timeout),
            None => ping,
        }
    }
}

/// Serves one accepted connection until it closes.
pub(super) fn serve<S: Socket>(socket: S, shared: Arc<Shared>, id: u64) {
    let _ = socket.tcp().set_nodelay(true);
    let mut path = String::new();
    // tungstenite's callback signature fixes the (large) error type.
    #[allow(clippy::result_large_err)]
    let route = |request: &Request, response: Response| {
        path = request.uri().to_string();
        Ok(response)
    };
    let Ok(ws) = tungstenite::accept_hdr(socket, route) else {
        return;
    };
    let _ = ws
        .get_ref()
        .tcp()
        .set_read_timeout(Some(Duration::from_millis(5)));
    if path.starts_with("/ws-api/v3") {
        serve_api(ws, shared, id);
        return;
    }
    let keepalive = Keepalive::new(shared.now());
    let mut link = Link {
        ws,
        shared,
        keepalive,
    };
    if path.starts_with("/ws") || path.starts_with("/stream") {
        streams::run(&mut link, &path);
    } else {
        link.close(CloseCode::Policy, "unknown path");
    }
}

/// The socket driver of an API session.
fn serve_api<S: Socket>(mut ws: WebSocket<S>, shared: Arc<Shared>, id: u64) {
    let mut session = api::ApiSession::open(shared.clone(), id, shared.now());
    drive(&mut ws, &mut session, &shared.stop, || shared.now());
}

/// What a read produced.
pub(crate) enum Read {
    /// A text message.
    Text(String),
    /// Nothing yet.
    Idle,
    /// The connection is over.
    Closed,
}

/// A WebSocket with the venue's keepalive.
pub(crate) struct Link<S: Socket> {
    pub(crate) ws: WebSocket<S>,
    pub(crate) shared: Arc<Shared>,
    keepalive: Keepalive,
}

impl<S: Socket> Link<S> {
    /// Sends a text message; false if the connection failed.
    pub(crate) fn send(&mut self, text: String) -> bool {
        self.ws.send(Message::text(text)).is_ok()
    }

    /// Closes with a close frame.
    pub(crate) fn close(&mut self, code: CloseCode, reason: &str) {
        let _ = self.ws.close(Some(CloseFrame {
            code,
            reason: reason.to_owned().into(),
        }));
        let _ = self.ws.flush();
    }

    /// Pings every `ping_every`, and drops the client if a pong is more
    /// than `pong_timeout` late. False when the connection must end.
    pub(crate) fn keepalive(&mut self) -> bool {
        let now = self.shared.now();
        let wall_ms = self.shared.wall_ms(now);
        match self.keepalive.due(&self.shared.config, now, wall_ms) {
            KeepaliveDue::PongLate => {
                self.shared.stats.lock().pong_timeouts += 1;
                self.close(CloseCode::Policy, "pong timeout");
                return false;
            }
            KeepaliveDue::Ping(payload) => {
                if self.ws.send(Message::Ping(payload.into())).is_err() {
                    return false;
                }
                self.shared.stats.lock().pings += 1;
            }
            KeepaliveDue::Nothing => {}
        }
        let _ = self.ws.flush();
        true
    }

    /// Reads one message (pongs are checked here).
    pub(crate) fn read(&mut self) -> Read {
        match self.ws.read() {
            Ok(Message::Text(text)) => Read::Text(text.as_str().to_owned()),
            Ok(Message::Pong(payload)) => {
                if self.keepalive.on_pong(&payload) {
                    self.shared.stats.lock().pongs += 1;
                }
                Read::Idle
            }
            Ok(Message::Close(_)) => {
                let _ = self.ws.flush();
                Read::Closed
            }
            Ok(_) => Read::Idle,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                Read::Idle
            }
            Err(_) => Read::Closed,
        }
    }
}
