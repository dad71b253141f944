//! The one counting global allocator of the zero-allocation tests. A test
//! binary installs it with `#[global_allocator] static A: Counting =
//! Counting;`, then either
//! - reads [`this_thread_allocations`] around a steady state run on the
//!   test's own thread (tests in the binary may run in parallel: each sees
//!   only its own thread), or
//! - marks other threads to count with [`count_this_thread`] (the engine's
//!   reactor, from `EngineConfig::on_reactor_start`) and reads
//!   [`allocations`], the total over every marked thread.
#![allow(
    unsafe_code,
    reason = "a GlobalAlloc impl is unsafe by definition; each call is a pass-through"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Forwards to the system allocator and counts allocations made on marked
/// threads.
pub struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
    static THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}

/// Allocations (and reallocations) made by this thread so far, marked or
/// not.
pub fn this_thread_allocations() -> u64 {
    THIS_THREAD.try_with(Cell::get).unwrap_or(0)
}

/// Counts one allocation; `try_with`, because a thread-local may already be
/// gone while a thread exits.
fn count_one() {
    let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts this thread's allocations from now on.
pub fn count_this_thread() {
    COUNTED.with(|c| c.set(true));
}

/// Stops counting this thread's allocations.
pub fn stop_counting_this_thread() {
    COUNTED.with(|c| c.set(false));
}

/// Allocations (and reallocations) counted so far on marked threads.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::SeqCst)
}

// SAFETY: every method forwards to the system allocator unchanged; the only
// additions are a thread-local and an atomic increment, which do not
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `alloc`'s contract; passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `alloc_zeroed`'s contract; passed through.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` came from `System.alloc` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
