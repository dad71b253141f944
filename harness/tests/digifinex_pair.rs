//! The gateway against the mock DigiFinex in virtual time
//! (`DigiFinexPair`): server.auth, trades, depth and tickers on two markets
//! with the private order and balance feeds; the 2 h close with reconnect,
//! re-auth, resubscribe and the book rebuilt only from a clean snapshot;
//! the gateway's own recycle before it; the silence drop without
//! keepalive; a bad signature; and the corrupt, truncated and bomb frames.

use std::collections::HashMap;
use std::time::Duration;

use orderwire::mock::digifinex::{BookView, DigiFinexPair, Fault, MockConfig};
use orderwire_engine::gateway::{Blame, ConnectionEvent, ErrorKind, GatewayConfig, GatewayEvent};
use orderwire_protocol::book::Book;
use orderwire_protocol::model::{
    Event, Level, Method, OrderStatus, Side, Subscription, Symbol, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::digifinex::{Credentials, DigiFinex};

const MARKETS: [&str; 2] = ["BTC_USDT", "ETH_USDT"];

fn markets() -> Vec<Symbol> {
    MARKETS.iter().map(|m| inline(m).unwrap()).collect()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn venue(secret: &str) -> DigiFinex {
    let mock = MockConfig::default();
    DigiFinex::private(Credentials {
        api_key: Secret::new(mock.api_key),
        secret: Secret::new(secret.to_owned()),
    })
}

fn right_secret() -> String {
    MockConfig::default().api_secret
}

fn config() -> GatewayConfig {
    GatewayConfig {
        subscriptions: vec![
            Subscription::Trades { symbols: markets() },
            Subscription::Book {
                symbols: markets(),
                depth: 30,
            },
            Subscription::Ticker {
                symbols: vec![inline("BTC_USDT").unwrap()],
            },
            Subscription::Orders { symbols: markets() },
            Subscription::TriggerOrders { symbols: markets() },
            Subscription::Balances {
                assets: vec![inline("USDT").unwrap(), inline("BTC").unwrap()],
            },
        ],
        ..GatewayConfig::default()
    }
}

/// Each market's book, built from the book events as a user would: a
/// snapshot replaces it, a delta changes levels.
fn books(pair: &DigiFinexPair) -> HashMap<String, Book> {
    let mut books: HashMap<String, Book> = HashMap::new();
    for event in pair.events() {
        let GatewayEvent::Market(Event::Book(update)) = event else {
            continue;
        };
        let book = books
            .entry(update.symbol.to_string())
            .or_insert_with(|| Book::new(30));
        if update.snapshot {
            book.clear();
        }
        for level in &pair.levels()[update.bids.clone()] {
            book.update_bid(*level);
        }
        for level in &pair.levels()[update.asks.clone()] {
            book.update_ask(*level);
        }
    }
    books
}

fn view(book: &Book) -> BookView {
    let pairs = |levels: &[Level]| levels.iter().map(|l| (l.price, l.qty)).collect();
    BookView {
        asks: pairs(book.asks()),
        bids: pairs(book.bids()),
    }
}

/// Book events by connection: (connection number, snapshot) in order.
fn book_events_by_connection(events: &[GatewayEvent], market: &str) -> Vec<(u32, bool)> {
    let mut connection = 0;
    let mut out = Vec::new();
    for event in events {
        match event {
            GatewayEvent::Connection(ConnectionEvent::Connected { attempt }) => {
                connection = *attempt;
            }
            GatewayEvent::Market(Event::Book(b)) if b.symbol.as_str() == market => {
                out.push((connection, b.snapshot));
            }
            _ => {}
        }
    }
    out
}

fn order_statuses(events: &[GatewayEvent], id: &str) -> Vec<OrderStatus> {
    events
        .iter()
        .filter_map(|e| match e {
            // Placed over REST: tracked as an external order, keyed by the
            // venue's order id (DigiFinex's updates carry no client id).
            GatewayEvent::Order(o) if o.external && o.client_order_id.as_str() == id => {
                Some(o.status)
            }
            _ => None,
        })
        .collect()
}

fn balances(events: &[GatewayEvent]) -> Vec<(String, Decimal, Decimal)> {
    events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Account(Event::Balance(b)) => {
                Some((b.asset.to_string(), b.free, b.locked))
            }
            _ => None,
        })
        .collect()
}

fn subscribed(events: &[GatewayEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, GatewayEvent::Reply(Event::Response(r)) if r.ok))
        .count()
}

#[test]
fn auth_then_market_data_on_two_markets_and_the_private_feeds() {
    let mut pair = DigiFinexPair::new(MockConfig::default(), venue(&right_secret()), config());
    // server.auth, then six subscriptions (order_algo included), each
    // acknowledged.
    assert!(pair.run_until(Duration::from_secs(1), |e| subscribed(e) == 7));
    let stats = pair.mock.stats();
    assert_eq!((stats.auths, stats.auth_failures), (1, 0));
    assert_eq!(stats.snapshots, 2, "a clean snapshot per market");
    for market in MARKETS {
        assert_eq!(
            book_events_by_connection(pair.events(), market),
            [(0, true)]
        );
    }
    // The account's buy crosses the best ask: filled over REST, reported
    // on the order and balance feeds; another account trades too.
    let now = pair.now();
    pair.mock.house_trade(now, "ETH_USDT", Side::Sell, dec("2"));
    let id = pair
        .mock
        .place(now, "BTC_USDT", Side::Buy, dec("90000.05"), dec("2"))
        .unwrap();
    let resting = pair
        .mock
        .place(now, "BTC_USDT", Side::Sell, dec("91000"), dec("0.5"))
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(
        order_statuses(pair.events(), &id),
        [
            OrderStatus::New,
            OrderStatus::PartiallyFilled,
            OrderStatus::Filled
        ],
        "0 unfilled, then 1 partially and 2 fully filled (1.5 at each of two asks)"
    );
    assert_eq!(order_statuses(pair.events(), &resting), [OrderStatus::New]);
    pair.mock.cancel(pair.now(), &resting).unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(
        order_statuses(pair.events(), &resting),
        [OrderStatus::New, OrderStatus::Canceled]
    );
    let moved = balances(pair.events());
    assert!(moved.iter().any(|(c, _, _)| c == "BTC"));
    let usdt: Vec<_> = moved.iter().filter(|(c, _, _)| c == "USDT").collect();
    assert!(!usdt.is_empty());
    // 1.5 at 90000.01 and 0.5 at 90000.02, with the lock at 90000.05
    // refunded.
    let spent = dec("135000.015").checked_add(dec("45000.01")).unwrap();
    let last = usdt.last().unwrap();
    assert_eq!(last.1, dec("1000000").checked_sub(spent).unwrap(), "free");
    assert!(last.2.is_zero(), "nothing left locked: {last:?}");
    assert!(
        moved.iter().all(|(c, _, _)| c == "USDT" || c == "BTC"),
        "only the subscribed currencies"
    );
    // Public trades on both markets, their aggressor sides, and the
    // ticker of the one market subscribed.
    let trades: Vec<_> = pair
        .events()
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Market(Event::Trade(t)) => Some((t.symbol.to_string(), t.side)),
            _ => None,
        })
        .collect();
    assert!(trades.contains(&("BTC_USDT".into(), Some(Side::Buy))));
    assert!(trades.contains(&("ETH_USDT".into(), Some(Side::Sell))));
    assert!(pair.events().iter().any(|e| matches!(
        e,
        GatewayEvent::Market(Event::Ticker(t)) if t.symbol.as_str() == "BTC_USDT"
    )));
    // The books built from a snapshot and the increments match the mock's.
    let books = books(&pair);
    for market in MARKETS {
        assert_eq!(view(&books[market]), pair.mock.book(market, 30), "{market}");
    }
    assert!(pair.mock.stats().increments >= 2);
}

#[test]
fn the_two_hour_close_reconnects_reauthenticates_resubscribes_and_rebuilds_only_from_clean() {
    let mock = MockConfig {
        incremental_before_clean: true,
        ..MockConfig::default()
    };
    // The gateway would recycle at 1 h 50 min: give it a longer age so
    // the venue's close comes first.
    let gateway = GatewayConfig {
        max_connection_age: Some(Duration::from_secs(10 * 3600)),
        ..config()
    };
    let mut pair = DigiFinexPair::new(mock, venue(&right_secret()), gateway);
    pair.run_for(Duration::from_secs(3600));
    let now = pair.now();
    pair.mock.house_trade(now, "BTC_USDT", Side::Buy, dec("2"));
    pair.run_for(Duration::from_secs(3600));
    let now = pair.now();
    pair.mock.house_trade(now, "ETH_USDT", Side::Sell, dec("4"));
    pair.run_for(Duration::from_secs(60));
    let stats = pair.mock.stats();
    assert_eq!(stats.age_closes, 1, "{stats:?}");
    assert_eq!(stats.idle_drops, 0, "server.ping every 30 s kept it alive");
    assert_eq!(stats.connections, 2);
    assert_eq!(stats.auths, 2, "authenticated again");
    assert_eq!(stats.subscribes, 12, "every subscription again");
    assert!(stats.pings >= 230, "{stats:?}");
    assert!(pair.events().iter().any(|e| matches!(
        e,
        GatewayEvent::Connection(ConnectionEvent::Disconnected { .. })
    )));
    // On each connection the mock sent a delta before the snapshot; the
    // codec held it back, so each connection's book starts clean.
    // Two held-back deltas per connection, and the 1 h trade's; the 2 h
    // trade came as the connection closed, so the new snapshot has it.
    assert_eq!(stats.increments, 2 * 2 + 1, "{stats:?}");
    for market in MARKETS {
        let events = book_events_by_connection(pair.events(), market);
        assert_eq!(events.first(), Some(&(0, true)), "{market}: {events:?}");
        let second = events.iter().position(|(c, _)| *c == 1).unwrap();
        assert_eq!(events[second], (1, true), "{market}: {events:?}");
    }
    let books = books(&pair);
    for market in MARKETS {
        assert_eq!(view(&books[market]), pair.mock.book(market, 30), "{market}");
    }
}

#[test]
fn the_gateway_recycles_before_the_venues_two_hour_close() {
    let mut pair = DigiFinexPair::new(MockConfig::default(), venue(&right_secret()), config());
    pair.run_for(Duration::from_secs(2 * 3600 + 60));
    let stats = pair.mock.stats();
    assert_eq!(stats.age_closes, 0, "the venue never had to close it");
    assert_eq!(stats.connections, 2);
    assert_eq!(stats.auths, 2);
    assert!(
        pair.events()
            .iter()
            .any(|e| matches!(e, GatewayEvent::Recycle { .. }))
    );
}

#[test]
fn without_keepalive_the_silence_drop_comes_and_the_gateway_reconnects() {
    let gateway = GatewayConfig {
        app_ping_every: Some(Duration::from_secs(3_600)),
        ..config()
    };
    let mut pair = DigiFinexPair::new(MockConfig::default(), venue(&right_secret()), gateway);
    pair.run_for(Duration::from_secs(61));
    let stats = pair.mock.stats();
    assert_eq!(stats.idle_drops, 1, "{stats:?}");
    assert_eq!(stats.pings, 0);
    assert_eq!(stats.connections, 2, "reconnected");
    assert_eq!(stats.auths, 2);
    assert_eq!(stats.snapshots, 4, "clean books again");

    let mut kept = DigiFinexPair::new(MockConfig::default(), venue(&right_secret()), config());
    kept.run_for(Duration::from_secs(300));
    let stats = kept.mock.stats();
    assert_eq!((stats.idle_drops, stats.connections), (0, 1), "{stats:?}");
    // 30 s after the last frame sent: at 30, 60, .. 270 s.
    assert_eq!(stats.pings, 9, "every 30 s");
}

#[test]
fn a_bad_signature_is_a_refused_login_nothing_is_subscribed_and_it_reconnects() {
    let mut pair = DigiFinexPair::new(MockConfig::default(), venue("not-the-secret"), config());
    // Less than the Pair's 100 ms reconnect delay.
    pair.run_for(Duration::from_millis(50));
    let stats = pair.mock.stats();
    assert_eq!((stats.auths, stats.auth_failures), (0, 1), "{stats:?}");
    let refusals: Vec<(String, bool)> = pair
        .events()
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Connection(ConnectionEvent::LoginRefused { message, permanent }) => {
                Some((message.to_string(), *permanent))
            }
            _ => None,
        })
        .collect();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(
        refusals[0].0.contains("invalid apikey or signature"),
        "{refusals:?}"
    );
    assert!(
        !refusals[0].1,
        "DigiFinex documents no permanent code: retried"
    );
    // The subscriptions waited for the login, so none went out.
    assert_eq!((stats.subscribes, stats.snapshots), (0, 0), "{stats:?}");
    // Closed, and back under the reconnect policy: refused again.
    assert!(pair.run_until(Duration::from_secs(5), |seen| {
        seen.iter()
            .filter(|e| {
                matches!(
                    e,
                    GatewayEvent::Connection(ConnectionEvent::LoginRefused { .. })
                )
            })
            .count()
            >= 2
    }));
    assert!(pair.mock.stats().connections >= 2);
}

#[test]
fn the_subscriptions_wait_for_the_login_to_be_accepted() {
    let mut pair = DigiFinexPair::new(MockConfig::default(), venue(&right_secret()), config());
    assert!(pair.run_until(Duration::from_secs(1), |seen| {
        seen.iter()
            .any(|e| matches!(e, GatewayEvent::Connection(ConnectionEvent::LoggedIn)))
    }));
    let logged_in = pair
        .events()
        .iter()
        .position(|e| matches!(e, GatewayEvent::Connection(ConnectionEvent::LoggedIn)))
        .unwrap();
    let first_ack = pair
        .events()
        .iter()
        .position(|e| matches!(e, GatewayEvent::Reply(Event::Response(r)) if r.ok && r.method == Method::Subscribe));
    pair.run_for(Duration::from_millis(100));
    let stats = pair.mock.stats();
    assert_eq!((stats.auths, stats.auth_failures), (1, 0));
    assert_eq!(
        stats.subscribes, 6,
        "every subscription, once the login was accepted"
    );
    assert!(first_ack.is_none_or(|at| at > logged_in));
}

#[test]
fn corrupt_truncated_and_bomb_frames_are_errors_and_the_connection_goes_on() {
    let mut pair = DigiFinexPair::new(MockConfig::default(), venue(&right_secret()), config());
    pair.run_for(Duration::from_millis(10));
    for fault in [Fault::CorruptZlib, Fault::TruncatedZlib, Fault::Bomb] {
        pair.mock.inject(fault);
    }
    pair.run_for(Duration::from_millis(10));
    let errors: Vec<_> = pair
        .events()
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Error(error) => {
                assert_eq!(error.venue, "digifinex");
                assert_eq!(error.blame, Blame::Peer, "{error}");
                assert!(matches!(error.kind, ErrorKind::Decode(_)), "{error}");
                Some(error.to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("corrupt"), "{errors:?}");
    assert!(errors[1].contains("truncated"), "{errors:?}");
    assert!(errors[2].contains("1048576"), "the bound: {errors:?}");
    // Still connected, and data still decodes.
    let now = pair.now();
    pair.mock
        .house_trade(now, "BTC_USDT", Side::Buy, dec("0.1"));
    pair.run_for(Duration::from_millis(10));
    assert_eq!(pair.mock.stats().connections, 1);
    assert!(
        pair.events()
            .iter()
            .any(|e| matches!(e, GatewayEvent::Market(Event::Trade(_))))
    );
    let books = books(&pair);
    assert_eq!(view(&books["BTC_USDT"]), pair.mock.book("BTC_USDT", 30));
}
