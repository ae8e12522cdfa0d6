//! `tok init SHELL`: print the shell integration kept in `shell/` (agent start, completions).

use super::print_stdout;
use crate::cli::{InitArgs, InitShell};
use anyhow::Result;

pub fn run(args: InitArgs) -> Result<()> {
    let snippet = match args.shell {
        InitShell::Bash => include_str!("../../shell/tok.bash"),
        InitShell::Zsh => include_str!("../../shell/tok.zsh"),
        InitShell::Fish => include_str!("../../shell/tok.fish"),
    };
    print_stdout(snippet)?;
    Ok(())
}
