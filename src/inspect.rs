//! Reading an access token without trusting it, for `tok inspect` and `tok get --inspect`.
//!
//! When a storage element refuses a token, the question is almost always what the token says:
//! which scopes, which audience, how long it lives, and whether the provider issued a WLCG
//! profile token at all. This module decodes a JWT's claims — with **no signature check**: tok
//! is not the token's audience and holds none of the provider's keys, so nothing here is
//! verified — and lints them against the WLCG common JWT profile. Everything is a pure function
//! of the token text and the current time, so every rule is unit-tested; the command that reads
//! stdin and prints lives in `cmd::inspect`.

use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt::Write;

/// The audience that means "any relying party" in the WLCG profile.
pub const ANY_AUDIENCE: &str = "https://wlcg.cern.ch/jwt/v1/any";

/// The longest access-token lifetime the WLCG profile recommends (1 h is typical).
pub const MAX_LIFETIME_SECS: i64 = 6 * 3600;

/// How far in the future `iat` may be before it is worth a finding: clocks drift a little.
pub const CLOCK_LEEWAY_SECS: i64 = 60;

/// OpenID Connect claims that identify a person. The WLCG profile keeps them out of access
/// tokens: an access token travels to every storage element and job it is used with.
pub const PERSONAL_CLAIMS: &[&str] = &[
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "phone_number",
    "phone_number_verified",
    "address",
    "birthdate",
    "picture",
    "profile",
    "website",
    "gender",
];

/// Claims the WLCG profile requires besides `wlcg.ver` (which has a finding of its own).
const REQUIRED_CLAIMS: &[&str] = &["iss", "sub", "aud", "exp", "iat", "jti"];

use crate::scope::{COMPUTE_SCOPES, STORAGE_SCOPES};

/// Tokens longer than this are not access tokens (XRootD refuses JWTs over 4 KiB already).
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// What a token turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A signed JWT (JWS compact serialisation): header and claims, decoded, not verified.
    Jwt(Jwt),
    /// An encrypted JWT (JWE): only its audience can read it.
    Encrypted,
    /// Not a JWT: only the provider can say what it grants (introspection).
    Opaque,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

/// A token that cannot be what it claims to be. The message never quotes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// The token inside what was piped or passed: surrounding whitespace, an
/// `Authorization: Bearer` header (`tok get -f header`), the JSON of `tok get -f json` or the
/// `BEARER_TOKEN=` line of `tok get -f env` are taken off, so every `tok get` format can be
/// piped in.
pub fn extract(input: &str) -> Result<String, Malformed> {
    let mut text = input.trim();
    if let Some(line) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("BEARER_TOKEN="))
    {
        text = line.trim();
    }
    if text.len() > MAX_TOKEN_BYTES {
        return Err(Malformed(format!(
            "the input is longer than {MAX_TOKEN_BYTES} bytes: not an access token"
        )));
    }
    if text.starts_with('{') {
        let value: Value = serde_json::from_str(text).map_err(|_| {
            Malformed(
                "the input starts with `{` but is not JSON (`tok get -f json` output is)".into(),
            )
        })?;
        return match value.get("access_token") {
            Some(Value::String(t)) => Ok(t.trim().to_string()),
            _ => Err(Malformed(
                "the JSON has no `access_token` string; pipe `tok get` or `tok get -f json`".into(),
            )),
        };
    }
    let mut rest = text;
    if let Some(after) = strip_prefix_ignore_case(rest, "authorization:") {
        rest = after.trim_start();
    }
    if let Some(after) = strip_prefix_ignore_case(rest, "bearer ") {
        rest = after.trim_start();
    }
    if rest.is_empty() {
        return Err(Malformed(
            "no token given: pass one as the argument or on stdin (`tok get | tok inspect`)".into(),
        ));
    }
    Ok(rest.to_string())
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Classifies and decodes a token (as [`extract`] returns it). Nothing is verified.
pub fn decode(token: &str) -> Result<Token, Malformed> {
    let b = token.as_bytes();
    let body = b.len() - b.iter().rev().take_while(|&&c| c == b'=').count();
    let b64token = body > 0
        && b[..body]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~+/".contains(c));
    if !b64token {
        return Err(Malformed(
            "this is not an access token: it holds characters an RFC 6750 bearer token cannot (spaces, quotes, control characters…)".into(),
        ));
    }
    // Every JOSE header is a JSON object, so its base64url starts with `ey` (`{"`); anything
    // else is an opaque token, whatever dots it holds. Without a dot it is opaque too, unless
    // it is a lone JWT header (a token cut at its first dot).
    if !token.starts_with("ey") {
        return Ok(Token::Opaque);
    }
    if !token.contains('.') {
        return match segment(token, "header") {
            Ok(_) => Err(Malformed(
                "this is only a JWT header: the token was cut at its first `.`; copy all of it"
                    .into(),
            )),
            Err(_) => Ok(Token::Opaque),
        };
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {
            let header = segment(parts[0], "header")?;
            let claims = segment(parts[1], "claims (payload)")?;
            Ok(Token::Jwt(Jwt { header, claims }))
        }
        5 => {
            let header = segment(parts[0], "header")?;
            if header.contains_key("enc") {
                Ok(Token::Encrypted)
            } else {
                Err(Malformed(
                    "the token has five parts like an encrypted JWT (JWE), but its header names no `enc` algorithm".into(),
                ))
            }
        }
        n => Err(Malformed(format!(
            "the token looks like a JWT but has {n} dot-separated part{}; a JWT has three (header.claims.signature): was it cut or pasted with extra text?",
            if n == 1 { "" } else { "s" }
        ))),
    }
}

/// One base64url segment holding a JSON object.
fn segment(text: &str, what: &str) -> Result<Map<String, Value>, Malformed> {
    use base64::Engine;
    let bytes = zeroize::Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| Malformed(format!("the JWT's {what} is not base64url")))?,
    );
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Malformed(format!("the JWT's {what} is not a JSON object"))),
        Err(_) => Err(Malformed(format!("the JWT's {what} is not JSON"))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The profile is broken: resources following it refuse the token, or it can never work.
    Error,
    /// Allowed, but against the profile's advice or likely to surprise.
    Warning,
}

/// One result of linting a token against the WLCG profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// A stable name for the rule: `wlcg.ver`, `required`, `claims`, `signature`, `scope`,
    /// `audience`, `groups`, `lifetime`, `expired`, `time`, `personal-data`.
    pub check: &'static str,
    pub message: String,
}

fn error(check: &'static str, message: String) -> Finding {
    Finding {
        level: Level::Error,
        check,
        message,
    }
}

fn warning(check: &'static str, message: String) -> Finding {
    Finding {
        level: Level::Warning,
        check,
        message,
    }
}

/// Lints a decoded JWT against the WLCG common JWT profile at time `now` (unix seconds).
/// Claim values in messages are made safe for a terminal.
pub fn lint(jwt: &Jwt, now: i64) -> Vec<Finding> {
    let claims = &jwt.claims;
    let mut out = vec![];

    if let Some(Value::String(alg)) = jwt.header.get("alg") {
        if alg.eq_ignore_ascii_case("none") {
            out.push(error(
                "signature",
                "the token is unsigned (alg `none`): no resource accepts it".into(),
            ));
        }
    }

    match claims.get("wlcg.ver") {
        None => out.push(error(
            "wlcg.ver",
            "no `wlcg.ver` claim: this is not a WLCG profile token, and WLCG storage (XRootD, dCache, StoRM) ignores its storage.* scopes; the provider must issue WLCG tokens (`\"wlcg.ver\": \"1.0\"`)".into(),
        )),
        Some(Value::String(v)) if v == "1.0" => {}
        Some(Value::String(v)) => out.push(warning(
            "wlcg.ver",
            format!("`wlcg.ver` is \"{}\"; the profile defines \"1.0\"", show(v)),
        )),
        Some(other) => out.push(error(
            "wlcg.ver",
            format!("`wlcg.ver` must be the string \"1.0\", not {}", kind(other)),
        )),
    }

    let missing: Vec<&str> = REQUIRED_CLAIMS
        .iter()
        .copied()
        .filter(|c| !claims.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        out.push(error(
            "required",
            format!(
                "missing required claim{} {}: the WLCG profile requires iss, sub, aud, exp, iat, jti and wlcg.ver",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ),
        ));
    }
    for name in ["iss", "sub", "jti", "client_id"] {
        if let Some(v) = claims.get(name) {
            if !v.is_string() {
                out.push(error(
                    "claims",
                    format!("`{name}` must be a string, not {}", kind(v)),
                ));
            }
        }
    }
    for name in ["exp", "iat", "nbf"] {
        if let Some(v) = claims.get(name) {
            if !v.is_number() {
                out.push(error(
                    "claims",
                    format!(
                        "`{name}` must be a number of seconds since 1970, not {}",
                        kind(v)
                    ),
                ));
            }
        }
    }

    match claims.get("scope") {
        None => {}
        Some(Value::String(scope)) => {
            for s in scope.split_whitespace() {
                if let Some(problem) = check_scope(s) {
                    out.push(error("scope", problem));
                }
            }
        }
        Some(other) => out.push(error(
            "scope",
            format!(
                "`scope` must be one space-separated string, not {}",
                kind(other)
            ),
        )),
    }

    match claims.get("aud") {
        None => {}
        Some(Value::String(a)) => out.extend(check_audience(a).map(|m| warning("audience", m))),
        Some(Value::Array(list)) if list.is_empty() => out.push(error(
            "audience",
            "`aud` is an empty list: no resource is the token's audience".into(),
        )),
        Some(Value::Array(list)) => {
            for a in list {
                match a {
                    Value::String(a) => {
                        out.extend(check_audience(a).map(|m| warning("audience", m)))
                    }
                    other => out.push(error(
                        "audience",
                        format!("`aud` holds {}, not a string", kind(other)),
                    )),
                }
            }
        }
        Some(other) => out.push(error(
            "audience",
            format!(
                "`aud` must be a string or a list of strings, not {}",
                kind(other)
            ),
        )),
    }

    match claims.get("wlcg.groups") {
        None => {}
        Some(Value::Array(list)) => {
            for g in list {
                match g {
                    Value::String(g) if g.starts_with('/') => {}
                    Value::String(g) => out.push(warning(
                        "groups",
                        format!(
                            "group `{}` is not an absolute path such as /cms or /cms/uscms",
                            show(g)
                        ),
                    )),
                    other => out.push(error(
                        "groups",
                        format!("`wlcg.groups` holds {}, not a string", kind(other)),
                    )),
                }
            }
        }
        Some(other) => out.push(error(
            "groups",
            format!(
                "`wlcg.groups` must be a list of strings, not {}",
                kind(other)
            ),
        )),
    }

    let (iat, exp, nbf) = (
        seconds(claims, "iat"),
        seconds(claims, "exp"),
        seconds(claims, "nbf"),
    );
    if let (Some(iat), Some(exp)) = (iat, exp) {
        if exp <= iat {
            out.push(error(
                "lifetime",
                "`exp` is not after `iat`: the token was never valid".into(),
            ));
        } else if exp.saturating_sub(iat) > MAX_LIFETIME_SECS {
            out.push(warning(
                "lifetime",
                format!(
                    "the token lives {}, longer than the 6 h the WLCG profile recommends for access tokens (1 h is typical): a leaked token stays usable that long; ask for shorter tokens at the provider",
                    span(exp.saturating_sub(iat))
                ),
            ));
        }
    }
    if let Some(exp) = exp {
        if exp <= now {
            out.push(warning(
                "expired",
                format!(
                    "the token expired {}: get a new one (`tok get`)",
                    relative(exp.saturating_sub(now))
                ),
            ));
        }
    }
    if let Some(nbf) = nbf {
        if nbf > now {
            out.push(warning(
                "time",
                format!(
                    "the token is not valid before `nbf`, {}",
                    relative(nbf.saturating_sub(now))
                ),
            ));
        }
    }
    if let Some(iat) = iat {
        if iat.saturating_sub(now) > CLOCK_LEEWAY_SECS {
            out.push(warning(
                "time",
                format!(
                    "the token was issued {}, in the future: this clock or the provider's is wrong (`tok doctor` checks), and resources that allow no leeway may refuse it",
                    relative(iat.saturating_sub(now))
                ),
            ));
        }
    }

    let personal: Vec<&str> = PERSONAL_CLAIMS
        .iter()
        .copied()
        .filter(|c| claims.contains_key(*c))
        .collect();
    if !personal.is_empty() {
        out.push(warning(
            "personal-data",
            format!(
                "personal data in an access token ({}): the token goes to every storage element and job it is used with; the WLCG profile keeps identity claims out of access tokens (do not ask for the `profile` or `email` scopes; if the provider adds them anyway, tell its operators)",
                personal.join(", ")
            ),
        ));
    }
    out
}

/// What is wrong with one scope, by the WLCG profile's grammar; `None` when it is fine or is
/// not a WLCG scope (other OAuth scopes such as `openid` are allowed beside them).
pub fn check_scope(scope: &str) -> Option<String> {
    let (name, path) = match scope.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (scope, None),
    };
    let shown = show(scope);
    let lower = name.to_ascii_lowercase();
    let wlcg_family = lower.starts_with("storage.")
        || lower.starts_with("compute.")
        || lower.starts_with("wlcg.")
        || lower == "wlcg";
    if wlcg_family && lower != name {
        return Some(format!(
            "`{shown}`: scopes are case sensitive; the profile spells it `{}`",
            show(&lower)
        ));
    }
    if STORAGE_SCOPES.contains(&name) {
        return match path {
            None => Some(format!(
                "`{shown}` has no path: storage scopes carry an absolute path (`{shown}:/` for the whole namespace)"
            )),
            Some(p) if !p.starts_with('/') => Some(format!(
                "`{shown}`: the path must be absolute (`{name}:/{}`)",
                show(p)
            )),
            Some(_) => None,
        };
    }
    if name.starts_with("storage.") {
        return Some(format!(
            "`{shown}` is not a WLCG storage scope (storage.read, storage.create, storage.modify, storage.stage, storage.poll)"
        ));
    }
    if name.starts_with("compute.") && !COMPUTE_SCOPES.contains(&name) {
        return Some(format!(
            "`{shown}` is not a WLCG compute scope (compute.read, compute.modify, compute.create, compute.cancel)"
        ));
    }
    match (name, path) {
        ("wlcg.groups", Some(p)) if !p.starts_with('/') => Some(format!(
            "`{shown}`: a group is an absolute path (`wlcg.groups:/{}`)",
            show(p)
        )),
        ("wlcg.groups", _) => None,
        ("wlcg", None | Some("1.0")) => None,
        ("wlcg", Some(v)) => Some(format!(
            "`{shown}`: the profile defines token version 1.0 (`wlcg:1.0`), not {}",
            show(v)
        )),
        (n, _) if n.starts_with("wlcg.") => {
            Some(format!("`{shown}` is not a WLCG scope (wlcg, wlcg.groups)"))
        }
        _ => None,
    }
}

/// What is off about one audience, by the WLCG profile's form: a service's origin without
/// trailing slash or default port, or the "any" URI. Resources compare audiences as strings,
/// so a different spelling of the right service is refused all the same.
pub fn check_audience(aud: &str) -> Option<String> {
    if aud == ANY_AUDIENCE {
        return None;
    }
    let shown = show(aud);
    if aud.trim_end_matches('/').eq_ignore_ascii_case(ANY_AUDIENCE) {
        return Some(format!(
            "audience `{shown}`: the WLCG \"any\" audience is exactly {ANY_AUDIENCE}"
        ));
    }
    let not_uri = || {
        format!(
            "audience `{shown}` is not a URL: WLCG audiences are a service's origin (https://se.example.org) or {ANY_AUDIENCE}, and a resource expecting its URL refuses this token"
        )
    };
    let Ok(url) = url::Url::parse(aud) else {
        return Some(not_uri());
    };
    let Some(host) = url.host_str() else {
        return Some(not_uri());
    };
    let origin = format!(
        "{}://{}{}",
        url.scheme(),
        host,
        url.port().map(|p| format!(":{p}")).unwrap_or_default()
    );
    if aud == origin {
        return None;
    }
    let rest = url.path().trim_start_matches('/');
    if aud == format!("{origin}/") {
        Some(format!(
            "audience `{shown}` ends in a slash; the WLCG form is {origin}, and resources compare audiences as strings"
        ))
    } else if !rest.is_empty() || url.query().is_some() || url.fragment().is_some() {
        Some(format!(
            "audience `{shown}` has a path; a WLCG audience is the service's origin ({origin}) or {ANY_AUDIENCE}"
        ))
    } else {
        Some(format!(
            "audience `{shown}` is not in the WLCG form {origin} (lower-case host, no default port, no trailing slash)"
        ))
    }
}

/// A claim as whole seconds, when it is a number.
fn seconds(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f.floor() as i64))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A claim value made safe to show: no control characters, at most 200 characters.
fn show(text: &str) -> String {
    let one = crate::terminal::one_line(text);
    if one.chars().count() > 200 {
        let mut cut: String = one.chars().take(200).collect();
        cut.push('…');
        cut
    } else {
        one
    }
}

/// `secs` as a short span: `45s`, `4m`, `1h 5m`, `2d 3h`.
pub fn span(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let (d, h, m, sec) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    let parts: Vec<String> = if d > 0 {
        vec![format!("{d}d"), format!("{h}h")]
    } else if h > 0 {
        vec![format!("{h}h"), format!("{m}m")]
    } else if m > 0 {
        vec![format!("{m}m"), format!("{sec}s")]
    } else {
        vec![format!("{sec}s")]
    };
    let mut out: Vec<String> = parts
        .into_iter()
        .enumerate()
        .filter(|(i, p)| *i == 0 || !p.starts_with('0'))
        .map(|(_, p)| p)
        .collect();
    // Seconds beside minutes are noise for anything but a short span.
    if m >= 10 && d == 0 && h == 0 {
        out.truncate(1);
    }
    out.join(" ")
}

/// A time `delta` seconds from now, said relatively: `in 4m`, `3m ago`, `now`.
pub fn relative(delta: i64) -> String {
    match delta {
        0 => "now".into(),
        d if d > 0 => format!("in {}", span(d)),
        d => format!("{} ago", span(d)),
    }
}

/// The claims a person reads first, pulled out of a JWT's claims.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub groups: Vec<String>,
    pub jti: Option<String>,
    pub issued_at: Option<i64>,
    pub not_before: Option<i64>,
    pub expires_at: Option<i64>,
    pub wlcg_ver: Option<String>,
}

pub fn summary(claims: &Map<String, Value>) -> Summary {
    let text = |name: &str| match claims.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let list = |name: &str| match claims.get(name) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
        _ => vec![],
    };
    Summary {
        issuer: text("iss"),
        subject: text("sub"),
        client_id: text("client_id").or_else(|| text("azp")),
        scopes: match claims.get("scope") {
            Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
            _ => list("scope"),
        },
        audiences: list("aud"),
        groups: list("wlcg.groups"),
        jti: text("jti"),
        issued_at: seconds(claims, "iat"),
        not_before: seconds(claims, "nbf"),
        expires_at: seconds(claims, "exp"),
        wlcg_ver: text("wlcg.ver"),
    }
}

/// The words shown for an opaque or encrypted token.
pub fn undecodable(token: &Token) -> Option<&'static str> {
    match token {
        Token::Jwt(_) => None,
        Token::Opaque => Some(
            "opaque token, nothing to decode: only its provider can say what it grants (token introspection)",
        ),
        Token::Encrypted => Some(
            "encrypted token (JWE), nothing to decode: only its audience holds the key",
        ),
    }
}

/// The human-readable report. `local_time` formats unix seconds for the reader's time zone
/// (the caller's business: this module has no clock and no time zone).
pub fn render(
    jwt: &Jwt,
    findings: &[Finding],
    now: i64,
    local_time: &dyn Fn(i64) -> String,
) -> String {
    let s = summary(&jwt.claims);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "JWT access token, decoded but NOT verified (no signature check)"
    );
    let opt = |v: &Option<String>| v.as_deref().map(show).unwrap_or_else(|| "(none)".into());
    let many = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.iter().map(|x| show(x)).collect::<Vec<_>>().join(" ")
        }
    };
    let when = |t: Option<i64>| match t {
        Some(t) => format!("{} ({})", local_time(t), relative(t.saturating_sub(now))),
        None => "(none)".into(),
    };
    let _ = writeln!(out, "  issuer:    {}", opt(&s.issuer));
    let _ = writeln!(out, "  subject:   {}", opt(&s.subject));
    let _ = writeln!(out, "  client:    {}", opt(&s.client_id));
    let _ = writeln!(out, "  scopes:    {}", many(&s.scopes));
    let _ = writeln!(out, "  audience:  {}", many(&s.audiences));
    let _ = writeln!(out, "  groups:    {}", many(&s.groups));
    let _ = writeln!(out, "  jti:       {}", opt(&s.jti));
    let _ = writeln!(out, "  issued:    {}", when(s.issued_at));
    if s.not_before.is_some() && s.not_before != s.issued_at {
        let _ = writeln!(out, "  nbf:       {}", when(s.not_before));
    }
    let _ = writeln!(out, "  expires:   {}", when(s.expires_at));
    if let (Some(iat), Some(exp)) = (s.issued_at, s.expires_at) {
        if exp > iat {
            let _ = writeln!(out, "  lifetime:  {}", span(exp.saturating_sub(iat)));
        }
    }
    let _ = writeln!(out, "  wlcg.ver:  {}", opt(&s.wlcg_ver));
    let header = |name: &str| jwt.header.get(name).and_then(Value::as_str).map(show);
    let _ = writeln!(
        out,
        "  signed:    {}{}{}",
        header("alg").unwrap_or_else(|| "(no alg)".into()),
        header("kid")
            .map(|k| format!(", key {k}"))
            .unwrap_or_default(),
        header("typ")
            .map(|t| format!(", type {t}"))
            .unwrap_or_default()
    );
    let (errors, warnings) = count(findings);
    if findings.is_empty() {
        let _ = writeln!(out, "WLCG profile: no findings");
    } else {
        let _ = writeln!(
            out,
            "WLCG profile: {errors} error{}, {warnings} warning{}",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        );
    }
    for f in findings {
        let level = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        let _ = writeln!(out, "  {level:<8}{}: {}", f.check, f.message);
    }
    out
}

fn count(findings: &[Finding]) -> (usize, usize) {
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    (errors, findings.len() - errors)
}

/// The machine-readable report: header, claims and findings, never the token itself.
pub fn to_json(token: &Token, findings: &[Finding]) -> Value {
    match token {
        Token::Jwt(jwt) => {
            let (errors, warnings) = count(findings);
            serde_json::json!({
                "format": "jwt",
                "verified": false,
                "header": jwt.header,
                "claims": jwt.claims,
                "lint": findings,
                "errors": errors,
                "warnings": warnings,
            })
        }
        other => serde_json::json!({
            "format": if *other == Token::Encrypted { "jwe" } else { "opaque" },
            "verified": false,
            "message": undecodable(other),
        }),
    }
}

#[cfg(test)]
#[path = "inspect_tests.rs"]
mod tests;
