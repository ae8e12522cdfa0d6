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
    discover, http_client, http_client_trusting, register, request_timeout, Metadata, Registration,
    CONNECT_TIMEOUT, LOOPBACK_REDIRECT_URI, REQUEST_TIMEOUT,
};
pub(crate) use errors::{classify, desc};
pub use errors::{from_code, OauthError, Outcome};
pub use exchange::{delegate, exchange_unsupported, narrow, Delegated, TOKEN_EXCHANGE_GRANT};
pub use form::client_auth_method;
pub use tokens::{jwt_expiry, jwt_id, jwt_scopes, refresh, revoke};

use crate::secret::{AccessToken, ClientSecret, RefreshToken};
use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{AuthType, ClientId, StandardRevocableToken, TokenResponse, TokenUrl};
use std::time::Duration;

/// What a token endpoint gave us.
#[derive(Debug)]
pub struct TokenSet {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub expires_in: Option<Duration>,
    pub scopes: Option<Vec<String>>,
}

/// The OAuth2 client identity tok uses at a provider.
#[derive(Debug, Clone)]
pub struct ClientCreds {
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
}

pub(crate) fn base_client(md: &Metadata, creds: &ClientCreds) -> BasicClient {
    client_for(md, creds)
}

/// An oauth2-crate client whose token responses are `TR` (the code flow reads the ID token).
pub(crate) type ClientFor<TR> = oauth2::Client<
    BasicErrorResponse,
    TR,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// The client tok is at this provider, authenticating the way the provider's metadata asks.
pub(crate) fn client_for<TR: TokenResponse>(md: &Metadata, creds: &ClientCreds) -> ClientFor<TR> {
    let mut client = ClientFor::<TR>::new(ClientId::new(creds.client_id.clone()));
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

pub(crate) fn token_set(tokens: &impl TokenResponse) -> Result<TokenSet, OauthError> {
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
