//! The Linux kernel keyring as a secret store, for headless nodes without a Secret Service.
//!
//! Keys live in the *user* keyring (`@u`), which belongs to the uid rather than to a login
//! session, so a restarted agent (in any session, or in none) finds what an earlier agent
//! saved; it is kept until reboot. Each value is a `user`-type key described `tok:<key>`.
//!
//! Why not the session keyring (as `linux-keyutils-keyring-store` does): an agent started
//! outside PAM either has no session keyring or inherits one it may not write (EACCES), and a
//! fresh anonymous session keyring is invisible to the next agent process. Why not plain
//! `add_key(.., @u)`: a new key grants read access only to its *possessor*, and a later process
//! possesses `@u` only if `@u` is linked into its session keyring, which is often not the case
//! (measured: search finds the key, read fails with EACCES). So a key is created in the
//! process keyring (always ours), given user read/write/search permission, then linked into
//! `@u` (which atomically replaces an older key with the same description) and unlinked from
//! the process keyring. Access then depends on neither the session keyring nor the thread.
//!
//! Raw `keyctl`/`add_key` syscalls via libc keep this free of extra crates and make every
//! step visible; the per-user quota (about 20 KB) is ample for refresh tokens.

use super::{check_key, SecretStore, StoreError, StoreKind};
use secrecy::{ExposeSecret, SecretString};
use std::ffi::CString;
use std::io;
use zeroize::Zeroizing;

const BACKEND: &str = "keyutils";

type KeySerial = i32;
const KEY_SPEC_PROCESS_KEYRING: KeySerial = -2;
const KEY_SPEC_SESSION_KEYRING: KeySerial = -3;
const KEY_SPEC_USER_KEYRING: KeySerial = -4;

const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
const KEYCTL_SETPERM: libc::c_long = 5;
const KEYCTL_LINK: libc::c_long = 8;
const KEYCTL_UNLINK: libc::c_long = 9;
const KEYCTL_SEARCH: libc::c_long = 10;
const KEYCTL_READ: libc::c_long = 11;
const KEYCTL_INVALIDATE: libc::c_long = 21;

// Possessor: everything. Same uid: view, read, write, search, setattr (no link, so other
// keyrings cannot adopt the key). Group and other: nothing.
const KEY_PERM: u32 =
    0x3f00_0000 | 0x0001_0000 | 0x0002_0000 | 0x0004_0000 | 0x0008_0000 | 0x0020_0000;

pub struct KeyutilsStore;

impl KeyutilsStore {
    /// Joins a usable session keyring and checks that the user keyring answers.
    pub fn open() -> Result<Self, StoreError> {
        join_session_keyring()?;
        keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING as _, 1, 0, 0)
            .map_err(|e| unavailable(format!("the user keyring is not accessible: {e}")))?;
        Ok(Self)
    }
}

/// Makes sure the calling thread has a session keyring it may use, linked to `@u`, the way
/// `pam_keyinit` sets up a login. Storage does not depend on it (see the module doc), but a
/// process started outside PAM may carry a session keyring it cannot write, which breaks
/// `keyctl` tools and child processes; keeping an existing usable one preserves the user's
/// other session keys (Kerberos, AFS). Session keyrings are per thread: call it early in `main`.
pub fn join_session_keyring() -> Result<(), StoreError> {
    let link = || {
        keyctl(
            KEYCTL_LINK,
            KEY_SPEC_USER_KEYRING as _,
            KEY_SPEC_SESSION_KEYRING as _,
            0,
            0,
        )
    };
    match link() {
        Ok(_) => return Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            return Err(unavailable(
                "the kernel has no keyring support (keyctl: ENOSYS)".into(),
            ))
        }
        Err(e) => tracing::debug!(error = %e, "session keyring unusable; joining a new one"),
    }
    keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
        .map_err(|e| unavailable(format!("cannot join a session keyring: {e}")))?;
    link().map_err(|e| {
        unavailable(format!(
            "cannot link the user keyring into the session: {e}"
        ))
    })?;
    Ok(())
}

impl SecretStore for KeyutilsStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyutils
    }

    fn notes(&self) -> Vec<String> {
        vec!["kernel keyring: lost at reboot".to_string()]
    }

    fn load(&self, key: &str) -> Result<Option<SecretString>, StoreError> {
        let Some(id) = find(key)? else {
            return Ok(None);
        };
        let data = read_key(id).map_err(|e| backend("read", key, e))?;
        let text = std::str::from_utf8(&data).map_err(|_| StoreError::Backend {
            backend: BACKEND,
            reason: format!("the value of {key} is not UTF-8"),
        })?;
        Ok(Some(SecretString::from(text)))
    }

    fn save(&self, key: &str, value: &SecretString) -> Result<(), StoreError> {
        check_key(key)?;
        let desc = description(key);
        let payload = value.expose_secret().as_bytes();
        if payload.is_empty() {
            return Err(StoreError::Backend {
                backend: BACKEND,
                reason: format!("refusing to store an empty value for {key}"),
            });
        }
        // SAFETY: all pointers are valid NUL-terminated strings or a buffer of the given length.
        let id = unsafe {
            libc::syscall(
                libc::SYS_add_key,
                c"user".as_ptr(),
                desc.as_ptr(),
                payload.as_ptr(),
                payload.len(),
                KEY_SPEC_PROCESS_KEYRING,
            )
        };
        if id < 0 {
            return Err(backend("add", key, io::Error::last_os_error()));
        }
        let result = keyctl(KEYCTL_SETPERM, id, KEY_PERM as _, 0, 0)
            .and_then(|_| keyctl(KEYCTL_LINK, id, KEY_SPEC_USER_KEYRING as _, 0, 0));
        // Leave no second copy behind whatever happened; on failure the key dies with it.
        let _ = keyctl(KEYCTL_UNLINK, id, KEY_SPEC_PROCESS_KEYRING as _, 0, 0);
        if let Err(e) = result {
            let _ = keyctl(KEYCTL_INVALIDATE, id, 0, 0, 0);
            return Err(backend("link", key, e));
        }
        tracing::debug!(key, "saved in the user keyring");
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let Some(id) = find(key)? else { return Ok(()) };
        // Invalidate rather than unlink: a copy linked elsewhere must not survive either.
        if let Err(e) = keyctl(KEYCTL_INVALIDATE, id, 0, 0, 0) {
            keyctl(KEYCTL_UNLINK, id, KEY_SPEC_USER_KEYRING as _, 0, 0)
                .map_err(|_| backend("delete", key, e))?;
        }
        Ok(())
    }
}

/// `tok:<key>`, or `tok:<namespace>:<key>` when `TOK_STORE_NAMESPACE` keeps several tok setups
/// of one uid apart in the shared user keyring (the tests use this).
fn description(key: &str) -> CString {
    let namespace = std::env::var("TOK_STORE_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty() && !n.contains('\0'));
    let desc = match namespace {
        Some(n) => format!("tok:{n}:{key}"),
        None => format!("tok:{key}"),
    };
    // check_key has ruled out NUL bytes in the key.
    CString::new(desc).expect("checked key has no NUL")
}

fn find(key: &str) -> Result<Option<libc::c_long>, StoreError> {
    check_key(key)?;
    let desc = description(key);
    match keyctl(
        KEYCTL_SEARCH,
        KEY_SPEC_USER_KEYRING as _,
        c"user".as_ptr() as _,
        desc.as_ptr() as _,
        0,
    ) {
        Ok(id) => Ok(Some(id)),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOKEY | libc::EKEYEXPIRED | libc::EKEYREVOKED)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(backend("search for", key, e)),
    }
}

fn read_key(id: libc::c_long) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(vec![0u8; 4096]);
    loop {
        let n = keyctl(KEYCTL_READ, id, buf.as_mut_ptr() as _, buf.len() as _, 0)? as usize;
        if n <= buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        // The key grew between calls or is larger than the guess: retry with its size.
        buf = Zeroizing::new(vec![0u8; n]);
    }
}

fn keyctl(
    op: libc::c_long,
    a: libc::c_long,
    b: libc::c_long,
    c: libc::c_long,
    d: libc::c_long,
) -> io::Result<libc::c_long> {
    // SAFETY: keyctl takes integers and, for the ops used here, pointers that the callers
    // keep alive for the duration of the call.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, op, a, b, c, d) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn unavailable(reason: String) -> StoreError {
    StoreError::Unavailable {
        backend: BACKEND,
        reason,
    }
}

fn backend(what: &str, key: &str, e: io::Error) -> StoreError {
    let hint = match e.raw_os_error() {
        Some(libc::EDQUOT) => " (per-user key quota exceeded; see /proc/sys/kernel/keys/maxbytes or delete unused accounts)",
        Some(libc::EACCES) => " (permission denied by the kernel keyring; the key may belong to another session setup — delete it with `keyctl unlink`)",
        _ => "",
    };
    StoreError::Backend {
        backend: BACKEND,
        reason: format!("cannot {what} {key}: {e}{hint}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Option<KeyutilsStore> {
        match KeyutilsStore::open() {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("note: skipping keyutils test, kernel keyring unavailable: {e}");
                None
            }
        }
    }

    #[test]
    fn round_trip() {
        let Some(s) = store() else { return };
        let key = format!("test/roundtrip-{}", std::process::id());
        assert!(s.load(&key).unwrap().is_none());
        s.save(&key, &SecretString::from("rt-one")).unwrap();
        assert_eq!(s.load(&key).unwrap().unwrap().expose_secret(), "rt-one");
        s.save(&key, &SecretString::from("rt-two")).unwrap();
        assert_eq!(s.load(&key).unwrap().unwrap().expose_secret(), "rt-two");
        s.delete(&key).unwrap();
        s.delete(&key).unwrap();
        assert!(s.load(&key).unwrap().is_none());
        assert_eq!(
            s.notes(),
            vec!["kernel keyring: lost at reboot".to_string()]
        );
    }

    #[test]
    fn readable_from_a_thread_with_a_fresh_session_keyring() {
        let Some(s) = store() else { return };
        let key = format!("test/fresh-session-{}", std::process::id());
        s.save(&key, &SecretString::from("visible")).unwrap();
        // A new anonymous session keyring without @u linked is the case that used to fail.
        let got = std::thread::spawn({
            let key = key.clone();
            move || {
                keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0).unwrap();
                KeyutilsStore
                    .load(&key)
                    .unwrap()
                    .map(|v| v.expose_secret().to_string())
            }
        })
        .join()
        .unwrap();
        s.delete(&key).unwrap();
        assert_eq!(got.as_deref(), Some("visible"));
    }
}
