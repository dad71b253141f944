//! The Koscom demo over real sockets (plain ws): init on two connections,
//! ticks and a quote, a query, the whole-market feed, the cap refused.

use std::time::Duration;

use orderwire::demo::DemoOptions;

#[test]
fn the_koscom_demo_runs_over_plain_ws() {
    let report = orderwire::demo::run(
        &orderwire::venues::koscom::KOSCOM,
        DemoOptions {
            verbose: false,
            orders: 6,
            progress: false,
            deadline: Duration::from_secs(30),
            record: None,
            events: None,
            ..DemoOptions::default()
        },
    )
    .unwrap();
    let summary = orderwire::demo::summary(&report);
    assert!(
        summary.contains("init accepted on 2 connections"),
        "{summary}"
    );
    assert!(summary.contains("queries answered: 1"), "{summary}");
    assert!(
        summary.contains("past the cap (5): subscription cap"),
        "{summary}"
    );
    assert!(report.book_messages >= 1, "{summary}");
    // Each of the 6 trades reaches the per-symbol connection, and the
    // whole-market feed repeats them.
    let trades: usize = summary
        .lines()
        .find_map(|l| l.strip_prefix("trades seen: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(trades >= 6, "{summary}");
}
