//! Exchanges created once at start-up from a service config, then fetched
//! anywhere: `orderwire::service::start(&config)` checks everything that
//! can be checked before connecting (endpoints, credentials, names), then
//! creates each exchange in `Registry::global()`, where
//! `Registry::global().get::<Exchange<Kraken>>("kraken")` finds it from
//! any thread (`[engine] mode = "inline"`: `get::<Mutex<InlineExchange<
//! Kraken>>>`, driven by the thread that polls the service).
//! docs/service.md is the reference.

mod config;
mod credentials;
mod driver;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::gateway::{
    ExchangeConfig, GatewayConfig, GatewayEvent, Outputs, RateBudget, Registry, RegistryError,
    RequestCallback, Submission, SubmitError,
};
use orderwire_engine::{ConnectionConfig, EngineConfig, TlsConfig};
use orderwire_protocol::model::{Request, Subscription, Symbol, inline};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::Venue;
use orderwire_protocol::venue::binance::{BinanceApi, BinanceStreams, Credentials, Signer};
use orderwire_protocol::venue::digifinex::{self, DigiFinex};
use orderwire_protocol::venue::kraken::{Kraken, Tier};
use orderwire_protocol::venue::upbit::{self, Upbit};

pub use self::config::{
    Channel, ConfigError, ConfigErrorKind, CredentialNames, EngineSection, ExchangeSection,
    GatewaySection, Limited, Mode, ServiceConfig, SubscriptionSection, VenueKind, Wait,
};
pub use self::credentials::{CredentialSource, ed25519_key_from_pem};
pub use self::driver::Driver;

use crate::mock::binance::{MockBinance, MockConfig as BinanceMockConfig};
use crate::mock::digifinex::{MockConfig as DigiFinexMockConfig, MockDigiFinex};
use crate::mock::kraken::{MockConfig as KrakenMockConfig, MockKraken};
use crate::mock::upbit::{MockConfig as UpbitMockConfig, MockUpbit};

/// How to start.
#[derive(Clone, Default)]
pub struct StartOptions {
    /// Start the mock venues in process and point every exchange at its
    /// venue's mock, with the mock's credentials (no keys needed).
    pub mock: bool,
    /// Called for every request of every exchange when it ends.
    pub on_request: Option<RequestCallback>,
    /// The registry to create the exchanges in (default: the global one).
    pub registry: Option<&'static Registry>,
    /// Runs every exchange on this driver, whatever `[engine] mode` says
    /// (the CLI's `--mode`).
    pub mode: Option<Mode>,
}

/// Why a service did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The config is wrong (file, line, field, reason).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A mock venue did not start.
    #[error("mock {venue}: {error}")]
    Mock {
        /// Which.
        venue: &'static str,
        /// Why.
        error: std::io::Error,
    },
    /// An exchange did not start, or its name is taken in the registry.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// One started exchange, whatever its venue and driver.
#[derive(Clone)]
pub struct ServiceExchange {
    name: Arc<str>,
    mode: Mode,
    venue: ServiceVenue,
}

/// The exchange by venue.
#[derive(Clone)]
pub enum ServiceVenue {
    /// Kraken.
    Kraken(Driver<Kraken>),
    /// Binance's WebSocket API.
    Binance(Driver<BinanceApi>),
    /// Binance's market streams.
    BinanceStreams(Driver<BinanceStreams>),
    /// Upbit (public or private endpoint).
    Upbit(Driver<Upbit>),
    /// DigiFinex.
    DigiFinex(Driver<DigiFinex>),
}

macro_rules! each {
    ($self:expr, $exchange:ident => $body:expr) => {
        match &$self.venue {
            ServiceVenue::Kraken($exchange) => $body,
            ServiceVenue::Binance($exchange) => $body,
            ServiceVenue::BinanceStreams($exchange) => $body,
            ServiceVenue::Upbit($exchange) => $body,
            ServiceVenue::DigiFinex($exchange) => $body,
        }
    };
}

impl ServiceExchange {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The driver it runs on.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The exchange by venue, for what the venue alone offers.
    pub fn by_venue(&self) -> &ServiceVenue {
        &self.venue
    }

    /// The venue's name in events.
    pub fn venue(&self) -> &'static str {
        each!(self, e => e.venue())
    }

    /// See [`Driver::poll`].
    pub fn poll(&self, on_event: impl FnMut(&GatewayEvent, &Outputs)) -> usize {
        each!(self, e => e.poll(on_event))
    }

    /// See [`Driver::submit`].
    pub fn submit(&self, request: Request<'_>) -> Result<Submission, SubmitError> {
        each!(self, e => e.submit(request))
    }

    /// Whether it takes orders.
    pub fn takes_orders(&self) -> bool {
        each!(self, e => e.takes_orders())
    }

    /// Its request latencies so far (a copy).
    pub fn latency(&self) -> orderwire_engine::gateway::LatencyBook {
        each!(self, e => e.latency())
    }

    /// Its orders in `status`.
    pub fn count_orders(&self, status: orderwire_protocol::model::OrderStatus) -> usize {
        each!(self, e => e.count_orders(status))
    }

    /// Closes the connection with a close handshake.
    pub fn shutdown(&self, grace: Duration) {
        each!(self, e => e.shutdown(grace))
    }
}

/// A started service: its exchanges (also in the registry) and the mocks it
/// started. Dropping it shuts everything down.
pub struct Service {
    exchanges: Vec<(ServiceExchange, Plan)>,
    registry: &'static Registry,
    _kraken_mock: Option<MockKraken>,
    _binance_mock: Option<MockBinance>,
    _upbit_mock: Option<MockUpbit>,
    _digifinex_mock: Option<MockDigiFinex>,
}

/// What an exchange was made from, kept for the shutdown.
#[derive(Clone)]
struct Plan {
    cancel_on_shutdown: bool,
    symbols: Vec<Symbol>,
}

impl Service {
    /// The exchanges, in config order.
    pub fn exchanges(&self) -> impl Iterator<Item = &ServiceExchange> {
        self.exchanges.iter().map(|(e, _)| e)
    }

    /// Shuts down cleanly: cancels open orders where the config says so
    /// (the dead-man switch, where configured, covers what is left), then
    /// closes every connection with a close handshake, and takes the
    /// exchanges out of the registry.
    pub fn shutdown(&mut self, grace: Duration) {
        for (exchange, plan) in &self.exchanges {
            if plan.cancel_on_shutdown && exchange.takes_orders() {
                cancel_everything(exchange, &plan.symbols);
            }
        }
        // The cancels' answers, briefly.
        let until = std::time::Instant::now() + grace.min(Duration::from_millis(500));
        while std::time::Instant::now() < until {
            let mut busy = 0;
            for (exchange, _) in &self.exchanges {
                busy += exchange.poll(|_, _| {});
            }
            if busy == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        for (exchange, _) in self.exchanges.drain(..) {
            exchange.shutdown(grace);
            remove(self.registry, &exchange);
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.shutdown(Duration::from_millis(200));
    }
}

fn remove(registry: &Registry, exchange: &ServiceExchange) {
    each!(exchange, e => e.remove_from(registry, exchange.name()));
}

fn cancel_everything(exchange: &ServiceExchange, symbols: &[Symbol]) {
    let result = match exchange.by_venue() {
        // Kraken cancels every pair at once.
        ServiceVenue::Kraken(_) => exchange.submit(Request::CancelAll { symbol: None }),
        // Binance cancels per pair: the pairs the config names.
        _ if symbols.is_empty() => {
            tracing::warn!(
                exchange = exchange.name(),
                "cancel_on_shutdown: no pairs named in the subscriptions, nothing canceled"
            );
            return;
        }
        _ => symbols
            .iter()
            .map(|s| exchange.submit(Request::CancelAll { symbol: Some(*s) }))
            .find(Result::is_err)
            .unwrap_or(Ok(Submission::Queued)),
    };
    if let Err(error) = result {
        tracing::warn!(exchange = exchange.name(), %error, "cancel on shutdown not sent");
    } else {
        tracing::info!(
            exchange = exchange.name(),
            "open orders canceled on shutdown"
        );
    }
}

/// Everything an exchange needs, resolved before anything connects.
struct Resolved {
    name: String,
    kind: VenueKind,
    url: String,
    tls: Option<TlsConfig>,
    engine: EngineConfig,
    /// The driver (`[engine] mode`, or the CLI's `--mode`).
    mode: Mode,
    gateway: GatewayConfig,
    credentials: ResolvedCredentials,
    budget: Option<String>,
    plan: Plan,
}

enum ResolvedCredentials {
    None,
    Kraken {
        token: Secret,
        tier: Tier,
    },
    Binance {
        api_key: Secret,
        signer: Signer,
        logon: bool,
    },
    /// Keys, or none for the public feed.
    Upbit(Option<upbit::Credentials>),
    /// Keys, or none for market data only.
    DigiFinex(Option<digifinex::Credentials>),
}

/// Starts every exchange of `config` in `Registry::global()`.
pub fn start(config: &ServiceConfig) -> Result<Service, ServiceError> {
    start_with(config, StartOptions::default())
}

/// Starts every exchange of `config`, with options (the mocks, a callback).
pub fn start_with(config: &ServiceConfig, options: StartOptions) -> Result<Service, ServiceError> {
    let registry = options.registry.unwrap_or_else(Registry::global);
    let dotenv = config.env_file.clone().map_or_else(
        || config.path.with_file_name(".env"),
        |path| {
            config
                .path
                .parent()
                .map_or(path.clone(), |dir| dir.join(&path))
        },
    );
    let source = CredentialSource::new(Some(&dotenv)).map_err(|reason| ConfigError {
        file: dotenv.clone(),
        line: None,
        field: None,
        kind: ConfigErrorKind::Invalid(reason),
    })?;
    let needs = |kind: VenueKind| {
        options.mock
            && config.ws_apis.iter().any(|e| {
                *e.exchange.get_ref() == kind
                    || (kind == VenueKind::Binance
                        && *e.exchange.get_ref() == VenueKind::BinanceStreams)
            })
    };
    let kraken_mock = start_mock(needs(VenueKind::Kraken), "kraken", || {
        MockKraken::start(KrakenMockConfig::default())
    })?;
    let binance_mock = start_mock(needs(VenueKind::Binance), "binance", || {
        MockBinance::start(BinanceMockConfig::default())
    })?;
    let upbit_mock = start_mock(needs(VenueKind::Upbit), "upbit", || {
        MockUpbit::start(UpbitMockConfig::default())
    })?;
    let digifinex_mock = start_mock(needs(VenueKind::Digifinex), "digifinex", || {
        MockDigiFinex::start(DigiFinexMockConfig::default())
    })?;
    let mocks = Mocks {
        kraken: kraken_mock.as_ref(),
        binance: binance_mock.as_ref(),
        upbit: upbit_mock.as_ref(),
        digifinex: digifinex_mock.as_ref(),
    };
    // Everything checked first: nothing connects if anything is wrong.
    let mut resolved = Vec::new();
    for (index, exchange) in config.ws_apis.iter().enumerate() {
        resolved.push(resolve(config, index, exchange, &source, &mocks)?);
    }
    let mut budgets: HashMap<String, RateBudget> = HashMap::new();
    let mut service = Service {
        exchanges: Vec::new(),
        registry,
        _kraken_mock: None,
        _binance_mock: None,
        _upbit_mock: None,
        _digifinex_mock: None,
    };
    for mut plan in resolved {
        if let Some(name) = &plan.budget {
            let budget = budgets.entry(name.clone()).or_insert_with(|| {
                RateBudget::new(rate_policy(&plan), plan.gateway.rate_headroom_percent)
            });
            plan.gateway.rate_budget = Some(budget.shared());
        }
        if let Some(mode) = options.mode {
            plan.mode = mode;
        }
        let exchange = create(registry, plan, options.on_request.clone())?;
        tracing::info!(
            exchange = exchange.0.name(),
            venue = exchange.0.venue(),
            mode = ?exchange.0.mode(),
            "exchange created"
        );
        service.exchanges.push(exchange);
    }
    service._kraken_mock = kraken_mock;
    service._binance_mock = binance_mock;
    service._upbit_mock = upbit_mock;
    service._digifinex_mock = digifinex_mock;
    Ok(service)
}

/// The mock of one venue, if the config needs it.
fn start_mock<M>(
    needed: bool,
    venue: &'static str,
    start: impl FnOnce() -> std::io::Result<M>,
) -> Result<Option<M>, ServiceError> {
    needed
        .then(start)
        .transpose()
        .map_err(|error| ServiceError::Mock { venue, error })
}

struct Mocks<'a> {
    kraken: Option<&'a MockKraken>,
    binance: Option<&'a MockBinance>,
    upbit: Option<&'a MockUpbit>,
    digifinex: Option<&'a MockDigiFinex>,
}

/// The venue's rate policy, for a shared budget.
fn rate_policy(plan: &Resolved) -> orderwire_protocol::venue::RatePolicy {
    match (&plan.kind, &plan.credentials) {
        (VenueKind::Kraken, ResolvedCredentials::Kraken { tier, .. }) => {
            Kraken::new(None, *tier).rate_policy()
        }
        (VenueKind::BinanceStreams, _) => BinanceStreams::new().rate_policy(),
        (VenueKind::Kraken, _) => Kraken::public().rate_policy(),
        (VenueKind::Binance, _) => BinanceApi::new(None).rate_policy(),
        (VenueKind::Upbit, _) => Upbit::public().rate_policy(),
        (VenueKind::Digifinex, _) => DigiFinex::public().rate_policy(),
    }
}

fn resolve(
    config: &ServiceConfig,
    index: usize,
    exchange: &ExchangeSection,
    source: &CredentialSource,
    mocks: &Mocks<'_>,
) -> Result<Resolved, ConfigError> {
    let kind = *exchange.exchange.get_ref();
    let field = |name: &str| format!("ws_apis[{index}].{name}");
    let endpoint_span = exchange.endpoint.as_ref().map(toml::Spanned::span);
    let endpoint = exchange
        .endpoint
        .as_ref()
        .map_or("production", |e| e.get_ref().as_str());
    let mocked = mocks.kraken.is_some()
        || mocks.binance.is_some()
        || mocks.upbit.is_some()
        || mocks.digifinex.is_some();
    // Upbit and DigiFinex are private when keys are named.
    let names = &exchange.credentials;
    let private = match kind {
        VenueKind::Upbit => names.access_key.is_some() || names.secret_key.is_some(),
        VenueKind::Digifinex => names.api_key.is_some() || names.api_secret.is_some(),
        _ => true,
    };
    let (url, tls) = if mocked {
        mock_endpoint(kind, private, mocks)
    } else {
        let url = match (endpoint, kind) {
            ("production", VenueKind::Kraken) => "wss://ws-auth.kraken.com/v2".to_owned(),
            ("testnet", VenueKind::Kraken) => "wss://beta-ws-auth.kraken.com/v2".to_owned(),
            ("production", VenueKind::Binance) => {
                "wss://ws-api.binance.com:443/ws-api/v3".to_owned()
            }
            ("testnet", VenueKind::Binance) => {
                "wss://ws-api.testnet.binance.vision/ws-api/v3".to_owned()
            }
            ("production", VenueKind::BinanceStreams) => {
                "wss://stream.binance.com:9443/ws".to_owned()
            }
            ("testnet", VenueKind::BinanceStreams) => {
                "wss://stream.testnet.binance.vision/ws".to_owned()
            }
            ("production", VenueKind::Upbit) if private => {
                "wss://api.upbit.com/websocket/v1/private".to_owned()
            }
            ("production", VenueKind::Upbit) => "wss://api.upbit.com/websocket/v1".to_owned(),
            ("production", VenueKind::Digifinex) => digifinex::URL.to_owned(),
            ("testnet", VenueKind::Upbit | VenueKind::Digifinex) => {
                return Err(config.error(
                    endpoint_span,
                    field("endpoint"),
                    ConfigErrorKind::BadUrl(format!("{} has no testnet", kind.as_str())),
                ));
            }
            ("mock", _) => {
                return Err(config.error(
                    endpoint_span,
                    field("endpoint"),
                    ConfigErrorKind::BadUrl("`mock` needs the mocks started (--mock)".into()),
                ));
            }
            (url, _) => {
                check_url(url).map_err(|reason| {
                    config.error(
                        endpoint_span.clone(),
                        field("endpoint"),
                        ConfigErrorKind::BadUrl(reason),
                    )
                })?;
                url.to_owned()
            }
        };
        let tls = match &exchange.tls_ca_file {
            None => None,
            Some(file) => {
                let path = config
                    .path
                    .parent()
                    .map_or_else(|| file.get_ref().clone(), |dir| dir.join(file.get_ref()));
                Some(TlsConfig::with_extra_ca_file(&path).map_err(|e| {
                    config.error(
                        Some(file.span()),
                        field("tls_ca_file"),
                        ConfigErrorKind::Invalid(e.to_string()),
                    )
                })?)
            }
        };
        (url, tls)
    };
    let tier = exchange
        .tier
        .as_ref()
        .and_then(|t| config::kraken_tier(t.get_ref()))
        .unwrap_or_default();
    let secret = |name: &Option<toml::Spanned<String>>, what: &'static str| {
        let Some(variable) = name else {
            return Err(config.error(
                Some(exchange.exchange.span()),
                field("credentials"),
                ConfigErrorKind::MissingCredential(what),
            ));
        };
        source.get(variable.get_ref()).ok_or_else(|| {
            config.error(
                Some(variable.span()),
                field(&format!("credentials.{what}")),
                ConfigErrorKind::MissingSecret {
                    variable: variable.get_ref().clone(),
                },
            )
        })
    };
    let credentials = match (kind, mocked) {
        (VenueKind::BinanceStreams, _) => ResolvedCredentials::None,
        (VenueKind::Upbit, _) if !private => ResolvedCredentials::Upbit(None),
        (VenueKind::Upbit, true) => {
            let (access_key, secret_key) = mocks.upbit.map(MockUpbit::keys).unwrap_or_default();
            ResolvedCredentials::Upbit(Some(upbit::Credentials {
                access_key: Secret::new(access_key),
                secret_key: Secret::new(secret_key),
            }))
        }
        (VenueKind::Upbit, false) => ResolvedCredentials::Upbit(Some(upbit::Credentials {
            access_key: secret(&names.access_key, "access_key")?,
            secret_key: secret(&names.secret_key, "secret_key")?,
        })),
        (VenueKind::Digifinex, _) if !private => ResolvedCredentials::DigiFinex(None),
        (VenueKind::Digifinex, true) => {
            let (api_key, secret) = mocks.digifinex.map(MockDigiFinex::keys).unwrap_or_default();
            ResolvedCredentials::DigiFinex(Some(digifinex::Credentials {
                api_key: Secret::new(api_key),
                secret: Secret::new(secret),
            }))
        }
        (VenueKind::Digifinex, false) => {
            ResolvedCredentials::DigiFinex(Some(digifinex::Credentials {
                api_key: secret(&names.api_key, "api_key")?,
                secret: secret(&names.api_secret, "api_secret")?,
            }))
        }
        (VenueKind::Kraken, true) => ResolvedCredentials::Kraken {
            token: Secret::new(mocks.kraken.map_or("", |m| m.token())),
            tier,
        },
        (VenueKind::Kraken, false) => ResolvedCredentials::Kraken {
            token: secret(&names.token, "token")?,
            tier,
        },
        (VenueKind::Binance, true) => {
            let mock = BinanceMockConfig::default();
            ResolvedCredentials::Binance {
                api_key: Secret::new(mock.api_key),
                signer: Signer::Hmac(Secret::new(mock.hmac_secret.unwrap_or_default())),
                logon: false,
            }
        }
        (VenueKind::Binance, false) => {
            let api_key = secret(&names.api_key, "api_key")?;
            let (signer, logon) = match (&names.hmac_secret, &names.ed25519_key_file) {
                (Some(_), _) => (
                    Signer::Hmac(secret(&names.hmac_secret, "hmac_secret")?),
                    false,
                ),
                (None, Some(variable)) => {
                    let path = secret(&names.ed25519_key_file, "ed25519_key_file")?;
                    let pem = std::fs::read_to_string(path.expose()).map_err(|e| {
                        config.error(
                            Some(variable.span()),
                            field("credentials.ed25519_key_file"),
                            ConfigErrorKind::Invalid(format!(
                                "the key file named by {} cannot be read: {}",
                                variable.get_ref(),
                                e.kind()
                            )),
                        )
                    })?;
                    let key = ed25519_key_from_pem(&pem).map_err(|reason| {
                        config.error(
                            Some(variable.span()),
                            field("credentials.ed25519_key_file"),
                            ConfigErrorKind::Invalid(reason.to_owned()),
                        )
                    })?;
                    (Signer::ed25519_from_bytes(&key), true)
                }
                (None, None) => {
                    return Err(config.error(
                        Some(exchange.exchange.span()),
                        field("credentials"),
                        ConfigErrorKind::MissingCredential("hmac_secret or ed25519_key_file"),
                    ));
                }
            };
            ResolvedCredentials::Binance {
                api_key,
                signer,
                logon,
            }
        }
    };
    let mut subscriptions = Vec::new();
    let mut symbols = Vec::new();
    for symbol in &exchange.symbols {
        let Some(symbol) = inline(symbol) else {
            return Err(config.error(
                Some(exchange.name.span()),
                field("symbols"),
                ConfigErrorKind::Invalid(format!("symbol {symbol:?} is too long")),
            ));
        };
        symbols.push(symbol);
    }
    for (n, sub) in exchange.subscriptions.iter().enumerate() {
        let mut listed = Vec::new();
        for symbol in &sub.symbols {
            let Some(symbol) = inline(symbol) else {
                return Err(config.error(
                    Some(exchange.name.span()),
                    field(&format!("subscriptions[{n}].symbols")),
                    ConfigErrorKind::Invalid(format!("symbol {symbol:?} is too long")),
                ));
            };
            listed.push(symbol);
            if !symbols.contains(&symbol) {
                symbols.push(symbol);
            }
        }
        subscriptions.push(match sub.channel {
            Channel::Book => Subscription::Book {
                symbols: listed,
                depth: sub.depth.unwrap_or(10),
            },
            Channel::Trades => Subscription::Trades { symbols: listed },
            Channel::Ticker => Subscription::Ticker { symbols: listed },
            Channel::Executions => Subscription::Executions {
                snapshot_orders: true,
                snapshot_trades: false,
            },
            Channel::Orders => Subscription::Orders { symbols: listed },
            Channel::Balances => Subscription::Balances { assets: listed },
        });
    }
    let gateway_section = config.gateway_section(exchange);
    let mut gateway = gateway_section.apply(GatewayConfig::default());
    gateway.subscriptions = subscriptions;
    Ok(Resolved {
        name: exchange.name.get_ref().clone(),
        kind,
        url,
        tls,
        mode: config.engine_section(exchange).mode.unwrap_or_default(),
        engine: config.engine_section(exchange).apply(EngineConfig {
            thread_name: format!("orderwire-{}", exchange.name.get_ref()),
            ..EngineConfig::default()
        }),
        gateway,
        credentials,
        budget: exchange.rate_budget.clone(),
        plan: Plan {
            cancel_on_shutdown: gateway_section.cancel_on_shutdown.unwrap_or(false),
            symbols,
        },
    })
}

/// A usable `ws://` or `wss://` URL with a host.
fn check_url(url: &str) -> Result<(), String> {
    let shown = printable_url(url);
    let uri: tungstenite::http::Uri = url.parse().map_err(|e| format!("{shown:?}: {e}"))?;
    match uri.scheme_str() {
        Some("ws" | "wss") => {}
        _ => return Err(format!("{shown:?}: the scheme must be ws or wss")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{shown:?}: no host"));
    }
    Ok(())
}

/// A URL as an error may show it: no user information (`user:pass@`) and
/// no query (a listen key, a token), which may be secrets.
fn printable_url(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or("");
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => without_query.to_owned(),
    }
}

fn mock_endpoint(kind: VenueKind, private: bool, mocks: &Mocks<'_>) -> (String, Option<TlsConfig>) {
    let trust = |ca: PathBuf| TlsConfig::with_extra_ca_file(&ca).ok();
    match kind {
        VenueKind::Kraken => mocks.kraken.map(|m| (m.url(), trust(m.ca_file()))),
        VenueKind::Binance => mocks.binance.map(|m| (m.api_url(), trust(m.ca_file()))),
        VenueKind::BinanceStreams => mocks.binance.map(|m| (m.streams_url(), trust(m.ca_file()))),
        VenueKind::Upbit => mocks.upbit.map(|m| {
            let url = if private {
                m.private_url()
            } else {
                m.public_url()
            };
            (url, trust(m.ca_file()))
        }),
        VenueKind::Digifinex => mocks.digifinex.map(|m| (m.url(), trust(m.ca_file()))),
    }
    // `start_with` starts a mock for every venue the config names.
    .unwrap_or_default()
}

fn create(
    registry: &Registry,
    plan: Resolved,
    on_request: Option<RequestCallback>,
) -> Result<(ServiceExchange, Plan), RegistryError> {
    let mut connection = ConnectionConfig::new(plan.url.clone());
    connection.tls = plan.tls.clone();
    let config = ExchangeConfig {
        engine: plan.engine,
        connection,
        gateway: plan.gateway,
        on_request,
        token_fetch: None,
    };
    let name = plan.name.as_str();
    let mode = plan.mode;
    let venue = match (plan.kind, plan.credentials) {
        (VenueKind::Kraken, ResolvedCredentials::Kraken { token, tier }) => ServiceVenue::Kraken(
            Driver::create(registry, mode, name, Kraken::new(Some(token), tier), config)?,
        ),
        (
            VenueKind::Binance,
            ResolvedCredentials::Binance {
                api_key,
                signer,
                logon,
            },
        ) => {
            let mut codec = BinanceApi::new(Some(Credentials { api_key, signer }));
            codec.set_session_logon(logon);
            ServiceVenue::Binance(Driver::create(registry, mode, name, codec, config)?)
        }
        (VenueKind::BinanceStreams, _) => ServiceVenue::BinanceStreams(Driver::create(
            registry,
            mode,
            name,
            BinanceStreams::new(),
            config,
        )?),
        (VenueKind::Upbit, ResolvedCredentials::Upbit(keys)) => {
            let mut config = config;
            // Upbit supports permessage-deflate: offer it.
            config.connection.ws.deflate = Some(orderwire_protocol::ws::DeflateConfig::default());
            let codec = keys.map_or_else(Upbit::public, Upbit::private);
            ServiceVenue::Upbit(Driver::create(registry, mode, name, codec, config)?)
        }
        (VenueKind::Digifinex, ResolvedCredentials::DigiFinex(keys)) => {
            let codec = keys.map_or_else(DigiFinex::public, DigiFinex::private);
            ServiceVenue::DigiFinex(Driver::create(registry, mode, name, codec, config)?)
        }
        // `resolve` pairs every venue with its credentials.
        (_, _) => {
            return Err(RegistryError::Build {
                id: name.to_owned(),
                error: Arc::new(ExchangeErrorText(
                    "credentials do not match the venue".to_owned(),
                )),
            });
        }
    };
    let exchange = ServiceExchange {
        name: Arc::from(name),
        mode,
        venue,
    };
    Ok((exchange, plan.plan))
}

/// An exchange's start error as text: the engine's error hands back the
/// connection config, which is not `Sync`, and the registry keeps errors
/// shareable.
#[derive(Debug)]
struct ExchangeErrorText(String);

fn text(error: impl std::fmt::Display) -> ExchangeErrorText {
    ExchangeErrorText(error.to_string())
}

impl std::fmt::Display for ExchangeErrorText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExchangeErrorText {}
