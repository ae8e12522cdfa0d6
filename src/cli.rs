//! The command-line interface, declared once: help, the man pages and the shell completions are
//! all generated from these types (see `tests/generated.rs`).

use crate::protocol::AudienceParam;
use crate::store::StoreKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    /// Show the agent, the store, accounts and cached tokens (never token values)
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

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Account name (default: the issuer's host name, or the preset's name); reuses a known
    /// account's settings. A new account named like a preset (`tok issuers`) uses that preset
    pub name: Option<String>,
    /// OpenID Provider issuer URL, e.g. https://cms-auth.example.org/, or a preset name
    /// such as `wlcg` or `cms` (`tok issuers` lists them)
    #[arg(long, value_name = "URL|PRESET")]
    pub issuer: Option<String>,
    /// OAuth2 client id; without it tok registers a client dynamically (RFC 7591)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// File holding the client secret of a confidential client
    #[arg(long, value_name = "PATH", requires = "client_id")]
    pub client_secret_file: Option<PathBuf>,
    /// Extra scopes to request at login (repeatable or space-separated); `openid
    /// offline_access` are always requested
    #[arg(long = "scope", short = 's', value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// How to ask this provider for an audience: RFC 8707 `resource` or `audience` (INDIGO IAM,
    /// Keycloak)
    #[arg(long, value_enum, value_name = "STYLE")]
    pub audience_param: Option<AudienceParam>,
    /// Extra CA certificates (PEM) to trust for this provider, on top of the system store
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// Make this the default account
    #[arg(long)]
    pub default: bool,
    /// Do not draw a QR code of the verification link
    #[arg(long)]
    pub no_qr: bool,
    /// Forget this login after DURATION (e.g. 12h, 7d): the agent then drops the refresh token
    /// and says so
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub lifetime: Option<humantime::Duration>,
    /// Ask for confirmation of each use of this account (through TOK_ASKPASS or SSH_ASKPASS);
    /// where nobody can be asked, requests are refused
    #[arg(long, conflicts_with = "no_confirm")]
    pub confirm: bool,
    /// Stop asking for confirmation of each use
    #[arg(long)]
    pub no_confirm: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Account to use, as with --account (`tok get cms`, oidc-token's habit)
    #[arg(value_name = "ACCOUNT", conflicts_with_all = ["account", "issuer", "credential"])]
    pub name: Option<String>,
    #[command(flatten)]
    pub select: TokenSelection,
    /// Output: the bare token, JSON with metadata, or an HTTP Authorization header
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Token)]
    pub format: Format,
    /// Also decode the token and check it against the WLCG profile, on stderr (stdout keeps
    /// only the token); see `tok inspect`
    #[arg(long)]
    pub inspect: bool,
}

/// Which token: account or job credential, scopes, audiences, minimum lifetime (shared by get,
/// env and exec).
#[derive(Debug, Clone, Args)]
pub struct TokenSelection {
    /// Account to use (default: the default account)
    #[arg(long, short = 'a', value_name = "NAME", conflicts_with = "issuer")]
    pub account: Option<String>,
    /// Pick the account by its issuer URL
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Renew from this job credential (from `tok delegate`) instead of asking the agent: no
    /// socket, no agent, no store. Scopes and audiences default to the delegated ones and may
    /// only narrow them
    #[arg(long, value_name = "FILE", conflicts_with_all = ["account", "issuer"])]
    pub credential: Option<PathBuf>,
    /// Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope
    /// such as `storage.read` means the whole namespace and is sent as `storage.read:/`
    #[arg(long = "scope", short = 's', value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Audience to request (repeatable), e.g. https://se.example.org
    #[arg(long = "aud", value_name = "AUDIENCE")]
    pub audiences: Vec<String>,
    /// Minimum remaining lifetime of the token, e.g. 60s, 10m (default 60s)
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub min_valid: Option<humantime::Duration>,
    /// Fail (exit 5) instead of warning when the provider grants wider scopes than asked
    /// (also `exact_scope = true` per account in config.toml)
    #[arg(long)]
    pub exact_scope: bool,
    /// Refresh at the provider even when a cached token would do
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub select: TokenSelection,
    /// Shell syntax to print (default: from $SHELL, else sh)
    #[arg(long, value_enum)]
    pub shell: Option<ShellKind>,
    /// Write the token to this file instead of the WLCG discovery location
    /// ($XDG_RUNTIME_DIR/bt_u$UID, else /tmp/bt_u$UID)
    #[arg(long, value_name = "PATH", conflicts_with_all = ["purpose", "inline"])]
    pub file: Option<std::path::PathBuf>,
    /// Use the discovery location with a purpose suffix: …/bt_u$UID-PURPOSE
    #[arg(long, value_name = "PURPOSE", conflicts_with = "inline")]
    pub purpose: Option<String>,
    /// Export only BEARER_TOKEN, no file (BEARER_TOKEN_FILE is unset)
    #[arg(long, conflicts_with = "file_only")]
    pub inline: bool,
    /// Export only BEARER_TOKEN_FILE and unset BEARER_TOKEN. By default both are exported:
    /// gfal2 reads only the variable, the other clients follow discovery
    #[arg(long)]
    pub file_only: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub select: TokenSelection,
    /// Token file to write (default: a private file …/bt_u$UID-exec-PID, removed afterwards)
    #[arg(long, value_name = "PATH")]
    pub file: Option<std::path::PathBuf>,
    /// Also export BEARER_TOKEN, whatever the command (it cannot be renewed while the command
    /// runs). Done by default for clients that read only the variable (gfal-*)
    #[arg(long, conflicts_with = "file_only")]
    pub inline: bool,
    /// Never export BEARER_TOKEN, even for a client that reads only the variable
    #[arg(long)]
    pub file_only: bool,
    /// The command and its arguments (after `--`)
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct DelegateArgs {
    /// Account to delegate from (default: the default account)
    #[arg(long, short = 'a', value_name = "NAME", conflicts_with = "issuer")]
    pub account: Option<String>,
    /// Pick the account by its issuer URL
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Scope the job may use (repeatable, or a space-separated list); default: the account's
    /// login scopes. The job can ask for these or narrower ones, never wider
    #[arg(long = "scope", short = 's', value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Audience the job may ask for (repeatable), e.g. https://se.example.org
    #[arg(long = "aud", value_name = "AUDIENCE")]
    pub audiences: Vec<String>,
    /// How long the job may use the credential, e.g. 3d, 36h; the provider may allow less
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = duration)]
    pub lifetime: humantime::Duration,
    /// The credential file to write (0600, replaced atomically)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The job credential to revoke; the file is removed once the provider has revoked it
    #[arg(long, value_name = "FILE")]
    pub credential: PathBuf,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The token and a newline
    Token,
    /// token, expires_at, scope, audience, account, issuer
    Json,
    /// `Authorization: Bearer <token>`
    Header,
    /// `BEARER_TOKEN=<token>` and `BEARER_TOKEN_EXPIRES_AT=<unix seconds>` lines, for env
    /// files and `env $(tok get -f env) CMD`
    Env,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output
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

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The access token, or `-` (the default) to read it from stdin. On the command line a
    /// token shows in `ps` and your shell history: prefer a pipe (`tok get | tok inspect`)
    #[arg(value_name = "TOKEN|-")]
    pub token: Option<String>,
    /// Print the header, the claims and the findings as JSON (never the token itself)
    #[arg(long)]
    pub json: bool,
}

pub mod compat_args;
pub mod help;
