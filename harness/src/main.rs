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
    /// Talk to a WebSocket server: stdin lines out, messages to stdout.
    Wscat(wscat::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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
