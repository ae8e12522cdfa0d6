//! The one way tok builds an HTTPS client: rustls with the system CA store (which honours
//! `SSL_CERT_FILE`) plus any extra CA a site needs, no redirects (an OAuth2 endpoint's or
//! OpenBao's redirect must not be followed with a token), and bounded waits.

use std::time::Duration;

/// How long a client waits.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
    /// How long an idle keep-alive connection is kept for the next call.
    pub pool_idle: Duration,
}

const USER_AGENT: &str = concat!("tok/", env!("CARGO_PKG_VERSION"));

/// The settings every client of tok's gets, for either reqwest builder (they share no trait).
macro_rules! configured {
    ($builder:expr, $timeouts:expr, $roots:expr) => {{
        let mut builder = $builder
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout($timeouts.connect)
            .timeout($timeouts.request)
            .pool_idle_timeout($timeouts.pool_idle)
            .user_agent(USER_AGENT);
        for cert in $roots {
            builder = builder.add_root_certificate(cert);
        }
        builder
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {e}"))
    }};
}

/// An async client (provider calls on the agent's runtime) trusting `roots` on top of the
/// system store. The error is the message.
pub fn async_client(
    timeouts: Timeouts,
    roots: Vec<reqwest::Certificate>,
) -> Result<reqwest::Client, String> {
    configured!(reqwest::Client::builder(), timeouts, roots)
}

/// A blocking client (store calls on blocking threads), set up as [`async_client`].
pub fn blocking_client(
    timeouts: Timeouts,
    roots: Vec<reqwest::Certificate>,
) -> Result<reqwest::blocking::Client, String> {
    configured!(reqwest::blocking::Client::builder(), timeouts, roots)
}

/// The PEM certificates in `pem`; `source` names where they came from in the message. An input
/// without a single certificate is refused: trusting nothing extra is never what was meant.
pub fn ca_roots(pem: &[u8], source: &str) -> Result<Vec<reqwest::Certificate>, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
        format!("{source} is not a PEM CA bundle ({e}); pass a file of -----BEGIN CERTIFICATE----- blocks")
    })?;
    if certs.is_empty() {
        return Err(format!(
            "{source} holds no PEM certificate (no -----BEGIN CERTIFICATE----- block); pass the CA bundle that signed the server's certificate"
        ));
    }
    Ok(certs)
}
