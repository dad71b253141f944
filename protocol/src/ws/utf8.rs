//! Incremental UTF-8 validation for text messages.
//!
//! A text message may arrive in fragments, and a fragment may end inside a
//! code point. RFC 6455 §8.1 asks a client to fail the connection as soon as
//! the bytes seen cannot start valid UTF-8, so the validator keeps only the
//! (at most three) bytes of a code point that is not complete yet and reports
//! a definite error at the first impossible byte.
//!
//! Validation runs on simdutf8 (SIMD, with a runtime CPU check): text frames
//! are the bulk of venue traffic, and std's validator is several times slower
//! on them. Its `compat` API reports where an incomplete sequence starts,
//! which the incremental validator needs.

/// Whether a whole buffer is UTF-8: the fast path for a complete frame.
/// Short venue messages are nearly always ASCII JSON, which std's
/// word-at-a-time `is_ascii` confirms before simdutf8's SIMD set-up would.
#[inline]
pub fn is_valid(data: &[u8]) -> bool {
    (data.len() <= SHORT && data.is_ascii()) || simdutf8::basic::from_utf8(data).is_ok()
}

/// Up to this length the ASCII check goes first (measured by `ws_decode_batched`).
const SHORT: usize = 256;

/// The bytes fed so far are not valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

/// Validates a byte stream fed in arbitrary pieces.
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    pending: [u8; 4],
    pending_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator {
            pending: [0; 4],
            pending_len: 0,
        }
    }

    /// Forgets any pending partial code point.
    pub fn reset(&mut self) {
        self.pending_len = 0;
    }

    /// Feeds the next piece. Fails at the first byte that makes the stream
    /// invalid, even when that byte is in the middle of a code point.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.pending_len > 0 {
            let have = usize::from(self.pending_len);
            let width = sequence_width(self.pending[0]);
            let take = (width - have).min(data.len());
            self.pending[have..have + take].copy_from_slice(&data[..take]);
            let now_have = have + take;
            data = &data[take..];
            match simdutf8::compat::from_utf8(&self.pending[..now_have]) {
                Ok(_) => self.pending_len = 0,
                Err(e) if e.error_len().is_some() => return Err(InvalidUtf8),
                // Still a valid prefix; `data` is empty here since take < width - have.
                Err(_) => {
                    // A code point's prefix: at most 3 bytes.
                    self.pending_len = u8::try_from(now_have).unwrap_or(3);
                    return Ok(());
                }
            }
        }
        match simdutf8::compat::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(e) => {
                // An incomplete but so far valid code point at the end: at most 3 bytes.
                let rest = &data[e.valid_up_to()..];
                self.pending[..rest.len()].copy_from_slice(rest);
                self.pending_len = u8::try_from(rest.len()).unwrap_or(3);
                Ok(())
            }
        }
    }

    /// Ends the message: fails if it stopped inside a code point.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.pending_len == 0;
        self.pending_len = 0;
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }
}

/// The length of the sequence a lead byte starts. Only called on a byte that
/// `from_utf8` left pending as the start of a valid incomplete sequence, so it
/// is one of the multi-byte lead bytes.
fn sequence_width(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_split(data: &[u8], at: &[usize]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for &cut in at {
            v.feed(&data[start..cut])?;
            start = cut;
        }
        v.feed(&data[start..])?;
        v.finish()
    }

    #[test]
    fn every_split_of_valid_text_is_valid() {
        let text = "κόσμε €𝄞 orderwire".as_bytes();
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert_eq!(feed_split(text, &[i, j]), Ok(()), "split at {i},{j}");
            }
        }
    }

    #[test]
    fn fails_fast_inside_a_code_point() {
        // Autobahn 6.4.1: the stream is invalid at 0xF4 0x90 already.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xce, 0xba, 0xe1, 0xbd, 0xb9]), Ok(()));
        assert_eq!(v.feed(&[0xf4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
    }

    #[test]
    fn truncated_sequence_fails_at_finish() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[b'a', 0xe2, 0x82]), Ok(()));
        assert_eq!(v.finish(), Err(InvalidUtf8));
    }

    #[test]
    fn rejects_surrogates_and_overlongs_split_anywhere() {
        for bad in [
            &[0xed, 0xa0, 0x80][..],
            &[0xc0, 0xaf],
            &[0xf8, 0x88, 0x80, 0x80, 0x80],
            &[0xff],
        ] {
            for i in 0..=bad.len() {
                assert_eq!(
                    feed_split(bad, &[i]),
                    Err(InvalidUtf8),
                    "{bad:x?} split at {i}"
                );
            }
        }
    }
}
