//! Kraken's book checksum: CRC32 over the top 10 asks (lowest first) then
//! the top 10 bids (highest first), each level as its price digits then its
//! quantity digits, with the point and leading zeros removed.
//!
//! A decimal keeps the scale it was written with, so its mantissa's digits
//! are exactly that text: `0.10000000` has mantissa 10000000.

use crate::book::{Book, BookChecksum};
use crate::model::Level;

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

/// The checksum Kraken sends for `book`. Allocates nothing: each level's
/// digits go from a stack buffer straight into the hasher.
pub fn book_checksum(book: &Book) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    feed(&mut hasher, book.asks());
    feed(&mut hasher, book.bids());
    hasher.finalize()
}

fn feed(hasher: &mut crc32fast::Hasher, levels: &[Level]) {
    let mut buffer = [0u8; 40];
    for level in levels.iter().take(CHECKSUM_LEVELS) {
        hasher.update(level.price.checksum_digits(&mut buffer));
        hasher.update(level.qty.checksum_digits(&mut buffer));
    }
}
