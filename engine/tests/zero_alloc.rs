//! The engine's steady state allocates nothing: a counting global allocator
//! counts every allocation made on the reactor thread and on the user
//! thread while 5,000 echo round trips run over ws:// (after a warm-up that
//! fills the pools). The echo server's thread is not counted.
//!
//! Over wss:// the bound is 2 per round trip, both inside rustls 0.23:
//! one `Vec` per received record and one per encrypted record, the same
//! with its unbuffered API (see docs/engine.md, "Measured").

mod support;

use std::time::Duration;

use orderwire_engine::{
    ConnectionConfig, Engine, EngineConfig, EngineEvent, ReconnectPolicy, TlsConfig,
};
use orderwire_protocol::ws::MessageKind;
use orderwire_testkit::alloc::{
    Counting, allocations, count_this_thread, stop_counting_this_thread,
};
use support::*;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `rounds` echo round trips after `warm_up` ones; returns the
/// allocations counted during the measured rounds.
fn allocations_per_run(tls: bool, warm_up: usize, rounds: usize) -> u64 {
    let pki = TestPki::new();
    let server = TestServer::start(tls.then(|| pki.server.clone()), vec![Script::Echo]);
    let mut engine = Engine::start(EngineConfig {
        on_reactor_start: Some(count_this_thread),
        seed: Some(1),
        ..EngineConfig::default()
    })
    .expect("engine starts");
    let mut config = ConnectionConfig::new(server.url(if tls { "wss" } else { "ws" }));
    if tls {
        config.tls = Some(TlsConfig::with_extra_ca_file(&pki.ca_file).expect("CA file"));
    }
    config.reconnect = ReconnectPolicy {
        enabled: false,
        ..ReconnectPolicy::default()
    };
    let conn = engine.connect(config).expect("queued");
    wait_for(&engine, PATIENCE, |event| {
        matches!(event, EngineEvent::Connected { .. }).then_some(())
    });
    let payload = br#"{"method":"add_order","params":{"symbol":"BTC/USD","side":"buy","order_qty":"0.0001","limit_price":"27500.1"},"req_id":123456789}"#;
    count_this_thread();
    let round_trip = || {
        let mut buffer = engine.buffer();
        buffer.extend_from_slice(payload);
        engine
            .send(conn, MessageKind::Text, buffer)
            .expect("queue has room");
        match engine.events().recv_timeout(PATIENCE) {
            Ok(EngineEvent::Message { data, .. }) => {
                assert_eq!(data.len(), payload.len());
                engine.recycle(data);
            }
            other => panic!("expected the echo, got {other:?}"),
        }
    };
    for _ in 0..warm_up {
        round_trip();
    }
    let before = allocations();
    for _ in 0..rounds {
        round_trip();
    }
    let counted = allocations() - before;
    stop_counting_this_thread();
    engine.shutdown(Duration::from_secs(1));
    counted
}

/// One test, so that no other engine in this process counts at the same
/// time (the counter is global; each flagged thread adds to it).
#[test]
fn steady_state_allocations() {
    let counted = allocations_per_run(false, 2_000, 5_000);
    assert_eq!(counted, 0, "ws://: allocations in 5,000 round trips");
    let counted = allocations_per_run(true, 2_000, 5_000);
    eprintln!("wss://: {counted} allocations in 5,000 round trips");
    // rustls: one Vec per received record and one per sent record, and
    // nothing of ours: a regression of one allocation per message shows.
    assert!(counted <= 5_000 * 2, "wss://: {counted} allocations");
}
