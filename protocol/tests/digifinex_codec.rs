//! Every example on digifinex.md, in zlib, raw deflate and text frames; the
//! auth vector; corrupt, truncated and bomb inputs.

use std::io::Write;

use flate2::Compression;
use flate2::write::{DeflateEncoder, ZlibEncoder};

use orderwire_protocol::model::{Event, Events, OrderStatus, Request, Side, Subscription, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::digifinex::{Credentials, DigiFinex, auth_signature};
use orderwire_protocol::venue::{DecodeError, Expect, FrameKind, Offline, Venue};

fn zlib(text: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

fn raw_deflate(text: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

fn decode_with(
    codec: &mut DigiFinex,
    kind: FrameKind,
    bytes: &[u8],
) -> Result<Events, DecodeError> {
    let mut offline = Offline::new(1);
    let mut events = Events::default();
    let mut bytes = bytes.to_vec();
    offline.decode(codec, kind, &mut bytes, &mut events)?;
    Ok(events)
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

const TRADES: &str = r#"{"method":"trades.update","params":[true,[{"id":7172173,"time":1523339279.761838,"price":"398.59","amount":"0.027","type":"buy"}],"ETH_USDT"],"id":null}"#;

#[test]
fn the_pages_trades_in_zlib_raw_deflate_and_text() {
    for (kind, bytes) in [
        (FrameKind::Binary, zlib(TRADES.as_bytes())),
        (FrameKind::Binary, raw_deflate(TRADES.as_bytes())),
        (FrameKind::Text, TRADES.as_bytes().to_vec()),
    ] {
        let events = decode_with(&mut DigiFinex::public(), kind, &bytes).unwrap();
        let [Event::Trade(trade)] = events.list.as_slice() else {
            panic!("{:?}", events.list)
        };
        assert_eq!(trade.symbol.as_str(), "ETH_USDT");
        assert_eq!((trade.price, trade.qty), (dec("398.59"), dec("0.027")));
        assert_eq!(trade.side, Some(Side::Buy));
        assert_eq!(trade.trade_id.as_str(), "7172173");
        assert_eq!(
            trade.ts,
            Some(1_523_339_279_761_838_000),
            "fractional seconds, exactly"
        );
    }
}

#[test]
fn depth_clean_then_incremental_and_held_back_after_a_reconnect() {
    let mut codec = DigiFinex::public();
    let delta = r#"{"method":"depth.update","params":[false,{"asks":[["8000.00","0"]],"bids":[]},"EOS_USDT"],"id":null}"#;
    // Before any clean snapshot: held back.
    assert!(
        decode_with(&mut codec, FrameKind::Binary, &zlib(delta.as_bytes()))
            .unwrap()
            .list
            .is_empty()
    );
    let clean = r#"{"method":"depth.update","params":[true,{"asks":[["8000.00","9.6250"]],"bids":[["7999.00","9.6250"]]},"EOS_USDT"],"id":null}"#;
    let events = decode_with(&mut codec, FrameKind::Binary, &zlib(clean.as_bytes())).unwrap();
    let [Event::Book(book)] = events.list.as_slice() else {
        panic!()
    };
    assert!(book.snapshot, "clean=true replaces the book");
    assert_eq!(events.levels[book.asks.clone()][0].price, dec("8000.00"));
    assert_eq!(events.levels[book.bids.clone()][0].price, dec("7999.00"));
    let events = decode_with(&mut codec, FrameKind::Binary, &zlib(delta.as_bytes())).unwrap();
    let [Event::Book(book)] = events.list.as_slice() else {
        panic!()
    };
    assert!(!book.snapshot);
    assert!(
        events.levels[book.asks.clone()][0].qty.is_zero(),
        "qty 0 deletes"
    );
    codec.reset();
    assert!(
        decode_with(&mut codec, FrameKind::Binary, &zlib(delta.as_bytes()))
            .unwrap()
            .list
            .is_empty(),
        "after a reconnect: wait for clean"
    );
}

#[test]
fn tickers_orders_balances_and_replies() {
    let mut codec = DigiFinex::public();
    let ticker = r#"{"method":"ticker.update","params":[{"symbol":"BTC_USDT","open_24h":"1760","low_24h":"1.00","base_volume_24h":"11.40088557","quote_volume_24h":"29786.30588557","last":"4000","last_qty":"1","best_bid":"3375","best_bid_size":"0.003","best_ask":"4000","best_ask_size":"108.2542","timestamp":1586762545336}],"id":null}"#;
    for text in [
        ticker.to_owned(),
        ticker.replace("\"ticker.update\"", "\"all_ticker.update\""),
    ] {
        let events = decode_with(&mut codec, FrameKind::Binary, &zlib(text.as_bytes())).unwrap();
        let [Event::Ticker(t)] = events.list.as_slice() else {
            panic!()
        };
        assert_eq!(
            (t.bid, t.ask, t.last),
            (Some(dec("3375")), Some(dec("4000")), Some(dec("4000")))
        );
        assert_eq!(t.volume, Some(dec("11.40088557")));
        assert_eq!(t.ts, Some(1_586_762_545_336_000_000));
    }
    let order = r#"{"method":"order.update","params":[{"amount":"0","filled":"0.9969","id":"31b7f41c81787b4200c75eb074e6edc9","mode":1,"notional":"9713.82","price":"0","price_avg":"9700","side":"buy","status":2,"symbol":"BTC_USDT","timestamp":1589272547000,"type":"market"}],"id":null}"#;
    for (code, status) in [
        (0, OrderStatus::New),
        (1, OrderStatus::PartiallyFilled),
        (2, OrderStatus::Filled),
        (3, OrderStatus::Canceled),
        (4, OrderStatus::Canceled),
    ] {
        let text = order.replace("\"status\":2", &format!("\"status\":{code}"));
        let events = decode_with(&mut codec, FrameKind::Binary, &zlib(text.as_bytes())).unwrap();
        // The first sight of the order's fill is a derived fill (issue 24,
        // digifinex_fidelity.rs); the update is last.
        let Some(Event::OrderUpdate(update)) = events.list.last() else {
            panic!()
        };
        let update = &events.order_updates[*update];
        assert_eq!(update.status, status);
        assert_eq!(update.order_id.as_str(), "31b7f41c81787b4200c75eb074e6edc9");
        assert_eq!(update.client_order_id, None, "DigiFinex has none");
        assert_eq!(update.filled_qty, Some(dec("0.9969")));
    }
    let balance = r#"{"method":"balance.update","params":[{"currency":"USDT","free":"99944652.8478545303601106","total":"99944652.8478545303601106","used":"0.0000000000"}],"id":null}"#;
    let events = decode_with(&mut codec, FrameKind::Binary, &zlib(balance.as_bytes())).unwrap();
    assert!(
        matches!(&events.list[..], [Event::Balance(b)] if b.asset.as_str() == "USDT" && b.free == dec("99944652.8478545303601106"))
    );
    // Replies, as text frames: pong, time, auth, and errors of any shape.
    let reply =
        |text: &str| match decode_with(&mut DigiFinex::public(), FrameKind::Text, text.as_bytes())
            .unwrap()
            .list
            .as_slice()
        {
            [Event::Response(r)] => (r.req_id, r.ok, r.message.clone()),
            other => panic!("{other:?}"),
        };
    assert_eq!(
        reply(r#"{"error":null,"result":"pong","id":12312}"#),
        (Some(12312), true, Some("pong".into()))
    );
    assert_eq!(
        reply(r#"{"error":null,"result":1523348055,"id":12312}"#)
            .2
            .as_deref(),
        Some("1523348055")
    );
    assert!(reply(r#"{"error":null,"result":{"status":"success"},"id":12312}"#).1);
    assert_eq!(
        reply(r#"{"error":"invalid sign","result":null,"id":7}"#),
        (Some(7), false, Some("invalid sign".into()))
    );
    assert!(!reply(r#"{"error":{"code":1,"message":"bad"},"result":null,"id":8}"#).1);
}

#[test]
fn the_auth_vector_and_requests() {
    // digifinex.md's computed vector (the docs give no secret for theirs).
    assert_eq!(
        auth_signature(
            &Secret::new("0123456789abcdef0123456789abcdef"),
            "1583135616239"
        ),
        "DiIj8GuIUgSZqQ2SQXXjVt/n8Xm5wkJ7WI86mtPP0jY="
    );
    let mut codec = DigiFinex::private(Credentials {
        api_key: Secret::new("5a8e6b662ddb0"),
        secret: Secret::new("0123456789abcdef0123456789abcdef"),
    });
    let mut offline = Offline::new(0);
    offline.wall_ns = 1_583_135_616_239_000_000;
    let mut login = Vec::new();
    offline.login(&mut codec, 12312, &mut login).unwrap();
    assert_eq!(
        std::str::from_utf8(&login).unwrap(),
        r#"{"id":12312,"method":"server.auth","params":["5a8e6b662ddb0","1583135616239","DiIj8GuIUgSZqQ2SQXXjVt/n8Xm5wkJ7WI86mtPP0jY="]}"#
    );
    let mut ping = Vec::new();
    assert_eq!(
        offline.encode(&mut codec, 5, &Request::Ping, &mut ping),
        Ok(Expect::Replies(1))
    );
    assert_eq!(ping, br#"{"id":5,"method":"server.ping","params":[]}"#);
    let mut subscribe = Vec::new();
    let trades = Subscription::Trades {
        symbols: vec![inline("ETH_USDT").unwrap(), inline("BTC_USDT").unwrap()],
    };
    offline
        .encode(&mut codec, 6, &Request::Subscribe(&trades), &mut subscribe)
        .unwrap();
    assert_eq!(
        subscribe,
        br#"{"id":6,"method":"trades.subscribe","params":["ETH_USDT","BTC_USDT"]}"#
    );
}

#[test]
fn corrupt_truncated_and_bomb_frames_fail_that_message_only() {
    let mut codec = DigiFinex::public();
    let mut corrupt = zlib(TRADES.as_bytes());
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    corrupt[middle + 1] ^= 0xff;
    assert!(decode_with(&mut codec, FrameKind::Binary, &corrupt).is_err());
    let whole = zlib(TRADES.as_bytes());
    assert!(
        decode_with(&mut codec, FrameKind::Binary, &whole[..whole.len() / 2]).is_err(),
        "truncated"
    );
    // 64 MiB of spaces, a few KiB compressed.
    let bomb = zlib(&vec![b' '; 64 << 20]);
    assert!(bomb.len() < 1 << 20);
    assert!(matches!(
        decode_with(&mut codec, FrameKind::Binary, &bomb),
        Err(DecodeError::TooLarge { .. })
    ));
    // The connection goes on: the next good frame decodes.
    assert_eq!(
        decode_with(&mut codec, FrameKind::Binary, &whole)
            .unwrap()
            .list
            .len(),
        1
    );
}

/// `server.auth`'s signature beside Python's hmac, run at test time (an
/// implementation we did not write), for several secrets and timestamps.
#[test]
fn the_auth_signature_matches_pythons_hmac() {
    let cases = [
        ("0123456789abcdef0123456789abcdef", "1583135616239"),
        ("mock-digifinex-secret", "1695305707000"),
        ("a secret with spaces & symbols/+=", "1764633600123"),
    ];
    for (secret, timestamp) in cases {
        let output = std::process::Command::new(orderwire_testkit::peers::python())
            .args([
                "-c",
                "import base64, hashlib, hmac, sys; \
                 print(base64.b64encode(hmac.new(sys.argv[1].encode(), \
                 sys.argv[2].encode(), hashlib.sha256).digest()).decode())",
                secret,
                timestamp,
            ])
            .output()
            .expect("the peers' Python runs (scripts/install-peers)");
        assert!(output.status.success());
        let python = String::from_utf8(output.stdout).unwrap();
        assert_eq!(
            auth_signature(&Secret::new(secret), timestamp),
            python.trim_end(),
            "{secret} {timestamp}"
        );
    }
}

fn encoded(codec: &mut DigiFinex, request: &Request<'_>) -> Result<String, String> {
    let mut offline = Offline::new(0);
    let mut out = Vec::new();
    offline
        .encode(codec, 9, request, &mut out)
        .map(|_| String::from_utf8(out).unwrap())
        .map_err(|e| e.to_string())
}

#[test]
fn private_channels_all_tickers_unsubscribes_and_what_is_refused() {
    let mut codec = DigiFinex::private(Credentials {
        api_key: Secret::new("key"),
        secret: Secret::new("secret"),
    });
    let symbols = vec![inline("BTC_USDT").unwrap()];
    let orders = Subscription::Orders {
        symbols: symbols.clone(),
    };
    assert_eq!(
        encoded(&mut codec, &Request::Subscribe(&orders)).unwrap(),
        r#"{"id":9,"method":"order.subscribe","params":["BTC_USDT"]}"#
    );
    // Trigger orders have their own feed (the page's example sends
    // `order_algo.subscribe` with a list of pairs); it needs keys.
    let triggers = Subscription::TriggerOrders {
        symbols: symbols.clone(),
    };
    assert_eq!(
        encoded(&mut codec, &Request::Subscribe(&triggers)).unwrap(),
        r#"{"id":9,"method":"order_algo.subscribe","params":["BTC_USDT"]}"#
    );
    assert_eq!(
        encoded(&mut codec, &Request::Unsubscribe(&triggers)).unwrap(),
        r#"{"id":9,"method":"order_algo.unsubscribe","params":["BTC_USDT"]}"#
    );
    assert!(
        encoded(&mut DigiFinex::public(), &Request::Subscribe(&triggers))
            .unwrap_err()
            .contains("credentials"),
        "a public connection cannot subscribe trigger orders"
    );
    let balances = Subscription::Balances {
        assets: vec![inline("USDT").unwrap(), inline("BTC").unwrap()],
    };
    assert_eq!(
        encoded(&mut codec, &Request::Subscribe(&balances)).unwrap(),
        r#"{"id":9,"method":"balance.subscribe","params":["USDT","BTC"]}"#
    );
    let all = Subscription::Ticker {
        symbols: Vec::new(),
    };
    assert_eq!(
        encoded(&mut codec, &Request::Subscribe(&all)).unwrap(),
        r#"{"id":9,"method":"all_ticker.subscribe","params":[]}"#
    );
    let book = Subscription::Book { symbols, depth: 20 };
    assert_eq!(
        encoded(&mut codec, &Request::Unsubscribe(&book)).unwrap(),
        r#"{"id":9,"method":"depth.unsubscribe","params":["BTC_USDT"]}"#
    );
    let executions = Subscription::Executions {
        snapshot_orders: true,
        snapshot_trades: false,
    };
    assert!(
        encoded(&mut codec, &Request::Subscribe(&executions))
            .unwrap_err()
            .contains("Orders and Balances")
    );
    assert!(encoded(&mut DigiFinex::public(), &Request::Subscribe(&orders)).is_err());
}

#[test]
fn a_refused_auth_is_the_logins_refusal_and_other_replies_stay_responses() {
    let mut codec = DigiFinex::private(Credentials {
        api_key: Secret::new("key"),
        secret: Secret::new("secret"),
    });
    let mut offline = Offline::new(0);
    let mut login = Vec::new();
    offline.login(&mut codec, 1, &mut login).unwrap();
    let refused = decode_with(
        &mut codec,
        FrameKind::Text,
        br#"{"error":{"code":4,"message":"invalid apikey or signature"},"result":null,"id":1}"#,
    )
    .unwrap();
    match &refused.list[..] {
        [Event::Response(r)] => {
            assert_eq!((r.req_id, r.ok), (Some(1), false));
            let message = r.message.as_deref().unwrap_or_default();
            assert!(message.starts_with("server.auth: "), "{message}");
            assert!(message.contains("invalid apikey or signature"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let other = decode_with(
        &mut codec,
        FrameKind::Text,
        br#"{"error":{"code":6,"message":"server.auth first"},"result":null,"id":2}"#,
    )
    .unwrap();
    assert!(matches!(&other.list[..], [Event::Response(r)] if !r.ok && r.req_id == Some(2)));
}

/// digifinex.md's depth example exactly as the page gives it.
#[test]
fn the_pages_depth_example_as_written() {
    let page = r#"{"method":"depth.update","params":[true,{"asks":[["8000.00","9.6250"]],"bids":[["8000.00","9.6250"]]},"EOS_USDT"],"id":null}"#;
    let mut codec = DigiFinex::public();
    let events = decode_with(&mut codec, FrameKind::Binary, &zlib(page.as_bytes())).unwrap();
    let [Event::Book(book)] = events.list.as_slice() else {
        panic!("{:?}", events.list)
    };
    assert!(book.snapshot);
    assert_eq!(book.symbol.as_str(), "EOS_USDT");
    for side in [book.asks.clone(), book.bids.clone()] {
        let [level] = &events.levels[side] else {
            panic!()
        };
        assert_eq!((level.price, level.qty), (dec("8000.00"), dec("9.6250")));
    }
}

/// `params` before `method` (a key order DigiFinex does not use, decoded
/// from the remembered position), and a message that fails part way:
/// none of its events, and a clean snapshot in it does not sync the book.
#[test]
fn params_first_and_a_message_that_fails_part_way() {
    let mut codec = DigiFinex::public();
    let reordered = r#"{"params":[false,[{"id":2,"time":1523339280.5,"price":"1.5","amount":"2","type":"sell"},{"id":1,"time":1523339279.25,"price":"1.25","amount":"1","type":"buy"}],"ETH_USDT"],"id":null,"method":"trades.update"}"#;
    let events = decode_with(&mut codec, FrameKind::Text, reordered.as_bytes()).unwrap();
    let ids: Vec<&str> = events
        .list
        .iter()
        .map(|e| match e {
            Event::Trade(t) => t.trade_id.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ids,
        ["1", "2"],
        "newest first on the wire, in time order out"
    );

    // A clean snapshot followed by trailing garbage: an error, no events,
    // and the book stays unsynced, so the next delta is held back.
    let bad_clean = r#"{"method":"depth.update","params":[true,{"asks":[["1","1"]],"bids":[]},"BTC_USDT"],"id":null} x"#;
    let error = decode_with(&mut codec, FrameKind::Text, bad_clean.as_bytes());
    assert!(error.is_err(), "{error:?}");
    let delta = r#"{"method":"depth.update","params":[false,{"asks":[["1","0"]],"bids":[]},"BTC_USDT"],"id":null}"#;
    let events = decode_with(&mut codec, FrameKind::Text, delta.as_bytes()).unwrap();
    assert!(events.list.is_empty(), "{:?}", events.list);

    // A trade list whose second trade is bad: neither trade comes out.
    let half = r#"{"method":"trades.update","params":[false,[{"id":1,"time":1,"price":"1","amount":"1","type":"buy"},{"id":2,"time":2,"price":"x","amount":"1","type":"buy"}],"ETH_USDT"],"id":null}"#;
    let mut offline = Offline::new(0);
    let mut events = Events::default();
    let mut bytes = half.as_bytes().to_vec();
    assert!(
        offline
            .decode(&mut codec, FrameKind::Text, &mut bytes, &mut events)
            .is_err()
    );
    assert!(events.list.is_empty() && events.levels.is_empty());

    // Reply text: a spaced string error unescaped, an object as its JSON.
    let spaced = decode_with(
        &mut codec,
        FrameKind::Text,
        br#"{"error": "bad \"sign\"", "result": null, "id": 3}"#,
    )
    .unwrap();
    assert!(
        matches!(&spaced.list[..], [Event::Response(r)] if r.message.as_deref() == Some(r#"bad "sign""#)),
        "{:?}",
        spaced.list
    );
}

/// Split (`Venue::split`), the decoding half knows the `server.auth` reply
/// by the login's note, and holds no credentials.
#[test]
fn split_the_decoder_knows_the_auth_reply_by_the_login_note() {
    let credentials = || Credentials {
        api_key: Secret::new("key"),
        secret: Secret::new("secret"),
    };
    let refused =
        br#"{"error":{"code":4,"message":"invalid apikey or signature"},"result":null,"id":1}"#;
    let mut whole = DigiFinex::private(credentials());
    Offline::new(0)
        .login(&mut whole, 1, &mut Vec::new())
        .unwrap();
    let expected = decode_with(&mut whole, FrameKind::Text, refused).unwrap();
    assert!(
        matches!(&expected.list[..], [Event::Response(r)]
            if r.req_id == Some(1) && !r.ok
                && r.message.as_deref().is_some_and(|m| m.starts_with("server.auth: "))),
        "{:?}",
        expected.list
    );
    let mut encoder = DigiFinex::private(credentials());
    let mut decoder = encoder.split().expect("DigiFinex splits");
    Offline::new(0)
        .login(&mut encoder, 1, &mut Vec::new())
        .unwrap();
    assert_eq!(Offline::pass_notes(&mut encoder, &mut decoder), 1);
    assert_eq!(
        decode_with(&mut decoder, FrameKind::Text, refused)
            .unwrap()
            .list,
        expected.list
    );
}
