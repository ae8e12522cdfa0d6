//! `tok audit`: the agent's audit trail, filtered — which process got which token and when.
//! Read straight from the file (the rotated one first); no agent is needed.

use super::print_stdout;
use crate::agent::audit::{rotated, Event};
use crate::cli::AuditArgs;
use crate::time::unix_now;
use anyhow::{Context, Result};
use std::fmt::Write;

pub fn run(args: AuditArgs) -> Result<()> {
    let path = crate::dirs::audit_file();
    let since = args
        .since
        .map(|d| unix_now().saturating_sub(d.as_secs()))
        .unwrap_or(0);
    let mut out = String::new();
    let mut shown = 0usize;
    for file in [rotated(&path), path.clone()] {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        };
        for line in text.lines() {
            // A line cut by a crash mid-write is skipped, not fatal.
            let Ok(event) = serde_json::from_str::<Event>(line) else {
                continue;
            };
            if event.unix < since || args.account.as_ref().is_some_and(|a| *a != event.account) {
                continue;
            }
            shown += 1;
            if args.json {
                out.push_str(line);
                out.push('\n');
            } else {
                let _ = writeln!(out, "{}", describe(&event));
            }
        }
    }
    if shown == 0 && !args.json {
        let _ = writeln!(out, "no events in {}", path.display());
    }
    print_stdout(&out)?;
    Ok(())
}

fn describe(e: &Event) -> String {
    let mut s = format!(
        "{} {:<9} {} scope [{}] aud [{}]",
        e.time,
        e.event,
        e.account,
        e.scopes.join(" "),
        e.audiences.join(" ")
    );
    if let Some(jti) = &e.jti {
        let _ = write!(s, " jti {jti}");
    }
    let _ = write!(
        s,
        " pid {} {}",
        e.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
        e.exe.as_deref().unwrap_or("?")
    );
    if let Some(parent) = &e.parent {
        let _ = write!(s, " (from: {parent})");
    }
    if let Some(note) = &e.note {
        let _ = write!(s, " — {note}");
    }
    crate::terminal::one_line(&s)
}
