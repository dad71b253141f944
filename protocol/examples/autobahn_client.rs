//! Drives the Autobahn|Testsuite fuzzing server (`kosoku -m fuzzingserver`)
//! with the codec over a blocking socket: every case connects, echoes every
//! message back, and ends with the close handshake.
//!
//! `cargo run --release -p orderwire-protocol --example autobahn_client -- ws://127.0.0.1:9001`
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

#[path = "../tests/support/blocking.rs"]
mod blocking;

use blocking::{BlockingClient, Received};
use orderwire_protocol::ws::{Config, DeflateConfig};

const AGENT: &str = "orderwire";

fn main() -> std::io::Result<()> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let mut counter =
        BlockingClient::connect(&format!("{base}/getCaseCount"), Config::default(), 1)?;
    let count: u32 = match counter.next_message()? {
        Received::Text(n) => n.trim().parse().map_err(std::io::Error::other)?,
        other => {
            return Err(std::io::Error::other(format!(
                "getCaseCount answered {other:?}"
            )));
        }
    };
    println!("running {count} cases");
    let config = Config {
        deflate: Some(DeflateConfig {
            compression_threshold: 0,
            ..DeflateConfig::default()
        }),
        max_frame_size: 64 << 20,
        max_message_size: 64 << 20,
        ..Config::default()
    };
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        let mut client = match BlockingClient::connect(&url, config.clone(), u64::from(case)) {
            Ok(client) => client,
            Err(e) => {
                println!("case {case}: handshake refused: {e}");
                continue;
            }
        };
        loop {
            match client.next() {
                Ok(Received::Text(t)) => {
                    if client.send_text(&t).is_err() {
                        break;
                    }
                }
                Ok(Received::Binary(b)) => {
                    if client.send_binary(&b).is_err() {
                        break;
                    }
                }
                Ok(Received::Ping(_) | Received::Pong(_)) => {}
                Ok(Received::Closed { .. } | Received::Failed(_) | Received::Eof) => break,
                Err(e) => {
                    println!("case {case}: {e}");
                    break;
                }
            }
        }
    }
    let mut report = BlockingClient::connect(
        &format!("{base}/updateReports?agent={AGENT}"),
        Config::default(),
        2,
    )?;
    while !matches!(
        report.next(),
        Ok(Received::Eof | Received::Closed { .. }) | Err(_)
    ) {}
    println!("done");
    Ok(())
}
