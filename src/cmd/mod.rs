//! One file per subcommand; this one dispatches and holds the small helpers they share.

mod agent;
mod audit;
mod completions;
mod delegate;
mod doctor;
mod env;
mod exec;
mod get;
mod import;
mod init;
mod inspect;
mod issuers;
mod login;
mod logout;
mod oidc_agent_env;
mod revoke;
mod status;
mod store;
mod unlock;

use crate::cli::{Cli, Command};
use crate::client::{self, Connection};
use crate::error::Error;
use crate::protocol::{ErrorKind, Request, Response};
use anyhow::Result;
use std::io::Write;

/// Runs a command and returns the process exit code on success (`tok exec` passes on its
/// child's, `tok doctor` says whether a check failed; everything else exits 0).
pub fn run_exit(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Exec(args) => exec::run(args),
        Command::Doctor => doctor::run(),
        command => run(Cli { command }).map(|()| crate::error::exit::OK),
    }
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Login(args) => login::run(args),
        Command::Get(args) => get::run(args),
        Command::Env(args) => env::run(args),
        Command::Exec(_) => unreachable!("exec is dispatched by run_exit"),
        Command::Doctor => unreachable!("doctor is dispatched by run_exit"),
        Command::Inspect(args) => inspect::run(args),
        Command::Init(args) => init::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Status(args) => status::run(args),
        Command::Delegate(args) => delegate::run(args),
        Command::Revoke(args) => revoke::run(args),
        Command::Logout(args) => logout::run(args),
        Command::Issuers(args) => issuers::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Unlock(args) => unlock::unlock(args),
        Command::Lock => unlock::lock(),
        Command::Agent { command } => agent::run(command),
        Command::Store { command } => store::run(command),
        Command::Import(args) => import::run(args),
        Command::OidcAgentEnv => oidc_agent_env::run(),
    }
}

/// Writes to stdout, reporting (rather than panicking on) a closed pipe.
pub(crate) fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Sends a request to the agent (starting it if needed). When the file store is locked and a
/// passphrase is at hand (file or terminal), unlocks and retries once.
pub(crate) fn request(make: impl Fn() -> Request) -> Result<(Connection, Response), Error> {
    let socket = crate::dirs::socket_path();
    let (conn, response) = client::call_with_restart(&socket, &make)?;
    match client::into_result(response) {
        Err(Error::Agent {
            kind: ErrorKind::Locked,
            message,
        }) => {
            let Some(passphrase) = unlock::passphrase_if_available()? else {
                return Err(Error::Agent {
                    kind: ErrorKind::Locked,
                    message,
                });
            };
            let mut conn = conn;
            conn.call(Request::Unlock { passphrase })?;
            let response = conn.call(make())?;
            Ok((conn, response))
        }
        Err(e) => Err(e),
        Ok(r) => Ok((conn, r)),
    }
}

pub(crate) fn unexpected(response: &Response) -> Error {
    Error::Agent {
        kind: ErrorKind::Internal,
        message: format!(
            "unexpected answer from the agent ({}); restart it with `tok agent stop`",
            response_name(response)
        ),
    }
}

fn response_name(r: &Response) -> &'static str {
    match r {
        Response::Hello(_) => "hello",
        Response::Token(_) => "token",
        Response::DeviceCode(_) => "device code",
        Response::BrowserLogin(_) => "browser login",
        Response::LoggedIn { .. } => "logged in",
        Response::LoggedOut { .. } => "logged out",
        Response::Delegated(_) => "job credential",
        Response::Migrated { .. } => "migrated",
        Response::Status(_) => "status",
        Response::Done => "done",
        Response::VersionMismatch { .. } => "version mismatch",
        Response::Error(_) => "error",
    }
}

pub(crate) use crate::time::rfc3339;
