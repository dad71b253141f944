//! ns per DigiFinex message, in a binary zlib frame as DigiFinex sends
//! them: a 20-level depth update and a trades push, each inflated and
//! decoded into the normalised events. orderwire's codec (one reused
//! inflater, the JSON scanner) beside flate2 (a fresh `ZlibDecoder` into a
//! `Vec`, as a straightforward client does) and serde_json into borrowed
//! typed structs with decimals parsed from their text, building the same
//! events. Each iteration copies the frame into a reused buffer, for both.
//! The same two messages as text frames show the decoding apart from the
//! inflation, which dominates both sides; a second peer reuses one flate2
//! `Decompress`, as orderwire does, so the inflation is the same work.
//!
//! sonic-rs, the fastest JSON peer, runs the same typed structs after the
//! reused inflater (`{case}/sonic_rs`).
//!
//! After criterion's run it prints the ratio of the medians.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::io::{Read, Write};

use criterion::{Criterion, criterion_main};
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::{Compression, Decompress, FlushDecompress, Status};
use orderwire_benches::{JsonPeer, RawText, SerdeJson, SonicRs};
use orderwire_protocol::model::{BookEvent, Event, Events, Level, Side, Trade, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::digifinex::DigiFinex;
use orderwire_protocol::venue::{FrameKind, Offline};
use serde::Deserialize;

fn zlib(text: &str) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text.as_bytes()).expect("in memory");
    encoder.finish().expect("in memory")
}

fn depth_20() -> String {
    let levels = |base: u32| -> String {
        (0..10)
            .map(|i| format!(r#"["{}.{:02}","{}.{:04}"]"#, base + i, i, i + 1, 1000 + i))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"method":"depth.update","params":[true,{{"asks":[{}],"bids":[{}]}},"BTC_USDT"],"id":null}}"#,
        levels(8000),
        levels(7000)
    )
}

const TRADES: &str = r#"{"method":"trades.update","params":[false,[{"id":7172173,"time":1523339279.761838,"price":"398.59","amount":"0.027","type":"buy"},{"id":7172174,"time":1523339279.900000,"price":"398.60","amount":"0.5","type":"sell"}],"ETH_USDT"],"id":null}"#;

#[derive(Deserialize)]
struct Push<'a, P> {
    #[serde(borrow)]
    method: &'a str,
    params: P,
}

#[derive(Deserialize)]
struct Depth<'a> {
    #[serde(borrow)]
    asks: Vec<(&'a str, &'a str)>,
    #[serde(borrow)]
    bids: Vec<(&'a str, &'a str)>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a, J::Raw<'a>: Deserialize<'de>"))]
struct PushTrade<'a, J: JsonPeer> {
    id: u64,
    time: J::Raw<'a>,
    #[serde(borrow)]
    price: &'a str,
    #[serde(borrow)]
    amount: &'a str,
    #[serde(rename = "type", borrow)]
    side: &'a str,
}

fn exact(text: &str) -> Decimal {
    Decimal::parse(text.as_bytes()).expect("a decimal")
}

/// The peer's inflation: a fresh `ZlibDecoder` per message (as a client
/// calling `zlib.decompress` does), or, with `reused`, one flate2
/// `Decompress` reset per message (the same reuse orderwire makes).
struct PeerText {
    text: String,
    reused: Option<Decompress>,
}

/// The message's text: inflated from a zlib frame, or the text frame's own.
fn inflate<'a>(frame: &[u8], peer: &'a mut PeerText) -> &'a str {
    peer.text.clear();
    if frame.first() == Some(&b'{') {
        peer.text
            .push_str(std::str::from_utf8(frame).expect("UTF-8"));
        return &peer.text;
    }
    match &mut peer.reused {
        None => {
            ZlibDecoder::new(frame)
                .read_to_string(&mut peer.text)
                .expect("zlib");
        }
        Some(decompress) => {
            decompress.reset(true);
            let mut bytes = std::mem::take(&mut peer.text).into_bytes();
            let status = decompress
                .decompress_vec(frame, &mut bytes, FlushDecompress::Finish)
                .expect("zlib");
            assert_eq!(status, Status::StreamEnd, "the buffer holds the message");
            peer.text = String::from_utf8(bytes).expect("UTF-8");
        }
    }
    &peer.text
}

fn peer_depth<J: JsonPeer>(frame: &[u8], peer: &mut PeerText, out: &mut Events) {
    let text = inflate(frame, peer);
    let push: Push<(bool, Depth, &str)> = J::parse(text.as_bytes());
    assert_eq!(push.method, "depth.update");
    let (clean, depth, symbol) = push.params;
    let base = out.levels.len();
    for (price, qty) in &depth.asks {
        out.levels.push(Level {
            price: exact(price),
            qty: exact(qty),
        });
    }
    let asks = base..out.levels.len();
    for (price, qty) in &depth.bids {
        out.levels.push(Level {
            price: exact(price),
            qty: exact(qty),
        });
    }
    let bids = asks.end..out.levels.len();
    out.list.push(Event::Book(BookEvent {
        symbol: inline(symbol).expect("short"),
        snapshot: clean,
        bids,
        asks,
        checksum: None,
        sequence: None,
        ts: None,
        from_snapshot: clean,
        grouping: None,
    }));
}

fn peer_trades<J: JsonPeer>(frame: &[u8], peer: &mut PeerText, out: &mut Events) {
    let text = inflate(frame, peer);
    let push: Push<(bool, Vec<PushTrade<J>>, &str)> = J::parse(text.as_bytes());
    assert_eq!(push.method, "trades.update");
    let (clean, trades, symbol) = push.params;
    for trade in trades {
        let time = trade.time.text();
        let (whole, fraction) = time.split_once('.').unwrap_or((time, ""));
        let nanos = format!("{fraction:0<9}").parse::<i64>().unwrap_or(0);
        out.list.push(Event::Trade(Trade {
            symbol: inline(symbol).expect("short"),
            price: exact(trade.price),
            qty: exact(trade.amount),
            side: match trade.side {
                "buy" => Some(Side::Buy),
                "sell" => Some(Side::Sell),
                _ => None,
            },
            trade_id: inline(&trade.id.to_string()).expect("short"),
            ts: whole.parse::<i64>().ok().map(|s| s * 1_000_000_000 + nanos),
            from_snapshot: clean,
        }));
    }
}

fn bench(c: &mut Criterion) {
    let mut buffer = Vec::with_capacity(4096);
    let mut fresh = PeerText {
        text: String::with_capacity(4096),
        reused: None,
    };
    let mut reused = PeerText {
        text: String::with_capacity(4096),
        reused: Some(Decompress::new(true)),
    };
    let mut offline = Offline::new(0);
    let mut codec = DigiFinex::public();
    let mut events = Events::default();
    let depth_text = depth_20();
    let depth = zlib(&depth_text);
    let trades = zlib(TRADES);
    let mut group = c.benchmark_group("digifinex_decode");
    type Peer = fn(&[u8], &mut PeerText, &mut Events);
    // The zlib frames DigiFinex sends, and the same messages as text
    // frames, to show the JSON decoding's share apart from inflation.
    let (depth_serde, depth_sonic): (Peer, Peer) = (peer_depth::<SerdeJson>, peer_depth::<SonicRs>);
    let (trades_serde, trades_sonic): (Peer, Peer) =
        (peer_trades::<SerdeJson>, peer_trades::<SonicRs>);
    let cases: [(&str, &[u8], FrameKind, Peer, Peer); 4] = [
        (
            "depth_20_zlib",
            &depth,
            FrameKind::Binary,
            depth_serde,
            depth_sonic,
        ),
        (
            "trades_zlib",
            &trades,
            FrameKind::Binary,
            trades_serde,
            trades_sonic,
        ),
        (
            "depth_20_text",
            depth_text.as_bytes(),
            FrameKind::Text,
            depth_serde,
            depth_sonic,
        ),
        (
            "trades_text",
            TRADES.as_bytes(),
            FrameKind::Text,
            trades_serde,
            trades_sonic,
        ),
    ];
    for (name, frame, kind, peer, sonic) in cases {
        // Both sides build the same events.
        events.clear();
        buffer.clear();
        buffer.extend_from_slice(frame);
        offline
            .decode(&mut codec, kind, &mut buffer, &mut events)
            .expect("decodes");
        let ours = (events.list.clone(), events.levels.clone());
        events.clear();
        peer(frame, &mut fresh, &mut events);
        assert_eq!((events.list.clone(), events.levels.clone()), ours);
        group.bench_function(format!("{name}/orderwire"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(frame);
                events.clear();
                offline
                    .decode(&mut codec, kind, &mut buffer, &mut events)
                    .expect("decodes");
                black_box(&events);
            })
        });
        group.bench_function(format!("{name}/flate2_serde_json"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(frame);
                events.clear();
                peer(&buffer, &mut fresh, &mut events);
                black_box(&events);
            })
        });
        // sonic-rs, with the reused inflater: the fastest peer there is.
        events.clear();
        sonic(frame, &mut reused, &mut events);
        assert_eq!((events.list.clone(), events.levels.clone()), ours);
        group.bench_function(format!("{name}/sonic_rs"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(frame);
                events.clear();
                sonic(&buffer, &mut reused, &mut events);
                black_box(&events);
            })
        });
        if kind == FrameKind::Binary {
            events.clear();
            peer(frame, &mut reused, &mut events);
            assert_eq!((events.list.clone(), events.levels.clone()), ours);
            group.bench_function(format!("{name}/flate2_reused_serde_json"), |b| {
                b.iter(|| {
                    buffer.clear();
                    buffer.extend_from_slice(frame);
                    events.clear();
                    peer(&buffer, &mut reused, &mut events);
                    black_box(&events);
                })
            });
        }
    }
    group.finish();
    orderwire_benches::report_decode_ratios(
        "digifinex_decode",
        &[
            "depth_20_zlib",
            "trades_zlib",
            "depth_20_text",
            "trades_text",
        ],
        "flate2_serde_json",
    );
    orderwire_benches::report_decode_ratios(
        "digifinex_decode",
        &["depth_20_zlib", "trades_zlib"],
        "flate2_reused_serde_json",
    );
    orderwire_benches::report_decode_ratios_against(
        "digifinex_decode",
        &[
            "depth_20_zlib",
            "trades_zlib",
            "depth_20_text",
            "trades_text",
        ],
        SonicRs::NAME,
        1.2,
    );
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
