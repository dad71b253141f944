//! `orderwire demo --venue upbit`: the mock Upbit over wss on loopback, a
//! public connection with ticker, trade and a 15-level orderbook on two
//! markets, and the private feed (myOrder, myAsset) behind a JWT made from
//! a key the demo gives the mock. Other accounts trade against the house
//! book, and the demo's own orders go in over the mock's REST hook (Upbit
//! takes orders over REST), each one crossing the book, so myOrder reports
//! it and its fills.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use orderwire_engine::gateway::{
    ConnectionEvent, Exchange, ExchangeConfig, GatewayConfig, GatewayEvent,
};
use orderwire_engine::{ConnectionConfig, EngineConfig, TlsConfig};
use orderwire_protocol::model::{
    ClientOrderId, Event, OrderStatus, Request, Side, Subscription, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::upbit::{Credentials, Upbit};

use crate::demo::{
    DemoOptions, DemoReport, VenueLag, count_by_status, messages_by_type, progress_bar,
};
use crate::mock::upbit::{MockConfig, MockUpbit};

const MARKETS: [&str; 2] = ["KRW-BTC", "KRW-ETH"];

fn connection(url: String, mock: &MockUpbit) -> Result<ConnectionConfig, String> {
    let mut connection = ConnectionConfig::new(url);
    connection.tls =
        Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).map_err(|e| e.to_string())?);
    // Upbit supports permessage-deflate: offer it (the mock takes it).
    connection.ws.deflate = Some(orderwire_protocol::ws::DeflateConfig::default());
    Ok(connection)
}

/// Runs the Upbit demo.
pub fn run(options: DemoOptions) -> Result<DemoReport, String> {
    let started = Instant::now();
    let mock = MockUpbit::start(MockConfig::default()).map_err(|e| format!("mock Upbit: {e}"))?;
    let symbols: Vec<_> = MARKETS.iter().filter_map(|m| inline(m)).collect();
    let public = Exchange::start(
        "upbit-public-demo",
        Upbit::public(),
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection: connection(mock.public_url(), &mock)?,
            gateway: GatewayConfig {
                subscriptions: vec![
                    Subscription::Ticker {
                        symbols: symbols.clone(),
                    },
                    Subscription::Trades {
                        symbols: symbols.clone(),
                    },
                    Subscription::Book { symbols, depth: 15 },
                ],
                ..GatewayConfig::default()
            },
            on_request: options.verbose.then(crate::demo::print_requests),
            token_fetch: None,
        },
    )
    .map_err(|e| e.to_string())?;
    let (access_key, secret_key) = mock.keys();
    let private = Exchange::start(
        "upbit-private-demo",
        Upbit::private(Credentials {
            access_key: Secret::new(access_key),
            secret_key: Secret::new(secret_key),
        }),
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection: connection(mock.private_url(), &mock)?,
            gateway: GatewayConfig {
                subscriptions: vec![Subscription::Executions {
                    snapshot_orders: false,
                    snapshot_trades: false,
                }],
                ..GatewayConfig::default()
            },
            on_request: None,
            token_fetch: None,
        },
    )
    .map_err(|e| e.to_string())?;
    let progress = progress_bar(&options);
    let mut tally = Tally {
        by_type: HashMap::new(),
        statuses: HashMap::new(),
        fills: 0,
        books: 0,
        balances: 0,
        connected: 0,
        latency: VenueLag::new()?,
    };
    let deadline = started + options.deadline;
    // Both connections up and subscribed.
    while tally.connected < 2 && Instant::now() < deadline {
        public.poll(|e, _| tally.handle(e));
        private.poll(|e, _| tally.handle(e));
        std::thread::sleep(Duration::from_millis(1));
    }
    // PING: Upbit answers {"status":"UP"}, and repeats it every 10 s.
    let _ = public.submit(Request::Ping);
    std::thread::sleep(Duration::from_millis(50));
    let dec = |text: &str| text.parse::<Decimal>().unwrap_or(Decimal::ZERO);
    for n in 0..options.orders {
        let market = MARKETS[n % 2];
        // Another account's trade, then the demo's own order, which takes
        // the best ask (a price well above it).
        mock.house_trade(
            market,
            if n % 3 == 0 { Side::Sell } else { Side::Buy },
            dec("0.01"),
        );
        let price = if market == "KRW-BTC" {
            dec("110000000")
        } else {
            dec("4000000")
        };
        let id = format!("demo-{n:04}");
        mock.place(market, Side::Buy, price, dec("0.02"), &id)
            .map_err(|e| format!("mock REST order: {e}"))?;
        if let Some(id) = inline(&id) {
            tally.statuses.entry(id).or_insert(OrderStatus::PendingNew);
        }
        for _ in 0..5 {
            public.poll(|e, _| tally.handle(e));
            private.poll(|e, _| tally.handle(e));
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(bar) = &progress {
            bar.set_position(tally.statuses.values().filter(|s| s.is_terminal()).count() as u64);
        }
    }
    while tally.statuses.values().any(|s| !s.is_terminal()) && Instant::now() < deadline {
        public.poll(|e, _| tally.handle(e));
        private.poll(|e, _| tally.handle(e));
        std::thread::sleep(Duration::from_millis(1));
    }
    // The last trades' book and ticker messages.
    let settle = Instant::now() + Duration::from_millis(100);
    while Instant::now() < settle {
        public.poll(|e, _| tally.handle(e));
        private.poll(|e, _| tally.handle(e));
        std::thread::sleep(Duration::from_millis(1));
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let stats = mock.stats();
    public.shutdown(Duration::from_millis(500));
    private.shutdown(Duration::from_millis(500));
    let Tally {
        by_type,
        statuses,
        fills,
        books,
        balances,
        latency,
        ..
    } = tally;
    let (by_status, all_terminal) = count_by_status(&statuses);
    let mut notes = vec![messages_by_type(by_type)];
    notes.push(format!(
        "books replaced (every orderbook message is a whole book): {books}"
    ));
    notes.push(format!("balances: {balances}"));
    notes.push(format!(
        "UP heartbeats (PING answered, then every 10 s): {}",
        stats.ups
    ));
    notes.push(format!(
        "permessage-deflate: negotiated on {} of {} connections",
        stats.deflate, stats.connections
    ));
    notes.push(latency.note());
    Ok(DemoReport {
        venue: "Upbit",
        by_status,
        fills,
        latency: Vec::new(),
        all_terminal,
        book_messages: books,
        checksum_mismatches: 0,
        elapsed: started.elapsed(),
        notes,
    })
}

/// What the demo counts.
struct Tally {
    by_type: HashMap<&'static str, usize>,
    statuses: HashMap<ClientOrderId, OrderStatus>,
    fills: usize,
    books: usize,
    balances: usize,
    connected: usize,
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
                        self.books += 1;
                        b.ts
                    }
                    _ => None,
                };
                if let Some(ts) = ts {
                    self.latency.record(ts);
                }
            }
            // Orders placed over REST are not the gateway's: their updates
            // come through as they are.
            GatewayEvent::Reply(Event::OrderUpdate(update)) => {
                *self.by_type.entry("order_update").or_default() += 1;
                if let Some(id) = update.client_order_id {
                    self.statuses.insert(id, update.status);
                }
            }
            GatewayEvent::Reply(Event::Fill(_)) | GatewayEvent::Fill(_) => {
                *self.by_type.entry("fill").or_default() += 1;
                self.fills += 1;
            }
            GatewayEvent::Account(Event::Balance(_)) => {
                *self.by_type.entry("balance").or_default() += 1;
                self.balances += 1;
            }
            GatewayEvent::Connection(ConnectionEvent::Connected { .. }) => self.connected += 1,
            _ => {}
        }
    }
}
