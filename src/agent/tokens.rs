//! Serving access tokens: from the cache when possible, else one refresh per account at a time
//! (single-flight), storing a rotated refresh token durably before anyone sees its fruit.
//! How a narrower token is obtained follows the account's `narrowing` setting.

use super::cache::{CacheKey, CachedToken};
use super::shared;
use super::state::{provider_failure, refresh_key, Failure, RefreshSlot, State};
use crate::config::{Account, Narrowing};
use crate::oauth::{self, OauthError, TokenSet};
use crate::protocol::{unix_now, ErrorKind, TokenGrant, TokenRequest};
use crate::secret::RefreshToken;
use secrecy::ExposeSecret;

/// Assumed lifetime when the provider says nothing and the token is not a JWT.
const FALLBACK_LIFETIME_SECS: u64 = 300;

/// One token request, resolved against the configuration.
struct Wanted {
    name: String,
    account: Account,
    key: CacheKey,
    min_valid: u64,
    exact: bool,
    /// Skip the cache (`tok get --force`).
    force: bool,
}

impl Wanted {
    fn grant(&self, t: CachedToken) -> TokenGrant {
        TokenGrant {
            warning: None,
            token: t.token,
            expires_at: t.expires_at,
            scopes: if t.granted_scopes.is_empty() {
                self.key.scopes.clone()
            } else {
                t.granted_scopes
            },
            audiences: self.key.audiences.clone(),
            account: self.name.clone(),
            issuer: self.account.issuer.clone(),
        }
    }

    /// A cached token that still lives long enough (and, for exact requests, is not wider);
    /// none when the request forces a refresh.
    fn cached(&self, state: &State) -> Result<Option<TokenGrant>, Failure> {
        if self.force {
            return Ok(None);
        }
        let Some(hit) = state.cache.get(&self.key, unix_now(), self.min_valid) else {
            return Ok(None);
        };
        if self.exact {
            refuse_wider(&self.name, &self.key.scopes, &hit.granted_scopes)?;
        }
        let expires_at = hit.expires_at;
        let mut grant = self.grant(hit);
        if let Some(reason) = state.needs_login(&self.name) {
            // Still valid, so still served: but the user must know it is the last one.
            grant.warning = Some(format!(
                "account `{}` needs a new login ({reason}); this cached token is served until it expires at {}, then requests fail: run `tok login {}`",
                self.name,
                crate::protocol::rfc3339(expires_at),
                self.name
            ));
        }
        Ok(Some(grant))
    }
}

/// Where a served token came from (for the audit trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Refresh,
    Exchange,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Cache => "cached",
            Origin::Refresh => "refreshed",
            Origin::Exchange => "exchanged",
        }
    }
}

pub async fn get_token(state: &State, req: TokenRequest) -> Result<TokenGrant, Failure> {
    get_token_traced(state, req).await.map(|(grant, _)| grant)
}

/// [`get_token`], saying where the token came from.
pub async fn get_token_traced(
    state: &State,
    req: TokenRequest,
) -> Result<(TokenGrant, Origin), Failure> {
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
    let wanted = Wanted {
        key: CacheKey {
            account: name.clone(),
            scopes: req.scopes,
            audiences: req.audiences,
        },
        exact: req.exact_scope || account.exact_scope,
        force: req.force,
        name,
        account,
        min_valid,
    };
    if let Some(hit) = wanted.cached(state)? {
        tracing::debug!(account = %wanted.name, "token served from cache");
        return Ok((hit, Origin::Cache));
    }
    let narrowed = !wanted.key.scopes.is_empty() || !wanted.key.audiences.is_empty();
    if narrowed && wanted.account.narrowing == Narrowing::Exchange {
        return Box::pin(narrow_by_exchange(state, wanted))
            .await
            .map(|g| (g, Origin::Exchange));
    }
    refresh(state, wanted).await
}

/// A refresh with the refresh token, serialised per account.
async fn refresh(state: &State, wanted: Wanted) -> Result<(TokenGrant, Origin), Failure> {
    let name = &wanted.name;
    let account = &wanted.account;
    let acct_state = state.account(name);
    let mut slot = acct_state.refresh.lock().await;
    // Someone may have refreshed this very key while we waited.
    if let Some(hit) = wanted.cached(state)? {
        return Ok((hit, Origin::Cache));
    }
    // A shared store (OpenBao): one refresh of this account at a time across every agent, and
    // the refresh token read afresh under the lease, since another node may have rotated it.
    let mut shared_version = None;
    let _lease = if state.store.shared() {
        let lease = shared::lease(state, name).await?;
        match shared::current(state, name).await? {
            Some((token, version)) => {
                if state.needs_login(name).is_some() && acct_state.dead_version() != Some(version) {
                    // Someone logged in again on another node: that login is ours too.
                    state.set_needs_login(name, None);
                }
                *slot = RefreshSlot::Present(token);
                shared_version = Some(version);
            }
            None => *slot = RefreshSlot::Missing,
        }
        Some(lease)
    } else {
        None
    };
    if let Some(reason) = state.needs_login(name) {
        return Err(Failure::new(
            ErrorKind::NeedsLogin,
            format!("account `{name}` needs a new login ({reason}); run `tok login {name}`"),
        ));
    }
    // Another node may have refreshed this very request meanwhile and shared the token.
    let share = _lease.is_some() && state.config()?.share_access_tokens;
    if share {
        if let Some(token) = shared::shared_access(state, &wanted.key, wanted.min_valid).await {
            tracing::debug!(account = %name, "token served from the shared store");
            state
                .cache
                .insert(wanted.key.clone(), token.clone(), unix_now());
            return Ok((wanted.grant(token), Origin::Cache));
        }
    }
    if let RefreshSlot::Unstored(rotated) = &*slot {
        // Store the only valid copy before using it: a failing store must not let the
        // provider rotate it again and again while nothing is kept.
        let rotated = rotated.clone();
        state.store_rotated(name, &mut slot, rotated).await?;
    }
    if matches!(*slot, RefreshSlot::Unknown) {
        *slot = match state.store_load(refresh_key(name)).await? {
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
    let http = state.http(account.ca_file.as_deref()).await?;
    let md = state.metadata(&http, &account.issuer, false).await?;
    let creds = state.creds(name, account).await?;
    // With no narrowing, the provider is asked for the login's scopes; the resource enforces.
    let scopes: &[String] = match account.narrowing {
        Narrowing::None => &[],
        _ => &wanted.key.scopes,
    };
    tracing::info!(account = %name, scopes = ?scopes, audiences = ?wanted.key.audiences, "refreshing access token");
    let audiences = &wanted.key.audiences;
    let call = |md: oauth::Metadata, refresh_token: RefreshToken| {
        let (http, creds) = (&http, &creds);
        async move {
            oauth::refresh(
                http,
                &md,
                creds,
                &refresh_token,
                scopes,
                audiences,
                account.audience_param,
            )
            .await
        }
    };
    let mut result = call(md.clone(), refresh_token.clone()).await;
    if let Err(OauthError::EndpointGone(why)) = &result {
        // The provider moved its endpoint: discover again and retry once.
        tracing::warn!(account = %name, "{why}; discovering the provider again");
        let md = state.metadata(&http, &account.issuer, true).await?;
        result = call(md, refresh_token.clone()).await;
    }
    let mut refresh_token = refresh_token;
    if let (Err(OauthError::InvalidGrant(_)), Some(version)) = (&result, shared_version) {
        // With a shared store, a refused token may only be stale: read once more.
        if let Some((newer, v)) = shared::current(state, name).await? {
            if v != version {
                tracing::info!(account = %name, "the shared store had a newer refresh token; retrying with it");
                shared_version = Some(v);
                refresh_token = newer;
                result = call(md, refresh_token.clone()).await;
            }
        }
    }
    let tokens = match result {
        Ok(t) => {
            crate::crashpoint::reached("provider_answered");
            t
        }
        Err(e @ (OauthError::InvalidGrant(_) | OauthError::InvalidClient { .. })) => {
            tracing::warn!(account = %name, "provider rejected the refresh token: {e}");
            state.set_needs_login(name, Some(e.to_string()));
            acct_state.set_dead_version(shared_version);
            return Err(Failure::new(
                ErrorKind::NeedsLogin,
                format!("account `{name}` needs a new login: {e}; run `tok login {name}`"),
            ));
        }
        Err(e @ (OauthError::Transient(_) | OauthError::EndpointGone(_))) => {
            tracing::warn!(account = %name, "refresh failed: {e}");
            return Err(Failure::new(
                ErrorKind::Provider,
                format!(
                    "cannot refresh a token for `{name}`: {e}; the login is kept, try again later"
                ),
            ));
        }
        Err(e) => return Err(refused(name, e)),
    };
    if let Some(new_rt) = &tokens.refresh_token {
        if *new_rt != refresh_token {
            // The rotated token must be durable before its access token is handed out: if we
            // crashed after answering but before storing, the login would be lost.
            match shared_version {
                Some(version) => {
                    if let Err(e) = shared::store_rotated(state, name, new_rt, version).await {
                        tracing::warn!(account = %name, "check-and-set write failed ({}); writing plainly", e.message);
                        state.store_rotated(name, &mut slot, new_rt.clone()).await?;
                    } else {
                        *slot = RefreshSlot::Present(new_rt.clone());
                    }
                }
                None => state.store_rotated(name, &mut slot, new_rt.clone()).await?,
            }
            crate::crashpoint::reached("store_written");
        }
    }
    if account.refresh_invalidates_tokens {
        // This provider killed the access tokens issued earlier on the grant.
        state.cache.remove_account(name);
    }
    drop(slot);
    let grant = finish(state, &wanted, tokens)?;
    if share {
        // Shared while this agent still holds the lease: the nodes waiting for it find it.
        let token = CachedToken {
            token: grant.token.clone(),
            expires_at: grant.expires_at,
            granted_scopes: grant.scopes.clone(),
        };
        shared::share_access(state, &wanted.key, &token).await;
    }
    Ok((grant, Origin::Refresh))
}

/// Narrowing by RFC 8693 exchange: a login-scope token (cached or refreshed as usual) is traded
/// for a narrower one; the grant and its refresh token stay as they are.
async fn narrow_by_exchange(state: &State, wanted: Wanted) -> Result<TokenGrant, Failure> {
    let name = &wanted.name;
    let account = &wanted.account;
    let base = get_token(
        state,
        TokenRequest {
            account: Some(name.clone()),
            issuer: None,
            scopes: vec![],
            audiences: vec![],
            min_valid_secs: Some(wanted.min_valid.max(30)),
            exact_scope: false,
            force: false,
        },
    )
    .await?;
    let http = state.http(account.ca_file.as_deref()).await?;
    let md = state.metadata(&http, &account.issuer, false).await?;
    let creds = state.creds(name, account).await?;
    tracing::info!(account = %name, scopes = ?wanted.key.scopes, audiences = ?wanted.key.audiences, "narrowing by token exchange");
    let tokens = oauth::narrow(
        &http,
        &md,
        &creds,
        &base.token,
        &wanted.key.scopes,
        &wanted.key.audiences,
        account.audience_param,
    )
    .await
    .map_err(|e| match e {
        OauthError::Transient(_) | OauthError::EndpointGone(_) => Failure::new(
            ErrorKind::Provider,
            format!("cannot narrow a token for `{name}` by token exchange: {e}; the login is kept, try again later"),
        ),
        other => refused(name, other),
    })?;
    finish(state, &wanted, tokens)
}

/// Caches a fresh token and answers with it, after checking what was granted against what was
/// asked.
fn finish(state: &State, wanted: &Wanted, tokens: TokenSet) -> Result<TokenGrant, Failure> {
    let name = &wanted.name;
    let now = unix_now();
    let expires_at = match tokens.expires_in {
        Some(d) => now.saturating_add(d.as_secs()),
        None => oauth::jwt_expiry(&tokens.access_token).unwrap_or(now + FALLBACK_LIFETIME_SECS),
    };
    let mut warning = None;
    let lives = expires_at.saturating_sub(now);
    if lives < wanted.min_valid {
        let text = format!(
            "the provider issued a token living {}, less than the {} asked for (--min-valid): it cannot be cached, so every request refreshes; ask for less",
            human(lives),
            human(wanted.min_valid)
        );
        tracing::warn!(account = %name, "{text}");
        warning = Some(text);
    }
    // What was granted: the response says, else the token itself.
    let granted = tokens
        .scopes
        .clone()
        .or_else(|| oauth::jwt_scopes(&tokens.access_token))
        .unwrap_or_default();
    if wanted.exact {
        // Not cached either: the same request would get the same answer.
        refuse_wider(name, &wanted.key.scopes, &granted)?;
    }
    // Without narrowing, wide tokens are what the user chose.
    if wanted.account.narrowing != Narrowing::None {
        if let Some(text) = wider_text(&wanted.key.scopes, &granted) {
            tracing::warn!(account = %name, "{text}");
            let text = format!("{text}; this token carries more privilege than the job asked for (`--exact-scope`, or `exact_scope = true` for account `{name}` in config.toml, makes this an error)");
            if state.note_scope_warning(name, &text) {
                warning = Some(text);
            }
        }
    }
    let cached = CachedToken {
        token: tokens.access_token,
        expires_at,
        granted_scopes: granted,
    };
    state.cache.insert(wanted.key.clone(), cached.clone(), now);
    let mut answer = wanted.grant(cached);
    answer.warning = warning;
    Ok(answer)
}

fn human(secs: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

/// A refusal, with a hint where the provider's error code points at a fix.
fn refused(name: &str, e: OauthError) -> Failure {
    let hint = match &e {
        OauthError::Refused { code, .. } if code == "invalid_scope" => format!(
            "; the login may not cover this scope: log in with wider scopes (`tok login {name} --scope …`), or ask for narrower ones"
        ),
        OauthError::Refused { code, .. } if code == "invalid_target" => format!(
            "; the provider may expect the other way of asking for an audience: `tok login {name} --audience-param audience` (or `resource`), or set audience_param in config.toml"
        ),
        _ => String::new(),
    };
    let mut failure = provider_failure(e);
    failure.message.push_str(&hint);
    failure
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
