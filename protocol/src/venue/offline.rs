//! A driver for a codec outside the engine: `orderwire decode`, the fuzz
//! targets, benchmarks and codec tests. It holds what every call's [`Ctx`]
//! is made of (a seeded RNG, the wall clock it is told) and the buffers of
//! the frames a call writes, so those callers stay one line each.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use super::{Ctx, DecodeError, EncodeError, Expect, FrameKind, Frames, Venue};
use crate::model::{BookEvent, Events, Level, Request};
use crate::time::Instant;

/// A codec's context, held between calls.
#[derive(Debug)]
pub struct Offline {
    /// The monotonic time each call sees.
    pub now: Instant,
    /// The wall clock each call sees (ns since the epoch): signatures read it.
    pub wall_ns: i64,
    rng: ChaCha8Rng,
    frames: Frames,
    replies: Frames,
}

impl Offline {
    /// A driver whose RNG starts from `seed`, at time 0 on both clocks.
    pub fn new(seed: u64) -> Offline {
        Offline {
            now: Instant::ZERO,
            wall_ns: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            frames: Frames::new(),
            replies: Frames::new(),
        }
    }

    /// The context for one call.
    pub fn ctx(&mut self) -> Ctx<'_> {
        Ctx::new(self.now, self.wall_ns, &mut self.rng)
    }

    /// Decodes one message; what the venue answers is in [`Offline::replies`].
    pub fn decode<V: Venue + ?Sized>(
        &mut self,
        venue: &mut V,
        kind: FrameKind,
        message: &mut [u8],
        out: &mut Events,
    ) -> Result<(), DecodeError> {
        self.replies.clear();
        let mut ctx = Ctx::new(self.now, self.wall_ns, &mut self.rng);
        venue.decode(&mut ctx, kind, message, out, &mut self.replies)
    }

    /// The frames the last decode answered with.
    pub fn replies(&self) -> &Frames {
        &self.replies
    }

    /// Encodes `request` and appends its frames to `out`, a newline between
    /// two frames (tests and the fuzzer read single-frame requests).
    pub fn encode<V: Venue + ?Sized>(
        &mut self,
        venue: &mut V,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Expect, EncodeError> {
        self.frames.clear();
        let mut ctx = Ctx::new(self.now, self.wall_ns, &mut self.rng);
        let expect = venue.encode(&mut ctx, req_id, request, &mut self.frames)?;
        self.append_frames(out);
        Ok(expect)
    }

    /// Writes the login message, if the venue has one, into `out`; whether
    /// it wrote one.
    pub fn login<V: Venue + ?Sized>(
        &mut self,
        venue: &mut V,
        req_id: u64,
        out: &mut Vec<u8>,
    ) -> Result<bool, EncodeError> {
        self.frames.clear();
        let mut ctx = Ctx::new(self.now, self.wall_ns, &mut self.rng);
        venue.login(&mut ctx, req_id, &mut self.frames)?;
        self.append_frames(out);
        Ok(!self.frames.is_empty())
    }

    /// Feeds a book snapshot taken elsewhere.
    pub fn feed_book_snapshot<V: Venue + ?Sized>(
        &mut self,
        venue: &mut V,
        book: &BookEvent,
        levels: &[Level],
        out: &mut Events,
    ) {
        let mut ctx = Ctx::new(self.now, self.wall_ns, &mut self.rng);
        venue.feed_book_snapshot(&mut ctx, book, levels, out);
    }

    /// Hands every note one half of a split codec has written to the
    /// other half, in order ([`Venue::split`]); how many there were. The
    /// engine's gateway does this itself; tests and tools driving both
    /// halves by hand call this.
    pub fn pass_notes<V: Venue + ?Sized>(from: &mut V, to: &mut V) -> usize {
        let mut passed = 0;
        while let Some(note) = from.take_note() {
            to.apply_note(note);
            passed += 1;
        }
        passed
    }

    fn append_frames(&self, out: &mut Vec<u8>) {
        for (index, (_, data)) in self.frames.iter().enumerate() {
            if index > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(data);
        }
    }
}
