//! The encrypted file store's limits (issue 21, item 4): a passphrase file others may read is
//! refused, as ssh refuses such a private key; a planted header asking for a costly key
//! derivation is refused at once, naming the file, instead of costing minutes and gigabytes.

use crate::common::{wait_with_timeout, Out, Provider, TestEnv};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_passphrase_file_open_to_group_or_others_is_refused() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.set_env("TOK_STORE", "file");
    let pass = env.passphrase_file("pass", "a-secret-passphrase");
    let shown = pass.display().to_string();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        chmod(&pass, mode);
        let out = env.run(&["unlock", "--passphrase-file", &shown]).code(2);
        assert!(out.stderr.contains(&format!("mode {mode:04o}")), "{out}");
        assert!(out.stderr.contains(&format!("chmod 600 {shown}")), "{out}");
        assert!(!out.stderr.contains("a-secret-passphrase"), "{out}");
    }
    // The same through TOK_PASSPHRASE_FILE, where commands unlock by themselves.
    env.set_env("TOK_PASSPHRASE_FILE", shown.clone());
    let out = env
        .run(&["login", "cms", "--issuer", &provider.issuer])
        .code(2);
    assert!(out.stderr.contains("open to group or others"), "{out}");
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["store"]["locked"], true, "{status}");
    chmod(&pass, 0o600);
    env.login_cms(&provider);
    env.token(&["-s", "storage.read:/p"]);
}

#[test]
fn a_planted_costly_key_derivation_is_refused_at_once() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.set_env("TOK_STORE", "file");
    let pass = env.passphrase_file("pass", "planted-header-test");
    env.set_env("TOK_PASSPHRASE_FILE", pass.display().to_string());
    env.login_cms(&provider);
    env.stop_agent();
    // 1 GiB and 64 passes: within what the header used to accept (4 GiB, 64 passes), minutes
    // of work for one unlock.
    let store = env.path().join("data/tok/secrets.enc");
    let mut bytes = std::fs::read(&store).unwrap();
    let params = b"tok-store v1\n".len() + 1;
    bytes[params..params + 4].copy_from_slice(&(1024u32 * 1024).to_le_bytes());
    bytes[params + 4..params + 8].copy_from_slice(&64u32.to_le_bytes());
    std::fs::write(&store, &bytes).unwrap();
    let child = env
        .command(&["get", "-s", "storage.read:/planted"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_with_timeout(child, Duration::from_secs(20));
    let out = Out {
        what: "tok get (planted header)".into(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    assert!(out.code.is_some_and(|c| c != 0), "{out}");
    assert!(out.stderr.contains(&store.display().to_string()), "{out}");
    assert!(out.stderr.contains("not written by tok"), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
}
