//! The venue registry: one entry per venue, and the one place the harness
//! learns that a venue exists. The service (`exchange = "kraken"` in
//! orderwire.toml), the command line (`--venue`), `orderwire demo` and
//! `orderwire decode` look venues up here and never match on a venue's
//! name; a venue's own folder holds everything else about it. Tests add
//! venues of their own with [`Venues::with`] (harness/tests/test_venue.rs
//! registers a fake one and drives it through all of them).
//!
//! A new venue is a module here with its [`VenueEntry`], and one line in
//! [`Venues::builtin`] (docs/venues/README.md lists every file it touches).

pub mod binance;
pub mod digifinex;
pub mod http;
pub mod kis;
pub mod koscom;
pub mod kraken;
pub mod upbit;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use orderwire_engine::ConnectionConfig;
use orderwire_engine::gateway::{ExchangeConfig, Registry, RegistryError, TokenFetch};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::{RatePolicy, Venue};

use crate::demo::{DemoOptions, DemoVenue};
use crate::service::{
    AnyExchange, ConfigError, ConfigErrorKind, CredentialSource, Driver, ExchangeSection, Mode,
    ServiceConfig,
};

/// One venue, as the harness knows it: its name, the credentials it takes,
/// how a service builds it from config, its mock, its offline codec and
/// its demo.
pub trait VenueEntry: Send + Sync + 'static {
    /// `exchange = "..."` in orderwire.toml and `--venue` on the command
    /// line.
    fn name(&self) -> &'static str;

    /// One line for help and errors.
    fn about(&self) -> &'static str;

    /// The credentials the config may name (`credentials.<name> =
    /// "ENV_VARIABLE"`), each with what it is.
    fn credentials(&self) -> &'static [(&'static str, &'static str)];

    /// Whether the credentials the config names make a private connection
    /// (a venue with a public feed needs none; default: always private).
    fn private(&self, named: &dyn Fn(&str) -> bool) -> bool {
        let _ = named;
        true
    }

    /// The URL of a named endpoint (`production`, `testnet`): `Ok(None)`
    /// when `endpoint` is none of the venue's names (then it must be a
    /// URL), `Err` when the venue does not have it.
    fn endpoint(&self, endpoint: &str, private: bool) -> Result<Option<String>, String>;

    /// Entries that share one mock give the same key (Binance's API and
    /// its market streams are one venue, one account).
    fn mock_key(&self) -> &'static str {
        self.name()
    }

    /// Starts the venue's mock on loopback, with its defaults and what
    /// `options` changes: its (first) pair's house book around `mid`
    /// (`[mock] mid` in orderwire.toml), its timing and its order flow.
    fn start_mock(&self, options: &MockOptions) -> std::io::Result<Box<dyn VenueMock>>;

    /// The codec a service runs, from its config section and credentials.
    fn build(&self, context: &BuildContext<'_>) -> Result<Box<dyn StartCodec>, ConfigError>;

    /// How the engine fetches a fresh token before each reconnect, for a
    /// venue whose connection carries a short-lived one (Kraken's
    /// WebSocket token, from the API key and secret over REST). Called once
    /// after [`VenueEntry::build`]; None for the others.
    fn token_fetch(&self, context: &BuildContext<'_>) -> Result<Option<TokenFetch>, ConfigError> {
        let _ = context;
        Ok(None)
    }

    /// Venue-specific connection settings (Upbit offers permessage-deflate).
    fn connection(&self, connection: &mut ConnectionConfig) {
        let _ = connection;
    }

    /// Whether one `CancelAll { symbol: None }` reaches every pair (Kraken)
    /// or a cancel-on-shutdown goes pair by pair (default).
    fn cancels_every_pair_at_once(&self) -> bool {
        false
    }

    /// A codec that decodes captured inbound messages, with books of
    /// `book_depth` levels (the depth the capture subscribed with).
    fn offline_codec(&self, book_depth: u32) -> Box<dyn Venue>;

    /// A replay of a capture of this venue (docs/capture.md): the codec
    /// the header's `venue.` settings describe, in a core built as the
    /// header says. A venue without one cannot be replayed (decode still
    /// reads its captures).
    fn replayer(
        &self,
        header: &orderwire_protocol::capture::Header,
    ) -> Result<Box<dyn orderwire_engine::gateway::replay::Replay>, String> {
        Err(format!(
            "{}: no replay for this venue (orderwire decode reads its captures)",
            header.venue
        ))
    }

    /// Starts the venue's mock and the connections of its demo, for the
    /// shared demo driver (crate::demo).
    fn demo(&self, options: &DemoOptions) -> Result<Box<dyn DemoVenue>, String>;
}

/// A running mock venue, as the service points exchanges at it.
pub trait VenueMock: Send {
    /// The URL for `venue` (an entry sharing the mock), public or private.
    fn url(&self, venue: &str, private: bool) -> String;
    /// The CA certificate the mock's TLS chains to.
    fn ca_file(&self) -> PathBuf;
    /// The mock's value for a credential the venue names (the mock holds
    /// the other side of the account).
    fn credential(&self, name: &str) -> Option<Secret>;
    /// The base URL of the mock's REST endpoint, for a venue whose
    /// connection needs one (Kraken's token); None where it serves none.
    fn rest_url(&self) -> Option<String> {
        None
    }
}

/// A built codec, ready to start on a driver: every [`Venue`] is one.
pub trait StartCodec: Send {
    /// Its rate policy, for a budget shared between exchanges.
    fn rate_policy(&self) -> RatePolicy;
    /// Starts it on the driver `mode` names and registers it as `name`.
    fn start(
        self: Box<Self>,
        registry: &Registry,
        mode: Mode,
        name: &str,
        config: ExchangeConfig,
    ) -> Result<Arc<dyn AnyExchange>, RegistryError>;
}

impl<V: Venue> StartCodec for V {
    fn rate_policy(&self) -> RatePolicy {
        Venue::rate_policy(self)
    }

    fn start(
        self: Box<Self>,
        registry: &Registry,
        mode: Mode,
        name: &str,
        config: ExchangeConfig,
    ) -> Result<Arc<dyn AnyExchange>, RegistryError> {
        Ok(Arc::new(Driver::create(
            registry, mode, name, *self, config,
        )?))
    }
}

/// What a venue's [`VenueEntry::build`] reads: its config section and its
/// credentials (the mock's, when the service runs on mocks).
pub struct BuildContext<'a> {
    pub(crate) config: &'a ServiceConfig,
    pub(crate) index: usize,
    pub(crate) section: &'a ExchangeSection,
    pub(crate) source: &'a CredentialSource,
    pub(crate) mock: Option<&'a dyn VenueMock>,
    pub(crate) private: bool,
}

impl BuildContext<'_> {
    /// The exchange's config section.
    pub fn section(&self) -> &ExchangeSection {
        self.section
    }

    /// Whether the connection is private (see [`VenueEntry::private`]).
    pub fn private(&self) -> bool {
        self.private
    }

    /// Whether the service runs on the mocks.
    pub fn mocked(&self) -> bool {
        self.mock.is_some()
    }

    /// The REST base URL of the mock the service runs on, if any.
    pub fn mock_rest_url(&self) -> Option<String> {
        self.mock.and_then(|mock| mock.rest_url())
    }

    /// Whether the config names `credential`.
    pub fn named(&self, credential: &str) -> bool {
        self.section.credentials.contains_key(credential)
    }

    /// The value of `credential`: the mock's on mocks; else the named
    /// variable's, `None` when the config does not name it, an error when
    /// it names a variable that is not set.
    pub fn optional(&self, credential: &str) -> Result<Option<Secret>, ConfigError> {
        if let Some(mock) = self.mock {
            return Ok(mock.credential(credential));
        }
        let Some(variable) = self.section.credentials.get(credential) else {
            return Ok(None);
        };
        self.source
            .get(variable.get_ref())
            .map(Some)
            .ok_or_else(|| {
                self.error(
                    Some(variable.span()),
                    &format!("credentials.{credential}"),
                    ConfigErrorKind::MissingSecret {
                        variable: variable.get_ref().clone(),
                    },
                )
            })
    }

    /// The value of `credential`, which the venue needs.
    pub fn required(&self, credential: &'static str) -> Result<Secret, ConfigError> {
        self.optional(credential)?.ok_or_else(|| {
            self.error(
                Some(self.section.exchange.span()),
                "credentials",
                ConfigErrorKind::MissingCredential(credential),
            )
        })
    }

    /// An error at `span` of the config, on `field` of this exchange.
    pub fn error(
        &self,
        span: Option<Range<usize>>,
        field: &str,
        kind: ConfigErrorKind,
    ) -> ConfigError {
        self.config
            .error(span, format!("ws_apis[{}].{field}", self.index), kind)
    }
}

/// The venues a service, the command line, the demo and decode know.
#[derive(Clone)]
pub struct Venues {
    entries: Vec<&'static dyn VenueEntry>,
}

impl Venues {
    /// The venues orderwire ships, one line each.
    pub fn builtin() -> Venues {
        Venues {
            entries: vec![
                &kraken::KRAKEN,
                &binance::BINANCE,
                &binance::BINANCE_STREAMS,
                &upbit::UPBIT,
                &digifinex::DIGIFINEX,
                &kis::KIS,
                &koscom::KOSCOM,
            ],
        }
    }

    /// These and `entry` (a test's venue, an embedder's own).
    pub fn with(mut self, entry: &'static dyn VenueEntry) -> Venues {
        self.entries.retain(|e| e.name() != entry.name());
        self.entries.push(entry);
        self
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&'static dyn VenueEntry> {
        self.entries.iter().copied().find(|e| e.name() == name)
    }

    /// The entry named `name`, or an error that lists the known names.
    pub fn find(&self, name: &str) -> Result<&'static dyn VenueEntry, String> {
        self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.entries.iter().map(|e| e.name()).collect();
            format!("unknown venue `{name}` (one of: {})", known.join(", "))
        })
    }

    /// Every entry, in registry order.
    pub fn iter(&self) -> impl Iterator<Item = &'static dyn VenueEntry> + '_ {
        self.entries.iter().copied()
    }
}

impl Default for Venues {
    fn default() -> Venues {
        Venues::builtin()
    }
}

pub use crate::mock::MockOptions;

/// A mock's CA file as the trust the engine adds (verification stays on).
pub(crate) fn trust(ca: &std::path::Path) -> Result<orderwire_engine::TlsConfig, String> {
    orderwire_engine::TlsConfig::with_extra_ca_file(ca).map_err(|e| e.to_string())
}
