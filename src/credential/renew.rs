//! Using a job credential without an agent: renew an access token from its delegated refresh
//! token (storing a rotated one back before the access token is used), and revoke it. This is
//! what runs inside a batch job, where there is no socket, no store and no login.

use super::{allowed_request, client, load, metadata, save, CredentialError, CredentialLock};
use crate::oauth::{self, OauthError, Outcome};
use crate::protocol::{ErrorKind, JobCredential, TokenGrant};
use crate::refresh::{self, failure_kind, Failure, Holder};
use crate::secret::RefreshToken;
use crate::time::unix_now;
use std::path::Path;
use std::time::Duration;
/// Tries at writing a rotated refresh token back before giving up on it.
const SAVE_ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error(transparent)]
    Credential(#[from] CredentialError),
    #[error("{message}")]
    Failed { kind: ErrorKind, message: String },
}

impl RenewError {
    /// The class of failure, which the CLI maps to an exit code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RenewError::Failed { kind, .. } => *kind,
            RenewError::Credential(e) => match e {
                CredentialError::Expired { .. } => ErrorKind::NeedsLogin,
                CredentialError::Wider { .. } => ErrorKind::Denied,
                CredentialError::Write { .. } | CredentialError::Lock { .. } => ErrorKind::Internal,
                _ => ErrorKind::Usage,
            },
        }
    }
}

/// What a refresh showed of the provider's refresh-token policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// A new refresh token came back (and was written to the file): the old one is spent.
    Rotated,
    /// No new refresh token, or the same one again.
    Kept,
}

/// An access token for `scopes` and `audiences` (empty: the delegated ones) from the
/// credential at `path`. The credential stays locked from reading to rewriting.
pub fn fetch(
    path: &Path,
    scopes: &[String],
    audiences: &[String],
) -> Result<TokenGrant, RenewError> {
    fetch_noting_rotation(path, scopes, audiences).map(|(grant, _)| grant)
}

/// A job credential as a refresh-token [`Holder`]: the file, locked for one refresh; a rotation
/// is written back (with a few tries) before its access token is used.
struct FileHolder<'a> {
    path: &'a Path,
    credential: JobCredential,
    _lock: CredentialLock,
}

impl FileHolder<'_> {
    fn open(path: &Path) -> Result<FileHolder<'_>, RenewError> {
        let lock = CredentialLock::acquire(path)?;
        let credential = load(path)?;
        if unix_now() >= credential.not_after {
            return Err(CredentialError::Expired {
                path: path.to_path_buf(),
                not_after: crate::time::rfc3339(credential.not_after),
            }
            .into());
        }
        Ok(FileHolder {
            path,
            credential,
            _lock: lock,
        })
    }
}

impl Holder for FileHolder<'_> {
    async fn load(&mut self) -> Result<RefreshToken, Failure> {
        Ok(self.credential.refresh_token.clone())
    }

    async fn commit(&mut self, rotated: &RefreshToken) -> Result<(), Failure> {
        self.credential.refresh_token = rotated.clone();
        save_rotated(self.path, &self.credential)
    }

    fn explain(&self, outcome: Outcome, e: &OauthError) -> String {
        let path = self.path.display();
        match outcome {
            Outcome::LoginNeeded => format!("the provider no longer accepts the job credential {path} ({e}): it was revoked, expired there, or a copy of it was used after a rotation; delegate a new one with `tok delegate`"),
            Outcome::TryLater => format!("cannot renew a token from {path}: {e}; the credential is kept, try again later"),
            Outcome::Misconfigured => format!("{path}: {e}"),
            Outcome::Refused => format!("renewing from {path}: {e}"),
        }
    }
}

/// [`fetch`], saying whether the provider rotated the refresh token.
pub fn fetch_noting_rotation(
    path: &Path,
    scopes: &[String],
    audiences: &[String],
) -> Result<(TokenGrant, Rotation), RenewError> {
    let mut holder = FileHolder::open(path)?;
    let credential = &holder.credential;
    let (scopes, audiences) = allowed_request(path, credential, scopes, audiences)?;
    let http = http_client(path, credential)?;
    let (md, creds) = (metadata(credential), client(credential));
    let param = credential.audience_param;
    let (account, issuer) = (credential.account.clone(), credential.issuer.clone());
    let refreshed = runtime()?.block_on(refresh::run(&mut holder, |token| {
        let (http, md, creds, scopes, audiences) = (&http, &md, &creds, &scopes, &audiences);
        async move { oauth::refresh(http, md, creds, &token, scopes, audiences, param).await }
    }))?;
    drop(holder);
    let rotation = if refreshed.rotated {
        Rotation::Rotated
    } else {
        Rotation::Kept
    };
    let tokens = refreshed.tokens;
    let grant = TokenGrant {
        token: tokens.access_token,
        expires_at: refreshed.expires_at,
        scopes: tokens.scopes.filter(|s| !s.is_empty()).unwrap_or(scopes),
        audiences,
        account,
        issuer,
        warning: None,
        login_warning: None,
    };
    Ok((grant, rotation))
}

/// RFC 7009 revocation of the delegated refresh token (nothing of the user's own grant), then
/// the file goes. Returns the revoked credential (for its id).
pub fn revoke(path: &Path) -> Result<JobCredential, RenewError> {
    let lock = CredentialLock::acquire(path)?;
    let credential = load(path)?;
    revoke_credential(&credential, path)?;
    std::fs::remove_file(path).map_err(|source| CredentialError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    lock.remove();
    Ok(credential)
}

/// Revokes the credential's refresh token at the provider; `path` only names it in messages.
pub fn revoke_credential(credential: &JobCredential, path: &Path) -> Result<(), RenewError> {
    if credential.revocation_endpoint.is_none() {
        return Err(RenewError::Failed {
            kind: ErrorKind::Denied,
            message: format!(
                "{} lists no revocation endpoint, so the credential in {} stays valid at the provider until it expires ({}); delete the file to stop using it",
                credential.issuer,
                path.display(),
                crate::time::rfc3339(credential.not_after)
            ),
        });
    }
    let http = http_client(path, credential)?;
    runtime()?
        .block_on(oauth::revoke(
            &http,
            &metadata(credential),
            &client(credential),
            &credential.refresh_token,
        ))
        .map_err(|e| match e {
            OauthError::Transient(m) => RenewError::Failed {
                kind: ErrorKind::Provider,
                message: format!(
                    "cannot revoke the credential in {}: {m}; the file is kept, try again later",
                    path.display()
                ),
            },
            other => RenewError::Failed {
                kind: ErrorKind::Denied,
                message: format!(
                    "the provider did not revoke the credential in {} ({other}); the file is kept",
                    path.display()
                ),
            },
        })
}

/// A rotated refresh token is the only valid copy: try hard to store it before anything uses
/// its access token.
fn save_rotated(path: &Path, credential: &JobCredential) -> Result<(), Failure> {
    let mut attempt = 1;
    loop {
        match save(path, credential) {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= SAVE_ATTEMPTS => {
                return Err(Failure {
                    kind: ErrorKind::Internal,
                    message: format!(
                        "the provider rotated the refresh token in {} and the new one could not be written ({e}); the credential is no longer usable: free the disk or fix the permissions, then delegate a new one with `tok delegate`",
                        path.display()
                    ),
                })
            }
            Err(_) => {
                std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
                attempt += 1;
            }
        }
    }
}

fn http_client(path: &Path, credential: &JobCredential) -> Result<reqwest::Client, RenewError> {
    let source = format!("the CA certificates in {}", path.display());
    let extra = credential
        .ca_pem
        .as_deref()
        .map(|pem| (pem.as_bytes(), source.as_str()));
    oauth::http_client_trusting(extra).map_err(|e| provider_error(path, e))
}

fn runtime() -> Result<tokio::runtime::Runtime, RenewError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RenewError::Failed {
            kind: ErrorKind::Internal,
            message: format!("cannot start the async runtime: {e}"),
        })
}

fn provider_error(path: &Path, e: OauthError) -> RenewError {
    let outcome = e.outcome();
    RenewError::Failed {
        kind: failure_kind(outcome),
        message: format!("{}: {e}", path.display()),
    }
}

impl From<Failure> for RenewError {
    fn from(f: Failure) -> Self {
        RenewError::Failed {
            kind: f.kind,
            message: f.message,
        }
    }
}
