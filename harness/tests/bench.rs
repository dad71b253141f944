//! `orderwire bench` end to end: the binary against its embedded mocks,
//! over real sockets. The measurements themselves are the user's; these
//! tests check that the tool measures what it says (a stall shows in an
//! open loop and hides in a closed one, a shaped delay is seen) and that
//! every output reads back: the table, the .hgrm files, the JSON and the
//! SVG (parsed by roxmltree, an XML parser we did not write).

use std::path::{Path, PathBuf};
use std::process::Command;

fn orderwire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orderwire"))
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("orderwire-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `orderwire bench ARGS`, which must succeed: its stdout.
fn bench(args: &[&str]) -> String {
    let output = orderwire()
        .arg("bench")
        .args(["--quiet"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn method<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no method {name} in {report}"))
}

fn us(method: &serde_json::Value, field: &str) -> f64 {
    method[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} in {method}"))
}

/// A table row's columns after the method's name.
fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in\n{table}"))
        .split_whitespace()
        .skip(1)
        .collect()
}

/// Reads a .hgrm file back as HdrHistogram's plotter does: the
/// four-column rows (three on the last), then the `#[Mean` and `#[Max`
/// footer. (percentile, value us, total count) per row, and the footer's
/// total count.
fn read_hgrm(path: &Path) -> (Vec<(f64, f64, u64)>, u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
    );
    let mut rows = Vec::new();
    let mut total = None;
    let mut mean = false;
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(footer) = line.strip_prefix("#[") {
            mean |= footer.starts_with("Mean");
            if let Some((_, count)) = footer.split_once("Total count    =") {
                total = Some(count.trim_end_matches(']').trim().parse().unwrap());
            }
            continue;
        }
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert!(
            columns.len() == 4 || columns.len() == 3,
            "a row has the Java form's 4 columns (3 on the last): {line:?}"
        );
        rows.push((
            columns[1].parse().unwrap(),
            columns[0].parse().unwrap(),
            columns[2].parse().unwrap(),
        ));
    }
    assert!(mean, "the #[Mean ...] footer");
    (rows, total.expect("the #[Max ..., Total count ...] footer"))
}

#[test]
fn a_two_second_run_prints_its_table_and_writes_hgrm_json_and_svg() {
    let dir = scratch("outputs");
    let (hgrm, json, svg) = (dir.join("hgrm"), dir.join("run.json"), dir.join("run.svg"));
    let table = bench(&[
        "--workload",
        "echo",
        "--rate",
        "500",
        "--duration",
        "2s",
        "--warmup",
        "500ms",
        "--size",
        "100",
        "--hgrm",
        hgrm.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    // The table: its header names the run, the machine and the tool's own
    // cost; one row per method with every percentile.
    assert!(
        table.starts_with("orderwire bench: echo against the embedded echo mock"),
        "{table}"
    );
    assert!(table.contains("open loop at 500/s"), "{table}");
    assert!(
        table.contains("a timestamp and a histogram record cost"),
        "{table}"
    );
    let header = row(&table, "latency");
    assert_eq!(
        header,
        [
            "(us)", "count", "errors", "timeouts", "p50", "p90", "p99", "p99.9", "p99.99", "max"
        ]
    );
    let echo = row(&table, "echo");
    let count: u64 = echo[0].parse().unwrap();
    assert!((900..=1_010).contains(&count), "2 s at 500/s: {count}");
    assert_eq!((echo[1], echo[2]), ("0", "0"), "no errors, no timeouts");
    let figures: Vec<f64> = echo[3..].iter().map(|f| f.parse().unwrap()).collect();
    assert!(figures.windows(2).all(|w| w[0] <= w[1]), "{figures:?}");

    // The .hgrm file, parsed back: its counts agree with the table.
    let (rows, total) = read_hgrm(&hgrm.join("echo.hgrm"));
    assert_eq!(total, count);
    assert!(rows.len() > 10);
    assert!(
        rows.windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
    );
    assert_eq!(rows.last().unwrap().0, 1.0);
    assert_eq!(rows.last().unwrap().2, count);
    let p50 = rows.iter().find(|r| r.0 >= 0.5).unwrap().1;
    assert!(
        (p50 - figures[0]).abs() <= figures[0] * 0.01 + 0.1,
        "{p50} vs {}",
        figures[0]
    );

    // The JSON: every figure, the settings, the curve.
    let run = report(&json);
    assert_eq!(run["workload"], "echo");
    assert_eq!(run["pacing"], "open");
    assert_eq!(run["rate"], 500.0);
    assert_eq!(run["size"], 100);
    assert_eq!(run["mode"], "threaded");
    assert!(run["overhead_ns"].as_f64().unwrap() > 0.0);
    assert!(!run["machine"].as_str().unwrap().starts_with(','));
    let echo_json = method(&run, "echo");
    assert_eq!(echo_json["count"], count);
    assert!((us(echo_json, "p99_us") - figures[2]).abs() < 0.06);
    assert!(echo_json["curve"].as_array().unwrap().len() > 10);

    // The plot: well-formed SVG naming every method and the percentiles.
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
        .collect();
    for label in ["echo", "99%", "99.9%", "latency (us)", "percentile"] {
        assert!(texts.iter().any(|t| t == label), "{label} in {texts:?}");
    }
    assert!(doc.descendants().any(|n| n.has_tag_name("polyline")));
}

#[test]
fn open_loop_sees_a_stall_that_closed_loop_hides() {
    // The mock stalls 200 ms once in the 5 s measured (the first stall
    // starts 5 s after the mock; the run measures from about 1 s to 6 s).
    let dir = scratch("stall");
    let run = |closed: bool, name: &str| {
        let json = dir.join(name);
        let mut args = vec![
            "--workload",
            "echo",
            "--rate",
            "1000",
            "--duration",
            "5s",
            "--warmup",
            "1s",
            "--mock-stall",
            "200ms every 5s",
            "--json",
            json.to_str().unwrap(),
        ];
        if closed {
            args.push("--closed-loop");
        }
        bench(&args);
        report(&json)
    };
    let open = run(false, "open.json");
    let closed = run(true, "closed.json");
    let (open, closed) = (method(&open, "echo"), method(&closed, "echo"));
    assert!(
        us(open, "p999_us") >= 100_000.0,
        "open loop p99.9 {} us: the stall must show",
        us(open, "p999_us")
    );
    assert!(
        us(closed, "p999_us") < 100_000.0,
        "closed loop p99.9 {} us: it hides the stall",
        us(closed, "p999_us")
    );
    // Both saw the stall's one long wait; only the open loop counted the
    // requests that should have gone during it.
    assert!(us(open, "max_us") >= 150_000.0 && us(closed, "max_us") >= 150_000.0);
    assert!(open["count"].as_u64().unwrap() > closed["count"].as_u64().unwrap());
}

#[test]
fn a_shaped_mock_delays_every_answer_and_the_tool_sees_it() {
    let dir = scratch("delay");
    let json = dir.join("delay.json");
    bench(&[
        "--workload",
        "echo",
        "--rate",
        "200",
        "--duration",
        "1s",
        "--warmup",
        "200ms",
        "--mock-delay",
        "5ms",
        "--mock-jitter",
        "1ms",
        "--json",
        json.to_str().unwrap(),
    ]);
    let run = report(&json);
    assert_eq!(run["mock"], "delay 5ms, jitter 1ms");
    let echo = method(&run, "echo");
    assert!(us(echo, "p50_us") >= 5_000.0, "{echo}");
    // Jitter spreads them: not every answer took the same time.
    assert!(us(echo, "p99_us") > us(echo, "p50_us"), "{echo}");

    // A delay under a millisecond is held that long, not rounded up to
    // epoll's millisecond.
    let short = dir.join("short.json");
    bench(&[
        "--workload",
        "echo",
        "--rate",
        "200",
        "--duration",
        "1s",
        "--warmup",
        "200ms",
        "--mock-delay",
        "200us",
        "--json",
        short.to_str().unwrap(),
    ]);
    let run = report(&short);
    let echo = method(&run, "echo");
    assert!(us(echo, "p50_us") >= 200.0, "{echo}");
    assert!(us(echo, "p50_us") < 1_000.0, "{echo}");
}

#[test]
fn orders_and_market_data_run_against_a_mock_venue() {
    let dir = scratch("venue");
    let (orders, svg) = (dir.join("orders.json"), dir.join("orders.svg"));
    let table = bench(&[
        "--venue",
        "binance",
        "--workload",
        "orders",
        "--rate",
        "50",
        "--duration",
        "2s",
        "--warmup",
        "500ms",
        "--json",
        orders.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(table.contains("against the mock binance"), "{table}");
    let run = report(&orders);
    for name in ["place", "cancel"] {
        let m = method(&run, name);
        assert!(m["count"].as_u64().unwrap() >= 90, "{m}");
        assert_eq!(
            (m["errors"].as_u64(), m["timeouts"].as_u64()),
            (Some(0), Some(0))
        );
    }
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
    let named = |label: &str| {
        doc.descendants()
            .any(|n| n.has_tag_name("text") && n.text().is_some_and(|t| t.trim() == label))
    };
    assert!(named("place") && named("cancel"), "every method named");

    // A venue whose orders go over REST says so.
    let refused = orderwire()
        .args([
            "bench",
            "--quiet",
            "--venue",
            "upbit",
            "--workload",
            "orders",
            "--duration",
            "1s",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("REST"));

    // Market data: the mock's flow arrives, each message timed from the
    // venue's timestamp.
    let subscribe = dir.join("subscribe.json");
    bench(&[
        "--venue",
        "kraken",
        "--workload",
        "subscribe",
        "--mock-rate",
        "500",
        "--duration",
        "2s",
        "--warmup",
        "500ms",
        "--json",
        subscribe.to_str().unwrap(),
    ]);
    let run = report(&subscribe);
    assert!(run["messages"].as_u64().unwrap() > 200, "{run}");
    let lag = method(&run, "venue_to_decode");
    assert!(lag["count"].as_u64().unwrap() > 200);
    // Kraken's timestamps carry microseconds: a wrong clock origin or a
    // stuck mock would show here.
    assert!(us(lag, "p50_us") < 100_000.0, "{lag}");
    assert_eq!(run["mock"], "flow 500/s");
}

#[test]
fn compare_prints_runs_side_by_side_and_plots_them_together() {
    let dir = scratch("compare");
    let (a, b, svg) = (dir.join("a.json"), dir.join("b.json"), dir.join("both.svg"));
    let png = dir.join("both.png");
    for (path, mode) in [(&a, "threaded"), (&b, "inline")] {
        bench(&[
            "--workload",
            "echo",
            "--mode",
            mode,
            "--rate",
            "500",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
            "--json",
            path.to_str().unwrap(),
        ]);
    }
    let output = bench(&[
        "--compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(output.contains("[0] threaded/block"), "{output}");
    assert!(output.contains("[1] inline/block"), "{output}");
    let rows: Vec<&str> = output.lines().filter(|l| l.starts_with("echo")).collect();
    assert_eq!(rows.len(), 2, "{output}");
    assert!(rows[0].ends_with("1.00x, 1.00x, 1.00x"), "{output}");
    // The same chart as PNG: a PNG signature, and its header's size.
    bench(&[
        "--compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--plot",
        png.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    assert_eq!((width, height), (960, 600));
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
    for label in ["threaded/block open echo", "inline/block open echo"] {
        assert!(
            doc.descendants()
                .any(|n| n.has_tag_name("text") && n.text().is_some_and(|t| t.trim() == label)),
            "{label}"
        );
    }
}

#[test]
fn run_mock_with_a_flow_shows_a_market_that_moves() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/service.toml");
    let output = orderwire()
        .args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--mock",
            "--mock-rate",
            "300",
        ])
        .args(["--duration", "2", "--log-level", "warn"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let count = |kind: &str| {
        stdout
            .lines()
            .filter(|l| l.contains(&format!(r#""type":"{kind}""#)))
            .count()
    };
    // Trades from other accounts, and books that change after their
    // snapshot, on the mocks of every venue that publishes them.
    assert!(count("trade") > 50, "{} trades", count("trade"));
    assert!(
        count("book_delta") > 50,
        "{} book deltas",
        count("book_delta")
    );
}

#[test]
fn a_service_config_runs_orders_and_market_data_on_either_driver() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/service.toml");
    let dir = scratch("config");
    // Orders on the config's Binance exchange, with its credentials (the
    // mock's), inline: the benchmark's thread drives the socket.
    let orders = dir.join("orders.json");
    bench(&[
        "--config",
        config.to_str().unwrap(),
        "--mock",
        "--exchange",
        "binance",
        "--mode",
        "inline",
        "--workload",
        "orders",
        "--symbol",
        "BTCUSDT",
        "--price",
        "80000",
        "--qty",
        "0.01",
        "--rate",
        "3",
        "--duration",
        "2s",
        "--warmup",
        "200ms",
        "--json",
        orders.to_str().unwrap(),
    ]);
    let run = report(&orders);
    assert_eq!(run["mode"], "inline");
    for name in ["place", "cancel"] {
        let m = method(&run, name);
        assert!(m["count"].as_u64().unwrap() >= 5, "{m}");
        assert_eq!(m["errors"], 0, "{m}");
    }
    // Market data: every exchange of the config, its own subscriptions.
    let market = dir.join("market.json");
    bench(&[
        "--config",
        config.to_str().unwrap(),
        "--mock",
        "--workload",
        "subscribe",
        "--mock-rate",
        "300",
        "--duration",
        "1s",
        "--warmup",
        "200ms",
        "--json",
        market.to_str().unwrap(),
    ]);
    let run = report(&market);
    assert!(run["messages"].as_u64().unwrap() > 100, "{run}");
    // Without --config, a URL cannot carry a venue's orders.
    let refused = orderwire()
        .args([
            "bench",
            "--quiet",
            "--url",
            "wss://127.0.0.1:1/",
            "--workload",
            "orders",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--config"));
}
