//! Prometheus metrics for `orderwire run --metrics ADDR`, through
//! prometheus-client: counters the polling loop bumps as events go by, and
//! a collector that reads the gateways at scrape time (request latency from
//! their hdrhistograms, orders by state). A plain HTTP/1.1 responder serves
//! the OpenMetrics text on any path.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use orderwire_engine::gateway::{ConnectionEvent, GatewayEvent};
use orderwire_protocol::model::{Event, Method, OrderStatus};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::service::ServiceExchange;

type Labels = Vec<(&'static str, String)>;

/// The counters, shared by the polling loop and the scrape.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    /// Messages by event type.
    pub messages: Family<Labels, Counter>,
    /// Reconnect attempts.
    pub reconnects: Family<Labels, Counter>,
    /// Requests that waited for the rate limits (released from the FIFO).
    pub rate_limit_waits: Family<Labels, Counter>,
    /// Subscription watchdog alarms.
    pub watchdog_alarms: Family<Labels, Counter>,
    /// Requests that timed out.
    pub timeouts: Family<Labels, Counter>,
}

impl Counters {
    /// Counts one gateway event of `exchange`.
    pub fn observe(&self, exchange: &str, event: &GatewayEvent) {
        let labels =
            |kind: &str| vec![("exchange", exchange.to_owned()), ("type", kind.to_owned())];
        match event {
            GatewayEvent::Market(e)
            | GatewayEvent::Reply(e)
            | GatewayEvent::Account(e)
            | GatewayEvent::Problem(e) => {
                self.messages.get_or_create(&labels(event_type(e))).inc();
            }
            GatewayEvent::Fill(_) => {
                self.messages.get_or_create(&labels("fill")).inc();
            }
            GatewayEvent::Error(_) => {
                self.messages.get_or_create(&labels("error")).inc();
            }
            GatewayEvent::Order(_) => {
                self.messages.get_or_create(&labels("order_state")).inc();
            }
            GatewayEvent::Connection(ConnectionEvent::Reconnecting { .. }) => {
                self.reconnects
                    .get_or_create(&vec![("exchange", exchange.to_owned())])
                    .inc();
            }
            GatewayEvent::Released { .. } => {
                self.rate_limit_waits
                    .get_or_create(&vec![("exchange", exchange.to_owned())])
                    .inc();
            }
            GatewayEvent::SubscriptionSilent { channel, .. } => {
                self.watchdog_alarms
                    .get_or_create(&vec![
                        ("exchange", exchange.to_owned()),
                        ("channel", format!("{channel:?}").to_ascii_lowercase()),
                    ])
                    .inc();
            }
            GatewayEvent::TimedOut { .. } => {
                self.timeouts
                    .get_or_create(&vec![("exchange", exchange.to_owned())])
                    .inc();
            }
            _ => {}
        }
    }
}

/// The normalised type name of an event (as `decode` prints it).
pub fn event_type(event: &Event) -> &'static str {
    event.type_name()
}

/// Reads the gateways at scrape time.
#[derive(Debug)]
struct GatewayCollector {
    exchanges: Vec<ServiceExchange>,
}

impl std::fmt::Debug for ServiceExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ServiceExchange")
            .field(&self.name())
            .finish()
    }
}

/// Histogram bucket bounds: seconds, and the same in nanoseconds.
const BOUNDS: [(f64, u64); 13] = [
    (0.000_01, 10_000),
    (0.000_025, 25_000),
    (0.000_05, 50_000),
    (0.000_1, 100_000),
    (0.000_25, 250_000),
    (0.000_5, 500_000),
    (0.001, 1_000_000),
    (0.002_5, 2_500_000),
    (0.005, 5_000_000),
    (0.01, 10_000_000),
    (0.1, 100_000_000),
    (1.0, 1_000_000_000),
    (10.0, 10_000_000_000),
];

impl Collector for GatewayCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        {
            let mut histograms = encoder.encode_descriptor(
                "orderwire_request_latency_seconds",
                "Request to reply, per exchange and method (from the gateway's hdrhistograms)",
                None,
                prometheus_client::metrics::MetricType::Histogram,
            )?;
            for exchange in &self.exchanges {
                let book = exchange.latency();
                for method in book.methods() {
                    let histogram = book.histogram(method);
                    let labels = vec![
                        ("exchange", exchange.name().to_owned()),
                        ("venue", exchange.venue().to_owned()),
                        ("method", method_name(method).to_owned()),
                    ];
                    // Per bucket (the encoder accumulates), the last
                    // open-ended; nanoseconds, as the gateway records.
                    let mut below = 0;
                    let mut buckets: Vec<(f64, u64)> = BOUNDS
                        .iter()
                        .map(|&(bound, ns)| {
                            let upto = histogram.count_between(0, ns);
                            let bucket = upto.saturating_sub(below);
                            below = upto;
                            (bound, bucket)
                        })
                        .collect();
                    // The encoder writes `f64::MAX` as `le="+Inf"`.
                    buckets.push((f64::MAX, histogram.len().saturating_sub(below)));
                    let sum = histogram.mean() * histogram.len() as f64 / 1e9;
                    histograms
                        .encode_family(&labels)?
                        .encode_histogram::<Labels>(sum, histogram.len(), &buckets, None)?;
                }
            }
        }
        let mut orders = encoder.encode_descriptor(
            "orderwire_orders",
            "Orders by state",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for exchange in &self.exchanges {
            for (status, name) in STATES {
                let count = exchange.count_orders(status);
                let labels = vec![
                    ("exchange", exchange.name().to_owned()),
                    ("state", name.to_owned()),
                ];
                ConstGauge::new(i64::try_from(count).unwrap_or(i64::MAX))
                    .encode(orders.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

const STATES: [(OrderStatus, &str); 7] = [
    (OrderStatus::PendingNew, "pending_new"),
    (OrderStatus::New, "new"),
    (OrderStatus::PartiallyFilled, "partially_filled"),
    (OrderStatus::Filled, "filled"),
    (OrderStatus::Canceled, "canceled"),
    (OrderStatus::Rejected, "rejected"),
    (OrderStatus::Unknown, "unknown"),
];

fn method_name(method: Method) -> &'static str {
    method.as_str()
}

/// The registry of a running service.
pub fn registry(counters: &Counters, exchanges: Vec<ServiceExchange>) -> Registry {
    // Every exchange's series exist from the start, at 0, so a scrape (and
    // an alert on `increase()`) sees them before the first event.
    for exchange in &exchanges {
        let own = vec![("exchange", exchange.name().to_owned())];
        let _ = counters.reconnects.get_or_create(&own);
        let _ = counters.rate_limit_waits.get_or_create(&own);
        let _ = counters.timeouts.get_or_create(&own);
        for channel in ["book", "trades", "ticker"] {
            let _ = counters.watchdog_alarms.get_or_create(&vec![
                ("exchange", exchange.name().to_owned()),
                ("channel", channel.to_owned()),
            ]);
        }
    }
    let mut registry = Registry::default();
    registry.register(
        "orderwire_messages",
        "Messages by normalised event type",
        counters.messages.clone(),
    );
    registry.register(
        "orderwire_reconnects",
        "Reconnect attempts",
        counters.reconnects.clone(),
    );
    registry.register(
        "orderwire_rate_limit_waits",
        "Requests that waited for the rate limits",
        counters.rate_limit_waits.clone(),
    );
    registry.register(
        "orderwire_subscription_alarms",
        "Subscriptions reported silent by the watchdog",
        counters.watchdog_alarms.clone(),
    );
    registry.register(
        "orderwire_request_timeouts",
        "Requests unanswered by their deadline",
        counters.timeouts.clone(),
    );
    registry.register_collector(Box::new(GatewayCollector { exchanges }));
    registry
}

/// Serves `registry` on `addr` until `stop`; returns the bound address.
pub fn serve(
    addr: SocketAddr,
    registry: Registry,
    stop: Arc<AtomicBool>,
) -> std::io::Result<(SocketAddr, std::thread::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let thread = std::thread::Builder::new()
        .name("orderwire-metrics".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                        let mut request = [0u8; 1024];
                        let _ = stream.read(&mut request);
                        let mut body = String::new();
                        let response = match prometheus_client::encoding::text::encode(&mut body, &registry) {
                            Ok(()) => format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            ),
                            Err(_) => "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                        };
                        let _ = stream.write_all(response.as_bytes());
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
        })?;
    Ok((bound, thread))
}
