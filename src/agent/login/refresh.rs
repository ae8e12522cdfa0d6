//! `tok login --flow refresh`: a refresh token obtained elsewhere (a headless set-up), checked by
//! one refresh at the provider before anything is stored. A token the provider refuses leaves
//! nothing behind; one it rotates is stored as rotated (the given one is then spent).

use super::{finish, Login};
use crate::agent::state::{provider_failure, Failure};
use crate::config::LoginFlow;
use crate::oauth::{self, OauthError};
use crate::protocol::{ErrorKind, Response};
use crate::secret::RefreshToken;

pub(super) async fn run(login: Login<'_>, token: RefreshToken) -> Result<Response, Failure> {
    let result = oauth::refresh(
        &login.http,
        &login.md,
        &login.creds,
        &token,
        &[],
        &[],
        login.account.audience_param,
    )
    .await;
    let mut tokens = match result {
        Ok(t) => t,
        Err(e @ (OauthError::InvalidGrant(_) | OauthError::InvalidClient { .. } | OauthError::Refused { .. })) => {
            return Err(Failure::new(
                ErrorKind::Denied,
                format!(
                    "the provider did not accept this refresh token: {e}; nothing was stored (is it for client {} at {}?)",
                    login.creds.client_id, login.issuer
                ),
            ))
        }
        Err(e) => {
            let f = provider_failure(e);
            return Err(Failure::new(f.kind, format!("{}; nothing was stored", f.message)));
        }
    };
    // Without rotation the provider sends no new refresh token: the given one stays valid.
    if tokens.refresh_token.is_none() {
        tokens.refresh_token = Some(token);
    }
    finish(login, tokens, LoginFlow::Refresh).await
}
