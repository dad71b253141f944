//! The orderwire engine: one pinned thread runs a mio loop that drives TCP,
//! rustls and the sans-IO WebSocket codec for many connections; user threads
//! talk to it through bounded lock-free queues.
//!
//! ```no_run
//! use orderwire_engine::{ConnectionConfig, Engine, EngineConfig, EngineEvent};
//! let mut engine = Engine::start(EngineConfig::default())?;
//! let conn = engine.connect(ConnectionConfig::new("wss://example.com/ws"))?;
//! for event in engine.events().iter() {
//!     match event {
//!         EngineEvent::Connected { .. } => engine.send_text(conn, "hello").map_err(|_| "queue full")?,
//!         EngineEvent::Message { data, .. } => { engine.recycle(data); break }
//!         _ => {}
//!     }
//! }
//! engine.shutdown(std::time::Duration::from_secs(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod backoff;
pub mod capture;
pub mod clock;
pub mod config;
mod connection;
mod engine;
pub mod event;
pub mod gateway;
mod inline;
pub mod pool;
mod reactor;
mod timers;
pub mod tls;
mod transport;

pub use backoff::{ReconnectPolicy, refusal_floor};
pub use clock::Clock;
pub use config::{
    ConnHooks, ConnectionConfig, EngineConfig, NoHooks, OpenSequence, OpenSink, WaitStrategy,
};
pub use engine::{Commander, ConnectError, Engine, QueueFull, StartError};
pub use event::{Command, ConnError, ConnId, Disconnect, EngineEvent, Rejection};
pub use inline::InlineEngine;
pub use pool::BufferPool;
pub use tls::{TlsConfig, TlsSetupError};
