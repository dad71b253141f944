//! The gateway's settings.

use std::time::Duration;

use orderwire_protocol::model::Subscription;

/// What to do with a request that does not fit the rate limits now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenLimited {
    /// Hold it in a FIFO of this many requests and send it when it fits.
    Queue {
        /// The FIFO's bound; beyond it, submit fails with `QueueFull`.
        capacity: usize,
    },
    /// Refuse it at once with [`SubmitError::RateLimited`](crate::SubmitError::RateLimited).
    Reject,
    /// Do not enforce limits (benchmarks, or a venue that enforces its own).
    Off,
}

/// Kraken's `cancel_all_orders_after`, refreshed while connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeadManSwitch {
    /// The venue cancels everything this long after the last refresh.
    pub timeout: Duration,
    /// How often to refresh (Kraken suggests 60 s refreshed every 15-30 s).
    pub refresh_every: Duration,
}

/// The gateway's settings.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// A request unanswered this long moves its orders to `unknown`.
    pub request_timeout: Duration,
    /// Rate-limit behaviour.
    pub when_limited: WhenLimited,
    /// Cancels skip the rate-limit FIFO (they still respect the limits).
    pub cancel_priority: bool,
    /// The dead-man switch, if wanted.
    pub dead_man: Option<DeadManSwitch>,
    /// Subscribed on every (re)connect, after the venue's login.
    pub subscriptions: Vec<Subscription>,
    /// Orders tracked without growing the tables.
    pub order_capacity: usize,
    /// Trade ids remembered to drop duplicate fills.
    pub fill_memory: usize,
    /// Overrides the venue's application-ping interval.
    pub app_ping_every: Option<Duration>,
    /// Percent of every rate ceiling kept unused, for network jitter.
    pub rate_headroom_percent: u8,
    /// Reconnect on our own terms this long before the venue's connection
    /// age limit (Binance: 24 h); overrides the venue's age when set to
    /// an age of its own with `max_connection_age`.
    pub reconnect_margin: Duration,
    /// Overrides the venue's maximum connection age (tests use seconds).
    pub max_connection_age: Option<Duration>,
    /// Seeds the RNG venue calls draw from (Upbit tickets, JWT nonces), so
    /// the same inputs give the same bytes.
    pub seed: u64,
    /// A configured trade, ticker or book subscription that delivers nothing
    /// this long after its acknowledgement, or after its last message, is
    /// reported (`SubscriptionSilent`), and again when data resumes. Raise
    /// it for markets that are quiet for long; None turns watching off.
    pub subscription_silence: Option<Duration>,
    /// Frames the core holds for a driver that has not taken them
    /// ([`super::GatewayCore::poll_transmit`]); past it, a request is
    /// refused with `TransportFull` and nothing is committed.
    pub transmit_capacity: usize,
    /// Report every request's end (`Outputs::completed`, with its wire
    /// text), not only those submitted with their own callback: set by
    /// `Exchange` when a per-exchange callback is configured. Costs one
    /// copy of each frame before it is handed over.
    pub report_all_requests: bool,
    /// Rate limits shared with other gateways on the same key (or IP
    /// budget); None: this gateway's own, made from the venue's policy.
    pub rate_budget: Option<crate::ratelimit::SharedBudget>,
    /// What a request submitted while no connection is up does (before
    /// the first connection opens, or during a reconnect).
    pub when_disconnected: WhenDisconnected,
}

/// What a request submitted while no connection is up does. Either way a
/// held request's latency runs from the write of its frame, not from the
/// submit that waited for the handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenDisconnected {
    /// Held, and written right behind the next connection's open sequence
    /// (login, subscriptions). The default: a cancel made during a
    /// reconnect must still reach the venue, and an order placed at start
    /// goes out as soon as it can.
    #[default]
    Hold,
    /// Refused with `SubmitError::NotConnected`, nothing kept: for a
    /// strategy that would rather re-decide than send an order priced
    /// before the connection came back. Subscriptions still fold into the
    /// next open sequence.
    Refuse,
}

impl Default for GatewayConfig {
    fn default() -> GatewayConfig {
        GatewayConfig {
            request_timeout: Duration::from_secs(5),
            when_limited: WhenLimited::Queue { capacity: 1024 },
            cancel_priority: false,
            dead_man: None,
            subscriptions: Vec::new(),
            order_capacity: 4096,
            fill_memory: 65_536,
            app_ping_every: None,
            rate_headroom_percent: 10,
            reconnect_margin: Duration::from_secs(600),
            max_connection_age: None,
            seed: 0,
            subscription_silence: Some(Duration::from_secs(60)),
            transmit_capacity: 1024,
            report_all_requests: false,
            rate_budget: None,
            when_disconnected: WhenDisconnected::Hold,
        }
    }
}
