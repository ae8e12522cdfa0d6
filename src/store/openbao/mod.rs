//! OpenBao (or HashiCorp Vault) as a store that every node a user works on shares, so that one
//! `tok login` serves a whole pool of login nodes and access points.
//!
//! Secrets live in a KV version 2 mount (default `secret`) under a per-user prefix (default
//! `tok/<login name>`), one KV entry per store key holding `{"value": …}`. Because several agents
//! use the same entries, the store also offers what they need to co-operate: check-and-set
//! writes against the KV version, leases written with check-and-set (`{holder, expires_at}`)
//! so one agent at a time refreshes an account, and non-secret JSON documents (account
//! definitions) for nodes that never ran `tok login`.
//!
//! Calls are blocking (`reqwest::blocking`; the agent runs store calls on blocking threads),
//! with rustls, a 5 s connect and 10 s request timeout, no redirects, and https only except on
//! loopback. The OpenBao token comes from `BAO_TOKEN`/`VAULT_TOKEN` or `~/.vault-token` (re-read
//! when a new `bao login` replaces it), is renewed with `renew-self` on use once less than half
//! of its TTL is left, and is never logged. Nothing secret reaches an error or a log line: not a
//! stored value, not the token (OpenBao's own lookup answer carries it, so answers are parsed
//! into types that drop it). [`notes`](SecretStore::notes) is answered from memory only: the
//! agent calls it on its async threads, where no I/O may happen.
//!
//! On a cluster whose standbys answer reads from their own, lagging copy, every request carries
//! the newest `X-Vault-Index` OpenBao gave with `X-Vault-Inconsistent: forward-active-node`, so
//! the reads that decide a refresh see the active node's state (`consistency`).
//!
//! The files: `config` (settings and the token source), `token` (lookup and renewal), `kv`
//! (KV v2 reads and check-and-set writes), `lease` (leases), `consistency` (index headers),
//! `errors` (how failures are worded).

use super::{check_key, SecretStore, StoreError, StoreKind};
use crate::net::{self, CappedRead, TransportFailure};
use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use zeroize::Zeroizing;

mod config;
mod consistency;
#[cfg(test)]
mod consistency_tests;
mod errors;
mod kv;
mod lease;
#[cfg(test)]
mod tests;
mod token;

use config::*;
pub use config::{login_name, OpenBaoConfig, TokenSource};
use consistency::IndexTracker;
use errors::*;
use kv::*;
use token::*;

const BACKEND: &str = "openbao";
/// Connect timeout for every OpenBao call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout for every OpenBao call.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The KV version 2 mount used when `TOK_BAO_MOUNT` is unset.
pub const DEFAULT_MOUNT: &str = "secret";
/// Answers larger than this are refused (a KV entry of tok's is well under 16 KiB).
const MAX_ANSWER: usize = 1024 * 1024;
/// How long a failed token lookup is not retried (it costs a round trip on every use).
const LOOKUP_RETRY: Duration = Duration::from_secs(60);
/// How many times a lease is re-read after losing a check-and-set race before giving up.
const LEASE_TRIES: usize = 4;

/// The OpenBao/Vault store. See the module documentation.
pub struct OpenBaoStore {
    /// The server's address with a trailing `/`, for joining API paths.
    base: url::Url,
    /// The address as shown in messages (no trailing `/`).
    addr: String,
    mount: String,
    prefix: String,
    source: TokenSource,
    http: Client,
    session: Mutex<Session>,
    /// Serialises token lookups and renewals (one round trip, not one per thread).
    upkeep: Mutex<()>,
    /// The newest storage index OpenBao answered with, sent back so that a standby serves
    /// only state at least that new (see `consistency`).
    index: IndexTracker,
}

impl OpenBaoStore {
    /// Checks the settings and builds the HTTP client. A token that is missing, expired or
    /// refused, or a server that is sealed or down, does not fail opening: each use says so,
    /// and recovers by itself once the token or the server is back.
    pub fn open(cfg: OpenBaoConfig) -> Result<Self, StoreError> {
        let mut base = net::check_url("the OpenBao address", &cfg.addr)
            .map_err(|e| unavailable(format!("{e} (BAO_ADDR)")))?;
        if !base.username().is_empty() || base.password().is_some() {
            return Err(unavailable(format!(
                "the OpenBao address {} holds a user name or password; give the plain address \
                 and the token in BAO_TOKEN or ~/.vault-token",
                base.host_str().unwrap_or("")
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(unavailable(format!(
                "the OpenBao address `{}` has a query or fragment; give scheme, host and port, e.g. https://openbao.example.org:8200",
                cfg.addr
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let addr = base.as_str().trim_end_matches('/').to_string();
        check_path("the KV mount (TOK_BAO_MOUNT)", &cfg.mount).map_err(unavailable)?;
        check_path("the path prefix (TOK_BAO_PREFIX)", &cfg.prefix).map_err(unavailable)?;
        let roots = match &cfg.ca_file {
            Some(path) => read_ca(path)?,
            None => vec![],
        };
        let timeouts = net::Timeouts {
            connect: CONNECT_TIMEOUT,
            request: REQUEST_TIMEOUT,
            pool_idle: Duration::from_secs(60),
        };
        let http = net::blocking_client(timeouts, roots)
            .map_err(|e| unavailable(format!("{e} for OpenBao")))?;
        let store = Self {
            base,
            addr,
            mount: cfg.mount,
            prefix: cfg.prefix,
            source: cfg.token,
            http,
            session: Mutex::new(Session {
                token: None,
                token_mtime: None,
                ttl: Ttl::Unknown,
                last_error: None,
                renewals: 0,
            }),
            upkeep: Mutex::new(()),
            index: IndexTracker::default(),
        };
        // Learn the token's TTL now, so that `tok status` can show it; failures are only noted.
        if let Ok(token) = store.token() {
            store.keep_alive(&token);
            store.check_unindexed_cluster(&token);
        }
        Ok(store)
    }

    /// The server address, as shown in messages.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `<mount>/<prefix>`, where this user's entries live.
    pub fn location(&self) -> String {
        format!("{}/{}", self.mount, self.prefix)
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        // Nothing is left half-done under this lock, so poison is moot.
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unavailable_err(&self, reason: String) -> StoreError {
        unavailable(reason)
    }

    fn backend(&self, reason: String) -> StoreError {
        StoreError::Backend {
            backend: BACKEND,
            reason,
        }
    }
}

impl SecretStore for OpenBaoStore {
    fn kind(&self) -> StoreKind {
        StoreKind::OpenBao
    }

    fn notes(&self) -> Vec<String> {
        let s = self.session();
        let mut notes = vec![format!(
            "openbao: {} (KV v2 `{}`, path {}), shared by every node using it",
            self.addr, self.mount, self.prefix
        )];
        let source = self.source.describe();
        let now = Instant::now();
        notes.push(match &s.ttl {
            Ttl::Unknown => format!("token (from {source}): not looked up yet"),
            Ttl::LookupFailed { why, .. } => {
                format!("token (from {source}): cannot tell its TTL ({why})")
            }
            Ttl::NoExpiry => format!("token (from {source}): no expiry"),
            Ttl::Expires {
                at,
                full,
                renewable,
                capped,
            } => {
                let left = at.saturating_duration_since(now);
                if left.is_zero() {
                    format!("token (from {source}): expired: run `bao login` or set BAO_TOKEN")
                } else {
                    let renew = if !renewable {
                        "not renewable".to_string()
                    } else if *capped {
                        "at its maximum TTL, no longer renewed".to_string()
                    } else {
                        format!(
                            "renewed on use when less than {} is left",
                            fmt_secs(*full / 2)
                        )
                    };
                    format!(
                        "token (from {source}): {} left, {renew}{}",
                        fmt_secs(left),
                        if s.renewals > 0 {
                            format!(" ({} renewals so far)", s.renewals)
                        } else {
                            String::new()
                        }
                    )
                }
            }
        });
        notes.extend(self.index.note());
        if let Some(e) = &s.last_error {
            notes.push(format!("last error: {e}"));
        }
        notes
    }

    fn load(&self, key: &str) -> Result<Option<SecretString>, StoreError> {
        Ok(self.load_versioned(key)?.map(|(v, _)| v))
    }

    fn save(&self, key: &str, value: &SecretString) -> Result<(), StoreError> {
        check_store_key(key)?;
        let data = SecretOut {
            value: value.expose_secret(),
        };
        let r = self.write_plain(key, key, &data, &[value.expose_secret()]);
        self.record(r)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_store_key(key)?;
        // Every version goes: a logout must not leave old refresh tokens to undelete.
        let r = self
            .kv(Method::DELETE, Area::Metadata, key, None, "delete", key)
            .and_then(|(status, body)| match status {
                StatusCode::OK | StatusCode::NO_CONTENT | StatusCode::NOT_FOUND => Ok(()),
                _ => Err(self.failure(status, &body, "delete", key, &[])),
            });
        self.record(r)
    }

    fn shared(&self) -> bool {
        true
    }

    fn load_versioned(&self, key: &str) -> Result<Option<(SecretString, u64)>, StoreError> {
        check_store_key(key)?;
        let r = self
            .read::<SecretValue>(key, key)
            .map(|e| e.data.map(|d| (d.value, e.version)));
        self.record(r)
    }

    fn save_cas(
        &self,
        key: &str,
        value: &SecretString,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        check_store_key(key)?;
        let data = SecretOut {
            value: value.expose_secret(),
        };
        let r = self.write_cas(key, key, &data, expected_version, &[value.expose_secret()]);
        if let Ok(false) = r {
            tracing::info!(
                key,
                expected_version,
                "check-and-set lost: another agent wrote first"
            );
        }
        self.record(r)
    }

    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.take_lease(name, holder, ttl)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.free_lease(name, holder)
    }

    fn save_document(&self, key: &str, json: &str) -> Result<(), StoreError> {
        check_store_key(key)?;
        if serde_json::from_str::<serde::de::IgnoredAny>(json).is_err() {
            return Err(self.backend(format!("the document for {key} is not JSON")));
        }
        let doc = Document {
            json: json.to_string(),
        };
        let r = self.write_plain(key, key, &doc, &[]);
        self.record(r)
    }

    fn load_document(&self, key: &str) -> Result<Option<String>, StoreError> {
        check_store_key(key)?;
        let r = self
            .read::<Document>(key, key)
            .map(|e| e.data.map(|d| d.json));
        self.record(r)
    }
}

/// The gist of an error for a `tok status` line.
fn short_reason(e: &StoreError) -> String {
    let text = match e {
        StoreError::Unavailable { reason, .. } | StoreError::Backend { reason, .. } => {
            reason.clone()
        }
        other => other.to_string(),
    };
    if text.contains("refused tok's token") {
        "refused: expired, revoked, or not allowed to look itself up".to_string()
    } else if text.contains("is sealed") {
        "OpenBao is sealed".to_string()
    } else {
        text.chars().take(160).collect()
    }
}

fn unavailable(reason: String) -> StoreError {
    StoreError::Unavailable {
        backend: BACKEND,
        reason,
    }
}
