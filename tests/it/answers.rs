//! Provider answers reported right (issue 14): behaviours of other provider implementations,
//! switched on in the test provider, each ending in a documented exit code and a next step.

use crate::common::{Approval, Provider, TestEnv};

#[test]
fn a_refused_registration_shows_the_rfc7591_error() {
    let provider = Provider::start();
    provider.post(
        "/test/config",
        serde_json::json!({ "registration_error": true }),
    );
    let env = TestEnv::new();
    let out = env
        .login(
            &provider,
            &["x", "--issuer", &provider.issuer],
            Approval::Ignore,
        )
        .code(5);
    for want in [
        "invalid_client_metadata",
        "registration is closed",
        "--client-id",
    ] {
        assert!(out.stderr.contains(want), "lacks {want}\n{out}");
    }
}

#[test]
fn a_revocation_refused_for_good_keeps_the_login_and_names_keep_remote() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    provider.post(
        "/test/config",
        serde_json::json!({ "revocation_refuse_public": true }),
    );
    let out = env.run(&["logout", "cms"]).code(5);
    assert!(out.stderr.contains("--keep-remote"), "{out}");
    assert!(out.stderr.contains("401"), "quotes the status\n{out}");
    assert!(!out.stderr.contains("retry"), "retrying cannot help\n{out}");
    // Nothing was forgotten.
    env.token(&["-s", "storage.read:/still"]);
    env.run(&["logout", "cms", "--keep-remote"]).ok();
    env.run(&["get"]).code(3);
}

#[test]
fn a_provider_that_ignores_narrowed_scopes_is_reported() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    provider.post(
        "/test/config",
        serde_json::json!({ "ignore_refresh_scope": true }),
    );
    let out = env.run(&["get", "-s", "storage.read:/a"]).ok();
    assert!(
        out.stderr
            .contains("warning: the provider granted scopes wider than asked"),
        "{out}"
    );
    assert!(out.stderr.contains("--exact-scope"), "{out}");
    // Once per account, and `tok status` keeps showing it.
    let out = env.run(&["get", "-s", "storage.read:/b"]).ok();
    assert!(!out.stderr.contains("warning"), "{out}");
    let status = env.run(&["status"]).ok();
    assert!(status.stdout.contains("wider than asked"), "{status}");
    // --exact-scope makes it an error, for a cached token as for a fresh one.
    let out = env
        .run(&["get", "-s", "storage.read:/a", "--exact-scope"])
        .code(5);
    assert!(out.stderr.contains("exact scopes"), "{out}");
    env.run(&["get", "-s", "storage.read:/c", "--exact-scope"])
        .code(5);
    // ... and so does the account setting.
    let config = env.path().join("config/tok/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace("[accounts.cms]\n", "[accounts.cms]\nexact_scope = true\n");
    std::fs::write(&config, text).unwrap();
    env.run(&["get", "-s", "storage.read:/d"]).code(5);
}

#[test]
fn a_ca_file_without_a_certificate_is_refused_at_login() {
    let provider = Provider::start();
    let env = TestEnv::new();
    let bad = env.path().join("not-a-ca.pem");
    std::fs::write(&bad, "hello\n").unwrap();
    for file in [bad.clone(), env.path().join("missing.pem")] {
        let out = env.run(&[
            "login",
            "x",
            "--issuer",
            &provider.issuer,
            "--ca-file",
            file.to_str().unwrap(),
        ]);
        let out = out.code(2);
        assert!(out.stderr.contains(file.to_str().unwrap()), "{out}");
    }
}
