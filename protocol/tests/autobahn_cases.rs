//! An Autobahn-style client case table, in virtual time: framing, ping/pong,
//! reserved bits, opcodes, fragmentation, UTF-8 and close. Every case is
//! run on the whole input and again fed one byte at a time.

mod support;

use orderwire_protocol::ws::{ProtocolError, State, WsError};
use support::*;

struct Case {
    name: &'static str,
    input: Vec<u8>,
    events: Vec<Ev>,
    sent: Vec<Sent>,
    state: State,
}

fn fail(error: impl Into<WsError>, close_code: u16) -> (Vec<Ev>, Vec<Sent>, State) {
    (
        vec![Ev::Failed(error.into())],
        vec![close_sent(close_code)],
        State::Failed,
    )
}

fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add =
        |name: &'static str, input: Vec<u8>, (events, sent, state): (Vec<Ev>, Vec<Sent>, State)| {
            cases.push(Case {
                name,
                input,
                events,
                sent,
                state,
            });
        };
    let ok = |events: Vec<Ev>| (events, Vec::new(), State::Open);

    // 1.x framing: every length form, text and binary.
    for len in [0usize, 125, 126, 127, 128, 65535, 65536] {
        let body = "*".repeat(len);
        add(
            "1.1 text length",
            text(&body),
            ok(vec![Ev::Text(body.clone())]),
        );
        add(
            "1.2 binary length",
            binary(body.as_bytes()),
            ok(vec![Ev::Binary(body.into_bytes())]),
        );
    }
    // 2.x ping/pong.
    add(
        "2.1 empty ping",
        raw_frame(true, 0, 9, b""),
        (vec![Ev::Ping(vec![])], vec![pong(b"")], State::Open),
    );
    add(
        "2.3 binary ping",
        raw_frame(true, 0, 9, &[0, 0xff, 0xfe]),
        (
            vec![Ev::Ping(vec![0, 0xff, 0xfe])],
            vec![pong(&[0, 0xff, 0xfe])],
            State::Open,
        ),
    );
    let p125 = vec![0xfe; 125];
    add(
        "2.4 ping 125",
        raw_frame(true, 0, 9, &p125),
        (vec![Ev::Ping(p125.clone())], vec![pong(&p125)], State::Open),
    );
    add(
        "2.5 ping 126",
        raw_frame(true, 0, 9, &[0; 126]),
        fail(ProtocolError::ControlTooLong, 1002),
    );
    add(
        "2.7 unsolicited pong",
        raw_frame(true, 0, 0xA, b"hb"),
        ok(vec![Ev::Pong(b"hb".to_vec())]),
    );
    let pings: Vec<Vec<u8>> = (0..10u8).map(|i| raw_frame(true, 0, 9, &[i])).collect();
    add(
        "2.10 ten pings",
        concat(&pings),
        (
            (0..10u8).map(|i| Ev::Ping(vec![i])).collect(),
            (0..10u8).map(|i| pong(&[i])).collect(),
            State::Open,
        ),
    );
    // 3.x reserved bits (nothing negotiated).
    for rsv in 1..8u8 {
        add(
            "3.x rsv on text",
            raw_frame(true, rsv, 1, b"x"),
            fail(ProtocolError::ReservedBits(rsv), 1002),
        );
    }
    add(
        "3.7 rsv on ping",
        raw_frame(true, 0b111, 9, b""),
        fail(ProtocolError::ReservedBits(7), 1002),
    );
    add(
        "3.2 text then bad rsv",
        concat(&[text("ok"), raw_frame(true, 0b010, 1, b"x"), text("never")]),
        (
            [
                vec![Ev::Text("ok".into())],
                fail(ProtocolError::ReservedBits(2), 1002).0,
            ]
            .concat(),
            vec![close_sent(1002)],
            State::Failed,
        ),
    );
    // 4.x reserved opcodes.
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        add(
            "4.x reserved opcode",
            raw_frame(true, 0, op, b""),
            fail(ProtocolError::ReservedOpcode(op), 1002),
        );
    }
    // 5.x fragmentation.
    add(
        "5.1 fragmented ping",
        raw_frame(false, 0, 9, b"a"),
        fail(ProtocolError::FragmentedControl, 1002),
    );
    add(
        "5.3 two fragments",
        concat(&[
            raw_frame(false, 0, 1, b"frag"),
            raw_frame(true, 0, 0, b"ment"),
        ]),
        ok(vec![Ev::Text("fragment".into())]),
    );
    add(
        "5.6 ping between fragments",
        concat(&[
            raw_frame(false, 0, 1, b"a"),
            raw_frame(true, 0, 9, b"p"),
            raw_frame(true, 0, 0, b"b"),
        ]),
        (
            vec![Ev::Ping(b"p".to_vec()), Ev::Text("ab".into())],
            vec![pong(b"p")],
            State::Open,
        ),
    );
    add(
        "5.9 continuation first",
        raw_frame(true, 0, 0, b"x"),
        fail(ProtocolError::UnexpectedContinuation, 1002),
    );
    add(
        "5.18 text inside fragmented",
        concat(&[raw_frame(false, 0, 1, b"a"), raw_frame(true, 0, 1, b"b")]),
        fail(ProtocolError::ExpectedContinuation, 1002),
    );
    add(
        "5.19 many fragments with empty ones",
        concat(&[
            raw_frame(false, 0, 2, b""),
            raw_frame(false, 0, 0, &[1]),
            raw_frame(false, 0, 0, b""),
            raw_frame(true, 0, 0, &[2]),
        ]),
        ok(vec![Ev::Binary(vec![1, 2])]),
    );
    // 6.x UTF-8.
    add(
        "6.2 valid multi-byte",
        text("κόσμε"),
        ok(vec![Ev::Text("κόσμε".into())]),
    );
    let kosme = "κόσμε".as_bytes();
    add(
        "6.2.3 code points split across fragments",
        concat(&[
            raw_frame(false, 0, 1, &kosme[..3]),
            raw_frame(false, 0, 0, &kosme[3..7]),
            raw_frame(true, 0, 0, &kosme[7..]),
        ]),
        ok(vec![Ev::Text("κόσμε".into())]),
    );
    add(
        "6.3 invalid text",
        raw_frame(true, 0, 1, &[0xce, 0xba, 0xed, 0xa0, 0x80]),
        fail(WsError::InvalidUtf8, 1007),
    );
    add(
        "6.4 invalid in first fragment",
        concat(&[
            raw_frame(false, 0, 1, &[0xf4, 0x90]),
            raw_frame(true, 0, 0, b"x"),
        ]),
        fail(WsError::InvalidUtf8, 1007),
    );
    add(
        "6.x truncated at end of message",
        concat(&[
            raw_frame(false, 0, 1, b"a"),
            raw_frame(true, 0, 0, &[0xe2, 0x82]),
        ]),
        fail(WsError::InvalidUtf8, 1007),
    );
    add(
        "6.x invalid binary is fine",
        binary(&[0xff, 0xfe]),
        ok(vec![Ev::Binary(vec![0xff, 0xfe])]),
    );
    // 7.x close.
    add(
        "7.3.1 empty close",
        raw_frame(true, 0, 8, b""),
        (
            vec![Ev::Closed {
                code: None,
                reason: String::new(),
                by_peer: true,
            }],
            vec![close_sent(1000)],
            State::Closed,
        ),
    );
    add(
        "7.3.2 one-byte close",
        raw_frame(true, 0, 8, &[3]),
        fail(
            ProtocolError::BadClose(orderwire_protocol::ws::frame::ClosePayloadError::OneByte),
            1002,
        ),
    );
    add(
        "7.3.3 close with reason",
        close_frame(1000, "bye"),
        (
            vec![Ev::Closed {
                code: Some(1000),
                reason: "bye".into(),
                by_peer: true,
            }],
            vec![close_sent(1000)],
            State::Closed,
        ),
    );
    add(
        "7.7 valid code echoed",
        close_frame(3000, ""),
        (
            vec![Ev::Closed {
                code: Some(3000),
                reason: String::new(),
                by_peer: true,
            }],
            vec![close_sent(3000)],
            State::Closed,
        ),
    );
    for code in [0u16, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999] {
        add(
            "7.9 invalid code",
            close_frame(code, ""),
            fail(
                ProtocolError::BadClose(
                    orderwire_protocol::ws::frame::ClosePayloadError::InvalidCode(code),
                ),
                1002,
            ),
        );
    }
    let mut bad_reason = 1000u16.to_be_bytes().to_vec();
    bad_reason.extend_from_slice(&[0xce, 0xba, 0xed, 0xa0, 0x80]);
    add(
        "7.5.1 reason not UTF-8",
        raw_frame(true, 0, 8, &bad_reason),
        fail(
            ProtocolError::BadClose(
                orderwire_protocol::ws::frame::ClosePayloadError::ReasonNotUtf8,
            ),
            1007,
        ),
    );
    add(
        "7.1.3 data after close is ignored",
        concat(&[
            close_frame(1000, ""),
            text("late"),
            raw_frame(true, 0, 9, b""),
        ]),
        (
            vec![Ev::Closed {
                code: Some(1000),
                reason: String::new(),
                by_peer: true,
            }],
            vec![close_sent(1000)],
            State::Closed,
        ),
    );
    // Masked server frames.
    let mut masked = Vec::new();
    orderwire_protocol::ws::frame::write_frame(
        &mut masked,
        true,
        0,
        orderwire_protocol::ws::frame::OpCode::Text,
        Some([1, 2, 3, 4]),
        b"x",
    );
    add(
        "server frame masked",
        masked,
        fail(ProtocolError::MaskedFrame, 1002),
    );
    add(
        "64-bit length with top bit",
        vec![0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0],
        fail(ProtocolError::LengthOverflow, 1002),
    );
    cases
}

fn run(case: &Case, step: Option<usize>) {
    let mut pair = Pair::open();
    let events = match step {
        None => {
            pair.feed(&case.input);
            pair.events()
        }
        Some(step) => pair.feed_in_steps(&case.input, step),
    };
    assert_eq!(events, case.events, "{} (step {step:?}): events", case.name);
    assert_eq!(
        pair.sent(),
        case.sent,
        "{} (step {step:?}): frames sent",
        case.name
    );
    assert_eq!(
        pair.conn.state(),
        case.state,
        "{} (step {step:?}): state",
        case.name
    );
}

#[test]
fn every_case_whole() {
    for case in cases() {
        run(&case, None);
    }
}

#[test]
fn every_case_byte_by_byte() {
    for case in cases().iter().filter(|c| c.input.len() < 5000) {
        run(case, Some(1));
    }
}

#[test]
fn every_case_in_odd_pieces() {
    for case in cases() {
        for step in [2, 3, 7, 125, 4096] {
            run(&case, Some(step));
        }
    }
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    // Autobahn 6.4.1: the invalid byte arrives; the rest of the frame never does.
    let mut pair = Pair::open();
    let mut frame = raw_frame(
        true,
        0,
        1,
        &[
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xf4, 0x90, 0x80, 0x80, b'e', b'd',
        ],
    );
    frame.truncate(2 + 7);
    pair.feed(&frame);
    assert_eq!(pair.events(), vec![Ev::Failed(WsError::InvalidUtf8)]);
    assert_eq!(pair.sent(), vec![close_sent(1007)]);
}

#[test]
fn input_after_failure_is_refused_and_the_close_is_flushed_once() {
    let mut pair = Pair::open();
    pair.feed(&raw_frame(true, 0, 3, b""));
    pair.feed(&text("ignored"));
    assert_eq!(
        pair.events(),
        vec![Ev::Failed(ProtocolError::ReservedOpcode(3).into())]
    );
    assert_eq!(pair.sent(), vec![close_sent(1002)]);
    assert_eq!(pair.sent(), vec![]);
}
