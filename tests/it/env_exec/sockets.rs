//! Reaching the agent through a forwarded socket or one passed by systemd.

use super::*;

#[test]
fn a_forwarded_socket_reaches_the_agent() {
    assert!(
        has("socat"),
        "socat is not installed (scripts/test.sh installs it)"
    );
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let want = env.token(&["--scope", "storage.read:/fwd"]);
    // What `ssh -R REMOTE:LOCAL` does: another socket path relaying to the agent's.
    let bridge_dir = env.path().join("remote");
    std::fs::create_dir(&bridge_dir).unwrap();
    std::fs::set_permissions(&bridge_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let bridge = bridge_dir.join("agent.sock");
    let mut socat = std::process::Command::new("socat")
        .arg(format!("UNIX-LISTEN:{},fork,mode=600", bridge.display()))
        .arg(format!("UNIX-CONNECT:{}", env.socket().display()))
        .spawn()
        .unwrap();
    crate::common::wait_until(|| bridge.exists());
    let out = env
        .command(&["get", "--scope", "storage.read:/fwd"])
        .env("TOK_SOCKET", &bridge)
        .env("TOK_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    let _ = socat.kill();
    let _ = socat.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);
}

#[test]
fn a_socket_passed_by_systemd_is_used() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let env = TestEnv::new();
    let dir = env.path().join("run/tok");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(env.socket()).unwrap();
    let fd = listener.as_raw_fd();
    let mut cmd = env.program("sh");
    // `exec` keeps the shell's pid, so LISTEN_PID=$$ names the agent process.
    cmd.args([
        "-c",
        "export LISTEN_PID=$$ LISTEN_FDS=1; exec tok agent run --foreground",
    ])
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(env.path().join("activated.log")).unwrap());
    // SAFETY: dup2 in the child before exec, as systemd does.
    unsafe {
        cmd.pre_exec(move || {
            // dup2(3, 3) would leave close-on-exec set, so clear it by hand in that case.
            let ok = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(fd, 3) == 3
            };
            if ok {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut agent = cmd.spawn().unwrap();
    drop(listener);
    let mut ok = false;
    for _ in 0..100 {
        let out = env
            .command(&["agent", "status"])
            .env("TOK_NO_AUTOSTART", "1")
            .output()
            .unwrap();
        if out.status.success() {
            assert!(String::from_utf8_lossy(&out.stdout).contains(&agent.id().to_string()));
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) };
    let _ = agent.wait();
    assert!(
        ok,
        "the socket-activated agent answered\n{}",
        std::fs::read_to_string(env.path().join("activated.log")).unwrap_or_default()
    );
    assert!(
        env.socket().exists(),
        "systemd's socket file is left for systemd"
    );
}
