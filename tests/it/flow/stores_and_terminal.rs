//! The flow across stores and restarts, and on a terminal: lock and unlock, the kernel
//! keyring, a closed stdout, a forgotten login, the QR code and countdown.

use super::*;

#[test]
fn file_store_lock_and_unlock() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let pass = env.passphrase_file("passphrase", "hunter2-but-longer");
    let wrong = env.passphrase_file("wrong", "not-it");
    env.set_env("TOK_STORE", "file");
    // First unlock sets the passphrase of a new store.
    env.run(&["unlock", "--passphrase-file", pass.to_str().unwrap()])
        .ok();
    env.login_cms(&provider);
    env.run(&["lock"]).ok();
    let out = env.run(&["get", "--scope", "storage.read:/l"]).code(7);
    assert!(out.stderr.contains("tok unlock"), "{out}");
    let out = env
        .run(&["unlock", "--passphrase-file", wrong.to_str().unwrap()])
        .code(7);
    assert!(out.stderr.contains("passphrase"), "{out}");
    assert!(!out.stderr.contains("not-it"), "{out}");
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["store"]["locked"], true);
    env.run(&["unlock", "--passphrase-file", pass.to_str().unwrap()])
        .ok();
    env.token(&["--scope", "storage.read:/l"]);
    // Without a terminal or a passphrase file a locked store is an error, never a prompt.
    env.stop_agent();
    let out = env.run(&["get", "--scope", "storage.read:/l2"]).code(7);
    assert!(out.stderr.contains("tok unlock"), "{out}");
}

#[test]
fn kernel_keyring_store_survives_an_agent_restart() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.set_env("TOK_STORE", "keyutils");
    let namespace = format!("test-{}", std::process::id());
    env.set_env("TOK_STORE_NAMESPACE", namespace);
    let probe = env.run(&["status", "--json"]);
    if probe.code != Some(0) {
        eprintln!("skipped: the kernel keyring is not usable here\n{probe}");
        return;
    }
    assert_eq!(probe.json()["store"]["backend"], "keyutils");
    env.login_cms(&provider);
    env.stop_agent();
    env.token(&["--scope", "storage.read:/k"]);
    let status = env.run(&["status"]).ok();
    assert!(
        status.stdout.contains("reboot"),
        "status says keys are lost at reboot\n{status}"
    );
    env.run(&["logout", "cms", "--forget"]).ok();
}

#[test]
fn a_closed_or_missing_stdout_is_not_an_error() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let mut child = env
        .command(&["get", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Started with no stdout at all: the agent's socket must not become descriptor 1 (tok
    // starts without Rust's runtime, which would otherwise have seen to it).
    let out = env
        .program("sh")
        .args(["-c", "tok get >&-"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn status_tells_a_forgotten_login_after_an_agent_restart() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    // The memory store forgets everything with the agent; the account settings stay.
    env.stop_agent();
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["accounts"][0]["state"], "needs login", "{status}");
    assert!(
        status["accounts"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("not logged in"),
        "{status}"
    );
}

#[test]
fn on_a_terminal_login_draws_a_qr_code_and_a_countdown() {
    let provider = Provider::start();
    let env = TestEnv::new();
    // `script` gives tok a pseudo-terminal, as a user's shell would.
    let tok = crate::common::tok_bin();
    let cmdline = format!("{} login cms --issuer {}", tok.display(), provider.issuer);
    let mut child = env
        .program("script")
        .args(["-qfec", &cmdline, "/dev/null"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        let mut stdout = stdout;
        let mut sent = false;
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&all).into_owned();
            if !sent && text.contains("waiting for approval") {
                if let Some(code) = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("and enter the code: "))
                {
                    let _ = tx.send(code.trim().to_string());
                    sent = true;
                }
            }
        }
        String::from_utf8_lossy(&all).into_owned()
    });
    let code = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("a user code and a countdown on the terminal");
    provider.approve(&code, false);
    let status = child.wait().unwrap();
    let screen = reader.join().unwrap();
    assert!(status.success(), "{screen}");
    assert!(
        screen.contains('\u{2580}') || screen.contains('\u{2584}') || screen.contains('\u{2588}'),
        "a QR code drawn with block characters\n{screen}"
    );
    assert!(screen.contains("left (Ctrl-C to cancel)"), "{screen}");
    assert!(screen.contains("logged in as account `cms`"), "{screen}");
}
