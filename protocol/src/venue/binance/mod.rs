//! Binance Spot WebSocket API and market streams (../shared/venues/binance.md).
//!
//! Work in progress (issue 5): request signing and the market-stream
//! decoder with the U/u depth synchronisation are done and tested; the
//! WebSocket API request codec and the `Venue` implementation follow.

pub mod request;
pub mod sign;
pub mod stream;

pub use request::{Credentials, RequestWriter};
pub use sign::Signer;
pub use stream::{DepthSync, DepthUpdate, StreamMessage, SyncAction, decode_stream};
