//! Reads the command line. `tok get` and `tok env` run in every job, so they are parsed against
//! their own subcommand alone: building every subcommand's arguments first was a good part of
//! a job's start-up (BENCHMARKS.md). Help, errors and every other command go through the full
//! parser, so what a user sees is the same either way.

use crate::cli::{Cli, Command, EnvArgs, GetArgs};
use clap::{Args, FromArgMatches, Parser};
use std::ffi::OsString;

/// Parses a command line (program name first); prints help or a usage error and exits as clap
/// does. The binary passes the `argv` its `main` received (see `main.rs`).
pub fn parse_from(args: Vec<OsString>) -> Cli {
    hot_command(&args).unwrap_or_else(|| Cli::parse_from(args))
}

/// `tok get …` or `tok env …` parsed by its own subcommand's definition from `cli.rs`; `None`
/// when the command is another one or does not parse cleanly (help and errors included), so
/// that the full parser decides and words the message.
pub fn hot_command(args: &[OsString]) -> Option<Cli> {
    let rest = args.get(2..)?;
    let command = match args.get(1)?.to_str()? {
        "get" => Command::Get(alone::<GetArgs>("get", rest)?),
        "env" => Command::Env(alone::<EnvArgs>("env", rest)?),
        _ => return None,
    };
    Some(Cli { command })
}

fn alone<T: Args + FromArgMatches>(name: &'static str, rest: &[OsString]) -> Option<T> {
    let command = T::augment_args(clap::Command::new(name).no_binary_name(true));
    let matches = command.try_get_matches_from(rest).ok()?;
    T::from_arg_matches(&matches).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn argv(line: &str) -> Vec<OsString> {
        line.split(' ').map(OsString::from).collect()
    }

    /// Every `get` and `env` form a job uses gives exactly what the full parser gives.
    #[test]
    fn hot_path_agrees_with_the_full_parser() {
        for line in [
            "tok get",
            "tok get --scope storage.read:/atlas --aud https://se.example.org",
            "tok get -s storage.read:/x -s storage.modify:/y --aud A --aud B -f json",
            "tok get --scope=storage.read:/x --aud=A --format=header",
            "tok get -a cms --min-valid 10m",
            "tok get cms -s storage.read:/x",
            "tok get --issuer https://iam.example.org --scope compute.create",
            "tok env",
            "tok env --shell fish --scope storage.read:/x --aud A",
            "tok env --shell csh --file /tmp/t -s storage.read",
            "tok env --purpose job",
            "tok env --inline -s storage.read:/x",
        ] {
            let args = argv(line);
            let full = Cli::try_parse_from(&args).expect(line);
            let hot = hot_command(&args).unwrap_or_else(|| panic!("{line}: not hot"));
            assert_eq!(format!("{hot:?}"), format!("{full:?}"), "{line}");
        }
    }

    /// Help, version, unknown flags, conflicts and bad values go to the full parser, which
    /// words the message (and the usage line names `tok get`).
    #[test]
    fn help_and_errors_go_to_the_full_parser() {
        for line in [
            "tok get --help",
            "tok get -h",
            "tok get --version",
            "tok get --bogus",
            "tok get -a x --issuer y",
            "tok get --format yaml",
            "tok get --min-valid soon",
            "tok get one two",
            "tok env --purpose job --inline",
            "tok env --shell nushell",
            "tok status",
            "tok",
        ] {
            assert!(hot_command(&argv(line)).is_none(), "{line}");
        }
    }

    #[test]
    fn the_full_cli_still_declares_get_and_env() {
        let cli = Cli::command();
        assert!(cli.find_subcommand("get").is_some());
        assert!(cli.find_subcommand("env").is_some());
    }
}
