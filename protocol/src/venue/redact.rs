//! Requests as a person may read them: the frame's JSON with every secret
//! value replaced, for per-request callbacks and logs. The venue names its
//! secret keys ([`super::Capabilities::secret_fields`]); the scan works on
//! any bytes (a frame is whatever the codec wrote) and never panics.

/// What a secret value becomes.
pub const REDACTED: &str = "***";

/// Appends `text` to `out` with the string value of every key in
/// `secret_keys` (at any depth) replaced by `"***"`. A value that is not a
/// string (a number, an object) is replaced whole up to its end. Text that
/// is not JSON is copied as it is, and a key's value that does not end
/// (truncated text) is dropped rather than copied.
pub fn redact_json(text: &[u8], secret_keys: &[&str], out: &mut Vec<u8>) {
    let mut at = 0;
    while at < text.len() {
        let Some(start) = text[at..].iter().position(|&b| b == b'"').map(|p| at + p) else {
            out.extend_from_slice(&text[at..]);
            return;
        };
        let Some(end) = string_end(text, start) else {
            out.extend_from_slice(&text[at..]);
            return;
        };
        // The string, quotes included.
        out.extend_from_slice(&text[at..=end]);
        at = end + 1;
        let key = &text[start + 1..end];
        if !secret_keys.iter().any(|k| k.as_bytes() == key) {
            continue;
        }
        let colon = skip_space(text, at);
        if text.get(colon) != Some(&b':') {
            continue;
        }
        let value = skip_space(text, colon + 1);
        out.extend_from_slice(&text[at..value]);
        out.push(b'"');
        out.extend_from_slice(REDACTED.as_bytes());
        out.push(b'"');
        at = match value_end(text, value) {
            Some(next) => next,
            None => return,
        };
    }
}

/// The first string value of `key` (at any depth), unescaped only if it
/// needs no unescaping (method names and the like do not).
pub fn string_field<'a>(text: &'a [u8], key: &str) -> Option<&'a str> {
    let mut at = 0;
    while at < text.len() {
        let start = text[at..].iter().position(|&b| b == b'"').map(|p| at + p)?;
        let end = string_end(text, start)?;
        at = end + 1;
        if &text[start + 1..end] != key.as_bytes() {
            continue;
        }
        let colon = skip_space(text, at);
        if text.get(colon) != Some(&b':') {
            continue;
        }
        let value = skip_space(text, colon + 1);
        if text.get(value) != Some(&b'"') {
            return None;
        }
        let value_end = string_end(text, value)?;
        let raw = &text[value + 1..value_end];
        return if raw.contains(&b'\\') {
            None
        } else {
            std::str::from_utf8(raw).ok()
        };
    }
    None
}

fn skip_space(text: &[u8], mut at: usize) -> usize {
    while text.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The index of the closing quote of the string opening at `start`.
fn string_end(text: &[u8], start: usize) -> Option<usize> {
    let mut at = start + 1;
    while let Some(&b) = text.get(at) {
        match b {
            b'\\' => at += 2,
            b'"' => return Some(at),
            _ => at += 1,
        }
    }
    None
}

/// Where the value starting at `at` ends (one past it): a string to its
/// closing quote, an object or array to its matching bracket, anything else
/// to the next `,` `}` `]` or space.
fn value_end(text: &[u8], at: usize) -> Option<usize> {
    match text.get(at)? {
        b'"' => string_end(text, at).map(|end| end + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(&b) = text.get(i) {
                match b {
                    b'"' => {
                        i = string_end(text, i)?;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => Some(
            text[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                .map_or(text.len(), |p| at + p),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(text: &str, keys: &[&str]) -> String {
        let mut out = Vec::new();
        redact_json(text.as_bytes(), keys, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn secret_values_are_replaced_at_any_depth() {
        let kraken = r#"{"method":"add_order","params":{"order_type":"limit","token":"G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY","cl_ord_id":"a"},"req_id":1}"#;
        assert_eq!(
            redacted(kraken, &["token"]),
            r#"{"method":"add_order","params":{"order_type":"limit","token":"***","cl_ord_id":"a"},"req_id":1}"#
        );
        let binance = r#"{"id":3,"method":"order.place","params":{"apiKey":"vmPUZE6mv9SD5VNH","signature" : "5942ad33","timestamp":1}}"#;
        assert_eq!(
            redacted(binance, &["apiKey", "signature"]),
            r#"{"id":3,"method":"order.place","params":{"apiKey":"***","signature" : "***","timestamp":1}}"#
        );
    }

    #[test]
    fn non_string_values_escapes_and_values_named_like_keys() {
        assert_eq!(
            redacted(r#"{"token":{"a":[1,"}"]},"x":"token"}"#, &["token"]),
            r#"{"token":"***","x":"token"}"#
        );
        assert_eq!(
            redacted(r#"{"token":12345,"y":"a\"token\""}"#, &["token"]),
            r#"{"token":"***","y":"a\"token\""}"#
        );
    }

    #[test]
    fn any_bytes_are_safe() {
        for text in [
            &b"{\"token\":\"unterminated"[..],
            b"\"",
            b"\\",
            b"{\"token\"",
            b"\xff\xfe",
        ] {
            let mut out = Vec::new();
            redact_json(text, &["token"], &mut out);
            assert!(!String::from_utf8_lossy(&out).contains("unterminated"));
            let _ = string_field(text, "token");
        }
    }

    #[test]
    fn string_fields() {
        let text = br#"{"id":3,"method":"order.place","params":{}}"#;
        assert_eq!(string_field(text, "method"), Some("order.place"));
        assert_eq!(string_field(text, "id"), None);
        assert_eq!(string_field(text, "absent"), None);
    }
}
