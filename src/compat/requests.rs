//! oidc-agent's requests and replies (its `ipc_values.h`), read and written here so the agent's
//! glue only maps them onto tok's own token service. Replies use oidc-agent's keys and, where
//! scripts match on them, its exact error texts.

use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

/// oidc-agent's answer for a short name it does not know (scripts match on this text).
pub const NO_SUCH_ACCOUNT: &str = "No account configured with that short name";
/// oidc-agent's answer (4.2.6) for an issuer no loaded account belongs to.
pub const NO_ACCOUNT_FOR_ISSUER: &str = "account not loaded";
/// oidc-agent's answer while the agent is locked.
pub const AGENT_LOCKED: &str = "Agent locked";

/// One request from an oidc-agent client.
#[derive(Debug, PartialEq, Eq)]
pub enum CompatRequest {
    AccessToken(AccessTokenAsk),
    LoadedAccounts,
    AccountInfo,
    Check,
    /// `oidc-add NAME`: the account is "loaded" when tok knows it.
    Add {
        account: Option<String>,
    },
    /// A request tok does not serve (named, for the reply).
    Unsupported(String),
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct AccessTokenAsk {
    pub account: Option<String>,
    pub issuer: Option<String>,
    pub min_valid: MinValid,
    /// As sent (space-separated); tok normalises them.
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
}

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub enum MinValid {
    /// `0` or absent: any token that is still valid.
    #[default]
    Any,
    AtLeast(u64),
    /// `-1` (`oidc-token -f`): a new token.
    ForceNew,
}

/// Why a request could not be read; answered as oidc-agent answers a bad request.
#[derive(Debug, PartialEq, Eq)]
pub struct BadRequest(pub &'static str);

impl BadRequest {
    pub fn reply(&self) -> Zeroizing<Vec<u8>> {
        failure(&format!("Bad Request: {}", self.0))
    }
}

pub fn parse(body: &[u8]) -> Result<CompatRequest, BadRequest> {
    let value: Value = serde_json::from_slice(trim(body)).map_err(|_| BadRequest("not JSON"))?;
    let Value::Object(map) = value else {
        return Err(BadRequest("not a JSON object"));
    };
    let Some(request) = map.get("request").and_then(Value::as_str) else {
        return Err(BadRequest("No request type."));
    };
    let text = |key: &str| match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    Ok(match request {
        "access_token" => CompatRequest::AccessToken(AccessTokenAsk {
            account: text("account"),
            issuer: text("issuer"),
            min_valid: min_valid(map.get("min_valid_period"))?,
            scopes: words(map.get("scope")),
            audiences: words(map.get("audience")),
        }),
        "loaded_accounts" => CompatRequest::LoadedAccounts,
        "account_info" => CompatRequest::AccountInfo,
        "check" => CompatRequest::Check,
        "add" => CompatRequest::Add {
            account: map
                .get("config")
                .and_then(|c| match c {
                    Value::String(s) => serde_json::from_str::<Value>(s).ok(),
                    other => Some(other.clone()),
                })
                .and_then(|c| c.get("name").and_then(Value::as_str).map(str::to_string)),
        },
        other => CompatRequest::Unsupported(other.chars().take(40).collect()),
    })
}

fn trim(body: &[u8]) -> &[u8] {
    let end = body
        .iter()
        .rposition(|b| !matches!(b, b'\0' | b'\n' | b' '))
        .map_or(0, |i| i + 1);
    &body[..end]
}

fn min_valid(value: Option<&Value>) -> Result<MinValid, BadRequest> {
    let number = match value {
        None | Some(Value::Null) => return Ok(MinValid::Any),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) if s.is_empty() => return Ok(MinValid::Any),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match number {
        Some(n) if n < 0 => Ok(MinValid::ForceNew),
        Some(0) => Ok(MinValid::Any),
        Some(n) => Ok(MinValid::AtLeast(n as u64)),
        None => Err(BadRequest("min_valid_period is not a number")),
    }
}

/// A space-separated string (or a list of them) as words.
fn words(value: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |s: &str| out.extend(s.split_whitespace().map(str::to_string));
    match value {
        Some(Value::String(s)) => add(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(add),
        _ => {}
    }
    out
}

fn reply(value: &impl Serialize) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(serde_json::to_vec(value).expect("a reply serialises"))
}

pub fn failure(error: &str) -> Zeroizing<Vec<u8>> {
    #[derive(Serialize)]
    struct Failure<'a> {
        status: &'static str,
        error: &'a str,
    }
    reply(&Failure {
        status: "failure",
        error,
    })
}

pub fn success() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(br#"{"status":"success"}"#.to_vec())
}

pub fn access_token(token: &str, issuer: &str, expires_at: u64) -> Zeroizing<Vec<u8>> {
    #[derive(Serialize)]
    struct Success<'a> {
        status: &'static str,
        access_token: &'a str,
        issuer: &'a str,
        expires_at: u64,
    }
    reply(&Success {
        status: "success",
        access_token: token,
        issuer,
        expires_at,
    })
}

pub fn loaded_accounts(names: &[String]) -> Zeroizing<Vec<u8>> {
    reply(&serde_json::json!({ "status": "success", "info": names }))
}

/// `account_info`: per issuer, whether a public client is known (never, for tok) and each
/// account with whether it is loaded (every tok account is).
pub fn account_info<'a>(accounts: impl Iterator<Item = (&'a str, &'a str)>) -> Zeroizing<Vec<u8>> {
    let mut info = serde_json::Map::new();
    for (name, issuer) in accounts {
        let entry = info
            .entry(issuer.to_string())
            .or_insert_with(|| serde_json::json!({ "pubclient": false, "accounts": {} }));
        entry["accounts"][name] = Value::Bool(true);
    }
    reply(&serde_json::json!({ "status": "success", "info": info }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_oidc_token_and_the_libraries_send() {
        let ask = parse(br#"{"request":"access_token","account":"wlcg","min_valid_period":60,"application_hint":"oidc-token","scope":"storage.read:/ openid","audience":"https://a https://b"}"#).unwrap();
        assert_eq!(
            ask,
            CompatRequest::AccessToken(AccessTokenAsk {
                account: Some("wlcg".into()),
                issuer: None,
                min_valid: MinValid::AtLeast(60),
                scopes: vec!["storage.read:/".into(), "openid".into()],
                audiences: vec!["https://a".into(), "https://b".into()],
            })
        );
        let forced = parse(br#"{"request":"access_token","issuer":"https://i/","min_valid_period":"-1","scope":""}"#).unwrap();
        let CompatRequest::AccessToken(forced) = forced else {
            panic!()
        };
        assert_eq!(forced.min_valid, MinValid::ForceNew);
        assert_eq!(forced.issuer.as_deref(), Some("https://i/"));
        assert!(forced.scopes.is_empty());
        assert_eq!(
            parse(br#"{"request":"check"}"#).unwrap(),
            CompatRequest::Check
        );
        assert_eq!(
            parse(br#"{"request":"gen"}"#).unwrap(),
            CompatRequest::Unsupported("gen".into())
        );
        assert_eq!(parse(b"[1]").unwrap_err(), BadRequest("not a JSON object"));
        assert_eq!(parse(b"{}").unwrap_err(), BadRequest("No request type."));
        assert!(parse(br#"{"request":"access_token","min_valid_period":{}}"#).is_err());
    }

    #[test]
    fn replies_use_oidc_agents_keys() {
        let r: Value = serde_json::from_slice(&access_token("t", "https://i/", 5)).unwrap();
        assert_eq!(
            r,
            serde_json::json!({"status":"success","access_token":"t","issuer":"https://i/","expires_at":5})
        );
        let r: Value = serde_json::from_slice(&failure(NO_SUCH_ACCOUNT)).unwrap();
        assert_eq!(r["error"], NO_SUCH_ACCOUNT);
        let r: Value = serde_json::from_slice(&account_info(
            [("a", "https://i"), ("b", "https://i")].into_iter(),
        ))
        .unwrap();
        assert_eq!(r["info"]["https://i"]["accounts"]["b"], true);
    }
}
