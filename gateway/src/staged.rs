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

use orderwire_protocol::model::{AmendOrder, CancelOrders, NewOrder, Request};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{Expect, Venue};

use super::GatewayCore;
use crate::callback::RequestCallback;
use crate::ratelimit::Charge;

/// A sent request waiting to be recorded. (Not `Debug`: the text is
/// unredacted.)
pub(super) struct Staged {
    now: Instant,
    req_id: u64,
    charge: Charge,
    expect: Expect,
    request: StagedRequest,
    callback: Option<RequestCallback>,
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
        callback: Option<RequestCallback>,
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
            _ => return self.record(now, req_id, request, charge, expect, callback, text),
        };
        self.staged = Some(Staged {
            now,
            req_id,
            charge: *charge,
            expect,
            request: copy,
            callback,
            text,
        });
    }

    /// Records the request whose frames were written last, if any. Every
    /// input calls it first, so state is whole whatever the driver does.
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
            callback,
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
                    callback,
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
                    callback,
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
                    callback,
                    text,
                );
                self.staged_cancel = cancel;
            }
        }
    }
}
