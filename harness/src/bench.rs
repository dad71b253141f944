//! `orderwire bench` and the mock settings `demo`, `run` and `bench` share.

use std::path::PathBuf;
use std::time::Duration;

use orderwire::bench::{BenchOptions, BenchReport, Pacing, Workload};
use orderwire::mock::{FlowConfig, MockOptions, MockTiming, Stall, parse_duration};

/// How the mocks behave (`demo`, `run --mock`, `bench`).
#[derive(clap::Args, Debug, Default)]
pub(crate) struct MockArgs {
    /// Other accounts' orders per second on every mock: arriving,
    /// canceling and crossing, with bursts (seeded by --seed). Default:
    /// 100 on `run --mock`, 1000 on `bench --workload subscribe`, none on
    /// `demo` and the other workloads (0 turns it off).
    #[arg(long, value_name = "N")]
    mock_rate: Option<u32>,
    /// Delay every message the mock sends by this much (`50us`, `1ms`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    mock_delay: Option<Duration>,
    /// Up to this much more delay, drawn per message (seeded).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    mock_jitter: Option<Duration>,
    /// Stall the mock: `200ms every 5s` (nothing is sent while it lasts;
    /// the first starts one period after the mock).
    #[arg(long, value_name = "LENGTH every PERIOD")]
    mock_stall: Option<Stall>,
    /// The seed of the mock's flow and jitter.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl MockArgs {
    /// The options, with `default_rate` when --mock-rate is not given.
    pub(crate) fn options(&self, default_rate: u32) -> MockOptions {
        MockOptions {
            mid: None,
            timing: MockTiming {
                delay: self.mock_delay.unwrap_or_default(),
                jitter: self.mock_jitter.unwrap_or_default(),
                stall: self.mock_stall,
                seed: self.seed,
            },
            flow: FlowConfig {
                rate: self.mock_rate.unwrap_or(default_rate),
                seed: self.seed,
            },
        }
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    /// Run against this venue's embedded mock (kraken, binance,
    /// binance_streams, upbit, digifinex, kis, koscom).
    #[arg(long, default_value = "kraken")]
    venue: String,
    /// Run against this ws:// or wss:// endpoint instead: echo's peer, or
    /// with --config the endpoint of its (first or --exchange) exchange.
    #[arg(long)]
    url: Option<String>,
    /// A service config (orderwire.toml): orders and subscribe run its
    /// exchanges, with its credentials and subscriptions, instead of a
    /// venue's demo.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// With --config: against the venues' mocks (no keys, no network).
    #[arg(long)]
    mock: bool,
    /// With --config: only this exchange of it.
    #[arg(long, value_name = "NAME")]
    exchange: Option<String>,
    /// With --config, orders: the pair to place on.
    #[arg(long)]
    symbol: Option<String>,
    /// With --config, orders: a limit price under the book (it rests).
    #[arg(long)]
    price: Option<String>,
    /// With --config, orders: the size.
    #[arg(long)]
    qty: Option<String>,
    /// `orders` (place, ack, cancel), `echo` (round trips of --size
    /// bytes) or `subscribe` (market data from the mock's flow).
    #[arg(long, default_value = "orders")]
    workload: Workload,
    /// Requests per second, open loop: each latency counts from its
    /// intended send time, so a stall shows (default 1000; orders 100).
    #[arg(long, value_name = "N")]
    rate: Option<f64>,
    /// Send the next request when the last reply arrives (at most --rate
    /// a second if given), timed from the actual send.
    #[arg(long)]
    closed_loop: bool,
    /// How long to measure (`10s`, `2m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// How long to run first without measuring.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Connections (echo).
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// An echo message's size in bytes (at least 16).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// A request unanswered this long is a timeout.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// `threaded` (a reactor thread per connection) or `inline` (the
    /// benchmark's thread drives the sockets as it polls).
    #[arg(long, default_value = "threaded")]
    mode: orderwire::service::Mode,
    /// `block` or `busy-poll`.
    #[arg(long, default_value = "block")]
    wait: String,
    /// Pin the engine's thread to this core.
    #[arg(long)]
    core: Option<usize>,
    /// Spin this many microseconds before blocking.
    #[arg(long, default_value_t = 0)]
    spin_us: u64,
    /// Write one .hgrm file per method into DIR.
    #[arg(long, value_name = "DIR")]
    hgrm: Option<PathBuf>,
    /// Draw latency by percentile to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Write every figure to FILE as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The run's name on charts and in comparisons (default: mode/wait).
    #[arg(long)]
    label: Option<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Print these runs (--json files) side by side with their ratios to
    /// the first, and plot them together with --plot; nothing is run.
    #[arg(long, num_args = 1.., value_name = "RUN.json")]
    compare: Vec<PathBuf>,
    #[command(flatten)]
    mock_args: MockArgs,
}

pub(crate) fn bench(args: BenchArgs) -> Result<(), String> {
    if !args.compare.is_empty() {
        let runs = args
            .compare
            .iter()
            .map(|path| BenchReport::read(path))
            .collect::<Result<Vec<_>, _>>()?;
        print!("{}", orderwire::bench::report::compare(&runs));
        if let Some(plot) = &args.plot {
            plotted(plot, &runs)?;
        }
        return Ok(());
    }
    let wait = match args.wait.as_str() {
        "block" => orderwire::engine::WaitStrategy::Block,
        "busy-poll" | "busypoll" => orderwire::engine::WaitStrategy::BusyPoll,
        other => return Err(format!("--wait {other}: block or busy-poll")),
    };
    let rate = args.rate.unwrap_or(match args.workload {
        Workload::Orders => 100.0,
        _ => 1_000.0,
    });
    if !(rate.is_finite() && rate > 0.0) {
        return Err(format!("--rate {rate}: a positive number per second"));
    }
    let pacing = if args.closed_loop {
        Pacing::Closed { rate: args.rate }
    } else {
        Pacing::Open { rate }
    };
    let engine = orderwire::engine::EngineConfig {
        wait,
        core: args.core,
        spin_before_block: Duration::from_micros(args.spin_us),
        ..orderwire::engine::EngineConfig::default()
    };
    let default_flow = if args.workload == Workload::Subscribe {
        1_000
    } else {
        0
    };
    let order = match (&args.symbol, &args.price, &args.qty) {
        (Some(symbol), Some(price), Some(qty)) => Some(orderwire::bench::OrderSpec {
            symbol: symbol.clone(),
            price: price
                .parse()
                .map_err(|_| format!("--price {price}: not a decimal"))?,
            qty: qty
                .parse()
                .map_err(|_| format!("--qty {qty}: not a decimal"))?,
        }),
        (None, None, None) => None,
        _ => return Err("--symbol, --price and --qty go together".into()),
    };
    let options = BenchOptions {
        workload: args.workload,
        venue: args.venue,
        url: args.url,
        config: args.config,
        config_mock: args.mock,
        exchange: args.exchange,
        order,
        pacing,
        duration: args.duration,
        warmup: args.warmup,
        connections: args.connections.max(1),
        size: args.size,
        timeout: args.timeout,
        mode: args.mode,
        engine,
        mock: args.mock_args.options(default_flow),
        label: args.label,
        progress: !args.quiet,
    };
    let run = orderwire::bench::run(&options)?;
    print!("{}", run.report.table());
    if let Some(dir) = &args.hgrm {
        for path in orderwire::bench::report::write_hgrm(dir, &run.stats)? {
            println!("hgrm: {}", path.display());
        }
    }
    if let Some(path) = &args.json {
        run.report.write(path)?;
        println!("json: {}", path.display());
    }
    if let Some(path) = &args.plot {
        plotted(path, std::slice::from_ref(&run.report))?;
    }
    Ok(())
}

/// Draws the plot and says where (and what it lacked).
fn plotted(path: &std::path::Path, runs: &[BenchReport]) -> Result<(), String> {
    let notes = orderwire::bench::plot::write(path, runs)?;
    println!("plot: {}", path.display());
    if notes.no_font {
        eprintln!("plot: no system font, so the PNG has no text; the .svg form needs none");
    }
    Ok(())
}
