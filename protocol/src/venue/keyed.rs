//! Replies found by a key the venue echoes instead of the request id
//! (`Correlation::ByKey`; KIS answers a subscription with its `tr_id` and
//! `tr_key`). A codec of such a venue records each request's key as it
//! encodes it and looks the key up when a reply names it, then puts the id
//! on the reply event: the gateway core matches by id from there, with the
//! same deadlines and the same refusal to guess. Two requests waiting on
//! one key (a subscribe and the unsubscribe of the same pair) are answered
//! in the order they were written, as the venue answers them.
//!
//! Fixed capacity, no allocation: when full, the oldest key is forgotten
//! (its request times out in the core, as an unanswered one would).

use arrayvec::{ArrayString, ArrayVec};

/// How many requests may wait on a key at once.
pub const REPLY_KEYS: usize = 64;

/// A reply key: the venue's words, up to 64 bytes (KIS `H0STCNT0|005930`).
pub type ReplyKey = ArrayString<64>;

/// Request ids by the key their reply will name, oldest first.
#[derive(Clone, Debug, Default)]
pub struct ReplyKeys {
    waiting: ArrayVec<(ReplyKey, u64), REPLY_KEYS>,
}

impl ReplyKeys {
    /// Request `req_id` will be answered under `key`. A key longer than a
    /// [`ReplyKey`] cannot be matched (the venue's keys are far shorter):
    /// it is not kept, and its request waits for its deadline.
    pub fn insert(&mut self, key: &str, req_id: u64) {
        let Ok(kept) = ReplyKey::from(key) else {
            return;
        };
        if self.waiting.is_full() {
            self.waiting.remove(0);
        }
        self.waiting.push((kept, req_id));
    }

    /// The id of the oldest request waiting on `key`, no longer waiting.
    /// `None` for a key nothing waits on: never a guess.
    pub fn take(&mut self, key: &str) -> Option<u64> {
        let at = self
            .waiting
            .iter()
            .position(|(waiting, _)| waiting.as_str() == key)?;
        Some(self.waiting.remove(at).1)
    }

    /// Forgets every key (a new connection: nothing from the last one will
    /// be answered on it).
    pub fn clear(&mut self) {
        self.waiting.clear();
    }

    /// Requests waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_answers_its_oldest_request_and_an_unknown_key_answers_none() {
        let mut keys = ReplyKeys::default();
        keys.insert("H0STCNT0|005930", 1);
        keys.insert("H0STCNT0|000660", 2);
        keys.insert("H0STCNT0|005930", 3);
        assert_eq!(keys.take("H0STCNT0|000660"), Some(2));
        assert_eq!(keys.take("H0STCNT0|005930"), Some(1));
        assert_eq!(keys.take("H0STCNT0|005930"), Some(3));
        assert_eq!(keys.take("H0STCNT0|005930"), None);
        assert!(keys.is_empty());
    }

    #[test]
    fn when_full_the_oldest_is_forgotten() {
        let mut keys = ReplyKeys::default();
        for id in 0..=REPLY_KEYS as u64 {
            keys.insert(&format!("k{id}"), id);
        }
        assert_eq!(keys.len(), REPLY_KEYS);
        assert_eq!(keys.take("k0"), None);
        assert_eq!(keys.take("k1"), Some(1));
    }
}
