//! The client connection state machine.
//!
//! # Driving it
//! After every input (`handle_input`, `handle_received`, `handle_timeout`) or
//! command (`send_*`, `ping`, `close`), the driver drains `poll_event` and
//! `poll_transmit` until both return nothing, writes what it got, and then
//! asks `poll_timeout` when to call `handle_timeout` next. Control replies
//! (pongs) are queued ahead of data that `poll_transmit` has not returned
//! yet, so draining events or transmits first is equally correct. A close frame always follows the data queued
//! before it.
//!
//! # Zero copy
//! Input is parsed eagerly into a queue of event descriptors that point into
//! the receive buffer. A complete, unfragmented, uncompressed message is then
//! handed out as `&mut [u8]` into that buffer, so a JSON parser can work in
//! place. The buffer is compacted only when more room is needed, and only
//! bytes no pending event refers to are dropped. Fragmented and compressed
//! messages are assembled in pooled buffers that are reused, so the steady
//! state allocates nothing.

use std::collections::VecDeque;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::deflate::{DeflateConfig, DeflateParams, Deflater, InflateError, Inflater};
use super::error::{ProtocolError, SendError, WsError};
use super::frame::{self, OpCode, RSV1};
use super::handshake::{self, HandshakeRequest, Negotiated, Offer, ResponseStatus};
use super::utf8::Utf8Validator;
use crate::time::Instant;

/// `handle_input` copies and parses large inputs in pieces of this size, so
/// that the parser (and UTF-8 validation) reads each piece while it is still
/// in the L1 cache rather than after the whole input has been copied.
const INPUT_PIECE: usize = 8 << 10;

/// Limits, timers and extensions of a connection.
#[derive(Clone, Debug)]
pub struct Config {
    /// The largest frame accepted (1009 beyond it).
    pub max_frame_size: usize,
    /// The largest message accepted, after inflation (1009 beyond it).
    pub max_message_size: usize,
    /// The largest handshake response header accepted.
    pub max_handshake_header: usize,
    /// How long the server may take to answer the upgrade.
    pub handshake_timeout: Option<Duration>,
    /// How long to wait for the server's close frame after ours.
    pub close_timeout: Duration,
    /// Send a ping this often while open.
    pub ping_interval: Option<Duration>,
    /// After a keepalive ping, a pong or any data must arrive within this.
    pub pong_timeout: Duration,
    /// Offer permessage-deflate with these parameters.
    pub deflate: Option<DeflateConfig>,
    /// Split outgoing messages into frames of at most this payload.
    pub max_send_frame_payload: Option<usize>,
    /// Initial size of the receive buffer.
    pub recv_buffer_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            max_handshake_header: 16 << 10,
            handshake_timeout: Some(Duration::from_secs(10)),
            close_timeout: Duration::from_secs(5),
            ping_interval: None,
            pong_timeout: Duration::from_secs(10),
            deflate: None,
            max_send_frame_payload: None,
            recv_buffer_size: 64 << 10,
        }
    }
}

/// Where the connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// The upgrade request is out; waiting for the response.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the server's.
    Closing,
    /// Both close frames were exchanged. The driver closes TCP.
    Closed,
    /// The connection failed; any close frame is already queued.
    Failed,
}

/// Text or binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A UTF-8 text message (validated before it is handed out).
    Text,
    /// A binary message.
    Binary,
}

/// A received message, borrowed from the connection until the next call.
#[derive(Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// Text or binary.
    pub kind: MessageKind,
    /// The payload. Text payloads are valid UTF-8; the slice is mutable so
    /// that a parser such as simd-json can work in place.
    pub data: &'a mut [u8],
}

/// The close frame that ended the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// The status code the server sent, if any.
    pub code: Option<u16>,
    /// The reason the server sent.
    pub reason: &'a str,
    /// The server started the close handshake.
    pub by_peer: bool,
}

/// Something that happened on the connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The handshake completed.
    Connected,
    /// A whole message arrived.
    Message(Message<'a>),
    /// A ping arrived; the pong is already queued.
    Ping(&'a [u8]),
    /// A pong arrived (solicited or not).
    Pong(&'a [u8]),
    /// The close handshake completed.
    Closed(CloseFrame<'a>),
    /// The connection failed.
    Failed(WsError),
}

/// An event waiting in the queue; payloads are ranges of `rx`.
/// Its size matters: see `size_of_pending_is_small`.
#[derive(Debug)]
enum Pending {
    Connected,
    Message {
        kind: MessageKind,
        start: usize,
        end: usize,
    },
    Assembled {
        kind: MessageKind,
    },
    Ping {
        start: usize,
        end: usize,
    },
    Pong {
        start: usize,
        end: usize,
    },
    Closed {
        by_peer: bool,
    },
    /// Boxed: failures are rare, and a small `Pending` keeps the queue of the
    /// hot path at 24 bytes an entry.
    Failed(Box<WsError>),
}

impl Pending {
    fn rx_start(&self) -> Option<usize> {
        match *self {
            Pending::Message { start, .. }
            | Pending::Ping { start, .. }
            | Pending::Pong { start, .. } => Some(start),
            _ => None,
        }
    }

    fn shift(&mut self, by: usize) {
        if let Pending::Message { start, end, .. }
        | Pending::Ping { start, end }
        | Pending::Pong { start, end } = self
        {
            *start -= by;
            *end -= by;
        }
    }
}

/// A fragmented or compressed message being assembled.
#[derive(Clone, Copy, Debug)]
struct Assembly {
    kind: MessageKind,
    compressed: bool,
}

/// A WebSocket client connection (RFC 6455, RFC 7692), sans IO.
///
/// A close frame or a failure stops the parsing of input at once, but takes
/// effect when its event is handed out: the application can still answer
/// every message that arrived before it, and only then is our close frame
/// (the echo, or the error's close code) queued and the state changed.
///
/// Invariant: after every input or command, the driver drains
/// [`Conn::poll_event`] and [`Conn::poll_transmit`] until they return
/// nothing, then asks [`Conn::poll_timeout`].
pub struct Conn {
    config: Config,
    state: State,
    rng: ChaCha8Rng,
    offer: Option<Offer>,
    negotiated: Negotiated,
    handshake_deadline: Option<Instant>,

    /// Receive buffer: `rx[..filled]` holds bytes; `rx[parsed..filled]` is
    /// not parsed yet; pending events point below `parsed`.
    rx: Vec<u8>,
    filled: usize,
    parsed: usize,
    /// Payload bytes of the frame at `parsed` already UTF-8 checked.
    partial_checked: usize,
    utf8: Utf8Validator,

    events: VecDeque<Pending>,
    /// The last event handed out was an assembled buffer, to recycle.
    delivered_assembled: bool,
    assembly: Option<Assembly>,
    assembling: Vec<u8>,
    assembled: VecDeque<Vec<u8>>,
    spare_buffers: Vec<Vec<u8>>,
    inflater: Option<Inflater>,
    deflater: Option<Deflater>,
    deflate_scratch: Vec<u8>,

    /// A close or failure was parsed: no more input is taken. Its event, when
    /// handed out, changes the state and queues our close frame.
    input_finished: bool,
    close_code: Option<u16>,
    close_reason: String,
    close_deadline: Option<Instant>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,

    /// Pings and pongs: written before `tx`, so that a pong is not delayed
    /// behind queued data.
    tx_control: Vec<u8>,
    tx: Vec<u8>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("state", &self.state)
            .field("negotiated", &self.negotiated)
            .field("buffered", &(self.filled - self.parsed))
            .field("pending_events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Starts a client connection: the upgrade request is queued for
    /// `poll_transmit`. `rng_seed` drives the handshake nonce and every mask
    /// key, so the same seed and inputs give the same bytes.
    pub fn client(config: Config, request: &HandshakeRequest, now: Instant, rng_seed: u64) -> Conn {
        let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let key = handshake::encode_key(nonce);
        let mut tx = Vec::with_capacity(4096);
        handshake::write_request(&mut tx, request, &key, config.deflate.as_ref());
        let offer = Offer {
            expected_accept: handshake::accept_for_key(&key),
            protocols: request.protocols.clone(),
            deflate: config.deflate.clone(),
            max_header_len: config.max_handshake_header,
        };
        let handshake_deadline = config.handshake_timeout.map(|t| now + t);
        let rx = vec![0; config.recv_buffer_size.max(1024)];
        Conn {
            state: State::Connecting,
            rng,
            offer: Some(offer),
            negotiated: Negotiated::default(),
            handshake_deadline,
            rx,
            filled: 0,
            parsed: 0,
            partial_checked: 0,
            utf8: Utf8Validator::new(),
            events: VecDeque::with_capacity(32),
            delivered_assembled: false,
            assembly: None,
            assembling: Vec::new(),
            assembled: VecDeque::with_capacity(4),
            spare_buffers: Vec::new(),
            inflater: None,
            deflater: None,
            deflate_scratch: Vec::new(),
            input_finished: false,
            close_code: None,
            close_reason: String::new(),
            close_deadline: None,
            next_ping: None,
            pong_deadline: None,
            tx_control: Vec::with_capacity(256),
            tx,
            config,
        }
    }

    // ---- getters ----

    /// The connection state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The subprotocol and extensions the server agreed to.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// The negotiated permessage-deflate parameters, if any.
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.negotiated.deflate.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether nothing is waiting in `poll_transmit`.
    pub fn is_transmit_empty(&self) -> bool {
        self.tx.is_empty() && self.tx_control.is_empty()
    }

    // ---- inputs ----

    /// Feeds bytes received from the transport.
    ///
    /// Input after the connection closed or failed is ignored: the state
    /// machine is finished, and only its queued output still matters.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if !self.accepts_input() {
            return;
        }
        for piece in data.chunks(INPUT_PIECE) {
            if !self.accepts_input() {
                return;
            }
            let room = self.recv_buffer(piece.len());
            room[..piece.len()].copy_from_slice(piece);
            self.handle_received(now, piece.len());
        }
    }

    /// A buffer with room for at least `min` bytes, for the transport to read
    /// into directly; report how many it wrote with [`Conn::handle_received`].
    pub fn recv_buffer(&mut self, min: usize) -> &mut [u8] {
        self.recycle_delivered();
        self.make_room(min.max(1));
        &mut self.rx[self.filled..]
    }

    /// Tells the connection that the transport wrote `n` bytes into the start
    /// of the slice [`Conn::recv_buffer`] returned.
    pub fn handle_received(&mut self, now: Instant, n: usize) {
        if !self.accepts_input() || n == 0 {
            return;
        }
        self.filled = (self.filled + n).min(self.rx.len());
        // Any data proves the peer is alive.
        self.pong_deadline = None;
        if self.state == State::Connecting {
            self.parse_handshake(now);
        }
        if self.accepts_input() && self.state != State::Connecting {
            self.parse_frames();
        }
    }

    /// Fires timers whose deadline is at or before `now`; a spurious call does
    /// nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.input_finished {
            return;
        }
        match self.state {
            State::Connecting if self.handshake_deadline.is_some_and(|d| now >= d) => {
                self.fail(WsError::HandshakeTimeout);
            }
            State::Closing if self.close_deadline.is_some_and(|d| now >= d) => {
                self.fail(WsError::CloseTimeout);
            }
            State::Open => {
                if self.pong_deadline.is_some_and(|d| now >= d) {
                    self.fail(WsError::KeepaliveTimeout);
                    return;
                }
                if let (Some(at), Some(interval)) = (self.next_ping, self.config.ping_interval) {
                    if now >= at {
                        // The payload is the send time, so a pong gives an RTT.
                        self.write_control(OpCode::Ping, &now.as_nanos().to_be_bytes());
                        self.next_ping = Some(now + interval);
                        self.pong_deadline
                            .get_or_insert(now + self.config.pong_timeout);
                    }
                }
            }
            _ => {}
        }
    }

    // ---- commands ----

    /// Queues a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send(MessageKind::Text, text.as_bytes())
    }

    /// Queues a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send(MessageKind::Binary, data)
    }

    /// Queues a message. For `Text`, `data` must be UTF-8; this is how an
    /// echo returns a received text message without re-validating it.
    pub fn send(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), SendError> {
        self.check_sendable()?;
        let opcode = match kind {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        };
        let threshold = self
            .config
            .deflate
            .as_ref()
            .map_or(usize::MAX, |d| d.compression_threshold);
        match self.deflater.as_mut() {
            Some(deflater) if data.len() >= threshold => {
                let mut compressed = std::mem::take(&mut self.deflate_scratch);
                compressed.clear();
                deflater.deflate_message(data, &mut compressed);
                self.write_data_frames(opcode, RSV1, &compressed);
                self.deflate_scratch = compressed;
            }
            _ => self.write_data_frames(opcode, 0, data),
        }
        Ok(())
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_sendable()?;
        if payload.len() > 125 {
            return Err(SendError::ControlTooLong);
        }
        self.write_control(OpCode::Ping, payload);
        Ok(())
    }

    /// Queues an unsolicited pong with up to 125 bytes of payload (RFC 6455
    /// §5.5.3 allows one as a heartbeat): KIS answers its `PINGPONG` text
    /// message with a pong frame that carries the text. Pings from the peer
    /// are answered by the codec itself.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_sendable()?;
        if payload.len() > 125 {
            return Err(SendError::ControlTooLong);
        }
        self.write_control(OpCode::Pong, payload);
        Ok(())
    }

    /// Starts the close handshake. The server has `close_timeout` from `now`
    /// to answer.
    pub fn close(&mut self, now: Instant, code: u16, reason: &str) -> Result<(), SendError> {
        self.check_sendable()?;
        if !frame::is_valid_close_code(code) {
            return Err(SendError::InvalidCloseCode(code));
        }
        if reason.len() > 123 {
            return Err(SendError::ControlTooLong);
        }
        self.write_close(code, reason);
        self.state = State::Closing;
        self.close_deadline = Some(now + self.config.close_timeout);
        Ok(())
    }

    // ---- outputs ----

    /// Appends the bytes to write to `out`; returns whether there were any.
    /// Control frames come first. When `out` is empty the buffers are
    /// swapped rather than copied, so reuse `out` to keep both allocations.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        if self.is_transmit_empty() {
            return false;
        }
        if out.is_empty() && self.tx_control.is_empty() {
            std::mem::swap(out, &mut self.tx);
        } else {
            out.extend_from_slice(&self.tx_control);
            out.extend_from_slice(&self.tx);
            self.tx_control.clear();
            self.tx.clear();
        }
        true
    }

    /// The next event. Borrowed payloads stay valid until the next call on
    /// the connection.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        self.recycle_delivered();
        Some(match self.events.pop_front()? {
            Pending::Connected => Event::Connected,
            Pending::Message { kind, start, end } => Event::Message(Message {
                kind,
                data: &mut self.rx[start..end],
            }),
            Pending::Assembled { kind } => {
                self.delivered_assembled = true;
                // Every Assembled event has its buffer pushed to `assembled`.
                let data = self
                    .assembled
                    .front_mut()
                    .map(|b| &mut b[..])
                    .unwrap_or_default();
                Event::Message(Message { kind, data })
            }
            Pending::Ping { start, end } => Event::Ping(&self.rx[start..end]),
            Pending::Pong { start, end } => Event::Pong(&self.rx[start..end]),
            Pending::Closed { by_peer } => {
                if by_peer && self.state == State::Open {
                    // Echo the peer's code; a close without one is answered with 1000.
                    self.write_close(self.close_code.unwrap_or(1000), "");
                }
                self.state = State::Closed;
                Event::Closed(CloseFrame {
                    code: self.close_code,
                    reason: &self.close_reason,
                    by_peer,
                })
            }
            Pending::Failed(error) => {
                if let (State::Open, Some(code)) = (self.state, error.close_code()) {
                    self.write_close(code, "");
                }
                self.state = State::Failed;
                Event::Failed(*error)
            }
        })
    }

    /// When to call [`Conn::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.input_finished {
            return None;
        }
        match self.state {
            State::Connecting => self.handshake_deadline,
            State::Open => match (self.next_ping, self.pong_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            State::Closing => self.close_deadline,
            State::Closed | State::Failed => None,
        }
    }

    // ---- receive internals ----

    fn accepts_input(&self) -> bool {
        !self.input_finished
            && matches!(self.state, State::Connecting | State::Open | State::Closing)
    }

    fn recycle_delivered(&mut self) {
        if std::mem::take(&mut self.delivered_assembled) {
            if let Some(buffer) = self.assembled.pop_front() {
                self.spare_buffers.push(buffer);
            }
        }
    }

    /// Makes `rx[filled..]` at least `min` long, dropping bytes that neither
    /// the parser nor a pending event needs.
    fn make_room(&mut self, min: usize) {
        // The steady state of one message per read: everything was parsed
        // and delivered, so start again at the front without a copy.
        if self.parsed == self.filled && self.events.is_empty() {
            self.parsed = 0;
            self.filled = 0;
            if self.rx.len() >= min {
                return;
            }
        }
        let keep_from = self
            .events
            .iter()
            .find_map(Pending::rx_start)
            .unwrap_or(self.parsed);
        // Compact when out of room, or when it is free (nothing to keep).
        if self.rx.len() - self.filled >= min && keep_from != self.filled {
            return;
        }
        if keep_from > 0 {
            self.rx.copy_within(keep_from..self.filled, 0);
            self.filled -= keep_from;
            self.parsed -= keep_from;
            for event in &mut self.events {
                event.shift(keep_from);
            }
        }
        if self.rx.len() - self.filled < min {
            let wanted = (self.filled + min).max(self.rx.len() * 2);
            self.rx.resize(wanted, 0);
        }
    }

    fn parse_handshake(&mut self, now: Instant) {
        // An Offer exists for as long as the state is Connecting.
        let Some(offer) = self.offer.as_ref() else {
            return;
        };
        match handshake::parse_response(&self.rx[self.parsed..self.filled], offer) {
            Ok(ResponseStatus::Partial) => {}
            Ok(ResponseStatus::Complete {
                header_len,
                negotiated,
            }) => {
                self.parsed += header_len;
                if let Some(params) = &negotiated.deflate {
                    self.inflater = Some(Inflater::new(params));
                    let level = self.config.deflate.as_ref().map_or(1, |d| d.level);
                    self.deflater = Deflater::new(params, level);
                }
                self.negotiated = negotiated;
                self.offer = None;
                self.state = State::Open;
                self.next_ping = self.config.ping_interval.map(|i| now + i);
                self.events.push_back(Pending::Connected);
            }
            Err(e) => self.fail(e.into()),
        }
    }

    fn parse_frames(&mut self) {
        while self.accepts_input() {
            let available = &self.rx[self.parsed..self.filled];
            let header = match frame::parse_header(available) {
                Ok(Some(header)) => header,
                Ok(None) => return,
                Err(frame::HeaderError::LengthOverflow) => {
                    return self.fail(ProtocolError::LengthOverflow.into());
                }
            };
            let opcode = match self.check_header(&header) {
                Ok(opcode) => opcode,
                Err(error) => return self.fail(error),
            };
            // check_header bounded payload_len by max_frame_size, a usize.
            let Ok(payload_len) = usize::try_from(header.payload_len) else {
                let limit = self.config.max_frame_size;
                return self.fail(WsError::MessageTooBig { limit });
            };
            let start = self.parsed + header.header_len;
            if self.filled - start < payload_len {
                return self.check_partial_text(opcode, header.rsv, start);
            }
            let end = start + payload_len;
            self.parsed = end;
            let checked = std::mem::take(&mut self.partial_checked);
            let result = match opcode {
                OpCode::Text | OpCode::Binary => self.on_data(
                    opcode,
                    header.fin,
                    header.rsv & RSV1 != 0,
                    start,
                    end,
                    checked,
                ),
                OpCode::Continuation => self.on_continuation(header.fin, start, end, checked),
                OpCode::Ping => {
                    if self.state == State::Open {
                        self.write_pong(start, end);
                    }
                    self.events.push_back(Pending::Ping { start, end });
                    Ok(())
                }
                OpCode::Pong => {
                    self.events.push_back(Pending::Pong { start, end });
                    Ok(())
                }
                OpCode::Close => self.on_close(start, end),
            };
            if let Err(error) = result {
                return self.fail(error);
            }
        }
    }

    fn check_header(&self, header: &frame::FrameHeader) -> Result<OpCode, WsError> {
        if header.mask.is_some() {
            return Err(ProtocolError::MaskedFrame.into());
        }
        let opcode = OpCode::from_bits(header.opcode_bits)
            .ok_or(ProtocolError::ReservedOpcode(header.opcode_bits))?;
        let allowed_rsv =
            if self.inflater.is_some() && matches!(opcode, OpCode::Text | OpCode::Binary) {
                RSV1
            } else {
                0
            };
        if header.rsv & !allowed_rsv != 0 {
            return Err(ProtocolError::ReservedBits(header.rsv).into());
        }
        if opcode.is_control() {
            if header.payload_len > 125 {
                return Err(ProtocolError::ControlTooLong.into());
            }
            if !header.fin {
                return Err(ProtocolError::FragmentedControl.into());
            }
            return Ok(opcode);
        }
        match (opcode, self.assembly.is_some()) {
            (OpCode::Continuation, false) => {
                return Err(ProtocolError::UnexpectedContinuation.into());
            }
            (OpCode::Text | OpCode::Binary, true) => {
                return Err(ProtocolError::ExpectedContinuation.into());
            }
            _ => {}
        }
        let limit = self.config.max_frame_size.min(self.config.max_message_size);
        let so_far = if opcode == OpCode::Continuation {
            self.assembling.len() as u64
        } else {
            0
        };
        if header.payload_len.saturating_add(so_far) > limit as u64 {
            return Err(WsError::MessageTooBig { limit });
        }
        Ok(opcode)
    }

    /// Validates the UTF-8 of a text frame that has only partly arrived, so
    /// an invalid byte fails the connection at once (RFC 6455 §8.1).
    fn check_partial_text(&mut self, opcode: OpCode, rsv: u8, payload_start: usize) {
        let is_plain_text = match opcode {
            OpCode::Text => rsv & RSV1 == 0,
            OpCode::Continuation => matches!(
                self.assembly,
                Some(Assembly {
                    kind: MessageKind::Text,
                    compressed: false
                })
            ),
            _ => false,
        };
        let arrived = self.filled - payload_start;
        if !is_plain_text || arrived <= self.partial_checked {
            return;
        }
        let new_bytes = &self.rx[payload_start + self.partial_checked..self.filled];
        if self.utf8.feed(new_bytes).is_err() {
            return self.fail(WsError::InvalidUtf8);
        }
        self.partial_checked = arrived;
    }

    fn on_data(
        &mut self,
        opcode: OpCode,
        fin: bool,
        compressed: bool,
        start: usize,
        end: usize,
        checked: usize,
    ) -> Result<(), WsError> {
        let kind = if opcode == OpCode::Text {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        if fin && !compressed {
            if kind == MessageKind::Text {
                let valid = if checked == 0 {
                    super::utf8::is_valid(&self.rx[start..end])
                } else {
                    self.utf8.feed(&self.rx[start + checked..end]).is_ok()
                        && self.utf8.finish().is_ok()
                };
                if !valid {
                    return Err(WsError::InvalidUtf8);
                }
            }
            self.events.push_back(Pending::Message { kind, start, end });
            return Ok(());
        }
        self.assembly = Some(Assembly { kind, compressed });
        self.assembling.clear();
        self.on_continuation(fin, start, end, checked)
    }

    fn on_continuation(
        &mut self,
        fin: bool,
        start: usize,
        end: usize,
        checked: usize,
    ) -> Result<(), WsError> {
        // check_header only lets a continuation through while assembling.
        let Some(assembly) = self.assembly else {
            return Err(ProtocolError::UnexpectedContinuation.into());
        };
        let limit = self.config.max_message_size;
        let before = self.assembling.len();
        if assembly.compressed {
            // RSV1 on the first frame means an inflater was negotiated.
            let Some(inflater) = self.inflater.as_mut() else {
                return Err(ProtocolError::ReservedBits(RSV1).into());
            };
            inflater
                .inflate(&self.rx[start..end], &mut self.assembling, limit)
                .map_err(inflate_error(limit))?;
            if fin {
                inflater
                    .finish_message(&mut self.assembling, limit)
                    .map_err(inflate_error(limit))?;
            }
            if assembly.kind == MessageKind::Text
                && self.utf8.feed(&self.assembling[before..]).is_err()
            {
                return Err(WsError::InvalidUtf8);
            }
        } else {
            if assembly.kind == MessageKind::Text
                && self.utf8.feed(&self.rx[start + checked..end]).is_err()
            {
                return Err(WsError::InvalidUtf8);
            }
            self.assembling.extend_from_slice(&self.rx[start..end]);
        }
        if fin {
            if assembly.kind == MessageKind::Text && self.utf8.finish().is_err() {
                return Err(WsError::InvalidUtf8);
            }
            let next = self.spare_buffers.pop().unwrap_or_default();
            let done = std::mem::replace(&mut self.assembling, next);
            self.assembled.push_back(done);
            self.assembly = None;
            self.events.push_back(Pending::Assembled {
                kind: assembly.kind,
            });
        }
        Ok(())
    }

    fn on_close(&mut self, start: usize, end: usize) -> Result<(), WsError> {
        let (code, reason) =
            frame::parse_close_payload(&self.rx[start..end]).map_err(ProtocolError::BadClose)?;
        self.close_code = code;
        self.close_reason.clear();
        self.close_reason.push_str(reason);
        self.input_finished = true;
        self.events.push_back(Pending::Closed {
            by_peer: self.state == State::Open,
        });
        Ok(())
    }

    /// Fails the connection: no more input is taken, and the error is
    /// reported after the events before it; handing it out queues the close.
    fn fail(&mut self, error: WsError) {
        self.input_finished = true;
        self.assembly = None;
        self.utf8.reset();
        if let Some(inflater) = self.inflater.as_mut() {
            inflater.reset();
        }
        self.events.push_back(Pending::Failed(Box::new(error)));
    }

    // ---- transmit internals ----

    fn check_sendable(&self) -> Result<(), SendError> {
        match self.state {
            State::Open => Ok(()),
            State::Connecting => Err(SendError::NotOpen),
            State::Closing | State::Closed | State::Failed => Err(SendError::Closed),
        }
    }

    fn mask_key(&mut self) -> [u8; 4] {
        self.rng.next_u32().to_ne_bytes()
    }

    fn write_data_frames(&mut self, opcode: OpCode, rsv: u8, payload: &[u8]) {
        let chunk = self
            .config
            .max_send_frame_payload
            .unwrap_or(usize::MAX)
            .max(1);
        if payload.len() <= chunk {
            let mask = self.mask_key();
            frame::write_frame(&mut self.tx, true, rsv, opcode, Some(mask), payload);
            return;
        }
        let mut pieces = payload.chunks(chunk).peekable();
        let (mut op, mut bits) = (opcode, rsv);
        while let Some(piece) = pieces.next() {
            let mask = self.mask_key();
            frame::write_frame(
                &mut self.tx,
                pieces.peek().is_none(),
                bits,
                op,
                Some(mask),
                piece,
            );
            (op, bits) = (OpCode::Continuation, 0);
        }
    }

    fn write_control(&mut self, opcode: OpCode, payload: &[u8]) {
        let mask = self.mask_key();
        frame::write_frame(&mut self.tx_control, true, 0, opcode, Some(mask), payload);
    }

    fn write_pong(&mut self, start: usize, end: usize) {
        let mask = self.mask_key();
        frame::write_frame(
            &mut self.tx_control,
            true,
            0,
            OpCode::Pong,
            Some(mask),
            &self.rx[start..end],
        );
    }

    fn write_close(&mut self, code: u16, reason: &str) {
        let mut payload = [0u8; 125];
        payload[..2].copy_from_slice(&code.to_be_bytes());
        let reason = &reason.as_bytes()[..reason.len().min(123)];
        payload[2..2 + reason.len()].copy_from_slice(reason);
        // A close goes behind data already queued (it ends the stream);
        // only pings and pongs may overtake data.
        let mask = self.mask_key();
        frame::write_frame(
            &mut self.tx,
            true,
            0,
            OpCode::Close,
            Some(mask),
            &payload[..2 + reason.len()],
        );
    }
}

fn inflate_error(limit: usize) -> impl Fn(InflateError) -> WsError {
    move |e| match e {
        InflateError::TooBig => WsError::MessageTooBig { limit },
        InflateError::Corrupt => WsError::InvalidCompressedData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_of_pending_is_small() {
        // A push of a large enum onto the queue stalled the parse loop
        // (store forwarding); keep the descriptor at three words.
        assert!(size_of::<Pending>() <= 24, "{}", size_of::<Pending>());
    }
}
