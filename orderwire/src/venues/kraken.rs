//! Kraken Spot WebSocket v2: its registry entry and its demo. The demo
//! runs the mock Kraken in process over wss on loopback, subscribes to the
//! book and executions, then places, amends and cancels N orders (every
//! fifth crosses the book and fills instead).

use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::gateway::{
    DeadManSwitch, Exchange, ExchangeConfig, GatewayConfig, WhenLimited,
};
use orderwire_engine::{ConnectionConfig, EngineConfig};
use orderwire_protocol::model::{Subscription, Symbol, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::Venue;
use orderwire_protocol::venue::kraken::{Kraken, Tier};

use super::{BuildContext, StartCodec, VenueEntry, VenueMock, trust};
use crate::demo::{AmendShape, DemoOptions, DemoVenue, OrderShape, Step, Tally};
use crate::mock::kraken::{MockConfig, MockKraken};
use crate::service::{AnyExchange, ConfigError, ConfigErrorKind, Driver};

/// Kraken's registry entry.
pub struct KrakenEntry;

/// The entry [`super::Venues::builtin`] lists.
pub static KRAKEN: KrakenEntry = KrakenEntry;

/// Kraken's tier by its config name.
fn tier(name: &str) -> Option<Tier> {
    match name {
        "starter" => Some(Tier::Starter),
        "intermediate" => Some(Tier::Intermediate),
        "pro" => Some(Tier::Pro),
        _ => None,
    }
}

impl VenueEntry for KrakenEntry {
    fn name(&self) -> &'static str {
        "kraken"
    }

    fn about(&self) -> &'static str {
        "Kraken Spot WebSocket v2 (orders and executions, checksummed books)"
    }

    fn credentials(&self) -> &'static [(&'static str, &'static str)] {
        &[(
            "token",
            "the WebSocket token, from REST GetWebSocketsToken (KRAKEN_WS_TOKEN)",
        )]
    }

    fn endpoint(&self, endpoint: &str, _private: bool) -> Result<Option<String>, String> {
        Ok(match endpoint {
            "production" => Some("wss://ws-auth.kraken.com/v2".to_owned()),
            "testnet" => Some("wss://beta-ws-auth.kraken.com/v2".to_owned()),
            _ => None,
        })
    }

    fn start_mock(&self, mid: Option<Decimal>) -> std::io::Result<Box<dyn VenueMock>> {
        Ok(Box::new(
            super::with_mid(MockKraken::builder(), mid).start()?,
        ))
    }

    fn build(&self, context: &BuildContext<'_>) -> Result<Box<dyn StartCodec>, ConfigError> {
        let tier = match &context.section().tier {
            None => Tier::default(),
            Some(name) => tier(name.get_ref()).ok_or_else(|| {
                context.error(
                    Some(name.span()),
                    "tier",
                    ConfigErrorKind::Invalid(format!(
                        "unknown tier {:?} (starter, intermediate, pro)",
                        name.get_ref()
                    )),
                )
            })?,
        };
        let token = context.required("token")?;
        Ok(Box::new(Kraken::new(Some(token), tier)))
    }

    fn cancels_every_pair_at_once(&self) -> bool {
        true
    }

    fn offline_codec(&self, book_depth: u32) -> Box<dyn Venue> {
        orderwire_protocol::venue::kraken::offline_codec(book_depth)
    }

    fn demo(&self, options: &DemoOptions) -> Result<Box<dyn DemoVenue>, String> {
        KrakenDemo::start(options).map(|demo| Box::new(demo) as Box<dyn DemoVenue>)
    }
}

impl VenueMock for MockKraken {
    fn url(&self, _venue: &str, _private: bool) -> String {
        MockKraken::url(self)
    }

    fn ca_file(&self) -> std::path::PathBuf {
        MockKraken::ca_file(self)
    }

    fn credential(&self, name: &str) -> Option<Secret> {
        (name == "token").then(|| Secret::new(self.token()))
    }
}

/// A tier generous enough that the demo's burst is not held back long; the
/// mock enforces the same numbers (it holds the other side of the account).
const DEMO_TIER: (u64, u64) = (500_000, 250_000);

/// Kraken's part of the demo.
struct KrakenDemo {
    _mock: MockKraken,
    exchange: Arc<Exchange<Kraken>>,
    symbol: Symbol,
}

impl KrakenDemo {
    fn start(options: &DemoOptions) -> Result<KrakenDemo, String> {
        let mock = MockKraken::start(MockConfig {
            tier: DEMO_TIER,
            ..MockConfig::default()
        })
        .map_err(|e| format!("mock Kraken: {e}"))?;
        let symbol: Symbol = inline("BTC/USD").ok_or("symbol")?;
        let mut connection = ConnectionConfig::new(mock.url());
        connection.tls = Some(trust(&mock.ca_file())?);
        let venue = Kraken::new(
            Some(Secret::new(mock.token())),
            Tier::Custom {
                threshold_milli: DEMO_TIER.0,
                decay_milli_per_sec: DEMO_TIER.1,
            },
        );
        let exchange = Exchange::start(
            "kraken-demo",
            venue,
            ExchangeConfig {
                engine: EngineConfig::default(),
                connection,
                gateway: GatewayConfig {
                    when_limited: WhenLimited::Queue { capacity: 4096 },
                    dead_man: Some(DeadManSwitch {
                        timeout: Duration::from_secs(60),
                        refresh_every: Duration::from_secs(20),
                    }),
                    subscriptions: vec![
                        Subscription::Book {
                            symbols: vec![symbol],
                            depth: 10,
                        },
                        Subscription::Executions {
                            snapshot_orders: true,
                            snapshot_trades: false,
                        },
                    ],
                    ..GatewayConfig::default()
                },
                on_request: options.verbose.then(crate::demo::print_requests),
                token_fetch: None,
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(KrakenDemo {
            _mock: mock,
            exchange: Arc::new(exchange),
            symbol,
        })
    }
}

impl DemoVenue for KrakenDemo {
    fn title(&self) -> &'static str {
        "Kraken"
    }

    fn exchanges(&self) -> Vec<Arc<dyn AnyExchange>> {
        vec![Arc::new(Driver::Threaded(self.exchange.clone()))]
    }

    fn symbol(&self) -> Symbol {
        self.symbol
    }

    fn ready(&self, tally: &Tally) -> bool {
        tally.subscribed >= 2 && self.top().is_some()
    }

    /// The gateway's book is in the codec: its top, read where it is kept.
    fn top(&self) -> Option<(Decimal, Decimal)> {
        self.exchange.gateway().with_decoding_venue(|codec| {
            let book = codec.book(&self.symbol)?;
            Some((book.best_bid()?.price, book.best_ask()?.price))
        })
    }

    fn step(&self, n: usize) -> Step {
        if n % 5 == 4 {
            Step::Cross
        } else {
            Step::RestAmendCancel
        }
    }

    fn orders(&self) -> Option<OrderShape> {
        Some(OrderShape {
            connection: 0,
            rest_qty: "0.01000000",
            cross_qty: "0.00500000",
            offset: "1.0",
            tick: "0.1",
            amend: AmendShape::PriceUpTick,
            symbol_in_requests: false,
        })
    }
}
