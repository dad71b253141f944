//! The embedding API as a user meets it, against the mock Kraken over real
//! TLS on loopback: waiting on one request while another thread polls, an
//! order placed before the connection opens, callbacks with nobody
//! polling, the typeless registry handle on both drivers, and errors that
//! `?` carries anywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use orderwire::mock::kraken::MockKraken;
use orderwire::prelude::*;

const PATIENCE: Duration = Duration::from_secs(10);

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn resting(id: &str) -> NewOrder {
    NewOrder::limit("BTC/USD", Side::Buy, "0.01", "80000.0")
        .client_id(id)
        .build()
        .expect("a valid order")
}

#[test]
fn errors_are_send_sync_and_travel_by_question_mark() {
    fn send_sync<T: std::error::Error + Send + Sync + 'static>() {}
    send_sync::<ExchangeError>();
    send_sync::<SubmitError>();
    send_sync::<RegistryError>();
    send_sync::<WaitError>();
    send_sync::<BuildError>();
    fn start_bad() -> Result<(), AnyError> {
        let config = ExchangeConfig::new("http://not-a-websocket");
        Exchange::start("bad", Kraken::public(), config)?;
        Ok(())
    }
    let error = start_bad().expect_err("an http URL is refused");
    assert!(!error.to_string().is_empty());
}

#[test]
fn a_request_is_waited_on_while_another_thread_polls() -> Result<(), AnyError> {
    let mock = MockKraken::builder().start()?;
    let kraken = Arc::new(Exchange::start(
        "waits",
        mock.venue(),
        mock.exchange_config(),
    )?);
    kraken.wait_connected(PATIENCE)?;
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let poller = {
        let (kraken, stop, acks) = (kraken.clone(), stop.clone(), acks.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                kraken.poll(|event, _| {
                    if matches!(event, GatewayEvent::Reply(Event::OrderAck(_))) {
                        acks.fetch_add(1, Ordering::AcqRel);
                    }
                });
            }
        })
    };
    // The other thread polls all along; the ticket still sees its end.
    let ticket = kraken.place(&resting("waited-1"))?;
    let end = ticket.wait(PATIENCE)?;
    assert!(end.accepted(), "{end:?}");
    assert_eq!(Some(end.req_id), ticket.req_id());
    assert_eq!(end.wire_method, "add_order");
    // The poller sees the ack too: from its own poll, or held by the
    // wait (which may have polled) for its next one.
    let deadline = std::time::Instant::now() + PATIENCE;
    while acks.load(Ordering::Acquire) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the poller never saw the ack"
        );
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Release);
    poller.join().expect("the poller ends");
    assert_eq!(acks.load(Ordering::Acquire), 1, "once, not twice");
    Ok(())
}

#[test]
fn an_order_placed_before_the_connection_opens_goes_out_once_it_does() -> Result<(), AnyError> {
    let mock = MockKraken::builder().start()?;
    let kraken = Exchange::start("early", mock.venue(), mock.exchange_config())?;
    // No wait_connected: the handshake is still under way (held, the
    // default; GatewayConfig::when_disconnected = Refuse would refuse it).
    let ticket = kraken.place(&resting("early-1"))?;
    let end = ticket.wait(PATIENCE)?;
    assert!(end.accepted(), "{end:?}");
    assert_eq!(mock.stats().orders_placed, 1);
    Ok(())
}

#[test]
fn callbacks_fire_on_a_dispatcher_thread_with_nobody_polling() -> Result<(), AnyError> {
    let mock = MockKraken::builder().start()?;
    let (outcomes, received) = mpsc::channel();
    let callback: RequestCallback = Arc::new(move |outcome: &RequestOutcome<'_>| {
        let _ = outcomes.send((
            outcome.req_id,
            outcome.wire_method.to_owned(),
            outcome.to_string(),
        ));
    });
    let config = mock.exchange_config().on_request(callback);
    let kraken = Exchange::start("dispatched", mock.venue(), config)?;
    kraken.spawn_dispatcher(|_, _| {})?;
    let sent = kraken.place_order(&resting("dispatched-1"))?;
    // This thread never polls and never waits on the request.
    let (req_id, method, text) = received.recv_timeout(PATIENCE)?;
    assert_eq!(Submission::Sent { req_id }, sent);
    assert_eq!(method, "add_order");
    let head = format!("WebSocket Request - ID: {req_id} | Method: add_order | Latency: ");
    assert!(text.starts_with(&head), "{text}");
    assert!(
        text.contains("\"token\":\"***\""),
        "secrets redacted: {text}"
    );
    Ok(())
}

#[test]
fn the_registry_hands_out_a_typeless_handle_for_either_driver() -> Result<(), AnyError> {
    let mock = MockKraken::builder().start()?;
    let registry = Registry::new();
    registry.create("threaded", || {
        Exchange::start("threaded", mock.venue(), mock.exchange_config())
    })?;
    registry.create("inline", || {
        InlineExchange::start("inline", mock.venue(), mock.exchange_config())
            .map(parking_lot::Mutex::new)
    })?;
    for (name, id) in [("threaded", "typeless-1"), ("inline", "typeless-2")] {
        let exchange = registry.exchange(name).ok_or("registered")?;
        assert_eq!(exchange.venue(), "kraken");
        exchange.wait_connected(PATIENCE)?;
        let order = resting(id);
        assert!(exchange.place(&order)?.wait(PATIENCE)?.accepted());
        assert_eq!(
            exchange.order_status(&order.client_order_id),
            Some(OrderStatus::New)
        );
        let cancel = exchange.cancel(OrderRef::ClientOrderId(order.client_order_id), None)?;
        assert!(cancel.wait(PATIENCE)?.accepted());
    }
    // The typed handle is there beside it.
    assert!(registry.get::<Exchange<Kraken>>("threaded").is_some());
    registry.shutdown_all(Duration::from_secs(1));
    assert!(registry.exchange("threaded").is_none(), "taken out");
    Ok(())
}

#[test]
fn a_callback_on_the_dispatcher_may_place_an_order_and_wait_on_nothing() -> Result<(), AnyError> {
    // Re-quoting from a callback: the callback runs on the dispatcher
    // thread, which holds the poll; placing from it must not deadlock.
    let mock = MockKraken::builder().start()?;
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let (requoted, received) = mpsc::channel();
    let callback: RequestCallback = Arc::new(move |outcome: &RequestOutcome<'_>| {
        if outcome.summary.client_order_id.as_deref() == Some("first-quote") {
            let kraken = registry.exchange("requoting").expect("registered");
            let placed = kraken
                .place(&resting("second-quote"))
                .map(|t| t.submission());
            let _ = requoted.send(placed.is_ok());
        }
    });
    let config = mock.exchange_config().on_request(callback);
    let kraken = registry.create("requoting", || {
        Exchange::start("requoting", mock.venue(), config)
    })?;
    kraken.spawn_dispatcher(|_, _| {})?;
    kraken.place_order(&resting("first-quote"))?;
    assert!(received.recv_timeout(PATIENCE)?, "placed from the callback");
    let handle = registry.exchange("requoting").ok_or("registered")?;
    let deadline = std::time::Instant::now() + PATIENCE;
    while handle.order_status(&ClientOrderId::from("second-quote")?) != Some(OrderStatus::New) {
        assert!(
            std::time::Instant::now() < deadline,
            "the second quote rests"
        );
        std::thread::yield_now();
    }
    registry.shutdown_all(Duration::from_secs(1));
    Ok(())
}
