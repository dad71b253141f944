//! The capture writer (issue 25, docs/capture.md): the side that records
//! hands each record over a bounded lock-free queue to one writer thread,
//! which owns the file and the format's `CaptureWriter`. The hand-over
//! copies the record's bytes into a buffer the writer thread sends back
//! once written, so in steady state recording allocates nothing.
//!
//! When the writer falls behind, [`WhenBehind`] decides: drop the record
//! and count it (the default: the trading path never waits on a disk), or
//! block until there is room. The count is in [`CaptureSink::dropped`] and
//! in the file's trailer.
//!
//! The drivers install a sink as the core's recorder when
//! `ExchangeConfig::capture` is set: the core records at its own input
//! boundary, redacted (orderwire_gateway::capture). With
//! [`CaptureConfig::rotate`] the file is ended and a new one started once
//! it reaches a size or an age, at a block boundary.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use orderwire_gateway::capture::Batch;
use orderwire_protocol::capture::{CaptureWriter, Header, Record, Trailer};

/// How long the writer thread sleeps when it finds nothing queued.
const IDLE_POLL: Duration = Duration::from_millis(1);

/// What recording does when the writer thread's queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WhenBehind {
    /// Drop the record and count it: the recording side never waits.
    #[default]
    DropAndCount,
    /// Wait for room: nothing is lost, and a slow disk slows the session.
    Block,
}

/// Where and how to capture.
#[derive(Clone, Debug)]
pub struct CaptureConfig {
    /// The file (created, or truncated).
    pub path: PathBuf,
    /// Records the queue holds before [`WhenBehind`] applies.
    pub queue: usize,
    /// What to do when it is full.
    pub when_behind: WhenBehind,
    /// When to end the file and start the next one (none: one file).
    pub rotate: Rotate,
}

/// When a capture moves on to its next file. The first file is the
/// configured path; the next ones add `.1`, `.2`, ... before its
/// extension ([`segment_path`]). Each file is whole: header, blocks,
/// trailer. A replay feeds them in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rotate {
    /// Once a file holds this many bytes.
    pub max_bytes: Option<u64>,
    /// Once a file is this old, in the records' own (monotonic) times:
    /// checked as blocks close.
    pub max_age: Option<Duration>,
}

impl CaptureConfig {
    /// A capture to `path` with the defaults: 65,536 entries of queue (a
    /// record, or a core's batch), drop
    /// and count, one file.
    pub fn new(path: impl Into<PathBuf>) -> CaptureConfig {
        CaptureConfig {
            path: path.into(),
            queue: 65_536,
            when_behind: WhenBehind::DropAndCount,
            rotate: Rotate::default(),
        }
    }
}

/// The path of file number `segment` of a capture to `path`: `path`
/// itself for 0, else `.N` before the extension (`a.owcap` → `a.1.owcap`).
pub fn segment_path(path: &Path, segment: u32) -> PathBuf {
    if segment == 0 {
        return path.to_owned();
    }
    sibling_path(path, &segment.to_string())
}

/// `path` with `.tag` before its extension (`a.owcap`, `x` → `a.x.owcap`):
/// a rotated file's name, and a second connection's capture beside the
/// first's.
pub fn sibling_path(path: &Path, tag: &str) -> PathBuf {
    let stem = path.file_stem().map_or_else(
        || "capture".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    );
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{tag}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{tag}"),
    };
    path.with_file_name(name)
}

/// Why a capture could not start or end cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureSinkError {
    /// The file could not be created or written.
    #[error("capture {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The format refused something (a record too large, zstd).
    #[error("capture: {0}")]
    Format(#[from] orderwire_protocol::capture::CaptureError),
    /// The writer thread stopped abnormally.
    #[error("capture: the writer thread stopped: {0}")]
    Writer(String),
    /// Ended already (by an earlier `end`, or the exchange's shutdown).
    #[error("capture: already ended")]
    Ended,
}

/// One record on its way to the writer thread: its encoded bytes
/// (`Record::encode`) in a recycled buffer.
enum Message {
    Record(Vec<u8>),
    /// A core's batch, to redact with these keys before writing.
    Unredacted(Vec<u8>, &'static [&'static str]),
    /// Close the block in progress and flush the file (a caller's mark).
    Flush,
    /// End the file: trailer, sync, and the thread stops.
    End,
}

/// A sink shared with a core, as its recorder.
struct SinkRecorder(Arc<CaptureSink>);

/// Starts the capture `config` asks for, if any, and installs it as
/// `core`'s recorder: the header is the core's own at `now`, with the
/// exchange's `name` (`exchange=` line). Call before the core is split and
/// before its first connection.
pub(crate) fn install<V: orderwire_protocol::venue::Venue>(
    core: &mut orderwire_gateway::GatewayCore<V>,
    config: Option<&CaptureConfig>,
    now: orderwire_protocol::time::Instant,
    name: &str,
) -> Result<Option<Arc<CaptureSink>>, CaptureSinkError> {
    let Some(config) = config else {
        return Ok(None);
    };
    let mut header = core.capture_header(now);
    header.codec_config.push_str(&format!("exchange={name}\n"));
    let sink = Arc::new(CaptureSink::start(config, header)?);
    core.set_recorder(Box::new(SinkRecorder(sink.clone())));
    Ok(Some(sink))
}

impl orderwire_gateway::capture::Recorder for SinkRecorder {
    fn record(&mut self, record: &Record<'_>) {
        self.0.record(record);
    }

    fn record_batch(&mut self, batch: Batch<'_>) {
        self.0.record_unredacted(batch);
    }
}

/// The recording side of a capture: cheap to call from the hot path.
pub struct CaptureSink {
    to_writer: Sender<Message>,
    spare: Receiver<Vec<u8>>,
    dropped: Arc<AtomicU64>,
    when_behind: WhenBehind,
    /// Taken by the first `end`.
    writer: std::sync::Mutex<Option<JoinHandle<Result<Trailer, CaptureSinkError>>>>,
    path: PathBuf,
}

impl std::fmt::Debug for CaptureSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSink")
            .field("path", &self.path)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl CaptureSink {
    /// Creates the file, writes `header` and starts the writer thread.
    pub fn start(config: &CaptureConfig, header: Header) -> Result<CaptureSink, CaptureSinkError> {
        let mut out = Vec::with_capacity(256 * 1024);
        let segment = Segment::open(&config.path, 0, &header, &mut out)?;
        let queue = config.queue.max(1);
        let (to_writer, from_sink) = bounded(queue);
        let (to_sink, spare) = bounded(queue);
        let dropped = Arc::new(AtomicU64::new(0));
        let thread_dropped = dropped.clone();
        let base = config.path.clone();
        let rotate = config.rotate;
        let when_behind = config.when_behind;
        let writer = std::thread::Builder::new()
            .name("orderwire-capture".to_owned())
            .spawn(move || {
                let files = Files {
                    base,
                    header,
                    rotate,
                    segment,
                    out,
                    totals: Trailer::default(),
                    poll: when_behind == WhenBehind::DropAndCount,
                    redacted: Vec::new(),
                    scratch: Vec::new(),
                };
                files.run(&from_sink, &to_sink, &thread_dropped)
            })
            .map_err(|error| CaptureSinkError::Io {
                path: config.path.clone(),
                error,
            })?;
        Ok(CaptureSink {
            to_writer,
            spare,
            dropped,
            when_behind: config.when_behind,
            writer: std::sync::Mutex::new(Some(writer)),
            path: config.path.clone(),
        })
    }

    /// Records dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Hands one record to the writer thread. Never fails: a record that
    /// cannot be queued (full under `DropAndCount`, or the writer gone) is
    /// counted as dropped.
    pub fn record(&self, record: &Record<'_>) {
        let mut buffer = self.buffer(record.encoded_len_bound());
        if record.encode(&mut buffer).is_err() {
            // Too large for any block: counted, not fatal.
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.hand_over(buffer, 1);
    }

    /// Hands a core's batch over as it is: one copy, one hand-over. The
    /// writer thread redacts it ([`Batch::redact_into`]) before anything
    /// reaches the file, so the trading thread pays for neither.
    ///
    /// [`Batch::redact_into`]: orderwire_gateway::capture::Batch::redact_into
    pub fn record_unredacted(&self, batch: Batch<'_>) {
        let mut buffer = self.buffer(batch.encoded.len());
        buffer.extend_from_slice(batch.encoded);
        self.send(
            Message::Unredacted(buffer, batch.secret_fields),
            batch.count,
        );
    }

    /// A buffer the writer thread has finished with, else a new one (only
    /// until the pool has grown to the traffic), with room for `len`. New
    /// ones are sized in powers of two from 4 KiB, so that a recycled
    /// buffer takes the next batch without growing.
    fn buffer(&self, len: usize) -> Vec<u8> {
        let mut buffer = self.spare.try_recv().unwrap_or_default();
        buffer.clear();
        if buffer.capacity() < len {
            buffer.reserve(len.max(4096).next_power_of_two());
        }
        buffer
    }

    /// Buffers back from the writer thread, waiting to be reused.
    pub fn spare_buffers(&self) -> usize {
        self.spare.len()
    }

    fn hand_over(&self, buffer: Vec<u8>, count: usize) {
        self.send(Message::Record(buffer), count);
    }

    fn send(&self, message: Message, count: usize) {
        let sent = match self.when_behind {
            WhenBehind::DropAndCount => match self.to_writer.try_send(message) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
            WhenBehind::Block => self.to_writer.send(message).is_ok(),
        };
        if !sent {
            self.dropped.fetch_add(count as u64, Ordering::Relaxed);
        }
    }

    /// Asks the writer to close its block and flush the file, so that what
    /// was recorded so far survives a crash. Returns at once.
    pub fn flush(&self) {
        // Best effort: a full queue flushes on its own as blocks fill.
        let _ = self.to_writer.try_send(Message::Flush);
    }

    /// Ends the capture: every queued record written, then the trailer
    /// with the dropped count; waits for the writer thread.
    pub fn finish(self) -> Result<Trailer, CaptureSinkError> {
        self.end()
    }

    /// As [`CaptureSink::finish`], for a sink others share (the core
    /// holds one as its recorder): records handed over later are counted
    /// as dropped. Only the first call ends the file; later ones fail.
    pub fn end(&self) -> Result<Trailer, CaptureSinkError> {
        let thread = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(thread) = thread else {
            return Err(CaptureSinkError::Ended);
        };
        // Behind every record queued before it.
        let _ = self.to_writer.send(Message::End);
        thread
            .join()
            .map_err(|_| CaptureSinkError::Writer("it panicked".to_owned()))?
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CaptureSink {
    /// A sink dropped without `finish` still ends its file with a trailer.
    fn drop(&mut self) {
        let _ = self.end();
    }
}

/// One file of a capture, open.
struct Segment {
    number: u32,
    path: PathBuf,
    file: File,
    writer: CaptureWriter,
    bytes: u64,
    /// The first record's monotonic time: a file's age is in the records'
    /// own clock (the engine's), not read here.
    opened_ns: Option<u64>,
    dropped_before: u64,
}

impl Segment {
    fn open(
        base: &Path,
        number: u32,
        header: &Header,
        out: &mut Vec<u8>,
    ) -> Result<Segment, CaptureSinkError> {
        let path = segment_path(base, number);
        let io = |error| CaptureSinkError::Io {
            path: path.clone(),
            error,
        };
        let mut file = File::create(&path).map_err(io)?;
        let mut header = header.clone();
        if number > 0 {
            // A later file alone starts mid-session: a replay says so.
            header
                .codec_config
                .push_str(&format!("capture.segment={number}\n"));
        }
        out.clear();
        let writer = CaptureWriter::new(&header, out)?;
        file.write_all(out).map_err(io)?;
        let bytes = out.len() as u64;
        out.clear();
        Ok(Segment {
            number,
            path,
            file,
            writer,
            bytes,
            opened_ns: None,
            dropped_before: 0,
        })
    }
}

/// The writer thread's state: the open file and what rotates it.
struct Files {
    base: PathBuf,
    header: Header,
    rotate: Rotate,
    segment: Segment,
    out: Vec<u8>,
    totals: Trailer,
    /// Poll the queue rather than wait on it (`DropAndCount`).
    poll: bool,
    /// A core's batch, redacted.
    redacted: Vec<u8>,
    scratch: Vec<u8>,
}

impl Files {
    fn io(&self) -> impl Fn(std::io::Error) -> CaptureSinkError + use<> {
        let path = self.segment.path.clone();
        move |error| CaptureSinkError::Io {
            path: path.clone(),
            error,
        }
    }

    /// Writes what the writer has made so far.
    fn drain(&mut self) -> Result<(), CaptureSinkError> {
        if !self.out.is_empty() {
            let io = self.io();
            self.segment.file.write_all(&self.out).map_err(io)?;
            self.segment.bytes += self.out.len() as u64;
            self.out.clear();
        }
        Ok(())
    }

    fn due(&self, last_ns: u64) -> bool {
        let size = self
            .rotate
            .max_bytes
            .is_some_and(|max| self.segment.bytes >= max);
        let age = self
            .rotate
            .max_age
            .zip(self.segment.opened_ns)
            .is_some_and(|(max, opened)| {
                Duration::from_nanos(last_ns.saturating_sub(opened)) >= max
            });
        size || age
    }

    fn rotate(&mut self, dropped: u64) -> Result<(), CaptureSinkError> {
        let next = Segment::open(
            &self.base,
            self.segment.number + 1,
            &self.header,
            &mut self.out,
        )?;
        let done = std::mem::replace(&mut self.segment, next);
        self.segment.dropped_before = dropped;
        end(done, dropped, &mut self.out, &mut self.totals)
    }

    fn run(
        mut self,
        from_sink: &Receiver<Message>,
        to_sink: &Sender<Vec<u8>>,
        dropped: &AtomicU64,
    ) -> Result<Trailer, CaptureSinkError> {
        let mut last_ns = 0;
        let mut ending = false;
        loop {
            // Under `DropAndCount`, polled and never waited on: a receiver
            // parked in the channel would make every `record` a futex wake
            // (a syscall on the trading path, measured at +0.5 us an order
            // inline). Idle, the thread looks again every millisecond.
            // Under `Block` the recording side may wait anyway, and a
            // parked writer wakes at once when there is work.
            let message = if ending {
                match from_sink.try_recv() {
                    Ok(message) => message,
                    Err(_) => break,
                }
            } else if self.poll {
                match from_sink.try_recv() {
                    Ok(message) => message,
                    Err(crossbeam_channel::TryRecvError::Empty) => {
                        std::thread::sleep(IDLE_POLL);
                        continue;
                    }
                    Err(crossbeam_channel::TryRecvError::Disconnected) => break,
                }
            } else {
                match from_sink.recv() {
                    Ok(message) => message,
                    Err(_) => break,
                }
            };
            let (buffer, redacted) = match message {
                Message::Unredacted(raw, secret_fields) => {
                    self.redacted.clear();
                    Batch {
                        encoded: &raw,
                        count: 0,
                        secret_fields,
                    }
                    .redact_into(&mut self.scratch, &mut self.redacted);
                    (raw, true)
                }
                Message::Record(encoded) => (encoded, false),
                Message::End => {
                    // What other threads queued behind the end still goes
                    // in; what comes after the thread stops is counted as
                    // dropped by `hand_over`.
                    ending = true;
                    continue;
                }
                Message::Flush => {
                    self.segment.writer.flush(&mut self.out)?;
                    self.drain()?;
                    let io = self.io();
                    self.segment.file.flush().map_err(io)?;
                    continue;
                }
            };
            // Whole records, one after another: the redacted copy of a
            // core's batch, or what `record` encoded.
            let mut rest = if redacted {
                self.redacted.as_slice()
            } else {
                buffer.as_slice()
            };
            while !rest.is_empty() {
                let Ok((record, next)) = Record::decode_first(rest) else {
                    // Not ours to read past: what is left is lost.
                    dropped.fetch_add(1, Ordering::Relaxed);
                    break;
                };
                rest = next;
                last_ns = record.mono_ns;
                self.segment.opened_ns.get_or_insert(record.mono_ns);
                if self.segment.writer.push(&record, &mut self.out).is_err() {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            // Back to the sink for reuse; a full pool lets it go.
            let _ = to_sink.try_send(buffer);
            let block_ended = !self.out.is_empty();
            self.drain()?;
            if block_ended && self.due(last_ns) {
                self.rotate(dropped.load(Ordering::Relaxed))?;
            }
        }
        end(
            self.segment,
            dropped.load(Ordering::Relaxed),
            &mut self.out,
            &mut self.totals,
        )?;
        Ok(self.totals)
    }
}

/// Ends a file: its last block, its trailer (the records it holds, the
/// drops since it opened), synced; adds them to `totals`.
fn end(
    segment: Segment,
    dropped: u64,
    out: &mut Vec<u8>,
    totals: &mut Trailer,
) -> Result<(), CaptureSinkError> {
    let Segment {
        path,
        mut file,
        writer,
        dropped_before,
        ..
    } = segment;
    let io = |error| CaptureSinkError::Io {
        path: path.clone(),
        error,
    };
    let trailer = writer.finish(dropped.saturating_sub(dropped_before), out)?;
    file.write_all(out).map_err(io)?;
    out.clear();
    file.sync_data().map_err(io)?;
    totals.records += trailer.records;
    totals.dropped += trailer.dropped;
    Ok(())
}
