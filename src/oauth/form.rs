//! One authenticated form POST to a provider endpoint, for the calls the oauth2 crate does not
//! cover the way tok needs (token exchange; revocation, whose HTTP status tells a refusal for
//! good from a passing failure). Client authentication follows the provider's metadata; the
//! answer is read with a size cap and kept in a zeroizing buffer, since it may hold a token.

use super::{ClientCreds, Metadata, OauthError, TokenSet};
use crate::net::{self, CappedRead, TransportFailure};
use crate::secret::{AccessToken, RefreshToken};
use std::time::Duration;
use zeroize::Zeroizing;

/// A token or revocation answer is a few kilobytes; anything this large is not one.
pub(crate) const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// How the client authenticates at the token endpoint: the method chosen here is also what a
/// job credential records, so the job authenticates the same way.
pub fn client_auth_method(md: &Metadata, creds: &ClientCreds) -> Option<&'static str> {
    creds.client_secret.as_ref()?;
    let methods = &md.token_endpoint_auth_methods_supported;
    let post_only = !methods.is_empty()
        && !methods.iter().any(|m| m == "client_secret_basic")
        && methods.iter().any(|m| m == "client_secret_post");
    Some(if post_only {
        "client_secret_post"
    } else {
        "client_secret_basic"
    })
}

/// POSTs `params` to `endpoint` as this client; returns the status and the body. Only transport
/// trouble is an error here: the caller reads the status.
pub async fn post(
    http: &reqwest::Client,
    md: &Metadata,
    creds: &ClientCreds,
    endpoint: &str,
    what: &str,
    params: &[(&str, &str)],
) -> Result<(reqwest::StatusCode, Zeroizing<Vec<u8>>), OauthError> {
    let auth = client_auth_method(md, creds);
    let mut form: Vec<(&str, &str)> = params.to_vec();
    if auth != Some("client_secret_basic") {
        form.push(("client_id", &creds.client_id));
    }
    if let (Some("client_secret_post"), Some(secret)) = (auth, &creds.client_secret) {
        form.push(("client_secret", secret.expose()));
    }
    let body = Zeroizing::new(
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish(),
    );
    let mut request = http
        .post(endpoint)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body.as_bytes().to_vec());
    if let (Some("client_secret_basic"), Some(secret)) = (auth, &creds.client_secret) {
        // RFC 6749 §2.3.1: id and secret are form-encoded before Basic authentication.
        request = request.basic_auth(
            form_encode(&creds.client_id),
            Some(form_encode(secret.expose())),
        );
    }
    let resp = request.send().await.map_err(|e| transport_error(what, e))?;
    read_capped(resp, what).await
}

/// Reads an answer's status and body, refusing bodies over [`MAX_RESPONSE_BYTES`] as they
/// arrive (a provider sending hundreds of megabytes never gets them into memory).
pub async fn read_capped(
    mut resp: reqwest::Response,
    what: &str,
) -> Result<(reqwest::StatusCode, Zeroizing<Vec<u8>>), OauthError> {
    let status = resp.status();
    match net::read_capped(&mut resp, MAX_RESPONSE_BYTES).await {
        Ok(bytes) => Ok((status, bytes)),
        Err(CappedRead::Transport(e)) => Err(transport_error(what, e)),
        Err(CappedRead::TooLarge) => Err(OauthError::Transient(format!(
            "{what}: the answer is larger than {MAX_RESPONSE_BYTES} bytes (HTTP {status})"
        ))),
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// No token lives longer than this, whatever `expires_in` says (a year; larger values overflow
/// time arithmetic or are mistakes).
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(366 * 86400);

/// A transport failure, worded so the user can act on it: a TLS trust failure is not
/// transient (retrying cannot help) and says which trust store was used and how to fix it.
pub fn transport_error(what: &str, e: reqwest::Error) -> OauthError {
    let cause = net::error_chain(&e);
    let kind = match net::transport_failure(&e, &cause) {
        TransportFailure::Trust => {
            let store = net::trust_store();
            return OauthError::Config(format!(
                "{what}: the provider's TLS certificate could not be verified ({cause}); tok trusted {store} plus the account's --ca-file, if any: give the provider's CA with `tok login NAME --ca-file PATH` (or set SSL_CERT_FILE)"
            ));
        }
        TransportFailure::Timeout => "timed out",
        TransportFailure::Connect => "could not connect",
        TransportFailure::Other => "failed",
    };
    // reqwest's message names the URL (an endpoint, never a token) and the cause.
    OauthError::Transient(format!("{what} {kind}: {cause}"))
}

/// Reads a token endpoint's answer (RFC 6749 §5.1 and §5.2): the tokens, or the error classified
/// so the agent can tell "log in again" from "try later" from "refused". The body is never
/// quoted: it may hold a token.
pub fn token_answer(
    what: &str,
    status: reqwest::StatusCode,
    bytes: &[u8],
) -> Result<TokenSet, OauthError> {
    if !status.is_success() {
        return Err(token_error(what, status, bytes));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        access_token: AccessToken,
        #[serde(default)]
        refresh_token: Option<RefreshToken>,
        #[serde(default)]
        expires_in: Option<serde_json::Value>,
        #[serde(default)]
        scope: Option<String>,
        #[serde(default)]
        refresh_expires_in: Option<serde_json::Value>,
    }
    let answer: Answer = serde_json::from_slice(bytes).map_err(|_| {
        OauthError::Transient(format!(
            "{what} answered HTTP {status} with a body that is not a token response"
        ))
    })?;
    let expires_in =
        seconds(answer.expires_in.as_ref()).map(|s| Duration::from_secs(s).min(MAX_EXPIRES_IN));
    super::check_access_token(&answer.access_token)?;
    Ok(TokenSet {
        access_token: answer.access_token,
        refresh_token: answer.refresh_token,
        expires_in,
        scopes: answer
            .scope
            .map(|s| s.split_whitespace().map(str::to_string).collect()),
        refresh_expires_in: login_seconds(answer.refresh_expires_in.as_ref()),
    })
}

/// A number of seconds in a token answer. Some providers send the number as a string;
/// anything else means "not said".
fn seconds(value: Option<&serde_json::Value>) -> Option<u64> {
    match value? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// No login is believed to last longer than this (ten years), whatever a provider says.
pub const MAX_LOGIN_SECS: u64 = 3650 * 86400;

/// `refresh_expires_in`: how long the login lasts from now. Keycloak sends `0` for a refresh
/// token with no limit (an offline token), which says nothing about an end.
pub fn login_seconds(value: Option<&serde_json::Value>) -> Option<Duration> {
    seconds(value)
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(s.min(MAX_LOGIN_SECS)))
}

/// Classifies a token endpoint's failure by the OAuth error, else by the HTTP status.
pub fn token_error(what: &str, status: reqwest::StatusCode, bytes: &[u8]) -> OauthError {
    match error_body(bytes) {
        Some((code, description)) => {
            // The provider's own words, and the HTTP status they came with.
            let description = Some(match description {
                Some(d) => format!("{d}; HTTP {status}"),
                None => format!("HTTP {status}"),
            });
            match super::from_code(&code, description) {
                OauthError::Transient(m) => OauthError::Transient(format!("{what}: {m}")),
                other => other,
            }
        }
        None if status == reqwest::StatusCode::NOT_FOUND => {
            OauthError::EndpointGone(format!("{what} answered HTTP {status}"))
        }
        None if status == reqwest::StatusCode::UNAUTHORIZED => OauthError::InvalidClient {
            code: format!("HTTP {status}"),
            description: Some(format!("{what} did not accept the client")),
        },
        None if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS => {
            OauthError::Refused {
                code: format!("HTTP {status}"),
                description: Some(format!("{what} answered without an OAuth error")),
            }
        }
        None => OauthError::Transient(format!(
            "{what} answered HTTP {status} with a body that is not an OAuth error"
        )),
    }
}

/// Asks for `audiences` the way this provider wants: RFC 8707 `resource=` once per audience,
/// or the older space-separated `audience=` (`joined`, the audiences joined by spaces).
pub fn push_audiences<'a>(
    form: &mut Vec<(&'a str, &'a str)>,
    audiences: &'a [String],
    joined: &'a str,
    style: crate::protocol::AudienceParam,
) {
    use crate::protocol::AudienceParam;
    match style {
        AudienceParam::Resource => form.extend(audiences.iter().map(|a| ("resource", a.as_str()))),
        AudienceParam::Audience if !audiences.is_empty() => form.push(("audience", joined)),
        AudienceParam::Audience => {}
    }
}

/// An OAuth error body (RFC 6749 §5.2), if that is what `bytes` is.
pub fn error_body(bytes: &[u8]) -> Option<(String, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    serde_json::from_slice::<ErrorBody>(bytes)
        .ok()
        .map(|b| (b.error, b.error_description))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20: `refresh_expires_in` is read from a token answer, by tok's own parser (refresh,
    /// exchange) and through the oauth2 crate (the device flow's poll) alike; `0` is Keycloak's
    /// "no limit" and says nothing.
    #[test]
    fn refresh_expires_in_is_read_by_both_parsers() {
        for (field, want) in [
            (r#","refresh_expires_in":1800"#, Some(1800)),
            (r#","refresh_expires_in":"1800""#, Some(1800)),
            (r#","refresh_expires_in":0"#, None),
            (r#","refresh_expires_in":-5"#, None),
            ("", None),
        ] {
            let body =
                format!(r#"{{"access_token":"AT","token_type":"Bearer","expires_in":60{field}}}"#);
            let ours = token_answer("x", reqwest::StatusCode::OK, body.as_bytes()).unwrap();
            let want = want.map(Duration::from_secs);
            assert_eq!(ours.refresh_expires_in, want, "{body}");
            let crate_answer: super::super::TokenAnswer = serde_json::from_str(&body).unwrap();
            let theirs = super::super::token_set(&crate_answer).unwrap();
            assert_eq!(theirs.refresh_expires_in, want, "{body}");
        }
    }
}
