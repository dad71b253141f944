//! `orderwire`: the command line of the orderwire engine.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use orderwire::venues::Venues;

mod bench;
mod wscat;

#[derive(Parser)]
#[command(
    name = "orderwire",
    version,
    about = "Low-latency exchange WebSocket engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded demo: a mock venue (Kraken unless --venue says
    /// otherwise) on loopback, N orders placed, amended and canceled, and a
    /// latency summary. No keys, no network.
    Demo(DemoArgs),
    /// Decode captured inbound messages (one per line; `b64:` for binary)
    /// into normalised JSON events, one per line.
    Decode(DecodeArgs),
    /// Replays capture files into the core in virtual time (no socket)
    /// and prints its events; --check compares every frame it writes with
    /// the captured one and fails at the first difference.
    Replay(ReplayArgs),
    /// Exports a capture's events: Parquet (Hive-partitioned by venue,
    /// symbol and date, exact decimals) or hftbacktest's .npz.
    Export(ExportArgs),
    /// Talk to a WebSocket server: stdin lines out, messages to stdout.
    Wscat(wscat::Args),
    /// Start the exchanges a service config names and print their events
    /// (or a live summary) until Ctrl-C, then shut down cleanly.
    Run(RunArgs),
    /// Measure latency: orders, echo round trips or market data against a
    /// mock venue (or a URL), open loop at --rate (a stall shows) or
    /// closed loop; a percentile table, .hgrm files, JSON and a plot.
    /// --compare prints and plots runs side by side.
    Bench(Box<bench::BenchArgs>),
    /// KIS tools.
    #[command(subcommand)]
    Kis(KisCommand),
}

#[derive(Subcommand)]
enum KisCommand {
    /// Issue a WebSocket approval key over KIS's REST endpoint
    /// (`POST /oauth2/Approval`) with the app key and secret in
    /// KIS_APP_KEY and KIS_APP_SECRET (environment or ./.env), and print
    /// the `.env` line `KIS_WS_APPROVAL_KEY=...`.
    ApprovalKey {
        /// Paper trading's endpoint instead of the real one.
        #[arg(long)]
        paper: bool,
        /// Another endpoint (the mock's, in tests).
        #[arg(long)]
        url: Option<String>,
    },
}

fn kis(command: KisCommand) -> Result<(), String> {
    match command {
        KisCommand::ApprovalKey { paper, url } => {
            let source =
                orderwire::service::CredentialSource::new(Some(std::path::Path::new(".env")))?;
            let app_key = source
                .get("KIS_APP_KEY")
                .ok_or("KIS_APP_KEY is not set (nor in .env)")?;
            let app_secret = source
                .get("KIS_APP_SECRET")
                .ok_or("KIS_APP_SECRET is not set (nor in .env)")?;
            let base = url.unwrap_or_else(|| {
                if paper {
                    orderwire::venues::kis::PAPER_APPROVAL_URL.to_owned()
                } else {
                    orderwire::venues::kis::APPROVAL_URL.to_owned()
                }
            });
            let key = orderwire::venues::kis::issue_approval_key(&base, &app_key, &app_secret)?;
            // The one place a secret is printed: on request, for the .env.
            println!("KIS_WS_APPROVAL_KEY={}", key.expose());
            Ok(())
        }
    }
}

#[derive(clap::Args)]
struct RunArgs {
    /// The service config (orderwire.toml; docs/service.md).
    #[arg(long)]
    config: std::path::PathBuf,
    /// Start the mock venues in process and use them (no keys, no network).
    #[arg(long)]
    mock: bool,
    /// The driver for every exchange, over the config's `[engine] mode`:
    /// `threaded` (a reactor thread each) or `inline` (this thread drives
    /// them all).
    #[arg(long)]
    mode: Option<orderwire::service::Mode>,
    /// A live summary once a second instead of every event.
    #[arg(long)]
    summary: bool,
    /// Log level or filter (error, warn, info, debug, trace, or a tracing
    /// filter such as `orderwire_engine=debug`); logs go to stderr.
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Logs as JSON lines.
    #[arg(long)]
    log_json: bool,
    /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9464).
    #[arg(long)]
    metrics: Option<std::net::SocketAddr>,
    /// Stop after this many seconds (default: at Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    /// Capture the sessions to FILE (several exchanges: each to
    /// <stem>.<exchange>.<ext>); an exchange's own `capture =` comes first.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
    #[command(flatten)]
    mock_args: bench::MockArgs,
}

fn run(args: RunArgs) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .map_err(|e| format!("--log-level {:?}: {e}", args.log_level))?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if args.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let on_signal = stop.clone();
    ctrlc::set_handler(move || on_signal.store(true, std::sync::atomic::Ordering::Relaxed))
        .map_err(|e| format!("Ctrl-C handler: {e}"))?;
    let options = orderwire::run::RunOptions {
        config: args.config,
        mock: args.mock,
        mode: args.mode,
        summary: args.summary,
        metrics: args.metrics,
        duration: args
            .duration
            .map(|s| std::time::Duration::from_secs_f64(s.max(0.0))),
        record: args.record,
        // A market that moves: other accounts trade at 100/s by default.
        mock_options: args.mock_args.options(100),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::LineWriter::new(stdout.lock());
    orderwire::run::run(&options, stop, &mut out, |_| {}).map(|_| ())
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Which mock venue: a name in the venue registry (kraken, binance,
    /// binance_streams, upbit, digifinex).
    #[arg(long, default_value = "kraken")]
    venue: String,
    /// Orders to run through place, amend and cancel (every fifth fills).
    #[arg(long, short = 'n', default_value_t = 20)]
    orders: usize,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Print every request and its response as it ends, with its latency
    /// (the framework's default callback); implies --quiet.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Capture each connection's session to FILE (the connection that
    /// takes orders), the others beside it with their exchange name before
    /// the extension; `orderwire replay` reads them.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
    /// Write every event the connections deliver to FILE, one JSON line
    /// each, as `orderwire replay` prints them.
    #[arg(long, value_name = "FILE")]
    events: Option<std::path::PathBuf>,
    #[command(flatten)]
    mock_args: bench::MockArgs,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// Compare every outbound frame, byte for byte after redaction; exit
    /// non-zero at the first difference, naming it.
    #[arg(long)]
    check: bool,
    /// `max` (the default), or the recorded pace times a factor: `1x`,
    /// `10x`, `0.5x`.
    #[arg(long, default_value = "max")]
    speed: orderwire::replay::Speed,
    /// Print only the closing summary, not the events.
    #[arg(long)]
    quiet: bool,
    /// The capture files, in order (a rotated capture's files one after
    /// another).
    #[arg(required = true)]
    files: Vec<std::path::PathBuf>,
}

fn replay(args: ReplayArgs) -> Result<(), String> {
    let files = args
        .files
        .iter()
        .map(|path| {
            std::fs::read(path)
                .map(|bytes| (path.display().to_string(), bytes))
                .map_err(|e| format!("replay {}: {e}", path.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // A bar for a large capture (a megabyte and more), on stderr.
    let total: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    let options = orderwire::replay::ReplayOptions {
        check: args.check,
        speed: args.speed,
        print: !args.quiet,
        progress: total >= 1 << 20,
    };
    let stdout = std::io::stdout();
    let mut output = std::io::BufWriter::new(stdout.lock());
    let summary = orderwire::replay::run(&Venues::builtin(), &files, options, &mut output)?;
    let checked = if args.check {
        format!(", {} outbound frames identical", summary.frames_checked)
    } else {
        String::new()
    };
    eprintln!(
        "replay: {} records, {} events{checked}",
        summary.records, summary.events
    );
    Ok(())
}

#[derive(clap::Args)]
struct ExportArgs {
    /// Write Parquet under this directory (same as `--format parquet
    /// --out DIR`).
    #[arg(long, value_name = "DIR")]
    parquet: Option<std::path::PathBuf>,
    /// `parquet` or `hftbacktest`.
    #[arg(long, default_value = "parquet")]
    format: String,
    /// The directory (parquet) or the .npz file (hftbacktest; a capture of
    /// several pairs writes one file per pair beside it).
    #[arg(long, value_name = "PATH")]
    out: Option<std::path::PathBuf>,
    /// Add the `raw` column: each row's received frame.
    #[arg(long)]
    raw: bool,
    /// hftbacktest: only this pair.
    #[arg(long)]
    symbol: Option<String>,
    /// The capture file.
    file: std::path::PathBuf,
}

fn export(args: ExportArgs) -> Result<(), String> {
    let bytes = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let (format, out) = match (args.parquet, args.out) {
        (Some(dir), _) => ("parquet", dir),
        (None, Some(out)) => (args.format.as_str(), out),
        (None, None) => return Err("export: --parquet DIR or --out PATH".into()),
    };
    let started = std::time::Instant::now();
    // A bar for a large capture (a megabyte and more), on stderr.
    let bar = (bytes.len() >= 1 << 20)
        .then(|| orderwire::progress::bytes(bytes.len() as u64, "export: reading"));
    let extract =
        orderwire::export::extract_showing(&Venues::builtin(), &bytes, args.raw, bar.as_ref())
            .map_err(|e| format!("export {}: {e}", args.file.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let rows = match format {
        "parquet" => {
            let files = orderwire::export::write_parquet(&extract, &out, args.raw)?;
            for file in &files {
                println!("{} rows: {}", file.rows, file.path.display());
            }
            files.iter().map(|f| f.rows).sum::<usize>()
        }
        "hftbacktest" => {
            let files = orderwire::export::write_npz(&extract, &out, args.symbol.as_deref())?;
            for file in &files {
                println!(
                    "{} events ({}): {}",
                    file.rows,
                    file.symbol,
                    file.path.display()
                );
            }
            files.iter().map(|f| f.rows).sum::<usize>()
        }
        other => return Err(format!("export: --format {other}: parquet or hftbacktest")),
    };
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "export: {} frames, {rows} rows in {took:.2} s ({:.0} rows/s){}{}",
        extract.frames_read,
        rows as f64 / took.max(1e-9),
        if extract.decode_errors > 0 {
            format!(
                ", {} frames the codec could not read",
                extract.decode_errors
            )
        } else {
            String::new()
        },
        extract
            .damage
            .as_ref()
            .map(|d| format!("; the capture is damaged: {d} (everything before it exported)"))
            .unwrap_or_default()
    );
    Ok(())
}

#[derive(clap::Args)]
struct DecodeArgs {
    /// Which venue's messages: a name in the venue registry. A capture
    /// file names its own venue; this overrides it.
    #[arg(long)]
    venue: Option<String>,
    /// Book depth the messages were subscribed with.
    #[arg(long, default_value_t = 10)]
    depth: u32,
    /// Input file (default: standard input): lines, or a capture file
    /// (docs/capture.md), told apart by the capture's magic.
    file: Option<std::path::PathBuf>,
}

fn decode(args: DecodeArgs) -> Result<(), String> {
    use std::io::BufRead as _;
    let venues = Venues::builtin();
    let entry = args
        .venue
        .as_deref()
        .map(|name| venues.find(name))
        .transpose()?;
    let stdout = std::io::stdout();
    let mut output = std::io::BufWriter::new(stdout.lock());
    let mut input: Box<dyn std::io::BufRead> = match &args.file {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let head = input.fill_buf().map_err(|e| format!("decode: {e}"))?;
    if orderwire_protocol::capture::is_capture(head) {
        let mut capture = Vec::new();
        input
            .read_to_end(&mut capture)
            .map_err(|e| format!("decode: {e}"))?;
        return orderwire::decode::run_capture(&venues, entry, args.depth, &capture, &mut output)
            .map(|_| ())
            .map_err(|e| format!("decode: {e}"));
    }
    let entry =
        entry.ok_or("decode: --venue is needed for a line file (a capture names its own)")?;
    orderwire::decode::run(entry, args.depth, &mut input, &mut output)
        .map(|_| ())
        .map_err(|e| format!("decode: {e}"))
}

fn demo(args: DemoArgs) -> Result<(), String> {
    let options = orderwire::demo::DemoOptions {
        orders: args.orders,
        progress: !args.quiet && !args.verbose,
        deadline: std::time::Duration::from_secs(args.timeout),
        verbose: args.verbose,
        record: args.record,
        events: args.events,
        mock: args.mock_args.options(0),
        ..orderwire::demo::DemoOptions::default()
    };
    let entry = Venues::builtin().find(&args.venue)?;
    let report = orderwire::demo::run(entry, options)?;
    print!("{}", orderwire::demo::summary(&report));
    if report.all_terminal {
        Ok(())
    } else {
        Err("some orders did not reach a terminal state".into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo(args),
        Command::Decode(args) => decode(args),
        Command::Replay(args) => replay(args),
        Command::Export(args) => export(args),
        Command::Wscat(args) => wscat::run(args),
        Command::Run(args) => run(args),
        Command::Bench(args) => bench::bench(*args),
        Command::Kis(command) => kis(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            // One line, as the CLI promises.
            eprintln!("orderwire: {}", reason.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
