//! When each login ends, and telling the user in time (issue 20). The provider's word
//! (`refresh_expires_in`, a JWT refresh token's `exp`) is learned at the login and at every
//! refresh; tok's own `--lifetime` is the account's; the earliest end wins. The agent, which
//! knows the end, decides when `tok get`/`exec`/`env` warn: at most once a day per account,
//! remembered in a small 0600 file so that an agent restart does not warn again.

use super::state::{Failure, State};
use crate::config::Account;
use crate::protocol::{ErrorKind, LoginEnd, LoginEndSource};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// A provider end that moved less than this is not written to config.toml again (a sliding
/// window moves by the time between refreshes; a second's jitter is not news).
const PERSIST_SLACK_SECS: u64 = 60;
/// One warning per account per this long.
pub const WARN_EVERY_SECS: u64 = 86400;

/// Serialises the read-modify-write of the warnings file (concurrent `tok get`s warn once).
static WARNINGS: Mutex<()> = Mutex::new(());

/// When the account's login ends, as far as anyone said.
pub fn known_end(state: &State, name: &str, account: &Account) -> Option<LoginEnd> {
    account.login_ends(state.account(name).login_end())
}

/// What a login or a refresh learned. The newest word of the provider replaces the older one
/// either way (a sliding idle window moves the end later). It is kept in config.toml when it
/// moved, so that `tok status` knows it after an agent restart; an account known only from a
/// shared store keeps it in this agent's memory (the other nodes learn it at their own
/// refreshes, and until then know the login-time end, which is never later).
pub fn learned(state: &State, name: &str, end: Option<LoginEnd>) {
    let Some(end) = end else { return };
    let before = state.account(name).set_login_end(Some(end));
    let moved = |old: Option<LoginEnd>| {
        old.is_none_or(|o| o.source != end.source || o.at.abs_diff(end.at) >= PERSIST_SLACK_SECS)
    };
    if before.is_some() && !moved(before) {
        return;
    }
    let result = state.update_config_if(|c| match c.accounts.get_mut(name) {
        Some(a) if moved(a.login_end) => {
            a.login_end = Some(end);
            true
        }
        _ => false,
    });
    if let Err(f) = result {
        tracing::warn!(account = %name, "cannot keep the login's end in the configuration: {}", f.message);
    }
}

/// A login failure worded with the known end when it has passed: "the login ended at …"
/// says more than the provider's `invalid_grant`.
pub fn explain(state: &State, name: &str, account: &Account, failure: Failure) -> Failure {
    if failure.kind != ErrorKind::NeedsLogin {
        return failure;
    }
    match known_end(state, name, account) {
        Some(end) if end.at <= crate::time::unix_now() => Failure::new(
            ErrorKind::NeedsLogin,
            format!(
                "the login of `{name}` ended at {} ({}); run `tok login {name}` ({})",
                crate::time::rfc3339(end.at),
                end.source.describe(),
                failure.message
            ),
        ),
        _ => failure,
    }
}

/// The warning `tok get` shows when the login ends within the configured threshold, unless
/// this account was warned about less than a day ago.
pub async fn warning(state: &State, name: &str) -> Option<String> {
    let config = state.config().ok()?;
    let account = config.accounts.get(name)?;
    let end = known_end(state, name, account)?;
    let now = crate::time::unix_now();
    let threshold = config.login_warning_secs();
    if threshold == 0 || end.at > now.saturating_add(threshold) {
        return None;
    }
    let path = crate::dirs::login_warnings_file();
    let who = name.to_string();
    let due = tokio::task::spawn_blocking(move || due(&path, &who, now))
        .await
        .unwrap_or(false);
    if !due {
        return None;
    }
    let when = match end.at.saturating_sub(now) {
        0 => format!("ended at {}", crate::time::rfc3339(end.at)),
        left => format!("ends in {}", crate::time::span(left)),
    };
    let why = end.source.short();
    Some(if end.source == LoginEndSource::Lifetime {
        format!("the login for account `{name}` {when} ({why}); run `tok login {name}` to go on after that")
    } else {
        format!("the login for account `{name}` {when} ({why}); run `tok login {name}` before then")
    })
}

/// Whether a warning for `name` is due, recording it as given when it is.
fn due(path: &Path, name: &str, now: u64) -> bool {
    let _one = WARNINGS.lock().unwrap_or_else(|p| p.into_inner());
    let mut record: BTreeMap<String, u64> = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if record
        .get(name)
        .is_some_and(|last| now.saturating_sub(*last) < WARN_EVERY_SECS)
    {
        return false;
    }
    record.insert(name.to_string(), now);
    let written = path
        .parent()
        .map_or(Ok(()), |d| {
            crate::dirs::ensure_private_dir(d).map_err(std::io::Error::other)
        })
        .and_then(|()| {
            let text = serde_json::to_vec_pretty(&record).expect("record serialises");
            crate::dirs::write_atomic(path, &text)
        });
    if let Err(e) = written {
        // Warning too often beats not warning.
        tracing::warn!("cannot record the login warning in {}: {e}", path.display());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_due_once_a_day_per_account() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("tok/login-warnings.json");
        assert!(due(&path, "atlas", 1_000_000));
        assert!(!due(&path, "atlas", 1_000_000 + 3600));
        assert!(due(&path, "cms", 1_000_000 + 3600));
        assert!(due(&path, "atlas", 1_000_000 + WARN_EVERY_SECS));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
