//! Talks to a WebSocket echo server through the sans-IO codec and a blocking
//! socket, and prints the round-trip times it saw.
//!
//! With no argument it starts a tungstenite echo server on loopback in this
//! process, so it needs no network: `cargo run --release -p orderwire-protocol --example echo`.
//! With a `ws://` URL it uses that server instead.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

#[path = "../tests/support/blocking.rs"]
mod blocking;

use std::net::TcpListener;
use std::time::Instant;

use blocking::{BlockingClient, Received};
use orderwire_protocol::ws::Config;

const ROUNDS: usize = 2000;

fn local_echo_server() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("ws://{}/", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_nodelay(true);
            std::thread::spawn(move || {
                let Ok(mut ws) = tungstenite::accept(stream) else {
                    return;
                };
                while let Ok(message) = ws.read() {
                    if (message.is_text() || message.is_binary()) && ws.send(message).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(url)
}

fn main() -> std::io::Result<()> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => local_echo_server()?,
    };
    println!("echo against {url}");
    let mut client = BlockingClient::connect(&url, Config::default(), 42)?;
    for size in [64usize, 512, 4096] {
        let payload = "x".repeat(size);
        let mut rtts_us = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let sent = Instant::now();
            client.send_text(&payload)?;
            match client.next_message()? {
                Received::Text(echo) if echo.len() == size => {}
                other => return Err(std::io::Error::other(format!("unexpected reply {other:?}"))),
            }
            rtts_us.push(sent.elapsed().as_secs_f64() * 1e6);
        }
        rtts_us.sort_by(f64::total_cmp);
        let at = |q: f64| rtts_us[((rtts_us.len() - 1) as f64 * q) as usize];
        println!(
            "{size:>5} B text x{ROUNDS}: round trip p50 {:.1} us, p99 {:.1} us, max {:.1} us",
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
    client.close(1000, "done")?;
    match client.next()? {
        Received::Closed { code, .. } => println!("closed cleanly with {code:?}"),
        other => {
            return Err(std::io::Error::other(format!(
                "expected the close handshake, got {other:?}"
            )));
        }
    }
    Ok(())
}
