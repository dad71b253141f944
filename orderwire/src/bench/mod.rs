//! `orderwire bench`: latency benchmarking as a tool for users (docs/bench.md).
//!
//! One run: a workload (`orders`, `echo`, `subscribe`) against a venue's
//! embedded mock or a URL, paced open loop or closed loop
//! ([`pacer`]), on the engine configured as the user runs it; every
//! latency is timed on the engine's TSC clock and recorded in an
//! HdrHistogram per method ([`report`]), then printed as a table and,
//! on request, written as JSON, `.hgrm` files and a plot ([`plot`]).
//! The repository's own `cargo bench` suites stay as they are: those are
//! the project's benchmarks, this is the user's.

pub mod echo;
pub mod pacer;
pub mod plot;
pub mod report;
mod venue;

use std::time::Duration;

use orderwire_engine::{EngineConfig, WaitStrategy};

pub use pacer::Pacing;
pub use report::{BenchReport, MethodReport, MethodStats};

use crate::service::Mode;
use crate::venues::Venues;

/// What a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Place, ack, cancel, ack, on a venue that takes orders on its
    /// connection.
    Orders,
    /// Round trips of a message on a bare WebSocket connection.
    Echo,
    /// Market data: message rate and venue timestamp to decode.
    Subscribe,
}

impl std::str::FromStr for Workload {
    type Err = String;

    fn from_str(text: &str) -> Result<Workload, String> {
        match text {
            "orders" => Ok(Workload::Orders),
            "echo" => Ok(Workload::Echo),
            "subscribe" => Ok(Workload::Subscribe),
            _ => Err(format!("{text:?}: a workload is orders, echo or subscribe")),
        }
    }
}

impl Workload {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::Orders => "orders",
            Workload::Echo => "echo",
            Workload::Subscribe => "subscribe",
        }
    }
}

/// A run's settings.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// What to measure.
    pub workload: Workload,
    /// The venue whose mock to run against (orders, subscribe).
    pub venue: String,
    /// A ws:// or wss:// endpoint instead of a mock: echo's peer, or with
    /// `config` the endpoint of the config's exchange.
    pub url: Option<String>,
    /// A service config (orderwire.toml) whose exchanges, credentials and
    /// subscriptions the `orders` and `subscribe` workloads use instead of
    /// a venue's demo.
    pub config: Option<std::path::PathBuf>,
    /// With `config`: run its exchanges against the venues' mocks.
    pub config_mock: bool,
    /// With `config`: only this exchange of it.
    pub exchange: Option<String>,
    /// With `config`, for `orders`: what to place.
    pub order: Option<OrderSpec>,
    /// Open or closed loop.
    pub pacing: Pacing,
    /// Measured time, after the warmup.
    pub duration: Duration,
    /// Time run but not measured first (connections warm, caches hot).
    pub warmup: Duration,
    /// Connections (echo: requests go round them; a closed loop keeps one
    /// in flight on each).
    pub connections: usize,
    /// An echo message's size in bytes (at least 16).
    pub size: usize,
    /// A request unanswered this long is a timeout.
    pub timeout: Duration,
    /// The driver: threaded or inline.
    pub mode: Mode,
    /// The engine: wait strategy, pinned core, spin before blocking.
    pub engine: EngineConfig,
    /// The mock's timing and order flow.
    pub mock: crate::mock::MockOptions,
    /// The run's name on charts and in comparisons (default: `mode/wait
    /// open|closed`).
    pub label: Option<String>,
    /// A live progress bar on stderr.
    pub progress: bool,
}

impl Default for BenchOptions {
    fn default() -> BenchOptions {
        BenchOptions {
            workload: Workload::Orders,
            venue: "kraken".to_owned(),
            url: None,
            config: None,
            config_mock: false,
            exchange: None,
            order: None,
            pacing: Pacing::Open { rate: 1_000.0 },
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(1),
            connections: 1,
            size: 64,
            timeout: Duration::from_secs(5),
            mode: Mode::Threaded,
            engine: EngineConfig::default(),
            mock: crate::mock::MockOptions::default(),
            label: None,
            progress: false,
        }
    }
}

/// What `--workload orders --config` places: a limit buy that rests.
#[derive(Clone, Debug)]
pub struct OrderSpec {
    /// The pair, as the venue names it.
    pub symbol: String,
    /// A price under the book, so the order rests until canceled.
    pub price: orderwire_protocol::num::Decimal,
    /// Its size.
    pub qty: orderwire_protocol::num::Decimal,
}

/// A finished run: its report and its histograms (for `.hgrm` files).
#[derive(Debug)]
pub struct BenchRun {
    /// Every figure.
    pub report: BenchReport,
    /// Per method, as recorded.
    pub stats: Vec<MethodStats>,
}

/// What a workload measured.
pub(crate) struct Measure {
    pub(crate) stats: Vec<MethodStats>,
    /// Requests sent while measuring.
    pub(crate) sent: u64,
    /// Market messages while measuring.
    pub(crate) messages: u64,
    /// The measured span.
    pub(crate) measured: Duration,
}

/// Requests one pass of a workload's loop sends at most before it reads
/// replies again.
pub(crate) const MAX_BURST: usize = 256;

/// Nanoseconds of a duration, capped far from overflow.
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).map_or(u64::MAX / 4, |n| n.min(u64::MAX / 4))
}

/// Runs one benchmark.
pub fn run(options: &BenchOptions) -> Result<BenchRun, String> {
    let rate = match options.pacing {
        Pacing::Open { rate } => Some(rate),
        Pacing::Closed { rate } => rate,
    };
    if rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return Err("a rate is a positive number of requests a second".to_owned());
    }
    let clock = orderwire_engine::Clock::new();
    let overhead = report::overhead_ns(&clock);
    let mut progress = Progress::new(options);
    let (target, measure) = match (options.workload, &options.url) {
        (Workload::Echo, Some(url)) => (url.clone(), echo::run(options, url, None, &mut progress)?),
        (Workload::Echo, None) => {
            let mock = crate::mock::echo::MockEcho::start(&options.mock.timing)
                .map_err(|e| format!("the echo mock: {e}"))?;
            let tls = crate::venues::trust(&mock.ca_file())?;
            let measure = echo::run(options, &mock.url(), Some(tls), &mut progress)?;
            ("the embedded echo mock".to_owned(), measure)
        }
        (workload, _) if options.config.is_some() => {
            let path = options
                .config
                .as_deref()
                .unwrap_or(std::path::Path::new(""));
            let measure = if workload == Workload::Orders {
                venue::configured_orders(path, options, &mut progress)?
            } else {
                venue::configured_subscribe(path, options, &mut progress)?
            };
            let target = match &options.url {
                Some(url) => url.clone(),
                None if options.config_mock => format!("{} on mocks", path.display()),
                None => path.display().to_string(),
            };
            (target, measure)
        }
        (_, Some(_)) => {
            return Err(format!(
                "--workload {} with --url needs --config orderwire.toml for its credentials and subscriptions",
                options.workload.as_str()
            ));
        }
        (Workload::Orders, None) => {
            let entry = Venues::builtin().find(&options.venue)?;
            let measure = venue::orders(entry, options, &mut progress)?;
            (format!("the mock {}", entry.name()), measure)
        }
        (Workload::Subscribe, None) => {
            let entry = Venues::builtin().find(&options.venue)?;
            let measure = venue::subscribe(entry, options, &mut progress)?;
            (format!("the mock {}", entry.name()), measure)
        }
    };
    progress.finish();
    let seconds = measure.measured.as_secs_f64().max(1e-9);
    let mode = match options.mode {
        Mode::Threaded => "threaded",
        Mode::Inline => "inline",
    };
    let wait = match options.engine.wait {
        WaitStrategy::Block => "block",
        WaitStrategy::BusyPoll => "busy-poll",
    };
    let (pacing, rate) = match options.pacing {
        Pacing::Open { rate } => ("open", Some(rate)),
        Pacing::Closed { rate } => ("closed", rate),
    };
    let report = BenchReport {
        label: options.label.clone().unwrap_or_else(|| {
            format!(
                "{mode}/{wait} {}",
                match options.pacing {
                    Pacing::Open { .. } => "open",
                    Pacing::Closed { .. } => "closed",
                }
            )
        }),
        workload: options.workload.as_str().to_owned(),
        target,
        pacing: pacing.to_owned(),
        rate: if options.workload == Workload::Subscribe {
            None
        } else {
            rate
        },
        mode: mode.to_owned(),
        wait: wait.to_owned(),
        core: options.engine.core,
        spin_us: u64::try_from(options.engine.spin_before_block.as_micros()).unwrap_or(u64::MAX),
        connections: options.connections,
        size: options.size.max(16),
        mock: describe_mock(&options.mock, options.url.is_some()),
        duration_s: seconds,
        warmup_s: options.warmup.as_secs_f64(),
        machine: report::machine(),
        overhead_ns: overhead,
        sent: measure.sent,
        achieved_rate: measure.sent as f64 / seconds,
        messages: measure.messages,
        message_rate: measure.messages as f64 / seconds,
        methods: measure.stats.iter().map(MethodStats::summary).collect(),
    };
    Ok(BenchRun {
        report,
        stats: measure.stats,
    })
}

/// `delay 50us, jitter 10us, stall 200ms every 5s, flow 1000/s`.
fn describe_mock(mock: &crate::mock::MockOptions, url: bool) -> String {
    if url {
        return String::new();
    }
    let mut parts = Vec::new();
    if !mock.timing.delay.is_zero() {
        parts.push(format!("delay {:?}", mock.timing.delay));
    }
    if !mock.timing.jitter.is_zero() {
        parts.push(format!("jitter {:?}", mock.timing.jitter));
    }
    if let Some(stall) = mock.timing.stall {
        parts.push(format!("stall {:?} every {:?}", stall.length, stall.every));
    }
    if mock.flow.rate > 0 {
        parts.push(format!("flow {}/s", mock.flow.rate));
    }
    parts.join(", ")
}

/// The live progress bar: time through the run, the current rate and the
/// last second's p99. Off, every call is a no-op.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    window: MethodStats,
    window_start: u64,
    last_count: u64,
    last_tick: u64,
    measuring: bool,
}

impl Progress {
    fn new(options: &BenchOptions) -> Progress {
        let bar = options.progress.then(|| {
            let total = (options.warmup + options.duration).as_millis();
            let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {elapsed_precise} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message("warming up");
            bar
        });
        Progress {
            bar,
            window: MethodStats::new("window"),
            window_start: 0,
            last_count: 0,
            last_tick: 0,
            measuring: false,
        }
    }

    /// The warmup is over.
    pub(crate) fn measuring(&mut self) {
        self.measuring = true;
    }

    /// One latency, for the bar's running p99.
    #[inline]
    pub(crate) fn record(&mut self, nanos: u64) {
        if self.bar.is_some() {
            self.window.record(nanos);
        }
    }

    /// Updates the bar a few times a second: `count` is what was sent (or
    /// received) so far.
    pub(crate) fn tick(&mut self, now: u64, count: u64) {
        let Some(bar) = &self.bar else { return };
        if self.last_tick == 0 {
            self.last_tick = now;
            self.window_start = now;
        }
        let since = now.saturating_sub(self.window_start);
        if since < 250_000_000 {
            return;
        }
        bar.inc(since / 1_000_000);
        let rate = count.saturating_sub(self.last_count) as f64 / (since as f64 / 1e9);
        let p99 = self.window.histogram.value_at_quantile(0.99) as f64 / 1_000.0;
        bar.set_message(format!(
            "{}{rate:.0}/s, p99 {p99:.1} us",
            if self.measuring { "" } else { "warming up: " }
        ));
        self.last_count = count;
        self.window.reset();
        self.window_start = now;
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
