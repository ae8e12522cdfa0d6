//! Which addresses tok talks to: an absolute https URL, plain http only on this machine
//! (tests), so that refresh tokens and store tokens never cross a network in clear; and when
//! two issuer URLs name the same issuer.

/// Whether `host` is this machine: the only place tok talks plain http to (for testing).
fn is_loopback(host: &::url::Host<&str>) -> bool {
    match host {
        ::url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        ::url::Host::Ipv4(ip) => ip.is_loopback(),
        ::url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Refuses what is not an absolute https URL (http only on loopback). `what` names the URL in
/// the message, which is the error.
pub fn check_url(what: &str, value: &str) -> Result<::url::Url, String> {
    let url = ::url::Url::parse(value).map_err(|e| {
        format!(
            "{what} `{value}` is not a URL ({e}); give the full address, e.g. https://iam.example.org/"
        )
    })?;
    let host = url
        .host()
        .ok_or_else(|| format!("{what} `{value}` has no host; give the full https:// address"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) => Ok(url),
        "http" => Err(format!(
            "{what} {value} is plain http: tokens would cross the network in clear; tok accepts http only on loopback (127.0.0.0/8, ::1, localhost), use https"
        )),
        other => Err(format!(
            "{what} {value} has scheme `{other}`; tok speaks https (http on loopback only)"
        )),
    }
}

/// An issuer URL without its trailing slashes: `https://iam.example.org/` and
/// `https://iam.example.org` are one issuer (providers and users write both), and well-known
/// paths are appended to this form.
pub fn issuer_base(issuer: &str) -> &str {
    issuer.trim_end_matches('/')
}

/// Whether two issuer URLs name the same issuer (see [`issuer_base`]).
pub fn same_issuer(a: &str, b: &str) -> bool {
    issuer_base(a) == issuer_base(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(check_url("x", "https://iam.example.org/").is_ok());
        assert!(check_url("x", "http://127.0.0.1:8080/").is_ok());
        assert!(check_url("x", "http://[::1]/").is_ok());
        assert!(check_url("x", "http://localhost/").is_ok());
        let e = check_url("the issuer", "http://iam.example.org/").unwrap_err();
        assert!(e.contains("plain http"), "{e}");
        assert!(check_url("x", "ftp://iam.example.org/").is_err());
        assert!(check_url("x", "iam.example.org").is_err());
    }

    #[test]
    fn trailing_slashes_do_not_make_another_issuer() {
        assert!(same_issuer("https://a.example/", "https://a.example"));
        assert!(same_issuer(
            "https://a.example/realm//",
            "https://a.example/realm"
        ));
        assert!(!same_issuer("https://a.example/", "https://b.example/"));
        assert_eq!(issuer_base("https://a.example/x/"), "https://a.example/x");
    }
}
