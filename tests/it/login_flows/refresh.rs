//! `tok login --flow refresh`: a refresh token obtained elsewhere, from a private file or stdin
//! (never argv), checked at the provider before anything is stored.

use super::{login, nothing_stored};
use crate::common::{Approval, Out, Provider, TestEnv};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

/// A refresh token of the static client `tok-static`, from a device login elsewhere.
fn refresh_token_from_elsewhere(provider: &Provider) -> String {
    let elsewhere = TestEnv::new();
    elsewhere
        .login(
            provider,
            &[
                "src",
                "--issuer",
                &provider.issuer,
                "--client-id",
                "tok-static",
            ],
            Approval::Approve,
        )
        .ok();
    let tokens = provider.live_refresh_tokens();
    tokens
        .iter()
        .find(|t| t["client_id"] == "tok-static")
        .and_then(|t| t["value"].as_str())
        .expect("a refresh token of tok-static")
        .to_string()
}

fn token_file(env: &TestEnv, text: &str, mode: u32) -> String {
    let path = env.path().join(format!("rt-{mode:o}"));
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

fn args<'a>(provider: &'a Provider, file: &'a str) -> Vec<&'a str> {
    vec![
        "imported",
        "--issuer",
        &provider.issuer,
        "--client-id",
        "tok-static",
        "--flow",
        "refresh",
        "--refresh-token-file",
        file,
    ]
}

#[test]
fn a_refresh_token_from_a_file_or_stdin_becomes_a_login() {
    let provider = Provider::start();
    let token = refresh_token_from_elsewhere(&provider);

    let env = TestEnv::new();
    let file = token_file(&env, &format!("{token}\n"), 0o600);
    let out = login(&env, &args(&provider, &file)).ok();
    assert!(out.stderr.contains("with the given refresh token"), "{out}");
    assert!(!out.stderr.contains(&token) && !env.agent_log().contains(&token));
    env.token(&["imported"]);

    let env = TestEnv::new();
    let mut all = vec!["login"];
    all.extend(args(&provider, "-"));
    let mut child = env
        .command(&all)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.token(&["imported"]);
}

#[test]
fn a_refused_refresh_token_stores_nothing() {
    let provider = Provider::start();
    let env = TestEnv::new();
    let file = token_file(&env, "not-a-refresh-token-of-this-provider", 0o600);
    let out = login(&env, &args(&provider, &file)).code(5);
    assert!(
        out.stderr
            .contains("the provider did not accept this refresh token")
            && out.stderr.contains("invalid_grant")
            && out.stderr.contains("nothing was stored"),
        "{out}"
    );
    nothing_stored(&env, &provider);
}

#[test]
fn a_refresh_token_file_others_can_read_is_refused_unread() {
    let provider = Provider::start();
    let env = TestEnv::new();
    let file = token_file(&env, "whatever", 0o640);
    let out: Out = login(&env, &args(&provider, &file)).code(2);
    assert!(
        out.stderr.contains("is not private") && out.stderr.contains("chmod 600"),
        "{out}"
    );
    let out = login(
        &env,
        &[
            "imported",
            "--issuer",
            &provider.issuer,
            "--flow",
            "refresh",
        ],
    )
    .code(2);
    assert!(out.stderr.contains("--refresh-token-file"), "{out}");
    assert_eq!(provider.refreshes(), 0, "the provider was never asked");
}
