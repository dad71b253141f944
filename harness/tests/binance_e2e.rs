//! The engine and gateway end to end against the mock Binance over wss on
//! loopback: the demo, a 429 with back-off, a serverShutdown in the middle
//! of a burst, a refused signature, and the ping/pong keepalive.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orderwire_engine::gateway::{
    Cause, Exchange, ExchangeConfig, GatewayConfig, GatewayEvent, WhenLimited,
};
use orderwire_engine::{ConnectionConfig, EngineConfig, ReconnectPolicy, TlsConfig};
use orderwire_harness::demo::DemoOptions;
use orderwire_harness::mock::binance::{Fault, MockBinance, MockConfig};
use orderwire_protocol::model::{
    CancelOrders, ClientOrderId, Event, NewOrder, OrderKind, OrderRef, OrderStatus, RejectReason,
    Side, Subscription, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::binance::{Binance, Credentials, Signer};

const PATIENCE: Duration = Duration::from_secs(30);

fn exchange(mock: &MockBinance, secret: &str) -> Exchange<Binance> {
    let mut connection = ConnectionConfig::new(mock.api_url());
    connection.tls = Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).unwrap());
    connection.reconnect = ReconnectPolicy {
        base: Duration::from_millis(20),
        ..ReconnectPolicy::default()
    };
    let venue = Binance::api(Some(Credentials {
        api_key: Secret::new(MockConfig::default().api_key),
        signer: Signer::Hmac(Secret::new(secret)),
    }));
    Exchange::start(
        "binance-test",
        venue,
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection,
            gateway: GatewayConfig {
                when_limited: WhenLimited::Queue { capacity: 4096 },
                subscriptions: vec![Subscription::Executions {
                    snapshot_orders: false,
                    snapshot_trades: false,
                }],
                ..GatewayConfig::default()
            },
            on_latency: None,
            token_fetch: None,
        },
    )
    .unwrap()
}

fn order(name: &str) -> NewOrder {
    NewOrder {
        client_order_id: inline(name).unwrap(),
        symbol: inline("BTCUSDT").unwrap(),
        side: Side::Buy,
        kind: OrderKind::Limit,
        // Far under the house bids: it rests.
        price: Some("40000.0".parse().unwrap()),
        qty: "0.01".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

/// Every order event the gateway reported, in order.
#[derive(Default)]
struct Seen {
    transitions: HashMap<ClientOrderId, Vec<(OrderStatus, Cause)>>,
    rejects: Vec<(String, String, RejectReason)>,
    throttled: usize,
    shutdowns: usize,
    subscribed: usize,
}

impl Seen {
    fn poll(&mut self, exchange: &Exchange<Binance>) {
        exchange.poll(|event, _| match event {
            GatewayEvent::Order(o) => self
                .transitions
                .entry(o.client_order_id)
                .or_default()
                .push((o.status, o.cause)),
            GatewayEvent::Reply(Event::OrderReject(r)) => {
                self.rejects
                    .push((r.code.clone(), r.message.clone(), r.reason))
            }
            GatewayEvent::Reply(Event::Throttled { .. }) => self.throttled += 1,
            GatewayEvent::Reply(Event::Response(r))
                if r.ok && r.method == orderwire_protocol::model::Method::Subscribe =>
            {
                self.subscribed += 1
            }
            GatewayEvent::Problem(Event::ServerShutdown { .. }) => self.shutdowns += 1,
            _ => {}
        });
    }

    fn until(&mut self, exchange: &Exchange<Binance>, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.poll(exchange);
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn last(&self, name: &str) -> Option<OrderStatus> {
        self.transitions
            .get(&inline::<48>(name).unwrap())
            .and_then(|t| t.last())
            .map(|t| t.0)
    }
}

#[test]
fn the_binance_demo_runs_every_order_to_a_terminal_state() {
    let report = orderwire_harness::demo_binance::run(DemoOptions {
        orders: 15,
        progress: false,
        deadline: PATIENCE,
    })
    .unwrap();
    assert!(report.all_terminal, "{report:?}");
    let count = |status| {
        report
            .by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(count(OrderStatus::Filled), 3, "every fifth crosses");
    assert_eq!(
        count(OrderStatus::Canceled),
        12 + 3,
        "the rest end canceled, with the three cancel-replaced orders and their replacements"
    );
    assert!(report.fills >= 3);
    assert_eq!(report.checksum_mismatches, 0, "no U/u gap");
}

#[test]
fn a_429_backs_the_engine_off_until_retry_after_and_no_order_is_lost() {
    // The venue allows 20 orders per 10 s; the gateway learns that from
    // the first reply's rateLimits. Another session on the account then
    // places 15 that the gateway cannot know of: its burst meets 429s.
    let mock = MockBinance::start(MockConfig {
        orders_per_10s: 20,
        ..MockConfig::default()
    })
    .unwrap();
    let exchange = exchange(&mock, "mock-hmac-secret");
    let mut seen = Seen::default();
    seen.until(&exchange, "the user data stream", |s| s.subscribed >= 1);
    mock.inject(Fault::ForeignOrders(15));
    let names: Vec<String> = (0..20).map(|n| format!("burst-{n:02}")).collect();
    for name in &names {
        exchange.place_order(&order(name)).unwrap();
    }
    let started = Instant::now();
    seen.until(&exchange, "every order accepted", |s| {
        names.iter().all(|n| s.last(n) == Some(OrderStatus::New))
    });
    // The refused ones waited for the window (10 s) to free room.
    assert!(started.elapsed() >= Duration::from_secs(9));
    let stats = mock.stats();
    assert!(stats.throttled >= 1, "the venue refused some: {stats:?}");
    assert!(seen.throttled >= 1);
    assert_eq!(
        stats.banned, 0,
        "never a request during the back-off: {stats:?}"
    );
    for name in &names {
        assert_eq!(
            mock.orders_with_client_id(name),
            1,
            "{name} placed exactly once"
        );
        let transitions = &seen.transitions[&inline::<48>(name).unwrap()];
        assert!(
            !transitions.iter().any(|(s, _)| *s == OrderStatus::Rejected),
            "{name} was never reported rejected: {transitions:?}"
        );
    }
    exchange.shutdown(Duration::from_secs(1));
}

#[test]
fn a_server_shutdown_mid_burst_reconnects_and_every_order_ends_exactly_once() {
    let mock = MockBinance::start(MockConfig {
        shutdown_grace: Duration::from_secs(3),
        ..MockConfig::default()
    })
    .unwrap();
    let exchange = exchange(&mock, "mock-hmac-secret");
    let mut seen = Seen::default();
    seen.until(&exchange, "the user data stream", |s| s.subscribed >= 1);
    let names: Vec<String> = (0..40).map(|n| format!("sd-{n:02}")).collect();
    for (n, name) in names.iter().enumerate() {
        if n == 15 {
            mock.inject(Fault::ServerShutdown);
            // Let the notice arrive while the burst goes on.
            seen.until(&exchange, "the notice", |s| s.shutdowns >= 1);
        }
        exchange.place_order(&order(name)).unwrap();
    }
    seen.until(&exchange, "every order accepted", |s| {
        names.iter().all(|n| s.last(n) == Some(OrderStatus::New))
    });
    assert!(mock.stats().connections >= 2, "it reconnected");
    for name in &names {
        let cancel = CancelOrders {
            symbol: inline("BTCUSDT"),
            orders: vec![OrderRef::ClientOrderId(inline(name).unwrap())],
        };
        exchange.cancel_orders(&cancel).unwrap();
    }
    seen.until(&exchange, "every cancel", |s| {
        names
            .iter()
            .all(|n| s.last(n) == Some(OrderStatus::Canceled))
    });
    for name in &names {
        assert_eq!(
            mock.orders_with_client_id(name),
            1,
            "{name} placed exactly once"
        );
        assert_eq!(mock.order_status(name), Some("CANCELED"));
        let terminal = seen.transitions[&inline::<48>(name).unwrap()]
            .iter()
            .filter(|(s, _)| s.is_terminal())
            .count();
        assert_eq!(terminal, 1, "{name} reached one terminal state once");
    }
    let stats = mock.stats();
    assert_eq!(stats.shutdown_notices, 1);
    assert_eq!((stats.throttled, stats.banned), (0, 0));
    exchange.shutdown(Duration::from_secs(1));
}

#[test]
fn a_signature_the_venue_rejects_is_reported_clearly() {
    let mock = MockBinance::start(MockConfig::default()).unwrap();
    let exchange = exchange(&mock, "not-the-secret");
    let mut seen = Seen::default();
    exchange.place_order(&order("badsig")).unwrap();
    seen.until(&exchange, "the reject", |s| {
        s.last("badsig") == Some(OrderStatus::Rejected)
    });
    assert!(
        seen.rejects.contains(&(
            "-1022".to_owned(),
            "Signature for this request is not valid.".to_owned(),
            RejectReason::BadSignature
        )),
        "{:?}",
        seen.rejects
    );
    assert!(mock.stats().bad_signatures >= 1);
    assert_eq!(mock.orders_with_client_id("badsig"), 0);
    exchange.shutdown(Duration::from_secs(1));
}

#[test]
fn the_engine_answers_pings_and_a_client_that_does_not_is_dropped() {
    let mock = MockBinance::start(MockConfig {
        ping_every: Duration::from_millis(50),
        pong_timeout: Duration::from_millis(400),
        ..MockConfig::default()
    })
    .unwrap();
    let exchange = exchange(&mock, "mock-hmac-secret");
    let mut seen = Seen::default();
    seen.until(&exchange, "the user data stream", |s| s.subscribed >= 1);
    let deadline = Instant::now() + PATIENCE;
    while mock.stats().pongs < 10 {
        assert!(Instant::now() < deadline, "{:?}", mock.stats());
        seen.poll(&exchange);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        mock.stats().pong_timeouts,
        0,
        "the engine answered every ping"
    );

    // A client that never reads never answers: the venue drops it.
    let roots = {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_file_iter(mock.ca_file()).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        roots
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let url = mock.api_url();
    let port: u16 = url
        .trim_start_matches("wss://localhost:")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let tls =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let (_silent, _) =
        tungstenite::client(url.as_str(), rustls::StreamOwned::new(tls, tcp)).unwrap();
    let deadline = Instant::now() + PATIENCE;
    while mock.stats().pong_timeouts == 0 {
        assert!(Instant::now() < deadline, "{:?}", mock.stats());
        seen.poll(&exchange);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        exchange.gateway().core().lock().is_connected(),
        "the engine stayed up"
    );
    exchange.shutdown(Duration::from_secs(1));
}
