//! Every example on koscom.md through the Koscom codec, in strict JSON and
//! in the service's own (leading-zero numbers accepted; missing commas and
//! colons refused): init, subscribe and its two result shapes, pushes of
//! every preset, the whole-market feed, market signals, error 47 with and
//! without an id, heartbeats, and the cap.

use orderwire_protocol::model::{Event, Events, Request, Side, Subscription, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::koscom::Koscom;
use orderwire_protocol::venue::{Expect, FrameKind, Offline, Venue};

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn decode(codec: &mut Koscom, offline: &mut Offline, text: &str) -> Result<Events, String> {
    let mut events = Events::default();
    let mut bytes = text.as_bytes().to_vec();
    offline
        .decode(codec, FrameKind::Text, &mut bytes, &mut events)
        .map_err(|e| e.to_string())?;
    Ok(events)
}

/// 2023-10-04 in KST, 12:00 KST on the wall clock.
fn offline() -> Offline {
    let mut offline = Offline::new(1);
    offline.wall_ns = (19_634 * 86_400 + 3 * 3600) * 1_000_000_000;
    offline
}

/// ns since the epoch of 2023-10-04 `h:m:s.hh` KST.
fn kst(h: i64, m: i64, s: i64, hundredths: i64) -> Option<i64> {
    Some((19_634 * 86_400 + (h - 9) * 3600 + m * 60 + s) * 1_000_000_000 + hundredths * 10_000_000)
}

#[test]
fn init_subscribe_heartbeat_and_query_are_json_rpc_requests() {
    let mut codec = Koscom::new(Secret::new("XXXXXXXX"), "XXX Company");
    let mut offline = offline();
    let mut out = Vec::new();
    assert!(offline.login(&mut codec, 1, &mut out).unwrap());
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        r#"{"jsonrpc":"2.0","id":1,"method":"init","params":{"key":"XXXXXXXX","membername":"XXX Company"}}"#
    );
    out.clear();
    let ticks = Subscription::Trades {
        symbols: vec![inline("005930").unwrap(), inline("000660").unwrap()],
    };
    assert_eq!(
        offline
            .encode(&mut codec, 2, &Request::Subscribe(&ticks), &mut out)
            .unwrap(),
        Expect::Replies(2)
    );
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"subscribe\",\"params\":{\"preset\":\"tick\",\"isuSrtCd\":\"005930\"}}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"subscribe\",\"params\":{\"preset\":\"tick\",\"isuSrtCd\":\"000660\"}}"
    );
    out.clear();
    let quote10 = Subscription::Book {
        symbols: vec![inline("005930").unwrap()],
        depth: 10,
    };
    offline
        .encode(&mut codec, 3, &Request::Unsubscribe(&quote10), &mut out)
        .unwrap();
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        r#"{"jsonrpc":"2.0","id":3,"method":"unsubscribe","params":{"preset":"quote10","isuSrtCd":"005930"}}"#
    );
    out.clear();
    offline
        .encode(&mut codec, 4, &Request::Ping, &mut out)
        .unwrap();
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        r#"{"jsonrpc":"2.0","id":4,"method":"heartbeat"}"#
    );
    out.clear();
    let mut change = Koscom::new(Secret::new("k"), "m").with_change_items(&["trdPrc", "trdTm"]);
    let ticker = Subscription::Ticker {
        symbols: vec![inline("005930").unwrap()],
    };
    offline
        .encode(&mut change, 5, &Request::Subscribe(&ticker), &mut out)
        .unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .ends_with(r#""preset":"change","isuSrtCd":"005930","items":["trdPrc","trdTm"]}}"#)
    );
    // The cap, the secret, the login gate.
    let caps = codec.capabilities();
    assert_eq!(caps.max_subscriptions, Some(200));
    assert_eq!(
        Koscom::offline()
            .with_sandbox(true)
            .capabilities()
            .max_subscriptions,
        Some(20)
    );
    assert_eq!(caps.secret_fields, ["key"]);
    assert!(caps.subscribe_after_login);
}

#[test]
fn results_of_both_shapes_and_errors_with_and_without_an_id() {
    let mut codec = Koscom::offline();
    let mut offline = offline();
    let ok = decode(
        &mut codec,
        &mut offline,
        r#"{"jsonrpc":"2.0","id":1,"result":{"message":"ok"}}"#,
    )
    .unwrap();
    assert!(matches!(&ok.list[..], [Event::Response(r)] if r.ok && r.req_id == Some(1)));
    // The overview's snapshot result: the response, then the state.
    let snapshot = decode(&mut codec, &mut offline, r#"{"jsonrpc":"2.0","id":2,"result":{"isuSrtCd":"005930","trdPrc":1310000,"trdvol":86,"trdTm":"09450155","mkStatTpCd":1}}"#).unwrap();
    match &snapshot.list[..] {
        [Event::Response(r), Event::Ticker(t)] => {
            assert!(r.ok && r.req_id == Some(2));
            assert_eq!(
                (t.symbol.as_str(), t.last, t.ts),
                ("005930", Some(dec("1310000")), kst(9, 45, 1, 55))
            );
        }
        other => panic!("{other:?}"),
    }
    // Error 47, as documented (no id), with "id":null, and with an id.
    for (text, id) in [
        (
            r#"{"jsonrpc":"2.0","error":{"message":"정상적인 JSON-RPC 형식이 아닙니다","code":47}}"#,
            None,
        ),
        (
            r#"{"jsonrpc":"2.0","id":null,"error":{"message":"정상적인 JSON-RPC 형식이 아닙니다","code":47}}"#,
            None,
        ),
        (
            r#"{"jsonrpc":"2.0","id":7,"error":{"message":"정상적인 JSON-RPC 형식이 아닙니다","code":47}}"#,
            Some(7),
        ),
    ] {
        let events = decode(&mut codec, &mut offline, text).unwrap();
        match &events.list[..] {
            [Event::Response(r)] => {
                assert!(!r.ok);
                assert_eq!(r.req_id, id, "{text}");
                assert_eq!(
                    r.message.as_deref(),
                    Some("47: 정상적인 JSON-RPC 형식이 아닙니다")
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn pushes_of_every_preset() {
    let mut codec = Koscom::offline();
    let mut offline = offline();
    let tick = decode(&mut codec, &mut offline, r#"{"jsonrpc":"2.0","method":"push","params":{"preset":"tick","isuSrtCd":"005930","trdPrc":2465000,"trdvol":2,"accTrdvol":251916,"accTrdval":627899637000,"trdTm":14412000}}"#).unwrap();
    match &tick.list[..] {
        [Event::Trade(t)] => {
            assert_eq!(
                (t.symbol.as_str(), t.price, t.qty, t.side),
                ("005930", dec("2465000"), dec("2"), None)
            );
            assert_eq!(t.trade_id.as_str(), "14412000-251916");
            assert_eq!(t.ts, kst(14, 41, 20, 0));
        }
        other => panic!("{other:?}"),
    }
    let quote = decode(&mut codec, &mut offline, r#"{"jsonrpc":"2.0","method":"push","params":{"preset":"quote","isuSrtCd":"005930","askStep1BstordPrc":2465000,"askStep1BstordRqty":144,"bidStep1BstordPrc":2464000,"bidStep1BstordRqty":298}}"#).unwrap();
    let Event::Book(book) = &quote.list[0] else {
        panic!("{quote:?}")
    };
    assert!(book.snapshot);
    assert_eq!(quote.levels[book.bids.clone()][0].price, dec("2464000"));
    assert_eq!(quote.levels[book.asks.clone()][0].qty, dec("144"));
    // quote10: ten steps a side.
    let mut steps = String::new();
    for n in 1..=10 {
        steps.push_str(&format!(
            r#","askStep{n}BstordPrc":{},"askStep{n}BstordRqty":{},"bidStep{n}BstordPrc":{},"bidStep{n}BstordRqty":{}"#,
            2_465_000 + 1000 * n,
            n,
            2_464_000 - 1000 * n,
            10 + n
        ));
    }
    let quote10 = decode(&mut codec, &mut offline, &format!(r#"{{"jsonrpc":"2.0","method":"push","params":{{"preset":"quote10","isuSrtCd":"005930"{steps}}}}}"#)).unwrap();
    let Event::Book(book) = &quote10.list[0] else {
        panic!()
    };
    assert_eq!((book.bids.len(), book.asks.len()), (10, 10));
    assert_eq!(quote10.levels[book.asks.clone()][9].price, dec("2475000"));
    // tick10: a trade with its aggressor, and a ticker.
    let tick10 = decode(&mut codec, &mut offline, r#"{"jsonrpc":"2.0","method":"push","params":{"preset":"tick10","isuSrtCd":"005930","cmpprevddTpCd":2,"cmpprevddPrc":1000,"opnprc":2460000,"hgprc":2470000,"lwprc":2455000,"trdPrc":2465000,"trdvol":3,"accTrdvol":251919,"accTrdval":627907032000,"lstAskbidTpCd":2,"trdTm":14412100,"askordPrc_1":2466000,"bidordPrc_1":2465000}}"#).unwrap();
    match &tick10.list[..] {
        [Event::Trade(t), Event::Ticker(k)] => {
            assert_eq!(t.side, Some(Side::Buy));
            assert_eq!(
                (k.bid, k.ask, k.volume),
                (
                    Some(dec("2465000")),
                    Some(dec("2466000")),
                    Some(dec("251919"))
                )
            );
        }
        other => panic!("{other:?}"),
    }
    // The change preset: only the pushed fields (here, the page's third
    // example, with no preset at all).
    let change = decode(&mut codec, &mut offline, r#"{"jsonrpc":"2.0","method":"push","params":{"isuCd":"KR7005930003","isuSrtCd":"005930","trdPrc":2465000,"trdTm":14340400}}"#).unwrap();
    assert!(
        matches!(&change.list[..], [Event::Ticker(t)] if t.last == Some(dec("2465000")) && t.volume.is_none() && t.ts == kst(14, 34, 4, 0))
    );
    let index = decode(&mut codec, &mut offline, r#"{"jsonrpc":"2.0","method":"push","params":{"preset":"index","isuSrtCd":"K2G01P","trdPrc":2465.12,"trdTm":14340400}}"#).unwrap();
    assert!(
        matches!(&index.list[..], [Event::Ticker(t)] if t.symbol.as_str() == "K2G01P" && t.last == Some(dec("2465.12")))
    );
}

#[test]
fn the_whole_market_feed_and_market_signals() {
    let mut codec = Koscom::offline();
    let mut offline = offline();
    let feed = decode(&mut codec, &mut offline, r#"[{"isuSrtCd":"000210","trdPrc":"81000","trdVol":"5","trdTm":"14340400"},{"isuSrtCd":"005930","trdPrc":"73100","trdVol":"12","trdTm":"14340401"}]"#).unwrap();
    let trades: Vec<_> = feed
        .list
        .iter()
        .map(|e| match e {
            Event::Trade(t) => (t.symbol.to_string(), t.price, t.qty),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        trades,
        [
            ("000210".into(), dec("81000"), dec("5")),
            ("005930".into(), dec("73100"), dec("12"))
        ]
    );
    for (code, meaning) in [
        (31_000_000, "regular close"),
        (41_000_000, "after-hours close"),
        (81_000_000, "single-price close"),
        (51_000_000, "block trades, pre-market"),
        (91_000_008, "buy-in close"),
    ] {
        let text = format!(
            r#"{{"jsonrpc":"2.0","method":"push","params":{{"preset":"tick","isuSrtCd":"005930","trdPrc":0,"trdvol":0,"trdTm":{code}}}}}"#
        );
        let events = decode(&mut codec, &mut offline, &text).unwrap();
        assert!(
            matches!(&events.list[..], [Event::MarketSignal { code: c, meaning: m, symbol: Some(s) }] if *c == code && *m == meaning && s.as_str() == "005930"),
            "{events:?}"
        );
    }
}

#[test]
fn the_services_own_examples_leading_zeros_kept_malformed_refused() {
    let mut codec = Koscom::offline();
    let mut offline = offline();
    // Leading zeros: the code keeps them; trdTm is left-padded.
    let seed = decode(&mut codec, &mut offline, r#"{"jsonrpc" : "2.0", "method" : "push", "params" : {"preset" : "tick", "isuSrtCd" : 005930, "trdPrc" : 1310000, "trdvol" : 86, "trdTm" : 09450155}}"#).unwrap();
    assert!(
        matches!(&seed.list[..], [Event::Trade(t)] if t.symbol.as_str() == "005930" && t.ts == kst(9, 45, 1, 55))
    );
    // As printed on the pages: a missing comma, a missing colon, a
    // trailing comma. Not JSON: refused, with nothing half-decoded.
    for malformed in [
        r#"{"jsonrpc" : "2.0" "error" : {"message" : "정상적인 JSON-RPC 형식이 아닙니다", "code" : 47}}"#,
        r#"{"jsonrpc" : "2.0", "id" : 1, "result" {"message" : "ok"}}"#,
        r#"{"jsonrpc" : "2.0", "id" : 1, "method" : "heartbeat",}"#,
        r#"{"jsonrpc" : "2.0", "method" : "push" "params" : {"preset" : "tick" "isuSrtCd" : 005930}}"#,
    ] {
        let mut events = Events::default();
        let mut bytes = malformed.as_bytes().to_vec();
        assert!(
            offline
                .decode(&mut codec, FrameKind::Text, &mut bytes, &mut events)
                .is_err(),
            "{malformed}"
        );
        assert!(events.list.is_empty());
    }
    // A server heartbeat is answered with its id (and, carrying an id, it
    // also answers our heartbeat of that id: the reply shape is not
    // documented).
    let events = decode(
        &mut codec,
        &mut offline,
        r#"{"jsonrpc":"2.0","id":9,"method":"heartbeat"}"#,
    )
    .unwrap();
    assert!(
        matches!(&events.list[..], [Event::Response(r), Event::Heartbeat] if r.req_id == Some(9) && r.ok)
    );
    let (kind, frame) = offline.replies().iter().next().unwrap();
    assert_eq!(
        (kind, frame),
        (
            FrameKind::Text,
            br#"{"jsonrpc":"2.0","id":9,"result":{"message":"ok"}}"#.as_slice()
        )
    );
}
