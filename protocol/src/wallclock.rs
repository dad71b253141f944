//! Venue timestamps: RFC 3339 text to and from nanoseconds since the Unix
//! epoch, without a date library (hot: every execution and book message has
//! one) and without reading a clock.

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into nanoseconds since
/// the Unix epoch. Fractions beyond nanoseconds are truncated. `None` if the
/// text is not such a timestamp.
pub fn parse_rfc3339(text: &[u8]) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        let mut value = 0i64;
        for byte in digits {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(byte - b'0');
        }
        Some(value)
    };
    if text.len() < 20
        || text[4] != b'-'
        || text[7] != b'-'
        || !matches!(text[10], b'T' | b't' | b' ')
        || text[13] != b':'
        || text[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0i64;
    if text[at] == b'.' {
        at += 1;
        let start = at;
        while text.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 9 {
                nanos = nanos * 10 + i64::from(text[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        for _ in (at - start)..9 {
            nanos *= 10;
        }
    }
    let offset_seconds = match text.get(at..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = number_of(*h1, *h2)?;
            let minutes = number_of(*m1, *m2)?;
            let seconds = hours * 3600 + minutes * 60;
            if *sign == b'+' { seconds } else { -seconds }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn number_of(tens: u8, ones: u8) -> Option<i64> {
    (tens.is_ascii_digit() && ones.is_ascii_digit())
        .then(|| i64::from(tens - b'0') * 10 + i64::from(ones - b'0'))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut Vec<u8>, value: i64, width: u32) {
    for position in (0..width).rev() {
        // Each digit is below 10.
        let digit = (value / 10i64.pow(position)).rem_euclid(10);
        out.push(b'0' + u8::try_from(digit).unwrap_or(0));
    }
}

/// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds, as Kraken writes).
pub fn write_rfc3339_micros(nanos_since_epoch: i64, out: &mut Vec<u8>) {
    write_rfc3339(nanos_since_epoch, 6, out);
}

/// Appends the timestamp with `fraction_digits` (0 to 9) after the seconds.
pub fn write_rfc3339(nanos_since_epoch: i64, fraction_digits: u32, out: &mut Vec<u8>) {
    let seconds = nanos_since_epoch.div_euclid(1_000_000_000);
    let nanos = nanos_since_epoch.rem_euclid(1_000_000_000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    push_digits(out, year, 4);
    out.push(b'-');
    push_digits(out, month, 2);
    out.push(b'-');
    push_digits(out, day, 2);
    out.push(b'T');
    push_digits(out, second_of_day / 3600, 2);
    out.push(b':');
    push_digits(out, second_of_day / 60 % 60, 2);
    out.push(b':');
    push_digits(out, second_of_day % 60, 2);
    let digits = fraction_digits.min(9);
    if digits > 0 {
        out.push(b'.');
        // The first `digits` of the nine nanosecond digits.
        push_digits(out, nanos / 10i64.pow(9 - digits), digits);
    }
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kraken_timestamps() {
        // 2023-09-22T10:33:05Z is 1695378785 s after the epoch.
        assert_eq!(
            parse_rfc3339(b"2023-09-22T10:33:05.709950Z"),
            Some(1_695_378_785_709_950_000)
        );
        assert_eq!(
            parse_rfc3339(b"2023-09-21T15:49:29Z"),
            Some(1_695_311_369_000_000_000)
        );
        assert_eq!(parse_rfc3339(b"1970-01-01T00:00:00.000000001Z"), Some(1));
        assert_eq!(
            parse_rfc3339(b"1970-01-01T01:00:00+01:00"),
            Some(0),
            "offsets are applied"
        );
        assert_eq!(
            parse_rfc3339(b"2024-02-29T00:00:00Z").map(|n| n > 0),
            Some(true)
        );
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for text in [
            &b""[..],
            b"2023-09-22",
            b"2023-13-01T00:00:00Z",
            b"2023-02-29T00:00:00Z",
            b"2023-09-22T10:33:05.Z",
            b"2023-09-22T10:33:05",
            b"2023-09-22T25:00:00Z",
            b"2023-09-22T10:33:05.1234Zjunk",
        ] {
            assert_eq!(
                parse_rfc3339(text),
                None,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn writes_what_it_parses() {
        for text in [
            "2023-09-22T10:33:05.709950Z",
            "1999-12-31T23:59:59.000001Z",
            "2100-03-01T00:00:00.000000Z",
        ] {
            let nanos = parse_rfc3339(text.as_bytes()).unwrap();
            let mut out = Vec::new();
            write_rfc3339_micros(nanos, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
        let mut out = Vec::new();
        write_rfc3339(1_695_311_369_000_000_000, 0, &mut out);
        assert_eq!(out, b"2023-09-21T15:49:29Z");
    }
}
