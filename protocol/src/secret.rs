//! Secrets (API keys, tokens) that never show up in logs or Debug output.

use std::fmt;

/// A secret string. `Debug` and `Display` print `<redacted>`; the only way to
/// the text is [`Secret::expose`], which names what it does.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret text, for putting on the wire or into a signature.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_text() {
        let secret = Secret::new("G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY");
        assert_eq!(format!("{secret:?} {secret}"), "<redacted> <redacted>");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(<redacted>)");
        assert!(secret.expose().starts_with("G38a"));
    }
}
