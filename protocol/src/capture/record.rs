//! One capture record: its encoding into a block and its parse back.

use super::CaptureError;

/// A WebSocket frame's type, as captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameType {
    /// Text.
    Text,
    /// Binary.
    Binary,
    /// Ping.
    Ping,
    /// Pong.
    Pong,
    /// Close (the payload is the close code and reason).
    Close,
}

impl FrameType {
    fn byte(self) -> u8 {
        match self {
            FrameType::Text => 1,
            FrameType::Binary => 2,
            FrameType::Ping => 9,
            FrameType::Pong => 10,
            FrameType::Close => 8,
        }
    }

    fn from_byte(byte: u8) -> Option<FrameType> {
        Some(match byte {
            1 => FrameType::Text,
            2 => FrameType::Binary,
            9 => FrameType::Ping,
            10 => FrameType::Pong,
            8 => FrameType::Close,
            _ => return None,
        })
    }
}

/// One input the core or the connection saw, with when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Monotonic time, ns.
    pub mono_ns: u64,
    /// Wall clock, ns since the epoch.
    pub wall_ns: i64,
    /// What happened.
    pub body: RecordBody<'a>,
}

/// What a record says happened. Byte strings borrow from the block they
/// were read from (or from the caller, when writing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordBody<'a> {
    /// A frame received, its payload as the codec saw it. The record's
    /// time is when the core handled it; `received_ns` when it was read.
    FrameIn {
        /// Its type.
        kind: FrameType,
        /// When the read returned it (monotonic, ns): the core's
        /// `received_at`, which its latency figures start from.
        received_ns: u64,
        /// The payload, with secrets redacted by the capturing side.
        payload: &'a [u8],
    },
    /// A frame sent.
    FrameOut {
        /// Its type.
        kind: FrameType,
        /// The payload, with secrets redacted by the capturing side.
        payload: &'a [u8],
    },
    /// A request submitted to the core.
    Submit {
        /// The core's request id.
        req_id: u64,
        /// The request and its options, as the capturing side encoded them.
        request: &'a [u8],
    },
    /// A connection attempt succeeded (TCP, TLS and the upgrade).
    Connect {
        /// Which attempt (0 the first).
        attempt: u32,
    },
    /// The core signed the upgrade request's headers (the driver asked
    /// for them before connecting). The core never sees the HTTP response,
    /// so the bytes are what the capturing side knows of it (empty from
    /// the core's own recorder); a replay asks for the headers again at
    /// this time, so that the codec draws the same nonces.
    Handshake {
        /// Its bytes.
        response: &'a [u8],
    },
    /// The connection ended.
    Disconnect {
        /// Why, as text.
        reason: &'a [u8],
    },
    /// A timer of the core fired.
    Timer {
        /// Which (the core's name for it).
        timer: &'a [u8],
    },
    /// The driver will reconnect after `delay_ns`.
    Reconnecting {
        /// Which attempt.
        attempt: u32,
        /// The back-off, ns.
        delay_ns: u64,
    },
    /// The connection is gone for good (closed, or the engine stopped).
    Closed,
    /// The user reserved the next request id (to submit with it later).
    ReserveId,
    /// A split core passed its notes to its decoder, up to connection
    /// `reached` (`u64::MAX`: every connection): where a replay passes them.
    NotesPassed {
        /// The connection the driver had seen open, or `u64::MAX`.
        reached: u64,
    },
    /// A book snapshot fetched on another connection and fed to this
    /// core, encoded by [`super::encode_snapshot`].
    BookSnapshot {
        /// Its bytes.
        snapshot: &'a [u8],
    },
}

const TAG_FRAME_IN: u8 = 1;
const TAG_FRAME_OUT: u8 = 2;
const TAG_SUBMIT: u8 = 3;
const TAG_CONNECT: u8 = 4;
const TAG_HANDSHAKE: u8 = 5;
const TAG_DISCONNECT: u8 = 6;
const TAG_TIMER: u8 = 7;
const TAG_RECONNECTING: u8 = 8;
const TAG_CLOSED: u8 = 9;
const TAG_SNAPSHOT: u8 = 10;
const TAG_RESERVE_ID: u8 = 11;
const TAG_NOTES_PASSED: u8 = 12;

/// The tag, the two times: the fixed part of every record.
const FIXED: usize = 1 + 8 + 8;

impl Record<'_> {
    /// At least the bytes [`Record::encode`] appends.
    pub fn encoded_len_bound(&self) -> usize {
        let bytes = match &self.body {
            RecordBody::FrameIn { payload, .. } | RecordBody::FrameOut { payload, .. } => {
                payload.len()
            }
            RecordBody::Submit { request, .. } => request.len(),
            RecordBody::Connect { .. }
            | RecordBody::Reconnecting { .. }
            | RecordBody::Closed
            | RecordBody::ReserveId
            | RecordBody::NotesPassed { .. } => 0,
            RecordBody::Handshake { response: bytes }
            | RecordBody::Disconnect { reason: bytes }
            | RecordBody::Timer { timer: bytes }
            | RecordBody::BookSnapshot { snapshot: bytes } => bytes.len(),
        };
        bytes + 64
    }

    /// Appends the record (its length first) to `out`. Fails only for a
    /// record too large for any block. [`Record::decode`] reads it back.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), CaptureError> {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        let (tag, bytes): (u8, &[u8]) = match &self.body {
            RecordBody::FrameIn { payload, .. } => (TAG_FRAME_IN, payload),
            RecordBody::FrameOut { payload, .. } => (TAG_FRAME_OUT, payload),
            RecordBody::Submit { request, .. } => (TAG_SUBMIT, request),
            RecordBody::Connect { .. } => (TAG_CONNECT, &[]),
            RecordBody::Handshake { response } => (TAG_HANDSHAKE, response),
            RecordBody::Disconnect { reason } => (TAG_DISCONNECT, reason),
            RecordBody::Timer { timer } => (TAG_TIMER, timer),
            RecordBody::Reconnecting { .. } => (TAG_RECONNECTING, &[]),
            RecordBody::Closed => (TAG_CLOSED, &[]),
            RecordBody::ReserveId => (TAG_RESERVE_ID, &[]),
            RecordBody::NotesPassed { .. } => (TAG_NOTES_PASSED, &[]),
            RecordBody::BookSnapshot { snapshot } => (TAG_SNAPSHOT, snapshot),
        };
        if bytes.len() > super::MAX_BLOCK - 64 {
            out.truncate(start);
            return Err(CaptureError::TooLarge(bytes.len()));
        }
        out.push(tag);
        out.extend_from_slice(&self.mono_ns.to_le_bytes());
        out.extend_from_slice(&self.wall_ns.to_le_bytes());
        match &self.body {
            RecordBody::FrameIn {
                kind,
                received_ns,
                payload,
            } => {
                out.push(kind.byte());
                out.extend_from_slice(&received_ns.to_le_bytes());
                put_bytes(out, payload);
            }
            RecordBody::FrameOut { kind, payload } => {
                out.push(kind.byte());
                put_bytes(out, payload);
            }
            RecordBody::Submit { req_id, request } => {
                out.extend_from_slice(&req_id.to_le_bytes());
                put_bytes(out, request);
            }
            RecordBody::Connect { attempt } => out.extend_from_slice(&attempt.to_le_bytes()),
            RecordBody::Reconnecting { attempt, delay_ns } => {
                out.extend_from_slice(&attempt.to_le_bytes());
                out.extend_from_slice(&delay_ns.to_le_bytes());
            }
            RecordBody::Closed | RecordBody::ReserveId => {}
            RecordBody::NotesPassed { reached } => out.extend_from_slice(&reached.to_le_bytes()),
            RecordBody::Handshake { response: bytes }
            | RecordBody::Disconnect { reason: bytes }
            | RecordBody::Timer { timer: bytes }
            | RecordBody::BookSnapshot { snapshot: bytes } => put_bytes(out, bytes),
        }
        // Checked above: the body is below MAX_BLOCK.
        let len = len_le(out.len() - start - 4);
        out[start..start + 4].copy_from_slice(&len);
        Ok(())
    }

    /// Reads back one record [`Record::encode`] wrote (`encoded` holds it
    /// whole, and nothing after it).
    pub fn decode(encoded: &[u8]) -> Result<Record<'_>, &'static str> {
        match Record::parse(encoded)? {
            (record, []) => Ok(record),
            _ => Err("bytes after the record"),
        }
    }

    /// Reads the record [`Record::encode`] wrote at the front of `input`;
    /// returns it and the bytes after it (a batch of records is read so).
    pub fn decode_first(input: &[u8]) -> Result<(Record<'_>, &[u8]), &'static str> {
        Record::parse(input)
    }

    /// Parses the record at the front of `input`; returns it and what
    /// follows. `why` names what is wrong, for the caller's error.
    pub(super) fn parse(input: &[u8]) -> Result<(Record<'_>, &[u8]), &'static str> {
        let mut cursor = Cursor { input };
        let len = cursor.u32()? as usize;
        let body = cursor
            .take(len)
            .map_err(|_| "length past the block's end")?;
        let rest = cursor.input;
        let mut cursor = Cursor { input: body };
        if body.len() < FIXED {
            return Err("shorter than a record's fixed part");
        }
        let tag = cursor.u8()?;
        let mono_ns = cursor.u64()?;
        let wall_ns = i64::from_le_bytes(cursor.array()?);
        let body = match tag {
            TAG_FRAME_IN => {
                let kind = FrameType::from_byte(cursor.u8()?).ok_or("unknown frame type")?;
                let received_ns = cursor.u64()?;
                RecordBody::FrameIn {
                    kind,
                    received_ns,
                    payload: cursor.bytes()?,
                }
            }
            TAG_FRAME_OUT => {
                let kind = FrameType::from_byte(cursor.u8()?).ok_or("unknown frame type")?;
                RecordBody::FrameOut {
                    kind,
                    payload: cursor.bytes()?,
                }
            }
            TAG_SUBMIT => RecordBody::Submit {
                req_id: cursor.u64()?,
                request: cursor.bytes()?,
            },
            TAG_CONNECT => RecordBody::Connect {
                attempt: cursor.u32()?,
            },
            TAG_HANDSHAKE => RecordBody::Handshake {
                response: cursor.bytes()?,
            },
            TAG_DISCONNECT => RecordBody::Disconnect {
                reason: cursor.bytes()?,
            },
            TAG_TIMER => RecordBody::Timer {
                timer: cursor.bytes()?,
            },
            TAG_RECONNECTING => RecordBody::Reconnecting {
                attempt: cursor.u32()?,
                delay_ns: cursor.u64()?,
            },
            TAG_CLOSED => RecordBody::Closed,
            TAG_RESERVE_ID => RecordBody::ReserveId,
            TAG_NOTES_PASSED => RecordBody::NotesPassed {
                reached: cursor.u64()?,
            },
            TAG_SNAPSHOT => RecordBody::BookSnapshot {
                snapshot: cursor.bytes()?,
            },
            _ => return Err("unknown record tag"),
        };
        if !cursor.input.is_empty() {
            return Err("bytes left inside a record");
        }
        Ok((
            Record {
                mono_ns,
                wall_ns,
                body,
            },
            rest,
        ))
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&len_le(bytes.len()));
    out.extend_from_slice(bytes);
}

/// A length as the format writes it. Every caller has checked the length
/// against [`super::MAX_BLOCK`], far below `u32::MAX`.
pub(super) fn len_le(len: usize) -> [u8; 4] {
    // Invariant: bounded by MAX_BLOCK (32 MiB) before this is called.
    u32::try_from(len)
        .expect("a length bounded by MAX_BLOCK") // invariant: every caller checked MAX_BLOCK
        .to_le_bytes()
}

/// Reads little-endian fields off the front of a slice, never past it.
pub(super) struct Cursor<'a> {
    pub(super) input: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(super) fn take(&mut self, len: usize) -> Result<&'a [u8], &'static str> {
        if len > self.input.len() {
            return Err("cut short");
        }
        let (head, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(head)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let bytes = self.take(N)?;
        let mut array = [0; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    pub(super) fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.array::<1>()?[0])
    }

    pub(super) fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(super) fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(super) fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(super) fn bytes(&mut self) -> Result<&'a [u8], &'static str> {
        let len = self.u32()? as usize;
        self.take(len)
    }
}

/// A record that owns its bytes (kept in its encoded form), for tools and
/// tests that hold records past their block.
#[derive(Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    encoded: Vec<u8>,
}

impl OwnedRecord {
    /// Copies `record`; fails only for a record too large for any block.
    pub fn new(record: &Record<'_>) -> Result<OwnedRecord, CaptureError> {
        let mut encoded = Vec::new();
        record.encode(&mut encoded)?;
        Ok(OwnedRecord { encoded })
    }

    /// The record.
    pub fn get(&self) -> Record<'_> {
        // Invariant: `encoded` was written by `Record::encode`, which `parse`
        // reads back whole.
        Record::parse(&self.encoded)
            .map(|(record, _)| record)
            .expect("an encoded record parses") // invariant: written by Record::encode
    }
}

impl std::fmt::Debug for OwnedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}
