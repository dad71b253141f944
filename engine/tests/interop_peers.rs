//! The engine against WebSocket servers we did not write: Python
//! `websockets` and Node `ws` (both installed by scripts/install-peers), over `ws://` and
//! over `wss://` with an rcgen certificate. Echo of text and binary up to
//! 1 MiB, fragmented messages, a ping from the server, and a close from it.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]

mod support;

use std::time::Duration;

use orderwire_engine::{
    ConnectionConfig, Disconnect, Engine, EngineConfig, EngineEvent, ReconnectPolicy, TlsConfig,
};
use orderwire_protocol::ws::MessageKind;
use support::*;

fn next_message(engine: &Engine) -> (MessageKind, Vec<u8>) {
    wait_for(engine, PATIENCE, |event| match event {
        EngineEvent::Message { kind, data, .. } => Some((*kind, data.clone())),
        _ => None,
    })
}

fn exercise(program: &str, script: &str, tls: bool) {
    let pki = TestPki::new();
    let server = PeerServer::start(program, script, tls.then_some(&pki));
    let scheme = if tls { "wss" } else { "ws" };
    let mut config = ConnectionConfig::new(format!("{scheme}://localhost:{}/", server.port));
    if tls {
        config.tls = Some(TlsConfig::with_extra_ca_file(&pki.ca_file).expect("CA file"));
    }
    config.reconnect = ReconnectPolicy {
        enabled: false,
        ..ReconnectPolicy::default()
    };
    let mut engine = Engine::start(EngineConfig::default()).expect("engine starts");
    let conn = engine.connect(config).expect("queued");
    wait_for(&engine, PATIENCE, |event| {
        matches!(event, EngineEvent::Connected { .. }).then_some(())
    });

    for size in [0usize, 1, 125, 126, 65_535, 65_536, 1 << 20] {
        let text: String = (0..size).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        engine.send_text(conn, &text).expect("queued");
        assert_eq!(
            next_message(&engine),
            (MessageKind::Text, text.into_bytes()),
            "{program} text {size}"
        );
        let binary: Vec<u8> = (0..size).map(|i| (i * 7 % 256) as u8).collect();
        engine
            .send(conn, MessageKind::Binary, binary.clone())
            .expect("queued");
        assert_eq!(
            next_message(&engine),
            (MessageKind::Binary, binary),
            "{program} binary {size}"
        );
    }
    // The server fragments its answer; we get one message.
    let body = "fragmented é message ".repeat(50);
    engine
        .send_text(conn, &format!("frag:7:{body}"))
        .expect("queued");
    assert_eq!(next_message(&engine).1, body.into_bytes());
    // The server pings; the codec answers and the server reports it.
    engine.send_text(conn, "ping-me").expect("queued");
    assert_eq!(next_message(&engine).1, b"pong-received");
    // The server closes.
    engine.send_text(conn, "close:4000").expect("queued");
    let closed = wait_for(&engine, PATIENCE, |event| match event {
        EngineEvent::Disconnected {
            reason: Disconnect::Closed { code, by_peer, .. },
            ..
        } => Some((*code, *by_peer)),
        _ => None,
    });
    assert_eq!(closed, (Some(4000), true), "{program}");
    assert_eq!(engine.shutdown(Duration::from_secs(1)), 0);
}

#[test]
fn python_websockets_over_ws() {
    exercise("python3", "ws_echo_server.py", false);
}

#[test]
fn python_websockets_over_wss() {
    exercise("python3", "ws_echo_server.py", true);
}

#[test]
fn node_ws_over_ws() {
    exercise("node", "ws_echo_server.js", false);
}

#[test]
fn node_ws_over_wss() {
    exercise("node", "ws_echo_server.js", true);
}
