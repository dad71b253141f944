//! Upbit messages to normalised events (upbit.md "Formats", "Pushes"):
//! DEFAULT and SIMPLE keys alike, one object per frame or a JSON array of
//! them (the `_LIST` formats), in binary or text frames. Prices and
//! quantities are exact decimals from the number text (`100473000.00000000`).
//!
//! One pass over the object records where each known field's value is;
//! the type, which may come anywhere in the object, decides what they mean
//! (`ap` is avg_price in myOrder and ask_price in an orderbook unit).

use arrayvec::ArrayVec;

use crate::json::{Kind, RawStr, Scanner};
use crate::model::{
    Balance, BookEvent, Candle, Event, Events, Fill, Level, Liquidity, Method, OrderDetail,
    OrderStatus, OrderType, OrderUpdate, Prevented, Response, SelfTradeMode, Side, Ticker,
    TimeInForce, Trade, inline,
};
use crate::num::Decimal;
use crate::venue::DecodeError;
use crate::venue::fields::field;

/// A message's fields, read in one pass. Every field kept means the same
/// whatever the type (SIMPLE `ap` is avg_price at the top level and
/// ask_price only inside an orderbook unit, which is read apart), so values
/// are parsed as they come; the nested lists (units, assets, the error) are
/// read once the type is known.
#[derive(Default)]
struct Fields<'a> {
    kind: Option<&'a str>,
    code: Option<&'a str>,
    trade_price: Option<Decimal>,
    trade_volume: Option<Decimal>,
    ask_bid: Option<&'a str>,
    sequential_id: Option<&'a str>,
    trade_timestamp: Option<u64>,
    timestamp: Option<u64>,
    acc_trade_volume_24h: Option<Decimal>,
    /// The book's ask and bid runs in `Events::levels`.
    book: Option<(std::ops::Range<usize>, std::ops::Range<usize>)>,
    uuid: Option<&'a str>,
    state: Option<&'a str>,
    trade_uuid: Option<&'a str>,
    price: Option<Decimal>,
    volume: Option<Decimal>,
    remaining_volume: Option<Decimal>,
    executed_volume: Option<Decimal>,
    trade_fee: Option<Decimal>,
    is_maker: Option<bool>,
    identifier: Option<&'a str>,
    assets: Option<usize>,
    status: Option<&'a str>,
    error: Option<usize>,
    method: Option<&'a str>,
    result: Option<usize>,
    smp_type: Option<&'a str>,
    /// `stream_type` SNAPSHOT (true) or REALTIME.
    from_snapshot: bool,
    level: Option<Decimal>,
    avg_price: Option<Decimal>,
    executed_funds: Option<Decimal>,
    paid_fee: Option<Decimal>,
    order_type: Option<&'a str>,
    time_in_force: Option<&'a str>,
    order_timestamp: Option<u64>,
    trades_count: Option<u64>,
    locked: Option<Decimal>,
    prevented_volume: Option<Decimal>,
    prevented_locked: Option<Decimal>,
    asset_timestamp: Option<u64>,
    candle_start: Option<&'a str>,
    opening_price: Option<Decimal>,
    high_price: Option<Decimal>,
    low_price: Option<Decimal>,
    candle_volume: Option<Decimal>,
}

/// The keys the decoder reads.
#[derive(Clone, Copy)]
enum Key {
    Type,
    Code,
    TradePrice,
    TradeVolume,
    AskBid,
    SequentialId,
    TradeTimestamp,
    Timestamp,
    AccTradeVolume24h,
    Units,
    Uuid,
    State,
    TradeUuid,
    Price,
    Volume,
    RemainingVolume,
    ExecutedVolume,
    TradeFee,
    IsMaker,
    Identifier,
    Assets,
    Status,
    Method,
    Result,
    Error,
    SmpType,
    StreamType,
    Level,
    AvgPrice,
    ExecutedFunds,
    PaidFee,
    OrderType,
    TimeInForce,
    OrderTimestamp,
    TradesCount,
    Locked,
    PreventedVolume,
    PreventedLocked,
    AssetTimestamp,
    CandleStart,
    OpeningPrice,
    HighPrice,
    LowPrice,
    CandleVolume,
    Other,
}

/// A key's meaning, by its DEFAULT or SIMPLE name (older guide examples
/// say `market` / `mk` for `code` / `cd`; the deprecated SIMPLE `ts`,
/// trade_status, is deliberately not read). Dispatched on the length first:
/// a trade has 18 keys, most of them skipped.
fn classify(key: &[u8]) -> Key {
    match key.len() {
        1 => match key {
            b"s" => Key::State,
            b"p" => Key::Price,
            b"v" => Key::Volume,
            b"l" => Key::Locked,
            _ => Key::Other,
        },
        2 => match key {
            b"ty" => Key::Type,
            b"cd" | b"mk" => Key::Code,
            b"tp" => Key::TradePrice,
            b"tv" => Key::TradeVolume,
            b"ab" => Key::AskBid,
            b"rv" => Key::RemainingVolume,
            b"ev" => Key::ExecutedVolume,
            b"tf" => Key::TradeFee,
            b"im" => Key::IsMaker,
            b"id" => Key::Identifier,
            b"st" => Key::StreamType,
            b"lv" => Key::Level,
            b"ap" => Key::AvgPrice,
            b"ef" => Key::ExecutedFunds,
            b"pf" => Key::PaidFee,
            b"ot" => Key::OrderType,
            b"tc" => Key::TradesCount,
            b"pv" => Key::PreventedVolume,
            b"pl" => Key::PreventedLocked,
            b"op" => Key::OpeningPrice,
            b"hp" => Key::HighPrice,
            b"lp" => Key::LowPrice,
            _ => Key::Other,
        },
        3 => match key {
            b"sid" => Key::SequentialId,
            b"tms" => Key::Timestamp,
            b"obu" => Key::Units,
            b"uid" => Key::Uuid,
            b"ast" => Key::Assets,
            b"tif" => Key::TimeInForce,
            _ => Key::Other,
        },
        4 => match key {
            b"type" => Key::Type,
            b"code" => Key::Code,
            b"ttms" => Key::TradeTimestamp,
            b"uuid" => Key::Uuid,
            b"tuid" => Key::TradeUuid,
            b"mthd" => Key::Method,
            b"rslt" => Key::Result,
            b"smpt" => Key::SmpType,
            b"otms" => Key::OrderTimestamp,
            b"catv" => Key::CandleVolume,
            _ => Key::Other,
        },
        5 => match key {
            b"state" => Key::State,
            b"price" => Key::Price,
            b"error" => Key::Error,
            b"level" => Key::Level,
            _ => Key::Other,
        },
        6 => match key {
            b"market" => Key::Code,
            b"atv24h" => Key::AccTradeVolume24h,
            b"volume" => Key::Volume,
            b"assets" => Key::Assets,
            b"status" => Key::Status,
            b"method" => Key::Method,
            b"result" => Key::Result,
            b"locked" => Key::Locked,
            b"asttms" => Key::AssetTimestamp,
            b"cdttmu" => Key::CandleStart,
            _ => Key::Other,
        },
        7 => match key {
            b"ask_bid" => Key::AskBid,
            _ => Key::Other,
        },
        8 => match key {
            b"is_maker" => Key::IsMaker,
            b"smp_type" => Key::SmpType,
            b"paid_fee" => Key::PaidFee,
            _ => Key::Other,
        },
        9 => match key {
            b"timestamp" => Key::Timestamp,
            b"trade_fee" => Key::TradeFee,
            b"avg_price" => Key::AvgPrice,
            b"low_price" => Key::LowPrice,
            _ => Key::Other,
        },
        10 => match key {
            b"trade_uuid" => Key::TradeUuid,
            b"identifier" => Key::Identifier,
            b"order_type" => Key::OrderType,
            b"high_price" => Key::HighPrice,
            _ => Key::Other,
        },
        11 => match key {
            b"trade_price" => Key::TradePrice,
            b"stream_type" => Key::StreamType,
            _ => Key::Other,
        },
        12 => match key {
            b"trade_volume" => Key::TradeVolume,
            b"trades_count" => Key::TradesCount,
            _ => Key::Other,
        },
        13 => match key {
            b"sequential_id" => Key::SequentialId,
            b"time_in_force" => Key::TimeInForce,
            b"opening_price" => Key::OpeningPrice,
            _ => Key::Other,
        },
        14 => match key {
            b"executed_funds" => Key::ExecutedFunds,
            _ => Key::Other,
        },
        15 => match key {
            b"trade_timestamp" => Key::TradeTimestamp,
            b"orderbook_units" => Key::Units,
            b"executed_volume" => Key::ExecutedVolume,
            b"order_timestamp" => Key::OrderTimestamp,
            b"asset_timestamp" => Key::AssetTimestamp,
            _ => Key::Other,
        },
        16 => match key {
            b"remaining_volume" => Key::RemainingVolume,
            b"prevented_volume" => Key::PreventedVolume,
            b"prevented_locked" => Key::PreventedLocked,
            _ => Key::Other,
        },
        20 => match key {
            b"acc_trade_volume_24h" => Key::AccTradeVolume24h,
            b"candle_date_time_utc" => Key::CandleStart,
            _ => Key::Other,
        },
        23 => match key {
            b"candle_acc_trade_volume" => Key::CandleVolume,
            _ => Key::Other,
        },
        _ => Key::Other,
    }
}

/// Decodes one message: an object, or an array of objects.
pub(crate) fn decode_message(message: &[u8], out: &mut Events) -> Result<(), DecodeError> {
    let trimmed = message.trim_ascii();
    let mut scanner = Scanner::new(trimmed);
    let decoded = match scanner.kind()? {
        Kind::Array => {
            // One bad object does not lose the others: it is skipped, and
            // the first error is returned after the rest are decoded.
            let mut first_error = None;
            scanner.begin_array()?;
            while scanner.next_element()? {
                let start = scanner.position();
                if let Err(error) = decode_object(&mut scanner, out) {
                    scanner.rewind(start);
                    scanner.skip_value()?;
                    first_error.get_or_insert(error);
                }
            }
            first_error.map_or(Ok(()), Err)
        }
        Kind::Object => decode_object(&mut scanner, out),
        _ => Err(field("message", "neither an object nor an array")),
    };
    decoded?;
    // Nothing may follow the message.
    scanner.finish()?;
    Ok(())
}

fn decode_object<'a>(scanner: &mut Scanner<'a>, out: &mut Events) -> Result<(), DecodeError> {
    let mut f = Fields::default();
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        // DEFAULT and SIMPLE names; older guide examples say `market` /
        // `mk` for `code` / `cd`. The deprecated SIMPLE `ts`
        // (trade_status) is deliberately not read.
        match classify(key.raw) {
            Key::Type => f.kind = text(scanner, "type")?,
            Key::Code => f.code = text(scanner, "code")?,
            Key::TradePrice => f.trade_price = decimal(scanner, "trade_price")?,
            Key::TradeVolume => f.trade_volume = decimal(scanner, "trade_volume")?,
            Key::AskBid => f.ask_bid = text(scanner, "ask_bid")?,
            Key::SequentialId => f.sequential_id = raw_id(scanner)?,
            Key::TradeTimestamp => f.trade_timestamp = millis(scanner)?,
            Key::Timestamp => f.timestamp = millis(scanner)?,
            Key::AccTradeVolume24h => {
                f.acc_trade_volume_24h = decimal(scanner, "acc_trade_volume_24h")?;
            }
            // Only orderbooks carry units: read at once, in this pass.
            Key::Units => f.book = Some(read_units(scanner, out)?),
            Key::Uuid => f.uuid = text(scanner, "uuid")?,
            Key::State => f.state = text(scanner, "state")?,
            Key::TradeUuid => f.trade_uuid = text(scanner, "trade_uuid")?,
            Key::Price => f.price = decimal(scanner, "price")?,
            Key::Volume => f.volume = decimal(scanner, "volume")?,
            Key::RemainingVolume => f.remaining_volume = decimal(scanner, "remaining_volume")?,
            Key::ExecutedVolume => f.executed_volume = decimal(scanner, "executed_volume")?,
            Key::TradeFee => f.trade_fee = decimal(scanner, "trade_fee")?,
            Key::IsMaker => f.is_maker = boolean(scanner)?,
            Key::Identifier => f.identifier = text(scanner, "identifier")?,
            Key::Assets => f.assets = Some(skip_at(scanner)?),
            Key::Status => f.status = text(scanner, "status")?,
            Key::Method => f.method = text(scanner, "method")?,
            Key::Result => f.result = Some(skip_at(scanner)?),
            Key::Error => f.error = Some(skip_at(scanner)?),
            Key::SmpType => f.smp_type = text(scanner, "smp_type")?,
            Key::StreamType => f.from_snapshot = text(scanner, "stream_type")? == Some("SNAPSHOT"),
            Key::Level => f.level = decimal(scanner, "level")?,
            Key::AvgPrice => f.avg_price = decimal(scanner, "avg_price")?,
            Key::ExecutedFunds => f.executed_funds = decimal(scanner, "executed_funds")?,
            Key::PaidFee => f.paid_fee = decimal(scanner, "paid_fee")?,
            Key::OrderType => f.order_type = text(scanner, "order_type")?,
            Key::TimeInForce => f.time_in_force = text(scanner, "time_in_force")?,
            Key::OrderTimestamp => f.order_timestamp = millis(scanner)?,
            Key::TradesCount => f.trades_count = millis(scanner)?,
            Key::Locked => f.locked = decimal(scanner, "locked")?,
            Key::PreventedVolume => f.prevented_volume = decimal(scanner, "prevented_volume")?,
            Key::PreventedLocked => f.prevented_locked = decimal(scanner, "prevented_locked")?,
            Key::AssetTimestamp => f.asset_timestamp = millis(scanner)?,
            Key::CandleStart => f.candle_start = text(scanner, "candle_date_time_utc")?,
            Key::OpeningPrice => f.opening_price = decimal(scanner, "opening_price")?,
            Key::HighPrice => f.high_price = decimal(scanner, "high_price")?,
            Key::LowPrice => f.low_price = decimal(scanner, "low_price")?,
            Key::CandleVolume => f.candle_volume = decimal(scanner, "candle_acc_trade_volume")?,
            Key::Other => {
                scanner.skip_value()?;
            }
        }
    }
    let read = Reader {
        input: scanner.input(),
        f: &f,
    };
    if read.f.error.is_some() {
        return read.venue_error(out);
    }
    if read.f.status == Some("UP") {
        out.list.push(Event::Heartbeat);
        return Ok(());
    }
    if read.f.method == Some("LIST_SUBSCRIPTIONS") {
        return read.list_subscriptions(out);
    }
    match read.f.kind {
        Some("trade") => read.trade(out),
        Some("ticker") => read.ticker(out),
        Some("orderbook") => read.orderbook(out),
        Some("myOrder") => read.my_order(out),
        Some("myAsset") => read.my_asset(out),
        Some(kind) if kind.starts_with("candle.") => read.candle(&kind["candle.".len()..], out),
        Some(_) => Err(DecodeError::Unknown("type")),
        None => Err(field("type", "missing")),
    }
}

/// A plain string (no escapes), or None for null.
fn text<'a>(scanner: &mut Scanner<'a>, name: &'static str) -> Result<Option<&'a str>, DecodeError> {
    match scanner.kind()? {
        Kind::Null => {
            scanner.null()?;
            Ok(None)
        }
        Kind::String => Ok(Some(plain(scanner.string()?, name)?)),
        _ => Err(field(name, "not a string")),
    }
}

/// An exact decimal from a JSON number (or a numeric string), or None.
fn decimal(scanner: &mut Scanner<'_>, name: &'static str) -> Result<Option<Decimal>, DecodeError> {
    if scanner.kind()? == Kind::Null {
        scanner.null()?;
        return Ok(None);
    }
    number(scanner, name).map(Some)
}

/// Milliseconds since the epoch, or None.
fn millis(scanner: &mut Scanner<'_>) -> Result<Option<u64>, DecodeError> {
    if scanner.kind()? == Kind::Null {
        scanner.null()?;
        return Ok(None);
    }
    Ok(Some(scanner.unsigned()?))
}

/// An id written as a number or a string, as its text.
fn raw_id<'a>(scanner: &mut Scanner<'a>) -> Result<Option<&'a str>, DecodeError> {
    let raw = match scanner.kind()? {
        Kind::Null => {
            scanner.null()?;
            return Ok(None);
        }
        Kind::String => plain(scanner.string()?, "id")?.as_bytes(),
        Kind::Number => scanner.number()?,
        _ => return Err(field("id", "neither a number nor a string")),
    };
    Ok(std::str::from_utf8(raw).ok())
}

fn boolean(scanner: &mut Scanner<'_>) -> Result<Option<bool>, DecodeError> {
    match scanner.kind()? {
        Kind::Null => {
            scanner.null()?;
            Ok(None)
        }
        Kind::Bool => Ok(Some(scanner.boolean()?)),
        _ => Err(field("is_maker", "not a boolean")),
    }
}

/// Where a nested value starts; the scanner moves past it.
fn skip_at(scanner: &mut Scanner<'_>) -> Result<usize, DecodeError> {
    scanner.kind()?;
    let at = scanner.position();
    scanner.skip_value()?;
    Ok(at)
}

fn to_ns(ms: Option<u64>) -> Option<i64> {
    ms.and_then(|ms| i64::try_from(ms).ok()?.checked_mul(1_000_000))
}

/// Makes the events of one message from its fields.
struct Reader<'a, 'f> {
    input: &'a [u8],
    f: &'f Fields<'a>,
}

impl Reader<'_, '_> {
    fn at(&self, position: usize) -> Scanner<'_> {
        let mut scanner = Scanner::new(self.input);
        scanner.rewind(position);
        scanner
    }

    fn symbol(&self) -> Result<crate::model::Symbol, DecodeError> {
        let code = self.f.code.ok_or(field("code", "missing"))?;
        inline(code).ok_or(field("code", "too long"))
    }

    fn side(&self) -> Result<Option<Side>, DecodeError> {
        Ok(match self.f.ask_bid {
            Some("BID") => Some(Side::Buy),
            Some("ASK") => Some(Side::Sell),
            Some(_) => return Err(field("ask_bid", "neither BID nor ASK")),
            None => None,
        })
    }

    fn trade(&self, out: &mut Events) -> Result<(), DecodeError> {
        let trade_id = self
            .f
            .sequential_id
            .ok_or(field("sequential_id", "missing"))?;
        out.list.push(Event::Trade(Trade {
            symbol: self.symbol()?,
            price: self.f.trade_price.ok_or(field("trade_price", "missing"))?,
            qty: self
                .f
                .trade_volume
                .ok_or(field("trade_volume", "missing"))?,
            side: self.side()?,
            trade_id: inline(trade_id).ok_or(field("sequential_id", "too long"))?,
            ts: to_ns(self.f.trade_timestamp),
            from_snapshot: self.f.from_snapshot,
        }));
        Ok(())
    }

    fn ticker(&self, out: &mut Events) -> Result<(), DecodeError> {
        // Upbit's ticker has no best bid or ask (the orderbook has).
        out.list.push(Event::Ticker(Ticker {
            symbol: self.symbol()?,
            last: self.f.trade_price,
            bid: None,
            ask: None,
            bid_qty: None,
            ask_qty: None,
            volume: self.f.acc_trade_volume_24h,
            ts: to_ns(self.f.timestamp),
        }));
        Ok(())
    }

    /// Every orderbook message is a whole book: a snapshot, to replace.
    fn orderbook(&self, out: &mut Events) -> Result<(), DecodeError> {
        let symbol = self.symbol()?;
        let (asks, bids) = self
            .f
            .book
            .clone()
            .ok_or(field("orderbook_units", "missing"))?;
        out.list.push(Event::Book(BookEvent {
            symbol,
            snapshot: true,
            bids,
            asks,
            checksum: None,
            sequence: None,
            ts: to_ns(self.f.timestamp),
            from_snapshot: self.f.from_snapshot,
            // Level 0 is the market's own tick: no grouping.
            grouping: self.f.level.filter(|level| !level.is_zero()),
        }));
        Ok(())
    }

    fn my_order(&self, out: &mut Events) -> Result<(), DecodeError> {
        let f = self.f;
        let uuid = f.uuid.ok_or(field("uuid", "missing"))?;
        let order_id = inline(uuid).ok_or(field("uuid", "too long"))?;
        let client_order_id = f
            .identifier
            .map(|id| inline(id).ok_or(field("identifier", "too long")))
            .transpose()?;
        let symbol = Some(self.symbol()?);
        let side = self.side()?;
        let state = f.state.ok_or(field("state", "missing"))?;
        let (executed, remaining) = (f.executed_volume, f.remaining_volume);
        let some_executed = executed.is_some_and(|e| e > Decimal::ZERO);
        let some_remaining = remaining.is_some_and(|r| r > Decimal::ZERO);
        let status = match state {
            "wait" if some_executed => OrderStatus::PartiallyFilled,
            "wait" | "watch" => OrderStatus::New,
            // A trade is final only when nothing remains; with the remaining
            // volume unknown (a market order's may be null), `done` closes.
            "trade" if remaining.is_some_and(Decimal::is_zero) => OrderStatus::Filled,
            "trade" => OrderStatus::PartiallyFilled,
            "done" => OrderStatus::Filled,
            // Self-match prevention that only reduced the order: it lives on.
            "prevented" if f.smp_type == Some("reduce") && some_remaining => {
                if some_executed {
                    OrderStatus::PartiallyFilled
                } else {
                    OrderStatus::New
                }
            }
            "cancel" | "prevented" => OrderStatus::Canceled,
            _ => return Err(DecodeError::Unknown("state")),
        };
        // With state `trade`, price and volume are the fill's: the order's
        // quantity is what was executed plus what remains.
        let (order_price, order_qty) = match state {
            "trade" => (
                None,
                match (executed, remaining) {
                    (Some(e), Some(r)) => e.checked_add(r),
                    _ => None,
                },
            ),
            _ => (f.price, f.volume),
        };
        // A trade's fill is checked before anything is pushed: an update
        // without its fill would move filled_qty and lose the execution.
        let fill = if state == "trade" {
            Some((
                f.trade_uuid.ok_or(field("trade_uuid", "missing"))?,
                f.price.ok_or(field("price", "missing on a trade"))?,
                f.volume.ok_or(field("volume", "missing on a trade"))?,
            ))
        } else {
            None
        };
        out.push_order_update(OrderUpdate {
            order_id,
            client_order_id,
            symbol,
            side,
            status,
            price: order_price,
            qty: order_qty,
            filled_qty: executed,
            from_snapshot: false,
            ts: to_ns(f.timestamp),
            detail: self.order_detail(state, symbol)?,
        });
        if let Some((trade_uuid, price, volume)) = fill {
            let quote = quote_asset(symbol);
            out.push_fill(Fill {
                order_id,
                client_order_id,
                symbol,
                side,
                price,
                qty: volume,
                fee: f.trade_fee,
                fee_asset: quote,
                trade_id: inline(trade_uuid).ok_or(field("trade_uuid", "too long"))?,
                exec_id: None,
                liquidity: f.is_maker.map(|maker| {
                    if maker {
                        Liquidity::Maker
                    } else {
                        Liquidity::Taker
                    }
                }),
                ts: to_ns(f.trade_timestamp),
                derived: false,
            });
        }
        Ok(())
    }

    /// What myOrder says beyond the order's state.
    fn order_detail(
        &self,
        state: &str,
        symbol: Option<crate::model::Symbol>,
    ) -> Result<OrderDetail, DecodeError> {
        let f = self.f;
        let (order_type, tif, post_only) = order_kind(f.order_type, f.time_in_force)?;
        // Self-match prevention is reported on the `prevented` state; the
        // fields come (null or "0") on every myOrder and mean nothing then.
        let prevented = if state == "prevented" {
            let mode = match f.smp_type {
                Some("reduce") => Some(SelfTradeMode::Reduce),
                Some("cancel_maker") => Some(SelfTradeMode::CancelMaker),
                Some("cancel_taker") => Some(SelfTradeMode::CancelTaker),
                Some(_) => return Err(DecodeError::Unknown("smp_type")),
                None => None,
            };
            Some(Prevented {
                mode,
                qty: f.prevented_volume,
                locked: f.prevented_locked,
            })
        } else {
            None
        };
        Ok(OrderDetail {
            avg_price: f.avg_price,
            filled_notional: f.executed_funds,
            fee: f.paid_fee,
            fee_asset: quote_asset(symbol),
            order_type,
            time_in_force: tif,
            post_only,
            created_ts: to_ns(f.order_timestamp),
            trigger_price: None,
            trades_count: f.trades_count.and_then(|count| u32::try_from(count).ok()),
            locked: f.locked,
            prevented,
        })
    }

    /// A `candle.{unit}` push: the bar so far (Upbit re-sends a bar while
    /// trades change it, and does not say when it closes).
    fn candle(&self, unit: &str, out: &mut Events) -> Result<(), DecodeError> {
        let f = self.f;
        let interval = match unit {
            "1s" | "1m" | "3m" | "5m" | "10m" | "15m" | "30m" => unit,
            "60m" => "1h",
            "240m" => "4h",
            _ => return Err(DecodeError::Unknown("candle unit")),
        };
        let start = f
            .candle_start
            .and_then(utc_without_zone)
            .ok_or(field("candle_date_time_utc", "missing or not a time"))?;
        out.list.push(Event::Candle(Candle {
            symbol: self.symbol()?,
            // Every unit above fits: at most 3 bytes.
            interval: inline(interval).ok_or(field("type", "unit too long"))?,
            open: f.opening_price.ok_or(field("opening_price", "missing"))?,
            high: f.high_price.ok_or(field("high_price", "missing"))?,
            low: f.low_price.ok_or(field("low_price", "missing"))?,
            close: f.trade_price.ok_or(field("trade_price", "missing"))?,
            volume: f
                .candle_volume
                .ok_or(field("candle_acc_trade_volume", "missing"))?,
            start,
            closed: None,
            from_snapshot: f.from_snapshot,
            ts: to_ns(f.timestamp),
        }));
        Ok(())
    }

    fn my_asset(&self, out: &mut Events) -> Result<(), DecodeError> {
        let mut scanner = self.at(self.f.assets.ok_or(field("assets", "missing"))?);
        scanner.begin_array()?;
        while scanner.next_element()? {
            let (mut asset, mut free, mut locked) = (None, None, None);
            scanner.begin_object()?;
            while let Some(key) = scanner.next_key()? {
                match key.raw {
                    b"currency" | b"cu" => asset = Some(plain(scanner.string()?, "currency")?),
                    b"balance" | b"b" => free = Some(number(&mut scanner, "balance")?),
                    b"locked" | b"l" => locked = Some(number(&mut scanner, "locked")?),
                    _ => {
                        scanner.skip_value()?;
                    }
                }
            }
            let asset = asset.ok_or(field("currency", "missing"))?;
            out.list.push(Event::Balance(Balance {
                asset: inline(asset).ok_or(field("currency", "too long"))?,
                free: free.ok_or(field("balance", "missing"))?,
                locked: locked.unwrap_or(Decimal::ZERO),
                ts: to_ns(self.f.asset_timestamp.or(self.f.timestamp)),
            }));
        }
        Ok(())
    }

    /// The answer to LIST_SUBSCRIPTIONS: a response whose message lists
    /// `type:CODE,CODE` per subscription.
    fn list_subscriptions(&self, out: &mut Events) -> Result<(), DecodeError> {
        let mut listed = String::new();
        if let Some(at) = self.f.result {
            let mut scanner = self.at(at);
            scanner.begin_array()?;
            while scanner.next_element()? {
                scanner.begin_object()?;
                let (mut kind, mut codes) = (None, Vec::new());
                while let Some(key) = scanner.next_key()? {
                    match key.raw {
                        b"type" | b"ty" => kind = Some(plain(scanner.string()?, "type")?),
                        b"codes" | b"cds" => {
                            scanner.begin_array()?;
                            while scanner.next_element()? {
                                codes.push(plain(scanner.string()?, "codes")?);
                            }
                        }
                        _ => {
                            scanner.skip_value()?;
                        }
                    }
                }
                if !listed.is_empty() {
                    listed.push(' ');
                }
                listed.push_str(kind.unwrap_or("?"));
                listed.push(':');
                listed.push_str(&codes.join(","));
            }
        }
        out.list.push(Event::Response(Response {
            req_id: None,
            method: Method::Other,
            ok: true,
            message: Some(listed),
            ts_in: None,
            ts_out: None,
        }));
        Ok(())
    }

    /// `{"error":{"name":..,"message":..}}`: the venue's name kept.
    fn venue_error(&self, out: &mut Events) -> Result<(), DecodeError> {
        let mut scanner = self.at(self.f.error.ok_or(field("error", "missing"))?);
        let (mut name, mut message) = (String::new(), String::new());
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            match key.raw {
                b"name" => name = scanner.string()?.unescape(),
                b"message" => message = scanner.string()?.unescape(),
                _ => {
                    scanner.skip_value()?;
                }
            }
        }
        out.list.push(Event::VenueError { name, message });
        Ok(())
    }
}

/// The units of a book, in one pass: each pairs an ask and a bid; the
/// asks go straight into the levels, the bids wait on the stack and follow
/// them (Upbit serves at most 30 units; a longer list takes a second pass).
fn read_units(
    scanner: &mut Scanner<'_>,
    out: &mut Events,
) -> Result<(std::ops::Range<usize>, std::ops::Range<usize>), DecodeError> {
    let start = scanner.position();
    let base = out.levels.len();
    let mut bids: ArrayVec<Level, 32> = ArrayVec::new();
    let mut overflow = false;
    scanner.begin_array()?;
    while scanner.next_element()? {
        let (ask, bid) = unit(scanner)?;
        if let Some(ask) = ask {
            out.levels.push(ask);
        }
        if let Some(bid) = bid {
            overflow |= bids.try_push(bid).is_err();
        }
    }
    let asks = base..out.levels.len();
    if overflow {
        let end = scanner.position();
        scanner.rewind(start);
        scanner.begin_array()?;
        while scanner.next_element()? {
            if let (_, Some(bid)) = unit(scanner)? {
                out.levels.push(bid);
            }
        }
        scanner.rewind(end);
    } else {
        out.levels.extend_from_slice(&bids);
    }
    Ok((asks.clone(), asks.end..out.levels.len()))
}

/// One orderbook unit: its ask and bid levels (DEFAULT or SIMPLE keys).
fn unit(scanner: &mut Scanner<'_>) -> Result<(Option<Level>, Option<Level>), DecodeError> {
    let (mut ask_price, mut ask_size, mut bid_price, mut bid_size) = (None, None, None, None);
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"ask_price" | b"ap" => ask_price = Some(number(scanner, "ask_price")?),
            b"ask_size" | b"as" => ask_size = Some(number(scanner, "ask_size")?),
            b"bid_price" | b"bp" => bid_price = Some(number(scanner, "bid_price")?),
            b"bid_size" | b"bs" => bid_size = Some(number(scanner, "bid_size")?),
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    // A half with no price is padding, not a level: Upbit documents none,
    // but a thin side padded with `"ask_price":0,"ask_size":0` must not
    // put an ask at 0 into the book.
    let level = |price: Option<Decimal>, qty: Option<Decimal>| {
        price
            .zip(qty)
            .filter(|(price, _)| !price.is_zero())
            .map(|(price, qty)| Level { price, qty })
    };
    Ok((level(ask_price, ask_size), level(bid_price, bid_size)))
}

/// The fee is paid in the quote currency: `KRW` of `KRW-BTC`.
fn quote_asset(symbol: Option<crate::model::Symbol>) -> Option<crate::model::Asset> {
    symbol.and_then(|s| s.split('-').next().and_then(inline))
}

/// myOrder `order_type` and `time_in_force`: `limit`, `price` (a market
/// buy by funds), `market` (a market sell by volume), `best` (priced at the
/// best quote, with ioc or fok); time in force `ioc`, `fok`, `post_only`,
/// or null (good till canceled, for a limit order).
fn order_kind(
    order_type: Option<&str>,
    time_in_force: Option<&str>,
) -> Result<(Option<OrderType>, Option<TimeInForce>, bool), DecodeError> {
    let kind = match order_type {
        Some("limit") => Some(OrderType::Limit),
        Some("price") => Some(OrderType::MarketByQuote),
        Some("market") => Some(OrderType::Market),
        Some("best") => Some(OrderType::BestPrice),
        Some(_) => return Err(DecodeError::Unknown("order_type")),
        None => None,
    };
    let (tif, post_only) = match time_in_force {
        Some("ioc") => (Some(TimeInForce::ImmediateOrCancel), false),
        Some("fok") => (Some(TimeInForce::FillOrKill), false),
        Some("post_only") => (Some(TimeInForce::GoodTillCanceled), true),
        Some(_) => return Err(DecodeError::Unknown("time_in_force")),
        None if kind == Some(OrderType::Limit) => (Some(TimeInForce::GoodTillCanceled), false),
        None => (None, false),
    };
    Ok((kind, tif, post_only))
}

/// `2026-08-26T08:08:00` (UTC, no zone) in ns since the epoch.
fn utc_without_zone(text: &str) -> Option<i64> {
    let mut zoned = [0u8; 20];
    zoned
        .get_mut(..19)?
        .copy_from_slice(text.as_bytes().get(..19)?);
    if text.len() != 19 {
        return None;
    }
    zoned[19] = b'Z';
    crate::wallclock::parse_rfc3339(&zoned)
}

fn plain<'a>(text: RawStr<'a>, name: &'static str) -> Result<&'a str, DecodeError> {
    text.plain().ok_or(field(name, "escaped"))
}

fn number(scanner: &mut Scanner<'_>, name: &'static str) -> Result<Decimal, DecodeError> {
    if let Some((mantissa, scale)) = scanner.plain_decimal() {
        return Decimal::new(mantissa, scale).ok_or(field(name, "not an exact decimal"));
    }
    let raw = match scanner.kind()? {
        Kind::String => scanner.string()?.raw,
        _ => scanner.number()?,
    };
    decimal_text(raw, name)
}

fn decimal_text(raw: &[u8], name: &'static str) -> Result<Decimal, DecodeError> {
    Decimal::parse(raw).map_err(|_| field(name, "not an exact decimal"))
}
