//! Replays every checked-in fuzz corpus input through the same harness the
//! fuzzer runs, so that plain `cargo test` on stable re-checks every input the
//! fuzzer ever kept.

#[path = "../../fuzz/src/ws.rs"]
mod ws;

#[path = "../../fuzz/src/venue.rs"]
mod venue;

#[path = "../../fuzz/src/capture.rs"]
mod capture;

use std::path::Path;

fn replay(target: &str, harness: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("readable corpus entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        let data = std::fs::read(&path).expect("readable corpus file");
        harness(&data);
        count += 1;
    }
    assert!(
        count >= 8,
        "{target}: only {count} corpus inputs in {}",
        dir.display()
    );
}

#[test]
fn ws_handshake_response_corpus() {
    replay("ws_handshake_response", ws::handshake_response);
}

#[test]
fn ws_frames_corpus() {
    replay("ws_frames", ws::frames);
}

#[test]
fn kraken_decode_corpus() {
    replay("kraken_decode", venue::kraken_decode);
}

#[test]
fn decimal_corpus() {
    replay("decimal", venue::decimal);
}

#[test]
fn binance_stream_corpus() {
    replay("binance_stream", venue::binance_stream);
}

#[test]
fn binance_api_corpus() {
    replay("binance_api", venue::binance_api);
}

#[test]
fn upbit_decode_corpus() {
    replay("upbit_decode", venue::upbit_decode);
}

#[test]
fn digifinex_decode_corpus() {
    replay("digifinex_decode", venue::digifinex_decode);
}

#[test]
fn koscom_decode_corpus() {
    replay("koscom_decode", venue::koscom_decode);
}

#[test]
fn kis_decode_corpus() {
    replay("kis_decode", venue::kis_decode);
}

/// Every venue's corpus through every codec in the registry: the
/// `registry_decode` target's corpus is the union of the venues'.
#[test]
fn every_venue_corpus_through_every_registered_codec() {
    for venue_corpus in [
        "kraken_decode",
        "binance_stream",
        "binance_api",
        "upbit_decode",
        "digifinex_decode",
        "kis_decode",
        "koscom_decode",
    ] {
        replay(venue_corpus, venue::registry_decode);
    }
    assert!(
        orderwire_protocol::venue::registry::codec("kraken").is_some()
            && orderwire_protocol::venue::registry::CODECS.len() >= 4
    );
}

#[test]
fn capture_read_corpus() {
    replay("capture_read", capture::capture_read);
}
