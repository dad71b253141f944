//! `orderwire decode` on a capture file (docs/capture.md): the received
//! frames of the capture print exactly what the same messages print as a
//! line file, with the venue taken from the capture's header; damage
//! prints everything before it and then an error event.

use std::process::Command;

use orderwire_protocol::capture::{CaptureWriter, FrameType, Header, Record, RecordBody};

const SESSION: &str = include_str!("fixtures/kraken_session.txt");

/// The session's lines that are messages (a `b64:` line as its binary
/// payload), without the line whose base64 is bad: a capture holds frames,
/// not lines.
fn lines() -> Vec<&'static str> {
    use base64::Engine as _;
    SESSION
        .lines()
        .filter(|l| !l.is_empty())
        .filter(|l| {
            l.strip_prefix("b64:").is_none_or(|encoded| {
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .is_ok()
            })
        })
        .collect()
}

fn frame(line: &str) -> (FrameType, Vec<u8>) {
    use base64::Engine as _;
    match line.strip_prefix("b64:") {
        Some(encoded) => (
            FrameType::Binary,
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap(),
        ),
        None => (FrameType::Text, line.as_bytes().to_vec()),
    }
}

/// Error events name a line (`line 18:`) or a frame (`frame 18:`): the
/// same position, told the same way here.
fn positions_as_one(text: &str) -> String {
    text.replace("\"line ", "\"at ")
        .replace("\"frame ", "\"at ")
}

/// The session's lines as received frames, with an outbound frame, a
/// ping and a timer between them that decode must pass over.
fn capture(block_target: usize) -> Vec<u8> {
    let header = Header {
        venue: "kraken".to_owned(),
        codec_config: String::new(),
        rng_seed: 1,
        started_wall_ns: 1_695_305_707_000_000_000,
        started_mono_ns: 0,
    };
    let mut out = Vec::new();
    let mut writer = CaptureWriter::with_block_target(&header, block_target, &mut out).unwrap();
    let mut n = 0u64;
    let mut push = |body: RecordBody<'_>, out: &mut Vec<u8>| {
        n += 1;
        let record = Record {
            mono_ns: n * 1_000,
            wall_ns: 1_695_305_707_000_000_000 + i64::try_from(n).unwrap(),
            body,
        };
        writer.push(&record, out).unwrap();
    };
    push(
        RecordBody::FrameOut {
            kind: FrameType::Text,
            payload: br#"{"method":"ping","req_id":1}"#,
        },
        &mut out,
    );
    for line in lines() {
        let (kind, payload) = frame(line);
        push(
            RecordBody::FrameIn {
                received_ns: 0,
                kind,
                payload: &payload,
            },
            &mut out,
        );
        push(
            RecordBody::FrameIn {
                received_ns: 0,
                kind: FrameType::Ping,
                payload: b"",
            },
            &mut out,
        );
        push(
            RecordBody::Timer {
                timer: b"keepalive",
            },
            &mut out,
        );
    }
    writer.finish(0, &mut out).unwrap();
    out
}

fn decode_lines() -> String {
    let mut output = Vec::new();
    let text = lines().join("\n");
    orderwire::decode::run(
        &orderwire::venues::kraken::KRAKEN,
        10,
        &mut text.as_bytes(),
        &mut output,
    )
    .unwrap();
    positions_as_one(&String::from_utf8(output).unwrap())
}

#[test]
fn a_capture_decodes_as_its_lines_do_with_the_venue_from_its_header() {
    let file = capture(512);
    let mut output = Vec::new();
    let (frames, errors) = orderwire::decode::run_capture(
        &orderwire::venues::Venues::builtin(),
        None,
        10,
        &file,
        &mut output,
    )
    .unwrap();
    assert_eq!(
        positions_as_one(&String::from_utf8(output).unwrap()),
        decode_lines()
    );
    assert_eq!(frames, lines().len());
    assert!(errors > 0, "the session's own bad lines are errors");
}

#[test]
fn a_damaged_capture_prints_what_came_before_then_an_error() {
    let file = capture(512);
    let cut = &file[..file.len() / 2];
    let mut output = Vec::new();
    orderwire::decode::run_capture(
        &orderwire::venues::Venues::builtin(),
        None,
        10,
        cut,
        &mut output,
    )
    .unwrap();
    let text = positions_as_one(&String::from_utf8(output).unwrap());
    let printed: Vec<&str> = text.lines().collect();
    let (last, before) = printed.split_last().unwrap();
    assert!(
        decode_lines().starts_with(&(before.join("\n") + "\n")),
        "everything before the damage, as the lines print it"
    );
    let last: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(last["type"], "error");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .starts_with("capture: truncated at byte"),
        "{last}"
    );
}

#[test]
fn the_command_line_tells_a_capture_from_a_line_file() {
    let dir = std::env::temp_dir().join(format!("orderwire-decode-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("session.owcap");
    std::fs::write(&path, capture(4096)).unwrap();
    let binary = env!("CARGO_BIN_EXE_orderwire");
    // No --venue: the capture names it.
    let output = Command::new(binary)
        .arg("decode")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        positions_as_one(&String::from_utf8(output.stdout).unwrap()),
        decode_lines()
    );
    // A line file still needs one.
    let lines = dir.join("session.txt");
    std::fs::write(&lines, SESSION).unwrap();
    let refused = Command::new(binary)
        .arg("decode")
        .arg(&lines)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8(refused.stderr)
            .unwrap()
            .contains("--venue")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
