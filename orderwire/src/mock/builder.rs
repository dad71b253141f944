//! `MockKraken::builder().mid("90000").start()`: every mock starts from its
//! defaults, with the few settings an example or a test changes, and hands
//! out a ready [`ExchangeConfig`] (its URL, its CA trusted, verification
//! on) and a codec holding its credentials.

use orderwire_engine::gateway::ExchangeConfig;
use orderwire_engine::{ConnectionConfig, TlsConfig};
use orderwire_protocol::model::IntoAmount;
use orderwire_protocol::num::Decimal;

/// A mock's settings, as its builder changes them.
pub trait MockSettings: Sized {
    /// The running mock.
    type Mock;
    /// Starts it on a free loopback port.
    fn start_mock(self) -> std::io::Result<Self::Mock>;
    /// Moves the house book of its (first) pair around `mid`.
    fn set_mid(&mut self, mid: Decimal);
    /// Shapes its answers and sets its order flow.
    fn set_live(&mut self, timing: super::MockTiming, flow: super::FlowConfig);
}

/// How a mock that a registry entry starts (for `orderwire run --mock`, a
/// demo or `orderwire bench`) behaves beyond its defaults.
#[derive(Clone, Debug, Default)]
pub struct MockOptions {
    /// The middle of its (first) pair's house book (`[mock] mid`).
    pub mid: Option<Decimal>,
    /// Its answers' delay, jitter and stalls (`--mock-delay`,
    /// `--mock-jitter`, `--mock-stall`).
    pub timing: super::MockTiming,
    /// Other accounts' order flow (`--mock-rate`).
    pub flow: super::FlowConfig,
}

impl MockOptions {
    /// `config` with these timing and flow settings (mid aside: a demo
    /// prices from its own book).
    pub fn live<C: MockSettings>(&self, mut config: C) -> C {
        config.set_live(self.timing.clone(), self.flow);
        config
    }

    /// A builder with every setting applied.
    pub fn apply<C: MockSettings>(&self, builder: MockBuilder<C>) -> MockBuilder<C> {
        let builder = match self.mid {
            Some(mid) => builder.mid(mid),
            None => builder,
        };
        builder.with(|config| config.set_live(self.timing.clone(), self.flow))
    }
}

/// Builds a mock: defaults, then what you change.
#[derive(Clone, Debug)]
#[must_use = "a mock builder does nothing until `start`"]
pub struct MockBuilder<C> {
    config: C,
    invalid: Option<String>,
}

impl<C: MockSettings> MockBuilder<C> {
    /// From these settings.
    pub fn new(config: C) -> MockBuilder<C> {
        MockBuilder {
            config,
            invalid: None,
        }
    }

    /// The middle of the house book (text, a decimal, or an exact float).
    pub fn mid(mut self, mid: impl IntoAmount) -> MockBuilder<C> {
        match mid.into_amount() {
            Ok(mid) => self.config.set_mid(mid),
            Err(error) => self.invalid = Some(format!("mid: {error}")),
        }
        self
    }

    /// Any other setting.
    pub fn with(mut self, change: impl FnOnce(&mut C)) -> MockBuilder<C> {
        change(&mut self.config);
        self
    }

    /// Starts the mock (an invalid setting is an `InvalidInput` error).
    pub fn start(self) -> std::io::Result<C::Mock> {
        if let Some(reason) = self.invalid {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                reason,
            ));
        }
        self.config.start_mock()
    }
}

/// A ready exchange config for a mock at `url` whose certificate chains to
/// `ca_file`. An unreadable CA file leaves TLS with the default roots:
/// the connection then fails verification, loudly, rather than skip it.
pub(crate) fn exchange_config(url: String, ca_file: &std::path::Path) -> ExchangeConfig {
    let mut connection = ConnectionConfig::new(url);
    connection.tls = TlsConfig::with_extra_ca_file(ca_file).ok();
    ExchangeConfig {
        connection,
        ..ExchangeConfig::default()
    }
}
