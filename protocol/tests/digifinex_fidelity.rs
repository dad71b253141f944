//! Issue 24's points for DigiFinex, from the examples on DigiFinex's own
//! `Websocket_API_en.md` (github DigiFinex/api) where there is one; the
//! partial-fill sequences are hand-made, and say so.

use orderwire_protocol::model::{Event, Events, Fill, OrderStatus, OrderType, OrderUpdate};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::digifinex::DigiFinex;
use orderwire_protocol::venue::{FrameKind, Offline, Venue};

fn decode(codec: &mut DigiFinex, text: &str) -> Result<Events, String> {
    let mut offline = Offline::new(1);
    let mut events = Events::default();
    let mut bytes = text.as_bytes().to_vec();
    offline
        .decode(codec, FrameKind::Text, &mut bytes, &mut events)
        .map_err(|e| e.to_string())?;
    Ok(events)
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn fills(events: &Events) -> Vec<&Fill> {
    events.fills.iter().collect()
}

fn update(events: &Events) -> &OrderUpdate {
    events.order_updates.first().expect("an order update")
}

/// The page's order.update example, whole: a market buy, filled at once.
const DOCUMENTED: &str = r#"{"method":"order.update","params":[{"amount":"0","filled":"0.9969","id":"31b7f41c81787b4200c75eb074e6edc9","mode":1,"notional":"9713.82","price":"0","price_avg":"9700","side":"buy","status":2,"symbol":"BTC_USDT","timestamp":1589272547000,"type":"market"}],"id":null}"#;

#[test]
fn the_documented_update_carries_its_average_type_and_a_derived_fill() {
    let mut codec = DigiFinex::public();
    let events = decode(&mut codec, DOCUMENTED).unwrap();
    assert!(
        matches!(events.list[0], Event::Fill(_)),
        "the fill comes before the update that states the total: {:?}",
        events.list
    );
    let u = update(&events);
    assert_eq!(u.status, OrderStatus::Filled);
    assert_eq!(u.detail.avg_price, Some(dec("9700")));
    assert_eq!(u.detail.order_type, Some(OrderType::Market));
    assert_eq!(
        u.detail.filled_notional, None,
        "`notional` is not filled * price_avg in the page's own example (9713.82 against 9669.93): not reported as filled notional"
    );
    let [fill] = fills(&events)[..] else { panic!() };
    assert!(fill.derived);
    assert_eq!(fill.qty, dec("0.9969"));
    assert_eq!(fill.price, dec("9700"));
    assert_eq!(
        fill.trade_id.as_str(),
        "31b7f41c81787b4200c75eb074e6edc9:0.9969"
    );
    assert_eq!(fill.ts, Some(1_589_272_547_000_000_000));
    assert_eq!(fill.fee, None, "no push carries a fee");
}

fn limit_update(status: u8, filled: &str, avg: &str) -> String {
    format!(
        r#"{{"method":"order.update","params":[{{"amount":"3","filled":"{filled}","id":"a1","mode":1,"notional":"0","price":"100.5","price_avg":"{avg}","side":"sell","status":{status},"symbol":"ETH_USDT","timestamp":1589272547000,"type":"limit"}}],"id":null}}"#
    )
}

/// Hand-made: a limit sell of 3 filled 1 at 101, then 1.5 at 100.5, then
/// the last 0.5 at 100.5; the venue's running average at each step.
#[test]
fn a_sequence_of_partial_fills_gives_one_derived_fill_each() {
    let mut codec = DigiFinex::public();
    let mut got = Vec::new();
    for (status, filled, avg) in [
        (0, "0", "0"),
        (1, "1", "101"),
        (1, "2.5", "100.7"),
        (1, "2.5", "100.7"),
        (2, "3", "100.66666667"),
    ] {
        let events = decode(&mut codec, &limit_update(status, filled, avg)).unwrap();
        assert_eq!(update(&events).filled_qty, Some(dec(filled)));
        for fill in fills(&events) {
            got.push((fill.qty, fill.price, fill.trade_id.to_string()));
        }
    }
    assert_eq!(
        got,
        vec![
            (dec("1"), dec("101"), "a1:1".to_owned()),
            (dec("1.5"), dec("100.5"), "a1:2.5".to_owned()),
            // 3 * 100.66666667 - 2.5 * 100.7 = 50.25000001, over 0.5,
            // rounded to the average's 8 digits.
            (dec("0.5"), dec("100.50000002"), "a1:3".to_owned()),
        ],
        "a repeated update derives nothing"
    );
    // The order ended: a late repeat of an earlier state derives nothing
    // more than a fresh start would, and a smaller total never does.
    let events = decode(&mut codec, &limit_update(1, "2.5", "100.7")).unwrap();
    assert_eq!(fills(&events).len(), 1, "ended orders start over");
    let events = decode(&mut codec, &limit_update(1, "1", "101")).unwrap();
    assert!(fills(&events).is_empty(), "a smaller total is no fill");
}

#[test]
fn a_bad_message_changes_no_totals() {
    let mut codec = DigiFinex::public();
    decode(&mut codec, &limit_update(1, "1", "101")).unwrap();
    let bad =
        limit_update(1, "2", "101").replace(r#""timestamp":1589272547000"#, r#""timestamp":"x""#);
    assert!(decode(&mut codec, &bad).is_err());
    let events = decode(&mut codec, &limit_update(1, "2", "101")).unwrap();
    let [fill] = fills(&events)[..] else { panic!() };
    assert_eq!(
        fill.qty,
        dec("1"),
        "counted from 1, not from the bad message's 2"
    );
}

#[test]
fn the_total_survives_a_reconnect() {
    let mut codec = DigiFinex::public();
    decode(&mut codec, &limit_update(1, "1", "101")).unwrap();
    codec.reset();
    let events = decode(&mut codec, &limit_update(1, "1.5", "100.5")).unwrap();
    let [fill] = fills(&events)[..] else { panic!() };
    assert_eq!(fill.qty, dec("0.5"));
    assert_eq!(fill.price, dec("99.5"));
}

/// The page's order_algo.update example, and each v3 status code.
#[test]
fn trigger_orders_are_decoded() {
    let mut codec = DigiFinex::public();
    let algo = r#"{"method":"order_algo.update","params":[{"algo_price":"4000","amount":"1","id":"ff0738804cc3361fa91cb7c84feb113c","mode":1,"side":"buy","status":0,"symbol":"BTC_USDT","timestamp":1586767202000,"trigger_price":"4000"}],"id":null}"#;
    let events = decode(&mut codec, algo).unwrap();
    let u = update(&events);
    assert_eq!(u.order_id.as_str(), "ff0738804cc3361fa91cb7c84feb113c");
    assert_eq!(u.status, OrderStatus::New);
    assert_eq!(u.price, Some(dec("4000")));
    assert_eq!(u.qty, Some(dec("1")));
    assert_eq!(u.detail.trigger_price, Some(dec("4000")));
    assert_eq!(u.detail.order_type, Some(OrderType::StopLimit));
    for (code, status) in [
        ("-2", OrderStatus::Rejected),
        ("-1", OrderStatus::Canceled),
        ("1", OrderStatus::Filled),
        ("2", OrderStatus::Filled),
    ] {
        let text = algo.replace(r#""status":0"#, &format!(r#""status":{code}"#));
        assert_eq!(
            update(&decode(&mut codec, &text).unwrap()).status,
            status,
            "{code}"
        );
    }
    let unknown = algo.replace(r#""status":0"#, r#""status":7"#);
    assert!(decode(&mut codec, &unknown).is_err());
}

/// The page's trades example is `clean` true: the venue's snapshot.
#[test]
fn clean_says_snapshot_for_trades_and_books() {
    let mut codec = DigiFinex::public();
    let trades = r#"{"method":"trades.update","params":[true,[{"id":7172173,"time":1523339279.761838,"price":"398.59","amount":"0.027","type":"buy"}],"ETH_USDT"],"id":null}"#;
    let Event::Trade(t) = &decode(&mut codec, trades).unwrap().list[0] else {
        panic!()
    };
    assert!(t.from_snapshot);
    let live = trades.replace("[true,", "[false,");
    let Event::Trade(t) = &decode(&mut codec, &live).unwrap().list[0] else {
        panic!()
    };
    assert!(!t.from_snapshot);
    let depth = r#"{"method":"depth.update","params":[true,{"asks":[["3.1","2"]],"bids":[["3","1"]]},"ETH_USDT"],"id":null}"#;
    let Event::Book(b) = &decode(&mut codec, depth).unwrap().list[0] else {
        panic!()
    };
    assert!(b.snapshot && b.from_snapshot);
}
