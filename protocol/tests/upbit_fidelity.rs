//! Issue 24's points for Upbit, each from the venue's documented example
//! (docs.upbit.com/kr/reference, copied in docs/venues/upbit.md) or, where
//! Upbit documents none, a hand-made message that says so.

use orderwire_protocol::model::{
    Event, Events, OrderStatus, OrderType, Request, SelfTradeMode, Subscription, TimeInForce,
    inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::upbit::{DataType, Upbit, orderbook_with_level, write_request};
use orderwire_protocol::venue::{FrameKind, Offline};

fn decode(text: &str) -> Events {
    let mut upbit = Upbit::public();
    let mut offline = Offline::new(1);
    let mut events = Events::default();
    let mut bytes = text.as_bytes().to_vec();
    offline
        .decode(&mut upbit, FrameKind::Binary, &mut bytes, &mut events)
        .unwrap_or_else(|e| panic!("{e}: {text}"));
    events
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// The myOrder page's DEFAULT example, whole.
const MY_ORDER: &str = r#"{"type":"myOrder","code":"KRW-BTC","uuid":"ac2dc2a3-fce9-40a2-a4f6-5987c25c438f","ask_bid":"BID","order_type":"limit","state":"trade","trade_uuid":"68315169-fba4-4175-ade3-aff14a616657","price":0.001453,"avg_price":0.00145372,"volume":30925891.29839369,"remaining_volume":29968038.09235948,"executed_volume":30925891.29839369,"trades_count":1,"reserved_fee":44.23943970238218,"remaining_fee":21.77177967409916,"paid_fee":22.467660028283017,"locked":43565.33112787242,"executed_funds":44935.32005656603,"time_in_force":null,"trade_fee":22.467660028283017,"is_maker":true,"identifier":"test-1","smp_type":"cancel_maker","prevented_volume":1.174291929,"prevented_locked":0.001706246173,"trade_timestamp":1710751590421,"order_timestamp":1710751590000,"timestamp":1710751597500,"stream_type":"REALTIME"}"#;

#[test]
fn my_order_carries_what_a_market_maker_reconciles_with() {
    let events = decode(MY_ORDER);
    let Some(Event::OrderUpdate(update)) = events.list.first() else {
        panic!("{:?}", events.list)
    };
    let update = &events.order_updates[*update];
    let d = &update.detail;
    assert_eq!(d.avg_price, Some(dec("0.00145372")));
    assert_eq!(d.filled_notional, Some(dec("44935.32005656603")));
    assert_eq!(d.fee, Some(dec("22.467660028283017")));
    assert_eq!(d.fee_asset.as_deref(), Some("KRW"));
    assert_eq!(d.order_type, Some(OrderType::Limit));
    assert_eq!(
        d.time_in_force,
        Some(TimeInForce::GoodTillCanceled),
        "a limit order with a null time_in_force rests until canceled"
    );
    assert!(!d.post_only);
    assert_eq!(d.created_ts, Some(1_710_751_590_000_000_000));
    assert_eq!(update.ts, Some(1_710_751_597_500_000_000));
    assert_eq!(d.trades_count, Some(1));
    assert_eq!(d.locked, Some(dec("43565.33112787242")));
    assert_eq!(
        d.prevented, None,
        "smp fields on a trade state are the order's setting, not a prevention"
    );
}

#[test]
fn simple_keys_give_the_same_detail() {
    let simple = r#"{"ty":"myOrder","cd":"KRW-BTC","uid":"u-1","ab":"ASK","ot":"best","s":"wait","p":null,"ap":0,"v":1.5,"rv":1.5,"ev":0,"tc":0,"pf":0,"l":1.5,"ef":0,"tif":"fok","id":"c-1","smpt":null,"pv":"0","pl":"0","otms":1710751590000,"tms":1710751590100,"st":"REALTIME"}"#;
    let events = decode(simple);
    let [Event::OrderUpdate(update)] = events.list.as_slice() else {
        panic!("{:?}", events.list)
    };
    let update = &events.order_updates[*update];
    assert_eq!(update.detail.order_type, Some(OrderType::BestPrice));
    assert_eq!(update.detail.time_in_force, Some(TimeInForce::FillOrKill));
    assert_eq!(update.detail.locked, Some(dec("1.5")));
    assert_eq!(update.detail.created_ts, Some(1_710_751_590_000_000_000));
    assert_eq!(update.detail.trades_count, Some(0));
}

#[test]
fn post_only_and_market_by_funds_are_reported() {
    let post_only = MY_ORDER
        .replace(r#""time_in_force":null"#, r#""time_in_force":"post_only""#)
        .replace(r#""state":"trade""#, r#""state":"wait""#);
    let events = decode(&post_only);
    let Event::OrderUpdate(update) = &events.list[0] else {
        panic!()
    };
    let update = &events.order_updates[*update];
    assert!(update.detail.post_only);
    let by_funds = MY_ORDER
        .replace(r#""order_type":"limit""#, r#""order_type":"price""#)
        .replace(r#""state":"trade""#, r#""state":"done""#);
    let events = decode(&by_funds);
    let Event::OrderUpdate(update) = &events.list[0] else {
        panic!()
    };
    let update = &events.order_updates[*update];
    assert_eq!(update.detail.order_type, Some(OrderType::MarketByQuote));
    assert_eq!(update.detail.time_in_force, None);
}

/// Upbit documents no myOrder with state `prevented`; its SMP guide says the
/// fields come as strings (`"0"`) and what they mean. Hand-made from the
/// page's example with the state changed.
#[test]
fn self_trade_prevention_is_not_a_plain_cancel() {
    let prevented = MY_ORDER
        .replace(r#""state":"trade""#, r#""state":"prevented""#)
        .replace(
            r#""smp_type":"cancel_maker""#,
            r#""smp_type":"cancel_taker""#,
        )
        .replace(
            r#""prevented_volume":1.174291929"#,
            r#""prevented_volume":"1.174291929""#,
        );
    let events = decode(&prevented);
    let [Event::OrderUpdate(update)] = events.list.as_slice() else {
        panic!("{:?}", events.list)
    };
    let update = &events.order_updates[*update];
    assert_eq!(update.status, OrderStatus::Canceled);
    let p = update.detail.prevented.expect("says it was prevented");
    assert_eq!(p.mode, Some(SelfTradeMode::CancelTaker));
    assert_eq!(p.qty, Some(dec("1.174291929")), "a string number is read");
    assert_eq!(p.locked, Some(dec("0.001706246173")));
    let reduced = prevented.replace(r#""smp_type":"cancel_taker""#, r#""smp_type":"reduce""#);
    let events = decode(&reduced);
    let Event::OrderUpdate(update) = &events.list[0] else {
        panic!()
    };
    let update = &events.order_updates[*update];
    assert_eq!(
        update.status,
        OrderStatus::PartiallyFilled,
        "reduce with volume left lives on"
    );
    assert_eq!(
        update.detail.prevented.and_then(|p| p.mode),
        Some(SelfTradeMode::Reduce)
    );
}

/// The myAsset page's example: `asset_timestamp` is the balance's time, and
/// 28-digit balances stay exact.
#[test]
fn balances_carry_the_asset_timestamp() {
    let asset = r#"{"type":"myAsset","asset_uuid":"e635f223-1609-4969-8fb6-4376937baad6","assets":[{"currency":"KRW","balance":1386929.37231066771348207123,"locked":10329.670127489597585685}],"asset_timestamp":1710146517259,"timestamp":1710146517267,"stream_type":"REALTIME"}"#;
    let events = decode(asset);
    let [Event::Balance(balance)] = events.list.as_slice() else {
        panic!("{:?}", events.list)
    };
    assert_eq!(balance.ts, Some(1_710_146_517_259_000_000));
    assert_eq!(balance.free.to_string(), "1386929.37231066771348207123");
}

#[test]
fn trades_and_books_say_snapshot_or_live() {
    let snapshot = r#"{"type":"trade","code":"KRW-BTC","timestamp":1730336862082,"trade_timestamp":1730336862047,"trade_price":100473000.00000000,"trade_volume":0.00014208,"ask_bid":"BID","sequential_id":17303368620470000,"stream_type":"SNAPSHOT"}"#;
    let live = snapshot.replace("SNAPSHOT", "REALTIME");
    let is_snapshot = |text: &str| match &decode(text).list[0] {
        Event::Trade(t) => t.from_snapshot,
        other => panic!("{other:?}"),
    };
    assert!(is_snapshot(snapshot));
    assert!(!is_snapshot(&live));
    // The orderbook page's example (two of its units), and its SIMPLE form.
    let book = r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1746601573804,"total_ask_size":4.79158413,"total_bid_size":2.65609625,"orderbook_units":[{"ask_price":137002000,"bid_price":137001000,"ask_size":0.10623869,"bid_size":0.03656812},{"ask_price":137023000,"bid_price":137000000,"ask_size":0.06144079,"bid_size":0.33543284}],"stream_type":"SNAPSHOT","level":0}"#;
    let Event::Book(b) = &decode(book).list[0] else {
        panic!()
    };
    assert!(b.snapshot && b.from_snapshot);
    assert_eq!(b.grouping, None, "level 0 is the market's own tick");
    let live = book.replace("SNAPSHOT", "REALTIME");
    let Event::Book(b) = &decode(&live).list[0] else {
        panic!()
    };
    assert!(b.snapshot, "every Upbit book replaces the last");
    assert!(!b.from_snapshot);
}

/// The current orderbook page's level-10000 response (one unit shown there),
/// and a fractional level, as the v1.4.4 list documents down to 0.0000001.
#[test]
fn the_grouping_level_is_carried_on_the_book() {
    let grouped = r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1787727947526,"total_ask_size":18.93431797,"total_bid_size":11.48721726,"orderbook_units":[{"ask_price":109950000.0,"bid_price":109880000.0,"ask_size":0.00342134,"bid_size":0.18819864}],"stream_type":"SNAPSHOT","level":10000}"#;
    let Event::Book(b) = &decode(grouped).list[0] else {
        panic!()
    };
    assert_eq!(b.grouping, Some(dec("10000")));
    let simple = r#"{"ty":"orderbook","cd":"KRW-XRP","tms":1,"tas":1,"tbs":1,"obu":[{"ap":1.1,"bp":1.0,"as":1,"bs":1}],"st":"REALTIME","lv":0.0000001}"#;
    let Event::Book(b) = &decode(simple).list[0] else {
        panic!()
    };
    assert_eq!(b.grouping, Some(dec("0.0000001")));
}

/// Upbit documents no zero unit; the project's mock used to pad thin sides
/// with them. Hand-made: one full unit and one with an empty bid half.
#[test]
fn padding_units_never_reach_the_book() {
    let padded = r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1,"orderbook_units":[{"ask_price":137002000,"bid_price":137001000,"ask_size":0.1,"bid_size":0.2},{"ask_price":137023000,"bid_price":0,"ask_size":0.3,"bid_size":0},{"ask_price":0,"bid_price":0,"ask_size":0,"bid_size":0}],"stream_type":"REALTIME","level":0}"#;
    let events = decode(padded);
    let Event::Book(b) = &events.list[0] else {
        panic!()
    };
    let bids = events.levels(&b.bids);
    let asks = events.levels(&b.asks);
    assert_eq!(asks.len(), 2);
    assert_eq!(bids.len(), 1);
    assert!(
        asks.iter().chain(bids).all(|l| !l.price.is_zero()),
        "no level at price 0: {asks:?} {bids:?}"
    );
}

/// The candle page's DEFAULT example (`candle.1m`, prices as floats) and
/// its SIMPLE_LIST example (`candle.1s`).
#[test]
fn candles_decode_from_both_formats() {
    let default = r#"{"type":"candle.1m","code":"KRW-BTC","candle_date_time_utc":"2026-08-26T08:08:00","candle_date_time_kst":"2026-08-26T17:08:00","opening_price":109715000.0,"high_price":109756000.0,"low_price":109714000.0,"trade_price":109756000.0,"candle_acc_trade_volume":0.71326612,"candle_acc_trade_price":78269528.64757,"timestamp":1787731717049,"stream_type":"SNAPSHOT"}"#;
    let Event::Candle(c) = &decode(default).list[0] else {
        panic!()
    };
    assert_eq!(c.symbol.as_str(), "KRW-BTC");
    assert_eq!(c.interval.as_str(), "1m");
    assert_eq!(c.open, dec("109715000"));
    assert_eq!(c.high, dec("109756000"));
    assert_eq!(c.low, dec("109714000"));
    assert_eq!(c.close, dec("109756000"));
    assert_eq!(c.volume, dec("0.71326612"));
    assert_eq!(c.start, 1_787_731_680_000_000_000, "2026-08-26T08:08:00Z");
    assert_eq!(c.closed, None, "Upbit does not say when a bar closes");
    assert!(c.from_snapshot);
    assert_eq!(c.ts, Some(1_787_731_717_049_000_000));
    let simple = r#"[{"ty":"candle.1s","cd":"KRW-BTC","cdttmu":"2025-07-07T02:29:24","cdttmk":"2025-07-07T11:29:24","op":149000000.0,"hp":149000000.0,"lp":149000000.0,"tp":149000000.0,"catv":0.00033557,"catp":49999.93,"tms":1751855364161,"st":"SNAPSHOT"},{"ty":"candle.240m","cd":"KRW-ETH","cdttmu":"2025-07-07T00:00:00","cdttmk":"2025-07-07T09:00:00","op":3515000.0,"hp":3515000.0,"lp":3515000.0,"tp":3515000.0,"catv":0.01,"catp":35150,"tms":1751855352000,"st":"REALTIME"}]"#;
    let events = decode(simple);
    let [Event::Candle(a), Event::Candle(b)] = events.list.as_slice() else {
        panic!("{:?}", events.list)
    };
    assert_eq!(a.interval.as_str(), "1s");
    assert_eq!(a.volume, dec("0.00033557"));
    assert_eq!(b.interval.as_str(), "4h");
    assert!(!b.from_snapshot);
}

/// The orderbook page's request with two levels: one type object each.
#[test]
fn two_groupings_of_one_market_are_two_type_objects() {
    let mut upbit = Upbit::public();
    let mut out = Vec::new();
    let mut offline = Offline::new(7);
    let book = |grouping: &str| Subscription::GroupedBook {
        symbols: vec![inline("KRW-BTC").unwrap()],
        depth: 15,
        grouping: dec(grouping),
    };
    for (req_id, subscription) in [book("10000"), book("1000"), book("10000")]
        .iter()
        .enumerate()
    {
        out.clear();
        offline
            .encode(
                &mut upbit,
                req_id as u64,
                &Request::Subscribe(subscription),
                &mut out,
            )
            .unwrap();
    }
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#"{"type":"orderbook","codes":["KRW-BTC.15"],"level":10000},{"type":"orderbook","codes":["KRW-BTC.15"],"level":1000}"#),
        "{text}"
    );
    assert_eq!(text.matches("\"level\"").count(), 2, "{text}");
    let candles = Subscription::Candles {
        symbols: vec![inline("KRW-BTC").unwrap()],
        interval: inline("2h").unwrap(),
    };
    assert!(
        offline
            .encode(
                &mut upbit,
                9,
                &Request::Subscribe(&candles),
                &mut Vec::new()
            )
            .is_err(),
        "Upbit streams no 2h candle"
    );
    let mut wire = Vec::new();
    write_request(
        "t",
        &[orderbook_with_level(&["KRW-XRP"], dec("0.0001"))],
        Default::default(),
        &mut wire,
    );
    assert!(
        String::from_utf8(wire)
            .unwrap()
            .contains(r#""level":0.0001"#)
    );
    assert_eq!(
        orderwire_protocol::venue::upbit::CandleUnit::from_interval("4h")
            .map(|u| DataType::Candle(u).as_str()),
        Some("candle.240m")
    );
}
