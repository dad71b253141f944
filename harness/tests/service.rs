//! The service config and `orderwire::service::start`: one test per kind of
//! config error (each with its file, line and field), credentials from a
//! `.env` file, exchanges found in `Registry::global()`, secrets absent from
//! every Debug, Display, log line, callback text and event, and `orderwire
//! run --config examples/service.toml --mock` for a bounded time, with its
//! metrics scraped.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orderwire::mock::kraken::{MockConfig, MockKraken};
use orderwire::run::{RunOptions, run};
use orderwire::service::{
    ConfigErrorKind, Mode, ServiceConfig, ServiceError, StartOptions, start, start_with,
};
use orderwire_engine::gateway::{
    Exchange, GatewayEvent, InlineExchange, Registry, RequestCallback, RequestOutcome,
};
use orderwire_protocol::model::{Event, NewOrder, OrderKind, Side, TimeInForce, inline};
use orderwire_protocol::venue::kraken::Kraken;

/// A fresh directory under the target dir for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("service-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn parse(text: &str) -> Result<ServiceConfig, orderwire::service::ConfigError> {
    ServiceConfig::parse(Path::new("orderwire.toml"), text)
}

#[test]
fn an_unknown_venue_names_the_line_and_the_choices() {
    // Venues are the registry's: the name is checked when the service
    // starts (before anything connects), against the registry it is given.
    let config = parse("[[ws_apis]]\nname = \"a\"\nexchange = \"krakn\"\n").unwrap();
    let Err(ServiceError::Config(error)) = start(&config) else {
        panic!("started, or failed for another reason")
    };
    assert_eq!(error.line.map(|l| l.0), Some(3));
    let text = error.to_string();
    assert!(text.starts_with("orderwire.toml:3:"), "{text}");
    assert!(text.contains("krakn") && text.contains("kraken"), "{text}");
}

#[test]
fn an_unknown_key_is_refused_with_its_line() {
    let error = parse("[gateway]\nrequest_timeout = 5\n").unwrap_err();
    assert_eq!(error.line.map(|l| l.0), Some(2));
    assert!(matches!(error.kind, ConfigErrorKind::Syntax(_)));
    assert!(error.to_string().contains("request_timeout"), "{error}");
}

#[test]
fn a_bad_url_names_the_field() {
    let text = "[[ws_apis]]\nname = \"a\"\nexchange = \"kraken\"\nendpoint = \"http://example.com\"\ncredentials = { token = \"ORDERWIRE_TEST_UNSET_1\" }\n";
    let config = parse(text).unwrap();
    let Err(error) = start(&config) else {
        panic!("started")
    };
    let text = error.to_string();
    assert!(text.starts_with("orderwire.toml:4:"), "{text}");
    assert!(
        text.contains("ws_apis[0].endpoint") && text.contains("scheme"),
        "{text}"
    );
}

#[test]
fn a_duplicate_name_is_refused_at_the_second() {
    let text = "[[ws_apis]]\nname = \"a\"\nexchange = \"binance_streams\"\n\n[[ws_apis]]\nname = \"a\"\nexchange = \"binance_streams\"\n";
    let error = parse(text).unwrap_err();
    assert_eq!(error.line.map(|l| l.0), Some(6));
    assert_eq!(error.field.as_deref(), Some("ws_apis[1].name"));
    assert!(matches!(error.kind, ConfigErrorKind::DuplicateName(_)));
}

#[test]
fn a_missing_secret_names_the_variable_and_nothing_connects() {
    let text = "[[ws_apis]]\nname = \"missing\"\nexchange = \"kraken\"\nendpoint = \"wss://127.0.0.1:9/v2\"\ncredentials = { token = \"ORDERWIRE_TEST_UNSET_2\" }\n";
    let config = parse(text).unwrap();
    let Err(error) = start(&config) else {
        panic!("started")
    };
    let text = error.to_string();
    assert!(text.contains("ORDERWIRE_TEST_UNSET_2"), "{text}");
    assert!(text.starts_with("orderwire.toml:5:"), "{text}");
    assert!(text.contains("ws_apis[0].credentials.token"), "{text}");
    assert!(
        Registry::global()
            .get::<Exchange<Kraken>>("missing")
            .is_none()
    );
}

/// DigiFinex with a key but no secret named, and venues with no testnet.
#[test]
fn digifinex_and_upbit_need_both_keys_and_have_no_testnet() {
    let text = "[[ws_apis]]\nname = \"d\"\nexchange = \"digifinex\"\nendpoint = \"wss://127.0.0.1:9/ws/v1/\"\ncredentials = { api_key = \"ORDERWIRE_TEST_UNSET_4\" }\n";
    let error = start(&parse(text).unwrap()).err().unwrap().to_string();
    assert!(error.contains("ws_apis[0].credentials"), "{error}");
    for venue in ["digifinex", "upbit"] {
        let text =
            format!("[[ws_apis]]\nname = \"t\"\nexchange = \"{venue}\"\nendpoint = \"testnet\"\n");
        let error = start(&parse(&text).unwrap()).err().unwrap().to_string();
        assert!(error.contains("has no testnet"), "{error}");
    }
}

#[test]
fn a_venue_without_its_credential_says_which() {
    let text = "[[ws_apis]]\nname = \"b\"\nexchange = \"binance\"\ncredentials = { api_key = \"ORDERWIRE_TEST_UNSET_3\" }\n";
    let config = parse(text).unwrap();
    let error = start(&config).err().unwrap().to_string();
    assert!(error.contains("ORDERWIRE_TEST_UNSET_3"), "{error}");
}

#[test]
fn dead_man_settings_that_cannot_work_are_refused() {
    let text = "[gateway]\ndead_man_timeout_s = 60\ndead_man_refresh_s = 60\n[[ws_apis]]\nname = \"k\"\nexchange = \"kraken\"\n";
    let error = parse(text).unwrap_err();
    assert!(matches!(error.kind, ConfigErrorKind::Invalid(_)), "{error}");
}

/// Captured log lines, from every thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
    .clone()
}

/// The token comes from a `.env` beside the config (the variable is not in
/// the environment), the exchange is found in `Registry::global()`, an
/// order goes through, and the token appears in none of the Debug and
/// Display texts, log lines, callback texts or events.
#[test]
fn credentials_from_dotenv_and_secrets_nowhere() {
    let logs = logs();
    let mock = MockKraken::start(MockConfig::default()).unwrap();
    let token = mock.token().to_owned();
    let dir = scratch("dotenv");
    std::fs::copy(mock.ca_file(), dir.join("mock-ca.pem")).unwrap();
    std::fs::write(
        dir.join(".env"),
        format!("ORDERWIRE_TEST_DOTENV_TOKEN={token}\n"),
    )
    .unwrap();
    let config_path = dir.join("orderwire.toml");
    std::fs::write(
        &config_path,
        format!(
            "[[ws_apis]]\nname = \"kraken-dotenv\"\nexchange = \"kraken\"\nendpoint = \"{}\"\ntls_ca_file = \"mock-ca.pem\"\ncredentials = {{ token = \"ORDERWIRE_TEST_DOTENV_TOKEN\" }}\nsubscriptions = [{{ channel = \"executions\" }}]\n",
            mock.url()
        ),
    )
    .unwrap();
    assert!(std::env::var("ORDERWIRE_TEST_DOTENV_TOKEN").is_err());
    let config = ServiceConfig::load(&config_path).unwrap();
    let texts: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = texts.clone();
    let callback: RequestCallback = Arc::new(move |outcome: &RequestOutcome<'_>| {
        let mut text = format!("{outcome:?}");
        outcome.write_default(&mut text).unwrap();
        sink.lock().unwrap().push(text);
    });
    let mut service = start_with(
        &config,
        StartOptions {
            on_request: Some(callback),
            ..StartOptions::default()
        },
    )
    .unwrap();
    let kraken = Registry::global()
        .get::<Exchange<Kraken>>("kraken-dotenv")
        .expect("in the global registry");
    let mut seen = Vec::new();
    let mut poll_until = |kraken: &Exchange<Kraken>, done: &dyn Fn(&[String]) -> bool| {
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while !done(&seen) && std::time::Instant::now() < until {
            kraken.poll(|event, _| seen.push(format!("{event:?}")));
            std::thread::yield_now();
        }
        seen.clone()
    };
    // The executions subscription needs the token: acknowledged, it came
    // from the .env file.
    let acked = poll_until(&kraken, &|s: &[String]| {
        s.iter()
            .any(|e| e.contains("executions") && e.contains("ok: true"))
    });
    assert!(
        acked
            .iter()
            .any(|e| e.contains("executions") && e.contains("ok: true")),
        "{acked:?}"
    );
    kraken
        .place_order(&NewOrder {
            client_order_id: inline("svc-1").unwrap(),
            symbol: inline("BTC/USD").unwrap(),
            side: Side::Buy,
            kind: OrderKind::Limit,
            price: Some("40000.0".parse().unwrap()),
            qty: "0.01".parse().unwrap(),
            time_in_force: TimeInForce::GoodTillCanceled,
            post_only: false,
        })
        .unwrap();
    let events = poll_until(&kraken, &|s: &[String]| {
        s.iter().any(|e| e.contains("OrderAck"))
    });
    assert!(events.iter().any(|e| e.contains("OrderAck")), "{events:?}");
    let _ = GatewayEvent::Market(Event::Heartbeat);
    service.shutdown(Duration::from_millis(500));
    let callbacks = texts.lock().unwrap().join("\n");
    assert!(
        callbacks.contains("add_order") && callbacks.contains(r#""token":"***""#),
        "{callbacks}"
    );
    let log_text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(log_text.contains("exchange created"), "logs were captured");
    let everything = [
        format!("{config:?}"),
        format!(
            "{:?}",
            orderwire::service::CredentialSource::new(Some(&dir.join(".env"))).unwrap()
        ),
        format!("{kraken:?}", kraken = kraken.gateway().core().lock()),
        callbacks,
        events.join("\n"),
        log_text,
    ];
    for (n, text) in everything.iter().enumerate() {
        assert!(!text.contains(&token), "the token leaked into text {n}");
    }
    assert!(
        Registry::global()
            .get::<Exchange<Kraken>>("kraken-dotenv")
            .is_none(),
        "removed at shutdown"
    );
}

/// `orderwire run --config examples/service.toml --mock` through the
/// library, for two seconds, with its metrics scraped while it runs.
#[test]
fn run_the_example_against_the_mocks_and_scrape_its_metrics() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/service.toml");
    let scraped: Arc<Mutex<String>> = Arc::default();
    let sink = scraped.clone();
    let scraper: Arc<Mutex<Option<std::thread::JoinHandle<()>>>> = Arc::default();
    let handle = scraper.clone();
    let mut out = Vec::new();
    let captures = std::env::temp_dir().join(format!("orderwire-run-{}", std::process::id()));
    std::fs::create_dir_all(&captures).unwrap();
    let report = run(
        &RunOptions {
            config: example,
            mock: true,
            mode: None,
            summary: false,
            metrics: Some("127.0.0.1:0".parse().unwrap()),
            duration: Some(Duration::from_secs(2)),
            record: Some(captures.join("run.owcap")),
            mock_options: Default::default(),
        },
        Arc::new(AtomicBool::new(false)),
        &mut out,
        move |addr| {
            let sink = sink.clone();
            // Scrapes until Kraken's subscriptions are answered and its book
            // has come, with a deadline, while the run goes on.
            *handle.lock().unwrap() = Some(std::thread::spawn(move || {
                let until = std::time::Instant::now() + Duration::from_millis(1_800);
                let ready = [
                    r#"orderwire_request_latency_seconds_count{exchange="kraken",venue="kraken",method="subscribe"} 2"#,
                    r#"orderwire_messages_total{exchange="kraken",type="book_snapshot"} 1"#,
                ];
                loop {
                    let mut body = String::new();
                    if let Ok(mut stream) = std::net::TcpStream::connect(addr) {
                        let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
                        let _ = stream.read_to_string(&mut body);
                    }
                    let done = ready.iter().all(|line| body.contains(line))
                        || std::time::Instant::now() >= until;
                    *sink.lock().unwrap() = body;
                    if done {
                        return;
                    }
                    std::thread::yield_now();
                }
            }));
        },
    )
    .unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(
        printed
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    assert!(printed.contains(r#""type":"book_snapshot""#), "{printed}");
    assert!(
        printed.contains(r#""type":"ticker""#)
            && printed.contains(r#""exchange":"binance-streams""#)
    );
    let count = |exchange: &str, kind: &str| {
        report
            .counts
            .get(&(exchange.to_owned(), kind.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(count("kraken", "book_snapshot"), 1);
    // DigiFinex authenticated (its order and balance subscriptions were
    // accepted) and its book came clean.
    assert_eq!(count("digifinex", "book_snapshot"), 1, "{printed}");
    assert!(count("digifinex", "response") >= 5, "{printed}");
    if let Some(scraper) = scraper.lock().unwrap().take() {
        scraper.join().unwrap();
    }
    let metrics = scraped.lock().unwrap().clone();
    assert!(metrics.starts_with("HTTP/1.1 200 OK"), "{metrics}");
    let line = |prefix: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
            .to_owned()
    };
    assert!(
        line(r#"orderwire_messages_total{exchange="kraken",type="book_snapshot"}"#).ends_with(" 1")
    );
    // Two subscribes and a dead-man refresh on Kraken, answered.
    assert!(line(r#"orderwire_request_latency_seconds_count{exchange="kraken",venue="kraken",method="subscribe"}"#).ends_with(" 2"));
    assert!(line(r#"orderwire_request_latency_seconds_bucket{le="10.0",exchange="kraken",venue="kraken",method="subscribe"}"#).ends_with(" 2"));
    assert!(line(r#"orderwire_request_latency_seconds_bucket{le="+Inf",exchange="kraken",venue="kraken",method="subscribe"}"#).ends_with(" 2"));
    assert!(line(r#"orderwire_orders{exchange="kraken",state="new"}"#).ends_with(" 0"));
    assert!(line(r#"orderwire_reconnects_total{exchange="binance-streams"}"#).ends_with(" 0"));
    assert!(
        line(r#"orderwire_subscription_alarms_total{exchange="kraken",channel="book"}"#)
            .ends_with(" 0")
    );
    for name in [
        "orderwire_reconnects",
        "orderwire_rate_limit_waits",
        "orderwire_subscription_alarms",
        "orderwire_request_timeouts",
    ] {
        assert!(
            metrics.contains(&format!("# TYPE {name} counter")),
            "{name} in\n{metrics}"
        );
    }
    // `--record`: each exchange's session replays with every outbound
    // frame identical and prints what the run printed for it.
    let kraken = std::fs::read(captures.join("run.kraken.owcap")).unwrap();
    let mut replayed = Vec::new();
    let summary = orderwire::replay::run(
        &orderwire::venues::Venues::builtin(),
        &[("run.kraken.owcap".to_owned(), kraken)],
        orderwire::replay::ReplayOptions {
            check: true,
            speed: orderwire::replay::Speed::Max,
            print: true,
            progress: false,
        },
        &mut replayed,
    )
    .unwrap();
    assert!(summary.frames_checked >= 3, "{summary:?}");
    let live: Vec<&str> = printed
        .lines()
        .filter(|l| l.contains(r#""exchange":"kraken""#))
        .collect();
    let replayed = String::from_utf8(replayed).unwrap();
    let replayed: Vec<&str> = replayed.lines().collect();
    // The run stops printing before the shutdown's `cancel_on_shutdown`
    // is answered; the core took the answer in, so the replay has it too.
    assert_eq!(replayed[..live.len()], live[..]);
    assert!(
        replayed[live.len()..]
            .iter()
            .all(|l| l.contains("CancelAll") || l.contains("cancel_all")),
        "{:?}",
        &replayed[live.len()..]
    );
    let files = std::fs::read_dir(&captures).unwrap().count();
    assert!(files >= 4, "one capture per exchange: {files}");
    let _ = std::fs::remove_dir_all(&captures);
}

/// The binary itself, for a bounded time: exit 0 and JSON lines.
#[test]
fn the_run_command_exits_cleanly_after_its_duration() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/service.toml");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_orderwire"))
        .args(["run", "--config"])
        .arg(&example)
        .args([
            "--mock",
            "--duration",
            "1.5",
            "--log-json",
            "--log-level",
            "info",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains(r#""type":"book_snapshot""#), "{stdout}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{stderr}"
    );
    assert!(stderr.contains("shutting down"));
}

/// Ctrl-C (SIGINT) stops `orderwire run` cleanly: the shutdown runs (the
/// cancels the config asks for, the close handshakes) and it exits 0.
#[test]
fn the_run_command_shuts_down_cleanly_on_ctrl_c() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/service.toml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orderwire"))
        .args(["run", "--config"])
        .arg(&example)
        .args(["--mock", "--summary", "--log-level", "info"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first summary line: the service is up.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.contains("kraken:"), "{first}");
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert!(
        stderr.contains("open orders canceled on shutdown"),
        "{stderr}"
    );
    assert!(
        stderr.contains("closed"),
        "the close handshakes ran: {stderr}"
    );
    // The closes the shutdown asked for are routine: INFO, never WARN.
    assert!(
        stderr.contains("disconnected as asked"),
        "the shutdown's closes are logged: {stderr}"
    );
    assert!(
        !stderr.lines().any(|l| l.contains("WARN")),
        "a clean shutdown logs nothing at WARN: {stderr}"
    );
}

/// A value where a variable name belongs (a secret pasted in by mistake) is
/// refused without being printed back.
#[test]
fn a_secret_pasted_as_a_variable_name_is_refused_and_not_echoed() {
    let text = "[[ws_apis]]\nname = \"k\"\nexchange = \"kraken\"\ncredentials = { token = \"G38a1tGFzq/GiUCmne+Bcm8d4n\" }\n";
    let error = parse(text).unwrap_err();
    let shown = error.to_string();
    assert!(
        shown.contains("not an environment variable name"),
        "{shown}"
    );
    assert!(!shown.contains("G38a1tGFzq"), "{shown}");
    assert_eq!(error.field.as_deref(), Some("ws_apis[0].credentials.token"));
}

/// A bad endpoint's error shows neither user information nor a query.
#[test]
fn a_bad_urls_error_hides_userinfo_and_query() {
    let text = "[[ws_apis]]\nname = \"s\"\nexchange = \"binance_streams\"\nendpoint = \"https://user:hunter2@example.com/ws?listenKey=abc123\"\n";
    let config = parse(text).unwrap();
    let shown = start(&config).err().unwrap().to_string();
    assert!(shown.contains("https://example.com/ws"), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("abc123"),
        "{shown}"
    );
}

/// `[engine] mode = "inline"` (here the CLI's override): every exchange of
/// the example runs on the thread that polls the service, registered as
/// `Mutex<InlineExchange<V>>`; the mocks' books and tickers arrive, an
/// order is placed and acknowledged, and the shutdown closes cleanly.
#[test]
fn the_example_runs_inline_on_the_polling_thread() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/service.toml");
    let config = ServiceConfig::load(&example).unwrap();
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let mut service = start_with(
        &config,
        StartOptions {
            mock: true,
            registry: Some(registry),
            mode: Some(Mode::Inline),
            ..StartOptions::default()
        },
    )
    .unwrap();
    assert!(service.exchanges().all(|e| e.mode() == Mode::Inline));
    assert!(
        registry
            .get::<parking_lot::Mutex<InlineExchange<Kraken>>>("kraken")
            .is_some()
    );
    assert!(registry.get::<Exchange<Kraken>>("kraken").is_none());
    /// (exchange, event as Debug text).
    type Seen = [(String, String)];
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut poll_until = |service: &orderwire::service::Service, done: &dyn Fn(&Seen) -> bool| {
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while !done(&seen) {
            for exchange in service.exchanges() {
                let name = exchange.name().to_owned();
                exchange.poll(|event, _| seen.push((name.clone(), format!("{event:?}"))));
            }
            assert!(std::time::Instant::now() < until, "gave up: {seen:#?}");
        }
    };
    poll_until(&service, &|seen| {
        let has = |exchange: &str, text: &str| {
            seen.iter()
                .any(|(name, event)| name == exchange && event.contains(text))
        };
        has(
            "kraken",
            "Market(Book(BookEvent { symbol: \"BTC/USD\", snapshot: true",
        ) && has("binance-streams", "Market(Ticker(")
            && has("digifinex", "Market(Book(")
    });
    let kraken = service
        .exchanges()
        .find(|e| e.name() == "kraken")
        .unwrap()
        .clone();
    let order = NewOrder {
        client_order_id: inline("inline-svc-1").unwrap(),
        symbol: inline("BTC/USD").unwrap(),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some("20000".parse().unwrap()),
        qty: "0.01".parse().unwrap(),
        time_in_force: TimeInForce::GoodTillCanceled,
        post_only: false,
    };
    kraken
        .submit(orderwire_protocol::model::Request::Place(&order))
        .unwrap();
    poll_until(&service, &|seen| {
        seen.iter().any(|(name, event)| {
            name == "kraken" && event.contains("inline-svc-1") && event.contains("status: New")
        })
    });
    service.shutdown(Duration::from_secs(1));
    assert!(
        registry
            .get::<parking_lot::Mutex<InlineExchange<Kraken>>>("kraken")
            .is_none()
    );
}

#[test]
fn a_credential_the_venue_does_not_take_is_refused_with_the_ones_it_does() {
    let text = "[[ws_apis]]\nname = \"a\"\nexchange = \"kraken\"\ncredentials = { tokn = \"KRAKEN_WS_TOKEN\" }\n";
    let config = parse(text).unwrap();
    let Err(ServiceError::Config(error)) = start(&config) else {
        panic!("started, or failed for another reason")
    };
    assert_eq!(error.line.map(|l| l.0), Some(4));
    assert_eq!(error.field.as_deref(), Some("ws_apis[0].credentials.tokn"));
    assert!(
        error
            .to_string()
            .contains("kraken takes no credential `tokn` (it takes: api_key, api_secret, token)"),
        "{error}"
    );
}

/// Kraken from an API key and secret: the service fetches the WebSocket
/// token itself, from the mock's REST endpoint on mocks; half a pair is
/// refused by name.
#[test]
fn kraken_takes_an_api_key_and_secret_and_fetches_its_token() {
    let half = "[[ws_apis]]\nname = \"k\"\nexchange = \"kraken\"\nendpoint = \"production\"\ncredentials = { api_key = \"ORDERWIRE_TEST_UNSET_5\" }\n";
    let error = start(&parse(half).unwrap()).err().unwrap().to_string();
    assert!(error.contains("ORDERWIRE_TEST_UNSET_5"), "{error}");
    let text = "[[ws_apis]]\nname = \"kraken-keys\"\nexchange = \"kraken\"\nendpoint = \"production\"\ncredentials = { api_key = \"KRAKEN_API_KEY\", api_secret = \"KRAKEN_API_SECRET\" }\nsubscriptions = [{ channel = \"executions\" }]\n";
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let service = start_with(
        &parse(text).unwrap(),
        StartOptions {
            mock: true,
            registry: Some(registry),
            ..StartOptions::default()
        },
    );
    assert!(
        service.is_ok(),
        "the token came from the mock's GetWebSocketsToken: {:?}",
        service.err().map(|e| e.to_string())
    );
}

/// `capture = "..."` in an exchange's section: its sessions are recorded
/// (relative to the config file, `{name}` replaced), and the file replays
/// with every outbound frame identical.
#[test]
fn an_exchange_with_capture_set_records_its_session() {
    let dir = std::env::temp_dir().join(format!("orderwire-capture-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = "[[ws_apis]]\nname = \"kraken-captured\"\nexchange = \"kraken\"\nendpoint = \"production\"\ncapture = \"{name}.owcap\"\ncapture_rotate_mib = 64\ncapture_rotate_s = 3600\nsubscriptions = [{ channel = \"book\", symbols = [\"BTC/USD\"] }]\n";
    let mut config = parse(text).unwrap();
    config.path = dir.join("orderwire.toml");
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let mut service = start_with(
        &config,
        StartOptions {
            mock: true,
            registry: Some(registry),
            ..StartOptions::default()
        },
    )
    .unwrap();
    let exchange = service.exchanges().next().unwrap().clone();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let mut snapshot = false;
    while !snapshot && std::time::Instant::now() < until {
        exchange.poll(|event, _| {
            snapshot |= matches!(event, GatewayEvent::Market(Event::Book(b)) if b.snapshot);
        });
        std::thread::yield_now();
    }
    assert!(snapshot, "the book came");
    service.shutdown(Duration::from_millis(500));
    let path = dir.join("kraken-captured.owcap");
    let bytes = std::fs::read(&path).unwrap();
    let capture = orderwire_protocol::capture::read_all(&bytes).unwrap();
    assert_eq!(capture.error, None);
    assert!(capture.trailer.is_some(), "ended with a trailer");
    let summary = orderwire::replay::run(
        &orderwire::venues::Venues::builtin(),
        &[("kraken-captured.owcap".to_owned(), bytes)],
        orderwire::replay::ReplayOptions {
            check: true,
            speed: orderwire::replay::Speed::Max,
            print: false,
            progress: false,
        },
        &mut Vec::new(),
    )
    .unwrap();
    assert!(summary.frames_checked >= 1, "{summary:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
