//! One accepted connection: the WebSocket handshake routes it by path to
//! the API or the streams; both share the ping/pong keepalive here.

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tungstenite::handshake::server::{Request, Response};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

use super::{Shared, api, now_ms, streams};
use crate::mock::socket::Socket;

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
    let mut link = Link {
        ws,
        shared,
        last_ping: Instant::now(),
        awaiting_pong: None,
    };
    if path.starts_with("/ws-api/v3") {
        api::run(&mut link, id);
    } else if path.starts_with("/ws") || path.starts_with("/stream") {
        streams::run(&mut link, &path);
    } else {
        link.close(CloseCode::Policy, "unknown path");
    }
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
    last_ping: Instant,
    /// The payload of the ping waiting for its pong, and when it went.
    awaiting_pong: Option<(Vec<u8>, Instant)>,
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
        let config = &self.shared.config;
        let now = Instant::now();
        if let Some((_, sent)) = &self.awaiting_pong {
            if now.duration_since(*sent) >= config.pong_timeout {
                self.shared.stats.lock().pong_timeouts += 1;
                self.close(CloseCode::Policy, "pong timeout");
                return false;
            }
        }
        if now.duration_since(self.last_ping) >= config.ping_every {
            self.last_ping = now;
            let payload = now_ms().to_string().into_bytes();
            if self.ws.send(Message::Ping(payload.clone().into())).is_err() {
                return false;
            }
            self.shared.stats.lock().pings += 1;
            if self.awaiting_pong.is_none() {
                self.awaiting_pong = Some((payload, now));
            }
        }
        let _ = self.ws.flush();
        true
    }

    /// Reads one message (pongs are checked here).
    pub(crate) fn read(&mut self) -> Read {
        match self.ws.read() {
            Ok(Message::Text(text)) => Read::Text(text.as_str().to_owned()),
            Ok(Message::Pong(payload)) => {
                // The pong must copy the ping's payload.
                if self
                    .awaiting_pong
                    .as_ref()
                    .is_some_and(|(sent, _)| sent.as_slice() == payload.as_ref())
                {
                    self.awaiting_pong = None;
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
