//! The Binance WebSocket API codec against ../shared/venues/binance.md:
//! every documented reply and event, the remaining requests, and
//! session.logon signed with a generated Ed25519 key.

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier};
use orderwire_protocol::model::{
    CancelReplace, Event, Events, Method, NewOrder, OrderKind, OrderRef, OrderStatus, RateCounter,
    RejectReason, ReplaceMode, Request, Side, Subscription, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::binance::{BinanceApi, Credentials, ResponseType, Signer};
use orderwire_protocol::venue::{Expect, FrameKind, Offline};

const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

fn hmac_codec() -> BinanceApi {
    BinanceApi::new(Some(Credentials {
        api_key: Secret::new("key"),
        signer: Signer::Hmac(Secret::new(SECRET)),
    }))
}

/// The wall clock of the signed examples on binance.md.
const WALL_NS: i64 = 1_660_801_715_431_000_000;

fn offline(wall_ns: i64) -> Offline {
    let mut offline = Offline::new(0);
    offline.wall_ns = wall_ns;
    offline
}

fn order(client: &str) -> NewOrder {
    NewOrder {
        client_order_id: inline(client).unwrap(),
        symbol: inline("BTCUSDT").unwrap(),
        side: Side::Sell,
        kind: OrderKind::Limit,
        price: Some("23416.10000000".parse().unwrap()),
        qty: "0.00847000".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

fn encode(codec: &mut BinanceApi, req_id: u64, request: Request<'_>) -> serde_json::Value {
    let mut out = Vec::new();
    offline(WALL_NS)
        .encode(codec, req_id, &request, &mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn decode(codec: &mut BinanceApi, text: &str) -> Vec<Event> {
    decode_all(codec, text).list
}

/// With the order updates and fills the events index.
fn decode_all(codec: &mut BinanceApi, text: &str) -> Events {
    let mut events = Events::default();
    let mut bytes = text.as_bytes().to_vec();
    offline(WALL_NS)
        .decode(codec, FrameKind::Text, &mut bytes, &mut events)
        .unwrap();
    events
}

fn without_usage(events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .filter(|e| !matches!(e, Event::RateUsage(_)))
        .collect()
}

const RATE_LIMITS: &str = r#""rateLimits":[{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":13},{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":160000,"count":4044},{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":322}]"#;

#[test]
fn the_documented_error_reply_is_a_typed_reject_with_the_venues_counts() {
    let mut codec = hmac_codec();
    encode(&mut codec, 41, Request::Place(&order("a1")));
    let reply = format!(
        r#"{{"id":41,"status":400,"error":{{"code":-2010,"msg":"Account has insufficient balance for requested action."}},{RATE_LIMITS}}}"#
    );
    let events = decode(&mut codec, &reply);
    let usages: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::RateUsage(u) => Some((u.req_id, u.counter, u.window_secs, u.limit, u.count)),
            _ => None,
        })
        .collect();
    assert_eq!(
        usages,
        [
            (Some(41), RateCounter::Orders, 10, 50, 13),
            (Some(41), RateCounter::Orders, 86_400, 160_000, 4_044),
            (Some(41), RateCounter::RequestWeight, 60, 6_000, 322),
        ],
        "the venue's counts come before the reply they belong to"
    );
    let Some(Event::OrderReject(reject)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(reject.req_id, Some(41));
    assert_eq!(reject.method, Method::Place);
    assert_eq!(reject.code, "-2010");
    assert_eq!(
        reject.message,
        "Account has insufficient balance for requested action."
    );
    assert_eq!(reject.reason, RejectReason::InsufficientFunds);
}

#[test]
fn every_documented_error_code_maps_to_a_typed_reason() {
    let cases = [
        (
            -1013,
            "Filter failure: LOT_SIZE",
            RejectReason::InvalidRequest,
        ),
        (
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
            RejectReason::BadTimestamp,
        ),
        (
            -1022,
            "Signature for this request is not valid.",
            RejectReason::BadSignature,
        ),
        (
            -1102,
            "Mandatory parameter 'symbol' was not sent.",
            RejectReason::InvalidRequest,
        ),
        (-2011, "Unknown order sent.", RejectReason::UnknownOrder),
        (-2013, "Order does not exist.", RejectReason::UnknownOrder),
        (
            -2015,
            "Invalid API-key, IP, or permissions for action.",
            RejectReason::Unauthorized,
        ),
        (
            -1007,
            "Timeout waiting for response from backend server.",
            RejectReason::StatusUnknown,
        ),
        (-1015, "Too many new orders.", RejectReason::RateLimited),
    ];
    for (index, (code, msg, reason)) in cases.into_iter().enumerate() {
        let mut codec = hmac_codec();
        let id = 100 + index as u64;
        encode(
            &mut codec,
            id,
            Request::QueryOrder {
                order: OrderRef::OrderId(inline("5").unwrap()),
                symbol: inline("BTCUSDT").unwrap(),
            },
        );
        let events = decode(
            &mut codec,
            &format!(r#"{{"id":{id},"status":400,"error":{{"code":{code},"msg":"{msg}"}}}}"#),
        );
        let [Event::OrderReject(reject)] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!(
            (reject.code.as_str(), reject.message.as_str(), reject.reason),
            (code.to_string().as_str(), msg, reason)
        );
        assert_eq!(reject.method, Method::QueryOrder);
    }
    // The documented -2015 with a null id still decodes.
    let events = decode(
        &mut hmac_codec(),
        r#"{"id":null,"status":401,"error":{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}}"#,
    );
    assert!(
        matches!(&events[..], [Event::OrderReject(r)] if r.req_id.is_none() && r.reason == RejectReason::Unauthorized)
    );
}

#[test]
fn a_429_is_throttled_until_retry_after_and_not_a_plain_reject() {
    let mut codec = hmac_codec();
    encode(&mut codec, 9, Request::Place(&order("t1")));
    let events = without_usage(decode(
        &mut codec,
        r#"{"id":9,"status":429,"error":{"code":-1003,"msg":"Too much request weight used; current limit is 6000 request weight per 1 MINUTE.","data":{"serverTime":1659565932770,"retryAfter":1659565993000}}}"#,
    ));
    let [
        Event::Throttled {
            req_id,
            method,
            code,
            until,
            ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (*req_id, *method, code.as_str()),
        (Some(9), Method::Place, "-1003")
    );
    assert_eq!(*until, Some(1_659_565_993_000_000_000));
}

#[test]
fn place_replies_in_ack_and_full_shape() {
    let mut codec = hmac_codec();
    encode(
        &mut codec,
        1,
        Request::Place(&order("4d96324ff9d44481926157ec08158a40")),
    );
    let events = decode(
        &mut codec,
        r#"{"id":1,"status":200,"result":{"symbol":"BTCUSDT","orderId":12569099453,"orderListId":-1,"clientOrderId":"4d96324ff9d44481926157ec08158a40","transactTime":1660801715639}}"#,
    );
    let [Event::OrderAck(ack)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(ack.order_id.as_deref(), Some("12569099453"));
    assert_eq!(
        ack.client_order_id.as_deref(),
        Some("4d96324ff9d44481926157ec08158a40")
    );
    assert_eq!(ack.ts_out, Some(1_660_801_715_639_000_000));

    encode(&mut codec, 2, Request::Place(&order("full")));
    let decoded = decode_all(
        &mut codec,
        r#"{"id":2,"status":200,"result":{"symbol":"BTCUSDT","orderId":12569099454,"orderListId":-1,"clientOrderId":"full","transactTime":1660801715639,"price":"23416.10000000","origQty":"0.00847000","executedQty":"0.00847000","cummulativeQuoteQty":"198.33521500","status":"FILLED","timeInForce":"GTC","type":"LIMIT","side":"SELL","workingTime":1660801715639,"fills":[{"price":"23416.10000000","qty":"0.00635000","commission":"0.000000","commissionAsset":"BNB","tradeId":1650422481},{"price":"23416.50000000","qty":"0.00212000","commission":"0.000000","commissionAsset":"BNB","tradeId":1650422482}],"selfTradePreventionMode":"NONE"}}"#,
    );
    let events = &decoded.list;
    assert!(matches!(&events[0], Event::OrderAck(a) if a.method == Method::Place));
    let Event::OrderUpdate(update) = &events[1] else {
        panic!("{events:?}")
    };
    let update = &decoded.order_updates[*update];
    assert_eq!(update.status, OrderStatus::Filled);
    assert_eq!(update.filled_qty.unwrap().to_string(), "0.00847000");
    let fills: Vec<_> = events[2..]
        .iter()
        .map(|e| match e {
            Event::Fill(f) => {
                let f = &decoded.fills[*f];
                (
                    f.price.to_string(),
                    f.qty.to_string(),
                    f.trade_id.to_string(),
                )
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        fills,
        [
            (
                "23416.10000000".into(),
                "0.00635000".into(),
                "1650422481".into()
            ),
            (
                "23416.50000000".into(),
                "0.00212000".into(),
                "1650422482".into()
            )
        ]
    );
}

#[test]
fn cancel_replace_reports_both_halves_in_every_documented_outcome() {
    let replace = CancelReplace {
        cancel: OrderRef::ClientOrderId(inline("old").unwrap()),
        mode: ReplaceMode::StopOnFailure,
        new_order: order("new"),
    };
    let mut codec = hmac_codec();
    codec.writer_mut().response_type = Some(ResponseType::Ack);
    let request = encode(&mut codec, 5, Request::CancelReplace(&replace));
    assert_eq!(request["method"], "order.cancelReplace");
    assert_eq!(request["params"]["cancelReplaceMode"], "STOP_ON_FAILURE");
    assert_eq!(request["params"]["cancelOrigClientOrderId"], "old");
    assert_eq!(request["params"]["newClientOrderId"], "new");
    assert_eq!(request["params"]["newOrderRespType"], "ACK");
    assert_eq!(
        offline(WALL_NS).encode(
            &mut codec,
            6,
            &Request::CancelReplace(&replace),
            &mut Vec::new()
        ),
        Ok(Expect::Replies(2)),
        "one reply per half"
    );

    let halves = |codec: &mut BinanceApi, id: u64, reply: &str| {
        encode(codec, id, Request::CancelReplace(&replace));
        decode(codec, &reply.replace("ID", &id.to_string()))
            .into_iter()
            .map(|e| match e {
                Event::OrderAck(a) => (
                    a.method,
                    "ack".to_owned(),
                    a.client_order_id.map(|c| c.to_string()),
                ),
                Event::OrderReject(r) => (r.method, format!("{} {:?}", r.code, r.reason), None),
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    // Both succeed.
    assert_eq!(
        halves(
            &mut codec,
            6,
            r#"{"id":ID,"status":200,"result":{"cancelResult":"SUCCESS","newOrderResult":"SUCCESS","cancelResponse":{"symbol":"BTCUSDT","origClientOrderId":"old","orderId":125690984230,"orderListId":-1,"clientOrderId":"91fe37ce9e69c90d6358c0","price":"23450.00000000","origQty":"0.00847000","executedQty":"0.00001000","cummulativeQuoteQty":"0.23450000","status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"SELL"},"newOrderResponse":{"symbol":"BTCUSDT","orderId":12569099453,"orderListId":-1,"clientOrderId":"new","transactTime":1660813156959}}}"#
        ),
        [
            (Method::Cancel, "ack".to_owned(), Some("old".to_owned())),
            (Method::Place, "ack".to_owned(), Some("new".to_owned()))
        ]
    );
    // The cancel fails under STOP_ON_FAILURE: the new order is not attempted.
    assert_eq!(
        halves(
            &mut codec,
            7,
            r#"{"id":ID,"status":400,"error":{"code":-2022,"msg":"Order cancel-replace failed.","data":{"cancelResult":"FAILURE","newOrderResult":"NOT_ATTEMPTED","cancelResponse":{"code":-2011,"msg":"Unknown order sent."},"newOrderResponse":null}}}"#
        ),
        [
            (Method::Cancel, "-2011 UnknownOrder".to_owned(), None),
            (Method::Place, "-2022 NotAttempted".to_owned(), None)
        ]
    );
    // Partial (409, -2021): the cancel failed, the new order went in.
    assert_eq!(
        halves(
            &mut codec,
            8,
            r#"{"id":ID,"status":409,"error":{"code":-2021,"msg":"Order cancel-replace partially failed.","data":{"cancelResult":"FAILURE","newOrderResult":"SUCCESS","cancelResponse":{"code":-2011,"msg":"Unknown order sent."},"newOrderResponse":{"symbol":"BTCUSDT","orderId":12569099453,"orderListId":-1,"clientOrderId":"new","transactTime":1660813156959}}}}"#
        ),
        [
            (Method::Cancel, "-2011 UnknownOrder".to_owned(), None),
            (Method::Place, "ack".to_owned(), Some("new".to_owned()))
        ]
    );
    // Partial the other way: canceled, the new order refused.
    assert_eq!(
        halves(
            &mut codec,
            9,
            r#"{"id":ID,"status":409,"error":{"code":-2021,"msg":"Order cancel-replace partially failed.","data":{"cancelResult":"SUCCESS","newOrderResult":"FAILURE","cancelResponse":{"symbol":"BTCUSDT","origClientOrderId":"old","orderId":4,"orderListId":-1,"clientOrderId":"x","status":"CANCELED"},"newOrderResponse":{"code":-2010,"msg":"Order would immediately match and take."}}}}"#
        ),
        [
            (Method::Cancel, "ack".to_owned(), Some("old".to_owned())),
            (Method::Place, "-2010 WouldTake".to_owned(), None)
        ]
    );
    // Refused whole (no data): neither half happened.
    assert_eq!(
        halves(
            &mut codec,
            10,
            r#"{"id":ID,"status":400,"error":{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}}"#
        ),
        [
            (Method::Cancel, "-1021 BadTimestamp".to_owned(), None),
            (Method::Place, "-1021 BadTimestamp".to_owned(), None)
        ]
    );
}

#[test]
fn cancel_cancel_all_status_and_depth_requests_and_replies() {
    let mut codec = hmac_codec();
    let symbol = inline("BTCUSDT").unwrap();
    let request = encode(
        &mut codec,
        20,
        Request::CancelAll {
            symbol: Some(symbol),
        },
    );
    assert_eq!(request["method"], "openOrders.cancelAll");
    assert_eq!(request["params"]["symbol"], "BTCUSDT");
    assert!(request["params"]["signature"].is_string());
    let decoded = decode_all(
        &mut codec,
        r#"{"id":20,"status":200,"result":[{"symbol":"BTCUSDT","origClientOrderId":"a","orderId":1,"orderListId":-1,"clientOrderId":"z1","status":"CANCELED","side":"BUY"},{"symbol":"BTCUSDT","origClientOrderId":"b","orderId":2,"orderListId":-1,"clientOrderId":"z2","status":"CANCELED","side":"SELL"}]}"#,
    );
    let events = &decoded.list;
    let canceled: Vec<_> = decoded
        .order_updates
        .iter()
        .filter(|u| u.status == OrderStatus::Canceled)
        .filter_map(|u| u.client_order_id.map(|c| c.to_string()))
        .collect();
    assert_eq!(canceled, ["a", "b"]);
    assert!(
        matches!(events.last(), Some(Event::OrderAck(a)) if a.method == Method::CancelAll && a.req_id == Some(20))
    );

    let status = encode(
        &mut codec,
        21,
        Request::QueryOrder {
            order: OrderRef::ClientOrderId(inline("a").unwrap()),
            symbol,
        },
    );
    assert_eq!(status["method"], "order.status");
    assert_eq!(status["params"]["origClientOrderId"], "a");
    let decoded = decode_all(
        &mut codec,
        r#"{"id":21,"status":200,"result":{"symbol":"BTCUSDT","orderId":12569099453,"orderListId":-1,"clientOrderId":"a","price":"23416.10000000","origQty":"0.00847000","executedQty":"0.00200000","cummulativeQuoteQty":"46.83220000","status":"PARTIALLY_FILLED","timeInForce":"GTC","type":"LIMIT","side":"SELL","stopPrice":"0.00000000","time":1660801715639,"updateTime":1660801717945,"isWorking":true,"workingTime":1660801715639,"origQuoteOrderQty":"0.00000000","selfTradePreventionMode":"NONE"}}"#,
    );
    let [Event::OrderUpdate(update), Event::Response(response)] = decoded.list.as_slice() else {
        panic!("{:?}", decoded.list)
    };
    let update = &decoded.order_updates[*update];
    assert!(update.from_snapshot, "a status query reconciles");
    assert_eq!(update.status, OrderStatus::PartiallyFilled);
    assert_eq!(update.filled_qty.unwrap().to_string(), "0.00200000");
    assert_eq!(
        (response.req_id, response.method),
        (Some(21), Method::QueryOrder)
    );

    let depth = encode(&mut codec, 22, Request::BookSnapshot { symbol, limit: 5 });
    assert_eq!(
        depth,
        serde_json::json!({"id":22,"method":"depth","params":{"limit":5,"symbol":"BTCUSDT"}})
    );
    let mut events = Events::default();
    let mut reply = br#"{"id":22,"status":200,"result":{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":5}]}"#.to_vec();
    offline(WALL_NS)
        .decode(&mut codec, FrameKind::Text, &mut reply, &mut events)
        .unwrap();
    let Some(Event::Book(book)) = events.list.iter().find(|e| matches!(e, Event::Book(_))) else {
        panic!("{:?}", events.list)
    };
    assert_eq!(
        book.symbol.as_str(),
        "BTCUSDT",
        "the pair comes from the request"
    );
    assert!(book.snapshot);
    assert_eq!(book.sequence, Some(1_027_024));
    assert_eq!(
        events.levels[book.bids.clone()][0].qty.to_string(),
        "431.00000000"
    );
    assert_eq!(
        events.levels[book.asks.clone()][0].price.to_string(),
        "4.00000200"
    );
}

#[test]
fn session_logon_is_signed_with_ed25519_and_later_requests_go_unsigned() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let verifying = key.verifying_key();
    let mut codec = BinanceApi::new(Some(Credentials {
        api_key: Secret::new("ed-key"),
        signer: Signer::ed25519_from_bytes(&[7u8; 32]),
    }));
    let mut out = Vec::new();
    assert!(
        offline(1_649_729_878_532_000_000)
            .login(&mut codec, 1, &mut out)
            .unwrap()
    );
    let logon: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(logon["method"], "session.logon");
    assert_eq!(logon["params"]["apiKey"], "ed-key");
    assert_eq!(logon["params"]["timestamp"], 1_649_729_878_532u64);
    let signature = base64::engine::general_purpose::STANDARD
        .decode(logon["params"]["signature"].as_str().unwrap())
        .unwrap();
    let signature = Signature::from_slice(&signature).unwrap();
    verifying
        .verify(b"apiKey=ed-key&timestamp=1649729878532", &signature)
        .expect("the logon payload is signed");

    let events = decode(
        &mut codec,
        r#"{"id":1,"status":200,"result":{"apiKey":"ed-key","authorizedSince":1649729878532,"connectedSince":1649729873021,"returnRateLimits":false,"serverTime":1649729878630,"userDataStream":false}}"#,
    );
    assert!(
        matches!(&events[..], [Event::Response(r)] if r.ok && r.message.as_deref() == Some("session.logon"))
    );
    let place = encode(&mut codec, 2, Request::Place(&order("p")));
    assert!(place["params"].get("signature").is_none() && place["params"].get("apiKey").is_none());
    let user = encode(
        &mut codec,
        3,
        Request::Subscribe(&Subscription::Executions {
            snapshot_orders: false,
            snapshot_trades: false,
        }),
    );
    assert_eq!(
        user,
        serde_json::json!({"id":3,"method":"userDataStream.subscribe"})
    );

    // A refused logon turns signing back on.
    let mut out = Vec::new();
    offline(1_649_729_878_532_000_000)
        .login(&mut codec, 4, &mut out)
        .unwrap();
    decode(
        &mut codec,
        r#"{"id":4,"status":401,"error":{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}}"#,
    );
    let place = encode(&mut codec, 5, Request::Place(&order("q")));
    assert!(place["params"]["signature"].is_string());

    // HMAC keys cannot log on: no logon frame, every request signed.
    let mut hmac = hmac_codec();
    assert!(!offline(0).login(&mut hmac, 1, &mut Vec::new()).unwrap());
}

#[test]
fn server_shutdown_execution_reports_and_balances_are_pushed_events() {
    let mut codec = hmac_codec();
    let events = decode(
        &mut codec,
        r#"{"event":{"e":"serverShutdown","E":1770123456789}}"#,
    );
    assert_eq!(
        events,
        [Event::ServerShutdown {
            ts: Some(1_770_123_456_789_000_000)
        }]
    );
    let decoded = decode_all(
        &mut codec,
        r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":4293153,"l":"0.50000000","z":"0.50000000","L":"0.10264410","n":"0.00000500","N":"ETH","T":1499405658657,"t":718,"I":8641984,"w":true,"m":true,"M":false,"O":1499405658657,"Z":"0.05132205","Y":"0.05132205","Q":"0.00000000","W":1499405658657,"V":"NONE"}}"#,
    );
    let [Event::OrderUpdate(update), Event::Fill(fill)] = decoded.list.as_slice() else {
        panic!("{:?}", decoded.list)
    };
    let (update, fill) = (&decoded.order_updates[*update], &decoded.fills[*fill]);
    assert_eq!(update.status, OrderStatus::PartiallyFilled);
    assert_eq!(
        update.client_order_id.as_deref(),
        Some("mUvoqJxFIILMdfAW5iGSOW")
    );
    assert_eq!(
        (fill.trade_id.as_str(), fill.qty.to_string()),
        ("718", "0.50000000".to_owned())
    );
    assert_eq!(fill.fee_asset.as_deref(), Some("ETH"));
    // A cancel's report names the order in `C`.
    let decoded = decode_all(
        &mut codec,
        r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1,"s":"ETHBTC","c":"cancel-id","S":"BUY","o":"LIMIT","q":"1.00000000","p":"0.1","C":"orig-id","x":"CANCELED","X":"CANCELED","i":4293153,"l":"0","z":"0","L":"0","n":"0","N":null,"T":2,"t":-1,"m":false}}"#,
    );
    assert!(matches!(&decoded.list[..], [Event::OrderUpdate(_)]));
    let u = &decoded.order_updates[0];
    assert_eq!(u.client_order_id.as_deref(), Some("orig-id"));
    assert_eq!(u.status, OrderStatus::Canceled);
    let events = decode(
        &mut codec,
        r#"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[{"a":"ETH","f":"10000.000000","l":"0.000000"}]}}"#,
    );
    assert!(
        matches!(&events[..], [Event::Balance(b)] if b.asset.as_str() == "ETH" && b.free.to_string() == "10000.000000")
    );
    let ping = encode(&mut codec, 30, Request::Ping);
    assert_eq!(ping, serde_json::json!({"id":30,"method":"ping"}));
    let events = without_usage(decode(
        &mut codec,
        &format!(r#"{{"id":30,"status":200,"result":{{}},{RATE_LIMITS}}}"#),
    ));
    assert!(matches!(&events[..], [Event::Response(r)] if r.method == Method::Ping && r.ok));
}

#[test]
fn hostile_replies_are_errors_not_panics() {
    let mut codec = hmac_codec();
    for text in [
        r#"{"id":1,"status":200,"result":{"orderId":"#,
        r#"{"id":1,"status":"200"}"#,
        r#"{"id":1,"status":400,"error":{"code":"x"}}"#,
        r#"{"event":{"e":"executionReport","x":"TRADE","X":"FILLED","i":1}}"#,
        r#"{"event":{"e":"mystery"}}"#,
        r#"{"id":1,"status":200,"result":{"lastUpdateId":1,"bids":[[1]]}}"#,
        "[]",
        "",
    ] {
        let mut events = Events::default();
        let mut bytes = text.as_bytes().to_vec();
        assert!(
            offline(0)
                .decode(&mut codec, FrameKind::Text, &mut bytes, &mut events)
                .is_err(),
            "{text}"
        );
    }
}

#[test]
fn market_and_maker_orders_and_the_result_reply_shape() {
    let mut codec = hmac_codec();
    codec.writer_mut().response_type = Some(ResponseType::Result);
    let mut market = order("m1");
    market.kind = OrderKind::Market;
    market.price = None;
    let request = encode(&mut codec, 3, Request::Place(&market));
    let params = &request["params"];
    assert_eq!(params["type"], "MARKET");
    assert_eq!(params["newOrderRespType"], "RESULT");
    assert!(params.get("price").is_none() && params.get("timeInForce").is_none());
    let mut maker = order("m2");
    maker.post_only = true;
    let request = encode(&mut codec, 4, Request::Place(&maker));
    assert_eq!(request["params"]["type"], "LIMIT_MAKER");
    assert!(
        request["params"].get("timeInForce").is_none(),
        "LIMIT_MAKER takes no timeInForce"
    );
    let mut ioc = order("m3");
    ioc.time_in_force = TimeInForce::ImmediateOrCancel;
    assert_eq!(
        encode(&mut codec, 5, Request::Place(&ioc))["params"]["timeInForce"],
        "IOC"
    );
    let decoded = decode_all(
        &mut codec,
        r#"{"id":3,"status":200,"result":{"symbol":"BTCUSDT","orderId":12569099455,"orderListId":-1,"clientOrderId":"m1","transactTime":1660801715639,"price":"0.00000000","origQty":"0.00847000","executedQty":"0.00400000","cummulativeQuoteQty":"93.66440000","status":"EXPIRED","timeInForce":"GTC","type":"MARKET","side":"SELL","workingTime":1660801715639,"selfTradePreventionMode":"NONE"}}"#,
    );
    let [Event::OrderAck(ack), Event::OrderUpdate(update)] = decoded.list.as_slice() else {
        panic!("{:?}", decoded.list)
    };
    let update = &decoded.order_updates[*update];
    assert_eq!(ack.client_order_id.as_deref(), Some("m1"));
    assert_eq!(update.status, OrderStatus::Expired);
    assert_eq!(update.filled_qty.unwrap().to_string(), "0.00400000");
}

const REFUSED_LOGON: &str = r#"{"id":1,"status":401,"error":{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}}"#;

fn ed25519_codec() -> BinanceApi {
    BinanceApi::new(Some(Credentials {
        api_key: Secret::new("ed-key"),
        signer: Signer::ed25519_from_bytes(&[7u8; 32]),
    }))
}

/// Split (`Venue::split`), a depth reply gets its pair from the request's
/// note, as the whole codec gets it from its in-flight table.
#[test]
fn split_a_depth_reply_gets_its_pair_from_the_request_note() {
    use orderwire_protocol::venue::Venue;
    let reply = r#"{"id":22,"status":200,"result":{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}}"#;
    let request = || Request::BookSnapshot {
        symbol: inline("BTCUSDT").unwrap(),
        limit: 5,
    };
    let mut whole = hmac_codec();
    encode(&mut whole, 22, request());
    let expected = decode(&mut whole, reply);
    assert!(
        expected
            .iter()
            .any(|e| matches!(e, Event::Book(b) if b.symbol.as_str() == "BTCUSDT"))
    );
    let mut encoder = hmac_codec();
    let mut decoder = encoder.split().expect("Binance splits");
    encode(&mut encoder, 22, request());
    assert_eq!(Offline::pass_notes(&mut encoder, &mut decoder), 1);
    assert_eq!(decode(&mut decoder, reply), expected);
}

/// Split, a refused logon goes back to the encoder and signing resumes.
#[test]
fn split_a_refused_logon_reaches_the_encoder_and_signing_resumes() {
    use orderwire_protocol::venue::Venue;
    let mut encoder = ed25519_codec();
    let mut decoder = encoder.split().unwrap();
    assert!(offline(0).login(&mut encoder, 1, &mut Vec::new()).unwrap());
    let unsigned = encode(&mut encoder, 2, Request::Place(&order("a")));
    assert!(unsigned["params"].get("signature").is_none());
    assert_eq!(Offline::pass_notes(&mut encoder, &mut decoder), 2);
    let events = decode(&mut decoder, REFUSED_LOGON);
    assert!(
        matches!(&events[..], [Event::Response(r)] if !r.ok),
        "{events:?}"
    );
    assert_eq!(Offline::pass_notes(&mut decoder, &mut encoder), 1);
    let signed = encode(&mut encoder, 3, Request::Place(&order("b")));
    assert!(signed["params"]["signature"].is_string());
}

/// Split, the refusal of a logon the reactor has since replaced leaves
/// the new session logged on.
#[test]
fn split_a_refused_logon_of_a_replaced_connection_leaves_the_new_session_alone() {
    use orderwire_protocol::venue::Venue;
    let mut encoder = ed25519_codec();
    let mut decoder = encoder.split().unwrap();
    assert!(offline(0).login(&mut encoder, 1, &mut Vec::new()).unwrap());
    Offline::pass_notes(&mut encoder, &mut decoder);
    // The reactor reconnects and logs on again before the poller reads the
    // old connection's refusal.
    encoder.reset();
    assert!(offline(0).login(&mut encoder, 2, &mut Vec::new()).unwrap());
    decode(&mut decoder, REFUSED_LOGON);
    assert_eq!(Offline::pass_notes(&mut decoder, &mut encoder), 1);
    let unsigned = encode(&mut encoder, 3, Request::Place(&order("c")));
    assert!(
        unsigned["params"].get("signature").is_none(),
        "the new session stays logged on: {unsigned}"
    );
}
