//! The capture writer thread (issue 25): records handed to a `CaptureSink`
//! are in the file in order, with a trailer that counts what was dropped;
//! under `Block` nothing is dropped; under `DropAndCount` every record is
//! either in the file or counted.

use orderwire_engine::capture::{CaptureConfig, CaptureSink, WhenBehind};
use orderwire_protocol::capture::{FrameType, Header, OwnedRecord, Record, RecordBody, read_all};

fn header() -> Header {
    Header {
        venue: "kraken".to_owned(),
        codec_config: "tier=starter".to_owned(),
        rng_seed: 9,
        started_wall_ns: 1_700_000_000_000_000_000,
        started_mono_ns: 0,
    }
}

fn payload(n: u64) -> Vec<u8> {
    format!(r#"{{"channel":"heartbeat","n":{n}}}"#).into_bytes()
}

fn record(n: u64, payload: &[u8]) -> Record<'_> {
    Record {
        mono_ns: n,
        wall_ns: 1_700_000_000_000_000_000 + i64::try_from(n).unwrap(),
        body: if n % 3 == 0 {
            RecordBody::FrameOut {
                kind: FrameType::Text,
                payload,
            }
        } else {
            RecordBody::FrameIn {
                received_ns: 0,
                kind: FrameType::Text,
                payload,
            }
        },
    }
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("orderwire-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn blocking_capture_keeps_every_record_in_order() {
    let path = temp("block.owcap");
    let mut config = CaptureConfig::new(&path);
    config.when_behind = WhenBehind::Block;
    config.queue = 4;
    let sink = CaptureSink::start(&config, header()).unwrap();
    let payloads: Vec<Vec<u8>> = (0..5_000).map(payload).collect();
    for (n, bytes) in (0u64..).zip(&payloads) {
        sink.record(&record(n, bytes));
    }
    assert_eq!(sink.dropped(), 0);
    let trailer = sink.finish().unwrap();
    assert_eq!((trailer.records, trailer.dropped), (5_000, 0));
    let capture = read_all(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(capture.error, None);
    assert_eq!(capture.header, header());
    let expected: Vec<OwnedRecord> = (0u64..)
        .zip(&payloads)
        .map(|(n, bytes)| OwnedRecord::new(&record(n, bytes)).unwrap())
        .collect();
    assert_eq!(capture.records, expected);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn dropping_capture_counts_every_record_it_did_not_write() {
    let path = temp("drop.owcap");
    let mut config = CaptureConfig::new(&path);
    config.queue = 2;
    let sink = CaptureSink::start(&config, header()).unwrap();
    let payloads: Vec<Vec<u8>> = (0..20_000).map(payload).collect();
    for (n, bytes) in (0u64..).zip(&payloads) {
        sink.record(&record(n, bytes));
    }
    let dropped = sink.dropped();
    let trailer = sink.finish().unwrap();
    assert_eq!(trailer.dropped, dropped, "the trailer says what was lost");
    let capture = read_all(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(capture.error, None);
    assert_eq!(
        capture.records.len() as u64 + dropped,
        20_000,
        "written or counted, never both, never neither"
    );
    // What was written is in order: mono times only grow.
    let times: Vec<u64> = capture.records.iter().map(|r| r.get().mono_ns).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_sink_dropped_without_finish_still_ends_its_file() {
    let path = temp("dropped-sink.owcap");
    {
        let sink = CaptureSink::start(&CaptureConfig::new(&path), header()).unwrap();
        sink.record(&record(1, b"one"));
        sink.flush();
    }
    let capture = read_all(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(capture.error, None);
    assert_eq!(capture.trailer.map(|t| t.records), Some(1));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_capture_that_cannot_be_created_says_where() {
    let error = CaptureSink::start(
        &CaptureConfig::new("/nonexistent/dir/session.owcap"),
        header(),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/dir/session.owcap"),
        "{error}"
    );
}

#[test]
fn a_rotating_capture_splits_at_blocks_and_loses_nothing() {
    use orderwire_engine::capture::{Rotate, segment_path};
    let path = temp("rotate.owcap");
    let mut config = CaptureConfig::new(&path);
    config.when_behind = WhenBehind::Block;
    // Blocks close at 64 KiB of records: a file a block or two long.
    config.rotate = Rotate {
        max_bytes: Some(1),
        max_age: None,
    };
    let sink = CaptureSink::start(&config, header()).unwrap();
    let payloads: Vec<Vec<u8>> = (0..20_000).map(payload).collect();
    for (n, bytes) in (0u64..).zip(&payloads) {
        sink.record(&record(n, bytes));
    }
    let trailer = sink.finish().unwrap();
    assert_eq!((trailer.records, trailer.dropped), (20_000, 0));
    let mut read = Vec::new();
    let mut files = 0;
    while let Ok(bytes) = std::fs::read(segment_path(&path, files)) {
        let capture = read_all(&bytes).unwrap();
        assert_eq!(capture.error, None, "file {files}");
        let file_trailer = capture.trailer.unwrap();
        assert_eq!(file_trailer.records, capture.records.len() as u64);
        if files > 0 {
            assert!(
                capture
                    .header
                    .codec_config
                    .contains(&format!("capture.segment={files}")),
                "{:?}",
                capture.header
            );
        }
        read.extend(capture.records);
        std::fs::remove_file(segment_path(&path, files)).unwrap();
        files += 1;
    }
    assert!(files > 2, "{files} files");
    let expected: Vec<OwnedRecord> = (0u64..)
        .zip(&payloads)
        .map(|(n, bytes)| OwnedRecord::new(&record(n, bytes)).unwrap())
        .collect();
    assert_eq!(read, expected);
    assert_eq!(
        segment_path(std::path::Path::new("/x/a.owcap"), 2),
        std::path::Path::new("/x/a.2.owcap")
    );
}

#[test]
fn a_capture_rotates_by_the_records_own_age() {
    use orderwire_engine::capture::{Rotate, segment_path};
    let path = temp("age.owcap");
    let mut config = CaptureConfig::new(&path);
    config.when_behind = WhenBehind::Block;
    config.rotate = Rotate {
        max_bytes: None,
        // The records are 1 ns apart: a file holds about a block.
        max_age: Some(std::time::Duration::from_nanos(1_000)),
    };
    let sink = CaptureSink::start(&config, header()).unwrap();
    let payloads: Vec<Vec<u8>> = (0..5_000).map(payload).collect();
    for (n, bytes) in (0u64..).zip(&payloads) {
        sink.record(&record(n, bytes));
    }
    assert_eq!(sink.finish().unwrap().records, 5_000);
    let mut total = 0;
    let mut files = 0;
    while let Ok(bytes) = std::fs::read(segment_path(&path, files)) {
        total += read_all(&bytes).unwrap().records.len();
        std::fs::remove_file(segment_path(&path, files)).unwrap();
        files += 1;
    }
    assert_eq!(total, 5_000);
    assert!(files >= 2, "{files} files");
}
