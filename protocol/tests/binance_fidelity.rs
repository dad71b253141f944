//! Issue 24's points for Binance, from its own documentation
//! (binance-spot-api-docs: web-socket-streams.md "Kline/Candlestick
//! Streams", web-socket-api.md "Klines" and "UI Klines").

use orderwire_protocol::model::{
    Event, Events, OrderType, Request, Subscription, TimeInForce, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::binance::{BinanceApi, BinanceStreams};
use orderwire_protocol::venue::{FrameKind, Offline, Venue};

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn decode(codec: &mut impl Venue, text: &str) -> Events {
    let mut events = Events::default();
    let mut bytes = text.as_bytes().to_vec();
    Offline::new(0)
        .decode(codec, FrameKind::Text, &mut bytes, &mut events)
        .unwrap_or_else(|e| panic!("{e}: {text}"));
    events
}

const KLINE: &str = r#"{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}"#;

#[test]
fn the_documented_kline_stream_is_a_candle_raw_and_combined() {
    let combined = format!(r#"{{"stream":"bnbbtc@kline_1m","data":{KLINE}}}"#);
    for text in [KLINE.to_owned(), combined] {
        let events = decode(&mut BinanceStreams::new(), &text);
        let [Event::Candle(c)] = events.list.as_slice() else {
            panic!("{:?}", events.list)
        };
        assert_eq!(c.symbol.as_str(), "BNBBTC");
        assert_eq!(c.interval.as_str(), "1m");
        assert_eq!(c.open.to_string(), "0.0010");
        assert_eq!(c.high, d("0.0025"));
        assert_eq!(c.low, d("0.0015"));
        assert_eq!(c.close, d("0.0020"));
        assert_eq!(c.volume, d("1000"));
        assert_eq!(c.start, 1_672_515_780_000_000_000);
        assert_eq!(c.closed, Some(false), "x: is this kline closed?");
        assert_eq!(c.ts, Some(1_672_515_782_136_000_000));
    }
}

/// Both documented replies, whole: `klines` and `uiKlines` (string ids,
/// so offline: the pair is not known from the request).
#[test]
fn the_documented_klines_and_ui_klines_replies_decode() {
    for id in [
        "1dbbeb56-8eea-466a-8f6e-86bdcfa2fc0b",
        "b137468a-fb20-4c06-bd6b-625148eec958",
    ] {
        let reply = format!(
            r#"{{"id":"{id}","status":200,"result":[[1655971200000,"0.01086000","0.01086600","0.01083600","0.01083800","2290.53800000",1655974799999,"24.85074442",2283,"1171.64000000","12.71225884","0"]],"rateLimits":[{{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":2}}]}}"#
        );
        let events = decode(&mut BinanceApi::new(None), &reply);
        let candle = events
            .list
            .iter()
            .find_map(|e| match e {
                Event::Candle(c) => Some(c),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{:?}", events.list));
        assert_eq!(candle.interval.as_str(), "1h", "from open and close time");
        assert_eq!(candle.open.to_string(), "0.01086000");
        assert_eq!(candle.high, d("0.010866"));
        assert_eq!(candle.low, d("0.010836"));
        assert_eq!(candle.close, d("0.010838"));
        assert_eq!(candle.volume, d("2290.538"));
        assert_eq!(candle.start, 1_655_971_200_000_000_000);
        assert!(
            events
                .list
                .iter()
                .any(|e| matches!(e, Event::RateUsage(u) if u.count == 2)),
            "the weight is counted"
        );
        assert!(
            events
                .list
                .iter()
                .any(|e| matches!(e, Event::Response(r) if r.ok)),
            "and the request answered"
        );
    }
}

#[test]
fn candles_subscribe_by_kline_stream_name() {
    let mut codec = BinanceStreams::new();
    let candles = Subscription::Candles {
        symbols: vec![inline("BNBBTC").unwrap()],
        interval: inline("1M").unwrap(),
    };
    let mut out = Vec::new();
    Offline::new(0)
        .encode(&mut codec, 3, &Request::Subscribe(&candles), &mut out)
        .unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(sent["params"], serde_json::json!(["bnbbtc@kline_1M"]));
    let bad = Subscription::Candles {
        symbols: vec![inline("BNBBTC").unwrap()],
        interval: inline("10m").unwrap(),
    };
    assert!(
        Offline::new(0)
            .encode(&mut codec, 4, &Request::Subscribe(&bad), &mut Vec::new())
            .is_err()
    );
}

/// The depth sync's REST snapshot is the venue's snapshot; diffs are live.
#[test]
fn the_depth_snapshot_says_it_is_one() {
    let reply = r#"{"id":5,"status":200,"result":{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}}"#;
    let events = decode(&mut BinanceApi::new(None), reply);
    let book = events
        .list
        .iter()
        .find_map(|e| match e {
            Event::Book(b) => Some(b),
            _ => None,
        })
        .expect("a book");
    assert!(book.snapshot && book.from_snapshot);
}

/// Binance's executionReport example (user-data-stream.md): `o`, `f`, `Z`
/// and `O` reach the order update's detail; `P` 0 is no stop price.
const EXECUTION_REPORT: &str = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":4293153,"l":"0.50000000","z":"0.50000000","L":"0.10264410","n":"0.00000500","N":"ETH","T":1499405658657,"t":718,"I":8641984,"w":true,"m":true,"M":false,"O":1499405658657,"Z":"0.05132205","Y":"0.05132205","Q":"0.00000000","W":1499405658657,"V":"NONE"}}"#;

#[test]
fn an_execution_report_carries_type_time_in_force_and_quote_filled() {
    let events = decode(&mut BinanceApi::new(None), EXECUTION_REPORT);
    let Some(Event::OrderUpdate(u)) = events.list.first() else {
        panic!("{:?}", events.list)
    };
    let u = &events.order_updates[*u];
    assert_eq!(u.detail.order_type, Some(OrderType::Limit));
    assert_eq!(u.detail.time_in_force, Some(TimeInForce::GoodTillCanceled));
    assert_eq!(u.detail.filled_notional, Some(d("0.05132205")));
    assert_eq!(u.detail.created_ts, Some(1_499_405_658_657_000_000));
    assert_eq!(u.detail.trigger_price, None, "P 0: no stop price");
    assert!(!u.detail.post_only);
    // Binance sends no average price; it is Z over z, left to the user.
    assert_eq!(u.detail.avg_price, None);

    // Hand-made from the same report: a LIMIT_MAKER is a post-only limit,
    // and a stop-limit's P is its trigger.
    let maker = EXECUTION_REPORT
        .replace(r#""o":"LIMIT""#, r#""o":"LIMIT_MAKER""#)
        .replace(r#""f":"GTC""#, r#""f":"FOK""#);
    let events = decode(&mut BinanceApi::new(None), &maker);
    let Some(Event::OrderUpdate(u)) = events.list.first() else {
        panic!()
    };
    let u = &events.order_updates[*u];
    assert_eq!(
        (u.detail.order_type, u.detail.post_only),
        (Some(OrderType::Limit), true)
    );
    assert_eq!(u.detail.time_in_force, Some(TimeInForce::FillOrKill));
    let stop = EXECUTION_REPORT
        .replace(r#""o":"LIMIT""#, r#""o":"STOP_LOSS_LIMIT""#)
        .replace(r#""P":"0.00000000""#, r#""P":"0.10000000""#);
    let events = decode(&mut BinanceApi::new(None), &stop);
    let Some(Event::OrderUpdate(u)) = events.list.first() else {
        panic!()
    };
    let u = &events.order_updates[*u];
    assert_eq!(u.detail.order_type, Some(OrderType::StopLimit));
    assert_eq!(u.detail.trigger_price, Some(d("0.10000000")));
}
