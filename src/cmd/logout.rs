//! `tok logout`: revoke at the provider (RFC 7009), then forget locally.

use super::{request, unexpected};
use crate::cli::LogoutArgs;
use crate::protocol::{Request, Response};
use anyhow::Result;

/// The account `tok logout` means when none is named: the only one there is.
fn only_account() -> Result<String, crate::error::Error> {
    let config = crate::config::Config::load(&crate::dirs::config_file())
        .map_err(|e| crate::error::Error::Usage(e.to_string()))?;
    let names: Vec<&String> = config.accounts.keys().collect();
    match names.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(crate::error::Error::Usage(
            "no account to log out of".into(),
        )),
        many => Err(crate::error::Error::Usage(format!(
            "several accounts; name the one to log out of: {}",
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub fn run(args: LogoutArgs) -> Result<()> {
    let name = match &args.name {
        Some(n) => n.clone(),
        None => only_account()?,
    };
    let (_conn, response) = request(|| Request::Logout {
        account: name.clone(),
        keep_remote: args.keep_remote,
        forget: args.forget,
    })?;
    let Response::LoggedOut {
        account,
        revoked,
        note,
    } = response
    else {
        return Err(unexpected(&response).into());
    };
    if revoked {
        eprintln!("tok: logged out of {account}; the refresh token was revoked at the provider");
    } else {
        eprintln!("tok: logged out of {account}; the refresh token was forgotten here");
    }
    if let Some(note) = note {
        eprintln!("tok: note: {}", crate::terminal::printable(&note));
    }
    Ok(())
}
