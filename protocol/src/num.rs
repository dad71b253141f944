//! Exact decimals for prices and quantities.
//!
//! A venue's `0.10000000` must come back out as `0.10000000`: the Kraken book
//! checksum is computed over the text, and an order priced through `f64` can
//! land one tick away. A [`Decimal`] is an integer mantissa and a decimal
//! scale, parsed straight from the wire text and formatted back without loss.
//! The scale is kept as written, so `1.50` and `1.5` are equal in value but
//! print as they came.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The most digits after the point that a [`Decimal`] holds.
pub const MAX_SCALE: u8 = 38;

/// An exact decimal: `mantissa * 10^-scale`.
///
/// Stored in 24 bytes, not the 32 an `i128` field would force: the mantissa
/// is kept as two 64-bit halves (alignment 8, not 16), and the scale as a
/// `Scale` enum whose unused values give `Option<Decimal>` a niche, so an
/// optional price is 24 bytes too, not 48. Every event carries several
/// (docs/benchmarks.md, "A smaller event").
#[derive(Clone, Copy, Default)]
pub struct Decimal {
    low: u64,
    high: i64,
    scale: Scale,
}

/// A scale of 0 to [`MAX_SCALE`], as an enum so that the compiler knows the
/// other 217 byte values are free (the niche of `Option<Decimal>`).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
#[repr(u8)]
#[rustfmt::skip]
enum Scale {
    #[default] S0, S1, S2, S3, S4, S5, S6, S7, S8, S9, S10, S11, S12, S13, S14, S15, S16,
    S17, S18, S19, S20, S21, S22, S23, S24, S25, S26, S27, S28, S29, S30, S31, S32, S33,
    S34, S35, S36, S37, S38,
}

#[rustfmt::skip]
const SCALES: [Scale; MAX_SCALE as usize + 1] = {
    use Scale::*;
    [S0, S1, S2, S3, S4, S5, S6, S7, S8, S9, S10, S11, S12, S13, S14, S15, S16, S17, S18,
     S19, S20, S21, S22, S23, S24, S25, S26, S27, S28, S29, S30, S31, S32, S33, S34, S35,
     S36, S37, S38]
};

/// Why a text is not a decimal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecimalError {
    /// Not the shape of a number (empty, stray characters, a lone sign or point).
    #[error("not a decimal number")]
    Syntax,
    /// More digits than an i128 mantissa holds, or a scale beyond 38.
    #[error("decimal out of range")]
    Range,
    /// A float that is not the nearest `f64` to any decimal with that many
    /// places (`0.1 + 0.2` at 8 places), or not finite.
    #[error("not exactly a decimal at that many places")]
    Inexact,
}

/// Sign, 39 digits, the point and a leading zero fit.
const TEXT_CAPACITY: usize = 48;

const POW10: [u128; 39] = {
    let mut table = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

impl Decimal {
    /// Zero, with no digits after the point.
    pub const ZERO: Decimal = Decimal::raw(0, 0);

    /// The decimal with `places` digits after the point whose nearest
    /// `f64` is `value`: the explicit way in for a float (hftpy passes
    /// floats), at the venue's precision. `80000.0` at 1 place is
    /// `80000.0`; `0.001` at 8 is `0.00100000`; `0.1 + 0.2` at 8 is refused
    /// ([`DecimalError::Inexact`]): it is `0.30000000000000004`, which no
    /// 8-place decimal rounds to. Never used on the hot path: orders built
    /// from text or decimals skip it.
    pub fn from_f64(value: f64, places: u8) -> Result<Decimal, DecimalError> {
        // An f64 has 17 significant digits at most: more places add none.
        if places > 17 {
            return Err(DecimalError::Range);
        }
        if !value.is_finite() {
            return Err(DecimalError::Inexact);
        }
        let scaled = (value * 10f64.powi(i32::from(places))).round();
        if scaled.abs() >= 1e36 {
            return Err(DecimalError::Range);
        }
        // In range (checked above), and integral (rounded).
        #[allow(clippy::cast_possible_truncation)]
        let decimal = Decimal::new(scaled as i128, places).ok_or(DecimalError::Range)?;
        let mut text = arrayvec::ArrayString::<TEXT_CAPACITY>::new();
        if fmt::write(&mut text, format_args!("{decimal}")).is_err() {
            return Err(DecimalError::Range);
        }
        // Rust's float parser rounds correctly: equal means `value` is the
        // float nearest to the decimal.
        match text.parse::<f64>() {
            Ok(back) if back == value => Ok(decimal),
            _ => Err(DecimalError::Inexact),
        }
    }

    /// `mantissa * 10^-scale`; `None` if the scale is over [`MAX_SCALE`].
    pub const fn new(mantissa: i128, scale: u8) -> Option<Decimal> {
        if scale > MAX_SCALE {
            None
        } else {
            Some(Decimal::raw(mantissa, scale))
        }
    }

    /// The integer whose digits the number is written with.
    pub const fn mantissa(self) -> i128 {
        ((self.high as i128) << 64) | self.low as i128
    }

    /// The decimal `mantissa * 10^-scale`. The caller has checked that
    /// `scale <= MAX_SCALE` (the table index panics otherwise: an internal
    /// invariant, never input).
    // The halves are the two's-complement bits, split on purpose: `low`
    // keeps the bottom 64 and `high` the top 64 with the sign.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    const fn raw(mantissa: i128, scale: u8) -> Decimal {
        Decimal {
            low: mantissa as u64,
            high: (mantissa >> 64) as i64,
            scale: SCALES[scale as usize],
        }
    }

    /// How many digits follow the point.
    pub const fn scale(self) -> u8 {
        self.scale as u8
    }

    /// Whether the value is zero (at any scale).
    pub const fn is_zero(self) -> bool {
        self.mantissa() == 0
    }

    /// Whether the value is below zero.
    pub const fn is_negative(self) -> bool {
        self.mantissa() < 0
    }

    /// Parses the JSON number grammar and its relatives found in venue strings:
    /// an optional `-`, digits with an optional fraction, an optional exponent
    /// (`1e-8`, `2.5E+3`). Leading zeros are accepted. The scale is the number
    /// of fraction digits, adjusted by the exponent.
    pub fn parse(text: &[u8]) -> Result<Decimal, DecimalError> {
        if let Some(plain) = parse_plain(text) {
            return Ok(plain);
        }
        let (negative, rest) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some(_) => (false, text),
            None => return Err(DecimalError::Syntax),
        };
        let mut magnitude: u128 = 0;
        let mut digits = 0usize;
        let mut scale: i32 = 0;
        let mut index = 0;
        let mut seen_point = false;
        while index < rest.len() {
            let byte = rest[index];
            match byte {
                b'0'..=b'9' => {
                    let digit = u128::from(byte - b'0');
                    // Up to 19 digits fit a u64: a cheap multiply-add; only
                    // longer mantissas pay for checked u128 arithmetic.
                    magnitude = if digits < 19 {
                        magnitude * 10 + digit
                    } else {
                        magnitude
                            .checked_mul(10)
                            .and_then(|m| m.checked_add(digit))
                            .ok_or(DecimalError::Range)?
                    };
                    digits += 1;
                    if seen_point {
                        scale += 1;
                    }
                }
                b'.' if !seen_point && digits > 0 => {
                    seen_point = true;
                    // A point must be followed by at least one digit.
                    if !rest.get(index + 1).is_some_and(u8::is_ascii_digit) {
                        return Err(DecimalError::Syntax);
                    }
                }
                b'e' | b'E' if digits > 0 => break,
                _ => return Err(DecimalError::Syntax),
            }
            index += 1;
        }
        if digits == 0 {
            return Err(DecimalError::Syntax);
        }
        if index < rest.len() {
            scale -= parse_exponent(&rest[index + 1..])?;
        }
        if scale < 0 {
            let shift = usize::try_from(-scale).map_err(|_| DecimalError::Range)?;
            let factor = POW10.get(shift).ok_or(DecimalError::Range)?;
            magnitude = magnitude.checked_mul(*factor).ok_or(DecimalError::Range)?;
            scale = 0;
        }
        let scale = u8::try_from(scale)
            .ok()
            .filter(|s| *s <= MAX_SCALE)
            .ok_or(DecimalError::Range)?;
        let magnitude = i128::try_from(magnitude).map_err(|_| DecimalError::Range)?;
        Ok(Decimal::raw(
            if negative { -magnitude } else { magnitude },
            scale,
        ))
    }

    /// Appends the decimal text (as [`fmt::Display`] writes it); allocates
    /// nothing beyond the Vec's own growth.
    pub fn write_to(self, out: &mut Vec<u8>) {
        let mut buffer = [0u8; TEXT_CAPACITY];
        out.extend_from_slice(self.render(&mut buffer));
    }

    /// The mantissa's digits with no sign, point or leading zeros ("0" for
    /// zero): Kraken's checksum form of a level's price or quantity.
    pub fn write_checksum_digits(self, out: &mut Vec<u8>) {
        let mut buffer = [0u8; 40];
        out.extend_from_slice(self.checksum_digits(&mut buffer));
    }

    /// Writes the checksum digits at the start of `out` and returns how many
    /// (at most 39); `None` if `out` is too short. Writes in place, so no
    /// variable-length copy (a `memmove` call) is needed per value.
    pub fn put_checksum_digits(self, out: &mut [u8]) -> Option<usize> {
        let magnitude = self.mantissa().unsigned_abs();
        let Ok(mut small) = u64::try_from(magnitude) else {
            let mut buffer = [0u8; 40];
            let digits = self.checksum_digits(&mut buffer);
            out.get_mut(..digits.len())?.copy_from_slice(digits);
            return Some(digits.len());
        };
        let count = if small == 0 {
            1
        } else {
            small.ilog10() as usize + 1
        };
        let target = out.get_mut(..count)?;
        for slot in target.iter_mut().rev() {
            *slot = b'0' + (small % 10) as u8;
            small /= 10;
        }
        Some(count)
    }

    /// [`Decimal::write_checksum_digits`] into a stack buffer.
    pub fn checksum_digits(self, buffer: &mut [u8; 40]) -> &[u8] {
        magnitude_digits(self.mantissa().unsigned_abs(), buffer)
    }

    /// Writes the text right-aligned in `buffer`: digits from the right, the
    /// point after `scale` of them, zeros up to one integer digit, the sign.
    fn render(self, buffer: &mut [u8; TEXT_CAPACITY]) -> &[u8] {
        let value = self.mantissa().unsigned_abs();
        if let Ok(small) = u64::try_from(value) {
            return self.render_digits(small, buffer);
        }
        self.render_digits(value, buffer)
    }

    /// `render` over u64 or u128 digits (u64 division is far cheaper).
    fn render_digits<T>(self, mut value: T, buffer: &mut [u8; TEXT_CAPACITY]) -> &[u8]
    where
        T: Copy + PartialEq + From<u8> + std::ops::Rem<Output = T> + std::ops::DivAssign,
        u8: TryFrom<T>,
    {
        let ten = T::from(10);
        let zero = T::from(0);
        let mut start = buffer.len();
        let mut written = 0usize;
        let scale = usize::from(self.scale());
        loop {
            if written == scale && scale > 0 {
                start -= 1;
                buffer[start] = b'.';
            }
            start -= 1;
            // `value % 10` is below 10, so the conversion cannot fail.
            buffer[start] = b'0' + u8::try_from(value % ten).unwrap_or(0);
            value /= ten;
            written += 1;
            if value == zero && written > scale {
                break;
            }
        }
        if self.mantissa() < 0 {
            start -= 1;
            buffer[start] = b'-';
        }
        &buffer[start..]
    }

    /// The same value with no trailing zeros after the point.
    pub fn normalized(self) -> Decimal {
        let mut value = self;
        while value.scale() > 0 && value.mantissa() % 10 == 0 {
            value = Decimal::raw(value.mantissa() / 10, value.scale() - 1);
        }
        value
    }

    /// The value written with `scale` fraction digits, if that is exact and fits.
    pub fn rescaled(self, scale: u8) -> Option<Decimal> {
        if scale > MAX_SCALE {
            return None;
        }
        match scale.cmp(&self.scale()) {
            Ordering::Equal => Some(self),
            Ordering::Greater => {
                let factor = i128::try_from(POW10[usize::from(scale - self.scale())]).ok()?;
                Some(Decimal::raw(self.mantissa().checked_mul(factor)?, scale))
            }
            Ordering::Less => {
                let factor = i128::try_from(POW10[usize::from(self.scale() - scale)]).ok()?;
                (self.mantissa() % factor == 0)
                    .then_some(Decimal::raw(self.mantissa() / factor, scale))
            }
        }
    }

    /// `self + other`, exact; `None` on overflow.
    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale().max(other.scale());
        let a = self.rescaled(scale)?;
        let b = other.rescaled(scale)?;
        Some(Decimal::raw(a.mantissa().checked_add(b.mantissa())?, scale))
    }

    /// `self - other`, exact; `None` on overflow.
    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        self.checked_add(Decimal::raw(other.mantissa().checked_neg()?, other.scale()))
    }

    /// `self * other`, exact; `None` on overflow or a scale beyond 38.
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        Decimal::new(
            self.mantissa().checked_mul(other.mantissa())?,
            self.scale().checked_add(other.scale())?,
        )
    }

    /// `self / other` with `scale` digits after the point, rounded half
    /// away from zero; `None` on division by zero, overflow or a scale
    /// beyond 38. For what cannot be exact (a derived fill's price).
    pub fn checked_div_rounded(self, other: Decimal, scale: u8) -> Option<Decimal> {
        if other.is_zero() || scale > MAX_SCALE {
            return None;
        }
        // q * 10^scale = a.m * 10^(scale - a.scale + b.scale) / b.m
        let shift = i32::from(scale) - i32::from(self.scale()) + i32::from(other.scale());
        let pow =
            |n: i32| -> Option<i128> { i128::try_from(*POW10.get(usize::try_from(n).ok()?)?).ok() };
        let (numerator, denominator) = if shift >= 0 {
            (self.mantissa().checked_mul(pow(shift)?)?, other.mantissa())
        } else {
            (self.mantissa(), other.mantissa().checked_mul(pow(-shift)?)?)
        };
        let quotient = numerator / denominator;
        let remainder = numerator % denominator;
        let round_up = remainder.unsigned_abs().checked_mul(2)? >= denominator.unsigned_abs();
        let sign = if (numerator < 0) == (denominator < 0) {
            1
        } else {
            -1
        };
        let quotient = if round_up {
            quotient.checked_add(sign)?
        } else {
            quotient
        };
        Decimal::new(quotient, scale)
    }

    /// The smaller of two values (the first on a tie).
    pub fn min(self, other: Decimal) -> Decimal {
        if other < self { other } else { self }
    }
}

/// The common case in one tight pass: `-?digits(.digits)?` with at most 19
/// digits (a u64 holds them). Anything else (exponents, long mantissas,
/// malformed text) returns None and takes the general path.
fn parse_plain(text: &[u8]) -> Option<Decimal> {
    let (negative, body) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, text),
    };
    if body.is_empty() || body.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    let mut point = None;
    for (index, &byte) in body.iter().enumerate() {
        // 19 digits fit a u64; a 20th (possible only without a point) might
        // not, so leave it to the general path.
        if point.is_none() && index >= 19 {
            return None;
        }
        let digit = byte.wrapping_sub(b'0');
        if digit < 10 {
            value = value * 10 + u64::from(digit);
        } else if byte == b'.' && point.is_none() && index > 0 && index + 1 < body.len() {
            point = Some(index);
        } else {
            return None;
        }
    }
    let scale = point.map_or(0, |p| body.len() - p - 1);
    let magnitude = i128::from(value);
    // At most 19 fraction digits, below MAX_SCALE.
    let scale = u8::try_from(scale).ok().filter(|s| *s <= MAX_SCALE)?;
    Some(Decimal::raw(
        if negative { -magnitude } else { magnitude },
        scale,
    ))
}

/// Parses `[+-]digits` after an `e`, bounded so that no exponent can overflow.
fn parse_exponent(text: &[u8]) -> Result<i32, DecimalError> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return Err(DecimalError::Syntax);
    }
    let mut value: i32 = 0;
    for byte in digits {
        if !byte.is_ascii_digit() {
            return Err(DecimalError::Syntax);
        }
        value = value * 10 + i32::from(byte - b'0');
        if value > 1000 {
            return Err(DecimalError::Range);
        }
    }
    Ok(if negative { -value } else { value })
}

/// The decimal digits of `value` ("0" for zero), right-aligned in `buffer`.
fn magnitude_digits(value: u128, buffer: &mut [u8; 40]) -> &[u8] {
    let mut start = buffer.len();
    // u64 division by a constant is a multiply; u128's is a library call.
    if let Ok(mut small) = u64::try_from(value) {
        loop {
            start -= 1;
            buffer[start] = b'0' + (small % 10) as u8;
            small /= 10;
            if small == 0 {
                return &buffer[start..];
            }
        }
    }
    let mut value = value;
    loop {
        start -= 1;
        // `value % 10` is below 10, so the cast cannot truncate.
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    &buffer[start..]
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buffer = [0u8; TEXT_CAPACITY];
        // The text is ASCII digits, '-' and '.'.
        f.write_str(std::str::from_utf8(self.render(&mut buffer)).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;
    fn from_str(text: &str) -> Result<Decimal, DecimalError> {
        Decimal::parse(text.as_bytes())
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        let sign = |d: &Decimal| d.mantissa().signum();
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        // Same scale (the usual case within one venue): compare mantissas.
        if self.scale() == other.scale() {
            return self.mantissa().cmp(&other.mantissa());
        }
        // Bring the smaller scale up when that cannot overflow; the exact
        // division-based comparison is the rare fallback (u128 division is
        // a library call, tens of ns).
        let (low, high, flipped) = if self.scale() < other.scale() {
            (*self, *other, false)
        } else {
            (*other, *self, true)
        };
        // 10^38 at most, below i128::MAX.
        let factor =
            i128::try_from(POW10[usize::from(high.scale() - low.scale())]).unwrap_or(i128::MAX);
        if let Some(scaled) = low.mantissa().checked_mul(factor) {
            let order = scaled.cmp(&high.mantissa());
            return if flipped { order.reverse() } else { order };
        }
        let magnitudes = compare_magnitudes(*self, *other);
        if self.mantissa() < 0 {
            magnitudes.reverse()
        } else {
            magnitudes
        }
    }
}

/// Compares |a| and |b| without overflow: integer parts first, then the
/// fractions brought to a common scale (each fraction is below 10^38, which
/// u128 holds).
fn compare_magnitudes(a: Decimal, b: Decimal) -> Ordering {
    let (ma, mb) = (a.mantissa().unsigned_abs(), b.mantissa().unsigned_abs());
    let (pa, pb) = (POW10[usize::from(a.scale())], POW10[usize::from(b.scale())]);
    match (ma / pa).cmp(&(mb / pb)) {
        Ordering::Equal => {}
        unequal => return unequal,
    }
    let scale = a.scale().max(b.scale());
    let fa = (ma % pa) * POW10[usize::from(scale - a.scale())];
    let fb = (mb % pb) * POW10[usize::from(scale - b.scale())];
    fa.cmp(&fb)
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Decimal) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl Hash for Decimal {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal values must hash alike whatever their written scale.
        let normal = self.normalized();
        normal.mantissa().hash(state);
        normal.scale().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn division_rounds_half_away_from_zero_at_the_scale_asked() {
        assert_eq!(
            d("9669.93").checked_div_rounded(d("0.9969"), 2),
            Some(d("9700.00"))
        );
        assert_eq!(
            d("10")
                .checked_div_rounded(d("3"), 4)
                .map(|q| q.to_string()),
            Some("3.3333".into())
        );
        assert_eq!(
            d("2").checked_div_rounded(d("3"), 2).map(|q| q.to_string()),
            Some("0.67".into())
        );
        assert_eq!(
            d("-2")
                .checked_div_rounded(d("3"), 2)
                .map(|q| q.to_string()),
            Some("-0.67".into())
        );
        assert_eq!(d("1").checked_div_rounded(d("0"), 2), None);
        assert_eq!(d("1.5").checked_div_rounded(d("0.5"), 0), Some(d("3")));
    }

    #[test]
    fn a_decimal_and_an_optional_one_take_24_bytes() {
        assert_eq!(size_of::<Decimal>(), 24);
        assert_eq!(size_of::<Option<Decimal>>(), 24);
    }

    #[test]
    fn the_mantissa_survives_its_two_halves() {
        for mantissa in [
            0,
            1,
            -1,
            i128::MAX,
            i128::MIN,
            1 << 64,
            -(1 << 64),
            i128::from(u64::MAX),
        ] {
            let value = Decimal::new(mantissa, 7).unwrap();
            assert_eq!(value.mantissa(), mantissa);
            assert_eq!(value.scale(), 7);
        }
        assert!(Decimal::new(1, MAX_SCALE).is_some());
        assert!(Decimal::new(1, MAX_SCALE + 1).is_none());
    }

    #[test]
    fn keeps_the_written_text() {
        for text in [
            "0.10000000",
            "45283.5",
            "0",
            "-0.5",
            "105944.20",
            "26599.9",
            "0.00100000",
            "123456789012345678901234567890.12345678",
        ] {
            assert_eq!(d(text).to_string(), text);
            let mut out = Vec::new();
            d(text).write_to(&mut out);
            assert_eq!(out, text.as_bytes());
        }
    }

    #[test]
    fn exponents_shift_the_scale() {
        assert_eq!(d("1e-8").to_string(), "0.00000001");
        assert_eq!(d("2.5E+3").to_string(), "2500");
        assert_eq!(d("1.25e1").to_string(), "12.5");
        assert_eq!(d("-7E0").to_string(), "-7");
        assert_eq!(d("1.5e-1").to_string(), "0.15");
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for text in [
            "", "-", ".", "1.", ".5", "1e", "1e+", "abc", "1..2", "--1", "1 ", "0x10", "1.2.3",
        ] {
            assert_eq!(
                Decimal::parse(text.as_bytes()),
                Err(DecimalError::Syntax),
                "{text:?}"
            );
        }
        assert_eq!(Decimal::parse(b"1e39"), Err(DecimalError::Range));
        assert_eq!(Decimal::parse(b"1e-39"), Err(DecimalError::Range));
        assert_eq!(Decimal::parse(b"1e99999999999"), Err(DecimalError::Range));
        assert_eq!(
            Decimal::parse(b"999999999999999999999999999999999999999999"),
            Err(DecimalError::Range)
        );
    }

    #[test]
    fn compares_by_value() {
        assert_eq!(d("1.50"), d("1.5"));
        assert!(d("0.1") < d("0.10000001"));
        assert!(d("-2") < d("-1.99"));
        assert!(d("-0.0") == d("0"));
        assert!(d("170141183460469231731687303715884105727") > d("1.7e38").min(d("1e37")));
        assert_eq!(d("1.5").checked_add(d("0.25")).unwrap().to_string(), "1.75");
        assert_eq!(d("1").checked_sub(d("0.005")).unwrap().to_string(), "0.995");
        assert_eq!(d("0.5").checked_mul(d("3.0")).unwrap().to_string(), "1.50");
    }

    #[test]
    fn checksum_digits_drop_point_and_leading_zeros() {
        let digits = |text: &str| {
            let mut out = Vec::new();
            d(text).write_checksum_digits(&mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(digits("0.10000000"), "10000000");
        assert_eq!(digits("45283.5"), "452835");
        assert_eq!(digits("0.00100000"), "100000");
    }
}
