//! `tok init SHELL`: print the shell integration kept in `shell/` (agent start, completions),
//! and point oidc-agent's clients at the agent's compatibility socket unless `OIDC_SOCK` is
//! already set.

use super::print_stdout;
use crate::cli::{InitArgs, InitShell};
use anyhow::Result;

pub fn run(args: InitArgs) -> Result<()> {
    let snippet = match args.shell {
        InitShell::Bash => include_str!("../../shell/tok.bash"),
        InitShell::Zsh => include_str!("../../shell/tok.zsh"),
        InitShell::Fish => include_str!("../../shell/tok.fish"),
    };
    let mut text = snippet.to_string();
    if let Some(socket) = oidc_sock() {
        text.push_str(&match args.shell {
            InitShell::Bash | InitShell::Zsh => {
                format!("[ -n \"${{OIDC_SOCK:-}}\" ] || export OIDC_SOCK='{socket}'\n")
            }
            InitShell::Fish => format!("set -q OIDC_SOCK; or set -gx OIDC_SOCK '{socket}'\n"),
        });
    }
    print_stdout(&text)?;
    Ok(())
}

/// The compatibility socket's path, unless the configuration turns it off (or it cannot be
/// quoted safely).
fn oidc_sock() -> Option<String> {
    let config = crate::config::Config::load(&crate::dirs::config_file()).ok()?;
    if config.oidc_agent_socket == Some(false) {
        return None;
    }
    crate::compat::socket_path()
        .to_str()
        .filter(|p| !p.contains(['\'', '\n']))
        .map(str::to_string)
}
