//! Reading an answer with a size cap, into memory that is wiped: an answer may hold a token,
//! and a server that sends hundreds of megabytes must not get them into memory. The buffer
//! grows by moving into a larger wiped buffer and wiping the old one, so no copy of the bytes
//! is left behind in freed memory (a plain `Vec` leaves one at every reallocation).

use std::io::Read;
use zeroize::Zeroizing;

/// How a capped read ended when it did not end with the whole answer.
#[derive(Debug)]
pub enum CappedRead<E> {
    /// The transport failed while reading.
    Transport(E),
    /// The answer is larger than the cap; reading stopped there.
    TooLarge,
}

/// Appends `chunk` to `buf`, moving into a wiped buffer twice the size when `buf` is full
/// (never letting `Vec` reallocate, which would free an unwiped copy).
pub fn extend_wiped(buf: &mut Zeroizing<Vec<u8>>, chunk: &[u8]) {
    let need = buf.len() + chunk.len();
    if need > buf.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(need.max(buf.capacity() * 2).max(1024)));
        bigger.extend_from_slice(buf);
        // The old buffer is wiped here, as `Zeroizing` drops it.
        *buf = bigger;
    }
    buf.extend_from_slice(chunk);
}

/// Reads an async answer's body, refusing more than `max_bytes` as it arrives.
pub async fn read_capped(
    resp: &mut reqwest::Response,
    max_bytes: usize,
) -> Result<Zeroizing<Vec<u8>>, CappedRead<reqwest::Error>> {
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = resp.chunk().await.map_err(CappedRead::Transport)? {
        if body.len() + chunk.len() > max_bytes {
            return Err(CappedRead::TooLarge);
        }
        extend_wiped(&mut body, &chunk);
    }
    Ok(body)
}

/// Reads a blocking answer's body (or any reader), refusing more than `max_bytes`.
pub fn read_capped_blocking(
    mut reader: impl Read,
    max_bytes: usize,
) -> Result<Zeroizing<Vec<u8>>, CappedRead<std::io::Error>> {
    let mut body = Zeroizing::new(Vec::new());
    let mut chunk = Zeroizing::new([0u8; 8192]);
    loop {
        let n = match reader.read(&mut chunk[..]) {
            Ok(0) => return Ok(body),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CappedRead::Transport(e)),
        };
        if body.len() + n > max_bytes {
            return Err(CappedRead::TooLarge);
        }
        extend_wiped(&mut body, &chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_without_reallocating_in_place_and_keeps_every_byte() {
        let mut buf = Zeroizing::new(Vec::new());
        let mut want = Vec::new();
        for i in 0..5000u32 {
            let chunk = i.to_le_bytes();
            extend_wiped(&mut buf, &chunk);
            want.extend_from_slice(&chunk);
        }
        assert_eq!(&buf[..], &want[..]);
    }

    #[test]
    fn blocking_read_stops_at_the_cap() {
        let data = [7u8; 100];
        assert_eq!(read_capped_blocking(&data[..], 100).unwrap().len(), 100);
        assert!(matches!(
            read_capped_blocking(&data[..], 99),
            Err(CappedRead::TooLarge)
        ));
    }
}
