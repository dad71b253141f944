#![no_main]

// Each target uses one of the shared harness functions.
#[allow(dead_code)]
#[path = "../src/venue.rs"]
mod venue;

libfuzzer_sys::fuzz_target!(|data: &[u8]| venue::koscom_decode(data));
