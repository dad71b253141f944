//! The KIS demo over real sockets (plain ws, as KIS serves it): trades and
//! quotes for two codes, notices decrypted, PINGPONG answered, every order
//! ended.

use std::time::Duration;

use orderwire::demo::DemoOptions;
use orderwire_protocol::model::OrderStatus;

#[test]
fn the_kis_demo_runs_over_plain_ws_and_every_order_ends() {
    let report = orderwire::demo::run(
        &orderwire::venues::kis::KIS,
        DemoOptions {
            verbose: false,
            orders: 12,
            progress: false,
            deadline: Duration::from_secs(30),
        },
    )
    .unwrap();
    assert!(report.all_terminal, "{report:?}");
    assert_eq!(
        report.by_status,
        [(OrderStatus::Canceled, 3), (OrderStatus::Filled, 9)]
    );
    assert!(report.fills >= 9);
    let summary = orderwire::demo::summary(&report);
    assert!(summary.contains("records by tr_id: H0STCNT0 "), "{summary}");
    assert!(
        summary.contains("notices (H0STCNI0, AES-256-CBC)"),
        "{summary}"
    );
    assert!(summary.contains("PINGPONGs answered: "), "{summary}");
    assert!(!summary.contains("PINGPONGs answered: 0 of"), "{summary}");
}
