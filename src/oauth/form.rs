//! One authenticated form POST to a provider endpoint, for the calls the oauth2 crate does not
//! cover the way tok needs (token exchange; revocation, whose HTTP status tells a refusal for
//! good from a passing failure). Client authentication follows the provider's metadata; the
//! answer is read with a size cap and kept in a zeroizing buffer, since it may hold a token.

use super::{chain, ClientCreds, Metadata, OauthError};
use zeroize::Zeroizing;

/// A token or revocation answer is a few kilobytes; anything this large is not one.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

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
    let transport = |e: reqwest::Error| OauthError::Transient(format!("{what} failed: {}", chain(&e)));
    let mut resp = request.send().await.map_err(transport)?;
    let status = resp.status();
    let mut bytes = Zeroizing::new(Vec::new());
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(OauthError::Transient(format!(
                "{what}: the answer is larger than {MAX_RESPONSE_BYTES} bytes (HTTP {status})"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, bytes))
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
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
