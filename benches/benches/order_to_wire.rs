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
//! Inline rows: the same bare send and `place_order` on the
//! `InlineEngine` / `InlineExchange` on the submitting thread, where the
//! socket write happens before the call returns.
//!
//! Spaced rows (`@100us`): Kraken on both drivers with orders 100 us apart
//! (plus the same jitter), as a strategy sends them, the threaded reactor
//! busy-polling.
//!
//! Contention rows: the threaded Kraken gateway while a second thread polls
//! it and decodes a 30-level book stream (15 levels a side re-stated, depth
//! 25, checksum verified) at 10,000 messages a second on the same
//! connection, beside the same run with no stream; `p99_ratio` is the
//! first's p99 over the second's.
//!
//! Capture rows: Kraken on both drivers with `ExchangeConfig::capture` off
//! and on, alternating: order to wire, and the round trip from
//! `place_order` to the ack seen by the polling thread (answering server);
//! the added p50 is printed (issue 25's budget: 200 ns).
//!
//! Every part runs twice, alternating, and a closing table prints each
//! row's median and spread (max - min) over the runs. Each JSON row names
//! its `mode` (`threaded` or `inline`) and `spacing_us`.
//!
//! The sink is `Script::Drain`: it reads on a 1 ms timer and never blocks in
//! `recv`, because a loopback receiver asleep in `recv` makes the writer's
//! `send` wake it across cores (10-20 us on this VM), which a NIC does not.
//!
//! `ORDERWIRE_ORDERS` sets the measured orders (default 100,000, after
//! 5,000 warm-up ones; the spaced part takes at most 20,000, contention
//! 50,000); `ORDERWIRE_PATHS=kraken,...` runs only those venues;
//! `ORDERWIRE_MODE=threaded|inline` one driver;
//! `ORDERWIRE_PARTS=tight,spaced,contention,decode_lock,capture` those
//! parts;
//! `ORDERWIRE_WAIT=busy` runs the reactors in BusyPoll.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hdrhistogram::Histogram;
use orderwire_engine::gateway::InlineExchange;
use orderwire_engine::gateway::{
    Exchange, ExchangeConfig, GatewayConfig, RequestCallback, RequestOutcome, SubmitOptions,
    WhenLimited,
};
use orderwire_engine::{
    Clock, ConnectionConfig, Engine, EngineConfig, EngineEvent, InlineEngine, ReconnectPolicy,
};
use orderwire_protocol::model::{
    NewOrder, OrderKind, Request, Side, Subscription, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::binance::{BinanceApi, Credentials, Signer};
use orderwire_protocol::venue::kraken::{Kraken, Tier};
use orderwire_protocol::venue::{Offline, Venue, string_field};
use orderwire_protocol::ws::MessageKind;
use orderwire_testkit::server::{Script, StreamScript, TestServer};
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
/// The gap between orders beyond the 0-4 us jitter: 0 in the tight runs,
/// 100 us in the runs spaced as a strategy sends orders.
static SPACING_NS: AtomicU64 = AtomicU64::new(0);
/// Overrides `ORDERWIRE_WAIT` for the spaced runs (BusyPoll there).
static FORCE_BUSY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The capture part's runs with capture on: the gateway paths record every
/// input to a capture file (`ExchangeConfig::capture`).
static CAPTURING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Records the capture runs dropped (the writer fell behind): reported.
static CAPTURE_DROPPED: AtomicU64 = AtomicU64::new(0);

/// The capture of a gateway path, when `CAPTURING` is set.
fn bench_capture() -> Option<orderwire_engine::capture::CaptureConfig> {
    CAPTURING.load(Ordering::Relaxed).then(|| {
        orderwire_engine::capture::CaptureConfig::new(std::env::temp_dir().join(format!(
            "orderwire-bench-capture-{}.owcap",
            std::process::id()
        )))
    })
}

/// Ends a path's capture (if on) and counts its dropped records.
fn end_capture(capture: Option<&orderwire_engine::capture::CaptureSink>) {
    if let Some(sink) = capture {
        CAPTURE_DROPPED.fetch_add(sink.dropped(), Ordering::Relaxed);
        let path = sink.path().to_owned();
        // Ended by the exchange's shutdown, after the core's last records.
        let _ = sink.end();
        // What was recorded, by kind: the records an order costs.
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(capture) = orderwire_protocol::capture::read_all(&bytes) {
                let mut kinds = std::collections::BTreeMap::<String, usize>::new();
                for record in &capture.records {
                    let name = format!("{:?}", record.get().body);
                    let kind = name.split([' ', '{', '(']).next().unwrap_or("").to_owned();
                    *kinds.entry(kind).or_default() += 1;
                }
                println!("  recorded {} bytes: {kinds:?}", bytes.len());
            }
        }
        let _ = std::fs::remove_file(path);
    }
}

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
    if FORCE_BUSY.load(Ordering::Relaxed) {
        return orderwire_engine::WaitStrategy::BusyPoll;
    }
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
    let until = stamp() + SPACING_NS.load(Ordering::Relaxed) + x % 4_000;
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
        bench_gateway_config(orders.len()),
        StampingTransport {
            commander: engine.commander(),
            conn,
        },
    );
    let clock = engine.clock().clone();
    // The open sequence, as `Exchange` runs it (Binance's session.logon).
    let mut core = gateway.core().lock();
    core.on_connected(clock.now(), 0);
    let mut buffer = engine.buffer();
    while core.poll_open_transmit(&mut buffer).is_some() {
        engine
            .send(
                conn,
                MessageKind::Text,
                std::mem::replace(&mut buffer, engine.buffer()),
            )
            .expect("queued");
    }
    drop(core);
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
            engine: reactor_config(),
            connection: connection(server),
            gateway: bench_gateway_config(orders.len()),
            on_request: None,
            token_fetch: None,
            capture: bench_capture(),
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
    end_capture(exchange.capture());
    (hist, call)
}

/// An engine on the reactor core, connected to `server` and settled.
fn connected_engine(server: &TestServer) -> (Engine, orderwire_engine::ConnId) {
    let engine = Engine::start(reactor_config()).expect("engine");
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

/// One order's path to the wire: waits its spacing, stamps, runs `send`,
/// waits for the probe to see the write, and records the time (after the
/// warm-up) in `hist`.
fn time_to_write(n: usize, hist: &mut Histogram<u64>, send: impl FnOnce()) {
    let expected = WRITES.load(Ordering::Acquire) + 1;
    space_out(n);
    let start = stamp();
    send();
    let written = wait_for_write(expected);
    if n >= WARM_UP {
        hist.saturating_record(written.saturating_sub(start).max(1));
    }
}

/// The inline engine on this thread, connected to `server` and settled.
fn connected_inline_engine(server: &TestServer) -> (InlineEngine, orderwire_engine::ConnId) {
    let mut engine = InlineEngine::new(EngineConfig::default()).expect("inline engine");
    let conn = engine.connect(connection(server)).expect("connect");
    let mut connected = false;
    while !connected {
        engine.poll_once(Some(Duration::from_millis(1)));
        while let Some(event) = engine.next_event() {
            connected |= matches!(event, EngineEvent::Connected { .. });
        }
    }
    (engine, conn)
}

/// The bare send on the inline engine: this thread copies the frame into
/// a pooled buffer and `send` writes it to the socket before it returns
/// (the probe stamps the write). A zero-wait turn between orders, outside
/// the measured part, as a strategy's loop would turn.
fn inline_bare_path(server: &TestServer, frames: &[Vec<u8>]) -> Histogram<u64> {
    let (mut engine, conn) = connected_inline_engine(server);
    let mut hist = histogram();
    for (n, frame) in frames.iter().enumerate() {
        engine.poll_once(Some(Duration::ZERO));
        while let Some(event) = engine.next_event() {
            if let EngineEvent::Message { data, .. } = event {
                engine.recycle(data);
            }
        }
        time_to_write(n, &mut hist, || {
            let mut buffer = engine.buffer();
            buffer.extend_from_slice(frame);
            engine.send(conn, MessageKind::Text, buffer);
        });
    }
    engine.shutdown(Duration::from_secs(1));
    hist
}

/// `InlineExchange::place_order` on this thread: encode, record, write to
/// the socket, all before it returns.
fn inline_gateway_path<V: Venue>(
    server: &TestServer,
    venue: V,
    orders: &[NewOrder],
) -> Histogram<u64> {
    let mut exchange = InlineExchange::start(
        "bench-inline",
        venue,
        ExchangeConfig {
            engine: EngineConfig::default(),
            connection: connection(server),
            gateway: bench_gateway_config(orders.len()),
            on_request: None,
            token_fetch: None,
            capture: bench_capture(),
        },
    )
    .expect("inline exchange starts");
    while !exchange.core().is_connected() {
        exchange.poll_once(Some(Duration::from_millis(1)), |_, _| {});
    }
    // The open sequence's frames are written; let them settle.
    for _ in 0..100 {
        exchange.poll_once(Some(Duration::from_micros(100)), |_, _| {});
    }
    let mut hist = histogram();
    for (n, order) in orders.iter().enumerate() {
        exchange.poll_once(Some(Duration::ZERO), |_, _| {});
        time_to_write(n, &mut hist, || {
            exchange.place_order(order).expect("sent");
        });
    }
    exchange.shutdown(Duration::from_secs(1));
    end_capture(exchange.group().capture(0));
    hist
}

/// A round trip through the gateway: `place_order` until the polling
/// thread sees the venue's ack (`GatewayEvent::Answered`), against the
/// answering server, threaded (`inline` false) or inline.
fn gateway_rtt(server: &TestServer, orders: &[NewOrder], inline: bool) -> Histogram<u64> {
    use orderwire_engine::gateway::GatewayEvent;
    let kraken = || Kraken::new(Some(Secret::new("bench-token")), Tier::Pro);
    let config = || ExchangeConfig {
        engine: reactor_config(),
        connection: connection(server),
        gateway: bench_gateway_config(orders.len()),
        on_request: None,
        token_fetch: None,
        capture: bench_capture(),
    };
    let mut hist = histogram();
    let answered = |event: &GatewayEvent| matches!(event, GatewayEvent::Answered { .. });
    if inline {
        let mut exchange =
            InlineExchange::start("bench-rtt-inline", kraken(), config()).expect("starts");
        while !exchange.core().is_connected() {
            exchange.poll_once(Some(Duration::from_millis(1)), |_, _| {});
        }
        for _ in 0..100 {
            exchange.poll_once(Some(Duration::from_micros(100)), |_, _| {});
        }
        for (n, order) in orders.iter().enumerate() {
            space_out(n);
            let start = stamp();
            exchange.place_order(order).expect("sent");
            let mut done = false;
            while !done {
                exchange.poll_once(Some(Duration::ZERO), |event, _| done |= answered(event));
            }
            if n >= WARM_UP {
                hist.saturating_record(stamp().saturating_sub(start).max(1));
            }
        }
        exchange.shutdown(Duration::from_secs(1));
        end_capture(exchange.group().capture(0));
    } else {
        let exchange = Exchange::start("bench-rtt", kraken(), config()).expect("starts");
        while !exchange.gateway().core().lock().is_connected() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        exchange.poll(|_, _| {});
        for (n, order) in orders.iter().enumerate() {
            space_out(n);
            let start = stamp();
            exchange.place_order(order).expect("queued");
            let mut done = false;
            while !done {
                exchange.poll(|event, _| done |= answered(event));
                std::hint::spin_loop();
            }
            if n >= WARM_UP {
                hist.saturating_record(stamp().saturating_sub(start).max(1));
            }
        }
        exchange.shutdown(Duration::from_secs(1));
        end_capture(exchange.capture());
    }
    hist
}

/// A threaded engine's settings: the reactor pinned to core 1, waiting
/// as `wait_strategy` says.
fn reactor_config() -> EngineConfig {
    EngineConfig {
        core: Some(1),
        wait: wait_strategy(),
        ..EngineConfig::default()
    }
}

/// The gateway settings every path runs with: no rate limits, room for
/// every order, no timeouts during the run.
fn bench_gateway_config(orders: usize) -> GatewayConfig {
    GatewayConfig {
        when_limited: WhenLimited::Off,
        order_capacity: orders + 16,
        request_timeout: Duration::from_secs(3600),
        ..GatewayConfig::default()
    }
}

/// A Kraken book of `depth` levels a side around 45,284, as a snapshot
/// message, and an update that re-states `levels` a side of it with the
/// same quantities (so the book and its checksum stay valid however often
/// it comes), both with the checksum the codec verifies.
fn kraken_book_stream(depth: usize, levels: usize) -> (String, String) {
    let side = |n: usize, bid: bool| -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                let tenths = if bid {
                    452_835 - i as u64
                } else {
                    452_840 + i as u64
                };
                (
                    format!("{}.{}", tenths / 10, tenths % 10),
                    format!("{}.{:08}", 1 + i % 3, 12_345_678 + i * 1_111),
                )
            })
            .collect()
    };
    let json = |levels: &[(String, String)]| {
        let items: Vec<String> = levels
            .iter()
            .map(|(p, q)| format!(r#"{{"price":{p},"qty":{q}}}"#))
            .collect();
        format!("[{}]", items.join(","))
    };
    let message = |kind: &str, n: usize, checksum: u32| {
        format!(
            r#"{{"channel":"book","type":"{kind}","data":[{{"symbol":"BTC/USD","bids":{},"asks":{},"checksum":{checksum},"timestamp":"2023-10-06T17:35:55.440295Z"}}]}}"#,
            json(&side(n, true)),
            json(&side(n, false))
        )
    };
    // The checksum is the codec's own: decode once with any checksum, then
    // read the book the codec built.
    let mut kraken = Kraken::new(None, Tier::Pro);
    kraken.set_default_depth(depth);
    let mut offline = Offline::new(0);
    let mut first = message("snapshot", depth, 0).into_bytes();
    let mut events = orderwire_protocol::model::Events::default();
    let _ = offline.decode(
        &mut kraken,
        orderwire_protocol::venue::FrameKind::Text,
        &mut first,
        &mut events,
    );
    let checksum = kraken
        .book("BTC/USD")
        .map(orderwire_protocol::venue::kraken::book_checksum)
        .expect("the snapshot built a book");
    (
        message("snapshot", depth, checksum),
        message("update", levels, checksum),
    )
}

/// Order-to-wire on the threaded gateway while another thread polls it
/// and decodes a 30-level Kraken book stream at 10,000 messages a second
/// on the same connection (the issue's contention case), against the
/// same run with no stream. Returns (quiet, under the stream, messages
/// the poller handled).
fn contention_path(orders: &[NewOrder]) -> (Histogram<u64>, Histogram<u64>, u64) {
    let (snapshot, update) = kraken_book_stream(25, 15);
    let quiet_server = TestServer::start(None, vec![Script::Drain]);
    let stream_server = TestServer::start(
        None,
        vec![Script::Stream(Arc::new(StreamScript {
            first: vec![snapshot],
            each: update,
            per_second: 10_000,
        }))],
    );
    let mut results = Vec::new();
    let mut decoded = 0;
    for server in [&quiet_server, &stream_server] {
        let mut gateway = bench_gateway_config(orders.len());
        gateway.subscriptions = vec![Subscription::Book {
            symbols: vec![inline("BTC/USD").expect("short symbol")],
            depth: 25,
        }];
        gateway.subscription_silence = None;
        let exchange = Arc::new(
            Exchange::start(
                "bench-contention",
                Kraken::new(Some(Secret::new("bench-token")), Tier::Pro),
                ExchangeConfig {
                    engine: reactor_config(),
                    connection: connection(server),
                    gateway,
                    on_request: None,
                    token_fetch: None,
                    capture: None,
                },
            )
            .expect("exchange starts"),
        );
        while !exchange.gateway().core().lock().is_connected() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        // The polling thread, as a service runs one: it decodes every
        // message (under the decoder's lock since the codec split; under
        // the gateway's lock before).
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let poller = {
            let (exchange, stop) = (exchange.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut books = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let handled = exchange.poll(|event, _| {
                        if matches!(
                            event,
                            orderwire_engine::gateway::GatewayEvent::Market(
                                orderwire_protocol::model::Event::Book(_)
                            )
                        ) {
                            books += 1;
                        }
                    });
                    if handled == 0 {
                        std::thread::sleep(Duration::from_micros(20));
                    }
                }
                books
            })
        };
        let mut hist = histogram();
        for (n, order) in orders.iter().enumerate() {
            time_to_write(n, &mut hist, || {
                exchange.place_order(order).expect("queued");
            });
        }
        stop.store(true, Ordering::Relaxed);
        decoded = poller.join().unwrap_or(0);
        exchange.shutdown(Duration::from_secs(1));
        results.push(hist);
    }
    let stream = results.pop().unwrap_or_else(histogram);
    let quiet = results.pop().unwrap_or_else(histogram);
    (quiet, stream, decoded)
}

/// Kraken with its split turned off: the gateway decodes it under the
/// core's lock, as every codec was before the split (the `decode_lock`
/// part's peer).
struct WholeKraken(Kraken);

impl Venue for WholeKraken {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn capabilities(&self) -> orderwire_protocol::venue::Capabilities {
        self.0.capabilities()
    }
    fn encode(
        &mut self,
        ctx: &mut orderwire_protocol::venue::Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut orderwire_protocol::venue::Frames,
    ) -> Result<orderwire_protocol::venue::Expect, orderwire_protocol::venue::EncodeError> {
        self.0.encode(ctx, req_id, request, out)
    }
    fn decode(
        &mut self,
        ctx: &mut orderwire_protocol::venue::Ctx<'_>,
        kind: orderwire_protocol::venue::FrameKind,
        message: &mut [u8],
        out: &mut orderwire_protocol::model::Events,
        reply: &mut orderwire_protocol::venue::Frames,
    ) -> Result<(), orderwire_protocol::venue::DecodeError> {
        self.0.decode(ctx, kind, message, out, reply)
    }
    fn reset(&mut self) {
        self.0.reset();
    }
    fn keepalive(&self) -> orderwire_protocol::venue::Keepalive {
        self.0.keepalive()
    }
    fn rate_policy(&self) -> orderwire_protocol::venue::RatePolicy {
        self.0.rate_policy()
    }
}

/// A transport that takes every frame and keeps none.
struct DropWire;

impl orderwire_engine::gateway::Transport for DropWire {
    fn buffer(&self) -> Vec<u8> {
        Vec::new()
    }
    fn send(
        &self,
        _kind: orderwire_protocol::venue::FrameKind,
        _frame: Vec<u8>,
    ) -> Result<(), Vec<u8>> {
        Ok(())
    }
}

/// How long `place_order` takes on the threaded gateway (no socket: the
/// transport drops frames) while a thread pinned to core 1 decodes
/// 30-level Kraken book updates back to back through the same gateway.
/// With `venue` split, a submitter waits only for the core's two short
/// holds around each decode; whole, for the decode itself. What the lock
/// costs an order, without the network's or the reactor's noise. Returns
/// the histogram and the messages decoded meanwhile.
fn decode_lock_path<V: Venue>(
    venue: V,
    orders: &[NewOrder],
    stream: bool,
) -> (Histogram<u64>, u64) {
    use orderwire_protocol::time::Instant;
    use orderwire_protocol::venue::FrameKind;
    let (snapshot, update) = kraken_book_stream(25, 15);
    let mut config = bench_gateway_config(orders.len());
    config.subscriptions = vec![Subscription::Book {
        symbols: vec![inline("BTC/USD").expect("short symbol")],
        depth: 25,
    }];
    config.subscription_silence = None;
    let gateway = Arc::new(orderwire_engine::gateway::Gateway::new(
        venue, config, DropWire,
    ));
    // The open sequence stays queued in the core: `DropWire` drops it.
    gateway.core().lock().on_connected(Instant(stamp()), 0);
    let mut first = snapshot.into_bytes();
    gateway.handle_message(
        Instant(stamp()),
        Instant(stamp()),
        FrameKind::Text,
        &mut first,
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let decoder = {
        let (gateway, stop) = (gateway.clone(), stop.clone());
        std::thread::spawn(move || {
            if let Some(core) =
                core_affinity::get_core_ids().and_then(|ids| ids.into_iter().find(|id| id.id == 1))
            {
                core_affinity::set_for_current(core);
            }
            let mut message = Vec::with_capacity(update.len());
            let mut spare = orderwire_engine::gateway::Outputs::default();
            let mut decoded = 0u64;
            while stream && !stop.load(Ordering::Relaxed) {
                message.clear();
                message.extend_from_slice(update.as_bytes());
                let now = Instant(stamp());
                gateway.handle_message(now, now, FrameKind::Text, &mut message);
                gateway.poll_events(&mut spare);
                decoded += 1;
            }
            decoded
        })
    };
    let mut hist = histogram();
    for (n, order) in orders.iter().enumerate() {
        space_out(n);
        let start = stamp();
        gateway
            .place_order(Instant(start), order)
            .expect("the gateway takes the order");
        if n >= WARM_UP {
            hist.saturating_record(stamp().saturating_sub(start).max(1));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let decoded = decoder.join().unwrap_or(0);
    (hist, decoded)
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

/// One printed and recorded row.
struct Row<'a> {
    venue: &'static str,
    round: usize,
    mode: &'static str,
    spacing_us: u64,
    name: &'a str,
}

/// The orders of the parts run under a decoding thread (Kraken, at most
/// 50,000 measured).
fn kraken_orders_under_load(measured: usize) -> Vec<NewOrder> {
    (0..WARM_UP + measured.min(50_000))
        .map(|n| order(n, "BTC/USD"))
        .collect()
}

/// A threaded Kraken row of `round`, orders back to back.
fn kraken_threaded_row(round: usize, name: &str) -> Row<'_> {
    Row {
        venue: "kraken",
        round,
        mode: "threaded",
        spacing_us: 0,
        name,
    }
}

/// Prints one row and returns it as JSON; keeps it for the spread table.
fn report(
    row: &Row<'_>,
    hist: &Histogram<u64>,
    spreads: &mut Vec<(String, Vec<(f64, f64)>)>,
) -> serde_json::Value {
    let label = format!(
        "{} {} {}{}",
        row.venue,
        row.mode,
        row.name,
        if row.spacing_us > 0 {
            format!(" @{}us", row.spacing_us)
        } else {
            String::new()
        }
    );
    println!(
        "{:<62} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        format!("{label} (run {})", row.round + 1),
        us(hist, 0.5),
        us(hist, 0.99),
        us(hist, 0.999),
        hist.max() as f64 / 1_000.0
    );
    match spreads.iter_mut().find(|(l, _)| *l == label) {
        Some((_, runs)) => runs.push((us(hist, 0.5), us(hist, 0.99))),
        None => spreads.push((label, vec![(us(hist, 0.5), us(hist, 0.99))])),
    }
    json!({
        "venue": row.venue,
        "run": row.round + 1,
        "mode": row.mode,
        "spacing_us": row.spacing_us,
        "row": row.name,
        "p50_us": us(hist, 0.5),
        "p99_us": us(hist, 0.99),
        "p999_us": us(hist, 0.999),
        "max_us": hist.max() as f64 / 1_000.0,
        "count": hist.len(),
    })
}

/// The median of the runs' figures and their spread (max - min).
fn median_and_spread(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[n - 1] - values[0])
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
    // A sink that drains on a timer: a loopback reader blocked in recv
    // would charge every write a cross-core wake-up (`Script::Drain`).
    let server = TestServer::start(None, vec![Script::Drain]);
    // `ORDERWIRE_MODE=threaded|inline` runs one driver (default both);
    // `ORDERWIRE_PARTS=tight,spaced,contention` picks the parts.
    let mode = std::env::var("ORDERWIRE_MODE").unwrap_or_else(|_| "both".into());
    let (threaded, inline_mode) = (mode != "inline", mode != "threaded");
    let parts = std::env::var("ORDERWIRE_PARTS")
        .unwrap_or_else(|_| "tight,spaced,contention,decode_lock,capture".into());
    let part = |name: &str| parts.split(',').any(|p| p == name);
    println!(
        "order_to_wire: {measured} orders (after {WARM_UP} warm-up), ws:// loopback, reactor pinned to core 1, submitter (and the inline engine) on core 0"
    );
    println!(
        "{:<62} {:>9} {:>9} {:>9} {:>9}",
        "path (us)", "p50", "p99", "p99.9", "max"
    );
    let mut results = Vec::new();
    let mut spreads = Vec::new();
    let mut added = Vec::new();
    // `ORDERWIRE_PATHS=kraken,binance_hmac_sha256` runs only those.
    let only = std::env::var("ORDERWIRE_PATHS").ok();
    let answering = TestServer::start(None, vec![Script::Answer(kraken_ack)]);
    let paths = [
        Path::Kraken,
        Path::KrakenCallback,
        Path::BinanceHmac,
        Path::BinanceEd25519,
        Path::BinanceEd25519Logon,
    ];
    for path in paths.into_iter().filter(|_| part("tight")) {
        if only
            .as_deref()
            .is_some_and(|list| !list.split(',').any(|p| p == path.name()))
        {
            continue;
        }
        let orders: Vec<NewOrder> = (0..total).map(|n| order(n, path.symbol())).collect();
        // The bare path sends the very bytes the gateway would.
        let frames = path.frames(&orders);
        // Alternate the paths twice, so that drift in the machine shows.
        for round in 0..2 {
            let answered = path == Path::KrakenCallback;
            let peer = if answered { &answering } else { &server };
            let row = |mode, name| Row {
                venue: path.name(),
                round,
                mode,
                spacing_us: 0,
                name,
            };
            if threaded {
                let bare = bare_path(peer, &frames, answered);
                let bare_handover =
                    HANDOVER.with(|h| std::mem::replace(&mut *h.borrow_mut(), histogram()));
                let (gateway, call) = path.gateway(peer, &orders);
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
                for (name, hist) in [
                    ("bare send", &bare),
                    ("  of which hand-over to write", &bare_handover),
                    ("gateway place_order", &gateway),
                    ("  of which the call", &call),
                    ("  gateway until the hand-over (split run)", &split),
                    ("  its hand-over to write (split run)", &split_handover),
                ] {
                    if !hist.is_empty() {
                        results.push(report(&row("threaded", name), hist, &mut spreads));
                    }
                }
                let added_p50 = us(&gateway, 0.5) - us(&bare, 0.5);
                println!(
                    "  threaded gateway adds: p50 {added_p50:+.2} us, p99 {:+.2} us",
                    us(&gateway, 0.99) - us(&bare, 0.99)
                );
                added.push(json!({"venue": path.name(), "run": round + 1, "mode": "threaded", "spacing_us": 0, "gateway_added_p50_us": added_p50}));
            }
            if inline_mode && !answered {
                let bare = inline_bare_path(&server, &frames);
                let gateway = match path {
                    Path::Kraken => inline_gateway_path(
                        &server,
                        Kraken::new(Some(Secret::new("bench-token")), Tier::Pro),
                        &orders,
                    ),
                    _ => inline_gateway_path(&server, path.binance(), &orders),
                };
                results.push(report(&row("inline", "bare send"), &bare, &mut spreads));
                results.push(report(
                    &row("inline", "gateway place_order"),
                    &gateway,
                    &mut spreads,
                ));
                let added_p50 = us(&gateway, 0.5) - us(&bare, 0.5);
                println!(
                    "  inline gateway adds: p50 {added_p50:+.2} us, p99 {:+.2} us",
                    us(&gateway, 0.99) - us(&bare, 0.99)
                );
                added.push(json!({"venue": path.name(), "run": round + 1, "mode": "inline", "spacing_us": 0, "gateway_added_p50_us": added_p50}));
            }
        }
    }
    // Orders 100 us apart, as a strategy sends them: Kraken, both drivers,
    // the threaded reactor busy-polling (the figure the issue names).
    if part("spaced") {
        let spaced = WARM_UP + measured.min(20_000);
        let orders: Vec<NewOrder> = (0..spaced).map(|n| order(n, "BTC/USD")).collect();
        let frames = Path::Kraken.frames(&orders);
        let kraken = || Kraken::new(Some(Secret::new("bench-token")), Tier::Pro);
        SPACING_NS.store(100_000, Ordering::Relaxed);
        FORCE_BUSY.store(true, Ordering::Relaxed);
        for round in 0..2 {
            let row = |mode, name| Row {
                venue: "kraken",
                round,
                mode,
                spacing_us: 100,
                name,
            };
            if threaded {
                let bare = bare_path(&server, &frames, false);
                let bare_handover =
                    HANDOVER.with(|h| std::mem::replace(&mut *h.borrow_mut(), histogram()));
                let (gateway, _) = gateway_path(&server, kraken(), &orders, None);
                let (split, split_handover) = split_path(&server, kraken(), &orders);
                for (name, hist) in [
                    ("bare send (busy-poll)", &bare),
                    ("  of which hand-over to write", &bare_handover),
                    ("gateway place_order (busy-poll)", &gateway),
                    ("  gateway until the hand-over (split run)", &split),
                    ("  its hand-over to write (split run)", &split_handover),
                ] {
                    results.push(report(&row("threaded", name), hist, &mut spreads));
                }
            }
            if inline_mode {
                let bare = inline_bare_path(&server, &frames);
                let gateway = inline_gateway_path(&server, kraken(), &orders);
                results.push(report(&row("inline", "bare send"), &bare, &mut spreads));
                results.push(report(
                    &row("inline", "gateway place_order"),
                    &gateway,
                    &mut spreads,
                ));
                let added_p50 = us(&gateway, 0.5) - us(&bare, 0.5);
                println!("  inline gateway adds (100 us apart): p50 {added_p50:+.2} us");
                added.push(json!({"venue": "kraken", "run": round + 1, "mode": "inline", "spacing_us": 100, "gateway_added_p50_us": added_p50}));
            }
        }
        SPACING_NS.store(0, Ordering::Relaxed);
        FORCE_BUSY.store(false, Ordering::Relaxed);
    }
    // The threaded gateway while another thread decodes a 30-level book
    // stream at 10,000 messages/s on the same connection.
    let mut contention = Vec::new();
    if part("contention") && threaded {
        let orders = kraken_orders_under_load(measured);
        for round in 0..2 {
            let (quiet, stream, books) = contention_path(&orders);
            let row = |name| kraken_threaded_row(round, name);
            results.push(report(&row("contention: quiet"), &quiet, &mut spreads));
            results.push(report(
                &row("contention: 30-level book stream 10k msg/s"),
                &stream,
                &mut spreads,
            ));
            let ratio = us(&stream, 0.99) / us(&quiet, 0.99);
            println!("  contention p99_ratio {ratio:.2} ({books} books decoded by the poller)");
            contention.push(json!({
                "name": "contention",
                "run": round + 1,
                "mode": "threaded",
                "quiet_p99_us": us(&quiet, 0.99),
                "stream_p99_us": us(&stream, 0.99),
                "p99_ratio": ratio,
                "books_decoded": books,
            }));
        }
    }
    // The lock alone: submit while another thread decodes books back to
    // back, split codec against the same codec decoded under the core.
    let mut decode_lock = Vec::new();
    if part("decode_lock") && threaded {
        let orders = kraken_orders_under_load(measured);
        let kraken = || Kraken::new(Some(Secret::new("bench-token")), Tier::Pro);
        for round in 0..2 {
            let (quiet, _) = decode_lock_path(kraken(), &orders, false);
            let (whole, whole_books) = decode_lock_path(WholeKraken(kraken()), &orders, true);
            let (split, split_books) = decode_lock_path(kraken(), &orders, true);
            let row = |name| kraken_threaded_row(round, name);
            results.push(report(
                &row("decode_lock: submit, no books"),
                &quiet,
                &mut spreads,
            ));
            results.push(report(
                &row("decode_lock: submit, books decoded under the core's lock"),
                &whole,
                &mut spreads,
            ));
            results.push(report(
                &row("decode_lock: submit, books decoded by the split codec"),
                &split,
                &mut spreads,
            ));
            let ratio = us(&split, 0.99) / us(&whole, 0.99);
            let split_ratio = us(&split, 0.99) / us(&quiet, 0.99);
            let whole_ratio = us(&whole, 0.99) / us(&quiet, 0.99);
            println!(
                "  decode_lock p99_ratio to no books: whole {whole_ratio:.2}, split {split_ratio:.2}; split/whole {ratio:.2} ({whole_books} and {split_books} books decoded meanwhile)"
            );
            decode_lock.push(json!({
                "name": "decode_lock",
                "run": round + 1,
                "mode": "threaded",
                "quiet_p50_us": us(&quiet, 0.5),
                "quiet_p99_us": us(&quiet, 0.99),
                "p99_ratio": split_ratio,
                "whole_p99_ratio": whole_ratio,
                "whole_p50_us": us(&whole, 0.5),
                "whole_p99_us": us(&whole, 0.99),
                "split_p50_us": us(&split, 0.5),
                "split_p99_us": us(&split, 0.99),
                "split_over_whole_p99": ratio,
                "books_decoded_whole": whole_books,
                "books_decoded_split": split_books,
            }));
        }
    }
    // Capture on beside capture off, Kraken, both drivers, alternating:
    // order to wire, and the round trip to the ack, each record handed to
    // the capture's writer thread (issue 25: at most 200 ns p50 added).
    let mut capture_added = Vec::new();
    if part("capture") {
        let count = WARM_UP + measured.min(30_000);
        let orders: Vec<NewOrder> = (0..count).map(|n| order(n, "BTC/USD")).collect();
        let kraken = || Kraken::new(Some(Secret::new("bench-token")), Tier::Pro);
        for round in 0..2 {
            for (mode, on_reactor) in [("threaded", true), ("inline", false)] {
                if (on_reactor && !threaded) || (!on_reactor && !inline_mode) {
                    continue;
                }
                let mut wire = Vec::new();
                let mut rtt = Vec::new();
                for capturing in [false, true] {
                    CAPTURING.store(capturing, Ordering::Relaxed);
                    let hist = if on_reactor {
                        gateway_path(&server, kraken(), &orders, None).0
                    } else {
                        inline_gateway_path(&server, kraken(), &orders)
                    };
                    let round_trip = gateway_rtt(&answering, &orders, !on_reactor);
                    let suffix = if capturing {
                        "capture on"
                    } else {
                        "capture off"
                    };
                    let row = |name| Row {
                        venue: "kraken",
                        round,
                        mode,
                        spacing_us: 0,
                        name,
                    };
                    let wire_name = format!("capture: order to wire, {suffix}");
                    let rtt_name = format!("capture: round trip to the ack, {suffix}");
                    results.push(report(&row(&wire_name), &hist, &mut spreads));
                    results.push(report(&row(&rtt_name), &round_trip, &mut spreads));
                    wire.push(hist);
                    rtt.push(round_trip);
                }
                CAPTURING.store(false, Ordering::Relaxed);
                let wire_added = (us(&wire[1], 0.5) - us(&wire[0], 0.5)) * 1_000.0;
                let rtt_added = (us(&rtt[1], 0.5) - us(&rtt[0], 0.5)) * 1_000.0;
                println!(
                    "  {mode} capture adds at p50: order to wire {wire_added:+.0} ns, round trip {rtt_added:+.0} ns ({} records dropped so far)",
                    CAPTURE_DROPPED.load(Ordering::Relaxed)
                );
                capture_added.push(json!({"mode": mode, "run": round + 1, "order_to_wire_added_p50_ns": wire_added, "rtt_added_p50_ns": rtt_added}));
            }
        }
    }
    println!();
    println!(
        "{:<62} {:>9} {:>9} {:>9} {:>9}",
        "median of runs (us)", "p50", "spread", "p99", "spread"
    );
    let mut medians = Vec::new();
    for (label, runs) in &spreads {
        let (p50, p50_spread) =
            median_and_spread(&mut runs.iter().map(|r| r.0).collect::<Vec<_>>());
        let (p99, p99_spread) =
            median_and_spread(&mut runs.iter().map(|r| r.1).collect::<Vec<_>>());
        println!("{label:<62} {p50:>9.2} {p50_spread:>9.2} {p99:>9.2} {p99_spread:>9.2}");
        medians.push(json!({"row": label, "runs": runs.len(), "p50_us": p50, "p50_spread_us": p50_spread, "p99_us": p99, "p99_spread_us": p99_spread}));
    }
    let report = json!({
        "command": "cargo bench -p orderwire-benches --bench order_to_wire",
        "orders": measured,
        "warm_up": WARM_UP,
        "runs": results,
        "gateway_added": added,
        "contention": contention,
        "decode_lock": decode_lock,
        "capture_added": capture_added,
        "capture_dropped": CAPTURE_DROPPED.load(Ordering::Relaxed),
        "medians": medians,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-results");
    std::fs::create_dir_all(&dir).expect("results directory");
    let path = dir.join("order_to_wire.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("JSON")).expect("write");
    println!("wrote {}", path.display());
}
