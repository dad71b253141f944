//! Credentials from the environment or a `.env` file, by the names the
//! config gives. The `.env` file is read into a map, never into the process
//! environment; the environment wins. Values become [`Secret`]s at once and
//! are never printed: errors name the variable only.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use orderwire_protocol::secret::Secret;

/// Where credentials are looked up.
#[derive(Default)]
pub struct CredentialSource {
    dotenv: HashMap<String, Secret>,
}

impl std::fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.dotenv.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("CredentialSource")
            .field("dotenv_names", &names)
            .finish()
    }
}

impl CredentialSource {
    /// The environment, and `dotenv` if given and present.
    pub fn new(dotenv: Option<&Path>) -> Result<CredentialSource, String> {
        let mut map = HashMap::new();
        if let Some(path) = dotenv.filter(|p| p.exists()) {
            let entries = dotenvy::from_path_iter(path)
                .map_err(|e| format!("{}: {}", path.display(), describe(&e)))?;
            for entry in entries {
                let (name, value) =
                    entry.map_err(|e| format!("{}: {}", path.display(), describe(&e)))?;
                map.insert(name, Secret::new(value));
            }
        }
        Ok(CredentialSource { dotenv: map })
    }

    /// The value of `variable`: the environment's, else the `.env` file's.
    pub fn get(&self, variable: &str) -> Option<Secret> {
        match std::env::var(variable) {
            Ok(value) if !value.is_empty() => Some(Secret::new(value)),
            _ => self.dotenv.get(variable).cloned(),
        }
    }
}

/// A dotenv error without the line's text (it may hold a secret).
fn describe(error: &dotenvy::Error) -> String {
    match error {
        dotenvy::Error::LineParse(_, index) => format!("cannot parse the line at byte {index}"),
        dotenvy::Error::Io(e) => e.to_string(),
        _ => "cannot read".to_owned(),
    }
}

/// The 32-byte Ed25519 private key of a PKCS#8 PEM file (what Binance's
/// key generator writes: `-----BEGIN PRIVATE KEY-----`).
pub fn ed25519_key_from_pem(pem: &str) -> Result<[u8; 32], &'static str> {
    // RFC 8410: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 },
    // OCTET STRING { OCTET STRING (32 bytes) } }.
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN PRIVATE KEY-----")
        .skip(1)
        .take_while(|l| *l != "-----END PRIVATE KEY-----")
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| "not base64 PEM")?;
    match der.strip_prefix(&PREFIX[..]) {
        Some(key) => key
            .try_into()
            .map_err(|_| "not an Ed25519 PKCS#8 private key"),
        None => Err("not an Ed25519 PKCS#8 private key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pkcs8_ed25519_key_reads_back() {
        // RFC 8410 section 10.3's example key.
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        let key = ed25519_key_from_pem(pem).unwrap();
        assert_eq!(key[0], 0xd4);
        assert_eq!(key[31], 0x42);
        assert!(
            ed25519_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
