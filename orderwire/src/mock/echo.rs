//! A bare WebSocket echo server over TLS on loopback: `orderwire bench
//! --workload echo`'s embedded peer. Every text message comes back as it
//! came, through the same socket driver, readiness wait and shaped timing
//! ([`super::MockTiming`]) as every venue's mock, so an echo run measures
//! the engine's round trip and nothing of a venue.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use orderwire_protocol::time::Instant;

use super::listener::Listening;
use super::live::Live;
use super::session::{MockSession, Output};

/// One connection: each text message back, unchanged.
#[derive(Debug, Default)]
pub struct EchoSession {
    out: VecDeque<Output>,
}

impl MockSession for EchoSession {
    fn handle_text(&mut self, _now: Instant, text: &str) {
        self.out.push_back(Output::Text(text.to_owned()));
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_ended(&self) -> bool {
        false
    }
}

struct Shared {
    stop: AtomicBool,
    live: Arc<Live>,
    origin: std::time::Instant,
}

impl Shared {
    fn now(&self) -> Instant {
        Instant(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

/// The running echo server.
pub struct MockEcho {
    listening: Listening,
    shared: Arc<Shared>,
}

impl MockEcho {
    /// Listens on a free loopback port, its answers shaped by `timing`.
    pub fn start(timing: &super::MockTiming) -> std::io::Result<MockEcho> {
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            live: Live::new(timing),
            origin: std::time::Instant::now(),
        });
        let (running, serving) = (shared.clone(), shared.clone());
        let listening = Listening::start(
            "mock-echo",
            &shared.live,
            move || !running.stop.load(Ordering::Relaxed),
            || {},
            move |stream, _id| {
                super::socket::serve_plain(
                    stream,
                    &serving.stop,
                    &serving.live,
                    || serving.now(),
                    |_| EchoSession::default(),
                );
            },
        )?;
        Ok(MockEcho { listening, shared })
    }

    /// `wss://localhost:<port>/echo`.
    pub fn url(&self) -> String {
        self.listening.url("/echo")
    }

    /// The CA its certificate chains to.
    pub fn ca_file(&self) -> PathBuf {
        self.listening.ca_file()
    }
}

impl Drop for MockEcho {
    fn drop(&mut self) {
        self.listening.stop(&self.shared.stop);
    }
}
