//! Recording the core's inputs (issue 25, docs/capture.md): with a
//! [`Recorder`] installed, every input the core takes is handed over as a
//! capture [`Record`], at the core's own input boundary and in the order
//! the core took them, and so is every frame it writes. Both drivers get
//! this from the core, so neither records anything itself, and a replay
//! that feeds the records back into a core built the same way
//! (`crate::replay`) reproduces the outbound bytes.
//!
//! Secrets never reach a file: a recorder gets the core's batches as they
//! are and redacts them before they leave memory ([`Batch::redact_into`],
//! with the venue's own list of secret keys,
//! [`Capabilities::secret_fields`]); the engine's recorder does it on its
//! writer thread. The upgrade's headers (Upbit's JWT) are not recorded at
//! all. A token set on the codec is not an input the core sees.
//!
//! [`Capabilities::secret_fields`]: orderwire_protocol::venue::Capabilities::secret_fields

use std::time::Duration;

use orderwire_protocol::capture::{
    FrameType, Header, Record, RecordBody, decode_subscription, encode_snapshot, encode_submit,
    encode_subscription,
};
use orderwire_protocol::model::{BookEvent, Level, Request};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{FrameKind, redact_json};

use crate::callback::RequestOptions;
use crate::config::{DeadManSwitch, GatewayConfig, WhenDisconnected, WhenLimited};
use crate::decoder::wall_clock_ns;
use crate::link::{ConnError, Disconnect};

/// Where a core's recorded inputs go: the engine's capture writer
/// (`orderwire_engine::capture::CaptureSink`), or a replay's comparison
/// (`crate::replay`).
pub trait Recorder: Send {
    /// One record. Its byte strings borrow from the core: copy what is
    /// kept. Called on the core's thread: keep it short.
    fn record(&mut self, record: &Record<'_>);

    /// A batch of records as the core made them, not yet redacted: the
    /// core hands its records over so, once the frames an input caused
    /// have left (see docs/capture.md). A recorder redacts them
    /// ([`Batch::redact_into`]) before they leave memory; the engine's
    /// writer thread does it there, off the trading thread. By default
    /// each record goes, redacted, to [`Recorder::record`].
    fn record_batch(&mut self, batch: Batch<'_>) {
        let mut redacted = Vec::with_capacity(batch.encoded.len());
        batch.redact_into(&mut Vec::new(), &mut redacted);
        let mut rest = redacted.as_slice();
        while let Ok((record, next)) = Record::decode_first(rest) {
            self.record(&record);
            rest = next;
        }
    }
}

/// Records encoded one after another as `Record::encode` writes them,
/// their frames still holding any secret, and how to redact them.
#[derive(Clone, Copy)]
pub struct Batch<'a> {
    /// The records.
    pub encoded: &'a [u8],
    /// How many.
    pub count: usize,
    /// The venue's secret keys (`Capabilities::secret_fields`).
    pub secret_fields: &'static [&'static str],
}

impl std::fmt::Debug for Batch<'_> {
    /// The count only: the bytes may hold secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl Batch<'_> {
    /// Appends the records to `out`, every text frame's secret values
    /// replaced by `"***"` (`scratch` is a reused buffer). Bytes that do
    /// not read as records are dropped: a batch is the core's own.
    pub fn redact_into(&self, scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
        let mut rest = self.encoded;
        while let Ok((record, next)) = Record::decode_first(rest) {
            let raw = &rest[..rest.len() - next.len()];
            rest = next;
            let (RecordBody::FrameIn { kind, payload, .. }
            | RecordBody::FrameOut { kind, payload }) = record.body
            else {
                out.extend_from_slice(raw);
                continue;
            };
            if kind != FrameType::Text || self.secret_fields.is_empty() {
                out.extend_from_slice(raw);
                continue;
            }
            redact_frame(kind, payload, self.secret_fields, scratch);
            let body = match record.body {
                RecordBody::FrameIn { received_ns, .. } => RecordBody::FrameIn {
                    kind,
                    received_ns,
                    payload: scratch,
                },
                _ => RecordBody::FrameOut {
                    kind,
                    payload: scratch,
                },
            };
            // It was encoded once at full length; redacted, it is no longer.
            let _ = Record { body, ..record }.encode(out);
        }
    }
}

/// The core's side of recording: the recorder, the venue's secret keys,
/// and the records not yet handed over.
///
/// Recording costs the trading path an append: each record is encoded into
/// `pending` as it happens (a frame's bytes copied as they are), and the
/// batch goes to the recorder at [`Tap::flush`]: once the frames an input
/// caused have left (the driver's `poll_transmit` that finds none left, and
/// `poll_events`) if the oldest record has waited a millisecond, when
/// 64 KiB are pending, and when the driver asks (`flush_recording`, before
/// it ends a capture). The
/// recorder redacts ([`Batch::redact_into`]); the engine's does it on its
/// writer thread, so a secret crosses to that thread in memory and is
/// replaced before anything is written.
pub(crate) struct Tap {
    recorder: Box<dyn Recorder>,
    secret_fields: &'static [&'static str],
    pending: Vec<u8>,
    pending_count: usize,
    /// The time of the oldest pending record.
    pending_since: Instant,
    /// A request's or a snapshot's bytes; a redacted frame.
    scratch: Vec<u8>,
    pub(crate) wall_offset_ns: i64,
    /// The last input's time, for an input that comes with none.
    last_now: Instant,
}

/// Pending bytes that make [`Tap::emit`] hand the batch over at once.
const FLUSH_AT: usize = 64 * 1024;

/// How long records wait in the core at most, while inputs come.
const FLUSH_AGE: Duration = Duration::from_millis(1);

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").finish_non_exhaustive()
    }
}

fn frame_type(kind: FrameKind) -> FrameType {
    match kind {
        FrameKind::Text => FrameType::Text,
        FrameKind::Binary => FrameType::Binary,
        FrameKind::Pong => FrameType::Pong,
        // A kind added later: kept as binary, its bytes whole.
        _ => FrameType::Binary,
    }
}

/// The frame kind a captured frame type is given back to a core as;
/// `None` for a type no core takes (ping, close).
pub fn frame_kind(kind: FrameType) -> Option<FrameKind> {
    match kind {
        FrameType::Text => Some(FrameKind::Text),
        FrameType::Binary => Some(FrameKind::Binary),
        FrameType::Pong => Some(FrameKind::Pong),
        FrameType::Ping | FrameType::Close => None,
    }
}

/// `frame` with the values of `secret_fields` replaced, into `out`: what
/// a capture holds of a frame. Text frames only: the venues' binary frames
/// (Upbit's JSON, DigiFinex's zlib) carry market data and no secret.
pub fn redact_frame(kind: FrameType, frame: &[u8], secret_fields: &[&str], out: &mut Vec<u8>) {
    out.clear();
    if kind == FrameType::Text && !secret_fields.is_empty() {
        redact_json(frame, secret_fields, out);
    } else {
        out.extend_from_slice(frame);
    }
}

impl Tap {
    pub(crate) fn new(
        recorder: Box<dyn Recorder>,
        secret_fields: &'static [&'static str],
        wall_offset_ns: i64,
    ) -> Tap {
        Tap {
            recorder,
            secret_fields,
            pending: Vec::with_capacity(FLUSH_AT + orderwire_protocol::venue::FRAME_CAPACITY),
            pending_count: 0,
            pending_since: Instant::ZERO,
            scratch: Vec::with_capacity(orderwire_protocol::venue::FRAME_CAPACITY),
            wall_offset_ns,
            last_now: Instant::ZERO,
        }
    }

    fn emit(&mut self, now: Instant, body: RecordBody<'_>) {
        self.last_now = now;
        let record = Record {
            mono_ns: now.as_nanos(),
            wall_ns: wall_clock_ns(now, self.wall_offset_ns),
            body,
        };
        // Only a record over MAX_BLOCK (32 MiB) is refused; no frame is one.
        if record.encode(&mut self.pending).is_ok() {
            if self.pending_count == 0 {
                self.pending_since = now;
            }
            self.pending_count += 1;
        }
        if self.pending.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// Flushes if the oldest pending record is [`FLUSH_AGE`] older than
    /// the last input: the core's regular hand-over, once a millisecond at
    /// most, so that its cost (a copy of the batch into the recorder's
    /// buffer, cold in this core's cache) is spread over every input of
    /// that millisecond rather than paid by each.
    pub(crate) fn flush_if_due(&mut self) {
        if self.pending_count > 0
            && self.last_now.saturating_duration_since(self.pending_since) >= FLUSH_AGE
        {
            self.flush();
        }
    }

    /// Hands the pending records to the recorder, which redacts them.
    pub(crate) fn flush(&mut self) {
        if self.pending_count == 0 {
            return;
        }
        self.recorder.record_batch(Batch {
            encoded: &self.pending,
            count: self.pending_count,
            secret_fields: self.secret_fields,
        });
        self.pending.clear();
        self.pending_count = 0;
    }

    pub(crate) fn frame_in(
        &mut self,
        now: Instant,
        received_at: Instant,
        kind: FrameKind,
        payload: &[u8],
    ) {
        self.emit(
            now,
            RecordBody::FrameIn {
                kind: frame_type(kind),
                received_ns: received_at.as_nanos(),
                payload,
            },
        );
    }

    pub(crate) fn frame_out(&mut self, now: Instant, kind: FrameKind, payload: &[u8]) {
        self.emit(
            now,
            RecordBody::FrameOut {
                kind: frame_type(kind),
                payload,
            },
        );
    }

    pub(crate) fn submit(&mut self, now: Instant, request: &Request<'_>, options: RequestOptions) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        encode_submit(
            request,
            options.req_id,
            options.tag.map(|tag| tag.0),
            &mut scratch,
        );
        self.emit(
            now,
            RecordBody::Submit {
                req_id: options.req_id.unwrap_or(0),
                request: &scratch,
            },
        );
        self.scratch = scratch;
    }

    pub(crate) fn snapshot(&mut self, now: Instant, book: &BookEvent, levels: &[Level]) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        encode_snapshot(book, levels, &mut scratch);
        self.snapshot_bytes(now, &scratch);
        self.scratch = scratch;
    }

    pub(crate) fn snapshot_bytes(&mut self, now: Instant, snapshot: &[u8]) {
        self.emit(now, RecordBody::BookSnapshot { snapshot });
    }

    pub(crate) fn connect(&mut self, now: Instant, attempt: u32) {
        self.emit(now, RecordBody::Connect { attempt });
    }

    pub(crate) fn handshake(&mut self, now: Instant) {
        self.emit(now, RecordBody::Handshake { response: &[] });
    }

    pub(crate) fn timer(&mut self, now: Instant) {
        self.emit(now, RecordBody::Timer { timer: TIMER });
    }

    pub(crate) fn reconnecting(&mut self, attempt: u32, delay: Duration) {
        let delay_ns = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        self.emit(
            self.last_now,
            RecordBody::Reconnecting { attempt, delay_ns },
        );
    }

    pub(crate) fn notes_passed(&mut self, reached: Option<u64>) {
        self.emit(
            self.last_now,
            RecordBody::NotesPassed {
                reached: reached.unwrap_or(u64::MAX),
            },
        );
    }

    pub(crate) fn reserve_id(&mut self) {
        self.emit(self.last_now, RecordBody::ReserveId);
    }

    pub(crate) fn closed(&mut self, now: Instant) {
        self.emit(now, RecordBody::Closed);
    }

    pub(crate) fn disconnect(
        &mut self,
        now: Instant,
        reason: &Disconnect,
        connection: Option<u64>,
    ) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        encode_disconnect(reason, connection, &mut scratch);
        self.emit(now, RecordBody::Disconnect { reason: &scratch });
        self.scratch = scratch;
    }
}

/// What a `Timer` record names: the core's one deadline (its timer table
/// says which of its timers it was).
pub const TIMER: &[u8] = b"core";

/// A recorded disconnect: why, and which connection (the driver's count)
/// when the driver named one (`on_disconnected_from`).
#[derive(Debug)]
pub struct RecordedDisconnect {
    /// Why, rebuilt. A failure comes back as [`ConnError::Replayed`] with
    /// the original's text (an I/O error cannot be rebuilt).
    pub reason: Disconnect,
    /// The connection it named, if any.
    pub connection: Option<u64>,
}

/// Appends a disconnect's record bytes: a kind byte, the connection
/// (u64, `u64::MAX` for none), then the kind's fields; the text last, so
/// that `orderwire decode` can show it.
fn encode_disconnect(reason: &Disconnect, connection: Option<u64>, out: &mut Vec<u8>) {
    let kind = match reason {
        Disconnect::Requested => 0,
        Disconnect::Closed { .. } => 1,
        Disconnect::Failed(_) => 2,
    };
    out.push(kind);
    out.extend_from_slice(&connection.unwrap_or(u64::MAX).to_le_bytes());
    match reason {
        Disconnect::Requested => {}
        Disconnect::Closed {
            code,
            reason,
            by_peer,
        } => {
            out.push(u8::from(code.is_some()) | (u8::from(*by_peer) << 1));
            out.extend_from_slice(&code.unwrap_or(0).to_le_bytes());
            out.extend_from_slice(reason.as_bytes());
        }
        Disconnect::Failed(error) => {
            use std::io::Write as _;
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{error}");
        }
    }
}

/// Reads back a disconnect record's bytes.
pub fn decode_disconnect(bytes: &[u8]) -> Result<RecordedDisconnect, &'static str> {
    let (&kind, rest) = bytes.split_first().ok_or("an empty disconnect")?;
    let (connection, rest) = rest
        .split_first_chunk::<8>()
        .ok_or("a disconnect cut short")?;
    let connection = u64::from_le_bytes(*connection);
    let connection = (connection != u64::MAX).then_some(connection);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let reason = match kind {
        0 if rest.is_empty() => Disconnect::Requested,
        1 => {
            let (&flags, rest) = rest.split_first().ok_or("a close cut short")?;
            let (code, rest) = rest.split_first_chunk::<2>().ok_or("a close cut short")?;
            Disconnect::Closed {
                code: (flags & 1 != 0).then_some(u16::from_le_bytes(*code)),
                reason: text(rest),
                by_peer: flags & 2 != 0,
            }
        }
        2 => Disconnect::Failed(ConnError::Replayed(text(rest))),
        _ => return Err("an unknown disconnect"),
    };
    Ok(RecordedDisconnect { reason, connection })
}

/// Header lines of the gateway's settings, so that a replay builds the
/// same core. The shared rate budget of several exchanges is not one
/// core's to record: a replay gives the core its own.
pub fn describe_config(config: &GatewayConfig, out: &mut String) {
    use std::fmt::Write as _;
    let ns = |d: Duration| d.as_nanos();
    let opt = |d: Option<Duration>| d.map_or("none".to_owned(), |d| d.as_nanos().to_string());
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "gateway.request_timeout_ns={}",
        ns(config.request_timeout)
    );
    let limited = match config.when_limited {
        WhenLimited::Queue { capacity } => format!("queue:{capacity}"),
        WhenLimited::Reject => "reject".to_owned(),
        WhenLimited::Off => "off".to_owned(),
    };
    let _ = writeln!(out, "gateway.when_limited={limited}");
    let _ = writeln!(out, "gateway.cancel_priority={}", config.cancel_priority);
    let dead_man = config.dead_man.map_or("none".to_owned(), |d| {
        format!("{}:{}", ns(d.timeout), ns(d.refresh_every))
    });
    let _ = writeln!(out, "gateway.dead_man={dead_man}");
    for subscription in &config.subscriptions {
        let mut bytes = Vec::new();
        encode_subscription(subscription, &mut bytes);
        let _ = writeln!(out, "gateway.subscription={}", hex(&bytes));
    }
    let _ = writeln!(out, "gateway.order_capacity={}", config.order_capacity);
    let _ = writeln!(out, "gateway.fill_memory={}", config.fill_memory);
    let _ = writeln!(
        out,
        "gateway.app_ping_every_ns={}",
        opt(config.app_ping_every)
    );
    let _ = writeln!(
        out,
        "gateway.rate_headroom_percent={}",
        config.rate_headroom_percent
    );
    let _ = writeln!(
        out,
        "gateway.reconnect_margin_ns={}",
        ns(config.reconnect_margin)
    );
    let _ = writeln!(
        out,
        "gateway.max_connection_age_ns={}",
        opt(config.max_connection_age)
    );
    let _ = writeln!(out, "gateway.seed={}", config.seed);
    let _ = writeln!(
        out,
        "gateway.subscription_silence_ns={}",
        opt(config.subscription_silence)
    );
    let _ = writeln!(
        out,
        "gateway.transmit_capacity={}",
        config.transmit_capacity
    );
    let _ = writeln!(
        out,
        "gateway.report_all_requests={}",
        config.report_all_requests
    );
    let disconnected = match config.when_disconnected {
        WhenDisconnected::Hold => "hold",
        WhenDisconnected::Refuse => "refuse",
    };
    let _ = writeln!(out, "gateway.when_disconnected={disconnected}");
}

/// The gateway settings a capture's header describes ([`describe_config`]);
/// lines of other prefixes are passed over. An error names the line.
pub fn config_from_header(header: &Header) -> Result<GatewayConfig, String> {
    let mut config = GatewayConfig::default();
    for line in header.codec_config.lines() {
        let Some(setting) = line.strip_prefix("gateway.") else {
            continue;
        };
        let (key, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("capture header: `{line}` has no `=`"))?;
        let bad = || format!("capture header: bad value in `{line}`");
        let number = |v: &str| v.parse::<u64>().map_err(|_| bad());
        let duration = |v: &str| number(v).map(Duration::from_nanos);
        let maybe = |v: &str| match v {
            "none" => Ok(None),
            v => duration(v).map(Some),
        };
        // Sizes become allocations: a header is input, held to what a
        // session can use, never taken as it comes.
        let size = |v: &str| {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n <= MAX_HEADER_SIZE)
                .ok_or_else(bad)
        };
        let flag = |v: &str| v.parse::<bool>().map_err(|_| bad());
        match key {
            "request_timeout_ns" => config.request_timeout = duration(value)?,
            "when_limited" => {
                config.when_limited = match value {
                    "reject" => WhenLimited::Reject,
                    "off" => WhenLimited::Off,
                    v => WhenLimited::Queue {
                        capacity: size(v.strip_prefix("queue:").ok_or_else(bad)?)?,
                    },
                }
            }
            "cancel_priority" => config.cancel_priority = flag(value)?,
            "dead_man" => {
                config.dead_man = match value {
                    "none" => None,
                    v => {
                        let (timeout, refresh) = v.split_once(':').ok_or_else(bad)?;
                        Some(DeadManSwitch {
                            timeout: duration(timeout)?,
                            refresh_every: duration(refresh)?,
                        })
                    }
                }
            }
            "subscription" => {
                let bytes = unhex(value).ok_or_else(bad)?;
                config
                    .subscriptions
                    .push(decode_subscription(&bytes).map_err(|why| format!("{}: {why}", bad()))?);
            }
            "order_capacity" => config.order_capacity = size(value)?,
            "fill_memory" => config.fill_memory = size(value)?,
            "app_ping_every_ns" => config.app_ping_every = maybe(value)?,
            "rate_headroom_percent" => {
                config.rate_headroom_percent = value.parse().map_err(|_| bad())?;
            }
            "reconnect_margin_ns" => config.reconnect_margin = duration(value)?,
            "max_connection_age_ns" => config.max_connection_age = maybe(value)?,
            "seed" => config.seed = number(value)?,
            "subscription_silence_ns" => config.subscription_silence = maybe(value)?,
            "transmit_capacity" => config.transmit_capacity = size(value)?,
            "report_all_requests" => config.report_all_requests = flag(value)?,
            "when_disconnected" => {
                config.when_disconnected = match value {
                    "hold" => WhenDisconnected::Hold,
                    "refuse" => WhenDisconnected::Refuse,
                    _ => return Err(bad()),
                }
            }
            // A later version's setting: the replay runs without it.
            _ => {}
        }
    }
    Ok(config)
}

/// The largest capacity a header may set (orders, fills, queues): a
/// million, far above any session's, far below an allocation that fails.
const MAX_HEADER_SIZE: usize = 1 << 20;

/// Whether the capturing core was split (a threaded driver's decoder):
/// a replay splits its core too, so that the codec's halves draw from
/// the same RNGs.
pub fn was_split(header: &Header) -> bool {
    header
        .codec_config
        .lines()
        .any(|line| line == "core.split=true")
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use orderwire_protocol::model::{Subscription, inline};

    #[test]
    fn gateway_settings_survive_the_header() {
        let config = GatewayConfig {
            request_timeout: Duration::from_millis(1500),
            when_limited: WhenLimited::Queue { capacity: 77 },
            dead_man: Some(DeadManSwitch {
                timeout: Duration::from_secs(60),
                refresh_every: Duration::from_secs(20),
            }),
            subscriptions: vec![
                Subscription::Book {
                    symbols: vec![inline("BTC/USD").unwrap()],
                    depth: 10,
                },
                Subscription::Executions {
                    snapshot_orders: true,
                    snapshot_trades: false,
                },
            ],
            app_ping_every: Some(Duration::from_secs(5)),
            seed: 42,
            subscription_silence: None,
            when_disconnected: WhenDisconnected::Refuse,
            ..GatewayConfig::default()
        };
        let mut text = String::new();
        describe_config(&config, &mut text);
        let header = Header {
            codec_config: text,
            ..Header::default()
        };
        let back = config_from_header(&header).unwrap();
        assert_eq!(format!("{back:?}"), format!("{config:?}"));
    }

    #[test]
    fn a_bad_header_line_is_named() {
        let header = Header {
            codec_config: "gateway.seed=x\n".to_owned(),
            ..Header::default()
        };
        let error = config_from_header(&header).unwrap_err();
        assert!(error.contains("gateway.seed=x"), "{error}");
    }

    #[test]
    fn a_header_cannot_ask_for_an_allocation_that_fails() {
        for line in [
            "gateway.order_capacity=18446744073709551615",
            "gateway.fill_memory=1099511627776",
            "gateway.transmit_capacity=4294967296",
            "gateway.when_limited=queue:18446744073709551615",
        ] {
            let header = Header {
                codec_config: format!("{line}\n"),
                ..Header::default()
            };
            let error = config_from_header(&header).unwrap_err();
            assert!(error.contains(line), "{error}");
        }
        let header = Header {
            codec_config: "venue.default_depth=1152921504606846976\n".to_owned(),
            ..Header::default()
        };
        assert!(orderwire_protocol::venue::kraken::Kraken::from_capture(&header).is_err());
    }

    #[test]
    fn disconnects_read_back() {
        let closed = Disconnect::Closed {
            code: Some(1001),
            reason: "going away".to_owned(),
            by_peer: true,
        };
        let mut bytes = Vec::new();
        encode_disconnect(&closed, Some(3), &mut bytes);
        let back = decode_disconnect(&bytes).unwrap();
        assert_eq!(back.connection, Some(3));
        assert_eq!(format!("{:?}", back.reason), format!("{closed:?}"));
        bytes.clear();
        encode_disconnect(&Disconnect::Failed(ConnError::Eof), None, &mut bytes);
        let back = decode_disconnect(&bytes).unwrap();
        assert_eq!(back.connection, None);
        assert!(matches!(
            back.reason,
            Disconnect::Failed(ConnError::Replayed(ref text)) if text.contains("without a close frame")
        ));
        for cut in 0..bytes.len() {
            let _ = decode_disconnect(&bytes[..cut]);
        }
    }
}
