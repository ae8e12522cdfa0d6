//! The audit trail: one JSON line per token the agent serves, refreshes, exchanges or delegates
//! (and per refusal of a confirmation), saying when, which account, scopes and audiences, the
//! token's `jti` and `exp` when it is a JWT, and who asked (pid, uid, executable, parent
//! command) — never a token. It answers "which process got which token" after the fact, e.g.
//! when a job sandbox leaked one. `tok audit` reads it.

use super::peer::PeerInfo;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The log is rotated (to `audit.log.1`, replacing the previous one) beyond this size.
pub const MAX_AUDIT_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339, UTC.
    pub time: String,
    pub unix: u64,
    /// `cached`, `refreshed`, `exchanged`, `delegated` or `refused`.
    pub event: String,
    pub account: String,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Why a request was refused, or what was delegated (an id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Event {
    pub fn new(
        event: &str,
        account: &str,
        scopes: &[String],
        audiences: &[String],
        peer: &PeerInfo,
    ) -> Self {
        let unix = crate::time::unix_now();
        Event {
            time: crate::time::rfc3339(unix),
            unix,
            event: event.to_string(),
            account: account.to_string(),
            scopes: scopes.to_vec(),
            audiences: audiences.to_vec(),
            pid: peer.pid,
            uid: peer.uid,
            exe: peer.exe.clone(),
            parent: peer.parent.clone(),
            ..Default::default()
        }
    }
}

pub struct AuditLog {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl AuditLog {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: Mutex::new(None),
        }
    }

    /// Appends one event. A failure to write is logged, never turned into a refusal: the
    /// audit trail records service, it does not gate it.
    pub fn record(&self, event: &Event) {
        let mut line = serde_json::to_string(event).expect("an event serialises");
        line.push('\n');
        let mut file = self.file.lock().expect("audit lock");
        if let Err(e) = self.append(&mut file, line.as_bytes()) {
            tracing::warn!("cannot write the audit log {}: {e}", self.path.display());
            *file = None;
        }
    }

    fn append(&self, file: &mut Option<std::fs::File>, line: &[u8]) -> std::io::Result<()> {
        let too_big = std::fs::metadata(&self.path).is_ok_and(|m| m.len() > MAX_AUDIT_BYTES);
        if too_big {
            *file = None;
            std::fs::rename(&self.path, rotated(&self.path))?;
        }
        if file.is_none() {
            *file = Some(open_private(&self.path)?);
        }
        file.as_mut().expect("opened").write_all(line)
    }
}

pub fn rotated(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".1");
    path.with_file_name(name)
}

fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        crate::dirs::ensure_private_dir(dir).map_err(std::io::Error::other)?;
    }
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn events_are_json_lines_in_a_private_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("tok/audit.log");
        let log = AuditLog::new(p.clone());
        let peer = PeerInfo {
            pid: Some(7),
            ..Default::default()
        };
        log.record(&Event::new("cached", "cms", &["a".into()], &[], &peer));
        log.record(&Event::new("refreshed", "cms", &[], &[], &peer));
        let text = std::fs::read_to_string(&p).unwrap();
        let events: Vec<Event> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].pid, Some(7));
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
