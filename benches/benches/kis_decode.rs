//! ns per KIS message: a 4-record H0STCNT0 trade message and a one-record
//! H0STASP0 quote (10 levels a side), decoded into the normalised events.
//! orderwire's codec (fields split in place, nothing allocated) beside a
//! straightforward peer: `split('|')` and `split('^')` into `Vec<&str>`,
//! `str::parse` into the same exact decimals, the same events pushed into
//! the same `Events`. Each iteration copies the message into a reused
//! buffer, for both.
//!
//! After criterion's run it prints the ratio of the medians (peer over
//! orderwire; target >= 2x).
#![forbid(unsafe_code)]

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use orderwire_protocol::model::{BookEvent, Event, Events, Level, Side, Trade, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::kis::Kis;
use orderwire_protocol::venue::{FrameKind, Offline};

fn trade_record(n: usize) -> String {
    let mut fields: Vec<String> = vec!["0".to_owned(); 46];
    fields[0] = "005930".to_owned();
    fields[1] = format!("12392{n}");
    fields[2] = (73_100 + 100 * n).to_string();
    fields[12] = (5 + n).to_string();
    fields[13] = (10_329_475 + n).to_string();
    fields[21] = if n % 2 == 0 { "1" } else { "5" }.to_owned();
    fields[33] = "20231004".to_owned();
    fields.join("^")
}

fn trades_4() -> String {
    let records: Vec<String> = (0..4).map(trade_record).collect();
    format!("0|H0STCNT0|004|{}", records.join("^"))
}

fn quote() -> String {
    let mut fields: Vec<String> = vec!["0".to_owned(); 59];
    fields[0] = "005930".to_owned();
    fields[1] = "093015".to_owned();
    for i in 0..10 {
        fields[3 + i] = (73_100 + 100 * i).to_string();
        fields[13 + i] = (73_000 - 100 * i).to_string();
        fields[23 + i] = (1_000 + i).to_string();
        fields[33 + i] = (2_000 + i).to_string();
    }
    format!("0|H0STASP0|001|{}", fields.join("^"))
}

/// Seconds since the epoch of a KST date and time of day.
fn kst_ns(date: &str, time: &str) -> Option<i64> {
    let d: i64 = date.parse().ok()?;
    let (y, m, day) = (d / 10_000, d / 100 % 100, d % 100);
    let t: i64 = time.parse().ok()?;
    // days_from_civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let seconds = days * 86_400 + t / 10_000 * 3600 + t / 100 % 100 * 60 + t % 100 - 9 * 3600;
    Some(seconds * 1_000_000_000)
}

/// The peer: what a first implementation writes.
fn peer(message: &str, date: &mut String, out: &mut Events) {
    let parts: Vec<&str> = message.splitn(4, '|').collect();
    let fields: Vec<&str> = parts[3].split('^').collect();
    match parts[1] {
        "H0STCNT0" => {
            for r in fields.chunks(46) {
                *date = r[33].to_owned();
                out.list.push(Event::Trade(Trade {
                    symbol: inline(r[0]).unwrap_or_default(),
                    price: r[2].parse().unwrap_or(Decimal::ZERO),
                    qty: r[12].parse().unwrap_or(Decimal::ZERO),
                    side: match r[21] {
                        "1" => Some(Side::Buy),
                        "5" => Some(Side::Sell),
                        _ => None,
                    },
                    trade_id: inline(&format!("{}-{}", r[1], r[13])).unwrap_or_default(),
                    ts: kst_ns(r[33], r[1]),
                    from_snapshot: false,
                }));
            }
        }
        _ => {
            for r in fields.chunks(59) {
                let side = |price_at: usize, qty_at: usize, out: &mut Events| {
                    let start = out.levels.len();
                    for i in 0..10 {
                        let price: Decimal = r[price_at + i].parse().unwrap_or(Decimal::ZERO);
                        if !price.is_zero() {
                            let qty = r[qty_at + i].parse().unwrap_or(Decimal::ZERO);
                            out.levels.push(Level { price, qty });
                        }
                    }
                    start..out.levels.len()
                };
                let bids = side(13, 33, out);
                let asks = side(3, 23, out);
                out.list.push(Event::Book(BookEvent {
                    symbol: inline(r[0]).unwrap_or_default(),
                    snapshot: true,
                    bids,
                    asks,
                    checksum: None,
                    sequence: None,
                    ts: kst_ns(date, r[1]),
                    from_snapshot: false,
                    grouping: None,
                }));
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut offline = Offline::new(0);
    let mut codec = Kis::offline();
    let mut events = Events::default();
    let mut buffer = Vec::with_capacity(8192);
    let mut date = String::new();
    let (trades, quote) = (trades_4(), quote());
    let mut group = c.benchmark_group("kis_decode");
    // The trades first: their BSOP_DATE dates the quote, on both sides.
    for (name, message) in [("trades_4", &trades), ("quote_10", &quote)] {
        events.clear();
        buffer.clear();
        buffer.extend_from_slice(message.as_bytes());
        offline
            .decode(&mut codec, FrameKind::Text, &mut buffer, &mut events)
            .expect("decodes");
        let ours = (events.list.clone(), events.levels.clone());
        events.clear();
        peer(message, &mut date, &mut events);
        assert_eq!((events.list.clone(), events.levels.clone()), ours, "{name}");
        group.bench_function(format!("{name}/orderwire"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(message.as_bytes());
                events.clear();
                offline
                    .decode(&mut codec, FrameKind::Text, &mut buffer, &mut events)
                    .expect("decodes");
                black_box(&events);
            })
        });
        group.bench_function(format!("{name}/split_parse"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(message.as_bytes());
                events.clear();
                let text = std::str::from_utf8(&buffer).unwrap_or_default();
                peer(text, &mut date, &mut events);
                black_box(&events);
            })
        });
    }
    group.finish();
    orderwire_benches::report_decode_ratios("kis_decode", &["trades_4", "quote_10"], "split_parse");
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
