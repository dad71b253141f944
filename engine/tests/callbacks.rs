//! Per-request callbacks, in virtual time: for a place, a reject, a cancel
//! and a timeout, on Kraken and on Binance, the callback is called once and
//! sees the request exactly as it went on the wire with its secrets
//! redacted, the venue's reply exactly as received, the normalised event
//! and the latency. Reserved request ids, alone and from four threads.

mod support;

use support::drive::{Drive, Frames, drain};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use orderwire_engine::gateway::{
    CallbackTable, Completion, Dispatcher, Gateway, GatewayConfig, GatewayCore, Outputs,
    RequestCallback, RequestOutcome, Submission, SubmitError, SubmitOptions, Transport,
    WhenLimited,
};
use orderwire_protocol::model::{
    CancelOrders, Event, NewOrder, OrderKind, OrderRef, Request, Side, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::binance::{BinanceApi, Credentials, Signer};
use orderwire_protocol::venue::kraken::{Kraken, Tier};
use orderwire_protocol::venue::{FrameKind, Venue, string_field};

const MS: u64 = 1_000_000;
const KRAKEN_TOKEN: &str = "kraken-token-that-must-not-leak";
const BINANCE_KEY: &str = "binance-key-that-must-not-leak";
const BINANCE_SECRET: &str = "binance-secret-that-must-not-leak";

/// One callback call, owned.
#[derive(Debug, Clone)]
struct Call {
    req_id: u64,
    wire_method: String,
    request: String,
    response: Option<String>,
    completion: Completion,
    event: Option<Event>,
    latency_us: u64,
    venue_time_in: Option<i64>,
}

fn recorder() -> (RequestCallback, Arc<Mutex<Vec<Call>>>) {
    let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
    let sink = calls.clone();
    let callback: RequestCallback = Arc::new(move |o: &RequestOutcome<'_>| {
        sink.lock().unwrap().push(Call {
            req_id: o.req_id,
            wire_method: o.wire_method.to_owned(),
            request: o.request.to_owned(),
            response: o.response.map(str::to_owned),
            completion: o.completion.clone(),
            event: o.event.cloned(),
            latency_us: o.latency_us(),
            venue_time_in: o.latency.and_then(|l| l.venue_time_in),
        });
    });
    (callback, calls)
}

/// The core, driven as `Exchange::poll` drives it: callbacks run after
/// each message, with the message in hand.
struct Driver<V: Venue> {
    core: GatewayCore<V>,
    out: Frames,
    spare: Outputs,
    table: CallbackTable,
    dispatcher: Dispatcher,
}

impl<V: Venue> Driver<V> {
    fn new(venue: V) -> Driver<V> {
        let mut core = GatewayCore::new(
            venue,
            GatewayConfig {
                when_limited: WhenLimited::Off,
                request_timeout: Duration::from_millis(100),
                ..GatewayConfig::default()
            },
        );
        core.connect_at(0);
        Driver {
            core,
            out: Frames::default(),
            spare: Outputs::default(),
            table: CallbackTable::default(),
            dispatcher: Dispatcher::default(),
        }
    }

    /// Submits with `callback`; returns the id and the frame as written.
    fn submit(
        &mut self,
        now: u64,
        request: Request<'_>,
        callback: &RequestCallback,
    ) -> (u64, String) {
        let options = self.table.tag(SubmitOptions::callback(callback.clone()));
        let submitted = self
            .core
            .submit_with(Instant(now), request, options)
            .unwrap();
        drain(&mut self.core, &mut self.out);
        let Submission::Sent { req_id } = submitted else {
            panic!("{submitted:?}")
        };
        let wire = String::from_utf8(self.out.0.last().unwrap().clone()).unwrap();
        (req_id, wire)
    }

    fn reply(&mut self, now: u64, text: &str) {
        let mut message = text.as_bytes().to_vec();
        self.core.message_at(now, now, &mut message, &mut self.out);
        self.deliver(Some(&message));
    }

    fn timeout(&mut self, now: u64) {
        self.core.timeout_at(now, &mut self.out);
        self.deliver(None);
    }

    fn deliver(&mut self, response: Option<&[u8]>) {
        self.core.poll_events(&mut self.spare);
        let secrets = self.core.capabilities().secret_fields;
        let table = &mut self.table;
        self.dispatcher.dispatch(
            &self.spare.completed,
            response,
            secrets,
            |tag| table.take(tag),
            None,
        );
    }
}

fn order(id: &str, symbol: &str) -> NewOrder {
    NewOrder {
        client_order_id: inline(id).unwrap(),
        symbol: inline(symbol).unwrap(),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some("100.5".parse().unwrap()),
        qty: "1".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

/// The wire text with each value of `keys` replaced as the callback must
/// show it, built from the frame independently of the redactor.
fn expected_redaction(wire: &str, keys: &[&str]) -> String {
    let mut expected = wire.to_owned();
    for key in keys {
        let value = string_field(wire.as_bytes(), key).unwrap();
        expected = expected.replace(
            &format!(r#""{key}":"{value}""#),
            &format!(r#""{key}":"***""#),
        );
    }
    expected
}

fn only_call(calls: &Arc<Mutex<Vec<Call>>>) -> Call {
    let mut calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    calls.pop().unwrap()
}

#[test]
fn kraken_callbacks_see_the_wire_request_redacted_and_the_raw_reply() {
    let mut driver = Driver::new(Kraken::new(Some(Secret::new(KRAKEN_TOKEN)), Tier::Pro));
    let (callback, calls) = recorder();
    // A place and its ack.
    let (req_id, wire) = driver.submit(MS, Request::Place(&order("a", "BTC/USD")), &callback);
    assert!(wire.contains(KRAKEN_TOKEN), "the wire carries the token");
    let ack = format!(
        r#"{{"method":"add_order","req_id":{req_id},"result":{{"order_id":"O-a","cl_ord_id":"a"}},"success":true,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}}"#
    );
    driver.reply(3 * MS, &ack);
    let call = only_call(&calls);
    assert_eq!(call.req_id, req_id);
    assert_eq!(call.wire_method, "add_order");
    assert_eq!(call.request, expected_redaction(&wire, &["token"]));
    assert!(!call.request.contains(KRAKEN_TOKEN));
    assert_eq!(call.response.as_deref(), Some(ack.as_str()));
    assert_eq!(call.completion, Completion::Answered);
    assert!(matches!(call.event, Some(Event::OrderAck(_))));
    assert_eq!(call.latency_us, 2_000);
    assert_eq!(call.venue_time_in, Some(1_695_305_707_197_274_000));
    // A reject.
    let (req_id, wire) = driver.submit(4 * MS, Request::Place(&order("r", "BTC/USD")), &callback);
    let reject = format!(
        r#"{{"method":"add_order","req_id":{req_id},"success":false,"error":"EOrder:Insufficient funds","time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}}"#
    );
    driver.reply(5 * MS, &reject);
    let call = only_call(&calls);
    assert_eq!(call.request, expected_redaction(&wire, &["token"]));
    assert_eq!(call.response.as_deref(), Some(reject.as_str()));
    assert!(matches!(call.event, Some(Event::OrderReject(_))));
    // A cancel of the first order.
    let cancel = CancelOrders {
        symbol: None,
        orders: vec![OrderRef::ClientOrderId(inline("a").unwrap())],
    };
    let (req_id, wire) = driver.submit(6 * MS, Request::Cancel(&cancel), &callback);
    let canceled = format!(
        r#"{{"method":"cancel_order","req_id":{req_id},"result":{{"order_id":"O-a"}},"success":true,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}}"#
    );
    driver.reply(7 * MS, &canceled);
    let call = only_call(&calls);
    assert_eq!(call.wire_method, "cancel_order");
    assert_eq!(call.request, expected_redaction(&wire, &["token"]));
    assert_eq!(call.response.as_deref(), Some(canceled.as_str()));
    // A place nobody answers: the deadline, no response, no made-up reject.
    let (req_id, wire) = driver.submit(8 * MS, Request::Place(&order("t", "BTC/USD")), &callback);
    driver.timeout(50 * MS);
    assert!(calls.lock().unwrap().is_empty(), "not yet due");
    driver.timeout(108 * MS);
    let call = only_call(&calls);
    assert_eq!(call.req_id, req_id);
    assert_eq!(call.completion, Completion::TimedOut);
    assert_eq!(call.response, None);
    assert_eq!(call.event, None);
    assert_eq!(call.request, expected_redaction(&wire, &["token"]));
}

#[test]
fn binance_callbacks_see_the_signed_request_redacted_and_the_raw_reply() {
    let venue = BinanceApi::new(Some(Credentials {
        api_key: Secret::new(BINANCE_KEY),
        signer: Signer::Hmac(Secret::new(BINANCE_SECRET)),
    }));
    let mut driver = Driver::new(venue);
    let (callback, calls) = recorder();
    let secrets = ["apiKey", "signature"];
    let (req_id, wire) = driver.submit(MS, Request::Place(&order("a", "BTCUSDT")), &callback);
    assert!(wire.contains(BINANCE_KEY) && wire.contains(r#""signature":""#));
    let ack = format!(
        r#"{{"id":{req_id},"status":200,"result":{{"symbol":"BTCUSDT","orderId":7,"orderListId":-1,"clientOrderId":"a","transactTime":1695305707010}},"rateLimits":[{{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":1}}]}}"#
    );
    driver.reply(2 * MS, &ack);
    let call = only_call(&calls);
    assert_eq!(call.wire_method, "order.place");
    assert_eq!(call.request, expected_redaction(&wire, &secrets));
    assert!(!call.request.contains(BINANCE_KEY));
    let signature = string_field(wire.as_bytes(), "signature").unwrap();
    assert!(!call.request.contains(signature));
    assert_eq!(call.response.as_deref(), Some(ack.as_str()));
    assert!(matches!(call.event, Some(Event::OrderAck(_))));
    assert_eq!(call.latency_us, 1_000);
    // A reject.
    let (req_id, wire) = driver.submit(3 * MS, Request::Place(&order("r", "BTCUSDT")), &callback);
    let reject = format!(
        r#"{{"id":{req_id},"status":400,"error":{{"code":-2010,"msg":"Account has insufficient balance for requested action."}}}}"#
    );
    driver.reply(4 * MS, &reject);
    let call = only_call(&calls);
    assert_eq!(call.request, expected_redaction(&wire, &secrets));
    assert_eq!(call.response.as_deref(), Some(reject.as_str()));
    assert!(matches!(call.event, Some(Event::OrderReject(_))));
    // A cancel.
    let cancel = CancelOrders {
        symbol: inline("BTCUSDT"),
        orders: vec![OrderRef::ClientOrderId(inline("a").unwrap())],
    };
    let (req_id, wire) = driver.submit(5 * MS, Request::Cancel(&cancel), &callback);
    let canceled = format!(
        r#"{{"id":{req_id},"status":200,"result":{{"symbol":"BTCUSDT","origClientOrderId":"a","orderId":7,"orderListId":-1,"clientOrderId":"x","status":"CANCELED"}}}}"#
    );
    driver.reply(6 * MS, &canceled);
    let call = only_call(&calls);
    assert_eq!(call.wire_method, "order.cancel");
    assert_eq!(call.request, expected_redaction(&wire, &secrets));
    assert_eq!(call.response.as_deref(), Some(canceled.as_str()));
    // A timeout.
    let (_, wire) = driver.submit(7 * MS, Request::Place(&order("t", "BTCUSDT")), &callback);
    driver.timeout(200 * MS);
    let call = only_call(&calls);
    assert_eq!(call.completion, Completion::TimedOut);
    assert_eq!(call.response, None);
    assert_eq!(call.request, expected_redaction(&wire, &secrets));
}

/// The framework's default text, from a real outcome.
#[test]
fn the_default_callback_prints_what_the_framework_prints() {
    let mut driver = Driver::new(Kraken::new(Some(Secret::new(KRAKEN_TOKEN)), Tier::Pro));
    let printed: Arc<Mutex<String>> = Arc::default();
    let sink = printed.clone();
    let callback: RequestCallback = Arc::new(move |o: &RequestOutcome<'_>| {
        o.write_default(&mut *sink.lock().unwrap()).unwrap();
    });
    let (req_id, _) = driver.submit(MS, Request::Place(&order("a", "BTC/USD")), &callback);
    let ack = format!(
        r#"{{"method":"add_order","req_id":{req_id},"result":{{"order_id":"O-a","cl_ord_id":"a"}},"success":true}}"#
    );
    driver.reply(MS + 12_958_000, &ack);
    let printed = printed.lock().unwrap();
    let mut lines = printed.lines();
    assert_eq!(
        lines.next(),
        Some("WebSocket Request - ID: 1 | Method: add_order | Latency: 12958μs")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(r#"Request: {"method":"add_order""#)
    );
    assert_eq!(lines.next(), Some(format!("Response: {ack}").as_str()));
    assert!(!printed.contains(KRAKEN_TOKEN));
}

#[derive(Default)]
struct Wire(parking_lot::Mutex<Vec<Vec<u8>>>);

impl Transport for Wire {
    fn buffer(&self) -> Vec<u8> {
        Vec::new()
    }
    fn send(&self, _kind: FrameKind, frame: Vec<u8>) -> Result<(), Vec<u8>> {
        self.0.lock().push(frame);
        Ok(())
    }
}

/// A Kraken gateway writing to a `Wire`, without rate limits.
fn kraken_gateway() -> Gateway<Kraken, Wire> {
    Gateway::new(
        Kraken::new(Some(Secret::new(KRAKEN_TOKEN)), Tier::Pro),
        GatewayConfig {
            when_limited: WhenLimited::Off,
            ..GatewayConfig::default()
        },
        Wire::default(),
    )
}

fn wire_ids(frames: &[Vec<u8>]) -> Vec<u64> {
    frames
        .iter()
        .map(|f| {
            serde_json::from_slice::<serde_json::Value>(f).unwrap()["req_id"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

/// What a service can rely on: a reserved id goes out as reserved, or is
/// refused (never renumbered); one never submitted leaves a gap; one that
/// was never handed out is refused.
#[test]
fn reserved_ids_go_out_as_reserved_or_are_refused() {
    let gateway = kraken_gateway();
    let first = gateway.next_request_id();
    let second = gateway.next_request_id();
    let reserved = |id| SubmitOptions {
        req_id: Some(id),
        callback: None,
    };
    assert_eq!(
        gateway.submit_with(
            Instant(0),
            Request::Place(&order("b", "BTC/USD")),
            reserved(second)
        ),
        Ok(Submission::Sent { req_id: second })
    );
    // `first` is below an id already on the wire.
    assert_eq!(
        gateway.submit_with(
            Instant(0),
            Request::Place(&order("a", "BTC/USD")),
            reserved(first)
        ),
        Err(SubmitError::StaleRequestId { req_id: first })
    );
    assert_eq!(
        gateway.submit_with(
            Instant(0),
            Request::Place(&order("z", "BTC/USD")),
            reserved(1_000)
        ),
        Err(SubmitError::UnreservedRequestId { req_id: 1_000 })
    );
    // A reservation never used is a gap; the next plain submit is above it.
    let _unused = gateway.next_request_id();
    let Ok(Submission::Sent { req_id }) =
        gateway.submit(Instant(0), Request::Place(&order("c", "BTC/USD")))
    else {
        panic!()
    };
    assert_eq!(req_id, second + 2);
    assert_eq!(
        wire_ids(&gateway.transport().0.lock()),
        [second, second + 2]
    );
    // A refused request left nothing behind: its client id is free.
    assert!(gateway.core().lock().order(&inline("a").unwrap()).is_none());
}

/// Four threads reserving and submitting at once: every request goes out
/// with the id it reserved or is refused as stale, and the wire's ids
/// strictly increase.
#[test]
fn reserved_ids_from_four_threads() {
    let gateway = Arc::new(Gateway::new(
        Kraken::new(Some(Secret::new(KRAKEN_TOKEN)), Tier::Pro),
        GatewayConfig {
            when_limited: WhenLimited::Off,
            order_capacity: 8_192,
            ..GatewayConfig::default()
        },
        Wire::default(),
    ));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let gateway = gateway.clone();
            std::thread::spawn(move || {
                let mut sent = Vec::new();
                let mut stale = 0;
                for n in 0..500 {
                    let id = gateway.next_request_id();
                    let options = SubmitOptions {
                        req_id: Some(id),
                        callback: None,
                    };
                    let name = format!("t{t}-{n}");
                    match gateway.submit_with(
                        Instant(0),
                        Request::Place(&order(&name, "BTC/USD")),
                        options,
                    ) {
                        Ok(Submission::Sent { req_id }) => {
                            assert_eq!(req_id, id, "never renumbered");
                            sent.push(id);
                        }
                        Err(SubmitError::StaleRequestId { req_id }) => {
                            assert_eq!(req_id, id);
                            stale += 1;
                        }
                        other => panic!("{other:?}"),
                    }
                }
                (sent, stale)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut stale = 0;
    for thread in threads {
        let (sent, refused) = thread.join().unwrap();
        accepted.extend(sent);
        stale += refused;
    }
    let on_wire = wire_ids(&gateway.transport().0.lock());
    assert!(
        on_wire.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing"
    );
    accepted.sort_unstable();
    assert_eq!(on_wire, accepted, "the wire holds exactly the accepted ids");
    assert_eq!(accepted.len() + stale, 2_000);
}

/// A reply that names a secret key is redacted too (Binance's
/// `session.logon` echoes `apiKey`); replies that name none are borrowed.
#[test]
fn a_reply_naming_a_secret_is_redacted_for_the_callback() {
    let mut driver = Driver::new(Kraken::new(Some(Secret::new(KRAKEN_TOKEN)), Tier::Pro));
    let (callback, calls) = recorder();
    let (req_id, _) = driver.submit(MS, Request::Place(&order("a", "BTC/USD")), &callback);
    let reply = format!(
        r#"{{"method":"add_order","req_id":{req_id},"result":{{"order_id":"O-a","cl_ord_id":"a","token":"{KRAKEN_TOKEN}"}},"success":true}}"#
    );
    driver.reply(2 * MS, &reply);
    let call = only_call(&calls);
    let response = call.response.unwrap();
    assert!(response.contains(r#""token":"***""#), "{response}");
    assert!(!response.contains(KRAKEN_TOKEN));
}

/// The core holds no callback: the gateway keeps it under a tag until the
/// request's end comes out of the core, and a refused submit keeps nothing
/// (its callback is never called).
#[test]
fn the_gateway_keeps_a_callback_until_its_request_ends() {
    let gateway = kraken_gateway();
    let _open = gateway.core().lock().connect_at(0);
    let (callback, calls) = recorder();
    let with_callback = || SubmitOptions::callback(callback.clone());
    let Ok(Submission::Sent { req_id }) = gateway.submit_with(
        Instant(0),
        Request::Place(&order("a", "BTC/USD")),
        with_callback(),
    ) else {
        panic!("sent")
    };
    assert_eq!(gateway.callbacks_waiting(), 1);
    // The same client order id again: refused, and its callback not kept.
    assert_eq!(
        gateway.submit_with(
            Instant(0),
            Request::Place(&order("a", "BTC/USD")),
            with_callback()
        ),
        Err(SubmitError::DuplicateClientOrderId)
    );
    assert_eq!(gateway.callbacks_waiting(), 1);
    let ack = format!(
        r#"{{"method":"add_order","req_id":{req_id},"result":{{"order_id":"O-1","cl_ord_id":"a"}},"success":true,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}}"#
    );
    let mut message = ack.clone().into_bytes();
    gateway.handle_message(
        Instant(1_000),
        Instant(1_000),
        FrameKind::Text,
        &mut message,
    );
    let mut spare = Outputs::default();
    gateway.poll_events(&mut spare);
    let [done] = &spare.completed[..] else {
        panic!("one completion: {:?}", spare.completed)
    };
    let tag = done.tag.expect("tagged");
    let callback = gateway.take_callback(tag).expect("kept under its tag");
    assert_eq!(gateway.callbacks_waiting(), 0);
    assert!(gateway.take_callback(tag).is_none(), "taken once");
    Dispatcher::default().dispatch(
        &spare.completed,
        Some(ack.as_bytes()),
        &[],
        |_| Some(callback.clone()),
        None,
    );
    let call = only_call(&calls);
    assert_eq!(call.req_id, req_id);
    assert_eq!(call.completion, Completion::Answered);
}
