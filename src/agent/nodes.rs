//! Several nodes on one store (OpenBao: one login for every node a user works on): the
//! refreshes of one account are serialised across agents by a lease in the store, the refresh
//! token is read afresh under that lease (another node may have rotated it), a rotation is
//! written with check-and-set ([`LeaseHolder`]), and account definitions are kept in the store
//! too, so a node that never ran `tok login` knows the account.

use super::holder::{store_rotated, SlotHolder};
use super::lease::{lease, Lease};
use super::slot::RefreshSlot;
use super::state::{refresh_key, Failure, State};
use crate::config::{Account, Config};
use crate::oauth::{OauthError, Outcome};
use crate::protocol::ErrorKind;
use crate::refresh::Holder;
use crate::secret::RefreshToken;
use secrecy::{ExposeSecret, SecretString};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The store document holding every shared account definition.
const ACCOUNTS_DOCUMENT: &str = "accounts";
/// How often the shared account definitions are read again.
pub const ACCOUNTS_REFRESH: Duration = Duration::from_secs(60);

/// The account's refresh token as the store has it now, with its version for check-and-set.
async fn current(state: &State, account: &str) -> Result<Option<(RefreshToken, u64)>, Failure> {
    let store = Arc::clone(&state.store);
    let key = refresh_key(account);
    let loaded = tokio::task::spawn_blocking(move || store.load_versioned(&key))
        .await
        .map_err(|e| Failure::new(ErrorKind::Internal, format!("store task failed: {e}")))?
        .map_err(Failure::from)?;
    Ok(loaded.map(|(s, v)| (RefreshToken::new(s.expose_secret()), v)))
}

/// Stores a rotated refresh token with check-and-set against the version it replaced.
async fn store_rotated_cas(
    state: &State,
    account: &str,
    token: &RefreshToken,
    version: u64,
) -> Result<(), Failure> {
    let store = Arc::clone(&state.store);
    let key = refresh_key(account);
    let value = SecretString::from(token.expose().to_string());
    let written = tokio::task::spawn_blocking(move || store.save_cas(&key, &value, version))
        .await
        .map_err(|e| Failure::new(ErrorKind::Internal, format!("store task failed: {e}")))?
        .map_err(Failure::from)?;
    if !written {
        // Under the lease nobody else should write; if someone did, theirs is newer.
        tracing::warn!(
            account,
            "another writer stored a refresh token while this agent held the lease"
        );
    }
    Ok(())
}

/// An account's refresh token in a store shared by several nodes: the agent's slot, under the
/// account's lease, read afresh from the store and written back with check-and-set.
pub struct LeaseHolder<'a> {
    slot: SlotHolder<'a>,
    _lease: Lease,
}

impl<'a> LeaseHolder<'a> {
    /// Takes the account's lease (waiting for another node's refresh) and reads its refresh
    /// token afresh, since another node may have rotated it.
    pub async fn take(mut slot: SlotHolder<'a>) -> Result<Self, Failure> {
        let (state, name) = (slot.state, slot.name);
        let lease = lease(&state.store, &state.lease_holder, name).await?;
        match current(state, name).await? {
            Some((token, version)) => {
                if state.needs_login(name).is_some() && slot.account.dead_version() != Some(version)
                {
                    // Someone logged in again on another node: that login is ours too.
                    state.set_needs_login(name, None);
                }
                *slot.slot = RefreshSlot::Present(token);
                slot.version = Some(version);
            }
            None => *slot.slot = RefreshSlot::Missing,
        }
        Ok(Self {
            slot,
            _lease: lease,
        })
    }
}

impl Holder for LeaseHolder<'_> {
    async fn load(&mut self) -> Result<RefreshToken, Failure> {
        self.slot.load().await
    }

    /// A refused token may only be stale: another node may have rotated it meanwhile.
    async fn newer(&mut self) -> Result<Option<RefreshToken>, Failure> {
        let Some(version) = self.slot.version else {
            return Ok(None);
        };
        match current(self.slot.state, self.slot.name).await? {
            Some((newer, v)) if v != version => {
                self.slot.version = Some(v);
                Ok(Some(newer))
            }
            _ => Ok(None),
        }
    }

    async fn commit(&mut self, rotated: &RefreshToken) -> Result<(), Failure> {
        let (state, name) = (self.slot.state, self.slot.name);
        if let Some(version) = self.slot.version {
            match store_rotated_cas(state, name, rotated, version).await {
                Ok(()) => {
                    *self.slot.slot = RefreshSlot::Present(rotated.clone());
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(account = %name, "check-and-set write failed ({}); writing plainly", e.message)
                }
            }
        }
        store_rotated(state, name, &mut self.slot.slot, rotated.clone()).await
    }

    fn grant_refused(&mut self, e: &OauthError) {
        self.slot.grant_refused(e);
    }

    fn explain(&self, outcome: Outcome, e: &OauthError) -> String {
        self.slot.explain(outcome, e)
    }
}

/// Where an access token for this account, scope set and audience set is shared.
fn access_key(key: &super::cache::CacheKey) -> String {
    use sha2::Digest;
    let what = format!("{}\n{}", key.scopes.join(" "), key.audiences.join(" "));
    let digest = hex::encode(sha2::Sha256::digest(what.as_bytes()));
    format!("access/{}/{}", key.account, &digest[..24])
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SharedAccess {
    token: crate::secret::AccessToken,
    expires_at: u64,
    #[serde(default)]
    granted_scopes: Vec<String>,
}

/// An access token another node shared for this request, if it still has `min_valid` to live.
pub async fn shared_access(
    state: &State,
    key: &super::cache::CacheKey,
    min_valid: u64,
) -> Option<super::cache::CachedToken> {
    let store = Arc::clone(&state.store);
    let k = access_key(key);
    let loaded = tokio::task::spawn_blocking(move || store.load(&k))
        .await
        .ok()?
        .ok()??;
    let shared: SharedAccess = serde_json::from_str(loaded.expose_secret()).ok()?;
    let token = super::cache::CachedToken {
        token: shared.token,
        expires_at: shared.expires_at,
        granted_scopes: shared.granted_scopes,
    };
    token
        .usable(crate::time::unix_now(), min_valid)
        .then_some(token)
}

/// Shares a fresh access token with the other nodes (best effort: a failure costs them a
/// refresh, nothing else).
pub async fn share_access(
    state: &State,
    key: &super::cache::CacheKey,
    token: &super::cache::CachedToken,
) {
    let value = serde_json::to_string(&SharedAccess {
        token: token.token.clone(),
        expires_at: token.expires_at,
        granted_scopes: token.granted_scopes.clone(),
    })
    .expect("a token serialises");
    let store = Arc::clone(&state.store);
    let k = access_key(key);
    let value = SecretString::from(value);
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.save(&k, &value)).await {
        tracing::warn!(account = %key.account, "cannot share the access token: {e}");
    }
}

#[derive(serde::Serialize, Default)]
struct SharedAccounts {
    accounts: BTreeMap<String, SharedAccount>,
}

#[derive(serde::Serialize)]
struct SharedAccount {
    account: Account,
    /// The account's CA bundle: the path in `account` exists only on the node that logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ca_pem: Option<String>,
}

/// Publishes the account definitions of this node's config in the shared store.
pub async fn publish(state: &State, config: &Config) -> Result<(), Failure> {
    let json = accounts_document(config);
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || store.save_document(ACCOUNTS_DOCUMENT, &json))
        .await
        .map_err(|e| Failure::new(ErrorKind::Internal, format!("store task failed: {e}")))?
        .map_err(Failure::from)
}

/// The shared account list (definitions and CA bundles, no secrets) as a JSON document.
pub fn accounts_document(config: &Config) -> String {
    let mut shared = SharedAccounts::default();
    for (name, account) in &config.accounts {
        let ca_pem = account
            .ca_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok());
        shared.accounts.insert(
            name.clone(),
            SharedAccount {
                account: account.clone(),
                ca_pem,
            },
        );
    }
    serde_json::to_string(&shared).expect("accounts serialise")
}

/// The account definitions other nodes published, with their CA bundles written next to this
/// node's data (0600) so the account's `ca_file` points somewhere real here.
pub fn fetch(store: &dyn crate::store::SecretStore) -> Result<BTreeMap<String, Account>, String> {
    let Some(json) = store
        .load_document(ACCOUNTS_DOCUMENT)
        .map_err(|e| e.to_string())?
    else {
        return Ok(BTreeMap::new());
    };
    let (accounts, unknown) = parse_shared(&json)?;
    note_unknown_fields(&unknown);
    let mut out = BTreeMap::new();
    for (name, mut entry) in accounts {
        if crate::config::validate_name(&name).is_err() {
            continue;
        }
        if let Some(pem) = entry.ca_pem.take() {
            let path = crate::dirs::data_dir().join(format!("shared-ca-{name}.pem"));
            if let Some(dir) = path.parent() {
                let _ = crate::dirs::ensure_private_dir(dir);
            }
            if crate::dirs::write_atomic(&path, pem.as_bytes()).is_ok() {
                entry.account.ca_file = Some(path.display().to_string());
            }
        }
        out.insert(name, entry.account);
    }
    Ok(out)
}

/// The shared account list as any tok version publishes it: each account is read with the
/// fields this tok knows, so a newer node's fields cost only their meaning here.
#[derive(serde::Deserialize)]
struct Published {
    #[serde(default)]
    accounts: BTreeMap<String, PublishedAccount>,
}

#[derive(serde::Deserialize)]
struct PublishedAccount {
    account: serde_json::Value,
    #[serde(default)]
    ca_pem: Option<String>,
}

/// Reads a published account list, dropping the account fields this tok does not know (a
/// newer node's; returned, for one log line) rather than refusing the list as the local
/// config does; an account that is still not valid here is skipped, not the whole list.
fn parse_shared(json: &str) -> Result<(BTreeMap<String, SharedAccount>, BTreeSet<String>), String> {
    let published: Published = serde_json::from_str(json)
        .map_err(|e| format!("the shared account list is not valid: {e}"))?;
    let known = crate::config::account_fields();
    let (mut out, mut unknown) = (BTreeMap::new(), BTreeSet::new());
    for (name, entry) in published.accounts {
        let mut value = entry.account;
        if let Some(fields) = value.as_object_mut() {
            fields.retain(|k, _| known.contains(&k.as_str()) || !unknown.insert(k.clone()));
        }
        match serde_json::from_value::<Account>(value) {
            Ok(account) => {
                out.insert(
                    name,
                    SharedAccount {
                        account,
                        ca_pem: entry.ca_pem,
                    },
                );
            }
            Err(e) => tracing::warn!(
                "the shared definition of account `{name}` is not valid for this tok ({e}): \
                 skipped; a node with a newer tok may have published it, so update tok here"
            ),
        }
    }
    Ok((out, unknown))
}

/// Says once per agent which fields of the shared account list this tok ignores.
fn note_unknown_fields(unknown: &BTreeSet<String>) {
    static NOTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut noted = NOTED.lock().unwrap_or_else(|p| p.into_inner());
    let new: Vec<&str> = unknown
        .iter()
        .filter(|f| !noted.contains(*f))
        .map(String::as_str)
        .collect();
    if !new.is_empty() {
        tracing::info!(
            "the shared account list has fields this tok does not know (a newer tok published \
             it), ignored here: {}",
            new.join(", ")
        );
        noted.extend(new.iter().map(|f| f.to_string()));
    }
}

/// Reads the shared account definitions into the agent once.
pub async fn load_accounts(state: &State) {
    let store = Arc::clone(&state.store);
    match tokio::task::spawn_blocking(move || fetch(store.as_ref())).await {
        Ok(Ok(accounts)) => state.set_shared_accounts(accounts),
        Ok(Err(e)) => tracing::warn!("cannot read the shared account list: {e}"),
        Err(e) => tracing::warn!("shared account task failed: {e}"),
    }
}

/// Keeps the shared account definitions fresh in the agent, for the agent's life.
pub async fn follow_accounts(state: Arc<State>) {
    loop {
        tokio::time::sleep(ACCOUNTS_REFRESH).await;
        load_accounts(&state).await;
    }
}

#[cfg(test)]
#[path = "nodes_tests.rs"]
mod tests;
