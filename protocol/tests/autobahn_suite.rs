//! The real Autobahn|Testsuite (through kosoku, see ../shared/design/TESTING.md)
//! against our codec over loopback, compared case by case with the verdicts
//! committed in tests/autobahn/expected.json. Any case that gets worse fails
//! the test; a case that gets better is reported so the file can be updated.
//!
//! kosoku is found through `$KOSOKU`, then `<repo>/.venv-ab/bin/kosoku` (what
//! `.ci/run` installs), then `PATH`.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::autobahn;

fn kosoku() -> PathBuf {
    if let Some(path) = std::env::var_os("KOSOKU") {
        return path.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-ab/bin/kosoku");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("kosoku")
    }
}

/// Verdicts per case, as "behavior/behaviorClose".
type Verdicts = BTreeMap<String, String>;

fn run_pass(name: &str, cases: &[&str], client_no_context_takeover: bool) -> Verdicts {
    let outdir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("autobahn")
        .join(name);
    let _ = std::fs::remove_dir_all(&outdir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(kosoku());
    command.args(["-m", "fuzzingserver", "-o"]).arg(&outdir);
    for case in cases {
        command.args(["-i", case]);
    }
    command
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut server = command.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot start kosoku ({e}). Install it: python3 -m venv .venv-ab && \
             .venv-ab/bin/pip install kosoku==0.1.0 (or set KOSOKU)"
        )
    });
    // Wait until the server listens (bounded), then let the suite connect.
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "kosoku did not start listening"
        );
        assert!(
            server.try_wait().unwrap().is_none(),
            "kosoku exited at start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut problems = Vec::new();
    let config = autobahn::config(client_no_context_takeover);
    let count = autobahn::run_suite(&format!("ws://127.0.0.1:{port}"), &config, |l| {
        problems.push(l)
    })
    .expect("the suite runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "kosoku did not exit after its report"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(outdir.join("index.json")).expect("kosoku wrote index.json"),
    )
    .unwrap();
    let cases = index[autobahn::AGENT]
        .as_object()
        .expect("our agent is in the report");
    assert_eq!(
        cases.len() as u32,
        count,
        "every case was reported; client problems: {problems:?}"
    );
    cases
        .iter()
        .map(|(id, v)| {
            (
                id.clone(),
                format!(
                    "{}/{}",
                    v["behavior"].as_str().unwrap(),
                    v["behaviorClose"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

fn rank(verdict: &str) -> u8 {
    verdict
        .split('/')
        .map(|v| match v {
            "OK" | "INFORMATIONAL" => 0,
            "NON-STRICT" => 1,
            "UNIMPLEMENTED" => 2,
            _ => 3,
        })
        .max()
        .unwrap_or(3)
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
