//! Per-request callbacks: what a service is told when one of its requests
//! ends, in the shape of the Python framework our users come from
//! (`(request_id, method, request, response, latency_us)`), with the
//! normalised event and the venue's own times besides.
//!
//! A callback is an `Arc`: a service makes one per purpose and clones it
//! into each request, so a request with a callback allocates nothing. It is
//! called once per request, on the thread that polls, with no lock held,
//! when the last reply arrives, the deadline passes, or the gateway drops
//! the request. The request text is the frame as written, redacted on the
//! polling thread when the callback runs (the venue names its secret keys,
//! `Capabilities::secret_fields`); the response is the venue's message as
//! received, borrowed from the read buffer.

use std::fmt;
use std::sync::Arc;

use orderwire_protocol::model::{Event, Method};
use orderwire_protocol::venue::{FRAME_CAPACITY, redact_json, string_field};

use crate::SubmitError;
use crate::latency::{Latency, RequestSummary};

/// A per-request (or per-exchange) callback.
pub type RequestCallback = Arc<dyn Fn(&RequestOutcome<'_>) + Send + Sync>;

/// How a request is submitted beyond the request itself.
#[derive(Clone, Default)]
pub struct SubmitOptions {
    /// An id taken with `next_request_id` (docs/gateway.md, "Reserved
    /// request ids"); without one, the next id.
    pub req_id: Option<u64>,
    /// Called once when the request ends; without one, the exchange's.
    pub callback: Option<RequestCallback>,
}

impl SubmitOptions {
    /// Options with this callback.
    pub fn callback(callback: RequestCallback) -> SubmitOptions {
        SubmitOptions {
            req_id: None,
            callback: Some(callback),
        }
    }
}

impl fmt::Debug for SubmitOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitOptions")
            .field("req_id", &self.req_id)
            .field("callback", &self.callback.is_some())
            .finish()
    }
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
    /// The request's own callback.
    pub callback: Option<RequestCallback>,
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
            .field("callback", &self.callback.is_some())
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

/// Turns the core's completions into callback calls, with a reused buffer
/// for the redacted text (no allocation once it has grown).
#[derive(Debug)]
pub struct Dispatcher {
    redacted: Vec<u8>,
    /// A reply that names a secret key (Binance's `session.logon` echoes
    /// `apiKey`), redacted; replies that name none are borrowed as they are.
    response: Vec<u8>,
}

impl Default for Dispatcher {
    fn default() -> Dispatcher {
        Dispatcher {
            redacted: Vec::with_capacity(FRAME_CAPACITY),
            response: Vec::with_capacity(FRAME_CAPACITY),
        }
    }
}

/// Whether `text` has `"key"` for one of `keys`.
fn names_a_secret(text: &[u8], keys: &[&str]) -> bool {
    keys.iter().any(|key| {
        let key = key.as_bytes();
        text.windows(key.len() + 2)
            .any(|w| w[0] == b'"' && w[w.len() - 1] == b'"' && &w[1..w.len() - 1] == key)
    })
}

impl Dispatcher {
    /// Calls each completion's callback, or `fallback` for those without
    /// one. `response` is the message the replies came in, if they did.
    pub fn dispatch(
        &mut self,
        completed: &[Completed],
        response: Option<&[u8]>,
        secret_fields: &[&str],
        fallback: Option<&RequestCallback>,
    ) {
        for done in completed {
            let Some(callback) = done.callback.as_ref().or(fallback) else {
                continue;
            };
            self.redacted.clear();
            redact_json(&done.request_text, secret_fields, &mut self.redacted);
            let request = std::str::from_utf8(&self.redacted).unwrap_or("(not UTF-8)");
            let wire_method =
                string_field(&done.request_text, "method").unwrap_or(done.summary.method.as_str());
            let response = match (&done.completion, response) {
                (Completion::Answered, Some(raw)) if names_a_secret(raw, secret_fields) => {
                    self.response.clear();
                    redact_json(raw, secret_fields, &mut self.response);
                    std::str::from_utf8(&self.response).ok()
                }
                (Completion::Answered, Some(raw)) => std::str::from_utf8(raw).ok(),
                _ => None,
            };
            callback(&RequestOutcome {
                req_id: done.summary.req_id,
                method: done.summary.method,
                wire_method,
                request,
                response,
                event: done.event.as_ref(),
                completion: &done.completion,
                summary: &done.summary,
                latency: done.latency,
            });
        }
    }
}
