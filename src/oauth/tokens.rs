//! Using a login: refresh (narrowed scopes, audiences), revocation, and reading a JWT's expiry.

use super::{desc, form};
use super::{ClientCreds, Metadata, OauthError, TokenSet};
use crate::protocol::AudienceParam;
use crate::secret::{AccessToken, RefreshToken};
use serde::Deserialize;

/// Exchanges the refresh token for an access token with narrowed scopes (none: the grant's) and
/// audiences.
pub async fn refresh(
    http: &reqwest::Client,
    md: &Metadata,
    creds: &ClientCreds,
    refresh_token: &RefreshToken,
    scopes: &[String],
    audiences: &[String],
    audience_param: AudienceParam,
) -> Result<TokenSet, OauthError> {
    let scope = scopes.join(" ");
    let joined = audiences.join(" ");
    let mut params: Vec<(&str, &str)> = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose()),
    ];
    if !scopes.is_empty() {
        params.push(("scope", &scope));
    }
    form::push_audiences(&mut params, audiences, &joined, audience_param);
    let what = format!("token refresh at {}", md.token_endpoint);
    let (status, body) = form::post(http, md, creds, &md.token_endpoint, &what, &params).await?;
    form::token_answer(&what, status, &body)
}

/// RFC 7009 revocation of a refresh token (with `token_type_hint=refresh_token`). A 4xx answer
/// is a refusal for good (`Refused`, quoting the status and the provider's error); 5xx and
/// transport trouble are `Transient`.
pub async fn revoke(
    http: &reqwest::Client,
    md: &Metadata,
    creds: &ClientCreds,
    refresh_token: &RefreshToken,
) -> Result<(), OauthError> {
    let Some(endpoint) = &md.revocation_endpoint else {
        return Err(OauthError::Config(format!(
            "{} has no revocation endpoint",
            md.issuer
        )));
    };
    let what = format!("revocation at {endpoint}");
    let params = [
        ("token", refresh_token.expose()),
        ("token_type_hint", "refresh_token"),
    ];
    let (status, body) = form::post(http, md, creds, endpoint, &what, &params).await?;
    if status.is_success() {
        return Ok(());
    }
    let error = form::error_body(&body);
    if status.is_client_error() {
        let (code, description) = error.unwrap_or_else(|| (format!("HTTP {status}"), None));
        return Err(OauthError::Refused {
            code,
            description: Some(format!(
                "{what} answered HTTP {status}{}",
                desc(&description)
            )),
        });
    }
    Err(OauthError::Transient(format!(
        "{what} answered HTTP {status}{}",
        error
            .map(|(c, d)| format!(" ({c}{})", desc(&d)))
            .unwrap_or_default()
    )))
}

/// The claims tok reads from a JWT access token (no signature check: tok is not its audience).
#[derive(Debug, Default, Deserialize)]
struct Claims {
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    jti: Option<String>,
}

fn jwt_claims(token: &AccessToken) -> Option<Claims> {
    claims_of(token.expose())
}

/// The payload of a JWT (or of anything shaped like one), unverified.
fn claims_of(token: &str) -> Option<Claims> {
    use base64::Engine;
    let mut parts = token.split('.');
    let payload = parts.nth(1)?;
    // A JWS has exactly three parts; an opaque token with one dot is not a JWT.
    parts.next()?;
    let bytes = zeroize::Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?,
    );
    serde_json::from_slice::<Claims>(&bytes).ok()
}

/// Reads `exp` from a JWT access token when the provider sent no `expires_in`.
pub fn jwt_expiry(token: &AccessToken) -> Option<u64> {
    jwt_claims(token)?.exp
}

/// Reads `exp` from a refresh token that is a JWT (Keycloak's are; most are opaque): when the
/// login ends at the latest. The payload only, unverified: tok is not its audience, and a
/// wrong `exp` can only make tok warn early or late.
pub fn refresh_token_expiry(token: &RefreshToken) -> Option<u64> {
    claims_of(token.expose())?.exp
}

/// Reads the `jti` claim of a JWT access token (for the audit trail).
pub fn jwt_id(token: &AccessToken) -> Option<String> {
    jwt_claims(token)?
        .jti
        .map(|j| crate::terminal::one_line(&j).chars().take(128).collect())
}

/// Reads the `scope` claim of a JWT access token, when the token response named no scope.
pub fn jwt_scopes(token: &AccessToken) -> Option<Vec<String>> {
    let scope = jwt_claims(token)?.scope?;
    Some(scope.split_whitespace().map(str::to_string).collect())
}
