//! The gateway against the mock Upbit in virtual time (`UpbitPair`): whole
//! books and trades from one request, the idle close and the resubscribe,
//! PING and UP, the private feed behind a JWT (and a reused nonce refused),
//! the rate limits (a connection storm refused with 429 then 418, requests
//! held back by the gateway so the venue refuses none), and a subscription
//! watchdog firing for the one market the mock goes silent on.

use std::time::Duration;

use orderwire::mock::session::{MockVenue, Refusal};
use orderwire::mock::upbit::{MockConfig, UpbitMock, UpbitPair};
use orderwire_engine::gateway::{ConnectionEvent, DataChannel, GatewayConfig, GatewayEvent};
use orderwire_protocol::model::{Event, OrderStatus, Request, Side, Subscription, Symbol, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::upbit::{Credentials, Upbit};
use orderwire_protocol::venue::{Ctx, Venue};

fn markets() -> Vec<Symbol> {
    vec![inline("KRW-BTC").unwrap(), inline("KRW-ETH").unwrap()]
}

fn public_config() -> GatewayConfig {
    GatewayConfig {
        subscriptions: vec![
            Subscription::Trades { symbols: markets() },
            Subscription::Ticker { symbols: markets() },
            Subscription::Book {
                symbols: markets(),
                depth: 5,
            },
        ],
        ..GatewayConfig::default()
    }
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn books(events: &[GatewayEvent], market: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, GatewayEvent::Market(Event::Book(b)) if b.snapshot && b.symbol.as_str() == market))
        .count()
}

#[test]
fn one_request_gives_whole_books_tickers_and_trades() {
    let mut pair = UpbitPair::new(
        MockConfig::default(),
        Upbit::public(),
        public_config(),
        false,
    );
    pair.run_for(Duration::from_millis(10));
    assert_eq!(pair.mock.stats().requests, 1, "every type in one request");
    assert_eq!(books(pair.events(), "KRW-BTC"), 1, "the SNAPSHOT book");
    assert_eq!(books(pair.events(), "KRW-ETH"), 1);
    pair.mock
        .house_trade(pair.now(), "KRW-BTC", Side::Buy, dec("0.5"));
    pair.run_for(Duration::from_millis(10));
    let trade = pair
        .events()
        .iter()
        .find_map(|e| match e {
            GatewayEvent::Market(Event::Trade(t)) => Some(t.clone()),
            _ => None,
        })
        .expect("a trade");
    assert_eq!(trade.side, Some(Side::Buy));
    assert_eq!(trade.symbol.as_str(), "KRW-BTC");
    assert_eq!(books(pair.events(), "KRW-BTC"), 2, "the book, whole again");
    assert!(pair.events().iter().any(
        |e| matches!(e, GatewayEvent::Market(Event::Ticker(t)) if t.last == Some(trade.price))
    ));
}

#[test]
fn without_keepalive_the_idle_close_comes_and_the_set_is_sent_again() {
    let config = GatewayConfig {
        app_ping_every: Some(Duration::from_secs(3_600)),
        ..public_config()
    };
    let mut pair = UpbitPair::new(MockConfig::default(), Upbit::public(), config, false);
    pair.run_for(Duration::from_secs(121));
    let stats = pair.mock.stats();
    assert_eq!(stats.idle_closes, 1);
    assert_eq!(stats.connections, 2, "reconnected");
    assert_eq!(
        stats.requests, 2,
        "the whole set again on the new connection"
    );
    assert_eq!(books(pair.events(), "KRW-ETH"), 2, "data again");
    assert!(pair.events().iter().any(|e| matches!(
        e,
        GatewayEvent::Connection(ConnectionEvent::Disconnected { .. })
    )));
}

#[test]
fn with_keepalive_ping_keeps_it_open_and_up_repeats() {
    let mut pair = UpbitPair::new(
        MockConfig::default(),
        Upbit::public(),
        public_config(),
        false,
    );
    pair.run_for(Duration::from_secs(300));
    let stats = pair.mock.stats();
    assert_eq!(stats.idle_closes, 0);
    assert_eq!(stats.connections, 1);
    // PING at 60, 120, 180, 240 s; UP at each and every 10 s between.
    assert!(stats.ups >= 24, "{stats:?}");
    let heartbeats = pair
        .events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                GatewayEvent::Market(Event::Heartbeat) | GatewayEvent::Problem(Event::Heartbeat)
            )
        })
        .count();
    let _ = heartbeats;
}

fn keys() -> Credentials {
    let mock = MockConfig::default();
    Credentials {
        access_key: Secret::new(mock.access_key),
        secret_key: Secret::new(mock.secret_key),
    }
}

#[test]
fn the_private_feed_needs_a_fresh_jwt_and_follows_the_accounts_orders() {
    let config = GatewayConfig {
        subscriptions: vec![Subscription::Executions {
            snapshot_orders: false,
            snapshot_trades: false,
        }],
        ..GatewayConfig::default()
    };
    let mut pair = UpbitPair::new(MockConfig::default(), Upbit::private(keys()), config, true);
    pair.run_for(Duration::from_millis(10));
    assert_eq!(pair.mock.stats().refused, 0, "the JWT was accepted");
    // An order over REST that takes two house levels.
    pair.mock
        .place(
            pair.now(),
            "KRW-BTC",
            Side::Buy,
            dec("100500000"),
            dec("2"),
            "svc-1",
        )
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    // Placed over REST, not by the gateway: tracked as an external order,
    // with the same order and fill events as its own.
    let updates: Vec<(OrderStatus, bool)> = pair
        .events()
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Order(o) if o.client_order_id.as_str() == "svc-1" => {
                Some((o.status, o.external))
            }
            _ => None,
        })
        .collect();
    let fills = pair
        .events()
        .iter()
        .filter(
            |e| matches!(e, GatewayEvent::Fill(f) if f.client_order_id.as_deref() == Some("svc-1")),
        )
        .count();
    let balances = pair
        .events()
        .iter()
        .filter(|e| matches!(e, GatewayEvent::Account(Event::Balance(_))))
        .count();
    assert_eq!(
        updates,
        [
            (OrderStatus::New, true),
            (OrderStatus::PartiallyFilled, true),
            (OrderStatus::Filled, true),
        ],
        "wait, trade, trade; the last trade's `done` changes nothing"
    );
    assert_eq!(fills, 2, "one fill per house level taken");
    assert!(balances >= 1, "{:?}", pair.events());
    // The venue's own figures come with the change: average price, value
    // and fee over both levels.
    let filled = pair
        .events()
        .iter()
        .find_map(|e| match e {
            GatewayEvent::Order(o) if o.status == OrderStatus::Filled => Some(o.detail),
            _ => None,
        })
        .expect("filled");
    let (avg, funds) = (filled.avg_price.unwrap(), filled.filled_notional.unwrap());
    assert_eq!(
        avg.checked_mul(dec("2")).map(|v| v.normalized()),
        Some(funds.normalized()),
        "avg_price is executed_funds over the volume"
    );
    assert!(filled.fee.is_some_and(|fee| fee > Decimal::ZERO));
    assert_eq!(filled.fee_asset.as_deref(), Some("KRW"));
    assert_eq!(filled.trades_count, Some(2));
}

#[test]
fn a_reused_nonce_is_refused() {
    let mock = UpbitMock::new(MockConfig::default(), 0);
    let headers = || {
        let mut venue = Upbit::private(keys());
        // The same seed twice: the same nonce twice.
        let mut rng = <rand_chacha::ChaCha8Rng as rand_core::SeedableRng>::seed_from_u64(5);
        let mut ctx = Ctx::new(Instant(0), 0, &mut rng);
        let mut out = Vec::new();
        venue.handshake_headers(&mut ctx, &mut out);
        out.into_iter()
            .map(|(name, value)| (name, value.expose().to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        mock.accept(Instant(0), "/websocket/v1/private", &headers()),
        Ok(())
    );
    let Err(Refusal { status, body, .. }) =
        mock.accept(Instant(1_000_000_000), "/websocket/v1/private", &headers())
    else {
        panic!("a reused nonce was accepted")
    };
    assert_eq!(status, 401);
    assert!(body.contains("INVALID_AUTH"));
    assert_eq!(mock.stats().nonce_reused, 1);
    let mut wrong = headers();
    wrong[0].1.push('x');
    assert!(
        mock.accept(Instant(2_000_000_000), "/websocket/v1/private", &wrong)
            .is_err(),
        "a bad signature"
    );
}

#[test]
fn the_gateway_holds_requests_to_upbits_rate_so_the_venue_refuses_none() {
    let mut pair = UpbitPair::new(
        MockConfig::default(),
        Upbit::public(),
        public_config(),
        false,
    );
    pair.run_for(Duration::from_millis(10));
    // Ten more subscribe requests at once: the venue takes 5 a second.
    for n in 0..10 {
        let symbol: Symbol = inline(&format!("KRW-X{n}")).unwrap();
        let _ = pair.submit(Request::Subscribe(&Subscription::Trades {
            symbols: vec![symbol],
        }));
    }
    pair.run_for(Duration::from_secs(4));
    let stats = pair.mock.stats();
    assert_eq!(stats.rate_refusals, 0, "{stats:?}");
    assert_eq!(stats.requests, 11, "every one went out, spaced");
    let released = pair
        .events()
        .iter()
        .filter(|e| matches!(e, GatewayEvent::Released { .. }))
        .count();
    assert!(released >= 5, "held back and released: {released}");
}

#[test]
fn a_connection_storm_gets_429_then_418() {
    let mock = UpbitMock::new(
        MockConfig {
            connections_per_second: 2,
            ban: Duration::from_secs(30),
            ..MockConfig::default()
        },
        0,
    );
    let at = |ms: u64| Instant(ms * 1_000_000);
    assert!(mock.accept(at(0), "/websocket/v1", &[]).is_ok());
    assert!(mock.accept(at(100), "/websocket/v1", &[]).is_ok());
    assert_eq!(
        mock.accept(at(200), "/websocket/v1", &[])
            .map_err(|e| e.status),
        Err(429)
    );
    let refused = |ms| {
        mock.accept(at(ms), "/websocket/v1", &[])
            .map_err(|e| (e.status, e.retry_after.map(|d| d.as_secs())))
    };
    assert_eq!(refused(300), Err((418, Some(30))), "kept connecting");
    // Knocking during the block earns a longer one, from then.
    assert_eq!(refused(5_000), Err((418, Some(60))), "banned, longer");
    assert_eq!(mock.stats().bans, 2);
    assert!(refused(65_001).is_ok(), "the second block ends");
}

#[test]
fn the_watchdog_fires_for_the_one_market_the_mock_goes_silent_on() {
    let config = GatewayConfig {
        subscription_silence: Some(Duration::from_secs(5)),
        ..public_config()
    };
    let mut pair = UpbitPair::new(MockConfig::default(), Upbit::public(), config, false);
    pair.run_for(Duration::from_millis(10));
    pair.mock.set_silent("KRW-ETH", true);
    for _ in 0..12 {
        for market in ["KRW-BTC", "KRW-ETH"] {
            pair.mock
                .house_trade(pair.now(), market, Side::Sell, dec("0.01"));
        }
        pair.run_for(Duration::from_secs(1));
    }
    let silent: Vec<(DataChannel, String)> = pair
        .events()
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::SubscriptionSilent {
                channel, symbol, ..
            } => Some((*channel, symbol.to_string())),
            _ => None,
        })
        .collect();
    assert!(
        silent.iter().all(|(_, symbol)| symbol == "KRW-ETH"),
        "{silent:?}"
    );
    assert!(
        silent.contains(&(DataChannel::Trades, "KRW-ETH".to_owned())),
        "{silent:?}"
    );
}

/// A 429 at the handshake: the gateway's connection waits the second the
/// refusal asks for (`refusal_floor`, as the engine's reconnect does), so
/// the next attempt is accepted and never earns the 418 ban.
/// The drops whose reason mentions `text` (a refused handshake's status).
fn refused_handshakes(seen: &[GatewayEvent], text: &str) -> Vec<String> {
    seen.iter()
        .filter_map(|e| match e {
            GatewayEvent::Connection(ConnectionEvent::Disconnected { reason }) => {
                Some(format!("{reason:?}"))
            }
            _ => None,
        })
        .filter(|r| r.contains(text))
        .collect()
}

#[test]
fn a_refused_handshake_is_backed_off_from_and_never_banned() {
    let mock = MockConfig {
        connections_per_second: 1,
        idle_close: Duration::from_millis(50),
        ..MockConfig::default()
    };
    let config = GatewayConfig {
        app_ping_every: Some(Duration::from_secs(3_600)),
        ..public_config()
    };
    let mut pair = UpbitPair::new(mock, Upbit::public(), config, false);
    // Closed idle at 50 ms, back at 150 ms: a second connect within the
    // second, refused with 429; then after a second, accepted.
    pair.run_for(Duration::from_millis(1_300));
    let refusals = refused_handshakes(pair.events(), "status");
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(refusals[0].contains("429"), "{refusals:?}");
    let stats = pair.mock.stats();
    assert_eq!(stats.refused, 1, "no 418: {stats:?}");
    assert_eq!(stats.connections, 2, "accepted after the wait: {stats:?}");
    assert_eq!(
        orderwire_engine::refusal_floor(&orderwire_engine::Disconnect::Requested),
        None
    );
}

#[test]
fn a_418_block_longer_than_a_minute_is_waited_out_and_a_second_longer_block_too() {
    let mock = MockConfig {
        // Closed idle every 50 ms, so the client knocks every 150 ms.
        idle_close: Duration::from_millis(50),
        connections_per_second: 100,
        ban: Duration::from_secs(90),
        ..MockConfig::default()
    };
    let config = GatewayConfig {
        app_ping_every: Some(Duration::from_secs(3_600)),
        subscription_silence: None,
        ..public_config()
    };
    let mut pair = UpbitPair::new(mock, Upbit::public(), config, false);
    // Caught over the limit: a 90 s block, longer than the 60 s floor.
    assert_eq!(pair.mock.block(pair.now()), Duration::from_secs(90));
    // Closed idle at 50 ms, refused at 150 ms with the time left.
    pair.run_for(Duration::from_secs(89));
    assert_eq!(pair.mock.stats().refused, 1);
    assert_eq!(
        pair.mock.stats().connections,
        1,
        "no knock before the block ends"
    );
    pair.run_for(Duration::from_secs(2));
    let stats = pair.mock.stats();
    assert!(stats.connections >= 2, "back once it ended: {stats:?}");
    assert_eq!((stats.refused, stats.bans), (1, 1), "never extended");
    // A second block is twice as long, and is waited out the same way.
    assert_eq!(pair.mock.block(pair.now()), Duration::from_secs(180));
    let before = pair.mock.stats().connections;
    pair.run_for(Duration::from_secs(179));
    assert_eq!(pair.mock.stats().connections, before);
    pair.run_for(Duration::from_secs(2));
    let stats = pair.mock.stats();
    assert!(stats.connections > before, "{stats:?}");
    assert_eq!((stats.refused, stats.bans), (2, 2), "never extended");
    let refusals = refused_handshakes(pair.events(), "418");
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(
        refusals[1].contains("retry_after: Some(180s)"),
        "{refusals:?}"
    );
}

fn outputs(session: &mut <UpbitMock as MockVenue>::Session) -> Vec<String> {
    use orderwire::mock::session::{MockSession, Output};
    let mut out = Vec::new();
    while let Some(output) = session.poll_output() {
        if let Output::Binary(bytes) = output {
            out.push(String::from_utf8(bytes).unwrap());
        }
    }
    out
}

/// Upbit's changelog (2025-07-02): a depth other than 1, 5, 15 or 30 is
/// served at the default 30, not refused.
#[test]
fn an_unsupported_depth_is_served_at_thirty() {
    use orderwire::mock::session::MockSession;
    let mock = UpbitMock::new(MockConfig::default(), 0);
    let now = Instant(0);
    mock.accept(now, "/websocket/v1", &[]).unwrap();
    let mut session = mock.open(1, now);
    session.handle_text(
        now,
        r#"[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC.7"]}]"#,
    );
    let sent = outputs(&mut session);
    assert!(!sent.iter().any(|s| s.contains("error")), "{sent:?}");
    let book: serde_json::Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(book["type"], "orderbook");
    assert_eq!(book["orderbook_units"].as_array().unwrap().len(), 30);
}

/// "No data received or sent for 120 s": a connection the mock keeps
/// sending on stays open though the client says nothing.
#[test]
fn the_idle_close_counts_data_in_both_directions() {
    let mock = MockConfig {
        idle_close: Duration::from_millis(500),
        ..MockConfig::default()
    };
    let config = GatewayConfig {
        app_ping_every: Some(Duration::from_secs(3_600)),
        subscription_silence: None,
        ..public_config()
    };
    let mut pair = UpbitPair::new(mock, Upbit::public(), config, false);
    for _ in 0..10 {
        pair.run_for(Duration::from_millis(200));
        pair.mock
            .house_trade(pair.now(), "KRW-BTC", Side::Buy, dec("0.01"));
    }
    assert_eq!(pair.mock.stats().idle_closes, 0, "2 s of pushes, no close");
    pair.run_for(Duration::from_millis(600));
    assert_eq!(pair.mock.stats().idle_closes, 1, "silent both ways: closed");
}

/// The rate-limits page: connections count per IP without authentication
/// and per account with it; a handshake with an `Origin` header has its
/// own limit of one per 10 s; over a limit the error is named as the
/// page's table names it.
#[test]
fn connection_limits_are_scoped_as_documented() {
    let mock = UpbitMock::new(MockConfig::default(), 0);
    let now = Instant(0);
    for _ in 0..5 {
        mock.accept(now, "/websocket/v1", &[]).unwrap();
    }
    let over = mock.accept(now, "/websocket/v1", &[]).unwrap_err();
    assert_eq!(over.status, 429);
    assert!(
        over.body.contains(r#""name":"Too Many Requests""#),
        "{}",
        over.body
    );
    // The account's own count: a private handshake is judged on its JWT.
    let private = mock.accept(now, "/websocket/v1/private", &[]).unwrap_err();
    assert_eq!(private.status, 401, "not counted against the IP's five");
    let origin = [("Origin".to_owned(), "https://example.com".to_owned())];
    let later = Instant(5_000_000_000);
    mock.accept(later, "/websocket/v1", &origin).unwrap();
    let refused = mock.accept(later, "/websocket/v1", &origin).unwrap_err();
    assert_eq!(refused.status, 429, "one per 10 s with an Origin header");
    let after = Instant(15_500_000_000);
    mock.accept(after, "/websocket/v1", &origin).unwrap();
    // Caught again within a second of the 429: blocked, named as Upbit's
    // table names a 418.
    let ban = mock.accept(Instant(15_600_000_000), "/websocket/v1", &origin);
    assert!(ban.is_err());
    let block = mock.block(Instant(16_000_000_000));
    assert!(block > Duration::ZERO);
    let banned = mock
        .accept(Instant(16_100_000_000), "/websocket/v1", &[])
        .unwrap_err();
    assert_eq!(banned.status, 418);
    assert!(banned.body.contains("I'm a teapot"), "{}", banned.body);
}
