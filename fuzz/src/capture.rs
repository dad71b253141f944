//! The capture reader's harness (issue 25): any bytes give a header error
//! or a prefix of records and at most one error, never a panic; what was
//! read, written again, reads back the same.

use orderwire_protocol::capture::{CaptureWriter, read_all};

pub(crate) fn capture_read(data: &[u8]) {
    let Ok(capture) = read_all(data) else {
        return;
    };
    if let Some(trailer) = capture.trailer {
        if capture.error.is_none() {
            assert_eq!(trailer.records, capture.records.len() as u64);
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
