//! DigiFinex's messages, as the mock writes them (digifinex.md "Requests",
//! "Pushes", "Private"), and the zlib wrapping of data frames.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;

use super::OrderRecord;
use crate::mock::market::Print;

/// zlib (RFC 1950: `78 9c`, Adler-32 trailer) of `text`, as DigiFinex's
/// binary frames carry it.
pub(super) fn zlib(text: &str) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().unwrap_or_default()
}

fn id_text(id: Option<u64>) -> String {
    id.map_or_else(|| "null".to_owned(), |id| id.to_string())
}

/// `{"error":null,"result":<result>,"id":N}`; `result` is JSON.
pub(super) fn reply(id: Option<u64>, result: &str) -> String {
    format!(r#"{{"error":null,"result":{result},"id":{}}}"#, id_text(id))
}

/// The subscribe, unsubscribe and auth acknowledgement.
pub(super) fn success(id: Option<u64>) -> String {
    reply(id, r#"{"status":"success"}"#)
}

/// `{"error":"..","result":null,"id":N}`: the form DigiFinex's v3 docs
/// type on every reply ("error string: error msg, null if success"); they
/// document no error codes, and no example of one. (Third-party clients
/// model an object `{"code","message"}`; the codec reads either.)
pub(super) fn error(id: Option<u64>, message: &str) -> String {
    let message = serde_json::Value::String(message.to_owned());
    format!(
        r#"{{"error":{message},"result":null,"id":{}}}"#,
        id_text(id)
    )
}

fn side_text(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// `1523339279.761000`: seconds with six fraction digits, as the docs'
/// example.
fn seconds(ts_ms: u64) -> String {
    format!("{}.{:06}", ts_ms / 1_000, (ts_ms % 1_000) * 1_000)
}

/// `trades.update`, newest first (as clients observe it).
pub(super) fn trades(clean: bool, market: &str, prints: &[&Print]) -> String {
    let list: Vec<String> = prints
        .iter()
        .rev()
        .map(|p| {
            format!(
                r#"{{"id":{},"time":{},"price":"{}","amount":"{}","type":"{}"}}"#,
                p.id,
                seconds(p.ts_ms),
                p.price,
                p.qty,
                side_text(p.taker)
            )
        })
        .collect();
    format!(
        r#"{{"method":"trades.update","params":[{clean},[{}],"{market}"],"id":null}}"#,
        list.join(",")
    )
}

fn levels(levels: &[(Decimal, Decimal)]) -> String {
    let text: Vec<String> = levels
        .iter()
        .map(|(price, qty)| format!(r#"["{price}","{qty}"]"#))
        .collect();
    text.join(",")
}

/// `depth.update`: both sides highest price first (asks too, as clients
/// observe it); in an incremental one, amount `0` removes a level.
pub(super) fn depth(
    clean: bool,
    market: &str,
    asks: &[(Decimal, Decimal)],
    bids: &[(Decimal, Decimal)],
) -> String {
    let mut asks = asks.to_vec();
    asks.sort_by_key(|level| std::cmp::Reverse(level.0));
    let mut bids = bids.to_vec();
    bids.sort_by_key(|level| std::cmp::Reverse(level.0));
    format!(
        r#"{{"method":"depth.update","params":[{clean},{{"asks":[{}],"bids":[{}]}},"{market}"],"id":null}}"#,
        levels(&asks),
        levels(&bids)
    )
}

/// One market's figures for `ticker.update` and `all_ticker.update`.
#[derive(Clone, Debug)]
pub(super) struct TickerFigures {
    pub(super) market: String,
    pub(super) last: Decimal,
    pub(super) volume: Decimal,
    pub(super) best_bid: (Decimal, Decimal),
    pub(super) best_ask: (Decimal, Decimal),
    pub(super) ts_ms: u64,
}

fn ticker_object(t: &TickerFigures) -> String {
    // The mock's day starts with it: open and low are its mid, high the
    // last; quote volume is not tracked.
    format!(
        concat!(
            r#"{{"symbol":"{}","open_24h":"{}","high_24h":"{}","low_24h":"{}","#,
            r#""base_volume_24h":"{}","quote_volume_24h":"0","last":"{}","last_qty":"0","#,
            r#""best_bid":"{}","best_bid_size":"{}","best_ask":"{}","best_ask_size":"{}","#,
            r#""timestamp":{}}}"#
        ),
        t.market,
        t.last,
        t.last,
        t.last,
        t.volume,
        t.last,
        t.best_bid.0,
        t.best_bid.1,
        t.best_ask.0,
        t.best_ask.1,
        t.ts_ms
    )
}

/// `ticker.update` (one market) or `all_ticker.update` (several).
pub(super) fn ticker(method: &str, figures: &[TickerFigures]) -> String {
    let objects: Vec<String> = figures.iter().map(ticker_object).collect();
    format!(
        r#"{{"method":"{method}","params":[{}],"id":null}}"#,
        objects.join(",")
    )
}

/// `order.update`: `filled` is the base quantity filled so far,
/// `notional` its quote value and `price_avg` their ratio.
pub(super) fn order(record: &OrderRecord) -> String {
    let price_avg = divide(record.notional, record.filled).unwrap_or(Decimal::ZERO);
    format!(
        concat!(
            r#"{{"method":"order.update","params":[{{"amount":"{}","filled":"{}","id":"{}","#,
            r#""mode":1,"notional":"{}","price":"{}","price_avg":"{}","side":"{}","#,
            r#""status":{},"symbol":"{}","timestamp":{},"type":"limit"}}],"id":null}}"#
        ),
        record.amount,
        record.filled,
        record.id,
        record.notional,
        record.price,
        price_avg,
        side_text(record.side),
        record.status,
        record.symbol,
        record.ts_ms
    )
}

/// `balance.update` with one object per currency: free, used and total.
pub(super) fn balance(changes: &[(String, Decimal, Decimal)]) -> String {
    let objects: Vec<String> = changes
        .iter()
        .map(|(currency, free, used)| {
            let total = free.checked_add(*used).unwrap_or(*free);
            format!(
                r#"{{"currency":"{currency}","free":"{free}","total":"{total}","used":"{used}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"method":"balance.update","params":[{}],"id":null}}"#,
        objects.join(",")
    )
}

/// `a / b` to eight decimals (truncated); None for a zero `b`.
fn divide(a: Decimal, b: Decimal) -> Option<Decimal> {
    if b.is_zero() {
        return None;
    }
    // a = ma / 10^sa, b = mb / 10^sb: a / b * 10^8 = ma * 10^(8 + sb - sa) / mb.
    let shift = 8 + i32::from(b.scale()) - i32::from(a.scale());
    let mut numerator = a.mantissa();
    let mut denominator = b.mantissa();
    if shift >= 0 {
        numerator = numerator.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)?;
    } else {
        denominator = denominator.checked_mul(10i128.checked_pow(u32::try_from(-shift).ok()?)?)?;
    }
    Decimal::new(numerator / denominator, 8).map(Decimal::normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_avg_is_the_exact_ratio_to_eight_places() {
        let dec = |t: &str| t.parse::<Decimal>().unwrap_or(Decimal::ZERO);
        assert_eq!(divide(dec("9669.93"), dec("0.9969")), Some(dec("9700")));
        assert_eq!(divide(dec("1"), dec("3")), Some(dec("0.33333333")));
        assert_eq!(divide(dec("1"), Decimal::ZERO), None);
    }

    #[test]
    fn a_data_frame_is_zlib_with_its_header() {
        let frame = zlib(r#"{"a":1}"#);
        assert_eq!(&frame[..2], &[0x78, 0x9c]);
    }
}
