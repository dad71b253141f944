//! Decoding Upbit's steady-state messages allocates nothing: trades in both
//! formats, a 15-level whole book, ticker, myOrder with its fill, myAsset,
//! the UP heartbeat and a JSON_LIST frame, 2,000 times after a warm-up, into
//! a reused `Events`, from binary frames as Upbit sends them.

use orderwire_protocol::model::Events;
use orderwire_protocol::venue::upbit::Upbit;
use orderwire_protocol::venue::{FrameKind, Offline};
use orderwire_testkit::alloc::{Counting, this_thread_allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_upbit_messages_allocate_nothing() {
    let units: Vec<String> = (0..15)
        .map(|i| {
            format!(
                r#"{{"ask_price":{},"bid_price":{},"ask_size":0.1,"bid_size":0.2}}"#,
                137_002_000 + i,
                137_001_000 - i
            )
        })
        .collect();
    let book = format!(
        r#"{{"type":"orderbook","code":"KRW-BTC","timestamp":1746601573804,"orderbook_units":[{}],"stream_type":"REALTIME","level":0}}"#,
        units.join(",")
    );
    let trade = r#"{"ty":"trade","cd":"KRW-BTC","tms":1730336862082,"ttms":1730336862047,"tp":100473000.00000000,"tv":0.00014208,"ab":"BID","sid":17303368620470000,"st":"REALTIME"}"#;
    let messages: Vec<Vec<u8>> = [
        trade.to_owned(),
        trade.replace("\"ty\"", "\"type\"").replace("\"cd\"", "\"code\""),
        book,
        r#"{"ty":"ticker","cd":"KRW-BTC","tp":100473000.0,"atv24h":2400.25,"tms":1730336862082,"st":"REALTIME"}"#.to_owned(),
        r#"{"type":"myOrder","code":"KRW-BTC","uuid":"ac2dc2a3-fce9-40a2-a4f6-5987c25c438f","ask_bid":"BID","state":"trade","trade_uuid":"68315169-fba4-4175-ade3-aff14a616657","price":0.001453,"volume":3.5,"remaining_volume":0,"executed_volume":3.5,"trade_fee":0.1,"is_maker":true,"identifier":"cl-1","trade_timestamp":1710751590421,"timestamp":1710751597500,"stream_type":"REALTIME"}"#.to_owned(),
        r#"{"type":"myAsset","asset_uuid":"e635","assets":[{"currency":"KRW","balance":1386929.3723,"locked":10329.67}],"asset_timestamp":1,"timestamp":2,"stream_type":"REALTIME"}"#.to_owned(),
        r#"{"status":"UP"}"#.to_owned(),
        format!("[{trade},{trade},{trade}]"),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let mut codec = Upbit::public();
    let mut offline = Offline::new(0);
    let mut events = Events::default();
    let mut buffer = Vec::with_capacity(4096);
    let mut run = |rounds: usize| {
        for _ in 0..rounds {
            for message in &messages {
                buffer.clear();
                buffer.extend_from_slice(message);
                events.clear();
                offline
                    .decode(&mut codec, FrameKind::Binary, &mut buffer, &mut events)
                    .expect("decodes");
                assert!(!events.list.is_empty());
            }
        }
    };
    run(100);
    let before = this_thread_allocations();
    run(2_000);
    assert_eq!(this_thread_allocations() - before, 0);
}
