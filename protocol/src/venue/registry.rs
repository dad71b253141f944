//! Every venue codec by name, for the tools that need a codec and no I/O:
//! `orderwire decode` (through the harness's venue registry), the
//! `registry_decode` fuzz target and the corpus replay test, which reach
//! every codec listed here without naming one. A new venue adds its line.

use super::Venue;

/// A codec that decodes captured inbound messages.
#[derive(Clone, Copy, Debug)]
pub struct CodecEntry {
    /// The venue's registry name (`kraken`, `binance`, ...).
    pub name: &'static str,
    /// A codec for captured messages, with books of `book_depth` levels
    /// where the venue keeps books by depth.
    pub offline: fn(book_depth: u32) -> Box<dyn Venue>,
}

/// The codecs orderwire ships, one line each.
pub static CODECS: &[CodecEntry] = &[
    CodecEntry {
        name: "kraken",
        offline: super::kraken::offline_codec,
    },
    CodecEntry {
        name: "binance",
        offline: super::binance::offline_codec,
    },
    CodecEntry {
        name: "upbit",
        offline: super::upbit::offline_codec,
    },
    CodecEntry {
        name: "digifinex",
        offline: super::digifinex::offline_codec,
    },
];

/// The codec named `name`.
pub fn codec(name: &str) -> Option<&'static CodecEntry> {
    CODECS.iter().find(|c| c.name == name)
}
