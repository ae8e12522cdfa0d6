//! Where an account's refresh token stands in the agent's memory. The slot's mutex is the one
//! place that serialises every use of an account's refresh token: identical concurrent requests
//! share one provider call, and a rotating provider never sees an already-rotated token.

use crate::secret::RefreshToken;
use std::sync::Mutex;

/// Where an account's refresh token stands in memory.
pub enum RefreshSlot {
    /// Not read from the store yet (or the store was locked since).
    Unknown,
    /// The store has none: the account needs a login.
    Missing,
    Present(RefreshToken),
    /// Rotated by the provider but refused by the store, so this is the only valid copy. It is
    /// stored before the account's next refresh (which waits for that rather than rotate
    /// further), kept through `tok lock`, and tried once more when the agent stops.
    Unstored(RefreshToken),
}

/// Per-account state.
pub struct AccountState {
    /// Held for as long as the refresh token is in use (a refresh, a login, a logout).
    pub refresh: tokio::sync::Mutex<RefreshSlot>,
    /// Why the account needs a new login (invalid_grant, logged out, …).
    pub needs_login: Mutex<Option<String>>,
    /// What the provider granted beyond a request, the first time it did (for `tok status`).
    pub scope_warning: Mutex<Option<String>>,
    /// With a shared store: the version of the refresh token the provider refused, so that a
    /// newer one (a login on another node) lifts "needs login" and the dead one does not.
    dead_version: Mutex<Option<u64>>,
}

impl Default for AccountState {
    fn default() -> Self {
        Self {
            refresh: tokio::sync::Mutex::new(RefreshSlot::Unknown),
            needs_login: Mutex::new(None),
            scope_warning: Mutex::new(None),
            dead_version: Mutex::new(None),
        }
    }
}

impl AccountState {
    pub fn dead_version(&self) -> Option<u64> {
        *self.dead_version.lock().expect("dead_version lock")
    }

    pub fn set_dead_version(&self, version: Option<u64>) {
        *self.dead_version.lock().expect("dead_version lock") = version;
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
