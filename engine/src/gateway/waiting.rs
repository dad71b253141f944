//! Waiting on an exchange without a sleep loop: for its connection, for
//! one request's end ([`Ticket::wait`]), or for the next events (a
//! blocking poll). A waiter either polls the exchange itself (when no
//! other thread does), blocking on the engine's event queue, or sleeps on
//! a condition variable that every poll end, request end and shutdown
//! signals. Events a waiter's own poll takes are held for the next user
//! poll, so nothing is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use orderwire_protocol::model::{Event, Method};
use parking_lot::{Condvar, Mutex};

use super::{Completion, GatewayEvent, Latency, Outputs, RequestOutcome, Submission};

/// Signals threads waiting on one exchange.
#[derive(Default)]
pub(crate) struct Waits {
    /// Bumped by every signal: a waiter sleeps only if it has not moved
    /// since the waiter last looked.
    generation: AtomicU64,
    /// Threads sleeping; a signal takes the lock only when there are some
    /// (a poll loop with nobody waiting pays one atomic add).
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    changed: Condvar,
}

impl Waits {
    /// The generation to sleep on.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Something changed: a poll ended, a request ended, the exchange
    /// stopped.
    pub(crate) fn signal(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.changed.notify_all();
        }
    }

    /// Sleeps until a signal after `seen`, or for `at_most`.
    pub(crate) fn sleep(&self, seen: u64, at_most: Duration) {
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock();
        if self.generation.load(Ordering::SeqCst) == seen {
            let _ = self.changed.wait_for(&mut guard, at_most);
        }
        drop(guard);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What drives an exchange while a thread waits on it.
pub trait Waiter: Send + Sync {
    /// Blocks until `done` holds or `timeout` passes (polling the
    /// exchange when no other thread does); returns whether `done` holds.
    /// Time is the exchange's engine clock.
    fn block_for(&self, timeout: Duration, done: &dyn Fn() -> bool) -> bool;
}

/// How one request ended, owned: what a [`Ticket`] waits for.
#[derive(Clone, Debug)]
pub struct RequestEnd {
    /// The request id it went out with.
    pub req_id: u64,
    /// Its method.
    pub method: Method,
    /// The venue's name of the method (`add_order`, `order.place`).
    pub wire_method: String,
    /// How it ended: answered (see `event`), timed out, lost, dropped.
    pub completion: Completion,
    /// The reply, normalised: an ack, a reject, a response.
    pub event: Option<Event>,
    /// The venue's reply as received.
    pub response: Option<String>,
    /// From the write of its frame to the reply.
    pub latency: Option<Latency>,
}

impl RequestEnd {
    /// Copies what a callback sees.
    pub fn from_outcome(outcome: &RequestOutcome<'_>) -> RequestEnd {
        RequestEnd {
            req_id: outcome.req_id,
            method: outcome.method,
            wire_method: outcome.wire_method.to_owned(),
            completion: outcome.completion.clone(),
            event: outcome.event.cloned(),
            response: outcome.response.map(str::to_owned),
            latency: outcome.latency,
        }
    }

    /// The venue accepted it: an ack, or a reply that says yes.
    pub fn accepted(&self) -> bool {
        matches!(self.completion, Completion::Answered | Completion::Sent)
            && match &self.event {
                Some(Event::OrderReject(_)) => false,
                Some(Event::Response(r)) => r.ok,
                _ => true,
            }
    }

    /// Latency in whole microseconds (0 when nothing answered).
    pub fn latency_us(&self) -> u64 {
        self.latency.map_or(0, |l| l.nanos / 1_000)
    }
}

/// Why a wait ended without what it waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// The wait's own timeout passed (the request may still end later:
    /// its own deadline is `GatewayConfig::request_timeout`).
    #[error("the wait timed out")]
    Elapsed,
}

/// A submitted request you can wait on: from `Exchange::place` and the
/// other ticket-returning calls, and from the registry's typeless handle.
#[derive(Clone)]
pub struct Ticket {
    submission: Submission,
    end: Arc<Mutex<Option<RequestEnd>>>,
    /// What drives the exchange while `wait` blocks; `None` for an inline
    /// exchange, whose own thread waits (`InlineExchange::wait_for`).
    waiter: Option<Arc<dyn Waiter>>,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("submission", &self.submission)
            .field("ended", &self.end.lock().is_some())
            .finish()
    }
}

impl Ticket {
    /// A ticket whose end the callback made by [`Ticket::slot`] will fill.
    pub(crate) fn new(
        submission: Submission,
        end: Arc<Mutex<Option<RequestEnd>>>,
        waiter: Option<Arc<dyn Waiter>>,
    ) -> Ticket {
        Ticket {
            submission,
            end,
            waiter,
        }
    }

    /// The same ticket, waited on through `waiter`.
    pub(crate) fn driven_by(mut self, waiter: Arc<dyn Waiter>) -> Ticket {
        self.waiter = Some(waiter);
        self
    }

    /// What the submit returned: sent with an id, or queued.
    pub fn submission(&self) -> Submission {
        self.submission
    }

    /// The request id, once it went out (`None` while queued).
    pub fn req_id(&self) -> Option<u64> {
        match self.submission {
            Submission::Sent { req_id } => Some(req_id),
            Submission::Queued => self.end.lock().as_ref().map(|e| e.req_id),
        }
    }

    /// How it ended, if it has.
    pub fn end(&self) -> Option<RequestEnd> {
        self.end.lock().clone()
    }

    /// Blocks until the request ends (its ack, reject, timeout or loss) or
    /// `timeout` passes. Works whether or not another thread polls the
    /// exchange; never sleeps on a timer of its own. A ticket of an
    /// `InlineExchange` used directly has nothing to drive its loop: it
    /// answers at once (`InlineExchange::wait_for` waits).
    pub fn wait(&self, timeout: Duration) -> Result<RequestEnd, WaitError> {
        if let Some(waiter) = &self.waiter {
            let end = &self.end;
            waiter.block_for(timeout, &|| end.lock().is_some());
        }
        self.end.lock().clone().ok_or(WaitError::Elapsed)
    }
}

/// The request callback that fills a ticket: it records the end, then
/// calls `then` (the exchange's own callback, so that printing every
/// request and waiting on one go together).
pub(crate) fn ticket_callback(
    end: Arc<Mutex<Option<RequestEnd>>>,
    then: Option<super::RequestCallback>,
) -> super::RequestCallback {
    Arc::new(move |outcome: &RequestOutcome<'_>| {
        *end.lock() = Some(RequestEnd::from_outcome(outcome));
        if let Some(then) = &then {
            then(outcome);
        }
    })
}

/// Keeps an event for a later poll, with the book levels it indexes; past
/// `cap` events, drops it (a program that waits and never polls).
pub(crate) fn hold(held: &mut Outputs, event: &GatewayEvent, from: &Outputs, cap: usize) {
    if held.events.len() >= cap {
        tracing::warn!(
            held = held.events.len(),
            "events taken by a wait are not polled: dropped"
        );
        return;
    }
    let mut event = event.clone();
    let inner = match &mut event {
        GatewayEvent::Market(e)
        | GatewayEvent::Reply(e)
        | GatewayEvent::Account(e)
        | GatewayEvent::Problem(e) => Some(e),
        _ => None,
    };
    if let Some(Event::Book(book)) = inner {
        let base = held.levels.len();
        held.levels.extend_from_slice(from.levels(&book.bids));
        let bids = base..held.levels.len();
        held.levels.extend_from_slice(from.levels(&book.asks));
        book.asks = bids.end..held.levels.len();
        book.bids = bids;
    }
    held.events.push(event);
}

/// Hands out the held events, oldest first, and forgets them.
pub(crate) fn drain_held(
    held: &mut Outputs,
    on_event: &mut dyn FnMut(&GatewayEvent, &Outputs),
) -> usize {
    let count = held.events.len();
    for event in &held.events {
        on_event(event, held);
    }
    held.events.clear();
    held.levels.clear();
    count
}
