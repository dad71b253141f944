//! The engine and gateway end to end against the mock Kraken over wss on
//! loopback: the demo, every fault the mock injects, its rate counter and
//! its idle close.

use std::time::{Duration, Instant};

use orderwire_engine::gateway::{
    ConnectionEvent, Exchange, ExchangeConfig, GatewayConfig, GatewayEvent, Submission, WhenLimited,
};
use orderwire_engine::{ConnectionConfig, EngineConfig, ReconnectPolicy, TlsConfig};
use orderwire_harness::demo::{self, DemoOptions};
use orderwire_harness::mock::kraken::{Fault, MockConfig, MockKraken};
use orderwire_protocol::model::{
    CancelOrders, ClientOrderId, Event, Method, NewOrder, OrderKind, OrderRef, OrderStatus, Side,
    Subscription, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::kraken::{Kraken, Tier};

const PATIENCE: Duration = Duration::from_secs(20);

fn exchange(mock: &MockKraken, tier: (u64, u64), gateway: GatewayConfig) -> Exchange<Kraken> {
    let mut connection = ConnectionConfig::new(mock.url());
    connection.tls = Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).unwrap());
    connection.reconnect = ReconnectPolicy {
        base: Duration::from_millis(20),
        ..ReconnectPolicy::default()
    };
    let venue = Kraken::new(
        Some(Secret::new(mock.token())),
        Tier::Custom {
            threshold_milli: tier.0,
            decay_milli_per_sec: tier.1,
        },
    );
    Exchange::start(
        "kraken-test",
        venue,
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection,
            gateway,
            on_latency: None,
            token_fetch: None,
        },
    )
    .unwrap()
}

fn gateway_config() -> GatewayConfig {
    GatewayConfig {
        subscriptions: vec![
            Subscription::Book {
                symbols: vec![inline("BTC/USD").unwrap()],
                depth: 10,
            },
            Subscription::Executions {
                snapshot_orders: true,
                snapshot_trades: false,
            },
        ],
        ..GatewayConfig::default()
    }
}

/// Collects gateway events until `done` says so (or panics after PATIENCE).
fn poll_until(
    exchange: &Exchange<Kraken>,
    seen: &mut Vec<GatewayEvent>,
    done: impl Fn(&[GatewayEvent]) -> bool,
) {
    let start = Instant::now();
    while !done(seen) {
        exchange.poll(|event, _| seen.push(event.clone()));
        assert!(start.elapsed() < PATIENCE, "gave up; saw {seen:#?}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn status_of(seen: &[GatewayEvent], id: &str) -> Option<OrderStatus> {
    seen.iter().rev().find_map(|e| match e {
        GatewayEvent::Order(o) if &*o.client_order_id == id => Some(o.status),
        _ => None,
    })
}

fn subscribed(seen: &[GatewayEvent]) -> usize {
    seen.iter()
        .filter(|e| matches!(e, GatewayEvent::Reply(Event::Response(r)) if r.method == Method::Subscribe && r.ok))
        .count()
}

fn resting_buy(id: &str) -> NewOrder {
    NewOrder {
        client_order_id: inline(id).unwrap(),
        symbol: inline("BTC/USD").unwrap(),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some("45000.0".parse().unwrap()),
        qty: "0.01".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

fn cid(id: &str) -> ClientOrderId {
    inline(id).unwrap()
}

#[test]
fn the_demo_ends_every_order() {
    let report = demo::run(DemoOptions {
        orders: 10,
        progress: false,
        deadline: PATIENCE,
    })
    .unwrap();
    assert!(report.all_terminal, "{report:?}");
    let count = |s: OrderStatus| {
        report
            .by_status
            .iter()
            .find(|(x, _)| *x == s)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(
        (count(OrderStatus::Canceled), count(OrderStatus::Filled)),
        (8, 2)
    );
    assert_eq!(report.fills, 2);
    assert_eq!(report.checksum_mismatches, 0);
    let methods: Vec<Method> = report.latency.iter().map(|l| l.0).collect();
    for method in [
        Method::Place,
        Method::Amend,
        Method::Cancel,
        Method::Subscribe,
    ] {
        assert!(methods.contains(&method), "{methods:?}");
    }
    assert!(demo::summary(&report).contains("every order reached a terminal state"));
}

#[test]
fn delayed_reply_is_still_correlated_and_its_latency_includes_the_delay() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    let exchange = exchange(&mock, (60_000, 1_000), gateway_config());
    let mut seen = Vec::new();
    poll_until(&exchange, &mut seen, |s| subscribed(s) >= 2);
    mock.inject(Fault::Delay(Duration::from_millis(150)));
    exchange.place_order(&resting_buy("delayed")).unwrap();
    poll_until(&exchange, &mut seen, |s| {
        s.iter().any(
            |e| matches!(e, GatewayEvent::Reply(Event::OrderAck(a)) if a.method == Method::Place),
        )
    });
    let core = exchange.gateway().core().lock();
    let place = core.latency().histogram(Method::Place);
    assert_eq!(place.len(), 1);
    assert!(
        place.max() >= 150_000_000,
        "latency {} ns includes the delay",
        place.max()
    );
    assert_eq!(
        core.order(&cid("delayed")).unwrap().status,
        OrderStatus::New
    );
}

#[test]
fn a_dropped_reply_times_out_without_inventing_a_reject() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    let exchange = exchange(
        &mock,
        (60_000, 1_000),
        GatewayConfig {
            request_timeout: Duration::from_millis(300),
            ..gateway_config()
        },
    );
    let mut seen = Vec::new();
    poll_until(&exchange, &mut seen, |s| subscribed(s) >= 2);
    exchange.place_order(&resting_buy("resting")).unwrap();
    poll_until(&exchange, &mut seen, |s| {
        status_of(s, "resting") == Some(OrderStatus::New)
    });
    mock.inject(Fault::DropResponse);
    let cancel = CancelOrders {
        symbol: None,
        orders: vec![OrderRef::ClientOrderId(cid("resting"))],
    };
    exchange.cancel_orders(&cancel).unwrap();
    // The executions stream still reports the cancel; the request itself
    // times out, and nothing says "rejected".
    poll_until(&exchange, &mut seen, |s| {
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
    assert_eq!(mock.stats().dropped_responses, 1);
    assert_ne!(status_of(&seen, "resting"), Some(OrderStatus::Rejected));
    assert_eq!(status_of(&seen, "resting"), Some(OrderStatus::Canceled));
}

#[test]
fn a_disconnect_reconnects_replays_subscriptions_and_reconciles() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    let exchange = exchange(&mock, (60_000, 1_000), gateway_config());
    let mut seen = Vec::new();
    poll_until(&exchange, &mut seen, |s| subscribed(s) >= 2);
    exchange.place_order(&resting_buy("survivor")).unwrap();
    poll_until(&exchange, &mut seen, |s| {
        status_of(s, "survivor") == Some(OrderStatus::New)
    });
    mock.inject(Fault::Disconnect);
    // The next request triggers the drop; it never reached the book.
    exchange.place_order(&resting_buy("in-flight")).unwrap();
    poll_until(&exchange, &mut seen, |s| {
        s.iter().any(|e| matches!(e, GatewayEvent::Connection(ConnectionEvent::Connected { attempt }) if *attempt >= 1))
            && subscribed(s) >= 4
            && status_of(s, "survivor").is_some_and(|x| x == OrderStatus::New)
            && status_of(s, "in-flight").is_some_and(|x| x.is_terminal())
    });
    let causes: Vec<(String, OrderStatus)> = seen
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Order(o) => Some((o.client_order_id.to_string(), o.status)),
            _ => None,
        })
        .collect();
    assert!(
        causes.contains(&("survivor".to_owned(), OrderStatus::Unknown)),
        "{causes:?}"
    );
    assert_eq!(
        status_of(&seen, "in-flight"),
        Some(OrderStatus::Rejected),
        "never reached the venue"
    );
    assert_eq!(mock.stats().disconnects, 1);
    assert_eq!(mock.stats().connections, 2);
}

#[test]
fn a_corrupt_checksum_resubscribes_and_the_fresh_book_verifies() {
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    let exchange = exchange(&mock, (60_000, 1_000), gateway_config());
    let mut seen = Vec::new();
    poll_until(&exchange, &mut seen, |s| subscribed(s) >= 2);
    mock.inject(Fault::CorruptChecksum);
    // A new best bid (the house's is 45283.9), so the top of the book moves.
    let mut order = resting_buy("moves-the-book");
    order.price = Some("45284.0".parse().unwrap());
    exchange.place_order(&order).unwrap();
    poll_until(&exchange, &mut seen, |s| {
        let mismatch = s
            .iter()
            .position(|e| matches!(e, GatewayEvent::Problem(Event::ChecksumMismatch { .. })));
        mismatch.is_some_and(|at| {
            s[at..]
                .iter()
                .any(|e| matches!(e, GatewayEvent::Market(Event::Book(b)) if b.snapshot))
        })
    });
    let mismatches = seen
        .iter()
        .filter(|e| matches!(e, GatewayEvent::Problem(Event::ChecksumMismatch { .. })))
        .count();
    assert_eq!(mismatches, 1, "the fresh snapshot verifies");
    let core = exchange.gateway().core().lock();
    let book = core.venue().book("BTC/USD").unwrap();
    assert_eq!(book.bids().len(), 10);
}

#[test]
fn the_gateway_paces_requests_so_the_venue_never_refuses_them() {
    // A tight counter: 5 units, decaying 4 per second.
    let tier = (5_000, 4_000);
    let mock = MockKraken::start(MockConfig {
        tier,
        ..MockConfig::default()
    })
    .unwrap();
    let exchange = exchange(&mock, tier, gateway_config());
    let mut seen = Vec::new();
    poll_until(&exchange, &mut seen, |s| subscribed(s) >= 2);
    let mut queued = 0;
    for n in 0..12 {
        if exchange
            .place_order(&resting_buy(&format!("paced-{n}")))
            .unwrap()
            == Submission::Queued
        {
            queued += 1;
        }
    }
    assert!(queued >= 7, "the gateway held requests back: {queued}");
    poll_until(&exchange, &mut seen, |s| {
        (0..12).all(|n| status_of(s, &format!("paced-{n}")) == Some(OrderStatus::New))
    });
    assert_eq!(mock.stats().rate_limited, 0);
    // A gateway that believes in a bigger allowance is refused by the venue.
    let greedy = self::exchange(
        &mock,
        (100_000, 20_000),
        GatewayConfig {
            when_limited: WhenLimited::Off,
            ..gateway_config()
        },
    );
    let mut seen = Vec::new();
    poll_until(&greedy, &mut seen, |s| subscribed(s) >= 2);
    for n in 0..8 {
        greedy
            .place_order(&resting_buy(&format!("greedy-{n}")))
            .unwrap();
    }
    poll_until(&greedy, &mut seen, |s| {
        status_of(s, "greedy-7").is_some_and(|x| x != OrderStatus::PendingNew)
    });
    assert!(seen.iter().any(|e| matches!(e, GatewayEvent::Reply(Event::OrderReject(r)) if r.message == "EOrder:Rate limit exceeded")));
    assert!(mock.stats().rate_limited >= 1);
}

#[test]
fn the_venue_closes_an_idle_connection_and_pings_keep_it_open() {
    let mock = MockKraken::start(MockConfig {
        idle_close: Duration::from_millis(400),
        ..MockConfig::default()
    })
    .unwrap();
    let quiet = exchange(&mock, (60_000, 1_000), gateway_config());
    let mut seen = Vec::new();
    poll_until(&quiet, &mut seen, |s| {
        s.iter().any(|e| {
            matches!(
                e,
                GatewayEvent::Connection(ConnectionEvent::Disconnected { .. })
            )
        })
    });
    assert_eq!(mock.stats().idle_closes, 1);
    drop(quiet);
    let busy = exchange(
        &mock,
        (60_000, 1_000),
        GatewayConfig {
            app_ping_every: Some(Duration::from_millis(100)),
            ..gateway_config()
        },
    );
    let mut seen = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1200) {
        busy.poll(|event, _| seen.push(event.clone()));
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(!seen.iter().any(|e| matches!(
        e,
        GatewayEvent::Connection(ConnectionEvent::Disconnected { .. })
    )));
    let pongs = seen
        .iter()
        .filter(
            |e| matches!(e, GatewayEvent::Reply(Event::Response(r)) if r.method == Method::Ping),
        )
        .count();
    assert!(pongs >= 5, "pings answered: {pongs}");
    assert_eq!(mock.stats().idle_closes, 1);
}

#[test]
fn public_and_private_connections_side_by_side_and_a_fetched_token_after_a_drop() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    // Public: market data only, no token at all.
    let mut public_connection = ConnectionConfig::new(mock.url());
    public_connection.tls = Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).unwrap());
    let public = Exchange::start(
        "kraken-public",
        Kraken::public(),
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection: public_connection,
            gateway: GatewayConfig {
                subscriptions: vec![Subscription::Book {
                    symbols: vec![inline("BTC/USD").unwrap()],
                    depth: 25,
                }],
                ..GatewayConfig::default()
            },
            on_latency: None,
            token_fetch: None,
        },
    )
    .unwrap();
    // Private: orders and executions, the token fetched by a user function
    // whenever the connection drops.
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let token = mock.token().to_owned();
    let mut private_connection = ConnectionConfig::new(mock.url());
    private_connection.tls = Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).unwrap());
    private_connection.reconnect = ReconnectPolicy {
        base: Duration::from_millis(20),
        ..ReconnectPolicy::default()
    };
    let private = Exchange::start(
        "kraken-private",
        Kraken::new(Some(Secret::new("stale-token")), Tier::Starter),
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection: private_connection,
            gateway: GatewayConfig {
                subscriptions: vec![Subscription::Executions {
                    snapshot_orders: true,
                    snapshot_trades: false,
                }],
                ..GatewayConfig::default()
            },
            on_latency: None,
            token_fetch: Some(Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(Secret::new(token.clone()))
            })),
        },
    )
    .unwrap();
    let mut public_seen = Vec::new();
    poll_until(&public, &mut public_seen, |s| {
        s.iter()
            .any(|e| matches!(e, GatewayEvent::Market(Event::Book(b)) if b.snapshot))
    });
    assert_eq!(
        public
            .gateway()
            .core()
            .lock()
            .venue()
            .book("BTC/USD")
            .unwrap()
            .bids()
            .len(),
        25
    );
    // The stale token is refused...
    let mut seen = Vec::new();
    poll_until(&private, &mut seen, |s| {
        s.iter().any(|e| matches!(e, GatewayEvent::Reply(Event::Response(r)) if !r.ok && r.message.as_deref() == Some("ESession:Invalid session")))
    });
    // ...a drop fetches a fresh one, and the reconnect's subscription and the
    // next order go through with it.
    mock.inject(Fault::Disconnect);
    private.place_order(&resting_buy("lost-in-the-drop")).ok();
    poll_until(&private, &mut seen, |s| {
        s.iter().any(|e| matches!(e, GatewayEvent::Connection(ConnectionEvent::Connected { attempt }) if *attempt >= 1))
            && s.iter().any(|e| matches!(e, GatewayEvent::Reply(Event::Response(r)) if r.ok && r.method == Method::Subscribe))
    });
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // Inside the public book's 25 levels (the house bids 45281.5..45283.9).
    let mut order = resting_buy("with-fresh-token");
    order.price = Some("45283.0".parse().unwrap());
    order.qty = "0.5".parse().unwrap();
    private.place_order(&order).unwrap();
    poll_until(&private, &mut seen, |s| {
        status_of(s, "with-fresh-token") == Some(OrderStatus::New)
    });
    // The public connection saw the new order's level in its book.
    poll_until(&public, &mut public_seen, |_| {
        public
            .gateway()
            .core()
            .lock()
            .venue()
            .book("BTC/USD")
            .is_some_and(|b| {
                b.bid_qty_at("45283.0".parse().unwrap()) == Some("2.00000000".parse().unwrap())
            })
    });
}

#[test]
fn the_latency_callback_runs_on_the_polling_thread_with_microsecond_figures() {
    use std::sync::{Arc, Mutex};
    type Sample = (
        u64,
        Method,
        Option<String>,
        u64,
        bool,
        std::thread::ThreadId,
    );
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let sink = samples.clone();
    let mut connection = ConnectionConfig::new(mock.url());
    connection.tls = Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).unwrap());
    let exchange = Exchange::start(
        "kraken-latency",
        Kraken::new(Some(Secret::new(mock.token())), Tier::Starter),
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection,
            gateway: gateway_config(),
            on_latency: Some(Box::new(move |req_id, method, request, reply, latency| {
                sink.lock().unwrap().push((
                    req_id,
                    method,
                    request.client_order_id.map(|c| c.to_string()),
                    latency.nanos,
                    matches!(reply, Event::OrderAck(_)) && latency.venue_time_in.is_some(),
                    std::thread::current().id(),
                ));
            })),
            token_fetch: None,
        },
    )
    .unwrap();
    let mut seen = Vec::new();
    poll_until(&exchange, &mut seen, |s| subscribed(s) >= 2);
    mock.inject(Fault::Delay(Duration::from_millis(50)));
    let Submission::Sent { req_id } = exchange.place_order(&resting_buy("timed")).unwrap() else {
        panic!("not rate limited")
    };
    // The executions stream may say `new` before the delayed ack: wait for
    // the ack itself.
    poll_until(&exchange, &mut seen, |s| {
        s.iter().any(
            |e| matches!(e, GatewayEvent::Reply(Event::OrderAck(a)) if a.req_id == Some(req_id)),
        )
    });
    let samples = samples.lock().unwrap();
    let place = samples
        .iter()
        .find(|s| s.1 == Method::Place)
        .expect("a place sample");
    assert_eq!(place.0, req_id);
    assert_eq!(place.2.as_deref(), Some("timed"));
    assert!(
        place.3 >= 50_000_000,
        "includes the 50 ms delay: {} ns",
        place.3
    );
    assert!(place.4, "an ack with the venue's time_in");
    assert_eq!(
        place.5,
        std::thread::current().id(),
        "called on the polling thread"
    );
    assert!(samples.iter().filter(|s| s.1 == Method::Subscribe).count() >= 2);
}
