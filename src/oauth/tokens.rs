//! Using a login: refresh (narrowed scopes, audiences), revocation, and reading a JWT's expiry.

use super::{base_client, classify, desc, form, token_set, token_url};
use super::{ClientCreds, Metadata, OauthError, TokenSet};
use crate::protocol::AudienceParam;
use crate::secret::{AccessToken, RefreshToken};
use oauth2::Scope;
use serde::Deserialize;

/// Exchanges the refresh token for an access token with narrowed scopes and audiences.
pub async fn refresh(
    http: &reqwest::Client,
    md: &Metadata,
    creds: &ClientCreds,
    refresh_token: &RefreshToken,
    scopes: &[String],
    audiences: &[String],
    audience_param: AudienceParam,
) -> Result<TokenSet, OauthError> {
    let client = base_client(md, creds).set_token_uri(token_url(md)?);
    let rt = oauth2::RefreshToken::new(refresh_token.expose().to_string());
    let mut request = client
        .exchange_refresh_token(&rt)
        .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())));
    match audience_param {
        AudienceParam::Resource => {
            for aud in audiences {
                request = request.add_extra_param("resource", aud.clone());
            }
        }
        AudienceParam::Audience => {
            if !audiences.is_empty() {
                request = request.add_extra_param("audience", audiences.join(" "));
            }
        }
    }
    let tokens = request
        .request_async(http)
        .await
        .map_err(|e| classify(e, "token refresh"))?;
    Ok(token_set(&tokens))
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
            description: Some(format!("{what} answered HTTP {status}{}", desc(&description))),
        });
    }
    Err(OauthError::Transient(format!(
        "{what} answered HTTP {status}{}",
        error.map(|(c, d)| format!(" ({c}{})", desc(&d))).unwrap_or_default()
    )))
}

/// The claims tok reads from a JWT access token (no signature check: tok is not its audience).
#[derive(Debug, Default, Deserialize)]
struct Claims {
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

fn jwt_claims(token: &AccessToken) -> Option<Claims> {
    use base64::Engine;
    let payload = token.expose().split('.').nth(1)?;
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

/// Reads the `scope` claim of a JWT access token, when the token response named no scope.
pub fn jwt_scopes(token: &AccessToken) -> Option<Vec<String>> {
    let scope = jwt_claims(token)?.scope?;
    Some(scope.split_whitespace().map(str::to_string).collect())
}
