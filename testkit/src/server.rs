//! A scripted WebSocket server on 127.0.0.1 (tungstenite, with rustls or
//! without), one thread per connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tungstenite::{Message, WebSocket};

/// What the server does on each accepted connection (by accept order; the
/// last entry repeats).
#[derive(Clone, Debug)]
pub enum Script {
    /// Echo every message back as it came.
    Echo,
    /// Echo `n` messages, then drop the TCP connection (no close frame) on
    /// the next one.
    EchoThenKill(usize),
    /// After the handshake, send a close frame with this code.
    CloseAfterHandshake(u16),
    /// Accept TCP and never answer the WebSocket handshake.
    NeverHandshake,
    /// Complete the handshake, answer pings, send nothing.
    Silent,
    /// Complete the handshake, then read and ignore every byte: no pong, no
    /// answer to a close.
    Deaf,
    /// Answer each text message with what the function makes of it (a
    /// venue's ack, for a benchmark's replies); nothing for `None`. Not
    /// logged in `received`.
    Answer(fn(&str) -> Option<String>),
}

/// A WebSocket server on 127.0.0.1, with TLS or without.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The text messages each connection received, in accept order.
    pub received: Arc<Mutex<Vec<Vec<String>>>>,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
}

impl TestServer {
    /// Listens on a free port; connection `i` follows `scripts[i]` (the last
    /// script repeats).
    pub fn start(tls: Option<Arc<rustls::ServerConfig>>, scripts: Vec<Script>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (log, count) = (received.clone(), accepted.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let index = count.fetch_add(1, Ordering::SeqCst);
                let script = scripts[index.min(scripts.len() - 1)].clone();
                let log = log.clone();
                log.lock().expect("log").push(Vec::new());
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    match tls {
                        Some(config) => {
                            let Ok(session) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(
                                rustls::StreamOwned::new(session, stream),
                                script,
                                index,
                                log,
                            );
                        }
                        None => serve(stream, script, index, log),
                    }
                });
            }
        });
        TestServer {
            addr,
            received,
            accepted,
        }
    }

    /// `<scheme>://localhost:<port>/ws`.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://localhost:{}/ws", self.addr.port())
    }

    /// The messages connection `index` received so far.
    pub fn received_on(&self, index: usize) -> Vec<String> {
        self.received
            .lock()
            .expect("log")
            .get(index)
            .cloned()
            .unwrap_or_default()
    }
}

trait Shutdown {
    fn kill(&mut self);
}

impl Shutdown for TcpStream {
    fn kill(&mut self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
}

impl Shutdown for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn kill(&mut self) {
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

fn serve<S: Read + Write + Shutdown>(
    mut stream: S,
    script: Script,
    index: usize,
    log: Arc<Mutex<Vec<Vec<String>>>>,
) {
    if let Script::NeverHandshake = script {
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        return;
    }
    let Ok(mut ws) = tungstenite::accept(stream) else {
        return;
    };
    if let Script::Deaf = script {
        let mut sink = [0u8; 4096];
        while matches!(ws.get_mut().read(&mut sink), Ok(n) if n > 0) {}
        return;
    }
    let mut echoed = 0usize;
    if let Script::CloseAfterHandshake(code) = script {
        let _ = ws.close(Some(tungstenite::protocol::CloseFrame {
            code: code.into(),
            reason: "bye".into(),
        }));
        // Drive the close handshake to its end.
        while ws.read().is_ok() {}
        return;
    }
    if let Script::Answer(answer) = script {
        while let Ok(message) = ws.read() {
            let reply = match &message {
                Message::Text(text) => answer(text.as_str()),
                _ => None,
            };
            if let Some(reply) = reply {
                if ws.send(Message::text(reply)).is_err() {
                    return;
                }
            }
        }
        return;
    }
    loop {
        let Ok(message) = ws.read() else {
            return;
        };
        if let Message::Text(text) = &message {
            log.lock().expect("log")[index].push(text.to_string());
        }
        if !(message.is_text() || message.is_binary()) {
            continue;
        }
        match script {
            Script::Silent => continue,
            Script::EchoThenKill(n) if echoed >= n => {
                kill(&mut ws);
                return;
            }
            _ => {}
        }
        if ws.send(message).is_err() {
            return;
        }
        echoed += 1;
    }
}

fn kill<S: Read + Write + Shutdown>(ws: &mut WebSocket<S>) {
    ws.get_mut().kill();
}
