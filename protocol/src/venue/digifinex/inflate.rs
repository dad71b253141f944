//! One reused inflater per connection: zlib (RFC 1950, `78 ..` header)
//! or raw deflate (RFC 1951) when the header is absent, into a reused
//! buffer with a bound, so a steady state allocates nothing and a
//! decompression bomb fails its message only.

use flate2::{Decompress, FlushDecompress, Status};

use crate::venue::DecodeError;

/// The most one message may inflate to.
pub const MAX_INFLATED: usize = 1 << 20;

/// A reused inflater and its output buffer.
pub struct Inflater {
    zlib: Decompress,
    raw: Decompress,
    out: Vec<u8>,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("capacity", &self.out.capacity())
            .finish_non_exhaustive()
    }
}

impl Default for Inflater {
    fn default() -> Inflater {
        Inflater::new()
    }
}

impl Inflater {
    /// Both decoders and a buffer for a large book.
    pub fn new() -> Inflater {
        Inflater {
            zlib: Decompress::new(true),
            raw: Decompress::new(false),
            out: Vec::with_capacity(64 * 1024),
        }
    }

    /// Inflates one message; the result borrows the inflater's buffer.
    pub fn inflate(&mut self, input: &[u8]) -> Result<&mut [u8], DecodeError> {
        // A zlib header: CMF 0x78 (deflate, 32 KiB window) and a check
        // value that makes CMF*256+FLG a multiple of 31.
        let zlib = input.len() >= 2
            && input[0] & 0x0f == 8
            && (u16::from(input[0]) << 8 | u16::from(input[1])) % 31 == 0;
        let decoder = if zlib { &mut self.zlib } else { &mut self.raw };
        decoder.reset(zlib);
        self.out.clear();
        loop {
            let consumed = usize::try_from(decoder.total_in()).unwrap_or(usize::MAX);
            let rest = input.get(consumed..).unwrap_or(&[]);
            let before = self.out.len();
            let status = decoder
                .decompress_vec(rest, &mut self.out, FlushDecompress::Finish)
                .map_err(|_| DecodeError::Format {
                    format: "zlib",
                    why: "corrupt stream",
                })?;
            if self.out.len() > MAX_INFLATED {
                return Err(DecodeError::TooLarge {
                    limit: MAX_INFLATED,
                });
            }
            let progressed = self.out.len() > before
                || usize::try_from(decoder.total_in()).unwrap_or(0) > consumed;
            match status {
                Status::StreamEnd => return Ok(&mut self.out[..]),
                _ if self.out.len() == self.out.capacity() => {
                    // Room for more, never past one byte over the bound
                    // (which is how a bomb is told).
                    let grow = self.out.capacity().min(MAX_INFLATED + 1 - self.out.len());
                    self.out.reserve_exact(grow.max(1));
                }
                // All input read and no end of stream: a truncated frame.
                _ if !progressed => {
                    return Err(DecodeError::Format {
                        format: "zlib",
                        why: "truncated stream",
                    });
                }
                _ => {}
            }
        }
    }
}
