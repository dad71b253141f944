//! Liveness of each market-data subscription: one that was acknowledged and
//! then delivers nothing is reported, so a book that has stopped updating
//! is never mistaken for a quiet market.
//!
//! A watch per (channel, symbol) of every configured trade, ticker and book
//! subscription. It is armed when the venue acknowledges the subscription
//! (or when it is sent, on venues that acknowledge nothing), fed by every
//! data event of its channel and symbol, and checked by one periodic sweep:
//! a silent subscription is reported between one and two silence periods
//! after its last message, and once more when data resumes. The sweep is one
//! timer, so `poll_timeout` stays O(1); the per-message cost is one hash
//! lookup.

use std::collections::HashMap;
use std::time::Duration;

use orderwire_protocol::model::{Subscription, Symbol};
use orderwire_protocol::time::Instant;

use crate::subscriptions::SubscriptionSet;

/// A market-data channel a watch follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataChannel {
    /// Public trades.
    Trades,
    /// Tickers.
    Ticker,
    /// Order books.
    Book,
}

#[derive(Debug)]
struct Watch {
    channel: DataChannel,
    symbol: Symbol,
    /// The key of the subscription it belongs to.
    subscription: u32,
    armed: bool,
    last_data: Instant,
    silent: bool,
}

/// A change in a subscription's liveness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Liveness {
    Silent {
        channel: DataChannel,
        symbol: Symbol,
        since: Instant,
    },
    Resumed {
        channel: DataChannel,
        symbol: Symbol,
    },
}

/// Every watch of one connection's configured subscriptions.
#[derive(Debug)]
pub(super) struct Watchdog {
    silence: Option<Duration>,
    /// In configuration order, so reports come in the same order each run.
    watches: Vec<Watch>,
    index: HashMap<(DataChannel, Symbol), usize, foldhash::fast::FixedState>,
    next_sweep: Option<Instant>,
}

impl Watchdog {
    /// Watches for the subscriptions of `set`; `silence` None turns
    /// watching off.
    pub(super) fn new(set: &SubscriptionSet, silence: Option<Duration>) -> Watchdog {
        let mut watchdog = Watchdog {
            silence,
            watches: Vec::new(),
            index: HashMap::default(),
            next_sweep: None,
        };
        watchdog.rebuild(set);
        watchdog
    }

    /// Watches the subscriptions of `set` now (one was made or dropped at
    /// runtime). A watch that stays keeps its state: armed, last data,
    /// silent.
    pub(super) fn rebuild(&mut self, set: &SubscriptionSet) {
        if self.silence.is_none() {
            return;
        }
        let old = std::mem::take(&mut self.watches);
        self.index.clear();
        for (key, subscription) in set.iter() {
            let (channel, symbols) = match subscription {
                Subscription::Trades { symbols } => (DataChannel::Trades, symbols),
                Subscription::Ticker { symbols } => (DataChannel::Ticker, symbols),
                Subscription::Book { symbols, .. } => (DataChannel::Book, symbols),
                // Private streams have no regular traffic to expect.
                _ => continue,
            };
            for symbol in symbols {
                if self.index.contains_key(&(channel, *symbol)) {
                    continue;
                }
                let kept = old
                    .iter()
                    .find(|w| w.channel == channel && w.symbol == *symbol);
                self.index.insert((channel, *symbol), self.watches.len());
                self.watches.push(Watch {
                    channel,
                    symbol: *symbol,
                    subscription: key,
                    armed: kept.is_some_and(|w| w.armed),
                    last_data: kept.map_or(Instant::ZERO, |w| w.last_data),
                    silent: kept.is_some_and(|w| w.silent),
                });
            }
        }
    }

    /// The connection dropped: nothing is watched until the next
    /// acknowledgement.
    pub(super) fn disarm(&mut self) {
        for watch in &mut self.watches {
            watch.armed = false;
            watch.silent = false;
        }
        self.next_sweep = None;
    }

    /// The subscription with key `key` was acknowledged (or sent, where
    /// nothing is acknowledged) at `now`.
    pub(super) fn arm(&mut self, key: u32, now: Instant) {
        let Some(silence) = self.silence else { return };
        for watch in &mut self.watches {
            if watch.subscription == key && !watch.armed {
                watch.armed = true;
                watch.last_data = now;
            }
        }
        self.next_sweep.get_or_insert(now + silence);
    }

    /// A data message of `channel` for `symbol` arrived at `now`.
    #[inline]
    pub(super) fn fed(
        &mut self,
        channel: DataChannel,
        symbol: Symbol,
        now: Instant,
    ) -> Option<Liveness> {
        let index = *self.index.get(&(channel, symbol))?;
        let watch = self.watches.get_mut(index)?;
        watch.last_data = now;
        if std::mem::take(&mut watch.silent) {
            return Some(Liveness::Resumed { channel, symbol });
        }
        None
    }

    /// When the next sweep is due.
    pub(super) fn next_sweep(&self) -> Option<Instant> {
        self.next_sweep
    }

    /// Runs the sweep if due: every armed watch silent for `silence` or
    /// more is reported once.
    pub(super) fn sweep(&mut self, now: Instant, report: &mut impl FnMut(Liveness)) {
        let (Some(silence), Some(due)) = (self.silence, self.next_sweep) else {
            return;
        };
        if now < due {
            return;
        }
        for watch in &mut self.watches {
            if watch.armed
                && !watch.silent
                && now.saturating_duration_since(watch.last_data) >= silence
            {
                watch.silent = true;
                report(Liveness::Silent {
                    channel: watch.channel,
                    symbol: watch.symbol,
                    since: watch.last_data,
                });
            }
        }
        self.next_sweep = Some(now + silence);
    }
}
