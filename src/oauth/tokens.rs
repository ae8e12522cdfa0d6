//! Using a login: refresh (narrowed scopes, audiences), revocation, and reading a JWT's expiry.

use super::{base_client, chain, classify, token_set, token_url};
use super::{ClientCreds, Metadata, OauthError, TokenSet};
use crate::protocol::AudienceParam;
use crate::secret::{AccessToken, RefreshToken};
use oauth2::{RequestTokenError, RevocationUrl, Scope, StandardRevocableToken};
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

/// RFC 7009 revocation of a refresh token (with `token_type_hint=refresh_token`).
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
    let url = RevocationUrl::new(endpoint.clone())
        .map_err(|e| OauthError::Config(format!("bad revocation endpoint {endpoint}: {e}")))?;
    let client = base_client(md, creds).set_revocation_url(url);
    let token = StandardRevocableToken::RefreshToken(oauth2::RefreshToken::new(
        refresh_token.expose().to_string(),
    ));
    let request = client
        .revoke_token(token)
        .map_err(|e| OauthError::Config(format!("cannot revoke at {endpoint}: {e}")))?;
    request.request_async(http).await.map_err(|e| match e {
        RequestTokenError::ServerResponse(r) => OauthError::Refused {
            code: r.error().to_string(),
            description: r.error_description().cloned(),
        },
        RequestTokenError::Request(e) => {
            OauthError::Transient(format!("revocation at {endpoint} failed: {}", chain(&e)))
        }
        RequestTokenError::Parse(..) => {
            OauthError::Transient(format!("revocation at {endpoint}: unreadable response"))
        }
        RequestTokenError::Other(m) => OauthError::Transient(m),
    })
}

/// Reads `exp` from a JWT access token when the provider sent no `expires_in`.
pub fn jwt_expiry(token: &AccessToken) -> Option<u64> {
    use base64::Engine;
    let payload = token.expose().split('.').nth(1)?;
    let bytes = zeroize::Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?,
    );
    #[derive(Deserialize)]
    struct Claims {
        exp: Option<u64>,
    }
    serde_json::from_slice::<Claims>(&bytes).ok()?.exp
}
