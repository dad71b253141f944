//! Binance Spot: two registry entries, the WebSocket API (`binance`) and
//! the market streams (`binance_streams`), sharing one mock; and the demo.
//! The demo runs two connections over wss on loopback (the API with an
//! Ed25519 key and `session.logon`, and the streams with diff depth synced
//! from a `depth` snapshot taken on the API), then N orders placed, amended
//! (keepPriority), cancel-replaced and canceled; every fifth crosses the
//! book and fills. The key is made for the run: nothing is read from disk
//! or the network.

use std::sync::Arc;

use orderwire_engine::ConnectionConfig;
use orderwire_engine::gateway::{
    ExchangeConfig, GatewayConfig, GatewayEvent, Outputs, WhenLimited,
};
use orderwire_protocol::model::{BookEvent, Event, Level, Request, Subscription, Symbol, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::Venue;
use orderwire_protocol::venue::binance::{
    AccountLimits, BinanceApi, BinanceStreams, Credentials, Signer,
};
use sha2::Digest;

use super::{BuildContext, MockOptions, StartCodec, VenueEntry, VenueMock, trust};
use crate::demo::{AmendShape, DemoOptions, DemoVenue, OrderShape, Step, Tally};
use crate::mock::binance::{MockBinance, MockConfig};
use crate::service::{AnyExchange, ConfigError, ConfigErrorKind, Driver, ed25519_key_from_pem};

/// The Binance Spot WebSocket API's registry entry.
pub struct BinanceApiEntry;

/// The Binance Spot market streams' registry entry.
pub struct BinanceStreamsEntry;

/// The WebSocket API (orders, the user data stream).
pub static BINANCE: BinanceApiEntry = BinanceApiEntry;

/// The market streams (no orders).
pub static BINANCE_STREAMS: BinanceStreamsEntry = BinanceStreamsEntry;

fn start_mock(options: &MockOptions) -> std::io::Result<Box<dyn VenueMock>> {
    Ok(Box::new(options.apply(MockBinance::builder()).start()?))
}

impl VenueEntry for BinanceApiEntry {
    fn name(&self) -> &'static str {
        "binance"
    }

    fn about(&self) -> &'static str {
        "Binance Spot WebSocket API (orders, the user data stream)"
    }

    fn credentials(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("api_key", "the API key (BINANCE_API_KEY)"),
            ("hmac_secret", "an HMAC secret (BINANCE_HMAC_SECRET)"),
            (
                "ed25519_key_file",
                "the path of an Ed25519 private key, PKCS#8 PEM, for session.logon (BINANCE_ED25519_KEY_FILE)",
            ),
        ]
    }

    fn endpoint(&self, endpoint: &str, _private: bool) -> Result<Option<String>, String> {
        Ok(match endpoint {
            "production" => Some("wss://ws-api.binance.com:443/ws-api/v3".to_owned()),
            "testnet" => Some("wss://ws-api.testnet.binance.vision/ws-api/v3".to_owned()),
            _ => None,
        })
    }

    fn mock_key(&self) -> &'static str {
        "binance"
    }

    fn start_mock(&self, options: &MockOptions) -> std::io::Result<Box<dyn VenueMock>> {
        start_mock(options)
    }

    fn build(&self, context: &BuildContext<'_>) -> Result<Box<dyn StartCodec>, ConfigError> {
        let api_key = context.required("api_key")?;
        let (signer, logon) = if let Some(hmac) = context.optional("hmac_secret")? {
            (Signer::Hmac(hmac), false)
        } else if let Some(path) = context.optional("ed25519_key_file")? {
            let variable = context.section().credentials.get("ed25519_key_file");
            let span = variable.map(toml::Spanned::span);
            let field = "credentials.ed25519_key_file";
            let pem = std::fs::read_to_string(path.expose()).map_err(|e| {
                context.error(
                    span.clone(),
                    field,
                    ConfigErrorKind::Invalid(format!(
                        "the key file named by {} cannot be read: {}",
                        variable.map_or("the config", |v| v.get_ref().as_str()),
                        e.kind()
                    )),
                )
            })?;
            let key = ed25519_key_from_pem(&pem).map_err(|reason| {
                context.error(span, field, ConfigErrorKind::Invalid(reason.to_owned()))
            })?;
            (Signer::ed25519_from_bytes(&key), true)
        } else {
            return Err(context.error(
                Some(context.section().exchange.span()),
                "credentials",
                ConfigErrorKind::MissingCredential("hmac_secret or ed25519_key_file"),
            ));
        };
        let mut codec = BinanceApi::new(Some(Credentials { api_key, signer }));
        codec.set_session_logon(logon);
        Ok(Box::new(codec))
    }

    fn offline_codec(&self, book_depth: u32) -> Box<dyn Venue> {
        orderwire_protocol::venue::binance::offline_codec(book_depth)
    }

    fn replayer(
        &self,
        header: &orderwire_protocol::capture::Header,
    ) -> Result<Box<dyn orderwire_engine::gateway::replay::Replay>, String> {
        use orderwire_engine::gateway::replay::Replayer;
        use orderwire_protocol::venue::binance::{FromCapture, from_capture};
        // Both connections' captures name the codec `binance`: the header
        // says which endpoint.
        Ok(match from_capture(header)? {
            FromCapture::Api(api) => Box::new(Replayer::new(api, header)?),
            FromCapture::Streams(streams) => Box::new(Replayer::new(streams, header)?),
        })
    }

    fn demo(&self, options: &DemoOptions) -> Result<Box<dyn DemoVenue>, String> {
        BinanceDemo::start(options).map(|demo| Box::new(demo) as Box<dyn DemoVenue>)
    }
}

impl VenueEntry for BinanceStreamsEntry {
    fn name(&self) -> &'static str {
        "binance_streams"
    }

    fn about(&self) -> &'static str {
        "Binance Spot market streams (diff depth synced from a snapshot, trades; no orders)"
    }

    fn credentials(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    fn endpoint(&self, endpoint: &str, _private: bool) -> Result<Option<String>, String> {
        Ok(match endpoint {
            "production" => Some("wss://stream.binance.com:9443/ws".to_owned()),
            "testnet" => Some("wss://stream.testnet.binance.vision/ws".to_owned()),
            _ => None,
        })
    }

    fn mock_key(&self) -> &'static str {
        "binance"
    }

    fn start_mock(&self, options: &MockOptions) -> std::io::Result<Box<dyn VenueMock>> {
        start_mock(options)
    }

    fn build(&self, _context: &BuildContext<'_>) -> Result<Box<dyn StartCodec>, ConfigError> {
        Ok(Box::new(BinanceStreams::new()))
    }

    fn offline_codec(&self, book_depth: u32) -> Box<dyn Venue> {
        orderwire_protocol::venue::binance::offline_codec(book_depth)
    }

    /// One demo for both: the streams' book prices the API's orders.
    fn demo(&self, options: &DemoOptions) -> Result<Box<dyn DemoVenue>, String> {
        BINANCE.demo(options)
    }
}

impl VenueMock for MockBinance {
    fn url(&self, venue: &str, _private: bool) -> String {
        if venue == BINANCE_STREAMS.name() {
            self.streams_url()
        } else {
            self.api_url()
        }
    }

    fn ca_file(&self) -> std::path::PathBuf {
        MockBinance::ca_file(self)
    }

    /// The mock's default account: an API key and an HMAC secret.
    fn credential(&self, name: &str) -> Option<Secret> {
        let config = MockConfig::default();
        match name {
            "api_key" => Some(Secret::new(config.api_key)),
            "hmac_secret" => config.hmac_secret.map(Secret::new),
            _ => None,
        }
    }
}

/// A fresh Ed25519 key for this run (the mock learns its public half).
fn run_key() -> [u8; 32] {
    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    sha2::Sha256::digest(seed.as_bytes()).into()
}

/// Binance's part of the demo.
struct BinanceDemo {
    _mock: MockBinance,
    api: Driver<BinanceApi>,
    streams: Driver<BinanceStreams>,
    symbol: Symbol,
    /// The streams asked for a snapshot of this pair.
    need_snapshot: Option<Symbol>,
    /// A `depth` reply on the API, for the streams' book.
    snapshot: Option<(BookEvent, Vec<Level>)>,
}

impl BinanceDemo {
    fn start(options: &DemoOptions) -> Result<BinanceDemo, String> {
        let private_key = run_key();
        let public = ed25519_dalek::SigningKey::from_bytes(&private_key)
            .verifying_key()
            .to_bytes();
        // orderwire bench: a market maker's raised limits, on both sides.
        let limits = if options.raised_limits {
            AccountLimits {
                weight_per_minute: 10_000_000,
                orders_per_10s: 10_000_000,
                orders_per_day: 1_000_000_000,
            }
        } else {
            AccountLimits::default()
        };
        let mock = MockBinance::start(options.mock.live(MockConfig {
            hmac_secret: None,
            ed25519_public: Some(public),
            weight_per_minute: limits.weight_per_minute,
            orders_per_10s: limits.orders_per_10s,
            orders_per_day: limits.orders_per_day,
            ..MockConfig::default()
        }))
        .map_err(|e| format!("mock Binance: {e}"))?;
        let symbol: Symbol = inline("BTCUSDT").ok_or("symbol")?;
        let connection = |url: String| -> Result<ConnectionConfig, String> {
            let mut connection = ConnectionConfig::new(url);
            connection.tls = Some(trust(&mock.ca_file())?);
            Ok(connection)
        };
        let mut codec = BinanceApi::new(Some(Credentials {
            api_key: Secret::new(MockConfig::default().api_key),
            signer: Signer::ed25519_from_bytes(&private_key),
        }));
        codec.set_limits(limits);
        let api = crate::demo::start_exchange(
            options,
            "binance-api-demo",
            codec,
            ExchangeConfig {
                engine: options.engine.clone(),
                connection: connection(mock.api_url())?,
                gateway: GatewayConfig {
                    when_limited: WhenLimited::Queue { capacity: 4096 },
                    subscriptions: vec![Subscription::Executions {
                        snapshot_orders: false,
                        snapshot_trades: false,
                    }],
                    ..GatewayConfig::default()
                },
                on_request: options.verbose.then(crate::demo::print_requests),
                token_fetch: None,
                capture: options.capture_for("binance-api-demo", true),
            },
        )
        .map_err(|e| e.to_string())?;
        let streams = crate::demo::start_exchange(
            options,
            "binance-streams-demo",
            BinanceStreams::new(),
            ExchangeConfig {
                engine: options.engine.clone(),
                connection: connection(mock.streams_url())?,
                gateway: GatewayConfig {
                    when_limited: WhenLimited::Queue { capacity: 64 },
                    subscriptions: vec![
                        Subscription::Book {
                            symbols: vec![symbol],
                            depth: 1000,
                        },
                        Subscription::Trades {
                            symbols: vec![symbol],
                        },
                    ],
                    ..GatewayConfig::default()
                },
                on_request: None,
                token_fetch: None,
                capture: options.capture_for("binance-streams-demo", false),
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(BinanceDemo {
            _mock: mock,
            api,
            streams,
            symbol,
            need_snapshot: None,
            snapshot: None,
        })
    }
}

impl DemoVenue for BinanceDemo {
    fn title(&self) -> &'static str {
        "Binance"
    }

    fn exchanges(&self) -> Vec<Arc<dyn AnyExchange>> {
        vec![Arc::new(self.api.clone()), Arc::new(self.streams.clone())]
    }

    fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// Logged on, the user data stream and both streams subscribed, and
    /// the book synced from its snapshot.
    fn ready(&self, tally: &Tally) -> bool {
        tally.logged_in >= 1 && tally.subscribed >= 3 && self.top().is_some()
    }

    /// A book snapshot on the API connection is a `depth` reply, to be fed
    /// to the streams; the streams ask for one when they need it.
    fn on_event(&mut self, connection: usize, event: &GatewayEvent, outputs: &Outputs) {
        match event {
            GatewayEvent::Market(Event::Book(book)) if connection == 0 => {
                let mut all = outputs.levels(&book.bids).to_vec();
                let bids = 0..all.len();
                all.extend_from_slice(outputs.levels(&book.asks));
                let mut book = book.clone();
                book.asks = bids.end..all.len();
                book.bids = bids;
                self.snapshot = Some((book, all));
            }
            GatewayEvent::Problem(Event::NeedBookSnapshot { symbol }) => {
                self.need_snapshot = Some(*symbol);
            }
            _ => {}
        }
    }

    fn after_poll(&mut self) -> Result<(), String> {
        if let Some(symbol) = self.need_snapshot.take() {
            self.api
                .submit(Request::BookSnapshot {
                    symbol,
                    limit: 1000,
                })
                .map_err(|e| format!("depth refused: {e}"))?;
        }
        if let Some((book, levels)) = self.snapshot.take() {
            self.streams.feed_book_snapshot(&book, &levels);
        }
        Ok(())
    }

    /// The synced book's best bid and ask.
    fn top(&self) -> Option<(Decimal, Decimal)> {
        self.streams.with_decoding_venue(|codec| {
            let sync = codec.book(&self.symbol)?;
            if !sync.is_synced() {
                return None;
            }
            Some((sync.book().best_bid()?.price, sync.book().best_ask()?.price))
        })
    }

    fn step(&self, n: usize) -> Step {
        match n % 5 {
            4 => Step::Cross,
            2 => Step::RestReplaceCancel,
            _ => Step::RestAmendCancel,
        }
    }

    fn orders(&self) -> Option<OrderShape> {
        Some(OrderShape {
            connection: 0,
            rest_qty: "0.01000000",
            cross_qty: "0.00500000",
            offset: "1.0",
            tick: "0.1",
            amend: AmendShape::QtyDownTo("0.00500000"),
            symbol_in_requests: true,
        })
    }
}
