//! WLCG bearer-token files: where grid tools look for them, and writing them so that a reader
//! never sees a missing, partial or foreign file.
//!
//! Discovery (WLCG Bearer Token Discovery): `BEARER_TOKEN`, else the file in
//! `BEARER_TOKEN_FILE`, else `$XDG_RUNTIME_DIR/bt_u$UID`, else `/tmp/bt_u$UID`. A file is
//! replaced by rename from a 0600 temp file in the same directory, so readers see the old
//! token or the new one, never a gap (htgettoken deletes first and leaves one).

use crate::dirs::{euid, NotPrivate, PrivateKind};
use crate::secret::AccessToken;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("{path} is a symlink; refusing to write a token through it")]
    Symlink { path: PathBuf },
    #[error("{path} belongs to uid {owner}, not to you; refusing to replace it")]
    NotOurs { path: PathBuf, owner: u32 },
    #[error(
        "{dir} may be written by other users and has no sticky bit; refusing to put a token there"
    )]
    UnsafeDir { dir: PathBuf },
    #[error("{dir} may be written by others and belongs to uid {owner}, who could replace the token file; use a directory of your own")]
    ForeignDir { dir: PathBuf, owner: u32 },
    #[error("invalid purpose `{0}`: use letters, digits, `.`, `_` and `-`")]
    BadPurpose(String),
    #[error("cannot write the token file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// `$XDG_RUNTIME_DIR/bt_u$UID[-purpose]`, else `/tmp/bt_u$UID[-purpose]`.
pub fn discovery_path(purpose: Option<&str>) -> Result<PathBuf, TokenFileError> {
    let mut name = format!("bt_u{}", euid());
    if let Some(p) = purpose {
        if !crate::name::is_name(p, usize::MAX, b"") {
            return Err(TokenFileError::BadPurpose(p.to_string()));
        }
        name.push('-');
        name.push_str(p);
    }
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    Ok(dir.join(name))
}

/// Replaces `path` with the token and a newline: 0600, ours, atomically.
pub fn write(path: &Path, token: &AccessToken) -> Result<(), TokenFileError> {
    check_target(path)?;
    let mut body = zeroize::Zeroizing::new(String::with_capacity(token.expose().len() + 1));
    body.push_str(token.expose());
    body.push('\n');
    crate::dirs::write_atomic(path, body.as_bytes()).map_err(|source| TokenFileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Refuses a place where a secret file could be swapped or read by someone else: a directory
/// others may write without the sticky bit, a symlink, or a file another user owns. Shared by
/// token files and job credentials.
pub fn check_target(path: &Path) -> Result<(), TokenFileError> {
    let io_err = |source| TokenFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir_meta = std::fs::metadata(&dir).map_err(io_err)?;
    let mode = dir_meta.permissions().mode();
    // Others may write here: only the sticky bit stops them from swapping our file.
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(TokenFileError::UnsafeDir { dir });
    }
    // Even with the sticky bit, the directory's owner may replace any file in it: a shared
    // directory must belong to us or to root (as /tmp does).
    if mode & 0o022 != 0 && dir_meta.uid() != euid() && dir_meta.uid() != 0 {
        return Err(TokenFileError::ForeignDir {
            dir,
            owner: dir_meta.uid(),
        });
    }
    // An existing file is replaced (0600) whatever its mode; it must only be ours, not a link.
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    match crate::dirs::check_private(&meta, PrivateKind::Any) {
        Err(NotPrivate::Symlink) => Err(TokenFileError::Symlink {
            path: path.to_path_buf(),
        }),
        Err(NotPrivate::NotOurs { owner, .. }) => Err(TokenFileError::NotOurs {
            path: path.to_path_buf(),
            owner,
        }),
        _ => Ok(()),
    }
}

/// Quotes `value` for one shell's single-quote syntax.
pub fn quote(shell: Shell, value: &str) -> String {
    match shell {
        Shell::Posix => format!("'{}'", value.replace('\'', r"'\''")),
        Shell::Fish => format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'")),
        // csh: no escapes inside single quotes; `!` still triggers history, newlines end it.
        Shell::Csh => format!("'{}'", value.replace('\'', r"'\''").replace('!', r"'\!'")),
    }
}

/// The three quoting and assignment families the supported shells fall into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// sh, bash, zsh
    Posix,
    Fish,
    /// csh, tcsh
    Csh,
}

/// Lines that set each `(name, value)` and unset each of `unset`.
pub fn assignments(shell: Shell, set: &[(&str, &str)], unset: &[&str]) -> String {
    let mut s = String::new();
    for (name, value) in set {
        s.push_str(&match shell {
            Shell::Posix => format!("export {name}={};\n", quote(shell, value)),
            Shell::Fish => format!("set -gx {name} {};\n", quote(shell, value)),
            Shell::Csh => format!("setenv {name} {};\n", quote(shell, value)),
        });
    }
    for u in unset {
        s.push_str(&match shell {
            Shell::Posix => format!("unset {u};\n"),
            Shell::Fish => format!("set -e {u};\n"),
            Shell::Csh => format!("unsetenv {u};\n"),
        });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_is_0600_with_newline_and_replaced_atomically() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bt_u1");
        write(&p, &AccessToken::new("one")).unwrap();
        write(&p, &AccessToken::new("two")).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn symlinks_and_open_directories_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        std::fs::write(&target, "x").unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            write(&link, &AccessToken::new("t")),
            Err(TokenFileError::Symlink { .. })
        ));
        let open = d.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            write(&open.join("bt"), &AccessToken::new("t")),
            Err(TokenFileError::UnsafeDir { .. })
        ));
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        write(&open.join("bt"), &AccessToken::new("t")).unwrap();
    }

    #[test]
    fn purpose_is_validated() {
        assert!(discovery_path(Some("fife-CMS"))
            .unwrap()
            .ends_with(format!("bt_u{}-fife-CMS", euid())));
        assert!(discovery_path(Some("../x")).is_err());
    }

    #[test]
    fn quoting_per_shell() {
        assert_eq!(quote(Shell::Posix, "a'b"), r"'a'\''b'");
        assert_eq!(quote(Shell::Fish, r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(quote(Shell::Csh, "a!b"), r"'a'\!'b'");
        assert_eq!(quote(Shell::Posix, "x+/=-y"), "'x+/=-y'");
    }
}
