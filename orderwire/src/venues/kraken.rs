//! Kraken Spot WebSocket v2: its registry entry and its demo. The demo
//! runs the mock Kraken in process over wss on loopback, subscribes to the
//! book and executions, then places, amends and cancels N orders (every
//! fifth crosses the book and fills instead).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use orderwire_engine::ConnectionConfig;
use orderwire_engine::gateway::{
    DeadManSwitch, ExchangeConfig, GatewayConfig, TokenFetch, WhenLimited,
};
use orderwire_protocol::model::{Subscription, Symbol, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::Venue;
use orderwire_protocol::venue::kraken::{Kraken, Tier, rest};

use super::{BuildContext, MockOptions, StartCodec, VenueEntry, VenueMock, trust};
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
        &[
            (
                "api_key",
                "the REST API key (KRAKEN_API_KEY): with api_secret, the service fetches a \
                 WebSocket token at start and a fresh one before every reconnect",
            ),
            (
                "api_secret",
                "the REST API secret, base64 (KRAKEN_API_SECRET), signing GetWebSocketsToken",
            ),
            (
                "token",
                "a WebSocket token fetched elsewhere (KRAKEN_WS_TOKEN): used within 15 minutes, \
                 and not renewed",
            ),
        ]
    }

    fn endpoint(&self, endpoint: &str, _private: bool) -> Result<Option<String>, String> {
        Ok(match endpoint {
            "production" => Some("wss://ws-auth.kraken.com/v2".to_owned()),
            "testnet" => Some("wss://beta-ws-auth.kraken.com/v2".to_owned()),
            _ => None,
        })
    }

    fn start_mock(&self, options: &MockOptions) -> std::io::Result<Box<dyn VenueMock>> {
        Ok(Box::new(options.apply(MockKraken::builder()).start()?))
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
        let token = match token_source(context)? {
            Some(fetch) => fetch().map_err(|error| {
                context.error(
                    Some(context.section().exchange.span()),
                    "credentials.api_key",
                    ConfigErrorKind::Invalid(format!("GetWebSocketsToken: {error}")),
                )
            })?,
            None => context.required("token")?,
        };
        Ok(Box::new(Kraken::new(Some(token), tier)))
    }

    fn token_fetch(&self, context: &BuildContext<'_>) -> Result<Option<TokenFetch>, ConfigError> {
        token_source(context)
    }

    fn cancels_every_pair_at_once(&self) -> bool {
        true
    }

    fn offline_codec(&self, book_depth: u32) -> Box<dyn Venue> {
        orderwire_protocol::venue::kraken::offline_codec(book_depth)
    }

    fn replayer(
        &self,
        header: &orderwire_protocol::capture::Header,
    ) -> Result<Box<dyn orderwire_engine::gateway::replay::Replay>, String> {
        let codec = Kraken::from_capture(header)?;
        Ok(Box::new(orderwire_engine::gateway::replay::Replayer::new(
            codec, header,
        )?))
    }

    fn demo(&self, options: &DemoOptions) -> Result<Box<dyn DemoVenue>, String> {
        KrakenDemo::start(options).map(|demo| Box::new(demo) as Box<dyn DemoVenue>)
    }
}

/// With `api_key` and `api_secret` named, a fetch of fresh tokens from
/// REST `GetWebSocketsToken` (Kraken's, or the mock's on mocks); None when
/// the config gives a token instead.
fn token_source(context: &BuildContext<'_>) -> Result<Option<TokenFetch>, ConfigError> {
    if !(context.named("api_key") || context.named("api_secret")) {
        return Ok(None);
    }
    let key = context.required("api_key")?;
    let secret = context.required("api_secret")?;
    let base = context
        .mock_rest_url()
        .unwrap_or_else(|| rest::REST_URL.to_owned());
    let last_nonce = Arc::new(AtomicU64::new(0));
    Ok(Some(Arc::new(move || {
        fetch_ws_token(&base, &key, &secret, &last_nonce)
            .map(Secret::new)
            .map_err(Into::into)
    })))
}

/// One `GetWebSocketsToken` call: `POST <base>/0/private/GetWebSocketsToken`
/// signed as Kraken documents, with a nonce that grows with every call
/// (milliseconds since the epoch, or one more than the last). The token's
/// text, or why not (never a key, secret or token).
pub fn fetch_ws_token(
    base: &str,
    key: &Secret,
    secret: &Secret,
    last_nonce: &AtomicU64,
) -> Result<String, String> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let previous = last_nonce
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(now_ms.max(last + 1))
        })
        .unwrap_or_else(|last| last);
    let nonce = now_ms.max(previous + 1);
    let (body, sign) = rest::ws_token_request(secret, nonce).map_err(|e| e.to_string())?;
    let url = format!("{}{}", base.trim_end_matches('/'), rest::WS_TOKEN_PATH);
    let (status, answer) = super::http::post(
        &url,
        &[
            ("API-Key", key.expose()),
            ("API-Sign", &sign),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )?;
    rest::parse_ws_token(&answer)
        .map(|token| token.expose().to_owned())
        .map_err(|error| format!("HTTP {status}: {error}"))
}

impl VenueMock for MockKraken {
    fn url(&self, _venue: &str, _private: bool) -> String {
        MockKraken::url(self)
    }

    fn ca_file(&self) -> std::path::PathBuf {
        MockKraken::ca_file(self)
    }

    fn credential(&self, name: &str) -> Option<Secret> {
        let (key, secret) = self.api_credentials();
        match name {
            "token" => Some(Secret::new(self.token())),
            "api_key" => Some(Secret::new(key)),
            "api_secret" => Some(Secret::new(secret)),
            _ => None,
        }
    }

    fn rest_url(&self) -> Option<String> {
        Some(MockKraken::rest_url(self))
    }
}

/// A tier generous enough that the demo's burst is not held back long; the
/// mock enforces the same numbers (it holds the other side of the account).
const DEMO_TIER: (u64, u64) = (500_000, 250_000);

/// `DemoOptions::raised_limits` (orderwire bench): a counter that decays
/// faster than any benchmark fills it, on both sides of the account.
const RAISED_TIER: (u64, u64) = (10_000_000_000, 10_000_000_000);

/// Kraken's part of the demo.
struct KrakenDemo {
    _mock: MockKraken,
    exchange: Driver<Kraken>,
    symbol: Symbol,
}

impl KrakenDemo {
    fn start(options: &DemoOptions) -> Result<KrakenDemo, String> {
        let tier = if options.raised_limits {
            RAISED_TIER
        } else {
            DEMO_TIER
        };
        let mock = MockKraken::start(options.mock.live(MockConfig {
            tier,
            ..MockConfig::default()
        }))
        .map_err(|e| format!("mock Kraken: {e}"))?;
        let symbol: Symbol = inline("BTC/USD").ok_or("symbol")?;
        let mut connection = ConnectionConfig::new(mock.url());
        connection.tls = Some(trust(&mock.ca_file())?);
        let venue = Kraken::new(
            Some(Secret::new(mock.token())),
            Tier::Custom {
                threshold_milli: tier.0,
                decay_milli_per_sec: tier.1,
            },
        );
        let exchange = crate::demo::start_exchange(
            options,
            "kraken-demo",
            venue,
            ExchangeConfig {
                engine: options.engine.clone(),
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
                capture: options.capture_for("kraken-demo", true),
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(KrakenDemo {
            _mock: mock,
            exchange,
            symbol,
        })
    }
}

impl DemoVenue for KrakenDemo {
    fn title(&self) -> &'static str {
        "Kraken"
    }

    fn exchanges(&self) -> Vec<Arc<dyn AnyExchange>> {
        vec![Arc::new(self.exchange.clone())]
    }

    fn symbol(&self) -> Symbol {
        self.symbol
    }

    fn ready(&self, tally: &Tally) -> bool {
        tally.subscribed >= 2 && self.top().is_some()
    }

    /// The gateway's book is in the codec: its top, read where it is kept.
    fn top(&self) -> Option<(Decimal, Decimal)> {
        self.exchange.with_decoding_venue(|codec| {
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
