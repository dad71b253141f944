//! `orderwire wscat`: a WebSocket client on the engine, for people and for
//! test suites.
//!
//! Without `--echo`, each stdin line goes out as a text message and each
//! message received is written to stdout (text with a newline after it,
//! binary as raw bytes). With `--echo`, every message goes back as it came:
//! that is how the Autobahn suite drives a client. The exit status is 0
//! after a clean close handshake (from either side), 1 on any failure with a
//! one-line reason on stderr.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use orderwire_engine::capture::{CaptureConfig, CaptureSink};
use orderwire_engine::gateway::capture::redact_frame;
use orderwire_engine::{
    ConnectionConfig, Disconnect, Engine, EngineConfig, EngineEvent, ReconnectPolicy, TlsConfig,
};
use orderwire_protocol::capture::{FrameType, Header, Record, RecordBody};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::ws::MessageKind;

/// Arguments of `orderwire wscat`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Send every received message back unchanged.
    #[arg(long)]
    echo: bool,
    /// Also trust the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// An extra handshake header, `Name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "K: V")]
    headers: Vec<String>,
    /// Give up the handshake (TCP, TLS and WebSocket each) after this many
    /// seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Capture the session to FILE (docs/capture.md): every message in and
    /// out, the connect and the disconnect. `orderwire decode --venue V
    /// FILE` reads it (the venue is not known here, so the header names
    /// `wscat`); headers given with -H are not recorded.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// `ws://` or `wss://` URL.
    url: String,
}

/// What `--record` writes through: the engine's capture writer thread.
/// wscat knows no venue, so every text frame is redacted with every
/// built-in venue's secret keys (a pasted token or signature stays out of
/// the file).
struct Recording {
    sink: std::sync::Arc<CaptureSink>,
    clock: orderwire_engine::Clock,
    wall_offset_ns: i64,
    secret_fields: Vec<&'static str>,
}

impl Recording {
    fn start(
        path: &std::path::Path,
        url: &str,
        clock: orderwire_engine::Clock,
    ) -> Result<Recording, String> {
        let wall_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let mono_ns = clock.now_ns();
        let wall_offset_ns = wall_ns.saturating_sub(i64::try_from(mono_ns).unwrap_or(0));
        // The URL without its query, which may carry a token.
        let url = url.split('?').next().unwrap_or(url);
        let header = Header {
            venue: "wscat".to_owned(),
            codec_config: format!("url={url}\n"),
            rng_seed: 0,
            started_wall_ns: wall_ns,
            started_mono_ns: mono_ns,
        };
        let sink =
            CaptureSink::start(&CaptureConfig::new(path), header).map_err(|e| e.to_string())?;
        let mut secret_fields: Vec<&'static str> = Vec::new();
        for entry in orderwire::venues::Venues::builtin().iter() {
            for field in entry.offline_codec(10).capabilities().secret_fields {
                if !secret_fields.contains(field) {
                    secret_fields.push(field);
                }
            }
        }
        Ok(Recording {
            sink: std::sync::Arc::new(sink),
            clock,
            wall_offset_ns,
            secret_fields,
        })
    }

    fn record(&self, body: RecordBody<'_>) {
        let mut redacted = Vec::new();
        let body = match body {
            RecordBody::FrameIn {
                kind,
                received_ns,
                payload,
            } => {
                redact_frame(kind, payload, &self.secret_fields, &mut redacted);
                RecordBody::FrameIn {
                    kind,
                    received_ns,
                    payload: &redacted,
                }
            }
            RecordBody::FrameOut { kind, payload } => {
                redact_frame(kind, payload, &self.secret_fields, &mut redacted);
                RecordBody::FrameOut {
                    kind,
                    payload: &redacted,
                }
            }
            other => other,
        };
        let mono_ns = self.clock.now_ns();
        self.sink.record(&Record {
            mono_ns,
            wall_ns: i64::try_from(mono_ns)
                .unwrap_or(i64::MAX)
                .saturating_add(self.wall_offset_ns),
            body,
        });
    }
}

fn frame_type(kind: MessageKind) -> FrameType {
    match kind {
        MessageKind::Text => FrameType::Text,
        MessageKind::Binary => FrameType::Binary,
    }
}

pub(crate) fn run(args: Args) -> Result<(), String> {
    let mut config = ConnectionConfig::new(args.url.clone());
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("--header {header:?} is not `Name: value`"))?;
        config
            .headers
            .push((name.trim().to_owned(), Secret::new(value.trim())));
    }
    if let Some(ca) = &args.ca {
        config.tls = Some(TlsConfig::with_extra_ca_file(ca).map_err(|e| e.to_string())?);
    }
    let timeout = Duration::from_secs(args.timeout);
    config.connect_timeout = timeout;
    config.tls_timeout = timeout;
    config.ws.handshake_timeout = Some(timeout);
    // One connection, one outcome: no reconnects in a command-line client.
    config.reconnect = ReconnectPolicy {
        enabled: false,
        ..ReconnectPolicy::default()
    };
    let mut engine = Engine::start(EngineConfig::default()).map_err(|e| e.to_string())?;
    let recording = match &args.record {
        Some(path) => Some(std::sync::Arc::new(Recording::start(
            path,
            &args.url,
            engine.clock().clone(),
        )?)),
        None => None,
    };
    let conn = engine.connect(config).map_err(|e| e.to_string())?;
    if !args.echo {
        // Detached: a read of stdin cannot be interrupted, and the process
        // exits when the connection ends whether or not stdin has.
        let commander = engine.commander();
        let recording = recording.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if let Some(recording) = &recording {
                    recording.record(RecordBody::FrameOut {
                        kind: FrameType::Text,
                        payload: line.as_bytes(),
                    });
                }
                if commander.send_text(conn, &line).is_err() {
                    return;
                }
            }
            let _ = commander.close(conn, 1000, "");
        });
    }
    let outcome = event_loop(&engine, args.echo, recording.as_deref());
    engine.shutdown(Duration::from_millis(500));
    if let Some(recording) = recording {
        recording.sink.end().map_err(|e| e.to_string())?;
    }
    outcome
}

fn event_loop(engine: &Engine, echo: bool, recording: Option<&Recording>) -> Result<(), String> {
    let stdout = std::io::stdout();
    for event in engine.events().iter() {
        match event {
            EngineEvent::Connected { .. } => {
                if let Some(recording) = recording {
                    recording.record(RecordBody::Connect { attempt: 0 });
                }
            }
            EngineEvent::Message {
                conn,
                kind,
                data,
                received_at_ns,
                ..
            } => {
                if let Some(recording) = recording {
                    recording.record(RecordBody::FrameIn {
                        kind: frame_type(kind),
                        received_ns: received_at_ns,
                        payload: &data,
                    });
                    if echo {
                        recording.record(RecordBody::FrameOut {
                            kind: frame_type(kind),
                            payload: &data,
                        });
                    }
                }
                if echo {
                    engine
                        .send(conn, kind, data)
                        .map_err(|_| "command queue full".to_string())?;
                    continue;
                }
                let mut out = stdout.lock();
                let written = match kind {
                    MessageKind::Text => out.write_all(&data).and_then(|()| out.write_all(b"\n")),
                    MessageKind::Binary => out.write_all(&data),
                };
                written
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("stdout: {e}"))?;
                engine.recycle(data);
            }
            EngineEvent::Disconnected { reason, .. } => {
                if let Some(recording) = recording {
                    // Text, not the core's disconnect encoding: a wscat
                    // capture is read by `decode`, never replayed.
                    let text = format!("{reason:?}");
                    recording.record(RecordBody::Disconnect {
                        reason: text.as_bytes(),
                    });
                }
                return match reason {
                    Disconnect::Closed { .. } | Disconnect::Requested => Ok(()),
                    Disconnect::Failed(error) => Err(error.to_string()),
                    other => Err(format!("{other:?}")),
                };
            }
            EngineEvent::Stopped => return Err("the engine stopped".into()),
            _ => {}
        }
    }
    Err("the engine stopped".into())
}
