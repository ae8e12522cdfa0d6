//! Compatibility with oidc-agent, so a user can switch without changing a script: its socket
//! protocol ([`crypto`], [`requests`]) for the agent's second listener, where its clients look
//! for that socket, and its account files ([`account_file`]) for `tok import`. Nothing here
//! knows the agent; the agent's glue maps these requests onto its own token service.

pub mod account_file;
pub mod crypto;
pub mod requests;

use std::path::PathBuf;

/// The compatibility socket, beside the agent's own in tok's private runtime directory.
pub fn socket_path() -> PathBuf {
    crate::dirs::runtime_dir().join("oidc-agent.sock")
}

/// Where oidc-agent 5.2+ clients and `oidc-agent-service` look when `OIDC_SOCK` is unset:
/// `${TMPDIR:-/tmp}/oidc-agent-service-$UID/oidc-agent.sock`.
pub fn default_client_path() -> PathBuf {
    let tmp = std::env::var_os("TMPDIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    tmp.join(format!("oidc-agent-service-{}", crate::dirs::euid()))
        .join("oidc-agent.sock")
}
