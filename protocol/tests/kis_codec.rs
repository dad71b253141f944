//! Every shape on kis.md through the KIS codec: subscribe and release
//! requests, each ack and error, PINGPONG, every record layout with its
//! field positions, several records per message, layout errors, and
//! execution notices decrypted from ciphertext made independently at test
//! time by Python's `cryptography` (installed by scripts/install-peers).

use std::process::Command;

use orderwire_protocol::model::{
    Event, Events, Method, OrderStatus, Request, Side, Subscription, inline,
};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::kis::{Kis, Market};
use orderwire_protocol::venue::{Expect, FrameKind, Offline, Venue};

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn feed(kis: &mut Kis, offline: &mut Offline, text: &str) -> Result<Events, String> {
    let mut events = Events::default();
    let mut bytes = text.as_bytes().to_vec();
    offline
        .decode(kis, FrameKind::Text, &mut bytes, &mut events)
        .map_err(|e| e.to_string())?;
    Ok(events)
}

/// A 46-field H0STCNT0 record (kis.md's field table): `code`, `time`,
/// `price`, `qty`, cumulative volume, CCLD_DVSN and BSOP_DATE set.
fn trade_record(code: &str, time: &str, price: &str, qty: &str, acml: &str, side: &str) -> String {
    let mut fields = vec!["0"; 46];
    fields[0] = code;
    fields[1] = time;
    fields[2] = price;
    fields[12] = qty;
    fields[13] = acml;
    fields[21] = side;
    fields[33] = "20231004";
    fields.join("^")
}

/// A quote record of `width` fields: ask i at 73100+100i (size 10+i),
/// bid i at 73000-100i (size 20+i); the last level of each side empty.
fn quote_record(code: &str, width: usize) -> String {
    let mut fields: Vec<String> = vec!["0".to_owned(); width];
    fields[0] = code.to_owned();
    fields[1] = "093015".to_owned();
    for i in 0..9 {
        fields[3 + i] = (73_100 + 100 * i).to_string();
        fields[13 + i] = (73_000 - 100 * i).to_string();
        fields[23 + i] = (10 + i).to_string();
        fields[33 + i] = (20 + i).to_string();
    }
    fields.join("^")
}

#[test]
fn subscribe_and_release_are_one_message_per_tr_id_and_tr_key() {
    let mut kis =
        Kis::new(Secret::new("approval-key-of-any-length-0123456789")).with_hts_id("user01");
    let mut offline = Offline::new(1);
    let mut out = Vec::new();
    let trades = Subscription::Trades {
        symbols: vec![inline("005930").unwrap(), inline("000660").unwrap()],
    };
    let expect = offline
        .encode(&mut kis, 7, &Request::Subscribe(&trades), &mut out)
        .unwrap();
    assert_eq!(expect, Expect::Replies(2));
    let text = String::from_utf8(out.clone()).unwrap();
    let frames: Vec<&str> = text.lines().collect();
    assert_eq!(
        frames,
        [
            r#"{"header":{"approval_key":"approval-key-of-any-length-0123456789","custtype":"P","tr_type":"1","content-type":"utf-8"},"body":{"input":{"tr_id":"H0STCNT0","tr_key":"005930"}}}"#,
            r#"{"header":{"approval_key":"approval-key-of-any-length-0123456789","custtype":"P","tr_type":"1","content-type":"utf-8"},"body":{"input":{"tr_id":"H0STCNT0","tr_key":"000660"}}}"#,
        ]
    );
    out.clear();
    let notices = Subscription::Executions {
        snapshot_orders: false,
        snapshot_trades: false,
    };
    offline
        .encode(&mut kis, 8, &Request::Unsubscribe(&notices), &mut out)
        .unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.contains(r#""tr_type":"2""#)
            && text.contains(r#""tr_id":"H0STCNI0","tr_key":"user01""#),
        "{text}"
    );
    // The NXT and combined markets, and paper notices.
    let mut nxt = Kis::new(Secret::new("k"))
        .with_market(Market::Nxt)
        .with_hts_id("u")
        .with_paper(true);
    out.clear();
    let book = Subscription::Book {
        symbols: vec![inline("005930").unwrap()],
        depth: 10,
    };
    offline
        .encode(&mut nxt, 1, &Request::Subscribe(&book), &mut out)
        .unwrap();
    offline
        .encode(&mut nxt, 2, &Request::Subscribe(&trades), &mut out)
        .unwrap();
    offline
        .encode(&mut nxt, 3, &Request::Subscribe(&notices), &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    for tr_id in ["H0NXASP0", "H0NXCNT0", "H0STCNI9"] {
        assert!(text.contains(tr_id), "{tr_id}: {text}");
    }
    // The secret is named for redaction.
    assert_eq!(
        kis.capabilities().secret_fields,
        ["approval_key", "key", "iv"]
    );
    assert_eq!(kis.capabilities().max_subscriptions, Some(41));
    // Orders go over REST.
    assert!(
        offline
            .encode(&mut kis, 9, &Request::Ping, &mut Vec::new())
            .is_err()
    );
}

#[test]
fn each_ack_and_error_shape() {
    let mut kis = Kis::new(Secret::new("k")).with_hts_id("user01");
    let mut offline = Offline::new(1);
    let mut out = Vec::new();
    let book = Subscription::Book {
        symbols: vec![inline("005930").unwrap()],
        depth: 10,
    };
    offline
        .encode(&mut kis, 4, &Request::Subscribe(&book), &mut out)
        .unwrap();
    let ack = feed(&mut kis, &mut offline, r#"{"header":{"tr_id":"H0STASP0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS","output":{"iv":"d59d91fcf9fd0044","key":"iuheqrmvfxoceaxeyqgjwesozgizmmgx"}}}"#).unwrap();
    let Event::Response(response) = &ack.list[0] else {
        panic!("{ack:?}")
    };
    assert_eq!(
        (response.req_id, response.method, response.ok),
        (Some(4), Method::Subscribe, true)
    );
    assert_eq!(
        response.message.as_deref(),
        Some("OPSP0000 SUBSCRIBE SUCCESS")
    );
    // The key and iv are never shown.
    assert!(!format!("{kis:?}").contains("iuheqrmv"));
    // A repeat registration: the subscription is live, not a failure.
    offline
        .encode(&mut kis, 5, &Request::Subscribe(&book), &mut out)
        .unwrap();
    let again = feed(&mut kis, &mut offline, r#"{"header":{"tr_id":"H0STASP0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"1","msg_cd":"OPSP0001","msg1":"ALREADY IN SUBSCRIBE"}}"#).unwrap();
    assert!(matches!(&again.list[0], Event::Response(r) if r.ok && r.req_id == Some(5)));
    // Past the cap: a failure, with the venue's words.
    let trades = Subscription::Trades {
        symbols: vec![inline("005930").unwrap()],
    };
    offline
        .encode(&mut kis, 6, &Request::Subscribe(&trades), &mut out)
        .unwrap();
    let over = feed(&mut kis, &mut offline, r#"{"header":{"tr_id":"H0STCNT0","tr_key":"005930"},"body":{"rt_cd":"1","msg_cd":"OPSP0008","msg1":"MAX SUBSCRIBE OVER"}}"#).unwrap();
    assert!(
        matches!(&over.list[0], Event::Response(r) if !r.ok && r.req_id == Some(6) && r.message.as_deref() == Some("OPSP0008 MAX SUBSCRIBE OVER"))
    );
    // A release.
    offline
        .encode(&mut kis, 7, &Request::Unsubscribe(&book), &mut out)
        .unwrap();
    let released = feed(&mut kis, &mut offline, r#"{"header":{"tr_id":"H0STASP0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"UNSUBSCRIBE SUCCESS"}}"#).unwrap();
    assert!(
        matches!(&released.list[0], Event::Response(r) if r.ok && r.req_id == Some(7) && r.method == Method::Unsubscribe)
    );
    // An ack nothing waits for: no id, never a guess.
    let stray = feed(&mut kis, &mut offline, r#"{"header":{"tr_id":"H0STCNT0","tr_key":"999999","encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS"}}"#).unwrap();
    assert!(matches!(&stray.list[0], Event::Response(r) if r.req_id.is_none()));
    // A second session on the key: refused for good.
    let refused = feed(&mut kis, &mut offline, r#"{"header":{"tr_id":"(null)","tr_key":"","encrypt":"N"},"body":{"rt_cd":"9","msg_cd":"OPSP8996","msg1":"ALREADY IN USE appkey"}}"#).unwrap();
    assert!(
        matches!(&refused.list[0], Event::SessionRefused { code, permanent: true, .. } if code == "OPSP8996")
    );
}

#[test]
fn pingpong_is_answered_with_a_pong_frame_carrying_it() {
    let mut kis = Kis::offline();
    let mut offline = Offline::new(1);
    let ping = r#"{"header":{"tr_id":"PINGPONG","datetime":"20231004160455"}}"#;
    let events = feed(&mut kis, &mut offline, ping).unwrap();
    assert_eq!(events.list, [Event::Heartbeat]);
    let replies = offline.replies();
    assert_eq!(replies.len(), 1);
    let (kind, frame) = replies.iter().next().unwrap();
    assert_eq!((kind, frame), (FrameKind::Pong, ping.as_bytes()));
}

#[test]
fn trades_several_records_per_message_with_their_fields() {
    let mut kis = Kis::offline();
    let mut offline = Offline::new(1);
    let records = [
        trade_record("005930", "123929", "73100", "5", "10329475", "1"),
        trade_record("005930", "123930", "73000", "12", "10329487", "5"),
        trade_record("000660", "123930", "121500", "3", "400", "3"),
        trade_record("005930", "123931", "73100", "1", "10329488", "1"),
    ];
    let message = format!("0|H0STCNT0|004|{}", records.join("^"));
    let events = feed(&mut kis, &mut offline, &message).unwrap();
    let trades: Vec<_> = events
        .list
        .iter()
        .map(|e| match e {
            Event::Trade(t) => (
                t.symbol.to_string(),
                t.price,
                t.qty,
                t.side,
                t.trade_id.to_string(),
                t.ts,
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    // 2023-10-04 12:39:29 KST is 03:39:29 UTC.
    let ts = |h: i64, m: i64, s: i64| {
        Some(((19_634 * 86_400) + (h - 9) * 3600 + m * 60 + s) * 1_000_000_000)
    };
    assert_eq!(
        trades,
        [
            (
                "005930".into(),
                dec("73100"),
                dec("5"),
                Some(Side::Buy),
                "123929-10329475".into(),
                ts(12, 39, 29)
            ),
            (
                "005930".into(),
                dec("73000"),
                dec("12"),
                Some(Side::Sell),
                "123930-10329487".into(),
                ts(12, 39, 30)
            ),
            (
                "000660".into(),
                dec("121500"),
                dec("3"),
                None,
                "123930-400".into(),
                ts(12, 39, 30)
            ),
            (
                "005930".into(),
                dec("73100"),
                dec("1"),
                Some(Side::Buy),
                "123931-10329488".into(),
                ts(12, 39, 31)
            ),
        ]
    );
    // The NXT and combined trades share the layout.
    for tr_id in ["H0NXCNT0", "H0UNCNT0"] {
        let message = format!("0|{tr_id}|001|{}", records[0]);
        assert_eq!(
            feed(&mut kis, &mut offline, &message).unwrap().list.len(),
            1
        );
    }
}

#[test]
fn quotes_are_whole_ten_level_books_in_every_width() {
    let mut kis = Kis::offline();
    let mut offline = Offline::new(1);
    for (tr_id, width) in [("H0STASP0", 59), ("H0NXASP0", 65), ("H0UNASP0", 65)] {
        let message = format!(
            "0|{tr_id}|002|{}^{}",
            quote_record("005930", width),
            quote_record("000660", width)
        );
        let events = feed(&mut kis, &mut offline, &message).unwrap();
        assert_eq!(events.list.len(), 2, "{tr_id}");
        let Event::Book(book) = &events.list[0] else {
            panic!()
        };
        assert!(book.snapshot);
        assert_eq!(book.symbol.as_str(), "005930");
        let bids = &events.levels[book.bids.clone()];
        let asks = &events.levels[book.asks.clone()];
        assert_eq!(bids.len(), 9, "the empty tenth level is left out");
        assert_eq!((bids[0].price, bids[0].qty), (dec("73000"), dec("20")));
        assert_eq!((asks[0].price, asks[0].qty), (dec("73100"), dec("10")));
        assert_eq!((asks[8].price, asks[8].qty), (dec("73900"), dec("18")));
    }
}

#[test]
fn a_record_of_the_wrong_width_drops_the_frame_and_decoding_goes_on() {
    let mut kis = Kis::offline();
    let mut offline = Offline::new(1);
    let good = trade_record("005930", "123929", "73100", "5", "10329475", "1");
    for bad in [
        format!("0|H0STCNT0|002|{good}"),          // one record, count 2
        format!("0|H0STCNT0|001|{good}^extra"),    // long
        "0|H0STCNT0|001|005930^123929".to_owned(), // short
        format!("0|H0STCNT0|001|{}", good.replace("73100", "7x100")), // not a number
        "2|H0STCNT0|001|x".to_owned(),             // no such flag
        "0|H0XXXXX0|001|x".to_owned(),             // no such tr_id
        "0|H0STCNT0".to_owned(),                   // cut
    ] {
        let mut events = Events::default();
        let mut bytes = bad.clone().into_bytes();
        assert!(
            offline
                .decode(&mut kis, FrameKind::Text, &mut bytes, &mut events)
                .is_err(),
            "{bad}"
        );
        assert!(events.list.is_empty() && events.levels.is_empty(), "{bad}");
    }
    assert_eq!(
        feed(&mut kis, &mut offline, &format!("0|H0STCNT0|001|{good}"))
            .unwrap()
            .list
            .len(),
        1
    );
}

/// base64(AES-256-CBC(key, iv, PKCS#7(plain))), by Python's
/// `cryptography`: an implementation we did not write.
fn encrypt_independently(key: &str, iv: &str, plain: &str) -> String {
    let python = orderwire_testkit::peers::python();
    let script = r#"
import base64, sys
try:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:
    sys.exit("cryptography is missing from .venv-peers: run scripts/install-peers")
key, iv, plain = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3].encode()
padder = padding.PKCS7(128).padder()
data = padder.update(plain) + padder.finalize()
enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
print(base64.b64encode(enc.update(data) + enc.finalize()).decode())
"#;
    let output = Command::new(&python)
        .args(["-c", script, key, iv, plain])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (scripts/install-peers installs it)",
                python.display()
            )
        });
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A 26-field H0STCNI0 record (kis.md's table): a buy of 005930 by
/// user01, with the order number, original order number (3), RCTF_CLS (5),
/// quantity (9), price (10), RFUS_YN (12), CNTG_YN (13), ACPT_YN (14) and
/// order quantity (16) given as `[order, original, rctf, qty, price, rfus,
/// cntg, acpt, ordered]`.
fn notice_record(values: [&str; 9]) -> String {
    let [order, original, rctf, qty, price, rfus, cntg, acpt, ordered] = values;
    let mut fields = vec![""; 26];
    fields[0] = "user01";
    fields[1] = "5012345601";
    fields[2] = order;
    fields[3] = original;
    fields[4] = "02";
    fields[5] = rctf;
    fields[6] = "00";
    fields[7] = "0";
    fields[8] = "005930";
    fields[9] = qty;
    fields[10] = price;
    fields[11] = "093012";
    fields[12] = rfus;
    fields[13] = cntg;
    fields[14] = acpt;
    fields[16] = ordered;
    fields[24] = "삼성전자";
    fields[25] = "73100";
    fields.join("^")
}

#[test]
fn notices_decrypt_with_their_acks_key_and_iv() {
    let (key, iv) = ("iuheqrmvfxoceaxeyqgjwesozgizmmgx", "d59d91fcf9fd0044");
    let mut kis = Kis::new(Secret::new("k")).with_hts_id("user01");
    let mut offline = Offline::new(1);
    let plain = [
        notice_record(["0000012345", "", "0", "10", "73100", "0", "1", "2", "10"]),
        notice_record(["0000012345", "", "0", "4", "73100", "0", "2", "2", "10"]),
        notice_record(["0000012345", "", "0", "6", "73100", "0", "2", "2", "10"]),
    ];
    let frame = |plain: &str| format!("1|H0STCNI0|001|{}", encrypt_independently(key, iv, plain));
    // Before the ack, the key is unknown: an error, decoding goes on.
    assert!(feed(&mut kis, &mut offline, &frame(&plain[0])).is_err());
    let ack = format!(
        r#"{{"header":{{"tr_id":"H0STCNI0","tr_key":"user01","encrypt":"N"}},"body":{{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS","output":{{"iv":"{iv}","key":"{key}"}}}}}}"#
    );
    feed(&mut kis, &mut offline, &ack).unwrap();
    let acked = feed(&mut kis, &mut offline, &frame(&plain[0])).unwrap();
    assert!(matches!(&acked.list[..], [Event::OrderUpdate(0)]));
    let u = &acked.order_updates[0];
    assert!(
        u.status == OrderStatus::New
            && u.order_id.as_str() == "0000012345"
            && u.qty == Some(dec("10"))
            && u.side == Some(Side::Buy)
    );
    let first = feed(&mut kis, &mut offline, &frame(&plain[1])).unwrap();
    assert!(matches!(
        &first.list[..],
        [Event::OrderUpdate(0), Event::Fill(0)]
    ));
    let (u, f) = (&first.order_updates[0], &first.fills[0]);
    assert!(
        u.status == OrderStatus::PartiallyFilled
            && u.filled_qty == Some(dec("4"))
            && f.qty == dec("4")
            && f.price == dec("73100")
    );
    let last = feed(&mut kis, &mut offline, &frame(&plain[2])).unwrap();
    assert!(matches!(
        &last.list[..],
        [Event::OrderUpdate(0), Event::Fill(0)]
    ));
    assert_eq!(last.order_updates[0].status, OrderStatus::Filled);
    // A reject (both value forms) and a cancel of the original order.
    for rfus in ["1", "Y"] {
        let reject = notice_record(["0000012346", "", "0", "1", "73100", rfus, "1", "2", "1"]);
        let events = feed(&mut kis, &mut offline, &frame(&reject)).unwrap();
        assert!(matches!(&events.list[..], [Event::OrderUpdate(0)]));
        assert_eq!(events.order_updates[0].status, OrderStatus::Rejected);
    }
    // A cancel merely received (ACPT_YN 1) ends nothing yet.
    let received = notice_record([
        "0000012348",
        "0000012340",
        "2",
        "1",
        "73100",
        "0",
        "1",
        "1",
        "1",
    ]);
    assert!(
        feed(&mut kis, &mut offline, &frame(&received))
            .unwrap()
            .list
            .is_empty()
    );
    let cancel = notice_record([
        "0000012347",
        "0000012340",
        "2",
        "1",
        "73100",
        "0",
        "1",
        "2",
        "1",
    ]);
    let events = feed(&mut kis, &mut offline, &frame(&cancel)).unwrap();
    assert!(matches!(&events.list[..], [Event::OrderUpdate(0)]));
    let u = &events.order_updates[0];
    assert_eq!(
        (u.status, u.order_id.as_str()),
        (OrderStatus::Canceled, "0000012340")
    );
    // Bad ciphertext, bad base64, bad padding: errors, never panics.
    for bad in [
        "1|H0STCNI0|001|AAAA",
        "1|H0STCNI0|001|!!!!",
        "1|H0STCNI0|001|AAAAAAAAAAAAAAAAAAAAAA==",
    ] {
        assert!(feed(&mut kis, &mut offline, bad).is_err(), "{bad}");
    }
    let wrong_key = format!(
        "1|H0STCNI0|001|{}",
        encrypt_independently("xxheqrmvfxoceaxeyqgjwesozgizmmgx", iv, &plain[0])
    );
    assert!(feed(&mut kis, &mut offline, &wrong_key).is_err());
}
