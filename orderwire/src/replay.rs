//! `orderwire replay FILE...` (docs/capture.md): a capture's inputs fed
//! again into a core built as its header says, in virtual time, with no
//! socket; the core's events printed one JSON line each, as `orderwire
//! run` prints them live. `--check` compares every frame the replay writes
//! with the captured one (after the same redaction) and stops at the first
//! difference. `--speed` paces the inputs at their recorded times.
//!
//! Several files replay one after the other into the same core: the
//! files of a rotated capture (`a.owcap`, `a.1.owcap`, ...), in order.
//! Damage in a file replays everything before it, then fails naming it.

use std::io::Write;
use std::time::{Duration, Instant};

use orderwire_engine::gateway::Outputs;
use orderwire_engine::gateway::replay::{Replay, exchange_name};
use orderwire_protocol::capture::{CaptureReader, Header};
use orderwire_protocol::model::Events;

use crate::venues::Venues;

/// How fast a replay goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// As fast as the core takes it.
    Max,
    /// The recorded pace times this factor (1.0: as recorded).
    Times(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(text: &str) -> Result<Speed, String> {
        if text == "max" {
            return Ok(Speed::Max);
        }
        let factor = text
            .strip_suffix('x')
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|n| n.is_finite() && (0.001..=1e9).contains(n))
            .ok_or_else(|| {
                format!(
                    "--speed {text}: expected max or a factor from 0.001x to 1e9x, like 1x or 10x"
                )
            })?;
        Ok(Speed::Times(factor))
    }
}

/// Replay settings.
#[derive(Clone, Copy, Debug)]
pub struct ReplayOptions {
    /// Compare the replayed frames with the captured ones.
    pub check: bool,
    /// Pacing.
    pub speed: Speed,
    /// Print the events (off: only the check and the summary).
    pub print: bool,
    /// A progress bar on stderr over the files' bytes (for a large
    /// capture; the CLI shows it when stderr is a terminal).
    pub progress: bool,
}

/// What a replay did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Records fed.
    pub records: u64,
    /// Events printed.
    pub events: u64,
    /// Outbound frames compared (with `check`).
    pub frames_checked: u64,
}

/// Replays `files` (their bytes, in order; the first one's header builds
/// the core) and prints the events to `output`. An error names the file
/// and what stopped it: damage, or with `check` the first difference.
pub fn run(
    venues: &Venues,
    files: &[(String, Vec<u8>)],
    options: ReplayOptions,
    output: &mut dyn Write,
) -> Result<ReplaySummary, String> {
    let mut summary = ReplaySummary::default();
    let mut replay: Option<(Box<dyn Replay>, Header)> = None;
    let mut outputs = Outputs::default();
    let mut scratch = Events::default();
    let mut line = Vec::with_capacity(512);
    let mut pace: Option<(Instant, u64)> = None;
    let io = |e: std::io::Error| format!("replay: {e}");
    let total: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    let bar = options
        .progress
        .then(|| crate::progress::bytes(total as u64, "replay"));
    let mut done_before = 0usize;
    for (name, bytes) in files {
        let (header, mut reader) =
            CaptureReader::open(bytes).map_err(|e| format!("replay {name}: {e}"))?;
        if replay.is_none() {
            if let Some(segment) = segment_of(&header) {
                if options.check {
                    return Err(format!(
                        "replay {name}: file {segment} of a rotated capture; --check replays a session from its first file"
                    ));
                }
            }
            let entry = venues.find(&header.venue)?;
            let mut fresh = entry.replayer(&header)?;
            fresh.set_check(options.check);
            replay = Some((fresh, header.clone()));
        }
        let Some((core, first)) = replay.as_mut() else {
            continue;
        };
        let venue = first.venue.clone();
        let exchange = exchange_name(first).unwrap_or(&venue).to_owned();
        loop {
            if let Some(bar) = &bar {
                bar.set_position((done_before + reader.position()) as u64);
            }
            let records = match reader.next_block() {
                Ok(Some(records)) => records,
                Ok(None) => {
                    // A capture that dropped inputs cannot replay as it ran.
                    if let Some(trailer) = reader.trailer().filter(|t| t.dropped > 0) {
                        if options.check {
                            return Err(format!(
                                "replay {name}: the capture dropped {} records (its writer fell behind): --check cannot hold",
                                trailer.dropped
                            ));
                        }
                        tracing::warn!(file = %name, dropped = trailer.dropped, "the capture dropped records");
                    }
                    break;
                }
                Err(error) => return Err(format!("replay {name}: {error}")),
            };
            for record in records {
                let record = record.map_err(|e| format!("replay {name}: {e}"))?;
                if let Speed::Times(factor) = options.speed {
                    let (start, first_ns) = *pace.get_or_insert((Instant::now(), record.mono_ns));
                    // Pacing, not arithmetic on money: a float is fine. The
                    // gap is the file's: held to what a Duration can be.
                    let recorded = record.mono_ns.saturating_sub(first_ns) as f64 / 1e9;
                    let due = Duration::try_from_secs_f64(recorded / factor)
                        .ok()
                        .and_then(|wait| start.checked_add(wait))
                        .ok_or_else(|| format!("replay {name}: a gap too long to pace"))?;
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                }
                summary.records += 1;
                core.feed(&record, &mut outputs)
                    .map_err(|e| format!("replay {name}: {e}"))?;
                for event in &outputs.events {
                    summary.events += 1;
                    if options.print {
                        line.clear();
                        crate::event_line::write_gateway_event(
                            &venue,
                            &exchange,
                            event,
                            &outputs,
                            &mut scratch,
                            &mut line,
                        );
                        line.push(b'\n');
                        output.write_all(&line).map_err(io)?;
                    }
                }
                outputs.clear();
            }
        }
        done_before += bytes.len();
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some((core, _)) = replay.as_mut() {
        core.finish().map_err(|e| format!("replay: {e}"))?;
        summary.frames_checked = core.frames_checked();
    }
    output.flush().map_err(io)?;
    Ok(summary)
}

/// The file number a rotated capture's later file records.
fn segment_of(header: &Header) -> Option<&str> {
    header
        .codec_config
        .lines()
        .find_map(|line| line.strip_prefix("capture.segment="))
}
