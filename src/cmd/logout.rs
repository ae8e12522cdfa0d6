//! `tok logout`: revoke at the provider (RFC 7009), then forget locally.

use super::{request, unexpected};
use crate::cli::LogoutArgs;
use crate::protocol::{Request, Response};
use anyhow::Result;

pub fn run(args: LogoutArgs) -> Result<()> {
    let (_conn, response) = request(|| Request::Logout {
        account: args.name.clone(),
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
