//! KIS (Korea Investment & Securities): its registry entry and its demo.
//! The demo runs the mock KIS over plain ws on loopback: trades and
//! 10-level quotes for two stock codes and the execution notices of the
//! demo's HTS id. Other accounts trade against the house book, and the
//! demo's own orders go in over the mock's REST hook (KIS takes orders
//! over REST): most cross the book and fill, every fourth rests and is
//! canceled; their notices arrive encrypted and are decrypted with the key
//! the subscription's ack gave.

use std::sync::Arc;
use std::time::Duration;

use orderwire_engine::gateway::{ExchangeConfig, GatewayConfig};
use orderwire_protocol::model::{Side, Subscription, Symbol, inline};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::Venue;
use orderwire_protocol::venue::kis::{self, Kis};

use super::{BuildContext, MockOptions, StartCodec, VenueEntry, VenueMock};
use crate::demo::{DemoOptions, DemoVenue, PlacedElsewhere, Step, Tally};
use crate::mock::kis::{MockConfig, MockKis};
use crate::service::{AnyExchange, ConfigError, Driver};

/// KIS's registry entry.
pub struct KisEntry;

/// The entry [`super::Venues::builtin`] lists.
pub static KIS: KisEntry = KisEntry;

impl VenueEntry for KisEntry {
    fn name(&self) -> &'static str {
        "kis"
    }

    fn about(&self) -> &'static str {
        "KIS Open API WebSocket (plain ws; trades, quotes, AES-encrypted execution notices; orders over REST)"
    }

    fn credentials(&self) -> &'static [(&'static str, &'static str)] {
        &[
            (
                "approval_key",
                "the WebSocket approval key (KIS_WS_APPROVAL_KEY; `orderwire kis approval-key` issues one)",
            ),
            (
                "hts_id",
                "the HTS user id whose execution notices `executions` subscribes (KIS_HTS_ID)",
            ),
        ]
    }

    /// `testnet` is KIS's paper-trading server.
    fn endpoint(&self, endpoint: &str, _private: bool) -> Result<Option<String>, String> {
        Ok(match endpoint {
            "production" => Some(kis::URL.to_owned()),
            "testnet" => Some(kis::PAPER_URL.to_owned()),
            _ => None,
        })
    }

    fn start_mock(&self, options: &MockOptions) -> std::io::Result<Box<dyn VenueMock>> {
        Ok(Box::new(options.apply(MockKis::builder()).start()?))
    }

    fn build(&self, context: &BuildContext<'_>) -> Result<Box<dyn StartCodec>, ConfigError> {
        let paper = context
            .section()
            .endpoint
            .as_ref()
            .is_some_and(|e| e.get_ref() == "testnet");
        let mut codec = Kis::new(context.required("approval_key")?).with_paper(paper);
        if let Some(hts_id) = context.optional("hts_id")? {
            codec = codec.with_hts_id(hts_id.expose());
        }
        Ok(Box::new(codec))
    }

    fn offline_codec(&self, book_depth: u32) -> Box<dyn Venue> {
        kis::offline_codec(book_depth)
    }

    fn replayer(
        &self,
        header: &orderwire_protocol::capture::Header,
    ) -> Result<Box<dyn orderwire_engine::gateway::replay::Replay>, String> {
        let codec = Kis::from_capture(header)?;
        Ok(Box::new(orderwire_engine::gateway::replay::Replayer::new(
            codec, header,
        )?))
    }

    fn demo(&self, options: &DemoOptions) -> Result<Box<dyn DemoVenue>, String> {
        KisDemo::start(options).map(|demo| Box::new(demo) as Box<dyn DemoVenue>)
    }
}

impl VenueMock for MockKis {
    fn url(&self, _venue: &str, _private: bool) -> String {
        MockKis::url(self)
    }

    fn ca_file(&self) -> std::path::PathBuf {
        MockKis::ca_file(self)
    }

    fn credential(&self, name: &str) -> Option<Secret> {
        match name {
            "approval_key" => Some(Secret::new(self.approval_key())),
            "hts_id" => Some(Secret::new(self.hts_id())),
            _ => None,
        }
    }
}

const CODES: [&str; 2] = ["005930", "000660"];

/// KIS's part of the demo.
struct KisDemo {
    mock: MockKis,
    exchange: Driver<Kis>,
    symbol: Symbol,
    /// Orders resting until the end: (code, order number).
    resting: Vec<(&'static str, String)>,
}

impl KisDemo {
    fn start(options: &DemoOptions) -> Result<KisDemo, String> {
        // PINGPONG often enough that a short demo answers some.
        let mock = MockKis::start(options.mock.live(MockConfig {
            pingpong_every: Duration::from_millis(100),
            ..MockConfig::default()
        }))
        .map_err(|e| format!("mock KIS: {e}"))?;
        let symbols: Vec<Symbol> = CODES.iter().filter_map(|c| inline(c)).collect();
        let config = ExchangeConfig {
            gateway: GatewayConfig {
                subscriptions: vec![
                    Subscription::Trades {
                        symbols: symbols.clone(),
                    },
                    Subscription::Book {
                        symbols: symbols.clone(),
                        depth: 10,
                    },
                    Subscription::Executions {
                        snapshot_orders: false,
                        snapshot_trades: false,
                    },
                ],
                ..GatewayConfig::default()
            },
            on_request: options.verbose.then(crate::demo::print_requests),
            engine: options.engine.clone(),
            capture: options.capture_for("kis-demo", true),
            ..mock.exchange_config()
        };
        let exchange = crate::demo::start_exchange(options, "kis-demo", mock.venue(), config)
            .map_err(|e| e.to_string())?;
        Ok(KisDemo {
            mock,
            exchange,
            symbol: symbols.first().copied().ok_or("symbol")?,
            resting: Vec::new(),
        })
    }
}

impl DemoVenue for KisDemo {
    fn title(&self) -> &'static str {
        "KIS"
    }

    fn exchanges(&self) -> Vec<Arc<dyn AnyExchange>> {
        vec![Arc::new(self.exchange.clone())]
    }

    fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// Two trade, two quote and one notice registration acknowledged.
    fn ready(&self, tally: &Tally) -> bool {
        tally.subscribed >= 5
    }

    fn step(&self, _n: usize) -> Step {
        Step::Elsewhere
    }

    /// Another account's trade, then the demo's own order over REST: buys
    /// above the best ask fill at once; every fourth is a sell far above
    /// the book, which rests until the end.
    fn place_elsewhere(&mut self, n: usize) -> Result<PlacedElsewhere, String> {
        let dec = |text: &str| text.parse::<Decimal>().map_err(|_| text.to_owned());
        let code = CODES[n % 2];
        self.mock.house_trade(
            code,
            if n % 3 == 0 { Side::Sell } else { Side::Buy },
            dec("1")?,
        );
        let rests = n % 4 == 3;
        let (side, price) = match (code, rests) {
            ("005930", false) => (Side::Buy, dec("76000")?),
            ("005930", true) => (Side::Sell, dec("80000")?),
            (_, false) => (Side::Buy, dec("130000")?),
            (_, true) => (Side::Sell, dec("140000")?),
        };
        let order = self
            .mock
            .place(code, side, price, dec("2")?)
            .map_err(|e| format!("mock REST order: {e}"))?;
        // Notices carry no client id: the order number is the key.
        let key = inline(&order).ok_or("order number")?;
        if rests {
            self.resting.push((code, order));
        }
        Ok(PlacedElsewhere { key, ends: !rests })
    }

    fn finish(&mut self) -> Result<(), String> {
        for (code, order) in self.resting.drain(..) {
            self.mock
                .cancel(code, &order)
                .map_err(|e| format!("mock REST cancel: {e}"))?;
        }
        Ok(())
    }

    fn settle(&self) -> Duration {
        Duration::from_millis(250)
    }

    fn notes(&mut self, tally: &Tally) -> Vec<String> {
        let stats = self.mock.stats();
        let count = |name: &str| tally.by_type.get(name).copied().unwrap_or(0);
        vec![
            format!(
                "records by tr_id: H0STCNT0 {} (trades), H0STASP0 {} (quotes), in {} messages",
                count("trade"),
                count("book_snapshot"),
                stats.record_messages
            ),
            format!(
                "notices (H0STCNI0, AES-256-CBC): {} sent, decrypted into {} order state changes and {} fills",
                stats.notices,
                count("order_update"),
                tally.fills
            ),
            format!(
                "PINGPONGs answered: {} of {}",
                stats.answered, stats.pingpongs
            ),
        ]
    }
}

/// KIS's approval-key endpoint, real accounts.
pub const APPROVAL_URL: &str = "https://openapi.koreainvestment.com:9443";
/// KIS's approval-key endpoint, paper trading.
pub const PAPER_APPROVAL_URL: &str = "https://openapivts.koreainvestment.com:29443";

/// Issues a WebSocket approval key: `POST <base>/oauth2/Approval` with
/// `{"grant_type":"client_credentials","appkey":..,"secretkey":..}`
/// (kis.md: the field is `secretkey`), answered `{"approval_key":".."}`.
/// Over the venues' small HTTP client ([`super::http`]). Errors never hold
/// the keys.
pub fn issue_approval_key(
    base_url: &str,
    app_key: &Secret,
    app_secret: &Secret,
) -> Result<Secret, String> {
    let url = format!("{}/oauth2/Approval", base_url.trim_end_matches('/'));
    let mut body = Vec::new();
    body.extend_from_slice(br#"{"grant_type":"client_credentials","appkey":"#);
    orderwire_protocol::model::write_json_string(app_key.expose(), &mut body);
    body.extend_from_slice(br#","secretkey":"#);
    orderwire_protocol::model::write_json_string(app_secret.expose(), &mut body);
    body.push(b'}');
    let (status, body) = super::http::post(
        &url,
        &[("Content-Type", "application/json; charset=UTF-8")],
        &body,
    )?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| format!("HTTP {status}: not JSON"))?;
    match value["approval_key"].as_str() {
        Some(key) if status == 200 => Ok(Secret::new(key)),
        _ => Err(format!(
            "HTTP {status}: {}",
            value["error_description"]
                .as_str()
                .or(value["msg1"].as_str())
                .unwrap_or("no approval_key in the answer")
        )),
    }
}
