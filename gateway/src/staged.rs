//! A sent request's bookkeeping, finished after its frames are handed over.
//!
//! Recording a request (its pending entry and deadline, a new order's row,
//! the latency summary, the copy kept for a 429 resend) is the larger part
//! of a submit: hash inserts into tables that are large and cold when many
//! orders rest, and a pending entry of several cache lines. None of it
//! changes the bytes, so `submit` keeps a copy of the request (a few dozen
//! bytes for a place, an amend or a cancel) and records it once the driver
//! has taken the frames: the `poll_transmit` call that returns `None`
//! records it, and so does any other input. The frame reaches the reactor
//! while the submitting thread records, and what the gateway adds before
//! the hand-over is the encode (docs/gateway.md, "When a submit is
//! recorded").
//!
//! The staging lives in a guard, [`StagedSubmit`], which
//! [`GatewayCore::submit_staged`] returns: it borrows the core mutably, so
//! no other input can reach the core while a request waits to be
//! recorded, and dropping it records. Every other send records at once.
//! Nothing has to remember to finish a staged request.

use orderwire_protocol::model::{AmendOrder, CancelOrders, NewOrder, Request};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{Expect, Venue};

use orderwire_protocol::venue::FrameKind;

use super::{GatewayCore, Submission, SubmitError};
use crate::callback::{RequestOptions, RequestTag};
use crate::ratelimit::Charge;

/// A sent request waiting to be recorded. (Not `Debug`: the text is
/// unredacted.)
pub(super) struct Staged {
    now: Instant,
    req_id: u64,
    charge: Charge,
    expect: Expect,
    request: StagedRequest,
    tag: Option<RequestTag>,
    text: Vec<u8>,
}

/// The copy of the request. A cancel's orders wait in the core's reused
/// `staged_cancel`, so a copy never allocates.
#[derive(Debug)]
enum StagedRequest {
    Place(NewOrder),
    Amend(AmendOrder),
    Cancel,
}

impl<V: Venue> GatewayCore<V> {
    /// After a send: places, amends and cancels wait to be recorded until
    /// the frames are taken; anything else is recorded now.
    #[expect(
        clippy::too_many_arguments,
        reason = "the send's parts, passed on to `record` unchanged"
    )]
    pub(super) fn stage(
        &mut self,
        now: Instant,
        req_id: u64,
        request: &Request<'_>,
        charge: &Charge,
        expect: Expect,
        tag: Option<RequestTag>,
        text: Vec<u8>,
    ) {
        let copy = match request {
            Request::Place(order) => StagedRequest::Place((*order).clone()),
            Request::Amend(amend) => StagedRequest::Amend((*amend).clone()),
            Request::Cancel(cancel) => {
                self.staged_cancel.orders.clear();
                // Reused capacity: a cancel of more orders than any before
                // grows it once.
                self.staged_cancel.orders.extend_from_slice(&cancel.orders);
                self.staged_cancel.symbol = cancel.symbol;
                StagedRequest::Cancel
            }
            _ => return self.record(now, req_id, request, charge, expect, tag, text),
        };
        if !self.staging {
            // Not inside a `StagedSubmit`: nothing will come back to
            // record it, so record it now.
            return self.record(now, req_id, request, charge, expect, tag, text);
        }
        self.staged = Some(Staged {
            now,
            req_id,
            charge: *charge,
            expect,
            request: copy,
            tag,
            text,
        });
    }

    /// Submits a request, staged: the frames are ready in the guard's
    /// `poll_transmit` at once, and the request is recorded when the guard
    /// drops, after the driver has handed them over.
    pub fn submit_staged(
        &mut self,
        now: Instant,
        request: Request<'_>,
        options: RequestOptions,
    ) -> StagedSubmit<'_, V> {
        self.staging = true;
        let result = self.submit_with_staging(now, request, options);
        self.staging = false;
        StagedSubmit { core: self, result }
    }

    /// Records the request whose frames were written last, if any: the
    /// guard's drop, and a second send inside one staged submit.
    pub(super) fn finish_staged(&mut self) {
        let Some(staged) = self.staged.take() else {
            return;
        };
        let Staged {
            now,
            req_id,
            charge,
            expect,
            request,
            tag,
            text,
        } = staged;
        match request {
            StagedRequest::Place(order) => {
                self.record(
                    now,
                    req_id,
                    &Request::Place(&order),
                    &charge,
                    expect,
                    tag,
                    text,
                );
            }
            StagedRequest::Amend(amend) => {
                self.record(
                    now,
                    req_id,
                    &Request::Amend(&amend),
                    &charge,
                    expect,
                    tag,
                    text,
                );
            }
            StagedRequest::Cancel => {
                let cancel = std::mem::replace(
                    &mut self.staged_cancel,
                    CancelOrders {
                        orders: Vec::new(),
                        symbol: None,
                    },
                );
                self.record(
                    now,
                    req_id,
                    &Request::Cancel(&cancel),
                    &charge,
                    expect,
                    tag,
                    text,
                );
                self.staged_cancel = cancel;
            }
        }
    }
}

/// A submit whose request is recorded when this guard drops (see the
/// module docs). Take the frames through it first.
pub struct StagedSubmit<'a, V: Venue> {
    core: &'a mut GatewayCore<V>,
    result: Result<Submission, SubmitError>,
}

/// Where a driver takes frames from: the core, or a staged submit.
pub trait Transmits {
    /// Frames not yet taken.
    fn transmits_pending(&self) -> usize;
    /// The next frame, swapped into `buf`.
    fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<FrameKind>;
    /// A frame the transport could not take, first in line again.
    fn return_transmit(&mut self, kind: FrameKind, frame: Vec<u8>);
}

impl<V: Venue> Transmits for GatewayCore<V> {
    fn transmits_pending(&self) -> usize {
        GatewayCore::transmits_pending(self)
    }
    fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<FrameKind> {
        GatewayCore::poll_transmit(self, buf)
    }
    fn return_transmit(&mut self, kind: FrameKind, frame: Vec<u8>) {
        GatewayCore::return_transmit(self, kind, frame);
    }
}

impl<V: Venue> Transmits for StagedSubmit<'_, V> {
    fn transmits_pending(&self) -> usize {
        self.core.transmits_pending()
    }
    fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<FrameKind> {
        self.core.poll_transmit(buf)
    }
    fn return_transmit(&mut self, kind: FrameKind, frame: Vec<u8>) {
        self.core.return_transmit(kind, frame);
    }
}

impl<V: Venue> StagedSubmit<'_, V> {
    /// What the submit came to.
    pub fn result(&self) -> &Result<Submission, SubmitError> {
        &self.result
    }

    /// Records the request now and gives the submit's result.
    pub fn finish(self) -> Result<Submission, SubmitError> {
        // Drop records; the result is cloned out first.
        self.result.clone()
    }
}

impl<V: Venue> Drop for StagedSubmit<'_, V> {
    fn drop(&mut self) {
        self.core.finish_staged();
    }
}
