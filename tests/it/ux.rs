//! The everyday experience (issue 11): what a first week with tok tripped over, each checked
//! the way it was observed.

use crate::common::{Approval, Provider, ProviderOpts, TestEnv};
use std::io::Write;
use std::process::Stdio;

#[test]
fn account_names_are_forgiving_and_missing_logins_say_so() {
    let env = TestEnv::new();
    // No account at all: a login is what is missing (exit 3), not a usage error.
    let out = env.run(&["get"]).code(3);
    assert!(out.stderr.contains("tok login"), "{out}");

    let provider = Provider::start();
    env.login_cms(&provider);
    let out = env.run(&["get", "-a", "cmss"]).code(2);
    assert!(out.stderr.contains("did you mean `cms`"), "{out}");
    assert!(out.stderr.contains("accounts: cms"), "{out}");
    // oidc-token's habit: the account as an argument.
    let by_flag = env.token(&["-a", "cms"]);
    assert_eq!(env.token(&["cms"]), by_flag);
    // One account: logout needs no name.
    env.run(&["logout"]).ok();
}

#[test]
fn a_failed_first_login_can_be_retried_by_name() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login(
        &provider,
        &[
            "site",
            "--issuer",
            &provider.issuer,
            "--scope",
            "storage.read:/",
        ],
        Approval::Deny,
    )
    .code(5);
    // The advice "run tok login site again" works: issuer, client and scopes were kept.
    env.login(&provider, &["site"], Approval::Approve).ok();
    env.token(&["-s", "storage.read:/again"]);
}

#[test]
fn min_valid_takes_seconds_and_warns_when_tokens_are_shorter() {
    let provider = Provider::start_with(ProviderOpts {
        at_ttl: 300,
        ..Default::default()
    });
    let env = TestEnv::new();
    env.login_cms(&provider);
    env.run(&["get", "--min-valid", "120", "-s", "storage.read:/m"])
        .ok();
    let out = env
        .run(&["get", "--min-valid", "2h", "-s", "storage.read:/m"])
        .ok();
    assert!(out.stderr.contains("less than the 2h asked for"), "{out}");
    assert!(!out.stdout.trim().is_empty());
}

#[test]
fn a_cached_token_of_a_dead_login_comes_with_a_warning() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    env.token(&[]);
    provider.post("/test/forget", serde_json::json!({}));
    env.run(&["get", "-s", "storage.read:/new"]).code(3);
    let out = env.run(&["get"]).ok();
    assert!(out.stderr.contains("needs a new login"), "{out}");
    assert!(out.stderr.contains("tok login cms"), "{out}");
}

#[test]
fn status_get_and_env_everyday_forms() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.login_cms(&provider);
    env.token(&["-s", "storage.read:/s", "--aud", "https://se.example.org"]);
    let status = env.run(&["status"]).ok();
    assert!(
        status
            .stdout
            .contains("cached:   login scopes, no audience,"),
        "{status}"
    );
    assert!(!status.stdout.contains("scope []"), "{status}");
    let short = env.run(&["status", "--short"]).ok();
    assert_eq!(short.stdout.lines().count(), 1, "{short}");
    assert!(
        short
            .stdout
            .starts_with("cms ok (default) https://127.0.0.1:"),
        "{short}"
    );
    assert!(short.stdout.contains("left"), "{short}");

    let before = provider.refreshes();
    env.token(&[
        "-s",
        "storage.read:/s",
        "--aud",
        "https://se.example.org",
        "--force",
    ]);
    assert_eq!(provider.refreshes(), before + 1, "--force skips the cache");
    let out = env.run(&["get", "-f", "env", "-s", "storage.read:/s"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("BEARER_TOKEN=ey"), "{out}");
    assert!(lines[1].starts_with("BEARER_TOKEN_EXPIRES_AT="), "{out}");

    // An existing BEARER_TOKEN_FILE is where this shell's tools look: tok env renews it.
    let target = env.path().join("job-token");
    env.set_env("BEARER_TOKEN_FILE", target.to_str().unwrap());
    let out = env
        .run(&["env", "--shell", "sh", "-s", "storage.read:/s"])
        .ok();
    assert!(out.stdout.contains(target.to_str().unwrap()), "{out}");
    assert!(target.exists());
}

#[test]
fn tok_exec_reports_outages_briefly() {
    let mut provider = Provider::start_with(ProviderOpts {
        at_ttl: 3,
        ..Default::default()
    });
    let env = TestEnv::new();
    env.login_cms(&provider);
    let child = env
        .command(&["exec", "-s", "storage.read:/o", "--", "sleep", "5"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    provider.stop();
    let out = crate::common::wait_with_timeout(child, std::time::Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("could not renew"))
        .collect();
    assert!(!lines.is_empty(), "{stderr}");
    for line in lines {
        assert!(line.chars().count() < 260, "{line}");
        assert!(!line.contains("try again later"), "{line}");
        assert!(!line.contains("valid for 0s"), "{line}");
    }
}

#[test]
fn unlock_after_a_wrong_passphrase_says_unlocked() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.set_env("TOK_STORE", "file");
    let pass = env.passphrase_file("pass", "right horse");
    env.run(&["unlock", "--passphrase-file", pass.to_str().unwrap()])
        .ok();
    env.login_cms(&provider);
    env.run(&["lock"]).ok();
    // A wrong passphrase, then the right one, typed at the prompt (a pty from script(1)).
    let mut child = env
        .program("script")
        .args(["-qec", "tok unlock", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        for line in ["wrong horse\n", "right horse\n"] {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            let _ = stdin.write_all(line.as_bytes());
        }
        std::thread::sleep(std::time::Duration::from_secs(3));
    });
    let out = crate::common::wait_with_timeout(child, std::time::Duration::from_secs(30));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("wrong passphrase"), "{text}");
    assert!(text.contains("tok: store unlocked"), "{text}");
    env.token(&["-s", "storage.read:/u"]);
}

#[test]
fn a_new_file_store_asks_for_its_passphrase_twice() {
    let mut env = TestEnv::new();
    env.set_env("TOK_STORE", "file");
    let mut child = env
        .program("script")
        .args(["-qec", "tok unlock", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        // A typo in the repetition is caught, then the same passphrase twice.
        for line in ["first try\n", "first tyr\n", "second\n", "second\n"] {
            std::thread::sleep(std::time::Duration::from_millis(1200));
            let _ = stdin.write_all(line.as_bytes());
        }
        std::thread::sleep(std::time::Duration::from_secs(3));
    });
    let out = crate::common::wait_with_timeout(child, std::time::Duration::from_secs(30));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("repeat it"), "{text}");
    assert!(text.contains("differ"), "{text}");
    // The store took the confirmed one.
    env.run(&["lock"]).ok();
    let pass = env.passphrase_file("pass", "second");
    env.run(&["unlock", "--passphrase-file", pass.to_str().unwrap()])
        .ok();
}
