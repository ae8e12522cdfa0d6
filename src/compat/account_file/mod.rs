//! oidc-agent's account files (what `oidc-gen` writes to `~/.config/oidc-agent/NAME`), read and
//! decrypted in Rust so `tok import` can take an account over without oidc-agent running.
//!
//! The format since oidc-agent 2.1 is six lines and a version line: the ciphertext length, the
//! base64 nonce, the base64 salt, the parameters, the base64 `crypto_secretbox_easy` ciphertext
//! and a base64 password check value, then `Generated using version: X.Y.Z`. The key is libsodium's
//! `crypto_pwhash` (Argon2id v1.3, OPSLIMIT_INTERACTIVE = 2 passes, MEMLIMIT_INTERACTIVE =
//! 64 MiB, parallelism 1) over the password and salt, 64 bytes: the first 32 encrypt, the last
//! 32 are stored to tell a wrong password from a damaged file. The plaintext is the account as
//! JSON. GPG-encrypted files and the hex format before 2.1 are refused with a reason.

use super::crypto;
use crate::secret::{ClientSecret, RefreshToken};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use zeroize::Zeroizing;

/// The one parameter set oidc-agent has ever written: nonce, salt, MAC and key lengths.
const KNOWN_LENGTHS: [usize; 4] = [24, 16, 16, 32];
/// libsodium's crypto_pwhash_MEMLIMIT_INTERACTIVE, in KiB as the argon2 crate counts.
const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
/// libsodium's crypto_pwhash_OPSLIMIT_INTERACTIVE.
const ARGON2_PASSES: u32 = 2;

/// One oidc-agent account, as tok needs it.
#[derive(Debug)]
pub struct OidcAgentAccount {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
    pub refresh_token: RefreshToken,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    /// The CA bundle oidc-agent used for this provider.
    pub cert_path: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountFileError {
    #[error("it is encrypted with GPG (oidc-gen --pgp); tok reads only password-encrypted files: re-encrypt it with a password (`oidc-gen -u NAME`) or run `tok login`")]
    Gpg,
    #[error("it was written by an oidc-agent older than 2.1 (hex format); update it with `oidc-gen -u NAME` from a newer oidc-agent, or run `tok login`")]
    TooOld,
    #[error("it is not an oidc-agent account file (unknown format)")]
    Unknown,
    #[error("the password is wrong")]
    WrongPassword,
    #[error("it is damaged: {0}")]
    Damaged(&'static str),
    #[error("it holds no refresh token; run `tok login` for this account instead")]
    NoRefreshToken,
}

/// Decrypts an account file's content with its password.
pub fn decrypt(content: &[u8], password: &str) -> Result<OidcAgentAccount, AccountFileError> {
    let text = std::str::from_utf8(content).map_err(|_| AccountFileError::Unknown)?;
    if text.trim_start().starts_with("-----BEGIN PGP MESSAGE-----") {
        return Err(AccountFileError::Gpg);
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let base64_format = lines.len() >= 6 && lines[3].split(':').count() == 8;
    if !base64_format {
        // Before 2.1: one line of hex (and perhaps a version line).
        let hex = |l: &str| l.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        return Err(match lines.as_slice() {
            [first, ..] if lines.len() <= 2 && first.len() > 8 && hex(first) => {
                AccountFileError::TooOld
            }
            _ => AccountFileError::Unknown,
        });
    }
    let sealed_len: usize = lines[0].parse().map_err(|_| AccountFileError::Unknown)?;
    let params: Vec<&str> = lines[3].split(':').collect();
    let lengths: Vec<usize> = params
        .iter()
        .take(4)
        .filter_map(|p| p.parse().ok())
        .collect();
    if params.len() != 8 || lengths != KNOWN_LENGTHS {
        return Err(AccountFileError::Unknown);
    }
    let decode = |s: &str, what| {
        BASE64
            .decode(s)
            .map_err(|_| AccountFileError::Damaged(what))
    };
    let nonce = decode(lines[1], "the nonce is not base64")?;
    let salt = decode(lines[2], "the salt is not base64")?;
    let sealed = Zeroizing::new(decode(lines[4], "the ciphertext is not base64")?);
    let check = decode(lines[5], "the password check is not base64")?;
    if sealed.len() != sealed_len || salt.len() != 16 || check.len() != 32 {
        return Err(AccountFileError::Damaged("its lengths do not match"));
    }
    let keys = derive_keys(password, &salt)?;
    let (key, expected_check) = keys.split_at(32);
    if !constant_time_eq(expected_check, &check) {
        return Err(AccountFileError::WrongPassword);
    }
    let key: &[u8; 32] = key.try_into().expect("32 bytes");
    let plain = crypto::secretbox_open(key, &nonce, &sealed)
        .map_err(|_| AccountFileError::Damaged("the ciphertext does not decrypt"))?;
    parse_account(&plain)
}

fn derive_keys(password: &str, salt: &[u8]) -> Result<Zeroizing<[u8; 64]>, AccountFileError> {
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, 1, Some(64))
        .expect("oidc-agent's Argon2 parameters are valid");
    let mut out = Zeroizing::new([0u8; 64]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut out[..])
        .map_err(|_| AccountFileError::Damaged("the salt is unusable"))?;
    Ok(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The fields tok uses of oidc-agent's account JSON; the rest (a password-flow password, say)
/// is skipped without being kept.
#[derive(serde::Deserialize)]
struct RawAccount {
    name: Option<String>,
    issuer_url: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<ClientSecret>,
    refresh_token: Option<RefreshToken>,
    scope: Option<String>,
    audience: Option<String>,
    cert_path: Option<String>,
}

fn parse_account(plain: &[u8]) -> Result<OidcAgentAccount, AccountFileError> {
    // The plaintext may end in NUL (C strings).
    let end = plain.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let raw: RawAccount = serde_json::from_slice(&plain[..end])
        .map_err(|_| AccountFileError::Damaged("the decrypted account is not JSON"))?;
    let text = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let words = |v: Option<String>| {
        v.map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let refresh_token = raw
        .refresh_token
        .filter(|t| !t.expose().trim().is_empty())
        .ok_or(AccountFileError::NoRefreshToken)?;
    Ok(OidcAgentAccount {
        name: text(raw.name).ok_or(AccountFileError::Damaged("the account has no name"))?,
        issuer: text(raw.issuer_url)
            .or_else(|| text(raw.issuer))
            .ok_or(AccountFileError::Damaged("the account has no issuer"))?,
        client_id: text(raw.client_id)
            .ok_or(AccountFileError::Damaged("the account has no client id"))?,
        client_secret: raw.client_secret.filter(|s| !s.expose().is_empty()),
        refresh_token,
        scopes: words(raw.scope),
        audiences: words(raw.audience),
        cert_path: text(raw.cert_path),
    })
}

#[cfg(test)]
mod tests;
