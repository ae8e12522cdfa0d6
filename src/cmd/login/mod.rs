//! `tok login`: the agent runs the login (device code, browser code flow, or a given refresh
//! token); this side decides from the user's environment whether a browser can be used, shows
//! the code or opens the browser, counts down, and cancels cleanly on Ctrl-C (closing the
//! connection stops the agent polling or listening).

mod browser;
mod inputs;
mod preset;
mod prompt;

use super::{request, unexpected};
use crate::cli::LoginArgs;
use crate::error::Error;
use crate::protocol::{LoginFlow, LoginRequest, Request, Response};
use crate::scope::normalise_scopes;
use crate::terminal::one_line;
use anyhow::{Context, Result};
use prompt::Countdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long past the device code's (or the browser wait's) expiry the CLI still waits for the
/// agent's answer.
const CODE_GRACE: Duration = Duration::from_secs(15);

/// `TOK_LOGIN_TIMEOUT`: how long the browser login waits (seconds, or a duration like `2m`).
fn browser_timeout() -> Result<Option<u64>, Error> {
    let Some(value) = std::env::var("TOK_LOGIN_TIMEOUT")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    value
        .parse::<u64>()
        .ok()
        .or_else(|| humantime::parse_duration(&value).ok().map(|d| d.as_secs()))
        .filter(|s| *s > 0)
        .map(Some)
        .ok_or_else(|| {
            Error::Usage(format!(
                "TOK_LOGIN_TIMEOUT `{}` is not a duration such as 300 or 5m",
                one_line(&value)
            ))
        })
}

pub fn run(args: LoginArgs) -> Result<()> {
    if args.name.is_none() && args.issuer.is_none() {
        return Err(Error::Usage(
            "give an account name or --issuer URL (or both); `tok issuers` lists presets".into(),
        )
        .into());
    }
    let flow = match (&args.refresh_token_file, args.flow) {
        (Some(_), None | Some(LoginFlow::Refresh)) => Some(LoginFlow::Refresh),
        (Some(_), Some(other)) => {
            return Err(Error::Usage(format!(
                "--refresh-token-file goes with --flow refresh, not --flow {}",
                other.as_str()
            ))
            .into())
        }
        (None, Some(LoginFlow::Refresh)) => {
            return Err(Error::Usage(
                "--flow refresh needs --refresh-token-file PATH (or - to read stdin); a token is never taken from the command line".into(),
            )
            .into())
        }
        (None, flow) => flow,
    };
    let preset = preset::apply_preset(&args)?;
    let client_secret = match &args.client_secret_file {
        Some(path) => Some(inputs::read_secret_file(path)?),
        None => preset.client_secret.clone(),
    };
    let ca_file = match &args.ca_file {
        Some(p) => Some(inputs::check_ca_file(p)?),
        None => None,
    };
    let refresh_token = match &args.refresh_token_file {
        Some(path) => Some(inputs::read_refresh_token(path)?),
        None => None,
    };
    if flow == Some(LoginFlow::Refresh) {
        eprintln!("tok login: using the given refresh token (--flow refresh): the provider must accept it before anything is stored");
    }
    let desktop = browser::desktop();
    let browser_timeout_secs = browser_timeout()?;
    let scopes = normalise_scopes(&preset.scopes).map_err(|e| Error::Usage(e.to_string()))?;
    let interrupted = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted))
        .context("cannot install the Ctrl-C handler")?;

    let make = || {
        Request::Login(LoginRequest {
            account: preset.name.clone(),
            issuer: preset.issuer.clone(),
            client_id: preset.client_id.clone(),
            client_secret: client_secret.clone(),
            scopes: scopes.clone(),
            audience_param: preset.audience_param,
            ca_file: ca_file.clone(),
            make_default: args.default,
            narrowing: preset.narrowing,
            refresh_invalidates_tokens: preset.refresh_invalidates_tokens,
            lifetime_secs: args.lifetime.map(|d| d.as_secs()),
            confirm: match (args.confirm, args.no_confirm) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            flow,
            desktop: Some(desktop.clone()),
            refresh_token: refresh_token.clone(),
            browser_timeout_secs,
        })
    };
    let (mut conn, response) = request(make)?;
    let (expires_in_secs, what) = match response {
        Response::DeviceCode(prompt) => {
            if let Some(note) = &prompt.flow_note {
                eprintln!("tok login: {}", one_line(note));
            }
            prompt::show_prompt(&prompt, !args.no_qr);
            (prompt.expires_in_secs, "approval")
        }
        Response::BrowserLogin(prompt) => {
            if let Some(note) = &prompt.flow_note {
                eprintln!("tok login: {}", one_line(note));
            }
            // Provider text (the endpoint is the provider's): shown, never obeyed.
            let url = one_line(&prompt.url);
            match browser::open(&prompt.url, &desktop) {
                Some(program) => eprintln!(
                    "Opened the sign-in page with {program}; if no browser shows it, open this link in a browser on this machine:"
                ),
                None => eprintln!("To log in, open this link in a browser on this machine:"),
            }
            eprintln!("{url}");
            (prompt.expires_in_secs, "the browser")
        }
        Response::LoggedIn {
            account,
            issuer,
            client_id,
        } => {
            // `--flow refresh`: nothing to show, the agent checked and stored the token.
            eprintln!("tok: logged in as account `{account}` at {issuer} (client {client_id}) with the given refresh token");
            return Ok(());
        }
        other => return Err(unexpected(&other).into()),
    };
    let progress = Countdown::start(expires_in_secs, what);
    // The agent stops waiting when the code (or the browser wait) expires; this side does not
    // wait much longer even if the agent is stuck.
    let deadline = Instant::now() + Duration::from_secs(expires_in_secs) + CODE_GRACE;
    loop {
        if Instant::now() > deadline {
            progress.finish("expired");
            drop(conn);
            return Err(Error::Agent {
                kind: crate::protocol::ErrorKind::Denied,
                message: "the login was not finished in time; run `tok login` again".into(),
            }
            .into());
        }
        if interrupted.load(Ordering::Relaxed) {
            progress.finish("login cancelled");
            // Dropping the connection tells the agent to stop polling the provider.
            drop(conn);
            return Err(Error::Interrupted.into());
        }
        if conn.wait_readable(Duration::from_millis(200)) {
            break;
        }
    }
    let result = crate::client::into_result(conn.receive()?);
    match result {
        Ok(Response::LoggedIn {
            account,
            issuer,
            client_id,
        }) => {
            progress.finish("approved");
            eprintln!("tok: logged in as account `{account}` at {issuer} (client {client_id})");
            Ok(())
        }
        Ok(other) => {
            progress.finish("failed");
            Err(unexpected(&other).into())
        }
        Err(e) => {
            progress.finish("failed");
            Err(e.into())
        }
    }
}
