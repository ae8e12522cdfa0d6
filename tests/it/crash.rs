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

/// Step 1: the refresh request has reached the provider, which has not answered yet.
///
/// The provider goes on with the request after the agent died: it rotates, and the new token
/// dies unread. This is the `provider_answered` window seen from the other side, and just as
/// unavoidable with a rotating provider. The test waits for the provider to finish before the
/// agent is restarted, so the outcome is deterministic (restarting earlier only changes which
/// of the two refreshes the provider sees as the reuse: it revokes the grant either way). With
/// a provider that does not rotate, the same crash costs nothing.
#[test]
fn killed_while_the_refresh_is_in_flight() {
    let (provider, env) = rotating_file_store();
    let rt1 = stored_refresh_token(&env).expect("a stored refresh token");
    assert_eq!(live_refresh_tokens(&provider), vec![rt1.clone()]);
    let pid = env.agent_pid();

    provider.fault("slow", 3000);
    let before = provider.refreshes();
    let get = env
        .command(&["get", "--scope", "storage.read:/in-flight"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The provider counts a request when it arrives, before the injected delay.
    assert!(
        wait_for(10, || provider.refreshes() > before),
        "the refresh reaches the provider"
    );
    kill9(pid);
    let out = wait_with_timeout(get, Duration::from_secs(10));
    let out = Out {
        what: "tok get (agent killed)".into(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    assert_lost_connection(&out);
    assert_dead(&env, pid);
    // The provider finishes the orphaned request: rt1 is rotated away, its successor unread.
    assert!(
        wait_for(10, || live_refresh_tokens(&provider) != vec![rt1.clone()]),
        "the provider rotates"
    );
    provider.fault("none", 0);
    assert_eq!(stored_refresh_token(&env), Some(rt1), "the store is intact");
    assert_needs_login_then_heal(&provider, &env, "storage.read:/in-flight");

    // Without rotation the refresh token outlives the crash: nothing is lost.
    provider.set_rotate(false);
    let pid = env.agent_pid();
    provider.fault("slow", 3000);
    let before = provider.refreshes();
    let mut get = env
        .command(&["get", "--scope", "storage.read:/in-flight-2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(10, || provider.refreshes() > before));
    kill9(pid);
    assert_eq!(get.wait().unwrap().code(), Some(6));
    assert_dead(&env, pid);
    provider.fault("none", 0);
    env.token(&["--scope", "storage.read:/in-flight-2"]);
    assert_eq!(account_state(&env).0, "ok");
    assert_store_holds_the_live_token(&provider, &env);
}

/// Step 2: the provider answered (and rotated), nothing is stored yet. The one unavoidable
/// window with a rotating provider (see the module comment): the rotated token existed only in
/// the dead agent's memory, the store holds its predecessor, and using that one is reuse, for
/// which the provider revokes the grant. tok must say so, not pretend.
#[test]
fn killed_after_the_provider_answered() {
    let (provider, env) = rotating_file_store();
    let rt1 = stored_refresh_token(&env).expect("a stored refresh token");
    let pid = start_agent_crashing_at(&env, "provider_answered");
    let out = env.run(&["get", "--scope", "storage.read:/answered"]);
    assert_lost_connection(&out);
    assert_dead(&env, pid);
    assert!(env
        .agent_log()
        .contains("TOK_TEST_CRASH_AT=provider_answered"));
    // The provider rotated: rt1 is dead there, its successor died with the agent.
    let live = live_refresh_tokens(&provider);
    assert_eq!(live.len(), 1);
    assert_ne!(live[0], rt1);
    assert_eq!(stored_refresh_token(&env), Some(rt1), "the store is intact");
    assert_needs_login_then_heal(&provider, &env, "storage.read:/answered");
}

/// Step 3: the rotated token is stored, the client has no answer yet. Nothing is lost: the
/// client is told its agent died (exit 6) and the next `tok get` works.
#[test]
fn killed_after_the_rotated_token_was_stored() {
    let (provider, env) = rotating_file_store();
    let rt1 = stored_refresh_token(&env).expect("a stored refresh token");
    let pid = start_agent_crashing_at(&env, "store_written");
    let out = env.run(&["get", "--scope", "storage.read:/stored"]);
    assert_lost_connection(&out);
    assert_dead(&env, pid);
    assert!(env.agent_log().contains("TOK_TEST_CRASH_AT=store_written"));
    assert_ne!(stored_refresh_token(&env), Some(rt1), "rotated and stored");
    assert_account_works_without_lost_rotation(&provider, &env);
}

/// Step 4: the client has its token, then the agent dies. The token is good and the next
/// `tok get` works.
#[test]
fn killed_after_the_reply_was_sent() {
    let (provider, env) = rotating_file_store();
    let pid = start_agent_crashing_at(&env, "reply_sent");
    let token = env.token(&["--scope", "storage.read:/replied"]);
    let claims = crate::common::jwt_claims(&token);
    assert!(
        claims["scope"]
            .as_str()
            .unwrap_or_default()
            .contains("storage.read:/replied"),
        "{claims}"
    );
    assert_dead(&env, pid);
    assert!(env.agent_log().contains("TOK_TEST_CRASH_AT=reply_sent"));
    assert_account_works_without_lost_rotation(&provider, &env);
}

/// Temporary files an atomic write left in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// Step 5: the file store's atomic write has its temporary file (the rotated token, encrypted,
/// fsynced) but has not renamed it over the store. The store still holds the old content and
/// reads fine; the rotated token is lost with the agent as in step 2, so tok says the account
/// needs a new login. The temporary file stays behind (nothing removes it: it is 0600, named
/// after the dead pid, and no later write can collide with it); it breaks nothing.
#[test]
fn killed_between_the_temporary_file_and_the_rename() {
    let (provider, env) = rotating_file_store();
    let rt1 = stored_refresh_token(&env).expect("a stored refresh token");
    let store_file = store_dir(&env).join("secrets.enc");
    let old_bytes = std::fs::read(&store_file).unwrap();
    let pid = start_agent_crashing_at(&env, "temp_written");
    let out = env.run(&["get", "--scope", "storage.read:/temp"]);
    assert_lost_connection(&out);
    assert_dead(&env, pid);
    assert!(env.agent_log().contains("TOK_TEST_CRASH_AT=temp_written"));

    // The interrupted write left its temporary file (encrypted, private) ...
    let left = temp_files(&store_dir(&env));
    assert_eq!(left.len(), 1, "the interrupted write's temporary file");
    assert!(left[0].starts_with(".secrets.enc."), "{left:?}");
    let mode = std::fs::metadata(store_dir(&env).join(&left[0]))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // ... the store file is the old one, byte for byte, and decrypts to the old token; opening
    // the store removes the stale temporary.
    assert_eq!(std::fs::read(&store_file).unwrap(), old_bytes);
    assert_eq!(stored_refresh_token(&env), Some(rt1));
    assert!(
        temp_files(&store_dir(&env)).is_empty(),
        "the leftover is cleaned up"
    );

    assert_needs_login_then_heal(&provider, &env, "storage.read:/temp");
    env.token(&["--scope", "storage.read:/temp-2"]);
    assert_store_holds_the_live_token(&provider, &env);
    assert!(temp_files(&store_dir(&env)).is_empty());
}

/// `tok exec` killed with -9 while its command runs. What happens: the kernel sends the command
/// SIGTERM (tok exec sets PR_SET_PDEATHSIG), so it does not run on with a token file nobody
/// renews; the token file is left in place — complete, 0600 — since nobody is left to remove
/// it. What must hold: no partial or temporary file, and the next `tok exec` works. Killed
/// while it writes the token file, it leaves no file under the token file's name, only the
/// temporary one.
#[test]
fn tok_exec_killed_mid_run() {
    assert_crash_points_built();
    let (provider, env) = rotating_file_store();
    let run = env.path().join("run");
    let marker = env.path().join("child.pid");
    let script = format!(
        "echo $$ > {m}.tmp && mv {m}.tmp {m} && exec sleep 60",
        m = marker.display()
    );
    let mut exec = env
        .command(&[
            "exec",
            "--scope",
            "storage.read:/exec",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let exec_pid = exec.id();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let token_file = run.join(format!("bt_u{uid}-exec-{exec_pid}"));
    assert!(
        wait_for(10, || marker.exists() && token_file.exists()),
        "tok exec started its command"
    );
    let child: u32 = std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    kill9(exec_pid);
    let status = exec.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );

    // The command is told to stop.
    let orphaned = !wait_for(10, || !alive(child));
    // The token file: whole, private, a token for what was asked; no temporary file beside it.
    let text = std::fs::read_to_string(&token_file).unwrap();
    assert!(
        text.ends_with('\n') && text.trim().split('.').count() == 3,
        "{text:?}"
    );
    let claims = crate::common::jwt_claims(text.trim());
    assert!(
        claims["scope"]
            .as_str()
            .unwrap_or_default()
            .contains("storage.read:/exec"),
        "{claims}"
    );
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(temp_files(&run).is_empty(), "{:?}", temp_files(&run));
    if orphaned {
        // SAFETY: kill(2) on the orphaned `sleep` this test started through tok exec.
        unsafe { libc::kill(child as libc::pid_t, libc::SIGKILL) };
    }
    assert!(
        !orphaned,
        "tok exec killed with -9 takes its command down (PR_SET_PDEATHSIG)"
    );

    // The next tok exec works and cleans up after itself; the dead one's file stays.
    let out = env
        .command(&[
            "exec",
            "--scope",
            "storage.read:/exec",
            "--",
            "sh",
            "-c",
            "cat \"$BEARER_TOKEN_FILE\"",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let second = String::from_utf8_lossy(&out.stdout);
    assert_eq!(second.trim().split('.').count(), 3, "{second}");
    assert!(token_file.exists(), "the killed exec's file is left behind");
    let files: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("bt_u"))
        .collect();
    assert_eq!(
        files.len(),
        1,
        "the second exec removed its own file: {files:?}"
    );

    // Killed in the middle of writing its token file (temporary file written, not renamed):
    // the command never starts, no token file exists under the name it would have had (a
    // reader finds none, never a partial one), and the temporary file stays behind.
    let marker = env.path().join("never.started");
    let mut crashing = env
        .command(&[
            "exec",
            "--scope",
            "storage.read:/exec",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ])
        .env("TOK_TEST_CRASH_AT", "temp_written")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let crashed_pid = crashing.id();
    let status = crashing.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "tok exec died at temp_written"
    );
    assert!(!marker.exists(), "the command never started");
    assert!(!run.join(format!("bt_u{uid}-exec-{crashed_pid}")).exists());
    let left = temp_files(&run);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0].starts_with(&format!(".bt_u{uid}-exec-{crashed_pid}.")),
        "{left:?}"
    );
    let text = std::fs::read_to_string(run.join(&left[0])).unwrap();
    assert_eq!(text.trim().split('.').count(), 3, "a whole token: {text:?}");
    let out = env
        .command(&["exec", "--scope", "storage.read:/exec", "--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(account_state(&env).0, "ok");
    drop(provider);
}
