//! What a run measured: a histogram per method with its errors and
//! timeouts, the run's settings, and the machine; as a table, as JSON
//! (every figure, and each method's percentile curve, so that `--compare`
//! can plot runs it did not make), and as `.hgrm` files.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// One method's latencies (nanoseconds) and failures.
#[derive(Debug)]
pub struct MethodStats {
    /// `place`, `cancel`, `echo`, `venue_to_decode`.
    pub name: &'static str,
    /// Latencies, ns, from 1 ns to an hour at three significant figures.
    pub histogram: Histogram<u64>,
    /// Requests refused or answered with an error.
    pub errors: u64,
    /// Requests with no answer within the timeout.
    pub timeouts: u64,
}

impl MethodStats {
    /// An empty one.
    pub fn new(name: &'static str) -> MethodStats {
        MethodStats {
            name,
            histogram: new_histogram(),
            errors: 0,
            timeouts: 0,
        }
    }

    /// One latency, ns (saturating at the histogram's hour).
    #[inline]
    pub fn record(&mut self, nanos: u64) {
        self.histogram.saturating_record(nanos.max(1));
    }

    /// Forgets what the warmup recorded.
    pub fn reset(&mut self) {
        self.histogram.reset();
        self.errors = 0;
        self.timeouts = 0;
    }

    /// Its figures, in microseconds.
    pub fn summary(&self) -> MethodReport {
        let h = &self.histogram;
        let us = |q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
        let empty = h.is_empty();
        let at = |q: f64| if empty { 0.0 } else { us(q) };
        MethodReport {
            name: self.name.to_owned(),
            count: h.len(),
            errors: self.errors,
            timeouts: self.timeouts,
            p50_us: at(0.5),
            p90_us: at(0.9),
            p99_us: at(0.99),
            p999_us: at(0.999),
            p9999_us: at(0.9999),
            max_us: if empty { 0.0 } else { h.max() as f64 / 1_000.0 },
            mean_us: if empty { 0.0 } else { h.mean() / 1_000.0 },
            curve: if empty {
                Vec::new()
            } else {
                h.iter_quantiles(5)
                    .map(|step| {
                        (
                            step.quantile_iterated_to(),
                            step.value_iterated_to() as f64 / 1_000.0,
                        )
                    })
                    .collect()
            },
        }
    }
}

/// The histogram every method records into.
pub fn new_histogram() -> Histogram<u64> {
    // Constant bounds that hdrhistogram accepts (low >= 1, high >= 2 low,
    // 3 figures): this cannot fail.
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("constant, valid bounds")
}

/// One method's figures in a report.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MethodReport {
    /// Its name.
    pub name: String,
    /// Latencies recorded.
    pub count: u64,
    /// Errors.
    pub errors: u64,
    /// Timeouts.
    pub timeouts: u64,
    /// Percentiles and the maximum, microseconds.
    pub p50_us: f64,
    /// p90.
    pub p90_us: f64,
    /// p99.
    pub p99_us: f64,
    /// p99.9.
    pub p999_us: f64,
    /// p99.99.
    pub p9999_us: f64,
    /// The maximum.
    pub max_us: f64,
    /// The mean.
    pub mean_us: f64,
    /// (quantile, microseconds) along HdrHistogram's percentile iteration:
    /// what a plot draws.
    pub curve: Vec<(f64, f64)>,
}

/// A run, as `--json` writes it and `--compare` reads it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BenchReport {
    /// What the run is called on charts and in comparisons.
    pub label: String,
    /// `orders`, `echo`, `subscribe`.
    pub workload: String,
    /// The mock venue's name, or the URL.
    pub target: String,
    /// `open` or `closed`.
    pub pacing: String,
    /// Requests per second asked for (open loop; a closed loop's ceiling).
    pub rate: Option<f64>,
    /// `threaded` or `inline`.
    pub mode: String,
    /// `block` or `busy-poll`.
    pub wait: String,
    /// The core the engine was pinned to.
    pub core: Option<usize>,
    /// Spin before blocking, microseconds.
    pub spin_us: u64,
    /// Connections.
    pub connections: usize,
    /// Message size (echo).
    pub size: usize,
    /// How the mock was shaped (delay, jitter, stall, flow), or empty.
    pub mock: String,
    /// Seconds measured, after the warmup.
    pub duration_s: f64,
    /// Seconds of warmup, not measured.
    pub warmup_s: f64,
    /// The machine: CPU model and count.
    pub machine: String,
    /// The tool's own cost per measurement: a timestamp and a histogram
    /// record, nanoseconds.
    pub overhead_ns: f64,
    /// Requests sent while measuring.
    pub sent: u64,
    /// Requests per second achieved while measuring.
    pub achieved_rate: f64,
    /// Market messages received while measuring (subscribe).
    pub messages: u64,
    /// Market messages per second (subscribe).
    pub message_rate: f64,
    /// Per method.
    pub methods: Vec<MethodReport>,
}

impl BenchReport {
    /// Reads a `--json` file.
    pub fn read(path: &std::path::Path) -> Result<BenchReport, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a bench report: {e}", path.display()))
    }

    /// Writes it as pretty JSON.
    pub fn write(&self, path: &std::path::Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The header and the percentile table the CLI prints.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let pacing = match (self.pacing.as_str(), self.rate) {
            ("open", Some(rate)) => format!("open loop at {rate}/s"),
            ("closed", Some(rate)) => format!("closed loop, at most {rate}/s"),
            (_, _) if self.workload == "subscribe" => "the mock's flow".to_owned(),
            _ => "closed loop".to_owned(),
        };
        let _ = writeln!(
            out,
            "orderwire bench: {} against {} ({}), {pacing}, {:.1} s after {:.1} s warmup, {} connection{}",
            self.workload,
            self.target,
            self.label,
            self.duration_s,
            self.warmup_s,
            self.connections,
            if self.connections == 1 { "" } else { "s" }
        );
        let _ = writeln!(
            out,
            "engine: {} / {}{}{}; mock: {}",
            self.mode,
            self.wait,
            self.core.map(|c| format!(", core {c}")).unwrap_or_default(),
            if self.spin_us > 0 {
                format!(", spin {} us", self.spin_us)
            } else {
                String::new()
            },
            if self.mock.is_empty() {
                "unshaped"
            } else {
                &self.mock
            }
        );
        let _ = writeln!(
            out,
            "machine: {}; a timestamp and a histogram record cost {:.1} ns",
            self.machine, self.overhead_ns
        );
        let _ = writeln!(
            out,
            "sent {} ({:.1}/s){}",
            self.sent,
            self.achieved_rate,
            if self.messages > 0 {
                format!(
                    "; received {} market messages ({:.1}/s)",
                    self.messages, self.message_rate
                )
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>7} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "latency (us)",
            "count",
            "errors",
            "timeouts",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "p99.99",
            "max"
        );
        for m in &self.methods {
            let _ = writeln!(
                out,
                "{:<16} {:>9} {:>7} {:>8} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                m.name,
                m.count,
                m.errors,
                m.timeouts,
                m.p50_us,
                m.p90_us,
                m.p99_us,
                m.p999_us,
                m.p9999_us,
                m.max_us
            );
        }
        out
    }
}

/// Runs side by side: per method, each run's percentiles and its ratio to
/// the first run's (above 1: slower than the first).
pub fn compare(runs: &[BenchReport]) -> String {
    let mut out = String::new();
    let Some(first) = runs.first() else {
        return out;
    };
    let _ = writeln!(out, "runs:");
    for (n, run) in runs.iter().enumerate() {
        let _ = writeln!(
            out,
            "  [{n}] {}: {} against {}, {} / {}, {} {}, on {}",
            run.label,
            run.workload,
            run.target,
            run.mode,
            run.wait,
            run.pacing,
            run.rate.map(|r| format!("{r}/s")).unwrap_or_default(),
            run.machine
        );
    }
    let mut names: Vec<&str> = Vec::new();
    for run in runs {
        for m in &run.methods {
            if !names.contains(&m.name.as_str()) {
                names.push(&m.name);
            }
        }
    }
    let _ = writeln!(
        out,
        "{:<16} {:<4} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}   ratio to [0]: p50, p99, p99.9",
        "latency (us)", "run", "count", "p50", "p99", "p99.9", "p99.99", "max"
    );
    for name in names {
        let base = first.methods.iter().find(|m| m.name == name);
        for (n, run) in runs.iter().enumerate() {
            let Some(m) = run.methods.iter().find(|m| m.name == name) else {
                continue;
            };
            let ratio = |a: f64, b: Option<f64>| match b {
                Some(b) if b > 0.0 => format!("{:.2}x", a / b),
                _ => "-".to_owned(),
            };
            let _ = writeln!(
                out,
                "{:<16} {:<4} {:>9} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}   {}, {}, {}",
                name,
                format!("[{n}]"),
                m.count,
                m.p50_us,
                m.p99_us,
                m.p999_us,
                m.p9999_us,
                m.max_us,
                ratio(m.p50_us, base.map(|b| b.p50_us)),
                ratio(m.p99_us, base.map(|b| b.p99_us)),
                ratio(m.p999_us, base.map(|b| b.p999_us)),
            );
        }
    }
    out
}

/// Writes each method's histogram to `dir/<method>.hgrm`, in HdrHistogram's
/// percentile-distribution text (the Java library's four columns, values
/// in microseconds): the files the HdrHistogram plotter page reads.
pub fn write_hgrm(
    dir: &std::path::Path,
    stats: &[MethodStats],
) -> Result<Vec<std::path::PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for method in stats.iter().filter(|m| !m.histogram.is_empty()) {
        let path = dir.join(format!("{}.hgrm", method.name));
        std::fs::write(
            &path,
            orderwire_engine::gateway::latency::to_hgrm(&method.histogram),
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The machine, as the report names it: the CPU model and how many.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    format!("{model}, {cpus} CPUs")
}

/// What one measurement costs the tool: a clock read and a histogram
/// record, ns each, the median of a few rounds.
pub fn overhead_ns(clock: &orderwire_engine::Clock) -> f64 {
    let mut stats = MethodStats::new("overhead");
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let rounds_of = 100_000u64;
        let start = clock.now_ns();
        let mut last = start;
        for _ in 0..rounds_of {
            let now = clock.now_ns();
            stats.record(now - last + 1);
            last = now;
        }
        rounds.push((clock.now_ns() - start) as f64 / rounds_of as f64);
    }
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_reads_its_histogram_in_microseconds() {
        let mut stats = MethodStats::new("echo");
        for n in 1..=1_000u64 {
            stats.record(n * 1_000);
        }
        stats.errors = 2;
        let report = stats.summary();
        assert_eq!(report.count, 1_000);
        assert!((report.p50_us - 500.0).abs() < 1.0, "{}", report.p50_us);
        assert!((report.p99_us - 990.0).abs() < 1.0, "{}", report.p99_us);
        assert!((report.max_us - 1_000.0).abs() < 1.0, "{}", report.max_us);
        assert_eq!(report.errors, 2);
        assert!(
            report
                .curve
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
        );
        stats.reset();
        assert_eq!(stats.summary().count, 0);
        assert_eq!(stats.summary().p99_us, 0.0);
    }
}
