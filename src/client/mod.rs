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

/// One connection to the agent.
pub struct Connection {
    stream: UnixStream,
    socket: PathBuf,
}

impl Connection {
    /// Connects without starting anything.
    pub fn connect(socket: &Path) -> std::io::Result<Self> {
        let stream = UnixStream::connect(socket)?;
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
        Error::Connection {
            socket: self.socket.clone(),
            reason: e.to_string(),
        }
    }
}

/// Turns an agent's error answer into a typed error.
pub fn into_result(response: Response) -> Result<Response, Error> {
    match response {
        Response::Error(ErrorReply { kind, message }) => Err(Error::Agent { kind, message }),
        other => Ok(other),
    }
}
