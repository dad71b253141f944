//! `--workload echo`: round trips of a `--size`-byte text message over
//! bare WebSocket connections on the engine (no venue, no gateway): the
//! embedded echo server, or any echo endpoint at `--url`. Each message
//! carries its sequence number in its first 16 bytes (hex), so a reply is
//! matched to its request on any connection, in any order.

use std::time::Duration;

use orderwire_engine::{
    ConnId, ConnectionConfig, Engine, EngineEvent, InlineEngine, ReconnectPolicy,
};
use orderwire_protocol::ws::MessageKind;

use super::pacer::Pacer;
use super::report::MethodStats;
use super::{BenchOptions, Measure, Mode, Progress};

/// Requests in flight are remembered in a ring this big (a power of two);
/// one still unanswered when the ring comes round is counted a timeout.
const RING: usize = 1 << 20;

/// The engine under test, threaded or inline.
enum Driver {
    Threaded(Engine),
    Inline(Box<InlineEngine>),
}

impl Driver {
    fn connect(&mut self, config: ConnectionConfig) -> Result<ConnId, String> {
        match self {
            Driver::Threaded(e) => e.connect(config).map_err(|e| e.to_string()),
            Driver::Inline(e) => e.connect(config).map_err(|e| e.to_string()),
        }
    }

    fn send(&mut self, conn: ConnId, data: &[u8]) -> bool {
        match self {
            Driver::Threaded(e) => {
                let mut buffer = e.buffer();
                buffer.clear();
                buffer.extend_from_slice(data);
                e.send(conn, MessageKind::Text, buffer).is_ok()
            }
            Driver::Inline(e) => {
                let mut buffer = e.buffer();
                buffer.clear();
                buffer.extend_from_slice(data);
                e.send(conn, MessageKind::Text, buffer);
                true
            }
        }
    }

    /// The next event, waiting at most `timeout`.
    fn next(&mut self, timeout: Duration) -> Option<EngineEvent> {
        match self {
            Driver::Threaded(e) => e.events().recv_timeout(timeout).ok(),
            Driver::Inline(e) => {
                if let Some(event) = e.next_event() {
                    return Some(event);
                }
                // epoll waits in whole milliseconds (mio rounds a shorter
                // wait up), which would make every send up to a
                // millisecond late: sleep only the whole milliseconds
                // before the deadline but one, and poll without waiting
                // in the last.
                let whole_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
                let wait = Duration::from_millis(whole_ms.saturating_sub(1));
                e.poll_once(Some(wait));
                e.next_event()
            }
        }
    }

    fn recycle(&mut self, buffer: Vec<u8>) {
        match self {
            Driver::Threaded(e) => e.recycle(buffer),
            Driver::Inline(e) => e.recycle(buffer),
        }
    }

    fn shutdown(&mut self) {
        match self {
            Driver::Threaded(e) => {
                e.shutdown(Duration::from_millis(500));
            }
            Driver::Inline(e) => e.shutdown(Duration::from_millis(500)),
        }
    }
}

/// Runs the echo workload against `url` (`tls`: the trust to use).
pub(super) fn run(
    options: &BenchOptions,
    url: &str,
    tls: Option<orderwire_engine::TlsConfig>,
    progress: &mut Progress,
) -> Result<Measure, String> {
    let clock = orderwire_engine::Clock::new();
    let mut driver = match options.mode {
        Mode::Threaded => Driver::Threaded(
            Engine::start(options.engine.clone()).map_err(|e| format!("engine: {e}"))?,
        ),
        Mode::Inline => Driver::Inline(Box::new(
            InlineEngine::new(options.engine.clone()).map_err(|e| format!("engine: {e}"))?,
        )),
    };
    let mut conns = Vec::new();
    for _ in 0..options.connections.max(1) {
        let mut config = ConnectionConfig::new(url);
        config.tls = tls.clone();
        config.reconnect = ReconnectPolicy {
            enabled: false,
            ..ReconnectPolicy::default()
        };
        conns.push(driver.connect(config)?);
    }
    // Every connection up before the clock starts.
    let mut connected = 0;
    let deadline = clock.now_ns() + 10_000_000_000;
    while connected < conns.len() {
        match driver.next(Duration::from_millis(50)) {
            Some(EngineEvent::Connected { .. }) => connected += 1,
            Some(EngineEvent::Disconnected { reason, .. }) => {
                driver.shutdown();
                return Err(format!("echo: {url}: {reason:?}"));
            }
            Some(EngineEvent::Message { data, .. }) => driver.recycle(data),
            _ => {}
        }
        if clock.now_ns() > deadline {
            driver.shutdown();
            return Err(format!("echo: {url}: not connected within 10 s"));
        }
    }
    let size = options.size.max(16);
    let mut message = vec![b'x'; size];
    let mut intended = vec![u64::MAX; RING];
    let mut stats = MethodStats::new("echo");
    let start = clock.now_ns();
    let warmup_end = start + super::nanos(options.warmup);
    let end = warmup_end + super::nanos(options.duration);
    let timeout = super::nanos(options.timeout);
    let mut pacer = Pacer::new(options.pacing, start, conns.len());
    let mut seq: u64 = 0;
    let mut measuring = false;
    let mut sent_measured = 0u64;
    let mut oldest_open: u64 = 0;
    loop {
        let now = clock.now_ns();
        if !measuring && now >= warmup_end {
            measuring = true;
            stats.reset();
            sent_measured = 0;
            progress.measuring();
        }
        // Past the end nothing more is sent; what is in flight has its
        // timeout to come back.
        let sending = now < end;
        if !sending && (pacer.in_flight() == 0 || now >= end.saturating_add(timeout)) {
            break;
        }
        // What is due as of `now`, and at most a burst of it per pass, so
        // that replies are read even when sends fall behind the rate.
        let mut burst = 0;
        while let Some(from) = (sending && burst < super::MAX_BURST)
            .then(|| pacer.take(now))
            .flatten()
        {
            burst += 1;
            let slot = usize::try_from(seq).unwrap_or(0) & (RING - 1);
            if intended[slot] != u64::MAX {
                // The ring came round on a request never answered.
                stats.timeouts += u64::from(intended[slot] >= warmup_end);
                pacer.ended();
            }
            intended[slot] = from;
            write_seq(&mut message, seq);
            let conn = conns[usize::try_from(seq).unwrap_or(0) % conns.len()];
            if !driver.send(conn, &message) {
                stats.errors += 1;
                intended[slot] = u64::MAX;
                pacer.ended();
            }
            seq += 1;
            sent_measured += u64::from(from >= warmup_end);
        }
        // Requests older than the timeout are given up on.
        while oldest_open < seq {
            let slot = usize::try_from(oldest_open).unwrap_or(0) & (RING - 1);
            let from = intended[slot];
            if from == u64::MAX {
                oldest_open += 1;
                continue;
            }
            if clock.now_ns().saturating_sub(from) <= timeout {
                break;
            }
            intended[slot] = u64::MAX;
            stats.timeouts += u64::from(from >= warmup_end);
            pacer.ended();
            oldest_open += 1;
        }
        // Wake for the next send, or at least every 10 ms (the timeout sweep).
        let now = clock.now_ns();
        // Past the end, only replies (or a timeout) are awaited.
        let wait = sending
            .then(|| pacer.wake_at(now))
            .flatten()
            .map_or(Duration::from_millis(10), |at| {
                Duration::from_nanos(at - now)
            })
            .min(Duration::from_millis(10));
        if let Some(event) = driver.next(wait) {
            match event {
                EngineEvent::Message { data, .. } => {
                    let at = clock.now_ns();
                    if let Some(n) = read_seq(&data) {
                        let slot = usize::try_from(n).unwrap_or(0) & (RING - 1);
                        let from = intended[slot];
                        if from != u64::MAX {
                            intended[slot] = u64::MAX;
                            // Only what was sent after the warmup counts.
                            if from >= warmup_end {
                                stats.record(at.saturating_sub(from));
                            }
                            pacer.ended();
                            progress.record(at.saturating_sub(from));
                        }
                    }
                    driver.recycle(data);
                }
                EngineEvent::Disconnected { reason, .. } => {
                    driver.shutdown();
                    return Err(format!("echo: the connection went down: {reason:?}"));
                }
                _ => {}
            }
        }
        progress.tick(clock.now_ns(), sent_measured);
    }
    // What never came back counts as timed out.
    stats.timeouts += intended
        .iter()
        .filter(|t| **t != u64::MAX && **t >= warmup_end)
        .count() as u64;
    driver.shutdown();
    Ok(Measure {
        stats: vec![stats],
        sent: sent_measured,
        messages: 0,
        measured: Duration::from_nanos(end.saturating_sub(warmup_end)),
    })
}

/// The sequence number as 16 hex digits at the start of the message.
fn write_seq(message: &mut [u8], seq: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in message.iter_mut().take(16).enumerate() {
        *byte = HEX[usize::try_from((seq >> ((15 - i) * 4)) & 0xf).unwrap_or(0)];
    }
}

/// The sequence number a reply carries, if it is one of ours.
fn read_seq(message: &[u8]) -> Option<u64> {
    let digits = std::str::from_utf8(message.get(..16)?).ok()?;
    u64::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequence_number_goes_and_comes_back() {
        let mut message = vec![b'x'; 64];
        for seq in [0, 1, 0xdead_beef, u64::MAX - 1] {
            write_seq(&mut message, seq);
            assert_eq!(read_seq(&message), Some(seq));
            assert!(message[16..].iter().all(|b| *b == b'x'));
        }
        assert_eq!(read_seq(b"not ours"), None);
        assert_eq!(read_seq(b"zzzzzzzzzzzzzzzzzz"), None);
    }
}
