//! Issue 24's points for Kraken WS v2, from the examples on Kraken's own
//! pages (docs.kraken.com, `trade` and `ohlc`; copied in
//! docs/venues/kraken.md).

use orderwire_protocol::model::{
    Event, Events, OrderType, Request, Subscription, TimeInForce, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::kraken::{Kraken, Tier};
use orderwire_protocol::venue::{FrameKind, Offline};

fn kraken() -> Kraken {
    Kraken::new(Some(Secret::new("token")), Tier::Starter)
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn decode(codec: &mut Kraken, message: &str) -> Events {
    let mut events = Events::default();
    let mut bytes = message.as_bytes().to_vec();
    Offline::new(0)
        .decode(codec, FrameKind::Text, &mut bytes, &mut events)
        .unwrap_or_else(|e| panic!("{e}: {message}"));
    events
}

#[test]
fn trades_say_snapshot_or_update() {
    let snapshot = r#"{"channel":"trade","type":"snapshot","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5147,"qty":6423.46326,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"}]}"#;
    let mut codec = kraken();
    let Event::Trade(t) = &decode(&mut codec, snapshot).list[0] else {
        panic!()
    };
    assert!(
        t.from_snapshot,
        "may repeat a trade seen before a reconnect"
    );
    let update = snapshot.replace("\"snapshot\"", "\"update\"");
    let Event::Trade(t) = &decode(&mut codec, &update).list[0] else {
        panic!()
    };
    assert!(!t.from_snapshot);
    // `type` after `data`: the flag still holds.
    let late = r#"{"channel":"trade","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5147,"qty":1,"ord_type":"limit","trade_id":1,"timestamp":"2023-09-25T07:48:36.925533Z"}],"type":"snapshot"}"#;
    let Event::Trade(t) = &decode(&mut codec, late).list[0] else {
        panic!()
    };
    assert!(t.from_snapshot);
}

/// The ohlc page's snapshot and update examples, whole.
#[test]
fn ohlc_snapshot_and_update_are_candles() {
    let snapshot = r#"{"channel":"ohlc","type":"snapshot","timestamp":"2023-10-04T16:26:01.806315597Z","data":[{"symbol":"ALGO/USD","open":0.09875,"high":0.09875,"low":0.09875,"close":0.09875,"trades":1,"volume":201.86015,"vwap":0.09875,"interval_begin":"2023-10-04T15:25:00.000000000Z","interval":5,"timestamp":"2023-10-04T15:30:00.000000Z"},{"symbol":"ALGO/USD","open":0.09875,"high":0.0988,"low":0.09875,"close":0.09875,"trades":13,"volume":16255.46368,"vwap":0.09879,"interval_begin":"2023-10-04T15:30:00.000000000Z","interval":5,"timestamp":"2023-10-04T15:35:00.000000Z"}]}"#;
    let mut codec = kraken();
    let events = decode(&mut codec, snapshot);
    let [Event::Candle(a), Event::Candle(b)] = events.list.as_slice() else {
        panic!("{:?}", events.list)
    };
    assert_eq!(a.symbol.as_str(), "ALGO/USD");
    assert_eq!(a.interval.as_str(), "5m");
    assert_eq!(a.open, d("0.09875"));
    assert_eq!(a.volume, d("201.86015"));
    assert_eq!(
        a.start, 1_696_433_100_000_000_000,
        "interval_begin, not the deprecated timestamp (the interval's end)"
    );
    assert!(a.from_snapshot && b.from_snapshot);
    assert_eq!(b.high, d("0.0988"));
    assert_eq!(a.closed, None, "Kraken never says");
    let update = r#"{"channel":"ohlc","type":"update","timestamp":"2023-10-04T16:26:30.524394914Z","data":[{"symbol":"MATIC/USD","open":0.5624,"high":0.5628,"low":0.5622,"close":0.5627,"trades":12,"volume":30927.68066226,"vwap":0.5626,"interval_begin":"2023-10-04T16:25:00.000000000Z","interval":5,"timestamp":"2023-10-04T16:30:00.000000Z"}]}"#;
    let Event::Candle(c) = &decode(&mut codec, update).list[0] else {
        panic!()
    };
    assert!(!c.from_snapshot);
    assert_eq!(c.close, d("0.5627"));
    assert_eq!(c.volume.to_string(), "30927.68066226");
}

/// The ohlc page's subscribe request, and intervals Kraken does not serve.
#[test]
fn ohlc_subscribe_matches_the_documented_request() {
    let mut codec = kraken();
    let candles = Subscription::Candles {
        symbols: vec![inline("ALGO/USD").unwrap(), inline("MATIC/USD").unwrap()],
        interval: inline("5m").unwrap(),
    };
    let mut out = Vec::new();
    Offline::new(0)
        .encode(&mut codec, 7, &Request::Subscribe(&candles), &mut out)
        .unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        sent["params"],
        serde_json::json!({"channel":"ohlc","symbol":["ALGO/USD","MATIC/USD"],"interval":5})
    );
    let daily = Subscription::Candles {
        symbols: vec![inline("ALGO/USD").unwrap()],
        interval: inline("1d").unwrap(),
    };
    out.clear();
    Offline::new(0)
        .encode(&mut codec, 8, &Request::Subscribe(&daily), &mut out)
        .unwrap();
    assert!(String::from_utf8_lossy(&out).contains(r#""interval":1440"#));
    let hourly2 = Subscription::Candles {
        symbols: vec![inline("ALGO/USD").unwrap()],
        interval: inline("2h").unwrap(),
    };
    assert!(
        Offline::new(0)
            .encode(
                &mut codec,
                9,
                &Request::Subscribe(&hourly2),
                &mut Vec::new()
            )
            .is_err()
    );
}

/// Kraken's executions example (docs.kraken.com "Executions"): the
/// pending_new report names the type and time in force, the trade report
/// the average price and cumulative cost; the update after the trade
/// carries all of them.
#[test]
fn an_order_update_carries_kraken_s_average_price_cost_type_and_time_in_force() {
    let pending = r#"{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5","order_userref":3,"symbol":"BTC/USD","order_qty":0.005,"cum_cost":0.0,"time_in_force":"GTC","exec_type":"pending_new","side":"sell","order_type":"limit","limit_price_type":"static","limit_price":26500.0,"stop_price":0.0,"order_status":"pending_new","fee_usd_equiv":0.0,"fee_ccy_pref":"fciq","timestamp":"2023-09-22T10:33:05.709950Z"}],"sequence":8}"#;
    let trade = r#"{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5","order_userref":3,"exec_id":"TGBB7L-HT5LX-J3BZ4A","exec_type":"trade","trade_id":62887576,"symbol":"BTC/USD","side":"sell","last_qty":0.005,"last_price":26599.9,"liquidity_ind":"t","cost":132.9995,"order_type":"limit","timestamp":"2023-09-22T10:33:05.709993Z","order_status":"partially_filled","cum_qty":0.005,"cum_cost":132.9995,"avg_price":26599.9,"fee_usd_equiv":0.3458,"fees":[{"asset":"USD","qty":0.3458}]}],"sequence":10}"#;
    let mut codec = kraken();
    let events = decode(&mut codec, pending);
    let Some(Event::OrderUpdate(u)) = events.list.last() else {
        panic!("{:?}", events.list)
    };
    let u = &events.order_updates[*u];
    assert_eq!(u.detail.order_type, Some(OrderType::Limit));
    assert_eq!(u.detail.time_in_force, Some(TimeInForce::GoodTillCanceled));
    assert_eq!(u.detail.filled_notional, Some(d("0")));
    assert_eq!(u.detail.avg_price, None, "nothing filled: no average");
    let events = decode(&mut codec, trade);
    let Some(Event::OrderUpdate(u)) = events.list.last() else {
        panic!("{:?}", events.list)
    };
    let u = &events.order_updates[*u];
    assert_eq!(u.detail.avg_price, Some(d("26599.9")));
    assert_eq!(u.detail.filled_notional, Some(d("132.9995")));
    assert_eq!(
        u.detail.time_in_force,
        Some(TimeInForce::GoodTillCanceled),
        "kept from the order's first report"
    );
    assert!(!u.detail.post_only);
    // fee_usd_equiv is a USD equivalent, not the fee in its asset: the
    // order's fee stays unreported; the fill carries the fee itself.
    assert_eq!(u.detail.fee, None);
}
