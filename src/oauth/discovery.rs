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
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
}

/// Builds the HTTP client for one provider: rustls with the system CA store (which honours
/// `SSL_CERT_FILE`), plus an optional site CA file, timeouts, and no redirects (OAuth2 endpoint
/// responses must not be followed).
pub fn http_client(ca_file: Option<&str>) -> Result<reqwest::Client, OauthError> {
    match ca_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| OauthError::Config(format!("cannot read the CA file {path}: {e}")))?;
            http_client_trusting(Some((&pem, path)))
        }
        None => http_client_trusting(None),
    }
}

/// [`http_client`] with extra CA certificates given as PEM (and where they came from, for
/// errors): a job credential carries its provider's CA this way.
pub fn http_client_trusting(
    extra_ca: Option<(&[u8], &str)>,
) -> Result<reqwest::Client, OauthError> {
    let timeout = std::env::var("TOK_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        // Duration::from_secs_f64 panics on negative, NaN and huge values.
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(REQUEST_TIMEOUT);
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("tok/", env!("CARGO_PKG_VERSION")));
    if let Some((pem, source)) = extra_ca {
        builder = add_roots(builder, pem, source)?;
    }
    builder
        .build()
        .map_err(|e| OauthError::Config(format!("cannot set up HTTPS: {e}")))
}

/// Trusts the PEM certificates in `pem` (from `source`, named in errors) on top of the system
/// store.
fn add_roots(
    mut builder: reqwest::ClientBuilder,
    pem: &[u8],
    source: &str,
) -> Result<reqwest::ClientBuilder, OauthError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
        OauthError::Config(format!("{source} is not a PEM CA bundle ({e}); pass a file of -----BEGIN CERTIFICATE----- blocks"))
    })?;
    if certs.is_empty() {
        return Err(OauthError::Config(format!(
            "{source} holds no PEM certificate (no -----BEGIN CERTIFICATE----- block); pass the provider's CA bundle"
        )));
    }
    for cert in certs {
        builder = builder.add_root_certificate(cert);
    }
    Ok(builder)
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
    let mut grant_types = vec![
        "urn:ietf:params:oauth:grant-type:device_code",
        "refresh_token",
    ];
    // Asked for only where offered: providers refuse grant types they do not support.
    if md
        .grant_types_supported
        .iter()
        .any(|g| g == super::TOKEN_EXCHANGE_GRANT)
    {
        grant_types.push(super::TOKEN_EXCHANGE_GRANT);
    }
    let body = serde_json::json!({
        "client_name": "tok",
        "grant_types": grant_types,
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
        #[serde(default)]
        client_id: Option<String>,
        #[serde(default)]
        client_secret: Option<String>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        error_description: Option<String>,
    }
    let unreadable = || {
        OauthError::Transient(format!(
            "client registration at {endpoint} answered HTTP {status} with a body that is neither a registration nor an RFC 7591 error"
        ))
    };
    let reg: Registered = resp.json().await.map_err(|_| unreadable())?;
    // RFC 7591 §3.2.2: a refusal is an error body (HTTP 400), e.g. invalid_client_metadata.
    if let Some(code) = reg.error {
        return Err(OauthError::Refused {
            code,
            description: Some(format!(
                "client registration at {endpoint} was refused{}; pass the id of a client registered for tok with --client-id",
                super::desc(&reg.error_description)
            )),
        });
    }
    match (status.is_success(), reg.client_id) {
        (true, Some(client_id)) => Ok(ClientCreds {
            client_id,
            client_secret: reg.client_secret.map(ClientSecret::new),
        }),
        _ => Err(unreadable()),
    }
}
