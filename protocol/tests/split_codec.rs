//! A split codec (`Venue::split`) decodes as the whole codec does, once the
//! encoding half's notes reach the decoding half, and the decoding half's
//! notes reach the encoder: every venue, on the messages where a note
//! matters (a reply whose shape only the request knew, a login's id, a book
//! depth, a refused logon).

use orderwire_protocol::model::{
    Event, Events, NewOrder, OrderKind, Request, Side, Subscription, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::binance::{BinanceApi, Credentials, Signer};
use orderwire_protocol::venue::digifinex::{self, DigiFinex};
use orderwire_protocol::venue::kraken::{Kraken, Tier};
use orderwire_protocol::venue::upbit::Upbit;
use orderwire_protocol::venue::{FrameKind, Offline, Venue};

const KRAKEN_SNAPSHOT: &str = include_str!("kraken/book_snapshot.json");

/// Hands every note `from` has written to `to`; how many there were.
fn pass_notes<V: Venue>(from: &mut V, to: &mut V) -> usize {
    let mut passed = 0;
    while let Some(note) = from.take_note() {
        to.apply_note(note);
        passed += 1;
    }
    passed
}

fn decode<V: Venue>(codec: &mut V, kind: FrameKind, message: &str) -> Events {
    let mut events = Events::default();
    let mut bytes = message.as_bytes().to_vec();
    Offline::new(0)
        .decode(codec, kind, &mut bytes, &mut events)
        .unwrap();
    events
}

fn encode<V: Venue>(codec: &mut V, req_id: u64, request: Request<'_>) -> serde_json::Value {
    let mut out = Vec::new();
    Offline::new(0)
        .encode(codec, req_id, &request, &mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn kraken() -> Kraken {
    Kraken::new(Some(Secret::new("token")), Tier::Starter)
}

#[test]
fn kraken_the_decoder_learns_the_book_depth_from_the_subscribe() {
    let book = Subscription::Book {
        symbols: vec![inline("BTC/USD").unwrap()],
        depth: 25,
    };
    let update = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45284.0,"qty":0.5},{"price":45283.45,"qty":1},{"price":45283.4,"qty":0}],"asks":[],"checksum":0,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#;
    let bids_after = |decoder: &mut Kraken| {
        decode(decoder, FrameKind::Text, KRAKEN_SNAPSHOT);
        decode(decoder, FrameKind::Text, update);
        decoder.book("BTC/USD").unwrap().bids().len()
    };

    let mut whole = kraken();
    encode(&mut whole, 1, Request::Subscribe(&book));
    let mut encoder = kraken();
    let mut decoder = encoder.split().expect("Kraken splits");
    encode(&mut encoder, 1, Request::Subscribe(&book));
    assert_eq!(pass_notes(&mut encoder, &mut decoder), 1);
    // Ten levels plus two new bids less one deleted: eleven, kept at depth
    // 25; a decoder that missed the note would cut them to the default 10.
    assert_eq!(bids_after(&mut decoder), 11);
    assert_eq!(bids_after(&mut whole), 11);
    let mut uninformed = kraken().split().unwrap();
    assert_eq!(bids_after(&mut uninformed), 10);
    assert!(
        format!("{decoder:?}").contains("token: None"),
        "the decoding half holds no token: {decoder:?}"
    );
}

fn order(client: &str) -> NewOrder {
    NewOrder {
        client_order_id: inline(client).unwrap(),
        symbol: inline("BTCUSDT").unwrap(),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some("45000.1".parse().unwrap()),
        qty: "0.001".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

#[test]
fn binance_a_depth_reply_gets_its_pair_from_the_request_note() {
    let key = || {
        Some(Credentials {
            api_key: Secret::new("key"),
            signer: Signer::Hmac(Secret::new("secret")),
        })
    };
    let reply = r#"{"id":22,"status":200,"result":{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}}"#;
    let request = || Request::BookSnapshot {
        symbol: inline("BTCUSDT").unwrap(),
        limit: 5,
    };
    let mut whole = BinanceApi::new(key());
    encode(&mut whole, 22, request());
    let expected = decode(&mut whole, FrameKind::Text, reply);
    assert!(
        expected
            .list
            .iter()
            .any(|e| matches!(e, Event::Book(b) if b.symbol.as_str() == "BTCUSDT"))
    );

    let mut encoder = BinanceApi::new(key());
    let mut decoder = encoder.split().expect("Binance splits");
    encode(&mut encoder, 22, request());
    assert_eq!(pass_notes(&mut encoder, &mut decoder), 1);
    let got = decode(&mut decoder, FrameKind::Text, reply);
    assert_eq!(got.list, expected.list);
    assert_eq!(got.levels, expected.levels);
}

#[test]
fn binance_a_refused_logon_reaches_the_encoder_and_signing_resumes() {
    let mut encoder = BinanceApi::new(Some(Credentials {
        api_key: Secret::new("ed-key"),
        signer: Signer::ed25519_from_bytes(&[7u8; 32]),
    }));
    let mut decoder = encoder.split().unwrap();
    let mut out = Vec::new();
    assert!(Offline::new(0).login(&mut encoder, 1, &mut out).unwrap());
    let unsigned = encode(&mut encoder, 2, Request::Place(&order("a")));
    assert!(unsigned["params"].get("signature").is_none());
    assert_eq!(pass_notes(&mut encoder, &mut decoder), 2);
    let events = decode(
        &mut decoder,
        FrameKind::Text,
        r#"{"id":1,"status":401,"error":{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}}"#,
    );
    assert!(
        matches!(&events.list[..], [Event::Response(r)] if !r.ok),
        "{:?}",
        events.list
    );
    assert_eq!(pass_notes(&mut decoder, &mut encoder), 1);
    let signed = encode(&mut encoder, 3, Request::Place(&order("b")));
    assert!(signed["params"]["signature"].is_string());
}

#[test]
fn binance_a_refused_logon_of_a_replaced_connection_leaves_the_new_session_alone() {
    let mut encoder = BinanceApi::new(Some(Credentials {
        api_key: Secret::new("ed-key"),
        signer: Signer::ed25519_from_bytes(&[7u8; 32]),
    }));
    let mut decoder = encoder.split().unwrap();
    assert!(
        Offline::new(0)
            .login(&mut encoder, 1, &mut Vec::new())
            .unwrap()
    );
    pass_notes(&mut encoder, &mut decoder);
    // The reactor reconnects and logs on again before the poller reads the
    // old connection's refusal.
    encoder.reset();
    assert!(
        Offline::new(0)
            .login(&mut encoder, 2, &mut Vec::new())
            .unwrap()
    );
    decode(
        &mut decoder,
        FrameKind::Text,
        r#"{"id":1,"status":401,"error":{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}}"#,
    );
    assert_eq!(pass_notes(&mut decoder, &mut encoder), 1);
    let unsigned = encode(&mut encoder, 3, Request::Place(&order("c")));
    assert!(
        unsigned["params"].get("signature").is_none(),
        "the new session stays logged on: {unsigned}"
    );
}

#[test]
fn digifinex_the_decoder_knows_the_auth_reply_by_the_login_note() {
    let credentials = || digifinex::Credentials {
        api_key: Secret::new("key"),
        secret: Secret::new("secret"),
    };
    let refused =
        r#"{"error":{"code":4,"message":"invalid apikey or signature"},"result":null,"id":1}"#;
    let mut whole = DigiFinex::private(credentials());
    Offline::new(0)
        .login(&mut whole, 1, &mut Vec::new())
        .unwrap();
    let expected = decode(&mut whole, FrameKind::Text, refused);
    assert!(
        matches!(&expected.list[..], [Event::VenueError { name, .. }] if name == "server.auth")
    );

    let mut encoder = DigiFinex::private(credentials());
    let mut decoder = encoder.split().expect("DigiFinex splits");
    Offline::new(0)
        .login(&mut encoder, 1, &mut Vec::new())
        .unwrap();
    assert_eq!(pass_notes(&mut encoder, &mut decoder), 1);
    assert_eq!(
        decode(&mut decoder, FrameKind::Text, refused).list,
        expected.list
    );
}

#[test]
fn upbit_decodes_with_no_notes_at_all() {
    let ticker = r#"{"type":"ticker","code":"KRW-BTC","trade_price":98000000.0,"timestamp":1704067200000,"stream_type":"REALTIME"}"#;
    let mut whole = Upbit::public();
    let expected = decode(&mut whole, FrameKind::Binary, ticker);
    let mut encoder = Upbit::public();
    let mut decoder = encoder.split().expect("Upbit splits");
    let subscribe = Subscription::Ticker {
        symbols: vec![inline("KRW-BTC").unwrap()],
    };
    let mut out = Vec::new();
    Offline::new(0)
        .encode(&mut encoder, 1, &Request::Subscribe(&subscribe), &mut out)
        .unwrap();
    assert_eq!(pass_notes(&mut encoder, &mut decoder), 0);
    assert_eq!(
        decode(&mut decoder, FrameKind::Binary, ticker).list,
        expected.list
    );
    assert!(!expected.list.is_empty());
}

#[test]
fn an_unsplit_codec_writes_no_notes() {
    let mut codec = kraken();
    let book = Subscription::Book {
        symbols: vec![inline("BTC/USD").unwrap()],
        depth: 25,
    };
    encode(&mut codec, 1, Request::Subscribe(&book));
    assert_eq!(codec.take_note(), None);
}
