//! RFC 6455 WebSocket client codec with RFC 7692 permessage-deflate.
//!
//! [`Conn`] is the state machine; the other modules are its pieces, public so
//! that fuzzers, benchmarks and mock servers can use them directly.

pub mod conn;
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod utf8;

pub use conn::{CloseFrame, Config, Conn, Event, Message, MessageKind, State};
pub use deflate::{DeflateConfig, DeflateParams};
pub use error::{HandshakeError, ProtocolError, SendError, WsError};
pub use handshake::HandshakeRequest;
