//! Provider trouble: nothing is lost, cached tokens keep flowing, errors say what to do.

use crate::common::{Provider, TestEnv};

fn logged_in() -> (Provider, TestEnv) {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    (provider, env)
}

#[test]
fn transient_faults_keep_the_login_and_serve_cached_tokens() {
    let (provider, env) = logged_in();
    let cached = env.token(&["--scope", "storage.read:/store"]);
    for (mode, words) in [
        ("500", "server_error"),
        ("garbage", "refresh"),
        ("hang", "timed out"),
        ("close", "refresh"),
    ] {
        provider.fault(mode, 0);
        let out = env
            .run(&["get", "--scope", &format!("storage.read:/{mode}")])
            .code(4);
        assert!(out.stderr.contains(words), "{mode}: {out}");
        assert!(out.stderr.contains("try again later"), "{mode}: {out}");
        assert!(
            !out.stderr.contains("not json"),
            "no response body in errors\n{out}"
        );
        // A valid cached token is still served while the provider misbehaves.
        assert_eq!(env.token(&["--scope", "storage.read:/store"]), cached);
        provider.fault("none", 0);
    }
    // The refresh token survived every fault.
    env.token(&["--scope", "storage.read:/after"]);
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["accounts"][0]["state"], "ok");
}

#[test]
fn provider_down_is_reported_and_recovers() {
    let (mut provider, env) = logged_in();
    let cached = env.token(&["--scope", "storage.read:/store"]);
    provider.stop();
    let out = env.run(&["get", "--scope", "storage.read:/down"]).code(4);
    assert!(
        out.stderr.contains("could not connect") || out.stderr.contains("failed"),
        "{out}"
    );
    assert_eq!(env.token(&["--scope", "storage.read:/store"]), cached);
}

#[test]
fn invalid_grant_means_needs_login() {
    let (provider, env) = logged_in();
    provider.post("/test/forget", serde_json::json!({}));
    let out = env.run(&["get", "--scope", "storage.read:/x"]).code(3);
    assert!(out.stderr.contains("invalid_grant"), "{out}");
    assert!(out.stderr.contains("tok login cms"), "{out}");
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["accounts"][0]["state"], "needs login");
    // And it stays that way without hammering the provider.
    let n = provider.refreshes();
    env.run(&["get", "--scope", "storage.read:/y"]).code(3);
    assert_eq!(provider.refreshes(), n);
    // A new login heals it.
    env.login_cms(&provider);
    env.token(&["--scope", "storage.read:/x"]);
}

#[test]
fn fifty_concurrent_identical_gets_make_one_refresh() {
    let (provider, env) = logged_in();
    // A slow provider makes sure the requests overlap.
    provider.fault("slow", 1000);
    let before = provider.refreshes();
    let tokens: std::collections::HashSet<String> = env
        .run_concurrently(
            50,
            &[
                "get",
                "--scope",
                "storage.read:/many",
                "--aud",
                "https://se.example.org",
            ],
        )
        .into_iter()
        .collect();
    assert_eq!(provider.refreshes(), before + 1);
    assert_eq!(tokens.len(), 1);
}

#[test]
fn a_slow_refresh_does_not_block_cached_requests() {
    let (provider, env) = logged_in();
    let cached = env.token(&["--scope", "storage.read:/store"]);
    provider.fault("hang", 0);
    let mut slow = env
        .command(&["get", "--scope", "storage.read:/slow"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Served while the other request waits on the hanging provider (not a timing assertion:
    // it must simply succeed before the slow one has finished).
    assert_eq!(env.token(&["--scope", "storage.read:/store"]), cached);
    assert!(
        slow.try_wait().unwrap().is_none(),
        "the slow request is still waiting"
    );
    let _ = slow.wait();
}

/// A store that refuses a rotated refresh token: the new token (the only valid one) stays in
/// the agent, the account's next refresh stores it before anything else instead of rotating
/// again, `tok status` says so, and once the store works the login is whole again, across an
/// agent restart too.
#[test]
fn a_rotated_refresh_token_the_store_refuses_is_kept_and_stored_later() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let pass = env.passphrase_file("passphrase", "a passphrase for this test");
    env.set_env("TOK_STORE", "file");
    env.set_env("TOK_PASSPHRASE_FILE", pass.to_str().unwrap());
    env.run(&["unlock"]).ok();
    env.login_cms(&provider);
    provider.set_rotate(true);

    // Break the store: its file becomes a directory, so replacing it fails (even for root).
    let store = env.path().join("data/tok/secrets.enc");
    let aside = env.path().join("secrets.enc.aside");
    std::fs::rename(&store, &aside).unwrap();
    std::fs::create_dir(&store).unwrap();
    std::fs::write(store.join("in-the-way"), "").unwrap();

    let before = provider.refreshes();
    let out = env.run(&["get", "--scope", "storage.read:/r1"]).code(1);
    assert!(out.stderr.contains("refused the new one"), "{out}");
    assert!(out.stderr.contains("fix the store"), "{out}");
    assert_eq!(provider.refreshes(), before + 1);
    // Stored first, so no second rotation while the store is broken.
    let out = env.run(&["get", "--scope", "storage.read:/r2"]).code(1);
    assert!(out.stderr.contains("refused the new one"), "{out}");
    assert_eq!(provider.refreshes(), before + 1);
    let status = env.run(&["status", "--json"]).ok().json();
    assert!(status.to_string().contains("not stored"), "{status:#}");
    // `tok lock` keeps the only copy.
    env.run(&["lock"]).ok();

    std::fs::remove_dir_all(&store).unwrap();
    std::fs::rename(&aside, &store).unwrap();
    env.token(&["--scope", "storage.read:/r2"]);
    assert_eq!(provider.refreshes(), before + 2);
    let status = env.run(&["status", "--json"]).ok().json();
    assert!(!status.to_string().contains("not stored"), "{status:#}");

    // What the store holds now is the newest token: a fresh agent refreshes with it.
    env.stop_agent();
    env.token(&["--scope", "storage.read:/r3"]);
    assert!(
        !env.agent_log().contains("invalid_grant"),
        "{}",
        env.agent_log()
    );
}
