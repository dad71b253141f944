//! What makes a socket mock behave like a live venue, for every mock alike:
//!
//! - its latency, shaped ([`MockTiming`]): a delay with jitter on every
//!   message it sends, and stalls (`200ms every 5s`) during which it answers
//!   nothing, so that `orderwire bench` can be checked against a venue whose
//!   latency is known;
//! - readiness: each connection's thread sleeps in `mio::Poll` until its
//!   socket is readable, its session's next timer or held message is due,
//!   or another thread changed what the session serves (`Wakers`), so an
//!   unshaped mock answers within microseconds instead of at the next poll.

use std::collections::VecDeque;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use orderwire_protocol::time::Instant;
use parking_lot::Mutex;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::session::Output;

/// How a mock's answers are delayed. The default answers at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MockTiming {
    /// Added to every message the mock sends.
    pub delay: Duration,
    /// Up to this much more, uniformly drawn per message from `seed`.
    pub jitter: Duration,
    /// Periodic stalls: nothing is sent while one lasts.
    pub stall: Option<Stall>,
    /// The jitter's seed: the same seed draws the same delays.
    pub seed: u64,
}

/// A stall of `length` every `every` on the mock's clock: the first starts
/// one period after the mock started, and every connection stalls at once,
/// as a venue's matching engine does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stall {
    /// How long each stall lasts.
    pub length: Duration,
    /// How often one starts.
    pub every: Duration,
}

impl Stall {
    /// When a message due at `at` (mock clock) can go: `at`, or the end of
    /// the stall it falls in.
    fn release(&self, at: Instant) -> Instant {
        let every = u64::try_from(self.every.as_nanos()).unwrap_or(u64::MAX);
        let length = u64::try_from(self.length.as_nanos()).unwrap_or(u64::MAX);
        if every == 0 || at.0 < every {
            return at;
        }
        let phase = at.0 % every;
        if phase < length {
            Instant(at.0 - phase + length)
        } else {
            at
        }
    }
}

impl std::str::FromStr for Stall {
    type Err = String;

    /// `200ms every 5s`.
    fn from_str(text: &str) -> Result<Stall, String> {
        let wrong = || format!("{text:?}: a stall reads like `200ms every 5s`");
        let (length, every) = text.split_once(" every ").ok_or_else(wrong)?;
        let stall = Stall {
            length: parse_duration(length.trim())?,
            every: parse_duration(every.trim())?,
        };
        if stall.every.is_zero() || stall.length >= stall.every {
            return Err(format!("{text:?}: a stall must be shorter than its period"));
        }
        Ok(stall)
    }
}

/// `50us`, `1.5ms`, `200ms`, `5s`, `2m`: a number and a unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_ns: u64 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        _ => {
            return Err(format!(
                "{text:?}: a duration is a number and ns, us, ms, s or m"
            ));
        }
    };
    // Exact: whole and fractional digits as integers, no float.
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let bad = || format!("{text:?}: not a duration");
    if whole.is_empty() && fraction.is_empty() {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut ns = whole.checked_mul(unit_ns).ok_or_else(bad)?;
    let mut scale = unit_ns;
    for digit in fraction.chars() {
        let digit = u64::from(digit.to_digit(10).ok_or_else(bad)?);
        scale /= 10;
        ns = ns.checked_add(digit * scale).ok_or_else(bad)?;
    }
    Ok(Duration::from_nanos(ns))
}

/// One connection's outgoing messages, each held until its shaped time. A
/// connection never reorders: a message goes no earlier than the one before.
pub(crate) struct Shaper {
    timing: MockTiming,
    rng: ChaCha8Rng,
    held: VecDeque<(Instant, Output)>,
    last: Instant,
}

impl Shaper {
    /// For connection `id` (its own jitter stream from the mock's seed).
    pub(crate) fn new(timing: &MockTiming, id: u64) -> Shaper {
        Shaper {
            rng: ChaCha8Rng::seed_from_u64(timing.seed ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            timing: timing.clone(),
            held: VecDeque::new(),
            last: Instant(0),
        }
    }

    /// Whether it changes anything (an unshaped mock skips the queue).
    pub(crate) fn shapes(&self) -> bool {
        !(self.timing.delay.is_zero() && self.timing.jitter.is_zero())
            || self.timing.stall.is_some()
    }

    /// Holds `output`, made at `now`, until its time.
    pub(crate) fn hold(&mut self, now: Instant, output: Output) {
        let jitter = u64::try_from(self.timing.jitter.as_nanos()).unwrap_or(u64::MAX);
        let extra = if jitter == 0 {
            0
        } else {
            self.rng.next_u64() % (jitter + 1)
        };
        let delay = u64::try_from(self.timing.delay.as_nanos()).unwrap_or(u64::MAX / 4);
        let mut at = Instant(now.0.saturating_add(delay).saturating_add(extra));
        if let Some(stall) = &self.timing.stall {
            at = stall.release(at);
        }
        at = at.max(self.last);
        self.last = at;
        self.held.push_back((at, output));
    }

    /// The next output whose time has come.
    pub(crate) fn release(&mut self, now: Instant) -> Option<Output> {
        if self.held.front().is_some_and(|(at, _)| *at <= now) {
            return self.held.pop_front().map(|(_, output)| output);
        }
        None
    }

    /// When the next held output is due.
    pub(crate) fn next_release(&self) -> Option<Instant> {
        self.held.front().map(|(at, _)| *at)
    }
}

/// The connections of one mock that sleep in [`Readiness::wait`]: waking
/// them all makes each look at the shared state again (a trade another
/// connection made, a test hook, the order flow, a stop).
#[derive(Default)]
pub(crate) struct Wakers {
    list: Mutex<Vec<(u64, Arc<Waker>)>>,
    next: std::sync::atomic::AtomicU64,
}

impl Wakers {
    /// Wakes every registered connection.
    pub(crate) fn wake_all(&self) {
        for (_, waker) in self.list.lock().iter() {
            // A failed wake (the poll is gone) leaves nobody asleep.
            let _ = waker.wake();
        }
    }

    fn wake_others(&self, me: u64) {
        for (id, waker) in self.list.lock().iter() {
            if *id != me {
                let _ = waker.wake();
            }
        }
    }

    fn add(&self, waker: Arc<Waker>) -> u64 {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.list.lock().push((id, waker));
        id
    }

    fn remove(&self, id: u64) {
        self.list.lock().retain(|(n, _)| *n != id);
    }
}

/// A mock's live behaviour: its timing and its sleeping connections.
pub(crate) struct Live {
    pub(crate) timing: MockTiming,
    pub(crate) wakers: Wakers,
}

impl Live {
    pub(crate) fn new(timing: &MockTiming) -> Arc<Live> {
        Arc::new(Live {
            timing: timing.clone(),
            wakers: Wakers::default(),
        })
    }

    /// Wakes every connection (see [`Wakers`]).
    pub(crate) fn wake_all(&self) {
        self.wakers.wake_all();
    }

    /// Wakes every connection but `id` (the one that changed something).
    pub(crate) fn wake_others(&self, id: u64) {
        self.wakers.wake_others(id);
    }
}

const SOCKET: Token = Token(0);
const WAKE: Token = Token(1);

/// One connection's wait: its socket (non-blocking for reads from here on)
/// and its waker, registered with the mock until dropped.
pub(crate) struct Readiness {
    poll: Poll,
    events: Events,
    live: Arc<Live>,
    waker_id: u64,
}

impl Readiness {
    /// Registers `tcp` (readable) and a waker; the socket becomes
    /// non-blocking, and [`blocking`] writes on it.
    pub(crate) fn new(tcp: &TcpStream, live: &Arc<Live>) -> std::io::Result<Readiness> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut SourceFd(&tcp.as_raw_fd()), SOCKET, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        tcp.set_nonblocking(true)?;
        let waker_id = live.wakers.add(waker);
        Ok(Readiness {
            poll,
            events: Events::with_capacity(4),
            live: live.clone(),
            waker_id,
        })
    }

    /// The connection's number among the mock's (for its jitter stream,
    /// and to wake the others).
    pub(crate) fn id(&self) -> u64 {
        self.waker_id
    }

    /// Sleeps until the socket is readable, a wake, or `timeout`.
    /// Readiness is edge-triggered: the caller reads until `WouldBlock`
    /// before it waits again.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) {
        // An interrupted or failed poll returns early; the loop looks again.
        let _ = self.poll.poll(&mut self.events, timeout);
    }
}

impl Drop for Readiness {
    fn drop(&mut self) {
        self.live.wakers.remove(self.waker_id);
    }
}

/// Runs `write` with `tcp` blocking, so a frame is written whole as the
/// mocks always wrote, then makes it non-blocking again for reads.
pub(crate) fn blocking<T>(tcp: &TcpStream, write: impl FnOnce() -> T) -> T {
    let _ = tcp.set_nonblocking(false);
    let result = write();
    let _ = tcp.set_nonblocking(true);
    result
}

/// How long to sleep before `next` (mock clock), from `now`, at most
/// `cap`: a missed wake costs at most that.
fn until(now: Instant, next: Option<Instant>, cap: Duration) -> Duration {
    match next {
        Some(at) => Duration::from_nanos(at.0.saturating_sub(now.0)).min(cap),
        None => cap,
    }
}

impl Readiness {
    /// Sleeps until the session's next timer (`timer`), the next held
    /// message (`held`), readiness or a wake, at most `cap`. mio waits in
    /// whole milliseconds and rounds a shorter wait up, which would hold a
    /// shaped message (`--mock-delay 50us`) a millisecond: when a held
    /// message is next, the poll sleeps only its whole milliseconds and the
    /// thread the rest. (A session timer a little late is harmless, and
    /// sleeping the thread would delay reads, so timers keep the poll.)
    pub(crate) fn pause(
        &mut self,
        now: Instant,
        timer: Option<Instant>,
        held: Option<Instant>,
        cap: Duration,
    ) {
        match held.filter(|h| timer.is_none_or(|t| *h <= t)) {
            Some(held) => {
                let left = until(now, Some(held), cap);
                if left >= Duration::from_millis(1) {
                    let whole = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
                    self.wait(Some(Duration::from_millis(whole)));
                } else if !left.is_zero() {
                    std::thread::sleep(left);
                }
            }
            None => self.wait(Some(until(now, timer, cap))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_exactly() {
        assert_eq!(parse_duration("50us"), Ok(Duration::from_micros(50)));
        assert_eq!(parse_duration("1.5ms"), Ok(Duration::from_micros(1_500)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration(".25s"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("1.x5s").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn a_stall_holds_what_falls_in_it_until_it_ends() {
        let stall: Stall = "200ms every 5s".parse().expect("a stall");
        let ms = |n: u64| Instant(n * 1_000_000);
        assert_eq!(stall.release(ms(4_999)), ms(4_999));
        assert_eq!(stall.release(ms(5_000)), ms(5_200));
        assert_eq!(stall.release(ms(5_150)), ms(5_200));
        assert_eq!(stall.release(ms(5_200)), ms(5_200));
        assert_eq!(stall.release(ms(10_100)), ms(10_200));
        // Before the first period there is none.
        assert_eq!(stall.release(ms(100)), ms(100));
        assert!("5s every 5s".parse::<Stall>().is_err());
        assert!("200ms each 5s".parse::<Stall>().is_err());
    }

    #[test]
    fn the_shaper_delays_in_order_with_seeded_jitter() {
        let timing = MockTiming {
            delay: Duration::from_micros(50),
            jitter: Duration::from_micros(20),
            stall: None,
            seed: 7,
        };
        let draw = || {
            let mut shaper = Shaper::new(&timing, 1);
            let mut released = Vec::new();
            for n in 0..100u64 {
                shaper.hold(Instant(n * 1_000), Output::Text(n.to_string()));
            }
            while let Some(at) = shaper.next_release() {
                assert!(shaper.release(Instant(at.0 - 1)).is_none() || at.0 == 0);
                released.push(at);
                assert!(shaper.release(at).is_some());
            }
            released
        };
        let first = draw();
        assert_eq!(first, draw(), "the same seed draws the same delays");
        assert_eq!(first.len(), 100);
        for (n, at) in first.iter().enumerate() {
            let made = n as u64 * 1_000;
            assert!(at.0 >= made + 50_000, "{n}: {at:?}");
            assert!(at.0 <= made + 70_000 || at.0 <= first[n.saturating_sub(1)].0 + 70_000);
        }
        assert!(first.windows(2).all(|w| w[0] <= w[1]), "never reordered");
        assert!(
            first.windows(2).any(|w| w[1].0 - w[0].0 != 1_000),
            "jitter varies the gaps"
        );
    }
}
