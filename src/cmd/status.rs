//! `tok status` / `tok list`: what the agent knows, never a token value.

use super::{print_stdout, request, rfc3339, unexpected};
use crate::cli::StatusArgs;
use crate::protocol::{LoginEndSource, Request, Response, StatusReport};
use anyhow::Result;
use std::fmt::Write;

pub fn run(args: StatusArgs) -> Result<()> {
    let (_conn, response) = request(|| Request::Status)?;
    let Response::Status(report) = response else {
        return Err(unexpected(&response).into());
    };
    if args.json {
        let mut s = serde_json::to_string_pretty(&report)?;
        s.push('\n');
        print_stdout(&s)?;
    } else if args.short {
        print_stdout(&render_short(&report))?;
    } else {
        print_stdout(&render(&report))?;
    }
    Ok(())
}

/// `tok status --short`: one line per account, like `oidc-add -l`.
fn render_short(report: &StatusReport) -> String {
    let now = crate::time::unix_now();
    let width = report
        .accounts
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    for a in &report.accounts {
        let left = a
            .cached
            .iter()
            .map(|t| t.expires_at.saturating_sub(now))
            .max()
            .filter(|l| *l > 0)
            .map(|l| {
                format!(
                    "token {} left",
                    humantime::format_duration(std::time::Duration::from_secs(l))
                )
            })
            .unwrap_or_else(|| "no token cached".to_string());
        let _ = writeln!(
            s,
            "{:<width$} {}{} {} {left}",
            a.name,
            a.state,
            if a.default { " (default)" } else { "" },
            a.issuer
        );
    }
    if report.accounts.is_empty() {
        s.push_str("no accounts; run `tok login NAME --issuer URL`\n");
    }
    s
}

fn render(report: &StatusReport) -> String {
    let mut s = String::new();
    let a = &report.agent;
    let _ = writeln!(
        s,
        "agent: pid {} (tok {}, protocol {}) on {}",
        a.pid, a.version, a.protocol, a.socket
    );
    let st = &report.store;
    let _ = writeln!(
        s,
        "store: {}{} — {}",
        st.backend,
        if st.locked {
            " (locked: run `tok unlock`)"
        } else {
            ""
        },
        st.reason
    );
    for note in &st.notes {
        let _ = writeln!(s, "  note: {note}");
    }
    if report.agent_locked {
        let _ = writeln!(
            s,
            "locked: no tokens are served until `tok unlock` (`tok lock`)"
        );
    }
    if report.accounts.is_empty() {
        let _ = writeln!(s, "no accounts; run `tok login NAME --issuer URL`");
    }
    let now = crate::time::unix_now();
    for acct in &report.accounts {
        let _ = writeln!(
            s,
            "\naccount {}{}",
            acct.name,
            if acct.default { " (default)" } else { "" }
        );
        let _ = writeln!(s, "  issuer:   {}", acct.issuer);
        let _ = writeln!(s, "  client:   {}", acct.client_id);
        let _ = writeln!(s, "  scopes:   {}", acct.scopes.join(" "));
        let state = match &acct.reason {
            Some(r) => format!("{} ({r})", acct.state),
            None => acct.state.clone(),
        };
        let _ = writeln!(s, "  state:    {state}");
        if let Some(w) = &acct.scope_warning {
            let _ = writeln!(s, "  warning:  {w}");
        }
        if let (Some(end), Some(source)) = (acct.login_ends_at, acct.login_end_source) {
            let _ = writeln!(s, "  login:    {}", login_end_text(end, source, now));
        }
        if acct.confirm {
            let _ = writeln!(s, "  confirm:  each use is confirmed (TOK_ASKPASS)");
        }
        if acct.cached.is_empty() {
            let _ = writeln!(s, "  cached:   none");
        }
        for t in &acct.cached {
            let left = t.expires_at.saturating_sub(now);
            let _ = writeln!(
                s,
                "  cached:   {} {} expires {} ({})",
                if t.scopes.is_empty() {
                    "login scopes,".to_string()
                } else {
                    format!("scope [{}]", t.scopes.join(" "))
                },
                if t.audiences.is_empty() {
                    "no audience,".to_string()
                } else {
                    format!("aud [{}]", t.audiences.join(" "))
                },
                rfc3339(t.expires_at),
                if left == 0 {
                    "expired".to_string()
                } else {
                    format!(
                        "{} left",
                        humantime::format_duration(std::time::Duration::from_secs(left))
                    )
                }
            );
        }
        for d in &acct.delegations {
            let left = d.not_after.saturating_sub(now);
            let _ = writeln!(
                s,
                "  delegated: {} scope [{}] aud [{}] until {} ({} left), token {}",
                d.id,
                d.scopes.join(" "),
                d.audiences.join(" "),
                rfc3339(d.not_after),
                humantime::format_duration(std::time::Duration::from_secs(left)),
                d.fingerprint
            );
        }
    }
    s
}

/// "ends in 12 days, at 2026-12-20T10:00:00Z (provider: refresh_expires_in)", or "ended at …".
pub(crate) fn login_end_text(end: u64, source: LoginEndSource, now: u64) -> String {
    let when = match end.saturating_sub(now) {
        0 => format!("ended at {}", rfc3339(end)),
        left => format!("ends in {}, at {}", crate::time::span(left), rfc3339(end)),
    };
    format!("{when} ({})", source.describe())
}
