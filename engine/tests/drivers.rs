//! One set of test bodies on both drivers of the same loop, connection,
//! TLS and codec: the threaded `Engine` (a reactor thread and queues) and
//! the `InlineEngine` (the caller's thread, no queue): echo over ws:// and
//! wss://, a close from the server followed by a reconnect, the data
//! watchdog, and shutdown.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data: small counters made into bytes"
)]

mod support;

use std::time::Duration;

use orderwire_engine::{
    ConnId, ConnectionConfig, Disconnect, Engine, EngineConfig, EngineEvent, InlineEngine,
};
use orderwire_protocol::ws::MessageKind;
use support::*;

/// What a test body needs of a driver.
trait Driver {
    fn connect(&mut self, config: ConnectionConfig) -> ConnId;
    fn send(&mut self, conn: ConnId, kind: MessageKind, data: Vec<u8>);
    fn close(&mut self, conn: ConnId, code: u16, reason: &str);
    /// The next event (message buffers are the test's), within `PATIENCE`.
    fn next(&mut self) -> EngineEvent;
    /// Shuts down; returns every event that came after.
    fn shutdown(&mut self) -> Vec<EngineEvent>;
}

impl Driver for Engine {
    fn connect(&mut self, config: ConnectionConfig) -> ConnId {
        Engine::connect(self, config).expect("queued")
    }
    fn send(&mut self, conn: ConnId, kind: MessageKind, data: Vec<u8>) {
        Engine::send(self, conn, kind, data).expect("queued");
    }
    fn close(&mut self, conn: ConnId, code: u16, reason: &str) {
        Engine::close(self, conn, code, reason).expect("queued");
    }
    fn next(&mut self) -> EngineEvent {
        self.events()
            .recv_timeout(PATIENCE)
            .expect("an event within PATIENCE")
    }
    fn shutdown(&mut self) -> Vec<EngineEvent> {
        Engine::shutdown(self, Duration::from_secs(1));
        self.events().try_iter().collect()
    }
}

impl Driver for InlineEngine {
    fn connect(&mut self, config: ConnectionConfig) -> ConnId {
        InlineEngine::connect(self, config).expect("connects")
    }
    fn send(&mut self, conn: ConnId, kind: MessageKind, data: Vec<u8>) {
        InlineEngine::send(self, conn, kind, data);
    }
    fn close(&mut self, conn: ConnId, code: u16, reason: &str) {
        self.submit(orderwire_engine::Command::Close {
            conn,
            code,
            reason: reason.to_owned(),
        });
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "a bound on waiting for a real socket, not time in the logic under test"
    )]
    fn next(&mut self) -> EngineEvent {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(event) = self.next_event() {
                return event;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no event within {PATIENCE:?}"
            );
            // Blocks in epoll for at most 10 ms: the turn wakes on
            // readiness or the loop's own next deadline.
            self.poll_once(Some(Duration::from_millis(10)));
        }
    }
    fn shutdown(&mut self) -> Vec<EngineEvent> {
        InlineEngine::shutdown(self, Duration::from_secs(1));
        std::iter::from_fn(|| self.next_event()).collect()
    }
}

fn threaded() -> Engine {
    Engine::start(EngineConfig {
        seed: Some(7),
        ..EngineConfig::default()
    })
    .expect("engine starts")
}

fn inline() -> InlineEngine {
    InlineEngine::new(EngineConfig {
        seed: Some(7),
        ..EngineConfig::default()
    })
    .expect("engine made")
}

fn config(server: &TestServer, pki: Option<&TestPki>) -> ConnectionConfig {
    test_connection(server, pki)
}

/// Takes events until `want` accepts one; panics naming what it saw.
fn wait_for<T>(driver: &mut impl Driver, mut want: impl FnMut(&EngineEvent) -> Option<T>) -> T {
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        let event = driver.next();
        if let Some(found) = want(&event) {
            return found;
        }
        seen.push(format!("{event:?}"));
    }
    panic!("no matching event; saw: {seen:#?}")
}

fn connected(driver: &mut impl Driver, conn: ConnId) -> u32 {
    wait_for(driver, |event| match event {
        EngineEvent::Connected {
            conn: c, attempt, ..
        } if *c == conn => Some(*attempt),
        _ => None,
    })
}

fn next_message(driver: &mut impl Driver) -> (MessageKind, Vec<u8>) {
    wait_for(driver, |event| match event {
        EngineEvent::Message { kind, data, .. } => Some((*kind, data.clone())),
        _ => None,
    })
}

fn echo(mut driver: impl Driver, tls: bool) {
    let pki = TestPki::new();
    let server = TestServer::start(tls.then(|| pki.server.clone()), vec![Script::Echo]);
    let conn = driver.connect(config(&server, tls.then_some(&pki)));
    assert_eq!(connected(&mut driver, conn), 0);
    let big: Vec<u8> = (0..(1 << 20)).map(|i| (i * 31 % 251) as u8).collect();
    driver.send(conn, MessageKind::Text, b"hello".to_vec());
    assert_eq!(
        next_message(&mut driver),
        (MessageKind::Text, b"hello".to_vec())
    );
    driver.send(conn, MessageKind::Binary, big.clone());
    assert_eq!(next_message(&mut driver), (MessageKind::Binary, big));
    // A burst: order kept, nothing lost.
    for n in 0..100u32 {
        driver.send(conn, MessageKind::Text, n.to_string().into_bytes());
    }
    for n in 0..100u32 {
        assert_eq!(
            next_message(&mut driver),
            (MessageKind::Text, n.to_string().into_bytes())
        );
    }
    driver.close(conn, 1000, "done");
    let reason = wait_for(&mut driver, |event| match event {
        EngineEvent::Disconnected { reason, .. } => Some(format!("{reason:?}")),
        _ => None,
    });
    assert!(
        reason.contains("code: Some(1000)") && reason.contains("by_peer: false"),
        "{reason}"
    );
    wait_for(&mut driver, |event| {
        matches!(event, EngineEvent::Closed { conn: c } if *c == conn).then_some(())
    });
    let after = driver.shutdown();
    assert!(
        matches!(after.last(), Some(EngineEvent::Stopped)),
        "{after:?}"
    );
}

fn server_close_then_reconnect(mut driver: impl Driver) {
    let server = TestServer::start(None, vec![Script::CloseAfterHandshake(4001), Script::Echo]);
    let conn = driver.connect(config(&server, None));
    let reason = wait_for(&mut driver, |event| match event {
        EngineEvent::Disconnected {
            reason: Disconnect::Closed { code, by_peer, .. },
            ..
        } => Some((*code, *by_peer)),
        _ => None,
    });
    assert_eq!(reason, (Some(4001), true));
    wait_for(&mut driver, |event| {
        matches!(event, EngineEvent::Reconnecting { attempt: 1, .. }).then_some(())
    });
    assert_eq!(connected(&mut driver, conn), 1);
    driver.send(conn, MessageKind::Text, b"after".to_vec());
    assert_eq!(
        next_message(&mut driver),
        (MessageKind::Text, b"after".to_vec())
    );
    driver.shutdown();
}

/// Data and the end of the connection arrive together: the message is
/// delivered and the drop is seen (a short read that took the data must
/// not leave the end unread: no later readiness edge would come for it).
fn data_then_drop_is_seen(mut driver: impl Driver) {
    let server = TestServer::start(
        None,
        vec![
            Script::SendThenDrop(vec!["last words".into(), "and more".into()]),
            Script::Silent,
        ],
    );
    driver.connect(config(&server, None));
    let mut messages = Vec::new();
    wait_for(&mut driver, |event| match event {
        EngineEvent::Message { data, .. } => {
            messages.push(data.clone());
            None
        }
        EngineEvent::Disconnected { .. } => Some(()),
        _ => None,
    });
    assert_eq!(messages, [b"last words".to_vec(), b"and more".to_vec()]);
    driver.shutdown();
}

fn watchdog(mut driver: impl Driver) {
    let server = TestServer::start(None, vec![Script::Silent]);
    let mut config = config(&server, None);
    config.ws.ping_interval = Some(Duration::from_millis(20));
    config.ws.pong_timeout = Duration::from_millis(500);
    config.data_timeout = Some(Duration::from_millis(200));
    config.reconnect.enabled = false;
    let conn = driver.connect(config);
    connected(&mut driver, conn);
    let reason = wait_for(&mut driver, |event| match event {
        EngineEvent::Disconnected { reason, .. } => Some(format!("{reason:?}")),
        _ => None,
    });
    assert!(reason.contains("DataTimeout"), "{reason}");
    wait_for(&mut driver, |event| {
        matches!(event, EngineEvent::Closed { .. }).then_some(())
    });
    driver.shutdown();
}

fn shutdown_closes_politely(mut driver: impl Driver) {
    let server = TestServer::start(None, vec![Script::Echo]);
    let conn = driver.connect(config(&server, None));
    connected(&mut driver, conn);
    let events = driver.shutdown();
    let text = format!("{events:?}");
    assert!(text.contains("code: Some(1001)"), "closed politely: {text}");
    assert!(
        matches!(events.last(), Some(EngineEvent::Stopped)),
        "{text}"
    );
}

#[test]
fn echo_over_ws_threaded() {
    echo(threaded(), false);
}

#[test]
fn echo_over_ws_inline() {
    echo(inline(), false);
}

#[test]
fn echo_over_wss_threaded() {
    echo(threaded(), true);
}

#[test]
fn echo_over_wss_inline() {
    echo(inline(), true);
}

#[test]
fn a_server_close_is_followed_by_a_reconnect_threaded() {
    server_close_then_reconnect(threaded());
}

#[test]
fn a_server_close_is_followed_by_a_reconnect_inline() {
    server_close_then_reconnect(inline());
}

#[test]
fn data_then_drop_is_seen_threaded() {
    data_then_drop_is_seen(threaded());
}

#[test]
fn data_then_drop_is_seen_inline() {
    data_then_drop_is_seen(inline());
}

#[test]
fn the_data_watchdog_fires_threaded() {
    watchdog(threaded());
}

#[test]
fn the_data_watchdog_fires_inline() {
    watchdog(inline());
}

#[test]
fn shutdown_closes_politely_threaded() {
    shutdown_closes_politely(threaded());
}

#[test]
fn shutdown_closes_politely_inline() {
    shutdown_closes_politely(inline());
}

/// Inline: a send reaches the socket before `send` returns, with no turn
/// of the loop in between (no queue hop): the echo is the next thing the
/// loop reads.
#[test]
fn an_inline_send_is_written_before_it_returns() {
    let server = TestServer::start(None, vec![Script::Echo]);
    let mut engine = inline();
    let conn = Driver::connect(&mut engine, config(&server, None));
    connected(&mut engine, conn);
    engine.send_text(conn, "now");
    // Nothing was queued for a later turn: no event is waiting, and the
    // next event the loop produces is the echo itself.
    assert_eq!(engine.pending(), 0);
    assert_eq!(
        next_message(&mut engine),
        (MessageKind::Text, b"now".to_vec())
    );
    Driver::shutdown(&mut engine);
}
