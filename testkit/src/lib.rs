//! Fixtures for orderwire's tests: a throwaway PKI made with rcgen, and the
//! WebSocket echo servers in other languages under `interop/`.
#![deny(unsafe_code)]

pub mod alloc;
pub mod autobahn;
pub mod peers;
pub mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA, a server certificate it signed for `localhost` and 127.0.0.1, and
/// the CA's PEM in a file for `TlsConfig::with_extra_ca_file`.
#[derive(Debug)]
pub struct TestPki {
    /// The CA certificate (PEM), for `TlsConfig::with_extra_ca_file`.
    pub ca_file: PathBuf,
    /// The server's certificate and key as PEM files, for servers in other
    /// languages.
    pub cert_file: PathBuf,
    /// See `cert_file`.
    pub key_file: PathBuf,
    /// A rustls server configuration with the server certificate.
    pub server: Arc<rustls::ServerConfig>,
}

static PKI_FILES: AtomicUsize = AtomicUsize::new(0);

impl TestPki {
    /// A fresh CA (with a unique name) and server certificate.
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

impl Default for TestPki {
    fn default() -> Self {
        TestPki::new()
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        for file in [&self.ca_file, &self.cert_file, &self.key_file] {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// A WebSocket echo server in another language (interop/ws_echo_server.*),
/// killed when dropped.
pub struct PeerServer {
    child: std::process::Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl PeerServer {
    /// `program` is `python3` or `node`; `script` is a file name in interop/.
    pub fn start(program: &str, script: &str, tls: Option<&TestPki>) -> PeerServer {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let path = format!(
            "{}/interop/{script}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/..")
        );
        let mut command = Command::new(peers::program(program));
        command
            .arg(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(pki) = tls {
            command.arg("--tls").arg(&pki.cert_file).arg(&pki.key_file);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{program} {path}: {e} (run `{}`)", peers::INSTALL));
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
