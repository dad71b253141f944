//! Upbit messages to normalised events (upbit.md "Formats", "Pushes"):
//! DEFAULT and SIMPLE keys alike, one object per frame or a JSON array of
//! them (the `_LIST` formats), in binary or text frames. Prices and
//! quantities are exact decimals from the number text (`100473000.00000000`).
//!
//! One pass over the object records where each known field's value is;
//! the type, which may come anywhere in the object, decides what they mean
//! (`ap` is avg_price in myOrder and ask_price in an orderbook unit).

use crate::json::{Kind, RawStr, Scanner};
use crate::model::{
    Balance, BookEvent, Event, Events, Fill, Level, Liquidity, OrderStatus, OrderUpdate, Side,
    Ticker, Trade, inline,
};
use crate::num::Decimal;
use crate::venue::DecodeError;

fn field(field: &'static str, why: &'static str) -> DecodeError {
    DecodeError::Field { field, why }
}

/// The fields a message may carry, by their DEFAULT and SIMPLE names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
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
    Error,
}

const SLOTS: usize = 23;

/// (DEFAULT name, SIMPLE name, slot). Older guide examples say `market` /
/// `mk` where the tables say `code` / `cd`: both are read. The deprecated
/// SIMPLE `ts` (trade_status) is deliberately absent.
const NAMES: [(&str, &str, Slot); 24] = [
    ("type", "ty", Slot::Type),
    ("code", "cd", Slot::Code),
    ("market", "mk", Slot::Code),
    ("trade_price", "tp", Slot::TradePrice),
    ("trade_volume", "tv", Slot::TradeVolume),
    ("ask_bid", "ab", Slot::AskBid),
    ("sequential_id", "sid", Slot::SequentialId),
    ("trade_timestamp", "ttms", Slot::TradeTimestamp),
    ("timestamp", "tms", Slot::Timestamp),
    ("acc_trade_volume_24h", "atv24h", Slot::AccTradeVolume24h),
    ("orderbook_units", "obu", Slot::Units),
    ("uuid", "uid", Slot::Uuid),
    ("state", "s", Slot::State),
    ("trade_uuid", "tuid", Slot::TradeUuid),
    ("price", "p", Slot::Price),
    ("volume", "v", Slot::Volume),
    ("remaining_volume", "rv", Slot::RemainingVolume),
    ("executed_volume", "ev", Slot::ExecutedVolume),
    ("trade_fee", "tf", Slot::TradeFee),
    ("is_maker", "im", Slot::IsMaker),
    ("identifier", "id", Slot::Identifier),
    ("assets", "ast", Slot::Assets),
    ("status", "status", Slot::Status),
    ("error", "error", Slot::Error),
];

fn slot_of(key: &[u8]) -> Option<Slot> {
    NAMES
        .iter()
        .find(|(long, short, _)| long.as_bytes() == key || short.as_bytes() == key)
        .map(|(_, _, slot)| *slot)
}

/// Where each field's value sits in the message (start of the value).
#[derive(Default)]
struct Found {
    at: [Option<usize>; SLOTS],
}

impl Found {
    fn get(&self, slot: Slot) -> Option<usize> {
        self.at[slot as usize]
    }
}

/// Decodes one message: an object, or an array of objects.
pub(crate) fn decode_message(message: &[u8], out: &mut Events) -> Result<(), DecodeError> {
    let trimmed = message.trim_ascii();
    let mut scanner = Scanner::new(trimmed);
    match scanner.kind()? {
        Kind::Array => {
            scanner.begin_array()?;
            while scanner.next_element()? {
                let start = scanner.position();
                scanner.skip_value()?;
                let one = scanner.since(start);
                decode_object(one, out)?;
            }
            Ok(())
        }
        Kind::Object => decode_object(trimmed, out),
        _ => Err(field("message", "neither an object nor an array")),
    }
}

fn decode_object(object: &[u8], out: &mut Events) -> Result<(), DecodeError> {
    let mut scanner = Scanner::new(object);
    let mut found = Found::default();
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        if let Some(slot) = slot_of(key.raw) {
            found.at[slot as usize] = Some(scanner.position());
        }
        scanner.skip_value()?;
    }
    let read = Reader { object, found };
    if read.found.get(Slot::Error).is_some() {
        return read.venue_error(out);
    }
    if let Some(status) = read.text(Slot::Status)? {
        if status == "UP" {
            out.list.push(Event::Heartbeat);
            return Ok(());
        }
    }
    match read.text(Slot::Type)? {
        Some("trade") => read.trade(out),
        Some("ticker") => read.ticker(out),
        Some("orderbook") => read.orderbook(out),
        Some("myOrder") => read.my_order(out),
        Some("myAsset") => read.my_asset(out),
        Some(_) => Err(DecodeError::Unknown("type")),
        None => Err(field("type", "missing")),
    }
}

/// Reads the recorded fields.
struct Reader<'a> {
    object: &'a [u8],
    found: Found,
}

impl<'a> Reader<'a> {
    fn scanner(&self, slot: Slot) -> Option<Scanner<'a>> {
        let at = self.found.get(slot)?;
        let mut scanner = Scanner::new(self.object);
        scanner.rewind(at);
        Some(scanner)
    }

    /// A plain string field (no escapes), or None if absent or null.
    fn text(&self, slot: Slot) -> Result<Option<&'a str>, DecodeError> {
        let Some(mut scanner) = self.scanner(slot) else {
            return Ok(None);
        };
        match scanner.kind()? {
            Kind::Null => Ok(None),
            Kind::String => {
                Ok(Some(scanner.string()?.plain().ok_or(field(
                    "string",
                    "escaped where plain text is expected",
                ))?))
            }
            _ => Err(field("string", "not a string")),
        }
    }

    /// An exact decimal from a JSON number (or a numeric string).
    fn decimal(&self, slot: Slot, name: &'static str) -> Result<Option<Decimal>, DecodeError> {
        let Some(mut scanner) = self.scanner(slot) else {
            return Ok(None);
        };
        let raw = match scanner.kind()? {
            Kind::Null => return Ok(None),
            Kind::String => scanner.string()?.raw,
            Kind::Number => scanner.number()?,
            _ => return Err(field(name, "not a number")),
        };
        decimal_text(raw, name).map(Some)
    }

    fn required(&self, slot: Slot, name: &'static str) -> Result<Decimal, DecodeError> {
        self.decimal(slot, name)?.ok_or(field(name, "missing"))
    }

    /// Milliseconds since the epoch, as ns.
    fn millis(&self, slot: Slot) -> Result<Option<i64>, DecodeError> {
        let Some(mut scanner) = self.scanner(slot) else {
            return Ok(None);
        };
        if scanner.kind()? == Kind::Null {
            return Ok(None);
        }
        let ms = scanner.unsigned()?;
        Ok(i64::try_from(ms)
            .ok()
            .and_then(|ms| ms.checked_mul(1_000_000)))
    }

    /// The raw text of a number or string (ids).
    fn raw(&self, slot: Slot) -> Result<Option<&'a str>, DecodeError> {
        let Some(mut scanner) = self.scanner(slot) else {
            return Ok(None);
        };
        let raw = match scanner.kind()? {
            Kind::Null => return Ok(None),
            Kind::String => scanner
                .string()?
                .plain()
                .ok_or(field("id", "escaped"))?
                .as_bytes(),
            Kind::Number => scanner.number()?,
            _ => return Err(field("id", "neither a number nor a string")),
        };
        Ok(std::str::from_utf8(raw).ok())
    }

    fn boolean(&self, slot: Slot) -> Result<Option<bool>, DecodeError> {
        let Some(mut scanner) = self.scanner(slot) else {
            return Ok(None);
        };
        match scanner.kind()? {
            Kind::Null => Ok(None),
            Kind::Bool => Ok(Some(scanner.boolean()?)),
            _ => Err(field("bool", "not a boolean")),
        }
    }

    fn symbol(&self) -> Result<crate::model::Symbol, DecodeError> {
        let code = self.text(Slot::Code)?.ok_or(field("code", "missing"))?;
        inline(code).ok_or(field("code", "too long"))
    }

    fn side(&self) -> Result<Option<Side>, DecodeError> {
        Ok(match self.text(Slot::AskBid)? {
            Some("BID") => Some(Side::Buy),
            Some("ASK") => Some(Side::Sell),
            Some(_) => return Err(field("ask_bid", "neither BID nor ASK")),
            None => None,
        })
    }

    fn trade(&self, out: &mut Events) -> Result<(), DecodeError> {
        let trade_id = self
            .raw(Slot::SequentialId)?
            .ok_or(field("sequential_id", "missing"))?;
        out.list.push(Event::Trade(Trade {
            symbol: self.symbol()?,
            price: self.required(Slot::TradePrice, "trade_price")?,
            qty: self.required(Slot::TradeVolume, "trade_volume")?,
            side: self.side()?,
            trade_id: inline(trade_id).ok_or(field("sequential_id", "too long"))?,
            ts: self.millis(Slot::TradeTimestamp)?,
        }));
        Ok(())
    }

    fn ticker(&self, out: &mut Events) -> Result<(), DecodeError> {
        // Upbit's ticker has no best bid or ask (the orderbook has).
        out.list.push(Event::Ticker(Ticker {
            symbol: self.symbol()?,
            last: self.decimal(Slot::TradePrice, "trade_price")?,
            bid: None,
            ask: None,
            bid_qty: None,
            ask_qty: None,
            volume: self.decimal(Slot::AccTradeVolume24h, "acc_trade_volume_24h")?,
            ts: self.millis(Slot::Timestamp)?,
        }));
        Ok(())
    }

    /// Every orderbook message is a whole book: a snapshot, to replace.
    fn orderbook(&self, out: &mut Events) -> Result<(), DecodeError> {
        let symbol = self.symbol()?;
        let mut asks_end = out.levels.len();
        // Each unit pairs an ask and a bid: two passes over the units put
        // the asks, then the bids, into runs of their own (no copy).
        let base = out.levels.len();
        for side in [Side::Sell, Side::Buy] {
            let mut scanner = self
                .scanner(Slot::Units)
                .ok_or(field("orderbook_units", "missing"))?;
            scanner.begin_array()?;
            while scanner.next_element()? {
                let (ask, bid) = unit(&mut scanner)?;
                let level = if side == Side::Sell { ask } else { bid };
                if let Some(level) = level {
                    out.levels.push(level);
                }
            }
            if side == Side::Sell {
                asks_end = out.levels.len();
            }
        }
        let asks = base..asks_end;
        let bids = asks_end..out.levels.len();
        out.list.push(Event::Book(BookEvent {
            symbol,
            snapshot: true,
            bids,
            asks,
            checksum: None,
            sequence: None,
            ts: self.millis(Slot::Timestamp)?,
        }));
        Ok(())
    }

    fn my_order(&self, out: &mut Events) -> Result<(), DecodeError> {
        let uuid = self.text(Slot::Uuid)?.ok_or(field("uuid", "missing"))?;
        let order_id = inline(uuid).ok_or(field("uuid", "too long"))?;
        let client_order_id = self
            .text(Slot::Identifier)?
            .map(|id| inline(id).ok_or(field("identifier", "too long")))
            .transpose()?;
        let symbol = Some(self.symbol()?);
        let side = self.side()?;
        let state = self.text(Slot::State)?.ok_or(field("state", "missing"))?;
        let executed = self.decimal(Slot::ExecutedVolume, "executed_volume")?;
        let remaining = self.decimal(Slot::RemainingVolume, "remaining_volume")?;
        let volume = self.decimal(Slot::Volume, "volume")?;
        let price = self.decimal(Slot::Price, "price")?;
        let some_executed = executed.is_some_and(|e| e > Decimal::ZERO);
        let status = match state {
            "wait" if some_executed => OrderStatus::PartiallyFilled,
            "wait" | "watch" => OrderStatus::New,
            "trade" if remaining.is_some_and(|r| r > Decimal::ZERO) => OrderStatus::PartiallyFilled,
            "trade" | "done" => OrderStatus::Filled,
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
            _ => (price, volume),
        };
        out.list.push(Event::OrderUpdate(OrderUpdate {
            order_id,
            client_order_id,
            symbol,
            side,
            status,
            price: order_price,
            qty: order_qty,
            filled_qty: executed,
            from_snapshot: false,
            ts: self.millis(Slot::Timestamp)?,
        }));
        if state == "trade" {
            let trade_uuid = self
                .text(Slot::TradeUuid)?
                .ok_or(field("trade_uuid", "missing"))?;
            // The fee is paid in the quote currency: `KRW` of `KRW-BTC`.
            let quote = symbol.and_then(|s| s.split('-').next().and_then(inline));
            out.list.push(Event::Fill(Fill {
                order_id,
                client_order_id,
                symbol,
                side,
                price: price.ok_or(field("price", "missing on a trade"))?,
                qty: volume.ok_or(field("volume", "missing on a trade"))?,
                fee: self.decimal(Slot::TradeFee, "trade_fee")?,
                fee_asset: quote,
                trade_id: inline(trade_uuid).ok_or(field("trade_uuid", "too long"))?,
                exec_id: None,
                liquidity: self.boolean(Slot::IsMaker)?.map(|maker| {
                    if maker {
                        Liquidity::Maker
                    } else {
                        Liquidity::Taker
                    }
                }),
                ts: self.millis(Slot::TradeTimestamp)?,
            }));
        }
        Ok(())
    }

    fn my_asset(&self, out: &mut Events) -> Result<(), DecodeError> {
        let mut scanner = self
            .scanner(Slot::Assets)
            .ok_or(field("assets", "missing"))?;
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
            }));
        }
        Ok(())
    }

    /// `{"error":{"name":..,"message":..}}`: the venue's name kept.
    fn venue_error(&self, out: &mut Events) -> Result<(), DecodeError> {
        let mut scanner = self.scanner(Slot::Error).ok_or(field("error", "missing"))?;
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
    let level = |price: Option<Decimal>, qty: Option<Decimal>| {
        price.zip(qty).map(|(price, qty)| Level { price, qty })
    };
    Ok((level(ask_price, ask_size), level(bid_price, bid_size)))
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
