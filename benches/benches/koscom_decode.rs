//! ns per Koscom push: a tick push and a quote10 push (ten steps a side),
//! decoded into the normalised events. orderwire's codec beside serde_json
//! into a `Value` and the same events built from it (exact decimals from
//! the numbers' text), pushed into the same `Events`. Each iteration
//! copies the message into a reused buffer, for both.
//!
//! sonic-rs's own `Value` runs the same body (`value_peer!`).
//!
//! After criterion's run it prints the ratio of the medians (each peer
//! over orderwire; target >= 1.5x against serde_json, 1.2x against
//! sonic-rs).
#![forbid(unsafe_code)]

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use orderwire_protocol::model::{BookEvent, Event, Events, Level, Trade, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::koscom::Koscom;
use orderwire_protocol::venue::{FrameKind, Offline};
use sonic_rs::JsonValueTrait as _;

const TICK: &str = r#"{"jsonrpc":"2.0","method":"push","params":{"preset":"tick","isuSrtCd":"005930","trdPrc":2465000,"trdvol":2,"accTrdvol":251916,"accTrdval":627899637000,"trdTm":14412000}}"#;

fn quote10() -> String {
    let mut steps = String::new();
    for n in 1..=10 {
        steps.push_str(&format!(
            r#","askStep{n}BstordPrc":{},"askStep{n}BstordRqty":{},"bidStep{n}BstordPrc":{},"bidStep{n}BstordRqty":{}"#,
            2_465_000 + 1000 * n,
            100 + n,
            2_464_000 - 1000 * n,
            200 + n
        ));
    }
    format!(
        r#"{{"jsonrpc":"2.0","method":"push","params":{{"preset":"quote10","isuSrtCd":"005930"{steps},"askordTotRqty":1055,"bidordTotRqty":2055}}}}"#
    )
}

/// 2023-10-04, 12:00 KST: the wall clock both sides date trades with.
const WALL_NS: i64 = (19_634 * 86_400 + 3 * 3600) * 1_000_000_000;

/// The peers: a JSON library's own `Value` (serde_json's, sonic-rs's),
/// then the same events, exact decimals from the numbers' text. One body,
/// written once, for both.
macro_rules! value_peer {
    ($name:ident, $value:ty, $parse:expr, $number:expr) => {
        fn $name(message: &[u8], out: &mut Events) {
            let Ok(value) = $parse(message) else {
                return;
            };
            let value: $value = value;
            let params = &value["params"];
            let code = inline(params["isuSrtCd"].as_str().unwrap_or_default()).unwrap_or_default();
            match params["preset"].as_str() {
                Some("tick") => {
                    let time = params["trdTm"].as_u64().unwrap_or(0);
                    let (h, m, s, hh) = (
                        time / 1_000_000,
                        time / 10_000 % 100,
                        time / 100 % 100,
                        time % 100,
                    );
                    let seconds = i64::try_from(h * 3600 + m * 60 + s).unwrap_or(0);
                    let ts = (19_634 * 86_400 + seconds - 9 * 3600) * 1_000_000_000
                        + i64::try_from(hh).unwrap_or(0) * 10_000_000;
                    let trade_id = format!("{}-{}", params["trdTm"], params["accTrdvol"]);
                    out.list.push(Event::Trade(Trade {
                        symbol: code,
                        price: $number(&params["trdPrc"]),
                        qty: $number(&params["trdvol"]),
                        side: None,
                        trade_id: inline(&trade_id).unwrap_or_default(),
                        ts: Some(ts),
                        from_snapshot: false,
                    }));
                }
                _ => {
                    let side = |prefix: &str, out: &mut Events| {
                        let start = out.levels.len();
                        for n in 1..=10 {
                            let price = &params[format!("{prefix}Step{n}BstordPrc").as_str()];
                            if price.is_null() {
                                continue;
                            }
                            out.levels.push(Level {
                                price: $number(price),
                                qty: $number(
                                    &params[format!("{prefix}Step{n}BstordRqty").as_str()],
                                ),
                            });
                        }
                        start..out.levels.len()
                    };
                    let bids = side("bid", out);
                    let asks = side("ask", out);
                    out.list.push(Event::Book(BookEvent {
                        symbol: code,
                        snapshot: true,
                        bids,
                        asks,
                        checksum: None,
                        sequence: None,
                        ts: None,
                        from_snapshot: false,
                        grouping: None,
                    }));
                }
            }
        }
    };
}

value_peer!(
    peer_serde_json,
    serde_json::Value,
    serde_json::from_slice::<serde_json::Value>,
    |value: &serde_json::Value| value.to_string().parse().unwrap_or(Decimal::ZERO)
);
value_peer!(
    peer_sonic_rs,
    sonic_rs::Value,
    sonic_rs::from_slice::<sonic_rs::Value>,
    |value: &sonic_rs::Value| sonic_rs::to_string(value)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(Decimal::ZERO)
);

fn bench(c: &mut Criterion) {
    let mut offline = Offline::new(0);
    offline.wall_ns = WALL_NS;
    let mut codec = Koscom::offline();
    let mut events = Events::default();
    let mut buffer = Vec::with_capacity(4096);
    let quote = quote10();
    let mut group = c.benchmark_group("koscom_decode");
    for (name, message) in [("tick", TICK), ("quote10", quote.as_str())] {
        events.clear();
        buffer.clear();
        buffer.extend_from_slice(message.as_bytes());
        offline
            .decode(&mut codec, FrameKind::Text, &mut buffer, &mut events)
            .expect("decodes");
        let ours = (events.list.clone(), events.levels.clone());
        events.clear();
        peer_serde_json(message.as_bytes(), &mut events);
        assert_eq!((events.list.clone(), events.levels.clone()), ours, "{name}");
        events.clear();
        peer_sonic_rs(message.as_bytes(), &mut events);
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
        type Peer = fn(&[u8], &mut Events);
        let peers: [(&str, Peer); 2] =
            [("serde_json", peer_serde_json), ("sonic_rs", peer_sonic_rs)];
        for (peer_name, peer) in peers {
            group.bench_function(format!("{name}/{peer_name}"), |b| {
                b.iter(|| {
                    buffer.clear();
                    buffer.extend_from_slice(message.as_bytes());
                    events.clear();
                    peer(&buffer, &mut events);
                    black_box(&events);
                })
            });
        }
    }
    group.finish();
    orderwire_benches::report_decode_ratios("koscom_decode", &["tick", "quote10"], "serde_json");
    orderwire_benches::report_decode_ratios_against(
        "koscom_decode",
        &["tick", "quote10"],
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
