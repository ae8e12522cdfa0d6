//! Agent policy and traceability (issue 10): the audit trail of every token served, `tok lock`
//! for every store, a login's lifetime, and confirmation of each use.

use crate::common::{Approval, Provider, TestEnv};
use std::os::unix::fs::PermissionsExt;

#[test]
fn the_audit_trail_says_which_process_got_which_token() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let token = env.token(&["-s", "storage.read:/audit"]);
    env.token(&["-s", "storage.read:/audit"]);
    let out = env.run(&["audit", "--json", "--account", "cms"]).ok();
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["refreshed", "cached"], "{out}");
    let jti = crate::common::jwt_claims(&token)["jti"].clone();
    for e in &events {
        assert_eq!(e["scopes"], serde_json::json!(["storage.read:/audit"]));
        assert_eq!(e["jti"], jti);
        assert!(e["pid"].as_i64().unwrap() > 0);
        assert!(e["exe"].as_str().unwrap().ends_with("/tok"), "{e}");
        assert!(e["exp"].as_u64().unwrap() > crate::common::unix_now());
    }
    let file = env.path().join("data/tok/audit.log");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&token), "never a token in the audit log");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = env.run(&["audit", "--since", "1h"]).ok();
    assert!(
        out.stdout
            .contains("refreshed cms scope [storage.read:/audit]"),
        "{out}"
    );
    let out = env.run(&["audit", "--account", "other"]).ok();
    assert!(out.stdout.contains("no events"), "{out}");
}

#[test]
fn tok_lock_suspends_every_store_until_tok_unlock() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.login_cms(&provider);
    env.token(&["-s", "storage.read:/l"]);
    env.run(&["lock"]).ok();
    // A passphrase at hand does not lift it: only an explicit `tok unlock` does.
    let pass = env.passphrase_file("pass", "whatever");
    env.set_env("TOK_PASSPHRASE_FILE", pass.to_str().unwrap());
    let out = env.run(&["get", "-s", "storage.read:/l"]).code(7);
    assert!(out.stderr.contains("tok unlock"), "{out}");
    let status = env.run(&["status"]).ok();
    assert!(
        status.stdout.contains("locked: no tokens are served"),
        "{status}"
    );
    env.set_env("TOK_PASSPHRASE_FILE", "");
    env.run(&["unlock"]).ok();
    env.token(&["-s", "storage.read:/l"]);
}

#[test]
fn a_login_with_a_lifetime_is_forgotten_when_it_ends() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login(
        &provider,
        &[
            "cms",
            "--issuer",
            &provider.issuer,
            "--scope",
            "storage.read:/",
            "--lifetime",
            "3s",
        ],
        Approval::Approve,
    )
    .ok();
    let status = env.run(&["status"]).ok();
    assert!(
        status.stdout.contains("login:    ends in ")
            && status.stdout.contains("(tok login --lifetime)"),
        "{status}"
    );
    env.token(&["-s", "storage.read:/life"]);
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let out = env.run(&["get", "-s", "storage.read:/life"]).code(3);
    assert!(
        out.stderr.contains("--lifetime") && out.stderr.contains("run `tok login cms`"),
        "{out}"
    );
    let status = env.run(&["status"]).ok();
    assert!(status.stdout.contains("lifetime ended"), "{status}");
    assert!(status.stdout.contains("login:    ended at "), "{status}");
}

#[test]
fn each_use_is_confirmed_or_refused() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let answer = env.path().join("answer");
    let asked = env.path().join("asked");
    let askpass = env.path().join("askpass");
    std::fs::write(
        &askpass,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> {}\nexit \"$(cat {})\"\n",
            asked.display(),
            answer.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set_env("TOK_ASKPASS", askpass.to_str().unwrap());
    env.login(
        &provider,
        &[
            "cms",
            "--issuer",
            &provider.issuer,
            "--scope",
            "storage.read:/",
            "--confirm",
        ],
        Approval::Approve,
    )
    .ok();
    std::fs::write(&answer, "0").unwrap();
    env.token(&["-s", "storage.read:/c"]);
    let question = std::fs::read_to_string(&asked).unwrap();
    assert!(question.contains("account cms"), "{question}");
    assert!(question.contains("storage.read:/c"), "{question}");
    assert!(question.contains("/tok (pid"), "{question}");
    std::fs::write(&answer, "1").unwrap();
    let out = env.run(&["get", "-s", "storage.read:/c"]).code(5);
    assert!(out.stderr.contains("not confirmed"), "{out}");
    let audit = env.run(&["audit"]).ok();
    assert!(audit.stdout.contains("refused"), "{audit}");
    let status = env.run(&["status"]).ok();
    assert!(
        status.stdout.contains("confirm:  each use is confirmed"),
        "{status}"
    );

    // Nobody to ask (a batch job): refused at once, not hung.
    let env = TestEnv::new();
    env.login(
        &provider,
        &["cms", "--issuer", &provider.issuer, "--confirm"],
        Approval::Approve,
    )
    .ok();
    let out = env.run(&["get"]).code(5);
    assert!(out.stderr.contains("TOK_ASKPASS"), "{out}");
}
