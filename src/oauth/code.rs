//! The authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636 S256, RFC 8252 loopback
//! redirect), provider I/O only: the URL a browser opens, a look at what the authorization
//! endpoint says to it before a browser is bothered, and the exchange of the returned code.
//! The loopback listener that receives the code is the agent's (`agent::callback`).

use super::capped::CappedHttp;
use super::{base_client, classify, token_set, token_url};
use super::{ClientCreds, Metadata, OauthError, TokenSet};
use oauth2::{
    AuthUrl, AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use zeroize::Zeroizing;

/// One authorization request while the browser is away: the URL to open, and what only the
/// agent holds to finish it — the `state` the answer must carry, the `nonce` the ID token must
/// carry, and the PKCE verifier (32 random bytes, never shown, logged or put in argv).
pub struct CodeRequest {
    pub url: String,
    state: CsrfToken,
    nonce: Zeroizing<String>,
    verifier: PkceCodeVerifier,
    redirect_uri: String,
}

impl std::fmt::Debug for CodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeRequest([redacted])")
    }
}

impl CodeRequest {
    /// Whether a callback's `state` is this request's (compared in constant time: the state is
    /// the callback's only proof that it answers this login).
    pub fn state_matches(&self, state: &str) -> bool {
        let (a, b) = (self.state.secret().as_bytes(), state.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Builds the authorization request for `redirect_uri` (the loopback listener's address).
pub fn authorization_request(
    md: &Metadata,
    creds: &ClientCreds,
    scopes: &[String],
    redirect_uri: &str,
) -> Result<CodeRequest, OauthError> {
    let Some(endpoint) = &md.authorization_endpoint else {
        return Err(OauthError::Config(format!(
            "{} offers no browser login (no authorization_endpoint in its metadata); use --flow device",
            md.issuer
        )));
    };
    let auth_url = AuthUrl::new(endpoint.clone())
        .map_err(|e| OauthError::Config(format!("bad authorization endpoint {endpoint}: {e}")))?;
    let redirect = RedirectUrl::new(redirect_uri.to_string())
        .map_err(|e| OauthError::Config(format!("bad redirect URI {redirect_uri}: {e}")))?;
    let client = base_client(md, creds)
        .set_auth_uri(auth_url)
        .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = Zeroizing::new(CsrfToken::new_random_len(32).secret().clone());
    let mut auth = client
        .authorize_url(|| CsrfToken::new_random_len(32))
        .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
        .add_extra_param("nonce", nonce.as_str())
        .set_pkce_challenge(challenge);
    if scopes.iter().any(|s| s == "offline_access") {
        // OIDC Core §11: offline access needs `prompt=consent`; providers drop the scope (and
        // issue no refresh token) without it.
        auth = auth.add_extra_param("prompt", "consent");
    }
    let (url, state) = auth.url();
    Ok(CodeRequest {
        url: url.to_string(),
        state,
        nonce,
        verifier,
        redirect_uri: redirect_uri.to_string(),
    })
}

/// Asks the authorization endpoint for the URL once, without a browser, to learn early whether
/// it refuses this client outright: a 400 or 401 before any sign-in means the client may not
/// use this flow or redirect URI (an error page the browser would show, which tok would never
/// hear of). A redirect (to a sign-in page), a page, or any other answer (a firewall that
/// dislikes scripts, say) lets the browser try. The body is not read.
pub async fn probe(http: &reqwest::Client, request: &CodeRequest) -> Result<(), OauthError> {
    let resp = http
        .get(&request.url)
        .send()
        .await
        .map_err(|e| super::form::transport_error("the authorization endpoint", e))?;
    let status = resp.status();
    if status == reqwest::StatusCode::BAD_REQUEST || status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(OauthError::Refused {
            code: format!("HTTP {status}"),
            description: Some(
                "the authorization endpoint refused the request before any sign-in".into(),
            ),
        });
    }
    Ok(())
}

/// Exchanges the code the browser brought back, with the PKCE verifier, for tokens; an ID token
/// in the answer must carry this request's `nonce`.
pub async fn exchange(
    http: &reqwest::Client,
    md: &Metadata,
    creds: &ClientCreds,
    request: CodeRequest,
    code: &str,
) -> Result<TokenSet, OauthError> {
    let redirect = RedirectUrl::new(request.redirect_uri.clone())
        .map_err(|e| OauthError::Config(format!("bad redirect URI: {e}")))?;
    let client = base_client(md, creds)
        .set_token_uri(token_url(md)?)
        .set_redirect_uri(redirect);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(request.verifier)
        .request_async(&CappedHttp(http))
        .await
        .map_err(|e| classify(e, "the code exchange"))?;
    if let Some(id_token) = tokens.extra_fields().id_token() {
        check_nonce(id_token, &request.nonce)?;
    }
    token_set(&tokens)
}

/// The ID token's `nonce` must be the one this login sent (OIDC Core §3.1.3.7): otherwise the
/// answer belongs to another authorization (a replayed or injected code). Only the payload is
/// decoded: the signature is not verified, because tok does not use the ID token for identity
/// (nothing is derived from its claims); the token itself came straight from the token endpoint
/// over TLS, which is what vouches for it here.
fn check_nonce(id_token: &str, nonce: &str) -> Result<(), OauthError> {
    use base64::Engine;
    #[derive(serde::Deserialize)]
    struct Claims {
        #[serde(default)]
        nonce: Option<String>,
    }
    let claims = id_token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Claims>(&Zeroizing::new(b)).ok());
    let refused = |why: &str| {
        OauthError::Refused {
        code: "nonce mismatch".into(),
        description: Some(format!(
            "the provider's ID token {why}: the answer may belong to another login; nothing was stored"
        )),
    }
    };
    match claims {
        None => Err(refused("is not a readable JWT")),
        Some(Claims { nonce: Some(n) }) if n == nonce => Ok(()),
        Some(Claims { nonce: Some(_) }) => {
            Err(refused("carries another nonce than this login sent"))
        }
        Some(Claims { nonce: None }) => {
            Err(refused("carries no nonce although this login sent one"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md() -> Metadata {
        serde_json::from_value(serde_json::json!({
            "issuer": "https://op.example.org",
            "token_endpoint": "https://op.example.org/token",
            "authorization_endpoint": "https://op.example.org/auth",
        }))
        .unwrap()
    }

    fn jwt(claims: serde_json::Value) -> String {
        use base64::Engine;
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            b64(br#"{"alg":"RS256"}"#),
            b64(claims.to_string().as_bytes())
        )
    }

    /// The URL carries S256 PKCE, a fresh state and nonce, the loopback redirect and the
    /// scopes; the verifier (43 characters from 32 random bytes) never appears in it.
    #[test]
    fn the_authorization_url_carries_pkce_state_and_nonce() {
        let creds = ClientCreds {
            client_id: "tok-client".into(),
            client_secret: None,
        };
        let scopes = vec!["openid".to_string(), "offline_access".to_string()];
        let req = authorization_request(&md(), &creds, &scopes, "http://127.0.0.1:4711/callback")
            .unwrap();
        let url = url::Url::parse(&req.url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "tok-client");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:4711/callback");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["scope"], "openid offline_access");
        assert_eq!(q["prompt"], "consent", "offline_access needs consent");
        assert!(req.state_matches(&q["state"]));
        assert!(!req.state_matches("forged"));
        assert_eq!(q["nonce"], *req.nonce);
        assert_eq!(req.verifier.secret().len(), 43);
        assert!(!req.url.contains(req.verifier.secret().as_str()));
        let other = authorization_request(&md(), &creds, &scopes, "http://127.0.0.1:4711/callback")
            .unwrap();
        assert!(!other.state_matches(&q["state"]), "a fresh state per login");
        assert!(format!("{req:?}").contains("redacted"));
    }

    #[test]
    fn the_id_token_must_carry_this_logins_nonce() {
        assert!(check_nonce(&jwt(serde_json::json!({"nonce": "n1"})), "n1").is_ok());
        for token in [
            jwt(serde_json::json!({"nonce": "n2"})),
            jwt(serde_json::json!({"sub": "alice"})),
            "not-a-jwt".to_string(),
        ] {
            let e = check_nonce(&token, "n1").unwrap_err().to_string();
            assert!(
                e.contains("nonce") && e.contains("nothing was stored"),
                "{e}"
            );
        }
    }
}
