//! The desktop keyring (Secret Service over D-Bus, e.g. gnome-keyring or KWallet) as a store.
//!
//! Uses `keyring-core` with the pure-Rust zbus store (no libdbus). Items have service `tok`
//! and user = the store key. A stale `DBUS_SESSION_BUS_ADDRESS` (a socket that accepts but
//! never answers) makes connecting hang indefinitely, and a locked collection may wait for a
//! password prompt nobody sees, so every call runs on its own thread with a deadline; a
//! thread that misses it is abandoned (it holds no lock the agent needs).

use super::{check_key, SecretStore, StoreError, StoreKind};
use keyring_core::api::CredentialStoreApi;
use keyring_core::{Entry, Error as KError};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use zbus_secret_service_keyring_store::Store;

const BACKEND: &str = "keyring";
const SERVICE: &str = "tok";
const DEFAULT_PROBE_MS: u64 = 2000;
/// Operations may legitimately be slower than the probe (first unlock, busy daemon).
const MIN_OP_MS: u64 = 10_000;

pub struct KeyringStore {
    store: Arc<Store>,
    op_timeout: Duration,
}

impl KeyringStore {
    /// Connects and does a harmless lookup, within `TOK_KEYRING_TIMEOUT_MS` (default 2 s).
    pub fn open() -> Result<Self, StoreError> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty()) {
            return Err(unavailable("no DBUS_SESSION_BUS_ADDRESS".to_string()));
        }
        let probe = probe_timeout();
        let store = run_with_deadline(probe, || {
            let store = Store::new()?;
            match store.build(SERVICE, "probe/none", None)?.get_password() {
                Ok(_) | Err(KError::NoEntry) => Ok(store),
                Err(e) => Err(e),
            }
        })
        .ok_or_else(|| {
            unavailable(format!(
                "Secret Service did not answer within {} ms (stale DBUS_SESSION_BUS_ADDRESS?)",
                probe.as_millis()
            ))
        })?
        .map_err(|e| unavailable(describe(&e)))?;
        Ok(Self {
            store,
            op_timeout: probe.max(Duration::from_millis(MIN_OP_MS)),
        })
    }

    fn call<T: Send + 'static>(
        &self,
        what: &str,
        key: &str,
        f: impl FnOnce(Entry) -> Result<T, KError> + Send + 'static,
    ) -> Result<Result<T, KError>, StoreError> {
        check_key(key)?;
        let store = self.store.clone();
        let user = key.to_string();
        run_with_deadline(self.op_timeout, move || {
            f(store.build(SERVICE, &user, None)?)
        })
        .ok_or_else(|| StoreError::Backend {
            backend: BACKEND,
            reason: format!(
                "no answer within {} s to {what} {key} (is the keyring locked and waiting \
                     for a password prompt? unlock it, or use another --store)",
                self.op_timeout.as_secs()
            ),
        })
    }
}

impl SecretStore for KeyringStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn notes(&self) -> Vec<String> {
        vec!["keyring: Secret Service (persists; readable by your desktop session)".to_string()]
    }

    fn load(&self, key: &str) -> Result<Option<SecretString>, StoreError> {
        match self.call("read", key, |e| e.get_password().map(SecretString::from))? {
            Ok(v) => Ok(Some(v)),
            Err(KError::NoEntry) => Ok(None),
            Err(e) => Err(failed("read", key, &e)),
        }
    }

    fn save(&self, key: &str, value: &SecretString) -> Result<(), StoreError> {
        let value = value.clone();
        self.call("save", key, move |e| e.set_password(value.expose_secret()))?
            .map_err(|e| failed("save", key, &e))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.call("delete", key, |e| e.delete_credential())? {
            Ok(()) | Err(KError::NoEntry) => Ok(()),
            Err(e) => Err(failed("delete", key, &e)),
        }
    }
}

fn probe_timeout() -> Duration {
    let ms = std::env::var("TOK_KEYRING_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_PROBE_MS);
    Duration::from_millis(ms)
}

/// `None` when `f` did not finish in time; the thread is then left to finish on its own.
fn run_with_deadline<T: Send + 'static>(
    deadline: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("tok-keyring".to_string())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if spawned.is_err() {
        return None;
    }
    rx.recv_timeout(deadline).ok()
}

/// Only variants known to carry no secret bytes are shown verbatim: `BadEncoding` and
/// `BadDataFormat` hold the stored value itself.
fn describe(e: &KError) -> String {
    match e {
        KError::NoStorageAccess(inner) => format!(
            "access refused ({inner}); the keyring is probably locked: unlock it (log in to the \
             desktop session, or `gnome-keyring-daemon --unlock`)"
        ),
        KError::PlatformFailure(inner) => format!("Secret Service error: {inner}"),
        KError::BadEncoding(_) | KError::BadDataFormat(..) => {
            "the stored value is not valid UTF-8".to_string()
        }
        KError::Ambiguous(v) => format!(
            "{} keyring items match; remove the duplicates with seahorse or secret-tool",
            v.len()
        ),
        KError::NoEntry => "no such item".to_string(),
        KError::TooLong(what, max) => format!("{what} is longer than {max}"),
        KError::Invalid(what, why) => format!("invalid {what}: {why}"),
        KError::NotSupportedByStore(why) => format!("not supported: {why}"),
        _ => "unexpected keyring error".to_string(),
    }
}

fn failed(what: &str, key: &str, e: &KError) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        reason: format!("cannot {what} {key}: {}", describe(e)),
    }
}

fn unavailable(reason: String) -> StoreError {
    StoreError::Unavailable {
        backend: BACKEND,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> bool {
        let on = std::env::var("TOK_TEST_SECRET_SERVICE").as_deref() == Ok("1");
        if !on {
            eprintln!("note: set TOK_TEST_SECRET_SERVICE=1 (with a running, unlocked Secret Service) to run this");
        }
        on
    }

    #[test]
    fn round_trip_against_a_real_secret_service() {
        if !enabled() {
            return;
        }
        let s = KeyringStore::open().expect("Secret Service should answer");
        let key = format!("test/keyring-{}", std::process::id());
        assert!(s.load(&key).unwrap().is_none());
        s.save(&key, &SecretString::from("rt-one")).unwrap();
        assert_eq!(s.load(&key).unwrap().unwrap().expose_secret(), "rt-one");
        s.save(&key, &SecretString::from("rt-two")).unwrap();
        assert_eq!(s.load(&key).unwrap().unwrap().expose_secret(), "rt-two");
        s.delete(&key).unwrap();
        s.delete(&key).unwrap();
        assert!(s.load(&key).unwrap().is_none());
    }

    #[test]
    fn auto_picks_the_secret_service() {
        if !enabled() {
            return;
        }
        let o = super::super::open(StoreKind::Auto, std::path::Path::new("/nonexistent")).unwrap();
        assert_eq!(o.kind, StoreKind::Keyring, "{}", o.reason);
    }

    #[test]
    fn deadline_gives_up() {
        let r = run_with_deadline(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(5));
        });
        assert!(r.is_none());
    }
}
