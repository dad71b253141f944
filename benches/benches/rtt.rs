//! Loopback echo round trips, 64 B and 512 B text messages, in one run:
//!
//! 1. the floor, raw TCP ping-pong: blocking std sockets, and non-blocking
//!    sockets spun on, without yielding, by a thread pinned like the
//!    engine's BusyPoll reactor;
//! 2. the orderwire engine over ws:// and wss://: inline (one pinned thread
//!    sends and busy-polls the loop itself), and threaded, from this (user)
//!    thread through its queues, in `Block` and in `BusyPoll` mode;
//! 3. tokio-tungstenite (tokio-rustls for wss://) on a current-thread
//!    runtime.
//!
//! Every WebSocket client talks to the same echo server (tungstenite, one
//! blocking thread per connection, rustls for wss://); the floors talk to a
//! raw TCP echo thread. Latencies go into hdrhistogram from the engine's
//! TSC clock. Prints p50/p99/p99.9/max and the ratios the engine is held
//! to, and writes everything to target/bench-results/rtt.json.
//!
//! `ORDERWIRE_RTT_ROUNDS` sets the measured round trips per client (default
//! 20,000, after 2,000 warm-up ones).
#![forbid(unsafe_code)]
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use orderwire_engine::{
    Clock, ConnectionConfig, Engine, EngineConfig, EngineEvent, InlineEngine, ReconnectPolicy,
    TlsConfig, WaitStrategy,
};
use orderwire_protocol::ws::MessageKind;
use orderwire_testkit::TestPki;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;

const WARM_UP: usize = 2_000;

/// `EngineConfig::spin_before_block`'s default, used by the `_block` runs;
/// the `_block_no_spin` runs sleep in epoll at once.
const SPIN: Duration = Duration::from_micros(50);

fn rounds() -> usize {
    std::env::var("ORDERWIRE_RTT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn histogram() -> Histogram<u64> {
    // 1 ns to 10 s, 3 significant figures.
    Histogram::new_with_bounds(1, 10_000_000_000, 3).expect("valid bounds")
}

/// Runs `warm_up + rounds` round trips and records the measured ones.
fn measure(clock: &Clock, rounds: usize, mut round_trip: impl FnMut()) -> Histogram<u64> {
    let mut hist = histogram();
    for _ in 0..WARM_UP {
        round_trip();
    }
    for _ in 0..rounds {
        let start = clock.now_ns();
        round_trip();
        let _ = hist.record(clock.now_ns().saturating_sub(start).max(1));
    }
    hist
}

// ---- servers ----

fn raw_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut buf = vec![0u8; 64 << 10];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 || stream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A lean tungstenite echo server: no logging, one thread per connection.
fn ws_echo_server(tls: Option<Arc<rustls::ServerConfig>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tls = tls.clone();
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                match tls {
                    Some(config) => {
                        let session = rustls::ServerConnection::new(config).expect("session");
                        echo(rustls::StreamOwned::new(session, stream));
                    }
                    None => echo(stream),
                }
            });
        }
    });
    addr
}

fn echo<S: Read + Write>(stream: S) {
    let Ok(mut ws) = tungstenite::accept(stream) else {
        return;
    };
    while let Ok(message) = ws.read() {
        if (message.is_text() || message.is_binary()) && ws.send(message).is_err() {
            return;
        }
    }
}

// ---- clients ----

fn connect_no_delay(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

fn floor_blocking(
    clock: &Clock,
    addr: SocketAddr,
    payload: &[u8],
    rounds: usize,
) -> Histogram<u64> {
    let mut stream = connect_no_delay(addr);
    let mut back = vec![0u8; payload.len()];
    measure(clock, rounds, || {
        stream.write_all(payload).expect("write");
        stream.read_exact(&mut back).expect("read");
    })
}

/// The busy-poll floor: a thread pinned to the core the engine's BusyPoll
/// reactor is pinned to (1) spins on the non-blocking socket without
/// yielding, against the raw TCP echo thread (a blocking thread, as every
/// WebSocket client's echo server is). Nothing a client adds on top of raw
/// TCP can beat it, so "floor + x µs" means something.
fn floor_busy_poll(
    clock: &Clock,
    addr: SocketAddr,
    payload: &[u8],
    rounds: usize,
) -> Histogram<u64> {
    let clock = clock.clone();
    let payload = payload.to_vec();
    std::thread::spawn(move || {
        let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: 1 });
        assert!(pinned, "the busy-poll floor pins itself to core 1");
        let mut stream = connect_no_delay(addr);
        stream.set_nonblocking(true).expect("non-blocking");
        let mut back = vec![0u8; payload.len()];
        measure(&clock, rounds, || {
            let mut sent = 0;
            while sent < payload.len() {
                match stream.write(&payload[sent..]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::hint::spin_loop();
                    }
                    Err(e) => panic!("write: {e}"),
                }
            }
            let mut got = 0;
            while got < back.len() {
                match stream.read(&mut back[got..]) {
                    Ok(0) => panic!("echo server closed"),
                    Ok(n) => got += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::hint::spin_loop();
                    }
                    Err(e) => panic!("read: {e}"),
                }
            }
        })
    })
    .join()
    .expect("the floor's thread")
}

fn orderwire(
    wait: WaitStrategy,
    spin_before_block: Duration,
    url: &str,
    tls: Option<TlsConfig>,
    payload: &[u8],
    rounds: usize,
) -> Histogram<u64> {
    let mut engine = Engine::start(EngineConfig {
        wait,
        spin_before_block,
        // Busy-polling spins a core: keep it off the one this thread uses
        // most (the scheduler still moves the user and server threads).
        core: (wait == WaitStrategy::BusyPoll).then_some(1),
        seed: Some(1),
        ..EngineConfig::default()
    })
    .expect("engine starts");
    let mut config = ConnectionConfig::new(url);
    config.tls = tls;
    config.reconnect = ReconnectPolicy {
        enabled: false,
        ..ReconnectPolicy::default()
    };
    let conn = engine.connect(config).expect("queued");
    loop {
        match engine.events().recv().expect("reactor runs") {
            EngineEvent::Connected { .. } => break,
            EngineEvent::Disconnected { reason, .. } => panic!("{reason:?}"),
            _ => {}
        }
    }
    let clock = engine.clock().clone();
    let hist = measure(&clock, rounds, || {
        let mut buffer = engine.buffer();
        buffer.extend_from_slice(payload);
        engine
            .send(conn, MessageKind::Text, buffer)
            .expect("queue has room");
        loop {
            match next_event(&engine, wait) {
                EngineEvent::Message { data, .. } => {
                    engine.recycle(data);
                    break;
                }
                EngineEvent::Disconnected { reason, .. } => panic!("{reason:?}"),
                _ => {}
            }
        }
    });
    engine.shutdown(Duration::from_secs(1));
    hist
}

/// The inline engine: the round trip runs on one thread pinned to core 1
/// (the core the threaded BusyPoll reactor and the busy-poll floor use),
/// which sends (down to the socket write) and busy-polls the loop itself:
/// no reactor thread, no queue hop.
fn orderwire_inline(
    url: &str,
    tls: Option<TlsConfig>,
    payload: &[u8],
    rounds: usize,
) -> Histogram<u64> {
    let url = url.to_owned();
    let payload = payload.to_vec();
    std::thread::spawn(move || {
        let mut engine = InlineEngine::new(EngineConfig {
            core: Some(1),
            seed: Some(1),
            ..EngineConfig::default()
        })
        .expect("inline engine on core 1");
        let mut config = ConnectionConfig::new(url);
        config.tls = tls;
        config.reconnect = ReconnectPolicy {
            enabled: false,
            ..ReconnectPolicy::default()
        };
        let conn = engine.connect(config).expect("connects");
        'open: loop {
            engine.poll_once(Some(Duration::ZERO));
            while let Some(event) = engine.next_event() {
                match event {
                    EngineEvent::Connected { .. } => break 'open,
                    EngineEvent::Disconnected { reason, .. } => panic!("{reason:?}"),
                    _ => {}
                }
            }
        }
        let clock = engine.clock().clone();
        let hist = measure(&clock, rounds, || {
            let mut buffer = engine.buffer();
            buffer.extend_from_slice(&payload);
            engine.send(conn, MessageKind::Text, buffer);
            loop {
                engine.poll_once(Some(Duration::ZERO));
                match engine.next_event() {
                    Some(EngineEvent::Message { data, .. }) => {
                        engine.recycle(data);
                        break;
                    }
                    Some(EngineEvent::Disconnected { reason, .. }) => panic!("{reason:?}"),
                    _ => {}
                }
            }
        });
        engine.shutdown(Duration::from_secs(1));
        hist
    })
    .join()
    .expect("the inline client's thread")
}

/// In `BusyPoll` mode the user thread polls the queue too, yielding between
/// polls so that the echo server's thread is not kept off a core (two cores,
/// three threads); in `Block` mode it parks.
fn next_event(engine: &Engine, wait: WaitStrategy) -> EngineEvent {
    if wait == WaitStrategy::Block {
        return engine.events().recv().expect("reactor runs");
    }
    loop {
        match engine.events().try_recv() {
            Ok(event) => return event,
            Err(crossbeam_channel::TryRecvError::Empty) => std::thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
    }
}

fn tokio_tungstenite(
    clock: &Clock,
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    payload: &'static str,
    rounds: usize,
) -> Histogram<u64> {
    use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let url = format!(
            "{}://localhost:{}/",
            if tls.is_some() { "wss" } else { "ws" },
            addr.port()
        );
        let text = Utf8Bytes::from_static(payload);
        let mut hist = histogram();
        macro_rules! run {
            ($ws:expr) => {{
                let mut ws = $ws;
                for round in 0..WARM_UP + rounds {
                    let start = clock.now_ns();
                    ws.send(Message::Text(text.clone())).await.expect("send");
                    loop {
                        match ws.next().await {
                            Some(Ok(Message::Text(_))) => break,
                            Some(Ok(_)) => {}
                            other => panic!("{other:?}"),
                        }
                    }
                    if round >= WARM_UP {
                        let _ = hist.record(clock.now_ns().saturating_sub(start).max(1));
                    }
                }
            }};
        }
        match tls {
            Some(config) => {
                let connector = tokio_rustls::TlsConnector::from(config);
                let name = ServerName::try_from("localhost").expect("name");
                let stream = connector.connect(name, tcp).await.expect("TLS");
                let (ws, _) = tokio_tungstenite::client_async(url, stream)
                    .await
                    .expect("handshake");
                run!(ws);
            }
            None => {
                let (ws, _) = tokio_tungstenite::client_async(url, tcp)
                    .await
                    .expect("handshake");
                run!(ws);
            }
        }
        hist
    })
}

fn rustls_client(pki: &TestPki) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&pki.ca_file).expect("CA file") {
        roots.add(cert.expect("PEM")).expect("CA certificate");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

// ---- the timestamp cost ----

/// Nanoseconds for one timestamp plus one histogram record, and for a pair
/// of `std::time::Instant::now()` calls.
fn timestamp_costs(clock: &Clock) -> (f64, f64) {
    const N: u64 = 2_000_000;
    let mut hist = histogram();
    let started = std::time::Instant::now();
    let mut last = clock.now_ns();
    for _ in 0..N {
        let now = clock.now_ns();
        let _ = hist.record((now - last).max(1));
        last = now;
    }
    let quanta_and_record = started.elapsed().as_nanos() as f64 / N as f64;
    let started = std::time::Instant::now();
    let mut sink = Duration::ZERO;
    for _ in 0..N {
        let a = std::time::Instant::now();
        sink += std::time::Instant::now() - a;
    }
    std::hint::black_box(sink);
    let std_pair = started.elapsed().as_nanos() as f64 / N as f64;
    (quanta_and_record, std_pair)
}

// ---- report ----

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// The median of the runs' figures and their spread (max - min).
fn median_and_spread(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let Some((&low, &high)) = values.first().zip(values.last()) else {
        return (0.0, 0.0);
    };
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, high - low)
}

fn summary(hist: &Histogram<u64>) -> serde_json::Value {
    json!({
        "count": hist.len(),
        "p50_us": us(hist.value_at_quantile(0.5)),
        "p99_us": us(hist.value_at_quantile(0.99)),
        "p999_us": us(hist.value_at_quantile(0.999)),
        "max_us": us(hist.max()),
        "mean_us": hist.mean() / 1000.0,
    })
}

/// Which driver a row measures, for the JSON (`inline` or `threaded` for
/// the engine; the floors and the peer say what they are).
fn mode_of(name: &str) -> &'static str {
    if name.contains("inline") {
        "inline"
    } else if name.starts_with("orderwire_") {
        "threaded"
    } else if name.starts_with("floor_") {
        "floor"
    } else {
        "peer"
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // else of interest. Either way the run is the same.
    let rounds = rounds();
    let clock = Clock::new();
    let pki = TestPki::new();
    let raw = raw_echo_server();
    let ws_plain = ws_echo_server(None);
    let ws_tls = ws_echo_server(Some(pki.server.clone()));
    let tls = TlsConfig::with_extra_ca_file(&pki.ca_file).expect("CA file");
    let tokio_tls = rustls_client(&pki);

    let (stamp, std_pair) = timestamp_costs(&clock);
    println!(
        "timestamp + histogram record: {stamp:.1} ns (target <= 20 ns); std Instant::now() pair: {std_pair:.1} ns"
    );

    let mut results = serde_json::Map::new();
    let mut ratios = serde_json::Map::new();
    for size in [64usize, 512] {
        let text: &'static str = Box::leak(
            (0..size)
                .map(|i| (b'a' + (i % 26) as u8) as char)
                .collect::<String>()
                .into_boxed_str(),
        );
        let payload = text.as_bytes();
        let ws_url = format!("ws://localhost:{}/", ws_plain.port());
        let wss_url = format!("wss://localhost:{}/", ws_tls.port());
        type Client<'a> = Box<dyn Fn() -> Histogram<u64> + 'a>;
        let engine = |wait: WaitStrategy, spin: Duration, url: &str, tls: Option<&TlsConfig>| {
            let url = url.to_owned();
            let tls = tls.cloned();
            Box::new(move || orderwire(wait, spin, &url, tls.clone(), payload, rounds)) as Client
        };
        let (block, busy, no_spin) = (WaitStrategy::Block, WaitStrategy::BusyPoll, Duration::ZERO);
        let clients: Vec<(&str, Client)> = vec![
            (
                "floor_tcp_blocking",
                Box::new(|| floor_blocking(&clock, raw, payload, rounds)),
            ),
            (
                "floor_tcp_busy_poll",
                Box::new(|| floor_busy_poll(&clock, raw, payload, rounds)),
            ),
            (
                "orderwire_ws_inline",
                Box::new(|| orderwire_inline(&ws_url, None, payload, rounds)),
            ),
            ("orderwire_ws_block", engine(block, SPIN, &ws_url, None)),
            (
                "orderwire_ws_block_no_spin",
                engine(block, no_spin, &ws_url, None),
            ),
            ("orderwire_ws_busy_poll", engine(busy, SPIN, &ws_url, None)),
            (
                "orderwire_wss_inline",
                Box::new(|| orderwire_inline(&wss_url, Some(tls.clone()), payload, rounds)),
            ),
            (
                "orderwire_wss_block",
                engine(block, SPIN, &wss_url, Some(&tls)),
            ),
            (
                "orderwire_wss_block_no_spin",
                engine(block, no_spin, &wss_url, Some(&tls)),
            ),
            (
                "orderwire_wss_busy_poll",
                engine(busy, SPIN, &wss_url, Some(&tls)),
            ),
            (
                "tokio_tungstenite_ws",
                Box::new(|| tokio_tungstenite(&clock, ws_plain, None, text, rounds)),
            ),
            (
                "tokio_tungstenite_wss",
                Box::new(|| {
                    tokio_tungstenite(&clock, ws_tls, Some(tokio_tls.clone()), text, rounds)
                }),
            ),
        ];
        // ORDERWIRE_RTT_ONLY=<substring> runs a subset (for profiling); the
        // ratios need the full set.
        let only = std::env::var("ORDERWIRE_RTT_ONLY").ok();
        // Every client twice, the whole list in turn, so that drift in the
        // machine shows as spread rather than as a difference between
        // clients.
        let selected: Vec<&(&str, Client)> = clients
            .iter()
            .filter(|(name, _)| only.as_deref().is_none_or(|o| name.contains(o)))
            .collect();
        let mut runs: Vec<(&str, Vec<Histogram<u64>>)> = selected
            .iter()
            .map(|(name, _)| (*name, Vec::new()))
            .collect();
        for _ in 0..2 {
            for (slot, (_, run)) in runs.iter_mut().zip(&selected) {
                slot.1.push(run());
            }
        }
        let complete = runs.len() == clients.len();
        println!("\nrtt {size} B ({rounds} round trips each, two runs, µs)");
        println!("| client | p50 | p99 | p99.9 | max |");
        println!("|---|---|---|---|---|");
        for (name, hists) in &runs {
            for (round, hist) in hists.iter().enumerate() {
                println!(
                    "| {name} (run {}) | {:.1} | {:.1} | {:.1} | {:.1} |",
                    round + 1,
                    us(hist.value_at_quantile(0.5)),
                    us(hist.value_at_quantile(0.99)),
                    us(hist.value_at_quantile(0.999)),
                    us(hist.max())
                );
            }
        }
        println!("\nmedian of the runs (spread = max - min), µs");
        println!("| client | p50 | spread | p99 | spread | p99.9 | spread |");
        println!("|---|---|---|---|---|---|---|");
        let mut by_name = std::collections::BTreeMap::new();
        for (name, hists) in &runs {
            let stat = |quantile: f64| {
                let mut values: Vec<f64> = hists
                    .iter()
                    .map(|h| us(h.value_at_quantile(quantile)))
                    .collect();
                median_and_spread(&mut values)
            };
            let (p50, p50_spread) = stat(0.5);
            let (p99, p99_spread) = stat(0.99);
            let (p999, p999_spread) = stat(0.999);
            println!(
                "| {name} | {p50:.1} | {p50_spread:.1} | {p99:.1} | {p99_spread:.1} | {p999:.1} | {p999_spread:.1} |"
            );
            let mut entry = json!({
                "runs": hists.iter().map(summary).collect::<Vec<_>>(),
                "p50_us": p50,
                "p50_spread_us": p50_spread,
                "p99_us": p99,
                "p99_spread_us": p99_spread,
                "p999_us": p999,
                "p999_spread_us": p999_spread,
            });
            entry["mode"] = json!(mode_of(name));
            results.insert(format!("{name}/{size}"), entry);
            by_name.insert(*name, (p50, p99, p999));
        }
        if !complete {
            continue;
        }
        // The ratios compare the medians of the two runs.
        let q = |name: &str, quantile: f64| {
            let (p50, p99, p999) = by_name[name];
            match quantile {
                0.5 => p50,
                0.99 => p99,
                _ => p999,
            }
        };
        let size_ratios = json!({
            "ws_inline_minus_busy_floor_p50_us": q("orderwire_ws_inline", 0.5) - q("floor_tcp_busy_poll", 0.5),
            "ws_inline_minus_busy_floor_p99_us": q("orderwire_ws_inline", 0.99) - q("floor_tcp_busy_poll", 0.99),
            "wss_inline_minus_busy_floor_p50_us": q("orderwire_wss_inline", 0.5) - q("floor_tcp_busy_poll", 0.5),
            "wss_inline_minus_busy_floor_p99_us": q("orderwire_wss_inline", 0.99) - q("floor_tcp_busy_poll", 0.99),
            "tokio_over_orderwire_ws_inline_p50": q("tokio_tungstenite_ws", 0.5) / q("orderwire_ws_inline", 0.5),
            "tokio_over_orderwire_ws_inline_p99": q("tokio_tungstenite_ws", 0.99) / q("orderwire_ws_inline", 0.99),
            "tokio_over_orderwire_ws_inline_p999": q("tokio_tungstenite_ws", 0.999) / q("orderwire_ws_inline", 0.999),
            "tokio_over_orderwire_wss_inline_p50": q("tokio_tungstenite_wss", 0.5) / q("orderwire_wss_inline", 0.5),
            "tokio_over_orderwire_wss_inline_p99": q("tokio_tungstenite_wss", 0.99) / q("orderwire_wss_inline", 0.99),
            "tokio_over_orderwire_wss_inline_p999": q("tokio_tungstenite_wss", 0.999) / q("orderwire_wss_inline", 0.999),
            "ws_block_over_blocking_floor_p50": q("orderwire_ws_block", 0.5) / q("floor_tcp_blocking", 0.5),
            "ws_block_no_spin_over_blocking_floor_p50": q("orderwire_ws_block_no_spin", 0.5) / q("floor_tcp_blocking", 0.5),
            "ws_busy_poll_minus_busy_floor_p50_us": q("orderwire_ws_busy_poll", 0.5) - q("floor_tcp_busy_poll", 0.5),
            "tokio_over_orderwire_ws_block_p50": q("tokio_tungstenite_ws", 0.5) / q("orderwire_ws_block", 0.5),
            "tokio_over_orderwire_ws_block_p99": q("tokio_tungstenite_ws", 0.99) / q("orderwire_ws_block", 0.99),
            "tokio_over_orderwire_wss_block_p50": q("tokio_tungstenite_wss", 0.5) / q("orderwire_wss_block", 0.5),
            "tokio_over_orderwire_wss_block_p99": q("tokio_tungstenite_wss", 0.99) / q("orderwire_wss_block", 0.99),
            "tokio_over_orderwire_ws_busy_poll_p50": q("tokio_tungstenite_ws", 0.5) / q("orderwire_ws_busy_poll", 0.5),
            "tokio_over_orderwire_ws_busy_poll_p99": q("tokio_tungstenite_ws", 0.99) / q("orderwire_ws_busy_poll", 0.99),
            "tokio_over_orderwire_wss_busy_poll_p50": q("tokio_tungstenite_wss", 0.5) / q("orderwire_wss_busy_poll", 0.5),
            "tokio_over_orderwire_wss_busy_poll_p99": q("tokio_tungstenite_wss", 0.99) / q("orderwire_wss_busy_poll", 0.99),
        });
        println!("\nratios {size} B:");
        if let Some(map) = size_ratios.as_object() {
            for (k, v) in map {
                println!("  {k}: {:.2}", v.as_f64().unwrap_or(f64::NAN));
            }
        }
        ratios.insert(size.to_string(), size_ratios);
    }
    let report = json!({
        "command": "cargo bench -p orderwire-benches --bench rtt",
        "rounds": rounds,
        "warm_up": WARM_UP,
        "timestamp_plus_record_ns": stamp,
        "std_instant_pair_ns": std_pair,
        "results": results,
        "ratios": ratios,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-results");
    std::fs::create_dir_all(&dir).expect("results directory");
    let path = dir.join("rtt.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("JSON")).expect("write");
    println!("\nwrote {}", path.display());
}
