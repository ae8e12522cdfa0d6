//! The `tok` binary: parse, run, report the error chain once, exit with a documented code.

use clap::Parser;
use std::process::ExitCode;
use tok::error::{exit, Error};

fn main() -> ExitCode {
    let cli = tok::cli::Cli::parse();
    match tok::cmd::run_exit(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                // The reader went away (e.g. `tok get | head -c0`): not our failure.
                return ExitCode::from(exit::OK);
            }
            let code = err
                .chain()
                .find_map(|e| e.downcast_ref::<Error>())
                .map(Error::exit_code)
                .unwrap_or(exit::ERROR);
            let mut message = format!("tok: {err}");
            for cause in err.chain().skip(1) {
                // Many messages already name their cause; say it only once.
                let text = cause.to_string();
                if !message.contains(&text) {
                    message.push_str(&format!("\n  caused by: {text}"));
                }
            }
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
