//! The gateway over the Binance codec, in virtual time: strict rolling
//! windows checked by an independent model, the venue's rateLimits
//! counts, 429 back-off, serverShutdown and age-limit drains, and
//! reconciliation by order.status.

mod support;

use support::drive::{Drive, Frames};

use std::collections::VecDeque;
use std::time::Duration;

use orderwire_engine::gateway::{
    Cause, GatewayConfig, GatewayCore, GatewayEvent, Outputs, RateBudget, WhenLimited,
};
use orderwire_protocol::model::{
    AmendOrder, CancelOrders, CancelReplace, NewOrder, OrderKind, OrderRef, OrderStatus,
    ReplaceMode, Request, Side, Subscription, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::binance::{BinanceApi, Credentials, Signer};
use proptest::prelude::*;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

fn binance() -> BinanceApi {
    BinanceApi::new(Some(Credentials {
        api_key: Secret::new("key"),
        signer: Signer::Hmac(Secret::new("secret")),
    }))
}

fn config() -> GatewayConfig {
    GatewayConfig {
        when_limited: WhenLimited::Queue { capacity: 10_000 },
        rate_headroom_percent: 0,
        ..GatewayConfig::default()
    }
}

fn order(client: &str) -> NewOrder {
    NewOrder {
        client_order_id: inline(client).unwrap(),
        symbol: inline("BTCUSDT").unwrap(),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some("100.5".parse().unwrap()),
        qty: "1".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

fn core() -> GatewayCore<BinanceApi> {
    let mut core = GatewayCore::new(binance(), config());
    core.connect_at(0);
    core
}

fn feed(core: &mut GatewayCore<BinanceApi>, now: u64, message: &str, out: &mut Frames) {
    let mut bytes = message.as_bytes().to_vec();
    core.message_at(now, now, &mut bytes, out);
}

/// Whether the core asked for the connection to be recycled (the events
/// since the last look are taken).
fn recycled(core: &mut GatewayCore<BinanceApi>) -> bool {
    outputs(core)
        .events
        .iter()
        .any(|e| matches!(e, GatewayEvent::Recycle { .. }))
}

fn outputs(core: &mut GatewayCore<BinanceApi>) -> Outputs {
    let mut spare = Outputs::default();
    core.poll_events(&mut spare);
    spare
}

fn statuses(outputs: &Outputs) -> Vec<(String, OrderStatus, Cause)> {
    outputs
        .events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Order(o) => Some((o.client_order_id.to_string(), o.status, o.cause)),
            _ => None,
        })
        .collect()
}

fn place_ack(id: u64, client: &str, order_id: u64) -> String {
    format!(
        r#"{{"id":{id},"status":200,"result":{{"symbol":"BTCUSDT","orderId":{order_id},"orderListId":-1,"clientOrderId":"{client}","transactTime":1660801715639}}}}"#
    )
}

/// Runs the timers up to `until`.
fn run_until(core: &mut GatewayCore<BinanceApi>, now: &mut u64, until: u64, out: &mut Frames) {
    let mut spins = 0;
    while let Some(at) = core.next_timeout().filter(|at| *at <= until) {
        spins += 1;
        assert!(spins < 100_000, "no progress at {at}");
        *now = at.max(*now);
        core.timeout_at(*now, out);
        if core.queued_requests() == 0 && core.next_timeout().is_none_or(|a| a > until) {
            break;
        }
    }
    *now = until;
}

/// One request as the independent checker sees it.
#[derive(Debug, Clone, Copy)]
struct Sent {
    at: u64,
    weight: u64,
    orders: u64,
}

/// The most units any rolling window of `window` ns held (strict: a unit
/// sent at `t` counts in (t - window, t]).
fn peak(sends: &[Sent], window: u64, units: impl Fn(&Sent) -> u64) -> u64 {
    let mut in_window: VecDeque<(u64, u64)> = VecDeque::new();
    let mut total = 0;
    let mut peak = 0;
    for sent in sends {
        while let Some(&(at, n)) = in_window.front() {
            if at + window > sent.at {
                break;
            }
            in_window.pop_front();
            total -= n;
        }
        let n = units(sent);
        in_window.push_back((sent.at, n));
        total += n;
        peak = peak.max(total);
    }
    peak
}

fn weight_of(method: &str) -> (u64, u64) {
    match method {
        "order.place" => (1, 1),
        "order.cancelReplace" => (1, 1),
        "order.cancel" | "openOrders.cancelAll" | "ping" => (1, 0),
        "order.amend.keepPriority" | "order.status" => (4, 0),
        "depth" => (50, 0),
        other => panic!("unexpected {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Whatever is submitted and whenever, what leaves never puts more
    /// than 6000 weight in any rolling minute or 50 orders in any rolling
    /// 10 s, checked by a model that knows only the sends.
    #[test]
    fn binance_windows_are_never_exceeded(
        steps in proptest::collection::vec((0u64..300, 0u8..6), 1..400)
    ) {
        let mut core = core();
        let mut out = Frames::default();
        let mut now = 0;
        let mut seen = 0;
        let mut sends = Vec::new();
        let mut open: Vec<String> = Vec::new();
        let record = |core: &mut GatewayCore<BinanceApi>, out: &mut Frames, now: u64, seen: &mut usize, sends: &mut Vec<Sent>| {
            while *seen < out.0.len() {
                let value = out.json(*seen);
                let method = value["method"].as_str().unwrap().to_owned();
                let (weight, orders) = weight_of(&method);
                sends.push(Sent { at: now, weight, orders });
                let id = value["id"].as_u64().unwrap();
                if method == "order.place" {
                    let client = value["params"]["newClientOrderId"].as_str().unwrap().to_owned();
                    feed(core, now, &place_ack(id, &client, id), out);
                } else {
                    // Any other success: an empty result acknowledges it.
                    feed(core, now, &format!(r#"{{"id":{id},"status":200,"result":{{}}}}"#), out);
                }
                *seen += 1;
            }
        };
        for (n, (gap_ms, kind)) in steps.into_iter().enumerate() {
            let target = now + gap_ms * MS;
            while let Some(at) = core.next_timeout().filter(|at| *at <= target) {
                now = at.max(now);
                core.timeout_at(now, &mut out);
                record(&mut core, &mut out, now, &mut seen, &mut sends);
                if core.queued_requests() == 0 { break; }
            }
            now = target;
            let symbol = inline("BTCUSDT");
            match kind {
                0 if !open.is_empty() => {
                    let name = open.remove(0);
                    let cancel = CancelOrders { symbol, orders: vec![OrderRef::ClientOrderId(inline(&name).unwrap())] };
                    let _ = core.submit_at(now, Request::Cancel(&cancel), &mut out);
                }
                1 if !open.is_empty() => {
                    let amend = AmendOrder { order: OrderRef::ClientOrderId(inline(&open[0]).unwrap()), symbol, price: None, qty: Some("0.5".parse().unwrap()) };
                    let _ = core.submit_at(now, Request::Amend(&amend), &mut out);
                }
                2 => {
                    let _ = core.submit_at(now, Request::BookSnapshot { symbol: inline("BTCUSDT").unwrap(), limit: 1000 }, &mut out);
                }
                _ => {
                    let name = format!("o{n}");
                    if core.submit_at(now, Request::Place(&order(&name)), &mut out).is_ok() {
                        open.push(name);
                    }
                }
            }
            record(&mut core, &mut out, now, &mut seen, &mut sends);
        }
        prop_assert!(peak(&sends, 60 * SEC, |s| s.weight) <= 6_000);
        prop_assert!(peak(&sends, 10 * SEC, |s| s.orders) <= 50, "ORDERS peaked at {}", peak(&sends, 10 * SEC, |s| s.orders));
        prop_assert!(peak(&sends, 86_400 * SEC, |s| s.orders) <= 160_000);
    }
}

#[test]
fn a_gcra_with_burst_would_overshoot_where_the_rolling_window_does_not() {
    // 50 orders at t=0, then one every 200 ms: a token bucket of 50
    // refilled at 5/s lets the 51st go at 200 ms (51 in 10 s); the rolling
    // window holds it until the first leaves the window at 10 s.
    let mut core = core();
    let mut out = Frames::default();
    for n in 0..60 {
        core.submit_at(0, Request::Place(&order(&format!("b{n}"))), &mut out)
            .unwrap();
    }
    assert_eq!(out.0.len(), 50, "the first 50 leave at once");
    let mut now = 0;
    run_until(&mut core, &mut now, 10 * SEC - 1, &mut out);
    // (Unanswered, the 50 time out at 5 s and are queried with order.status.)
    let places = out.methods().iter().filter(|m| *m == "order.place").count();
    assert_eq!(places, 50, "nothing more inside the first 10 s");
    run_until(&mut core, &mut now, 10 * SEC, &mut out);
    let places = out.methods().iter().filter(|m| *m == "order.place").count();
    assert_eq!(places, 60, "the rest leave as the first ones expire");
}

#[test]
fn the_venues_rate_limit_count_wins() {
    let mut core = core();
    let mut out = Frames::default();
    core.submit_at(0, Request::Place(&order("a")), &mut out)
        .unwrap();
    // Another session on the same account has used 48 of the 50: the
    // venue counts 49 with ours.
    feed(
        &mut core,
        MS,
        r#"{"id":1,"status":200,"result":{"symbol":"BTCUSDT","orderId":1,"orderListId":-1,"clientOrderId":"a","transactTime":1},"rateLimits":[{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":49},{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":49}]}"#,
        &mut out,
    );
    core.submit_at(2 * MS, Request::Place(&order("b")), &mut out)
        .unwrap();
    assert_eq!(out.0.len(), 2, "one more fits (49 + 1 = 50)");
    let queued = core
        .submit_at(3 * MS, Request::Place(&order("c")), &mut out)
        .unwrap();
    assert_eq!(
        queued,
        orderwire_engine::gateway::Submission::Queued,
        "the 51st waits though we sent only 3"
    );
    // A venue count below ours (it expired some) frees room at once.
    let mut core = GatewayCore::new(binance(), config());
    core.connect_at(0);
    let mut out = Frames::default();
    for n in 0..50 {
        core.submit_at(0, Request::Place(&order(&format!("x{n}"))), &mut out)
            .unwrap();
    }
    feed(
        &mut core,
        MS,
        r#"{"id":50,"status":200,"result":{"symbol":"BTCUSDT","orderId":50,"orderListId":-1,"clientOrderId":"x49","transactTime":1},"rateLimits":[{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":40}]}"#,
        &mut out,
    );
    for n in 0..10 {
        assert!(matches!(
            core.submit_at(2 * MS, Request::Place(&order(&format!("y{n}"))), &mut out),
            Ok(orderwire_engine::gateway::Submission::Sent { .. })
        ));
    }
}

#[test]
fn a_429_backs_off_until_retry_after_and_resends_the_order_once() {
    let mut core = core();
    let mut out = Frames::default();
    core.submit_at(0, Request::Place(&order("r1")), &mut out)
        .unwrap();
    // retryAfter is wall time in ms; the core's wall clock is its engine
    // clock here (offset 0): 3 s from now.
    feed(
        &mut core,
        MS,
        r#"{"id":1,"status":429,"error":{"code":-1003,"msg":"Too much request weight used.","data":{"serverTime":0,"retryAfter":3000}}}"#,
        &mut out,
    );
    let first = outputs(&mut core);
    assert!(
        statuses(&first).is_empty(),
        "not rejected: the venue did not act on it"
    );
    assert_eq!(core.queued_requests(), 1, "it waits at the front");
    core.submit_at(2 * MS, Request::Place(&order("r2")), &mut out)
        .unwrap();
    let mut now = 2 * MS;
    run_until(&mut core, &mut now, 3 * SEC - 1, &mut out);
    assert_eq!(out.0.len(), 1, "nothing leaves before retryAfter");
    run_until(&mut core, &mut now, 3 * SEC, &mut out);
    assert_eq!(out.methods(), ["order.place"; 3]);
    let clients: Vec<_> = (1..3)
        .map(|i| out.json(i)["params"]["newClientOrderId"].clone())
        .collect();
    assert_eq!(
        clients,
        ["r1", "r2"],
        "the refused order first, then the rest"
    );
    let (id_r1, id_r2) = (
        out.json(1)["id"].as_u64().unwrap(),
        out.json(2)["id"].as_u64().unwrap(),
    );
    feed(&mut core, now, &place_ack(id_r1, "r1", 11), &mut out);
    feed(&mut core, now, &place_ack(id_r2, "r2", 12), &mut out);
    assert_eq!(
        core.order(&inline("r1").unwrap()).unwrap().status,
        OrderStatus::New
    );
    assert_eq!(
        core.order(&inline("r2").unwrap()).unwrap().status,
        OrderStatus::New
    );
}

#[test]
fn server_shutdown_drains_then_recycles_and_queued_orders_go_on_the_new_connection() {
    let mut core = core();
    let mut out = Frames::default();
    for n in 0..3 {
        core.submit_at(0, Request::Place(&order(&format!("s{n}"))), &mut out)
            .unwrap();
    }
    feed(
        &mut core,
        MS,
        r#"{"event":{"e":"serverShutdown","E":1770123456789}}"#,
        &mut out,
    );
    assert!(core.is_draining());
    for n in 3..5 {
        assert_eq!(
            core.submit_at(2 * MS, Request::Place(&order(&format!("s{n}"))), &mut out)
                .unwrap(),
            orderwire_engine::gateway::Submission::Queued
        );
    }
    assert_eq!(out.0.len(), 3, "nothing new on a closing connection");
    core.timeout_at(3 * MS, &mut out);
    assert!(
        !recycled(&mut core),
        "in-flight requests are answered first"
    );
    for n in 0..3u64 {
        feed(
            &mut core,
            4 * MS,
            &place_ack(n + 1, &format!("s{n}"), n + 1),
            &mut out,
        );
    }
    core.timeout_at(5 * MS, &mut out);
    assert!(recycled(&mut core), "drained: recycle");
    assert!(!recycled(&mut core), "once");
    core.disconnect_at(6 * MS);
    core.connect_at(7 * MS);
    let mut now = 7 * MS;
    run_until(&mut core, &mut now, 8 * MS, &mut out);
    // The three acked orders were live at the drop: order.status for each,
    // then the two queued places.
    let methods = out.methods();
    assert_eq!(methods.iter().filter(|m| *m == "order.place").count(), 5);
    assert_eq!(methods.iter().filter(|m| *m == "order.status").count(), 3);
    for n in 0..5 {
        let name = format!("s{n}");
        let sent = (0..out.0.len())
            .filter(|i| out.json(*i)["params"]["newClientOrderId"] == name.as_str())
            .count();
        assert_eq!(sent, 1, "{name} sent exactly once");
    }
    assert_eq!(
        core.order(&inline("s3").unwrap()).unwrap().status,
        OrderStatus::PendingNew,
        "a queued order was never on the old connection: not unknown"
    );
}

#[test]
fn the_age_limit_drains_before_the_venue_cuts_the_connection() {
    let mut core = GatewayCore::new(
        binance(),
        GatewayConfig {
            max_connection_age: Some(Duration::from_secs(60)),
            reconnect_margin: Duration::from_secs(10),
            ..config()
        },
    );
    core.connect_at(0);
    let mut out = Frames::default();
    assert_eq!(core.next_timeout(), Some(50 * SEC));
    core.timeout_at(50 * SEC, &mut out);
    assert!(core.is_draining());
    core.timeout_at(50 * SEC + 1, &mut out);
    assert!(recycled(&mut core));
}

#[test]
fn unknown_orders_are_reconciled_by_order_status() {
    let mut core = core();
    let mut out = Frames::default();
    core.submit_at(0, Request::Place(&order("f")), &mut out)
        .unwrap();
    core.submit_at(0, Request::Place(&order("g")), &mut out)
        .unwrap();
    core.submit_at(0, Request::Place(&order("h")), &mut out)
        .unwrap();
    // h: the venue does not know whether it acted (-1007).
    feed(
        &mut core,
        MS,
        r#"{"id":3,"status":400,"error":{"code":-1007,"msg":"Timeout waiting for response from backend server. Send status unknown; execution status unknown."}}"#,
        &mut out,
    );
    core.disconnect_at(2 * MS);
    core.connect_at(3 * MS);
    outputs(&mut core);
    core.timeout_at(4 * MS, &mut out);
    let queries: Vec<_> = (3..out.0.len())
        .map(|i| out.json(i))
        .filter(|v| v["method"] == "order.status")
        .map(|v| {
            (
                v["id"].as_u64().unwrap(),
                v["params"]["origClientOrderId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(queries.len(), 3, "{queries:?}");
    for (id, client) in queries {
        let reply = match client.as_str() {
            "f" => format!(
                r#"{{"id":{id},"status":200,"result":{{"symbol":"BTCUSDT","orderId":7,"clientOrderId":"f","price":"100.5","origQty":"1","executedQty":"1","status":"FILLED","side":"BUY","updateTime":5}}}}"#
            ),
            "g" => format!(
                r#"{{"id":{id},"status":400,"error":{{"code":-2013,"msg":"Order does not exist."}}}}"#
            ),
            _ => format!(
                r#"{{"id":{id},"status":200,"result":{{"symbol":"BTCUSDT","orderId":9,"clientOrderId":"h","price":"100.5","origQty":"1","executedQty":"0","status":"NEW","side":"BUY","updateTime":5}}}}"#
            ),
        };
        feed(&mut core, 5 * MS, &reply, &mut out);
    }
    let settled = statuses(&outputs(&mut core));
    assert!(settled.contains(&("f".into(), OrderStatus::Filled, Cause::Reconciled)));
    assert!(settled.contains(&("g".into(), OrderStatus::Rejected, Cause::Reconciled)));
    assert!(settled.contains(&("h".into(), OrderStatus::New, Cause::Reconciled)));
    assert_eq!(core.count_orders(OrderStatus::Unknown), 0);
}

#[test]
fn cancel_replace_settles_both_orders() {
    let mut core = core();
    let mut out = Frames::default();
    core.submit_at(0, Request::Place(&order("old")), &mut out)
        .unwrap();
    feed(&mut core, MS, &place_ack(1, "old", 100), &mut out);
    let replace = CancelReplace {
        cancel: OrderRef::ClientOrderId(inline("old").unwrap()),
        mode: ReplaceMode::StopOnFailure,
        new_order: order("new"),
    };
    core.submit_at(2 * MS, Request::CancelReplace(&replace), &mut out)
        .unwrap();
    feed(
        &mut core,
        3 * MS,
        r#"{"id":2,"status":200,"result":{"cancelResult":"SUCCESS","newOrderResult":"SUCCESS","cancelResponse":{"symbol":"BTCUSDT","origClientOrderId":"old","orderId":100,"orderListId":-1,"clientOrderId":"c","status":"CANCELED"},"newOrderResponse":{"symbol":"BTCUSDT","orderId":101,"orderListId":-1,"clientOrderId":"new","transactTime":1}}}"#,
        &mut out,
    );
    assert_eq!(
        core.order(&inline("old").unwrap()).unwrap().status,
        OrderStatus::Canceled
    );
    assert_eq!(
        core.order(&inline("new").unwrap()).unwrap().status,
        OrderStatus::New
    );
    assert_eq!(core.pending_requests(), 0, "both halves answered");
    // STOP_ON_FAILURE with a failed cancel: the new order never existed.
    let replace = CancelReplace {
        cancel: OrderRef::ClientOrderId(inline("new").unwrap()),
        mode: ReplaceMode::StopOnFailure,
        new_order: order("newer"),
    };
    core.submit_at(4 * MS, Request::CancelReplace(&replace), &mut out)
        .unwrap();
    feed(
        &mut core,
        5 * MS,
        r#"{"id":3,"status":400,"error":{"code":-2022,"msg":"Order cancel-replace failed.","data":{"cancelResult":"FAILURE","newOrderResult":"NOT_ATTEMPTED","cancelResponse":{"code":-2011,"msg":"Unknown order sent."},"newOrderResponse":null}}}"#,
        &mut out,
    );
    assert_eq!(
        core.order(&inline("new").unwrap()).unwrap().status,
        OrderStatus::New
    );
    assert_eq!(
        core.order(&inline("newer").unwrap()).unwrap().status,
        OrderStatus::Rejected
    );
}

/// Two gateways on one key (the API connection and a second session),
/// sharing one `RateBudget`.
fn sharing_pair() -> [GatewayCore<BinanceApi>; 2] {
    use orderwire_protocol::venue::Venue;
    let budget = RateBudget::new(binance().rate_policy(), 0);
    let make = || {
        let mut core = GatewayCore::new(
            binance(),
            GatewayConfig {
                rate_budget: Some(budget.shared()),
                ..config()
            },
        );
        core.connect_at(0);
        core
    };
    [make(), make()]
}

#[test]
fn two_gateways_on_one_key_without_a_shared_budget_would_overshoot() {
    // Each alone lets 50 orders go at once: 100 in 10 s on one key.
    let mut out = Frames::default();
    for gateway in 0..2 {
        let mut core = core();
        for n in 0..60 {
            let _ = core.submit_at(
                0,
                Request::Place(&order(&format!("g{gateway}-{n}"))),
                &mut out,
            );
        }
    }
    assert_eq!(out.0.len(), 100);
    // Sharing, the two together send 50.
    let mut shared = sharing_pair();
    let mut out = Frames::default();
    for (gateway, core) in shared.iter_mut().enumerate() {
        for n in 0..60 {
            let _ = core.submit_at(
                0,
                Request::Place(&order(&format!("g{gateway}-{n}"))),
                &mut out,
            );
        }
    }
    assert_eq!(out.0.len(), 50);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Two gateways on one key, submitting in any interleaving at any
    /// times: what both send together never puts more than 50 orders in
    /// any rolling 10 s or 6000 weight in any rolling minute, checked by
    /// the same model as the single-gateway test (it knows only the sends).
    #[test]
    fn two_gateways_sharing_a_budget_never_exceed_the_venue_together(
        steps in proptest::collection::vec((0u64..300, 0usize..2, 0u8..4), 1..400)
    ) {
        let mut cores = sharing_pair();
        let mut outs = [Frames::default(), Frames::default()];
        let mut seen = [0usize; 2];
        let mut sends = Vec::new();
        let mut now = 0;
        let record = |core: &mut GatewayCore<BinanceApi>, out: &mut Frames, now: u64, seen: &mut usize, sends: &mut Vec<Sent>| {
            while *seen < out.0.len() {
                let value = out.json(*seen);
                let method = value["method"].as_str().unwrap().to_owned();
                let (weight, orders) = weight_of(&method);
                sends.push(Sent { at: now, weight, orders });
                let id = value["id"].as_u64().unwrap();
                let reply = if method == "order.place" {
                    let client = value["params"]["newClientOrderId"].as_str().unwrap().to_owned();
                    place_ack(id, &client, id)
                } else {
                    format!(r#"{{"id":{id},"status":200,"result":{{}}}}"#)
                };
                feed(core, now, &reply, out);
                *seen += 1;
            }
        };
        for (n, (gap_ms, which, kind)) in steps.into_iter().enumerate() {
            let target = now + gap_ms * MS;
            // Both gateways' timers, in time order, up to the next step.
            loop {
                let due = (0..2)
                    .filter_map(|i| cores[i].next_timeout().filter(|at| *at <= target).map(|at| (at, i)))
                    .min();
                let Some((at, i)) = due else { break };
                if cores[i].queued_requests() == 0 && at > now && cores[i].pending_requests() == 0 {
                    break;
                }
                now = at.max(now);
                cores[i].timeout_at(now, &mut outs[i]);
                record(&mut cores[i], &mut outs[i], now, &mut seen[i], &mut sends);
                if cores.iter().all(|c| c.queued_requests() == 0) { break; }
            }
            now = target;
            let request_core = &mut cores[which];
            if kind == 0 {
                let _ = request_core.submit_at(now, Request::BookSnapshot { symbol: inline("BTCUSDT").unwrap(), limit: 1000 }, &mut outs[which]);
            } else {
                let _ = request_core.submit_at(now, Request::Place(&order(&format!("g{which}-{n}"))), &mut outs[which]);
            }
            record(&mut cores[which], &mut outs[which], now, &mut seen[which], &mut sends);
        }
        sends.sort_by_key(|s| s.at);
        prop_assert!(peak(&sends, 10 * SEC, |s| s.orders) <= 50, "ORDERS peaked at {}", peak(&sends, 10 * SEC, |s| s.orders));
        prop_assert!(peak(&sends, 60 * SEC, |s| s.weight) <= 6_000);
    }
}

const LOGON_OK: &str = r#"{"id":1,"status":200,"result":{"apiKey":"key","authorizedSince":1649729878532,"connectedSince":1649729873021,"returnRateLimits":false,"serverTime":1649729878630,"userDataStream":false}}"#;

/// An Ed25519 key: the only kind Binance takes a `session.logon` with.
fn logging_on() -> GatewayCore<BinanceApi> {
    let venue = BinanceApi::new(Some(Credentials {
        api_key: Secret::new("key"),
        signer: Signer::ed25519_from_bytes(&[9u8; 32]),
    }));
    let mut core = GatewayCore::new(venue, config());
    core.connect_at(0);
    core
}

fn connection_events(core: &mut GatewayCore<BinanceApi>) -> Vec<String> {
    let mut spare = Outputs::default();
    core.poll_events(&mut spare);
    spare
        .events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Connection(c) => Some(format!("{c:?}")),
            _ => None,
        })
        .collect()
}

#[test]
fn the_open_sequence_is_charged_to_the_rate_policy() {
    use orderwire_protocol::venue::Venue;
    let budget = RateBudget::new(binance().rate_policy(), 0);
    let venue = BinanceApi::new(Some(Credentials {
        api_key: Secret::new("key"),
        signer: Signer::ed25519_from_bytes(&[9u8; 32]),
    }));
    let minute = Duration::from_secs(60);
    assert_eq!(budget.window_total(0, "REQUEST_WEIGHT", minute), Some(0));
    let mut core = GatewayCore::new(
        venue,
        GatewayConfig {
            rate_budget: Some(budget.shared()),
            subscriptions: vec![Subscription::Executions {
                snapshot_orders: false,
                snapshot_trades: false,
            }],
            ..config()
        },
    );
    let open = core.connect_at(0);
    assert_eq!(open.len(), 2, "session.logon, then the user data stream");
    // Both cost weight, as the venue counts them.
    assert!(budget.window_total(0, "REQUEST_WEIGHT", minute).unwrap() >= 2);
}

#[test]
fn a_logon_unanswered_by_its_deadline_ends_the_connection_to_reconnect() {
    let mut core = logging_on();
    connection_events(&mut core);
    let mut out = Frames::default();
    core.timeout_at(4 * SEC, &mut out);
    assert!(core.poll_reconnect().is_none(), "still inside the deadline");
    core.timeout_at(6 * SEC, &mut out);
    let events = connection_events(&mut core);
    assert!(events.iter().any(|e| e == "LoginTimedOut"), "{events:?}");
    let cause = core.poll_reconnect().expect("a reconnect");
    assert!(cause.reconnects());
}

#[test]
fn an_accepted_logon_is_reported_and_its_deadline_cleared() {
    let mut core = logging_on();
    let mut out = Frames::default();
    feed(&mut core, MS, LOGON_OK, &mut out);
    assert!(connection_events(&mut core).iter().any(|e| e == "LoggedIn"));
    core.timeout_at(60 * SEC, &mut out);
    assert!(core.poll_reconnect().is_none());
}

#[test]
fn a_logon_refused_for_a_bad_key_stops_reconnecting_and_a_skewed_clock_retries() {
    let mut core = logging_on();
    let mut out = Frames::default();
    feed(
        &mut core,
        MS,
        r#"{"id":1,"status":401,"error":{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}}"#,
        &mut out,
    );
    let events = connection_events(&mut core);
    assert!(
        events
            .iter()
            .any(|e| e.contains("LoginRefused") && e.contains("permanent: true")),
        "{events:?}"
    );
    assert!(!core.poll_reconnect().expect("closed").reconnects());

    let mut core = logging_on();
    feed(
        &mut core,
        MS,
        r#"{"id":1,"status":400,"error":{"code":-1021,"msg":"Timestamp for this request was 1000ms ahead of the server's time."}}"#,
        &mut out,
    );
    let events = connection_events(&mut core);
    assert!(
        events
            .iter()
            .any(|e| e.contains("LoginRefused") && e.contains("permanent: false")),
        "{events:?}"
    );
    assert!(core.poll_reconnect().expect("reconnect").reconnects());
}

#[test]
fn a_logon_the_venue_throttles_is_not_taken_for_logged_in() {
    let mut core = logging_on();
    let mut out = Frames::default();
    feed(
        &mut core,
        MS,
        r#"{"id":1,"status":429,"error":{"code":-1003,"msg":"Too many requests; current limit of IP(127.0.0.1) request weight is 6000 per 1 MINUTE.","data":{"serverTime":1659127093000,"retryAfter":1659127113000}}}"#,
        &mut out,
    );
    let events = connection_events(&mut core);
    assert!(!events.iter().any(|e| e == "LoggedIn"), "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e.contains("LoginRefused") && e.contains("permanent: false")),
        "{events:?}"
    );
}
