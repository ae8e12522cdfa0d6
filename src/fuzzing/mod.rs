//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer), one per parser that
//! reads bytes tok does not control: agent frames, provider answers, JWTs (also as `tok inspect`
//! reads them), and the files a user, a file transfer or a damaged disk may hand it. They live
//! here because most of those parsers are private to their modules; each function calls the
//! product code as tok does and then asserts what the rest of tok relies on (round trips, caps,
//! no secret quoted in an error). Not an API: hidden from the documentation and free to change
//! with the fuzz targets.

use crate::config::Config;
use crate::credential;
use crate::oauth::{self, discovery, exchange, form};
use crate::presets;
use crate::protocol::{Envelope, JobCredential, Response, PROTOCOL_VERSION};
use crate::scope;
use crate::secret::{AccessToken, Passphrase};
use crate::store::file::sealed;
use crate::wire::{self, WireError};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

mod files;
mod tokens;

pub use files::*;
use std::task::{Context, Poll, Waker};
pub use tokens::*;

/// Runs a future that cannot wait (it reads from a byte slice) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("reading a byte slice never waits"),
    }
}

/// A wire error never quotes the frame, which may hold a passphrase or a token.
fn check_wire_error(e: &WireError) {
    if let WireError::Malformed(m) = e {
        assert!(
            !m.contains('"') && !m.contains('`'),
            "quotes the frame: {m}"
        );
    }
}

/// Encodes, decodes and encodes again: what one side sends, the other must read back the same.
fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(msg: &T) {
    let mut first = Vec::new();
    wire::write_frame(&mut first, msg).expect("a decoded message encodes");
    let back: T = wire::read_frame(&mut first.as_slice()).expect("an encoded message decodes");
    let mut second = Vec::new();
    wire::write_frame(&mut second, &back).expect("a decoded message encodes");
    assert_eq!(first, second, "a message changed on a round trip");
}

/// Frames one after another as a connection carries them, read by both sides: the agent's
/// two-step decoding of requests (version header, then the envelope) and the CLI's decoding of
/// responses.
pub fn frame(data: &[u8]) {
    #[derive(serde::Deserialize)]
    struct Header {
        version: u32,
    }
    let mut rest = data;
    loop {
        let body = match ready(wire::read_frame_bytes_async(&mut rest)) {
            Ok(body) => body,
            Err(e) => {
                check_wire_error(&e);
                break;
            }
        };
        match wire::decode_body::<Header>(&body) {
            Ok(h) if h.version != PROTOCOL_VERSION => continue,
            Ok(_) => {}
            Err(e) => {
                check_wire_error(&e);
                continue;
            }
        }
        match wire::decode_body::<Envelope>(&body) {
            Ok(envelope) => round_trip(&envelope),
            Err(e) => check_wire_error(&e),
        }
    }
    let mut rest = data;
    loop {
        match wire::read_frame::<Response>(&mut rest) {
            Ok(response) => round_trip(&response),
            Err(e) => {
                check_wire_error(&e);
                break;
            }
        }
    }
}

/// One frame body decoded as a request and as a response, without the framing (so the fuzzer
/// spends its time on the JSON).
pub fn protocol(data: &[u8]) {
    match wire::decode_body::<Envelope>(data) {
        Ok(envelope) => round_trip(&envelope),
        Err(e) => check_wire_error(&e),
    }
    match wire::decode_body::<Response>(data) {
        Ok(response) => round_trip(&response),
        Err(e) => check_wire_error(&e),
    }
}
