//! An account taken over from another agent (`tok import --from oidc-agent`): stored exactly as
//! a finished login stores its result — secrets first, durably, then the configuration that
//! points at them — after the issuer has answered discovery, so a typo or an unreachable
//! provider leaves nothing behind.

use super::holder::store_login;
use super::state::{client_secret_key, Failure, State};
use crate::config::{validate_name, Account, BASE_SCOPES};
use crate::protocol::{ErrorKind, ImportRequest, Response};

pub async fn import(state: &State, req: ImportRequest) -> Result<Response, Failure> {
    if state.store.is_locked() {
        return Err(Failure::new(
            ErrorKind::Locked,
            "the secret store is locked; run `tok unlock` (or set TOK_PASSPHRASE_FILE) first",
        ));
    }
    let name = req.account.clone();
    validate_name(&name).map_err(|e| Failure::new(ErrorKind::Usage, e.to_string()))?;
    if state.config()?.accounts.contains_key(&name) {
        return Err(Failure::new(
            ErrorKind::Usage,
            format!("tok already has an account `{name}`; nothing was imported for it (to replace it: `tok logout {name} --forget`, then import again)"),
        ));
    }
    let http = state.http(req.ca_file.as_deref()).await?;
    let md = state.metadata(&http, &req.issuer, true).await?;
    let issuer = md.issuer.trim_end_matches('/').to_string();
    let mut scopes: Vec<String> = BASE_SCOPES.iter().map(|s| s.to_string()).collect();
    scopes.extend(req.scopes.iter().cloned());
    scopes.sort();
    scopes.dedup();
    let account = Account {
        issuer: issuer.clone(),
        client_id: req.client_id.clone(),
        has_client_secret: req.client_secret.is_some(),
        registered: false,
        scopes,
        audience_param: req.audience_param,
        ca_file: req.ca_file.clone(),
        exact_scope: false,
        refresh_invalidates_tokens: false,
        narrowing: Default::default(),
        login_not_after: None,
        confirm: false,
    };
    let acct_state = state.account(&name);
    let mut slot = acct_state.refresh.lock().await;
    if let Some(secret) = &req.client_secret {
        state
            .store_save(client_secret_key(&name), secret.expose())
            .await?;
    }
    store_login(state, &name, &mut slot, req.refresh_token).await?;
    drop(slot);
    state.update_config(|c| {
        c.accounts.insert(name.clone(), account);
        if c.default_account.is_none() {
            c.default_account = Some(name.clone());
        }
    })?;
    state.set_needs_login(&name, None);
    state.cache.remove_account(&name);
    if state.store.shared() {
        let config = state.config()?;
        if let Err(f) = super::nodes::publish(state, &config).await {
            tracing::warn!(account = %name, "cannot publish the account in the shared store: {}", f.message);
        }
    }
    tracing::info!(account = %name, "account imported");
    Ok(Response::LoggedIn {
        account: name,
        issuer,
        client_id: req.client_id,
    })
}
