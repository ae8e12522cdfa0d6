//! Unit tests of the OpenBao store: settings, token upkeep, leases and error wording.

use super::lease::{lease_takeable, Lease};
use super::*;

fn cfg(addr: &str) -> OpenBaoConfig {
    OpenBaoConfig {
        addr: addr.to_string(),
        mount: "secret".to_string(),
        prefix: "tok/alice".to_string(),
        ca_file: None,
        token: TokenSource::Env {
            var: "BAO_TOKEN",
            token: SecretString::from("s.not-a-real-token"),
        },
    }
}

fn open_err(c: OpenBaoConfig) -> String {
    match OpenBaoStore::open(c) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let e = open_err(cfg("http://openbao.example.org:8200"));
    assert!(e.contains("plain http"), "{e}");
    assert!(e.contains("OpenBao"), "{e}");
    let e = open_err(cfg("ftp://openbao.example.org"));
    assert!(e.contains("scheme"), "{e}");
    let e = open_err(cfg("https://user:pw@openbao.example.org"));
    assert!(
        e.contains("user name or password") && !e.contains("pw"),
        "{e}"
    );
}

#[test]
fn bad_mounts_and_prefixes_are_refused() {
    for (mount, prefix) in [
        ("secret", "tok/../bob"),
        ("secret", "tok//bob"),
        ("secret", "/tok/bob"),
        ("", "tok/bob"),
        ("sec ret", "tok/bob"),
    ] {
        let mut c = cfg("https://openbao.example.org");
        c.mount = mount.to_string();
        c.prefix = prefix.to_string();
        let e = open_err(c);
        assert!(e.contains("not a usable OpenBao path"), "{e}");
    }
}

#[test]
fn keys_cannot_climb_out_of_the_prefix() {
    assert!(check_store_key("refresh/cms").is_ok());
    assert!(check_store_key("client-secret/my.acct_1").is_ok());
    for bad in [
        "refresh/../../bob/x",
        "refresh//cms",
        "/refresh",
        "refresh/",
        ".",
        "a/./b",
    ] {
        assert!(check_store_key(bad).is_err(), "{bad}");
    }
}

#[test]
fn address_gets_a_trailing_slash_and_loopback_http_is_fine() {
    let s = OpenBaoStore::open(cfg("http://127.0.0.1:1")).unwrap();
    assert_eq!(s.addr(), "http://127.0.0.1:1");
    assert_eq!(s.base.as_str(), "http://127.0.0.1:1/");
    let s = OpenBaoStore::open(cfg("http://localhost:1/bao")).unwrap();
    assert_eq!(
        s.base.join("v1/x").unwrap().as_str(),
        "http://localhost:1/bao/v1/x"
    );
    assert!(s.shared());
    assert_eq!(s.kind(), StoreKind::OpenBao);
}

#[test]
fn unreachable_server_is_a_clear_error_without_the_token() {
    // Port 1 on loopback: connection refused at once.
    let s = OpenBaoStore::open(cfg("http://127.0.0.1:1")).unwrap();
    let e = s.load("refresh/cms").unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, StoreError::Unavailable { .. }), "{text}");
    assert!(
        text.contains("cannot reach OpenBao at http://127.0.0.1:1"),
        "{text}"
    );
    assert!(!text.contains("not-a-real-token"), "{text}");
    let notes = s.notes().join("\n");
    assert!(notes.contains("last error"), "{notes}");
    assert!(!notes.contains("not-a-real-token"), "{notes}");
}

#[test]
fn missing_token_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg("http://127.0.0.1:1");
    c.token = TokenSource::File(dir.path().join(".vault-token"));
    let s = OpenBaoStore::open(c).unwrap();
    let e = s.load("refresh/cms").unwrap_err().to_string();
    assert!(
        e.contains("no OpenBao token") && e.contains("bao login"),
        "{e}"
    );
}

#[test]
fn renewal_starts_below_half_the_ttl() {
    let now = Instant::now();
    let t = |left: u64, renewable: bool, capped: bool| Ttl::Expires {
        at: now + Duration::from_secs(left),
        full: Duration::from_secs(100),
        renewable,
        capped,
    };
    assert_eq!(upkeep(&Ttl::Unknown, now), Upkeep::Lookup);
    assert_eq!(upkeep(&Ttl::NoExpiry, now), Upkeep::Nothing);
    assert_eq!(upkeep(&t(60, true, false), now), Upkeep::Nothing);
    assert_eq!(upkeep(&t(49, true, false), now), Upkeep::Renew);
    assert_eq!(upkeep(&t(49, false, false), now), Upkeep::Nothing);
    assert_eq!(upkeep(&t(49, true, true), now), Upkeep::Nothing);
    assert_eq!(upkeep(&t(0, false, false), now), Upkeep::Lookup);
    let failed = Ttl::LookupFailed {
        at: now,
        why: String::new(),
        transient: false,
    };
    assert_eq!(upkeep(&failed, now), Upkeep::Nothing);
    assert_eq!(upkeep(&failed, now + LOOKUP_RETRY), Upkeep::Lookup);
}

#[test]
fn leases_are_taken_only_when_free_expired_or_ours() {
    let l = Lease {
        holder: "node-a".to_string(),
        expires_at: 100.0,
    };
    assert!(lease_takeable(&l, "node-a", 50.0));
    assert!(!lease_takeable(&l, "node-b", 50.0));
    assert!(lease_takeable(&l, "node-b", 100.0));
    let free = Lease {
        holder: String::new(),
        expires_at: 0.0,
    };
    assert!(lease_takeable(&free, "node-b", 0.0));
}

#[test]
fn errors_are_capped_escaped_and_redacted() {
    let body = br#"{"errors":["bad \n thing with rt-secret-value inside"]}"#;
    let e = errors_of(body);
    assert!(e.contains("\\n"), "{e}");
    let r = redacted(&e, &["rt-secret-value"]);
    assert!(
        !r.contains("rt-secret-value") && r.contains("<redacted>"),
        "{r}"
    );
    let long = format!(r#"{{"errors":["{}"]}}"#, "x".repeat(1000));
    assert!(errors_of(long.as_bytes()).chars().count() <= 301);
    assert_eq!(errors_of(b"not json"), "");
}

#[test]
fn login_name_is_one_safe_segment() {
    let n = login_name();
    assert!(check_path("user", &n).is_ok(), "{n}");
    assert!(!n.contains('/'));
}
