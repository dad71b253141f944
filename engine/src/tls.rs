//! The rustls adapter: client configuration and the trust store.
//!
//! Everything the engine needs from rustls goes through this module and
//! `transport.rs`, because the rustls API still moves between releases.
//! Verification is always on: the roots are webpki-roots (Mozilla's list)
//! plus, optionally, the certificates of one PEM file (how the mocks and the
//! tests make their rcgen certificates trusted). The only way around it is
//! [`TlsConfig::dangerous_insecure_for_tests_only`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// The CA file could not be read or holds no certificate.
    #[error("CA file {path}: {reason}")]
    CaFile {
        /// The file named in the configuration.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A shareable client configuration; one serves every connection.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
    insecure: bool,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// The rustls client configuration, for a TLS connection the engine
    /// does not make (a venue's REST call: KIS's approval key).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// Trusts Mozilla's roots (webpki-roots).
    pub fn webpki_roots() -> Result<TlsConfig, TlsSetupError> {
        TlsConfig::with_roots(default_roots())
    }

    /// Trusts Mozilla's roots and every certificate in the PEM file `path`.
    pub fn with_extra_ca_file(path: &Path) -> Result<TlsConfig, TlsSetupError> {
        let mut roots = default_roots();
        let ca_error = |reason: String| TlsSetupError::CaFile {
            path: path.to_owned(),
            reason,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| ca_error(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ca_error(e.to_string()))?;
        if certs.is_empty() {
            return Err(ca_error("no certificate in the file".into()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| ca_error(format!("not a usable CA certificate: {e}")))?;
        }
        TlsConfig::with_roots(roots)
    }

    /// Accepts any certificate. For tests of code paths that do not concern
    /// TLS only; nothing in the engine or the CLI calls it.
    pub fn dangerous_insecure_for_tests_only() -> TlsConfig {
        let provider = Arc::new(ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            // ring's provider supports the default protocol versions.
            .expect("ring supports TLS 1.2 and 1.3")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
            .with_no_client_auth();
        TlsConfig {
            config: Arc::new(config),
            insecure: true,
        }
    }

    fn with_roots(roots: RootCertStore) -> Result<TlsConfig, TlsSetupError> {
        let provider = Arc::new(ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConfig {
            config: Arc::new(config),
            insecure: false,
        })
    }

    /// A client session for `host` (SNI and the name the certificate must
    /// carry).
    pub(crate) fn connect(&self, host: &str) -> Result<rustls::ClientConnection, rustls::Error> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| rustls::Error::General(format!("{host:?} is not a valid server name")))?;
        rustls::ClientConnection::new(self.config.clone(), name)
    }

    /// Whether this configuration skips certificate verification.
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }
}

fn default_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
