//! Serving access tokens: from the cache when possible, else one refresh per account at a time
//! (single-flight), storing a rotated refresh token durably before anyone sees its fruit.

use super::cache::{CacheKey, CachedToken};
use super::state::{provider_failure, refresh_key, Failure, RefreshSlot, State};
use crate::oauth::{self, OauthError};
use crate::protocol::{unix_now, ErrorKind, TokenGrant, TokenRequest};
use crate::secret::RefreshToken;
use secrecy::ExposeSecret;

/// Assumed lifetime when the provider says nothing and the token is not a JWT.
const FALLBACK_LIFETIME_SECS: u64 = 300;

pub async fn get_token(state: &State, req: TokenRequest) -> Result<TokenGrant, Failure> {
    let config = state.config()?;
    let name = config
        .resolve(req.account.as_deref(), req.issuer.as_deref())
        .map_err(|m| Failure::new(ErrorKind::Usage, m))?;
    let account = config.accounts[&name].clone();
    let min_valid = match req.min_valid_secs {
        Some(v) => v,
        None => config
            .min_valid_secs(&state.config_path)
            .map_err(|e| Failure::new(ErrorKind::Usage, e.to_string()))?,
    };
    let key = CacheKey {
        account: name.clone(),
        scopes: req.scopes,
        audiences: req.audiences,
    };
    let exact = req.exact_scope || account.exact_scope;
    let grant = |t: CachedToken, key: &CacheKey| TokenGrant {
        warning: None,
        token: t.token,
        expires_at: t.expires_at,
        scopes: if t.granted_scopes.is_empty() {
            key.scopes.clone()
        } else {
            t.granted_scopes
        },
        audiences: key.audiences.clone(),
        account: key.account.clone(),
        issuer: account.issuer.clone(),
    };
    if let Some(hit) = state.cache.get(&key, unix_now(), min_valid) {
        tracing::debug!(account = %name, "token served from cache");
        if exact {
            refuse_wider(&name, &key.scopes, &hit.granted_scopes)?;
        }
        return Ok(grant(hit, &key));
    }

    let acct_state = state.account(&name);
    let mut slot = acct_state.refresh.lock().await;
    // Someone may have refreshed this very key while we waited.
    if let Some(hit) = state.cache.get(&key, unix_now(), min_valid) {
        if exact {
            refuse_wider(&name, &key.scopes, &hit.granted_scopes)?;
        }
        return Ok(grant(hit, &key));
    }
    if let Some(reason) = state.needs_login(&name) {
        return Err(Failure::new(
            ErrorKind::NeedsLogin,
            format!("account `{name}` needs a new login ({reason}); run `tok login {name}`"),
        ));
    }
    if let RefreshSlot::Unstored(rotated) = &*slot {
        // Store the only valid copy before using it: a failing store must not let the
        // provider rotate it again and again while nothing is kept.
        let rotated = rotated.clone();
        state.store_rotated(&name, &mut slot, rotated).await?;
    }
    if matches!(*slot, RefreshSlot::Unknown) {
        *slot = match state.store_load(refresh_key(&name)).await? {
            Some(s) => RefreshSlot::Present(RefreshToken::new(s.expose_secret())),
            None => RefreshSlot::Missing,
        };
    }
    let RefreshSlot::Present(refresh_token) = &*slot else {
        return Err(Failure::new(
            ErrorKind::NeedsLogin,
            format!("account `{name}` is not logged in; run `tok login {name}`"),
        ));
    };
    let refresh_token = refresh_token.clone();
    let http = state.http(account.ca_file.as_deref())?;
    let md = state.metadata(&http, &account.issuer, false).await?;
    let creds = state.creds(&name, &account).await?;
    tracing::info!(account = %name, scopes = ?key.scopes, audiences = ?key.audiences, "refreshing access token");
    let mut result = oauth::refresh(
        &http,
        &md,
        &creds,
        &refresh_token,
        &key.scopes,
        &key.audiences,
        account.audience_param,
    )
    .await;
    if let Err(OauthError::EndpointGone(why)) = &result {
        // The provider moved its endpoint: discover again and retry once.
        tracing::warn!(account = %name, "{why}; discovering the provider again");
        let md = state.metadata(&http, &account.issuer, true).await?;
        result = oauth::refresh(
            &http,
            &md,
            &creds,
            &refresh_token,
            &key.scopes,
            &key.audiences,
            account.audience_param,
        )
        .await;
    }
    let tokens = match result {
        Ok(t) => t,
        Err(e @ (OauthError::InvalidGrant(_) | OauthError::InvalidClient { .. })) => {
            tracing::warn!(account = %name, "provider rejected the refresh token: {e}");
            state.set_needs_login(&name, Some(e.to_string()));
            return Err(Failure::new(
                ErrorKind::NeedsLogin,
                format!("account `{name}` needs a new login: {e}; run `tok login {name}`"),
            ));
        }
        Err(e @ OauthError::Transient(_)) => {
            tracing::warn!(account = %name, "refresh failed: {e}");
            return Err(Failure::new(
                ErrorKind::Provider,
                format!(
                    "cannot refresh a token for `{name}`: {e}; the login is kept, try again later"
                ),
            ));
        }
        Err(e) => return Err(provider_failure(e)),
    };

    if let Some(new_rt) = tokens.refresh_token {
        if new_rt != refresh_token {
            // The rotated token must be durable before its access token is handed out: if we
            // crashed after answering but before storing, the login would be lost.
            state.store_rotated(&name, &mut slot, new_rt).await?;
        }
    }
    drop(slot);

    let now = unix_now();
    let expires_at = match tokens.expires_in {
        Some(d) => now + d.as_secs(),
        None => oauth::jwt_expiry(&tokens.access_token).unwrap_or(now + FALLBACK_LIFETIME_SECS),
    };
    if expires_at.saturating_sub(now) < min_valid {
        tracing::warn!(account = %name, "the provider issued a token living {}s, less than the {}s asked for", expires_at.saturating_sub(now), min_valid);
    }
    // What was granted: the response says, else the token itself.
    let granted = tokens
        .scopes
        .clone()
        .or_else(|| oauth::jwt_scopes(&tokens.access_token))
        .unwrap_or_default();
    if exact {
        // Not cached either: the same request would get the same answer.
        refuse_wider(&name, &key.scopes, &granted)?;
    }
    let mut warning = None;
    if let Some(text) = wider_text(&key.scopes, &granted) {
        tracing::warn!(account = %name, "{text}");
        let text = format!("{text}; this token carries more privilege than the job asked for (`--exact-scope`, or `exact_scope = true` for account `{name}` in config.toml, makes this an error)");
        if state.note_scope_warning(&name, &text) {
            warning = Some(text);
        }
    }
    let cached = CachedToken {
        token: tokens.access_token,
        expires_at,
        granted_scopes: granted,
    };
    state.cache.insert(key.clone(), cached.clone(), now);
    let mut answer = grant(cached, &key);
    answer.warning = warning;
    Ok(answer)
}

/// "asked for …, granted …" when the provider granted beyond the request (narrowed requests
/// only: a request without scopes asks for everything the login has).
fn wider_text(requested: &[String], granted: &[String]) -> Option<String> {
    if requested.is_empty() {
        return None;
    }
    let extra = crate::scope::beyond(granted, requested);
    (!extra.is_empty()).then(|| {
        format!(
            "the provider granted scopes wider than asked: asked for [{}], got [{}] (beyond the request: {})",
            requested.join(" "),
            granted.join(" "),
            extra.join(" ")
        )
    })
}

fn refuse_wider(name: &str, requested: &[String], granted: &[String]) -> Result<(), Failure> {
    match wider_text(requested, granted) {
        None => Ok(()),
        Some(text) => Err(Failure::new(
            ErrorKind::Denied,
            format!("{text}; refused because exact scopes are required for `{name}` (the provider ignores narrowed scopes: ask without --exact-scope, or log in with only the scopes jobs need)"),
        )),
    }
}
