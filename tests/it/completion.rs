//! Completion (issue 11): account names and login scopes from the config file (no agent), the
//! generated script built into tok and loaded on first use, and commands after `tok exec --`.

use crate::common::TestEnv;

fn env_with_accounts() -> TestEnv {
    let mut env = TestEnv::new();
    env.set_env("TOK_NO_AUTOSTART", "1");
    let dir = env.path().join("config/tok");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[accounts.cms]\nissuer = \"https://cms.example\"\nclient_id = \"c\"\nscopes = [\"offline_access\", \"openid\", \"storage.read:/\"]\n\n[accounts.atlas]\nissuer = \"https://atlas.example\"\nclient_id = \"a\"\nscopes = [\"compute.create\", \"openid\"]\n",
    )
    .unwrap();
    env
}

fn bash_complete(env: &TestEnv, words: &str, cword: usize) -> Vec<String> {
    let script = format!(
        "eval \"$(tok init bash)\"\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\n__tok_complete tok \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let out = env.program("bash").args(["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_accounts_scopes_commands_and_the_rest() {
    let env = env_with_accounts();
    assert_eq!(bash_complete(&env, "tok get -a c", 3), ["cms"]);
    assert_eq!(bash_complete(&env, "tok get ''", 2), ["cms", "atlas"]);
    assert_eq!(
        bash_complete(&env, "tok get --scope ''", 3),
        ["compute.create", "storage.read:/"]
    );
    assert!(bash_complete(&env, "tok exec -s x -- xrdc", 5).contains(&"xrdcp".to_string()));
    // Everything else comes from the generated script, loaded from tok on first use.
    assert!(bash_complete(&env, "tok sta", 1).contains(&"status".to_string()));
    assert!(bash_complete(&env, "tok get --for", 2).contains(&"--format".to_string()));
}

#[test]
fn fish_completes_accounts_and_commands() {
    let env = env_with_accounts();
    let complete = |line: &str| {
        let script = format!("tok init fish | source; complete -C '{line}'");
        let out = env.program("fish").args(["-c", &script]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let accounts = complete("tok get -a ");
    assert!(
        accounts.contains("cms") && accounts.contains("atlas"),
        "{accounts}"
    );
    let commands = complete("tok exec -s x -- xrdc");
    assert!(commands.contains("xrdcp"), "{commands}");
}

#[test]
fn the_completion_scripts_are_built_in() {
    let env = TestEnv::new();
    for (shell, marker) in [
        ("bash", "_tok()"),
        ("zsh", "#compdef tok"),
        ("fish", "complete -c tok"),
    ] {
        let out = env.run(&["completions", shell]).ok();
        assert!(out.stdout.contains(marker), "{shell}");
    }
}
