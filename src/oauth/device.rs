//! The RFC 8628 device flow: start an authorization, then poll until the user decides.

use super::capped::CappedHttp;
use super::{base_client, classify, token_set, token_url};
use super::{ClientCreds, Metadata, OauthError, TokenSet};
use oauth2::{DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse};
use std::time::Duration;

/// Never poll slower than this after network errors (oauth2 doubles the interval on error).
const MAX_POLL_BACKOFF: Duration = Duration::from_secs(300);
/// The polling interval a provider may ask for is held between these: `interval: 0` would
/// poll many times a second, a huge one would outlive the code.
const MIN_POLL_INTERVAL_SECS: u64 = 1;
const MAX_POLL_INTERVAL_SECS: u64 = 60;
/// Device codes living longer than this are treated as living this long.
const MAX_CODE_LIFETIME_SECS: u64 = 3600;

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
    let details = client
        .exchange_device_code()
        .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
        .request_async(&CappedHttp(http))
        .await
        .map_err(|e| classify(e, "device authorization"))?;
    sane(details)
}

/// The provider's answer with its interval and lifetime held to sane bounds, and its
/// verification URIs held to the https rule (a `javascript:` or `file:` "link" is refused).
fn sane(
    details: StandardDeviceAuthorizationResponse,
) -> Result<StandardDeviceAuthorizationResponse, OauthError> {
    showable("verification_uri", details.verification_uri())?;
    if let Some(complete) = details.verification_uri_complete() {
        showable("verification_uri_complete", complete.secret())?;
    }
    let mut value = serde_json::to_value(&details)
        .map_err(|e| OauthError::Transient(format!("device authorization answer: {e}")))?;
    let clamp = |v: &serde_json::Value, lo: u64, hi: u64, dflt: u64| {
        serde_json::Value::from(v.as_u64().unwrap_or(dflt).clamp(lo, hi))
    };
    value["expires_in"] = clamp(&value["expires_in"], 1, MAX_CODE_LIFETIME_SECS, 600);
    // Poll at least three times in the code's life, so a huge interval cannot outlive it.
    let lifetime = value["expires_in"].as_u64().unwrap_or(600);
    let most = (lifetime / 3).clamp(MIN_POLL_INTERVAL_SECS, MAX_POLL_INTERVAL_SECS);
    value["interval"] = clamp(&value["interval"], MIN_POLL_INTERVAL_SECS, most, 5);
    serde_json::from_value(value)
        .map_err(|e| OauthError::Transient(format!("device authorization answer: {e}")))
}

/// A link the user is asked to open must pass the rule every endpoint passes (`check_url`:
/// https, or http on loopback); the refusal names the field and its scheme but never repeats
/// the provider's text (issue 21).
fn showable(field: &str, value: &str) -> Result<(), OauthError> {
    if super::discovery::check_url(field, value).is_ok() {
        return Ok(());
    }
    let why = match url::Url::parse(value) {
        Ok(u) if u.scheme() == "http" => "plain http to a host that is not loopback".to_string(),
        Ok(u) if u.scheme() == "https" => "no host".to_string(),
        Ok(u) => format!("scheme `{}`", u.scheme()),
        Err(_) => "not a URL".to_string(),
    };
    Err(OauthError::Config(format!(
        "the provider's device answer has a {field} tok will not show ({why}; only https links, or http on loopback, are shown); nothing was stored: tell the provider's administrators"
    )))
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
    // Polling ends when the code expires, whatever the provider keeps answering.
    let result = client
        .exchange_device_access_token(details)
        .set_max_backoff_interval(MAX_POLL_BACKOFF)
        .request_async(
            &CappedHttp(http),
            tokio::time::sleep,
            Some(details.expires_in()),
        )
        .await;
    match result {
        Ok(tokens) => token_set(&tokens),
        Err(e) => Err(classify(e, "polling the token endpoint")),
    }
}
