//! The receive and send paths allocate nothing in steady state, and a plain
//! message is handed out as a borrow of the receive buffer.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use flate2::{Compress, Compression, FlushCompress};
use orderwire_protocol::ws::{Config, DeflateConfig, Event};
use support::*;

/// Counts allocations made by the current thread, so that tests running in
/// parallel do not disturb each other.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // try_with: the thread-local may already be gone while a thread exits.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to the System allocator with the caller's
// arguments unchanged; counting touches only a thread-local integer.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as GlobalAlloc::alloc, passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as GlobalAlloc::alloc_zeroed, passed through.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: same contract as GlobalAlloc::realloc, passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as GlobalAlloc::dealloc, passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

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
