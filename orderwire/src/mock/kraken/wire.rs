//! Kraken messages as the mock reads and writes them (kraken.md).

use std::collections::HashMap;

use orderwire_protocol::json::{Kind, Scanner};
use orderwire_protocol::model::write_json_string;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::wallclock::write_rfc3339_micros;

use crate::mock::matching::Resting;

/// A request: method, req_id and the raw text of each parameter.
#[derive(Debug, Default)]
pub struct Req {
    /// `method`.
    pub method: String,
    /// `req_id`, if sent.
    pub req_id: Option<u64>,
    params: HashMap<String, Vec<u8>>,
}

impl Req {
    /// Parses a request; `None` if it is not a JSON object with a method.
    pub fn parse(text: &str) -> Option<Req> {
        let mut scanner = Scanner::new(text.as_bytes());
        let mut req = Req::default();
        scanner.begin_object().ok()?;
        while let Some(key) = scanner.next_key().ok()? {
            match key.raw {
                b"method" => req.method = scanner.string().ok()?.plain()?.to_owned(),
                b"req_id" => {
                    req.req_id = std::str::from_utf8(scanner.number().ok()?)
                        .ok()?
                        .parse()
                        .ok()
                }
                b"params" => {
                    scanner.begin_object().ok()?;
                    while let Some(name) = scanner.next_key().ok()? {
                        let name = name.plain()?.to_owned();
                        let raw = scanner.skip_value().ok()?.to_vec();
                        req.params.insert(name, raw);
                    }
                }
                _ => {
                    scanner.skip_value().ok()?;
                }
            }
        }
        scanner.finish().ok()?;
        (!req.method.is_empty()).then_some(req)
    }

    /// A string parameter.
    pub fn str(&self, name: &str) -> Option<String> {
        let raw = self.params.get(name)?;
        Scanner::new(raw).string().ok().map(|s| s.unescape())
    }

    /// A decimal parameter (a JSON number, exact).
    pub fn dec(&self, name: &str) -> Option<Decimal> {
        let raw = self.params.get(name)?;
        let mut scanner = Scanner::new(raw);
        let text = match scanner.kind().ok()? {
            Kind::String => scanner.string().ok()?.raw,
            _ => scanner.number().ok()?,
        };
        Decimal::parse(text).ok()
    }

    /// An unsigned parameter.
    pub fn u64(&self, name: &str) -> Option<u64> {
        std::str::from_utf8(self.params.get(name)?)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// A boolean parameter.
    pub fn bool(&self, name: &str) -> Option<bool> {
        Scanner::new(self.params.get(name)?).boolean().ok()
    }

    /// An array of strings (also accepts a single string).
    pub fn strs(&self, name: &str) -> Option<Vec<String>> {
        let raw = self.params.get(name)?;
        let mut scanner = Scanner::new(raw);
        if scanner.kind().ok()? == Kind::String {
            return Some(vec![scanner.string().ok()?.unescape()]);
        }
        let mut out = Vec::new();
        scanner.begin_array().ok()?;
        while scanner.next_element().ok()? {
            out.push(scanner.string().ok()?.unescape());
        }
        Some(out)
    }

    /// Raw objects of an array parameter (batch_add's `orders`).
    pub fn objects(&self, name: &str) -> Option<Vec<Req>> {
        let raw = self.params.get(name)?;
        let mut scanner = Scanner::new(raw);
        let mut out = Vec::new();
        scanner.begin_array().ok()?;
        while scanner.next_element().ok()? {
            let object = scanner.skip_value().ok()?;
            let text = format!(
                r#"{{"method":"order","params":{}}}"#,
                std::str::from_utf8(object).ok()?
            );
            out.push(Req::parse(&text)?);
        }
        Some(out)
    }

    /// Whether a parameter is present.
    pub fn has(&self, name: &str) -> bool {
        self.params.contains_key(name)
    }
}

/// A wall-clock time (ns since the epoch) as Kraken writes it.
pub fn time_text(wall_ns: i64) -> String {
    let mut out = Vec::new();
    write_rfc3339_micros(wall_ns, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// `"name":"text"` with JSON escaping.
pub fn quoted(text: &str) -> String {
    let mut out = Vec::new();
    write_json_string(text, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// A success response with a `result` object text.
pub fn success(
    method: &str,
    req_id: Option<u64>,
    result: &str,
    time_in: &str,
    wall_ns: i64,
) -> String {
    let req = req_id.map_or(String::new(), |id| format!(r#","req_id":{id}"#));
    format!(
        r#"{{"method":"{method}"{req},"result":{result},"success":true,"time_in":"{time_in}","time_out":"{}"}}"#,
        time_text(wall_ns)
    )
}

/// A failure response.
pub fn failure(
    method: &str,
    req_id: Option<u64>,
    error: &str,
    time_in: &str,
    wall_ns: i64,
) -> String {
    let req = req_id.map_or(String::new(), |id| format!(r#","req_id":{id}"#));
    format!(
        r#"{{"method":"{method}"{req},"success":false,"error":{},"time_in":"{time_in}","time_out":"{}"}}"#,
        quoted(error),
        time_text(wall_ns)
    )
}

/// Price text at the pair's precision (1 decimal for BTC/USD).
pub fn price_text(price: Decimal) -> String {
    price.rescaled(1).unwrap_or(price).to_string()
}

/// Quantity text at 8 decimals, as Kraken sends book quantities.
pub fn qty_text(qty: Decimal) -> String {
    qty.rescaled(8).unwrap_or(qty).to_string()
}

/// The book checksum from the level texts, computed the way kraken.md
/// describes it (string form, independent of the codec's implementation).
pub fn checksum(asks: &[(Decimal, Decimal)], bids: &[(Decimal, Decimal)]) -> u32 {
    let mut text = String::new();
    for (price, qty) in asks.iter().take(10).chain(bids.iter().take(10)) {
        for field in [price_text(*price), qty_text(*qty)] {
            let digits: String = field.chars().filter(|c| *c != '.').collect();
            text.push_str(digits.trim_start_matches('0'));
        }
    }
    crc32fast::hash(text.as_bytes())
}

/// `[{"price":..,"qty":..}, ...]`.
pub fn levels_json(levels: &[(Decimal, Decimal)]) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, q)| format!(r#"{{"price":{},"qty":{}}}"#, price_text(*p), qty_text(*q)))
        .collect();
    format!("[{}]", items.join(","))
}

/// One book message (snapshot or update).
pub fn book_message(
    kind: &str,
    symbol: &str,
    bids: &[(Decimal, Decimal)],
    asks: &[(Decimal, Decimal)],
    checksum: u32,
    wall_ns: i64,
) -> String {
    format!(
        r#"{{"channel":"book","type":"{kind}","data":[{{"symbol":{},"bids":{},"asks":{},"checksum":{checksum},"timestamp":"{}"}}]}}"#,
        quoted(symbol),
        levels_json(bids),
        levels_json(asks),
        time_text(wall_ns)
    )
}

/// The full description of an order, as the first executions message and
/// the snapshot give it.
pub fn order_fields(order: &Resting, status: &str, exec_type: &str, wall_ns: i64) -> String {
    let cl = if order.cl_ord_id.is_empty() {
        String::new()
    } else {
        format!(r#","cl_ord_id":{}"#, quoted(&order.cl_ord_id))
    };
    format!(
        r#"{{"order_id":"{}"{cl},"symbol":{},"side":"{}","order_type":"limit","order_qty":{},"limit_price":{},"cum_qty":{},"time_in_force":"GTC","exec_type":"{exec_type}","order_status":"{status}","timestamp":"{}"}}"#,
        order.order_id,
        quoted(&order.symbol),
        order.side.as_str(),
        order.qty,
        order.price,
        order.filled,
        time_text(wall_ns)
    )
}

/// A short status update (only the fields that changed, as Kraken does).
pub fn status_fields(order: &Resting, status: &str, exec_type: &str, wall_ns: i64) -> String {
    format!(
        r#"{{"timestamp":"{}","order_status":"{status}","exec_type":"{exec_type}","order_id":"{}","cum_qty":{}}}"#,
        time_text(wall_ns),
        order.order_id,
        order.filled
    )
}

/// A trade execution for one side of a fill.
pub fn trade_fields(
    order: &Resting,
    price: Decimal,
    qty: Decimal,
    trade_id: u64,
    maker: bool,
    exec_id: &str,
    wall_ns: i64,
) -> String {
    let status = if order.open().is_zero() {
        "filled"
    } else {
        "partially_filled"
    };
    let cl = if order.cl_ord_id.is_empty() {
        String::new()
    } else {
        format!(r#","cl_ord_id":{}"#, quoted(&order.cl_ord_id))
    };
    let cost = price.checked_mul(qty).unwrap_or(Decimal::ZERO);
    // 0.26% taker, 0.16% maker (Kraken's starting fees), in USD.
    let rate: Decimal = if maker { "0.0016" } else { "0.0026" }
        .parse()
        .unwrap_or(Decimal::ZERO);
    let fee = cost.checked_mul(rate).unwrap_or(Decimal::ZERO);
    format!(
        r#"{{"order_id":"{}"{cl},"exec_id":"{exec_id}","exec_type":"trade","trade_id":{trade_id},"symbol":{},"side":"{}","last_qty":{qty},"last_price":{price},"liquidity_ind":"{}","cost":{cost},"order_type":"limit","timestamp":"{}","order_status":"{status}","cum_qty":{},"fees":[{{"asset":"USD","qty":{fee}}}]}}"#,
        order.order_id,
        quoted(&order.symbol),
        order.side.as_str(),
        if maker { "m" } else { "t" },
        time_text(wall_ns),
        order.filled,
    )
}

/// An executions message.
pub fn executions(kind: &str, items: &[String], sequence: u64) -> String {
    format!(
        r#"{{"channel":"executions","type":"{kind}","data":[{}],"sequence":{sequence}}}"#,
        items.join(",")
    )
}
