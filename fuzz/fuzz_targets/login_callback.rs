//! Fuzz target: libFuzzer's inputs go to `tok::fuzzing::login_callback`, which documents
//! their format and what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tok::fuzzing::login_callback(data));
