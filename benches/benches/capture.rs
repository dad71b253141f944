//! Capture write and read throughput (issue 25): 20,000 records of a
//! Kraken session (book updates in, orders out), written by
//! `CaptureWriter` into a reused buffer and read back block by block,
//! beside a peer in the same run: the straightforward capture, the same
//! length-prefixed records through zstd's streaming encoder at the same
//! level, with no blocks, checksums or trailer (and so no way to read past
//! damage). Prints records/s and MB/s (record bytes, before compression),
//! the ratio, and each file's size.
//!
//! Then the recording side's cost (`CaptureSink::record`, the hand-over to
//! the writer thread, what the hot path would pay): 200,000 calls with a
//! 200-byte frame, each timed, p50/p99/p99.9/max, beside the
//! straightforward hand-over (a freshly allocated copy sent on a bounded
//! channel) and an empty timed section (the clock's own cost).
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, criterion_main};
use orderwire_benches::criterion_median_ns;
use orderwire_protocol::capture::{
    CaptureReader, CaptureWriter, FrameType, Header, Record, RecordBody, read_all,
};

const RECORDS: usize = 20_000;

fn payloads() -> Vec<Vec<u8>> {
    (0..RECORDS)
        .map(|n| {
            if n % 10 == 9 {
                format!(
                    r#"{{"method":"add_order","params":{{"order_type":"limit","side":"buy","limit_price":26500.{n},"order_qty":1.2,"symbol":"BTC/USD","cl_ord_id":"c{n}","token":"[redacted]"}},"req_id":{n}}}"#
                )
            } else {
                format!(
                    r#"{{"channel":"book","type":"update","data":[{{"symbol":"BTC/USD","bids":[{{"price":26500.{},"qty":{}.25}}],"asks":[],"checksum":{},"timestamp":"2023-10-06T17:35:55.4400{:02}Z"}}]}}"#,
                    n % 97,
                    n % 13,
                    2_000_000_000 + n,
                    n % 100
                )
            }
            .into_bytes()
        })
        .collect()
}

fn record(n: usize, payload: &[u8]) -> Record<'_> {
    let kind = FrameType::Text;
    // n < RECORDS: both fit.
    let n64 = u64::try_from(n).expect("a small index");
    Record {
        mono_ns: n64 * 50_000,
        wall_ns: 1_696_613_755_000_000_000 + i64::try_from(n64 * 50_000).expect("small"),
        body: if n % 10 == 9 {
            RecordBody::FrameOut { kind, payload }
        } else {
            RecordBody::FrameIn {
                kind,
                received_ns: n64 * 50_000,
                payload,
            }
        },
    }
}

fn header() -> Header {
    Header {
        venue: "kraken".to_owned(),
        codec_config: "tier=starter".to_owned(),
        rng_seed: 1,
        started_wall_ns: 1_696_613_755_000_000_000,
        started_mono_ns: 0,
    }
}

fn write_orderwire(payloads: &[Vec<u8>], out: &mut Vec<u8>) {
    out.clear();
    let mut writer = CaptureWriter::new(&header(), out).expect("a header");
    for (n, payload) in payloads.iter().enumerate() {
        writer.push(&record(n, payload), out).expect("a record");
    }
    writer.finish(0, out).expect("finishes");
}

/// The peer: the same records, length-prefixed, through one zstd stream.
fn write_peer(payloads: &[Vec<u8>], out: &mut Vec<u8>) {
    out.clear();
    let mut encoder = zstd::stream::write::Encoder::new(out, 1).expect("zstd");
    for (n, payload) in payloads.iter().enumerate() {
        let r = record(n, payload);
        let len = u32::try_from(payload.len() + 17).expect("small");
        encoder.write_all(&len.to_le_bytes()).expect("in memory");
        encoder.write_all(&[1]).expect("in memory");
        encoder
            .write_all(&r.mono_ns.to_le_bytes())
            .expect("in memory");
        encoder
            .write_all(&r.wall_ns.to_le_bytes())
            .expect("in memory");
        encoder.write_all(payload).expect("in memory");
    }
    encoder.finish().expect("in memory");
}

/// Every record, borrowed from its block as the peer's are from its
/// buffer (`read_all`, which copies each out, is for tools).
fn read_orderwire(file: &[u8]) -> usize {
    let (_, mut reader) = CaptureReader::open(file).expect("opens");
    let mut count = 0;
    while let Some(records) = reader.next_block().expect("whole") {
        for record in records {
            black_box(record.expect("whole"));
            count += 1;
        }
    }
    count
}

fn read_peer(file: &[u8]) -> usize {
    let raw = zstd::stream::decode_all(file).expect("zstd");
    let (mut at, mut count) = (0, 0);
    while at + 4 <= raw.len() {
        let len = u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]) as usize;
        black_box(&raw[at + 4..at + 4 + len]);
        at += 4 + len;
        count += 1;
    }
    count
}

fn bench(c: &mut Criterion) {
    let payloads = payloads();
    let record_bytes: usize = payloads.iter().map(|p| p.len() + 21).sum();
    let mut group = c.benchmark_group("capture");
    group.sample_size(20);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    write_orderwire(&payloads, &mut ours);
    write_peer(&payloads, &mut theirs);
    assert_eq!(read_all(&ours).expect("opens").records.len(), RECORDS);
    assert_eq!(read_peer(&theirs), RECORDS);
    assert_eq!(read_orderwire(&ours), RECORDS);
    group.bench_function("write_orderwire", |b| {
        b.iter(|| write_orderwire(&payloads, &mut ours))
    });
    group.bench_function("write_zstd_stream", |b| {
        b.iter(|| write_peer(&payloads, &mut theirs))
    });
    group.bench_function("read_orderwire", |b| {
        b.iter(|| read_orderwire(black_box(&ours)))
    });
    group.bench_function("read_zstd_stream", |b| {
        b.iter(|| read_peer(black_box(&theirs)))
    });
    group.finish();
    for (what, peer) in [("write", "zstd_stream"), ("read", "zstd_stream")] {
        let (Some(own), Some(other)) = (
            criterion_median_ns("capture", what, "orderwire"),
            criterion_median_ns("capture", what, peer),
        ) else {
            continue;
        };
        let per_second = |ns: f64| RECORDS as f64 / (ns / 1e9);
        let mb_per_second = |ns: f64| record_bytes as f64 / (ns / 1e9) / 1e6;
        println!(
            "capture {what}: orderwire {:.2} M records/s, {:.0} MB/s; {peer} {:.2} M records/s, {:.0} MB/s; ratio {:.2}x",
            per_second(own) / 1e6,
            mb_per_second(own),
            per_second(other) / 1e6,
            mb_per_second(other),
            other / own
        );
    }
    println!(
        "capture files: {RECORDS} records, {} bytes of records; orderwire {} bytes, zstd stream {} bytes",
        record_bytes,
        ours.len(),
        theirs.len()
    );
    hand_over_cost();
    let file = trade_session(messages());
    replay_speed(&file);
    export_speed(&file);
}

fn messages() -> usize {
    std::env::var("ORDERWIRE_REPLAY_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// Export speed (issue 25): the same capture's rows written as
/// Hive-partitioned Parquet (`orderwire export --parquet`: decode, rows,
/// decimal128 columns, zstd), beside its peer in the same run: the same
/// capture decoded to JSON lines (`orderwire decode`). Rows/s; three runs
/// each, alternating; the median.
fn export_speed(file: &[u8]) {
    let venues = orderwire::venues::Venues::builtin();
    let dir = std::env::temp_dir().join(format!("orderwire-bench-export-{}", std::process::id()));
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut rows = 0;
    let mut bytes = 0;
    let mut split = Vec::new();
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(&dir);
        let started = std::time::Instant::now();
        let extract = orderwire::export::extract(&venues, file, false).expect("reads");
        let extracted = started.elapsed().as_secs_f64();
        let files = orderwire::export::write_parquet(&extract, &dir, false).expect("writes");
        ours.push(started.elapsed().as_secs_f64());
        split.push((extracted, started.elapsed().as_secs_f64() - extracted));
        rows = files.iter().map(|f| f.rows).sum::<usize>();
        bytes = files
            .iter()
            .map(|f| std::fs::metadata(&f.path).map_or(0, |m| m.len()))
            .sum::<u64>();
        let started = std::time::Instant::now();
        let mut lines = Vec::with_capacity(file.len() * 2);
        let (frames, errors) =
            orderwire::decode::run_capture(&venues, None, 10, file, &mut lines).expect("decodes");
        theirs.push(started.elapsed().as_secs_f64());
        assert_eq!(errors, 0);
        assert_eq!(frames, rows);
    }
    let _ = std::fs::remove_dir_all(&dir);
    split.sort_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)));
    ours.sort_by(f64::total_cmp);
    theirs.sort_by(f64::total_cmp);
    let (ours, theirs) = (ours[1], theirs[1]);
    println!(
        "export: of which decoding into rows {:.2} s, the Parquet files {:.2} s",
        split[1].0, split[1].1
    );
    println!(
        "export: {rows} rows to Parquet ({bytes} bytes): {:.2} M rows/s ({:.2} s); decode to JSON lines {:.2} M rows/s ({:.2} s); ratio {:.2}x",
        rows as f64 / ours / 1e6,
        ours,
        rows as f64 / theirs / 1e6,
        theirs,
        theirs / ours
    );
}

/// A capture of a Kraken trade session of `messages` messages, one trade
/// each, a millisecond apart.
fn trade_session(messages: usize) -> Vec<u8> {
    use orderwire_engine::gateway::{GatewayConfig, GatewayCore};
    use orderwire_protocol::time::Instant;
    use orderwire_protocol::venue::kraken::Kraken;
    let header =
        GatewayCore::new(Kraken::public(), GatewayConfig::default()).capture_header(Instant(0));
    let mut file = Vec::new();
    let mut writer = CaptureWriter::new(&header, &mut file).expect("a header");
    let mut frame = Vec::new();
    writer
        .push(
            &Record {
                mono_ns: 1,
                wall_ns: 1_696_613_755_000_000_000,
                body: RecordBody::Connect { attempt: 0 },
            },
            &mut file,
        )
        .expect("a record");
    for n in 0..messages {
        frame.clear();
        write!(
            frame,
            r#"{{"channel":"trade","type":"update","data":[{{"symbol":"BTC/USD","side":"{}","price":26500.{},"qty":0.{:04},"ord_type":"limit","trade_id":{},"timestamp":"2023-10-06T17:35:55.{:06}Z"}}]}}"#,
            if n % 2 == 0 { "buy" } else { "sell" },
            n % 97,
            1 + n % 9_999,
            4_000_000 + n,
            n % 1_000_000
        )
        .expect("a Vec");
        let at = 1_000 + n as u64 * 1_000;
        writer
            .push(
                &Record {
                    mono_ns: at,
                    wall_ns: 1_696_613_755_000_000_000 + i64::try_from(at).expect("small"),
                    body: RecordBody::FrameIn {
                        kind: FrameType::Text,
                        received_ns: at,
                        payload: &frame,
                    },
                },
                &mut file,
            )
            .expect("a record");
    }
    writer.finish(0, &mut file).expect("finishes");
    file
}

/// Replay speed (issue 25): a capture of a 1,000,000-message Kraken trade
/// session replayed through `Replayer` (the codec and the gateway core, in
/// virtual time), beside its peer in the same run: the same frames read
/// from the same file and decoded by the codec alone, as `orderwire
/// decode` does. Three runs each, alternating; the median.
fn replay_speed(file: &[u8]) {
    use orderwire_engine::gateway::Outputs;
    use orderwire_engine::gateway::replay::Replayer;
    use orderwire_protocol::model::Events;
    use orderwire_protocol::venue::kraken::Kraken;
    use orderwire_protocol::venue::{FrameKind, Offline};

    let messages = messages();
    let replay = |file: &[u8]| -> (usize, std::time::Duration) {
        let started = std::time::Instant::now();
        let (header, mut reader) = CaptureReader::open(file).expect("opens");
        let mut replayer = Replayer::new(Kraken::public(), &header).expect("a replayer");
        let mut outputs = Outputs::default();
        let mut events = 0;
        while let Some(records) = reader.next_block().expect("whole") {
            for record in records {
                replayer
                    .feed(&record.expect("a record"), &mut outputs)
                    .expect("replays");
                events += outputs.events.len();
                outputs.clear();
            }
        }
        replayer.finish().expect("no frame left");
        (events, started.elapsed())
    };
    let decode = |file: &[u8]| -> (usize, std::time::Duration) {
        let started = std::time::Instant::now();
        let (_, mut reader) = CaptureReader::open(file).expect("opens");
        let mut codec = Kraken::public();
        let mut offline = Offline::new(0);
        let mut events = Events::default();
        let mut message = Vec::new();
        let mut count = 0;
        while let Some(records) = reader.next_block().expect("whole") {
            for record in records {
                if let RecordBody::FrameIn { payload, .. } = record.expect("a record").body {
                    message.clear();
                    message.extend_from_slice(payload);
                    events.clear();
                    offline
                        .decode(&mut codec, FrameKind::Text, &mut message, &mut events)
                        .expect("decodes");
                    count += events.list.len();
                }
            }
        }
        (count, started.elapsed())
    };
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..3 {
        let (events, took) = replay(file);
        assert!(events >= messages, "{events} events");
        ours.push(took.as_secs_f64());
        let (decoded, took) = decode(file);
        assert_eq!(decoded, messages);
        theirs.push(took.as_secs_f64());
    }
    ours.sort_by(f64::total_cmp);
    theirs.sort_by(f64::total_cmp);
    let (ours, theirs) = (ours[1], theirs[1]);
    println!(
        "replay: {messages} messages ({} bytes of capture): Replayer (codec + gateway core) {:.2} M messages/s ({:.2} s); decode alone {:.2} M messages/s ({:.2} s); the core costs {:.2}x the decode's time",
        file.len(),
        messages as f64 / ours / 1e6,
        ours,
        messages as f64 / theirs / 1e6,
        theirs,
        ours / theirs
    );
}

const CALLS: usize = 200_000;

fn percentiles(name: &str, hist: &hdrhistogram::Histogram<u64>) {
    println!(
        "capture record {name}: p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999),
        hist.max()
    );
}

fn timed(mut call: impl FnMut(usize)) -> hdrhistogram::Histogram<u64> {
    let mut hist = hdrhistogram::Histogram::<u64>::new(3).expect("a histogram");
    for n in 0..CALLS {
        let start = std::time::Instant::now();
        call(n);
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        hist.saturating_record(ns.max(1));
    }
    hist
}

fn hand_over_cost() {
    use orderwire_engine::capture::{CaptureConfig, CaptureSink};
    let payload = payloads()[0].clone();
    let path = std::env::temp_dir().join(format!("orderwire-bench-{}.owcap", std::process::id()));
    let sink = CaptureSink::start(&CaptureConfig::new(&path), header()).expect("a temp file");
    let floor = timed(|n| {
        black_box(n);
    });
    let ours = timed(|n| sink.record(&record(n, &payload)));
    let dropped = sink.dropped();
    let trailer = sink.finish().expect("finishes");
    let (to_writer, from_sink) = crossbeam_channel::bounded::<Vec<u8>>(65_536);
    let drain = std::thread::spawn(move || {
        let mut bytes = 0usize;
        while let Ok(buffer) = from_sink.recv() {
            bytes += buffer.len();
        }
        bytes
    });
    let theirs = timed(|_| {
        let _ = to_writer.try_send(black_box(payload.clone()));
    });
    drop(to_writer);
    black_box(drain.join().expect("drains"));
    percentiles("clock floor", &floor);
    percentiles("orderwire CaptureSink::record", &ours);
    percentiles("peer: allocated copy on a bounded channel", &theirs);
    println!(
        "capture record: p50 ratio {:.2}x (peer over orderwire); {} written, {} dropped (drop and count)",
        theirs.value_at_quantile(0.5) as f64 / ours.value_at_quantile(0.5) as f64,
        trailer.records,
        dropped
    );
    let _ = std::fs::remove_file(&path);
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
