//! oidc-agent's socket encryption, byte for byte as libsodium does it, so its clients (C, Python,
//! Go, Rust) talk to tok unchanged: the client sends `base64(X25519 public key)`, the agent
//! answers a fresh key of its own, both derive `crypto_box_beforenm` (X25519 + HSalsa20), and
//! each later message is `"<plaintext length>:<base64 nonce>:<base64 crypto_secretbox_easy>"`
//! (XSalsa20-Poly1305, the tag before the ciphertext).
//!
//! The encryption is unauthenticated (anyone may offer a key); who may connect at all is decided
//! by the socket's peer-uid check, not here.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use crypto_box::aead::{Aead, AeadCore, KeyInit, OsRng};
use crypto_box::{PublicKey, SecretKey};
use crypto_secretbox::{Kdf, XSalsa20Poly1305};
use curve25519_dalek::montgomery::MontgomeryPoint;
use zeroize::Zeroizing;

/// Length of `base64(32-byte key)` with padding.
pub const KEY_MESSAGE_CHARS: usize = 44;
const NONCE_BYTES: usize = 24;
const MAC_BYTES: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the client's public key is not base64 of 32 bytes")]
    BadKey,
    #[error("the encrypted message is not `length:nonce:ciphertext`")]
    Malformed,
    #[error("the encrypted message does not decrypt with the session key (tampered or wrong key)")]
    Forged,
}

/// The agent's one key pair and its public half as `base64(pk)`.
fn agent_key_pair() -> &'static (SecretKey, String) {
    static AGENT_KEY: std::sync::OnceLock<(SecretKey, String)> = std::sync::OnceLock::new();
    AGENT_KEY.get_or_init(|| {
        let key = SecretKey::generate(&mut OsRng);
        let public = BASE64.encode(key.public_key().as_bytes());
        (key, public)
    })
}

/// `crypto_box_beforenm`: X25519 of `ours` and `theirs`, then HSalsa20 with a zero nonce, as
/// the key of an XSalsa20-Poly1305 box; what `crypto_box::SalsaBox::new` computes.
///
/// The multiplication goes through the Edwards form when the peer's key has one: there
/// curve25519-dalek picks its AVX2 code at run time, a quarter faster than the Montgomery
/// ladder, which has no vector code (measured: 40 against 53 µs). A key on the twist (no
/// Edwards form; a hostile or broken client) takes the ladder. Both are constant-time in our
/// secret; only the peer's public key decides the path.
fn beforenm(ours: &SecretKey, theirs: &PublicKey) -> XSalsa20Poly1305 {
    let shared = x25519(&Zeroizing::new(ours.to_bytes()), theirs.as_bytes());
    let key = Zeroizing::new(XSalsa20Poly1305::kdf(
        crypto_secretbox::Key::from_slice(&*shared),
        &Default::default(),
    ));
    XSalsa20Poly1305::new(&key)
}

/// RFC 7748 X25519 (the clamped scalar, unreduced, as libsodium computes it).
fn x25519(secret: &[u8; 32], peer: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let peer = MontgomeryPoint(*peer);
    Zeroizing::new(match peer.to_edwards(0) {
        Some(point) => point.mul_clamped(*secret).to_montgomery().0,
        None => peer.mul_clamped(*secret).0,
    })
}

/// A client's checked key, before the shared key is derived.
pub struct PendingSession {
    client: PublicKey,
}

impl PendingSession {
    /// Derives the connection's shared key (`crypto_box_beforenm`).
    pub fn finish(self) -> Session {
        Session {
            shared: beforenm(&agent_key_pair().0, &self.client),
        }
    }
}

/// The shared key of one connection.
pub struct Session {
    shared: XSalsa20Poly1305,
}

impl Session {
    /// The agent's public key, `base64(pk)`, to answer a client's key with.
    ///
    /// The agent's key pair is made once per agent, not per connection: every client sends a
    /// fresh key, so each connection still gets its own shared key, and one X25519
    /// multiplication less keeps `oidc-token` against tok as fast as against oidc-agent. What
    /// is given up (forward secrecy against someone who records the socket and later reads the
    /// agent's memory) protects nothing here: that memory holds the refresh tokens themselves.
    pub fn agent_key() -> &'static str {
        &agent_key_pair().1
    }

    /// Takes the client's `base64(pk)` (checked first, so a bad key gets no answer) and
    /// returns a pending session. The agent sends [`Session::agent_key`] and only then calls
    /// [`PendingSession::finish`]: the X25519 multiplication then runs while the client does
    /// its own and encrypts its request, off the path the client waits on.
    pub fn accept(client_key: &[u8]) -> Result<PendingSession, CryptoError> {
        let text = std::str::from_utf8(client_key).map_err(|_| CryptoError::BadKey)?;
        let bytes = BASE64
            .decode(text.trim_end_matches(['\0', '\n']))
            .map_err(|_| CryptoError::BadKey)?;
        let client = PublicKey::from_slice(&bytes).map_err(|_| CryptoError::BadKey)?;
        Ok(PendingSession { client })
    }

    /// The client side of the exchange, for tests: our key to send, and the session once the
    /// agent's key has arrived.
    pub fn client_key() -> (SecretKey, String) {
        let ours = SecretKey::generate(&mut OsRng);
        let text = BASE64.encode(ours.public_key().as_bytes());
        (ours, text)
    }

    pub fn client_finish(ours: &SecretKey, agent_key: &[u8]) -> Result<Self, CryptoError> {
        let bytes = BASE64.decode(agent_key).map_err(|_| CryptoError::BadKey)?;
        let agent = PublicKey::from_slice(&bytes).map_err(|_| CryptoError::BadKey)?;
        Ok(Self {
            shared: beforenm(ours, &agent),
        })
    }

    /// Encrypts one message in oidc-agent's text form.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let nonce = XSalsa20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .shared
            .encrypt(&nonce, plaintext)
            .expect("XSalsa20-Poly1305 encryption of a buffer in memory cannot fail");
        format!(
            "{}:{}:{}",
            plaintext.len(),
            BASE64.encode(nonce),
            BASE64.encode(sealed)
        )
    }

    /// Decrypts one message in oidc-agent's text form.
    pub fn open(&self, message: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (length, nonce, sealed) = split(message)?;
        if sealed.len() != length + MAC_BYTES {
            return Err(CryptoError::Malformed);
        }
        let nonce = crypto_box::Nonce::from_slice(&nonce);
        self.shared
            .decrypt(nonce, sealed.as_slice())
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Forged)
    }
}

/// Whether `message` is a whole encrypted message (its ciphertext as long as its length says):
/// one client `write` may reach us in pieces.
pub fn is_complete(message: &[u8]) -> bool {
    let text = trim(message);
    let mut parts = text.splitn(3, |b| *b == b':');
    let (Some(length), Some(_), Some(sealed)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some(length) = std::str::from_utf8(length)
        .ok()
        .and_then(|l| l.parse::<usize>().ok())
    else {
        return false;
    };
    sealed.len()
        >= (length.saturating_add(MAC_BYTES))
            .div_ceil(3)
            .saturating_mul(4)
}

fn trim(message: &[u8]) -> &[u8] {
    let end = message
        .iter()
        .rposition(|b| !matches!(b, b'\0' | b'\n'))
        .map_or(0, |i| i + 1);
    &message[..end]
}

/// `length:nonce:ciphertext`, decoded.
type Parts = (usize, Vec<u8>, Zeroizing<Vec<u8>>);

fn split(message: &[u8]) -> Result<Parts, CryptoError> {
    let text = std::str::from_utf8(trim(message)).map_err(|_| CryptoError::Malformed)?;
    let mut parts = text.splitn(3, ':');
    let (Some(length), Some(nonce), Some(sealed)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(CryptoError::Malformed);
    };
    let length: usize = length.parse().map_err(|_| CryptoError::Malformed)?;
    let nonce = BASE64.decode(nonce).map_err(|_| CryptoError::Malformed)?;
    if nonce.len() != NONCE_BYTES {
        return Err(CryptoError::Malformed);
    }
    let sealed = Zeroizing::new(BASE64.decode(sealed).map_err(|_| CryptoError::Malformed)?);
    Ok((length, nonce, sealed))
}

/// Encrypts and decrypts with a raw 32-byte key (`crypto_secretbox_easy`), as oidc-agent's
/// account files do.
pub fn secretbox_open(
    key: &[u8; 32],
    nonce: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    use crypto_secretbox::{KeyInit, XSalsa20Poly1305};
    if nonce.len() != NONCE_BYTES {
        return Err(CryptoError::Malformed);
    }
    let cipher = XSalsa20Poly1305::new(key.into());
    cipher
        .decrypt(crypto_secretbox::Nonce::from_slice(nonce), sealed)
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Forged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_and_the_agent_agree() {
        let (client_secret, client_key) = Session::client_key();
        assert_eq!(client_key.len(), KEY_MESSAGE_CHARS);
        let agent = Session::accept(client_key.as_bytes()).unwrap().finish();
        let agent_key = Session::agent_key().to_string();
        let client = Session::client_finish(&client_secret, agent_key.as_bytes()).unwrap();
        let sealed = client.seal(br#"{"request":"check"}"#);
        assert!(is_complete(sealed.as_bytes()));
        assert!(!is_complete(&sealed.as_bytes()[..sealed.len() - 3]));
        assert_eq!(
            agent.open(sealed.as_bytes()).unwrap().as_slice(),
            br#"{"request":"check"}"#
        );
        let reply = agent.seal(b"{}");
        assert_eq!(client.open(reply.as_bytes()).unwrap().as_slice(), b"{}");
    }

    /// The Edwards-form shortcut is RFC 7748 X25519 (the Montgomery ladder) for every key a
    /// client may send: random keys, keys with the unused top bit set, keys on the twist, and
    /// keys with a small-order part.
    #[test]
    fn the_shortcut_is_x25519_for_every_key() {
        let secret = SecretKey::generate(&mut OsRng).to_bytes();
        let mut peers: Vec<[u8; 32]> = (0..64)
            .map(|_| *SecretKey::generate(&mut OsRng).public_key().as_bytes())
            .collect();
        let mut top_bit = peers[0];
        top_bit[31] |= 0x80;
        peers.push(top_bit);
        // Small u values: some on the curve with a small-order part, some on the twist.
        let small: Vec<[u8; 32]> = (0u8..40)
            .map(|u| {
                let mut b = [0u8; 32];
                b[0] = u;
                b
            })
            .collect();
        assert!(small
            .iter()
            .any(|b| MontgomeryPoint(*b).to_edwards(0).is_none()));
        peers.extend(small);
        for peer in peers {
            let ladder = MontgomeryPoint(peer).mul_clamped(secret).0;
            assert_eq!(*x25519(&secret, &peer), ladder, "peer key {peer:?}");
        }
    }

    /// For keys a real client makes (in the prime-order group), the box key is what
    /// crypto_box's `SalsaBox` (checked against libsodium by its authors) derives. (On the
    /// twist crypto_box differs from libsodium, reducing the scalar first; tok follows RFC
    /// 7748 and libsodium, above.)
    #[test]
    fn the_box_key_is_crypto_box_beforenm() {
        let ours = SecretKey::generate(&mut OsRng);
        for _ in 0..16 {
            let theirs = SecretKey::generate(&mut OsRng).public_key();
            let reference = crypto_box::SalsaBox::new(&theirs, &ours);
            let nonce = XSalsa20Poly1305::generate_nonce(&mut OsRng);
            let sealed = reference.encrypt(&nonce, &b"same key"[..]).unwrap();
            let opened = beforenm(&ours, &theirs).decrypt(&nonce, sealed.as_slice());
            assert_eq!(opened.unwrap(), b"same key");
        }
    }

    #[test]
    fn tampering_and_bad_keys_are_refused() {
        let (client_secret, client_key) = Session::client_key();
        let agent = Session::accept(client_key.as_bytes()).unwrap().finish();
        let agent_key = Session::agent_key().to_string();
        let client = Session::client_finish(&client_secret, agent_key.as_bytes()).unwrap();
        let mut sealed = client.seal(b"hello world").into_bytes();
        let last = sealed.len() - 2;
        sealed[last] = if sealed[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(agent.open(&sealed).unwrap_err(), CryptoError::Forged);
        assert_eq!(agent.open(b"5:xx:yy").unwrap_err(), CryptoError::Malformed);
        assert!(Session::accept(b"AAAA").is_err());
        assert!(Session::accept(&[0xff; 44]).is_err());
    }
}
