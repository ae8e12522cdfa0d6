//! Every message the CLI and the agent exchange, in one place, so both sides share one truth.
//!
//! A frame on the socket is an [`Envelope`] (client → agent) or a [`Response`] (agent → client),
//! JSON-encoded inside the length-capped framing of [`crate::wire`]. Every envelope carries
//! [`PROTOCOL_VERSION`]; an agent that speaks another version answers
//! [`Response::VersionMismatch`] and the client restarts it. Bump the version by hand whenever a
//! message changes shape.

mod credential_file;
mod kinds;
mod login;

pub use credential_file::{JobCredential, CREDENTIAL_FORMAT};
pub use kinds::{AudienceParam, LoginEnd, LoginEndSource, Narrowing, StoreKind};
pub use login::{BrowserPrompt, Desktop, LoginFlow};

use crate::secret::{AccessToken, ClientSecret, Passphrase, RefreshToken};
use serde::{Deserialize, Serialize};

/// The wire version. Bump on any incompatible change to the types below.
pub const PROTOCOL_VERSION: u32 = 4;

/// What the client sends: the version it speaks and one request.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub version: u32,
    pub request: Request,
}

impl Envelope {
    pub fn new(request: Request) -> Self {
        Self {
            version: PROTOCOL_VERSION,
            request,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Liveness and version probe; answered with [`Response::Hello`].
    Ping,
    /// An access token for an account, scope set and audience set.
    Token(TokenRequest),
    /// Start a login. The agent answers [`Response::DeviceCode`] or [`Response::BrowserLogin`]
    /// (none for `--flow refresh`) and then, on the same connection, [`Response::LoggedIn`] or an
    /// error. Closing the connection cancels the login.
    Login(LoginRequest),
    /// Revoke (unless `keep_remote`) and forget an account's refresh token.
    Logout {
        account: String,
        keep_remote: bool,
        forget: bool,
    },
    /// A job credential: a delegated refresh token obtained by RFC 8693 token exchange, for a
    /// new grant with exactly the given scopes and audiences. Answered with
    /// [`Response::Delegated`].
    Delegate(DelegateRequest),
    /// Copy every login (refresh tokens, client secrets, and for a shared store the account
    /// definitions) into another store, so that the agent can be restarted on it without a new
    /// login. Answered with [`Response::Migrated`].
    Migrate {
        to: StoreKind,
        /// For a target `file` store: its passphrase (a new one is set by this write).
        passphrase: Option<Passphrase>,
    },
    /// A job credential was revoked: drop it from the live delegations `tok status` shows.
    ForgetDelegation { id: String },
    /// Accounts, backend and cached tokens (never token values).
    Status,
    /// Hand the file store's passphrase to the agent.
    Unlock { passphrase: Passphrase },
    /// Drop the file store's key and every cached access token.
    Lock,
    /// Shut the agent down.
    Stop,
    /// Take over an account from another agent (`tok import`): its definition and refresh
    /// token, stored as a login would store them. Answered with [`Response::LoggedIn`].
    Import(ImportRequest),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportRequest {
    pub account: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
    /// Scopes of the login, besides `openid offline_access`.
    pub scopes: Vec<String>,
    pub audience_param: AudienceParam,
    pub ca_file: Option<String>,
    pub refresh_token: RefreshToken,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRequest {
    /// Account name; `None` means the default account (or the one matching `issuer`).
    pub account: Option<String>,
    /// Pick the account by issuer URL instead of by name.
    pub issuer: Option<String>,
    /// Normalised scopes (see [`crate::scope`]); empty means the account's login scopes.
    pub scopes: Vec<String>,
    /// Normalised audiences; empty means no audience request.
    pub audiences: Vec<String>,
    /// Minimum remaining lifetime in seconds; `None` means the account's default.
    pub min_valid_secs: Option<u64>,
    /// Refuse a token whose granted scopes are wider than asked (else: a warning).
    #[serde(default)]
    pub exact_scope: bool,
    /// Refresh even when a cached token would do (`tok get --force`).
    #[serde(default)]
    pub force: bool,
}

impl TokenRequest {
    /// The account's own token (its login scopes, no audience) with at least `min_valid_secs`
    /// left: what a token exchange trades in.
    pub fn login_token(account: &str, min_valid_secs: u64) -> Self {
        Self {
            account: Some(account.to_string()),
            min_valid_secs: Some(min_valid_secs),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DelegateRequest {
    /// Account name; `None` means the default account (or the one matching `issuer`).
    pub account: Option<String>,
    pub issuer: Option<String>,
    /// Normalised scopes the job may use; empty means the account's login scopes.
    pub scopes: Vec<String>,
    /// Normalised audiences the job may ask for.
    pub audiences: Vec<String>,
    /// How long the credential may be used, in seconds (the provider may cap it).
    pub lifetime_secs: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LoginRequest {
    /// `None`: derive the name from the issuer's host.
    pub account: Option<String>,
    /// `None`: reuse the known account's issuer.
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<ClientSecret>,
    pub scopes: Vec<String>,
    pub audience_param: Option<AudienceParam>,
    pub ca_file: Option<String>,
    pub make_default: bool,
    /// `--lifetime`: the agent forgets the login this many seconds after it.
    #[serde(default)]
    pub lifetime_secs: Option<u64>,
    /// `--confirm` / `--no-confirm`; `None` keeps the account's setting.
    #[serde(default)]
    pub confirm: Option<bool>,
    /// Quirks from a preset; `None` keeps the account's (or the default).
    #[serde(default)]
    pub narrowing: Option<Narrowing>,
    #[serde(default)]
    pub refresh_invalidates_tokens: Option<bool>,
    /// `--flow`; `None` keeps the flow the account logged in with last (else `auto`).
    #[serde(default)]
    pub flow: Option<LoginFlow>,
    /// The CLI's desktop facts, for `auto` (the agent's environment is not the user's).
    #[serde(default)]
    pub desktop: Option<Desktop>,
    /// `--flow refresh`: the refresh token to check and store.
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    /// How long the code flow waits for the browser (`TOK_LOGIN_TIMEOUT`); `None`: 5 minutes.
    #[serde(default)]
    pub browser_timeout_secs: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Hello(AgentInfo),
    Token(TokenGrant),
    DeviceCode(DeviceCodePrompt),
    /// The code flow's URL for the CLI to open in a browser.
    BrowserLogin(BrowserPrompt),
    LoggedIn {
        account: String,
        issuer: String,
        client_id: String,
    },
    LoggedOut {
        account: String,
        revoked: bool,
        note: Option<String>,
    },
    /// The job credential, for the CLI to write to the file the user named.
    Delegated(JobCredential),
    /// The accounts whose logins were copied by [`Request::Migrate`].
    Migrated {
        accounts: Vec<String>,
        to: String,
    },
    Status(StatusReport),
    Done,
    /// The agent speaks another protocol version; the client should restart it.
    VersionMismatch {
        agent_version: u32,
        agent_pid: u32,
    },
    Error(ErrorReply),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentInfo {
    pub pid: u32,
    pub version: String,
    pub protocol: u32,
    pub socket: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenGrant {
    pub token: AccessToken,
    /// Unix seconds.
    pub expires_at: u64,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub account: String,
    pub issuer: String,
    /// Something the user should know about this token (shown once on stderr).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// The login ends soon: shown on stderr, at most once a day per account (the agent
    /// decides when).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_warning: Option<String>,
}

/// A delegation the agent made, as `tok status` shows it (never the token).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DelegationStatus {
    pub id: String,
    pub created_at: u64,
    pub not_after: u64,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    /// `sha256:` and the first 12 hex digits of the delegated refresh token as issued.
    pub fingerprint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceCodePrompt {
    pub verification_uri: String,
    /// The URI with the code embedded; only a login link, but shown as a QR code.
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    pub expires_in_secs: u64,
    /// Which flow the agent chose and why, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusReport {
    pub agent: AgentInfo,
    /// `tok lock` is in force: no tokens are served until `tok unlock`.
    #[serde(default)]
    pub agent_locked: bool,
    pub store: StoreStatus,
    pub accounts: Vec<AccountStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoreStatus {
    pub backend: String,
    pub reason: String,
    pub locked: bool,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountStatus {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub default: bool,
    pub scopes: Vec<String>,
    pub audience_param: AudienceParam,
    /// `"ok"`, `"needs login"`, `"refreshing"` (its refresh token is in use right now), `"locked"`
    /// (the store must be unlocked to tell) or `"unknown"`.
    pub state: String,
    /// Why the account needs a login, when it does.
    pub reason: Option<String>,
    pub cached: Vec<CachedTokenStatus>,
    /// Job credentials delegated from this account that have not reached `not_after`.
    #[serde(default)]
    pub delegations: Vec<DelegationStatus>,
    /// Set when the provider granted wider scopes than asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_warning: Option<String>,
    /// Each use must be confirmed (`tok login --confirm`).
    #[serde(default)]
    pub confirm: bool,
    /// When the login's lifetime ends (`tok login --lifetime`), unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_not_after: Option<u64>,
    /// When the login ends, as far as anyone said (the earliest of the provider's word and
    /// `--lifetime`), unix seconds; with `login_end_source`, who said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_ends_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_end_source: Option<LoginEndSource>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CachedTokenStatus {
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub expires_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorReply {
    pub kind: ErrorKind,
    pub message: String,
}

/// Classes of failure the CLI maps to exit codes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad arguments or an unknown account.
    Usage,
    /// The account has no usable refresh token: run `tok login`.
    NeedsLogin,
    /// The provider refused (access denied, invalid scope, …).
    Denied,
    /// Network, timeout, 5xx or garbage from the provider: try again later.
    Provider,
    /// The file store is locked: run `tok unlock`.
    Locked,
    /// The agent is locked (`tok lock`): only `tok unlock` resumes it, never an automatic
    /// unlock.
    AgentLocked,
    /// Anything else inside the agent.
    Internal,
}

#[cfg(test)]
mod tests;
