//! The device-code flow of a login (RFC 8628): ask for a code, show it, poll until the user
//! decides at the provider, the code expires, or the client goes away.

use super::{finish, Choice, Login};
use crate::agent::state::{client_secret_key, provider_failure, Failure};
use crate::config::LoginFlow;
use crate::oauth::{self, OauthError};
use crate::protocol::{DeviceCodePrompt, ErrorKind, Response};
use oauth2::StandardDeviceAuthorizationResponse;
use std::future::Future;

/// Asks the provider for a device code.
pub(super) async fn start(
    login: &Login<'_>,
) -> Result<StandardDeviceAuthorizationResponse, OauthError> {
    oauth::device_authorize(&login.http, &login.md, &login.creds, &login.scopes).await
}

/// Whether a refused device authorization may mean that the client lacks the device grant:
/// RFC 8628 says `unauthorized_client`; node-oidc-provider says `invalid_request` ("… is not
/// allowed for this client"), others `unsupported_grant_type`.
pub(super) fn client_lacks_grant(e: &OauthError) -> bool {
    match e {
        OauthError::InvalidClient { code, .. } => code == "unauthorized_client",
        OauthError::Refused { code, .. } => [
            "invalid_request",
            "unauthorized_client",
            "unsupported_grant_type",
        ]
        .contains(&code.as_str()),
        _ => false,
    }
}

/// The provider's error code, for a one-line note.
pub(super) fn error_code(e: &OauthError) -> &str {
    match e {
        OauthError::InvalidClient { code, .. } | OauthError::Refused { code, .. } => code,
        _ => "refused",
    }
}

/// A refused device authorization, worded: a client that may lack the device grant is told
/// what to ask its administrators for.
pub(super) fn refused(login: &Login<'_>, e: OauthError) -> Failure {
    if !client_lacks_grant(&e) {
        return provider_failure(e);
    }
    let id = &login.creds.client_id;
    Failure::new(
        ErrorKind::Denied,
        format!(
            "{} refused the device-code flow for client {id} ({e}); nothing was stored: if the client lacks that grant, ask its administrators to allow the {} grant for client {id}, or use --flow code",
            login.issuer,
            super::choose::DEVICE_GRANT
        ),
    )
}

pub(super) async fn run<S, SF>(
    login: Login<'_>,
    details: StandardDeviceAuthorizationResponse,
    choice: &Choice,
    send: S,
    cancelled: impl Future<Output = ()>,
) -> Result<Response, Failure>
where
    S: FnOnce(Response) -> SF,
    SF: Future<Output = bool>,
{
    let (state, name) = (login.state, login.name.clone());
    // A new account is kept from here on, so that `tok login NAME` can try again with the
    // same issuer, client and CA after a denied, expired or cancelled first login; not before:
    // a device answer that cannot be shown (issue 21) or a failed request leaves nothing.
    if !login.existing {
        if let Some(secret) = &login.creds.client_secret {
            state
                .store_save(client_secret_key(&name), secret.expose())
                .await?;
        }
        let provisional = login.account.clone();
        state.update_config(|c| {
            c.accounts.insert(name.clone(), provisional);
        })?;
        state.set_needs_login(&name, Some("the first login has not finished".into()));
    }

    let prompt = DeviceCodePrompt {
        verification_uri: details.verification_uri().to_string(),
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|u| u.secret().to_string()),
        user_code: details.user_code().secret().to_string(),
        expires_in_secs: details.expires_in().as_secs(),
        flow_note: Some(choice.note()),
    };
    if !send(Response::DeviceCode(prompt)).await {
        return Err(Failure::new(ErrorKind::Usage, "the client went away"));
    }
    tracing::info!(account = %name, "device login started");

    let tokens = tokio::select! {
        result = oauth::device_poll(&login.http, &login.md, &login.creds, &details) => result,
        () = cancelled => {
            tracing::info!(account = %name, "device login cancelled by the client");
            return Err(Failure::new(ErrorKind::Usage, "login cancelled"));
        }
    };
    let tokens = tokens.map_err(|e| match e {
        OauthError::AccessDenied => Failure::new(
            ErrorKind::Denied,
            format!("the login for `{name}` was denied at the provider; run `tok login {name}` to try again"),
        ),
        OauthError::Expired => Failure::new(
            ErrorKind::Denied,
            format!("the device code expired before it was approved; run `tok login {name}` again"),
        ),
        other => provider_failure(other),
    })?;
    finish(login, tokens, LoginFlow::Device).await
}
