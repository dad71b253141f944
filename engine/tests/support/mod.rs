//! Helpers for the engine's tests: the shared fixtures, and waiting for
//! engine events.
#![allow(dead_code)]

use std::io;
use std::time::Duration;

use orderwire_engine::{Engine, EngineEvent};

#[allow(unused_imports)]
pub(crate) use orderwire_testkit::server::{Script, TestServer};
#[allow(unused_imports)]
pub(crate) use orderwire_testkit::{PeerServer, TestPki};

/// Waits for the first event that `want` accepts, recycling message
/// buffers it skips; panics with the events seen if none comes in `within`.
#[expect(
    clippy::disallowed_methods,
    reason = "a bound on waiting for a real socket, not time in the logic under test"
)]
pub(crate) fn wait_for<T>(
    engine: &Engine,
    within: Duration,
    mut want: impl FnMut(&EngineEvent) -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match engine.events().recv_timeout(left) {
            Ok(event) => {
                if let Some(found) = want(&event) {
                    if let EngineEvent::Message { data, .. } = event {
                        engine.recycle(data);
                    }
                    return found;
                }
                seen.push(format!("{event:?}"));
                if let EngineEvent::Message { data, .. } = event {
                    engine.recycle(data);
                }
            }
            Err(_) => panic!("no matching event within {within:?}; saw: {seen:#?}"),
        }
    }
}

/// A connection to `server` (wss:// with `pki`'s CA, else ws://) that
/// reconnects quickly (20 ms base, 100 ms cap).
pub(crate) fn test_connection(
    server: &TestServer,
    pki: Option<&TestPki>,
) -> orderwire_engine::ConnectionConfig {
    use orderwire_engine::{ConnectionConfig, ReconnectPolicy, TlsConfig};
    let mut config = match pki {
        Some(pki) => {
            let mut c = ConnectionConfig::new(server.url("wss"));
            c.tls = Some(TlsConfig::with_extra_ca_file(&pki.ca_file).expect("CA file"));
            c
        }
        None => ConnectionConfig::new(server.url("ws")),
    };
    config.reconnect = ReconnectPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
        ..ReconnectPolicy::default()
    };
    config
}

/// How long a test waits for something that should take milliseconds.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

pub(crate) fn io_error_kind(error: &io::Error) -> io::ErrorKind {
    error.kind()
}
pub(crate) mod drive;
