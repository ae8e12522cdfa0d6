//! The crash matrix (issue 10): the agent dies like `kill -9` at each step of a refresh at a
//! provider that rotates refresh tokens, with a persistent (file) store, and is started again.
//! Whatever the moment, the account must either work or tok must say exactly why it cannot
//! (exit 3 and the provider's reason): never a silently lost login, never a hang. Also
//! `tok exec` killed with -9 while its command runs.
//!
//! The steps come from `TOK_TEST_CRASH_AT` (src/crashpoint.rs), set only in the environment of
//! the agent started for the crash; the `tok` commands that follow run without it, so the agent
//! they start after the crash is a normal one.
//!
//! With a provider that rotates refresh tokens and refuses a used one (node-oidc-provider, the
//! test provider, also revokes the whole grant on such reuse), one window loses the login: from
//! the moment the provider rotates until the new token is durable in the store. The agent dies
//! there when the provider still works on a refresh it sent (in flight), when the answer is in
//! (`provider_answered`), or when the store's new file is written but not renamed
//! (`temp_written`); the new token then existed only in the dead agent, and the stored one is
//! the used one. No client can close this window: the rotated token exists only in an HTTP
//! answer until it is stored. Only the provider can, with a reuse grace period (the old token
//! keeps working for a while, e.g. Okta's rotation grace period, Keycloak's "refresh token max
//! reuse"). tok then says so the first time it refreshes: exit 3, "needs a new login" with the
//! provider's `invalid_grant`, and from then on `tok status` says "needs login" (before that
//! first refresh the restarted agent cannot know, and says "ok").

use crate::common::{wait_with_timeout, Out, Provider, ProviderOpts, TestEnv};
use secrecy::ExposeSecret;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

mod exec;
mod refresh;

const PASSPHRASE: &str = "crash matrix passphrase";

/// A rotating provider and an environment with the encrypted file store, logged in as `cms`.
fn rotating_file_store() -> (Provider, TestEnv) {
    let provider = Provider::start_with(ProviderOpts {
        rotate: true,
        ..Default::default()
    });
    let mut env = TestEnv::new();
    let pass = env.passphrase_file("passphrase", PASSPHRASE);
    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.set_env("TOK_STORE", "file");
    env.set_env("TOK_PASSPHRASE_FILE", pass.to_str().unwrap());
    env.run(&["unlock"]).ok();
    env.login_cms(&provider);
    (provider, env)
}

fn store_dir(env: &TestEnv) -> PathBuf {
    env.path().join("data/tok")
}

/// The refresh token the file store holds, read the way the agent reads it.
fn stored_refresh_token(env: &TestEnv) -> Option<String> {
    use tok::store::SecretStore;
    let store = tok::store::file::FileStore::open(&store_dir(env).join("secrets.enc"))
        .expect("the store opens");
    store
        .unlock(&tok::secret::Passphrase::new(PASSPHRASE))
        .expect("the store decrypts");
    store
        .load("refresh/cms")
        .expect("the store reads")
        .map(|s| s.expose_secret().to_string())
}

/// The user's live (issued, not yet rotated away, not revoked) refresh tokens at the provider.
fn live_refresh_tokens(provider: &Provider) -> Vec<String> {
    provider
        .live_refresh_tokens()
        .into_iter()
        .filter(|t| t["delegated"] != true)
        .filter_map(|t| t["value"].as_str().map(str::to_string))
        .collect()
}

/// No lost rotation: the provider has exactly one live refresh token and tok stores it.
#[track_caller]
fn assert_store_holds_the_live_token(provider: &Provider, env: &TestEnv) {
    let live = live_refresh_tokens(provider);
    let stored = stored_refresh_token(env);
    assert_eq!(live.len(), 1, "one live refresh token at the provider");
    assert_eq!(
        stored.as_deref(),
        Some(live[0].as_str()),
        "the store holds the provider's live refresh token"
    );
}

fn alive(pid: u32) -> bool {
    // A zombie is dead for our purposes; a reaped process has no /proc entry.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        })
        .unwrap_or(false)
}

fn kill9(pid: u32) {
    // SAFETY: kill(2) on a process this test started (the agent, or `tok exec`).
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
}

/// Waits up to `secs` for `done()` (the common `wait_until` allows 4 s; the provider's slow
/// fault alone takes 3).
fn wait_for(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// The agent `pid` is gone and its socket file, left behind by SIGKILL, refuses connections.
#[track_caller]
fn assert_dead(env: &TestEnv, pid: u32) {
    let refused = || {
        matches!(std::os::unix::net::UnixStream::connect(env.socket()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
    };
    assert!(
        wait_for(10, || !alive(pid) && refused()),
        "the agent (pid {pid}) is dead\n{}",
        env.agent_log()
    );
}

/// Crash points exist only in debug builds (src/crashpoint.rs); this binary and the `tok` it
/// runs share a profile, so a release test run says why the matrix cannot run.
fn assert_crash_points_built() {
    #[cfg(not(debug_assertions))]
    panic!("the crash matrix needs a debug build (release builds have no crash points): run it without --release");
}

/// Replaces the running agent with one that dies at `step`; returns its pid.
fn start_agent_crashing_at(env: &TestEnv, step: &str) -> u32 {
    assert_crash_points_built();
    env.stop_agent();
    let out = env
        .command(&["agent", "start"])
        .env("TOK_TEST_CRASH_AT", step)
        .output()
        .unwrap();
    assert!(out.status.success(), "tok agent start: {out:?}");
    env.agent_pid()
}

/// `tok get` whose agent dies under it: it says so (exit 6) and does not hang.
#[track_caller]
fn assert_lost_connection(out: &Out) {
    assert_eq!(out.code, Some(6), "exit 6: agent unreachable\n{out}");
    assert!(
        out.stderr.contains("lost the connection to the agent"),
        "{out}"
    );
    assert!(out.stdout.is_empty(), "{out}");
}

fn account_state(env: &TestEnv) -> (String, String) {
    let status = env.run(&["status", "--json"]).ok().json();
    let account = &status["accounts"][0];
    (
        account["state"].as_str().unwrap_or_default().to_string(),
        account["reason"].as_str().unwrap_or_default().to_string(),
    )
}

/// The login is gone at the provider, and tok says so: exit 3 with the provider's reason, and
/// from then on `tok status` agrees; a new login heals the account.
#[track_caller]
fn assert_needs_login_then_heal(provider: &Provider, env: &TestEnv, scope: &str) {
    let out = env.run(&["get", "--scope", scope]).code(3);
    assert!(out.stderr.contains("needs a new login"), "{out}");
    assert!(out.stderr.contains("invalid_grant"), "{out}");
    assert!(out.stderr.contains("tok login cms"), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
    let (state, reason) = account_state(env);
    assert_eq!(state, "needs login", "tok status agrees with tok get");
    assert!(reason.contains("invalid_grant"), "{reason}");
    env.login_cms(provider);
    env.token(&["--scope", scope]);
    assert_store_holds_the_live_token(provider, env);
}

/// After a crash at `step` (agent dead, its `tok get` told): a new agent serves the account and
/// nothing rotated was lost.
#[track_caller]
fn assert_account_works_without_lost_rotation(provider: &Provider, env: &TestEnv) {
    // Before anything else touches the provider: the store has the newest token.
    assert_store_holds_the_live_token(provider, env);
    let before = provider.refreshes();
    let token = env.token(&["--scope", "storage.read:/after-crash"]);
    assert!(!token.is_empty());
    assert_eq!(provider.refreshes(), before + 1, "one refresh, accepted");
    assert_eq!(account_state(env).0, "ok");
    assert_store_holds_the_live_token(provider, env);
    assert!(
        !env.agent_log().contains("invalid_grant"),
        "{}",
        env.agent_log()
    );
}

/// Temporary files an atomic write left in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}
