//! Job credentials on disk: the 0600 JSON file `tok delegate` writes and a job renews its access
//! tokens from without an agent ([`renew`]). Reads and rewrites happen under a lock, so parallel
//! steps of one job never lose a rotated refresh token.
//!
//! The format is [`JobCredential`] (versioned by `tok_credential`). Errors name the file and
//! what to do, and never quote its content: it holds a refresh token.

pub mod renew;

use crate::oauth::{ClientCreds, Metadata};
use crate::protocol::{JobCredential, CREDENTIAL_FORMAT};
use crate::scope::covers;
use crate::tokenfile::{check_target, TokenFileError};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Nothing tok writes comes near this; a larger file is not a credential.
const MAX_CREDENTIAL_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("cannot read the job credential {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "{path} is not a tok job credential ({reason}); make one with `tok delegate --out FILE`"
    )]
    Format { path: PathBuf, reason: String },
    #[error("{path} is a job credential of format {found}, which this tok does not know (it reads format {CREDENTIAL_FORMAT}); use the tok that wrote it")]
    Version { path: PathBuf, found: u32 },
    #[error("{path} belongs to uid {owner}, not to you; refusing to use a credential someone else can replace")]
    NotOurs { path: PathBuf, owner: u32 },
    #[error("the job credential {path} expired at {not_after} (its not_after); delegate a new one with `tok delegate`")]
    Expired { path: PathBuf, not_after: String },
    #[error("the job credential {path} does not cover {what}; it was delegated for {allowed} (ask for these or narrower, or delegate a new credential)")]
    Wider {
        path: PathBuf,
        what: String,
        allowed: String,
    },
    #[error("cannot lock the job credential {path} ({lock}): {source}")]
    Lock {
        path: PathBuf,
        lock: PathBuf,
        source: io::Error,
    },
    #[error(transparent)]
    Unsafe(#[from] TokenFileError),
    #[error("cannot write the job credential {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// Reads and checks a credential file: ours, not too large, a format we know.
pub fn load(path: &Path) -> Result<JobCredential, CredentialError> {
    let read_err = |source| CredentialError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    match crate::dirs::check_private(&meta, crate::dirs::PrivateKind::Any) {
        Ok(()) => {}
        Err(crate::dirs::NotPrivate::NotOurs { owner, .. }) => {
            return Err(CredentialError::NotOurs {
                path: path.to_path_buf(),
                owner,
            })
        }
        // File transfer to a worker node does not always keep 0600; a secret file must be.
        Err(crate::dirs::NotPrivate::OpenToOthers { .. }) => file
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(read_err)?,
        // The metadata of an open file is never a symlink's, and any kind of file is taken.
        Err(crate::dirs::NotPrivate::Symlink | crate::dirs::NotPrivate::WrongKind) => {}
    }
    if meta.len() > MAX_CREDENTIAL_BYTES {
        return Err(CredentialError::Format {
            path: path.to_path_buf(),
            reason: format!("larger than {MAX_CREDENTIAL_BYTES} bytes"),
        });
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    io::Read::read_to_end(&mut &file, &mut bytes).map_err(read_err)?;
    parse(path, &bytes)
}

/// Parses and checks a credential's bytes (read from `path`, named in errors): what [`load`]
/// does once the file is read.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<JobCredential, CredentialError> {
    let format_err = |reason: String| CredentialError::Format {
        path: path.to_path_buf(),
        reason,
    };
    #[derive(serde::Deserialize)]
    struct Header {
        tok_credential: u32,
    }
    let header: Header = serde_json::from_slice(bytes).map_err(|e| format_err(json_reason(&e)))?;
    if header.tok_credential != CREDENTIAL_FORMAT {
        return Err(CredentialError::Version {
            path: path.to_path_buf(),
            found: header.tok_credential,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| format_err(json_reason(&e)))
}

/// serde_json's message, unless it may quote a value from the file ("invalid type: string
/// \"…\"", "unknown variant `…`"), which may be the refresh token: then only what and where.
fn json_reason(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let names_a_field =
        message.starts_with("missing field") || message.starts_with("duplicate field");
    if e.classify() != serde_json::error::Category::Data || names_a_field {
        message
    } else {
        format!(
            "a value of the wrong type or an unknown value at line {} column {}",
            e.line(),
            e.column()
        )
    }
}

/// Writes a credential atomically (0600, never through a symlink), refusing the places a token
/// file is refused.
pub fn save(path: &Path, credential: &JobCredential) -> Result<(), CredentialError> {
    check_target(path)?;
    let mut text = zeroize::Zeroizing::new(
        serde_json::to_string_pretty(credential).expect("a credential serialises"),
    );
    text.push('\n');
    crate::dirs::write_atomic(path, text.as_bytes()).map_err(|source| CredentialError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// An exclusive lock on a credential, held while it is read, used and rewritten. It is a POSIX
/// record lock (which NFS also honours) on a `.NAME.lock` file beside the credential: the
/// credential itself is replaced by rename, so a lock on it would guard a dead inode.
pub struct CredentialLock {
    _file: std::fs::File,
    path: PathBuf,
}

impl CredentialLock {
    pub fn acquire(credential: &Path) -> Result<Self, CredentialError> {
        let path = lock_path(credential);
        let lock_err = |source| CredentialError::Lock {
            path: credential.to_path_buf(),
            lock: path.clone(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(lock_err)?;
        let flock = libc::flock {
            l_type: libc::F_WRLCK as libc::c_short,
            l_whence: libc::SEEK_SET as libc::c_short,
            l_start: 0,
            l_len: 0,
            l_pid: 0,
        };
        loop {
            // SAFETY: fcntl on an open descriptor with a valid flock struct.
            let rc = unsafe {
                libc::fcntl(
                    std::os::fd::AsRawFd::as_raw_fd(&file),
                    libc::F_SETLKW,
                    &flock,
                )
            };
            if rc == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(lock_err(e));
            }
        }
        Ok(Self { _file: file, path })
    }

    /// Removes the lock file (after the credential itself is gone).
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn lock_path(credential: &Path) -> PathBuf {
    let name = credential
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "credential".into());
    credential.with_file_name(format!(".{name}.lock"))
}

/// What a request may get from this credential: the delegated scopes and audiences when it
/// names none, else the ones it names, each covered by the delegation. Wider requests are
/// refused here, before the provider is asked.
pub fn allowed_request(
    path: &Path,
    credential: &JobCredential,
    scopes: &[String],
    audiences: &[String],
) -> Result<(Vec<String>, Vec<String>), CredentialError> {
    let wider = |what: String, allowed: &[String]| CredentialError::Wider {
        path: path.to_path_buf(),
        what,
        allowed: if allowed.is_empty() {
            "no audience".to_string()
        } else {
            allowed.join(" ")
        },
    };
    for s in scopes {
        if !credential.scopes.iter().any(|g| covers(g, s)) {
            return Err(wider(format!("scope {s}"), &credential.scopes));
        }
    }
    for a in audiences {
        if !credential.audiences.contains(a) {
            return Err(wider(format!("audience {a}"), &credential.audiences));
        }
    }
    let scopes = if scopes.is_empty() {
        credential.scopes.clone()
    } else {
        scopes.to_vec()
    };
    let audiences = if audiences.is_empty() {
        credential.audiences.clone()
    } else {
        audiences.to_vec()
    };
    Ok((scopes, audiences))
}

/// The provider endpoints a credential carries, in the shape the OAuth code takes.
pub fn metadata(credential: &JobCredential) -> Metadata {
    Metadata {
        issuer: credential.issuer.clone(),
        token_endpoint: credential.token_endpoint.clone(),
        device_authorization_endpoint: None,
        authorization_endpoint: None,
        response_types_supported: vec![],
        revocation_endpoint: credential.revocation_endpoint.clone(),
        registration_endpoint: None,
        token_endpoint_auth_methods_supported: credential.client_auth.iter().cloned().collect(),
        grant_types_supported: vec![],
    }
}

pub fn client(credential: &JobCredential) -> ClientCreds {
    ClientCreds {
        client_id: credential.client_id.clone(),
        client_secret: credential.client_secret.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AudienceParam;
    use crate::secret::RefreshToken;
    use std::os::unix::fs::PermissionsExt;

    fn credential() -> JobCredential {
        JobCredential {
            tok_credential: CREDENTIAL_FORMAT,
            id: "id".into(),
            account: "cms".into(),
            issuer: "https://op".into(),
            token_endpoint: "https://op/token".into(),
            revocation_endpoint: None,
            client_id: "c".into(),
            client_secret: None,
            client_auth: None,
            refresh_token: RefreshToken::new("DELEGATED-RT"),
            scopes: vec!["compute.create".into(), "storage.read:/store".into()],
            audiences: vec!["https://se.example.org".into()],
            audience_param: AudienceParam::Resource,
            created_at: 1,
            not_after: 2,
            ca_pem: None,
        }
    }

    #[test]
    fn save_load_round_trip_0600() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("job.cred");
        save(&p, &credential()).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = load(&p).unwrap();
        assert_eq!(back.refresh_token.expose(), "DELEGATED-RT");
        assert_eq!(back.scopes, credential().scopes);
    }

    #[test]
    fn a_credential_open_to_others_is_made_private_on_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("job.cred");
        save(&p, &credential()).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        load(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn unknown_versions_and_garbage_are_refused_without_quoting() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c");
        std::fs::write(&p, r#"{"tok_credential": 9, "refresh_token": "SECRET"}"#).unwrap();
        assert!(matches!(
            load(&p),
            Err(CredentialError::Version { found: 9, .. })
        ));
        std::fs::write(&p, r#"{"tok_credential": 1, "refresh_token": "SECRET"}"#).unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("not a tok job credential") && !e.contains("SECRET"),
            "{e}"
        );
        std::fs::write(&p, "SECRET-not-json").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(!e.contains("SECRET"), "{e}");
        // A value in the wrong place (found by fuzzing): serde_json would quote it.
        let e = parse(&p, br#"{"tok_credential": "SECRET"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1 column") && !e.contains("SECRET"), "{e}");
        let mut misplaced = serde_json::to_value(credential()).unwrap();
        misplaced["audience_param"] = "SECRET".into();
        let e = parse(&p, misplaced.to_string().as_bytes())
            .unwrap_err()
            .to_string();
        assert!(!e.contains("SECRET"), "{e}");
        let e = parse(&p, br#"{"tok_credential": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `id`"), "{e}");
    }

    #[test]
    fn narrower_requests_pass_wider_ones_are_refused() {
        let c = credential();
        let p = Path::new("job.cred");
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (scopes, auds) = allowed_request(p, &c, &[], &[]).unwrap();
        assert_eq!((scopes, auds), (c.scopes.clone(), c.audiences.clone()));
        allowed_request(p, &c, &s(&["storage.read:/store/mc"]), &[]).unwrap();
        let e = allowed_request(p, &c, &s(&["storage.read:/"]), &[]).unwrap_err();
        assert!(e.to_string().contains("scope storage.read:/"), "{e}");
        assert!(allowed_request(p, &c, &s(&["storage.modify:/store"]), &[]).is_err());
        assert!(allowed_request(p, &c, &[], &s(&["https://other.example.org"])).is_err());
    }

    #[test]
    fn lock_is_exclusive_between_processes_and_beside_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("job.cred");
        let lock = CredentialLock::acquire(&p).unwrap();
        assert!(d.path().join(".job.cred.lock").exists());
        lock.remove();
        assert!(!d.path().join(".job.cred.lock").exists());
    }
}
