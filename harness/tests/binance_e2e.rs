//! The engine and gateway end to end against the mock Binance over real TLS
//! WebSocket on loopback: the demo, and the ping/pong keepalive (the
//! engine's codec answers every ping; a client that never reads is
//! dropped). The protocol scenarios (429 back-off, serverShutdown mid-burst,
//! a refused signature) run in virtual time in `binance_pair.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use orderwire::demo::DemoOptions;
use orderwire::mock::binance::{MockBinance, MockConfig};
use orderwire_engine::gateway::{Exchange, GatewayEvent};
use orderwire_protocol::model::{Event, OrderStatus};
use orderwire_protocol::venue::binance::BinanceApi;

mod support;

use support::binance_on_mock;

const PATIENCE: Duration = Duration::from_secs(30);

fn exchange(mock: &MockBinance, secret: &str) -> Exchange<BinanceApi> {
    let (venue, config) = binance_on_mock(mock, secret);
    Exchange::start("binance-test", venue, config).unwrap()
}

/// What the keepalive test waits for.
#[derive(Default)]
struct Seen {
    subscribed: usize,
}

impl Seen {
    fn poll(&mut self, exchange: &Exchange<BinanceApi>) {
        exchange.poll(|event, _| {
            if let GatewayEvent::Reply(Event::Response(r)) = event {
                if r.ok && r.method == orderwire_protocol::model::Method::Subscribe {
                    self.subscribed += 1;
                }
            }
        });
    }

    fn until(&mut self, exchange: &Exchange<BinanceApi>, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.poll(exchange);
            // Real sockets: give the reactor and the mock the core, no sleep.
            std::thread::yield_now();
        }
    }
}

#[test]
fn the_binance_demo_runs_every_order_to_a_terminal_state() {
    let report = orderwire::demo::run(
        &orderwire::venues::binance::BINANCE,
        DemoOptions {
            verbose: false,
            orders: 15,
            progress: false,
            deadline: PATIENCE,
            record: None,
            events: None,
            ..DemoOptions::default()
        },
    )
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
        std::thread::yield_now();
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
        std::thread::yield_now();
    }
    assert!(
        exchange.gateway().core().lock().is_connected(),
        "the engine stayed up"
    );
    exchange.shutdown(Duration::from_secs(1));
}
