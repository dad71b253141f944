//! The one list of venues the harness knows. `orderwire demo` and
//! `orderwire decode` (and the harness tests) take their venue from here, so
//! a new venue is one variant and its arms below (docs/venues/README.md).

use orderwire_protocol::venue::Venue;
use orderwire_protocol::venue::binance::Binance;
use orderwire_protocol::venue::digifinex::DigiFinex;
use orderwire_protocol::venue::kraken::Kraken;
use orderwire_protocol::venue::upbit::Upbit;

use crate::demo::{DemoOptions, DemoReport};

/// A venue, as the command line names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[non_exhaustive]
pub enum VenueName {
    /// Kraken Spot WebSocket v2.
    Kraken,
    /// Binance Spot WebSocket API and market streams.
    Binance,
    /// Upbit's public and private WebSocket feeds.
    Upbit,
    /// DigiFinex WebSocket v1 (zlib data frames, server.auth).
    Digifinex,
}

impl VenueName {
    /// A codec that decodes captured inbound messages of this venue, with
    /// books of `book_depth` levels (the depth the capture subscribed with).
    pub fn offline_codec(self, book_depth: u32) -> Box<dyn Venue> {
        match self {
            VenueName::Kraken => {
                let mut kraken = Kraken::public();
                kraken.set_default_depth(usize::try_from(book_depth).unwrap_or(usize::MAX));
                Box::new(kraken)
            }
            VenueName::Binance => {
                let mut binance = Binance::offline();
                binance.set_depth(book_depth.max(1));
                Box::new(binance)
            }
            // Every orderbook message is a whole book: no depth to keep.
            VenueName::Upbit => Box::new(Upbit::public()),
            // Deltas before a capture's first clean snapshot are held back,
            // as live.
            VenueName::Digifinex => Box::new(DigiFinex::public()),
        }
    }

    /// Runs the embedded demo against this venue's mock.
    pub fn run_demo(self, options: DemoOptions) -> Result<DemoReport, String> {
        match self {
            VenueName::Kraken => crate::demo::run(options),
            VenueName::Binance => crate::demo_binance::run(options),
            VenueName::Upbit => crate::demo_upbit::run(options),
            VenueName::Digifinex => crate::demo_digifinex::run(options),
        }
    }
}
