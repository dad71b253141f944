//! One normalised event as one line of JSON (docs/events.md): what
//! `orderwire decode` prints. Decimals are strings holding the exact text;
//! times are integers (ns since the epoch) or null.

use super::{Event, Events, Level, Method};
use crate::num::Decimal;

/// Appends `event` as a JSON object (no newline). `events` supplies the book
/// levels, order updates and fills that the event indexes.
pub fn write_event_json(venue: &str, event: &Event, events: &Events, out: &mut Vec<u8>) {
    let mut w = Writer { out, first: true };
    w.out.push(b'{');
    w.str_field("venue", Some(venue));
    match event {
        Event::Trade(t) => {
            w.str_field("type", Some("trade"));
            w.str_field("symbol", Some(&t.symbol));
            w.dec_field("price", Some(t.price));
            w.dec_field("qty", Some(t.qty));
            w.str_field("side", t.side.map(|s| s.as_str()));
            w.str_field("trade_id", Some(&t.trade_id));
            w.int_field("ts", t.ts);
            w.bool_field("from_snapshot", t.from_snapshot);
        }
        Event::Candle(c) => {
            w.str_field("type", Some("candle"));
            w.str_field("symbol", Some(&c.symbol));
            w.str_field("interval", Some(&c.interval));
            w.dec_field("open", Some(c.open));
            w.dec_field("high", Some(c.high));
            w.dec_field("low", Some(c.low));
            w.dec_field("close", Some(c.close));
            w.dec_field("volume", Some(c.volume));
            w.int_field("start", Some(c.start));
            match c.closed {
                Some(closed) => w.bool_field("closed", closed),
                None => w.str_field("closed", None),
            }
            w.bool_field("from_snapshot", c.from_snapshot);
            w.int_field("ts", c.ts);
        }
        Event::Ticker(t) => {
            w.str_field("type", Some("ticker"));
            w.str_field("symbol", Some(&t.symbol));
            w.dec_field("last", t.last);
            w.dec_field("bid", t.bid);
            w.dec_field("ask", t.ask);
            w.dec_field("bid_qty", t.bid_qty);
            w.dec_field("ask_qty", t.ask_qty);
            w.dec_field("volume", t.volume);
            w.int_field("ts", t.ts);
        }
        Event::Book(b) => {
            let kind = if b.snapshot {
                "book_snapshot"
            } else {
                "book_delta"
            };
            w.str_field("type", Some(kind));
            w.str_field("symbol", Some(&b.symbol));
            w.levels_field("bids", events.levels(&b.bids));
            w.levels_field("asks", events.levels(&b.asks));
            w.int_field("checksum", b.checksum.map(i64::from));
            w.int_field("sequence", b.sequence.and_then(|s| i64::try_from(s).ok()));
            w.int_field("ts", b.ts);
            w.bool_field("from_snapshot", b.from_snapshot);
            w.dec_field("grouping", b.grouping);
        }
        Event::OrderAck(a) => {
            w.str_field("type", Some("order_ack"));
            w.int_field("req_id", a.req_id.and_then(|r| i64::try_from(r).ok()));
            w.str_field("method", Some(a.method.as_str()));
            w.str_field("order_id", a.order_id.as_deref());
            w.str_field("client_order_id", a.client_order_id.as_deref());
            w.int_field("ts_in", a.ts_in);
            w.int_field("ts_out", a.ts_out);
        }
        Event::OrderReject(r) => {
            w.str_field("type", Some("order_reject"));
            w.int_field("req_id", r.req_id.and_then(|r| i64::try_from(r).ok()));
            w.str_field("method", Some(r.method.as_str()));
            w.str_field("code", Some(&r.code));
            w.str_field("message", Some(&r.message));
            w.str_field("order_id", r.order_id.as_deref());
        }
        Event::OrderUpdate(index) => {
            let Some(u) = events.order_update(*index) else {
                return w.dangling("order update");
            };
            w.str_field("type", Some("order_update"));
            w.str_field("order_id", Some(&u.order_id));
            w.str_field("client_order_id", u.client_order_id.as_deref());
            w.str_field("symbol", u.symbol.as_deref());
            w.str_field("side", u.side.map(|s| s.as_str()));
            w.str_field("status", Some(u.status.as_str()));
            w.dec_field("price", u.price);
            w.dec_field("qty", u.qty);
            w.dec_field("filled_qty", u.filled_qty);
            w.int_field("ts", u.ts);
            let d = &u.detail;
            w.dec_field("avg_price", d.avg_price);
            w.dec_field("filled_notional", d.filled_notional);
            w.dec_field("fee", d.fee);
            w.str_field("fee_asset", d.fee_asset.as_deref());
            w.str_field("order_type", d.order_type.map(|t| t.as_str()));
            w.str_field("time_in_force", d.time_in_force.map(|t| t.as_str()));
            w.bool_field("post_only", d.post_only);
            w.int_field("created_ts", d.created_ts);
            w.dec_field("trigger_price", d.trigger_price);
            w.int_field("trades_count", d.trades_count.map(i64::from));
            w.dec_field("locked", d.locked);
            match d.prevented {
                Some(p) => w.str_field("prevented", Some(p.mode.map_or("yes", |m| m.as_str()))),
                None => w.str_field("prevented", None),
            }
            w.dec_field("prevented_qty", d.prevented.and_then(|p| p.qty));
            w.dec_field("prevented_locked", d.prevented.and_then(|p| p.locked));
        }
        Event::Fill(index) => {
            let Some(f) = events.fill(*index) else {
                return w.dangling("fill");
            };
            w.str_field("type", Some("fill"));
            w.str_field("order_id", Some(&f.order_id));
            w.str_field("client_order_id", f.client_order_id.as_deref());
            w.str_field("symbol", f.symbol.as_deref());
            w.str_field("side", f.side.map(|s| s.as_str()));
            w.dec_field("price", Some(f.price));
            w.dec_field("qty", Some(f.qty));
            w.dec_field("fee", f.fee);
            w.str_field("fee_asset", f.fee_asset.as_deref());
            w.str_field("trade_id", Some(&f.trade_id));
            w.str_field("exec_id", f.exec_id.as_deref());
            w.str_field("liquidity", f.liquidity.map(|l| l.as_str()));
            w.int_field("ts", f.ts);
            w.bool_field("derived", f.derived);
        }
        Event::Balance(b) => {
            w.str_field("type", Some("balance"));
            w.str_field("asset", Some(&b.asset));
            w.dec_field("free", Some(b.free));
            w.dec_field("locked", Some(b.locked));
            w.int_field("ts", b.ts);
        }
        Event::Response(r) => {
            w.str_field("type", Some("response"));
            w.int_field("req_id", r.req_id.and_then(|r| i64::try_from(r).ok()));
            w.str_field("method", Some(r.method.as_str()));
            w.bool_field("ok", r.ok);
            w.str_field("message", r.message.as_deref());
        }
        Event::Heartbeat => w.str_field("type", Some("heartbeat")),
        Event::Error(message) => {
            w.str_field("type", Some("error"));
            w.str_field("message", Some(message));
        }
        Event::VenueError { name, message } => {
            w.str_field("type", Some("error"));
            w.str_field("message", Some(message));
            w.str_field("name", Some(name));
        }
        Event::ChecksumMismatch {
            symbol,
            expected,
            computed,
        } => {
            w.str_field("type", Some("error"));
            let message =
                format!("book checksum mismatch for {symbol}: venue {expected}, local {computed}");
            w.str_field("message", Some(&message));
        }
        Event::SnapshotEnd { channel } => {
            w.str_field("type", Some("snapshot_end"));
            w.str_field("channel", Some(channel));
        }
        Event::Throttled {
            req_id,
            code,
            message,
            ..
        } => {
            w.str_field("type", Some("order_reject"));
            w.int_field("req_id", req_id.and_then(|r| i64::try_from(r).ok()));
            w.str_field("code", Some(code));
            w.str_field("message", Some(message));
        }
        Event::RateUsage(usage) => {
            // Not in the docs/events.md table: `orderwire decode` leaves it out;
            // other writers get it under its own type.
            w.str_field("type", Some("rate_limit"));
            w.int_field("req_id", usage.req_id.and_then(|r| i64::try_from(r).ok()));
            w.str_field("counter", Some(usage.counter.as_str()));
            w.int_field("window_secs", i64::try_from(usage.window_secs).ok());
            w.int_field("limit", Some(i64::from(usage.limit)));
            w.int_field("count", Some(i64::from(usage.count)));
        }
        Event::ServerShutdown { .. } => {
            w.str_field("type", Some("response"));
            w.int_field("req_id", None);
            w.str_field("method", Some(Method::Other.as_str()));
            w.bool_field("ok", true);
            w.str_field("message", Some("serverShutdown: reconnect"));
        }
        Event::MarketSignal {
            symbol,
            code,
            meaning,
        } => {
            w.str_field("type", Some("market_signal"));
            w.str_field("symbol", symbol.as_ref().map(|s| s.as_str()));
            w.int_field("code", Some(i64::from(*code)));
            w.str_field("message", Some(meaning));
        }
        Event::SessionRefused {
            code,
            message,
            permanent,
        } => {
            w.str_field("type", Some("error"));
            let message = format!(
                "session refused ({}): {code}: {message}",
                if *permanent { "for good" } else { "for now" }
            );
            w.str_field("message", Some(&message));
        }
        Event::NeedBookSnapshot { symbol } => {
            w.str_field("type", Some("error"));
            let message = format!("{symbol} book needs a snapshot");
            w.str_field("message", Some(&message));
        }
        Event::SequenceGap {
            channel,
            expected,
            got,
        } => {
            w.str_field("type", Some("error"));
            let message = format!("{channel} sequence gap: expected {expected}, got {got}");
            w.str_field("message", Some(&message));
        }
    }
    w.out.push(b'}');
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Writer<'_> {
    /// An event whose payload is not in the `Events` given with it: the
    /// caller's mistake, written as an error line rather than a panic.
    fn dangling(&mut self, what: &str) {
        self.str_field("type", Some("error"));
        let message = format!("{what} not in the events given");
        self.str_field("message", Some(&message));
        self.out.push(b'}');
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn str_field(&mut self, key: &str, value: Option<&str>) {
        self.key(key);
        match value {
            Some(text) => write_json_string(text, self.out),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn dec_field(&mut self, key: &str, value: Option<Decimal>) {
        self.key(key);
        match value {
            Some(value) => {
                self.out.push(b'"');
                value.write_to(self.out);
                self.out.push(b'"');
            }
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn int_field(&mut self, key: &str, value: Option<i64>) {
        self.key(key);
        match value {
            Some(value) => self.out.extend_from_slice(value.to_string().as_bytes()),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn bool_field(&mut self, key: &str, value: bool) {
        self.key(key);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn levels_field(&mut self, key: &str, levels: &[Level]) {
        self.key(key);
        self.out.push(b'[');
        for (index, level) in levels.iter().enumerate() {
            if index > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(b"[\"");
            level.price.write_to(self.out);
            self.out.extend_from_slice(b"\",\"");
            level.qty.write_to(self.out);
            self.out.extend_from_slice(b"\"]");
        }
        self.out.push(b']');
    }
}

/// Appends `text` as a JSON string literal, escaping quotes, backslashes and
/// control characters.
pub fn write_json_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for &byte in text.as_bytes() {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x00..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
            }
            _ => out.push(byte),
        }
    }
    out.push(b'"');
}
