//! An encrypted file store for headless nodes that have neither a desktop keyring nor a
//! kernel keyring that survives long enough; protected by a passphrase given to `tok unlock`.
//!
//! File format (version 1), all integers little-endian:
//!
//! ```text
//! offset  size  field
//!      0    13  magic "tok-store v1\n"
//!     13     1  kdf id: 1 = argon2id (v0x13)
//!     14     4  m_cost (KiB)
//!     18     4  t_cost (passes)
//!     22     4  p_cost (lanes)
//!     26    16  salt (random, chosen when the store is created)
//!     42    32  passphrase check (bytes 32..64 of the argon2 output)
//!     74    24  XChaCha20-Poly1305 nonce (random, new on every write)
//!     98     …  ciphertext + 16-byte tag of the JSON object {"key": "secret", …}
//! ```
//!
//! Bytes 0..32 of the argon2 output are the cipher key; the check value lets `unlock` tell a
//! wrong passphrase from a damaged file, which the AEAD tag alone cannot. Bytes 0..98 are the
//! associated data, so any header change is detected too. Every write replaces the whole file
//! atomically (0600 temp file in the same directory, fsync, rename, directory fsync).

use super::{check_key, SecretStore, StoreError, StoreKind};
use crate::secret::Passphrase;
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use zeroize::Zeroizing;

const MAGIC: &[u8] = b"tok-store v1\n";
const KDF_ARGON2ID: u8 = 1;
const SALT_LEN: usize = 16;
const CHECK_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = MAGIC.len() + 1 + 12 + SALT_LEN + CHECK_LEN + NONCE_LEN;
/// Refuse headers that would make `unlock` allocate or spin absurdly (a crafted file).
const MAX_M_COST_KIB: u32 = 4 * 1024 * 1024;
const MAX_T_COST: u32 = 64;
const MAX_P_COST: u32 = 16;

/// Argon2id cost. The default (19 MiB, 2 passes) takes well under a second on a login node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl KdfParams {
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };
    /// Only for tests (`TOK_TEST_FAST_KDF=1`): offers no real protection.
    pub const FAST: KdfParams = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };

    fn from_env() -> Self {
        if std::env::var("TOK_TEST_FAST_KDF").as_deref() == Ok("1") {
            Self::FAST
        } else {
            Self::DEFAULT
        }
    }
}

/// What an unlocked store holds; both parts zeroize on drop, so `lock` is just dropping it.
struct Unlocked {
    key: Zeroizing<[u8; 32]>,
    salt: [u8; SALT_LEN],
    check: [u8; CHECK_LEN],
    params: KdfParams,
    map: BTreeMap<String, SecretString>,
}

pub struct FileStore {
    path: PathBuf,
    new_params: KdfParams,
    state: Mutex<Option<Unlocked>>,
}

impl FileStore {
    /// Opens (locked) the store at `path`; the file need not exist yet.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_kdf(path, KdfParams::from_env())
    }

    /// `params` apply when the file is created; an existing file keeps its own.
    pub fn open_with_kdf(path: &Path, params: KdfParams) -> Result<Self, StoreError> {
        check_file(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            new_params: params,
            state: Mutex::new(None),
        })
    }

    fn state(&self) -> MutexGuard<'_, Option<Unlocked>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Encrypts `map` under `u`'s key with a fresh nonce and replaces the file atomically.
    fn persist(
        &self,
        u: &Unlocked,
        map: &BTreeMap<String, SecretString>,
    ) -> Result<(), StoreError> {
        let plain: BTreeMap<&str, &str> = map
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        let plain =
            Zeroizing::new(serde_json::to_vec(&plain).map_err(|e| StoreError::Backend {
                backend: "file",
                reason: format!("cannot encode the store: {e}"),
            })?);
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let header = header(u.params, &u.salt, &u.check, &nonce);
        let cipher = XChaCha20Poly1305::new(u.key.as_slice().into());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &header,
                },
            )
            .map_err(|_| StoreError::Backend {
                backend: "file",
                reason: "encryption failed".into(),
            })?;
        let mut bytes = header;
        bytes.extend_from_slice(&sealed);
        write_atomically(&self.path, &bytes)
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
        self.persist(u, &map)?;
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
        self.persist(u, &map)?;
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
            Some(bytes) => open_sealed(&self.path, &bytes, p)?,
            None => {
                // First unlock: this passphrase becomes the store's passphrase.
                let mut salt = [0u8; SALT_LEN];
                rand::rngs::OsRng.fill_bytes(&mut salt);
                let (key, check) = derive(p, &salt, self.new_params)?;
                let u = Unlocked {
                    key,
                    salt,
                    check,
                    params: self.new_params,
                    map: BTreeMap::new(),
                };
                self.persist(&u, &u.map)?;
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

fn header(params: KdfParams, salt: &[u8], check: &[u8], nonce: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(MAGIC);
    h.push(KDF_ARGON2ID);
    h.extend_from_slice(&params.m_cost_kib.to_le_bytes());
    h.extend_from_slice(&params.t_cost.to_le_bytes());
    h.extend_from_slice(&params.p_cost.to_le_bytes());
    h.extend_from_slice(salt);
    h.extend_from_slice(check);
    h.extend_from_slice(nonce);
    h
}

fn open_sealed(path: &Path, bytes: &[u8], p: &Passphrase) -> Result<Unlocked, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if bytes.len() < HEADER_LEN + 16 || !bytes.starts_with(MAGIC) {
        return Err(corrupt("not a tok store (bad header)"));
    }
    let (head, sealed) = bytes.split_at(HEADER_LEN);
    let mut at = MAGIC.len();
    if head[at] != KDF_ARGON2ID {
        return Err(corrupt("unknown key derivation"));
    }
    at += 1;
    let u32_at = |at: &mut usize| {
        let v = u32::from_le_bytes(head[*at..*at + 4].try_into().expect("4 bytes"));
        *at += 4;
        v
    };
    let params = KdfParams {
        m_cost_kib: u32_at(&mut at),
        t_cost: u32_at(&mut at),
        p_cost: u32_at(&mut at),
    };
    if params.m_cost_kib > MAX_M_COST_KIB
        || params.t_cost > MAX_T_COST
        || params.p_cost > MAX_P_COST
    {
        return Err(corrupt("implausible key derivation parameters"));
    }
    let salt: [u8; SALT_LEN] = head[at..at + SALT_LEN].try_into().expect("salt");
    at += SALT_LEN;
    let check: [u8; CHECK_LEN] = head[at..at + CHECK_LEN].try_into().expect("check");
    at += CHECK_LEN;
    let nonce = &head[at..at + NONCE_LEN];
    let (key, derived_check) =
        derive(p, &salt, params).map_err(|_| corrupt("invalid key derivation parameters"))?;
    if !constant_time_eq(&derived_check, &check) {
        return Err(StoreError::WrongPassphrase);
    }
    let cipher = XChaCha20Poly1305::new(key.as_slice().into());
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: head,
                },
            )
            .map_err(|_| corrupt("authentication failed (the file was modified or truncated)"))?,
    );
    let map: BTreeMap<String, SecretString> = serde_json::from_slice(&plain)
        .map_err(|_| corrupt("decrypted contents are not a valid entry map"))?;
    Ok(Unlocked {
        key,
        salt,
        check,
        params,
        map,
    })
}

type Derived = (Zeroizing<[u8; 32]>, [u8; CHECK_LEN]);

fn derive(p: &Passphrase, salt: &[u8], k: KdfParams) -> Result<Derived, StoreError> {
    let params = Params::new(k.m_cost_kib, k.t_cost, k.p_cost, Some(64)).map_err(|e| {
        StoreError::Backend {
            backend: "file",
            reason: format!("bad key derivation parameters: {e}"),
        }
    })?;
    let mut out = Zeroizing::new([0u8; 64]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(p.expose().as_bytes(), salt, out.as_mut_slice())
        .map_err(|e| StoreError::Backend {
            backend: "file",
            reason: format!("key derivation failed: {e}"),
        })?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&out[..32]);
    let mut check = [0u8; CHECK_LEN];
    check.copy_from_slice(&out[32..]);
    Ok((key, check))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    if meta.file_type().is_symlink() {
        return Err(insecure(
            "it is a symbolic link; point --store-file at the real file".into(),
        ));
    }
    if !meta.is_file() {
        return Err(insecure("it is not a regular file".into()));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid {
        return Err(insecure(format!(
            "it is owned by uid {}, not by you (uid {euid})",
            meta.uid()
        )));
    }
    let extra = meta.mode() & 0o077;
    if extra != 0 {
        return Err(insecure(format!(
            "it has group/other permission bits {extra:03o} (mode {:03o}); fix with `chmod 600 {}`",
            meta.mode() & 0o777,
            path.display()
        )));
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut rnd = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut rnd);
    let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!(".{name}.tmp-{suffix}"));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        // The umask can only remove bits, but be explicit in case the file system adds some.
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path, e));
    }
    Ok(())
}

fn io_err(path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
