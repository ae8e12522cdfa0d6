//! Fuzz target: libFuzzer's inputs go to `tok::fuzzing::token_response`, which documents
//! their format and what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tok::fuzzing::token_response(data));
