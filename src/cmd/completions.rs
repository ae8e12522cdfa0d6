//! `tok completions SHELL`: the completion scripts generated from `cli.rs` (committed under
//! `completions/`, checked fresh by `tests/generated.rs`), built into the binary so that an
//! installed tok can always print the ones matching its own options.

use super::print_stdout;
use crate::cli::{CompletionShell, CompletionsArgs};
use anyhow::Result;

pub fn run(args: CompletionsArgs) -> Result<()> {
    let script = match args.shell {
        CompletionShell::Bash => include_str!("../../completions/tok.bash"),
        CompletionShell::Zsh => include_str!("../../completions/_tok"),
        CompletionShell::Fish => include_str!("../../completions/tok.fish"),
        CompletionShell::Elvish => include_str!("../../completions/tok.elv"),
        CompletionShell::Powershell => include_str!("../../completions/_tok.ps1"),
    };
    print_stdout(script)?;
    Ok(())
}
