//! Upbit: its registry entry and its demo. The demo runs the mock Upbit
//! over wss on loopback: a public connection with ticker, trade and a
//! 15-level orderbook on two markets, and the private feed (myOrder,
//! myAsset) behind a JWT made from a key the demo gives the mock. Other
//! accounts trade against the house book, and the demo's own orders go in
//! over the mock's REST hook (Upbit takes orders over REST), each one
//! crossing the book, so myOrder reports it and its fills.

use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::ConnectionConfig;
use orderwire_engine::gateway::{ExchangeConfig, GatewayConfig};
use orderwire_protocol::model::{Request, Side, Subscription, Symbol, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::Venue;
use orderwire_protocol::venue::upbit::{Credentials, Upbit};

use super::{BuildContext, MockOptions, StartCodec, VenueEntry, VenueMock, trust};
use crate::demo::{DemoOptions, DemoVenue, PlacedElsewhere, Step, Tally};
use crate::mock::upbit::{MockConfig, MockUpbit};
use crate::service::{AnyExchange, ConfigError, Driver};

/// Upbit's registry entry.
pub struct UpbitEntry;

/// The entry [`super::Venues::builtin`] lists.
pub static UPBIT: UpbitEntry = UpbitEntry;

impl VenueEntry for UpbitEntry {
    fn name(&self) -> &'static str {
        "upbit"
    }

    fn about(&self) -> &'static str {
        "Upbit's WebSocket feeds (no orders: REST takes them); private when keys are named"
    }

    fn credentials(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("access_key", "the access key (UPBIT_ACCESS_KEY)"),
            ("secret_key", "the secret key (UPBIT_SECRET_KEY)"),
        ]
    }

    fn private(&self, named: &dyn Fn(&str) -> bool) -> bool {
        named("access_key") || named("secret_key")
    }

    fn endpoint(&self, endpoint: &str, private: bool) -> Result<Option<String>, String> {
        match endpoint {
            "production" if private => {
                Ok(Some("wss://api.upbit.com/websocket/v1/private".to_owned()))
            }
            "production" => Ok(Some("wss://api.upbit.com/websocket/v1".to_owned())),
            "testnet" => Err("upbit has no testnet".to_owned()),
            _ => Ok(None),
        }
    }

    fn start_mock(&self, options: &MockOptions) -> std::io::Result<Box<dyn VenueMock>> {
        Ok(Box::new(options.apply(MockUpbit::builder()).start()?))
    }

    fn build(&self, context: &BuildContext<'_>) -> Result<Box<dyn StartCodec>, ConfigError> {
        if !context.private() {
            return Ok(Box::new(Upbit::public()));
        }
        Ok(Box::new(Upbit::private(Credentials {
            access_key: context.required("access_key")?,
            secret_key: context.required("secret_key")?,
        })))
    }

    /// Upbit supports permessage-deflate: offer it.
    fn connection(&self, connection: &mut ConnectionConfig) {
        connection.ws.deflate = Some(orderwire_protocol::ws::DeflateConfig::default());
    }

    fn offline_codec(&self, book_depth: u32) -> Box<dyn Venue> {
        orderwire_protocol::venue::upbit::offline_codec(book_depth)
    }

    fn replayer(
        &self,
        header: &orderwire_protocol::capture::Header,
    ) -> Result<Box<dyn orderwire_engine::gateway::replay::Replay>, String> {
        let codec = Upbit::from_capture(header)?;
        Ok(Box::new(orderwire_engine::gateway::replay::Replayer::new(
            codec, header,
        )?))
    }

    fn demo(&self, options: &DemoOptions) -> Result<Box<dyn DemoVenue>, String> {
        UpbitDemo::start(options).map(|demo| Box::new(demo) as Box<dyn DemoVenue>)
    }
}

impl VenueMock for MockUpbit {
    fn url(&self, _venue: &str, private: bool) -> String {
        if private {
            self.private_url()
        } else {
            self.public_url()
        }
    }

    fn ca_file(&self) -> std::path::PathBuf {
        MockUpbit::ca_file(self)
    }

    fn credential(&self, name: &str) -> Option<Secret> {
        let (access_key, secret_key) = self.keys();
        match name {
            "access_key" => Some(Secret::new(access_key)),
            "secret_key" => Some(Secret::new(secret_key)),
            _ => None,
        }
    }
}

const MARKETS: [&str; 2] = ["KRW-BTC", "KRW-ETH"];

/// Upbit's part of the demo.
struct UpbitDemo {
    mock: MockUpbit,
    public: Driver<Upbit>,
    private: Driver<Upbit>,
    symbol: Symbol,
}

impl UpbitDemo {
    fn start(options: &DemoOptions) -> Result<UpbitDemo, String> {
        let mock = MockUpbit::start(options.mock.live(MockConfig::default()))
            .map_err(|e| format!("mock Upbit: {e}"))?;
        let symbols: Vec<_> = MARKETS.iter().filter_map(|m| inline(m)).collect();
        let connection = |url: String| -> Result<ConnectionConfig, String> {
            let mut connection = ConnectionConfig::new(url);
            connection.tls = Some(trust(&mock.ca_file())?);
            UPBIT.connection(&mut connection);
            Ok(connection)
        };
        let public = crate::demo::start_exchange(
            options,
            "upbit-public-demo",
            Upbit::public(),
            ExchangeConfig {
                engine: options.engine.clone(),
                connection: connection(mock.public_url())?,
                gateway: GatewayConfig {
                    subscriptions: vec![
                        Subscription::Ticker {
                            symbols: symbols.clone(),
                        },
                        Subscription::Trades {
                            symbols: symbols.clone(),
                        },
                        Subscription::Book {
                            symbols: symbols.clone(),
                            depth: 15,
                        },
                    ],
                    ..GatewayConfig::default()
                },
                on_request: options.verbose.then(crate::demo::print_requests),
                token_fetch: None,
                capture: options.capture_for("upbit-public-demo", false),
            },
        )
        .map_err(|e| e.to_string())?;
        let (access_key, secret_key) = mock.keys();
        let private = crate::demo::start_exchange(
            options,
            "upbit-private-demo",
            Upbit::private(Credentials {
                access_key: Secret::new(access_key),
                secret_key: Secret::new(secret_key),
            }),
            ExchangeConfig {
                engine: options.engine.clone(),
                connection: connection(mock.private_url())?,
                gateway: GatewayConfig {
                    subscriptions: vec![Subscription::Executions {
                        snapshot_orders: false,
                        snapshot_trades: false,
                    }],
                    ..GatewayConfig::default()
                },
                on_request: None,
                token_fetch: None,
                capture: options.capture_for("upbit-private-demo", true),
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(UpbitDemo {
            mock,
            public,
            private,
            symbol: symbols.first().copied().ok_or("symbol")?,
        })
    }
}

impl DemoVenue for UpbitDemo {
    fn title(&self) -> &'static str {
        "Upbit"
    }

    fn exchanges(&self) -> Vec<Arc<dyn AnyExchange>> {
        vec![
            Arc::new(self.public.clone()),
            Arc::new(self.private.clone()),
        ]
    }

    fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// Both connections up (Upbit acknowledges no subscription).
    /// Both connected, and the mock has taken both subscriptions: Upbit
    /// acknowledges none, and a private event published before the
    /// `myOrder` subscription is read goes to no one (as on Upbit), so an
    /// order placed on `connected` alone could be missed.
    fn ready(&self, tally: &Tally) -> bool {
        tally.connected >= 2 && self.mock.stats().requests >= 2
    }

    /// PING: Upbit answers {"status":"UP"}, and repeats it every 10 s.
    fn on_ready(&mut self) -> Result<(), String> {
        self.public
            .submit(Request::Ping)
            .map(|_| ())
            .map_err(|e| format!("PING refused: {e}"))
    }

    fn step(&self, _n: usize) -> Step {
        Step::Elsewhere
    }

    /// Another account's trade, then the demo's own order over REST,
    /// which takes the best ask (a price well above it).
    fn place_elsewhere(&mut self, n: usize) -> Result<PlacedElsewhere, String> {
        let dec = |text: &str| text.parse::<Decimal>().map_err(|_| text.to_owned());
        let market = MARKETS[n % 2];
        self.mock.house_trade(
            market,
            if n % 3 == 0 { Side::Sell } else { Side::Buy },
            dec("0.01")?,
        );
        let price = if market == "KRW-BTC" {
            dec("110000000")?
        } else {
            dec("4000000")?
        };
        let id = format!("demo-{n:04}");
        self.mock
            .place(market, Side::Buy, price, dec("0.02")?, &id)
            .map_err(|e| format!("mock REST order: {e}"))?;
        Ok(PlacedElsewhere {
            key: inline(&id).ok_or("client id")?,
            ends: true,
        })
    }

    fn settle(&self) -> Duration {
        Duration::from_millis(100)
    }

    fn notes(&mut self, tally: &Tally) -> Vec<String> {
        let stats = self.mock.stats();
        vec![
            format!(
                "books replaced (every orderbook message is a whole book): {}",
                tally.book_snapshots + tally.book_deltas
            ),
            format!("balances: {}", tally.balances),
            format!(
                "UP heartbeats (PING answered, then every 10 s): {}",
                stats.ups
            ),
            format!(
                "permessage-deflate: negotiated on {} of {} connections",
                stats.deflate, stats.connections
            ),
        ]
    }
}
