//! Reused message buffers, shared by the reactor and user threads.
//!
//! A message crosses threads in a `Vec<u8>` taken from this pool; whoever is
//! done with it gives it back. With buffers returned, the steady state
//! allocates nothing. An empty pool allocates (and a full one frees) instead
//! of blocking, so a user that forgets to recycle costs allocations, never a
//! stall of the reactor.

use crossbeam_channel::{Receiver, Sender, bounded};

/// A bounded, lock-free queue of empty buffers. Clones share the pool.
#[derive(Clone, Debug)]
pub struct BufferPool {
    put: Sender<Vec<u8>>,
    take: Receiver<Vec<u8>>,
    buffer_capacity: usize,
}

impl BufferPool {
    /// A pool of `count` buffers of `buffer_capacity` bytes each, allocated
    /// now.
    pub fn new(count: usize, buffer_capacity: usize) -> BufferPool {
        let (put, take) = bounded(count.max(1));
        for _ in 0..count {
            // The channel has room for exactly `count` buffers.
            let _ = put.try_send(Vec::with_capacity(buffer_capacity));
        }
        BufferPool {
            put,
            take,
            buffer_capacity,
        }
    }

    /// An empty buffer, from the pool when it has one.
    #[inline]
    pub fn take(&self) -> Vec<u8> {
        self.take
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(self.buffer_capacity))
    }

    /// Gives a buffer back (cleared here); dropped if the pool is full.
    #[inline]
    pub fn give(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        let _ = self.put.try_send(buffer);
    }

    /// Buffers in the pool now.
    pub fn available(&self) -> usize {
        self.take.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_cleared_with_their_capacity() {
        let pool = BufferPool::new(2, 64);
        let mut a = pool.take();
        a.extend_from_slice(&[1; 200]);
        let capacity = a.capacity();
        pool.give(a);
        assert_eq!(pool.available(), 2);
        let b = pool.take();
        let c = pool.take();
        assert!(b.is_empty() && c.is_empty());
        assert!(b.capacity() == capacity || c.capacity() == capacity);
        // Empty pool: a fresh buffer instead of a stall.
        assert_eq!(pool.take().capacity(), 64);
    }
}
