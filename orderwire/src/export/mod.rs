//! `orderwire export` (issue 25, docs/capture.md): a capture's normalised
//! events as rows, written as Hive-partitioned Parquet (`parquet.rs`) or as
//! hftbacktest's `.npz` event arrays (`hftbacktest.rs`).
//!
//! The rows come from the capture's received frames decoded by the venue's
//! codec as `orderwire decode` decodes them (the codec keeps its books, so
//! checksums and sequences are checked): one row per trade, ticker side,
//! order update and fill, and one per level of a book event. Times are
//! UTC nanoseconds: `ts_event` the venue's, `ts_recv` the frame's read time
//! on the recording clock mapped to the wall clock the header records.

mod hftbacktest;
mod parquet;

pub use self::hftbacktest::{NpzFile, write_npz};
pub use self::parquet::{ParquetFile, write_parquet};

use orderwire_protocol::capture::{CaptureReader, FrameType, RecordBody, venue_setting};
use orderwire_protocol::model::{ClientOrderId, Event, Events, OrderId, Side, Symbol, TradeId};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::{FrameKind, Offline};

use crate::venues::Venues;

/// One exported row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// `trade`, `book_snapshot`, `book_delta`, `ticker`, `order_update`,
    /// `fill`.
    pub kind: &'static str,
    /// The pair, when the event names one.
    pub symbol: Option<Symbol>,
    /// `buy`/`sell` (trades: the taker's side; orders and fills), `bid`/`ask`
    /// (book levels and ticker sides).
    pub side: Option<&'static str>,
    /// `set`/`delete` (book levels), an order's status, `trade`, `fill`.
    pub action: Option<&'static str>,
    /// The venue's time, ns since the epoch (UTC).
    pub ts_event: Option<i64>,
    /// When the frame was read, ns since the epoch (UTC).
    pub ts_recv: i64,
    /// Exact.
    pub price: Option<Decimal>,
    /// Exact.
    pub qty: Option<Decimal>,
    /// The venue's order id.
    pub order_id: Option<OrderId>,
    /// Ours.
    pub client_order_id: Option<ClientOrderId>,
    /// The trade's id.
    pub trade_id: Option<TradeId>,
    /// From a snapshot (a book's, or a channel's first message) rather
    /// than live.
    pub snapshot: bool,
    /// The frame it came from, an index into [`Extract::frames`].
    pub frame: usize,
}

/// What a capture exports.
#[derive(Debug, Default)]
pub struct Extract {
    /// The venue (the codec's name).
    pub venue: String,
    /// In frame order.
    pub rows: Vec<Row>,
    /// The received frames, kept when asked (the optional `raw` column).
    pub frames: Vec<Vec<u8>>,
    /// Frames read, and those whose decode failed (each ends its rows).
    pub frames_read: usize,
    /// Frames the codec could not read.
    pub decode_errors: usize,
    /// The damage that ended the read, if any (every row before it is
    /// exported).
    pub damage: Option<String>,
}

/// Reads a capture's rows; `keep_frames` keeps every received frame for
/// the `raw` column.
pub fn extract(venues: &Venues, capture: &[u8], keep_frames: bool) -> Result<Extract, String> {
    extract_showing(venues, capture, keep_frames, None)
}

/// As [`extract`], moving `progress` through the capture's bytes (the CLI's
/// bar for a large capture).
pub fn extract_showing(
    venues: &Venues,
    capture: &[u8],
    keep_frames: bool,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<Extract, String> {
    let (header, mut reader) = CaptureReader::open(capture).map_err(|e| e.to_string())?;
    let entry = venues.find(&header.venue)?;
    let depth = venue_setting(&header, "default_depth")
        .or_else(|| venue_setting(&header, "depth"))
        .and_then(|d| d.parse::<u32>().ok())
        // A header is input: no venue keeps books deeper than 5,000.
        .map_or(10, |d| d.min(5_000));
    let mut codec = entry.offline_codec(depth);
    let mut offline = Offline::new(0);
    let started_mono = i64::try_from(header.started_mono_ns).unwrap_or(i64::MAX);
    let wall_offset = header.started_wall_ns.saturating_sub(started_mono);
    let mut out = Extract {
        venue: codec.name().to_owned(),
        ..Extract::default()
    };
    let mut events = Events::default();
    let mut message = Vec::new();
    loop {
        if let Some(bar) = progress {
            bar.set_position(reader.position() as u64);
        }
        let records = match reader.next_block() {
            Ok(Some(records)) => records,
            Ok(None) => break,
            Err(error) => {
                out.damage = Some(error.to_string());
                break;
            }
        };
        for record in records {
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    out.damage = Some(error.to_string());
                    return Ok(out);
                }
            };
            let RecordBody::FrameIn {
                kind,
                received_ns,
                payload,
            } = record.body
            else {
                continue;
            };
            let kind = match kind {
                FrameType::Text => FrameKind::Text,
                FrameType::Binary => FrameKind::Binary,
                _ => continue,
            };
            let frame = out.frames_read;
            out.frames_read += 1;
            if keep_frames {
                out.frames.push(payload.to_vec());
            }
            message.clear();
            message.extend_from_slice(payload);
            events.clear();
            if offline
                .decode(&mut *codec, kind, &mut message, &mut events)
                .is_err()
            {
                out.decode_errors += 1;
            }
            let ts_recv = i64::try_from(received_ns)
                .unwrap_or(i64::MAX)
                .saturating_add(wall_offset);
            push_rows(&events, ts_recv, frame, &mut out.rows);
        }
    }
    Ok(out)
}

fn side(side: Option<Side>) -> Option<&'static str> {
    side.map(Side::as_str)
}

/// The rows of one decoded message.
fn push_rows(events: &Events, ts_recv: i64, frame: usize, rows: &mut Vec<Row>) {
    let row = |kind: &'static str| Row {
        kind,
        symbol: None,
        side: None,
        action: None,
        ts_event: None,
        ts_recv,
        price: None,
        qty: None,
        order_id: None,
        client_order_id: None,
        trade_id: None,
        snapshot: false,
        frame,
    };
    for event in &events.list {
        match event {
            Event::Trade(trade) => rows.push(Row {
                symbol: Some(trade.symbol),
                side: side(trade.side),
                action: Some("trade"),
                ts_event: trade.ts,
                price: Some(trade.price),
                qty: Some(trade.qty),
                trade_id: Some(trade.trade_id),
                snapshot: trade.from_snapshot,
                ..row("trade")
            }),
            Event::Book(book) => {
                let kind = if book.snapshot {
                    "book_snapshot"
                } else {
                    "book_delta"
                };
                for (side, range) in [("bid", &book.bids), ("ask", &book.asks)] {
                    for level in events.levels.get(range.clone()).unwrap_or(&[]) {
                        rows.push(Row {
                            symbol: Some(book.symbol),
                            side: Some(side),
                            action: Some(if level.qty.is_zero() { "delete" } else { "set" }),
                            ts_event: book.ts,
                            price: Some(level.price),
                            qty: Some(level.qty),
                            snapshot: book.snapshot || book.from_snapshot,
                            ..row(kind)
                        });
                    }
                }
            }
            Event::Ticker(ticker) => {
                for (side, price, qty) in [
                    ("bid", ticker.bid, ticker.bid_qty),
                    ("ask", ticker.ask, ticker.ask_qty),
                ] {
                    if price.is_some() || qty.is_some() {
                        rows.push(Row {
                            symbol: Some(ticker.symbol),
                            side: Some(side),
                            ts_event: ticker.ts,
                            price,
                            qty,
                            ..row("ticker")
                        });
                    }
                }
            }
            Event::OrderUpdate(index) => {
                let Some(update) = events.order_update(*index) else {
                    continue;
                };
                rows.push(Row {
                    symbol: update.symbol,
                    side: side(update.side),
                    action: Some(update.status.as_str()),
                    ts_event: update.ts,
                    price: update.price,
                    qty: update.qty,
                    order_id: Some(update.order_id),
                    client_order_id: update.client_order_id,
                    snapshot: update.from_snapshot,
                    ..row("order_update")
                });
            }
            Event::Fill(index) => {
                let Some(fill) = events.fill(*index) else {
                    continue;
                };
                rows.push(Row {
                    symbol: fill.symbol,
                    side: side(fill.side),
                    action: Some("fill"),
                    ts_event: fill.ts,
                    price: Some(fill.price),
                    qty: Some(fill.qty),
                    order_id: Some(fill.order_id),
                    client_order_id: fill.client_order_id,
                    trade_id: Some(fill.trade_id),
                    ..row("fill")
                });
            }
            _ => {}
        }
    }
}

/// `YYYY-MM-DD` of a UTC time in ns (the proleptic Gregorian calendar,
/// Howard Hinnant's days-to-civil).
pub fn utc_date(ns: i64) -> String {
    let days = ns.div_euclid(86_400_000_000_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::utc_date;

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_696_613_755_000_000_000), "2023-10-06");
        assert_eq!(utc_date(951_782_400_000_000_000), "2000-02-29");
        assert_eq!(utc_date(-1), "1969-12-31");
    }
}
