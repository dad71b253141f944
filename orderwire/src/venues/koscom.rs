//! Koscom Open API market data: its registry entry and its demo. The demo
//! runs the mock Koscom over plain ws on loopback: `init`, then ticks and
//! a 10-level quote on several codes, a query, the whole-market feed on a
//! second connection, and a subscription past the cap refused locally;
//! each step, another account trades and the trade reaches both
//! connections.

use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::gateway::{ExchangeConfig, GatewayConfig, SubmitError};
use orderwire_protocol::model::{Request, Side, Subscription, Symbol, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::Venue;
use orderwire_protocol::venue::koscom::{self, Koscom};

use super::{BuildContext, MockOptions, StartCodec, VenueEntry, VenueMock};
use crate::demo::{DemoOptions, DemoVenue, Step, Tally};
use crate::mock::koscom::{MockConfig, MockKoscom};
use crate::service::{AnyExchange, ConfigError, ConfigErrorKind, Driver};

/// Koscom's registry entry.
pub struct KoscomEntry;

/// The entry [`super::Venues::builtin`] lists.
pub static KOSCOM: KoscomEntry = KoscomEntry;

impl VenueEntry for KoscomEntry {
    fn name(&self) -> &'static str {
        "koscom"
    }

    fn about(&self) -> &'static str {
        "Koscom Open API market data, JSON-RPC 2.0 over ws (KRX ticks, quotes, the whole-market feed)"
    }

    fn credentials(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("api_key", "the API key `init` carries (KOSCOM_API_KEY)"),
            (
                "member_name",
                "the member name `init` carries (KOSCOM_MEMBER_NAME)",
            ),
        ]
    }

    /// `testnet` is the sandbox (20 registrations); the production URL is
    /// not documented: give it as the endpoint.
    fn endpoint(&self, endpoint: &str, _private: bool) -> Result<Option<String>, String> {
        match endpoint {
            "testnet" => Ok(Some(koscom::SANDBOX_URL.to_owned())),
            "production" => Err(
                "Koscom documents no production WebSocket URL: give it as the endpoint".to_owned(),
            ),
            _ => Ok(None),
        }
    }

    fn start_mock(&self, options: &MockOptions) -> std::io::Result<Box<dyn VenueMock>> {
        Ok(Box::new(options.apply(MockKoscom::builder()).start()?))
    }

    fn build(&self, context: &BuildContext<'_>) -> Result<Box<dyn StartCodec>, ConfigError> {
        let sandbox = context
            .section()
            .endpoint
            .as_ref()
            .is_some_and(|e| e.get_ref() == "testnet");
        let member = context
            .optional("member_name")?
            .map_or_else(|| "orderwire".to_owned(), |m| m.expose().to_owned());
        if member.is_empty() {
            return Err(context.error(
                None,
                "credentials.member_name",
                ConfigErrorKind::Invalid("empty member name".into()),
            ));
        }
        let codec = Koscom::new(context.required("api_key")?, &member).with_sandbox(sandbox);
        Ok(Box::new(codec))
    }

    fn offline_codec(&self, book_depth: u32) -> Box<dyn Venue> {
        koscom::offline_codec(book_depth)
    }

    fn replayer(
        &self,
        header: &orderwire_protocol::capture::Header,
    ) -> Result<Box<dyn orderwire_engine::gateway::replay::Replay>, String> {
        let codec = Koscom::from_capture(header)?;
        Ok(Box::new(orderwire_engine::gateway::replay::Replayer::new(
            codec, header,
        )?))
    }

    fn demo(&self, options: &DemoOptions) -> Result<Box<dyn DemoVenue>, String> {
        KoscomDemo::start(options).map(|demo| Box::new(demo) as Box<dyn DemoVenue>)
    }
}

impl VenueMock for MockKoscom {
    fn url(&self, _venue: &str, _private: bool) -> String {
        MockKoscom::url(self)
    }

    fn ca_file(&self) -> std::path::PathBuf {
        MockKoscom::ca_file(self)
    }

    fn credential(&self, name: &str) -> Option<Secret> {
        match name {
            "api_key" => Some(Secret::new(self.api_key())),
            "member_name" => Some(Secret::new("mock member")),
            _ => None,
        }
    }
}

const CODES: [&str; 3] = ["005930", "000660", "035420"];

/// The demo's registration cap (a sandbox-like contract): small enough to
/// show a refusal.
const DEMO_CAP: u32 = 5;

struct KoscomDemo {
    mock: MockKoscom,
    data: Driver<Koscom>,
    feed: Driver<Koscom>,
    symbol: Symbol,
    /// What the cap said when the demo went past it.
    refused: Option<String>,
}

impl KoscomDemo {
    fn start(options: &DemoOptions) -> Result<KoscomDemo, String> {
        let mock = MockKoscom::start(options.mock.live(MockConfig::default()))
            .map_err(|e| format!("mock Koscom: {e}"))?;
        let symbols: Vec<Symbol> = CODES.iter().filter_map(|c| inline(c)).collect();
        let data_config = ExchangeConfig {
            gateway: GatewayConfig {
                subscriptions: vec![
                    Subscription::Trades {
                        symbols: symbols.clone(),
                    },
                    Subscription::Book {
                        symbols: symbols[..1].to_vec(),
                        depth: 10,
                    },
                ],
                subscription_silence: None,
                ..GatewayConfig::default()
            },
            on_request: options.verbose.then(crate::demo::print_requests),
            engine: options.engine.clone(),
            capture: options.capture_for("koscom-demo", true),
            ..mock.exchange_config_for(mock.url())
        };
        let data = crate::demo::start_exchange(
            options,
            "koscom-demo",
            mock.venue().with_cap(DEMO_CAP),
            data_config,
        )
        .map_err(|e| e.to_string())?;
        let feed = crate::demo::start_exchange(
            options,
            "koscom-feed-demo",
            mock.venue(),
            ExchangeConfig {
                engine: options.engine.clone(),
                capture: options.capture_for("koscom-feed-demo", false),
                ..mock.exchange_config_for(mock.kospi_feed_url())
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(KoscomDemo {
            mock,
            data,
            feed,
            symbol: symbols.first().copied().ok_or("symbol")?,
            refused: None,
        })
    }
}

impl DemoVenue for KoscomDemo {
    fn title(&self) -> &'static str {
        "Koscom"
    }

    fn exchanges(&self) -> Vec<Arc<dyn AnyExchange>> {
        vec![Arc::new(self.data.clone()), Arc::new(self.feed.clone())]
    }

    fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// Both inits accepted and the four registrations acknowledged.
    fn ready(&self, tally: &Tally) -> bool {
        tally.logged_in >= 2 && tally.acks >= 6
    }

    /// A query, then one registration past the cap (refused locally).
    fn on_ready(&mut self) -> Result<(), String> {
        let code = inline("000660").ok_or("code")?;
        self.data
            .submit(Request::BookSnapshot {
                symbol: code,
                limit: 10,
            })
            .map_err(|e| format!("query refused: {e}"))?;
        let ticker = Subscription::Ticker {
            symbols: vec![code, inline("035420").ok_or("code")?],
        };
        match self.data.submit(Request::Subscribe(&ticker)) {
            Err(error @ SubmitError::SubscriptionCap { .. }) => {
                self.refused = Some(error.to_string());
                Ok(())
            }
            other => Err(format!("the cap did not refuse: {other:?}")),
        }
    }

    fn step(&self, _n: usize) -> Step {
        Step::MarketTrade
    }

    fn make_trade(&mut self, n: usize) -> Result<(), String> {
        let qty: Decimal = "10".parse().map_err(|_| "qty")?;
        let side = if n % 2 == 0 { Side::Buy } else { Side::Sell };
        self.mock.house_trade(CODES[n % CODES.len()], side, qty);
        Ok(())
    }

    /// The whole-market feed sends every 500 ms.
    fn settle(&self) -> Duration {
        Duration::from_millis(700)
    }

    fn notes(&mut self, tally: &Tally) -> Vec<String> {
        let stats = self.mock.stats();
        vec![
            format!(
                "init accepted on {} connections; {} registrations; {} pushes; {} whole-market messages",
                stats.inits, stats.subscribes, stats.pushes, stats.feed_messages
            ),
            format!("queries answered: {}", stats.queries),
            format!(
                "past the cap ({DEMO_CAP}): {}",
                self.refused.as_deref().unwrap_or("not refused")
            ),
            format!(
                "trades seen: {}",
                tally.by_type.get("trade").copied().unwrap_or(0)
            ),
        ]
    }
}
