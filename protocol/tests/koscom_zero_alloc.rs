//! Decoding Koscom's pushes allocates nothing: a tick push, a quote10
//! push and a whole-market array, 2,000 times after a warm-up. (Responses
//! and errors carry text: once per request, not the data path.)

use orderwire_protocol::model::Events;
use orderwire_protocol::venue::koscom::Koscom;
use orderwire_protocol::venue::{FrameKind, Offline};
use orderwire_testkit::alloc::{Counting, this_thread_allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_koscom_pushes_allocate_nothing() {
    let mut steps = String::new();
    for n in 1..=10 {
        steps.push_str(&format!(
            r#","askStep{n}BstordPrc":{},"askStep{n}BstordRqty":{},"bidStep{n}BstordPrc":{},"bidStep{n}BstordRqty":{}"#,
            2_465_000 + 1000 * n,
            100 + n,
            2_464_000 - 1000 * n,
            200 + n
        ));
    }
    let frames = [
        r#"{"jsonrpc":"2.0","method":"push","params":{"preset":"tick","isuSrtCd":"005930","trdPrc":2465000,"trdvol":2,"accTrdvol":251916,"accTrdval":627899637000,"trdTm":14412000}}"#.to_owned(),
        format!(r#"{{"jsonrpc":"2.0","method":"push","params":{{"preset":"quote10","isuSrtCd":"005930"{steps}}}}}"#),
        r#"[{"isuSrtCd":"000210","trdPrc":"81000","trdVol":"5","trdTm":"14340400"},{"isuSrtCd":"005930","trdPrc":"73100","trdVol":"12","trdTm":"14340401"}]"#.to_owned(),
    ];
    let mut codec = Koscom::offline();
    let mut offline = Offline::new(0);
    offline.wall_ns = (19_634 * 86_400 + 3 * 3600) * 1_000_000_000;
    let mut events = Events::default();
    let mut buffer = Vec::with_capacity(4096);
    let mut run = |rounds: usize| {
        for _ in 0..rounds {
            for frame in &frames {
                buffer.clear();
                buffer.extend_from_slice(frame.as_bytes());
                events.clear();
                offline
                    .decode(&mut codec, FrameKind::Text, &mut buffer, &mut events)
                    .expect("decodes");
                assert!(!events.list.is_empty());
            }
        }
    };
    run(10);
    let before = this_thread_allocations();
    run(2_000);
    assert_eq!(
        this_thread_allocations() - before,
        0,
        "allocations in steady state"
    );
}
