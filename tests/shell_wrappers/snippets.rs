//! The `tok init` snippets for bash, zsh and fish.

use super::*;

#[test]
fn snippets_are_valid_syntax() {
    let check = |shell: &str, file: &str| {
        if !have(shell) {
            println!("note: {shell} is not installed; skipping the syntax check of {file}");
            return;
        }
        let out = Command::new(shell)
            .arg("-n")
            .arg(script(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shell} -n {file}: {}",
            text(&out.stderr)
        );
    };
    check("bash", "shell/tok.bash");
    check("zsh", "shell/tok.zsh");
    check("fish", "shell/tok.fish");
    let out = Command::new("sh")
        .arg("-n")
        .arg(script("shell/htcondor/tok-job-wrapper"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Waits for the background `tok agent start` the snippet launched.
fn wait_for_agent_start(f: &Fake) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f.tok_calls()
            .iter()
            .any(|c| c == &strs(&["agent", "start"]))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Evaluates a snippet the way `tok init SHELL` output is used, then runs `after` in the same
/// shell. Returns the output.
fn eval_snippet(
    f: &Fake,
    shell: &str,
    file: &str,
    after: &str,
    extra_env: &[(&str, &str)],
) -> Output {
    let snippet = script(file);
    let program = match shell {
        "fish" => format!("cat '{}' | source; or exit 99\n{after}", snippet.display()),
        "zsh" => format!(
            "autoload -Uz compinit && compinit -u -d \"$HOME/.zcompdump\"\n\
             eval \"$(cat '{}')\" || exit 99\n{after}",
            snippet.display()
        ),
        _ => format!(
            "set -euo pipefail\neval \"$(cat '{}')\" || exit 99\n{after}",
            snippet.display()
        ),
    };
    let path = f.path_var(&[&f.bin()]);
    let mut c = f.cmd(shell, &path);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    run(c.arg("-c").arg(program))
}

#[test]
fn bash_snippet_is_silent_starts_the_agent_and_defines_tok_use() {
    let f = Fake::new();
    let out = eval_snippet(&f, "bash", "shell/tok.bash", "", &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
    assert!(
        wait_for_agent_start(&f),
        "the snippet did not run `tok agent start`"
    );

    // Completions (the fallback, as none are installed here) and tok_use, in the same shell;
    // tok_use evaluates `tok env` and passes its arguments on.
    let after = "complete -p tok >/dev/null\n\
                 declare -F __tok_init >/dev/null && exit 98\n\
                 tok_use --scope storage.read\n\
                 printf '%s\\n' \"$BEARER_TOKEN_FILE\" \"${BEARER_TOKEN-<unset>}\"";
    let out = eval_snippet(
        &f,
        "bash",
        "shell/tok.bash",
        after,
        &[("BEARER_TOKEN", "stale")],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(
        lines(&text(&out.stdout)),
        vec![f.path().join("bt").display().to_string(), "<unset>".into()]
    );
    assert!(f.tok_calls().contains(&strs(&[
        "env",
        "--shell",
        "bash",
        "--scope",
        "storage.read"
    ])));

    // A failing `tok env` changes nothing and its exit code reaches the caller.
    let after = "export FAKE_TOK_EXIT=3\nrc=0; tok_use || rc=$?\n\
                 printf '%s\\n' \"$rc\" \"${BEARER_TOKEN_FILE-<unset>}\"";
    let out = eval_snippet(&f, "bash", "shell/tok.bash", after, &[]);
    assert_eq!(
        lines(&text(&out.stdout)),
        strs(&["3", "<unset>"]),
        "stderr: {}",
        text(&out.stderr)
    );
}

#[test]
fn bash_snippet_respects_no_autostart_and_a_missing_tok() {
    let f = Fake::new();
    let out = eval_snippet(
        &f,
        "bash",
        "shell/tok.bash",
        "sleep 0.3",
        &[("TOK_NO_AUTOSTART", "1")],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert!(
        f.tok_calls().is_empty(),
        "TOK_NO_AUTOSTART=1 must not start the agent"
    );

    // A copied snippet on a machine without tok: silent, status 0.
    fs::remove_file(f.bin().join("tok")).unwrap();
    let out = eval_snippet(&f, "bash", "shell/tok.bash", "", &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "stderr: {}",
        text(&out.stderr)
    );
}

#[test]
fn bash_snippet_loads_toks_own_completions_on_first_use() {
    let f = Fake::new();
    // Nothing runs at start; the first completion loads `tok completions bash` (issue 11).
    let after = "complete -p tok\n\
                 declare -F _tok >/dev/null && exit 96\n\
                 COMP_WORDS=(tok sta); COMP_CWORD=1; __tok_complete tok sta tok\n\
                 printf '%s\\n' \"${COMPREPLY[@]}\"\n\
                 complete -p tok";
    let out = eval_snippet(&f, "bash", "shell/tok.bash", after, &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("status"), "stdout: {stdout}");
    assert_eq!(
        stdout.matches("-F __tok_complete tok").count(),
        2,
        "ours stays in front of the generated one: {stdout}"
    );
}

#[test]
fn zsh_snippet_is_silent_and_defines_tok_use() {
    if !have("zsh") {
        println!("note: zsh is not installed; skipping");
        return;
    }
    let f = Fake::new();
    let after = "(( $+functions[__tok_init] )) && exit 98\n\
                 [[ -n ${_comps[tok]} ]] || exit 97\n\
                 tok_use --aud https://se.example.org\n\
                 print -r -- \"$BEARER_TOKEN_FILE\" \"${BEARER_TOKEN-<unset>}\"";
    let out = eval_snippet(
        &f,
        "zsh",
        "shell/tok.zsh",
        after,
        &[("BEARER_TOKEN", "stale")],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{} <unset>\n", f.path().join("bt").display())
    );
    assert!(wait_for_agent_start(&f));
    assert!(f.tok_calls().contains(&strs(&[
        "env",
        "--shell",
        "zsh",
        "--aud",
        "https://se.example.org"
    ])));
}

#[test]
fn fish_snippet_is_silent_and_defines_tok_use() {
    if !have("fish") {
        println!("note: fish is not installed; skipping");
        return;
    }
    let f = Fake::new();
    let after = "complete -C'tok ' | string match -q 'get*'; or exit 97\n\
                 set -q __tok_found; and exit 98\n\
                 tok_use --scope storage.read\n\
                 echo $BEARER_TOKEN_FILE; set -q BEARER_TOKEN; and echo still-set\ntrue";
    let out = eval_snippet(
        &f,
        "fish",
        "shell/tok.fish",
        after,
        &[("BEARER_TOKEN", "stale")],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}\n", f.path().join("bt").display())
    );
    assert!(wait_for_agent_start(&f));
    assert!(f.tok_calls().contains(&strs(&[
        "env",
        "--shell",
        "fish",
        "--scope",
        "storage.read"
    ])));
}
