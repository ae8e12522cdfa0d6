//! What the agent knows and shares between connections: configuration, the secret store, the
//! access-token cache, per-account refresh state, provider metadata and HTTP clients.

use super::cache::TokenCache;
use crate::config::Config;
use crate::oauth::{ClientCreds, Metadata, OauthError};
use crate::protocol::{AgentInfo, ErrorKind, ErrorReply};
use crate::secret::{ClientSecret, RefreshToken};
use crate::store::{SecretStore, StoreError, StoreKind};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A request failure as the client will see it.
#[derive(Debug)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn reply(self) -> ErrorReply {
        ErrorReply {
            kind: self.kind,
            message: self.message,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            // The message says it all; a prefix would only stutter.
            StoreError::Locked => Failure::new(ErrorKind::Locked, e.to_string()),
            // Sealed, unreachable, timed out: nothing is lost, try again later.
            StoreError::Unavailable { .. } => Failure::new(ErrorKind::Provider, e.to_string()),
            _ => Failure::new(ErrorKind::Internal, format!("secret store: {e}")),
        }
    }
}

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

/// Per-account state. The mutex serialises every use of the refresh token, which makes
/// identical concurrent requests share one provider call and keeps a rotating provider from
/// ever seeing an already-rotated token.
pub struct AccountState {
    pub refresh: tokio::sync::Mutex<RefreshSlot>,
    /// Why the account needs a new login (invalid_grant, logged out, …).
    pub needs_login: Mutex<Option<String>>,
    /// What the provider granted beyond a request, the first time it did (for `tok status`).
    pub scope_warning: Mutex<Option<String>>,
    /// With a shared store: the version of the refresh token the provider refused, so that a
    /// newer one (a login on another node) lifts "needs login" and the dead one does not.
    dead_version: Mutex<Option<u64>>,
}

impl AccountState {
    pub fn dead_version(&self) -> Option<u64> {
        *self.dead_version.lock().expect("dead_version lock")
    }

    pub fn set_dead_version(&self, version: Option<u64>) {
        *self.dead_version.lock().expect("dead_version lock") = version;
    }
}

struct ConfigCell {
    config: Config,
    mtime: Option<SystemTime>,
}

pub struct State {
    pub info: AgentInfo,
    pub config_path: PathBuf,
    config: Mutex<ConfigCell>,
    pub store: Arc<dyn SecretStore>,
    pub store_kind: StoreKind,
    pub store_reason: String,
    pub cache: TokenCache,
    accounts: Mutex<HashMap<String, Arc<AccountState>>>,
    http: Mutex<HashMap<Option<String>, reqwest::Client>>,
    metadata: Mutex<HashMap<String, (Metadata, std::time::Instant)>>,
    pub shutdown: tokio::sync::Notify,
    stopping: std::sync::atomic::AtomicBool,
    /// `tok lock` is in force (for every store): no tokens until `tok unlock`.
    locked: std::sync::atomic::AtomicBool,
    pub audit: super::audit::AuditLog,
    /// This agent as a holder of refresh leases in a shared store.
    pub lease_holder: String,
    /// Accounts other nodes published in a shared store (the local config wins on a clash).
    shared_accounts: Mutex<std::collections::BTreeMap<String, crate::config::Account>>,
}

fn mtime(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[path = "state_provider.rs"]
mod provider;

pub fn refresh_key(account: &str) -> String {
    format!("refresh/{account}")
}

pub fn client_secret_key(account: &str) -> String {
    format!("client-secret/{account}")
}

impl State {
    pub fn new(
        info: AgentInfo,
        config_path: PathBuf,
        config: Config,
        store: Arc<dyn SecretStore>,
        store_kind: StoreKind,
        store_reason: String,
    ) -> Self {
        let mtime = mtime(&config_path);
        Self {
            info,
            config_path,
            config: Mutex::new(ConfigCell { config, mtime }),
            store,
            store_kind,
            store_reason,
            cache: TokenCache::default(),
            accounts: Mutex::new(HashMap::new()),
            http: Mutex::new(HashMap::new()),
            metadata: Mutex::new(HashMap::new()),
            shutdown: tokio::sync::Notify::new(),
            stopping: std::sync::atomic::AtomicBool::new(false),
            locked: std::sync::atomic::AtomicBool::new(false),
            audit: super::audit::AuditLog::new(crate::dirs::audit_file()),
            lease_holder: super::shared::holder(),
            shared_accounts: Mutex::new(Default::default()),
        }
    }

    /// The current configuration, re-read when the file changed on disk (hand edits), with the
    /// accounts other nodes published in a shared store added.
    pub fn config(&self) -> Result<Config, Failure> {
        let mut cell = self.config.lock().expect("config lock");
        let now = mtime(&self.config_path);
        if now != cell.mtime {
            let fresh = Config::load(&self.config_path)
                .map_err(|e| Failure::new(ErrorKind::Usage, e.to_string()))?;
            cell.config = fresh;
            cell.mtime = now;
        }
        let mut config = cell.config.clone();
        for (name, account) in self.shared_accounts.lock().expect("shared lock").iter() {
            config
                .accounts
                .entry(name.clone())
                .or_insert_with(|| account.clone());
        }
        Ok(config)
    }

    pub fn forget_shared_account(&self, name: &str) {
        self.shared_accounts
            .lock()
            .expect("shared lock")
            .remove(name);
    }

    pub fn set_shared_accounts(
        &self,
        accounts: std::collections::BTreeMap<String, crate::config::Account>,
    ) {
        *self.shared_accounts.lock().expect("shared lock") = accounts;
    }

    /// Applies `change` to the configuration and writes it atomically.
    pub fn update_config(&self, change: impl FnOnce(&mut Config)) -> Result<(), Failure> {
        let mut cell = self.config.lock().expect("config lock");
        if mtime(&self.config_path) != cell.mtime {
            if let Ok(fresh) = Config::load(&self.config_path) {
                cell.config = fresh;
            }
        }
        change(&mut cell.config);
        // The save fsyncs, which a slow home file system can drag out: let the runtime move
        // the other connections off this worker meanwhile.
        let save = || cell.config.save(&self.config_path);
        let saved = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(save)
            }
            _ => save(),
        };
        saved.map_err(|e| Failure::new(ErrorKind::Internal, e.to_string()))?;
        cell.mtime = mtime(&self.config_path);
        Ok(())
    }

    /// Marks the agent as stopping; the session notifies the run loop once it has answered.
    pub fn request_stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn agent_locked(&self) -> bool {
        self.locked.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn set_agent_locked(&self, locked: bool) {
        self.locked
            .store(locked, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn account(&self, name: &str) -> Arc<AccountState> {
        let mut accounts = self.accounts.lock().expect("accounts lock");
        Arc::clone(accounts.entry(name.to_string()).or_insert_with(|| {
            Arc::new(AccountState {
                refresh: tokio::sync::Mutex::new(RefreshSlot::Unknown),
                needs_login: Mutex::new(None),
                scope_warning: Mutex::new(None),
                dead_version: Mutex::new(None),
            })
        }))
    }

    pub fn needs_login(&self, name: &str) -> Option<String> {
        self.account(name)
            .needs_login
            .lock()
            .expect("needs_login lock")
            .clone()
    }

    pub fn scope_warning(&self, name: &str) -> Option<String> {
        self.account(name)
            .scope_warning
            .lock()
            .expect("scope_warning lock")
            .clone()
    }

    /// Records a scope warning; true when it is the account's first (so the client shows it).
    pub fn note_scope_warning(&self, name: &str, warning: &str) -> bool {
        let account = self.account(name);
        let mut slot = account.scope_warning.lock().expect("scope_warning lock");
        let first = slot.is_none();
        *slot = Some(warning.to_string());
        first
    }

    pub fn set_needs_login(&self, name: &str, reason: Option<String>) {
        *self
            .account(name)
            .needs_login
            .lock()
            .expect("needs_login lock") = reason;
    }

    /// Forgets every in-memory refresh token the store also holds (after `tok lock`).
    pub fn forget_refresh_tokens(&self) {
        let accounts = self.accounts.lock().expect("accounts lock");
        for state in accounts.values() {
            if let Ok(mut slot) = state.refresh.try_lock() {
                if !matches!(*slot, RefreshSlot::Unstored(_)) {
                    *slot = RefreshSlot::Unknown;
                }
            }
        }
    }

    /// Stores a refresh token the provider rotated. Until the store takes it, it stays in the
    /// slot as `Unstored`, the only valid copy, and the error says so.
    pub async fn store_rotated(
        &self,
        name: &str,
        slot: &mut RefreshSlot,
        token: RefreshToken,
    ) -> Result<(), Failure> {
        match self.store_save(refresh_key(name), token.expose()).await {
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
    pub async fn store_unstored(&self) {
        let accounts: Vec<(String, Arc<AccountState>)> = {
            let accounts = self.accounts.lock().expect("accounts lock");
            accounts
                .iter()
                .map(|(n, s)| (n.clone(), Arc::clone(s)))
                .collect()
        };
        for (name, account) in accounts {
            let mut slot = account.refresh.lock().await;
            if let RefreshSlot::Unstored(token) = &*slot {
                let token = token.clone();
                if self.store_rotated(&name, &mut slot, token).await.is_err() {
                    tracing::error!(account = %name, "the login is lost: its rotated refresh token could not be stored; run `tok login {name}`");
                }
            }
        }
    }

    pub async fn store_load(&self, key: String) -> Result<Option<SecretString>, Failure> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.load(&key))
            .await
            .map_err(|e| Failure::new(ErrorKind::Internal, format!("store task failed: {e}")))?
            .map_err(Failure::from)
    }

    /// Returns once the value is durable.
    pub async fn store_save(&self, key: String, value: &str) -> Result<(), Failure> {
        let store = Arc::clone(&self.store);
        let value = SecretString::from(value.to_string());
        tokio::task::spawn_blocking(move || store.save(&key, &value))
            .await
            .map_err(|e| Failure::new(ErrorKind::Internal, format!("store task failed: {e}")))?
            .map_err(Failure::from)
    }

    pub async fn store_delete(&self, key: String) -> Result<(), Failure> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.delete(&key))
            .await
            .map_err(|e| Failure::new(ErrorKind::Internal, format!("store task failed: {e}")))?
            .map_err(Failure::from)
    }

    /// The client identity of an account (its secret, if any, comes from the store).
    pub async fn creds(
        &self,
        name: &str,
        account: &crate::config::Account,
    ) -> Result<ClientCreds, Failure> {
        let client_secret = if account.has_client_secret {
            self.store_load(client_secret_key(name))
                .await?
                .map(|s| ClientSecret::new(s.expose_secret()))
        } else {
            None
        };
        Ok(ClientCreds {
            client_id: account.client_id.clone(),
            client_secret,
        })
    }
}

/// Maps a provider error to what the client sees. `invalid_grant`-like errors are handled by
/// the caller, which knows the account.
pub fn provider_failure(e: OauthError) -> Failure {
    let kind = match &e {
        OauthError::InvalidGrant(_) | OauthError::InvalidClient { .. } => ErrorKind::NeedsLogin,
        OauthError::Refused { .. } | OauthError::AccessDenied | OauthError::Expired => {
            ErrorKind::Denied
        }
        OauthError::Transient(_) | OauthError::EndpointGone(_) => ErrorKind::Provider,
        OauthError::Config(_) => ErrorKind::Usage,
    };
    Failure::new(kind, e.to_string())
}
