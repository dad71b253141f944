//! A market-data consumer: Kraken's public book on a dispatcher thread
//! (no polling loop of our own), the top of the book as it arrives.
//! `cargo run -p orderwire --features mock --example market_data`
use std::sync::mpsc;
use std::time::Duration;

use orderwire::mock::kraken::MockKraken;
use orderwire::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mock = MockKraken::builder().mid("90000").start()?;
    let mut config = mock.exchange_config();
    let symbols = vec![Symbol::from("BTC/USD")?];
    config.gateway.subscriptions = vec![Subscription::Book { symbols, depth: 10 }];
    let kraken = Exchange::start("kraken-book", Kraken::public(), config)?;
    let (tops, received) = mpsc::channel();
    kraken.spawn_dispatcher(move |event, outputs| {
        if let GatewayEvent::Market(Event::Book(book)) = event {
            let bid = outputs.levels(&book.bids).first().map(|l| l.price);
            let ask = outputs.levels(&book.asks).first().map(|l| l.price);
            let _ = tops.send((bid, ask));
        }
    })?;
    let (bid, ask) = received.recv_timeout(Duration::from_secs(5))?;
    println!("BTC/USD best bid {bid:?}, best ask {ask:?}");
    kraken.shutdown(Duration::from_secs(1));
    Ok(())
}
