//! Reads a capture from the caller's bytes, block by block; damage ends
//! the reading with an error after every record before it.

use super::record::{Cursor, OwnedRecord};
use super::{CaptureError, Header, MAGIC, MAX_BLOCK, Record, Trailer, VERSION};

/// Block header: kind, stored length, raw length, CRC-32.
const BLOCK_HEADER: usize = 1 + 4 + 4 + 4;

/// A capture being read.
pub struct CaptureReader<'a> {
    input: &'a [u8],
    pos: usize,
    block: Vec<u8>,
    decompressor: zstd::bulk::Decompressor<'static>,
    trailer: Option<Trailer>,
    done: bool,
}

impl std::fmt::Debug for CaptureReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("pos", &self.pos)
            .field("trailer", &self.trailer)
            .finish_non_exhaustive()
    }
}

/// Whether `bytes` start like a capture (what `decode` checks to tell a
/// capture from a line file).
pub fn is_capture(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

impl<'a> CaptureReader<'a> {
    /// Reads the magic, version and header.
    pub fn open(input: &'a [u8]) -> Result<(Header, CaptureReader<'a>), CaptureError> {
        if !is_capture(input) {
            return Err(CaptureError::BadMagic);
        }
        let truncated = |offset| CaptureError::Truncated {
            offset,
            what: "the header",
        };
        let mut cursor = Cursor {
            input: &input[MAGIC.len()..],
        };
        let version = cursor.u16().map_err(|_| truncated(MAGIC.len()))?;
        if version != VERSION {
            return Err(CaptureError::Version(version));
        }
        let at = MAGIC.len() + 2;
        let len = cursor.u32().map_err(|_| truncated(at))? as usize;
        if len > MAX_BLOCK {
            return Err(CaptureError::Checksum {
                offset: at,
                what: "header (its length)",
            });
        }
        let fields = cursor.take(len).map_err(|_| truncated(at))?;
        let crc = cursor.u32().map_err(|_| truncated(at))?;
        if crc32fast::hash(fields) != crc {
            return Err(CaptureError::Checksum {
                offset: at,
                what: "header",
            });
        }
        let header = parse_header(fields).map_err(|_| CaptureError::Checksum {
            offset: at,
            what: "header (its fields)",
        })?;
        let pos = input.len() - cursor.input.len();
        let decompressor =
            zstd::bulk::Decompressor::new().map_err(|error| CaptureError::Block {
                offset: pos,
                why: if error.kind() == std::io::ErrorKind::OutOfMemory {
                    "out of memory"
                } else {
                    "zstd could not start"
                },
            })?;
        Ok((
            header,
            CaptureReader {
                input,
                pos,
                block: Vec::new(),
                decompressor,
                trailer: None,
                done: false,
            },
        ))
    }

    /// Bytes of the input read so far (through the last block returned):
    /// a long replay or export shows its progress with it.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next block's records, or `None` after the trailer. An error ends
    /// the reading; every block before it was whole.
    pub fn next_block(&mut self) -> Result<Option<Records<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let at = self.pos;
        let rest = &self.input[at..];
        if rest.is_empty() {
            self.done = true;
            return Err(CaptureError::NoTrailer { offset: at });
        }
        let fail = |this: &mut Self, error| {
            this.done = true;
            Err(error)
        };
        if rest.len() < BLOCK_HEADER {
            return fail(
                self,
                CaptureError::Truncated {
                    offset: at,
                    what: "a block header",
                },
            );
        }
        let kind = rest[0];
        let field = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
        let (stored_len, raw_len, crc) = (field(1) as usize, field(5) as usize, field(9));
        // zstd may store an incompressible block a little larger than raw.
        if stored_len > MAX_BLOCK + MAX_BLOCK / 64 || raw_len > MAX_BLOCK {
            return fail(
                self,
                CaptureError::Block {
                    offset: at,
                    why: "a length beyond any block's",
                },
            );
        }
        let Some(stored) = rest.get(BLOCK_HEADER..BLOCK_HEADER + stored_len) else {
            return fail(
                self,
                CaptureError::Truncated {
                    offset: at,
                    what: "a block",
                },
            );
        };
        let mut head = [0; 9];
        head.copy_from_slice(&rest[..9]);
        if super::block_crc(&head, stored) != crc {
            return fail(
                self,
                CaptureError::Checksum {
                    offset: at,
                    what: "block",
                },
            );
        }
        let end = at + BLOCK_HEADER + stored_len;
        match kind {
            b'B' => {
                self.block.clear();
                self.block.reserve(raw_len);
                match self
                    .decompressor
                    .decompress_to_buffer(stored, &mut self.block)
                {
                    Ok(n) if n == raw_len => {}
                    Ok(_) => {
                        return fail(
                            self,
                            CaptureError::Block {
                                offset: at,
                                why: "its raw length is not what it says",
                            },
                        );
                    }
                    Err(_) => {
                        return fail(
                            self,
                            CaptureError::Block {
                                offset: at,
                                why: "zstd could not decompress it",
                            },
                        );
                    }
                }
                self.pos = end;
                Ok(Some(Records {
                    rest: &self.block,
                    block_at: at,
                }))
            }
            b'T' => {
                let mut cursor = Cursor { input: stored };
                let (Ok(records), Ok(dropped)) = (cursor.u64(), cursor.u64()) else {
                    return fail(
                        self,
                        CaptureError::Block {
                            offset: at,
                            why: "a trailer too short",
                        },
                    );
                };
                self.trailer = Some(Trailer { records, dropped });
                self.done = true;
                self.pos = end;
                if end < self.input.len() {
                    return Err(CaptureError::TrailingBytes(self.input.len() - end));
                }
                Ok(None)
            }
            _ => fail(
                self,
                CaptureError::Block {
                    offset: at,
                    why: "an unknown block kind",
                },
            ),
        }
    }

    /// The trailer, once read.
    pub fn trailer(&self) -> Option<Trailer> {
        self.trailer
    }
}

/// The records of one block, in order.
#[derive(Debug)]
pub struct Records<'b> {
    rest: &'b [u8],
    block_at: usize,
}

impl<'b> Iterator for Records<'b> {
    type Item = Result<Record<'b>, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match Record::parse(self.rest) {
            Ok((record, rest)) => {
                self.rest = rest;
                Some(Ok(record))
            }
            Err(why) => {
                self.rest = &[];
                Some(Err(CaptureError::Record {
                    block: self.block_at,
                    why,
                }))
            }
        }
    }
}

fn parse_header(fields: &[u8]) -> Result<Header, &'static str> {
    let mut cursor = Cursor { input: fields };
    let venue_len = cursor.u16()? as usize;
    let venue = cursor.take(venue_len)?;
    let codec_config = cursor.bytes()?;
    let header = Header {
        venue: String::from_utf8(venue.to_vec()).map_err(|_| "venue not UTF-8")?,
        codec_config: String::from_utf8(codec_config.to_vec())
            .map_err(|_| "codec config not UTF-8")?,
        rng_seed: cursor.u64()?,
        started_wall_ns: i64::from_le_bytes(cursor.array()?),
        started_mono_ns: cursor.u64()?,
    };
    if !cursor.input.is_empty() {
        return Err("bytes after the header's fields");
    }
    Ok(header)
}

/// A whole capture read at once, for tools and tests: every record that
/// could be read, owned, and what stopped the reading if not the trailer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capture {
    /// The header.
    pub header: Header,
    /// Every record read, in order.
    pub records: Vec<OwnedRecord>,
    /// The trailer, if the capture ended cleanly.
    pub trailer: Option<Trailer>,
    /// What ended the reading early.
    pub error: Option<CaptureError>,
}

/// Reads all of `input`: the header must be whole; after it, damage stops
/// the reading and is reported in [`Capture::error`].
pub fn read_all(input: &[u8]) -> Result<Capture, CaptureError> {
    let (header, mut reader) = CaptureReader::open(input)?;
    let mut capture = Capture {
        header,
        ..Capture::default()
    };
    loop {
        match reader.next_block() {
            Ok(Some(records)) => {
                for record in records {
                    match record {
                        Ok(record) => match OwnedRecord::new(&record) {
                            Ok(owned) => capture.records.push(owned),
                            Err(error) => {
                                capture.error = Some(error);
                                return Ok(capture);
                            }
                        },
                        Err(error) => {
                            capture.error = Some(error);
                            return Ok(capture);
                        }
                    }
                }
            }
            Ok(None) => break,
            Err(error) => {
                capture.error = Some(error);
                break;
            }
        }
    }
    capture.trailer = reader.trailer();
    Ok(capture)
}
