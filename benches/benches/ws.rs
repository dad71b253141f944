//! WebSocket codec throughput against tungstenite, in one process and run.
//!
//! `ws_decode`: unmasked server text frames, decoded to a message.
//! `ws_encode`: client text messages, masked into a frame.
//! tungstenite runs in its client role over an in-memory stream.
//!
//! Both decoders see the same read pattern. In `ws_decode` every read
//! returns one frame, as a socket delivers a message per readiness event at
//! trading message rates. In `ws_decode_batched` every read returns about
//! 64 KiB of back-to-back frames, tungstenite's best case (it sizes its read
//! buffer for bulk reads); times there are per message.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::io::{self, Read, Write};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use orderwire_benches::{json_payload, open_conn};
use orderwire_protocol::Instant;
use orderwire_protocol::ws::frame::{OpCode, write_frame};
use orderwire_protocol::ws::{Config, Event};
use tungstenite::protocol::{Role, WebSocket, WebSocketConfig};
use tungstenite::{Message, Utf8Bytes};

const SIZES: [usize; 4] = [64, 512, 4096, 65536];

/// Returns the same bytes on every read, like a socket with endless
/// traffic; a read never spans two copies of `data`.
struct Replay {
    data: Vec<u8>,
    pos: usize,
}

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.data.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos = (self.pos + n) % self.data.len();
        Ok(n)
    }
}

impl Write for Replay {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn server_frame(len: usize) -> Vec<u8> {
    let mut frame = Vec::new();
    write_frame(
        &mut frame,
        true,
        0,
        OpCode::Text,
        None,
        json_payload(len).as_bytes(),
    );
    frame
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws_decode");
    for size in SIZES {
        let frame = server_frame(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("orderwire", size), &frame, |b, frame| {
            let mut conn = open_conn(Config::default());
            b.iter(|| {
                conn.handle_input(Instant(2), frame);
                match conn.poll_event() {
                    Some(Event::Message(m)) => black_box(m.data.len()),
                    _ => unreachable!("every frame is a message"),
                }
            });
        });
        group.bench_with_input(BenchmarkId::new("tungstenite", size), &frame, |b, frame| {
            let stream = Replay {
                data: frame.clone(),
                pos: 0,
            };
            let mut ws = WebSocket::from_raw_socket(stream, Role::Client, None);
            b.iter(|| match ws.read() {
                Ok(Message::Text(t)) => black_box(t.len()),
                other => unreachable!("every frame is a text message: {other:?}"),
            });
        });
        // tungstenite zero-fills its whole read window (128 KiB by default)
        // before every read; a 4 KiB window is what a user tuning it for
        // small messages would set, so both figures are shown.
        group.bench_with_input(
            BenchmarkId::new("tungstenite_4k_reads", size),
            &frame,
            |b, frame| {
                let stream = Replay {
                    data: frame.clone(),
                    pos: 0,
                };
                let config = WebSocketConfig::default().read_buffer_size(4096);
                let mut ws = WebSocket::from_raw_socket(stream, Role::Client, Some(config));
                b.iter(|| match ws.read() {
                    Ok(Message::Text(t)) => black_box(t.len()),
                    other => unreachable!("every frame is a text message: {other:?}"),
                });
            },
        );
    }
    group.finish();
}

/// Frames of `size` bytes back to back, about 64 KiB in all, and their count.
fn frame_batch(size: usize) -> (Vec<u8>, usize) {
    let frame = server_frame(size);
    let count = ((64 << 10) / frame.len()).max(1);
    (frame.repeat(count), count)
}

fn decode_batched(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws_decode_batched");
    for size in SIZES {
        let (batch, count) = frame_batch(size);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(BenchmarkId::new("orderwire", size), &batch, |b, batch| {
            let mut conn = open_conn(Config::default());
            b.iter(|| {
                conn.handle_input(Instant(2), batch);
                let mut total = 0;
                while let Some(Event::Message(m)) = conn.poll_event() {
                    total += m.data.len();
                }
                black_box(total)
            });
        });
        group.bench_with_input(BenchmarkId::new("tungstenite", size), &batch, |b, batch| {
            let stream = Replay {
                data: batch.clone(),
                pos: 0,
            };
            let mut ws = WebSocket::from_raw_socket(stream, Role::Client, None);
            b.iter(|| {
                let mut total = 0;
                for _ in 0..count {
                    match ws.read() {
                        Ok(Message::Text(t)) => total += t.len(),
                        other => unreachable!("every frame is a text message: {other:?}"),
                    }
                }
                black_box(total)
            });
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws_encode");
    for size in SIZES {
        let payload: &'static str = Box::leak(json_payload(size).into_boxed_str());
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::new("orderwire", size),
            payload,
            |b, payload| {
                let mut conn = open_conn(Config::default());
                let mut out = Vec::with_capacity(2 * size + 64);
                b.iter(|| {
                    conn.send_text(payload).expect("connection is open");
                    conn.poll_transmit(&mut out);
                    black_box(out.len());
                    out.clear();
                });
            },
        );
        group.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            let stream = Replay {
                data: vec![0],
                pos: 0,
            };
            let mut ws = WebSocket::from_raw_socket(stream, Role::Client, None);
            // A refcounted static payload: no copy is charged to tungstenite.
            let message = Utf8Bytes::from_static(payload);
            b.iter(|| {
                ws.send(Message::Text(message.clone()))
                    .expect("sink accepts")
            });
        });
    }
    group.finish();
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::decode, super::decode_batched, super::encode);
}
criterion_main!(group::benches);
