//! The errors the CLI reports, and the exit code each maps to.
//!
//! Library code returns these typed errors; `main` prints the chain once and exits with
//! [`Error::exit_code`]. Messages say what failed, where, and what to do next, and never carry a
//! token.

use crate::protocol::ErrorKind;
use std::path::PathBuf;

/// Documented exit codes (also in `tok --help` and the README).
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NEEDS_LOGIN: u8 = 3;
    pub const PROVIDER: u8 = 4;
    pub const DENIED: u8 = 5;
    pub const AGENT_UNREACHABLE: u8 = 6;
    pub const LOCKED: u8 = 7;
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The agent answered with an error.
    #[error("{message}")]
    Agent { kind: ErrorKind, message: String },
    #[error("cannot reach the tok agent at {socket}: {reason}")]
    Unreachable { socket: PathBuf, reason: String },
    #[error("the tok agent did not start: {reason}")]
    Startup { reason: String },
    #[error("{0}")]
    Usage(String),
    #[error("interrupted")]
    Interrupted,
    /// A job credential could not be used (tok's own check or the provider's answer).
    #[error(transparent)]
    Credential(#[from] crate::credential::renew::RenewError),
    #[error("lost the connection to the agent at {socket}: {reason} (see agent.log beside the socket; `tok agent stop` restarts it on the next command)")]
    Connection { socket: PathBuf, reason: String },
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Agent { kind, .. } => kind_exit_code(*kind),
            Error::Credential(e) => kind_exit_code(e.kind()),
            Error::Unreachable { .. } | Error::Startup { .. } | Error::Connection { .. } => {
                exit::AGENT_UNREACHABLE
            }
            Error::Usage(_) => exit::USAGE,
            Error::Interrupted => exit::INTERRUPTED,
        }
    }
}

fn kind_exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage => exit::USAGE,
        ErrorKind::NeedsLogin => exit::NEEDS_LOGIN,
        ErrorKind::Denied => exit::DENIED,
        ErrorKind::Provider => exit::PROVIDER,
        ErrorKind::Locked | ErrorKind::AgentLocked => exit::LOCKED,
        ErrorKind::Internal => exit::ERROR,
    }
}
