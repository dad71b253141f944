//! The one trait through which engine/ reaches every venue, and the venue
//! codecs that implement it.
//!
//! A codec is sans-IO: it turns [`Request`]s into message bytes and message
//! bytes into normalised [`Events`]. It knows nothing of sockets, threads or
//! clocks; wall-clock time for signatures comes in as an argument.

pub mod binance;
pub mod digifinex;
mod fields;
mod io;
pub mod keyed;
pub mod kis;
pub mod koscom;

pub mod kraken;
mod kst;
mod notes;
mod offline;
mod policy;
mod redact;
pub mod registry;
pub mod upbit;

pub use io::{
    BookKind, Capabilities, Correlation, Ctx, Expect, FRAME_CAPACITY, FrameKind, Frames, Reconcile,
};
pub use notes::{NOTE_LIMIT, Note, NoteQueue, push_bounded};
pub use offline::Offline;
pub use policy::{Cost, Keepalive, LimitScope, RateLimit, RatePolicy};
pub use redact::{REDACTED, redact_json, string_field};

use crate::json::JsonError;
use crate::model::{BookEvent, Events, Level, Request};
use crate::secret::Secret;

/// Why a request could not be encoded (misuse, not a venue fault).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The venue has no such request.
    #[error("{0} is not supported by this venue")]
    Unsupported(&'static str),
    /// A field is missing or out of the venue's range.
    #[error("invalid request: {0}")]
    Invalid(&'static str),
    /// A private request without credentials.
    #[error("no credentials for a private request")]
    NoCredentials,
}

/// Why a message could not be decoded (a fault of the peer).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not JSON, or not the JSON expected.
    #[error("malformed message: {0}")]
    Json(#[from] JsonError),
    /// A field has a value the codec cannot use.
    #[error("bad field {field}: {why}")]
    Field {
        /// The field.
        field: &'static str,
        /// What was wrong.
        why: &'static str,
    },
    /// A message the codec does not know.
    #[error("unknown message: {0}")]
    Unknown(&'static str),
    /// A message of a format that is not JSON could not be read: a KIS
    /// caret record, an AES-encrypted notice, a zlib stream.
    #[error("malformed {format} message: {why}")]
    Format {
        /// The format (`caret record`, `aes-cbc`, `zlib`).
        format: &'static str,
        /// What was wrong.
        why: &'static str,
    },
    /// A message over the codec's size bound once decompressed.
    #[error("message over {limit} bytes")]
    TooLarge {
        /// The bound.
        limit: usize,
    },
}

/// A venue's wire format, as data and pure functions.
///
/// Every call takes the driver's [`Ctx`]: the monotonic time, the wall
/// clock and a seeded RNG, so the same inputs give the same bytes whoever
/// drives the codec. Frames go into a [`Frames`] the driver owns, each with
/// its [`FrameKind`]; one request may write several (KIS subscribes one
/// `tr_key` per message) or, with [`Expect::Nothing`], expect no reply.
///
/// Invariant: `decode` never panics on any input; whatever it cannot use
/// comes back as a [`DecodeError`], and events decoded before the fault stay
/// in `out`.
///
/// Invariant: a failed `encode` or `login` leaves `out` as it found it
/// (the driver truncates it back; a codec need not).
pub trait Venue: Send + 'static {
    /// The name in normalised events (`kraken`).
    fn name(&self) -> &'static str;

    /// What this connection can do; read once, when the gateway is made.
    fn capabilities(&self) -> Capabilities;

    /// Headers for the WebSocket handshake, made at every (re)connect
    /// (Upbit's private feed: `Authorization: Bearer <JWT>` with a fresh
    /// nonce). The values are secrets: drivers never print them.
    fn handshake_headers(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<(String, Secret)>) {
        let _ = (ctx, out);
    }

    /// Writes the message that authenticates a fresh connection, if the
    /// venue has one (Binance `session.logon`; Kraken has none: its token
    /// rides in each request). `req_id` is consumed only if a frame was
    /// written.
    fn login(
        &mut self,
        ctx: &mut Ctx<'_>,
        req_id: u64,
        out: &mut Frames,
    ) -> Result<(), EncodeError> {
        let _ = (ctx, req_id, out);
        Ok(())
    }

    /// Writes every configured subscription of a fresh connection at once,
    /// for venues where a request replaces the connection's subscriptions
    /// and answers nothing (Upbit: one request carries every type, and one
    /// per subscription would spend the 5-a-second limit). `None`: the
    /// gateway sends them one by one through `encode`.
    fn subscribe_all(
        &mut self,
        ctx: &mut Ctx<'_>,
        subscriptions: &[crate::model::Subscription],
        out: &mut Frames,
    ) -> Option<Result<(), EncodeError>> {
        let _ = (ctx, subscriptions, out);
        None
    }

    /// Whether a refused login will be refused again however often it is
    /// retried (a bad or revoked key, KIS `OPSP8996`), read from the
    /// refusal's text: then the gateway stops reconnecting and says so,
    /// instead of knocking until the venue bans the address. Default: no,
    /// retry under the reconnect policy.
    fn login_refusal_is_permanent(&self, message: &str) -> bool {
        let _ = message;
        false
    }

    /// Replaces the venue token or session credential (a fresh one before a
    /// reconnect). Venues without tokens ignore it.
    fn set_token(&mut self, token: Secret) {
        let _ = token;
    }

    /// Writes `request`, tagged with `req_id`, as one or more frames, and
    /// says what to wait for.
    fn encode(
        &mut self,
        ctx: &mut Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Frames,
    ) -> Result<Expect, EncodeError>;

    /// Decodes one inbound message (the payload of one WebSocket message of
    /// `kind`). Mutable so that parsers that work in place (simd-json) can.
    /// Frames the venue wants answered at once (KIS `PINGPONG`, a
    /// server-initiated heartbeat) go into `reply`, ahead of anything else.
    fn decode(
        &mut self,
        ctx: &mut Ctx<'_>,
        kind: FrameKind,
        message: &mut [u8],
        out: &mut Events,
        reply: &mut Frames,
    ) -> Result<(), DecodeError>;

    /// A book snapshot fetched on another connection, for venues whose
    /// [`BookKind`] is `SequencedWithSnapshot` (Binance's `depth` on the
    /// WebSocket API, for the streams' diff depth): the codec syncs its
    /// book from it and appends what follows (the snapshot, then buffered
    /// deltas). Other book kinds ignore it.
    fn feed_book_snapshot(
        &mut self,
        ctx: &mut Ctx<'_>,
        book: &BookEvent,
        levels: &[Level],
        out: &mut Events,
    ) {
        let _ = (ctx, book, levels, out);
    }

    /// Forgets per-connection state (book, sequence numbers) after a drop.
    fn reset(&mut self);

    /// Splits the codec in two so that one thread can decode while another
    /// encodes: `self` becomes the encoding half (`handshake_headers`,
    /// `login`, `subscribe_all`, `set_token`, `encode`) and the value
    /// returned the decoding half (`decode`, `feed_book_snapshot`); both are
    /// `reset` at each new connection. What one half writes and the other
    /// reads crosses as [`Note`]s: the driver takes each half's notes
    /// (`take_note`) and gives them to the other (`apply_note`) in order,
    /// the encoder's before any message that could answer them is decoded.
    /// The decoding half holds no secret. Called once, before the first
    /// connection. `None`: the codec cannot split, and the driver decodes
    /// it under the same lock as it encodes.
    fn split(&mut self) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }

    /// The oldest note this half has written for the other (only after
    /// [`Venue::split`]).
    fn take_note(&mut self) -> Option<Note> {
        None
    }

    /// A note the other half wrote.
    fn apply_note(&mut self, note: Note) {
        let _ = note;
    }

    /// The venue's keepalive rules. An application ping is a
    /// [`Request::Ping`] through `encode` (Kraken `ping`, Upbit `PING`,
    /// DigiFinex `server.ping`, Koscom `heartbeat`).
    fn keepalive(&self) -> Keepalive;

    /// The venue's rate limits, as data.
    fn rate_policy(&self) -> RatePolicy;

    /// The codec's settings as `key=value` lines, for a capture's header
    /// (docs/capture.md): what a replay needs to build the same codec (its
    /// flavour, depth, tier), never a secret. The registry's replay entry
    /// reads them back. Empty: the codec has no settings beyond its name.
    fn capture_config(&self) -> String {
        String::new()
    }
}
