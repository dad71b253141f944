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
//! Not yet wired into the drivers: the core's input boundary does not call
//! a sink yet, and secrets are not yet redacted here (docs/capture.md,
//! "Status").

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use orderwire_protocol::capture::{CaptureWriter, FrameType, Header, Record, RecordBody, Trailer};

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
    /// The capture's header.
    pub header: Header,
}

impl CaptureConfig {
    /// A capture to `path` with the defaults: 65,536 records of queue, drop
    /// and count.
    pub fn new(path: impl Into<PathBuf>, header: Header) -> CaptureConfig {
        CaptureConfig {
            path: path.into(),
            queue: 65_536,
            when_behind: WhenBehind::DropAndCount,
            header,
        }
    }
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
}

/// One record on its way to the writer thread, its bytes in a recycled
/// buffer.
struct Queued {
    mono_ns: u64,
    wall_ns: i64,
    kind: QueuedKind,
    bytes: Vec<u8>,
}

#[derive(Clone, Copy)]
enum QueuedKind {
    FrameIn(FrameType),
    FrameOut(FrameType),
    Submit(u64),
    Connect(u32),
    Handshake,
    Disconnect,
    Timer,
}

enum Message {
    Record(Queued),
    /// Close the block in progress and flush the file (a caller's mark).
    Flush,
}

/// The recording side of a capture: cheap to call from the hot path.
pub struct CaptureSink {
    to_writer: Option<Sender<Message>>,
    spare: Receiver<Vec<u8>>,
    dropped: Arc<AtomicU64>,
    when_behind: WhenBehind,
    writer: Option<JoinHandle<Result<Trailer, CaptureSinkError>>>,
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
    /// Creates the file, writes the header and starts the writer thread.
    pub fn start(config: CaptureConfig) -> Result<CaptureSink, CaptureSinkError> {
        let io = |error| CaptureSinkError::Io {
            path: config.path.clone(),
            error,
        };
        let mut file = File::create(&config.path).map_err(io)?;
        let mut out = Vec::with_capacity(256 * 1024);
        let writer = CaptureWriter::new(&config.header, &mut out)?;
        file.write_all(&out).map_err(io)?;
        out.clear();
        let queue = config.queue.max(1);
        let (to_writer, from_sink) = bounded(queue);
        let (to_sink, spare) = bounded(queue);
        let dropped = Arc::new(AtomicU64::new(0));
        let thread_dropped = dropped.clone();
        let path = config.path.clone();
        let writer = std::thread::Builder::new()
            .name("orderwire-capture".to_owned())
            .spawn(move || {
                write_loop(
                    writer,
                    file,
                    out,
                    &from_sink,
                    &to_sink,
                    &thread_dropped,
                    &path,
                )
            })
            .map_err(io)?;
        Ok(CaptureSink {
            to_writer: Some(to_writer),
            spare,
            dropped,
            when_behind: config.when_behind,
            writer: Some(writer),
            path: config.path,
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
        let (kind, bytes): (QueuedKind, &[u8]) = match &record.body {
            RecordBody::FrameIn { kind, payload } => (QueuedKind::FrameIn(*kind), payload),
            RecordBody::FrameOut { kind, payload } => (QueuedKind::FrameOut(*kind), payload),
            RecordBody::Submit { req_id, request } => (QueuedKind::Submit(*req_id), request),
            RecordBody::Connect { attempt } => (QueuedKind::Connect(*attempt), &[]),
            RecordBody::Handshake { response } => (QueuedKind::Handshake, response),
            RecordBody::Disconnect { reason } => (QueuedKind::Disconnect, reason),
            RecordBody::Timer { timer } => (QueuedKind::Timer, timer),
        };
        let Some(to_writer) = &self.to_writer else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        // A buffer the writer thread has finished with, else a new one
        // (only until the pool has grown to the traffic).
        let mut buffer = self.spare.try_recv().unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(bytes);
        let message = Message::Record(Queued {
            mono_ns: record.mono_ns,
            wall_ns: record.wall_ns,
            kind,
            bytes: buffer,
        });
        let sent = match self.when_behind {
            WhenBehind::DropAndCount => match to_writer.try_send(message) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
            WhenBehind::Block => to_writer.send(message).is_ok(),
        };
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Asks the writer to close its block and flush the file, so that what
    /// was recorded so far survives a crash. Returns at once.
    pub fn flush(&self) {
        if let Some(to_writer) = &self.to_writer {
            // Best effort: a full queue flushes on its own as blocks fill.
            let _ = to_writer.try_send(Message::Flush);
        }
    }

    /// Ends the capture: every queued record written, then the trailer
    /// with the dropped count; waits for the writer thread.
    pub fn finish(mut self) -> Result<Trailer, CaptureSinkError> {
        self.close()
    }

    fn close(&mut self) -> Result<Trailer, CaptureSinkError> {
        drop(self.to_writer.take());
        match self.writer.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| CaptureSinkError::Writer("it panicked".to_owned()))?,
            None => Err(CaptureSinkError::Writer("already finished".to_owned())),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CaptureSink {
    /// A sink dropped without `finish` still ends its file with a trailer.
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.close();
        }
    }
}

fn write_loop(
    mut writer: CaptureWriter,
    mut file: File,
    mut out: Vec<u8>,
    from_sink: &Receiver<Message>,
    to_sink: &Sender<Vec<u8>>,
    dropped: &AtomicU64,
    path: &Path,
) -> Result<Trailer, CaptureSinkError> {
    let io = |error| CaptureSinkError::Io {
        path: path.to_owned(),
        error,
    };
    while let Ok(message) = from_sink.recv() {
        match message {
            Message::Record(queued) => {
                let bytes = queued.bytes.as_slice();
                let body = match queued.kind {
                    QueuedKind::FrameIn(kind) => RecordBody::FrameIn {
                        kind,
                        payload: bytes,
                    },
                    QueuedKind::FrameOut(kind) => RecordBody::FrameOut {
                        kind,
                        payload: bytes,
                    },
                    QueuedKind::Submit(req_id) => RecordBody::Submit {
                        req_id,
                        request: bytes,
                    },
                    QueuedKind::Connect(attempt) => RecordBody::Connect { attempt },
                    QueuedKind::Handshake => RecordBody::Handshake { response: bytes },
                    QueuedKind::Disconnect => RecordBody::Disconnect { reason: bytes },
                    QueuedKind::Timer => RecordBody::Timer { timer: bytes },
                };
                let record = Record {
                    mono_ns: queued.mono_ns,
                    wall_ns: queued.wall_ns,
                    body,
                };
                if writer.push(&record, &mut out).is_err() {
                    // Too large for any block: counted, not fatal.
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
                // Back to the sink for reuse; a full pool lets it go.
                let _ = to_sink.try_send(queued.bytes);
            }
            Message::Flush => {
                writer.flush(&mut out)?;
                file.write_all(&out).map_err(io)?;
                out.clear();
                file.flush().map_err(io)?;
                continue;
            }
        }
        if !out.is_empty() {
            file.write_all(&out).map_err(io)?;
            out.clear();
        }
    }
    let trailer = writer.finish(dropped.load(Ordering::Relaxed), &mut out)?;
    file.write_all(&out).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(trailer)
}
