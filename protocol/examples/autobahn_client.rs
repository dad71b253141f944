//! Drives the Autobahn|Testsuite fuzzing server (`kosoku -m fuzzingserver`)
//! with the codec over a blocking socket: every case connects, echoes every
//! message back, and ends with the close handshake.
//!
//! `cargo run --release -p orderwire-protocol --example autobahn_client -- ws://127.0.0.1:9001 [--client-no-context-takeover]`
//!
//! The flag adds `client_no_context_takeover` to the permessage-deflate
//! offer: cases 13.2, 13.5 and 13.6 need the client to offer it, so that the server may ask for it (the
//! suite reports UNIMPLEMENTED otherwise), while the other cases run with the
//! default offer, which keeps our compression context between messages.
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

#[path = "../tests/support/autobahn.rs"]
mod autobahn;
#[path = "../tests/support/blocking.rs"]
mod blocking;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let client_no_context_takeover = args.iter().any(|a| a == "--client-no-context-takeover");
    let config = autobahn::config(client_no_context_takeover);
    let count = autobahn::run_suite(&base, &config, |line| println!("{line}"))?;
    println!("ran {count} cases; the server wrote its report");
    Ok(())
}
