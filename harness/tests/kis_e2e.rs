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
            ..DemoOptions::default()
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

#[test]
fn an_approval_key_is_issued_over_rest_by_the_library_and_the_cli() {
    use orderwire_protocol::secret::Secret;
    let mock = orderwire::mock::kis::MockKis::builder().start().unwrap();
    let key = orderwire::venues::kis::issue_approval_key(
        &mock.rest_url(),
        &Secret::new("mock-app-key"),
        &Secret::new("mock-app-secret"),
    )
    .unwrap();
    assert_eq!(key.expose(), mock.approval_key());
    let refused = orderwire::venues::kis::issue_approval_key(
        &mock.rest_url(),
        &Secret::new("mock-app-key"),
        &Secret::new("wrong"),
    )
    .unwrap_err();
    assert!(refused.starts_with("HTTP 403"), "{refused}");
    assert!(!refused.contains("wrong"), "no secret in the error");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_orderwire"))
        .args(["kis", "approval-key", "--url", &mock.rest_url()])
        .env("KIS_APP_KEY", "mock-app-key")
        .env("KIS_APP_SECRET", "mock-app-secret")
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("KIS_WS_APPROVAL_KEY={}", mock.approval_key())
    );
}
