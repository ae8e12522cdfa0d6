//! How `auto` chooses a flow, in one line that says why (simulated desktops and ssh sessions),
//! and administrators' clients that lack a grant.

use super::{login, nothing_stored, steps, use_browser};
use crate::common::{Approval, Provider, TestEnv};

#[test]
fn auto_uses_a_device_code_over_ssh_even_with_a_display() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    use_browser(&mut env, "approve");
    env.set_env("SSH_CONNECTION", "192.0.2.1 50000 192.0.2.2 22");
    let out = env
        .login(
            &provider,
            &["op", "--issuer", &provider.issuer],
            Approval::Approve,
        )
        .ok();
    assert!(
        out.stderr.contains(
            "tok login: using a device code: this is an ssh session (SSH_CONNECTION is set)"
        ),
        "{out}"
    );
    assert!(
        std::fs::read_to_string(env.path().join("config/tok/config.toml"))
            .unwrap()
            .contains("login_flow = \"device\"")
    );
}

#[test]
fn auto_uses_a_device_code_without_a_display() {
    let provider = Provider::start();
    let env = TestEnv::new();
    let out = env
        .login(
            &provider,
            &["op", "--issuer", &provider.issuer],
            Approval::Approve,
        )
        .ok();
    assert!(
        out.stderr.contains("tok login: using a device code: there is no desktop session (neither DISPLAY nor WAYLAND_DISPLAY is set)"),
        "{out}"
    );
}

/// An administrator's client with only the code grant, at a provider that has a device
/// endpoint: `auto` cannot know, tries the device flow, is refused (unauthorized_client) and
/// says so, then uses the browser; asked for the device flow, it names the missing grant.
#[test]
fn a_code_only_client_logs_in_with_auto_and_names_the_missing_device_grant() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let log = use_browser(&mut env, "approve");
    let args = [
        "op",
        "--issuer",
        &provider.issuer,
        "--client-id",
        "tok-code-only",
    ];
    let out = login(&env, &args).ok();
    assert!(
        out.stderr.contains("tok login: using the browser (code flow): the provider refused this client the device flow (invalid_request)"),
        "{out}"
    );
    assert_eq!(steps(&log, "done").last().unwrap()["step"], "done");
    env.token(&["op"]);

    let other = TestEnv::new();
    let out = login(&other, &[&args[..], &["--flow", "device"]].concat()).code(5);
    assert!(
        out.stderr.contains("refused the device-code flow for client tok-code-only")
            && out.stderr.contains("nothing was stored")
            && out.stderr.contains("allow the urn:ietf:params:oauth:grant-type:device_code grant for client tok-code-only, or use --flow code"),
        "{out}"
    );
}

/// A device-only client asked for the browser: tok learns from the authorization endpoint
/// before any browser opens, and says what to ask the administrators for.
#[test]
fn a_device_only_client_asked_for_code_names_the_missing_grant() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let log = use_browser(&mut env, "approve");
    let out = login(
        &env,
        &[
            "op",
            "--issuer",
            &provider.issuer,
            "--client-id",
            "tok-static",
            "--flow",
            "code",
        ],
    )
    .code(5);
    assert!(
        out.stderr.contains("refused the browser login for client tok-static")
            && out.stderr.contains("allow the authorization_code grant with redirect URI http://127.0.0.1/callback for client tok-static, or use --flow device"),
        "{out}"
    );
    assert!(!log.exists(), "no browser was opened");
    nothing_stored(&env, &provider);
}

/// A provider that refuses to register a client for the code flow gets the device-only
/// registration tok always made; `auto` then knows the client has no code grant.
#[test]
fn a_refused_code_registration_falls_back_to_a_device_client() {
    let provider = Provider::start();
    provider.post(
        "/test/config",
        serde_json::json!({ "registration_refuse_code": true }),
    );
    let mut env = TestEnv::new();
    use_browser(&mut env, "approve");
    let out = env
        .login(
            &provider,
            &["op", "--issuer", &provider.issuer],
            Approval::Approve,
        )
        .ok();
    assert!(
        out.stderr.contains(
            "tok login: using a device code: the client tok registered may not use the browser login"
        ),
        "{out}"
    );
    assert_eq!(
        provider.stats()["registrations"],
        2,
        "one refused, one device-only"
    );
    env.token(&["op"]);
}
