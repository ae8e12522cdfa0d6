//! Issue 19: oidc-agent's own command-line clients (Debian's `oidc-agent-cli` 4.2.6, written by
//! others) against tok's agent, through its oidc-agent compatibility socket: `oidc-token` with
//! every option scripts use, and `oidc-add`'s listing.

use crate::common::{Out, Provider, TestEnv};
use std::path::PathBuf;

pub fn have_oidc_agent_cli() -> bool {
    let ok = std::process::Command::new("oidc-token")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: oidc-token not installed (Debian oidc-agent-cli; scripts/test.sh installs it)");
    }
    ok
}

/// The compatibility socket of this test's agent.
pub fn compat_socket(env: &TestEnv) -> PathBuf {
    env.path().join("run/tok/oidc-agent.sock")
}

/// A program in the sealed environment, `OIDC_SOCK` pointing at tok's compatibility socket.
pub fn oidc(env: &TestEnv, program: &str, args: &[&str]) -> Out {
    let out = env
        .program(program)
        .args(args)
        .env("OIDC_SOCK", compat_socket(env))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    Out {
        what: format!("OIDC_SOCK=… {program} {}", args.join(" ")),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn logged_in() -> Option<(Provider, TestEnv)> {
    if !have_oidc_agent_cli() {
        return None;
    }
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    Some((provider, env))
}

#[test]
fn oidc_token_gets_the_token_tok_get_gets() {
    let Some((provider, env)) = logged_in() else {
        return;
    };
    let tok = env.token(&["cms"]);
    let refreshes = provider.refreshes();
    let out = oidc(&env, "oidc-token", &["cms"]).ok();
    assert_eq!(out.stdout.trim(), tok, "the same cached token");
    assert_eq!(provider.refreshes(), refreshes, "a cache hit");
    // By issuer URL instead of a name, with or without the trailing slash.
    for issuer in [provider.issuer.clone(), format!("{}/", provider.issuer)] {
        let out = oidc(&env, "oidc-token", &[&issuer]).ok();
        assert_eq!(out.stdout.trim(), tok, "{issuer}");
    }
    // `oidc-add -a` lists the accounts the agent serves.
    let out = oidc(&env, "oidc-add", &["-a"]).ok();
    assert!(out.stdout.contains("currently loaded"), "{out}");
    assert!(out.stdout.lines().any(|l| l.trim() == "cms"), "{out}");
}

#[test]
fn scoped_and_audience_tokens_are_cached() {
    let Some((provider, env)) = logged_in() else {
        return;
    };
    let args = [
        "-s",
        "storage.read:/",
        "--aud",
        "https://se.example.org",
        "cms",
    ];
    let first = oidc(&env, "oidc-token", &args).ok();
    let refreshes = provider.refreshes();
    let second = oidc(&env, "oidc-token", &args).ok();
    assert_eq!(first.stdout, second.stdout, "the second is a cache hit");
    assert_eq!(provider.refreshes(), refreshes, "no refresh for the second");
    let claims = crate::common::jwt_claims(first.stdout.trim());
    assert_eq!(claims["scope"], "storage.read:/", "{claims}");
    assert_eq!(claims["aud"], "https://se.example.org", "{claims}");
    // The same token `tok get` hands out for the same request.
    let tok = env.token(&[
        "cms",
        "-s",
        "storage.read:/",
        "--aud",
        "https://se.example.org",
    ]);
    assert_eq!(tok, first.stdout.trim());
}

#[test]
fn force_min_valid_and_the_output_options() {
    let Some((provider, env)) = logged_in() else {
        return;
    };
    let plain = oidc(&env, "oidc-token", &["cms"]).ok().stdout;
    let refreshes = provider.refreshes();
    let forced = oidc(&env, "oidc-token", &["-f", "cms"]).ok().stdout;
    assert_ne!(plain, forced, "-f gets a new token");
    assert_eq!(provider.refreshes(), refreshes + 1);
    // -t: a token that lives at least that long (the provider's last an hour).
    let out = oidc(&env, "oidc-token", &["-t", "600", "cms"]).ok();
    assert_eq!(out.stdout, forced);
    // -i / -e: the issuer and the expiry, one per line.
    let out = oidc(&env, "oidc-token", &["-i", "cms"]).ok();
    assert_eq!(out.stdout.trim(), provider.issuer);
    let out = oidc(&env, "oidc-token", &["-e", "cms"]).ok();
    let exp: u64 = out.stdout.trim().parse().expect("-e prints unix seconds");
    assert!(exp > crate::common::unix_now() + 600, "{out}");
    let claims = crate::common::jwt_claims(forced.trim());
    assert_eq!(claims["exp"].as_u64(), Some(exp));
    // -o: the token; -c: shell lines exporting all three.
    let out = oidc(&env, "oidc-token", &["-o", "cms"]).ok();
    assert_eq!(out.stdout, forced);
    let out = oidc(&env, "oidc-token", &["-c", "cms"]).ok();
    assert!(
        out.stdout.contains(&format!("OIDC_AT={}", forced.trim())),
        "{out}"
    );
    assert!(out.stdout.contains("OIDC_ISS="), "{out}");
    assert!(out.stdout.contains(&format!("OIDC_EXP={exp}")), "{out}");
    let out = oidc(&env, "oidc-token", &["-a", "cms"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], forced.trim(), "{out}");
    assert_eq!(lines[1], provider.issuer, "{out}");
}

#[test]
fn an_unknown_account_fails_as_oidc_agent_fails() {
    let Some((_provider, env)) = logged_in() else {
        return;
    };
    // oidc-agent 4.2.6 itself: exit 1, "Error: No account configured with that short name".
    let out = oidc(&env, "oidc-token", &["atlas"]).code(1);
    assert!(
        out.stderr
            .contains("Error: No account configured with that short name"),
        "{out}"
    );
    assert!(out.stdout.is_empty(), "{out}");
    let out = oidc(&env, "oidc-token", &["https://nowhere.example/"]).code(1);
    assert!(out.stderr.contains("Error: account not loaded"), "{out}");
}

#[test]
fn oidc_sock_comes_from_tok_env_init_and_oidc_agent_env() {
    let Some((_provider, env)) = logged_in() else {
        return;
    };
    let tok = env.token(&["cms"]);
    for setup in [
        "eval \"$(tok oidc-agent-env)\"",
        "eval \"$(tok env -a cms)\"",
        "eval \"$(tok init bash)\"",
    ] {
        let script = format!("{setup} && test -n \"$OIDC_SOCK\" && oidc-token cms");
        let out = env.program("bash").args(["-c", &script]).output().unwrap();
        let out = Out {
            what: script.clone(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
        .ok();
        assert_eq!(out.stdout.trim(), tok, "{setup}");
    }
    // What `oidc-agent-service use` prints: both lines and the echo.
    let out = env.run(&["oidc-agent-env"]).ok();
    let sock = compat_socket(&env);
    assert!(
        out.stdout
            .contains(&format!("OIDC_SOCK={}; export OIDC_SOCK;", sock.display())),
        "{out}"
    );
    assert!(out.stdout.contains("OIDCD_PID="), "{out}");
}
