//! What the core reports: events, submit outcomes and errors.

use std::sync::Arc;
use std::time::Duration;

use orderwire_protocol::model::{Event, Fill, Level, Method, Symbol};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{DecodeError, EncodeError};

use super::watchdog::{DataChannel, Liveness};
use crate::latency::{Latency, RequestSummary};
use crate::orders::OrderEvent;

/// Why a request was not accepted.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitError {
    /// Over the rate limit; it would fit at `ready_at`.
    #[error("rate limited until {} ns", ready_at.as_nanos())]
    RateLimited {
        /// When it would fit (the driver's clock).
        ready_at: Instant,
    },
    /// The rate-limit FIFO is full.
    #[error("rate-limit queue full")]
    QueueFull,
    /// The driver has not taken the frames already written (the engine's
    /// command queue is full); nothing was sent.
    #[error("transport queue full")]
    TransportFull,
    /// The venue codec refused it.
    #[error("encode: {0}")]
    Encode(#[from] EncodeError),
    /// That client order id is already in use.
    #[error("client order id already in use")]
    DuplicateClientOrderId,
    /// A client order id is required to track an order.
    #[error("client order id is empty")]
    MissingClientOrderId,
    /// No such order (by client order id).
    #[error("unknown order")]
    UnknownOrder,
    /// The venue takes no orders on this connection (a market-data feed,
    /// or a private feed of a venue that takes orders over REST).
    #[error("this venue connection takes no orders")]
    NoOrderEntry,
    /// The reserved request id is no longer above every id already on the
    /// wire: ids go out strictly increasing, so it can never be used.
    #[error("reserved request id {req_id} is stale: a higher id went out first")]
    StaleRequestId {
        /// The id.
        req_id: u64,
    },
    /// The id was never reserved (`next_request_id` did not hand it out).
    #[error("request id {req_id} was not reserved")]
    UnreservedRequestId {
        /// The id.
        req_id: u64,
    },
    /// The subscription would take the connection past the venue's cap on
    /// concurrent subscriptions (`Capabilities::max_subscriptions`, in
    /// registrations); nothing was sent. Unsubscribe something first.
    #[error("subscription cap: {held} of {cap} registrations held, {asked} more asked")]
    SubscriptionCap {
        /// The venue's cap.
        cap: u32,
        /// Registrations held now.
        held: usize,
        /// Registrations the subscribe would add.
        asked: usize,
    },
    /// A book subscription on a connection whose venue sends no books
    /// (`Capabilities::book` is `BookKind::None`: Binance's WebSocket API
    /// takes `depth` snapshots, its market streams the books); nothing was
    /// sent.
    #[error("this venue connection has no books")]
    NoBooks,
    /// No connection is up and the gateway refuses requests until one is
    /// (`GatewayConfig::when_disconnected` is `Refuse`); nothing was kept.
    #[error("not connected")]
    NotConnected,
}

/// What became of an accepted request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submission {
    /// Written with this id.
    Sent {
        /// The request id on the wire.
        req_id: u64,
    },
    /// Waiting in the rate-limit FIFO; it gets its id when it leaves. A
    /// subscribe or unsubscribe made while no connection is up is held
    /// the same way: it changes the remembered set, which the next open
    /// sequence sends whole (one request, with its own id).
    Queued,
}

/// Why the gateway recycles a healthy connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecycleCause {
    /// The venue announced it will close the connection (Binance
    /// `serverShutdown`).
    ServerShutdown,
    /// The connection is near the venue's age limit (Binance: 24 h).
    MaxAge,
    /// The venue refused the login: reconnect under the policy.
    LoginRefused,
    /// The login got no answer by its deadline: reconnect under the policy.
    LoginTimedOut,
    /// The venue refused the login in a way it calls permanent (a bad key):
    /// close, and do not reconnect.
    LoginRefusedForGood,
    /// The keepalive request (an application ping: Koscom's `heartbeat`)
    /// got no answer by its deadline: the link is dead; reconnect.
    KeepaliveUnanswered,
}

impl RecycleCause {
    /// Whether the driver reconnects after closing (every cause but a
    /// permanent login refusal).
    pub fn reconnects(self) -> bool {
        self != RecycleCause::LoginRefusedForGood
    }
}

/// Why a connection went down, as the engine reported it. Shared, so that
/// events stay cheap to clone.
pub type DisconnectReason = Arc<crate::link::Disconnect>;

/// Connection changes, as the polling thread sees them.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// Open (0 for the first time, then the reconnect number); the open
    /// sequence has been written.
    Connected {
        /// Attempt number.
        attempt: u32,
    },
    /// Down, with the engine's reason.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// The next attempt starts after `delay`.
    Reconnecting {
        /// Attempt number.
        attempt: u32,
        /// Delay.
        delay: Duration,
    },
    /// The user's token fetch failed after a drop: the reconnect goes on
    /// with the old token (Kraken refuses it, and the next drop tries
    /// again).
    TokenFetchFailed {
        /// What the fetch said.
        error: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The gateway could not queue the reconnect it wanted (the engine's
    /// command queue is full, or the engine stopped).
    RecycleFailed,
    /// Gone for good.
    Closed,
    /// The venue accepted the login (Binance `session.logon`, DigiFinex
    /// `server.auth`); held subscriptions go out now.
    LoggedIn,
    /// The venue refused the login. The connection is closed, then
    /// reconnected under the policy unless `permanent`
    /// (`Venue::login_refusal_is_permanent`), when it stays closed.
    LoginRefused {
        /// The venue's words.
        message: Arc<str>,
        /// The venue will refuse it again: nothing reconnects.
        permanent: bool,
    },
    /// The login got no answer by `GatewayConfig::request_timeout`: the
    /// connection is closed and reconnected under the policy.
    LoginTimedOut,
}

/// What the gateway reports to the polling thread.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum GatewayEvent {
    /// One of our orders changed status.
    Order(OrderEvent),
    /// A fill of one of our orders (duplicates dropped).
    Fill(Fill),
    /// Market data (trade, ticker, book); book levels index
    /// [`Outputs::levels`].
    Market(Event),
    /// A reply to a request (ack, reject, subscribe, pong), or an update for
    /// an order this gateway did not place.
    Reply(Event),
    /// The account's state as the venue pushed it (`Event::Balance`),
    /// whoever placed the orders that moved it.
    Account(Event),
    /// A request was answered: which request, and how long the reply
    /// took. Comes just before the reply's own event (`Reply`, or the
    /// `Order` it moved), so a user sees every request's latency in the
    /// one event stream. A batch answers once, so it reports once.
    Answered {
        /// The request.
        summary: RequestSummary,
        /// From the hand-over to the reply.
        latency: Latency,
    },
    /// A request got no (complete) answer by its deadline.
    TimedOut {
        /// Its id.
        req_id: u64,
        /// Its method.
        method: Method,
    },
    /// A request waiting in the rate-limit FIFO was sent.
    Released {
        /// The id it went out with.
        req_id: u64,
        /// Its method.
        method: Method,
    },
    /// A request the gateway made or held (the open sequence, a refresh, a
    /// queued request, a reconciliation query) could not be sent.
    Dropped {
        /// Its method.
        method: Method,
        /// Why.
        error: SubmitError,
    },
    /// The connection opened, dropped or closed.
    Connection(ConnectionEvent),
    /// What was in flight is answered after a shutdown notice or near the
    /// age limit: the driver reconnects now (the `Exchange` does it).
    Recycle {
        /// Why.
        cause: RecycleCause,
    },
    /// A configured subscription was acknowledged, then delivered nothing
    /// for `GatewayConfig::subscription_silence`: its data may be lost
    /// (reported once, until data resumes).
    SubscriptionSilent {
        /// The channel.
        channel: DataChannel,
        /// The symbol.
        symbol: Symbol,
        /// When its last message (or its acknowledgement) came.
        since: Instant,
    },
    /// A silent subscription delivers again.
    SubscriptionResumed {
        /// The channel.
        channel: DataChannel,
        /// The symbol.
        symbol: Symbol,
    },
    /// A checksum mismatch (the book is resubscribed), a sequence gap, a
    /// book that needs a snapshot, or an error the venue reported in a
    /// message of its own (`Event::VenueError`).
    Problem(Event),
    /// A typed error: which venue, whose fault, what.
    Error(GatewayError),
}

/// Whose fault an error is: what the caller should do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Blame {
    /// The venue (or whatever sits between) sent what its documentation
    /// does not allow: nothing the caller did. The message is dropped, what
    /// decoded before the fault is kept, and the connection goes on.
    Peer,
    /// The caller asked for what cannot be done (a request the venue's
    /// codec cannot write, a setting the venue does not support).
    Misuse,
}

impl Blame {
    /// `peer` or `misuse` (logs, JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Blame::Peer => "peer",
            Blame::Misuse => "misuse",
        }
    }
}

/// What went wrong, typed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An inbound message the venue's codec could not use.
    #[error("undecodable message: {0}")]
    Decode(#[from] DecodeError),
    /// A request the venue's codec could not write.
    #[error("unencodable request: {0}")]
    Encode(#[from] EncodeError),
}

/// A typed error the gateway reports, naming its venue: it reaches the
/// user as [`GatewayEvent::Error`] with the codec's own error inside, not
/// as text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{venue}: {kind} ({} fault)", blame.as_str())]
pub struct GatewayError {
    /// The venue's name (`kraken`).
    pub venue: &'static str,
    /// Whose fault.
    pub blame: Blame,
    /// What.
    pub kind: ErrorKind,
}

impl GatewayError {
    /// An inbound message `venue`'s codec could not use: the peer's fault.
    pub fn decode(venue: &'static str, error: DecodeError) -> GatewayError {
        GatewayError {
            venue,
            blame: Blame::Peer,
            kind: ErrorKind::Decode(error),
        }
    }
}

impl From<Liveness> for GatewayEvent {
    fn from(change: Liveness) -> GatewayEvent {
        match change {
            Liveness::Silent {
                channel,
                symbol,
                since,
            } => GatewayEvent::SubscriptionSilent {
                channel,
                symbol,
                since,
            },
            Liveness::Resumed { channel, symbol } => {
                GatewayEvent::SubscriptionResumed { channel, symbol }
            }
        }
    }
}

/// The core's events, swapped out whole by the poller: no copy, and the
/// buffers' capacity is reused.
///
/// One stream, not parallel lists: `events` is the only ordered output
/// for the user (a reply's latency is its own `Answered` event in it).
/// `levels` is storage that book events index, so a book costs no
/// allocation of its own. `completed` is for the driver, not the user: the
/// ended requests whose callbacks the driver calls, since the core holds
/// none.
#[derive(Debug, Default)]
pub struct Outputs {
    /// Events in order.
    pub events: Vec<GatewayEvent>,
    /// Book levels indexed by `GatewayEvent::Market(Event::Book(..))`.
    pub levels: Vec<Level>,
    /// Requests that ended, for the driver to call their callbacks: those
    /// with their own, or every request when
    /// `GatewayConfig::report_all_requests` is set.
    pub completed: Vec<crate::callback::Completed>,
}

impl Outputs {
    /// Empties everything, keeping capacity.
    pub fn clear(&mut self) {
        self.events.clear();
        self.levels.clear();
        self.completed.clear();
    }

    /// The levels of a book event's range.
    pub fn levels(&self, range: &std::ops::Range<usize>) -> &[Level] {
        self.levels.get(range.clone()).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every output copies a `GatewayEvent`; market data rides in it as an
    /// `Event` (208 bytes since the private events left it), and the order
    /// change and the fill are the largest (docs/benchmarks.md, "A smaller
    /// event").
    #[test]
    fn a_gateway_event_stays_within_its_size_budget() {
        let sizes = [
            ("gateway_event", size_of::<GatewayEvent>()),
            ("order_event", size_of::<OrderEvent>()),
            ("fill", size_of::<Fill>()),
            ("event", size_of::<Event>()),
        ];
        println!("{sizes:?}");
        // 480 while an Event carried order updates and fills inline (472).
        assert!(size_of::<GatewayEvent>() <= 392, "{sizes:?}");
    }
}
