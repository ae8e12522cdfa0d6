//! The small enums that travel on the wire and in files (a store backend, how a provider
//! takes an audience, how tokens are narrowed): they belong to the protocol, so that the
//! modules that act on them (`store`, `oauth`, `cli`) import them from below.

use serde::{Deserialize, Serialize};

/// A backend choice (`--store`). `Auto` is only a choice, never an opened backend's kind.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Auto,
    Keyring,
    Keyutils,
    File,
    Memory,
    /// OpenBao or HashiCorp Vault (KV version 2), shared by every node; `vault` is an alias.
    #[value(name = "openbao", alias = "vault")]
    #[serde(rename = "openbao", alias = "vault")]
    OpenBao,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Auto => "auto",
            StoreKind::Keyring => "keyring",
            StoreKind::Keyutils => "keyutils",
            StoreKind::File => "file",
            StoreKind::Memory => "memory",
            StoreKind::OpenBao => "openbao",
        }
    }
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an account asks the provider for an audience.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AudienceParam {
    /// RFC 8707 `resource=` (one parameter per audience).
    #[default]
    Resource,
    /// The older `audience=` parameter (INDIGO IAM, Keycloak).
    Audience,
}

/// How tok asks a provider for a token narrower than the login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Narrowing {
    /// A refresh with the narrowed `scope` (RFC 6749 §6): most providers.
    #[default]
    Refresh,
    /// RFC 8693 token exchange of a login-scope token, which leaves the grant untouched: for
    /// providers that narrow the grant for good on a narrowed refresh.
    Exchange,
    /// Not at all: refresh with the login scopes and let the resource enforce its own rules.
    None,
}

impl Narrowing {
    pub fn is_default(&self) -> bool {
        *self == Narrowing::Refresh
    }
}

/// When a login ends and who said so: the provider (`refresh_expires_in`, the refresh token's
/// own `exp`) or tok's own `--lifetime`. Kept with the account and shown by `tok status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginEnd {
    /// Unix seconds.
    pub at: u64,
    pub source: LoginEndSource,
}

impl LoginEnd {
    /// The earlier of two ends, either of which may be unknown: the earliest end wins.
    pub fn earliest(a: Option<LoginEnd>, b: Option<LoginEnd>) -> Option<LoginEnd> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if b.at < a.at { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// Who said when a login ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginEndSource {
    /// The token endpoint's `refresh_expires_in` (Keycloak; an idle window each refresh moves).
    RefreshExpiresIn,
    /// The `exp` claim of a refresh token that is a JWT.
    RefreshTokenExp,
    /// `tok login --lifetime`: the agent forgets the login then.
    Lifetime,
}

impl LoginEndSource {
    /// How messages name the source, e.g. "login ends in 2 days (provider: refresh_expires_in)".
    pub fn describe(self) -> &'static str {
        match self {
            LoginEndSource::RefreshExpiresIn => "provider: refresh_expires_in",
            LoginEndSource::RefreshTokenExp => "provider: the refresh token's exp",
            LoginEndSource::Lifetime => "tok login --lifetime",
        }
    }

    /// A short form for one-line warnings.
    pub fn short(self) -> &'static str {
        match self {
            LoginEndSource::RefreshExpiresIn | LoginEndSource::RefreshTokenExp => "provider limit",
            LoginEndSource::Lifetime => "its --lifetime",
        }
    }
}
