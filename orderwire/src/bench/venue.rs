//! The workloads that run against a venue's mock, through the same
//! connections its demo opens (crate::demo::DemoVenue): `orders` (place,
//! ack, cancel, ack) and `subscribe` (the mock's order flow arriving as
//! market data). Nothing here names a venue.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::gateway::{GatewayEvent, Submission};
use orderwire_protocol::model::{
    CancelOrders, ClientOrderId, Event, NewOrder, OrderKind, OrderRef, OrderStatus, Request, Side,
    Symbol, TimeInForce, inline,
};
use orderwire_protocol::num::Decimal;

use super::pacer::Pacer;
use super::report::MethodStats;
use super::{BenchOptions, Measure, Progress};
use crate::demo::{DemoOptions, DemoVenue, Tally};
use crate::service::AnyExchange;
use crate::venues::VenueEntry;

/// Where a venue workload's events come from: a venue's demo connections
/// on its mock ([`Ready`]), or the exchanges of a service config
/// ([`Configured`]).
trait Source {
    /// Polls every connection; `seen` gets each event with its connection.
    fn poll(&mut self, seen: &mut dyn FnMut(usize, &GatewayEvent)) -> usize;
    /// Closes every connection.
    fn shutdown(&self);
}

/// The venue's demo connections, started and ready.
struct Ready {
    venue: Box<dyn DemoVenue>,
    exchanges: Vec<Arc<dyn AnyExchange>>,
    tally: Tally,
}

impl Ready {
    fn start(entry: &dyn VenueEntry, options: &BenchOptions) -> Result<Ready, String> {
        let demo = DemoOptions {
            mock: options.mock.clone(),
            engine: options.engine.clone(),
            raised_limits: true,
            mode: options.mode,
            ..DemoOptions::default()
        };
        let venue = entry.demo(&demo)?;
        let mut ready = Ready {
            exchanges: venue.exchanges(),
            venue,
            tally: Tally::new()?,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !ready.venue.ready(&ready.tally) {
            if ready.poll(&mut |_, _| {}) == 0 {
                std::thread::yield_now();
            }
            if std::time::Instant::now() > deadline {
                ready.shutdown();
                return Err(format!("{}: not ready within 30 s", entry.name()));
            }
        }
        ready.venue.on_ready()?;
        Ok(ready)
    }
}

impl Source for Ready {
    fn poll(&mut self, seen: &mut dyn FnMut(usize, &GatewayEvent)) -> usize {
        let mut handled = 0;
        for (index, exchange) in self.exchanges.iter().enumerate() {
            let (venue, tally) = (&mut self.venue, &mut self.tally);
            handled += exchange.poll(&mut |event, outputs| {
                venue.on_event(index, event, outputs);
                tally.handle(event);
                seen(index, event);
            });
        }
        let _ = self.venue.after_poll();
        handled
    }

    fn shutdown(&self) {
        for exchange in &self.exchanges {
            exchange.shutdown(Duration::from_millis(500));
        }
    }
}

/// Where an order of the workload is.
#[derive(Clone, Copy)]
enum Phase {
    /// Placed; latency counts from this time.
    Placing(u64),
    /// Acknowledged and a cancel sent at this time.
    Canceling(u64),
}

/// What an orders run places: a limit buy of `qty` at `price` (under the
/// book, so it rests) on `exchange`.
struct OrderPlan {
    exchange: Arc<dyn AnyExchange>,
    symbol: Symbol,
    price: Decimal,
    qty: Decimal,
    /// Whether a cancel names the pair (Binance needs it).
    symbol_in_requests: bool,
}

/// `--workload orders` on a venue's mock: the demo's connections, a buy
/// the demo's offset under the best bid.
pub(super) fn orders(
    entry: &dyn VenueEntry,
    options: &BenchOptions,
    progress: &mut Progress,
) -> Result<Measure, String> {
    let mut ready = Ready::start(entry, options)?;
    let plan = demo_plan(&ready);
    let result = plan.and_then(|plan| run_orders(&mut ready, &plan, options, progress));
    ready.shutdown();
    result
}

fn demo_plan(ready: &Ready) -> Result<OrderPlan, String> {
    let name = ready.venue.title();
    let shape = ready.venue.orders().ok_or_else(|| {
        format!("{name} takes no orders on its WebSocket connection here (its orders go over REST): try --workload subscribe")
    })?;
    let offset: Decimal = shape.offset.parse().map_err(|_| "offset")?;
    let price = ready
        .venue
        .top()
        .and_then(|(bid, _)| bid.checked_sub(offset))
        .ok_or("no book to price from")?;
    Ok(OrderPlan {
        exchange: ready
            .exchanges
            .get(shape.connection)
            .cloned()
            .ok_or("no order connection")?,
        symbol: ready.venue.symbol(),
        price,
        qty: shape.rest_qty.parse().map_err(|_| "qty")?,
        symbol_in_requests: shape.symbol_in_requests,
    })
}

/// Open or closed loop of place, then at its ack a cancel; `place` and
/// `cancel` measured apart.
fn run_orders(
    source: &mut dyn Source,
    plan: &OrderPlan,
    options: &BenchOptions,
    progress: &mut Progress,
) -> Result<Measure, String> {
    let OrderPlan {
        exchange,
        symbol,
        price,
        qty,
        symbol_in_requests,
    } = plan;
    let (symbol, price, qty) = (*symbol, *price, *qty);
    let clock = orderwire_engine::Clock::new();
    let (mut place, mut cancel) = (MethodStats::new("place"), MethodStats::new("cancel"));
    let mut open: HashMap<ClientOrderId, Phase> = HashMap::with_capacity(4096);
    let start = clock.now_ns();
    let warmup_end = start + super::nanos(options.warmup);
    let end = warmup_end + super::nanos(options.duration);
    let timeout = super::nanos(options.timeout);
    let mut pacer = Pacer::new(options.pacing, start, options.connections.max(1));
    let (mut seq, mut measuring, mut sent) = (0u64, false, 0u64);
    let mut last_sweep = start;
    // Orders given up on (timed out before their ack): canceled if they
    // turn up, and at the end.
    let mut abandoned: std::collections::HashSet<ClientOrderId> = Default::default();
    let cancel_of = |id: ClientOrderId| CancelOrders {
        symbol: symbol_in_requests.then_some(symbol),
        orders: vec![OrderRef::ClientOrderId(id)],
    };
    loop {
        let now = clock.now_ns();
        if !measuring && now >= warmup_end {
            measuring = true;
            place.reset();
            cancel.reset();
            sent = 0;
            progress.measuring();
        }
        // Past the end: no more sends; what is open gets its timeout.
        let sending = now < end;
        if !sending && (open.is_empty() || now >= end + timeout) {
            break;
        }
        // What is due as of `now`, at most a burst per pass, so replies
        // are read even when sends fall behind the rate.
        let mut burst = 0;
        while let Some(from) = (sending && burst < super::MAX_BURST)
            .then(|| pacer.take(now))
            .flatten()
        {
            burst += 1;
            let id: ClientOrderId = inline(&format!("bench-{seq:010}")).ok_or("client id")?;
            seq += 1;
            sent += u64::from(from >= warmup_end);
            let order = NewOrder {
                client_order_id: id,
                symbol,
                side: Side::Buy,
                kind: OrderKind::Limit,
                price: Some(price),
                qty,
                time_in_force: TimeInForce::GoodTillCanceled,
                post_only: false,
            };
            match exchange.submit(Request::Place(&order)) {
                Ok(Submission::Sent { .. } | Submission::Queued) => {
                    open.insert(id, Phase::Placing(from));
                }
                Err(_) => {
                    place.errors += 1;
                    pacer.ended();
                }
            }
        }
        // Each update with the time it was handed out, not the batch's end.
        let mut updates: Vec<(ClientOrderId, OrderStatus, u64)> = Vec::new();
        let handled = source.poll(&mut |_, event| {
            if let GatewayEvent::Order(order) = event {
                updates.push((order.client_order_id, order.status, clock.now_ns()));
            }
        });
        for (id, status, at) in updates {
            let Some(phase) = open.get(&id).copied() else {
                // An order given up on that rests after all: cancel it, so
                // that no order of the run stays on the book.
                if matches!(status, OrderStatus::New | OrderStatus::PartiallyFilled)
                    && abandoned.remove(&id)
                {
                    let _ = exchange.submit(Request::Cancel(&cancel_of(id)));
                }
                continue;
            };
            match (phase, status) {
                (Phase::Placing(from), OrderStatus::New | OrderStatus::PartiallyFilled) => {
                    if from >= warmup_end {
                        place.record(at.saturating_sub(from));
                    }
                    progress.record(at.saturating_sub(from));
                    let sent_at = clock.now_ns();
                    if exchange.submit(Request::Cancel(&cancel_of(id))).is_ok() {
                        open.insert(id, Phase::Canceling(sent_at));
                    } else {
                        cancel.errors += 1;
                        open.remove(&id);
                        pacer.ended();
                    }
                }
                (Phase::Placing(from), OrderStatus::Filled) => {
                    if from >= warmup_end {
                        place.record(at.saturating_sub(from));
                    }
                    open.remove(&id);
                    pacer.ended();
                }
                (Phase::Canceling(from), OrderStatus::Canceled) => {
                    if from >= warmup_end {
                        cancel.record(at.saturating_sub(from));
                    }
                    open.remove(&id);
                    pacer.ended();
                }
                (Phase::Placing(_), s) if s.is_terminal() => {
                    place.errors += 1;
                    open.remove(&id);
                    pacer.ended();
                }
                (Phase::Canceling(_), s) if s.is_terminal() => {
                    cancel.errors += 1;
                    open.remove(&id);
                    pacer.ended();
                }
                _ => {}
            }
        }
        // Once a millisecond: what waited past the timeout is given up.
        let at = clock.now_ns();
        if at.saturating_sub(last_sweep) >= 1_000_000 {
            last_sweep = at;
            open.retain(|id, phase| {
                let (from, stats) = match phase {
                    Phase::Placing(from) => (*from, &mut place),
                    Phase::Canceling(from) => (*from, &mut cancel),
                };
                let alive = at.saturating_sub(from) <= timeout;
                if !alive {
                    stats.timeouts += u64::from(from >= warmup_end);
                    pacer.ended();
                    if matches!(phase, Phase::Placing(_)) {
                        abandoned.insert(*id);
                    }
                }
                alive
            });
        }
        progress.tick(at, sent);
        if handled == 0 {
            std::thread::yield_now();
        }
    }
    // What is still open never came back; an order that may rest is
    // canceled all the same (and the cancels given a moment to go out).
    for (id, phase) in &open {
        match phase {
            Phase::Placing(from) => {
                place.timeouts += u64::from(*from >= warmup_end);
                abandoned.insert(*id);
            }
            Phase::Canceling(from) => cancel.timeouts += u64::from(*from >= warmup_end),
        }
    }
    for id in &abandoned {
        let _ = exchange.submit(Request::Cancel(&cancel_of(*id)));
    }
    if !abandoned.is_empty() {
        let settle = clock.now_ns() + 1_000_000_000;
        while clock.now_ns() < settle {
            if source.poll(&mut |_, _| {}) == 0 {
                std::thread::yield_now();
            }
        }
    }
    Ok(Measure {
        stats: vec![place, cancel],
        sent,
        messages: 0,
        measured: Duration::from_nanos(end.saturating_sub(warmup_end)),
    })
}

/// `--workload subscribe`: the mock's order flow as market data; the
/// message rate, and each message's venue timestamp to its decode here
/// (`venue_to_decode`, as precise as the venue's timestamps: Kraken's are
/// microseconds, most others' milliseconds).
pub(super) fn subscribe(
    entry: &dyn VenueEntry,
    options: &BenchOptions,
    progress: &mut Progress,
) -> Result<Measure, String> {
    let mut ready = Ready::start(entry, options)?;
    let result = run_subscribe(&mut ready, options, progress);
    ready.shutdown();
    result
}

fn run_subscribe(
    source: &mut dyn Source,
    options: &BenchOptions,
    progress: &mut Progress,
) -> Result<Measure, String> {
    let clock = orderwire_engine::Clock::new();
    let mut lag = MethodStats::new("venue_to_decode");
    let start = clock.now_ns();
    let warmup_end = start + super::nanos(options.warmup);
    let end = warmup_end + super::nanos(options.duration);
    let (mut measuring, mut messages) = (false, 0u64);
    loop {
        let now = clock.now_ns();
        if now >= end {
            break;
        }
        if !measuring && now >= warmup_end {
            measuring = true;
            lag.reset();
            messages = 0;
            progress.measuring();
        }
        let handled = source.poll(&mut |_, event| {
            let GatewayEvent::Market(market) = event else {
                return;
            };
            messages += 1;
            let ts = match market {
                Event::Trade(t) => t.ts,
                Event::Ticker(t) => t.ts,
                Event::Book(b) => b.ts,
                _ => None,
            };
            if let Some(ts) = ts {
                let wall = wall_now_ns();
                let delay = u64::try_from(wall.saturating_sub(ts)).unwrap_or(0);
                lag.record(delay);
                progress.record(delay);
            }
        });
        progress.tick(clock.now_ns(), messages);
        if handled == 0 {
            std::thread::yield_now();
        }
    }
    Ok(Measure {
        stats: vec![lag],
        sent: 0,
        messages,
        measured: Duration::from_nanos(end.saturating_sub(warmup_end)),
    })
}

/// The exchanges of a service config (`--config orderwire.toml`: its
/// credentials, its subscriptions), against the venues it names, or their
/// mocks with `--mock`; `--url` replaces the chosen exchange's endpoint.
struct Configured {
    /// Held, never read: the service owns the mocks and drivers the
    /// exchanges below talk through, so it must live as long as the run.
    _service: crate::service::Service,
    exchanges: Vec<Arc<dyn AnyExchange>>,
}

impl Configured {
    fn start(path: &std::path::Path, options: &BenchOptions) -> Result<Configured, String> {
        let mut config = crate::service::ServiceConfig::load(path).map_err(|e| e.to_string())?;
        if let Some(name) = &options.exchange {
            config
                .ws_apis
                .retain(|section| section.name.get_ref() == name);
            if config.ws_apis.is_empty() {
                return Err(format!("{}: no exchange named {name}", path.display()));
            }
        }
        if let Some(url) = &options.url {
            // The URL is one exchange's: the one named, or the first.
            config.ws_apis.truncate(1);
            let section = config
                .ws_apis
                .first_mut()
                .ok_or("the config names no exchange")?;
            section.endpoint = Some(toml::Spanned::new(0..0, url.clone()));
        }
        let service = crate::service::start_with(
            &config,
            crate::service::StartOptions {
                mock: options.config_mock,
                mode: Some(options.mode),
                mock_options: options.mock.clone(),
                ..crate::service::StartOptions::default()
            },
        )
        .map_err(|e| e.to_string())?;
        let exchanges = service.exchanges().map(|e| e.exchange().clone()).collect();
        Ok(Configured {
            _service: service,
            exchanges,
        })
    }
}

impl Source for Configured {
    fn poll(&mut self, seen: &mut dyn FnMut(usize, &GatewayEvent)) -> usize {
        let mut handled = 0;
        for (index, exchange) in self.exchanges.iter().enumerate() {
            handled += exchange.poll(&mut |event, _| seen(index, event));
        }
        handled
    }

    fn shutdown(&self) {
        for exchange in &self.exchanges {
            exchange.shutdown(Duration::from_millis(500));
        }
    }
}

/// `--workload orders` through a service config: `--symbol`, `--price`
/// and `--qty` say what to place (a price that rests: the tool does not
/// look at the book), on the config's first exchange that takes orders
/// (or `--exchange NAME`).
pub(super) fn configured_orders(
    path: &std::path::Path,
    options: &BenchOptions,
    progress: &mut Progress,
) -> Result<Measure, String> {
    let order = options
        .order
        .as_ref()
        .ok_or("--workload orders with --config needs --symbol, --price and --qty")?;
    let mut source = Configured::start(path, options)?;
    let result = (|| {
        let exchange = source
            .exchanges
            .iter()
            .find(|e| e.capabilities().order_entry)
            .cloned()
            .ok_or("no exchange of the config takes orders")?;
        wait_connected(&mut source)?;
        let plan = OrderPlan {
            exchange,
            symbol: inline(&order.symbol).ok_or("--symbol: too long")?,
            price: order.price,
            qty: order.qty,
            symbol_in_requests: true,
        };
        run_orders(&mut source, &plan, options, progress)
    })();
    source.shutdown();
    result
}

/// `--workload subscribe` through a service config: every exchange's
/// subscriptions, as the config lists them.
pub(super) fn configured_subscribe(
    path: &std::path::Path,
    options: &BenchOptions,
    progress: &mut Progress,
) -> Result<Measure, String> {
    let mut source = Configured::start(path, options)?;
    let result =
        wait_connected(&mut source).and_then(|()| run_subscribe(&mut source, options, progress));
    source.shutdown();
    result
}

/// Polls until every exchange of a config has connected (30 s at most).
fn wait_connected(source: &mut Configured) -> Result<(), String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut connected = vec![false; source.exchanges.len()];
    while !connected.iter().all(|c| *c) {
        let handled = source.poll(&mut |index, event| {
            if let GatewayEvent::Connection(
                orderwire_engine::gateway::ConnectionEvent::Connected { .. },
            ) = event
            {
                connected[index] = true;
            }
        });
        if std::time::Instant::now() > deadline {
            return Err("the config's exchanges did not connect within 30 s".to_owned());
        }
        if handled == 0 {
            std::thread::yield_now();
        }
    }
    Ok(())
}

/// The wall clock, ns since the epoch: venue timestamps are wall time.
fn wall_now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
