//! `tok store migrate --to KIND`: the agent copies every login into another store; this side
//! supplies a passphrase for a file store and says how to switch.

use super::{request, unexpected};
use crate::cli::StoreCommand;
use crate::protocol::{Request, Response};
use crate::store::StoreKind;
use anyhow::Result;

pub fn run(command: StoreCommand) -> Result<()> {
    let StoreCommand::Migrate(args) = command;
    let passphrase = if args.to == StoreKind::File {
        super::unlock::passphrase_if_available()?
    } else {
        None
    };
    let (_conn, response) = request(|| Request::Migrate {
        to: args.to,
        passphrase: passphrase.clone(),
    })?;
    let Response::Migrated { accounts, to } = response else {
        return Err(unexpected(&response).into());
    };
    if accounts.is_empty() {
        eprintln!("tok: no login to copy");
        return Ok(());
    }
    eprintln!(
        "tok: copied the logins of {} to the {to} store (the current store keeps them too)",
        accounts.join(", ")
    );
    eprintln!("tok: to use it: tok agent stop && TOK_STORE={to} tok agent start (and set TOK_STORE={to} where the agent is started on demand)");
    Ok(())
}
