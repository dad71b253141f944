//! Shared pieces of the orderwire benchmarks: payloads that look like venue
//! traffic, and an open codec connection without a socket.
#![forbid(unsafe_code)]

use orderwire_protocol::Instant;
use orderwire_protocol::ws::handshake::{HandshakeRequest, accept_for_key};
use orderwire_protocol::ws::{Config, Conn, Event};

/// A JSON-looking text payload of exactly `len` bytes.
pub fn json_payload(len: usize) -> String {
    let unit = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":26500.4,"qty":1.25}]}]}"#;
    let mut s = unit.repeat(len / unit.len() + 1);
    s.truncate(len);
    s
}

/// A codec connection that completed its handshake against a scripted 101.
pub fn open_conn(config: Config) -> Conn {
    let request = HandshakeRequest::from_url("ws://127.0.0.1:9001/").expect("static URL is valid");
    let mut conn = Conn::client(config, &request, Instant(0), 1);
    let mut wire = Vec::new();
    conn.poll_transmit(&mut wire);
    let text = String::from_utf8(wire).expect("request is ASCII");
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("request has a key");
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_for_key(key)
    );
    conn.handle_input(Instant(1), response.as_bytes());
    assert!(
        matches!(conn.poll_event(), Some(Event::Connected)),
        "scripted handshake completes"
    );
    conn
}

/// The median ns of criterion's last run of `group/bench_peer`, from its
/// estimates file.
pub fn criterion_median_ns(group: &str, bench: &str, peer: &str) -> Option<f64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/criterion")
        .join(group)
        .join(format!("{bench}_{peer}"))
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["median"]["point_estimate"].as_f64()
}

/// Prints, for each of `benches` in `group`, orderwire's median beside the
/// peer's and their ratio (peer over orderwire), against the 1.5x target.
pub fn report_decode_ratios(group: &str, benches: &[&str], peer: &str) {
    report_decode_ratios_against(group, benches, peer, 1.5);
}

/// As [`report_decode_ratios`], with the issue's target for this peer
/// (1.2x for sonic-rs, the fastest JSON peer).
pub fn report_decode_ratios_against(group: &str, benches: &[&str], peer: &str, target: f64) {
    for bench in benches {
        if let (Some(ours), Some(theirs)) = (
            criterion_median_ns(group, bench, "orderwire"),
            criterion_median_ns(group, bench, peer),
        ) {
            println!(
                "{group} {bench}: orderwire {ours:.0} ns, {peer} {theirs:.0} ns, ratio {:.2}x (target >= {target}x)",
                theirs / ours
            );
        }
    }
}

/// A JSON library a decode bench runs as a peer: serde_json or sonic-rs,
/// each into the same borrowed typed structs, numbers kept as their raw
/// text (each library's own borrowed raw value) and parsed to the same
/// exact decimals. The structs are generic over it, so both peers do the
/// same work.
pub trait JsonPeer {
    /// The bench's name for it.
    const NAME: &'static str;
    /// A value's raw JSON text, borrowed from the message.
    type Raw<'a>: RawText + serde::Deserialize<'a>;
    /// Parses `bytes` into `T`.
    fn parse<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> T;
}

/// The raw JSON text of a borrowed value.
pub trait RawText {
    /// The text, as it stood in the message (strings with their quotes).
    fn text(&self) -> &str;

    /// The text as an exact decimal (a number, or a string holding one).
    fn decimal(&self) -> orderwire_protocol::num::Decimal {
        orderwire_protocol::num::Decimal::parse(self.text().trim_matches('"').as_bytes())
            .expect("a decimal")
    }
}

impl RawText for &serde_json::value::RawValue {
    fn text(&self) -> &str {
        self.get()
    }
}

impl RawText for sonic_rs::LazyValue<'_> {
    fn text(&self) -> &str {
        self.as_raw_str()
    }
}

/// serde_json, the reference.
pub struct SerdeJson;

impl JsonPeer for SerdeJson {
    const NAME: &'static str = "serde_json";
    type Raw<'a> = &'a serde_json::value::RawValue;
    fn parse<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> T {
        serde_json::from_slice(bytes).expect("JSON")
    }
}

/// sonic-rs, the fastest JSON peer (SIMD).
pub struct SonicRs;

impl JsonPeer for SonicRs {
    const NAME: &'static str = "sonic_rs";
    type Raw<'a> = sonic_rs::LazyValue<'a>;
    fn parse<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> T {
        sonic_rs::from_slice(bytes).expect("JSON")
    }
}
