//! The Kraken WS v2 codec against every example in ../shared/venues/kraken.md.

use orderwire_protocol::model::{
    AmendOrder, CancelOrders, Event, Events, Liquidity, Method, NewOrder, OrderKind, OrderRef,
    OrderStatus, Request, Side, Subscription, TimeInForce, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::kraken::{Kraken, Tier};
use orderwire_protocol::venue::{EncodeError, FrameKind, Offline};

const TOKEN: &str = "G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY";
const SNAPSHOT: &str = include_str!("kraken/book_snapshot.json");

fn kraken() -> Kraken {
    Kraken::new(Some(Secret::new(TOKEN)), Tier::Starter)
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn decode(codec: &mut Kraken, message: &str) -> Events {
    let mut events = Events::default();
    let mut bytes = message.as_bytes().to_vec();
    Offline::new(0)
        .decode(codec, FrameKind::Text, &mut bytes, &mut events)
        .unwrap();
    events
}

fn encode(codec: &mut Kraken, req_id: u64, request: Request<'_>) -> serde_json::Value {
    let mut out = Vec::new();
    Offline::new(0)
        .encode(codec, req_id, &request, &mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

fn limit_buy() -> NewOrder {
    NewOrder {
        client_order_id: inline("").unwrap(),
        symbol: inline("BTC/USD").unwrap(),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some(d("26500.4")),
        qty: d("1.2"),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

#[test]
fn add_order_matches_the_documented_request() {
    let value = encode(&mut kraken(), 123456789, Request::Place(&limit_buy()));
    let expected = json(&format!(
        r#"{{"method":"add_order","params":{{"order_type":"limit","side":"buy","limit_price":26500.4,"order_qty":1.2,"symbol":"BTC/USD","token":"{TOKEN}"}},"req_id":123456789}}"#
    ));
    assert_eq!(value, expected);
}

#[test]
fn prices_go_out_as_their_exact_text() {
    let mut order = limit_buy();
    order.price = Some(d("0.10000000"));
    order.qty = d("12345678901234567890.123456789");
    order.client_order_id = inline("2c6be801-1f53-4f79-a0bb-4ea1c95dfae9").unwrap();
    order.time_in_force = TimeInForce::ImmediateOrCancel;
    order.post_only = true;
    let mut out = Vec::new();
    Offline::new(0)
        .encode(&mut kraken(), 7, &Request::Place(&order), &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#""limit_price":0.10000000,"order_qty":12345678901234567890.123456789"#),
        "{text}"
    );
    assert!(text.contains(r#""cl_ord_id":"2c6be801-1f53-4f79-a0bb-4ea1c95dfae9","time_in_force":"ioc","post_only":true"#));
}

#[test]
fn amend_cancel_cancel_all_and_dead_man_switch() {
    let mut codec = kraken();
    let amend = AmendOrder {
        symbol: None,
        order: OrderRef::ClientOrderId(inline("2c6be801-1f53-4f79-a0bb-4ea1c95dfae9").unwrap()),
        price: Some(d("490795")),
        qty: Some(d("1.2")),
    };
    assert_eq!(
        encode(&mut codec, 5, Request::Amend(&amend)),
        json(&format!(
            r#"{{"method":"amend_order","params":{{"cl_ord_id":"2c6be801-1f53-4f79-a0bb-4ea1c95dfae9","limit_price":490795,"order_qty":1.2,"token":"{TOKEN}"}},"req_id":5}}"#
        ))
    );
    let cancel = CancelOrders {
        symbol: None,
        orders: vec![
            OrderRef::OrderId(inline("OM5CRX-N2HAL-GFGWE9").unwrap()),
            OrderRef::OrderId(inline("OLUMT4-UTEGU-ZYM7E9").unwrap()),
        ],
    };
    assert_eq!(
        encode(&mut codec, 123456789, Request::Cancel(&cancel)),
        json(&format!(
            r#"{{"method":"cancel_order","params":{{"order_id":["OM5CRX-N2HAL-GFGWE9","OLUMT4-UTEGU-ZYM7E9"],"token":"{TOKEN}"}},"req_id":123456789}}"#
        ))
    );
    assert_eq!(codec.replies_expected(&Request::Cancel(&cancel)), 2);
    assert_eq!(
        encode(&mut codec, 1234567890, Request::CancelAll { symbol: None }),
        json(&format!(
            r#"{{"method":"cancel_all","params":{{"token":"{TOKEN}"}},"req_id":1234567890}}"#
        ))
    );
    assert_eq!(
        encode(
            &mut codec,
            1234567890,
            Request::CancelAllAfter { timeout_secs: 100 }
        ),
        json(&format!(
            r#"{{"method":"cancel_all_orders_after","params":{{"timeout":100,"token":"{TOKEN}"}},"req_id":1234567890}}"#
        ))
    );
    assert_eq!(
        encode(&mut codec, 101, Request::Ping),
        json(r#"{"method":"ping","req_id":101}"#)
    );
}

#[test]
fn subscriptions() {
    let mut codec = kraken();
    let executions = Subscription::Executions {
        snapshot_orders: true,
        snapshot_trades: true,
    };
    assert_eq!(
        encode(&mut codec, 1, Request::Subscribe(&executions)),
        json(&format!(
            r#"{{"method":"subscribe","params":{{"channel":"executions","snap_orders":true,"snap_trades":true,"token":"{TOKEN}"}},"req_id":1}}"#
        ))
    );
    assert_eq!(
        encode(&mut codec, 2, Request::Unsubscribe(&executions)),
        json(&format!(
            r#"{{"method":"unsubscribe","params":{{"channel":"executions","token":"{TOKEN}"}},"req_id":2}}"#
        ))
    );
    let book = Subscription::Book {
        symbols: vec![inline("BTC/USD").unwrap()],
        depth: 10,
    };
    assert_eq!(
        encode(&mut codec, 3, Request::Subscribe(&book)),
        json(
            r#"{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10},"req_id":3}"#
        )
    );
}

#[test]
fn misuse_is_refused_and_leaves_the_buffer_as_it_was() {
    let mut out = b"keep".to_vec();
    let mut public = Kraken::public();
    assert_eq!(
        Offline::new(0).encode(&mut public, 1, &Request::Place(&limit_buy()), &mut out),
        Err(EncodeError::NoCredentials)
    );
    let mut no_price = limit_buy();
    no_price.price = None;
    assert!(matches!(
        Offline::new(0).encode(&mut kraken(), 1, &Request::Place(&no_price), &mut out),
        Err(EncodeError::Invalid(_))
    ));
    let one = [limit_buy()];
    assert!(matches!(
        Offline::new(0).encode(&mut kraken(), 1, &Request::BatchPlace(&one), &mut out),
        Err(EncodeError::Invalid(_))
    ));
    assert!(matches!(
        Offline::new(0).encode(
            &mut kraken(),
            1,
            &Request::CancelAllAfter {
                timeout_secs: 86_400
            },
            &mut out
        ),
        Err(EncodeError::Invalid(_))
    ));
    assert_eq!(out, b"keep");
}

#[test]
fn debug_output_never_shows_the_token() {
    assert!(!format!("{:?}", kraken()).contains(TOKEN));
}

#[test]
fn documented_snapshot_has_checksum_3310070434() {
    let mut codec = kraken();
    let events = decode(&mut codec, SNAPSHOT);
    let Event::Book(book) = &events.list[0] else {
        panic!("{:?}", events.list)
    };
    assert_eq!(events.list.len(), 1, "no mismatch event: {:?}", events.list);
    assert!(book.snapshot);
    assert_eq!(book.checksum, Some(3310070434));
    assert_eq!(
        orderwire_protocol::venue::kraken::book_checksum(codec.book("BTC/USD").unwrap()),
        3310070434
    );
    let bids = events.levels(&book.bids);
    assert_eq!(bids[0].price.to_string(), "45283.5");
    assert_eq!(bids[0].qty.to_string(), "0.10000000");
    assert_eq!(events.levels(&book.asks).len(), 10);
    assert_eq!(book.ts, Some(1_696_613_755_440_295_000));
}

#[test]
fn a_wrong_checksum_is_reported() {
    let mut codec = kraken();
    let bad = SNAPSHOT.replace("3310070434", "3310070435");
    let events = decode(&mut codec, &bad);
    assert!(matches!(
        events.list[1],
        Event::ChecksumMismatch {
            expected: 3310070435,
            computed: 3310070434,
            ..
        }
    ));
}

#[test]
fn updates_apply_delete_and_truncate_before_the_checksum() {
    let mut codec = kraken();
    decode(&mut codec, SNAPSHOT);
    // Two new bids and one delete: 11 levels, truncated to the depth of 10,
    // so the worst bid falls out without a delete from the venue.
    let update = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45284.0,"qty":0.5},{"price":45283.45,"qty":1},{"price":45283.4,"qty":0}],"asks":[],"checksum":0,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#;
    let events = decode(&mut codec, update);
    let book = codec.book("BTC/USD").unwrap();
    assert_eq!(book.bids().len(), 10);
    assert_eq!(book.bids()[0].price, d("45284.0"));
    assert!(book.bids().iter().all(|l| l.price != d("45283.4")));
    assert!(
        book.bids().iter().all(|l| l.price != d("45276.6")),
        "truncated"
    );
    let computed = orderwire_protocol::venue::kraken::book_checksum(book);
    assert!(matches!(events.list[1], Event::ChecksumMismatch { computed: c, .. } if c == computed));
    // The documented update shape (a different pair, so no local book yet).
    let doc_update = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":105944.20,"qty":0.250}],"asks":[],"checksum":2114181697,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#;
    let events = decode(&mut kraken(), doc_update);
    let Event::Book(book) = &events.list[0] else {
        panic!()
    };
    assert_eq!(events.levels(&book.bids)[0].price.to_string(), "105944.20");
    assert_eq!(events.levels(&book.bids)[0].qty.to_string(), "0.250");
}

#[test]
fn executions_merge_partial_updates_and_emit_fills() {
    let mut codec = kraken();
    let first = r#"{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5","order_userref":3,"symbol":"BTC/USD","order_qty":0.005,"cum_cost":0.0,"time_in_force":"GTC","exec_type":"pending_new","side":"sell","order_type":"limit","limit_price_type":"static","limit_price":26500.0,"stop_price":0.0,"order_status":"pending_new","fee_usd_equiv":0.0,"fee_ccy_pref":"fciq","timestamp":"2023-09-22T10:33:05.709950Z"}],"sequence":8}"#;
    let second = r#"{"channel":"executions","type":"update","data":[{"timestamp":"2023-09-22T10:33:05.709982Z","order_status":"new","exec_type":"new","order_userref":3,"order_id":"OK4GJX-KSTLS-7DZZO5"}],"sequence":9}"#;
    let third = r#"{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5","order_userref":3,"exec_id":"TGBB7L-HT5LX-J3BZ4A","exec_type":"trade","trade_id":62887576,"symbol":"BTC/USD","side":"sell","last_qty":0.005,"last_price":26599.9,"liquidity_ind":"t","cost":132.9995,"order_type":"limit","timestamp":"2023-09-22T10:33:05.709993Z","order_status":"partially_filled","cum_qty":0.005,"cum_cost":132.9995,"avg_price":26599.9,"fee_usd_equiv":0.3458,"fees":[{"asset":"USD","qty":0.3458}]}],"sequence":10}"#;
    let events = decode(&mut codec, first);
    let Event::OrderUpdate(update) = &events.list[0] else {
        panic!()
    };
    let update = &events.order_updates[*update];
    assert_eq!(update.status, OrderStatus::PendingNew);
    assert_eq!(update.price, Some(d("26500.0")));
    let events = decode(&mut codec, second);
    let Event::OrderUpdate(update) = &events.list[0] else {
        panic!()
    };
    let update = &events.order_updates[*update];
    assert_eq!(update.status, OrderStatus::New);
    assert_eq!(
        update.symbol.as_deref(),
        Some("BTC/USD"),
        "merged from the first message"
    );
    assert_eq!(update.side, Some(Side::Sell));
    assert_eq!(update.qty, Some(d("0.005")));
    let events = decode(&mut codec, third);
    let Event::Fill(fill) = &events.list[0] else {
        panic!()
    };
    let fill = &events.fills[*fill];
    assert_eq!(fill.price.to_string(), "26599.9");
    assert_eq!(fill.qty.to_string(), "0.005");
    assert_eq!(fill.fee.map(|f| f.to_string()).as_deref(), Some("0.3458"));
    assert_eq!(fill.fee_asset.as_deref(), Some("USD"));
    assert_eq!(&*fill.trade_id, "62887576", "the venue's trade id");
    assert_eq!(
        fill.exec_id.as_deref(),
        Some("TGBB7L-HT5LX-J3BZ4A"),
        "and the execution's own id"
    );
    assert_eq!(fill.liquidity, Some(Liquidity::Taker));
    let Event::OrderUpdate(update) = &events.list[1] else {
        panic!()
    };
    let update = &events.order_updates[*update];
    assert_eq!(update.status, OrderStatus::PartiallyFilled);
    assert_eq!(update.filled_qty, Some(d("0.005")));
    // A skipped sequence number is reported.
    let gap = third.replace("\"sequence\":10", "\"sequence\":12");
    let events = decode(&mut codec, &gap);
    assert!(matches!(
        events.list[0],
        Event::SequenceGap {
            expected: 11,
            got: 12,
            ..
        }
    ));
}

#[test]
fn order_responses() {
    let mut codec = kraken();
    let events = decode(
        &mut codec,
        r#"{"method":"add_order","req_id":123456789,"result":{"order_id":"AA5JGQ-SBMRC-SCJ7J7","order_userref":100054},"success":true,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}"#,
    );
    let Event::OrderAck(ack) = &events.list[0] else {
        panic!()
    };
    assert_eq!((ack.req_id, ack.method), (Some(123456789), Method::Place));
    assert_eq!(ack.order_id.as_deref(), Some("AA5JGQ-SBMRC-SCJ7J7"));
    assert_eq!(ack.ts_out.unwrap() - ack.ts_in.unwrap(), 8_027_000);
    let events = decode(
        &mut codec,
        r#"{"method":"add_order","req_id":99,"success":false,"error":"EOrder:Insufficient funds","time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}"#,
    );
    let Event::OrderReject(reject) = &events.list[0] else {
        panic!()
    };
    assert_eq!((reject.req_id, reject.code.as_str()), (Some(99), "EOrder"));
    assert_eq!(reject.message, "EOrder:Insufficient funds");
    let events = decode(
        &mut codec,
        r#"{"method":"amend_order","result":{"amend_id":"TTW6PD-RC36L-ZZSWNU","cl_ord_id":"2c6be801-1f53-4f79-a0bb-4ea1c95dfae9"},"success":true,"time_in":"2024-07-26T13:39:04.922699Z","time_out":"2024-07-26T13:39:04.924912Z"}"#,
    );
    let Event::OrderAck(ack) = &events.list[0] else {
        panic!()
    };
    assert_eq!((ack.req_id, ack.method), (None, Method::Amend));
    assert_eq!(
        ack.client_order_id.as_deref(),
        Some("2c6be801-1f53-4f79-a0bb-4ea1c95dfae9")
    );
    let events = decode(
        &mut codec,
        r#"{"method":"cancel_order","req_id":123456789,"result":{"order_id":"OLUMT4-UTEGU-ZYM7E9"},"success":true,"time_in":"2023-09-21T14:36:57.428972Z","time_out":"2023-09-21T14:36:57.437952Z"}"#,
    );
    let Event::OrderAck(ack) = &events.list[0] else {
        panic!()
    };
    assert_eq!(
        (ack.method, ack.order_id.as_deref()),
        (Method::Cancel, Some("OLUMT4-UTEGU-ZYM7E9"))
    );
}

#[test]
fn batch_add_accepts_both_result_shapes() {
    let mut codec = kraken();
    let events = decode(
        &mut codec,
        r#"{"method":"batch_add","req_id":7,"result":[{"order_id":"ORDERX-IDXXX-XXXXX1","order_userref":1},{"order_id":"ORDERX-IDXXX-XXXXX2","order_userref":2}],"success":true,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}"#,
    );
    assert_eq!(events.list.len(), 2);
    assert!(
        events
            .list
            .iter()
            .all(|e| matches!(e, Event::OrderAck(a) if a.req_id == Some(7)))
    );
    let events = decode(
        &mut codec,
        r#"{"method":"batch_add","req_id":8,"result":{"orders":[{"order_id":"ORDERX-IDXXX-XXXXX3","success":true},{"success":false,"error":"EOrder:Insufficient funds"}]},"success":true}"#,
    );
    assert!(
        matches!(&events.list[0], Event::OrderAck(a) if a.order_id.as_deref() == Some("ORDERX-IDXXX-XXXXX3"))
    );
    assert!(matches!(&events.list[1], Event::OrderReject(r) if r.code == "EOrder"));
}

#[test]
fn other_responses_pings_and_heartbeats() {
    let mut codec = kraken();
    let cases = [
        (
            r#"{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}"#,
            Method::Ping,
            true,
            None,
        ),
        (
            r#"{"method":"subscribe","result":{"channel":"ticker","symbol":"BTC/USD","snapshot":true},"success":true,"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z","req_id":1}"#,
            Method::Subscribe,
            true,
            Some("ticker"),
        ),
        (
            r#"{"method":"subscribe","result":{"channel":"executions","maxratecount":125,"snap_orders":true,"snap_trades":true},"success":true,"time_in":"2023-10-16T13:18:35.303171Z","time_out":"2023-10-16T13:18:35.318297Z"}"#,
            Method::Subscribe,
            true,
            Some("executions"),
        ),
        (
            r#"{"method":"unsubscribe","result":{"channel":"executions"},"success":true,"time_in":"2023-10-16T13:18:35.303171Z","time_out":"2023-10-16T13:18:35.318297Z"}"#,
            Method::Unsubscribe,
            true,
            Some("executions"),
        ),
        (
            r#"{"method":"cancel_all","req_id":1234567890,"result":{"count":1},"success":true,"time_in":"2023-09-21T14:36:57.428972Z","time_out":"2023-09-21T14:36:57.437952Z"}"#,
            Method::CancelAll,
            true,
            Some("count 1"),
        ),
        (
            r#"{"method":"cancel_all_orders_after","req_id":1234567890,"result":{"currentTime":"2023-09-21T15:49:29Z","triggerTime":"2023-09-21T15:51:09Z"},"success":true,"time_in":"2023-09-21T15:49:28.627900Z","time_out":"2023-09-21T15:49:28.649057Z"}"#,
            Method::CancelAllAfter,
            true,
            Some("trigger 2023-09-21T15:51:09Z"),
        ),
        (
            r#"{"Error": "Exceeded msg rate"}"#,
            Method::Other,
            false,
            Some("Exceeded msg rate"),
        ),
    ];
    for (message, method, ok, text) in cases {
        let events = decode(&mut codec, message);
        let Event::Response(response) = &events.list[0] else {
            panic!("{message}: {:?}", events.list)
        };
        assert_eq!((response.method, response.ok), (method, ok), "{message}");
        assert_eq!(response.message.as_deref(), text, "{message}");
    }
    let events = decode(&mut codec, r#"{"channel":"heartbeat"}"#);
    assert_eq!(events.list, [Event::Heartbeat]);
}

#[test]
fn ticker_and_trade() {
    let mut codec = kraken();
    let events = decode(
        &mut codec,
        r#"{"channel":"ticker","type":"snapshot","data":[{"symbol":"BTC/USD","bid":26000.1,"bid_qty":0.5,"ask":26000.2,"ask_qty":1.25,"last":26000.1,"volume":1234.56789,"vwap":26010.0,"low":25000.0,"high":27000.0,"change":10.0,"change_pct":0.04}]}"#,
    );
    let Event::Ticker(ticker) = &events.list[0] else {
        panic!()
    };
    assert_eq!(ticker.bid, Some(d("26000.1")));
    assert_eq!(ticker.volume.unwrap().to_string(), "1234.56789");
    let events = decode(
        &mut codec,
        r#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":45283.4,"qty":0.0005,"ord_type":"market","trade_id":1,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#,
    );
    let Event::Trade(trade) = &events.list[0] else {
        panic!()
    };
    assert_eq!((trade.side, &*trade.trade_id), (Some(Side::Sell), "1"));
    assert_eq!(trade.qty.to_string(), "0.0005");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let mut codec = kraken();
    for message in [
        "",
        "{",
        "[]",
        r#"{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[{"price":"x","qty":1}]}]}"#,
        r#"{"channel":"book","data":5}"#,
        r#"{"channel":"executions","type":"update","data":[{"exec_type":"trade"}]}"#,
        r#"{"channel":"nope"}"#,
        r#"{"method":"add_order","time_in":"yesterday"}"#,
        r#"{"channel":"heartbeat"} trailing"#,
    ] {
        let mut events = Events::default();
        let mut bytes = message.as_bytes().to_vec();
        assert!(
            Offline::new(0)
                .decode(&mut codec, FrameKind::Text, &mut bytes, &mut events)
                .is_err(),
            "{message}"
        );
    }
}

/// Split (`Venue::split`), the decoding half learns the book depth from
/// the subscribe's note; without the note it would truncate to the default.
#[test]
fn split_the_decoder_learns_the_book_depth_from_the_subscribe() {
    use orderwire_protocol::venue::Venue;
    let book = Subscription::Book {
        symbols: vec![inline("BTC/USD").unwrap()],
        depth: 25,
    };
    let update = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45284.0,"qty":0.5},{"price":45283.45,"qty":1},{"price":45283.4,"qty":0}],"asks":[],"checksum":0,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#;
    let bids_after = |decoder: &mut Kraken| {
        decode(decoder, SNAPSHOT);
        decode(decoder, update);
        decoder.book("BTC/USD").unwrap().bids().len()
    };
    let mut whole = kraken();
    encode(&mut whole, 1, Request::Subscribe(&book));
    let mut encoder = kraken();
    let mut decoder = encoder.split().expect("Kraken splits");
    encode(&mut encoder, 1, Request::Subscribe(&book));
    assert_eq!(Offline::pass_notes(&mut encoder, &mut decoder), 1);
    // Ten levels plus two new bids less one deleted: eleven, kept at depth
    // 25; a decoder that missed the note cuts them to the default 10.
    assert_eq!(bids_after(&mut decoder), 11);
    assert_eq!(bids_after(&mut whole), 11);
    assert_eq!(bids_after(&mut kraken().split().unwrap()), 10);
    assert!(
        format!("{decoder:?}").contains("token: None"),
        "the decoding half holds no token: {decoder:?}"
    );
    // A codec that is not split writes no notes.
    assert_eq!(whole.take_note(), None);
}
