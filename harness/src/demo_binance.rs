//! `orderwire demo --venue binance`: the mock Binance in-process, two
//! engine connections over wss:// on loopback (the WebSocket API with an
//! Ed25519 key and `session.logon`, and the market streams with diff depth
//! synced from a `depth` snapshot taken on the API), then N orders placed,
//! amended (keepPriority), cancel-replaced and canceled; every fifth
//! crosses the book and fills. The key is made for the run: nothing is
//! read from disk or the network.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use orderwire_engine::gateway::{
    Exchange, ExchangeConfig, GatewayConfig, GatewayEvent, WhenLimited,
};
use orderwire_engine::{ConnectionConfig, EngineConfig, TlsConfig};
use orderwire_protocol::model::{
    AmendOrder, BookEvent, CancelOrders, CancelReplace, ClientOrderId, Event, Level, Method,
    NewOrder, OrderRef, OrderStatus, ReplaceMode, Request, Side, Subscription, Symbol, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::binance::{BinanceApi, BinanceStreams, Credentials, Signer};
use sha2::Digest;

use crate::demo::{DemoOptions, DemoReport};
use crate::mock::binance::{MockBinance, MockConfig};

/// A fresh Ed25519 key for this run (the mock learns its public half).
fn run_key() -> [u8; 32] {
    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    sha2::Sha256::digest(seed.as_bytes()).into()
}

fn connection(url: String, mock: &MockBinance) -> Result<ConnectionConfig, String> {
    let mut connection = ConnectionConfig::new(url);
    connection.tls =
        Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).map_err(|e| e.to_string())?);
    Ok(connection)
}

/// Runs the Binance demo.
pub fn run(options: DemoOptions) -> Result<DemoReport, String> {
    let started = Instant::now();
    let private_key = run_key();
    let public = ed25519_dalek::SigningKey::from_bytes(&private_key)
        .verifying_key()
        .to_bytes();
    let mock = MockBinance::start(MockConfig {
        hmac_secret: None,
        ed25519_public: Some(public),
        ..MockConfig::default()
    })
    .map_err(|e| format!("mock Binance: {e}"))?;
    let symbol: Symbol = inline("BTCUSDT").ok_or("symbol")?;
    let api = Exchange::start(
        "binance-api-demo",
        BinanceApi::new(Some(Credentials {
            api_key: Secret::new(MockConfig::default().api_key),
            signer: Signer::ed25519_from_bytes(&private_key),
        })),
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection: connection(mock.api_url(), &mock)?,
            gateway: GatewayConfig {
                when_limited: WhenLimited::Queue { capacity: 4096 },
                subscriptions: vec![Subscription::Executions {
                    snapshot_orders: false,
                    snapshot_trades: false,
                }],
                ..GatewayConfig::default()
            },
            on_request: options.verbose.then(crate::demo::print_requests),
            token_fetch: None,
        },
    )
    .map_err(|e| e.to_string())?;
    let streams = Exchange::start(
        "binance-streams-demo",
        BinanceStreams::new(),
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection: connection(mock.streams_url(), &mock)?,
            gateway: GatewayConfig {
                when_limited: WhenLimited::Queue { capacity: 64 },
                subscriptions: vec![
                    Subscription::Book {
                        symbols: vec![symbol],
                        depth: 1000,
                    },
                    Subscription::Trades {
                        symbols: vec![symbol],
                    },
                ],
                ..GatewayConfig::default()
            },
            on_request: None,
            token_fetch: None,
        },
    )
    .map_err(|e| e.to_string())?;
    let progress = crate::demo::progress_bar(&options);
    let mut driver = Driver {
        api: &api,
        streams: &streams,
        symbol,
        statuses: HashMap::new(),
        fills: 0,
        book_messages: 0,
        gaps: 0,
        subscribed: 0,
        logged_on: false,
        replies: HashMap::new(),
        deadline: started + options.deadline,
    };
    driver.wait(
        |d| d.logged_on && d.subscribed >= 3,
        "logon and subscriptions",
    )?;
    driver.wait(|d| d.best().is_some(), "the book synced from its snapshot")?;
    for n in 0..options.orders {
        match n % 5 {
            4 => driver.cross(n)?,
            2 => driver.place_replace_cancel(n)?,
            _ => driver.place_amend_cancel(n)?,
        }
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = &progress {
        bar.finish_with_message("done");
    }
    let (by_status, all_terminal) = crate::demo::count_by_status(&driver.statuses);
    let latency = crate::demo::latency_rows(&api);
    let report = DemoReport {
        venue: "Binance",
        by_status,
        fills: driver.fills,
        latency,
        all_terminal,
        book_messages: driver.book_messages,
        checksum_mismatches: driver.gaps,
        elapsed: started.elapsed(),
        notes: Vec::new(),
    };
    api.shutdown(Duration::from_secs(1));
    streams.shutdown(Duration::from_secs(1));
    Ok(report)
}

struct Driver<'a> {
    api: &'a Exchange<BinanceApi>,
    streams: &'a Exchange<BinanceStreams>,
    symbol: Symbol,
    statuses: HashMap<ClientOrderId, OrderStatus>,
    fills: usize,
    book_messages: usize,
    gaps: usize,
    subscribed: usize,
    logged_on: bool,
    replies: HashMap<u64, bool>,
    deadline: Instant,
}

enum Update {
    Status(ClientOrderId, OrderStatus),
    Fill,
    Subscribed,
    LoggedOn,
    Reply(Option<u64>, bool),
    NeedSnapshot(Symbol),
    Snapshot(BookEvent, Vec<Level>),
    Book,
    Gap,
}

impl Driver<'_> {
    fn wait(&mut self, done: impl Fn(&Self) -> bool, what: &str) -> Result<(), String> {
        loop {
            self.poll()?;
            if done(self) {
                return Ok(());
            }
            if Instant::now() > self.deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            std::thread::yield_now();
        }
    }

    /// The synced book's best bid and ask.
    fn best(&self) -> Option<(Decimal, Decimal)> {
        self.streams.gateway().with_decoding_venue(|codec| {
            let sync = codec.book(&self.symbol)?;
            if !sync.is_synced() {
                return None;
            }
            Some((sync.book().best_bid()?.price, sync.book().best_ask()?.price))
        })
    }

    fn poll(&mut self) -> Result<(), String> {
        let mut updates = Vec::new();
        // A book snapshot on the API connection is a `depth` reply, to be
        // fed to the streams; on the streams it is the synced book.
        let collect =
            |updates: &mut Vec<Update>,
             from_api: bool,
             event: &GatewayEvent,
             outputs: &orderwire_engine::gateway::Outputs| match event {
                GatewayEvent::Order(order) => {
                    updates.push(Update::Status(order.client_order_id, order.status))
                }
                GatewayEvent::Fill(_) => updates.push(Update::Fill),
                GatewayEvent::Market(Event::Book(book)) if from_api => {
                    let mut all = outputs.levels(&book.bids).to_vec();
                    let bids = 0..all.len();
                    all.extend_from_slice(outputs.levels(&book.asks));
                    let mut book = book.clone();
                    book.asks = bids.end..all.len();
                    book.bids = bids;
                    updates.push(Update::Snapshot(book, all));
                }
                GatewayEvent::Market(Event::Book(_)) => updates.push(Update::Book),
                GatewayEvent::Problem(Event::NeedBookSnapshot { symbol }) => {
                    updates.push(Update::NeedSnapshot(*symbol))
                }
                GatewayEvent::Problem(Event::SequenceGap { .. }) => updates.push(Update::Gap),
                GatewayEvent::Reply(Event::Response(r))
                    if r.method == Method::Subscribe && r.ok =>
                {
                    updates.push(Update::Subscribed)
                }
                GatewayEvent::Reply(Event::Response(r))
                    if r.ok && r.message.as_deref() == Some("session.logon") =>
                {
                    updates.push(Update::LoggedOn)
                }
                GatewayEvent::Reply(Event::OrderAck(a)) => {
                    updates.push(Update::Reply(a.req_id, true))
                }
                GatewayEvent::Reply(Event::OrderReject(r)) => {
                    updates.push(Update::Reply(r.req_id, false))
                }
                _ => {}
            };
        self.api
            .poll(|event, outputs| collect(&mut updates, true, event, outputs));
        self.streams
            .poll(|event, outputs| collect(&mut updates, false, event, outputs));
        for update in updates {
            match update {
                Update::Status(id, status) => {
                    self.statuses.insert(id, status);
                }
                Update::Fill => self.fills += 1,
                Update::Subscribed => self.subscribed += 1,
                Update::LoggedOn => self.logged_on = true,
                Update::Reply(Some(req_id), ok) => {
                    self.replies.insert(req_id, ok);
                }
                Update::Reply(None, _) => {}
                Update::NeedSnapshot(symbol) => {
                    self.submit(Request::BookSnapshot {
                        symbol,
                        limit: 1000,
                    })?;
                }
                // A depth reply on the API: the streams' book syncs from it.
                Update::Snapshot(book, levels) => self.streams.feed_book_snapshot(&book, &levels),
                Update::Book => self.book_messages += 1,
                Update::Gap => self.gaps += 1,
            }
        }
        Ok(())
    }

    fn submit(&mut self, request: Request<'_>) -> Result<Option<u64>, String> {
        crate::demo::submit_to(self.api, request)
    }

    fn order(&self, n: usize, side: Side, price: Decimal, qty: &str) -> Result<NewOrder, String> {
        crate::demo::demo_order(n, self.symbol, side, price, qty)
    }

    fn status(&self, id: &ClientOrderId) -> Option<OrderStatus> {
        self.statuses.get(id).copied()
    }

    fn resting_bid(&mut self, n: usize) -> Result<NewOrder, String> {
        let (bid, _) = self.best().ok_or("no synced book")?;
        let price = bid
            .checked_sub("1.0".parse().map_err(|_| "offset")?)
            .ok_or("price")?;
        let order = self.order(n, Side::Buy, price, "0.01000000")?;
        self.statuses
            .insert(order.client_order_id, OrderStatus::PendingNew);
        self.submit(Request::Place(&order))?;
        let id = order.client_order_id;
        self.wait(
            |d| d.status(&id).is_some_and(|s| s != OrderStatus::PendingNew),
            "an ack",
        )?;
        Ok(order)
    }

    fn cancel(&mut self, id: ClientOrderId) -> Result<(), String> {
        let cancel = CancelOrders {
            symbol: Some(self.symbol),
            orders: vec![OrderRef::ClientOrderId(id)],
        };
        self.submit(Request::Cancel(&cancel))?;
        self.wait(
            |d| d.status(&id).is_some_and(OrderStatus::is_terminal),
            "the cancel",
        )
    }

    /// A buy under the best bid: rests, its quantity is halved in place
    /// (keepPriority), then it is canceled.
    fn place_amend_cancel(&mut self, n: usize) -> Result<(), String> {
        let order = self.resting_bid(n)?;
        let id = order.client_order_id;
        if self.status(&id) != Some(OrderStatus::New) {
            return Ok(());
        }
        let amend = AmendOrder {
            symbol: Some(self.symbol),
            order: OrderRef::ClientOrderId(id),
            price: None,
            qty: Some("0.00500000".parse().map_err(|_| "qty")?),
        };
        if let Some(req_id) = self.submit(Request::Amend(&amend))? {
            self.wait(|d| d.replies.contains_key(&req_id), "the amend's reply")?;
        }
        self.cancel(id)
    }

    /// A resting buy replaced by another a tick higher in one request,
    /// which is then canceled.
    fn place_replace_cancel(&mut self, n: usize) -> Result<(), String> {
        let order = self.resting_bid(n)?;
        let old = order.client_order_id;
        let mut new_order = order.clone();
        new_order.client_order_id = inline(&format!("demo-{n:04}r")).ok_or("client id")?;
        new_order.price = order.price.and_then(|p| p.checked_add("0.1".parse().ok()?));
        let new = new_order.client_order_id;
        self.statuses.insert(new, OrderStatus::PendingNew);
        let replace = CancelReplace {
            cancel: OrderRef::ClientOrderId(old),
            mode: ReplaceMode::StopOnFailure,
            new_order,
        };
        self.submit(Request::CancelReplace(&replace))?;
        self.wait(
            |d| {
                d.status(&old).is_some_and(OrderStatus::is_terminal)
                    && d.status(&new).is_some_and(|s| s != OrderStatus::PendingNew)
            },
            "the cancel-replace",
        )?;
        if self.status(&new) == Some(OrderStatus::New) {
            self.cancel(new)?;
        }
        Ok(())
    }

    /// A buy at the best ask: fills at once (the FULL reply carries it).
    fn cross(&mut self, n: usize) -> Result<(), String> {
        let (_, ask) = self.best().ok_or("no synced book")?;
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
