//! `orderwire decode` over a session of every kraken.md example, with bad
//! lines mixed in.

use std::process::Command;

const SESSION: &str = include_str!("fixtures/kraken_session.txt");

fn decode(input: &str) -> (Vec<serde_json::Value>, usize, usize) {
    let mut output = Vec::new();
    let (lines, errors) = orderwire::decode::run(
        &orderwire::venues::kraken::KRAKEN,
        10,
        &mut input.as_bytes(),
        &mut output,
    )
    .unwrap();
    let events = String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (events, lines, errors)
}

#[test]
fn every_documented_message_decodes_and_bad_lines_become_error_events() {
    let (events, lines, errors) = decode(SESSION);
    assert_eq!(lines, 21);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "book_snapshot",
            "book_delta",
            "response",
            "heartbeat",
            "response",
            "response",
            "order_update",
            "order_update",
            "fill",
            "order_update",
            "order_ack",
            "order_reject",
            "order_ack",
            "order_ack",
            "response",
            "response",
            "order_ack",
            "order_ack",
            "trade",
            "error",
            "book_delta",
            "error",
            "heartbeat",
            "error",
        ]
    );
    assert_eq!(
        errors, 3,
        "a non-JSON line, a checksum mismatch, bad base64"
    );
    assert!(events.iter().all(|e| e["venue"] == "kraken"));
    // Exact decimals as strings, times as integers.
    assert_eq!(
        events[0]["bids"][0],
        serde_json::json!(["45283.5", "0.10000000"])
    );
    assert_eq!(events[0]["checksum"], 3310070434u64);
    // A fill carries the venue's trade id and the execution id apart.
    assert_eq!(events[8]["trade_id"], "62887576");
    assert_eq!(events[8]["exec_id"], "TGBB7L-HT5LX-J3BZ4A");
    assert_eq!(events[0]["ts"], 1_696_613_755_440_295_000i64);
    // The first update's checksum matches the book after the delete, so no
    // error follows it; the later one is wrong and is reported.
    assert_eq!(events[1]["type"], "book_delta");
    assert!(
        events[21]["message"]
            .as_str()
            .unwrap()
            .contains("checksum mismatch")
    );
    // The partial update merged the earlier fields of the order.
    assert_eq!(events[7]["symbol"], "BTC/USD");
    assert_eq!(events[7]["status"], "new");
    assert_eq!(events[8]["price"], "26599.9");
    assert_eq!(events[8]["fee"], "0.3458");
    assert_eq!(events[8]["liquidity"], "taker");
    assert_eq!(events[11]["code"], "EOrder");
}

#[test]
fn the_command_line_fails_only_on_io_errors() {
    let binary = env!("CARGO_BIN_EXE_orderwire");
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kraken_session.txt");
    let output = Command::new(binary)
        .args(["decode", "--venue", "kraken"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().lines().count(),
        24
    );
    let missing = Command::new(binary)
        .args(["decode", "--venue", "kraken", "/nonexistent/capture.txt"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8(missing.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

const BINANCE_SESSION: &str = include_str!("fixtures/binance_session.txt");

#[test]
fn a_binance_capture_of_api_and_streams_decodes_with_books_per_symbol() {
    let mut output = Vec::new();
    let (lines, errors) = orderwire::decode::run(
        &orderwire::venues::binance::BINANCE,
        1000,
        &mut BINANCE_SESSION.as_bytes(),
        &mut output,
    )
    .unwrap();
    let events: Vec<serde_json::Value> = String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines, 19);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "response", // SUBSCRIBE
            "trade",
            "book_delta",    // 157..160 (no snapshot yet: the book starts here)
            "book_snapshot", // the depth reply resyncs it at 161
            "response",      // ... and answers request 7
            "book_delta",    // 161..163 applies
            "error",         // 170: a gap
            "book_delta",    // ... and the book goes on from it
            "ticker",        // bookTicker
            "response",      // session.logon
            "order_reject",  // -2010
            "order_ack",     // ACK
            "order_ack",     // FULL: the ack,
            "order_update",  // its state,
            "fill",          // and its fill
            "order_reject",  // cancel-replace: the cancel failed
            "order_reject",  // ... and the new order was not attempted
            "order_reject",  // -2015
            "response",      // serverShutdown
            "order_update",  // executionReport
            "fill",
            "order_reject", // 429
            "response",     // ping
            "error",        // not JSON
            "error",        // a depthUpdate without U and u
        ]
    );
    assert_eq!(errors, 3);
    assert!(events.iter().all(|e| e["venue"] == "binance"));
    let snapshot = &events[3];
    assert_eq!(
        snapshot["symbol"], "BNBBTC",
        "the only book takes the depth reply"
    );
    assert_eq!(snapshot["sequence"], 161);
    assert_eq!(snapshot["bids"][0], serde_json::json!(["0.0024", "8"]));
    assert!(
        events[6]["message"]
            .as_str()
            .unwrap()
            .contains("expected 164, got 170")
    );
    let reject = &events[10];
    assert_eq!(
        (reject["code"].as_str(), reject["message"].as_str()),
        (
            Some("-2010"),
            Some("Account has insufficient balance for requested action.")
        )
    );
    assert_eq!(events[14]["trade_id"], "1650422481");
    assert_eq!(events[14]["price"], "23416.10000000");
}

#[test]
fn the_binance_decoder_runs_from_the_command_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_orderwire"))
        .args([
            "decode",
            "--venue",
            "binance",
            "tests/fixtures/binance_session.txt",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().lines().count(),
        25
    );
}

const DIGIFINEX_SESSION: &str = include_str!("fixtures/digifinex_session.txt");

/// digifinex.md's examples as a capture: text replies, and pushes as `b64:`
/// lines of their zlib (one raw deflate), with a truncated frame, a
/// refused auth and a delta for a book that never had a clean snapshot.
#[test]
fn a_digifinex_capture_of_text_and_zlib_frames_decodes() {
    let mut output = Vec::new();
    let (lines, errors) = orderwire::decode::run(
        &orderwire::venues::digifinex::DIGIFINEX,
        30,
        &mut DIGIFINEX_SESSION.as_bytes(),
        &mut output,
    )
    .unwrap();
    let events: Vec<serde_json::Value> = String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!((lines, errors), (12, 1));
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "response", // pong
            "response", // subscribe ack
            "trade",
            "book_snapshot", // clean
            "book_delta",    // incremental, "0" deletes
            "ticker",        // raw deflate
            "ticker",        // all_ticker
            "fill",          // derived from the cumulative `filled`
            "order_update",
            "balance",
            "error", // truncated zlib
            "response", // refused
                     // the BTC_USDT delta with no clean snapshot: held back
        ]
    );
    assert_eq!(events[2]["ts"], 1_523_339_279_761_838_000i64, "exact ns");
    assert_eq!(events[2]["side"], "buy");
    assert_eq!(events[4]["asks"][0], serde_json::json!(["8000.00", "0"]));
    assert_eq!(events[7]["derived"], true);
    assert_eq!(events[7]["qty"], "0.9969");
    assert_eq!(events[8]["status"], "filled");
    assert_eq!(events[8]["filled_qty"], "0.9969");
    assert_eq!(events[8]["avg_price"], "9700");
    assert_eq!(
        events[8]["price"],
        serde_json::Value::Null,
        "a market order"
    );
    assert_eq!(events[9]["free"], "99944652.8478545303601106");
    assert!(
        events[10]["message"]
            .as_str()
            .unwrap()
            .contains("truncated")
    );
    assert_eq!(events[11]["ok"], false);

    let binary = env!("CARGO_BIN_EXE_orderwire");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/digifinex_session.txt");
    let output = Command::new(binary)
        .args(["decode", "--venue", "digifinex"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().lines().count(),
        12
    );
}

#[test]
fn kis_captures_decode_and_a_notice_decrypts_after_its_ack() {
    let ack = r#"{"header":{"tr_id":"H0STCNI0","tr_key":"u","encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS","output":{"iv":"d59d91fcf9fd0044","key":"iuheqrmvfxoceaxeyqgjwesozgizmmgx"}}}"#;
    // Encrypted by Python's cryptography under that key and iv.
    let notice = include_str!("../../fuzz/corpus/kis_decode/notice_fill");
    let trade = include_str!("../../fuzz/corpus/kis_decode/trade_four");
    let ping = r#"{"header":{"tr_id":"PINGPONG","datetime":"20231004160455"}}"#;
    let decode = |input: String| {
        let mut output = Vec::new();
        let counts = orderwire::decode::run(
            &orderwire::venues::kis::KIS,
            10,
            &mut input.as_bytes(),
            &mut output,
        )
        .unwrap();
        let types: Vec<String> = String::from_utf8(output)
            .unwrap()
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value["type"].as_str().unwrap().to_owned()
            })
            .collect();
        (counts, types)
    };
    // Before its ack, a notice cannot be read: an error line, and on.
    let ((lines, errors), types) = decode(format!("{notice}\n{trade}\n"));
    assert_eq!((lines, errors), (2, 1));
    assert_eq!(types, ["error", "trade", "trade", "trade", "trade"]);
    let ((lines, errors), types) = decode(format!("{ack}\n{notice}\n{ping}\n"));
    assert_eq!((lines, errors), (3, 0));
    assert_eq!(types, ["response", "order_update", "fill", "heartbeat"]);
}

#[test]
fn koscom_captures_decode_in_strict_and_the_services_own_form() {
    let capture = [
        r#"{"jsonrpc":"2.0","id":1,"result":{"message":"ok"}}"#,
        r#"{"jsonrpc":"2.0","method":"push","params":{"preset":"tick","isuSrtCd":"005930","trdPrc":2465000,"trdvol":2,"accTrdvol":251916,"trdTm":14412000}}"#,
        r#"{"jsonrpc" : "2.0", "method" : "push", "params" : {"preset" : "tick", "isuSrtCd" : 005930, "trdPrc" : 1310000, "trdvol" : 86, "trdTm" : 09450155}}"#,
        r#"{"jsonrpc" : "2.0" "error" : {"message" : "x", "code" : 47}}"#,
        r#"[{"isuSrtCd":"000210","trdPrc":"81000","trdVol":"5","trdTm":"14340400"}]"#,
    ]
    .join("\n");
    let mut output = Vec::new();
    let (lines, errors) = orderwire::decode::run(
        &orderwire::venues::koscom::KOSCOM,
        10,
        &mut capture.as_bytes(),
        &mut output,
    )
    .unwrap();
    assert_eq!(
        (lines, errors),
        (5, 1),
        "the missing comma is an error line"
    );
    let types: Vec<String> = String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(types, ["response", "trade", "trade", "error", "trade"]);
}
