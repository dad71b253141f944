//! The capture format (issue 25): random sessions written and read back
//! give the same records; a capture cut at any byte or with any byte
//! flipped gives a prefix of its records and a clear error, never a panic.

use orderwire_protocol::capture::{
    CaptureError, CaptureWriter, FrameType, Header, OwnedRecord, Record, RecordBody, read_all,
};
use proptest::prelude::*;

fn header() -> Header {
    Header {
        venue: "kraken".to_owned(),
        codec_config: "tier=starter".to_owned(),
        rng_seed: 7,
        started_wall_ns: 1_700_000_000_000_000_000,
        started_mono_ns: 42,
    }
}

/// A session's records, owned, from a seed-free description.
fn body(tag: u8, bytes: &[u8], number: u64) -> RecordBody<'_> {
    let kinds = [
        FrameType::Text,
        FrameType::Binary,
        FrameType::Ping,
        FrameType::Pong,
        FrameType::Close,
    ];
    let kind = kinds[usize::from(tag) % kinds.len()];
    match tag % 12 {
        0 => RecordBody::FrameIn {
            received_ns: number / 2,
            kind,
            payload: bytes,
        },
        1 => RecordBody::FrameOut {
            kind,
            payload: bytes,
        },
        2 => RecordBody::Submit {
            req_id: number,
            request: bytes,
        },
        3 => RecordBody::Connect {
            attempt: u32::try_from(number % 1000).unwrap(),
        },
        4 => RecordBody::Handshake { response: bytes },
        5 => RecordBody::Disconnect { reason: bytes },
        6 => RecordBody::Reconnecting {
            attempt: u32::try_from(number % 1000).unwrap(),
            delay_ns: number,
        },
        7 => RecordBody::Closed,
        8 => RecordBody::ReserveId,
        9 => RecordBody::BookSnapshot { snapshot: bytes },
        10 => RecordBody::NotesPassed { reached: number },
        _ => RecordBody::Timer { timer: bytes },
    }
}

type Spec = Vec<(u8, Vec<u8>, u64, i64)>;

fn records(spec: &Spec) -> Vec<Record<'_>> {
    spec.iter()
        .map(|(tag, bytes, number, wall)| Record {
            mono_ns: *number,
            wall_ns: *wall,
            body: body(*tag, bytes, *number),
        })
        .collect()
}

/// Writes the records; returns the file and the offsets where each block
/// (and the trailer) begins.
fn write(records: &[Record<'_>], block_target: usize, dropped: u64) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut writer = CaptureWriter::with_block_target(&header(), block_target, &mut out).unwrap();
    let mut boundaries = vec![out.len()];
    for record in records {
        writer.push(record, &mut out).unwrap();
        if out.len() != *boundaries.last().unwrap() {
            boundaries.push(out.len());
        }
    }
    writer.flush(&mut out).unwrap();
    if out.len() != *boundaries.last().unwrap() {
        boundaries.push(out.len());
    }
    let trailer = writer.finish(dropped, &mut out).unwrap();
    assert_eq!(trailer.records, records.len() as u64);
    (out, boundaries)
}

fn owned(records: &[Record<'_>]) -> Vec<OwnedRecord> {
    records
        .iter()
        .map(|r| OwnedRecord::new(r).unwrap())
        .collect()
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    prop::collection::vec(
        (
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..300),
            any::<u64>(),
            any::<i64>(),
        ),
        0..60,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_sessions_read_back_as_written(spec in spec_strategy(), block in 16usize..2048, dropped in any::<u64>()) {
        let records = records(&spec);
        let (file, _) = write(&records, block, dropped);
        let capture = read_all(&file).unwrap();
        prop_assert_eq!(capture.header, header());
        prop_assert_eq!(capture.error, None);
        prop_assert_eq!(capture.trailer.map(|t| (t.records, t.dropped)), Some((records.len() as u64, dropped)));
        prop_assert_eq!(capture.records, owned(&records));
    }
}

fn session() -> (Vec<Record<'static>>, Vec<u8>, Vec<usize>) {
    let payloads: Vec<&'static [u8]> = vec![
        br#"{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"]},"req_id":1}"#,
        br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":26500.4,"qty":1.2}]}]}"#,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        b"rate_queue",
    ];
    let records: Vec<Record<'static>> = (0..40u64)
        .map(|n| {
            let payload = payloads[usize::try_from(n).unwrap() % payloads.len()];
            Record {
                mono_ns: 1_000 * n,
                wall_ns: 1_700_000_000_000_000_000 + i64::try_from(n).unwrap(),
                body: match n % 4 {
                    0 => RecordBody::FrameOut {
                        kind: FrameType::Text,
                        payload,
                    },
                    1 => RecordBody::FrameIn {
                        received_ns: 0,
                        kind: FrameType::Text,
                        payload,
                    },
                    2 => RecordBody::Handshake { response: payload },
                    _ => RecordBody::Timer { timer: payload },
                },
            }
        })
        .collect();
    let (file, boundaries) = write(&records, 400, 3);
    (records, file, boundaries)
}

#[test]
fn a_capture_cut_at_every_block_boundary_reads_its_whole_blocks() {
    let (records, file, boundaries) = session();
    assert!(boundaries.len() > 5, "several blocks: {boundaries:?}");
    let all = owned(&records);
    for (index, &cut) in boundaries.iter().enumerate() {
        let capture = read_all(&file[..cut]).unwrap();
        assert_eq!(
            capture.error,
            Some(CaptureError::NoTrailer { offset: cut }),
            "cut at block boundary {index} ({cut})"
        );
        assert_eq!(capture.trailer, None);
        assert!(all.starts_with(&capture.records));
        if index > 0 {
            let before = read_all(&file[..boundaries[index - 1]]).unwrap();
            assert!(
                capture.records.len() > before.records.len(),
                "each block adds records"
            );
        }
    }
    // The last boundary is the trailer's start: every record is there.
    let last = read_all(&file[..*boundaries.last().unwrap()]).unwrap();
    assert_eq!(last.records, all);
}

#[test]
fn a_capture_cut_at_any_byte_gives_a_prefix_and_an_error() {
    let (records, file, _) = session();
    let all = owned(&records);
    for cut in 0..file.len() {
        match read_all(&file[..cut]) {
            Ok(capture) => {
                assert!(capture.error.is_some(), "cut at {cut} is reported");
                assert!(all.starts_with(&capture.records), "cut at {cut}");
            }
            Err(error) => assert!(
                matches!(
                    error,
                    CaptureError::BadMagic | CaptureError::Truncated { .. }
                ),
                "cut at {cut} inside the header: {error}"
            ),
        }
    }
    let whole = read_all(&file).unwrap();
    assert_eq!((whole.records, whole.error), (all, None));
    assert_eq!(whole.trailer.map(|t| t.dropped), Some(3));
}

#[test]
fn a_flipped_byte_anywhere_gives_a_prefix_and_an_error() {
    let (records, file, _) = session();
    let all = owned(&records);
    for at in 0..file.len() {
        let mut damaged = file.clone();
        damaged[at] ^= 0x20;
        match read_all(&damaged) {
            Ok(capture) => {
                assert!(
                    capture.error.is_some(),
                    "a flip at {at} is noticed (every byte is under a checksum or a length)"
                );
                assert!(all.starts_with(&capture.records), "flip at {at}");
            }
            Err(error) => assert!(
                matches!(
                    error,
                    CaptureError::BadMagic
                        | CaptureError::Version(_)
                        | CaptureError::Checksum { .. }
                        | CaptureError::Truncated { .. }
                ),
                "flip at {at}: {error}"
            ),
        }
    }
}

#[test]
fn other_files_versions_and_trailing_bytes_are_named() {
    assert_eq!(read_all(b"kraken lines\n"), Err(CaptureError::BadMagic));
    let (_, mut file, _) = session();
    let mut newer = file.clone();
    newer[8] = 2;
    assert_eq!(read_all(&newer), Err(CaptureError::Version(2)));
    file.extend_from_slice(b"junk");
    let capture = read_all(&file).unwrap();
    assert_eq!(capture.error, Some(CaptureError::TrailingBytes(4)));
    assert!(capture.trailer.is_some());
}

#[test]
fn a_record_larger_than_a_block_is_refused() {
    let mut out = Vec::new();
    let mut writer = CaptureWriter::new(&header(), &mut out).unwrap();
    let huge = vec![b'x'; orderwire_protocol::capture::MAX_BLOCK];
    let record = Record {
        mono_ns: 0,
        wall_ns: 0,
        body: RecordBody::FrameIn {
            received_ns: 0,
            kind: FrameType::Binary,
            payload: &huge,
        },
    };
    assert!(matches!(
        writer.push(&record, &mut out),
        Err(CaptureError::TooLarge(_))
    ));
    assert_eq!(writer.records(), 0, "nothing half-written");
    let trailer = writer.finish(0, &mut out).unwrap();
    assert_eq!(trailer.records, 0);
    assert_eq!(read_all(&out).unwrap().records, []);
}

mod inputs {
    use orderwire_protocol::capture::{
        decode_snapshot, decode_submit, decode_subscription, encode_snapshot, encode_submit,
        encode_subscription,
    };
    use orderwire_protocol::model::{
        AmendOrder, BookEvent, CancelOrders, CancelReplace, Level, NewOrder, OrderKind, OrderRef,
        OwnedRequest, ReplaceMode, Side, Subscription, TimeInForce, inline,
    };
    use orderwire_protocol::num::Decimal;
    use proptest::prelude::*;

    fn decimal() -> impl Strategy<Value = Decimal> {
        (any::<i64>(), 0u8..=18).prop_map(|(m, s)| Decimal::new(i128::from(m), s).unwrap())
    }

    fn order() -> impl Strategy<Value = NewOrder> {
        (
            "[A-Za-z0-9]{1,40}",
            "[A-Z]{2,8}/[A-Z]{2,5}",
            any::<bool>(),
            proptest::option::of(decimal()),
            decimal(),
            0u8..3,
            any::<bool>(),
        )
            .prop_map(|(id, symbol, buy, price, qty, tif, post_only)| NewOrder {
                client_order_id: inline(&id).unwrap(),
                symbol: inline(&symbol).unwrap(),
                side: if buy { Side::Buy } else { Side::Sell },
                kind: if price.is_some() {
                    OrderKind::Limit
                } else {
                    OrderKind::Market
                },
                price,
                qty,
                time_in_force: [
                    TimeInForce::GoodTillCanceled,
                    TimeInForce::ImmediateOrCancel,
                    TimeInForce::FillOrKill,
                ][usize::from(tif)],
                post_only,
            })
    }

    fn request() -> impl Strategy<Value = OwnedRequest> {
        prop_oneof![
            order().prop_map(OwnedRequest::Place),
            (order(), proptest::option::of(decimal())).prop_map(|(o, qty)| {
                OwnedRequest::Amend(AmendOrder {
                    order: OrderRef::ClientOrderId(o.client_order_id),
                    symbol: Some(o.symbol),
                    price: o.price,
                    qty,
                })
            }),
            proptest::collection::vec(order(), 0..4).prop_map(|orders| {
                OwnedRequest::Cancel(CancelOrders {
                    orders: orders
                        .iter()
                        .map(|o| OrderRef::OrderId(o.client_order_id))
                        .collect(),
                    symbol: None,
                })
            }),
            (order(), any::<bool>()).prop_map(|(o, stop)| {
                OwnedRequest::CancelReplace(CancelReplace {
                    cancel: OrderRef::ClientOrderId(o.client_order_id),
                    mode: if stop {
                        ReplaceMode::StopOnFailure
                    } else {
                        ReplaceMode::AllowFailure
                    },
                    new_order: o,
                })
            }),
            proptest::collection::vec(order(), 0..4).prop_map(OwnedRequest::BatchPlace),
            any::<u32>().prop_map(|timeout_secs| OwnedRequest::CancelAllAfter { timeout_secs }),
            (order(), any::<u32>(), decimal()).prop_map(|(o, depth, grouping)| {
                OwnedRequest::Subscribe(Subscription::GroupedBook {
                    symbols: vec![o.symbol],
                    depth,
                    grouping,
                })
            }),
            Just(OwnedRequest::Unsubscribe(Subscription::Executions {
                snapshot_orders: true,
                snapshot_trades: false,
            })),
            Just(OwnedRequest::Ping),
            Just(OwnedRequest::ServerTime),
        ]
    }

    proptest! {
        /// A recorded submit reads back as the same request and options,
        /// and any cut of it is an error, never a panic.
        #[test]
        fn submits_read_back(request in request(), req_id in proptest::option::of(any::<u64>()), tag in proptest::option::of(any::<u32>())) {
            let mut bytes = Vec::new();
            encode_submit(&request.as_request(), req_id, tag, &mut bytes);
            let back = decode_submit(&bytes).unwrap();
            prop_assert_eq!(&back.request, &request);
            prop_assert_eq!(back.req_id, req_id);
            prop_assert_eq!(back.tag, tag);
            for cut in 0..bytes.len() {
                prop_assert!(decode_submit(&bytes[..cut]).is_err());
            }
        }

        /// Any bytes: an error or a value, never a panic.
        #[test]
        fn arbitrary_input_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_submit(&bytes);
            let _ = decode_snapshot(&bytes);
            let _ = decode_subscription(&bytes);
        }

        /// A fed snapshot reads back with its levels, exactly.
        #[test]
        fn snapshots_read_back(bids in proptest::collection::vec((decimal(), decimal()), 0..20), asks in proptest::collection::vec((decimal(), decimal()), 0..20), sequence in proptest::option::of(any::<u64>()), ts in proptest::option::of(any::<i64>())) {
            let mut levels: Vec<Level> = bids.iter().map(|&(price, qty)| Level { price, qty }).collect();
            let split = levels.len();
            levels.extend(asks.iter().map(|&(price, qty)| Level { price, qty }));
            let book = BookEvent {
                symbol: inline("BTCUSDT").unwrap(),
                snapshot: true,
                bids: 0..split,
                asks: split..levels.len(),
                checksum: None,
                sequence,
                ts,
                from_snapshot: true,
                grouping: None,
            };
            let mut bytes = Vec::new();
            encode_snapshot(&book, &levels, &mut bytes);
            let (back, back_levels) = decode_snapshot(&bytes).unwrap();
            prop_assert_eq!(back, book);
            prop_assert_eq!(back_levels, levels);
        }
    }

    #[test]
    fn every_subscription_kind_reads_back() {
        let btc = inline("BTC/USD").unwrap();
        for subscription in [
            Subscription::Book {
                symbols: vec![btc],
                depth: 10,
            },
            Subscription::Ticker { symbols: vec![btc] },
            Subscription::Trades { symbols: vec![] },
            Subscription::Orders { symbols: vec![btc] },
            Subscription::TriggerOrders { symbols: vec![btc] },
            Subscription::Balances {
                assets: vec![inline("USD").unwrap()],
            },
            Subscription::Candles {
                symbols: vec![btc],
                interval: inline("1m").unwrap(),
            },
        ] {
            let mut bytes = Vec::new();
            encode_subscription(&subscription, &mut bytes);
            assert_eq!(decode_subscription(&bytes).unwrap(), subscription);
        }
    }
}
