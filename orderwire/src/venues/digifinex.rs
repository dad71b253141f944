//! DigiFinex WebSocket v1: its registry entry and its demo. The demo runs
//! the mock DigiFinex over wss on loopback: one connection that
//! authenticates (`server.auth` with a key the demo gives the mock),
//! subscribes trades, depth and tickers on two markets and the private
//! order and balance feeds, and keeps itself alive with `server.ping`.
//! Data arrive as zlib in binary frames. Other accounts trade against the
//! book, and the demo's own orders go in over the mock's REST hook
//! (DigiFinex takes orders over REST): most cross the book and fill, every
//! fourth rests and is canceled.

use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::ConnectionConfig;
use orderwire_engine::gateway::{ExchangeConfig, GatewayConfig};
use orderwire_protocol::model::{Side, Subscription, Symbol, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::Venue;
use orderwire_protocol::venue::digifinex::{self, Credentials, DigiFinex};

use super::{BuildContext, MockOptions, StartCodec, VenueEntry, VenueMock, trust};
use crate::demo::{DemoOptions, DemoVenue, PlacedElsewhere, Step, Tally};
use crate::mock::digifinex::{MockConfig, MockDigiFinex};
use crate::service::{AnyExchange, ConfigError, Driver};

/// DigiFinex's registry entry.
pub struct DigiFinexEntry;

/// The entry [`super::Venues::builtin`] lists.
pub static DIGIFINEX: DigiFinexEntry = DigiFinexEntry;

impl VenueEntry for DigiFinexEntry {
    fn name(&self) -> &'static str {
        "digifinex"
    }

    fn about(&self) -> &'static str {
        "DigiFinex WebSocket v1 (zlib frames; no orders: REST takes them); server.auth when keys are named"
    }

    fn credentials(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("api_key", "the API key (DIGIFINEX_API_KEY)"),
            ("api_secret", "the API secret (DIGIFINEX_API_SECRET)"),
        ]
    }

    fn private(&self, named: &dyn Fn(&str) -> bool) -> bool {
        named("api_key") || named("api_secret")
    }

    fn endpoint(&self, endpoint: &str, _private: bool) -> Result<Option<String>, String> {
        match endpoint {
            "production" => Ok(Some(digifinex::URL.to_owned())),
            "testnet" => Err("digifinex has no testnet".to_owned()),
            _ => Ok(None),
        }
    }

    fn start_mock(&self, options: &MockOptions) -> std::io::Result<Box<dyn VenueMock>> {
        Ok(Box::new(options.apply(MockDigiFinex::builder()).start()?))
    }

    fn build(&self, context: &BuildContext<'_>) -> Result<Box<dyn StartCodec>, ConfigError> {
        if !context.private() {
            return Ok(Box::new(DigiFinex::public()));
        }
        Ok(Box::new(DigiFinex::private(Credentials {
            api_key: context.required("api_key")?,
            secret: context.required("api_secret")?,
        })))
    }

    fn offline_codec(&self, book_depth: u32) -> Box<dyn Venue> {
        digifinex::offline_codec(book_depth)
    }

    fn replayer(
        &self,
        header: &orderwire_protocol::capture::Header,
    ) -> Result<Box<dyn orderwire_engine::gateway::replay::Replay>, String> {
        let codec = DigiFinex::from_capture(header)?;
        Ok(Box::new(orderwire_engine::gateway::replay::Replayer::new(
            codec, header,
        )?))
    }

    fn demo(&self, options: &DemoOptions) -> Result<Box<dyn DemoVenue>, String> {
        DigiFinexDemo::start(options).map(|demo| Box::new(demo) as Box<dyn DemoVenue>)
    }
}

impl VenueMock for MockDigiFinex {
    fn url(&self, _venue: &str, _private: bool) -> String {
        MockDigiFinex::url(self)
    }

    fn ca_file(&self) -> std::path::PathBuf {
        MockDigiFinex::ca_file(self)
    }

    fn credential(&self, name: &str) -> Option<Secret> {
        let (api_key, secret) = self.keys();
        match name {
            "api_key" => Some(Secret::new(api_key)),
            "api_secret" => Some(Secret::new(secret)),
            _ => None,
        }
    }
}

const MARKETS: [&str; 2] = ["BTC_USDT", "ETH_USDT"];

/// DigiFinex's part of the demo.
struct DigiFinexDemo {
    mock: MockDigiFinex,
    exchange: Driver<DigiFinex>,
    symbol: Symbol,
    /// Orders resting until the end, by the venue's id.
    resting: Vec<String>,
}

impl DigiFinexDemo {
    fn start(options: &DemoOptions) -> Result<DigiFinexDemo, String> {
        let mock = MockDigiFinex::start(options.mock.live(MockConfig::default()))
            .map_err(|e| format!("mock DigiFinex: {e}"))?;
        let symbols: Vec<_> = MARKETS.iter().filter_map(|m| inline(m)).collect();
        let assets: Vec<_> = ["USDT", "BTC", "ETH"]
            .iter()
            .filter_map(|a| inline(a))
            .collect();
        let (api_key, secret) = mock.keys();
        let mut connection = ConnectionConfig::new(mock.url());
        connection.tls = Some(trust(&mock.ca_file())?);
        let exchange = crate::demo::start_exchange(
            options,
            "digifinex-demo",
            DigiFinex::private(Credentials {
                api_key: Secret::new(api_key),
                secret: Secret::new(secret),
            }),
            ExchangeConfig {
                engine: options.engine.clone(),
                connection,
                gateway: GatewayConfig {
                    subscriptions: vec![
                        Subscription::Trades {
                            symbols: symbols.clone(),
                        },
                        Subscription::Book {
                            symbols: symbols.clone(),
                            depth: 30,
                        },
                        Subscription::Ticker {
                            symbols: symbols.clone(),
                        },
                        Subscription::Orders {
                            symbols: symbols.clone(),
                        },
                        Subscription::Balances { assets },
                    ],
                    ..GatewayConfig::default()
                },
                on_request: options.verbose.then(crate::demo::print_requests),
                token_fetch: None,
                capture: options.capture_for("digifinex-demo", true),
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(DigiFinexDemo {
            mock,
            exchange,
            symbol: symbols.first().copied().ok_or("symbol")?,
            resting: Vec::new(),
        })
    }
}

impl DemoVenue for DigiFinexDemo {
    fn title(&self) -> &'static str {
        "DigiFinex"
    }

    fn exchanges(&self) -> Vec<Arc<dyn AnyExchange>> {
        vec![Arc::new(self.exchange.clone())]
    }

    fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// server.auth and the five subscriptions acknowledged.
    fn ready(&self, tally: &Tally) -> bool {
        tally.acks >= 6
    }

    fn step(&self, _n: usize) -> Step {
        Step::Elsewhere
    }

    /// Another account's trade, then the demo's own order over REST: buys
    /// well above the best ask fill at once; every fourth is a sell far
    /// above the book, which rests until the end.
    fn place_elsewhere(&mut self, n: usize) -> Result<PlacedElsewhere, String> {
        let dec = |text: &str| text.parse::<Decimal>().map_err(|_| text.to_owned());
        let market = MARKETS[n % 2];
        self.mock.house_trade(
            market,
            if n % 3 == 0 { Side::Sell } else { Side::Buy },
            dec("0.01")?,
        );
        let (side, price, qty) = match (market, n % 4 == 3) {
            ("BTC_USDT", false) => (Side::Buy, dec("90500")?, dec("0.1")?),
            ("BTC_USDT", true) => (Side::Sell, dec("91500")?, dec("0.1")?),
            (_, false) => (Side::Buy, dec("3050")?, dec("1")?),
            (_, true) => (Side::Sell, dec("3150")?, dec("1")?),
        };
        let id = self
            .mock
            .place(market, side, price, qty)
            .map_err(|e| format!("mock REST order: {e}"))?;
        // Its updates carry no client id: the venue's id is the key.
        let key = inline(&id).ok_or("order id")?;
        let ends = side == Side::Buy;
        if !ends {
            self.resting.push(id);
        }
        Ok(PlacedElsewhere { key, ends })
    }

    fn finish(&mut self) -> Result<(), String> {
        for id in self.resting.drain(..) {
            self.mock
                .cancel(&id)
                .map_err(|e| format!("mock REST cancel: {e}"))?;
        }
        Ok(())
    }

    fn settle(&self) -> Duration {
        Duration::from_millis(100)
    }

    /// Fills come as order updates that filled more.
    fn fills(&self, tally: &Tally) -> usize {
        tally.filled_updates
    }

    fn notes(&mut self, tally: &Tally) -> Vec<String> {
        let stats = self.mock.stats();
        vec![
            format!(
                "server.auth accepted on {} of {} connections",
                stats.auths, stats.connections
            ),
            format!(
                "books: {} clean snapshots, {} incremental updates",
                tally.book_snapshots, tally.book_deltas
            ),
            format!("balances: {}", tally.balances),
            format!(
                "server.ping answered (one per 30 s without traffic): {}",
                stats.pings
            ),
        ]
    }
}
