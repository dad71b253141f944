//! Korea Standard Time (UTC+9, no daylight saving) for venues that stamp
//! data with a KST time of day and no date (KIS, Koscom): the trading date
//! to put under it, and the conversion to nanoseconds since the epoch.

use crate::wallclock::days_from_civil;

/// An unsigned decimal integer in ASCII (at most 18 digits).
pub(crate) fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 18 {
        return None;
    }
    let mut value = 0u64;
    for byte in text {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(byte - b'0');
    }
    Some(value)
}

/// `HHMMSS` as seconds of the day.
pub(crate) fn time_of_day(text: &[u8]) -> Option<i64> {
    if text.len() != 6 {
        return None;
    }
    let value = i64::try_from(digits(text)?).ok()?;
    let (h, m, s) = (value / 10_000, value / 100 % 100, value % 100);
    (h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
}

/// `YYYYMMDD` as days since 1970-01-01.
pub(crate) fn date(text: &[u8]) -> Option<i64> {
    if text.len() != 8 {
        return None;
    }
    let value = i64::try_from(digits(text)?).ok()?;
    let (y, m, d) = (value / 10_000, value / 100 % 100, value % 100);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| days_from_civil(y, m, d))
}

/// KST is UTC+9, with no daylight saving.
const KST_OFFSET_S: i64 = 9 * 3600;

/// The trading date records without one are stamped with (kis.md: times
/// are KST `HHMMSS`; only H0STCNT0 carries BSOP_DATE).
///
/// The rule: the later of the last BSOP_DATE seen on this connection and
/// the KST date of the wall clock (`Ctx::wall_ns`), the latter taken back a day when the
/// record's time of day is more than 12 h after the clock's (a record
/// stamped 23:59:59 received at 00:00:01 belongs to the day before). The
/// date is forgotten on reconnect (`reset`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TradingDay {
    pub(crate) last_bsop_date: Option<i64>,
}

impl TradingDay {
    /// Nanoseconds since the epoch of `seconds_of_day` KST on the trading
    /// date.
    pub(crate) fn ts(&self, seconds_of_day: i64, wall_ns: i64) -> i64 {
        let kst = wall_ns.div_euclid(1_000_000_000) + KST_OFFSET_S;
        let (day, wall_of_day) = (kst.div_euclid(86_400), kst.rem_euclid(86_400));
        let by_clock = if seconds_of_day - wall_of_day > 12 * 3600 {
            day - 1
        } else {
            day
        };
        // A BSOP_DATE of an earlier day (a connection open overnight, the
        // pre-open before the day's first trade) gives way to the clock's.
        let day = self
            .last_bsop_date
            .map_or(by_clock, |date| date.max(by_clock));
        at(day, seconds_of_day)
    }
}

/// Nanoseconds since the epoch of `seconds_of_day` KST on `day`.
pub(crate) fn at(day: i64, seconds_of_day: i64) -> i64 {
    (day * 86_400 + seconds_of_day - KST_OFFSET_S).saturating_mul(1_000_000_000)
}
