//! The Autobahn|Testsuite client protocol: count the cases, run each one as
//! an echo client, then ask the server to write its reports. Shared by the
//! `autobahn_client` example and the `autobahn_suite` test.
#![allow(dead_code)]

use std::io;

use orderwire_protocol::ws::{Config, DeflateConfig};

use super::blocking::{BlockingClient, Received};

pub(crate) const AGENT: &str = "orderwire";

/// The codec configuration under test: permessage-deflate offered, limits
/// above the suite's largest message (16 MiB).
pub(crate) fn config(client_no_context_takeover: bool) -> Config {
    Config {
        deflate: Some(DeflateConfig {
            compression_threshold: 0,
            client_no_context_takeover,
            ..DeflateConfig::default()
        }),
        max_frame_size: 64 << 20,
        max_message_size: 64 << 20,
        ..Config::default()
    }
}

/// Runs every case the server offers; `log` gets one line per problem.
/// Returns the number of cases run.
pub(crate) fn run_suite(
    base: &str,
    config: &Config,
    mut log: impl FnMut(String),
) -> io::Result<u32> {
    let mut counter =
        BlockingClient::connect(&format!("{base}/getCaseCount"), Config::default(), 1)?;
    let count: u32 = match counter.next_message()? {
        Received::Text(n) => n.trim().parse().map_err(io::Error::other)?,
        other => return Err(io::Error::other(format!("getCaseCount answered {other:?}"))),
    };
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        match BlockingClient::connect(&url, config.clone(), u64::from(case)) {
            Ok(mut client) => {
                if let Err(e) = echo_until_closed(&mut client) {
                    log(format!("case {case}: {e}"));
                }
            }
            Err(e) => log(format!("case {case}: handshake refused: {e}")),
        }
    }
    let url = format!("{base}/updateReports?agent={AGENT}");
    let mut report = BlockingClient::connect(&url, Config::default(), 2)?;
    while !matches!(
        report.next(),
        Ok(Received::Eof | Received::Closed { .. }) | Err(_)
    ) {}
    Ok(count)
}

/// Echoes every message exactly as it came, until the connection ends.
fn echo_until_closed(client: &mut BlockingClient) -> io::Result<()> {
    loop {
        match client.next()? {
            Received::Text(t) => client.send_text(&t)?,
            Received::Binary(b) => client.send_binary(&b)?,
            Received::Ping(_) | Received::Pong(_) => {}
            Received::Closed { .. } | Received::Failed(_) | Received::Eof => return Ok(()),
        }
    }
}
