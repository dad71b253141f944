//! The Upbit demo over real TLS and WebSocket on loopback: the public feed
//! (ticker, trade, whole books on two markets) and the private feed behind
//! a JWT, every order reported filled through myOrder, the UP heartbeat.

use std::time::Duration;

use orderwire::demo::DemoOptions;
use orderwire_protocol::model::OrderStatus;

#[test]
fn the_upbit_demo_runs_over_tls_and_every_order_fills() {
    let report = orderwire::demo::run(
        &orderwire::venues::upbit::UPBIT,
        DemoOptions {
            verbose: false,
            orders: 12,
            progress: false,
            deadline: Duration::from_secs(30),
            record: None,
            events: None,
            ..DemoOptions::default()
        },
    )
    .unwrap();
    assert!(report.all_terminal, "{report:?}");
    assert_eq!(report.by_status, [(OrderStatus::Filled, 12)]);
    assert_eq!(report.fills, 12, "one house level each");
    assert!(report.book_messages >= 2, "the SNAPSHOT books at least");
    let summary = orderwire::demo::summary(&report);
    assert!(
        summary.contains("UP heartbeats (PING answered, then every 10 s): 1"),
        "{summary}"
    );
    assert!(summary.contains("trade "), "{summary}");
    // The engine offers permessage-deflate and the mock takes it: every
    // data frame of the run was compressed.
    assert!(
        summary.contains("permessage-deflate: negotiated on 2 of 2 connections"),
        "{summary}"
    );
}
