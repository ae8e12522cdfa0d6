//! The ground every network call of tok stands on, so each rule has one home: which URLs tok
//! may talk to ([`url`]: https, plain http only on loopback), how an HTTPS client is built and
//! which CAs it trusts ([`https`]), how an answer is read without letting a server swell tok or
//! leave a token behind in freed memory ([`capped`]), and how a transport failure is told apart
//! (a trust failure is not worth a retry; a timeout is).
//!
//! Nothing here knows about OAuth or OpenBao: callers wrap these results in their own errors.

pub mod capped;
pub mod https;
pub mod url;

pub use capped::{read_capped, read_capped_blocking, CappedRead};
pub use https::{async_client, blocking_client, ca_roots, Timeouts};
pub use url::{check_url, issuer_base, same_issuer};

/// An error and its causes on one line ("client error: … : operation timed out"), skipping a
/// cause whose text the line already holds.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

/// What went wrong below HTTP, so callers can say what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The server's certificate was not trusted: retrying cannot help, a CA must be given.
    Trust,
    /// No answer in time.
    Timeout,
    /// No connection at all.
    Connect,
    /// Anything else (a broken-off answer, a protocol error).
    Other,
}

/// Classifies a transport error from its kind and the words of its cause chain (`chain`, from
/// [`error_chain`]): rustls reports trust failures only in words.
pub fn transport_failure(e: &reqwest::Error, chain: &str) -> TransportFailure {
    if is_trust_failure(chain) {
        TransportFailure::Trust
    } else if e.is_timeout() {
        TransportFailure::Timeout
    } else if e.is_connect() {
        TransportFailure::Connect
    } else {
        TransportFailure::Other
    }
}

/// Whether an error chain is rustls refusing the server's certificate.
pub fn is_trust_failure(chain: &str) -> bool {
    chain.contains("certificate")
        || chain.contains("UnknownIssuer")
        || chain.contains("BadSignature")
}

/// The trust store a client built here uses besides any extra CA: named in trust failures so
/// the user knows what was tried.
pub fn trust_store() -> String {
    match std::env::var("SSL_CERT_FILE") {
        Ok(f) if !f.is_empty() => format!("the CA bundle SSL_CERT_FILE={f}"),
        _ => "the system's CA store".to_string(),
    }
}
