//! Driving a `GatewayCore` in virtual time: after every input, its frames
//! are drained into a sink, as the engine's `Gateway` drains them into the
//! command queue. Times are nanoseconds of virtual time.

use orderwire_engine::gateway::{GatewayCore, Submission, SubmitError};
use orderwire_protocol::model::{BookEvent, Level, Request};
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::{FrameKind, Frames as VenueFrames, Venue};

/// Where drained frames go.
pub(crate) trait Sink {
    /// An empty buffer to take the next frame (a pooled one, for a sink
    /// that must not allocate).
    fn buffer(&mut self) -> Vec<u8> {
        Vec::new()
    }
    /// Takes one frame.
    fn frame(&mut self, kind: FrameKind, bytes: Vec<u8>);
}

/// What the core sent: the frames, and their kinds.
#[derive(Default)]
pub(crate) struct Frames(pub Vec<Vec<u8>>, pub Vec<FrameKind>);

impl Sink for Frames {
    fn frame(&mut self, kind: FrameKind, bytes: Vec<u8>) {
        self.0.push(bytes);
        self.1.push(kind);
    }
}

impl Frames {
    /// Frame `index` as JSON.
    pub(crate) fn json(&self, index: usize) -> serde_json::Value {
        serde_json::from_slice(&self.0[index]).unwrap()
    }

    /// Every frame's `method`.
    pub(crate) fn methods(&self) -> Vec<String> {
        (0..self.0.len())
            .map(|i| self.json(i)["method"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Moves every frame the core has written into `out`, as the engine's
/// `Gateway` does: a buffer in for each frame out, until `poll_transmit`
/// says there is nothing left (the call that records the request).
pub(crate) fn drain<V: Venue>(core: &mut GatewayCore<V>, out: &mut impl Sink) {
    loop {
        let mut buf = if core.transmits_pending() > 0 {
            out.buffer()
        } else {
            Vec::new()
        };
        let Some(kind) = core.poll_transmit(&mut buf) else {
            break;
        };
        out.frame(kind, buf);
    }
}

/// The core's inputs at virtual times, each followed by a drain.
pub(crate) trait Drive {
    /// `submit` at `now`.
    fn submit_at(
        &mut self,
        now: u64,
        request: Request<'_>,
        out: &mut impl Sink,
    ) -> Result<Submission, SubmitError>;
    /// `handle_timeout` at `now`.
    fn timeout_at(&mut self, now: u64, out: &mut impl Sink);
    /// `handle_message` of a text message received at `now`.
    fn message_at(&mut self, now: u64, received: u64, message: &mut [u8], out: &mut impl Sink);
    /// `on_connected` at `now`: the open sequence's frames.
    fn connect_at(&mut self, now: u64) -> VenueFrames;
    /// `on_disconnected` at `now`, as after a dropped socket.
    fn disconnect_at(&mut self, now: u64);
    /// `poll_timeout`, in virtual nanoseconds.
    fn next_timeout(&mut self) -> Option<u64>;
    /// `feed_book_snapshot` at `now`.
    fn snapshot_at(&mut self, now: u64, book: &BookEvent, levels: &[Level], out: &mut impl Sink);
}

impl<V: Venue> Drive for GatewayCore<V> {
    fn submit_at(
        &mut self,
        now: u64,
        request: Request<'_>,
        out: &mut impl Sink,
    ) -> Result<Submission, SubmitError> {
        let submitted = self.submit(Instant(now), request);
        drain(self, out);
        submitted
    }

    fn timeout_at(&mut self, now: u64, out: &mut impl Sink) {
        self.handle_timeout(Instant(now));
        drain(self, out);
    }

    fn message_at(&mut self, now: u64, received: u64, message: &mut [u8], out: &mut impl Sink) {
        self.handle_message(Instant(now), Instant(received), FrameKind::Text, message);
        drain(self, out);
    }

    fn connect_at(&mut self, now: u64) -> VenueFrames {
        let mut frames = VenueFrames::new();
        let attempt = u32::try_from(self.connections()).unwrap_or(u32::MAX);
        self.on_connected(Instant(now), attempt);
        let mut frame = Vec::new();
        while let Some(kind) = self.poll_open_transmit(&mut frame) {
            frames.frame(kind).extend_from_slice(&frame);
            frame.clear();
        }
        frames
    }

    fn disconnect_at(&mut self, now: u64) {
        let reason = std::sync::Arc::new(orderwire_engine::Disconnect::Requested);
        self.on_disconnected(Instant(now), reason);
    }

    fn next_timeout(&mut self) -> Option<u64> {
        self.poll_timeout().map(Instant::as_nanos)
    }

    fn snapshot_at(&mut self, now: u64, book: &BookEvent, levels: &[Level], out: &mut impl Sink) {
        self.feed_book_snapshot(Instant(now), book, levels);
        drain(self, out);
    }
}
