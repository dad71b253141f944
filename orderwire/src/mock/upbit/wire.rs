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

/// A myOrder push with every field Upbit's page lists, null included (the
/// SMP guide: "sent even when null"): fees at the mock's 0.05 %, a limit
/// order's `locked` as the funds and fee reserved (a bid) or the volume
/// held (an ask), no time in force and no self-trade prevention.
pub(super) fn my_order(format: Format, order: &OrderRecord) -> String {
    let f = format;
    let rate = Decimal::new(5, 4).unwrap_or(Decimal::ZERO);
    let fee_on = |value: Decimal| value.checked_mul(rate).unwrap_or(Decimal::ZERO);
    let (trade_uuid, trade_fee, is_maker) = match &order.trade {
        Some((uuid, qty, maker)) => {
            let fee = fee_on(order.price.checked_mul(*qty).unwrap_or(Decimal::ZERO));
            (format!(r#""{uuid}""#), fee.to_string(), maker.to_string())
        }
        None => ("null".to_owned(), "null".to_owned(), "null".to_owned()),
    };
    let avg_price = if order.executed.is_zero() {
        Decimal::ZERO
    } else {
        order
            .funds
            .checked_div_rounded(order.executed, 8)
            .unwrap_or(Decimal::ZERO)
    };
    let reserved_fee = fee_on(
        order
            .limit
            .checked_mul(order.ordered)
            .unwrap_or(Decimal::ZERO),
    );
    let paid_fee = fee_on(order.funds);
    let remaining_fee = reserved_fee.checked_sub(paid_fee).unwrap_or(Decimal::ZERO);
    let locked = if order.ask_bid == "BID" {
        order
            .limit
            .checked_mul(order.remaining)
            .and_then(|value| value.checked_add(remaining_fee))
            .unwrap_or(Decimal::ZERO)
    } else {
        order.remaining
    };
    let fields: [(&str, &str, String); 29] = [
        ("type", "ty", r#""myOrder""#.to_owned()),
        ("code", "cd", format!(r#""{}""#, order.market)),
        ("uuid", "uid", format!(r#""{}""#, order.uuid)),
        ("ask_bid", "ab", format!(r#""{}""#, order.ask_bid)),
        ("order_type", "ot", r#""limit""#.to_owned()),
        ("state", "s", format!(r#""{}""#, order.state)),
        ("trade_uuid", "tuid", trade_uuid),
        ("price", "p", order.price.to_string()),
        ("avg_price", "ap", avg_price.to_string()),
        ("volume", "v", order.volume.to_string()),
        ("remaining_volume", "rv", order.remaining.to_string()),
        ("executed_volume", "ev", order.executed.to_string()),
        ("trades_count", "tc", order.trades.to_string()),
        ("reserved_fee", "rsf", reserved_fee.to_string()),
        ("remaining_fee", "rmf", remaining_fee.to_string()),
        ("paid_fee", "pf", paid_fee.to_string()),
        ("locked", "l", locked.to_string()),
        ("executed_funds", "ef", order.funds.to_string()),
        ("time_in_force", "tif", "null".to_owned()),
        ("trade_fee", "tf", trade_fee),
        ("is_maker", "im", is_maker),
        ("identifier", "id", format!(r#""{}""#, order.identifier)),
        ("smp_type", "smpt", "null".to_owned()),
        ("prevented_volume", "pv", "0".to_owned()),
        ("prevented_locked", "pl", "0".to_owned()),
        ("trade_timestamp", "ttms", order.ts_ms.to_string()),
        ("order_timestamp", "otms", order.ts_ms.to_string()),
        ("timestamp", "tms", order.ts_ms.to_string()),
        ("stream_type", "st", r#""REALTIME""#.to_owned()),
    ];
    let body: Vec<String> = fields
        .iter()
        .map(|(default, simple, value)| format!(r#""{}":{value}"#, k(f, default, simple)))
        .collect();
    format!("{{{}}}", body.join(","))
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
