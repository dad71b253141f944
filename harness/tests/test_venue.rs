//! A venue written only here, registered with `Venues::with` and driven
//! through the service, the shared demo driver and decode: proof that the
//! registry is the one place a venue is added, and that nothing in the
//! harness matches on a venue's name.
//!
//! `echo` speaks lines of text over plain ws:// on loopback:
//! `sub <id> <pair>` is answered `ok <id>`, then `trade <pair> <price>
//! <qty> <trade id>`; an order placed over the mock's "REST" hook is
//! reported `order <client id> filled`.

use std::io::Cursor;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use orderwire::demo::{DemoOptions, DemoVenue, PlacedElsewhere, Step, Tally};
use orderwire::service::{
    AnyExchange, ConfigError, Driver, ServiceConfig, ServiceError, StartOptions, start_with,
};
use orderwire::venues::{BuildContext, StartCodec, VenueEntry, VenueMock, Venues};
use orderwire_engine::gateway::{Exchange, ExchangeConfig, GatewayConfig, GatewayEvent, Registry};
use orderwire_engine::{ConnectionConfig, EngineConfig};
use orderwire_protocol::model::{
    Event, Events, Method, OrderStatus, OrderUpdate, Request, Response, Subscription, Symbol,
    Trade, inline,
};
use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::{
    Capabilities, Ctx, DecodeError, EncodeError, Expect, FrameKind, Frames, Keepalive, RatePolicy,
    Venue,
};

/// The fake codec.
struct Echo;

impl Venue for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    fn encode(
        &mut self,
        _: &mut Ctx<'_>,
        req_id: u64,
        request: &Request<'_>,
        out: &mut Frames,
    ) -> Result<Expect, EncodeError> {
        let Request::Subscribe(Subscription::Trades { symbols }) = request else {
            return Err(EncodeError::Unsupported("anything but trades"));
        };
        let pair = symbols.first().ok_or(EncodeError::Invalid("no pair"))?;
        let frame = out.frame(FrameKind::Text);
        frame.extend_from_slice(format!("sub {req_id} {pair}").as_bytes());
        Ok(Expect::Replies(1))
    }
    fn decode(
        &mut self,
        _: &mut Ctx<'_>,
        _: FrameKind,
        message: &mut [u8],
        out: &mut Events,
        _: &mut Frames,
    ) -> Result<(), DecodeError> {
        let bad = |why| DecodeError::Field { field: "line", why };
        let text = std::str::from_utf8(message).map_err(|_| bad("not utf-8"))?;
        let words: Vec<&str> = text.split(' ').collect();
        let event = match words.as_slice() {
            ["ok", id] => Event::Response(Response {
                req_id: id.parse().ok(),
                method: Method::Subscribe,
                ok: true,
                message: None,
                ts_in: None,
                ts_out: None,
            }),
            ["trade", pair, price, qty, id] => Event::Trade(Trade {
                symbol: inline(pair).ok_or(bad("pair"))?,
                price: price.parse().map_err(|_| bad("price"))?,
                qty: qty.parse().map_err(|_| bad("qty"))?,
                side: None,
                trade_id: inline(id).ok_or(bad("trade id"))?,
                ts: None,
                from_snapshot: false,
            }),
            ["order", id, "filled"] => {
                out.push_order_update(OrderUpdate {
                    order_id: inline(id).ok_or(bad("order id"))?,
                    client_order_id: inline(id),
                    symbol: None,
                    side: None,
                    status: OrderStatus::Filled,
                    price: None,
                    qty: None,
                    filled_qty: None,
                    from_snapshot: false,
                    ts: None,
                    detail: Default::default(),
                });
                return Ok(());
            }
            _ => return Err(bad("unknown line")),
        };
        out.list.push(event);
        Ok(())
    }
    fn reset(&mut self) {}
    fn keepalive(&self) -> Keepalive {
        Keepalive {
            idle_close_after: None,
            app_ping_every: None,
            heartbeat_every: None,
            max_connection_age: None,
        }
    }
    fn rate_policy(&self) -> RatePolicy {
        RatePolicy::default()
    }
}

/// The fake mock: one thread, one client at a time, plain ws.
struct EchoMock {
    url: String,
    orders: Sender<String>,
}

impl EchoMock {
    fn start() -> std::io::Result<EchoMock> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("ws://{}/", listener.local_addr()?);
        let (orders, placed) = channel();
        std::thread::spawn(move || serve(&listener, &placed));
        Ok(EchoMock { url, orders })
    }
}

fn serve(listener: &TcpListener, placed: &Receiver<String>) {
    use tungstenite::Message;
    for stream in listener.incoming().flatten() {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(2)));
        let Ok(mut ws) = tungstenite::accept(stream) else {
            continue;
        };
        let mut trades = 0;
        loop {
            while let Ok(id) = placed.try_recv() {
                let _ = ws.send(Message::text(format!("order {id} filled")));
            }
            match ws.read() {
                Ok(Message::Text(line)) => {
                    if let ["sub", id, pair] = line.split(' ').collect::<Vec<_>>().as_slice() {
                        trades += 1;
                        let _ = ws.send(Message::text(format!("ok {id}")));
                        let _ = ws.send(Message::text(format!("trade {pair} 1.5 2 t{trades}")));
                    }
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
    }
}

impl VenueMock for EchoMock {
    fn url(&self, _: &str, _: bool) -> String {
        self.url.clone()
    }
    fn ca_file(&self) -> std::path::PathBuf {
        "no-tls".into()
    }
    fn credential(&self, _: &str) -> Option<Secret> {
        None
    }
}

/// The registry entry.
struct EchoEntry;

static ECHO: EchoEntry = EchoEntry;

impl VenueEntry for EchoEntry {
    fn name(&self) -> &'static str {
        "echo"
    }
    fn about(&self) -> &'static str {
        "a venue written only in a test"
    }
    fn credentials(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    fn endpoint(&self, _: &str, _: bool) -> Result<Option<String>, String> {
        Ok(None)
    }
    fn start_mock(&self, _: &orderwire::mock::MockOptions) -> std::io::Result<Box<dyn VenueMock>> {
        Ok(Box::new(EchoMock::start()?))
    }
    fn build(&self, _: &BuildContext<'_>) -> Result<Box<dyn StartCodec>, ConfigError> {
        Ok(Box::new(Echo))
    }
    fn offline_codec(&self, _: u32) -> Box<dyn Venue> {
        Box::new(Echo)
    }
    fn demo(&self, _: &DemoOptions) -> Result<Box<dyn DemoVenue>, String> {
        let mock = EchoMock::start().map_err(|e| e.to_string())?;
        let symbol = inline("ECHO/USD").ok_or("pair")?;
        let gateway = GatewayConfig {
            subscriptions: vec![Subscription::Trades {
                symbols: vec![symbol],
            }],
            ..GatewayConfig::default()
        };
        let config = ExchangeConfig {
            engine: EngineConfig::default(),
            connection: ConnectionConfig::new(mock.url.clone()),
            gateway,
            on_request: None,
            token_fetch: None,
            capture: None,
        };
        let exchange = Exchange::start("echo-demo", Echo, config).map_err(|e| e.to_string())?;
        Ok(Box::new(EchoDemo {
            mock,
            exchange: Arc::new(exchange),
            symbol,
        }))
    }
}

/// Its part of the demo: orders placed "over REST", reported filled.
struct EchoDemo {
    mock: EchoMock,
    exchange: Arc<Exchange<Echo>>,
    symbol: Symbol,
}

impl DemoVenue for EchoDemo {
    fn title(&self) -> &'static str {
        "Echo"
    }
    fn exchanges(&self) -> Vec<Arc<dyn AnyExchange>> {
        vec![Arc::new(Driver::Threaded(self.exchange.clone()))]
    }
    fn symbol(&self) -> Symbol {
        self.symbol
    }
    fn ready(&self, tally: &Tally) -> bool {
        tally.subscribed >= 1
    }
    fn step(&self, _: usize) -> Step {
        Step::Elsewhere
    }
    fn place_elsewhere(&mut self, n: usize) -> Result<PlacedElsewhere, String> {
        let id = format!("echo-{n}");
        self.mock
            .orders
            .send(id.clone())
            .map_err(|e| e.to_string())?;
        Ok(PlacedElsewhere {
            key: inline(&id).ok_or("id")?,
            ends: true,
        })
    }
    fn notes(&mut self, tally: &Tally) -> Vec<String> {
        vec![format!(
            "echo trades: {}",
            tally.by_type.get("trade").copied().unwrap_or(0)
        )]
    }
}

const CONFIG: &str = "[[ws_apis]]\nname = \"echo-1\"\nexchange = \"echo\"\n\n[[ws_apis.subscriptions]]\nchannel = \"trades\"\nsymbols = [\"ECHO/USD\"]\n";

#[test]
fn the_service_starts_a_registered_venue_on_its_mock_and_its_trades_arrive() {
    let config = ServiceConfig::parse(std::path::Path::new("orderwire.toml"), CONFIG).unwrap();
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let options = |venues| StartOptions {
        mock: true,
        registry: Some(registry),
        venues,
        ..StartOptions::default()
    };
    // Without the entry, the name is unknown: the registry is the one place.
    let Err(ServiceError::Config(error)) = start_with(&config, options(None)) else {
        panic!("an unregistered venue started");
    };
    assert!(
        error.to_string().contains("unknown venue `echo`"),
        "{error}"
    );
    let service = start_with(&config, options(Some(Venues::builtin().with(&ECHO)))).unwrap();
    let exchange = service.exchanges().next().unwrap();
    assert_eq!((exchange.name(), exchange.venue()), ("echo-1", "echo"));
    assert!(
        exchange.driver::<Echo>().is_some(),
        "its own type, one downcast away"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut trade = None;
    while trade.is_none() {
        assert!(Instant::now() < deadline, "no trade");
        exchange.poll(|event, _| {
            if let GatewayEvent::Market(Event::Trade(t)) = event {
                trade = Some(t.clone());
            }
        });
        std::thread::yield_now();
    }
    let trade = trade.unwrap();
    assert_eq!(trade.symbol.as_str(), "ECHO/USD");
    assert_eq!(trade.price.to_string(), "1.5");
}

#[test]
fn the_shared_demo_driver_runs_a_registered_venue() {
    let options = DemoOptions {
        orders: 5,
        progress: false,
        deadline: Duration::from_secs(20),
        verbose: false,
        record: None,
        events: None,
        ..DemoOptions::default()
    };
    let report = orderwire::demo::run(&ECHO, options).unwrap();
    assert!(report.all_terminal, "{report:?}");
    assert_eq!(report.by_status, [(OrderStatus::Filled, 5)]);
    assert_eq!(report.venue, "Echo");
    assert_eq!(report.book_check, None, "no books: nothing to check");
    let summary = orderwire::demo::summary(&report);
    assert!(summary.contains("echo trades: 1"), "{summary}");
    assert!(summary.contains("order_update 5"), "{summary}");
}

#[test]
fn decode_reads_a_registered_venues_capture() {
    let venues = Venues::builtin().with(&ECHO);
    let entry = venues.find("echo").unwrap();
    let capture = "trade ECHO/USD 1.25 3 t1\nnonsense\norder echo-0 filled\n";
    let mut output = Vec::new();
    let (lines, errors) =
        orderwire::decode::run(entry, 10, &mut Cursor::new(capture), &mut output).unwrap();
    assert_eq!((lines, errors), (3, 1));
    let text = String::from_utf8(output).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[0].contains("\"trade\"") && rows[0].contains("\"1.25\""),
        "{text}"
    );
    assert!(rows[1].contains("unknown line"), "{text}");
    assert!(rows[2].contains("filled"), "{text}");
}
