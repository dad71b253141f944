//! `orderwire run --config FILE`: starts the exchanges and subscriptions a
//! service config names and prints their normalised events as `decode`
//! does (one JSON object per line), or a live summary, until Ctrl-C (or
//! `--duration`); then shuts down cleanly (cancels where the config says,
//! close handshakes). Optionally serves Prometheus metrics.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use orderwire_protocol::model::Events;

pub use crate::event_line::gateway_event_type;
use crate::event_line::write_gateway_event;
use crate::metrics::{self, Counters};
use crate::service::{self, ServiceConfig, ServiceExchange, StartOptions};

/// What `run` does.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The service config.
    pub config: PathBuf,
    /// Start the mock venues in process.
    pub mock: bool,
    /// Overrides every exchange's `[engine] mode`.
    pub mode: Option<service::Mode>,
    /// A live summary (once a second) instead of every event.
    pub summary: bool,
    /// Serve Prometheus metrics here.
    pub metrics: Option<SocketAddr>,
    /// Stop after this long (default: at Ctrl-C).
    pub duration: Option<Duration>,
    /// Capture every exchange's sessions (`--record FILE`;
    /// `StartOptions::record` says where each goes).
    pub record: Option<PathBuf>,
    /// With `mock`: the mocks' timing and order flow (`--mock-rate`,
    /// `--mock-delay`, `--mock-stall`).
    pub mock_options: crate::mock::MockOptions,
}

/// What a run saw.
#[derive(Debug, Default, Clone)]
pub struct RunReport {
    /// Events by exchange and type.
    pub counts: BTreeMap<(String, String), u64>,
    /// Where metrics were served, if they were.
    pub metrics: Option<SocketAddr>,
}

/// Runs until `stop` is set or the duration ends; events go to `out`.
/// `on_metrics` is told the metrics address once it is bound.
pub fn run(
    options: &RunOptions,
    stop: Arc<AtomicBool>,
    out: &mut impl Write,
    mut on_metrics: impl FnMut(SocketAddr),
) -> Result<RunReport, String> {
    let config = ServiceConfig::load(&options.config).map_err(|e| e.to_string())?;
    let mut service = service::start_with(
        &config,
        StartOptions {
            mock: options.mock,
            mode: options.mode,
            record: options.record.clone(),
            mock_options: options.mock_options.clone(),
            ..StartOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let exchanges: Vec<ServiceExchange> = service.exchanges().cloned().collect();
    tracing::info!(
        exchanges = exchanges.len(),
        mock = options.mock,
        "service started"
    );
    let counters = Counters::default();
    let mut report = RunReport::default();
    let metrics_stop = Arc::new(AtomicBool::new(false));
    let mut metrics_thread = None;
    if let Some(addr) = options.metrics {
        let registry = metrics::registry(&counters, exchanges.clone());
        let (bound, thread) = metrics::serve(addr, registry, metrics_stop.clone())
            .map_err(|e| format!("metrics on {addr}: {e}"))?;
        tracing::info!(%bound, "metrics served");
        report.metrics = Some(bound);
        on_metrics(bound);
        metrics_thread = Some(thread);
    }
    let started = Instant::now();
    let mut last_summary = Instant::now();
    let mut line = Vec::with_capacity(512);
    let mut events = Events::default();
    while !stop.load(Ordering::Relaxed) && options.duration.is_none_or(|d| started.elapsed() < d) {
        let mut busy = 0;
        for exchange in &exchanges {
            let venue = exchange.venue();
            let name = exchange.name().to_owned();
            busy += exchange.poll(|event, outputs| {
                counters.observe(&name, event);
                let kind = gateway_event_type(event);
                *report
                    .counts
                    .entry((name.clone(), kind.to_owned()))
                    .or_default() += 1;
                if !options.summary {
                    line.clear();
                    write_gateway_event(venue, &name, event, outputs, &mut events, &mut line);
                    line.push(b'\n');
                    let _ = out.write_all(&line);
                }
            });
        }
        if options.summary && last_summary.elapsed() >= Duration::from_secs(1) {
            last_summary = Instant::now();
            let _ = writeln!(out, "{}", summary_line(&report, started.elapsed()));
        }
        let _ = out.flush();
        if busy == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    tracing::info!("shutting down");
    service.shutdown(Duration::from_secs(1));
    metrics_stop.store(true, Ordering::Relaxed);
    if let Some(thread) = metrics_thread {
        let _ = thread.join();
    }
    if options.summary {
        let _ = writeln!(out, "{}", summary_line(&report, started.elapsed()));
    }
    Ok(report)
}

/// `12.0 s | kraken: book_snapshot 2, trade 5 | ...`
fn summary_line(report: &RunReport, elapsed: Duration) -> String {
    let mut text = format!("{:.1} s", elapsed.as_secs_f64());
    let mut current = "";
    for ((exchange, kind), count) in &report.counts {
        if exchange != current {
            text.push_str(&format!(" | {exchange}:"));
            current = exchange;
        } else {
            text.push(',');
        }
        text.push_str(&format!(" {kind} {count}"));
    }
    text
}
