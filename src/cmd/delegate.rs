//! `tok delegate`: ask the agent for a job credential and write it, 0600 and atomically, where
//! the user said; a summary goes to stderr and nothing to stdout. A first refresh from the
//! written credential tells whether the provider rotates refresh tokens, which decides whether
//! jobs may share one credential (issue 21).

use super::{request, rfc3339, unexpected};
use crate::cli::DelegateArgs;
use crate::credential;
use crate::credential::renew::Rotation;
use crate::error::Error;
use crate::protocol::{DelegateRequest, JobCredential, Request, Response};
use crate::scope::{normalise_audiences, normalise_scopes};
use crate::time::unix_now;
use anyhow::Result;
use std::path::Path;
use std::time::Duration;

pub fn run(args: DelegateArgs) -> Result<()> {
    let out = super::env::absolute(&args.out)?;
    // Refuse an unsafe or impossible place before anything is delegated.
    crate::tokenfile::check_target(&out).map_err(|e| Error::Usage(e.to_string()))?;
    let lifetime = args.lifetime.as_secs();
    let req = DelegateRequest {
        account: args.account.clone(),
        issuer: args.issuer.clone(),
        scopes: normalise_scopes(&args.scopes).map_err(|e| Error::Usage(e.to_string()))?,
        audiences: normalise_audiences(&args.audiences).map_err(|e| Error::Usage(e.to_string()))?,
        lifetime_secs: lifetime,
    };
    let (_conn, response) = request(|| Request::Delegate(req.clone()))?;
    let Response::Delegated(cred) = response else {
        return Err(unexpected(&response).into());
    };
    if let Err(e) = credential::save(&out, &cred) {
        // A delegated token nobody holds should not stay valid at the provider.
        let undone = match credential::renew::revoke_credential(&cred, &out) {
            Ok(()) => "it was revoked again".to_string(),
            Err(r) => {
                format!("revoking it again failed too ({r}): it stays valid until it expires")
            }
        };
        return Err(Error::Usage(format!("cannot write the job credential: {e}; {undone}")).into());
    }
    let rotation = first_refresh(&out);
    eprint!("{}", summary(&cred, &out, lifetime));
    eprintln!("{}", rotation_line(&rotation));
    Ok(())
}

/// One refresh from the new credential, the one place its rotation shows: RFC 8693 answers
/// carry nothing about it. A rotated token is written back before this returns.
fn first_refresh(out: &Path) -> Result<Rotation, String> {
    credential::renew::fetch_noting_rotation(out, &[], &[])
        .map(|(_, rotation)| rotation)
        .map_err(|e| crate::terminal::one_line(&e.to_string()))
}

/// The summary's last line; scripts (tok-condor-submit, tok-arc-job) read its first word.
fn rotation_line(rotation: &Result<Rotation, String>) -> String {
    match rotation {
        Ok(Rotation::Rotated) => "  rotation:    yes — the provider rotated the refresh token at a first refresh (the file holds the new one): give each job its own credential, since jobs sharing one would spend each other's token and the provider may then end the grant".to_string(),
        Ok(Rotation::Kept) => "  rotation:    no — the provider kept the refresh token at a first refresh: jobs may share this credential (a provider that rotates only later, e.g. near expiry, does not show here)".to_string(),
        Err(reason) => format!("  rotation:    unknown — a first refresh failed ({reason}): at a provider that rotates refresh tokens, give each job its own credential"),
    }
}

fn summary(cred: &JobCredential, out: &Path, asked_secs: u64) -> String {
    let human = |s: u64| humantime::format_duration(Duration::from_secs(s)).to_string();
    let valid = cred.not_after.saturating_sub(unix_now());
    let capped = if cred.not_after < cred.created_at.saturating_add(asked_secs) {
        format!(" — capped by the provider ({} asked)", human(asked_secs))
    } else {
        String::new()
    };
    let mut s = format!(
        "tok delegate: wrote the job credential {} (0600)\n",
        out.display()
    );
    s.push_str(&format!(
        "  from:        account {} at {}\n",
        cred.account, cred.issuer
    ));
    s.push_str(&format!("  scopes:      {}\n", cred.scopes.join(" ")));
    s.push_str(&format!(
        "  audiences:   {}\n",
        if cred.audiences.is_empty() {
            "none asked (the provider's default)".to_string()
        } else {
            cred.audiences.join(" ")
        }
    ));
    s.push_str(&format!(
        "  valid until: {} ({}){capped}\n",
        rfc3339(cred.not_after),
        human(valid)
    ));
    s.push_str(&format!(
        "  id:          {} (`tok status` lists it; `tok revoke --credential {}` ends it)\n",
        cred.id,
        out.display()
    ));
    if cred.client_secret.is_some() {
        s.push_str(&format!(
            "  note: the file also holds the secret of the confidential client `{}`; keep it as private as a password\n",
            cred.client_id
        ));
    }
    s
}
