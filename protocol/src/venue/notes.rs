//! What one half of a split codec tells the other.
//!
//! A threaded driver decodes on the polling thread while submitting
//! threads encode, so that an order never waits behind a book's decode
//! (docs/gateway.md, "Threads and locks"). The codec then runs as two
//! values made by [`super::Venue::split`]: the encoding half and the
//! decoding half. The little state one half writes and the other reads
//! crosses as [`Note`]s, in the order it was written. The shapes name what
//! happened on the wire, not a venue, so the trait stays object-safe and a
//! note crosses without allocating.

use std::collections::VecDeque;

use crate::model::{Method, Symbol};

/// One fact one half of a split codec must tell the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// Encoder to decoder: a request went out with this id, so the decoder
    /// knows what its reply looks like (Binance's replies name no method;
    /// DigiFinex's `server.auth` reply is told apart by its id).
    Sent {
        /// The request's id.
        req_id: u64,
        /// What it asked.
        method: Method,
        /// The symbol the reply is about, where the reply does not say.
        symbol: Option<Symbol>,
        /// Whether it is the connection's login.
        login: bool,
    },
    /// Encoder to decoder: a book was subscribed at this depth (Kraken's
    /// checksum covers that many levels; Binance syncs a diff book).
    Book {
        /// The book's symbol, as the venue writes it in its messages.
        symbol: Symbol,
        /// The depth subscribed.
        depth: u32,
    },
    /// Decoder to encoder: the venue refused the login with this id, so
    /// requests are signed one by one again (Binance `session.logon`). The
    /// id lets the encoder ignore the refusal of a connection it has
    /// already replaced.
    LoginRefused {
        /// The refused login's request id.
        req_id: u64,
    },
}

/// Room a [`NoteQueue`] keeps from the start, so steady state allocates
/// nothing (the driver empties it before every decode).
const NOTE_CAPACITY: usize = 256;

/// The most notes kept for a decoder that is not reading (a sender that
/// never polls). Past it the oldest [`Note::Sent`] goes: a codec keeps the
/// shapes of its last 4,096 requests at most (Binance's in-flight ring),
/// so a reply that late could not be read whole either way.
pub const NOTE_LIMIT: usize = 4096;

/// Appends `item` to `queue`, first dropping the oldest request note when
/// the queue is at [`NOTE_LIMIT`]; other notes are few and always kept.
pub fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, is_request_note: impl Fn(&T) -> bool) {
    if queue.len() >= NOTE_LIMIT {
        if let Some(oldest) = queue.iter().position(is_request_note) {
            queue.remove(oldest);
        }
    }
    queue.push_back(item);
}

/// The notes a codec half has written for the other, kept only once the
/// codec is split: a codec that is not split queues nothing, so its notes
/// cannot pile up unread.
#[derive(Debug, Default)]
pub struct NoteQueue {
    queue: Option<VecDeque<Note>>,
}

impl NoteQueue {
    /// From now on, notes are kept for the other half.
    pub fn start(&mut self) {
        self.queue
            .get_or_insert_with(|| VecDeque::with_capacity(NOTE_CAPACITY));
    }

    /// Keeps `note` if the codec is split (bounded: [`NOTE_LIMIT`]).
    pub fn push(&mut self, note: Note) {
        if let Some(queue) = self.queue.as_mut() {
            push_bounded(queue, note, |n| matches!(n, Note::Sent { .. }));
        }
    }

    /// The oldest note not yet taken.
    pub fn pop(&mut self) -> Option<Note> {
        self.queue.as_mut().and_then(VecDeque::pop_front)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsplit_codec_keeps_no_notes() {
        let mut queue = NoteQueue::default();
        queue.push(Note::LoginRefused { req_id: 1 });
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn notes_come_out_in_the_order_written() {
        let mut queue = NoteQueue::default();
        queue.start();
        queue.push(Note::LoginRefused { req_id: 1 });
        queue.push(Note::Book {
            symbol: Symbol::from("BTC/USD").expect("short"),
            depth: 10,
        });
        assert_eq!(queue.pop(), Some(Note::LoginRefused { req_id: 1 }));
        assert!(matches!(queue.pop(), Some(Note::Book { depth: 10, .. })));
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn a_queue_nobody_reads_keeps_the_newest_requests_and_every_other_note() {
        let mut queue = NoteQueue::default();
        queue.start();
        queue.push(Note::LoginRefused { req_id: 0 });
        for req_id in 0..(NOTE_LIMIT as u64 + 10) {
            queue.push(Note::Sent {
                req_id,
                method: Method::Place,
                symbol: None,
                login: false,
            });
        }
        let mut kept = Vec::new();
        while let Some(note) = queue.pop() {
            kept.push(note);
        }
        assert_eq!(kept.len(), NOTE_LIMIT);
        assert_eq!(kept[0], Note::LoginRefused { req_id: 0 });
        assert!(matches!(kept[1], Note::Sent { req_id: 11, .. }));
        assert!(
            matches!(kept[NOTE_LIMIT - 1], Note::Sent { req_id, .. } if req_id == NOTE_LIMIT as u64 + 9)
        );
    }
}
