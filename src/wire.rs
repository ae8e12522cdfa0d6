//! Length-capped framing, so a confused or hostile peer cannot make either side allocate without
//! bound or wait for a message that never ends.
//!
//! A frame is a 4-byte big-endian length followed by that many bytes of JSON. Frames longer than
//! [`MAX_FRAME_BYTES`] are refused before any allocation. The blocking half serves the CLI (which
//! must not start an async runtime on its hot path); the async half serves the agent.

use serde::{de::DeserializeOwned, Serialize};
use std::io::{self, Read, Write};
use zeroize::Zeroizing;

/// Largest frame either side accepts. Tokens are a few KiB; a status report with thousands of
/// cached tokens stays well below this.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// Largest request the agent reads. Requests are tiny (a passphrase, a login's settings); with
/// this cap a hundred clients sending the largest request cost the agent a few MiB, not the
/// hundreds [`MAX_FRAME_BYTES`] would allow.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("frame of {0} bytes exceeds the {1}-byte limit")]
    TooLarge(usize, usize),
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("connection closed")]
    Closed,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Encodes `msg` as one frame. The buffer is zeroized after use because it may hold a token.
fn encode<T: Serialize>(msg: &T) -> Result<Zeroizing<Vec<u8>>, WireError> {
    let body =
        Zeroizing::new(serde_json::to_vec(msg).map_err(|e| WireError::Malformed(e.to_string()))?);
    if body.len() > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge(body.len(), MAX_FRAME_BYTES));
    }
    let mut frame = Zeroizing::new(Vec::with_capacity(4 + body.len()));
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    // serde_json's own message can quote the offending value ("invalid type: string \"…\""),
    // which may be a token or a passphrase: report only the kind of error and where.
    serde_json::from_slice(body).map_err(|e| {
        WireError::Malformed(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

fn check_len(header: [u8; 4], max: usize) -> Result<usize, WireError> {
    let len = u32::from_be_bytes(header) as usize;
    if len > max {
        return Err(WireError::TooLarge(len, max));
    }
    Ok(len)
}

pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> Result<(), WireError> {
    w.write_all(&encode(msg)?)?;
    w.flush()?;
    Ok(())
}

pub fn read_frame<T: DeserializeOwned>(r: &mut impl Read) -> Result<T, WireError> {
    let mut header = [0u8; 4];
    match r.read_exact(&mut header) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(WireError::Closed),
        other => other?,
    }
    let len = check_len(header, MAX_FRAME_BYTES)?;
    let mut body = Zeroizing::new(vec![0u8; len]);
    r.read_exact(&mut body)?;
    decode(&body)
}

pub async fn write_frame_async<T: Serialize>(
    w: &mut (impl tokio::io::AsyncWrite + Unpin),
    msg: &T,
) -> Result<(), WireError> {
    use tokio::io::AsyncWriteExt;
    w.write_all(&encode(msg)?).await?;
    w.flush().await?;
    Ok(())
}

pub async fn read_frame_async<T: DeserializeOwned>(
    r: &mut (impl tokio::io::AsyncRead + Unpin),
) -> Result<T, WireError> {
    decode(&read_frame_bytes_async(r).await?)
}

/// Reads one frame's raw bytes (zeroized on drop), for a caller that decodes in two steps.
pub async fn read_frame_bytes_async(
    r: &mut (impl tokio::io::AsyncRead + Unpin),
) -> Result<Zeroizing<Vec<u8>>, WireError> {
    read_frame_bytes_capped(r, MAX_FRAME_BYTES).await
}

/// [`read_frame_bytes_async`] refusing frames over `max` bytes (the agent reads requests with
/// [`MAX_REQUEST_BYTES`]).
pub async fn read_frame_bytes_capped(
    r: &mut (impl tokio::io::AsyncRead + Unpin),
    max: usize,
) -> Result<Zeroizing<Vec<u8>>, WireError> {
    use tokio::io::AsyncReadExt;
    let mut header = [0u8; 4];
    match r.read_exact(&mut header).await {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(WireError::Closed),
        other => {
            other?;
        }
    }
    let len = check_len(header, max)?;
    let mut body = Zeroizing::new(vec![0u8; len]);
    r.read_exact(&mut body).await?;
    Ok(body)
}

/// Decodes a frame body read by [`read_frame_bytes_async`].
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    decode(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Envelope, Request};

    #[test]
    fn frame_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &Envelope::new(Request::Ping)).unwrap();
        let back: Envelope = read_frame(&mut buf.as_slice()).unwrap();
        assert!(matches!(back.request, Request::Ping));
    }

    #[test]
    fn oversized_frame_is_refused_before_reading() {
        let header = ((MAX_FRAME_BYTES + 1) as u32).to_be_bytes();
        let err = read_frame::<Envelope>(&mut header.as_slice()).unwrap_err();
        assert!(matches!(err, WireError::TooLarge(_, _)));
    }

    #[test]
    fn garbage_is_malformed_and_not_echoed() {
        let mut buf = 9u32.to_be_bytes().to_vec();
        buf.extend_from_slice(b"SECRET!!}");
        let err = read_frame::<Envelope>(&mut buf.as_slice()).unwrap_err();
        assert!(matches!(err, WireError::Malformed(_)));
        assert!(!err.to_string().contains("SECRET"));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_not_echoed() {
        let body = br#"{"version":"SECRET-TOKEN","request":{"type":"ping"}}"#;
        let mut buf = (body.len() as u32).to_be_bytes().to_vec();
        buf.extend_from_slice(body);
        let err = read_frame::<Envelope>(&mut buf.as_slice()).unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }

    #[test]
    fn eof_is_closed() {
        let err = read_frame::<Envelope>(&mut [].as_slice()).unwrap_err();
        assert!(matches!(err, WireError::Closed));
    }
}
