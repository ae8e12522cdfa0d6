//! The device-code login, run by the agent so the refresh token never exists anywhere else.
//!
//! The agent answers with the code to show, then polls the provider while watching the client's
//! connection: if the user presses Ctrl-C (the connection closes), polling stops at once.

use super::cache::{CacheKey, CachedToken};
use super::holder::store_login;
use super::state::{client_secret_key, provider_failure, Failure, State};
use crate::config::{validate_name, Account, BASE_SCOPES};
use crate::oauth::{self, ClientCreds, OauthError, TokenSet};
use crate::protocol::{DeviceCodePrompt, ErrorKind, LoginRequest, Response};
use crate::secret::{ClientSecret, RefreshToken};
use std::future::Future;
use std::time::Duration;

/// Runs a login. `send` delivers the device-code prompt; `cancelled` resolves when the client
/// goes away.
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

    // Pick the client: given, reused from an earlier registration, or registered now.
    let (creds, registered) = match (&req.client_id, &existing) {
        (Some(id), _) => (
            ClientCreds {
                client_id: id.clone(),
                client_secret: req.client_secret.clone(),
            },
            false,
        ),
        (None, Some(a)) if same_issuer && !a.client_id.is_empty() => {
            (state.creds(&name, a).await?, a.registered)
        }
        (None, _) => {
            let creds = oauth::register(&http, &md)
                .await
                .map_err(provider_failure)?;
            tracing::info!(account = %name, client_id = %creds.client_id, "registered a client");
            (creds, true)
        }
    };

    let account = Account {
        issuer: issuer.clone(),
        client_id: creds.client_id.clone(),
        has_client_secret: creds.client_secret.is_some(),
        registered,
        scopes: scopes.clone(),
        audience_param,
        ca_file,
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
        // What the provider says about this login's end is learned as it is committed.
        login_end: None,
        confirm: req
            .confirm
            .unwrap_or_else(|| existing.as_ref().is_some_and(|a| a.confirm)),
    };
    let details = oauth::device_authorize(&http, &md, &creds, &scopes)
        .await
        .map_err(provider_failure)?;
    // A new account is kept from here on, so that `tok login NAME` can try again with the
    // same issuer, client and CA after a denied, expired or cancelled first login; not before:
    // a device answer that cannot be shown (issue 21) or a failed request leaves nothing.
    if existing.is_none() {
        if let Some(secret) = &creds.client_secret {
            state
                .store_save(client_secret_key(&name), secret.expose())
                .await?;
        }
        let provisional = account.clone();
        state.update_config(|c| {
            c.accounts.insert(name.clone(), provisional);
        })?;
        state.set_needs_login(&name, Some("the first login has not finished".into()));
    }

    let prompt = DeviceCodePrompt {
        verification_uri: details.verification_uri().to_string(),
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|u| u.secret().to_string()),
        user_code: details.user_code().secret().to_string(),
        expires_in_secs: details.expires_in().as_secs(),
    };
    if !send(Response::DeviceCode(prompt)).await {
        return Err(Failure::new(ErrorKind::Usage, "the client went away"));
    }
    tracing::info!(account = %name, "device login started");

    let tokens = tokio::select! {
        result = oauth::device_poll(&http, &md, &creds, &details) => result,
        () = cancelled => {
            tracing::info!(account = %name, "device login cancelled by the client");
            return Err(Failure::new(ErrorKind::Usage, "login cancelled"));
        }
    };
    let mut tokens = tokens.map_err(|e| match e {
        OauthError::AccessDenied => Failure::new(
            ErrorKind::Denied,
            format!("the login for `{name}` was denied at the provider; run `tok login {name}` to try again"),
        ),
        OauthError::Expired => Failure::new(
            ErrorKind::Denied,
            format!("the device code expired before it was approved; run `tok login {name}` again"),
        ),
        other => provider_failure(other),
    })?;
    let Some(obtained) = Obtained::take(&mut tokens) else {
        return Err(Failure::new(
            ErrorKind::Denied,
            format!("{issuer} issued no refresh token; make sure the client may use offline_access and the refresh_token grant"),
        ));
    };

    commit_account(
        state,
        &name,
        account,
        creds.client_secret.as_ref(),
        obtained,
        req.make_default,
    )
    .await?;
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
    tracing::info!(account = %name, "logged in");
    Ok(Response::LoggedIn {
        account: name,
        issuer,
        client_id: creds.client_id,
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
