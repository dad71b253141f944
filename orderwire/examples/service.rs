//! A service from orderwire.toml (examples/service.toml: seven exchanges),
//! on the mock venues: every exchange created and connected, then each
//! fetched by name.
//! `cargo run -p orderwire --features service --example service`
use std::time::Duration;

use orderwire::prelude::*;
use orderwire::service::{ServiceConfig, StartOptions, start_with};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/service.toml");
    let config = ServiceConfig::load(path.as_ref())?;
    let options = StartOptions {
        mock: true,
        ..StartOptions::default()
    };
    let mut service = start_with(&config, options)?;
    for name in Registry::global().ids() {
        let exchange = Registry::global().exchange(&name).ok_or("gone")?;
        exchange.wait_connected(Duration::from_secs(10))?;
        println!("{name}: {} connected", exchange.venue());
    }
    service.shutdown(Duration::from_secs(1));
    Ok(())
}
