//! The capture file format (issue 25): what a session's core and connection
//! saw, in order, so that a replay can feed the same inputs again. Sans-IO:
//! the writer appends to the caller's buffer and the reader parses the
//! caller's bytes; the engine owns the file and the writer thread.
//!
//! # Layout (all integers little-endian)
//! - **Magic**, 8 bytes: `\x89OWCAP\r\n`. The high byte and the CR LF catch
//!   a file mangled as text (as PNG's do).
//! - **Version**, u16: [`VERSION`]. A reader refuses any other.
//! - **Header**: u32 length, the header's fields ([`Header`]), u32 CRC-32 of
//!   those fields.
//! - **Blocks**, each: a kind byte (`B` records, `T` trailer), u32 stored
//!   length, u32 raw length, u32 CRC-32 of those nine bytes and the stored
//!   bytes, then the stored bytes. A records block is one zstd frame of whole records; the writer
//!   closes a block once it holds [`BLOCK_TARGET`] bytes, so a session killed
//!   mid-write loses at most its last, unfinished block.
//! - **Trailer**, the last block: record count and the records dropped
//!   because the writer fell behind ([`Trailer`]). A file without one did
//!   not end cleanly; everything before is still read.
//!
//! A record ([`Record`]) is a u32 length, a tag byte, the monotonic time
//! (u64 ns) and the wall-clock time (i64 ns since the epoch) it was taken
//! at, then its fields; byte strings are a u32 length and the bytes.
//!
//! # Guarantees
//! Reading never panics, whatever the bytes: a truncated or corrupt file
//! gives every record of the blocks before the damage, then a
//! [`CaptureError`] that says what and where. No length read from a file
//! is trusted beyond [`MAX_BLOCK`].

mod input;
mod reader;
mod record;
mod writer;

pub use input::{
    RecordedSubmit, decode_snapshot, decode_submit, decode_subscription, encode_snapshot,
    encode_submit, encode_subscription,
};
pub use reader::{Capture, CaptureReader, Records, is_capture, read_all};
pub use record::{FrameType, OwnedRecord, Record, RecordBody};
pub use writer::CaptureWriter;

/// The file's first eight bytes.
pub const MAGIC: [u8; 8] = *b"\x89OWCAP\r\n";

/// The format version this code writes and reads.
pub const VERSION: u16 = 1;

/// Raw bytes after which the writer closes a block: large enough for zstd
/// to find the repetition between messages, small enough that a killed
/// session loses little.
pub const BLOCK_TARGET: usize = 64 * 1024;

/// The largest stored or raw block a reader accepts (and so the largest
/// record a writer takes): a bound on what a corrupt length can make it
/// allocate.
pub const MAX_BLOCK: usize = 32 * 1024 * 1024;

/// What a session's capture starts with: enough to rebuild the codec and
/// the core as they were.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The venue's registry name (`kraken`, `binance-api`).
    pub venue: String,
    /// The codec's configuration as the capturing side wrote it (its
    /// endpoint, tier, format; never a secret).
    pub codec_config: String,
    /// The seed of the core's RNG (ids, nonces), for a replay to draw the
    /// same numbers.
    pub rng_seed: u64,
    /// Wall clock at the start, ns since the epoch.
    pub started_wall_ns: i64,
    /// The monotonic clock at the start, ns.
    pub started_mono_ns: u64,
}

/// The end of a capture written to the end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trailer {
    /// Records written.
    pub records: u64,
    /// Records the writer dropped because it fell behind (the default
    /// policy: drop and count).
    pub dropped: u64,
}

/// Why a capture could not be read or written further.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// Not a capture: the first bytes are not [`MAGIC`].
    #[error("not an orderwire capture (no magic header)")]
    BadMagic,
    /// A capture of a version this code does not read.
    #[error("capture format version {0}, this build reads version {VERSION}")]
    Version(u16),
    /// The bytes end inside the header or a block.
    #[error("truncated at byte {offset}: {what} is cut short")]
    Truncated {
        /// Where the cut part starts.
        offset: usize,
        /// What was being read.
        what: &'static str,
    },
    /// A header or block whose checksum does not match.
    #[error("corrupt {what} at byte {offset}: checksum mismatch")]
    Checksum {
        /// Where it starts.
        offset: usize,
        /// Which part.
        what: &'static str,
    },
    /// A block that does not decompress to what its header says.
    #[error("corrupt block at byte {offset}: {why}")]
    Block {
        /// Where it starts.
        offset: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// A record that does not parse.
    #[error("corrupt record in the block at byte {block}: {why}")]
    Record {
        /// The block's offset.
        block: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// The file ends after its last block but has no trailer: the session
    /// did not end cleanly (every record before was read).
    #[error("no trailer after byte {offset}: the capture did not end cleanly")]
    NoTrailer {
        /// The end of the last whole block.
        offset: usize,
    },
    /// Bytes after the trailer.
    #[error("{0} bytes after the trailer")]
    TrailingBytes(usize),
    /// A record larger than [`MAX_BLOCK`], refused by the writer.
    #[error("a record of {0} bytes is larger than a block may be")]
    TooLarge(usize),
    /// zstd failed to compress (the writer).
    #[error("zstd: {0}")]
    Compress(String),
}

/// A block's checksum: its kind and lengths, then its stored bytes, so
/// that no byte of a block goes unchecked.
fn block_crc(head: &[u8; 9], stored: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(head);
    hasher.update(stored);
    hasher.finalize()
}

/// A codec setting the header records (a `venue.key=value` line that
/// `Venue::capture_config` wrote).
pub fn venue_setting<'a>(header: &'a Header, key: &str) -> Option<&'a str> {
    header.codec_config.lines().find_map(|line| {
        let (name, value) = line.strip_prefix("venue.")?.split_once('=')?;
        (name == key).then_some(value)
    })
}

/// A codec setting parsed, or the header's default when absent; an
/// unreadable value is an error that names it.
pub fn venue_setting_or<T: std::str::FromStr>(
    header: &Header,
    key: &str,
    default: T,
) -> Result<T, String> {
    match venue_setting(header, key) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| format!("capture header: bad venue setting {key}={text}")),
    }
}

/// What a replayed codec signs with in place of a secret the capture does
/// not hold: its signatures and tokens differ from the recorded ones only
/// inside the redacted spans, which are compared after redaction.
pub const REPLAY_SECRET: &str = "replay-placeholder-secret";
