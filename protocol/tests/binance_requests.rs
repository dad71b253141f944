//! Binance WebSocket API requests against ../shared/venues/binance.md: the
//! documented signing vector, reproduced through the encoder.

use orderwire_protocol::model::{
    AmendOrder, CancelOrders, NewOrder, OrderKind, OrderRef, Request, Side, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::EncodeError;
use orderwire_protocol::venue::binance::{Credentials, RequestWriter, Signer};

const API_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

fn writer() -> RequestWriter {
    let mut writer = RequestWriter::new(Some(Credentials {
        api_key: Secret::new(API_KEY),
        signer: Signer::Hmac(Secret::new(SECRET)),
    }));
    writer.recv_window_ms = 100;
    writer.set_wall_clock(1_645_423_376_532_000_000);
    writer
}

fn sell() -> NewOrder {
    NewOrder {
        client_order_id: inline("").unwrap(),
        symbol: inline("BTCUSDT").unwrap(),
        side: Side::Sell,
        kind: OrderKind::Limit,
        price: Some("52000.00".parse().unwrap()),
        qty: "0.01000000".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

fn encode(writer: &mut RequestWriter, request: Request<'_>) -> serde_json::Value {
    let mut out = Vec::new();
    writer.encode(7, &request, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn order_place_is_signed_exactly_as_the_documented_vector() {
    let value = encode(&mut writer(), Request::Place(&sell()));
    assert_eq!(value["id"], 7);
    assert_eq!(value["method"], "order.place");
    let params = &value["params"];
    assert_eq!(
        params["price"], "52000.00",
        "decimals go as strings, exactly"
    );
    assert_eq!(params["quantity"], "0.01000000");
    assert_eq!(params["timestamp"], 1_645_423_376_532u64);
    assert_eq!(params["recvWindow"], 100);
    assert_eq!(
        (
            params["side"].as_str(),
            params["type"].as_str(),
            params["timeInForce"].as_str()
        ),
        (Some("SELL"), Some("LIMIT"), Some("GTC"))
    );
    assert_eq!(
        params["signature"],
        "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    );
}

#[test]
fn after_logon_requests_go_unsigned_and_cancels_and_amends_name_the_pair() {
    let mut writer = writer();
    writer.logged_on = true;
    let value = encode(&mut writer, Request::Place(&sell()));
    assert!(value["params"].get("apiKey").is_none() && value["params"].get("signature").is_none());
    assert_eq!(
        value["params"]["timestamp"], 1_645_423_376_532u64,
        "the timestamp stays"
    );
    let cancel = CancelOrders {
        symbol: inline("BTCUSDT"),
        orders: vec![OrderRef::ClientOrderId(
            inline("4d96324ff9d44481926157ec08158a40").unwrap(),
        )],
    };
    let value = encode(&mut writer, Request::Cancel(&cancel));
    assert_eq!(value["method"], "order.cancel");
    assert_eq!(
        value["params"]["origClientOrderId"],
        "4d96324ff9d44481926157ec08158a40"
    );
    let amend = AmendOrder {
        symbol: inline("BTCUSDT"),
        order: OrderRef::OrderId(inline("12569099453").unwrap()),
        price: None,
        qty: Some("0.005".parse().unwrap()),
    };
    let value = encode(&mut writer, Request::Amend(&amend));
    assert_eq!(value["method"], "order.amend.keepPriority");
    assert_eq!(value["params"]["orderId"], 12_569_099_453u64);
    assert_eq!(value["params"]["newQty"], "0.005");
    assert_eq!(
        encode(&mut writer, Request::Ping),
        serde_json::json!({"id": 7, "method": "ping"})
    );
}

#[test]
fn what_binance_cannot_take_is_refused_and_nothing_is_written() {
    let mut writer = writer();
    let mut out = b"keep".to_vec();
    let no_symbol = CancelOrders {
        symbol: None,
        orders: vec![OrderRef::OrderId(inline("1").unwrap())],
    };
    let two = CancelOrders {
        symbol: inline("BTCUSDT"),
        orders: vec![
            OrderRef::OrderId(inline("1").unwrap()),
            OrderRef::OrderId(inline("2").unwrap()),
        ],
    };
    let not_numeric = CancelOrders {
        symbol: inline("BTCUSDT"),
        orders: vec![OrderRef::OrderId(inline("OK4GJX").unwrap())],
    };
    let mut slash = sell();
    slash.symbol = inline("BTC/USD").unwrap();
    for request in [
        Request::Cancel(&no_symbol),
        Request::Cancel(&two),
        Request::Cancel(&not_numeric),
        Request::Place(&slash),
        Request::CancelAll { symbol: None },
    ] {
        assert!(writer.encode(1, &request, &mut out).is_err(), "{request:?}");
    }
    assert_eq!(out, b"keep");
    let mut public = RequestWriter::new(None);
    assert_eq!(
        public.encode(1, &Request::Place(&sell()), &mut out),
        Err(EncodeError::NoCredentials)
    );
    assert!(!format!("{writer:?}").contains(SECRET) && !format!("{writer:?}").contains(API_KEY));
}
