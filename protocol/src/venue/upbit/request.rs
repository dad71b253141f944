//! Upbit subscription requests: `[{"ticket":..},{"type":..,"codes":[..]},..,{"format":..}]`
//! (upbit.md "Request"), the tickets as seeded uuid4s, and the seed
//! library's helpers (`generate_payload`, `generate_orderbook_codes`).

use rand_core::RngCore;

use crate::model::write_json_string;
use crate::num::Decimal;

/// A data type a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `ticker`.
    Ticker,
    /// `trade`.
    Trade,
    /// `orderbook`.
    Orderbook,
    /// `myOrder` (private).
    MyOrder,
    /// `myAsset` (private).
    MyAsset,
    /// `candle.{unit}`.
    Candle(CandleUnit),
}

/// The candle units Upbit serves (`candle.1s` to `candle.240m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CandleUnit {
    /// One second.
    S1,
    /// One minute.
    M1,
    /// Three minutes.
    M3,
    /// Five minutes.
    M5,
    /// Ten minutes.
    M10,
    /// Fifteen minutes.
    M15,
    /// Thirty minutes.
    M30,
    /// Sixty minutes.
    M60,
    /// Four hours.
    M240,
}

impl CandleUnit {
    /// The unit for a normalised interval (`1m`, `1h`, `4h`); None for one
    /// Upbit does not stream.
    pub fn from_interval(interval: &str) -> Option<CandleUnit> {
        Some(match interval {
            "1s" => CandleUnit::S1,
            "1m" => CandleUnit::M1,
            "3m" => CandleUnit::M3,
            "5m" => CandleUnit::M5,
            "10m" => CandleUnit::M10,
            "15m" => CandleUnit::M15,
            "30m" => CandleUnit::M30,
            "1h" | "60m" => CandleUnit::M60,
            "4h" | "240m" => CandleUnit::M240,
            _ => return None,
        })
    }
}

impl DataType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Ticker => "ticker",
            DataType::Trade => "trade",
            DataType::Orderbook => "orderbook",
            DataType::MyOrder => "myOrder",
            DataType::MyAsset => "myAsset",
            DataType::Candle(unit) => match unit {
                CandleUnit::S1 => "candle.1s",
                CandleUnit::M1 => "candle.1m",
                CandleUnit::M3 => "candle.3m",
                CandleUnit::M5 => "candle.5m",
                CandleUnit::M10 => "candle.10m",
                CandleUnit::M15 => "candle.15m",
                CandleUnit::M30 => "candle.30m",
                CandleUnit::M60 => "candle.60m",
                CandleUnit::M240 => "candle.240m",
            },
        }
    }

    /// Whether it needs the private endpoint.
    pub fn is_private(self) -> bool {
        matches!(self, DataType::MyOrder | DataType::MyAsset)
    }
}

/// The format the whole connection answers in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Full field names.
    #[default]
    Default,
    /// Abbreviated field names.
    Simple,
    /// `DEFAULT`, every frame a JSON array.
    JsonList,
    /// `SIMPLE`, every frame a JSON array.
    SimpleList,
}

impl Format {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Default => "DEFAULT",
            Format::Simple => "SIMPLE",
            Format::JsonList => "JSON_LIST",
            Format::SimpleList => "SIMPLE_LIST",
        }
    }
}

/// One type object of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeRequest {
    /// The type.
    pub data_type: DataType,
    /// Market codes (`KRW-BTC`, or `KRW-BTC.5` for an orderbook depth);
    /// upper-cased on the wire. Empty for myAsset; empty means every market
    /// for myOrder.
    pub codes: Vec<String>,
    /// Only the snapshot.
    pub is_only_snapshot: Option<bool>,
    /// Only realtime messages.
    pub is_only_realtime: Option<bool>,
    /// Orderbook price grouping (KRW markets): the price unit, fractional
    /// down to `0.0000001`. Written as a JSON number, as every documented
    /// example does (upbit.md: the guide's table says String).
    pub level: Option<Decimal>,
}

impl TypeRequest {
    /// A type with `codes` and no flags.
    pub fn new(data_type: DataType, codes: &[&str]) -> TypeRequest {
        TypeRequest {
            data_type,
            codes: codes.iter().map(|c| (*c).to_owned()).collect(),
            is_only_snapshot: None,
            is_only_realtime: None,
            level: None,
        }
    }
}

/// Why a helper refused its input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// Orderbook depths are 1, 5, 15 or 30.
    #[error("orderbook depth {0} is not one of 1, 5, 15, 30")]
    Depth(u32),
    /// As many depths as markets.
    #[error("{markets} markets but {depths} depths")]
    Counts {
        /// Markets given.
        markets: usize,
        /// Depths given.
        depths: usize,
    },
}

/// The depths Upbit serves.
pub const DEPTHS: [u32; 4] = [1, 5, 15, 30];

/// `orderbook_codes(&["KRW-BTC","KRW-ETH"], &[5,5])` -> `["KRW-BTC.5","KRW-ETH.5"]`,
/// as the seed library's `generate_orderbook_codes`, refusing depths Upbit
/// does not serve.
pub fn orderbook_codes(markets: &[&str], depths: &[u32]) -> Result<Vec<String>, PayloadError> {
    if markets.len() != depths.len() {
        return Err(PayloadError::Counts {
            markets: markets.len(),
            depths: depths.len(),
        });
    }
    markets
        .iter()
        .zip(depths)
        .map(|(market, depth)| {
            if DEPTHS.contains(depth) {
                Ok(format!("{market}.{depth}"))
            } else {
                Err(PayloadError::Depth(*depth))
            }
        })
        .collect()
}

/// A uuid4 from the caller's seeded RNG (RFC 9562 version and variant
/// bits), so a replay writes the same tickets and nonces.
pub fn uuid4(rng: &mut impl RngCore, out: &mut String) {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
}

/// The wire request for `types` under `ticket`, compact, with the current
/// docs' snake_case flags (`is_only_snapshot`).
pub fn write_request(ticket: &str, types: &[TypeRequest], format: Format, out: &mut Vec<u8>) {
    out.extend_from_slice(b"[{\"ticket\":");
    write_json_string(ticket, out);
    out.push(b'}');
    for request in types {
        out.extend_from_slice(b",{\"type\":");
        write_json_string(request.data_type.as_str(), out);
        // myAsset takes no codes (they give WRONG_FORMAT); an empty myOrder
        // list means every market.
        if request.data_type != DataType::MyAsset {
            out.extend_from_slice(b",\"codes\":[");
            for (index, code) in request.codes.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_json_string(&code.to_ascii_uppercase(), out);
            }
            out.push(b']');
        }
        if let Some(level) = request.level {
            out.extend_from_slice(b",\"level\":");
            level.write_to(out);
        }
        if let Some(flag) = request.is_only_snapshot {
            out.extend_from_slice(format!(",\"is_only_snapshot\":{flag}").as_bytes());
        }
        if let Some(flag) = request.is_only_realtime {
            out.extend_from_slice(format!(",\"is_only_realtime\":{flag}").as_bytes());
        }
        out.push(b'}');
    }
    out.extend_from_slice(b",{\"format\":");
    write_json_string(format.as_str(), out);
    out.extend_from_slice(b"}]");
}

/// The seed library's `generate_payload(type, codes, isOnlySnapshot,
/// isOnlyRealtime, format, ticket)`, byte for byte: Python's `json.dumps`
/// layout (`", "` and `": "`), codes upper-cased, the camelCase flags the
/// library writes only when given, and a format other than SIMPLE or
/// DEFAULT written as DEFAULT.
pub fn generate_payload(
    data_type: DataType,
    codes: &[&str],
    is_only_snapshot: Option<bool>,
    is_only_realtime: Option<bool>,
    format: &str,
    ticket: &str,
) -> String {
    let mut out = Vec::new();
    out.extend_from_slice(b"[{\"ticket\": ");
    write_json_string(ticket, &mut out);
    out.extend_from_slice(b"}, {\"type\": ");
    write_json_string(data_type.as_str(), &mut out);
    out.extend_from_slice(b", \"codes\": [");
    for (index, code) in codes.iter().enumerate() {
        if index > 0 {
            out.extend_from_slice(b", ");
        }
        write_json_string(&code.to_ascii_uppercase(), &mut out);
    }
    out.push(b']');
    if let Some(flag) = is_only_snapshot {
        out.extend_from_slice(format!(", \"isOnlySnapshot\": {flag}").as_bytes());
    }
    if let Some(flag) = is_only_realtime {
        out.extend_from_slice(format!(", \"isOnlyRealtime\": {flag}").as_bytes());
    }
    let format = match format.to_ascii_uppercase().as_str() {
        "SIMPLE" => "SIMPLE",
        _ => "DEFAULT",
    };
    out.extend_from_slice(b"}, {\"format\": ");
    write_json_string(format, &mut out);
    out.extend_from_slice(b"}]");
    // Built from `&str` pieces and JSON escapes: always UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// The `level` grouping for a KRW orderbook: the price unit to group by
/// (`10000`, or fractional down to `0.0000001`), which must be one the
/// market supports; values it does not support simply give no data. One
/// type object per level: two levels of one market are two objects.
pub fn orderbook_with_level(codes: &[&str], level: Decimal) -> TypeRequest {
    TypeRequest {
        level: Some(level),
        ..TypeRequest::new(DataType::Orderbook, codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    #[test]
    fn orderbook_codes_as_the_library_makes_them() {
        assert_eq!(
            orderbook_codes(&["KRW-BTC", "KRW-ETH"], &[5, 5]).unwrap(),
            ["KRW-BTC.5", "KRW-ETH.5"]
        );
        assert_eq!(
            orderbook_codes(&["KRW-BTC"], &[10]),
            Err(PayloadError::Depth(10))
        );
        assert!(orderbook_codes(&["KRW-BTC"], &[]).is_err());
    }

    #[test]
    fn tickets_are_seeded_uuid4s() {
        let mut one = String::new();
        let mut two = String::new();
        uuid4(&mut ChaCha8Rng::seed_from_u64(7), &mut one);
        uuid4(&mut ChaCha8Rng::seed_from_u64(7), &mut two);
        assert_eq!(one, two, "the same seed, the same ticket");
        assert_eq!(one.len(), 36);
        assert_eq!(&one[14..15], "4");
        assert!(matches!(&one[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn the_wire_request_of_the_page() {
        let mut out = Vec::new();
        write_request(
            "0e66c0ac-7e13-43ef-91fb-2a87c2956c49",
            &[TypeRequest::new(DataType::Trade, &["KRW-BTC", "krw-eth"])],
            Format::Default,
            &mut out,
        );
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"[{"ticket":"0e66c0ac-7e13-43ef-91fb-2a87c2956c49"},{"type":"trade","codes":["KRW-BTC","KRW-ETH"]},{"format":"DEFAULT"}]"#
        );
        out.clear();
        let mut asset = TypeRequest::new(DataType::MyAsset, &["KRW-BTC"]);
        asset.is_only_realtime = Some(true);
        write_request(
            "t",
            &[
                asset,
                orderbook_with_level(&["KRW-BTC.15"], Decimal::new(1000, 0).unwrap()),
                orderbook_with_level(&["KRW-ETH"], "0.0000001".parse().unwrap()),
            ],
            Format::Simple,
            &mut out,
        );
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"[{"ticket":"t"},{"type":"myAsset","is_only_realtime":true},{"type":"orderbook","codes":["KRW-BTC.15"],"level":1000},{"type":"orderbook","codes":["KRW-ETH"],"level":0.0000001},{"format":"SIMPLE"}]"#
        );
    }
}
