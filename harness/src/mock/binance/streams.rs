//! The market-streams side of the mock: raw (`/ws/<stream>`) and combined
//! (`/stream?streams=a/b`) connections, SUBSCRIBE/UNSUBSCRIBE, diff depth
//! with U/u from the book's change log, trades and bookTicker.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;

use super::api::eight;
use super::conn::{Link, Read};
use crate::mock::socket::Socket;

struct Streams {
    combined: bool,
    names: BTreeSet<String>,
    /// The book update id the last depthUpdate ended at.
    depth_sent: u64,
    trade_sent: u64,
    ticker_sent: Option<[Decimal; 4]>,
}

/// Serves market streams on `link` until the connection ends.
pub(crate) fn run<S: Socket>(link: &mut Link<S>, path: &str) {
    let (last_id, last_trade) = {
        let book = link.shared.book.lock();
        (book.last_id, book.trades.back().map_or(0, |t| t.0))
    };
    let mut streams = Streams {
        combined: path.starts_with("/stream"),
        names: BTreeSet::new(),
        depth_sent: last_id,
        trade_sent: last_trade,
        ticker_sent: None,
    };
    // `/ws/a/b` and `/stream?streams=a/b` subscribe at connect time.
    let listed = path
        .strip_prefix("/stream?streams=")
        .or_else(|| path.strip_prefix("/ws/"))
        .unwrap_or("");
    for name in listed.split('/').filter(|n| !n.is_empty()) {
        streams.names.insert(name.to_owned());
    }
    loop {
        if link.shared.stop.load(Ordering::Relaxed) {
            link.close(CloseCode::Away, "mock stopping");
            return;
        }
        if !publish(link, &mut streams) || !link.keepalive() {
            return;
        }
        match link.read() {
            Read::Text(text) => {
                if !control(link, &mut streams, &text) {
                    return;
                }
            }
            Read::Idle => {}
            Read::Closed => return,
        }
    }
}

/// SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS.
fn control<S: Socket>(link: &mut Link<S>, streams: &mut Streams, text: &str) -> bool {
    let Ok(request) = serde_json::from_str::<Value>(text) else {
        return link.send(
            r#"{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"}"#
                .to_owned(),
        );
    };
    let id = request
        .get("id")
        .map_or("null".to_owned(), Value::to_string);
    let names: Vec<String> = request["params"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    match request["method"].as_str() {
        Some("SUBSCRIBE") => {
            let symbol = link.shared.config.symbol.to_ascii_lowercase();
            for name in names {
                if !name.starts_with(&symbol) {
                    return link.send(format!(
                        r#"{{"code":2,"msg":"Invalid request: unknown stream {name}","id":{id}}}"#
                    ));
                }
                if name.contains("@depth") {
                    // Diffs start from now; the client takes a snapshot.
                    streams.depth_sent = link.shared.book.lock().last_id;
                }
                streams.names.insert(name);
            }
            link.send(format!(r#"{{"result":null,"id":{id}}}"#))
        }
        Some("UNSUBSCRIBE") => {
            for name in names {
                streams.names.remove(&name);
            }
            link.send(format!(r#"{{"result":null,"id":{id}}}"#))
        }
        Some("LIST_SUBSCRIPTIONS") => {
            let list: Vec<String> = streams.names.iter().map(|n| format!("{n:?}")).collect();
            link.send(format!(r#"{{"result":[{}],"id":{id}}}"#, list.join(",")))
        }
        _ => link.send(format!(
            r#"{{"code":2,"msg":"Invalid request: unknown method","id":{id}}}"#
        )),
    }
}

fn wrap(streams: &Streams, name: &str, payload: String) -> String {
    if streams.combined {
        format!(r#"{{"stream":"{name}","data":{payload}}}"#)
    } else {
        payload
    }
}

/// Sends what changed since the last call.
fn publish<S: Socket>(link: &mut Link<S>, streams: &mut Streams) -> bool {
    if streams.names.is_empty() {
        return true;
    }
    let symbol = link.shared.config.symbol.clone();
    let lower = symbol.to_ascii_lowercase();
    let mut out = Vec::new();
    {
        let matching = link.shared.matching.lock();
        let book = link.shared.book.lock();
        let depth = streams.names.iter().find(|n| n.contains("@depth")).cloned();
        if let Some(name) = depth {
            if book.last_id > streams.depth_sent {
                let mut changed: BTreeSet<(u8, Decimal)> = BTreeSet::new();
                for (id, side, price) in &book.changes {
                    if *id > streams.depth_sent {
                        changed.insert((u8::from(*side == Side::Sell), *price));
                    }
                }
                let level = |side: Side, price: &Decimal| {
                    format!(
                        r#"["{}","{}"]"#,
                        eight(*price),
                        eight(matching.qty_at(&symbol, side, *price))
                    )
                };
                let bids: Vec<String> = changed
                    .iter()
                    .filter(|(s, _)| *s == 0)
                    .map(|(_, p)| level(Side::Buy, p))
                    .collect();
                let asks: Vec<String> = changed
                    .iter()
                    .filter(|(s, _)| *s == 1)
                    .map(|(_, p)| level(Side::Sell, p))
                    .collect();
                let payload = format!(
                    r#"{{"e":"depthUpdate","E":{},"s":"{symbol}","U":{},"u":{},"b":[{}],"a":[{}]}}"#,
                    link.shared.wall_ms(link.shared.now()),
                    streams.depth_sent + 1,
                    book.last_id,
                    bids.join(","),
                    asks.join(",")
                );
                out.push(wrap(streams, &name, payload));
                streams.depth_sent = book.last_id;
            }
        }
        let trade_name = format!("{lower}@trade");
        if streams.names.contains(&trade_name) {
            for (id, price, qty, buyer_maker, ms) in &book.trades {
                if *id > streams.trade_sent {
                    let payload = format!(
                        r#"{{"e":"trade","E":{ms},"s":"{symbol}","t":{id},"p":"{}","q":"{}","T":{ms},"m":{buyer_maker},"M":true}}"#,
                        eight(*price),
                        eight(*qty)
                    );
                    out.push(wrap(streams, &trade_name, payload));
                    streams.trade_sent = *id;
                }
            }
        }
        let ticker_name = format!("{lower}@bookTicker");
        if streams.names.contains(&ticker_name) {
            let bid = matching.top(&symbol, Side::Buy, 1).first().copied();
            let ask = matching.top(&symbol, Side::Sell, 1).first().copied();
            if let (Some(bid), Some(ask)) = (bid, ask) {
                let top = [bid.0, bid.1, ask.0, ask.1];
                if streams.ticker_sent != Some(top) {
                    let payload = format!(
                        r#"{{"u":{},"s":"{symbol}","b":"{}","B":"{}","a":"{}","A":"{}"}}"#,
                        book.last_id,
                        eight(bid.0),
                        eight(bid.1),
                        eight(ask.0),
                        eight(ask.1)
                    );
                    out.push(wrap(streams, &ticker_name, payload));
                    streams.ticker_sent = Some(top);
                }
            }
        }
    }
    out.into_iter().all(|message| link.send(message))
}
