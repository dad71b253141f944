//! Kraken's REST authentication and the WebSocket token it issues, sans-IO:
//! the request's bytes and the answer's meaning; the caller does the HTTP
//! (kraken.md "Authentication"; docs/venues/kraken.md "Tokens").
//!
//! `API-Sign` = base64(HMAC-SHA512(base64-decoded secret, URI path +
//! SHA256(nonce + POST data))), as Kraken's REST authentication page
//! documents it, with its worked example as the test vector.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use crate::json::{Kind, Scanner};
use crate::secret::Secret;

/// The token endpoint's path: signed as part of the message.
pub const WS_TOKEN_PATH: &str = "/0/private/GetWebSocketsToken";
/// Kraken's REST base.
pub const REST_URL: &str = "https://api.kraken.com";

/// Why a REST call could not be signed or its answer used. Never holds a
/// key, a secret or a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestError {
    /// The API secret is not base64.
    #[error("the API secret is not base64")]
    SecretNotBase64,
    /// Kraken answered with errors (`EAPI:Invalid key`).
    #[error("Kraken refused: {0}")]
    Refused(String),
    /// The answer is not the documented shape.
    #[error("not a GetWebSocketsToken answer: {0}")]
    Malformed(&'static str),
}

/// The `API-Sign` header for a private call to `uri_path` with
/// `post_data` (form-encoded, starting with `nonce=<nonce>`).
pub fn api_sign(
    secret: &Secret,
    uri_path: &str,
    nonce: &str,
    post_data: &str,
) -> Result<String, RestError> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.expose().trim())
        .map_err(|_| RestError::SecretNotBase64)?;
    let mut digest = Sha256::new();
    digest.update(nonce.as_bytes());
    digest.update(post_data.as_bytes());
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha512>::new_from_slice(&key).map_err(|_| RestError::SecretNotBase64)?;
    mac.update(uri_path.as_bytes());
    mac.update(&digest.finalize());
    Ok(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// The body and `API-Sign` of a `GetWebSocketsToken` call: `nonce=<n>`.
/// The nonce must grow with every call on the key (Kraken refuses a
/// smaller one with `EAPI:Invalid nonce`).
pub fn ws_token_request(secret: &Secret, nonce: u64) -> Result<(String, String), RestError> {
    let nonce = nonce.to_string();
    let body = format!("nonce={nonce}");
    let sign = api_sign(secret, WS_TOKEN_PATH, &nonce, &body)?;
    Ok((body, sign))
}

/// The token in `{"error":[],"result":{"token":"..","expires":900}}`; the
/// errors of `{"error":["EAPI:Invalid key"]}` (with or without `result`).
pub fn parse_ws_token(body: &[u8]) -> Result<Secret, RestError> {
    let malformed = |_| RestError::Malformed("not the documented JSON shape");
    let mut scanner = Scanner::new(body.trim_ascii());
    let (mut errors, mut token) = (Vec::new(), None);
    scanner.begin_object().map_err(malformed)?;
    while let Some(key) = scanner.next_key().map_err(malformed)? {
        match key.raw {
            b"error" => {
                scanner.begin_array().map_err(malformed)?;
                while scanner.next_element().map_err(malformed)? {
                    errors.push(scanner.string().map_err(malformed)?.unescape());
                }
            }
            b"result" if scanner.kind().map_err(malformed)? == Kind::Object => {
                scanner.begin_object().map_err(malformed)?;
                while let Some(key) = scanner.next_key().map_err(malformed)? {
                    if key.raw == b"token" {
                        token = Some(Secret::new(scanner.string().map_err(malformed)?.unescape()));
                    } else {
                        scanner.skip_value().map_err(malformed)?;
                    }
                }
            }
            _ => {
                scanner.skip_value().map_err(malformed)?;
            }
        }
    }
    scanner.finish().map_err(malformed)?;
    if !errors.is_empty() {
        return Err(RestError::Refused(errors.join(", ")));
    }
    token.ok_or(RestError::Malformed("no result.token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kraken's REST authentication page, its worked example, byte for byte.
    #[test]
    fn the_documented_example_signs_as_documented() {
        let secret = Secret::new(
            "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
        );
        let sign = api_sign(
            &secret,
            "/0/private/AddOrder",
            "1616492376594",
            "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25",
        )
        .unwrap();
        assert_eq!(
            sign,
            "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
        );
    }

    #[test]
    fn the_documented_answers_parse() {
        let token = parse_ws_token(
            br#"{"error":[],"result":{"token":"1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw","expires":900}}"#,
        )
        .unwrap();
        assert_eq!(
            token.expose(),
            "1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw"
        );
        assert_eq!(
            parse_ws_token(br#"{"error":["EAPI:Invalid key"],"result":{}}"#),
            Err(RestError::Refused("EAPI:Invalid key".into()))
        );
        assert_eq!(
            parse_ws_token(br#"{"error":["EGeneral:Invalid arguments:ordertype"]}"#),
            Err(RestError::Refused(
                "EGeneral:Invalid arguments:ordertype".into()
            ))
        );
        assert!(parse_ws_token(b"<html>").is_err());
        assert_eq!(
            api_sign(&Secret::new("not base64!"), "/", "1", "nonce=1"),
            Err(RestError::SecretNotBase64)
        );
    }
}
