//! The options of the commands that look after tok itself: status, logout, audit, issuers,
//! unlock, init, completions, and the `store` and `agent` subcommands.

use super::duration;
use crate::protocol::StoreKind;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The shell to print the snippet for
    #[arg(value_enum)]
    pub shell: InitShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellKind {
    Sh,
    Bash,
    Zsh,
    Fish,
    Csh,
    Tcsh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output (a login's end: `login_ends_at`, unix seconds, and
    /// `login_end_source`)
    #[arg(long, conflicts_with = "short")]
    pub json: bool,
    /// One line per account: name, state, issuer, time left on its longest-lived token
    #[arg(long, short = 's')]
    pub short: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Account to log out of (may be left out when there is only one)
    pub name: Option<String>,
    /// Do not revoke the refresh token at the provider; only forget it here
    #[arg(long)]
    pub keep_remote: bool,
    /// Also remove the account's settings and client registration
    #[arg(long)]
    pub forget: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events newer than this, e.g. 1h, 2d
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub since: Option<humantime::Duration>,
    /// Only this account's events
    #[arg(long, short = 'a', value_name = "NAME")]
    pub account: Option<String>,
    /// One JSON object per line, as logged
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IssuersArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Read the passphrase from this file instead of asking
    #[arg(long, value_name = "PATH", env = "TOK_PASSPHRASE_FILE")]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy every login (refresh tokens, client secrets, account definitions) into another
    /// store; then restart the agent on it. Nothing is deleted from the current store
    Migrate(StoreMigrateArgs),
}

#[derive(Debug, Args)]
pub struct StoreMigrateArgs {
    /// The store to copy the logins into: keyring, keyutils, file (passphrase from
    /// TOK_PASSPHRASE_FILE or asked) or openbao
    #[arg(long, value_enum)]
    pub to: StoreKind,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Start the agent in the background unless it is running
    Start(AgentStartArgs),
    /// Stop the running agent
    Stop,
    /// Say whether the agent runs, and its pid, version and socket
    Status,
    /// Run the agent (in the foreground with --foreground, as service managers want)
    Run(AgentRunArgs),
}

#[derive(Debug, Args)]
pub struct AgentStartArgs {
    /// Where refresh tokens are kept
    #[arg(long, value_enum, env = "TOK_STORE")]
    pub store: Option<StoreKind>,
}

#[derive(Debug, Args)]
pub struct AgentRunArgs {
    /// Stay in the foreground and log to stderr
    #[arg(long)]
    pub foreground: bool,
    /// Where refresh tokens are kept: auto (keyring, else kernel keyring), keyring, keyutils,
    /// file (encrypted, for headless nodes) or memory
    #[arg(long, value_enum, env = "TOK_STORE")]
    pub store: Option<StoreKind>,
}
