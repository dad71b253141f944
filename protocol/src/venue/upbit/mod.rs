//! Upbit WebSocket (docs/venues/upbit.md): market data on the public
//! endpoint, myOrder and myAsset on the private one with a fresh HS512 JWT
//! at every connect. No order entry (Upbit takes orders over REST) and no
//! acknowledgements: a request is answered with data, or an error object.
//!
//! A new request replaces every subscription of the connection, so the
//! codec keeps the connection's set: each subscribe adds its types and
//! writes the whole set again, and at every (re)connect the open sequence
//! writes the whole configured set in one request (`subscribe_all`).

mod decode;
pub mod jwt;
pub mod request;

use std::time::Duration;

use crate::model::{Events, Method, Request, Subscription};
use crate::secret::Secret;
use crate::venue::{
    BookKind, Capabilities, Correlation, Ctx, DecodeError, EncodeError, Expect, FrameKind, Frames,
    Keepalive, LimitScope, RateLimit, RatePolicy, Reconcile, Venue,
};

pub use self::request::{
    CandleUnit, DataType, Format, PayloadError, TypeRequest, generate_payload, orderbook_codes,
    orderbook_with_level, uuid4, write_request,
};

/// The public endpoint.
pub const PUBLIC_URL: &str = "wss://api.upbit.com/websocket/v1";
/// The private endpoint (myOrder, myAsset).
pub const PRIVATE_URL: &str = "wss://api.upbit.com/websocket/v1/private";

/// An Upbit API key pair.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The access key (`UPBIT_ACCESS_KEY`).
    pub access_key: Secret,
    /// The secret key (`UPBIT_SECRET_KEY`), signed with as raw bytes.
    pub secret_key: Secret,
}

/// The Upbit codec for one connection.
#[derive(Debug)]
pub struct Upbit {
    credentials: Option<Credentials>,
    format: Format,
    /// The connection's subscriptions, as the next request writes them.
    types: Vec<TypeRequest>,
    ticket: String,
}

/// Upbit's per-connection message limits (best-practice page): 5 a second
/// and 100 a minute.
const MESSAGE_COSTS: &[(Method, u32)] = &[(Method::Subscribe, 1), (Method::Ping, 1)];

impl Upbit {
    /// A public connection (ticker, trade, orderbook).
    pub fn public() -> Upbit {
        Upbit {
            credentials: None,
            format: Format::Default,
            types: Vec::new(),
            ticket: String::new(),
        }
    }

    /// A private connection (myOrder, myAsset; market data too), whose
    /// handshake carries a JWT made from `credentials` at every connect.
    pub fn private(credentials: Credentials) -> Upbit {
        Upbit {
            credentials: Some(credentials),
            ..Upbit::public()
        }
    }

    /// The codec a capture's header describes ([`Venue::capture_config`]),
    /// for a replay. A private connection's keys sign only the upgrade's
    /// JWT, which no capture holds: placeholders stand in.
    pub fn from_capture(header: &crate::capture::Header) -> Result<Upbit, String> {
        use crate::capture::{REPLAY_SECRET, venue_setting, venue_setting_or};
        let mut upbit = if venue_setting_or(header, "private", false)? {
            Upbit::private(Credentials {
                access_key: Secret::new(REPLAY_SECRET),
                secret_key: Secret::new(REPLAY_SECRET),
            })
        } else {
            Upbit::public()
        };
        upbit.set_format(match venue_setting(header, "format").unwrap_or("default") {
            "default" => Format::Default,
            "simple" => Format::Simple,
            "json_list" => Format::JsonList,
            "simple_list" => Format::SimpleList,
            other => return Err(format!("capture header: bad Upbit format {other}")),
        });
        Ok(upbit)
    }

    /// The format every later request asks for (the whole connection's).
    pub fn set_format(&mut self, format: Format) {
        self.format = format;
    }

    /// The types the connection is subscribed to.
    pub fn subscriptions(&self) -> &[TypeRequest] {
        &self.types
    }

    /// Adds (or replaces, by type) the types a normalised subscription
    /// stands for; false if nothing changed.
    fn add(&mut self, subscription: &Subscription) -> Result<bool, EncodeError> {
        let codes = |symbols: &[crate::model::Symbol]| -> Vec<String> {
            symbols.iter().map(|s| s.to_ascii_uppercase()).collect()
        };
        let added: Vec<TypeRequest> = match subscription {
            Subscription::Trades { symbols } => vec![TypeRequest {
                codes: codes(symbols),
                ..TypeRequest::new(DataType::Trade, &[])
            }],
            Subscription::Ticker { symbols } => vec![TypeRequest {
                codes: codes(symbols),
                ..TypeRequest::new(DataType::Ticker, &[])
            }],
            Subscription::Book { symbols, depth } => vec![TypeRequest {
                codes: depth_codes(symbols, *depth),
                ..TypeRequest::new(DataType::Orderbook, &[])
            }],
            Subscription::GroupedBook {
                symbols,
                depth,
                grouping,
            } => vec![TypeRequest {
                codes: depth_codes(symbols, *depth),
                level: Some(*grouping),
                ..TypeRequest::new(DataType::Orderbook, &[])
            }],
            Subscription::Candles { symbols, interval } => {
                let unit = CandleUnit::from_interval(interval).ok_or(EncodeError::Unsupported(
                    "Upbit streams candles of 1s, 1m, 3m, 5m, 10m, 15m, 30m, 1h and 4h",
                ))?;
                vec![TypeRequest {
                    codes: codes(symbols),
                    ..TypeRequest::new(DataType::Candle(unit), &[])
                }]
            }
            Subscription::Executions { .. } => {
                if self.credentials.is_none() {
                    return Err(EncodeError::Unsupported(
                        "myOrder and myAsset need the private endpoint and keys",
                    ));
                }
                // Orders in every market, and the balances they move.
                vec![
                    TypeRequest::new(DataType::MyOrder, &[]),
                    TypeRequest::new(DataType::MyAsset, &[]),
                ]
            }
            // Per-pair order and balance feeds, and channels added for
            // other venues.
            _ => {
                return Err(EncodeError::Unsupported(
                    "Upbit's myOrder and myAsset come together: subscribe Executions",
                ));
            }
        };
        let mut changed = false;
        for new in added {
            // One type object per type, and per level for orderbooks: two
            // groupings of one market are two streams.
            match self
                .types
                .iter_mut()
                .find(|t| t.data_type == new.data_type && t.level == new.level)
            {
                Some(existing) => {
                    for code in new.codes {
                        if !existing.codes.contains(&code) {
                            existing.codes.push(code);
                            changed = true;
                        }
                    }
                }
                None => {
                    self.types.push(new);
                    changed = true;
                }
            }
        }
        Ok(changed)
    }
}

/// Orderbook codes with the depth Upbit serves at or above `depth`
/// (`KRW-BTC.15`).
fn depth_codes(symbols: &[crate::model::Symbol], depth: u32) -> Vec<String> {
    let depth = request::DEPTHS
        .iter()
        .copied()
        .find(|d| *d >= depth)
        .unwrap_or(30);
    symbols
        .iter()
        .map(|s| format!("{}.{depth}", s.to_ascii_uppercase()))
        .collect()
}

impl Venue for Upbit {
    fn name(&self) -> &'static str {
        "upbit"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            order_entry: false,
            correlation: Correlation::None,
            reconcile: Reconcile::NotApplicable,
            book: BookKind::Whole,
            secret_fields: &[],
            ..Capabilities::default()
        }
    }

    fn handshake_headers(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<(String, Secret)>) {
        let Some(credentials) = &self.credentials else {
            return;
        };
        // A fresh nonce for every attempt: Upbit refuses a reused one.
        let mut nonce = String::with_capacity(36);
        uuid4(ctx.rng, &mut nonce);
        let token = jwt::token(&credentials.access_key, &credentials.secret_key, &nonce);
        out.push((
            "Authorization".to_owned(),
            Secret::new(format!("Bearer {}", token.expose())),
        ));
    }

    fn encode(
        &mut self,
        ctx: &mut Ctx<'_>,
        _req_id: u64,
        request: &Request<'_>,
        out: &mut Frames,
    ) -> Result<Expect, EncodeError> {
        match request {
            Request::Ping => {
                // Upbit answers the text PING with {"status":"UP"}.
                out.frame(FrameKind::Text).extend_from_slice(b"PING");
                Ok(Expect::Nothing)
            }
            Request::Subscribe(subscription) => {
                self.add(subscription)?;
                self.ticket.clear();
                uuid4(ctx.rng, &mut self.ticket);
                write_request(
                    &self.ticket,
                    &self.types,
                    self.format,
                    out.frame(FrameKind::Text),
                );
                // No acknowledgement: data, or an error object.
                Ok(Expect::Nothing)
            }
            _ => Err(EncodeError::Unsupported(
                "Upbit's WebSocket takes subscriptions only (orders go over REST)",
            )),
        }
    }

    fn subscribe_all(
        &mut self,
        ctx: &mut Ctx<'_>,
        subscriptions: &[Subscription],
        out: &mut Frames,
    ) -> Option<Result<(), EncodeError>> {
        if subscriptions.is_empty() {
            return Some(Ok(()));
        }
        for subscription in subscriptions {
            if let Err(error) = self.add(subscription) {
                return Some(Err(error));
            }
        }
        self.ticket.clear();
        uuid4(ctx.rng, &mut self.ticket);
        write_request(
            &self.ticket,
            &self.types,
            self.format,
            out.frame(FrameKind::Text),
        );
        Some(Ok(()))
    }

    fn decode(
        &mut self,
        _ctx: &mut Ctx<'_>,
        _kind: FrameKind,
        message: &mut [u8],
        out: &mut Events,
        _reply: &mut Frames,
    ) -> Result<(), DecodeError> {
        // Binary frames carry UTF-8 JSON; text frames are read the same.
        decode::decode_message(message, out)
    }

    fn reset(&mut self) {
        // The new connection has no subscriptions: the open sequence
        // writes the set again.
        self.types.clear();
    }

    fn split(&mut self) -> Option<Upbit> {
        // Decoding keeps no state: a message names its type and code, and
        // the decoding half needs neither the keys nor the ticket.
        Some(Upbit::public())
    }

    fn keepalive(&self) -> Keepalive {
        Keepalive {
            // Upbit closes a connection idle for 120 s; PING every 60 s.
            idle_close_after: Some(Duration::from_secs(120)),
            app_ping_every: Some(Duration::from_secs(60)),
            heartbeat_every: None,
            max_connection_age: None,
        }
    }

    fn capture_config(&self) -> String {
        let format = match self.format {
            Format::Default => "default",
            Format::Simple => "simple",
            Format::JsonList => "json_list",
            Format::SimpleList => "simple_list",
        };
        format!("private={}\nformat={format}", self.credentials.is_some())
    }

    fn rate_policy(&self) -> RatePolicy {
        RatePolicy {
            limits: vec![
                RateLimit::Window {
                    name: "messages_per_second",
                    scope: LimitScope::Global,
                    window: Duration::from_secs(1),
                    max: 5,
                    costs: MESSAGE_COSTS,
                },
                RateLimit::Window {
                    name: "messages_per_minute",
                    scope: LimitScope::Global,
                    window: Duration::from_secs(60),
                    max: 100,
                    costs: MESSAGE_COSTS,
                },
            ],
        }
    }
}

/// A codec for captured messages: every orderbook message is a whole book,
/// so there is no depth to keep.
pub fn offline_codec(_book_depth: u32) -> Box<dyn Venue> {
    Box::new(Upbit::public())
}
