//! `orderwire demo`: the embedded default. It starts the mock Kraken
//! in-process, connects the engine over wss:// on loopback, subscribes to
//! the book and executions, then places, amends and cancels N orders (every
//! fifth crosses the book and fills instead), and prints a summary.
//! No keys, no network.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orderwire_engine::gateway::{
    DeadManSwitch, Exchange, ExchangeConfig, GatewayConfig, GatewayEvent, RequestCallback,
    RequestOutcome, Submission, WhenLimited,
};
use orderwire_engine::{ConnectionConfig, EngineConfig, TlsConfig};
use orderwire_protocol::model::{
    AmendOrder, CancelOrders, ClientOrderId, Event, Method, NewOrder, OrderKind, OrderRef,
    OrderStatus, Request, Side, Subscription, Symbol, TimeInForce, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::kraken::{Kraken, Tier};

use crate::mock::kraken::{MockConfig, MockKraken};

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
    /// Checksum mismatches (Kraken) or sequence gaps (Binance) among them.
    pub checksum_mismatches: usize,
    /// How long it took.
    pub elapsed: Duration,
    /// Venue-specific lines for the summary (Upbit: messages by type, books
    /// replaced, UP heartbeats, venue-to-decode latency).
    pub notes: Vec<String>,
}

/// Demo settings.
#[derive(Clone, Copy, Debug)]
pub struct DemoOptions {
    /// Orders to run through place, amend and cancel.
    pub orders: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Give up after this long.
    pub deadline: Duration,
    /// Print every request as the framework's default callback does
    /// ([`print_requests`]).
    pub verbose: bool,
}

/// The framework's default per-request callback: for each request that
/// ends, `WebSocket Request - ID: 2 | Method: add_order | Latency: 12958μs`,
/// then the request (secrets redacted) and the response, on stdout.
pub fn print_requests() -> RequestCallback {
    Arc::new(|outcome: &RequestOutcome<'_>| {
        let mut text = String::new();
        if outcome.write_default(&mut text).is_ok() {
            print!("{text}");
        }
    })
}

/// A tier generous enough that the demo's burst is not held back long; the
/// mock enforces the same numbers (it holds the other side of the account).
const DEMO_TIER: (u64, u64) = (500_000, 250_000);

/// Runs the demo.
pub fn run(options: DemoOptions) -> Result<DemoReport, String> {
    let started = Instant::now();
    let mock = MockKraken::start(MockConfig {
        tier: DEMO_TIER,
        ..MockConfig::default()
    })
    .map_err(|e| format!("mock Kraken: {e}"))?;
    let symbol: Symbol = inline("BTC/USD").ok_or("symbol")?;
    let tls = TlsConfig::with_extra_ca_file(&mock.ca_file()).map_err(|e| e.to_string())?;
    let mut connection = ConnectionConfig::new(mock.url());
    connection.tls = Some(tls);
    let venue = Kraken::new(
        Some(Secret::new(mock.token())),
        Tier::Custom {
            threshold_milli: DEMO_TIER.0,
            decay_milli_per_sec: DEMO_TIER.1,
        },
    );
    let exchange = Exchange::start(
        "kraken-demo",
        venue,
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection,
            gateway: GatewayConfig {
                when_limited: WhenLimited::Queue { capacity: 4096 },
                dead_man: Some(DeadManSwitch {
                    timeout: Duration::from_secs(60),
                    refresh_every: Duration::from_secs(20),
                }),
                subscriptions: vec![
                    Subscription::Book {
                        symbols: vec![symbol],
                        depth: 10,
                    },
                    Subscription::Executions {
                        snapshot_orders: true,
                        snapshot_trades: false,
                    },
                ],
                ..GatewayConfig::default()
            },
            on_request: options.verbose.then(print_requests),
            token_fetch: None,
        },
    )
    .map_err(|e| e.to_string())?;
    let progress = progress_bar(&options);
    let mut driver = Driver {
        exchange: &exchange,
        symbol,
        statuses: HashMap::new(),
        best_bid: None,
        best_ask: None,
        fills: 0,
        book_messages: 0,
        checksum_mismatches: 0,
        subscribed: 0,
        replies: HashMap::new(),
        deadline: started + options.deadline,
    };
    driver.wait(
        |d| d.subscribed >= 2 && d.best_ask.is_some(),
        "subscriptions",
    )?;
    for n in 0..options.orders {
        if n % 5 == 4 {
            driver.cross(n)?;
        } else {
            driver.place_amend_cancel(n)?;
        }
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = &progress {
        bar.finish_with_message("done");
    }
    let (by_status, all_terminal) = count_by_status(&driver.statuses);
    let latency = latency_rows(&exchange);
    let report = DemoReport {
        venue: "Kraken",
        by_status,
        fills: driver.fills,
        latency,
        all_terminal,
        book_messages: driver.book_messages,
        checksum_mismatches: driver.checksum_mismatches,
        elapsed: started.elapsed(),
        notes: Vec::new(),
    };
    exchange.shutdown(Duration::from_secs(1));
    Ok(report)
}

/// Submits; `Some(req_id)` if sent now, `None` if queued.
pub(crate) fn submit_to<V: orderwire_protocol::venue::Venue>(
    exchange: &Exchange<V>,
    request: Request<'_>,
) -> Result<Option<u64>, String> {
    match exchange.submit(request) {
        Ok(Submission::Sent { req_id }) => Ok(Some(req_id)),
        Ok(Submission::Queued) => Ok(None),
        Err(error) => Err(format!("{} refused: {error}", request.method().as_str())),
    }
}

/// The demo's n-th order: a GTC limit order named `demo-NNNN`.
pub(crate) fn demo_order(
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
        qty: qty.parse().map_err(|_| "qty")?,
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    })
}

/// The progress bar on stderr, if asked for.
pub(crate) fn progress_bar(options: &DemoOptions) -> Option<indicatif::ProgressBar> {
    options.progress.then(|| {
        let bar = indicatif::ProgressBar::new(options.orders as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} orders {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    })
}

/// Orders by final state (sorted by name), and whether every one ended.
pub(crate) fn count_by_status(
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

/// Venue timestamp to decode over a demo's market data, for the summary
/// line of the venues whose messages carry the venue's time.
pub(crate) struct VenueLag(hdrhistogram::Histogram<u64>);

impl VenueLag {
    /// Up to a minute, three significant figures.
    pub(crate) fn new() -> Result<VenueLag, String> {
        hdrhistogram::Histogram::new_with_bounds(1, 60_000_000_000, 3)
            .map(VenueLag)
            .map_err(|e| e.to_string())
    }

    /// A message stamped `ts_ns` (ns since the epoch) decoded now.
    pub(crate) fn record(&mut self, ts_ns: i64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let lag = u64::try_from(now.saturating_sub(ts_ns)).unwrap_or(0);
        self.0.saturating_record(lag.max(1));
    }

    /// `venue timestamp to decode (us, N messages): p50 .., p99 .., max ..`.
    pub(crate) fn note(&self) -> String {
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
pub(crate) fn messages_by_type(by_type: HashMap<&'static str, usize>) -> String {
    let mut types: Vec<_> = by_type.into_iter().collect();
    types.sort_unstable();
    let listed: Vec<String> = types.iter().map(|(t, n)| format!("{t} {n}")).collect();
    format!("messages by type: {}", listed.join(", "))
}

/// Per method: (count, p50, p99, p99.9, max) in microseconds, from the
/// gateway's histograms.
pub(crate) fn latency_rows<V: orderwire_protocol::venue::Venue>(
    exchange: &Exchange<V>,
) -> Vec<(Method, u64, f64, f64, f64, f64)> {
    let core = exchange.gateway().core().lock();
    let book = core.latency();
    book.methods()
        .map(|method| {
            let h = book.histogram(method);
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

struct Driver<'a> {
    exchange: &'a Exchange<Kraken>,
    symbol: Symbol,
    statuses: HashMap<ClientOrderId, OrderStatus>,
    best_bid: Option<Decimal>,
    best_ask: Option<Decimal>,
    fills: usize,
    book_messages: usize,
    checksum_mismatches: usize,
    subscribed: usize,
    /// Replies seen per (method, req_id).
    replies: HashMap<u64, bool>,
    deadline: Instant,
}

impl Driver<'_> {
    /// Polls until `done` holds.
    fn wait(&mut self, done: impl Fn(&Self) -> bool, what: &str) -> Result<(), String> {
        loop {
            self.poll();
            if done(self) {
                return Ok(());
            }
            if Instant::now() > self.deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            std::thread::yield_now();
        }
    }

    fn poll(&mut self) {
        let mut updates = Vec::new();
        self.exchange.poll(|event, outputs| match event {
            GatewayEvent::Order(order) => {
                updates.push(Update::Status(order.client_order_id, order.status))
            }
            GatewayEvent::Fill(_) => updates.push(Update::Fill),
            GatewayEvent::Market(Event::Book(book)) => {
                let bid = outputs.levels(&book.bids).first().map(|l| l.price);
                let ask = outputs.levels(&book.asks).first().map(|l| l.price);
                updates.push(Update::Book(book.snapshot, bid, ask));
            }
            GatewayEvent::Problem(Event::ChecksumMismatch { .. }) => updates.push(Update::Mismatch),
            GatewayEvent::Reply(Event::Response(r)) if r.method == Method::Subscribe && r.ok => {
                updates.push(Update::Subscribed)
            }
            GatewayEvent::Reply(Event::OrderAck(a)) => updates.push(Update::Reply(a.req_id, true)),
            GatewayEvent::Reply(Event::OrderReject(r)) => {
                updates.push(Update::Reply(r.req_id, false))
            }
            _ => {}
        });
        for update in updates {
            match update {
                Update::Status(id, status) => {
                    self.statuses.insert(id, status);
                }
                Update::Fill => self.fills += 1,
                Update::Book(snapshot, bid, ask) => {
                    self.book_messages += 1;
                    // The gateway's book is in the codec; the demo tracks the
                    // top from the messages (a snapshot, then changed levels).
                    let top = self.exchange.gateway().with_decoding_venue(|codec| {
                        codec.book(&self.symbol).map(|book| {
                            (
                                book.best_bid().map(|l| l.price),
                                book.best_ask().map(|l| l.price),
                            )
                        })
                    });
                    if let Some((best_bid, best_ask)) = top {
                        self.best_bid = best_bid;
                        self.best_ask = best_ask;
                    } else if snapshot {
                        self.best_bid = bid;
                        self.best_ask = ask;
                    }
                }
                Update::Mismatch => self.checksum_mismatches += 1,
                Update::Subscribed => self.subscribed += 1,
                Update::Reply(Some(req_id), ok) => {
                    self.replies.insert(req_id, ok);
                }
                Update::Reply(None, _) => {}
            }
        }
    }

    fn submit(&mut self, request: Request<'_>) -> Result<Option<u64>, String> {
        submit_to(self.exchange, request)
    }

    fn order(&self, n: usize, side: Side, price: Decimal, qty: &str) -> Result<NewOrder, String> {
        demo_order(n, self.symbol, side, price, qty)
    }

    fn status(&self, id: &ClientOrderId) -> Option<OrderStatus> {
        self.statuses.get(id).copied()
    }

    /// A buy 10 ticks under the best bid: rests, is amended a tick up, then
    /// canceled.
    fn place_amend_cancel(&mut self, n: usize) -> Result<(), String> {
        let tick: Decimal = "0.1".parse().map_err(|_| "tick")?;
        let below: Decimal = "1.0".parse().map_err(|_| "offset")?;
        let best_bid = self.best_bid.ok_or("no best bid")?;
        let price = best_bid.checked_sub(below).ok_or("price")?;
        let order = self.order(n, Side::Buy, price, "0.01000000")?;
        let id = order.client_order_id;
        self.statuses.insert(id, OrderStatus::PendingNew);
        self.submit(Request::Place(&order))?;
        self.wait(
            |d| d.status(&id).is_some_and(|s| s != OrderStatus::PendingNew),
            "an ack",
        )?;
        if self.status(&id) != Some(OrderStatus::New) {
            return Ok(());
        }
        let amend = AmendOrder {
            symbol: None,
            order: OrderRef::ClientOrderId(id),
            price: Some(price.checked_add(tick).ok_or("price")?),
            qty: None,
        };
        let amend_id = self.submit(Request::Amend(&amend))?;
        if let Some(req_id) = amend_id {
            self.wait(|d| d.replies.contains_key(&req_id), "the amend's reply")?;
        }
        let cancel = CancelOrders {
            symbol: None,
            orders: vec![OrderRef::ClientOrderId(id)],
        };
        self.submit(Request::Cancel(&cancel))?;
        self.wait(
            |d| d.status(&id).is_some_and(OrderStatus::is_terminal),
            "the cancel",
        )
    }

    /// A buy at the best ask: fills at once.
    fn cross(&mut self, n: usize) -> Result<(), String> {
        let ask = self.best_ask.ok_or("no best ask")?;
        let order = self.order(n, Side::Buy, ask, "0.00500000")?;
        let id = order.client_order_id;
        self.statuses.insert(id, OrderStatus::PendingNew);
        self.submit(Request::Place(&order))?;
        self.wait(
            |d| d.status(&id).is_some_and(OrderStatus::is_terminal),
            "a fill",
        )
    }
}

enum Update {
    Status(ClientOrderId, OrderStatus),
    Fill,
    Book(bool, Option<Decimal>, Option<Decimal>),
    Mismatch,
    Subscribed,
    Reply(Option<u64>, bool),
}

/// The summary the CLI prints.
pub fn summary(report: &DemoReport) -> String {
    let mut out = String::new();
    let orders: usize = report.by_status.iter().map(|(_, n)| n).sum();
    out.push_str(&format!(
        "orderwire demo: {orders} orders against the mock {} (wss on loopback) in {:.2} s\n",
        report.venue,
        report.elapsed.as_secs_f64()
    ));
    out.push_str("orders by final state:\n");
    for (status, count) in &report.by_status {
        out.push_str(&format!("  {:<18} {count}\n", status.as_str()));
    }
    out.push_str(&format!("fills: {}\n", report.fills));
    match report.venue {
        "Kraken" => out.push_str(&format!(
            "book messages: {} ({} checksum mismatches)\n",
            report.book_messages, report.checksum_mismatches
        )),
        "Binance" => out.push_str(&format!(
            "book messages: {} ({} sequence gaps)\n",
            report.book_messages, report.checksum_mismatches
        )),
        // Whole books: nothing to check them against.
        _ => out.push_str(&format!("book messages: {}\n", report.book_messages)),
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
