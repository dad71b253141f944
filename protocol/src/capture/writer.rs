//! Writes a capture into the caller's buffer: the header at once, records
//! gathered into blocks, each block compressed and checksummed when it is
//! full, the trailer at the end. Sans-IO: the caller writes the bytes out.

use super::record::len_le;
use super::{BLOCK_TARGET, CaptureError, Header, MAGIC, MAX_BLOCK, Record, Trailer, VERSION};

/// zstd's level for capture blocks: its fastest standard level, since the
/// writer must keep up with a busy session and a capture is read far less
/// often than written.
const LEVEL: i32 = 1;

/// The block writer.
pub struct CaptureWriter {
    raw: Vec<u8>,
    compressed: Vec<u8>,
    compressor: zstd::bulk::Compressor<'static>,
    block_target: usize,
    records: u64,
}

impl std::fmt::Debug for CaptureWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureWriter")
            .field("pending", &self.raw.len())
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl CaptureWriter {
    /// Starts a capture: appends the magic, version and header to `out`.
    pub fn new(header: &Header, out: &mut Vec<u8>) -> Result<CaptureWriter, CaptureError> {
        Self::with_block_target(header, BLOCK_TARGET, out)
    }

    /// As [`CaptureWriter::new`], closing blocks at `block_target` raw bytes
    /// (tests use small blocks to have many).
    pub fn with_block_target(
        header: &Header,
        block_target: usize,
        out: &mut Vec<u8>,
    ) -> Result<CaptureWriter, CaptureError> {
        let mut fields = Vec::new();
        let venue = header.venue.as_bytes();
        let config = header.codec_config.as_bytes();
        let venue_len =
            u16::try_from(venue.len()).map_err(|_| CaptureError::TooLarge(venue.len()))?;
        if config.len() > MAX_BLOCK {
            return Err(CaptureError::TooLarge(config.len()));
        }
        fields.extend_from_slice(&venue_len.to_le_bytes());
        fields.extend_from_slice(venue);
        fields.extend_from_slice(&len_le(config.len()));
        fields.extend_from_slice(config);
        fields.extend_from_slice(&header.rng_seed.to_le_bytes());
        fields.extend_from_slice(&header.started_wall_ns.to_le_bytes());
        fields.extend_from_slice(&header.started_mono_ns.to_le_bytes());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        if fields.len() > MAX_BLOCK {
            return Err(CaptureError::TooLarge(fields.len()));
        }
        out.extend_from_slice(&len_le(fields.len()));
        out.extend_from_slice(&fields);
        out.extend_from_slice(&crc32fast::hash(&fields).to_le_bytes());
        let compressor = zstd::bulk::Compressor::new(LEVEL)
            .map_err(|error| CaptureError::Compress(error.to_string()))?;
        Ok(CaptureWriter {
            raw: Vec::with_capacity(block_target + 1024),
            compressed: Vec::new(),
            compressor,
            block_target: block_target.clamp(1, MAX_BLOCK / 2),
            records: 0,
        })
    }

    /// Adds a record; when the block is full, appends it to `out`.
    pub fn push(&mut self, record: &Record<'_>, out: &mut Vec<u8>) -> Result<(), CaptureError> {
        // A block never grows past MAX_BLOCK: a large record starts its own.
        if !self.raw.is_empty() && self.raw.len() + record.encoded_len_bound() > MAX_BLOCK {
            self.flush(out)?;
        }
        record.encode(&mut self.raw)?;
        self.records += 1;
        if self.raw.len() >= self.block_target {
            self.flush(out)?;
        }
        Ok(())
    }

    /// Appends the records gathered so far as a block (nothing if none), so
    /// that they survive a crash from here on.
    pub fn flush(&mut self, out: &mut Vec<u8>) -> Result<(), CaptureError> {
        if self.raw.is_empty() {
            return Ok(());
        }
        self.compressed.clear();
        self.compressed
            .reserve(zstd::zstd_safe::compress_bound(self.raw.len()));
        self.compressor
            .compress_to_buffer(&self.raw, &mut self.compressed)
            .map_err(|error| CaptureError::Compress(error.to_string()))?;
        write_block(b'B', &self.compressed, self.raw.len(), out);
        self.raw.clear();
        Ok(())
    }

    /// Records pushed so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Ends the capture: the last block, then the trailer with `dropped`,
    /// the records the caller could not hand over in time.
    pub fn finish(mut self, dropped: u64, out: &mut Vec<u8>) -> Result<Trailer, CaptureError> {
        self.flush(out)?;
        let trailer = Trailer {
            records: self.records,
            dropped,
        };
        let mut fields = [0; 16];
        fields[..8].copy_from_slice(&trailer.records.to_le_bytes());
        fields[8..].copy_from_slice(&trailer.dropped.to_le_bytes());
        write_block(b'T', &fields, fields.len(), out);
        Ok(trailer)
    }
}

fn write_block(kind: u8, stored: &[u8], raw_len: usize, out: &mut Vec<u8>) {
    // A block holds at most MAX_BLOCK raw bytes (a large record starts its
    // own), so both lengths fit the format's u32.
    let mut head = [0; 9];
    head[0] = kind;
    head[1..5].copy_from_slice(&len_le(stored.len()));
    head[5..].copy_from_slice(&len_le(raw_len));
    out.extend_from_slice(&head);
    out.extend_from_slice(&super::block_crc(&head, stored).to_le_bytes());
    out.extend_from_slice(stored);
}
