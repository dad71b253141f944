//! What a venue call reads (the driver's context) and where its frames go.
//!
//! The driver (the engine's gateway, a test Pair, the replayer, a fuzzer)
//! builds one [`Ctx`] per call and owns every [`Frames`] buffer, so a codec
//! never reads a clock, never draws from an unseeded RNG and never
//! allocates a frame of its own.

use rand_chacha::ChaCha8Rng;

use crate::time::Instant;

/// What every venue call may read, built by the driver for each call.
///
/// Wall-clock time is an input like `now`, so that the same inputs always
/// give the same bytes: signatures (Binance `timestamp`, DigiFinex
/// `server.auth`), JWT nonces and KST dates read `wall_ns`, and tickets
/// and nonces draw from `rng`, which the driver seeds.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The driver's monotonic clock.
    pub now: Instant,
    /// Wall-clock time, in nanoseconds since the Unix epoch.
    pub wall_ns: i64,
    /// The driver's seeded RNG.
    pub rng: &'a mut ChaCha8Rng,
}

impl<'a> Ctx<'a> {
    /// A context for one call.
    pub fn new(now: Instant, wall_ns: i64, rng: &'a mut ChaCha8Rng) -> Ctx<'a> {
        Ctx { now, wall_ns, rng }
    }
}

/// The WebSocket kind of a frame, in either direction.
///
/// Inbound, a codec is told the kind because it carries meaning: Upbit
/// sends JSON in binary frames, DigiFinex sends zlib in binary frames and
/// plain JSON acks in text frames. Outbound, `Pong` is a pong control frame
/// with a chosen payload (KIS answers `PINGPONG` by echoing its text in
/// one); a payload over 125 bytes is refused by the driver's codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameKind {
    /// A text message (UTF-8).
    Text,
    /// A binary message.
    Binary,
    /// A pong control frame.
    Pong,
}

/// Frames a venue call wants sent, in order, in buffers the driver reuses.
///
/// A concrete type rather than the `dyn FrameSink` trait the design sketch
/// proposes: every driver needs the same three things (an ordered list,
/// buffers kept across calls, and dropping what a failed encode wrote), and
/// one type gives them without a virtual call on the order path.
///
/// Invariant: slots at `len..` hold cleared buffers kept for reuse, so a
/// steady state of N frames per call allocates nothing.
#[derive(Debug, Default)]
pub struct Frames {
    slots: Vec<(FrameKind, Vec<u8>)>,
    len: usize,
}

impl Frames {
    /// An empty list.
    pub fn new() -> Frames {
        Frames::default()
    }

    /// Starts a frame of `kind` and returns its (empty) buffer to write.
    pub fn frame(&mut self, kind: FrameKind) -> &mut Vec<u8> {
        if self.len == self.slots.len() {
            // Room for any order request at once: a buffer that grew a byte
            // at a time would reallocate whenever ids grow a digit.
            self.slots.push((kind, Vec::with_capacity(FRAME_CAPACITY)));
        }
        let index = self.len;
        self.len += 1;
        let slot = &mut self.slots[index];
        slot.0 = kind;
        slot.1.clear();
        &mut slot.1
    }

    /// How many frames are queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no frame is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops the frames queued after the first `len` (what a failed encode
    /// wrote), keeping their buffers.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Forgets every frame, keeping the buffers.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The queued frames, in order.
    pub fn iter(&self) -> impl Iterator<Item = (FrameKind, &[u8])> {
        self.slots[..self.len]
            .iter()
            .map(|(kind, data)| (*kind, data.as_slice()))
    }

    /// The `index`th frame's buffer, to hand it to a transport without a
    /// copy: the driver swaps in an empty buffer of its own (a pooled one),
    /// which this list then reuses.
    pub fn get_mut(&mut self, index: usize) -> Option<(FrameKind, &mut Vec<u8>)> {
        self.slots[..self.len]
            .get_mut(index)
            .map(|(kind, data)| (*kind, data))
    }
}

/// What a request asks the gateway to wait for, returned by the encode
/// that wrote it (no second trip into the venue).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expect {
    /// This many replies, each carrying the request's id (Kraken answers a
    /// cancel once per order; Binance a cancel-replace once per half).
    Replies(u32),
    /// No reply at all (an Upbit subscription, Upbit's `PING`): no pending
    /// entry, no deadline, no timeout.
    Nothing,
}

/// How a reply finds its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Correlation {
    /// The reply echoes the request id (Kraken `req_id`, Binance, Koscom
    /// and DigiFinex `id`).
    ById,
    /// The reply names a key of the request (KIS `tr_id` + `tr_key`): the
    /// codec keeps the key-to-id map and puts the id on the reply event.
    ByKey,
    /// Replies echo the request id, but some errors carry none (Koscom):
    /// an error without an id answers the oldest request still waiting,
    /// because the venue answers in order.
    ByIdThenInOrder,
    /// Nothing is answered (Upbit): requests never wait.
    None,
}

/// How orders whose state is unknown (a timeout, a reconnect) are settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reconcile {
    /// From the snapshot of open orders that follows a (re)subscription to
    /// the private stream (Kraken `executions` with `snap_orders`).
    FromSnapshot,
    /// By asking for each unknown order ([`crate::model::Request::QueryOrder`], Binance
    /// `order.status`).
    QueryEach,
    /// The venue takes no orders on this connection.
    NotApplicable,
}

/// What the venue's books look like on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BookKind {
    /// A snapshot, then deltas with a checksum of the top levels (Kraken).
    Checksummed,
    /// Sequenced deltas (`U`/`u`) synced from a snapshot fetched elsewhere
    /// (Binance diff depth with `depth` on the API).
    SequencedWithSnapshot,
    /// Every message is a whole book: replace, never merge (Upbit).
    Whole,
    /// Deltas, with a flag that marks a message as a clean snapshot
    /// (DigiFinex `clean`).
    CleanFlag,
    /// No books on this connection.
    None,
}

/// The capacity new frame buffers start with.
pub const FRAME_CAPACITY: usize = 1024;

/// What a venue connection can do, as data the gateway reads once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Orders are placed, amended and canceled over this connection. Where
    /// not, the gateway refuses order requests (Upbit, DigiFinex and KIS
    /// take orders over REST and push their updates here).
    pub order_entry: bool,
    /// How replies find their requests.
    pub correlation: Correlation,
    /// How unknown orders are settled.
    pub reconcile: Reconcile,
    /// The book shape.
    pub book: BookKind,
    /// JSON keys whose values are secrets (Kraken's `token`, Binance's
    /// `apiKey` and `signature`): redacted wherever a request is shown
    /// ([`super::redact_json`]).
    pub secret_fields: &'static [&'static str],
    /// The venue's cap on concurrent subscriptions per connection, counted
    /// in registrations (one per symbol and channel: KIS 41, Koscom 200).
    /// A subscribe past it is refused locally, before anything is sent.
    pub max_subscriptions: Option<u32>,
    /// The venue wants the login acknowledged before anything is
    /// subscribed (DigiFinex's private channels need `server.auth` first;
    /// Koscom's `init`): the gateway holds the open sequence's
    /// subscriptions until the login's reply, and sends none if it is
    /// refused.
    pub subscribe_after_login: bool,
}

impl Default for Capabilities {
    /// A connection that takes no orders, answers by id, has no books, no
    /// secret fields and no cap: a codec states what differs, and a field
    /// added later edits no codec that does not need it.
    fn default() -> Capabilities {
        Capabilities {
            order_entry: false,
            correlation: Correlation::ById,
            reconcile: Reconcile::NotApplicable,
            book: BookKind::None,
            secret_fields: &[],
            max_subscriptions: None,
            subscribe_after_login: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_reuse_buffers_and_roll_back() {
        let mut frames = Frames::new();
        frames.frame(FrameKind::Text).extend_from_slice(b"one");
        frames.frame(FrameKind::Binary).extend_from_slice(b"two");
        assert_eq!(frames.len(), 2);
        frames.truncate(1);
        let listed: Vec<_> = frames.iter().collect();
        assert_eq!(listed, vec![(FrameKind::Text, &b"one"[..])]);
        frames.clear();
        let reused = frames.frame(FrameKind::Pong);
        assert!(reused.is_empty(), "a reused buffer starts empty");
        assert!(reused.capacity() >= 3, "the buffer was kept");
        let (kind, data) = frames.get_mut(0).unwrap();
        assert_eq!((kind, data.len()), (FrameKind::Pong, 0));
        assert!(frames.get_mut(1).is_none());
    }
}
