//! Kraken's book checksum: CRC32 over the top 10 asks (lowest first) then
//! the top 10 bids (highest first), each level as its price digits then its
//! quantity digits, with the point and leading zeros removed.
//!
//! A decimal keeps the scale it was written with, so its mantissa's digits
//! are exactly that text: `0.10000000` has mantissa 10000000.

use crate::book::{Book, BookChecksum};

/// Levels per side that the checksum covers, whatever the depth.
pub const CHECKSUM_LEVELS: usize = 10;

/// Kraken's checksum as a [`BookChecksum`].
#[derive(Clone, Copy, Debug, Default)]
pub struct KrakenChecksum;

impl BookChecksum for KrakenChecksum {
    fn checksum(&self, book: &Book) -> u32 {
        book_checksum(book)
    }
}

/// The checksum Kraken sends for `book`. Allocates nothing: the digits of
/// all 20 levels go into one stack buffer, hashed in one call (crc32fast's
/// SIMD path needs longer inputs than one level's digits).
pub fn book_checksum(book: &Book) -> u32 {
    // 20 levels x (price + qty) x at most 39 digits.
    let mut text = [0u8; CHECKSUM_LEVELS * 2 * 2 * 40];
    let mut len = 0;
    for level in book
        .asks()
        .iter()
        .take(CHECKSUM_LEVELS)
        .chain(book.bids().iter().take(CHECKSUM_LEVELS))
    {
        for value in [level.price, level.qty] {
            // The buffer holds 40 digits per value, the most a value has.
            len += value.put_checksum_digits(&mut text[len..]).unwrap_or(0);
        }
    }
    crc32fast::hash(&text[..len])
}
