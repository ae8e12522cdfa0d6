//! The CLI side of the socket: blocking, no async runtime, no TLS — the hot path of every job
//! is parse, connect, one round trip, print.

mod spawn;

pub use spawn::{
    agent_pid_alive, call_with_restart, connect_or_spawn, spawn_agent, stop_agent, READY_PREFIX,
    STARTUP_TIMEOUT,
};

use crate::error::Error;
use crate::protocol::{Envelope, ErrorReply, Request, Response};
use crate::wire::{self, WireError};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the CLI waits for any one answer from the agent.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(180);

/// One connection to the agent.
pub struct Connection {
    stream: UnixStream,
    socket: PathBuf,
}

impl Connection {
    /// Connects without starting anything.
    pub fn connect(socket: &Path) -> std::io::Result<Self> {
        let stream = UnixStream::connect(socket)?;
        check_peer_is_us(&stream, socket)?;
        // A wedged agent must not hang a batch job forever; provider calls time out well
        // before this.
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        Ok(Self {
            stream,
            socket: socket.to_path_buf(),
        })
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub fn send(&mut self, request: Request) -> Result<(), Error> {
        wire::write_frame(&mut self.stream, &Envelope::new(request)).map_err(|e| self.lost(e))
    }

    pub fn receive(&mut self) -> Result<Response, Error> {
        wire::read_frame(&mut self.stream).map_err(|e| self.lost(e))
    }

    /// Sends one request and returns the agent's answer; an error answer becomes `Err`.
    pub fn call(&mut self, request: Request) -> Result<Response, Error> {
        self.send(request)?;
        into_result(self.receive()?)
    }

    /// Waits up to `timeout` for the agent to say something, so a caller can check for Ctrl-C.
    pub fn wait_readable(&self, timeout: Duration) -> bool {
        use std::os::fd::AsRawFd;
        let mut pfd = libc::pollfd {
            fd: self.stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
        n > 0
    }

    fn lost(&self, e: WireError) -> Error {
        let reason = match &e {
            WireError::Io(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                format!("no answer within {}s", REPLY_TIMEOUT.as_secs())
            }
            _ => e.to_string(),
        };
        Error::Connection {
            socket: self.socket.clone(),
            reason,
        }
    }
}

/// The agent must run as our own user: another user's process listening on a path we were
/// pointed at (a hijacked `TOK_SOCKET`, a stale forwarded socket) must never receive a
/// passphrase nor hand us tokens.
fn check_peer_is_us(stream: &UnixStream, socket: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, a valid ucred.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let me = crate::dirs::euid();
    if cred.uid != me {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "the process listening on {} runs as uid {}, not as you (uid {me}); refusing to talk to it",
                socket.display(),
                cred.uid
            ),
        ));
    }
    Ok(())
}

/// Turns an agent's error answer into a typed error.
pub fn into_result(response: Response) -> Result<Response, Error> {
    match response {
        Response::Error(ErrorReply { kind, message }) => Err(Error::Agent { kind, message }),
        other => Ok(other),
    }
}
