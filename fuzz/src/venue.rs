//! Fuzz harnesses for the venue codecs and exact decimals, shared by the
//! cargo-fuzz targets and the corpus replay test.

use orderwire_protocol::model::{Event, Events, write_event_json};
use orderwire_protocol::num::Decimal;
use orderwire_protocol::venue::kraken::Kraken;
use orderwire_protocol::venue::{FrameKind, Offline};

/// Decodes the input as a sequence of Kraken messages (split on newlines,
/// so books and order state carry across them), and prints every event:
/// nothing may panic, and every event must render as valid JSON text.
pub(crate) fn kraken_decode(data: &[u8]) {
    let mut codec = Kraken::public();
    let mut offline = Offline::new(0);
    let mut events = Events::default();
    let mut out = Vec::new();
    for line in data.split(|b| *b == b'\n') {
        let mut message = line.to_vec();
        events.clear();
        let _ = offline.decode(&mut codec, FrameKind::Text, &mut message, &mut events);
        for event in &events.list {
            assert_indexes_hold(event, &events);
            out.clear();
            write_event_json("kraken", event, &events, &mut out);
            assert!(std::str::from_utf8(&out).is_ok() || std::str::from_utf8(line).is_err());
        }
    }
}

/// Parses the input as a decimal; a decimal that parses must print back to
/// text that parses to the same value.
pub(crate) fn decimal(data: &[u8]) {
    if let Ok(value) = Decimal::parse(data) {
        let text = value.to_string();
        let again: Decimal = text.parse().expect("a decimal's own text parses");
        assert_eq!(again, value);
        let mut written = Vec::new();
        value.write_to(&mut written);
        assert_eq!(written, text.as_bytes());
    }
}

/// Decodes each line as a Binance stream message; depth updates go through
/// a `DepthSync` that gets an empty snapshot whenever it asks for one.
pub(crate) fn binance_stream(data: &[u8]) {
    use orderwire_protocol::venue::binance::{DepthSync, StreamMessage, SyncAction, decode_stream};
    let mut sync = DepthSync::new(100);
    let mut events = Events::default();
    for line in data.split(|b| *b == b'\n') {
        events.clear();
        if let Ok(StreamMessage::Depth(update)) = decode_stream(line, &mut events) {
            let at = update.first_id.saturating_sub(1);
            if sync.on_update(update, &mut events) == SyncAction::NeedSnapshot {
                let _ = sync.on_snapshot(at, &[], &[], &mut events);
            }
        }
        // The book never grows past its depth.
        assert!(sync.book().bids().len() <= 100 && sync.book().asks().len() <= 100);
    }
}

/// Decodes each line with the Binance codec as `orderwire decode` does
/// (WebSocket API replies, pushed events and market streams, books per
/// symbol), after a few requests so that replies find their methods; every
/// event must render as JSON text.
pub(crate) fn binance_api(data: &[u8]) {
    use orderwire_protocol::model::{OrderRef, Request, inline};
    use orderwire_protocol::venue::binance::Binance;
    let mut codec = Binance::offline();
    let mut offline = Offline::new(0);
    let mut scratch = Vec::new();
    // Ids 1-3 are a depth, a status query and a cancel-all.
    if let Some(symbol) = inline("BTCUSDT") {
        let _ = offline.encode(
            &mut codec,
            1,
            &Request::BookSnapshot { symbol, limit: 5 },
            &mut scratch,
        );
        if let Some(id) = inline("1") {
            let _ = offline.encode(
                &mut codec,
                2,
                &Request::QueryOrder {
                    order: OrderRef::OrderId(id),
                    symbol,
                },
                &mut scratch,
            );
        }
    }
    let mut events = Events::default();
    let mut out = Vec::new();
    for line in data.split(|b| *b == b'\n') {
        let mut message = line.to_vec();
        events.clear();
        let _ = offline.decode(&mut codec, FrameKind::Text, &mut message, &mut events);
        for event in &events.list {
            assert_indexes_hold(event, &events);
            out.clear();
            write_event_json("binance", event, &events, &mut out);
            assert!(std::str::from_utf8(&out).is_ok() || std::str::from_utf8(line).is_err());
        }
    }
}

/// Decodes the input as one Upbit binary frame, then each line of it as a
/// frame of its own: nothing may panic, every event must render as JSON,
/// and every book's ranges must lie inside the decoded levels.
pub(crate) fn upbit_decode(data: &[u8]) {
    use orderwire_protocol::venue::upbit::Upbit;
    let mut codec = Upbit::public();
    let mut offline = Offline::new(0);
    let mut events = Events::default();
    let mut out = Vec::new();
    for message in std::iter::once(data).chain(data.split(|b| *b == b'\n')) {
        let mut bytes = message.to_vec();
        events.clear();
        let _ = offline.decode(&mut codec, FrameKind::Binary, &mut bytes, &mut events);
        assert_eq!(bytes, message, "decode leaves the message as received");
        for event in &events.list {
            assert_indexes_hold(event, &events);
            if let Event::Book(book) = event {
                assert!(
                    book.bids.end <= events.levels.len() && book.asks.end <= events.levels.len()
                );
            }
            out.clear();
            write_event_json("upbit", event, &events, &mut out);
            assert!(std::str::from_utf8(&out).is_ok() || std::str::from_utf8(message).is_err());
        }
    }
}

/// Decodes the input as one DigiFinex binary frame (zlib or raw deflate),
/// then as a text frame, then each line as a text frame: nothing may
/// panic, an inflated message stays under the bound, and every event must
/// render as JSON.
pub(crate) fn digifinex_decode(data: &[u8]) {
    use orderwire_protocol::venue::digifinex::DigiFinex;
    let mut codec = DigiFinex::public();
    let mut offline = Offline::new(0);
    let mut events = Events::default();
    let mut out = Vec::new();
    let frames = [(FrameKind::Binary, data), (FrameKind::Text, data)]
        .into_iter()
        .chain(
            data.split(|b| *b == b'\n')
                .map(|line| (FrameKind::Text, line)),
        );
    for (kind, message) in frames {
        let mut bytes = message.to_vec();
        events.clear();
        let _ = offline.decode(&mut codec, kind, &mut bytes, &mut events);
        for event in &events.list {
            assert_indexes_hold(event, &events);
            out.clear();
            write_event_json("digifinex", event, &events, &mut out);
            assert!(std::str::from_utf8(&out).is_ok() || std::str::from_utf8(message).is_err());
        }
    }
}

/// Decodes the input with every codec in the protocol's registry, as one
/// binary frame, one text frame and line by line: a venue added to the
/// registry is fuzzed here without a target of its own. Nothing may panic,
/// every book's ranges lie inside the decoded levels, and every event
/// renders as JSON.
pub(crate) fn registry_decode(data: &[u8]) {
    use orderwire_protocol::venue::registry::CODECS;
    let mut events = Events::default();
    let mut out = Vec::new();
    for entry in CODECS {
        let mut codec = (entry.offline)(10);
        let mut offline = Offline::new(0);
        let frames = [(FrameKind::Binary, data), (FrameKind::Text, data)]
            .into_iter()
            .chain(
                data.split(|b| *b == b'\n')
                    .map(|line| (FrameKind::Text, line)),
            );
        for (kind, message) in frames {
            let mut bytes = message.to_vec();
            events.clear();
            let _ = offline.decode(&mut *codec, kind, &mut bytes, &mut events);
            for event in &events.list {
                assert_indexes_hold(event, &events);
                if let Event::Book(book) = event {
                    assert!(
                        book.bids.end <= events.levels.len()
                            && book.asks.end <= events.levels.len()
                    );
                }
                out.clear();
                write_event_json(entry.name, event, &events, &mut out);
                assert!(std::str::from_utf8(&out).is_ok() || std::str::from_utf8(message).is_err());
            }
        }
    }
}

/// Decodes each line with the KIS codec as `orderwire decode` does, after
/// an ack that gives H0STCNI0 a key and iv, so that encrypted notices reach
/// the AES path: records, notices, acks and PINGPONG alike; nothing may
/// panic, books stay inside their levels, every event renders as JSON.
pub(crate) fn kis_decode(data: &[u8]) {
    use orderwire_protocol::venue::kis::Kis;
    let mut codec = Kis::offline();
    let mut offline = Offline::new(0);
    let mut events = Events::default();
    let mut out = Vec::new();
    let ack = br#"{"header":{"tr_id":"H0STCNI0","tr_key":"u","encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS","output":{"iv":"d59d91fcf9fd0044","key":"iuheqrmvfxoceaxeyqgjwesozgizmmgx"}}}"#;
    let _ = offline.decode(&mut codec, FrameKind::Text, &mut ack.to_vec(), &mut events);
    for line in data.split(|b| *b == b'\n') {
        let mut message = line.to_vec();
        events.clear();
        let _ = offline.decode(&mut codec, FrameKind::Text, &mut message, &mut events);
        for event in &events.list {
            assert_indexes_hold(event, &events);
            if let Event::Book(book) = event {
                assert!(
                    book.bids.end <= events.levels.len() && book.asks.end <= events.levels.len()
                );
            }
            out.clear();
            write_event_json("kis", event, &events, &mut out);
            assert!(std::str::from_utf8(&out).is_ok() || std::str::from_utf8(line).is_err());
        }
    }
}

/// Decodes each line with the Koscom codec: responses, errors with and
/// without ids, pushes of every preset, the whole-market feed, and the
/// service's own not-quite-JSON examples; nothing may panic, books stay
/// inside their levels, every event renders as JSON.
pub(crate) fn koscom_decode(data: &[u8]) {
    use orderwire_protocol::venue::koscom::Koscom;
    let mut codec = Koscom::offline();
    let mut offline = Offline::new(0);
    let mut events = Events::default();
    let mut out = Vec::new();
    for line in data.split(|b| *b == b'\n') {
        let mut message = line.to_vec();
        events.clear();
        let _ = offline.decode(&mut codec, FrameKind::Text, &mut message, &mut events);
        for event in &events.list {
            assert_indexes_hold(event, &events);
            if let Event::Book(book) = event {
                assert!(
                    book.bids.end <= events.levels.len() && book.asks.end <= events.levels.len()
                );
            }
            out.clear();
            write_event_json("koscom", event, &events, &mut out);
            assert!(std::str::from_utf8(&out).is_ok() || std::str::from_utf8(line).is_err());
        }
    }
}

/// An event that refers into `events` (a book's levels, an order update, a
/// fill) refers to something there: no codec leaves a dangling index, even
/// after a message that failed part way was rolled back.
fn assert_indexes_hold(event: &Event, events: &Events) {
    match event {
        Event::Book(book) => {
            assert!(book.bids.end <= events.levels.len() && book.asks.end <= events.levels.len())
        }
        Event::OrderUpdate(index) => assert!(events.order_update(*index).is_some()),
        Event::Fill(index) => assert!(events.fill(*index).is_some()),
        _ => {}
    }
}
