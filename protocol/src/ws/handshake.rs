//! RFC 6455 §4 opening handshake, client side.
//!
//! The request is written into a caller buffer; the response is parsed with
//! httparse from whatever bytes have arrived, so a response split anywhere is
//! handled. Header values the caller adds may hold secrets (Upbit's
//! `Authorization: Bearer ...`), so `Debug` shows their names only.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::{Digest, Sha1};

use super::deflate::{DeflateConfig, DeflateParams, NegotiationError};
use super::error::HandshakeError;

const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const MAX_RESPONSE_HEADERS: usize = 64;
/// How much of a non-101 response body is kept for the error report.
const BODY_EXCERPT: usize = 256;

/// What the client asks for in its upgrade request.
#[derive(Clone, Default)]
pub struct HandshakeRequest {
    /// Host name or address, without brackets for IPv6.
    pub host: String,
    /// The port, sent in `Host` only when it is not the scheme's default.
    pub port: u16,
    /// `true` for `wss://` (default port 443), `false` for `ws://` (80).
    pub secure: bool,
    /// Path and query, starting with `/`.
    pub resource: String,
    /// An `Origin` header, if wanted.
    pub origin: Option<String>,
    /// Subprotocols to offer, in order of preference.
    pub protocols: Vec<String>,
    /// Extra headers, such as `Authorization`. Their values are secrets:
    /// never printed.
    pub headers: Vec<(String, crate::secret::Secret)>,
}

impl fmt::Debug for HandshakeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("HandshakeRequest")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("secure", &self.secure)
            .field("resource", &self.resource)
            .field("origin", &self.origin)
            .field("protocols", &self.protocols)
            .field("headers (values redacted)", &names)
            .finish()
    }
}

/// A URL that is not a usable `ws://` or `wss://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlError(pub String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid WebSocket URL: {}", self.0)
    }
}

impl std::error::Error for UrlError {}

impl HandshakeRequest {
    /// Splits a `ws://` or `wss://` URL into host, port and resource.
    pub fn from_url(url: &str) -> Result<HandshakeRequest, UrlError> {
        let (secure, rest) = if let Some(rest) = url.strip_prefix("wss://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("ws://") {
            (false, rest)
        } else {
            return Err(UrlError(format!(
                "{url:?} does not start with ws:// or wss://"
            )));
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let tail = tail.split('#').next().unwrap_or("");
        if authority.contains('@') {
            return Err(UrlError(
                "user info in a WebSocket URL is not supported".into(),
            ));
        }
        let default_port = if secure { 443 } else { 80 };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| UrlError(format!("unclosed IPv6 literal in {url:?}")))?;
            (host, parse_port(after, default_port, url)?)
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, parse_port(&format!(":{port}"), default_port, url)?),
                None => (authority, default_port),
            }
        };
        if host.is_empty() {
            return Err(UrlError(format!("no host in {url:?}")));
        }
        let resource = if tail.is_empty() {
            "/".to_string()
        } else if tail.starts_with('?') {
            format!("/{tail}")
        } else {
            tail.to_string()
        };
        Ok(HandshakeRequest {
            host: host.to_string(),
            port,
            secure,
            resource,
            ..Default::default()
        })
    }

    /// The `Host` header value: the port is added when it is not the default,
    /// and IPv6 literals are bracketed.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = if self.secure { 443 } else { 80 };
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

fn parse_port(after_host: &str, default_port: u16, url: &str) -> Result<u16, UrlError> {
    match after_host.strip_prefix(':') {
        None if after_host.is_empty() => Ok(default_port),
        Some(digits) if !digits.is_empty() => digits
            .parse()
            .map_err(|_| UrlError(format!("bad port {digits:?} in {url:?}"))),
        _ => Err(UrlError(format!("bad authority in {url:?}"))),
    }
}

/// The base64 `Sec-WebSocket-Key` for 16 nonce bytes.
pub fn encode_key(nonce: [u8; 16]) -> String {
    BASE64.encode(nonce)
}

/// `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)).
pub fn accept_for_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID);
    BASE64.encode(sha.finalize())
}

/// Appends the HTTP/1.1 upgrade request to `out`.
pub fn write_request(
    out: &mut Vec<u8>,
    req: &HandshakeRequest,
    key: &str,
    deflate: Option<&DeflateConfig>,
) {
    let mut push = |s: &str| out.extend_from_slice(s.as_bytes());
    push("GET ");
    push(&req.resource);
    push(" HTTP/1.1\r\nHost: ");
    push(&req.host_header());
    push("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    push(key);
    push("\r\nSec-WebSocket-Version: 13\r\n");
    if let Some(origin) = &req.origin {
        push("Origin: ");
        push(origin);
        push("\r\n");
    }
    if !req.protocols.is_empty() {
        push("Sec-WebSocket-Protocol: ");
        push(&req.protocols.join(", "));
        push("\r\n");
    }
    if let Some(deflate) = deflate {
        push("Sec-WebSocket-Extensions: ");
        push(&deflate.offer());
        push("\r\n");
    }
    for (name, value) in &req.headers {
        push(name);
        push(": ");
        push(value.expose());
        push("\r\n");
    }
    push("\r\n");
}

/// What the server agreed to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The subprotocol the server chose, if any.
    pub protocol: Option<String>,
    /// permessage-deflate parameters, if the server accepted the offer.
    pub deflate: Option<DeflateParams>,
}

/// The outcome of parsing a (possibly partial) response.
#[derive(Debug)]
pub enum ResponseStatus {
    /// More bytes are needed.
    Partial,
    /// The upgrade succeeded; the header took this many bytes, and what
    /// follows belongs to the frame stream.
    Complete {
        /// Bytes of `buf` that the response header used.
        header_len: usize,
        /// What the server agreed to.
        negotiated: Negotiated,
    },
}

/// What the client offered, to check the response against.
#[derive(Clone, Debug)]
pub struct Offer {
    /// The `Sec-WebSocket-Accept` value the server must send.
    pub expected_accept: String,
    /// The subprotocols offered.
    pub protocols: Vec<String>,
    /// The permessage-deflate offer, if made.
    pub deflate: Option<DeflateConfig>,
    /// The largest response header accepted.
    pub max_header_len: usize,
}

/// The longest `Retry-After` taken at its word: a day. A larger figure
/// is clamped, not trusted to park a connection for a year.
const RETRY_AFTER_LIMIT: u64 = 86_400;

/// `Retry-After: <delta-seconds>` (digits only, surrounding spaces
/// allowed); anything else is None.
fn retry_after_seconds(value: &[u8]) -> Option<std::time::Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = text
        .parse::<u64>()
        .unwrap_or(u64::MAX)
        .min(RETRY_AFTER_LIMIT);
    Some(std::time::Duration::from_secs(seconds))
}

/// Parses the server's response from the start of `buf`.
pub fn parse_response(buf: &[u8], offer: &Offer) -> Result<ResponseStatus, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let header_len = match response.parse(buf) {
        Ok(httparse::Status::Partial) => {
            if buf.len() > offer.max_header_len {
                return Err(HandshakeError::HeaderTooLarge {
                    limit: offer.max_header_len,
                });
            }
            return Ok(ResponseStatus::Partial);
        }
        Ok(httparse::Status::Complete(len)) => len,
        Err(e) => return Err(HandshakeError::MalformedResponse(e.to_string())),
    };
    if header_len > offer.max_header_len {
        return Err(HandshakeError::HeaderTooLarge {
            limit: offer.max_header_len,
        });
    }
    // httparse guarantees a code on a complete parse; 0 is never a real status.
    let status = response.code.unwrap_or(0);
    if status != 101 {
        let body = &buf[header_len..];
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(BODY_EXCERPT)]).into_owned();
        let retry_after = response
            .headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case("retry-after"))
            .and_then(|header| retry_after_seconds(header.value));
        return Err(HandshakeError::Status {
            status,
            body: excerpt,
            retry_after,
        });
    }
    let mut upgrade_ok = false;
    let mut connection_ok = false;
    let mut accept: Option<&[u8]> = None;
    let mut protocol: Option<String> = None;
    let mut extensions: Vec<&str> = Vec::new();
    for header in response.headers.iter() {
        let value = header.value;
        if header.name.eq_ignore_ascii_case("upgrade") {
            upgrade_ok = value.trim_ascii().eq_ignore_ascii_case(b"websocket");
        } else if header.name.eq_ignore_ascii_case("connection") {
            connection_ok |= value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"));
        } else if header.name.eq_ignore_ascii_case("sec-websocket-accept") {
            if accept.is_some() {
                return Err(HandshakeError::BadAccept);
            }
            accept = Some(value.trim_ascii());
        } else if header.name.eq_ignore_ascii_case("sec-websocket-protocol") {
            let chosen = std::str::from_utf8(value)
                .map_err(|_| HandshakeError::UnofferedProtocol(lossy(value)))?;
            let chosen = chosen.trim();
            if protocol.is_some() || !offer.protocols.iter().any(|p| p == chosen) {
                return Err(HandshakeError::UnofferedProtocol(chosen.to_string()));
            }
            protocol = Some(chosen.to_string());
        } else if header.name.eq_ignore_ascii_case("sec-websocket-extensions") {
            let text = std::str::from_utf8(value)
                .map_err(|_| HandshakeError::UnofferedExtension(lossy(value)))?;
            extensions.extend(text.split(',').map(str::trim).filter(|e| !e.is_empty()));
        }
    }
    if !upgrade_ok {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !connection_ok {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    if accept != Some(offer.expected_accept.as_bytes()) {
        return Err(HandshakeError::BadAccept);
    }
    let deflate = negotiate_extensions(&extensions, offer.deflate.as_ref())?;
    Ok(ResponseStatus::Complete {
        header_len,
        negotiated: Negotiated { protocol, deflate },
    })
}

fn negotiate_extensions(
    extensions: &[&str],
    offered: Option<&DeflateConfig>,
) -> Result<Option<DeflateParams>, HandshakeError> {
    let mut accepted = None;
    for ext in extensions {
        let name = ext.split(';').next().unwrap_or("").trim();
        let Some(offered) = offered.filter(|_| name == "permessage-deflate" && accepted.is_none())
        else {
            return Err(HandshakeError::UnofferedExtension((*ext).to_string()));
        };
        let params = offered
            .accept_response(ext)
            .map_err(|e: NegotiationError| HandshakeError::BadExtension(e.0))?;
        accepted = Some(params);
    }
    Ok(accepted)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn offer() -> Offer {
        Offer {
            expected_accept: accept_for_key("dGhlIHNhbXBsZSBub25jZQ=="),
            protocols: vec!["chat".into()],
            deflate: None,
            max_header_len: 8192,
        }
    }

    const GOOD: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    #[test]
    fn rfc6455_accept_example() {
        assert_eq!(
            accept_for_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn request_has_the_required_headers_and_port() {
        let mut req =
            HandshakeRequest::from_url("ws://example.com:9001/runCase?case=1&agent=ow").unwrap();
        req.origin = Some("http://example.com".into());
        req.protocols = vec!["chat".into(), "superchat".into()];
        req.headers
            .push(("Authorization".into(), Secret::new("Bearer secret")));
        assert!(
            !format!("{req:?}").contains("Bearer secret"),
            "Debug never shows a header value"
        );
        let mut out = Vec::new();
        write_request(&mut out, &req, "dGhlIHNhbXBsZSBub25jZQ==", None);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "GET /runCase?case=1&agent=ow HTTP/1.1\r\nHost: example.com:9001\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nAuthorization: Bearer secret\r\n\r\n"
        );
        assert!(
            !format!("{req:?}").contains("secret"),
            "Debug must not print header values"
        );
    }

    #[test]
    fn urls() {
        let r = HandshakeRequest::from_url("wss://ws.kraken.com/v2").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.secure, r.resource.as_str()),
            ("ws.kraken.com", 443, true, "/v2")
        );
        assert_eq!(r.host_header(), "ws.kraken.com");
        let r = HandshakeRequest::from_url("ws://[::1]:8080?x=1").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.resource.as_str()),
            ("::1", 8080, "/?x=1")
        );
        assert_eq!(r.host_header(), "[::1]:8080");
        let r = HandshakeRequest::from_url("ws://localhost").unwrap();
        assert_eq!((r.port, r.resource.as_str()), (80, "/"));
        for bad in [
            "http://x",
            "ws://",
            "ws://host:",
            "ws://host:99999/",
            "ws://[::1/",
            "ws://u@h/",
        ] {
            assert!(HandshakeRequest::from_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn accepts_a_good_response_split_anywhere_and_keeps_trailing_bytes() {
        let mut bytes = GOOD.as_bytes().to_vec();
        bytes.extend_from_slice(&[0x81, 0x00]);
        for cut in 0..GOOD.len() {
            assert!(
                matches!(
                    parse_response(&bytes[..cut], &offer()),
                    Ok(ResponseStatus::Partial)
                ),
                "cut {cut}"
            );
        }
        match parse_response(&bytes, &offer()).unwrap() {
            ResponseStatus::Complete {
                header_len,
                negotiated,
            } => {
                assert_eq!(header_len, GOOD.len());
                assert_eq!(negotiated, Negotiated::default());
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn response_error(resp: &str) -> HandshakeError {
        parse_response(resp.as_bytes(), &offer()).unwrap_err()
    }

    #[test]
    fn a_refusal_carries_the_servers_retry_after_in_seconds() {
        let refusal = |header: &str| match response_error(&format!(
            "HTTP/1.1 418 I'm a teapot\r\n{header}Content-Length: 0\r\n\r\n"
        )) {
            HandshakeError::Status {
                status: 418,
                retry_after,
                ..
            } => retry_after,
            other => panic!("unexpected {other:?}"),
        };
        let secs = std::time::Duration::from_secs;
        assert_eq!(refusal("Retry-After: 120\r\n"), Some(secs(120)));
        assert_eq!(refusal("retry-after:  7 \r\n"), Some(secs(7)));
        assert_eq!(refusal(""), None);
        assert_eq!(
            refusal("Retry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n"),
            None,
            "the date form needs a clock"
        );
        assert_eq!(refusal("Retry-After: -5\r\n"), None);
        assert_eq!(
            refusal("Retry-After: 99999999999999999999999\r\n"),
            Some(secs(86_400)),
            "clamped to a day"
        );
    }

    #[test]
    fn rejects_bad_responses() {
        assert!(matches!(
            response_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
            HandshakeError::Status { status: 200, ref body, .. } if body == "hello"
        ));
        assert!(matches!(
            response_error(&GOOD.replace("Upgrade: websocket\r\n", "")),
            HandshakeError::MissingUpgrade
        ));
        assert!(matches!(
            response_error(&GOOD.replace("Connection: Upgrade", "Connection: keep-alive")),
            HandshakeError::MissingConnectionUpgrade
        ));
        assert!(matches!(
            response_error(&GOOD.replace("s3pP", "AAAA")),
            HandshakeError::BadAccept
        ));
        let with_proto = GOOD.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: other\r\n\r\n");
        assert!(
            matches!(response_error(&with_proto), HandshakeError::UnofferedProtocol(p) if p == "other")
        );
        let with_ext = GOOD.replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        );
        assert!(matches!(
            response_error(&with_ext),
            HandshakeError::UnofferedExtension(_)
        ));
        assert!(matches!(
            response_error("garbage\r\n\r\n"),
            HandshakeError::MalformedResponse(_)
        ));
    }

    #[test]
    fn connection_tokens_are_case_insensitive_lists() {
        let resp = GOOD.replace("Connection: Upgrade", "connection: keep-alive, UPGRADE");
        assert!(matches!(
            parse_response(resp.as_bytes(), &offer()),
            Ok(ResponseStatus::Complete { .. })
        ));
        let resp = GOOD.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n\r\n");
        match parse_response(resp.as_bytes(), &offer()).unwrap() {
            ResponseStatus::Complete { negotiated, .. } => {
                assert_eq!(negotiated.protocol.as_deref(), Some("chat"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn header_size_is_limited() {
        let mut small = offer();
        small.max_header_len = 64;
        let long = format!(
            "HTTP/1.1 101 Switching Protocols\r\nX-Pad: {}\r\n",
            "a".repeat(100)
        );
        assert!(matches!(
            parse_response(long.as_bytes(), &small),
            Err(HandshakeError::HeaderTooLarge { limit: 64 })
        ));
    }
}
