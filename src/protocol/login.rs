//! The words of a login that choose and show its flow (issue 20): which flow the user asked
//! for, what the CLI knows about the user's desktop (the agent's environment is not the user's),
//! and the browser prompt of the authorization-code flow.

use serde::{Deserialize, Serialize};

/// How `tok login` obtains the refresh token (`--flow`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LoginFlow {
    /// The browser on a desktop session when the provider and the client allow it, else a
    /// device code
    #[default]
    Auto,
    /// Authorization code with PKCE: a browser opens, the answer comes back to 127.0.0.1
    Code,
    /// A device code to enter at the provider, from any machine (RFC 8628)
    Device,
    /// A refresh token obtained elsewhere, read from --refresh-token-file (a file or stdin)
    Refresh,
}

impl LoginFlow {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginFlow::Auto => "auto",
            LoginFlow::Code => "code",
            LoginFlow::Device => "device",
            LoginFlow::Refresh => "refresh",
        }
    }
}

/// What the CLI found out about where the user sits: whether a browser on this machine can be
/// opened and reach a listener on its 127.0.0.1, and why (for the one line `tok login` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desktop {
    pub usable: bool,
    /// E.g. "a desktop session is present (DISPLAY is set)" or "this is an ssh session
    /// (SSH_CONNECTION is set)".
    pub why: String,
}

/// The authorization-code flow's prompt: the URL to open in a browser on this machine. The agent
/// listens on 127.0.0.1 for the browser's return until `expires_in_secs` pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserPrompt {
    pub url: String,
    pub expires_in_secs: u64,
    /// Which flow the agent chose and why, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_note: Option<String>,
}
