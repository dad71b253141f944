//! Helpers the test suites share: the subscriptions every Kraken scenario
//! starts with, a Binance exchange on its mock, a resting order, and
//! questions asked of the events.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::time::Duration;

use orderwire::mock::binance::{MockBinance, MockConfig as BinanceMockConfig};
use orderwire_engine::gateway::{ExchangeConfig, GatewayConfig, GatewayEvent, WhenLimited};
use orderwire_engine::{ConnectionConfig, EngineConfig, ReconnectPolicy, TlsConfig};
use orderwire_protocol::model::{
    Event, Method, NewOrder, OrderKind, OrderStatus, Side, Subscription, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::binance::{BinanceApi, Credentials, Signer};

/// The book and the executions stream, as every Kraken scenario starts.
pub(crate) fn gateway_config() -> GatewayConfig {
    GatewayConfig {
        subscriptions: vec![
            Subscription::Book {
                symbols: vec![inline("BTC/USD").unwrap()],
                depth: 10,
            },
            Subscription::Executions {
                snapshot_orders: true,
                snapshot_trades: false,
            },
        ],
        ..GatewayConfig::default()
    }
}

/// The last status the events gave order `id`.
pub(crate) fn status_of(seen: &[GatewayEvent], id: &str) -> Option<OrderStatus> {
    seen.iter().rev().find_map(|e| match e {
        GatewayEvent::Order(o) if &*o.client_order_id == id => Some(o.status),
        _ => None,
    })
}

/// How many subscriptions the venue acknowledged.
pub(crate) fn subscribed(seen: &[GatewayEvent]) -> usize {
    seen.iter()
        .filter(|e| matches!(e, GatewayEvent::Reply(Event::Response(r)) if r.method == Method::Subscribe && r.ok))
        .count()
}

/// A buy that rests under the house bids.
pub(crate) fn resting_buy(id: &str) -> NewOrder {
    NewOrder {
        client_order_id: inline(id).unwrap(),
        symbol: inline("BTC/USD").unwrap(),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some("45000.0".parse().unwrap()),
        qty: "0.01".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

/// The Binance API venue signing with `secret` (the mock's key), and an
/// exchange config for the mock: TLS trusting its CA, a quick reconnect,
/// a queueing gateway on the user data stream.
pub(crate) fn binance_on_mock(mock: &MockBinance, secret: &str) -> (BinanceApi, ExchangeConfig) {
    let mut connection = ConnectionConfig::new(mock.api_url());
    connection.tls = Some(TlsConfig::with_extra_ca_file(&mock.ca_file()).unwrap());
    connection.reconnect = ReconnectPolicy {
        base: Duration::from_millis(20),
        ..ReconnectPolicy::default()
    };
    let venue = BinanceApi::new(Some(Credentials {
        api_key: Secret::new(BinanceMockConfig::default().api_key),
        signer: Signer::Hmac(Secret::new(secret)),
    }));
    let config = ExchangeConfig {
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
        on_request: None,
        token_fetch: None,
        capture: None,
    };
    (venue, config)
}
