//! `orderwire demo --venue digifinex`: the mock DigiFinex over wss on
//! loopback, one connection that authenticates (`server.auth` with a key
//! the demo gives the mock), subscribes trades, depth and tickers on two
//! markets and the private order and balance feeds, and keeps itself alive
//! with `server.ping`. Data arrive as zlib in binary frames. Other accounts
//! trade against the book, and the demo's own orders go in over the mock's
//! REST hook (DigiFinex takes orders over REST): most cross the book and
//! fill, every fourth rests and is canceled.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use orderwire_engine::gateway::{Exchange, ExchangeConfig, GatewayConfig, GatewayEvent};
use orderwire_engine::{ConnectionConfig, EngineConfig, TlsConfig};
use orderwire_protocol::model::{ClientOrderId, Event, OrderStatus, Side, Subscription, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::digifinex::{Credentials, DigiFinex};

use crate::demo::{
    DemoOptions, DemoReport, VenueLag, count_by_status, messages_by_type, progress_bar,
};
use crate::mock::digifinex::{MockConfig, MockDigiFinex};

const MARKETS: [&str; 2] = ["BTC_USDT", "ETH_USDT"];

/// Runs the DigiFinex demo.
pub fn run(options: DemoOptions) -> Result<DemoReport, String> {
    let started = Instant::now();
    let mock =
        MockDigiFinex::start(MockConfig::default()).map_err(|e| format!("mock DigiFinex: {e}"))?;
    let symbols: Vec<_> = MARKETS.iter().filter_map(|m| inline(m)).collect();
    let assets: Vec<_> = ["USDT", "BTC", "ETH"]
        .iter()
        .filter_map(|a| inline(a))
        .collect();
    let (api_key, secret) = mock.keys();
    let mut connection = ConnectionConfig::new(mock.url());
    connection.tls =
        Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).map_err(|e| e.to_string())?);
    let exchange = Exchange::start(
        "digifinex-demo",
        DigiFinex::private(Credentials {
            api_key: Secret::new(api_key),
            secret: Secret::new(secret),
        }),
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection,
            gateway: GatewayConfig {
                subscriptions: vec![
                    Subscription::Trades {
                        symbols: symbols.clone(),
                    },
                    Subscription::Book {
                        symbols: symbols.clone(),
                        depth: 30,
                    },
                    Subscription::Ticker {
                        symbols: symbols.clone(),
                    },
                    Subscription::Orders { symbols },
                    Subscription::Balances { assets },
                ],
                ..GatewayConfig::default()
            },
            on_request: options.verbose.then(crate::demo::print_requests),
            token_fetch: None,
        },
    )
    .map_err(|e| e.to_string())?;
    let progress = progress_bar(&options);
    let mut tally = Tally {
        by_type: HashMap::new(),
        statuses: HashMap::new(),
        fills: 0,
        snapshots: 0,
        increments: 0,
        balances: 0,
        acks: 0,
        refusals: Vec::new(),
        latency: VenueLag::new()?,
    };
    let deadline = started + options.deadline;
    let poll = |tally: &mut Tally| {
        exchange.poll(|e, _| tally.handle(e));
        std::thread::sleep(Duration::from_millis(1));
    };
    // server.auth and the five subscriptions acknowledged.
    while tally.acks < 6 && tally.refusals.is_empty() && Instant::now() < deadline {
        poll(&mut tally);
    }
    if let Some(refusal) = tally.refusals.first() {
        return Err(format!("DigiFinex refused: {refusal}"));
    }
    if tally.acks < 6 {
        return Err(format!(
            "server.auth and the subscriptions not acknowledged in {:?} ({} of 6)",
            options.deadline, tally.acks
        ));
    }
    let dec = |text: &str| text.parse::<Decimal>().unwrap_or(Decimal::ZERO);
    let mut resting = Vec::new();
    for n in 0..options.orders {
        let market = MARKETS[n % 2];
        mock.house_trade(
            market,
            if n % 3 == 0 { Side::Sell } else { Side::Buy },
            dec("0.01"),
        );
        // Buys well above the best ask fill at once; every fourth order is
        // a sell far above the book, which rests until it is canceled.
        let (side, price, qty) = match (market, n % 4 == 3) {
            ("BTC_USDT", false) => (Side::Buy, dec("9750"), dec("0.1")),
            ("BTC_USDT", true) => (Side::Sell, dec("9900"), dec("0.1")),
            (_, false) => (Side::Buy, dec("410"), dec("1")),
            (_, true) => (Side::Sell, dec("420"), dec("1")),
        };
        let id = mock
            .place(market, side, price, qty)
            .map_err(|e| format!("mock REST order: {e}"))?;
        if let Some(key) = inline(&id) {
            tally.statuses.entry(key).or_insert(OrderStatus::PendingNew);
        }
        if side == Side::Sell {
            resting.push(id);
        }
        for _ in 0..5 {
            poll(&mut tally);
        }
        if let Some(bar) = &progress {
            bar.set_position(tally.statuses.values().filter(|s| s.is_terminal()).count() as u64);
        }
    }
    for id in &resting {
        mock.cancel(id)
            .map_err(|e| format!("mock REST cancel: {e}"))?;
    }
    while tally.statuses.values().any(|s| !s.is_terminal()) && Instant::now() < deadline {
        poll(&mut tally);
    }
    // The last trades' depth and ticker pushes.
    let settle = Instant::now() + Duration::from_millis(100);
    while Instant::now() < settle {
        poll(&mut tally);
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let stats = mock.stats();
    let latency_rows = crate::demo::latency_rows(&exchange);
    exchange.shutdown(Duration::from_millis(500));
    let Tally {
        by_type,
        statuses,
        fills,
        snapshots,
        increments,
        balances,
        latency,
        ..
    } = tally;
    let (by_status, all_terminal) = count_by_status(&statuses);
    let notes = vec![
        messages_by_type(by_type),
        format!(
            "server.auth accepted on {} of {} connections",
            stats.auths, stats.connections
        ),
        format!("books: {snapshots} clean snapshots, {increments} incremental updates"),
        format!("balances: {balances}"),
        format!(
            "server.ping answered (one per 30 s without traffic): {}",
            stats.pings
        ),
        latency.note(),
    ];
    Ok(DemoReport {
        venue: "DigiFinex",
        by_status,
        fills,
        latency: latency_rows,
        all_terminal,
        book_messages: snapshots + increments,
        checksum_mismatches: 0,
        elapsed: started.elapsed(),
        notes,
    })
}

/// What the demo counts.
struct Tally {
    by_type: HashMap<&'static str, usize>,
    statuses: HashMap<ClientOrderId, OrderStatus>,
    /// Order updates that filled more.
    fills: usize,
    snapshots: usize,
    increments: usize,
    balances: usize,
    /// Successful replies (server.auth, subscriptions, pongs).
    acks: usize,
    refusals: Vec<String>,
    /// Venue timestamp to decode, ns.
    latency: VenueLag,
}

impl Tally {
    fn handle(&mut self, event: &GatewayEvent) {
        match event {
            GatewayEvent::Market(e) => {
                *self
                    .by_type
                    .entry(crate::metrics::event_type(e))
                    .or_default() += 1;
                let ts = match e {
                    Event::Trade(t) => t.ts,
                    Event::Ticker(t) => t.ts,
                    Event::Book(b) => {
                        if b.snapshot {
                            self.snapshots += 1;
                        } else {
                            self.increments += 1;
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(ts) = ts {
                    self.latency.record(ts);
                }
            }
            // Orders placed over REST are not the gateway's: their updates
            // come through as they are, keyed by the venue's order id.
            GatewayEvent::Reply(Event::OrderUpdate(update)) => {
                *self.by_type.entry("order_update").or_default() += 1;
                if let Some(key) = inline(update.order_id.as_str()) {
                    if matches!(
                        update.status,
                        OrderStatus::PartiallyFilled | OrderStatus::Filled
                    ) {
                        self.fills += 1;
                    }
                    self.statuses.insert(key, update.status);
                }
            }
            GatewayEvent::Account(Event::Balance(_)) => {
                *self.by_type.entry("balance").or_default() += 1;
                self.balances += 1;
            }
            GatewayEvent::Reply(Event::Response(r)) => {
                if r.ok {
                    self.acks += 1;
                } else {
                    self.refusals
                        .push(r.message.clone().unwrap_or_else(|| "no message".into()));
                }
            }
            GatewayEvent::Problem(Event::VenueError { name, message }) => {
                self.refusals.push(format!("{name}: {message}"));
            }
            _ => {}
        }
    }
}
