//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer), one per parser that
//! reads bytes tok does not control: agent frames, provider answers, JWTs (also as `tok inspect`
//! reads them), and the files a user, a file transfer or a damaged disk may hand it. They live
//! here because most of those parsers are private to their modules; each function calls the
//! product code as tok does and then asserts what the rest of tok relies on (round trips, caps,
//! no secret quoted in an error). Not an API: hidden from the documentation and free to change
//! with the fuzz targets.

use crate::config::Config;
use crate::credential;
use crate::oauth::{self, discovery, exchange, form};
use crate::presets;
use crate::protocol::{Envelope, JobCredential, Response, PROTOCOL_VERSION};
use crate::scope;
use crate::secret::{AccessToken, Passphrase};
use crate::store::file::sealed;
use crate::wire::{self, WireError};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::task::{Context, Poll, Waker};

/// Runs a future that cannot wait (it reads from a byte slice) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("reading a byte slice never waits"),
    }
}

/// A wire error never quotes the frame, which may hold a passphrase or a token.
fn check_wire_error(e: &WireError) {
    if let WireError::Malformed(m) = e {
        assert!(
            !m.contains('"') && !m.contains('`'),
            "quotes the frame: {m}"
        );
    }
}

/// Encodes, decodes and encodes again: what one side sends, the other must read back the same.
fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(msg: &T) {
    let mut first = Vec::new();
    wire::write_frame(&mut first, msg).expect("a decoded message encodes");
    let back: T = wire::read_frame(&mut first.as_slice()).expect("an encoded message decodes");
    let mut second = Vec::new();
    wire::write_frame(&mut second, &back).expect("a decoded message encodes");
    assert_eq!(first, second, "a message changed on a round trip");
}

/// Frames one after another as a connection carries them, read by both sides: the agent's
/// two-step decoding of requests (version header, then the envelope) and the CLI's decoding of
/// responses.
pub fn frame(data: &[u8]) {
    #[derive(serde::Deserialize)]
    struct Header {
        version: u32,
    }
    let mut rest = data;
    loop {
        let body = match ready(wire::read_frame_bytes_async(&mut rest)) {
            Ok(body) => body,
            Err(e) => {
                check_wire_error(&e);
                break;
            }
        };
        match wire::decode_body::<Header>(&body) {
            Ok(h) if h.version != PROTOCOL_VERSION => continue,
            Ok(_) => {}
            Err(e) => {
                check_wire_error(&e);
                continue;
            }
        }
        match wire::decode_body::<Envelope>(&body) {
            Ok(envelope) => round_trip(&envelope),
            Err(e) => check_wire_error(&e),
        }
    }
    let mut rest = data;
    loop {
        match wire::read_frame::<Response>(&mut rest) {
            Ok(response) => round_trip(&response),
            Err(e) => {
                check_wire_error(&e);
                break;
            }
        }
    }
}

/// One frame body decoded as a request and as a response, without the framing (so the fuzzer
/// spends its time on the JSON).
pub fn protocol(data: &[u8]) {
    match wire::decode_body::<Envelope>(data) {
        Ok(envelope) => round_trip(&envelope),
        Err(e) => check_wire_error(&e),
    }
    match wire::decode_body::<Response>(data) {
        Ok(response) => round_trip(&response),
        Err(e) => check_wire_error(&e),
    }
}

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
    if let Ok(answer) = serde_json::from_slice::<oauth2::basic::BasicTokenResponse>(body) {
        if let Ok(tokens) = oauth::token_set(&answer) {
            assert!(tokens.expires_in.is_none_or(|d| d <= form::MAX_EXPIRES_IN));
        }
    }
}

/// The claims tok reads from a JWT access token, and what the agent then does with them.
fn jwt_claims(token: &AccessToken) {
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

/// `config.toml`: what parses must save (the agent rewrites the file) and read back the same.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("config.toml");
    let Ok(config) = Config::parse(path, text) else {
        return;
    };
    let saved = config.text();
    let back = Config::parse(path, &saved).expect("a saved configuration reads back");
    assert_eq!(back, config, "a configuration changed on a round trip");
    let _ = config.resolve(None, None);
    for (name, account) in &config.accounts {
        assert_eq!(
            config.resolve(Some(name), None).as_deref(),
            Ok(name.as_str())
        );
        let _ = config.resolve(None, Some(&account.issuer));
    }
}

/// Words a parse error may quote because they are tok's own (field and variant names), not
/// values from the file.
const CREDENTIAL_WORDS: &[&str] = &[
    "tok_credential",
    "id",
    "account",
    "issuer",
    "token_endpoint",
    "revocation_endpoint",
    "client_id",
    "client_secret",
    "client_auth",
    "refresh_token",
    "scopes",
    "audiences",
    "audience_param",
    "created_at",
    "not_after",
    "ca_pem",
    "resource",
    "audience",
];

/// Every string in a JSON value (keys and values).
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// A job credential file: what parses must save and read back the same and allow its own
/// scopes; what does not parse is refused without quoting the file (it holds a refresh token).
pub fn credential(data: &[u8]) {
    let path = Path::new("job.cred");
    match credential::parse(path, data) {
        Ok(c) => {
            let saved = serde_json::to_string_pretty(&c).expect("a credential serialises");
            let back: JobCredential =
                credential::parse(path, saved.as_bytes()).expect("a saved credential reads back");
            let again = serde_json::to_string_pretty(&back).expect("a credential serialises");
            assert_eq!(saved, again, "a credential changed on a round trip");
            credential::allowed_request(path, &c, &c.scopes, &c.audiences)
                .expect("a credential allows what it was delegated");
            credential::allowed_request(path, &c, &[], &[]).expect("and its defaults");
            let _ = credential::metadata(&c);
            let _ = crate::time::rfc3339(c.not_after);
        }
        Err(e) => {
            let message = e.to_string();
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
                return;
            };
            let mut found = Vec::new();
            strings(&value, &mut found);
            for s in found {
                if s.is_empty() || CREDENTIAL_WORDS.contains(&s.as_str()) {
                    continue;
                }
                for quoted in [format!("{s:?}"), format!("`{s}`"), format!("\"{s}\"")] {
                    assert!(!message.contains(&quoted), "quotes {quoted}: {message}");
                }
            }
        }
    }
}

/// An `issuers.toml`: its presets, looked up by issuer as `tok login` does, and listed as
/// `tok issuers --json` does.
pub fn presets(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(all) = presets::parse(Path::new("issuers.toml"), text) else {
        return;
    };
    for preset in all.values() {
        let (_, found) = presets::by_issuer(&all, &preset.issuer).expect("its own issuer");
        assert!(crate::net::same_issuer(&found.issuer, &preset.issuer));
        let _ = scope::normalise_scopes(&preset.scopes);
        let _ = crate::net::check_url("issuer", &preset.issuer);
    }
    let _ = serde_json::to_string_pretty(&all);
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

fn inspect_text(input: &str) {
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

/// The passphrase the sealed-store seeds in `fuzz/corpus/sealed_store` were made with.
pub const SEALED_PASSPHRASE: &str = "fuzz-passphrase";

/// The encrypted file store's file: the header always; the key derivation, the passphrase
/// check, the decryption and the entry map (as `tok unlock` reads them) when the header asks
/// for a cheap key derivation, since the fuzzer would otherwise only measure Argon2.
pub fn sealed_store(data: &[u8]) {
    let Ok(header) = sealed::parse_header(data) else {
        return;
    };
    let p = header.params;
    if p.m_cost_kib > 256 || p.t_cost > 2 || p.p_cost > 2 {
        return;
    }
    let path = Path::new("secrets.enc");
    if let Ok((_key, plain)) = sealed::open(path, data, &Passphrase::new(SEALED_PASSPHRASE)) {
        let _ = serde_json::from_slice::<BTreeMap<String, secrecy::SecretString>>(&plain);
    }
}
