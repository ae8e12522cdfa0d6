//! `tok get`: the hot path. Parse, connect, one round trip, print — no runtime, no TLS. With
//! `--credential` it renews from a job credential instead, with no agent at all.

use super::{print_stdout, request, rfc3339, unexpected};
use crate::cli::{Format, GetArgs, TokenSelection};
use crate::error::Error;
use crate::protocol::{Request, Response, TokenGrant, TokenRequest};
use crate::scope::{normalise_audiences, normalise_scopes};
use anyhow::Result;

pub fn run(mut args: GetArgs) -> Result<()> {
    if let Some(name) = args.name.take() {
        args.select.account = Some(name);
    }
    let source = Source::of(&args.select);
    let grant = source.fetch(&token_request(&args.select)?)?;
    let text = match args.format {
        Format::Token => format!("{}\n", grant.token.expose()),
        Format::Header => format!("Authorization: Bearer {}\n", grant.token.expose()),
        // RFC 6750 tokens need no quoting (tok refuses any other).
        Format::Env => format!(
            "BEARER_TOKEN={}\nBEARER_TOKEN_EXPIRES_AT={}\n",
            grant.token.expose(),
            grant.expires_at
        ),
        Format::Json => {
            let value = serde_json::json!({
                "access_token": grant.token.expose(),
                "token_type": "Bearer",
                "expires_at": grant.expires_at,
                "expires_at_rfc3339": rfc3339(grant.expires_at),
                "scope": grant.scopes.join(" "),
                "audience": grant.audiences,
                "account": grant.account,
                "issuer": grant.issuer,
            });
            let mut s = serde_json::to_string_pretty(&value).expect("json");
            s.push('\n');
            s
        }
    };
    let text = zeroize::Zeroizing::new(text);
    print_stdout(&text)?;
    if args.inspect {
        super::inspect::to_stderr(grant.token.expose());
    }
    Ok(())
}

/// Turns the command-line selection into a normalised request.
pub(crate) fn token_request(select: &TokenSelection) -> Result<TokenRequest, Error> {
    Ok(TokenRequest {
        account: select.account.clone(),
        issuer: select.issuer.clone(),
        scopes: normalise_scopes(&select.scopes).map_err(|e| Error::Usage(e.to_string()))?,
        audiences: normalise_audiences(&select.audiences)
            .map_err(|e| Error::Usage(e.to_string()))?,
        min_valid_secs: select.min_valid.map(|d| d.as_secs()),
        exact_scope: select.exact_scope,
        force: select.force,
    })
}

/// Where tokens come from: the agent, or a job credential used without one.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Agent,
    Credential(std::path::PathBuf),
}

impl Source {
    pub(crate) fn of(select: &TokenSelection) -> Self {
        match &select.credential {
            Some(path) => Source::Credential(path.clone()),
            None => Source::Agent,
        }
    }

    /// One token: from the agent (starting it if needed), or renewed from the credential.
    pub(crate) fn fetch(&self, req: &TokenRequest) -> Result<TokenGrant, Error> {
        match self {
            Source::Agent => {
                let (_conn, response) = request(|| Request::Token(req.clone()))?;
                match response {
                    Response::Token(grant) => {
                        if let Some(warning) = &grant.warning {
                            eprintln!("tok: warning: {}", crate::terminal::printable(warning));
                        }
                        // Stderr only: stdout carries the token.
                        if let Some(warning) = &grant.login_warning {
                            eprintln!("tok: {}", crate::terminal::printable(warning));
                        }
                        Ok(grant)
                    }
                    other => Err(unexpected(&other)),
                }
            }
            Source::Credential(path) => Ok(crate::credential::renew::fetch(
                path,
                &req.scopes,
                &req.audiences,
            )?),
        }
    }
}
