//! One set of gateway test bodies on both drivers, over real TLS to the
//! mock Kraken on loopback: the threaded `Exchange` (its own reactor
//! thread, polled from this one) and the `InlineExchange` (this thread
//! runs the socket, TLS, the codec, the core and the handlers). An order
//! cycle (subscribe, place, cancel, latency), a request that times out and
//! leaves its order to the venue's word (never rejected on a guess), a
//! venue drop followed by a reconnect and resubscription, and shutdown.

mod support;

use support::{binance_on_mock, gateway_config, resting_buy, status_of, subscribed};

use std::time::{Duration, Instant};

use orderwire::mock::binance::{self, MockBinance};
use orderwire::mock::kraken::{Fault, MockConfig, MockKraken};
use orderwire_engine::gateway::{
    ConnectionEvent, Exchange, ExchangeConfig, GatewayConfig, GatewayEvent, InlineExchange,
    InlineGroup, Submission, SubmitError,
};
use orderwire_engine::{ConnectionConfig, EngineConfig, ReconnectPolicy, TlsConfig};
use orderwire_protocol::model::{
    CancelOrders, Method, NewOrder, OrderRef, OrderStatus, Request, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::kraken::{Kraken, Tier};

const PATIENCE: Duration = Duration::from_secs(20);

/// What a body needs of a gateway driver.
trait Driver {
    fn submit(&mut self, request: Request<'_>) -> Result<Submission, SubmitError>;
    /// One poll: events into `seen`.
    fn poll(&mut self, seen: &mut Vec<GatewayEvent>);
    fn latency_count(&self, method: Method) -> u64;
    fn shutdown(&mut self, seen: &mut Vec<GatewayEvent>);
}

impl Driver for Exchange<Kraken> {
    fn submit(&mut self, request: Request<'_>) -> Result<Submission, SubmitError> {
        Exchange::submit(self, request)
    }
    fn poll(&mut self, seen: &mut Vec<GatewayEvent>) {
        Exchange::poll(self, |event, _| seen.push(event.clone()));
        // Real sockets: give the reactor and the mock the core, no sleep.
        std::thread::yield_now();
    }
    fn latency_count(&self, method: Method) -> u64 {
        self.gateway()
            .core()
            .lock()
            .latency()
            .histogram(method)
            .len()
    }
    fn shutdown(&mut self, seen: &mut Vec<GatewayEvent>) {
        Exchange::shutdown(self, Duration::from_secs(1));
        Exchange::poll(self, |event, _| seen.push(event.clone()));
    }
}

impl Driver for InlineExchange<Kraken> {
    fn submit(&mut self, request: Request<'_>) -> Result<Submission, SubmitError> {
        InlineExchange::submit(self, request)
    }
    fn poll(&mut self, seen: &mut Vec<GatewayEvent>) {
        // Blocks in epoll at most 5 ms; the mock runs on its own threads.
        self.poll_once(Some(Duration::from_millis(5)), |event, _| {
            seen.push(event.clone());
        });
    }
    fn latency_count(&self, method: Method) -> u64 {
        self.core().latency().histogram(method).len()
    }
    fn shutdown(&mut self, seen: &mut Vec<GatewayEvent>) {
        InlineExchange::shutdown(self, Duration::from_secs(1));
        self.poll_once(Some(Duration::ZERO), |event, _| seen.push(event.clone()));
    }
}

fn config(mock: &MockKraken, gateway: GatewayConfig) -> ExchangeConfig {
    let mut connection = ConnectionConfig::new(mock.url());
    connection.tls = Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).unwrap());
    connection.reconnect = ReconnectPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
        ..ReconnectPolicy::default()
    };
    ExchangeConfig {
        engine: EngineConfig {
            seed: Some(3),
            ..EngineConfig::default()
        },
        connection,
        gateway,
        on_request: None,
        token_fetch: None,
        capture: None,
    }
}

fn kraken(mock: &MockKraken) -> Kraken {
    Kraken::new(Some(Secret::new(mock.token())), Tier::Pro)
}

fn threaded(mock: &MockKraken, gateway: GatewayConfig) -> Exchange<Kraken> {
    Exchange::start("kraken-threaded", kraken(mock), config(mock, gateway)).unwrap()
}

fn inline_driver(mock: &MockKraken, gateway: GatewayConfig) -> InlineExchange<Kraken> {
    InlineExchange::start("kraken-inline", kraken(mock), config(mock, gateway)).unwrap()
}

/// Polls until `done`, or panics naming what it saw.
fn poll_until(
    driver: &mut impl Driver,
    seen: &mut Vec<GatewayEvent>,
    done: impl Fn(&[GatewayEvent]) -> bool,
) {
    let start = Instant::now();
    while !done(seen) {
        driver.poll(seen);
        assert!(start.elapsed() < PATIENCE, "gave up; saw {seen:#?}");
    }
}

fn cancel_of(id: &str) -> CancelOrders {
    CancelOrders {
        symbol: None,
        orders: vec![OrderRef::ClientOrderId(inline(id).unwrap())],
    }
}

fn order_cycle(mut driver: impl Driver) {
    let mut seen = Vec::new();
    poll_until(&mut driver, &mut seen, |s| subscribed(s) == 2);
    let order = resting_buy("cycle-1");
    driver.submit(Request::Place(&order)).unwrap();
    poll_until(&mut driver, &mut seen, |s| {
        status_of(s, "cycle-1") == Some(OrderStatus::New)
    });
    driver
        .submit(Request::Cancel(&cancel_of("cycle-1")))
        .unwrap();
    poll_until(&mut driver, &mut seen, |s| {
        status_of(s, "cycle-1") == Some(OrderStatus::Canceled)
    });
    assert_eq!(driver.latency_count(Method::Place), 1);
    assert_eq!(driver.latency_count(Method::Cancel), 1);
    driver.shutdown(&mut seen);
}

fn a_timeout_leaves_the_order_to_the_venue(mock: &MockKraken, mut driver: impl Driver) {
    let mut seen = Vec::new();
    poll_until(&mut driver, &mut seen, |s| subscribed(s) == 2);
    driver
        .submit(Request::Place(&resting_buy("slow-1")))
        .unwrap();
    poll_until(&mut driver, &mut seen, |s| {
        status_of(s, "slow-1") == Some(OrderStatus::New)
    });
    mock.inject(Fault::DropResponse);
    driver
        .submit(Request::Cancel(&cancel_of("slow-1")))
        .unwrap();
    poll_until(&mut driver, &mut seen, |s| {
        s.iter().any(|e| {
            matches!(
                e,
                GatewayEvent::TimedOut {
                    method: Method::Cancel,
                    ..
                }
            )
        })
    });
    // The executions stream reports the cancel: the venue's word ends the
    // order, and nothing was ever marked rejected.
    poll_until(&mut driver, &mut seen, |s| {
        status_of(s, "slow-1") == Some(OrderStatus::Canceled)
    });
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, GatewayEvent::Order(o) if o.status == OrderStatus::Rejected)),
        "{seen:#?}"
    );
    driver.shutdown(&mut seen);
}

fn a_drop_reconnects_and_resubscribes(mock: &MockKraken, mut driver: impl Driver) {
    let mut seen = Vec::new();
    poll_until(&mut driver, &mut seen, |s| subscribed(s) == 2);
    mock.inject(Fault::Disconnect);
    // The next request meets the drop; the gateway reconnects and the open
    // sequence subscribes again.
    let _ = driver.submit(Request::Place(&resting_buy("drop-1")));
    poll_until(&mut driver, &mut seen, |s| {
        s.iter().any(|e| {
            matches!(
                e,
                GatewayEvent::Connection(ConnectionEvent::Disconnected { .. })
            )
        }) && subscribed(s) >= 4
    });
    driver.shutdown(&mut seen);
}

fn shutdown_ends_the_connection(mut driver: impl Driver) {
    let mut seen = Vec::new();
    poll_until(&mut driver, &mut seen, |s| subscribed(s) == 2);
    driver.shutdown(&mut seen);
    assert!(
        seen.iter().any(|e| matches!(
            e,
            GatewayEvent::Connection(ConnectionEvent::Disconnected { .. })
        )),
        "{seen:#?}"
    );
}

fn timeout_config() -> GatewayConfig {
    GatewayConfig {
        request_timeout: Duration::from_millis(300),
        ..gateway_config()
    }
}

#[test]
fn an_order_cycle_threaded() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    order_cycle(threaded(&mock, gateway_config()));
}

#[test]
fn an_order_cycle_inline() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    order_cycle(inline_driver(&mock, gateway_config()));
}

#[test]
fn a_timeout_threaded() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    a_timeout_leaves_the_order_to_the_venue(&mock, threaded(&mock, timeout_config()));
}

#[test]
fn a_timeout_inline() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    a_timeout_leaves_the_order_to_the_venue(&mock, inline_driver(&mock, timeout_config()));
}

#[test]
fn a_drop_reconnects_threaded() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    a_drop_reconnects_and_resubscribes(&mock, threaded(&mock, gateway_config()));
}

#[test]
fn a_drop_reconnects_inline() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    a_drop_reconnects_and_resubscribes(&mock, inline_driver(&mock, gateway_config()));
}

#[test]
fn shutdown_threaded() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    shutdown_ends_the_connection(threaded(&mock, gateway_config()));
}

#[test]
fn shutdown_inline() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    shutdown_ends_the_connection(inline_driver(&mock, gateway_config()));
}

/// Threaded only: the core's timers run on the reactor thread while no
/// user thread polls. Application pings go out on the venue's schedule, and
/// a cancel whose answer is lost times out: its order is `unknown` (never
/// rejected) before anyone polls again; the poll then delivers the
/// `TimedOut` the reactor produced.
#[test]
fn timers_run_without_polling_threaded() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    let mut exchange = threaded(
        &mock,
        GatewayConfig {
            app_ping_every: Some(Duration::from_millis(40)),
            ..timeout_config()
        },
    );
    let mut seen = Vec::new();
    poll_until(&mut exchange, &mut seen, |s| subscribed(s) == 2);
    exchange
        .submit(Request::Place(&resting_buy("idle-1")))
        .unwrap();
    poll_until(&mut exchange, &mut seen, |s| {
        status_of(s, "idle-1") == Some(OrderStatus::New)
    });
    mock.inject(Fault::DropResponse);
    let requests_before = mock.stats().requests;
    exchange
        .submit(Request::Cancel(&cancel_of("idle-1")))
        .unwrap();
    let id = inline("idle-1").unwrap();
    let start = Instant::now();
    // No poll from here: only the reactor runs the core's timers.
    loop {
        let status = exchange
            .gateway()
            .core()
            .lock()
            .order(&id)
            .map(|o| o.status);
        let pings = mock.stats().requests.saturating_sub(requests_before + 1);
        if status == Some(OrderStatus::Unknown) && pings >= 3 {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no timeout or pings without polling: {status:?}, {pings} pings"
        );
        std::thread::yield_now();
    }
    let mut after = Vec::new();
    exchange.poll(|event, _| after.push(event.clone()));
    assert!(
        after.iter().any(|e| matches!(
            e,
            GatewayEvent::TimedOut {
                method: Method::Cancel,
                ..
            }
        )),
        "{after:#?}"
    );
    exchange.shutdown(Duration::from_secs(1));
}

/// Two venues on one inline engine (one mio `Poll`, this thread): the
/// mock Kraken and the mock Binance each get their open sequence, an order
/// placed and canceled on each reaches its own venue only, and every event
/// comes out named by the exchange it belongs to.
#[test]
fn two_venues_share_one_inline_loop() {
    let kraken_mock = MockKraken::start(MockConfig::default()).unwrap();
    let binance_mock = MockBinance::start(binance::MockConfig::default()).unwrap();
    let mut group = InlineGroup::new(EngineConfig {
        seed: Some(3),
        ..EngineConfig::default()
    })
    .unwrap();
    let kraken_key = group
        .add(
            "kraken",
            kraken(&kraken_mock),
            config(&kraken_mock, gateway_config()),
        )
        .unwrap();
    let (binance_venue, binance_config) = binance_on_mock(&binance_mock, "mock-hmac-secret");
    let binance_key = group.add("binance", binance_venue, binance_config).unwrap();
    assert_eq!(group.len(), 2);
    assert_eq!(group.name(binance_key.index()), Some("binance"));
    // Events by exchange, in arrival order.
    let mut seen: [Vec<GatewayEvent>; 2] = [Vec::new(), Vec::new()];
    let mut poll_until = |group: &mut InlineGroup,
                          done: &dyn Fn(&[Vec<GatewayEvent>; 2]) -> bool| {
        let start = Instant::now();
        while !done(&seen) {
            group.poll_once(Some(Duration::from_millis(5)), |index, event, _| {
                seen[index].push(event.clone());
            });
            assert!(start.elapsed() < PATIENCE, "gave up; saw {seen:#?}");
        }
    };
    let (k, b) = (kraken_key.index(), binance_key.index());
    poll_until(&mut group, &|s| {
        subscribed(&s[k]) == 2 && subscribed(&s[b]) == 1
    });
    let binance_order = NewOrder {
        symbol: inline("BTCUSDT").unwrap(),
        ..resting_buy("b-1")
    };
    group
        .submit(kraken_key, Request::Place(&resting_buy("k-1")))
        .unwrap();
    group
        .submit(binance_key, Request::Place(&binance_order))
        .unwrap();
    poll_until(&mut group, &|s| {
        status_of(&s[k], "k-1") == Some(OrderStatus::New)
            && status_of(&s[b], "b-1") == Some(OrderStatus::New)
    });
    group
        .submit(kraken_key, Request::Cancel(&cancel_of("k-1")))
        .unwrap();
    group
        .submit(
            binance_key,
            Request::Cancel(&CancelOrders {
                symbol: Some(inline("BTCUSDT").unwrap()),
                ..cancel_of("b-1")
            }),
        )
        .unwrap();
    poll_until(&mut group, &|s| {
        status_of(&s[k], "k-1") == Some(OrderStatus::Canceled)
            && status_of(&s[b], "b-1") == Some(OrderStatus::Canceled)
    });
    // Each core holds its own order only, and each venue saw its own.
    let (k_1, b_1) = (inline("k-1").unwrap(), inline("b-1").unwrap());
    assert!(group.core(kraken_key).order(&k_1).is_some());
    assert!(group.core(kraken_key).order(&b_1).is_none());
    assert!(group.core(binance_key).order(&b_1).is_some());
    assert!(group.core(binance_key).order(&k_1).is_none());
    assert_eq!(status_of(&seen[k], "b-1"), None);
    assert_eq!(status_of(&seen[b], "k-1"), None);
    assert_eq!(
        group
            .core(kraken_key)
            .latency()
            .histogram(Method::Place)
            .len(),
        1,
        "one place answered on Kraken"
    );
    group.shutdown(Duration::from_secs(1));
}

/// The reactor reopens a dropped connection before the user thread sees
/// the drop (nobody polls in between): the drop, seen late, belongs to the
/// old connection and leaves the new one up, its timers running.
#[test]
fn a_drop_seen_after_the_reconnect_leaves_the_new_connection_up() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    let mut exchange = threaded(&mock, gateway_config());
    let mut seen = Vec::new();
    poll_until(&mut exchange, &mut seen, |s| subscribed(s) == 2);
    exchange
        .submit(Request::Place(&resting_buy("old-1")))
        .unwrap();
    poll_until(&mut exchange, &mut seen, |s| {
        status_of(s, "old-1") == Some(OrderStatus::New)
    });
    mock.inject(Fault::Disconnect);
    // Meets the drop; the reactor reconnects and runs the open sequence.
    let _ = exchange.submit(Request::Place(&resting_buy("old-2")));
    let start = Instant::now();
    // No poll from here until the core has opened the next connection.
    while exchange.gateway().core().lock().connections() < 2 {
        assert!(start.elapsed() < PATIENCE, "no reconnect");
        std::thread::yield_now();
    }
    poll_until(&mut exchange, &mut seen, |s| {
        s.iter().any(|e| {
            matches!(
                e,
                GatewayEvent::Connection(ConnectionEvent::Disconnected { .. })
            )
        }) && subscribed(s) >= 4
    });
    assert!(
        exchange.gateway().core().lock().is_connected(),
        "the late drop took the live connection down"
    );
    // The order of the old connection is unknown until reconciled, never
    // rejected; a new order goes out on the new connection.
    assert_ne!(status_of(&seen, "old-1"), Some(OrderStatus::Rejected));
    exchange
        .submit(Request::Place(&resting_buy("new-1")))
        .unwrap();
    poll_until(&mut exchange, &mut seen, |s| {
        status_of(s, "new-1") == Some(OrderStatus::New)
    });
    Driver::shutdown(&mut exchange, &mut seen);
}
