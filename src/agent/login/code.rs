//! The browser's authorization-code flow of a login (PKCE, RFC 8252 loopback redirect): listen
//! on 127.0.0.1, hand the CLI the URL to open, take the one answer with this login's state,
//! exchange its code. Nothing is stored before the exchange succeeds, not even for a new
//! account: a failed or cancelled first browser login leaves no account behind (unlike the
//! device flow, whose provisional account lets a retry reuse the client; a registration here is
//! simply made again).

use super::{finish, Choice, Login};
use crate::agent::callback::{Callback, Listener};
use crate::agent::state::{provider_failure, Failure};
use crate::config::LoginFlow;
use crate::oauth::{self, OauthError, LOOPBACK_REDIRECT_URI};
use crate::protocol::{BrowserPrompt, ErrorKind, Response};
use std::future::Future;
use std::time::Duration;

/// How long the browser has to come back, unless the CLI says otherwise (`TOK_LOGIN_TIMEOUT`).
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_BROWSER_TIMEOUT_SECS: u64 = 3600;

pub(super) async fn run<S, SF>(
    login: Login<'_>,
    choice: &Choice,
    timeout_secs: Option<u64>,
    send: S,
    cancelled: impl Future<Output = ()>,
) -> Result<Response, Failure>
where
    S: FnOnce(Response) -> SF,
    SF: Future<Output = bool>,
{
    let name = login.name.clone();
    let listener = Listener::bind().await.map_err(|e| {
        Failure::new(
            ErrorKind::Internal,
            format!("cannot listen on 127.0.0.1 for the browser's answer ({e}); use --flow device"),
        )
    })?;
    let request = oauth::authorization_request(
        &login.md,
        &login.creds,
        &login.scopes,
        &listener.redirect_uri(),
    )
    .map_err(provider_failure)?;
    // A client the provider refuses outright is told now, not after a browser showed an error
    // page tok never hears of.
    oauth::probe(&login.http, &request)
        .await
        .map_err(|e| match e {
            OauthError::Refused { code, .. } => missing_grant(&login, &code),
            other => provider_failure(other),
        })?;
    let timeout = timeout_secs
        .map(|s| Duration::from_secs(s.clamp(1, MAX_BROWSER_TIMEOUT_SECS)))
        .unwrap_or(BROWSER_TIMEOUT);
    let prompt = BrowserPrompt {
        url: request.url.clone(),
        expires_in_secs: timeout.as_secs(),
        flow_note: Some(choice.note()),
    };
    if !send(Response::BrowserLogin(prompt)).await {
        return Err(Failure::new(ErrorKind::Usage, "the client went away"));
    }
    tracing::info!(account = %name, "browser login started");
    let answer = tokio::select! {
        answer = listener.wait(|s| request.state_matches(s)) => answer,
        () = cancelled => {
            tracing::info!(account = %name, "browser login cancelled by the client");
            return Err(Failure::new(ErrorKind::Usage, "login cancelled; nothing was stored"));
        }
        () = tokio::time::sleep(timeout) => {
            tracing::info!(account = %name, "browser login timed out");
            return Err(Failure::new(
                ErrorKind::Denied,
                format!(
                    "the browser did not come back within {} (was the tab closed, or the sign-in not finished?); nothing was stored: run `tok login {name}` again, or use --flow device",
                    humantime::format_duration(timeout)
                ),
            ));
        }
    };
    let code = match answer {
        Callback::Code(code, iss) => {
            // RFC 9207: an answer that names another issuer came from another provider (a
            // mix-up attack, or two logins crossed): its code must not go to this one.
            if iss.is_some_and(|iss| !crate::net::same_issuer(&iss, &login.md.issuer)) {
                return Err(Failure::new(
                    ErrorKind::Denied,
                    format!("the browser's answer names another issuer than {} (RFC 9207 `iss`); it was not used and nothing was stored: run `tok login {name}` again", login.issuer),
                ));
            }
            code
        }
        Callback::ProviderError(error) => return Err(provider_said(&login, &error)),
    };
    let tokens = oauth::exchange_code(&login.http, &login.md, &login.creds, request, &code)
        .await
        .map_err(|e| match e {
            OauthError::InvalidClient { code, .. } if code == "unauthorized_client" => {
                missing_grant(&login, &code)
            }
            OauthError::InvalidGrant(d) => Failure::new(
                ErrorKind::Denied,
                format!(
                    "the provider did not accept the code the browser brought back (invalid_grant{}); nothing was stored: run `tok login {name}` again",
                    d.map(|d| format!(": {d}")).unwrap_or_default()
                ),
            ),
            other => {
                let f = provider_failure(other);
                Failure::new(f.kind, format!("the code exchange failed: {}; nothing was stored", f.message))
            }
        })?;
    finish(login, tokens, LoginFlow::Code).await
}

/// The provider's `error=` on the redirect, worded.
fn provider_said(login: &Login<'_>, error: &str) -> Failure {
    let name = &login.name;
    match error {
        "access_denied" => Failure::new(
            ErrorKind::Denied,
            format!("the login for `{name}` was denied at the provider (access_denied); nothing was stored: run `tok login {name}` to try again"),
        ),
        "unauthorized_client" | "unsupported_response_type" => missing_grant(login, error),
        other => Failure::new(
            ErrorKind::Denied,
            format!("the provider ended the browser login with the error `{other}`; nothing was stored: run `tok login {name}` to try again, or use --flow device"),
        ),
    }
}

/// A client that may not use the code flow: what to ask the administrators for.
fn missing_grant(login: &Login<'_>, code: &str) -> Failure {
    let id = &login.creds.client_id;
    Failure::new(
        ErrorKind::Denied,
        format!(
            "{} refused the browser login for client {id} ({code}); nothing was stored: ask its administrators to allow the authorization_code grant with redirect URI {LOOPBACK_REDIRECT_URI} for client {id}, or use --flow device",
            login.issuer
        ),
    )
}
