//! ns per Kraken message: an executions trade update, and a 10-level book
//! update applied to the book with its CRC32 checksum verified. orderwire's
//! codec (the zero-copy scanner, exact decimals) beside:
//! - serde_json into borrowed typed structs, numbers kept as raw text
//!   (`RawValue`) and parsed to the same exact decimals, the book updated
//!   and checksummed the same way: the same work, done the serde way;
//! - simd-json's borrowed value with reused buffers, fields read out as
//!   f64: faster parsing is possible that way, but it cannot give exact
//!   decimals or a checksum over the wire text, so it is a reference only.
//!
//! - sonic-rs, the fastest JSON peer, into the same typed structs with its
//!   own borrowed raw values (`orderwire_benches::JsonPeer`).
//!
//! Each iteration copies the message into a reused buffer first (simd-json
//! parses in place; the others pay the same copy).
#![forbid(unsafe_code)]

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use orderwire_benches::{JsonPeer, RawText, SerdeJson, SonicRs};
use orderwire_protocol::book::Book;
use orderwire_protocol::model::{Events, Level};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::kraken::{Kraken, book_checksum};
use orderwire_protocol::venue::{FrameKind, Offline, Venue};
use orderwire_protocol::wallclock::parse_rfc3339;
use serde::Deserialize;
use simd_json::prelude::*;

const EXECUTION: &str = r#"{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5","order_userref":3,"exec_id":"TGBB7L-HT5LX-J3BZ4A","exec_type":"trade","trade_id":62887576,"symbol":"BTC/USD","side":"sell","last_qty":0.005,"last_price":26599.9,"liquidity_ind":"t","cost":132.9995,"order_type":"limit","timestamp":"2023-09-22T10:33:05.709993Z","order_status":"partially_filled","cum_qty":0.005,"cum_cost":132.9995,"avg_price":26599.9,"fee_usd_equiv":0.3458,"fees":[{"asset":"USD","qty":0.3458}]}],"sequence":10}"#;
const SNAPSHOT: &str = include_str!("../../protocol/tests/kraken/book_snapshot.json");
/// Ten levels (five a side) re-stating the documented snapshot's
/// quantities, so the book and its checksum stay valid however often it runs.
const BOOK_UPDATE: &str = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":0.10000000},{"price":45283.4,"qty":1.54582015},{"price":45282.1,"qty":0.10000000},{"price":45281.0,"qty":0.10000000},{"price":45280.3,"qty":1.54592586}],"asks":[{"price":45285.2,"qty":0.00100000},{"price":45286.4,"qty":1.54571953},{"price":45286.6,"qty":1.54571109},{"price":45289.6,"qty":1.54560911},{"price":45290.2,"qty":0.15890660}],"checksum":3310070434,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#;

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a, J::Raw<'a>: Deserialize<'de>"))]
struct Envelope<'a, J: JsonPeer> {
    #[serde(borrow)]
    channel: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    data: Vec<J::Raw<'a>>,
    sequence: Option<u64>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a, J::Raw<'a>: Deserialize<'de>"))]
struct Execution<'a, J: JsonPeer> {
    order_id: &'a str,
    exec_id: Option<&'a str>,
    exec_type: Option<&'a str>,
    symbol: Option<&'a str>,
    side: Option<&'a str>,
    last_qty: Option<J::Raw<'a>>,
    last_price: Option<J::Raw<'a>>,
    liquidity_ind: Option<&'a str>,
    order_status: Option<&'a str>,
    cum_qty: Option<J::Raw<'a>>,
    timestamp: Option<&'a str>,
    fees: Option<Vec<Fee<'a, J>>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a, J::Raw<'a>: Deserialize<'de>"))]
struct Fee<'a, J: JsonPeer> {
    asset: &'a str,
    qty: J::Raw<'a>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a, J::Raw<'a>: Deserialize<'de>"))]
struct BookData<'a, J: JsonPeer> {
    symbol: &'a str,
    #[serde(default)]
    bids: Vec<RawLevel<'a, J>>,
    #[serde(default)]
    asks: Vec<RawLevel<'a, J>>,
    checksum: Option<u32>,
    timestamp: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a, J::Raw<'a>: Deserialize<'de>"))]
struct RawLevel<'a, J: JsonPeer> {
    price: J::Raw<'a>,
    qty: J::Raw<'a>,
}

/// What a decode has to produce from the trade update.
fn peer_execution<J: JsonPeer>(text: &[u8]) -> (usize, Decimal, Decimal, i64) {
    let envelope: Envelope<J> = J::parse(text);
    assert_eq!(envelope.channel, "executions");
    let mut out = (0, Decimal::ZERO, Decimal::ZERO, 0);
    for item in envelope.data {
        let e: Execution<J> = J::parse(item.text().as_bytes());
        black_box((
            e.order_id,
            e.exec_id,
            e.exec_type,
            e.symbol,
            e.side,
            e.liquidity_ind,
            e.order_status,
        ));
        let fee = e
            .fees
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| (f.asset, f.qty.decimal()));
        black_box((
            fee,
            e.cum_qty.as_ref().map(RawText::decimal),
            envelope.kind,
            envelope.sequence,
        ));
        out = (
            out.0 + 1,
            e.last_price
                .as_ref()
                .map_or(Decimal::ZERO, RawText::decimal),
            e.last_qty.as_ref().map_or(Decimal::ZERO, RawText::decimal),
            e.timestamp
                .and_then(|t| parse_rfc3339(t.as_bytes()))
                .unwrap_or(0),
        );
    }
    out
}

fn peer_book<J: JsonPeer>(text: &[u8], book: &mut Book, levels: &mut Vec<Level>) -> bool {
    let envelope: Envelope<J> = J::parse(text);
    let mut ok = true;
    for item in envelope.data {
        let data: BookData<J> = J::parse(item.text().as_bytes());
        black_box((
            data.symbol,
            data.timestamp.and_then(|t| parse_rfc3339(t.as_bytes())),
        ));
        levels.clear();
        for level in &data.bids {
            book.update_bid(Level {
                price: level.price.decimal(),
                qty: level.qty.decimal(),
            });
        }
        for level in &data.asks {
            book.update_ask(Level {
                price: level.price.decimal(),
                qty: level.qty.decimal(),
            });
        }
        book.truncate();
        ok &= data.checksum == Some(book_checksum(book));
    }
    ok
}

fn simd_fields(buffer: &mut [u8], buffers: &mut simd_json::Buffers) -> f64 {
    let value = simd_json::to_borrowed_value_with_buffers(buffer, buffers).expect("JSON");
    let mut sum = 0.0;
    if let Some(data) = value.get("data").and_then(|d| d.as_array()) {
        for item in data {
            for key in ["last_price", "last_qty", "cum_qty"] {
                sum += item.get(key).and_then(|v| v.as_f64()).unwrap_or(0.0);
            }
            for side in ["bids", "asks"] {
                if let Some(levels) = item.get(side).and_then(|l| l.as_array()) {
                    for level in levels {
                        sum += level.get("price").and_then(|v| v.as_f64()).unwrap_or(0.0);
                        sum += level.get("qty").and_then(|v| v.as_f64()).unwrap_or(0.0);
                    }
                }
            }
            black_box((
                item.get("order_id").and_then(|v| v.as_str()),
                item.get("timestamp").and_then(|v| v.as_str()),
            ));
        }
    }
    sum
}

fn bench(c: &mut Criterion) {
    let mut buffer = Vec::with_capacity(4096);
    // The driver of every decode: the engine builds the same context per
    // message.
    let mut offline = Offline::new(0);
    let mut group = c.benchmark_group("kraken_decode");
    for (name, message) in [
        ("execution_trade", EXECUTION),
        ("book_update_10", BOOK_UPDATE),
    ] {
        let mut codec = Kraken::public();
        let mut events = Events::default();
        let mut snapshot = SNAPSHOT.as_bytes().to_vec();
        offline
            .decode(&mut codec, FrameKind::Text, &mut snapshot, &mut events)
            .expect("snapshot");
        group.bench_function(format!("{name}/orderwire"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(message.as_bytes());
                events.clear();
                if name == "execution_trade" {
                    // The same sequence number every time: forget it, so no
                    // gap is reported (the cost of a few stores).
                    codec.reset();
                }
                offline
                    .decode(&mut codec, FrameKind::Text, &mut buffer, &mut events)
                    .expect("decodes");
                assert_eq!(
                    events.list.len(),
                    if name == "book_update_10" { 1 } else { 2 },
                    "no checksum mismatch"
                );
                black_box(&events);
            })
        });
        bench_peer::<SerdeJson>(&mut group, &mut buffer, name, message);
        bench_peer::<SonicRs>(&mut group, &mut buffer, name, message);
        let mut buffers = simd_json::Buffers::default();
        group.bench_function(format!("{name}/simd_json_f64_inexact"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(message.as_bytes());
                black_box(simd_fields(&mut buffer, &mut buffers));
            })
        });
    }
    group.finish();
    let benches = ["execution_trade", "book_update_10"];
    orderwire_benches::report_decode_ratios("kraken_decode", &benches, SerdeJson::NAME);
    orderwire_benches::report_decode_ratios_against("kraken_decode", &benches, SonicRs::NAME, 1.2);
}

fn bench_peer<J: JsonPeer>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    buffer: &mut Vec<u8>,
    name: &str,
    message: &str,
) {
    let mut book = Book::new(10);
    let mut levels = Vec::new();
    peer_book::<J>(SNAPSHOT.as_bytes(), &mut book, &mut levels);
    group.bench_function(format!("{name}/{}", J::NAME), |b| {
        b.iter(|| {
            buffer.clear();
            buffer.extend_from_slice(message.as_bytes());
            if name == "book_update_10" {
                assert!(peer_book::<J>(buffer, &mut book, &mut levels));
            } else {
                black_box(peer_execution::<J>(buffer));
            }
        })
    });
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
