//! `tok delegate`: the credential it writes, what travels with it, expiry, revocation, and a
//! provider without token exchange.

use super::*;

#[test]
fn delegate_writes_a_private_narrowed_credential_that_works_without_an_agent() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.login_cms(&provider);
    let user_tokens: HashSet<String> = provider
        .live_refresh_tokens()
        .iter()
        .filter_map(|r| r["value"].as_str().map(str::to_string))
        .collect();

    let path = env.path().join("job.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/data compute.create",
            "--aud",
            AUD,
            "--lifetime",
            "2d",
            "--out",
            path.to_str().unwrap(),
        ])
        .ok();
    assert!(out.stdout.is_empty(), "{out}");
    for want in [
        "storage.read:/data",
        "compute.create",
        AUD,
        "valid until",
        path.to_str().unwrap(),
    ] {
        assert!(out.stderr.contains(want), "summary lacks {want}\n{out}");
    }
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let cred = read_json(&path);
    assert_eq!(cred["tok_credential"], 1);
    assert_eq!(cred["issuer"], provider.issuer.as_str());
    assert_eq!(
        cred["scopes"],
        serde_json::json!(["compute.create", "storage.read:/data"])
    );
    assert_eq!(cred["audiences"], serde_json::json!([AUD]));
    assert!(
        cred.get("client_secret").is_none(),
        "a public client has no secret"
    );
    let now = crate::common::unix_now();
    let not_after = cred["not_after"].as_u64().unwrap();
    assert!(not_after.abs_diff(now + 2 * 86400) < 60, "{cred}");
    let delegated_rt = cred["refresh_token"].as_str().unwrap().to_string();
    assert!(
        !user_tokens.contains(&delegated_rt),
        "the credential holds a delegated token, never the user's"
    );
    let delegated: Vec<_> = provider
        .live_refresh_tokens()
        .into_iter()
        .filter(|r| r["value"] == delegated_rt.as_str())
        .collect();
    assert_eq!(delegated.len(), 1, "the provider knows the delegated token");
    assert_eq!(delegated[0]["delegated"], true);

    // The agent records the delegation, and `tok status` shows it (never the token).
    let status = env.run(&["status", "--json"]).ok();
    let d = &status.json()["accounts"][0]["delegations"][0];
    assert_eq!(d["id"], cred["id"], "{status}");
    assert!(d["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    assert!(!status.stdout.contains(&delegated_rt));
    let text = env.run(&["status"]).ok();
    assert!(text.stdout.contains(cred["id"].as_str().unwrap()), "{text}");
    assert!(
        env.agent_log().contains("delegated a job credential"),
        "{}",
        env.agent_log()
    );

    // In the job: no agent. Tokens carry exactly the delegated scopes and audience.
    without_agent(&mut env);
    let before = provider.stats()["token_requests"].as_u64().unwrap();
    let token = env.token(&["--credential", path.to_str().unwrap()]);
    let claims = jwt_claims(&token);
    assert_eq!(
        scope_set(&claims),
        set(&["compute.create", "storage.read:/data"])
    );
    assert_eq!(claims["aud"], AUD);
    // Narrower is fine.
    let token = env.token(&[
        "--credential",
        path.to_str().unwrap(),
        "-s",
        "storage.read:/data/mc",
    ]);
    assert_eq!(jwt_claims(&token)["scope"], "storage.read:/data/mc");
    // Wider is refused by tok before the provider is asked.
    let after_ok = provider.stats()["token_requests"].as_u64().unwrap();
    assert_eq!(after_ok, before + 2);
    for args in [
        vec!["-s", "storage.read:/"],
        vec!["-s", "storage.modify:/data"],
        vec!["--aud", "https://other.example.org"],
    ] {
        let mut all = vec!["get", "--credential", path.to_str().unwrap()];
        all.extend(args);
        let out = env.run(&all).code(5);
        assert!(out.stderr.contains("does not cover"), "{out}");
    }
    assert_eq!(
        provider.stats()["token_requests"].as_u64().unwrap(),
        after_ok
    );
    // `--credential` with an account is a usage error; the credential path never starts an agent.
    env.run(&["get", "--credential", path.to_str().unwrap(), "-a", "cms"])
        .code(2);
    assert!(!env.socket().exists(), "no agent was started");
}

/// A confidential client's secret and the account's CA file travel in the credential (and the
/// summary says so): a worker node trusts only its system store and knows nothing of the client.
#[test]
fn the_credential_carries_the_client_secret_and_the_accounts_ca_to_worker_nodes() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let ca = env.ca_file().to_str().unwrap().to_string();
    let secret = env.path().join("client.secret");
    std::fs::write(&secret, "s3cret-client\n").unwrap();
    env.login(
        &provider,
        &[
            "cms",
            "--issuer",
            &provider.issuer,
            "--client-id",
            "tok-confidential",
            "--client-secret-file",
            secret.to_str().unwrap(),
            "--ca-file",
            &ca,
            "--scope",
            "storage.read:/",
        ],
        Approval::Approve,
    )
    .ok();
    let path = env.path().join("job.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/x",
            "--out",
            path.to_str().unwrap(),
        ])
        .ok();
    assert!(
        out.stderr
            .contains("secret of the confidential client `tok-confidential`"),
        "{out}"
    );
    let cred = read_json(&path);
    assert_eq!(cred["client_id"], "tok-confidential");
    assert_eq!(cred["client_secret"], "s3cret-client");
    assert!(cred["ca_pem"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    // A worker node that trusts only the system store.
    without_agent(&mut env);
    env.set_env("SSL_CERT_FILE", "");
    let token = env.token(&["--credential", path.to_str().unwrap()]);
    assert_eq!(jwt_claims(&token)["scope"], "storage.read:/x");
    assert_eq!(jwt_claims(&token)["client_id"], "tok-confidential");
    let copy = env.path().join("copy.cred");
    std::fs::copy(&path, &copy).unwrap();
    env.run(&["revoke", "--credential", path.to_str().unwrap()])
        .ok();
    env.run(&["get", "--credential", copy.to_str().unwrap()])
        .code(3);
}

#[test]
fn expiry_provider_cap_revocation_and_logout() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);

    // not_after is tok's own limit, even where the provider would still accept the token.
    let short = delegate(
        &env,
        "short.cred",
        &["-s", "storage.read:/x", "--lifetime", "1s"],
    );
    std::thread::sleep(Duration::from_millis(2100));
    let out = env
        .run(&["get", "--credential", short.to_str().unwrap()])
        .code(3);
    assert!(out.stderr.contains("expired"), "{out}");

    // The provider caps the lifetime, and the summary says so.
    provider.set_delegation_ttl(3600);
    let path = env.path().join("capped.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/x",
            "--out",
            path.to_str().unwrap(),
        ])
        .ok();
    assert!(out.stderr.contains("capped by the provider"), "{out}");
    let not_after = read_json(&path)["not_after"].as_u64().unwrap();
    assert!(not_after <= crate::common::unix_now() + 3600);
    provider.set_delegation_ttl(7 * 86400);

    // Revocation ends the delegated grant only: the user's account keeps working.
    let revoked = delegate(&env, "revoked.cred", &["-s", "storage.read:/x"]);
    let copy = env.path().join("copy.cred");
    std::fs::copy(&revoked, &copy).unwrap();
    let id = read_json(&revoked)["id"].as_str().unwrap().to_string();
    let out = env
        .run(&["revoke", "--credential", revoked.to_str().unwrap()])
        .ok();
    assert!(out.stderr.contains("revoked"), "{out}");
    assert!(!revoked.exists(), "the file is removed");
    let status = env.run(&["status", "--json"]).ok();
    assert!(
        !status.stdout.contains(&id),
        "a revoked credential is not listed\n{status}"
    );
    let out = env
        .run(&["get", "--credential", copy.to_str().unwrap()])
        .code(3);
    assert!(out.stderr.contains("no longer accepts"), "{out}");
    env.token(&["-s", "storage.read:/after-revoke"]);

    // The user's logout (which revokes the user's own refresh token) leaves credentials alive.
    let kept = delegate(&env, "kept.cred", &["-s", "storage.read:/x"]);
    env.run(&["logout", "cms"]).ok();
    let token = env.token(&["--credential", kept.to_str().unwrap()]);
    assert_eq!(jwt_claims(&token)["scope"], "storage.read:/x");
}

#[test]
fn a_provider_without_token_exchange_gets_a_clear_error() {
    let provider = Provider::start_with(ProviderOpts {
        token_exchange: false,
        ..Default::default()
    });
    let env = TestEnv::new();
    env.login_cms(&provider);
    let path = env.path().join("job.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/x",
            "--out",
            path.to_str().unwrap(),
        ])
        .code(5);
    assert!(out.stderr.contains("token exchange"), "{out}");
    assert!(
        out.stderr.contains("credmon"),
        "names the alternatives\n{out}"
    );
    assert!(!path.exists());
}
