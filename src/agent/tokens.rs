//! Serving access tokens: from the cache when possible, else one refresh per account at a time
//! (single-flight), storing a rotated refresh token durably before anyone sees its fruit.
//! How a narrower token is obtained follows the account's `narrowing` setting.

use super::cache::{CacheKey, CachedToken};
use super::holder::{refusal_hint, SlotHolder};
use super::login_end;
use super::nodes::{self, LeaseHolder};
use super::state::{Failure, State};
use crate::config::{Account, Narrowing};
use crate::oauth::{self, OauthError, Outcome, TokenSet};
use crate::protocol::{ErrorKind, TokenGrant, TokenRequest};
use crate::refresh::{self, failure_kind, Holder};
use crate::secret::RefreshToken;
use crate::time::unix_now;

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
            login_warning: None,
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
                crate::time::rfc3339(expires_at),
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

/// A refresh with the refresh token, serialised per account (and, with a shared store, across
/// the nodes by the account's lease).
async fn refresh(state: &State, wanted: Wanted) -> Result<(TokenGrant, Origin), Failure> {
    let account = state.account(&wanted.name);
    let slot = account.refresh.lock().await;
    // Someone may have refreshed this very key while we waited.
    if let Some(hit) = wanted.cached(state)? {
        return Ok((hit, Origin::Cache));
    }
    let holder = SlotHolder {
        state,
        name: &wanted.name,
        account: std::sync::Arc::clone(&account),
        slot,
        version: None,
    };
    if state.store.shared() {
        refresh_held(state, &wanted, LeaseHolder::take(holder).await?, true).await
    } else {
        refresh_held(state, &wanted, holder, false).await
    }
}

async fn refresh_held(
    state: &State,
    wanted: &Wanted,
    mut holder: impl Holder,
    shared: bool,
) -> Result<(TokenGrant, Origin), Failure> {
    let name = &wanted.name;
    let account = &wanted.account;
    if let Some(reason) = state.needs_login(name) {
        let failure = Failure::new(
            ErrorKind::NeedsLogin,
            format!("account `{name}` needs a new login ({reason}); run `tok login {name}`"),
        );
        return Err(login_end::explain(state, name, account, failure));
    }
    // Another node may have refreshed this very request meanwhile and shared the token.
    let share = shared && state.config()?.share_access_tokens;
    if share {
        if let Some(token) = nodes::shared_access(state, &wanted.key, wanted.min_valid).await {
            tracing::debug!(account = %name, "token served from the shared store");
            state
                .cache
                .insert(wanted.key.clone(), token.clone(), unix_now());
            return Ok((wanted.grant(token), Origin::Cache));
        }
    }
    // The token first (an unstored rotation stored, the store read): a locked store or a
    // missing login is told before any network. `refresh::run` then finds it in the slot.
    holder.load().await?;
    let http = state.http(account.ca_file.as_deref()).await?;
    let md = state.metadata(&http, &account.issuer, false).await?;
    let creds = state.creds(name, account).await?;
    // With no narrowing, the provider is asked for the login's scopes; the resource enforces.
    let scopes: &[String] = match account.narrowing {
        Narrowing::None => &[],
        _ => &wanted.key.scopes,
    };
    let audiences = &wanted.key.audiences;
    tracing::info!(account = %name, scopes = ?scopes, audiences = ?audiences, "refreshing access token");
    let (http, md, creds) = (&http, &md, &creds);
    let param = account.audience_param;
    let ask = |token: RefreshToken| async move {
        let result = oauth::refresh(http, md, creds, &token, scopes, audiences, param).await;
        let Err(OauthError::EndpointGone(why)) = &result else {
            return result;
        };
        // The provider moved its endpoint: discover again and retry once.
        tracing::warn!(account = %name, "{why}; discovering the provider again");
        match state.metadata(http, &account.issuer, true).await {
            Ok(md) => oauth::refresh(http, &md, creds, &token, scopes, audiences, param).await,
            Err(f) => {
                tracing::warn!(account = %name, "discovery failed: {}", f.message);
                result
            }
        }
    };
    let refreshed = refresh::run(&mut holder, ask)
        .await
        .map_err(|f| login_end::explain(state, name, account, f))?;
    login_end::learned(state, name, refreshed.login_end);
    if account.refresh_invalidates_tokens {
        // This provider killed the access tokens issued earlier on the grant.
        state.cache.remove_account(name);
    }
    let grant = finish(state, wanted, refreshed.tokens, refreshed.expires_at)?;
    if share {
        // Shared while this agent still holds the lease: the nodes waiting for it find it.
        let token = CachedToken {
            token: grant.token.clone(),
            expires_at: grant.expires_at,
            granted_scopes: grant.scopes.clone(),
        };
        nodes::share_access(state, &wanted.key, &token).await;
    }
    drop(holder);
    Ok((grant, Origin::Refresh))
}

/// Narrowing by RFC 8693 exchange: a login-scope token (cached or refreshed as usual) is traded
/// for a narrower one; the grant and its refresh token stay as they are.
async fn narrow_by_exchange(state: &State, wanted: Wanted) -> Result<TokenGrant, Failure> {
    let name = &wanted.name;
    let account = &wanted.account;
    let base = get_token(
        state,
        TokenRequest::login_token(name, wanted.min_valid.max(30)),
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
    .map_err(|e| {
        let outcome = e.outcome();
        let message = match outcome {
            Outcome::TryLater => format!("cannot narrow a token for `{name}` by token exchange: {e}; the login is kept, try again later"),
            _ => format!("{e}{}", refusal_hint(name, &e)),
        };
        Failure::new(failure_kind(outcome), message)
    })?;
    let expires_at = refresh::expires_at(&tokens, unix_now());
    finish(state, &wanted, tokens, expires_at)
}

/// Caches a fresh token and answers with it, after checking what was granted against what was
/// asked.
fn finish(
    state: &State,
    wanted: &Wanted,
    tokens: TokenSet,
    expires_at: u64,
) -> Result<TokenGrant, Failure> {
    let name = &wanted.name;
    let now = unix_now();
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
