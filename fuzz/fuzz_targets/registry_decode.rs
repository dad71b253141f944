#![no_main]

// Every codec in the protocol's registry on every input.
#[allow(dead_code)]
#[path = "../src/venue.rs"]
mod venue;

libfuzzer_sys::fuzz_target!(|data: &[u8]| venue::registry_decode(data));
