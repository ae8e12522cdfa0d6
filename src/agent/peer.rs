//! Who is asking: the peer process of a connection (from the socket's credentials) and what
//! `/proc` says about it, for the audit trail and for confirmation prompts.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default)]
pub struct Peer {
    pub pid: Option<i64>,
    pub uid: Option<u32>,
}

/// A peer as the audit trail records it. The process may be gone by the time it is looked up:
/// then the fields are empty, never guessed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeerInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// The parent's command line (what started the client: a job script, a shell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// Longest command line kept (arguments can be long; they are context, not evidence).
const MAX_CMDLINE_CHARS: usize = 200;

impl Peer {
    pub fn describe(&self) -> PeerInfo {
        let Some(pid) = self.pid else {
            return PeerInfo {
                uid: self.uid,
                ..Default::default()
            };
        };
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .map(|p| p.display().to_string());
        let parent = parent_pid(pid).and_then(command_line);
        PeerInfo {
            pid: Some(pid),
            uid: self.uid,
            exe,
            parent,
        }
    }
}

fn parent_pid(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: start after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(1)?.parse().ok()
}

fn command_line(pid: i64) -> Option<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let text: String = String::from_utf8_lossy(&bytes)
        .trim_end_matches('\0')
        .replace('\0', " ");
    Some(
        crate::terminal::one_line(&text)
            .chars()
            .take(MAX_CMDLINE_CHARS)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_this_process_and_its_parent() {
        let me = Peer {
            pid: Some(std::process::id() as i64),
            uid: Some(crate::dirs::euid()),
        };
        let info = me.describe();
        assert!(info.exe.is_some());
        assert!(info.parent.is_some());
        let gone = Peer {
            pid: Some(i32::MAX as i64),
            uid: None,
        };
        assert!(gone.describe().exe.is_none());
    }
}
