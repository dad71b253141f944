//! The rate-limit FIFO and the resend after a 429: requests that wait for
//! the limits, and requests the venue refused for its rate without acting
//! on them.

use orderwire_protocol::model::{
    AmendOrder, CancelOrders, Event, NewOrder, OrderRef, OwnedRequest, Request, Symbol,
};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::Venue;

use super::GatewayCore;
use super::config::WhenLimited;
use super::events::{GatewayEvent, SubmitError};
use crate::callback::{Completed, Completion, RequestOptions};
use crate::latency::RequestSummary;
use crate::ratelimit::Charge;

/// Recent requests kept for a resend after a 429 (the venue did not act
/// on them). A ring of inline copies beside the pending table, not in it:
/// a pending entry stays a few cache lines, which matters when the table
/// is large and cold. A 429 comes within a round trip; a request older
/// than the ring is reported rejected instead.
pub(super) const RETRY_RING: usize = 256;

#[derive(Debug)]
pub(super) struct RetryEntry {
    pub(super) req_id: u64,
    pub(super) charge: Charge,
    pub(super) retry: Retry,
}

/// A request kept for a resend after a 429.
#[derive(Debug, Clone)]
pub(super) enum Retry {
    Place(NewOrder),
    Amend(AmendOrder),
    Cancel(OrderRef, Option<Symbol>),
}

impl Retry {
    pub(super) fn of(request: &Request<'_>) -> Option<Retry> {
        match request {
            Request::Place(order) => Some(Retry::Place((*order).clone())),
            Request::Amend(amend) => Some(Retry::Amend((*amend).clone())),
            Request::Cancel(cancel) => match cancel.orders.as_slice() {
                [order] => Some(Retry::Cancel(*order, cancel.symbol)),
                _ => None,
            },
            _ => None,
        }
    }

    pub(super) fn into_request(self) -> OwnedRequest {
        match self {
            Retry::Place(order) => OwnedRequest::Place(order),
            Retry::Amend(amend) => OwnedRequest::Amend(amend),
            Retry::Cancel(order, symbol) => OwnedRequest::Cancel(CancelOrders {
                orders: vec![order],
                symbol,
            }),
        }
    }
}

#[derive(Debug)]
pub(super) struct Queued {
    pub(super) request: OwnedRequest,
    pub(super) charge: Charge,
    /// Its reserved id and tag.
    pub(super) options: RequestOptions,
}

impl<V: Venue> GatewayCore<V> {
    /// The copy of a request to keep for a resend after a 429: only a
    /// queueing gateway resends; the others keep none.
    pub(super) fn retry_copy(&self, request: &Request<'_>) -> Option<Retry> {
        let queues = matches!(self.config.when_limited, WhenLimited::Queue { .. });
        Retry::of(request).filter(|_| queues)
    }

    /// Keeps a copy of a sent request for a resend after a 429.
    pub(super) fn keep_for_retry(&mut self, entry: RetryEntry) {
        if self.retries.len() == RETRY_RING {
            self.retries.pop_front();
        }
        self.retries.push_back(entry);
    }

    /// The venue refused a request for its rate (429): nothing goes out
    /// before `until`, and the request, which the venue did not act on, is
    /// queued again at the front (when the gateway queues).
    pub(super) fn on_throttled(
        &mut self,
        now: Instant,
        received_at: Instant,
        req_id: Option<u64>,
        until: Option<i64>,
        event: &Event,
    ) {
        // `until` is wall-clock; without one, a second.
        let resume = until.map_or(now + std::time::Duration::from_secs(1), |wall| {
            Instant(u64::try_from(wall.saturating_sub(self.wall_offset_ns)).unwrap_or(0))
        });
        tracing::warn!(
            venue = self.venue.name(),
            req_id,
            back_off_ms = resume.saturating_duration_since(now).as_millis(),
            "the venue refused for its rate limit; backing off"
        );
        if let Some(budget) = self.limiter.as_mut() {
            budget.with(|limiter| limiter.block_until(resume.max(now).as_nanos()));
        }
        let queues = matches!(self.config.when_limited, WhenLimited::Queue { .. });
        let kept = req_id
            .filter(|id| queues && self.pending.contains_key(id))
            .and_then(|id| self.retries.iter().rposition(|r| r.req_id == id))
            .and_then(|index| self.retries.remove(index));
        let Some(entry) = kept else {
            self.correlate(received_at, req_id, event);
            return;
        };
        // Sent again under a fresh id (the old one went out), with its
        // tag.
        let tag = self.remove_pending(entry.req_id).and_then(|pending| {
            self.reuse_text(pending.text);
            pending.tag
        });
        self.out.events.push(GatewayEvent::Reply(event.clone()));
        self.queue.push_front(Queued {
            request: entry.retry.into_request(),
            charge: entry.charge,
            options: RequestOptions { req_id: None, tag },
        });
    }

    pub(super) fn release_queued(&mut self, now: Instant) {
        while let Some(front) = self.queue.front() {
            if self.folds_into_open_sequence(&front.request.as_request()) {
                // The reconnect's open sequence subscribes it.
                if let Some(folded) = self.queue.pop_front() {
                    self.end_unwritten(now, &folded.charge, folded.options, Completion::Sent);
                }
                continue;
            }
            if self.transmits.len() >= self.config.transmit_capacity {
                // The driver has not taken what is written: try later,
                // before anything is charged.
                break;
            }
            // Taken now, charged with it (see `submit`).
            let fits = match self.limiter.as_mut() {
                Some(budget) => budget.take(now.as_nanos(), &front.charge).is_ok(),
                None => true,
            };
            if !fits {
                break;
            }
            let Some(queued) = self.queue.pop_front() else {
                break;
            };
            let request = queued.request.as_request();
            match self.send_now(now, &request, &queued.charge, queued.options) {
                Ok(req_id) => self.out.events.push(GatewayEvent::Released {
                    req_id,
                    method: queued.charge.method,
                }),
                Err(SubmitError::TransportFull) => {
                    // Try again on the next timeout, in the same place.
                    self.queue.push_front(queued);
                    break;
                }
                Err(error) => {
                    self.end_unwritten(
                        now,
                        &queued.charge,
                        queued.options,
                        Completion::Dropped(error.clone()),
                    );
                    self.out.events.push(GatewayEvent::Dropped {
                        method: queued.charge.method,
                        error,
                    });
                }
            }
        }
    }
}

impl<V: Venue> GatewayCore<V> {
    /// A request that ends without being written by itself: dropped, or a
    /// subscription folded into the next open sequence (`Sent`: the open
    /// sequence's own subscribe carries it). Its tag (a ticket, a
    /// callback) hears of it, so nothing waits for it forever.
    pub(super) fn end_unwritten(
        &mut self,
        now: Instant,
        charge: &Charge,
        options: RequestOptions,
        completion: Completion,
    ) {
        if options.tag.is_none() && !self.config.report_all_requests {
            return;
        }
        self.out.completed.push(Completed {
            summary: RequestSummary {
                req_id: options.req_id.unwrap_or(0),
                method: charge.method,
                client_order_id: None,
                symbol: charge.symbol,
                side: None,
                price: None,
                qty: None,
                sent_at_ns: now.as_nanos(),
            },
            completion,
            event: None,
            latency: None,
            request_text: Vec::new(),
            tag: options.tag,
        });
    }
}
