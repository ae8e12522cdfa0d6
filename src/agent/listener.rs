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

/// Accepts the next connection from our own uid; others are refused and logged, without
/// reading anything from them.
pub async fn accept(listener: &Listener) -> std::io::Result<Stream> {
    let me = dirs::euid();
    loop {
        let stream = listener.accept().await?;
        match stream.peer_creds() {
            Ok(creds) if creds.euid() == Some(me) => return Ok(stream),
            Ok(creds) => {
                tracing::warn!(
                    peer_uid = ?creds.euid(),
                    peer_pid = ?creds.pid(),
                    "refused a connection from another user"
                );
            }
            Err(e) => tracing::warn!("refused a connection: cannot read peer credentials: {e}"),
        }
    }
}
