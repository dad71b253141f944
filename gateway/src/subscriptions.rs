//! The connection's subscriptions, configured and made at runtime: what the
//! open sequence replays after every reconnect, what the watchdog watches,
//! and what counts against the venue's cap.
//!
//! A runtime subscribe is remembered when it is submitted and forgotten by
//! an unsubscribe (symbol by symbol, so unsubscribing one pair of three
//! keeps the other two), or when the venue refuses it. Each entry has a
//! key that never changes while it lives, so a reply can arm its watch
//! even after entries before it were removed.

use orderwire_protocol::model::{Subscription, Symbol};

/// The remembered subscriptions, in the order they were made (the
/// configured ones first), with a stable key each.
#[derive(Clone, Debug)]
pub(super) struct SubscriptionSet {
    /// The subscriptions, contiguous, as `Venue::subscribe_all` takes them.
    subscriptions: Vec<Subscription>,
    /// `keys[i]` is the key of `subscriptions[i]`.
    keys: Vec<u32>,
    next_key: u32,
    /// Keys below this are the configured subscriptions.
    configured: u32,
}

impl SubscriptionSet {
    /// The configured subscriptions, keyed 0, 1, ... in order.
    pub(super) fn new(configured: &[Subscription]) -> SubscriptionSet {
        let count = u32::try_from(configured.len()).unwrap_or(u32::MAX);
        SubscriptionSet {
            subscriptions: configured.to_vec(),
            keys: (0..count).collect(),
            next_key: count,
            configured: count,
        }
    }

    /// Whether `key` is one of the configured subscriptions.
    pub(super) fn is_configured(&self, key: u32) -> bool {
        key < self.configured
    }

    /// Every subscription, in order.
    pub(super) fn as_slice(&self) -> &[Subscription] {
        &self.subscriptions
    }

    /// Every (key, subscription), in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, &Subscription)> {
        self.keys.iter().copied().zip(self.subscriptions.iter())
    }

    /// The key of the subscription at `index`.
    pub(super) fn key_at(&self, index: usize) -> Option<u32> {
        self.keys.get(index).copied()
    }

    /// The key of a remembered subscription equal to `subscription`.
    pub(super) fn key_of(&self, subscription: &Subscription) -> Option<u32> {
        let index = self.subscriptions.iter().position(|s| s == subscription)?;
        self.key_at(index)
    }

    /// The venue's registrations the set holds: one per symbol (KIS
    /// registers each `tr_id` and `tr_key` pair; Koscom each code), one
    /// for a subscription that names none.
    pub(super) fn registrations(&self) -> usize {
        (0..self.subscriptions.len())
            .map(|index| self.registrations_new_at(index))
            .sum()
    }

    /// The registrations the entry at `index` adds to those before it (a
    /// pair two entries both name is one registration).
    pub(super) fn registrations_new_at(&self, index: usize) -> usize {
        let Some(subscription) = self.subscriptions.get(index) else {
            return 0;
        };
        let earlier = &self.subscriptions[..index];
        match symbols_of(subscription) {
            Some(symbols) => symbols
                .iter()
                .filter(|symbol| {
                    !earlier
                        .iter()
                        .any(|e| same_channel(e, subscription) && holds(e, symbol))
                })
                .count(),
            None => 1,
        }
    }

    /// The registrations `subscription` would add: those of its symbols
    /// not already subscribed on the same channel.
    pub(super) fn registrations_added(&self, subscription: &Subscription) -> usize {
        let Some(symbols) = symbols_of(subscription) else {
            return usize::from(self.key_of(subscription).is_none());
        };
        symbols
            .iter()
            .filter(|symbol| {
                !self
                    .subscriptions
                    .iter()
                    .any(|s| same_channel(s, subscription) && holds(s, symbol))
            })
            .count()
    }

    /// Remembers `subscription`, unless an equal one is remembered already.
    /// Returns its key.
    pub(super) fn remember(&mut self, subscription: &Subscription) -> u32 {
        if let Some(key) = self.key_of(subscription) {
            return key;
        }
        let key = self.next_key;
        self.next_key = self.next_key.wrapping_add(1);
        self.subscriptions.push(subscription.clone());
        self.keys.push(key);
        key
    }

    /// Forgets what `unsubscribe` names: its symbols from every entry of
    /// the same channel (an entry left with none goes), or an equal entry
    /// for a subscription that names no symbol. Returns whether anything
    /// changed.
    pub(super) fn forget(&mut self, unsubscribe: &Subscription) -> bool {
        let before = self.registrations();
        match symbols_of(unsubscribe) {
            Some(gone) => {
                for subscription in &mut self.subscriptions {
                    if same_channel(subscription, unsubscribe)
                        && let Some(symbols) = symbols_mut(subscription)
                    {
                        symbols.retain(|symbol| !gone.contains(symbol));
                    }
                }
            }
            None => {
                if let Some(key) = self.key_of(unsubscribe) {
                    self.forget_key(key);
                }
            }
        }
        self.drop_empty();
        self.registrations() != before
    }

    /// Forgets the entry with `key` (a subscribe the venue refused).
    pub(super) fn forget_key(&mut self, key: u32) {
        if let Some(index) = self.keys.iter().position(|&k| k == key) {
            self.keys.remove(index);
            self.subscriptions.remove(index);
        }
    }

    fn drop_empty(&mut self) {
        let mut index = 0;
        while index < self.subscriptions.len() {
            let empty = symbols_of(&self.subscriptions[index]).is_some_and(<[Symbol]>::is_empty);
            if empty {
                self.keys.remove(index);
                self.subscriptions.remove(index);
            } else {
                index += 1;
            }
        }
    }
}

fn symbols_of(subscription: &Subscription) -> Option<&[Symbol]> {
    match subscription {
        Subscription::Book { symbols, .. }
        | Subscription::GroupedBook { symbols, .. }
        | Subscription::Candles { symbols, .. }
        | Subscription::Ticker { symbols }
        | Subscription::Trades { symbols }
        | Subscription::Orders { symbols }
        | Subscription::TriggerOrders { symbols } => Some(symbols),
        Subscription::Balances { assets } => Some(assets),
        _ => None,
    }
}

fn symbols_mut(subscription: &mut Subscription) -> Option<&mut Vec<Symbol>> {
    match subscription {
        Subscription::Book { symbols, .. }
        | Subscription::GroupedBook { symbols, .. }
        | Subscription::Candles { symbols, .. }
        | Subscription::Ticker { symbols }
        | Subscription::Trades { symbols }
        | Subscription::Orders { symbols }
        | Subscription::TriggerOrders { symbols } => Some(symbols),
        Subscription::Balances { assets } => Some(assets),
        _ => None,
    }
}

fn holds(subscription: &Subscription, symbol: &Symbol) -> bool {
    symbols_of(subscription).is_some_and(|symbols| symbols.contains(symbol))
}

/// The same stream: the same variant (a book of another depth or grouping,
/// or candles of another interval, is another stream).
fn same_channel(a: &Subscription, b: &Subscription) -> bool {
    match (a, b) {
        (Subscription::Book { depth: x, .. }, Subscription::Book { depth: y, .. }) => x == y,
        (
            Subscription::GroupedBook {
                depth: x,
                grouping: g,
                ..
            },
            Subscription::GroupedBook {
                depth: y,
                grouping: h,
                ..
            },
        ) => x == y && g == h,
        (Subscription::Candles { interval: x, .. }, Subscription::Candles { interval: y, .. }) => {
            x == y
        }
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orderwire_protocol::model::inline;

    fn trades(symbols: &[&str]) -> Subscription {
        Subscription::Trades {
            symbols: symbols.iter().map(|s| inline(s).unwrap()).collect(),
        }
    }

    #[test]
    fn unsubscribing_one_pair_keeps_the_others_and_the_keys() {
        let mut set = SubscriptionSet::new(&[trades(&["A", "B"])]);
        let key = set.remember(&trades(&["C"]));
        assert_eq!(set.remember(&trades(&["C"])), key, "remembered once");
        assert_eq!(set.registrations(), 3);
        assert_eq!(set.registrations_added(&trades(&["A", "D"])), 1);
        assert!(set.forget(&trades(&["A"])));
        assert_eq!(set.as_slice(), &[trades(&["B"]), trades(&["C"])]);
        assert!(set.forget(&trades(&["B"])));
        assert_eq!(set.as_slice(), &[trades(&["C"])]);
        assert_eq!(set.key_at(0), Some(key), "keys survive removals");
        set.remember(&trades(&["C", "D"]));
        assert_eq!(set.registrations(), 2, "C counts once");
        assert!(!set.forget(&trades(&["Z"])), "nothing to forget");
    }

    #[test]
    fn a_private_stream_is_one_registration_forgotten_whole() {
        let executions = Subscription::Executions {
            snapshot_orders: true,
            snapshot_trades: false,
        };
        let mut set = SubscriptionSet::new(&[]);
        let key = set.remember(&executions);
        assert_eq!(set.registrations(), 1);
        assert_eq!(set.registrations_added(&executions), 0);
        set.forget_key(key);
        assert!(set.as_slice().is_empty());
    }
}
