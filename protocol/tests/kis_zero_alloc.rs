//! Decoding KIS's data allocates nothing: a 4-record H0STCNT0 message and
//! a 10-level H0STASP0 quote, 2,000 times after a warm-up. (Acks carry
//! their text as a `String` in `Event::Response`: once per subscription,
//! not the data path.)

use orderwire_protocol::model::Events;
use orderwire_protocol::venue::kis::Kis;
use orderwire_protocol::venue::{FrameKind, Offline};
use orderwire_testkit::alloc::{Counting, this_thread_allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn record(width: usize, set: &[(usize, &str)]) -> String {
    let mut fields = vec!["0"; width];
    for (index, value) in set {
        fields[*index] = value;
    }
    fields.join("^")
}

#[test]
fn steady_state_kis_records_allocate_nothing() {
    let trade = record(
        46,
        &[
            (0, "005930"),
            (1, "123929"),
            (2, "73100"),
            (12, "5"),
            (13, "10329475"),
            (21, "1"),
            (33, "20231004"),
        ],
    );
    let trades = format!("0|H0STCNT0|004|{trade}^{trade}^{trade}^{trade}");
    let mut quote_fields: Vec<(usize, String)> = vec![(0, "005930".into()), (1, "093015".into())];
    for i in 0..10 {
        quote_fields.push((3 + i, (73_100 + 100 * i).to_string()));
        quote_fields.push((13 + i, (73_000 - 100 * i).to_string()));
        quote_fields.push((23 + i, "100".into()));
        quote_fields.push((33 + i, "200".into()));
    }
    let set: Vec<(usize, &str)> = quote_fields.iter().map(|(i, v)| (*i, v.as_str())).collect();
    let quote = format!("0|H0STASP0|001|{}", record(59, &set));
    let frames = [trades.into_bytes(), quote.into_bytes()];
    let mut codec = Kis::offline();
    let mut offline = Offline::new(0);
    let mut events = Events::default();
    let mut buffer = Vec::with_capacity(8192);
    let mut run = |rounds: usize| {
        for _ in 0..rounds {
            for frame in &frames {
                buffer.clear();
                buffer.extend_from_slice(frame);
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
