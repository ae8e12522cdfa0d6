//! `tok unlock` / `tok lock`: hand the file store's passphrase to the agent, or take it back.

use super::request;
use crate::cli::UnlockArgs;
use crate::error::Error;
use crate::protocol::{ErrorKind, Request};
use crate::secret::Passphrase;
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::path::Path;

pub fn unlock(args: UnlockArgs) -> Result<()> {
    let passphrase = match &args.passphrase_file {
        Some(path) => read_passphrase_file(path)?,
        None => {
            // Stores without a passphrase only need the agent's lock lifted; the file store
            // answers that it needs its passphrase, which is then asked for.
            // Asked without the automatic unlock of `request`, which would prompt itself.
            let socket = crate::dirs::socket_path();
            let asked = crate::client::call_with_restart(&socket, || Request::Unlock {
                passphrase: Passphrase::new(""),
            })
            .and_then(|(_, r)| crate::client::into_result(r));
            match asked {
                Ok(_) => {
                    eprintln!("tok: agent unlocked");
                    return Ok(());
                }
                Err(Error::Agent {
                    kind: ErrorKind::Locked,
                    ..
                }) => prompt()?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    request(|| Request::Unlock {
        passphrase: passphrase.clone(),
    })?;
    eprintln!("tok: store unlocked");
    Ok(())
}

pub fn lock() -> Result<()> {
    request(|| Request::Lock)?;
    eprintln!("tok: locked: cached access tokens dropped, no tokens are served until `tok unlock`");
    Ok(())
}

fn read_passphrase_file(path: &Path) -> Result<Passphrase> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the passphrase file {}", path.display()))?,
    );
    let pass = text.trim_end_matches(['\n', '\r']);
    if pass.is_empty() {
        return Err(
            Error::Usage(format!("the passphrase file {} is empty", path.display())).into(),
        );
    }
    Ok(Passphrase::new(pass))
}

fn prompt() -> Result<Passphrase> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Agent {
            kind: ErrorKind::Locked,
            message: "no terminal to ask for the store passphrase; use --passphrase-file or TOK_PASSPHRASE_FILE".into(),
        }
        .into());
    }
    let pass = dialoguer::Password::new()
        .with_prompt("tok store passphrase")
        .interact()
        .context("cannot read the passphrase")?;
    Ok(Passphrase::new(pass))
}

/// A passphrase for an automatic unlock: from TOK_PASSPHRASE_FILE, or asked on a terminal.
pub(crate) fn passphrase_if_available() -> Result<Option<Passphrase>, Error> {
    if let Some(path) = std::env::var_os("TOK_PASSPHRASE_FILE").filter(|p| !p.is_empty()) {
        return read_passphrase_file(Path::new(&path))
            .map(Some)
            .map_err(|e| Error::Usage(format!("{e:#}")));
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        return prompt()
            .map(Some)
            .map_err(|e| Error::Usage(format!("{e:#}")));
    }
    Ok(None)
}
