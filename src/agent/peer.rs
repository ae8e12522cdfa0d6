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

/// The first [`PROC_READ_BYTES`] of a `/proc` file, in one `read` where the kernel allows
/// (`fs::read` starts at 32 bytes for a file whose size says 0, and doubles: six reads for a
/// `stat` line, on the path of every token request).
fn read_proc(path: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut buf = Vec::with_capacity(PROC_READ_BYTES);
    file.take(PROC_READ_BYTES as u64)
        .read_to_end(&mut buf)
        .ok()?;
    Some(buf)
}

/// Enough for a `stat` line and more of a command line than is shown.
const PROC_READ_BYTES: usize = 4096;

fn parent_pid(pid: i64) -> Option<i64> {
    let stat = String::from_utf8(read_proc(&format!("/proc/{pid}/stat"))?).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: start after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(1)?.parse().ok()
}

fn command_line(pid: i64) -> Option<String> {
    let bytes = read_proc(&format!("/proc/{pid}/cmdline"))?;
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
