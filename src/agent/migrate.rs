//! `tok store migrate --to KIND`: copy every login from the agent's store into another one, so
//! the agent can be restarted on it (e.g. moving to OpenBao for many machines, and back)
//! without a new login. Nothing is deleted from the source: going back stays possible.

use super::state::{client_secret_key, refresh_key, Failure, State};
use crate::protocol::{ErrorKind, Response};
use crate::secret::Passphrase;
use crate::store::{self, StoreKind};
use secrecy::SecretString;
use std::sync::Arc;

pub async fn migrate(
    state: &Arc<State>,
    to: StoreKind,
    passphrase: Option<Passphrase>,
) -> Result<Response, Failure> {
    if to == state.store_kind || to == StoreKind::Auto {
        return Err(Failure::new(
            ErrorKind::Usage,
            format!(
                "the agent already uses the {} store; name another one (keyring, keyutils, file, openbao)",
                state.store_kind
            ),
        ));
    }
    let config = state.config()?;
    // Every secret first, from memory where the agent holds a newer one than its store.
    let mut secrets: Vec<(String, SecretString)> = vec![];
    let mut accounts = vec![];
    for (name, account) in &config.accounts {
        let slot = state.account(name);
        let held = slot
            .refresh
            .lock()
            .await
            .held()
            .map(|t| t.expose().to_string());
        let refresh = match held {
            Some(t) => Some(SecretString::from(t)),
            None => state.store_load(refresh_key(name)).await?,
        };
        let Some(refresh) = refresh else { continue };
        secrets.push((refresh_key(name), refresh));
        if account.has_client_secret {
            if let Some(secret) = state.store_load(client_secret_key(name)).await? {
                secrets.push((client_secret_key(name), secret));
            }
        }
        accounts.push(name.clone());
    }
    let path = crate::dirs::store_file();
    let shared_config = config.clone();
    let copied = tokio::task::spawn_blocking(move || -> Result<bool, store::StoreError> {
        if to == StoreKind::File {
            if let Some(dir) = path.parent() {
                crate::dirs::ensure_private_dir(dir).map_err(|e| store::StoreError::Backend {
                    backend: "file",
                    reason: e.to_string(),
                })?;
            }
        }
        let target = store::open(to, &path)?;
        if target.store.is_locked() {
            match &passphrase {
                Some(p) => target.store.unlock(p)?,
                None => return Err(store::StoreError::Locked),
            }
        }
        for (key, value) in &secrets {
            target.store.save(key, value)?;
        }
        Ok(target.store.shared())
    })
    .await
    .map_err(|e| Failure::new(ErrorKind::Internal, format!("migration task failed: {e}")))?
    .map_err(|e| {
        let mut f = Failure::from(e);
        f.message = format!(
            "cannot migrate to the {to} store: {}; nothing was changed",
            f.message
        );
        f
    })?;
    if copied {
        // The target is shared: other nodes learn the accounts from it.
        let path = crate::dirs::store_file();
        let target = tokio::task::spawn_blocking(move || store::open(to, &path))
            .await
            .map_err(|e| Failure::new(ErrorKind::Internal, format!("migration task failed: {e}")))?
            .map_err(Failure::from)?;
        let json = super::nodes::accounts_document(&shared_config);
        tokio::task::spawn_blocking(move || target.store.save_document("accounts", &json))
            .await
            .map_err(|e| Failure::new(ErrorKind::Internal, format!("migration task failed: {e}")))?
            .map_err(Failure::from)?;
    }
    tracing::info!(to = %to, accounts = ?accounts, "logins copied to another store");
    Ok(Response::Migrated {
        accounts,
        to: to.to_string(),
    })
}
