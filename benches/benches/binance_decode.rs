//! ns per Binance message: a 20-level diff-depth update applied to a synced
//! book (U/u checked), and an order.place FULL reply with its fills and
//! rateLimits, each decoded into the normalised events. orderwire's codec
//! beside serde_json into borrowed typed structs with decimals kept as raw
//! text and parsed to the same exact decimals, the same U/u rule, the same
//! book and the same events pushed into the same `Events`: what a
//! serde-based `Venue::decode` would do. Each iteration copies the message into a reused buffer (and
//! writes the next update ids into it), for both.
//!
//! sonic-rs, the fastest JSON peer, runs the same typed structs with its
//! own borrowed raw values (`orderwire_benches::JsonPeer`).
//!
//! After criterion's run it prints the ratio of the medians (each peer
//! over orderwire) from criterion's own estimates.
#![forbid(unsafe_code)]

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use orderwire_benches::{JsonPeer, RawText, SerdeJson, SonicRs};
use orderwire_protocol::book::Book;
use orderwire_protocol::model::{
    BookEvent, Event, Events, Fill, Level, Liquidity, Method, OrderAck, OrderStatus, OrderUpdate,
    RateCounter, RateUsage, Side, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::binance::{BinanceApi, BinanceStreams};
use orderwire_protocol::venue::{FrameKind, Offline};
use serde::Deserialize;

/// Ten bids and ten asks re-stating the snapshot's quantities, so the book
/// stays the same however often it runs. `U` and `u` are rewritten in place
/// each iteration (fixed-width digits).
const DEPTH_20: &str = r#"{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":1000000001,"u":1000000001,"b":[["0.00240000","10.00000000"],["0.00239000","11.00000000"],["0.00238000","12.00000000"],["0.00237000","13.00000000"],["0.00236000","14.00000000"],["0.00235000","15.00000000"],["0.00234000","16.00000000"],["0.00233000","17.00000000"],["0.00232000","18.00000000"],["0.00231000","19.00000000"]],"a":[["0.00260000","20.00000000"],["0.00261000","21.00000000"],["0.00262000","22.00000000"],["0.00263000","23.00000000"],["0.00264000","24.00000000"],["0.00265000","25.00000000"],["0.00266000","26.00000000"],["0.00267000","27.00000000"],["0.00268000","28.00000000"],["0.00269000","29.00000000"]]}"#;

const PLACE_FULL: &str = r#"{"id":1,"status":200,"result":{"symbol":"BTCUSDT","orderId":12569099453,"orderListId":-1,"clientOrderId":"4d96324ff9d44481926157ec08158a40","transactTime":1660801715639,"price":"23416.10000000","origQty":"0.00847000","executedQty":"0.00847000","cummulativeQuoteQty":"198.33521500","status":"FILLED","timeInForce":"GTC","type":"LIMIT","side":"SELL","workingTime":1660801715639,"fills":[{"price":"23416.10000000","qty":"0.00400000","commission":"0.00000000","commissionAsset":"BNB","tradeId":1650422481},{"price":"23416.10000000","qty":"0.00300000","commission":"0.00000000","commissionAsset":"BNB","tradeId":1650422482},{"price":"23416.50000000","qty":"0.00147000","commission":"0.00000000","commissionAsset":"BNB","tradeId":1650422483}],"selfTradePreventionMode":"NONE"},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":11},{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":1},{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":160000,"count":1}]}"#;

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a, P::Raw<'a>: Deserialize<'de>"))]
struct Depth<'a, P: JsonPeer> {
    e: &'a str,
    #[serde(rename = "E")]
    time: u64,
    s: &'a str,
    #[serde(rename = "U")]
    first: u64,
    u: u64,
    b: Vec<(P::Raw<'a>, P::Raw<'a>)>,
    a: Vec<(P::Raw<'a>, P::Raw<'a>)>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a, P::Raw<'a>: Deserialize<'de>"))]
struct Reply<'a, P: JsonPeer> {
    id: u64,
    status: u16,
    result: Placed<'a, P>,
    #[serde(rename = "rateLimits", borrow)]
    rate_limits: Vec<RateLimit<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "'de: 'a, P::Raw<'a>: Deserialize<'de>"))]
struct Placed<'a, P: JsonPeer> {
    symbol: &'a str,
    order_id: u64,
    client_order_id: &'a str,
    transact_time: u64,
    price: P::Raw<'a>,
    orig_qty: P::Raw<'a>,
    executed_qty: P::Raw<'a>,
    status: &'a str,
    side: &'a str,
    fills: Vec<PlacedFill<'a, P>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "'de: 'a, P::Raw<'a>: Deserialize<'de>"))]
struct PlacedFill<'a, P: JsonPeer> {
    price: P::Raw<'a>,
    qty: P::Raw<'a>,
    commission: P::Raw<'a>,
    commission_asset: &'a str,
    trade_id: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimit<'a> {
    rate_limit_type: &'a str,
    interval: &'a str,
    interval_num: u32,
    limit: u32,
    count: u32,
}

fn peer_depth<P: JsonPeer>(
    text: &[u8],
    book: &mut Book,
    last_id: &mut u64,
    out: &mut Events,
) -> usize {
    let depth: Depth<P> = P::parse(text);
    assert_eq!(depth.e, "depthUpdate");
    if depth.u <= *last_id {
        return 0;
    }
    assert!(depth.first <= *last_id + 1, "no gap");
    let start = out.levels.len();
    for (price, qty) in &depth.b {
        let level = Level {
            price: price.decimal(),
            qty: qty.decimal(),
        };
        book.update_bid(level);
        out.levels.push(level);
    }
    let middle = out.levels.len();
    for (price, qty) in &depth.a {
        let level = Level {
            price: price.decimal(),
            qty: qty.decimal(),
        };
        book.update_ask(level);
        out.levels.push(level);
    }
    book.truncate();
    *last_id = depth.u;
    out.list.push(Event::Book(BookEvent {
        symbol: inline(depth.s).expect("symbol"),
        snapshot: false,
        bids: start..middle,
        asks: middle..out.levels.len(),
        checksum: None,
        sequence: Some(depth.u),
        ts: i64::try_from(depth.time)
            .ok()
            .map(|ms| ms.saturating_mul(1_000_000)),
        from_snapshot: false,
        grouping: None,
    }));
    depth.b.len() + depth.a.len()
}

fn peer_place<P: JsonPeer>(text: &[u8], out: &mut Events) -> usize {
    let reply: Reply<P> = P::parse(text);
    assert_eq!(reply.status, 200);
    for limit in &reply.rate_limits {
        let counter = match limit.rate_limit_type {
            "ORDERS" => RateCounter::Orders,
            "RAW_REQUESTS" => RateCounter::RawRequests,
            _ => RateCounter::RequestWeight,
        };
        let unit = match limit.interval {
            "SECOND" => 1,
            "MINUTE" => 60,
            "HOUR" => 3_600,
            _ => 86_400,
        };
        out.list.push(Event::RateUsage(RateUsage {
            req_id: Some(reply.id),
            counter,
            window_secs: unit * u64::from(limit.interval_num),
            limit: limit.limit,
            count: limit.count,
        }));
    }
    let placed = &reply.result;
    let order_id = inline(&placed.order_id.to_string()).expect("id");
    let client = inline(placed.client_order_id);
    let symbol = inline(placed.symbol);
    let side = match placed.side {
        "BUY" => Some(Side::Buy),
        "SELL" => Some(Side::Sell),
        _ => None,
    };
    let ts = i64::try_from(placed.transact_time)
        .ok()
        .map(|ms| ms.saturating_mul(1_000_000));
    out.list.push(Event::OrderAck(OrderAck {
        req_id: Some(reply.id),
        method: Method::Place,
        order_id: Some(order_id),
        client_order_id: client,
        ts_in: None,
        ts_out: ts,
    }));
    let status = match placed.status {
        "FILLED" => OrderStatus::Filled,
        "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
        "CANCELED" => OrderStatus::Canceled,
        "EXPIRED" => OrderStatus::Expired,
        _ => OrderStatus::New,
    };
    out.push_order_update(OrderUpdate {
        order_id,
        client_order_id: client,
        symbol,
        side,
        status,
        price: Some(placed.price.decimal()),
        qty: Some(placed.orig_qty.decimal()),
        filled_qty: Some(placed.executed_qty.decimal()),
        from_snapshot: false,
        ts,
        detail: Default::default(),
    });
    for fill in &placed.fills {
        out.push_fill(Fill {
            order_id,
            client_order_id: client,
            symbol,
            side,
            price: fill.price.decimal(),
            qty: fill.qty.decimal(),
            fee: Some(fill.commission.decimal()),
            fee_asset: inline(fill.commission_asset),
            trade_id: inline(&fill.trade_id.to_string()).expect("id"),
            exec_id: None,
            liquidity: Some(Liquidity::Taker),
            ts,
            derived: false,
        });
    }
    out.list.len()
}

/// Writes `id` over the fixed-width digits after `"U":` and `"u":`.
fn stamp_ids(buffer: &mut [u8], id: u64) {
    let digits = format!("{id:010}");
    for key in [&b"\"U\":"[..], &b"\"u\":"[..]] {
        if let Some(at) = buffer.windows(4).position(|w| w == key) {
            buffer[at + 4..at + 14].copy_from_slice(digits.as_bytes());
        }
    }
}

fn synced_streams() -> BinanceStreams {
    let mut codec = BinanceStreams::new();
    let subscription = orderwire_protocol::model::Subscription::Book {
        symbols: vec![inline("BNBBTC").expect("symbol")],
        depth: 1000,
    };
    let mut out = Vec::new();
    Offline::new(0)
        .encode(
            &mut codec,
            1,
            &orderwire_protocol::model::Request::Subscribe(&subscription),
            &mut out,
        )
        .expect("subscribe");
    let levels: Vec<Level> = (0..10)
        .map(|n| Level {
            price: Decimal::new(240_000 - n * 1_000, 8).expect("price"),
            qty: Decimal::new(1_000_000_000 + n * 100_000_000, 8).expect("qty"),
        })
        .chain((0..10).map(|n| Level {
            price: Decimal::new(260_000 + n * 1_000, 8).expect("price"),
            qty: Decimal::new(2_000_000_000 + n * 100_000_000, 8).expect("qty"),
        }))
        .collect();
    let snapshot = BookEvent {
        symbol: inline("BNBBTC").expect("symbol"),
        snapshot: true,
        bids: 0..10,
        asks: 10..20,
        checksum: None,
        sequence: Some(1_000_000_000),
        ts: None,
        from_snapshot: false,
        grouping: None,
    };
    Offline::new(0).feed_book_snapshot(&mut codec, &snapshot, &levels, &mut Events::default());
    codec
}

fn bench(c: &mut Criterion) {
    let mut buffer = Vec::with_capacity(4096);
    // The driver of every decode: the engine builds the same context per
    // message.
    let mut offline = Offline::new(0);
    let mut group = c.benchmark_group("binance_decode");

    let mut codec = synced_streams();
    let mut events = Events::default();
    let mut next_id = 1_000_000_001u64;
    group.bench_function("depth_update_20/orderwire", |b| {
        b.iter(|| {
            buffer.clear();
            buffer.extend_from_slice(DEPTH_20.as_bytes());
            stamp_ids(&mut buffer, next_id);
            next_id += 1;
            events.clear();
            offline
                .decode(&mut codec, FrameKind::Text, &mut buffer, &mut events)
                .expect("decodes");
            assert_eq!(events.levels.len(), 20, "applied, no gap");
            black_box(&events);
        })
    });
    bench_depth_peer::<SerdeJson>(&mut group, &mut buffer, &mut events);
    bench_depth_peer::<SonicRs>(&mut group, &mut buffer, &mut events);

    let mut api = BinanceApi::new(None);
    group.bench_function("order_place_full/orderwire", |b| {
        b.iter(|| {
            buffer.clear();
            buffer.extend_from_slice(PLACE_FULL.as_bytes());
            events.clear();
            offline
                .decode(&mut api, FrameKind::Text, &mut buffer, &mut events)
                .expect("decodes");
            // 3 rate limits, the ack, the update, 3 fills.
            assert_eq!(events.list.len(), 8);
            black_box(&events);
        })
    });
    type PlacePeer = fn(&[u8], &mut Events) -> usize;
    let peers: [(&str, PlacePeer); 2] = [
        (SerdeJson::NAME, peer_place::<SerdeJson>),
        (SonicRs::NAME, peer_place::<SonicRs>),
    ];
    for (name, peer) in peers {
        group.bench_function(format!("order_place_full/{name}"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(PLACE_FULL.as_bytes());
                events.clear();
                assert_eq!(peer(&buffer, &mut events), 8);
                black_box(&events);
            })
        });
    }
    group.finish();
    report_ratios();
}

fn bench_depth_peer<P: JsonPeer>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    buffer: &mut Vec<u8>,
    events: &mut Events,
) {
    let mut book = Book::new(1000);
    let mut last_id = 1_000_000_000u64;
    let mut next_id = 1_000_000_001u64;
    group.bench_function(format!("depth_update_20/{}", P::NAME), |b| {
        b.iter(|| {
            buffer.clear();
            buffer.extend_from_slice(DEPTH_20.as_bytes());
            stamp_ids(buffer, next_id);
            next_id += 1;
            events.clear();
            assert_eq!(peer_depth::<P>(buffer, &mut book, &mut last_id, events), 20);
            black_box(&*events);
        })
    });
}

fn report_ratios() {
    let benches = ["depth_update_20", "order_place_full"];
    orderwire_benches::report_decode_ratios("binance_decode", &benches, SerdeJson::NAME);
    orderwire_benches::report_decode_ratios_against("binance_decode", &benches, SonicRs::NAME, 1.2);
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
