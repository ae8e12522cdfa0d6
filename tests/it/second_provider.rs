//! The same user scenario against a second, independent provider implementation
//! (django-oauth-toolkit, issue 9): an issuer with a path, endpoints found only through RFC 8414
//! metadata (the device endpoint, revocation), opaque tokens, rotation, a refresh that kills the
//! access tokens issued before it, and a grant that a narrowed refresh would shrink for good.

use crate::common::dot::{DotProvider, DOT_CLIENT};
use crate::common::{Provider, TestEnv};
use serde_json::Value;

const LOGIN_SCOPES: &str = "storage.read:/ compute.create";

fn set_account_options(env: &TestEnv, name: &str, lines: &[&str]) {
    let config = env.path().join("config/tok/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let header = format!("[accounts.{name}]\n");
    let text = text.replace(&header, &format!("{header}{}\n", lines.join("\n")));
    std::fs::write(&config, text).unwrap();
}

fn active(dot: &DotProvider, token: &str) -> bool {
    dot.introspect(token)["active"] == Value::Bool(true)
}

#[test]
fn the_user_scenario_against_django_oauth_toolkit() {
    let dot = DotProvider::start();
    let env = TestEnv::new();
    // Login: the issuer has a path, and the device endpoint is only in the RFC 8414 document
    // at the path-aware place.
    let out = env.login_with(
        &[
            "dot",
            "--issuer",
            &dot.issuer,
            "--client-id",
            DOT_CLIENT,
            "--scope",
            LOGIN_SCOPES,
        ],
        |code| dot.approve(code),
    );
    let out = out.ok();
    assert!(out.stderr.contains("logged in"), "{out}");
    let first = env.token(&[]);
    assert!(active(&dot, &first), "the login's token");
    assert_eq!(env.token(&[]), first, "served from the cache");

    // Without its quirks set, DOT shows both: a refresh kills the earlier access token, which
    // the cache would keep serving.
    let narrowed = env.token(&["-s", "storage.read:/"]);
    assert!(active(&dot, &narrowed));
    assert!(
        !active(&dot, &first),
        "DOT deleted the earlier access token"
    );
    assert_eq!(
        env.token(&[]),
        first,
        "and tok still serves it from its cache"
    );

    // With the quirks set (as a preset or by hand): narrowing none (a narrowed refresh would
    // shrink DOT's grant for good) and refresh_invalidates_tokens.
    set_account_options(
        &env,
        "dot",
        &["narrowing = \"none\"", "refresh_invalidates_tokens = true"],
    );
    // Each refresh at DOT kills the access token of the refresh before it, so every token tok
    // serves must be alive when it is served, and a dead one is never served again.
    let mut served = vec![];
    for scope in [
        "compute.create",
        "storage.read:/data",
        "compute.create",
        "storage.read:/data",
    ] {
        let t = env.token(&["-s", scope]);
        assert!(active(&dot, &t), "tok served a dead token for {scope}");
        served.push(t);
    }
    assert_ne!(served[0], served[2], "b's refresh dropped a from the cache");
    assert_ne!(served[1], served[3]);
    // Rotation (DOT's default) was followed through all of it: the login still refreshes.
    env.token(&["-s", "storage.read:/more"]);

    // Logout finds the revocation endpoint through RFC 8414 and revokes.
    let last = env.token(&[]);
    let out = env.run(&["logout", "dot"]).ok();
    assert!(out.stderr.contains("revoked at the provider"), "{out}");
    assert!(
        !active(&dot, &last),
        "revoking the refresh token ended its access token"
    );
}

/// The same scenario against the node provider: no quirks needed, narrowing by refresh works
/// and earlier tokens stay valid.
#[test]
fn the_user_scenario_against_node_oidc_provider() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login(
        &provider,
        &[
            "node",
            "--issuer",
            &provider.issuer,
            "--scope",
            LOGIN_SCOPES,
        ],
        crate::common::Approval::Approve,
    )
    .ok();
    let first = env.token(&[]);
    assert_eq!(env.token(&[]), first, "served from the cache");
    let narrowed = env.token(&["-s", "storage.read:/data"]);
    assert_eq!(
        crate::common::jwt_claims(&narrowed)["scope"],
        "storage.read:/data"
    );
    provider.set_rotate(true);
    env.token(&["-s", "compute.create"]);
    env.token(&["-s", "storage.read:/more"]);
    let out = env.run(&["logout", "node"]).ok();
    assert!(out.stderr.contains("revoked at the provider"), "{out}");
}
