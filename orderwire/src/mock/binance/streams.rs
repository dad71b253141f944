//! The market-streams side of the mock, sans-IO: raw (`/ws/<stream>`) and
//! combined (`/stream?streams=a/b`) connections, SUBSCRIBE/UNSUBSCRIBE,
//! diff depth with U/u from the book's change log, trades and bookTicker,
//! and the venue's ping/pong rule. The socket driver and the virtual-time
//! `Pair` run it alike.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;
use serde_json::Value;

use super::Shared;
use super::api::eight;
use super::conn::Keepalive;
use crate::mock::session::{MockSession, Output};

/// One market-streams connection.
pub struct StreamsSession {
    shared: Arc<Shared>,
    combined: bool,
    names: BTreeSet<String>,
    /// The book update id the last depthUpdate ended at.
    depth_sent: u64,
    trade_sent: u64,
    ticker_sent: Option<[Decimal; 4]>,
    keepalive: Keepalive,
    now: Instant,
    out: VecDeque<Output>,
    ended: bool,
}

impl StreamsSession {
    /// A connection to `path` (`/ws/...` or `/stream?streams=...`), opened
    /// at `now`; the streams the path names are subscribed at once.
    pub(crate) fn open(shared: Arc<Shared>, path: &str, now: Instant) -> StreamsSession {
        let (last_id, last_trade) = {
            let book = shared.book.lock();
            (book.last_id, book.trades.back().map_or(0, |t| t.0))
        };
        let listed = path
            .strip_prefix("/stream?streams=")
            .or_else(|| path.strip_prefix("/ws/"))
            .unwrap_or("");
        StreamsSession {
            shared,
            combined: path.starts_with("/stream"),
            names: listed
                .split('/')
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect(),
            depth_sent: last_id,
            trade_sent: last_trade,
            ticker_sent: None,
            keepalive: Keepalive::new(now),
            now,
            out: VecDeque::new(),
            ended: false,
        }
    }

    fn send(&mut self, text: String) {
        self.out.push_back(Output::Text(text));
    }
}

impl MockSession for StreamsSession {
    fn handle_text(&mut self, now: Instant, text: &str) {
        if self.ended {
            return;
        }
        self.now = now;
        self.control(text);
    }

    fn handle_pong(&mut self, _now: Instant, payload: &[u8]) {
        if self.keepalive.on_pong(payload) {
            self.shared.stats.lock().pongs += 1;
        }
    }

    /// The keepalive (a ping every `ping_every`, a close when a pong is
    /// late), then whatever the book and the trades did since the last call.
    fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        self.now = now;
        let shared = self.shared.clone();
        if !self.keepalive.run(&shared, now, &mut self.out) {
            self.ended = true;
            return;
        }
        self.publish();
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The keepalive's next step. Book and trade changes come from other
    /// connections and are picked up at every call, so a driver also calls
    /// `handle_timeout` after any input anywhere (as for Kraken's mock).
    fn poll_timeout(&self) -> Option<Instant> {
        (!self.ended).then(|| self.keepalive.next_at(&self.shared.config))
    }

    fn is_ended(&self) -> bool {
        self.ended
    }
}

impl StreamsSession {
    /// SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS.
    fn control(&mut self, text: &str) {
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            return self.send(
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
                let symbol = self.shared.config.symbol.to_ascii_lowercase();
                for name in names {
                    if !name.starts_with(&symbol) {
                        return self.send(format!(
                        r#"{{"code":2,"msg":"Invalid request: unknown stream {name}","id":{id}}}"#
                    ));
                    }
                    if name.contains("@depth") {
                        // Diffs start from now; the client takes a snapshot.
                        self.depth_sent = self.shared.book.lock().last_id;
                    }
                    self.names.insert(name);
                }
                self.send(format!(r#"{{"result":null,"id":{id}}}"#));
            }
            Some("UNSUBSCRIBE") => {
                for name in names {
                    self.names.remove(&name);
                }
                self.send(format!(r#"{{"result":null,"id":{id}}}"#));
            }
            Some("LIST_SUBSCRIPTIONS") => {
                let list: Vec<String> = self.names.iter().map(|n| format!("{n:?}")).collect();
                self.send(format!(r#"{{"result":[{}],"id":{id}}}"#, list.join(",")));
            }
            _ => self.send(format!(
                r#"{{"code":2,"msg":"Invalid request: unknown method","id":{id}}}"#
            )),
        }
    }

    fn wrap(&self, name: &str, payload: String) -> String {
        if self.combined {
            format!(r#"{{"stream":"{name}","data":{payload}}}"#)
        } else {
            payload
        }
    }

    /// Sends what changed since the last call.
    fn publish(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let shared = self.shared.clone();
        let symbol = shared.config.symbol.clone();
        let lower = symbol.to_ascii_lowercase();
        let mut out = Vec::new();
        {
            let matching = shared.matching.lock();
            let book = shared.book.lock();
            let depth = self.names.iter().find(|n| n.contains("@depth")).cloned();
            if let Some(name) = depth {
                if book.last_id > self.depth_sent {
                    let mut changed: BTreeSet<(u8, Decimal)> = BTreeSet::new();
                    for (id, side, price) in &book.changes {
                        if *id > self.depth_sent {
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
                        shared.wall_ms(self.now),
                        self.depth_sent + 1,
                        book.last_id,
                        bids.join(","),
                        asks.join(",")
                    );
                    out.push(self.wrap(&name, payload));
                    self.depth_sent = book.last_id;
                }
            }
            let trade_name = format!("{lower}@trade");
            if self.names.contains(&trade_name) {
                for (id, price, qty, buyer_maker, ms) in &book.trades {
                    if *id > self.trade_sent {
                        let payload = format!(
                            r#"{{"e":"trade","E":{ms},"s":"{symbol}","t":{id},"p":"{}","q":"{}","T":{ms},"m":{buyer_maker},"M":true}}"#,
                            eight(*price),
                            eight(*qty)
                        );
                        out.push(self.wrap(&trade_name, payload));
                        self.trade_sent = *id;
                    }
                }
            }
            let ticker_name = format!("{lower}@bookTicker");
            if self.names.contains(&ticker_name) {
                let bid = matching.top(&symbol, Side::Buy, 1).first().copied();
                let ask = matching.top(&symbol, Side::Sell, 1).first().copied();
                if let (Some(bid), Some(ask)) = (bid, ask) {
                    let top = [bid.0, bid.1, ask.0, ask.1];
                    if self.ticker_sent != Some(top) {
                        let payload = format!(
                            r#"{{"u":{},"s":"{symbol}","b":"{}","B":"{}","a":"{}","A":"{}"}}"#,
                            book.last_id,
                            eight(bid.0),
                            eight(bid.1),
                            eight(ask.0),
                            eight(ask.1)
                        );
                        out.push(self.wrap(&ticker_name, payload));
                        self.ticker_sent = Some(top);
                    }
                }
            }
        }
        for message in out {
            self.send(message);
        }
    }
}
