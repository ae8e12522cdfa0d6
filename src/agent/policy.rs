//! What the agent requires before it hands out a token, per account and for itself, and the
//! record it keeps: the agent lock (`tok lock`, for every store), the login's lifetime
//! (`tok login --lifetime`: the refresh token is forgotten when it ends), confirmation of each
//! use (`tok login --confirm`, asked through `TOK_ASKPASS`), and the audit trail.

use super::audit::Event;
use super::holder::forget_login;
use super::peer::{Peer, PeerInfo};
use super::state::{Failure, State};
use super::tokens::get_token_traced;
use crate::protocol::{DelegateRequest, ErrorKind, Response, TokenGrant, TokenRequest};
use crate::time::unix_now;
use std::sync::Arc;
use std::time::Duration;

/// How long a confirmation prompt may stay unanswered before the request is refused.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the agent looks for logins whose lifetime ended.
pub const LIFETIME_SWEEP: Duration = Duration::from_secs(30);

pub async fn serve_token(
    state: &Arc<State>,
    req: TokenRequest,
    peer: &Peer,
) -> Result<TokenGrant, Failure> {
    let name = admit(state, req.account.as_deref(), req.issuer.as_deref()).await?;
    let info = peer.describe();
    confirm_use(state, &name, "a token", &req.scopes, &req.audiences, &info).await?;
    let (grant, origin) = get_token_traced(state, req).await?;
    // A `tok lock` that began meanwhile drops the token (a rotation was stored already).
    state.gate.still_open()?;
    let mut event = Event::new(
        origin.as_str(),
        &name,
        &grant.scopes,
        &grant.audiences,
        &info,
    );
    event.jti = crate::oauth::jwt_id(&grant.token);
    event.exp = Some(grant.expires_at);
    state.audit.record(&event);
    Ok(grant)
}

pub async fn delegate(
    state: &Arc<State>,
    req: DelegateRequest,
    peer: &Peer,
) -> Result<Response, Failure> {
    let name = admit(state, req.account.as_deref(), req.issuer.as_deref()).await?;
    let info = peer.describe();
    confirm_use(
        state,
        &name,
        "a job credential",
        &req.scopes,
        &req.audiences,
        &info,
    )
    .await?;
    let response = super::delegate::delegate(state, req).await?;
    state.gate.still_open()?;
    if let Response::Delegated(cred) = &response {
        let mut event = Event::new("delegated", &name, &cred.scopes, &cred.audiences, &info);
        event.exp = Some(cred.not_after);
        event.note = Some(format!("id {}", cred.id));
        state.audit.record(&event);
    }
    Ok(response)
}

/// The account a request means, once the agent is unlocked and the login still within its
/// lifetime.
async fn admit(
    state: &State,
    account: Option<&str>,
    issuer: Option<&str>,
) -> Result<String, Failure> {
    state.gate.open()?;
    let config = state.config()?;
    if config.accounts.is_empty() {
        // Nothing is wrong with the command: a login is what is missing (exit 3).
        return Err(Failure::new(
            ErrorKind::NeedsLogin,
            "no account yet; run `tok login NAME --issuer URL`, or `tok login NAME` with a preset from `tok issuers`",
        ));
    }
    let name = config
        .resolve(account, issuer)
        .map_err(|m| Failure::new(ErrorKind::Usage, m))?;
    if let Some(end) = config.accounts[&name].login_not_after {
        if unix_now() >= end {
            forget_expired_login(state, &name, end).await?;
            return Err(Failure::new(
                ErrorKind::NeedsLogin,
                format!(
                    "the login of `{name}` ended at {} (its --lifetime); the refresh token was forgotten: run `tok login {name}`",
                    crate::time::rfc3339(end)
                ),
            ));
        }
    }
    Ok(name)
}

/// Forgets the refresh token and the cached tokens of a login past its lifetime.
pub async fn forget_expired_login(state: &State, name: &str, end: u64) -> Result<(), Failure> {
    let account = state.account(name);
    let mut slot = account.refresh.lock().await;
    if slot.is_missing() && state.needs_login(name).is_some() {
        return Ok(());
    }
    forget_login(state, name, &mut slot).await?;
    drop(slot);
    state.cache.remove_account(name);
    state.set_needs_login(
        name,
        Some(format!(
            "the login's lifetime ended at {}; its refresh token was forgotten",
            crate::time::rfc3339(end)
        )),
    );
    tracing::info!(account = %name, "login lifetime ended: refresh token forgotten");
    Ok(())
}

/// Runs for the agent's life: forgets logins whose lifetime ended, even when nobody asks.
pub async fn sweep_lifetimes(state: Arc<State>) {
    loop {
        tokio::time::sleep(LIFETIME_SWEEP).await;
        let Ok(config) = state.config() else { continue };
        let now = unix_now();
        for (name, account) in &config.accounts {
            if let Some(end) = account.login_not_after.filter(|end| now >= *end) {
                if let Err(e) = forget_expired_login(&state, name, end).await {
                    tracing::warn!(account = %name, "cannot forget an expired login: {}", e.message);
                }
            }
        }
    }
}

/// Asks the user to confirm this use when the account wants it (`tok login --confirm`),
/// through `TOK_ASKPASS` (or `SSH_ASKPASS` on a desktop). No way to ask means no.
async fn confirm_use(
    state: &State,
    name: &str,
    what: &str,
    scopes: &[String],
    audiences: &[String],
    peer: &PeerInfo,
) -> Result<(), Failure> {
    let config = state.config()?;
    if !config.accounts[name].confirm {
        return Ok(());
    }
    let refuse = |why: String| {
        let mut event = Event::new("refused", name, scopes, audiences, peer);
        event.note = Some(why.clone());
        state.audit.record(&event);
        Failure::new(ErrorKind::Denied, why)
    };
    let Some(program) = askpass() else {
        return Err(refuse(format!(
            "account `{name}` asks for confirmation of each use (tok login --confirm), and the agent has no way to ask: set TOK_ASKPASS to a program that asks (e.g. ssh-askpass) in the agent's environment"
        )));
    };
    let question = format!(
        "tok: allow {} (pid {}, started by {}) to get {what} of account {name}, scopes [{}], audiences [{}]?",
        peer.exe.as_deref().unwrap_or("an unknown program"),
        peer.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
        peer.parent.as_deref().unwrap_or("?"),
        scopes.join(" "),
        audiences.join(" "),
    );
    let mut command = tokio::process::Command::new(&program);
    command
        .arg(&question)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let answer = match command.spawn() {
        Ok(mut child) => tokio::select! {
            answer = tokio::time::timeout(CONFIRM_TIMEOUT, child.wait()) => answer,
            // The prompt is killed (kill_on_drop): `tok lock` does not wait for an answer.
            () = state.gate.lock_begins() => {
                let mut failure = refuse(format!(
                    "the agent was locked (`tok lock`) while asking to confirm the use of `{name}`; run `tok unlock` to resume"
                ));
                failure.kind = ErrorKind::AgentLocked;
                return Err(failure);
            }
        },
        Err(e) => {
            return Err(refuse(format!(
                "cannot run the confirmation program {program}: {e}; the request for `{name}` is refused"
            )))
        }
    };
    match answer {
        Ok(Ok(status)) if status.success() => {
            tracing::info!(account = %name, pid = ?peer.pid, "use confirmed");
            Ok(())
        }
        Ok(_) => Err(refuse(format!("the use of `{name}` was not confirmed"))),
        Err(_) => Err(refuse(format!(
            "nobody confirmed the use of `{name}` within {}s",
            CONFIRM_TIMEOUT.as_secs()
        ))),
    }
}

/// The confirmation program: `TOK_ASKPASS`, else `SSH_ASKPASS` when there is a desktop.
fn askpass() -> Option<String> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    var("TOK_ASKPASS").or_else(|| {
        (var("DISPLAY").is_some() || var("WAYLAND_DISPLAY").is_some())
            .then(|| var("SSH_ASKPASS"))
            .flatten()
    })
}
