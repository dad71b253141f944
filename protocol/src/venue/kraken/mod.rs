//! Kraken Spot WebSocket v2 (../shared/venues/kraken.md, docs/venues/kraken.md).
//!
//! Public market data on `wss://ws.kraken.com/v2`, trading and executions on
//! `wss://ws-auth.kraken.com/v2` with a token in every private request.

mod checksum;
mod decode;
mod encode;
pub mod rest;

use std::collections::HashMap;
use std::time::Duration;

pub use checksum::{CHECKSUM_LEVELS, KrakenChecksum, book_checksum};

use crate::book::Book;
use crate::model::{
    ClientOrderId, Events, Method, OrderDetail, OrderId, OrderType, Request, Side, Symbol,
    TimeInForce,
};
use crate::num::Decimal;
use crate::secret::Secret;
use crate::venue::{
    BookKind, Capabilities, Correlation, Cost, Ctx, DecodeError, EncodeError, Expect, FrameKind,
    Frames, Keepalive, LimitScope, Note, NoteQueue, RateLimit, RatePolicy, Reconcile, Venue,
};

/// Public endpoint.
pub const PUBLIC_URL: &str = "wss://ws.kraken.com/v2";
/// Private (trading) endpoint.
pub const PRIVATE_URL: &str = "wss://ws-auth.kraken.com/v2";
/// Book depth when none was subscribed (Kraken's default).
pub const DEFAULT_DEPTH: usize = 10;
/// batch_add bounds.
pub const MIN_BATCH: usize = 2;
/// batch_add bounds.
pub const MAX_BATCH: usize = 15;

/// Kraken's account tiers, which set the trading counter's ceiling and decay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tier {
    /// 60 at 1/s.
    #[default]
    Starter,
    /// 125 at 2.34/s.
    Intermediate,
    /// 180 at 3.75/s.
    Pro,
    /// Limits agreed with Kraken (or a mock): ceiling and decay per second,
    /// in milli-units.
    Custom {
        /// Ceiling.
        threshold_milli: u64,
        /// Decay per second.
        decay_milli_per_sec: u64,
    },
}

impl Tier {
    /// (threshold, decay per second), in milli-units.
    pub fn counter(self) -> (u64, u64) {
        match self {
            Tier::Starter => (60_000, 1_000),
            Tier::Intermediate => (125_000, 2_340),
            Tier::Pro => (180_000, 3_750),
            Tier::Custom {
                threshold_milli,
                decay_milli_per_sec,
            } => (threshold_milli, decay_milli_per_sec),
        }
    }
}

/// The trading counter's costs (kraken.md "Rate limits"), in milli-units.
pub const TRADING_COSTS: &[Cost] = &[
    Cost {
        method: Method::Place,
        base: 1_000,
        by_rest: &[],
    },
    Cost {
        method: Method::BatchPlace,
        base: 1_000,
        by_rest: &[],
    },
    Cost {
        method: Method::Amend,
        base: 1_000,
        by_rest: &[
            (Duration::from_secs(5), 3_000),
            (Duration::from_secs(10), 2_000),
            (Duration::from_secs(15), 1_000),
        ],
    },
    Cost {
        method: Method::Cancel,
        base: 0,
        by_rest: &[
            (Duration::from_secs(5), 8_000),
            (Duration::from_secs(10), 6_000),
            (Duration::from_secs(15), 5_000),
            (Duration::from_secs(45), 4_000),
            (Duration::from_secs(90), 2_000),
            (Duration::from_secs(300), 1_000),
        ],
    },
];

/// What we know of an open order, merged from partial executions updates.
#[derive(Clone, Copy, Debug, Default)]
struct KnownOrder {
    client_order_id: Option<ClientOrderId>,
    symbol: Option<Symbol>,
    side: Option<Side>,
    price: Option<Decimal>,
    qty: Option<Decimal>,
    filled_qty: Option<Decimal>,
    /// `avg_price`, `cum_cost`, `order_type`, `time_in_force`,
    /// `post_only`: the order update's detail.
    avg_price: Option<Decimal>,
    filled_notional: Option<Decimal>,
    order_type: Option<OrderType>,
    time_in_force: Option<TimeInForce>,
    post_only: Option<bool>,
}

impl KnownOrder {
    fn merge(&mut self, update: &KnownOrder) {
        fn keep<T: Copy>(mine: &mut Option<T>, theirs: &Option<T>) {
            if theirs.is_some() {
                *mine = *theirs;
            }
        }
        keep(&mut self.client_order_id, &update.client_order_id);
        keep(&mut self.symbol, &update.symbol);
        keep(&mut self.side, &update.side);
        keep(&mut self.price, &update.price);
        keep(&mut self.qty, &update.qty);
        keep(&mut self.filled_qty, &update.filled_qty);
        keep(&mut self.avg_price, &update.avg_price);
        keep(&mut self.filled_notional, &update.filled_notional);
        keep(&mut self.order_type, &update.order_type);
        keep(&mut self.time_in_force, &update.time_in_force);
        keep(&mut self.post_only, &update.post_only);
    }

    /// What an order update carries beyond its core fields.
    fn detail(&self) -> OrderDetail {
        OrderDetail {
            avg_price: self.avg_price,
            filled_notional: self.filled_notional,
            order_type: self.order_type,
            time_in_force: self.time_in_force,
            post_only: self.post_only.unwrap_or(false),
            ..OrderDetail::default()
        }
    }
}

/// The Kraken WS v2 codec.
pub struct Kraken {
    token: Option<Secret>,
    tier: Tier,
    book_depths: HashMap<Symbol, usize>,
    default_depth: usize,
    books: HashMap<Symbol, Book>,
    exec_sequence: Option<u64>,
    /// foldhash: several times faster than SipHash on 48-byte ids.
    orders: HashMap<OrderId, KnownOrder, foldhash::fast::FixedState>,
    /// Book depths subscribed, for the decoding half once split.
    notes: NoteQueue,
}

impl std::fmt::Debug for Kraken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kraken")
            .field("token", &self.token)
            .field("tier", &self.tier)
            .field("books", &self.books.len())
            .field("open_orders", &self.orders.len())
            .finish()
    }
}

/// Open orders the codec tracks without growing its map.
const ORDER_CAPACITY: usize = 4096;

impl Kraken {
    /// A codec for public data only (no token).
    pub fn public() -> Kraken {
        Kraken::new(None, Tier::default())
    }

    /// A codec with a WebSocket token (from `GetWebSocketsToken`).
    pub fn new(token: Option<Secret>, tier: Tier) -> Kraken {
        Kraken {
            token,
            tier,
            book_depths: HashMap::new(),
            default_depth: DEFAULT_DEPTH,
            books: HashMap::new(),
            exec_sequence: None,
            orders: HashMap::with_capacity_and_hasher(ORDER_CAPACITY, Default::default()),
            notes: NoteQueue::default(),
        }
    }

    /// The codec a capture's header describes ([`Venue::capture_config`]),
    /// for a replay: a recorded token becomes a placeholder, which the
    /// replay's check redacts as the capture's was.
    pub fn from_capture(header: &crate::capture::Header) -> Result<Kraken, String> {
        use crate::capture::{REPLAY_SECRET, venue_setting, venue_setting_or};
        let tier = match venue_setting(header, "tier").unwrap_or("starter") {
            "starter" => Tier::Starter,
            "intermediate" => Tier::Intermediate,
            "pro" => Tier::Pro,
            custom => {
                let mut parts = custom.strip_prefix("custom:").unwrap_or("").split(':');
                let mut number = || parts.next().and_then(|p| p.parse::<u64>().ok());
                match (number(), number()) {
                    (Some(threshold_milli), Some(decay_milli_per_sec)) => Tier::Custom {
                        threshold_milli,
                        decay_milli_per_sec,
                    },
                    _ => return Err(format!("capture header: bad Kraken tier {custom}")),
                }
            }
        };
        let token = venue_setting_or(header, "token", false)?.then(|| Secret::new(REPLAY_SECRET));
        let mut kraken = Kraken::new(token, tier);
        // Kraken serves books of at most 1000 levels: a header saying more
        // is damage, not a book to allocate for.
        let depth: usize = venue_setting_or(header, "default_depth", DEFAULT_DEPTH)?;
        if depth > 1000 {
            return Err(format!("capture header: Kraken depth {depth} is over 1000"));
        }
        kraken.set_default_depth(depth);
        Ok(kraken)
    }

    /// The depth of books whose subscription this codec did not encode (a
    /// decoder reading captured messages); Kraken's default is 10.
    pub fn set_default_depth(&mut self, depth: usize) {
        self.default_depth = depth.max(1);
    }

    /// The local book of `symbol`, if subscribed.
    pub fn book(&self, symbol: &str) -> Option<&Book> {
        crate::model::inline(symbol).and_then(|s: Symbol| self.books.get(&s))
    }

    /// Drops the local book of `symbol` (before a resubscribe).
    pub fn drop_book(&mut self, symbol: &Symbol) {
        self.books.remove(symbol);
    }
}

impl Kraken {
    /// How many replies Kraken sends for `request`: a cancel is answered
    /// once per order, a subscription once per symbol, all with the
    /// request's `req_id`.
    pub fn replies_expected(&self, request: &Request<'_>) -> u32 {
        match request {
            Request::Cancel(cancel) => u32::try_from(cancel.orders.len())
                .unwrap_or(u32::MAX)
                .max(1),
            Request::Subscribe(sub) | Request::Unsubscribe(sub) => match sub {
                crate::model::Subscription::Book { symbols, .. }
                | crate::model::Subscription::Ticker { symbols }
                | crate::model::Subscription::Trades { symbols } => {
                    u32::try_from(symbols.len()).unwrap_or(u32::MAX).max(1)
                }
                // Executions, and what Kraken refuses to encode.
                _ => 1,
            },
            _ => 1,
        }
    }
}

impl Venue for Kraken {
    fn name(&self) -> &'static str {
        "kraken"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            order_entry: true,
            correlation: Correlation::ById,
            reconcile: Reconcile::FromSnapshot,
            book: BookKind::Checksummed,
            secret_fields: &["token"],
            ..Capabilities::default()
        }
    }

    fn set_token(&mut self, token: Secret) {
        self.token = Some(token);
    }

    fn encode(
        &mut self,
        _ctx: &mut Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Frames,
    ) -> Result<Expect, EncodeError> {
        self.encode_request(req_id, request, out.frame(FrameKind::Text))?;
        Ok(Expect::Replies(self.replies_expected(request)))
    }

    fn decode(
        &mut self,
        _ctx: &mut Ctx<'_>,
        _kind: FrameKind,
        message: &mut [u8],
        out: &mut Events,
        _reply: &mut Frames,
    ) -> Result<(), DecodeError> {
        // Kraken sends text only; a binary frame of JSON decodes the same.
        self.decode_message(message, out)
    }

    fn reset(&mut self) {
        self.books.clear();
        self.exec_sequence = None;
    }

    fn split(&mut self) -> Option<Kraken> {
        // The decoder needs the subscribed depths (the checksum covers that
        // many levels), not the token.
        self.notes.start();
        let mut decoder = Kraken::new(None, self.tier);
        decoder.book_depths = self.book_depths.clone();
        decoder.default_depth = self.default_depth;
        Some(decoder)
    }

    fn take_note(&mut self) -> Option<Note> {
        self.notes.pop()
    }

    fn apply_note(&mut self, note: Note) {
        if let Note::Book { symbol, depth } = note {
            self.book_depths.insert(symbol, depth as usize);
        }
    }

    fn keepalive(&self) -> Keepalive {
        Keepalive {
            idle_close_after: Some(Duration::from_secs(60)),
            app_ping_every: Some(Duration::from_secs(20)),
            heartbeat_every: Some(Duration::from_secs(1)),
            max_connection_age: None,
        }
    }

    fn capture_config(&self) -> String {
        let tier = match self.tier {
            Tier::Starter => "starter".to_owned(),
            Tier::Intermediate => "intermediate".to_owned(),
            Tier::Pro => "pro".to_owned(),
            Tier::Custom {
                threshold_milli,
                decay_milli_per_sec,
            } => format!("custom:{threshold_milli}:{decay_milli_per_sec}"),
        };
        format!(
            "tier={tier}\ndefault_depth={}\ntoken={}",
            self.default_depth,
            self.token.is_some()
        )
    }

    fn rate_policy(&self) -> RatePolicy {
        let (threshold_milli, decay_milli_per_sec) = self.tier.counter();
        RatePolicy {
            limits: vec![RateLimit::DecayingCounter {
                scope: LimitScope::PerSymbol,
                threshold_milli,
                decay_milli_per_sec,
                costs: TRADING_COSTS,
            }],
        }
    }
}

/// A codec for captured messages, with books of `book_depth` levels (the
/// depth the capture subscribed with): Kraken's checksums cover the top
/// levels of a book of that depth.
pub fn offline_codec(book_depth: u32) -> Box<dyn Venue> {
    let mut kraken = Kraken::public();
    kraken.set_default_depth(usize::try_from(book_depth).unwrap_or(usize::MAX));
    Box::new(kraken)
}
