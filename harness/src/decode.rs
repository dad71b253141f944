//! `orderwire decode --venue kraken [FILE]`: raw inbound messages, one per
//! line, to normalised events (CONVENTIONS.md §5), one JSON object per line.
//!
//! A line starting with `b64:` carries a binary payload in base64. Books and
//! order state carry across lines (the codec keeps them), so checksums are
//! verified. A line that cannot be decoded prints an `error` event and
//! decoding goes on; only I/O errors end the run with a failure.

use std::io::{BufRead, Write};

use base64::Engine as _;
use orderwire_protocol::model::{Event, Events, write_event_json};
use orderwire_protocol::venue::Venue;
use orderwire_protocol::venue::kraken::Kraken;

/// Venues the decoder knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DecodeVenue {
    /// Kraken Spot WebSocket v2.
    Kraken,
}

/// Decodes every line of `input` to `output`; returns (lines, errors).
pub fn run(
    venue: DecodeVenue,
    book_depth: u32,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> std::io::Result<(usize, usize)> {
    let mut codec: Box<dyn Venue> = match venue {
        DecodeVenue::Kraken => {
            let mut kraken = Kraken::public();
            prime_depth(&mut kraken, book_depth);
            Box::new(kraken)
        }
    };
    let name = codec.name();
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
        let mut payload = match line.strip_prefix(b"b64:") {
            Some(encoded) => match base64::engine::general_purpose::STANDARD.decode(encoded) {
                Ok(bytes) => bytes,
                Err(error) => {
                    events
                        .list
                        .push(Event::Error(format!("line {lines}: bad base64: {error}")));
                    Vec::new()
                }
            },
            None => line.clone(),
        };
        if events.list.is_empty() {
            if let Err(error) = codec.decode(&mut payload, &mut events) {
                events
                    .list
                    .push(Event::Error(format!("line {lines}: {error}")));
            }
        }
        for event in &events.list {
            match event {
                Event::SnapshotEnd { .. } => continue,
                Event::Error(_) | Event::ChecksumMismatch { .. } | Event::SequenceGap { .. } => {
                    errors += 1
                }
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

/// Tells the codec the book depth, as a subscribe would have: the decoder
/// sees only inbound messages.
fn prime_depth(kraken: &mut Kraken, depth: u32) {
    kraken.set_default_depth(depth as usize);
}
