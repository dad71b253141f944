//! Every message on upbit.md, decoded; requests and the connection's set.

use orderwire_protocol::model::{
    Event, Events, Liquidity, OrderStatus, Request, Side, Subscription, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::upbit::{Credentials, Upbit};
use orderwire_protocol::venue::{Ctx, Expect, FrameKind, Offline, Venue};

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

const TRADE: &str = r#"{"type":"trade","code":"KRW-BTC","timestamp":1730336862082,"trade_date":"2024-10-31","trade_time":"01:07:42","trade_timestamp":1730336862047,"trade_price":100473000.00000000,"trade_volume":0.00014208,"ask_bid":"BID","prev_closing_price":100571000.00000000,"change":"FALL","change_price":98000.00000000,"sequential_id":17303368620470000,"best_ask_price":100473000,"best_ask_size":0.43139478,"best_bid_price":100465000,"best_bid_size":0.01990656,"stream_type":"SNAPSHOT"}"#;

#[test]
fn the_pages_trade_in_default_and_simple() {
    let simple = r#"{"ty":"trade","cd":"KRW-BTC","tms":1730336862082,"td":"2024-10-31","ttm":"01:07:42","ttms":1730336862047,"tp":100473000.00000000,"tv":0.00014208,"ab":"BID","pcp":100571000.00000000,"c":"FALL","cp":98000.00000000,"sid":17303368620470000,"bap":100473000,"bas":0.43139478,"bbp":100465000,"bbs":0.01990656,"st":"SNAPSHOT"}"#;
    for text in [TRADE, simple] {
        let events = decode(text);
        let [Event::Trade(trade)] = events.list.as_slice() else {
            panic!("{:?}", events.list)
        };
        assert_eq!(trade.symbol.as_str(), "KRW-BTC");
        assert_eq!(trade.price, dec("100473000"));
        assert_eq!(
            trade.price.to_string(),
            "100473000.00000000",
            "the wire's digits kept"
        );
        assert_eq!(trade.qty, dec("0.00014208"));
        assert_eq!(trade.side, Some(Side::Buy), "BID is the aggressor buying");
        assert_eq!(trade.trade_id.as_str(), "17303368620470000");
        assert_eq!(
            trade.ts,
            Some(1_730_336_862_047_000_000),
            "trade_timestamp, not timestamp"
        );
    }
}

#[test]
fn list_formats_hold_any_number_of_objects() {
    let list = format!("[{TRADE},{}]", TRADE.replace("\"BID\"", "\"ASK\""));
    let events = decode(&list);
    assert_eq!(events.list.len(), 2);
    let Event::Trade(second) = &events.list[1] else {
        panic!()
    };
    assert_eq!(second.side, Some(Side::Sell));
    // The page's SIMPLE_LIST orderbook.
    let events = decode(
        r#"[{"ty":"orderbook","cd":"KRW-BTC","tms":1751855921432,"tas":17.12835169,"tbs":4.81969018,"obu":[{"ap":148880000,"bp":148830000,"as":0.37765316,"bs":0.34809059}],"lv":10000}]"#,
    );
    let [Event::Book(book)] = events.list.as_slice() else {
        panic!("{:?}", events.list)
    };
    assert!(book.snapshot, "every orderbook message is a whole book");
    let asks = &events.levels[book.asks.clone()];
    let bids = &events.levels[book.bids.clone()];
    assert_eq!(
        (asks[0].price, asks[0].qty),
        (dec("148880000"), dec("0.37765316"))
    );
    assert_eq!(
        (bids[0].price, bids[0].qty),
        (dec("148830000"), dec("0.34809059"))
    );
    assert_eq!(book.ts, Some(1_751_855_921_432_000_000));
}

#[test]
fn the_pages_orderbook_in_default() {
    let events = decode(
        r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1746601573804,"total_ask_size":4.79158413,"total_bid_size":2.65609625,"orderbook_units":[{"ask_price":137002000,"bid_price":137001000,"ask_size":0.10623869,"bid_size":0.03656812},{"ask_price":137010000,"bid_price":137000000,"ask_size":0.2,"bid_size":0.3}],"stream_type":"SNAPSHOT","level":0}"#,
    );
    let [Event::Book(book)] = events.list.as_slice() else {
        panic!()
    };
    let asks: Vec<_> = events.levels[book.asks.clone()]
        .iter()
        .map(|l| l.price)
        .collect();
    let bids: Vec<_> = events.levels[book.bids.clone()]
        .iter()
        .map(|l| l.price)
        .collect();
    assert_eq!(asks, [dec("137002000"), dec("137010000")]);
    assert_eq!(bids, [dec("137001000"), dec("137000000")]);
    assert_eq!(book.checksum, None);
    assert_eq!(book.sequence, None);
}

#[test]
fn a_ticker_and_its_deprecated_fields() {
    // `ts` is the deprecated trade_status in SIMPLE: never a timestamp.
    let events = decode(
        r#"{"ty":"ticker","cd":"KRW-BTC","op":100000000,"hp":101000000,"lp":99000000,"tp":100473000.0,"pcp":100571000,"c":"FALL","cp":98000,"scp":-98000,"cr":0.0009744,"scr":-0.0009744,"tv":0.00014208,"atv":1200.5,"atv24h":2400.25,"atp":1.2e11,"atp24h":2.4e11,"tdt":"20241031","ttm":"010742","ttms":1730336862047,"ab":"BID","aav":1,"abv":2,"h52wp":1,"h52wdt":"2024-03-14","l52wp":1,"l52wdt":"2023-10-31","ms":"ACTIVE","ts":null,"tms":1730336862082,"st":"REALTIME"}"#,
    );
    let [Event::Ticker(ticker)] = events.list.as_slice() else {
        panic!("{:?}", events.list)
    };
    assert_eq!(ticker.last, Some(dec("100473000.0")));
    assert_eq!(ticker.volume, Some(dec("2400.25")));
    assert_eq!(ticker.ts, Some(1_730_336_862_082_000_000));
    assert_eq!((ticker.bid, ticker.ask), (None, None));
}

fn my_order(state: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"myOrder","code":"KRW-BTC","uuid":"ac2dc2a3-fce9-40a2-a4f6-5987c25c438f","ask_bid":"BID","order_type":"limit","state":"{state}","trade_uuid":"68315169-fba4-4175-ade3-aff14a616657","price":0.001453,"avg_price":0.00145372,"volume":30925891.29839369,"remaining_volume":0,"executed_volume":30925891.29839369,"trades_count":1,"reserved_fee":44.23943970238218,"remaining_fee":21.77177967409916,"paid_fee":22.467660028283017,"locked":0,"executed_funds":44935.32056039795,"time_in_force":null,"trade_fee":22.467660028283017,"is_maker":false,"identifier":"cl-1","trade_timestamp":1710751590421,"order_timestamp":1710751590000,"timestamp":1710751597500,"stream_type":"REALTIME"{extra}}}"#
    )
}

#[test]
fn my_order_states_map_as_documented() {
    let status = |state: &str, extra: &str| {
        let events = decode(&my_order(state, extra));
        match events.list.first() {
            Some(Event::OrderUpdate(index)) => events.order_updates[*index].status,
            other => panic!("{other:?}"),
        }
    };
    let unfilled = r#","executed_volume":0"#;
    assert_eq!(status("wait", unfilled), OrderStatus::New);
    assert_eq!(status("wait", ""), OrderStatus::PartiallyFilled);
    assert_eq!(status("watch", unfilled), OrderStatus::New);
    assert_eq!(status("done", ""), OrderStatus::Filled);
    assert_eq!(status("cancel", ""), OrderStatus::Canceled);
    assert_eq!(status("prevented", ""), OrderStatus::Canceled);
    assert_eq!(status("trade", ""), OrderStatus::Filled);
    assert_eq!(
        status("trade", r#","remaining_volume":5"#),
        OrderStatus::PartiallyFilled
    );
}

#[test]
fn a_trade_state_carries_its_fill() {
    let events = decode(&my_order("trade", ""));
    let [Event::OrderUpdate(update), Event::Fill(fill)] = events.list.as_slice() else {
        panic!("{:?}", events.list)
    };
    let (update, fill) = (&events.order_updates[*update], &events.fills[*fill]);
    assert_eq!(
        update.order_id.as_str(),
        "ac2dc2a3-fce9-40a2-a4f6-5987c25c438f"
    );
    assert_eq!(
        update.client_order_id.map(|c| c.to_string()).as_deref(),
        Some("cl-1")
    );
    assert_eq!(update.qty, Some(dec("30925891.29839369")));
    assert_eq!(update.price, None, "a trade's price is the fill's");
    assert_eq!(fill.price, dec("0.001453"));
    assert_eq!(fill.qty, dec("30925891.29839369"));
    assert_eq!(fill.fee, Some(dec("22.467660028283017")));
    assert_eq!(
        fill.fee_asset.map(|a| a.to_string()).as_deref(),
        Some("KRW")
    );
    assert_eq!(
        fill.trade_id.as_str(),
        "68315169-fba4-4175-ade3-aff14a616657"
    );
    assert_eq!(fill.liquidity, Some(Liquidity::Taker));
    assert_eq!(fill.ts, Some(1_710_751_590_421_000_000));
}

#[test]
fn my_asset_heartbeat_and_errors() {
    let events = decode(
        r#"{"type":"myAsset","asset_uuid":"e635f223-1609-4969-8fb6-4376937baad6","assets":[{"currency":"KRW","balance":1386929.37231066771348207123,"locked":10329.670127489597585685}],"asset_timestamp":1710146517259,"timestamp":1710146517267,"stream_type":"REALTIME"}"#,
    );
    let [Event::Balance(balance)] = events.list.as_slice() else {
        panic!("{:?}", events.list)
    };
    assert_eq!(balance.asset.as_str(), "KRW");
    assert_eq!(balance.locked, dec("10329.670127489597585685"));
    let simple = decode(
        r#"{"ty":"myAsset","astuid":"x","ast":[{"cu":"BTC","b":0.5,"l":0}],"asttms":1,"tms":2,"st":"REALTIME"}"#,
    );
    assert!(matches!(&simple.list[..], [Event::Balance(b)] if b.free == dec("0.5")));
    assert_eq!(decode(r#"{"status":"UP"}"#).list, [Event::Heartbeat]);
    let error = decode(r#"{"error":{"name":"NO_TICKET","message":"ticket is required"}}"#);
    assert_eq!(
        error.list,
        [Event::VenueError {
            name: "NO_TICKET".into(),
            message: "ticket is required".into()
        }]
    );
}

#[test]
fn anything_else_is_an_error_not_a_panic() {
    let mut upbit = Upbit::public();
    let mut offline = Offline::new(1);
    for text in [
        "",
        "PING",
        "[",
        "{}",
        r#"{"type":"trade"}"#,
        r#"{"type":"nope"}"#,
        r#"{"type":"trade","code":"KRW-BTC","trade_price":"x","trade_volume":1,"sequential_id":1}"#,
        r#"{"ty":"orderbook","cd":"K","obu":[{"ap":1}"#,
    ] {
        let mut events = Events::default();
        let mut bytes = text.as_bytes().to_vec();
        assert!(
            offline
                .decode(&mut upbit, FrameKind::Binary, &mut bytes, &mut events)
                .is_err(),
            "{text}"
        );
    }
}

#[test]
fn each_subscribe_writes_the_whole_set_and_a_reconnect_starts_over() {
    let mut upbit = Upbit::public();
    let mut offline = Offline::new(9);
    let trades = Subscription::Trades {
        symbols: vec![inline("KRW-BTC").unwrap()],
    };
    let book = Subscription::Book {
        symbols: vec![inline("KRW-ETH").unwrap()],
        depth: 5,
    };
    let mut first = Vec::new();
    assert_eq!(
        offline.encode(&mut upbit, 1, &Request::Subscribe(&trades), &mut first),
        Ok(Expect::Nothing),
        "no acknowledgement, no pending entry"
    );
    let mut second = Vec::new();
    offline
        .encode(&mut upbit, 2, &Request::Subscribe(&book), &mut second)
        .unwrap();
    let second = String::from_utf8(second).unwrap();
    assert!(
        second.contains(r#"{"type":"trade","codes":["KRW-BTC"]}"#),
        "{second}"
    );
    assert!(
        second.contains(r#"{"type":"orderbook","codes":["KRW-ETH.5"]}"#),
        "{second}"
    );
    upbit.reset();
    assert!(upbit.subscriptions().is_empty());
    let mut ping = Vec::new();
    offline
        .encode(&mut upbit, 3, &Request::Ping, &mut ping)
        .unwrap();
    assert_eq!(ping, b"PING");
    let executions = Subscription::Executions {
        snapshot_orders: false,
        snapshot_trades: false,
    };
    assert!(
        offline
            .encode(
                &mut upbit,
                4,
                &Request::Subscribe(&executions),
                &mut Vec::new()
            )
            .is_err(),
        "private types need keys"
    );
}

#[test]
fn the_private_handshake_carries_a_fresh_jwt_each_time() {
    let mut upbit = Upbit::private(Credentials {
        access_key: Secret::new("access"),
        secret_key: Secret::new("secret"),
    });
    let mut rng = <rand_chacha::ChaCha8Rng as rand_core::SeedableRng>::seed_from_u64(3);
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let mut ctx = Ctx::new(Instant(0), 0, &mut rng);
        let mut headers = Vec::new();
        upbit.handshake_headers(&mut ctx, &mut headers);
        let [(name, value)] = headers.as_slice() else {
            panic!()
        };
        assert_eq!(name, "Authorization");
        assert!(value.expose().starts_with("Bearer ey"));
        tokens.push(value.expose().to_owned());
    }
    assert_ne!(tokens[0], tokens[1], "a new nonce per connect");
}

#[test]
fn default_and_simple_orderbooks_and_assets_are_the_same_events() {
    let default = decode(
        r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1751855921432,"total_ask_size":17.12835169,"total_bid_size":4.81969018,"orderbook_units":[{"ask_price":148880000,"bid_price":148830000,"ask_size":0.37765316,"bid_size":0.34809059}],"stream_type":"REALTIME","level":10000}"#,
    );
    let simple = decode(
        r#"{"ty":"orderbook","cd":"KRW-BTC","tms":1751855921432,"tas":17.12835169,"tbs":4.81969018,"obu":[{"ap":148880000,"bp":148830000,"as":0.37765316,"bs":0.34809059}],"st":"REALTIME","lv":10000}"#,
    );
    assert_eq!(default.list, simple.list);
    assert_eq!(default.levels, simple.levels);
    let assets = |text: &str| decode(text).list;
    assert_eq!(
        assets(
            r#"{"type":"myAsset","asset_uuid":"u","assets":[{"currency":"KRW","balance":5,"locked":1}],"asset_timestamp":1,"timestamp":2,"stream_type":"REALTIME"}"#
        ),
        assets(
            r#"{"ty":"myAsset","astuid":"u","ast":[{"cu":"KRW","b":5,"l":1}],"asttms":1,"tms":2,"st":"REALTIME"}"#
        )
    );
}

#[test]
fn list_subscriptions_answers_in_both_formats() {
    let default = decode(
        r#"{"method":"LIST_SUBSCRIPTIONS","result":[{"type":"ticker","codes":["KRW-BTC","KRW-ETH"]},{"type":"orderbook","codes":["KRW-BTC"],"level":0}],"ticket":"t"}"#,
    );
    let simple = decode(
        r#"{"mthd":"LIST_SUBSCRIPTIONS","rslt":[{"ty":"ticker","cds":["KRW-BTC","KRW-ETH"]},{"ty":"orderbook","cds":["KRW-BTC"],"lv":0}],"tckt":"t"}"#,
    );
    assert_eq!(default.list, simple.list);
    let [Event::Response(response)] = default.list.as_slice() else {
        panic!("{:?}", default.list)
    };
    assert_eq!(
        response.message.as_deref(),
        Some("ticker:KRW-BTC,KRW-ETH orderbook:KRW-BTC")
    );
}

#[test]
fn review_cases_prevented_reduce_unknown_remaining_lists_and_trailing_bytes() {
    let status = |state: &str, extra: &str| {
        let events = decode(&my_order(state, extra));
        match events.list.first() {
            Some(Event::OrderUpdate(index)) => events.order_updates[*index].status,
            other => panic!("{other:?}"),
        }
    };
    // Self-match prevention that only reduced the order: still live.
    assert_eq!(
        status("prevented", r#","smp_type":"reduce","remaining_volume":3"#),
        OrderStatus::PartiallyFilled
    );
    assert_eq!(
        status(
            "prevented",
            r#","smpt":"reduce","remaining_volume":3,"executed_volume":0"#
        ),
        OrderStatus::New
    );
    assert_eq!(
        status("prevented", r#","smp_type":"cancel_maker""#),
        OrderStatus::Canceled
    );
    // A trade whose remaining volume is unknown is not final.
    assert_eq!(
        status("trade", r#","remaining_volume":null"#),
        OrderStatus::PartiallyFilled
    );
    // One bad object in a list frame: the others still decode, and the
    // frame reports the error.
    let mut upbit = Upbit::public();
    let mut offline = Offline::new(1);
    let mut events = Events::default();
    let mut bytes = format!("[{TRADE},{{\"type\":\"nope\"}},{TRADE}]").into_bytes();
    let result = offline.decode(&mut upbit, FrameKind::Binary, &mut bytes, &mut events);
    assert!(result.is_err());
    assert_eq!(events.list.len(), 2, "both good trades kept");
    // Nothing may follow the message.
    let mut trailing = br#"{"status":"UP"}garbage"#.to_vec();
    events.clear();
    assert!(
        offline
            .decode(&mut upbit, FrameKind::Binary, &mut trailing, &mut events)
            .is_err()
    );
    // A trade without its fill's fields pushes neither half.
    let broken = my_order("trade", "").replace(
        r#""trade_uuid":"68315169-fba4-4175-ade3-aff14a616657","#,
        "",
    );
    let mut bytes = broken.into_bytes();
    events.clear();
    assert!(
        offline
            .decode(&mut upbit, FrameKind::Binary, &mut bytes, &mut events)
            .is_err()
    );
    assert!(events.list.is_empty(), "{:?}", events.list);
}

/// Split (`Venue::split`), Upbit decodes with no notes at all.
#[test]
fn split_decodes_with_no_notes_at_all() {
    let ticker = r#"{"type":"ticker","code":"KRW-BTC","trade_price":98000000.0,"timestamp":1704067200000,"stream_type":"REALTIME"}"#;
    let mut encoder = Upbit::public();
    let mut decoder = encoder.split().expect("Upbit splits");
    let subscribe = Subscription::Ticker {
        symbols: vec![inline("KRW-BTC").unwrap()],
    };
    Offline::new(0)
        .encode(
            &mut encoder,
            1,
            &Request::Subscribe(&subscribe),
            &mut Vec::new(),
        )
        .unwrap();
    assert_eq!(Offline::pass_notes(&mut encoder, &mut decoder), 0);
    let mut events = Events::default();
    let mut bytes = ticker.as_bytes().to_vec();
    Offline::new(1)
        .decode(&mut decoder, FrameKind::Binary, &mut bytes, &mut events)
        .unwrap();
    assert!(!events.list.is_empty());
    assert_eq!(events.list, decode(ticker).list);
}
