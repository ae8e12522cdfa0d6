//! Where secrets rest between agent runs: a small trait with one file per backend.
//!
//! The agent stores refresh tokens (and dynamically registered client secrets) under string
//! keys such as `refresh/cms`. Every call is blocking; the agent runs them on a blocking thread.
//! A `save` that returns `Ok` means the value is durable: the agent relies on this to drop a
//! rotated refresh token only after its successor is safe.
//!
//! One backend, `openbao`, is shared by the agents of every node a user works on; the trait's
//! co-operation methods (versions and check-and-set, leases, documents) exist for it, and their
//! defaults keep the local stores behaving exactly as before.

#[cfg(target_os = "linux")]
pub mod keyring;
#[cfg(target_os = "linux")]
pub mod keyutils;

pub mod file;
pub mod memory;
pub mod openbao;

use crate::secret::Passphrase;
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// A place where the agent keeps secrets between runs. Implementations are blocking.
pub trait SecretStore: Send + Sync {
    /// Which backend this is (for `tok status`).
    fn kind(&self) -> StoreKind;
    /// Human notes for `tok status`, e.g. "kernel keyring: lost at reboot", "locked".
    fn notes(&self) -> Vec<String>;
    fn load(&self, key: &str) -> Result<Option<SecretString>, StoreError>;
    /// Returns only once the value is durable (file: temp + fsync + rename + dir fsync).
    fn save(&self, key: &str, value: &SecretString) -> Result<(), StoreError>;
    /// Deleting a missing key is `Ok`.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Only the file backend has a passphrase; the others are always unlocked.
    fn unlock(&self, _p: &Passphrase) -> Result<(), StoreError> {
        Ok(())
    }
    fn lock(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn is_locked(&self) -> bool {
        false
    }

    /// Whether several agents (on several machines) use this store at once, so that refreshes
    /// must be co-ordinated with [`acquire_lease`](Self::acquire_lease) and
    /// [`save_cas`](Self::save_cas). Local stores: `false`.
    fn shared(&self) -> bool {
        false
    }
    /// `load` with the value's version for [`save_cas`](Self::save_cas) (OpenBao: the KV v2
    /// version). Local stores: version 0.
    fn load_versioned(&self, key: &str) -> Result<Option<(SecretString, u64)>, StoreError> {
        Ok(self.load(key)?.map(|v| (v, 0)))
    }
    /// Check-and-set: writes only if the stored version is still `expected_version` (0: only
    /// if absent). `Ok(false)` when another writer got there first; then nothing was written.
    /// Returns `Ok(true)` only once the value is durable. Local stores: `save`, `Ok(true)`.
    fn save_cas(
        &self,
        key: &str,
        value: &SecretString,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        let _ = expected_version;
        self.save(key, value)?;
        Ok(true)
    }
    /// Takes (or extends) the lease `name` for `holder` until `ttl` from now: `Ok(true)` when
    /// it was free, expired, or already `holder`'s; `Ok(false)` while another holder's lease
    /// lives (never stolen). Local stores: always `Ok(true)`.
    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let _ = (name, holder, ttl);
        Ok(true)
    }
    /// Frees the lease `name` if `holder` still holds it; otherwise does nothing.
    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let _ = (name, holder);
        Ok(())
    }
    /// Keeps a non-secret JSON document (e.g. an account's definition) where every agent of
    /// a shared store finds it; `delete(key)` removes it. Local stores: nothing is kept.
    fn save_document(&self, key: &str, json: &str) -> Result<(), StoreError> {
        let _ = (key, json);
        Ok(())
    }
    /// The document saved under `key`, if any. Local stores: `Ok(None)`.
    fn load_document(&self, key: &str) -> Result<Option<String>, StoreError> {
        let _ = key;
        Ok(None)
    }
}

pub use crate::protocol::StoreKind;

/// An opened backend and why it was picked, so `tok status` can explain an `auto` choice.
pub struct Opened {
    pub store: Box<dyn SecretStore>,
    pub kind: StoreKind,
    pub reason: String,
}

// Messages never include a secret value: only keys, paths and backend diagnostics.
#[derive(thiserror::Error, Debug)]
pub enum StoreError {
    #[error("the {backend} secret store is unavailable: {reason}")]
    Unavailable {
        backend: &'static str,
        reason: String,
    },
    #[error("the encrypted file store is locked: run `tok unlock` (in a batch job, point TOK_PASSPHRASE_FILE at a file holding the passphrase)")]
    Locked,
    #[error("wrong passphrase for the encrypted secret store: nothing was unlocked, try again")]
    WrongPassphrase,
    #[error("the encrypted secret store {} is damaged: {reason}; restore it from a backup, or move it aside and log in again", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("refusing to use the secret store {}: {reason}", path.display())]
    Insecure { path: PathBuf, reason: String },
    #[error("i/o error on the secret store {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the {backend} secret store failed: {reason}")]
    Backend {
        backend: &'static str,
        reason: String,
    },
    #[error("invalid secret store key {key:?}: expected something like `refresh/<account>` (letters, digits, `._-/`)")]
    InvalidKey { key: String },
}

/// Keys are built from account names; checking them here keeps odd bytes out of keyring
/// descriptions and file contents alike.
pub(crate) fn check_key(key: &str) -> Result<(), StoreError> {
    if crate::name::is_name(key, 200, b"/") {
        Ok(())
    } else {
        Err(StoreError::InvalidKey {
            key: key.to_string(),
        })
    }
}

/// Opens the chosen backend; `Auto` prefers the Secret Service, then the kernel keyring,
/// then memory, and says why in `Opened::reason`.
pub fn open(choice: StoreKind, file_path: &Path) -> Result<Opened, StoreError> {
    match choice {
        StoreKind::Auto => Ok(open_auto()),
        StoreKind::File => Ok(Opened {
            store: Box::new(file::FileStore::open(file_path)?),
            kind: StoreKind::File,
            reason: format!("file: chosen explicitly ({})", file_path.display()),
        }),
        StoreKind::Memory => Ok(Opened {
            store: Box::new(memory::MemoryStore::new()),
            kind: StoreKind::Memory,
            reason: "memory: chosen explicitly".to_string(),
        }),
        StoreKind::Keyring => open_keyring().map(|store| Opened {
            store,
            kind: StoreKind::Keyring,
            reason: "keyring: chosen explicitly".to_string(),
        }),
        StoreKind::Keyutils => open_keyutils().map(|store| Opened {
            store,
            kind: StoreKind::Keyutils,
            reason: "keyutils: chosen explicitly".to_string(),
        }),
        StoreKind::OpenBao => {
            let store = openbao::OpenBaoStore::open(openbao::OpenBaoConfig::from_env()?)?;
            let reason = format!(
                "openbao: chosen explicitly ({}, {})",
                store.addr(),
                store.location()
            );
            Ok(Opened {
                store: Box::new(store),
                kind: StoreKind::OpenBao,
                reason,
            })
        }
    }
}

fn open_auto() -> Opened {
    let keyring_err = match open_keyring() {
        Ok(store) => {
            return Opened {
                store,
                kind: StoreKind::Keyring,
                reason: "auto: Secret Service answered".to_string(),
            }
        }
        Err(e) => e,
    };
    let why = unavailable_reason(&keyring_err);
    tracing::debug!(error = %keyring_err, "auto store: no Secret Service");
    match open_keyutils() {
        Ok(store) => Opened {
            store,
            kind: StoreKind::Keyutils,
            reason: format!("auto: no Secret Service ({why}); using kernel keyring"),
        },
        Err(e) => {
            tracing::debug!(error = %e, "auto store: no kernel keyring");
            Opened {
                store: Box::new(memory::MemoryStore::new()),
                kind: StoreKind::Memory,
                reason: format!(
                    "auto: no Secret Service ({why}) and no kernel keyring ({}); using memory, \
                     refresh tokens are lost when the agent stops",
                    unavailable_reason(&e)
                ),
            }
        }
    }
}

fn unavailable_reason(e: &StoreError) -> String {
    match e {
        StoreError::Unavailable { reason, .. } | StoreError::Backend { reason, .. } => {
            reason.clone()
        }
        other => other.to_string(),
    }
}

#[cfg(target_os = "linux")]
fn open_keyring() -> Result<Box<dyn SecretStore>, StoreError> {
    Ok(Box::new(keyring::KeyringStore::open()?))
}

#[cfg(not(target_os = "linux"))]
fn open_keyring() -> Result<Box<dyn SecretStore>, StoreError> {
    Err(StoreError::Unavailable {
        backend: "keyring",
        reason: "this build supports the OS keyring on Linux only".to_string(),
    })
}

#[cfg(target_os = "linux")]
fn open_keyutils() -> Result<Box<dyn SecretStore>, StoreError> {
    Ok(Box::new(keyutils::KeyutilsStore::open()?))
}

#[cfg(not(target_os = "linux"))]
fn open_keyutils() -> Result<Box<dyn SecretStore>, StoreError> {
    Err(StoreError::Unavailable {
        backend: "keyutils",
        reason: "the kernel keyring exists on Linux only".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(check_key("refresh/cms").is_ok());
        assert!(check_key("client-secret/my.acct_1").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key("refresh/a b").is_err());
        assert!(check_key("refresh/\n").is_err());
    }

    #[test]
    fn kind_serialises_lowercase() {
        assert_eq!(
            serde_json::to_string(&StoreKind::Keyutils).unwrap(),
            "\"keyutils\""
        );
        assert_eq!(
            serde_json::to_string(&StoreKind::OpenBao).unwrap(),
            "\"openbao\""
        );
        let vault: StoreKind = serde_json::from_str("\"vault\"").unwrap();
        assert_eq!(vault, StoreKind::OpenBao);
    }

    #[test]
    fn openbao_and_vault_are_value_names() {
        use clap::ValueEnum;
        assert_eq!(
            StoreKind::from_str("openbao", false).unwrap(),
            StoreKind::OpenBao
        );
        assert_eq!(
            StoreKind::from_str("vault", false).unwrap(),
            StoreKind::OpenBao
        );
        assert_eq!(StoreKind::OpenBao.to_string(), "openbao");
    }

    #[test]
    fn local_stores_keep_their_behaviour_under_the_shared_methods() {
        let s = memory::MemoryStore::new();
        assert!(!s.shared());
        assert!(s.load_versioned("refresh/cms").unwrap().is_none());
        assert!(s
            .save_cas("refresh/cms", &SecretString::from("rt1"), 7)
            .unwrap());
        let (v, version) = s.load_versioned("refresh/cms").unwrap().unwrap();
        assert_eq!(secrecy::ExposeSecret::expose_secret(&v), "rt1");
        assert_eq!(version, 0);
        let ttl = std::time::Duration::from_secs(1);
        assert!(s.acquire_lease("refresh/cms", "a", ttl).unwrap());
        assert!(s.acquire_lease("refresh/cms", "b", ttl).unwrap());
        s.release_lease("refresh/cms", "a").unwrap();
        s.save_document("account/cms", "{}").unwrap();
        assert!(s.load_document("account/cms").unwrap().is_none());
    }
}
