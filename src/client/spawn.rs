//! Connect to the agent, starting it first when needed — carefully, so that ten commands
//! started at once end with exactly one agent.
//!
//! The dance: try to connect; otherwise take the start-up lock, try again (someone else may
//! have just started it), remove the socket file only when connecting to it was *refused*
//! (nobody listens: it is stale), spawn `current_exe() agent run --foreground`, and wait for its
//! readiness line. A version mismatch found on the first request restarts the agent.

use super::Connection;
use crate::dirs;
use crate::error::Error;
use crate::protocol::{Request, Response, PROTOCOL_VERSION};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a new agent may take to print its readiness line.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// The line the agent prints on stdout once it listens.
pub const READY_PREFIX: &str = "tok-agent ready";

fn autostart_disabled() -> bool {
    std::env::var_os("TOK_NO_AUTOSTART").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Returns a connection to a running agent, starting one when none answers.
pub fn connect_or_spawn(socket: &Path) -> Result<Connection, Error> {
    match Connection::connect(socket) {
        Ok(c) => return Ok(c),
        Err(e) if autostart_disabled() => {
            return Err(Error::Unreachable {
                socket: socket.to_path_buf(),
                reason: format!("{e} (TOK_NO_AUTOSTART is set; start it with `tok agent start`)"),
            })
        }
        Err(_) => {}
    }
    let runtime = socket.parent().unwrap_or(Path::new("/"));
    dirs::ensure_private_dir(runtime).map_err(|e| Error::Startup {
        reason: e.to_string(),
    })?;
    let _lock = take_startup_lock(runtime)?;
    match Connection::connect(socket) {
        Ok(c) => return Ok(c),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            // The file exists but nobody listens: a crashed agent left it behind.
            let _ = std::fs::remove_file(socket);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::Unreachable {
                socket: socket.to_path_buf(),
                reason: e.to_string(),
            })
        }
    }
    spawn_agent(socket, None)?;
    Connection::connect(socket).map_err(|e| Error::Unreachable {
        socket: socket.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Holds the start-up lock until dropped (the kernel releases it if we die).
fn take_startup_lock(runtime: &Path) -> Result<std::fs::File, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = runtime.join("agent.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::Startup {
            reason: format!("cannot open {}: {e}", path.display()),
        })?;
    file.lock().map_err(|e| Error::Startup {
        reason: format!("cannot lock {}: {e}", path.display()),
    })?;
    Ok(file)
}

/// Spawns `tok agent run --foreground` detached from our session and waits until it listens.
pub fn spawn_agent(socket: &Path, store: Option<&str>) -> Result<u32, Error> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| Error::Startup {
        reason: format!("cannot find the tok executable: {e}"),
    })?;
    let runtime = socket.parent().unwrap_or(Path::new("/"));
    let log_path = runtime.join("agent.log");
    let log = open_log(&log_path)?;
    let mut cmd = Command::new(exe);
    cmd.args(["agent", "run", "--foreground"])
        .env("TOK_SOCKET", socket)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    if let Some(store) = store {
        cmd.env("TOK_STORE", store);
    }
    // No token of the caller's shell lives on in the agent (issue 21); the OpenBao token goes
    // along, and the agent moves it from its environment into memory (environ.rs).
    for name in crate::environ::credential_names() {
        if !crate::environ::OPENBAO_TOKEN_NAMES
            .iter()
            .any(|n| name == *n)
        {
            cmd.env_remove(name);
        }
    }
    // SAFETY: setsid is async-signal-safe; a new session keeps the agent alive when the
    // terminal that started it closes.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| Error::Startup {
        reason: format!("cannot run the agent: {e}"),
    })?;
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let started = Instant::now();
    let line = rx.recv_timeout(STARTUP_TIMEOUT).unwrap_or_default();
    if line.starts_with(READY_PREFIX) {
        // The agent lives on in its own session; nothing to reap here.
        std::mem::forget(child);
        return Ok(pid);
    }
    let status = child.try_wait().ok().flatten();
    if status.is_none() && started.elapsed() >= STARTUP_TIMEOUT {
        let _ = child.kill();
    }
    let _ = child.wait();
    Err(Error::Startup {
        reason: format!(
            "{}; see {} (last lines: {})",
            match status {
                Some(s) => format!("it exited with {s}"),
                None => format!("no readiness within {}s", STARTUP_TIMEOUT.as_secs()),
            },
            log_path.display(),
            tail(&log_path)
        ),
    })
}

fn open_log(path: &Path) -> Result<std::fs::File, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    // Keep the log from growing without bound across restarts.
    if std::fs::metadata(path).is_ok_and(|m| m.len() > 1 << 20) {
        let _ = std::fs::remove_file(path);
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::Startup {
            reason: format!("cannot open the agent log {}: {e}", path.display()),
        })
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

pub fn agent_pid_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// Asks the agent to stop (or, if it speaks another protocol, terminates it) and waits until
/// its socket is gone.
pub fn stop_agent(socket: &Path) -> Result<bool, Error> {
    let Ok(mut conn) = Connection::connect(socket) else {
        return Ok(false);
    };
    let (pid, mismatch) = match conn.call(Request::Ping)? {
        Response::Hello(info) => (info.pid, false),
        Response::VersionMismatch { agent_pid, .. } => (agent_pid, true),
        _ => (0, false),
    };
    if mismatch && pid != 0 {
        drop(conn);
        return terminate_agent(socket, pid).map(|()| true);
    }
    conn.call(Request::Stop)?;
    wait_until_gone(socket, pid)?;
    Ok(true)
}

/// Stops an agent that cannot parse our requests: SIGTERM makes it shut down cleanly.
fn terminate_agent(socket: &Path, pid: u32) -> Result<(), Error> {
    if pid != 0 {
        // SAFETY: plain kill(2) on the pid the agent reported about itself.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    }
    wait_until_gone(socket, pid)
}

fn wait_until_gone(socket: &Path, pid: u32) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if Connection::connect(socket).is_err() && (pid == 0 || !agent_pid_alive(pid)) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(Error::Startup {
        reason: format!("the agent (pid {pid}) did not stop within 10s"),
    })
}

/// Sends `request` and returns the raw answer (errors included), restarting the agent once when it speaks another protocol version.
pub fn call_with_restart(
    socket: &Path,
    make_request: impl Fn() -> Request,
) -> Result<(Connection, Response), Error> {
    let mut conn = connect_or_spawn(socket)?;
    conn.send(make_request())?;
    let response = conn.receive()?;
    if let Response::VersionMismatch {
        agent_version,
        agent_pid,
    } = response
    {
        tracing_free_note(agent_version);
        drop(conn);
        terminate_agent(socket, agent_pid)?;
        let mut conn = connect_or_spawn(socket)?;
        conn.send(make_request())?;
        let response = conn.receive()?;
        return Ok((conn, response));
    }
    Ok((conn, response))
}

fn tracing_free_note(agent_version: u32) {
    eprintln!(
        "tok: the running agent speaks protocol {agent_version}, this tok speaks {PROTOCOL_VERSION}; restarting it"
    );
}
