//! An account taken over from another agent (`tok import --from oidc-agent`): stored exactly as
//! a finished login stores its result — secrets first, durably, then the configuration that
//! points at them — after the issuer has answered discovery, so a typo or an unreachable
//! provider leaves nothing behind.

use super::login::{commit_account, Obtained};
use super::state::{Failure, State};
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
    let issuer = crate::net::issuer_base(&md.issuer).to_string();
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
        login_end: None,
        confirm: false,
        login_flow: None,
        client_grants: vec![],
    };
    commit_account(
        state,
        &name,
        account,
        req.client_secret.as_ref(),
        Obtained {
            refresh_token: req.refresh_token,
            refresh_expires_in: None,
        },
        false,
    )
    .await?;
    tracing::info!(account = %name, "account imported");
    Ok(Response::LoggedIn {
        account: name,
        issuer,
        client_id: req.client_id,
    })
}
