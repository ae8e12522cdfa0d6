//! RFC 8693 token exchange for offline delegation: a user's access token is traded for a
//! refresh token on a new grant with narrowed scopes and audiences (INDIGO IAM's "offline
//! delegation"), which a job can then use without ever holding the user's own refresh token.

use super::{form, ClientCreds, Metadata, OauthError};
use crate::protocol::AudienceParam;
use crate::secret::{AccessToken, RefreshToken};
use serde::Deserialize;
use std::time::Duration;

pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";

/// What an offline delegation gave us.
#[derive(Debug)]
pub struct Delegated {
    pub refresh_token: RefreshToken,
    /// The delegated refresh token's lifetime, when the provider says.
    pub lifetime: Option<Duration>,
    /// The scopes the provider says it granted.
    pub scopes: Option<Vec<String>>,
}

/// Narrowing by RFC 8693 exchange: `subject` (a login-scope access token) is traded for an
/// access token with `scopes` and `audiences`, leaving the grant and its refresh token as they
/// are.
pub async fn narrow(
    http: &reqwest::Client,
    md: &Metadata,
    creds: &ClientCreds,
    subject: &AccessToken,
    scopes: &[String],
    audiences: &[String],
    audience_param: AudienceParam,
) -> Result<super::TokenSet, OauthError> {
    let scope = scopes.join(" ");
    let joined = audiences.join(" ");
    let form = exchange_form(
        subject,
        ACCESS_TOKEN_TYPE,
        &scope,
        audiences,
        &joined,
        audience_param,
    );
    let what = format!("token exchange (narrowing) at {}", md.token_endpoint);
    let (status, bytes) = form::post(http, md, creds, &md.token_endpoint, &what, &form).await?;
    let mut tokens = form::token_answer(&what, status, &bytes)?;
    // A refresh token here would belong to nobody: drop it rather than mistake it for a rotation.
    tokens.refresh_token = None;
    Ok(tokens)
}

/// The RFC 8693 form: `subject` (an access token) traded for a `requested` token type with
/// `scope` (left out when empty) and `audiences` (sent as the account's style asks).
fn exchange_form<'a>(
    subject: &'a AccessToken,
    requested: &'a str,
    scope: &'a str,
    audiences: &'a [String],
    joined_audiences: &'a str,
    audience_param: AudienceParam,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE_GRANT),
        ("subject_token", subject.expose()),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("requested_token_type", requested),
    ];
    if !scope.is_empty() {
        form.push(("scope", scope));
    }
    form::push_audiences(&mut form, audiences, joined_audiences, audience_param);
    form
}

/// Whether the provider's metadata rules token exchange out (an empty list says nothing).
pub fn exchange_unsupported(md: &Metadata) -> bool {
    !md.grant_types_supported.is_empty()
        && !md
            .grant_types_supported
            .iter()
            .any(|g| g == TOKEN_EXCHANGE_GRANT)
}

/// Exchanges `subject` (an access token of the user's grant) for a delegated refresh token.
pub async fn delegate(
    http: &reqwest::Client,
    md: &Metadata,
    creds: &ClientCreds,
    subject: &AccessToken,
    scopes: &[String],
    audiences: &[String],
    audience_param: AudienceParam,
) -> Result<Delegated, OauthError> {
    let mut scope: Vec<&str> = scopes.iter().map(String::as_str).collect();
    // No refresh token without offline access.
    if !scope.contains(&"offline_access") {
        scope.push("offline_access");
    }
    let scope = scope.join(" ");
    let joined = audiences.join(" ");
    let form = exchange_form(
        subject,
        REFRESH_TOKEN_TYPE,
        &scope,
        audiences,
        &joined,
        audience_param,
    );
    let what = format!("token exchange at {}", md.token_endpoint);
    let (status, bytes) = form::post(http, md, creds, &md.token_endpoint, &what, &form).await?;
    if !status.is_success() {
        return Err(form::token_error(&what, status, &bytes));
    }
    parse_success(&what, status, &bytes)
}

pub(crate) fn parse_success(
    what: &str,
    status: reqwest::StatusCode,
    bytes: &[u8],
) -> Result<Delegated, OauthError> {
    #[derive(Deserialize)]
    struct ExchangeBody {
        #[serde(default)]
        access_token: Option<AccessToken>,
        #[serde(default)]
        issued_token_type: Option<String>,
        #[serde(default)]
        refresh_token: Option<RefreshToken>,
        #[serde(default)]
        expires_in: Option<u64>,
        #[serde(default)]
        refresh_token_expires_in: Option<u64>,
        #[serde(default)]
        scope: Option<String>,
    }
    // The body holds a token: an error never quotes it.
    let body: ExchangeBody = serde_json::from_slice(bytes).map_err(|_| {
        OauthError::Transient(format!(
            "{what} answered HTTP {status} with a body that is not a token response"
        ))
    })?;
    let issued_refresh = body.issued_token_type.as_deref() == Some(REFRESH_TOKEN_TYPE);
    // RFC 8693 puts the issued token in `access_token` whatever its type; IAM-style answers
    // carry the new grant's refresh token in `refresh_token` beside an access token.
    let token = match (body.refresh_token, body.access_token) {
        (Some(rt), _) => rt,
        (None, Some(t)) if issued_refresh => RefreshToken::new(t.expose()),
        _ => {
            return Err(OauthError::Refused {
                code: "no_refresh_token".into(),
                description: Some(format!(
                    "the provider exchanged the token but issued no refresh token (issued_token_type {}); it does not offer offline delegation to this client",
                    body.issued_token_type.as_deref().unwrap_or("missing")
                )),
            })
        }
    };
    if token.expose().is_empty() {
        return Err(OauthError::Transient(format!(
            "{what} answered with an empty token"
        )));
    }
    let lifetime = body
        .refresh_token_expires_in
        .or(if issued_refresh {
            body.expires_in
        } else {
            None
        })
        .filter(|s| *s > 0)
        .map(Duration::from_secs);
    Ok(Delegated {
        refresh_token: token,
        lifetime,
        scopes: body
            .scope
            .map(|s| s.split_whitespace().map(str::to_string).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(json: &str) -> Result<Delegated, OauthError> {
        parse_success("x", reqwest::StatusCode::OK, json.as_bytes())
    }

    #[test]
    fn rfc8693_answer_with_the_refresh_token_in_access_token() {
        let d = ok(r#"{"access_token":"RT1","issued_token_type":"urn:ietf:params:oauth:token-type:refresh_token","token_type":"N_A","expires_in":600,"scope":"storage.read:/ offline_access"}"#).unwrap();
        assert_eq!(d.refresh_token.expose(), "RT1");
        assert_eq!(d.lifetime, Some(Duration::from_secs(600)));
        assert_eq!(d.scopes.unwrap().len(), 2);
    }

    #[test]
    fn iam_style_answer_with_access_and_refresh_token() {
        let d = ok(r#"{"access_token":"AT","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","refresh_token":"RT2","expires_in":60}"#).unwrap();
        assert_eq!(d.refresh_token.expose(), "RT2");
        assert_eq!(d.lifetime, None, "expires_in is the access token's here");
    }

    #[test]
    fn an_answer_without_refresh_token_is_refused_and_not_quoted() {
        let e = ok(r#"{"access_token":"SECRETAT","issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}"#).unwrap_err();
        assert!(matches!(e, OauthError::Refused { .. }));
        assert!(!e.to_string().contains("SECRETAT"));
        let e = ok("{not json SECRET").unwrap_err().to_string();
        assert!(!e.contains("SECRET"), "{e}");
    }

    #[test]
    fn error_answers_are_classified() {
        let e = |b: &str| form::token_error("x", reqwest::StatusCode::BAD_REQUEST, b.as_bytes());
        assert!(matches!(
            e(r#"{"error":"unsupported_grant_type"}"#),
            OauthError::Refused { .. }
        ));
        assert!(matches!(
            e(r#"{"error":"invalid_grant"}"#),
            OauthError::InvalidGrant(_)
        ));
        // Not an OAuth error: a 4xx is a refusal, a 5xx the provider's trouble, a 404 a moved
        // endpoint.
        assert!(matches!(e("<html>"), OauthError::Refused { .. }));
        let status =
            |s: u16| form::token_error("x", reqwest::StatusCode::from_u16(s).unwrap(), b"<html>");
        assert!(matches!(status(502), OauthError::Transient(_)));
        assert!(matches!(status(404), OauthError::EndpointGone(_)));
        assert!(matches!(status(401), OauthError::InvalidClient { .. }));
    }
}
