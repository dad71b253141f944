//! The engine and gateway end to end against the mock Kraken over real TLS
//! WebSocket on loopback: the demo, public and private connections side by
//! side with a token fetched after a drop, and the latency callback on the
//! polling thread. The protocol scenarios (every fault, reconnect and
//! reconciliation, the rate counter, the idle close) run in virtual time in
//! `kraken_pair.rs`.

mod support;

use support::{gateway_config, resting_buy, status_of, subscribed};

use std::time::{Duration, Instant};

use orderwire::demo::{self, DemoOptions};
use orderwire::mock::kraken::{Fault, MockConfig, MockKraken};
use orderwire_engine::gateway::{
    ConnectionEvent, Exchange, ExchangeConfig, GatewayConfig, GatewayEvent, Latency,
    RequestOutcome, Submission,
};
use orderwire_engine::{ConnectionConfig, EngineConfig, ReconnectPolicy, TlsConfig};
use orderwire_protocol::model::{Event, Method, OrderStatus, Subscription, inline};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::kraken::{Kraken, Tier};

const PATIENCE: Duration = Duration::from_secs(20);

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
        // Real sockets: give the reactor and the mock the core, no sleep.
        std::thread::yield_now();
    }
}

#[test]
fn the_demo_ends_every_order() {
    let report = demo::run(
        &orderwire::venues::kraken::KRAKEN,
        DemoOptions {
            verbose: false,
            orders: 10,
            progress: false,
            deadline: PATIENCE,
            record: None,
            events: None,
            ..DemoOptions::default()
        },
    )
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
            on_request: None,
            token_fetch: None,
            capture: None,
        },
    )
    .unwrap();
    // Private: orders and executions, the token fetched from the mock's
    // REST GetWebSocketsToken, signed with the API key and secret, whenever
    // the connection drops.
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let rest_url = mock.rest_url();
    let (key, secret) = mock.api_credentials();
    let (key, secret) = (Secret::new(key), Secret::new(secret));
    let nonce = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let capture = std::env::temp_dir().join(format!(
        "orderwire-kraken-reconnect-{}.owcap",
        std::process::id()
    ));
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
            on_request: None,
            token_fetch: Some(Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                orderwire::venues::kraken::fetch_ws_token(&rest_url, &key, &secret, &nonce)
                    .map(Secret::new)
                    .map_err(Into::into)
            })),
            // Recorded: a threaded session with a drop, a token refresh
            // and a reconnect, replayed with --check at the end.
            capture: Some(orderwire_engine::capture::CaptureConfig::new(&capture)),
        },
    )
    .unwrap();
    let mut public_seen = Vec::new();
    poll_until(&public, &mut public_seen, |s| {
        s.iter()
            .any(|e| matches!(e, GatewayEvent::Market(Event::Book(b)) if b.snapshot))
    });
    // The book lives in the decoding half of the split codec.
    assert_eq!(
        public
            .gateway()
            .with_decoding_venue(|codec| codec.book("BTC/USD").map(|b| b.bids().len())),
        Some(25)
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
    assert_eq!(mock.stats().tokens_issued, 1, "over REST, signed");
    // Inside the public book's 25 levels (the house bids 89997.5..89999.9).
    let mut order = resting_buy("with-fresh-token");
    order.price = Some("89999.0".parse().unwrap());
    order.qty = "0.5".parse().unwrap();
    private.place_order(&order).unwrap();
    poll_until(&private, &mut seen, |s| {
        status_of(s, "with-fresh-token") == Some(OrderStatus::New)
    });
    // The public connection saw the new order's level in its book.
    poll_until(&public, &mut public_seen, |_| {
        public.gateway().with_decoding_venue(|codec| {
            codec.book("BTC/USD").is_some_and(|b| {
                b.bid_qty_at("89999.0".parse().unwrap()) == Some("2.00000000".parse().unwrap())
            })
        })
    });
    // The private session, drop and reconnect included, replays with every
    // outbound frame identical (the stale and the fresh token are both
    // redacted; the notes cross where they crossed live).
    private.shutdown(Duration::from_millis(200));
    let bytes = std::fs::read(&capture).unwrap();
    std::fs::remove_file(&capture).unwrap();
    assert!(!bytes.windows(11).any(|w| w == b"stale-token"));
    let summary = orderwire::replay::run(
        &orderwire::venues::Venues::builtin(),
        &[("reconnect.owcap".to_owned(), bytes)],
        orderwire::replay::ReplayOptions {
            check: true,
            speed: orderwire::replay::Speed::Max,
            print: false,
            progress: false,
        },
        &mut Vec::new(),
    )
    .unwrap();
    assert!(summary.frames_checked >= 4, "{summary:?}");
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
            on_request: Some(Arc::new(move |outcome: &RequestOutcome<'_>| {
                let latency = outcome.latency.unwrap_or(Latency {
                    nanos: 0,
                    venue_time_in: None,
                    venue_time_out: None,
                });
                sink.lock().unwrap().push((
                    outcome.req_id,
                    outcome.method,
                    outcome.summary.client_order_id.map(|c| c.to_string()),
                    latency.nanos,
                    matches!(outcome.event, Some(Event::OrderAck(_)))
                        && latency.venue_time_in.is_some(),
                    std::thread::current().id(),
                ));
            })),
            token_fetch: None,
            capture: None,
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

/// The token endpoint the mock serves checks what Kraken checks: the key,
/// the signature over path, nonce and body, and a growing nonce; and
/// answers in Kraken's words.
#[test]
fn get_websockets_token_is_signed_and_refused_as_kraken_does() {
    use orderwire::venues::kraken::fetch_ws_token;
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    let (key, secret) = mock.api_credentials();
    let (key, secret) = (Secret::new(key), Secret::new(secret));
    let nonce = std::sync::atomic::AtomicU64::new(0);
    let url = mock.rest_url();
    assert_eq!(
        fetch_ws_token(&url, &key, &secret, &nonce).unwrap(),
        mock.token()
    );
    assert_eq!(
        fetch_ws_token(&url, &key, &secret, &nonce).unwrap(),
        mock.token(),
        "each call's nonce is larger than the last"
    );
    let wrong_secret = Secret::new("d3Jvbmctc2VjcmV0");
    let refused = fetch_ws_token(&url, &key, &wrong_secret, &nonce).unwrap_err();
    assert!(refused.contains("EAPI:Invalid signature"), "{refused}");
    assert!(!refused.contains("d3Jvbmc"), "no secret in the error");
    let refused = fetch_ws_token(&url, &Secret::new("other"), &secret, &nonce).unwrap_err();
    assert!(refused.contains("EAPI:Invalid key"), "{refused}");
    // Another client on the same key whose clock is behind: a smaller nonce.
    let behind = std::sync::atomic::AtomicU64::new(0);
    let first = fetch_ws_token(&url, &key, &secret, &nonce);
    assert!(first.is_ok());
    let fresh = std::sync::atomic::AtomicU64::new(u64::MAX / 2);
    assert!(fetch_ws_token(&url, &key, &secret, &fresh).is_ok());
    let refused = fetch_ws_token(&url, &key, &secret, &behind).unwrap_err();
    assert!(refused.contains("EAPI:Invalid nonce"), "{refused}");
    let stats = mock.stats();
    assert_eq!((stats.tokens_issued, stats.rest_refused), (4, 3));
}
