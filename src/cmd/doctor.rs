//! `tok doctor`: when tok does not work, say which piece is wrong and what to do about it.
//!
//! Each check is one line with its remedy: the runtime directory (tok refuses one that others
//! can reach), the agent (reachable, the same version), the store, the configuration, and for
//! every configured account its login, TLS trust, discovery and this machine's clock against
//! the provider's. Doctor only looks: it never starts an agent, never creates a directory, and
//! reads accounts from the configuration file, so it works when the agent does not. Exit 0 when
//! no check failed (warnings do not count), 1 otherwise.

use super::print_stdout;
use crate::client::Connection;
use crate::config::{Account, Config};
use crate::dirs::{self, DirError};
use crate::oauth::{self, OauthError};
use crate::protocol::{Request, Response, StatusReport, PROTOCOL_VERSION};
use crate::terminal::one_line;
use anyhow::Result;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the agent may take to answer a ping and a status request; a wedged agent must not
/// wedge the tool that diagnoses it.
const AGENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Clock skew worth a warning: resources check `exp`, `nbf` and `iat` with little or no leeway.
const MAX_SKEW_SECS: f64 = 60.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ok,
    Warn,
    Fail,
    Skip,
}

#[derive(Debug)]
struct Check {
    state: State,
    name: String,
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn new(state: State, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            state,
            name: name.into(),
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    fn line(&self) -> String {
        let label = match self.state {
            State::Ok => "ok",
            State::Warn => "warn",
            State::Fail => "FAIL",
            State::Skip => "skip",
        };
        let mut s = format!("{label:<5} {}: {}", self.name, one_line(&self.detail));
        if let Some(fix) = &self.fix {
            s.push_str("; fix: ");
            s.push_str(&one_line(fix));
        }
        s.push('\n');
        s
    }
}

pub fn run() -> Result<u8> {
    let mut all = vec![];
    let mut show = |checks: Vec<Check>| -> Result<()> {
        let text: String = checks.iter().map(Check::line).collect();
        print_stdout(&text)?;
        all.extend(checks);
        Ok(())
    };
    show(vec![runtime_dir()])?;
    let (agent, status) = agent();
    show(vec![agent])?;
    show(vec![store(status.as_ref())])?;
    let (config_check, config) = config();
    show(vec![config_check])?;
    if let Some(config) = config {
        let accounts: Vec<(String, Account)> = config.accounts.into_iter().collect();
        let logins = accounts
            .iter()
            .map(|(name, _)| login(name, status.as_ref()))
            .collect::<Vec<_>>();
        let providers = providers(&accounts);
        for (login, provider) in logins.into_iter().zip(providers) {
            let mut checks = vec![login];
            checks.extend(provider);
            show(checks)?;
        }
    }
    let failed = all.iter().filter(|c| c.state == State::Fail).count();
    let warned = all.iter().filter(|c| c.state == State::Warn).count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    print_stdout(&if failed == 0 && warned == 0 {
        "healthy: every check passed\n".to_string()
    } else if failed == 0 {
        format!("healthy, with {warned} warning{}\n", plural(warned))
    } else {
        format!(
            "unhealthy: {failed} check{} failed, {warned} warning{}\n",
            plural(failed),
            plural(warned)
        )
    })?;
    Ok(if failed == 0 {
        crate::error::exit::OK
    } else {
        crate::error::exit::ERROR
    })
}

/// The directory of the socket, lock file and log: the agent refuses to run in one that is not
/// ours and private, so a wrong mode here is why nothing starts.
fn runtime_dir() -> Check {
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

fn autostart_disabled() -> bool {
    std::env::var_os("TOK_NO_AUTOSTART").is_some_and(|v| !v.is_empty() && v != "0")
}

/// What the agent said, when one answered.
enum Probe {
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
fn agent() -> (Check, Option<StatusReport>) {
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

fn probe(socket: &Path) -> Result<Probe, std::io::Error> {
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
        Ok(other) => return Err(std::io::Error::other(super::unexpected(&other).to_string())),
        Err(e) => return Err(std::io::Error::other(e.to_string())),
    };
    let status = match conn.call(Request::Status) {
        Ok(Response::Status(report)) => Ok(Box::new(report)),
        Ok(other) => Err(super::unexpected(&other).to_string()),
        Err(e) => Err(e.to_string()),
    };
    Ok(Probe::Running(info, status))
}

fn not_reachable(shown: &str, e: std::io::Error) -> Check {
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

fn store(status: Option<&StatusReport>) -> Check {
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

fn config() -> (Check, Option<Config>) {
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
fn login(name: &str, status: Option<&StatusReport>) -> Check {
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

/// TLS, discovery and clock checks for every account, concurrently (a dead provider costs its
/// timeout once, not once per account).
fn providers(accounts: &[(String, Account)]) -> Vec<Vec<Check>> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return accounts
                .iter()
                .map(|(name, _)| {
                    vec![Check::new(
                        State::Fail,
                        format!("{name} provider"),
                        format!("cannot start the async runtime: {e}"),
                    )]
                })
                .collect()
        }
    };
    runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, (name, account)) in accounts.iter().enumerate() {
            let (name, account) = (name.clone(), account.clone());
            set.spawn(async move { (i, provider(&name, &account).await) });
        }
        let mut results: Vec<(usize, Vec<Check>)> = vec![];
        while let Some(joined) = set.join_next().await {
            if let Ok(r) = joined {
                results.push(r);
            }
        }
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, checks)| checks).collect()
    })
}

/// Where tok's trust for this provider comes from, for the TLS line.
fn trust(account: &Account) -> String {
    let store = match std::env::var("SSL_CERT_FILE") {
        Ok(f) if !f.is_empty() => format!("SSL_CERT_FILE={f}"),
        _ => "the system CA store".to_string(),
    };
    match &account.ca_file {
        Some(ca) => format!("{store} plus {ca}"),
        None => store,
    }
}

async fn provider(name: &str, account: &Account) -> Vec<Check> {
    let (tls, discovery, clock) = (
        format!("{name} tls"),
        format!("{name} discovery"),
        format!("{name} clock"),
    );
    let issuer = &account.issuer;
    let http = match oauth::http_client(account.ca_file.as_deref()) {
        Ok(h) => h,
        Err(e) => {
            return vec![
                Check::new(State::Fail, tls, e.to_string()).fix(format!(
                    "fix ca_file of [accounts.{name}] in config.toml, or `tok login {name} --ca-file PATH`"
                )),
                Check::new(State::Skip, discovery, "no HTTPS client"),
                Check::new(State::Skip, clock, "no HTTPS client"),
            ]
        }
    };
    let parsed = match crate::net::check_url("issuer", issuer) {
        Ok(u) => u,
        Err(e) => {
            return vec![
                Check::new(State::Skip, tls, "the issuer URL is not usable"),
                Check::new(State::Fail, discovery, e.to_string()).fix(format!(
                    "fix issuer of [accounts.{name}] in config.toml, or log in again with the right --issuer"
                )),
                Check::new(State::Skip, clock, "the issuer URL is not usable"),
            ]
        }
    };
    // One plain request first: its failure tells TLS trust from reachability, and its answer
    // carries the provider's Date header.
    let url = oauth::discovery::well_known_urls(
        &parsed,
        crate::net::issuer_base(issuer),
        "openid-configuration",
        false,
    )
    .remove(0);
    let sent = SystemTime::now();
    let answer = http.get(&url).send().await;
    let received = SystemTime::now();
    let mut out = vec![];
    let resp = match answer {
        Ok(resp) => resp,
        Err(e) => {
            match oauth::form::transport_error(&format!("discovery at {url}"), e) {
                // The TLS message names the trust used; the fix names this account.
                OauthError::Config(m) => {
                    out.push(Check::new(State::Fail, tls, m).fix(format!(
                        "`tok login {name} --ca-file PATH` with the provider's CA bundle, or SSL_CERT_FILE"
                    )));
                    out.push(Check::new(State::Skip, discovery, "TLS failed"));
                }
                other => {
                    out.push(Check::new(State::Skip, tls, "the provider was not reached"));
                    out.push(Check::new(State::Fail, discovery, other.to_string()).fix(
                        "check the issuer URL, the network and any proxy, and whether the provider is up; the agent keeps serving tokens it has cached",
                    ));
                }
            }
            out.push(Check::new(
                State::Skip,
                clock,
                "the provider was not reached",
            ));
            return out;
        }
    };
    if parsed.scheme() == "https" {
        out.push(Check::new(
            State::Ok,
            tls,
            format!(
                "{}: certificate verified, trusting {}",
                parsed.origin().ascii_serialization(),
                trust(account)
            ),
        ));
    } else {
        out.push(Check::new(
            State::Skip,
            tls,
            "plain http on loopback: no TLS",
        ));
    }
    let date = resp
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date);
    drop(resp);
    out.push(match oauth::discover(&http, issuer).await {
        Ok(md) => {
            let offers = [
                ("device flow", md.device_authorization_endpoint.is_some()),
                ("revocation", md.revocation_endpoint.is_some()),
                ("registration", md.registration_endpoint.is_some()),
                (
                    "token exchange",
                    md.grant_types_supported
                        .iter()
                        .any(|g| g == oauth::TOKEN_EXCHANGE_GRANT),
                ),
            ];
            let offered: Vec<&str> = offers.iter().filter(|o| o.1).map(|o| o.0).collect();
            let detail = format!(
                "{issuer}: token endpoint {}; offers {}",
                md.token_endpoint,
                if offered.is_empty() {
                    "nothing more".to_string()
                } else {
                    offered.join(", ")
                }
            );
            if md.device_authorization_endpoint.is_none() {
                Check::new(
                    State::Warn,
                    discovery,
                    format!("{detail}; no device authorization endpoint: `tok login` cannot log in here"),
                )
                .fix("ask the provider's operators to enable the device flow (RFC 8628) for tok's client")
            } else {
                Check::new(State::Ok, discovery, detail)
            }
        }
        Err(e) => {
            let fix = match e {
                OauthError::Config(_) => format!(
                    "check issuer of [accounts.{name}] in config.toml (log in again with the right --issuer)"
                ),
                _ => "retry later: the provider may be down or overloaded".to_string(),
            };
            Check::new(State::Fail, discovery, e.to_string()).fix(fix)
        }
    });
    out.push(match date {
        None => Check::new(
            State::Skip,
            clock,
            "the provider sent no readable Date header",
        ),
        Some(date) => {
            let secs = |t: SystemTime| {
                t.duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0)
            };
            // The Date header is whole seconds, taken while the request was in flight.
            let here = (secs(sent) + secs(received)) / 2.0;
            skew(clock, here - date as f64)
        }
    });
    out
}

/// The clock line for `skew` seconds (ours minus the provider's).
fn skew(name: String, skew: f64) -> Check {
    let n = skew.abs().round();
    if skew.abs() <= MAX_SKEW_SECS {
        Check::new(
            State::Ok,
            name,
            format!("within {n} s of the provider's clock"),
        )
    } else {
        Check::new(
            State::Warn,
            name,
            format!(
                "this clock is {n} s {} the provider's: resources check token times with little or no leeway, so fresh tokens may look not yet valid or already expired",
                if skew > 0.0 { "ahead of" } else { "behind" }
            ),
        )
        .fix("synchronise the clock (chrony, systemd-timesyncd or ntpd)")
    }
}

/// An HTTP `Date` (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) as unix seconds.
fn parse_http_date(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (_, rest) = text.trim().split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: i64 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day)
        || !(0..24).contains(h)
        || !(0..60).contains(m)
        || !(0..61).contains(s)
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400)
        );
        for bad in [
            "",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Now 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn skew_beyond_a_minute_is_a_warning() {
        assert_eq!(skew("c".into(), 0.4).state, State::Ok);
        assert_eq!(skew("c".into(), -59.0).state, State::Ok);
        let ahead = skew("c".into(), 75.2);
        assert_eq!(ahead.state, State::Warn);
        assert!(ahead.detail.contains("75 s ahead of"), "{}", ahead.detail);
        assert!(skew("c".into(), -600.0).detail.contains("behind"));
    }

    #[test]
    fn lines_carry_the_remedy_and_no_control_characters() {
        let c = Check::new(State::Fail, "x", "bad\u{1b}[2J").fix("chmod 700 /d");
        assert_eq!(c.line(), "FAIL  x: bad\\u{1b}[2J; fix: chmod 700 /d\n");
    }
}
