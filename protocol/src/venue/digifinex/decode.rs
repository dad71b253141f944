//! DigiFinex messages to normalised events (digifinex.md "Pushes",
//! "Private"): replies `{"error":..,"result":..,"id":N}` and pushes
//! `{"method":"<channel>.update","params":[..],"id":null}`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::json::{Kind, Scanner};
use crate::model::{
    Balance, BookEvent, Event, Events, Fill, Method, OrderDetail, OrderId, OrderStatus, OrderType,
    OrderUpdate, Response, Side, Symbol, Ticker, Trade, inline,
};
use crate::num::Decimal;
use crate::venue::DecodeError;
use crate::venue::fields::{field, read_pairs, text_decimal};

/// What decoding keeps from one message to the next on a connection.
#[derive(Debug, Default)]
pub(crate) struct DecodeState {
    /// Symbols whose book has had a clean snapshot on this connection:
    /// deltas for others wait (there are no sequence numbers).
    pub(crate) synced: HashSet<Symbol>,
    /// Each open order's cumulative fill, kept across reconnects: DigiFinex
    /// pushes no executions, so a fill is the increase between updates.
    totals: OrderTotals,
}

/// An order's cumulative fill as last pushed: `filled` and `price_avg`.
#[derive(Clone, Copy, Debug, Default)]
struct Cumulative {
    filled: Decimal,
    avg_price: Decimal,
}

#[derive(Debug, Default)]
struct OrderTotals {
    by_order: HashMap<OrderId, Cumulative>,
    /// This message's changes (None: the order ended), applied once it
    /// decoded whole.
    staged: Vec<(OrderId, Option<Cumulative>)>,
}

impl OrderTotals {
    fn get(&self, order_id: &OrderId) -> Cumulative {
        self.staged
            .iter()
            .rev()
            .find(|(id, _)| id == order_id)
            .map_or_else(
                || self.by_order.get(order_id).copied(),
                |(_, staged)| *staged,
            )
            .unwrap_or_default()
    }

    fn commit(&mut self) {
        for (order_id, cumulative) in self.staged.drain(..) {
            match cumulative {
                Some(cumulative) => {
                    self.by_order.insert(order_id, cumulative);
                }
                None => {
                    self.by_order.remove(&order_id);
                }
            }
        }
    }
}

/// One message (already inflated). Events of a message that turns out bad
/// are taken back: a message gives all its events or an error.
pub(crate) fn decode_message(
    message: &[u8],
    state: &mut DecodeState,
    auth_id: Option<u64>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    let mark = out.mark();
    let mut now_clean = None;
    let decoded = decode_one_pass(
        message,
        &state.synced,
        &mut state.totals,
        &mut now_clean,
        auth_id,
        out,
    );
    match decoded {
        Err(_) => {
            out.roll_back(mark);
            state.totals.staged.clear();
        }
        // A book is synced only by a clean snapshot in a message that
        // decoded whole.
        Ok(()) => {
            if let Some(symbol) = now_clean {
                state.synced.insert(symbol);
            }
            state.totals.commit();
        }
    }
    decoded
}

fn decode_one_pass(
    message: &[u8],
    synced: &HashSet<Symbol>,
    totals: &mut OrderTotals,
    now_clean: &mut Option<Symbol>,
    auth_id: Option<u64>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    let message = message.trim_ascii();
    let mut scanner = Scanner::new(message);
    let (mut method, mut params, mut id, mut error, mut result) = (None, None, None, None, None);
    let mut pushed = false;
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        let at = scanner.position();
        match key.raw {
            b"method" => method = scanner.string()?.plain(),
            // DigiFinex writes the method first: then the push is decoded
            // where it stands, in the one pass.
            b"params" if !pushed && method.is_some() => {
                if let Some(name) = method {
                    push(name, &mut scanner, synced, totals, now_clean, out)?;
                    pushed = true;
                }
            }
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
                // A string as its text, anything else as its JSON.
                if scanner.kind().ok()? == Kind::String {
                    return Some(scanner.string().ok()?.unescape());
                }
                let raw = scanner.skip_value().ok()?;
                std::str::from_utf8(raw.trim_ascii())
                    .ok()
                    .map(str::to_owned)
            })
        };
        if error.is_some() && id.is_some() && id == auth_id {
            // A refused server.auth: the private channels will not come.
            // A reply to the login's id, so the gateway's tracked login
            // sees it (and reconnects, or stops for good).
            out.list.push(Event::Response(Response {
                req_id: id,
                method: Method::Other,
                ok: false,
                message: Some(format!("server.auth: {}", text(error).unwrap_or_default())),
                ts_in: None,
                ts_out: None,
            }));
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
    if pushed {
        return Ok(());
    }
    let mut params = at(params.ok_or(field("params", "missing"))?);
    push(method, &mut params, synced, totals, now_clean, out)
}

/// A push's `params`, with the scanner on them.
fn push(
    method: &str,
    params: &mut Scanner<'_>,
    synced: &HashSet<Symbol>,
    totals: &mut OrderTotals,
    now_clean: &mut Option<Symbol>,
    out: &mut Events,
) -> Result<(), DecodeError> {
    match method {
        "trades.update" => trades(params, out),
        "depth.update" => depth(params, synced, now_clean, out),
        "ticker.update" | "all_ticker.update" => each_object(params, out, ticker),
        "order.update" => {
            params.begin_array()?;
            while params.next_element()? {
                order(params, totals, out)?;
            }
            Ok(())
        }
        "order_algo.update" => each_object(params, out, algo_order),
        "balance.update" => each_object(params, out, balance),
        _ => Err(DecodeError::Unknown("method")),
    }
}

/// Past the rest of an array whose leading elements were read.
fn finish_array(params: &mut Scanner<'_>) -> Result<(), DecodeError> {
    while params.next_element()? {
        params.skip_value()?;
    }
    Ok(())
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

/// `[clean, [{"id","time","price","amount","type"}..], "SYMBOL"]`, in one
/// pass: the trades are pushed first, and given their symbol when it comes.
fn trades(params: &mut Scanner<'_>, out: &mut Events) -> Result<(), DecodeError> {
    params.begin_array()?;
    if !params.next_element()? {
        return Err(field("params", "empty"));
    }
    // `clean`: "true: is complete result", the venue's snapshot of recent
    // trades on subscribing, which may repeat trades already seen.
    let clean = params.boolean()?;
    if !params.next_element()? {
        return Err(field("params", "no trades"));
    }
    let first = out.list.len();
    let list = params;
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
                b"price" => price = Some(text_decimal(list, "price")?),
                b"amount" => qty = Some(text_decimal(list, "amount")?),
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
            symbol: Symbol::new(),
            price: price.ok_or(field("price", "missing"))?,
            qty: qty.ok_or(field("amount", "missing"))?,
            side,
            trade_id: id.ok_or(field("id", "missing"))?,
            ts,
            from_snapshot: clean,
        }));
    }
    let params = list;
    if !params.next_element()? {
        return Err(field("params", "no symbol"));
    }
    let symbol = symbol(params)?;
    let trades = &mut out.list[first..];
    for event in trades.iter_mut() {
        if let Event::Trade(trade) = event {
            trade.symbol = symbol;
        }
    }
    // DigiFinex lists a push's trades newest first: give them in the
    // order they happened.
    let time = |event: Option<&Event>| match event {
        Some(Event::Trade(trade)) => trade.ts,
        _ => None,
    };
    if time(trades.first()) > time(trades.last()) {
        trades.reverse();
    }
    finish_array(params)
}

/// `[clean, {"asks":[[p,q]..],"bids":[..]}, "SYMBOL"]`, in one pass: the
/// levels are read first, and taken back if the symbol's book is not
/// synced. A clean one is a snapshot; deltas before a symbol's first clean
/// snapshot on this connection are held back (there is nothing to apply
/// them to).
fn depth(
    params: &mut Scanner<'_>,
    synced: &HashSet<Symbol>,
    now_clean: &mut Option<Symbol>,
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
    let base = out.levels.len();
    let (mut asks, mut bids) = (base..base, base..base);
    let book = &mut *params;
    book.begin_object()?;
    while let Some(key) = book.next_key()? {
        let start = out.levels.len();
        match key.raw {
            b"asks" => {
                read_pairs(book, &mut out.levels)?;
                asks = start..out.levels.len();
            }
            b"bids" => {
                read_pairs(book, &mut out.levels)?;
                bids = start..out.levels.len();
            }
            _ => {
                book.skip_value()?;
            }
        }
    }
    if !params.next_element()? {
        return Err(field("params", "no symbol"));
    }
    let symbol = symbol(params)?;
    finish_array(params)?;
    if clean {
        *now_clean = Some(symbol);
    } else if !synced.contains(&symbol) {
        out.levels.truncate(base);
        return Ok(());
    }
    out.list.push(Event::Book(BookEvent {
        symbol,
        snapshot: clean,
        bids,
        asks,
        checksum: None,
        sequence: None,
        ts: None,
        from_snapshot: clean,
        grouping: None,
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

/// An `order.update` record: status 0 unfilled, 1 partially filled, 2
/// filled, 3 canceled unfilled, 4 canceled partially filled; `type` limit
/// or market; `mode` 1 spot, 2 margin. DigiFinex pushes no execution: when
/// the cumulative `filled` grows, the increase is a [`Fill`] marked
/// `derived`, pushed before the update (whose `filled_qty` then states the
/// total the gateway keeps).
fn order(
    scanner: &mut Scanner<'_>,
    totals: &mut OrderTotals,
    out: &mut Events,
) -> Result<(), DecodeError> {
    let (mut id, mut symbol_, mut side, mut status) = (None, None, None, None);
    let (mut price, mut qty, mut filled, mut ts) = (None, None, None, None);
    let (mut avg_price, mut order_type) = (None, None);
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"id" => id = scanner.string()?.plain().and_then(inline),
            b"symbol" => symbol_ = Some(symbol(scanner)?),
            b"side" => side = side_of(scanner)?,
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
            b"price_avg" => avg_price = Some(text_decimal(scanner, "price_avg")?),
            b"type" => {
                order_type = match scanner.string()?.raw {
                    b"limit" => Some(OrderType::Limit),
                    b"market" => Some(OrderType::Market),
                    _ => return Err(DecodeError::Unknown("order type")),
                }
            }
            b"timestamp" => ts = millis_to_ns(scanner)?,
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    // A market order has no limit (price "0"), and one sized by its
    // notional no amount ("0"): neither is a real zero; nor is an average
    // price before anything filled.
    let given = |value: Option<Decimal>| value.filter(|v| !v.is_zero());
    let order_id = id.ok_or(field("id", "missing"))?;
    let status = status.ok_or(field("status", "missing"))?;
    if let Some(filled) = filled {
        let before = totals.get(&order_id);
        let avg = avg_price.unwrap_or_default();
        if filled > before.filled {
            let fill = derived_fill(
                order_id,
                before,
                Cumulative {
                    filled,
                    avg_price: avg,
                },
                given(price),
            )?;
            out.push_fill(Fill {
                symbol: symbol_,
                side,
                ts,
                ..fill
            });
        }
        let now = Cumulative {
            filled: filled.max(before.filled),
            avg_price: if filled >= before.filled {
                avg
            } else {
                before.avg_price
            },
        };
        let ended = !matches!(status, OrderStatus::New | OrderStatus::PartiallyFilled);
        totals.staged.push((order_id, (!ended).then_some(now)));
    }
    out.push_order_update(OrderUpdate {
        order_id,
        // DigiFinex has no client order id: correlate by the REST call's id.
        client_order_id: None,
        symbol: symbol_,
        side,
        status,
        price: given(price),
        qty: given(qty),
        filled_qty: filled,
        from_snapshot: false,
        ts,
        detail: OrderDetail {
            avg_price: given(avg_price),
            order_type,
            ..OrderDetail::default()
        },
    });
    Ok(())
}

/// The fill between two cumulative states: its quantity is the increase in
/// `filled`, its price the increase in filled value (`price_avg * filled`,
/// exact) over that quantity, rounded to the finer of the average's and
/// the limit's digits. The limit price stands in when the venue gave no
/// average. The trade id is made up (`<order id>:<cumulative filled>`), so
/// a repeated update gives the same id and the gateway drops it.
fn derived_fill(
    order_id: OrderId,
    before: Cumulative,
    now: Cumulative,
    limit: Option<Decimal>,
) -> Result<Fill, DecodeError> {
    let unusable = || field("price_avg", "no fill price follows from it");
    let qty = now.filled.checked_sub(before.filled).ok_or_else(unusable)?;
    let price = if now.avg_price.is_zero() {
        limit.ok_or_else(unusable)?
    } else {
        let value_now = now.avg_price.checked_mul(now.filled).ok_or_else(unusable)?;
        let value_before = before
            .avg_price
            .checked_mul(before.filled)
            .ok_or_else(unusable)?;
        let digits = now.avg_price.scale().max(limit.map_or(0, Decimal::scale));
        value_now
            .checked_sub(value_before)
            .and_then(|value| value.checked_div_rounded(qty, digits))
            .ok_or_else(unusable)?
    };
    let mut trade_id = crate::model::TradeId::new();
    // Formats into the inline string: no allocation.
    write!(trade_id, "{order_id}:{}", now.filled)
        .map_err(|_| field("id", "too long for a derived trade id"))?;
    Ok(Fill {
        order_id,
        client_order_id: None,
        symbol: None,
        side: None,
        price,
        qty,
        fee: None,
        fee_asset: None,
        trade_id,
        exec_id: None,
        liquidity: None,
        ts: None,
        derived: true,
    })
}

/// An `order_algo.update` record (a trigger order): `trigger_price`, the
/// limit `algo_price` placed when it triggers, and status -2 fail, -1
/// canceled, 0 ready to effect, 1 effecting, 2 success (the v3 docs'
/// table; the GitHub page gives no codes). An order update with
/// `OrderType::StopLimit`: "ready" rests as New; "effecting" and "success"
/// mean it triggered (the limit order it placed is reported by
/// `order.update`), so it is Filled as a trigger.
fn algo_order(scanner: &mut Scanner<'_>, out: &mut Events) -> Result<(), DecodeError> {
    let (mut id, mut symbol_, mut side, mut status) = (None, None, None, None);
    let (mut price, mut trigger, mut qty, mut ts) = (None, None, None, None);
    scanner.begin_object()?;
    while let Some(key) = scanner.next_key()? {
        match key.raw {
            b"id" => id = scanner.string()?.plain().and_then(inline),
            b"symbol" => symbol_ = Some(symbol(scanner)?),
            b"side" => side = side_of(scanner)?,
            b"status" => {
                status = Some(match scanner.number()? {
                    b"-2" => OrderStatus::Rejected,
                    b"-1" => OrderStatus::Canceled,
                    b"0" => OrderStatus::New,
                    b"1" | b"2" => OrderStatus::Filled,
                    _ => return Err(DecodeError::Unknown("algo order status")),
                })
            }
            b"algo_price" => price = Some(text_decimal(scanner, "algo_price")?),
            b"trigger_price" => trigger = Some(text_decimal(scanner, "trigger_price")?),
            b"amount" => qty = Some(text_decimal(scanner, "amount")?),
            b"timestamp" => ts = millis_to_ns(scanner)?,
            _ => {
                scanner.skip_value()?;
            }
        }
    }
    out.push_order_update(OrderUpdate {
        order_id: id.ok_or(field("id", "missing"))?,
        client_order_id: None,
        symbol: symbol_,
        side,
        status: status.ok_or(field("status", "missing"))?,
        price,
        qty,
        filled_qty: None,
        from_snapshot: false,
        ts,
        detail: OrderDetail {
            order_type: Some(OrderType::StopLimit),
            trigger_price: trigger,
            ..OrderDetail::default()
        },
    });
    Ok(())
}

fn side_of(scanner: &mut Scanner<'_>) -> Result<Option<Side>, DecodeError> {
    Ok(match scanner.string()?.raw {
        b"buy" => Some(Side::Buy),
        b"sell" => Some(Side::Sell),
        _ => None,
    })
}

fn millis_to_ns(scanner: &mut Scanner<'_>) -> Result<Option<i64>, DecodeError> {
    Ok(i64::try_from(scanner.unsigned()?)
        .ok()
        .and_then(|ms| ms.checked_mul(1_000_000)))
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
        ts: None,
    }));
    Ok(())
}
