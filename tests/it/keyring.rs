//! The keyring backend against a real Secret Service: a private D-Bus session bus and
//! gnome-keyring started for this test alone, with a temporary HOME (never the user's keyring).

use crate::common::{Provider, TestEnv};
use std::process::{Command, Stdio};

struct PrivateBus {
    address: String,
    pids: Vec<i32>,
}

impl PrivateBus {
    fn start(home: &std::path::Path) -> Option<Self> {
        let out = Command::new("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .env("HOME", home)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut lines = text.lines();
        let address = lines.next()?.trim().to_string();
        let pid: i32 = lines.next()?.trim().parse().ok()?;
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_RUNTIME_DIR", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        use std::io::Write;
        keyring.stdin.take()?.write_all(b"test-pw").ok()?;
        let _ = keyring.wait_with_output();
        // The daemon forks; find it by its bus-specific environment is overkill: it exits
        // with the bus, which we kill on drop.
        Some(Self {
            address,
            pids: vec![pid],
        })
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        for pid in &self.pids {
            // SAFETY: signalling the dbus-daemon this test started.
            unsafe { libc::kill(*pid, libc::SIGTERM) };
        }
    }
}

#[test]
fn keyring_store_against_a_real_secret_service() {
    let mut env = TestEnv::new();
    let home = env.path().join("home");
    let Some(bus) = PrivateBus::start(&home) else {
        panic!("dbus-daemon and gnome-keyring-daemon are needed (scripts/test.sh installs them)");
    };
    let provider = Provider::start();
    env.set_env("DBUS_SESSION_BUS_ADDRESS", bus.address.clone());
    env.set_env("TOK_STORE", "auto");
    env.login_cms(&provider);
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["store"]["backend"], "keyring", "{status}");
    // The login survives an agent restart because it lives in the Secret Service.
    env.stop_agent();
    env.token(&["--scope", "storage.read:/kr"]);
    env.run(&["logout", "cms"]).ok();
    env.stop_agent();
    let out = env.run(&["get", "--scope", "storage.read:/kr2"]).code(3);
    assert!(out.stderr.contains("tok login cms"), "{out}");
}

#[test]
fn a_stale_bus_address_falls_back_quickly() {
    let mut env = TestEnv::new();
    // A socket that accepts but never answers, like a dead ssh-forwarded bus.
    let path = env.path().join("dead-bus");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    env.set_env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", path.display()),
    );
    env.set_env("TOK_STORE", "auto");
    env.set_env("TOK_KEYRING_TIMEOUT_MS", "500");
    let status = env.run(&["status", "--json"]).ok().json();
    drop(listener);
    let backend = status["store"]["backend"].as_str().unwrap().to_string();
    assert_ne!(backend, "keyring", "{status}");
    let reason = status["store"]["reason"].as_str().unwrap();
    assert!(reason.contains("Secret Service"), "{reason}");
}
