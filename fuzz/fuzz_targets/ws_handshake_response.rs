#![no_main]

// Each target uses one of the shared harness functions.
#[allow(dead_code)]
#[path = "../src/ws.rs"]
mod ws;

libfuzzer_sys::fuzz_target!(|data: &[u8]| ws::handshake_response(data));
