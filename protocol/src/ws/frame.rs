//! RFC 6455 §5.2 frame headers: parsing, encoding and close payloads.

use super::mask::extend_masked;

/// A frame opcode (RFC 6455 §5.2, §11.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    /// Continues a fragmented message.
    Continuation,
    /// The first frame of a UTF-8 text message.
    Text,
    /// The first frame of a binary message.
    Binary,
    /// Starts or answers the closing handshake.
    Close,
    /// Asks the peer for a pong.
    Ping,
    /// Answers a ping, or is a unidirectional heartbeat.
    Pong,
}

impl OpCode {
    /// Decodes the four opcode bits; `None` for the reserved values.
    pub fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The four opcode bits.
    pub fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong: at most 125 bytes, never fragmented.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// The fixed part of a frame, as read off the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The final fragment of a message.
    pub fin: bool,
    /// RSV1..RSV3 as the low three bits (RSV1 = 0b100).
    pub rsv: u8,
    /// The raw four opcode bits (reserved values are rejected by the caller).
    pub opcode_bits: u8,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
    /// Header length in bytes (2 to 14).
    pub header_len: usize,
}

/// The RSV1 bit, which permessage-deflate uses to mark a compressed message.
pub const RSV1: u8 = 0b100;

/// Why a header could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// A 64-bit length with the most significant bit set (RFC 6455 §5.2).
    LengthOverflow,
}

/// Parses a frame header from the start of `buf`.
///
/// Returns `Ok(None)` when `buf` does not yet hold the whole header.
pub fn parse_header(buf: &[u8]) -> Result<Option<FrameHeader>, HeaderError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    let (payload_len, mut header_len) = match b1 & 0x7F {
        126 => {
            let Some(ext) = buf.get(2..4) else {
                return Ok(None);
            };
            (u64::from(u16::from_be_bytes([ext[0], ext[1]])), 4)
        }
        127 => {
            let Some(ext) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut be = [0u8; 8];
            be.copy_from_slice(ext);
            let len = u64::from_be_bytes(be);
            if len >> 63 != 0 {
                return Err(HeaderError::LengthOverflow);
            }
            (len, 10)
        }
        len => (u64::from(len), 2),
    };
    let mask = if masked {
        let Some(key) = buf.get(header_len..header_len + 4) else {
            return Ok(None);
        };
        header_len += 4;
        Some([key[0], key[1], key[2], key[3]])
    } else {
        None
    };
    Ok(Some(FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0b111,
        opcode_bits: b0 & 0x0F,
        mask,
        payload_len,
        header_len,
    }))
}

/// Appends a frame header with the minimal length encoding.
pub fn write_header(
    out: &mut Vec<u8>,
    fin: bool,
    rsv: u8,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    len: usize,
) {
    let b0 = (u8::from(fin) << 7) | ((rsv & 0b111) << 4) | opcode.bits();
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    if let Some(len7) = u8::try_from(len).ok().filter(|l| *l < 126) {
        out.extend_from_slice(&[b0, mask_bit | len7]);
    } else if let Ok(len16) = u16::try_from(len) {
        let be = len16.to_be_bytes();
        out.extend_from_slice(&[b0, mask_bit | 126, be[0], be[1]]);
    } else {
        out.extend_from_slice(&[b0, mask_bit | 127]);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// Appends a whole frame; when `mask` is given the payload is masked with it.
pub fn write_frame(
    out: &mut Vec<u8>,
    fin: bool,
    rsv: u8,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) {
    write_header(out, fin, rsv, opcode, mask, payload.len());
    match mask {
        Some(key) => extend_masked(out, payload, key),
        None => out.extend_from_slice(payload),
    }
}

/// Whether a peer may send `code` in a close frame (RFC 6455 §7.4, the IANA
/// registry): 1004-1006 and 1015 are reserved for local use, and anything
/// below 3000 that is not registered is invalid.
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Why a close frame's payload is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosePayloadError {
    /// A one-byte payload: a code is two bytes.
    OneByte,
    /// A code that may not appear on the wire.
    InvalidCode(u16),
    /// The reason is not UTF-8.
    ReasonNotUtf8,
}

/// Splits a received close payload into its code and reason.
pub fn parse_close_payload(payload: &[u8]) -> Result<(Option<u16>, &str), ClosePayloadError> {
    match payload {
        [] => Ok((None, "")),
        [_] => Err(ClosePayloadError::OneByte),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_close_code(code) {
                return Err(ClosePayloadError::InvalidCode(code));
            }
            let reason =
                std::str::from_utf8(reason).map_err(|_| ClosePayloadError::ReasonNotUtf8)?;
            Ok((Some(code), reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::mask::apply_mask;

    #[test]
    fn parses_the_three_length_forms() {
        let h = parse_header(&[0x81, 0x05]).unwrap().unwrap();
        assert_eq!(
            (h.fin, h.opcode_bits, h.payload_len, h.header_len, h.mask),
            (true, 1, 5, 2, None)
        );
        let h = parse_header(&[0x82, 0x7E, 0x01, 0x00]).unwrap().unwrap();
        assert_eq!((h.payload_len, h.header_len), (256, 4));
        let h = parse_header(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, h.header_len), (65536, 10));
    }

    #[test]
    fn incomplete_headers_ask_for_more() {
        let full = [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for cut in 0..full.len() {
            assert_eq!(parse_header(&full[..cut]), Ok(None), "cut {cut}");
        }
        let h = parse_header(&full).unwrap().unwrap();
        assert_eq!((h.header_len, h.mask), (14, Some([1, 2, 3, 4])));
    }

    #[test]
    fn rejects_a_length_with_the_top_bit_set() {
        assert_eq!(
            parse_header(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(HeaderError::LengthOverflow)
        );
    }

    #[test]
    fn writes_minimal_lengths_and_reads_them_back() {
        for len in [0usize, 125, 126, 16383, 16384, 16385, 65535, 65536] {
            let payload = vec![0xAB; len];
            let mut out = Vec::new();
            write_frame(
                &mut out,
                true,
                0,
                OpCode::Binary,
                Some([9, 8, 7, 6]),
                &payload,
            );
            let h = parse_header(&out).unwrap().unwrap();
            assert_eq!(h.payload_len, len as u64);
            let expected_header = 2
                + 4
                + if len < 126 {
                    0
                } else if len < 65536 {
                    2
                } else {
                    8
                };
            assert_eq!(h.header_len, expected_header);
            let mut body = out[h.header_len..].to_vec();
            apply_mask(&mut body, [9, 8, 7, 6], 0);
            assert_eq!(body, payload);
        }
    }

    #[test]
    fn close_payload_rules() {
        assert_eq!(parse_close_payload(&[]), Ok((None, "")));
        assert_eq!(
            parse_close_payload(&[0x03]),
            Err(ClosePayloadError::OneByte)
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8, b'o', b'k']),
            Ok((Some(1000), "ok"))
        );
        for bad in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            let be = bad.to_be_bytes();
            assert_eq!(
                parse_close_payload(&be),
                Err(ClosePayloadError::InvalidCode(bad)),
                "{bad}"
            );
        }
        for good in [1000u16, 1001, 1002, 1003, 1007, 1011, 3000, 4999] {
            assert!(parse_close_payload(&good.to_be_bytes()).is_ok(), "{good}");
        }
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8, 0xFF]),
            Err(ClosePayloadError::ReasonNotUtf8)
        );
    }
}
