//! `orderwire decode --venue kraken|binance [FILE]`: raw inbound messages,
//! one per line, to normalised events (docs/events.md), one JSON object
//! per line. A capture file (docs/capture.md, recognised by its magic)
//! is decoded too: its received frames, with the venue its header names.
//!
//! A line starting with `b64:` carries a binary payload in base64. Books and
//! order state carry across lines (the codec keeps them), so checksums are
//! verified. A line that cannot be decoded prints an `error` event and
//! decoding goes on; only I/O errors end the run with a failure.
//!
//! Binance captures may mix the WebSocket API and the market streams: books
//! are kept per symbol, a `depth` reply syncs the one book waiting for it,
//! and U/u gaps print as `error` events. `rateLimits` counts and requests
//! for a snapshot are control data, not events, and are not printed.

use std::io::{BufRead, Write};

use base64::Engine as _;
use orderwire_protocol::capture::{CaptureReader, FrameType, RecordBody};
use orderwire_protocol::model::{Event, Events, write_event_json};
use orderwire_protocol::venue::{FrameKind, Offline};

use crate::venues::{VenueEntry, Venues};

/// Decodes every line of `input` to `output`; returns (lines, errors).
pub fn run(
    venue: &dyn VenueEntry,
    book_depth: u32,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> std::io::Result<(usize, usize)> {
    let mut printer = Printer::new(venue, book_depth);
    let mut line = Vec::new();
    let mut lines = 0;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        if line.is_empty() {
            continue;
        }
        lines += 1;
        let (kind, payload) = match line.strip_prefix(b"b64:") {
            Some(encoded) => match base64::engine::general_purpose::STANDARD.decode(encoded) {
                Ok(bytes) => (FrameKind::Binary, bytes),
                Err(error) => {
                    printer.error(format!("line {lines}: bad base64: {error}"), output)?;
                    continue;
                }
            },
            None => (FrameKind::Text, line.clone()),
        };
        printer.message(kind, payload, &format!("line {lines}"), output)?;
    }
    output.flush()?;
    Ok((lines, printer.errors))
}

/// Decodes the received frames of a capture file (docs/capture.md) to
/// `output`, as `run` does lines: the venue is the capture's own (its
/// header names it) unless `venue` is given. Damage in the file prints an
/// `error` event after everything before it; returns (frames, errors).
pub fn run_capture(
    venues: &Venues,
    venue: Option<&dyn VenueEntry>,
    book_depth: u32,
    capture: &[u8],
    output: &mut dyn Write,
) -> Result<(usize, usize), String> {
    let (header, mut reader) = CaptureReader::open(capture).map_err(|e| e.to_string())?;
    let venue = match venue {
        Some(venue) => venue,
        None => venues.find(&header.venue)?,
    };
    let mut printer = Printer::new(venue, book_depth);
    let mut frames = 0;
    let io = |e: std::io::Error| e.to_string();
    loop {
        let records = match reader.next_block() {
            Ok(Some(records)) => records,
            Ok(None) => break,
            Err(error) => {
                printer
                    .error(format!("capture: {error}"), output)
                    .map_err(io)?;
                break;
            }
        };
        for record in records {
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    printer
                        .error(format!("capture: {error}"), output)
                        .map_err(io)?;
                    break;
                }
            };
            let RecordBody::FrameIn { kind, payload, .. } = record.body else {
                continue;
            };
            let kind = match kind {
                FrameType::Text => FrameKind::Text,
                FrameType::Binary => FrameKind::Binary,
                // Control frames carry no venue message.
                FrameType::Ping | FrameType::Pong | FrameType::Close => continue,
            };
            frames += 1;
            printer
                .message(kind, payload.to_vec(), &format!("frame {frames}"), output)
                .map_err(io)?;
        }
    }
    output.flush().map_err(io)?;
    Ok((frames, printer.errors))
}

/// One venue's offline codec and what `decode` prints of its events.
struct Printer {
    codec: Box<dyn orderwire_protocol::venue::Venue>,
    name: &'static str,
    // A capture holds inbound messages only: the venue's answers (a pong)
    // are made and dropped.
    offline: Offline,
    events: Events,
    out: Vec<u8>,
    errors: usize,
}

impl Printer {
    fn new(venue: &dyn VenueEntry, book_depth: u32) -> Printer {
        let codec = venue.offline_codec(book_depth);
        Printer {
            name: codec.name(),
            codec,
            offline: Offline::new(0),
            events: Events::default(),
            out: Vec::new(),
            errors: 0,
        }
    }

    /// Prints what one message decodes to; `at` names it in errors.
    fn message(
        &mut self,
        kind: FrameKind,
        mut payload: Vec<u8>,
        at: &str,
        output: &mut dyn Write,
    ) -> std::io::Result<()> {
        self.events.clear();
        if let Err(error) =
            self.offline
                .decode(&mut *self.codec, kind, &mut payload, &mut self.events)
        {
            self.events
                .list
                .push(Event::Error(format!("{at}: {error}")));
        }
        self.print(output)
    }

    /// Prints an error event of decode's own.
    fn error(&mut self, message: String, output: &mut dyn Write) -> std::io::Result<()> {
        self.events.clear();
        self.events.list.push(Event::Error(message));
        self.print(output)
    }

    fn print(&mut self, output: &mut dyn Write) -> std::io::Result<()> {
        for event in &self.events.list {
            match event {
                Event::SnapshotEnd { .. }
                | Event::RateUsage(_)
                | Event::NeedBookSnapshot { .. } => continue,
                Event::Error(_)
                | Event::VenueError { .. }
                | Event::ChecksumMismatch { .. }
                | Event::SequenceGap { .. } => self.errors += 1,
                _ => {}
            }
            self.out.clear();
            write_event_json(self.name, event, &self.events, &mut self.out);
            self.out.push(b'\n');
            output.write_all(&self.out)?;
        }
        Ok(())
    }
}
