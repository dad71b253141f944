//! The mock Upbit's WebSocket after the handshake, with permessage-deflate
//! (RFC 7692), which Upbit supports and tungstenite (the other mocks' server)
//! does not. The handshake stays tungstenite's; what follows is RFC 6455
//! server framing over the same stream: client frames unmasked (and
//! inflated when RSV1 is set), server frames compressed with RSV1. Both
//! directions are negotiated without context takeover, so each message is
//! compressed on its own.

use std::io::{ErrorKind, Read, Write};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

/// The response header a server sends when the client offered deflate.
pub(super) const NEGOTIATED: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// The tail a sync flush leaves, which RFC 7692 strips and re-appends.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Largest message the mock takes from a client.
const MAX_MESSAGE: usize = 1 << 20;

/// A whole message from the client.
pub(super) enum Incoming {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close,
}

/// Server-side framing over `stream`.
pub(super) struct Framed<S> {
    stream: S,
    deflate: bool,
    buffer: Vec<u8>,
    /// A fragmented message so far: its opcode, compression and bytes.
    partial: Option<(u8, bool, Vec<u8>)>,
}

impl<S: Read + Write> Framed<S> {
    pub(super) fn new(stream: S, deflate: bool) -> Framed<S> {
        Framed {
            stream,
            deflate,
            buffer: Vec::with_capacity(4096),
            partial: None,
        }
    }

    pub(super) fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The next whole message, `Ok(None)` if none has arrived (the read
    /// timed out), an error when the connection is over or broken.
    pub(super) fn read(&mut self) -> std::io::Result<Option<Incoming>> {
        loop {
            if let Some(message) = self.parse()? {
                return Ok(Some(message));
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One frame from the buffer, if whole; a message when it completes one.
    fn parse(&mut self) -> std::io::Result<Option<Incoming>> {
        let bad = |why: &str| std::io::Error::new(ErrorKind::InvalidData, why.to_owned());
        loop {
            let b = &self.buffer;
            if b.len() < 2 {
                return Ok(None);
            }
            let fin = b[0] & 0x80 != 0;
            let rsv1 = b[0] & 0x40 != 0;
            let opcode = b[0] & 0x0f;
            if b[1] & 0x80 == 0 {
                return Err(bad("client frames are masked"));
            }
            let (len, mut at) = match b[1] & 0x7f {
                126 if b.len() >= 4 => (usize::from(u16::from_be_bytes([b[2], b[3]])), 4),
                127 if b.len() >= 10 => {
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(&b[2..10]);
                    (
                        usize::try_from(u64::from_be_bytes(bytes)).unwrap_or(usize::MAX),
                        10,
                    )
                }
                126 | 127 => return Ok(None),
                n => (usize::from(n), 2),
            };
            if len > MAX_MESSAGE {
                return Err(bad("message too large"));
            }
            if b.len() < at + 4 + len {
                return Ok(None);
            }
            let mask = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            at += 4;
            let payload: Vec<u8> = b[at..at + len]
                .iter()
                .enumerate()
                .map(|(i, byte)| byte ^ mask[i % 4])
                .collect();
            self.buffer.drain(..at + len);
            match opcode {
                0x8 => return Ok(Some(Incoming::Close)),
                0x9 => return Ok(Some(Incoming::Ping(payload))),
                0xA => return Ok(Some(Incoming::Pong(payload))),
                0x0..=0x2 => {
                    let (kind, compressed, mut data) = match (opcode, self.partial.take()) {
                        (0x0, Some(partial)) => partial,
                        (0x0, None) => return Err(bad("continuation without a start")),
                        (_, Some(_)) => return Err(bad("a new message inside a fragmented one")),
                        (kind, None) => (kind, rsv1, Vec::new()),
                    };
                    if data.len() + payload.len() > MAX_MESSAGE {
                        return Err(bad("message too large"));
                    }
                    data.extend_from_slice(&payload);
                    if !fin {
                        self.partial = Some((kind, compressed, data));
                        continue;
                    }
                    if compressed {
                        if !self.deflate {
                            return Err(bad("RSV1 without permessage-deflate"));
                        }
                        data = inflate(&data).map_err(|e| match e {
                            Inflate::TooLarge => bad("message too large once inflated"),
                            Inflate::Corrupt => bad("bad deflate data"),
                        })?;
                    }
                    return Ok(Some(if kind == 0x1 {
                        Incoming::Text(String::from_utf8(data).map_err(|_| bad("text not UTF-8"))?)
                    } else {
                        Incoming::Binary(data)
                    }));
                }
                _ => return Err(bad("unknown opcode")),
            }
        }
    }

    /// Writes one unfragmented frame; data frames are compressed when
    /// deflate was negotiated.
    pub(super) fn write(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let data = opcode == 0x1 || opcode == 0x2;
        let compressed;
        let (body, rsv1) = if data && self.deflate {
            compressed = deflate(payload)?;
            (compressed.as_slice(), 0x40)
        } else {
            (payload, 0)
        };
        let mut frame = Vec::with_capacity(body.len() + 10);
        frame.push(0x80 | rsv1 | opcode);
        match body.len() {
            n if n < 126 => frame.push(u8::try_from(n).unwrap_or(125)),
            n if n <= usize::from(u16::MAX) => {
                frame.push(126);
                frame.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
            }
            n => {
                frame.push(127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(body);
        self.stream.write_all(&frame)?;
        self.stream.flush()
    }
}

fn deflate(payload: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut compressor = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(payload.len() / 2 + 64);
    loop {
        let consumed = usize::try_from(compressor.total_in()).unwrap_or(usize::MAX);
        compressor
            .compress_vec(
                &payload[consumed.min(payload.len())..],
                &mut out,
                FlushCompress::Sync,
            )
            .map_err(|e| std::io::Error::new(ErrorKind::InvalidData, e))?;
        if usize::try_from(compressor.total_in()).unwrap_or(0) >= payload.len()
            && out.ends_with(&TAIL)
        {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    out.truncate(out.len() - TAIL.len());
    Ok(out)
}

/// Why a client message could not be inflated.
#[derive(Debug)]
enum Inflate {
    Corrupt,
    TooLarge,
}

impl From<flate2::DecompressError> for Inflate {
    fn from(_: flate2::DecompressError) -> Inflate {
        Inflate::Corrupt
    }
}

fn inflate(data: &[u8]) -> Result<Vec<u8>, Inflate> {
    let mut input = data.to_vec();
    input.extend_from_slice(&TAIL);
    let mut decompressor = Decompress::new(false);
    let mut out = Vec::with_capacity(data.len() * 4 + 64);
    loop {
        let consumed = usize::try_from(decompressor.total_in()).unwrap_or(usize::MAX);
        let before = out.len();
        decompressor.decompress_vec(
            &input[consumed.min(input.len())..],
            &mut out,
            FlushDecompress::Sync,
        )?;
        if usize::try_from(decompressor.total_in()).unwrap_or(0) >= input.len()
            || (out.len() == before && out.len() < out.capacity())
        {
            return Ok(out);
        }
        if out.len() >= MAX_MESSAGE {
            // Over the bound once inflated: refused, not cut short.
            return Err(Inflate::TooLarge);
        }
        out.reserve(out.capacity().max(64));
    }
}
