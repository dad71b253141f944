//! The rows as hftbacktest's event arrays: one `.npz` per pair, holding
//! `data.npy`, the structured array its loaders read
//! (`BacktestAsset().data([path])`): 64-byte rows of `ev` (u8 flags),
//! `exch_ts` and `local_ts` (i8 ns), `px` and `qty` (f8), `order_id` (u8),
//! `ival` (i8), `fval` (f8), as hftbacktest 2.4.4 defines them
//! (`hftbacktest/types.py`; docs/capture.md has the sources).
//!
//! Market data only: book levels and trades. A book snapshot is a clear of
//! each side followed by its levels (`DEPTH_CLEAR_EVENT`, then
//! `DEPTH_SNAPSHOT_EVENT`, as hftbacktest's own converters write one); a
//! delta's levels are `DEPTH_EVENT`s with the level's new quantity (0
//! deletes it); a trade is a `TRADE_EVENT` with the taker's side. Every
//! row carries `EXCH_EVENT | LOCAL_EVENT`. Prices and quantities become
//! f8 here, because that is the format's type; every other export keeps
//! them exact.
//!
//! hftbacktest processes rows in file order and needs `exch_ts`
//! non-decreasing (its `validate_event_order`): rows are in receive order,
//! so `local_ts` is, and `exch_ts` is the venue's time held to at most
//! `local_ts` and at least the row before's.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Extract, Row};

/// `hftbacktest.types` (2.4.4): the event kind in the low byte, the
/// flags above.
const DEPTH_EVENT: u64 = 1;
const TRADE_EVENT: u64 = 2;
const DEPTH_CLEAR_EVENT: u64 = 3;
const DEPTH_SNAPSHOT_EVENT: u64 = 4;
const EXCH_EVENT: u64 = 1 << 31;
const LOCAL_EVENT: u64 = 1 << 30;
const BUY_EVENT: u64 = 1 << 29;
const SELL_EVENT: u64 = 1 << 28;

/// The structured dtype, as numpy writes it in the header.
const DESCR: &str = "[('ev', '<u8'), ('exch_ts', '<i8'), ('local_ts', '<i8'), ('px', '<f8'), ('qty', '<f8'), ('order_id', '<u8'), ('ival', '<i8'), ('fval', '<f8')]";

/// One event row.
#[derive(Clone, Copy, Debug, PartialEq)]
struct EventRow {
    ev: u64,
    exch_ts: i64,
    local_ts: i64,
    px: f64,
    qty: f64,
}

/// One file written.
#[derive(Clone, Debug, PartialEq)]
pub struct NpzFile {
    /// Where.
    pub path: PathBuf,
    /// The pair.
    pub symbol: String,
    /// Its event rows.
    pub rows: usize,
}

fn float(decimal: Option<orderwire_protocol::num::Decimal>) -> f64 {
    // The format's type: the nearest f64 to the exact value.
    decimal
        .and_then(|d| d.to_string().parse().ok())
        .unwrap_or(f64::NAN)
}

/// The rows of one pair as events.
fn events(rows: &[&Row]) -> Vec<EventRow> {
    let mut out = Vec::with_capacity(rows.len() + 16);
    let mut last_exch = i64::MIN;
    let mut index = 0;
    while index < rows.len() {
        let row = rows[index];
        let local_ts = row.ts_recv;
        let exch_ts = row
            .ts_event
            .unwrap_or(local_ts)
            .min(local_ts)
            .max(last_exch);
        last_exch = exch_ts;
        let base = EXCH_EVENT | LOCAL_EVENT;
        let side_flag = |side: Option<&str>| match side {
            Some("bid" | "buy") => BUY_EVENT,
            _ => SELL_EVENT,
        };
        match row.kind {
            "book_snapshot" => {
                // One snapshot: the consecutive rows of one frame.
                let frame = row.frame;
                let end = rows[index..]
                    .iter()
                    .position(|r| r.frame != frame || r.kind != "book_snapshot")
                    .map_or(rows.len(), |n| index + n);
                let levels = &rows[index..end];
                for (side, flag) in [("bid", BUY_EVENT), ("ask", SELL_EVENT)] {
                    let prices = levels
                        .iter()
                        .filter(|r| r.side == Some(side))
                        .map(|r| float(r.price));
                    // The clear reaches the side's worst price.
                    let worst = if side == "bid" {
                        prices.fold(f64::NAN, f64::min)
                    } else {
                        prices.fold(f64::NAN, f64::max)
                    };
                    out.push(EventRow {
                        ev: base | flag | DEPTH_CLEAR_EVENT,
                        exch_ts,
                        local_ts,
                        px: worst,
                        qty: 0.0,
                    });
                    for level in levels.iter().filter(|r| r.side == Some(side)) {
                        out.push(EventRow {
                            ev: base | flag | DEPTH_SNAPSHOT_EVENT,
                            exch_ts,
                            local_ts,
                            px: float(level.price),
                            qty: float(level.qty),
                        });
                    }
                }
                index = end;
                continue;
            }
            "book_delta" => out.push(EventRow {
                ev: base | side_flag(row.side) | DEPTH_EVENT,
                exch_ts,
                local_ts,
                px: float(row.price),
                qty: float(row.qty),
            }),
            "trade" => out.push(EventRow {
                ev: base | side_flag(row.side) | TRADE_EVENT,
                exch_ts,
                local_ts,
                px: float(row.price),
                qty: float(row.qty),
            }),
            _ => {}
        }
        index += 1;
    }
    out
}

/// The `.npy` (format 1.0) of `events`: the magic, the header padded so
/// that the data starts at a multiple of 64 bytes, the rows.
fn npy(events: &[EventRow]) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': {DESCR}, 'fortran_order': False, 'shape': ({},), }}",
        events.len()
    );
    // 10 bytes of magic, version and length, the header, a newline.
    let pad = 64 - (10 + header.len() + 1) % 64;
    header.push_str(&" ".repeat(pad % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + events.len() * 64);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    // Under 64 KiB: the dtype is fixed and the shape one number.
    let len = u16::try_from(header.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for event in events {
        out.extend_from_slice(&event.ev.to_le_bytes());
        out.extend_from_slice(&event.exch_ts.to_le_bytes());
        out.extend_from_slice(&event.local_ts.to_le_bytes());
        out.extend_from_slice(&event.px.to_le_bytes());
        out.extend_from_slice(&event.qty.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&0i64.to_le_bytes());
        out.extend_from_slice(&0f64.to_le_bytes());
    }
    out
}

/// Writes one `.npz` per pair: `out` itself for a capture of one pair,
/// else `<stem>_<pair>.npz` beside it (the pair's `/` as `-`). `symbol`
/// exports that pair only.
pub fn write_npz(
    extract: &Extract,
    out: &Path,
    symbol: Option<&str>,
) -> Result<Vec<NpzFile>, String> {
    let mut symbols: Vec<&str> = Vec::new();
    for row in &extract.rows {
        if !matches!(row.kind, "book_snapshot" | "book_delta" | "trade") {
            continue;
        }
        if let Some(s) = row.symbol.as_ref().map(|s| s.as_str()) {
            if symbol.is_none_or(|wanted| wanted == s) && !symbols.contains(&s) {
                symbols.push(s);
            }
        }
    }
    if symbols.is_empty() {
        return Err("no book or trade rows to export".to_owned());
    }
    let mut files = Vec::new();
    let single = symbols.len() == 1;
    for pair in symbols {
        let rows: Vec<&Row> = extract
            .rows
            .iter()
            .filter(|r| r.symbol.as_ref().map(|s| s.as_str()) == Some(pair))
            .collect();
        let events = events(&rows);
        let path = if single {
            out.to_owned()
        } else {
            let stem = out
                .file_stem()
                .map_or_else(|| "export".to_owned(), |s| s.to_string_lossy().into_owned());
            out.with_file_name(format!("{stem}_{}.npz", pair.replace('/', "-")))
        };
        let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        let io = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        zip.start_file("data.npy", options).map_err(|e| io(&e))?;
        zip.write_all(&npy(&events)).map_err(|e| io(&e))?;
        zip.finish().map_err(|e| io(&e))?;
        files.push(NpzFile {
            path,
            symbol: pair.to_owned(),
            rows: events.len(),
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_npy_data_starts_at_a_multiple_of_64() {
        for n in [0, 1, 9, 10, 99_999, 1_000_000] {
            let rows = vec![
                EventRow {
                    ev: 0,
                    exch_ts: 0,
                    local_ts: 0,
                    px: 0.0,
                    qty: 0.0
                };
                n.min(3)
            ];
            let mut bytes = npy(&rows);
            // The header's shape says n; the rows written are fewer here.
            let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
            assert_eq!((10 + header_len) % 64, 0, "{n}");
            assert_eq!(bytes[10 + header_len - 1], b'\n');
            bytes.truncate(10 + header_len);
            let text = String::from_utf8(bytes[10..].to_vec()).unwrap();
            assert!(text.contains(&format!("'shape': ({},)", n.min(3))));
        }
    }

    #[test]
    fn exch_ts_never_goes_back_nor_past_local_ts() {
        let row = |ts_event, ts_recv| Row {
            kind: "trade",
            symbol: orderwire_protocol::model::inline("BTC/USD"),
            side: Some("buy"),
            action: Some("trade"),
            ts_event: Some(ts_event),
            ts_recv,
            price: Some("1.5".parse().unwrap()),
            qty: Some("2".parse().unwrap()),
            order_id: None,
            client_order_id: None,
            trade_id: None,
            snapshot: false,
            frame: 0,
        };
        let rows = [row(100, 200), row(50, 300), row(400, 350)];
        let refs: Vec<&Row> = rows.iter().collect();
        let events = events(&refs);
        let exch: Vec<i64> = events.iter().map(|e| e.exch_ts).collect();
        assert_eq!(exch, [100, 100, 350]);
        assert_eq!(
            events[0].ev,
            EXCH_EVENT | LOCAL_EVENT | BUY_EVENT | TRADE_EVENT
        );
        assert_eq!(events[0].px, 1.5);
    }
}
