//! RFC 7692 permessage-deflate: negotiation, inflate and deflate.
//!
//! Compression runs on flate2 with the zlib-rs backend because the client
//! must honour the window size the server picks (Python `websockets` picks
//! 12 bits), and only a zlib-compatible backend takes a window size.
//! Inflation always uses a 32 KiB window: a larger window decodes any stream a
//! smaller one produced, so the server's `server_max_window_bits` never
//! constrains us.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The four bytes a sync flush ends with; stripped on send, restored on receipt.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The client's permessage-deflate offer and sending policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Ask the server to reset its compressor after every message.
    pub server_no_context_takeover: bool,
    /// Reset our compressor after every message (and say so in the offer).
    pub client_no_context_takeover: bool,
    /// Ask the server to use at most this window (8..=15).
    pub server_max_window_bits: Option<u8>,
    /// Our own window limit (9..=15); `None` lets the server choose.
    pub client_max_window_bits: Option<u8>,
    /// Messages shorter than this are sent uncompressed: the deflate framing
    /// costs more than it saves on tiny order messages.
    pub compression_threshold: usize,
    /// zlib compression level 0..=9; 1 favours latency.
    pub level: u32,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
            compression_threshold: 256,
            level: 1,
        }
    }
}

/// What both sides agreed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// We must reset our compressor after every message.
    pub client_no_context_takeover: bool,
    /// The server's window (informational: we inflate with 15 bits).
    pub server_max_window_bits: u8,
    /// The window our compressor may use.
    pub client_max_window_bits: u8,
}

/// A response the offer does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiationError(pub String);

impl DeflateConfig {
    /// The `Sec-WebSocket-Extensions` value to send.
    pub fn offer(&self) -> String {
        let mut offer = String::from("permessage-deflate");
        match self.client_max_window_bits {
            Some(bits) => offer.push_str(&format!("; client_max_window_bits={bits}")),
            None => offer.push_str("; client_max_window_bits"),
        }
        if let Some(bits) = self.server_max_window_bits {
            offer.push_str(&format!("; server_max_window_bits={bits}"));
        }
        if self.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        if self.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        offer
    }

    /// Checks one accepted `permessage-deflate` element of the response
    /// against this offer (RFC 7692 §7.1).
    pub fn accept_response(&self, element: &str) -> Result<DeflateParams, NegotiationError> {
        let mut params = DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: 15,
            client_max_window_bits: self.client_max_window_bits.unwrap_or(15),
        };
        let mut seen: Vec<&str> = Vec::new();
        for param in element
            .split(';')
            .skip(1)
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (name, value) = match param.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                None => (param, None),
            };
            if seen.contains(&name) {
                return Err(NegotiationError(format!("duplicate parameter {name}")));
            }
            seen.push(name);
            match (name, value) {
                ("server_no_context_takeover", None) => params.server_no_context_takeover = true,
                ("client_no_context_takeover", None) => params.client_no_context_takeover = true,
                ("server_max_window_bits", Some(v)) => {
                    let bits = window_bits(v)?;
                    if self
                        .server_max_window_bits
                        .is_some_and(|asked| bits > asked)
                    {
                        return Err(NegotiationError(format!(
                            "server_max_window_bits={bits} exceeds the offer"
                        )));
                    }
                    params.server_max_window_bits = bits;
                }
                ("client_max_window_bits", Some(v)) => {
                    let bits = window_bits(v)?;
                    if self
                        .client_max_window_bits
                        .is_some_and(|limit| bits > limit)
                    {
                        return Err(NegotiationError(format!(
                            "client_max_window_bits={bits} exceeds the offer"
                        )));
                    }
                    params.client_max_window_bits = bits;
                }
                _ => return Err(NegotiationError(format!("unexpected parameter {param:?}"))),
            }
        }
        Ok(params)
    }
}

fn window_bits(value: &str) -> Result<u8, NegotiationError> {
    match value.parse::<u8>() {
        Ok(bits @ 8..=15) if !value.starts_with('0') => Ok(bits),
        _ => Err(NegotiationError(format!("invalid window bits {value:?}"))),
    }
}

/// Why an inflate failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The inflated message is larger than the limit.
    TooBig,
    /// The compressed data is not valid DEFLATE.
    Corrupt,
}

/// Inflates the messages of one connection.
pub struct Inflater {
    z: Decompress,
    reset_after_message: bool,
    /// The sender ended the DEFLATE stream (BFINAL): start a new one.
    stream_ended: bool,
}

impl Inflater {
    /// An inflater for the negotiated parameters.
    pub fn new(params: &DeflateParams) -> Self {
        Inflater {
            z: Decompress::new(false),
            reset_after_message: params.server_no_context_takeover,
            stream_ended: false,
        }
    }

    /// Inflates one frame's payload onto `out`, failing once `out` would
    /// exceed `limit` bytes.
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let mut input = input;
        loop {
            if self.stream_ended {
                // Bytes after a final block of this message are not DEFLATE.
                return if input.is_empty() {
                    Ok(())
                } else {
                    Err(InflateError::Corrupt)
                };
            }
            if out.len() == out.capacity() {
                if out.len() > limit {
                    return Err(InflateError::TooBig);
                }
                // Grow geometrically, but never past limit + 1, so that a
                // decompression bomb is stopped before it takes memory.
                let room = (limit + 1 - out.len()).min(out.len().max(4096));
                out.reserve_exact(room);
            }
            let (in_before, out_before) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Corrupt)?;
            // What this call read: at most `input.len()`.
            let consumed = usize::try_from(self.z.total_in() - in_before)
                .map_or(input.len(), |n| n.min(input.len()));
            let produced = self.z.total_out() - out_before;
            input = &input[consumed..];
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            match status {
                Status::StreamEnd => self.stream_ended = true,
                Status::Ok | Status::BufError => {
                    let output_full = out.len() == out.capacity();
                    if !output_full && (input.is_empty() || (consumed == 0 && produced == 0)) {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Ends a message: feeds the stripped sync-flush tail and resets the
    /// context when the server does not keep it.
    pub fn finish_message(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        if !self.stream_ended {
            self.inflate(&SYNC_TAIL, out, limit)?;
        }
        if self.reset_after_message || self.stream_ended {
            self.z.reset(false);
            self.stream_ended = false;
        }
        Ok(())
    }

    /// Drops the context after a failed message.
    pub fn reset(&mut self) {
        self.z.reset(false);
        self.stream_ended = false;
    }
}

/// Deflates the messages we send.
pub struct Deflater {
    z: Compress,
    reset_after_message: bool,
}

impl Deflater {
    /// A deflater for the negotiated parameters, or `None` when the server
    /// asked for an 8-bit window: zlib cannot produce raw DEFLATE with a
    /// 256-byte window, so we then send every message uncompressed, which
    /// RFC 7692 always allows.
    pub fn new(params: &DeflateParams, level: u32) -> Option<Self> {
        if params.client_max_window_bits < 9 {
            return None;
        }
        let z = Compress::new_with_window_bits(
            Compression::new(level.min(9)),
            false,
            params.client_max_window_bits,
        );
        Some(Deflater {
            z,
            reset_after_message: params.client_no_context_takeover,
        })
    }

    /// Appends the compressed form of a whole message to `out`, without the
    /// sync-flush tail.
    pub fn deflate_message(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        let mut input = input;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(input.len() / 2 + 64);
            }
            let before = self.z.total_in();
            // In-memory compression with a valid state cannot fail; a
            // Result::Err here would mean a flate2 bug, so treat it as done.
            if self
                .z
                .compress_vec(input, out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            let read = usize::try_from(self.z.total_in() - before).unwrap_or(input.len());
            input = input.get(read..).unwrap_or(&[]);
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out[start..].ends_with(&SYNC_TAIL) {
            out.truncate(out.len() - SYNC_TAIL.len());
        }
        if self.reset_after_message {
            self.z.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(bits: u8, reset: bool) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: reset,
            client_no_context_takeover: reset,
            server_max_window_bits: bits,
            client_max_window_bits: bits,
        }
    }

    #[test]
    fn rfc7692_example_hello() {
        // RFC 7692 §7.2.3.1: "Hello" compressed is f2 48 cd c9 c9 07 00.
        let mut inflater = Inflater::new(&params(15, false));
        let mut out = Vec::new();
        inflater
            .inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 1024)
            .unwrap();
        inflater.finish_message(&mut out, 1024).unwrap();
        assert_eq!(out, b"Hello");
        // §7.2.3.2: the second "Hello" with context takeover is f2 00 11 00 00.
        out.clear();
        inflater
            .inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out, 1024)
            .unwrap();
        inflater.finish_message(&mut out, 1024).unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn round_trips_with_every_window_and_context_mode() {
        for bits in 9..=15 {
            for reset in [false, true] {
                let mut deflater = Deflater::new(&params(bits, reset), 6).unwrap();
                let mut inflater = Inflater::new(&params(bits, reset));
                for i in 0..5 {
                    let msg = format!(
                        "{{\"method\":\"add_order\",\"req_id\":{i},\"x\":\"{}\"}}",
                        "ab".repeat(i * 300)
                    );
                    let mut wire = Vec::new();
                    deflater.deflate_message(msg.as_bytes(), &mut wire);
                    let mut out = Vec::new();
                    inflater.inflate(&wire, &mut out, 1 << 20).unwrap();
                    inflater.finish_message(&mut out, 1 << 20).unwrap();
                    assert_eq!(out, msg.as_bytes(), "bits {bits} reset {reset} msg {i}");
                }
            }
        }
    }

    #[test]
    fn an_eight_bit_window_means_no_compression() {
        assert!(Deflater::new(&params(8, false), 1).is_none());
    }

    #[test]
    fn stops_a_decompression_bomb_at_the_limit() {
        let mut deflater = Deflater::new(&params(15, false), 9).unwrap();
        let mut wire = Vec::new();
        deflater.deflate_message(&vec![0u8; 10 << 20], &mut wire);
        assert!(wire.len() < 20_000);
        let mut inflater = Inflater::new(&params(15, false));
        let mut out = Vec::new();
        assert_eq!(
            inflater.inflate(&wire, &mut out, 1 << 20),
            Err(InflateError::TooBig)
        );
        assert!(
            out.capacity() <= (1 << 20) + 1 + 4096,
            "capacity {}",
            out.capacity()
        );
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let mut inflater = Inflater::new(&params(15, false));
        assert_eq!(
            inflater.inflate(&[0xff, 0xff, 0xff, 0xff], &mut Vec::new(), 1024),
            Err(InflateError::Corrupt)
        );
    }

    #[test]
    fn negotiation() {
        let offer = DeflateConfig {
            server_max_window_bits: Some(12),
            ..Default::default()
        };
        assert_eq!(
            offer.offer(),
            "permessage-deflate; client_max_window_bits; server_max_window_bits=12"
        );
        let p = offer
            .accept_response(
                "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
            )
            .unwrap();
        assert_eq!(
            (p.server_max_window_bits, p.client_max_window_bits),
            (12, 12)
        );
        let p = offer
            .accept_response("permessage-deflate; server_no_context_takeover")
            .unwrap();
        assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
        for bad in [
            "permessage-deflate; server_max_window_bits=13",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=010",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_no_context_takeover=1",
            "permessage-deflate; foo",
        ] {
            assert!(offer.accept_response(bad).is_err(), "{bad}");
        }
        let limited = DeflateConfig {
            client_max_window_bits: Some(10),
            ..Default::default()
        };
        assert!(
            limited
                .accept_response("permessage-deflate; client_max_window_bits=11")
                .is_err()
        );
        assert_eq!(
            limited
                .accept_response("permessage-deflate")
                .unwrap()
                .client_max_window_bits,
            10
        );
    }
}
