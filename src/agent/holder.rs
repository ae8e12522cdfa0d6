//! The agent's account slot as a refresh-token [`Holder`]: the token is read from the store
//! once and kept in memory, and a rotation is stored before its access token is used. A
//! rotation the store refuses stays in the slot as the only copy (`Unstored`) and is stored
//! before the account's next refresh.

use super::slot::{AccountState, RefreshSlot};
use super::state::{refresh_key, State};
use crate::oauth::{OauthError, Outcome};
use crate::protocol::ErrorKind;
use crate::refresh::{Failure, Holder};
use crate::secret::RefreshToken;
use secrecy::ExposeSecret;
use std::sync::Arc;
use tokio::sync::MutexGuard;

/// An account's refresh token in the agent, held (the slot locked) for one refresh.
pub struct SlotHolder<'a> {
    pub state: &'a State,
    pub name: &'a str,
    pub account: Arc<AccountState>,
    pub slot: MutexGuard<'a, RefreshSlot>,
    /// With a shared store: the version of the token in use (a refusal is remembered for it).
    pub version: Option<u64>,
}

impl Holder for SlotHolder<'_> {
    async fn load(&mut self) -> Result<RefreshToken, Failure> {
        let name = self.name;
        if let RefreshSlot::Unstored(rotated) = &*self.slot {
            // Store the only valid copy before using it: a failing store must not let the
            // provider rotate it again and again while nothing is kept.
            let rotated = rotated.clone();
            store_rotated(self.state, name, &mut self.slot, rotated).await?;
        }
        read_if_unknown(self.state, name, &mut self.slot).await?;
        match &*self.slot {
            RefreshSlot::Present(token) => Ok(token.clone()),
            _ => Err(Failure::new(
                ErrorKind::NeedsLogin,
                format!("account `{name}` is not logged in; run `tok login {name}`"),
            )),
        }
    }

    async fn commit(&mut self, rotated: &RefreshToken) -> Result<(), Failure> {
        store_rotated(self.state, self.name, &mut self.slot, rotated.clone()).await
    }

    fn grant_refused(&mut self, e: &OauthError) {
        tracing::warn!(account = %self.name, "provider rejected the refresh token: {e}");
        self.state.set_needs_login(self.name, Some(e.to_string()));
        self.account.set_dead_version(self.version);
    }

    fn explain(&self, outcome: Outcome, e: &OauthError) -> String {
        let name = self.name;
        match outcome {
            Outcome::LoginNeeded => {
                format!("account `{name}` needs a new login: {e}; run `tok login {name}`")
            }
            Outcome::TryLater => {
                tracing::warn!(account = %name, "refresh failed: {e}");
                format!(
                    "cannot refresh a token for `{name}`: {e}; the login is kept, try again later"
                )
            }
            Outcome::Refused | Outcome::Misconfigured => format!("{e}{}", refusal_hint(name, e)),
        }
    }
}

/// Stores a new login's refresh token durably, then holds it.
pub async fn store_login(
    state: &State,
    name: &str,
    slot: &mut RefreshSlot,
    token: RefreshToken,
) -> Result<(), Failure> {
    state.store_save(refresh_key(name), token.expose()).await?;
    *slot = RefreshSlot::Present(token);
    Ok(())
}

/// Forgets an account's refresh token, in the store and in memory (a logout, the end of a
/// login's lifetime).
pub async fn forget_login(
    state: &State,
    name: &str,
    slot: &mut RefreshSlot,
) -> Result<(), Failure> {
    state.store_delete(refresh_key(name)).await?;
    *slot = RefreshSlot::Missing;
    Ok(())
}

/// Reads the account's refresh token from the store if the slot does not know it yet.
pub async fn read_if_unknown(
    state: &State,
    name: &str,
    slot: &mut RefreshSlot,
) -> Result<(), Failure> {
    if matches!(*slot, RefreshSlot::Unknown) {
        *slot = match state.store_load(refresh_key(name)).await? {
            Some(s) => RefreshSlot::Present(RefreshToken::new(s.expose_secret())),
            None => RefreshSlot::Missing,
        };
    }
    Ok(())
}

/// Where the provider's error code points at a fix, the fix.
pub fn refusal_hint(name: &str, e: &OauthError) -> String {
    match e {
        OauthError::Refused { code, .. } if code == "invalid_scope" => format!(
            "; the login may not cover this scope: log in with wider scopes (`tok login {name} --scope …`), or ask for narrower ones"
        ),
        OauthError::Refused { code, .. } if code == "invalid_target" => format!(
            "; the provider may expect the other way of asking for an audience: `tok login {name} --audience-param audience` (or `resource`), or set audience_param in config.toml"
        ),
        _ => String::new(),
    }
}

/// Stores a refresh token the provider rotated. Until the store takes it, it stays in the slot
/// as `Unstored`, the only valid copy, and the error says so.
pub async fn store_rotated(
    state: &State,
    name: &str,
    slot: &mut RefreshSlot,
    token: RefreshToken,
) -> Result<(), Failure> {
    match state.store_save(refresh_key(name), token.expose()).await {
        Ok(()) => {
            tracing::info!(account = %name, "stored the rotated refresh token");
            *slot = RefreshSlot::Present(token);
            Ok(())
        }
        Err(e) => {
            tracing::error!(account = %name, "cannot store the rotated refresh token: {}", e.message);
            *slot = RefreshSlot::Unstored(token);
            Err(Failure::new(
                e.kind,
                format!(
                    "the provider rotated the refresh token of `{name}` and the store refused the new one ({}); the agent holds it in memory and stores it before anything else uses it: fix the store, then retry (stopping the agent before that loses this login)",
                    e.message
                ),
            ))
        }
    }
}

/// Last try for rotated refresh tokens the store refused, as the agent stops.
pub async fn store_unstored(state: &State) {
    for (name, account) in state.account_states() {
        let mut slot = account.refresh.lock().await;
        if let RefreshSlot::Unstored(token) = &*slot {
            let token = token.clone();
            if store_rotated(state, &name, &mut slot, token).await.is_err() {
                tracing::error!(account = %name, "the login is lost: its rotated refresh token could not be stored; run `tok login {name}`");
            }
        }
    }
}
