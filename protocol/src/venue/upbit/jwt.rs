//! The private feed's `Authorization: Bearer <JWT>`: HS512 over
//! `{"access_key":..,"nonce":<uuid4>}`, signed with the secret key's raw
//! bytes (upbit.md "Connection"). Made fresh at every connect, with the
//! nonce from the caller's seeded RNG. hmac and sha2 are the RustCrypto
//! crates the Binance signer uses already; base64 is the url-safe alphabet
//! without padding (RFC 7515).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha512;

use crate::model::write_json_string;
use crate::secret::Secret;

/// The header, as PyJWT writes it for HS512 (sorted keys, no spaces).
const HEADER: &[u8] = br#"{"alg":"HS512","typ":"JWT"}"#;

/// The token for `access_key` with `nonce`, signed with `secret_key`.
pub fn token(access_key: &Secret, secret_key: &Secret, nonce: &str) -> Secret {
    let mut payload = Vec::with_capacity(96);
    payload.extend_from_slice(b"{\"access_key\":");
    write_json_string(access_key.expose(), &mut payload);
    payload.extend_from_slice(b",\"nonce\":");
    write_json_string(nonce, &mut payload);
    payload.push(b'}');
    let mut text = String::with_capacity(256);
    URL_SAFE_NO_PAD.encode_string(HEADER, &mut text);
    text.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut text);
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(secret_key.expose().as_bytes()) else {
        // HMAC takes a key of any length: not reached.
        return Secret::new(String::new());
    };
    mac.update(text.as_bytes());
    let signature = mac.finalize().into_bytes();
    text.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut text);
    Secret::new(text)
}
