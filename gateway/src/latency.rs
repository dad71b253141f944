//! Request-to-response latency: one sample per reply, handed to the user's
//! callback, and one hdrhistogram per method.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use orderwire_protocol::model::{ClientOrderId, Method, Side, Symbol};
use orderwire_protocol::num::Decimal;

/// A request, as the latency callback sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestSummary {
    /// The id it went out with.
    pub req_id: u64,
    /// Its method.
    pub method: Method,
    /// The order it concerns, if one.
    pub client_order_id: Option<ClientOrderId>,
    /// The pair, if known.
    pub symbol: Option<Symbol>,
    /// Side, for orders.
    pub side: Option<Side>,
    /// Price, for orders and amends.
    pub price: Option<Decimal>,
    /// Quantity, for orders and amends.
    pub qty: Option<Decimal>,
    /// When it was handed to the transport (engine clock, ns).
    pub sent_at_ns: u64,
}

/// How long a reply took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// From handing the request to the transport to reading the reply
    /// (the read's timestamp), in nanoseconds.
    pub nanos: u64,
    /// When the venue says it received the request (ns since the epoch).
    pub venue_time_in: Option<i64>,
    /// When the venue says it answered.
    pub venue_time_out: Option<i64>,
}

impl Latency {
    /// The latency in microseconds, with the nanoseconds kept as a fraction.
    pub fn micros(&self) -> f64 {
        self.nanos as f64 / 1_000.0
    }

    /// The venue's own processing time, if it reports both times.
    pub fn venue_processing(&self) -> Option<Duration> {
        let (a, b) = (self.venue_time_in?, self.venue_time_out?);
        u64::try_from(b - a).ok().map(Duration::from_nanos)
    }
}

/// One histogram per method, in nanoseconds (1 ns to 60 s, 3 digits).
#[derive(Debug, Clone)]
pub struct LatencyBook {
    histograms: Vec<Histogram<u64>>,
}

impl Default for LatencyBook {
    fn default() -> LatencyBook {
        LatencyBook::new()
    }
}

impl LatencyBook {
    /// Empty histograms for every method.
    pub fn new() -> LatencyBook {
        LatencyBook {
            histograms: Method::ALL
                .iter()
                .map(|_| {
                    // 1 ns .. 60 s at 3 significant digits is a valid bound.
                    Histogram::new_with_bounds(1, 60_000_000_000, 3)
                        .expect("static histogram bounds are valid")
                })
                .collect(),
        }
    }

    /// Records one reply's latency (clamped into the histogram's range).
    pub fn record(&mut self, method: Method, nanos: u64) {
        self.histograms[method.index()].saturating_record(nanos.max(1));
    }

    /// The histogram of one method.
    pub fn histogram(&self, method: Method) -> &Histogram<u64> {
        &self.histograms[method.index()]
    }

    /// Methods with at least one sample.
    pub fn methods(&self) -> impl Iterator<Item = Method> + '_ {
        Method::ALL
            .into_iter()
            .filter(|m| !self.histograms[m.index()].is_empty())
    }

    /// Adds another book's samples.
    pub fn merge(&mut self, other: &LatencyBook) {
        for (mine, theirs) in self.histograms.iter_mut().zip(&other.histograms) {
            // Same bounds on both sides, so adding cannot fail.
            let _ = mine.add(theirs);
        }
    }
}

/// The histogram as HdrHistogram's percentile-distribution text (`.hgrm`),
/// in microseconds, readable by the HdrHistogram plotter.
pub fn to_hgrm(histogram: &Histogram<u64>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let total = histogram.len();
    for step in histogram.iter_quantiles(1) {
        let quantile = step.quantile_iterated_to();
        let micros = step.value_iterated_to() as f64 / 1_000.0;
        let count = step.count_since_last_iteration();
        let _ = count;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a quantile in [0, 1] times a count: a count again"
        )]
        let cumulative = (quantile * total as f64).round() as u64;
        if quantile < 1.0 {
            let _ = writeln!(
                out,
                "{micros:>12.3} {quantile:>14.12} {cumulative:>10} {:>14.2}",
                1.0 / (1.0 - quantile)
            );
        } else {
            let _ = writeln!(out, "{micros:>12.3} {quantile:>14.12} {cumulative:>10}");
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        histogram.mean() / 1_000.0,
        histogram.stdev() / 1_000.0
    );
    let _ = writeln!(
        out,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        histogram.max() as f64 / 1_000.0,
        total
    );
    out
}
