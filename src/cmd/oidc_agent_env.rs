//! `tok oidc-agent-env`: what `oidc-agent-service use` prints, so the `eval $(…)` line in site
//! documentation and shell start-up files keeps working with tok's agent behind it.

use super::print_stdout;
use crate::client;
use crate::error::Error;
use crate::protocol::{Request, Response};
use anyhow::Result;

pub fn run() -> Result<()> {
    let config = crate::config::Config::load(&crate::dirs::config_file())?;
    if config.oidc_agent_socket == Some(false) {
        return Err(Error::Usage(format!(
            "the oidc-agent compatibility socket is off (oidc_agent_socket = false in {}); remove that line and run `tok agent stop` so the agent restarts with it",
            crate::dirs::config_file().display()
        ))
        .into());
    }
    // Like `oidc-agent-service use`: start the agent when none runs, else reuse it.
    let mut conn = client::connect_or_spawn(&crate::dirs::socket_path())?;
    let pid = match conn.call(Request::Ping)? {
        Response::Hello(info) => info.pid,
        other => return Err(super::unexpected(&other).into()),
    };
    let socket = crate::compat::socket_path();
    let socket = socket
        .to_str()
        .filter(|s| !s.contains(['\n', '\'', ';', ' ']))
        .ok_or_else(|| Error::Usage(format!("{} cannot be exported", socket.display())))?;
    print_stdout(&format!(
        "OIDC_SOCK={socket}; export OIDC_SOCK;\nOIDCD_PID={pid}; export OIDCD_PID;\n"
    ))?;
    Ok(())
}
