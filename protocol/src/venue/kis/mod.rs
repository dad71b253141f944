//! KIS (Korea Investment & Securities) Open API WebSocket
//! (../shared/venues/kis.md; docs/venues/kis.md says what was chosen where
//! the page is silent). Plain `ws://`. JSON control frames: a subscribe or
//! release per `tr_id` + `tr_key`, answered by an ack that names the same
//! pair (no request id: the core's key correlation, through
//! [`ReplyKeys`]), and the server's `PINGPONG`, answered with a pong frame
//! carrying it. Data as `flag|tr_id|count|payload` caret records: trades
//! (H0STCNT0 and its NXT and combined variants), 10-level quotes
//! (H0STASP0 and variants, whole books), and execution notices encrypted
//! with AES-256-CBC under the key and iv of their subscription's ack. No
//! order entry: KIS takes orders over REST.

mod notice;
mod records;

use arrayvec::ArrayString;

use crate::json::Scanner;
use crate::model::{Event, Events, Method, Request, Response, Subscription, write_json_string};
use crate::secret::Secret;
use crate::venue::keyed::ReplyKeys;
use crate::venue::{
    BookKind, Capabilities, Correlation, Ctx, DecodeError, EncodeError, Expect, FrameKind, Frames,
    Keepalive, RatePolicy, Reconcile, Venue,
};

use self::notice::{FilledSoFar, NoticeKey};
use self::records::{Layout, TradingDay};

/// The real-account endpoint.
pub const URL: &str = "ws://ops.koreainvestment.com:21000";
/// The paper-trading endpoint.
pub const PAPER_URL: &str = "ws://ops.koreainvestment.com:31000";
/// Registrations one app key may hold (kis.md: the 42nd is refused).
pub const MAX_REGISTRATIONS: u32 = 41;

/// `custtype`: a personal or a business account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CustType {
    /// `P`.
    #[default]
    Personal,
    /// `B`.
    Business,
}

/// Which market's trades and quotes the subscriptions ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Market {
    /// KRX: H0STCNT0, H0STASP0.
    #[default]
    Krx,
    /// NXT: H0NXCNT0, H0NXASP0.
    Nxt,
    /// KRX and NXT combined: H0UNCNT0, H0UNASP0.
    Combined,
}

/// A subscription's `tr_id|tr_key`, as acks name it.
type SubscriptionKey = ArrayString<64>;

/// The KIS codec for one connection.
#[derive(Debug)]
pub struct Kis {
    approval_key: Secret,
    custtype: CustType,
    market: Market,
    /// The HTS user id execution notices are subscribed for.
    hts_id: Option<String>,
    /// Paper trading: notices are H0STCNI9.
    paper: bool,
    /// Requests waiting for their ack, by `tr_id|tr_key`.
    keys: ReplyKeys,
    /// Each subscription's key and iv, from its ack (secret).
    notice_keys: Vec<(SubscriptionKey, NoticeKey)>,
    day: TradingDay,
    filled: FilledSoFar,
    /// Decoded and decrypted notices pass through here.
    scratch: Vec<u8>,
}

impl Kis {
    /// A connection with this approval key (`KIS_WS_APPROVAL_KEY`; its
    /// length is not fixed and never checked).
    pub fn new(approval_key: Secret) -> Kis {
        Kis {
            approval_key,
            custtype: CustType::Personal,
            market: Market::Krx,
            hts_id: None,
            paper: false,
            keys: ReplyKeys::default(),
            notice_keys: Vec::new(),
            day: TradingDay::default(),
            filled: FilledSoFar::default(),
            scratch: Vec::with_capacity(1024),
        }
    }

    /// The codec a capture's header describes ([`Venue::capture_config`]),
    /// for a replay: a placeholder approval key, redacted like the
    /// recorded one. The capture holds no notice's AES key either (they
    /// are redacted from the acks), so a replay cannot decrypt execution
    /// notices: it reports each as a decode error (docs/capture.md).
    pub fn from_capture(header: &crate::capture::Header) -> Result<Kis, String> {
        use crate::capture::{REPLAY_SECRET, venue_setting, venue_setting_or};
        let custtype = match venue_setting(header, "custtype").unwrap_or("personal") {
            "personal" => CustType::Personal,
            "business" => CustType::Business,
            other => return Err(format!("capture header: bad KIS custtype {other}")),
        };
        let market = match venue_setting(header, "market").unwrap_or("krx") {
            "krx" => Market::Krx,
            "nxt" => Market::Nxt,
            "combined" => Market::Combined,
            other => return Err(format!("capture header: bad KIS market {other}")),
        };
        let mut kis = Kis::new(Secret::new(REPLAY_SECRET))
            .with_custtype(custtype)
            .with_market(market)
            .with_paper(venue_setting_or(header, "paper", false)?);
        if let Some(hts_id) = venue_setting(header, "hts_id").filter(|id| !id.is_empty()) {
            kis = kis.with_hts_id(hts_id);
        }
        Ok(kis)
    }

    /// For decoding captures: no key (nothing can be subscribed).
    pub fn offline() -> Kis {
        Kis::new(Secret::new(""))
    }

    /// The account type (`custtype`).
    pub fn with_custtype(mut self, custtype: CustType) -> Kis {
        self.custtype = custtype;
        self
    }

    /// The market of trades and quotes.
    pub fn with_market(mut self, market: Market) -> Kis {
        self.market = market;
        self
    }

    /// The HTS user id whose execution notices `Subscription::Executions`
    /// asks for.
    pub fn with_hts_id(mut self, hts_id: &str) -> Kis {
        self.hts_id = Some(hts_id.to_owned());
        self
    }

    /// Paper trading (H0STCNI9 notices).
    pub fn with_paper(mut self, paper: bool) -> Kis {
        self.paper = paper;
        self
    }

    fn trade_tr_id(&self) -> &'static str {
        match self.market {
            Market::Krx => "H0STCNT0",
            Market::Nxt => "H0NXCNT0",
            Market::Combined => "H0UNCNT0",
        }
    }

    fn quote_tr_id(&self) -> &'static str {
        match self.market {
            Market::Krx => "H0STASP0",
            Market::Nxt => "H0NXASP0",
            Market::Combined => "H0UNASP0",
        }
    }

    fn notice_tr_id(&self) -> &'static str {
        if self.paper { "H0STCNI9" } else { "H0STCNI0" }
    }

    /// `{"header":{..},"body":{"input":{"tr_id":..,"tr_key":..}}}`.
    fn write_request(&self, out: &mut Vec<u8>, register: bool, tr_id: &str, tr_key: &str) {
        out.extend_from_slice(b"{\"header\":{\"approval_key\":");
        write_json_string(self.approval_key.expose(), out);
        out.extend_from_slice(b",\"custtype\":\"");
        out.push(match self.custtype {
            CustType::Personal => b'P',
            CustType::Business => b'B',
        });
        out.extend_from_slice(b"\",\"tr_type\":\"");
        out.push(if register { b'1' } else { b'2' });
        out.extend_from_slice(b"\",\"content-type\":\"utf-8\"},\"body\":{\"input\":{\"tr_id\":");
        write_json_string(tr_id, out);
        out.extend_from_slice(b",\"tr_key\":");
        write_json_string(tr_key, out);
        out.extend_from_slice(b"}}}");
    }

    /// The JSON control messages: an ack, or PINGPONG.
    fn decode_control(
        &mut self,
        message: &[u8],
        out: &mut Events,
        reply: &mut Frames,
    ) -> Result<(), DecodeError> {
        let ack = Ack::parse(message)?;
        if ack.tr_id == b"PINGPONG" {
            // Most official samples answer with a pong frame carrying the
            // received text (kis.md "PINGPONG").
            reply.frame(FrameKind::Pong).extend_from_slice(message);
            out.list.push(Event::Heartbeat);
            return Ok(());
        }
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        if ack.msg_cd == b"OPSP8996" {
            // A second session on the key: useless, and reconnecting would
            // be refused again (and loops can get the key blocked).
            out.list.push(Event::SessionRefused {
                code: text(ack.msg_cd),
                message: text(ack.msg1),
                permanent: true,
            });
            return Ok(());
        }
        let mut key = SubscriptionKey::new();
        for part in [ack.tr_id, b"|".as_slice(), ack.tr_key] {
            let part = std::str::from_utf8(part)
                .map_err(|_| crate::venue::fields::field("tr_id", "not text"))?;
            key.try_push_str(part)
                .map_err(|_| crate::venue::fields::field("tr_key", "too long"))?;
        }
        let already = ack.msg1 == b"ALREADY IN SUBSCRIBE";
        let ok = ack.rt_cd == b"0" || already;
        let released = ack.msg1 == b"UNSUBSCRIBE SUCCESS";
        if released {
            self.notice_keys.retain(|(k, _)| *k != key);
        } else if ok {
            if let Some(cipher) = NoticeKey::new(ack.key, ack.iv) {
                self.notice_keys.retain(|(k, _)| *k != key);
                self.notice_keys.push((key, cipher));
            }
        }
        let mut message = text(ack.msg_cd);
        message.push(' ');
        message.push_str(&text(ack.msg1));
        out.list.push(Event::Response(Response {
            req_id: self.keys.take(&key),
            method: if released {
                Method::Unsubscribe
            } else {
                Method::Subscribe
            },
            ok,
            message: Some(message),
            ts_in: None,
            ts_out: None,
        }));
        Ok(())
    }

    /// A caret-record frame.
    fn decode_records(
        &mut self,
        wall_ns: i64,
        message: &[u8],
        out: &mut Events,
    ) -> Result<(), DecodeError> {
        let frame = records::frame(message)?;
        let layout = Layout::of(frame.tr_id).ok_or(crate::venue::fields::field(
            "tr_id",
            "not a KIS realtime tr_id",
        ))?;
        match layout {
            Layout::Notice => {
                if !frame.encrypted {
                    return notice::decode(
                        frame.payload,
                        frame.count,
                        &self.day,
                        wall_ns,
                        &mut self.filled,
                        out,
                    );
                }
                let cipher = self
                    .notice_keys
                    .iter()
                    .find(|(key, _)| {
                        key.as_bytes().starts_with(frame.tr_id)
                            && key.as_bytes().get(frame.tr_id.len()) == Some(&b'|')
                    })
                    .map(|(_, cipher)| cipher.clone())
                    .ok_or(crate::venue::fields::field(
                        "notice",
                        "no key yet: its ack has not come",
                    ))?;
                let mut scratch = std::mem::take(&mut self.scratch);
                let decoded = cipher.open(frame.payload, &mut scratch).and_then(|plain| {
                    notice::decode(
                        plain,
                        frame.count,
                        &self.day,
                        wall_ns,
                        &mut self.filled,
                        out,
                    )
                });
                self.scratch = scratch;
                decoded
            }
            Layout::Trade | Layout::Quote(_) => {
                records::check_layout(frame.payload, frame.count, layout.width())?;
                let mark = out.mark();
                let day = &mut self.day;
                let decoded = records::for_each_record(frame.payload, layout.width(), |record| {
                    if layout == Layout::Trade {
                        records::trade(record, day, out)
                    } else {
                        records::quote(record, day, wall_ns, out)
                    }
                });
                if decoded.is_err() {
                    // A frame gives all its events or none.
                    out.roll_back(mark);
                }
                decoded
            }
        }
    }
}

/// The fields of a JSON control message KIS sends.
#[derive(Default)]
struct Ack<'a> {
    tr_id: &'a [u8],
    tr_key: &'a [u8],
    rt_cd: &'a [u8],
    msg_cd: &'a [u8],
    msg1: &'a [u8],
    key: &'a [u8],
    iv: &'a [u8],
}

impl<'a> Ack<'a> {
    fn parse(message: &'a [u8]) -> Result<Ack<'a>, DecodeError> {
        let mut ack = Ack::default();
        let mut scanner = Scanner::new(message);
        scanner.begin_object()?;
        while let Some(key) = scanner.next_key()? {
            match key.raw {
                b"header" => {
                    scanner.begin_object()?;
                    while let Some(key) = scanner.next_key()? {
                        match key.raw {
                            b"tr_id" => ack.tr_id = scanner.string()?.raw,
                            b"tr_key" => ack.tr_key = scanner.string()?.raw,
                            _ => drop(scanner.skip_value()?),
                        }
                    }
                }
                b"body" => {
                    scanner.begin_object()?;
                    while let Some(key) = scanner.next_key()? {
                        match key.raw {
                            b"rt_cd" => ack.rt_cd = scanner.string()?.raw,
                            b"msg_cd" => ack.msg_cd = scanner.string()?.raw,
                            b"msg1" => ack.msg1 = scanner.string()?.raw,
                            b"output" => {
                                scanner.begin_object()?;
                                while let Some(key) = scanner.next_key()? {
                                    match key.raw {
                                        b"key" => ack.key = scanner.string()?.raw,
                                        b"iv" => ack.iv = scanner.string()?.raw,
                                        _ => drop(scanner.skip_value()?),
                                    }
                                }
                            }
                            _ => drop(scanner.skip_value()?),
                        }
                    }
                }
                _ => drop(scanner.skip_value()?),
            }
        }
        if ack.tr_id.is_empty() {
            return Err(crate::venue::fields::field("header.tr_id", "missing"));
        }
        Ok(ack)
    }
}

impl Venue for Kis {
    fn name(&self) -> &'static str {
        "kis"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            order_entry: false,
            // Acks name `tr_id` + `tr_key`, never a request id.
            correlation: Correlation::ByKey,
            reconcile: Reconcile::NotApplicable,
            // Every quote record is a whole 10-level book.
            book: BookKind::Whole,
            // The approval key goes out in every request; each notice
            // subscription's ack carries the AES-256 key and iv of its
            // notices (kis.md): all three are secrets.
            secret_fields: &["approval_key", "key", "iv"],
            max_subscriptions: Some(MAX_REGISTRATIONS),
            ..Capabilities::default()
        }
    }

    /// One message per `tr_id` + `tr_key`; each is answered by its own ack.
    fn encode(
        &mut self,
        _ctx: &mut Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Frames,
    ) -> Result<Expect, EncodeError> {
        let (register, subscription) = match request {
            Request::Subscribe(subscription) => (true, subscription),
            Request::Unsubscribe(subscription) => (false, subscription),
            _ => {
                return Err(EncodeError::Unsupported(
                    "anything but subscriptions (KIS takes orders over REST)",
                ));
            }
        };
        let (tr_id, keys): (&str, Vec<&str>) = match subscription {
            Subscription::Trades { symbols } => (
                self.trade_tr_id(),
                symbols.iter().map(|s| s.as_str()).collect(),
            ),
            Subscription::Book { symbols, .. } => (
                self.quote_tr_id(),
                symbols.iter().map(|s| s.as_str()).collect(),
            ),
            Subscription::Executions { .. } => {
                let id = self.hts_id.as_deref().ok_or(EncodeError::NoCredentials)?;
                (self.notice_tr_id(), vec![id])
            }
            _ => return Err(EncodeError::Unsupported("this channel at KIS")),
        };
        if keys.is_empty() {
            return Err(EncodeError::Invalid("no stock code"));
        }
        let mut written = 0u32;
        for tr_key in &keys {
            self.write_request(out.frame(FrameKind::Text), register, tr_id, tr_key);
            let mut key = SubscriptionKey::new();
            if key.try_push_str(tr_id).is_err()
                || key.try_push('|').is_err()
                || key.try_push_str(tr_key).is_err()
            {
                return Err(EncodeError::Invalid("tr_key too long"));
            }
            self.keys.insert(&key, req_id);
            written += 1;
        }
        Ok(Expect::Replies(written))
    }

    fn decode(
        &mut self,
        ctx: &mut Ctx<'_>,
        _kind: FrameKind,
        message: &mut [u8],
        out: &mut Events,
        reply: &mut Frames,
    ) -> Result<(), DecodeError> {
        let message = message.trim_ascii();
        if message.first() == Some(&b'{') {
            self.decode_control(message, out, reply)
        } else {
            self.decode_records(ctx.wall_ns, message, out)
        }
    }

    /// A new connection: no ack is coming for the old one's requests, and
    /// the trading date is read again. The notice keys are kept: an ALREADY
    /// IN SUBSCRIBE ack (common after a reconnect) carries none, and a new
    /// SUBSCRIBE SUCCESS replaces them.
    fn reset(&mut self) {
        self.keys.clear();
        self.day = TradingDay::default();
    }

    /// KIS sends PINGPONG; the client only answers it.
    fn keepalive(&self) -> Keepalive {
        Keepalive {
            idle_close_after: None,
            app_ping_every: None,
            heartbeat_every: None,
            max_connection_age: None,
        }
    }

    /// KIS publishes no WebSocket rate limit (kis.md: loops of connects or
    /// subscribes may get a key blocked; the 41-registration cap is
    /// enforced by the core from `max_subscriptions`).
    fn capture_config(&self) -> String {
        let custtype = match self.custtype {
            CustType::Personal => "personal",
            CustType::Business => "business",
        };
        let market = match self.market {
            Market::Krx => "krx",
            Market::Nxt => "nxt",
            Market::Combined => "combined",
        };
        // The HTS id names the account whose notices are asked for; it
        // goes out in the subscribe frames as it is, and is no secret.
        format!(
            "custtype={custtype}\nmarket={market}\npaper={}\nhts_id={}",
            self.paper,
            self.hts_id.as_deref().unwrap_or("")
        )
    }

    fn rate_policy(&self) -> RatePolicy {
        RatePolicy::default()
    }
}

/// A codec for captured messages: a notice decodes when an earlier line
/// gave its subscription's ack.
pub fn offline_codec(_book_depth: u32) -> Box<dyn Venue> {
    Box::new(Kis::offline())
}
