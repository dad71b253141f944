//! Binance Spot WebSocket API and market streams (../shared/venues/binance.md).
//!
//! Work in progress (issue 5): request signing is done and tested; the
//! request and message codecs follow.

pub mod sign;

pub use sign::Signer;
