//! Binance market streams against the examples in ../shared/venues/binance.md,
//! and the diff-depth U/u synchronisation.

use orderwire_protocol::model::{Event, Events, Level, Method, Side};
use orderwire_protocol::venue::binance::{
    DepthSync, DepthUpdate, StreamMessage, SyncAction, decode_stream,
};

fn d(text: &str) -> orderwire_protocol::num::Decimal {
    text.parse().unwrap()
}

fn depth(message: &str) -> DepthUpdate {
    match decode_stream(message.as_bytes(), &mut Events::default()).unwrap() {
        StreamMessage::Depth(update) => update,
        other => panic!("{other:?}"),
    }
}

fn update(first: u64, last: u64, bid: (&str, &str)) -> DepthUpdate {
    depth(&format!(
        r#"{{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":{first},"u":{last},"b":[["{}","{}"]],"a":[]}}"#,
        bid.0, bid.1
    ))
}

#[test]
fn the_documented_trade_names_the_aggressor() {
    let mut events = Events::default();
    let message = r#"{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}"#;
    assert_eq!(
        decode_stream(message.as_bytes(), &mut events).unwrap(),
        StreamMessage::Events
    );
    let Event::Trade(trade) = &events.list[0] else {
        panic!()
    };
    assert_eq!((&*trade.symbol, &*trade.trade_id), ("BNBBTC", "12345"));
    assert_eq!(
        (trade.price.to_string(), trade.qty.to_string()),
        ("0.001".into(), "100".into())
    );
    assert_eq!(
        trade.side,
        Some(Side::Sell),
        "m: the buyer was the maker, so the aggressor sold"
    );
    assert_eq!(trade.ts, Some(1_672_515_782_136_000_000));
}

#[test]
fn the_documented_depth_update_and_a_combined_stream_wrapper() {
    let raw = r#"{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#;
    let update = depth(raw);
    assert_eq!((update.first_id, update.last_id), (157, 160));
    assert_eq!(
        update.bids,
        [Level {
            price: d("0.0024"),
            qty: d("10")
        }]
    );
    assert_eq!(
        update.asks,
        [Level {
            price: d("0.0026"),
            qty: d("100")
        }]
    );
    let combined = format!(r#"{{"stream":"bnbbtc@depth@100ms","data":{raw}}}"#);
    assert_eq!(depth(&combined), update);
}

#[test]
fn book_ticker_subscribe_replies_and_errors() {
    let mut events = Events::default();
    decode_stream(br#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#, &mut events).unwrap();
    let Event::Ticker(ticker) = &events.list[0] else {
        panic!()
    };
    assert_eq!(ticker.bid.unwrap().to_string(), "25.35190000");
    assert_eq!(ticker.ask_qty.unwrap().to_string(), "40.66000000");
    decode_stream(br#"{"result":null,"id":1}"#, &mut events).unwrap();
    assert!(
        matches!(&events.list[1], Event::Response(r) if r.ok && r.req_id == Some(1) && r.method == Method::Subscribe)
    );
    decode_stream(
        br#"{"code": 2, "msg": "Invalid request: unknown stream"}"#,
        &mut events,
    )
    .unwrap();
    assert!(
        matches!(&events.list[2], Event::Response(r) if !r.ok && r.message.as_deref() == Some("2: Invalid request: unknown stream"))
    );
}

#[test]
fn garbage_is_an_error() {
    for message in [
        "",
        "{",
        r#"{"e":"trade"}"#,
        r#"{"e":"depthUpdate","s":"X"}"#,
        r#"{"x":1}"#,
        r#"{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[["1"]]}"#,
    ] {
        assert!(
            decode_stream(message.as_bytes(), &mut Events::default()).is_err(),
            "{message}"
        );
    }
}

#[test]
fn depth_sync_buffers_applies_after_the_snapshot_and_resyncs_on_a_gap() {
    let mut sync = DepthSync::new(100);
    let mut events = Events::default();
    assert_eq!(
        sync.on_update(update(150, 155, ("1.0", "1")), &mut events),
        SyncAction::NeedSnapshot
    );
    assert_eq!(
        sync.on_update(update(156, 160, ("1.1", "2")), &mut events),
        SyncAction::None
    );
    assert_eq!(
        sync.on_update(update(161, 163, ("1.2", "3")), &mut events),
        SyncAction::None
    );
    assert!(!sync.is_synced());
    // A snapshot older than the first buffered update is taken again.
    assert_eq!(
        sync.on_snapshot(140, &[], &[], &mut events),
        SyncAction::NeedSnapshot
    );
    // lastUpdateId 157: the first update (u 155) is dropped, the second
    // (156..160 spans 158) and the third apply.
    let bids = [
        Level {
            price: d("0.9"),
            qty: d("5"),
        },
        Level {
            price: d("1.0"),
            qty: d("9"),
        },
    ];
    assert_eq!(
        sync.on_snapshot(157, &bids, &[], &mut events),
        SyncAction::None
    );
    assert!(sync.is_synced());
    let prices: Vec<String> = sync
        .book()
        .bids()
        .iter()
        .map(|l| format!("{}@{}", l.qty, l.price))
        .collect();
    assert_eq!(
        prices,
        ["3@1.2", "2@1.1", "9@1.0", "5@0.9"],
        "the snapshot's 1.0 level kept its quantity"
    );
    assert_eq!(
        events
            .list
            .iter()
            .filter(|e| matches!(e, Event::Book(_)))
            .count(),
        2
    );
    // An old update is ignored; a zero removes a level.
    assert_eq!(
        sync.on_update(update(150, 163, ("9.9", "1")), &mut events),
        SyncAction::None
    );
    assert_eq!(
        sync.on_update(update(164, 164, ("1.2", "0")), &mut events),
        SyncAction::None
    );
    assert_eq!(sync.book().best_bid().unwrap().price, d("1.1"));
    // A gap: reported, and the book waits for a new snapshot.
    let gap = sync.on_update(update(170, 171, ("1.3", "1")), &mut events);
    assert_eq!(gap, SyncAction::NeedSnapshot);
    assert!(!sync.is_synced());
    assert!(matches!(
        events.list.last(),
        Some(Event::SequenceGap {
            expected: 165,
            got: 170,
            ..
        })
    ));
}

fn decode_all(codec: &mut impl orderwire_protocol::venue::Venue, text: &str) -> Events {
    use orderwire_protocol::venue::{FrameKind, Offline};
    let mut events = Events::default();
    let mut bytes = text.as_bytes().to_vec();
    Offline::new(0)
        .decode(codec, FrameKind::Text, &mut bytes, &mut events)
        .unwrap();
    events
}

#[test]
fn the_streams_codec_subscribes_asks_for_a_snapshot_and_syncs_from_one_taken_elsewhere() {
    use orderwire_protocol::model::{BookEvent, Request, Subscription, inline};
    use orderwire_protocol::venue::Offline;
    use orderwire_protocol::venue::binance::BinanceStreams;
    let mut codec = BinanceStreams::new();
    let mut offline = Offline::new(0);
    let subscription = Subscription::Book {
        symbols: vec![inline("BNBBTC").unwrap()],
        depth: 1000,
    };
    let mut out = Vec::new();
    offline
        .encode(&mut codec, 1, &Request::Subscribe(&subscription), &mut out)
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"method":"SUBSCRIBE","params":["bnbbtc@depth@100ms"],"id":1}"#
    );
    let events = decode_all(&mut codec, r#"{"result":null,"id":1}"#);
    assert!(
        matches!(&events.list[..], [Event::Response(r), Event::NeedBookSnapshot { symbol }]
            if r.ok && r.method == Method::Subscribe && r.req_id == Some(1) && symbol.as_str() == "BNBBTC"),
        "subscribed: the snapshot is asked for at once: {:?}",
        events.list
    );
    let first = r#"{"e":"depthUpdate","E":1,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#;
    let events = decode_all(&mut codec, first);
    assert!(
        events.list.is_empty(),
        "buffered, and the snapshot is not asked for twice: {:?}",
        events.list
    );
    let events = decode_all(
        &mut codec,
        r#"{"e":"depthUpdate","E":2,"s":"BNBBTC","U":161,"u":162,"b":[["0.0023","5"]],"a":[]}"#,
    );
    assert!(events.list.is_empty(), "buffered until the snapshot");
    // The snapshot (taken on the API connection) covers up to 158.
    let levels = [
        Level {
            price: d("0.0024"),
            qty: d("1"),
        },
        Level {
            price: d("0.0026"),
            qty: d("1"),
        },
    ];
    let snapshot = BookEvent {
        symbol: inline("BNBBTC").unwrap(),
        snapshot: true,
        bids: 0..1,
        asks: 1..2,
        checksum: None,
        sequence: Some(158),
        ts: None,
        from_snapshot: false,
        grouping: None,
    };
    let mut events = Events::default();
    offline.feed_book_snapshot(&mut codec, &snapshot, &levels, &mut events);
    let kinds: Vec<_> = events
        .list
        .iter()
        .map(|e| match e {
            Event::Book(b) => (b.snapshot, b.sequence),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [(true, Some(158)), (false, Some(160)), (false, Some(162))]
    );
    let book = codec.book("BNBBTC").unwrap().book();
    assert_eq!(book.bids()[0].qty, d("10"), "the buffered update applied");
    assert_eq!(book.bids()[1].price, d("0.0023"));
    // A gap asks again.
    let events = decode_all(
        &mut codec,
        r#"{"e":"depthUpdate","E":3,"s":"BNBBTC","U":170,"u":171,"b":[],"a":[]}"#,
    );
    assert!(matches!(
        &events.list[..],
        [
            Event::SequenceGap {
                expected: 163,
                got: 170,
                ..
            },
            Event::NeedBookSnapshot { .. }
        ]
    ));
}

#[test]
fn offline_the_book_starts_from_the_first_update_and_gaps_are_reported() {
    use orderwire_protocol::venue::binance::Binance;
    let mut codec = Binance::offline();
    let events = decode_all(
        &mut codec,
        r#"{"stream":"bnbbtc@depth","data":{"e":"depthUpdate","E":1,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[]}}"#,
    );
    assert!(matches!(&events.list[..], [Event::Book(b)] if !b.snapshot && b.sequence == Some(160)));
    let events = decode_all(
        &mut codec,
        r#"{"e":"depthUpdate","E":2,"s":"BNBBTC","U":165,"u":166,"b":[],"a":[]}"#,
    );
    assert!(matches!(
        &events.list[..],
        [
            Event::SequenceGap {
                expected: 161,
                got: 165,
                ..
            },
            ..
        ]
    ));
}
