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
    TimeInForce, inline,
};
use orderwire_protocol::num::Decimal;

use super::pacer::Pacer;
use super::report::MethodStats;
use super::{BenchOptions, Measure, Progress};
use crate::demo::{DemoOptions, DemoVenue, Tally};
use crate::service::AnyExchange;
use crate::venues::VenueEntry;

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

    /// Polls every connection; `seen` gets each event with its connection.
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

/// `--workload orders`: open or closed loop of place (a buy under the
/// best bid, so it rests), then, at its ack, a cancel; `place` and
/// `cancel` measured apart.
pub(super) fn orders(
    entry: &dyn VenueEntry,
    options: &BenchOptions,
    progress: &mut Progress,
) -> Result<Measure, String> {
    let mut ready = Ready::start(entry, options)?;
    let result = run_orders(&mut ready, options, progress);
    ready.shutdown();
    result
}

fn run_orders(
    ready: &mut Ready,
    options: &BenchOptions,
    progress: &mut Progress,
) -> Result<Measure, String> {
    let name = ready.venue.title();
    let shape = ready.venue.orders().ok_or_else(|| {
        format!("{name} takes no orders on its WebSocket connection here (its orders go over REST): try --workload subscribe")
    })?;
    let exchange = ready
        .exchanges
        .get(shape.connection)
        .cloned()
        .ok_or("no order connection")?;
    let offset: Decimal = shape.offset.parse().map_err(|_| "offset")?;
    let qty: Decimal = shape.rest_qty.parse().map_err(|_| "qty")?;
    let symbol = ready.venue.symbol();
    let clock = orderwire_engine::Clock::new();
    let (mut place, mut cancel) = (MethodStats::new("place"), MethodStats::new("cancel"));
    let mut open: HashMap<ClientOrderId, Phase> = HashMap::with_capacity(4096);
    let start = clock.now_ns();
    let warmup_end = start + super::nanos(options.warmup);
    let end = warmup_end + super::nanos(options.duration);
    let timeout = super::nanos(options.timeout);
    let mut pacer = Pacer::new(options.pacing, start, options.connections.max(1));
    let (mut seq, mut measuring, mut sent) = (0u64, false, 0u64);
    let mut price = None;
    let mut last_sweep = start;
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
        if price.is_none() {
            price = ready
                .venue
                .top()
                .and_then(|(bid, _)| bid.checked_sub(offset));
        }
        while let Some(from) = sending.then(|| pacer.take(clock.now_ns())).flatten() {
            let id: ClientOrderId = inline(&format!("bench-{seq:010}")).ok_or("client id")?;
            seq += 1;
            sent += u64::from(measuring);
            let Some(price) = price else {
                place.errors += 1;
                pacer.ended();
                continue;
            };
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
        let mut updates: Vec<(ClientOrderId, OrderStatus)> = Vec::new();
        let handled = ready.poll(&mut |_, event| {
            if let GatewayEvent::Order(order) = event {
                updates.push((order.client_order_id, order.status));
            }
        });
        let at = clock.now_ns();
        for (id, status) in updates {
            let Some(phase) = open.get(&id).copied() else {
                continue;
            };
            match (phase, status) {
                (Phase::Placing(from), OrderStatus::New | OrderStatus::PartiallyFilled) => {
                    if from >= warmup_end {
                        place.record(at.saturating_sub(from));
                    }
                    progress.record(at, at.saturating_sub(from));
                    let request = CancelOrders {
                        symbol: shape.symbol_in_requests.then_some(symbol),
                        orders: vec![OrderRef::ClientOrderId(id)],
                    };
                    let sent_at = clock.now_ns();
                    if exchange.submit(Request::Cancel(&request)).is_ok() {
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
                (Phase::Canceling(from), OrderStatus::Canceled | OrderStatus::Filled) => {
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
        if at.saturating_sub(last_sweep) >= 1_000_000 {
            last_sweep = at;
            open.retain(|_, phase| {
                let (from, stats) = match phase {
                    Phase::Placing(from) => (*from, &mut place),
                    Phase::Canceling(from) => (*from, &mut cancel),
                };
                let alive = at.saturating_sub(from) <= timeout;
                if !alive {
                    stats.timeouts += u64::from(from >= warmup_end);
                    pacer.ended();
                }
                alive
            });
        }
        progress.tick(at, sent);
        if handled == 0 {
            std::thread::yield_now();
        }
    }
    // What is still open never came back.
    for phase in open.values() {
        match phase {
            Phase::Placing(from) => place.timeouts += u64::from(*from >= warmup_end),
            Phase::Canceling(from) => cancel.timeouts += u64::from(*from >= warmup_end),
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
        let handled = ready.poll(&mut |_, event| {
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
                progress.record(clock.now_ns(), delay);
            }
        });
        progress.tick(clock.now_ns(), messages);
        if handled == 0 {
            std::thread::yield_now();
        }
    }
    ready.shutdown();
    Ok(Measure {
        stats: vec![lag],
        sent: 0,
        messages,
        measured: Duration::from_nanos(end.saturating_sub(warmup_end)),
    })
}

/// The wall clock, ns since the epoch: venue timestamps are wall time.
fn wall_now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
