//! Showing what was found: the claims a person reads first, relative times, the human report
//! and the JSON one (never the token itself), with claim values made safe for a terminal.

use super::*;

/// A claim value made safe to show: no control characters, at most 200 characters.
pub(super) fn show(text: &str) -> String {
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

pub(super) fn count(findings: &[Finding]) -> (usize, usize) {
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
