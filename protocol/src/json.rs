//! A zero-copy JSON pull scanner for venue messages.
//!
//! Why hand-written: venue codecs need the raw text of every number (an exact
//! [`Decimal`](crate::num::Decimal), never an `f64`) and only a handful of
//! fields per message. simd-json's tape and serde_json's `Value` both turn
//! numbers into floats, and a typed serde decode allocates; this scanner walks
//! the bytes once, hands out borrowed slices, and skips what it is not asked
//! for. `benches/kraken_decode` measures it against serde_json and simd-json.
//!
//! It checks the grammar of everything it reads or skips (strings, numbers,
//! literals, nesting up to [`MAX_DEPTH`]); the input must already be UTF-8
//! (WebSocket text frames are validated by the codec).

/// How deep [`Scanner::skip_value`] follows nested arrays and objects.
pub const MAX_DEPTH: usize = 64;

/// Why a message is not the JSON the codec expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The input ended inside a value.
    #[error("JSON ends early at byte {0}")]
    Eof(usize),
    /// A byte that does not belong here.
    #[error("unexpected JSON byte at {0}")]
    Unexpected(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("JSON nested too deep at byte {0}")]
    TooDeep(usize),
}

/// What the next value is, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `{`
    Object,
    /// `[`
    Array,
    /// `"`
    String,
    /// `-` or a digit
    Number,
    /// `true` or `false`
    Bool,
    /// `null`
    Null,
}

/// A JSON string as it appears between its quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawStr<'a> {
    /// The bytes between the quotes, escapes untouched.
    pub raw: &'a [u8],
    /// Whether `raw` holds a backslash escape.
    pub escaped: bool,
}

impl<'a> RawStr<'a> {
    /// The text, if it has no escapes (ids, symbols and enums never do).
    pub fn plain(self) -> Option<&'a str> {
        if self.escaped {
            None
        } else {
            std::str::from_utf8(self.raw).ok()
        }
    }

    /// The text with escapes decoded (for error messages; allocates).
    pub fn unescape(self) -> String {
        if !self.escaped {
            return String::from_utf8_lossy(self.raw).into_owned();
        }
        let mut out = String::with_capacity(self.raw.len());
        let mut index = 0;
        let raw = self.raw;
        while index < raw.len() {
            let byte = raw[index];
            if byte != b'\\' {
                let end = raw[index..]
                    .iter()
                    .position(|b| *b == b'\\')
                    .map_or(raw.len(), |p| index + p);
                out.push_str(&String::from_utf8_lossy(&raw[index..end]));
                index = end;
                continue;
            }
            let escape = raw.get(index + 1).copied().unwrap_or(b'\\');
            index += 2;
            match escape {
                b'n' => out.push('\n'),
                b't' => out.push('\t'),
                b'r' => out.push('\r'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'u' => {
                    let code = raw
                        .get(index..index + 4)
                        .and_then(|hex| std::str::from_utf8(hex).ok())
                        .and_then(|hex| u32::from_str_radix(hex, 16).ok());
                    index += 4;
                    out.push(code.and_then(char::from_u32).unwrap_or('\u{fffd}'));
                }
                other => out.push(char::from(other)),
            }
        }
        out
    }
}

/// The first index at or after `from` holding `"`, `\\` or a control
/// byte (below 0x20), if any.
#[inline(always)]
fn next_special(input: &[u8], mut from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = input.get(from..from + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // "Has a zero byte" and "has a byte below 0x20": exact for the
        // lowest flagged byte, which is the one taken.
        let mask = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        let flagged = mask & HIGHS;
        if flagged != 0 {
            return Some(from + (flagged.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    input
        .get(from..)?
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| from + p)
}

/// A cursor over one JSON document.
#[derive(Clone, Debug)]
pub struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
    /// Just past a `{` or `[`: the next member needs no comma.
    fresh: bool,
}

impl<'a> Scanner<'a> {
    /// Starts at the first byte of `input`.
    pub fn new(input: &'a [u8]) -> Scanner<'a> {
        Scanner {
            input,
            pos: 0,
            fresh: false,
        }
    }

    /// The whole input (for a later scanner at a saved position).
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// Byte offset of the cursor.
    pub fn position(&self) -> usize {
        self.pos
    }

    #[inline(always)]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline(always)]
    fn peek(&mut self) -> Result<u8, JsonError> {
        self.skip_whitespace();
        self.input
            .get(self.pos)
            .copied()
            .ok_or(JsonError::Eof(self.pos))
    }

    #[inline(always)]
    fn consume(&mut self, byte: u8) -> Result<(), JsonError> {
        // Compact JSON (what venues send) has no whitespace: check the byte
        // under the cursor before looking for any.
        if self.input.get(self.pos) == Some(&byte) {
            self.pos += 1;
            return Ok(());
        }
        if self.peek()? == byte {
            self.pos += 1;
            Ok(())
        } else {
            Err(JsonError::Unexpected(self.pos))
        }
    }

    /// The kind of the next value.
    #[inline]
    pub fn kind(&mut self) -> Result<Kind, JsonError> {
        Ok(match self.peek()? {
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b'"' => Kind::String,
            b'-' | b'0'..=b'9' => Kind::Number,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            _ => return Err(JsonError::Unexpected(self.pos)),
        })
    }

    /// Enters an object; then call [`Scanner::next_key`] until it gives `None`.
    #[inline]
    pub fn begin_object(&mut self) -> Result<(), JsonError> {
        self.consume(b'{')?;
        self.fresh = true;
        Ok(())
    }

    /// The next key of the object being read (its value comes next), or
    /// `None` after the closing `}`.
    #[inline(always)]
    pub fn next_key(&mut self) -> Result<Option<RawStr<'a>>, JsonError> {
        let byte = self.peek()?;
        let fresh = std::mem::replace(&mut self.fresh, false);
        if byte == b'}' {
            self.pos += 1;
            return Ok(None);
        }
        if !fresh {
            self.consume(b',')?;
        }
        let key = self.string()?;
        self.consume(b':')?;
        Ok(Some(key))
    }

    /// Enters an array; then call [`Scanner::next_element`] before each value.
    #[inline]
    pub fn begin_array(&mut self) -> Result<(), JsonError> {
        self.consume(b'[')?;
        self.fresh = true;
        Ok(())
    }

    /// Whether another element follows (the cursor is then on it), or the
    /// array ended (the cursor is past its `]`).
    #[inline]
    pub fn next_element(&mut self) -> Result<bool, JsonError> {
        let byte = self.peek()?;
        let fresh = std::mem::replace(&mut self.fresh, false);
        if byte == b']' {
            self.pos += 1;
            return Ok(false);
        }
        if !fresh {
            self.consume(b',')?;
        }
        Ok(true)
    }

    /// Reads a string value. The body is scanned eight bytes at a time
    /// (SWAR: one word finds the first quote, backslash or control byte
    /// without a branch per byte). Strings without escapes (ids, keys,
    /// enums, decimals: nearly all) end on the first special byte, inline;
    /// the rest take the out-of-line path.
    #[inline(always)]
    pub fn string(&mut self) -> Result<RawStr<'a>, JsonError> {
        self.consume(b'"')?;
        let start = self.pos;
        let input = self.input;
        if let Some(at) = next_special(input, start) {
            if input[at] == b'"' {
                self.pos = at + 1;
                return Ok(RawStr {
                    raw: &input[start..at],
                    escaped: false,
                });
            }
        }
        self.string_with_escapes(start)
    }

    /// A quoted plain decimal (`"23416.10000000"`, as Binance sends prices)
    /// in one pass, as (mantissa, scale); `None` (cursor unmoved) for any
    /// other value.
    #[inline]
    pub fn quoted_plain_decimal(&mut self) -> Option<(i128, u8)> {
        if self.input.get(self.pos) != Some(&b'"') {
            return None;
        }
        let saved = self.pos;
        self.pos += 1;
        match self.plain_decimal() {
            Some(value) if self.input.get(self.pos) == Some(&b'"') => {
                self.pos += 1;
                Some(value)
            }
            _ => {
                self.pos = saved;
                None
            }
        }
    }

    #[cold]
    fn string_with_escapes(&mut self, start: usize) -> Result<RawStr<'a>, JsonError> {
        self.pos = start;
        let mut escaped = false;
        let input = self.input;
        loop {
            let at = next_special(input, self.pos).ok_or(JsonError::Eof(input.len()))?;
            self.pos = at;
            match input[at] {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    match input.get(at + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 2
                        }
                        Some(b'u') => {
                            let hex = input.get(at + 2..at + 6).ok_or(JsonError::Eof(at))?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(JsonError::Unexpected(at));
                            }
                            self.pos += 6;
                        }
                        Some(_) => return Err(JsonError::Unexpected(at)),
                        None => return Err(JsonError::Eof(at)),
                    }
                }
                _ => return Err(JsonError::Unexpected(at)),
            }
        }
        let raw = &input[start..self.pos];
        self.pos += 1;
        Ok(RawStr { raw, escaped })
    }

    /// Reads a number of the plain decimal shape `-?(0|[1-9][0-9]*)(.[0-9]+)?`
    /// with at most 19 digits in one pass, as (mantissa, scale): the shape
    /// of every price and quantity venues send. Anything else (exponents,
    /// more digits, not a number) returns `None` with the cursor where it
    /// was, for [`Scanner::number`] and an exact parse of the text.
    pub fn plain_decimal(&mut self) -> Option<(i128, u8)> {
        let input = self.input;
        let mut at = self.pos;
        let negative = input.get(at) == Some(&b'-');
        if negative {
            at += 1;
        }
        let mut value: u64 = 0;
        let mut digits = 0u32;
        let integer_start = at;
        let mut take_digits = |at: &mut usize| -> Option<()> {
            while let Some(&byte) = input.get(*at) {
                let digit = byte.wrapping_sub(b'0');
                if digit >= 10 {
                    break;
                }
                if digits == 19 {
                    return None;
                }
                value = value * 10 + u64::from(digit);
                digits += 1;
                *at += 1;
            }
            Some(())
        };
        take_digits(&mut at)?;
        let integer_len = at - integer_start;
        if integer_len == 0 || (integer_len > 1 && input[integer_start] == b'0') {
            return None;
        }
        let mut scale = 0;
        if input.get(at) == Some(&b'.') {
            at += 1;
            let fraction_start = at;
            take_digits(&mut at)?;
            scale = at - fraction_start;
            if scale == 0 {
                return None;
            }
        }
        if matches!(input.get(at), Some(b'e' | b'E')) {
            return None;
        }
        self.pos = at;
        let magnitude = i128::from(value);
        // At most 19 fraction digits, so the conversion holds.
        let scale = u8::try_from(scale).ok()?;
        Some((if negative { -magnitude } else { magnitude }, scale))
    }

    /// Reads an unsigned integer of at most 19 digits in one pass (ids,
    /// counts, times); anything else is an error, with the cursor where it
    /// was.
    #[inline]
    pub fn unsigned(&mut self) -> Result<u64, JsonError> {
        self.skip_whitespace();
        let input = self.input;
        let start = self.pos;
        let mut at = start;
        let mut value: u64 = 0;
        while let Some(&byte) = input.get(at) {
            let digit = byte.wrapping_sub(b'0');
            if digit >= 10 {
                break;
            }
            if at - start == 19 {
                return Err(JsonError::Unexpected(at));
            }
            value = value * 10 + u64::from(digit);
            at += 1;
        }
        let len = at - start;
        let leading_zero = len > 1 && input[start] == b'0';
        let continues = matches!(input.get(at), Some(b'.' | b'e' | b'E'));
        if len == 0 || leading_zero || continues {
            return Err(JsonError::Unexpected(start));
        }
        self.pos = at;
        Ok(value)
    }

    /// Steps over `bytes` if the input has exactly them at the cursor (no
    /// whitespace skipped): the fast path for replies whose keys come in a
    /// fixed order. False, with the cursor unmoved, otherwise.
    #[inline(always)]
    pub fn literal(&mut self, bytes: &[u8]) -> bool {
        let end = self.pos + bytes.len();
        if self.input.get(self.pos..end) == Some(bytes) {
            self.pos = end;
            self.fresh = false;
            true
        } else {
            false
        }
    }

    /// Moves the cursor back to `position` (a [`Scanner::position`] taken
    /// before a value), to read that value again another way.
    pub fn rewind(&mut self, position: usize) {
        self.pos = position.min(self.input.len());
        self.fresh = false;
    }

    /// The input from `start` (a [`Scanner::position`]) to the cursor.
    pub fn since(&self, start: usize) -> &'a [u8] {
        self.input.get(start..self.pos).unwrap_or(&[])
    }

    /// Reads a number and returns its text, checked against the JSON grammar.
    pub fn number(&mut self) -> Result<&'a [u8], JsonError> {
        self.skip_whitespace();
        let start = self.pos;
        let input = self.input;
        let mut at = self.pos;
        let digits = |at: &mut usize| {
            let begin = *at;
            while input.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > begin
        };
        if input.get(at) == Some(&b'-') {
            at += 1;
        }
        if input.get(at) == Some(&b'0') {
            at += 1;
        } else if !digits(&mut at) {
            return Err(self.fail_at(at));
        }
        if input.get(at) == Some(&b'.') {
            at += 1;
            if !digits(&mut at) {
                return Err(self.fail_at(at));
            }
        }
        if let Some(b'e' | b'E') = input.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = input.get(at) {
                at += 1;
            }
            if !digits(&mut at) {
                return Err(self.fail_at(at));
            }
        }
        self.pos = at;
        Ok(&input[start..at])
    }

    fn fail_at(&self, at: usize) -> JsonError {
        if at >= self.input.len() {
            JsonError::Eof(at)
        } else {
            JsonError::Unexpected(at)
        }
    }

    /// Reads `true` or `false`.
    pub fn boolean(&mut self) -> Result<bool, JsonError> {
        self.skip_whitespace();
        if self.input[self.pos..].starts_with(b"true") {
            self.pos += 4;
            Ok(true)
        } else if self.input[self.pos..].starts_with(b"false") {
            self.pos += 5;
            Ok(false)
        } else {
            Err(self.fail_at(self.pos))
        }
    }

    /// Reads `null`.
    pub fn null(&mut self) -> Result<(), JsonError> {
        self.skip_whitespace();
        if self.input[self.pos..].starts_with(b"null") {
            self.pos += 4;
            Ok(())
        } else {
            Err(self.fail_at(self.pos))
        }
    }

    /// Skips one value of any kind, checking it, and returns its raw text.
    pub fn skip_value(&mut self) -> Result<&'a [u8], JsonError> {
        self.skip_whitespace();
        let start = self.pos;
        // Containers are walked with an explicit stack of "inside an object"
        // flags, so hostile nesting cannot overflow the call stack.
        let mut inside_object = [false; MAX_DEPTH];
        let mut depth = 0usize;
        loop {
            match self.kind()? {
                Kind::Object | Kind::Array => {
                    if depth == MAX_DEPTH {
                        return Err(JsonError::TooDeep(self.pos));
                    }
                    let object = self.kind()? == Kind::Object;
                    self.pos += 1;
                    self.fresh = true;
                    inside_object[depth] = object;
                    depth += 1;
                    if !self.open_next(object)? {
                        depth -= 1;
                        if !self.close_levels(&mut depth, &inside_object)? {
                            break;
                        }
                    }
                    continue;
                }
                Kind::String => {
                    self.string()?;
                }
                Kind::Number => {
                    self.number()?;
                }
                Kind::Bool => {
                    self.boolean()?;
                }
                Kind::Null => self.null()?,
            }
            if depth == 0 || !self.close_levels(&mut depth, &inside_object)? {
                break;
            }
        }
        Ok(&self.input[start..self.pos])
    }

    /// After a value inside containers: moves to the next value, closing every
    /// container that ends here. Returns false once depth reaches zero.
    fn close_levels(
        &mut self,
        depth: &mut usize,
        inside_object: &[bool; MAX_DEPTH],
    ) -> Result<bool, JsonError> {
        while *depth > 0 {
            if self.open_next(inside_object[*depth - 1])? {
                return Ok(true);
            }
            *depth -= 1;
        }
        Ok(false)
    }

    /// Inside a container: true with the cursor on the next value, false past
    /// the container's end.
    fn open_next(&mut self, object: bool) -> Result<bool, JsonError> {
        if object {
            Ok(self.next_key()?.is_some())
        } else {
            self.next_element()
        }
    }

    /// Checks that only whitespace follows the document.
    pub fn finish(&mut self) -> Result<(), JsonError> {
        self.skip_whitespace();
        if self.pos == self.input.len() {
            Ok(())
        } else {
            Err(JsonError::Unexpected(self.pos))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_an_object_and_keeps_number_text() {
        let text = br#" {"a": 0.10000000, "b": [1, {"c": null}], "s": "x\"y", "t": true} "#;
        let mut scanner = Scanner::new(text);
        scanner.begin_object().unwrap();
        assert_eq!(scanner.next_key().unwrap().unwrap().raw, b"a");
        assert_eq!(scanner.number().unwrap(), b"0.10000000");
        assert_eq!(scanner.next_key().unwrap().unwrap().raw, b"b");
        assert_eq!(scanner.skip_value().unwrap(), br#"[1, {"c": null}]"#);
        assert_eq!(scanner.next_key().unwrap().unwrap().raw, b"s");
        let s = scanner.string().unwrap();
        assert!(s.escaped);
        assert_eq!(s.unescape(), "x\"y");
        assert_eq!(scanner.next_key().unwrap().unwrap().raw, b"t");
        assert!(scanner.boolean().unwrap());
        assert_eq!(scanner.next_key().unwrap(), None);
        scanner.finish().unwrap();
    }

    #[test]
    fn rejects_broken_documents() {
        for text in [
            &br#"{"a":1 "b":2}"#[..],
            br#"{,"a":1}"#,
            br#"{"a":01}"#,
            br#"{"a":1.}"#,
            br#"{"a":-}"#,
            br#"{"a":tru}"#,
            br#"{"a":"x"#,
            br#"{"a":"\q"}"#,
            br#"[1,]"#,
            br#"[1 2]"#,
            b"{\"a\":\"\x01\"}",
        ] {
            let mut scanner = Scanner::new(text);
            assert!(
                scanner.skip_value().is_err(),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn plain_decimals_in_one_pass_and_everything_else_left_alone() {
        for (text, expected) in [
            ("0.10000000,", Some((10_000_000, 8))),
            ("-45283.5}", Some((-452_835, 1))),
            ("0]", Some((0, 0))),
            ("1234567890123456789,", Some((1_234_567_890_123_456_789, 0))),
            ("12345678901234567890,", None),
            ("01,", None),
            ("1.,", None),
            ("1e5,", None),
            ("1.5E-3,", None),
            ("-,", None),
            ("\"1\",", None),
        ] {
            let mut scanner = Scanner::new(text.as_bytes());
            assert_eq!(scanner.plain_decimal(), expected, "{text}");
            if expected.is_none() {
                assert_eq!(scanner.position(), 0, "{text}: cursor unmoved");
            }
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(matches!(
            Scanner::new(deep.as_bytes()).skip_value(),
            Err(JsonError::TooDeep(_))
        ));
        let fine = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(Scanner::new(fine.as_bytes()).skip_value().is_ok());
    }

    #[test]
    fn skip_agrees_with_serde_json_on_validity() {
        for text in [
            r#"{"a":[1,2,{"b":[]}],"c":{}}"#,
            r#"[[],[[]],{"x":"\u00e9"}]"#,
            r#"{"a":1e5,"b":-0.5E-3}"#,
        ] {
            assert!(serde_json::from_str::<serde_json::Value>(text).is_ok());
            let mut scanner = Scanner::new(text.as_bytes());
            assert_eq!(scanner.skip_value().unwrap(), text.as_bytes());
            scanner.finish().unwrap();
        }
    }
}
