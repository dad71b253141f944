//! The capture reader's harness (issue 25): any bytes give a header error
//! or a prefix of records and at most one error, never a panic; what was
//! read, written again, reads back the same.

use orderwire_protocol::capture::{
    CaptureWriter, RecordBody, decode_snapshot, decode_submit, read_all,
};

pub(crate) fn capture_read(data: &[u8]) {
    let Ok(capture) = read_all(data) else {
        return;
    };
    if let Some(trailer) = capture.trailer {
        if capture.error.is_none() {
            assert_eq!(trailer.records, capture.records.len() as u64);
        }
    }
    // A replay reads the inputs' bytes: never a panic either, and what
    // reads back writes back the same.
    for record in &capture.records {
        match record.get().body {
            RecordBody::Submit { request, .. } => {
                if let Ok(submit) = decode_submit(request) {
                    let mut bytes = Vec::new();
                    orderwire_protocol::capture::encode_submit(
                        &submit.request.as_request(),
                        submit.req_id,
                        submit.tag,
                        &mut bytes,
                    );
                    assert_eq!(decode_submit(&bytes).as_ref(), Ok(&submit));
                }
            }
            RecordBody::BookSnapshot { snapshot } => {
                let _ = decode_snapshot(snapshot);
            }
            _ => {}
        }
    }
    let mut again = Vec::new();
    let mut writer =
        CaptureWriter::new(&capture.header, &mut again).expect("a header read back is writable");
    for record in &capture.records {
        writer
            .push(&record.get(), &mut again)
            .expect("a record read back is writable");
    }
    writer.finish(0, &mut again).expect("finishes");
    let reread = read_all(&again).expect("what we wrote opens");
    assert_eq!(reread.error, None);
    assert_eq!(reread.records, capture.records);
    assert_eq!(reread.header, capture.header);
}
