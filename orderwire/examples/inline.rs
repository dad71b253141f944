//! Inline mode: the caller's thread runs the socket, TLS, codec and
//! gateway; a submit is on the wire before it returns.
//! `cargo run -p orderwire --features mock --example inline`
use std::time::Duration;

use orderwire::mock::kraken::MockKraken;
use orderwire::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mock = MockKraken::builder().start()?;
    let mut kraken = InlineExchange::start("kraken", mock.venue(), mock.exchange_config())?;
    kraken.wait_connected(Duration::from_secs(5))?;
    let order = NewOrder::limit("BTC/USD", Side::Buy, "0.01", "85000.0").build()?;
    let ticket = kraken.submit_ticket(Request::Place(&order))?;
    let ack = kraken.wait_for(&ticket, Duration::from_secs(5))?;
    println!("{} in {} us", ack.wire_method, ack.latency_us());
    let mut events = 0;
    kraken.poll_once(Some(Duration::ZERO), |_event, _outputs| events += 1);
    println!("events delivered after the ack: {events}");
    kraken.shutdown(Duration::from_secs(1));
    Ok(())
}
