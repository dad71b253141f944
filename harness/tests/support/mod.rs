//! Helpers the Kraken test suites share: the subscriptions every scenario
//! starts with, a resting order, and questions asked of the events.
#![allow(dead_code, reason = "each test binary uses a different part")]

use orderwire_engine::gateway::{GatewayConfig, GatewayEvent};
use orderwire_protocol::model::{
    Event, Method, NewOrder, OrderKind, OrderStatus, Side, Subscription, TimeInForce, inline,
};

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
