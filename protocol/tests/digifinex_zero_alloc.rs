//! Decoding DigiFinex's data allocates nothing: a zlib depth update of 20
//! levels and a zlib trades push, 2,000 times after a warm-up, through the
//! one reused inflater. (A reply to a request carries its text as a
//! `String` in `Event::Response`: a ping every 30 s, not the data path.)

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use orderwire_protocol::model::Events;
use orderwire_protocol::venue::digifinex::DigiFinex;
use orderwire_protocol::venue::{FrameKind, Offline};
use orderwire_testkit::alloc::{Counting, this_thread_allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn zlib(text: &str) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn steady_state_digifinex_messages_allocate_nothing() {
    let levels = |base: u32| -> String {
        (0..10)
            .map(|i| format!(r#"["{}.00","{}.{:04}"]"#, base + i, i + 1, i))
            .collect::<Vec<_>>()
            .join(",")
    };
    let depth = format!(
        r#"{{"method":"depth.update","params":[true,{{"asks":[{}],"bids":[{}]}},"BTC_USDT"],"id":null}}"#,
        levels(8000),
        levels(7000)
    );
    let trades = r#"{"method":"trades.update","params":[false,[{"id":7172173,"time":1523339279.761838,"price":"398.59","amount":"0.027","type":"buy"},{"id":7172174,"time":1523339279.9,"price":"398.60","amount":"0.5","type":"sell"}],"BTC_USDT"],"id":null}"#;
    let delta = r#"{"method":"depth.update","params":[false,{"asks":[["8000.00","0"],["8000.50","1.25"]],"bids":[["7009.00","0.5"]]},"BTC_USDT"],"id":null}"#;
    let ticker = r#"{"method":"ticker.update","params":[{"symbol":"BTC_USDT","open_24h":"1760","low_24h":"1.00","base_volume_24h":"11.40088557","quote_volume_24h":"29786.30588557","last":"4000","last_qty":"1","best_bid":"3375","best_bid_size":"0.003","best_ask":"4000","best_ask_size":"108.2542","timestamp":1586762545336}],"id":null}"#;
    let frames: Vec<(FrameKind, Vec<u8>)> = vec![
        (FrameKind::Binary, zlib(&depth)),
        (FrameKind::Binary, zlib(trades)),
        (FrameKind::Binary, zlib(delta)),
        (FrameKind::Binary, zlib(ticker)),
    ];
    let mut codec = DigiFinex::public();
    let mut offline = Offline::new(0);
    let mut events = Events::default();
    let mut buffer = Vec::with_capacity(4096);
    let mut run = |rounds: usize| {
        for _ in 0..rounds {
            for (kind, frame) in &frames {
                buffer.clear();
                buffer.extend_from_slice(frame);
                events.clear();
                offline
                    .decode(&mut codec, *kind, &mut buffer, &mut events)
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
