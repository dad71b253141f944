//! The mock's messages, in the connection's format: DEFAULT or SIMPLE keys,
//! one object per frame, or (the `_LIST` formats) an array of exactly one
//! object per frame (the mock's choice: upbit.md leaves the count open).

use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::upbit::Format;

use super::OrderRecord;
use crate::mock::market::Print;

/// A key in the connection's format.
fn k(format: Format, default: &'static str, simple: &'static str) -> &'static str {
    match format {
        Format::Simple | Format::SimpleList => simple,
        _ => default,
    }
}

/// Wraps an object for the list formats.
pub(super) fn frame(format: Format, object: String) -> Vec<u8> {
    match format {
        Format::JsonList | Format::SimpleList => format!("[{object}]").into_bytes(),
        _ => object.into_bytes(),
    }
}

fn stream(snapshot: bool) -> &'static str {
    if snapshot { "SNAPSHOT" } else { "REALTIME" }
}

/// Upbit's `sequential_id` is unique per trade: the mock makes it from
/// the trade's ms and the tape's count.
pub(super) fn trade(format: Format, trade: &Print, snapshot: bool) -> String {
    let f = format;
    format!(
        r#"{{"{}":"trade","{}":"{}","{}":{},"{}":{},"{}":{},"{}":{},"{}":"{}","{}":{},"{}":"{}"}}"#,
        k(f, "type", "ty"),
        k(f, "code", "cd"),
        trade.market,
        k(f, "timestamp", "tms"),
        trade.ts_ms,
        k(f, "trade_timestamp", "ttms"),
        trade.ts_ms,
        k(f, "trade_price", "tp"),
        trade.price,
        k(f, "trade_volume", "tv"),
        trade.qty,
        k(f, "ask_bid", "ab"),
        ask_bid(trade.taker),
        k(f, "sequential_id", "sid"),
        trade.ts_ms * 10_000 + trade.id % 10_000,
        k(f, "stream_type", "st"),
        stream(snapshot)
    )
}

pub(super) fn ticker(
    format: Format,
    market: &str,
    last: Decimal,
    volume: Decimal,
    ts_ms: u64,
    snapshot: bool,
) -> String {
    let f = format;
    format!(
        r#"{{"{}":"ticker","{}":"{market}","{}":{last},"{}":{volume},"{}":{ts_ms},"{}":"ACTIVE","{}":"{}"}}"#,
        k(f, "type", "ty"),
        k(f, "code", "cd"),
        k(f, "trade_price", "tp"),
        k(f, "acc_trade_volume_24h", "atv24h"),
        k(f, "timestamp", "tms"),
        k(f, "market_state", "ms"),
        k(f, "stream_type", "st"),
        stream(snapshot)
    )
}

pub(super) fn orderbook(
    format: Format,
    market: &str,
    asks: &[(Decimal, Decimal)],
    bids: &[(Decimal, Decimal)],
    ts_ms: u64,
    snapshot: bool,
) -> String {
    let f = format;
    // One unit per level of the longer side; a side that is shorter fills
    // the rest of its halves with zeros.
    let none = (Decimal::ZERO, Decimal::ZERO);
    let units: Vec<String> = (0..asks.len().max(bids.len()))
        .map(|i| (asks.get(i).unwrap_or(&none), bids.get(i).unwrap_or(&none)))
        .map(|(ask, bid)| {
            format!(
                r#"{{"{}":{},"{}":{},"{}":{},"{}":{}}}"#,
                k(f, "ask_price", "ap"),
                ask.0,
                k(f, "bid_price", "bp"),
                bid.0,
                k(f, "ask_size", "as"),
                ask.1,
                k(f, "bid_size", "bs"),
                bid.1
            )
        })
        .collect();
    let total = |levels: &[(Decimal, Decimal)]| {
        levels
            .iter()
            .fold(Decimal::ZERO, |sum, l| sum.checked_add(l.1).unwrap_or(sum))
    };
    format!(
        r#"{{"{}":"orderbook","{}":"{market}","{}":{ts_ms},"{}":{},"{}":{},"{}":[{}],"{}":"{}","{}":0}}"#,
        k(f, "type", "ty"),
        k(f, "code", "cd"),
        k(f, "timestamp", "tms"),
        k(f, "total_ask_size", "tas"),
        total(asks),
        k(f, "total_bid_size", "tbs"),
        total(bids),
        k(f, "orderbook_units", "obu"),
        units.join(","),
        k(f, "stream_type", "st"),
        stream(snapshot),
        k(f, "level", "lv"),
    )
}

pub(super) fn my_order(format: Format, order: &OrderRecord) -> String {
    let f = format;
    let (trade_uuid, trade_fee, is_maker) = match &order.trade {
        Some((uuid, qty, maker)) => {
            // 0.05 % of the fill's value, in the quote currency.
            let fee = order
                .price
                .checked_mul(*qty)
                .and_then(|v| v.checked_mul(Decimal::new(5, 4).unwrap_or(Decimal::ZERO)))
                .unwrap_or(Decimal::ZERO);
            (format!(r#""{uuid}""#), fee.to_string(), maker.to_string())
        }
        None => ("null".to_owned(), "null".to_owned(), "null".to_owned()),
    };
    format!(
        r#"{{"{}":"myOrder","{}":"{}","{}":"{}","{}":"{}","{}":"limit","{}":"{}","{}":{trade_uuid},"{}":{},"{}":{},"{}":{},"{}":{},"{}":{trade_fee},"{}":{is_maker},"{}":"{}","{}":{},"{}":{},"{}":"REALTIME"}}"#,
        k(f, "type", "ty"),
        k(f, "code", "cd"),
        order.market,
        k(f, "uuid", "uid"),
        order.uuid,
        k(f, "ask_bid", "ab"),
        order.ask_bid,
        k(f, "order_type", "ot"),
        k(f, "state", "s"),
        order.state,
        k(f, "trade_uuid", "tuid"),
        k(f, "price", "p"),
        order.price,
        k(f, "volume", "v"),
        order.volume,
        k(f, "remaining_volume", "rv"),
        order.remaining,
        k(f, "executed_volume", "ev"),
        order.executed,
        k(f, "trade_fee", "tf"),
        k(f, "is_maker", "im"),
        k(f, "identifier", "id"),
        order.identifier,
        k(f, "trade_timestamp", "ttms"),
        order.ts_ms,
        k(f, "timestamp", "tms"),
        order.ts_ms,
        k(f, "stream_type", "st"),
    )
}

pub(super) fn my_asset(
    format: Format,
    currency: &str,
    balance: Decimal,
    locked: Decimal,
    ts_ms: u64,
) -> String {
    let f = format;
    format!(
        r#"{{"{}":"myAsset","{}":"mock-asset","{}":[{{"{}":"{currency}","{}":{balance},"{}":{locked}}}],"{}":{ts_ms},"{}":{ts_ms},"{}":"REALTIME"}}"#,
        k(f, "type", "ty"),
        k(f, "asset_uuid", "astuid"),
        k(f, "assets", "ast"),
        k(f, "currency", "cu"),
        k(f, "balance", "b"),
        k(f, "locked", "l"),
        k(f, "asset_timestamp", "asttms"),
        k(f, "timestamp", "tms"),
        k(f, "stream_type", "st"),
    )
}

/// The LIST_SUBSCRIPTIONS answer (SIMPLE keys: mthd, rslt, ty, cds, lv,
/// tckt).
pub(super) fn list_subscriptions(
    format: Format,
    ticket: &str,
    subscriptions: &[(&'static str, Vec<String>)],
) -> String {
    let f = format;
    let result: Vec<String> = subscriptions
        .iter()
        .map(|(kind, codes)| {
            let codes: Vec<String> = codes.iter().map(|c| format!("{c:?}")).collect();
            let level = if *kind == "orderbook" {
                format!(r#","{}":0"#, k(f, "level", "lv"))
            } else {
                String::new()
            };
            format!(
                r#"{{"{}":"{kind}","{}":[{}]{level}}}"#,
                k(f, "type", "ty"),
                k(f, "codes", "cds"),
                codes.join(",")
            )
        })
        .collect();
    format!(
        r#"{{"{}":"LIST_SUBSCRIPTIONS","{}":[{}],"{}":"{ticket}"}}"#,
        k(f, "method", "mthd"),
        k(f, "result", "rslt"),
        result.join(","),
        k(f, "ticket", "tckt"),
    )
}

pub(super) fn error(name: &str, message: &str) -> String {
    format!(r#"{{"error":{{"name":"{name}","message":"{message}"}}}}"#)
}

/// BID for a buy.
pub(super) fn ask_bid(side: Side) -> &'static str {
    if side == Side::Buy { "BID" } else { "ASK" }
}
