//! `tok exec`: run a command with a token file that stays fresh for as long as it runs.
//!
//! The file is renewed whenever the token's remaining lifetime drops below the margin; a
//! renewal that fails (agent restarting, provider down) is retried with backoff and reported on
//! stderr while the current token stays in place — it never kills the command. Signals are
//! passed on, and tok exits with the command's status (128+N when a signal N killed it).
//! With `--credential` the renewals come from a job credential, with no agent involved.

use super::get::{token_request, Source};
use crate::cli::{ExecArgs, TokenSelection};
use crate::grid_clients;
use crate::protocol::TokenGrant;
use crate::time::unix_now;
use crate::tokenfile;
use crate::wrappers;
use anyhow::{Context, Result};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

/// Never renew closer to expiry than this margin's floor, nor wait longer between retries.
const MIN_MARGIN_SECS: u64 = 60;
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// Exit codes of a command that could not be started, as shells use them.
const COMMAND_NOT_FOUND: u8 = 127;
const COMMAND_NOT_EXECUTABLE: u8 = 126;

pub fn run(args: ExecArgs) -> Result<u8> {
    let mut request = token_request(&args.select)?;
    let source = Source::of(&args.select);
    let explicit_margin = request.min_valid_secs;
    let grant = source.fetch(&request)?;
    let (path, created) = match &args.file {
        // Absolute, so the command can change directory and still find it.
        Some(p) => {
            let p = super::env::absolute(p)?;
            let created = !p.exists();
            (p, created)
        }
        None => (
            tokenfile::discovery_path(Some(&format!("exec-{}", std::process::id())))?,
            true,
        ),
    };
    tokenfile::write(&path, &grant.token)?;
    let _cleanup = RemoveOnDrop(created.then(|| path.clone()));

    let program = args.command[0].to_string_lossy().into_owned();
    // Delivery follows the program that really runs, through `timeout 90 …`, `nice`, `env A=B`,
    // `apptainer exec IMAGE …` and the other wrappers in the table.
    let payload = wrappers::unwrap(&args.command);
    let channel = grid_clients::channel_of(&payload.program);
    let client = client_name(&payload);
    let mut cmd = Command::new(&args.command[0]);
    // If tok exec itself is killed (kill -9, OOM), the command gets SIGTERM rather than run on
    // with a token file nobody renews or removes.
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl(PR_SET_PDEATHSIG) in the child between fork and exec, no allocation.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
    }
    cmd.args(&args.command[1..]).env("BEARER_TOKEN_FILE", &path);
    let export_variable =
        args.inline || (!args.file_only && channel == grid_clients::Channel::VariableOnly);
    if export_variable {
        if args.inline {
            eprintln!("tok exec: note: BEARER_TOKEN holds a fixed token and cannot be refreshed; BEARER_TOKEN_FILE is kept fresh");
        } else {
            eprintln!("tok exec: note: {client} reads the token only from BEARER_TOKEN, once at start: exported it too (it is not renewed while it runs; --file-only leaves it out)");
        }
        cmd.env("BEARER_TOKEN", grant.token.expose());
    } else {
        // A stale variable would take precedence over the file (discovery step 1).
        cmd.env_remove("BEARER_TOKEN");
    }
    if channel == grid_clients::Channel::HeaderOnly {
        eprintln!(
            "tok exec: note: {client} reads no token variable or file; pass the token on its command line instead: {} -H \"$(tok get -f header{})\" …",
            payload.program.to_string_lossy(),
            selection_flags(&args.select)
        );
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        // As a shell says it: 127 for a command that is not there, 126 for one that cannot run.
        Err(e) => {
            eprintln!("tok exec: cannot run {program}: {e}");
            return Ok(match e.kind() {
                std::io::ErrorKind::NotFound => COMMAND_NOT_FOUND,
                _ => COMMAND_NOT_EXECUTABLE,
            });
        }
    };
    let child_pid = child.id() as libc::pid_t;
    let signals = forward_signals(child_pid)?;

    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });

    let mut current = grant;
    let mut retry_delay = Duration::from_secs(1);
    let mut margin = explicit_margin.unwrap_or_else(|| default_margin(&current));
    let mut next_try = renew_in(&current, margin);
    let status = loop {
        match done_rx.recv_timeout(next_try) {
            Ok(status) => break status.context("waiting for the command")?,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(anyhow::anyhow!("lost track of the command"))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        request.min_valid_secs = Some(margin);
        let renewed = source
            .fetch(&request)
            .map_err(anyhow::Error::from)
            .and_then(|g| {
                tokenfile::write(&path, &g.token)?;
                Ok(g)
            });
        match renewed {
            Ok(g) => {
                current = g;
                retry_delay = Duration::from_secs(1);
                margin = explicit_margin.unwrap_or_else(|| default_margin(&current));
                next_try = renew_in(&current, margin).max(Duration::from_millis(500));
            }
            Err(e) => {
                let left = current.expires_at.saturating_sub(unix_now());
                let current_state = if left == 0 {
                    "the current token has expired".to_string()
                } else {
                    format!(
                        "the current one is valid {} more",
                        humantime::format_duration(Duration::from_secs(left))
                    )
                };
                eprintln!(
                    "tok exec: could not renew the token, retrying in {}s ({current_state}): {}",
                    retry_delay.as_secs(),
                    short_reason(&format!("{e:#}"))
                );
                next_try = retry_delay;
                retry_delay = (retry_delay * 2).min(MAX_RETRY_DELAY);
            }
        }
    };
    signals.close();
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        _ => 1,
    };
    Ok(code.clamp(0, 255) as u8)
}

/// The client as the notes name it: `gfal-copy`, or `gfal-copy (run through timeout, nice)`.
fn client_name(payload: &wrappers::Unwrapped) -> String {
    let program = payload.program.to_string_lossy();
    if payload.through.is_empty() {
        program.into_owned()
    } else {
        format!("{program} (run through {})", payload.through.join(", "))
    }
}

/// The gist of a renewal failure for a line a job log can carry: no advice meant for a person
/// at a prompt ("try again later": tok exec is already retrying), at most one short line.
fn short_reason(message: &str) -> String {
    const MAX_CHARS: usize = 160;
    let text = crate::terminal::one_line(message);
    let text = text
        .split("; the login is kept")
        .next()
        .unwrap_or(&text)
        .trim_end_matches([';', ' ']);
    if text.chars().count() <= MAX_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX_CHARS - 1).collect();
    format!("{cut}…")
}

/// The selection as `tok get` flags, for a hint the user can paste (a shell word each).
fn selection_flags(select: &TokenSelection) -> String {
    let quote = |v: &str| crate::tokenfile::quote(crate::tokenfile::Shell::Posix, v);
    let mut s = String::new();
    if let Some(a) = &select.account {
        s.push_str(&format!(" -a {}", quote(a)));
    }
    if let Some(i) = &select.issuer {
        s.push_str(&format!(" --issuer {}", quote(i)));
    }
    if let Some(c) = &select.credential {
        s.push_str(&format!(" --credential {}", quote(&c.to_string_lossy())));
    }
    for v in &select.scopes {
        s.push_str(&format!(" -s {}", quote(v)));
    }
    for v in &select.audiences {
        s.push_str(&format!(" --aud {}", quote(v)));
    }
    s
}

/// max(60 s, 10 % of the lifetime), but never more than half the lifetime, so that even very
/// short-lived tokens are renewed before they expire.
fn default_margin(grant: &TokenGrant) -> u64 {
    let lifetime = grant.expires_at.saturating_sub(unix_now()).max(1);
    (MIN_MARGIN_SECS.max(lifetime / 10)).min(lifetime / 2)
}

fn renew_in(grant: &TokenGrant, margin: u64) -> Duration {
    let left = grant.expires_at.saturating_sub(unix_now());
    Duration::from_secs(left.saturating_sub(margin))
}

struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Passes SIGINT, SIGTERM, SIGHUP and SIGQUIT on to the child instead of dying of them.
fn forward_signals(child: libc::pid_t) -> Result<signal_hook::iterator::Handle> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .context("cannot install signal handlers")?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        for sig in signals.forever() {
            // SAFETY: kill(2) on the child we spawned.
            unsafe { libc::kill(child, sig) };
        }
    });
    Ok(handle)
}
