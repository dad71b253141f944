//! DigiFinex messages to normalised events (digifinex.md "Pushes",
//! "Private"): replies `{"error":..,"result":..,"id":N}` and pushes
//! `{"method":"<channel>.update","params":[..],"id":null}`.

use std::collections::HashSet;

use crate::json::{Kind, Scanner};
use crate::model::{
    Balance, BookEvent, Event, Events, Method, OrderStatus, OrderUpdate, Response, Side, Symbol,
    Ticker, Trade, inline,
};
use crate::num::Decimal;
use crate::venue::DecodeError;

fn field(field: &'static str, why: &'static str) -> DecodeError {
    DecodeError::Field { field, why }
}

/// One message (already inflated).
pub(crate) fn decode_message(
    message: &[u8],
    synced: &mut HashSet<Symbol>,
    auth_id: Option<u64>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    let message = message.trim_ascii();
    let mut scanner = Scanner::new(message);
    let (mut method, mut params, mut id, mut error, mut result) = (None, None, None, None, None);
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        let at = scanner.position();
        match key.raw {
            b"method" => method = scanner.string()?.plain(),
            b"id" => {
                id = match scanner.kind()? {
                    Kind::Null => {
                        scanner.null()?;
                        None
                    }
                    _ => Some(scanner.unsigned()?),
                }
            }
            b"params" => {
                params = Some(at);
                scanner.skip_value()?;
            }
            b"error" => {
                error = (scanner.kind()? != Kind::Null).then_some(at);
                scanner.skip_value()?;
            }
            b"result" => {
                result = Some(at);
                scanner.skip_value()?;
            }
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    scanner.finish()?;
    let at = |position: usize| {
        let mut scanner = Scanner::new(message);
        scanner.rewind(position);
        scanner
    };
    let Some(method) = method else {
        // A reply: its error (any non-null shape: a string, an object) or
        // its result.
        let text = |position: Option<usize>| {
            position.and_then(|p| {
                let mut scanner = at(p);
                let start = scanner.position();
                scanner.skip_value().ok()?;
                let raw = scanner.since(start);
                std::str::from_utf8(raw)
                    .ok()
                    .map(|t| t.trim_matches('"').to_owned())
            })
        };
        if error.is_some() && id.is_some() && id == auth_id {
            // A refused server.auth: the private channels will not come.
            out.list.push(Event::VenueError {
                name: "server.auth".to_owned(),
                message: text(error).unwrap_or_default(),
            });
            return Ok(());
        }
        out.list.push(Event::Response(Response {
            req_id: id,
            method: Method::Other,
            ok: error.is_none(),
            message: if error.is_some() {
                text(error)
            } else {
                text(result)
            },
            ts_in: None,
            ts_out: None,
        }));
        return Ok(());
    };
    let mut params = at(params.ok_or(field("params", "missing"))?);
    match method {
        "trades.update" => trades(&mut params, out),
        "depth.update" => depth(&mut params, synced, out),
        "ticker.update" | "all_ticker.update" => each_object(&mut params, out, ticker),
        "order.update" => each_object(&mut params, out, order),
        "balance.update" => each_object(&mut params, out, balance),
        _ => Err(DecodeError::Unknown("method")),
    }
}

fn text_decimal(scanner: &mut Scanner<'_>, name: &'static str) -> Result<Decimal, DecodeError> {
    if let Some((mantissa, scale)) = scanner.quoted_plain_decimal() {
        return Decimal::new(mantissa, scale).ok_or(field(name, "not an exact decimal"));
    }
    let raw = match scanner.kind()? {
        Kind::String => scanner.string()?.raw,
        _ => scanner.number()?,
    };
    Decimal::parse(raw).map_err(|_| field(name, "not an exact decimal"))
}

fn symbol(scanner: &mut Scanner<'_>) -> Result<Symbol, DecodeError> {
    let text = scanner
        .string()?
        .plain()
        .ok_or(field("symbol", "escaped"))?;
    inline(text).ok_or(field("symbol", "too long"))
}

/// Fractional seconds (`1523339279.761838`) to ns, exactly from the digits.
pub(crate) fn seconds_to_ns(raw: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(raw).ok()?.trim_matches('"');
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = whole.parse().ok()?;
    let mut nanos: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    for _ in fraction.len()..9 {
        nanos *= 10;
    }
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// `[clean, [{"id","time","price","amount","type"}..], "SYMBOL"]`.
fn trades(params: &mut Scanner<'_>, out: &mut Events) -> Result<(), DecodeError> {
    params.begin_array()?;
    if !params.next_element()? {
        return Err(field("params", "empty"));
    }
    params.boolean()?;
    if !params.next_element()? {
        return Err(field("params", "no trades"));
    }
    let list = params.position();
    params.skip_value()?;
    if !params.next_element()? {
        return Err(field("params", "no symbol"));
    }
    let symbol = symbol(params)?;
    let mut list = {
        let mut scanner = Scanner::new(params.input());
        scanner.rewind(list);
        scanner
    };
    list.begin_array()?;
    while list.next_element()? {
        let (mut id, mut ts, mut price, mut qty, mut side) = (None, None, None, None, None);
        list.begin_object()?;
        while let Some(key) = list.next_key()? {
            match key.raw {
                b"id" => {
                    id = std::str::from_utf8(list.number()?).ok().and_then(inline);
                }
                b"time" => ts = seconds_to_ns(list.number()?),
                b"price" => price = Some(text_decimal(&mut list, "price")?),
                b"amount" => qty = Some(text_decimal(&mut list, "amount")?),
                b"type" => {
                    side = match list.string()?.raw {
                        b"buy" => Some(Side::Buy),
                        b"sell" => Some(Side::Sell),
                        _ => None,
                    }
                }
                _ => {
                    list.skip_value()?;
                }
            }
        }
        out.list.push(Event::Trade(Trade {
            symbol,
            price: price.ok_or(field("price", "missing"))?,
            qty: qty.ok_or(field("amount", "missing"))?,
            side,
            trade_id: id.ok_or(field("id", "missing"))?,
            ts,
        }));
    }
    Ok(())
}

/// `[clean, {"asks":[[p,q]..],"bids":[..]}, "SYMBOL"]`: a clean one is a
/// snapshot; deltas before a symbol's first clean snapshot on this
/// connection are held back (there is nothing to apply them to).
fn depth(
    params: &mut Scanner<'_>,
    synced: &mut HashSet<Symbol>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    params.begin_array()?;
    if !params.next_element()? {
        return Err(field("params", "empty"));
    }
    let clean = params.boolean()?;
    if !params.next_element()? {
        return Err(field("params", "no book"));
    }
    let book_at = params.position();
    params.skip_value()?;
    if !params.next_element()? {
        return Err(field("params", "no symbol"));
    }
    let symbol = symbol(params)?;
    if clean {
        synced.insert(symbol);
    } else if !synced.contains(&symbol) {
        return Ok(());
    }
    let mut book = Scanner::new(params.input());
    book.rewind(book_at);
    let base = out.levels.len();
    let (mut asks, mut bids) = (base..base, base..base);
    book.begin_object()?;
    while let Some(key) = book.next_key()? {
        let start = out.levels.len();
        match key.raw {
            b"asks" => {
                crate::venue::binance::stream::read_pairs(&mut book, &mut out.levels)?;
                asks = start..out.levels.len();
            }
            b"bids" => {
                crate::venue::binance::stream::read_pairs(&mut book, &mut out.levels)?;
                bids = start..out.levels.len();
            }
            _ => {
                book.skip_value()?;
            }
        }
    }
    out.list.push(Event::Book(BookEvent {
        symbol,
        snapshot: clean,
        bids,
        asks,
        checksum: None,
        sequence: None,
        ts: None,
    }));
    Ok(())
}

/// `params` as an array of objects, each made into events by `one`.
fn each_object(
    params: &mut Scanner<'_>,
    out: &mut Events,
    one: fn(&mut Scanner<'_>, &mut Events) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    params.begin_array()?;
    while params.next_element()? {
        one(params, out)?;
    }
    Ok(())
}

fn ticker(scanner: &mut Scanner<'_>, out: &mut Events) -> Result<(), DecodeError> {
    let mut ticker = Ticker {
        symbol: Symbol::new(),
        last: None,
        bid: None,
        ask: None,
        bid_qty: None,
        ask_qty: None,
        volume: None,
        ts: None,
    };
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"symbol" => ticker.symbol = symbol(scanner)?,
            b"last" => ticker.last = Some(text_decimal(scanner, "last")?),
            b"best_bid" => ticker.bid = Some(text_decimal(scanner, "best_bid")?),
            b"best_ask" => ticker.ask = Some(text_decimal(scanner, "best_ask")?),
            b"best_bid_size" => ticker.bid_qty = Some(text_decimal(scanner, "best_bid_size")?),
            b"best_ask_size" => ticker.ask_qty = Some(text_decimal(scanner, "best_ask_size")?),
            b"base_volume_24h" => ticker.volume = Some(text_decimal(scanner, "base_volume_24h")?),
            b"timestamp" => {
                ticker.ts = i64::try_from(scanner.unsigned()?)
                    .ok()
                    .and_then(|ms| ms.checked_mul(1_000_000));
            }
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    if ticker.symbol.is_empty() {
        return Err(field("symbol", "missing"));
    }
    out.list.push(Event::Ticker(ticker));
    Ok(())
}

/// status 0 unfilled, 1 partially filled, 2 filled, 3 canceled unfilled,
/// 4 canceled partially filled.
fn order(scanner: &mut Scanner<'_>, out: &mut Events) -> Result<(), DecodeError> {
    let (mut id, mut symbol_, mut side, mut status) = (None, None, None, None);
    let (mut price, mut qty, mut filled, mut ts) = (None, None, None, None);
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"id" => id = scanner.string()?.plain().and_then(inline),
            b"symbol" => symbol_ = Some(symbol(scanner)?),
            b"side" => {
                side = match scanner.string()?.raw {
                    b"buy" => Some(Side::Buy),
                    b"sell" => Some(Side::Sell),
                    _ => None,
                }
            }
            b"status" => {
                status = Some(match scanner.unsigned()? {
                    0 => OrderStatus::New,
                    1 => OrderStatus::PartiallyFilled,
                    2 => OrderStatus::Filled,
                    3 | 4 => OrderStatus::Canceled,
                    _ => return Err(DecodeError::Unknown("order status")),
                })
            }
            b"price" => price = Some(text_decimal(scanner, "price")?),
            b"amount" => qty = Some(text_decimal(scanner, "amount")?),
            b"filled" => filled = Some(text_decimal(scanner, "filled")?),
            b"timestamp" => {
                ts = i64::try_from(scanner.unsigned()?)
                    .ok()
                    .and_then(|ms| ms.checked_mul(1_000_000));
            }
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    // A market order has no limit (price "0"), and one sized by its
    // notional no amount ("0"): neither is a real zero.
    let given = |value: Option<Decimal>| value.filter(|v| !v.is_zero());
    out.list.push(Event::OrderUpdate(OrderUpdate {
        order_id: id.ok_or(field("id", "missing"))?,
        // DigiFinex has no client order id: correlate by the REST call's id.
        client_order_id: None,
        symbol: symbol_,
        side,
        status: status.ok_or(field("status", "missing"))?,
        price: given(price),
        qty: given(qty),
        filled_qty: filled,
        from_snapshot: false,
        ts,
    }));
    Ok(())
}

fn balance(scanner: &mut Scanner<'_>, out: &mut Events) -> Result<(), DecodeError> {
    let (mut asset, mut free, mut used) = (None, None, None);
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"currency" => {
                asset = scanner.string()?.plain().and_then(inline);
            }
            b"free" => free = Some(text_decimal(scanner, "free")?),
            b"used" => used = Some(text_decimal(scanner, "used")?),
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    out.list.push(Event::Balance(Balance {
        asset: asset.ok_or(field("currency", "missing"))?,
        free: free.ok_or(field("free", "missing"))?,
        locked: used.unwrap_or(Decimal::ZERO),
    }));
    Ok(())
}
