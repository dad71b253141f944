//! The user's per-request callbacks, kept by the driver.
//!
//! The core holds no callback: a request submitted with one is tagged
//! ([`RequestTag`], a slot in [`CallbackTable`]), the core reports its end
//! as an output carrying the tag ([`Completed`]), and the driver's
//! [`Dispatcher`] takes the callback out of the table and calls it on the
//! polling thread, with no lock held (it may submit).
//!
//! A callback is an `Arc`: a service makes one per purpose and clones it
//! into each request, so a request with a callback allocates nothing (the
//! table reuses its slots). The request text is the frame as written,
//! redacted on the polling thread when the callback runs (the venue names
//! its secret keys, `Capabilities::secret_fields`); the response is the
//! venue's message as received, borrowed from the read buffer.

use std::fmt;
use std::sync::Arc;

use orderwire_gateway::callback::{
    Completed, Completion, RequestOptions, RequestOutcome, RequestTag,
};
use orderwire_protocol::venue::{FRAME_CAPACITY, redact_json, string_field};

/// A per-request (or per-exchange) callback.
pub type RequestCallback = Arc<dyn Fn(&RequestOutcome<'_>) + Send + Sync>;

/// The framework's default per-request callback, as hftpy prints it: for
/// each request that ends, `WebSocket Request - ID: 2 | Method: add_order |
/// Latency: 129μs`, then the request (secrets redacted) and the response,
/// on stdout. One `print!` per request, so lines from several exchanges
/// do not interleave.
pub fn print_requests() -> RequestCallback {
    Arc::new(|outcome: &RequestOutcome<'_>| print!("{outcome}"))
}

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

/// The callbacks of requests in flight, by tag: a slab whose slots are
/// reused, so steady state allocates nothing.
#[derive(Default)]
pub struct CallbackTable {
    slots: Vec<Option<RequestCallback>>,
    free: Vec<u32>,
}

impl fmt::Debug for CallbackTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackTable")
            .field("held", &self.len())
            .finish()
    }
}

impl CallbackTable {
    /// Keeps `callback`; the tag gets it back.
    pub fn insert(&mut self, callback: RequestCallback) -> RequestTag {
        if let Some(slot) = self.free.pop() {
            // Every index on the free list is a slot of `slots`, emptied by
            // `take`.
            self.slots[slot as usize] = Some(callback);
            return RequestTag(slot);
        }
        // Slots are bounded by the requests in flight, which the core
        // bounds far below u32::MAX.
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.slots.push(Some(callback));
        RequestTag(slot)
    }

    /// The callback kept under `tag`, taken out (None if there is none).
    pub fn take(&mut self, tag: RequestTag) -> Option<RequestCallback> {
        let callback = self.slots.get_mut(tag.0 as usize)?.take()?;
        self.free.push(tag.0);
        Some(callback)
    }

    /// How many callbacks wait for their request's end.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the core is told of `options`: the reserved id, and a tag when
    /// there is a callback (kept here).
    pub fn tag(&mut self, options: SubmitOptions) -> RequestOptions {
        RequestOptions {
            req_id: options.req_id,
            tag: options.callback.map(|callback| self.insert(callback)),
        }
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
    /// Calls each completion's callback (taken from the driver's table by
    /// `take`), or `fallback` for those without one. `response` is the
    /// message the replies came in, if they did.
    pub fn dispatch(
        &mut self,
        completed: &[Completed],
        response: Option<&[u8]>,
        secret_fields: &[&str],
        mut take: impl FnMut(RequestTag) -> Option<RequestCallback>,
        fallback: Option<&RequestCallback>,
    ) {
        for done in completed {
            let own = done.tag.and_then(&mut take);
            let Some(callback) = own.as_ref().or(fallback) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_and_a_tag_is_taken_once() {
        let mut table = CallbackTable::default();
        let callback: RequestCallback = Arc::new(|_: &RequestOutcome<'_>| {});
        let a = table.insert(callback.clone());
        let b = table.insert(callback.clone());
        assert_ne!(a, b);
        assert_eq!(table.len(), 2);
        assert!(table.take(a).is_some());
        assert!(table.take(a).is_none(), "taken once");
        assert!(table.take(RequestTag(99)).is_none(), "never handed out");
        // The freed slot comes back: the table does not grow.
        assert_eq!(table.insert(callback), a);
        assert_eq!(table.len(), 2);
        assert!(!table.is_empty());
    }
}
