//! An order book built from snapshots and deltas.
//!
//! Each side is a sorted `Vec` with room for `depth + 1` levels reserved up
//! front: books are shallow (10 to 1000 levels), a binary search plus a short
//! shift beats a tree at that size, and steady-state updates allocate nothing.
//! Venue checksums plug in through [`BookChecksum`].

use crate::model::Level;
use crate::num::Decimal;

/// Computes a venue's checksum over a book.
pub trait BookChecksum {
    /// The checksum the venue would send for `book`.
    fn checksum(&self, book: &Book) -> u32;
}

/// Bids (highest first) and asks (lowest first), kept to `depth` levels.
#[derive(Clone, Debug)]
pub struct Book {
    bids: Vec<Level>,
    asks: Vec<Level>,
    depth: usize,
}

impl Book {
    /// An empty book that keeps `depth` levels per side.
    pub fn new(depth: usize) -> Book {
        let depth = depth.max(1);
        Book {
            bids: Vec::with_capacity(depth + 1),
            asks: Vec::with_capacity(depth + 1),
            depth,
        }
    }

    /// Levels kept per side.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Bids, best (highest) first.
    pub fn bids(&self) -> &[Level] {
        &self.bids
    }

    /// Asks, best (lowest) first.
    pub fn asks(&self) -> &[Level] {
        &self.asks
    }

    /// Empties both sides.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Sets or (with a zero quantity) deletes a bid level.
    pub fn update_bid(&mut self, level: Level) {
        // Bids descend: search by reversed order.
        let found = self
            .bids
            .binary_search_by(|probe| level.price.cmp(&probe.price));
        apply(&mut self.bids, found, level);
    }

    /// Sets or (with a zero quantity) deletes an ask level.
    pub fn update_ask(&mut self, level: Level) {
        let found = self
            .asks
            .binary_search_by(|probe| probe.price.cmp(&level.price));
        apply(&mut self.asks, found, level);
    }

    /// Drops levels beyond the depth (venues send no delete for levels that
    /// fall out of range).
    pub fn truncate(&mut self) {
        self.bids.truncate(self.depth);
        self.asks.truncate(self.depth);
    }

    /// Best bid.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.first().copied()
    }

    /// Best ask.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.first().copied()
    }

    /// Whether the best bid is at or above the best ask (a sign of a broken
    /// book).
    pub fn is_crossed(&self) -> bool {
        match (self.best_bid(), self.best_ask()) {
            (Some(bid), Some(ask)) => bid.price >= ask.price,
            _ => false,
        }
    }

    /// The quantity at `price` on the bid side, if that level exists.
    pub fn bid_qty_at(&self, price: Decimal) -> Option<Decimal> {
        self.bids.iter().find(|l| l.price == price).map(|l| l.qty)
    }
}

fn apply(side: &mut Vec<Level>, found: Result<usize, usize>, level: Level) {
    match (found, level.qty.is_zero()) {
        (Ok(index), true) => {
            side.remove(index);
        }
        (Ok(index), false) => side[index] = level,
        (Err(_), true) => {}
        (Err(index), false) => side.insert(index, level),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(price: &str, qty: &str) -> Level {
        Level {
            price: price.parse().unwrap(),
            qty: qty.parse().unwrap(),
        }
    }

    #[test]
    fn sides_stay_sorted_and_zero_deletes() {
        let mut book = Book::new(3);
        for (p, q) in [("10", "1"), ("12", "2"), ("11", "3"), ("9", "4")] {
            book.update_bid(level(p, q));
        }
        for (p, q) in [("14", "1"), ("13", "2"), ("15", "3")] {
            book.update_ask(level(p, q));
        }
        book.truncate();
        let prices = |side: &[Level]| side.iter().map(|l| l.price.to_string()).collect::<Vec<_>>();
        assert_eq!(prices(book.bids()), ["12", "11", "10"]);
        assert_eq!(prices(book.asks()), ["13", "14", "15"]);
        book.update_bid(level("11.0", "0"));
        book.update_ask(level("13", "0.000"));
        book.update_ask(level("99", "0"));
        assert_eq!(prices(book.bids()), ["12", "10"]);
        assert_eq!(prices(book.asks()), ["14", "15"]);
        book.update_bid(level("12", "7"));
        assert_eq!(book.best_bid(), Some(level("12", "7")));
        assert!(!book.is_crossed());
        book.update_bid(level("14", "1"));
        assert!(book.is_crossed());
    }
}
