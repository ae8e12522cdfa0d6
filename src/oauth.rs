//! Provider I/O and nothing else: discovery, dynamic registration, the device flow, refresh,
//! revocation. Provider errors are classified here so the agent can tell "log in again" from
//! "try again later" — and no response body, which may hold a token, ever reaches an error.

use crate::protocol::AudienceParam;
use crate::secret::{AccessToken, ClientSecret, RefreshToken};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationUrl, DeviceCodeErrorResponseType, RequestTokenError,
    RevocationUrl, Scope, StandardDeviceAuthorizationResponse, StandardRevocableToken,
    TokenResponse, TokenUrl,
};
use serde::Deserialize;
use std::time::Duration;

/// Connect timeout for every provider call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout (override with `TOK_HTTP_TIMEOUT` seconds).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Never poll slower than this after network errors (oauth2 doubles the interval on error).
const MAX_POLL_BACKOFF: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum OauthError {
    /// The refresh token (or device code) is no longer accepted: a new login is needed.
    #[error("the provider rejected the refresh token (invalid_grant{})", desc(.0))]
    InvalidGrant(Option<String>),
    /// The client registration is gone or wrong: a new login (re-registration) is needed.
    #[error("the provider does not accept this client ({code}{})", desc(.description))]
    InvalidClient {
        code: String,
        description: Option<String>,
    },
    /// The provider refused this request (scope, audience, …); retrying will not help.
    #[error("the provider refused the request ({code}{})", desc(.description))]
    Refused {
        code: String,
        description: Option<String>,
    },
    #[error("the login was denied at the provider")]
    AccessDenied,
    #[error("the device code expired before the login was approved")]
    Expired,
    /// Network trouble, timeouts, 5xx or garbage: nothing is lost, try again later.
    #[error("{0}")]
    Transient(String),
    /// Provider metadata or settings that cannot work.
    #[error("{0}")]
    Config(String),
}

/// An error and its causes on one line ("client error: … : operation timed out").
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

fn desc(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

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

/// What a token endpoint gave us.
#[derive(Debug)]
pub struct TokenSet {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub expires_in: Option<Duration>,
    pub scopes: Option<Vec<String>>,
}

/// The OAuth2 client identity tok uses at a provider.
#[derive(Debug, Clone)]
pub struct ClientCreds {
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
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

fn base_client(md: &Metadata, creds: &ClientCreds) -> BasicClient {
    let mut client = BasicClient::new(ClientId::new(creds.client_id.clone()));
    if let Some(secret) = &creds.client_secret {
        client = client.set_client_secret(oauth2::ClientSecret::new(secret.expose().to_string()));
        let methods = &md.token_endpoint_auth_methods_supported;
        if !methods.is_empty()
            && !methods.iter().any(|m| m == "client_secret_basic")
            && methods.iter().any(|m| m == "client_secret_post")
        {
            client = client.set_auth_type(AuthType::RequestBody);
        }
    }
    client
}

fn token_url(md: &Metadata) -> Result<TokenUrl, OauthError> {
    TokenUrl::new(md.token_endpoint.clone())
        .map_err(|e| OauthError::Config(format!("bad token endpoint {}: {e}", md.token_endpoint)))
}

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
    client
        .exchange_device_code()
        .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
        .request_async(http)
        .await
        .map_err(|e| classify(e, "device authorization"))
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
    let result = client
        .exchange_device_access_token(details)
        .set_max_backoff_interval(MAX_POLL_BACKOFF)
        .request_async(http, tokio::time::sleep, None)
        .await;
    match result {
        Ok(tokens) => Ok(token_set(&tokens)),
        Err(RequestTokenError::ServerResponse(e)) => Err(match e.error() {
            DeviceCodeErrorResponseType::AccessDenied => OauthError::AccessDenied,
            DeviceCodeErrorResponseType::ExpiredToken => OauthError::Expired,
            DeviceCodeErrorResponseType::Basic(b) => basic_error(b, e.error_description().cloned()),
            other => OauthError::Refused {
                code: other.to_string(),
                description: e.error_description().cloned(),
            },
        }),
        Err(RequestTokenError::Request(e)) => Err(OauthError::Transient(format!(
            "polling the token endpoint failed: {}",
            chain(&e)
        ))),
        Err(RequestTokenError::Parse(..)) => Err(OauthError::Transient(
            "the token endpoint sent an unreadable response".into(),
        )),
        Err(RequestTokenError::Other(m)) => Err(OauthError::Transient(m)),
    }
}

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

fn token_set(tokens: &oauth2::basic::BasicTokenResponse) -> TokenSet {
    TokenSet {
        access_token: AccessToken::new(tokens.access_token().secret().as_str()),
        refresh_token: tokens
            .refresh_token()
            .map(|t| RefreshToken::new(t.secret().as_str())),
        expires_in: tokens.expires_in(),
        scopes: tokens
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect()),
    }
}

fn basic_error(code: &BasicErrorResponseType, description: Option<String>) -> OauthError {
    match code {
        BasicErrorResponseType::InvalidGrant => OauthError::InvalidGrant(description),
        BasicErrorResponseType::InvalidClient | BasicErrorResponseType::UnauthorizedClient => {
            OauthError::InvalidClient {
                code: code.to_string(),
                description,
            }
        }
        BasicErrorResponseType::InvalidRequest
        | BasicErrorResponseType::InvalidScope
        | BasicErrorResponseType::UnsupportedGrantType => OauthError::Refused {
            code: code.to_string(),
            description,
        },
        BasicErrorResponseType::Extension(ext) if ext == "invalid_target" => OauthError::Refused {
            code: ext.clone(),
            description,
        },
        // server_error, temporarily_unavailable and unknown codes: the provider's trouble.
        BasicErrorResponseType::Extension(ext) => {
            OauthError::Transient(format!("the provider reported {ext}{}", desc(&description)))
        }
    }
}

fn classify<RE: std::error::Error>(
    e: RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
    what: &str,
) -> OauthError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            basic_error(r.error(), r.error_description().cloned())
        }
        RequestTokenError::Request(e) => {
            OauthError::Transient(format!("{what} failed: {}", chain(&e)))
        }
        // The body is deliberately dropped: a half-valid token response would hold a token.
        RequestTokenError::Parse(..) => {
            OauthError::Transient(format!("{what}: the provider sent an unreadable response"))
        }
        RequestTokenError::Other(m) => OauthError::Transient(format!("{what}: {m}")),
    }
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
