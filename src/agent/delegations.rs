//! The agent's record of every job credential it delegated: when, from which account, for what,
//! until when, and a short fingerprint of the token as issued (never the token). It survives
//! agent restarts so that `tok status` keeps showing live credentials, and forgets entries once
//! they are past `not_after`.

use crate::protocol::DelegationStatus;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    #[serde(default)]
    pub delegations: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub account: String,
    #[serde(flatten)]
    pub status: DelegationStatus,
}

/// `sha256:` and 12 hex digits: enough to tell credentials apart, useless to an attacker.
pub fn fingerprint(token: &str) -> String {
    let digest = sha2::Sha256::digest(token.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..12])
}

/// A random id for a new delegation.
pub fn new_id() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

/// The record, or an empty one when there is none or it cannot be read (it is a log for
/// people, not something tokens depend on).
pub fn load(path: &Path) -> Record {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(
                "ignoring the unreadable delegation record {}: {e}",
                path.display()
            );
            Record::default()
        }),
        Err(_) => Record::default(),
    }
}

/// Applies `change` to the record, drops entries past `not_after`, and writes it atomically.
pub fn update(path: &Path, now: u64, change: impl FnOnce(&mut Record)) -> std::io::Result<()> {
    let mut record = load(path);
    change(&mut record);
    record.delegations.retain(|e| e.status.not_after > now);
    if let Some(dir) = path.parent() {
        crate::dirs::ensure_private_dir(dir).map_err(std::io::Error::other)?;
    }
    let text = serde_json::to_vec_pretty(&record).expect("record serialises");
    crate::dirs::write_atomic(path, &text)
}

/// Live delegations of one account, oldest first.
pub fn live(record: &Record, account: &str, now: u64) -> Vec<DelegationStatus> {
    let mut out: Vec<DelegationStatus> = record
        .delegations
        .iter()
        .filter(|e| e.account == account && e.status.not_after > now)
        .map(|e| e.status.clone())
        .collect();
    out.sort_by_key(|d| d.created_at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, not_after: u64) -> Entry {
        Entry {
            account: "cms".into(),
            status: DelegationStatus {
                id: id.into(),
                created_at: 1,
                not_after,
                scopes: vec![],
                audiences: vec![],
                fingerprint: fingerprint(id),
            },
        }
    }

    #[test]
    fn record_keeps_live_entries_and_drops_expired_ones() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("tok/delegations.json");
        update(&p, 10, |r| r.delegations.push(entry("a", 100))).unwrap();
        update(&p, 10, |r| r.delegations.push(entry("b", 20))).unwrap();
        update(&p, 50, |_| {}).unwrap();
        let r = load(&p);
        assert_eq!(r.delegations, vec![entry("a", 100)]);
        assert_eq!(live(&r, "cms", 50).len(), 1);
        assert!(live(&r, "other", 50).is_empty());
    }

    #[test]
    fn fingerprint_is_short_and_does_not_contain_the_token() {
        let f = fingerprint("SECRET-REFRESH");
        assert_eq!(f.len(), "sha256:".len() + 12);
        assert!(!f.contains("SECRET"));
    }
}
