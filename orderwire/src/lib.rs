//! orderwire: low-latency order entry and market data over exchange
//! WebSocket APIs, as one crate to embed.
//!
//! ```toml
//! [dependencies]
//! orderwire = "0.1"                                   # engine, gateway, codecs
//! orderwire = { version = "0.1", features = ["mock"] } # + the mock venues
//! ```
//!
//! `use orderwire::prelude::*` brings what an embedding program names:
//! the exchange drivers and their registry, orders and their builders,
//! events, decimals, and the venue codecs. docs/embedding.md walks through
//! a whole program.
//!
//! Features: `mock` (the mock venues, for tests and examples, no network),
//! `service` (`orderwire.toml`, the venue registry, the demo driver and
//! the capture decoder), `metrics` (Prometheus over a service), `bench`
//! (`orderwire bench`, with plots) and `cli` (what the `orderwire`
//! command line adds). None is on by default: the
//! default build is the engine, the gateway and the codecs.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod prelude;

/// The engine: the reactor, connections, TLS, and the gateway drivers
/// (`Exchange`, `InlineExchange`, `Registry`) under `engine::gateway`.
pub use orderwire_engine as engine;
/// The sans-IO gateway core the drivers run.
pub use orderwire_gateway as core;
/// The sans-IO protocol layer: WebSocket codec, decimals, venue codecs.
pub use orderwire_protocol as protocol;

/// The gateway drivers and what they take and give (see [`engine::gateway`]).
pub use orderwire_engine::gateway;
/// Orders, requests, events.
pub use orderwire_protocol::model;
/// Exact decimals.
pub use orderwire_protocol::num;
/// Secrets that never print.
pub use orderwire_protocol::secret;
/// The venue codecs and their interface.
pub use orderwire_protocol::venue;

#[cfg(feature = "bench")]
pub mod bench;
#[cfg(feature = "service")]
pub mod decode;
#[cfg(feature = "service")]
pub mod demo;
#[cfg(feature = "service")]
pub mod event_line;
#[cfg(feature = "export")]
pub mod export;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "mock")]
pub mod mock;
#[cfg(feature = "service")]
pub mod progress;
#[cfg(feature = "service")]
pub mod replay;
#[cfg(feature = "cli")]
pub mod run;
#[cfg(feature = "service")]
pub mod service;
#[cfg(feature = "service")]
pub mod venues;

// Every Rust block in the README and docs/ compiles (and runs, unless
// marked `no_run`) as a doctest of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
#[cfg(doctest)]
#[doc = include_str!("../../docs/embedding.md")]
mod embedding_md {}
#[cfg(doctest)]
#[doc = include_str!("../../docs/engine.md")]
mod engine_md {}
#[cfg(doctest)]
#[doc = include_str!("../../docs/service.md")]
mod service_md {}
