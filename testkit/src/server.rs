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
    /// After the handshake, send these text messages and drop the TCP
    /// connection at once (no close frame): the end arrives right behind
    /// the data, often in the same read.
    SendThenDrop(Vec<String>),
    /// Accept TCP and never answer the WebSocket handshake.
    NeverHandshake,
    /// Complete the handshake, answer pings, send nothing.
    Silent,
    /// Complete the handshake, then read and ignore every byte: no pong, no
    /// answer to a close.
    Deaf,
    /// As `Deaf`, but the reader never blocks in `recv`: it drains the
    /// socket without waiting, then sleeps a millisecond on a timer. A
    /// loopback receiver blocked in `recv` makes every write that reaches
    /// it wake it, a cross-core wake-up the writer pays inside its `send`
    /// (10-20 us on a VM) that no NIC charges; benchmarks that stamp the
    /// write use this sink. ws:// only (over TLS it behaves as `Deaf`).
    Drain,
    /// Answer each text message with what the function makes of it (a
    /// venue's ack, for a benchmark's replies); nothing for `None`. Not
    /// logged in `received`.
    Answer(fn(&str) -> Option<String>),
    /// After the handshake, send `first`, then `each` at `per_second`
    /// messages a second (paced by elapsed time, a few per wake-up), and
    /// read and ignore everything the client sends. ws:// only (the
    /// writer and the reader share the socket); over TLS it closes.
    Stream(Arc<StreamScript>),
}

/// What [`Script::Stream`] sends.
#[derive(Debug)]
pub struct StreamScript {
    /// Sent once, in order, first.
    pub first: Vec<String>,
    /// Sent again and again.
    pub each: String,
    /// How many `each` a second.
    pub per_second: u64,
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
    /// A second handle on the plain socket (None over TLS).
    fn plain_clone(&self) -> Option<TcpStream>;
}

impl Shutdown for TcpStream {
    fn kill(&mut self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
    fn plain_clone(&self) -> Option<TcpStream> {
        self.try_clone().ok()
    }
}

impl Shutdown for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn kill(&mut self) {
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
    fn plain_clone(&self) -> Option<TcpStream> {
        None
    }
}

/// Reads and drops whatever arrives on a non-blocking socket, sleeping a
/// millisecond whenever there is nothing (see [`Script::Drain`]), until the
/// end or an error.
fn drain_on_a_timer(mut socket: TcpStream) {
    let mut sink = vec![0u8; 1 << 16];
    loop {
        match socket.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// `write_all` on a non-blocking socket: waits out a full send buffer.
fn write_all_nonblocking(out: &mut TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match out.write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One unmasked server text frame.
fn write_text_frame(out: &mut TcpStream, text: &str) -> std::io::Result<()> {
    let len = text.len();
    let mut header = Vec::with_capacity(10);
    header.push(0x81);
    match len {
        0..=125 => header.push(u8::try_from(len).unwrap_or(125)),
        126..=65535 => {
            header.push(126);
            header.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
        }
        _ => {
            header.push(127);
            header.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    write_all_nonblocking(out, &header)?;
    write_all_nonblocking(out, text.as_bytes())
}

/// [`Script::Stream`] on an open connection.
fn stream_messages<S: Read + Write + Shutdown + Send + 'static>(
    ws: WebSocket<S>,
    script: &StreamScript,
) {
    let Some(mut out) = ws.get_ref().plain_clone() else {
        return;
    };
    // The client's frames are drained on a timer, never waited for (see
    // `Script::Drain`): the socket turns non-blocking for both sides.
    drop(ws);
    let (Ok(()), Ok(reader)) = (out.set_nonblocking(true), out.try_clone()) else {
        return;
    };
    std::thread::spawn(move || drain_on_a_timer(reader));
    for text in &script.first {
        if write_text_frame(&mut out, text).is_err() {
            return;
        }
    }
    let start = std::time::Instant::now();
    let mut sent = 0u64;
    loop {
        let due = u64::try_from(
            start.elapsed().as_nanos() * u128::from(script.per_second) / 1_000_000_000,
        )
        .unwrap_or(u64::MAX);
        while sent < due {
            if write_text_frame(&mut out, &script.each).is_err() {
                return;
            }
            sent += 1;
        }
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
}

fn serve<S: Read + Write + Shutdown + Send + 'static>(
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
    if let Script::SendThenDrop(texts) = &script {
        for text in texts {
            if ws.write(Message::text(text.clone())).is_err() {
                return;
            }
        }
        let _ = ws.flush();
        return kill(&mut ws);
    }
    if let Script::Stream(spec) = &script {
        return stream_messages(ws, spec);
    }
    if let Script::Drain = script {
        if let Some(raw) = ws.get_ref().plain_clone() {
            if raw.set_nonblocking(true).is_ok() {
                return drain_on_a_timer(raw);
            }
        }
    }
    if matches!(script, Script::Deaf | Script::Drain) {
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
