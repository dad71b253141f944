//! The WebSocket fuzz harnesses, as plain functions: the cargo-fuzz targets
//! call them, and protocol/tests/fuzz_corpus.rs replays every corpus file
//! through them on stable. They check invariants, not only "no panic".

use orderwire_protocol::Instant;
use orderwire_protocol::ws::handshake::{HandshakeRequest, Offer, accept_for_key, parse_response};
use orderwire_protocol::ws::{Config, Conn, DeflateConfig, Event, MessageKind, State};

/// Arbitrary bytes as the server's handshake response, fed in two pieces.
pub(crate) fn handshake_response(data: &[u8]) {
    let offer = Offer {
        expected_accept: accept_for_key("dGhlIHNhbXBsZSBub25jZQ=="),
        protocols: vec!["chat".into()],
        deflate: Some(DeflateConfig::default()),
        max_header_len: 4096,
    };
    let _ = parse_response(data, &offer);

    let mut conn = client(Some(DeflateConfig::default()));
    let cut = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    conn.handle_input(Instant(10), &data[..cut]);
    drain(&mut conn);
    conn.handle_input(Instant(11), &data[cut..]);
    drain(&mut conn);
    conn.handle_timeout(Instant(u64::MAX));
    drain(&mut conn);
}

/// Arbitrary bytes after a valid handshake. The first byte picks whether
/// permessage-deflate is negotiated and seeds how the rest is split.
pub(crate) fn frames(data: &[u8]) {
    let Some((&flags, stream)) = data.split_first() else {
        return;
    };
    let deflate = flags & 1 == 1;
    let mut conn = client(deflate.then(DeflateConfig::default));
    let mut request = Vec::new();
    conn.poll_transmit(&mut request);
    let key = std::str::from_utf8(&request)
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .map(str::to_owned)
        })
        .expect("our own request carries a key");
    let extension = if deflate {
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    } else {
        ""
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extension}\r\n",
        accept_for_key(&key)
    );
    conn.handle_input(Instant(1), response.as_bytes());
    assert!(drain(&mut conn).connected, "a valid handshake connects");

    let mut seed = u32::from(flags) | 1;
    let mut rest = stream;
    let mut now = 2;
    while !rest.is_empty() {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = ((seed >> 16) as usize % 64 + 1).min(rest.len());
        conn.handle_input(Instant(now), &rest[..n]);
        rest = &rest[n..];
        now += 1;
        let summary = drain(&mut conn);
        if summary.terminal {
            assert!(matches!(conn.state(), State::Closed | State::Failed));
        }
    }
    conn.handle_timeout(Instant(u64::MAX));
    drain(&mut conn);
}

fn client(deflate: Option<DeflateConfig>) -> Conn {
    let request =
        HandshakeRequest::from_url("ws://127.0.0.1:9001/fuzz").expect("static URL is valid");
    let config = Config {
        max_message_size: 1 << 20,
        max_frame_size: 1 << 20,
        deflate,
        ..Config::default()
    };
    Conn::client(config, &request, Instant(0), 3)
}

#[derive(Default)]
struct Drained {
    connected: bool,
    terminal: bool,
}

/// Drains events, checking that text is UTF-8, that nothing follows a
/// terminal event, and echoing messages to exercise the send path.
fn drain(conn: &mut Conn) -> Drained {
    let mut summary = Drained::default();
    let mut echo = Vec::new();
    while let Some(event) = conn.poll_event() {
        assert!(!summary.terminal, "no event after Closed or Failed");
        match event {
            Event::Connected => summary.connected = true,
            Event::Message(m) => {
                if m.kind == MessageKind::Text {
                    assert!(
                        std::str::from_utf8(m.data).is_ok(),
                        "text messages are UTF-8"
                    );
                }
                echo.clear();
                echo.extend_from_slice(m.data);
                let kind = m.kind;
                let _ = conn.send(kind, &echo);
            }
            Event::Ping(p) | Event::Pong(p) => assert!(p.len() <= 125),
            Event::Closed(_) | Event::Failed(_) => summary.terminal = true,
        }
    }
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    summary
}
