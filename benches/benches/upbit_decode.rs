//! ns per Upbit message, in a binary frame as Upbit sends them: a SIMPLE
//! trade, and a 15-level orderbook (DEFAULT), each decoded into the
//! normalised events. orderwire's codec beside serde_json into borrowed
//! typed structs with numbers kept as raw text (`arbitrary_precision`-free:
//! `RawValue`) and parsed to the same exact decimals, the same events
//! pushed into the same `Events`. Each iteration copies the message into a
//! reused buffer, for both.
//!
//! sonic-rs, the fastest JSON peer, does the same with its own borrowed
//! raw values (`LazyValue`) into the same events.
//!
//! After criterion's run it prints the ratio of the medians (each peer
//! over orderwire).
#![forbid(unsafe_code)]

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use orderwire_protocol::model::{BookEvent, Event, Events, Level, Side, Trade, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::upbit::Upbit;
use orderwire_protocol::venue::{FrameKind, Offline};
use serde::Deserialize;
use serde_json::value::RawValue;
use sonic_rs::LazyValue;

/// The page's SIMPLE trade.
pub const TRADE_SIMPLE: &str = r#"{"ty":"trade","cd":"KRW-BTC","tms":1730336862082,"td":"2024-10-31","ttm":"01:07:42","ttms":1730336862047,"tp":100473000.00000000,"tv":0.00014208,"ab":"BID","pcp":100571000.00000000,"c":"FALL","cp":98000.00000000,"sid":17303368620470000,"bap":100473000,"bas":0.43139478,"bbp":100465000,"bbs":0.01990656,"st":"REALTIME"}"#;

/// A 15-level orderbook, in the page's DEFAULT shape.
pub fn orderbook_15() -> String {
    let units: Vec<String> = (0..15)
        .map(|i| {
            format!(
                r#"{{"ask_price":{},"bid_price":{},"ask_size":0.{:08},"bid_size":0.{:08}}}"#,
                137_002_000 + i * 1_000,
                137_001_000 - i * 1_000,
                10_623_869 + i,
                3_656_812 + i
            )
        })
        .collect();
    format!(
        r#"{{"type":"orderbook","code":"KRW-BTC","timestamp":1746601573804,"total_ask_size":4.79158413,"total_bid_size":2.65609625,"orderbook_units":[{}],"stream_type":"REALTIME","level":0}}"#,
        units.join(",")
    )
}

#[derive(Deserialize)]
struct SimpleTrade<'a> {
    ty: &'a str,
    cd: &'a str,
    ttms: u64,
    #[serde(borrow)]
    tp: &'a RawValue,
    #[serde(borrow)]
    tv: &'a RawValue,
    ab: &'a str,
    #[serde(borrow)]
    sid: &'a RawValue,
}

#[derive(Deserialize)]
struct Orderbook<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    code: &'a str,
    timestamp: u64,
    #[serde(borrow)]
    orderbook_units: Vec<Unit<'a>>,
}

#[derive(Deserialize)]
struct Unit<'a> {
    #[serde(borrow)]
    ask_price: &'a RawValue,
    #[serde(borrow)]
    bid_price: &'a RawValue,
    #[serde(borrow)]
    ask_size: &'a RawValue,
    #[serde(borrow)]
    bid_size: &'a RawValue,
}

fn exact(raw: &RawValue) -> Decimal {
    Decimal::parse(raw.get().as_bytes()).expect("a decimal")
}

fn serde_trade(bytes: &[u8], out: &mut Events) {
    let trade: SimpleTrade = serde_json::from_slice(bytes).expect("JSON");
    assert_eq!(trade.ty, "trade");
    out.list.push(Event::Trade(Trade {
        symbol: inline(trade.cd).expect("short"),
        price: exact(trade.tp),
        qty: exact(trade.tv),
        side: match trade.ab {
            "BID" => Some(Side::Buy),
            "ASK" => Some(Side::Sell),
            _ => None,
        },
        trade_id: inline(trade.sid.get()).expect("short"),
        ts: i64::try_from(trade.ttms).ok().map(|ms| ms * 1_000_000),
        from_snapshot: false,
    }));
}

fn serde_orderbook(bytes: &[u8], out: &mut Events) {
    let book: Orderbook = serde_json::from_slice(bytes).expect("JSON");
    assert_eq!(book.kind, "orderbook");
    let base = out.levels.len();
    for unit in &book.orderbook_units {
        out.levels.push(Level {
            price: exact(unit.ask_price),
            qty: exact(unit.ask_size),
        });
    }
    let asks = base..out.levels.len();
    for unit in &book.orderbook_units {
        out.levels.push(Level {
            price: exact(unit.bid_price),
            qty: exact(unit.bid_size),
        });
    }
    let bids = asks.end..out.levels.len();
    out.list.push(Event::Book(BookEvent {
        symbol: inline(book.code).expect("short"),
        snapshot: true,
        bids,
        asks,
        checksum: None,
        sequence: None,
        ts: i64::try_from(book.timestamp).ok().map(|ms| ms * 1_000_000),
        from_snapshot: false,
        grouping: None,
    }));
}

#[derive(Deserialize)]
struct SonicTrade<'a> {
    ty: &'a str,
    cd: &'a str,
    ttms: u64,
    #[serde(borrow)]
    tp: LazyValue<'a>,
    #[serde(borrow)]
    tv: LazyValue<'a>,
    ab: &'a str,
    #[serde(borrow)]
    sid: LazyValue<'a>,
}

#[derive(Deserialize)]
struct SonicOrderbook<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    code: &'a str,
    timestamp: u64,
    #[serde(borrow)]
    orderbook_units: Vec<SonicUnit<'a>>,
}

#[derive(Deserialize)]
struct SonicUnit<'a> {
    #[serde(borrow)]
    ask_price: LazyValue<'a>,
    #[serde(borrow)]
    bid_price: LazyValue<'a>,
    #[serde(borrow)]
    ask_size: LazyValue<'a>,
    #[serde(borrow)]
    bid_size: LazyValue<'a>,
}

fn lazy(raw: &LazyValue<'_>) -> Decimal {
    Decimal::parse(raw.as_raw_str().as_bytes()).expect("a decimal")
}

fn sonic_trade(bytes: &[u8], out: &mut Events) {
    let trade: SonicTrade = sonic_rs::from_slice(bytes).expect("JSON");
    assert_eq!(trade.ty, "trade");
    out.list.push(Event::Trade(Trade {
        symbol: inline(trade.cd).expect("short"),
        price: lazy(&trade.tp),
        qty: lazy(&trade.tv),
        side: match trade.ab {
            "BID" => Some(Side::Buy),
            "ASK" => Some(Side::Sell),
            _ => None,
        },
        trade_id: inline(trade.sid.as_raw_str()).expect("short"),
        ts: i64::try_from(trade.ttms).ok().map(|ms| ms * 1_000_000),
        from_snapshot: false,
    }));
}

fn sonic_orderbook(bytes: &[u8], out: &mut Events) {
    let book: SonicOrderbook = sonic_rs::from_slice(bytes).expect("JSON");
    assert_eq!(book.kind, "orderbook");
    let base = out.levels.len();
    for unit in &book.orderbook_units {
        out.levels.push(Level {
            price: lazy(&unit.ask_price),
            qty: lazy(&unit.ask_size),
        });
    }
    let asks = base..out.levels.len();
    for unit in &book.orderbook_units {
        out.levels.push(Level {
            price: lazy(&unit.bid_price),
            qty: lazy(&unit.bid_size),
        });
    }
    let bids = asks.end..out.levels.len();
    out.list.push(Event::Book(BookEvent {
        symbol: inline(book.code).expect("short"),
        snapshot: true,
        bids,
        asks,
        checksum: None,
        sequence: None,
        ts: i64::try_from(book.timestamp).ok().map(|ms| ms * 1_000_000),
        from_snapshot: false,
        grouping: None,
    }));
}

fn bench(c: &mut Criterion) {
    let mut buffer = Vec::with_capacity(4096);
    let mut offline = Offline::new(0);
    let mut codec = Upbit::public();
    let mut events = Events::default();
    let book = orderbook_15();
    let mut group = c.benchmark_group("upbit_decode");
    let cases: [(&str, &[u8], usize); 2] = [
        ("trade_simple", TRADE_SIMPLE.as_bytes(), 0),
        ("orderbook_15", book.as_bytes(), 30),
    ];
    for (name, message, levels) in cases {
        // Both sides build the same events.
        events.clear();
        buffer.clear();
        buffer.extend_from_slice(message);
        offline
            .decode(&mut codec, FrameKind::Binary, &mut buffer, &mut events)
            .expect("decodes");
        let ours = (events.list.clone(), events.levels.clone());
        events.clear();
        if levels == 0 {
            serde_trade(message, &mut events);
        } else {
            serde_orderbook(message, &mut events);
        }
        assert_eq!((events.list.clone(), events.levels.clone()), ours);
        events.clear();
        if levels == 0 {
            sonic_trade(message, &mut events);
        } else {
            sonic_orderbook(message, &mut events);
        }
        assert_eq!((events.list.clone(), events.levels.clone()), ours);
        group.bench_function(format!("{name}/orderwire"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(message);
                events.clear();
                offline
                    .decode(&mut codec, FrameKind::Binary, &mut buffer, &mut events)
                    .expect("decodes");
                assert_eq!(events.levels.len(), levels);
                black_box(&events);
            })
        });
        group.bench_function(format!("{name}/serde_json"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(message);
                events.clear();
                if levels == 0 {
                    serde_trade(&buffer, &mut events);
                } else {
                    serde_orderbook(&buffer, &mut events);
                }
                black_box(&events);
            })
        });
        group.bench_function(format!("{name}/sonic_rs"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(message);
                events.clear();
                if levels == 0 {
                    sonic_trade(&buffer, &mut events);
                } else {
                    sonic_orderbook(&buffer, &mut events);
                }
                black_box(&events);
            })
        });
    }
    group.finish();
    orderwire_benches::report_decode_ratios(
        "upbit_decode",
        &["trade_simple", "orderbook_15"],
        "serde_json",
    );
    orderwire_benches::report_decode_ratios_against(
        "upbit_decode",
        &["trade_simple", "orderbook_15"],
        "sonic_rs",
        1.2,
    );
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
