//! Credential-carrying environment variables kept out of the agent (issue 21): an agent
//! autostarted from a shell where `tok env` exported `BEARER_TOKEN` (or from inside `tok exec`)
//! would otherwise hold that token in its environment, and hand it to every program it starts
//! (the confirmation program), for days.
//!
//! The client removes them when it starts an agent; the agent removes them again from its own
//! environment, for an agent started some other way (`tok agent run --foreground` by hand, a
//! service manager), and blanks their bytes in the block `/proc/PID/environ` shows. The one
//! credential the agent needs, the OpenBao token (`BAO_TOKEN` / `VAULT_TOKEN`), is read into
//! memory first and taken from there by the OpenBao store. Paths such as
//! `TOK_PASSPHRASE_FILE` or `SSL_CERT_FILE` are no secret and stay.

use std::sync::OnceLock;
use zeroize::Zeroizing;

/// Names that carry a credential or point at one, beyond the suffix rule of [`is_credential`]:
/// grid clients' token variables (WLCG discovery) and oidc-agent's `oidc-token -e` output.
const NAMES: &[&str] = &["BEARER_TOKEN", "BEARER_TOKEN_FILE", "OIDC_AT"];
/// Name endings that mark a secret (`GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `DB_PASSWORD`, …);
/// no variable tok reads ends so, except the OpenBao token read first.
const SUFFIXES: &[&str] = &[
    "_TOKEN",
    "_SECRET",
    "_SECRET_KEY",
    "_SECRET_ACCESS_KEY",
    "_PASSWORD",
    "_PASSPHRASE",
];
/// Read once by the agent, kept in memory for the OpenBao store, then removed like the rest.
pub const OPENBAO_TOKEN_NAMES: &[&str] = &["BAO_TOKEN", "VAULT_TOKEN"];

/// The OpenBao token variables as they were when the agent removed them.
static CAPTURED: OnceLock<Vec<(&'static str, Zeroizing<String>)>> = OnceLock::new();

/// Whether `name` carries a credential and must not stay in the agent's environment.
pub fn is_credential(name: &str) -> bool {
    NAMES.contains(&name) || SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// The credential variables set in this process's environment (for a child's `env_remove`).
pub fn credential_names() -> Vec<std::ffi::OsString> {
    std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| k.to_str().is_some_and(is_credential))
        .collect()
}

/// The first of `names` (OpenBao token names) that is set and not blank, and its value: what
/// the agent kept when it cleaned its environment, else the environment itself (the CLI).
pub fn credential(names: &[&'static str]) -> Option<(&'static str, String)> {
    match CAPTURED.get() {
        Some(kept) => names.iter().find_map(|n| {
            kept.iter()
                .find(|(k, _)| k == n)
                .map(|(k, v)| (*k, v.to_string()))
        }),
        None => names.iter().find_map(|n| {
            std::env::var(n)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (*n, v))
        }),
    }
}

/// Keeps the OpenBao token in memory, then removes every credential variable from this
/// process's environment and blanks it in the initial block. Call it first thing in the
/// agent, before any other thread exists.
pub fn clean_agent_environment() {
    let kept = OPENBAO_TOKEN_NAMES
        .iter()
        .filter_map(|n| {
            std::env::var(n)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (*n, Zeroizing::new(v)))
        })
        .collect();
    let _ = CAPTURED.set(kept);
    let names = credential_names();
    if names.is_empty() {
        return;
    }
    let initial = initial_entries(&names);
    for name in &names {
        // Single-threaded here (the caller's promise): nothing reads the environment meanwhile.
        std::env::remove_var(name);
    }
    blank(&initial);
}

/// Where the entries `NAME=…` of `names` sit in the environment block the kernel set up at
/// exec (the bytes `/proc/PID/environ` shows), as (address, length) pairs.
fn initial_entries(names: &[std::ffi::OsString]) -> Vec<(usize, usize)> {
    use std::os::unix::ffi::OsStrExt;
    let Some((start, end)) = environ_block() else {
        return vec![];
    };
    extern "C" {
        static environ: *const *const std::ffi::c_char;
    }
    let mut found = vec![];
    // SAFETY: `environ` is glibc's NULL-terminated array of NUL-terminated strings, read
    // while no other thread exists (the caller's promise).
    unsafe {
        let mut at = environ;
        while !at.is_null() && !(*at).is_null() {
            let entry = std::ffi::CStr::from_ptr(*at);
            let bytes = entry.to_bytes();
            let addr = *at as usize;
            let named = names.iter().any(|n| {
                let n = n.as_bytes();
                bytes.len() > n.len() && bytes.starts_with(n) && bytes[n.len()] == b'='
            });
            if named && addr >= start && addr + bytes.len() <= end {
                found.push((addr, bytes.len()));
            }
            at = at.add(1);
        }
    }
    found
}

/// Overwrites the given bytes of the initial environment block with NULs.
fn blank(entries: &[(usize, usize)]) {
    for &(addr, len) in entries {
        // SAFETY: each range lies inside the writable block the kernel placed at exec
        // (checked against /proc/self/stat), and no environment entry points at it any more.
        unsafe { std::ptr::write_bytes(addr as *mut u8, 0, len) };
    }
}

/// `env_start` and `env_end` of this process (fields 50 and 51 of /proc/self/stat).
fn environ_block() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; count from after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let start = fields.get(50 - 3)?.parse().ok()?;
    let end = fields.get(51 - 3)?.parse().ok()?;
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names_are_told_from_settings() {
        for name in [
            "BEARER_TOKEN",
            "BEARER_TOKEN_FILE",
            "OIDC_AT",
            "BAO_TOKEN",
            "VAULT_TOKEN",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "DB_PASSWORD",
        ] {
            assert!(is_credential(name), "{name}");
        }
        for name in [
            "TOK_PASSPHRASE_FILE",
            "SSL_CERT_FILE",
            "BAO_ADDR",
            "TOK_SOCKET",
            "OIDC_SOCK",
            "PATH",
            "BEARER_TOKEN_EXPIRES_AT",
        ] {
            assert!(!is_credential(name), "{name}");
        }
    }
}
