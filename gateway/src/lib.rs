//! The gateway's state machine for one exchange: request ids, rate limits,
//! correlation, deadlines, order states and latency, in the sans-IO shape
//! of `ws::Conn` (../shared/design/CONVENTIONS.md §1).
//!
//! - Inputs: [`GatewayCore::submit`], [`GatewayCore::handle_message`],
//!   [`GatewayCore::handle_timeout`], [`GatewayCore::on_connected`],
//!   [`GatewayCore::on_disconnected`] (and the lifecycle notes
//!   `on_reconnecting`, `on_closed`), [`GatewayCore::feed_book_snapshot`].
//! - Outputs: [`GatewayCore::poll_transmit`] (frames, with their kind),
//!   [`GatewayCore::poll_events`] (events, book levels, ended requests,
//!   swapped out whole), [`GatewayCore::poll_reconnect`] (a reconnect the
//!   core wants), [`GatewayCore::poll_timeout`].
//! - Getters take `&self`.
//!
//! The drain order, as quinn-proto's: after any input, the driver takes
//! every frame (`poll_transmit` until `None`), then the events
//! (`poll_events`), then a wanted reconnect (`poll_reconnect`), and calls
//! `handle_timeout` no later than `poll_timeout`. Nothing is scanned for:
//! a reconnect is an output of its own, and the `Recycle` event beside it
//! only informs the user. `on_connected` queues the open sequence at the
//! front of the transmits; the driver's open hook takes exactly that part
//! ([`GatewayCore::poll_open_transmit`]), so it reaches the new connection
//! ahead of everything the driver holds for it. `handshake_headers` is a
//! query, answered at once: the driver needs the headers before a
//! connection exists. A driver's own submit goes through
//! [`GatewayCore::submit_staged`], whose guard records the request when it
//! drops, after the driver has taken the frames (staged.rs).
//!
//! No I/O and no clock: time is the driver's [`Instant`], the wall clock is
//! that plus an offset the driver sets, and randomness comes from a seeded
//! RNG, so the same inputs give the same bytes. This crate depends on no
//! mio, rustls, crossbeam or parking_lot, and gateway/clippy.toml forbids
//! clock reads, threads, sockets and std locks: the crate boundary is the
//! enforcement, as quinn-proto's is. The one shared point between
//! gateways, a rate budget on one API key, reaches the core through
//! [`ratelimit::SharedLimiter`], which the driver supplies.
#![forbid(unsafe_code)]

pub mod callback;
pub mod capture;
mod config;
mod correlation;
mod decoder;
mod events;
pub mod latency;
pub mod link;
pub mod orders;
pub mod ratelimit;
mod reconcile;
pub mod replay;
mod retry;
mod staged;
mod subscriptions;
mod timers;
mod watchdog;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use orderwire_protocol::model::{
    BookEvent, ClientOrderId, Event, Events, Level, Method, NewOrder, OrderRef, OrderStatus,
    Request, Subscription,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{
    Capabilities, Ctx, EncodeError, Expect, FRAME_CAPACITY, FrameKind, Frames, Keepalive,
    Reconcile, Venue, push_bounded,
};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

pub use self::config::{DeadManSwitch, GatewayConfig, WhenDisconnected, WhenLimited};
pub use self::decoder::Decoder;
pub use self::events::{
    Blame, ConnectionEvent, DisconnectReason, ErrorKind, GatewayError, GatewayEvent, Outputs,
    RecycleCause, Submission, SubmitError,
};
pub use self::staged::{StagedSubmit, Transmits};
pub use self::watchdog::DataChannel;

use self::correlation::{MAX_ORDERS_PER_REQUEST, OrderList, Pending, TEXT_POOL};
use self::decoder::Crossing;
use self::reconcile::Reconciliation;
use self::retry::{Queued, RETRY_RING, RetryEntry};
use self::staged::Staged;
use self::subscriptions::SubscriptionSet;
use self::timers::Deadlines;
pub use self::timers::{TimerKind, TimerTable};
use self::watchdog::Watchdog;
use crate::callback::{Completion, RequestOptions, RequestTag};
use crate::latency::{LatencyBook, RequestSummary};
use crate::orders::{Cause, FillDedup, OrderState, OrderTable};
use crate::ratelimit::{Budget, Charge, Limiter};

/// The connection, as the gateway sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// No connection: frames wait in the engine's backlog for the next.
    Down,
    /// Open since `since`.
    Up {
        /// When it opened.
        since: Instant,
    },
    /// The venue announced a shutdown, or the connection is near its age
    /// limit: nothing new is sent, and the connection is recycled once what
    /// is in flight is answered, or at `deadline`.
    Draining {
        /// When it opened.
        since: Instant,
        /// When to recycle regardless.
        deadline: Instant,
        /// Why.
        cause: RecycleCause,
    },
    /// The recycle was asked for; waiting for the drop.
    Recycling,
}

/// Pending requests on the current connection and on the next one (those
/// handed over while down, which the engine writes after the reconnect).
#[derive(Clone, Copy, Debug, Default)]
struct InFlight {
    current: usize,
    next: usize,
}

/// Spare frame buffers the core keeps; more are dropped.
const SPARE_BUFFERS: usize = 64;

/// How soon a dead-man refresh the driver could not take is tried again.
const DEAD_MAN_RETRY: Duration = Duration::from_millis(50);

/// The gateway state machine for one exchange.
pub struct GatewayCore<V: Venue> {
    venue: V,
    config: GatewayConfig,
    /// What the venue can do, read once.
    capabilities: Capabilities,
    keepalive: Keepalive,
    limiter: Option<Budget>,
    next_req_id: u64,
    /// Requests waiting for the rate limits.
    queue: VecDeque<Queued>,
    pending: HashMap<u64, Pending, foldhash::fast::FixedState>,
    deadlines: Deadlines,
    in_flight: InFlight,
    orders: OrderTable,
    fills: FillDedup,
    latency: LatencyBook,
    decoded: Events,
    out: Outputs,
    link: Link,
    /// Connections opened so far.
    epoch: u64,
    reconciliation: Reconciliation,
    seen_in_snapshot: HashSet<ClientOrderId>,
    last_sent: Instant,
    dead_man_next: Option<Instant>,
    /// When each timer next fires, rearmed where its state changes.
    timers: TimerTable,
    /// Wall clock = driver clock + this (ns); see `set_wall_offset`.
    wall_offset_ns: i64,
    retries: VecDeque<RetryEntry>,
    /// The RNG every venue call's [`Ctx`] draws from.
    rng: ChaCha8Rng,
    /// Frames an encode writes, before they join `transmits`.
    frames: Frames,
    /// Frames a decode answers with.
    replies: Frames,
    /// Frames for the driver, in order.
    transmits: VecDeque<(FrameKind, Vec<u8>)>,
    /// How many frames at the front of `transmits` are the open sequence
    /// of the connection that just opened ([`GatewayCore::poll_open_transmit`]).
    opening: usize,
    /// The venue's handshake headers for the next connect (secrets).
    headers: Vec<(String, Secret)>,
    /// Empty buffers the driver handed in, reused for frames.
    spare_buffers: Vec<Vec<u8>>,
    /// The configured subscriptions and those made at runtime, replayed
    /// after every reconnect.
    subscriptions: SubscriptionSet,
    /// Liveness of the remembered market-data subscriptions.
    watchdog: Watchdog,
    /// The last sent request, while a [`StagedSubmit`] holds the core
    /// (`staged`): recorded when the guard drops.
    staged: Option<Staged>,
    /// Set while a [`StagedSubmit`] runs its send: only then is a send
    /// staged; every other send records at once.
    staging: bool,
    /// A staged cancel's orders (kept, so a copy reuses the capacity).
    staged_cancel: orderwire_protocol::model::CancelOrders,
    /// Buffers for request texts (`report_all_requests`, tagged requests).
    text_pool: Vec<Vec<u8>>,
    /// The highest request id written so far.
    last_wire_id: Option<u64>,
    /// Wire order of pending requests, for venues that answer an id-less
    /// error in order: the open sequence's ranks while it is being made
    /// (it goes out ahead of frames left from the last connection), else
    /// `None`.
    open_rank: Option<u64>,
    /// The rank of the last request queued behind everything else.
    back_rank: u64,
    /// When the last message arrived (a keepalive unanswered while data
    /// still arrives is slow, not dead).
    last_received: Instant,
    /// The open sequence's subscriptions wait for the login's reply
    /// (`Capabilities::subscribe_after_login`).
    subscriptions_held: bool,
    /// A reconnect the core wants, until the driver takes it
    /// ([`GatewayCore::poll_reconnect`]).
    reconnect_wanted: Option<RecycleCause>,
    /// Once a decoder is split off: what the encoding half wrote for it
    /// and the connections opened, in order, until `pass_notes`.
    crossings: Option<VecDeque<Crossing>>,
    /// Where the inputs are recorded, when a capture is on.
    tap: Option<capture::Tap>,
}

impl<V: Venue> std::fmt::Debug for GatewayCore<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayCore")
            .field("venue", &self.venue.name())
            .field("next_req_id", &self.next_req_id)
            .field("pending", &self.pending.len())
            .field("queued", &self.queue.len())
            .field("link", &self.link)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// A new order's row: pending until the venue answers.
fn new_order_state(order: &NewOrder, epoch: u64) -> OrderState {
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
        external: false,
    }
}

/// How long an order has rested; zero if the venue has not accepted it yet.
fn rest_time(now: Instant, accepted_at: Option<Instant>) -> Duration {
    accepted_at.map_or(Duration::ZERO, |at| now.saturating_duration_since(at))
}

impl<V: Venue> GatewayCore<V> {
    /// A core for `venue`; request ids start at 1.
    pub fn new(venue: V, config: GatewayConfig) -> GatewayCore<V> {
        let limiter = match (config.when_limited, &config.rate_budget) {
            (WhenLimited::Off, _) => None,
            (_, Some(shared)) => Some(Budget::Shared(shared.clone())),
            _ => Some(Budget::Own(Limiter::new(
                venue.rate_policy(),
                config.rate_headroom_percent,
            ))),
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
        let transmit_capacity = config.transmit_capacity;
        let subscriptions = SubscriptionSet::new(&config.subscriptions);
        let watchdog = Watchdog::new(&subscriptions, config.subscription_silence);
        GatewayCore {
            orders: OrderTable::new(config.order_capacity),
            fills: FillDedup::new(config.fill_memory),
            pending: HashMap::with_capacity_and_hasher(config.order_capacity, Default::default()),
            deadlines: Deadlines::with_capacity(config.order_capacity),
            in_flight: InFlight::default(),
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
            link: Link::Down,
            epoch: 0,
            reconciliation: Reconciliation::Idle,
            last_sent: Instant::ZERO,
            dead_man_next: None,
            timers: TimerTable::default(),
            wall_offset_ns: 0,
            retries: VecDeque::with_capacity(RETRY_RING),
            capabilities,
            rng: ChaCha8Rng::seed_from_u64(seed),
            frames: Frames::new(),
            replies: Frames::new(),
            subscriptions,
            watchdog,
            transmits: VecDeque::with_capacity(transmit_capacity),
            opening: 0,
            headers: Vec::new(),
            spare_buffers: Vec::with_capacity(SPARE_BUFFERS),
            staged: None,
            staging: false,
            staged_cancel: orderwire_protocol::model::CancelOrders {
                orders: Vec::with_capacity(MAX_ORDERS_PER_REQUEST),
                symbol: None,
            },
            text_pool: Vec::with_capacity(TEXT_POOL),
            last_wire_id: None,
            open_rank: None,
            back_rank: 0,
            last_received: Instant::ZERO,
            subscriptions_held: false,
            reconnect_wanted: None,
            crossings: None,
            tap: None,
        }
    }

    /// Sets how the engine clock (`now`) maps to the wall clock: wall =
    /// `now + offset`. The venue reads the wall clock for signed
    /// timestamps; tests leave it at 0 (virtual time is wall time).
    pub fn set_wall_offset(&mut self, offset_ns: i64) {
        self.wall_offset_ns = offset_ns;
        if let Some(tap) = &mut self.tap {
            tap.wall_offset_ns = offset_ns;
        }
    }

    /// Records every input from here on, and every frame written, into
    /// `recorder` (docs/capture.md): at the core's input boundary, in the
    /// order the core takes them, in batches the recorder redacts with the
    /// venue's secret keys before they leave memory. Install it before the
    /// first connection (and before [`GatewayCore::split_decoder`], whose
    /// decoder must keep each message for it) so that a replay starts
    /// where the core did.
    pub fn set_recorder(&mut self, recorder: Box<dyn capture::Recorder>) {
        if self.crossings.is_some() {
            tracing::warn!(
                "a recorder installed after the split: messages decoded apart are not recorded"
            );
        }
        self.tap = Some(capture::Tap::new(
            recorder,
            self.capabilities.secret_fields,
            self.wall_offset_ns,
        ));
    }

    /// Whether a recorder is installed.
    pub fn is_recording(&self) -> bool {
        self.tap.is_some()
    }

    /// Hands what recording holds to the recorder now. The core does so
    /// itself once a millisecond at most while inputs come (and at 64 KiB);
    /// a driver calls this before it ends a capture, and a replay after
    /// every input.
    pub fn flush_recording(&mut self) {
        if let Some(tap) = &mut self.tap {
            tap.flush();
        }
    }

    /// The header of a capture of this core started at `now`: the venue,
    /// the codec's and the gateway's settings, the seed, the clocks. No
    /// secret is in it.
    pub fn capture_header(&self, now: Instant) -> orderwire_protocol::capture::Header {
        let mut codec_config = String::new();
        for line in self.venue.capture_config().lines() {
            codec_config.push_str("venue.");
            codec_config.push_str(line);
            codec_config.push('\n');
        }
        if self.crossings.is_some() {
            codec_config.push_str("core.split=true\n");
        }
        capture::describe_config(&self.config, &mut codec_config);
        orderwire_protocol::capture::Header {
            venue: self.venue.name().to_owned(),
            codec_config,
            rng_seed: self.config.seed,
            started_wall_ns: self.wall_ns(now),
            started_mono_ns: now.as_nanos(),
        }
    }

    fn wall_ns(&self, now: Instant) -> i64 {
        decoder::wall_clock_ns(now, self.wall_offset_ns)
    }

    /// The venue codec (its books, for example; once split, the encoding
    /// half, and the books are the [`Decoder`]'s).
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

    /// How many connections have opened so far.
    pub fn connections(&self) -> u64 {
        self.epoch
    }

    /// Whether the connection is open (as far as the gateway knows).
    pub fn is_connected(&self) -> bool {
        self.link != Link::Down
    }

    /// Whether the connection is up and ready for requests: open, and its
    /// login (where the venue has one) accepted.
    pub fn is_ready(&self) -> bool {
        matches!(self.link, Link::Up { .. })
            && !self
                .pending
                .values()
                .any(|p| p.login && p.epoch == self.epoch)
            && !self.subscriptions_held
    }

    /// Whether new requests wait for a reconnect (a drain is under way).
    pub fn is_draining(&self) -> bool {
        matches!(self.link, Link::Draining { .. } | Link::Recycling)
    }

    /// What the venue connection can do.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Frames written and not yet taken by [`GatewayCore::poll_transmit`].
    pub fn transmits_pending(&self) -> usize {
        self.transmits.len()
    }

    // ---- outputs ----

    /// The next frame to send: its bytes are swapped into `buf`, whose
    /// (empty) buffer the core keeps for a later frame, so a driver that
    /// hands in pooled buffers copies and allocates nothing.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<FrameKind> {
        let Some((kind, mut bytes)) = self.transmits.pop_front() else {
            // Every frame has left: what recording holds may go now, off
            // the path to the wire.
            if let Some(tap) = &mut self.tap {
                tap.flush_if_due();
            }
            return None;
        };
        self.opening = self.opening.saturating_sub(1);
        std::mem::swap(buf, &mut bytes);
        if self.spare_buffers.len() < SPARE_BUFFERS {
            bytes.clear();
            self.spare_buffers.push(bytes);
        }
        Some(kind)
    }

    /// As [`GatewayCore::poll_transmit`], but only the open sequence that
    /// [`GatewayCore::on_connected`] queued: `None` once it is all taken,
    /// however much else waits. A driver writes these in its open hook,
    /// ahead of what it already holds for the connection, and the rest at
    /// its usual drain, so request ids stay in wire order.
    pub fn poll_open_transmit(&mut self, buf: &mut Vec<u8>) -> Option<FrameKind> {
        if self.opening == 0 {
            return None;
        }
        self.poll_transmit(buf)
    }

    /// Gives back a frame the transport could not take: it goes out first
    /// at the next `poll_transmit`.
    pub fn return_transmit(&mut self, kind: FrameKind, frame: Vec<u8>) {
        self.transmits.push_front((kind, frame));
        if self.opening > 0 {
            // It came from the front, so from the open sequence.
            self.opening += 1;
        }
    }

    /// Swaps the events out into `spare` (which must be empty), so the
    /// caller can read them without holding the core.
    pub fn poll_events(&mut self, spare: &mut Outputs) {
        if let Some(tap) = &mut self.tap {
            tap.flush_if_due();
        }
        // The previous round's request texts come back for reuse.
        for done in spare.completed.drain(..) {
            let mut text = done.request_text;
            if text.capacity() > 0 && self.text_pool.len() < TEXT_POOL {
                text.clear();
                self.text_pool.push(text);
            }
        }
        spare.clear();
        std::mem::swap(&mut self.out, spare);
    }

    /// Moves what `frames` holds into `transmits`, in order: at the back
    /// (`at` None), or from position `at` on (Some(0): answers that go
    /// out before anything else).
    fn queue_frames(
        frames: &mut Frames,
        transmits: &mut VecDeque<(FrameKind, Vec<u8>)>,
        spare: &mut Vec<Vec<u8>>,
        at: Option<usize>,
        tap: (&mut Option<capture::Tap>, Instant),
    ) {
        for index in 0..frames.len() {
            let Some((kind, frame)) = frames.get_mut(index) else {
                continue;
            };
            if let (Some(tap), now) = (&mut *tap.0, tap.1) {
                tap.frame_out(now, kind, frame);
            }
            let mut bytes = spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(FRAME_CAPACITY));
            std::mem::swap(frame, &mut bytes);
            match at {
                Some(at) => transmits.insert(at + index, (kind, bytes)),
                None => transmits.push_back((kind, bytes)),
            }
        }
        frames.clear();
    }

    // ---- inputs ----

    /// Submits a request (see the ordering guarantee in docs/gateway.md).
    pub fn submit(
        &mut self,
        now: Instant,
        request: Request<'_>,
    ) -> Result<Submission, SubmitError> {
        self.submit_with(now, request, RequestOptions::default())
    }

    /// Reserves the next request id: a request submitted with it (in
    /// [`RequestOptions::req_id`]) goes out with it, as long as no higher id
    /// has gone out first (docs/gateway.md, "Reserved request ids").
    pub fn next_request_id(&mut self) -> u64 {
        if let Some(tap) = &mut self.tap {
            tap.reserve_id();
        }
        let req_id = self.next_req_id;
        self.next_req_id += 1;
        req_id
    }

    /// Submits a request with a reserved id or a tag, recorded
    /// before it returns. [`GatewayCore::submit_staged`] records it after
    /// the driver has taken its frames.
    pub fn submit_with(
        &mut self,
        now: Instant,
        request: Request<'_>,
        options: RequestOptions,
    ) -> Result<Submission, SubmitError> {
        self.submit_with_staging(now, request, options)
    }

    /// The submit itself; stages the send only inside `submit_staged`.
    fn submit_with_staging(
        &mut self,
        now: Instant,
        request: Request<'_>,
        options: RequestOptions,
    ) -> Result<Submission, SubmitError> {
        if let Some(tap) = &mut self.tap {
            tap.submit(now, &request, options);
        }
        let submitted = self.submit_checked(now, request, options);
        // The FIFO or the budget may have moved.
        self.rearm(TimerKind::RateQueue);
        submitted
    }

    fn submit_checked(
        &mut self,
        now: Instant,
        request: Request<'_>,
        options: RequestOptions,
    ) -> Result<Submission, SubmitError> {
        let charge = self.validate(now, &request)?;
        if let Some(req_id) = options.req_id {
            self.check_reserved(req_id)?;
        }
        // A subscription made now is remembered (and replayed after a
        // reconnect) from now; one the submit refuses is not.
        let remembered = self.remember_subscriptions(&request);
        let submitted = self.submit_remembered(now, request, charge, options);
        if submitted.is_err()
            && let Some(before) = remembered
        {
            self.subscriptions = before;
            self.watchdog.rebuild(&self.subscriptions);
        }
        submitted
    }

    /// Updates the remembered subscriptions for a subscribe or an
    /// unsubscribe; returns the set as it was, to undo it.
    fn remember_subscriptions(&mut self, request: &Request<'_>) -> Option<SubscriptionSet> {
        let before = match request {
            Request::Subscribe(subscription) => {
                let before = self.subscriptions.clone();
                self.subscriptions.remember(subscription);
                before
            }
            Request::Unsubscribe(subscription) => {
                let before = self.subscriptions.clone();
                self.subscriptions.forget(subscription);
                before
            }
            _ => return None,
        };
        self.watchdog.rebuild(&self.subscriptions);
        self.rearm(TimerKind::Watchdog);
        Some(before)
    }

    fn submit_remembered(
        &mut self,
        now: Instant,
        request: Request<'_>,
        charge: Charge,
        options: RequestOptions,
    ) -> Result<Submission, SubmitError> {
        if self.folds_into_open_sequence(&request) {
            // Remembered already: the next open sequence subscribes the
            // whole remembered set, so sending it too would subscribe twice.
            self.end_unwritten(now, &charge, options, Completion::Sent);
            return Ok(Submission::Queued);
        }
        if self.link == Link::Down && self.config.when_disconnected == WhenDisconnected::Refuse {
            return Err(SubmitError::NotConnected);
        }
        let draining = self.is_draining();
        let Some(limiter) = self.limiter.as_mut() else {
            return self
                .send_now(now, &request, &charge, options)
                .map(|req_id| Submission::Sent { req_id });
        };
        let jumps_queue = self.config.cancel_priority && request.method() == Method::Cancel;
        let must_wait = (!self.queue.is_empty() && !jumps_queue) || draining;
        // Checked and charged in one step (a shared budget's other users
        // cannot take the same unit in between); a request whose encode
        // then fails stays charged, which errs on the safe side.
        let verdict = if must_wait {
            Err(now)
        } else {
            limiter.take(now.as_nanos(), &charge).map_err(Instant)
        };
        match verdict {
            Ok(()) => {
                let req_id = self.send_now(now, &request, &charge, options)?;
                Ok(Submission::Sent { req_id })
            }
            Err(ready_at) => match self.config.when_limited {
                WhenLimited::Queue { capacity } => {
                    if self.queue.len() >= capacity {
                        tracing::warn!(
                            venue = self.venue.name(),
                            capacity,
                            "rate-limit queue full; refused"
                        );
                        return Err(SubmitError::QueueFull);
                    }
                    tracing::debug!(
                        venue = self.venue.name(),
                        method = charge.method.as_str(),
                        queued = self.queue.len() + 1,
                        ready_in_us = ready_at.saturating_duration_since(now).as_micros(),
                        "rate limit: request waits"
                    );
                    self.register_orders(&request);
                    let queued = Queued {
                        request: request.to_owned_request(),
                        charge,
                        options,
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
                _ => Err(SubmitError::RateLimited { ready_at }),
            },
        }
    }

    /// A reserved id can go out only above every id already written, and
    /// only if `next_request_id` handed it out.
    fn check_reserved(&self, req_id: u64) -> Result<(), SubmitError> {
        if req_id >= self.next_req_id {
            return Err(SubmitError::UnreservedRequestId { req_id });
        }
        if self.last_wire_id.is_some_and(|last| req_id <= last) {
            return Err(SubmitError::StaleRequestId { req_id });
        }
        Ok(())
    }

    /// A book subscription needs a venue connection with books
    /// (`Capabilities::book`).
    fn has_books_for(&self, subscription: &Subscription) -> Result<(), SubmitError> {
        match subscription {
            Subscription::Book { .. }
                if self.capabilities.book == orderwire_protocol::venue::BookKind::None =>
            {
                Err(SubmitError::NoBooks)
            }
            _ => Ok(()),
        }
    }

    /// Checks the request against the order table; returns its rate charge.
    fn validate(&self, now: Instant, request: &Request<'_>) -> Result<Charge, SubmitError> {
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
            Request::Subscribe(subscription) => {
                self.has_books_for(subscription)?;
                if let Some(cap) = self.capabilities.max_subscriptions {
                    let held = self.subscriptions.registrations();
                    let asked = self.subscriptions.registrations_added(subscription);
                    if held + asked > usize::try_from(cap).unwrap_or(usize::MAX) {
                        return Err(SubmitError::SubscriptionCap { cap, held, asked });
                    }
                }
            }
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

    fn register_orders(&mut self, request: &Request<'_>) {
        let epoch = self.send_epoch();
        let orders: &[NewOrder] = match request {
            Request::Place(order) => std::slice::from_ref(*order),
            Request::BatchPlace(orders) => orders,
            Request::CancelReplace(replace) => std::slice::from_ref(&replace.new_order),
            _ => return,
        };
        for order in orders {
            if !self.orders.contains(&order.client_order_id) {
                self.orders
                    .insert(order.client_order_id, new_order_state(order, epoch));
            }
        }
    }

    /// The epoch a frame handed over now will be written in: the current
    /// connection's, or the next one's if the connection is down (the engine
    /// holds it in its backlog until the reconnect).
    fn send_epoch(&self) -> u64 {
        if self.link != Link::Down {
            self.epoch
        } else {
            self.epoch + 1
        }
    }

    fn send_now(
        &mut self,
        now: Instant,
        request: &Request<'_>,
        charge: &Charge,
        options: RequestOptions,
    ) -> Result<u64, SubmitError> {
        // One request is staged at a time: several sends in one input (the
        // rate-limit FIFO released) record all but the last at once.
        self.finish_staged();
        if self.transmits.len() >= self.config.transmit_capacity {
            return Err(SubmitError::TransportFull);
        }
        let req_id = match options.req_id {
            Some(reserved) => {
                self.check_reserved(reserved)?;
                reserved
            }
            None => self.next_req_id,
        };
        self.frames.clear();
        let mut ctx = Ctx::new(now, self.wall_ns(now), &mut self.rng);
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
        // The text for the completion: a copy before the frames go (the
        // redaction waits for the polling thread).
        let mut text = Vec::new();
        if options.tag.is_some() || self.config.report_all_requests {
            text = self
                .text_pool
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(FRAME_CAPACITY));
            for (index, (_, frame)) in self.frames.iter().enumerate() {
                if index > 0 {
                    text.push(b'\n');
                }
                text.extend_from_slice(frame);
            }
        }
        Self::queue_frames(
            &mut self.frames,
            &mut self.transmits,
            &mut self.spare_buffers,
            None,
            (&mut self.tap, now),
        );
        if options.req_id.is_none() {
            self.next_req_id += 1;
        }
        self.last_wire_id = Some(req_id);
        self.note_sent(now);
        self.stage(now, req_id, request, charge, expect, options.tag, text);
        Ok(req_id)
    }

    /// Records a sent request: its orders' rows and epochs, its pending
    /// entry and deadline, its latency summary, and the copy kept for a 429
    /// resend. Runs after the frames are handed over (see `staged`).
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site each in send and staged; a struct would be built only to be taken apart"
    )]
    pub(crate) fn record(
        &mut self,
        now: Instant,
        req_id: u64,
        request: &Request<'_>,
        charge: &Charge,
        expect: Expect,
        tag: Option<RequestTag>,
        text: Vec<u8>,
    ) {
        self.register_orders(request);
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
            sent_at_ns: now.as_nanos(),
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
        let subscription = match request {
            Request::Subscribe(subscription) => self.subscriptions.key_of(subscription),
            _ => None,
        };
        let replies_left = match (expect, request) {
            (Expect::Replies(_), Request::BatchPlace(batch)) => {
                u32::try_from(batch.len()).unwrap_or(u32::MAX)
            }
            (Expect::Replies(n), _) => n,
            // Nothing will answer: no pending entry, no deadline; it ended
            // when it was written.
            _ => {
                if let Some(key) = subscription {
                    // Nothing acknowledges it: watched from now.
                    self.watchdog.arm(key, now);
                    self.rearm(TimerKind::Watchdog);
                }
                let written = Pending {
                    summary,
                    deadline: now,
                    replies_left: 0,
                    orders,
                    answered: 0,
                    epoch,
                    subscription: None,
                    login: false,
                    wire_rank: 0,
                    tag,
                    text,
                };
                return self.complete(written, Completion::Sent, None, None);
            }
        };
        self.insert_pending(
            req_id,
            Pending {
                summary,
                deadline: now + self.config.request_timeout,
                replies_left,
                orders,
                answered: 0,
                epoch,
                subscription,
                login: false,
                wire_rank: 0,
                tag,
                text,
            },
        );
        if let Some(retry) = self.retry_copy(request) {
            self.keep_for_retry(RetryEntry {
                req_id,
                charge: *charge,
                retry,
            });
        }
    }

    fn client_id(&self, order: &OrderRef) -> Result<Option<ClientOrderId>, SubmitError> {
        Ok(match order {
            OrderRef::ClientOrderId(id) => Some(*id),
            OrderRef::OrderId(id) => self.orders.client_id_of(id),
        })
    }

    /// Handshake headers for the next (re)connect, made by the venue now
    /// (Upbit's JWT with a fresh nonce). The values are secrets. A query
    /// answered at once: the driver needs them before the connection
    /// exists, so they are no output to drain.
    pub fn handshake_headers(&mut self, now: Instant) -> &[(String, Secret)] {
        if let Some(tap) = &mut self.tap {
            tap.handshake(now);
        }
        self.headers.clear();
        let mut ctx = Ctx::new(now, self.wall_ns(now), &mut self.rng);
        self.venue.handshake_headers(&mut ctx, &mut self.headers);
        &self.headers
    }

    /// The connection opened (`attempt` 0 is the first): queues the open
    /// sequence (login, then every configured subscription, each with a
    /// fresh request id) at the front of the transmits. The driver takes
    /// it with [`GatewayCore::poll_open_transmit`] and writes it before
    /// anything it holds for the connection.
    pub fn on_connected(&mut self, now: Instant, attempt: u32) {
        if let Some(tap) = &mut self.tap {
            tap.connect(now, attempt);
        }
        let mut frames = std::mem::take(&mut self.frames);
        frames.clear();
        self.open_rank = Some(0);
        self.open_connection(now, attempt, &mut frames);
        self.open_rank = None;
        self.restart_held_requests(now);
        // Frames left from the last connection stay behind the new login.
        self.opening = frames.len();
        Self::queue_frames(
            &mut frames,
            &mut self.transmits,
            &mut self.spare_buffers,
            Some(0),
            (&mut self.tap, now),
        );
        self.frames = frames;
        // The link, the last send and the dead-man switch changed.
        self.rearm_all();
    }

    /// Requests written while no connection was up go out now, behind the
    /// open sequence: their latency and their deadline run from here, not
    /// from a submit that waited for the handshake.
    fn restart_held_requests(&mut self, now: Instant) {
        let deadline = now + self.config.request_timeout;
        for (req_id, pending) in self.pending.iter_mut() {
            if pending.epoch == self.epoch
                && !pending.login
                && pending.summary.sent_at_ns < now.as_nanos()
            {
                pending.summary.sent_at_ns = now.as_nanos();
                pending.deadline = deadline;
                self.deadlines.push(deadline, *req_id);
            }
        }
    }

    /// A subscribe or unsubscribe while no connection is up changes only
    /// the remembered set, which the next open sequence sends whole.
    fn folds_into_open_sequence(&self, request: &Request<'_>) -> bool {
        self.link == Link::Down
            && matches!(request, Request::Subscribe(_) | Request::Unsubscribe(_))
    }

    fn open_connection(&mut self, now: Instant, attempt: u32, out: &mut Frames) {
        // Subscribes and unsubscribes still waiting in the rate-limit FIFO
        // are in the remembered set the open sequence sends: sent again
        // after it, they would subscribe twice.
        let mut kept = VecDeque::with_capacity(self.queue.len());
        while let Some(queued) = self.queue.pop_front() {
            if matches!(
                queued.request.as_request(),
                Request::Subscribe(_) | Request::Unsubscribe(_)
            ) {
                self.end_unwritten(now, &queued.charge, queued.options, Completion::Sent);
            } else {
                kept.push_back(queued);
            }
        }
        self.queue = kept;
        self.epoch += 1;
        self.in_flight = InFlight {
            current: self.in_flight.next,
            next: 0,
        };
        self.link = Link::Up { since: now };
        self.out
            .events
            .push(GatewayEvent::Connection(ConnectionEvent::Connected {
                attempt,
            }));
        self.collect_notes();
        if let Some(crossings) = self.crossings.as_mut() {
            push_bounded(
                crossings,
                Crossing::Connected(self.epoch),
                Crossing::is_request_note,
            );
        }
        self.venue.reset();
        if self.epoch > 1 {
            self.seen_in_snapshot.clear();
            self.reconciliation = match self.capabilities.reconcile {
                Reconcile::FromSnapshot => Reconciliation::AwaitingSnapshot,
                Reconcile::QueryEach => Reconciliation::QueryDue,
                _ => Reconciliation::Idle,
            };
        }
        self.subscriptions_held = false;
        let logged_in_with = self.open_login(now, out);
        if logged_in_with.is_some() && self.capabilities.subscribe_after_login {
            // The subscriptions wait for the login's reply (`login_answered`).
            self.subscriptions_held = true;
            self.last_sent = now;
            return;
        }
        self.open_subscriptions(now, out);
    }

    /// Writes the login of a fresh connection, if the venue has one, as a
    /// request: an id, a charge to the rate policy, and a deadline. Returns
    /// its id.
    fn open_login(&mut self, now: Instant, out: &mut Frames) -> Option<u64> {
        let before = out.len();
        let req_id = self.next_req_id;
        let mut ctx = Ctx::new(now, self.wall_ns(now), &mut self.rng);
        match self.venue.login(&mut ctx, req_id, out) {
            Ok(()) if out.len() > before => {}
            Ok(()) => return None,
            Err(error) => {
                out.truncate(before);
                self.out.events.push(GatewayEvent::Dropped {
                    method: Method::Other,
                    error: SubmitError::Encode(error),
                });
                return None;
            }
        }
        self.last_wire_id = Some(req_id);
        self.next_req_id += 1;
        self.charge_unchecked(now, Method::Other);
        self.insert_pending(
            req_id,
            Pending {
                summary: RequestSummary {
                    req_id,
                    method: Method::Other,
                    client_order_id: None,
                    symbol: None,
                    side: None,
                    price: None,
                    qty: None,
                    sent_at_ns: now.as_nanos(),
                },
                deadline: now + self.config.request_timeout,
                replies_left: 1,
                orders: OrderList::new(),
                answered: 0,
                epoch: self.epoch,
                subscription: None,
                login: true,
                wire_rank: 0,
                tag: None,
                text: Vec::new(),
            },
        );
        Some(req_id)
    }

    /// Charges a request of the open sequence to the rate policy: it goes
    /// out whatever the budget says (a connection cannot wait for its own
    /// login), but the venue counts it, so the gateway does too.
    fn charge_unchecked(&mut self, now: Instant, method: Method) {
        if let Some(budget) = self.limiter.as_mut() {
            let charge = Charge {
                method,
                symbol: None,
                rested: None,
                orders: 1,
            };
            budget.with(|limiter| limiter.charge(now.as_nanos(), &charge));
        }
    }

    /// Writes the open sequence's subscriptions (every remembered one),
    /// right behind the login, or when the login is answered on venues that
    /// want it first.
    fn open_subscriptions(&mut self, now: Instant, out: &mut Frames) {
        let wall_ns = self.wall_ns(now);
        // A venue that takes them all in one request (Upbit) writes them
        // at once; nothing acknowledges them, so each is watched from now.
        let before_all = out.len();
        let mut ctx = Ctx::new(now, wall_ns, &mut self.rng);
        match self
            .venue
            .subscribe_all(&mut ctx, self.subscriptions.as_slice(), out)
        {
            Some(Ok(())) => {
                if out.len() > before_all {
                    self.last_wire_id = Some(self.next_req_id);
                    self.next_req_id += 1;
                    self.charge_unchecked(now, Method::Subscribe);
                }
                for (key, _) in self.subscriptions.iter() {
                    self.watchdog.arm(key, now);
                }
                self.last_sent = now;
                if self.config.dead_man.is_some() && self.capabilities.order_entry {
                    self.dead_man_next = Some(now);
                }
                return;
            }
            Some(Err(error)) => {
                out.truncate(before_all);
                self.out.events.push(GatewayEvent::Dropped {
                    method: Method::Subscribe,
                    error: SubmitError::Encode(error),
                });
                return;
            }
            None => {}
        }
        // Configured subscriptions past the venue's cap are not sent (a
        // runtime subscribe past it is refused at submit).
        let cap = self
            .capabilities
            .max_subscriptions
            .map_or(usize::MAX, |cap| usize::try_from(cap).unwrap_or(usize::MAX));
        let mut held = 0;
        for index in 0..self.subscriptions.as_slice().len() {
            let req_id = self.next_req_id;
            let Some(key) = self.subscriptions.key_at(index) else {
                continue;
            };
            let request = Request::Subscribe(&self.subscriptions.as_slice()[index]);
            if let Err(error) = self.has_books_for(&self.subscriptions.as_slice()[index]) {
                self.out.events.push(GatewayEvent::Dropped {
                    method: Method::Subscribe,
                    error,
                });
                continue;
            }
            // Counted as at submit: a pair an earlier entry holds is free.
            let registrations = self.subscriptions.registrations_new_at(index);
            if held + registrations > cap {
                self.out.events.push(GatewayEvent::Dropped {
                    method: Method::Subscribe,
                    error: SubmitError::SubscriptionCap {
                        cap: u32::try_from(cap).unwrap_or(u32::MAX),
                        held,
                        asked: registrations,
                    },
                });
                continue;
            }
            held += registrations;
            let before = out.len();
            let mut ctx = Ctx::new(now, wall_ns, &mut self.rng);
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
            self.last_wire_id = Some(req_id);
            self.next_req_id += 1;
            self.charge_unchecked(now, Method::Subscribe);
            let Expect::Replies(replies_left) = expect else {
                // Nothing will acknowledge it: watch it from now.
                self.watchdog.arm(key, now);
                continue;
            };
            let mut text = Vec::new();
            if self.config.report_all_requests {
                text = self
                    .text_pool
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(FRAME_CAPACITY));
                for (n, (_, frame)) in out.iter().enumerate().skip(before) {
                    if n > before {
                        text.push(b'\n');
                    }
                    text.extend_from_slice(frame);
                }
            }
            self.insert_pending(
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
                        sent_at_ns: now.as_nanos(),
                    },
                    deadline: now + self.config.request_timeout,
                    replies_left,
                    orders: OrderList::new(),
                    answered: 0,
                    epoch: self.epoch,
                    subscription: Some(key),
                    login: false,
                    wire_rank: 0,
                    tag: None,
                    text,
                },
            );
        }
        self.last_sent = now;
        // A switch cancels orders: only where orders are placed.
        if self.config.dead_man.is_some() && self.capabilities.order_entry {
            self.dead_man_next = Some(now);
        }
    }

    /// The connection dropped: every request sent on it is unanswerable, so
    /// its orders become `unknown` until reconciliation settles them.
    pub fn on_disconnected(&mut self, now: Instant, reason: DisconnectReason) {
        if let Some(tap) = &mut self.tap {
            tap.disconnect(now, &reason, None);
        }
        self.disconnected(reason);
    }

    fn disconnected(&mut self, reason: DisconnectReason) {
        // The connection is gone already: a reconnect not yet taken is moot.
        self.reconnect_wanted = None;
        self.out
            .events
            .push(GatewayEvent::Connection(ConnectionEvent::Disconnected {
                reason,
            }));
        if self.link == Link::Down {
            return;
        }
        self.link = Link::Down;
        self.dead_man_next = None;
        self.watchdog.disarm();
        self.mark_lost_orders(self.epoch);
        self.rearm_all();
    }

    /// The drop of connection number `connection` (1 is the first: the
    /// driver counts the opens it has seen). A driver whose reconnects can
    /// run ahead of the drops it reports (the threaded reactor opens the
    /// next connection before a user thread sees the drop) says which
    /// connection dropped: a drop of an earlier connection than the core's
    /// current one only reports, and ends what that connection carried
    /// (its requests lost, its orders unknown); the live link stays up.
    pub fn on_disconnected_from(
        &mut self,
        now: Instant,
        reason: DisconnectReason,
        connection: u64,
    ) {
        if let Some(tap) = &mut self.tap {
            tap.disconnect(now, &reason, Some(connection));
        }
        if connection >= self.epoch {
            return self.disconnected(reason);
        }
        self.out
            .events
            .push(GatewayEvent::Connection(ConnectionEvent::Disconnected {
                reason,
            }));
        self.mark_lost_orders(connection);
        if self.capabilities.reconcile == Reconcile::QueryEach {
            // The reopen's queries may have run before these went unknown.
            self.reconciliation = Reconciliation::QueryDue;
        }
        self.rearm_all();
    }

    /// The engine will try again after `delay` (reported as is).
    pub fn on_reconnecting(&mut self, attempt: u32, delay: Duration) {
        if let Some(tap) = &mut self.tap {
            tap.reconnecting(attempt, delay);
        }
        self.out
            .events
            .push(GatewayEvent::Connection(ConnectionEvent::Reconnecting {
                attempt,
                delay,
            }));
    }

    /// The connection is gone for good (closed by the user, or the engine
    /// stopped): like a drop, then `Closed`.
    pub fn on_closed(&mut self, now: Instant) {
        if let Some(tap) = &mut self.tap {
            tap.closed(now);
        }
        if self.link != Link::Down {
            self.link = Link::Down;
            self.dead_man_next = None;
            self.watchdog.disarm();
            self.mark_lost_orders(self.epoch);
            self.rearm_all();
        }
        self.out
            .events
            .push(GatewayEvent::Connection(ConnectionEvent::Closed));
    }

    /// Handles one inbound message of `kind`. `received_at` is the read's
    /// timestamp. What the venue answers at once (KIS `PINGPONG`) goes to
    /// the transport before anything the message's events cause.
    pub fn handle_message(
        &mut self,
        now: Instant,
        received_at: Instant,
        kind: FrameKind,
        message: &mut [u8],
    ) {
        debug_assert!(
            self.crossings.is_none(),
            "a split core's messages go through its Decoder and handle_decoded"
        );
        if let Some(tap) = &mut self.tap {
            tap.frame_in(now, received_at, kind, message);
        }
        let mut decoded = std::mem::take(&mut self.decoded);
        let mut replies = std::mem::take(&mut self.replies);
        decoded.clear();
        replies.clear();
        let mut ctx = Ctx::new(now, self.wall_ns(now), &mut self.rng);
        let result = self
            .venue
            .decode(&mut ctx, kind, message, &mut decoded, &mut replies);
        self.absorb(now, received_at, &mut decoded, &mut replies, result.err());
        self.decoded = decoded;
        self.replies = replies;
    }

    /// Splits the venue codec so that messages can be decoded with no core
    /// in reach (the [`Decoder`] module says how). Call once, before the
    /// first connection; `None` if the codec cannot split (then drivers use
    /// `handle_message`) or is split already.
    pub fn split_decoder(&mut self) -> Option<Decoder<V>> {
        if self.crossings.is_some() {
            return None;
        }
        let decoding_half = self.venue.split()?;
        self.crossings = Some(VecDeque::with_capacity(FRAME_CAPACITY));
        Some(Decoder::new(
            decoding_half,
            self.config.seed,
            self.wall_offset_ns,
            self.tap.is_some(),
        ))
    }

    /// Moves the encoding half's notes into the crossing queue.
    fn collect_notes(&mut self) {
        let Some(crossings) = self.crossings.as_mut() else {
            return;
        };
        while let Some(note) = self.venue.take_note() {
            push_bounded(crossings, Crossing::Note(note), Crossing::is_request_note);
        }
    }

    /// Gives `decoder` what the encoding half wrote since the last call, in
    /// order, up to connection `reached`: a driver that opens connections
    /// ahead of the messages it has read (the threaded reactor) names the
    /// last connection it has seen open in the message stream, so the
    /// decoder forgets the old connection only after its last message.
    /// `None`: every connection. Call before each decode.
    pub fn pass_notes(&mut self, decoder: &mut Decoder<V>, reached: Option<u64>) {
        if let Some(tap) = &mut self.tap {
            // Where the notes cross is part of the decode's input: a
            // replay passes them at the same point.
            tap.notes_passed(reached);
        }
        self.collect_notes();
        decoder.set_wall_offset(self.wall_offset_ns);
        let Some(crossings) = self.crossings.as_mut() else {
            return;
        };
        while let Some(&crossing) = crossings.front() {
            if let (Crossing::Connected(connection), Some(reached)) = (crossing, reached) {
                if connection > reached {
                    break;
                }
            }
            crossings.pop_front();
            decoder.receive(crossing);
        }
    }

    /// Takes in what `decoder` decoded (after [`Decoder::decode`] or
    /// [`Decoder::feed_book_snapshot`]) as `handle_message` would: the
    /// decoder's notes for the encoding half, then its replies, ahead of
    /// anything else, then its events, then the fault it met.
    pub fn handle_decoded(&mut self, now: Instant, received_at: Instant, decoder: &mut Decoder<V>) {
        if let Some(tap) = &mut self.tap {
            match decoder.kept {
                decoder::Kept::Frame(kind) => {
                    tap.frame_in(now, received_at, kind, &decoder.input);
                }
                decoder::Kept::Snapshot => tap.snapshot_bytes(now, &decoder.input),
                decoder::Kept::Nothing => {}
            }
        }
        while let Some(note) = decoder.venue_mut().take_note() {
            self.venue.apply_note(note);
        }
        let error = decoder.error.take();
        let mut decoded = std::mem::take(&mut decoder.decoded);
        let mut replies = std::mem::take(&mut decoder.replies);
        self.absorb(now, received_at, &mut decoded, &mut replies, error);
        decoder.decoded = decoded;
        decoder.replies = replies;
    }

    /// A decode's outputs: replies first, then events, then the fault.
    fn absorb(
        &mut self,
        now: Instant,
        received_at: Instant,
        decoded: &mut Events,
        replies: &mut Frames,
        error: Option<orderwire_protocol::venue::DecodeError>,
    ) {
        self.last_received = self.last_received.max(received_at);
        // First out, but behind an open sequence the driver has not taken.
        let at = Some(self.opening);
        Self::queue_frames(
            replies,
            &mut self.transmits,
            &mut self.spare_buffers,
            at,
            (&mut self.tap, now),
        );
        let mut list = std::mem::take(&mut decoded.list);
        for event in list.drain(..) {
            self.handle_event(now, received_at, event, decoded);
        }
        decoded.list = list;
        // After what decoded before the fault, as the codec left it.
        if let Some(error) = error {
            self.out
                .events
                .push(GatewayEvent::Error(GatewayError::decode(
                    self.venue.name(),
                    error,
                )));
        }
    }

    /// One event of a decode; `decoded` holds the levels, order updates and
    /// fills it indexes.
    fn handle_event(&mut self, now: Instant, received_at: Instant, event: Event, decoded: &Events) {
        let levels = decoded.levels.as_slice();
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
            Event::OrderUpdate(index) => {
                if let Some(update) = decoded.order_update(index) {
                    self.on_order_update(now, update.clone());
                }
            }
            Event::Fill(index) => {
                if let Some(fill) = decoded.fill(index) {
                    self.on_fill(fill.clone());
                }
            }
            Event::Book(mut book) => {
                self.liveness(DataChannel::Book, book.symbol, received_at);
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
            Event::Trade(ref trade) => {
                self.liveness(DataChannel::Trades, trade.symbol, received_at);
                self.out.events.push(GatewayEvent::Market(event));
            }
            Event::Ticker(ref ticker) => {
                self.liveness(DataChannel::Ticker, ticker.symbol, received_at);
                self.out.events.push(GatewayEvent::Market(event));
            }
            Event::Heartbeat => {}
            Event::ChecksumMismatch { symbol, .. } => {
                self.out.events.push(GatewayEvent::Problem(event));
                self.resubscribe_book(now, symbol);
            }
            Event::SnapshotEnd { .. } => self.reconcile(),
            Event::RateUsage(usage) => {
                let as_of = usage
                    .req_id
                    .and_then(|id| self.pending.get(&id))
                    .map_or(now.as_nanos(), |p| p.summary.sent_at_ns);
                if let Some(budget) = self.limiter.as_mut() {
                    budget.with(|limiter| {
                        limiter.reconcile(
                            now.as_nanos(),
                            usage.counter.as_str(),
                            Duration::from_secs(usage.window_secs),
                            usage.limit,
                            u64::from(usage.count),
                            as_of,
                        )
                    });
                    self.rearm(TimerKind::RateQueue);
                }
            }
            Event::Throttled { req_id, until, .. } => {
                self.on_throttled(now, received_at, req_id, until, &event);
                self.rearm(TimerKind::RateQueue);
            }
            Event::ServerShutdown { .. } => {
                self.out.events.push(GatewayEvent::Problem(event));
                self.start_drain(now, RecycleCause::ServerShutdown);
            }
            Event::Balance(_) => self.out.events.push(GatewayEvent::Account(event)),
            Event::MarketSignal { .. } => self.out.events.push(GatewayEvent::Market(event)),
            Event::SessionRefused {
                code,
                message,
                permanent,
            } => self.session_refused(&code, &message, permanent),
            _ => self.out.events.push(GatewayEvent::Problem(event)),
        }
    }

    /// The venue refused the session (KIS OPSP8996): as a refused login,
    /// the connection closes, and reconnects only if the refusal is not
    /// permanent.
    fn session_refused(&mut self, code: &str, message: &str, permanent: bool) {
        tracing::warn!(
            venue = self.venue.name(),
            code,
            message,
            permanent,
            "the venue refused the session"
        );
        self.out
            .events
            .push(GatewayEvent::Connection(ConnectionEvent::LoginRefused {
                message: format!("{code}: {message}").into(),
                permanent,
            }));
        self.end_connection_for(if permanent {
            RecycleCause::LoginRefusedForGood
        } else {
            RecycleCause::LoginRefused
        });
    }

    /// A data message for a watched subscription: it is alive (again).
    #[inline]
    fn liveness(
        &mut self,
        channel: DataChannel,
        symbol: orderwire_protocol::model::Symbol,
        at: Instant,
    ) {
        if let Some(change) = self.watchdog.fed(channel, symbol, at) {
            self.out.events.push(GatewayEvent::from(change));
        }
    }

    /// Stops sending new requests and recycles the connection once what is
    /// in flight is answered (or its deadline passes).
    fn start_drain(&mut self, now: Instant, cause: RecycleCause) {
        if let Link::Up { since } = self.link {
            self.link = Link::Draining {
                since,
                deadline: now + self.config.request_timeout,
                cause,
            };
            self.rearm_all();
        }
    }

    /// A book snapshot fetched on another connection (see
    /// [`Venue::feed_book_snapshot`]); what the venue makes of it is reported
    /// like any market data.
    pub fn feed_book_snapshot(&mut self, now: Instant, book: &BookEvent, levels: &[Level]) {
        debug_assert!(
            self.crossings.is_none(),
            "a split core's snapshots go through its Decoder and handle_decoded"
        );
        if let Some(tap) = &mut self.tap {
            tap.snapshot(now, book, levels);
        }
        let mut decoded = std::mem::take(&mut self.decoded);
        decoded.clear();
        let mut ctx = Ctx::new(now, self.wall_ns(now), &mut self.rng);
        self.venue
            .feed_book_snapshot(&mut ctx, book, levels, &mut decoded);
        let mut list = std::mem::take(&mut decoded.list);
        for event in list.drain(..) {
            self.handle_event(now, now, event, &decoded);
        }
        decoded.list = list;
        self.decoded = decoded;
    }

    /// A book whose checksum failed is rebuilt from a fresh snapshot:
    /// unsubscribe, then subscribe again.
    fn resubscribe_book(&mut self, now: Instant, symbol: orderwire_protocol::model::Symbol) {
        let depth = self.subscriptions.as_slice().iter().find_map(|s| match s {
            Subscription::Book { symbols, depth } if symbols.contains(&symbol) => Some(*depth),
            _ => None,
        });
        let Some(depth) = depth else { return };
        let subscription = Subscription::Book {
            symbols: vec![symbol],
            depth,
        };
        // A failure is reported as `Dropped`; the next mismatch tries again.
        let _ = self.send_housekeeping(now, Request::Unsubscribe(&subscription));
        let _ = self.send_housekeeping(now, Request::Subscribe(&subscription));
    }

    /// Expires deadlines, releases rate-limited requests that now fit,
    /// recycles a drained connection, refreshes the dead-man switch and
    /// keeps the connection alive. A spurious call is a no-op.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(tap) = &mut self.tap {
            tap.timer(now);
        }
        self.run_timers(now);
        // The FIFO and the budget moved; every other kind is rearmed where
        // its state changed.
        self.rearm(TimerKind::RateQueue);
    }

    fn run_timers(&mut self, now: Instant) {
        self.expire_requests(now);
        match self.link {
            // Frames wait in the engine's backlog for the reconnect.
            Link::Down => return self.release_queued(now),
            // Nothing new goes out on a connection being recycled.
            Link::Recycling => return,
            Link::Draining { cause, .. } => {
                if self.timers.is_due(TimerKind::Drain, now) {
                    self.link = Link::Recycling;
                    self.reconnect_wanted = Some(cause);
                    self.out.events.push(GatewayEvent::Recycle { cause });
                    self.rearm_all();
                }
                return;
            }
            Link::Up { .. } => {}
        };
        if self.timers.is_due(TimerKind::Watchdog, now) {
            let events = &mut self.out.events;
            self.watchdog
                .sweep(now, &mut |change| events.push(GatewayEvent::from(change)));
            self.rearm(TimerKind::Watchdog);
        }
        if self.timers.is_due(TimerKind::Age, now) {
            self.start_drain(now, RecycleCause::MaxAge);
            return;
        }
        self.release_queued(now);
        if self.timers.is_due(TimerKind::Reconcile, now) {
            self.query_unknown_orders(now);
        }
        let dead_man_due = self.timers.is_due(TimerKind::DeadMan, now);
        if let Some(switch) = self.config.dead_man.filter(|_| dead_man_due) {
            let timeout_secs = u32::try_from(switch.timeout.as_secs()).unwrap_or(u32::MAX);
            // The switch is refreshed ahead of anything rate-limited: it
            // costs nothing on the trading counter, and a missed refresh
            // cancels every order.
            match self.send_housekeeping(now, Request::CancelAllAfter { timeout_secs }) {
                Ok(()) => {
                    tracing::debug!(
                        venue = self.venue.name(),
                        timeout_secs,
                        "dead-man switch refreshed"
                    );
                    self.dead_man_next =
                        Some(now + switch.refresh_every.max(Duration::from_secs(1)));
                }
                Err(SubmitError::Encode(_)) => {
                    // The venue has no such switch (or refused to encode
                    // it): reported once, not retried on every timer.
                    tracing::warn!(
                        venue = self.venue.name(),
                        "dead-man switch not supported; off"
                    );
                    self.dead_man_next = None;
                }
                Err(_) => {
                    // Not written now (the driver holds frames back): the
                    // switch stays on and the refresh is tried again soon.
                    self.dead_man_next = Some(now + DEAD_MAN_RETRY);
                }
            }
            self.rearm(TimerKind::DeadMan);
        }
        if self.timers.is_due(TimerKind::Keepalive, now) {
            // A failure is reported as `Dropped`; the timer stays due.
            let _ = self.send_housekeeping(now, Request::Ping);
        }
    }

    /// When a connection open since `since` should be recycled for its age.
    fn age_limit_at(&self, since: Instant) -> Option<Instant> {
        self.keepalive
            .max_connection_age
            .map(|age| since + age.saturating_sub(self.config.reconnect_margin))
    }

    /// Sends a request the gateway makes itself (keepalive, dead-man switch,
    /// resubscribe) outside the rate-limit FIFO; a failure is reported.
    fn send_housekeeping(&mut self, now: Instant, request: Request<'_>) -> Result<(), SubmitError> {
        let charge = Charge {
            method: request.method(),
            symbol: None,
            rested: None,
            orders: 1,
        };
        // Outside the FIFO, but counted: the venue counts it too.
        self.charge_unchecked(now, charge.method);
        // The charge moved the FIFO's time, sent or not.
        self.rearm(TimerKind::RateQueue);
        match self.send_now(now, &request, &charge, RequestOptions::default()) {
            Ok(_) => Ok(()),
            Err(error) => {
                self.out.events.push(GatewayEvent::Dropped {
                    method: request.method(),
                    error: error.clone(),
                });
                Err(error)
            }
        }
    }

    fn expire_requests(&mut self, now: Instant) {
        loop {
            let (pending, epoch) = (&self.pending, self.epoch);
            // A request written while the link was down (for the next
            // connection) has no deadline yet: it gets one when the
            // connection opens and its frame goes out.
            let Some(req_id) = self.deadlines.pop_expired(now, |id, at| {
                pending
                    .get(&id)
                    .is_some_and(|p| p.deadline == at && p.epoch <= epoch)
            }) else {
                break;
            };
            let Some(expired) = self.remove_pending(req_id) else {
                continue;
            };
            let method = expired.summary.method;
            if expired.login {
                let current = expired.epoch == self.epoch;
                self.complete(expired, Completion::TimedOut, None, None);
                if current {
                    tracing::warn!(venue = self.venue.name(), req_id, "login unanswered");
                    self.subscriptions_held = false;
                    self.out
                        .events
                        .push(GatewayEvent::Connection(ConnectionEvent::LoginTimedOut));
                    self.end_connection_for(RecycleCause::LoginTimedOut);
                }
                continue;
            }
            if method == Method::Ping
                && expired.epoch == self.epoch
                && self.link != Link::Down
                && self.last_received.as_nanos() <= expired.summary.sent_at_ns
            {
                // An unanswered keepalive, and nothing else heard since it
                // went out: the link is dead even if the socket has not
                // noticed. Reconnect (then login and subscriptions again).
                self.complete(expired, Completion::TimedOut, None, None);
                tracing::warn!(
                    venue = self.venue.name(),
                    req_id,
                    "keepalive unanswered; reconnecting"
                );
                let cause = RecycleCause::KeepaliveUnanswered;
                self.out.events.push(GatewayEvent::Recycle { cause });
                self.end_connection_for(cause);
                continue;
            }
            tracing::warn!(
                venue = self.venue.name(),
                req_id,
                method = method.as_str(),
                "request timed out; its orders are unknown until reconciled"
            );
            self.out
                .events
                .push(GatewayEvent::TimedOut { req_id, method });
            let orders = expired.orders.clone();
            self.complete(expired, Completion::TimedOut, None, None);
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
                    if self.capabilities.reconcile == Reconcile::QueryEach {
                        self.reconciliation = Reconciliation::QueryDue;
                        self.rearm(TimerKind::Reconcile);
                    }
                }
            }
        }
    }

    /// Ends the connection at once for `cause` (a refused or silent login):
    /// nothing more goes out on it, and the driver closes it, then
    /// reconnects unless the cause says not to.
    fn end_connection_for(&mut self, cause: RecycleCause) {
        self.link = Link::Recycling;
        self.reconnect_wanted = Some(cause);
        self.rearm_all();
    }

    /// A reconnect the core wants now (the drain after a shutdown notice or
    /// near the age limit is over): an output of its own, which the driver
    /// carries out by closing politely and reconnecting, taken once. The
    /// `Recycle` event beside it only tells the user.
    pub fn poll_reconnect(&mut self) -> Option<RecycleCause> {
        self.reconnect_wanted.take()
    }

    /// The driver could not carry out the reconnect it took from
    /// [`GatewayCore::poll_reconnect`] (its queue is full, or the engine
    /// stopped): reported to the user as `RecycleFailed`.
    pub fn note_reconnect_failed(&mut self) {
        self.out
            .events
            .push(GatewayEvent::Connection(ConnectionEvent::RecycleFailed));
    }

    /// When `handle_timeout` should next run: the earliest entry of the
    /// timer table.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        if matches!(self.limiter, Some(Budget::Shared(_))) {
            // Other gateways move a shared budget, earlier or later, with
            // no input here: ask it again.
            self.rearm(TimerKind::RateQueue);
        }
        #[cfg(debug_assertions)]
        self.check_timers();
        self.timers.next().map(|(at, _)| at)
    }

    /// The timer table: when each timer next fires.
    pub fn timers(&self) -> &TimerTable {
        &self.timers
    }

    /// When `kind` should next fire, from the state it depends on.
    fn timer_due(&mut self, kind: TimerKind) -> Option<Instant> {
        let up = matches!(self.link, Link::Up { .. });
        match kind {
            TimerKind::Request => {
                let pending = &self.pending;
                self.deadlines
                    .next(|id, at| pending.get(&id).is_some_and(|p| p.deadline == at))
            }
            TimerKind::RateQueue => {
                if self.is_draining() {
                    return None;
                }
                let front = self.queue.front()?;
                let budget = self.limiter.as_mut()?;
                // `check` with the current counters answers "ready at";
                // asking at time 0 would be wrong, so ask at the last send.
                let last_sent = self.last_sent.as_nanos();
                match budget.with(|limiter| limiter.check(last_sent, &front.charge)) {
                    Ok(()) => Some(self.last_sent),
                    Err(at) if at != u64::MAX => Some(Instant(at)),
                    Err(_) => None,
                }
            }
            TimerKind::Drain => match self.link {
                Link::Draining { deadline, .. } if self.in_flight.current > 0 => Some(deadline),
                Link::Draining { .. } => Some(self.last_sent),
                _ => None,
            },
            TimerKind::Watchdog => self.watchdog.next_sweep().filter(|_| up),
            TimerKind::Reconcile => {
                (up && self.reconciliation == Reconciliation::QueryDue).then_some(self.last_sent)
            }
            TimerKind::Age => match self.link {
                Link::Up { since } => self.age_limit_at(since),
                _ => None,
            },
            TimerKind::DeadMan => self.dead_man_next.filter(|_| up),
            TimerKind::Keepalive => {
                let every = self.keepalive.app_ping_every.filter(|_| up)?;
                Some(self.last_sent + every)
            }
        }
    }

    /// Recomputes `kind`'s entry.
    fn rearm(&mut self, kind: TimerKind) {
        let at = self.timer_due(kind);
        self.timers.set(kind, at);
    }

    /// Recomputes every entry (the link changed).
    fn rearm_all(&mut self) {
        for kind in TimerKind::ALL {
            self.rearm(kind);
        }
    }

    /// A frame went out at `now`: the timers that count from the last send.
    fn note_sent(&mut self, now: Instant) {
        self.last_sent = now;
        self.rearm(TimerKind::Keepalive);
        self.rearm(TimerKind::Drain);
        self.rearm(TimerKind::Reconcile);
        self.rearm(TimerKind::RateQueue);
    }

    /// Debug builds (every test) check that each entry was rearmed where its
    /// state changed. Not the rate FIFO's under a shared budget: another
    /// gateway's thread may move it between the rearm and the check.
    #[cfg(debug_assertions)]
    fn check_timers(&mut self) {
        let shared = matches!(self.limiter, Some(Budget::Shared(_)));
        for kind in TimerKind::ALL {
            if shared && kind == TimerKind::RateQueue {
                continue;
            }
            let table = self.timers.get(kind);
            let state = self.timer_due(kind);
            debug_assert_eq!(table, state, "the {} timer was not rearmed", kind.as_str());
        }
    }
}
