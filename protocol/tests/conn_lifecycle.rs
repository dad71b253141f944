//! Connection lifecycle in virtual time: handshake, close, timers, limits,
//! permessage-deflate and determinism.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]

mod support;

use std::time::Duration;

use flate2::{Compress, Compression, FlushCompress};
use orderwire_protocol::ws::{
    Config, Conn, DeflateConfig, HandshakeError, SendError, State, WsError,
};
use support::*;

#[test]
fn bytes_after_the_handshake_response_are_frames() {
    let mut pair = Pair::connecting(Config::default());
    let mut input = response_for(&pair.request, "");
    input.extend_from_slice(&text("first"));
    pair.feed(&input);
    assert_eq!(pair.events(), vec![Ev::Connected, Ev::Text("first".into())]);
}

#[test]
fn send_before_open_is_refused() {
    let mut pair = Pair::connecting(Config::default());
    assert_eq!(pair.conn.send_text("x"), Err(SendError::NotOpen));
}

#[test]
fn a_bad_handshake_fails_without_a_close_frame() {
    let mut pair = Pair::connecting(Config::default());
    pair.feed(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied");
    assert_eq!(
        pair.events(),
        vec![Ev::Failed(WsError::Handshake(HandshakeError::Status {
            status: 403,
            body: "denied".into(),
            retry_after: None,
        }))]
    );
    assert_eq!(pair.conn.state(), State::Failed);
    assert_eq!(pair.sent(), vec![]);
}

#[test]
fn handshake_timeout() {
    let config = Config {
        handshake_timeout: Some(Duration::from_secs(2)),
        ..Config::default()
    };
    let mut pair = Pair::connecting(config);
    assert_eq!(
        pair.conn.poll_timeout(),
        Some(pair.now + Duration::from_secs(2))
    );
    pair.advance(Duration::from_millis(1999));
    assert_eq!(pair.events(), vec![]);
    pair.advance(Duration::from_millis(1));
    assert_eq!(pair.events(), vec![Ev::Failed(WsError::HandshakeTimeout)]);
    assert_eq!(pair.conn.poll_timeout(), None);
}

#[test]
fn request_offers_deflate_and_protocols() {
    let config = Config {
        deflate: Some(DeflateConfig::default()),
        ..Config::default()
    };
    let pair = Pair::connecting(config);
    let request = String::from_utf8(pair.request.clone()).unwrap();
    assert!(
        request.starts_with("GET / HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"),
        "{request}"
    );
    assert!(
        request.contains(
            "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        )
    );
    assert!(request.contains("\r\nSec-WebSocket-Version: 13\r\n"));
}

#[test]
fn client_initiated_close() {
    let mut pair = Pair::open();
    pair.conn.close(pair.now, 1000, "done").unwrap();
    assert_eq!(pair.conn.state(), State::Closing);
    let mut expected = close_sent(1000);
    expected.payload.extend_from_slice(b"done");
    assert_eq!(pair.sent(), vec![expected]);
    assert_eq!(pair.conn.send_text("late"), Err(SendError::Closed));
    // Data still in flight from the server is delivered; pings are not answered.
    pair.feed(&concat(&[
        text("in flight"),
        raw_frame(true, 0, 9, b""),
        close_frame(1000, ""),
    ]));
    assert_eq!(
        pair.events(),
        vec![
            Ev::Text("in flight".into()),
            Ev::Ping(vec![]),
            Ev::Closed {
                code: Some(1000),
                reason: String::new(),
                by_peer: false
            }
        ]
    );
    assert_eq!(pair.sent(), vec![]);
    assert_eq!(pair.conn.state(), State::Closed);
}

fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn close_timeout() {
    let mut pair = Pair::open();
    pair.conn.close(pair.now, 1001, "").unwrap();
    assert_eq!(
        pair.conn.poll_timeout(),
        Some(pair.now + Config::default().close_timeout)
    );
    pair.advance(Config::default().close_timeout);
    assert_eq!(pair.events(), vec![Ev::Failed(WsError::CloseTimeout)]);
}

#[test]
fn close_arguments_are_checked() {
    let mut pair = Pair::open();
    assert_eq!(
        pair.conn.close(pair.now, 1005, ""),
        Err(SendError::InvalidCloseCode(1005))
    );
    assert_eq!(
        pair.conn.close(pair.now, 1000, &"r".repeat(124)),
        Err(SendError::ControlTooLong)
    );
    assert_eq!(pair.conn.ping(&[0; 126]), Err(SendError::ControlTooLong));
    assert_eq!(pair.conn.state(), State::Open);
}

#[test]
fn keepalive_pings_and_any_data_meets_the_deadline() {
    let config = Config {
        ping_interval: Some(Duration::from_secs(10)),
        pong_timeout: Duration::from_secs(3),
        ..Config::default()
    };
    let mut pair = Pair::open_with(config, "");
    let start = pair.now;
    assert_eq!(
        pair.conn.poll_timeout(),
        Some(start + Duration::from_secs(10))
    );
    pair.advance(Duration::from_secs(1));
    assert_eq!(pair.sent(), vec![], "a spurious timeout does nothing");
    pair.now = start + Duration::from_secs(10);
    pair.conn.handle_timeout(pair.now);
    let ping = pair.sent();
    assert_eq!(ping.len(), 1);
    assert_eq!(ping[0].opcode, 0x9);
    assert_eq!(
        pair.conn.poll_timeout(),
        Some(pair.now + Duration::from_secs(3))
    );
    // Any data, not only the pong, meets the deadline.
    pair.feed(&text("tick"));
    assert_eq!(
        pair.conn.poll_timeout(),
        Some(start + Duration::from_secs(20))
    );
    pair.now = start + Duration::from_secs(20);
    pair.conn.handle_timeout(pair.now);
    assert_eq!(pair.sent().len(), 1);
    pair.advance(Duration::from_secs(3));
    assert_eq!(
        pair.events(),
        vec![
            Ev::Text("tick".into()),
            Ev::Failed(WsError::KeepaliveTimeout)
        ]
    );
}

#[test]
fn frame_and_message_limits_fail_with_1009() {
    let config = Config {
        max_frame_size: 1000,
        max_message_size: 1500,
        ..Config::default()
    };
    let mut pair = Pair::open_with(config.clone(), "");
    // Refused from the header alone, before the payload arrives.
    pair.feed(&raw_frame(true, 0, 2, &[0; 1001])[..4]);
    assert_eq!(
        pair.events(),
        vec![Ev::Failed(WsError::MessageTooBig { limit: 1000 })]
    );
    assert_eq!(pair.sent(), vec![close_sent(1009)]);

    let mut pair = Pair::open_with(config, "");
    pair.feed(&raw_frame(false, 0, 2, &[0; 1000]));
    pair.feed(&raw_frame(true, 0, 0, &[0; 600]));
    assert_eq!(
        pair.events(),
        vec![Ev::Failed(WsError::MessageTooBig { limit: 1000 })]
    );
}

#[test]
fn outgoing_messages_are_fragmented_on_request() {
    let config = Config {
        max_send_frame_payload: Some(4),
        ..Config::default()
    };
    let mut pair = Pair::open_with(config, "");
    pair.conn.send_text("abcdefghij").unwrap();
    let sent = pair.sent();
    let shape: Vec<(bool, u8, &[u8])> = sent
        .iter()
        .map(|s| (s.fin, s.opcode, &s.payload[..]))
        .collect();
    assert_eq!(
        shape,
        vec![
            (false, 1, &b"abcd"[..]),
            (false, 0, b"efgh"),
            (true, 0, b"ij")
        ]
    );
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let run = |seed| {
        let mut conn = Conn::client(
            Config::default(),
            &request(),
            orderwire_protocol::Instant(5),
            seed,
        );
        let mut wire = Vec::new();
        conn.poll_transmit(&mut wire);
        let response = response_for(&wire, "");
        conn.handle_input(orderwire_protocol::Instant(6), &response);
        drain_events(&mut conn);
        conn.send_text("hello").unwrap();
        conn.ping(b"p").unwrap();
        conn.poll_transmit(&mut wire);
        wire
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

fn deflate_pair(extra_params: &str) -> Pair {
    let config = Config {
        deflate: Some(DeflateConfig {
            compression_threshold: 0,
            ..DeflateConfig::default()
        }),
        ..Config::default()
    };
    Pair::open_with(
        config,
        &format!("Sec-WebSocket-Extensions: permessage-deflate{extra_params}\r\n"),
    )
}

/// Server-side compression with the sync tail stripped.
fn compress(z: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    z.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

#[test]
fn inflates_compressed_messages_with_context_takeover_and_fragments() {
    let mut pair = deflate_pair("; client_max_window_bits=12");
    assert_eq!(pair.conn.deflate().unwrap().client_max_window_bits, 12);
    let mut server = Compress::new(Compression::default(), false);
    let first = compress(&mut server, b"{\"channel\":\"book\",\"data\":[1,2,3]}");
    let second = compress(&mut server, b"{\"channel\":\"book\",\"data\":[1,2,3]}");
    assert!(
        second.len() < first.len(),
        "context takeover makes the repeat shorter"
    );
    let (a, b) = second.split_at(second.len() / 2);
    pair.feed(&concat(&[
        raw_frame(true, 0b100, 1, &first),
        raw_frame(false, 0b100, 1, a),
        raw_frame(true, 0, 9, b"mid"),
        raw_frame(true, 0, 0, b),
        text("plain"),
    ]));
    let msg = "{\"channel\":\"book\",\"data\":[1,2,3]}".to_string();
    assert_eq!(
        pair.events(),
        vec![
            Ev::Text(msg.clone()),
            Ev::Ping(b"mid".to_vec()),
            Ev::Text(msg),
            Ev::Text("plain".into())
        ]
    );
}

#[test]
fn rsv1_on_a_continuation_or_control_frame_is_a_protocol_error() {
    let mut pair = deflate_pair("");
    pair.feed(&concat(&[
        raw_frame(false, 0b100, 1, &[0xf2]),
        raw_frame(true, 0b100, 0, &[0x00]),
    ]));
    assert!(matches!(
        pair.events()[..],
        [Ev::Failed(WsError::Protocol(_))]
    ));
    let mut pair = deflate_pair("");
    pair.feed(&raw_frame(true, 0b100, 9, b""));
    assert!(matches!(
        pair.events()[..],
        [Ev::Failed(WsError::Protocol(_))]
    ));
}

#[test]
fn compressed_bombs_and_garbage_fail_cleanly() {
    let config = Config {
        max_message_size: 1 << 16,
        deflate: Some(DeflateConfig::default()),
        ..Config::default()
    };
    let mut pair = Pair::open_with(config, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    let mut server = Compress::new(Compression::best(), false);
    let bomb = compress(&mut server, &vec![b'a'; 1 << 20]);
    pair.feed(&raw_frame(true, 0b100, 2, &bomb));
    assert_eq!(
        pair.events(),
        vec![Ev::Failed(WsError::MessageTooBig { limit: 1 << 16 })]
    );
    assert_eq!(pair.sent(), vec![close_sent(1009)]);

    let mut pair = deflate_pair("");
    pair.feed(&raw_frame(true, 0b100, 2, &[0xff, 0xff, 0xff]));
    assert_eq!(
        pair.events(),
        vec![Ev::Failed(WsError::InvalidCompressedData)]
    );
    assert_eq!(pair.sent(), vec![close_sent(1007)]);
}

#[test]
fn compressed_text_is_utf8_checked_after_inflation() {
    let mut pair = deflate_pair("");
    let mut server = Compress::new(Compression::default(), false);
    let bad = compress(&mut server, &[b'a', 0xed, 0xa0, 0x80]);
    pair.feed(&raw_frame(true, 0b100, 1, &bad));
    assert_eq!(pair.events(), vec![Ev::Failed(WsError::InvalidUtf8)]);
}

#[test]
fn outgoing_compression_respects_no_context_takeover() {
    let mut pair = deflate_pair("; client_no_context_takeover");
    let msg = "x".repeat(300);
    pair.conn.send_text(&msg).unwrap();
    pair.conn.send_text(&msg).unwrap();
    let sent = pair.sent();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|s| s.rsv == 0b100));
    assert_eq!(
        sent[0].payload, sent[1].payload,
        "each message compressed from a fresh context"
    );
    let mut inflate = flate2::Decompress::new(false);
    let mut out = Vec::with_capacity(1024);
    let mut wire = sent[0].payload.clone();
    wire.extend_from_slice(&[0, 0, 0xff, 0xff]);
    inflate
        .decompress_vec(&wire, &mut out, flate2::FlushDecompress::Sync)
        .unwrap();
    assert_eq!(out, msg.as_bytes());
}

#[test]
fn small_messages_skip_compression_below_the_threshold() {
    let config = Config {
        deflate: Some(DeflateConfig::default()),
        ..Config::default()
    };
    let mut pair = Pair::open_with(config, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    pair.conn.send_text("tiny").unwrap();
    assert_eq!(pair.sent()[0].rsv, 0);
}

#[test]
fn window_bits_8_is_negotiated_but_messages_go_uncompressed() {
    let mut pair = deflate_pair("; client_max_window_bits=8");
    pair.conn.send_text(&"y".repeat(1000)).unwrap();
    let sent = pair.sent();
    assert_eq!((sent[0].rsv, sent[0].payload.len()), (0, 1000));
}

#[test]
fn large_messages_arrive_whole_through_a_growing_buffer() {
    let config = Config {
        recv_buffer_size: 1024,
        ..Config::default()
    };
    let mut pair = Pair::open_with(config, "");
    let big: Vec<u8> = (0..(1usize << 20)).map(|i| (i % 251) as u8).collect();
    let wire = concat(&[binary(&big), text("after")]);
    let events = pair.feed_in_steps(&wire, 16 * 1024);
    assert_eq!(events, vec![Ev::Binary(big), Ev::Text("after".into())]);
}

#[test]
fn undrained_events_survive_compaction() {
    let config = Config {
        recv_buffer_size: 1024,
        ..Config::default()
    };
    let mut pair = Pair::open_with(config, "");
    // Three messages arrive before the driver drains anything.
    pair.feed(&text("one"));
    pair.feed(&binary(&[7; 900]));
    pair.feed(&text("three"));
    assert_eq!(
        pair.events(),
        vec![
            Ev::Text("one".into()),
            Ev::Binary(vec![7; 900]),
            Ev::Text("three".into())
        ]
    );
}

#[test]
fn messages_before_a_failure_can_still_be_answered() {
    // Autobahn 3.3: a good message and a bad frame arrive in one read. The
    // application answers the message; only then does the close go out.
    let mut pair = Pair::open();
    pair.feed(&concat(&[
        text("first"),
        raw_frame(true, 0b011, 1, b"bad"),
        raw_frame(true, 0, 9, b""),
    ]));
    match pair.conn.poll_event() {
        Some(orderwire_protocol::ws::Event::Message(m)) => assert_eq!(&m.data[..], b"first"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(pair.conn.state(), State::Open);
    pair.conn.send_text("first").unwrap();
    assert_eq!(
        pair.events(),
        vec![Ev::Failed(
            orderwire_protocol::ws::ProtocolError::ReservedBits(3).into()
        )]
    );
    assert_eq!(pair.conn.send_text("late"), Err(SendError::Closed));
    let sent = pair.sent();
    assert_eq!(
        (sent.len(), sent[0].opcode, &sent[0].payload[..]),
        (2, 1, &b"first"[..])
    );
    assert_eq!(sent[1], close_sent(1002));
}

/// `handle_input` takes large inputs in pieces; frames that straddle the
/// pieces (including a text frame cut inside a multi-byte character) come
/// out the same as when fed byte by byte, and all stay borrowed at once.
#[test]
fn one_large_input_with_frames_across_piece_boundaries() {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for i in 0..40usize {
        let body = format!("{i}:{}", "é".repeat(700 + 37 * i));
        input.extend_from_slice(&text(&body));
        expected.push(Ev::Text(body));
        let bytes = vec![i as u8; 3000 + i];
        input.extend_from_slice(&binary(&bytes));
        expected.push(Ev::Binary(bytes));
    }
    assert!(input.len() > 100_000, "spans many 8 KiB pieces");
    let mut whole = Pair::open();
    whole.feed(&input);
    assert_eq!(whole.events(), expected);
    let mut stepped = Pair::open();
    assert_eq!(stepped.feed_in_steps(&input, 1), expected);
}
