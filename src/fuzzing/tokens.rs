//! Fuzz entry points for what providers and users hand tok as tokens: token-endpoint answers,
//! JWTs (also as `tok inspect` reads them) and discovery documents.

use super::*;

/// A token endpoint's answer: two bytes of HTTP status, then the body. Read the way a refresh,
/// a token exchange and the device flow's poll (through the oauth2 crate) read it.
pub fn token_response(data: &[u8]) {
    let Some((status, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = reqwest::StatusCode::from_u16(100 + u16::from_be_bytes(*status) % 900)
        .expect("100..=999 is a status code");
    let what = "token refresh at https://op.example/token";
    if let Ok(tokens) = form::token_answer(what, status, body) {
        // The agent adds expires_in to the clock.
        assert!(tokens.expires_in.is_none_or(|d| d <= form::MAX_EXPIRES_IN));
        jwt_claims(&tokens.access_token);
    }
    let _ = form::token_error(what, status, body);
    let _ = form::error_body(body);
    let _ = exchange::parse_success(what, status, body);
    if let Ok(answer) = serde_json::from_slice::<oauth::TokenAnswer>(body) {
        if let Ok(tokens) = oauth::token_set(&answer) {
            assert!(tokens.expires_in.is_none_or(|d| d <= form::MAX_EXPIRES_IN));
        }
    }
}

/// The claims tok reads from a JWT access token, and what the agent then does with them.
pub(super) fn jwt_claims(token: &AccessToken) {
    if let Some(exp) = oauth::jwt_expiry(token) {
        let _ = crate::time::rfc3339(exp);
    }
    if let Some(scopes) = oauth::jwt_scopes(token) {
        assert!(scopes
            .iter()
            .all(|s| !s.is_empty() && !s.contains(char::is_whitespace)));
        let _ = scope::beyond(&scopes, &["storage.read:/".to_string()]);
    }
}

/// A JWT's claims: the input as a whole token, and as the payload of one (so the fuzzer reaches
/// the claims decoder without having to learn base64).
pub fn jwt(data: &[u8]) {
    use base64::Engine;
    jwt_claims(&AccessToken::new(String::from_utf8_lossy(data)));
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data);
    jwt_claims(&AccessToken::new(format!(
        "eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln"
    )));
}

/// Discovery: an issuer URL, a newline, the OIDC document, a NUL byte and the RFC 8414
/// document (either may be absent), checked and merged as `oauth::discover` does after the
/// fetch.
pub fn discovery(data: &[u8]) {
    let (issuer, docs) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(issuer) = std::str::from_utf8(issuer) else {
        return;
    };
    let Ok(parsed) = crate::net::check_url("issuer", issuer) else {
        return;
    };
    // Discovery asks the issuer's own origin, nobody else. A URL that does not parse (an issuer
    // with a trailing control character, which URL parsing strips) is never requested: reqwest
    // refuses it the same way.
    let base = crate::net::issuer_base(issuer);
    for (name, path_aware_first) in [
        ("openid-configuration", false),
        ("oauth-authorization-server", true),
    ] {
        for url in discovery::well_known_urls(&parsed, base, name, path_aware_first) {
            if let Ok(url) = url::Url::parse(&url) {
                assert_eq!(url.origin(), parsed.origin(), "{url} for issuer {issuer}");
            }
        }
    }
    let mut parts = docs.splitn(2, |&b| b == 0);
    let mut doc = |url: &str| -> Result<Option<_>, oauth::OauthError> {
        match parts.next().filter(|d| !d.is_empty()) {
            None => Ok(None),
            Some(bytes) => match serde_json::from_slice(bytes) {
                // As discover() does: the answer read as JSON, then checked.
                Ok(value) => discovery::check_document(url, issuer, value).map(Some),
                Err(_) => Err(oauth::OauthError::Transient("not JSON".into())),
            },
        }
    };
    let merged = match (doc("oidc"), doc("rfc8414")) {
        (Ok(Some(first)), Ok(Some(second))) => discovery::merge(first, second),
        (Ok(Some(doc)), _) | (_, Ok(Some(doc))) => doc,
        _ => return,
    };
    let Ok(md) = discovery::metadata(issuer, merged) else {
        return;
    };
    // The mix-up defence: metadata is only ever the configured issuer's.
    assert!(crate::net::same_issuer(&md.issuer, issuer));
    // Every endpoint is https, or http on loopback.
    let endpoints = [
        Some(&md.token_endpoint),
        md.device_authorization_endpoint.as_ref(),
        md.revocation_endpoint.as_ref(),
        md.registration_endpoint.as_ref(),
    ];
    for endpoint in endpoints.into_iter().flatten() {
        let url = url::Url::parse(endpoint).expect("a checked endpoint is a URL");
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        assert!(
            url.scheme() == "https" || (url.scheme() == "http" && loopback),
            "{endpoint}"
        );
    }
    let creds = oauth::ClientCreds {
        client_id: "c".into(),
        client_secret: Some(crate::secret::ClientSecret::new("s")),
    };
    let _ = form::client_auth_method(&md, &creds);
}

/// `tok inspect`: the input as what was piped in (the token taken out of it, decoded, linted
/// against the WLCG profile, both reports), and as the claims of a JWT (so the fuzzer reaches
/// the linter without having to learn base64). Errors never quote the token.
pub fn inspect(data: &[u8]) {
    use base64::Engine;
    if let Ok(input) = std::str::from_utf8(data) {
        inspect_text(input);
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data);
    inspect_text(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln"));
}

pub(super) fn inspect_text(input: &str) {
    use crate::inspect::{self, Token};
    let Ok(token) = inspect::extract(input) else {
        return;
    };
    let decoded = match inspect::decode(&token) {
        Ok(decoded) => decoded,
        Err(e) => {
            // A JWT-looking token long enough not to occur in the message's own words.
            let jwt_like = token.starts_with("ey") && token.len() >= 16;
            assert!(!jwt_like || !e.0.contains(&token), "quotes the token: {e}");
            return;
        }
    };
    // A clock of today; the claims bring the extremes.
    let now = 1_780_000_000;
    let findings = match &decoded {
        Token::Jwt(jwt) => {
            let findings = inspect::lint(jwt, now);
            let _ = inspect::render(jwt, &findings, now, &|t| t.to_string());
            findings
        }
        other => {
            let _ = inspect::undecodable(other);
            vec![]
        }
    };
    let _ = serde_json::to_string_pretty(&inspect::to_json(&decoded, &findings))
        .expect("claims serialise");
}

/// A request to the code flow's loopback listener (`tok login --flow code`): any local process
/// or web page may send one. Parsed and judged as the listener does against the state `good`:
/// only a GET of `/callback` with that state and no `Origin` is ever taken, and a provider's
/// error code shown back is reduced to safe characters.
pub fn login_callback(data: &[u8]) {
    crate::agent::callback::fuzz_judge(data);
}
