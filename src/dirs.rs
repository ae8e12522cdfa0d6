//! Every path tok uses, and the checks that keep other users out of them.
//!
//! The socket lives in a private directory: created 0700, and refused when it is a symlink, is
//! owned by someone else, or is open to group or others. The paths honour the XDG variables so
//! tests (and users with several setups) can seal everything into their own directories.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> PathBuf {
    env_path("HOME").unwrap_or_else(|| PathBuf::from("/"))
}

/// `TOK_SOCKET`, else `$XDG_RUNTIME_DIR/tok/agent.sock`, else `$TMPDIR/tok-$UID/agent.sock`.
pub fn socket_path() -> PathBuf {
    if let Some(p) = env_path("TOK_SOCKET") {
        return p;
    }
    runtime_dir().join("agent.sock")
}

/// The private directory beside the default socket (lock file, agent log).
pub fn runtime_dir() -> PathBuf {
    if let Some(p) = env_path("TOK_SOCKET") {
        return p.parent().map(Path::to_path_buf).unwrap_or_default();
    }
    match env_path("XDG_RUNTIME_DIR") {
        Some(d) => d.join("tok"),
        None => env_path("TMPDIR")
            .unwrap_or_else(|| PathBuf::from("/tmp"))
            .join(format!("tok-{}", euid())),
    }
}

pub fn config_dir() -> PathBuf {
    env_path("XDG_CONFIG_HOME")
        .unwrap_or_else(|| home().join(".config"))
        .join("tok")
}

pub fn config_file() -> PathBuf {
    env_path("TOK_CONFIG").unwrap_or_else(|| config_dir().join("config.toml"))
}

/// The user's issuer presets (added to and overriding the built-in ones).
pub fn issuers_file() -> PathBuf {
    config_dir().join("issuers.toml")
}

pub fn data_dir() -> PathBuf {
    env_path("XDG_DATA_HOME")
        .unwrap_or_else(|| home().join(".local/share"))
        .join("tok")
}

/// The encrypted refresh-token file used by the `file` store.
pub fn store_file() -> PathBuf {
    data_dir().join("secrets.enc")
}

/// The audit trail of tokens served (never the tokens); `tok audit` reads it.
pub fn audit_file() -> PathBuf {
    data_dir().join("audit.log")
}

/// The agent's record of the job credentials it delegated (never the tokens).
pub fn delegations_file() -> PathBuf {
    data_dir().join("delegations.json")
}

/// When the agent last warned about each login's end (`tok get` warns once a day).
pub fn login_warnings_file() -> PathBuf {
    data_dir().join("login-warnings.json")
}

pub fn lock_file() -> PathBuf {
    runtime_dir().join("agent.lock")
}

pub fn agent_log() -> PathBuf {
    runtime_dir().join("agent.log")
}

#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("cannot create {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error("{path} is a symlink; refusing to use it (remove it and try again)")]
    Symlink { path: PathBuf },
    #[error("{path} is not a directory")]
    NotDir { path: PathBuf },
    #[error("{path} is owned by uid {owner}, not by you (uid {me}); refusing to use it")]
    NotOurs { path: PathBuf, owner: u32, me: u32 },
    #[error("{path} has mode {mode:o}, open to group or others; run `chmod 700 {path}`")]
    TooOpen { path: PathBuf, mode: u32 },
}

/// Creates `dir` (and parents) with mode 0700 and checks it is ours and private.
pub fn ensure_private_dir(dir: &Path) -> Result<(), DirError> {
    if let Err(source) = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        if !dir.is_dir() {
            return Err(DirError::Create {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    check_private_dir(dir)
}

/// What a private file or directory must be: a directory, a regular file, or either (when
/// the caller checks the type itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateKind {
    Dir,
    File,
    Any,
}

/// Why a path that must be private is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotPrivate {
    /// A symbolic link (`meta` came from `symlink_metadata`): whoever made it chose the target.
    Symlink,
    /// Not the [`PrivateKind`] asked for.
    WrongKind,
    /// Owned by another user, who can read or replace it.
    NotOurs { owner: u32, me: u32 },
    /// Group or other permission bits are set (`mode` is the permission bits, `& 0o777`).
    OpenToOthers { mode: u32 },
}

/// The one owner/mode check of tok's private files and directories: not a symlink, of the
/// right kind, ours, and closed to group and others. Callers word the refusal (or, for a job
/// credential whose mode a file transfer widened, repair the mode).
pub fn check_private(meta: &std::fs::Metadata, kind: PrivateKind) -> Result<(), NotPrivate> {
    if meta.file_type().is_symlink() {
        return Err(NotPrivate::Symlink);
    }
    let right_kind = match kind {
        PrivateKind::Dir => meta.is_dir(),
        PrivateKind::File => meta.is_file(),
        PrivateKind::Any => true,
    };
    if !right_kind {
        return Err(NotPrivate::WrongKind);
    }
    let me = euid();
    if meta.uid() != me {
        return Err(NotPrivate::NotOurs {
            owner: meta.uid(),
            me,
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(NotPrivate::OpenToOthers { mode });
    }
    Ok(())
}

pub fn check_private_dir(dir: &Path) -> Result<(), DirError> {
    let path = dir.to_path_buf();
    let meta = std::fs::symlink_metadata(dir).map_err(|source| DirError::Create {
        path: path.clone(),
        source,
    })?;
    match check_private(&meta, PrivateKind::Dir) {
        Ok(()) => Ok(()),
        Err(NotPrivate::Symlink) => Err(DirError::Symlink { path }),
        Err(NotPrivate::WrongKind) => Err(DirError::NotDir { path }),
        Err(NotPrivate::NotOurs { owner, me }) => Err(DirError::NotOurs { path, owner, me }),
        Err(NotPrivate::OpenToOthers { mode }) => Err(DirError::TooOpen { path, mode }),
    }
}

/// Writes `bytes` to `path` atomically: a fresh 0600 temp file beside it (never through a
/// symlink), fsync, rename over `path`, fsync the directory. Readers see the old content or the
/// new, never a missing or partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{name}.{}.{nonce}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        crate::crashpoint::reached("temp_written");
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dir_is_created_0700() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("a/b");
        ensure_private_dir(&d).unwrap();
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn open_dir_is_refused() {
        let t = tempfile::tempdir().unwrap();
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            check_private_dir(t.path()),
            Err(DirError::TooOpen { .. })
        ));
    }

    #[test]
    fn symlink_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real");
        ensure_private_dir(&real).unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            check_private_dir(&link),
            Err(DirError::Symlink { .. })
        ));
    }

    #[test]
    fn atomic_write_is_0600_and_leaves_no_temp() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
