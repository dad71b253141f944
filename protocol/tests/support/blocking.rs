//! A minimal blocking driver for `Conn` over a std `TcpStream` (plain ws://).
//! Test and example code only: the engine is the real driver. It follows the
//! `Conn` contract: after every input or command it drains events and
//! transmits, and it sleeps in `read` no longer than `poll_timeout` allows.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods, dead_code)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use orderwire_protocol::Instant;
use orderwire_protocol::ws::handshake::HandshakeRequest;
use orderwire_protocol::ws::{Config, Conn, Event, MessageKind};

/// An owned event, as the driver hands it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Received {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Closed {
        code: Option<u16>,
        reason: String,
        by_peer: bool,
    },
    Failed(String),
    /// The peer closed TCP.
    Eof,
}

pub(crate) struct BlockingClient {
    pub stream: TcpStream,
    pub conn: Conn,
    out: Vec<u8>,
    origin: std::time::Instant,
    queue: std::collections::VecDeque<Received>,
    /// Longest a read may block when no timer is due.
    pub idle_read_timeout: Duration,
    connected: bool,
    early: Option<Received>,
}

impl BlockingClient {
    /// Connects and completes the handshake.
    pub(crate) fn connect(url: &str, config: Config, seed: u64) -> io::Result<BlockingClient> {
        let request = HandshakeRequest::from_url(url).map_err(io::Error::other)?;
        let stream = TcpStream::connect((request.host.as_str(), request.port))?;
        stream.set_nodelay(true)?;
        let origin = std::time::Instant::now();
        let conn = Conn::client(config, &request, Instant(0), seed);
        let mut client = BlockingClient {
            stream,
            conn,
            out: Vec::with_capacity(1 << 16),
            origin,
            queue: Default::default(),
            idle_read_timeout: Duration::from_secs(10),
            connected: false,
            early: None,
        };
        client.flush()?;
        loop {
            client.read_some()?;
            // Connected is consumed by poll_one; anything before it is a failure.
            if let Some(event) = client.poll_one()? {
                if !client.connected {
                    return Err(io::Error::other(format!("handshake: {event:?}")));
                }
                // A message that arrived with the 101 response.
                client.early = Some(event);
            }
            if client.connected {
                return Ok(client);
            }
            if let Some(eof) = client.queue.pop_front() {
                return Err(io::Error::other(format!("handshake: {eof:?}")));
            }
        }
    }

    fn now(&self) -> Instant {
        Instant(self.origin.elapsed().as_nanos() as u64)
    }

    /// Writes whatever the connection queued.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.clear();
        if self.conn.poll_transmit(&mut self.out) {
            self.stream.write_all(&self.out)?;
        }
        Ok(())
    }

    /// Hands out one event, so that the caller acts on it (an echo, say)
    /// before the next is taken: a failure after a message then goes out
    /// after the reply to that message.
    fn poll_one(&mut self) -> io::Result<Option<Received>> {
        loop {
            let Some(event) = self.conn.poll_event() else {
                self.flush()?;
                return Ok(None);
            };
            let owned = match event {
                Event::Connected => {
                    self.connected = true;
                    continue;
                }
                Event::Message(m) => match m.kind {
                    MessageKind::Text => {
                        Received::Text(String::from_utf8_lossy(m.data).into_owned())
                    }
                    MessageKind::Binary => Received::Binary(m.data.to_vec()),
                },
                Event::Ping(p) => Received::Ping(p.to_vec()),
                Event::Pong(p) => Received::Pong(p.to_vec()),
                Event::Closed(c) => Received::Closed {
                    code: c.code,
                    reason: c.reason.into(),
                    by_peer: c.by_peer,
                },
                Event::Failed(e) => Received::Failed(e.to_string()),
            };
            self.flush()?;
            return Ok(Some(owned));
        }
    }

    /// One read (bounded by the next timer), then events and transmits.
    fn read_some(&mut self) -> io::Result<()> {
        let now = self.now();
        let wait = match self.conn.poll_timeout() {
            Some(at) => at
                .saturating_duration_since(now)
                .max(Duration::from_millis(1)),
            None => self.idle_read_timeout,
        };
        self.stream.set_read_timeout(Some(wait))?;
        let buffer = self.conn.recv_buffer(16 * 1024);
        match self.stream.read(buffer) {
            Ok(0) => self.queue.push_back(Received::Eof),
            Ok(n) => {
                let now = self.now();
                self.conn.handle_received(now, n);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if self.conn.poll_timeout().is_none() {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "nothing received"));
                }
            }
            Err(e) => return Err(e),
        }
        let now = self.now();
        self.conn.handle_timeout(now);
        self.flush()
    }

    /// The next event, reading as needed.
    pub(crate) fn next(&mut self) -> io::Result<Received> {
        loop {
            if let Some(event) = self.early.take() {
                return Ok(event);
            }
            if let Some(event) = self.poll_one()? {
                return Ok(event);
            }
            if let Some(event) = self.queue.pop_front() {
                return Ok(event);
            }
            if matches!(
                self.conn.state(),
                orderwire_protocol::ws::State::Closed | orderwire_protocol::ws::State::Failed
            ) {
                // Finished: the only thing left is the peer's TCP close.
                self.read_some()?;
                if self.queue.is_empty() {
                    return Ok(Received::Eof);
                }
                continue;
            }
            self.read_some()?;
        }
    }

    /// The next message, skipping pings and pongs.
    pub(crate) fn next_message(&mut self) -> io::Result<Received> {
        loop {
            match self.next()? {
                Received::Ping(_) | Received::Pong(_) => continue,
                other => return Ok(other),
            }
        }
    }

    pub(crate) fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.conn.send_text(text).map_err(io::Error::other)?;
        self.flush()
    }

    pub(crate) fn send_binary(&mut self, data: &[u8]) -> io::Result<()> {
        self.conn.send_binary(data).map_err(io::Error::other)?;
        self.flush()
    }

    pub(crate) fn ping(&mut self, payload: &[u8]) -> io::Result<()> {
        self.conn.ping(payload).map_err(io::Error::other)?;
        self.flush()
    }

    pub(crate) fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        let now = self.now();
        self.conn
            .close(now, code, reason)
            .map_err(io::Error::other)?;
        self.flush()
    }
}
