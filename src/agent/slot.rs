//! Where an account's refresh token stands in the agent's memory. The slot's mutex is the one
//! place that serialises every use of an account's refresh token: identical concurrent requests
//! share one provider call, and a rotating provider never sees an already-rotated token.

use crate::protocol::LoginEnd;
use crate::secret::RefreshToken;
use std::sync::Mutex;

/// Where an account's refresh token stands in memory.
#[derive(Default)]
pub enum RefreshSlot {
    /// Not read from the store yet (or the store was locked since).
    #[default]
    Unknown,
    /// The store has none: the account needs a login.
    Missing,
    Present(RefreshToken),
    /// Rotated by the provider but refused by the store, so this is the only valid copy. It is
    /// stored before the account's next refresh (which waits for that rather than rotate
    /// further), kept through `tok lock`, and tried once more when the agent stops.
    Unstored(RefreshToken),
}

impl RefreshSlot {
    /// The refresh token the agent holds in memory, if any.
    pub fn held(&self) -> Option<&RefreshToken> {
        match self {
            RefreshSlot::Present(t) | RefreshSlot::Unstored(t) => Some(t),
            RefreshSlot::Unknown | RefreshSlot::Missing => None,
        }
    }

    /// The store is known to hold no refresh token.
    pub fn is_missing(&self) -> bool {
        matches!(self, RefreshSlot::Missing)
    }
}

/// Per-account state.
#[derive(Default)]
pub struct AccountState {
    /// Held for as long as the refresh token is in use (a refresh, a login, a logout).
    pub refresh: tokio::sync::Mutex<RefreshSlot>,
    /// What the agent has learned about the account, behind one short-lived lock.
    notes: Mutex<Notes>,
}

#[derive(Default)]
struct Notes {
    /// Why the account needs a new login (invalid_grant, logged out, …).
    needs_login: Option<String>,
    /// What the provider granted beyond a request, the first time it did (for `tok status`).
    scope_warning: Option<String>,
    /// With a shared store: the version of the refresh token the provider refused, so that a
    /// newer one (a login on another node) lifts "needs login" and the dead one does not.
    dead_version: Option<u64>,
    /// When the provider last said the login ends (a refresh or login in this agent's life);
    /// `None`: nothing said since the agent started, the account's kept value stands.
    login_end: Option<LoginEnd>,
}

impl AccountState {
    fn notes(&self) -> std::sync::MutexGuard<'_, Notes> {
        self.notes.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn needs_login(&self) -> Option<String> {
        self.notes().needs_login.clone()
    }

    pub fn set_needs_login(&self, reason: Option<String>) {
        self.notes().needs_login = reason;
    }

    pub fn scope_warning(&self) -> Option<String> {
        self.notes().scope_warning.clone()
    }

    /// Records a scope warning; true when it is the account's first (so the client shows it).
    pub fn note_scope_warning(&self, warning: &str) -> bool {
        let mut notes = self.notes();
        let first = notes.scope_warning.is_none();
        notes.scope_warning = Some(warning.to_string());
        first
    }

    pub fn login_end(&self) -> Option<LoginEnd> {
        self.notes().login_end
    }

    /// Records what the provider said about the login's end; returns what it said before.
    pub fn set_login_end(&self, end: Option<LoginEnd>) -> Option<LoginEnd> {
        std::mem::replace(&mut self.notes().login_end, end)
    }

    pub fn dead_version(&self) -> Option<u64> {
        self.notes().dead_version
    }

    pub fn set_dead_version(&self, version: Option<u64>) {
        self.notes().dead_version = version;
    }

    /// Forgets the refresh token the store also holds (for `tok lock`), waiting for whoever
    /// uses it now. An `Unstored` token is the only copy: it is kept.
    pub async fn forget_stored_token(&self) {
        let mut slot = self.refresh.lock().await;
        if !matches!(*slot, RefreshSlot::Unstored(_)) {
            *slot = RefreshSlot::Unknown;
        }
    }
}
