//! The access-token cache: one entry per (account, scope set, audience set), handed out while
//! it has at least the caller's minimum lifetime left.

use crate::secret::AccessToken;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub account: String,
    /// Sorted and de-duplicated (see [`crate::scope`]).
    pub scopes: Vec<String>,
    /// Sorted and de-duplicated.
    pub audiences: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CachedToken {
    pub token: AccessToken,
    /// Unix seconds.
    pub expires_at: u64,
    /// What the provider says it granted (may differ from what was asked).
    pub granted_scopes: Vec<String>,
}

impl CachedToken {
    /// Whether the token still has `min_valid` seconds to live at `now`.
    pub fn usable(&self, now: u64, min_valid: u64) -> bool {
        self.expires_at.saturating_sub(now) >= min_valid && self.expires_at > now
    }
}

/// Entries beyond this many trigger a sweep of expired ones on insert.
const SWEEP_THRESHOLD: usize = 1024;

#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<CacheKey, CachedToken>>,
}

impl TokenCache {
    pub fn get(&self, key: &CacheKey, now: u64, min_valid: u64) -> Option<CachedToken> {
        let entries = self.entries.lock().expect("cache lock");
        entries
            .get(key)
            .filter(|t| t.usable(now, min_valid))
            .cloned()
    }

    pub fn insert(&self, key: CacheKey, token: CachedToken, now: u64) {
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= SWEEP_THRESHOLD {
            entries.retain(|_, t| t.expires_at > now);
        }
        entries.insert(key, token);
    }

    pub fn remove_account(&self, account: &str) {
        self.entries
            .lock()
            .expect("cache lock")
            .retain(|k, _| k.account != account);
    }

    pub fn clear(&self) {
        self.entries.lock().expect("cache lock").clear();
    }

    /// Unexpired entries of one account, for `tok status` (no token values leave here).
    pub fn describe(&self, account: &str, now: u64) -> Vec<(CacheKey, u64)> {
        let entries = self.entries.lock().expect("cache lock");
        let mut out: Vec<(CacheKey, u64)> = entries
            .iter()
            .filter(|(k, t)| k.account == account && t.expires_at > now)
            .map(|(k, t)| (k.clone(), t.expires_at))
            .collect();
        out.sort_by(|a, b| (&a.0.scopes, &a.0.audiences).cmp(&(&b.0.scopes, &b.0.audiences)));
        out
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("cache lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(scopes: &[&str]) -> CacheKey {
        CacheKey {
            account: "a".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            audiences: vec![],
        }
    }

    fn token(expires_at: u64) -> CachedToken {
        CachedToken {
            token: AccessToken::new("t"),
            expires_at,
            granted_scopes: vec![],
        }
    }

    #[test]
    fn usable_needs_min_valid_left() {
        let t = token(1000);
        assert!(t.usable(900, 60));
        assert!(t.usable(940, 60));
        assert!(!t.usable(941, 60));
        assert!(!t.usable(1000, 0));
        assert!(!t.usable(2000, 0));
    }

    #[test]
    fn hit_miss_and_expiry() {
        let c = TokenCache::default();
        c.insert(key(&["x"]), token(1000), 0);
        assert!(c.get(&key(&["x"]), 100, 60).is_some());
        assert!(c.get(&key(&["y"]), 100, 60).is_none());
        assert!(c.get(&key(&["x"]), 990, 60).is_none());
    }

    #[test]
    fn sweep_drops_expired_entries() {
        let c = TokenCache::default();
        for i in 0..SWEEP_THRESHOLD {
            c.insert(key(&[&i.to_string()]), token(10), 0);
        }
        c.insert(key(&["new"]), token(1000), 500);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn remove_account_only_drops_that_account() {
        let c = TokenCache::default();
        c.insert(key(&["x"]), token(1000), 0);
        let mut other = key(&["x"]);
        other.account = "b".into();
        c.insert(other.clone(), token(1000), 0);
        c.remove_account("a");
        assert!(c.get(&other, 0, 0).is_some());
        assert_eq!(c.len(), 1);
    }
}
