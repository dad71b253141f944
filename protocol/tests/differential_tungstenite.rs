//! Differential property tests with tungstenite as the independent
//! implementation: what its server role encodes, we decode to the same
//! messages for any split of the stream; what we encode, its server role
//! accepts as the same messages.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]

mod support;

use std::io::{self, Cursor, Read, Write};

use orderwire_protocol::ws::Config;
use proptest::prelude::*;
use support::*;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::{Role, WebSocket};
use tungstenite::{Bytes, Message};

/// An in-memory socket: reads from `input` (WouldBlock when empty), writes to `output`.
#[derive(Default)]
struct MemSocket {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Read for MemSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.input.read(buf)? {
            0 if !buf.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }
}

impl Write for MemSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Clone, Debug)]
enum Msg {
    Text(String),
    Binary(Vec<u8>),
}

impl Msg {
    fn bytes(&self) -> &[u8] {
        match self {
            Msg::Text(s) => s.as_bytes(),
            Msg::Binary(b) => b,
        }
    }
    fn expected(&self) -> Ev {
        match self {
            Msg::Text(s) => Ev::Text(s.clone()),
            Msg::Binary(b) => Ev::Binary(b.clone()),
        }
    }
}

fn message() -> impl Strategy<Value = Msg> {
    prop_oneof![
        ".{0,300}".prop_map(Msg::Text),
        prop::collection::vec(any::<u8>(), 0..2000).prop_map(Msg::Binary),
        // Sizes around the 16-bit length form.
        (120usize..70_000).prop_map(|n| Msg::Binary(vec![0x5a; n])),
    ]
}

/// Encodes `msgs` with tungstenite's server role, fragmenting at
/// `fragment` bytes and putting a ping before each message when asked.
fn tungstenite_encode(msgs: &[Msg], fragment: Option<usize>, pings: bool) -> Vec<u8> {
    let mut ws = WebSocket::from_raw_socket(MemSocket::default(), Role::Server, None);
    for (i, msg) in msgs.iter().enumerate() {
        if pings {
            ws.write(Message::Frame(Frame::ping(vec![i as u8])))
                .unwrap();
        }
        let data = match msg {
            Msg::Text(_) => Data::Text,
            Msg::Binary(_) => Data::Binary,
        };
        match fragment {
            Some(size) if msg.bytes().len() > size => {
                let chunks: Vec<&[u8]> = msg.bytes().chunks(size).collect();
                for (n, chunk) in chunks.iter().enumerate() {
                    let opcode = OpCode::Data(if n == 0 { data } else { Data::Continue });
                    let frame = Frame::message(
                        Bytes::copy_from_slice(chunk),
                        opcode,
                        n + 1 == chunks.len(),
                    );
                    ws.write(Message::Frame(frame)).unwrap();
                }
            }
            _ => {
                let frame = Frame::message(
                    Bytes::copy_from_slice(msg.bytes()),
                    OpCode::Data(data),
                    true,
                );
                ws.write(Message::Frame(frame)).unwrap();
            }
        }
    }
    ws.flush().unwrap();
    std::mem::take(&mut ws.get_mut().output)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn tungstenite_frames_decode_the_same_for_any_split(
        msgs in prop::collection::vec(message(), 1..6),
        fragment in prop::option::of(1usize..700),
        pings in any::<bool>(),
        splits in prop::collection::vec(1usize..3000, 1..40),
    ) {
        let wire = tungstenite_encode(&msgs, fragment, pings);
        let mut pair = Pair::open_with(Config { recv_buffer_size: 1024, ..Config::default() }, "");
        let mut events = Vec::new();
        let mut rest = &wire[..];
        let mut split = splits.iter().cycle();
        while !rest.is_empty() {
            let n = (*split.next().unwrap()).min(rest.len());
            pair.feed(&rest[..n]);
            rest = &rest[n..];
            // Drain only sometimes, so undelivered events must survive compaction.
            if n % 3 != 0 {
                events.extend(pair.events());
            }
        }
        events.extend(pair.events());
        let expected: Vec<Ev> = msgs
            .iter()
            .enumerate()
            .flat_map(|(i, m)| pings.then(|| Ev::Ping(vec![i as u8])).into_iter().chain([m.expected()]))
            .collect();
        prop_assert_eq!(events, expected);
        let pongs: Vec<Sent> = if pings { (0..msgs.len()).map(|i| pong(&[i as u8])).collect() } else { vec![] };
        prop_assert_eq!(pair.sent(), pongs);
    }

    #[test]
    fn our_frames_are_accepted_by_tungstenite(
        msgs in prop::collection::vec(message(), 1..6),
        fragment in prop::option::of(1usize..700),
    ) {
        let mut pair = Pair::open_with(Config { max_send_frame_payload: fragment, ..Config::default() }, "");
        for msg in &msgs {
            match msg {
                Msg::Text(s) => pair.conn.send_text(s).unwrap(),
                Msg::Binary(b) => pair.conn.send_binary(b).unwrap(),
            }
        }
        pair.conn.close(pair.now, 1000, "bye").unwrap();
        let mut wire = Vec::new();
        pair.conn.poll_transmit(&mut wire);
        let socket = MemSocket { input: Cursor::new(wire), output: Vec::new() };
        let mut ws = WebSocket::from_raw_socket(socket, Role::Server, None);
        for msg in &msgs {
            let got = ws.read().unwrap();
            match (msg, got) {
                (Msg::Text(s), Message::Text(t)) => prop_assert_eq!(s.as_str(), t.as_str()),
                (Msg::Binary(b), Message::Binary(d)) => prop_assert_eq!(&b[..], &d[..]),
                (want, got) => prop_assert!(false, "wanted {:?}, got {:?}", want, got),
            }
        }
        match ws.read().unwrap() {
            Message::Close(Some(frame)) => {
                prop_assert_eq!(u16::from(frame.code), 1000);
                prop_assert_eq!(frame.reason.as_str(), "bye");
            }
            other => prop_assert!(false, "wanted close, got {:?}", other),
        }
    }
}
