//! The RFC 8628 device flow: start an authorization, then poll until the user decides.

use super::{base_client, basic_error, chain, classify, token_set, token_url};
use super::{ClientCreds, Metadata, OauthError, TokenSet};
use oauth2::{
    DeviceAuthorizationUrl, DeviceCodeErrorResponseType, RequestTokenError, Scope,
    StandardDeviceAuthorizationResponse,
};
use std::time::Duration;

/// Never poll slower than this after network errors (oauth2 doubles the interval on error).
const MAX_POLL_BACKOFF: Duration = Duration::from_secs(300);

/// Starts an RFC 8628 device authorization.
pub async fn device_authorize(
    http: &reqwest::Client,
    md: &Metadata,
    creds: &ClientCreds,
    scopes: &[String],
) -> Result<StandardDeviceAuthorizationResponse, OauthError> {
    let Some(endpoint) = &md.device_authorization_endpoint else {
        return Err(OauthError::Config(format!(
            "{} does not support the device-code flow (no device_authorization_endpoint)",
            md.issuer
        )));
    };
    let url = DeviceAuthorizationUrl::new(endpoint.clone())
        .map_err(|e| OauthError::Config(format!("bad device endpoint {endpoint}: {e}")))?;
    let client = base_client(md, creds).set_device_authorization_url(url);
    client
        .exchange_device_code()
        .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
        .request_async(http)
        .await
        .map_err(|e| classify(e, "device authorization"))
}

/// Polls until the user approves, denies, or the code expires. Honours `interval` and adds 5 s
/// on `slow_down` (RFC 8628 §3.5); network errors never make it poll faster.
pub async fn device_poll(
    http: &reqwest::Client,
    md: &Metadata,
    creds: &ClientCreds,
    details: &StandardDeviceAuthorizationResponse,
) -> Result<TokenSet, OauthError> {
    let client = base_client(md, creds).set_token_uri(token_url(md)?);
    let result = client
        .exchange_device_access_token(details)
        .set_max_backoff_interval(MAX_POLL_BACKOFF)
        .request_async(http, tokio::time::sleep, None)
        .await;
    match result {
        Ok(tokens) => Ok(token_set(&tokens)),
        Err(RequestTokenError::ServerResponse(e)) => Err(match e.error() {
            DeviceCodeErrorResponseType::AccessDenied => OauthError::AccessDenied,
            DeviceCodeErrorResponseType::ExpiredToken => OauthError::Expired,
            DeviceCodeErrorResponseType::Basic(b) => basic_error(b, e.error_description().cloned()),
            other => OauthError::Refused {
                code: other.to_string(),
                description: e.error_description().cloned(),
            },
        }),
        Err(RequestTokenError::Request(e)) => Err(OauthError::Transient(format!(
            "polling the token endpoint failed: {}",
            chain(&e)
        ))),
        Err(RequestTokenError::Parse(..)) => Err(OauthError::Transient(
            "the token endpoint sent an unreadable response".into(),
        )),
        Err(RequestTokenError::Other(m)) => Err(OauthError::Transient(m)),
    }
}
