//! The DigiFinex mock over real TLS and WebSocket on loopback: the demo
//! (server.auth, trades, depth and tickers on two markets, the order and
//! balance feeds, zlib frames), and a connection age of a second so the
//! venue's close, the reconnect, the second server.auth and
//! the resubscription happen over real sockets.

use std::time::{Duration, Instant};

use orderwire::demo::DemoOptions;
use orderwire::mock::digifinex::{MockConfig, MockDigiFinex};
use orderwire_engine::gateway::{
    ConnectionEvent, Exchange, ExchangeConfig, GatewayConfig, GatewayEvent,
};
use orderwire_engine::{ConnectionConfig, EngineConfig, TlsConfig};
use orderwire_protocol::model::{Event, OrderStatus, Subscription, inline};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::digifinex::{Credentials, DigiFinex};

#[test]
fn the_digifinex_demo_runs_over_tls_with_zlib_frames() {
    let report = orderwire::demo::run(
        &orderwire::venues::digifinex::DIGIFINEX,
        DemoOptions {
            verbose: false,
            orders: 12,
            progress: false,
            deadline: Duration::from_secs(30),
            record: None,
            events: None,
            ..DemoOptions::default()
        },
    )
    .unwrap();
    assert!(report.all_terminal, "{report:?}");
    // Every fourth order rests and is canceled; the others fill.
    assert_eq!(
        report.by_status,
        [(OrderStatus::Canceled, 3), (OrderStatus::Filled, 9)]
    );
    assert!(report.book_messages > 2, "snapshots, then increments");
    let summary = orderwire::demo::summary(&report);
    assert!(
        summary.contains("server.auth accepted on 1 of 1 connections"),
        "{summary}"
    );
    assert!(summary.contains("order_update "), "{summary}");
    assert!(summary.contains("balance "), "{summary}");
    assert!(summary.contains("trade "), "{summary}");
}

#[test]
fn the_venues_age_close_is_followed_by_reconnect_reauth_and_resubscribe_over_tls() {
    let mock = MockDigiFinex::start(MockConfig {
        // Long enough for a loaded machine to authenticate, subscribe and
        // get the snapshot on each connection.
        max_age: Duration::from_secs(1),
        ..MockConfig::default()
    })
    .unwrap();
    let (api_key, secret) = mock.keys();
    let mut connection = ConnectionConfig::new(mock.url());
    connection.tls = Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).unwrap());
    let symbols = vec![inline("BTC_USDT").unwrap()];
    let exchange = Exchange::start(
        "digifinex-age",
        DigiFinex::private(Credentials {
            api_key: Secret::new(api_key),
            secret: Secret::new(secret),
        }),
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection,
            gateway: GatewayConfig {
                subscriptions: vec![
                    Subscription::Book {
                        symbols: symbols.clone(),
                        depth: 30,
                    },
                    Subscription::Orders { symbols },
                ],
                ..GatewayConfig::default()
            },
            on_request: None,
            token_fetch: None,
            capture: None,
        },
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut connected, mut snapshots, mut disconnects) = (0, 0, 0);
    while (connected < 2 || snapshots < 2) && Instant::now() < deadline {
        exchange.poll(|event, _| match event {
            GatewayEvent::Connection(ConnectionEvent::Connected { .. }) => connected += 1,
            GatewayEvent::Connection(ConnectionEvent::Disconnected { .. }) => disconnects += 1,
            GatewayEvent::Market(Event::Book(b)) if b.snapshot => snapshots += 1,
            _ => {}
        });
        std::thread::yield_now();
    }
    exchange.shutdown(Duration::from_millis(500));
    let stats = mock.stats();
    assert!(connected >= 2 && snapshots >= 2, "{stats:?}");
    assert!(disconnects >= 1);
    assert!(stats.age_closes >= 1, "{stats:?}");
    assert!(
        stats.auths >= 2,
        "authenticated on each connection: {stats:?}"
    );
    assert!(stats.subscribes >= 4, "both subscriptions again: {stats:?}");
    assert_eq!(stats.auth_failures, 0);
}
