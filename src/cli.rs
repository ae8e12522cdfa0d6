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

/// The text after each command's `--help`, and the EXAMPLES, ENVIRONMENT, EXIT STATUS and
/// FILES sections of the man pages, which `tests/generated.rs` makes from it. The layout is
/// what the generator reads: a section starts with an unindented `Title:` line after a blank
/// line; an entry is a line indented two spaces, its name and text parted by two or more
/// spaces, continued on lines indented further; an unindented line is a paragraph; every
/// line of `Examples:` is shown as it is.
pub mod help {
    pub const TOK: &str = "\
Examples:
  tok login cms --issuer https://cms-auth.example.org/ --scope storage.read
  tok get -s storage.read:/store --aud https://se.example.org
  tok get -s storage.read:/store | tok inspect    # what the token says
  eval \"$(tok env -s storage.read:/store)\"        # a token file for grid tools
  tok exec -s compute.create -- ./job.sh         # kept fresh while it runs
  tok status
  tok doctor                                     # when something does not work

Environment:
  TOK_SOCKET              agent socket (default $XDG_RUNTIME_DIR/tok/agent.sock,
                          else ${TMPDIR:-/tmp}/tok-$UID/agent.sock); its directory
                          holds the lock file and log and must be private (0700)
  TOK_NO_AUTOSTART=1      never start the agent on demand (commands fail, exit 6)
  TOK_STORE               store of an agent started on demand: auto, keyring,
                          keyutils, file or memory
  TOK_PASSPHRASE_FILE     file holding the passphrase of the encrypted file store
  TOK_LOG                 agent log level: error, warn, info (default), debug,
                          trace, off
  TOK_HTTP_TIMEOUT        provider request timeout in seconds (default 30)
  TOK_CONFIG              configuration file (default
                          $XDG_CONFIG_HOME/tok/config.toml)
  TOK_ASKPASS             (agent) program that confirms each use of a --confirm
                          account; SSH_ASKPASS on a desktop otherwise
  SSL_CERT_FILE           CA bundle used instead of the system store (an account's
                          --ca-file adds to it)
  TOK_STORE_NAMESPACE     keeps several setups of one uid apart in the kernel keyring
  TOK_KEYRING_TIMEOUT_MS  how long the Secret Service may take to answer (default
                          2000)
  XDG_RUNTIME_DIR, XDG_CONFIG_HOME, XDG_DATA_HOME, TMPDIR
                          base directories (see Files)

Exit status:
  0    success
  1    error: I/O, configuration file, internal
  2    usage: bad arguments, unknown account, invalid scope, malformed token
  3    login needed: `tok login NAME`; or a job credential past not_after,
       revoked or no longer accepted
  4    provider unavailable (network, timeout, 5xx): the login is kept; retry
  5    refused: login denied, scope or audience refused, revocation refused,
       a request wider than a job credential allows
  6    agent unreachable: `tok agent start`, and see agent.log
  7    store locked, or the agent locked by `tok lock`: `tok unlock`
  130  interrupted
`tok exec` exits with its command's code instead, and `tok doctor` with 1 when a
check failed (see their pages)

Files:
  $XDG_RUNTIME_DIR/tok/
       runtime directory, 0700 (else ${TMPDIR:-/tmp}/tok-$UID/; with TOK_SOCKET,
       its directory): agent.sock (0600), agent.lock, agent.log
  $XDG_CONFIG_HOME/tok/config.toml
       accounts and settings, never secrets (~/.config/tok/config.toml)
  $XDG_CONFIG_HOME/tok/issuers.toml
       your issuer presets (`tok issuers`)
  $XDG_DATA_HOME/tok/secrets.enc
       the encrypted file store (~/.local/share/tok/secrets.enc)
  $XDG_DATA_HOME/tok/audit.log
       the audit trail (`tok audit`): 0600, JSON lines, no tokens
  $XDG_DATA_HOME/tok/delegations.json
       job credentials the agent delegated (ids, scopes; no tokens)";

    pub const LOGIN: &str = "\
Examples:
  tok login cms                                  # the `cms` preset (tok issuers)
  tok login cms --issuer https://cms-auth.example.org/
  tok login atlas --issuer https://atlas-auth.example.org/ \\
      --client-id my-client --client-secret-file ~/.config/tok/atlas.secret \\
      --scope \"storage.read:/atlas storage.modify:/atlas/user/me\" \\
      --audience-param audience
  tok login site --issuer https://iam.site.example/ --ca-file /etc/site-ca.pem
  tok login cms --lifetime 12h --confirm";

    pub const GET: &str = "\
Examples:
  tok get
  tok get -a cms -s storage.read:/store --aud https://se.example.org
  tok get -s storage.read --min-valid 30m
  tok get -f header --aud https://se.example.org   # Authorization: Bearer …
  tok get -s storage.read:/store --inspect         # claims and findings on stderr
  tok get --credential job.cred -s storage.read:/store/data/run1";

    pub const ENV: &str = "\
Examples:
  eval \"$(tok env -s storage.read:/store --aud https://se.example.org)\"
  eval \"$(tok env --purpose fife-CMS -s storage.read)\"
  eval \"$(tok env --inline -s compute.create --aud https://ce.example.org)\"
  tok env --shell fish -s storage.read | source";

    pub const EXEC: &str = "\
Examples:
  tok exec -s storage.read:/data --aud https://se.example.org -- \\
      xrdcp root://se.example.org//data/f out
  tok exec -s compute.create --min-valid 10m -- ./long-job.sh
  tok exec --credential job.cred -- ./analysis.sh

Exit status:
  N      the command's exit code
  128+N  the command was killed by signal N
  126    the command could not be run
  127    the command was not found
tok's own codes (see tok(1)) apply only to failures before the command starts";

    pub const DELEGATE: &str = "\
Examples:
  tok delegate -s storage.read:/store/data -s storage.create:/store/user/me \\
      --aud https://se.example.org --lifetime 3d --out job.cred
  tok revoke --credential job.cred                 # when the job is done";

    pub const REVOKE: &str = "\
Examples:
  tok revoke --credential job.cred";

    pub const INIT: &str = "\
Examples:
  eval \"$(tok init bash)\"                          # in ~/.bashrc
  tok init fish | source                           # in config.fish";

    pub const STATUS: &str = "\
Examples:
  tok status
  tok list --json";

    pub const LOGOUT: &str = "\
Examples:
  tok logout cms                                   # revoke at the provider
  tok logout cms --keep-remote                     # the provider is unreachable
  tok logout cms --forget                          # and remove its settings";

    pub const AUDIT: &str = "\
Examples:
  tok audit --since 2h -a cms
  tok audit --json";

    pub const ISSUERS: &str = "\
Examples:
  tok issuers
  tok issuers --json";

    pub const UNLOCK: &str = "\
Examples:
  tok unlock
  tok unlock --passphrase-file ~/.config/tok/pass";

    pub const LOCK: &str = "\
Examples:
  tok lock                                         # stop serving tokens now
  tok unlock                                       # resume";

    pub const AGENT: &str = "\
Examples:
  tok agent start --store file
  tok agent status
  tok agent stop
  tok agent run --foreground --store keyring       # under a service manager";

    pub const INSPECT: &str = "\
Examples:
  tok get -s storage.read:/store | tok inspect
  tok get -f json | tok inspect --json
  tok inspect < $BEARER_TOKEN_FILE

WLCG profile checks:
  wlcg.ver       the claim is present and \"1.0\"
  required       iss, sub, aud, exp, iat and jti are present
  scope          storage.read/create/modify/stage/poll with an absolute path,
                 compute.read/modify/create/cancel, wlcg.groups, wlcg
  audience       a service origin without trailing slash or default port, or
                 https://wlcg.cern.ch/jwt/v1/any
  groups         wlcg.groups entries are absolute paths
  lifetime       exp after iat, and at most 6 h (1 h is typical)
  expired, time  not expired; nbf and iat not in the future
  personal-data  no email, name, preferred_username… in an access token
  signature      not unsigned (alg none); the signature itself is never checked

Exit status:
  0    the token was read: a JWT, whatever the findings, or an opaque token
  2    no token, or a malformed one";

    pub const DOCTOR: &str = "\
Examples:
  tok doctor
  TOK_HTTP_TIMEOUT=5 tok doctor

Exit status:
  0    no check failed (warnings do not count)
  1    a check failed";
}
