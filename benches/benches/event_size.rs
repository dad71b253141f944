//! Does a smaller event pay? Every decode pushes [`Event`]s into the
//! caller's [`Events`] list, and an `Event` is as large as its largest
//! variant, so a 160-byte trade was pushed as 472 bytes while the order
//! update was inline (208 now). Issue 24 asked whether ids kept as indices into an arena (and
//! levels as a range, which they already are) would speed decoding.
//!
//! This bench isolates the cost that shrinking could save: pushing the
//! events of one message into a reused list, then reading them back, as the
//! gateway does. Three shapes of the same 16 public trades, each built from
//! the same borrowed text and exact decimals a decoder holds:
//! - `event`: today's [`Event::Trade`] (ids inline; 472 bytes while order
//!   updates and fills were inline, 208 since they lie in their own lists;
//!   its `clear` also runs drop glue per event, as some variants hold a
//!   `String`);
//! - `trade_enum_160`: a market-data-only event enum, as large as a trade
//!   (what splitting private events into their own list would give);
//! - `arena_ids`: ids as (offset, length) into a byte arena the caller owns
//!   (the issue's proposal), the id bytes copied into it.
//!
//! It prints each shape's ns per event and the ratio to today's, beside the
//! measured decode time of a one-trade message (upbit_decode/trade_simple),
//! so the saving reads as a share of a real decode (docs/benchmarks.md, "A
//! smaller event").
//!
//! `gateway_inbound` then times the gateway core's whole inbound path for
//! Kraken (decode, correlation, order tracking, the outputs the user
//! reads): a four-trade message, and an execution report of an order placed
//! elsewhere (an order update and a fill). Run it on two commits to compare
//! event shapes end to end.
#![forbid(unsafe_code)]

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use orderwire_benches::criterion_median_ns;
use orderwire_engine::gateway::{GatewayConfig, GatewayCore, Outputs};
use orderwire_protocol::Instant;
use orderwire_protocol::model::{Event, Events, Side, Trade, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::FrameKind;
use orderwire_protocol::venue::kraken::{Kraken, Tier};

/// Trades per message: a busy market's trade push.
const TRADES: usize = 16;

/// What a decoder has in hand for one trade: text borrowed from the frame.
struct Source {
    symbol: &'static str,
    trade_id: String,
    price: Decimal,
    qty: Decimal,
    ts: i64,
}

fn sources() -> Vec<Source> {
    (0..TRADES)
        .zip(1_730_336_862_000_000_000i64..)
        .map(|(n, ts)| Source {
            symbol: "KRW-BTC",
            trade_id: format!("17{n:016}"),
            price: Decimal::parse(format!("1480{n}000.5").as_bytes()).expect("a decimal"),
            qty: Decimal::parse(format!("0.0{n}31").as_bytes()).expect("a decimal"),
            ts,
        })
        .collect()
}

/// A market-data event as large as a trade.
#[derive(Clone)]
#[allow(dead_code)] // the other variants only give the enum its shape
enum MarketEvent {
    Trade(Trade),
    Heartbeat,
}

/// An id in the caller's arena.
#[derive(Clone, Copy)]
struct ArenaId {
    start: u32,
    len: u16,
}

impl ArenaId {
    fn push(arena: &mut Vec<u8>, text: &str) -> ArenaId {
        // The bench's arena holds 16 short ids: far below either bound.
        let start = u32::try_from(arena.len()).expect("a small arena");
        arena.extend_from_slice(text.as_bytes());
        ArenaId {
            start,
            len: u16::try_from(text.len()).expect("a short id"),
        }
    }

    fn get<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let start = self.start as usize;
        &arena[start..start + self.len as usize]
    }
}

/// A trade with its ids in the arena.
#[derive(Clone)]
struct ArenaTrade {
    symbol: ArenaId,
    trade_id: ArenaId,
    price: Decimal,
    qty: Decimal,
    side: Option<Side>,
    ts: Option<i64>,
    from_snapshot: bool,
}

fn inline_trade(source: &Source) -> Trade {
    Trade {
        symbol: inline::<32>(source.symbol).unwrap_or_default(),
        price: source.price,
        qty: source.qty,
        side: Some(Side::Buy),
        trade_id: inline::<48>(&source.trade_id).unwrap_or_default(),
        ts: Some(source.ts),
        from_snapshot: false,
    }
}

fn bench(c: &mut Criterion) {
    let sources = sources();
    let mut group = c.benchmark_group("event_size");

    let mut events = Events::default();
    group.bench_function("push_16_trades_event", |b| {
        b.iter(|| {
            events.clear();
            for source in black_box(&sources) {
                events.list.push(Event::Trade(inline_trade(source)));
            }
            let mut read = 0usize;
            for event in &events.list {
                if let Event::Trade(trade) = event {
                    read += trade.trade_id.len() + trade.symbol.len();
                }
            }
            black_box(read)
        })
    });

    let mut market: Vec<MarketEvent> = Vec::new();
    group.bench_function("push_16_trades_trade_enum_160", |b| {
        b.iter(|| {
            market.clear();
            for source in black_box(&sources) {
                market.push(MarketEvent::Trade(inline_trade(source)));
            }
            let mut read = 0usize;
            for event in &market {
                if let MarketEvent::Trade(trade) = event {
                    read += trade.trade_id.len() + trade.symbol.len();
                }
            }
            black_box(read)
        })
    });

    let mut arena_trades: Vec<ArenaTrade> = Vec::new();
    let mut arena: Vec<u8> = Vec::new();
    group.bench_function("push_16_trades_arena_ids", |b| {
        b.iter(|| {
            arena_trades.clear();
            arena.clear();
            for source in black_box(&sources) {
                let symbol = ArenaId::push(&mut arena, source.symbol);
                let trade_id = ArenaId::push(&mut arena, &source.trade_id);
                arena_trades.push(ArenaTrade {
                    symbol,
                    trade_id,
                    price: source.price,
                    qty: source.qty,
                    side: Some(Side::Buy),
                    ts: Some(source.ts),
                    from_snapshot: false,
                });
            }
            let mut read = 0usize;
            for trade in &arena_trades {
                read += trade.trade_id.get(&arena).len() + trade.symbol.get(&arena).len();
                black_box((
                    trade.price,
                    trade.qty,
                    trade.side,
                    trade.ts,
                    trade.from_snapshot,
                ));
            }
            black_box(read)
        })
    });
    group.finish();
    gateway_inbound(c);
    report();
}

/// Kraken's trade example, four trades.
const TRADES_4: &str = r#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":26500.4,"qty":0.2,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"},{"symbol":"BTC/USD","side":"buy","price":26500.5,"qty":0.0125,"ord_type":"market","trade_id":4665847,"timestamp":"2023-09-25T07:48:36.925541Z"},{"symbol":"BTC/USD","side":"buy","price":26500.5,"qty":0.5,"ord_type":"market","trade_id":4665848,"timestamp":"2023-09-25T07:48:36.925547Z"},{"symbol":"BTC/USD","side":"sell","price":26500.1,"qty":1.75,"ord_type":"limit","trade_id":4665849,"timestamp":"2023-09-25T07:48:36.925553Z"}]}"#;

/// Kraken's executions example: a trade of an order this session did not
/// place (an order update and a fill; repeated, the fill is a duplicate the
/// gateway drops, as in steady state).
const EXECUTION: &str = r#"{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5","order_userref":3,"exec_id":"TGBB7L-HT5LX-J3BZ4A","exec_type":"trade","trade_id":62887576,"symbol":"BTC/USD","side":"sell","last_qty":0.005,"last_price":26599.9,"liquidity_ind":"t","cost":132.9995,"order_type":"limit","timestamp":"2023-09-22T10:33:05.709993Z","order_status":"partially_filled","cum_qty":0.005,"cum_cost":132.9995,"avg_price":26599.9,"fee_usd_equiv":0.3458,"fees":[{"asset":"USD","qty":0.3458}]}]}"#;

fn gateway_inbound(c: &mut Criterion) {
    let mut group = c.benchmark_group("gateway_inbound");
    for (name, message) in [("trades_4", TRADES_4), ("execution", EXECUTION)] {
        let mut core = GatewayCore::new(
            Kraken::new(Some(Secret::new("token")), Tier::Starter),
            GatewayConfig::default(),
        );
        core.on_connected(Instant(0), 0);
        let mut frame = Vec::new();
        while core.poll_open_transmit(&mut frame).is_some() {}
        while core.poll_transmit(&mut frame).is_some() {}
        let mut outputs = Outputs::default();
        let mut buffer = Vec::with_capacity(message.len());
        let mut now = 1_000_000u64;
        group.bench_function(format!("kraken_{name}"), |b| {
            b.iter(|| {
                now += 1_000;
                buffer.clear();
                buffer.extend_from_slice(message.as_bytes());
                core.handle_message(Instant(now), Instant(now), FrameKind::Text, &mut buffer);
                core.poll_events(&mut outputs);
                black_box(outputs.events.len())
            })
        });
    }
    group.finish();
}

fn report() {
    let shapes = [
        ("event", size_of::<Event>()),
        ("trade_enum_160", size_of::<MarketEvent>()),
        ("arena_ids", size_of::<ArenaTrade>()),
    ];
    let today = criterion_median_ns("event_size", "push_16_trades", "event");
    let decode = criterion_median_ns("upbit_decode", "trade_simple", "orderwire");
    for name in ["trades_4", "execution"] {
        if let Some(ns) = criterion_median_ns("gateway_inbound", "kraken", name) {
            println!("gateway_inbound kraken {name}: {ns:.0} ns per message");
        }
    }
    for (shape, bytes) in shapes {
        let Some(ns) = criterion_median_ns("event_size", "push_16_trades", shape) else {
            continue;
        };
        let per_event = ns / TRADES as f64;
        let ratio = today.map_or(String::new(), |t| format!(", {:.2}x today's", t / ns));
        let share = decode.map_or(String::new(), |d| {
            format!(
                ", {:.1}% of a one-trade decode ({d:.0} ns)",
                100.0 * per_event / d
            )
        });
        println!(
            "event_size {shape} ({bytes} B): {per_event:.1} ns per event pushed and read{ratio}{share}"
        );
    }
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
