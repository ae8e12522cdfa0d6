//! The encrypted store's file format: key derivation, sealing and opening, and nothing about
//! where the file lives or how it is replaced.
//!
//! File format (version 1), all integers little-endian:
//!
//! ```text
//! offset  size  field
//!      0    13  magic "tok-store v1\n"
//!     13     1  kdf id: 1 = argon2id (v0x13)
//!     14     4  m_cost (KiB)
//!     18     4  t_cost (passes)
//!     22     4  p_cost (lanes)
//!     26    16  salt (random, chosen when the store is created)
//!     42    32  passphrase check (bytes 32..64 of the argon2 output)
//!     74    24  XChaCha20-Poly1305 nonce (random, new on every write)
//!     98     …  ciphertext + 16-byte tag of the JSON object {"key": "secret", …}
//! ```
//!
//! Bytes 0..32 of the argon2 output are the cipher key; the check value lets `unlock` tell a
//! wrong passphrase from a damaged file, which the AEAD tag alone cannot. Bytes 0..98 are the
//! associated data, so any header change is detected too.

use super::super::StoreError;
use crate::secret::Passphrase;
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;
use zeroize::Zeroizing;

pub(super) const MAGIC: &[u8] = b"tok-store v1\n";
const KDF_ARGON2ID: u8 = 1;
const SALT_LEN: usize = 16;
pub(super) const CHECK_LEN: usize = 32;
const NONCE_LEN: usize = 24;
pub(super) const HEADER_LEN: usize = MAGIC.len() + 1 + 12 + SALT_LEN + CHECK_LEN + NONCE_LEN;
// Upper bounds for header values, near what tok writes (19 MiB, 2 passes, 1 lane), so a planted
// or damaged header cannot make unlock cost minutes and gigabytes (issue 21): at most about
// 13 times the default's work.
const MAX_M_COST_KIB: u32 = 64 * 1024;
const MAX_T_COST: u32 = 8;
const MAX_P_COST: u32 = 4;

/// Argon2id cost. The default (19 MiB, 2 passes) takes well under a second on a login node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl KdfParams {
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };
    /// Only for tests (`TOK_TEST_FAST_KDF=1`): offers no real protection.
    pub const FAST: KdfParams = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };

    pub(super) fn from_env() -> Self {
        if std::env::var("TOK_TEST_FAST_KDF").as_deref() == Ok("1") {
            Self::FAST
        } else {
            Self::DEFAULT
        }
    }
}

/// The derived cipher key and what is needed to write the header again; zeroized on drop.
pub(crate) struct Key {
    key: Zeroizing<[u8; 32]>,
    salt: [u8; SALT_LEN],
    check: [u8; CHECK_LEN],
    params: KdfParams,
}

impl Key {
    /// A key for a new store: a fresh salt, and this passphrase from now on.
    pub(super) fn create(p: &Passphrase, params: KdfParams) -> Result<Self, StoreError> {
        let mut salt = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let (key, check) = derive(p, &salt, params)?;
        Ok(Self {
            key,
            salt,
            check,
            params,
        })
    }

    /// Encrypts `plain` with a fresh nonce; returns the whole file's bytes.
    pub(super) fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let header = header(self.params, &self.salt, &self.check, &nonce);
        let cipher = XChaCha20Poly1305::new(self.key.as_slice().into());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &header,
                },
            )
            .map_err(|_| StoreError::Backend {
                backend: "file",
                reason: "encryption failed".into(),
            })?;
        let mut bytes = header;
        bytes.extend_from_slice(&sealed);
        Ok(bytes)
    }
}

fn header(params: KdfParams, salt: &[u8], check: &[u8], nonce: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(MAGIC);
    h.push(KDF_ARGON2ID);
    h.extend_from_slice(&params.m_cost_kib.to_le_bytes());
    h.extend_from_slice(&params.t_cost.to_le_bytes());
    h.extend_from_slice(&params.p_cost.to_le_bytes());
    h.extend_from_slice(salt);
    h.extend_from_slice(check);
    h.extend_from_slice(nonce);
    h
}

/// The decoded header of a store file, borrowed from its bytes.
pub(crate) struct Header<'a> {
    pub(crate) params: KdfParams,
    salt: [u8; SALT_LEN],
    check: [u8; CHECK_LEN],
    nonce: &'a [u8],
    /// Bytes 0..HEADER_LEN: the associated data.
    head: &'a [u8],
    /// Ciphertext and tag.
    sealed: &'a [u8],
}

/// Decodes the header without deriving a key; the error is the reason the file is corrupt.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header<'_>, String> {
    if bytes.len() < HEADER_LEN + 16 || !bytes.starts_with(MAGIC) {
        return Err("not a tok store (bad header)".into());
    }
    let (head, sealed) = bytes.split_at(HEADER_LEN);
    let mut at = MAGIC.len();
    if head[at] != KDF_ARGON2ID {
        return Err("unknown key derivation".into());
    }
    at += 1;
    let u32_at = |at: &mut usize| {
        let v = u32::from_le_bytes(head[*at..*at + 4].try_into().expect("4 bytes"));
        *at += 4;
        v
    };
    let params = KdfParams {
        m_cost_kib: u32_at(&mut at),
        t_cost: u32_at(&mut at),
        p_cost: u32_at(&mut at),
    };
    if params.m_cost_kib > MAX_M_COST_KIB
        || params.t_cost > MAX_T_COST
        || params.p_cost > MAX_P_COST
    {
        return Err(format!(
            "its header asks for a key derivation of {} KiB, {} passes and {} lanes, beyond what tok writes (at most {MAX_M_COST_KIB} KiB, {MAX_T_COST} passes, {MAX_P_COST} lanes), so it was not written by tok",
            params.m_cost_kib, params.t_cost, params.p_cost
        ));
    }
    let salt: [u8; SALT_LEN] = head[at..at + SALT_LEN].try_into().expect("salt");
    at += SALT_LEN;
    let check: [u8; CHECK_LEN] = head[at..at + CHECK_LEN].try_into().expect("check");
    at += CHECK_LEN;
    let nonce = &head[at..at + NONCE_LEN];
    Ok(Header {
        params,
        salt,
        check,
        nonce,
        head,
        sealed,
    })
}

/// Checks the passphrase and decrypts; a wrong passphrase and a damaged file are told apart.
pub(crate) fn open(
    path: &Path,
    bytes: &[u8],
    p: &Passphrase,
) -> Result<(Key, Zeroizing<Vec<u8>>), StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let Header {
        params,
        salt,
        check,
        nonce,
        head,
        sealed,
    } = parse_header(bytes).map_err(|reason| corrupt(&reason))?;
    let (key, derived_check) =
        derive(p, &salt, params).map_err(|_| corrupt("invalid key derivation parameters"))?;
    if !constant_time_eq(&derived_check, &check) {
        return Err(StoreError::WrongPassphrase);
    }
    let cipher = XChaCha20Poly1305::new(key.as_slice().into());
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: head,
                },
            )
            .map_err(|_| corrupt("authentication failed (the file was modified or truncated)"))?,
    );
    Ok((
        Key {
            key,
            salt,
            check,
            params,
        },
        plain,
    ))
}

type Derived = (Zeroizing<[u8; 32]>, [u8; CHECK_LEN]);

fn derive(p: &Passphrase, salt: &[u8], k: KdfParams) -> Result<Derived, StoreError> {
    let params = Params::new(k.m_cost_kib, k.t_cost, k.p_cost, Some(64)).map_err(|e| {
        StoreError::Backend {
            backend: "file",
            reason: format!("bad key derivation parameters: {e}"),
        }
    })?;
    let mut out = Zeroizing::new([0u8; 64]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(p.expose().as_bytes(), salt, out.as_mut_slice())
        .map_err(|e| StoreError::Backend {
            backend: "file",
            reason: format!("key derivation failed: {e}"),
        })?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&out[..32]);
    let mut check = [0u8; CHECK_LEN];
    check.copy_from_slice(&out[32..]);
    Ok((key, check))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
