//! The order path allocates nothing in steady state: place, ack, the
//! executions update, cancel, its ack and the canceled update, through the
//! gateway core and the Kraken codec, with rate limits on, 2,000 times after
//! a warm-up. Every message is prepared before the counting starts.

mod support;

use support::drive::{Drive, Sink, drain};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use orderwire_engine::capture::{CaptureConfig, CaptureSink, WhenBehind};
use orderwire_engine::gateway::capture::{Batch, Recorder};
use orderwire_engine::gateway::{
    CallbackTable, Completion, Dispatcher, GatewayConfig, GatewayCore, Outputs, RequestCallback,
    RequestOutcome, SubmitOptions, WhenLimited,
};
use orderwire_protocol::capture::Header;
use orderwire_protocol::model::{
    CancelOrders, NewOrder, OrderKind, OrderRef, Request, Side, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::FrameKind;
use orderwire_protocol::venue::kraken::{Kraken, Tier};
use orderwire_testkit::alloc::{Counting, allocations, count_this_thread};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Frames go out and their buffers come back, as the engine's pool does.
struct Recycling {
    pool: Vec<Vec<u8>>,
    sent: usize,
}

impl Sink for Recycling {
    /// As the engine does: a pooled buffer goes to the core for each frame
    /// taken, and the frame's buffer returns to the pool once written.
    fn buffer(&mut self) -> Vec<u8> {
        self.pool.pop().unwrap_or_default()
    }
    fn frame(&mut self, _kind: FrameKind, mut bytes: Vec<u8>) {
        self.sent += 1;
        bytes.clear();
        self.pool.push(bytes);
    }
}

/// The counter is global: the two tests take turns, so that one's
/// bookkeeping never lands in the other's count.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

const WARM_UP: usize = 500;
const MEASURED: usize = 2_000;

#[test]
fn the_order_path_allocates_nothing_in_steady_state() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (counted, _) = kraken_cycles(None, None);
    assert_eq!(counted, 0);
}

/// The engine's capture writer as the core's recorder (what
/// `ExchangeConfig::capture` installs).
struct Capturing(Arc<CaptureSink>);

impl Recorder for Capturing {
    fn record(&mut self, record: &orderwire_protocol::capture::Record<'_>) {
        self.0.record(record);
    }
    fn record_batch(&mut self, batch: Batch<'_>) {
        self.0.record_unredacted(batch);
    }
}

/// With a capture on: every input recorded, handed to the writer thread
/// in recycled buffers. The recording side (this thread) allocates
/// nothing once the pool of buffers has grown to the traffic; the file
/// holds every cycle, and no secret.
#[test]
fn the_order_path_with_capture_on_allocates_nothing() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let path = std::env::temp_dir().join(format!("orderwire-alloc-{}.owcap", std::process::id()));
    let mut config = CaptureConfig::new(&path);
    config.when_behind = WhenBehind::Block;
    let sink = Arc::new(CaptureSink::start(&config, Header::default()).unwrap());
    let (counted, cycles) = kraken_cycles(None, Some(sink.clone()));
    let sink = Arc::into_inner(sink).expect("the core is gone");
    let trailer = sink.finish().unwrap();
    assert_eq!(counted, 0);
    // Place, cancel and four messages a cycle; the connect's records.
    assert!(trailer.records >= 6 * cycles as u64, "{trailer:?}");
    assert_eq!(trailer.dropped, 0);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(!bytes.windows(12).any(|w| w == b"sekrit-token"));
    let capture = orderwire_protocol::capture::read_all(&bytes).unwrap();
    assert_eq!(capture.records.len() as u64, trailer.records);
}

/// The same with a per-request callback on every place and cancel: the
/// request's text is kept, redacted on the polling side, and the callback
/// sees the raw reply, all from reused buffers.
#[test]
fn the_order_path_with_per_request_callbacks_allocates_nothing() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let callback: RequestCallback = Arc::new(move |outcome: &RequestOutcome<'_>| {
        // What a service's callback reads, without allocating.
        let redacted = outcome.request.contains(r#""token":"***""#)
            && !outcome.request.contains("sekrit-token");
        let answered = outcome.completion == &Completion::Answered
            && outcome
                .response
                .is_some_and(|r| r.contains(r#""success":true"#));
        if redacted && answered && outcome.latency_us() < 10_000 {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    });
    let (counted, cycles) = kraken_cycles(Some(callback), None);
    assert_eq!(
        calls.load(Ordering::Relaxed),
        2 * cycles,
        "one call per place and cancel"
    );
    assert_eq!(counted, 0);
}

/// Place, ack, update, cancel, ack, update, `WARM_UP + MEASURED` times;
/// returns the allocations counted after the warm-up and the cycles run.
fn kraken_cycles(
    callback: Option<RequestCallback>,
    capture: Option<Arc<CaptureSink>>,
) -> (u64, usize) {
    // Logging on, at debug, on this thread: the steady state must log
    // nothing (a formatted line would allocate and fail the count).
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(std::io::sink)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let venue = Kraken::new(
        Some(Secret::new("sekrit-token")),
        Tier::Custom {
            threshold_milli: u64::MAX / 4,
            decay_milli_per_sec: 1_000_000,
        },
    );
    let mut core = GatewayCore::new(
        venue,
        GatewayConfig {
            when_limited: WhenLimited::Queue { capacity: 64 },
            order_capacity: 8192,
            ..GatewayConfig::default()
        },
    );
    if let Some(sink) = &capture {
        core.set_recorder(Box::new(Capturing(sink.clone())));
    }
    let mut out = Recycling {
        pool: (0..8).map(|_| Vec::with_capacity(1024)).collect(),
        sent: 0,
    };
    core.connect_at(0);
    let rounds = WARM_UP + MEASURED;
    // Everything the venue will say, prepared up front.
    let mut script: Vec<[Vec<u8>; 4]> = Vec::with_capacity(rounds);
    let mut orders = Vec::with_capacity(rounds);
    for n in 0..rounds {
        let cl = format!("c{n}");
        let oid = format!("OID-{n:06}");
        let place_req = 1 + 2 * n as u64;
        let cancel_req = place_req + 1;
        script.push([
            format!(r#"{{"method":"add_order","req_id":{place_req},"result":{{"order_id":"{oid}","cl_ord_id":"{cl}"}},"success":true,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}}"#).into_bytes(),
            format!(r#"{{"channel":"executions","type":"update","data":[{{"order_id":"{oid}","cl_ord_id":"{cl}","symbol":"BTC/USD","side":"buy","order_qty":1,"limit_price":100.5,"order_status":"new","exec_type":"new","timestamp":"2023-09-22T10:33:05.709950Z"}}],"sequence":{}}}"#, 2 * n + 1).into_bytes(),
            format!(r#"{{"method":"cancel_order","req_id":{cancel_req},"result":{{"order_id":"{oid}"}},"success":true,"time_in":"2023-09-21T14:36:57.428972Z","time_out":"2023-09-21T14:36:57.437952Z"}}"#).into_bytes(),
            format!(r#"{{"channel":"executions","type":"update","data":[{{"order_id":"{oid}","exec_type":"canceled","order_status":"canceled","timestamp":"2023-09-22T10:33:05.709990Z"}}],"sequence":{}}}"#, 2 * n + 2).into_bytes(),
        ]);
        orders.push(NewOrder {
            client_order_id: inline(&cl).unwrap(),
            symbol: inline("BTC/USD").unwrap(),
            side: Side::Buy,
            kind: OrderKind::Limit,
            price: Some("100.5".parse().unwrap()),
            qty: "1".parse().unwrap(),
            time_in_force: TimeInForce::GoodTillCanceled,
            post_only: false,
        });
    }
    let mut cancel = CancelOrders {
        symbol: None,
        orders: vec![OrderRef::ClientOrderId(orders[0].client_order_id)],
    };
    let mut spare = Outputs::default();
    let mut dispatcher = Dispatcher::default();
    // As the drivers keep them: the core holds a tag, the table the callback.
    let mut table = CallbackTable::default();
    let secret_fields = core.capabilities().secret_fields;
    let mut message = Vec::with_capacity(1024);
    let mut before = 0;
    for n in 0..rounds {
        if n == WARM_UP {
            count_this_thread();
            before = allocations();
        }
        if let Some(sink) = &capture {
            // Paced to the writer thread: a buffer it has not given back
            // yet would be a new one (the pool grows in the warm-up).
            while n >= WARM_UP && sink.spare_buffers() < 2 {
                std::thread::yield_now();
            }
        }
        let now = n as u64 * 1_000_000;
        let options = |table: &mut CallbackTable| {
            table.tag(SubmitOptions {
                req_id: None,
                callback: callback.clone(),
            })
        };
        core.submit_with(
            Instant(now),
            Request::Place(&orders[n]),
            options(&mut table),
        )
        .unwrap();
        drain(&mut core, &mut out);
        for (step, bytes) in script[n].iter().enumerate() {
            if step == 2 {
                cancel.orders[0] = OrderRef::ClientOrderId(orders[n].client_order_id);
                core.submit_with(
                    Instant(now + 2_000),
                    Request::Cancel(&cancel),
                    options(&mut table),
                )
                .unwrap();
                drain(&mut core, &mut out);
            }
            message.clear();
            message.extend_from_slice(bytes);
            core.message_at(now + 1_000, now + 1_000, &mut message, &mut out);
            // As `Exchange::poll` does: the callbacks run with the message
            // still in hand.
            core.poll_events(&mut spare);
            dispatcher.dispatch(
                &spare.completed,
                Some(&message),
                secret_fields,
                |tag| table.take(tag),
                None,
            );
        }
        if core.next_timeout().is_some_and(|at| at <= now) {
            core.timeout_at(now, &mut out);
        }
        core.poll_events(&mut spare);
    }
    let counted = allocations() - before;
    orderwire_testkit::alloc::stop_counting_this_thread();
    println!(
        "order path (callbacks: {}): {counted} allocations in {MEASURED} place/ack/cancel cycles",
        callback.is_some()
    );
    assert_eq!(out.sent, 2 * rounds, "every place and cancel went out");
    assert_eq!(core.pending_requests(), 0, "every request was answered");
    (counted, rounds)
}

/// The same cycle over the Binance codec: with an HMAC key every request is
/// signed; with an Ed25519 key the session logs on and requests go
/// unsigned. Every reply carries `rateLimits`, which the limiter
/// reconciles; order updates come as executionReports.
#[test]
fn the_binance_order_path_allocates_nothing_in_steady_state() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    use orderwire_protocol::venue::binance::{BinanceApi, Credentials, Signer};
    for signer in [
        Signer::Hmac(Secret::new("secret")),
        Signer::ed25519_from_bytes(&[9u8; 32]),
    ] {
        let venue = BinanceApi::new(Some(Credentials {
            api_key: Secret::new("key"),
            signer,
        }));
        let mut core = GatewayCore::new(
            venue,
            GatewayConfig {
                when_limited: WhenLimited::Queue { capacity: 64 },
                order_capacity: 8192,
                ..GatewayConfig::default()
            },
        );
        let mut out = Recycling {
            pool: (0..8).map(|_| Vec::with_capacity(1024)).collect(),
            sent: 0,
        };
        let open = core.connect_at(0);
        let first_id = 1 + open.len() as u64;
        // The venue accepts the logon (id 1), as a real session does: the
        // gateway tracks it, and a logon left unanswered ends the session.
        let mut logon_reply = br#"{"id":1,"status":200,"result":{"apiKey":"key","authorizedSince":1649729878532,"connectedSince":1649729873021,"returnRateLimits":false,"serverTime":1649729878630,"userDataStream":false}}"#.to_vec();
        core.message_at(1, 1, &mut logon_reply, &mut out);
        let rounds = WARM_UP + MEASURED;
        let limits = r#""rateLimits":[{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":1},{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":160000,"count":1},{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":2}]"#;
        let mut script: Vec<[Vec<u8>; 4]> = Vec::with_capacity(rounds);
        let mut orders = Vec::with_capacity(rounds);
        for n in 0..rounds {
            let cl = format!("c{n}");
            let oid = 1_000 + n;
            let place_req = first_id + 2 * n as u64;
            let cancel_req = place_req + 1;
            script.push([
                format!(r#"{{"id":{place_req},"status":200,"result":{{"symbol":"BTCUSDT","orderId":{oid},"orderListId":-1,"clientOrderId":"{cl}","transactTime":1660801715639}},{limits}}}"#).into_bytes(),
                format!(r#"{{"subscriptionId":0,"event":{{"e":"executionReport","E":1,"s":"BTCUSDT","c":"{cl}","S":"BUY","o":"LIMIT","q":"1","p":"100.5","C":"","x":"NEW","X":"NEW","i":{oid},"l":"0","z":"0","L":"0","n":"0","N":null,"T":2,"t":-1,"m":false}}}}"#).into_bytes(),
                format!(r#"{{"id":{cancel_req},"status":200,"result":{{"symbol":"BTCUSDT","origClientOrderId":"{cl}","orderId":{oid},"orderListId":-1,"clientOrderId":"x","status":"CANCELED"}},{limits}}}"#).into_bytes(),
                format!(r#"{{"subscriptionId":0,"event":{{"e":"executionReport","E":1,"s":"BTCUSDT","c":"x","S":"BUY","o":"LIMIT","q":"1","p":"100.5","C":"{cl}","x":"CANCELED","X":"CANCELED","i":{oid},"l":"0","z":"0","L":"0","n":"0","N":null,"T":3,"t":-1,"m":false}}}}"#).into_bytes(),
            ]);
            orders.push(NewOrder {
                client_order_id: inline(&cl).unwrap(),
                symbol: inline("BTCUSDT").unwrap(),
                side: Side::Buy,
                kind: OrderKind::Limit,
                price: Some("100.5".parse().unwrap()),
                qty: "1".parse().unwrap(),
                time_in_force: TimeInForce::GoodTillCanceled,
                post_only: false,
            });
        }
        let mut cancel = CancelOrders {
            symbol: inline("BTCUSDT"),
            orders: vec![OrderRef::ClientOrderId(orders[0].client_order_id)],
        };
        let mut spare = Outputs::default();
        let mut message = Vec::with_capacity(1024);
        let mut before = 0;
        for n in 0..rounds {
            if n == WARM_UP {
                count_this_thread();
                before = allocations();
            }
            // 250 ms apart: inside ORDERS 45 per 10 s (50 less the headroom).
            let now = 1 + n as u64 * 250_000_000;
            core.submit_at(now, Request::Place(&orders[n]), &mut out)
                .unwrap();
            for (step, bytes) in script[n].iter().enumerate() {
                if step == 2 {
                    cancel.orders[0] = OrderRef::ClientOrderId(orders[n].client_order_id);
                    core.submit_at(now + 2_000, Request::Cancel(&cancel), &mut out)
                        .unwrap();
                }
                message.clear();
                message.extend_from_slice(bytes);
                core.message_at(now + 1_000, now + 1_000, &mut message, &mut out);
            }
            if core.next_timeout().is_some_and(|at| at <= now) {
                core.timeout_at(now, &mut out);
            }
            spare.clear();
            core.poll_events(&mut spare);
        }
        let counted = allocations() - before;
        orderwire_testkit::alloc::stop_counting_this_thread();
        println!(
            "binance order path ({}): {counted} allocations in {MEASURED} cycles",
            if first_id > 1 { "ed25519" } else { "hmac" }
        );
        assert_eq!(out.sent, 2 * rounds, "every place and cancel went out");
        assert_eq!(core.pending_requests(), 0, "every request was answered");
        assert_eq!(
            core.count_orders(orderwire_protocol::model::OrderStatus::Canceled),
            rounds
        );
        assert_eq!(counted, 0);
    }
}
