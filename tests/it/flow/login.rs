//! Logging in and getting tokens: the device flow and its endings, audience styles,
//! static clients, re-login and scopes outside the grant.

use super::*;

#[test]
fn login_get_cache_narrow_audience_rotate_restart_logout() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    // A persistent store, so an agent restart must keep the login.
    let pass = env.passphrase_file("passphrase", "correct horse");
    env.set_env("TOK_STORE", "file");
    env.set_env("TOK_PASSPHRASE_FILE", pass.display().to_string());
    env.login_cms(&provider);
    let config = std::fs::read_to_string(env.path().join("config/tok/config.toml")).unwrap();
    assert!(config.contains("issuer = \"https://127.0.0.1:"), "{config}");
    assert!(
        !config.contains("profile") && !config.contains("email"),
        "{config}"
    );

    // The default token comes from the login itself: no refresh.
    let before = provider.refreshes();
    let t = env.token(&[]);
    assert_eq!(jwt_claims(&t)["wlcg.ver"], "1.0");
    assert_eq!(provider.refreshes(), before);

    // A scoped, audience-bound token: one refresh, then served from the cache.
    let args = [
        "--account",
        "cms",
        "--scope",
        "storage.read:/store",
        "--aud",
        "https://se.example.org",
    ];
    let t1 = env.token(&args);
    let claims = jwt_claims(&t1);
    assert_eq!(claims["scope"], "storage.read:/store");
    assert_eq!(claims["aud"], "https://se.example.org");
    assert_eq!(claims["wlcg.ver"], "1.0");
    let after_first = provider.refreshes();
    assert_eq!(after_first, before + 1);
    let t2 = env.token(&[
        "--scope",
        "storage.read:/store",
        "--aud",
        "https://se.example.org/",
    ]);
    assert_eq!(
        t1, t2,
        "the cached token is served for an equivalent request"
    );
    assert_eq!(
        provider.refreshes(),
        after_first,
        "cache hit: no provider call"
    );
    assert_eq!(
        provider.stats()["last_token_request"]["resource"],
        "https://se.example.org"
    );

    // Narrower scope: a new token with just that scope.
    let narrow = env.token(&["--scope", "storage.read:/store/sub"]);
    assert_eq!(jwt_claims(&narrow)["scope"], "storage.read:/store/sub");
    // A bare storage scope means the whole namespace.
    let bare = env.token(&["--scope", "storage.read"]);
    assert_eq!(jwt_claims(&bare)["scope"], "storage.read:/");

    // --min-valid beyond the token's lifetime forces a refresh.
    let n = provider.refreshes();
    env.token(&[
        "--scope",
        "storage.read:/store",
        "--aud",
        "https://se.example.org",
        "--min-valid",
        "2h",
    ]);
    assert_eq!(provider.refreshes(), n + 1);

    // Output formats.
    let json = env
        .run(&["get", "--scope", "storage.read:/store", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["account"], "cms");
    assert_eq!(json["issuer"], provider.issuer.as_str());
    assert!(json["expires_at"].as_u64().unwrap() > 0);
    let header = env
        .run(&["get", "--scope", "storage.read:/store", "-f", "header"])
        .ok();
    assert!(
        header.stdout.starts_with("Authorization: Bearer ey"),
        "{header}"
    );

    // Rotation: the provider rotates; reuse of an old token would revoke the grant, so every
    // later refresh succeeding proves tok stored and used each new refresh token.
    provider.set_rotate(true);
    for i in 0..3 {
        env.token(&["--scope", &format!("storage.modify:/store/r{i}")]);
    }
    assert_eq!(provider.live_refresh_tokens().len(), 1);

    // Restart the agent: the login survives in the encrypted file store.
    env.stop_agent();
    let store = env.path().join("data/tok/secrets.enc");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&store).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    env.token(&["--scope", "compute.create"]);
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["store"]["backend"], "file");
    assert_eq!(status["accounts"][0]["state"], "ok");
    let text = env.run(&["list"]).ok();
    assert!(text.stdout.contains("account cms (default)"), "{text}");
    assert!(
        !text.stdout.contains("eyJ"),
        "status never shows tokens\n{text}"
    );

    // Logout revokes at the provider.
    assert_eq!(provider.live_refresh_tokens().len(), 1);
    let out = env.run(&["logout", "cms"]).ok();
    assert!(out.stderr.contains("revoked"), "{out}");
    assert!(provider.live_refresh_tokens().is_empty());
    assert_eq!(provider.stats()["revocations"], 1);
    let out = env.run(&["get", "--scope", "compute.read"]).code(3);
    assert!(out.stderr.contains("tok login cms"), "{out}");
}

#[test]
fn audience_parameter_style_for_iam_and_keycloak() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login(
        &provider,
        &[
            "iam",
            "--issuer",
            &provider.issuer,
            "--scope",
            "storage.read:/",
            "--audience-param",
            "audience",
        ],
        Approval::Approve,
    )
    .ok();
    let t = env.token(&[
        "--scope",
        "storage.read:/x",
        "--aud",
        "https://se.example.org",
    ]);
    assert_eq!(jwt_claims(&t)["aud"], "https://se.example.org");
    let stats = provider.stats();
    assert_eq!(stats["audience_params"]["audience"], 1, "{stats}");
    assert_eq!(stats["audience_params"]["resource"], 0, "{stats}");
}

#[test]
fn static_confidential_client_and_issuer_selection() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    // Only --ca-file may make the test CA trusted here: the system store does not hold it.
    env.set_env("SSL_CERT_FILE", "");
    let secret = env.path().join("client-secret");
    std::fs::write(&secret, "s3cret-client\n").unwrap();
    env.login(
        &provider,
        &[
            "--issuer",
            &provider.issuer,
            "--client-id",
            "tok-confidential",
            "--client-secret-file",
            secret.to_str().unwrap(),
            "--ca-file",
            env.ca_file().to_str().unwrap(),
        ],
        Approval::Approve,
    )
    .ok();
    assert_eq!(provider.stats()["registrations"], 0);
    // The account is named after the issuer's host.
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["accounts"][0]["name"], "127.0.0.1");
    assert_eq!(status["accounts"][0]["client_id"], "tok-confidential");
    let config = std::fs::read_to_string(env.path().join("config/tok/config.toml")).unwrap();
    assert!(
        !config.contains("s3cret"),
        "no secret in the config\n{config}"
    );
    let t = env.token(&["--issuer", &provider.issuer, "--scope", "openid"]);
    assert!(t.starts_with("ey"));
}

#[test]
fn denied_device_code_ends_clearly() {
    let provider = Provider::start();
    let env = TestEnv::new();
    let out = env
        .login(
            &provider,
            &["cms", "--issuer", &provider.issuer],
            Approval::Deny,
        )
        .code(5);
    assert!(out.stderr.contains("denied"), "{out}");
    // The account is kept, not logged in, so that `tok login cms` can try again (issue 11).
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["accounts"][0]["state"], "needs login", "{status}");
    assert_eq!(
        status["accounts"][0]["reason"], "the first login has not finished",
        "{status}"
    );
}

#[test]
fn expired_device_code_ends_clearly() {
    let provider = Provider::start_with(ProviderOpts {
        device_ttl: 3,
        ..Default::default()
    });
    let env = TestEnv::new();
    let out = env
        .login(
            &provider,
            &["cms", "--issuer", &provider.issuer],
            Approval::Ignore,
        )
        .code(5);
    assert!(out.stderr.contains("expired"), "{out}");
}

#[test]
fn slow_down_is_honoured_and_login_still_succeeds() {
    let provider = Provider::start();
    let env = TestEnv::new();
    provider.post("/test/slow_down", serde_json::json!({"times": 1}));
    let started = std::time::Instant::now();
    env.login(
        &provider,
        &["cms", "--issuer", &provider.issuer],
        Approval::Approve,
    )
    .ok();
    // RFC 8628 §3.5: after slow_down the interval grows by 5 s (1 s + 5 s here). This is a
    // protocol check (never poll too fast), not a speed target.
    assert!(started.elapsed() >= std::time::Duration::from_secs(6));
}

#[test]
fn relogin_reuses_the_account_settings() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    env.run(&["logout", "cms"]).ok();
    env.login(&provider, &["cms"], Approval::Approve).ok();
    assert_eq!(
        provider.stats()["registrations"],
        1,
        "the client registration is reused"
    );
    let t = env.token(&["--scope", "storage.modify:/store"]);
    assert_eq!(jwt_claims(&t)["scope"], "storage.modify:/store");
    env.run(&["logout", "cms", "--forget"]).ok();
    let status = env.run(&["status", "--json"]).ok().json();
    assert!(status["accounts"].as_array().unwrap().is_empty());
}

#[test]
fn scope_outside_the_grant_is_refused_and_keeps_the_login() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let out = env.run(&["get", "--scope", "storage.read:/"]).ok();
    assert!(!out.stdout.is_empty());
    let out = env
        .run(&["get", "--scope", "storage.create:/elsewhere"])
        .code(5);
    assert!(out.stderr.contains("invalid_scope"), "{out}");
    env.token(&["--scope", "storage.read:/ok"]);
}
