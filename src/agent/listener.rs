//! The agent's socket: a private directory, a 0600 socket file, and a peer-uid check on every
//! connection — the socket file mode alone is not trusted (a loosened directory, a forwarded
//! socket, a root-owned helper).

use crate::dirs;
use interprocess::local_socket::tokio::{prelude::*, Listener, Stream};
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use interprocess::os::unix::local_socket::ListenerOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(transparent)]
    Dir(#[from] dirs::DirError),
    #[error("another agent is already listening on {0}; stop it with `tok agent stop`")]
    InUse(PathBuf),
    #[error("{path} exists and is not a socket; move it away")]
    NotSocket { path: PathBuf },
    #[error("cannot listen on {path}: {source}")]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where connections come from: our own bound socket, or one systemd passed us.
pub enum AgentListener {
    Bound(Listener),
    /// Socket activation: systemd owns the file, so we never remove it.
    Activated(tokio::net::UnixListener),
}

/// The listening socket systemd passes as fd 3 (`LISTEN_PID` = us, `LISTEN_FDS` ≥ 1).
pub fn from_systemd() -> Option<tokio::net::UnixListener> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || fds < 1 {
        return None;
    }
    // Children must not think the socket is theirs.
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    use std::os::fd::FromRawFd;
    // SAFETY: systemd hands us fd 3 as a listening socket and nobody else owns it.
    let std_listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(3) };
    std_listener.set_nonblocking(true).ok()?;
    tokio::net::UnixListener::from_std(std_listener).ok()
}

pub fn bind(socket: &Path) -> Result<Listener, ListenError> {
    let dir = socket.parent().unwrap_or(Path::new("/"));
    dirs::ensure_private_dir(dir)?;
    if let Ok(meta) = std::fs::symlink_metadata(socket) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            return Err(ListenError::NotSocket {
                path: socket.to_path_buf(),
            });
        }
        match std::os::unix::net::UnixStream::connect(socket) {
            Ok(_) => return Err(ListenError::InUse(socket.to_path_buf())),
            // Only a refused connection proves nobody listens; then the file is stale.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                let _ = std::fs::remove_file(socket);
            }
            Err(source) => {
                return Err(ListenError::Bind {
                    path: socket.to_path_buf(),
                    source,
                })
            }
        }
    }
    let bind_err = |source| ListenError::Bind {
        path: socket.to_path_buf(),
        source,
    };
    let name = socket.to_fs_name::<GenericFilePath>().map_err(bind_err)?;
    ListenerOptions::new()
        .name(name)
        .mode(0o600)
        .reclaim_name(false)
        .try_overwrite(false)
        .create_tokio()
        .map_err(bind_err)
}

/// A connection from our own uid.
pub enum Conn {
    Bound(Stream, super::peer::Peer),
    Activated(tokio::net::UnixStream, super::peer::Peer),
}

/// Accepts the next connection from our own uid; others are refused and logged, without
/// reading anything from them.
pub async fn accept(listener: &AgentListener) -> std::io::Result<Conn> {
    let me = dirs::euid();
    loop {
        let (conn, uid, pid) = match listener {
            AgentListener::Bound(l) => {
                let stream = l.accept().await?;
                let creds = stream.peer_creds();
                let (uid, pid) = match &creds {
                    Ok(c) => (c.euid(), c.pid().map(|p| p as i64)),
                    Err(_) => (None, None),
                };
                let peer = super::peer::Peer { pid, uid };
                (Conn::Bound(stream, peer), uid, pid)
            }
            AgentListener::Activated(l) => {
                let (stream, _) = l.accept().await?;
                let cred = stream.peer_cred().ok();
                let uid = cred.map(|c| c.uid());
                let pid = cred.and_then(|c| c.pid()).map(|p| p as i64);
                let peer = super::peer::Peer { pid, uid };
                (Conn::Activated(stream, peer), uid, pid)
            }
        };
        if uid == Some(me) {
            return Ok(conn);
        }
        tracing::warn!(
            peer_uid = ?uid,
            peer_pid = ?pid,
            "refused a connection from another user"
        );
    }
}
