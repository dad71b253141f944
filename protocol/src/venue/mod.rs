//! The one trait through which engine/ reaches every venue, and the venue
//! codecs that implement it.
//!
//! A codec is sans-IO: it turns [`Request`]s into message bytes and message
//! bytes into normalised [`Events`]. It knows nothing of sockets, threads or
//! clocks; wall-clock time for signatures comes in as an argument.

pub mod binance;
pub mod kraken;
mod policy;

pub use policy::{Cost, Keepalive, LimitScope, RateLimit, RatePolicy};

use crate::json::JsonError;
use crate::model::{BookEvent, Events, Level, Request};

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
}

/// A venue's wire format, as data and pure functions.
///
/// Invariant: `decode` never panics on any input; whatever it cannot use
/// comes back as a [`DecodeError`], and events decoded before the fault stay
/// in `out`.
pub trait Venue: Send + 'static {
    /// The name in normalised events (`kraken`).
    fn name(&self) -> &'static str;

    /// Appends the message that authenticates a fresh connection, if the venue
    /// needs one (Kraken does not: its token rides in each request).
    /// `wall_ns` is the wall-clock time for signatures.
    fn encode_login(
        &mut self,
        req_id: u64,
        wall_ns: i64,
        out: &mut Vec<u8>,
    ) -> Result<bool, EncodeError>;

    /// Replaces the venue token or session credential (a fresh one before a
    /// reconnect). Venues without tokens ignore it.
    fn set_token(&mut self, token: crate::secret::Secret) {
        let _ = token;
    }

    /// Sets the wall-clock time (ns since the epoch) for the next encodes:
    /// venues that sign a `timestamp` (Binance) read it; others ignore it.
    /// The driver calls it before each encode, so replays stay exact.
    fn set_wall_clock(&mut self, wall_ns: i64) {
        let _ = wall_ns;
    }

    /// Appends `request` as one message, tagged with `req_id`.
    fn encode(
        &mut self,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError>;

    /// How many replies the venue sends for `request` (Kraken answers a
    /// cancel once per order).
    fn replies_expected(&self, request: &Request<'_>) -> u32;

    /// Decodes one inbound message (the payload of one WebSocket message).
    /// Mutable so that parsers that work in place (simd-json) can.
    fn decode(&mut self, message: &mut [u8], out: &mut Events) -> Result<(), DecodeError>;

    /// A book snapshot fetched on another connection (Binance's `depth` on
    /// the WebSocket API for the streams' diff depth): the codec syncs its
    /// book from it and appends what follows (the snapshot, then buffered
    /// deltas). Venues whose books come whole ignore it.
    fn on_book_snapshot(&mut self, book: &BookEvent, levels: &[Level], out: &mut Events) {
        let _ = (book, levels, out);
    }

    /// Whether orders whose state is unknown (a timeout, a reconnect) are
    /// settled by asking for each ([`Request::QueryOrder`]), as on Binance,
    /// rather than from a snapshot of open orders after subscribing, as on
    /// Kraken.
    fn reconciles_by_query(&self) -> bool {
        false
    }

    /// Forgets per-connection state (book, sequence numbers) after a drop.
    fn reset(&mut self);

    /// The venue's keepalive rules.
    fn keepalive(&self) -> Keepalive;

    /// The venue's rate limits, as data.
    fn rate_policy(&self) -> RatePolicy;
}
