//! An encrypted file store for headless nodes that have neither a desktop keyring nor a
//! kernel keyring that survives long enough; protected by a passphrase given to `tok unlock`.
//!
//! The format lives in [`sealed`]. Every write replaces the whole file atomically (0600 temp
//! file in the same directory, fsync, rename, directory fsync), and memory changes only after
//! the file did.

pub(crate) mod sealed;

pub use sealed::KdfParams;

use super::{check_key, SecretStore, StoreError, StoreKind};
use crate::dirs::{NotPrivate, PrivateKind};
use crate::secret::Passphrase;
use sealed::Key;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use zeroize::Zeroizing;

/// What an unlocked store holds; both parts zeroize on drop, so `lock` is just dropping it.
struct Unlocked {
    key: Key,
    map: BTreeMap<String, SecretString>,
}

pub struct FileStore {
    path: PathBuf,
    new_params: KdfParams,
    state: Mutex<Option<Unlocked>>,
}

/// An agent killed between writing the temporary file and renaming it leaves the temporary
/// behind (encrypted, 0600, and useless: the store file is the old one). Only the agent writes
/// the store, and it opens it before anything else, so any temporary found now is stale.
fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        if file.starts_with(&prefix) && file.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl FileStore {
    /// Opens (locked) the store at `path`; the file need not exist yet.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_kdf(path, KdfParams::from_env())
    }

    /// `params` apply when the file is created; an existing file keeps its own.
    pub fn open_with_kdf(path: &Path, params: KdfParams) -> Result<Self, StoreError> {
        check_file(path)?;
        remove_stale_temporaries(path);
        Ok(Self {
            path: path.to_path_buf(),
            new_params: params,
            state: Mutex::new(None),
        })
    }

    fn state(&self) -> MutexGuard<'_, Option<Unlocked>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Encrypts `map` under `key` and replaces the file atomically.
    fn persist(&self, key: &Key, map: &BTreeMap<String, SecretString>) -> Result<(), StoreError> {
        let plain: BTreeMap<&str, &str> = map
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        let plain =
            Zeroizing::new(serde_json::to_vec(&plain).map_err(|e| StoreError::Backend {
                backend: "file",
                reason: format!("cannot encode the store: {e}"),
            })?);
        let bytes = key.seal(&plain)?;
        crate::dirs::write_atomic(&self.path, &bytes).map_err(|e| io_err(&self.path, e))
    }
}

impl SecretStore for FileStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!("file: {}", self.path.display())];
        if self.is_locked() {
            notes.push("locked: run `tok unlock`".to_string());
        }
        notes
    }

    fn load(&self, key: &str) -> Result<Option<SecretString>, StoreError> {
        check_key(key)?;
        let state = self.state();
        let u = state.as_ref().ok_or(StoreError::Locked)?;
        Ok(u.map.get(key).cloned())
    }

    fn save(&self, key: &str, value: &SecretString) -> Result<(), StoreError> {
        check_key(key)?;
        let mut state = self.state();
        let u = state.as_mut().ok_or(StoreError::Locked)?;
        let mut map = u.map.clone();
        map.insert(key.to_string(), value.clone());
        // Memory changes only after the file does, so memory never claims more than disk.
        self.persist(&u.key, &map)?;
        u.map = map;
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        let mut state = self.state();
        let u = state.as_mut().ok_or(StoreError::Locked)?;
        if !u.map.contains_key(key) {
            return Ok(());
        }
        let mut map = u.map.clone();
        map.remove(key);
        self.persist(&u.key, &map)?;
        u.map = map;
        Ok(())
    }

    fn unlock(&self, p: &Passphrase) -> Result<(), StoreError> {
        check_file(&self.path)?;
        let mut state = self.state();
        let bytes = match fs::read(&self.path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&self.path, e)),
        };
        let unlocked = match bytes {
            Some(bytes) => {
                let (key, plain) = sealed::open(&self.path, &bytes, p)?;
                let map = serde_json::from_slice(&plain).map_err(|_| StoreError::Corrupt {
                    path: self.path.clone(),
                    reason: "decrypted contents are not a valid entry map".into(),
                })?;
                Unlocked { key, map }
            }
            None => {
                // First unlock: this passphrase becomes the store's passphrase.
                let u = Unlocked {
                    key: Key::create(p, self.new_params)?,
                    map: BTreeMap::new(),
                };
                self.persist(&u.key, &u.map)?;
                tracing::debug!(path = %self.path.display(), "created encrypted store");
                u
            }
        };
        *state = Some(unlocked);
        Ok(())
    }

    fn lock(&self) -> Result<(), StoreError> {
        *self.state() = None;
        Ok(())
    }

    fn is_locked(&self) -> bool {
        self.state().is_none()
    }
}

/// Refuses a symlink, a non-regular file, another owner, or group/other permission bits.
fn check_file(path: &Path) -> Result<(), StoreError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path, e)),
    };
    let insecure = |reason: String| StoreError::Insecure {
        path: path.to_path_buf(),
        reason,
    };
    match crate::dirs::check_private(&meta, PrivateKind::File) {
        Ok(()) => Ok(()),
        Err(NotPrivate::Symlink) => Err(insecure(
            "it is a symbolic link; replace it with the real file".into(),
        )),
        Err(NotPrivate::WrongKind) => Err(insecure("it is not a regular file".into())),
        Err(NotPrivate::NotOurs { owner, me }) => Err(insecure(format!(
            "it is owned by uid {owner}, not by you (uid {me})"
        ))),
        Err(NotPrivate::OpenToOthers { mode }) => Err(insecure(format!(
            "it has group/other permission bits {:03o} (mode {mode:03o}); fix with `chmod 600 {}`",
            mode & 0o077,
            path.display()
        ))),
    }
}

fn io_err(path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::{CHECK_LEN, HEADER_LEN, MAGIC};
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn pw(s: &str) -> Passphrase {
        Passphrase::new(s)
    }

    fn fresh() -> (tempfile::TempDir, PathBuf, FileStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.tok");
        let s = FileStore::open_with_kdf(&path, KdfParams::FAST).unwrap();
        (dir, path, s)
    }

    #[test]
    fn round_trip_across_reopen() {
        let (_d, path, s) = fresh();
        assert!(s.is_locked());
        s.unlock(&pw("correct horse")).unwrap();
        assert!(!s.is_locked());
        s.save("refresh/cms", &SecretString::from("rt-cms"))
            .unwrap();
        s.save("client-secret/cms", &SecretString::from("cs"))
            .unwrap();
        s.delete("client-secret/cms").unwrap();
        s.delete("client-secret/cms").unwrap();
        let again = FileStore::open_with_kdf(&path, KdfParams::DEFAULT).unwrap();
        assert!(again.is_locked());
        again.unlock(&pw("correct horse")).unwrap();
        assert_eq!(
            again.load("refresh/cms").unwrap().unwrap().expose_secret(),
            "rt-cms"
        );
        assert!(again.load("client-secret/cms").unwrap().is_none());
        let raw = fs::read(&path).unwrap();
        assert!(raw.starts_with(MAGIC));
        assert!(!raw.windows(6).any(|w| w == b"rt-cms"));
    }

    #[test]
    fn wrong_passphrase() {
        let (_d, path, s) = fresh();
        s.unlock(&pw("right")).unwrap();
        let again = FileStore::open_with_kdf(&path, KdfParams::FAST).unwrap();
        let err = again.unlock(&pw("wrong")).unwrap_err();
        assert!(matches!(err, StoreError::WrongPassphrase), "{err}");
        assert!(again.is_locked());
        assert!(!err.to_string().contains("wrong\""));
    }

    #[test]
    fn tampering_is_detected() {
        let (_d, path, s) = fresh();
        s.unlock(&pw("pw")).unwrap();
        s.save("refresh/a", &SecretString::from("v")).unwrap();
        let good = fs::read(&path).unwrap();
        for at in [
            HEADER_LEN + 2,
            good.len() - 1,
            MAGIC.len() + 30 + 16 + CHECK_LEN + 1,
        ] {
            let mut bad = good.clone();
            bad[at] ^= 1;
            fs::write(&path, &bad).unwrap();
            let again = FileStore::open_with_kdf(&path, KdfParams::FAST).unwrap();
            let err = again.unlock(&pw("pw")).unwrap_err();
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "byte {at}: {err}"
            );
        }
        fs::write(&path, &good[..good.len() - 5]).unwrap();
        let err = FileStore::open_with_kdf(&path, KdfParams::FAST)
            .unwrap()
            .unlock(&pw("pw"))
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn locked_store_refuses_access() {
        let (_d, _path, s) = fresh();
        assert!(matches!(s.load("refresh/a"), Err(StoreError::Locked)));
        s.unlock(&pw("pw")).unwrap();
        s.save("refresh/a", &SecretString::from("v")).unwrap();
        s.lock().unwrap();
        assert!(s.is_locked());
        assert!(matches!(s.load("refresh/a"), Err(StoreError::Locked)));
        assert!(matches!(
            s.save("refresh/a", &SecretString::from("w")),
            Err(StoreError::Locked)
        ));
        assert!(matches!(s.delete("refresh/a"), Err(StoreError::Locked)));
        assert!(StoreError::Locked.to_string().contains("tok unlock"));
        assert!(s.notes().iter().any(|n| n.contains("locked")));
    }

    #[test]
    fn file_is_0600_and_replaced_without_leftovers() {
        let (dir, path, s) = fresh();
        s.unlock(&pw("pw")).unwrap();
        for i in 0..5 {
            s.save("refresh/a", &SecretString::from(format!("v{i}")))
                .unwrap();
        }
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("store.tok")]);
    }

    #[test]
    fn insecure_files_are_refused() {
        let (dir, path, s) = fresh();
        s.unlock(&pw("pw")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = FileStore::open(&path).err().unwrap();
        assert!(
            matches!(err, StoreError::Insecure { .. }) && err.to_string().contains("chmod 600"),
            "{err}"
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.tok");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = FileStore::open(&link).err().unwrap();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn implausible_kdf_header_is_corrupt_not_a_hang() {
        let (_d, path, s) = fresh();
        s.unlock(&pw("pw")).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        bytes[MAGIC.len() + 1..MAGIC.len() + 5].copy_from_slice(&u32::MAX.to_le_bytes());
        fs::write(&path, &bytes).unwrap();
        let err = FileStore::open_with_kdf(&path, KdfParams::FAST)
            .unwrap()
            .unlock(&pw("pw"))
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }
}
