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
    // `tok help` is a real command, but not a page: `man tok-help` would find nothing.
    let mut cmd = without_help_command(cmd);
    cmd.build();
    man_pages(&cmd, "tok", &[], &mut files);
    files
}

fn without_help_command(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd.disable_help_subcommand(true);
    for name in names {
        cmd = cmd.mut_subcommand(name, without_help_command);
    }
    cmd
}

/// `tok.1`, then one page per subcommand (`tok-get.1`, `tok-agent-run.1`, …). `parents` are
/// the pages above this one, for SEE ALSO.
fn man_pages(
    cmd: &clap::Command,
    name: &str,
    parents: &[String],
    files: &mut BTreeMap<PathBuf, Vec<u8>>,
) {
    let mut buf = Vec::new();
    render_page(cmd, name, parents, &mut buf);
    files.insert(PathBuf::from("man").join(format!("{name}.1")), buf);
    let mut above = parents.to_vec();
    above.push(name.to_string());
    for sub in cmd.get_subcommands() {
        man_pages(sub, &format!("{name}-{}", sub.get_name()), &above, files);
    }
}

/// clap_mangen renders NAME to SUBCOMMANDS; the command's `after_long_help` (the text after
/// `--help`, written in `cli::help`) becomes EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES and any
/// other section it holds, then SEE ALSO.
fn render_page(cmd: &clap::Command, name: &str, parents: &[String], out: &mut Vec<u8>) {
    // clap wants a static name; leaking a few strings in a test is fine.
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut page = cmd.clone().name(leak(name.to_string()));
    // NAME is "tok - what it does", not "tok - tok: what it does".
    if let Some(about) = cmd.get_about().map(|a| a.to_string()) {
        let prefix = format!("{}: ", cmd.get_name());
        if let Some(rest) = about.strip_prefix(&prefix) {
            page = page.about(leak(rest.to_string()));
        }
    }
    let sections = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|t| parse_sections(&t.to_string()))
        .unwrap_or_default();
    // Rendered below, as sections of their own; the version is on the title line.
    let page = page
        .after_help(None::<&str>)
        .after_long_help(None::<&str>)
        .version(None::<&str>);
    let version = env!("CARGO_PKG_VERSION");
    let mut head = Vec::new();
    clap_mangen::Man::new(page).render(&mut head).unwrap();
    let head = String::from_utf8(head).unwrap();
    // No hyphenation and a ragged right margin: paths, variables and URLs are long words,
    // and justified or hyphenated they read badly.
    let (title, rest) = head.split_once("\n.SH NAME").expect("a NAME section");
    // Our own title line: clap_mangen leaves the empty date unquoted, which shifts the
    // footer fields by one, and names the page's own version source (`tok-get 0.1.0`).
    let (preamble, _) = title.split_once("\n.TH ").expect("a .TH line");
    out.extend_from_slice(preamble.as_bytes());
    out.extend_from_slice(
        format!("\n.TH {name} 1 \"\" \"tok {version}\" \"User Commands\"").as_bytes(),
    );
    out.extend_from_slice(b"\n.nh\n.ad l\n.SH NAME");
    out.extend_from_slice(rest.as_bytes());

    let mut roff = roff::Roff::new();
    // The conventional order of man-pages(7); a section of the command's own (what it checks,
    // say) comes first, as more description.
    let order = ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"];
    let mut sections: Vec<(String, Vec<Block>)> = sections;
    sections.sort_by_key(|(title, _)| order.iter().position(|o| o == title).map_or(0, |i| i + 1));
    for (title, blocks) in &sections {
        roff.control("SH", [title.as_str()]);
        for block in blocks {
            match block {
                Block::Entry(key, text) => {
                    roff.control("TP", []);
                    roff.text([roff::bold(key.as_str())]);
                    roff.text([roff::roman(text.as_str())]);
                }
                Block::Paragraph(text) => {
                    roff.control("PP", []);
                    roff.text([roff::roman(text.as_str())]);
                }
                Block::Verbatim(lines) => {
                    roff.control("PP", []);
                    roff.control("RS", ["4"]);
                    roff.control("nf", []);
                    for line in lines {
                        roff.text([roff::roman(line.as_str())]);
                    }
                    roff.control("fi", []);
                    roff.control("RE", []);
                }
            }
        }
    }
    if !parents.is_empty() {
        roff.control("SH", ["SEE ALSO"]);
        let mut refs = vec![];
        for parent in parents.iter().skip(1).rev() {
            refs.push(roff::bold(parent.as_str()));
            refs.push(roff::roman("(1), "));
        }
        refs.push(roff::bold("tok"));
        refs.push(roff::roman(
            "(1): the environment, files and exit status common to every command",
        ));
        roff.text(refs);
    }
    // Only the first piece of a page defines the apostrophe string roff uses.
    let tail = roff.render();
    let tail = tail
        .split_once("\n.el .ds Aq '\n")
        .map(|(_, t)| t)
        .unwrap_or(&tail);
    out.extend_from_slice(tail.as_bytes());
}

#[derive(Debug)]
enum Block {
    /// A name and its text (`TOK_SOCKET  agent socket …`).
    Entry(String, String),
    Paragraph(String),
    /// Lines shown as they are (examples).
    Verbatim(Vec<String>),
}

/// Reads the layout `cli::help` documents: `Title:` lines after a blank line start sections;
/// in `Examples:` every line is verbatim; elsewhere a line indented two spaces is an entry
/// (name, two or more spaces, text), deeper lines continue it, and unindented lines are a
/// paragraph.
fn parse_sections(text: &str) -> Vec<(String, Vec<Block>)> {
    let mut sections: Vec<(String, Vec<Block>)> = vec![];
    let mut previous_blank = true;
    for line in text.lines() {
        let blank = line.trim().is_empty();
        let indent = line.len() - line.trim_start().len();
        if previous_blank && indent == 0 && line.ends_with(':') {
            let title = line.trim_end_matches(':').to_uppercase();
            sections.push((title, vec![]));
            previous_blank = false;
            continue;
        }
        previous_blank = blank;
        let (title, blocks) = sections
            .last_mut()
            .unwrap_or_else(|| panic!("text before the first `Title:` line: {line}"));
        if blank {
            continue;
        }
        if title == "EXAMPLES" {
            let text = line.get(2..).unwrap_or("").to_string();
            match blocks.last_mut() {
                Some(Block::Verbatim(lines)) => lines.push(text),
                _ => blocks.push(Block::Verbatim(vec![text])),
            }
            continue;
        }
        let content = line.trim();
        match (indent, blocks.last_mut()) {
            (0, Some(Block::Paragraph(p))) => {
                p.push(' ');
                p.push_str(content);
            }
            (0, _) => blocks.push(Block::Paragraph(content.to_string())),
            (2, _) => {
                let (key, text) = match content.split_once("  ") {
                    Some((k, t)) => (k.to_string(), t.trim().to_string()),
                    None => (content.to_string(), String::new()),
                };
                blocks.push(Block::Entry(key, text));
            }
            (_, Some(Block::Entry(_, text))) => {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(content);
            }
            _ => panic!("a continuation line with nothing to continue: {line}"),
        }
    }
    sections
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
