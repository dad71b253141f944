//! The gateway against the mock KIS in virtual time (`KisPair`): PINGPONG
//! answered, a silent client dropped, a reconnect that replays every
//! registration (one made at runtime too), OPSP8996 on a second session
//! with no reconnect loop, the 42nd registration refused before anything
//! is sent, and notices of orders placed over REST as order and fill
//! events.

use std::time::Duration;

use orderwire::mock::kis::{KisMock, KisPair, MockConfig};
use orderwire::mock::pair::Pair;
use orderwire::mock::session::{MockSession, Output};
use orderwire_engine::gateway::{
    ConnectionEvent, GatewayConfig, GatewayCore, GatewayEvent, SubmitError,
};
use orderwire_protocol::model::{Event, Method, OrderStatus, Request, Side, Subscription, inline};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::kis::Kis;

fn config() -> MockConfig {
    MockConfig {
        pingpong_every: Duration::from_secs(1),
        pong_timeout: Duration::from_secs(3),
        ..MockConfig::default()
    }
}

fn venue(mock: &MockConfig) -> Kis {
    Kis::new(Secret::new(mock.approval_key.clone())).with_hts_id(&mock.hts_id)
}

fn trades(codes: &[&str]) -> Subscription {
    Subscription::Trades {
        symbols: codes.iter().map(|c| inline(c).unwrap()).collect(),
    }
}

fn gateway(subscriptions: Vec<Subscription>) -> GatewayConfig {
    GatewayConfig {
        subscriptions,
        subscription_silence: None,
        ..GatewayConfig::default()
    }
}

fn acks(events: &[GatewayEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, GatewayEvent::Reply(Event::Response(r)) if r.ok && r.method == Method::Subscribe))
        .count()
}

fn dec(text: &str) -> orderwire_protocol::num::Decimal {
    text.parse().unwrap()
}

#[test]
fn pingpong_is_answered_and_the_connection_lives_on() {
    let mock = config();
    let mut pair = KisPair::new(
        mock.clone(),
        venue(&mock),
        gateway(vec![trades(&["005930"])]),
    );
    pair.run_for(Duration::from_secs(10));
    let stats = pair.mock.stats();
    assert!(stats.pingpongs >= 9, "{stats:?}");
    // The last may still be on its way back.
    assert!(
        stats.answered + 1 >= stats.pingpongs,
        "every one answered: {stats:?}"
    );
    assert_eq!((stats.silent_drops, stats.connections), (0, 1));
}

#[test]
fn a_client_that_answers_no_pingpong_is_dropped() {
    let mock = KisMock::new(config(), 0);
    let mut session = mock.session(1, Instant::ZERO);
    let mut outputs = Vec::new();
    for ms in (0..5_000).step_by(100) {
        session.handle_timeout(Instant(ms * 1_000_000));
        while let Some(output) = session.poll_output() {
            outputs.push(output);
        }
    }
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, Output::Text(t) if t.contains("PINGPONG")))
    );
    assert_eq!(outputs.last(), Some(&Output::Drop), "{outputs:?}");
    assert!(session.is_ended());
    assert_eq!(mock.stats().silent_drops, 1);
}

#[test]
fn a_reconnect_replays_every_registration_including_one_made_at_runtime() {
    let mock = config();
    let notices = Subscription::Executions {
        snapshot_orders: false,
        snapshot_trades: false,
    };
    let mut pair = KisPair::new(
        mock.clone(),
        venue(&mock),
        gateway(vec![trades(&["005930"]), notices]),
    );
    assert!(pair.run_until(Duration::from_secs(1), |s| acks(s) == 2));
    let book = Subscription::Book {
        symbols: vec![inline("000660").unwrap()],
        depth: 10,
    };
    pair.submit(Request::Subscribe(&book)).unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |s| acks(s) == 3));
    pair.mock.drop_connections();
    assert!(pair.run_until(Duration::from_secs(2), |s| acks(s) == 6));
    let stats = pair.mock.stats();
    assert_eq!(
        (stats.connections, stats.subscribes, stats.repeats),
        (2, 6, 0)
    );
}

#[test]
fn a_second_session_on_the_key_is_refused_for_good_with_no_reconnect_loop() {
    let mock = config();
    let kis = KisMock::new(mock.clone(), 0);
    // Another client holds the key's session.
    let _first = kis.session(99, Instant::ZERO);
    let core = GatewayCore::new(venue(&mock), gateway(vec![trades(&["005930"])]));
    let mut pair = Pair::with(core, kis);
    pair.run_for(Duration::from_secs(30));
    let refusals: Vec<bool> = pair
        .events()
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Connection(ConnectionEvent::LoginRefused { message, permanent })
                if message.starts_with("OPSP8996") =>
            {
                Some(*permanent)
            }
            _ => None,
        })
        .collect();
    assert_eq!(refusals, [true]);
    let stats = pair.mock.stats();
    assert_eq!(stats.refused_sessions, 1);
    assert_eq!(stats.connections, 2, "the other client's and ours, once");
}

#[test]
fn the_42nd_registration_is_refused_before_anything_is_sent() {
    let mock = config();
    let codes: Vec<String> = (1..=41).map(|n| format!("{n:06}")).collect();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let mut pair = KisPair::new(mock.clone(), venue(&mock), gateway(vec![trades(&codes)]));
    assert!(pair.run_until(Duration::from_secs(1), |s| acks(s) == 41));
    let refused = pair.submit(Request::Subscribe(&trades(&["000042"])));
    assert_eq!(
        refused,
        Err(SubmitError::SubscriptionCap {
            cap: 41,
            held: 41,
            asked: 1
        })
    );
    pair.run_for(Duration::from_millis(100));
    let stats = pair.mock.stats();
    assert_eq!((stats.subscribes, stats.over_cap), (41, 0), "nothing sent");
}

#[test]
fn notices_of_orders_placed_over_rest_are_order_and_fill_events() {
    let mock = config();
    let notices = Subscription::Executions {
        snapshot_orders: false,
        snapshot_trades: false,
    };
    let mut pair = KisPair::new(mock.clone(), venue(&mock), gateway(vec![notices]));
    assert!(pair.run_until(Duration::from_secs(1), |s| acks(s) == 1));
    // Crosses two house levels (100 shares each at 73,200 and 73,300).
    let order = pair
        .mock
        .place(pair.now(), "005930", Side::Buy, dec("73300"), dec("150"))
        .unwrap();
    pair.run_for(Duration::from_millis(50));
    let statuses: Vec<(OrderStatus, bool)> = pair
        .events()
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Order(o) if o.client_order_id.as_str() == order => {
                Some((o.status, o.external))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (OrderStatus::New, true),
            (OrderStatus::PartiallyFilled, true),
            (OrderStatus::Filled, true)
        ]
    );
    let fills: Vec<_> = pair
        .events()
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Fill(f) => Some((f.price, f.qty)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fills,
        [(dec("73200"), dec("100")), (dec("73300"), dec("50"))]
    );
    assert!(pair.mock.stats().notices >= 3);
}
