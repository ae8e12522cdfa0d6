//! `tok lock` while a refresh is in flight (issue 18): the lock is one state transition. New
//! requests are refused at once (exit 7), the in-flight refresh commits what the provider
//! rotated (so the login survives) but its token is dropped, `tok status` says "refreshing"
//! for the busy account (never "ok"), and no token is handed out once `tok lock` returned.

use crate::common::{wait_with_timeout, Provider, ProviderOpts, TestEnv};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

const PASSPHRASE: &str = "a passphrase for the lock test";

/// How long the provider holds every token request open (the tests' HTTP timeout is 3 s).
const PROVIDER_DELAY_MS: u64 = 2000;

fn rotating_provider() -> Provider {
    Provider::start_with(ProviderOpts {
        rotate: true,
        ..Default::default()
    })
}

fn wait_for(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn account_state(env: &TestEnv) -> String {
    let status = env.run(&["status", "--json"]).ok().json();
    status["accounts"][0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The scenario for one store, with a provider that rotates (the rotation must be committed)
/// and one that does not (nothing needs the store, so only the lock stops the token); `unlock`
/// lifts the lock afterwards.
fn lock_holds_during_a_refresh(provider: &Provider, env: &TestEnv, unlock: &[&str]) {
    lock_during_one_refresh(provider, env, unlock, "/rotating");
    provider.set_rotate(false);
    lock_during_one_refresh(provider, env, unlock, "/not-rotating");
}

fn lock_during_one_refresh(provider: &Provider, env: &TestEnv, unlock: &[&str], path: &str) {
    let in_flight_scope = format!("storage.read:{path}/in-flight");
    let after_scope = format!("storage.read:{path}/after");
    provider.fault("slow", PROVIDER_DELAY_MS);
    let before = provider.refreshes();
    let in_flight = env
        .command(&["get", "--scope", in_flight_scope.as_str()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The provider counts a request when it arrives, before the injected delay.
    assert!(
        wait_for(20, || provider.refreshes() > before),
        "the refresh reaches the provider"
    );
    assert_eq!(
        account_state(env),
        "refreshing",
        "a busy account is not reported as ok"
    );

    let lock = env.run(&["lock"]).ok();
    let got = wait_with_timeout(in_flight, Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&got.stdout);
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert!(
        stdout.trim().is_empty(),
        "the in-flight request printed a token after the lock\n{lock}"
    );
    assert_eq!(got.status.code(), Some(7), "in-flight get: {stderr}");
    assert!(stderr.contains("tok unlock"), "{stderr}");

    let out = env.run(&["get", "--scope", after_scope.as_str()]).code(7);
    assert!(out.stdout.trim().is_empty(), "{out}");
    let status = env.run(&["status", "--json"]).ok().json();
    assert!(
        status["agent_locked"] == true || status["store"]["locked"] == true,
        "{status:#}"
    );
    assert!(
        status["accounts"][0]["cached"]
            .as_array()
            .is_none_or(|c| c.is_empty()),
        "no token stays cached: {status:#}"
    );

    // The rotation was committed before the lock took the key: the login still works.
    provider.fault("none", 0);
    env.run(unlock).ok();
    env.token(&["--scope", after_scope.as_str()]);
    assert_eq!(account_state(env), "ok");
}

#[test]
fn tok_lock_holds_while_a_refresh_is_in_flight_with_the_file_store() {
    let provider = rotating_provider();
    let mut env = TestEnv::new();
    let pass = env.passphrase_file("passphrase", PASSPHRASE);
    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.set_env("TOK_STORE", "file");
    env.set_env("TOK_PASSPHRASE_FILE", pass.to_str().unwrap());
    env.run(&["unlock"]).ok();
    env.login_cms(&provider);
    // No passphrase at hand from here on: nothing may unlock behind the test's back.
    env.set_env("TOK_PASSPHRASE_FILE", "");
    let pass = pass.to_str().unwrap().to_string();
    lock_holds_during_a_refresh(
        &provider,
        &env,
        &["unlock", "--passphrase-file", pass.as_str()],
    );
}

#[test]
fn tok_lock_holds_while_a_refresh_is_in_flight_with_the_memory_store() {
    let provider = rotating_provider();
    let env = TestEnv::new();
    env.login_cms(&provider);
    lock_holds_during_a_refresh(&provider, &env, &["unlock"]);
}

#[test]
fn tok_lock_holds_while_a_refresh_is_in_flight_with_the_kernel_keyring() {
    let provider = rotating_provider();
    let mut env = TestEnv::new();
    env.set_env("TOK_STORE", "keyutils");
    env.set_env(
        "TOK_STORE_NAMESPACE",
        format!("lock-{}", std::process::id()),
    );
    let probe = env.run(&["status", "--json"]);
    if probe.code != Some(0) {
        eprintln!("skipped: the kernel keyring is not usable here\n{probe}");
        return;
    }
    env.login_cms(&provider);
    lock_holds_during_a_refresh(&provider, &env, &["unlock"]);
    env.run(&["logout", "cms", "--forget"]).ok();
}

/// A shared store: the in-flight refresh holds the account's lease in OpenBao and writes the
/// rotation there with check-and-set before the lock completes.
#[test]
fn tok_lock_holds_while_a_refresh_is_in_flight_with_openbao() {
    use crate::common::bao::Bao;
    let provider = rotating_provider();
    let bao = Bao::start();
    let user = tok::store::openbao::login_name();
    let token = bao.user_token(&user, "1h");
    let mut env = TestEnv::new();
    env.set_env("TOK_STORE", "openbao");
    env.set_env("BAO_ADDR", bao.addr.as_str());
    env.set_env("BAO_TOKEN", token.as_str());
    env.login_cms(&provider);
    lock_holds_during_a_refresh(&provider, &env, &["unlock"]);
}

/// A confirmation prompt nobody answers does not hold `tok lock` back: the prompt is closed and
/// its request refused with exit 7.
#[test]
fn tok_lock_does_not_wait_for_an_unanswered_confirmation_prompt() {
    use crate::common::Approval;
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let asked = env.path().join("asked");
    let askpass = env.path().join("askpass");
    std::fs::write(
        &askpass,
        format!("#!/bin/sh\n: > {}\nexec sleep 50\n", asked.display()),
    )
    .unwrap();
    std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set_env("TOK_ASKPASS", askpass.to_str().unwrap());
    let issuer = provider.issuer.clone();
    env.login(
        &provider,
        &[
            "cms",
            "--issuer",
            &issuer,
            "--scope",
            "storage.read:/",
            "--confirm",
        ],
        Approval::Approve,
    )
    .ok();
    let waiting = env
        .command(&["get", "--scope", "storage.read:/asked"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(20, || asked.exists()), "the prompt is shown");
    let started = Instant::now();
    env.run(&["lock"]).ok();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "tok lock waited {:?} for the prompt",
        started.elapsed()
    );
    let got = wait_with_timeout(waiting, Duration::from_secs(20));
    assert_eq!(got.status.code(), Some(7), "{got:?}");
    assert!(got.stdout.is_empty(), "no token after the lock");
    env.run(&["unlock"]).ok();
}
