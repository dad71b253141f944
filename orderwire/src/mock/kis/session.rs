//! One KIS connection, sans-IO: the client's JSON in, acks, caret records,
//! encrypted notices and PINGPONG out, on the mock's clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use aes::Aes256;
use base64::Engine as _;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockEncryptMut, KeyIvInit};
use orderwire_protocol::model::Side;
use orderwire_protocol::num::Decimal;
use orderwire_protocol::time::Instant;
use serde_json::Value;

use super::Shared;
use crate::mock::session::{MockSession, Output};

/// How often a session looks for new trades, books and notices.
const PUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(5);

/// One registration: its tr_id and tr_key, and the key and iv its ack
/// gave (what its notices are encrypted with).
struct Registration {
    tr_id: String,
    tr_key: String,
    key: String,
    iv: String,
}

/// The mock's side of one KIS connection.
pub struct Session {
    shared: Arc<Shared>,
    id: u64,
    now: Instant,
    out: VecDeque<Output>,
    registrations: Vec<Registration>,
    /// A second session on the key: refused, and nothing more.
    second: bool,
    /// Prints of the tape already sent.
    tape_sent: usize,
    /// Book versions already sent, by code.
    books_sent: HashMap<String, u64>,
    /// Notices already sent.
    notices_sent: usize,
    next_pingpong: Instant,
    /// A PINGPONG unanswered since.
    unanswered_since: Option<Instant>,
    /// Keys made so far (each registration gets its own).
    keys_made: u64,
    /// The mock's drop count when the session opened.
    drops_seen: u64,
    ended: bool,
}

impl Session {
    pub(crate) fn open(shared: Arc<Shared>, id: u64, now: Instant) -> Session {
        let second = {
            let mut live = shared.open_sessions.lock();
            *live += 1;
            *live > 1
        };
        let next_pingpong = now + shared.config.pingpong_every;
        let drops_seen = shared.drops.load(std::sync::atomic::Ordering::Relaxed);
        let (tape_sent, notices_sent) =
            (shared.market.lock().tape.len(), shared.notices.lock().len());
        Session {
            shared,
            id,
            now,
            out: VecDeque::new(),
            registrations: Vec::new(),
            second,
            tape_sent,
            books_sent: HashMap::new(),
            notices_sent,
            next_pingpong,
            unanswered_since: None,
            keys_made: 0,
            drops_seen,
            ended: false,
        }
    }

    fn ack(
        &mut self,
        tr_id: &str,
        tr_key: &str,
        rt_cd: &str,
        msg_cd: &str,
        msg1: &str,
        output: Option<(&str, &str)>,
    ) {
        let output = output.map_or(String::new(), |(iv, key)| {
            format!(r#","output":{{"iv":"{iv}","key":"{key}"}}"#)
        });
        self.out.push_back(Output::Text(format!(
            r#"{{"header":{{"tr_id":"{tr_id}","tr_key":"{tr_key}","encrypt":"N"}},"body":{{"rt_cd":"{rt_cd}","msg_cd":"{msg_cd}","msg1":"{msg1}"{output}}}}}"#
        )));
    }

    /// A 32-character key and a 16-character iv of lowercase letters and
    /// digits, different for every registration of every session.
    fn make_key(&mut self) -> (String, String) {
        self.keys_made += 1;
        let mut state = self.id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ self.keys_made.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut next = |n: usize| -> String {
            (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let index = usize::try_from(state >> 59).unwrap_or(0) % 36;
                    char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[index])
                })
                .collect()
        };
        (next(32), next(16))
    }

    fn subscribe(&mut self, message: &Value) {
        let header = &message["header"];
        let input = &message["body"]["input"];
        let tr_id = input["tr_id"].as_str().unwrap_or_default().to_owned();
        let tr_key = input["tr_key"].as_str().unwrap_or_default().to_owned();
        if self.second {
            // kis.md: the literal `(null)`, rt_cd 9.
            self.shared.stats.lock().refused_sessions += 1;
            self.ack("(null)", "", "9", "OPSP8996", "ALREADY IN USE appkey", None);
            return;
        }
        if header["approval_key"].as_str() != Some(self.shared.config.approval_key.as_str()) {
            // The mock's choice of words (docs/venues/kis.md).
            self.shared.stats.lock().bad_keys += 1;
            self.ack(
                &tr_id,
                &tr_key,
                "1",
                "OPSP0011",
                "invalid approval : NOT FOUND",
                None,
            );
            return;
        }
        let known = matches!(
            tr_id.as_str(),
            "H0STCNT0"
                | "H0NXCNT0"
                | "H0UNCNT0"
                | "H0STASP0"
                | "H0NXASP0"
                | "H0UNASP0"
                | "H0STCNI0"
                | "H0STCNI9"
        );
        if !known {
            self.ack(&tr_id, &tr_key, "1", "OPSP0002", "invalid tr_id", None);
            return;
        }
        let held = self
            .registrations
            .iter()
            .position(|r| r.tr_id == tr_id && r.tr_key == tr_key);
        match header["tr_type"].as_str() {
            Some("1") => {
                if held.is_some() {
                    self.shared.stats.lock().repeats += 1;
                    self.ack(
                        &tr_id,
                        &tr_key,
                        "1",
                        "OPSP0001",
                        "ALREADY IN SUBSCRIBE",
                        None,
                    );
                } else if self.registrations.len() >= self.shared.config.max_registrations {
                    // rt_cd 1 (captures differ between 1 and 9).
                    self.shared.stats.lock().over_cap += 1;
                    self.ack(&tr_id, &tr_key, "1", "OPSP0008", "MAX SUBSCRIBE OVER", None);
                } else {
                    let (key, iv) = self.make_key();
                    self.shared.stats.lock().subscribes += 1;
                    self.ack(
                        &tr_id,
                        &tr_key,
                        "0",
                        "OPSP0000",
                        "SUBSCRIBE SUCCESS",
                        Some((&iv, &key)),
                    );
                    let is_quote = tr_id.ends_with("ASP0");
                    self.registrations.push(Registration {
                        tr_id,
                        tr_key: tr_key.clone(),
                        key,
                        iv,
                    });
                    if is_quote {
                        // The book as it stands, at once.
                        self.books_sent.remove(&tr_key);
                    }
                }
            }
            Some("2") => {
                if let Some(index) = held {
                    self.registrations.remove(index);
                }
                self.shared.stats.lock().releases += 1;
                self.ack(
                    &tr_id,
                    &tr_key,
                    "0",
                    "OPSP0000",
                    "UNSUBSCRIBE SUCCESS",
                    None,
                );
            }
            // "0" and anything else: what KIS does is unconfirmed; the mock
            // refuses it (docs/venues/kis.md).
            _ => self.ack(&tr_id, &tr_key, "1", "OPSP0003", "invalid tr_type", None),
        }
    }

    fn registered(&self, tr_id_suffix: &str, code: &str) -> Option<&Registration> {
        self.registrations
            .iter()
            .find(|r| r.tr_id.ends_with(tr_id_suffix) && r.tr_key == code)
    }

    /// New prints as trade records, `records_per_message` to a message.
    fn push_trades(&mut self) {
        let market = self.shared.market.lock();
        let prints: Vec<_> = market.tape.iter().skip(self.tape_sent).cloned().collect();
        self.tape_sent = market.tape.len();
        let mut batches: Vec<(String, Vec<String>)> = Vec::new();
        for print in prints {
            let Some(registration) = self.registered("CNT0", &print.market) else {
                continue;
            };
            let tr_id = registration.tr_id.clone();
            let cumulative = market
                .tape
                .iter()
                .filter(|p| p.market == print.market && p.id <= print.id)
                .fold(Decimal::ZERO, |sum, p| {
                    sum.checked_add(p.qty).unwrap_or(sum)
                });
            let (date, time) = Shared::kst(print.ts_ms);
            let mut fields = vec!["0".to_owned(); 46];
            fields[0] = print.market.clone();
            fields[1] = time;
            fields[2] = print.price.to_string();
            fields[3] = "3".to_owned();
            fields[12] = print.qty.to_string();
            fields[13] = cumulative.to_string();
            fields[21] = match print.taker {
                Side::Buy => "1",
                Side::Sell => "5",
            }
            .to_owned();
            fields[33] = date;
            let record = fields.join("^");
            match batches.last_mut() {
                Some((id, records))
                    if *id == tr_id && records.len() < self.shared.config.records_per_message =>
                {
                    records.push(record)
                }
                _ => batches.push((tr_id, vec![record])),
            }
        }
        drop(market);
        for (tr_id, records) in batches {
            self.shared.stats.lock().record_messages += 1;
            self.out.push_back(Output::Text(format!(
                "0|{tr_id}|{:03}|{}",
                records.len(),
                records.join("^")
            )));
        }
    }

    /// Changed books as quote records, one message per code.
    fn push_books(&mut self) {
        let codes: Vec<(String, String)> = self
            .registrations
            .iter()
            .filter(|r| r.tr_id.ends_with("ASP0"))
            .map(|r| (r.tr_id.clone(), r.tr_key.clone()))
            .collect();
        let wall = self.shared.wall_ms(self.now);
        for (tr_id, code) in codes {
            let market = self.shared.market.lock();
            let version = market.version(&code);
            if version == 0 || self.books_sent.get(&code) == Some(&version) {
                continue;
            }
            let (asks, bids) = (
                market.top(&code, Side::Sell, 10),
                market.top(&code, Side::Buy, 10),
            );
            drop(market);
            self.books_sent.insert(code.clone(), version);
            let width = if tr_id == "H0STASP0" { 59 } else { 65 };
            let mut fields = vec!["0".to_owned(); width];
            fields[0] = code;
            fields[1] = Shared::kst(wall).1;
            for (i, (price, qty)) in asks.iter().enumerate() {
                fields[3 + i] = price.to_string();
                fields[23 + i] = qty.to_string();
            }
            for (i, (price, qty)) in bids.iter().enumerate() {
                fields[13 + i] = price.to_string();
                fields[33 + i] = qty.to_string();
            }
            self.shared.stats.lock().record_messages += 1;
            self.out
                .push_back(Output::Text(format!("0|{tr_id}|001|{}", fields.join("^"))));
        }
    }

    /// New notices for the HTS id, encrypted with its registration's key.
    fn push_notices(&mut self) {
        let notices: Vec<_> = {
            let all = self.shared.notices.lock();
            let new = all.iter().skip(self.notices_sent).cloned().collect();
            self.notices_sent = all.len();
            new
        };
        let hts_id = self.shared.config.hts_id.clone();
        let Some(registration) = self
            .registrations
            .iter()
            .find(|r| r.tr_id.starts_with("H0STCNI") && r.tr_key == hts_id)
        else {
            return;
        };
        let encryptor = |plain: &[u8]| -> String {
            let mut buffer = plain.to_vec();
            let length = buffer.len();
            buffer.resize(length + 16, 0);
            let key: [u8; 32] = registration.key.as_bytes().try_into().unwrap_or([0; 32]);
            let iv: [u8; 16] = registration.iv.as_bytes().try_into().unwrap_or([0; 16]);
            let sealed = cbc::Encryptor::<Aes256>::new(&key.into(), &iv.into())
                .encrypt_padded_mut::<Pkcs7>(&mut buffer, length)
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            base64::engine::general_purpose::STANDARD.encode(sealed)
        };
        let tr_id = registration.tr_id.clone();
        let sealed: Vec<String> = notices
            .iter()
            .map(|n| encryptor(n.fields.join("^").as_bytes()))
            .collect();
        for text in sealed {
            self.shared.stats.lock().notices += 1;
            self.out
                .push_back(Output::Text(format!("1|{tr_id}|001|{text}")));
        }
    }

    fn answered(&mut self) {
        if self.unanswered_since.take().is_some() {
            self.shared.stats.lock().answered += 1;
        }
    }

    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            let mut live = self.shared.open_sessions.lock();
            *live = live.saturating_sub(1);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.end();
    }
}

impl MockSession for Session {
    fn handle_text(&mut self, now: Instant, text: &str) {
        self.now = now;
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if message["header"]["tr_id"].as_str() == Some("PINGPONG") {
            // An echo answers it (kis.md: a client report).
            self.answered();
            return;
        }
        self.subscribe(&message);
    }

    fn handle_pong(&mut self, now: Instant, payload: &[u8]) {
        self.now = now;
        if payload.starts_with(b"{\"header\":{\"tr_id\":\"PINGPONG\"") {
            self.answered();
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        self.now = now;
        if self.shared.drops.load(std::sync::atomic::Ordering::Relaxed) != self.drops_seen {
            self.out.push_back(Output::Drop);
            self.end();
            return;
        }
        if let Some(since) = self.unanswered_since {
            if now >= since + self.shared.config.pong_timeout {
                self.shared.stats.lock().silent_drops += 1;
                self.out.push_back(Output::Drop);
                self.end();
                return;
            }
        }
        if now >= self.next_pingpong {
            let (date, time) = Shared::kst(self.shared.wall_ms(now));
            self.out.push_back(Output::Text(format!(
                r#"{{"header":{{"tr_id":"PINGPONG","datetime":"{date}{time}"}}}}"#
            )));
            self.shared.stats.lock().pingpongs += 1;
            self.unanswered_since.get_or_insert(now);
            self.next_pingpong = now + self.shared.config.pingpong_every;
        }
        if !self.second {
            self.push_trades();
            self.push_books();
            self.push_notices();
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let mut at = self.next_pingpong.min(self.now + PUSH_EVERY);
        if let Some(since) = self.unanswered_since {
            at = at.min(since + self.shared.config.pong_timeout);
        }
        Some(at)
    }

    fn is_ended(&self) -> bool {
        self.ended
    }
}
