//! An exchange left in `Registry::global()` when the process exits closes
//! its connection with a close handshake (no `shutdown_all`). This test
//! has its own `main` (`harness = false`): it runs itself again as a child
//! process, whose main thread creates an exchange against a WebSocket
//! server here and returns; the server must then see a close frame.

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use orderwire::prelude::*;

const CHILD: &str = "ORDERWIRE_CLOSE_AT_EXIT_URL";

fn main() {
    match std::env::var(CHILD) {
        Ok(url) => child(&url),
        Err(_) => parent(),
    }
}

/// Connects through the global registry and returns from `main` with the
/// exchange still registered.
fn child(url: &str) {
    let config = ExchangeConfig::new(url);
    Registry::global()
        .create("left-open", || {
            Exchange::start("left-open", Kraken::public(), config)
        })
        .expect("the exchange starts");
    let exchange = Registry::global()
        .exchange("left-open")
        .expect("registered");
    exchange
        .wait_connected(Duration::from_secs(10))
        .expect("connected");
}

fn parent() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("ws://{}/", listener.local_addr().expect("its address"));
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the child connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("a read timeout");
        let mut ws = tungstenite::accept(stream).expect("a WebSocket handshake");
        loop {
            match ws.read() {
                Ok(tungstenite::Message::Close(frame)) => return Some(frame.map(|f| f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    });
    let status = Command::new(std::env::current_exe().expect("this test's path"))
        .env(CHILD, &url)
        .status()
        .expect("the child runs");
    assert!(status.success(), "the child failed: {status}");
    let close = server.join().expect("the server thread");
    assert_eq!(
        close,
        Some(Some(tungstenite::protocol::frame::coding::CloseCode::Away)),
        "a close frame (1001, going away) at exit, not a dropped socket"
    );
    println!("close_at_exit: ok");
}
