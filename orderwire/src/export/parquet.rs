//! The rows as Parquet, Hive-partitioned
//! (`OUT/venue=V/symbol=S/date=YYYY-MM-DD/part-0.parquet`), zstd-compressed,
//! with the arrow and parquet crates, so that DuckDB, Polars, Spark and
//! pandas read them as they are.
//!
//! Prices and quantities are `decimal128(38, s)`: exact, typed as decimals
//! in every reader, and compared and summed as such by DuckDB and Arrow
//! compute; the other choice, int64 mantissas with the scale in the file's
//! metadata, would leave every reader to divide by hand. Each file's scale
//! is the largest its values need (the venue's), and every value is
//! rescaled up to it, which multiplies the mantissa by a power of ten and
//! never rounds; a value that would not fit 38 digits fails the export.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Decimal128Builder, Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::{Extract, Row, utc_date};

/// One file written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParquetFile {
    /// Where.
    pub path: PathBuf,
    /// Its rows.
    pub rows: usize,
    /// The scale of its `price` and `qty` columns.
    pub scales: (u8, u8),
}

/// What Hive calls a partition without a value (an account's rows with
/// no pair).
const NO_VALUE: &str = "__HIVE_DEFAULT_PARTITION__";

/// A partition value as Hive escapes it in a path: `/` and the other
/// characters a path or a partition cannot hold, as `%XX`.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Writes `extract` under `out` (the `raw` column with `raw`); returns the
/// files in partition order.
pub fn write_parquet(extract: &Extract, out: &Path, raw: bool) -> Result<Vec<ParquetFile>, String> {
    // Partitions in order of their first row; rows keep their order.
    // Partitions by pair and UTC day (the day as its number: the date's
    // text is made once a partition).
    let mut partitions: BTreeMap<(&str, i64), Vec<&Row>> = BTreeMap::new();
    for row in &extract.rows {
        let symbol = row.symbol.as_ref().map_or(NO_VALUE, |s| s.as_str());
        let day = row.ts_recv.div_euclid(86_400_000_000_000);
        partitions.entry((symbol, day)).or_default().push(row);
    }
    let mut files = Vec::new();
    for ((symbol, day), rows) in partitions {
        let date = utc_date(day.saturating_mul(86_400_000_000_000));
        let dir = out
            .join(format!("venue={}", escape(&extract.venue)))
            .join(if symbol == NO_VALUE {
                format!("symbol={NO_VALUE}")
            } else {
                format!("symbol={}", escape(symbol))
            })
            .join(format!("date={date}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join("part-0.parquet");
        let scales = write_file(extract, &rows, &path, raw)?;
        files.push(ParquetFile {
            path,
            rows: rows.len(),
            scales,
        });
    }
    Ok(files)
}

fn decimals(
    rows: &[&Row],
    value: impl Fn(&Row) -> Option<orderwire_protocol::num::Decimal>,
    name: &str,
) -> Result<(ArrayRef, u8), String> {
    let scale = rows
        .iter()
        .filter_map(|row| value(row))
        .map(orderwire_protocol::num::Decimal::scale)
        .max()
        .unwrap_or(0);
    let mut builder = Decimal128Builder::with_capacity(rows.len())
        .with_precision_and_scale(38, i8::try_from(scale).map_err(|_| "a scale over 127")?)
        .map_err(|e| e.to_string())?;
    for row in rows {
        match value(row) {
            Some(decimal) => {
                // Up only: exact, or an error, never rounded.
                let exact = decimal
                    .rescaled(scale)
                    .filter(|d| d.mantissa().unsigned_abs() < 10u128.pow(38))
                    .ok_or_else(|| {
                        format!("{name} {decimal} does not fit decimal128(38, {scale})")
                    })?;
                builder.append_value(exact.mantissa());
            }
            None => builder.append_null(),
        }
    }
    Ok((Arc::new(builder.finish()), scale))
}

fn strings(rows: &[&Row], value: impl Fn(&Row) -> Option<&str>) -> ArrayRef {
    let mut builder = StringBuilder::with_capacity(rows.len(), rows.len() * 8);
    for row in rows {
        builder.append_option(value(row));
    }
    Arc::new(builder.finish())
}

fn write_file(
    extract: &Extract,
    rows: &[&Row],
    path: &Path,
    raw: bool,
) -> Result<(u8, u8), String> {
    let (price, price_scale) = decimals(rows, |r| r.price, "price")?;
    let (qty, qty_scale) = decimals(rows, |r| r.qty, "qty")?;
    let mut ts_event = Int64Builder::with_capacity(rows.len());
    let mut ts_recv = Int64Builder::with_capacity(rows.len());
    let mut snapshot = BooleanBuilder::with_capacity(rows.len());
    for row in rows {
        ts_event.append_option(row.ts_event);
        ts_recv.append_value(row.ts_recv);
        snapshot.append_value(row.snapshot);
    }
    let scale = |s: u8| i8::try_from(s).unwrap_or(i8::MAX);
    let mut fields = vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("side", DataType::Utf8, true),
        Field::new("action", DataType::Utf8, true),
        Field::new("ts_event", DataType::Int64, true),
        Field::new("ts_recv", DataType::Int64, false),
        Field::new("price", DataType::Decimal128(38, scale(price_scale)), true),
        Field::new("qty", DataType::Decimal128(38, scale(qty_scale)), true),
        Field::new("order_id", DataType::Utf8, true),
        Field::new("client_order_id", DataType::Utf8, true),
        Field::new("trade_id", DataType::Utf8, true),
        Field::new("snapshot", DataType::Boolean, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        strings(rows, |r| Some(r.kind)),
        strings(rows, |r| r.side),
        strings(rows, |r| r.action),
        Arc::new(ts_event.finish()),
        Arc::new(ts_recv.finish()),
        price,
        qty,
        strings(rows, |r| r.order_id.as_ref().map(|id| id.as_str())),
        strings(rows, |r| r.client_order_id.as_ref().map(|id| id.as_str())),
        strings(rows, |r| r.trade_id.as_ref().map(|id| id.as_str())),
        Arc::new(snapshot.finish()),
    ];
    if raw {
        let mut frames = BinaryBuilder::with_capacity(rows.len(), rows.len() * 256);
        for row in rows {
            builder_append(&mut frames, extract.frames.get(row.frame));
        }
        fields.push(Field::new("raw", DataType::Binary, true));
        columns.push(Arc::new(frames.finish()));
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).map_err(|e| e.to_string())?,
        ))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("orderwire.venue".to_owned(), extract.venue.clone()),
            KeyValue::new(
                "orderwire.time".to_owned(),
                "ts_event and ts_recv: int64 ns since the epoch, UTC".to_owned(),
            ),
        ]))
        .build();
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(properties)).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok((price_scale, qty_scale))
}

fn builder_append(builder: &mut BinaryBuilder, frame: Option<&Vec<u8>>) {
    match frame {
        Some(bytes) => builder.append_value(bytes),
        None => builder.append_null(),
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn partition_values_are_escaped_as_hive_does() {
        assert_eq!(escape("BTC/USD"), "BTC%2FUSD");
        assert_eq!(escape("KRW-BTC"), "KRW-BTC");
        assert_eq!(escape("a=b c"), "a%3Db%20c");
    }
}
