//! The gateway in virtual time: ordering across threads, rate limits,
//! correlation, timeouts, reconnect reconciliation, latency, the registry.

mod support;

use support::drive::{Drive, Frames};

use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::gateway::{
    Cause, DataChannel, DeadManSwitch, Gateway, GatewayConfig, GatewayCore, GatewayEvent, Outputs,
    Registry, RegistryError, Submission, SubmitError, TimerKind, Transmits, Transport, WhenLimited,
};
use orderwire_protocol::model::{
    CancelOrders, ClientOrderId, Event, Method, NewOrder, OrderKind, OrderRef, OrderStatus,
    Request, Side, Subscription, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::kraken::{Kraken, Tier};
use orderwire_protocol::venue::{
    BookKind, Capabilities, Correlation, Ctx, DecodeError, EncodeError, Expect, FrameKind,
    Frames as VenueFrames, Venue,
};
use parking_lot::Mutex;
use proptest::prelude::*;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

#[derive(Default)]
struct SharedWire(Mutex<Vec<Vec<u8>>>);

impl Transport for SharedWire {
    fn buffer(&self) -> Vec<u8> {
        Vec::new()
    }
    fn send(&self, _kind: FrameKind, frame: Vec<u8>) -> Result<(), Vec<u8>> {
        self.0.lock().push(frame);
        Ok(())
    }
}

fn kraken() -> Kraken {
    Kraken::new(Some(Secret::new("test-token")), Tier::Starter)
}

fn id(text: &str) -> ClientOrderId {
    inline(text).unwrap()
}

fn order(client_id: &str, symbol: &str) -> NewOrder {
    NewOrder {
        client_order_id: id(client_id),
        symbol: inline(symbol).unwrap(),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some("100.5".parse().unwrap()),
        qty: "1".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

fn config(when_limited: WhenLimited) -> GatewayConfig {
    GatewayConfig {
        when_limited,
        // The tests count the venue's exact ceilings.
        rate_headroom_percent: 0,
        ..GatewayConfig::default()
    }
}

fn feed<V: Venue>(core: &mut GatewayCore<V>, now: u64, message: &str, out: &mut Frames) {
    let mut bytes = message.as_bytes().to_vec();
    core.message_at(now, now, &mut bytes, out);
}

fn outputs<V: Venue>(core: &mut GatewayCore<V>) -> Outputs {
    let mut spare = Outputs::default();
    core.poll_events(&mut spare);
    spare
}

fn order_events(outputs: &Outputs) -> Vec<(String, OrderStatus, Cause)> {
    outputs
        .events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Order(o) => Some((o.client_order_id.to_string(), o.status, o.cause)),
            _ => None,
        })
        .collect()
}

fn add_ack(req_id: u64, order_id: &str, cl_ord_id: &str) -> String {
    format!(
        r#"{{"method":"add_order","req_id":{req_id},"result":{{"order_id":"{order_id}","cl_ord_id":"{cl_ord_id}"}},"success":true,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}}"#
    )
}

fn connected<V: Venue>(core: &mut GatewayCore<V>, now: u64) -> Vec<Vec<u8>> {
    let frames = core.connect_at(now);
    frames.iter().map(|(_, f)| f.to_vec()).collect()
}

#[test]
fn requests_leave_in_submission_order_from_many_threads() {
    let gateway = Arc::new(Gateway::new(
        kraken(),
        config(WhenLimited::Off),
        SharedWire::default(),
    ));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let gateway = gateway.clone();
            std::thread::spawn(move || {
                for n in 0..500 {
                    let order = order(&format!("t{t}-{n}"), "BTC/USD");
                    gateway.place_order(Instant(n), &order).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let frames = gateway.transport().0.lock();
    assert_eq!(frames.len(), 2000);
    let mut last_req_id = 0;
    let mut next_per_thread = [0usize; 4];
    for frame in frames.iter() {
        let value: serde_json::Value = serde_json::from_slice(frame).unwrap();
        let req_id = value["req_id"].as_u64().unwrap();
        assert!(
            req_id > last_req_id,
            "req_ids strictly increase on the wire"
        );
        last_req_id = req_id;
        let cl = value["params"]["cl_ord_id"].as_str().unwrap();
        let (thread, n) = cl[1..].split_once('-').unwrap();
        let thread: usize = thread.parse().unwrap();
        assert_eq!(
            n.parse::<usize>().unwrap(),
            next_per_thread[thread],
            "per-thread order kept"
        );
        next_per_thread[thread] += 1;
    }
}

#[test]
fn acks_fills_and_terminal_states() {
    let mut core = GatewayCore::new(kraken(), config(WhenLimited::Off));
    let mut out = Frames::default();
    connected(&mut core, 0);
    let Submission::Sent { req_id } = core
        .submit_at(MS, Request::Place(&order("a", "BTC/USD")), &mut out)
        .unwrap()
    else {
        panic!()
    };
    feed(
        &mut core,
        2 * MS + 500,
        &add_ack(req_id, "OA-1", "a"),
        &mut out,
    );
    let first = outputs(&mut core);
    assert_eq!(
        order_events(&first),
        [("a".to_owned(), OrderStatus::New, Cause::Ack)]
    );
    let Some((summary, latency)) = first.events.iter().find_map(|event| match event {
        GatewayEvent::Answered { summary, latency } => Some((summary, latency)),
        _ => None,
    }) else {
        panic!("the ack's latency is an event: {:?}", first.events)
    };
    assert_eq!((summary.req_id, summary.method), (req_id, Method::Place));
    assert_eq!(latency.nanos, MS + 500);
    assert_eq!(latency.micros(), 1000.5);
    assert_eq!(
        latency.venue_processing(),
        Some(Duration::from_micros(8027))
    );
    assert_eq!(core.latency().histogram(Method::Place).len(), 1);
    let fill = r#"{"channel":"executions","type":"update","data":[{"order_id":"OA-1","cl_ord_id":"a","exec_id":"E1","exec_type":"trade","last_qty":0.4,"last_price":100.5,"order_status":"partially_filled","cum_qty":0.4,"timestamp":"2023-09-22T10:33:05.709993Z"}],"sequence":1}"#;
    feed(&mut core, 3 * MS, fill, &mut out);
    // The same fill again (a replayed message): dropped, status unchanged.
    feed(
        &mut core,
        3 * MS,
        &fill.replace("\"sequence\":1", "\"sequence\":2"),
        &mut out,
    );
    let second = outputs(&mut core);
    let fills = second
        .events
        .iter()
        .filter(|e| matches!(e, GatewayEvent::Fill(_)))
        .count();
    assert_eq!(fills, 1, "duplicate fill dropped");
    assert_eq!(
        order_events(&second),
        [("a".to_owned(), OrderStatus::PartiallyFilled, Cause::Venue)]
    );
    let done = fill
        .replace("E1", "E2")
        .replace("partially_filled", "filled")
        .replace("\"cum_qty\":0.4", "\"cum_qty\":1")
        .replace("\"last_qty\":0.4", "\"last_qty\":0.6")
        .replace("\"sequence\":1", "\"sequence\":3");
    feed(&mut core, 4 * MS, &done, &mut out);
    let third = outputs(&mut core);
    assert_eq!(
        order_events(&third),
        [("a".to_owned(), OrderStatus::Filled, Cause::Venue)]
    );
    assert_eq!(core.order(&id("a")).unwrap().filled_qty.to_string(), "1");
    // A cancel after the end is an invalid transition: reported, not applied.
    let late = r#"{"channel":"executions","type":"update","data":[{"order_id":"OA-1","exec_type":"canceled","order_status":"canceled"}],"sequence":4}"#;
    feed(&mut core, 5 * MS, late, &mut out);
    let fourth = outputs(&mut core);
    let GatewayEvent::Order(event) = &fourth.events[0] else {
        panic!("{:?}", fourth.events)
    };
    assert!(!event.valid);
    assert_eq!(core.order(&id("a")).unwrap().status, OrderStatus::Filled);
    assert_eq!(
        core.submit_at(6 * MS, Request::Place(&order("a", "BTC/USD")), &mut out),
        Err(SubmitError::DuplicateClientOrderId)
    );
}

/// A submit is recorded after its frames are taken, and any input records
/// it first: a driver that feeds the reply before draining (or never
/// drains to the end) still has the request correlated, timed and counted.
#[test]
fn a_submit_is_recorded_however_the_driver_drains() {
    let mut core = GatewayCore::new(kraken(), config(WhenLimited::Off));
    connected(&mut core, 0);
    let submitted = core.submit(Instant(MS), Request::Place(&order("early", "BTC/USD")));
    assert_eq!(submitted, Ok(Submission::Sent { req_id: 1 }));
    // One frame taken, and no draining call after it.
    let mut frame = Vec::new();
    assert_eq!(core.poll_transmit(&mut frame), Some(FrameKind::Text));
    assert_eq!(core.transmits_pending(), 0);
    let mut reply = add_ack(1, "O-early", "early").into_bytes();
    core.handle_message(
        Instant(2 * MS),
        Instant(2 * MS),
        FrameKind::Text,
        &mut reply,
    );
    assert_eq!(
        order_events(&outputs(&mut core)),
        [("early".to_owned(), OrderStatus::New, Cause::Ack)]
    );
    assert_eq!(core.latency().histogram(Method::Place).len(), 1);
    // Drained to the end, the request is recorded before the call returns.
    core.submit(Instant(3 * MS), Request::Place(&order("late", "BTC/USD")))
        .unwrap();
    while core.poll_transmit(&mut frame).is_some() {}
    assert_eq!(core.pending_requests(), 1);
    assert_eq!(
        core.order(&id("late")).unwrap().status,
        OrderStatus::PendingNew
    );
    assert_eq!(
        core.submit(Instant(3 * MS), Request::Place(&order("late", "BTC/USD"))),
        Err(SubmitError::DuplicateClientOrderId)
    );
}

/// `submit_staged`: the frame is ready before the request is recorded,
/// and dropping the guard records it; no later input has to.
#[test]
fn a_staged_submit_is_recorded_when_its_guard_drops() {
    let mut core = GatewayCore::new(kraken(), config(WhenLimited::Off));
    connected(&mut core, 0);
    let mut frame = Vec::new();
    {
        let mut staged = core.submit_staged(
            Instant(MS),
            Request::Place(&order("staged", "BTC/USD")),
            Default::default(),
        );
        assert_eq!(staged.result(), &Ok(Submission::Sent { req_id: 1 }));
        assert_eq!(staged.poll_transmit(&mut frame), Some(FrameKind::Text));
        assert!(String::from_utf8_lossy(&frame).contains(r#""cl_ord_id":"staged""#));
        // The guard holds the core: nothing else can reach it until it
        // drops, and it drops here.
    }
    assert_eq!(core.pending_requests(), 1);
    assert_eq!(
        core.order(&id("staged")).unwrap().status,
        OrderStatus::PendingNew
    );
    // `finish` records too, and gives the result.
    let staged = core.submit_staged(
        Instant(2 * MS),
        Request::Place(&order("finished", "BTC/USD")),
        Default::default(),
    );
    assert_eq!(staged.finish(), Ok(Submission::Sent { req_id: 2 }));
    assert_eq!(core.pending_requests(), 2);
    // A plain submit records before it returns, frames untaken.
    core.submit(Instant(3 * MS), Request::Place(&order("plain", "BTC/USD")))
        .unwrap();
    assert_eq!(core.pending_requests(), 3);
    assert_eq!(core.transmits_pending(), 2);
}

#[test]
fn rejects_and_cancel_with_one_reply_per_order() {
    let mut core = GatewayCore::new(kraken(), config(WhenLimited::Off));
    let mut out = Frames::default();
    connected(&mut core, 0);
    core.submit_at(0, Request::Place(&order("r", "BTC/USD")), &mut out)
        .unwrap();
    feed(
        &mut core,
        MS,
        r#"{"method":"add_order","req_id":1,"success":false,"error":"EOrder:Insufficient funds"}"#,
        &mut out,
    );
    assert_eq!(
        order_events(&outputs(&mut core)),
        [("r".to_owned(), OrderStatus::Rejected, Cause::Reject)]
    );
    for (n, name) in ["x", "y"].iter().enumerate() {
        core.submit_at(MS, Request::Place(&order(name, "BTC/USD")), &mut out)
            .unwrap();
        feed(
            &mut core,
            2 * MS,
            &add_ack(2 + n as u64, &format!("O-{name}"), name),
            &mut out,
        );
    }
    outputs(&mut core);
    let cancel = CancelOrders {
        symbol: None,
        orders: vec![
            OrderRef::ClientOrderId(id("x")),
            OrderRef::ClientOrderId(id("y")),
        ],
    };
    let Submission::Sent { req_id } = core
        .submit_at(3 * MS, Request::Cancel(&cancel), &mut out)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(core.pending_requests(), 1);
    for name in ["y", "x"] {
        feed(
            &mut core,
            4 * MS,
            &format!(
                r#"{{"method":"cancel_order","req_id":{req_id},"result":{{"order_id":"O-{name}"}},"success":true}}"#
            ),
            &mut out,
        );
    }
    let events = outputs(&mut core);
    assert_eq!(
        order_events(&events),
        [
            ("y".to_owned(), OrderStatus::Canceled, Cause::Ack),
            ("x".to_owned(), OrderStatus::Canceled, Cause::Ack)
        ]
    );
    assert_eq!(
        core.pending_requests(),
        0,
        "both replies consumed the request"
    );
    let answered = events
        .events
        .iter()
        .filter(|event| matches!(event, GatewayEvent::Answered { .. }))
        .count();
    assert_eq!(answered, 2);
}

#[test]
fn a_request_unanswered_at_its_deadline_goes_unknown_never_rejected() {
    let mut core = GatewayCore::new(kraken(), config(WhenLimited::Off));
    let mut out = Frames::default();
    connected(&mut core, 0);
    outputs(&mut core);
    core.submit_at(SEC, Request::Place(&order("slow", "BTC/USD")), &mut out)
        .unwrap();
    let deadline = core.next_timeout().unwrap();
    assert!(deadline <= 6 * SEC);
    core.timeout_at(deadline - 1, &mut out);
    assert_eq!(order_events(&outputs(&mut core)), []);
    core.timeout_at(6 * SEC, &mut out);
    let events = outputs(&mut core);
    assert!(events.events.iter().any(|e| matches!(
        e,
        GatewayEvent::TimedOut {
            req_id: 1,
            method: Method::Place
        }
    )));
    assert_eq!(
        order_events(&events),
        [("slow".to_owned(), OrderStatus::Unknown, Cause::Timeout)]
    );
    // The late ack still settles it.
    feed(&mut core, 7 * SEC, &add_ack(1, "O-slow", "slow"), &mut out);
    assert_eq!(
        order_events(&outputs(&mut core)),
        [("slow".to_owned(), OrderStatus::New, Cause::Ack)]
    );
}

/// Kraken's executions stream with both snapshots, as a private session
/// opens.
fn executions_config() -> GatewayConfig {
    GatewayConfig {
        subscriptions: vec![Subscription::Executions {
            snapshot_orders: true,
            snapshot_trades: true,
        }],
        ..config(WhenLimited::Off)
    }
}

#[test]
fn reconnect_makes_orders_unknown_and_the_snapshot_settles_each_once() {
    let mut core = GatewayCore::new(kraken(), executions_config());
    let mut out = Frames::default();
    let opened = connected(&mut core, 0);
    assert!(String::from_utf8_lossy(&opened[0]).contains("\"channel\":\"executions\""));
    for name in ["live", "gone", "lost", "filled"] {
        core.submit_at(MS, Request::Place(&order(name, "BTC/USD")), &mut out)
            .unwrap();
    }
    // live, gone and filled are acknowledged; lost never is.
    feed(&mut core, 2 * MS, &add_ack(2, "O-live", "live"), &mut out);
    feed(&mut core, 2 * MS, &add_ack(3, "O-gone", "gone"), &mut out);
    feed(
        &mut core,
        2 * MS,
        &add_ack(5, "O-filled", "filled"),
        &mut out,
    );
    feed(
        &mut core,
        2 * MS,
        r#"{"channel":"executions","type":"update","data":[{"order_id":"O-filled","cl_ord_id":"filled","exec_id":"F1","exec_type":"trade","last_qty":1,"last_price":100.5,"cum_qty":1}],"sequence":1}"#,
        &mut out,
    );
    outputs(&mut core);
    core.disconnect_at(3 * MS);
    let down = outputs(&mut core);
    let mut unknown: Vec<String> = order_events(&down)
        .into_iter()
        .filter(|(_, s, _)| *s == OrderStatus::Unknown)
        .map(|(n, _, _)| n)
        .collect();
    unknown.sort();
    assert_eq!(unknown, ["filled", "gone", "live", "lost"]);
    // A request submitted while down waits in the engine's backlog: it is
    // not reconciled against the snapshot.
    core.submit_at(
        4 * MS,
        Request::Place(&order("queued", "BTC/USD")),
        &mut out,
    )
    .unwrap();
    let reopened = connected(&mut core, 5 * MS);
    assert_eq!(reopened.len(), 1, "the open sequence resubscribes");
    feed(
        &mut core,
        6 * MS,
        r#"{"channel":"executions","type":"snapshot","data":[{"order_id":"O-live","cl_ord_id":"live","order_status":"new","exec_type":"new","order_qty":1,"cum_qty":0},{"order_id":"O-filled","exec_id":"F1","exec_type":"trade","last_qty":1,"last_price":100.5}],"sequence":1}"#,
        &mut out,
    );
    let settled = outputs(&mut core);
    let mut events = order_events(&settled);
    events.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        events,
        [
            ("filled".to_owned(), OrderStatus::Filled, Cause::Reconciled),
            ("gone".to_owned(), OrderStatus::Canceled, Cause::Reconciled),
            ("live".to_owned(), OrderStatus::New, Cause::Reconciled),
            ("lost".to_owned(), OrderStatus::Rejected, Cause::Reconciled),
        ]
    );
    assert!(
        !settled
            .events
            .iter()
            .any(|e| matches!(e, GatewayEvent::Fill(_))),
        "the snapshot's repeat of F1 is dropped"
    );
    assert_eq!(
        core.order(&id("queued")).unwrap().status,
        OrderStatus::PendingNew
    );
}

#[test]
fn rate_limited_requests_wait_then_leave_in_order_or_are_refused() {
    let mut core = GatewayCore::new(kraken(), config(WhenLimited::Queue { capacity: 8 }));
    let mut out = Frames::default();
    connected(&mut core, 0);
    // Starter tier: 60 units, 1/s decay; a place costs 1.
    for n in 0..60 {
        assert!(matches!(
            core.submit_at(
                0,
                Request::Place(&order(&format!("p{n}"), "BTC/USD")),
                &mut out
            ),
            Ok(Submission::Sent { .. })
        ));
    }
    assert_eq!(
        core.submit_at(0, Request::Place(&order("w1", "BTC/USD")), &mut out),
        Ok(Submission::Queued)
    );
    // Another pair has its own counter, but waits behind the queue (order).
    assert_eq!(
        core.submit_at(0, Request::Place(&order("w2", "ETH/USD")), &mut out),
        Ok(Submission::Queued)
    );
    assert_eq!(out.0.len(), 60);
    let ready = core.next_timeout().unwrap();
    assert_eq!(ready, SEC, "one unit decays in one second");
    core.timeout_at(ready, &mut out);
    assert_eq!(out.0.len(), 62);
    let last: Vec<String> = (60..62)
        .map(|i| {
            out.json(i)["params"]["cl_ord_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(last, ["w1", "w2"]);
    let mut reject = GatewayCore::new(kraken(), config(WhenLimited::Reject));
    for n in 0..60 {
        reject
            .submit_at(
                0,
                Request::Place(&order(&format!("p{n}"), "BTC/USD")),
                &mut out,
            )
            .unwrap();
    }
    assert_eq!(
        reject.submit_at(0, Request::Place(&order("over", "BTC/USD")), &mut out),
        Err(SubmitError::RateLimited {
            ready_at: Instant(SEC)
        })
    );
}

#[test]
fn cancels_can_jump_the_rate_limit_queue() {
    let mut core = GatewayCore::new(
        kraken(),
        GatewayConfig {
            cancel_priority: true,
            ..config(WhenLimited::Queue { capacity: 8 })
        },
    );
    let mut out = Frames::default();
    connected(&mut core, 0);
    core.submit_at(0, Request::Place(&order("old", "BTC/USD")), &mut out)
        .unwrap();
    feed(&mut core, 0, &add_ack(1, "O-old", "old"), &mut out);
    for n in 0..59 {
        core.submit_at(
            0,
            Request::Place(&order(&format!("p{n}"), "ETH/USD")),
            &mut out,
        )
        .unwrap();
    }
    for n in 0..59 {
        core.submit_at(
            0,
            Request::Place(&order(&format!("q{n}"), "BTC/USD")),
            &mut out,
        )
        .unwrap();
    }
    let sent = out.0.len();
    assert_eq!(
        core.submit_at(0, Request::Place(&order("waits", "BTC/USD")), &mut out),
        Ok(Submission::Queued)
    );
    // An order rested 300 s costs nothing to cancel: it goes at once.
    let cancel = CancelOrders {
        symbol: None,
        orders: vec![OrderRef::ClientOrderId(id("old"))],
    };
    assert!(matches!(
        core.submit_at(300 * SEC, Request::Cancel(&cancel), &mut out),
        Ok(Submission::Sent { .. })
    ));
    assert_eq!(out.json(sent)["method"], "cancel_order");
}

/// A 60 s switch refreshed every 20 s.
const DEAD_MAN: DeadManSwitch = DeadManSwitch {
    timeout: Duration::from_secs(60),
    refresh_every: Duration::from_secs(20),
};

#[test]
fn dead_man_switch_and_keepalive_pings_in_virtual_time() {
    let mut core = GatewayCore::new(
        kraken(),
        GatewayConfig {
            dead_man: Some(DEAD_MAN),
            ..config(WhenLimited::Off)
        },
    );
    let mut out = Frames::default();
    connected(&mut core, 0);
    let mut now = 0;
    while now < 61 * SEC {
        now = core.next_timeout().unwrap().max(now);
        core.timeout_at(now, &mut out);
        now += 1;
    }
    let methods = out.methods();
    let refreshes = methods
        .iter()
        .filter(|m| *m == "cancel_all_orders_after")
        .count();
    assert_eq!(refreshes, 4, "at 0, 20, 40 and 60 s: {methods:?}");
    assert_eq!(out.json(0)["params"]["timeout"], 60);
    // The refreshes keep the connection busy, so no extra ping was needed.
    assert!(!methods.contains(&"ping".to_owned()), "{methods:?}");
    let mut quiet = GatewayCore::new(kraken(), config(WhenLimited::Off));
    let mut out = Frames::default();
    connected(&mut quiet, 0);
    let at = quiet.next_timeout().unwrap();
    quiet.timeout_at(at, &mut out);
    assert_eq!(at, 20 * SEC);
    assert_eq!(out.methods(), ["ping"]);
}

/// A refresh the driver cannot take now (its transport is full) leaves the
/// switch on and is tried again soon; only a venue without the switch turns
/// it off.
#[test]
fn a_dead_man_refresh_held_back_by_the_driver_is_tried_again() {
    let mut core = GatewayCore::new(
        kraken(),
        GatewayConfig {
            dead_man: Some(DEAD_MAN),
            // Nothing fits: every send is held back.
            transmit_capacity: 0,
            ..config(WhenLimited::Off)
        },
    );
    connected(&mut core, 0);
    core.handle_timeout(Instant(SEC));
    let events = outputs(&mut core);
    assert!(
        events.events.iter().any(|e| matches!(
            e,
            GatewayEvent::Dropped {
                error: SubmitError::TransportFull,
                ..
            }
        )),
        "{:?}",
        events.events
    );
    assert_eq!(
        core.timers().get(TimerKind::DeadMan),
        Some(Instant(SEC + 50 * MS)),
        "still on, retried in 50 ms"
    );
}

#[test]
fn a_checksum_mismatch_resubscribes_the_book() {
    let symbol = inline("BTC/USD").unwrap();
    let mut core = GatewayCore::new(
        kraken(),
        GatewayConfig {
            subscriptions: vec![Subscription::Book {
                symbols: vec![symbol],
                depth: 10,
            }],
            ..config(WhenLimited::Off)
        },
    );
    let mut out = Frames::default();
    connected(&mut core, 0);
    let snapshot =
        include_str!("../../protocol/tests/kraken/book_snapshot.json").replace("3310070434", "1");
    feed(&mut core, MS, &snapshot, &mut out);
    let events = outputs(&mut core);
    assert!(
        events
            .events
            .iter()
            .any(|e| matches!(e, GatewayEvent::Problem(Event::ChecksumMismatch { .. })))
    );
    let Some(GatewayEvent::Market(Event::Book(book))) = events
        .events
        .iter()
        .find(|e| matches!(e, GatewayEvent::Market(_)))
    else {
        panic!("{:?}", events.events)
    };
    assert_eq!(events.levels(&book.bids).len(), 10);
    assert_eq!(out.methods(), ["unsubscribe", "subscribe"]);
}

#[test]
fn registry_creates_once_and_gets_anywhere() {
    let registry = Arc::new(Registry::new());
    type Wired = Gateway<Kraken, SharedWire>;
    let make = || {
        Ok::<_, String>(Gateway::new(
            kraken(),
            config(WhenLimited::Off),
            SharedWire::default(),
        ))
    };
    let first = registry.create("kraken", make).unwrap();
    assert!(matches!(
        registry.create("kraken", make).err(),
        Some(RegistryError::AlreadyExists(id)) if id == "kraken"
    ));
    let other = {
        let registry = registry.clone();
        std::thread::spawn(move || registry.get::<Wired>("kraken").is_some())
            .join()
            .unwrap()
    };
    assert!(other);
    assert!(registry.get::<String>("kraken").is_none(), "wrong type");
    assert!(
        Registry::new().get::<Wired>("kraken").is_none(),
        "isolated instances"
    );
    first
        .place_order(Instant(0), &order("via-registry", "BTC/USD"))
        .unwrap();
    assert_eq!(
        registry
            .get::<Wired>("kraken")
            .unwrap()
            .transport()
            .0
            .lock()
            .len(),
        1
    );
    assert!(registry.remove::<Wired>("kraken").is_some());
    assert!(registry.get::<Wired>("kraken").is_none());
    let Err(RegistryError::Build { id, error }) =
        registry.create("bad", || Err::<Wired, _>("no keys"))
    else {
        panic!("a failed build is an error")
    };
    assert_eq!(
        (id.as_str(), error.to_string().as_str()),
        ("bad", "no keys")
    );
}

/// One send, as the independent checker sees it.
#[derive(Debug, Clone, Copy)]
struct Sent {
    at: u64,
    cost_milli: u64,
}

/// Replays the sends against Kraken's Starter counter with exact rational
/// decay (no rounding) and returns the highest value the counter reached.
fn counter_peak(sends: &[Sent]) -> u128 {
    // Value in milli-units x 1e9 (so decay per ns is an integer: 1000/s).
    let mut value: u128 = 0;
    let mut at = 0u64;
    let mut peak = 0;
    for sent in sends {
        let decayed = u128::from(sent.at - at) * 1_000;
        value = value.saturating_sub(decayed);
        at = sent.at;
        value += u128::from(sent.cost_milli) * 1_000_000_000;
        peak = peak.max(value);
    }
    peak
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn send_times_never_exceed_the_policy(
        steps in proptest::collection::vec((0u64..400, any::<bool>()), 1..300)
    ) {
        let mut core = GatewayCore::new(kraken(), config(WhenLimited::Queue { capacity: 1000 }));
        let mut out = Frames::default();
        connected(&mut core, 0);
        let mut now = 0;
        let mut sends: Vec<Sent> = Vec::new();
        let mut placed_at: std::collections::HashMap<String, u64> = Default::default();
        let mut open: Vec<String> = Vec::new();
        let mut seen = 0;
        let record = |core: &mut GatewayCore<Kraken>, out: &mut Frames, now: u64, seen: &mut usize,
                          sends: &mut Vec<Sent>, placed_at: &mut std::collections::HashMap<String, u64>| {
            while *seen < out.0.len() {
                let value = out.json(*seen);
                let method = value["method"].as_str().unwrap().to_owned();
                let req_id = value["req_id"].as_u64().unwrap();
                let cost = match method.as_str() {
                    "add_order" => {
                        let cl = value["params"]["cl_ord_id"].as_str().unwrap().to_owned();
                        // The venue accepts at once: the ack is read at the send time.
                        feed(core, now, &add_ack(req_id, &format!("O-{cl}"), &cl), out);
                        placed_at.insert(cl, now);
                        1_000
                    }
                    "cancel_order" => {
                        let cl = value["params"]["cl_ord_id"][0].as_str().unwrap();
                        // Not yet accepted: the venue's worst case.
                        let rested = placed_at.get(cl).map_or(Duration::ZERO, |at| Duration::from_nanos(now - at));
                        [(5, 8_000), (10, 6_000), (15, 5_000), (45, 4_000), (90, 2_000), (300, 1_000)]
                            .iter()
                            .find(|(secs, _)| rested < Duration::from_secs(*secs))
                            .map_or(0, |(_, cost)| *cost)
                    }
                    _ => 0,
                };
                sends.push(Sent { at: now, cost_milli: cost });
                *seen += 1;
            }
        };
        for (n, (gap_ms, cancel)) in steps.into_iter().enumerate() {
            // Let queued requests leave on time before moving the clock on.
            let target = now + gap_ms * MS;
            let mut spins = 0;
            while let Some(at) = core.next_timeout().filter(|at| *at <= target) {
                spins += 1;
                prop_assert!(spins < 10_000, "poll_timeout makes no progress at {}", at);
                now = at.max(now);
                core.timeout_at(now, &mut out);
                record(&mut core, &mut out, now, &mut seen, &mut sends, &mut placed_at);
                if core.queued_requests() == 0 { break; }
            }
            now = target;
            if cancel && !open.is_empty() {
                let name = open.remove(0);
                let request = CancelOrders { symbol: None, orders: vec![OrderRef::ClientOrderId(id(&name))] };
                let _ = core.submit_at(now, Request::Cancel(&request), &mut out);
            } else {
                let name = format!("o{n}");
                if core.submit_at(now, Request::Place(&order(&name, "BTC/USD")), &mut out).is_ok() {
                    open.push(name);
                }
            }
            record(&mut core, &mut out, now, &mut seen, &mut sends, &mut placed_at);
        }
        let peak = counter_peak(&sends);
        prop_assert_eq!(core.queued_requests() + sends.iter().filter(|s| s.cost_milli > 0).count() > 0, true);
        prop_assert!(peak <= 60_000u128 * 1_000_000_000, "counter peaked at {} milli-units", peak / 1_000_000_000);
    }
}

#[test]
fn latency_histograms_export_as_hgrm_percentile_text() {
    let mut book = orderwire_engine::gateway::LatencyBook::new();
    for micros in 1..=1000u64 {
        book.record(Method::Place, micros * 1_000);
    }
    let text = orderwire_engine::gateway::to_hgrm(book.histogram(Method::Place));
    let header = text.lines().next().unwrap();
    for column in ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"] {
        assert!(header.contains(column), "{header}");
    }
    // The median line: about 500 us at percentile 0.5.
    let median = text
        .lines()
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            let value: f64 = fields.next()?.parse().ok()?;
            let percentile: f64 = fields.next()?.parse().ok()?;
            Some((value, percentile))
        })
        .find(|(_, p)| *p >= 0.5)
        .unwrap();
    assert!((495.0..=505.0).contains(&median.0), "{median:?}");
    assert!(text.contains("Total count    =         1000"), "{text}");
    assert_eq!(book.methods().collect::<Vec<_>>(), [Method::Place]);
}

/// Kraken with the v2 hooks switched on as a test needs: it records the
/// wall clock of every encode, answers a `PINGPONG` text with a pong frame
/// carrying it, makes a fresh `Authorization` header from the seeded RNG at
/// every connect, and can expect nothing for subscriptions or take no
/// orders.
struct Probe {
    inner: Kraken,
    seen: Vec<i64>,
    subscriptions_expect_nothing: bool,
    order_entry: bool,
    max_subscriptions: Option<u32>,
    correlation: Option<Correlation>,
    book: Option<BookKind>,
    /// Writes `login <id>` as the open sequence's login.
    login: bool,
}

impl Probe {
    fn new() -> Probe {
        Probe {
            inner: kraken(),
            seen: Vec::new(),
            subscriptions_expect_nothing: false,
            order_entry: true,
            max_subscriptions: None,
            correlation: None,
            book: None,
            login: false,
        }
    }
}

impl Venue for Probe {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn capabilities(&self) -> Capabilities {
        let inner = self.inner.capabilities();
        Capabilities {
            order_entry: self.order_entry,
            max_subscriptions: self.max_subscriptions,
            correlation: self.correlation.unwrap_or(inner.correlation),
            book: self.book.unwrap_or(inner.book),
            ..inner
        }
    }
    fn handshake_headers(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<(String, Secret)>) {
        use rand_core::RngCore;
        let nonce = ctx.rng.next_u64();
        out.push((
            "Authorization".into(),
            Secret::new(format!("Bearer {nonce:016x}")),
        ));
    }
    fn login(
        &mut self,
        _: &mut Ctx<'_>,
        req_id: u64,
        out: &mut VenueFrames,
    ) -> Result<(), EncodeError> {
        if self.login {
            out.frame(FrameKind::Text)
                .extend_from_slice(format!("login {req_id}").as_bytes());
        }
        Ok(())
    }
    fn encode(
        &mut self,
        ctx: &mut Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut VenueFrames,
    ) -> Result<Expect, EncodeError> {
        self.seen.push(ctx.wall_ns);
        if self.subscriptions_expect_nothing && matches!(request, Request::Subscribe(_)) {
            out.frame(FrameKind::Binary).extend_from_slice(b"subscribe");
            return Ok(Expect::Nothing);
        }
        self.inner.encode(ctx, req_id, request, out)
    }
    fn decode(
        &mut self,
        ctx: &mut Ctx<'_>,
        kind: FrameKind,
        message: &mut [u8],
        out: &mut orderwire_protocol::model::Events,
        reply: &mut VenueFrames,
    ) -> Result<(), DecodeError> {
        if message.starts_with(b"PINGPONG") {
            reply.frame(FrameKind::Pong).extend_from_slice(message);
            return Ok(());
        }
        self.inner.decode(ctx, kind, message, out, reply)
    }
    fn reset(&mut self) {
        self.inner.reset()
    }
    fn keepalive(&self) -> orderwire_protocol::venue::Keepalive {
        self.inner.keepalive()
    }
    fn rate_policy(&self) -> orderwire_protocol::venue::RatePolicy {
        self.inner.rate_policy()
    }
}

#[test]
fn a_request_that_expects_nothing_has_no_pending_entry_and_never_times_out() {
    let mut probe = Probe::new();
    probe.subscriptions_expect_nothing = true;
    let mut settings = config(WhenLimited::Off);
    settings.subscriptions = vec![Subscription::Trades {
        symbols: vec![inline("BTC/USD").unwrap()],
    }];
    settings.app_ping_every = Some(Duration::from_secs(3600));
    settings.subscription_silence = None;
    let mut core = GatewayCore::new(probe, settings);
    let open = connected(&mut core, 0);
    assert_eq!(open, vec![b"subscribe".to_vec()], "sent, as binary");
    assert_eq!(core.pending_requests(), 0, "nothing waits for a reply");
    let mut out = Frames::default();
    let subscription = Subscription::Trades {
        symbols: vec![inline("ETH/USD").unwrap()],
    };
    assert!(matches!(
        core.submit_at(MS, Request::Subscribe(&subscription), &mut out),
        Ok(Submission::Sent { req_id: 2 })
    ));
    assert_eq!(out.1, [FrameKind::Binary]);
    assert_eq!(core.pending_requests(), 0);
    // Long past any request timeout: nothing times out, and no deadline
    // is asked for (the hour-long ping is the only timer).
    core.timeout_at(600 * SEC, &mut out);
    let events = outputs(&mut core).events;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, GatewayEvent::TimedOut { .. })),
        "{events:?}"
    );
    assert_eq!(
        core.next_timeout(),
        Some(MS + 3_600 * SEC),
        "the ping an hour after the last send"
    );
}

#[test]
fn a_decode_that_answers_sends_its_frame_at_once_with_its_kind() {
    let mut core = GatewayCore::new(Probe::new(), config(WhenLimited::Off));
    connected(&mut core, 0);
    let mut out = Frames::default();
    feed(&mut core, MS, "PINGPONG 20231004160455", &mut out);
    assert_eq!(out.0, [b"PINGPONG 20231004160455".to_vec()]);
    assert_eq!(out.1, [FrameKind::Pong], "echoed in a pong frame");
    assert_eq!(core.pending_requests(), 0, "an answer is not a request");
}

#[test]
fn handshake_headers_are_made_fresh_at_every_connect_and_never_printed() {
    let mut core = GatewayCore::new(Probe::new(), config(WhenLimited::Off));
    let first = core.handshake_headers(Instant(0)).to_vec();
    let second = core.handshake_headers(Instant(SEC)).to_vec();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].0, "Authorization");
    assert_ne!(
        first[0].1.expose(),
        second[0].1.expose(),
        "a fresh nonce per connect"
    );
    let printed = format!("{first:?}{second:?}");
    assert!(!printed.contains(first[0].1.expose()) && !printed.contains(second[0].1.expose()));
    // The same seed gives the same headers: replays are exact.
    let mut again = GatewayCore::new(Probe::new(), config(WhenLimited::Off));
    let replayed = again.handshake_headers(Instant(0)).to_vec();
    assert_eq!(replayed[0].1, first[0].1);
}

#[test]
fn a_connection_without_order_entry_refuses_orders_and_still_subscribes() {
    let mut probe = Probe::new();
    probe.order_entry = false;
    let mut core = GatewayCore::new(probe, config(WhenLimited::Off));
    connected(&mut core, 0);
    let mut out = Frames::default();
    let place = order("x", "BTC/USD");
    assert_eq!(
        core.submit_at(MS, Request::Place(&place), &mut out),
        Err(SubmitError::NoOrderEntry)
    );
    assert!(out.0.is_empty(), "nothing was sent");
    let subscription = Subscription::Trades {
        symbols: vec![inline("BTC/USD").unwrap()],
    };
    assert!(
        core.submit_at(MS, Request::Subscribe(&subscription), &mut out)
            .is_ok()
    );
    assert_eq!(out.0.len(), 1);
}

#[test]
fn the_venue_reads_the_injected_wall_clock_before_each_encode() {
    let mut core = GatewayCore::new(Probe::new(), config(WhenLimited::Off));
    core.set_wall_offset(1_700_000_000_000_000_000);
    let mut out = Frames::default();
    core.submit_at(5 * MS, Request::Place(&order("w", "BTC/USD")), &mut out)
        .unwrap();
    core.submit_at(7 * MS, Request::Ping, &mut out).unwrap();
    assert_eq!(
        core.venue().seen,
        [1_700_000_000_005_000_000, 1_700_000_000_007_000_000]
    );
}

#[test]
fn an_acknowledged_subscription_that_goes_silent_is_reported_once_and_again_when_it_resumes() {
    let mut settings = config(WhenLimited::Off);
    settings.subscriptions = vec![Subscription::Trades {
        symbols: vec![inline("BTC/USD").unwrap(), inline("ETH/USD").unwrap()],
    }];
    settings.subscription_silence = Some(Duration::from_secs(5));
    let mut core = GatewayCore::new(kraken(), settings);
    connected(&mut core, 0);
    let mut out = Frames::default();
    for symbol in ["BTC/USD", "ETH/USD"] {
        let ack = format!(
            r#"{{"method":"subscribe","req_id":1,"result":{{"channel":"trade","snapshot":false,"symbol":"{symbol}"}},"success":true,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}}"#
        );
        feed(&mut core, MS, &ack, &mut out);
    }
    let trade = |symbol: &str| {
        format!(
            r#"{{"channel":"trade","type":"update","data":[{{"symbol":"{symbol}","side":"sell","price":45283.4,"qty":0.0005,"ord_type":"market","trade_id":1,"timestamp":"2023-10-06T17:35:55.440295Z"}}]}}"#
        )
    };
    // BTC/USD trades every second; ETH/USD, acknowledged, never does.
    let mut silent = Vec::new();
    for second in 1..=12u64 {
        let now = second * SEC;
        feed(&mut core, now, &trade("BTC/USD"), &mut out);
        if core.next_timeout().is_some_and(|at| at <= now) {
            core.timeout_at(now, &mut out);
        }
        for event in outputs(&mut core).events {
            if let GatewayEvent::SubscriptionSilent {
                channel,
                symbol,
                since,
            } = event
            {
                silent.push((second, channel, symbol.to_string(), since));
            }
        }
    }
    assert_eq!(silent.len(), 1, "reported once: {silent:?}");
    let (second, channel, symbol, since) = &silent[0];
    assert_eq!(
        (*channel, symbol.as_str()),
        (DataChannel::Trades, "ETH/USD")
    );
    assert_eq!(*since, Instant(MS), "silent since its acknowledgement");
    assert!(
        (5..=10).contains(second),
        "within one to two silence periods of it: {second}"
    );
    feed(&mut core, 13 * SEC, &trade("ETH/USD"), &mut out);
    assert!(
        outputs(&mut core).events.iter().any(|e| matches!(
            e,
            GatewayEvent::SubscriptionResumed { channel: DataChannel::Trades, symbol }
                if symbol.as_str() == "ETH/USD"
        )),
        "and reported again when it delivers"
    );
    // A drop disarms every watch: nothing is silent while down.
    core.disconnect_at(14 * SEC);
    core.timeout_at(60 * SEC, &mut out);
    assert!(
        !outputs(&mut core)
            .events
            .iter()
            .any(|e| matches!(e, GatewayEvent::SubscriptionSilent { .. }))
    );
}

#[test]
fn the_open_sequence_goes_out_ahead_of_frames_left_from_the_last_connection() {
    let mut core = GatewayCore::new(kraken(), executions_config());
    connected(&mut core, 0);
    // An order the driver has not taken when the link drops.
    core.submit(Instant(MS), Request::Place(&order("left", "BTC/USD")))
        .unwrap();
    core.disconnect_at(2 * MS);
    core.on_connected(Instant(3 * MS), 1);
    assert_eq!(core.transmits_pending(), 2);
    let mut frame = Vec::new();
    assert!(core.poll_open_transmit(&mut frame).is_some());
    assert!(String::from_utf8_lossy(&frame).contains("\"channel\":\"executions\""));
    assert_eq!(
        core.poll_open_transmit(&mut Vec::new()),
        None,
        "the open sequence is one frame; the order is not part of it"
    );
    frame.clear();
    assert!(core.poll_transmit(&mut frame).is_some());
    assert!(String::from_utf8_lossy(&frame).contains("\"cl_ord_id\":\"left\""));
}

fn trades(symbols: &[&str]) -> Subscription {
    Subscription::Trades {
        symbols: symbols.iter().map(|s| inline(s).unwrap()).collect(),
    }
}

#[test]
fn a_subscription_past_the_venues_cap_is_refused_before_anything_is_sent() {
    let mut probe = Probe::new();
    probe.max_subscriptions = Some(3);
    let mut settings = config(WhenLimited::Off);
    settings.subscriptions = vec![trades(&["A/USD"])];
    let mut core = GatewayCore::new(probe, settings);
    connected(&mut core, 0);
    let mut out = Frames::default();
    core.submit_at(MS, Request::Subscribe(&trades(&["B/USD"])), &mut out)
        .unwrap();
    let written = out.0.len();
    // Two more would make four registrations: refused, nothing written.
    let refused = core.submit_at(
        MS,
        Request::Subscribe(&trades(&["C/USD", "D/USD"])),
        &mut out,
    );
    assert_eq!(
        refused,
        Err(SubmitError::SubscriptionCap {
            cap: 3,
            held: 2,
            asked: 2
        })
    );
    assert_eq!(out.0.len(), written, "nothing went out");
    // A pair already held costs nothing; an unsubscribe frees a place.
    core.submit_at(
        MS,
        Request::Subscribe(&trades(&["A/USD", "C/USD"])),
        &mut out,
    )
    .unwrap();
    core.submit_at(MS, Request::Unsubscribe(&trades(&["B/USD"])), &mut out)
        .unwrap();
    core.submit_at(MS, Request::Subscribe(&trades(&["D/USD"])), &mut out)
        .unwrap();
}

#[test]
fn a_subscribe_made_while_the_link_is_down_goes_out_once_with_the_open_sequence() {
    let mut settings = config(WhenLimited::Off);
    settings.subscriptions = vec![trades(&["A/USD"])];
    let mut core = GatewayCore::new(Probe::new(), settings);
    connected(&mut core, 0);
    let mut frame = Vec::new();
    while core.poll_transmit(&mut frame).is_some() {
        frame.clear();
    }
    core.disconnect_at(MS);
    let mut out = Frames::default();
    // Held, not written: the remembered set changes, nothing else.
    assert_eq!(
        core.submit_at(2 * MS, Request::Subscribe(&trades(&["B/USD"])), &mut out),
        Ok(Submission::Queued)
    );
    assert_eq!(
        core.submit_at(2 * MS, Request::Unsubscribe(&trades(&["A/USD"])), &mut out),
        Ok(Submission::Queued)
    );
    assert!(out.0.is_empty(), "nothing for the backlog");
    let mut written: Vec<String> = connected(&mut core, 3 * MS)
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    while core.poll_transmit(&mut frame).is_some() {
        written.push(String::from_utf8_lossy(&frame).into_owned());
        frame.clear();
    }
    let naming = |pair: &str| written.iter().filter(|f| f.contains(pair)).count();
    assert_eq!(naming("B/USD"), 1, "subscribed once: {written:?}");
    assert_eq!(naming("A/USD"), 0, "unsubscribed while down: {written:?}");
}

#[test]
fn an_id_less_error_answers_what_went_first_on_the_wire_not_the_lowest_id() {
    let mut probe = Probe::new();
    probe.correlation = Some(Correlation::ByIdThenInOrder);
    probe.login = true;
    let mut core = GatewayCore::new(probe, config(WhenLimited::Off));
    connected(&mut core, 0);
    core.disconnect_at(MS);
    // Written to the backlog with id 2, for the next connection...
    let mut out = Frames::default();
    let Ok(Submission::Sent { req_id: backlog }) =
        core.submit_at(2 * MS, Request::Place(&order("left", "BTC/USD")), &mut out)
    else {
        panic!()
    };
    // ...whose login (id 3) goes out ahead of it.
    let open = connected(&mut core, 3 * MS);
    assert_eq!(open, [b"login 3".to_vec()]);
    let _ = outputs(&mut core);
    feed(
        &mut core,
        4 * MS,
        r#"{"method":"add_order","success":false,"error":"EGeneral:Invalid arguments"}"#,
        &mut out,
    );
    let events = outputs(&mut core).events;
    let answered: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Answered { summary, .. } => Some(summary.req_id),
            _ => None,
        })
        .collect();
    assert_eq!(answered, [3], "the login, first on the wire: {events:?}");
    assert!(
        order_events(&Outputs {
            events,
            ..Outputs::default()
        })
        .iter()
        .all(|(_, status, _)| *status != OrderStatus::Rejected),
        "the order behind it is not rejected on a guess"
    );
    assert!(core.pending_requests() >= 1, "order {backlog} still waits");
}

#[test]
fn a_book_subscription_on_a_connection_without_books_is_refused_locally() {
    let mut probe = Probe::new();
    probe.book = Some(BookKind::None);
    let mut settings = config(WhenLimited::Off);
    let book = Subscription::Book {
        symbols: vec![inline("A/USD").unwrap()],
        depth: 10,
    };
    // Configured: dropped from the open sequence with the reason; the
    // other subscription still goes out.
    settings.subscriptions = vec![book.clone(), trades(&["B/USD"])];
    let mut core = GatewayCore::new(probe, settings);
    let open = connected(&mut core, 0);
    assert_eq!(open.len(), 1, "the trades subscription only");
    let events = outputs(&mut core).events;
    assert!(
        events.iter().any(|e| matches!(
            e,
            GatewayEvent::Dropped {
                method: Method::Subscribe,
                error: SubmitError::NoBooks
            }
        )),
        "{events:?}"
    );
    // At runtime: refused before anything is written.
    let mut out = Frames::default();
    assert_eq!(
        core.submit_at(MS, Request::Subscribe(&book), &mut out),
        Err(SubmitError::NoBooks)
    );
    assert!(out.0.is_empty());
    assert!(
        core.submit_at(MS, Request::Subscribe(&trades(&["C/USD"])), &mut out)
            .is_ok()
    );
}

#[test]
fn an_error_without_an_id_answers_the_oldest_request_on_a_venue_that_answers_in_order() {
    let mut probe = Probe::new();
    probe.correlation = Some(Correlation::ByIdThenInOrder);
    let mut core = GatewayCore::new(probe, config(WhenLimited::Off));
    connected(&mut core, 0);
    let mut out = Frames::default();
    let Ok(Submission::Sent { req_id: first }) =
        core.submit_at(MS, Request::Place(&order("first", "BTC/USD")), &mut out)
    else {
        panic!()
    };
    core.submit_at(MS, Request::Place(&order("second", "BTC/USD")), &mut out)
        .unwrap();
    assert_eq!(core.pending_requests(), 2);
    // No req_id: the venue answers in order, so it is the first's.
    feed(
        &mut core,
        2 * MS,
        r#"{"method":"add_order","success":false,"error":"EOrder:Insufficient funds"}"#,
        &mut out,
    );
    assert_eq!(core.pending_requests(), 1);
    let events = outputs(&mut core).events;
    let answered: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Answered { summary, .. } => Some(summary.req_id),
            _ => None,
        })
        .collect();
    assert_eq!(answered, [first]);
    assert_eq!(
        order_events(&Outputs {
            events,
            ..Outputs::default()
        }),
        [("first".to_owned(), OrderStatus::Rejected, Cause::Reject)]
    );
}

#[test]
fn an_error_without_an_id_answers_nothing_on_a_venue_that_correlates_by_id_only() {
    let mut core = GatewayCore::new(Probe::new(), config(WhenLimited::Off));
    connected(&mut core, 0);
    let mut out = Frames::default();
    core.submit_at(MS, Request::Place(&order("first", "BTC/USD")), &mut out)
        .unwrap();
    feed(
        &mut core,
        2 * MS,
        r#"{"method":"add_order","success":false,"error":"EOrder:Insufficient funds"}"#,
        &mut out,
    );
    assert_eq!(core.pending_requests(), 1, "never matched on a guess");
}

/// A venue that answers by key (KIS's shape): `sub <pair>` and
/// `unsub <pair>` are answered `ack <pair>`, with no id.
struct Keyed {
    keys: orderwire_protocol::venue::keyed::ReplyKeys,
}

impl Venue for Keyed {
    fn name(&self) -> &'static str {
        "keyed"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            correlation: Correlation::ByKey,
            ..Capabilities::default()
        }
    }
    fn encode(
        &mut self,
        _: &mut Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut VenueFrames,
    ) -> Result<Expect, EncodeError> {
        let (verb, subscription) = match request {
            Request::Subscribe(s) => ("sub", s),
            Request::Unsubscribe(s) => ("unsub", s),
            _ => return Err(EncodeError::Unsupported("anything but subscriptions")),
        };
        let Subscription::Trades { symbols } = subscription else {
            return Err(EncodeError::Unsupported("anything but trades"));
        };
        let pair = symbols.first().ok_or(EncodeError::Invalid("no pair"))?;
        self.keys.insert(pair, req_id);
        out.frame(FrameKind::Text)
            .extend_from_slice(format!("{verb} {pair}").as_bytes());
        Ok(Expect::Replies(1))
    }
    fn decode(
        &mut self,
        _: &mut Ctx<'_>,
        _: FrameKind,
        message: &mut [u8],
        out: &mut orderwire_protocol::model::Events,
        _: &mut VenueFrames,
    ) -> Result<(), DecodeError> {
        let text = std::str::from_utf8(message).map_err(|_| DecodeError::Field {
            field: "line",
            why: "utf-8",
        })?;
        if text == "refused" {
            out.list.push(Event::SessionRefused {
                code: "OPSP8996".into(),
                message: "ALREADY IN USE appkey".into(),
                permanent: true,
            });
            return Ok(());
        }
        let Some(pair) = text.strip_prefix("ack ") else {
            return Err(DecodeError::Field {
                field: "line",
                why: "not an ack",
            });
        };
        out.list
            .push(Event::Response(orderwire_protocol::model::Response {
                req_id: self.keys.take(pair),
                method: Method::Subscribe,
                ok: true,
                message: None,
                ts_in: None,
                ts_out: None,
            }));
        Ok(())
    }
    fn reset(&mut self) {
        self.keys.clear();
    }
    fn keepalive(&self) -> orderwire_protocol::venue::Keepalive {
        orderwire_protocol::venue::Keepalive {
            idle_close_after: None,
            app_ping_every: None,
            heartbeat_every: None,
            max_connection_age: None,
        }
    }
    fn rate_policy(&self) -> orderwire_protocol::venue::RatePolicy {
        orderwire_protocol::venue::RatePolicy::default()
    }
}

#[test]
fn a_reply_is_matched_by_the_key_the_venue_echoes() {
    let keyed = Keyed {
        keys: Default::default(),
    };
    let mut settings = config(WhenLimited::Off);
    settings.subscription_silence = None;
    let mut core = GatewayCore::new(keyed, settings);
    connected(&mut core, 0);
    let mut out = Frames::default();
    let mut sent =
        |core: &mut GatewayCore<Keyed>, request| match core.submit_at(MS, request, &mut out) {
            Ok(Submission::Sent { req_id }) => req_id,
            other => panic!("{other:?}"),
        };
    let (aaa, bbb) = (trades(&["AAA"]), trades(&["BBB"]));
    let a = sent(&mut core, Request::Subscribe(&aaa));
    let b = sent(&mut core, Request::Subscribe(&bbb));
    assert_eq!(core.pending_requests(), 2);
    // Answered out of order, each by its key; a key nothing waits on
    // answers nothing.
    let mut out = Frames::default();
    for line in ["ack BBB", "ack ZZZ", "ack AAA"] {
        feed(&mut core, 2 * MS, line, &mut out);
    }
    let events = outputs(&mut core).events;
    let answered: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Answered { summary, .. } => Some(summary.req_id),
            _ => None,
        })
        .collect();
    assert_eq!(answered, [b, a]);
    assert!(
        events.iter().any(|e| matches!(
            e,
            GatewayEvent::Reply(Event::Response(r)) if r.req_id.is_none()
        )),
        "the unknown key is reported, not matched: {events:?}"
    );
    assert_eq!(core.pending_requests(), 0);
}

#[test]
fn an_order_the_gateway_did_not_place_is_tracked_with_the_same_events() {
    // Placed elsewhere (another session, REST): the order stream reports
    // it; it comes out as order and fill events marked external, its fill
    // once however often the venue repeats it, and no disconnect makes it
    // unknown (no request of ours is at stake).
    let mut core = GatewayCore::new(kraken(), config(WhenLimited::Off));
    // The wall clock reads the fill's timestamp at time zero.
    core.set_wall_offset(1_695_378_785_709_993_000);
    connected(&mut core, 0);
    let mut out = Frames::default();
    let new = r#"{"channel":"executions","type":"update","data":[{"order_id":"OX-1","cl_ord_id":"web-1","exec_type":"new","order_status":"new","order_qty":1,"cum_qty":0,"symbol":"BTC/USD","side":"buy"}],"sequence":1}"#;
    let fill = r#"{"channel":"executions","type":"update","data":[{"order_id":"OX-1","exec_id":"EX1","exec_type":"trade","last_qty":0.4,"last_price":100.5,"order_status":"partially_filled","cum_qty":0.4,"timestamp":"2023-09-22T10:33:05.709993Z"}],"sequence":2}"#;
    feed(&mut core, MS, new, &mut out);
    feed(&mut core, 2 * MS, fill, &mut out);
    feed(&mut core, 3 * MS, fill, &mut out);
    core.disconnect_at(4 * MS);
    let outputs = outputs(&mut core);
    let orders: Vec<(OrderStatus, bool)> = outputs
        .events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Order(o) if o.client_order_id.as_str() == "web-1" => {
                Some((o.status, o.external))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        orders,
        [
            (OrderStatus::New, true),
            (OrderStatus::PartiallyFilled, true)
        ]
    );
    let fills: Vec<Option<String>> = outputs
        .events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Fill(f) => Some(f.client_order_id.map(|id| id.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(fills, [Some("web-1".to_owned())], "once, on its order");
    assert!(
        !outputs.events.iter().any(|e| matches!(
            e,
            GatewayEvent::Reply(Event::OrderUpdate(_) | Event::Fill(_))
        )),
        "nothing left as a bare reply"
    );
    assert_eq!(core.count_orders(OrderStatus::Unknown), 0);
}

#[test]
fn a_request_held_for_the_connection_is_timed_from_its_write_not_its_submit() {
    let mut core = GatewayCore::new(kraken(), config(WhenLimited::Off));
    // Before the first connection opens: held (the default).
    let mut out = Frames::default();
    let Ok(Submission::Sent { req_id }) =
        core.submit_at(MS, Request::Place(&order("early", "BTC/USD")), &mut out)
    else {
        panic!()
    };
    // The handshake takes 9 ms; the frame goes out behind the open
    // sequence at 10 ms, and the ack comes 1 ms later.
    connected(&mut core, 10 * MS);
    feed(
        &mut core,
        11 * MS,
        &add_ack(req_id, "O-early", "early"),
        &mut out,
    );
    let latencies: Vec<u64> = outputs(&mut core)
        .events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Answered { summary, latency } if summary.req_id == req_id => {
                Some(latency.nanos)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        latencies,
        [MS],
        "1 ms from the write, not 10 ms from the submit"
    );
}

#[test]
fn refusing_while_disconnected_is_a_typed_error_and_keeps_nothing() {
    let mut settings = config(WhenLimited::Off);
    settings.when_disconnected = orderwire_engine::gateway::WhenDisconnected::Refuse;
    let mut core = GatewayCore::new(kraken(), settings);
    let mut out = Frames::default();
    assert_eq!(
        core.submit_at(MS, Request::Place(&order("early", "BTC/USD")), &mut out),
        Err(SubmitError::NotConnected)
    );
    assert!(out.0.is_empty());
    assert_eq!(
        core.count_orders(OrderStatus::PendingNew),
        0,
        "nothing kept"
    );
    // A subscription still folds into the next open sequence.
    assert_eq!(
        core.submit_at(MS, Request::Subscribe(&trades(&["A/USD"])), &mut out),
        Ok(Submission::Queued)
    );
    let open = connected(&mut core, 2 * MS);
    assert!(
        open.iter()
            .any(|f| String::from_utf8_lossy(f).contains("A/USD"))
    );
    assert!(matches!(
        core.submit_at(3 * MS, Request::Place(&order("later", "BTC/USD")), &mut out),
        Ok(Submission::Sent { .. })
    ));
}

#[test]
fn a_session_the_venue_refuses_for_good_closes_and_stays_closed() {
    let mut core = GatewayCore::new(
        Keyed {
            keys: Default::default(),
        },
        config(WhenLimited::Off),
    );
    connected(&mut core, 0);
    let mut out = Frames::default();
    feed(&mut core, MS, "refused", &mut out);
    let events = outputs(&mut core).events;
    assert!(
        events.iter().any(|e| matches!(
            e,
            GatewayEvent::Connection(orderwire_engine::gateway::ConnectionEvent::LoginRefused {
                message,
                permanent: true
            })
                if message.starts_with("OPSP8996")
        )),
        "{events:?}"
    );
    let cause = core.poll_reconnect().expect("the connection ends");
    assert!(!cause.reconnects(), "closed for good, no reconnect loop");
}

#[test]
fn a_held_request_does_not_time_out_while_the_link_is_down() {
    let mut core = GatewayCore::new(kraken(), config(WhenLimited::Off));
    let mut out = Frames::default();
    let Ok(Submission::Sent { req_id }) =
        core.submit_at(MS, Request::Place(&order("patient", "BTC/USD")), &mut out)
    else {
        panic!()
    };
    // Far past the 5 s request timeout, still no connection: not written,
    // so not timed out.
    core.timeout_at(60 * SEC, &mut out);
    connected(&mut core, 61 * SEC);
    feed(
        &mut core,
        61 * SEC + MS,
        &add_ack(req_id, "O-patient", "patient"),
        &mut out,
    );
    let events = outputs(&mut core).events;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, GatewayEvent::TimedOut { .. })),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        GatewayEvent::Answered { summary, latency } if summary.req_id == req_id && latency.nanos == MS
    )));
}

#[test]
fn a_tagged_subscribe_folded_into_the_open_sequence_still_ends() {
    let mut core = GatewayCore::new(kraken(), config(WhenLimited::Off));
    let options = orderwire_engine::gateway::RequestOptions {
        req_id: None,
        tag: Some(orderwire_engine::gateway::RequestTag(7)),
    };
    let subscription = trades(&["A/USD"]);
    assert_eq!(
        core.submit_with(Instant(MS), Request::Subscribe(&subscription), options),
        Ok(Submission::Queued)
    );
    let mut spare = Outputs::default();
    core.poll_events(&mut spare);
    let ended: Vec<_> = spare
        .completed
        .iter()
        .map(|c| (c.tag, c.completion.clone()))
        .collect();
    assert_eq!(
        ended,
        [(
            Some(orderwire_engine::gateway::RequestTag(7)),
            orderwire_engine::gateway::Completion::Sent
        )],
        "its ticket or callback hears of it"
    );
}

#[test]
fn an_unanswered_keepalive_reconnects() {
    let mut settings = config(WhenLimited::Off);
    settings.app_ping_every = Some(Duration::from_secs(1));
    settings.request_timeout = Duration::from_secs(5);
    settings.subscription_silence = None;
    let mut core = GatewayCore::new(kraken(), settings);
    connected(&mut core, 0);
    let mut out = Frames::default();
    core.timeout_at(SEC + MS, &mut out);
    assert!(
        out.0
            .iter()
            .any(|f| String::from_utf8_lossy(f).contains("\"ping\"")),
        "the keepalive went out"
    );
    assert!(core.poll_reconnect().is_none());
    // No pong by the deadline: the link is dead.
    core.timeout_at(7 * SEC, &mut out);
    assert_eq!(
        core.poll_reconnect(),
        Some(orderwire_engine::gateway::RecycleCause::KeepaliveUnanswered)
    );
}

#[test]
fn koscom_an_id_less_error_answers_the_oldest_of_two_outstanding_subscribes() {
    use orderwire_protocol::venue::koscom::Koscom;
    let mut settings = config(WhenLimited::Off);
    settings.subscription_silence = None;
    settings.app_ping_every = Some(Duration::from_secs(3600));
    let mut core = GatewayCore::new(Koscom::new(Secret::new("key"), "member"), settings);
    let open = connected(&mut core, 0);
    assert!(String::from_utf8_lossy(&open[0]).contains("\"method\":\"init\""));
    let mut out = Frames::default();
    feed(
        &mut core,
        MS,
        r#"{"jsonrpc":"2.0","id":1,"result":{"message":"ok"}}"#,
        &mut out,
    );
    let ticks = |code: &str| Subscription::Trades {
        symbols: vec![inline(code).unwrap()],
    };
    let (first, second) = (ticks("005930"), ticks("000660"));
    let Ok(Submission::Sent { req_id: a }) =
        core.submit_at(2 * MS, Request::Subscribe(&first), &mut out)
    else {
        panic!()
    };
    let Ok(Submission::Sent { req_id: b }) =
        core.submit_at(2 * MS, Request::Subscribe(&second), &mut out)
    else {
        panic!()
    };
    let _ = outputs(&mut core);
    // Error 47 as documented: no id. The venue answers in order, so it is
    // the first subscribe's; the second still waits for its own answer.
    feed(
        &mut core,
        3 * MS,
        r#"{"jsonrpc":"2.0","error":{"message":"정상적인 JSON-RPC 형식이 아닙니다","code":47}}"#,
        &mut out,
    );
    let answered: Vec<u64> = outputs(&mut core)
        .events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Answered { summary, .. } => Some(summary.req_id),
            _ => None,
        })
        .collect();
    assert_eq!(answered, [a]);
    assert_eq!(core.pending_requests(), 1, "{b} waits");
}
