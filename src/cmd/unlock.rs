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
    // Sent without the automatic unlock of `request`, which would prompt by itself and then
    // resend this very request with the first passphrase.
    let send = |passphrase: Passphrase| -> Result<(), Error> {
        let socket = crate::dirs::socket_path();
        crate::client::call_with_restart(&socket, || Request::Unlock {
            passphrase: passphrase.clone(),
        })
        .and_then(|(_, r)| crate::client::into_result(r))
        .map(drop)
    };
    if let Some(path) = &args.passphrase_file {
        send(read_passphrase_file(path)?)?;
        eprintln!("tok: store unlocked");
        return Ok(());
    }
    // Stores without a passphrase only need the agent's lock lifted; the file store answers
    // that it needs its passphrase, which is then asked for (three tries on a terminal).
    match send(Passphrase::new("")) {
        Ok(()) => {
            eprintln!("tok: agent unlocked");
            return Ok(());
        }
        Err(Error::Agent {
            kind: ErrorKind::Locked,
            ..
        }) => {}
        Err(e) => return Err(e.into()),
    }
    let mut tries = 0;
    loop {
        tries += 1;
        match send(prompt()?) {
            Ok(()) => {
                eprintln!("tok: store unlocked");
                return Ok(());
            }
            Err(Error::Agent {
                kind: ErrorKind::Locked,
                message,
            }) if tries < 3 => eprintln!("tok: {message}"),
            Err(e) => return Err(e.into()),
        }
    }
}

pub fn lock() -> Result<()> {
    request(|| Request::Lock)?;
    eprintln!("tok: locked: cached access tokens dropped, no tokens are served until `tok unlock`");
    Ok(())
}

/// Reads a passphrase file; like ssh with a private key, refuses one that group or others
/// may read or change (issue 21).
pub(crate) fn read_passphrase_file(path: &Path) -> Result<Passphrase> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let read_err = || format!("cannot read the passphrase file {}", path.display());
    let mut file = std::fs::File::open(path).with_context(read_err)?;
    let meta = file.metadata().with_context(read_err)?;
    let mode = meta.mode() & 0o7777;
    if meta.is_file() && mode & 0o077 != 0 {
        return Err(Error::Usage(format!(
            "the passphrase file {} is open to group or others (mode {mode:04o}); nothing was read: run `chmod 600 {}` and try again",
            path.display(),
            path.display()
        ))
        .into());
    }
    // Sized up front, so that growing leaves no copy of the passphrase behind.
    let size = usize::try_from(meta.len()).unwrap_or(0).min(1 << 16) + 1;
    let mut text = zeroize::Zeroizing::new(String::with_capacity(size));
    file.read_to_string(&mut text).with_context(read_err)?;
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
    // A store that does not exist yet takes the first passphrase it is given: ask twice.
    let new_store = !crate::dirs::store_file().exists();
    let mut ask = dialoguer::Password::new();
    if new_store {
        ask = ask
            .with_prompt("new passphrase for tok's encrypted store")
            .with_confirmation("repeat it", "the two passphrases differ; try again");
    } else {
        ask = ask.with_prompt("tok store passphrase");
    }
    let pass = ask.interact().context("cannot read the passphrase")?;
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
