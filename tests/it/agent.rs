//! The agent as a process: autostart, one agent per user, socket hygiene, peer checks,
//! framing robustness, signals.

use crate::common::{wait_until, Provider, TestEnv};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

fn agent_pid(env: &TestEnv) -> u64 {
    env.run(&["status", "--json"]).ok().json()["agent"]["pid"]
        .as_u64()
        .unwrap()
}

#[test]
fn ten_concurrent_first_commands_start_exactly_one_agent() {
    let env = TestEnv::new();
    let pids: std::collections::HashSet<u64> = env
        .run_concurrently(10, &["status", "--json"])
        .iter()
        .map(|out| {
            let v: serde_json::Value = serde_json::from_str(out).unwrap();
            v["agent"]["pid"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(pids.len(), 1, "one agent for everyone: {pids:?}");
}

#[test]
fn socket_and_directory_are_private() {
    let env = TestEnv::new();
    env.run(&["agent", "start"]).ok();
    let dir = env.path().join("run/tok");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&env.socket()), 0o600);
    env.run(&["agent", "status"]).ok();
    // Starting again reuses the running agent.
    let out = env.run(&["agent", "start"]).ok();
    assert!(out.stderr.contains("already running"), "{out}");
}

#[test]
fn an_open_runtime_directory_is_refused() {
    let env = TestEnv::new();
    let dir = env.path().join("run/tok");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = env.run(&["status"]).code(6);
    assert!(out.stderr.contains("chmod 700"), "{out}");
}

#[test]
fn stale_socket_file_is_replaced() {
    let env = TestEnv::new();
    let dir = env.path().join("run/tok");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // A socket file nobody listens on, as a crashed agent leaves behind.
    let listener = std::os::unix::net::UnixListener::bind(env.socket()).unwrap();
    drop(listener);
    assert!(env.socket().exists());
    env.run(&["status"]).ok();
}

#[test]
fn no_autostart_says_how_to_start() {
    let mut env = TestEnv::new();
    env.set_env("TOK_NO_AUTOSTART", "1");
    let out = env.run(&["status"]).code(6);
    assert!(out.stderr.contains("tok agent start"), "{out}");
}

#[test]
fn bad_frames_close_only_their_connection() {
    let env = TestEnv::new();
    let pid = agent_pid(&env);
    // Oversized frame header.
    let mut s = UnixStream::connect(env.socket()).unwrap();
    s.write_all(&(64u32 << 20).to_be_bytes()).unwrap();
    let mut buf = [0u8; 1];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(s.read(&mut buf).unwrap_or(0), 0, "connection closed");
    // Garbage JSON.
    let mut s = UnixStream::connect(env.socket()).unwrap();
    s.write_all(&5u32.to_be_bytes()).unwrap();
    s.write_all(b"{{{{{").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(s.read(&mut buf).unwrap_or(0), 0, "connection closed");
    // A connection that never finishes its frame does not hold anyone up.
    let mut hung = UnixStream::connect(env.socket()).unwrap();
    hung.write_all(&100u32.to_be_bytes()).unwrap();
    assert_eq!(agent_pid(&env), pid, "same agent still serving");
    drop(hung);
    assert!(
        !env.agent_log().contains("{{{{{"),
        "bad input is not echoed to the log"
    );
}

#[test]
fn another_protocol_version_gets_a_version_mismatch() {
    let env = TestEnv::new();
    let pid = agent_pid(&env);
    let mut s = UnixStream::connect(env.socket()).unwrap();
    let body = br#"{"version":999,"request":{"type":"from_the_future"}}"#;
    s.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut reply = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut reply).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(v["type"], "version_mismatch");
    assert_eq!(v["agent_pid"].as_u64().unwrap(), pid);
}

#[test]
fn a_pending_login_does_not_block_other_clients() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let mut pending = env.spawn_login(&["other", "--issuer", &provider.issuer]);
    std::thread::sleep(Duration::from_millis(500));
    env.token(&["--account", "cms", "--scope", "storage.read:/x"]);
    env.run(&["status"]).ok();
    // Ctrl-C on the login: it ends, and the agent stops polling for it.
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(pending.id() as i32, libc::SIGINT) };
    let status = pending.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    std::thread::sleep(Duration::from_millis(300));
    assert!(env.agent_log().contains("cancelled"), "{}", env.agent_log());
}

#[test]
fn a_client_of_another_uid_is_refused() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run a client as another uid (setpriv)");
        return;
    }
    let env = TestEnv::new();
    agent_pid(&env);
    // Loosen every mode on the way so the connection reaches the agent's own check.
    let mut p = env.socket();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
    while p.pop() {
        if p.starts_with(env.path()) || p == std::path::Path::new("/tmp") {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755));
        }
        if p == env.path() {
            break;
        }
    }
    // A copy the other uid can execute, wherever the checkout lives.
    let tok = env.path().join("tok-copy");
    std::fs::copy(crate::common::tok_bin(), &tok).unwrap();
    std::fs::set_permissions(&tok, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&tok)
        .args(["status"])
        .env_clear()
        .env("TOK_SOCKET", env.socket())
        .env("TOK_NO_AUTOSTART", "1")
        .output()
        .expect("setpriv");
    assert!(!out.status.success(), "another uid must be refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("agent:"), "{stderr}");
    std::thread::sleep(Duration::from_millis(200));
    let log = env.agent_log();
    assert!(
        log.contains("refused a connection from another user"),
        "{log}"
    );
    assert!(log.contains("65534"), "{log}");
}

#[test]
fn an_agent_speaking_another_protocol_is_replaced() {
    let env = TestEnv::new();
    let dir = env.path().join("run/tok");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // An "old agent": answers every frame with a version mismatch and exits on SIGTERM,
    // removing its socket, as a real agent of another version would.
    let script = r#"
import json, os, signal, socket, struct, sys
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(8)
def stop(*_):
    os.unlink(path)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    conn, _ = srv.accept()
    try:
        while True:
            head = conn.recv(4)
            if len(head) < 4:
                break
            n = struct.unpack(">I", head)[0]
            while n > 0:
                n -= len(conn.recv(n))
            body = json.dumps({"type": "version_mismatch", "agent_version": 0, "agent_pid": os.getpid()}).encode()
            conn.sendall(struct.pack(">I", len(body)) + body)
    except OSError:
        pass
    conn.close()
"#;
    // Started through a shell that exits at once, so the "old agent" is reparented and reaped
    // like a real agent would be, and the client can see it go.
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            "python3 -c \"$1\" \"$2\" >/dev/null 2>&1 & echo $!",
            "sh",
            script,
        ])
        .arg(env.socket())
        .output()
        .expect("python3");
    let old_pid: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    wait_until(|| env.socket().exists());
    let out = env.run(&["status", "--json"]).ok();
    assert!(out.stderr.contains("restarting"), "{out}");
    // SAFETY: probing (signal 0) the process this test started.
    assert_ne!(
        unsafe { libc::kill(old_pid, 0) },
        0,
        "the old agent is gone"
    );
    assert_ne!(out.json()["agent"]["pid"].as_u64().unwrap(), old_pid as u64);
}

#[test]
fn every_stop_signal_removes_the_socket_and_core_dumps_are_off() {
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let env = TestEnv::new();
        let pid = agent_pid(&env);
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap();
        assert!(core.split_whitespace().nth(4) == Some("0"), "{core}");
        // SAFETY: signalling the agent this test started.
        unsafe { libc::kill(pid as i32, signal) };
        let mut gone = false;
        for _ in 0..100 {
            if !env.socket().exists() {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            gone,
            "signal {signal}: socket still there\n{}",
            env.agent_log()
        );
    }
}

#[test]
fn the_client_refuses_an_agent_of_another_user() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run a listener as another uid (setpriv)");
        return;
    }
    let env = TestEnv::new();
    let dir = env.path().join("fake");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.join("agent.sock");
    // Another user's process listening where TOK_SOCKET points.
    let mut listener = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "socat",
        ])
        .arg(format!("UNIX-LISTEN:{},mode=777", sock.display()))
        .arg("EXEC:cat")
        .spawn()
        .expect("setpriv socat");
    wait_until(|| sock.exists());
    let out = env
        .command(&["get"])
        .env("TOK_SOCKET", &sock)
        .env("TOK_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    let _ = listener.kill();
    let _ = listener.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("not as you"), "{stderr}");
}

/// The agent's own environment as /proc shows it (its initial block).
fn agent_environ(pid: u64) -> String {
    let bytes = std::fs::read(format!("/proc/{pid}/environ")).expect("read the agent's environ");
    String::from_utf8_lossy(&bytes).replace('\0', "\n")
}

/// Issue 21: a token in the shell that starts the agent does not live on in the agent, however
/// it is started; paths it needs stay.
#[test]
fn the_agent_starts_without_the_callers_tokens() {
    let mut env = TestEnv::new();
    let secrets = [
        ("BEARER_TOKEN", "bearer-value-from-tok-env"),
        ("BEARER_TOKEN_FILE", "/tmp/bt-file-of-the-caller"),
        ("OIDC_AT", "oidc-agent-access-token"),
        ("GITHUB_TOKEN", "ghp_unrelated_token"),
        ("BAO_TOKEN", "openbao-token-read-once"),
    ];
    for (k, v) in secrets {
        env.set_env(k, v);
    }
    let pass = env.path().join("pass");
    env.set_env("TOK_PASSPHRASE_FILE", pass.display().to_string());
    let check = |how: &str, pid: u64| {
        let environ = agent_environ(pid);
        assert!(environ.contains("TOK_PASSPHRASE_FILE="), "{how}: {environ}");
        for (k, v) in secrets {
            assert!(!environ.contains(v), "{how}: {k} in the agent\n{environ}");
        }
    };
    // Autostarted by a command, then by `tok agent start`.
    check("autostart", agent_pid(&env));
    env.stop_agent();
    env.run(&["agent", "start"]).ok();
    check("tok agent start", agent_pid(&env));
    env.stop_agent();
    // Run by hand (or by a service manager), where no tok client cleaned its environment.
    let mut child = env
        .command(&["agent", "run", "--foreground"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = [0u8; 15];
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_exact(&mut ready).unwrap();
    assert_eq!(&ready, b"tok-agent ready");
    check("tok agent run --foreground", u64::from(child.id()));
    env.stop_agent();
    let _ = child.wait();
}
