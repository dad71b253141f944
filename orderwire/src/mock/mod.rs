//! Mock venues: faithful to each venue's documentation, real TLS and real
//! WebSocket on loopback, with fault injection.

pub mod binance;
mod builder;
pub mod digifinex;
pub mod echo;
pub mod flow;
pub mod kis;
pub mod koscom;
pub mod kraken;
mod listener;
pub mod live;
mod market;
pub mod matching;
pub mod pair;
mod rest;
pub mod session;
mod socket;
pub mod upbit;

pub use builder::{MockBuilder, MockOptions, MockSettings};
pub use flow::FlowConfig;
pub use live::{MockTiming, Stall, parse_duration};
