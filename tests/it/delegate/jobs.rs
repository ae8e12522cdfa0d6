//! Long jobs renewing from their credential with no agent: in parallel steps, through the
//! HTCondor route and the ARC route with the real tok.

use super::*;

/// The acceptance test of issue 8: a 20 s job with 4 s tokens at a rotating provider, the agent
/// stopped and forbidden to start.
#[test]
fn a_long_job_renews_from_its_credential_with_no_agent() {
    let provider = Provider::start_with(ProviderOpts {
        at_ttl: 4,
        rotate: true,
        ..Default::default()
    });
    let mut env = TestEnv::new();
    env.login_cms(&provider);
    let path = delegate(
        &env,
        "job.cred",
        &["-s", "storage.read:/data", "--aud", AUD],
    );
    let first_rt = read_json(&path)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let agent_log = env.agent_log();
    without_agent(&mut env);

    let seen = env.path().join("seen");
    let script = format!(
        r#"i=0
while [ $i -lt 800 ]; do
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
    let child = env
        .command(&[
            "exec",
            "--credential",
            path.to_str().unwrap(),
            "--",
            "bash",
            "-c",
            &script,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // No token of any kind on a command line while the job runs.
    let mut argv_seen = String::new();
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(1500));
        argv_seen.push_str(&all_command_lines());
    }
    let out = wait_with_timeout(child, Duration::from_secs(90));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(42), "{stderr}");
    let tokens: HashSet<String> = std::fs::read_to_string(&seen)
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
        let claims = jwt_claims(t);
        assert_eq!(claims["scope"], "storage.read:/data");
        assert_eq!(claims["aud"], AUD);
    }
    // Rotations were written back, and the file still works afterwards.
    let last_rt = read_json(&path)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(last_rt, first_rt, "the provider rotated and tok kept up");
    env.token(&["--credential", path.to_str().unwrap()]);
    assert!(!env.socket().exists(), "no agent was started");

    let mut secrets = vec![first_rt, last_rt];
    secrets.extend(
        provider
            .live_refresh_tokens()
            .iter()
            .filter_map(|r| r["value"].as_str().map(str::to_string)),
    );
    for secret in &secrets {
        for (what, text) in [
            ("tok exec's stderr", &stderr),
            ("agent.log", &agent_log),
            ("a command line", &argv_seen),
        ] {
            assert!(!text.contains(secret.as_str()), "a refresh token in {what}");
        }
    }
}

/// Every process's command line, as `ps` would show them.
fn all_command_lines() -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) {
            all.push_str(&String::from_utf8_lossy(&bytes).replace('\0', " "));
            all.push('\n');
        }
    }
    all
}

#[test]
fn parallel_steps_of_one_job_never_lose_a_rotation() {
    let provider = Provider::start_with(ProviderOpts {
        rotate: true,
        ..Default::default()
    });
    let mut env = TestEnv::new();
    env.login_cms(&provider);
    let path = delegate(&env, "job.cred", &["-s", "storage.read:/p"]);
    without_agent(&mut env);
    let p = path.to_str().unwrap().to_string();
    for _ in 0..2 {
        // A lost rotation would make the provider see a reused token and end the grant.
        let tokens = env.run_concurrently(6, &["get", "--credential", &p]);
        assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), 6);
    }
    env.token(&["--credential", &p]);
}

/// A worker-node command: the sealed environment, no agent allowed, and no tok in PATH (worker
/// nodes have none; the job brings its own).
fn worker(
    env: &TestEnv,
    program: impl AsRef<std::ffi::OsStr>,
    dir: &Path,
) -> std::process::Command {
    let mut cmd = env.program(program);
    cmd.current_dir(dir)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("TOK_NO_AUTOSTART", "1")
        .env_remove("XDG_RUNTIME_DIR");
    cmd
}

/// What the payload writes: the token it found, and where.
pub(super) const PAYLOAD: &str =
    r#"cat "$BEARER_TOKEN_FILE" > token.out; echo "$BEARER_TOKEN_FILE" > path.out; exit 7"#;

#[test]
fn htcondor_long_job_route_with_the_real_tok_and_no_agent() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let submit = env.path().join("submit");
    std::fs::create_dir(&submit).unwrap();
    let out = env
        .program(script("htcondor/tok-condor-submit"))
        .current_dir(&submit)
        .args(["--delegate", "1d", "-s", "storage.read:/data", "--aud", AUD])
        .output()
        .unwrap();
    let out = output("tok-condor-submit --delegate 1d", out).ok();
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("transfer_input_files = "))
        .unwrap_or_else(|| panic!("no transfer line\n{out}"))
        .to_string();
    let files: Vec<&str> = line.split(", ").collect();
    assert_eq!(files.len(), 2, "{out}");
    assert_eq!(files[0], "tok.cred");
    assert!(files[1].ends_with("/tok"), "{out}");
    assert!(out.stderr.contains("valid until"), "tok's summary\n{out}");

    // With condor_submit named, a submit file that forgets tok or the credential is warned about.
    let fake = env.path().join("bin");
    std::fs::create_dir(&fake).unwrap();
    std::fs::write(
        fake.join("condor_submit"),
        "#!/bin/sh\necho submitted \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        fake.join("condor_submit"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        submit.join("job.sub"),
        "executable = tok-job-wrapper\ntransfer_input_files = tok.cred\nqueue\n",
    )
    .unwrap();
    let path_var = format!(
        "{}:{}",
        fake.display(),
        env.command(&[])
            .get_envs()
            .find(|(k, _)| *k == "PATH")
            .unwrap()
            .1
            .unwrap()
            .to_string_lossy()
    );
    let out = env
        .program(script("htcondor/tok-condor-submit"))
        .current_dir(&submit)
        .env("PATH", path_var)
        .args([
            "--delegate",
            "1d",
            "-s",
            "storage.read:/data",
            "--aud",
            AUD,
            "--",
            "condor_submit",
            "job.sub",
        ])
        .output()
        .unwrap();
    let out = output(
        "tok-condor-submit --delegate 1d -- condor_submit job.sub",
        out,
    )
    .ok();
    assert!(out.stdout.contains("submitted job.sub"), "{out}");
    assert!(
        out.stderr.contains("does not list") && out.stderr.contains("/tok"),
        "{out}"
    );
    env.stop_agent();

    // HTCondor's side: the files arrive in the scratch directory, maybe without their modes.
    let scratch = env.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    std::fs::copy(submit.join("tok.cred"), scratch.join("tok.cred")).unwrap();
    std::fs::copy(files[1], scratch.join("tok")).unwrap();
    for f in ["tok.cred", "tok"] {
        std::fs::set_permissions(scratch.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let job = worker(&env, script("htcondor/tok-job-wrapper"), &scratch)
        .env("_CONDOR_SCRATCH_DIR", &scratch)
        .args(["sh", "-c", PAYLOAD])
        .output()
        .unwrap();
    let job = output("tok-job-wrapper sh -c PAYLOAD", job).code(7);
    let token = std::fs::read_to_string(scratch.join("token.out")).unwrap();
    let claims = jwt_claims(token.trim());
    assert_eq!(claims["scope"], "storage.read:/data", "{job}");
    assert_eq!(claims["aud"], AUD);
    let path = std::fs::read_to_string(scratch.join("path.out")).unwrap();
    assert!(
        Path::new(path.trim()).starts_with(&scratch),
        "the renewed token file is in the private scratch directory: {path}"
    );
    assert!(!Path::new(path.trim()).exists(), "and removed afterwards");
    let mode = std::fs::metadata(scratch.join("tok.cred"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the credential is made private again");
    assert!(!env.socket().exists(), "no agent on the worker");
}

/// The strings of one xRSL line, `"` doubled inside a string meaning one `"`.
fn xrsl_strings(line: &str) -> Vec<String> {
    let mut out = vec![];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        loop {
            match chars.next() {
                Some('"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    s.push('"');
                }
                Some('"') | None => break,
                Some(c) => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

#[test]
fn arc_long_job_route_with_the_real_tok_and_no_agent() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let submit = env.path().join("submit");
    std::fs::create_dir(&submit).unwrap();
    let out = env
        .program(script("arc/tok-arc-job"))
        .current_dir(&submit)
        .args([
            "-s",
            "storage.read:/data",
            "--aud",
            AUD,
            "--",
            "sh",
            "-c",
            PAYLOAD,
        ])
        .output()
        .unwrap();
    let out = output("tok-arc-job … -- sh -c PAYLOAD", out).ok();
    let line = |key: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("({key}=")))
            .unwrap_or_else(|| panic!("no {key} in the xRSL\n{out}"))
            .to_string()
    };
    assert_eq!(xrsl_strings(&line("executable")), ["tok"]);
    let arguments = xrsl_strings(&line("arguments"));
    assert_eq!(
        arguments.last().unwrap(),
        PAYLOAD,
        "quoting survives\n{out}"
    );
    let inputs = xrsl_strings(&line("inputFiles"));
    assert_eq!(inputs.len(), 4, "{out}");
    env.stop_agent();

    // The CE's side: input files staged into the session directory, executables made so.
    let session = env.path().join("session");
    std::fs::create_dir(&session).unwrap();
    for pair in inputs.chunks(2) {
        std::fs::copy(&pair[1], session.join(&pair[0])).unwrap();
    }
    std::fs::set_permissions(session.join("tok"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let job = worker(&env, session.join("tok"), &session)
        .args(&arguments)
        .output()
        .unwrap();
    let job = output("tok exec --credential … (as the CE runs it)", job).code(7);
    let token = std::fs::read_to_string(session.join("token.out")).unwrap();
    let claims = jwt_claims(token.trim());
    assert_eq!(claims["scope"], "storage.read:/data", "{job}");
    assert_eq!(claims["aud"], AUD);
    let path = std::fs::read_to_string(session.join("path.out")).unwrap();
    assert_eq!(path.trim(), session.join("bt_job").to_str().unwrap());
    assert!(!env.socket().exists(), "no agent on the worker");
}
