//! Reads that see the active node's state on a cluster whose standbys answer reads from their
//! own copy (OpenBao's default since 2.5, "standby reads"; Vault Enterprise's performance
//! standbys alike). That copy lags the active node: a read sent to a standby right after a
//! write that the standby forwarded comes back without the write, so an agent could read back
//! a refresh token it has just used, or the version it has just replaced.
//!
//! OpenBao 2.7 (and Vault Enterprise, untested) answer with `X-Vault-Index`, the storage index the
//! answer reflects. A request that carries an index with `X-Vault-Inconsistent:
//! forward-active-node` is served by a standby only once it has applied that index, and
//! otherwise forwarded to the active node, which always has it. The store remembers the newest
//! index it has been given and sends it with every request. That gives read-your-writes, and
//! across agents the lease carries it further: an agent takes a lease by a check-and-set write,
//! which only the active node performs, so the index of that answer covers every rotation any
//! agent stored under an earlier lease, and the refresh token read next is the active node's.
//! A read before any index is known (the first lease read) may be stale, which is harmless:
//! the check-and-set write that follows it is decided by the active node.
//!
//! A server that sends no index (a single node, a dev server, OpenBao before 2.7) gets neither
//! header: `X-Vault-Inconsistent` alone would opt out of a listener's
//! `consistency_missing_header_forward`. When such a server is part of an HA cluster
//! (`sys/leader` says so), tok cannot ask for fresh reads: it says so in its log and in
//! `tok status`, since OpenBao 2.5 and 2.6 standbys serve stale reads unless the cluster runs
//! with `disable_standby_reads = true`.

use super::*;
use reqwest::header::{HeaderMap, HeaderValue};
use std::sync::atomic::{AtomicBool, Ordering};

/// The storage index an answer reflects (request and response header).
pub(super) const INDEX_HEADER: &str = "X-Vault-Index";
/// What a standby does with a request whose index it has not applied yet.
pub(super) const INCONSISTENT_HEADER: &str = "X-Vault-Inconsistent";
/// ... forward it to the active node (rather than answer 429 or wait).
pub(super) const FORWARD_ACTIVE_NODE: &str = "forward-active-node";
/// An index longer than this is not kept (OpenBao's are about 90 bytes): a hostile or broken
/// server must not make tok send it back huge headers.
const MAX_INDEX: usize = 512;

/// The newest storage index this store has been given.
#[derive(Default)]
pub(super) struct IndexTracker {
    newest: Mutex<Option<Seen>>,
    /// The server is a node of an HA cluster and gave no index when the store opened.
    unindexed_cluster: AtomicBool,
}

struct Seen {
    raw: HeaderValue,
    /// The cluster and its numeric index, when the value is OpenBao's base64 JSON
    /// `{"cluster":…,"value":"…"}`; `None` when opaque (then the latest one counts).
    parsed: Option<(String, u64)>,
}

impl IndexTracker {
    /// Remembers the index of an answer when it is newer than the one known.
    pub(super) fn observe(&self, headers: &HeaderMap) {
        let Some(raw) = headers.get(INDEX_HEADER) else {
            return;
        };
        if raw.is_empty() || raw.len() > MAX_INDEX {
            return;
        }
        let seen = Seen {
            parsed: raw.to_str().ok().and_then(parse_index),
            raw: raw.clone(),
        };
        let mut newest = self.newest.lock().unwrap_or_else(|p| p.into_inner());
        if newest.as_ref().is_none_or(|old| is_newer(old, &seen)) {
            *newest = Some(seen);
        }
    }

    /// The index to send with the next request, if any answer carried one.
    pub(super) fn current(&self) -> Option<HeaderValue> {
        let newest = self.newest.lock().unwrap_or_else(|p| p.into_inner());
        newest.as_ref().map(|s| s.raw.clone())
    }

    /// The `tok status` line about read consistency, if there is something to say.
    pub(super) fn note(&self) -> Option<String> {
        if self.current().is_some() {
            Some(
                "reads: each request carries OpenBao's newest X-Vault-Index, so a standby \
                 that lags forwards it to the active node"
                    .to_string(),
            )
        } else if self.unindexed_cluster.load(Ordering::Relaxed) {
            Some(UNINDEXED_CLUSTER.to_string())
        } else {
            None
        }
    }
}

/// What tok says about a cluster that gives no `X-Vault-Index`.
const UNINDEXED_CLUSTER: &str = "reads: this OpenBao cluster gives no X-Vault-Index \
     (OpenBao before 2.7?), so tok cannot ask a standby for the active node's state: its nodes \
     must run with `disable_standby_reads = true`, or BAO_ADDR must reach the active node only \
     (see the README, OpenBao store)";

#[derive(Deserialize)]
struct LeaderAnswer {
    #[serde(default)]
    ha_enabled: bool,
}

impl OpenBaoStore {
    /// Called when the store opens, after the token lookup: a server that answered without an
    /// index is asked whether it is part of an HA cluster (`sys/leader`, one round trip), and
    /// if it is, tok warns once. Failures are not errors: the store works as before.
    pub(super) fn check_unindexed_cluster(&self, token: &SecretString) {
        if self.index.current().is_some() {
            return;
        }
        let what = "tell whether it is a cluster";
        let Ok((StatusCode::OK, body)) =
            self.send(token, Method::GET, "sys/leader", None, what, "")
        else {
            return;
        };
        if self.index.current().is_none()
            && parse::<LeaderAnswer>(&body).is_ok_and(|a| a.ha_enabled)
        {
            self.index.unindexed_cluster.store(true, Ordering::Relaxed);
            tracing::warn!(addr = %self.addr, "{UNINDEXED_CLUSTER}");
        }
    }
}

/// Answers arrive out of order on several threads: an older index never replaces a newer one
/// of the same cluster. Another cluster's index (a restored or replaced cluster behind the same
/// address) or an opaque one replaces it.
fn is_newer(old: &Seen, new: &Seen) -> bool {
    match (&old.parsed, &new.parsed) {
        (Some((c1, v1)), Some((c2, v2))) if c1 == c2 => v2 > v1,
        _ => true,
    }
}

/// OpenBao's index: standard base64 of `{"cluster": ID, "value": "N"}`.
fn parse_index(raw: &str) -> Option<(String, u64)> {
    use base64::Engine;
    #[derive(serde::Deserialize)]
    struct Index {
        cluster: String,
        value: String,
    }
    let json = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
    let index: Index = serde_json::from_slice(&json).ok()?;
    Some((index.cluster, index.value.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn index(cluster: &str, value: u64) -> HeaderMap {
        let json = format!(r#"{{"cluster":"{cluster}","value":"{value}"}}"#);
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        let mut h = HeaderMap::new();
        h.insert(INDEX_HEADER, HeaderValue::from_str(&b64).unwrap());
        h
    }

    fn value_of(t: &IndexTracker) -> Option<(String, u64)> {
        t.current().and_then(|v| parse_index(v.to_str().unwrap()))
    }

    #[test]
    fn the_newest_index_of_a_cluster_is_kept() {
        let t = IndexTracker::default();
        assert!(
            t.current().is_none(),
            "nothing is sent before an answer had an index"
        );
        t.observe(&HeaderMap::new());
        assert!(t.current().is_none());
        t.observe(&index("c1", 40));
        t.observe(&index("c1", 39));
        assert_eq!(
            value_of(&t),
            Some(("c1".into(), 40)),
            "an older answer arrived late"
        );
        t.observe(&index("c1", 41));
        assert_eq!(value_of(&t), Some(("c1".into(), 41)));
        // Another cluster behind the same address: its index replaces the old one.
        t.observe(&index("c2", 7));
        assert_eq!(value_of(&t), Some(("c2".into(), 7)));
    }

    #[test]
    fn opaque_indices_count_by_arrival_and_huge_ones_are_ignored() {
        let t = IndexTracker::default();
        let mut h = HeaderMap::new();
        h.insert(
            INDEX_HEADER,
            HeaderValue::from_static("opaque-vault-enterprise-state"),
        );
        t.observe(&h);
        assert_eq!(t.current().unwrap(), "opaque-vault-enterprise-state");
        t.observe(&index("c1", 3));
        assert_eq!(value_of(&t), Some(("c1".into(), 3)));
        let mut huge = HeaderMap::new();
        huge.insert(
            INDEX_HEADER,
            HeaderValue::from_str(&"A".repeat(4096)).unwrap(),
        );
        t.observe(&huge);
        assert_eq!(value_of(&t), Some(("c1".into(), 3)));
    }
}
