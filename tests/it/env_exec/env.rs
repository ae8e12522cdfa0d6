//! `tok env` and `tok init` in every shell.

use super::*;

#[test]
fn tok_env_works_in_bash_zsh_fish_and_tcsh() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let want = env.token(&["--scope", "storage.read:/store"]);
    // A directory and file name that need real quoting.
    let dir = env.path().join("a dir+/=-x");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let file = dir.join("tok'en=+-x");
    let file = file.to_str().unwrap();
    let tok_env = format!(
        "tok env --scope storage.read:/store --file \"{}\"",
        file.replace('"', "\\\"")
    );
    let cases: Vec<(&str, Vec<String>)> = vec![
        // By default both: the file for clients that follow discovery, the same token in
        // BEARER_TOKEN for gfal2, which reads only the variable (issue 14).
        ("bash", vec!["-c".into(), format!("BEARER_TOKEN=stale; eval \"$({tok_env} --shell bash)\" && [ \"$BEARER_TOKEN\" = \"$(cat \"$BEARER_TOKEN_FILE\")\" ] && cat \"$BEARER_TOKEN_FILE\"")]),
        ("zsh", vec!["-c".into(), format!("BEARER_TOKEN=stale; eval \"$({tok_env} --shell zsh)\" && [ \"$BEARER_TOKEN\" = \"$(cat \"$BEARER_TOKEN_FILE\")\" ] && cat \"$BEARER_TOKEN_FILE\"")]),
        ("fish", vec!["-c".into(), format!("set -gx BEARER_TOKEN stale; {tok_env} --shell fish | source; and test \"$BEARER_TOKEN\" = (cat \"$BEARER_TOKEN_FILE\"); and cat \"$BEARER_TOKEN_FILE\"")]),
        // tcsh cannot nest the quoted path inside a backquote, so it sources the output instead.
        ("tcsh", vec!["-c".into(), "setenv BEARER_TOKEN stale; tok env --scope storage.read:/store --file $TOKFILE:q --shell tcsh > $HOME/env.csh; source $HOME/env.csh; if (\"$BEARER_TOKEN\" == stale) exit 3; cat \"$BEARER_TOKEN_FILE\"".into()]),
        ("sh", vec!["-c".into(), format!("eval \"$({tok_env} --shell sh)\" && cat \"$BEARER_TOKEN_FILE\"")]),
        // --file-only: the file, and a stale BEARER_TOKEN (which would win over it) is unset.
        ("bash", vec!["-c".into(), format!("BEARER_TOKEN=stale; eval \"$({tok_env} --file-only --shell bash)\" && [ -z \"${{BEARER_TOKEN:-}}\" ] && cat \"$BEARER_TOKEN_FILE\"")]),
        ("fish", vec!["-c".into(), format!("set -gx BEARER_TOKEN stale; {tok_env} --file-only --shell fish | source; and not set -q BEARER_TOKEN; and cat \"$BEARER_TOKEN_FILE\"")]),
    ];
    for (shell, args) in cases {
        assert!(
            has(shell),
            "{shell} is not installed (scripts/test.sh installs it)"
        );
        let out = env
            .program(shell)
            .args(&args)
            .env("TOKFILE", file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{want}\n"),
            "{shell}"
        );
    }
    let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // --inline exports the token itself, quoted for each shell, and no file.
    for (shell, script) in [
        ("bash", "BEARER_TOKEN_FILE=stale; eval \"$(tok env --inline --shell bash -s storage.read:/store)\"; [ -z \"${BEARER_TOKEN_FILE:-}\" ] && printf '%s' \"$BEARER_TOKEN\""),
        ("fish", "tok env --inline --shell fish -s storage.read:/store | source; printf '%s' \"$BEARER_TOKEN\""),
        ("tcsh", "eval \"`tok env --inline --shell tcsh -s storage.read:/store`\"; printf '%s' \"$BEARER_TOKEN\""),
    ] {
        let out = env.program(shell).args(["-c", script]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{shell}: {}", String::from_utf8_lossy(&out.stderr));
    }

    // The default file is the WLCG discovery location, with a purpose suffix on request.
    let out = env
        .run(&["env", "--shell", "sh", "-s", "storage.read:/store"])
        .ok();
    let uid = unsafe { libc::geteuid() };
    let discovery = env.path().join(format!("run/bt_u{uid}"));
    assert!(out.stdout.contains(discovery.to_str().unwrap()), "{out}");
    assert_eq!(
        std::fs::read_to_string(&discovery).unwrap(),
        format!("{want}\n")
    );
    let out = env
        .run(&["env", "--purpose", "fife-CMS", "-s", "storage.read:/store"])
        .ok();
    assert!(out.stdout.contains(&format!("bt_u{uid}-fife-CMS")), "{out}");
}

#[test]
fn tok_env_refuses_symlinks_and_open_directories() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let target = env.path().join("target");
    std::fs::write(&target, "x").unwrap();
    let link = env.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = env.run(&["env", "--file", link.to_str().unwrap()]).code(1);
    assert!(out.stderr.contains("symlink"), "{out}");
    let open = env.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = env
        .run(&["env", "--file", open.join("bt").to_str().unwrap()])
        .code(1);
    assert!(out.stderr.contains("sticky"), "{out}");
}

#[test]
fn tok_init_prints_the_shell_snippets() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.run(&["init", shell]).ok();
        let file =
            std::fs::read_to_string(crate::common::repo().join(format!("shell/tok.{shell}")))
                .unwrap();
        // Then, issue 19: OIDC_SOCK for oidc-agent's clients, unless already set.
        let rest = out.stdout.strip_prefix(&file).expect(shell);
        assert!(
            rest.contains("OIDC_SOCK") && rest.contains("oidc-agent.sock"),
            "{rest}"
        );
    }
}
