//! The WLCG common JWT profile as lint rules over decoded claims: required claims, lifetime,
//! clock, personal data, scope grammar and audience form. Pure functions of the claims and `now`.

use super::*;

/// Claims the WLCG profile requires besides `wlcg.ver` (which has a finding of its own).
pub(super) const REQUIRED_CLAIMS: &[&str] = &["iss", "sub", "aud", "exp", "iat", "jti"];

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

pub(super) fn error(check: &'static str, message: String) -> Finding {
    Finding {
        level: Level::Error,
        check,
        message,
    }
}

pub(super) fn warning(check: &'static str, message: String) -> Finding {
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
pub(super) fn seconds(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f.floor() as i64))
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
