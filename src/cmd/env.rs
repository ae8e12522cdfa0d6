//! `tok env`: put a token where grid tools look, and print the shell lines that point there.

use super::get::{token_request, Source};
use super::print_stdout;
use crate::cli::{EnvArgs, ShellKind};
use crate::error::Error;
use crate::tokenfile::{self, Shell};
use anyhow::Result;

pub fn run(args: EnvArgs) -> Result<()> {
    let shell = family(args.shell.unwrap_or_else(shell_from_env));
    let grant = Source::of(&args.select).fetch(&token_request(&args.select)?)?;
    let token = grant.token.expose();
    let lines = if args.inline {
        zeroize::Zeroizing::new(tokenfile::assignments(
            shell,
            &[("BEARER_TOKEN", token)],
            &["BEARER_TOKEN_FILE"],
        ))
    } else {
        // A BEARER_TOKEN_FILE already set (by a batch system, a wrapper) is where this
        // shell's tools look: renew that file rather than point them elsewhere.
        // One whose directory is gone is stale: then the discovery location, as usual.
        let inherited = std::env::var_os("BEARER_TOKEN_FILE")
            .filter(|p| !p.is_empty() && args.purpose.is_none())
            .map(std::path::PathBuf::from)
            .filter(|p| {
                absolute(p)
                    .ok()
                    .and_then(|a| a.parent().map(|d| d.is_dir()))
                    == Some(true)
            });
        let path = match (&args.file, inherited) {
            (Some(p), _) => absolute(p)?,
            (None, Some(p)) => absolute(&p)?,
            (None, None) => tokenfile::discovery_path(args.purpose.as_deref())?,
        };
        let path_text = path
            .to_str()
            .filter(|p| !p.contains('\n'))
            .ok_or_else(|| Error::Usage(format!("{} cannot be exported", path.display())))?
            .to_string();
        tokenfile::write(&path, &grant.token)?;
        if args.file_only {
            // A stale BEARER_TOKEN would win over the file (discovery step 1): drop it.
            zeroize::Zeroizing::new(tokenfile::assignments(
                shell,
                &[("BEARER_TOKEN_FILE", &path_text)],
                &["BEARER_TOKEN"],
            ))
        } else {
            // Both: gfal2 reads only the variable; the same token is in the file for the
            // clients that follow discovery. Running `tok env` again renews both together.
            zeroize::Zeroizing::new(tokenfile::assignments(
                shell,
                &[("BEARER_TOKEN_FILE", &path_text), ("BEARER_TOKEN", token)],
                &[],
            ))
        }
    };
    let mut lines = lines;
    if let Some(socket) = compat_socket(&args) {
        // oidc-agent's clients (oidc-token, liboidc-agent) find tok's agent too.
        lines.push_str(&tokenfile::assignments(
            shell,
            &[("OIDC_SOCK", &socket)],
            &[],
        ));
    }
    print_stdout(&lines)?;
    Ok(())
}

/// The agent's oidc-agent compatibility socket, when this token came from the agent and the
/// socket is there (it is unless `oidc_agent_socket = false`).
fn compat_socket(args: &EnvArgs) -> Option<String> {
    if args.select.credential.is_some() {
        return None;
    }
    let socket = crate::compat::socket_path();
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(&socket)
        .is_ok_and(|m| m.file_type().is_socket())
        .then(|| socket.to_str().map(str::to_string))
        .flatten()
        .filter(|s| !s.contains('\n'))
}

pub(crate) fn absolute(p: &std::path::Path) -> Result<std::path::PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    })
}

pub(crate) fn family(kind: ShellKind) -> Shell {
    match kind {
        ShellKind::Sh | ShellKind::Bash | ShellKind::Zsh => Shell::Posix,
        ShellKind::Fish => Shell::Fish,
        ShellKind::Csh | ShellKind::Tcsh => Shell::Csh,
    }
}

fn shell_from_env() -> ShellKind {
    let shell = std::env::var("SHELL").unwrap_or_default();
    match shell.rsplit('/').next().unwrap_or("") {
        "bash" => ShellKind::Bash,
        "zsh" => ShellKind::Zsh,
        "fish" => ShellKind::Fish,
        "csh" => ShellKind::Csh,
        "tcsh" => ShellKind::Tcsh,
        _ => ShellKind::Sh,
    }
}
