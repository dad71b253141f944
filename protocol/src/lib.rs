//! Sans-IO protocol core of orderwire.
//!
//! Everything here is a deterministic state machine: bytes and time go in as
//! arguments, bytes and events come out. Nothing opens a socket, starts a
//! thread or reads a clock, so the same code is driven by the engine's reactor,
//! by tests in virtual time, by fuzzers and by `orderwire decode`.
#![forbid(unsafe_code)]

pub mod book;
pub mod capture;
pub mod json;
pub mod model;
pub mod num;
pub mod secret;
pub mod time;
pub mod venue;
pub mod wallclock;
pub mod ws;

pub use time::Instant;
