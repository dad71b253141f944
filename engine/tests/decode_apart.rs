//! The threaded gateway decodes with no lock a submitter needs (issue 19
//! §2): the codec is split, a message is decoded under the decoder's own
//! lock, and the decoder forgets a connection only once the message stream
//! has reached the next one. No timing: a decode is held open by a gate, and
//! the test checks what a submitter can do meanwhile.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use orderwire_engine::gateway::{Gateway, GatewayConfig, GatewayEvent, Outputs, Transport};
use orderwire_protocol::model::{
    Event, Events, NewOrder, OrderKind, Request, Side, Subscription, TimeInForce, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::time::Instant;
use orderwire_protocol::venue::kraken::{Kraken, Tier};
use orderwire_protocol::venue::{
    Capabilities, Ctx, DecodeError, EncodeError, Expect, FrameKind, Frames, Keepalive, Note,
    RatePolicy, Venue,
};
use parking_lot::Mutex;

const SNAPSHOT: &str = include_str!("../../protocol/tests/kraken/book_snapshot.json");

#[derive(Default)]
struct Wire(Mutex<Vec<Vec<u8>>>);

impl Transport for Wire {
    fn buffer(&self) -> Vec<u8> {
        Vec::new()
    }
    fn send(&self, _kind: FrameKind, frame: Vec<u8>) -> Result<(), Vec<u8>> {
        self.0.lock().push(frame);
        Ok(())
    }
}

/// Holds a decode open: says it started, then waits to be let go.
struct Gate {
    started: Sender<()>,
    go: Receiver<()>,
}

/// Kraken whose decoding half stops inside `decode` at a gate.
struct Gated {
    inner: Kraken,
    gate: Option<Gate>,
}

impl Venue for Gated {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn encode(
        &mut self,
        ctx: &mut Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Frames,
    ) -> Result<Expect, EncodeError> {
        self.inner.encode(ctx, req_id, request, out)
    }
    fn decode(
        &mut self,
        ctx: &mut Ctx<'_>,
        kind: FrameKind,
        message: &mut [u8],
        out: &mut Events,
        reply: &mut Frames,
    ) -> Result<(), DecodeError> {
        if let Some(gate) = self.gate.take() {
            gate.started.send(()).expect("the test waits for the start");
            gate.go.recv().expect("the test lets the decode go");
        }
        self.inner.decode(ctx, kind, message, out, reply)
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
    fn split(&mut self) -> Option<Gated> {
        Some(Gated {
            inner: self.inner.split()?,
            gate: self.gate.take(),
        })
    }
    fn take_note(&mut self) -> Option<Note> {
        self.inner.take_note()
    }
    fn apply_note(&mut self, note: Note) {
        self.inner.apply_note(note);
    }
    fn keepalive(&self) -> Keepalive {
        self.inner.keepalive()
    }
    fn rate_policy(&self) -> RatePolicy {
        self.inner.rate_policy()
    }
}

fn order(client: &str) -> NewOrder {
    NewOrder {
        client_order_id: inline(client).unwrap(),
        symbol: inline("BTC/USD").unwrap(),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some("26500.4".parse().unwrap()),
        qty: "1.2".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    }
}

fn book_config(depth: u32) -> GatewayConfig {
    GatewayConfig {
        subscriptions: vec![Subscription::Book {
            symbols: vec![inline("BTC/USD").unwrap()],
            depth,
        }],
        subscription_silence: None,
        ..GatewayConfig::default()
    }
}

fn connect<V: Venue>(gateway: &Gateway<V, Wire>, now: u64) {
    let mut core = gateway.core().lock();
    let attempt = u32::try_from(core.connections()).unwrap();
    core.on_connected(Instant(now), attempt);
    // The open sequence goes on the wire first, as the drivers' open hook
    // writes it.
    let mut frame = Vec::new();
    while core.poll_open_transmit(&mut frame).is_some() {
        gateway
            .transport()
            .0
            .lock()
            .push(std::mem::take(&mut frame));
    }
}

fn feed<V: Venue>(gateway: &Gateway<V, Wire>, now: u64, message: &str) {
    let mut bytes = message.as_bytes().to_vec();
    gateway.handle_message(Instant(now), Instant(now), FrameKind::Text, &mut bytes);
}

#[test]
fn an_order_goes_out_while_a_book_is_being_decoded() {
    let (started_tx, started) = channel();
    let (go, go_rx) = channel();
    let venue = Gated {
        inner: Kraken::new(Some(Secret::new("token")), Tier::Starter),
        gate: Some(Gate {
            started: started_tx,
            go: go_rx,
        }),
    };
    let gateway = Arc::new(Gateway::new(venue, book_config(10), Wire::default()));
    assert!(gateway.decodes_apart());
    connect(&gateway, 0);
    let wire_before = gateway.transport().0.lock().len();

    let decoding = {
        let gateway = gateway.clone();
        std::thread::spawn(move || feed(&gateway, 1, SNAPSHOT))
    };
    started.recv().expect("the decode started");
    // Mid-decode: the core's lock is free, and an order goes out.
    assert!(
        gateway.core().try_lock().is_some(),
        "the decode holds the core's lock"
    );
    gateway
        .place_order(Instant(2), &order("mid-decode"))
        .expect("the order is not held behind the decode");
    let wire = gateway.transport().0.lock().clone();
    assert_eq!(wire.len(), wire_before + 1);
    assert!(String::from_utf8_lossy(&wire[wire_before]).contains("mid-decode"));
    go.send(()).unwrap();
    decoding.join().unwrap();

    // The book decoded as it would have whole.
    let mut outputs = Outputs::default();
    gateway.poll_events(&mut outputs);
    assert!(
        outputs
            .events
            .iter()
            .any(|e| matches!(e, GatewayEvent::Market(Event::Book(b)) if b.snapshot)),
        "{:?}",
        outputs.events
    );
    assert_eq!(
        gateway.with_decoding_venue(|codec| codec.inner.book("BTC/USD").map(|b| b.bids().len())),
        Some(10)
    );
}

#[test]
fn the_decoder_forgets_a_connection_only_once_the_stream_reaches_the_next() {
    let gateway = Gateway::new(
        Kraken::new(Some(Secret::new("token")), Tier::Starter),
        book_config(25),
        Wire::default(),
    );
    // As the threaded Exchange: the reactor opens connections ahead of the
    // messages the poller has read.
    gateway.set_opens_reached(0);
    connect(&gateway, 0);
    gateway.set_opens_reached(1);
    feed(&gateway, 1, SNAPSHOT);
    let bids =
        || gateway.with_decoding_venue(|codec| codec.book("BTC/USD").map(|b| b.bids().len()));
    assert_eq!(bids(), Some(10));

    // The reactor reconnects; the old connection's last update is still
    // to be read, against the old book at its subscribed depth (25: the
    // two new bids and one delete leave 11).
    connect(&gateway, 2);
    let update = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45284.0,"qty":0.5},{"price":45283.45,"qty":1},{"price":45283.4,"qty":0}],"asks":[],"checksum":0,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#;
    feed(&gateway, 3, update);
    assert_eq!(
        bids(),
        Some(11),
        "the old book is kept for its last message"
    );

    // The poller reads the reconnect: the decoder forgets the old book.
    gateway.set_opens_reached(2);
    feed(&gateway, 4, r#"{"channel":"heartbeat"}"#);
    assert_eq!(bids(), None);
}
