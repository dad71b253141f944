//! Shared pieces of the orderwire benchmarks: payloads that look like venue
//! traffic, and an open codec connection without a socket.
#![forbid(unsafe_code)]

use orderwire_protocol::Instant;
use orderwire_protocol::ws::handshake::{HandshakeRequest, accept_for_key};
use orderwire_protocol::ws::{Config, Conn, Event};

/// A JSON-looking text payload of exactly `len` bytes.
pub fn json_payload(len: usize) -> String {
    let unit = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":26500.4,"qty":1.25}]}]}"#;
    let mut s = unit.repeat(len / unit.len() + 1);
    s.truncate(len);
    s
}

/// A codec connection that completed its handshake against a scripted 101.
pub fn open_conn(config: Config) -> Conn {
    let request = HandshakeRequest::from_url("ws://127.0.0.1:9001/").expect("static URL is valid");
    let mut conn = Conn::client(config, &request, Instant(0), 1);
    let mut wire = Vec::new();
    conn.poll_transmit(&mut wire);
    let text = String::from_utf8(wire).expect("request is ASCII");
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("request has a key");
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_for_key(key)
    );
    conn.handle_input(Instant(1), response.as_bytes());
    assert!(
        matches!(conn.poll_event(), Some(Event::Connected)),
        "scripted handshake completes"
    );
    conn
}
