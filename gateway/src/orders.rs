//! Every order's state, keyed by client order id, and the fill de-duplicator.

use std::collections::{HashMap, HashSet, VecDeque};

/// Keys here are ids from our own requests and the venue: foldhash (seeded
/// per process) hashes a 48-byte inline id several times faster than SipHash.
type Hasher = foldhash::fast::FixedState;

use orderwire_protocol::model::{
    ClientOrderId, OrderDetail, OrderId, OrderStatus, Side, Symbol, TradeId, Transition,
};
use orderwire_protocol::num::Decimal;

/// Why an order's status changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// We sent the request.
    Submitted,
    /// The venue acknowledged a request.
    Ack,
    /// The venue refused a request.
    Reject,
    /// The venue's order stream said so.
    Venue,
    /// The request got no answer by its deadline.
    Timeout,
    /// The connection dropped with the request unanswered.
    Disconnect,
    /// After a reconnect, the venue's snapshot of open orders settled it.
    Reconciled,
}

/// One order's status change, as the gateway reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderEvent {
    /// The client's id.
    pub client_order_id: ClientOrderId,
    /// The venue's id, once known.
    pub order_id: Option<OrderId>,
    /// The status before.
    pub previous: OrderStatus,
    /// The status now.
    pub status: OrderStatus,
    /// Filled so far.
    pub filled_qty: Decimal,
    /// What caused it.
    pub cause: Cause,
    /// False if the state machine does not allow `previous -> status`; the
    /// venue's word is applied anyway (it is the source of truth), unless
    /// `previous` was terminal, in which case the order stays where it was.
    pub valid: bool,
    /// The gateway did not place it (an order placed over REST, or by
    /// another session): `client_order_id` is the venue's client id, or
    /// its order id where it has none.
    pub external: bool,
    /// From the venue's timestamp on the update that caused the change to
    /// the gateway's decode of it (its wall clock), where the venue stamps
    /// its updates (Upbit, DigiFinex, Kraken, Binance): the one latency an
    /// order placed elsewhere has, and the venue-to-us leg of the
    /// gateway's own.
    pub venue_to_gateway: Option<std::time::Duration>,
    /// What the venue's update that caused the change said beyond the
    /// status (average price, filled notional, fees, type, self-trade
    /// prevention; docs/events.md); all unknown for a change the gateway
    /// made (an ack, a timeout, a disconnect).
    pub detail: OrderDetail,
}

/// What the gateway knows of one order.
#[derive(Clone, Copy, Debug)]
pub struct OrderState {
    /// The venue's id, once known.
    pub order_id: Option<OrderId>,
    /// Pair.
    pub symbol: Symbol,
    /// Side.
    pub side: Side,
    /// Order quantity.
    pub qty: Decimal,
    /// Filled so far.
    pub filled_qty: Decimal,
    /// Status.
    pub status: OrderStatus,
    /// When the venue accepted it (the driver's clock), for rest-time costs.
    pub accepted_at: Option<orderwire_protocol::time::Instant>,
    /// The connection epoch whose socket carried the order's last request.
    pub epoch: u64,
    /// Whether the venue ever acknowledged it.
    pub acknowledged: bool,
    /// The gateway did not place it: its symbol, side and quantity are as
    /// the venue's first message about it said (an empty symbol, a buy, a
    /// zero quantity where it said nothing), and no disconnect makes it
    /// unknown (no request of ours is at stake).
    pub external: bool,
}

/// Orders by client id, plus the venue-id index.
#[derive(Debug)]
pub struct OrderTable {
    orders: HashMap<ClientOrderId, OrderState, Hasher>,
    by_order_id: HashMap<OrderId, ClientOrderId, Hasher>,
    /// Terminal orders in the order they ended, so the oldest can be forgotten.
    finished: VecDeque<ClientOrderId>,
    keep_finished: usize,
}

impl OrderTable {
    /// Room for `capacity` live orders without growing; keeps the last
    /// `capacity` finished ones for late messages.
    pub fn new(capacity: usize) -> OrderTable {
        OrderTable {
            orders: HashMap::with_capacity_and_hasher(capacity * 2, Hasher::default()),
            by_order_id: HashMap::with_capacity_and_hasher(capacity * 2, Hasher::default()),
            finished: VecDeque::with_capacity(capacity + 1),
            keep_finished: capacity,
        }
    }

    /// The state of an order.
    pub fn get(&self, id: &ClientOrderId) -> Option<&OrderState> {
        self.orders.get(id)
    }

    /// The client id of a venue id.
    pub fn client_id_of(&self, order_id: &OrderId) -> Option<ClientOrderId> {
        self.by_order_id.get(order_id).copied()
    }

    /// Whether the client id is already in use.
    pub fn contains(&self, id: &ClientOrderId) -> bool {
        self.orders.contains_key(id)
    }

    /// Registers a new order as pending_new.
    pub fn insert(&mut self, id: ClientOrderId, state: OrderState) {
        self.orders.insert(id, state);
    }

    /// Records the venue's id.
    pub fn set_order_id(&mut self, id: &ClientOrderId, order_id: OrderId) {
        if let Some(state) = self.orders.get_mut(id) {
            state.order_id = Some(order_id);
            self.by_order_id.insert(order_id, *id);
        }
    }

    /// Mutable access for fields other than the status.
    pub fn get_mut(&mut self, id: &ClientOrderId) -> Option<&mut OrderState> {
        self.orders.get_mut(id)
    }

    /// Moves an order to `status`; returns the event to report, or None if
    /// nothing changed. A terminal order never changes again.
    pub fn transition(
        &mut self,
        id: &ClientOrderId,
        status: OrderStatus,
        cause: Cause,
    ) -> Option<OrderEvent> {
        let state = self.orders.get_mut(id)?;
        let previous = state.status;
        let transition = previous.transition(status);
        if transition == Transition::Same {
            return None;
        }
        let valid = transition == Transition::Valid;
        if valid || !previous.is_terminal() {
            state.status = status;
        }
        let event = OrderEvent {
            client_order_id: *id,
            order_id: state.order_id,
            previous,
            status: state.status,
            filled_qty: state.filled_qty,
            cause,
            valid,
            external: state.external,
            venue_to_gateway: None,
            detail: OrderDetail::default(),
        };
        if valid && status.is_terminal() {
            self.finished.push_back(*id);
            if self.finished.len() > self.keep_finished {
                if let Some(old) = self.finished.pop_front() {
                    if let Some(state) = self.orders.remove(&old) {
                        if let Some(order_id) = state.order_id {
                            self.by_order_id.remove(&order_id);
                        }
                    }
                }
            }
        }
        Some(event)
    }

    /// Orders that are neither terminal nor acknowledged-and-live: those not
    /// yet settled (pending_new or unknown).
    pub fn unsettled(&self) -> impl Iterator<Item = (&ClientOrderId, &OrderState)> {
        self.orders
            .iter()
            .filter(|(_, s)| matches!(s.status, OrderStatus::PendingNew | OrderStatus::Unknown))
    }

    /// Every order that is not terminal.
    pub fn live(&self) -> impl Iterator<Item = (&ClientOrderId, &OrderState)> {
        self.orders.iter().filter(|(_, s)| !s.status.is_terminal())
    }

    /// How many orders by status.
    pub fn count(&self, status: OrderStatus) -> usize {
        self.orders.values().filter(|s| s.status == status).count()
    }
}

/// Remembers the last `capacity` trade ids to drop duplicate fills (a
/// snapshot after a reconnect repeats fills already seen).
#[derive(Debug)]
pub struct FillDedup {
    seen: HashSet<TradeId, Hasher>,
    order: VecDeque<TradeId>,
    capacity: usize,
}

impl FillDedup {
    /// Remembers up to `capacity` ids.
    pub fn new(capacity: usize) -> FillDedup {
        FillDedup {
            seen: HashSet::with_capacity_and_hasher(capacity + 1, Hasher::default()),
            order: VecDeque::with_capacity(capacity + 1),
            capacity,
        }
    }

    /// True the first time an id is seen.
    pub fn first_time(&mut self, id: &TradeId) -> bool {
        if !self.seen.insert(*id) {
            return false;
        }
        self.order.push_back(*id);
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}
