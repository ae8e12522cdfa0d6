//! A real ARC CE takes tok's tokens: A-REX 6.17 on loopback (common::arc) authorises the ARC
//! clients with tokens from the test provider, refuses tokens with the wrong scope or audience,
//! and runs ONE real job: the long-job route of issue 8, where the job renews its own tokens
//! from a delegated credential with no agent anywhere. One job, because a fork job costs
//! 20–40 s of wall time (A-REX looks for finished fork jobs only every 20 s).

use crate::common::arc::{self, ArcCe};
use crate::common::TestEnv;
use crate::common::{
    jwt_claims, repo, tok_bin, wait_with_timeout, Approval, Out, Provider, ProviderOpts,
};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The audience the CE wants in tokens.
const CE_AUD: &str = "https://ce.tok-test.example";
/// The scope the CE wants (6.17 has one scope rule for submitting, querying and fetching).
const CE_SCOPE: &str = "compute.create";
/// The storage audience the job's own tokens are for.
const SE_AUD: &str = "https://se.example.org";

/// Runs `cmd` (from `env.program`/`env.command`) to the end, at most 2 minutes.
fn run(cmd: &mut Command, what: &str) -> Out {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let o = wait_with_timeout(child, Duration::from_secs(120));
    Out {
        what: what.to_string(),
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `tok exec --scope S --aud A -- ARGS…`: the ARC client finds the token by
/// `BEARER_TOKEN_FILE`, the only thing tok exec gives it.
fn tok_exec(env: &TestEnv, dir: &Path, scope: &str, aud: &str, args: &[&str]) -> Out {
    let mut all = vec!["exec", "--scope", scope, "--aud", aud, "--"];
    all.extend_from_slice(args);
    run(
        env.command(&all).current_dir(dir),
        &format!("tok {}", all.join(" ")),
    )
}

/// `shell/arc/tok-arc ARGS…`, configured the way its README shows: by the environment.
fn tok_arc(env: &TestEnv, dir: &Path, args: &[&str]) -> Out {
    run(
        env.program(repo().join("shell/arc/tok-arc"))
            .current_dir(dir)
            .env("TOK_ARC_SCOPE", CE_SCOPE)
            .env("TOK_ARC_AUD", CE_AUD)
            .args(args),
        &format!(
            "TOK_ARC_SCOPE={CE_SCOPE} TOK_ARC_AUD={CE_AUD} tok-arc {}",
            args.join(" ")
        ),
    )
}

fn mkdir(env: &TestEnv, name: &str) -> std::path::PathBuf {
    let d = env.path().join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A-REX authorises by the token alone: the user's X.509 proxy, which every ARC 6 client
/// presents, does not get a job in when the token lacks the scope or is for another audience.
#[test]
fn arcsub_is_refused_for_a_token_with_the_wrong_scope_or_audience() {
    arc::check_installed();
    let provider = Provider::start();
    let ce = ArcCe::start(&provider, CE_AUD, CE_SCOPE);
    let mut env = TestEnv::new();
    ce.configure_client(&mut env);
    env.login_cms(&provider);
    let dir = mkdir(&env, "submit");
    std::fs::write(
        dir.join("job.xrsl"),
        "&(executable=\"/bin/true\")(jobname=\"must-not-run\")\n",
    )
    .unwrap();
    let url = ce.url();

    // The right token gets the CE's information (arcinfo creates no job): the refusals below
    // are about the tokens, not the CE or the client setup.
    let out = tok_exec(&env, &dir, CE_SCOPE, CE_AUD, &["arcinfo", &url]);
    if out.code != Some(0) || !out.stdout.contains("Computing service") {
        ce.fail("arcinfo with the right token should describe the CE", &out);
    }

    for (why, scope, aud) in [
        (
            "a token without compute.create",
            "storage.read:/data",
            CE_AUD,
        ),
        (
            "a token for another audience",
            CE_SCOPE,
            "https://other.example.org",
        ),
    ] {
        let before = ce.service_log().matches("Matched nothing").count();
        let out = tok_exec(
            &env,
            &dir,
            scope,
            aud,
            &["arcsub", "-T", "arcrest", "-C", &url, "job.xrsl"],
        );
        // ARC shows a refused token only as a CE that said nothing.
        if out.code != Some(1)
            || !out.stderr.contains("no resource returned any information")
            || out.stdout.contains("Job submitted")
        {
            ce.fail(&format!("arcsub with {why} should be refused"), &out);
        }
        // The CE's side: no authgroup matched the token, and it says so to arcinfo.
        if ce.service_log().matches("Matched nothing").count() <= before {
            ce.fail(
                &format!("A-REX should log that {why} matched no authgroup"),
                &out,
            );
        }
        let out = tok_exec(&env, &dir, scope, aud, &["arcinfo", &url]);
        if out.code != Some(1) || !out.stderr.contains("Error 403: User can't be assigned") {
            ce.fail(&format!("arcinfo with {why} should get a 403"), &out);
        }
    }
    assert_eq!(
        ce.job_count(),
        0,
        "a refused submission creates no job\n{}",
        ce.logs()
    );
}

/// The job's payload. It travels as a script in inputFiles, not as `sh -c '…'`: A-REX puts each
/// xRSL argument in double quotes in its job script, so `$BEARER_TOKEN_FILE` there would be
/// expanded (to nothing) before tok exec even runs. It records every token it finds for ~10 s
/// (2.5 lifetimes of a 4 s token), then where it ran and as whom.
const PAYLOAD: &str = r#"end=$(( $(date +%s) + 10 ))
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

/// What the one job above avoids: tok-arc-job warns when a payload argument holds `$` or a
/// backquote (A-REX would expand it in its job script), and still prints it as given.
#[test]
fn tok_arc_job_warns_about_arguments_that_a_rex_would_expand() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let dir = mkdir(&env, "submit");
    let job = repo().join("shell/arc/tok-arc-job");
    let payload = r#"cat "$BEARER_TOKEN_FILE""#;
    let out = run(
        env.program(&job).current_dir(&dir).args([
            "-s",
            "storage.read:/data",
            "--",
            "sh",
            "-c",
            payload,
        ]),
        "tok-arc-job -s storage.read:/data -- sh -c 'cat \"$BEARER_TOKEN_FILE\"'",
    )
    .ok();
    assert!(
        out.stderr
            .contains("warning: A-REX expands $ and ` in job arguments"),
        "{out}"
    );
    assert!(
        out.stdout.contains(r#""-c" "cat ""$BEARER_TOKEN_FILE""")"#),
        "{out}"
    );
    let out = run(
        env.program(&job).current_dir(&dir).args([
            "-s",
            "storage.read:/data",
            "-o",
            "script.cred",
            "--",
            "sh",
            "run.sh",
        ]),
        "tok-arc-job -s storage.read:/data -o script.cred -- sh run.sh",
    )
    .ok();
    assert!(!out.stderr.contains("warning"), "{out}");
}
