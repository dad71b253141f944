//! `orderwire`: the command line of the orderwire engine.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Run the embedded demo: a mock Kraken on loopback, N orders placed,
    /// amended and canceled, and a latency summary. No keys, no network.
    Demo(DemoArgs),
    /// Talk to a WebSocket server: stdin lines out, messages to stdout.
    Wscat(wscat::Args),
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Orders to run through place, amend and cancel (every fifth fills).
    #[arg(long, short = 'n', default_value_t = 20)]
    orders: usize,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

fn demo(args: DemoArgs) -> Result<(), String> {
    let report = orderwire_harness::demo::run(orderwire_harness::demo::DemoOptions {
        orders: args.orders,
        progress: !args.quiet,
        deadline: std::time::Duration::from_secs(args.timeout),
    })?;
    print!("{}", orderwire_harness::demo::summary(&report));
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
        Command::Wscat(args) => wscat::run(args),
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
