//! Issue 19: oidc-agent's client libraries (written by others) against tok's compatibility
//! socket: Python's `liboidcagent` (PyPI, encrypted protocol) and Rust's `oidc_agent_rs`
//! (crates.io, plaintext protocol), and oidc-agent 5.x's default socket path.

use super::oidc_agent_token::{compat_socket, logged_in};
use crate::common::{jwt_claims, Out, TestEnv};
use std::path::PathBuf;

fn python() -> Option<PathBuf> {
    let p = crate::common::repo().join("tests/oidc_agent/.venv/bin/python");
    if !p.exists() {
        eprintln!(
            "skipped: tests/oidc_agent/.venv is missing: run `scripts/test.sh --install-only`"
        );
        return None;
    }
    Some(p)
}

/// Runs `script` with liboidcagent; `sock` is OIDC_SOCK (`None`: unset).
fn run_python(env: &TestEnv, python: &PathBuf, script: &str, sock: Option<&PathBuf>) -> Out {
    let mut cmd = env.program(python);
    cmd.args(["-c", script]);
    match sock {
        Some(s) => cmd.env("OIDC_SOCK", s),
        None => cmd.env_remove("OIDC_SOCK"),
    };
    let out = cmd.output().expect("run python");
    Out {
        what: format!("python -c '{script}'"),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn python_liboidcagent_gets_tokens() {
    let Some(python) = python() else { return };
    let Some((provider, env)) = logged_in() else {
        return;
    };
    let tok = env.token(&["cms"]);
    let sock = compat_socket(&env);
    let script = r#"
import json, liboidcagent as a
print(a.get_access_token("cms", application_hint="test"))
tok, iss, exp = a.get_token_response("cms", 120, "test", "storage.read:/", "https://se.example.org")
print(json.dumps({"token": tok, "iss": iss, "exp": exp}))
print(a.get_token_response_by_issuer_url(iss)[0])
import liboidcagent.liboidcagent as full
print(json.dumps(full.get_account_infos()))
try:
    a.get_access_token("atlas")
except a.OidcAgentError as e:
    print("error:", e)
"#;
    let out = run_python(&env, &python, script, Some(&sock)).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], tok, "{out}");
    let scoped: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    let claims = jwt_claims(scoped["token"].as_str().unwrap());
    assert_eq!(claims["scope"], "storage.read:/", "{claims}");
    assert_eq!(claims["aud"], "https://se.example.org", "{claims}");
    assert_eq!(scoped["iss"], provider.issuer.as_str());
    assert_eq!(scoped["exp"], claims["exp"]);
    assert_eq!(lines[2], tok, "by issuer URL: {out}");
    let info: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
    assert_eq!(info[&provider.issuer]["accounts"]["cms"], true, "{info}");
    assert_eq!(
        lines[4], "error: No account configured with that short name",
        "{out}"
    );
    // The second scoped request is served from tok's cache.
    let refreshes = provider.refreshes();
    let again = r#"
import liboidcagent as a
print(a.get_access_token("cms", 120, "test", "storage.read:/", "https://se.example.org"))
"#;
    let out = run_python(&env, &python, again, Some(&sock)).ok();
    assert_eq!(out.stdout.trim(), scoped["token"].as_str().unwrap());
    assert_eq!(provider.refreshes(), refreshes);
}

#[test]
fn the_5x_default_path_leads_to_tok() {
    let Some(python) = python() else { return };
    let Some((_provider, env)) = logged_in() else {
        return;
    };
    let tok = env.token(&["cms"]);
    // As oidc-agent 5.2+ clients look when OIDC_SOCK is unset.
    let script = r#"
import os, liboidcagent as a
os.environ["OIDC_SOCK"] = os.path.join(os.environ.get("TMPDIR") or "/tmp", "oidc-agent-service-%d" % os.getuid(), "oidc-agent.sock")
print(a.get_access_token("cms"))
"#;
    let out = run_python(&env, &python, script, None).ok();
    assert_eq!(out.stdout.trim(), tok);
    let link = env
        .path()
        .join(format!("oidc-agent-service-{}", unsafe { libc::geteuid() }));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&link).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    // When the agent stops, its link goes with it.
    env.stop_agent();
    assert!(crate::common::wait_until(|| link
        .join("oidc-agent.sock")
        .symlink_metadata()
        .is_err()));
}

#[test]
fn a_default_path_owned_by_someone_else_is_left_alone() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to make a directory of another uid");
        return;
    }
    let Some(_) = python() else { return };
    let env = TestEnv::new();
    let dir = env
        .path()
        .join(format!("oidc-agent-service-{}", unsafe { libc::geteuid() }));
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    env.run(&["agent", "start"]).ok();
    assert!(!dir.join("oidc-agent.sock").exists());
    assert!(env
        .agent_log()
        .contains("not linking oidc-agent's default socket path"));
    assert!(
        compat_socket(&env).exists(),
        "tok's own compat socket still serves"
    );
}

/// One process-wide variable for the library, set while this lock is held.
static OIDC_SOCK_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn rust_oidc_agent_rs_gets_tokens() {
    let Some((provider, env)) = logged_in() else {
        return;
    };
    let tok = env.token(&["cms"]);
    let _guard = OIDC_SOCK_LOCK.lock().unwrap();
    // oidc_agent_rs reads only OIDC_SOCK from the environment.
    std::env::set_var("OIDC_SOCK", compat_socket(&env));
    let agent = oidc_agent_rs::Agent::new().expect("connects to tok's compatibility socket");
    std::env::remove_var("OIDC_SOCK");
    let token = agent.get_access_token("cms").unwrap();
    assert_eq!(token.secret(), tok);
    let full = agent.get_access_token_full("cms").unwrap();
    assert_eq!(
        full.issuer().as_str().trim_end_matches('/'),
        provider.issuer
    );
    assert!(full.expires_at().timestamp() as u64 > crate::common::unix_now());
    assert_eq!(
        agent.get_loaded_accounts().unwrap(),
        vec!["cms".to_string()]
    );
    let request = oidc_agent_rs::requests::AccessTokenRequest::builder()
        .account("cms")
        .add_scope("storage.read:/")
        .min_valid_period(60)
        .build()
        .unwrap();
    let scoped = agent.send_request(request).unwrap();
    let claims = jwt_claims(scoped.access_token().secret());
    assert_eq!(claims["scope"], "storage.read:/", "{claims}");
    let err = agent.get_access_token("atlas").unwrap_err();
    assert!(
        err.to_string()
            .contains("No account configured with that short name"),
        "{err}"
    );
}
