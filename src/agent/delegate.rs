//! `tok delegate` in the agent: trade a fresh access token of the account for a delegated
//! refresh token on a new, narrowed grant (RFC 8693 offline delegation), record the delegation,
//! and hand the job credential to the CLI, which writes it where the user asked.

use super::delegations;
use super::state::{provider_failure, Failure, State};
use super::tokens::get_token;
use crate::oauth::{self, OauthError};
use crate::protocol::{
    DelegateRequest, DelegationStatus, ErrorKind, JobCredential, Response, TokenRequest,
    CREDENTIAL_FORMAT,
};
use crate::time::unix_now;

/// The subject token must outlive the exchange comfortably.
const SUBJECT_MIN_VALID_SECS: u64 = 60;
/// Scopes every login has that mean nothing to a job.
const LOGIN_ONLY_SCOPES: &[&str] = &["openid", "offline_access"];

const ALTERNATIVES: &str = "alternatives: run the job where a tok agent runs (`tok exec`), give it one long-lived token (`tok get --min-valid 12h`, if the provider issues such tokens), or use the site's HTCondor credmon or htgettoken (Vault)";

pub async fn delegate(state: &State, req: DelegateRequest) -> Result<Response, Failure> {
    if req.lifetime_secs == 0 {
        return Err(Failure::new(
            ErrorKind::Usage,
            "the credential's lifetime must be longer than 0s",
        ));
    }
    let config = state.config()?;
    let name = config
        .resolve(req.account.as_deref(), req.issuer.as_deref())
        .map_err(|m| Failure::new(ErrorKind::Usage, m))?;
    let account = config.accounts[&name].clone();
    let http = state.http(account.ca_file.as_deref()).await?;
    let md = state.metadata(&http, &account.issuer, false).await?;
    if oauth::exchange_unsupported(&md) {
        return Err(Failure::new(
            ErrorKind::Denied,
            format!(
                "{} does not offer RFC 8693 token exchange (its grant_types_supported lacks {}), so tok cannot delegate a job credential there; {ALTERNATIVES}",
                account.issuer,
                oauth::TOKEN_EXCHANGE_GRANT
            ),
        ));
    }
    let scopes: Vec<String> = if req.scopes.is_empty() {
        account
            .scopes
            .iter()
            .filter(|s| !LOGIN_ONLY_SCOPES.contains(&s.as_str()))
            .cloned()
            .collect()
    } else {
        req.scopes.clone()
    };
    let subject = get_token(
        state,
        TokenRequest::login_token(&name, SUBJECT_MIN_VALID_SECS),
    )
    .await?;
    let creds = state.creds(&name, &account).await?;
    tracing::info!(account = %name, scopes = ?scopes, audiences = ?req.audiences, "delegating a job credential (token exchange)");
    let delegated = oauth::delegate(
        &http,
        &md,
        &creds,
        &subject.token,
        &scopes,
        &req.audiences,
        account.audience_param,
    )
    .await
    .map_err(|e| exchange_failure(&name, &account.issuer, &creds.client_id, e))?;

    let now = unix_now();
    let mut not_after = now.saturating_add(req.lifetime_secs);
    if let Some(lifetime) = delegated.lifetime {
        not_after = not_after.min(now.saturating_add(lifetime.as_secs()));
    }
    let ca_pem = match &account.ca_file {
        Some(path) => Some(read_ca(path).await?),
        None => None,
    };
    let credential = JobCredential {
        tok_credential: CREDENTIAL_FORMAT,
        id: delegations::new_id(),
        account: name.clone(),
        issuer: account.issuer.clone(),
        token_endpoint: md.token_endpoint.clone(),
        revocation_endpoint: md.revocation_endpoint.clone(),
        client_id: creds.client_id.clone(),
        client_auth: oauth::client_auth_method(&md, &creds).map(str::to_string),
        client_secret: creds.client_secret,
        refresh_token: delegated.refresh_token,
        scopes,
        audiences: req.audiences,
        audience_param: account.audience_param,
        created_at: now,
        not_after,
        ca_pem,
    };
    let status = DelegationStatus {
        id: credential.id.clone(),
        created_at: now,
        not_after,
        scopes: credential.scopes.clone(),
        audiences: credential.audiences.clone(),
        fingerprint: delegations::fingerprint(credential.refresh_token.expose()),
    };
    tracing::info!(
        account = %name,
        id = %status.id,
        fingerprint = %status.fingerprint,
        scopes = ?status.scopes,
        audiences = ?status.audiences,
        not_after = %crate::time::rfc3339(not_after),
        "delegated a job credential"
    );
    record(delegations::Entry {
        account: name,
        status,
    })
    .await;
    Ok(Response::Delegated(credential))
}

/// Drops a revoked credential from the live delegations.
pub async fn forget(id: String) -> Result<Response, Failure> {
    let path = crate::dirs::delegations_file();
    let now = unix_now();
    let result = tokio::task::spawn_blocking(move || {
        delegations::update(&path, now, |r| r.delegations.retain(|e| e.status.id != id))
    })
    .await;
    if let Ok(Err(e)) | Err(e) = result.map_err(std::io::Error::other) {
        tracing::warn!("cannot update the delegation record: {e}");
    }
    Ok(Response::Done)
}

async fn record(entry: delegations::Entry) {
    let path = crate::dirs::delegations_file();
    let now = unix_now();
    let result = tokio::task::spawn_blocking(move || {
        delegations::update(&path, now, |r| r.delegations.push(entry))
    })
    .await;
    // The log line above is the record of last resort; the credential is valid either way.
    if let Ok(Err(e)) | Err(e) = result.map_err(std::io::Error::other) {
        tracing::warn!("cannot write the delegation record: {e}");
    }
}

async fn read_ca(path: &str) -> Result<String, Failure> {
    let owned = path.to_string();
    tokio::task::spawn_blocking(move || std::fs::read_to_string(&owned))
        .await
        .map_err(|e| Failure::new(ErrorKind::Internal, format!("CA read task failed: {e}")))?
        .map_err(|e| {
            Failure::new(
                ErrorKind::Usage,
                format!("cannot read the account's CA file {path} to put into the credential: {e}"),
            )
        })
}

fn exchange_failure(name: &str, issuer: &str, client_id: &str, e: OauthError) -> Failure {
    match &e {
        OauthError::Refused { code, .. } if code == "unsupported_grant_type" => Failure::new(
            ErrorKind::Denied,
            format!("{issuer} refused RFC 8693 token exchange ({e}), so tok cannot delegate a job credential there; {ALTERNATIVES}"),
        ),
        OauthError::InvalidClient { code, .. } if code == "unauthorized_client" => Failure::new(
            ErrorKind::Denied,
            format!("the client `{client_id}` of account `{name}` may not use token exchange at {issuer} ({e}); ask the provider's administrators to allow it, or register a new client with `tok logout {name} --forget` and `tok login {name} --issuer {issuer}` (tok asks for token exchange when it registers); {ALTERNATIVES}"),
        ),
        OauthError::InvalidGrant(_) => Failure::new(
            ErrorKind::Denied,
            format!("{issuer} refused the account's access token as the subject of the exchange ({e}); try again, or `tok login {name}`"),
        ),
        OauthError::Transient(_) => Failure::new(
            ErrorKind::Provider,
            format!("cannot delegate from `{name}`: {e}; nothing was delegated, try again later"),
        ),
        _ => {
            let mut f = provider_failure(e);
            f.message = format!("cannot delegate from `{name}`: {}", f.message);
            f
        }
    }
}
