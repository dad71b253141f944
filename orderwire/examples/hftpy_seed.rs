//! The hftpy seed's program in Rust, against the embedded mock Kraken:
//! create the exchange once, get it by name anywhere, place a post-only
//! limit buy and cancel it, every request printed in hftpy's format.
//! `cargo run -p orderwire --features mock --example hftpy_seed`
use std::time::Duration;

use orderwire::mock::kraken::MockKraken;
use orderwire::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mock = MockKraken::builder().mid("90000").start()?;
    let config = mock.exchange_config().on_request(print_requests());
    Registry::global().create("kraken", || Exchange::start("kraken", mock.venue(), config))?;

    // Anywhere else, by name: no venue type needed.
    let kraken = Registry::global().exchange("kraken").ok_or("no kraken")?;
    kraken.wait_connected(Duration::from_secs(5))?;
    let order = NewOrder::limit("BTC/USD", Side::Buy, "0.001", "80000")
        .post_only()
        .build()?;
    let placed = kraken.place(&order)?.wait(Duration::from_secs(5))?;
    let cancel = kraken.cancel(OrderRef::ClientOrderId(order.client_order_id), None)?;
    let canceled = cancel.wait(Duration::from_secs(5))?;
    println!(
        "placed: {}, canceled: {}",
        placed.accepted(),
        canceled.accepted()
    );
    Registry::global().shutdown_all(Duration::from_secs(1));
    Ok(())
}
