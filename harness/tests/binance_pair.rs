//! The gateway against the mock Binance WebSocket API in virtual time
//! (`BinancePair`): a 429 from another session's orders and the back-off
//! to `retryAfter`, a `serverShutdown` in the middle of a burst, a
//! signature the venue refuses, and a `session.logon` refused for good
//! (no reconnect) or accepted. No socket, no clock: the ten-second
//! back-off runs in milliseconds. `binance_e2e.rs` keeps the demo and the
//! ping/pong keepalive over real TLS.

use std::collections::HashMap;
use std::time::Duration;

use orderwire::mock::binance::{BinancePair, BinanceStreamsPair, Fault, MockConfig};
use orderwire::mock::pair::WALL_ORIGIN_NS;
use orderwire::mock::session::{MockSession, Output};
use orderwire_engine::gateway::{Cause, ConnectionEvent, GatewayConfig, GatewayEvent, WhenLimited};
use orderwire_protocol::model::{
    CancelOrders, ClientOrderId, Event, Method, NewOrder, OrderKind, OrderRef, OrderStatus,
    RejectReason, Request, Side, Subscription, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::Offline;
use orderwire_protocol::venue::binance::{BinanceApi, Credentials, Signer};

fn pair(mock: MockConfig, secret: &str) -> BinancePair {
    let venue = BinanceApi::new(Some(Credentials {
        api_key: Secret::new(MockConfig::default().api_key),
        signer: Signer::Hmac(Secret::new(secret)),
    }));
    let gateway = GatewayConfig {
        when_limited: WhenLimited::Queue { capacity: 4096 },
        subscriptions: vec![Subscription::Executions {
            snapshot_orders: false,
            snapshot_trades: false,
        }],
        ..GatewayConfig::default()
    };
    BinancePair::new(mock, venue, gateway)
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

/// Each order's transitions, in order.
fn transitions(seen: &[GatewayEvent]) -> HashMap<ClientOrderId, Vec<(OrderStatus, Cause)>> {
    let mut out: HashMap<ClientOrderId, Vec<(OrderStatus, Cause)>> = HashMap::new();
    for event in seen {
        if let GatewayEvent::Order(o) = event {
            out.entry(o.client_order_id)
                .or_default()
                .push((o.status, o.cause));
        }
    }
    out
}

fn last(seen: &[GatewayEvent], name: &str) -> Option<OrderStatus> {
    seen.iter().rev().find_map(|e| match e {
        GatewayEvent::Order(o) if &*o.client_order_id == name => Some(o.status),
        _ => None,
    })
}

fn subscribed(seen: &[GatewayEvent]) -> bool {
    seen.iter().any(|e| matches!(e, GatewayEvent::Reply(Event::Response(r)) if r.ok && r.method == Method::Subscribe))
}

#[test]
fn a_429_backs_the_gateway_off_until_retry_after_and_no_order_is_lost() {
    // The venue allows 20 orders per 10 s; the gateway learns that from
    // the first reply's rateLimits. Another session on the account then
    // places 15 that the gateway cannot know of: its burst meets 429s.
    let mut pair = pair(
        MockConfig {
            orders_per_10s: 20,
            ..MockConfig::default()
        },
        "mock-hmac-secret",
    );
    assert!(pair.run_until(Duration::from_secs(1), subscribed));
    pair.inject(Fault::ForeignOrders(15));
    let names: Vec<String> = (0..20).map(|n| format!("burst-{n:02}")).collect();
    let started = pair.now();
    for name in &names {
        pair.submit(Request::Place(&order(name))).unwrap();
    }
    assert!(pair.run_until(Duration::from_secs(30), |s| {
        names.iter().all(|n| last(s, n) == Some(OrderStatus::New))
    }));
    // The refused ones waited for the window (10 s) to free room.
    let waited = pair.now() - started;
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
        "{waited:?}"
    );
    let stats = pair.mock.stats();
    assert!(stats.throttled >= 1, "the venue refused some: {stats:?}");
    assert!(
        pair.events()
            .iter()
            .any(|e| matches!(e, GatewayEvent::Reply(Event::Throttled { .. })))
    );
    assert_eq!(
        stats.banned, 0,
        "never a request during the back-off: {stats:?}"
    );
    let transitions = transitions(pair.events());
    for name in &names {
        assert_eq!(
            pair.mock.orders_with_client_id(name),
            1,
            "{name} placed exactly once"
        );
        let seen = &transitions[&inline::<48>(name).unwrap()];
        assert!(
            !seen.iter().any(|(s, _)| *s == OrderStatus::Rejected),
            "{name} was never reported rejected: {seen:?}"
        );
    }
}

#[test]
fn a_server_shutdown_mid_burst_reconnects_and_every_order_ends_exactly_once() {
    let mut pair = pair(
        MockConfig {
            shutdown_grace: Duration::from_secs(3),
            ..MockConfig::default()
        },
        "mock-hmac-secret",
    );
    assert!(pair.run_until(Duration::from_secs(1), subscribed));
    let names: Vec<String> = (0..40).map(|n| format!("sd-{n:02}")).collect();
    for (n, name) in names.iter().enumerate() {
        if n == 15 {
            pair.inject(Fault::ServerShutdown);
            // Let the notice arrive while the burst goes on.
            assert!(pair.run_until(Duration::from_secs(1), |s| {
                s.iter()
                    .any(|e| matches!(e, GatewayEvent::Problem(Event::ServerShutdown { .. })))
            }));
        }
        pair.submit(Request::Place(&order(name))).unwrap();
        pair.run_for(Duration::from_millis(1));
    }
    assert!(pair.run_until(Duration::from_secs(30), |s| {
        names.iter().all(|n| last(s, n) == Some(OrderStatus::New))
    }));
    assert!(pair.mock.stats().connections >= 2, "it reconnected");
    assert!(
        pair.events()
            .iter()
            .any(|e| matches!(e, GatewayEvent::Recycle { .. })),
        "the gateway asked for the reconnect once drained"
    );
    for name in &names {
        let cancel = CancelOrders {
            symbol: inline("BTCUSDT"),
            orders: vec![OrderRef::ClientOrderId(inline(name).unwrap())],
        };
        pair.submit(Request::Cancel(&cancel)).unwrap();
    }
    assert!(pair.run_until(Duration::from_secs(30), |s| {
        names
            .iter()
            .all(|n| last(s, n) == Some(OrderStatus::Canceled))
    }));
    let transitions = transitions(pair.events());
    for name in &names {
        assert_eq!(
            pair.mock.orders_with_client_id(name),
            1,
            "{name} placed exactly once"
        );
        assert_eq!(pair.mock.order_status(name), Some("CANCELED"));
        let terminal = transitions[&inline::<48>(name).unwrap()]
            .iter()
            .filter(|(s, _)| s.is_terminal())
            .count();
        assert_eq!(terminal, 1, "{name} reached one terminal state once");
    }
    let stats = pair.mock.stats();
    assert_eq!(stats.shutdown_notices, 1);
    assert_eq!((stats.throttled, stats.banned), (0, 0));
}

#[test]
fn a_signature_the_venue_rejects_is_reported_clearly() {
    let mut pair = pair(MockConfig::default(), "not-the-secret");
    pair.submit(Request::Place(&order("badsig"))).unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |s| {
        last(s, "badsig") == Some(OrderStatus::Rejected)
    }));
    let rejects: Vec<(String, String, RejectReason)> = pair
        .events()
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Reply(Event::OrderReject(r)) => {
                Some((r.code.clone(), r.message.clone(), r.reason))
            }
            _ => None,
        })
        .collect();
    assert!(
        rejects.contains(&(
            "-1022".to_owned(),
            "Signature for this request is not valid.".to_owned(),
            RejectReason::BadSignature
        )),
        "{rejects:?}"
    );
    assert!(pair.mock.stats().bad_signatures >= 1);
    assert_eq!(pair.mock.orders_with_client_id("badsig"), 0);
}

#[test]
fn the_venue_pings_and_the_pair_answers_as_the_engine_does() {
    let mut pair = pair(
        MockConfig {
            ping_every: Duration::from_millis(50),
            pong_timeout: Duration::from_millis(400),
            ..MockConfig::default()
        },
        "mock-hmac-secret",
    );
    pair.run_for(Duration::from_secs(10));
    // The last ping's pong is 100 µs behind it.
    pair.run_for(Duration::from_millis(1));
    let stats = pair.mock.stats();
    assert_eq!(stats.pings, 200, "one every 50 ms: {stats:?}");
    assert_eq!(stats.pongs, 200, "each answered with its payload");
    assert_eq!(stats.pong_timeouts, 0);
    assert_eq!(stats.connections, 1);
}

/// The market streams in virtual time: the open sequence's SUBSCRIBE is
/// acknowledged, a trade made through the API of the same venue arrives as
/// a normalised trade, and the venue's pings over three virtual minutes are
/// all answered, so nothing is dropped.
#[test]
fn streams_deliver_trades_and_keep_the_connection_alive() {
    let symbol = inline("BTCUSDT").unwrap();
    let gateway = GatewayConfig {
        subscriptions: vec![
            Subscription::Trades {
                symbols: vec![symbol],
            },
            Subscription::Ticker {
                symbols: vec![symbol],
            },
        ],
        ..GatewayConfig::default()
    };
    let mut pair = BinanceStreamsPair::new(MockConfig::default(), "/ws", gateway);
    assert!(pair.run_until(Duration::from_millis(5), |seen| {
        seen.iter()
            .any(|e| matches!(e, GatewayEvent::Connection(_)))
    }));
    pair.run_for(Duration::from_millis(5));
    // A buy through the house asks, placed on the API of the same venue.
    let mut api = pair.mock.api_session(pair.now());
    let mut codec = BinanceApi::new(Some(Credentials {
        api_key: Secret::new(MockConfig::default().api_key),
        signer: Signer::Hmac(Secret::new("mock-hmac-secret")),
    }));
    let mut offline = Offline::new(7);
    offline.wall_ns = WALL_ORIGIN_NS + i64::try_from(pair.now().as_nanos()).unwrap();
    let mut taker = order("taker");
    taker.price = Some("95000.0".parse().unwrap());
    let mut frame = Vec::new();
    offline
        .encode(&mut codec, 1, &Request::Place(&taker), &mut frame)
        .unwrap();
    api.handle_text(pair.now(), std::str::from_utf8(&frame).unwrap());
    let reply = std::iter::from_fn(|| api.poll_output()).find_map(|o| match o {
        Output::Text(text) => Some(text),
        _ => None,
    });
    assert!(reply.unwrap().contains(r#""status":"FILLED""#));
    assert!(pair.run_until(Duration::from_millis(50), |seen| {
        seen.iter().any(|e| {
            matches!(e, GatewayEvent::Market(Event::Trade(t)) if t.symbol == symbol && t.side == Some(Side::Buy))
        })
    }));
    assert!(
        pair.events()
            .iter()
            .any(|e| matches!(e, GatewayEvent::Market(Event::Ticker(_))))
    );
    pair.run_for(Duration::from_secs(180));
    let stats = pair.mock.stats();
    assert!(stats.pings >= 8, "{stats:?}");
    assert_eq!(stats.pongs, stats.pings);
    assert_eq!(stats.pong_timeouts, 0);
    assert_eq!(stats.connections, 1);
}

/// A `session.logon` pair: the mock knows the public half of `mock_key`,
/// the gateway signs with `signing_key`.
fn logon_pair(mock_key: [u8; 32], signing_key: [u8; 32]) -> BinancePair {
    let mock = MockConfig {
        ed25519_public: Some(
            ed25519_dalek::SigningKey::from_bytes(&mock_key)
                .verifying_key()
                .to_bytes(),
        ),
        hmac_secret: None,
        ..MockConfig::default()
    };
    let mut venue = BinanceApi::new(Some(Credentials {
        api_key: Secret::new(MockConfig::default().api_key),
        signer: Signer::ed25519_from_bytes(&signing_key),
    }));
    venue.set_session_logon(true);
    let gateway = GatewayConfig {
        subscriptions: vec![Subscription::Executions {
            snapshot_orders: false,
            snapshot_trades: false,
        }],
        ..GatewayConfig::default()
    };
    BinancePair::new(mock, venue, gateway)
}

fn login_outcomes(seen: &[GatewayEvent]) -> (usize, Vec<bool>) {
    let mut logged_in = 0;
    let mut refusals = Vec::new();
    for event in seen {
        match event {
            GatewayEvent::Connection(ConnectionEvent::LoggedIn) => logged_in += 1,
            GatewayEvent::Connection(ConnectionEvent::LoginRefused { permanent, .. }) => {
                refusals.push(*permanent)
            }
            _ => {}
        }
    }
    (logged_in, refusals)
}

#[test]
fn a_logon_the_venue_refuses_for_good_closes_the_connection_and_never_reconnects() {
    // The mock knows another key: the logon's signature is refused with
    // -1022, which Binance means for good (a wrong key stays wrong).
    let mut pair = logon_pair([7; 32], [8; 32]);
    pair.run_for(Duration::from_secs(30));
    let (logged_in, refusals) = login_outcomes(pair.events());
    assert_eq!((logged_in, refusals), (0, vec![true]));
    assert_eq!(pair.mock.stats().connections, 1, "no reconnect in 30 s");
    assert!(pair.mock.stats().bad_signatures >= 1);
}

#[test]
fn the_key_the_venue_knows_logs_on_and_the_user_data_stream_follows() {
    let mut pair = logon_pair([7; 32], [7; 32]);
    assert!(pair.run_until(Duration::from_secs(1), subscribed));
    assert_eq!(login_outcomes(pair.events()), (1, vec![]));
    assert_eq!(pair.mock.stats().connections, 1);
}
