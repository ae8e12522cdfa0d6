//! The agent killed at each step of a refresh, and between a temporary file and its rename.

use super::*;

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
