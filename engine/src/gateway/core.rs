//! The gateway's state machine for one exchange: request ids, rate limits,
//! correlation, deadlines, order states and latency. No I/O and no clock:
//! every input carries `now` (the engine clock, ns), and frames leave through
//! an [`Outbound`]. [`crate::gateway::Gateway`] wraps it in a lock for user
//! threads; tests drive it directly in virtual time.
//!
//! Invariant: after any input, the driver drains [`GatewayCore::take_outputs`]
//! and asks [`GatewayCore::poll_timeout`] when to call `handle_timeout`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use arrayvec::ArrayVec;
use orderwire_protocol::model::{
    AmendOrder, BookEvent, CancelOrders, ClientOrderId, Event, Events, Level, Method, NewOrder,
    OrderRef, OrderStatus, OwnedRequest, RejectReason, Request, Subscription, Symbol,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{
    Capabilities, Ctx, EncodeError, Expect, FrameKind, Frames, Keepalive, Reconcile, Venue,
};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use super::latency::{Latency, LatencyBook, RequestSummary};
use super::orders::{Cause, FillDedup, OrderEvent, OrderState, OrderTable};
use super::ratelimit::{Charge, Limiter};

/// Where the core's frames go: the engine's command queue, or a test's Vec.
pub trait Outbound {
    /// Whether `frames` more frames fit in the transport's queue now. A
    /// request is committed (its id taken) only if all its frames fit.
    fn has_room(&mut self, frames: usize) -> bool;
    /// Takes one frame of `kind`: the transport keeps the bytes by swapping
    /// an empty buffer of its own (a pooled one) into `frame`, which the
    /// core then reuses, so nothing is copied or allocated. Returns false,
    /// leaving `frame` as it was, if the queue filled after `has_room`
    /// (another thread's command); the core keeps the frame and sends it
    /// first next time.
    fn send(&mut self, kind: FrameKind, frame: &mut Vec<u8>) -> bool;
}

/// What to do with a request that does not fit the rate limits now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenLimited {
    /// Hold it in a FIFO of this many requests and send it when it fits.
    Queue {
        /// The FIFO's bound; beyond it, submit fails with `QueueFull`.
        capacity: usize,
    },
    /// Refuse it at once with [`SubmitError::RateLimited`].
    Reject,
    /// Do not enforce limits (benchmarks, or a venue that enforces its own).
    Off,
}

/// Kraken's `cancel_all_orders_after`, refreshed while connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeadManSwitch {
    /// The venue cancels everything this long after the last refresh.
    pub timeout: Duration,
    /// How often to refresh (Kraken suggests 60 s refreshed every 15-30 s).
    pub refresh_every: Duration,
}

/// The gateway's settings.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// A request unanswered this long moves its orders to `unknown`.
    pub request_timeout: Duration,
    /// Rate-limit behaviour.
    pub when_limited: WhenLimited,
    /// Cancels skip the rate-limit FIFO (they still respect the limits).
    pub cancel_priority: bool,
    /// The dead-man switch, if wanted.
    pub dead_man: Option<DeadManSwitch>,
    /// Subscribed on every (re)connect, after the venue's login.
    pub subscriptions: Vec<Subscription>,
    /// Orders tracked without growing the tables.
    pub order_capacity: usize,
    /// Trade ids remembered to drop duplicate fills.
    pub fill_memory: usize,
    /// Overrides the venue's application-ping interval.
    pub app_ping_every: Option<Duration>,
    /// Percent of every rate ceiling kept unused, for network jitter.
    pub rate_headroom_percent: u8,
    /// Reconnect on our own terms this long before the venue's connection
    /// age limit (Binance: 24 h); overrides the venue's age when set to
    /// an age of its own with `max_connection_age`.
    pub reconnect_margin: Duration,
    /// Overrides the venue's maximum connection age (tests use seconds).
    pub max_connection_age: Option<Duration>,
    /// Seeds the RNG venue calls draw from (Upbit tickets, JWT nonces), so
    /// the same inputs give the same bytes.
    pub seed: u64,
}

impl Default for GatewayConfig {
    fn default() -> GatewayConfig {
        GatewayConfig {
            request_timeout: Duration::from_secs(5),
            when_limited: WhenLimited::Queue { capacity: 1024 },
            cancel_priority: false,
            dead_man: None,
            subscriptions: Vec::new(),
            order_capacity: 4096,
            fill_memory: 65_536,
            app_ping_every: None,
            rate_headroom_percent: 10,
            reconnect_margin: Duration::from_secs(600),
            max_connection_age: None,
            seed: 0,
        }
    }
}

/// Why a request was not accepted.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitError {
    /// Over the rate limit; it would fit at this time (engine clock, ns).
    #[error("rate limited until {ready_at_ns} ns")]
    RateLimited {
        /// When it would fit.
        ready_at_ns: u64,
    },
    /// The rate-limit FIFO is full.
    #[error("rate-limit queue full")]
    QueueFull,
    /// The transport's command queue is full; nothing was sent.
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
}

/// What became of an accepted request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submission {
    /// Handed to the transport with this id.
    Sent {
        /// The request id on the wire.
        req_id: u64,
    },
    /// Waiting in the rate-limit FIFO; it gets its id when it leaves.
    Queued,
}

/// What the gateway reports to the polling thread.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatewayEvent {
    /// One of our orders changed status.
    Order(OrderEvent),
    /// A fill of one of our orders (duplicates dropped).
    Fill(orderwire_protocol::model::Fill),
    /// Market data (trade, ticker, book); book levels index
    /// [`Outputs::levels`].
    Market(Event),
    /// A reply to a request (ack, reject, subscribe, pong), or an update for
    /// an order this gateway did not place.
    Reply(Event),
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
    /// A request waiting in the rate-limit FIFO could not be sent.
    Dropped {
        /// Its method.
        method: Method,
        /// Why.
        error: SubmitError,
    },
    /// The connection opened, dropped or closed (from [`crate::gateway::Exchange::poll`]).
    Connection(super::exchange::ConnectionEvent),
    /// Something the venue sent that could not be used, a checksum mismatch
    /// (the book is resubscribed), or a sequence gap.
    Problem(Event),
}

/// The core's output, swapped out whole by the poller (no copy, and the two
/// buffers' capacity is reused).
#[derive(Debug, Default)]
pub struct Outputs {
    /// Events in order.
    pub events: Vec<GatewayEvent>,
    /// Book levels indexed by `GatewayEvent::Market(Event::Book(..))`.
    pub levels: Vec<Level>,
    /// One entry per reply: the request, the reply, the latency.
    pub latencies: Vec<(RequestSummary, Event, Latency)>,
}

impl Outputs {
    /// Empties everything, keeping capacity.
    pub fn clear(&mut self) {
        self.events.clear();
        self.levels.clear();
        self.latencies.clear();
    }

    /// The levels of a book event's range.
    pub fn levels(&self, range: &std::ops::Range<usize>) -> &[Level] {
        self.levels.get(range.clone()).unwrap_or(&[])
    }
}

/// Orders one request may concern (a batch holds at most 15).
const MAX_ORDERS_PER_REQUEST: usize = 16;

type OrderList = ArrayVec<ClientOrderId, MAX_ORDERS_PER_REQUEST>;

#[derive(Debug)]
struct Pending {
    summary: RequestSummary,
    deadline: u64,
    replies_left: u32,
    /// The orders the request concerns (a batch's in request order).
    orders: OrderList,
    /// For batches: how many per-order replies arrived.
    answered: usize,
    /// The connection the request is written on (see `send_epoch`).
    epoch: u64,
}

/// Recent requests kept for a resend after a 429 (the venue did not act
/// on them). A ring of inline copies beside the pending table, not in it:
/// a pending entry stays a few cache lines, which matters when the table
/// is large and cold. A 429 comes within a round trip; a request older
/// than the ring is reported rejected instead.
const RETRY_RING: usize = 256;

#[derive(Debug)]
struct RetryEntry {
    req_id: u64,
    charge: Charge,
    retry: Retry,
}

/// A request kept for a resend after a 429.
#[derive(Debug, Clone)]
enum Retry {
    Place(NewOrder),
    Amend(AmendOrder),
    Cancel(OrderRef, Option<Symbol>),
}

impl Retry {
    fn of(request: &Request<'_>) -> Option<Retry> {
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

    fn into_request(self) -> OwnedRequest {
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
struct Queued {
    request: OwnedRequest,
    charge: Charge,
}

/// The gateway state machine for one exchange.
pub struct GatewayCore<V: Venue> {
    venue: V,
    config: GatewayConfig,
    keepalive: Keepalive,
    limiter: Option<Limiter>,
    next_req_id: u64,
    queue: VecDeque<Queued>,
    pending: HashMap<u64, Pending, foldhash::fast::RandomState>,
    orders: OrderTable,
    fills: FillDedup,
    latency: LatencyBook,
    decoded: Events,
    out: Outputs,
    connected: bool,
    epoch: u64,
    reconciling: bool,
    seen_in_snapshot: HashSet<ClientOrderId>,
    last_sent_ns: u64,
    dead_man_next: Option<u64>,
    /// Wall clock = engine clock + this (ns); see `set_wall_offset`.
    wall_offset_ns: i64,
    /// The venue announced a shutdown or the connection is near its age
    /// limit: nothing new is sent until the reconnect, and the connection
    /// is recycled once what is in flight is answered.
    draining: bool,
    drain_deadline: u64,
    /// Set when the drain is over: the driver recycles the connection.
    recycle_requested: bool,
    /// The recycle was asked for in this drain.
    recycled: bool,
    /// When the current connection opened (engine clock).
    connected_at: u64,
    /// Unknown orders wait for an `order.status` (venues that reconcile by
    /// query).
    query_unknown: bool,
    retries: VecDeque<RetryEntry>,
    /// What the venue can do, read once.
    capabilities: Capabilities,
    /// The RNG every venue call's [`Ctx`] draws from.
    rng: ChaCha8Rng,
    /// Frames an encode writes, before they go to the transport.
    frames: Frames,
    /// Frames a decode answers with.
    replies: Frames,
    /// Frames the transport could not take (a race on its queue): sent
    /// before anything else.
    unsent: VecDeque<(FrameKind, Vec<u8>)>,
}

impl<V: Venue> std::fmt::Debug for GatewayCore<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayCore")
            .field("venue", &self.venue.name())
            .field("next_req_id", &self.next_req_id)
            .field("pending", &self.pending.len())
            .field("queued", &self.queue.len())
            .field("connected", &self.connected)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// How long an order has rested; zero if the venue has not accepted it yet.
fn rest_time(now: u64, accepted_at: Option<u64>) -> Duration {
    accepted_at.map_or(Duration::ZERO, |at| {
        Duration::from_nanos(now.saturating_sub(at))
    })
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl<V: Venue> GatewayCore<V> {
    /// A core for `venue`; request ids start at 1.
    pub fn new(venue: V, config: GatewayConfig) -> GatewayCore<V> {
        let limiter = match config.when_limited {
            WhenLimited::Off => None,
            _ => Some(Limiter::new(
                venue.rate_policy(),
                config.rate_headroom_percent,
            )),
        };
        let mut keepalive = venue.keepalive();
        if let Some(every) = config.app_ping_every {
            keepalive.app_ping_every = Some(every);
        }
        if let Some(age) = config.max_connection_age {
            keepalive.max_connection_age = Some(age);
        }
        let capabilities = venue.capabilities();
        let seed = config.seed;
        GatewayCore {
            orders: OrderTable::new(config.order_capacity),
            fills: FillDedup::new(config.fill_memory),
            pending: HashMap::with_capacity_and_hasher(config.order_capacity, Default::default()),
            queue: VecDeque::with_capacity(match config.when_limited {
                WhenLimited::Queue { capacity } => capacity,
                _ => 0,
            }),
            seen_in_snapshot: HashSet::with_capacity(config.order_capacity),
            venue,
            config,
            keepalive,
            limiter,
            next_req_id: 1,
            latency: LatencyBook::new(),
            decoded: Events::default(),
            out: Outputs::default(),
            connected: false,
            epoch: 0,
            reconciling: false,
            last_sent_ns: 0,
            dead_man_next: None,
            wall_offset_ns: 0,
            draining: false,
            drain_deadline: 0,
            recycle_requested: false,
            recycled: false,
            connected_at: 0,
            query_unknown: false,
            retries: VecDeque::with_capacity(RETRY_RING),
            capabilities,
            rng: ChaCha8Rng::seed_from_u64(seed),
            frames: Frames::new(),
            replies: Frames::new(),
            unsent: VecDeque::new(),
        }
    }

    /// Sets how the engine clock (`now`) maps to the wall clock: wall =
    /// `now + offset`. The venue reads the wall clock for signed
    /// timestamps; tests leave it at 0 (virtual time is wall time).
    pub fn set_wall_offset(&mut self, offset_ns: i64) {
        self.wall_offset_ns = offset_ns;
    }

    fn wall_ns(&self, now: u64) -> i64 {
        i64::try_from(now)
            .unwrap_or(i64::MAX)
            .saturating_add(self.wall_offset_ns)
    }

    /// The venue codec (its books, for example).
    pub fn venue(&self) -> &V {
        &self.venue
    }

    /// The venue codec, mutably (to set a fresh token).
    pub fn venue_mut(&mut self) -> &mut V {
        &mut self.venue
    }

    /// Latency histograms per method.
    pub fn latency(&self) -> &LatencyBook {
        &self.latency
    }

    /// An order's state.
    pub fn order(&self, id: &ClientOrderId) -> Option<&OrderState> {
        self.orders.get(id)
    }

    /// How many orders have this status.
    pub fn count_orders(&self, status: OrderStatus) -> usize {
        self.orders.count(status)
    }

    /// Requests sent and not yet (fully) answered.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// Requests waiting for the rate limits.
    pub fn queued_requests(&self) -> usize {
        self.queue.len()
    }

    /// Whether the connection is open (as far as the gateway knows).
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Swaps the outputs into `spare` (which must be empty), so the caller
    /// can read them without holding the core.
    pub fn take_outputs(&mut self, spare: &mut Outputs) {
        std::mem::swap(&mut self.out, spare);
    }

    /// Submits a request (see the ordering guarantee in docs/gateway.md).
    pub fn submit(
        &mut self,
        now: u64,
        request: Request<'_>,
        out: &mut impl Outbound,
    ) -> Result<Submission, SubmitError> {
        let charge = self.validate(now, &request)?;
        let Some(limiter) = self.limiter.as_mut() else {
            return self
                .send_now(now, &request, &charge, out)
                .map(|req_id| Submission::Sent { req_id });
        };
        let jumps_queue = self.config.cancel_priority && request.method() == Method::Cancel;
        let must_wait = (!self.queue.is_empty() && !jumps_queue) || self.draining;
        let verdict = if must_wait {
            Err(now.max(self.drain_deadline))
        } else {
            limiter.check(now, &charge)
        };
        match verdict {
            Ok(()) => {
                let req_id = self.send_now(now, &request, &charge, out)?;
                Ok(Submission::Sent { req_id })
            }
            Err(ready_at_ns) => match self.config.when_limited {
                WhenLimited::Queue { capacity } => {
                    if self.queue.len() >= capacity {
                        return Err(SubmitError::QueueFull);
                    }
                    self.register_orders(now, &request);
                    let queued = Queued {
                        request: request.to_owned_request(),
                        charge,
                    };
                    if jumps_queue {
                        // Behind other cancels, ahead of everything else.
                        let position = self
                            .queue
                            .iter()
                            .position(|q| q.charge.method != Method::Cancel)
                            .unwrap_or(self.queue.len());
                        self.queue.insert(position, queued);
                    } else {
                        self.queue.push_back(queued);
                    }
                    Ok(Submission::Queued)
                }
                _ => Err(SubmitError::RateLimited { ready_at_ns }),
            },
        }
    }

    /// Checks the request against the order table; returns its rate charge.
    fn validate(&self, now: u64, request: &Request<'_>) -> Result<Charge, SubmitError> {
        if !self.capabilities.order_entry && request.is_order_entry() {
            return Err(SubmitError::NoOrderEntry);
        }
        let mut charge = Charge {
            method: request.method(),
            symbol: None,
            rested: None,
            orders: 1,
        };
        match request {
            Request::Place(order) => {
                if order.client_order_id.is_empty() {
                    return Err(SubmitError::MissingClientOrderId);
                }
                if self.orders.contains(&order.client_order_id) {
                    return Err(SubmitError::DuplicateClientOrderId);
                }
                charge.symbol = Some(order.symbol);
            }
            Request::BatchPlace(orders) => {
                for order in orders.iter() {
                    if order.client_order_id.is_empty() {
                        return Err(SubmitError::MissingClientOrderId);
                    }
                    if self.orders.contains(&order.client_order_id) {
                        return Err(SubmitError::DuplicateClientOrderId);
                    }
                }
                if orders.len() > MAX_ORDERS_PER_REQUEST {
                    return Err(SubmitError::Encode(EncodeError::Invalid("batch too large")));
                }
                charge.symbol = orders.first().map(|o| o.symbol);
                charge.orders = u32::try_from(orders.len()).unwrap_or(u32::MAX);
            }
            Request::Amend(amend) => {
                let state = self.resolve(&amend.order)?;
                // An order not yet accepted counts as just placed: the
                // costliest case, so the limiter never under-charges.
                charge.rested = Some(Duration::ZERO);
                if let Some(state) = state {
                    charge.symbol = Some(state.symbol);
                    charge.rested = Some(rest_time(now, state.accepted_at));
                }
            }
            Request::Cancel(cancel) => {
                // The costliest order decides (the youngest); one pair per
                // charge: Kraken counts per pair, and a cancel naming orders
                // of several pairs is charged to the first's.
                for order in &cancel.orders {
                    if let Some(state) = self.resolve(order)? {
                        charge.symbol.get_or_insert(state.symbol);
                        let rested = rest_time(now, state.accepted_at);
                        charge.rested = Some(charge.rested.map_or(rested, |r| r.min(rested)));
                    }
                }
                charge.rested.get_or_insert(Duration::ZERO);
                charge.orders = u32::try_from(cancel.orders.len()).unwrap_or(u32::MAX);
            }
            Request::CancelReplace(replace) => {
                let order = &replace.new_order;
                if order.client_order_id.is_empty() {
                    return Err(SubmitError::MissingClientOrderId);
                }
                if self.orders.contains(&order.client_order_id) {
                    return Err(SubmitError::DuplicateClientOrderId);
                }
                self.resolve(&replace.cancel)?;
                charge.symbol = Some(order.symbol);
            }
            Request::QueryOrder { symbol, .. } | Request::BookSnapshot { symbol, .. } => {
                charge.symbol = Some(*symbol);
            }
            _ => {}
        }
        Ok(charge)
    }

    /// The state of a referenced order: by client id it must exist; by venue
    /// id it may be an order placed elsewhere (then None).
    fn resolve(&self, order: &OrderRef) -> Result<Option<&OrderState>, SubmitError> {
        match order {
            OrderRef::ClientOrderId(id) => self
                .orders
                .get(id)
                .map(Some)
                .ok_or(SubmitError::UnknownOrder),
            OrderRef::OrderId(id) => Ok(self
                .orders
                .client_id_of(id)
                .and_then(|c| self.orders.get(&c))),
        }
    }

    fn register_orders(&mut self, _now: u64, request: &Request<'_>) {
        let epoch = self.send_epoch();
        let orders: &[NewOrder] = match request {
            Request::Place(order) => std::slice::from_ref(*order),
            Request::BatchPlace(orders) => orders,
            Request::CancelReplace(replace) => std::slice::from_ref(&replace.new_order),
            _ => return,
        };
        for order in orders {
            if self.orders.contains(&order.client_order_id) {
                continue;
            }
            self.orders.insert(
                order.client_order_id,
                OrderState {
                    order_id: None,
                    symbol: order.symbol,
                    side: order.side,
                    qty: order.qty,
                    filled_qty: orderwire_protocol::num::Decimal::ZERO,
                    status: OrderStatus::PendingNew,
                    accepted_at: None,
                    epoch,
                    acknowledged: false,
                },
            );
        }
    }

    /// The epoch a frame handed over now will be written in: the current
    /// connection's, or the next one's if the connection is down (the engine
    /// holds it in its backlog until the reconnect).
    fn send_epoch(&self) -> u64 {
        if self.connected {
            self.epoch
        } else {
            self.epoch + 1
        }
    }

    fn send_now(
        &mut self,
        now: u64,
        request: &Request<'_>,
        charge: &Charge,
        out: &mut impl Outbound,
    ) -> Result<u64, SubmitError> {
        let req_id = self.next_req_id;
        self.frames.clear();
        let mut ctx = Ctx::new(Instant(now), self.wall_ns(now), &mut self.rng);
        let expect = match self
            .venue
            .encode(&mut ctx, req_id, request, &mut self.frames)
        {
            Ok(expect) => expect,
            Err(error) => {
                self.frames.clear();
                return Err(SubmitError::Encode(error));
            }
        };
        if !out.has_room(self.unsent.len() + self.frames.len()) {
            self.frames.clear();
            return Err(SubmitError::TransportFull);
        }
        self.flush_unsent(out);
        Self::transmit(&mut self.frames, &mut self.unsent, out);
        self.next_req_id += 1;
        self.last_sent_ns = now;
        if let Some(limiter) = self.limiter.as_mut() {
            limiter.charge(now, charge);
        }
        self.register_orders(now, request);
        let epoch = self.send_epoch();
        let mut orders = OrderList::new();
        let mut summary = RequestSummary {
            req_id,
            method: request.method(),
            client_order_id: None,
            symbol: charge.symbol,
            side: None,
            price: None,
            qty: None,
            sent_at_ns: now,
        };
        match request {
            Request::Place(order) => {
                orders.push(order.client_order_id);
                summary.client_order_id = Some(order.client_order_id);
                summary.side = Some(order.side);
                summary.price = order.price;
                summary.qty = Some(order.qty);
            }
            Request::BatchPlace(batch) => {
                for order in batch.iter().take(MAX_ORDERS_PER_REQUEST) {
                    orders.push(order.client_order_id);
                }
            }
            Request::Amend(amend) => {
                if let Ok(Some(id)) = self.client_id(&amend.order) {
                    orders.push(id);
                    summary.client_order_id = Some(id);
                }
                summary.price = amend.price;
                summary.qty = amend.qty;
            }
            Request::Cancel(cancel) => {
                for order in cancel.orders.iter().take(MAX_ORDERS_PER_REQUEST) {
                    if let Ok(Some(id)) = self.client_id(order) {
                        orders.push(id);
                    }
                }
                summary.client_order_id = orders.first().copied();
            }
            Request::CancelReplace(replace) => {
                // The new order first, then the canceled one if it is ours.
                let order = &replace.new_order;
                orders.push(order.client_order_id);
                if let Ok(Some(id)) = self.client_id(&replace.cancel) {
                    orders.push(id);
                }
                summary.client_order_id = Some(order.client_order_id);
                summary.side = Some(order.side);
                summary.price = order.price;
                summary.qty = Some(order.qty);
            }
            Request::QueryOrder { order, .. } => {
                if let Ok(Some(id)) = self.client_id(order) {
                    orders.push(id);
                    summary.client_order_id = Some(id);
                }
            }
            _ => {}
        }
        for id in &orders {
            if let Some(state) = self.orders.get_mut(id) {
                state.epoch = epoch;
            }
        }
        let replies_left = match (expect, request) {
            (Expect::Replies(_), Request::BatchPlace(batch)) => {
                u32::try_from(batch.len()).unwrap_or(u32::MAX)
            }
            (Expect::Replies(n), _) => n,
            // Nothing will answer: no pending entry, no deadline.
            _ => return Ok(req_id),
        };
        self.pending.insert(
            req_id,
            Pending {
                summary,
                deadline: now.saturating_add(nanos(self.config.request_timeout)),
                replies_left,
                orders,
                answered: 0,
                epoch,
            },
        );
        // Only a queueing gateway resends after a 429; others keep no copy.
        let queues = matches!(self.config.when_limited, WhenLimited::Queue { .. });
        if let Some(retry) = Retry::of(request).filter(|_| queues) {
            if self.retries.len() == RETRY_RING {
                self.retries.pop_front();
            }
            self.retries.push_back(RetryEntry {
                req_id,
                charge: *charge,
                retry,
            });
        }
        Ok(req_id)
    }

    /// Hands every frame in `frames` to the transport in order; what it
    /// cannot take waits in `unsent`.
    fn transmit(
        frames: &mut Frames,
        unsent: &mut VecDeque<(FrameKind, Vec<u8>)>,
        out: &mut impl Outbound,
    ) {
        for index in 0..frames.len() {
            let Some((kind, frame)) = frames.get_mut(index) else {
                break;
            };
            if !unsent.is_empty() || !out.send(kind, frame) {
                unsent.push_back((kind, std::mem::take(frame)));
            }
        }
        frames.clear();
    }

    /// Sends the frames the transport could not take before.
    fn flush_unsent(&mut self, out: &mut impl Outbound) {
        while let Some((kind, frame)) = self.unsent.front_mut() {
            if !out.send(*kind, frame) {
                return;
            }
            self.unsent.pop_front();
        }
    }

    fn client_id(&self, order: &OrderRef) -> Result<Option<ClientOrderId>, SubmitError> {
        Ok(match order {
            OrderRef::ClientOrderId(id) => Some(*id),
            OrderRef::OrderId(id) => self.orders.client_id_of(id),
        })
    }

    /// Handshake headers for the next (re)connect, made by the venue now
    /// (Upbit's JWT with a fresh nonce). The values are secrets.
    pub fn handshake_headers(&mut self, now: u64, out: &mut Vec<(String, Secret)>) {
        let mut ctx = Ctx::new(Instant(now), self.wall_ns(now), &mut self.rng);
        self.venue.handshake_headers(&mut ctx, out);
    }

    /// What the venue connection can do.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The connection opened: appends the open sequence (login, then every
    /// configured subscription, each with a fresh request id) to `out`.
    /// Called by the engine's open-sequence hook, before anything queued.
    pub fn open_sequence(&mut self, now: u64, out: &mut Frames) {
        self.epoch += 1;
        self.connected = true;
        self.connected_at = now;
        self.draining = false;
        self.recycle_requested = false;
        self.recycled = false;
        self.venue.reset();
        if self.epoch > 1 {
            self.reconciling = true;
            self.seen_in_snapshot.clear();
            self.query_unknown = self.capabilities.reconcile == Reconcile::QueryEach;
        }
        let wall_ns = self.wall_ns(now);
        let before = out.len();
        let mut ctx = Ctx::new(Instant(now), wall_ns, &mut self.rng);
        match self.venue.login(&mut ctx, self.next_req_id, out) {
            Ok(()) if out.len() > before => self.next_req_id += 1,
            Ok(()) => {}
            Err(error) => {
                out.truncate(before);
                self.out.events.push(GatewayEvent::Dropped {
                    method: Method::Other,
                    error: SubmitError::Encode(error),
                });
            }
        }
        for index in 0..self.config.subscriptions.len() {
            let req_id = self.next_req_id;
            let request = Request::Subscribe(&self.config.subscriptions[index]);
            let before = out.len();
            let mut ctx = Ctx::new(Instant(now), wall_ns, &mut self.rng);
            let expect = match self.venue.encode(&mut ctx, req_id, &request, out) {
                Ok(expect) => expect,
                Err(error) => {
                    out.truncate(before);
                    self.out.events.push(GatewayEvent::Dropped {
                        method: Method::Subscribe,
                        error: SubmitError::Encode(error),
                    });
                    continue;
                }
            };
            self.next_req_id += 1;
            let Expect::Replies(replies_left) = expect else {
                continue;
            };
            self.pending.insert(
                req_id,
                Pending {
                    summary: RequestSummary {
                        req_id,
                        method: Method::Subscribe,
                        client_order_id: None,
                        symbol: None,
                        side: None,
                        price: None,
                        qty: None,
                        sent_at_ns: now,
                    },
                    deadline: now.saturating_add(nanos(self.config.request_timeout)),
                    replies_left,
                    orders: OrderList::new(),
                    answered: 0,
                    epoch: self.epoch,
                },
            );
        }
        self.last_sent_ns = now;
        if self.config.dead_man.is_some() {
            self.dead_man_next = Some(now);
        }
    }

    /// The connection dropped: every request sent on it is unanswerable, so
    /// its orders become `unknown` until the snapshot after the reconnect.
    pub fn on_disconnected(&mut self, _now: u64) {
        if !self.connected {
            return;
        }
        self.connected = false;
        self.dead_man_next = None;
        let epoch = self.epoch;
        let mut lost = Vec::new();
        self.pending.retain(|req_id, pending| {
            let on_dead_socket = pending.epoch <= epoch;
            if on_dead_socket {
                lost.push((*req_id, pending.orders.clone()));
            }
            !on_dead_socket
        });
        for (_, orders) in lost {
            for id in orders {
                if let Some(event) =
                    self.orders
                        .transition(&id, OrderStatus::Unknown, Cause::Disconnect)
                {
                    self.out.events.push(GatewayEvent::Order(event));
                }
            }
        }
        // Live orders may change while we are away: mark them unknown too,
        // so reconciliation settles every one. Orders still waiting in the
        // rate-limit queue were never sent: they stay pending.
        let queued: HashSet<ClientOrderId> = self
            .queue
            .iter()
            .flat_map(|q| match &q.request {
                OwnedRequest::Place(order) => vec![order.client_order_id],
                OwnedRequest::BatchPlace(orders) => {
                    orders.iter().map(|o| o.client_order_id).collect()
                }
                OwnedRequest::CancelReplace(replace) => vec![replace.new_order.client_order_id],
                _ => Vec::new(),
            })
            .collect();
        let live: Vec<ClientOrderId> = self
            .orders
            .live()
            .filter(|(id, s)| {
                s.epoch <= epoch && s.status != OrderStatus::Unknown && !queued.contains(*id)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in live {
            if let Some(event) =
                self.orders
                    .transition(&id, OrderStatus::Unknown, Cause::Disconnect)
            {
                self.out.events.push(GatewayEvent::Order(event));
            }
        }
    }

    /// Handles one inbound message of `kind`. `received_at` is the read's
    /// timestamp. What the venue answers at once (KIS `PINGPONG`) goes to
    /// the transport before anything the message's events cause.
    pub fn handle_message(
        &mut self,
        now: u64,
        received_at: u64,
        kind: FrameKind,
        message: &mut [u8],
        out: &mut impl Outbound,
    ) {
        let mut decoded = std::mem::take(&mut self.decoded);
        decoded.clear();
        self.replies.clear();
        let mut ctx = Ctx::new(Instant(now), self.wall_ns(now), &mut self.rng);
        let result = self
            .venue
            .decode(&mut ctx, kind, message, &mut decoded, &mut self.replies);
        if let Err(error) = result {
            decoded.list.push(Event::Error(error.to_string()));
        }
        if !self.replies.is_empty() {
            self.flush_unsent(out);
            Self::transmit(&mut self.replies, &mut self.unsent, out);
        }
        for event in decoded.list.drain(..) {
            self.handle_event(now, received_at, event, &decoded.levels, out);
        }
        self.decoded = decoded;
    }

    fn handle_event(
        &mut self,
        now: u64,
        received_at: u64,
        event: Event,
        levels: &[Level],
        out: &mut impl Outbound,
    ) {
        match event {
            Event::OrderAck(ref ack) => {
                let req_id = ack.req_id;
                self.correlate(received_at, req_id, &event);
            }
            Event::OrderReject(ref reject) => {
                let req_id = reject.req_id;
                self.correlate(received_at, req_id, &event);
            }
            Event::Response(ref response) => {
                let req_id = response.req_id;
                self.correlate(received_at, req_id, &event);
            }
            Event::OrderUpdate(update) => self.on_order_update(now, update),
            Event::Fill(fill) => {
                if !self.fills.first_time(fill.dedup_key()) {
                    return;
                }
                let known = fill
                    .client_order_id
                    .filter(|id| self.orders.contains(id))
                    .or_else(|| self.orders.client_id_of(&fill.order_id));
                if let Some(id) = known {
                    if let Some(state) = self.orders.get_mut(&id) {
                        if state.order_id.is_none() {
                            state.order_id = Some(fill.order_id);
                        }
                        // The order stream's cum_qty overrides this when it comes.
                        if let Some(total) = state.filled_qty.checked_add(fill.qty) {
                            state.filled_qty = total;
                        }
                    }
                    let mut fill = fill;
                    fill.client_order_id = Some(id);
                    self.out.events.push(GatewayEvent::Fill(fill));
                } else {
                    self.out.events.push(GatewayEvent::Reply(Event::Fill(fill)));
                }
            }
            Event::Book(mut book) => {
                let base = self.out.levels.len();
                self.out
                    .levels
                    .extend_from_slice(levels.get(book.bids.clone()).unwrap_or(&[]));
                let bids = base..self.out.levels.len();
                let base = self.out.levels.len();
                self.out
                    .levels
                    .extend_from_slice(levels.get(book.asks.clone()).unwrap_or(&[]));
                book.bids = bids;
                book.asks = base..self.out.levels.len();
                self.out
                    .events
                    .push(GatewayEvent::Market(Event::Book(book)));
            }
            Event::Trade(_) | Event::Ticker(_) => self.out.events.push(GatewayEvent::Market(event)),
            Event::Heartbeat => {}
            Event::ChecksumMismatch { symbol, .. } => {
                self.out.events.push(GatewayEvent::Problem(event));
                self.resubscribe_book(now, symbol, out);
            }
            Event::SnapshotEnd { .. } => self.reconcile(),
            Event::RateUsage(usage) => {
                let as_of = usage
                    .req_id
                    .and_then(|id| self.pending.get(&id))
                    .map_or(now, |p| p.summary.sent_at_ns);
                if let Some(limiter) = self.limiter.as_mut() {
                    limiter.reconcile(
                        now,
                        usage.counter.as_str(),
                        Duration::from_secs(usage.window_secs),
                        usage.limit,
                        u64::from(usage.count),
                        as_of,
                    );
                }
            }
            Event::Throttled { req_id, until, .. } => {
                self.on_throttled(now, received_at, req_id, until, &event);
            }
            Event::ServerShutdown { .. } => {
                self.out.events.push(GatewayEvent::Problem(event));
                self.start_drain(now);
            }
            _ => self.out.events.push(GatewayEvent::Problem(event)),
        }
    }

    /// The venue refused a request for its rate (429): nothing goes out
    /// before `until`, and the request, which the venue did not act on, is
    /// queued again at the front (when the gateway queues).
    fn on_throttled(
        &mut self,
        now: u64,
        received_at: u64,
        req_id: Option<u64>,
        until: Option<i64>,
        event: &Event,
    ) {
        // `until` is wall-clock; without one, a second.
        let resume = until.map_or(now.saturating_add(1_000_000_000), |wall| {
            u64::try_from(wall.saturating_sub(self.wall_offset_ns)).unwrap_or(0)
        });
        if let Some(limiter) = self.limiter.as_mut() {
            limiter.block_until(resume.max(now));
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
        self.pending.remove(&entry.req_id);
        self.out.events.push(GatewayEvent::Reply(event.clone()));
        self.queue.push_front(Queued {
            request: entry.retry.into_request(),
            charge: entry.charge,
        });
    }

    /// Stops sending new requests and recycles the connection once what is
    /// in flight is answered (or its deadline passes).
    fn start_drain(&mut self, now: u64) {
        if self.draining || !self.connected {
            return;
        }
        self.draining = true;
        self.drain_deadline = now.saturating_add(nanos(self.config.request_timeout));
    }

    /// Whether the driver should recycle the connection now (once per
    /// drain).
    pub fn take_recycle_request(&mut self) -> bool {
        std::mem::take(&mut self.recycle_requested)
    }

    /// Whether new requests wait for a reconnect.
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// A book snapshot fetched on another connection (see
    /// [`Venue::feed_book_snapshot`]); what the venue makes of it is reported
    /// like any market data.
    pub fn feed_book_snapshot(
        &mut self,
        now: u64,
        book: &BookEvent,
        levels: &[Level],
        out: &mut impl Outbound,
    ) {
        let mut decoded = std::mem::take(&mut self.decoded);
        decoded.clear();
        let mut ctx = Ctx::new(Instant(now), self.wall_ns(now), &mut self.rng);
        self.venue
            .feed_book_snapshot(&mut ctx, book, levels, &mut decoded);
        for event in decoded.list.drain(..) {
            self.handle_event(now, now, event, &decoded.levels, out);
        }
        self.decoded = decoded;
    }

    /// A reply: latency, pending bookkeeping and the order's status.
    fn correlate(&mut self, received_at: u64, req_id: Option<u64>, event: &Event) {
        let Some(pending) = req_id.and_then(|id| self.pending.get_mut(&id)) else {
            self.out.events.push(GatewayEvent::Reply(event.clone()));
            self.late_reply(received_at, event);
            return;
        };
        let summary = pending.summary;
        let batch_index = pending.answered;
        pending.answered += 1;
        pending.replies_left = pending.replies_left.saturating_sub(1);
        let done = pending.replies_left == 0;
        // A cancel-replace answers once for each half; the event's method
        // says which.
        let method = match (summary.method, event) {
            (Method::CancelReplace, Event::OrderAck(a)) => a.method,
            (Method::CancelReplace, Event::OrderReject(r)) => r.method,
            (method, _) => method,
        };
        // The one order a reply can be about, without copying the list: a
        // batch's reply goes to its next order, a cancel-replace's to the
        // new order (first) or the canceled one, any other to its only one.
        let listed = match (summary.method, method) {
            (Method::BatchPlace, _) => pending.orders.get(batch_index).copied(),
            (Method::CancelReplace, Method::Cancel) => pending.orders.get(1).copied(),
            (Method::CancelReplace, _) => pending.orders.first().copied(),
            _ if pending.orders.len() == 1 => pending.orders.first().copied(),
            _ => None,
        };
        if done {
            self.pending.remove(&summary.req_id);
        }
        let (ts_in, ts_out) = match event {
            Event::OrderAck(a) => (a.ts_in, a.ts_out),
            Event::OrderReject(r) => (r.ts_in, r.ts_out),
            Event::Response(r) => (r.ts_in, r.ts_out),
            _ => (None, None),
        };
        let latency = Latency {
            nanos: received_at.saturating_sub(summary.sent_at_ns),
            venue_time_in: ts_in,
            venue_time_out: ts_out,
        };
        // A batch answers once for all its orders: one sample, not one per order.
        let several = matches!(summary.method, Method::BatchPlace | Method::CancelReplace);
        if !several || batch_index == 0 {
            self.latency.record(summary.method, latency.nanos);
            self.out.latencies.push((summary, event.clone(), latency));
        }
        self.out.events.push(GatewayEvent::Reply(event.clone()));
        // Which order the reply is about.
        let named = match event {
            Event::OrderAck(a) => a
                .client_order_id
                .filter(|id| self.orders.contains(id))
                .or_else(|| a.order_id.and_then(|o| self.orders.client_id_of(&o))),
            Event::OrderReject(r) => r.order_id.and_then(|o| self.orders.client_id_of(&o)),
            _ => None,
        };
        let order = match summary.method {
            Method::BatchPlace | Method::CancelReplace => listed,
            _ => named.or(listed),
        };
        let Some(order) = order else { return };
        self.reply_settles(method, &order, received_at, event);
    }

    /// What a reply does to the order it concerns: an accepted place makes
    /// it `new` (and records the venue's id and when it started resting), a
    /// refused place `rejected`, an accepted cancel `canceled`; an accepted
    /// amend restarts the rest time (Kraken's rate costs count from it).
    fn reply_settles(
        &mut self,
        method: Method,
        order: &ClientOrderId,
        received_at: u64,
        event: &Event,
    ) {
        match (method, event) {
            (Method::Place | Method::BatchPlace, Event::OrderAck(ack)) => {
                if let Some(order_id) = ack.order_id {
                    self.orders.set_order_id(order, order_id);
                }
                if let Some(state) = self.orders.get_mut(order) {
                    state.acknowledged = true;
                    state.accepted_at.get_or_insert(received_at);
                }
                self.apply(order, OrderStatus::New, Cause::Ack);
            }
            (Method::Place | Method::BatchPlace, Event::OrderReject(reject))
                if reject.reason == RejectReason::StatusUnknown =>
            {
                // The venue does not know whether it acted: ask it.
                self.apply(order, OrderStatus::Unknown, Cause::Timeout);
                self.query_unknown |= self.capabilities.reconcile == Reconcile::QueryEach;
            }
            (
                Method::Place | Method::BatchPlace,
                Event::OrderReject(_) | Event::Throttled { .. },
            ) => {
                self.apply(order, OrderStatus::Rejected, Cause::Reject);
            }
            (Method::QueryOrder, Event::OrderReject(reject))
                if reject.reason == RejectReason::UnknownOrder =>
            {
                self.settle_absent(order);
            }
            (Method::Cancel, Event::OrderAck(_)) => {
                self.apply(order, OrderStatus::Canceled, Cause::Ack);
            }
            (Method::Amend, Event::OrderAck(_)) => {
                if let Some(state) = self.orders.get_mut(order) {
                    state.accepted_at = Some(received_at);
                }
            }
            _ => {}
        }
    }

    /// A reply whose request is no longer pending (it timed out, or came on
    /// a connection we gave up on) still settles the order it names.
    fn late_reply(&mut self, received_at: u64, event: &Event) {
        let (method, order) = match event {
            Event::OrderAck(a) => (
                a.method,
                a.client_order_id
                    .filter(|id| self.orders.contains(id))
                    .or_else(|| a.order_id.and_then(|o| self.orders.client_id_of(&o))),
            ),
            Event::OrderReject(r) => (
                r.method,
                r.order_id.and_then(|o| self.orders.client_id_of(&o)),
            ),
            _ => return,
        };
        let Some(order) = order else { return };
        self.reply_settles(method, &order, received_at, event);
    }

    /// The venue has no record of an unknown order: it is closed as
    /// reconciliation closes an order missing from a snapshot.
    fn settle_absent(&mut self, id: &ClientOrderId) {
        let Some(state) = self.orders.get(id) else {
            return;
        };
        if state.status != OrderStatus::Unknown {
            return;
        }
        let status = if state.filled_qty >= state.qty {
            OrderStatus::Filled
        } else if state.acknowledged {
            OrderStatus::Canceled
        } else {
            OrderStatus::Rejected
        };
        if let Some(event) = self.orders.transition(id, status, Cause::Reconciled) {
            self.out.events.push(GatewayEvent::Order(event));
        }
    }

    /// Asks the venue for every unknown order's state (venues that
    /// reconcile by query), through the rate limiter like any request.
    fn query_unknown_orders(&mut self, now: u64, out: &mut impl Outbound) {
        self.query_unknown = false;
        let unknown: Vec<(ClientOrderId, Symbol)> = self
            .orders
            .live()
            .filter(|(_, s)| s.status == OrderStatus::Unknown)
            .map(|(id, s)| (*id, s.symbol))
            .collect();
        for (id, symbol) in unknown {
            let request = Request::QueryOrder {
                order: OrderRef::ClientOrderId(id),
                symbol,
            };
            if let Err(error) = self.submit(now, request, out) {
                self.out.events.push(GatewayEvent::Dropped {
                    method: Method::QueryOrder,
                    error,
                });
            }
        }
    }

    /// Moves an order and reports the change.
    fn apply(&mut self, id: &ClientOrderId, status: OrderStatus, cause: Cause) {
        // An ack never downgrades what the order stream already said (an
        // executions update can arrive before the ack).
        if cause == Cause::Ack {
            if let Some(state) = self.orders.get(id) {
                let later = matches!(
                    (state.status, status),
                    (
                        OrderStatus::PartiallyFilled | OrderStatus::Filled,
                        OrderStatus::New
                    )
                ) || state.status.is_terminal();
                if later {
                    return;
                }
            }
        }
        if let Some(event) = self.orders.transition(id, status, cause) {
            self.out.events.push(GatewayEvent::Order(event));
        }
    }

    fn on_order_update(&mut self, now: u64, update: orderwire_protocol::model::OrderUpdate) {
        let known = update
            .client_order_id
            .filter(|id| self.orders.contains(id))
            .or_else(|| self.orders.client_id_of(&update.order_id));
        let Some(id) = known else {
            self.out
                .events
                .push(GatewayEvent::Reply(Event::OrderUpdate(update)));
            return;
        };
        if let Some(state) = self.orders.get_mut(&id) {
            if state.order_id.is_none() {
                state.order_id = Some(update.order_id);
            }
            if let Some(filled) = update.filled_qty {
                state.filled_qty = filled;
            }
            if matches!(
                update.status,
                OrderStatus::New | OrderStatus::PartiallyFilled
            ) {
                state.acknowledged = true;
                state.accepted_at.get_or_insert(now);
            }
        }
        self.orders.set_order_id(&id, update.order_id);
        if update.from_snapshot {
            self.seen_in_snapshot.insert(id);
        }
        let cause = if update.from_snapshot {
            Cause::Reconciled
        } else {
            Cause::Venue
        };
        if update.status == OrderStatus::PendingNew {
            return;
        }
        self.apply(&id, update.status, cause);
    }

    /// After a reconnect's executions snapshot: every order sent on an
    /// earlier connection that is still unknown, and absent from the
    /// snapshot of open orders, is closed. Filled if its fills cover it;
    /// canceled if the venue had accepted it; rejected if it never had.
    fn reconcile(&mut self) {
        if !self.reconciling {
            return;
        }
        self.reconciling = false;
        let epoch = self.epoch;
        let settle: Vec<(ClientOrderId, OrderStatus)> = self
            .orders
            .live()
            .filter(|(id, s)| s.epoch < epoch && !self.seen_in_snapshot.contains(*id))
            .map(|(id, s)| {
                let status = if s.filled_qty >= s.qty {
                    OrderStatus::Filled
                } else if s.acknowledged {
                    OrderStatus::Canceled
                } else {
                    OrderStatus::Rejected
                };
                (*id, status)
            })
            .collect();
        for (id, status) in settle {
            if let Some(event) = self.orders.transition(&id, status, Cause::Reconciled) {
                self.out.events.push(GatewayEvent::Order(event));
            }
        }
    }

    /// A book whose checksum failed is rebuilt from a fresh snapshot:
    /// unsubscribe, then subscribe again.
    fn resubscribe_book(
        &mut self,
        now: u64,
        symbol: orderwire_protocol::model::Symbol,
        out: &mut impl Outbound,
    ) {
        let depth = self.config.subscriptions.iter().find_map(|s| match s {
            Subscription::Book { symbols, depth } if symbols.contains(&symbol) => Some(*depth),
            _ => None,
        });
        let Some(depth) = depth else { return };
        let subscription = Subscription::Book {
            symbols: vec![symbol],
            depth,
        };
        self.send_housekeeping(now, Request::Unsubscribe(&subscription), out);
        self.send_housekeeping(now, Request::Subscribe(&subscription), out);
    }

    /// Expires deadlines, releases rate-limited requests that now fit,
    /// refreshes the dead-man switch and keeps the connection alive. A
    /// spurious call is a no-op.
    pub fn handle_timeout(&mut self, now: u64, out: &mut impl Outbound) {
        self.expire_requests(now);
        if !self.connected {
            // Frames wait in the engine's backlog for the reconnect; during
            // a drain they wait here, so the old socket takes nothing new.
            if !self.draining {
                self.release_queued(now, out);
            }
            return;
        }
        if self.draining {
            let on_this_socket = self.pending.values().any(|p| p.epoch == self.epoch);
            if !self.recycled && (!on_this_socket || now >= self.drain_deadline) {
                self.recycle_requested = true;
                self.recycled = true;
            }
            return;
        }
        if let Some(age) = self.keepalive.max_connection_age {
            let due = self
                .connected_at
                .saturating_add(nanos(age.saturating_sub(self.config.reconnect_margin)));
            if now >= due {
                self.start_drain(now);
                return;
            }
        }
        self.release_queued(now, out);
        if self.query_unknown {
            self.query_unknown_orders(now, out);
        }
        if let (Some(at), Some(switch)) = (self.dead_man_next, self.config.dead_man) {
            if at <= now {
                let timeout_secs = u32::try_from(switch.timeout.as_secs()).unwrap_or(u32::MAX);
                // The switch is refreshed ahead of anything rate-limited: it
                // costs nothing on the trading counter, and a missed refresh
                // cancels every order.
                self.send_housekeeping(now, Request::CancelAllAfter { timeout_secs }, out);
                self.dead_man_next = Some(now.saturating_add(nanos(switch.refresh_every)));
            }
        }
        if let Some(every) = self.keepalive.app_ping_every {
            if now.saturating_sub(self.last_sent_ns) >= nanos(every) {
                self.send_housekeeping(now, Request::Ping, out);
            }
        }
    }

    /// Sends a request the gateway makes itself (keepalive, dead-man switch,
    /// resubscribe) outside the rate-limit FIFO; a failure is reported.
    fn send_housekeeping(&mut self, now: u64, request: Request<'_>, out: &mut impl Outbound) {
        let charge = Charge {
            method: request.method(),
            symbol: None,
            rested: None,
            orders: 1,
        };
        if let Err(error) = self.send_now(now, &request, &charge, out) {
            self.out.events.push(GatewayEvent::Dropped {
                method: request.method(),
                error,
            });
        }
    }

    fn expire_requests(&mut self, now: u64) {
        if !self.pending.values().any(|p| p.deadline <= now) {
            return;
        }
        let mut expired: Vec<(u64, Method, OrderList)> = Vec::new();
        self.pending.retain(|req_id, pending| {
            let late = pending.deadline <= now;
            if late {
                expired.push((*req_id, pending.summary.method, pending.orders.clone()));
            }
            !late
        });
        expired.sort_by_key(|(req_id, _, _)| *req_id);
        for (req_id, method, orders) in expired {
            self.out
                .events
                .push(GatewayEvent::TimedOut { req_id, method });
            // Never a made-up reject: the venue may have acted on it. An
            // order the venue's stream already confirmed stays as it is.
            for id in orders {
                let settled = self.orders.get(&id).is_some_and(|s| {
                    s.status.is_terminal()
                        || (matches!(method, Method::Place | Method::BatchPlace)
                            && s.status != OrderStatus::PendingNew)
                });
                if settled {
                    continue;
                }
                if let Some(event) =
                    self.orders
                        .transition(&id, OrderStatus::Unknown, Cause::Timeout)
                {
                    self.out.events.push(GatewayEvent::Order(event));
                    self.query_unknown |= self.capabilities.reconcile == Reconcile::QueryEach;
                }
            }
        }
    }

    fn release_queued(&mut self, now: u64, out: &mut impl Outbound) {
        while let Some(front) = self.queue.front() {
            let fits = match self.limiter.as_mut() {
                Some(limiter) => limiter.check(now, &front.charge).is_ok(),
                None => true,
            };
            if !fits {
                break;
            }
            let Some(queued) = self.queue.pop_front() else {
                break;
            };
            let request = queued.request.as_request();
            match self.send_now(now, &request, &queued.charge, out) {
                Ok(req_id) => self.out.events.push(GatewayEvent::Released {
                    req_id,
                    method: queued.charge.method,
                }),
                Err(SubmitError::TransportFull) => {
                    // Try again on the next timeout, in the same place.
                    self.queue.push_front(queued);
                    break;
                }
                Err(error) => self.out.events.push(GatewayEvent::Dropped {
                    method: queued.charge.method,
                    error,
                }),
            }
        }
    }

    fn recycle_ready(&self) -> bool {
        !self.pending.values().any(|p| p.epoch == self.epoch)
    }

    /// When `handle_timeout` should next run (engine clock, ns).
    pub fn poll_timeout(&mut self) -> Option<u64> {
        let mut next: Option<u64> = self.pending.values().map(|p| p.deadline).min();
        let mut consider = |at: u64| next = Some(next.map_or(at, |n| n.min(at)));
        let queue_front = self.queue.front().filter(|_| !self.draining);
        if let (Some(front), Some(limiter)) = (queue_front, self.limiter.as_mut()) {
            // `check` with the current counters answers "ready at"; asking
            // at time 0 would be wrong, so ask at the last send time.
            match limiter.check(self.last_sent_ns, &front.charge) {
                Ok(()) => consider(self.last_sent_ns),
                Err(at) if at != u64::MAX => consider(at),
                Err(_) => {}
            }
        }
        if self.connected {
            if self.draining && !self.recycled {
                consider(self.drain_deadline);
            }
            if self.query_unknown || (self.draining && !self.recycled && self.recycle_ready()) {
                consider(self.last_sent_ns);
            }
            if let Some(age) = self.keepalive.max_connection_age {
                consider(
                    self.connected_at
                        .saturating_add(nanos(age.saturating_sub(self.config.reconnect_margin))),
                );
            }
            if let Some(at) = self.dead_man_next {
                consider(at);
            }
            if let Some(every) = self.keepalive.app_ping_every {
                consider(self.last_sent_ns.saturating_add(nanos(every)));
            }
        }
        next
    }
}
