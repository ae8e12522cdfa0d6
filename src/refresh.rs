//! The one refresh sequence, whoever holds the refresh token: load it, ask the provider, make a
//! rotated refresh token durable before its access token is used, compute the expiry (one
//! fallback lifetime), and turn a provider failure into a [`Failure`] by one table. Where the
//! token lives and how a rotation is committed is a [`Holder`]: the agent's account slot
//! (`agent/holder.rs`), the lease of a store shared by several nodes (`agent/nodes.rs`), and a
//! job-credential file under its lock (`credential/renew.rs`).

use crate::oauth::{self, OauthError, Outcome, TokenSet};
use crate::protocol::{ErrorKind, ErrorReply, LoginEnd, LoginEndSource};
use crate::secret::RefreshToken;
use crate::time::unix_now;
use std::future::Future;
use std::time::Duration;

/// Assumed lifetime of an access token when the provider says nothing and it is not a JWT.
pub const FALLBACK_LIFETIME_SECS: u64 = 300;

/// A request failure as the client will see it.
#[derive(Debug)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn reply(self) -> ErrorReply {
        ErrorReply {
            kind: self.kind,
            message: self.message,
        }
    }
}

/// What the client sees for each [`Outcome`]: the one mapping from provider trouble to a kind
/// of failure (and so to an exit code).
pub fn failure_kind(outcome: Outcome) -> ErrorKind {
    match outcome {
        Outcome::LoginNeeded => ErrorKind::NeedsLogin,
        Outcome::Refused => ErrorKind::Denied,
        Outcome::TryLater => ErrorKind::Provider,
        Outcome::Misconfigured => ErrorKind::Usage,
    }
}

/// A provider error as a failure, in the provider's words.
pub fn provider_failure(e: OauthError) -> Failure {
    Failure::new(failure_kind(e.outcome()), e.to_string())
}

/// Where a refresh token lives and how a rotation is committed.
// The trait is only used through generics inside this crate, where each future's `Send` is
// known from the concrete type.
#[allow(async_fn_in_trait)]
pub trait Holder {
    /// The refresh token to use now.
    async fn load(&mut self) -> Result<RefreshToken, Failure>;

    /// After the provider refused the token as invalid: a newer one someone else stored
    /// meanwhile (a shared store), to be tried once.
    async fn newer(&mut self) -> Result<Option<RefreshToken>, Failure> {
        Ok(None)
    }

    /// Makes a rotated refresh token durable. Its access token is used only once this is done:
    /// after a crash the login must not be lost.
    async fn commit(&mut self, rotated: &RefreshToken) -> Result<(), Failure>;

    /// The provider no longer accepts the grant. The refresh token is kept; the holder
    /// remembers why, if it can.
    fn grant_refused(&mut self, _e: &OauthError) {}

    /// The provider's failure worded for this holder's user (what failed, what to do next).
    fn explain(&self, outcome: Outcome, e: &OauthError) -> String;
}

/// What a refresh brought: the provider's answer (its refresh token already committed and
/// taken out) and when the access token expires.
pub struct Refreshed {
    pub tokens: TokenSet,
    pub expires_at: u64,
    /// The provider sent a new refresh token (now durable): the old one is spent.
    pub rotated: bool,
    /// When the login ends, if this answer or the refresh token now in use says.
    pub login_end: Option<LoginEnd>,
}

/// The refresh: `ask` calls the provider with a refresh token.
pub async fn run<H, F, Fut>(holder: &mut H, mut ask: F) -> Result<Refreshed, Failure>
where
    H: Holder,
    F: FnMut(RefreshToken) -> Fut,
    Fut: Future<Output = Result<TokenSet, OauthError>>,
{
    let mut used = holder.load().await?;
    let mut result = ask(used.clone()).await;
    if let Err(OauthError::InvalidGrant(_)) = &result {
        if let Some(newer) = holder.newer().await? {
            tracing::info!("the store had a newer refresh token; retrying with it");
            used = newer;
            result = ask(used.clone()).await;
        }
    }
    let mut tokens = match result {
        Ok(t) => {
            crate::crashpoint::reached("provider_answered");
            t
        }
        Err(e) => {
            let outcome = e.outcome();
            if outcome == Outcome::LoginNeeded {
                holder.grant_refused(&e);
            }
            return Err(Failure::new(
                failure_kind(outcome),
                holder.explain(outcome, &e),
            ));
        }
    };
    let mut rotated = false;
    if let Some(new) = tokens.refresh_token.take() {
        if new != used {
            holder.commit(&new).await?;
            crate::crashpoint::reached("store_written");
            rotated = true;
            used = new;
        }
    }
    let now = unix_now();
    let expires_at = expires_at(&tokens, now);
    // A rotated token may carry a new end; an idle window a refresh extends moves the end.
    let login_end = login_end(tokens.refresh_expires_in, &used, now);
    Ok(Refreshed {
        tokens,
        expires_at,
        rotated,
        login_end,
    })
}

/// When a login ends, as far as a token answer tells: the earlier of `refresh_expires_in`
/// (from `now`) and the `exp` of the refresh token in use after it, if that is a JWT.
pub fn login_end(
    refresh_expires_in: Option<Duration>,
    refresh_token: &RefreshToken,
    now: u64,
) -> Option<LoginEnd> {
    let said = refresh_expires_in.map(|d| LoginEnd {
        at: now.saturating_add(d.as_secs()),
        source: LoginEndSource::RefreshExpiresIn,
    });
    let exp = oauth::refresh_token_expiry(refresh_token).map(|at| LoginEnd {
        at,
        source: LoginEndSource::RefreshTokenExp,
    });
    LoginEnd::earliest(said, exp)
}

/// When an access token expires, if the provider or the token says.
pub fn expiry(tokens: &TokenSet, now: u64) -> Option<u64> {
    match tokens.expires_in {
        Some(d) => Some(now.saturating_add(d.as_secs())),
        None => oauth::jwt_expiry(&tokens.access_token),
    }
}

/// When an access token expires, assuming [`FALLBACK_LIFETIME_SECS`] when nobody says.
pub fn expires_at(tokens: &TokenSet, now: u64) -> u64 {
    expiry(tokens, now).unwrap_or(now + FALLBACK_LIFETIME_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;

    /// A holder in memory that records what the core did.
    struct Recorder {
        token: RefreshToken,
        committed: Vec<String>,
        refused: bool,
    }

    impl Holder for Recorder {
        async fn load(&mut self) -> Result<RefreshToken, Failure> {
            Ok(self.token.clone())
        }
        async fn commit(&mut self, rotated: &RefreshToken) -> Result<(), Failure> {
            self.committed.push(rotated.expose().to_string());
            Ok(())
        }
        fn grant_refused(&mut self, _e: &OauthError) {
            self.refused = true;
        }
        fn explain(&self, _outcome: Outcome, e: &OauthError) -> String {
            format!("explained: {e}")
        }
    }

    fn recorder() -> Recorder {
        Recorder {
            token: RefreshToken::new("rt-1"),
            committed: vec![],
            refused: false,
        }
    }

    fn answer(refresh: Option<&str>) -> TokenSet {
        TokenSet {
            access_token: AccessToken::new("at"),
            refresh_token: refresh.map(RefreshToken::new),
            expires_in: None,
            scopes: None,
            refresh_expires_in: None,
        }
    }

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_rotation_is_committed_before_the_answer_and_the_fallback_lifetime_applies() {
        let mut h = recorder();
        let now = unix_now();
        let r = block_on(run(&mut h, |_| async { Ok(answer(Some("rt-2"))) })).unwrap();
        assert_eq!(h.committed, ["rt-2"]);
        assert!(r.rotated);
        assert!(r.tokens.refresh_token.is_none());
        assert!(r.expires_at >= now + FALLBACK_LIFETIME_SECS);
        let mut h = recorder();
        let r = block_on(run(&mut h, |_| async { Ok(answer(Some("rt-1"))) })).unwrap();
        assert!(h.committed.is_empty() && !r.rotated);
    }

    /// Issue 20: the login's end comes from `refresh_expires_in` and from a JWT refresh
    /// token's `exp`, the earlier winning; a rotated token's own `exp` is the one that counts.
    #[test]
    fn the_login_end_is_learned_from_the_answer_and_the_rotated_token() {
        use base64::Engine;
        let jwt = |exp: u64| {
            let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
            format!(
                "{}.{}.sig",
                b64(r#"{"alg":"HS256"}"#),
                b64(&format!(r#"{{"exp":{exp}}}"#))
            )
        };
        let now = 1_000;
        let opaque = RefreshToken::new("opaque");
        assert_eq!(login_end(None, &opaque, now), None);
        let end = login_end(Some(Duration::from_secs(50)), &opaque, now).unwrap();
        assert_eq!(
            (end.at, end.source),
            (1_050, LoginEndSource::RefreshExpiresIn)
        );
        let token = RefreshToken::new(jwt(1_020));
        let end = login_end(Some(Duration::from_secs(50)), &token, now).unwrap();
        assert_eq!(
            (end.at, end.source),
            (1_020, LoginEndSource::RefreshTokenExp)
        );
        // Through the core: the rotated token's exp, not the spent one's.
        let mut h = Recorder {
            token: RefreshToken::new(jwt(10)),
            committed: vec![],
            refused: false,
        };
        let fresh = jwt(u64::MAX / 2);
        let r = block_on(run(&mut h, |_| {
            let fresh = fresh.clone();
            async move { Ok(answer(Some(&fresh))) }
        }))
        .unwrap();
        assert_eq!(r.login_end.map(|e| e.at), Some(u64::MAX / 2));
    }

    #[test]
    fn only_a_refused_grant_marks_the_holder() {
        let mut h = recorder();
        let f = block_on(run(&mut h, |_| async {
            Err(OauthError::Transient("timed out".into()))
        }))
        .err()
        .unwrap();
        assert_eq!(f.kind, ErrorKind::Provider);
        assert!(!h.refused && h.committed.is_empty());
        let f = block_on(run(&mut h, |_| async {
            Err(oauth::from_code("no_such_code", None))
        }))
        .err()
        .unwrap();
        assert_eq!(f.kind, ErrorKind::Denied);
        assert!(!h.refused);
        let f = block_on(run(&mut h, |_| async {
            Err(OauthError::InvalidGrant(None))
        }))
        .err()
        .unwrap();
        assert_eq!(f.kind, ErrorKind::NeedsLogin);
        assert!(h.refused);
        assert!(f.message.starts_with("explained: "), "{}", f.message);
    }
}
