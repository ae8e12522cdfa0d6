//! A long ARC job renewing its tokens from a delegated credential, with no agent.

use super::*;

/// The job's payload. It travels as a script in inputFiles, not as `sh -c '…'`: A-REX puts each
/// xRSL argument in double quotes in its job script, so `$BEARER_TOKEN_FILE` there would be
/// expanded (to nothing) before tok exec even runs. It records every token it finds for ~10 s
/// (2.5 lifetimes of a 4 s token), then where it ran and as whom.
pub(super) const PAYLOAD: &str = r#"end=$(( $(date +%s) + 10 ))
while [ "$(date +%s)" -lt "$end" ]; do
  cat "$BEARER_TOKEN_FILE" >> tokens.txt || exit 9
  sleep 0.5
done
{ echo "user=$(id -un)"; echo "pwd=$(pwd)"; env; } > job-env.txt
"#;

/// Issue 8's long-job route on a real CE: `tok-arc-job` writes a delegated credential and the
/// xRSL that ships it and the static tok with the job; plain `tok exec … arcsub` submits it; the
/// agent is stopped right after; the job, running as `nobody` in its session directory, renews
/// its 4-second tokens from the credential alone; then `tok-arc arcstat`/`arcget` bring back what
/// it saw.
#[test]
fn an_arc_job_renews_its_tokens_from_a_delegated_credential_with_no_agent() {
    arc::check_installed();
    // Only the job's tokens are short (4 s, from the moment the job can exist, i.e. once
    // arcsub is done). The ARC clients' need not be, and A-REX checks `exp` on every request
    // of a command that may run for seconds (arcsub uploads tok).
    let provider = Provider::start_with(ProviderOpts {
        at_ttl: 60,
        rotate: true,
        ..Default::default()
    });
    let access_token_ttl = |secs: u64| {
        provider.post("/test/config", serde_json::json!({ "at_ttl": secs }));
    };
    let mut env = TestEnv::new();
    // The job sees neither the test's SSL_CERT_FILE nor anything else of this side: the CA
    // must travel in the credential, which it does for an account logged in with --ca-file.
    let ca = env.ca_file().to_str().unwrap().to_string();
    let login = [
        "cms",
        "--issuer",
        &provider.issuer,
        "--ca-file",
        &ca,
        "--scope",
        "storage.read:/ compute.create",
    ];
    env.login(&provider, &login, Approval::Approve).ok();

    // Submit side: the credential and the xRSL lines from tok-arc-job, merged into a job. The
    // job ships the binary under test without its debug info (40 MB, not 160: arcsub uploads
    // it), copied now so that a rebuild of target/ cannot change it while it travels.
    let submit = mkdir(&env, "submit");
    std::fs::write(submit.join("payload.sh"), PAYLOAD).unwrap();
    let bin = mkdir(&env, "bin");
    let strip = run(
        Command::new("strip")
            .arg("--strip-debug")
            .arg("-o")
            .arg(bin.join("tok"))
            .arg(tok_bin()),
        "strip --strip-debug -o bin/tok TOK",
    );
    assert_eq!(strip.code, Some(0), "{strip}");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = run(
        env.program(repo().join("shell/arc/tok-arc-job"))
            .current_dir(&submit)
            .env("PATH", path)
            .args([
                "-s",
                "storage.read:/data",
                "--aud",
                SE_AUD,
                "--lifetime",
                "1h",
            ])
            .args(["--", "sh", "payload.sh"]),
        "tok-arc-job -s storage.read:/data --aud SE --lifetime 1h -- sh payload.sh",
    )
    .ok();
    let mut xrsl = String::from("&");
    for line in out.stdout.lines() {
        // The payload script is a local file: it goes in inputFiles too (README: "Add
        // analysis.sh itself to inputFiles").
        if let Some(files) = line
            .strip_suffix(')')
            .filter(|l| l.starts_with("(inputFiles="))
        {
            let payload = submit.join("payload.sh");
            xrsl.push_str(&format!(
                "{files}(\"payload.sh\" \"{}\"))\n",
                payload.display()
            ));
        } else {
            xrsl.push_str(line);
            xrsl.push('\n');
        }
    }
    assert!(
        xrsl.contains("(inputFiles=") && xrsl.contains("payload.sh\" \""),
        "tok-arc-job printed no inputFiles line\n{out}"
    );
    // stdout/stderr and the listed files stay in the session directory for arcget; the
    // credential comes back too, rotated by the job.
    xrsl.push_str(
        "(stdout=\"stdout.txt\")(stderr=\"stderr.txt\")\
         (outputFiles=(\"tokens.txt\" \"\")(\"job-env.txt\" \"\")(\"tok.cred\" \"\"))\
         (jobname=\"tok-long-job\")\n",
    );
    std::fs::write(submit.join("job.xrsl"), &xrsl).unwrap();
    let submitted_cred: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(submit.join("tok.cred")).unwrap()).unwrap();

    // The CE starts only now: A-REX looks for finished fork jobs 20 s after its start and every
    // 20 s from then on, and a job submitted at once finishes before the first look.
    let ce = ArcCe::start(&provider, CE_AUD, CE_SCOPE);
    ce.configure_client(&mut env);

    // Plain tok exec: ARC 6.17's arcsub reads the token from BEARER_TOKEN_FILE.
    let url = ce.url();
    let out = tok_exec(
        &env,
        &submit,
        CE_SCOPE,
        CE_AUD,
        &["arcsub", "-T", "arcrest", "-C", &url, "job.xrsl"],
    );
    let job_url = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Job submitted with jobid: "))
        .map(|s| s.trim().to_string());
    let Some(job_url) = job_url.filter(|_| out.code == Some(0)) else {
        ce.fail(
            &format!("arcsub should submit the job\n--- job.xrsl ---\n{xrsl}"),
            &out,
        )
    };
    let id = job_url.rsplit('/').next().unwrap().to_string();
    // A-REX starts the job only after arcsub's last upload, and then takes seconds to reach
    // the batch system.
    access_token_ttl(4);

    // From here on there is no agent, and none may start.
    env.stop_agent();
    env.set_env("TOK_NO_AUTOSTART", "1");
    ce.wait_finished(&id, Duration::from_secs(120));
    assert!(!env.socket().exists(), "no agent ran while the job ran");
    if ce.job_exit_code(&id) != Some(0) || ce.job_failure(&id).is_some() {
        ce.fail(
            &format!(
                "the job should succeed: exit code {:?}, failure {:?}",
                ce.job_exit_code(&id),
                ce.job_failure(&id)
            ),
            &out,
        );
    }

    // Back on the submit side: log in again (the memory store went with the agent) and ask
    // the CE through the tok-arc wrapper. arcstat reads the CE's information system, which
    // catches up within a few seconds.
    access_token_ttl(60);
    env.set_env("TOK_NO_AUTOSTART", "");
    env.login(&provider, &login, Approval::Approve).ok();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = tok_arc(&env, &submit, &["arcstat", &job_url]);
        if out.code == Some(0) && out.stdout.contains("State: Finished") {
            break;
        }
        if Instant::now() > deadline {
            ce.fail("tok-arc arcstat should report the job Finished", &out);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let got = tok_arc(&env, &submit, &["arcget", "-D", "results", &job_url]);
    if got.code != Some(0) || !got.stdout.contains("successfully retrieved: 1") {
        ce.fail("tok-arc arcget should fetch the job's files", &got);
    }
    let results = submit.join("results").join(&id);
    let read = |name: &str| {
        std::fs::read_to_string(results.join(name))
            .unwrap_or_else(|e| ce.fail(&format!("arcget brought back no {name}: {e}"), &got))
    };

    // What the job saw: fresh tokens, each exactly what was delegated.
    let seen = read("tokens.txt");
    let tokens: HashSet<&str> = seen.lines().filter(|l| !l.is_empty()).collect();
    let job_env = read("job-env.txt");
    let job_stderr = read("stderr.txt");
    assert!(
        tokens.len() >= 2,
        "the job should have renewed its token at least once; it saw {} distinct tokens in \
         {} reads\n--- job stderr ---\n{job_stderr}\n{}",
        tokens.len(),
        seen.lines().count(),
        ce.logs()
    );
    for t in &tokens {
        let claims = jwt_claims(t);
        assert_eq!(claims["scope"], "storage.read:/data", "{claims}");
        assert_eq!(claims["aud"], SE_AUD, "{claims}");
        let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
        assert_eq!(
            lifetime, 4,
            "a 4 s token, issued after the switch: {claims}"
        );
    }
    // It ran as the mapped user, with its token file in its private session directory.
    let line = |key: &str| {
        job_env
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("job-env.txt has no {key}\n{job_env}"))
            .to_string()
    };
    assert_eq!(line("user"), "nobody", "{job_env}");
    let session = line("pwd");
    assert!(session.ends_with(&id), "{job_env}");
    assert_eq!(line("BEARER_TOKEN_FILE"), format!("{session}/bt_job"));
    // The provider rotated the delegated token and the job wrote the new one back; that copy
    // is the live one, so it is what gets revoked when the job is done.
    let returned: serde_json::Value = serde_json::from_str(&read("tok.cred")).unwrap();
    assert_ne!(
        returned["refresh_token"], submitted_cred["refresh_token"],
        "the job should have rotated its credential"
    );
    let returned_path = results.join("tok.cred");
    env.run(&["revoke", "--credential", returned_path.to_str().unwrap()])
        .ok();
}
