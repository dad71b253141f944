//! The orderwire harness: mock venues, the embedded demo and the decoder
//! behind the `orderwire` command line. It uses only the public APIs of
//! orderwire-engine and orderwire-protocol, exactly as a user would.
#![forbid(unsafe_code)]

pub mod decode;
pub mod demo;
pub mod metrics;
pub mod mock;
pub mod run;
pub mod service;
pub mod venues;
