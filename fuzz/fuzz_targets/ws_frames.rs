#![no_main]

#[path = "../src/ws.rs"]
mod ws;

libfuzzer_sys::fuzz_target!(|data: &[u8]| ws::frames(data));
