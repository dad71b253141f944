//! One WebSocket connection across its reconnects: TCP connect, TLS, the
//! codec, the open sequence, the data watchdog and the retry schedule.
//!
//! The reactor owns every `Connection` and calls it on readiness, on its
//! deadline and on commands; the connection reports through an [`Outbox`].

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use orderwire_protocol::Instant;
use orderwire_protocol::ws::{self, HandshakeRequest, MessageKind};

use crate::backoff::Backoff;
use crate::config::{ConnectionConfig, OpenSink};
use crate::event::{Command, ConnError, ConnId, Disconnect, EngineEvent, Rejection};
use crate::pool::BufferPool;
use crate::tls::TlsConfig;
use crate::transport::{ReadStatus, Transport};

/// Messages sent while the connection is down wait here, up to this many.
const BACKLOG_LIMIT: usize = 4096;

/// Where a connection reports: the reactor's event queue and buffer pool.
pub(crate) trait Outbox {
    fn emit(&mut self, event: EngineEvent);
    fn pool(&self) -> &BufferPool;
    /// The driver's per-connect hooks (for connections without their own
    /// `OpenSequence`).
    fn hooks(&mut self) -> &mut dyn crate::config::ConnHooks;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the next attempt (the deadline is its start).
    Waiting,
    /// TCP connect in flight.
    TcpConnecting,
    /// TLS and WebSocket handshakes.
    Handshaking,
    /// Open: messages flow.
    Open,
    /// We sent a close frame; waiting for the server's.
    Closing,
    /// Gone for good.
    Dead,
}

pub(crate) struct Connection {
    pub(crate) id: ConnId,
    token: Token,
    config: ConnectionConfig,
    request: HandshakeRequest,
    tls: Option<TlsConfig>,
    addrs: Vec<SocketAddr>,
    next_addr: usize,
    phase: Phase,
    transport: Option<Transport>,
    ws: Option<ws::Conn>,
    backoff: Backoff,
    /// Successful opens so far.
    opens: u32,
    /// Connect, TLS or reconnect deadline, depending on the phase (ns).
    phase_deadline: Option<u64>,
    last_data_ns: u64,
    backlog: VecDeque<(MessageKind, Vec<u8>)>,
    transmit: Vec<u8>,
    /// Closed or disconnected on request: no reconnect afterwards.
    ending: bool,
    /// A close asked for before the connection opened: sent once it opens,
    /// after the open sequence and the backlog.
    close_on_open: Option<(u16, String)>,
    seed: u64,
    /// Readiness arrived while the event queue was full; read later.
    read_deferred: bool,
    /// The peer has shut its side (epoll said `RDHUP`, or an error): read
    /// until the end, since no later edge will come for an end already
    /// queued behind the data a short read takes.
    read_closed: bool,
    /// The interest registered now, so that `epoll_ctl` runs only when it
    /// changes (a syscall per message otherwise).
    write_interest: bool,
}

impl Connection {
    /// A connection that starts its first attempt at `now_ns`.
    pub(crate) fn new(
        id: ConnId,
        token: Token,
        config: ConnectionConfig,
        addrs: Vec<SocketAddr>,
        seed: u64,
        now_ns: u64,
    ) -> Result<Connection, ConnError> {
        let request = HandshakeRequest::from_url(&config.url)
            .map_err(|e| ConnError::Config(e.to_string()))?;
        if addrs.is_empty() {
            return Err(ConnError::Config(format!(
                "{} resolved to no address",
                request.host
            )));
        }
        let tls = if request.secure {
            Some(match &config.tls {
                Some(tls) => tls.clone(),
                None => TlsConfig::webpki_roots().map_err(|e| ConnError::Tls(e.to_string()))?,
            })
        } else {
            None
        };
        let backoff = Backoff::new(config.reconnect.clone(), seed);
        Ok(Connection {
            id,
            token,
            config,
            request,
            tls,
            addrs,
            next_addr: 0,
            phase: Phase::Waiting,
            transport: None,
            ws: None,
            backoff,
            opens: 0,
            phase_deadline: Some(now_ns),
            last_data_ns: now_ns,
            backlog: VecDeque::new(),
            transmit: Vec::with_capacity(16 << 10),
            ending: false,
            close_on_open: None,
            seed,
            read_deferred: false,
            read_closed: false,
            write_interest: false,
        })
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.phase == Phase::Dead
    }

    /// The earliest time this connection needs `on_timeout`.
    pub(crate) fn deadline(&self) -> Option<u64> {
        let ws = self
            .ws
            .as_ref()
            .and_then(|ws| ws.poll_timeout())
            .map(Instant::as_nanos);
        let watchdog = match (self.phase, self.config.data_timeout) {
            (Phase::Open, Some(limit)) => Some(self.last_data_ns + nanos(limit)),
            _ => None,
        };
        [self.phase_deadline, ws, watchdog]
            .into_iter()
            .flatten()
            .min()
    }

    // ---- commands ----

    pub(crate) fn command(
        &mut self,
        registry: &Registry,
        command: Command,
        now_ns: u64,
        out: &mut impl Outbox,
    ) {
        match command {
            Command::Send { conn, kind, data } => match self.phase {
                Phase::Open => {
                    match self.ws.as_mut().map(|ws| ws.send(kind, &data)) {
                        Some(Err(error)) => out.emit(EngineEvent::Rejected {
                            command: Command::Send { conn, kind, data },
                            reason: Rejection::Invalid(error.to_string()),
                        }),
                        // Framed into the codec's buffer: the payload is free.
                        _ => out.pool().give(data),
                    }
                    self.pump(registry, now_ns, false, out);
                }
                Phase::Closing | Phase::Dead => out.emit(EngineEvent::Rejected {
                    command: Command::Send { conn, kind, data },
                    reason: Rejection::Closing,
                }),
                _ if self.ending => out.emit(EngineEvent::Rejected {
                    command: Command::Send { conn, kind, data },
                    reason: Rejection::Closing,
                }),
                _ if self.backlog.len() >= BACKLOG_LIMIT => out.emit(EngineEvent::Rejected {
                    command: Command::Send { conn, kind, data },
                    reason: Rejection::Invalid(format!(
                        "{BACKLOG_LIMIT} messages already wait for the connection to open"
                    )),
                }),
                _ => self.backlog.push_back((kind, data)),
            },
            Command::Ping { conn, data } => self.control(registry, now_ns, out, conn, data, true),
            Command::Pong { conn, data } => self.control(registry, now_ns, out, conn, data, false),
            Command::Close { conn, code, reason } => {
                self.ending = true;
                match (self.phase, self.ws.as_mut()) {
                    (Phase::Open, Some(ws)) => match ws.close(Instant(now_ns), code, &reason) {
                        Ok(()) => {
                            self.phase = Phase::Closing;
                            self.pump(registry, now_ns, false, out);
                        }
                        Err(error) => {
                            self.ending = false;
                            out.emit(EngineEvent::Rejected {
                                command: Command::Close { conn, code, reason },
                                reason: Rejection::Invalid(error.to_string()),
                            });
                        }
                    },
                    (Phase::Closing | Phase::Dead, _) => {}
                    (Phase::Waiting, _) if self.opens > 0 => {
                        // Between attempts: nothing to close politely.
                        self.went_down(registry, Disconnect::Requested, now_ns, out);
                    }
                    // Opening: what was queued goes out first, then the close.
                    _ => self.close_on_open = Some((code, reason)),
                }
            }
            Command::Reconnect { conn } => match (self.phase, self.ws.as_mut()) {
                // `ending` stays false: once the close completes, the
                // connection goes down and reconnects as after any drop.
                (Phase::Open, Some(ws)) => {
                    if ws.close(Instant(now_ns), 1000, "reconnecting").is_ok() {
                        self.phase = Phase::Closing;
                    }
                    self.pump(registry, now_ns, false, out);
                }
                (Phase::Closing | Phase::Dead, _) => {}
                _ => out.emit(EngineEvent::Rejected {
                    command: Command::Reconnect { conn },
                    reason: Rejection::Closing,
                }),
            },
            Command::Disconnect { .. } => {
                self.ending = true;
                if self.phase != Phase::Dead {
                    self.went_down(registry, Disconnect::Requested, now_ns, out);
                }
            }
            other => out.emit(EngineEvent::Rejected {
                command: other,
                reason: Rejection::Invalid("not a per-connection command".into()),
            }),
        }
    }

    /// A ping (`ping`) or an unsolicited pong: sent if open, else the
    /// command comes back as `Rejected`.
    fn control(
        &mut self,
        registry: &Registry,
        now_ns: u64,
        out: &mut impl Outbox,
        conn: ConnId,
        data: Vec<u8>,
        ping: bool,
    ) {
        let result = match (self.phase, self.ws.as_mut()) {
            (Phase::Open, Some(ws)) if ping => ws.ping(&data),
            (Phase::Open, Some(ws)) => ws.pong(&data),
            _ => {
                let command = if ping {
                    Command::Ping { conn, data }
                } else {
                    Command::Pong { conn, data }
                };
                return out.emit(EngineEvent::Rejected {
                    command,
                    reason: Rejection::Closing,
                });
            }
        };
        match result {
            Ok(()) => {
                out.pool().give(data);
                self.pump(registry, now_ns, false, out);
            }
            Err(error) => {
                let command = if ping {
                    Command::Ping { conn, data }
                } else {
                    Command::Pong { conn, data }
                };
                out.emit(EngineEvent::Rejected {
                    command,
                    reason: Rejection::Invalid(error.to_string()),
                });
            }
        }
    }

    /// Starts the close handshake for shutdown, or drops a connection that
    /// is not open.
    pub(crate) fn shut_down(&mut self, registry: &Registry, now_ns: u64, out: &mut impl Outbox) {
        self.ending = true;
        match (self.phase, self.ws.as_mut()) {
            (Phase::Open, Some(ws)) => {
                if ws.close(Instant(now_ns), 1001, "shutting down").is_ok() {
                    self.phase = Phase::Closing;
                }
                self.pump(registry, now_ns, false, out);
            }
            (Phase::Closing | Phase::Dead, _) => {}
            _ => self.went_down(registry, Disconnect::Requested, now_ns, out),
        }
    }

    /// Ends the connection now, for good, reporting `reason` (the shutdown
    /// grace ran out, or the reactor itself failed).
    pub(crate) fn abort(
        &mut self,
        registry: &Registry,
        reason: Disconnect,
        now_ns: u64,
        out: &mut impl Outbox,
    ) {
        self.ending = true;
        if self.phase != Phase::Dead {
            self.went_down(registry, reason, now_ns, out);
        }
    }

    // ---- readiness and time ----

    pub(crate) fn on_ready(
        &mut self,
        registry: &Registry,
        event: &mio::event::Event,
        now_ns: u64,
        out: &mut impl Outbox,
        reads_allowed: bool,
    ) {
        match self.phase {
            Phase::TcpConnecting => self.finish_connect(registry, event, now_ns, out),
            Phase::Handshaking | Phase::Open | Phase::Closing => {
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.read_deferred = true;
                }
                if event.is_read_closed() || event.is_error() {
                    self.read_closed = true;
                }
                // While the event queue is full the read waits (the flag
                // stays set), which pushes back on the server through TCP.
                let read = reads_allowed && std::mem::take(&mut self.read_deferred);
                self.pump(registry, now_ns, read, out);
            }
            Phase::Waiting | Phase::Dead => {}
        }
    }

    /// Reads that were put off while the event queue was full.
    pub(crate) fn resume_deferred_read(
        &mut self,
        registry: &Registry,
        now_ns: u64,
        out: &mut impl Outbox,
    ) {
        if std::mem::take(&mut self.read_deferred) {
            self.pump(registry, now_ns, true, out);
        }
    }

    pub(crate) fn on_timeout(&mut self, registry: &Registry, now_ns: u64, out: &mut impl Outbox) {
        let due = |deadline: Option<u64>| deadline.is_some_and(|d| d <= now_ns);
        match self.phase {
            Phase::Waiting if due(self.phase_deadline) => self.start_attempt(registry, now_ns, out),
            Phase::TcpConnecting if due(self.phase_deadline) => {
                self.fail(registry, ConnError::ConnectTimeout, now_ns, out);
            }
            Phase::Handshaking
                if due(self.phase_deadline)
                    && self
                        .transport
                        .as_ref()
                        .is_some_and(Transport::is_tls_handshaking) =>
            {
                self.fail(registry, ConnError::TlsTimeout, now_ns, out);
            }
            Phase::Open
                if self
                    .config
                    .data_timeout
                    .is_some_and(|limit| now_ns >= self.last_data_ns + nanos(limit)) =>
            {
                let limit = self.config.data_timeout.unwrap_or_default();
                self.fail(registry, ConnError::DataTimeout(limit), now_ns, out);
            }
            _ => {
                if let Some(ws) = self.ws.as_mut() {
                    ws.handle_timeout(Instant(now_ns));
                    self.pump(registry, now_ns, false, out);
                }
            }
        }
    }

    // ---- the attempt ----

    fn start_attempt(&mut self, registry: &Registry, now_ns: u64, out: &mut impl Outbox) {
        self.backoff.attempt_started(now_ns);
        let addr = self.addrs[self.next_addr % self.addrs.len()];
        self.next_addr = self.next_addr.wrapping_add(1);
        match self.open_socket(addr) {
            Ok(mut tcp) => {
                if let Err(error) = registry.register(
                    &mut tcp,
                    self.token,
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    return self.fail(registry, error.into(), now_ns, out);
                }
                self.transport = Some(Transport::plain(tcp));
                self.read_closed = false;
                self.write_interest = true;
                self.phase = Phase::TcpConnecting;
                self.phase_deadline = Some(now_ns + nanos(self.config.connect_timeout));
            }
            Err(error) => self.fail(registry, error.into(), now_ns, out),
        }
    }

    fn open_socket(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        socket.set_tcp_nodelay(true)?;
        if let Some(size) = self.config.socket_send_buffer {
            socket.set_send_buffer_size(size)?;
        }
        if let Some(size) = self.config.socket_recv_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e)
                if e.raw_os_error() == Some(libc_einprogress())
                    || e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        Ok(TcpStream::from_std(socket.into()))
    }

    fn finish_connect(
        &mut self,
        registry: &Registry,
        event: &mio::event::Event,
        now_ns: u64,
        out: &mut impl Outbox,
    ) {
        let Some(transport) = self.transport.as_mut() else {
            return;
        };
        let tcp = transport.tcp_mut();
        match tcp.take_error() {
            Ok(None) => {}
            Ok(Some(error)) | Err(error) => return self.fail(registry, error.into(), now_ns, out),
        }
        match tcp.peer_addr() {
            Ok(_) => {}
            Err(e)
                if e.kind() == io::ErrorKind::NotConnected
                    && !event.is_error()
                    && !event.is_write_closed() =>
            {
                return;
            }
            Err(e) => return self.fail(registry, e.into(), now_ns, out),
        }
        // Connected: TLS (if any) and the WebSocket handshake start now.
        let Some(Transport::Plain { tcp, .. }) = self.transport.take() else {
            return;
        };
        let transport = match &self.tls {
            Some(tls) => match tls.connect(&self.request.host) {
                Ok(session) => {
                    self.phase_deadline = Some(now_ns + nanos(self.config.tls_timeout));
                    Transport::tls(tcp, session)
                }
                Err(error) => {
                    self.transport = Some(Transport::plain(tcp));
                    self.read_closed = false;
                    return self.fail(registry, ConnError::Tls(error.to_string()), now_ns, out);
                }
            },
            None => {
                self.phase_deadline = None;
                Transport::plain(tcp)
            }
        };
        self.transport = Some(transport);
        self.read_closed = false;
        self.seed = self.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        // Fixed headers, then what the open-sequence hook makes for this
        // attempt (a fresh JWT nonce): once per attempt, never in steady state.
        self.request.headers.clone_from(&self.config.headers);
        match self.config.open_sequence.as_mut() {
            Some(sequence) => sequence.handshake_headers(self.opens, &mut self.request.headers),
            None => out
                .hooks()
                .handshake_headers(self.id, self.opens, &mut self.request.headers),
        }
        self.ws = Some(ws::Conn::client(
            self.config.ws.clone(),
            &self.request,
            Instant(now_ns),
            self.seed,
        ));
        self.phase = Phase::Handshaking;
        self.pump(registry, now_ns, true, out);
    }

    /// Reads (when `read`), hands codec events out, writes what the codec
    /// has to send, and updates interest.
    fn pump(&mut self, registry: &Registry, now_ns: u64, read: bool, out: &mut impl Outbox) {
        let to_end = self.read_closed;
        let (Some(transport), Some(ws)) = (self.transport.as_mut(), self.ws.as_mut()) else {
            return;
        };
        let mut eof = false;
        if read {
            match transport.read_into(ws, Instant(now_ns), to_end) {
                Ok(ReadStatus::Open) => {}
                Ok(ReadStatus::Eof) => eof = true,
                Err(error) => return self.fail_io(registry, error, now_ns, out),
            }
        }
        if self.phase == Phase::Handshaking && !transport.is_tls_handshaking() && self.tls.is_some()
        {
            self.phase_deadline = None;
        }
        if let Some(down) = self.drain_codec(now_ns, out) {
            // Best effort: our answer to a close, or our close for a failure.
            let _ = self.flush_codec();
            return self.went_down(registry, down, now_ns, out);
        }
        if let Err(error) = self.flush_codec() {
            return self.fail_io(registry, error, now_ns, out);
        }
        if eof {
            return self.fail(registry, ConnError::Eof, now_ns, out);
        }
        if let Some(transport) = self.transport.as_mut() {
            let wants_write = transport.wants_write();
            if wants_write != self.write_interest {
                let interest = if wants_write {
                    Interest::READABLE | Interest::WRITABLE
                } else {
                    Interest::READABLE
                };
                if let Err(error) = registry.reregister(transport.tcp_mut(), self.token, interest) {
                    return self.fail(registry, error.into(), now_ns, out);
                }
                self.write_interest = wants_write;
            }
        }
    }

    /// Hands codec events out; returns why the connection ended, if it did.
    fn drain_codec(&mut self, now_ns: u64, out: &mut impl Outbox) -> Option<Disconnect> {
        loop {
            let ws = self.ws.as_mut()?;
            let event = ws.poll_event()?;
            match event {
                ws::Event::Connected => {
                    self.phase = Phase::Open;
                    self.phase_deadline = None;
                    self.backoff.opened();
                    self.last_data_ns = now_ns;
                    match self.config.open_sequence.as_mut() {
                        Some(sequence) => sequence.on_open(self.opens, &mut OpenSink { conn: ws }),
                        None => {
                            out.hooks()
                                .on_open(self.id, self.opens, &mut OpenSink { conn: ws })
                        }
                    }
                    while let Some((kind, data)) = self.backlog.pop_front() {
                        let _ = ws.send(kind, &data);
                        out.pool().give(data);
                    }
                    if let Some((code, reason)) = self.close_on_open.take() {
                        if ws.close(Instant(now_ns), code, &reason).is_ok() {
                            self.phase = Phase::Closing;
                        }
                    }
                    tracing::info!(conn = self.id.0, attempt = self.opens, "connected");
                    out.emit(EngineEvent::Connected {
                        conn: self.id,
                        attempt: self.opens,
                        at_ns: now_ns,
                    });
                    self.opens += 1;
                }
                ws::Event::Message(message) => {
                    let mut data = out.pool().take();
                    data.extend_from_slice(message.data);
                    let kind = message.kind;
                    self.last_data_ns = now_ns;
                    out.emit(EngineEvent::Message {
                        conn: self.id,
                        kind,
                        data,
                        received_at_ns: now_ns,
                    });
                }
                ws::Event::Ping(_) | ws::Event::Pong(_) => {}
                ws::Event::Closed(frame) => {
                    return Some(Disconnect::Closed {
                        code: frame.code,
                        reason: frame.reason.to_owned(),
                        by_peer: frame.by_peer,
                    });
                }
                ws::Event::Failed(error) => {
                    return Some(Disconnect::Failed(ConnError::Ws(error)));
                }
            }
        }
    }

    /// Moves what the codec has to send into the transport.
    fn flush_codec(&mut self) -> io::Result<()> {
        let (Some(transport), Some(ws)) = (self.transport.as_mut(), self.ws.as_mut()) else {
            return Ok(());
        };
        while ws.poll_transmit(&mut self.transmit) {
            let result = transport.write_all(&self.transmit);
            if let (Some(probe), Ok(())) = (self.config.write_probe, &result) {
                probe(self.transmit.len());
            }
            self.transmit.clear();
            result?;
        }
        transport.flush()
    }

    fn fail_io(
        &mut self,
        registry: &Registry,
        error: io::Error,
        now_ns: u64,
        out: &mut impl Outbox,
    ) {
        let error = match error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(tls) => ConnError::Tls(tls.to_string()),
            None => ConnError::Io(error),
        };
        self.fail(registry, error, now_ns, out);
    }

    fn fail(&mut self, registry: &Registry, error: ConnError, now_ns: u64, out: &mut impl Outbox) {
        self.went_down(registry, Disconnect::Failed(error), now_ns, out);
    }

    /// Tears the transport down, reports, and schedules the next attempt or
    /// ends for good.
    fn went_down(
        &mut self,
        registry: &Registry,
        reason: Disconnect,
        now_ns: u64,
        out: &mut impl Outbox,
    ) {
        if let Some(mut transport) = self.transport.take() {
            if matches!(reason, Disconnect::Closed { .. }) {
                transport.send_close_notify();
            }
            let _ = registry.deregister(transport.tcp_mut());
        }
        self.ws = None;
        self.read_deferred = false;
        // Handshake and TLS failures arrive here too, as the reason. A
        // close we asked for (shutdown, a disconnect, a recycle) is routine;
        // WARN is kept for what a person should look at.
        if self.ending || reason.by_us() {
            tracing::info!(conn = self.id.0, reason = ?reason, "disconnected as asked");
        } else {
            tracing::warn!(conn = self.id.0, reason = ?reason, "disconnected");
        }
        // A venue that refused the handshake for its rate (429, 418) is
        // given at least the wait it asks for.
        let floor = crate::backoff::refusal_floor(&reason).map(nanos);
        out.emit(EngineEvent::Disconnected {
            conn: self.id,
            reason,
        });
        let retry = if self.ending {
            None
        } else {
            self.backoff
                .next_attempt(now_ns)
                .map(|(attempt, at)| (attempt, floor.map_or(at, |f| at.max(now_ns + f))))
        };
        match retry {
            Some((attempt, at)) => {
                self.phase = Phase::Waiting;
                self.phase_deadline = Some(at);
                tracing::info!(
                    conn = self.id.0,
                    attempt,
                    backoff_ms = (at - now_ns) / 1_000_000,
                    "reconnecting"
                );
                out.emit(EngineEvent::Reconnecting {
                    conn: self.id,
                    attempt,
                    delay: Duration::from_nanos(at - now_ns),
                });
            }
            None => {
                self.phase = Phase::Dead;
                self.phase_deadline = None;
                for (kind, data) in self.backlog.drain(..) {
                    out.emit(EngineEvent::Rejected {
                        command: Command::Send {
                            conn: self.id,
                            kind,
                            data,
                        },
                        reason: Rejection::Closing,
                    });
                }
                tracing::info!(conn = self.id.0, "closed");
                out.emit(EngineEvent::Closed { conn: self.id });
            }
        }
    }
}

use crate::clock::nanos;

const fn libc_einprogress() -> i32 {
    // EINPROGRESS on Linux; the engine targets Linux (mio's epoll).
    115
}
