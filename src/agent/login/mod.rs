//! Logins, run by the agent so the refresh token never exists anywhere else: the settings of
//! the account, the client (given, reused, or registered), the flow (`choose`), then the device
//! flow, the browser's code flow or a given refresh token; and the one place a login becomes an
//! account (`commit_account`).
//!
//! The agent answers with what the user must see (a device code, a URL), then waits for the
//! provider or the browser while watching the client's connection: if the user presses Ctrl-C
//! (the connection closes), the wait stops at once.

mod choose;
mod code;
mod device;
mod refresh;

use super::cache::{CacheKey, CachedToken};
use super::holder::store_login;
use super::state::{client_secret_key, provider_failure, Failure, State};
use crate::config::{validate_name, Account, LoginFlow, BASE_SCOPES};
use crate::oauth::{self, ClientCreds, Metadata, TokenSet};
use crate::protocol::{ErrorKind, LoginRequest, Response};
use crate::secret::{ClientSecret, RefreshToken};
use choose::{Choice, ClientGrants};
use std::future::Future;
use std::time::Duration;

/// What every flow needs once the account's settings, the provider and the client are known.
struct Login<'a> {
    state: &'a State,
    name: String,
    issuer: String,
    http: reqwest::Client,
    md: Metadata,
    creds: ClientCreds,
    scopes: Vec<String>,
    /// The account as it will be stored (its `login_flow` set by the flow that succeeds).
    account: Account,
    /// The account existed before this login (a failed login then leaves it as it was).
    existing: bool,
    make_default: bool,
}

/// Runs a login. `send` delivers the prompt (device code or browser URL); `cancelled` resolves
/// when the client goes away.
pub async fn login<S, SF>(
    state: &State,
    req: LoginRequest,
    send: S,
    cancelled: impl Future<Output = ()>,
) -> Result<Response, Failure>
where
    S: FnOnce(Response) -> SF,
    SF: Future<Output = bool>,
{
    if state.store.is_locked() {
        // Find out now, not after the user has approved the login.
        return Err(Failure::new(
            ErrorKind::Locked,
            "the secret store is locked; run `tok unlock` (or set TOK_PASSPHRASE_FILE) first",
        ));
    }
    let config = state.config()?;
    let name = match (&req.account, &req.issuer) {
        (Some(n), _) => n.clone(),
        (None, Some(issuer)) => url::Url::parse(issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .ok_or_else(|| Failure::new(ErrorKind::Usage, format!("`{issuer}` is not a URL")))?,
        (None, None) => {
            return Err(Failure::new(
                ErrorKind::Usage,
                "give an account name or --issuer",
            ))
        }
    };
    validate_name(&name).map_err(|e| Failure::new(ErrorKind::Usage, e.to_string()))?;
    let existing = config.accounts.get(&name).cloned();
    let issuer = match (&req.issuer, &existing) {
        (Some(i), _) => i.clone(),
        (None, Some(a)) => a.issuer.clone(),
        (None, None) => {
            return Err(Failure::new(
                ErrorKind::Usage,
                format!("account `{name}` is new; pass --issuer URL"),
            ))
        }
    };
    let same_issuer = existing
        .as_ref()
        .is_some_and(|a| crate::net::same_issuer(&a.issuer, &issuer));
    let ca_file = req
        .ca_file
        .clone()
        .or_else(|| existing.as_ref().and_then(|a| a.ca_file.clone()));
    let audience_param = req
        .audience_param
        .or(existing.as_ref().map(|a| a.audience_param))
        .unwrap_or_default();
    let mut scopes: Vec<String> = BASE_SCOPES.iter().map(|s| s.to_string()).collect();
    if req.scopes.is_empty() && same_issuer {
        scopes.extend(
            existing
                .as_ref()
                .map(|a| a.scopes.clone())
                .unwrap_or_default(),
        );
    } else {
        scopes.extend(req.scopes.iter().cloned());
    }
    scopes.sort();
    scopes.dedup();

    let http = state.http(ca_file.as_deref()).await?;
    let md = state.metadata(&http, &issuer, true).await?;
    let issuer = crate::net::issuer_base(&md.issuer).to_string();
    let account = |client_id: String, has_secret: bool, registered: bool, grants: Vec<String>| {
        Account {
            issuer: issuer.clone(),
            client_id,
            has_client_secret: has_secret,
            registered,
            scopes: scopes.clone(),
            audience_param,
            ca_file: ca_file.clone(),
            // A setting the user chose by hand survives a new login.
            exact_scope: existing.as_ref().is_some_and(|a| a.exact_scope),
            refresh_invalidates_tokens: req.refresh_invalidates_tokens.unwrap_or_else(|| {
                existing
                    .as_ref()
                    .is_some_and(|a| a.refresh_invalidates_tokens)
            }),
            narrowing: req
                .narrowing
                .or(existing.as_ref().map(|a| a.narrowing))
                .unwrap_or_default(),
            // A new login starts a new lifetime: only what this login asked for.
            login_not_after: req
                .lifetime_secs
                .map(|s| crate::time::unix_now().saturating_add(s)),
            confirm: req
                .confirm
                .unwrap_or_else(|| existing.as_ref().is_some_and(|a| a.confirm)),
            // What the provider says about this login's end is learned as it is committed.
            login_end: None,
            login_flow: None,
            client_grants: grants,
        }
    };
    let reused = existing
        .as_ref()
        .filter(|a| same_issuer && !a.client_id.is_empty());

    let refresh = req.refresh_token.is_some() || req.flow == Some(LoginFlow::Refresh);

    // Pick the client: given, reused from an earlier registration, or registered now (never
    // for a refresh token, which works only with the client it was issued to).
    let (creds, registered, grants) = match (&req.client_id, reused) {
        (Some(id), _) => (given_client(id, &req), false, vec![]),
        (None, Some(a)) => (
            state.creds(&name, a).await?,
            a.registered,
            a.client_grants.clone(),
        ),
        (None, None) if refresh => {
            return Err(Failure::new(
                ErrorKind::Usage,
                "a refresh token works only with the client it was issued to: pass --client-id (and --client-secret-file) of that client",
            ))
        }
        (None, None) => {
            let reg = oauth::register(&http, &md)
                .await
                .map_err(provider_failure)?;
            tracing::info!(account = %name, client_id = %reg.creds.client_id, grants = ?reg.grant_types, "registered a client");
            (reg.creds, true, reg.grant_types)
        }
    };
    let known = if registered && !grants.is_empty() {
        ClientGrants::Known(&grants)
    } else {
        ClientGrants::Unknown
    };
    let choice = choose::choose(
        req.flow,
        existing.as_ref().and_then(|a| a.login_flow),
        req.desktop.as_ref(),
        &md,
        known,
    );
    let account = account(
        creds.client_id.clone(),
        creds.client_secret.is_some(),
        registered,
        grants.clone(),
    );
    let login = Login {
        state,
        name,
        issuer,
        http,
        md,
        creds,
        scopes,
        account,
        existing: existing.is_some(),
        make_default: req.make_default,
    };
    if refresh {
        let Some(token) = req.refresh_token else {
            return Err(Failure::new(
                ErrorKind::Usage,
                "--flow refresh needs --refresh-token-file PATH (or - for stdin)",
            ));
        };
        return refresh::run(login, token).await;
    }
    tracing::info!(account = %login.name, flow = choice.flow.as_str(), why = %choice.why, "login flow chosen");
    let timeout = req.browser_timeout_secs;
    match choice.flow {
        LoginFlow::Code => code::run(login, &choice, timeout, send, cancelled).await,
        _ => match device::start(&login).await {
            Ok(details) => device::run(login, details, &choice, send, cancelled).await,
            Err(e) if choice.may_fall_back && device::client_lacks_grant(&e) => {
                tracing::info!(account = %login.name, "device authorization refused ({e}); trying the browser");
                let fallback = Choice {
                    flow: LoginFlow::Code,
                    why: format!(
                        "the provider refused this client the device flow ({})",
                        device::error_code(&e)
                    ),
                    may_fall_back: false,
                };
                code::run(login, &fallback, timeout, send, cancelled).await
            }
            Err(e) => Err(device::refused(&login, e)),
        },
    }
}

fn given_client(id: &str, req: &LoginRequest) -> ClientCreds {
    ClientCreds {
        client_id: id.to_string(),
        client_secret: req.client_secret.clone(),
    }
}

/// A login's last step, whatever the flow: the account is committed with its new refresh token
/// and the flow it used, and the login's access token is cached.
async fn finish(
    mut login: Login<'_>,
    mut tokens: TokenSet,
    flow: LoginFlow,
) -> Result<Response, Failure> {
    let Login {
        state,
        ref name,
        ref issuer,
        ..
    } = login;
    let Some(obtained) = Obtained::take(&mut tokens) else {
        return Err(Failure::new(
            ErrorKind::Denied,
            format!("{issuer} issued no refresh token; make sure the client may use offline_access and the refresh_token grant; nothing was stored"),
        ));
    };
    login.account.login_flow = Some(flow);
    commit_account(
        state,
        name,
        login.account.clone(),
        login.creds.client_secret.as_ref(),
        obtained,
        login.make_default,
    )
    .await?;
    let name = login.name;
    let now = crate::time::unix_now();
    let expires_at = crate::refresh::expiry(&tokens, now);
    // Cached only while the agent serves tokens (not after a `tok lock` meanwhile).
    let pass = state.gate.enter().await;
    let serving = pass.is_ok() && !state.store.is_locked();
    if let (Some(expires_at), true) = (expires_at, serving) {
        // The login's own token is the account's default token (no scope or audience asked).
        state.cache.insert(
            CacheKey {
                account: name.clone(),
                scopes: vec![],
                audiences: vec![],
            },
            CachedToken {
                token: tokens.access_token,
                expires_at,
                granted_scopes: tokens.scopes.unwrap_or_default(),
            },
            now,
        );
    }
    tracing::info!(account = %name, flow = flow.as_str(), "logged in");
    Ok(Response::LoggedIn {
        account: name,
        issuer: login.issuer,
        client_id: login.creds.client_id,
    })
}

/// A refresh token a login obtained, with what the provider's answer said about its end.
pub struct Obtained {
    pub refresh_token: RefreshToken,
    /// `refresh_expires_in` of the answer (Keycloak), when it said one.
    pub refresh_expires_in: Option<Duration>,
}

impl Obtained {
    /// Takes the refresh token out of a login's token answer; `None` when it has none.
    pub fn take(tokens: &mut TokenSet) -> Option<Self> {
        Some(Self {
            refresh_token: tokens.refresh_token.take()?,
            refresh_expires_in: tokens.refresh_expires_in,
        })
    }
}

/// Makes a new login (`tok login` by any flow, `tok import`) an account: its secrets first,
/// durably, then the configuration that points at them, with when the provider says the login
/// ends; the account is then usable and, on a shared store, published for the other nodes.
/// The account's cached tokens are served until here (a re-login keeps them) and dropped
/// only once the new refresh token is stored.
pub async fn commit_account(
    state: &State,
    name: &str,
    mut account: Account,
    client_secret: Option<&ClientSecret>,
    obtained: Obtained,
    make_default: bool,
) -> Result<(), Failure> {
    let acct_state = state.account(name);
    let mut slot = acct_state.refresh.lock().await;
    if let Some(secret) = client_secret {
        state
            .store_save(client_secret_key(name), secret.expose())
            .await?;
    }
    // A new login, a new end: only what this login's answer and token say.
    account.login_end = crate::refresh::login_end(
        obtained.refresh_expires_in,
        &obtained.refresh_token,
        crate::time::unix_now(),
    );
    store_login(state, name, &mut slot, obtained.refresh_token).await?;
    acct_state.set_login_end(account.login_end);
    drop(slot);
    state.update_config(|c| {
        c.accounts.insert(name.to_string(), account);
        if make_default || c.default_account.is_none() {
            c.default_account = Some(name.to_string());
        }
    })?;
    state.set_needs_login(name, None);
    state.cache.remove_account(name);
    if state.store.shared() {
        // Other nodes learn the account from the shared store.
        let config = state.config()?;
        if let Err(f) = super::nodes::publish(state, &config).await {
            tracing::warn!(account = %name, "cannot publish the account in the shared store: {}", f.message);
        }
    }
    Ok(())
}
