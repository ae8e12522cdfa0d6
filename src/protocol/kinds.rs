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
