//! Finding and decoding the token: the token inside whatever `tok get` printed, then its kind
//! (JWT, encrypted, opaque) and a JWT's header and claims. Nothing is verified.

use super::*;

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

pub(super) fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
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
pub(super) fn segment(text: &str, what: &str) -> Result<Map<String, Value>, Malformed> {
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
