//! `orderwire decode --venue kraken|binance [FILE]`: raw inbound messages,
//! one per line, to normalised events (docs/events.md), one JSON object
//! per line.
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
use orderwire_protocol::model::{Event, Events, write_event_json};
use orderwire_protocol::venue::{FrameKind, Offline};

use crate::venues::VenueEntry;

/// Decodes every line of `input` to `output`; returns (lines, errors).
pub fn run(
    venue: &dyn VenueEntry,
    book_depth: u32,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> std::io::Result<(usize, usize)> {
    let mut codec = venue.offline_codec(book_depth);
    let name = codec.name();
    // A capture holds inbound messages only: the venue's answers (a pong)
    // are made and dropped.
    let mut offline = Offline::new(0);
    let mut events = Events::default();
    let mut line = Vec::new();
    let mut out = Vec::new();
    let (mut lines, mut errors) = (0, 0);
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
        events.clear();
        let (kind, mut payload) = match line.strip_prefix(b"b64:") {
            Some(encoded) => match base64::engine::general_purpose::STANDARD.decode(encoded) {
                Ok(bytes) => (FrameKind::Binary, bytes),
                Err(error) => {
                    events
                        .list
                        .push(Event::Error(format!("line {lines}: bad base64: {error}")));
                    (FrameKind::Binary, Vec::new())
                }
            },
            None => (FrameKind::Text, line.clone()),
        };
        if events.list.is_empty() {
            if let Err(error) = offline.decode(&mut *codec, kind, &mut payload, &mut events) {
                events
                    .list
                    .push(Event::Error(format!("line {lines}: {error}")));
            }
        }
        for event in &events.list {
            match event {
                Event::SnapshotEnd { .. }
                | Event::RateUsage(_)
                | Event::NeedBookSnapshot { .. } => continue,
                Event::Error(_)
                | Event::VenueError { .. }
                | Event::ChecksumMismatch { .. }
                | Event::SequenceGap { .. } => errors += 1,
                _ => {}
            }
            out.clear();
            write_event_json(name, event, &events, &mut out);
            out.push(b'\n');
            output.write_all(&out)?;
        }
    }
    output.flush()?;
    Ok((lines, errors))
}
