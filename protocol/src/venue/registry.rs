//! Every venue codec by name, for the tools that need a codec and no I/O:
//! `orderwire decode` (through the harness's venue registry), the
//! `registry_decode` fuzz target and the corpus replay test, which reach
//! every codec listed here without naming one. A new venue adds its line.

use super::{FrameKind, Venue};

/// A codec that decodes captured inbound messages.
#[derive(Clone, Copy, Debug)]
pub struct CodecEntry {
    /// The venue's registry name (`kraken`, `binance`, ...).
    pub name: &'static str,
    /// A codec for captured messages, with books of `book_depth` levels
    /// where the venue keeps books by depth.
    pub offline: fn(book_depth: u32) -> Box<dyn Venue>,
    /// One public trade message as the venue's documentation shows it,
    /// in the frame kind its codec takes it in: the registry bench
    /// (`benches/benches/registry_decode.rs`) decodes it with every codec.
    pub sample: (FrameKind, &'static str),
}

/// The codecs orderwire ships, one line each.
pub static CODECS: &[CodecEntry] = &[
    CodecEntry {
        name: "kraken",
        offline: super::kraken::offline_codec,
        sample: (
            FrameKind::Text,
            r#"{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}]}"#,
        ),
    },
    CodecEntry {
        name: "binance",
        offline: super::binance::offline_codec,
        sample: (
            FrameKind::Text,
            r#"{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}"#,
        ),
    },
    CodecEntry {
        name: "upbit",
        offline: super::upbit::offline_codec,
        // Upbit sends JSON in binary frames.
        sample: (
            FrameKind::Binary,
            r#"{"type":"trade","code":"KRW-BTC","timestamp":1730336862082,"trade_date":"2024-10-31","trade_time":"01:07:42","trade_timestamp":1730336862047,"trade_price":100473000.00000000,"trade_volume":0.00014208,"ask_bid":"BID","prev_closing_price":100571000.00000000,"change":"FALL","change_price":98000.00000000,"sequential_id":17303368620470000,"best_ask_price":100473000,"best_ask_size":0.43139478,"best_bid_price":100465000,"best_bid_size":0.01990656,"stream_type":"REALTIME"}"#,
        ),
    },
    CodecEntry {
        name: "kis",
        offline: super::kis::offline_codec,
        // A one-record H0STCNT0 frame (kis.md's field table, 46 fields).
        sample: (FrameKind::Text, KIS_TRADE),
    },
    CodecEntry {
        name: "koscom",
        offline: super::koscom::offline_codec,
        // The streaming page's tick push.
        sample: (
            FrameKind::Text,
            r#"{"jsonrpc":"2.0","method":"push","params":{"preset":"tick","isuSrtCd":"005930","trdPrc":2465000,"trdvol":2,"accTrdvol":251916,"accTrdval":627899637000,"trdTm":14412000}}"#,
        ),
    },
    CodecEntry {
        name: "digifinex",
        offline: super::digifinex::offline_codec,
        // Live frames are zlib in binary frames; the codec takes the
        // inflated text too, which keeps this sample readable.
        sample: (
            FrameKind::Text,
            r#"{"method":"trades.update","params":[false,[{"id":7172173,"time":1523339279.761838,"price":"398.59","amount":"0.027","type":"buy"}],"ETH_USDT"],"id":null}"#,
        ),
    },
];

/// A documented H0STCNT0 trade, as KIS sends it (kis.md, "Realtime data").
const KIS_TRADE: &str = "0|H0STCNT0|001|005930^123929^73100^5^-1100^-1.48^73201.64^74000^74300^72800^73100^73000^5^10329475^755844117350^29458^23861^-5597^85.73^5181286^4442009^1^0.43^59.58^090022^5^-900^090356^5^-1200^104052^2^300^20231004^20^N^65958^194036^1026580^1766418^0.17^9498193^108.75^0^^73100";

/// The codec named `name`.
pub fn codec(name: &str) -> Option<&'static CodecEntry> {
    CODECS.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, Events};
    use crate::venue::Offline;

    #[test]
    fn every_codec_decodes_its_sample_into_a_trade() {
        for entry in CODECS {
            let mut codec = (entry.offline)(10);
            let mut events = Events::default();
            let mut bytes = entry.sample.1.as_bytes().to_vec();
            Offline::new(0)
                .decode(&mut *codec, entry.sample.0, &mut bytes, &mut events)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
            assert!(
                events.list.iter().any(|e| matches!(e, Event::Trade(_))),
                "{}: {:?}",
                entry.name,
                events.list
            );
        }
    }
}
