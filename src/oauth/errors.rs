//! What a provider's failure means, in one table: the OAuth error codes (RFC 6749 §5.2,
//! RFC 8628 §3.5, RFC 8693, RFC 8707) and transport troubles become an [`OauthError`], and each
//! [`OauthError`] has one [`Outcome`] for the login. Every flow (refresh, device, exchange,
//! revocation) classifies here, so "log in again" and "try again later" mean the same everywhere.
//!
//! The rule that matters: only `invalid_grant` and a refused client ([`Outcome::LoginNeeded`])
//! mark a login dead, and nothing here ever deletes a refresh token. An error code tok does not
//! know is a refusal of this request ([`Outcome::Refused`]): the login is kept, and the user sees
//! the provider's code instead of retrying a request that will be answered the same way.

use oauth2::{RequestTokenError, StandardErrorResponse};

#[derive(Debug, thiserror::Error)]
pub enum OauthError {
    /// The refresh token (or device code) is no longer accepted: a new login is needed.
    #[error("the provider rejected the refresh token (invalid_grant{})", desc(.0))]
    InvalidGrant(Option<String>),
    /// The client registration is gone or wrong: a new login (re-registration) is needed.
    #[error("the provider does not accept this client ({code}{})", desc(.description))]
    InvalidClient {
        code: String,
        description: Option<String>,
    },
    /// The provider refused this request (scope, audience, …); retrying will not help.
    #[error("the provider refused the request ({code}{})", desc(.description))]
    Refused {
        code: String,
        description: Option<String>,
    },
    #[error("the login was denied at the provider")]
    AccessDenied,
    #[error("the device code expired before the login was approved")]
    Expired,
    /// Network trouble, timeouts, 5xx or garbage: nothing is lost, try again later.
    #[error("{0}")]
    Transient(String),
    /// An endpoint from the metadata answered 404: the metadata may be stale.
    #[error("{0}")]
    EndpointGone(String),
    /// Provider metadata or settings that cannot work.
    #[error("{0}")]
    Config(String),
}

/// What a provider error means for the login that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The grant or the client is no longer accepted: a new login (or delegation) is needed.
    /// The caller marks the login; the refresh token itself is never deleted for this.
    LoginNeeded,
    /// This request is refused for good (scope, audience, a denied or expired device login, an
    /// unknown error code): the same request gets the same answer; the login is kept.
    Refused,
    /// The provider's or the network's trouble: nothing is lost, try again later.
    TryLater,
    /// Settings or metadata that cannot work: fix the configuration.
    Misconfigured,
}

impl OauthError {
    /// The one mapping from an error to what it means for the login.
    pub fn outcome(&self) -> Outcome {
        match self {
            OauthError::InvalidGrant(_) | OauthError::InvalidClient { .. } => Outcome::LoginNeeded,
            OauthError::Refused { .. } | OauthError::AccessDenied | OauthError::Expired => {
                Outcome::Refused
            }
            OauthError::Transient(_) | OauthError::EndpointGone(_) => Outcome::TryLater,
            OauthError::Config(_) => Outcome::Misconfigured,
        }
    }
}

/// An OAuth error code and its description, as a provider sent them.
pub fn from_code(code: &str, description: Option<String>) -> OauthError {
    match code {
        "invalid_grant" => OauthError::InvalidGrant(description),
        "invalid_client" | "unauthorized_client" => OauthError::InvalidClient {
            code: code.to_string(),
            description,
        },
        "access_denied" => OauthError::AccessDenied,
        "expired_token" => OauthError::Expired,
        "server_error" | "temporarily_unavailable" => OauthError::Transient(format!(
            "the provider reported {code}{}",
            desc(&description)
        )),
        // invalid_request, invalid_scope, unsupported_grant_type, invalid_target,
        // unsupported_token_type, … and every code tok does not know.
        _ => OauthError::Refused {
            code: code.to_string(),
            description,
        },
    }
}

/// A failed request made through the `oauth2` crate (device authorization and polling).
pub(crate) fn classify<RE, T>(
    e: RequestTokenError<RE, StandardErrorResponse<T>>,
    what: &str,
) -> OauthError
where
    RE: std::error::Error + 'static,
    T: oauth2::ErrorResponseType + std::fmt::Display,
{
    match e {
        RequestTokenError::ServerResponse(r) => {
            from_code(&r.error().to_string(), r.error_description().cloned())
        }
        RequestTokenError::Request(e) => {
            OauthError::Transient(format!("{what} failed: {}", crate::net::error_chain(&e)))
        }
        // The body is deliberately dropped: a half-valid token response would hold a token.
        RequestTokenError::Parse(..) => {
            OauthError::Transient(format!("{what}: the provider sent an unreadable response"))
        }
        RequestTokenError::Other(m) => OauthError::Transient(format!("{what}: {m}")),
    }
}

pub(crate) fn desc(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(code: &str) -> Outcome {
        from_code(code, Some("said the provider".into())).outcome()
    }

    #[test]
    fn one_table_for_every_error_code() {
        assert_eq!(outcome("invalid_grant"), Outcome::LoginNeeded);
        assert_eq!(outcome("invalid_client"), Outcome::LoginNeeded);
        assert_eq!(outcome("unauthorized_client"), Outcome::LoginNeeded);
        for code in ["server_error", "temporarily_unavailable"] {
            assert_eq!(outcome(code), Outcome::TryLater, "{code}");
        }
        for code in [
            "invalid_request",
            "invalid_scope",
            "unsupported_grant_type",
            "invalid_target",
            "access_denied",
            "expired_token",
        ] {
            assert_eq!(outcome(code), Outcome::Refused, "{code}");
        }
    }

    /// An unknown code neither kills the login nor promises that a retry helps.
    #[test]
    fn an_unknown_error_code_is_a_refusal_that_keeps_the_login() {
        let e = from_code("quota_exceeded_for_tenant", Some("try tomorrow".into()));
        assert_eq!(e.outcome(), Outcome::Refused);
        let text = e.to_string();
        assert!(text.contains("quota_exceeded_for_tenant"), "{text}");
        assert!(text.contains("try tomorrow"), "{text}");
    }

    #[test]
    fn transport_trouble_is_never_a_dead_login() {
        for e in [
            OauthError::Transient("timed out".into()),
            OauthError::EndpointGone("HTTP 404".into()),
        ] {
            assert_eq!(e.outcome(), Outcome::TryLater);
        }
    }
}
