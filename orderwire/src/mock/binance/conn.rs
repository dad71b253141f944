//! One accepted connection: the WebSocket handshake routes it by path to
//! the API ([`api::ApiSession`]) or the streams
//! ([`streams::StreamsSession`]), both sans-IO under the one socket driver;
//! both keep the venue's ping/pong rule with [`Keepalive`].

use std::sync::Arc;

use orderwire_protocol::time::Instant;
use tungstenite::WebSocket;
use tungstenite::handshake::server::{Request, Response};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;

use super::{MockConfig, Shared, api, streams};
use crate::mock::session::Output;
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

    /// Carries out what is due at `now`: a ping into `out`, or, for a late
    /// pong, a close (1008, policy violation) and false.
    pub(crate) fn run(
        &mut self,
        shared: &Shared,
        now: Instant,
        out: &mut std::collections::VecDeque<Output>,
    ) -> bool {
        match self.due(&shared.config, now, shared.wall_ms(now)) {
            KeepaliveDue::PongLate => {
                shared.stats.lock().pong_timeouts += 1;
                out.push_back(Output::Close {
                    code: 1008,
                    reason: "pong timeout",
                });
                false
            }
            KeepaliveDue::Ping(payload) => {
                shared.stats.lock().pings += 1;
                out.push_back(Output::Ping(payload));
                true
            }
            KeepaliveDue::Nothing => true,
        }
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
    let Ok(mut ws) = tungstenite::accept_hdr(socket, route) else {
        return;
    };
    if path.starts_with("/ws-api/v3") {
        serve_api(ws, shared, id);
        return;
    }
    if path.starts_with("/ws") || path.starts_with("/stream") {
        let mut session = streams::StreamsSession::open(shared.clone(), &path, shared.now());
        drive(&mut ws, &mut session, &shared.stop, &shared.live, || {
            shared.now()
        });
    } else {
        let mut ws = ws;
        let _ = ws.close(Some(CloseFrame {
            code: CloseCode::Policy,
            reason: "unknown path".into(),
        }));
        let _ = ws.flush();
    }
}

/// The socket driver of an API session.
fn serve_api<S: Socket>(mut ws: WebSocket<S>, shared: Arc<Shared>, id: u64) {
    let mut session = api::ApiSession::open(shared.clone(), id, shared.now());
    drive(&mut ws, &mut session, &shared.stop, &shared.live, || {
        shared.now()
    });
}
