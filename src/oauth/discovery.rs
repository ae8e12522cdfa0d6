//! Before any flow: the HTTP client for a provider, its metadata (OIDC discovery, RFC 8414),
//! and RFC 7591 dynamic registration of tok as a public client.

use super::{chain, ClientCreds, OauthError};
use crate::secret::ClientSecret;
use serde::Deserialize;
use std::time::Duration;

/// Connect timeout for every provider call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout (override with `TOK_HTTP_TIMEOUT` seconds).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The parts of the provider's metadata tok uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// Builds the HTTP client for one provider: rustls with the system CA store (which honours
/// `SSL_CERT_FILE`), plus an optional site CA file, timeouts, and no redirects (OAuth2 endpoint
/// responses must not be followed).
pub fn http_client(ca_file: Option<&str>) -> Result<reqwest::Client, OauthError> {
    let timeout = std::env::var("TOK_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or(REQUEST_TIMEOUT);
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("tok/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| OauthError::Config(format!("cannot read the CA file {path}: {e}")))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| OauthError::Config(format!("{path} holds no PEM certificates: {e}")))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| OauthError::Config(format!("cannot set up HTTPS: {e}")))
}

fn transport(what: &str, e: reqwest::Error) -> OauthError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    // reqwest's message names the URL (an endpoint, never a token) and the cause.
    OauthError::Transient(format!("{what} {kind}: {}", chain(&e)))
}

/// OIDC discovery, falling back to RFC 8414 metadata.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Metadata, OauthError> {
    let base = issuer.trim_end_matches('/');
    let mut last = String::new();
    for suffix in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let url = format!("{base}{suffix}");
        let resp = match http.get(&url).send().await {
            Ok(r) => r,
            Err(e) => return Err(transport(&format!("discovery at {url}"), e)),
        };
        if !resp.status().is_success() {
            last = format!("{url} answered {}", resp.status());
            continue;
        }
        let md: Metadata = resp.json().await.map_err(|e| {
            OauthError::Transient(format!("discovery document at {url} is not valid: {e}"))
        })?;
        if md.issuer.trim_end_matches('/') != base {
            return Err(OauthError::Config(format!(
                "{url} names issuer {} instead of {issuer}; check the --issuer URL",
                md.issuer
            )));
        }
        return Ok(md);
    }
    Err(OauthError::Config(format!(
        "no provider metadata found for {issuer} ({last}); check the --issuer URL"
    )))
}

/// RFC 7591 dynamic registration of a public client for the device and refresh grants.
pub async fn register(http: &reqwest::Client, md: &Metadata) -> Result<ClientCreds, OauthError> {
    let Some(endpoint) = &md.registration_endpoint else {
        return Err(OauthError::Config(format!(
            "{} offers no dynamic client registration; pass --client-id (and --client-secret-file)",
            md.issuer
        )));
    };
    let body = serde_json::json!({
        "client_name": "tok",
        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        // Without this the RFC default ["code"] applies and providers demand redirect URIs.
        "response_types": [],
        "token_endpoint_auth_method": "none",
    });
    let resp = http
        .post(endpoint)
        .json(&body)
        .send()
        .await
        .map_err(|e| transport("client registration", e))?;
    let status = resp.status();
    #[derive(Deserialize)]
    struct Registered {
        client_id: String,
        #[serde(default)]
        client_secret: Option<String>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        error_description: Option<String>,
    }
    let reg: Registered = resp.json().await.map_err(|_| {
        OauthError::Transient(format!(
            "client registration at {endpoint} answered {status} with an unreadable body"
        ))
    })?;
    if let Some(code) = reg.error {
        return Err(OauthError::Refused {
            code,
            description: reg.error_description,
        });
    }
    Ok(ClientCreds {
        client_id: reg.client_id,
        client_secret: reg.client_secret.map(ClientSecret::new),
    })
}
