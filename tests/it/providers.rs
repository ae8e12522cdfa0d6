//! Real providers (issue 9), against the node provider: https only, discovery checked (mix-up
//! defence, endpoints), TLS trust failures that say how to fix them, re-discovery after a 404,
//! hints on refusals, and the per-account quirks (`narrowing`, `refresh_invalidates_tokens`).

use crate::common::{jwt_claims, Approval, Provider, TestEnv};

fn set_account_option(env: &TestEnv, line: &str) {
    let config = env.path().join("config/tok/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace("[accounts.cms]\n", &format!("[accounts.cms]\n{line}\n"));
    std::fs::write(&config, text).unwrap();
}

#[test]
fn plain_http_and_malformed_issuers_are_usage_errors() {
    let env = TestEnv::new();
    for (issuer, want) in [
        ("http://iam.example.org/", "plain http"),
        ("iam.example.org", "neither an issuer URL nor a preset"),
        ("https://", "not a URL"),
        ("ftp://iam.example.org/", "scheme `ftp`"),
    ] {
        let out = env.run(&["login", "x", "--issuer", issuer]).code(2);
        assert!(out.stderr.contains(want), "{issuer}\n{out}");
    }
}

#[test]
fn discovery_is_checked_and_tls_failures_say_how_to_fix_them() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let login = |env: &TestEnv| env.run(&["login", "x", "--issuer", &provider.issuer]);

    // A document naming another issuer is never used (RFC 8414 §3.3).
    provider.post(
        "/test/config",
        serde_json::json!({ "discovery_override": { "issuer": "https://evil.example.org" } }),
    );
    let out = login(&env).code(2);
    assert!(
        out.stderr
            .contains("names issuer `https://evil.example.org`"),
        "{out}"
    );
    // Every endpoint is held to the https rule.
    provider.post(
        "/test/config",
        serde_json::json!({ "discovery_override": { "token_endpoint": "http://198.51.100.7/token" } }),
    );
    let out = login(&env).code(2);
    assert!(
        out.stderr
            .contains("token endpoint http://198.51.100.7/token is plain http"),
        "{out}"
    );
    provider.post(
        "/test/config",
        serde_json::json!({ "discovery_override": {} }),
    );

    // Without the test CA: which store was trusted, and the fix. (The agent keeps the
    // environment it started with, so a new one is started.)
    env.stop_agent();
    env.set_env("SSL_CERT_FILE", "");
    let out = login(&env).code(2);
    assert!(out.stderr.contains("could not be verified"), "{out}");
    assert!(out.stderr.contains("--ca-file"), "{out}");
    assert!(out.stderr.contains("system's CA store"), "{out}");
}

#[test]
fn a_moved_token_endpoint_is_discovered_again_and_refusals_give_hints() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    provider.post(
        "/test/fault",
        serde_json::json!({ "mode": "404", "once": true }),
    );
    env.token(&["-s", "storage.read:/moved"]);
    assert!(
        env.agent_log().contains("discovering the provider again"),
        "{}",
        env.agent_log()
    );
    // A scope the login does not cover: the provider's invalid_scope, and what to do.
    let out = env.run(&["get", "-s", "storage.modify:/elsewhere"]).code(5);
    assert!(out.stderr.contains("invalid_scope"), "{out}");
    assert!(out.stderr.contains("tok login cms --scope"), "{out}");
}

#[test]
fn narrowing_by_exchange_leaves_the_grant_alone() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    set_account_option(&env, "narrowing = \"exchange\"");
    let a = env.token(&["-s", "storage.read:/x", "--aud", "https://se.example.org"]);
    assert_eq!(jwt_claims(&a)["scope"], "storage.read:/x");
    assert_eq!(jwt_claims(&a)["aud"], "https://se.example.org");
    let b = env.token(&["-s", "storage.read:/y"]);
    assert_eq!(jwt_claims(&b)["scope"], "storage.read:/y");
    let stats = provider.stats();
    assert_eq!(stats["narrowed_by_exchange"], 2, "{stats}");
    assert_eq!(
        provider.refreshes(),
        0,
        "the base token is the login's own, cached: the grant is never refreshed narrowed\n{stats}"
    );
    assert!(stats["last_token_request"]["scope"]
        .as_str()
        .unwrap()
        .contains("storage.read:/y"));
}

#[test]
fn narrowing_none_refreshes_with_the_login_scopes_and_does_not_warn() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    set_account_option(&env, "narrowing = \"none\"");
    let out = env.run(&["get", "-s", "storage.read:/x"]).ok();
    assert!(!out.stderr.contains("warning"), "{out}");
    let scope = jwt_claims(out.stdout.trim())["scope"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        scope.contains("compute.create"),
        "the login's scopes: {scope}"
    );
    assert!(provider.stats()["last_token_request"]["scope"].is_null());
}

#[test]
fn refresh_invalidates_tokens_drops_the_accounts_other_cached_tokens() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    env.token(&["-s", "storage.read:/a"]);
    env.token(&["-s", "storage.read:/b"]);
    env.token(&["-s", "storage.read:/a"]);
    assert_eq!(provider.refreshes(), 2, "a and b are cached side by side");
    set_account_option(&env, "refresh_invalidates_tokens = true");
    env.token(&["-s", "storage.read:/c"]);
    env.token(&["-s", "storage.read:/a"]);
    assert_eq!(
        provider.refreshes(),
        4,
        "the refresh for c killed a's token at such a provider, so a is refreshed again"
    );
}

#[test]
fn issuer_presets_built_in_and_from_the_users_file() {
    let provider = Provider::start();
    let env = TestEnv::new();
    let out = env.run(&["issuers"]).ok();
    for want in [
        "cms",
        "https://cms-auth.cern.ch/",
        "wlcg",
        "egi",
        "fermilab",
    ] {
        assert!(out.stdout.contains(want), "{want}\n{out}");
    }
    for personal in [" profile", " email"] {
        assert!(!out.stdout.contains(personal), "{out}");
    }
    let presets = env.path().join("config/tok/issuers.toml");
    std::fs::create_dir_all(presets.parent().unwrap()).unwrap();
    std::fs::write(
        &presets,
        format!(
            "[issuers.testop]\ndescription = \"the test provider\"\nissuer = \"{}\"\naudience_param = \"audience\"\nscopes = [\"storage.read:/\"]\nnarrowing = \"exchange\"\n\n[issuers.closed]\nissuer = \"https://closed.example.org\"\nregistration = false\n",
            provider.issuer
        ),
    )
    .unwrap();
    let out = env.login(&provider, &["testop"], Approval::Approve).ok();
    assert!(out.stderr.contains("using the preset `testop`"), "{out}");
    let config = std::fs::read_to_string(env.path().join("config/tok/config.toml")).unwrap();
    for want in [
        "[accounts.testop]",
        "narrowing = \"exchange\"",
        "audience_param = \"audience\"",
        "storage.read:/",
    ] {
        assert!(config.contains(want), "{want}\n{config}");
    }
    let t = env.token(&["-s", "storage.read:/p", "--aud", "https://se.example.org"]);
    assert_eq!(jwt_claims(&t)["scope"], "storage.read:/p");
    assert_eq!(provider.stats()["audience_params"]["audience"], 1);

    let out = env.run(&["login", "--issuer", "nosuchpreset"]).code(2);
    assert!(out.stderr.contains("tok issuers"), "{out}");
    let out = env.run(&["login", "closed"]).code(2);
    assert!(out.stderr.contains("--client-id"), "{out}");
}
