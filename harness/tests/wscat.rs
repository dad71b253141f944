//! `orderwire wscat` as a user runs it: the real binary, real sockets.
//! Lines in and messages out over wss:// against Python `websockets`; exit
//! status 0 after a clean close; exit 1 with one line on stderr for an
//! unknown CA and for each kind of bad handshake.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

use orderwire_testkit::{PeerServer, TestPki};

fn wscat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orderwire"))
}

#[test]
fn lines_out_messages_in_and_exit_zero_after_the_server_closes() {
    let pki = TestPki::new();
    let server = PeerServer::start("python3", "ws_echo_server.py", Some(&pki));
    let record = std::env::temp_dir().join(format!("orderwire-wscat-{}.owcap", std::process::id()));
    let mut child = wscat()
        .arg("wscat")
        .arg("--record")
        .arg(&record)
        .arg("--ca")
        .arg(&pki.ca_file)
        .args(["--header", "X-Test: secret-value"])
        .arg(format!("wss://localhost:{}/", server.port))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("orderwire runs");
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    for text in ["hello", "ünïcödé line", r#"{"token":"sekrit-wscat"}"#] {
        writeln!(stdin, "{text}").expect("write");
        line.clear();
        stdout.read_line(&mut line).expect("read");
        assert_eq!(line, format!("{text}\n"));
    }
    writeln!(stdin, "close:1000").expect("write");
    let status = child.wait().expect("exits");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(status.success(), "status {status}, stderr {stderr:?}");
    assert!(!stderr.contains("secret-value"));
    // `--record`: the session in order, and no header value in it.
    let bytes = std::fs::read(&record).expect("the capture");
    std::fs::remove_file(&record).expect("removed");
    assert!(!bytes.windows(12).any(|w| w == b"secret-value"));
    // A token in a line is redacted with the venues' secret keys.
    assert!(!bytes.windows(12).any(|w| w == b"sekrit-wscat"));
    let capture = orderwire_protocol::capture::read_all(&bytes).expect("opens");
    assert_eq!(capture.error, None);
    assert_eq!(capture.header.venue, "wscat");
    use orderwire_protocol::capture::RecordBody;
    let seen: Vec<String> = capture
        .records
        .iter()
        .map(|record| match record.get().body {
            RecordBody::Connect { .. } => "connect".to_owned(),
            RecordBody::FrameIn { payload, .. } => {
                format!("in {}", String::from_utf8_lossy(payload))
            }
            RecordBody::FrameOut { payload, .. } => {
                format!("out {}", String::from_utf8_lossy(payload))
            }
            RecordBody::Disconnect { .. } => "disconnect".to_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    // A line is recorded when it is handed to the engine, which may be
    // before the connection is up (the engine holds it until then).
    let connect = seen.iter().position(|s| s == "connect").expect("connect");
    assert!(connect <= 1, "{seen:?}");
    let mut seen = seen;
    seen.remove(connect);
    assert_eq!(
        seen,
        [
            "out hello",
            "in hello",
            "out ünïcödé line",
            "in ünïcödé line",
            r#"out {"token":"***"}"#,
            r#"in {"token":"***"}"#,
            "out close:1000",
            "disconnect"
        ]
    );
}

fn failure(output: Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    stderr
}

#[test]
fn a_certificate_from_an_unknown_ca_fails_with_one_line() {
    let (trusted, other) = (TestPki::new(), TestPki::new());
    let server = PeerServer::start("python3", "ws_echo_server.py", Some(&other));
    let output = wscat()
        .arg("wscat")
        .arg("--ca")
        .arg(&trusted.ca_file)
        .arg(format!("wss://localhost:{}/", server.port))
        .stdin(Stdio::null())
        .output()
        .expect("orderwire runs");
    let stderr = failure(output);
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
}

/// Serves one connection: reads the upgrade request, answers with
/// `respond(key)`, then holds the socket open until the client leaves.
fn scripted_server(respond: impl FnOnce(&str) -> String + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut key = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("sec-websocket-key:") {
                key = line[line.len() - value.len()..].trim().to_owned();
            }
        }
        let _ = stream.write_all(respond(&key).as_bytes());
        let mut sink = [0u8; 1024];
        while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
    });
    port
}

fn accept_for(key: &str) -> String {
    orderwire_protocol::ws::handshake::accept_for_key(key)
}

fn bad_handshake(respond: impl FnOnce(&str) -> String + Send + 'static) -> String {
    let port = scripted_server(respond);
    let output = wscat()
        .args(["wscat", "--timeout", "5"])
        .arg(format!("ws://127.0.0.1:{port}/"))
        .stdin(Stdio::null())
        .output()
        .expect("orderwire runs");
    failure(output)
}

#[test]
fn a_wrong_accept_key_fails_the_connection() {
    let stderr = bad_handshake(|_| {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            .into()
    });
    assert!(stderr.to_lowercase().contains("accept"), "{stderr}");
}

#[test]
fn status_200_fails_the_connection() {
    let stderr = bad_handshake(|_| "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".into());
    assert!(stderr.contains("200"), "{stderr}");
}

#[test]
fn a_missing_upgrade_header_fails_the_connection() {
    let stderr = bad_handshake(|key| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_for(key)
        )
    });
    assert!(stderr.to_lowercase().contains("upgrade"), "{stderr}");
}

#[test]
fn an_extension_that_was_not_offered_fails_the_connection() {
    let stderr = bad_handshake(|key| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
            accept_for(key)
        )
    });
    assert!(stderr.to_lowercase().contains("extension"), "{stderr}");
}
