//! The man pages and shell completions are generated from `src/cli.rs` and committed; this test
//! fails when they are stale. Regenerate with `TOK_REGENERATE=1 cargo test --test generated`.

use clap::CommandFactory;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn render() -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let cmd = tok::cli::Cli::command();
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
        clap_complete::Shell::Elvish,
        clap_complete::Shell::PowerShell,
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "tok", &mut buf);
        let name = match shell {
            clap_complete::Shell::Bash => "tok.bash",
            clap_complete::Shell::Zsh => "_tok",
            clap_complete::Shell::Fish => "tok.fish",
            clap_complete::Shell::Elvish => "tok.elv",
            _ => "_tok.ps1",
        };
        files.insert(PathBuf::from("completions").join(name), buf);
    }
    let mut cmd = cmd;
    cmd.build();
    man_pages(&cmd, "tok", &mut files);
    files
}

/// `tok.1`, then one page per subcommand (`tok-get.1`, `tok-agent-run.1`, …).
fn man_pages(cmd: &clap::Command, name: &str, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    // clap wants a static name; leaking a few strings in a test is fine.
    let page = cmd
        .clone()
        .name(&*Box::leak(name.to_string().into_boxed_str()));
    let mut buf = Vec::new();
    clap_mangen::Man::new(page).render(&mut buf).unwrap();
    files.insert(PathBuf::from("man").join(format!("{name}.1")), buf);
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        man_pages(sub, &format!("{name}-{}", sub.get_name()), files);
    }
}

#[test]
fn man_pages_and_completions_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = render();
    if std::env::var_os("TOK_REGENERATE").is_some() {
        for dir in ["completions", "man"] {
            let _ = std::fs::remove_dir_all(root.join(dir));
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        for (path, bytes) in &files {
            std::fs::write(root.join(path), bytes).unwrap();
        }
        return;
    }
    let mut stale = vec![];
    for (path, bytes) in &files {
        if std::fs::read(root.join(path)).ok().as_ref() != Some(bytes) {
            stale.push(path.display().to_string());
        }
    }
    for dir in ["completions", "man"] {
        for entry in std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let rel = PathBuf::from(dir).join(entry.file_name());
            if !files.contains_key(&rel) {
                stale.push(format!("{} (no longer generated)", rel.display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {stale:?}\nregenerate with: TOK_REGENERATE=1 cargo test --test generated"
    );
}
