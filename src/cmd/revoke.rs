//! `tok revoke --credential FILE`: end a job credential at the provider and remove the file.
//! Works from the submit side or inside the job, with or without an agent.

use crate::cli::RevokeArgs;
use crate::client::Connection;
use crate::protocol::Request;
use anyhow::Result;

pub fn run(args: RevokeArgs) -> Result<()> {
    let cred = crate::credential::renew::revoke(&args.credential)?;
    eprintln!(
        "tok revoke: revoked the job credential {} (id {}) at {} and removed the file",
        args.credential.display(),
        cred.id,
        cred.issuer
    );
    // A running agent stops listing it; none is started for this.
    if let Ok(mut conn) = Connection::connect(&crate::dirs::socket_path()) {
        let _ = conn.call(Request::ForgetDelegation { id: cred.id });
    }
    Ok(())
}
