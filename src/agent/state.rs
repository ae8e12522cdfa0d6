//! What the agent knows and shares between connections: configuration, the secret store, the
//! access-token cache, per-account refresh state, provider metadata and HTTP clients.

use super::cache::TokenCache;
use super::gate::Gate;
use super::slot::AccountState;
use crate::config::Config;
use crate::oauth::{ClientCreds, Metadata};
use crate::protocol::{AgentInfo, ErrorKind};
pub use crate::refresh::{provider_failure, Failure};
use crate::secret::ClientSecret;
use crate::store::{SecretStore, StoreError, StoreKind};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

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

struct ConfigCell {
    config: Config,
    mtime: Option<SystemTime>,
}

/// Provider metadata by issuer, with when it was fetched.
pub type MetadataByIssuer = HashMap<String, (Metadata, std::time::Instant)>;

pub struct State {
    pub info: AgentInfo,
    pub config_path: PathBuf,
    config: Mutex<ConfigCell>,
    pub store: Arc<dyn SecretStore>,
    pub store_kind: StoreKind,
    pub store_reason: String,
    pub cache: TokenCache,
    accounts: Mutex<HashMap<String, Arc<AccountState>>>,
    /// One HTTP client per CA file, and provider metadata by issuer (see `provider.rs`).
    pub(super) http: Mutex<HashMap<Option<String>, reqwest::Client>>,
    pub(super) metadata: Mutex<MetadataByIssuer>,
    /// Where discovered metadata is kept across restarts (`kept_metadata.rs`), if anywhere.
    pub(super) kept_metadata: Option<PathBuf>,
    pub shutdown: tokio::sync::Notify,
    stopping: std::sync::atomic::AtomicBool,
    /// What every request that hands out a token passes, and `tok lock` closes.
    pub gate: Gate,
    pub audit: super::audit::AuditLog,
    /// This agent (host:pid) as a holder of refresh leases in a shared store; each take adds
    /// its own suffix (`lease.rs`).
    pub lease_holder: String,
    /// Accounts other nodes published in a shared store (the local config wins on a clash).
    shared_accounts: Mutex<std::collections::BTreeMap<String, crate::config::Account>>,
}

fn mtime(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// This agent, as a holder of refresh leases in a shared store: host and pid.
fn this_node() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("{host}:{}", std::process::id())
}

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
            kept_metadata: None,
            shutdown: tokio::sync::Notify::new(),
            stopping: std::sync::atomic::AtomicBool::new(false),
            gate: Gate::default(),
            audit: super::audit::AuditLog::new(crate::dirs::audit_file()),
            lease_holder: this_node(),
            shared_accounts: Mutex::new(Default::default()),
        }
    }

    /// Keeps discovered provider metadata in `path` across restarts, starting from `kept`, what
    /// an earlier agent kept there (`kept_metadata::load`).
    pub fn keeping_metadata(mut self, path: PathBuf, kept: MetadataByIssuer) -> Self {
        if !kept.is_empty() {
            tracing::debug!(
                issuers = kept.len(),
                "provider metadata kept by an earlier agent"
            );
        }
        self.metadata = Mutex::new(kept);
        self.kept_metadata = Some(path);
        self
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
        self.update_config_if(|c| {
            change(c);
            true
        })
    }

    /// [`State::update_config`], writing the file only when `change` says it changed it.
    pub fn update_config_if(
        &self,
        change: impl FnOnce(&mut Config) -> bool,
    ) -> Result<(), Failure> {
        let mut cell = self.config.lock().expect("config lock");
        if mtime(&self.config_path) != cell.mtime {
            if let Ok(fresh) = Config::load(&self.config_path) {
                cell.config = fresh;
            }
        }
        if !change(&mut cell.config) {
            return Ok(());
        }
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

    pub fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn account(&self, name: &str) -> Arc<AccountState> {
        let mut accounts = self.accounts.lock().expect("accounts lock");
        Arc::clone(accounts.entry(name.to_string()).or_default())
    }

    /// Every account the agent has state for.
    pub fn account_states(&self) -> Vec<(String, Arc<AccountState>)> {
        let accounts = self.accounts.lock().expect("accounts lock");
        accounts
            .iter()
            .map(|(n, s)| (n.clone(), Arc::clone(s)))
            .collect()
    }

    pub fn needs_login(&self, name: &str) -> Option<String> {
        self.account(name).needs_login()
    }

    pub fn set_needs_login(&self, name: &str, reason: Option<String>) {
        self.account(name).set_needs_login(reason);
    }

    pub fn scope_warning(&self, name: &str) -> Option<String> {
        self.account(name).scope_warning()
    }

    /// Records a scope warning; true when it is the account's first (so the client shows it).
    pub fn note_scope_warning(&self, name: &str, warning: &str) -> bool {
        self.account(name).note_scope_warning(warning)
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
