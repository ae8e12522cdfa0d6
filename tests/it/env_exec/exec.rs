//! `tok exec`: a renewed token file, signals, outages, agent restarts, and delivery per client.

use super::*;

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
