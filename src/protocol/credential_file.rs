//! The job credential: what `tok delegate` hands a job and the 0600 file it lives in
//! (`crate::credential` reads, renews and writes it). A format of its own, versioned apart from
//! the socket protocol, because the file outlives the agent that wrote it.

use super::AudienceParam;
use crate::secret::{ClientSecret, RefreshToken};
use serde::{Deserialize, Serialize};

/// Format version of [`JobCredential`] files; readers refuse versions they do not know.
pub const CREDENTIAL_FORMAT: u32 = 1;

/// Everything a job needs to renew its own access tokens, and nothing more: a delegated
/// refresh token for a narrowed grant (never the user's own), where and as whom to use it, and
/// what it may be used for. This is both the agent's answer to [`Request::Delegate`](super::Request::Delegate) and, as
/// JSON, the 0600 credential file (`crate::credential`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobCredential {
    /// [`CREDENTIAL_FORMAT`].
    pub tok_credential: u32,
    /// A random id naming this delegation in `tok status` and the agent's record.
    pub id: String,
    /// The account it was delegated from (for messages only).
    pub account: String,
    pub issuer: String,
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    pub client_id: String,
    /// Only for a confidential client, and then `tok delegate` says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<ClientSecret>,
    /// `client_secret_basic` or `client_secret_post`, when there is a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<String>,
    pub refresh_token: RefreshToken,
    /// The delegated scopes: a job may ask for these or narrower ones.
    pub scopes: Vec<String>,
    /// The delegated audiences: a job may ask for these or a subset.
    pub audiences: Vec<String>,
    pub audience_param: AudienceParam,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds after which tok refuses the credential.
    pub not_after: u64,
    /// The CA bundle (PEM) of the account's `--ca-file`, so worker nodes trust the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
}
