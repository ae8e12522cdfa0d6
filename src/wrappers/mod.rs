//! Exec wrappers (`timeout 90 gfal-copy …`, `nice`, `env A=B`, `apptainer exec IMAGE …`) hide
//! the grid client from `tok exec`, which picks token delivery by the command's name: this table
//! says how each wrapper's options and operands lead to the command it runs (issue 21).
//!
//! Every wrapper here parses like getopt with a leading `+`: options stop at the first word that
//! is not one, an option's value is attached (`-n5`, `--signal=KILL`) or the next word, `--`
//! ends the options. What cannot be read safely (an unknown wrapper, a pid instead of a
//! command) yields the wrapper itself, so tok falls back to its default delivery.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One row of the table.
pub struct Wrapper {
    /// Program names (the base name of the command); each list here is space-separated.
    pub names: &'static str,
    /// A subcommand that must come first (`apptainer exec`), and the options that may precede it
    /// and take a value.
    pub subcommand: Option<(&'static str, &'static str)>,
    /// Options that take a value, short (`-n`) and long (`--adjustment`) alike.
    pub valued: &'static str,
    /// Options that make the wrapper act on something else than a command (a pid): no command.
    pub no_command: &'static str,
    /// Operands between the options and the command (a duration, a CPU mask, an image).
    pub operands: usize,
    /// `NAME=VALUE` words before the command set variables (env).
    pub assignments: bool,
    /// Options whose value is split into words that are parsed as arguments (env -S).
    pub split: &'static str,
    /// The synopsis, for the README.
    pub usage: &'static str,
}

/// Every wrapper tok sees through. The README's table is rendered from it
/// (`TOK_REGENERATE=1 cargo test --lib wrappers`).
pub const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        names: "timeout",
        subcommand: None,
        valued: "-s --signal -k --kill-after",
        no_command: "",
        operands: 1,
        assignments: false,
        split: "",
        usage: "timeout [OPTION]… DURATION COMMAND",
    },
    Wrapper {
        names: "nice",
        subcommand: None,
        valued: "-n --adjustment",
        no_command: "",
        operands: 0,
        assignments: false,
        split: "",
        usage: "nice [-n N | -N] COMMAND",
    },
    Wrapper {
        names: "ionice",
        subcommand: None,
        valued: "-c --class -n --classdata -p --pid -P --pgid -u --uid",
        no_command: "-p --pid -P --pgid -u --uid",
        operands: 0,
        assignments: false,
        split: "",
        usage: "ionice [-c CLASS] [-n LEVEL] [-t] COMMAND",
    },
    Wrapper {
        names: "env",
        subcommand: None,
        valued: "-u --unset -C --chdir -S --split-string",
        no_command: "",
        operands: 0,
        assignments: true,
        split: "-S --split-string",
        usage: "env [OPTION]… [-] [NAME=VALUE]… COMMAND",
    },
    Wrapper {
        names: "time",
        subcommand: None,
        valued: "-f --format -o --output",
        no_command: "",
        operands: 0,
        assignments: false,
        split: "",
        usage: "time [OPTION]… COMMAND (/usr/bin/time)",
    },
    Wrapper {
        names: "stdbuf",
        subcommand: None,
        valued: "-i --input -o --output -e --error",
        no_command: "",
        operands: 0,
        assignments: false,
        split: "",
        usage: "stdbuf OPTION… COMMAND",
    },
    Wrapper {
        names: "nohup",
        subcommand: None,
        valued: "",
        no_command: "",
        operands: 0,
        assignments: false,
        split: "",
        usage: "nohup COMMAND",
    },
    Wrapper {
        names: "setsid",
        subcommand: None,
        valued: "",
        no_command: "",
        operands: 0,
        assignments: false,
        split: "",
        usage: "setsid [-c] [-f] [-w] COMMAND",
    },
    Wrapper {
        names: "taskset",
        subcommand: None,
        valued: "",
        no_command: "-p --pid",
        operands: 1,
        assignments: false,
        split: "",
        usage: "taskset [-a] [-c] MASK|LIST COMMAND",
    },
    Wrapper {
        names: "chrt",
        subcommand: None,
        valued: "-T --sched-runtime -P --sched-period -D --sched-deadline",
        no_command: "-p --pid -m --max",
        operands: 1,
        assignments: false,
        split: "",
        usage: "chrt [OPTION]… PRIORITY COMMAND",
    },
    Wrapper {
        names: "numactl",
        subcommand: None,
        valued: "-i --interleave -w --weighted-interleave -p --preferred -P --preferred-many \
                 -m --membind -N --cpunodebind -C --physcpubind -c --cpubind -S --shm -f --file \
                 -I --shmid -L --length -o --offset -M --shmmode",
        no_command: "-s --show -H --hardware",
        operands: 0,
        assignments: false,
        split: "",
        usage: "numactl [OPTION]… COMMAND",
    },
    Wrapper {
        names: "apptainer singularity",
        subcommand: Some(("exec", "-c --config")),
        // Cobra flags: a boolean never takes the next word, so only these do.
        valued: "--add-caps --app --apply-cgroups --authfile -B --bind --blkio-weight \
                 --blkio-weight-device --cpu-shares --cpus --cpuset-cpus --cpuset-mems --cwd \
                 --device --dns --docker-host --drop-caps --env --env-file --fusemount -H --home \
                 --hostname --memory --memory-reservation --memory-swap --mount --network \
                 --network-args --no-mount -o --overlay --pem-path --pids-limit --pwd -S \
                 --scratch --security -W --workdir",
        no_command: "",
        operands: 1,
        assignments: false,
        split: "",
        usage: "apptainer exec [OPTION]… IMAGE COMMAND (also singularity)",
    },
];

/// Nested wrappers deeper than this are not followed (`nice nice nice …` is no real command).
const MAX_DEPTH: usize = 8;

/// The command a wrapper chain runs, and the wrappers it runs through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    /// The program that really runs: the command itself when it is no wrapper, the innermost
    /// wrapper when its command cannot be found.
    pub program: OsString,
    /// The wrappers in the way, outermost first (base names).
    pub through: Vec<String>,
}

/// Looks through the wrappers at the start of `command` to the program they run.
pub fn unwrap(command: &[OsString]) -> Unwrapped {
    let mut words: Vec<OsString> = command.to_vec();
    let mut through = Vec::new();
    while through.len() < MAX_DEPTH {
        let Some(first) = words.first() else { break };
        let Some(wrapper) = find(first) else { break };
        match command_of(wrapper, &words[1..]) {
            Some(rest) if !rest.is_empty() => {
                through.push(base_name(first).to_string());
                words = rest;
            }
            _ => break,
        }
    }
    Unwrapped {
        program: words.into_iter().next().unwrap_or_default(),
        through,
    }
}

/// The wrapper row for a program, by its base name.
pub fn find(program: &OsStr) -> Option<&'static Wrapper> {
    let name = base_name(program);
    WRAPPERS.iter().find(|w| listed(w.names, name))
}

/// Whether `item` is one of the space-separated `list`.
fn listed(list: &str, item: &str) -> bool {
    list.split_whitespace().any(|l| l == item)
}

fn base_name(program: &OsStr) -> &str {
    Path::new(program)
        .file_name()
        .and_then(OsStr::to_str)
        .unwrap_or_default()
}

/// The words from the wrapped command on, or `None` when the wrapper runs no command.
fn command_of(w: &Wrapper, args: &[OsString]) -> Option<Vec<OsString>> {
    let mut args: Vec<OsString> = args.to_vec();
    let mut i = 0;
    if let Some((sub, global_valued)) = w.subcommand {
        i = skip_options(&args, i, global_valued)?;
        if args.get(i).map(OsString::as_os_str) != Some(OsStr::new(sub)) {
            return None;
        }
        i += 1;
    }
    // Options, one at a time: env -S puts words back in their place.
    loop {
        let word = args.get(i)?.as_bytes().to_vec();
        if word == b"--" {
            i += 1;
            break;
        }
        if word.len() < 2 || word[0] != b'-' {
            if word == b"-" && w.assignments {
                i += 1; // env's `-`: an empty environment
                continue;
            }
            break;
        }
        let option = OptionWord::parse(&word, w.valued);
        if option.is_any_of(w.no_command) {
            return None;
        }
        let split = option.valued_name().is_some_and(|n| listed(w.split, n));
        let value = match (option.takes_value, option.attached) {
            (false, _) => None,
            (true, Some(v)) => Some(v),
            (true, None) => {
                i += 1;
                Some(args.get(i)?.as_bytes().to_vec())
            }
        };
        i += 1;
        if let (true, Some(v)) = (split, value) {
            let words: Vec<OsString> = String::from_utf8_lossy(&v)
                .split_whitespace()
                .map(OsString::from)
                .collect();
            args.splice(i..i, words);
        }
    }
    i += w.operands;
    if w.assignments {
        while args
            .get(i)
            .is_some_and(|a| a.as_bytes().contains(&b'=') && a.as_bytes()[0] != b'=')
        {
            i += 1;
        }
    }
    (i < args.len()).then(|| args.split_off(i))
}

/// Skips options (none valued but `valued`) up to the first other word; `None` at the end.
fn skip_options(args: &[OsString], mut i: usize, valued: &str) -> Option<usize> {
    while let Some(word) = args.get(i).map(|a| a.as_bytes()) {
        if word.len() < 2 || word[0] != b'-' {
            return Some(i);
        }
        let option = OptionWord::parse(word, valued);
        i += if option.takes_value && option.attached.is_none() {
            2
        } else {
            1
        };
    }
    None
}

/// One option word, as getopt reads it: `--name[=value]`, or a cluster of short flags that ends
/// at the first one that takes a value (`-an5`: `-a`, `-n 5`).
struct OptionWord {
    /// The options in the word; the last one is the one that may take a value.
    names: Vec<String>,
    takes_value: bool,
    attached: Option<Vec<u8>>,
}

impl OptionWord {
    fn parse(word: &[u8], valued: &str) -> OptionWord {
        if let Some(long) = word.strip_prefix(b"--") {
            let (name, attached) = match long.iter().position(|&b| b == b'=') {
                Some(eq) => (&long[..eq], Some(long[eq + 1..].to_vec())),
                None => (long, None),
            };
            let name = format!("--{}", String::from_utf8_lossy(name));
            let takes_value = attached.is_some() || listed(valued, &name);
            return OptionWord {
                names: vec![name],
                takes_value,
                attached,
            };
        }
        let mut names = Vec::new();
        for (k, &b) in word.iter().enumerate().skip(1) {
            let name = format!("-{}", b as char);
            let takes_value = listed(valued, &name);
            names.push(name);
            if takes_value {
                let rest = &word[k + 1..];
                return OptionWord {
                    names,
                    takes_value,
                    attached: (!rest.is_empty()).then(|| rest.to_vec()),
                };
            }
        }
        OptionWord {
            names,
            takes_value: false,
            attached: None,
        }
    }

    fn is_any_of(&self, options: &str) -> bool {
        self.names.iter().any(|n| listed(options, n))
    }

    /// The option that takes the value, if one does.
    fn valued_name(&self) -> Option<&str> {
        self.takes_value
            .then(|| self.names.last().map(String::as_str))
            .flatten()
    }
}

/// The README's table of wrappers.
pub fn readme_table() -> String {
    let code = |list: &str| {
        list.split_whitespace()
            .map(|o| format!("`{o}`"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = String::from("| wrapper | options that take a value (all others are flags) |\n");
    s.push_str("| --- | --- |\n");
    for w in WRAPPERS {
        let mut valued = w.valued.to_string();
        if let Some((_, global)) = w.subcommand {
            valued = format!("{global} {valued}");
        }
        // A `|` inside a table cell, code span or not, must be escaped.
        let mut row = format!("| `{}` | ", w.usage.replace('|', "\\|"));
        row.push_str(&if valued.trim().is_empty() {
            "none".to_string()
        } else {
            code(&valued)
        });
        if !w.no_command.is_empty() {
            row.push_str(&format!("; with {} it runs no command", code(w.no_command)));
        }
        s.push_str(&row);
        s.push_str(" |\n");
    }
    s
}

#[cfg(test)]
mod tests;
