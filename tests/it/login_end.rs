//! Issue 20, "logins that never end by surprise": tok learns when a login ends from the
//! provider (`refresh_expires_in`, a JWT refresh token's `exp`) and from `--lifetime`, shows it
//! in `tok status` (text and JSON) and `tok doctor`, warns on `tok get`/`exec` once a day when
//! the end is near, words an ended login's failure with it, and a re-login keeps the cached
//! tokens until the new refresh token is stored.

use crate::common::{provider::Provider, unix_now, Approval, TestEnv};
use serde_json::json;

const DAY: u64 = 86400;

/// The test provider says when logins end (see `sayLoginEnd` in tests/provider/server.js).
fn say_login_end(provider: &Provider, how: serde_json::Value) {
    provider.post("/test/config", json!({ "login_end": how }));
}

fn login(env: &TestEnv, provider: &Provider, extra: &[&str]) {
    let mut args = vec![
        "cms",
        "--issuer",
        &provider.issuer,
        "--scope",
        "storage.read:/",
    ];
    args.extend_from_slice(extra);
    env.login(provider, &args, Approval::Approve).ok();
}

/// The account's entry in `tok status --json`.
fn account_json(env: &TestEnv) -> serde_json::Value {
    let status = env.run(&["status", "--json"]).ok();
    status.json()["accounts"][0].clone()
}

/// `login_ends_at` is within a minute of `want` and came from `source`.
#[track_caller]
fn assert_end(env: &TestEnv, want: u64, source: &str) {
    let acct = account_json(env);
    let at = acct["login_ends_at"]
        .as_u64()
        .unwrap_or_else(|| panic!("{acct}"));
    assert!(
        at.abs_diff(want) <= 60,
        "ends at {at}, want about {want}: {acct}"
    );
    assert_eq!(acct["login_end_source"], source, "{acct}");
}

/// The agent's record of the last warning per account (a 0600 file in the data dir).
fn warnings_file(env: &TestEnv) -> std::path::PathBuf {
    env.path().join("data/tok/login-warnings.json")
}

const WARNING: &str =
    "tok: the login for account `cms` ends in 2 days (provider limit); run `tok login cms` before then";

#[test]
fn refresh_expires_in_is_shown_and_warned_about_once_a_day() {
    let provider = Provider::start();
    say_login_end(&provider, json!({ "refresh_expires_in": 2 * DAY + 3600 }));
    let env = TestEnv::new();
    login(&env, &provider, &[]);

    let status = env.run(&["status"]).ok();
    assert!(
        status.stdout.contains("login:    ends in 2 days, at 20")
            && status.stdout.contains("(provider: refresh_expires_in)"),
        "{status}"
    );
    assert_end(&env, unix_now() + 2 * DAY + 3600, "refresh_expires_in");
    let doctor = env.run(&["doctor"]);
    assert!(
        doctor
            .stdout
            .contains("warn  cms login end: the login ends in 2 days")
            && doctor.stdout.contains("fix: `tok login cms` before then"),
        "{doctor}"
    );

    // The first use warns on stderr, never on stdout (it carries the token).
    let first = env.run(&["get"]).ok();
    assert!(first.stderr.contains(WARNING), "{first}");
    assert!(!first.stdout.contains("login"), "{first}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(warnings_file(&env))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Not again the same day, whether from the cache or from a refresh.
    for args in [&["get"][..], &["get", "--force"], &["exec", "--", "true"]] {
        let again = env.run(args).ok();
        assert!(!again.stderr.contains("ends in"), "{again}");
    }

    // A day later (the remembered time moved back: no sleeping), `tok exec` warns again, once.
    let record = json!({ "cms": unix_now() - DAY - 1 });
    std::fs::write(warnings_file(&env), record.to_string()).unwrap();
    let next_day = env.run(&["exec", "--", "true"]).ok();
    assert!(next_day.stderr.contains(WARNING), "{next_day}");
    let again = env.run(&["get"]).ok();
    assert!(!again.stderr.contains("ends in"), "{again}");
}

/// Keycloak's `refresh_expires_in` is an idle window: each refresh moves the end. The moved end
/// is kept where an agent restart finds it.
#[test]
fn a_refresh_moves_the_end_and_a_restart_keeps_it() {
    let provider = Provider::start();
    say_login_end(&provider, json!({ "refresh_expires_in": 2 * DAY }));
    let env = TestEnv::new();
    login(&env, &provider, &[]);
    assert_end(&env, unix_now() + 2 * DAY, "refresh_expires_in");

    say_login_end(&provider, json!({ "refresh_expires_in": 12 * DAY }));
    let out = env.run(&["get", "--force"]).ok();
    // Twelve days is beyond the threshold: no warning.
    assert!(!out.stderr.contains("ends in"), "{out}");
    assert_end(&env, unix_now() + 12 * DAY, "refresh_expires_in");
    // `0` is Keycloak's "no limit" (an offline token): it says nothing, the known end stands.
    say_login_end(&provider, json!({ "refresh_expires_in": 0 }));
    env.run(&["get", "--force"]).ok();
    assert_end(&env, unix_now() + 12 * DAY, "refresh_expires_in");

    // The memory store forgets the login with the agent; config.toml keeps the end.
    env.stop_agent();
    let status = env.run(&["status"]).ok();
    assert!(
        status.stdout.contains("login:    ends in 12 days"),
        "{status}"
    );
    let doctor = env.run(&["doctor"]);
    assert!(
        doctor
            .stdout
            .contains("ok    cms login end: the login ends in 12 days"),
        "{doctor}"
    );
}

/// A refresh token that is a JWT ends at its `exp`; a rotated one carries its own.
#[test]
fn a_jwt_refresh_token_says_its_end() {
    let provider = Provider::start();
    say_login_end(&provider, json!({ "jwt_refresh_exp": 5 * DAY }));
    let env = TestEnv::new();
    login(&env, &provider, &[]);
    let status = env.run(&["status"]).ok();
    assert!(
        status.stdout.contains("login:    ends in 5 days")
            && status
                .stdout
                .contains("(provider: the refresh token's exp)"),
        "{status}"
    );
    assert_end(&env, unix_now() + 5 * DAY, "refresh_token_exp");
    // The JWT-shaped token works for refreshes (the provider unwraps it).
    env.run(&["get", "--force"]).ok();

    provider.set_rotate(true);
    say_login_end(&provider, json!({ "jwt_refresh_exp": 9 * DAY }));
    env.run(&["get", "--force"]).ok();
    assert_end(&env, unix_now() + 9 * DAY, "refresh_token_exp");
    // The earliest end wins: a --lifetime before the provider's.
    let env = TestEnv::new();
    login(&env, &provider, &["--lifetime", "3d"]);
    assert_end(&env, unix_now() + 3 * DAY, "lifetime");
    let out = env.run(&["get"]).ok();
    assert!(
        out.stderr
            .contains("the login for account `cms` ends in 3 days (its --lifetime)"),
        "{out}"
    );
}

#[test]
fn a_lifetime_shows_in_status() {
    let provider = Provider::start();
    let env = TestEnv::new();
    login(&env, &provider, &["--lifetime", "12d"]);
    let status = env.run(&["status"]).ok();
    assert!(
        status.stdout.contains("login:    ends in 12 days")
            && status.stdout.contains("(tok login --lifetime)"),
        "{status}"
    );
    assert_end(&env, unix_now() + 12 * DAY, "lifetime");
    // Twelve days away: no warning.
    let out = env.run(&["get"]).ok();
    assert!(!out.stderr.contains("ends in"), "{out}");
}

/// Once the provider's end has passed and the provider refuses the grant, the failure says
/// when the login ended, not only the provider's error (exit 3, naming `tok login NAME`).
#[test]
fn a_login_past_the_providers_end_fails_naming_its_end() {
    let provider = Provider::start();
    say_login_end(&provider, json!({ "refresh_expires_in": 1 }));
    let env = TestEnv::new();
    login(&env, &provider, &[]);
    // The grant is gone at the provider, as an idled-out session is.
    provider.post("/test/forget", json!({}));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for _ in 0..2 {
        let out = env.run(&["get", "--force"]).code(3);
        assert!(
            out.stderr.contains("the login of `cms` ended at 20")
                && out.stderr.contains("(provider: refresh_expires_in)")
                && out.stderr.contains("run `tok login cms`"),
            "{out}"
        );
    }
    let status = env.run(&["status"]).ok();
    assert!(status.stdout.contains("login:    ended at"), "{status}");
    let doctor = env.run(&["doctor"]);
    assert!(
        doctor
            .stdout
            .contains("FAIL  cms login end: the login ended at"),
        "{doctor}"
    );
}

/// `tok login NAME` again: while the new login waits for approval the cached token is still
/// served; once the new refresh token is stored, tokens come from the new login.
#[test]
fn a_relogin_keeps_the_cache_until_the_new_login_is_stored() {
    let provider = Provider::start();
    say_login_end(&provider, json!({ "refresh_expires_in": 2 * DAY }));
    let env = TestEnv::new();
    login(&env, &provider, &[]);
    let before = env.token(&[]);
    let refreshes = provider.refreshes();
    say_login_end(&provider, json!({ "refresh_expires_in": 20 * DAY }));
    let relogin = env.login_with(&["cms"], |code| {
        // The device code is shown and not yet approved.
        assert_eq!(env.token(&[]), before, "the cached token during a re-login");
        assert_eq!(provider.refreshes(), refreshes, "served from the cache");
        provider.approve(code, false);
    });
    relogin.ok();
    let after = env.token(&[]);
    assert_ne!(after, before, "the new login's token");
    // The re-login used the stored settings (issuer, scopes) and learned a new end.
    let acct = account_json(&env);
    assert_eq!(
        acct["scopes"],
        json!(["offline_access", "openid", "storage.read:/"])
    );
    assert_end(&env, unix_now() + 20 * DAY, "refresh_expires_in");
    // A logout ends the login: no end is shown for it any more.
    env.run(&["logout", "cms"]).ok();
    let acct = account_json(&env);
    assert!(acct.get("login_ends_at").is_none(), "{acct}");
}
