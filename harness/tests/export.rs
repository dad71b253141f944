//! `orderwire export` (issue 25, docs/capture.md) read back by readers we
//! did not write: pyarrow reads the Parquet dataset (Hive partitions,
//! decimal128 columns, every price and quantity exactly what the codec
//! decoded), and hftbacktest 2.4.4 loads the .npz, checks its event order
//! and runs a few steps of a backtest over it. Both come from
//! `scripts/install-peers` (`.venv-export`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use orderwire::demo::DemoOptions;
use orderwire::export::{extract, write_npz, write_parquet};
use orderwire::venues::Venues;
use orderwire_testkit::peers::{export_python, repo_root};
use serde_json::{Value, json};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("orderwire-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A Kraken demo session, captured.
fn kraken_capture(dir: &Path) -> Vec<u8> {
    let path = dir.join("kraken.owcap");
    let report = orderwire::demo::run(
        Venues::builtin().find("kraken").unwrap(),
        DemoOptions {
            orders: 6,
            deadline: Duration::from_secs(60),
            record: Some(path.clone()),
            ..DemoOptions::default()
        },
    )
    .unwrap();
    assert!(report.all_terminal);
    std::fs::read(path).unwrap()
}

fn check(mode: &str, target: &Path, expected: &Value, dir: &Path) -> Value {
    let expected_path = dir.join(format!("{mode}.expected.json"));
    std::fs::write(&expected_path, expected.to_string()).unwrap();
    let output = Command::new(export_python())
        .arg(repo_root().join("interop/export_check.py"))
        .arg(mode)
        .arg(target)
        .arg(&expected_path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{mode} reader failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn pyarrow_reads_the_parquet_export_with_every_decimal_exact() {
    let dir = temp_dir("parquet");
    let capture = kraken_capture(&dir);
    let rows = extract(&Venues::builtin(), &capture, true).unwrap();
    assert_eq!(rows.damage, None);
    assert!(rows.rows.len() > 20, "{}", rows.rows.len());
    let kinds: std::collections::BTreeSet<&str> = rows.rows.iter().map(|r| r.kind).collect();
    assert!(
        kinds.contains("book_snapshot") && kinds.contains("order_update"),
        "{kinds:?}"
    );
    let out = dir.join("parquet");
    let files = write_parquet(&rows, &out, true).unwrap();
    assert!(
        files[0]
            .path
            .to_string_lossy()
            .contains("venue=kraken/symbol=BTC%2FUSD/date="),
        "{files:?}"
    );
    let values: Vec<Value> = rows
        .rows
        .iter()
        .map(|r| {
            json!([
                r.kind,
                r.side.unwrap_or(""),
                r.price.map(|d| d.to_string()),
                r.qty.map(|d| d.to_string()),
                r.symbol
                    .as_ref()
                    .map_or("__HIVE_DEFAULT_PARTITION__", |s| s.as_str())
            ])
        })
        .collect();
    let read = check(
        "parquet",
        &out,
        &json!({"rows": rows.rows.len(), "values": values}),
        &dir,
    );
    assert_eq!(read["rows"], rows.rows.len());
    assert_eq!(read["venues"], json!(["kraken"]));
    assert_eq!(read["symbols"], json!(["BTC/USD"]));
    // The venue's scales: Kraken's BTC/USD prices to 0.1, sizes to 1e-8.
    assert_eq!(read["price"], "decimal128(38, 1)");
    assert_eq!(read["qty"], "decimal128(38, 8)");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hftbacktest_loads_the_npz_export_and_runs_a_backtest_over_it() {
    let dir = temp_dir("hftbacktest");
    let capture = kraken_capture(&dir);
    let rows = extract(&Venues::builtin(), &capture, false).unwrap();
    let out = dir.join("kraken.npz");
    let files = write_npz(&rows, &out, None).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, out);
    // The first snapshot's best levels, as the backtest must see them.
    let best = |side: &str, pick: fn(f64, f64) -> f64, start: f64| {
        rows.rows
            .iter()
            .filter(|r| r.kind == "book_snapshot" && r.side == Some(side))
            .take_while(|r| r.frame == rows.rows[0].frame)
            .map(|r| r.price.unwrap().to_string().parse::<f64>().unwrap())
            .fold(start, pick)
    };
    let (bid, ask) = (best("bid", f64::max, 0.0), best("ask", f64::min, f64::MAX));
    let read = check(
        "hftbacktest",
        &out,
        &json!({"events": files[0].rows, "tick_size": 0.1, "lot_size": 1e-8, "steps": 5, "step_ns": 1_000_000}),
        &dir,
    );
    assert_eq!(read["events"], files[0].rows);
    let steps = read["steps"].as_array().unwrap();
    // The first step at which the book has both sides: the snapshot's.
    let first = steps
        .iter()
        .map(|step| step.as_array().unwrap())
        .find(|step| step[1].is_f64() && step[2].is_f64())
        .unwrap_or_else(|| panic!("no step with a book: {read}"));
    assert!(
        (first[1].as_f64().unwrap() - bid).abs() < 1e-6,
        "{read} {bid}"
    );
    assert!(
        (first[2].as_f64().unwrap() - ask).abs() < 1e-6,
        "{read} {ask}"
    );
    // The command line writes the same file.
    let cli = Command::new(env!("CARGO_BIN_EXE_orderwire"))
        .args(["export", "--format", "hftbacktest", "--out"])
        .arg(dir.join("cli.npz"))
        .arg(dir.join("kraken.owcap"))
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(
        std::fs::read(dir.join("cli.npz")).unwrap(),
        std::fs::read(&out).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_capture_exports_everything_before_the_damage() {
    let dir = temp_dir("damaged");
    let capture = kraken_capture(&dir);
    let whole = extract(&Venues::builtin(), &capture, false).unwrap();
    let cut = &capture[..capture.len() - 40];
    let damaged = extract(&Venues::builtin(), cut, false).unwrap();
    assert!(damaged.damage.is_some());
    assert!(damaged.rows.len() <= whole.rows.len());
    assert_eq!(whole.rows[..damaged.rows.len()], damaged.rows[..]);
    let _ = std::fs::remove_dir_all(&dir);
}
