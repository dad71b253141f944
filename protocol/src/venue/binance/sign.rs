//! Binance request signing: every parameter but `signature`, sorted by
//! name, joined as `k=v&k=v`, signed with HMAC-SHA256 (lowercase hex) or
//! Ed25519 (base64). The hmac/sha2 and ed25519-dalek crates do the
//! cryptography; nothing here is hand-rolled beyond the hex digits.

use base64::Engine as _;
use ed25519_dalek::Signer as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// How requests are signed.
pub enum Signer {
    /// HMAC-SHA256 with the API secret.
    Hmac(Secret),
    /// Ed25519 with the private key (also what `session.logon` needs).
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::Hmac(_) => f.write_str("Hmac(<redacted>)"),
            Signer::Ed25519(_) => f.write_str("Ed25519(<redacted>)"),
        }
    }
}

impl Signer {
    /// Whether this is an Ed25519 key (the only kind `session.logon` takes).
    pub fn is_ed25519(&self) -> bool {
        matches!(self, Signer::Ed25519(_))
    }

    /// An Ed25519 signer from the 32-byte private key.
    pub fn ed25519_from_bytes(private_key: &[u8; 32]) -> Signer {
        Signer::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(private_key)))
    }

    /// Appends the signature of `payload` as Binance expects it: lowercase
    /// hex for HMAC, base64 for Ed25519.
    pub fn sign_into(&self, payload: &[u8], out: &mut Vec<u8>) {
        match self {
            Signer::Hmac(secret) => {
                // HMAC takes keys of any length: this cannot fail.
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
                    return;
                };
                mac.update(payload);
                for byte in mac.finalize().into_bytes() {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push(HEX[usize::from(byte >> 4)]);
                    out.push(HEX[usize::from(byte & 0xf)]);
                }
            }
            Signer::Ed25519(key) => {
                let signature = key.sign(payload);
                let start = out.len();
                out.resize(start + 88, 0);
                // 64 bytes encode to exactly 88 base64 characters.
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(signature.to_bytes(), &mut out[start..])
                    .unwrap_or(0);
                out.truncate(start + written);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;

    #[test]
    fn hmac_reproduces_the_documented_test_vector() {
        let signer = Signer::Hmac(Secret::new(
            "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
        ));
        let payload = "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT";
        let mut out = Vec::new();
        signer.sign_into(payload.as_bytes(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
        );
    }

    #[test]
    fn ed25519_signatures_verify_with_the_public_key_of_generated_keys() {
        use rand_core::{RngCore, SeedableRng};
        // Keys generated from a seeded ChaCha stream: random, yet the
        // test is the same every run.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x0b1a_2ce5);
        for _ in 0..16 {
            let mut private = [0u8; 32];
            rng.fill_bytes(&mut private);
            let signer = Signer::ed25519_from_bytes(&private);
            let payload = b"apiKey=k&symbol=BTCUSDT&timestamp=1649729878532";
            let mut out = Vec::new();
            signer.sign_into(payload, &mut out);
            assert_eq!(out.len(), 88);
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&out)
                .unwrap();
            let signature = ed25519_dalek::Signature::from_slice(&bytes).unwrap();
            let public = ed25519_dalek::SigningKey::from_bytes(&private).verifying_key();
            assert!(public.verify(payload, &signature).is_ok());
            assert!(
                public
                    .verify(b"apiKey=k&symbol=ETHUSDT", &signature)
                    .is_err()
            );
            assert_eq!(format!("{signer:?}"), "Ed25519(<redacted>)");
        }
    }
}
