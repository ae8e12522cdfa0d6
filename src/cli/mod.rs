//! The command-line interface, declared once: help, the man pages and the shell completions are
//! all generated from these types (see `tests/generated.rs`).

use clap::{Parser, Subcommand};

mod admin;
mod token;

pub use admin::*;
pub use token::*;

/// After `tok -h`; `tok --help` shows [`help::TOK`] instead.
const AFTER_HELP: &str = "\
`tok --help` adds examples, the environment, exit status and files; each command has
its own --help and man page (man tok-get). When something does not work: tok doctor";

/// A duration as tok writes them (`90s`, `10m`, `2h`, `1h30m`, `7d`), or bare seconds (`300`,
/// as `oidc-token -t 300` users type it).
pub fn duration(s: &str) -> Result<humantime::Duration, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = s.parse().map_err(|e| format!("{e}"))?;
        return Ok(std::time::Duration::from_secs(secs).into());
    }
    s.parse::<humantime::Duration>()
        .map_err(|e| format!("{e}; write it like 90s, 10m, 2h or 7d, or as seconds"))
}

/// tok: OAuth2/OIDC access tokens for the grid, served by a per-user agent.
///
/// The agent keeps refresh tokens safe (OS keyring, kernel keyring or an encrypted file),
/// performs device-code logins, and hands out short-lived, scoped access tokens from a cache.
#[derive(Debug, Parser)]
#[command(name = "tok", version, propagate_version = true, after_help = AFTER_HELP, after_long_help = help::TOK)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to a provider with the device-code flow and keep the refresh token in the agent
    #[command(after_long_help = help::LOGIN)]
    Login(LoginArgs),
    /// Print an access token for an account, scopes and audiences
    #[command(after_long_help = help::GET)]
    Get(GetArgs),
    /// Write a token file for grid tools and print shell lines to `eval` that point at it
    #[command(after_long_help = help::ENV)]
    Env(EnvArgs),
    /// Run a command with a token file that is kept fresh while the command runs
    #[command(after_long_help = help::EXEC)]
    Exec(ExecArgs),
    /// Write a job credential: a delegated, narrowed refresh token (RFC 8693 token exchange)
    /// that lets a long job renew its own tokens without an agent
    #[command(after_long_help = help::DELEGATE)]
    Delegate(DelegateArgs),
    /// Revoke a job credential at the provider (RFC 7009) and remove its file
    #[command(after_long_help = help::REVOKE)]
    Revoke(RevokeArgs),
    /// Print the shell integration snippet: eval "$(tok init bash)"
    #[command(after_long_help = help::INIT)]
    Init(InitArgs),
    /// Print the completion script for a shell (to install it: see the README, "Building")
    Completions(CompletionsArgs),
    /// Show the agent, the store, accounts, when each login ends, and cached tokens (never
    /// token values)
    #[command(visible_alias = "list")]
    #[command(after_long_help = help::STATUS)]
    Status(StatusArgs),
    /// Revoke an account's refresh token at the provider and forget it
    #[command(after_long_help = help::LOGOUT)]
    Logout(LogoutArgs),
    /// Show the audit trail: which process got which token, when (never token values)
    #[command(after_long_help = help::AUDIT)]
    Audit(AuditArgs),
    /// List the issuer presets `tok login NAME` and `--issuer NAME` accept (built in, and
    /// $XDG_CONFIG_HOME/tok/issuers.toml)
    #[command(after_long_help = help::ISSUERS)]
    Issuers(IssuersArgs),
    /// Decode an access token (not verified) and check it against the WLCG token profile
    #[command(after_long_help = help::INSPECT)]
    Inspect(InspectArgs),
    /// Check the runtime directory, the agent, the store and each account's provider
    ///
    /// One line per check, with what to do when it is not right: the runtime directory
    /// (owner, mode), the agent (running, version; doctor never starts one), the store
    /// (backend, locked), the configuration file, and for each account in it: its login
    /// (from the agent), TLS trust and discovery at its issuer (with its --ca-file), and this
    /// machine's clock against the provider's Date header.
    #[command(after_long_help = help::DOCTOR)]
    Doctor,
    /// Give the agent the passphrase of the encrypted file store
    #[command(after_long_help = help::UNLOCK)]
    Unlock(UnlockArgs),
    /// Make the agent forget the file store's key and every cached access token
    #[command(after_long_help = help::LOCK)]
    Lock,
    /// Move logins between stores (e.g. to OpenBao, to share them between machines)
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Start, stop or inspect the background agent
    #[command(after_long_help = help::AGENT)]
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Import accounts (and their refresh tokens) from oidc-agent's account files
    Import(compat_args::ImportArgs),
    /// Print what `oidc-agent-service use` prints, pointing oidc-agent's clients at tok's agent
    #[command(name = "oidc-agent-env")]
    OidcAgentEnv,
}

pub mod compat_args;
pub mod help;
