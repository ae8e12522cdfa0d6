//! Starting a test server, one way for every fixture (the test provider, DOT, OpenBao,
//! XRootD, the ARC CE): a free loopback port, waiting until the server is ready (its ready
//! line on stdout, or a readiness check polled until the process dies or time runs out), and a
//! client that trusts the test CA its TLS certificate comes from.

use super::provider::test_ca;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two distinct free ports (both probes held open at once, so they differ).
pub fn two_free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// A free loopback port whose successor is free too (OpenBao puts a listener's cluster port
/// at PORT+1).
pub fn free_port_pair() -> u16 {
    loop {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port < 65535 && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// Whether something accepts connections on the loopback `port`.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Why a server never became ready.
#[derive(Debug)]
pub enum NotReady {
    /// The process ended first.
    Exited(ExitStatus),
    /// Still not ready when the time was up (the process is left running: the caller stops it).
    TimedOut,
}

/// Polls `ready` every 50 ms until it holds, the server `child` exits, or `timeout` passes.
pub fn wait_ready(
    child: &mut Child,
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<(), NotReady> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(NotReady::Exited(status));
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(NotReady::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The JSON line a server prints on stdout once it listens (the test provider's and DOT's
/// `{"issuer": …, "port": …}`), waiting at most `timeout`; `None` when none came or it is not
/// JSON (the caller shows the server's log).
pub fn ready_line(child: &mut Child, timeout: Duration) -> Option<serde_json::Value> {
    let stdout = child.stdout.take().expect("the server's stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(timeout).unwrap_or_default();
    serde_json::from_str(&line).ok()
}

/// A blocking HTTPS client (10 s timeout) that trusts the test CA, for a fixture to talk to
/// its server.
pub fn trusting_client() -> reqwest::blocking::Client {
    trusting_client_builder().build().unwrap()
}

/// [`trusting_client`] before it is built, for a fixture that needs more (no redirects).
pub fn trusting_client_builder() -> reqwest::blocking::ClientBuilder {
    let pem = std::fs::read(test_ca().ca_pem_path()).unwrap();
    reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(10))
}

/// A server's configuration template from the repository (`dir`, e.g. `tests/xrootd`).
pub fn template(dir: &str, name: &str) -> String {
    let p = super::repo().join(dir).join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Where `cmd` is on `PATH`, if it is installed.
pub fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(cmd))
            .find(|p| p.is_file())
    })
}

/// The test's effective uid (no libc crate in the dev-dependencies: /proc tells it).
pub fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(u32::MAX)
}

/// Runs a set-up step of a server, failing the test with its output when it fails.
#[track_caller]
pub fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
