//! Tokens for shells and jobs: `tok env` evaluated by real shells, `tok exec` renewing a token
//! file under a running command, agent forwarding through a bridged socket, socket activation.

use crate::common::{Provider, ProviderOpts, TestEnv};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

fn has(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

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
fn tok_exec_renews_the_file_and_readers_never_see_a_gap() {
    let provider = Provider::start_with(ProviderOpts {
        at_ttl: 4,
        ..Default::default()
    });
    let env = TestEnv::new();
    env.login_cms(&provider);
    let seen = env.path().join("seen");
    let script = format!(
        r#"echo "$BEARER_TOKEN_FILE" > {seen}.path
i=0
while [ $i -lt 360 ]; do
  t=$(cat "$BEARER_TOKEN_FILE") || exit 9
  [ -n "$t" ] || exit 8
  case "$t" in *.*.*) ;; *) exit 7 ;; esac
  printf '%s\n' "$t" >> {seen}
  i=$((i+1))
  sleep 0.025
done
exit 42"#,
        seen = seen.display()
    );
    let out = env
        .command(&[
            "exec",
            "--scope",
            "storage.read:/job",
            "--",
            "bash",
            "-c",
            &script,
        ])
        .env("BEARER_TOKEN", "stale-should-be-removed")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(42),
        "the child's exit code passes through\n{stderr}"
    );
    let tokens: std::collections::HashSet<String> = std::fs::read_to_string(&seen)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        tokens.len() >= 3,
        "at least two renewals, saw {} tokens\n{stderr}",
        tokens.len()
    );
    for t in &tokens {
        assert_eq!(crate::common::jwt_claims(t)["scope"], "storage.read:/job");
    }
    let path = std::fs::read_to_string(format!("{}.path", seen.display())).unwrap();
    assert!(
        !std::path::Path::new(path.trim()).exists(),
        "the token file is removed afterwards"
    );
}

#[test]
fn tok_exec_passes_signals_and_survives_a_provider_outage() {
    let mut provider = Provider::start_with(ProviderOpts {
        at_ttl: 4,
        ..Default::default()
    });
    let env = TestEnv::new();
    env.login_cms(&provider);
    // Signals: SIGTERM to tok exec reaches the child; the exit status is 128+15.
    let mut child = env
        .command(&["exec", "--", "sleep", "30"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));

    // --inline is announced as not refreshable.
    let out = env.run(&[
        "exec",
        "--inline",
        "--",
        "sh",
        "-c",
        "test -n \"$BEARER_TOKEN\"",
    ]);
    assert!(out.stderr.contains("cannot be refreshed"), "{out}");

    // With the provider gone mid-run the command keeps running and stderr says why.
    let child = env
        .command(&[
            "exec",
            "-s",
            "storage.read:/outage",
            "--",
            "sh",
            "-c",
            "sleep 7; test -s \"$BEARER_TOKEN_FILE\" && echo alive",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    provider.stop();
    let out = crate::common::wait_with_timeout(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "alive\n");
    assert!(stderr.contains("could not renew the token"), "{stderr}");
    assert!(
        stderr.contains("try again later") || stderr.contains("could not connect"),
        "{stderr}"
    );
}

#[test]
fn a_forwarded_socket_reaches_the_agent() {
    assert!(
        has("socat"),
        "socat is not installed (scripts/test.sh installs it)"
    );
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let want = env.token(&["--scope", "storage.read:/fwd"]);
    // What `ssh -R REMOTE:LOCAL` does: another socket path relaying to the agent's.
    let bridge_dir = env.path().join("remote");
    std::fs::create_dir(&bridge_dir).unwrap();
    std::fs::set_permissions(&bridge_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let bridge = bridge_dir.join("agent.sock");
    let mut socat = std::process::Command::new("socat")
        .arg(format!("UNIX-LISTEN:{},fork,mode=600", bridge.display()))
        .arg(format!("UNIX-CONNECT:{}", env.socket().display()))
        .spawn()
        .unwrap();
    crate::common::wait_until(|| bridge.exists());
    let out = env
        .command(&["get", "--scope", "storage.read:/fwd"])
        .env("TOK_SOCKET", &bridge)
        .env("TOK_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    let _ = socat.kill();
    let _ = socat.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);
}

#[test]
fn a_socket_passed_by_systemd_is_used() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let env = TestEnv::new();
    let dir = env.path().join("run/tok");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(env.socket()).unwrap();
    let fd = listener.as_raw_fd();
    let mut cmd = env.program("sh");
    // `exec` keeps the shell's pid, so LISTEN_PID=$$ names the agent process.
    cmd.args([
        "-c",
        "export LISTEN_PID=$$ LISTEN_FDS=1; exec tok agent run --foreground",
    ])
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(env.path().join("activated.log")).unwrap());
    // SAFETY: dup2 in the child before exec, as systemd does.
    unsafe {
        cmd.pre_exec(move || {
            // dup2(3, 3) would leave close-on-exec set, so clear it by hand in that case.
            let ok = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(fd, 3) == 3
            };
            if ok {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut agent = cmd.spawn().unwrap();
    drop(listener);
    let mut ok = false;
    for _ in 0..100 {
        let out = env
            .command(&["agent", "status"])
            .env("TOK_NO_AUTOSTART", "1")
            .output()
            .unwrap();
        if out.status.success() {
            assert!(String::from_utf8_lossy(&out.stdout).contains(&agent.id().to_string()));
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) };
    let _ = agent.wait();
    assert!(
        ok,
        "the socket-activated agent answered\n{}",
        std::fs::read_to_string(env.path().join("activated.log")).unwrap_or_default()
    );
    assert!(
        env.socket().exists(),
        "systemd's socket file is left for systemd"
    );
}

#[test]
fn tok_exec_keeps_renewing_across_an_agent_restart() {
    let provider = Provider::start_with(ProviderOpts {
        at_ttl: 4,
        ..Default::default()
    });
    let mut env = TestEnv::new();
    let pass = env.passphrase_file("pass", "restart-pass");
    env.set_env("TOK_STORE", "file");
    env.set_env("TOK_PASSPHRASE_FILE", pass.display().to_string());
    env.login_cms(&provider);
    let seen = env.path().join("seen");
    let script = format!(
        "for i in $(seq 1 40); do cat \"$BEARER_TOKEN_FILE\" >> {0}; sleep 0.2; done",
        seen.display()
    );
    let child = env
        .command(&[
            "exec",
            "-s",
            "storage.read:/restart",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    env.stop_agent();
    let out = crate::common::wait_with_timeout(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let tokens: std::collections::HashSet<String> = std::fs::read_to_string(&seen)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // 8 s of 4-second tokens: renewals went on after the agent was restarted on demand.
    assert!(tokens.len() >= 3, "{} tokens\n{stderr}", tokens.len());
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

/// Issue 14: `tok exec` delivers the token the way each client reads it, keyed by the command's
/// name: gfal2's `gfal-*` read only BEARER_TOKEN (exported, said once on stderr), davix's
/// `davix-*` only a header on their command line (tok says how), the rest follow discovery. A
/// command that cannot be started exits 127/126, as in a shell.
#[test]
fn tok_exec_delivers_the_token_per_client_and_exits_like_a_shell() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let bin = env.path().join("clients");
    std::fs::create_dir(&bin).unwrap();
    let recorder =
        "#!/bin/sh\nprintf '%s|%s' \"${BEARER_TOKEN-unset}\" \"$(cat \"$BEARER_TOKEN_FILE\")\"\n";
    for name in ["gfal-ls", "davix-get", "xrdcp-like"] {
        std::fs::write(bin.join(name), recorder).unwrap();
        std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = |args: &[&str]| {
        let mut all = vec![
            "exec",
            "-s",
            "storage.read:/c",
            "--aud",
            "https://se.example.org",
        ];
        all.extend_from_slice(args);
        env.command(&all)
            .env("BEARER_TOKEN", "stale")
            .output()
            .unwrap()
    };
    let split = |o: &std::process::Output| {
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        let (var, file) = s.split_once('|').unwrap();
        (
            var.to_string(),
            file.trim_end().to_string(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let gfal = bin.join("gfal-ls");
    let (var, file, stderr) = split(&run(&["--", gfal.to_str().unwrap()]));
    assert_eq!(
        var, file,
        "gfal gets BEARER_TOKEN, the bare token\n{stderr}"
    );
    assert!(
        stderr.contains("reads the token only from BEARER_TOKEN"),
        "{stderr}"
    );
    let (var, _, _) = split(&run(&["--file-only", "--", gfal.to_str().unwrap()]));
    assert_eq!(var, "unset", "--file-only leaves it out");
    let other = bin.join("xrdcp-like");
    let (var, _, stderr) = split(&run(&["--", other.to_str().unwrap()]));
    assert_eq!(
        var, "unset",
        "a discovery client reads the renewed file\n{stderr}"
    );
    assert!(!stderr.contains("note"), "{stderr}");
    let (var, file, _) = split(&run(&["--inline", "--", other.to_str().unwrap()]));
    assert_eq!(var, file, "--inline exports it for any command");
    let (_, _, stderr) = split(&run(&["--", bin.join("davix-get").to_str().unwrap()]));
    assert!(
        stderr.contains(
            "-H \"$(tok get -f header -s 'storage.read:/c' --aud 'https://se.example.org')\""
        ),
        "{stderr}"
    );

    let out = env.run(&["exec", "--", "/nonexistent/command"]).code(127);
    assert!(
        out.stderr.contains("cannot run /nonexistent/command"),
        "{out}"
    );
    let not_executable = env.path().join("plain.txt");
    std::fs::write(&not_executable, "x").unwrap();
    env.run(&["exec", "--", not_executable.to_str().unwrap()])
        .code(126);
}
