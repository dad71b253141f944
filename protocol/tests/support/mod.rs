//! Test support: a scripted server side for `Conn`, in virtual time.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]
#![allow(dead_code)]

pub(crate) mod autobahn;
pub(crate) mod blocking;

use orderwire_protocol::Instant;
use orderwire_protocol::ws::frame::{self, OpCode};
use orderwire_protocol::ws::handshake::{HandshakeRequest, accept_for_key};
use orderwire_protocol::ws::mask::apply_mask;
use orderwire_protocol::ws::{Config, Conn, Event, MessageKind, WsError};

/// An owned copy of an event, for comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ev {
    Connected,
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Closed {
        code: Option<u16>,
        reason: String,
        by_peer: bool,
    },
    Failed(WsError),
}

/// A frame the client sent, unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sent {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

pub(crate) fn pong(payload: &[u8]) -> Sent {
    Sent {
        fin: true,
        rsv: 0,
        opcode: 0xA,
        payload: payload.to_vec(),
    }
}

pub(crate) fn close_sent(code: u16) -> Sent {
    Sent {
        fin: true,
        rsv: 0,
        opcode: 0x8,
        payload: code.to_be_bytes().to_vec(),
    }
}

/// A server frame, unmasked, with explicit bits.
pub(crate) fn raw_frame(fin: bool, rsv: u8, opcode_bits: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    // write_header takes an OpCode; write a valid one and patch the bits, so
    // tests can send reserved opcodes.
    frame::write_header(&mut out, fin, rsv, OpCode::Binary, None, payload.len());
    out[0] = (out[0] & 0xF0) | (opcode_bits & 0x0F);
    out.extend_from_slice(payload);
    out
}

pub(crate) fn text(payload: &str) -> Vec<u8> {
    raw_frame(true, 0, 1, payload.as_bytes())
}

pub(crate) fn binary(payload: &[u8]) -> Vec<u8> {
    raw_frame(true, 0, 2, payload)
}

pub(crate) fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    raw_frame(true, 0, 8, &payload)
}

/// The 101 response for a request, with extra header lines.
pub(crate) fn response_for(request: &[u8], extra: &str) -> Vec<u8> {
    let text = std::str::from_utf8(request).expect("request is ASCII");
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("request has a key");
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_for_key(key)
    )
    .into_bytes()
}

pub(crate) fn request() -> HandshakeRequest {
    HandshakeRequest::from_url("ws://127.0.0.1:9001/").expect("valid URL")
}

/// A client connection and the server's view of it.
pub(crate) struct Pair {
    pub conn: Conn,
    pub now: Instant,
    pub request: Vec<u8>,
}

impl Pair {
    /// A connection that has not seen the response yet.
    pub(crate) fn connecting(config: Config) -> Pair {
        let now = Instant(1_000_000_000);
        let mut conn = Conn::client(config, &request(), now, 7);
        let mut request = Vec::new();
        assert!(conn.poll_transmit(&mut request));
        Pair { conn, now, request }
    }

    /// A connection that completed the handshake (with `extra` response headers).
    pub(crate) fn open_with(config: Config, extra: &str) -> Pair {
        let mut pair = Pair::connecting(config);
        let response = response_for(&pair.request, extra);
        pair.feed(&response);
        assert_eq!(pair.events(), vec![Ev::Connected]);
        pair
    }

    pub(crate) fn open() -> Pair {
        Pair::open_with(Config::default(), "")
    }

    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.conn.handle_input(self.now, bytes);
    }

    /// Feeds in pieces of `step` bytes, draining events after each piece.
    pub(crate) fn feed_in_steps(&mut self, bytes: &[u8], step: usize) -> Vec<Ev> {
        let mut events = Vec::new();
        for piece in bytes.chunks(step.max(1)) {
            self.feed(piece);
            events.extend(self.events());
        }
        events
    }

    pub(crate) fn events(&mut self) -> Vec<Ev> {
        drain_events(&mut self.conn)
    }

    /// Frames the client has queued, unmasked.
    pub(crate) fn sent(&mut self) -> Vec<Sent> {
        let mut wire = Vec::new();
        self.conn.poll_transmit(&mut wire);
        parse_client_frames(&wire)
    }

    pub(crate) fn advance(&mut self, by: std::time::Duration) {
        self.now = self.now + by;
        self.conn.handle_timeout(self.now);
    }
}

pub(crate) fn drain_events(conn: &mut Conn) -> Vec<Ev> {
    let mut events = Vec::new();
    while let Some(event) = conn.poll_event() {
        events.push(match event {
            Event::Connected => Ev::Connected,
            Event::Message(m) => match m.kind {
                MessageKind::Text => {
                    Ev::Text(String::from_utf8(m.data.to_vec()).expect("text is validated"))
                }
                MessageKind::Binary => Ev::Binary(m.data.to_vec()),
            },
            Event::Ping(p) => Ev::Ping(p.to_vec()),
            Event::Pong(p) => Ev::Pong(p.to_vec()),
            Event::Closed(c) => Ev::Closed {
                code: c.code,
                reason: c.reason.to_string(),
                by_peer: c.by_peer,
            },
            Event::Failed(e) => Ev::Failed(e),
        });
    }
    events
}

/// Parses masked client frames; panics on anything a client must not send.
pub(crate) fn parse_client_frames(mut wire: &[u8]) -> Vec<Sent> {
    let mut frames = Vec::new();
    while !wire.is_empty() {
        let h = frame::parse_header(wire)
            .expect("valid header")
            .expect("complete header");
        let key = h.mask.expect("client frames are masked");
        let end = h.header_len + h.payload_len as usize;
        let mut payload = wire[h.header_len..end].to_vec();
        apply_mask(&mut payload, key, 0);
        frames.push(Sent {
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode_bits,
            payload,
        });
        wire = &wire[end..];
    }
    frames
}
