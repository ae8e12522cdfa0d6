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

mod local;
mod provider;

use local::*;
use provider::*;

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
        let warn_within = config.login_warning_secs();
        let accounts: Vec<(String, Account)> = config.accounts.into_iter().collect();
        let logins = accounts
            .iter()
            .map(|(name, _)| {
                let mut checks = vec![login(name, status.as_ref())];
                checks.extend(login_end(name, status.as_ref(), warn_within));
                checks
            })
            .collect::<Vec<_>>();
        let providers = providers(&accounts);
        for (mut checks, provider) in logins.into_iter().zip(providers) {
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
