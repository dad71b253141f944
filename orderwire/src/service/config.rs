//! `orderwire.toml`: the exchanges a service creates at start-up, with
//! their engine and gateway settings and the names of the environment
//! variables that hold their credentials (docs/service.md has every key).
//!
//! Parsing checks the shape (unknown keys and venues are errors, with the
//! line); [`super::start`] then checks what needs the environment (the URL
//! of each endpoint, a missing secret, duplicate names) before anything
//! connects. Errors carry the file, line, column and field, and never a
//! secret's value.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use orderwire_engine::WaitStrategy;
use orderwire_engine::gateway::{DeadManSwitch, GatewayConfig, WhenLimited};
use serde::Deserialize;
use toml::Spanned;

/// A parsed service config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// A `.env` file with credentials, relative to the config file (default:
    /// `.env` beside it, if there is one). The environment wins over it.
    pub env_file: Option<PathBuf>,
    /// Engine defaults for every exchange.
    #[serde(default)]
    pub engine: EngineSection,
    /// Gateway defaults for every exchange.
    #[serde(default)]
    pub gateway: GatewaySection,
    /// The exchanges, as the framework's `ws_apis` list.
    #[serde(default)]
    pub ws_apis: Vec<ExchangeSection>,
    /// The mock venues `--mock` starts.
    #[serde(default)]
    pub mock: MockSection,
    /// Where it was read from (for errors and the `.env` path).
    #[serde(skip)]
    pub path: PathBuf,
    /// The text, for line numbers.
    #[serde(skip)]
    pub text: String,
}

/// The mock venues (`--mock`, `StartOptions::mock`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockSection {
    /// The middle of each mock's house book, by venue registry name
    /// (`mid = { kraken = "95000.0" }`; venues that share a mock, Binance's
    /// API and streams, share its mid); each mock's default otherwise. An
    /// unknown name is an error.
    #[serde(default)]
    pub mid: std::collections::BTreeMap<String, Spanned<String>>,
}

/// Engine settings (all optional; an exchange's own override the
/// defaults key by key).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    /// `threaded` (default: a reactor thread per exchange, polled from any
    /// thread) or `inline` (the service's own thread runs the socket, TLS,
    /// codec, core and handlers; docs/service.md, "Driver").
    pub mode: Option<Mode>,
    /// Pin the reactor thread to this core (inline: the service's thread).
    pub core: Option<usize>,
    /// `block` (sleep in epoll after the spin window) or `busy`.
    pub wait: Option<Wait>,
    /// Spin this long before sleeping (µs).
    pub spin_before_block_us: Option<u64>,
    /// Commands queued to the reactor (bounded).
    pub command_queue: Option<usize>,
    /// Events queued from the reactor (bounded).
    pub event_queue: Option<usize>,
}

/// Which driver runs an exchange's gateway core.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Its own reactor thread; the core's timers run there.
    #[default]
    Threaded,
    /// The thread that polls the service drives it; no reactor thread.
    Inline,
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(text: &str) -> Result<Mode, String> {
        match text {
            "threaded" => Ok(Mode::Threaded),
            "inline" => Ok(Mode::Inline),
            other => Err(format!(
                "unknown engine mode `{other}` (threaded or inline)"
            )),
        }
    }
}

/// The reactor's wait strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// Sleep in epoll after the spin window.
    Block,
    /// Never sleep.
    Busy,
}

/// Gateway settings (all optional, as for the engine).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    /// A request unanswered this long makes its orders `unknown` (ms).
    pub request_timeout_ms: Option<u64>,
    /// Percent of every rate ceiling kept unused.
    pub rate_headroom_percent: Option<u8>,
    /// `queue`, `reject` or `off`.
    pub when_limited: Option<Limited>,
    /// Requests the rate-limit FIFO holds.
    pub queue_capacity: Option<usize>,
    /// Cancels skip the rate-limit FIFO.
    pub cancel_priority: Option<bool>,
    /// The dead-man switch: the venue cancels everything this long after
    /// the last refresh (s); needs `dead_man_refresh_s`.
    pub dead_man_timeout_s: Option<u64>,
    /// How often the switch is refreshed (s).
    pub dead_man_refresh_s: Option<u64>,
    /// A subscription silent this long is reported (s); 0 turns it off.
    pub subscription_silence_s: Option<u64>,
    /// Orders tracked without growing the tables.
    pub order_capacity: Option<usize>,
    /// On shutdown, cancel every open order before closing.
    pub cancel_on_shutdown: Option<bool>,
}

/// What a request over the rate limits does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limited {
    /// Waits in the FIFO.
    Queue,
    /// Is refused with the time it would fit.
    Reject,
    /// Nothing is enforced (benchmarks only).
    Off,
}

/// One exchange.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSection {
    /// Its id in the registry (`Registry::global().get(name)`).
    pub name: Spanned<String>,
    /// The venue: an entry of the venue registry (crate::venues), checked
    /// when the service starts.
    pub exchange: Spanned<String>,
    /// `production` (default), `testnet`, `mock`, or a `ws://`/`wss://` URL.
    pub endpoint: Option<Spanned<String>>,
    /// A PEM file of extra CA certificates to trust besides Mozilla's roots
    /// (a private deployment, a local mock); relative to the config file.
    /// Verification stays on.
    pub tls_ca_file: Option<Spanned<PathBuf>>,
    /// A venue's rate tier (Kraken: `starter` (default), `intermediate`,
    /// `pro`); checked by the venue's registry entry.
    pub tier: Option<Spanned<String>>,
    /// Exchanges naming the same budget share one rate limiter (one key,
    /// one account).
    pub rate_budget: Option<String>,
    /// The environment variables holding the credentials, by the names
    /// the venue's registry entry gives them (`token`, `api_key`, ...).
    #[serde(default)]
    pub credentials: CredentialNames,
    /// The pairs this exchange trades, besides those its subscriptions
    /// name: `cancel_on_shutdown` cancels per pair on Binance.
    #[serde(default)]
    pub symbols: Vec<String>,
    /// Subscribed at every (re)connect.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionSection>,
    /// Overrides of the engine defaults.
    #[serde(default)]
    pub engine: EngineSection,
    /// Overrides of the gateway defaults.
    #[serde(default)]
    pub gateway: GatewaySection,
    /// Record the exchange's sessions to this capture file
    /// (docs/capture.md), relative to the config file; `{name}` becomes
    /// the exchange's name. Secrets are redacted before they are written.
    pub capture: Option<Spanned<PathBuf>>,
    /// Start the capture's next file once one holds this many MiB.
    pub capture_rotate_mib: Option<u64>,
    /// Start the capture's next file once its records span this many
    /// seconds.
    pub capture_rotate_s: Option<u64>,
}

/// Names of environment variables (never values), by credential name.
/// Which names a venue takes is its registry entry's
/// (`VenueEntry::credentials`); docs/service.md lists them per venue.
pub type CredentialNames = std::collections::BTreeMap<String, Spanned<String>>;

/// One subscription.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSection {
    /// `book`, `trades`, `ticker`, `executions`, `orders` or `balances`.
    pub channel: Channel,
    /// The pairs (assets for balances; none for executions).
    #[serde(default)]
    pub symbols: Vec<String>,
    /// Book depth.
    pub depth: Option<u32>,
}

/// A subscription channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Order book.
    Book,
    /// Public trades.
    Trades,
    /// Best bid and ask.
    Ticker,
    /// The account's order updates and fills.
    Executions,
    /// The account's order updates of the listed pairs (DigiFinex).
    Orders,
    /// The account's balances of the listed assets (DigiFinex).
    Balances,
    /// The account's trigger orders of the listed pairs (DigiFinex
    /// `order_algo`).
    TriggerOrders,
}

/// A config that cannot be used: where, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line and column, where known.
    pub line: Option<(usize, usize)>,
    /// The field (`ws_apis[1].endpoint`), where known.
    pub field: Option<String>,
    /// What is wrong (never a secret's value).
    pub kind: ConfigErrorKind,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Io(String),
    /// Not TOML, an unknown key, an unknown venue, a wrong type: the
    /// parser's words.
    Syntax(String),
    /// Not a usable endpoint.
    BadUrl(String),
    /// Two exchanges with one name.
    DuplicateName(String),
    /// A credential's variable is set neither in the environment nor in the
    /// `.env` file.
    MissingSecret {
        /// The variable.
        variable: String,
    },
    /// The venue needs a credential the config does not name.
    MissingCredential(&'static str),
    /// A value out of its range or a combination that cannot work.
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.line {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        match &self.kind {
            ConfigErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            ConfigErrorKind::Syntax(e) => write!(f, "{e}"),
            ConfigErrorKind::BadUrl(e) => write!(f, "bad endpoint: {e}"),
            ConfigErrorKind::DuplicateName(name) => {
                write!(f, "a second exchange named {name:?}")
            }
            ConfigErrorKind::MissingSecret { variable } => write!(
                f,
                "environment variable {variable} is not set (nor in the .env file)"
            ),
            ConfigErrorKind::MissingCredential(what) => {
                write!(f, "this venue needs credentials.{what}")
            }
            ConfigErrorKind::Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ServiceConfig {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<ServiceConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            line: None,
            field: None,
            kind: ConfigErrorKind::Io(e.to_string()),
        })?;
        ServiceConfig::parse(path, &text)
    }

    /// Parses `text`, read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ServiceConfig, ConfigError> {
        let mut config: ServiceConfig = toml::from_str(text).map_err(|e| ConfigError {
            file: path.to_owned(),
            line: e.span().map(|span| line_column(text, span.start)),
            field: None,
            kind: ConfigErrorKind::Syntax(e.message().trim().to_owned()),
        })?;
        config.path = path.to_owned();
        config.text = text.to_owned();
        config.check_shape()?;
        Ok(config)
    }

    /// An error at `span` of this file.
    pub(crate) fn error(
        &self,
        span: Option<std::ops::Range<usize>>,
        field: String,
        kind: ConfigErrorKind,
    ) -> ConfigError {
        ConfigError {
            file: self.path.clone(),
            line: span.map(|s| line_column(&self.text, s.start)),
            field: Some(field),
            kind,
        }
    }

    /// What needs no environment: names, values' ranges.
    fn check_shape(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::HashSet::new();
        for (index, exchange) in self.ws_apis.iter().enumerate() {
            if !names.insert(exchange.name.get_ref().as_str()) {
                return Err(self.error(
                    Some(exchange.name.span()),
                    format!("ws_apis[{index}].name"),
                    ConfigErrorKind::DuplicateName(exchange.name.get_ref().clone()),
                ));
            }
            let gateway = self.gateway_section(exchange);
            if let (Some(timeout), Some(refresh)) =
                (gateway.dead_man_timeout_s, gateway.dead_man_refresh_s)
            {
                if timeout > 0 && (refresh == 0 || refresh >= timeout) {
                    return Err(self.error(
                        Some(exchange.name.span()),
                        format!("ws_apis[{index}].gateway.dead_man_refresh_s"),
                        ConfigErrorKind::Invalid(format!(
                            "the switch must be refreshed more often than it fires ({refresh} s against {timeout} s)"
                        )),
                    ));
                }
            }
            if gateway.dead_man_timeout_s.is_some() != gateway.dead_man_refresh_s.is_some() {
                return Err(self.error(
                    Some(exchange.name.span()),
                    format!("ws_apis[{index}].gateway"),
                    ConfigErrorKind::Invalid(
                        "dead_man_timeout_s and dead_man_refresh_s go together".into(),
                    ),
                ));
            }
            for (what, name) in &exchange.credentials {
                let text = name.get_ref();
                let valid = text
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    // Never echoed: it may be a secret pasted in by mistake.
                    return Err(self.error(
                        Some(name.span()),
                        format!("ws_apis[{index}].credentials.{what}"),
                        ConfigErrorKind::Invalid(
                            "not an environment variable name: the config names the variable, and the value stays in the environment or the .env file".into(),
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Each exchange's registry entry, in order; an unknown venue is an
    /// error at its line that lists the known ones.
    pub fn check_venues(
        &self,
        venues: &crate::venues::Venues,
    ) -> Result<Vec<&'static dyn crate::venues::VenueEntry>, ConfigError> {
        self.ws_apis
            .iter()
            .enumerate()
            .map(|(index, exchange)| {
                venues.find(exchange.exchange.get_ref()).map_err(|reason| {
                    self.error(
                        Some(exchange.exchange.span()),
                        format!("ws_apis[{index}].exchange"),
                        ConfigErrorKind::Invalid(reason),
                    )
                })
            })
            .collect()
    }

    /// The engine settings of `exchange`: its own over the defaults.
    pub fn engine_section(&self, exchange: &ExchangeSection) -> EngineSection {
        let (own, all) = (&exchange.engine, &self.engine);
        EngineSection {
            mode: own.mode.or(all.mode),
            core: own.core.or(all.core),
            wait: own.wait.or(all.wait),
            spin_before_block_us: own.spin_before_block_us.or(all.spin_before_block_us),
            command_queue: own.command_queue.or(all.command_queue),
            event_queue: own.event_queue.or(all.event_queue),
        }
    }

    /// The gateway settings of `exchange`: its own over the defaults.
    pub fn gateway_section(&self, exchange: &ExchangeSection) -> GatewaySection {
        let (own, all) = (&exchange.gateway, &self.gateway);
        GatewaySection {
            request_timeout_ms: own.request_timeout_ms.or(all.request_timeout_ms),
            rate_headroom_percent: own.rate_headroom_percent.or(all.rate_headroom_percent),
            when_limited: own.when_limited.or(all.when_limited),
            queue_capacity: own.queue_capacity.or(all.queue_capacity),
            cancel_priority: own.cancel_priority.or(all.cancel_priority),
            dead_man_timeout_s: own.dead_man_timeout_s.or(all.dead_man_timeout_s),
            dead_man_refresh_s: own.dead_man_refresh_s.or(all.dead_man_refresh_s),
            subscription_silence_s: own.subscription_silence_s.or(all.subscription_silence_s),
            order_capacity: own.order_capacity.or(all.order_capacity),
            cancel_on_shutdown: own.cancel_on_shutdown.or(all.cancel_on_shutdown),
        }
    }
}

impl EngineSection {
    /// Over the engine's defaults.
    pub fn apply(
        &self,
        mut config: orderwire_engine::EngineConfig,
    ) -> orderwire_engine::EngineConfig {
        config.core = self.core.or(config.core);
        if let Some(wait) = self.wait {
            config.wait = match wait {
                Wait::Block => WaitStrategy::Block,
                Wait::Busy => WaitStrategy::BusyPoll,
            };
        }
        if let Some(us) = self.spin_before_block_us {
            config.spin_before_block = Duration::from_micros(us);
        }
        if let Some(n) = self.command_queue {
            config.command_capacity = n;
        }
        if let Some(n) = self.event_queue {
            config.event_capacity = n;
        }
        config
    }
}

impl GatewaySection {
    /// Over the gateway's defaults.
    pub fn apply(&self, mut config: GatewayConfig) -> GatewayConfig {
        if let Some(ms) = self.request_timeout_ms {
            config.request_timeout = Duration::from_millis(ms);
        }
        if let Some(percent) = self.rate_headroom_percent {
            config.rate_headroom_percent = percent;
        }
        let capacity = self.queue_capacity.unwrap_or(1024);
        config.when_limited = match self.when_limited {
            Some(Limited::Reject) => WhenLimited::Reject,
            Some(Limited::Off) => WhenLimited::Off,
            Some(Limited::Queue) | None => WhenLimited::Queue { capacity },
        };
        if let Some(priority) = self.cancel_priority {
            config.cancel_priority = priority;
        }
        // A timeout of 0 turns the switch off (for one exchange, over a
        // default that has it).
        if let (Some(timeout @ 1..), Some(refresh)) =
            (self.dead_man_timeout_s, self.dead_man_refresh_s)
        {
            config.dead_man = Some(DeadManSwitch {
                timeout: Duration::from_secs(timeout),
                refresh_every: Duration::from_secs(refresh),
            });
        }
        if let Some(secs) = self.subscription_silence_s {
            config.subscription_silence = (secs > 0).then(|| Duration::from_secs(secs));
        }
        if let Some(n) = self.order_capacity {
            config.order_capacity = n;
        }
        config
    }
}

/// 1-based line and column of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    // Spans fall on character boundaries; anything else counts as the end.
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}
