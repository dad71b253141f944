//! DigiFinex WebSocket v1 (../shared/venues/digifinex.md): `{"id":N,
//! "method":..,"params":[..]}` requests answered by `{"error":..,"result":..,
//! "id":N}`, pushes with `"id":null`, data in binary frames of zlib (or raw
//! deflate) JSON, acks and errors as plain text. No order entry (orders go
//! over REST); market data, and order and balance updates after
//! `server.auth`.

mod decode;
mod inflate;

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::{Events, Method, Request, Subscription, Symbol, write_json_string};
use crate::secret::Secret;
use crate::venue::{
    BookKind, Capabilities, Correlation, Ctx, DecodeError, EncodeError, Expect, FrameKind, Frames,
    Keepalive, Note, NoteQueue, RatePolicy, Reconcile, Venue,
};

pub use self::inflate::{Inflater, MAX_INFLATED};

/// `wss://openapi.digifinex.com/ws/v1/`.
pub const URL: &str = "wss://openapi.digifinex.com/ws/v1/";

/// A DigiFinex API key.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The API key (`DIGIFINEX_API_KEY`).
    pub api_key: Secret,
    /// The secret (`DIGIFINEX_API_SECRET`), the HMAC key as UTF-8 bytes.
    pub secret: Secret,
}

/// The DigiFinex codec for one connection.
#[derive(Debug)]
pub struct DigiFinex {
    credentials: Option<Credentials>,
    inflater: Inflater,
    /// Books synced on this connection, and open orders' cumulative fills.
    state: decode::DecodeState,
    /// The id `server.auth` went out with on this connection: its error is
    /// reported as the failed login it is, not as a stray reply.
    auth_id: Option<u64>,
    /// Once split: the login's id, for the decoding half.
    notes: NoteQueue,
}

/// `base64(HMAC-SHA256(secret, timestamp))`, the `server.auth` signature.
pub fn auth_signature(secret: &Secret, timestamp_ms: &str) -> String {
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp_ms.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl DigiFinex {
    /// Market data only.
    pub fn public() -> DigiFinex {
        DigiFinex {
            credentials: None,
            inflater: Inflater::new(),
            state: decode::DecodeState::default(),
            auth_id: None,
            notes: NoteQueue::default(),
        }
    }

    /// With a key: `server.auth` at every (re)connect, then private
    /// channels.
    pub fn private(credentials: Credentials) -> DigiFinex {
        DigiFinex {
            credentials: Some(credentials),
            ..DigiFinex::public()
        }
    }

    /// The codec a capture's header describes ([`Venue::capture_config`]),
    /// for a replay: a private connection logs in with placeholder keys
    /// (the login's `params` are redacted on both sides).
    pub fn from_capture(header: &crate::capture::Header) -> Result<DigiFinex, String> {
        use crate::capture::{REPLAY_SECRET, venue_setting_or};
        Ok(if venue_setting_or(header, "private", false)? {
            DigiFinex::private(Credentials {
                api_key: Secret::new(REPLAY_SECRET),
                secret: Secret::new(REPLAY_SECRET),
            })
        } else {
            DigiFinex::public()
        })
    }

    /// Writes `{"id":N,"method":"<channel>.<verb>","params":[..]}` with
    /// string params.
    fn request(out: &mut Vec<u8>, id: u64, channel: &str, verb: &str, params: &[&str]) {
        out.extend_from_slice(b"{\"id\":");
        out.extend_from_slice(id.to_string().as_bytes());
        out.extend_from_slice(b",\"method\":\"");
        out.extend_from_slice(channel.as_bytes());
        out.push(b'.');
        out.extend_from_slice(verb.as_bytes());
        out.extend_from_slice(b"\",\"params\":[");
        for (index, param) in params.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write_json_string(param, out);
        }
        out.extend_from_slice(b"]}");
    }
}

impl Venue for DigiFinex {
    fn name(&self) -> &'static str {
        "digifinex"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            order_entry: false,
            correlation: Correlation::ById,
            reconcile: Reconcile::NotApplicable,
            book: BookKind::CleanFlag,
            // server.auth carries the key and signature by position: the
            // whole params array is hidden where requests are shown.
            secret_fields: &["params"],
            // The private channels answer only an authenticated connection.
            subscribe_after_login: true,
            ..Capabilities::default()
        }
    }

    /// `server.auth`: `[apikey, timestamp_ms, base64(HMAC-SHA256(secret,
    /// timestamp_ms))]`, the timestamp from the call's wall clock.
    fn login(
        &mut self,
        ctx: &mut Ctx<'_>,
        req_id: u64,
        out: &mut Frames,
    ) -> Result<(), EncodeError> {
        let Some(credentials) = &self.credentials else {
            return Ok(());
        };
        let timestamp = (ctx.wall_ns / 1_000_000).to_string();
        let signature = auth_signature(&credentials.secret, &timestamp);
        self.auth_id = Some(req_id);
        self.notes.push(Note::Sent {
            req_id,
            method: Method::Other,
            symbol: None,
            login: true,
        });
        DigiFinex::request(
            out.frame(FrameKind::Text),
            req_id,
            "server",
            "auth",
            &[credentials.api_key.expose(), &timestamp, &signature],
        );
        Ok(())
    }

    fn encode(
        &mut self,
        _ctx: &mut Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Frames,
    ) -> Result<Expect, EncodeError> {
        let (subscription, verb) = match request {
            Request::Ping => {
                DigiFinex::request(out.frame(FrameKind::Text), req_id, "server", "ping", &[]);
                return Ok(Expect::Replies(1));
            }
            // Answered with the server's seconds.
            Request::ServerTime => {
                DigiFinex::request(out.frame(FrameKind::Text), req_id, "server", "time", &[]);
                return Ok(Expect::Replies(1));
            }
            Request::Subscribe(subscription) => (subscription, "subscribe"),
            Request::Unsubscribe(subscription) => (subscription, "unsubscribe"),
            _ => {
                return Err(EncodeError::Unsupported(
                    "DigiFinex's WebSocket takes no orders (they go over REST)",
                ));
            }
        };
        let (channel, list): (&str, &[Symbol]) = match subscription {
            Subscription::Trades { symbols } => ("trades", symbols),
            // No depth parameter: the venue chooses the snapshot's depth.
            Subscription::Book { symbols, .. } => ("depth", symbols),
            // No pairs: every pair's ticker.
            Subscription::Ticker { symbols } if symbols.is_empty() => ("all_ticker", &[]),
            Subscription::Ticker { symbols } => ("ticker", symbols),
            Subscription::Orders { symbols } => ("order", symbols),
            Subscription::TriggerOrders { symbols } => ("order_algo", symbols),
            Subscription::Balances { assets } => ("balance", assets),
            // Executions, and channels added for other venues.
            _ => {
                return Err(EncodeError::Unsupported(
                    "DigiFinex subscribes orders by pair and balances by asset: \
                     subscribe Orders and Balances",
                ));
            }
        };
        if matches!(channel, "order" | "order_algo" | "balance") && self.credentials.is_none() {
            return Err(EncodeError::NoCredentials);
        }
        let list: Vec<&str> = list.iter().map(Symbol::as_str).collect();
        DigiFinex::request(out.frame(FrameKind::Text), req_id, channel, verb, &list);
        Ok(Expect::Replies(1))
    }

    fn decode(
        &mut self,
        _ctx: &mut Ctx<'_>,
        kind: FrameKind,
        message: &mut [u8],
        out: &mut Events,
        _reply: &mut Frames,
    ) -> Result<(), DecodeError> {
        match kind {
            // Binary frames hold zlib (or raw deflate) JSON.
            FrameKind::Binary => {
                let inflated = self.inflater.inflate(message)?;
                decode::decode_message(inflated, &mut self.state, self.auth_id, out)
            }
            _ => decode::decode_message(message, &mut self.state, self.auth_id, out),
        }
    }

    fn reset(&mut self) {
        // No sequence numbers: after a drop, books wait for a clean one.
        self.state.synced.clear();
        self.auth_id = None;
    }

    fn split(&mut self) -> Option<DigiFinex> {
        // The decoder needs the login's id, not the credentials.
        self.notes.start();
        Some(DigiFinex::public())
    }

    fn take_note(&mut self) -> Option<Note> {
        self.notes.pop()
    }

    fn apply_note(&mut self, note: Note) {
        if let Note::Sent {
            req_id,
            login: true,
            ..
        } = note
        {
            self.auth_id = Some(req_id);
        }
    }

    fn keepalive(&self) -> Keepalive {
        Keepalive {
            // Dropped after about 60 s of silence; server.ping every 30 s.
            idle_close_after: Some(Duration::from_secs(60)),
            app_ping_every: Some(Duration::from_secs(30)),
            heartbeat_every: None,
            // Closed after about 2 h: reconnect on our own terms first.
            max_connection_age: Some(Duration::from_secs(2 * 3600)),
        }
    }

    fn capture_config(&self) -> String {
        format!("private={}", self.credentials.is_some())
    }

    fn rate_policy(&self) -> RatePolicy {
        // None documented.
        RatePolicy { limits: Vec::new() }
    }
}

/// A codec for captured messages: deltas before a capture's first clean
/// snapshot are held back, as live.
pub fn offline_codec(_book_depth: u32) -> Box<dyn Venue> {
    Box::new(DigiFinex::public())
}
