//! Reconnect timing: exponential backoff with full jitter, and a cap on
//! connection attempts per window.
//!
//! Full jitter (a uniform delay in `[0, min(cap, base * 2^attempt)]`) keeps a
//! fleet of clients that lost the same venue from reconnecting in lock step.
//! The window limit exists because venues ban addresses that reconnect too
//! fast (Kraken: 150 attempts per 10 minutes; Binance: 300 per 5 minutes), so
//! it holds even when the backoff alone would allow an attempt.

use std::collections::VecDeque;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// The least wait after a handshake the venue refused: the venue's own
/// figure when its answer carries one (`Retry-After`, which Binance sends
/// with 429 and 418 and our Upbit mock with its 418 block time), and never
/// less than the floor for its status: 429 (too many requests) a second,
/// 418 (a ban for carrying on after a 429) a minute. A client that retried
/// on its usual backoff, or before the block ends, would only deepen the
/// refusal: Upbit's blocks grow with each repeat.
pub fn refusal_floor(reason: &crate::Disconnect) -> Option<Duration> {
    use orderwire_protocol::ws::{HandshakeError, WsError};
    match reason {
        crate::Disconnect::Failed(crate::ConnError::Ws(WsError::Handshake(
            HandshakeError::Status {
                status,
                retry_after,
                ..
            },
        ))) => {
            let floor = match status {
                429 => Some(Duration::from_secs(1)),
                418 => Some(Duration::from_secs(60)),
                _ => None,
            };
            match (floor, *retry_after) {
                (Some(floor), Some(asked)) => Some(floor.max(asked)),
                (floor, asked) => floor.or(asked),
            }
        }
        _ => None,
    }
}

/// How a connection retries after it drops or fails to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Reconnect at all.
    pub enabled: bool,
    /// The delay bound of the first retry.
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
    /// Give up after this many consecutive failed attempts (`None`: never).
    pub max_attempts: Option<u32>,
    /// At most `attempts_per_window.0` attempts in any `attempts_per_window.1`.
    pub attempts_per_window: (u32, Duration),
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            enabled: true,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(30),
            max_attempts: None,
            // Kraken's limit, the stricter of the two documented ones.
            attempts_per_window: (150, Duration::from_secs(600)),
        }
    }
}

/// The retry state of one connection.
#[derive(Debug)]
pub struct Backoff {
    policy: ReconnectPolicy,
    /// Consecutive failures since the last successful open.
    failures: u32,
    /// Start times (ns) of recent attempts, oldest first.
    recent_attempts: VecDeque<u64>,
    rng: ChaCha8Rng,
}

impl Backoff {
    /// `seed` makes the jitter reproducible in tests.
    pub fn new(policy: ReconnectPolicy, seed: u64) -> Backoff {
        let capacity = policy.attempts_per_window.0 as usize;
        Backoff {
            policy,
            failures: 0,
            recent_attempts: VecDeque::with_capacity(capacity.min(1024)),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Records that an attempt starts at `now_ns`.
    pub fn attempt_started(&mut self, now_ns: u64) {
        let window = crate::clock::nanos(self.policy.attempts_per_window.1);
        while self
            .recent_attempts
            .front()
            .is_some_and(|&t| now_ns.saturating_sub(t) >= window)
        {
            self.recent_attempts.pop_front();
        }
        self.recent_attempts.push_back(now_ns);
    }

    /// The connection opened: the next failure starts from the base again.
    pub fn opened(&mut self) {
        self.failures = 0;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// After a failure at `now_ns`: when to try again, or `None` to give up.
    /// Returns the attempt number (1-based) and the absolute time.
    pub fn next_attempt(&mut self, now_ns: u64) -> Option<(u32, u64)> {
        if !self.policy.enabled {
            return None;
        }
        self.failures = self.failures.saturating_add(1);
        if self
            .policy
            .max_attempts
            .is_some_and(|max| self.failures > max)
        {
            return None;
        }
        let exponent = (self.failures - 1).min(40);
        let ceiling = self
            .policy
            .base
            .as_nanos()
            .saturating_mul(1u128 << exponent)
            .min(self.policy.cap.as_nanos());
        let ceiling = u64::try_from(ceiling).unwrap_or(u64::MAX);
        let jitter = if ceiling == 0 {
            0
        } else {
            self.rng.next_u64() % (ceiling + 1)
        };
        let by_backoff = now_ns + jitter;
        Some((self.failures, by_backoff.max(self.window_allows_at(now_ns))))
    }

    /// The earliest time the attempt window allows another attempt.
    fn window_allows_at(&self, now_ns: u64) -> u64 {
        let (limit, window) = self.policy.attempts_per_window;
        let window = crate::clock::nanos(window);
        let limit = limit.max(1) as usize;
        let mut in_window = self
            .recent_attempts
            .iter()
            .filter(|&&t| now_ns.saturating_sub(t) < window);
        let count = in_window.clone().count();
        if count < limit {
            return now_ns;
        }
        // The attempt that must leave the window before another may start.
        in_window.nth(count - limit).map_or(now_ns, |&t| t + window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn policy() -> ReconnectPolicy {
        ReconnectPolicy {
            enabled: true,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            max_attempts: Some(8),
            attempts_per_window: (1000, Duration::from_secs(60)),
        }
    }

    #[test]
    fn delays_stay_under_the_exponential_ceiling_and_the_cap() {
        let mut backoff = Backoff::new(policy(), 7);
        for attempt in 1..=8u32 {
            let (n, at) = backoff.next_attempt(0).expect("under max_attempts");
            assert_eq!(n, attempt);
            let ceiling = ((100 * MS) << (attempt - 1)).min(2000 * MS);
            assert!(at <= ceiling, "attempt {attempt}: {at} > {ceiling}");
        }
        assert_eq!(backoff.next_attempt(0), None, "max_attempts reached");
    }

    #[test]
    fn jitter_is_spread_and_reproducible() {
        let delays = |seed| {
            let mut backoff = Backoff::new(
                ReconnectPolicy {
                    max_attempts: None,
                    ..policy()
                },
                seed,
            );
            (0..50)
                .map(|_| backoff.next_attempt(0).map(|(_, at)| at))
                .collect::<Vec<_>>()
        };
        assert_eq!(delays(1), delays(1));
        let capped: Vec<u64> = delays(1).into_iter().skip(10).flatten().collect();
        let (min, max) = (capped.iter().min(), capped.iter().max());
        assert!(
            min < Some(&(500 * MS)) && max > Some(&(1500 * MS)),
            "full jitter covers [0, cap]: {min:?}..{max:?}"
        );
    }

    #[test]
    fn success_resets_the_exponent() {
        let mut backoff = Backoff::new(policy(), 3);
        for _ in 0..5 {
            backoff.next_attempt(0);
        }
        backoff.opened();
        let (n, at) = backoff.next_attempt(0).expect("reset");
        assert_eq!(n, 1);
        assert!(at <= 100 * MS);
    }

    #[test]
    fn the_window_limit_holds_even_when_backoff_allows() {
        let mut backoff = Backoff::new(
            ReconnectPolicy {
                base: Duration::ZERO,
                max_attempts: None,
                attempts_per_window: (3, Duration::from_secs(10)),
                ..policy()
            },
            0,
        );
        let second = 1_000 * MS;
        for t in [0, second, 2 * second] {
            backoff.attempt_started(t);
        }
        // Three attempts in the last 10 s: the fourth waits until the first
        // leaves the window.
        let (_, at) = backoff.next_attempt(3 * second).expect("enabled");
        assert_eq!(at, 10 * second);
        backoff.attempt_started(at);
        let (_, at) = backoff.next_attempt(at).expect("enabled");
        assert_eq!(at, 11 * second);
    }

    #[test]
    fn disabled_policy_never_retries() {
        let mut backoff = Backoff::new(
            ReconnectPolicy {
                enabled: false,
                ..policy()
            },
            0,
        );
        assert_eq!(backoff.next_attempt(0), None);
    }

    #[test]
    fn a_refused_handshake_sets_a_floor_by_its_status() {
        use orderwire_protocol::ws::{HandshakeError, WsError};
        let refused_after = |status, retry_after| {
            crate::Disconnect::Failed(crate::ConnError::Ws(WsError::Handshake(
                HandshakeError::Status {
                    status,
                    body: String::new(),
                    retry_after,
                },
            )))
        };
        let refused = |status| refused_after(status, None);
        let secs = Duration::from_secs;
        assert_eq!(refusal_floor(&refused(429)), Some(secs(1)));
        assert_eq!(refusal_floor(&refused(418)), Some(secs(60)));
        assert_eq!(refusal_floor(&refused(401)), None);
        // The venue's figure wins when longer; the floor stays the least.
        assert_eq!(
            refusal_floor(&refused_after(418, Some(secs(300)))),
            Some(secs(300))
        );
        assert_eq!(
            refusal_floor(&refused_after(418, Some(secs(5)))),
            Some(secs(60))
        );
        assert_eq!(
            refusal_floor(&refused_after(503, Some(secs(30)))),
            Some(secs(30))
        );
        assert_eq!(
            refusal_floor(&crate::Disconnect::Failed(crate::ConnError::Eof)),
            None
        );
    }
}
