//! `orderwire demo`: one driver for every venue. A venue's registry entry
//! starts its mock in process and the connections its demo uses
//! ([`DemoVenue`], beside the venue in crate::venues); this driver waits
//! until they are ready, then runs N orders through the venue's script
//! (place, amend, cancel-replace, cancel, cross the book, or an order
//! placed elsewhere: over the mock's REST hook where the venue takes
//! orders over REST), counts what comes back, and prints one summary.
//! No keys, no network. Nothing here names a venue.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orderwire_engine::gateway::{ConnectionEvent, GatewayEvent, Outputs, Submission};
use orderwire_protocol::model::{
    AmendOrder, CancelOrders, CancelReplace, ClientOrderId, Event, Method, NewOrder, OrderKind,
    OrderRef, OrderStatus, ReplaceMode, Request, Side, Symbol, TimeInForce, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::BookKind;

use crate::service::AnyExchange;
use crate::venues::VenueEntry;

/// What the demo did.
#[derive(Debug, Default)]
pub struct DemoReport {
    /// The mock venue's name.
    pub venue: &'static str,
    /// Orders by terminal state (and `unknown`/live if any did not end).
    pub by_status: Vec<(OrderStatus, usize)>,
    /// Fills received.
    pub fills: usize,
    /// Per method: (count, p50, p99, p99.9, max) in microseconds.
    pub latency: Vec<(Method, u64, f64, f64, f64, f64)>,
    /// Whether every order reached a terminal state.
    pub all_terminal: bool,
    /// Book updates received.
    pub book_messages: usize,
    /// Book integrity problems among them: checksum mismatches or
    /// sequence gaps, as the venue's books are checked.
    pub checksum_mismatches: usize,
    /// What [`DemoReport::checksum_mismatches`] counts, from the venue's
    /// `Capabilities::book`; `None` for books that carry nothing to check
    /// (whole books, a clean flag).
    pub book_check: Option<&'static str>,
    /// How long it took.
    pub elapsed: Duration,
    /// Venue-specific lines for the summary (messages by type, books
    /// replaced, heartbeats, venue-to-decode latency).
    pub notes: Vec<String>,
}

/// Demo settings.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Orders to run through the venue's script.
    pub orders: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Give up after this long.
    pub deadline: Duration,
    /// Print every request as the framework's default callback does
    /// ([`print_requests`]).
    pub verbose: bool,
    /// Capture every connection's session (docs/capture.md): the first
    /// connection a venue's demo opens to this path, each further one to
    /// the path with its exchange name before the extension.
    pub record: Option<std::path::PathBuf>,
    /// Write every event the demo's connections deliver, one JSON line
    /// each as `orderwire run` and `orderwire replay` print them.
    pub events: Option<std::path::PathBuf>,
    /// The mock's timing and order flow (its mid stays the venue's).
    pub mock: crate::mock::MockOptions,
    /// The demo connections' engine: wait strategy, pinning, spin.
    pub engine: orderwire_engine::EngineConfig,
    /// The driver of the demo's connections: threaded (an `Exchange` each)
    /// or inline (the demo's thread drives them as it polls).
    pub mode: crate::service::Mode,
    /// The account's order limits raised on the mock and in the codec
    /// alike, as a venue does for a market maker (orderwire bench), so
    /// that a benchmark measures the path and not the default account's
    /// rate limit.
    pub raised_limits: bool,
}

impl Default for DemoOptions {
    fn default() -> DemoOptions {
        DemoOptions {
            orders: 20,
            progress: false,
            deadline: Duration::from_secs(60),
            verbose: false,
            record: None,
            events: None,
            mock: crate::mock::MockOptions::default(),
            engine: orderwire_engine::EngineConfig::default(),
            raised_limits: false,
            mode: crate::service::Mode::Threaded,
        }
    }
}

impl DemoOptions {
    /// The capture of the demo connection `exchange`, if `record` is set:
    /// the `primary` connection (the one that takes orders) to the path
    /// itself, any other to `<stem>.<exchange>.<extension>`.
    pub fn capture_for(
        &self,
        exchange: &str,
        primary: bool,
    ) -> Option<orderwire_engine::capture::CaptureConfig> {
        let path = self.record.as_ref()?;
        let path = if primary {
            path.clone()
        } else {
            orderwire_engine::capture::sibling_path(path, exchange)
        };
        Some(orderwire_engine::capture::CaptureConfig::new(path))
    }
}

/// Starts one of a demo's connections on the driver `options.mode`
/// names (in a registry of its own: a demo registers nothing globally).
pub fn start_exchange<V: orderwire_protocol::venue::Venue>(
    options: &DemoOptions,
    name: &str,
    venue: V,
    config: orderwire_engine::gateway::ExchangeConfig,
) -> Result<crate::service::Driver<V>, String> {
    let registry = orderwire_engine::gateway::Registry::new();
    crate::service::Driver::create(&registry, options.mode, name, venue, config)
        .map_err(|e| e.to_string())
}

/// What the demo does with one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// A buy under the best bid rests, is amended as [`OrderShape::amend`]
    /// says, then canceled.
    RestAmendCancel,
    /// A buy under the best bid rests, is cancel-replaced a tick higher in
    /// one request, and the new one is canceled.
    RestReplaceCancel,
    /// A buy at the best ask fills at once.
    Cross,
    /// The venue places it elsewhere ([`DemoVenue::place_elsewhere`]).
    Elsewhere,
    /// A market-data venue: another account trades
    /// ([`DemoVenue::make_trade`]) and the driver waits for the trade to
    /// reach it.
    MarketTrade,
}

/// How an amend changes a resting order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AmendShape {
    /// Its price a tick up.
    PriceUpTick,
    /// Its quantity lowered to this (Binance keeps priority so).
    QtyDownTo(&'static str),
}

/// The demo's orders on a venue that takes them on the connection.
#[derive(Clone, Copy, Debug)]
pub struct OrderShape {
    /// Which connection takes the orders (index into
    /// [`DemoVenue::exchanges`]).
    pub connection: usize,
    /// A resting order's quantity (text: an exact decimal).
    pub rest_qty: &'static str,
    /// A crossing order's quantity.
    pub cross_qty: &'static str,
    /// How far under the best bid a resting buy goes.
    pub offset: &'static str,
    /// One price tick.
    pub tick: &'static str,
    /// What an amend does.
    pub amend: AmendShape,
    /// Whether amends and cancels name the pair (Binance needs it).
    pub symbol_in_requests: bool,
}

/// An order the venue placed elsewhere: its key in the events that report
/// it, and whether it ends by itself (it crossed) or rests until
/// [`DemoVenue::finish`] cancels it.
#[derive(Clone, Copy, Debug)]
pub struct PlacedElsewhere {
    /// `client_order_id`, or the venue's order id where its updates carry
    /// no client id.
    pub key: ClientOrderId,
    /// It fills by itself.
    pub ends: bool,
}

/// One venue's part of the demo: the connections its entry started and
/// what only that venue knows. The driver does the rest.
pub trait DemoVenue {
    /// The venue's name in the summary.
    fn title(&self) -> &'static str;
    /// The demo's connections, polled in this order.
    fn exchanges(&self) -> Vec<Arc<dyn AnyExchange>>;
    /// The pair the demo trades.
    fn symbol(&self) -> Symbol;
    /// Ready for the first order (logged in, subscribed, a book to price
    /// from).
    fn ready(&self, tally: &Tally) -> bool;
    /// Called once when ready (Upbit sends a PING).
    fn on_ready(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Sees each event before the tally (Binance notes a depth snapshot to
    /// relay). Do not submit from here: the poll is still running.
    fn on_event(&mut self, connection: usize, event: &GatewayEvent, outputs: &Outputs) {
        let _ = (connection, event, outputs);
    }
    /// After each poll of every connection: act on what `on_event` noted.
    fn after_poll(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// The best bid and ask to price from.
    fn top(&self) -> Option<(Decimal, Decimal)> {
        None
    }
    /// What happens to the n-th order.
    fn step(&self, n: usize) -> Step;
    /// The orders' shape, where the connection takes orders.
    fn orders(&self) -> Option<OrderShape> {
        None
    }
    /// Places the n-th order elsewhere (the mock's REST hook).
    fn place_elsewhere(&mut self, n: usize) -> Result<PlacedElsewhere, String> {
        Err(format!("order {n}: this venue places no order elsewhere"))
    }
    /// Makes another account trade (the mock's hook), for a market-data
    /// venue's [`Step::MarketTrade`].
    fn make_trade(&mut self, n: usize) -> Result<(), String> {
        Err(format!("trade {n}: this venue makes no trades"))
    }
    /// After the last order: cancel what rests elsewhere.
    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// How long to keep reading after every order ended (the last trades'
    /// book and ticker messages).
    fn settle(&self) -> Duration {
        Duration::ZERO
    }
    /// Fills, as the venue reports them (default: fill events).
    fn fills(&self, tally: &Tally) -> usize {
        tally.fills
    }
    /// Lines for the summary, after the run (mock statistics).
    fn notes(&mut self, tally: &Tally) -> Vec<String> {
        let _ = tally;
        Vec::new()
    }
}

/// What the driver counts, for every venue alike.
#[derive(Debug)]
pub struct Tally {
    /// Market events by type (`Event::type_name`), and order
    /// updates, fills and balances.
    pub by_type: HashMap<&'static str, usize>,
    /// Orders by key, last status.
    pub statuses: HashMap<ClientOrderId, OrderStatus>,
    /// Fill events.
    pub fills: usize,
    /// Order updates that filled more (venues whose fills come as updates).
    pub filled_updates: usize,
    /// Book messages: snapshots and deltas.
    pub book_snapshots: usize,
    /// Book deltas.
    pub book_deltas: usize,
    /// Checksum mismatches and sequence gaps.
    pub book_problems: usize,
    /// Balance updates.
    pub balances: usize,
    /// Connections made.
    pub connected: usize,
    /// Logins accepted.
    pub logged_in: usize,
    /// Subscriptions acknowledged.
    pub subscribed: usize,
    /// Successful replies of any kind.
    pub acks: usize,
    /// Refusals: replies that say no, venue errors, refused logins.
    pub refusals: Vec<String>,
    /// Replies to requests by id: accepted or not.
    pub replies: HashMap<u64, bool>,
    /// Venue timestamp to decode.
    pub lag: VenueLag,
}

impl Tally {
    pub(crate) fn new() -> Result<Tally, String> {
        Ok(Tally {
            by_type: HashMap::new(),
            statuses: HashMap::new(),
            fills: 0,
            filled_updates: 0,
            book_snapshots: 0,
            book_deltas: 0,
            book_problems: 0,
            balances: 0,
            connected: 0,
            logged_in: 0,
            subscribed: 0,
            acks: 0,
            refusals: Vec::new(),
            replies: HashMap::new(),
            lag: VenueLag::new()?,
        })
    }

    fn count(&mut self, what: &'static str) {
        *self.by_type.entry(what).or_default() += 1;
    }

    pub(crate) fn handle(&mut self, event: &GatewayEvent) {
        match event {
            GatewayEvent::Market(e) => {
                self.count(e.type_name());
                let ts = match e {
                    Event::Trade(t) => t.ts,
                    Event::Ticker(t) => t.ts,
                    Event::Book(b) => {
                        if b.snapshot {
                            self.book_snapshots += 1;
                        } else {
                            self.book_deltas += 1;
                        }
                        b.ts
                    }
                    _ => None,
                };
                if let Some(ts) = ts {
                    self.lag.record(ts);
                }
            }
            GatewayEvent::Order(order) => {
                // An order the gateway did not place (REST) is tracked all
                // the same: its key is the venue's client id, or its
                // order id where the venue gives none.
                if order.external {
                    self.count("order_update");
                    if matches!(
                        order.status,
                        OrderStatus::PartiallyFilled | OrderStatus::Filled
                    ) {
                        self.filled_updates += 1;
                    }
                }
                self.statuses.insert(order.client_order_id, order.status);
            }
            GatewayEvent::Fill(_) => {
                self.count("fill");
                self.fills += 1;
            }
            GatewayEvent::Account(Event::Balance(_)) => {
                self.count("balance");
                self.balances += 1;
            }
            GatewayEvent::Problem(Event::ChecksumMismatch { .. } | Event::SequenceGap { .. }) => {
                self.book_problems += 1;
            }
            GatewayEvent::Problem(Event::VenueError { name, message }) => {
                self.refusals.push(format!("{name}: {message}"));
            }
            GatewayEvent::Reply(Event::Response(r)) => {
                if let Some(id) = r.req_id {
                    self.replies.insert(id, r.ok);
                }
                if r.ok {
                    self.acks += 1;
                    if r.method == Method::Subscribe {
                        self.subscribed += 1;
                    }
                } else {
                    self.refusals
                        .push(r.message.clone().unwrap_or_else(|| "no message".into()));
                }
            }
            GatewayEvent::Reply(Event::OrderAck(a)) => {
                if let Some(id) = a.req_id {
                    self.replies.insert(id, true);
                }
            }
            GatewayEvent::Reply(Event::OrderReject(r)) => {
                if let Some(id) = r.req_id {
                    self.replies.insert(id, false);
                }
            }
            GatewayEvent::Connection(ConnectionEvent::Connected { .. }) => self.connected += 1,
            GatewayEvent::Connection(ConnectionEvent::LoggedIn) => self.logged_in += 1,
            GatewayEvent::Connection(ConnectionEvent::LoginRefused { message, .. }) => {
                self.refusals.push(format!("login refused: {message}"));
            }
            _ => {}
        }
    }

    /// The status of the order keyed `key`.
    pub fn status(&self, key: &ClientOrderId) -> Option<OrderStatus> {
        self.statuses.get(key).copied()
    }
}

/// The framework's default per-request callback (re-exported from the
/// engine, where it lives).
pub use orderwire_engine::gateway::print_requests;

/// Runs the demo of `entry`'s venue.
pub fn run(entry: &dyn VenueEntry, options: DemoOptions) -> Result<DemoReport, String> {
    let started = Instant::now();
    let venue = entry.demo(&options)?;
    let mut driver = DemoDriver {
        exchanges: venue.exchanges(),
        venue,
        tally: Tally::new()?,
        deadline: started + options.deadline,
        events: match &options.events {
            Some(path) => Some(EventLog::create(path)?),
            None => None,
        },
    };
    let result = driver.run(&options);
    for exchange in &driver.exchanges {
        exchange.shutdown(Duration::from_millis(500));
    }
    if let Some(log) = driver.events.take() {
        log.finish()?;
    }
    result?;
    let DemoDriver {
        exchanges,
        mut venue,
        tally,
        ..
    } = driver;
    let (by_status, all_terminal) = count_by_status(&tally.statuses);
    let mut notes = vec![messages_by_type(&tally.by_type)];
    notes.extend(venue.notes(&tally));
    if !tally.lag.0.is_empty() {
        notes.push(tally.lag.note());
    }
    let book_check = exchanges.iter().find_map(|e| match e.capabilities().book {
        BookKind::Checksummed => Some("checksum mismatches"),
        BookKind::SequencedWithSnapshot => Some("sequence gaps"),
        _ => None,
    });
    Ok(DemoReport {
        venue: venue.title(),
        by_status,
        fills: venue.fills(&tally),
        latency: latency_rows(&exchanges),
        all_terminal,
        book_messages: tally.book_snapshots + tally.book_deltas,
        checksum_mismatches: tally.book_problems,
        book_check,
        elapsed: started.elapsed(),
        notes,
    })
}

/// The shared driver: the venue's connections, its part, the tally.
struct DemoDriver {
    venue: Box<dyn DemoVenue>,
    exchanges: Vec<Arc<dyn AnyExchange>>,
    tally: Tally,
    deadline: Instant,
    events: Option<EventLog>,
}

/// The demo's events as JSON lines (`DemoOptions::events`).
struct EventLog {
    path: std::path::PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    line: Vec<u8>,
    scratch: orderwire_protocol::model::Events,
}

impl EventLog {
    fn create(path: &std::path::Path) -> Result<EventLog, String> {
        let file =
            std::fs::File::create(path).map_err(|e| format!("events {}: {e}", path.display()))?;
        Ok(EventLog {
            path: path.to_owned(),
            out: std::io::BufWriter::new(file),
            line: Vec::with_capacity(512),
            scratch: orderwire_protocol::model::Events::default(),
        })
    }

    fn write(&mut self, venue: &str, exchange: &str, event: &GatewayEvent, outputs: &Outputs) {
        use std::io::Write as _;
        self.line.clear();
        crate::event_line::write_gateway_event(
            venue,
            exchange,
            event,
            outputs,
            &mut self.scratch,
            &mut self.line,
        );
        self.line.push(b'\n');
        // A failed write shows at `finish`, which flushes.
        let _ = self.out.write_all(&self.line);
    }

    fn finish(mut self) -> Result<(), String> {
        use std::io::Write as _;
        self.out
            .flush()
            .map_err(|e| format!("events {}: {e}", self.path.display()))
    }
}

impl DemoDriver {
    fn run(&mut self, options: &DemoOptions) -> Result<(), String> {
        self.wait("the connections ready", |d| d.venue.ready(&d.tally))?;
        self.venue.on_ready()?;
        let progress = progress_bar(options);
        for n in 0..options.orders {
            match self.venue.step(n) {
                Step::RestAmendCancel => self.rest_amend_cancel(n)?,
                Step::RestReplaceCancel => self.rest_replace_cancel(n)?,
                Step::Cross => self.cross(n)?,
                Step::MarketTrade => {
                    let before = self.tally.by_type.get("trade").copied().unwrap_or(0);
                    self.venue.make_trade(n)?;
                    self.wait("a trade to arrive", |d| {
                        d.tally.by_type.get("trade").copied().unwrap_or(0) > before
                    })?;
                }
                Step::Elsewhere => {
                    let placed = self.venue.place_elsewhere(n)?;
                    self.tally
                        .statuses
                        .entry(placed.key)
                        .or_insert(OrderStatus::PendingNew);
                    let key = placed.key;
                    if placed.ends {
                        self.wait("an order placed elsewhere to end", |d| {
                            d.tally.status(&key).is_some_and(OrderStatus::is_terminal)
                        })?;
                    } else {
                        self.wait("an order placed elsewhere to rest", |d| {
                            d.tally
                                .status(&key)
                                .is_some_and(|s| s != OrderStatus::PendingNew)
                        })?;
                    }
                }
            }
            if let Some(bar) = &progress {
                bar.inc(1);
            }
        }
        self.venue.finish()?;
        self.wait("every order to end", |d| {
            d.tally.statuses.values().all(|s| s.is_terminal())
        })?;
        let settle = Instant::now() + self.venue.settle();
        while Instant::now() < settle {
            self.poll()?;
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        Ok(())
    }

    fn poll(&mut self) -> Result<usize, String> {
        let mut handled = 0;
        for (index, exchange) in self.exchanges.iter().enumerate() {
            let (venue, tally, log) = (&mut self.venue, &mut self.tally, &mut self.events);
            let (codec, name) = (exchange.venue(), exchange.name());
            handled += exchange.poll(&mut |event, outputs| {
                if let Some(log) = log.as_mut() {
                    log.write(codec, &name, event, outputs);
                }
                venue.on_event(index, event, outputs);
                tally.handle(event);
            });
        }
        self.venue.after_poll()?;
        Ok(handled)
    }

    /// Polls until `done` holds; a refusal before the first order ends the
    /// demo with it.
    fn wait(&mut self, what: &str, done: impl Fn(&Self) -> bool) -> Result<(), String> {
        loop {
            let handled = self.poll()?;
            if done(self) {
                return Ok(());
            }
            if let Some(refusal) = self.tally.refusals.first() {
                if self.tally.statuses.is_empty() {
                    return Err(format!("{} refused: {refusal}", self.venue.title()));
                }
            }
            if Instant::now() > self.deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            if handled == 0 {
                std::thread::yield_now();
            }
        }
    }

    fn shape(&self) -> Result<OrderShape, String> {
        self.venue
            .orders()
            .ok_or_else(|| format!("{} takes no orders on its connection", self.venue.title()))
    }

    fn submit(&mut self, request: Request<'_>) -> Result<Option<u64>, String> {
        let shape = self.shape()?;
        let exchange = self
            .exchanges
            .get(shape.connection)
            .ok_or("no order connection")?;
        match exchange.submit(request) {
            Ok(Submission::Sent { req_id }) => Ok(Some(req_id)),
            Ok(Submission::Queued) => Ok(None),
            Err(error) => Err(format!("{} refused: {error}", request.method().as_str())),
        }
    }

    fn symbol_in_requests(&self) -> Result<Option<Symbol>, String> {
        Ok(self
            .shape()?
            .symbol_in_requests
            .then(|| self.venue.symbol()))
    }

    /// A buy `offset` under the best bid, acknowledged.
    fn resting_bid(&mut self, n: usize) -> Result<NewOrder, String> {
        let shape = self.shape()?;
        let (bid, _) = self.venue.top().ok_or("no book to price from")?;
        let price = bid.checked_sub(dec(shape.offset)?).ok_or("price")?;
        let order = demo_order(n, self.venue.symbol(), Side::Buy, price, shape.rest_qty)?;
        let id = order.client_order_id;
        self.tally.statuses.insert(id, OrderStatus::PendingNew);
        self.submit(Request::Place(&order))?;
        self.wait("an ack", |d| {
            d.tally
                .status(&id)
                .is_some_and(|s| s != OrderStatus::PendingNew)
        })?;
        Ok(order)
    }

    fn cancel(&mut self, id: ClientOrderId) -> Result<(), String> {
        let cancel = CancelOrders {
            symbol: self.symbol_in_requests()?,
            orders: vec![OrderRef::ClientOrderId(id)],
        };
        self.submit(Request::Cancel(&cancel))?;
        self.wait("the cancel", |d| {
            d.tally.status(&id).is_some_and(OrderStatus::is_terminal)
        })
    }

    fn rest_amend_cancel(&mut self, n: usize) -> Result<(), String> {
        let shape = self.shape()?;
        let order = self.resting_bid(n)?;
        let id = order.client_order_id;
        if self.tally.status(&id) != Some(OrderStatus::New) {
            return Ok(());
        }
        let (price, qty) = match shape.amend {
            AmendShape::PriceUpTick => (
                Some(
                    order
                        .price
                        .and_then(|p| p.checked_add(dec(shape.tick).ok()?))
                        .ok_or("price")?,
                ),
                None,
            ),
            AmendShape::QtyDownTo(qty) => (None, Some(dec(qty)?)),
        };
        let amend = AmendOrder {
            symbol: self.symbol_in_requests()?,
            order: OrderRef::ClientOrderId(id),
            price,
            qty,
        };
        if let Some(req_id) = self.submit(Request::Amend(&amend))? {
            self.wait("the amend's reply", |d| {
                d.tally.replies.contains_key(&req_id)
            })?;
        }
        self.cancel(id)
    }

    fn rest_replace_cancel(&mut self, n: usize) -> Result<(), String> {
        let shape = self.shape()?;
        let order = self.resting_bid(n)?;
        let old = order.client_order_id;
        let mut new_order = order.clone();
        new_order.client_order_id = inline(&format!("demo-{n:04}r")).ok_or("client id")?;
        new_order.price = order
            .price
            .and_then(|p| p.checked_add(dec(shape.tick).ok()?));
        let new = new_order.client_order_id;
        self.tally.statuses.insert(new, OrderStatus::PendingNew);
        let replace = CancelReplace {
            cancel: OrderRef::ClientOrderId(old),
            mode: ReplaceMode::StopOnFailure,
            new_order,
        };
        self.submit(Request::CancelReplace(&replace))?;
        self.wait("the cancel-replace", |d| {
            d.tally.status(&old).is_some_and(OrderStatus::is_terminal)
                && d.tally
                    .status(&new)
                    .is_some_and(|s| s != OrderStatus::PendingNew)
        })?;
        if self.tally.status(&new) == Some(OrderStatus::New) {
            self.cancel(new)?;
        }
        Ok(())
    }

    fn cross(&mut self, n: usize) -> Result<(), String> {
        let shape = self.shape()?;
        let (_, ask) = self.venue.top().ok_or("no book to price from")?;
        let order = demo_order(n, self.venue.symbol(), Side::Buy, ask, shape.cross_qty)?;
        let id = order.client_order_id;
        self.tally.statuses.insert(id, OrderStatus::PendingNew);
        self.submit(Request::Place(&order))?;
        self.wait("a fill", |d| {
            d.tally.status(&id).is_some_and(OrderStatus::is_terminal)
        })
    }
}

fn dec(text: &str) -> Result<Decimal, String> {
    text.parse().map_err(|_| format!("not a decimal: {text}"))
}

/// The demo's n-th order: a GTC limit order named `demo-NNNN`.
pub fn demo_order(
    n: usize,
    symbol: Symbol,
    side: Side,
    price: Decimal,
    qty: &str,
) -> Result<NewOrder, String> {
    Ok(NewOrder {
        client_order_id: inline(&format!("demo-{n:04}")).ok_or("client id")?,
        symbol,
        side,
        kind: OrderKind::Limit,
        price: Some(price),
        qty: dec(qty)?,
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    })
}

/// The progress bar on stderr, if asked for.
fn progress_bar(options: &DemoOptions) -> Option<indicatif::ProgressBar> {
    options
        .progress
        .then(|| crate::progress::items(options.orders as u64, "orders"))
}

/// Orders by final state (sorted by name), and whether every one ended.
fn count_by_status(
    statuses: &HashMap<ClientOrderId, OrderStatus>,
) -> (Vec<(OrderStatus, usize)>, bool) {
    let mut counts: HashMap<OrderStatus, usize> = HashMap::new();
    for status in statuses.values() {
        *counts.entry(*status).or_default() += 1;
    }
    let mut by_status: Vec<(OrderStatus, usize)> = counts.into_iter().collect();
    by_status.sort_by_key(|(s, _)| s.as_str());
    (by_status, statuses.values().all(|s| s.is_terminal()))
}

/// Venue timestamp to decode over a demo's market data, for the venues
/// whose messages carry the venue's time.
#[derive(Debug)]
pub struct VenueLag(hdrhistogram::Histogram<u64>);

impl VenueLag {
    /// Up to a minute, three significant figures.
    fn new() -> Result<VenueLag, String> {
        hdrhistogram::Histogram::new_with_bounds(1, 60_000_000_000, 3)
            .map(VenueLag)
            .map_err(|e| e.to_string())
    }

    /// A message stamped `ts_ns` (ns since the epoch) decoded now.
    fn record(&mut self, ts_ns: i64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let lag = u64::try_from(now.saturating_sub(ts_ns)).unwrap_or(0);
        self.0.saturating_record(lag.max(1));
    }

    /// `venue timestamp to decode (us, N messages): p50 .., p99 .., max ..`.
    fn note(&self) -> String {
        let us = |q: f64| self.0.value_at_quantile(q) as f64 / 1_000.0;
        format!(
            "venue timestamp to decode (us, {} messages): p50 {:.0}, p99 {:.0}, max {:.0}",
            self.0.len(),
            us(0.5),
            us(0.99),
            self.0.max() as f64 / 1_000.0
        )
    }
}

/// `messages by type: book_delta 19, trade 38, ..`, sorted by type.
fn messages_by_type(by_type: &HashMap<&'static str, usize>) -> String {
    let mut types: Vec<_> = by_type.iter().collect();
    types.sort_unstable();
    let listed: Vec<String> = types.iter().map(|(t, n)| format!("{t} {n}")).collect();
    format!("messages by type: {}", listed.join(", "))
}

/// Per method: (count, p50, p99, p99.9, max) in microseconds, from the
/// gateways' histograms, merged over the demo's connections (each has its
/// subscribes).
fn latency_rows(exchanges: &[Arc<dyn AnyExchange>]) -> Vec<(Method, u64, f64, f64, f64, f64)> {
    let mut merged: Vec<(Method, hdrhistogram::Histogram<u64>)> = Vec::new();
    for exchange in exchanges {
        let book = exchange.latency();
        for method in book.methods() {
            let h = book.histogram(method);
            match merged.iter_mut().find(|(m, _)| *m == method) {
                // Same bounds on every connection: the add cannot fail;
                // were it to, the row would undercount, not lie.
                Some((_, into)) => {
                    let _ = into.add(h);
                }
                None => merged.push((method, h.clone())),
            }
        }
    }
    merged
        .into_iter()
        .map(|(method, h)| {
            let us = |q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
            (
                method,
                h.len(),
                us(0.5),
                us(0.99),
                us(0.999),
                h.max() as f64 / 1_000.0,
            )
        })
        .collect()
}

/// The summary the CLI prints.
pub fn summary(report: &DemoReport) -> String {
    let mut out = String::new();
    let orders: usize = report.by_status.iter().map(|(_, n)| n).sum();
    out.push_str(&format!(
        "orderwire demo: {orders} orders against the mock {} (on loopback) in {:.2} s\n",
        report.venue,
        report.elapsed.as_secs_f64()
    ));
    out.push_str("orders by final state:\n");
    for (status, count) in &report.by_status {
        out.push_str(&format!("  {:<18} {count}\n", status.as_str()));
    }
    out.push_str(&format!("fills: {}\n", report.fills));
    match report.book_check {
        Some(check) => out.push_str(&format!(
            "book messages: {} ({} {check})\n",
            report.book_messages, report.checksum_mismatches
        )),
        // Whole books or a clean flag: nothing to check them against.
        None => out.push_str(&format!("book messages: {}\n", report.book_messages)),
    }
    if !report.latency.is_empty() {
        out.push_str("request-to-reply latency (us):\n");
        out.push_str(&format!(
            "  {:<18} {:>6} {:>10} {:>10} {:>10} {:>10}\n",
            "method", "count", "p50", "p99", "p99.9", "max"
        ));
    }
    for (method, count, p50, p99, p999, max) in &report.latency {
        out.push_str(&format!(
            "  {:<18} {count:>6} {p50:>10.1} {p99:>10.1} {p999:>10.1} {max:>10.1}\n",
            method.as_str()
        ));
    }
    out.push_str(if report.all_terminal {
        "every order reached a terminal state\n"
    } else {
        "NOT every order reached a terminal state\n"
    });
    for note in &report.notes {
        out.push_str(note);
        out.push('\n');
    }
    out
}
