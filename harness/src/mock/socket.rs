//! The transport under a mock connection, plain or TLS, closable from the
//! outside: shared by every mock venue.

use std::io::{Read, Write};
use std::net::TcpStream;

/// A mock connection's stream.
pub(crate) trait Socket: Read + Write {
    /// The TCP socket (to shut it down from another thread, or time out a
    /// read).
    fn tcp(&self) -> &TcpStream;
}

impl Socket for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Socket for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}
