//! Test servers for the engine: a WebSocket server (tungstenite) behind
//! rustls with an rcgen certificate, scripted per connection, and helpers
//! to wait for engine events.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orderwire_engine::{Engine, EngineEvent};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tungstenite::{Message, WebSocket};

/// A CA, a server certificate it signed for `localhost` and 127.0.0.1, and
/// the CA's PEM in a file for `TlsConfig::with_extra_ca_file`.
pub struct TestPki {
    pub ca_file: PathBuf,
    /// The server's certificate and key as PEM files, for servers in other
    /// languages.
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub server: Arc<rustls::ServerConfig>,
}

static PKI_FILES: AtomicUsize = AtomicUsize::new(0);

impl TestPki {
    pub fn new() -> TestPki {
        let n = PKI_FILES.fetch_add(1, Ordering::Relaxed);
        let ca_key = KeyPair::generate().expect("key generation");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("orderwire test CA {n}"));
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");
        let leaf_key = KeyPair::generate().expect("key generation");
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("params");
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca)
            .expect("leaf certificate");
        let ca_file =
            std::env::temp_dir().join(format!("orderwire-test-ca-{}-{n}.pem", std::process::id()));
        std::fs::write(&ca_file, ca.pem()).expect("write CA file");
        let cert_file = ca_file.with_extension("cert.pem");
        let key_file = ca_file.with_extension("key.pem");
        std::fs::write(&cert_file, leaf.pem()).expect("write certificate");
        std::fs::write(&key_file, leaf_key.serialize_pem()).expect("write key");
        let chain = vec![CertificateDer::from(leaf.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
        TestPki {
            ca_file,
            cert_file,
            key_file,
            server: Arc::new(server),
        }
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        for file in [&self.ca_file, &self.cert_file, &self.key_file] {
            let _ = std::fs::remove_file(file);
        }
    }
}

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
}

/// A WebSocket server on 127.0.0.1, with TLS or without.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The text messages each connection received, in accept order.
    pub received: Arc<Mutex<Vec<Vec<String>>>>,
    pub accepted: Arc<AtomicUsize>,
}

impl TestServer {
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
    loop {
        let message = match ws.read() {
            Ok(message) => message,
            Err(_) => return,
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

/// Waits for the first event that `want` accepts, recycling message
/// buffers it skips; panics with the events seen if none comes in `within`.
pub fn wait_for<T>(
    engine: &Engine,
    within: Duration,
    mut want: impl FnMut(&EngineEvent) -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match engine.events().recv_timeout(left) {
            Ok(event) => {
                if let Some(found) = want(&event) {
                    if let EngineEvent::Message { data, .. } = event {
                        engine.recycle(data);
                    }
                    return found;
                }
                seen.push(format!("{event:?}"));
                if let EngineEvent::Message { data, .. } = event {
                    engine.recycle(data);
                }
            }
            Err(_) => panic!("no matching event within {within:?}; saw: {seen:#?}"),
        }
    }
}

/// How long a test waits for something that should take milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub fn io_error_kind(error: &io::Error) -> io::ErrorKind {
    error.kind()
}

/// A WebSocket echo server in another language (interop/ws_echo_server.*),
/// killed when dropped.
pub struct PeerServer {
    child: std::process::Child,
    pub port: u16,
}

impl PeerServer {
    /// `program` is `python3` or `node`; `script` is a file name in interop/.
    pub fn start(program: &str, script: &str, tls: Option<&TestPki>) -> PeerServer {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let path = format!("{}/../interop/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut command = Command::new(program);
        command.arg(&path).stdin(Stdio::piped()).stdout(Stdio::piped());
        if let Some(pki) = tls {
            command.arg("--tls").arg(&pki.cert_file).arg(&pki.key_file);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{program} {path}: {e} (.ci/run installs it)"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server prints its port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{program} {script} printed {line:?}, not a port"));
        PeerServer { child, port }
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
