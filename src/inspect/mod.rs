//! Reading an access token without trusting it, for `tok inspect` and `tok get --inspect`.
//!
//! When a storage element refuses a token, the question is almost always what the token says:
//! which scopes, which audience, how long it lives, and whether the provider issued a WLCG
//! profile token at all. This module decodes a JWT's claims — with **no signature check**: tok
//! is not the token's audience and holds none of the provider's keys, so nothing here is
//! verified — and lints them against the WLCG common JWT profile. Everything is a pure function
//! of the token text and the current time, so every rule is unit-tested; the command that reads
//! stdin and prints lives in `cmd::inspect`.

use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt::Write;

mod decode;
mod lint;
mod render;
#[cfg(test)]
mod tests;

pub use decode::{decode, extract};
use lint::*;
pub use lint::{check_audience, check_scope, lint, Finding, Level};
use render::*;
pub use render::{relative, render, span, summary, to_json, undecodable, Summary};

/// The audience that means "any relying party" in the WLCG profile.
pub const ANY_AUDIENCE: &str = "https://wlcg.cern.ch/jwt/v1/any";

/// The longest access-token lifetime the WLCG profile recommends (1 h is typical).
pub const MAX_LIFETIME_SECS: i64 = 6 * 3600;

/// How far in the future `iat` may be before it is worth a finding: clocks drift a little.
pub const CLOCK_LEEWAY_SECS: i64 = 60;

/// OpenID Connect claims that identify a person. The WLCG profile keeps them out of access
/// tokens: an access token travels to every storage element and job it is used with.
pub const PERSONAL_CLAIMS: &[&str] = &[
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "phone_number",
    "phone_number_verified",
    "address",
    "birthdate",
    "picture",
    "profile",
    "website",
    "gender",
];

use crate::scope::{COMPUTE_SCOPES, STORAGE_SCOPES};

/// Tokens longer than this are not access tokens (XRootD refuses JWTs over 4 KiB already).
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// What a token turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A signed JWT (JWS compact serialisation): header and claims, decoded, not verified.
    Jwt(Jwt),
    /// An encrypted JWT (JWE): only its audience can read it.
    Encrypted,
    /// Not a JWT: only the provider can say what it grants (introspection).
    Opaque,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

/// A token that cannot be what it claims to be. The message never quotes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);
