//! Where the OpenBao store is and how tok authenticates to it: the settings from the
//! environment (`BAO_ADDR`, `TOK_BAO_MOUNT`, `TOK_BAO_PREFIX`, `BAO_CACERT`), the paths they
//! name, held to segments that cannot escape, and the source of the OpenBao token (an
//! environment variable or `~/.vault-token`, re-read when `bao login` replaces it).

use super::*;

/// Where the OpenBao token comes from.
#[derive(Clone)]
pub enum TokenSource {
    /// An environment variable's value; `var` names it in messages.
    Env {
        var: &'static str,
        token: SecretString,
    },
    /// A token file such as `~/.vault-token` (what `bao login` writes), re-read when it changes.
    File(PathBuf),
}

impl TokenSource {
    pub(super) fn describe(&self) -> String {
        match self {
            TokenSource::Env { var, .. } => var.to_string(),
            TokenSource::File(path) => path.display().to_string(),
        }
    }
}

/// Everything the store needs to know; [`OpenBaoConfig::from_env`] reads the usual variables.
#[derive(Clone)]
pub struct OpenBaoConfig {
    /// `https://openbao.example.org:8200` (http only on loopback).
    pub addr: String,
    /// The KV version 2 mount, e.g. `secret`.
    pub mount: String,
    /// Where this user's entries live inside the mount, e.g. `tok/alice`.
    pub prefix: String,
    /// Extra PEM CA certificates to trust, on top of the system store.
    pub ca_file: Option<PathBuf>,
    pub token: TokenSource,
}

impl OpenBaoConfig {
    /// `BAO_ADDR`/`VAULT_ADDR`, `BAO_CACERT`/`VAULT_CACERT`, `BAO_TOKEN`/`VAULT_TOKEN` (else
    /// `~/.vault-token`), `TOK_BAO_MOUNT` (default `secret`), `TOK_BAO_PREFIX` (default
    /// `tok/<login name>`).
    pub fn from_env() -> Result<Self, StoreError> {
        let addr = env_first(&["BAO_ADDR", "VAULT_ADDR"])
            .map(|(_, v)| v)
            .ok_or_else(|| {
                unavailable(
                    "no OpenBao address: set BAO_ADDR (or VAULT_ADDR), e.g. \
                     BAO_ADDR=https://openbao.example.org:8200"
                        .to_string(),
                )
            })?;
        let ca_file = env_first(&["BAO_CACERT", "VAULT_CACERT"]).map(|(_, v)| PathBuf::from(v));
        let mount = env_first(&["TOK_BAO_MOUNT"])
            .map(|(_, v)| v)
            .unwrap_or_else(|| DEFAULT_MOUNT.to_string());
        let prefix = env_first(&["TOK_BAO_PREFIX"])
            .map(|(_, v)| v)
            .unwrap_or_else(|| format!("tok/{}", login_name()));
        let token = match crate::environ::credential(crate::environ::OPENBAO_TOKEN_NAMES) {
            Some((var, v)) => TokenSource::Env {
                var,
                token: SecretString::from(v.trim().to_string()),
            },
            None => TokenSource::File(home_dir().join(".vault-token")),
        };
        Ok(Self {
            addr,
            mount,
            prefix,
            ca_file,
            token,
        })
    }
}

/// The first of `names` that is set and not empty, and its value.
pub(super) fn env_first(names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|n| {
        std::env::var(n)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*n, v))
    })
}

/// The login name of the effective user (the default path prefix is `tok/<login name>`), made
/// safe as one path segment.
pub fn login_name() -> String {
    let name = passwd_entry()
        .map(|(name, _)| name)
        .or_else(|| env_first(&["USER", "LOGNAME"]).map(|(_, v)| v))
        .unwrap_or_else(|| format!("uid{}", crate::dirs::euid()));
    let safe: String = name
        .chars()
        .map(|c| if segment_char(c) { c } else { '_' })
        .collect();
    match safe.as_str() {
        "" | "." | ".." => format!("uid{}", crate::dirs::euid()),
        _ => safe,
    }
}

pub(super) fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| passwd_entry().map(|(_, dir)| dir))
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The effective user's name and home directory from the password database.
pub(super) fn passwd_entry() -> Option<(String, PathBuf)> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for a plain C struct of pointers and ints.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to live, writable storage of the size passed.
    let rc = unsafe {
        libc::getpwuid_r(
            crate::dirs::euid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so both fields are NUL-terminated strings inside `buf`.
    let (name, dir) = unsafe { (CStr::from_ptr(pwd.pw_name), CStr::from_ptr(pwd.pw_dir)) };
    Some((
        name.to_string_lossy().into_owned(),
        PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes())),
    ))
}

pub(super) fn segment_char(c: char) -> bool {
    c.is_ascii() && crate::name::is_name_byte(c as u8, b"@")
}

/// A `/`-separated OpenBao path (mount, prefix or key) whose segments cannot escape where they
/// are put: no empty, `.` or `..` segment, and only letters, digits and `._-@`.
pub(super) fn check_path(what: &str, value: &str) -> Result<(), String> {
    let bad = value.is_empty()
        || value.len() > 400
        || value
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".." || !s.chars().all(segment_char));
    if bad {
        Err(format!(
            "{what} `{}` is not a usable OpenBao path: use `/`-separated names of letters, digits \
             and `._-@` (no empty, `.` or `..` parts)",
            value.escape_debug()
        ))
    } else {
        Ok(())
    }
}

/// Store keys become KV paths under the prefix: `refresh/cms` → `<prefix>/refresh/cms`. The
/// generic key check allows `..` and empty segments, which would climb out of the prefix here.
pub(super) fn check_store_key(key: &str) -> Result<(), StoreError> {
    check_key(key)?;
    check_path("key", key).map_err(|_| StoreError::InvalidKey {
        key: key.to_string(),
    })
}

/// Reads a token file: a regular file (a FIFO would block), small, one line.
pub(super) fn read_token_file(path: &Path) -> Result<SecretString, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{} does not exist", path.display()))
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    match file.metadata() {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(format!("{} is not a regular file", path.display())),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let mut bytes = Zeroizing::new(Vec::new());
    (&mut file)
        .take(8192)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{} is not text", path.display()))?
        .trim();
    if text.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(SecretString::from(text.to_string()))
}

pub(super) fn read_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, StoreError> {
    let pem = std::fs::read(path).map_err(|e| {
        unavailable(format!(
            "cannot read the OpenBao CA file {} (BAO_CACERT): {e}",
            path.display()
        ))
    })?;
    let source = format!("the OpenBao CA file {} (BAO_CACERT)", path.display());
    net::ca_roots(&pem, &source).map_err(unavailable)
}
