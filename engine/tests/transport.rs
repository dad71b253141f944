//! The engine over loopback against a tungstenite server, with rustls and an
//! rcgen certificate for `wss://`: echo, large messages, closes from either
//! side, a server killed mid-stream (reconnect and open-sequence replay),
//! a handshake that never comes, a silent server (data watchdog), an
//! unknown CA, and shutdown.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]

mod support;

use std::time::Duration;

use orderwire_engine::{
    ConnError, ConnId, ConnectionConfig, Disconnect, Engine, EngineConfig, EngineEvent, OpenSink,
    TlsConfig, WaitStrategy,
};
use orderwire_protocol::ws::{MessageKind, WsError};
use support::*;

fn engine(wait: WaitStrategy) -> Engine {
    Engine::start(EngineConfig {
        wait,
        seed: Some(7),
        ..EngineConfig::default()
    })
    .expect("engine starts")
}

fn config(server: &TestServer, pki: Option<&TestPki>) -> ConnectionConfig {
    test_connection(server, pki)
}

fn connected(engine: &Engine, conn: ConnId) -> u32 {
    wait_for(engine, PATIENCE, |event| match event {
        EngineEvent::Connected {
            conn: c, attempt, ..
        } if *c == conn => Some(*attempt),
        _ => None,
    })
}

/// The reason of the next `Disconnected`, as its Debug text.
fn disconnect_reason(engine: &Engine) -> String {
    wait_for(engine, PATIENCE, |event| match event {
        EngineEvent::Disconnected { reason, .. } => Some(format!("{reason:?}")),
        _ => None,
    })
}

/// Waits for the connection to end for good.
fn closed_for_good(engine: &Engine) {
    wait_for(engine, PATIENCE, |event| {
        matches!(event, EngineEvent::Closed { .. }).then_some(())
    });
}

fn next_message(engine: &Engine) -> (MessageKind, Vec<u8>) {
    wait_for(engine, PATIENCE, |event| match event {
        EngineEvent::Message { kind, data, .. } => Some((*kind, data.clone())),
        _ => None,
    })
}

fn echo_round_trips(wait: WaitStrategy, tls: bool) {
    let pki = TestPki::new();
    let server = TestServer::start(tls.then(|| pki.server.clone()), vec![Script::Echo]);
    let mut engine = engine(wait);
    let conn = engine
        .connect(config(&server, tls.then_some(&pki)))
        .expect("queued");
    assert_eq!(connected(&engine, conn), 0);
    let big: Vec<u8> = (0..(1 << 20)).map(|i| (i * 31 % 251) as u8).collect();
    let text = "é".repeat(40_000);
    engine.send_text(conn, "hello").expect("queued");
    assert_eq!(
        next_message(&engine),
        (MessageKind::Text, b"hello".to_vec())
    );
    engine
        .send(conn, MessageKind::Binary, big.clone())
        .expect("queued");
    assert_eq!(next_message(&engine), (MessageKind::Binary, big));
    engine.send_text(conn, &text).expect("queued");
    assert_eq!(
        next_message(&engine),
        (MessageKind::Text, text.into_bytes())
    );
    engine.send_text(conn, "").expect("queued");
    assert_eq!(next_message(&engine), (MessageKind::Text, Vec::new()));
    // Our close: the handshake completes and the connection ends for good.
    engine.close(conn, 1000, "done").expect("queued");
    let reason = disconnect_reason(&engine);
    assert!(
        reason.contains("code: Some(1000)") && reason.contains("by_peer: false"),
        "{reason}"
    );
    wait_for(&engine, PATIENCE, |event| {
        matches!(event, EngineEvent::Closed { conn: c } if *c == conn).then_some(())
    });
    assert_eq!(engine.shutdown(Duration::from_secs(1)), 0);
}

#[test]
fn echo_over_wss_blocking() {
    echo_round_trips(WaitStrategy::Block, true);
}

#[test]
fn echo_over_ws_busy_poll() {
    echo_round_trips(WaitStrategy::BusyPoll, false);
}

#[test]
fn a_close_from_the_server_is_reported_and_followed_by_a_reconnect() {
    let server = TestServer::start(None, vec![Script::CloseAfterHandshake(4001), Script::Echo]);
    let mut engine = engine(WaitStrategy::Block);
    let conn = engine.connect(config(&server, None)).expect("queued");
    let reason = wait_for(&engine, PATIENCE, |event| match event {
        EngineEvent::Disconnected {
            reason: Disconnect::Closed { code, by_peer, .. },
            ..
        } => Some((*code, *by_peer)),
        _ => None,
    });
    assert_eq!(reason, (Some(4001), true));
    wait_for(&engine, PATIENCE, |event| {
        matches!(event, EngineEvent::Reconnecting { attempt: 1, .. }).then_some(())
    });
    assert_eq!(connected(&engine, conn), 1);
    engine.shutdown(Duration::from_secs(1));
}

#[test]
fn a_killed_server_connection_reconnects_and_replays_the_open_sequence_first() {
    let pki = TestPki::new();
    let server = TestServer::start(
        Some(pki.server.clone()),
        vec![Script::EchoThenKill(3), Script::Echo],
    );
    let mut engine = engine(WaitStrategy::Block);
    let mut config = config(&server, Some(&pki));
    config.open_sequence = Some(Box::new(|attempt: u32, out: &mut OpenSink<'_>| {
        out.text(&format!("auth {attempt}"));
        out.text("subscribe book");
    }));
    let conn = engine.connect(config).expect("queued");
    assert_eq!(connected(&engine, conn), 0);
    // The server echoes everything, the open sequence included.
    assert_eq!(next_message(&engine).1, b"auth 0");
    assert_eq!(next_message(&engine).1, b"subscribe book");
    engine.send_text(conn, "order 1").expect("queued");
    assert_eq!(next_message(&engine).1, b"order 1");
    // The server drops the TCP connection on the next message.
    engine.send_text(conn, "order 2").expect("queued");
    let reason = disconnect_reason(&engine);
    assert!(reason.contains("Eof") || reason.contains("Io"), "{reason}");
    // Queued while down: must follow the open sequence on the new connection.
    engine.send_text(conn, "order 3").expect("queued");
    assert_eq!(connected(&engine, conn), 1);
    assert_eq!(next_message(&engine).1, b"auth 1");
    assert_eq!(next_message(&engine).1, b"subscribe book");
    assert_eq!(next_message(&engine).1, b"order 3");
    assert_eq!(
        server.received_on(0),
        vec!["auth 0", "subscribe book", "order 1", "order 2"]
    );
    assert_eq!(
        server.received_on(1),
        vec!["auth 1", "subscribe book", "order 3"]
    );
    engine.shutdown(Duration::from_secs(1));
}

#[test]
fn a_server_that_never_answers_the_handshake_times_out_then_backs_off() {
    let server = TestServer::start(None, vec![Script::NeverHandshake]);
    let mut engine = engine(WaitStrategy::Block);
    let mut config = config(&server, None);
    config.ws.handshake_timeout = Some(Duration::from_millis(100));
    config.reconnect.max_attempts = Some(2);
    let conn = engine.connect(config).expect("queued");
    let mut timeouts = 0;
    let mut delays = Vec::new();
    loop {
        let event = engine.events().recv_timeout(PATIENCE).expect("an event");
        match event {
            EngineEvent::Disconnected {
                reason: Disconnect::Failed(ConnError::Ws(WsError::HandshakeTimeout)),
                ..
            } => timeouts += 1,
            EngineEvent::Reconnecting { delay, attempt, .. } => delays.push((attempt, delay)),
            EngineEvent::Closed { conn: c } if c == conn => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(timeouts, 3, "the first attempt and two retries");
    assert_eq!(delays.len(), 2);
    assert!(delays.iter().all(|(_, d)| *d <= Duration::from_millis(100)));
    assert_eq!(server.accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    engine.shutdown(Duration::from_secs(1));
}

#[test]
fn a_server_that_answers_pings_but_sends_no_data_trips_the_watchdog() {
    let server = TestServer::start(None, vec![Script::Silent]);
    let mut engine = engine(WaitStrategy::Block);
    let mut config = config(&server, None);
    config.ws.ping_interval = Some(Duration::from_millis(20));
    config.ws.pong_timeout = Duration::from_millis(500);
    config.data_timeout = Some(Duration::from_millis(200));
    config.reconnect.enabled = false;
    let conn = engine.connect(config).expect("queued");
    connected(&engine, conn);
    let reason = disconnect_reason(&engine);
    assert!(reason.contains("DataTimeout"), "{reason}");
    closed_for_good(&engine);
    engine.shutdown(Duration::from_secs(1));
}

#[test]
fn a_certificate_from_an_unknown_ca_is_refused_with_a_clear_error() {
    let trusted = TestPki::new();
    let other = TestPki::new();
    let server = TestServer::start(Some(other.server.clone()), vec![Script::Echo]);
    let mut engine = engine(WaitStrategy::Block);
    let mut config = config(&server, Some(&trusted));
    config.reconnect.enabled = false;
    engine.connect(config).expect("queued");
    let reason = wait_for(&engine, PATIENCE, |event| match event {
        EngineEvent::Disconnected {
            reason: Disconnect::Failed(ConnError::Tls(message)),
            ..
        } => Some(message.clone()),
        _ => None,
    });
    assert!(reason.contains("UnknownIssuer"), "{reason}");
    engine.shutdown(Duration::from_secs(1));
}

#[test]
fn shutdown_closes_connections_and_answers_every_command() {
    let server = TestServer::start(None, vec![Script::Echo]);
    let mut engine = engine(WaitStrategy::Block);
    let conn = engine.connect(config(&server, None)).expect("queued");
    connected(&engine, conn);
    engine.shutdown(Duration::from_secs(1));
    let events: Vec<EngineEvent> = engine.events().try_iter().collect();
    let text = format!("{events:?}");
    assert!(text.contains("code: Some(1001)"), "closed politely: {text}");
    assert!(
        matches!(events.last(), Some(EngineEvent::Stopped)),
        "{text}"
    );
    // After shutdown, commands come straight back.
    assert!(engine.send_text(conn, "late").is_err());
}

#[test]
fn a_close_asked_for_before_the_open_waits_for_the_queued_messages() {
    let server = TestServer::start(None, vec![Script::Echo]);
    let mut engine = engine(WaitStrategy::Block);
    let conn = engine.connect(config(&server, None)).expect("queued");
    engine.send_text(conn, "first").expect("queued");
    engine.send_text(conn, "second").expect("queued");
    engine.close(conn, 1000, "done").expect("queued");
    let mut echoed = Vec::new();
    let reason = loop {
        match engine.events().recv_timeout(PATIENCE).expect("an event") {
            EngineEvent::Message { data, .. } => echoed.push(String::from_utf8(data).unwrap()),
            EngineEvent::Disconnected { reason, .. } => break format!("{reason:?}"),
            _ => {}
        }
    };
    assert!(reason.contains("code: Some(1000)"), "{reason}");
    assert_eq!(server.received_on(0), vec!["first", "second"]);
    // The server may echo before it reads our close; what it echoed arrives.
    assert!(
        ["first", "second"].starts_with(&echoed.iter().map(String::as_str).collect::<Vec<_>>())
    );
    closed_for_good(&engine);
    engine.shutdown(Duration::from_secs(1));
}

#[test]
fn pinning_to_a_core_that_does_not_exist_is_an_error() {
    // Past the CPU set's size, and inside it but not on this machine.
    for core in [100_000, 1000] {
        let result = Engine::start(EngineConfig {
            core: Some(core),
            ..EngineConfig::default()
        });
        assert!(
            matches!(result, Err(orderwire_engine::StartError::Pin(c)) if c == core),
            "{core}: {:?}",
            result.err()
        );
    }
}

#[test]
fn a_full_command_queue_hands_the_command_back() {
    let server = TestServer::start(None, vec![Script::Echo]);
    let mut engine = Engine::start(EngineConfig {
        command_capacity: 4,
        ..EngineConfig::default()
    })
    .expect("engine starts");
    let conn = engine.connect(config(&server, None)).expect("queued");
    connected(&engine, conn);
    // Fill the queue faster than the reactor drains it, until one comes back.
    let mut returned = None;
    for i in 0..100_000u32 {
        let mut data = engine.buffer();
        data.extend_from_slice(format!("m{i}").as_bytes());
        if let Err(orderwire_engine::QueueFull(command)) =
            engine.send(conn, MessageKind::Text, data)
        {
            returned = Some(command);
            break;
        }
    }
    match returned {
        Some(orderwire_engine::Command::Send { data, .. }) => assert!(data.starts_with(b"m")),
        other => panic!("no command came back: {other:?}"),
    }
    engine.shutdown(Duration::from_secs(1));
}

#[test]
#[expect(
    clippy::disallowed_methods,
    reason = "a bound on waiting for a real socket, not time in the logic under test"
)]
fn a_full_event_queue_holds_events_back_and_loses_none() {
    let server = TestServer::start(None, vec![Script::Echo]);
    let mut engine = Engine::start(EngineConfig {
        event_capacity: 8,
        ..EngineConfig::default()
    })
    .expect("engine starts");
    let conn = engine.connect(config(&server, None)).expect("queued");
    connected(&engine, conn);
    // 500 echoes into a queue of 8 that nobody reads for a while.
    for i in 0..500 {
        engine.send_text(conn, &format!("{i}")).expect("queued");
    }
    // Nobody reads until the server has taken (and echoed) all 500, so the
    // echoes pile up behind the full event queue: an observable condition,
    // not a guessed sleep.
    let deadline = std::time::Instant::now() + PATIENCE;
    while server.received_on(0).len() < 500 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server got {}",
            server.received_on(0).len()
        );
        std::thread::yield_now();
    }
    let mut got = Vec::new();
    while got.len() < 500 {
        let event = engine.events().recv_timeout(PATIENCE);
        match event.unwrap_or_else(|e| {
            panic!(
                "{e} after {} echoes; the server got {}",
                got.len(),
                server.received_on(0).len()
            )
        }) {
            EngineEvent::Message { data, .. } => {
                got.push(String::from_utf8(data).expect("text"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let expected: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    assert_eq!(got, expected, "every echo, in order");
    engine.shutdown(Duration::from_secs(1));
}

#[test]
fn a_tls_handshake_that_never_finishes_times_out() {
    let pki = TestPki::new();
    // The server takes the TCP connection and reads the ClientHello, but
    // never answers it.
    let server = TestServer::start(None, vec![Script::NeverHandshake]);
    let mut engine = engine(WaitStrategy::Block);
    let mut config = ConnectionConfig::new(server.url("wss"));
    config.tls = Some(TlsConfig::with_extra_ca_file(&pki.ca_file).expect("CA file"));
    config.tls_timeout = Duration::from_millis(100);
    config.reconnect.enabled = false;
    engine.connect(config).expect("queued");
    let reason = disconnect_reason(&engine);
    assert!(reason.contains("TlsTimeout"), "{reason}");
    engine.shutdown(Duration::from_secs(1));
}

#[test]
fn a_server_that_never_answers_our_close_times_out() {
    let server = TestServer::start(None, vec![Script::Deaf]);
    let mut engine = engine(WaitStrategy::Block);
    let mut config = config(&server, None);
    config.ws.close_timeout = Duration::from_millis(100);
    let conn = engine.connect(config).expect("queued");
    connected(&engine, conn);
    engine.close(conn, 1000, "bye").expect("queued");
    let reason = disconnect_reason(&engine);
    assert!(reason.contains("CloseTimeout"), "{reason}");
    // A close the user asked for: no reconnect.
    closed_for_good(&engine);
    engine.shutdown(Duration::from_secs(1));
}

#[test]
fn keepalive_pings_without_pongs_fail_the_connection() {
    let server = TestServer::start(None, vec![Script::Deaf]);
    let mut engine = engine(WaitStrategy::Block);
    let mut config = config(&server, None);
    config.ws.ping_interval = Some(Duration::from_millis(30));
    config.ws.pong_timeout = Duration::from_millis(100);
    config.reconnect.enabled = false;
    let conn = engine.connect(config).expect("queued");
    connected(&engine, conn);
    let reason = disconnect_reason(&engine);
    assert!(reason.contains("KeepaliveTimeout"), "{reason}");
    engine.shutdown(Duration::from_secs(1));
}
