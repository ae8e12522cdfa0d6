//! Fuzz target: libFuzzer's inputs go to `tok::fuzzing::sealed_store`, which documents
//! their format and what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tok::fuzzing::sealed_store(data));
