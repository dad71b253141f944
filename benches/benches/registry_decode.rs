//! ns per public trade message, for every codec in the protocol's venue
//! registry (`protocol::venue::registry::CODECS`): each codec's full decode
//! into normalised events (exact decimals, ids, the venue's time) beside
//! serde_json validating the same bytes into `IgnoredAny`, the floor any
//! JSON decoder pays before it builds anything. A venue added to the
//! registry is measured here without a bench of its own; its own bench
//! (`<venue>_decode`) compares it with a peer doing the same work.
//!
//! After criterion's run it prints each median and the ratio (the floor
//! over orderwire: below 1 means orderwire's whole decode costs more than
//! serde_json's validation alone).
#![forbid(unsafe_code)]

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use orderwire_protocol::model::Events;
use orderwire_protocol::venue::Offline;
use orderwire_protocol::venue::registry::CODECS;
use serde::de::IgnoredAny;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("registry_decode");
    let mut buffer = Vec::with_capacity(4096);
    let mut events = Events::default();
    for entry in CODECS {
        let (kind, text) = entry.sample;
        let mut codec = (entry.offline)(10);
        let mut offline = Offline::new(0);
        // The sample decodes into events before it is timed.
        buffer.clear();
        events.clear();
        buffer.extend_from_slice(text.as_bytes());
        offline
            .decode(&mut *codec, kind, &mut buffer, &mut events)
            .expect("the registry's sample decodes");
        assert!(!events.list.is_empty(), "{}", entry.name);
        group.bench_function(format!("{}/orderwire", entry.name), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(text.as_bytes());
                events.clear();
                offline
                    .decode(&mut *codec, kind, &mut buffer, &mut events)
                    .expect("decodes");
                black_box(&events);
            })
        });
        // KIS's data is caret-separated text, not JSON: no JSON floor.
        if serde_json::from_slice::<IgnoredAny>(text.as_bytes()).is_err() {
            continue;
        }
        group.bench_function(format!("{}/serde_json_ignored_any", entry.name), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(text.as_bytes());
                let parsed: IgnoredAny = serde_json::from_slice(&buffer).expect("JSON");
                black_box(parsed);
            })
        });
        group.bench_function(format!("{}/sonic_rs_ignored_any", entry.name), |b| {
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(text.as_bytes());
                let parsed: IgnoredAny = sonic_rs::from_slice(&buffer).expect("JSON");
                black_box(parsed);
            })
        });
    }
    group.finish();
    let names: Vec<&str> = CODECS.iter().map(|c| c.name).collect();
    for name in names {
        if let (Some(ours), Some(floor)) = (
            orderwire_benches::criterion_median_ns("registry_decode", name, "orderwire"),
            orderwire_benches::criterion_median_ns(
                "registry_decode",
                name,
                "serde_json_ignored_any",
            ),
        ) {
            println!(
                "registry_decode {name}: orderwire {ours:.0} ns (whole decode), serde_json IgnoredAny {floor:.0} ns (validation only), ratio {:.2}x",
                floor / ours
            );
        }
        if let (Some(ours), Some(floor)) = (
            orderwire_benches::criterion_median_ns("registry_decode", name, "orderwire"),
            orderwire_benches::criterion_median_ns("registry_decode", name, "sonic_rs_ignored_any"),
        ) {
            println!(
                "registry_decode {name}: orderwire {ours:.0} ns (whole decode), sonic-rs IgnoredAny {floor:.0} ns (validation only), ratio {:.2}x",
                floor / ours
            );
        }
    }
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
