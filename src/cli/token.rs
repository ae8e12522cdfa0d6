//! The options of the commands that get and use tokens: login, get, env, exec, delegate,
//! revoke, inspect, and the token selection they share.

use super::duration;
use super::ShellKind;
use crate::protocol::{AudienceParam, LoginFlow};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

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
    /// How to log in [default: auto, or the flow the account used last]. `auto` opens the
    /// browser (authorization code with PKCE, answered on 127.0.0.1) on a desktop session
    /// (DISPLAY, WAYLAND_DISPLAY or macOS; not over ssh) when the provider and the client allow
    /// it, else shows a device code. $BROWSER, if set, opens the link; TOK_LOGIN_TIMEOUT
    /// (default 5m) is how long the browser may take
    #[arg(long, value_enum, value_name = "FLOW")]
    pub flow: Option<LoginFlow>,
    /// With --flow refresh: a file holding a refresh token obtained elsewhere (readable by you
    /// alone), or `-` for stdin; the provider must accept it before anything is stored
    #[arg(long, value_name = "PATH")]
    pub refresh_token_file: Option<PathBuf>,
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
pub struct InspectArgs {
    /// The access token, or `-` (the default) to read it from stdin. On the command line a
    /// token shows in `ps` and your shell history: prefer a pipe (`tok get | tok inspect`)
    #[arg(value_name = "TOKEN|-")]
    pub token: Option<String>,
    /// Print the header, the claims and the findings as JSON (never the token itself)
    #[arg(long)]
    pub json: bool,
}
