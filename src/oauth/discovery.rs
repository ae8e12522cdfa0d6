//! Before any flow: the HTTP client for a provider, its metadata (OIDC discovery, RFC 8414),
//! and RFC 7591 dynamic registration of tok as a public client.

use super::{ClientCreds, OauthError};
use crate::net;
use crate::secret::ClientSecret;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Connect timeout for every provider call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout (override with `TOK_HTTP_TIMEOUT` seconds).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The parts of the provider's metadata tok uses.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    /// Where a browser starts the authorization-code flow.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
}

/// Builds the HTTP client for one provider ([`net::async_client`]: the system CA store, which
/// honours `SSL_CERT_FILE`, plus an optional site CA file, timeouts, and no redirects, as OAuth2
/// endpoint responses must not be followed).
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

/// The whole-request timeout of provider calls: `TOK_HTTP_TIMEOUT` seconds when it is a sane
/// number, else [`REQUEST_TIMEOUT`].
pub fn request_timeout() -> Duration {
    std::env::var("TOK_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        // Duration::from_secs_f64 panics on negative, NaN and huge values.
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(REQUEST_TIMEOUT)
}

/// [`http_client`] with extra CA certificates given as PEM (and where they came from, for
/// errors): a job credential carries its provider's CA this way.
pub fn http_client_trusting(
    extra_ca: Option<(&[u8], &str)>,
) -> Result<reqwest::Client, OauthError> {
    let timeout = request_timeout();
    let roots = match extra_ca {
        Some((pem, source)) => net::ca_roots(pem, source).map_err(OauthError::Config)?,
        None => vec![],
    };
    let timeouts = net::Timeouts {
        connect: CONNECT_TIMEOUT.min(timeout),
        request: timeout,
        pool_idle: Duration::from_secs(90),
    };
    net::async_client(timeouts, roots).map_err(OauthError::Config)
}

fn transport(what: &str, e: reqwest::Error) -> OauthError {
    super::form::transport_error(what, e)
}

/// [`net::check_url`] with its refusal as a configuration error.
pub fn check_url(what: &str, value: &str) -> Result<url::Url, OauthError> {
    net::check_url(what, value).map_err(OauthError::Config)
}

/// The two conventions for where a well-known document of an issuer with a path lives: appended
/// to the issuer (OIDC Discovery §4), or between host and path (RFC 8414 §3.1).
pub(crate) fn well_known_urls(
    issuer: &url::Url,
    base: &str,
    name: &str,
    path_aware_first: bool,
) -> Vec<String> {
    let path = issuer.path().trim_end_matches('/');
    let appended = format!("{base}/.well-known/{name}");
    if path.is_empty() {
        return vec![appended];
    }
    let origin = issuer.origin().ascii_serialization();
    let inserted = format!("{origin}/.well-known/{name}{path}");
    if path_aware_first {
        vec![inserted, appended]
    } else {
        vec![appended, inserted]
    }
}

/// The first document found at `urls`, checked to name `issuer` (RFC 8414 §3.3: a document
/// that names another issuer is an attack or a mistake, never used).
async fn fetch_document(
    http: &reqwest::Client,
    urls: &[String],
    issuer: &str,
    tried: &mut Vec<String>,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, OauthError> {
    for url in urls {
        let resp = http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| transport(&format!("discovery at {url}"), e))?;
        let status = resp.status();
        if !status.is_success() {
            tried.push(format!("{url}: HTTP {status}"));
            continue;
        }
        let (_, body) = super::form::read_capped(resp, &format!("discovery at {url}")).await?;
        let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            OauthError::Transient(format!(
                "the discovery document at {url} (HTTP {status}) is not JSON: {e}"
            ))
        })?;
        return check_document(url, issuer, doc).map(Some);
    }
    Ok(None)
}

/// A fetched discovery document, accepted only if it is an object that names `issuer`.
pub(crate) fn check_document(
    url: &str,
    issuer: &str,
    doc: serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>, OauthError> {
    let serde_json::Value::Object(doc) = doc else {
        return Err(OauthError::Transient(format!(
            "the discovery document at {url} is not a JSON object"
        )));
    };
    let named = doc.get("issuer").and_then(|v| v.as_str()).unwrap_or("");
    if !net::same_issuer(named, issuer) {
        return Err(OauthError::Config(format!(
            "{url} names issuer `{named}`, not {issuer}: tok uses metadata only from the issuer it names (RFC 8414 §3.3, mix-up defence); check the --issuer URL"
        )));
    }
    Ok(doc)
}

/// Provider metadata: OIDC discovery and RFC 8414 metadata (each at both conventional places
/// for an issuer with a path), merged — OIDC first, endpoints it lacks taken from RFC 8414 —
/// with every endpoint held to the https rule.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Metadata, OauthError> {
    let parsed = check_url("issuer", issuer)?;
    let base = net::issuer_base(issuer);
    let oidc_urls = well_known_urls(&parsed, base, "openid-configuration", false);
    let oauth_urls = well_known_urls(&parsed, base, "oauth-authorization-server", true);
    let (mut tried_oidc, mut tried_oauth) = (vec![], vec![]);
    let (oidc, oauth) = tokio::join!(
        fetch_document(http, &oidc_urls, issuer, &mut tried_oidc),
        fetch_document(http, &oauth_urls, issuer, &mut tried_oauth)
    );
    let merged = match (oidc, oauth) {
        (Err(e @ OauthError::Config(_)), _) | (_, Err(e @ OauthError::Config(_))) => return Err(e),
        (Ok(Some(first)), Ok(Some(second))) => merge(first, second),
        (Ok(Some(doc)), _) | (_, Ok(Some(doc))) => doc,
        (Err(e), _) | (_, Err(e)) => return Err(e),
        (Ok(None), Ok(None)) => {
            tried_oidc.extend(tried_oauth);
            return Err(OauthError::Config(format!(
                "no provider metadata found for {issuer} (tried {}); check the --issuer URL",
                tried_oidc.join(", ")
            )));
        }
    };
    metadata(issuer, merged)
}

/// The OIDC document with the endpoints only the RFC 8414 one names.
pub(crate) fn merge(
    mut first: serde_json::Map<String, serde_json::Value>,
    second: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    for (k, v) in second {
        first.entry(k).or_insert(v);
    }
    first
}

/// Metadata kept from an earlier discovery (the agent's copy on disk), held to the same rules
/// as a fresh document: it must name `issuer` and every endpoint must pass the https rule.
pub fn recheck(issuer: &str, md: &Metadata) -> Result<Metadata, OauthError> {
    let serde_json::Value::Object(doc) = serde_json::to_value(md)
        .map_err(|e| OauthError::Transient(format!("kept metadata of {issuer}: {e}")))?
    else {
        return Err(OauthError::Transient(format!(
            "kept metadata of {issuer} is not an object"
        )));
    };
    let doc = check_document("the kept metadata", issuer, serde_json::Value::Object(doc))?;
    metadata(issuer, doc)
}

/// The merged documents as [`Metadata`], every endpoint held to the https rule.
pub(crate) fn metadata(
    issuer: &str,
    merged: serde_json::Map<String, serde_json::Value>,
) -> Result<Metadata, OauthError> {
    let md: Metadata = serde_json::from_value(serde_json::Value::Object(merged)).map_err(|e| {
        OauthError::Transient(format!(
            "the provider metadata of {issuer} is not usable: {e}"
        ))
    })?;
    check_url("the token endpoint", &md.token_endpoint)?;
    for (what, endpoint) in [
        (
            "the device authorization endpoint",
            &md.device_authorization_endpoint,
        ),
        ("the authorization endpoint", &md.authorization_endpoint),
        ("the revocation endpoint", &md.revocation_endpoint),
        ("the registration endpoint", &md.registration_endpoint),
    ] {
        if let Some(endpoint) = endpoint {
            check_url(what, endpoint)?;
        }
    }
    Ok(md)
}

/// The redirect URI tok registers for the code flow: RFC 8252 §7.3 loopback, whose port the
/// provider ignores when it matches (each login listens on an ephemeral port).
pub const LOOPBACK_REDIRECT_URI: &str = "http://127.0.0.1/callback";

/// A client tok registered: its credentials and the grant types the provider gave it.
#[derive(Debug)]
pub struct Registration {
    pub creds: ClientCreds,
    pub grant_types: Vec<String>,
}

impl Metadata {
    /// Whether the provider's metadata allows the authorization-code flow: an authorization
    /// endpoint, and `code` / `authorization_code` among the response and grant types when it
    /// lists them (an absent list allows).
    pub fn offers_code_flow(&self) -> bool {
        let listed =
            |list: &[String], what: &str| list.is_empty() || list.iter().any(|g| g == what);
        self.authorization_endpoint.is_some()
            && listed(&self.response_types_supported, "code")
            && listed(&self.grant_types_supported, "authorization_code")
    }

    /// Whether the provider offers the device flow (RFC 8628).
    pub fn offers_device_flow(&self) -> bool {
        self.device_authorization_endpoint.is_some()
    }
}

/// RFC 7591 dynamic registration of a public client for what the flows need: the device and
/// refresh grants, and where the provider offers it the authorization-code grant with the
/// loopback redirect URI (`application_type: native`, RFC 8252). A provider that refuses that
/// combination gets the device-only registration tok always made, so it keeps working.
pub async fn register(http: &reqwest::Client, md: &Metadata) -> Result<Registration, OauthError> {
    if md.offers_code_flow() {
        match register_as(http, md, true).await {
            Err(OauthError::Refused { code, .. }) if md.offers_device_flow() => {
                tracing::info!(
                    "the provider refused a registration with the code flow ({code}); registering for the device flow only"
                );
            }
            other => return other,
        }
    }
    register_as(http, md, false).await
}

async fn register_as(
    http: &reqwest::Client,
    md: &Metadata,
    with_code: bool,
) -> Result<Registration, OauthError> {
    let Some(endpoint) = &md.registration_endpoint else {
        return Err(OauthError::Config(format!(
            "{} offers no dynamic client registration; pass --client-id (and --client-secret-file)",
            md.issuer
        )));
    };
    let mut grant_types = vec!["refresh_token"];
    // The device grant as always, unless this provider offers only the code flow.
    if !with_code || md.offers_device_flow() {
        grant_types.insert(0, "urn:ietf:params:oauth:grant-type:device_code");
    }
    if with_code {
        grant_types.push("authorization_code");
    }
    // Asked for only where offered: providers refuse grant types they do not support.
    if md
        .grant_types_supported
        .iter()
        .any(|g| g == super::TOKEN_EXCHANGE_GRANT)
    {
        grant_types.push(super::TOKEN_EXCHANGE_GRANT);
    }
    let body = if with_code {
        serde_json::json!({
            "client_name": "tok",
            "grant_types": grant_types,
            "response_types": ["code"],
            "redirect_uris": [LOOPBACK_REDIRECT_URI],
            // RFC 8252: a native app; node-oidc-provider allows loopback http redirect URIs
            // (any port) only to these, and demands PKCE of public clients.
            "application_type": "native",
            "token_endpoint_auth_method": "none",
        })
    } else {
        serde_json::json!({
            "client_name": "tok",
            "grant_types": grant_types,
            // Without this the RFC default ["code"] applies and providers demand redirect URIs.
            "response_types": [],
            "token_endpoint_auth_method": "none",
        })
    };
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
        #[serde(default)]
        grant_types: Option<Vec<String>>,
    }
    let unreadable = || {
        OauthError::Transient(format!(
            "client registration at {endpoint} answered HTTP {status} with a body that is neither a registration nor an RFC 7591 error"
        ))
    };
    let (_, body) = super::form::read_capped(resp, "client registration").await?;
    let reg: Registered = serde_json::from_slice(&body).map_err(|_| unreadable())?;
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
        (true, Some(client_id)) => Ok(Registration {
            creds: ClientCreds {
                client_id,
                client_secret: reg.client_secret.map(ClientSecret::new),
            },
            // RFC 7591 §3.2.1: the answer holds the registered metadata; else what was asked.
            grant_types: reg
                .grant_types
                .unwrap_or_else(|| grant_types.iter().map(|g| g.to_string()).collect()),
        }),
        _ => Err(unreadable()),
    }
}
