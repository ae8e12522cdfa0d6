//! The checks on this machine: the runtime directory, the agent (reached without starting
//! one), its store, the configuration file and each account's login.

use super::*;

/// The directory of the socket, lock file and log: the agent refuses to run in one that is not
/// ours and private, so a wrong mode here is why nothing starts.
pub(super) fn runtime_dir() -> Check {
    const NAME: &str = "runtime directory";
    let dir = dirs::runtime_dir();
    let shown = dir.display().to_string();
    let meta = match std::fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Check::new(
                State::Ok,
                NAME,
                format!("{shown} does not exist yet; the agent creates it, mode 0700"),
            )
        }
        Err(e) => {
            return Check::new(State::Fail, NAME, format!("cannot look at {shown}: {e}"))
                .fix("check the permissions of its parent directory")
        }
        Ok(meta) => meta,
    };
    match dirs::check_private_dir(&dir) {
        Ok(()) => {
            use std::os::unix::fs::PermissionsExt;
            Check::new(
                State::Ok,
                NAME,
                format!(
                    "{shown} is yours and private (mode {:o})",
                    meta.permissions().mode() & 0o777
                ),
            )
        }
        Err(DirError::TooOpen { path, mode }) => Check::new(
            State::Fail,
            NAME,
            format!(
                "{} has mode {mode:o}, open to group or others: tok refuses to use it",
                path.display()
            ),
        )
        .fix(format!("chmod 700 {}", path.display())),
        Err(DirError::NotOurs { path, owner, me }) => Check::new(
            State::Fail,
            NAME,
            format!(
                "{} belongs to uid {owner}, not to you (uid {me}): tok refuses to use it",
                path.display()
            ),
        )
        .fix("remove it (as its owner), or set TOK_SOCKET to a socket in a private directory of yours"),
        Err(DirError::Symlink { path }) => Check::new(
            State::Fail,
            NAME,
            format!("{} is a symlink: tok refuses to use it", path.display()),
        )
        .fix(format!("rm {}; tok creates the directory itself", path.display())),
        Err(DirError::NotDir { path }) => Check::new(
            State::Fail,
            NAME,
            format!("{} is not a directory", path.display()),
        )
        .fix(format!("remove {}; tok creates the directory itself", path.display())),
        Err(e @ DirError::Create { .. }) => Check::new(State::Fail, NAME, e.to_string())
            .fix("check the permissions of its parent directory"),
    }
}

pub(super) fn autostart_disabled() -> bool {
    std::env::var_os("TOK_NO_AUTOSTART").is_some_and(|v| !v.is_empty() && v != "0")
}

/// What the agent said, when one answered.
pub(super) enum Probe {
    Running(
        crate::protocol::AgentInfo,
        Result<Box<StatusReport>, String>,
    ),
    OtherProtocol {
        version: u32,
        pid: u32,
    },
}

/// Pings the agent (never starting one) and asks for its status, on a thread so that an agent
/// that accepts but never answers is reported after [`AGENT_TIMEOUT`].
pub(super) fn agent() -> (Check, Option<StatusReport>) {
    const NAME: &str = "agent";
    let socket = dirs::socket_path();
    let shown = socket.display().to_string();
    let (tx, rx) = mpsc::channel();
    {
        let socket = socket.clone();
        std::thread::spawn(move || {
            let _ = tx.send(probe(&socket));
        });
    }
    let result = match rx.recv_timeout(AGENT_TIMEOUT) {
        Ok(r) => r,
        Err(_) => {
            return (
                Check::new(
                    State::Fail,
                    NAME,
                    format!(
                        "the agent on {shown} did not answer within {}s",
                        AGENT_TIMEOUT.as_secs()
                    ),
                )
                .fix("see agent.log beside the socket; `tok agent stop` (or kill it) and run any command to start a new one"),
                None,
            )
        }
    };
    match result {
        Ok(Probe::Running(info, status)) => {
            let ours = env!("CARGO_PKG_VERSION");
            let detail = format!(
                "pid {}, tok {}, protocol {}, on {shown}",
                info.pid, info.version, info.protocol
            );
            let check = if info.version != ours || info.protocol != PROTOCOL_VERSION {
                Check::new(
                    State::Warn,
                    NAME,
                    format!("{detail}: this tok is {ours} (protocol {PROTOCOL_VERSION})"),
                )
                .fix("`tok agent stop`; the next command starts this version")
            } else {
                Check::new(State::Ok, NAME, detail)
            };
            (check, status.ok().map(|s| *s))
        }
        Ok(Probe::OtherProtocol { version, pid }) => (
            Check::new(
                State::Warn,
                NAME,
                format!(
                    "pid {pid} on {shown} speaks protocol {version}, this tok {PROTOCOL_VERSION} (an upgrade?); the next command restarts it"
                ),
            )
            .fix("`tok agent stop`, or just run a command"),
            None,
        ),
        Err(e) => (not_reachable(&shown, e), None),
    }
}

pub(super) fn probe(socket: &Path) -> Result<Probe, std::io::Error> {
    let mut conn = Connection::connect(socket)?;
    let info = match conn.call(Request::Ping) {
        Ok(Response::Hello(info)) => info,
        Ok(Response::VersionMismatch {
            agent_version,
            agent_pid,
        }) => {
            return Ok(Probe::OtherProtocol {
                version: agent_version,
                pid: agent_pid,
            })
        }
        Ok(other) => {
            return Err(std::io::Error::other(
                crate::cmd::unexpected(&other).to_string(),
            ))
        }
        Err(e) => return Err(std::io::Error::other(e.to_string())),
    };
    let status = match conn.call(Request::Status) {
        Ok(Response::Status(report)) => Ok(Box::new(report)),
        Ok(other) => Err(crate::cmd::unexpected(&other).to_string()),
        Err(e) => Err(e.to_string()),
    };
    Ok(Probe::Running(info, status))
}

pub(super) fn not_reachable(shown: &str, e: std::io::Error) -> Check {
    const NAME: &str = "agent";
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound if autostart_disabled() => Check::new(
            State::Fail,
            NAME,
            format!("not running (no socket at {shown}), and TOK_NO_AUTOSTART is set: no command starts one"),
        )
        .fix("`tok agent start`"),
        ErrorKind::NotFound => Check::new(
            State::Warn,
            NAME,
            format!("not running (no socket at {shown})"),
        )
        .fix("none needed: commands start it on demand (`tok agent start` starts it now)"),
        ErrorKind::ConnectionRefused => Check::new(
            State::Warn,
            NAME,
            format!("not running: {shown} is a stale socket, left by an agent that stopped uncleanly"),
        )
        .fix("none needed: the next command removes it and starts an agent (see agent.log for why the last one ended)"),
        ErrorKind::PermissionDenied => Check::new(State::Fail, NAME, e.to_string())
            .fix("point TOK_SOCKET at your own agent's socket, or unset it"),
        _ => Check::new(State::Fail, NAME, format!("cannot talk to the agent on {shown}: {e}"))
            .fix("see agent.log beside the socket; `tok agent stop` and run any command to start a new one"),
    }
}

pub(super) fn store(status: Option<&StatusReport>) -> Check {
    const NAME: &str = "store";
    let Some(report) = status else {
        return Check::new(
            State::Skip,
            NAME,
            "no agent answered; the store is the agent's",
        );
    };
    let st = &report.store;
    let mut detail = format!("{} ({})", st.backend, st.reason);
    for note in &st.notes {
        detail.push_str(&format!("; note: {note}"));
    }
    if st.locked {
        Check::new(State::Warn, NAME, format!("{detail}; locked"))
            .fix("`tok unlock` (commands unlock with TOK_PASSPHRASE_FILE or by asking)")
    } else if report.agent_locked {
        Check::new(
            State::Warn,
            NAME,
            format!("{detail}; the agent is locked (`tok lock`): no tokens are served"),
        )
        .fix("`tok unlock`")
    } else {
        Check::new(State::Ok, NAME, detail)
    }
}

pub(super) fn config() -> (Check, Option<Config>) {
    const NAME: &str = "config";
    let path = dirs::config_file();
    let shown = path.display().to_string();
    match Config::load(&path) {
        Err(e) => (
            Check::new(State::Fail, NAME, e.to_string()).fix(format!("fix or remove {shown}")),
            None,
        ),
        Ok(c) if c.accounts.is_empty() => (
            Check::new(State::Warn, NAME, format!("no accounts in {shown}"))
                .fix("`tok login NAME --issuer URL` (`tok issuers` lists presets)"),
            Some(c),
        ),
        Ok(c) => {
            let n = c.accounts.len();
            let default = c
                .default_account
                .as_ref()
                .map(|d| format!(", default {d}"))
                .unwrap_or_default();
            (
                Check::new(
                    State::Ok,
                    NAME,
                    format!(
                        "{shown}: {n} account{}{default}",
                        if n == 1 { "" } else { "s" }
                    ),
                ),
                Some(c),
            )
        }
    }
}

/// The account's login as the agent sees it.
pub(super) fn login(name: &str, status: Option<&StatusReport>) -> Check {
    let check = format!("{name} login");
    let Some(report) = status else {
        return Check::new(
            State::Skip,
            check,
            "no agent answered; the login is the agent's",
        );
    };
    let Some(acct) = report.accounts.iter().find(|a| a.name == name) else {
        return Check::new(State::Warn, check, "the agent does not list this account")
            .fix(format!("`tok login {name}`"));
    };
    let reason = acct
        .reason
        .as_ref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    match acct.state.as_str() {
        "ok" => Check::new(State::Ok, check, "logged in"),
        "needs login" => Check::new(State::Fail, check, format!("needs login{reason}"))
            .fix(format!("`tok login {name}`")),
        "locked" => Check::new(State::Warn, check, "unknown until the store is unlocked")
            .fix("`tok unlock`"),
        other => Check::new(State::Warn, check, format!("{other}{reason}")),
    }
}

/// When the account's login ends, if anyone said: a warning within `warn_within` seconds of
/// the end (`login_warning_days`), a failure once it has passed.
pub(super) fn login_end(
    name: &str,
    status: Option<&StatusReport>,
    warn_within: u64,
) -> Option<Check> {
    let acct = status?.accounts.iter().find(|a| a.name == name)?;
    let (end, source) = (acct.login_ends_at?, acct.login_end_source?);
    let now = crate::time::unix_now();
    let text = crate::cmd::status::login_end_text(end, source, now);
    let check = format!("{name} login end");
    Some(if end <= now {
        Check::new(State::Fail, check, format!("the login {text}"))
            .fix(format!("`tok login {name}`"))
    } else if warn_within > 0 && end <= now.saturating_add(warn_within) {
        Check::new(State::Warn, check, format!("the login {text}"))
            .fix(format!("`tok login {name}` before then"))
    } else {
        Check::new(State::Ok, check, format!("the login {text}"))
    })
}
