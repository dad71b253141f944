//! Request completions: what the core reports when a request ends, and
//! what a per-request callback sees, in the shape of the Python framework
//! our users come from (`(request_id, method, request, response,
//! latency_us)`), with the normalised event and the venue's own times
//! besides.
//!
//! The core holds no callback. A driver that wants to hear of a request's
//! end submits it with a [`RequestTag`]; the core reports the end as an
//! output ([`Completed`], in `Outputs::completed`) carrying the tag, and the
//! driver calls whatever it keeps under that tag (the engine's
//! `CallbackTable`), on its polling thread.

use std::fmt;

use orderwire_protocol::model::{Event, Method};

use crate::SubmitError;
use crate::latency::{Latency, RequestSummary};

/// The driver's handle for a request whose end it wants to hear about
/// (the user's callback, kept by the driver). The core holds the number,
/// never the callback, and hands it back in [`Completed::tag`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestTag(pub u32);

/// What the core is told about a request beyond the request itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// An id taken with `next_request_id` (docs/gateway.md, "Reserved
    /// request ids"); without one, the next id.
    pub req_id: Option<u64>,
    /// Report the request's end, with this tag, in `Outputs::completed`.
    pub tag: Option<RequestTag>,
}

/// How a request ended.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Completion {
    /// Its last reply arrived (an ack or a reject: see the event).
    Answered,
    /// No reply by the deadline: its orders are `unknown` until reconciled,
    /// never assumed rejected.
    TimedOut,
    /// The connection dropped before the answer: its orders are `unknown`
    /// until reconciled.
    Lost,
    /// Nothing answers this request (an Upbit subscribe): it ended when it
    /// was written.
    Sent,
    /// The gateway gave it up before writing it (a queued request whose
    /// encode failed, or whose reserved id went stale).
    Dropped(SubmitError),
}

/// A request that ended, as the core reports it (`Outputs::completed`).
pub struct Completed {
    /// The request.
    pub summary: RequestSummary,
    /// How it ended.
    pub completion: Completion,
    /// The last reply, normalised.
    pub event: Option<Event>,
    /// From the hand-over to the last reply.
    pub latency: Option<Latency>,
    /// The frame as written, not yet redacted (empty if not kept). The core
    /// takes the buffer back at the next `poll_events`.
    pub request_text: Vec<u8>,
    /// The driver's tag, if it submitted the request with one.
    pub tag: Option<RequestTag>,
}

impl fmt::Debug for Completed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The request text is unredacted: never printed.
        f.debug_struct("Completed")
            .field("summary", &self.summary)
            .field("completion", &self.completion)
            .field("event", &self.event)
            .field("latency", &self.latency)
            .field("request_text_len", &self.request_text.len())
            .field("tag", &self.tag)
            .finish()
    }
}

/// What a callback sees.
#[derive(Debug)]
pub struct RequestOutcome<'a> {
    /// The request id it went out with.
    pub req_id: u64,
    /// Its method.
    pub method: Method,
    /// The venue's name of the method (`add_order`, `order.place`), read
    /// from the request; the normalised name where the request has none.
    pub wire_method: &'a str,
    /// The request as it went on the wire, secrets redacted.
    pub request: &'a str,
    /// The venue's reply as received (the whole message); None when
    /// nothing answered.
    pub response: Option<&'a str>,
    /// The reply, normalised.
    pub event: Option<&'a Event>,
    /// How it ended.
    pub completion: &'a Completion,
    /// The request's summary (order, side, price, quantity, send time).
    pub summary: &'a RequestSummary,
    /// Latency, with the venue's own times where it gives them (Kraken's
    /// `time_in` / `time_out`).
    pub latency: Option<Latency>,
}

impl RequestOutcome<'_> {
    /// Latency in whole microseconds (0 when nothing answered).
    pub fn latency_us(&self) -> u64 {
        self.latency.map_or(0, |l| l.nanos / 1_000)
    }

    /// What the framework's default callback prints:
    /// `WebSocket Request - ID: 2 | Method: add_order | Latency: 12958μs`,
    /// then the request and the response.
    pub fn write_default(&self, out: &mut impl fmt::Write) -> fmt::Result {
        match self.completion {
            Completion::Answered | Completion::Sent => writeln!(
                out,
                "WebSocket Request - ID: {} | Method: {} | Latency: {}μs",
                self.req_id,
                self.wire_method,
                self.latency_us()
            )?,
            other => writeln!(
                out,
                "WebSocket Request - ID: {} | Method: {} | Outcome: {other:?}",
                self.req_id, self.wire_method
            )?,
        }
        writeln!(out, "Request: {}", self.request)?;
        writeln!(out, "Response: {}", self.response.unwrap_or("(none)"))
    }
}

/// hftpy's default format ([`RequestOutcome::write_default`]): the request
/// id, the wire method and the latency in µs, then the request (secrets
/// redacted) and the raw response.
impl fmt::Display for RequestOutcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_default(f)
    }
}
