//! From `place_order` on the user thread to the frame handed to the socket
//! write on the reactor, over 100,000 orders, for Kraken and for Binance
//! with each request signed (HMAC-SHA256, then Ed25519), beside the bare
//! send path: the
//! same frame bytes sent through the same engine and transport without the
//! gateway. Both run in one process against the same sink (a WebSocket
//! server that reads and discards), over ws:// on loopback, with rate
//! limits off.
//!
//! The reactor's write probe (`ConnectionConfig::write_probe`) stamps each
//! frame with the engine's TSC clock as it is written; the user thread
//! stamps before it calls. One order in flight at a time (the next starts
//! when the probe saw the previous one), so each figure is one frame's own
//! path. Prints p50/p99/p99.9/max for both and the gateway's added cost,
//! and writes target/bench-results/order_to_wire.json.
//!
//! A third run per round drives the gateway without `Exchange`, over a
//! transport that stamps the hand-over to the command queue, and splits
//! the path in two: the gateway's work until the hand-over, and the
//! reactor's pickup and write (the same part as the bare path's).
//!
//! `ORDERWIRE_ORDERS` sets the measured orders (default 100,000, after
//! 5,000 warm-up ones); `ORDERWIRE_PATHS=kraken,...` runs only those venues;
//! `ORDERWIRE_WAIT=busy` runs the reactors in BusyPoll.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hdrhistogram::Histogram;
use orderwire_engine::gateway::{
    Exchange, ExchangeConfig, GatewayConfig, RequestCallback, RequestOutcome, SubmitOptions,
    WhenLimited,
};
use orderwire_engine::{
    Clock, ConnectionConfig, Engine, EngineConfig, EngineEvent, ReconnectPolicy,
};
use orderwire_protocol::model::{NewOrder, OrderKind, Request, Side, TimeInForce, inline};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::binance::{BinanceApi, Credentials, Signer};
use orderwire_protocol::venue::kraken::{Kraken, Tier};
use orderwire_protocol::venue::{Offline, Venue, string_field};
use orderwire_protocol::ws::MessageKind;
use orderwire_testkit::server::{Script, TestServer};
use serde_json::json;

const WARM_UP: usize = 5_000;

static CLOCK: OnceLock<Clock> = OnceLock::new();
static WRITES: AtomicU64 = AtomicU64::new(0);
static LAST_WRITE_NS: AtomicU64 = AtomicU64::new(0);
/// Acks the per-request callback saw.
static ACKED: AtomicU64 = AtomicU64::new(0);

/// What a service's callback does with an outcome, cheaply: look at it.
fn bench_callback() -> RequestCallback {
    Arc::new(|outcome: &RequestOutcome<'_>| {
        if outcome.response.is_some() && outcome.request.contains(r#""token":"***""#) {
            ACKED.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// A Kraken ack for each `add_order` (the answering server's script).
fn kraken_ack(text: &str) -> Option<String> {
    let req_id = text
        .split("\"req_id\":")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?;
    let client = string_field(text.as_bytes(), "cl_ord_id")?;
    Some(format!(
        r#"{{"method":"add_order","req_id":{req_id},"result":{{"order_id":"O-{client}","cl_ord_id":"{client}"}},"success":true,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}}"#
    ))
}

/// When the last frame was handed to the engine's command queue.
static HANDED_OVER_NS: AtomicU64 = AtomicU64::new(0);
static BEFORE_SEND_NS: AtomicU64 = AtomicU64::new(0);

/// Both ends stamp with this one clock (two `Clock`s have different origins).
fn stamp() -> u64 {
    CLOCK.get().map_or(0, Clock::now_ns)
}

fn probe(_bytes: usize) {
    let now = stamp();
    LAST_WRITE_NS.store(now, Ordering::Release);
    WRITES.fetch_add(1, Ordering::AcqRel);
}

fn orders_to_measure() -> usize {
    std::env::var("ORDERWIRE_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn connection(server: &TestServer) -> ConnectionConfig {
    let mut config = ConnectionConfig::new(server.url("ws"));
    config.write_probe = Some(probe);
    config.reconnect = ReconnectPolicy {
        enabled: false,
        ..ReconnectPolicy::default()
    };
    config
}

fn order(n: usize, symbol: &str) -> NewOrder {
    NewOrder {
        client_order_id: inline(&format!("bench-{n:08}")).expect("short id"),
        symbol: inline(symbol).expect("short symbol"),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some("26500.4".parse().expect("decimal")),
        qty: "1.25".parse().expect("decimal"),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

/// Waits until the probe has seen `count` writes; returns the last stamp.
fn wait_for_write(count: u64) -> u64 {
    while WRITES.load(Ordering::Acquire) < count {
        std::hint::spin_loop();
    }
    LAST_WRITE_NS.load(Ordering::Acquire)
}

/// `ORDERWIRE_WAIT=busy` runs both paths' reactors in BusyPoll (default:
/// Block with the spin window, as a service would run).
fn wait_strategy() -> orderwire_engine::WaitStrategy {
    match std::env::var("ORDERWIRE_WAIT").as_deref() {
        Ok("busy") => orderwire_engine::WaitStrategy::BusyPoll,
        _ => orderwire_engine::WaitStrategy::Block,
    }
}

/// Waits a pseudo-random 0 to 4 µs before order `n`, the same sequence on
/// both paths, so that orders do not arrive in lockstep with the reactor's
/// loop: sent back to back right after each write, every order would meet
/// the loop at the same phase, and a change of a few hundred nanoseconds
/// on the user thread could cost or save a whole reactor iteration.
fn space_out(n: usize) {
    let mut x = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    let until = stamp() + x % 4_000;
    while stamp() < until {
        std::hint::spin_loop();
    }
}

thread_local! {

    static HANDOVER: std::cell::RefCell<Histogram<u64>> = std::cell::RefCell::new(histogram());
}

/// The engine's command queue, stamping each hand-over.
struct StampingTransport {
    commander: orderwire_engine::Commander,
    conn: orderwire_engine::ConnId,
}

impl orderwire_engine::gateway::Transport for StampingTransport {
    fn buffer(&self) -> Vec<u8> {
        self.commander.buffer()
    }
    fn send(
        &self,
        _kind: orderwire_protocol::venue::FrameKind,
        frame: Vec<u8>,
    ) -> Result<(), Vec<u8>> {
        BEFORE_SEND_NS.store(stamp(), Ordering::Release);
        let sent = self.commander.send(self.conn, MessageKind::Text, frame);
        HANDED_OVER_NS.store(stamp(), Ordering::Release);
        sent.map_err(|_| Vec::new())
    }
}

/// The gateway over its engine without `Exchange`, with the hand-over
/// stamped: the path split into the gateway's work until the frame is
/// handed to the command queue, and the reactor's pickup and write. The
/// split is what showed that recording a request before its frame went out
/// cost 1.5-2 us (docs/benchmarks.md).
fn split_path<V: Venue>(
    server: &TestServer,
    venue: V,
    orders: &[NewOrder],
) -> (Histogram<u64>, Histogram<u64>) {
    let (mut engine, conn) = connected_engine(server);
    let gateway = orderwire_engine::gateway::Gateway::new(
        venue,
        GatewayConfig {
            when_limited: WhenLimited::Off,
            order_capacity: orders.len() + 16,
            request_timeout: Duration::from_secs(3600),
            ..GatewayConfig::default()
        },
        StampingTransport {
            commander: engine.commander(),
            conn,
        },
    );
    let clock = engine.clock().clone();
    // The open sequence, as `Exchange` runs it (Binance's session.logon).
    let mut open = orderwire_protocol::venue::Frames::new();
    gateway
        .core()
        .lock()
        .on_connected(clock.now(), 0, &mut open);
    for (_, frame) in open.iter() {
        let mut buffer = engine.buffer();
        buffer.extend_from_slice(frame);
        engine
            .send(conn, MessageKind::Text, buffer)
            .expect("queued");
    }
    std::thread::sleep(Duration::from_millis(5));
    let mut until_handover = histogram();
    let mut handover = histogram();
    for (n, order) in orders.iter().enumerate() {
        let expected = WRITES.load(Ordering::Acquire) + 1;
        space_out(n);
        let start = stamp();
        gateway.place_order(clock.now(), order).expect("queued");
        let written = wait_for_write(expected);
        let handed = HANDED_OVER_NS.load(Ordering::Acquire);
        let before = BEFORE_SEND_NS.load(Ordering::Acquire);
        if n >= WARM_UP {
            until_handover.saturating_record(before.saturating_sub(start).max(1));
            handover.saturating_record(written.saturating_sub(handed).max(1));
        }
    }
    engine.shutdown(Duration::from_secs(1));
    (until_handover, handover)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 10_000_000_000, 3).expect("valid bounds")
}

/// The whole path to the write, and the part until `place_order` returns
/// (the gateway's work on the user thread; the rest is the hand-off to the
/// reactor and its write).
fn gateway_path<V: Venue>(
    server: &TestServer,
    venue: V,
    orders: &[NewOrder],
    callback: Option<RequestCallback>,
) -> (Histogram<u64>, Histogram<u64>) {
    let acked_before = ACKED.load(Ordering::Acquire);
    let exchange = Exchange::start(
        "bench",
        venue,
        ExchangeConfig {
            engine: EngineConfig {
                core: Some(1),
                wait: wait_strategy(),
                ..EngineConfig::default()
            },
            connection: connection(server),
            gateway: GatewayConfig {
                when_limited: WhenLimited::Off,
                order_capacity: orders.len() + 16,
                request_timeout: Duration::from_secs(3600),
                ..GatewayConfig::default()
            },
            on_request: None,
            token_fetch: None,
        },
    )
    .expect("exchange starts");
    // The probe counts codec frames only (the handshake is not one).
    while !exchange.gateway().core().lock().is_connected() {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(20));
    let mut hist = histogram();
    let mut call = histogram();
    for (n, order) in orders.iter().enumerate() {
        let expected = WRITES.load(Ordering::Acquire) + 1;
        space_out(n);
        let start = stamp();
        match &callback {
            Some(callback) => exchange
                .place_order_with(order, SubmitOptions::callback(callback.clone()))
                .expect("queued"),
            None => exchange.place_order(order).expect("queued"),
        };
        let returned = stamp();
        let written = wait_for_write(expected);
        if n >= WARM_UP {
            hist.saturating_record(written.saturating_sub(start).max(1));
            call.saturating_record(returned.saturating_sub(start).max(1));
        }
        if callback.is_some() {
            // Outside the measured part: the ack comes back and the
            // callback runs on this thread, as a service's poller would
            // run it, so requests do not pile up unanswered.
            while exchange.gateway().core().lock().pending_requests() > 0 {
                exchange.poll(|_, _| {});
                std::hint::spin_loop();
            }
            exchange.poll(|_, _| {});
        }
    }
    if callback.is_some() {
        let acked = ACKED.load(Ordering::Acquire) - acked_before;
        assert_eq!(
            acked,
            orders.len() as u64,
            "one callback per order, each an ack"
        );
    }
    exchange.shutdown(Duration::from_secs(1));
    (hist, call)
}

/// An engine on the reactor core, connected to `server` and settled.
fn connected_engine(server: &TestServer) -> (Engine, orderwire_engine::ConnId) {
    let engine = Engine::start(EngineConfig {
        core: Some(1),
        wait: wait_strategy(),
        ..EngineConfig::default()
    })
    .expect("engine");
    let conn = engine.connect(connection(server)).expect("connect");
    loop {
        if let Ok(EngineEvent::Connected { .. }) = engine.events().recv() {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(20));
    (engine, conn)
}

fn bare_path(server: &TestServer, frames: &[Vec<u8>], answered: bool) -> Histogram<u64> {
    let (mut engine, conn) = connected_engine(server);
    let mut hist = histogram();
    for (n, frame) in frames.iter().enumerate() {
        let expected = WRITES.load(Ordering::Acquire) + 1;
        space_out(n);
        let start = stamp();
        let mut buffer = engine.buffer();
        buffer.extend_from_slice(frame);
        engine
            .send(conn, MessageKind::Text, buffer)
            .expect("queued");
        let handed = stamp();
        let written = wait_for_write(expected);
        if n >= WARM_UP {
            hist.saturating_record(written.saturating_sub(start).max(1));
            HANDOVER.with(|h| {
                h.borrow_mut()
                    .saturating_record(written.saturating_sub(handed).max(1))
            });
        }
        if answered {
            // The reply, outside the measured part (the gateway path waits
            // for its callback the same way).
            loop {
                if let Ok(EngineEvent::Message { data, .. }) = engine.events().recv() {
                    engine.recycle(data);
                    break;
                }
            }
        }
    }
    engine.shutdown(Duration::from_secs(1));
    hist
}

fn us(hist: &Histogram<u64>, q: f64) -> f64 {
    hist.value_at_quantile(q) as f64 / 1_000.0
}

/// The venues measured, each with the codec the gateway runs (built
/// fresh per run) and its orders' symbol.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    Kraken,
    /// Kraken with a per-request callback on every order, against a server
    /// that acks each one (the callback runs between orders).
    KrakenCallback,
    /// Binance, every request signed with HMAC-SHA256.
    BinanceHmac,
    /// Binance, every request signed with Ed25519 (no session.logon).
    BinanceEd25519,
    /// Binance with an Ed25519 key after session.logon: requests unsigned.
    BinanceEd25519Logon,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Kraken => "kraken",
            Path::KrakenCallback => "kraken_callback",
            Path::BinanceHmac => "binance_hmac_sha256",
            Path::BinanceEd25519 => "binance_ed25519",
            Path::BinanceEd25519Logon => "binance_ed25519_logged_on",
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Path::Kraken | Path::KrakenCallback => "BTC/USD",
            _ => "BTCUSDT",
        }
    }

    fn binance(self) -> BinanceApi {
        let signer = match self {
            Path::BinanceEd25519 | Path::BinanceEd25519Logon => {
                Signer::ed25519_from_bytes(&[42u8; 32])
            }
            _ => Signer::Hmac(Secret::new("bench-hmac-secret")),
        };
        let mut codec = BinanceApi::new(Some(Credentials {
            api_key: Secret::new("bench-api-key"),
            signer,
        }));
        // Sign every request (the figure is the signing path's), except on
        // the logged-on path.
        codec.set_session_logon(self == Path::BinanceEd25519Logon);
        codec
    }

    fn frames(self, orders: &[NewOrder]) -> Vec<Vec<u8>> {
        let mut kraken = Kraken::new(Some(Secret::new("bench-token")), Tier::Pro);
        let mut binance = self.binance();
        let mut offline = Offline::new(0);
        offline.wall_ns = 1_700_000_000_000_000_000;
        // What the gateway's open sequence does (its reply is not needed).
        let _ = offline.login(&mut binance, 0, &mut Vec::new());
        orders
            .iter()
            .enumerate()
            .map(|(n, o)| {
                let mut out = Vec::new();
                let request = Request::Place(o);
                match self {
                    Path::Kraken | Path::KrakenCallback => {
                        offline.encode(&mut kraken, n as u64 + 1, &request, &mut out)
                    }
                    _ => offline.encode(&mut binance, n as u64 + 1, &request, &mut out),
                }
                .expect("encodes");
                out
            })
            .collect()
    }

    fn gateway(self, server: &TestServer, orders: &[NewOrder]) -> (Histogram<u64>, Histogram<u64>) {
        let kraken = || Kraken::new(Some(Secret::new("bench-token")), Tier::Pro);
        match self {
            Path::Kraken => gateway_path(server, kraken(), orders, None),
            Path::KrakenCallback => gateway_path(server, kraken(), orders, Some(bench_callback())),
            _ => gateway_path(server, self.binance(), orders, None),
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    CLOCK.get_or_init(Clock::new);
    // The reactor is pinned to core 1; the submitting thread gets core 0,
    // or on a 2-core machine the scheduler sometimes puts it beside the
    // reactor, and the measured path becomes one thread preempting the
    // other (thousands of involuntary switches a run).
    let pinned = core_affinity::get_core_ids()
        .and_then(|ids| ids.into_iter().find(|id| id.id == 0))
        .is_some_and(core_affinity::set_for_current);
    assert!(
        pinned,
        "the submitting thread could not be pinned to core 0"
    );
    let measured = orders_to_measure();
    let total = WARM_UP + measured;
    let server = TestServer::start(None, vec![Script::Deaf]);
    println!(
        "order_to_wire: {measured} orders (after {WARM_UP} warm-up), ws:// loopback, reactor pinned to core 1, submitter to core 0"
    );
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>9}",
        "path (us)", "p50", "p99", "p99.9", "max"
    );
    let mut results = Vec::new();
    // `ORDERWIRE_PATHS=kraken,binance_hmac_sha256` runs only those.
    let only = std::env::var("ORDERWIRE_PATHS").ok();
    let answering = TestServer::start(None, vec![Script::Answer(kraken_ack)]);
    for path in [
        Path::Kraken,
        Path::KrakenCallback,
        Path::BinanceHmac,
        Path::BinanceEd25519,
        Path::BinanceEd25519Logon,
    ] {
        if only
            .as_deref()
            .is_some_and(|list| !list.split(',').any(|p| p == path.name()))
        {
            continue;
        }
        let orders: Vec<NewOrder> = (0..total).map(|n| order(n, path.symbol())).collect();
        // The bare path sends the very bytes the gateway would.
        let frames = path.frames(&orders);
        // Alternate the two paths twice, so that drift in the machine shows.
        for round in 0..2 {
            // `ORDERWIRE_SIDE=bare` or `gateway` runs one side only (for a
            // profiler); the other side's figures are then empty.
            let side = std::env::var("ORDERWIRE_SIDE").ok();
            let answered = path == Path::KrakenCallback;
            let peer = if answered { &answering } else { &server };
            let bare = if side.as_deref() == Some("gateway") {
                histogram()
            } else {
                bare_path(peer, &frames, answered)
            };
            let (gateway, call) = if side.as_deref() == Some("bare") {
                (histogram(), histogram())
            } else {
                path.gateway(peer, &orders)
            };
            let (split, split_handover) = match path {
                Path::Kraken => split_path(
                    &server,
                    Kraken::new(Some(Secret::new("bench-token")), Tier::Pro),
                    &orders,
                ),
                // The callback path's own rows are enough.
                Path::KrakenCallback => (histogram(), histogram()),
                _ => split_path(&server, path.binance(), &orders),
            };
            let bare_handover =
                HANDOVER.with(|h| std::mem::replace(&mut *h.borrow_mut(), histogram()));
            for (name, hist) in [
                ("bare send", &bare),
                ("  of which hand-over to write", &bare_handover),
                ("gateway place_order", &gateway),
                ("  of which the call", &call),
                ("  gateway until the hand-over (split run)", &split),
                ("  its hand-over to write (split run)", &split_handover),
            ] {
                if hist.is_empty() {
                    continue;
                }
                println!(
                    "{:<44} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                    format!("{} {name} (run {})", path.name(), round + 1),
                    us(hist, 0.5),
                    us(hist, 0.99),
                    us(hist, 0.999),
                    hist.max() as f64 / 1_000.0
                );
            }
            let added_p50 = us(&gateway, 0.5) - us(&bare, 0.5);
            let added_p99 = us(&gateway, 0.99) - us(&bare, 0.99);
            println!(
                "  gateway adds: p50 {added_p50:+.2} us, p99 {added_p99:+.2} us; ratio p50 {:.2}x",
                us(&gateway, 0.5) / us(&bare, 0.5)
            );
            let row = |hist: &Histogram<u64>| json!({"p50_us": us(hist, 0.5), "p99_us": us(hist, 0.99), "p999_us": us(hist, 0.999), "max_us": hist.max() as f64 / 1_000.0, "count": hist.len()});
            results.push(json!({
                "venue": path.name(),
                "run": round + 1,
                "bare_send": row(&bare),
                "gateway_place_order": row(&gateway),
                "place_order_call": row(&call),
                "bare_handover_to_write": row(&bare_handover),
                "split_until_handover": row(&split),
                "split_handover_to_write": row(&split_handover),
                "gateway_added_p50_us": added_p50,
                "gateway_added_p99_us": added_p99,
            }));
        }
    }
    let report = json!({
        "command": "cargo bench -p orderwire-benches --bench order_to_wire",
        "orders": measured,
        "warm_up": WARM_UP,
        "runs": results,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-results");
    std::fs::create_dir_all(&dir).expect("results directory");
    let path = dir.join("order_to_wire.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("JSON")).expect("write");
    println!("wrote {}", path.display());
}
