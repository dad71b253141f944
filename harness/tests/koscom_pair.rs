//! The gateway against the mock Koscom in virtual time (`KoscomPair`):
//! init replayed after a reconnect with every subscription (one made at
//! runtime too), a dead heartbeat detected and the link recycled, a
//! request before init refused, a silent init reported, error 47, and the
//! cap refused locally.

use std::time::Duration;

use orderwire::mock::koscom::{KoscomMock, KoscomPair, MockConfig};
use orderwire::mock::session::{MockSession, Output};
use orderwire_engine::gateway::{
    ConnectionEvent, GatewayConfig, GatewayEvent, RecycleCause, SubmitError,
};
use orderwire_protocol::model::{Event, Request, Side, Subscription, inline};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::koscom::Koscom;

fn venue(mock: &MockConfig) -> Koscom {
    Koscom::new(Secret::new(mock.api_key.clone()), "test member")
}

fn codes(list: &[&str]) -> Vec<orderwire_protocol::model::Symbol> {
    list.iter().map(|c| inline(c).unwrap()).collect()
}

fn gateway(subscriptions: Vec<Subscription>) -> GatewayConfig {
    GatewayConfig {
        subscriptions,
        subscription_silence: None,
        request_timeout: Duration::from_secs(2),
        ..GatewayConfig::default()
    }
}

#[test]
fn init_and_every_subscription_are_replayed_after_a_reconnect() {
    let mock = MockConfig::default();
    let subscriptions = vec![
        Subscription::Trades {
            symbols: codes(&["005930"]),
        },
        Subscription::Book {
            symbols: codes(&["000660"]),
            depth: 10,
        },
    ];
    let mut pair = KoscomPair::new(mock.clone(), venue(&mock), gateway(subscriptions));
    pair.run_for(Duration::from_millis(50));
    assert_eq!(
        (pair.mock.stats().inits, pair.mock.stats().subscribes),
        (1, 2)
    );
    let ticker = Subscription::Ticker {
        symbols: codes(&["035420"]),
    };
    pair.submit(Request::Subscribe(&ticker)).unwrap();
    pair.run_for(Duration::from_millis(50));
    assert_eq!(pair.mock.stats().subscribes, 3);
    // Data flows: another account's trade is a tick push.
    let now = pair.now();
    pair.mock
        .house_trade(now, "005930", Side::Buy, "50".parse().unwrap());
    assert!(
        pair.run_until(Duration::from_millis(100), |seen| seen.iter().any(
            |e| matches!(e, GatewayEvent::Market(Event::Trade(t)) if t.symbol.as_str() == "005930")
        ))
    );
    pair.mock.drop_connections();
    pair.run_for(Duration::from_millis(500));
    let stats = pair.mock.stats();
    assert_eq!(
        (stats.connections, stats.inits, stats.subscribes),
        (2, 2, 6)
    );
    assert_eq!(
        stats.before_init, 0,
        "subscriptions waited for init each time"
    );
}

#[test]
fn a_dead_heartbeat_recycles_the_link() {
    let mock = MockConfig::default();
    let mut config = gateway(vec![Subscription::Trades {
        symbols: codes(&["005930"]),
    }]);
    config.app_ping_every = Some(Duration::from_secs(1));
    let mut pair = KoscomPair::new(mock.clone(), venue(&mock), config);
    pair.run_for(Duration::from_millis(1_500));
    assert!(pair.mock.stats().heartbeats >= 1);
    pair.mock.set_mute(true);
    assert!(
        pair.run_until(Duration::from_secs(5), |seen| seen.iter().any(
            |e| matches!(
                e,
                GatewayEvent::Recycle {
                    cause: RecycleCause::KeepaliveUnanswered
                }
            )
        ))
    );
    pair.mock.set_mute(false);
    pair.run_for(Duration::from_millis(500));
    let stats = pair.mock.stats();
    assert_eq!((stats.connections, stats.inits), (2, 2), "{stats:?}");
}

#[test]
fn a_silent_init_is_reported_and_retried() {
    let mock = MockConfig::default();
    let mut pair = KoscomPair::new(mock.clone(), venue(&mock), gateway(Vec::new()));
    pair.mock.set_mute(true);
    assert!(
        pair.run_until(Duration::from_secs(3), |seen| seen.iter().any(
            |e| matches!(e, GatewayEvent::Connection(ConnectionEvent::LoginTimedOut))
        ))
    );
    pair.mock.set_mute(false);
    assert!(
        pair.run_until(Duration::from_secs(1), |seen| seen.iter().any(
            |e| matches!(e, GatewayEvent::Connection(ConnectionEvent::LoggedIn))
        ))
    );
}

#[test]
fn a_request_before_init_and_a_message_that_is_not_json_rpc_are_refused() {
    let mock = KoscomMock::new(MockConfig::default(), 0);
    let mut session = mock.session(Instant::ZERO);
    session.handle_text(
        Instant::ZERO,
        r#"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"preset":"tick","isuSrtCd":"005930"}}"#,
    );
    session.handle_text(
        Instant::ZERO,
        r#"{"jsonrpc" : "2.0" "method" : "heartbeat"}"#,
    );
    let outputs: Vec<String> = std::iter::from_fn(|| session.poll_output())
        .map(|o| match o {
            Output::Text(text) => text,
            other => panic!("{other:?}"),
        })
        .collect();
    let first: serde_json::Value = serde_json::from_str(&outputs[0]).unwrap();
    assert_eq!(
        (first["id"].as_u64(), first["error"]["code"].as_i64()),
        (Some(1), Some(40))
    );
    let second: serde_json::Value = serde_json::from_str(&outputs[1]).unwrap();
    assert_eq!(second["error"]["code"].as_i64(), Some(47));
    assert!(second.get("id").is_none(), "as documented: no id");
    let stats = mock.stats();
    assert_eq!((stats.before_init, stats.not_json_rpc), (1, 1));
}

#[test]
fn the_cap_is_refused_locally_before_anything_is_sent() {
    let mock = MockConfig::default();
    let codec = venue(&mock).with_cap(3);
    let subscriptions = vec![Subscription::Trades {
        symbols: codes(&["005930", "000660", "035420"]),
    }];
    let mut pair = KoscomPair::new(mock, codec, gateway(subscriptions));
    pair.run_for(Duration::from_millis(50));
    // A quote on a code already ticked is a registration of its own.
    let quote = Subscription::Book {
        symbols: codes(&["005930"]),
        depth: 1,
    };
    assert_eq!(
        pair.submit(Request::Subscribe(&quote)),
        Err(SubmitError::SubscriptionCap {
            cap: 3,
            held: 3,
            asked: 1
        })
    );
    pair.run_for(Duration::from_millis(50));
    assert_eq!(pair.mock.stats().subscribes, 3);
}
