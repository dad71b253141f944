//! The receive and send paths allocate nothing in steady state, and a plain
//! message is handed out as a borrow of the receive buffer.

mod support;

use flate2::{Compress, Compression, FlushCompress};
use orderwire_protocol::ws::{Config, DeflateConfig, Event};
use orderwire_testkit::alloc::{Counting, this_thread_allocations as allocations};
use support::*;

#[global_allocator]
static GLOBAL: Counting = Counting;

fn compressed(z: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    z.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    out.truncate(out.len() - 4);
    raw_frame(true, 0b100, 1, &out)
}

#[test]
fn steady_state_allocates_nothing() {
    let config = Config {
        deflate: Some(DeflateConfig {
            compression_threshold: 512,
            ..DeflateConfig::default()
        }),
        ..Config::default()
    };
    let mut pair = Pair::open_with(config, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    // The server's traffic, prepared up front: plain, fragmented, ping and
    // compressed (with context takeover, each message its own bytes).
    let order = r#"{"method":"add_order","params":{"order_type":"limit","side":"buy","limit_price":26500.4,"order_qty":1.2,"symbol":"BTC/USD"},"req_id":123}"#;
    let mut server = Compress::new(Compression::fast(), false);
    let rounds: Vec<Vec<u8>> = (0..3000)
        .map(|i| {
            [
                text(order),
                raw_frame(false, 0, 2, &[1; 300]),
                raw_frame(true, 0, 0, &[2; 300]),
                raw_frame(true, 0, 9, b"ping"),
                compressed(&mut server, format!("{order} {i}").repeat(4).as_bytes()),
            ]
            .concat()
        })
        .collect();
    let big_reply = "r".repeat(2000);
    let mut out = Vec::with_capacity(1 << 16);

    let round = |pair: &mut Pair, bytes: &[u8], out: &mut Vec<u8>| {
        // Split the round's bytes so frames straddle reads.
        for piece in bytes.chunks(700) {
            pair.conn.handle_input(pair.now, piece);
            let mut messages = 0;
            while let Some(event) = pair.conn.poll_event() {
                if let Event::Message(m) = event {
                    assert!(!m.data.is_empty());
                    messages += 1;
                }
            }
            if messages > 0 {
                pair.conn.send_text(order).unwrap();
                pair.conn.send_text(&big_reply).unwrap();
            }
            out.clear();
            pair.conn.poll_transmit(out);
        }
    };
    for bytes in &rounds[..100] {
        round(&mut pair, bytes, &mut out);
    }
    let probe = allocations();
    drop(std::hint::black_box(vec![0u8; 64]));
    assert_eq!(
        allocations() - probe,
        1,
        "the counter sees this thread's allocations"
    );
    let before = allocations();
    for bytes in &rounds[100..] {
        round(&mut pair, bytes, &mut out);
    }
    let made = allocations() - before;
    assert_eq!(
        made,
        0,
        "{made} allocations over {} steady-state rounds",
        rounds.len() - 100
    );
}

#[test]
fn plain_messages_are_borrowed_from_the_receive_buffer() {
    let mut pair = Pair::open();
    let frame = text("{\"zero\":\"copy\"}");
    let buffer = pair.conn.recv_buffer(frame.len());
    buffer[..frame.len()].copy_from_slice(&frame);
    let range = buffer.as_ptr_range();
    pair.conn.handle_received(pair.now, frame.len());
    match pair.conn.poll_event() {
        Some(Event::Message(m)) => {
            assert_eq!(&m.data[..], b"{\"zero\":\"copy\"}");
            assert!(
                range.contains(&m.data.as_ptr()),
                "the message points into the receive buffer"
            );
            // Mutable in place, as simd-json needs.
            m.data[0] = b'[';
        }
        other => panic!("unexpected {other:?}"),
    }
}
