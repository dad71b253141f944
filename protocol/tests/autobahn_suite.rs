//! The real Autobahn|Testsuite (through kosoku, see ../shared/design/TESTING.md)
//! against our codec over loopback, compared case by case with the verdicts
//! committed in tests/autobahn/expected.json. Any case that gets worse fails
//! the test; a case that gets better is reported so the file can be updated.
//!
//! kosoku is found as `orderwire_testkit::autobahn` describes.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use orderwire_testkit::autobahn::{Kosoku, Verdicts, rank};
use support::autobahn;

fn run_pass(name: &str, cases: &[&str], client_no_context_takeover: bool) -> Verdicts {
    let outdir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("autobahn")
        .join(name);
    let server = Kosoku::start(&outdir, cases);
    let mut problems = Vec::new();
    let config = autobahn::config(client_no_context_takeover);
    let count = autobahn::run_suite(&server.base_url(), &config, |l| problems.push(l))
        .expect("the suite runs");
    let verdicts = server.verdicts(autobahn::AGENT);
    assert_eq!(
        verdicts.len() as u32,
        count,
        "every case was reported; client problems: {problems:?}"
    );
    verdicts
}

fn check(actual: &Verdicts) {
    let expected: Verdicts = serde_json::from_str(include_str!("autobahn/expected.json"))
        .expect("expected.json is valid");
    let mut worse = Vec::new();
    for (case, got) in actual {
        match expected.get(case) {
            Some(want) if rank(got) > rank(want) => worse.push(format!("{case}: {want} -> {got}")),
            Some(want) if rank(got) < rank(want) => {
                eprintln!("{case} improved: {want} -> {got}; update expected.json")
            }
            Some(_) => {}
            None => worse.push(format!("{case}: not in expected.json (got {got})")),
        }
    }
    let mut summary: BTreeMap<&str, usize> = BTreeMap::new();
    for verdict in actual.values() {
        *summary.entry(verdict.as_str()).or_default() += 1;
    }
    eprintln!("autobahn: {} cases: {summary:?}", actual.len());
    assert!(
        worse.is_empty(),
        "Autobahn cases got worse:\n{}",
        worse.join("\n")
    );
    assert!(
        actual.values().all(|v| !v.contains("FAILED")),
        "no case may fail"
    );
}

/// Framing, ping/pong, reserved bits, opcodes, fragmentation, UTF-8, close,
/// limits and performance, and permessage-deflate with the default offer.
#[test]
fn autobahn_core_and_deflate_default_offer() {
    let groups = [
        "1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*", "12.1.*", "13.1.*",
    ];
    let verdicts = run_pass("core", &groups, false);
    assert!(verdicts.len() >= 330, "only {} cases ran", verdicts.len());
    check(&verdicts);
}

/// The deflate cases whose server asks the client not to keep its context.
#[test]
fn autobahn_deflate_client_no_context_takeover() {
    let verdicts = run_pass("no-context-takeover", &["13.2.*", "13.5.*", "13.6.*"], true);
    assert_eq!(verdicts.len(), 54);
    check(&verdicts);
}
