//! Replaying a capture (issue 25, docs/capture.md): the recorded inputs fed
//! again, in order and at their recorded times, into a core built as the
//! recording one was. Virtual time, no sockets, no threads.
//!
//! The core is deterministic, so the replayed core writes the same frames
//! the recorded one did. A check compares them: every frame the replay
//! writes is redacted as the capture's were (the replay has no secrets:
//! its codec signs with placeholders, and the signatures are redacted on
//! both sides) and must equal, byte for byte, the next frame the capture
//! holds. The first difference is an error that names the frame.

use orderwire_protocol::capture::{
    FrameType, Header, OwnedRecord, Record, RecordBody, decode_snapshot, decode_submit,
};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::Venue;

use crate::callback::{RequestOptions, RequestTag};
use crate::capture::{Batch, Recorder, decode_disconnect, frame_kind, redact_frame, was_split};
use crate::{Decoder, GatewayConfig, GatewayCore, Outputs};

/// Why a replay stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The replayed core wrote a different frame than the capture holds
    /// (or one fewer, or one more).
    #[error(
        "outbound frame {frame} (record {record}, at {mono_ns} ns) differs: captured {}, replayed {}",
        shown(.captured),
        shown(.replayed)
    )]
    Mismatch {
        /// The frame's number among the outbound frames, from 1.
        frame: u64,
        /// The record's number in the capture, from 1 (the last record
        /// for a frame the replay wrote beyond the capture's).
        record: u64,
        /// The record's time.
        mono_ns: u64,
        /// The captured frame (`None`: the capture holds no more).
        captured: Option<(FrameType, Vec<u8>)>,
        /// The replayed frame (`None`: the replay wrote no such frame).
        replayed: Option<(FrameType, Vec<u8>)>,
    },
    /// A record whose bytes do not read back as the input they name.
    #[error("record {record}: {why}")]
    BadRecord {
        /// The record's number, from 1.
        record: u64,
        /// What is wrong.
        why: String,
    },
}

fn shown(frame: &Option<(FrameType, Vec<u8>)>) -> String {
    match frame {
        None => "nothing".to_owned(),
        Some((kind, bytes)) => {
            let text = String::from_utf8_lossy(bytes);
            let cut: String = text.chars().take(300).collect();
            let more = if cut.len() < text.len() { "…" } else { "" };
            format!("{kind:?} `{cut}{more}`")
        }
    }
}

/// The replayed core's recorder: sends its frames out (redacted as the
/// capture's were) to the replayer, nothing else. A channel, not a lock:
/// the core takes none.
struct FramesOut(std::sync::mpsc::Sender<(FrameType, Vec<u8>)>);

impl Recorder for FramesOut {
    fn record(&mut self, record: &Record<'_>) {
        if let RecordBody::FrameOut { kind, payload } = record.body {
            // The replayer holds the receiver as long as the core lives.
            let _ = self.0.send((kind, payload.to_vec()));
        }
    }

    /// Only the frames out, each redacted as the capture's were; the
    /// inputs (most of a batch) are passed over without a copy.
    fn record_batch(&mut self, batch: Batch<'_>) {
        let mut rest = batch.encoded;
        while let Ok((record, next)) = Record::decode_first(rest) {
            rest = next;
            if let RecordBody::FrameOut { kind, payload } = record.body {
                let mut redacted = Vec::with_capacity(payload.len());
                redact_frame(kind, payload, batch.secret_fields, &mut redacted);
                let _ = self.0.send((kind, redacted));
            }
        }
    }
}

/// A core fed from a capture.
pub struct Replayer<V: Venue> {
    core: GatewayCore<V>,
    decoder: Option<Decoder<V>>,
    /// The replayed core's frames not yet matched with the capture's.
    replayed: std::sync::mpsc::Receiver<(FrameType, Vec<u8>)>,
    check: bool,
    /// The capture records where notes cross (`NotesPassed`): the replay
    /// passes them there, not before each decode.
    notes_recorded: bool,
    /// Records fed, and outbound frames met in the capture.
    records: u64,
    frames_out: u64,
    last_mono_ns: u64,
    message: Vec<u8>,
    transmit: Vec<u8>,
}

impl<V: Venue> std::fmt::Debug for Replayer<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayer")
            .field("records", &self.records)
            .field("frames_out", &self.frames_out)
            .finish_non_exhaustive()
    }
}

impl<V: Venue> Replayer<V> {
    /// A replay of a capture whose header is `header`, with the gateway
    /// settings the header records.
    pub fn new(venue: V, header: &Header) -> Result<Replayer<V>, String> {
        let config = crate::capture::config_from_header(header)?;
        Ok(Replayer::with_config(venue, config, header))
    }

    /// A replay against the caller's gateway settings (a backtest of other
    /// settings over the same inputs; the check then fails where they
    /// change what is sent). The seed is the capture's.
    pub fn with_config(venue: V, mut config: GatewayConfig, header: &Header) -> Replayer<V> {
        config.seed = header.rng_seed;
        let mut core = GatewayCore::new(venue, config);
        // The wall clock as the recording core read it.
        let started_mono = i64::try_from(header.started_mono_ns).unwrap_or(i64::MAX);
        core.set_wall_offset(header.started_wall_ns.saturating_sub(started_mono));
        let (frames_out, replayed) = std::sync::mpsc::channel();
        core.set_recorder(Box::new(FramesOut(frames_out)));
        let decoder = if was_split(header) {
            core.split_decoder()
        } else {
            None
        };
        Replayer {
            core,
            decoder,
            replayed,
            check: true,
            notes_recorded: false,
            records: 0,
            frames_out: 0,
            last_mono_ns: 0,
            message: Vec::new(),
            transmit: Vec::new(),
        }
    }

    /// Whether outbound frames are compared (on by default). Off, a
    /// replay only feeds the inputs: for settings that differ from the
    /// recording's.
    pub fn set_check(&mut self, check: bool) {
        self.check = check;
    }

    /// The replayed core.
    pub fn core(&self) -> &GatewayCore<V> {
        &self.core
    }

    /// The replayed core, to read its books or orders.
    pub fn core_mut(&mut self) -> &mut GatewayCore<V> {
        &mut self.core
    }

    /// Records fed so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Outbound frames compared so far.
    pub fn frames_checked(&self) -> u64 {
        self.frames_out
    }

    /// Feeds one record: an input goes to the core (the events it causes
    /// are swapped into `outputs`, which must be empty), a captured frame
    /// out is compared with the next one the replay wrote.
    pub fn feed(&mut self, record: &Record<'_>, outputs: &mut Outputs) -> Result<(), ReplayError> {
        self.records += 1;
        self.last_mono_ns = record.mono_ns;
        let now = Instant(record.mono_ns);
        let bad = |why: &str| ReplayError::BadRecord {
            record: self.records,
            why: why.to_owned(),
        };
        match &record.body {
            RecordBody::FrameOut { kind, payload } => {
                self.frames_out += 1;
                let replayed = self.replayed.try_recv().ok();
                if self.check
                    && replayed
                        .as_ref()
                        .is_none_or(|(k, bytes)| k != kind || bytes != payload)
                {
                    return Err(ReplayError::Mismatch {
                        frame: self.frames_out,
                        record: self.records,
                        mono_ns: record.mono_ns,
                        captured: Some((*kind, payload.to_vec())),
                        replayed,
                    });
                }
                return Ok(());
            }
            RecordBody::FrameIn {
                kind,
                received_ns,
                payload,
            } => {
                let Some(kind) = frame_kind(*kind) else {
                    return Ok(());
                };
                self.message.clear();
                self.message.extend_from_slice(payload);
                let received_at = Instant(*received_ns);
                match &mut self.decoder {
                    Some(decoder) => {
                        if !self.notes_recorded {
                            self.core.pass_notes(decoder, None);
                        }
                        decoder.decode(now, kind, &mut self.message);
                        self.core.handle_decoded(now, received_at, decoder);
                    }
                    None => {
                        self.core
                            .handle_message(now, received_at, kind, &mut self.message);
                    }
                }
            }
            RecordBody::Submit { request, .. } => {
                let submit = decode_submit(request).map_err(bad)?;
                let options = RequestOptions {
                    req_id: submit.req_id,
                    tag: submit.tag.map(RequestTag),
                };
                // Refused or not, as the recorded submit was: the refusal
                // is in the events.
                let _ = self
                    .core
                    .submit_with(now, submit.request.as_request(), options);
            }
            RecordBody::ReserveId => {
                self.core.next_request_id();
            }
            RecordBody::NotesPassed { reached } => {
                // From here on the capture says where notes cross.
                self.notes_recorded = true;
                if let Some(decoder) = &mut self.decoder {
                    let reached = (*reached != u64::MAX).then_some(*reached);
                    self.core.pass_notes(decoder, reached);
                }
            }
            RecordBody::Connect { attempt } => self.core.on_connected(now, *attempt),
            RecordBody::Handshake { .. } => {
                self.core.handshake_headers(now);
            }
            RecordBody::Disconnect { reason } => {
                let recorded = decode_disconnect(reason).map_err(bad)?;
                let reason = std::sync::Arc::new(recorded.reason);
                match recorded.connection {
                    Some(connection) => self.core.on_disconnected_from(now, reason, connection),
                    None => self.core.on_disconnected(now, reason),
                }
            }
            RecordBody::Reconnecting { attempt, delay_ns } => self
                .core
                .on_reconnecting(*attempt, std::time::Duration::from_nanos(*delay_ns)),
            RecordBody::Closed => self.core.on_closed(now),
            RecordBody::Timer { .. } => self.core.handle_timeout(now),
            RecordBody::BookSnapshot { snapshot } => {
                let (book, levels) = decode_snapshot(snapshot).map_err(bad)?;
                match &mut self.decoder {
                    Some(decoder) => {
                        if !self.notes_recorded {
                            self.core.pass_notes(decoder, None);
                        }
                        decoder.feed_book_snapshot(now, &book, &levels);
                        self.core.handle_decoded(now, now, decoder);
                    }
                    None => self.core.feed_book_snapshot(now, &book, &levels),
                }
            }
        }
        // The driver's part: the frames are taken (the capture holds what
        // was written), the events handed on.
        while self.core.poll_transmit(&mut self.transmit).is_some() {}
        // The frames it wrote, to compare with the capture's next ones.
        self.core.flush_recording();
        self.core.poll_events(outputs);
        Ok(())
    }

    /// Ends the replay: a frame the replay wrote beyond the capture's
    /// last is a difference.
    pub fn finish(&mut self) -> Result<(), ReplayError> {
        let extra = self.replayed.try_recv().ok();
        match extra {
            Some(extra) if self.check => Err(ReplayError::Mismatch {
                frame: self.frames_out + 1,
                record: self.records,
                mono_ns: self.last_mono_ns,
                captured: None,
                replayed: Some(extra),
            }),
            _ => Ok(()),
        }
    }
}

/// A replay whatever its venue's type, for tools that pick the codec by
/// the capture's header (`orderwire replay`).
pub trait Replay: Send {
    /// As [`Replayer::feed`].
    fn feed(&mut self, record: &Record<'_>, outputs: &mut Outputs) -> Result<(), ReplayError>;
    /// As [`Replayer::finish`].
    fn finish(&mut self) -> Result<(), ReplayError>;
    /// As [`Replayer::set_check`].
    fn set_check(&mut self, check: bool);
    /// As [`Replayer::frames_checked`].
    fn frames_checked(&self) -> u64;
}

impl<V: Venue> Replay for Replayer<V> {
    fn feed(&mut self, record: &Record<'_>, outputs: &mut Outputs) -> Result<(), ReplayError> {
        Replayer::feed(self, record, outputs)
    }
    fn finish(&mut self) -> Result<(), ReplayError> {
        Replayer::finish(self)
    }
    fn set_check(&mut self, check: bool) {
        Replayer::set_check(self, check);
    }
    fn frames_checked(&self) -> u64 {
        Replayer::frames_checked(self)
    }
}

/// The exchange name a capture's header records (the engine writes it).
pub fn exchange_name(header: &Header) -> Option<&str> {
    header
        .codec_config
        .lines()
        .find_map(|line| line.strip_prefix("exchange="))
}

/// Replays every record of `records` in order, handing each input's
/// events to `on_events`: the whole of a replay for a caller that needs no
/// pacing.
pub fn replay_all<'a, V: Venue>(
    replayer: &mut Replayer<V>,
    records: impl IntoIterator<Item = &'a OwnedRecord>,
    mut on_events: impl FnMut(&Record<'_>, &Outputs),
) -> Result<(), ReplayError> {
    let mut outputs = Outputs::default();
    for owned in records {
        let record = owned.get();
        replayer.feed(&record, &mut outputs)?;
        if !outputs.events.is_empty() {
            on_events(&record, &outputs);
        }
    }
    replayer.finish()
}
