//! Provider I/O and nothing else: discovery, dynamic registration, the device and code flows, refresh,
//! revocation, token exchange. Provider errors are classified here so the agent can tell "log in again" from
//! "try again later" — and no response body, which may hold a token, ever reaches an error.

mod capped;
mod code;
mod device;
pub(crate) mod discovery;
mod errors;
pub(crate) mod exchange;
pub(crate) mod form;
mod tokens;

pub use code::{authorization_request, exchange as exchange_code, probe, CodeRequest};
pub use device::{device_authorize, device_poll};
pub use discovery::{
    discover, http_client, http_client_trusting, recheck, register, request_timeout, Metadata,
    Registration, CONNECT_TIMEOUT, LOOPBACK_REDIRECT_URI, REQUEST_TIMEOUT,
};
pub(crate) use errors::{classify, desc};
pub use errors::{from_code, OauthError, Outcome};
pub use exchange::{delegate, exchange_unsupported, narrow, Delegated, TOKEN_EXCHANGE_GRANT};
pub use form::client_auth_method;
pub use tokens::{jwt_expiry, jwt_id, jwt_scopes, refresh, refresh_token_expiry, revoke};

use crate::secret::{AccessToken, ClientSecret, RefreshToken};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{AuthType, ClientId, EndpointNotSet, StandardRevocableToken, TokenResponse, TokenUrl};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a token endpoint gave us.
#[derive(Debug)]
pub struct TokenSet {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub expires_in: Option<Duration>,
    pub scopes: Option<Vec<String>>,
    /// How long the login (its refresh token) lasts from now, when the provider says
    /// (Keycloak's `refresh_expires_in`; `0`, "no limit", is not saying).
    pub refresh_expires_in: Option<Duration>,
}

/// What a token answer carries beyond RFC 6749 that tok reads: the oauth2 crate's basic
/// response drops unknown fields; Keycloak says when the login ends in one of them, and the
/// code flow checks the ID token's `nonce`.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct LoginFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_expires_in: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl std::fmt::Debug for LoginFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginFields")
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl LoginFields {
    /// The ID token, when the answer has one (code flow).
    pub(crate) fn id_token(&self) -> Option<&str> {
        self.id_token.as_deref()
    }
}

impl oauth2::ExtraTokenFields for LoginFields {}

/// A token answer as the oauth2 crate reads it for tok (the device flow's poll, the code
/// exchange).
pub type TokenAnswer = oauth2::StandardTokenResponse<LoginFields, BasicTokenType>;

/// The oauth2 client tok uses: the basic one, reading [`TokenAnswer`]s.
pub(crate) type TokClient<
    HasAuthUrl = EndpointNotSet,
    HasDeviceAuthUrl = EndpointNotSet,
    HasTokenUrl = EndpointNotSet,
> = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    HasDeviceAuthUrl,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
>;

/// The OAuth2 client identity tok uses at a provider.
#[derive(Debug, Clone)]
pub struct ClientCreds {
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
}

pub(crate) fn base_client(md: &Metadata, creds: &ClientCreds) -> TokClient {
    let mut client = TokClient::new(ClientId::new(creds.client_id.clone()));
    if let Some(secret) = &creds.client_secret {
        client = client.set_client_secret(oauth2::ClientSecret::new(secret.expose().to_string()));
        let methods = &md.token_endpoint_auth_methods_supported;
        if !methods.is_empty()
            && !methods.iter().any(|m| m == "client_secret_basic")
            && methods.iter().any(|m| m == "client_secret_post")
        {
            client = client.set_auth_type(AuthType::RequestBody);
        }
    }
    client
}

pub(crate) fn token_url(md: &Metadata) -> Result<TokenUrl, OauthError> {
    TokenUrl::new(md.token_endpoint.clone())
        .map_err(|e| OauthError::Config(format!("bad token endpoint {}: {e}", md.token_endpoint)))
}

pub(crate) fn token_set(tokens: &TokenAnswer) -> Result<TokenSet, OauthError> {
    let access_token = AccessToken::new(tokens.access_token().secret().as_str());
    check_access_token(&access_token)?;
    Ok(TokenSet {
        access_token,
        refresh_token: tokens
            .refresh_token()
            .map(|t| RefreshToken::new(t.secret().as_str())),
        expires_in: tokens.expires_in().map(|d| d.min(form::MAX_EXPIRES_IN)),
        scopes: tokens
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect()),
        refresh_expires_in: form::login_seconds(tokens.extra_fields().refresh_expires_in.as_ref()),
    })
}

/// An access token must be an RFC 6750 `b64token` (letters, digits, `-._~+/`, then `=`s):
/// anything else could not go into an `Authorization` header safely, and would reach a
/// terminal or a shell line as it is.
pub(crate) fn check_access_token(token: &AccessToken) -> Result<(), OauthError> {
    let t = token.expose().as_bytes();
    let body_len = t.len() - t.iter().rev().take_while(|&&b| b == b'=').count();
    let ok = body_len > 0
        && t[..body_len]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b));
    if ok {
        Ok(())
    } else {
        Err(OauthError::Transient(
            "the provider sent an access token with characters RFC 6750 does not allow (or an empty one); it was not used".into(),
        ))
    }
}
