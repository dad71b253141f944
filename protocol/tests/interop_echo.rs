//! Interop over loopback with WebSocket servers we did not write: a
//! tungstenite server thread, and Python `websockets` with permessage-deflate
//! off and on. Messages from 0 bytes to 1 MiB, fragmented both ways, ping and
//! pong, and close codes from either side.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use orderwire_protocol::ws::{Config, DeflateConfig};
use support::blocking::{BlockingClient, Received};
use tungstenite::Message;
use tungstenite::protocol::CloseFrame;

const SIZES: [usize; 8] = [0, 1, 125, 126, 65_535, 65_536, 300_000, 1 << 20];

fn payload(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

/// Echo of every size, text and binary, then ping/pong and our close.
fn echo_scenario(url: &str, config: Config) {
    let mut client = BlockingClient::connect(url, config, 11).expect("connect");
    for len in SIZES {
        let text = payload(len);
        client.send_text(&text).unwrap();
        assert_eq!(
            client.next_message().unwrap(),
            Received::Text(text.clone()),
            "text of {len} bytes"
        );
        let binary: Vec<u8> = text.bytes().map(|b| b ^ 0x80).collect();
        client.send_binary(&binary).unwrap();
        assert_eq!(
            client.next_message().unwrap(),
            Received::Binary(binary),
            "binary of {len} bytes"
        );
    }
    let text = "κόσμε".repeat(1000);
    client.send_text(&text).unwrap();
    assert_eq!(client.next_message().unwrap(), Received::Text(text));
    client.ping(b"are you there").unwrap();
    assert_eq!(
        client.next().unwrap(),
        Received::Pong(b"are you there".to_vec())
    );
    client.close(1000, "done").unwrap();
    assert_eq!(
        client.next().unwrap(),
        Received::Closed {
            code: Some(1000),
            reason: "done".into(),
            by_peer: false
        }
    );
    assert_eq!(
        client.next().unwrap(),
        Received::Eof,
        "the server closes TCP after the handshake"
    );
}

/// The server closes with 4001 "bye"; we echo 4001.
fn server_close_scenario(url: &str) {
    let mut client = BlockingClient::connect(url, Config::default(), 12).unwrap();
    client.send_text("close:4001").unwrap();
    assert_eq!(
        client.next_message().unwrap(),
        Received::Closed {
            code: Some(4001),
            reason: "bye".into(),
            by_peer: true
        }
    );
}

fn fragmented_config() -> Config {
    Config {
        max_send_frame_payload: Some(1000),
        ..Config::default()
    }
}

// ---- tungstenite ----

fn tungstenite_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let mut ws = tungstenite::accept(stream).expect("handshake");
                loop {
                    match ws.read() {
                        Ok(Message::Text(t)) if t.as_str().starts_with("close:") => {
                            let code: u16 = t.as_str()[6..].parse().unwrap();
                            ws.close(Some(CloseFrame {
                                code: code.into(),
                                reason: "bye".into(),
                            }))
                            .unwrap();
                        }
                        Ok(m @ (Message::Text(_) | Message::Binary(_))) => ws.send(m).unwrap(),
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            });
        }
    });
    format!("ws://127.0.0.1:{port}/")
}

#[test]
fn tungstenite_echo() {
    let url = tungstenite_server();
    echo_scenario(&url, Config::default());
    echo_scenario(&url, fragmented_config());
    server_close_scenario(&url);
}

// ---- Python websockets ----

struct PythonServer {
    child: Child,
    url: String,
}

impl PythonServer {
    fn start(deflate: bool) -> PythonServer {
        let python = orderwire_testkit::peers::python();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/ws_echo_server.py");
        let mut command = Command::new(&python);
        command
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if deflate {
            command.arg("--deflate");
        }
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e}; run `{}`",
                python.display(),
                orderwire_testkit::peers::INSTALL
            )
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "the Python server did not start (run `{}`): {line:?}",
                orderwire_testkit::peers::INSTALL
            )
        });
        PythonServer {
            child,
            url: format!("ws://127.0.0.1:{port}/"),
        }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_scenarios(server: &PythonServer, config: Config) {
    echo_scenario(&server.url, config.clone());
    echo_scenario(
        &server.url,
        Config {
            max_send_frame_payload: Some(1000),
            ..config.clone()
        },
    );
    server_close_scenario(&server.url);

    let mut client = BlockingClient::connect(&server.url, config, 13).unwrap();
    // The server fragments its reply.
    let text = "fragmented κόσμε ".repeat(100);
    client.send_text(&format!("frag:7:{text}")).unwrap();
    assert_eq!(client.next_message().unwrap(), Received::Text(text));
    // The server pings; our automatic pong releases its reply.
    client.send_text("ping-me").unwrap();
    assert_eq!(
        client.next().unwrap(),
        Received::Ping(b"from-python".to_vec())
    );
    assert_eq!(
        client.next().unwrap(),
        Received::Text("pong-received".into())
    );
}

#[test]
fn python_websockets_echo_without_deflate() {
    let server = PythonServer::start(false);
    python_scenarios(&server, Config::default());
}

#[test]
fn python_websockets_echo_with_deflate() {
    let server = PythonServer::start(true);
    let config = Config {
        deflate: Some(DeflateConfig::default()),
        ..Config::default()
    };
    let client = BlockingClient::connect(&server.url, config.clone(), 14).unwrap();
    let params = *client
        .conn
        .deflate()
        .expect("websockets accepts permessage-deflate");
    // websockets picks 12-bit windows: our deflater must honour them.
    assert_eq!(
        (params.client_max_window_bits, params.server_max_window_bits),
        (12, 12)
    );
    drop(client);
    python_scenarios(&server, config.clone());
    let no_takeover = DeflateConfig {
        client_no_context_takeover: true,
        server_no_context_takeover: true,
        compression_threshold: 0,
        ..DeflateConfig::default()
    };
    python_scenarios(
        &server,
        Config {
            deflate: Some(no_takeover),
            ..config
        },
    );
}
