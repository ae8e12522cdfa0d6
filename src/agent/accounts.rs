//! Account-level operations other than token serving: logout, status, lock and unlock.

use super::holder::{forget_login, read_if_unknown};
use super::slot::RefreshSlot;
use super::state::{client_secret_key, Failure, State};
use crate::oauth::{self, OauthError};
use crate::protocol::{
    AccountStatus, CachedTokenStatus, ErrorKind, Response, StatusReport, StoreStatus,
};
use crate::secret::Passphrase;
use std::sync::Arc;

pub async fn logout(
    state: &State,
    name: String,
    keep_remote: bool,
    forget: bool,
) -> Result<Response, Failure> {
    let config = state.config()?;
    let Some(account) = config.accounts.get(&name).cloned() else {
        return Err(Failure::new(
            ErrorKind::Usage,
            format!("no account named `{name}`"),
        ));
    };
    let acct_state = state.account(&name);
    let mut slot = acct_state.refresh.lock().await;
    read_if_unknown(state, &name, &mut slot).await?;
    let refresh_token = slot.held().cloned();
    let mut revoked = false;
    let mut note = None;
    match (&refresh_token, keep_remote) {
        (None, _) => note = Some("there was no refresh token to revoke".to_string()),
        (Some(_), true) => {}
        (Some(rt), false) => {
            let http = state.http(account.ca_file.as_deref()).await?;
            let md = state.metadata(&http, &account.issuer, false).await?;
            if md.revocation_endpoint.is_none() {
                note = Some(format!(
                    "{} has no revocation endpoint; the refresh token stays valid there until it expires",
                    account.issuer
                ));
            } else {
                let creds = state.creds(&name, &account).await?;
                match oauth::revoke(&http, &md, &creds, rt).await {
                    Ok(()) => revoked = true,
                    Err(e @ OauthError::Transient(_)) => {
                        return Err(Failure::new(
                            ErrorKind::Provider,
                            format!("cannot revoke the refresh token of `{name}`: {e}; nothing was forgotten — retry, or use --keep-remote to forget it only here"),
                        ))
                    }
                    // A refusal for good: retrying cannot help, and forgetting the token
                    // would leave it valid at the provider without the user deciding so.
                    Err(e @ OauthError::Refused { .. }) => {
                        return Err(Failure::new(
                            ErrorKind::Denied,
                            format!("{} refused to revoke the refresh token of `{name}` ({e}): this provider does not let this client revoke; nothing was forgotten — `tok logout {name} --keep-remote` forgets it here only (it then stays valid at the provider until it expires)", account.issuer),
                        ))
                    }
                    Err(e) => note = Some(format!("the provider did not revoke the token ({e})")),
                }
            }
        }
    }
    forget_login(state, &name, &mut slot).await?;
    drop(slot);
    state.set_needs_login(&name, Some("logged out".into()));
    // What the provider said about the end was about this login.
    state.account(&name).set_login_end(None);
    state.update_config_if(|c| {
        c.accounts
            .get_mut(&name)
            .is_some_and(|a| a.login_end.take().is_some())
    })?;
    state.cache.remove_account(&name);
    if forget {
        if account.has_client_secret {
            state.store_delete(client_secret_key(&name)).await?;
        }
        state.update_config(|c| {
            c.accounts.remove(&name);
            if c.default_account.as_deref() == Some(name.as_str()) {
                c.default_account = None;
            }
        })?;
        if state.store.shared() {
            state.forget_shared_account(&name);
            let config = state.config()?;
            super::nodes::publish(state, &config).await?;
        }
    }
    tracing::info!(account = %name, revoked, "logged out");
    Ok(Response::LoggedOut {
        account: name,
        revoked,
        note,
    })
}

pub async fn status(state: &State) -> Result<Response, Failure> {
    let config = state.config()?;
    let now = crate::time::unix_now();
    let path = crate::dirs::delegations_file();
    let record = tokio::task::spawn_blocking(move || super::delegations::load(&path))
        .await
        .unwrap_or_default();
    let mut accounts = Vec::with_capacity(config.accounts.len());
    for (name, a) in &config.accounts {
        let (login_state, reason) = login_state(state, name).await;
        let ends = super::login_end::known_end(state, name, a);
        accounts.push(AccountStatus {
            name: name.clone(),
            issuer: a.issuer.clone(),
            client_id: a.client_id.clone(),
            default: config.default_account.as_deref() == Some(name.as_str())
                || (config.default_account.is_none() && config.accounts.len() == 1),
            scopes: a.scopes.clone(),
            audience_param: a.audience_param,
            state: login_state.to_string(),
            reason,
            cached: state
                .cache
                .describe(name, now)
                .into_iter()
                .map(|(k, expires_at)| CachedTokenStatus {
                    scopes: k.scopes,
                    audiences: k.audiences,
                    expires_at,
                })
                .collect(),
            delegations: super::delegations::live(&record, name, now),
            scope_warning: state.scope_warning(name),
            confirm: a.confirm,
            login_not_after: a.login_not_after,
            login_ends_at: ends.map(|e| e.at),
            login_end_source: ends.map(|e| e.source),
        });
    }
    Ok(Response::Status(StatusReport {
        agent: state.info.clone(),
        agent_locked: state.gate.locked(),
        store: StoreStatus {
            backend: state.store_kind.to_string(),
            reason: state.store_reason.clone(),
            locked: state.store.is_locked(),
            notes: state.store.notes(),
        },
        accounts,
    }))
}

/// Whether an account can get tokens: "ok", "needs login" (and why), "locked", or
/// "refreshing" while its refresh token is in use (how that ends is not known yet).
async fn login_state(state: &State, name: &str) -> (&'static str, Option<String>) {
    if let Some(reason) = state.needs_login(name) {
        return ("needs login", Some(reason));
    }
    let acct_state = state.account(name);
    let Ok(mut slot) = acct_state.refresh.try_lock() else {
        return (
            "refreshing",
            Some("a refresh (or login, or logout) of this account is in flight".to_string()),
        );
    };
    if matches!(*slot, RefreshSlot::Unknown) {
        if state.store.is_locked() {
            return (
                "locked",
                Some("the store is locked; run `tok unlock`".to_string()),
            );
        }
        if let Err(f) = read_if_unknown(state, name, &mut slot).await {
            return ("unknown", Some(f.message));
        }
    }
    match &*slot {
        RefreshSlot::Missing => (
            "needs login",
            Some(format!(
                "not logged in with the `{}` store (a login lives in the store the agent used at login: start the agent with that store, or run `tok login {name}`)",
                state.store_kind
            )),
        ),
        RefreshSlot::Unstored(_) => (
            "not stored",
            Some("the provider rotated the refresh token and the store refused the new one; it is in the agent's memory only: fix the store (e.g. `tok unlock`), then `tok get` stores it".to_string()),
        ),
        _ => ("ok", None),
    }
}

pub async fn unlock(state: &Arc<State>, passphrase: Passphrase) -> Result<Response, Failure> {
    // After a lock under way, never in the middle of it.
    let _transition = state.gate.transition().await;
    if state.store_kind != crate::store::StoreKind::File {
        // Only the agent lock to lift; these stores have no passphrase.
        state.gate.set_locked(false);
        tracing::info!("agent unlocked");
        return Ok(Response::Done);
    }
    if passphrase.expose().is_empty() {
        // Never let an empty answer become a new store's passphrase.
        return Err(Failure::new(
            ErrorKind::Locked,
            "the encrypted file store needs its passphrase; run `tok unlock` on a terminal or with --passphrase-file",
        ));
    }
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || store.unlock(&passphrase))
        .await
        .map_err(|e| Failure::new(ErrorKind::Internal, format!("unlock task failed: {e}")))?
        .map_err(|e| match e {
            crate::store::StoreError::WrongPassphrase => {
                Failure::new(ErrorKind::Locked, format!("{e}"))
            }
            other => Failure::from(other),
        })?;
    state.gate.set_locked(false);
    tracing::info!("store unlocked");
    Ok(Response::Done)
}

/// `tok lock`, as one transition: new requests are refused at once; the refreshes in flight
/// commit what the provider rotated and are refused their tokens; then the store is locked, the
/// refresh tokens in memory and every cached token are dropped, and only then is the answer
/// sent. No token is handed out after it.
pub async fn lock(state: &Arc<State>) -> Result<Response, Failure> {
    let closed = state.gate.close().await;
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || store.lock())
        .await
        .map_err(|e| Failure::new(ErrorKind::Internal, format!("lock task failed: {e}")))??;
    for (_, account) in state.account_states() {
        account.forget_stored_token().await;
    }
    state.cache.clear();
    if state.store_kind != crate::store::StoreKind::File {
        // The file store's lock is its key; every other store gets the agent's own lock.
        state.gate.set_locked(true);
    }
    drop(closed);
    tracing::info!("store locked, cache dropped");
    Ok(Response::Done)
}
