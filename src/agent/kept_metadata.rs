//! Provider metadata kept in the runtime directory across agent restarts, so the first token
//! after an autostart costs one connection to the provider (the token request) instead of
//! discovery first: a TLS handshake and two requests less on the path a user waits on.
//!
//! It is not a secret (every field is in the provider's public discovery document), but what
//! it says decides where refresh tokens are sent, so it is read only from a private file of
//! ours, only while younger than the agent's metadata lifetime, and held to the same rules as
//! a fresh document (it must name its issuer; every endpoint passes the https rule). A moved
//! endpoint is found as before: the token request fails as "endpoint gone" and the agent
//! discovers again.

use crate::oauth::{self, Metadata};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

/// A kept file larger than this is not read (a few issuers' metadata is a few KB).
const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    /// When the document was fetched (Unix seconds).
    fetched_at: u64,
    metadata: Metadata,
}

/// The file's name; it is kept beside the agent's socket, in the private runtime directory,
/// so it lives as long as the user's login session.
pub const FILE_NAME: &str = "provider-metadata.json";

/// The kept metadata younger than `ttl`, with the time each was fetched as an `Instant` in the
/// past. Anything unreadable, not private, too old or failing the rules is skipped silently:
/// the agent then discovers as it always did.
pub fn load(path: &Path, ttl: Duration) -> HashMap<String, (Metadata, Instant)> {
    let mut kept = HashMap::new();
    let Some(entries) = read(path) else {
        return kept;
    };
    let now = crate::time::unix_now();
    for (issuer, entry) in entries {
        let Some(age) = now.checked_sub(entry.fetched_at).map(Duration::from_secs) else {
            continue; // fetched "in the future": the clock moved; discover again.
        };
        if age >= ttl {
            continue;
        }
        let (Ok(md), Some(at)) = (
            oauth::recheck(&issuer, &entry.metadata),
            Instant::now().checked_sub(age),
        ) else {
            continue;
        };
        kept.insert(issuer, (md, at));
    }
    kept
}

fn read(path: &Path) -> Option<BTreeMap<String, Kept>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if crate::dirs::check_private(&meta, crate::dirs::PrivateKind::File).is_err()
        || meta.len() > MAX_FILE_BYTES
    {
        tracing::debug!(path = %path.display(), "kept provider metadata ignored: not a private file of ours, or too large");
        return None;
    }
    let mut text = Vec::new();
    file.take(MAX_FILE_BYTES).read_to_end(&mut text).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Writes what the agent knows (atomically, 0600). Failing to keep it costs only speed.
pub fn save(path: &Path, known: &HashMap<String, (Metadata, Instant)>) {
    let now = crate::time::unix_now();
    let entries: BTreeMap<&str, Kept> = known
        .iter()
        .map(|(issuer, (md, at))| {
            let kept = Kept {
                fetched_at: now.saturating_sub(at.elapsed().as_secs()),
                metadata: md.clone(),
            };
            (issuer.as_str(), kept)
        })
        .collect();
    let written = serde_json::to_vec(&entries)
        .map_err(std::io::Error::other)
        .and_then(|bytes| crate::dirs::write_atomic(path, &bytes));
    if let Err(e) = written {
        tracing::debug!(path = %path.display(), "cannot keep provider metadata: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn md(issuer: &str) -> Metadata {
        serde_json::from_value(serde_json::json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}/token"),
        }))
        .unwrap()
    }

    #[test]
    fn kept_metadata_comes_back_with_its_age_and_old_or_bad_entries_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.json");
        let mut known = HashMap::new();
        let an_hour_ago = Instant::now() - Duration::from_secs(3000);
        known.insert(
            "https://a.example".to_string(),
            (md("https://a.example"), Instant::now()),
        );
        known.insert(
            "https://b.example".to_string(),
            (md("https://b.example"), an_hour_ago),
        );
        // Names another issuer than the one it is kept under: never used.
        known.insert(
            "https://c.example".to_string(),
            (md("https://evil.example"), Instant::now()),
        );
        save(&file, &known);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let back = load(&file, Duration::from_secs(3600));
        assert!(back.contains_key("https://a.example"));
        assert!(back["https://b.example"].1.elapsed() >= Duration::from_secs(2999));
        assert!(!back.contains_key("https://c.example"));
        let shorter = load(&file, Duration::from_secs(60));
        assert!(!shorter.contains_key("https://b.example"));

        // Open to others: not trusted at all.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load(&file, Duration::from_secs(3600)).is_empty());
    }

    #[test]
    fn an_http_endpoint_off_loopback_in_a_kept_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.json");
        let mut bad = md("https://a.example");
        bad.token_endpoint = "http://a.example/token".into();
        let mut known = HashMap::new();
        known.insert("https://a.example".to_string(), (bad, Instant::now()));
        save(&file, &known);
        assert!(load(&file, Duration::from_secs(3600)).is_empty());
    }
}
