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
    RequestCallback, Submission, SubmitError, TokenFetch,
};
use orderwire_engine::{ConnectionConfig, EngineConfig, TlsConfig};
use orderwire_protocol::model::{Request, Subscription, Symbol, inline};
use orderwire_protocol::venue::Venue;

pub use self::config::{
    Channel, ConfigError, ConfigErrorKind, CredentialNames, EngineSection, ExchangeSection,
    GatewaySection, Limited, MockSection, Mode, ServiceConfig, SubscriptionSection, Wait,
};
pub use self::credentials::{CredentialSource, ed25519_key_from_pem};
pub use self::driver::{AnyExchange, Driver};

use crate::venues::{BuildContext, StartCodec, VenueEntry, VenueMock, Venues};

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
    /// The venues `exchange = "..."` may name (default:
    /// [`Venues::builtin`]).
    pub venues: Option<Venues>,
    /// Capture every exchange's sessions (the CLI's `--record FILE`): one
    /// exchange to this path, several each to `<stem>.<name>.<ext>`. An
    /// exchange's own `capture =` comes first.
    pub record: Option<PathBuf>,
    /// With `mock`: the mocks' timing and order flow (the CLI's
    /// `--mock-rate`, `--mock-delay`, `--mock-stall`); their mids come
    /// from `[mock] mid`.
    pub mock_options: crate::mock::MockOptions,
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
    entry: &'static dyn VenueEntry,
    exchange: Arc<dyn AnyExchange>,
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

    /// Its venue's registry entry.
    pub fn entry(&self) -> &'static dyn VenueEntry {
        self.entry
    }

    /// The exchange, whatever its venue.
    pub fn exchange(&self) -> &Arc<dyn AnyExchange> {
        &self.exchange
    }

    /// The exchange as its venue's own driver, for what that venue alone
    /// offers (`None` when it is another venue).
    pub fn driver<V: Venue>(&self) -> Option<&Driver<V>> {
        self.exchange.as_any().downcast_ref()
    }

    /// The venue's name in events.
    pub fn venue(&self) -> &'static str {
        self.exchange.venue()
    }

    /// See [`Driver::poll`].
    pub fn poll(&self, mut on_event: impl FnMut(&GatewayEvent, &Outputs)) -> usize {
        self.exchange.poll(&mut on_event)
    }

    /// See [`Driver::submit`].
    pub fn submit(&self, request: Request<'_>) -> Result<Submission, SubmitError> {
        self.exchange.submit(request)
    }

    /// Whether it takes orders.
    pub fn takes_orders(&self) -> bool {
        self.exchange.capabilities().order_entry
    }

    /// Its request latencies so far (a copy).
    pub fn latency(&self) -> orderwire_engine::gateway::LatencyBook {
        self.exchange.latency()
    }

    /// Its orders in `status`.
    pub fn count_orders(&self, status: orderwire_protocol::model::OrderStatus) -> usize {
        self.exchange.count_orders(status)
    }

    /// Closes the connection with a close handshake.
    pub fn shutdown(&self, grace: Duration) {
        self.exchange.shutdown(grace)
    }
}

/// A started service: its exchanges (also in the registry) and the mocks it
/// started. Dropping it shuts everything down.
pub struct Service {
    exchanges: Vec<(ServiceExchange, Plan)>,
    registry: &'static Registry,
    /// The mocks it started, by mock key; dropped (stopped) after the
    /// exchanges.
    _mocks: Vec<(&'static str, Box<dyn VenueMock>)>,
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
    exchange.exchange.remove_from(registry, exchange.name());
}

fn cancel_everything(exchange: &ServiceExchange, symbols: &[Symbol]) {
    let result = match exchange.entry.cancels_every_pair_at_once() {
        // One cancel-all reaches every pair (Kraken).
        true => exchange.submit(Request::CancelAll { symbol: None }),
        // Else per pair: the pairs the config names.
        false if symbols.is_empty() => {
            tracing::warn!(
                exchange = exchange.name(),
                "cancel_on_shutdown: no pairs named in the subscriptions, nothing canceled"
            );
            return;
        }
        false => symbols
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
    entry: &'static dyn VenueEntry,
    url: String,
    tls: Option<TlsConfig>,
    engine: EngineConfig,
    /// The driver (`[engine] mode`, or the CLI's `--mode`).
    mode: Mode,
    gateway: GatewayConfig,
    codec: Box<dyn StartCodec>,
    /// A fresh token before each reconnect (Kraken from key and secret).
    token_fetch: Option<TokenFetch>,
    budget: Option<String>,
    capture: Option<orderwire_engine::capture::CaptureConfig>,
    plan: Plan,
}

/// The capture an exchange's `capture =` asks for: the path relative to
/// the config file, `{name}` replaced, with its rotation.
fn capture_config(
    config: &ServiceConfig,
    exchange: &ExchangeSection,
) -> Option<orderwire_engine::capture::CaptureConfig> {
    let path = exchange.capture.as_ref()?.get_ref();
    let path = PathBuf::from(
        path.to_string_lossy()
            .replace("{name}", exchange.name.get_ref()),
    );
    let path = match config.path.parent() {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path,
    };
    let mut capture = orderwire_engine::capture::CaptureConfig::new(path);
    capture.rotate = orderwire_engine::capture::Rotate {
        max_bytes: exchange
            .capture_rotate_mib
            .map(|mib| mib.saturating_mul(1 << 20)),
        max_age: exchange.capture_rotate_s.map(Duration::from_secs),
    };
    Some(capture)
}

/// The path `--record FILE` gives exchange `name` of `count`.
fn record_path(path: &std::path::Path, name: &str, count: usize) -> PathBuf {
    if count <= 1 {
        return path.to_owned();
    }
    orderwire_engine::capture::sibling_path(path, name)
}

/// Starts every exchange of `config` in `Registry::global()`.
pub fn start(config: &ServiceConfig) -> Result<Service, ServiceError> {
    start_with(config, StartOptions::default())
}

/// Starts every exchange of `config`, with options (the mocks, a callback).
pub fn start_with(config: &ServiceConfig, options: StartOptions) -> Result<Service, ServiceError> {
    let registry = options.registry.unwrap_or_else(Registry::global);
    let venues = options.venues.clone().unwrap_or_default();
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
    let entries = config.check_venues(&venues)?;
    for (name, text) in &config.mock.mid {
        if venues.get(name).is_none() {
            return Err(config
                .error(
                    Some(text.span()),
                    format!("mock.mid.{name}"),
                    ConfigErrorKind::Invalid(venues.find(name).err().unwrap_or_default()),
                )
                .into());
        }
    }
    // One mock per mock key the config needs, started before anything is
    // resolved: on mocks, credentials are the mock's.
    let mut mocks: Vec<(&'static str, Box<dyn VenueMock>)> = Vec::new();
    if options.mock {
        for entry in &entries {
            if mocks.iter().any(|(key, _)| *key == entry.mock_key()) {
                continue;
            }
            let mid = match config
                .mock
                .mid
                .get(entry.name())
                .or_else(|| config.mock.mid.get(entry.mock_key()))
            {
                None => None,
                Some(text) => Some(text.get_ref().parse().map_err(|_| {
                    config.error(
                        Some(text.span()),
                        format!("mock.mid.{}", entry.mock_key()),
                        ConfigErrorKind::Invalid(format!("{:?} is not a decimal", text.get_ref())),
                    )
                })?),
            };
            let mock_options = crate::mock::MockOptions {
                mid,
                ..options.mock_options.clone()
            };
            let mock = entry
                .start_mock(&mock_options)
                .map_err(|error| ServiceError::Mock {
                    venue: entry.name(),
                    error,
                })?;
            mocks.push((entry.mock_key(), mock));
        }
    }
    // Everything checked first: nothing connects if anything is wrong.
    let mut resolved = Vec::new();
    for (index, (exchange, entry)) in config.ws_apis.iter().zip(&entries).enumerate() {
        let mock = mocks
            .iter()
            .find(|(key, _)| *key == entry.mock_key())
            .map(|(_, mock)| &**mock);
        resolved.push(resolve(config, index, exchange, *entry, &source, mock)?);
    }
    let mut budgets: HashMap<String, RateBudget> = HashMap::new();
    let mut service = Service {
        exchanges: Vec::new(),
        registry,
        _mocks: Vec::new(),
    };
    let count = resolved.len();
    for mut plan in resolved {
        if let (Some(path), None) = (&options.record, &plan.capture) {
            plan.capture = Some(orderwire_engine::capture::CaptureConfig::new(record_path(
                path, &plan.name, count,
            )));
        }
        if let Some(name) = &plan.budget {
            let budget = budgets.entry(name.clone()).or_insert_with(|| {
                RateBudget::new(plan.codec.rate_policy(), plan.gateway.rate_headroom_percent)
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
    service._mocks = mocks;
    Ok(service)
}

fn resolve(
    config: &ServiceConfig,
    index: usize,
    exchange: &ExchangeSection,
    entry: &'static dyn VenueEntry,
    source: &CredentialSource,
    mock: Option<&dyn VenueMock>,
) -> Result<Resolved, ConfigError> {
    let field = |name: &str| format!("ws_apis[{index}].{name}");
    let endpoint_span = exchange.endpoint.as_ref().map(toml::Spanned::span);
    let endpoint = exchange
        .endpoint
        .as_ref()
        .map_or("production", |e| e.get_ref().as_str());
    let names = &exchange.credentials;
    for (name, variable) in names {
        if !entry.credentials().iter().any(|(known, _)| known == name) {
            let known: Vec<&str> = entry.credentials().iter().map(|(n, _)| *n).collect();
            return Err(config.error(
                Some(variable.span()),
                field(&format!("credentials.{name}")),
                ConfigErrorKind::Invalid(format!(
                    "{} takes no credential `{name}` (it takes: {})",
                    entry.name(),
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )),
            ));
        }
    }
    let private = entry.private(&|credential| names.contains_key(credential));
    let (url, tls) = match mock {
        Some(mock) => (
            mock.url(entry.name(), private),
            TlsConfig::with_extra_ca_file(&mock.ca_file()).ok(),
        ),
        None => {
            let named = entry.endpoint(endpoint, private).map_err(|reason| {
                config.error(
                    endpoint_span.clone(),
                    field("endpoint"),
                    ConfigErrorKind::BadUrl(reason),
                )
            })?;
            let url = match named {
                Some(url) => url,
                None if endpoint == "mock" => {
                    return Err(config.error(
                        endpoint_span,
                        field("endpoint"),
                        ConfigErrorKind::BadUrl("`mock` needs the mocks started (--mock)".into()),
                    ));
                }
                None => {
                    check_url(endpoint).map_err(|reason| {
                        config.error(
                            endpoint_span.clone(),
                            field("endpoint"),
                            ConfigErrorKind::BadUrl(reason),
                        )
                    })?;
                    endpoint.to_owned()
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
        }
    };
    let context = BuildContext {
        config,
        index,
        section: exchange,
        source,
        mock,
        private,
    };
    let codec = entry.build(&context)?;
    let token_fetch = entry.token_fetch(&context)?;
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
            Channel::TriggerOrders => Subscription::TriggerOrders { symbols: listed },
        });
    }
    let gateway_section = config.gateway_section(exchange);
    let mut gateway = gateway_section.apply(GatewayConfig::default());
    gateway.subscriptions = subscriptions;
    Ok(Resolved {
        name: exchange.name.get_ref().clone(),
        entry,
        url,
        tls,
        mode: config.engine_section(exchange).mode.unwrap_or_default(),
        engine: config.engine_section(exchange).apply(EngineConfig {
            thread_name: format!("orderwire-{}", exchange.name.get_ref()),
            ..EngineConfig::default()
        }),
        gateway,
        codec,
        token_fetch,
        budget: exchange.rate_budget.clone(),
        capture: capture_config(config, exchange),
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

fn create(
    registry: &Registry,
    plan: Resolved,
    on_request: Option<RequestCallback>,
) -> Result<(ServiceExchange, Plan), RegistryError> {
    let mut connection = ConnectionConfig::new(plan.url.clone());
    connection.tls = plan.tls.clone();
    plan.entry.connection(&mut connection);
    let config = ExchangeConfig {
        engine: plan.engine,
        connection,
        gateway: plan.gateway,
        on_request,
        token_fetch: plan.token_fetch.clone(),
        capture: plan.capture.clone(),
    };
    let name = plan.name.as_str();
    let exchange = plan.codec.start(registry, plan.mode, name, config)?;
    let exchange = ServiceExchange {
        name: Arc::from(name),
        mode: plan.mode,
        entry: plan.entry,
        exchange,
    };
    Ok((exchange, plan.plan))
}
