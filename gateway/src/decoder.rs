//! The decoding half of a split codec, for a driver that decodes on one
//! thread while others submit (the threaded driver; docs/gateway.md,
//! "Threads and locks").
//!
//! [`GatewayCore::split_decoder`](crate::GatewayCore::split_decoder) makes
//! it. From then on a message goes through three steps, and only the first
//! and last touch the core:
//! 1. [`GatewayCore::pass_notes`](crate::GatewayCore::pass_notes): what the
//!    encoder wrote since (requests sent, books subscribed, a new
//!    connection) reaches the decoder, in order;
//! 2. [`Decoder::decode`]: the venue's decode, the costly part, with no
//!    core in reach;
//! 3. [`GatewayCore::handle_decoded`](crate::GatewayCore::handle_decoded):
//!    the core correlates the events, as `handle_message` would.
//!
//! Sans-IO like the core: the decoder's [`Ctx`] draws from its own RNG,
//! seeded from the core's seed, so the same inputs give the same bytes.

use orderwire_protocol::model::{BookEvent, Events, Level};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{Ctx, DecodeError, FrameKind, Frames, Note, Venue};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// What crosses from the core's encoding half to the decoder, in the order
/// it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Crossing {
    /// A note the encoding half wrote.
    Note(Note),
    /// Connection number `.0` opened: the decoder forgets the last one's
    /// state once the driver has read that far in the message stream.
    Connected(u64),
}

impl Crossing {
    /// A request's note, the kind dropped first from a queue nobody reads.
    pub(crate) fn is_request_note(&self) -> bool {
        matches!(self, Crossing::Note(Note::Sent { .. }))
    }
}

/// The wall clock at `now`: the driver's clock plus its offset (both
/// halves of a split codec sign with the same clock).
pub(crate) fn wall_clock_ns(now: Instant, offset_ns: i64) -> i64 {
    i64::try_from(now.as_nanos())
        .unwrap_or(i64::MAX)
        .saturating_add(offset_ns)
}

/// Mixed into the core's seed, so the decoder's draws differ from the
/// encoder's and neither shifts the other's.
const DECODER_SEED_MIX: u64 = 0x0064_6563_6f64_6572; // "decoder"

/// What the last decode took, kept for the core's recorder (only while
/// a capture is on): the core records it when it takes the decode in,
/// in its own order of inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kept {
    /// Nothing (no capture, or nothing decoded yet).
    Nothing,
    /// A message of this kind, in `input`.
    Frame(FrameKind),
    /// A fed book snapshot, encoded in `input`.
    Snapshot,
}

/// The decoding half of a venue codec and the buffers its decode fills.
pub struct Decoder<V: Venue> {
    venue: V,
    rng: ChaCha8Rng,
    wall_offset_ns: i64,
    pub(crate) decoded: Events,
    pub(crate) replies: Frames,
    /// What the last decode could not read (after the events it did).
    pub(crate) error: Option<DecodeError>,
    /// Keep each input for the recorder (a capture is on).
    keep_input: bool,
    pub(crate) kept: Kept,
    /// The kept input, before the decode touched it.
    pub(crate) input: Vec<u8>,
}

impl<V: Venue> std::fmt::Debug for Decoder<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("venue", &self.venue.name())
            .field("events", &self.decoded.list.len())
            .finish_non_exhaustive()
    }
}

impl<V: Venue> Decoder<V> {
    pub(crate) fn new(venue: V, seed: u64, wall_offset_ns: i64, keep_input: bool) -> Decoder<V> {
        Decoder {
            venue,
            rng: ChaCha8Rng::seed_from_u64(seed ^ DECODER_SEED_MIX),
            wall_offset_ns,
            decoded: Events::default(),
            replies: Frames::new(),
            error: None,
            keep_input,
            kept: Kept::Nothing,
            input: Vec::new(),
        }
    }

    /// The decoding half of the codec (its books, for example).
    pub fn venue(&self) -> &V {
        &self.venue
    }

    pub(crate) fn set_wall_offset(&mut self, offset_ns: i64) {
        self.wall_offset_ns = offset_ns;
    }

    pub(crate) fn venue_mut(&mut self) -> &mut V {
        &mut self.venue
    }

    pub(crate) fn receive(&mut self, crossing: Crossing) {
        match crossing {
            Crossing::Note(note) => self.venue.apply_note(note),
            Crossing::Connected(_) => self.venue.reset(),
        }
    }

    fn wall_ns(&self, now: Instant) -> i64 {
        wall_clock_ns(now, self.wall_offset_ns)
    }

    /// Decodes one inbound message of `kind`, for
    /// [`GatewayCore::handle_decoded`](crate::GatewayCore::handle_decoded).
    pub fn decode(&mut self, now: Instant, kind: FrameKind, message: &mut [u8]) {
        if self.keep_input {
            // The decode may rewrite the message in place: keep it first.
            self.input.clear();
            self.input.extend_from_slice(message);
            self.kept = Kept::Frame(kind);
        }
        let mut decoded = std::mem::take(&mut self.decoded);
        let mut replies = std::mem::take(&mut self.replies);
        decoded.clear();
        replies.clear();
        let mut ctx = Ctx::new(now, self.wall_ns(now), &mut self.rng);
        let result = self
            .venue
            .decode(&mut ctx, kind, message, &mut decoded, &mut replies);
        self.error = result.err();
        self.decoded = decoded;
        self.replies = replies;
    }

    /// A book snapshot fetched on another connection (see
    /// [`Venue::feed_book_snapshot`]), for `handle_decoded` like a message.
    pub fn feed_book_snapshot(&mut self, now: Instant, book: &BookEvent, levels: &[Level]) {
        if self.keep_input {
            self.input.clear();
            orderwire_protocol::capture::encode_snapshot(book, levels, &mut self.input);
            self.kept = Kept::Snapshot;
        }
        let mut decoded = std::mem::take(&mut self.decoded);
        decoded.clear();
        self.replies.clear();
        self.error = None;
        let mut ctx = Ctx::new(now, self.wall_ns(now), &mut self.rng);
        self.venue
            .feed_book_snapshot(&mut ctx, book, levels, &mut decoded);
        self.decoded = decoded;
    }
}
