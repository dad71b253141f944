//! KIS realtime records (kis.md "Realtime data"): `flag|tr_id|count|payload`
//! with `count` records of a fixed number of `^`-separated fields each.
//! Fields are split in place, into a stack array per record: nothing is
//! allocated. A frame whose field count is not `count` times the tr_id's
//! width is a layout error and gives no events.

use arrayvec::{ArrayString, ArrayVec};

use crate::model::{BookEvent, Event, Events, Level, Side, Trade, TradeId, inline};
use crate::num::Decimal;
use crate::venue::DecodeError;
use crate::venue::fields::field;
pub(super) use crate::venue::kst::{TradingDay, at, date, digits, time_of_day};

/// The widest record (NXT and combined quotes).
pub(super) const MAX_WIDTH: usize = 65;

/// What a record is, by its tr_id, and how many fields it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Layout {
    /// H0STCNT0, H0NXCNT0, H0UNCNT0: 46 fields.
    Trade,
    /// H0STASP0: 59 fields; H0NXASP0, H0UNASP0: 65 (the same 59, then the
    /// KMID/NMID midpoint fields).
    Quote(usize),
    /// H0STCNI0, H0STCNI9 once decrypted: 26 fields.
    Notice,
}

impl Layout {
    /// The layout of `tr_id`'s records.
    pub(super) fn of(tr_id: &[u8]) -> Option<Layout> {
        Some(match tr_id {
            b"H0STCNT0" | b"H0NXCNT0" | b"H0UNCNT0" => Layout::Trade,
            b"H0STASP0" => Layout::Quote(59),
            b"H0NXASP0" | b"H0UNASP0" => Layout::Quote(65),
            b"H0STCNI0" | b"H0STCNI9" => Layout::Notice,
            _ => return None,
        })
    }

    /// Fields per record.
    pub(super) fn width(self) -> usize {
        match self {
            Layout::Trade => 46,
            Layout::Quote(width) => width,
            Layout::Notice => 26,
        }
    }
}

/// The parts of a realtime frame.
pub(super) struct Frame<'a> {
    /// `0` plain, `1` encrypted.
    pub(super) encrypted: bool,
    pub(super) tr_id: &'a [u8],
    pub(super) count: usize,
    pub(super) payload: &'a [u8],
}

/// Splits `flag|tr_id|count|payload`; the payload is everything after the
/// third `|`.
pub(super) fn frame(message: &[u8]) -> Result<Frame<'_>, DecodeError> {
    let mut parts = message.splitn(4, |b| *b == b'|');
    let flag = parts.next().unwrap_or_default();
    let tr_id = parts.next().ok_or(field("tr_id", "missing"))?;
    let count = parts.next().ok_or(field("count", "missing"))?;
    let payload = parts.next().ok_or(field("payload", "missing"))?;
    let encrypted = match flag {
        b"0" => false,
        b"1" => true,
        _ => return Err(field("flag", "neither 0 nor 1")),
    };
    let count = digits(count).ok_or(field("count", "not a number"))?;
    let count = usize::try_from(count).map_err(|_| field("count", "too large"))?;
    if count == 0 {
        return Err(field("count", "zero records"));
    }
    Ok(Frame {
        encrypted,
        tr_id,
        count,
        payload,
    })
}

/// Checks that `payload` holds exactly `count` records of `width` fields.
pub(super) fn check_layout(payload: &[u8], count: usize, width: usize) -> Result<(), DecodeError> {
    let fields = payload.iter().filter(|b| **b == b'^').count() + 1;
    if Some(fields) == count.checked_mul(width) {
        Ok(())
    } else {
        Err(field(
            "payload",
            "field count is not count times the record width",
        ))
    }
}

/// Calls `each` with every record's fields, in order.
pub(super) fn for_each_record<'a>(
    payload: &'a [u8],
    width: usize,
    mut each: impl FnMut(&[&'a [u8]]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut record: ArrayVec<&'a [u8], MAX_WIDTH> = ArrayVec::new();
    for value in payload.split(|b| *b == b'^') {
        // `width` is at most MAX_WIDTH (Layout), so a record always fits.
        if record.try_push(value).is_err() {
            return Err(field("payload", "record wider than its layout"));
        }
        if record.len() == width {
            each(&record)?;
            record.clear();
        }
    }
    if record.is_empty() {
        Ok(())
    } else {
        Err(field("payload", "a record cut short"))
    }
}

/// KIS prices and volumes are whole numbers (KRW, shares): those take a
/// digit loop; anything else the full decimal parser.
fn decimal(text: &[u8], name: &'static str) -> Result<Decimal, DecodeError> {
    if let Some(value) = digits(text) {
        return Decimal::new(i128::from(value), 0).ok_or(field(name, "not a decimal"));
    }
    Decimal::parse(text).map_err(|_| field(name, "not a decimal"))
}

/// One H0STCNT0-layout record to a trade (kis.md field table: 0 code, 1
/// time, 2 price, 12 volume, 13 cumulative volume, 21 CCLD_DVSN, 33
/// BSOP_DATE).
pub(super) fn trade(
    record: &[&[u8]],
    day: &mut TradingDay,
    out: &mut Events,
) -> Result<(), DecodeError> {
    let get = |index: usize| record.get(index).copied().unwrap_or_default();
    let code = std::str::from_utf8(get(0)).map_err(|_| field("MKSC_SHRN_ISCD", "not text"))?;
    let symbol = inline(code).ok_or(field("MKSC_SHRN_ISCD", "too long"))?;
    let seconds = time_of_day(get(1)).ok_or(field("STCK_CNTG_HOUR", "not HHMMSS"))?;
    let date = date(get(33)).ok_or(field("BSOP_DATE", "not YYYYMMDD"))?;
    day.last_bsop_date = Some(date);
    let side = match get(21) {
        b"1" => Some(Side::Buy),
        b"5" => Some(Side::Sell),
        // 3: pre-market single price, no aggressor.
        _ => None,
    };
    // KIS gives no trade id: the time and the cumulative volume after the
    // trade tell trades of one code apart.
    let mut trade_id: TradeId = ArrayString::new();
    let time = std::str::from_utf8(get(1)).unwrap_or_default();
    let cumulative = std::str::from_utf8(get(13)).map_err(|_| field("ACML_VOL", "not text"))?;
    if digits(get(13)).is_none()
        || trade_id.try_push_str(time).is_err()
        || trade_id.try_push('-').is_err()
        || trade_id.try_push_str(cumulative).is_err()
    {
        return Err(field("ACML_VOL", "not a volume"));
    }
    out.list.push(Event::Trade(Trade {
        symbol,
        price: decimal(get(2), "STCK_PRPR")?,
        qty: decimal(get(12), "CNTG_VOL")?,
        side,
        trade_id,
        ts: Some(at(date, seconds)),
        from_snapshot: false,
    }));
    Ok(())
}

/// One H0STASP0-layout record to a whole 10-level book (3-12 ask prices,
/// 13-22 bid prices, 23-32 ask sizes, 33-42 bid sizes); empty levels
/// (price 0) are left out.
pub(super) fn quote(
    record: &[&[u8]],
    day: &TradingDay,
    wall_ns: i64,
    out: &mut Events,
) -> Result<(), DecodeError> {
    let get = |index: usize| record.get(index).copied().unwrap_or_default();
    let code = std::str::from_utf8(get(0)).map_err(|_| field("MKSC_SHRN_ISCD", "not text"))?;
    let symbol = inline(code).ok_or(field("MKSC_SHRN_ISCD", "too long"))?;
    let seconds = time_of_day(get(1)).ok_or(field("BSOP_HOUR", "not HHMMSS"))?;
    let levels_before = out.levels.len();
    let side = |price_at: usize, qty_at: usize, out: &mut Events| {
        let start = out.levels.len();
        for level in 0..10 {
            let price = decimal(get(price_at + level), "ASKP/BIDP")?;
            let qty = decimal(get(qty_at + level), "ASKP_RSQN/BIDP_RSQN")?;
            if !price.is_zero() {
                out.levels.push(Level { price, qty });
            }
        }
        Ok::<_, DecodeError>(start..out.levels.len())
    };
    let levels = side(13, 33, out).and_then(|bids| Ok((bids, side(3, 23, out)?)));
    let (bids, asks) = match levels {
        Ok(ranges) => ranges,
        Err(error) => {
            out.levels.truncate(levels_before);
            return Err(error);
        }
    };
    out.list.push(Event::Book(BookEvent {
        symbol,
        snapshot: true,
        bids,
        asks,
        checksum: None,
        sequence: None,
        ts: Some(day.ts(seconds, wall_ns)),
        from_snapshot: false,
        grouping: None,
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(time_of_day(b"123929"), Some(12 * 3600 + 39 * 60 + 29));
        assert_eq!(time_of_day(b"246000"), None);
        assert_eq!(time_of_day(b"12392"), None);
        assert_eq!(date(b"19700101"), Some(0));
        assert_eq!(date(b"20231004"), Some(19_634));
        // 2023-10-04 09:00:00 KST is 00:00:00 UTC.
        assert_eq!(at(19_634, 9 * 3600), 19_634 * 86_400 * 1_000_000_000);
    }

    #[test]
    fn a_record_before_midnight_received_after_it_keeps_its_day() {
        let day = TradingDay::default();
        // The wall clock reads 00:00:01 KST on day 19_635 (15:00:01 UTC of
        // the day before).
        let wall = at(19_635, 1);
        assert_eq!(day.ts(86_399, wall), at(19_634, 86_399));
        assert_eq!(day.ts(2, wall), at(19_635, 2));
    }
}
