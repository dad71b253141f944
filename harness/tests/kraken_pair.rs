//! The gateway against the mock Kraken in virtual time (`KrakenPair`):
//! every fault the mock injects, reconnect and reconciliation, the rate
//! counter and the idle close. No socket and no clock: each test runs
//! minutes of venue time in milliseconds, and its figures are exact.
//! `kraken_e2e.rs` keeps the real-socket (TLS) paths.

mod support;

use support::{gateway_config, resting_buy, status_of, subscribed};

use std::time::Duration;

use orderwire::mock::kraken::{Fault, KrakenPair, MockConfig};
use orderwire_engine::gateway::{
    ConnectionEvent, DataChannel, GatewayConfig, GatewayEvent, Submission, WhenLimited,
};
use orderwire_protocol::model::{
    CancelOrders, Event, Method, OrderRef, OrderStatus, Request, Subscription, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::kraken::{Kraken, Tier};

const MS: Duration = Duration::from_millis(1);

/// A pair whose gateway believes in the tier `(threshold, decay)` and
/// whose mock enforces `mock.tier`.
fn pair_with(mock: MockConfig, tier: (u64, u64), gateway: GatewayConfig) -> KrakenPair {
    let venue = Kraken::new(
        Some(Secret::new(mock.token.clone())),
        Tier::Custom {
            threshold_milli: tier.0,
            decay_milli_per_sec: tier.1,
        },
    );
    KrakenPair::new(mock, venue, gateway)
}

/// A pair on the default mock, subscribed to the book and executions.
fn subscribed_pair(gateway: GatewayConfig) -> KrakenPair {
    let mut pair = pair_with(MockConfig::default(), (60_000, 1_000), gateway);
    assert!(pair.run_until(Duration::from_secs(1), |s| subscribed(s) >= 2));
    pair
}

#[test]
fn a_delayed_reply_is_still_correlated_and_its_latency_is_the_delay_plus_the_round_trip() {
    let mut pair = subscribed_pair(gateway_config());
    pair.mock.inject(Fault::Delay(150 * MS));
    pair.submit(Request::Place(&resting_buy("delayed")))
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |s| {
        s.iter().any(
            |e| matches!(e, GatewayEvent::Reply(Event::OrderAck(a)) if a.method == Method::Place),
        )
    }));
    let place = pair.core.latency().histogram(Method::Place);
    assert_eq!(place.len(), 1);
    // 150 ms held by the venue, 50 µs each way.
    let expected = 150_100_000;
    assert!(
        place.max().abs_diff(expected) <= expected / 1_000,
        "latency {} ns is the delay plus the round trip",
        place.max()
    );
    assert_eq!(
        pair.core.order(&inline("delayed").unwrap()).unwrap().status,
        OrderStatus::New
    );
}

#[test]
fn a_dropped_reply_times_out_without_inventing_a_reject() {
    let mut pair = subscribed_pair(GatewayConfig {
        request_timeout: 300 * MS,
        ..gateway_config()
    });
    pair.submit(Request::Place(&resting_buy("resting")))
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |s| {
        status_of(s, "resting") == Some(OrderStatus::New)
    }));
    pair.mock.inject(Fault::DropResponse);
    let cancel = CancelOrders {
        symbol: None,
        orders: vec![OrderRef::ClientOrderId(inline("resting").unwrap())],
    };
    let sent_at = pair.now();
    pair.submit(Request::Cancel(&cancel)).unwrap();
    // The executions stream still reports the cancel; the request itself
    // times out at its deadline, and nothing says "rejected".
    assert!(pair.run_until(Duration::from_secs(1), |s| {
        s.iter().any(|e| {
            matches!(
                e,
                GatewayEvent::TimedOut {
                    method: Method::Cancel,
                    ..
                }
            )
        })
    }));
    assert_eq!(pair.now() - sent_at, 300 * MS, "at its deadline exactly");
    assert_eq!(pair.mock.stats().dropped_responses, 1);
    let seen = pair.events();
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, GatewayEvent::Order(o) if o.status == OrderStatus::Rejected))
    );
    assert_eq!(status_of(seen, "resting"), Some(OrderStatus::Canceled));
}

#[test]
fn a_disconnect_reconnects_replays_subscriptions_and_reconciles() {
    let mut pair = subscribed_pair(gateway_config());
    pair.submit(Request::Place(&resting_buy("survivor")))
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |s| {
        status_of(s, "survivor") == Some(OrderStatus::New)
    }));
    pair.mock.inject(Fault::Disconnect);
    // The next request triggers the drop; it never reached the book.
    pair.submit(Request::Place(&resting_buy("in-flight")))
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(5), |s| {
        s.iter().any(|e| matches!(e, GatewayEvent::Connection(ConnectionEvent::Connected { attempt }) if *attempt >= 1))
            && subscribed(s) >= 4
            && status_of(s, "survivor") == Some(OrderStatus::New)
            && status_of(s, "in-flight").is_some_and(OrderStatus::is_terminal)
    }));
    let seen = pair.events();
    let changes: Vec<(String, OrderStatus)> = seen
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Order(o) => Some((o.client_order_id.to_string(), o.status)),
            _ => None,
        })
        .collect();
    assert!(
        changes.contains(&("survivor".to_owned(), OrderStatus::Unknown)),
        "{changes:?}"
    );
    assert_eq!(
        status_of(seen, "in-flight"),
        Some(OrderStatus::Rejected),
        "never reached the venue: absent from the snapshot, never acknowledged"
    );
    assert_eq!(pair.mock.stats().disconnects, 1);
    assert_eq!(pair.mock.stats().connections, 2);
}

#[test]
fn a_corrupt_checksum_resubscribes_and_the_fresh_book_verifies() {
    let mut pair = subscribed_pair(gateway_config());
    pair.mock.inject(Fault::CorruptChecksum);
    // A new best bid (the house's is 89999.9), so the top of the book moves.
    let mut order = resting_buy("moves-the-book");
    order.price = Some("90000.0".parse().unwrap());
    pair.submit(Request::Place(&order)).unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |s| {
        let mismatch = s
            .iter()
            .position(|e| matches!(e, GatewayEvent::Problem(Event::ChecksumMismatch { .. })));
        mismatch.is_some_and(|at| {
            s[at..]
                .iter()
                .any(|e| matches!(e, GatewayEvent::Market(Event::Book(b)) if b.snapshot))
        })
    }));
    pair.run_for(200 * MS);
    let mismatches = pair
        .events()
        .iter()
        .filter(|e| matches!(e, GatewayEvent::Problem(Event::ChecksumMismatch { .. })))
        .count();
    assert_eq!(mismatches, 1, "the fresh snapshot verifies");
    let book = pair.core.venue().book("BTC/USD").unwrap();
    assert_eq!(book.bids().len(), 10);
}

#[test]
fn the_gateway_paces_requests_so_the_venue_never_refuses_them() {
    // A tight counter: 5 units, decaying 4 per second.
    let tier = (5_000, 4_000);
    let mock = MockConfig {
        tier,
        ..MockConfig::default()
    };
    let mut pair = pair_with(mock.clone(), tier, gateway_config());
    assert!(pair.run_until(Duration::from_secs(1), |s| subscribed(s) >= 2));
    let mut queued = 0;
    for n in 0..12 {
        let order = resting_buy(&format!("paced-{n}"));
        if pair.submit(Request::Place(&order)).unwrap() == Submission::Queued {
            queued += 1;
        }
    }
    assert!(queued >= 7, "the gateway held requests back: {queued}");
    assert!(pair.run_until(Duration::from_secs(10), |s| {
        (0..12).all(|n| status_of(s, &format!("paced-{n}")) == Some(OrderStatus::New))
    }));
    assert_eq!(pair.mock.stats().rate_limited, 0);

    // A gateway that believes in a bigger allowance is refused by the venue.
    let mut greedy = pair_with(
        mock,
        (100_000, 20_000),
        GatewayConfig {
            when_limited: WhenLimited::Off,
            ..gateway_config()
        },
    );
    assert!(greedy.run_until(Duration::from_secs(1), |s| subscribed(s) >= 2));
    for n in 0..8 {
        greedy
            .submit(Request::Place(&resting_buy(&format!("greedy-{n}"))))
            .unwrap();
    }
    assert!(greedy.run_until(Duration::from_secs(1), |s| {
        status_of(s, "greedy-7").is_some_and(|x| x != OrderStatus::PendingNew)
    }));
    assert!(greedy.events().iter().any(|e| matches!(e, GatewayEvent::Reply(Event::OrderReject(r)) if r.message == "EOrder:Rate limit exceeded")));
    assert!(greedy.mock.stats().rate_limited >= 1);
}

#[test]
fn the_venue_closes_an_idle_connection_and_pings_keep_it_open() {
    let mock = MockConfig {
        idle_close: 400 * MS,
        ..MockConfig::default()
    };
    // No application pings: the venue closes the idle connection, and the
    // gateway reconnects and subscribes again.
    let mut quiet = pair_with(
        mock.clone(),
        (60_000, 1_000),
        GatewayConfig {
            app_ping_every: Some(Duration::from_secs(3_600)),
            ..gateway_config()
        },
    );
    assert!(quiet.run_until(Duration::from_secs(2), |s| {
        s.iter().any(|e| {
            matches!(
                e,
                GatewayEvent::Connection(ConnectionEvent::Connected { attempt: 1 })
            )
        }) && subscribed(s) >= 4
    }));
    assert_eq!(quiet.mock.stats().idle_closes, 1);
    assert!(quiet.events().iter().any(|e| matches!(
        e,
        GatewayEvent::Connection(ConnectionEvent::Disconnected { .. })
    )));
    // Pings every 100 ms keep it open for a virtual minute.
    let mut busy = pair_with(
        mock,
        (60_000, 1_000),
        GatewayConfig {
            app_ping_every: Some(100 * MS),
            ..gateway_config()
        },
    );
    busy.run_for(Duration::from_secs(60));
    let seen = busy.events();
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
    assert!(pongs >= 590, "a ping answered every 100 ms: {pongs}");
    assert_eq!(busy.mock.stats().idle_closes, 0);
}

#[test]
fn the_same_inputs_give_the_same_events() {
    let run = || {
        let mut pair = subscribed_pair(gateway_config());
        pair.submit(Request::Place(&resting_buy("a"))).unwrap();
        pair.mock.inject(Fault::Disconnect);
        pair.submit(Request::Place(&resting_buy("b"))).unwrap();
        pair.run_for(Duration::from_secs(2));
        format!("{:?}", pair.events())
    };
    assert_eq!(run(), run(), "a replay in virtual time is exact");
}

fn ticker() -> Subscription {
    Subscription::Ticker {
        symbols: vec![inline("BTC/USD").unwrap()],
    }
}

/// Ticker snapshots at or after event `from` (the mock sends one on each
/// subscribe).
fn tickers_since(seen: &[GatewayEvent], from: usize) -> usize {
    seen.iter()
        .skip(from)
        .filter(|e| matches!(e, GatewayEvent::Market(Event::Ticker(_))))
        .count()
}

/// Index of the first `Connected` of attempt 1 or later.
fn reconnected_at(seen: &[GatewayEvent]) -> Option<usize> {
    seen.iter().position(|e| {
        matches!(e, GatewayEvent::Connection(ConnectionEvent::Connected { attempt }) if *attempt >= 1)
    })
}

#[test]
fn a_runtime_subscription_is_replayed_after_a_reconnect_and_watched() {
    let mut pair = subscribed_pair(GatewayConfig {
        subscription_silence: Some(Duration::from_secs(2)),
        ..gateway_config()
    });
    pair.submit(Request::Subscribe(&ticker())).unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |s| tickers_since(s, 0) == 1));
    pair.mock.inject(Fault::Disconnect);
    // The next request meets the drop.
    pair.submit(Request::Ping).unwrap();
    assert!(pair.run_until(Duration::from_secs(5), |s| {
        reconnected_at(s).is_some_and(|at| tickers_since(s, at) == 1)
    }));
    // The mock sends one snapshot per subscribe and nothing after: the
    // watchdog, which watches the runtime ticker too, says so.
    assert!(pair.run_until(Duration::from_secs(10), |s| {
        s.iter().any(|e| {
            matches!(e, GatewayEvent::SubscriptionSilent { channel: DataChannel::Ticker, symbol, .. } if &**symbol == "BTC/USD")
        })
    }));
}

#[test]
fn an_unsubscribed_runtime_subscription_is_not_replayed() {
    let mut pair = subscribed_pair(gateway_config());
    pair.submit(Request::Subscribe(&ticker())).unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |s| tickers_since(s, 0) == 1));
    pair.submit(Request::Unsubscribe(&ticker())).unwrap();
    pair.run_for(Duration::from_millis(100));
    pair.mock.inject(Fault::Disconnect);
    pair.submit(Request::Ping).unwrap();
    // Reconnected, and both configured subscriptions acknowledged again.
    assert!(pair.run_until(Duration::from_secs(5), |s| {
        reconnected_at(s).is_some_and(|at| subscribed(&s[at..]) >= 2)
    }));
    pair.run_for(Duration::from_secs(1));
    let at = reconnected_at(pair.events()).unwrap();
    assert_eq!(tickers_since(pair.events(), at), 0, "the ticker stayed off");
}
