//! Bytes between a socket and the WebSocket codec: plain TCP or rustls.
//!
//! Reads go straight into the codec's receive buffer (`recv_buffer` /
//! `handle_received`), so a plain `ws://` message is copied once, by the
//! kernel. Writes try the socket first and keep only what it refused.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use orderwire_protocol::Instant;
use orderwire_protocol::ws::Conn;

/// The smallest free space offered to a read.
const READ_CHUNK: usize = 16 << 10;

/// Whether the peer ended the byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadStatus {
    /// The stream is still open.
    Open,
    /// The peer closed its side (TCP FIN or TLS close_notify).
    Eof,
}

/// A connected socket, with TLS or without.
pub(crate) enum Transport {
    Plain {
        tcp: TcpStream,
        /// Bytes the socket has not taken yet.
        unsent: Unsent,
    },
    Tls {
        tcp: TcpStream,
        tls: Box<rustls::ClientConnection>,
        /// Ciphertext read from the socket, fed to rustls from here so that
        /// a short read can end the read loop without a `WouldBlock` read.
        inbound: Box<[u8]>,
    },
}

impl Transport {
    pub(crate) fn plain(tcp: TcpStream) -> Transport {
        Transport::Plain {
            tcp,
            unsent: Unsent {
                bytes: Vec::with_capacity(READ_CHUNK),
                from: 0,
            },
        }
    }

    pub(crate) fn tls(tcp: TcpStream, mut tls: rustls::ClientConnection) -> Transport {
        // rustls's writer refuses plaintext beyond its buffer limit (64 KiB)
        // with a zero-length write. The codec has already framed the whole
        // message, so let rustls hold it all (like the plain path's `unsent`);
        // the socket drains it as it becomes writable.
        tls.set_buffer_limit(None);
        Transport::Tls {
            tcp,
            tls: Box::new(tls),
            inbound: vec![0u8; READ_CHUNK].into_boxed_slice(),
        }
    }

    pub(crate) fn tcp_mut(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain { tcp, .. } | Transport::Tls { tcp, .. } => tcp,
        }
    }

    /// Whether the TLS handshake is still running (never for plain TCP).
    pub(crate) fn is_tls_handshaking(&self) -> bool {
        matches!(self, Transport::Tls { tls, .. } if tls.is_handshaking())
    }

    /// Whether there are bytes waiting for the socket to become writable.
    pub(crate) fn wants_write(&self) -> bool {
        match self {
            Transport::Plain { unsent, .. } => !unsent.is_empty(),
            Transport::Tls { tls, .. } => tls.wants_write(),
        }
    }

    /// Reads everything the socket has into `ws`, decoding as it goes. A
    /// short read ends the loop (what arrives later raises a new edge),
    /// unless `to_end`: the peer has shut its side, and its end may already
    /// wait behind the data, with no edge to come, so read until the end
    /// or `WouldBlock`.
    pub(crate) fn read_into(
        &mut self,
        ws: &mut Conn,
        now: Instant,
        to_end: bool,
    ) -> io::Result<ReadStatus> {
        match self {
            Transport::Plain { tcp, .. } => loop {
                let room = ws.recv_buffer(READ_CHUNK);
                let want = room.len();
                match tcp.read(room) {
                    Ok(0) => return Ok(ReadStatus::Eof),
                    Ok(n) => {
                        ws.handle_received(now, n);
                        // A short read took all the socket had; anything
                        // that arrives later raises a new readiness edge.
                        if n < want && !to_end {
                            return Ok(ReadStatus::Open);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return Ok(ReadStatus::Open);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            },
            Transport::Tls { tcp, tls, inbound } => loop {
                let n = match tcp.read(inbound) {
                    Ok(0) => return Ok(ReadStatus::Eof),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadStatus::Open),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                let mut ciphertext = &inbound[..n];
                while !ciphertext.is_empty() {
                    tls.read_tls(&mut ciphertext)?;
                    let state = tls
                        .process_new_packets()
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    if state.plaintext_bytes_to_read() > 0 {
                        drain_plaintext(tls, ws, now)?;
                    }
                    if state.peer_has_closed() {
                        return Ok(ReadStatus::Eof);
                    }
                }
                // As for plain TCP: a short read took all the socket had.
                if n < inbound.len() && !to_end {
                    return Ok(ReadStatus::Open);
                }
            },
        }
    }

    /// Queues `data` for the socket and writes as much as it takes now.
    pub(crate) fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Transport::Plain { tcp, unsent } => {
                // Nothing queued: hand the bytes to the kernel directly.
                let written = if unsent.is_empty() {
                    write_some(tcp, data)?
                } else {
                    0
                };
                unsent.push(&data[written..]);
                Ok(())
            }
            Transport::Tls { tls, .. } => {
                tls.writer().write_all(data)?;
                self.flush()
            }
        }
    }

    /// Writes queued bytes until the socket would block.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain { tcp, unsent } => {
                if !unsent.is_empty() {
                    let n = write_some(tcp, unsent.pending())?;
                    unsent.taken(n);
                }
                Ok(())
            }
            Transport::Tls { tcp, tls, .. } => {
                while tls.wants_write() {
                    match tls.write_tls(tcp) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
        }
    }

    /// Sends TLS close_notify where there is TLS; best effort.
    pub(crate) fn send_close_notify(&mut self) {
        if let Transport::Tls { tls, .. } = self {
            tls.send_close_notify();
        }
        let _ = self.flush();
    }
}

/// Bytes waiting for the socket: `bytes[from..]`.
pub(crate) struct Unsent {
    bytes: Vec<u8>,
    from: usize,
}

impl Unsent {
    fn is_empty(&self) -> bool {
        self.from == self.bytes.len()
    }

    fn pending(&self) -> &[u8] {
        &self.bytes[self.from..]
    }

    fn push(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.is_empty() {
            self.bytes.clear();
            self.from = 0;
        }
        self.bytes.extend_from_slice(data);
    }

    /// The socket took `n` more bytes.
    fn taken(&mut self, n: usize) {
        self.from += n;
        if self.is_empty() {
            self.bytes.clear();
            self.from = 0;
        }
    }
}

fn drain_plaintext(
    tls: &mut rustls::ClientConnection,
    ws: &mut Conn,
    now: Instant,
) -> io::Result<()> {
    loop {
        let room = ws.recv_buffer(READ_CHUNK);
        match tls.reader().read(room) {
            Ok(0) => return Ok(()),
            Ok(n) => ws.handle_received(now, n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Writes what the socket takes now; `WouldBlock` is 0 bytes, not an error.
fn write_some(tcp: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < data.len() {
        match tcp.write(&data[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}
